#pragma once
namespace gh::store {
const char* sqliteVersion();  // the linked SQLite's version string
}  // namespace gh::store

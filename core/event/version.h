#pragma once
namespace gh::event {
const char* libeventVersion();  // the linked libevent's own version string
}  // namespace gh::event

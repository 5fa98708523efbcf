#pragma once
namespace gh::config {
const char* libyamlVersion();  // the linked libyaml's version string
}  // namespace gh::config

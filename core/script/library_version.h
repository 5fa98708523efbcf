#pragma once
namespace gh::script {
const char* luajitVersion();  // the LuaJIT version compiled in
}  // namespace gh::script

#pragma once
// Writing YamlNode trees back out, as compact JSON or as block-style YAML.
//
// Both writers emit entries in the order the tree holds them (ordering is the caller's
// policy), write scalars by their core-schema type (so an unquoted 8080 becomes the number
// 8080 and a quoted "8080" the string "8080"), and normalise integers to decimal and booleans
// to true/false. Output always reads back, through YamlReader, as the same tree:
//   - JSON escapes quotes, backslashes and control characters, and also the code points
//     YAML treats as line breaks or refuses (U+0080..U+009F, U+2028, U+2029, U+FEFF,
//     U+FFFE, U+FFFF), so the JSON is valid YAML too. Other UTF-8 passes through.
//   - YAML writes a string plain only when no reader (YAML 1.1 or 1.2) could take it for
//     anything else; otherwise it is double-quoted with escapes.
// Invalid UTF-8 (possible only in trees built by hand) is written as U+FFFD.

#include <string>

#include "core/config/yaml_tree.h"

namespace gh::config {

std::string writeJson(const YamlNode& node);
std::string writeYaml(const YamlNode& node);

}  // namespace gh::config

#pragma once
// Reading a whole, small HTTP/1.1 response from a buffer: for the side requests an exchange
// makes (ext_authz checks, Lua httpCall), which collect the answer before acting on it. The
// head is parsed strictly (ResponseParser); the body is delimited by Content-Length, chunked
// coding, or the end of the connection (`eof`). Header views point into `data`.

#include <string>
#include <string_view>

#include "core/http/parser.h"

namespace gh::http {

enum class WholeResponse {
  kIncomplete,   // wait for more bytes (or the end of the connection)
  kDone,         // head and body are set
  kBadHead,      // not a valid response head
  kBadChunked,   // invalid chunked body
};

WholeResponse readWholeResponse(std::string_view data, bool eof, ResponseHead* head,
                                std::string* body);

}  // namespace gh::http

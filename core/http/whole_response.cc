#include "core/http/whole_response.h"

namespace gh::http {

WholeResponse readWholeResponse(std::string_view data, bool eof, ResponseHead* head,
                                std::string* body) {
  ResponseParser parser;
  ParseStatus st = parser.parse(data.data(), data.size(), false, *head);
  if (st == ParseStatus::kError) return WholeResponse::kBadHead;
  if (st == ParseStatus::kIncomplete) return WholeResponse::kIncomplete;
  std::string_view rest = data.substr(head->headLength);
  body->clear();
  switch (head->body) {
    case BodyKind::kNone:
      break;
    case BodyKind::kContentLength:
      if (rest.size() < head->contentLength) return WholeResponse::kIncomplete;
      body->assign(rest.substr(0, head->contentLength));
      break;
    case BodyKind::kChunked: {
      ChunkedDecoder decoder;
      size_t off = 0;
      while (off < rest.size()) {
        ChunkedDecoder::Step step = decoder.feed(rest.data() + off, rest.size() - off);
        if (step.error != ParseError::kNone) return WholeResponse::kBadChunked;
        body->append(step.data);
        off += step.consumed;
        if (step.done || step.consumed == 0) break;
      }
      if (!decoder.done()) return WholeResponse::kIncomplete;
      break;
    }
    default:  // delimited by the end of the connection
      if (!eof) return WholeResponse::kIncomplete;
      body->assign(rest);
      break;
  }
  return WholeResponse::kDone;
}

}  // namespace gh::http

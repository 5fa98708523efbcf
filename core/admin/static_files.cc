// The web UI's files from the embedded table (assets.h): gzip when the browser takes it,
// 304 when its copy is current. The UI is one page with hash routes (#/routes), so only "/"
// and the files themselves exist; anything else is 404.

#include <cstring>

#include "core/admin/api_internal.h"
#include "core/admin/assets.h"
#include "core/base/strings.h"

namespace gh::admin {

const Asset* findAsset(const char* path, size_t len) {
  std::string_view p(path, len);
  if (p == "/") p = "/index.html";
  for (size_t i = 0; i < kAssetCount; ++i)
    if (p == kAssets[i].path) return &kAssets[i];
  return nullptr;
}

namespace {

bool acceptsGzip(std::string_view acceptEncoding) {
  for (std::string_view part : str::split(acceptEncoding, ',')) {
    part = str::trimOws(part);
    std::string_view coding = part.substr(0, part.find(';'));
    if (str::iequals(str::trimOws(coding), "gzip")) return part.find("q=0") == std::string_view::npos ||
                                                          part.find("q=0.") != std::string_view::npos;
  }
  return false;
}

bool etagMatches(std::string_view ifNoneMatch, std::string_view etag) {
  if (ifNoneMatch == "*") return true;
  for (std::string_view part : str::split(ifNoneMatch, ',')) {
    part = str::trimOws(part);
    if (str::startsWith(part, "W/")) part.remove_prefix(2);
    if (part == etag) return true;
  }
  return false;
}

}  // namespace

AdminResponse serveAsset(const AdminRequest& req) {
  const Asset* a = findAsset(req.path.data(), req.path.size());
  if (!a) return {404, "text/plain; charset=utf-8", "not found\n", {}};
  AdminResponse r;
  r.contentType = a->contentType;
  r.headers.emplace_back("etag", a->etag);
  // Revalidate every time: the files are small, the 304 is cheap, and an upgraded binary's UI
  // is seen at once.
  r.headers.emplace_back("cache-control", "no-cache");
  r.headers.emplace_back("vary", "Accept-Encoding");
  if (etagMatches(req.header("if-none-match"), a->etag)) {
    r.status = 304;
    return r;
  }
  if (a->gzip && acceptsGzip(req.header("accept-encoding"))) {
    r.headers.emplace_back("content-encoding", "gzip");
    r.body.assign(reinterpret_cast<const char*>(a->gzip), a->gzipSize);
  } else {
    r.body.assign(reinterpret_cast<const char*>(a->data), a->size);
  }
  return r;
}

}  // namespace gh::admin

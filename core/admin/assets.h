#pragma once
// The web UI's files, embedded in the binary. The table is generated at build time from
// webui/ (webui/embed.mjs writes build/gen/webui_assets.cc): each file with its gzip form and a
// strong ETag (SHA-256 of the content), so the admin server sends the compressed bytes to
// browsers that accept them and answers 304 to revalidations without reading anything.

#include <cstddef>

namespace gh::admin {

struct Asset {
  const char* path;         // "/index.html", "/app.js"
  const char* contentType;  // "text/html; charset=utf-8"
  const unsigned char* data;
  size_t size;
  const unsigned char* gzip;  // null when compression did not pay
  size_t gzipSize;
  const char* etag;  // "\"<hex>\""
};

extern const Asset kAssets[];
extern const size_t kAssetCount;

// The asset at `path` ("/" is "/index.html"), or null.
const Asset* findAsset(const char* path, size_t len);

}  // namespace gh::admin

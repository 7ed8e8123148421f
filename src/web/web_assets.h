// The dashboard's files, embedded into the binary at build time (src/web/CMakeLists.txt):
// web/src/{index.html,app.js,style.css} and uPlot's minified script and stylesheet from
// web/node_modules. The agent serves them with no files on disk and no internet.
//
// Ownership: the assets are static data that live as long as the program.
// Thread-safety: read-only; every function may be called from any thread.
#pragma once

#include <string_view>
#include <vector>

namespace echomon::web {

struct Asset {
  std::string_view path;          // URL path without the leading '/': "index.html", "assets/app.js"
  std::string_view content_type;  // e.g. "text/javascript; charset=utf-8"
  std::string_view etag;          // strong ETag, quoted: a prefix of the SHA-256 of body
  std::string_view body;
};

// Every embedded asset (generated: web_assets_data.cc).
const std::vector<Asset>& Assets();

// The asset at `path` (without the leading '/'), or nullptr when there is none.
const Asset* FindAsset(std::string_view path);

}  // namespace echomon::web

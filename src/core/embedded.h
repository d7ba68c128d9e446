#pragma once
// Files compiled into the binary at build time (cmake/embed.cmake), so `build/fidelis` runs from
// anywhere without its source tree.

#include <span>
#include <string_view>

namespace fidelis::embedded {

struct File {
  std::string_view name;     // file name without directory, e.g. "0001_foundation.sql"
  std::string_view content;
};

std::span<const File> migrations();  // migrations/*.sql, sorted by name
std::span<const File> openapi();     // docs/api/openapi.yaml
std::span<const File> snippet();     // web/t.js, the tracking snippet served as /t.js

}  // namespace fidelis::embedded

// Import options as stored with an import (so a restarted server can resume it), and the names of
// the bulk modes.

#include <fmt/format.h>

#include <cstdlib>

#include "imports/imports.h"

namespace fidelis::imports {

std::string_view bulk_mode_name(BulkMode m) {
  switch (m) {
    case BulkMode::kOn: return "on";
    case BulkMode::kOff: return "off";
    default: return "auto";
  }
}

Result<BulkMode> parse_bulk_mode(std::string_view name, std::string_view field) {
  if (name == "auto") return BulkMode::kAuto;
  if (name == "on") return BulkMode::kOn;
  if (name == "off") return BulkMode::kOff;
  return Error::invalid_argument(std::string(field), "expected auto, on or off");
}

std::string encode_options(const ImportOptions& o) {
  // One "key=value" per line; mapping entries as "map=header<TAB>field". Headers and fields with
  // line breaks or tabs cannot be mapped anyway.
  std::string out = fmt::format("source={}\ndedup={}\ndefault_country={}\nbatch_rows={}\nrejects={}\n", o.source,
                                o.dedup ? 1 : 0, o.default_country, o.batch_rows, o.rejects_path);
  if (o.source_priority) out += fmt::format("priority={}\n", *o.source_priority);
  out += fmt::format("bulk={}\n", bulk_mode_name(o.bulk));
  for (const auto& [h, f] : o.mapping) out += "map=" + h + "\t" + f + "\n";
  for (const std::string& c : o.consents) out += "consent=" + c + "\n";
  return out;
}

ImportOptions decode_options(std::string_view text) {
  ImportOptions o;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    start = end + 1;
    size_t eq = line.find('=');
    if (eq == std::string_view::npos) continue;
    std::string_view k = line.substr(0, eq), v = line.substr(eq + 1);
    if (k == "source") o.source = std::string(v);
    else if (k == "dedup") o.dedup = v == "1";
    else if (k == "default_country") o.default_country = std::string(v);
    else if (k == "batch_rows") o.batch_rows = std::max<int64_t>(1, std::strtoll(std::string(v).c_str(), nullptr, 10));
    else if (k == "rejects") o.rejects_path = std::string(v);
    else if (k == "priority") o.source_priority = std::atoi(std::string(v).c_str());
    else if (k == "bulk") o.bulk = parse_bulk_mode(v).value_or(BulkMode::kAuto);
    else if (k == "consent") o.consents.emplace_back(v);
    else if (k == "map") {
      size_t tab = v.find('\t');
      if (tab != std::string_view::npos) o.mapping[std::string(v.substr(0, tab))] = std::string(v.substr(tab + 1));
    }
  }
  return o;
}

}  // namespace fidelis::imports

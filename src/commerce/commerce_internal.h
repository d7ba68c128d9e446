#pragma once
// Helpers shared by the commerce module's files; not part of its contract.

#include <string>
#include <string_view>

#include "commerce/commerce.h"
#include "core/json_writer.h"

namespace fidelis::commerce::internal {

// `s` as a JSON string literal, quotes included (for audit and outbox payloads).
inline std::string json_quoted(std::string_view s) {
  std::string out;
  append_json_string(out, s);
  return out;
}

// A request the order's state forbids now: 409 naming the field (usually "status").
inline Error state_conflict(std::string field, std::string message) {
  return Error{Code::kConflict, std::move(field), std::move(message)};
}

// Postcodes compared without spaces or dashes, upper-cased ("69 002" == "69002", "sw1a 1aa").
std::string postcode_key(std::string_view postcode);

}  // namespace fidelis::commerce::internal

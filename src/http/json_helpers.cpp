// Typed field access on JSON objects, list cursors and limits: shared by the route files.

#include <fmt/format.h>

#include <algorithm>

#include "core/text.h"
#include "http/api.h"

namespace fidelis::http {

Result<std::optional<std::string>> get_string(const Json& obj, std::string_view key, std::string_view field) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return std::optional<std::string>();
  if (!it->is_string()) return Error::invalid_argument(std::string(field), "expected a string");
  return std::optional<std::string>(it->get<std::string>());
}

Result<std::optional<int64_t>> get_int(const Json& obj, std::string_view key, std::string_view field) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return std::optional<int64_t>();
  if (!it->is_number_integer()) return Error::invalid_argument(std::string(field), "expected an integer");
  return std::optional<int64_t>(it->get<int64_t>());
}

Result<std::optional<bool>> get_bool(const Json& obj, std::string_view key, std::string_view field) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return std::optional<bool>();
  if (!it->is_boolean()) return Error::invalid_argument(std::string(field), "expected true or false");
  return std::optional<bool>(it->get<bool>());
}

Status reject_unknown(const Json& obj, std::initializer_list<std::string_view> allowed, std::string_view prefix) {
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    if (std::find(allowed.begin(), allowed.end(), it.key()) == allowed.end())
      return Error::invalid_argument(prefix.empty() ? it.key() : fmt::format("{}.{}", prefix, it.key()), "unknown field");
  }
  return ok();
}

Result<Json> parse_json_object(std::string_view text) {
  // How deep arrays and objects nest, outside strings, counted before parsing.
  size_t depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxJsonDepth)
        return Error::invalid_argument("body", fmt::format("nests arrays and objects deeper than {} levels", kMaxJsonDepth));
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  Json body = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) return Error::invalid_argument("body", "is not valid JSON");
  if (!body.is_object()) return Error::invalid_argument("body", "expected a JSON object");
  return body;
}

std::string etag(int64_t version) { return fmt::format("\"v{}\"", version); }

std::optional<int64_t> parse_etag(std::string_view tag) {
  while (!tag.empty() && tag.front() == ' ') tag.remove_prefix(1);
  while (!tag.empty() && tag.back() == ' ') tag.remove_suffix(1);
  if (tag.starts_with("W/")) tag.remove_prefix(2);
  if (tag.size() < 4 || tag.front() != '"' || tag.back() != '"' || tag[1] != 'v') return std::nullopt;
  std::string digits(tag.substr(2, tag.size() - 3));
  if (digits.empty() || digits.size() > 18 || digits.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
  return std::stoll(digits);
}

std::string iso(Millis ms) { return format_iso8601(ms); }

std::string encode_cursor(int64_t after_id) { return text::base64url_encode(fmt::format("after:{}", after_id)); }

Result<int64_t> decode_cursor(std::string_view cursor) {
  std::string raw;
  if (!text::base64url_decode(cursor, raw) || !raw.starts_with("after:"))
    return Error::invalid_argument("cursor", "is not a cursor this server gave out");
  std::string digits = raw.substr(6);
  if (digits.empty() || digits.size() > 18 || !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return Error::invalid_argument("cursor", "is not a cursor this server gave out");
  return std::stoll(digits);
}

std::string cookie_value(std::string_view header, std::string_view name) {
  size_t pos = 0;
  while (pos < header.size()) {
    while (pos < header.size() && (header[pos] == ' ' || header[pos] == ';')) ++pos;
    size_t end = header.find(';', pos);
    if (end == std::string_view::npos) end = header.size();
    std::string_view pair = header.substr(pos, end - pos);
    size_t eq = pair.find('=');
    if (eq != std::string_view::npos && pair.substr(0, eq) == name) return std::string(pair.substr(eq + 1));
    pos = end + 1;
  }
  return {};
}

Result<int> limit_param(const Context& ctx, int max) {
  auto v = ctx.query_param("limit");
  if (!v) return std::min(50, max);
  std::string range = fmt::format("expected an integer between 1 and {}", max);
  if (v->empty() || v->size() > 4 || !std::all_of(v->begin(), v->end(), [](char c) { return c >= '0' && c <= '9'; }))
    return Error::invalid_argument("limit", range);
  int n = std::stoi(*v);
  if (n < 1 || n > max) return Error::invalid_argument("limit", range);
  return n;
}

}  // namespace fidelis::http

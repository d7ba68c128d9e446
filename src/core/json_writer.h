#pragma once
// A small, fast JSON text writer for documents Fidelis renders often (a customer's document on
// every read). Appends to a string; the caller keeps the structure balanced. Not a parser.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace fidelis {

class JsonWriter {
 public:
  explicit JsonWriter(std::string& out) : out_(out) {}
  JsonWriter& begin_object();
  JsonWriter& end_object();
  JsonWriter& begin_array();
  JsonWriter& end_array();
  JsonWriter& key(std::string_view k);  // then one value
  JsonWriter& string(std::string_view s);
  JsonWriter& string_or_null(const std::optional<std::string>& s);
  JsonWriter& integer(int64_t v);
  JsonWriter& number(double v);
  JsonWriter& boolean(bool v);
  JsonWriter& null();
  // Appends `json` (already valid JSON text) as a value.
  JsonWriter& raw(std::string_view json);

 private:
  void separate();
  std::string& out_;
  bool need_comma_ = false;
};

// Appends `s` as a JSON string literal (quotes included), escaping what JSON requires.
void append_json_string(std::string& out, std::string_view s);

}  // namespace fidelis

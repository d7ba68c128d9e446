#include "core/email.h"

#include "core/text.h"

namespace fidelis {

Result<std::string> normalize_email(std::string_view raw, std::string_view field) {
  std::string_view s = text::trim(raw);
  auto bad = [&](std::string reason) { return Error::invalid_argument(std::string(field), std::move(reason)); };
  if (s.empty()) return bad("is empty");
  if (s.size() > 254) return bad("is longer than 254 characters");
  if (!text::is_valid_utf8(s)) return bad("is not valid UTF-8");
  auto at = s.rfind('@');
  if (at == std::string_view::npos || at == 0 || at + 1 == s.size()) return bad("expected name@domain");
  std::string_view local = s.substr(0, at), domain = s.substr(at + 1);
  if (local.size() > 64) return bad("the part before @ is longer than 64 characters");
  for (char c : local) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || c == '@' || c == '"' || c == '(' || c == ')' || c == ',' || c == ':' || c == ';' ||
        c == '<' || c == '>' || c == '[' || c == ']' || c == '\\' || u == 0x7F)
      return bad("the part before @ has a character not allowed in an address");
  }
  if (local.front() == '.' || local.back() == '.' || local.find("..") != std::string_view::npos)
    return bad("the part before @ has a misplaced dot");
  std::string d = text::to_lower_ascii(domain);
  if (d.find('.') == std::string::npos) return bad("the domain needs a dot, e.g. example.fr");
  size_t label_start = 0;
  for (size_t i = 0; i <= d.size(); ++i) {
    if (i == d.size() || d[i] == '.') {
      size_t len = i - label_start;
      if (len == 0 || len > 63) return bad("the domain has an empty or too long part");
      if (d[label_start] == '-' || d[i - 1] == '-') return bad("a domain part cannot start or end with '-'");
      label_start = i + 1;
      continue;
    }
    auto u = static_cast<unsigned char>(d[i]);
    if (!(u >= 0x80 || (d[i] >= 'a' && d[i] <= 'z') || (d[i] >= '0' && d[i] <= '9') || d[i] == '-'))
      return bad("the domain has a character not allowed in a domain name");
  }
  return std::string(local) + "@" + d;
}

}  // namespace fidelis

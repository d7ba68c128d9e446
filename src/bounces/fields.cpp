// Reading status codes, addresses and text out of report fields and free text.

#include <algorithm>

#include "bounces/bounces_internal.h"
#include "core/email.h"
#include "core/text.h"

namespace fidelis::bounces::internal {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alnum(char c) { return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

// Reads "c.s.d" at `i` with the RFC 3463 shape: class 2, 4 or 5, then 1 to 3 digits twice. The code
// must stand alone: no letter, digit or dot glued before it, and nothing like ".7" after it (that
// would be an IP address or a version number).
std::optional<StatusCode> code_at(std::string_view s, size_t i) {
  char c = s[i];
  if (c != '2' && c != '4' && c != '5') return std::nullopt;
  if (i > 0 && (is_alnum(s[i - 1]) || s[i - 1] == '.')) return std::nullopt;
  size_t j = i + 1;
  int parts[2] = {0, 0};
  for (int& part : parts) {
    if (j >= s.size() || s[j] != '.') return std::nullopt;
    ++j;
    size_t start = j;
    while (j < s.size() && is_digit(s[j]) && j - start < 4) part = part * 10 + (s[j++] - '0');
    if (j == start || j - start > 3) return std::nullopt;
  }
  if (j < s.size() && (is_alnum(s[j]) || (s[j] == '.' && j + 1 < s.size() && is_digit(s[j + 1]))))
    return std::nullopt;
  return StatusCode{c - '0', parts[0], parts[1], std::string(s.substr(i, j - i))};
}

// True when `i` starts a basic reply code "550" standing alone.
bool reply_code_at(std::string_view s, size_t i) {
  if (i + 3 > s.size()) return false;
  if (s[i] != '2' && s[i] != '4' && s[i] != '5') return false;
  if (!is_digit(s[i + 1]) || !is_digit(s[i + 2])) return false;
  if (i > 0 && (is_alnum(s[i - 1]) || s[i - 1] == '.')) return false;
  return i + 3 == s.size() || s[i + 3] == ' ' || s[i + 3] == '-';
}

}  // namespace

std::optional<StatusCode> find_status_code(std::string_view text) {
  std::optional<StatusCode> first;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '2' && text[i] != '4' && text[i] != '5') continue;
    std::optional<StatusCode> code = code_at(text, i);
    if (!code) continue;
    if (i >= 4 && reply_code_at(text, i - 4) && text[i - 4] == text[i]) return code;
    if (!first) first = std::move(code);
  }
  return first;
}

std::optional<int> find_reply_code(std::string_view text) {
  for (size_t i = 0; i + 3 <= text.size(); ++i) {
    if (reply_code_at(text, i)) return (text[i] - '0') * 100 + (text[i + 1] - '0') * 10 + (text[i + 2] - '0');
  }
  return std::nullopt;
}

std::string clean_text(std::string_view in) {
  std::string out;
  out.reserve(std::min(in.size(), kMaxFieldBytes));
  bool space = false;
  size_t i = 0;
  while (i < in.size() && out.size() < kMaxFieldBytes) {
    auto c = static_cast<unsigned char>(in[i]);
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v') {
      space = true;
      ++i;
      continue;
    }
    size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    std::string_view piece = n == 0 || i + n > in.size() ? std::string_view() : in.substr(i, n);
    bool valid = !piece.empty() && (n == 1 ? c >= 0x20 && c != 0x7F : text::is_valid_utf8(piece));
    if (out.size() + (valid ? n : 1) + (space ? 1 : 0) > kMaxFieldBytes) break;
    if (space && !out.empty()) out += ' ';
    space = false;
    if (valid) {
      out.append(piece);
      i += n;
    } else {
      out += '?';  // a stray byte from a server that ignored charsets; keep the rest readable
      ++i;
    }
  }
  return out;
}

namespace {

// RFC 6533's utf-8 address type writes characters it cannot carry as \x{HEX} (a code point).
std::string unescape_utf8_address(std::string_view v) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) {
    size_t close = v.substr(i, 3) == "\\x{" ? v.find('}', i) : std::string_view::npos;
    if (close != std::string_view::npos && close - i >= 4 && close - i <= 9) {
      uint32_t cp = 0;
      bool hex = true;
      for (char c : v.substr(i + 3, close - i - 3)) {
        int d = text::hex_digit(c);
        if (d < 0) hex = false;
        cp = cp * 16 + static_cast<uint32_t>(std::max(d, 0));
      }
      if (hex && cp > 0 && cp <= 0x10FFFF && (cp < 0xD800 || cp > 0xDFFF)) {
        text::append_utf8(cp, out);
        i = close;
        continue;
      }
    }
    out += v[i];
  }
  return out;
}

// The value without its RFC 5322 comments ("odd@x.fr (Jean Dupont)"), which may nest; text in
// double quotes (a quoted local part) is kept as it is.
std::string without_comments(std::string_view v) {
  std::string out;
  int depth = 0;
  bool quoted = false;
  for (size_t i = 0; i < v.size(); ++i) {
    char c = v[i];
    if (c == '\\' && (quoted || depth > 0) && i + 1 < v.size()) {
      if (depth == 0) out.append(v.substr(i, 2));
      ++i;
      continue;
    }
    if (depth == 0 && c == '"') quoted = !quoted;
    if (!quoted && c == '(') {
      ++depth;
      continue;
    }
    if (!quoted && c == ')' && depth > 0) {
      --depth;
      if (depth == 0) out += ' ';
      continue;
    }
    if (depth == 0) out += c;
  }
  return out;
}

}  // namespace

std::optional<std::string> address_from_field(std::string_view value) {
  const std::string uncommented = without_comments(value);
  std::string_view v = text::trim(uncommented);
  std::string unescaped;
  if (size_t semi = v.find(';'); semi != std::string_view::npos) {
    std::string type = text::to_lower_ascii(text::trim(v.substr(0, semi)));
    // rfc822 is the e-mail address type; utf-8 is its internationalised form (RFC 6533).
    if (type != "rfc822" && type != "utf-8") return std::nullopt;
    v = text::trim(v.substr(semi + 1));
    if (type == "utf-8") {
      unescaped = unescape_utf8_address(v);
      v = unescaped;
    }
  }
  if (v.size() >= 2 && v.front() == '<' && v.back() == '>') v = text::trim(v.substr(1, v.size() - 2));
  Result<std::string> email = normalize_email(v, "recipient");
  if (!email) return std::nullopt;
  return std::move(*email);
}

}  // namespace fidelis::bounces::internal

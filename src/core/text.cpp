#include "core/text.h"

#include <unicode/unorm2.h>
#include <unicode/ustring.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <vector>

namespace fidelis::text {

bool is_valid_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80 ? 0 : (c >> 5) == 0x6 ? 1 : (c >> 4) == 0xE ? 2 : (c >> 3) == 0x1E ? 3 : 9;
    if (n == 9 || i + n >= s.size() + (n == 0 ? 1 : 0)) return false;
    uint32_t cp = n == 0 ? c : n == 1 ? (c & 0x1F) : n == 2 ? (c & 0x0F) : (c & 0x07);
    for (size_t k = 1; k <= n; ++k) {
      auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc >> 6) != 0x2) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF))
      return false;
    i += n + 1;
  }
  return true;
}

size_t utf8_length(std::string_view s) {
  return static_cast<size_t>(std::count_if(s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

namespace {
// The length in bytes of the character of no width `s` holds at `i`, 0 if none: soft hyphen
// (U+00AD), grapheme joiner (U+034F), Arabic letter mark (U+061C), Mongolian vowel separator
// (U+180E), zero-width space (U+200B), directional marks, embeddings, overrides and isolates
// (U+200E, U+200F, U+202A to U+202E, U+2066 to U+2069), word joiner and invisible operators
// (U+2060 to U+2064), zero-width no-break space (U+FEFF, the BOM) and blank fillers (U+115F, U+1160,
// U+3164, U+FFA0).
size_t invisible_at(std::string_view s, size_t i) {
  auto at = [&](size_t k) { return k < s.size() ? static_cast<unsigned char>(s[k]) : 0u; };
  unsigned char c = at(i), c1 = at(i + 1), c2 = at(i + 2);
  if (c == 0xC2 && c1 == 0xAD) return 2;
  if (c == 0xCD && c1 == 0x8F) return 2;
  if (c == 0xD8 && c1 == 0x9C) return 2;
  if (c == 0xE1 && ((c1 == 0xA0 && c2 == 0x8E) || (c1 == 0x85 && (c2 == 0x9F || c2 == 0xA0)))) return 3;
  if (c == 0xE2 && c1 == 0x80 && (c2 == 0x8B || c2 == 0x8E || c2 == 0x8F || (c2 >= 0xAA && c2 <= 0xAE))) return 3;
  if (c == 0xE2 && c1 == 0x81 && ((c2 >= 0xA0 && c2 <= 0xA4) || (c2 >= 0xA6 && c2 <= 0xA9))) return 3;
  if (c == 0xE3 && c1 == 0x85 && c2 == 0xA4) return 3;
  if (c == 0xEF && ((c1 == 0xBB && c2 == 0xBF) || (c1 == 0xBE && c2 == 0xA0))) return 3;
  return 0;
}
}  // namespace

bool has_control_character(std::string_view s) {
  auto at = [&](size_t i) { return i < s.size() ? static_cast<unsigned char>(s[i]) : 0u; };
  size_t tags_from = std::string_view::npos;  // where tag characters may follow a black flag (U+1F3F4)
  for (size_t i = 0; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c == 0xF0 && at(i + 1) == 0x9F && at(i + 2) == 0x8F && at(i + 3) == 0xB4) tags_from = i + 4;
    if (c == 0xF3 && at(i + 1) == 0xA0 && (at(i + 2) == 0x80 || at(i + 2) == 0x81)) {  // U+E0000-E007F tags
      if (i != tags_from) return true;
      tags_from = i + 4;  // a subdivision flag: U+1F3F4, tags, U+E007F
      continue;
    }
    if (c < 0x20 || c == 0x7F) return true;
    if (c == 0xC2 && at(i + 1) >= 0x80 && at(i + 1) <= 0x9F) return true;
    if (c == 0xE2 && at(i + 1) == 0x80 && (at(i + 2) == 0xA8 || at(i + 2) == 0xA9)) return true;  // U+2028, 2029
    if (invisible_at(s, i) > 0) return true;
  }
  return false;
}

std::string without_soft_hyphens(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\xC2' && i + 1 < s.size() && s[i + 1] == '\xAD') {
      ++i;
      continue;
    }
    out += s[i];
  }
  return out;
}

std::string without_invisible(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    if (size_t n = invisible_at(s, i); n > 0) {
      i += n;
      continue;
    }
    out += s[i++];
  }
  return out;
}

std::string to_nfc(std::string_view s) {
  // Every code point below U+0300 (where combining marks start) is its own NFC form: French text,
  // which needs only those, is returned at once. Lead bytes from 0xCC on start U+0300 and above.
  if (std::all_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0xCC; })) return std::string(s);
  UErrorCode err = U_ZERO_ERROR;
  const UNormalizer2* nfc = unorm2_getNFCInstance(&err);
  if (U_FAILURE(err)) return std::string(s);
  // UTF-8 -> UTF-16 -> NFC -> UTF-8: ICU's C API normalizes UTF-16.
  std::vector<UChar> in(s.size() + 1), out(2 * s.size() + 8);
  int32_t in_len = 0;
  u_strFromUTF8(in.data(), static_cast<int32_t>(in.size()), &in_len, s.data(), static_cast<int32_t>(s.size()), &err);
  if (U_FAILURE(err)) return std::string(s);
  if (unorm2_quickCheck(nfc, in.data(), in_len, &err) == UNORM_YES && U_SUCCESS(err)) return std::string(s);
  err = U_ZERO_ERROR;
  int32_t out_len = unorm2_normalize(nfc, in.data(), in_len, out.data(), static_cast<int32_t>(out.size()), &err);
  if (U_FAILURE(err)) return std::string(s);
  std::string result(static_cast<size_t>(out_len) * 3 + 4, '\0');
  int32_t bytes = 0;
  u_strToUTF8(result.data(), static_cast<int32_t>(result.size()), &bytes, out.data(), out_len, &err);
  if (U_FAILURE(err)) return std::string(s);
  result.resize(static_cast<size_t>(bytes));
  return result;
}

namespace {
// The length in bytes of the Unicode space `s` starts with (U+00A0 no-break, U+1680, U+2000 to
// U+200A, U+202F narrow no-break, U+205F, U+3000), 0 if none.
size_t unicode_space_at(std::string_view s) {
  auto b = [&](size_t i) { return i < s.size() ? static_cast<unsigned char>(s[i]) : 0u; };
  if (b(0) == 0xC2 && b(1) == 0xA0) return 2;
  if (b(0) == 0xE2 && b(1) == 0x80 && ((b(2) >= 0x80 && b(2) <= 0x8A) || b(2) == 0xAF)) return 3;
  if (b(0) == 0xE2 && b(1) == 0x81 && b(2) == 0x9F) return 3;
  if (b(0) == 0xE3 && b(1) == 0x80 && b(2) == 0x80) return 3;
  if (b(0) == 0xE1 && b(1) == 0x9A && b(2) == 0x80) return 3;
  return 0;
}
}  // namespace

bool has_unicode_space(std::string_view s) {
  for (size_t i = 0; i < s.size(); ++i)
    if (unicode_space_at(s.substr(i)) > 0) return true;
  return false;
}

std::string_view trim(std::string_view s) {
  auto ws = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; };
  for (;;) {
    if (!s.empty() && ws(s.front())) s.remove_prefix(1);
    else if (size_t n = unicode_space_at(s); n > 0) s.remove_prefix(n);
    else break;
  }
  for (;;) {
    if (!s.empty() && ws(s.back())) {
      s.remove_suffix(1);
      continue;
    }
    // A space of 2 or 3 bytes at the end (its last byte is a continuation byte).
    if (s.empty() || (static_cast<unsigned char>(s.back()) & 0xC0) != 0x80) break;
    size_t n = s.size() >= 3 && unicode_space_at(s.substr(s.size() - 3)) == 3   ? 3
               : s.size() >= 2 && unicode_space_at(s.substr(s.size() - 2)) == 2 ? 2
                                                                                 : 0;
    if (n == 0) break;
    s.remove_suffix(n);
  }
  return s;
}

namespace {

// Latin Extended-A (U+0100..U+017F) folded to base letters; the ligatures are handled apart.
constexpr std::string_view kExtA =
    "aaaaaaccccccccddddeeeeeeeeeegggggggghhhhiiiiiiiiii__jjkkklllllll"
    "lllnnnnnnnnnoooooo__rrrrrrssssssssttttttuuuuuuuuuuuuwwyyyzzzzzzs";
static_assert(kExtA.size() == 128);

// Folds one code point in U+00C0..U+017F to its base ASCII letter(s); empty if it has none.
std::string_view fold_latin(uint32_t cp) {
  if (cp >= 0xC0 && cp <= 0xFF) {
    static constexpr std::array<std::string_view, 64> kLatin1 = {
        "a", "a", "a", "a", "a", "a", "ae", "c", "e", "e", "e", "e", "i", "i", "i", "i",
        "d", "n", "o", "o", "o", "o", "o", "",  "o", "u", "u", "u", "u", "y", "th", "ss",
        "a", "a", "a", "a", "a", "a", "ae", "c", "e", "e", "e", "e", "i", "i", "i", "i",
        "d", "n", "o", "o", "o", "o", "o", "",  "o", "u", "u", "u", "u", "y", "th", "y"};
    return kLatin1[cp - 0xC0];
  }
  if (cp == 0x152 || cp == 0x153) return "oe";
  if (cp == 0x132 || cp == 0x133) return "ij";
  if (cp >= 0x100 && cp <= 0x17F) return kExtA.substr(cp - 0x100, 1);
  return {};
}

}  // namespace

std::string search_key(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  bool pending_space = false;
  size_t i = 0;
  auto emit = [&](std::string_view piece) {
    if (pending_space && !out.empty()) out += ' ';
    pending_space = false;
    out += piece;
  };
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '@' || c == '.' || c == '_' || c == '+') {
        char ch = static_cast<char>(c);
        emit(std::string_view(&ch, 1));
      } else if (c >= 'A' && c <= 'Z') {
        char ch = static_cast<char>(c + 32);
        emit(std::string_view(&ch, 1));
      } else {
        pending_space = true;  // spaces, hyphens, apostrophes, punctuation
      }
      continue;
    }
    size_t n = (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 1;
    if (i + n > s.size()) break;
    uint32_t cp = 0;
    if (n == 2) cp = ((c & 0x1F) << 6) | (static_cast<unsigned char>(s[i + 1]) & 0x3F);
    if (n == 3) {
      cp = ((c & 0x0F) << 12) | ((static_cast<unsigned char>(s[i + 1]) & 0x3F) << 6) |
           (static_cast<unsigned char>(s[i + 2]) & 0x3F);
    }
    if (std::string_view f = fold_latin(cp); !f.empty()) {
      emit(f);
    } else if (cp >= 0x300 && cp <= 0x36F) {
      // a combining accent (decomposed text, as macOS writes it: "e" then U+0301): dropped, as the
      // accent of a composed letter is
    } else if (cp == 0x2019 || cp == 0x2010 || cp == 0x2013 || (cp >= 0x80 && cp < 0xC0) || cp == 0xD7 || cp == 0xF7) {
      pending_space = true;  // typographic apostrophe, hyphens, Latin-1 symbols (no-break space, °, «, »)
    } else {
      emit(s.substr(i, n));
    }
    i += n;
  }
  return out;
}

std::string prefix_upper_bound(std::string_view prefix) {
  std::string s(prefix);
  while (!s.empty()) {
    auto c = static_cast<unsigned char>(s.back());
    if (c < 0xFF) {
      s.back() = static_cast<char>(c + 1);
      return s;
    }
    s.pop_back();
  }
  return s;
}

std::string to_lower_ascii(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
  return out;
}

namespace {

uint32_t decode_at(std::string_view s, size_t& i) {
  auto c = static_cast<unsigned char>(s[i]);
  size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : 4;
  if (i + n > s.size()) n = 1;
  uint32_t cp = n == 1 ? c : n == 2 ? (c & 0x1F) : n == 3 ? (c & 0x0F) : (c & 0x07);
  for (size_t k = 1; k < n; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
  i += n;
  return cp;
}

}  // namespace

void append_utf8(uint32_t cp, std::string& out) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

namespace {

// Latin Extended-A pairs upper/lower on even/odd code points, except U+0138 and the
// U+0139..U+0148 and U+0179..U+017E runs, which pair odd/even.
bool odd_paired(uint32_t cp) { return (cp >= 0x139 && cp <= 0x148) || (cp >= 0x179 && cp <= 0x17E); }

uint32_t lower_cp(uint32_t cp) {
  if (cp >= 'A' && cp <= 'Z') return cp + 32;
  if (cp >= 0xC0 && cp <= 0xDE && cp != 0xD7) return cp + 32;
  if (cp == 0x178) return 0xFF;
  if (cp >= 0x100 && cp <= 0x17F && cp != 0x130 && cp != 0x131 && cp != 0x138 && cp != 0x149 && cp != 0x17F) {
    bool upper = odd_paired(cp) ? (cp % 2 == 1) : (cp % 2 == 0);
    return upper ? cp + 1 : cp;
  }
  return cp;
}

uint32_t upper_cp(uint32_t cp) {
  if (cp >= 'a' && cp <= 'z') return cp - 32;
  if (cp >= 0xE0 && cp <= 0xFE && cp != 0xF7) return cp - 32;
  if (cp == 0xFF) return 0x178;
  if (cp >= 0x100 && cp <= 0x17F && cp != 0x130 && cp != 0x131 && cp != 0x138 && cp != 0x149 && cp != 0x17F) {
    bool lower = odd_paired(cp) ? (cp % 2 == 0) : (cp % 2 == 1);
    return lower ? cp - 1 : cp;
  }
  return cp;
}

}  // namespace

std::string to_lower(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) append_utf8(lower_cp(decode_at(s, i)), out);
  return out;
}

std::string to_upper(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) append_utf8(upper_cp(decode_at(s, i)), out);
  return out;
}

namespace {
constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
}

std::string base64url_encode(std::string_view in) {
  std::string out;
  uint32_t buf = 0;
  int bits = 0;
  for (unsigned char c : in) {
    buf = (buf << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += kB64[(buf >> bits) & 0x3F];
    }
  }
  if (bits > 0) out += kB64[(buf << (6 - bits)) & 0x3F];
  return out;
}

bool base64url_decode(std::string_view in, std::string& out) {
  out.clear();
  uint32_t buf = 0;
  int bits = 0;
  for (char c : in) {
    int v = c >= 'A' && c <= 'Z'   ? c - 'A'
            : c >= 'a' && c <= 'z' ? c - 'a' + 26
            : c >= '0' && c <= '9' ? c - '0' + 52
            : c == '-'             ? 62
            : c == '_'             ? 63
                                   : -1;
    if (v < 0) return false;
    buf = (buf << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((buf >> bits) & 0xFF);
    }
  }
  // One spelling per byte string: the bits past the last byte must be zero (else "YQ" and "YR"
  // would read the same).
  return bits < 6 && (buf & ((1u << bits) - 1)) == 0;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool hex_decode(std::string_view in, std::string& out) {
  out.clear();
  if (in.size() % 2 != 0) return false;
  out.reserve(in.size() / 2);
  for (size_t i = 0; i < in.size(); i += 2) {
    int hi = hex_digit(in[i]), lo = hex_digit(in[i + 1]);
    if (hi < 0 || lo < 0) return false;
    out += static_cast<char>(hi * 16 + lo);
  }
  return true;
}

std::string percent_decode(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+' && plus_is_space) {
      out += ' ';
    } else if (s[i] == '%' && i + 2 < s.size() && hex_digit(s[i + 1]) >= 0 && hex_digit(s[i + 2]) >= 0) {
      out += static_cast<char>(hex_digit(s[i + 1]) * 16 + hex_digit(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

std::string hex_encode(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += kHex[c >> 4];
    out += kHex[c & 0xF];
  }
  return out;
}

std::optional<std::string> plain_number(std::string_view v, bool integer) {
  std::string s;
  for (size_t i = 0; i < v.size();) {  // spaces of any width become ' '
    if (v.compare(i, 2, "\u00A0") == 0) s += ' ', i += 2;
    else if (v.compare(i, 3, "\u202F") == 0 || v.compare(i, 3, "\u2009") == 0) s += ' ', i += 3;
    else s += v[i++];
  }
  std::string_view t = text::trim(s);
  auto strip = [&](std::string_view unit) {
    if (t.ends_with(unit)) t = text::trim(t.substr(0, t.size() - unit.size()));
    else if (t.starts_with(unit)) t = text::trim(t.substr(unit.size()));
  };
  strip("\u20AC");
  strip("EUR");
  std::string sign;
  if (!t.empty() && (t[0] == '-' || t[0] == '+')) {
    if (t[0] == '-') sign = "-";
    t = text::trim(t.substr(1));
  }
  if (t.empty() || t[0] < '0' || t[0] > '9') return std::nullopt;
  // The decimal mark: the last of ',' and '.' when both are there; a lone one unless it repeats or,
  // in an integer, three digits follow it.
  size_t comma = t.rfind(','), dot = t.rfind('.');
  size_t mark = std::string_view::npos;
  if (comma != std::string_view::npos && dot != std::string_view::npos) mark = std::max(comma, dot);
  else if (size_t one = comma != std::string_view::npos ? comma : dot; one != std::string_view::npos) {
    bool repeats = t.find(t[one]) != one;
    bool thousands = integer && t.size() - one - 1 == 3;
    if (!repeats && !thousands) mark = one;
  }
  std::string_view whole = t.substr(0, mark == std::string_view::npos ? t.size() : mark);
  std::string_view fraction = mark == std::string_view::npos ? std::string_view() : t.substr(mark + 1);
  // The whole part: digits, in groups of three after the first when separated.
  std::string out = sign;
  size_t group = 0;
  bool grouped = false;
  char separator = 0;
  for (char c : whole) {
    if (c >= '0' && c <= '9') {
      out += c;
      ++group;
      continue;
    }
    if (c != ' ' && c != '.' && c != ',' && c != '\'') return std::nullopt;
    if (separator == 0) separator = c;
    if (c != separator || group == 0 || (grouped && group != 3) || (!grouped && group > 3)) return std::nullopt;
    grouped = true;
    group = 0;
  }
  if (grouped && group != 3) return std::nullopt;
  if (mark != std::string_view::npos) {
    if (fraction.empty() || !std::all_of(fraction.begin(), fraction.end(), [](char c) { return c >= '0' && c <= '9'; }))
      return std::nullopt;
    out += '.';
    out += fraction;
  }
  return out;
}

}  // namespace fidelis::text

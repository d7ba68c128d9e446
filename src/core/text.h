#pragma once
// Text helpers shared by every module: UTF-8 checks, trimming, search keys, encodings.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace fidelis::text {

bool is_valid_utf8(std::string_view s);
// Characters (code points) in UTF-8 text: what a length limit shown to people counts ("é" is one,
// though two bytes). Bytes that continue a sequence are not counted, so invalid input never
// counts more than its bytes.
size_t utf8_length(std::string_view s);
// True when `s` holds a control character: C0 (U+0000 to U+001F: NUL, tab, line breaks...), DEL
// (U+007F) or C1 (U+0080 to U+009F, written C2 80 to C2 9F in UTF-8), or an invisible one that
// changes how text shows: line and paragraph separators (U+2028, U+2029), bidirectional overrides
// and isolates (U+202A to U+202E, U+2066 to U+2069, U+061C: "Jean\u202Eerreip" shows reversed),
// marks and spaces of no width (U+200B, U+200E, U+200F, U+2060 to U+2064, U+FEFF, U+034F, U+180E,
// U+00AD), blank fillers (U+115F, U+1160, U+3164, U+FFA0) and tag characters (U+E0000 to
// U+E007F, except after U+1F3F4 where they make a flag such as Scotland's). Joiners (U+200C,
// U+200D) and variation selectors, which some scripts and emoji need, are not.
bool has_control_character(std::string_view s);
// `s` without its soft hyphens (U+00AD): a hint where a word may break, invisible, left by copies
// from word processors and web pages ("Mont\u00ADpellier").
std::string without_soft_hyphens(std::string_view s);
// `s` without any of the characters of no width `has_control_character` names (soft hyphens, zero-width
// spaces, BOMs, directional marks and overrides, word joiners, fillers): what copies from web pages,
// messaging apps and concatenated files leave in spreadsheet cells ("\u202A+33 6 47 21 93 58\u202C").
// Line breaks, tabs and tag characters stay.
std::string without_invisible(std::string_view s);
// `s` (valid UTF-8) in Unicode normalization form C: "e" + U+0301 (as macOS writes it) becomes "é",
// so that one text typed two ways is one text, and counts as many characters as it shows.
std::string to_nfc(std::string_view s);
// Without the white space at both ends: ASCII white space, and the Unicode spaces spreadsheets and
// web pages leave (U+00A0 no-break, U+202F narrow no-break, U+2000 to U+200A, U+205F, U+3000, U+1680).
std::string_view trim(std::string_view s);
// True when `s` holds one of those Unicode spaces (not the ASCII ones) anywhere.
bool has_unicode_space(std::string_view s);
// Search key: lower-case, accents removed (Latin letters used in French and its neighbours, composed
// or followed by combining accents),
// runs of spaces, hyphens and apostrophes collapsed to one space, trimmed. "Lefèvre-D'Arc " -> "lefevre d arc".
std::string search_key(std::string_view s);
// The smallest string greater than every string starting with `prefix` (for index range scans);
// empty if none exists.
std::string prefix_upper_bound(std::string_view prefix);
std::string to_lower_ascii(std::string_view s);
// Case mapping for ASCII, Latin-1 and Latin Extended-A letters (what French and its neighbours
// use); other characters pass through. Input must be valid UTF-8.
std::string to_lower(std::string_view s);
std::string to_upper(std::string_view s);
// Appends code point `cp` (at most U+10FFFF, no surrogate) to `out` in UTF-8.
void append_utf8(uint32_t cp, std::string& out);
std::string base64url_encode(std::string_view bytes);
// Empty optional-like result: returns false when `in` is not valid unpadded base64url.
bool base64url_decode(std::string_view in, std::string& out);
std::string hex_encode(std::string_view bytes);
// Lower- or upper-case hex to bytes; false (and `out` unspecified) on an odd length or a non-hex digit.
bool hex_decode(std::string_view in, std::string& out);
// 0..15 for a hex digit, -1 otherwise.
int hex_digit(char c);
// URL decoding: %XX becomes the byte (a '%' not followed by two hex digits is kept as is), and '+'
// becomes a space when `plus_is_space` (query strings, forms), not in paths.
std::string percent_decode(std::string_view s, bool plus_is_space);
// A number as French and other spreadsheets write it, made plain for strtod ("-1234.5"): digits
// grouped by thousands with spaces (no-break ones too), dots, commas or apostrophes ("1 234,50",
// "1.234,50", "1,234.50", "1'234.50"), a decimal comma or dot, a sign, a euro sign or "EUR" at
// either end. A lone comma or dot is the decimal mark, except in an integer, where it groups
// thousands when three digits follow ("1.234"). Groups must have three digits ("06 12 34" is no
// number). nullopt when the text is not such a number.
std::optional<std::string> plain_number(std::string_view v, bool integer);

}  // namespace fidelis::text

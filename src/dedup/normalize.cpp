// Field normalisation done once per record: e-mail keys, dates, phones, postcodes, French street and
// city abbreviations, and the packed PreparedRecord that holds the results.
#include <algorithm>
#include <array>
#include <utility>

#include "core/email.h"
#include "core/text.h"
#include "dedup/dedup.h"
#include "dedup/dedup_internal.h"

namespace fidelis::dedup {

namespace {

// Abbreviations common in French addresses (street types as La Poste abbreviates them, and the
// saints of place names), expanded so "12 av. V. Hugo" and "12 avenue V. Hugo" compare as equal.
constexpr std::pair<std::string_view, std::string_view> kAbbreviations[] = {
    {"all", "allee"},   {"av", "avenue"},  {"ave", "avenue"},  {"bd", "boulevard"}, {"bld", "boulevard"},
    {"bvd", "boulevard"}, {"ch", "chemin"}, {"che", "chemin"}, {"chem", "chemin"},  {"crs", "cours"},
    {"imp", "impasse"}, {"pl", "place"},   {"prom", "promenade"},
    {"r", "rue"},       {"rte", "route"},  {"sq", "square"},   {"st", "saint"},
    {"ste", "sainte"},  {"gal", "general"}, {"mal", "marechal"}, {"fg", "faubourg"}, {"fbg", "faubourg"},
};

// search_key, with "." read as a word break (search_key keeps dots for e-mails) and each word looked
// up in `kAbbreviations`.
std::string expand_words(std::string_view s) {
  std::string key = text::search_key(s);
  std::replace(key.begin(), key.end(), '.', ' ');
  std::string out;
  size_t i = 0;
  while (i < key.size()) {
    while (i < key.size() && key[i] == ' ') ++i;
    size_t j = key.find(' ', i);
    if (j == std::string::npos) j = key.size();
    if (j == i) break;
    std::string_view word(key.data() + i, j - i);
    for (const auto& [abbr, full] : kAbbreviations) {
      if (word == abbr) {
        word = full;
        break;
      }
    }
    if (!out.empty()) out += ' ';
    out += word;
    i = j;
  }
  return out;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

int days_in_month(int year, int month) {
  static constexpr std::array<int, 12> kDays = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return month == 2 && leap ? 29 : kDays[static_cast<size_t>(month - 1)];
}

}  // namespace

namespace internal {

std::string normalize_street(std::string_view s) { return expand_words(s); }
std::string normalize_city(std::string_view s) { return expand_words(s); }

std::string normalize_postcode(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == ' ' || c == '-') continue;
    out += (c >= 'a' && c <= 'z') ? static_cast<char>(c - 32) : c;
  }
  return out;
}

std::string normalize_phone(std::string_view s) {
  // The caller gives E.164 (customers::normalize_phone made it); only stray spaces are forgiven.
  std::string out;
  for (char c : text::trim(s))
    if (c != ' ') out += c;
  if (out.size() < 8 || out.size() > 16 || out[0] != '+') return {};
  if (!std::all_of(out.begin() + 1, out.end(), is_digit)) return {};
  return out;
}

bool is_french_fixed_line(std::string_view e164) {
  // +33 1..5 are geographic numbers, +33 9 non-geographic fixed (boxes): one line per household.
  return e164.size() == 12 && e164.starts_with("+33") && (e164[3] == '9' || (e164[3] >= '1' && e164[3] <= '5'));
}

}  // namespace internal


std::optional<Date> parse_date(std::string_view s) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return std::nullopt;
  for (size_t i : {0, 1, 2, 3, 5, 6, 8, 9})
    if (!is_digit(s[i])) return std::nullopt;
  auto num = [&](size_t from, size_t len) {
    int v = 0;
    for (size_t i = from; i < from + len; ++i) v = v * 10 + (s[i] - '0');
    return v;
  };
  Date d{num(0, 4), num(5, 2), num(8, 2)};
  if (d.year < 1800 || d.year > 2200 || d.month < 1 || d.month > 12) return std::nullopt;
  if (d.day < 1 || d.day > days_in_month(d.year, d.month)) return std::nullopt;
  return d;
}

PreparedRecord::PreparedRecord(const Record& r) {
  const std::array<std::string, kPartCount> parts = {
      text::search_key(r.first_name),         text::search_key(r.last_name),
      mailbox_key(r.email),               internal::normalize_phone(r.phone_e164),
      internal::normalize_postcode(r.postcode), internal::normalize_street(r.street),
      internal::normalize_city(r.city),
  };
  size_t total = 0;
  for (const auto& p : parts) total += p.size();
  text_.reserve(total);
  for (size_t i = 0; i < kPartCount; ++i) {
    text_ += parts[i];
    end_[i] = static_cast<uint32_t>(text_.size());
  }
  birth_ = parse_date(r.birth_date);
}

}  // namespace fidelis::dedup

// Field-by-field comparison of two records into agreement levels (the Fellegi-Sunter γ vector).
#include <array>
#include <string>

#include "dedup/dedup.h"
#include "dedup/dedup_internal.h"

namespace fidelis::dedup {

namespace {

constexpr std::array<int, kFieldCount> kLevelCounts = {4, 4, 3, 3, 3, 3, 3, 3};

constexpr std::array<std::string_view, kFieldCount> kFieldNames = {
    "first_name", "last_name", "email", "phone", "birth_date", "postcode", "street", "city"};

constexpr std::array<std::array<std::string_view, kMaxLevels>, kFieldCount> kLevelNames = {{
    {"different", "similar", "close", "same"},
    {"different", "similar", "close", "same"},
    {"different", "same local part", "same", ""},
    {"different", "same fixed line", "same", ""},
    {"different", "partial", "same", ""},
    {"different", "same departement", "same", ""},
    {"different", "similar", "same", ""},
    {"different", "similar", "same", ""},
}};

int8_t name_level(std::string_view a, std::string_view b, double jw) {
  if (a == b) return 3;
  if (jw >= 0.93) return 2;
  if (jw >= 0.85) return 1;
  return 0;
}

// Whether two local parts name the same mailbox owner: equal once the separators are gone (the
// same person at another provider: "jean.martin@orange.fr", "jeanmartin@free.fr"), or one letter
// typed wrong. Not when only digits differ: "jean.martin" and "jean.martin12" are how namesakes
// get addresses, so plain similarity would reward namesakes.
bool same_mailbox_name(std::string_view a, std::string_view b) {
  auto letters = [](std::string_view s, bool digits) {
    std::string out;
    for (char c : s) {
      bool digit = c >= '0' && c <= '9';
      if (c == '.' || c == '_' || c == '-' || digit != digits) continue;
      out += c;
    }
    return out;
  };
  std::string la = letters(a, false), lb = letters(b, false);
  if (letters(a, true) != letters(b, true)) return false;
  if (la == lb) return !la.empty();
  if (la.size() < 6 || lb.size() < 6) return false;
  internal::CodePoints ca(la), cb(lb);
  return damerau_levenshtein(ca.view(), cb.view()) == 1;
}

}  // namespace

std::string_view field_name(Field f) { return kFieldNames[static_cast<size_t>(f)]; }
int level_count(Field f) { return kLevelCounts[static_cast<size_t>(f)]; }

std::string_view level_name(Field f, int level) {
  if (level == kMissing) return "missing";
  if (level < 0 || level >= level_count(f)) return "";
  return kLevelNames[static_cast<size_t>(f)][static_cast<size_t>(level)];
}

Comparison compare(const PreparedRecord& a, const PreparedRecord& b) {
  using P = PreparedRecord::Part;
  Comparison c;
  c.level.fill(kMissing);
  auto set = [&](Field f, int8_t level, double similarity) {
    c.level[static_cast<size_t>(f)] = level;
    c.similarity[static_cast<size_t>(f)] = static_cast<float>(similarity);
  };

  // Names, straight and crosswise: a form filled in the wrong order is a common duplicate.
  std::string_view fa = a.part(P::kFirst), la = a.part(P::kLast), fb = b.part(P::kFirst), lb = b.part(P::kLast);
  if (!fa.empty() && !fb.empty() && !la.empty() && !lb.empty()) {
    double ff = internal::jaro_winkler_keys(fa, fb), ll = internal::jaro_winkler_keys(la, lb);
    double fl = 0, lf = 0;
    if (ff + ll < 2.0) {  // crosswise can only win when straight is not already perfect
      fl = internal::jaro_winkler_keys(fa, lb);
      lf = internal::jaro_winkler_keys(la, fb);
    }
    if (fl + lf > ff + ll) {
      c.names_swapped = true;
      set(Field::kFirstName, name_level(fa, lb, fl), fl);
      set(Field::kLastName, name_level(la, fb, lf), lf);
    } else {
      set(Field::kFirstName, name_level(fa, fb, ff), ff);
      set(Field::kLastName, name_level(la, lb, ll), ll);
    }
  } else {
    if (!fa.empty() && !fb.empty()) {
      double ff = internal::jaro_winkler_keys(fa, fb);
      set(Field::kFirstName, name_level(fa, fb, ff), ff);
    }
    if (!la.empty() && !lb.empty()) {
      double ll = internal::jaro_winkler_keys(la, lb);
      set(Field::kLastName, name_level(la, lb, ll), ll);
    }
  }

  std::string_view ea = a.part(P::kEmail), eb = b.part(P::kEmail);
  if (!ea.empty() && !eb.empty()) {
    if (ea == eb) {
      set(Field::kEmail, 2, 1.0);
    } else {
      std::string_view xa = ea.substr(0, ea.rfind('@')), xb = eb.substr(0, eb.rfind('@'));
      set(Field::kEmail, same_mailbox_name(xa, xb) ? 1 : 0, internal::jaro_winkler_keys(xa, xb));
    }
  }

  std::string_view pa = a.part(P::kPhone), pb = b.part(P::kPhone);
  if (!pa.empty() && !pb.empty()) {
    if (pa != pb) set(Field::kPhone, 0, 0.0);
    else set(Field::kPhone, internal::is_french_fixed_line(pa) ? 1 : 2, 1.0);
  }

  if (a.birth() && b.birth()) {
    const Date &da = *a.birth(), &db = *b.birth();
    if (da == db) {
      set(Field::kBirthDate, 2, 1.0);
    } else if (da.year == db.year && (da.month == db.month || (da.day == db.month && da.month == db.day))) {
      set(Field::kBirthDate, 1, 0.5);  // a mistyped day, or a date written month first
    } else {
      set(Field::kBirthDate, 0, 0.0);
    }
  }

  std::string_view ca = a.part(P::kPostcode), cb = b.part(P::kPostcode);
  if (!ca.empty() && !cb.empty()) {
    if (ca == cb) set(Field::kPostcode, 2, 1.0);
    else if (ca.size() >= 2 && cb.size() >= 2 && ca.substr(0, 2) == cb.substr(0, 2)) set(Field::kPostcode, 1, 0.5);
    else set(Field::kPostcode, 0, 0.0);
  }

  std::string_view sa = a.part(P::kStreet), sb = b.part(P::kStreet);
  if (!sa.empty() && !sb.empty()) {
    double sim = internal::edit_similarity_keys(sa, sb);
    set(Field::kStreet, sim >= 0.92 ? 2 : sim >= 0.75 ? 1 : 0, sim);
  }

  std::string_view ta = a.part(P::kCity), tb = b.part(P::kCity);
  if (!ta.empty() && !tb.empty()) {
    double jw = internal::jaro_winkler_keys(ta, tb);
    set(Field::kCity, ta == tb ? 2 : jw >= 0.90 ? 1 : 0, jw);
  }

  c.same_address = c.level[static_cast<size_t>(Field::kPostcode)] == 2 && c.level[static_cast<size_t>(Field::kStreet)] >= 1;
  return c;
}

Comparison compare(const Record& a, const Record& b) { return compare(PreparedRecord(a), PreparedRecord(b)); }

}  // namespace fidelis::dedup

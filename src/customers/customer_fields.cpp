// Names of the customer enums, and normalisation of names and phone numbers.

#include <fmt/format.h>
#include <phonenumbers/phonenumberutil.h>
#include <unicode/uloc.h>
#include <unicode/ustring.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <optional>
#include <tuple>
#include <type_traits>
#include <unordered_map>
#include <unordered_set>
#include <variant>

#include "core/text.h"
#include "customers/customers.h"

namespace fidelis::customers {
namespace {
constexpr std::array<std::string_view, 4> kChannels = {"email", "sms", "post", "phone"};
constexpr std::array<std::string_view, 3> kPurposes = {"newsletter", "offers", "service"};
constexpr std::array<std::string_view, 4> kPhoneTypes = {"mobile", "fixed", "other", "unknown"};
constexpr std::array<std::string_view, 6> kFieldTypes = {"text", "integer", "number", "boolean", "date", "choice"};

template <typename E, size_t N>
Result<E> parse_enum(const std::array<std::string_view, N>& names, std::string_view s, std::string_view field,
                     std::string_view what) {
  for (size_t i = 0; i < N; ++i)
    if (names[i] == s) return static_cast<E>(i);
  std::string expected;
  for (size_t i = 0; i < N; ++i) expected += (i ? ", " : "") + std::string(names[i]);
  return Error::invalid_argument(std::string(field),
                                 "unknown " + std::string(what) + " '" + std::string(s) + "'; expected one of " + expected);
}

}  // namespace

std::string_view overseas_region(std::string_view raw) {
  std::string digits;
  for (char c : raw) {
    if (c >= '0' && c <= '9') digits += c;
    else if (c != ' ' && c != '.' && c != '-') return {};
  }
  if (digits.size() != 10 || digits[0] != '0') return {};
  static constexpr std::pair<std::string_view, std::string_view> kPrefixes[] = {
      {"0262", "RE"}, {"0263", "RE"}, {"0692", "RE"}, {"0693", "RE"}, {"0269", "YT"}, {"0639", "YT"},
      {"0590", "GP"}, {"0690", "GP"}, {"0691", "GP"}, {"0594", "GF"}, {"0694", "GF"}, {"0596", "MQ"},
      {"0696", "MQ"}, {"0697", "MQ"}, {"0508", "PM"}};
  for (const auto& [prefix, region] : kPrefixes)
    if (digits.starts_with(prefix)) return region;
  return {};
}

namespace {

// A French number written in full, "+33 6 47 21 93 58" or, when the default region is France,
// "06.12.34.56.78": its nine national digits, read off directly. The library's free-text parser
// (most of the cost of a phone, which an import pays for every row) would find the same number:
// digits and separators only, the country code or the national prefix 0 followed by a digit 1-9,
// nothing that could be an extension or an international prefix. Anything else goes to the parser.
std::optional<uint64_t> french_national_number(std::string_view raw, std::string_view region) {
  std::string digits;
  bool plus = false;
  for (char c : raw) {
    if (c >= '0' && c <= '9') digits += c;
    else if (c == '+' && digits.empty() && !plus) plus = true;
    else if (c != ' ' && c != '.' && c != '-') return std::nullopt;
  }
  std::string_view national;
  if (plus && digits.size() == 11 && digits.starts_with("33")) national = std::string_view(digits).substr(2);
  else if (!plus && region == "FR" && digits.size() == 10 && digits[0] == '0') national = std::string_view(digits).substr(1);
  else return std::nullopt;
  if (national[0] == '0') return std::nullopt;
  uint64_t n = 0;
  for (char c : national) n = n * 10 + static_cast<uint64_t>(c - '0');
  return n;
}

// The number of a phone cell as it is dialled: without a word in brackets after it, which becomes
// its label when it has none ("01 23 45 67 89 (bureau)"), and without an extension ("... poste
// 123", "... ext. 12", "... x12", "... #12"), which stays in the raw text only.
std::string number_to_dial(std::string_view raw, std::string& label, std::string* extension = nullptr) {
  // Most numbers hold no letter, no '#' and nothing past ASCII: nothing to take off (this runs for
  // every phone read and every phone stored).
  if (std::none_of(raw.begin(), raw.end(), [](char c) {
        return c == '#' || std::isalpha(static_cast<unsigned char>(c)) || static_cast<unsigned char>(c) >= 0x80;
      }))
    return std::string(raw);
  std::string_view v = raw;
  if (v.size() > 2 && v.back() == ')') {
    size_t open = v.rfind('(');
    if (open != std::string_view::npos && open > 0) {
      std::string_view inside = text::trim(v.substr(open + 1, v.size() - open - 2));
      bool letters = std::any_of(inside.begin(), inside.end(), [](char c) {
        return std::isalpha(static_cast<unsigned char>(c)) || static_cast<unsigned char>(c) >= 0x80;
      });
      bool digits = std::any_of(inside.begin(), inside.end(), [](char c) { return c >= '0' && c <= '9'; });
      if (letters && !digits) {
        if (label.empty() && inside.size() <= 50) label = std::string(inside);
        v = text::trim(v.substr(0, open));
      }
    }
  }
  const std::string lower = text::to_lower_ascii(v);
  static constexpr std::string_view kExtension[] = {"poste", "extension", "extn", "ext", "p", "x", "#"};
  for (std::string_view k : kExtension) {
    for (size_t at = lower.find(k, 1); at != std::string::npos; at = lower.find(k, at + 1)) {
      char before = lower[at - 1];
      bool word_start = before == ' ' || (k.size() == 1 && before >= '0' && before <= '9');
      size_t i = at + k.size();
      while (i < lower.size() && (lower[i] == '.' || lower[i] == ':' || lower[i] == ' ')) ++i;
      size_t digits = 0;
      while (i + digits < lower.size() && lower[i + digits] >= '0' && lower[i + digits] <= '9') ++digits;
      if (word_start && digits >= 1 && digits <= 6 && i + digits == lower.size()) {
        if (extension) *extension = lower.substr(i, digits);
        return std::string(text::trim(v.substr(0, at)));
      }
    }
  }
  return std::string(v);
}

}  // namespace

std::string phone_extension(std::string_view raw) {
  std::string label, extension;
  number_to_dial(text::trim(raw), label, &extension);
  return extension;
}

std::optional<std::string> email_flag_reason(std::string_view email, MxChecker* mx) {
  if (is_disposable_email(email)) return "disposable address (kept, but it will not last)";
  if (std::optional<std::string> meant = likely_domain_typo(email))
    return fmt::format("its domain looks mistyped: {} was perhaps meant (kept as given; mail to it would bounce)", *meant);
  if (mx != nullptr && mx->check(email) == MailDomain::kNoMail)
    return "its domain cannot receive mail (no MX or address record in DNS)";
  return std::nullopt;
}

std::string_view channel_name(Channel c) { return kChannels[static_cast<size_t>(c)]; }
std::string_view purpose_name(Purpose p) { return kPurposes[static_cast<size_t>(p)]; }
std::string_view phone_type_name(PhoneType t) { return kPhoneTypes[static_cast<size_t>(t)]; }
std::string_view custom_field_type_name(CustomFieldType t) { return kFieldTypes[static_cast<size_t>(t)]; }

Result<Channel> parse_channel(std::string_view s, std::string_view field) {
  return parse_enum<Channel>(kChannels, s, field, "channel");
}
Result<Purpose> parse_purpose(std::string_view s, std::string_view field) {
  return parse_enum<Purpose>(kPurposes, s, field, "purpose");
}
Result<CustomFieldType> parse_custom_field_type(std::string_view s, std::string_view field) {
  return parse_enum<CustomFieldType>(kFieldTypes, s, field, "type");
}

bool is_country_code(std::string_view code) {
  if (code.size() != 2 || !std::all_of(code.begin(), code.end(), [](char c) { return c >= 'A' && c <= 'Z'; }))
    return false;
  static const std::unordered_set<std::string> known = [] {
    std::unordered_set<std::string> out;
    for (const char* const* c = uloc_getISOCountries(); *c; ++c) out.insert(*c);
    return out;
  }();
  return known.contains(std::string(code));
}

std::optional<std::string> country_from_name(std::string_view name) {
  // Every country ICU knows, by its name in the languages files arrive in, plus the usual short
  // forms; keys folded like searches ("Pays-Bas", "pays bas" and "PAYS BAS" are one).
  static const std::unordered_map<std::string, std::string> names = [] {
    std::unordered_map<std::string, std::string> out;
    for (const char* const* c = uloc_getISOCountries(); *c; ++c) {
      std::string locale = std::string("und_") + *c;
      for (const char* lang : {"fr", "en", "de", "es", "it", "nl", "pt"}) {
        UChar buf[128];
        UErrorCode err = U_ZERO_ERROR;
        int32_t n = uloc_getDisplayCountry(locale.c_str(), lang, buf, 128, &err);
        if (U_FAILURE(err) || n <= 0) continue;
        char utf8[512];
        int32_t len = 0;
        err = U_ZERO_ERROR;
        u_strToUTF8(utf8, sizeof utf8, &len, buf, n, &err);
        if (U_FAILURE(err)) continue;
        out.emplace(text::search_key(std::string_view(utf8, static_cast<size_t>(len))), *c);
      }
    }
    for (auto [alias, code] : {std::pair{"france metropolitaine", "FR"}, {"uk", "GB"}, {"angleterre", "GB"},
                               {"england", "GB"}, {"usa", "US"}, {"etats unis d amerique", "US"}, {"hollande", "NL"},
                               {"reunion", "RE"}, {"ile de la reunion", "RE"}, {"ecosse", "GB"}, {"scotland", "GB"},
                               {"pays de galles", "GB"}, {"wales", "GB"}, {"corse", "FR"}, {"corsica", "FR"},
                               {"metropole", "FR"}, {"france continentale", "FR"}, {"monaco principaute", "MC"},
                               {"principaute de monaco", "MC"}, {"suisse romande", "CH"}})
      out.emplace(alias, code);
    // ISO 3166-1 alpha-3 codes ("FRA", "BEL"), as some systems export them.
    for (const char* const* c = uloc_getISOCountries(); *c; ++c) {
      std::string locale = std::string("und_") + *c;
      std::string alpha3 = text::to_lower_ascii(uloc_getISO3Country(locale.c_str()));
      if (alpha3.size() == 3) out.emplace(alpha3, *c);
    }
    return out;
  }();
  std::string key = text::search_key(name);
  if (key.size() == 2) {
    std::string code = text::to_upper(key);
    if (is_country_code(code)) return code;
  }
  auto it = names.find(key);
  return it == names.end() ? std::nullopt : std::optional(it->second);
}

std::string already_used_reason(int64_t owner) { return fmt::format("{}{}", kAlreadyUsedBy, owner); }

std::string custom_value_text(const CustomValue& v) {
  return std::visit(
      [](const auto& x) -> std::string {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::string>) return x;
        else if constexpr (std::is_same_v<T, bool>) return x ? "true" : "false";
        else return fmt::format("{}", x);
      },
      v);
}

bool makes_a_customer(const std::optional<std::string>& first_name, const std::optional<std::string>& last_name,
                      std::span<const EmailAddress> emails, std::span<const Phone> phones) {
  return first_name || last_name || !emails.empty() ||
         std::any_of(phones.begin(), phones.end(), [](const Phone& p) { return p.valid; });
}

bool same_value(const std::optional<std::string>& a, const std::optional<std::string>& b) {
  return a && b && text::search_key(*a) == text::search_key(*b);
}

bool same_place(const Address& a, const Address& b) {
  auto agree = [](const std::optional<std::string>& x, const std::optional<std::string>& y) {
    return !x || !y || same_value(x, y);
  };
  return agree(a.street, b.street) && agree(a.street2, b.street2) && agree(a.postcode, b.postcode) &&
         agree(a.city, b.city) && (!a.country || !b.country || *a.country == *b.country) &&
         (same_value(a.postcode, b.postcode) || same_value(a.city, b.city));
}

namespace {

// How carefully a value is written: its letters with a diacritic (U+00C0 to U+024F, the signs
// U+00D7 and U+00F7 aside: not punctuation such as ’ or –), whether any letter is small (a value
// in capitals has none), and whether its case is one a mechanical case-normalisation would not
// give ("MacDonald", "de La Fontaine": a person's own spelling, where a file in capitals made
// "Macdonald").
std::tuple<int, bool, bool> care_of(std::string_view v) {
  int accents = 0;
  bool lower = false;
  for (size_t i = 0; i < v.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(v[i]);
    if (c >= 'a' && c <= 'z') lower = true;
    if ((c & 0xE0) == 0xC0 && i + 1 < v.size()) {  // a two-byte sequence
      uint32_t cp = ((c & 0x1Fu) << 6) | (static_cast<unsigned char>(v[i + 1]) & 0x3Fu);
      if (cp >= 0xC0 && cp <= 0x24F && cp != 0xD7 && cp != 0xF7) {
        ++accents;
        if (text::to_lower(v.substr(i, 2)) == v.substr(i, 2)) lower = true;
      }
    }
  }
  const bool crafted = lower && std::string(v) != normalize_name(text::to_upper(v));
  return {accents, lower, crafted};
}

}  // namespace

bool better_written(std::string_view b, std::string_view a) { return b != a && care_of(b) > care_of(a); }

bool better_written(const Address& b, const Address& a) {
  // Part by part, those both write: a part one side lacks says nothing of how the other writes.
  int score = 0;
  for (auto part : {&Address::street, &Address::street2, &Address::city})
    if (b.*part && a.*part) score += better_written(*(b.*part), *(a.*part)) - better_written(*(a.*part), *(b.*part));
  return score > 0;
}

Address combine_addresses(const Address& chosen, const Address& other) {
  auto agree = [](const std::optional<std::string>& a, const std::optional<std::string>& b, auto key) {
    return !a || !b || key(*a) == key(*b);
  };
  auto same = [](const std::string& s) { return text::search_key(s); };
  auto digits = [](const std::string& s) {
    std::string d;
    for (char c : s)
      if (c != ' ') d += c;
    return d;
  };
  bool shared = (chosen.postcode && other.postcode) || (chosen.city && other.city);
  if (!shared || !agree(chosen.postcode, other.postcode, digits) || !agree(chosen.city, other.city, same) ||
      !agree(chosen.country, other.country, same) || !agree(chosen.street, other.street, same))
    return chosen;
  Address out = chosen;
  for (auto f : {&Address::street, &Address::street2, &Address::postcode, &Address::city, &Address::country})
    if (!(out.*f)) out.*f = other.*f;
  return out;
}

std::optional<std::string> with_birth_year(const std::optional<std::string>& chosen,
                                           const std::optional<std::string>& other) {
  if (chosen && other && chosen->starts_with("--") && other->size() == 10 && !other->starts_with("--") &&
      other->ends_with(chosen->substr(1)))
    return other;
  return chosen;
}

bool is_placeholder_phone(int country_code, std::string_view n) {
  if (country_code != 33 || n.size() != 9) return false;
  const std::string_view tail = n.substr(1);
  auto steps_by = [&](std::string_view s, int step) {
    for (size_t i = 1; i < s.size(); ++i)
      if (s[i] - s[i - 1] != step) return false;
    return true;
  };
  if (steps_by(tail, 0) || steps_by(tail, 1) || steps_by(tail, -1)) return true;
  bool pairs = n[1] == '0', counted = true;  // 0X 0X 0X 0X 0X; 01 02 03 04 05
  for (size_t i = 2; i < n.size(); ++i) pairs = pairs && n[i] == n[i - 2];
  for (size_t i = 1; i < n.size(); i += 2) counted = counted && n[i] == '0';
  for (size_t i = 2; i < n.size(); i += 2) counted = counted && n[i] == n[i - 2] + 1;
  return pairs || counted;
}

Phone normalize_phone(std::string_view raw, std::string_view label, std::string_view region) {
  using i18n::phonenumbers::PhoneNumber;
  using i18n::phonenumbers::PhoneNumberUtil;
  Phone out;
  out.raw = std::string(text::trim(raw));
  out.label = std::string(label);
  const std::string dialled = number_to_dial(out.raw, out.label);
  const PhoneNumberUtil& util = *PhoneNumberUtil::GetInstance();
  PhoneNumber number;
  if (region == "FR") {
    if (std::string_view overseas = overseas_region(dialled); !overseas.empty()) region = overseas;
  }
  if (std::optional<uint64_t> fr = french_national_number(dialled, region)) {
    number.set_country_code(33);
    number.set_national_number(*fr);
  } else if (util.Parse(dialled, std::string(region), &number) != PhoneNumberUtil::NO_PARSING_ERROR) {
    return out;
  }
  if (is_placeholder_phone(number.country_code(), std::to_string(number.national_number()))) {
    out.placeholder = true;
    return out;
  }
  // A number is valid exactly when its type is known (IsValidNumber is that same test), so one
  // type lookup answers both: matching a number against its region's patterns is the costly part.
  const PhoneNumberUtil::PhoneNumberType type = util.GetNumberType(number);
  if (type == PhoneNumberUtil::UNKNOWN) return out;
  out.valid = true;
  std::string e164;
  util.Format(number, PhoneNumberUtil::E164, &e164);
  out.e164 = e164;
  switch (type) {
    case PhoneNumberUtil::MOBILE: out.type = PhoneType::kMobile; break;
    case PhoneNumberUtil::FIXED_LINE: out.type = PhoneType::kFixed; break;
    case PhoneNumberUtil::FIXED_LINE_OR_MOBILE: out.type = PhoneType::kUnknown; break;
    default: out.type = PhoneType::kOther;
  }
  return out;
}

std::optional<std::string> legal_form(std::string_view word) {
  std::string plain;  // without dots: "S.A.R.L." is "SARL"
  for (char c : word)
    if (c != '.') plain += c;
  const std::string lower = text::to_lower(plain);
  static constexpr std::pair<std::string_view, std::string_view> kForms[] = {
      {"sarl", "SARL"}, {"sas", "SAS"},       {"sasu", "SASU"}, {"eurl", "EURL"}, {"sci", "SCI"},   {"snc", "SNC"},
      {"scop", "SCOP"}, {"selarl", "SELARL"}, {"sca", "SCA"},   {"scs", "SCS"},   {"sprl", "SPRL"}, {"srl", "SRL"},
      {"gmbh", "GmbH"}, {"ltd", "Ltd"},       {"llc", "LLC"},   {"inc", "Inc."},  {"plc", "PLC"}};
  for (const auto& [key, form] : kForms)
    if (lower == key) return std::string(form);
  static constexpr std::string_view kShort[] = {"SA", "BV", "NV", "AG"};
  if (std::find(std::begin(kShort), std::end(kShort), plain) != std::end(kShort)) return plain;
  return std::nullopt;
}

std::string normalize_name(std::string_view in) {
  // A no-break space (a word processor's, between a particle and a name) is a space.
  std::string spaced;
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '\xC2' && i + 1 < in.size() && in[i + 1] == '\xA0') {
      spaced += ' ';
      ++i;
    } else {
      spaced += in[i];
    }
  }
  std::string s(text::trim(spaced));
  std::string collapsed;
  for (char c : s) {
    if (c == ' ' && !collapsed.empty() && collapsed.back() == ' ') continue;
    collapsed += c;
  }
  // Each part (between spaces, hyphens, dashes and apostrophes, straight or curly) written all in
  // capitals or all in small letters is case-normalised; a part in mixed case ("McDonald") is the
  // person's own spelling. Particles after the first part stay small, in names and in towns
  // ("Aix-en-Provence", "La Roche-sur-Yon", "Pointe-à-Pitre"); in a name written in mixed case as
  // a whole, a particle written small stays small wherever it is ("de Gaulle", "van der Berg").
  const bool mixed = collapsed != text::to_lower(collapsed) && collapsed != text::to_upper(collapsed);
  static constexpr std::string_view kParticles[] = {"de",  "du",  "des", "la",  "le",  "les", "d",  "l",
                                                    "van", "von", "der", "et",  "en",  "sur", "sous", "à",
                                                    "au",  "aux", "lès", "lez", "di",  "da",  "den", "ter",
                                                    "del", "della", "dos", "das"};
  static constexpr std::string_view kSeparators[] = {" ", "-", "'", "\u2019", "\u2013", "\u2014"};
  // The next separator at or after `from`: its position and length (npos when none).
  auto next_separator = [&](size_t from) {
    std::pair<size_t, size_t> best{std::string::npos, 0};
    for (std::string_view sep : kSeparators)
      if (size_t at = collapsed.find(sep, from); at < best.first) best = {at, sep.size()};
    return best;
  };
  std::string out;
  size_t i = 0, part_index = 0;
  bool after_particle = false;
  while (i < collapsed.size()) {
    auto [end, sep] = next_separator(i);
    if (end == std::string::npos) end = collapsed.size();
    std::string part = collapsed.substr(i, end - i);
    std::string lower = text::to_lower(part), upper = text::to_upper(part);
    bool is_particle = std::find(std::begin(kParticles), std::end(kParticles), lower) != std::end(kParticles);
    bool particle = is_particle && (part_index > 0 || (mixed && part == lower));
    const bool several = part_index > 0 || end < collapsed.size();
    if (part != lower && part != upper) {
      // mixed case: kept as written
    } else if (std::optional<std::string> form = several && part == upper && !after_particle ? legal_form(part) : std::nullopt;
               form && (form->size() > 2 || (part_index >= 2 && end == collapsed.size()))) {
      // a company's legal form: "SARL Dupont", "Boulangerie Martin SAS", "Müller GmbH" (not "De SA");
      // a two-letter one only ends a name of three parts or more ("Nuno SA" is Sá without its accent)
      if (part.find('.') == std::string::npos) part = *form;
    } else if (particle || lower.empty()) {
      part = lower;
    } else if (part_index > 0 && (lower == "ii" || lower == "iii" || lower == "iv")) {
      part = upper;  // a generation: "Martin III"
    } else {
      auto c = static_cast<unsigned char>(lower[0]);
      size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : 4;
      n = std::min(n, lower.size());
      part = text::to_upper(lower.substr(0, n)) + lower.substr(n);
    }
    out += part;
    if (end < collapsed.size()) out += collapsed.substr(end, sep);
    i = end + sep;
    ++part_index;
    after_particle = is_particle;
  }
  return out;
}

}  // namespace fidelis::customers

// One CSV record -> a validated CustomerInput, keeping every value it had to drop as a flag.

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <map>
#include <tuple>
#include <cstdlib>
#include <utility>

#include "core/email.h"
#include "core/text.h"
#include "imports/imports.h"
#include "imports/imports_internal.h"

namespace fidelis::imports {

using namespace customers;

namespace {

// A whole number a spreadsheet stored as a number and wrote in scientific notation ("6,12345678E+08",
// "1.23457E+12"): its digits when all of them are written (exact), else what is left of it (its
// last digits rounded off). nullopt for anything else.
constexpr std::string_view kRoundedBySpreadsheet =
    "a spreadsheet wrote this number in scientific notation and rounded it: its last digits are lost (format "
    "the column as text before saving the file)";
struct Scientific {
  std::string digits;
  bool exact = false;
};
std::optional<Scientific> spreadsheet_scientific(std::string_view v) {
  v = text::trim(v);
  auto digit = [](char c) { return c >= '0' && c <= '9'; };
  if (v.size() < 4 || !digit(v[0]) || v[0] == '0') return std::nullopt;
  size_t e = v.find_first_of("Ee");
  if (e == std::string_view::npos) return std::nullopt;
  std::string_view mantissa = v.substr(0, e), exponent = v.substr(e + 1);
  if (exponent.empty() || exponent[0] != '+') return std::nullopt;  // spreadsheets write "E+08"; "3E12" is a code
  exponent.remove_prefix(1);
  if (exponent.empty() || exponent.size() > 2 || !std::all_of(exponent.begin(), exponent.end(), digit)) return std::nullopt;
  std::string_view fraction;
  if (mantissa.size() > 1) {
    if (mantissa[1] != ',' && mantissa[1] != '.') return std::nullopt;
    fraction = mantissa.substr(2);
    if (fraction.empty() || !std::all_of(fraction.begin(), fraction.end(), digit)) return std::nullopt;
  }
  const size_t power = static_cast<size_t>(std::stoi(std::string(exponent)));
  if (fraction.size() > power) return std::nullopt;  // not a whole number
  Scientific out;
  out.digits = std::string(1, mantissa[0]) + std::string(fraction) + std::string(power - fraction.size(), '0');
  out.exact = fraction.size() == power;
  return out;
}

// A cell a spreadsheet wrote in scientific notation made plain digits again; false, with `field`
// flagged, when the spreadsheet rounded it (no number left to use).
bool unscientific(std::string& value, std::string_view field, std::vector<Flag>& flags) {
  std::optional<Scientific> sci = spreadsheet_scientific(value);
  if (!sci) return true;
  if (!sci->exact) {
    flags.push_back({std::string(field), value, std::string(kRoundedBySpreadsheet)});
    return false;
  }
  value = sci->digits;
  return true;
}

std::vector<std::string> split_any(std::string_view s, std::string_view seps) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t end = s.find_first_of(seps, start);
    if (end == std::string_view::npos) end = s.size();
    std::string_view part = text::trim(s.substr(start, end - start));
    if (!part.empty()) out.emplace_back(part);
    start = end + 1;
  }
  return out;
}

// A word's search key without the dots that end abbreviations: "Jr." and "JR" are "jr", "Ste." is "ste".
std::string word_key(std::string_view word) {
  std::string key = text::search_key(word);
  while (!key.empty() && key.back() == '.') key.pop_back();
  return key;
}

// A cell made ready to read, as spreadsheets really hold them: the invisible characters copies
// leave (zero-width spaces, the directional marks a messaging app puts around a number, a BOM where
// files were joined) taken out; line breaks (Excel's Alt+Enter, an address block) and tabs kept as
// '\n' between a street's lines, made separators between e-mails, phones or tags, and spaces
// elsewhere; a text custom field keeps its lines. Trimmed.
std::string cell_value(std::string_view raw, Target target) {
  // Most cells hold no control byte and no lead byte of an invisible character or line separator.
  if (std::none_of(raw.begin(), raw.end(), [](char ch) {
        auto c = static_cast<unsigned char>(ch);
        return c < 0x20 || c == 0xC2 || c == 0xCD || c == 0xD8 || c == 0xE1 || c == 0xE2 || c == 0xE3 || c == 0xEF;
      }))
    return std::string(text::trim(raw));
  std::string s = text::without_invisible(raw);
  const bool lines_kept = target == Target::kStreet || target == Target::kStreet2 || target == Target::kCustom;
  const bool lists = target == Target::kEmail || target == Target::kPhone || target == Target::kTags;
  if (target == Target::kCustom) {
    // Its lines kept, each ending in LF: CRLF and CR alone (old Mac) as LF.
    std::string lf;
    for (size_t i = 0; i < s.size(); ++i) {
      if (s[i] == '\r' && i + 1 < s.size() && s[i + 1] == '\n') continue;
      lf += s[i] == '\r' ? '\n' : s[i];
    }
    return std::string(text::trim(lf));
  }
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    auto c = static_cast<unsigned char>(s[i]);
    size_t n = 0;  // the length of a line break or tab here
    bool line = false;
    if (c == '\n' || c == '\r' || c == 0x0B || c == 0x0C) n = 1, line = true;
    else if (c == '\t') n = 1;
    else if (c == 0xC2 && i + 1 < s.size() && static_cast<unsigned char>(s[i + 1]) == 0x85) n = 2, line = true;  // NEL
    else if (c == 0xE2 && s.compare(i + 1, 1, "\x80") == 0 && i + 2 < s.size() &&
             (static_cast<unsigned char>(s[i + 2]) == 0xA8 || static_cast<unsigned char>(s[i + 2]) == 0xA9))
      n = 3, line = true;  // U+2028, U+2029
    if (n == 0) {
      out += s[i++];
      continue;
    }
    i += n;
    out += !line ? ' ' : lines_kept ? '\n' : lists ? ',' : ' ';
  }
  return std::string(text::trim(out));
}

// A line of an address block that is a postcode and its town ("75001 Paris", "F-69002 Lyon",
// "1000 Bruxelles"): four or five digits, then the town; nullopt otherwise.
std::optional<std::pair<std::string, std::string>> postcode_and_town(std::string_view line) {
  size_t at = 0;
  if (line.size() > 2 && line[1] == '-' && line[0] >= 'A' && line[0] <= 'Z') at = 2;  // "F-75001"
  size_t digits = 0;
  while (at + digits < line.size() && line[at + digits] >= '0' && line[at + digits] <= '9') ++digits;
  if (digits < 4 || digits > 5 || at + digits >= line.size() || line[at + digits] != ' ') return std::nullopt;
  std::string_view town = text::trim(line.substr(at + digits));
  if (town.empty() || std::all_of(town.begin(), town.end(), [](char c) { return (c >= '0' && c <= '9') || c == ' '; }))
    return std::nullopt;
  // "1450 chemin des Oliviers": a house number (rural addresses count metres) and its street.
  static constexpr std::string_view kStreetWords[] = {
      "rue",  "chemin", "ch",   "avenue", "av", "bd",  "boulevard", "route", "rte",   "impasse", "imp",   "allee",
      "place", "pl",    "quai", "lieu",   "lotissement", "lot", "residence", "res", "voie", "cours", "square",
      "sentier", "passage", "hameau", "zone", "za", "zi", "zac", "bp", "cs", "faubourg", "fbg", "promenade", "esplanade",
      "street", "st", "road", "rd", "lane", "drive", "way", "strasse", "straat", "calle", "via"};
  const std::string first = word_key(town.substr(0, town.find(' ')));
  if (std::find(std::begin(kStreetWords), std::end(kStreetWords), first) != std::end(kStreetWords)) return std::nullopt;
  return std::pair<std::string, std::string>(line.substr(0, at + digits), town);
}

// Mailchimp's address in one cell, its parts two spaces apart ("12 rue de la Paix  Bât. B  Paris
// 75002  FR", or with a state: "1 Main St  Springfield  IL  62701  US"), as address lines: the
// street lines, "75002 Paris", the country. A cell that is not so (no part of four or five digits
// after the street and a town) is returned as it is: two spaces typed by chance split nothing.
std::string spaced_address_lines(const std::string& cell) {
  if (cell.find('\n') != std::string::npos || cell.find("  ") == std::string::npos) return cell;
  std::vector<std::string> parts;
  for (size_t from = 0; from < cell.size();) {
    size_t gap = cell.find("  ", from);
    std::string_view part = text::trim(std::string_view(cell).substr(from, gap == std::string::npos ? std::string::npos : gap - from));
    if (!part.empty()) parts.emplace_back(part);
    if (gap == std::string::npos) break;
    from = gap + 2;
  }
  auto digits = [](const std::string& p) {
    return (p.size() == 4 || p.size() == 5) && std::all_of(p.begin(), p.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  size_t zip = parts.size();
  for (size_t i = 2; i < parts.size(); ++i)
    if (digits(parts[i])) zip = i;
  if (zip == parts.size() || parts.size() - zip > 2) return cell;
  // The town is the part before the postcode, or before a state (two capitals) there.
  size_t town = zip - 1;
  if (town > 1 && parts[town].size() == 2 && parts[town] == text::to_upper(parts[town])) --town;
  std::string out;
  for (size_t i = 0; i < town; ++i) out += parts[i] + "\n";
  out += parts[zip] + " " + parts[town];
  if (zip + 1 < parts.size()) out += "\n" + parts[zip + 1];
  return out;
}

// The digits of `v`, in order ("F-69006" -> "69006").
std::string digits_of(std::string_view v) {
  std::string d;
  for (char c : v)
    if (c >= '0' && c <= '9') d += c;
  return d;
}

// The lines of a street cell ("12 rue de la Paix\nBâtiment B"), trimmed, empty ones left out.
std::vector<std::string> street_lines(std::string_view cell) { return split_any(cell, "\n"); }

// The " ::: " groups of a cell (Google Contacts' several values of one field), untrimmed; one
// group when there is no separator.
std::vector<std::string_view> google_groups(std::string_view cell) {
  std::vector<std::string_view> out;
  for (size_t from = 0;;) {
    size_t at = cell.find(":::", from);
    out.push_back(cell.substr(from, at == std::string_view::npos ? std::string_view::npos : at - from));
    if (at == std::string_view::npos) return out;
    from = at + 3;
  }
}

// What separates the addresses of an e-mail cell.
bool email_separator(char c) { return c == ',' || c == ';' || c == ' ' || c == '|' || c == '\t' || c == ':'; }

// "jean@orange,fr": a comma typed for the dot before the top-level domain (2 to 6 letters, then
// the end or a separator), made a dot again, in place.
void comma_for_dot(std::string& s) {
  for (size_t comma = s.find(','); comma != std::string::npos; comma = s.find(',', comma + 1)) {
    size_t at = s.rfind('@', comma);
    if (at == std::string::npos || at + 1 == comma) continue;
    std::string_view domain = std::string_view(s).substr(at + 1, comma - at - 1);
    if (std::any_of(domain.begin(), domain.end(), [](char c) { return c == '.' || email_separator(c); })) continue;
    size_t end = comma + 1;
    while (end < s.size() && std::isalpha(static_cast<unsigned char>(s[end]))) ++end;
    if (end - comma - 1 >= 2 && end - comma - 1 <= 6 && (end == s.size() || email_separator(s[end]))) s[comma] = '.';
  }
}

// The addresses in an e-mail cell: several separated by ',', ';', '|' or spaces, in display-name
// form as mail programs export them ("Jean Dupont <jean@x.fr>"), or as mailto: links; a comma typed
// for the dot is one (comma_for_dot).
std::vector<std::string> email_cell_addresses(std::string_view cell) {
  std::vector<std::string> out;
  if (cell.find('<') != std::string_view::npos && cell.find('>') != std::string_view::npos) {
    for (size_t open = cell.find('<'); open != std::string_view::npos; open = cell.find('<', open + 1)) {
      size_t close = cell.find('>', open);
      if (close == std::string_view::npos) break;
      std::string_view inside = text::trim(cell.substr(open + 1, close - open - 1));
      if (inside.find('@') == std::string_view::npos) continue;
      std::string address(inside);
      comma_for_dot(address);
      out.push_back(std::move(address));
    }
    if (!out.empty()) return out;
  }
  // No address at all ("06 11 22 33 44": a phone column mapped to e-mails): one value, flagged once.
  if (cell.find('@') == std::string_view::npos) return {std::string(text::trim(cell))};
  // Several addresses: separated by ",", ";", "|", spaces or " ::: " (Google Contacts); "mailto:"
  // links lose their scheme.
  std::string plain(cell);
  for (size_t at = text::to_lower_ascii(plain).find("mailto:"); at != std::string::npos;
       at = text::to_lower_ascii(plain).find("mailto:"))
    plain.erase(at, 7);
  comma_for_dot(plain);
  // Spaces separate addresses, but not the parts of a value that holds none ("06 47 21 93 58,
  // x@y.fr": a phone number, flagged once, and an address).
  for (std::string& piece : split_any(plain, ",;|\t:")) {
    if (piece.find('@') == std::string::npos) {
      if (!piece.empty()) out.push_back(std::move(piece));
      continue;
    }
    for (std::string& e : split_any(piece, " "))
      if (!e.empty()) out.push_back(std::move(e));
  }
  return out;
}

// A yes/no cell as French and English files write it, or nullopt.
std::optional<bool> yes_no(std::string_view cell) {
  std::string k = text::search_key(cell);
  if (k == "1" || k == "oui" || k == "yes" || k == "true" || k == "vrai" || k == "o" || k == "y") return true;
  if (k == "0" || k == "non" || k == "no" || k == "false" || k == "faux" || k == "n") return false;
  return std::nullopt;
}

// A yes/no cell, or "x" for a ticked box (as checkbox columns are exported): true for a yes.
std::optional<bool> ticked(std::string_view cell) {
  return text::search_key(cell) == "x" ? std::optional(true) : yes_no(cell);
}

// When a consent decision was made, as an opt-out or consent date column writes it: a time with
// its zone ("2023-05-04T10:11:12Z"), else the day at midnight UTC ("2023-05-04 10:11:12",
// "04/05/2023"). nullopt when the cell is no date.
std::optional<Millis> decision_time(std::string_view value, const Column& col, Millis now) {
  if (auto at = parse_iso8601(value, col.header)) return *at;
  auto d = parse_date_flexible(value, col.header, now, col.date_order);
  if (!d) return std::nullopt;
  auto at = parse_iso8601(d->to_string(), col.header);
  return at ? std::optional<Millis>(*at) : std::nullopt;
}

// A reason as a flag gives it: the flag shows the value as the file wrote it, so a reason's own
// ", got 'VALUE'" is left out.
std::string reason_without_value(std::string reason, std::string_view value) {
  const std::string tail = fmt::format(", got '{}'", value);
  if (reason.ends_with(tail)) reason.resize(reason.size() - tail.size());
  return reason;
}

// The fields of BuiltRow::blank: a column for them, no cell of the row giving anything for them,
// and nothing in the row's input (an address block may give a postcode no postcode column does).
std::vector<std::string> blank_fields(std::span<const Column> columns,
                                      const std::array<bool, static_cast<size_t>(Target::kLast) + 1>& given,
                                      const std::vector<std::string>& custom_given, const CustomerInput& in) {
  auto has_column = [&](Target t) { return std::any_of(columns.begin(), columns.end(), [&](const Column& c) { return c.target == t; }); };
  auto gave = [&](Target t) { return given[static_cast<size_t>(t)]; };
  auto blank = [&](Target t) { return has_column(t) && !gave(t); };
  const Address a = in.address.value_or(Address{});
  std::vector<std::string> out;
  if (blank(Target::kCivility) && !in.civility) out.emplace_back("civility");
  // A full name in one cell fills both names: only a row without one blanks them.
  const bool full_name_column = has_column(Target::kFullName), full_name_cell = gave(Target::kFullName);
  if ((has_column(Target::kFirstName) || full_name_column) && !gave(Target::kFirstName) && !full_name_cell && !in.first_name)
    out.emplace_back("first_name");
  if ((has_column(Target::kLastName) || full_name_column) && !gave(Target::kLastName) && !full_name_cell && !in.last_name)
    out.emplace_back("last_name");
  if (blank(Target::kBirthDate) && !in.birth_date) out.emplace_back("birth_date");
  if (blank(Target::kStreet) && !a.street) out.emplace_back("street");
  if (blank(Target::kStreet2) && !a.street2) out.emplace_back("street2");
  if (blank(Target::kPostcode) && !a.postcode) out.emplace_back("postcode");
  if (blank(Target::kCity) && !a.city) out.emplace_back("city");
  if (blank(Target::kCountry) && !a.country) out.emplace_back("country");
  if (blank(Target::kHousehold) && !in.household) out.emplace_back("household");
  if (blank(Target::kAffinities) && !in.affinities) out.emplace_back("affinities");
  if (blank(Target::kTags) && !in.tags) out.emplace_back("tags");
  if (blank(Target::kEmail) && !in.emails) out.emplace_back("emails");
  if (blank(Target::kPhone) && !in.phones) out.emplace_back("phones");
  for (const Column& c : columns)
    if (c.target == Target::kCustom && std::find(custom_given.begin(), custom_given.end(), c.custom_key) == custom_given.end() &&
        (!in.custom_fields || !in.custom_fields->contains(c.custom_key))) {
      std::string f = "custom_fields." + c.custom_key;
      if (std::find(out.begin(), out.end(), f) == out.end()) out.push_back(std::move(f));
    }
  return out;
}

// A date of a column that writes both orders, which could be read either way: read day first, and
// said so in a flag.
std::optional<Flag> ambiguous_date_flag(const Column& col, std::string_view value, std::string_view field, Millis now,
                                        Year year = Year::kRequired) {
  if (!col.mixed_date_order) return std::nullopt;
  auto day = parse_date_flexible(value, field, now, DateOrder::kDayFirst, year);
  auto month = parse_date_flexible(value, field, now, DateOrder::kMonthFirst, year);
  if (!day || !month || *day == *month) return std::nullopt;
  return Flag{std::string(field), std::string(value),
              fmt::format("read as {} (day first); the column also holds dates written month first, by which it "
                          "would be {}",
                          day->to_string(), month->to_string())};
}

Result<CustomValue> custom_value(std::string_view v, const CustomFieldDef& def, Millis now, DateOrder order,
                                 bool day_numbers) {
  std::string field = "custom_fields." + def.key;
  switch (def.type) {
    case CustomFieldType::kInteger: {
      std::optional<std::string> s = text::plain_number(v, /*integer=*/true);
      errno = 0;
      char* end = nullptr;
      long long n = s ? std::strtoll(s->c_str(), &end, 10) : 0;
      if (!s || *end != '\0' || errno == ERANGE)
        return Error::invalid_argument(field, "expected an integer (1234, 1 234)");
      return CustomValue(static_cast<int64_t>(n));
    }
    case CustomFieldType::kNumber: {
      std::optional<std::string> s = text::plain_number(v, /*integer=*/false);
      char* end = nullptr;
      double d = s ? std::strtod(s->c_str(), &end) : 0;
      if (!s || *end != '\0' || !std::isfinite(d))
        return Error::invalid_argument(field, "expected a number (1234,50, 1 234,50 or 1234.50)");
      return CustomValue(d);
    }
    case CustomFieldType::kBoolean: {
      if (std::optional<bool> b = yes_no(v)) return CustomValue(*b);
      return Error::invalid_argument(field, "expected oui/non, yes/no, true/false or 1/0");
    }
    case CustomFieldType::kDate: {
      if (std::optional<Date> serial = day_numbers ? date_from_spreadsheet_serial(v) : std::nullopt)
        return CustomValue(serial->to_string());
      FIDELIS_ASSIGN_OR_RETURN(Date d, parse_date_flexible(v, field, now, order));
      return CustomValue(d.to_string());
    }
    default: return CustomValue(std::string(v));
  }
}

// The original text of the value a validation error names, for the flag.
std::string value_of(const CustomerInput& in, const std::string& field) {
  auto at = [&](const auto& list, std::string_view prefix, auto get) -> std::string {
    size_t i = std::strtoul(field.c_str() + prefix.size(), nullptr, 10);
    return list && i < list->size() ? get((*list)[i]) : "";
  };
  if (field == "birth_date") return in.birth_date.value_or("");
  if (field == "civility") return in.civility.value_or("");
  if (field == "first_name") return in.first_name.value_or("");
  if (field == "last_name") return in.last_name.value_or("");
  if (field == "address.postcode" && in.address) return in.address->postcode.value_or("");
  if (field == "address.country" && in.address) return in.address->country.value_or("");
  const bool label = field.ends_with(".label");
  if (field.starts_with("emails["))
    return at(in.emails, "emails[", [&](const EmailAddress& e) { return label ? e.label : e.email; });
  if (field.starts_with("phones[")) return at(in.phones, "phones[", [&](const Phone& p) { return label ? p.label : p.raw; });
  if (field.starts_with("tags[")) return at(in.tags, "tags[", [](const std::string& t) { return t; });
  if (field.starts_with("external_ids["))
    return at(in.external_ids, "external_ids[", [](const ExternalId& x) { return x.source + ":" + x.id; });
  if (field.starts_with("household["))
    return at(in.household, "household[", household_item);
  if (field.starts_with("affinities["))
    return at(in.affinities, "affinities[", affinity_item);
  if (in.address) {
    if (field == "address.city") return in.address->city.value_or("");
    if (field == "address.street") return in.address->street.value_or("");
    if (field == "address.street2") return in.address->street2.value_or("");
  }
  if (field.starts_with("custom_fields.") && in.custom_fields) {
    auto it = in.custom_fields->find(field.substr(14));
    if (it == in.custom_fields->end() || !it->second) return "";
    return std::visit(
        [](const auto& v) -> std::string {
          using V = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<V, std::string>) return v;
          else if constexpr (std::is_same_v<V, bool>) return v ? "true" : "false";
          else return fmt::format("{}", v);
        },
        *it->second);
  }
  // Past a list's limit: what is dropped, one item after the other.
  auto rest = [](const auto& list, size_t keep, auto get) {
    std::string out;
    for (size_t i = keep; list && i < list->size(); ++i) {
      if (!out.empty()) out += ' ';
      out += get((*list)[i]);
    }
    return out;
  };
  if (field == "emails") return rest(in.emails, 10, [](const EmailAddress& e) { return e.email; });
  if (field == "phones") return rest(in.phones, 10, [](const Phone& p) { return p.raw; });
  if (field == "tags") return rest(in.tags, 100, [](const std::string& t) { return t; });
  return "";
}

std::pair<std::optional<std::string>, std::optional<std::string>> split_first_last(std::string_view v,
                                                                                    bool surname_first = false);

// A generation written after a name ("Jean Dupont Jr.", "John Smith, Jr.", "DUPONT III"): taken
// off `words` and returned, to go with the surname.
std::optional<std::string> take_generation(std::vector<std::string>& words) {
  if (words.size() < 2) return std::nullopt;
  const std::string key = word_key(words.back());
  static constexpr std::string_view kGenerations[] = {"jr", "sr", "junior", "senior", "ii", "iii", "iv"};
  if (std::find(std::begin(kGenerations), std::end(kGenerations), key) == std::end(kGenerations)) return std::nullopt;
  std::string generation = std::move(words.back());
  words.pop_back();
  if (!words.back().empty() && words.back().back() == ',') words.back().pop_back();
  if (words.back().empty()) words.pop_back();
  return generation;
}

struct SplitName {
  std::optional<std::string> civility, first, last;
};

// A civility written before a name ("M.", "Mme", "Dr", "Madame"), as validation reads them.
bool is_civility(std::string_view word) {
  const std::string key = word_key(word);
  static constexpr std::string_view kCivilities[] = {"m",    "mr",   "mme",     "mlle", "melle", "monsieur",
                                                     "madame", "mademoiselle", "dr", "docteur", "pr", "professeur",
                                                     "me",   "maitre", "mrs",   "ms",   "miss"};
  return std::find(std::begin(kCivilities), std::end(kCivilities), key) != std::end(kCivilities);
}

// What shows a full-name cell to be a company's name, not a person's: a legal form ("SARL DUPONT",
// "Boulangerie Martin SAS", "S.A.R.L. Durand"), a first word that names a business ("Société",
// "Sté", "Ets", "Établissements", "Entreprise", "Association"), or "& Fils", "et Cie". nullopt
// for a person's name.
std::optional<std::string> company_marker(std::string_view cell) {
  std::vector<std::string> words = split_any(cell, " \t,");
  for (size_t i = 0; i < words.size(); ++i) {
    std::optional<std::string> form = customers::legal_form(words[i]);
    if (!form) continue;
    // A two-letter form ends a name of three words or more, written without dots: "Martin Frères
    // SA". "NUNO SA" (Sá without its accent), "Maria DE SA", "DUPONT A.G." (initials) are persons.
    static constexpr std::string_view kBefore[] = {"de", "da", "do", "dos", "das", "e", "del", "di"};
    if (form->size() == 2 &&
        (i + 1 != words.size() || i < 2 || words[i].find('.') != std::string::npos ||
         std::find(std::begin(kBefore), std::end(kBefore), text::search_key(words[i - 1])) != std::end(kBefore)))
      continue;
    return form;
  }
  if (words.size() < 2) return std::nullopt;
  static constexpr std::string_view kBusinesses[] = {"societe", "ste", "ets", "etablissements", "entreprise",
                                                     "association"};
  const std::string first = word_key(words[0]);
  if (std::find(std::begin(kBusinesses), std::end(kBusinesses), first) != std::end(kBusinesses)) return words[0];
  for (size_t i = 1; i + 1 < words.size(); ++i) {
    const std::string next = word_key(words[i + 1]);
    if ((words[i] == "&" || text::search_key(words[i]) == "et") && (next == "fils" || next == "cie" || next == "co"))
      return words[i] + " " + words[i + 1];
  }
  return std::nullopt;
}

// The first and last name in one cell ("DUPONT Jean", "Jean Dupont", "Dupont, Jean", "Jean de la
// Fontaine", "M. Jean Dupont", "Marie Dupont épouse Martin"). A civility in front, or in brackets
// at the end, is the civility. "épouse X" (ép.) gives the name in use, X; what follows "née" or
// "dit" is set aside (a birth name, a nickname). Then a part in capitals (of two letters or more)
// is the surname, as French lists write it; else what follows a comma is the first name; else the
// last word is the surname, with the particles before it; or, when the column's header gives the
// surname first (`surname_first`: "Nom Prénom"), the first word with the particles before it.
SplitName split_full_name(std::string_view cell, bool surname_first) {
  SplitName out;
  std::string_view v = text::trim(cell);
  // "(M.)" at the end.
  if (v.size() > 2 && v.back() == ')') {
    size_t open = v.rfind('(');
    if (open != std::string_view::npos && is_civility(v.substr(open + 1, v.size() - open - 2))) {
      out.civility = std::string(text::trim(v.substr(open + 1, v.size() - open - 2)));
      v = text::trim(v.substr(0, open));
    }
  }
  // Anything else in brackets at the end ("Jean Dupont (Johnny)") is a nickname or a note: set aside.
  if (v.size() > 2 && v.back() == ')') {
    size_t open = v.rfind('(');
    if (open != std::string_view::npos && open > 0) v = text::trim(v.substr(0, open));
  }
  std::vector<std::string> all = split_any(v, " \t");
  if (!all.empty() && is_civility(all.front()) && !out.civility) {
    out.civility = all.front();
    all.erase(all.begin());
    // A couple ("M. et Mme Dupont"): the first civility, and the family name.
    auto joins = [](const std::string& w) { return w == "&" || text::search_key(w) == "et" || text::search_key(w) == "and"; };
    if (all.size() > 2 && joins(all[0]) && is_civility(all[1])) all.erase(all.begin(), all.begin() + 2);
  }
  // "Famille Leroy", "Fam. de Lattre": a household, known by its family name alone.
  if (all.size() >= 2 && (word_key(all[0]) == "famille" || word_key(all[0]) == "fam")) {
    std::string family;
    for (size_t i = 1; i < all.size(); ++i) family += (i > 1 ? " " : "") + all[i];
    out.last = family;
    return out;
  }
  // "Jean et Marie Dupont": the first of the two first names.
  if (all.size() >= 4 && (all[1] == "&" || text::search_key(all[1]) == "et")) all.erase(all.begin() + 1, all.begin() + 3);
  auto in_capitals = [](const std::string& w) { return w == text::to_upper(w) && w != text::to_lower(w); };
  // "épouse Martin" is the name in use; "née Dupont", "dit Molière" are set aside.
  std::optional<std::string> married;
  for (size_t i = 0; i + 1 < all.size(); ++i) {
    const std::string key = word_key(all[i]);
    if (key == "epouse" || key == "ep" || key == "veuve" || key == "vve") {
      std::string rest;
      for (size_t j = i + 1; j < all.size(); ++j) {
        if (j > i + 1) rest += ' ';
        rest += all[j];
      }
      married = rest;
      all.resize(i);
      // "Marie Martin, épouse Dupont": the comma went with the clause.
      if (!all.empty() && all.back().ends_with(',')) all.back().pop_back();
      break;
    }
    if (key == "nee" || key == "ne" || key == "dit" || key == "dite") {
      // The name that follows: a run in capitals ("née DE LA TOUR"), else one word.
      size_t end = i + 2;
      if (in_capitals(all[i + 1]))
        while (end < all.size() && in_capitals(all[end])) ++end;
      all.erase(all.begin() + static_cast<long>(i), all.begin() + static_cast<long>(end));
      // "Marie Dupont, née Martin": the comma went with the clause.
      if (i > 0 && all[i - 1].ends_with(',')) all[i - 1].pop_back();
      break;
    }
  }
  if (all.empty()) {
    out.last = married;
    return out;
  }
  // "Marie épouse Martin": the one word left is the first name.
  if (married && all.size() == 1) {
    out.first = all[0];
    out.last = married;
    return out;
  }
  std::optional<std::string> generation = take_generation(all);
  std::string joined;
  for (size_t i = 0; i < all.size(); ++i) {
    if (i > 0) joined += ' ';
    joined += all[i];
  }
  v = joined;
  if (size_t comma = v.find(','); comma != std::string_view::npos) {
    std::string_view last = text::trim(v.substr(0, comma)), first = text::trim(v.substr(comma + 1));
    if (!first.empty()) out.first = std::string(first);
    if (!last.empty()) out.last = std::string(last);
  } else if (all.size() == 1 && generation) {
    out.last = all[0];  // "DUPONT III"
  } else {
    auto [first, last] = split_first_last(v, surname_first);
    out.first = std::move(first);
    out.last = std::move(last);
  }
  if (married) out.last = married;
  if (generation) out.last = out.last ? *out.last + " " + *generation : *generation;
  return out;
}

// The first and last names of a cell of names alone (see split_full_name).
std::pair<std::optional<std::string>, std::optional<std::string>> split_first_last(std::string_view v, bool surname_first) {
  using Names = std::pair<std::optional<std::string>, std::optional<std::string>>;
  if (size_t comma = v.find(','); comma != std::string_view::npos) {
    std::string_view last = text::trim(v.substr(0, comma)), first = text::trim(v.substr(comma + 1));
    return {first.empty() ? std::nullopt : std::optional<std::string>(first),
            last.empty() ? std::nullopt : std::optional<std::string>(last)};
  }
  std::vector<std::string> words = split_any(v, " \t");
  if (words.empty()) return {};
  if (words.size() == 1) return Names{std::nullopt, words[0]};
  auto capitals = [](const std::string& w) {
    size_t letters = std::count_if(w.begin(), w.end(), [](char c) { return (c >= 'A' && c <= 'Z') || static_cast<unsigned char>(c) >= 0x80; });
    return letters >= 2 && w == text::to_upper(w) && w != text::to_lower(w);
  };
  auto join = [&](size_t from, size_t to) {
    std::string out;
    for (size_t i = from; i < to; ++i) {
      if (i > from) out += ' ';
      out += words[i];
    }
    return out;
  };
  // Particles: French, Dutch, German, Italian, Spanish and Portuguese ones, and the Arabic and
  // Berber ones that begin a family name ("Ahmed Ben Ali", "Karim El Amrani": only right before
  // its last word, so "Jan Ben de Vries" keeps his middle name).
  static constexpr std::string_view kParticles[] = {"de",  "du",  "des", "la",  "le",  "d'",  "van", "von", "der",
                                                    "den", "ter", "di",  "da",  "del", "della", "dos", "das"};
  static constexpr std::string_view kArabicParticles[] = {"ben", "bin", "ibn", "el", "al", "ait", "aït", "ould"};
  auto particle = [&](const std::string& w) {
    const std::string lower = text::to_lower(w);
    return std::find(std::begin(kParticles), std::end(kParticles), lower) != std::end(kParticles);
  };
  auto arabic_particle = [&](const std::string& w) {
    const std::string lower = text::to_lower(w);
    return std::find(std::begin(kArabicParticles), std::end(kArabicParticles), lower) != std::end(kArabicParticles);
  };
  size_t caps = static_cast<size_t>(std::count_if(words.begin(), words.end(), capitals));
  if (caps > 0 && caps < words.size()) {
    // The capitals are one run, at the start ("DUPONT Jean") or at the end ("Jean DUPONT").
    if (capitals(words.front())) {
      size_t n = 0;
      while (n < words.size() && capitals(words[n])) ++n;
      if (n == caps) return Names{join(n, words.size()), join(0, n)};
    } else if (capitals(words.back())) {
      size_t n = words.size();
      while (n > 0 && capitals(words[n - 1])) --n;
      if (words.size() - n == caps) {
        // "Jean de LA FONTAINE", "Ahmed ben ALI": the particles written small before it too.
        while (n > 1 && (particle(words[n - 1]) || arabic_particle(words[n - 1]))) --n;
        return Names{join(0, n), join(n, words.size())};
      }
    }
  }
  // Surname first, as the header says ("Dupont Jean", "de la Fontaine Jean", "Le Goff Marie", "Ben Ali
  // Ahmed"): the particles in front and the word after them; the rest is the first name.
  if (surname_first) {
    size_t end = 0;
    while (end + 1 < words.size() && (particle(words[end]) || arabic_particle(words[end]))) ++end;
    if (end + 1 < words.size()) return Names{join(end + 1, words.size()), join(0, end + 1)};
  }
  // A particle written small after the first word begins the surname ("Guillaume de Saint Jacques",
  // "João da Silva Santos").
  for (size_t i = 1; i + 1 < words.size(); ++i)
    if (particle(words[i]) && words[i] == text::to_lower(words[i])) return Names{join(0, i), join(i, words.size())};
  size_t start = words.size() - 1;
  while (start > 1 && arabic_particle(words[start - 1])) --start;  // "Yasmina Aït Ben Salah"
  while (start > 1 && particle(words[start - 1])) --start;
  return Names{join(0, start), join(start, words.size())};
}

// `full` without the words of `part` (compared whatever their case and accents), spaces collapsed.
std::string remove_words(std::string_view full, std::string_view part) {
  std::vector<std::string> drop = split_any(part, " ");
  std::string out;
  for (const std::string& w : split_any(full, " ")) {
    auto it = std::find_if(drop.begin(), drop.end(), [&](const std::string& d) { return text::search_key(d) == text::search_key(w); });
    if (it != drop.end()) {
      drop.erase(it);
      continue;
    }
    if (!out.empty()) out += ' ';
    out += w;
  }
  return out;
}

std::string flag_field(const std::string& field) {
  // "emails[1].email" -> "email", "address.postcode" -> "postcode", "custom_fields.note" -> "note":
  // the profile field a person knows.
  if (field.starts_with("emails[")) return field.ends_with(".label") ? "email.label" : "email";
  if (field.starts_with("phones[")) return field.ends_with(".label") ? "phone.label" : "phone";
  if (field.starts_with("tags[")) return "tags";
  if (field.starts_with("external_ids[")) return "external_id";
  if (field.starts_with("household[")) return "household";
  if (field.starts_with("affinities[")) return "affinities";
  if (field.starts_with("address.")) return field.substr(8);
  if (field.starts_with("custom_fields.")) return field.substr(14);  // as a number cell's flag names it
  return field;
}

Result<BuiltRow> build_row_unguarded(const CsvRecord& record, std::span<const Column> columns, const RowOptions& options,
                                     const std::vector<CustomFieldDef>& custom_fields);

}  // namespace

Result<BuiltRow> build_row(const CsvRecord& record, std::span<const Column> columns, const RowOptions& options,
                           const std::vector<CustomFieldDef>& custom_fields) {
  // A cell no rule foresaw costs its row, rejected with the reason, never the import.
  try {
    return build_row_unguarded(record, columns, options, custom_fields);
  } catch (const std::exception& e) {
    return Error::invalid_argument("line", fmt::format("could not be read ({})", e.what()));
  }
}

namespace {

Result<BuiltRow> build_row_unguarded(const CsvRecord& record, std::span<const Column> columns, const RowOptions& options,
                                     const std::vector<CustomFieldDef>& custom_fields) {
  if (record.malformed)
    return Error::invalid_argument(
        record.malformed_column < columns.size() ? columns[record.malformed_column].header : std::string("line"),
        *record.malformed);
  if (record.fields.size() > columns.size()) {
    bool extra_empty = std::all_of(record.fields.begin() + static_cast<long>(columns.size()), record.fields.end(),
                                   [](const std::string& f) { return text::trim(f).empty(); });
    if (!extra_empty)
      return Error::invalid_argument("line", fmt::format("{} fields for {} columns", record.fields.size(), columns.size()));
  }
  BuiltRow out;
  CustomerInput& in = out.input;
  std::optional<std::string> unchecked_postcode, full_name;
  bool full_surname_first = false;  // the full-name column's header gives the surname first
  std::optional<bool> is_company;  // what an "is_company" column says of the row
  std::string birth_date_text;  // as the file writes it, for a flag
  std::vector<ExternalId> other_ids;
  std::string email_column, name_column;
  // A single-valued field is filled by its lowest-rank column not empty in the row (Column::rank).
  constexpr int kUnfilled = 1 << 30;
  std::array<int, static_cast<size_t>(Target::kLast) + 1> filled;
  filled.fill(kUnfilled);
  auto takes = [&](Target t, int rank) {
    int& at = filled[static_cast<size_t>(t)];
    if (at <= rank) return false;
    at = rank;
    return true;
  };
  // The address: its parts per whose-address rank (Column::rank / 2: "Country Code" and "Country"
  // are parts of one address), the plainest holding any part winning whole.
  struct AddressParts {
    Address address;
    bool country_given = false;
    int country_rank = 0;
    // The street cell, of the lowest-rank street column.
    std::optional<std::string> street_cell;
    int street_rank = 0;
    // What a street cell holding a whole address block gave past its street lines ("75001 Paris",
    // "France"), for the parts no column gives, and its town line as written.
    std::optional<std::string> block_postcode, block_city, block_country, block_town_line;
  };
  std::map<int, AddressParts> addresses;
  struct NameParts {
    std::optional<std::string> first, last;
    std::string column;
  };
  std::map<int, NameParts> names;
  // Consent dates: the consents the column names ("email:newsletter", or "email" for its newsletter
  // and offers), the date, the column's rank (the lowest rank not empty wins). And the consents an
  // opt-out column withdrew, which its own date dates or nothing does.
  struct ConsentDate {
    std::string key;
    Millis at;
    int rank;
  };
  std::vector<ConsentDate> consent_dates;
  // E-mails and phones with the rank of their column and their label: the main ones first.
  struct Contact {
    int label_rank = 0;  // Google's primary ("* Mobile") first, then mobiles, then the rest
    int rank = 0;        // the column's
    std::string value, label;
  };
  std::vector<Contact> emails, phones;
  int email_rank = 1 << 20;
  // The labels of a column's values (Target::kLabel), one per value when the cell holds several
  // (" ::: "), else one for all.
  std::map<std::string, std::vector<std::string>> labels;
  for (size_t i = 0; i < columns.size() && i < record.fields.size(); ++i)
    if (columns[i].target == Target::kLabel && !text::trim(record.fields[i]).empty() &&
        !labels.contains(columns[i].custom_key)) {  // "- Type" and "- Label" both: the first
      std::vector<std::string>& l = labels[columns[i].custom_key];
      const std::string cell = cell_value(record.fields[i], Target::kLabel);
      for (std::string_view group : google_groups(cell)) l.emplace_back(text::trim(group));
    }
  // A cell's values: its " ::: " groups (Google's), each split by `split`; a group's label goes to
  // its value when the group holds one (a label for "01 45.. / 06 11.." could be either's).
  auto labelled = [&](const Column& col, std::string_view cell, auto split, std::vector<Contact>& into) {
    auto it = labels.find(col.header);
    const std::vector<std::string_view> groups = google_groups(cell);
    for (size_t g = 0; g < groups.size(); ++g) {
      std::vector<std::string> values = split(groups[g]);
      std::string label;
      if (it != labels.end() && values.size() == 1 && it->second.size() == groups.size()) label = it->second[g];
      int label_rank = 0;
      if (label.starts_with('*')) {  // Google's primary: "* Work"
        label = std::string(text::trim(std::string_view(label).substr(1)));
        label_rank = -2;
      }
      const std::string key = label.empty() ? std::string() : text::search_key(label);
      if (key.find("fax") != std::string::npos) continue;  // "Work Fax": no phone to call or text
      if (label_rank == 0 && col.target == Target::kPhone &&
          (key == "mobile" || key == "cell" || key == "portable" || key == "mobile phone" || key == "cellulaire"))
        label_rank = -1;
      for (std::string& v : values) into.push_back(Contact{label_rank, col.rank, std::move(v), label});
    }
  };
  // Which targets (and custom fields) the row's cells gave anything for: the rest are blank.
  std::array<bool, static_cast<size_t>(Target::kLast) + 1> given{};
  std::vector<std::string> custom_given;
  for (size_t i = 0; i < columns.size() && i < record.fields.size(); ++i) {
    const Column& col = columns[i];
    if (col.target == Target::kIgnore) continue;
    std::string value = cell_value(record.fields[i], col.target);
    if (value.empty()) continue;
    given[static_cast<size_t>(col.target)] = true;  // a cell with anything in it empties nothing
    if (col.target == Target::kCustom) custom_given.push_back(col.custom_key);
    // The apostrophe a spreadsheet export puts before "=", "+", "-" or "@", or before digits to
    // keep a postcode's leading zero or a long id as text ("'07100").
    if (value.size() > 1 && value[0] == '\'' &&
        (std::string_view("=+-@").find(value[1]) != std::string_view::npos || (value[1] >= '0' && value[1] <= '9')))
      value.erase(0, 1);
    // Google's several addresses of one kind in one cell ("12 rue A ::: 5 rue B"): the first.
    if (col.target == Target::kStreet || col.target == Target::kStreet2 || col.target == Target::kPostcode ||
        col.target == Target::kCity || col.target == Target::kCountry) {
      if (size_t more = value.find(":::"); more != std::string::npos) value = std::string(text::trim(value.substr(0, more)));
      if (value.empty()) continue;
    }
    switch (col.target) {
      case Target::kCivility:
        if (takes(col.target, col.rank)) in.civility = value;
        break;
      case Target::kFirstName:
      case Target::kLastName: {
        // Names, like addresses, come whole from one kind of column: never the first name of the
        // account with the last name of the billing.
        NameParts& n = names[col.rank / 2];
        std::optional<std::string>& part = col.target == Target::kFirstName ? n.first : n.last;
        if (!part) part = value;
        if (n.column.empty()) n.column = col.header;
        break;
      }
      case Target::kFullName:
        if (takes(col.target, col.rank)) {
          full_name = value;
          full_surname_first = col.surname_first;
          if (name_column.empty()) name_column = col.header;
        }
        break;
      case Target::kDeletedAt:
        return Error::invalid_argument(col.header, fmt::format("the customer was deleted ({} {}) where the file comes "
                                                               "from: deleted customers are not imported",
                                                               col.header, value));
      case Target::kEmail:
        if (col.rank < email_rank) email_rank = col.rank, email_column = col.header;
        labelled(col, value, [](std::string_view g) { return email_cell_addresses(g); }, emails);
        break;
      case Target::kPhone:
        // A number the spreadsheet kept as a number: its digits ("6,47219358E+08" is 647219358, a
        // mobile without its 0), or, rounded, no number to call: flagged, not stored.
        if (!unscientific(value, "phone", out.flags)) break;
        // Several numbers in a cell: separated by ",", ";", "/", "|", or " ::: " (Google Contacts).
        labelled(col, value, [](std::string_view g) { return split_any(g, ",;/|:"); }, phones);
        break;
      case Target::kBirthDate: {
        if (filled[static_cast<size_t>(col.target)] <= col.rank) break;
        // "00/00/00", "0000-00-00": how Outlook and some databases write no date.
        if (std::all_of(value.begin(), value.end(), [](char c) { return c == '0' || c == '/' || c == '-' || c == '.' || c == ' '; }))
          break;
        // A day and month alone ("12/05", "12 mai": loyalty cards ask no year) is a birthday.
        // A date column saved as numbers ("30987") holds the spreadsheet's day numbers.
        std::optional<Date> serial = col.day_numbers ? date_from_spreadsheet_serial(value) : std::nullopt;
        auto d = serial ? Result<Date>(*serial)
                        : parse_date_flexible(value, "birth_date", options.now, col.date_order, Year::kOptional);
        if (d) {
          filled[static_cast<size_t>(col.target)] = col.rank;
          in.birth_date = d->to_string();
          birth_date_text = value;
          if (auto f = ambiguous_date_flag(col, value, "birth_date", options.now, Year::kOptional))
            out.flags.push_back(std::move(*f));
        } else {
          out.flags.push_back({"birth_date", value, reason_without_value(d.error().message, value)});
        }
        break;
      }
      case Target::kStreet: {
        // The plainest street column of the address (Outlook's "Home Street" before its "Home
        // Address" block), read once all columns are (below, with the address blocks).
        AddressParts& parts = addresses[col.rank / 2];
        if (!parts.street_cell || col.rank < parts.street_rank) {
          parts.street_cell = value;
          parts.street_rank = col.rank;
        }
        break;
      }
      case Target::kStreet2: {
        std::optional<std::string>& line = addresses[col.rank / 2].address.street2;
        for (const std::string& part : street_lines(value))  // "Apt 3, Lieu-dit X": the street's next lines
          line = line ? *line + ", " + part : part;
        break;
      }
      case Target::kPostcode: addresses[col.rank / 2].address.postcode = value; break;
      case Target::kCity: addresses[col.rank / 2].address.city = value; break;
      case Target::kCountry: {
        AddressParts& parts = addresses[col.rank / 2];
        // "Country Code" and "Country" of one address: the code (the lower rank) first, the name
        // when the code is empty or unknown.
        if (parts.country_given && (parts.address.country || parts.country_rank <= col.rank)) break;
        parts.country_rank = col.rank;
        if (auto cc = customers::country_from_name(value)) parts.address.country = *cc;
        else out.flags.push_back({"country", value, "not a country this import recognises"});
        parts.country_given = true;
        break;
      }
      case Target::kExternalId:
        // An id the spreadsheet rounded would name another record of the source: the row is matched
        // without it.
        if (!unscientific(value, "external_id", out.flags)) break;
        if (takes(col.target, col.rank)) out.external_id = value;
        break;
      case Target::kExternalIds:
        // "source:id|source:id": ids in named sources (the export's column).
        for (const std::string& item : split_any(value, "|")) {
          size_t colon = item.find(':');
          std::string src = colon == std::string::npos ? std::string() : text::to_lower(text::trim(item.substr(0, colon)));
          std::string id = colon == std::string::npos ? std::string() : std::string(text::trim(item.substr(colon + 1)));
          if (src.empty() || id.empty()) {
            out.flags.push_back({"external_id", item, "expected source:id"});
            continue;
          }
          other_ids.push_back({src, id});
        }
        break;
      case Target::kCustomerId: {
        char* end = nullptr;
        long long id = std::strtoll(value.c_str(), &end, 10);
        if (*end != '\0' || id < 1)
          return Error::invalid_argument(col.header, fmt::format("'{}' is not a customer id (a positive whole number)", value));
        out.customer_id = id;
        break;
      }
      case Target::kTags:
        if (!in.tags) in.tags.emplace();
        for (auto& t : split_any(value, ",;|")) in.tags->push_back(t);
        break;
      case Target::kHousehold:
        // "enfant:Léa:2015-04-02|conjoint:Marc": relation, then first name and birth date if known.
        for (const std::string& item : split_any(value, "|")) {
          std::vector<std::string> parts;
          for (size_t from = 0;;) {
            size_t colon = item.find(':', from);
            parts.emplace_back(text::trim(std::string_view(item).substr(from, colon == std::string::npos ? colon : colon - from)));
            if (colon == std::string::npos) break;
            from = colon + 1;
          }
          if (parts.size() > 3 || parts[0].empty()) {
            out.flags.push_back({"household", item, "expected relation:first name:birth date, e.g. enfant:Léa:2015-04-02"});
            continue;
          }
          HouseholdMember m{parts[0], std::nullopt, std::nullopt};
          if (parts.size() > 1 && !parts[1].empty()) m.first_name = parts[1];
          if (parts.size() > 2 && !parts[2].empty()) {
            if (auto d = parse_date_flexible(parts[2], "household", options.now, DateOrder::kDayFirst, Year::kOptional)) {
              m.birth_date = d->to_string();
            } else {
              out.flags.push_back({"household", item, fmt::format("the birth date: {}; the member is kept without it",
                                                                  reason_without_value(d.error().message, parts[2]))});
            }
          }
          if (!in.household) in.household.emplace();
          in.household->push_back(std::move(m));
        }
        break;
      case Target::kAffinities:
        // "jardin:80|cuisine:50" as exports write them ('|' between items, so "fruits, légumes:70" is
        // one), or categories alone ("jardin, cuisine", "jardin|cuisine"), each then of strength 50.
        for (const std::string& item :
             split_any(value, value.find('|') != std::string::npos || value.find(':') != std::string::npos ? "|" : "|,;")) {
          size_t colon = item.rfind(':');
          Affinity a{std::string(text::trim(std::string_view(item).substr(0, colon))), 50};
          if (colon != std::string::npos) {
            const std::string strength(text::trim(std::string_view(item).substr(colon + 1)));
            char* end = nullptr;
            errno = 0;
            long n = std::strtol(strength.c_str(), &end, 10);
            if (strength.empty() || *end != '\0' || errno == ERANGE || n < 0 || n > 100) {
              out.flags.push_back({"affinities", item, "expected category:strength, the strength from 0 to 100"});
              continue;
            }
            a.strength = static_cast<int>(n);
          }
          if (a.category.empty()) {
            out.flags.push_back({"affinities", item, "expected category:strength, the strength from 0 to 100"});
            continue;
          }
          if (!in.affinities) in.affinities.emplace();
          // One category twice: the first says it.
          if (std::none_of(in.affinities->begin(), in.affinities->end(),
                           [&](const Affinity& x) { return text::to_lower(x.category) == text::to_lower(a.category); }))
            in.affinities->push_back(std::move(a));
        }
        break;
      case Target::kCustom: {
        auto def = std::find_if(custom_fields.begin(), custom_fields.end(),
                                [&](const CustomFieldDef& d) { return d.key == col.custom_key; });
        if (def == custom_fields.end()) break;
        auto v = custom_value(value, *def, options.now, col.date_order, col.day_numbers);
        if (!v) {
          out.flags.push_back({def->key, value, reason_without_value(v.error().message, value)});
          break;
        }
        if (def->type == CustomFieldType::kDate)
          if (auto f = ambiguous_date_flag(col, value, def->key, options.now)) out.flags.push_back(std::move(*f));
        if (!in.custom_fields) in.custom_fields.emplace();
        (*in.custom_fields)[def->key] = *v;
        break;
      }
      case Target::kConsent: {
        // A yes/no column ("x" for yes, as ticked boxes are exported): the source's consent.
        std::optional<bool> granted = ticked(value);
        if (!granted) {
          out.flags.push_back({"consent:" + col.custom_key, value, "expected oui/non, yes/no, true/false, 1/0 or x"});
          break;
        }
        auto spec = read_consent_spec(col.custom_key, col.header, false);
        if (!spec) break;  // map_columns checked it
        if (!in.consents) in.consents.emplace();
        auto same = [&](const Consent& k) { return k.channel == spec->channel && k.purpose == *spec->purpose; };
        if (std::none_of(in.consents->begin(), in.consents->end(), same))
          in.consents->push_back({spec->channel, *spec->purpose, *granted, options.source, options.now});
        break;
      }
      case Target::kIsCompany: {
        if (!takes(col.target, col.rank)) break;  // "is_company" before "company_type"
        // Odoo writes True/False, or "company"/"person" for its company type.
        const std::string key = text::search_key(value);
        if (key == "company" || key == "societe" || key == "entreprise") is_company = true;
        else if (key == "person" || key == "individual" || key == "particulier" || key == "personne") is_company = false;
        else if (std::optional<bool> b = yes_no(value)) is_company = b;
        else out.flags.push_back({"is_company", value, "expected oui/non, yes/no, true/false, 1/0, company or person"});
        break;
      }
      case Target::kOptOut: {
        // A yes, a ticked box or the date the person left: the channel's marketing consents (or the
        // one named) withdrawn, whatever another column of the row says; a no says nothing.
        std::optional<bool> out_of = ticked(value);
        std::optional<Millis> dated;
        if (!out_of && (dated = decision_time(value, col, options.now))) out_of = true;
        if (dated && *dated > options.now) {
          out.flags.push_back({"opt_out:" + col.custom_key, value, "a date in the future: the withdrawal is recorded without it"});
          dated.reset();
        }
        if (!out_of) {
          out.flags.push_back({"opt_out:" + col.custom_key, value, "expected oui/non, yes/no, true/false, 1/0, x or a date"});
          break;
        }
        if (!*out_of) break;
        auto spec = read_consent_spec(col.custom_key, col.header, true);
        if (!spec) break;  // map_columns checked it
        std::vector<Purpose> purposes = {Purpose::kNewsletter, Purpose::kOffers};
        if (spec->purpose) purposes = {*spec->purpose};
        if (!in.consents) in.consents.emplace();
        for (Purpose purpose : purposes) {
          auto same = [&](const Consent& k) { return k.channel == spec->channel && k.purpose == purpose; };
          auto it = std::find_if(in.consents->begin(), in.consents->end(), same);
          if (it == in.consents->end()) it = in.consents->insert(in.consents->end(), {spec->channel, purpose, false, options.source, options.now});
          // Two opt-out columns of one consent: the one that dates it says when.
          if (dated) it->source_at = dated;
          it->granted = false;
        }
        break;
      }
      case Target::kConsentDate: {
        std::optional<Millis> at = decision_time(value, col, options.now);
        if (!at) {
          out.flags.push_back({"consent_at:" + col.custom_key, value, "expected a date"});
          break;
        }
        if (*at > options.now) {
          out.flags.push_back({"consent_at:" + col.custom_key, value, "a date in the future"});
          break;
        }
        consent_dates.push_back({col.custom_key, *at, col.rank});
        break;
      }
      case Target::kIgnore:
      case Target::kLabel:  // read before, with the values they label
        break;
    }
  }
  // The file's own consents, where no column of the row said anything of them.
  for (const auto& [channel, purpose] : options.file_consents) {
    if (!in.consents) in.consents.emplace();
    auto same = [&](const Consent& k) { return k.channel == channel && k.purpose == purpose; };
    if (std::none_of(in.consents->begin(), in.consents->end(), same))
      in.consents->push_back({channel, purpose, true, options.source, options.now});
  }
  // Each consent the row gives is dated by the lowest-rank date column naming it (an opt-in date);
  // a withdrawal only by the opt-out column that made it.
  if (in.consents && !consent_dates.empty()) {
    for (Consent& c : *in.consents) {
      if (!c.granted) continue;
      const std::string channel(customers::channel_name(c.channel));
      const std::string full = channel + ":" + std::string(customers::purpose_name(c.purpose));
      const bool marketing = c.purpose == Purpose::kNewsletter || c.purpose == Purpose::kOffers;
      const ConsentDate* best = nullptr;
      for (const ConsentDate& d : consent_dates)
        if ((d.key == full || (d.key == channel && marketing)) && (!best || d.rank < best->rank)) best = &d;
      if (best) c.source_at = best->at;
    }
  }
  if (!names.empty()) {
    const NameParts& n = names.begin()->second;  // only parts that hold a value make an entry
    in.first_name = n.first;
    in.last_name = n.last;
    name_column = n.column;
  }
  // E-mails and phones, the main columns' first; one address in two columns ("email" and
  // "billing_email") is one address.
  auto before = [](const Contact& a, const Contact& b) { return std::tie(a.label_rank, a.rank) < std::tie(b.label_rank, b.rank); };
  std::stable_sort(emails.begin(), emails.end(), before);
  std::stable_sort(phones.begin(), phones.end(), before);
  for (Contact& e : emails) {
    if (!in.emails) in.emails.emplace();
    auto same = [&](const EmailAddress& x) { return text::to_lower(x.email) == text::to_lower(e.value); };
    if (std::none_of(in.emails->begin(), in.emails->end(), same)) in.emails->push_back({std::move(e.value), std::move(e.label)});
  }
  for (Contact& p : phones) {
    if (!in.phones) in.phones.emplace();
    in.phones->push_back(Phone{.raw = std::move(p.value), .label = std::move(p.label)});
  }
  // A full-name column gives the names no other column gave ("Nom complet" beside "Prénom").
  // A company: as a column says, else as its name shows.
  std::optional<std::string> company = !full_name || is_company == false ? std::nullopt
                                       : is_company                      ? std::optional<std::string>("is_company")
                                                                         : company_marker(*full_name);
  if (company && !in.first_name && !in.last_name) {
    // A company among the customers: its name whole, not a first name "Boulangerie Martin".
    in.last_name = *full_name;
    out.flags.push_back({"last_name", *full_name,
                         fmt::format("looks like a company's name ({}), not a person's: kept whole as the last name, "
                                     "with no first name",
                                     *company)});
  } else if (full_name && !company && (!in.first_name || !in.last_name)) {
    auto [civility, first, last] = split_full_name(*full_name, full_surname_first);
    if (civility && !in.civility) in.civility = civility;
    if (!in.first_name && !in.last_name) {
      in.first_name = first;
      in.last_name = last;
    } else {
      // The part a column does not give: the split's when its other part is the one given ("M.
      // Jean Dupont", "Dupont, Jean", "Marie Dupont épouse Martin" beside "Jean" or "Marie"); else
      // what is left once the part given is taken out ("Jean Pierre Dupont" beside "Jean").
      auto missing = [&](const std::string& given, const std::optional<std::string>& split_given,
                         const std::optional<std::string>& split_missing) {
        if (split_given && text::search_key(*split_given) == text::search_key(given)) return split_missing;
        std::string cleaned = first.value_or("") + (first && last ? " " : "") + last.value_or("");
        std::string rest = remove_words(cleaned, given);
        return rest.empty() || rest == cleaned ? split_missing : std::optional<std::string>(rest);
      };
      if (!in.last_name) in.last_name = missing(*in.first_name, first, last);
      else in.first_name = missing(*in.last_name, last, first);
    }
  }
  // Each street cell: its first line is the street, the next ones come before the street's next
  // lines of other columns ("12 rue de la Paix\nBâtiment B" with "Apt 3" gives "Bâtiment B, Apt
  // 3"). A whole address block (a shop's address box, a mail program's formatted address) ends with
  // its postcode and town line and maybe a country line, for the parts no column gives.
  for (auto& [group, parts] : addresses) {
    if (!parts.street_cell) continue;
    std::vector<std::string> lines = street_lines(spaced_address_lines(*parts.street_cell));
    if (lines.empty()) continue;
    Address& a = parts.address;
    a.street = lines[0];
    size_t end = lines.size();
    if (end > 1)
      if (auto cc = customers::country_from_name(lines[end - 1])) {
        parts.block_country = *cc;
        --end;
      }
    if (end > 1)
      if (auto town = postcode_and_town(lines[end - 1])) {
        parts.block_postcode = town->first;
        parts.block_city = town->second;
        parts.block_town_line = lines[end - 1];
        --end;
      }
    std::string more;
    for (size_t k = 1; k < end; ++k) more += (more.empty() ? "" : ", ") + lines[k];
    if (!more.empty()) a.street2 = a.street2 ? more + ", " + *a.street2 : more;
  }
  if (!addresses.empty()) {
    // The lowest rank that holds an address (a street, a postcode or a town: a country alone, as
    // shops pre-fill it, is none), else the lowest that holds a country: never parts of two.
    auto chosen = std::find_if(addresses.begin(), addresses.end(), [](const auto& a) {
      const Address& x = a.second.address;
      return x.street || x.street2 || x.postcode || x.city;
    });
    if (chosen == addresses.end()) chosen = addresses.begin();
    const AddressParts& parts = chosen->second;
    Address address = parts.address;
    bool country_given = parts.country_given;
    if (!address.postcode && !address.city && parts.block_postcode) {
      address.postcode = parts.block_postcode;
      address.city = parts.block_city;
    } else if (parts.block_town_line &&
               (!address.postcode || digits_of(*address.postcode).find(digits_of(*parts.block_postcode)) == std::string::npos)) {
      // Columns give the town: the block's line, if it says something else, stays in the address.
      address.street2 = address.street2 ? *address.street2 + ", " + *parts.block_town_line : *parts.block_town_line;
    }
    if (!country_given && parts.block_country) {
      address.country = parts.block_country;
      country_given = true;
    }
    // The default country is for addresses that give none: one that gives a country nobody
    // recognises stays without (it is flagged), rather than being taken for the default's. A row
    // of the customer's own export whose country cell is empty says the customer has none.
    const bool own_country_cell =
        out.customer_id && std::any_of(columns.begin(), columns.end(), [](const Column& c) { return c.target == Target::kCountry; });
    if (!address.country && !country_given && !own_country_cell && !options.default_country.empty())
      address.country = options.default_country;
    // Spreadsheets drop the leading zero of "01000": put it back for a four-digit French code (a
    // Belgian or Swiss postcode has four digits of its own).
    bool french = address.country ? *address.country == "FR" : !country_given;
    if (std::optional<std::string>& pc = address.postcode; pc && french &&
                                                           pc->size() == 4 &&
                                                           std::all_of(pc->begin(), pc->end(), [](char c) { return c >= '0' && c <= '9'; }))
      *pc = "0" + *pc;
    // Nor is the postcode of a country nobody recognises checked as French: it is kept as given.
    if (country_given && !address.country) unchecked_postcode = std::exchange(address.postcode, std::nullopt);
    in.address = address;
  }
  if (out.external_id) in.external_ids = std::vector<ExternalId>{{options.source, *out.external_id}};
  for (ExternalId& x : other_ids) {
    if (!in.external_ids) in.external_ids.emplace();
    bool known = std::any_of(in.external_ids->begin(), in.external_ids->end(),
                             [&](const ExternalId& y) { return y.source == x.source && y.id == x.id; });
    if (!known) in.external_ids->push_back(std::move(x));
  }
  // Validate; drop and flag each optional value that fails, until the rest is valid.
  for (int attempt = 0; attempt < 64; ++attempt) {
    CustomerInput trial = in;
    Status st = validate_customer_input(trial, custom_fields, options.now, options.default_country);
    if (st) {
      in = std::move(trial);
      break;
    }
    const Error& e = st.error();
    // A flag shows the value as the file wrote it ("09/12/26"), not as it was read.
    std::string value = e.field == "birth_date" && !birth_date_text.empty() ? birth_date_text : value_of(in, e.field);
    if (!customers::drop_invalid_value(in, e.field)) return Error::invalid_argument(e.field, e.message);
    out.flags.push_back({flag_field(e.field), value, e.message});
  }
  // One number written twice ("Phone" and "Default Address Phone", in two formats) is one number.
  if (in.phones) {
    std::vector<Phone> unique;
    for (Phone& p : *in.phones)
      if (std::none_of(unique.begin(), unique.end(), [&](const Phone& q) { return customers::phone_key(q) == customers::phone_key(p); }))
        unique.push_back(std::move(p));
    in.phones = std::move(unique);
  }
  if (unchecked_postcode && in.address) {
    if (text::utf8_length(*unchecked_postcode) <= 20 && !text::has_control_character(*unchecked_postcode))
      in.address->postcode = std::move(unchecked_postcode);
    else
      out.flags.push_back({"postcode", *unchecked_postcode, "is longer than 20 characters, or holds a control character"});
  }
  for (const EmailAddress& e : in.emails.value_or(std::vector<EmailAddress>{}))
    if (auto reason = customers::email_flag_reason(e.email, options.mx)) out.flags.push_back({"email", e.email, std::move(*reason)});
  for (const Phone& p : in.phones.value_or(std::vector<Phone>{}))
    if (!p.valid) out.flags.push_back({"phone", p.raw, std::string(customers::phone_flag_reason(p))});
  if (!customers::makes_a_customer(in.first_name, in.last_name, in.emails.value_or(std::vector<EmailAddress>{}),
                                   in.phones.value_or(std::vector<Phone>{}))) {
    std::string column = !email_column.empty() ? email_column : !name_column.empty() ? name_column : "line";
    std::string why = "no name, no valid e-mail and no valid phone: nothing to make a customer from";
    for (const Flag& f : out.flags) why += fmt::format("; {} '{}': {}", f.field, f.value, f.reason);
    return Error::invalid_argument(column, why);
  }
  if (out.customer_id) {
    out.blank = blank_fields(columns, given, custom_given, in);
    // A row naming its customer gives whole lists: one whose cell had an item flagged (a member's
    // birth date that is no date, a strength of 120) is not read, so that the customer keeps it.
    for (const char* list : {"household", "affinities"}) {
      if (std::none_of(out.flags.begin(), out.flags.end(), [&](const Flag& f) { return f.field == list; })) continue;
      if (std::string_view(list) == "household") in.household.reset();
      else in.affinities.reset();
      out.flags.push_back({list, "", "an item of the cell is flagged: the customer's list is kept as it is"});
    }
  }
  return out;
}

}  // namespace

}  // namespace fidelis::imports

// A labelled test set of French customer records: clean people, their corrupted duplicates, and
// hard negatives (household members, namesakes). The corruptions are the ones seen in real customer
// files: typing errors, forms filled in the wrong order, lost accents, capitals, e-mail variants,
// phones written every way, moves, fields left empty.
#include <algorithm>
#include <cmath>
#include <unordered_set>
#include <utility>

#include "core/email.h"
#include "core/text.h"
#include "customers/customers.h"
#include "customers/demo_data.h"
#include "dedup/dedup.h"

namespace fidelis::dedup {

namespace {

namespace demo = customers::demo;

// splitmix64: tiny, fast, and the same sequence on every platform (std distributions are not).
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  double unit() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  size_t below(size_t n) { return std::min(n - 1, static_cast<size_t>(unit() * static_cast<double>(n))); }
  int range(int lo, int hi) { return lo + static_cast<int>(below(static_cast<size_t>(hi - lo + 1))); }
  bool chance(double p) { return unit() < p; }
  template <typename T>
  const T& pick(std::span<const T> items) { return items[below(items.size())]; }

 private:
  uint64_t state_;
};

struct Person {
  int64_t cluster = 0;
  std::string first, last;
  char sex = 'F';
  Date birth;
  bool has_birth = true;
  std::string email_local, email_domain;
  bool has_email = true;
  std::string mobile, landline;  // national significant numbers ("612345678"), empty if none
  std::string street, postcode, city;
  bool has_address = true;
};

std::string encode_utf8(std::u32string_view cps) {
  std::string out;
  for (char32_t cp : cps) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }
  return out;
}

// "Lefèvre" -> "Lefevre", keeping case: what a form without accents or an old system produces.
std::string strip_accents(std::string_view s) {
  std::string out;
  std::u32string cps = to_code_points(s);
  for (char32_t cp : cps) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
      continue;
    }
    std::string one = encode_utf8(std::u32string_view(&cp, 1));
    std::string base = text::search_key(one);
    if (base.empty() || base == one) {
      out += one;
      continue;
    }
    bool upper = text::to_lower(one) != one;
    out += upper ? text::to_upper(base) : base;
  }
  return out;
}

// ASCII slug for e-mail local parts: "Jean-François" -> "jean-francois", "Le Gall" -> "legall".
std::string slug(std::string_view name, bool keep_hyphen) {
  std::string out;
  for (char c : text::search_key(name)) {
    if (c == ' ') {
      if (keep_hyphen) out += '-';
    } else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
      out += c;
    }
  }
  return out;
}

// One typing error: insertion, deletion, substitution by a nearby key, or transposition.
std::string typo(std::string_view word, Rng& rng) {
  std::u32string cps = to_code_points(word);
  if (cps.size() < 3) return std::string(word);
  static constexpr std::string_view kRows[] = {"azertyuiop", "qsdfghjklm", "wxcvbn"};  // AZERTY
  auto neighbour = [&](char32_t c) -> char32_t {
    bool upper = c >= 'A' && c <= 'Z';
    char lc = static_cast<char>(upper ? c + 32 : c);
    for (std::string_view row : kRows) {
      size_t at = row.find(lc);
      if (at == std::string_view::npos) continue;
      size_t to = at == 0 ? 1 : at + 1 == row.size() ? at - 1 : (rng.chance(0.5) ? at - 1 : at + 1);
      return static_cast<char32_t>(upper ? row[to] - 32 : row[to]);
    }
    return U'e';
  };
  // Errors at the first letter are rarer: people check how a name starts.
  size_t pos = rng.chance(0.1) ? 0 : 1 + rng.below(cps.size() - 1);
  switch (rng.below(4)) {
    case 0: cps.insert(cps.begin() + static_cast<std::ptrdiff_t>(pos), neighbour(cps[pos])); break;
    case 1: cps.erase(cps.begin() + static_cast<std::ptrdiff_t>(pos)); break;
    case 2: cps[pos] = neighbour(cps[pos]); break;
    default:
      if (pos + 1 < cps.size()) std::swap(cps[pos], cps[pos + 1]);
      else std::swap(cps[pos - 1], cps[pos]);
  }
  return encode_utf8(cps);
}

std::string two(int v) { return {static_cast<char>('0' + v / 10), static_cast<char>('0' + v % 10)}; }

std::string format_date(const Date& d) { return std::to_string(d.year) + "-" + two(d.month) + "-" + two(d.day); }

int days_in(int year, int month) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return month == 2 && leap ? 29 : kDays[month - 1];
}

Date random_date(Rng& rng, int from_year, int to_year) {
  Date d{rng.range(from_year, to_year), rng.range(1, 12), 1};
  d.day = rng.range(1, days_in(d.year, d.month));
  return d;
}

// Metropolitan French numbers that libphonenumber accepts as valid: mobiles 06 (not 063x/069x)
// and 07 [3-9]; landlines 01-05 (not 026x or 059x, overseas).
std::string random_mobile(Rng& rng) {
  static constexpr std::string_view k6[] = {"60", "61", "62", "64", "65", "66", "67", "68"};
  std::string n;
  if (rng.chance(0.8)) {
    n = k6[rng.below(8)];
  } else {
    n = "7";
    n += static_cast<char>('0' + rng.range(3, 9));
  }
  while (n.size() < 9) n += static_cast<char>('0' + rng.below(10));
  return n;
}

std::string random_landline(Rng& rng, std::string_view postcode) {
  // The zone follows the postcode roughly, as it would for a real landline.
  int dep = postcode.size() >= 2 && postcode[0] >= '0' && postcode[0] <= '9' ? (postcode[0] - '0') * 10 + (postcode[1] - '0') : 75;
  char zone = dep == 75 || dep == 77 || dep == 78 || dep >= 91 ? '1'
              : dep == 14 || dep == 22 || dep == 29 || dep == 35 || dep == 44 || dep == 49 || dep == 56 ? '2'
              : dep == 21 || dep == 25 || dep == 51 || dep == 54 || dep == 57 || dep == 59 || dep == 67 ? '3'
              : dep == 6 || dep == 13 || dep == 34 || dep == 38 || dep == 69 || dep == 83 || dep == 84 ? '4'
                                                                                                           : '5';
  std::string n(1, zone);
  n += static_cast<char>('1' + rng.below(9));
  // Not 026x or 059x: those are La Réunion, Mayotte and the Antilles.
  if ((zone == '2' && n[1] == '6') || (zone == '5' && n[1] == '9')) n[1] = '8';
  while (n.size() < 9) n += static_cast<char>('0' + rng.below(10));
  return n;
}

// The many ways people type a French number; all give the same E.164.
std::string format_phone(std::string_view nsn, Rng& rng) {
  std::string pairs;  // "6 12 34 56 78"
  pairs += nsn[0];
  for (size_t i = 1; i < nsn.size(); i += 2) pairs.append(" ").append(nsn.substr(i, 2));
  std::string national = "0" + std::string(nsn);
  std::string spaced = "0" + pairs;
  switch (rng.below(8)) {
    case 0: return national;
    case 1: return spaced;
    case 2: {
      std::string dotted = spaced;
      std::replace(dotted.begin(), dotted.end(), ' ', '.');
      return dotted;
    }
    case 3: return "+33 " + pairs;
    case 4: return "+33" + std::string(nsn);
    case 5: return "0033 " + pairs;
    case 6: {
      std::string dashed = spaced;
      std::replace(dashed.begin(), dashed.end(), ' ', '-');
      return dashed;
    }
    default: return "+33 (0)" + pairs;
  }
}

std::string e164(std::string_view nsn, Rng& rng) {
  if (nsn.empty()) return {};
  return customers::normalize_phone(format_phone(nsn, rng)).e164.value_or("");
}

std::string random_street(Rng& rng) {
  std::string s = std::to_string(rng.range(1, 180));
  if (rng.chance(0.06)) s += " bis";
  return s + " " + std::string(rng.pick(demo::street_types())) + " " + std::string(rng.pick(demo::street_names()));
}

void random_place(Person& p, Rng& rng) {
  const demo::Place& place = rng.pick(demo::places());
  p.postcode = std::string(place.postcode);
  p.city = std::string(place.city);
  p.street = random_street(rng);
}

class Generator {
 public:
  explicit Generator(uint64_t seed) : rng_(seed) {}

  Person clean_person(int64_t cluster) {
    Person p;
    p.cluster = cluster;
    const demo::FirstName& f = rng_.pick(demo::first_names());
    p.first = std::string(f.name);
    p.sex = f.sex;
    p.last = skewed_last_name();
    p.birth = random_date(rng_, 1940, 2006);
    p.has_birth = rng_.chance(0.85);
    random_place(p, rng_);
    p.has_address = rng_.chance(0.95);
    if (rng_.chance(0.85)) p.mobile = random_mobile(rng_);
    if (p.mobile.empty() || rng_.chance(0.3)) p.landline = random_landline(rng_, p.postcode);
    p.has_email = rng_.chance(0.95);
    assign_email(p);
    return p;
  }

  // Someone living with `p`: same surname and address, own first name and birth date, the same
  // landline if any.
  Person household_member(const Person& p, int64_t cluster) {
    Person h = clean_person(cluster);
    h.last = p.last;
    while (text::search_key(h.first) == text::search_key(p.first)) h.first = std::string(rng_.pick(demo::first_names()).name);
    bool child = rng_.chance(0.4);
    int year = child ? p.birth.year + rng_.range(20, 38) : p.birth.year + rng_.range(-8, 8);
    h.birth = random_date(rng_, std::min(year, 2010), std::min(year, 2010));
    h.street = p.street;
    h.postcode = p.postcode;
    h.city = p.city;
    h.has_address = p.has_address;
    h.landline = p.landline;
    if (!h.landline.empty() && rng_.chance(0.4)) h.mobile.clear();  // only the family line
    assign_email(h);
    return h;
  }

  // Same first and last name, same town, otherwise another person.
  Person namesake(const Person& p, int64_t cluster) {
    Person s = clean_person(cluster);
    s.first = p.first;
    s.last = p.last;
    s.sex = p.sex;
    s.city = p.city;
    s.postcode = rng_.chance(0.5) ? p.postcode : other_postcode_of(p);
    assign_email(s);
    return s;
  }

  Record render(const Person& p) {
    Record r;
    r.first_name = p.first;
    r.last_name = p.last;
    if (p.has_email) r.email = p.email_local + "@" + p.email_domain;
    r.phone_e164 = e164(pick_phone(p), rng_);
    if (p.has_birth) r.birth_date = format_date(p.birth);
    if (p.has_address) {
      r.street = p.street;
      r.postcode = p.postcode;
      r.city = p.city;
    }
    return r;
  }

  // A second record of the same person, typed again somewhere else.
  Record duplicate(const Person& p) {
    Person d = p;
    if (rng_.chance(0.12)) random_place(d, rng_);  // moved
    if (rng_.chance(0.08)) d.mobile = random_mobile(rng_);  // new number
    Record r = render(d);
    if (rng_.chance(0.12)) r.first_name = typo(r.first_name, rng_);
    if (rng_.chance(0.12)) r.last_name = typo(r.last_name, rng_);
    if (rng_.chance(0.25)) {
      r.first_name = strip_accents(r.first_name);
      r.last_name = strip_accents(r.last_name);
      r.city = strip_accents(r.city);
    }
    if (rng_.chance(0.25)) r.last_name = text::to_upper(r.last_name);
    if (rng_.chance(0.05)) r.first_name = text::to_upper(r.first_name);
    if (rng_.chance(0.05)) std::swap(r.first_name, r.last_name);
    if (rng_.chance(0.03)) r.first_name.clear();
    corrupt_email(d, r);
    if (rng_.chance(0.15)) r.phone_e164.clear();
    if (!r.birth_date.empty()) {
      if (rng_.chance(0.12)) {
        r.birth_date.clear();
      } else if (rng_.chance(0.04) && d.birth.day <= 12 && d.birth.day != d.birth.month) {
        r.birth_date = format_date({d.birth.year, d.birth.day, d.birth.month});  // typed month first
      } else if (rng_.chance(0.03)) {
        Date t = d.birth;
        t.day = t.day == 1 ? 2 : t.day - 1;  // mistyped day
        r.birth_date = format_date(t);
      }
    } else if (!p.has_birth && rng_.chance(0.3)) {
      r.birth_date = format_date(p.birth);  // given this time
    }
    corrupt_address(r);
    return r;
  }

  Rng& rng() { return rng_; }

 private:
  std::string skewed_last_name() {
    // Surnames are far from uniform (Martin is ~0.4 % of France): draw the list's top more often.
    auto names = demo::last_names();
    double x = std::pow(rng_.unit(), 1.25);
    return std::string(names[std::min(names.size() - 1, static_cast<size_t>(x * static_cast<double>(names.size())))]);
  }

  std::string other_postcode_of(const Person& p) {
    for (int tries = 0; tries < 50; ++tries) {
      const demo::Place& place = rng_.pick(demo::places());
      if (place.city == p.city && place.postcode != p.postcode) return std::string(place.postcode);
    }
    return p.postcode;
  }

  std::string pick_phone(const Person& p) {
    if (!p.mobile.empty() && (p.landline.empty() || rng_.chance(0.85))) return p.mobile;
    return p.landline;
  }

  std::string email_local(const Person& p) {
    std::string f = slug(p.first, true), l = slug(p.last, false);
    switch (rng_.below(7)) {
      case 0: return f + "." + l;
      case 1: return f + l;
      case 2: return f.substr(0, 1) + "." + l;
      case 3: return f + "." + l + std::to_string(rng_.range(1, 99));
      case 4: return l + "." + f;
      case 5: return f + "_" + l + two(p.birth.year % 100);
      default: return f + l.substr(0, 1) + std::to_string(rng_.range(10, 999));
    }
  }

  void assign_email(Person& p) {
    // Unique per person, as real mailboxes are: a taken address gets digits, like at sign-up.
    for (;;) {
      std::string local = email_local(p);
      std::string domain(rng_.pick(demo::email_domains()));
      for (int tries = 0; tries < 20 && used_emails_.contains(mailbox_key(local + "@" + domain)); ++tries)
        local += static_cast<char>('0' + rng_.below(10));
      std::string key = mailbox_key(local + "@" + domain);
      if (used_emails_.contains(key)) continue;
      used_emails_.insert(key);
      p.email_local = local;
      p.email_domain = domain;
      return;
    }
  }

  void corrupt_email(const Person& p, Record& r) {
    if (r.email.empty()) {
      if (p.has_email || rng_.chance(0.5)) return;
      Person fresh = p;
      assign_email(fresh);  // a first e-mail given later
      r.email = fresh.email_local + "@" + fresh.email_domain;
      return;
    }
    double x = rng_.unit();
    std::string local = p.email_local, domain = p.email_domain;
    if (x < 0.12) {
      r.email.clear();
      return;
    }
    if (x < 0.24) {  // a new address: work, new provider
      Person fresh = p;
      assign_email(fresh);
      r.email = fresh.email_local + "@" + fresh.email_domain;
      return;
    }
    if (x < 0.32) {  // same name at another provider
      std::string other(rng_.pick(demo::email_domains()));
      if (other != domain) domain = other;
    } else if (x < 0.40) {
      static constexpr std::string_view kTags[] = {"promo", "shop", "news", "boutique"};
      local += "+" + std::string(kTags[rng_.below(4)]);
    } else if (x < 0.48 && domain == "gmail.com") {
      if (local.find('.') != std::string::npos) std::erase(local, '.');
      else local.insert(1 + rng_.below(local.size() - 1), ".");
    }
    r.email = local + "@" + domain;
    if (rng_.chance(0.05)) r.email = text::to_upper(r.email.substr(0, 1)) + r.email.substr(1);
  }

  void corrupt_address(Record& r) {
    if (r.street.empty()) return;
    if (rng_.chance(0.06)) {
      r.street.clear();
      r.postcode.clear();
      r.city.clear();
      return;
    }
    if (rng_.chance(0.2)) {
      static constexpr std::pair<std::string_view, std::string_view> kAbbr[] = {
          {"avenue", "av."}, {"boulevard", "bd"}, {"rue", "r."},      {"place", "pl."},
          {"chemin", "ch."}, {"allée", "all."},   {"impasse", "imp."}, {"route", "rte"}};
      for (const auto& [full, abbr] : kAbbr) {
        size_t at = r.street.find(std::string(" ") + std::string(full) + " ");
        if (at == std::string::npos) continue;
        r.street.replace(at + 1, full.size(), abbr);
        break;
      }
    }
    if (rng_.chance(0.08)) r.street = typo(r.street, rng_);
    if (rng_.chance(0.15)) r.street = text::to_upper(r.street);
    if (rng_.chance(0.03)) r.postcode.clear();
    if (r.city.starts_with("Saint-") && rng_.chance(0.3)) r.city = "St-" + r.city.substr(6);
    if (rng_.chance(0.2)) r.city = text::to_upper(r.city);
  }

  Rng rng_;
  std::unordered_set<std::string> used_emails_;
};

}  // namespace

Result<TestSet> generate_test_set(const TestSetOptions& options) {
  auto rate_ok = [](double r) { return r >= 0 && r <= 1; };
  if (options.people == 0 || !rate_ok(options.duplicate_rate) || !rate_ok(options.household_rate) ||
      !rate_ok(options.namesake_rate))
    return Error::invalid_argument("options", "people must be > 0 and every rate within [0, 1]");

  Generator gen(options.seed);
  std::vector<Person> people;
  people.reserve(options.people * 2);
  for (size_t i = 0; i < options.people; ++i) people.push_back(gen.clean_person(static_cast<int64_t>(people.size())));
  for (size_t i = 0; i < options.people; ++i) {
    if (gen.rng().chance(options.household_rate))
      people.push_back(gen.household_member(people[i], static_cast<int64_t>(people.size())));
    if (gen.rng().chance(options.namesake_rate))
      people.push_back(gen.namesake(people[i], static_cast<int64_t>(people.size())));
  }

  TestSet set;
  for (const Person& p : people) {
    set.records.push_back(gen.render(p));
    set.cluster.push_back(p.cluster);
    if (!gen.rng().chance(options.duplicate_rate)) continue;
    double x = gen.rng().unit();
    size_t copies = x < 0.7 ? 1 : x < 0.92 ? 2 : 3;
    for (size_t c = 0; c < copies; ++c) {
      set.records.push_back(gen.duplicate(p));
      set.cluster.push_back(p.cluster);
    }
    set.true_pairs += (copies + 1) * copies / 2;
  }

  // Shuffle (Fisher-Yates) so that a duplicate does not follow its original.
  for (size_t i = set.records.size(); i > 1; --i) {
    size_t j = gen.rng().below(i);
    std::swap(set.records[i - 1], set.records[j]);
    std::swap(set.cluster[i - 1], set.cluster[j]);
  }
  static constexpr std::string_view kSources[] = {"web", "magasin", "import"};
  for (size_t i = 0; i < set.records.size(); ++i) {
    Record& r = set.records[i];
    r.id = static_cast<int64_t>(i + 1);
    r.source = std::string(kSources[gen.rng().below(3)]);
    r.external_id = r.source + "-" + std::to_string(100000 + gen.rng().below(900000));
  }
  return set;
}

}  // namespace fidelis::dedup

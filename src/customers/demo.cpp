// `fidelis demo`: generates plausible French customers. Each customer is a pure function of
// (seed, index), so every table is loaded in its own streaming pass without holding the base in
// memory: memory stays flat whatever the count.

#include <fmt/format.h>

#include <array>
#include <future>

#include "core/text.h"
#include "customers/customer_internal.h"
#include "customers/demo_data.h"
#include "storage/migrate.h"

namespace fidelis::customers {

using storage::Value;

namespace {

// splitmix64: small, fast, good enough for plausible data.
class Rng {
 public:
  explicit Rng(uint64_t seed) : s_(seed) {}
  uint64_t next() {
    uint64_t z = (s_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  int64_t range(int64_t lo, int64_t hi) { return lo + static_cast<int64_t>(next() % static_cast<uint64_t>(hi - lo + 1)); }
  bool chance(int percent) { return range(1, 100) <= percent; }
  template <typename T>
  const T& pick(std::span<const T> items) { return items[next() % items.size()]; }

 private:
  uint64_t s_;
};

constexpr Millis kDay = 86'400'000;

std::string date_string(Millis ms) { return format_iso8601(ms).substr(0, 10); }

// French fixed-line prefix (01..05) for the region a postcode belongs to.
char fixed_prefix(std::string_view postcode) {
  int dep = (postcode[0] - '0') * 10 + (postcode[1] - '0');
  if (dep == 75 || dep == 77 || dep == 78 || dep == 91 || dep == 92 || dep == 93 || dep == 94 || dep == 95) return '1';
  static constexpr int kNorthWest[] = {14, 18, 22, 27, 28, 29, 35, 36, 37, 41, 44, 45, 49, 50, 53, 56, 61, 72, 76, 85, 97};
  static constexpr int kNorthEast[] = {2, 8, 10, 21, 25, 39, 51, 52, 54, 55, 57, 58, 59, 60, 62, 67, 68, 70, 71, 80, 88, 89, 90};
  static constexpr int kSouthEast[] = {1, 3, 4, 5, 6, 7, 13, 15, 20, 26, 30, 34, 38, 42, 43, 48, 63, 69, 73, 74, 83, 84};
  for (int d : kNorthWest) if (d == dep) return '2';
  for (int d : kNorthEast) if (d == dep) return '3';
  for (int d : kSouthEast) if (d == dep) return '4';
  return '5';
}

struct DemoCustomer {
  int64_t id;
  std::string civility, first, last, birth, street, postcode, city;
  std::vector<EmailAddress> emails;
  std::vector<Phone> phones;
  std::vector<HouseholdMember> household;
  std::vector<Affinity> affinities;
  std::vector<Consent> consents;
  std::vector<std::string> tags;
  std::string external_id;
  Millis created_at;
  std::string doc;  // the stored JSON document (render_document)
};

DemoCustomer make_customer(uint64_t seed, int64_t index, int64_t id, Millis now, std::string_view shop) {
  Rng rng(seed * 0x100000001B3ULL ^ static_cast<uint64_t>(index) * 0xC2B2AE3D27D4EB4FULL);
  DemoCustomer c;
  c.id = id;
  const auto& fn = rng.pick(demo::first_names());
  c.first = std::string(fn.name);
  c.civility = fn.sex == 'F' ? "Mme" : "M.";
  c.last = std::string(rng.pick(demo::last_names()));
  int age = static_cast<int>(rng.chance(70) ? rng.range(25, 60) : rng.range(18, 88));
  Millis birth_ms = now - age * 365 * kDay - rng.range(0, 364) * kDay;
  c.birth = date_string(birth_ms);
  const auto& place = rng.pick(demo::places());
  c.postcode = std::string(place.postcode);
  c.city = std::string(place.city);
  c.street = fmt::format("{}{} {} {}", rng.range(1, 180), rng.chance(8) ? " bis" : "", rng.pick(demo::street_types()),
                         rng.pick(demo::street_names()));
  c.created_at = now - rng.range(1, 5 * 365) * kDay - rng.range(0, kDay - 1);

  std::string local = text::search_key(c.first) + "." + text::search_key(c.last);
  for (char& ch : local)
    if (ch == ' ') ch = '-';
  c.emails.push_back({fmt::format("{}{}@{}", local, index, rng.pick(demo::email_domains())), "perso"});
  if (rng.chance(20)) {
    std::string work = text::search_key(c.last);  // "le goff" -> "le-goff": no space in an address
    for (char& ch : work)
      if (ch == ' ') ch = '-';
    c.emails.push_back({fmt::format("{}.{}@{}", work, index, "entreprise.fr"), "travail"});
  }

  auto digits = [&](int n) {
    std::string s;
    for (int i = 0; i < n; ++i) s += static_cast<char>('0' + rng.range(0, 9));
    return s;
  };
  auto add_phone = [&](char first_digit, char second, PhoneType type, std::string label) {
    std::string national;
    do {  // never a number typed for none (06 12 34 56 78): those are invalid
      national = std::string("0") + first_digit + second + digits(7);
    } while (is_placeholder_phone(33, std::string_view(national).substr(1)));
    Phone p;
    p.raw = fmt::format("{} {} {} {} {}", national.substr(0, 2), national.substr(2, 2), national.substr(4, 2),
                        national.substr(6, 2), national.substr(8, 2));
    p.e164 = "+33" + national.substr(1);
    p.type = type;
    p.valid = true;
    p.label = std::move(label);
    c.phones.push_back(std::move(p));
  };
  // Only ranges libphonenumber accepts as French numbers (06 3x and 06 9x are partly overseas).
  static constexpr std::string_view k06 = "01245678", k07 = "345678";
  if (rng.chance(85)) {
    bool six = rng.chance(75);
    std::string_view seconds = six ? k06 : k07;
    add_phone(six ? '6' : '7', seconds[rng.next() % seconds.size()], PhoneType::kMobile, "mobile");
  }
  if (rng.chance(30) || c.phones.empty()) {
    // Not 026x or 059x: those are La Réunion, Mayotte and the Antilles (customers::overseas_region).
    char first = fixed_prefix(c.postcode), second = static_cast<char>('0' + rng.range(1, 9));
    if ((first == '2' && second == '6') || (first == '5' && second == '9')) second = '8';
    add_phone(first, second, PhoneType::kFixed, "domicile");
  }

  if (age >= 26 && age <= 75 && rng.chance(55)) {
    const auto& partner = rng.pick(demo::first_names());
    c.household.push_back({"conjoint", std::string(partner.name), date_string(birth_ms + rng.range(-5 * 365, 5 * 365) * kDay)});
  }
  if (age >= 24 && age <= 70 && rng.chance(60)) {
    int kids = static_cast<int>(rng.range(1, 3));
    for (int k = 0; k < kids; ++k) {
      Millis kid_birth = birth_ms + (22 + rng.range(0, 18)) * 365 * kDay + rng.range(0, 364) * kDay;
      if (kid_birth >= now) continue;
      c.household.push_back({"enfant", std::string(rng.pick(demo::first_names()).name), date_string(kid_birth)});
    }
  }
  auto cats = demo::categories();
  int n_aff = static_cast<int>(rng.range(1, 4));
  size_t start = rng.next() % cats.size();
  for (int k = 0; k < n_aff; ++k)
    c.affinities.push_back({std::string(cats[(start + static_cast<size_t>(k) * 7) % cats.size()]), static_cast<int>(rng.range(20, 100))});

  static constexpr std::array<std::string_view, 4> kSources = {"web-form", "checkout", "magasin", "jeu-concours"};
  auto consent = [&](Channel ch, Purpose pu, int percent) {
    Millis at = c.created_at + rng.range(0, std::max<int64_t>(1, (now - c.created_at) / kDay)) * kDay / 4;
    c.consents.push_back({ch, pu, rng.chance(percent), std::string(kSources[rng.next() % kSources.size()]), at});
  };
  consent(Channel::kEmail, Purpose::kNewsletter, 70);
  consent(Channel::kEmail, Purpose::kOffers, 50);
  if (!c.phones.empty() && c.phones[0].type == PhoneType::kMobile) consent(Channel::kSms, Purpose::kOffers, 35);
  consent(Channel::kPost, Purpose::kOffers, 20);

  if (rng.chance(30)) c.tags.push_back(std::string(rng.pick(demo::tags())));
  if (rng.chance(10)) {
    std::string t(rng.pick(demo::tags()));
    if (c.tags.empty() || c.tags[0] != t) c.tags.push_back(t);
  }
  std::sort(c.tags.begin(), c.tags.end());
  c.external_id = fmt::format("C{:07}", index + 1);

  Customer full;
  full.id = c.id;
  full.civility = c.civility;
  full.first_name = c.first;
  full.last_name = c.last;
  full.birth_date = c.birth;
  full.emails = c.emails;
  full.phones = c.phones;
  full.address = Address{c.street, std::nullopt, c.postcode, c.city, std::string("FR")};
  full.household = c.household;
  full.affinities = c.affinities;
  full.consents = c.consents;
  full.tags = c.tags;
  full.external_ids = {{std::string(shop), c.external_id}};
  sort_as_loaded(full);
  full.created_at = full.updated_at = c.created_at;
  c.doc = render_document(full);
  return c;
}

}  // namespace

Result<DemoStats> generate_demo(storage::Db& db, const Clock& clock, const DemoOptions& o) {
  if (o.customers < 1 || o.customers > 50'000'000)
    return Error::invalid_argument("customers", "must be between 1 and 50000000");
  FIDELIS_ASSIGN_OR_RETURN(std::optional<storage::Row> max_row, db.one("SELECT COALESCE(MAX(id), 0) FROM customers"));
  const int64_t base = max_row->i64(0) + 1;
  // The shop-id source is unique per run, so demo data can be loaded twice without collisions.
  FIDELIS_ASSIGN_OR_RETURN(std::optional<storage::Row> runs, db.one("SELECT COUNT(DISTINCT source) FROM customer_external_ids"));
  const std::string shop = runs->i64(0) == 0 ? "boutique" : fmt::format("boutique-{}", runs->i64(0) + 1);
  const Millis now = clock.now();
  DemoStats stats;
  stats.customers = o.customers;
  stats.first_id = base;
  stats.last_id = base + o.customers - 1;

  // Customers are generated a chunk at a time and each table of the chunk is bulk-loaded in turn
  // (parents first, for the foreign keys): memory is bounded by the chunk, not the count.
  constexpr int64_t kChunk = 20'000;
  std::vector<DemoCustomer> chunk;
  struct TablePass {
    std::string_view table;
    std::vector<std::string> columns;
    std::function<void(const DemoCustomer&, std::vector<std::vector<Value>>&)> emit;
  };
  std::vector<TablePass> passes;
  auto pass = [&](std::string_view table, std::vector<std::string> columns,
                  std::function<void(const DemoCustomer&, std::vector<std::vector<Value>>&)> emit) {
    passes.push_back({table, std::move(columns), std::move(emit)});
  };
  auto load_chunk = [&](const TablePass& p) -> Status {
    size_t next_customer = 0;
    std::vector<std::vector<Value>> pending;
    size_t next_pending = 0;
    auto source = [&](std::vector<Value>& row) -> Result<bool> {
      while (next_pending >= pending.size()) {
        if (next_customer >= chunk.size()) return false;
        pending.clear();
        next_pending = 0;
        p.emit(chunk[next_customer++], pending);
      }
      row = std::move(pending[next_pending++]);
      return true;
    };
    FIDELIS_ASSIGN_OR_RETURN(int64_t n, db.bulk_insert(p.table, p.columns, source, kChunk * 4));
    stats.rows += n;
    return ok();
  };

  pass("customers",
                               {"id", "civility", "first_name", "last_name", "name_key", "name_key2", "birth_date", "street",
                                "postcode", "city", "city_key", "country", "version", "created_at", "updated_at"},
                               [](const DemoCustomer& c, auto& rows) {
                                 NameKeys k = name_keys(c.first, c.last);
                                 rows.push_back({c.id, c.civility, c.first, c.last, k.last_first, k.first_last, c.birth,
                                                 c.street, c.postcode, c.city, text::search_key(c.city), std::string("FR"),
                                                 int64_t{1}, c.created_at, c.created_at});
                               });
  pass("customer_docs", {"customer_id", "doc"},
                               [](const DemoCustomer& c, auto& rows) { rows.push_back({c.id, c.doc}); });
  pass("customer_emails", {"customer_id", "position", "email", "email_key", "label", "mailbox_key"},
                               [](const DemoCustomer& c, auto& rows) {
                                 for (size_t i = 0; i < c.emails.size(); ++i) {
                                   std::string key = text::to_lower(c.emails[i].email);
                                   storage::Value mailbox = mailbox_key_column(key);
                                   rows.push_back({c.id, static_cast<int64_t>(i), c.emails[i].email, std::move(key),
                                                   c.emails[i].label, std::move(mailbox)});
                                 }
                               });
  pass("customer_phones", {"customer_id", "position", "raw", "e164", "phone_key", "type", "valid", "label"},
                               [](const DemoCustomer& c, auto& rows) {
                                 for (size_t i = 0; i < c.phones.size(); ++i) {
                                   const Phone& p = c.phones[i];
                                   rows.push_back({c.id, static_cast<int64_t>(i), p.raw, *p.e164, phone_key(p),
                                                   std::string(phone_type_name(p.type)), int64_t{1}, p.label});
                                 }
                               });
  pass("customer_household", {"customer_id", "position", "relation", "first_name", "birth_date"},
                               [](const DemoCustomer& c, auto& rows) {
                                 for (size_t i = 0; i < c.household.size(); ++i)
                                   rows.push_back({c.id, static_cast<int64_t>(i), c.household[i].relation,
                                                   *c.household[i].first_name, *c.household[i].birth_date});
                               });
  pass("customer_affinities", {"customer_id", "category", "strength"},
                               [](const DemoCustomer& c, auto& rows) {
                                 for (const auto& a : c.affinities)
                                   rows.push_back({c.id, a.category, static_cast<int64_t>(a.strength)});
                               });
  pass("customer_consents", {"customer_id", "channel", "purpose", "granted", "source", "changed_at"},
                               [](const DemoCustomer& c, auto& rows) {
                                 for (const auto& k : c.consents)
                                   rows.push_back({c.id, std::string(channel_name(k.channel)), std::string(purpose_name(k.purpose)),
                                                   int64_t{k.granted}, k.source, k.changed_at});
                               });
  pass("consent_events", {"customer_id", "channel", "purpose", "granted", "source", "at"},
                               [](const DemoCustomer& c, auto& rows) {
                                 for (const auto& k : c.consents)
                                   rows.push_back({c.id, std::string(channel_name(k.channel)), std::string(purpose_name(k.purpose)),
                                                   int64_t{k.granted}, k.source, k.changed_at});
                               });
  pass("customer_tags", {"customer_id", "tag"}, [](const DemoCustomer& c, auto& rows) {
    for (const auto& t : c.tags) rows.push_back({c.id, t});
  });
  pass("customer_external_ids", {"customer_id", "source", "external_id"},
                               [&shop](const DemoCustomer& c, auto& rows) { rows.push_back({c.id, shop, c.external_id}); });
  // A large load into a small base rebuilds the secondary indexes once at the end instead.
  FIDELIS_ASSIGN_OR_RETURN(std::optional<storage::Row> existing, db.one("SELECT COUNT(*) FROM customers"));
  bool rebuild_indexes = o.customers >= 100'000 && o.customers >= existing->i64(0);
  if (rebuild_indexes) {
    std::vector<std::string_view> tables;
    for (const TablePass& p : passes) tables.push_back(p.table);
    FIDELIS_RETURN_IF_ERROR(storage::drop_indexes_for_bulk(db, tables));
  }
  // The next chunk is generated on another thread while the database loads the current one.
  auto generate = [&](int64_t start) {
    std::vector<DemoCustomer> out;
    for (int64_t i = start; i < std::min(o.customers, start + kChunk); ++i) out.push_back(make_customer(o.seed, i, base + i, now, shop));
    return out;
  };
  std::future<std::vector<DemoCustomer>> next = std::async(std::launch::async, generate, 0);
  for (int64_t start = 0; start < o.customers; start += kChunk) {
    chunk = next.get();
    if (start + kChunk < o.customers) next = std::async(std::launch::async, generate, start + kChunk);
    for (const TablePass& p : passes) {
      if (Status st = load_chunk(p); !st) {
        if (next.valid()) next.wait();
        return st.error();
      }
    }
    if (o.progress) o.progress("customers", std::min(o.customers, start + kChunk), o.customers);
  }
  FIDELIS_RETURN_IF_ERROR(db.sync_id_sequence("customers"));
  if (rebuild_indexes) {
    if (o.progress) o.progress("indexes", 0, 1);
    FIDELIS_RETURN_IF_ERROR(storage::restore_bulk_indexes(db));
    if (o.progress) o.progress("indexes", 1, 1);
  }
  return stats;
}

}  // namespace fidelis::customers

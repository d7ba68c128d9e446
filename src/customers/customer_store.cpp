// The SQL that writes a profile's lists and loads whole profiles, a batch of ids at a time.

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <unordered_map>

#include "core/text.h"
#include "customers/customer_internal.h"

namespace fidelis::customers {

using storage::Value;

NameKeys name_keys(const std::optional<std::string>& first, const std::optional<std::string>& last) {
  std::string f = first.value_or(""), l = last.value_or("");
  return {text::search_key(l + " " + f), text::search_key(f + " " + l)};
}

std::string phone_key(const Phone& p) {
  if (p.e164) {
    const std::string extension = phone_extension(p.raw);
    return p.e164->substr(1) + (extension.empty() ? "" : "x" + extension);
  }
  // A number typed for none keys as its E.164 digits would: found by the number as typed, and one
  // however written ("06 00 00 00 00", "+33 6 00 00 00 00").
  if (std::string e = placeholder_phone_key(p.raw); !e.empty()) return e;
  std::string digits;
  for (char c : p.raw)
    if (c >= '0' && c <= '9') digits += c;
  return digits;
}

std::string placeholder_phone_key(std::string_view raw) {
  std::string q = phone_query_key(raw);
  return q.size() == 11 && q.starts_with("33") && is_placeholder_phone(33, std::string_view(q).substr(2)) ? q : std::string();
}

std::string phone_query_key(std::string_view q) {
  std::string digits;
  bool plus = false;
  for (char c : q) {
    if (c >= '0' && c <= '9') digits += c;
    else if (c == '+' && digits.empty()) plus = true;
    else if (c != ' ' && c != '.' && c != '-' && c != '(' && c != ')') return {};
  }
  if (digits.size() < 2) return {};
  if (plus) return digits;
  if (digits.starts_with("00")) return digits.substr(2);
  if (digits.starts_with("0")) return "33" + digits.substr(1);  // national French format
  return digits;
}

// A customer's consent as it now stands (p: customer_id, channel, purpose, granted, source,
// changed_at, source_at).
constexpr std::string_view kUpsertConsent =
    "INSERT INTO customer_consents (customer_id, channel, purpose, granted, source, changed_at, source_at) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (customer_id, channel, purpose) DO UPDATE SET "
    "granted = excluded.granted, source = excluded.source, changed_at = excluded.changed_at, "
    "source_at = excluded.source_at";

Status store_children(storage::Tx& tx, int64_t id, const CustomerInput& in, Millis now, bool fresh, bool merged_consents) {
  auto replace = [&](std::string_view table) -> Status {
    if (fresh) return ok();  // a new customer has nothing to replace
    Value p[] = {id};
    FIDELIS_RETURN_IF_ERROR(tx.exec(fmt::format("DELETE FROM {} WHERE customer_id = $1", table), p));
    return ok();
  };
  if (in.emails) {
    // The import that brought each address stays with it, whoever rewrites the list: read back
    // unless every address comes with its own (a list built from the loaded profile).
    std::map<std::string, int64_t> brought;
    const bool all_known = std::all_of(in.emails->begin(), in.emails->end(), [](const EmailAddress& e) { return e.import_id; });
    if (!fresh && !all_known) {
      Value q[] = {id};
      FIDELIS_ASSIGN_OR_RETURN(
          storage::Rows rows, tx.query("SELECT email_key, import_id FROM customer_emails WHERE customer_id = $1 AND import_id IS NOT NULL", q));
      for (const auto& r : rows.rows) brought.emplace(r.str(0), r.i64(1));
    }
    FIDELIS_RETURN_IF_ERROR(replace("customer_emails"));
    for (size_t i = 0; i < in.emails->size(); ++i) {
      const auto& e = (*in.emails)[i];
      std::string key = text::to_lower(e.email);
      std::optional<int64_t> import_id = e.import_id;
      if (auto it = brought.find(key); it != brought.end()) import_id = it->second;
      Value p[] = {id, static_cast<int64_t>(i), e.email, key, e.label, mailbox_key_column(key), storage::opt(import_id)};
      FIDELIS_RETURN_IF_ERROR(tx.exec(
          "INSERT INTO customer_emails (customer_id, position, email, email_key, label, mailbox_key, import_id) "
          "VALUES ($1, $2, $3, $4, $5, $6, $7)",
          p));
    }
  }
  if (in.phones) {
    FIDELIS_RETURN_IF_ERROR(replace("customer_phones"));
    for (size_t i = 0; i < in.phones->size(); ++i) {
      const auto& ph = (*in.phones)[i];
      Value p[] = {id, static_cast<int64_t>(i), ph.raw, storage::opt(ph.e164), phone_key(ph),
                   std::string(phone_type_name(ph.type)), int64_t{ph.valid}, ph.label};
      FIDELIS_RETURN_IF_ERROR(tx.exec(
          "INSERT INTO customer_phones (customer_id, position, raw, e164, phone_key, type, valid, label) "
          "VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
          p));
    }
  }
  if (in.household) {
    FIDELIS_RETURN_IF_ERROR(replace("customer_household"));
    for (size_t i = 0; i < in.household->size(); ++i) {
      const auto& m = (*in.household)[i];
      Value p[] = {id, static_cast<int64_t>(i), m.relation, storage::opt(m.first_name), storage::opt(m.birth_date)};
      FIDELIS_RETURN_IF_ERROR(tx.exec(
          "INSERT INTO customer_household (customer_id, position, relation, first_name, birth_date) "
          "VALUES ($1, $2, $3, $4, $5)",
          p));
    }
  }
  if (in.affinities) {
    FIDELIS_RETURN_IF_ERROR(replace("customer_affinities"));
    for (const auto& a : *in.affinities) {
      Value p[] = {id, a.category, static_cast<int64_t>(a.strength)};
      FIDELIS_RETURN_IF_ERROR(
          tx.exec("INSERT INTO customer_affinities (customer_id, category, strength) VALUES ($1, $2, $3)", p));
    }
  }
  if (in.tags) {
    FIDELIS_RETURN_IF_ERROR(replace("customer_tags"));
    for (const auto& t : *in.tags) {
      Value p[] = {id, t};
      FIDELIS_RETURN_IF_ERROR(tx.exec("INSERT INTO customer_tags (customer_id, tag) VALUES ($1, $2)", p));
    }
  }
  if (in.external_ids) {
    FIDELIS_RETURN_IF_ERROR(replace("customer_external_ids"));
    for (size_t i = 0; i < in.external_ids->size(); ++i) {
      const auto& x = (*in.external_ids)[i];
      Value p[] = {id, x.source, x.id};
      auto r = tx.exec("INSERT INTO customer_external_ids (customer_id, source, external_id) VALUES ($1, $2, $3)", p);
      if (!r && r.error().code == Code::kAlreadyExists)
        return Error::already_exists(fmt::format("external_ids[{}]", i),
                                     "another customer has this id in " + x.source);
      if (!r) return r.error();
    }
  }
  if (in.custom_fields) {
    for (const auto& [key, value] : *in.custom_fields) {
      Value del[] = {id, key};
      if (!fresh)
        FIDELIS_RETURN_IF_ERROR(tx.exec("DELETE FROM customer_custom_values WHERE customer_id = $1 AND key = $2", del));
      if (!value) continue;
      Value text_v = storage::null(), int_v = storage::null(), real_v = storage::null();
      std::string type;
      if (const auto* s = std::get_if<std::string>(&*value)) text_v = *s, type = "text";
      else if (const auto* n = std::get_if<int64_t>(&*value)) int_v = *n, type = "integer";
      else if (const auto* d = std::get_if<double>(&*value)) real_v = *d, type = "number";
      else if (const auto* b = std::get_if<bool>(&*value)) int_v = int64_t{*b}, type = "boolean";
      Value p[] = {id, key, type, text_v, int_v, real_v};
      FIDELIS_RETURN_IF_ERROR(tx.exec(
          "INSERT INTO customer_custom_values (customer_id, key, value_type, value_text, value_int, value_real) "
          "VALUES ($1, $2, $3, $4, $5, $6)",
          p));
    }
  }
  if (in.consents) {
    for (const auto& c : *in.consents) {
      Value key[] = {id, std::string(channel_name(c.channel)), std::string(purpose_name(c.purpose))};
      std::optional<storage::Row> cur;
      if (!fresh) {
        FIDELIS_ASSIGN_OR_RETURN(
            cur, tx.one("SELECT granted FROM customer_consents WHERE customer_id = $1 AND channel = $2 AND purpose = $3", key));
      }
      if (cur && (cur->i64(0) != 0) == c.granted) continue;  // unchanged: no event
      if (!merged_consents) {
        FIDELIS_RETURN_IF_ERROR(record_consent(tx, id, c, now));
        continue;
      }
      Value p[] = {id, std::string(channel_name(c.channel)), std::string(purpose_name(c.purpose)), int64_t{c.granted},
                   c.source, c.changed_at, storage::opt(c.source_at)};
      FIDELIS_RETURN_IF_ERROR(tx.exec(kUpsertConsent, p));
    }
  }
  return ok();
}

Status record_consent(storage::Tx& tx, int64_t id, const Consent& c, Millis now) {
  // A source's date is never later than the recording (inputs are checked; a clock set back is not).
  std::optional<Millis> source_at = c.source_at;
  if (source_at) source_at = std::min(*source_at, now);
  Value p[] = {id, std::string(channel_name(c.channel)), std::string(purpose_name(c.purpose)), int64_t{c.granted},
               c.source, now, storage::opt(source_at)};
  FIDELIS_RETURN_IF_ERROR(tx.exec(kUpsertConsent, p));
  FIDELIS_RETURN_IF_ERROR(tx.exec(
      "INSERT INTO consent_events (customer_id, channel, purpose, granted, source, at, source_at) "
      "VALUES ($1, $2, $3, $4, $5, $6, $7)",
      p));
  return ok();
}

namespace {

constexpr std::string_view kCustomerColumns =
    "id, civility, first_name, last_name, birth_date, street, street2, postcode, city, country, version, "
    "created_at, updated_at, deleted_at";

template <typename Q>
Result<std::vector<Customer>> load_with(Q&& query, std::span<const int64_t> ids) {
  std::vector<Customer> out;
  if (ids.empty()) return out;
  std::vector<Value> params;
  std::string in_list = storage::append_in_list(params, ids);
  FIDELIS_ASSIGN_OR_RETURN(
      storage::Rows base,
      query(fmt::format("SELECT {} FROM customers WHERE id IN ({})", kCustomerColumns, in_list), params));
  std::unordered_map<int64_t, Customer> by_id;
  for (const auto& r : base.rows) {
    Customer c;
    c.id = r.i64(0);
    c.civility = r.opt_str(1);
    c.first_name = r.opt_str(2);
    c.last_name = r.opt_str(3);
    c.birth_date = r.opt_str(4);
    c.address = Address{r.opt_str(5), r.opt_str(6), r.opt_str(7), r.opt_str(8), r.opt_str(9)};
    c.version = r.i64(10);
    c.created_at = r.i64(11);
    c.updated_at = r.i64(12);
    c.deleted_at = r.opt_i64(13);
    by_id.emplace(c.id, std::move(c));
  }
  if (by_id.empty()) return out;
  // Everything attached to the customers in one statement: one round trip on PostgreSQL, one
  // statement on SQLite. Columns: kind, customer, three texts, two integers, a real, sort key.
  std::string sql;
  auto part = [&](int kind, std::string_view cols, std::string_view table) {
    if (!sql.empty()) sql += " UNION ALL ";
    sql += fmt::format("SELECT {} AS k, customer_id AS cid, {} FROM {} WHERE customer_id IN ({})", kind, cols, table, in_list);
  };
  constexpr std::string_view kNullText = "CAST(NULL AS TEXT)", kNullInt = "CAST(NULL AS BIGINT)",
                             kNullReal = "CAST(NULL AS DOUBLE PRECISION)";
  part(1, fmt::format("email AS a, label AS b, {0} AS c, {0} AS d, CAST(position AS BIGINT) AS n1, "
                      "CAST(import_id AS BIGINT) AS n2, {1} AS r, CAST(position AS BIGINT) AS o",
                      kNullText, kNullReal),
       "customer_emails");
  part(2, fmt::format("raw, e164, type, label, CAST(position AS BIGINT), CAST(valid AS BIGINT), {0}, CAST(position AS BIGINT)", kNullReal),
       "customer_phones");
  part(3, fmt::format("relation, first_name, birth_date, {0}, CAST(position AS BIGINT), {1}, {2}, CAST(position AS BIGINT)",
                      kNullText, kNullInt, kNullReal),
       "customer_household");
  part(4, fmt::format("category, {0}, {0}, {0}, CAST(strength AS BIGINT), {1}, {2}, CAST(-strength AS BIGINT)", kNullText, kNullInt, kNullReal),
       "customer_affinities");
  // source_at in the real column (epoch milliseconds are exact in a double).
  part(5, fmt::format("channel, purpose, source, {0}, CAST(granted AS BIGINT), changed_at, CAST(source_at AS DOUBLE PRECISION), "
                      "CAST(0 AS BIGINT)",
                      kNullText),
       "customer_consents");
  part(6, fmt::format("tag, {0}, {0}, {0}, {1}, {1}, {2}, CAST(0 AS BIGINT)", kNullText, kNullInt, kNullReal), "customer_tags");
  part(7, fmt::format("source, external_id, {0}, {0}, {1}, {1}, {2}, CAST(0 AS BIGINT)", kNullText, kNullInt, kNullReal),
       "customer_external_ids");
  part(8, fmt::format("key, value_text, value_type, {0}, value_int, {1}, value_real, CAST(0 AS BIGINT)", kNullText, kNullInt),
       "customer_custom_values");
  FIDELIS_ASSIGN_OR_RETURN(storage::Rows rows, query(sql, params));
  // Sorted here rather than by ORDER BY: a handful of rows, and SQLite would build a temporary
  // B-tree for each branch of the UNION.
  std::vector<const storage::Row*> sorted;
  sorted.reserve(rows.rows.size());
  for (const auto& r : rows.rows) sorted.push_back(&r);
  std::stable_sort(sorted.begin(), sorted.end(), [](const storage::Row* x, const storage::Row* y) {
    if (x->i64(0) != y->i64(0)) return x->i64(0) < y->i64(0);
    if (x->i64(1) != y->i64(1)) return x->i64(1) < y->i64(1);
    if (x->i64(9) != y->i64(9)) return x->i64(9) < y->i64(9);
    if (int c = x->str(2).compare(y->str(2)); c != 0) return c < 0;
    return x->str(3) < y->str(3);
  });
  for (const storage::Row* row : sorted) {
    const storage::Row& r = *row;
    auto it = by_id.find(r.i64(1));
    if (it == by_id.end()) continue;
    Customer& c = it->second;
    switch (r.i64(0)) {
      case 1: c.emails.push_back({r.str(2), r.str(3), r.opt_i64(7)}); break;
      case 2: {
        Phone p;
        p.raw = r.str(2);
        p.e164 = r.opt_str(3);
        std::string t = r.str(4);
        p.type = t == "mobile" ? PhoneType::kMobile : t == "fixed" ? PhoneType::kFixed : t == "other" ? PhoneType::kOther : PhoneType::kUnknown;
        p.label = r.str(5);
        p.valid = r.i64(7) != 0;
        c.phones.push_back(std::move(p));
        break;
      }
      case 3: c.household.push_back({r.str(2), r.opt_str(3), r.opt_str(4)}); break;
      case 4: c.affinities.push_back({r.str(2), static_cast<int>(r.i64(6))}); break;
      case 5: {
        Consent k;
        k.channel = parse_channel(r.str(2), "channel").value_or(Channel::kEmail);
        k.purpose = parse_purpose(r.str(3), "purpose").value_or(Purpose::kNewsletter);
        k.source = r.str(4);
        k.granted = r.i64(6) != 0;
        k.changed_at = r.i64(7);
        if (!r.is_null(8)) k.source_at = std::llround(r.f64(8));
        c.consents.push_back(std::move(k));
        break;
      }
      case 6: c.tags.push_back(r.str(2)); break;
      case 7: c.external_ids.push_back({r.str(2), r.str(3)}); break;
      case 8: {
        CustomValue v;
        std::string type = r.str(4);
        if (type == "text") v = r.str(3);
        else if (type == "integer") v = r.i64(6);
        else if (type == "boolean") v = r.i64(6) != 0;
        else v = r.f64(8);
        c.custom_fields.emplace(r.str(2), std::move(v));
        break;
      }
    }
  }
  for (int64_t id : ids) {
    auto it = by_id.find(id);
    if (it != by_id.end()) out.push_back(std::move(it->second));
  }
  return out;
}

}  // namespace

Result<std::vector<Customer>> load_customers(storage::Db& db, std::span<const int64_t> ids) {
  std::vector<Customer> out;
  FIDELIS_RETURN_IF_ERROR(db.read([&](storage::Tx& tx) -> Status {
    FIDELIS_ASSIGN_OR_RETURN(out, load_customers(tx, ids));
    return ok();
  }));
  return out;
}

Result<std::vector<Customer>> load_customers(storage::Tx& tx, std::span<const int64_t> ids) {
  return load_with([&](std::string_view sql, std::span<const Value> p) { return tx.query(sql, p); }, ids);
}

// AlreadyExists when another live customer uses one of these e-mails.
Status check_emails_free(storage::Tx& tx, int64_t self, const std::vector<EmailAddress>& emails) {
  std::vector<std::string> addresses;
  for (const EmailAddress& e : emails) addresses.push_back(e.email);
  FIDELIS_RETURN_IF_ERROR(lock_mailboxes(tx, addresses));
  for (size_t i = 0; i < emails.size(); ++i) {
    Value p[] = {text::to_lower(emails[i].email), self};
    FIDELIS_ASSIGN_OR_RETURN(std::optional<storage::Row> row,
                             tx.one("SELECT e.customer_id FROM customer_emails e JOIN customers c ON c.id = e.customer_id "
                                    "WHERE e.email_key = $1 AND c.deleted_at IS NULL AND c.id <> $2 LIMIT 1",
                                    p));
    if (row)
      return Error::already_exists(fmt::format("emails[{}].email", i),
                                   fmt::format("customer {} already uses this e-mail", row->i64(0)));
  }
  return ok();
}

// Loads the profile as it now is inside `tx`, stores its document, and returns it.
Result<Customer> refresh_document(storage::Tx& tx, int64_t id) {
  int64_t ids[] = {id};
  FIDELIS_ASSIGN_OR_RETURN(std::vector<Customer> loaded, load_customers(tx, ids));
  if (loaded.empty()) return Error::not_found("id", fmt::format("no customer {}", id));
  Value p[] = {id, render_document(loaded[0])};
  FIDELIS_RETURN_IF_ERROR(tx.exec(
      "INSERT INTO customer_docs (customer_id, doc) VALUES ($1, $2) ON CONFLICT (customer_id) DO UPDATE SET doc = excluded.doc",
      p));
  return std::move(loaded[0]);
}

void sort_as_loaded(Customer& c) {
  std::stable_sort(c.affinities.begin(), c.affinities.end(), [](const Affinity& x, const Affinity& y) {
    return x.strength != y.strength ? x.strength > y.strength : x.category < y.category;
  });
  std::stable_sort(c.consents.begin(), c.consents.end(), [](const Consent& x, const Consent& y) {
    return std::pair(channel_name(x.channel), purpose_name(x.purpose)) < std::pair(channel_name(y.channel), purpose_name(y.purpose));
  });
  std::sort(c.tags.begin(), c.tags.end());
  std::sort(c.external_ids.begin(), c.external_ids.end(), [](const ExternalId& x, const ExternalId& y) {
    return std::pair(x.source, x.id) < std::pair(y.source, y.id);
  });
}

Result<Customer> insert_customer(storage::Tx& tx, const CustomerInput& in, Millis now) {
  NameKeys keys = name_keys(in.first_name, in.last_name);
  const Address a = in.address.value_or(Address{});
  Value p[] = {storage::opt(in.civility), storage::opt(in.first_name), storage::opt(in.last_name), keys.last_first,
               keys.first_last, storage::opt(in.birth_date), storage::opt(a.street), storage::opt(a.street2),
               storage::opt(a.postcode), storage::opt(a.city),
               a.city ? Value(text::search_key(*a.city)) : storage::null(), storage::opt(a.country), now};
  FIDELIS_ASSIGN_OR_RETURN(
      int64_t id,
      tx.insert_id("INSERT INTO customers (civility, first_name, last_name, name_key, name_key2, birth_date, street, "
                   "street2, postcode, city, city_key, country, version, created_at, updated_at) VALUES ($1, $2, $3, "
                   "$4, $5, $6, $7, $8, $9, $10, $11, $12, 1, $13, $13)",
                   p));
  FIDELIS_RETURN_IF_ERROR(store_children(tx, id, in, now, /*fresh=*/true));
  // The stored profile is exactly the input, in the order load_customers gives: no need to read it back.
  Customer c;
  c.id = id;
  c.civility = in.civility;
  c.first_name = in.first_name;
  c.last_name = in.last_name;
  c.birth_date = in.birth_date;
  c.emails = in.emails.value_or(std::vector<EmailAddress>{});
  c.phones = in.phones.value_or(std::vector<Phone>{});
  c.address = a;
  c.household = in.household.value_or(std::vector<HouseholdMember>{});
  c.affinities = in.affinities.value_or(std::vector<Affinity>{});
  for (Consent k : in.consents.value_or(std::vector<Consent>{})) {
    k.changed_at = now;
    c.consents.push_back(std::move(k));
  }
  c.tags = in.tags.value_or(std::vector<std::string>{});
  if (in.custom_fields)
    for (const auto& [k, v] : *in.custom_fields)
      if (v) c.custom_fields.emplace(k, *v);
  c.external_ids = in.external_ids.value_or(std::vector<ExternalId>{});
  sort_as_loaded(c);
  c.version = 1;
  c.created_at = c.updated_at = now;
  Value d[] = {id, render_document(c)};
  FIDELIS_RETURN_IF_ERROR(tx.exec("INSERT INTO customer_docs (customer_id, doc) VALUES ($1, $2)", d));
  return c;
}

Result<std::vector<CustomFieldDef>> load_custom_field_defs(storage::Db& db) {
  FIDELIS_ASSIGN_OR_RETURN(storage::Rows rows, db.query("SELECT key, label, type, choices FROM custom_field_defs ORDER BY key"));
  std::vector<CustomFieldDef> out;
  for (const auto& r : rows.rows) {
    CustomFieldDef d;
    d.key = r.str(0);
    d.label = r.str(1);
    d.type = parse_custom_field_type(r.str(2), "type").value_or(CustomFieldType::kText);
    // Choices are stored one per line: no JSON library in the domain.
    std::string choices = r.str(3);
    size_t start = 0;
    while (start < choices.size()) {
      size_t end = choices.find('\n', start);
      if (end == std::string::npos) end = choices.size();
      if (end > start) d.choices.push_back(choices.substr(start, end - start));
      start = end + 1;
    }
    out.push_back(std::move(d));
  }
  return out;
}

}  // namespace fidelis::customers

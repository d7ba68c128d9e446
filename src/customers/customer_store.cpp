// The SQL that writes a profile's lists and loads whole profiles, a batch of ids at a time.

#include <fmt/format.h>

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
  if (p.e164) return p.e164->substr(1);
  std::string digits;
  for (char c : p.raw)
    if (c >= '0' && c <= '9') digits += c;
  return digits;
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

Status store_children(storage::Tx& tx, int64_t id, const CustomerInput& in, Millis now) {
  auto replace = [&](std::string_view table) -> Status {
    Value p[] = {id};
    FIDELIS_RETURN_IF_ERROR(tx.exec(fmt::format("DELETE FROM {} WHERE customer_id = $1", table), p));
    return ok();
  };
  if (in.emails) {
    FIDELIS_RETURN_IF_ERROR(replace("customer_emails"));
    for (size_t i = 0; i < in.emails->size(); ++i) {
      const auto& e = (*in.emails)[i];
      Value p[] = {id, static_cast<int64_t>(i), e.email, text::to_lower(e.email), e.label};
      FIDELIS_RETURN_IF_ERROR(tx.exec(
          "INSERT INTO customer_emails (customer_id, position, email, email_key, label) VALUES ($1, $2, $3, $4, $5)", p));
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
      FIDELIS_RETURN_IF_ERROR(tx.exec("DELETE FROM customer_custom_values WHERE customer_id = $1 AND key = $2", del));
      if (!value) continue;
      Value text_v = storage::null(), int_v = storage::null(), real_v = storage::null();
      if (const auto* s = std::get_if<std::string>(&*value)) text_v = *s;
      else if (const auto* n = std::get_if<int64_t>(&*value)) int_v = *n;
      else if (const auto* d = std::get_if<double>(&*value)) real_v = *d;
      else if (const auto* b = std::get_if<bool>(&*value)) int_v = int64_t{*b};
      Value p[] = {id, key, text_v, int_v, real_v};
      FIDELIS_RETURN_IF_ERROR(tx.exec(
          "INSERT INTO customer_custom_values (customer_id, key, value_text, value_int, value_real) "
          "VALUES ($1, $2, $3, $4, $5)",
          p));
    }
  }
  if (in.consents) {
    for (const auto& c : *in.consents) {
      Value key[] = {id, std::string(channel_name(c.channel)), std::string(purpose_name(c.purpose))};
      FIDELIS_ASSIGN_OR_RETURN(
          std::optional<storage::Row> cur,
          tx.one("SELECT granted FROM customer_consents WHERE customer_id = $1 AND channel = $2 AND purpose = $3", key));
      if (cur && (cur->i64(0) != 0) == c.granted) continue;  // unchanged: no event
      Value p[] = {id, std::string(channel_name(c.channel)), std::string(purpose_name(c.purpose)), int64_t{c.granted},
                   c.source, now};
      FIDELIS_RETURN_IF_ERROR(tx.exec(
          "INSERT INTO customer_consents (customer_id, channel, purpose, granted, source, changed_at) "
          "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (customer_id, channel, purpose) DO UPDATE SET "
          "granted = excluded.granted, source = excluded.source, changed_at = excluded.changed_at",
          p));
      FIDELIS_RETURN_IF_ERROR(tx.exec(
          "INSERT INTO consent_events (customer_id, channel, purpose, granted, source, at) VALUES ($1, $2, $3, $4, $5, $6)",
          p));
    }
  }
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
  std::string in_list;
  std::vector<Value> params;
  for (size_t i = 0; i < ids.size(); ++i) {
    in_list += fmt::format("{}${}", i ? ", " : "", i + 1);
    params.emplace_back(ids[i]);
  }
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
  auto each = [&](std::string_view sql_head, std::string_view order, auto&& fn) -> Status {
    FIDELIS_ASSIGN_OR_RETURN(storage::Rows rows,
                             query(fmt::format("{} WHERE customer_id IN ({}) ORDER BY customer_id, {}", sql_head,
                                               in_list, order),
                                   params));
    for (const auto& r : rows.rows) {
      auto it = by_id.find(r.i64(0));
      if (it != by_id.end()) fn(it->second, r);
    }
    return ok();
  };
  FIDELIS_RETURN_IF_ERROR(each("SELECT customer_id, email, label FROM customer_emails", "position",
                               [](Customer& c, const storage::Row& r) { c.emails.push_back({r.str(1), r.str(2)}); }));
  FIDELIS_RETURN_IF_ERROR(each("SELECT customer_id, raw, e164, type, valid, label FROM customer_phones", "position",
                               [](Customer& c, const storage::Row& r) {
                                 Phone p;
                                 p.raw = r.str(1);
                                 p.e164 = r.opt_str(2);
                                 std::string t = r.str(3);
                                 p.type = t == "mobile" ? PhoneType::kMobile
                                          : t == "fixed" ? PhoneType::kFixed
                                          : t == "other" ? PhoneType::kOther
                                                         : PhoneType::kUnknown;
                                 p.valid = r.i64(4) != 0;
                                 p.label = r.str(5);
                                 c.phones.push_back(std::move(p));
                               }));
  FIDELIS_RETURN_IF_ERROR(each("SELECT customer_id, relation, first_name, birth_date FROM customer_household",
                               "position", [](Customer& c, const storage::Row& r) {
                                 c.household.push_back({r.str(1), r.opt_str(2), r.opt_str(3)});
                               }));
  FIDELIS_RETURN_IF_ERROR(each("SELECT customer_id, category, strength FROM customer_affinities", "strength DESC, category",
                               [](Customer& c, const storage::Row& r) {
                                 c.affinities.push_back({r.str(1), static_cast<int>(r.i64(2))});
                               }));
  FIDELIS_RETURN_IF_ERROR(each("SELECT customer_id, channel, purpose, granted, source, changed_at FROM customer_consents",
                               "channel, purpose", [](Customer& c, const storage::Row& r) {
                                 Consent k;
                                 k.channel = parse_channel(r.str(1), "channel").value_or(Channel::kEmail);
                                 k.purpose = parse_purpose(r.str(2), "purpose").value_or(Purpose::kNewsletter);
                                 k.granted = r.i64(3) != 0;
                                 k.source = r.str(4);
                                 k.changed_at = r.i64(5);
                                 c.consents.push_back(std::move(k));
                               }));
  FIDELIS_RETURN_IF_ERROR(each("SELECT customer_id, tag FROM customer_tags", "tag",
                               [](Customer& c, const storage::Row& r) { c.tags.push_back(r.str(1)); }));
  FIDELIS_RETURN_IF_ERROR(each("SELECT customer_id, source, external_id FROM customer_external_ids", "source, external_id",
                               [](Customer& c, const storage::Row& r) { c.external_ids.push_back({r.str(1), r.str(2)}); }));
  FIDELIS_RETURN_IF_ERROR(each("SELECT customer_id, key, value_text, value_int, value_real FROM customer_custom_values",
                               "key", [](Customer& c, const storage::Row& r) {
                                 CustomValue v;
                                 if (!r.is_null(2)) v = r.str(2);
                                 else if (!r.is_null(3)) v = r.i64(3);
                                 else v = r.f64(4);
                                 c.custom_fields.emplace(r.str(1), std::move(v));
                               }));
  for (int64_t id : ids) {
    auto it = by_id.find(id);
    if (it != by_id.end()) out.push_back(std::move(it->second));
  }
  return out;
}

}  // namespace

Result<std::vector<Customer>> load_customers(storage::Db& db, std::span<const int64_t> ids) {
  return load_with([&](std::string_view sql, std::span<const Value> p) { return db.query(sql, p); }, ids);
}

Result<std::vector<Customer>> load_customers(storage::Tx& tx, std::span<const int64_t> ids) {
  return load_with([&](std::string_view sql, std::span<const Value> p) { return tx.query(sql, p); }, ids);
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

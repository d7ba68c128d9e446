// Creating and merging customers inside a caller's transaction: what imports build on.

#include <fmt/format.h>

#include <algorithm>

#include "core/log.h"
#include "core/text.h"
#include "customers/customer_internal.h"

namespace fidelis::customers {

using storage::Value;

Status validate_customer_input(CustomerInput& in, const std::vector<CustomFieldDef>& defs, Millis now,
                               std::string_view phone_region) {
  return validate_input(in, defs, now, phone_region);
}

Result<Customer> create_in(storage::Tx& tx, const CustomerInput& in, Millis now) {
  FIDELIS_ASSIGN_OR_RETURN(Customer c, insert_customer(tx, in, now));
  FIDELIS_RETURN_IF_ERROR(audit::emit(
      tx, {"customer.created", c.id, std::to_string(c.id), fmt::format(R"({{"id":{},"version":1}})", c.id)}, now));
  return c;
}

namespace {

template <typename T, typename Same>
void add_missing(std::vector<T>& into, const std::vector<T>& from, Same same) {
  for (const T& x : from)
    if (std::none_of(into.begin(), into.end(), [&](const T& y) { return same(x, y); })) into.push_back(x);
}

}  // namespace

Result<std::optional<int64_t>> survivor(storage::Tx& tx, int64_t id) {
  for (int hop = 0; hop < 16; ++hop) {
    Value p[] = {id};
    FIDELIS_ASSIGN_OR_RETURN(std::optional<storage::Row> row,
                             tx.one("SELECT deleted_at, merged_into FROM customers WHERE id = $1", p));
    if (!row) return std::optional<int64_t>();
    if (row->is_null(0)) return std::optional<int64_t>(id);
    if (row->is_null(1)) return std::optional<int64_t>();
    id = row->i64(1);
  }
  return std::optional<int64_t>();
}

namespace {

bool same_address(const Address& x, const Address& y) {
  return x.street == y.street && x.street2 == y.street2 && x.postcode == y.postcode && x.city == y.city &&
         x.country == y.country;
}

}  // namespace

std::optional<Millis> decided_at(const Consent& k, bool recorded_by_import) {
  if (k.source_at) return std::min(*k.source_at, k.changed_at);
  if (recorded_by_import) return std::nullopt;
  return k.changed_at;
}

bool prevails(const Consent& b, bool b_by_import, const Consent& a, bool a_by_import) {
  const std::optional<Millis> bat = decided_at(b, b_by_import), aat = decided_at(a, a_by_import);
  if (bat && aat && *bat != *aat) return *bat > *aat;
  if (b.granted && b_by_import) return false;  // a's withdrawal stays
  if (a.granted && a_by_import) return true;   // b's withdrawal beats an imported grant
  return b.changed_at > a.changed_at;
}

bool import_decision_applies(const Consent& given, const Consent& held, bool held_by_import) {
  const std::optional<Millis> held_at = decided_at(held, held_by_import);
  if (!held_at || !given.source_at) return !given.granted;
  return given.granted ? *given.source_at > *held_at : *given.source_at >= *held_at;
}

Result<ScreenedConsents> screen_import_consents(storage::Tx& tx, int64_t customer_id, const std::vector<Consent>& given) {
  ScreenedConsents out;
  for (const Consent& c : given) {
    Value k[] = {customer_id, std::string(channel_name(c.channel)), std::string(purpose_name(c.purpose)), c.source};
    FIDELIS_ASSIGN_OR_RETURN(
        std::optional<storage::Row> held,
        tx.one("SELECT c.granted, c.source, c.changed_at, c.source_at, s.name FROM customer_consents c LEFT JOIN "
               "sources s ON s.name = c.source WHERE c.customer_id = $1 AND c.channel = $2 AND c.purpose = $3",
               std::span<const Value>(k, 3)));
    // What the source last said: its last recorded decision, or its last statement, the later.
    FIDELIS_ASSIGN_OR_RETURN(
        std::optional<storage::Row> said,
        tx.one("SELECT granted, at FROM (SELECT granted, at, 0 AS o FROM consent_events WHERE customer_id = $1 AND "
               "channel = $2 AND purpose = $3 AND source = $4 UNION ALL SELECT granted, at, 1 AS o FROM "
               "consent_statements WHERE customer_id = $1 AND channel = $2 AND purpose = $3 AND source = $4) s "
               "ORDER BY at DESC, o DESC LIMIT 1",
               k));
    const bool said_same = said && (said->i64(0) != 0) == c.granted;
    if (held && (held->i64(0) != 0) == c.granted) {  // as the customer has it
      if (!said_same) out.statements.push_back(c);
      continue;
    }
    // Whether the row's decision changes the customer's, by the dates both were made.
    std::optional<Consent> h;
    bool held_by_import = false;
    if (held) {
      h = Consent{c.channel, c.purpose, held->i64(0) != 0, held->str(1), held->i64(2), held->opt_i64(3)};
      held_by_import = !held->is_null(4);  // an import's source
    }
    const bool applies = !h || import_decision_applies(c, *h, held_by_import);
    if (c.granted && !applies) {
      out.refused.emplace_back(c, fmt::format("withdrawn on {} ({}): an import does not give a withdrawn consent back "
                                              "unless it dates it after the withdrawal; the person can, through a "
                                              "questionnaire, a form or the API",
                                              format_iso8601(decided_at(*h, held_by_import).value_or(h->changed_at)).substr(0, 10),
                                              h->source));
      if (!said_same) out.statements.push_back(c);
      continue;
    }
    // The source said "no" before, the person said yes since, and the source said nothing else
    // meanwhile: the source repeats itself.
    if (!c.granted && said_same) continue;
    if (!c.granted && !applies) {
      out.refused.emplace_back(c, fmt::format("withdrawn on {}, before the consent given on {} ({}): an older "
                                              "withdrawal does not undo a later consent",
                                              format_iso8601(*c.source_at).substr(0, 10),
                                              format_iso8601(*decided_at(*h, held_by_import)).substr(0, 10), h->source));
      out.statements.push_back(c);
      continue;
    }
    out.news.push_back(c);
  }
  return out;
}

Status record_statements(storage::Tx& tx, int64_t customer_id, const std::vector<Consent>& statements, Millis now) {
  for (const Consent& c : statements) {
    Value p[] = {customer_id, c.source, std::string(channel_name(c.channel)), std::string(purpose_name(c.purpose)),
                 int64_t{c.granted}, now};
    FIDELIS_RETURN_IF_ERROR(tx.exec(
        "INSERT INTO consent_statements (customer_id, source, channel, purpose, granted, at) VALUES ($1, $2, $3, $4, $5, $6) "
        "ON CONFLICT (customer_id, source, channel, purpose) DO UPDATE SET granted = excluded.granted, at = excluded.at",
        p));
  }
  return ok();
}

namespace {

// merge_into once, from the profile as read now: nullopt when another transaction changed the
// customer between that reading and the writing (its version moved).
Result<std::optional<MergeOutcome>> merge_into_as_read(storage::Tx& tx, int64_t id, const CustomerInput& in, Replace replace,
                                                       Millis now, bool replace_lists, bool dry_run) {
  const bool overwrite = replace == Replace::kValues;
  int64_t ids[] = {id};
  FIDELIS_ASSIGN_OR_RETURN(std::vector<Customer> found, load_customers(tx, ids));
  if (found.empty() || found[0].deleted_at) return Error::not_found("id", fmt::format("no customer {}", id));
  Customer cur = std::move(found[0]);
  auto pick = [&](const std::optional<std::string>& given, const std::optional<std::string>& old) {
    if (!given) return old;
    // The same value written with less care ("HELENE" for "Hélène", a file without accents) does
    // not rewrite it; a row of the customer's own export (replace_lists) is what a person typed.
    if (!replace_lists && same_value(given, old) && better_written(*old, *given)) return old;
    // The same value written with more care ("Hélène" for a stored "Helene", no person's typing)
    // says nothing the customer's value does not: an improvement, where the input may only fill gaps.
    if (replace != Replace::kGaps && same_value(given, old) && better_written(*given, *old)) return given;
    return overwrite || !old ? given : old;
  };
  // What `clear` names is emptied, when the input may overwrite.
  auto cleared = [&](std::string_view f) { return overwrite && std::find(in.clear.begin(), in.clear.end(), f) != in.clear.end(); };
  auto pick_or_clear = [&](std::string_view f, const std::optional<std::string>& given, const std::optional<std::string>& old) {
    return cleared(f) ? std::nullopt : pick(given, old);
  };
  std::optional<std::string> civility = pick_or_clear("civility", in.civility, cur.civility);
  std::optional<std::string> first = pick_or_clear("first_name", in.first_name, cur.first_name);
  std::optional<std::string> last = pick_or_clear("last_name", in.last_name, cur.last_name);
  if (cleared("first_name") || cleared("last_name")) {
    // Names emptied with nothing else left to reach the person by: the names stay.
    std::vector<EmailAddress> emails = replace_lists && in.emails ? *in.emails : cur.emails;
    std::vector<Phone> phones = replace_lists && in.phones ? *in.phones : cur.phones;
    if (!replace_lists && in.emails) emails.insert(emails.end(), in.emails->begin(), in.emails->end());
    if (!replace_lists && in.phones) phones.insert(phones.end(), in.phones->begin(), in.phones->end());
    if (!makes_a_customer(first, last, emails, phones)) {
      if (!first) first = cur.first_name;
      if (!last) last = cur.last_name;
    }
  }
  // A year either side knows completes the same day and month without one, whichever side is kept.
  std::optional<std::string> birth = pick_or_clear("birth_date", in.birth_date, cur.birth_date);
  birth = with_birth_year(birth, birth == cur.birth_date ? in.birth_date : cur.birth_date);
  Address a = cur.address;
  bool has_address = a.street || a.postcode || a.city;
  const bool careless = in.address && !replace_lists && same_place(*in.address, a) && better_written(a, *in.address);
  const bool careful = in.address && has_address && replace == Replace::kWriting && same_place(*in.address, a);
  if (in.address && (overwrite || !has_address) && !careless) a = combine_addresses(*in.address, a);
  else if (in.address) a = combine_addresses(a, *in.address);
  // Where the input may only fill gaps, each part it writes with more care ("4 rue Émile Zola" for
  // "4 RUE EMILE ZOLA") replaces the stored part, and no other.
  if (careful)
    for (auto part : {&Address::street, &Address::street2, &Address::postcode, &Address::city}) {
      const std::optional<std::string>& given = (*in.address).*part;
      if (given && a.*part && same_value(given, a.*part) && better_written(*given, *(a.*part))) a.*part = given;
    }
  if (cleared("street")) a.street.reset();
  if (cleared("street2")) a.street2.reset();
  if (cleared("postcode")) a.postcode.reset();
  if (cleared("city")) a.city.reset();
  if (cleared("country")) a.country.reset();
  bool changed = civility != cur.civility || first != cur.first_name || last != cur.last_name ||
                 birth != cur.birth_date || !same_address(a, cur.address);

  // Each list is written only when the row brings something it lacks.
  CustomerInput lists;
  auto extend = [&changed](auto& into, const auto& current, const auto& given, auto same) {
    if (!given) return;
    auto merged = current;
    add_missing(merged, *given, same);
    if (merged.size() == current.size()) return;
    into = std::move(merged);
    changed = true;
  };
  // The row's list is the list, in its order (its first item the main one), keeping what each item
  // it shares with the stored one carries beyond the row's (a label).
  auto replace_list = [&changed](auto& into, const auto& current, const auto& given, auto same) {
    if (!given) return;
    auto wanted = *given;
    for (auto& item : wanted) {
      auto kept = std::find_if(current.begin(), current.end(), [&](const auto& c) { return same(c, item); });
      if (kept != current.end()) item = *kept;
    }
    bool equal = wanted.size() == current.size() &&
                 std::equal(wanted.begin(), wanted.end(), current.begin(), [&](const auto& a, const auto& b) { return same(a, b); });
    if (equal) return;
    into = std::move(wanted);
    changed = true;
  };
  auto same_email = [](const EmailAddress& x, const EmailAddress& y) { return text::to_lower(x.email) == text::to_lower(y.email); };
  auto same_phone = [](const Phone& x, const Phone& y) { return phone_key(x) == phone_key(y); };
  auto same_tag = [](const std::string& x, const std::string& y) { return x == y; };
  if (replace_lists) {
    std::optional<std::vector<std::string>> tags = in.tags;
    if (tags) std::sort(tags->begin(), tags->end());
    replace_list(lists.emails, cur.emails, in.emails, same_email);
    replace_list(lists.phones, cur.phones, in.phones, same_phone);
    replace_list(lists.tags, cur.tags, tags, same_tag);
  } else {
    extend(lists.emails, cur.emails, in.emails, same_email);
    extend(lists.phones, cur.phones, in.phones, same_phone);
    extend(lists.tags, cur.tags, in.tags, same_tag);
  }
  if (lists.tags) std::sort(lists.tags->begin(), lists.tags->end());
  extend(lists.external_ids, cur.external_ids, in.external_ids,
         [](const ExternalId& x, const ExternalId& y) { return x.source == y.source && x.id == y.id; });
  if (replace_lists) {
    // The row's household and affinities are the lists too: a member taken off, a strength changed.
    // A member the row gives without the year the stored one knows keeps the year; a year the row
    // gives is a change.
    if (in.household) {
      std::vector<HouseholdMember> wanted = *in.household;
      for (HouseholdMember& m : wanted)
        for (const HouseholdMember& stored : cur.household)
          if (stored.relation == m.relation && stored.first_name == m.first_name)
            m.birth_date = with_birth_year(m.birth_date, stored.birth_date);
      auto same = [](const HouseholdMember& x, const HouseholdMember& y) {
        return x.relation == y.relation && x.first_name == y.first_name && x.birth_date == y.birth_date;
      };
      if (wanted.size() != cur.household.size() ||
          !std::equal(wanted.begin(), wanted.end(), cur.household.begin(), same)) {
        lists.household = std::move(wanted);
        changed = true;
      }
    }
    // Affinities have no order of their own: compared as stored, strongest first.
    std::optional<std::vector<Affinity>> affinities = in.affinities;
    if (affinities)
      std::stable_sort(affinities->begin(), affinities->end(), [](const Affinity& x, const Affinity& y) {
        return x.strength != y.strength ? x.strength > y.strength : x.category < y.category;
      });
    replace_list(lists.affinities, cur.affinities, affinities,
            [](const Affinity& x, const Affinity& y) { return x.category == y.category && x.strength == y.strength; });
  } else {
    extend(lists.household, cur.household, in.household, [](const HouseholdMember& x, const HouseholdMember& y) {
      return x.relation == y.relation && x.first_name == y.first_name;
    });
    extend(lists.affinities, cur.affinities, in.affinities,
           [](const Affinity& x, const Affinity& y) { return x.category == y.category; });
  }
  ScreenedConsents consents;
  if (in.consents) {
    FIDELIS_ASSIGN_OR_RETURN(consents, screen_import_consents(tx, id, *in.consents));
    if (!consents.news.empty()) changed = true;
    if (!dry_run) FIDELIS_RETURN_IF_ERROR(record_statements(tx, id, consents.statements, now));
  }
  if (in.custom_fields) {
    for (const auto& [key, value] : *in.custom_fields) {
      auto held = cur.custom_fields.find(key);
      bool same = value ? held != cur.custom_fields.end() && held->second == *value : held == cur.custom_fields.end();
      if (same) continue;
      if (!lists.custom_fields) lists.custom_fields.emplace();
      (*lists.custom_fields)[key] = value;
      changed = true;
    }
  }
  // The same record sent again: nothing to write, no new version, no event.
  if (!changed || dry_run) return std::optional(MergeOutcome{std::move(cur), changed, std::move(consents.refused)});

  NameKeys keys = name_keys(first, last);
  Value p[] = {id, storage::opt(civility), storage::opt(first), storage::opt(last), keys.last_first, keys.first_last,
               storage::opt(birth), storage::opt(a.street), storage::opt(a.street2), storage::opt(a.postcode),
               storage::opt(a.city), a.city ? Value(text::search_key(*a.city)) : storage::null(), storage::opt(a.country),
               now, cur.version};
  FIDELIS_ASSIGN_OR_RETURN(
      int64_t written,
      tx.exec("UPDATE customers SET civility = $2, first_name = $3, last_name = $4, name_key = $5, name_key2 = $6, "
              "birth_date = $7, street = $8, street2 = $9, postcode = $10, city = $11, city_key = $12, country = $13, "
              "updated_at = $14, version = version + 1 WHERE id = $1 AND version = $15",
              p));
  if (written != 1) return std::optional<MergeOutcome>();
  FIDELIS_RETURN_IF_ERROR(store_children(tx, id, lists, now));
  for (const Consent& c : consents.news) FIDELIS_RETURN_IF_ERROR(record_consent(tx, id, c, now));
  FIDELIS_ASSIGN_OR_RETURN(Customer merged, refresh_document(tx, id));
  FIDELIS_RETURN_IF_ERROR(audit::emit(
      tx, {"customer.updated", id, std::to_string(id), fmt::format(R"({{"id":{},"version":{},"merge":true}})", id, merged.version)},
      now));
  return std::optional(MergeOutcome{std::move(merged), true, std::move(consents.refused)});
}

}  // namespace

Result<MergeOutcome> merge_into(storage::Tx& tx, int64_t id, const CustomerInput& in, Replace replace, Millis now,
                                bool replace_lists, bool dry_run) {
  // Another writer (an API update, the phone check) may change the customer between this reading
  // and this writing (PostgreSQL): read it again and merge into what it now is.
  for (int attempt = 0; attempt < 5; ++attempt) {
    FIDELIS_ASSIGN_OR_RETURN(std::optional<MergeOutcome> done,
                             merge_into_as_read(tx, id, in, replace, now, replace_lists, dry_run));
    if (done) return std::move(*done);
  }
  return Error::conflict(fmt::format("customer {} kept changing while the row was merged into it; retry", id));
}

Result<Customer> replace_in(storage::Tx& tx, int64_t id, const CustomerInput& in, Millis now,
                            std::optional<int64_t> expected_version) {
  NameKeys keys = name_keys(in.first_name, in.last_name);
  const Address a = in.address.value_or(Address{});
  Value p[] = {id, storage::opt(in.civility), storage::opt(in.first_name), storage::opt(in.last_name), keys.last_first,
               keys.first_last, storage::opt(in.birth_date), storage::opt(a.street), storage::opt(a.street2),
               storage::opt(a.postcode), storage::opt(a.city),
               a.city ? Value(text::search_key(*a.city)) : storage::null(), storage::opt(a.country), now,
               expected_version ? Value(*expected_version) : storage::null()};
  FIDELIS_ASSIGN_OR_RETURN(
      int64_t changed,
      tx.exec("UPDATE customers SET civility = $2, first_name = $3, last_name = $4, name_key = $5, name_key2 = $6, "
              "birth_date = $7, street = $8, street2 = $9, postcode = $10, city = $11, city_key = $12, country = $13, "
              "updated_at = $14, version = version + 1 WHERE id = $1 AND deleted_at IS NULL "
              "AND (CAST($15 AS BIGINT) IS NULL OR version = CAST($15 AS BIGINT))",
              p));
  if (changed == 0) {
    Value q[] = {id};
    FIDELIS_ASSIGN_OR_RETURN(std::optional<storage::Row> live,
                             tx.one("SELECT 1 FROM customers WHERE id = $1 AND deleted_at IS NULL", q));
    if (live) return Error::conflict(fmt::format("customer {} changed at the same time; retry", id));
    return Error::not_found("id", fmt::format("no customer {}", id));
  }
  // The consents survivorship took from the loser are its person's decisions, with their times.
  FIDELIS_RETURN_IF_ERROR(store_children(tx, id, in, now, /*fresh=*/false, /*merged_consents=*/true));
  return refresh_document(tx, id);
}

Result<Customer> reindex_in(storage::Tx& tx, int64_t id, Millis now) {
  Value p[] = {id};
  FIDELIS_ASSIGN_OR_RETURN(std::optional<storage::Row> row,
                           tx.one("SELECT first_name, last_name, city FROM customers WHERE id = $1", p));
  if (!row) return Error::not_found("id", fmt::format("no customer {}", id));
  NameKeys keys = name_keys(row->opt_str(0), row->opt_str(1));
  std::optional<std::string> city = row->opt_str(2);
  Value up[] = {id, keys.last_first, keys.first_last, city ? Value(text::search_key(*city)) : storage::null(), now};
  FIDELIS_RETURN_IF_ERROR(tx.exec("UPDATE customers SET name_key = $2, name_key2 = $3, city_key = $4, updated_at = $5, "
                                  "version = version + 1 WHERE id = $1",
                                  up));
  return refresh_document(tx, id);
}

Result<std::vector<Customer>> load_customers_for_export(storage::Tx& tx, std::span<const int64_t> ids) {
  return load_customers(tx, ids);
}

Result<std::optional<ExternalIdOwner>> external_id_owner(storage::Tx& tx, std::string_view source,
                                                         std::string_view external_id) {
  Value p[] = {text::to_lower(source), std::string(external_id)};
  FIDELIS_ASSIGN_OR_RETURN(
      std::optional<storage::Row> row,
      tx.one("SELECT x.customer_id, CASE WHEN c.deleted_at IS NULL THEN 0 ELSE 1 END FROM customer_external_ids x "
             "JOIN customers c ON c.id = x.customer_id WHERE x.source = $1 AND x.external_id = $2",
             p));
  if (!row) return std::optional<ExternalIdOwner>();
  return std::optional<ExternalIdOwner>(ExternalIdOwner{row->i64(0), row->i64(1) != 0});
}

Result<std::optional<int64_t>> find_by_email(storage::Tx& tx, std::string_view email, std::span<const int64_t> among) {
  std::vector<Value> p{text::to_lower(email)};
  std::string only = among.empty() ? "" : " AND e.customer_id IN (" + storage::append_in_list(p, among) + ")";
  FIDELIS_ASSIGN_OR_RETURN(
      std::optional<storage::Row> row,
      tx.one("SELECT e.customer_id FROM customer_emails e JOIN customers c ON c.id = e.customer_id "
             "WHERE e.email_key = $1 AND c.deleted_at IS NULL" + only + " ORDER BY e.customer_id LIMIT 1",
             p));
  if (!row) return std::optional<int64_t>();
  return std::optional<int64_t>(row->i64(0));
}

Result<std::optional<int64_t>> find_sole_mailbox_holder(storage::Tx& tx, std::string_view email) {
  std::string key = mailbox_key(email);
  if (key.empty()) return std::optional<int64_t>();
  Value p[] = {key};
  FIDELIS_ASSIGN_OR_RETURN(
      storage::Rows rows,
      tx.query("SELECT DISTINCT k.customer_id FROM (SELECT customer_id FROM customer_emails WHERE mailbox_key = $1 "
               "UNION SELECT customer_id FROM customer_emails WHERE email_key = $1) k "
               "JOIN customers c ON c.id = k.customer_id WHERE c.deleted_at IS NULL ORDER BY 1 LIMIT 2",
               p));
  if (rows.rows.size() != 1) return std::optional<int64_t>();
  return std::optional<int64_t>(rows.rows[0].i64(0));
}

}  // namespace fidelis::customers

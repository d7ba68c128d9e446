// CustomerService: create, read, update, soft-delete, restore and list customer profiles. Each change
// runs in one transaction with its audit entry and outbox event.

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <optional>

#include "core/email.h"
#include "core/log.h"
#include "core/text.h"
#include "customers/customer_internal.h"

namespace fidelis::customers {

using storage::Value;

namespace {

// The audit record's summary of a profile: identity and version, not the personal data itself.
std::string audit_state(const Customer& c) {
  return fmt::format(R"({{"id":{},"version":{},"deleted":{}}})", c.id, c.version, c.deleted_at.has_value());
}

std::string changed_fields(const CustomerInput& in) {
  std::vector<std::string> f;
  if (in.civility) f.push_back("civility");
  if (in.first_name) f.push_back("first_name");
  if (in.last_name) f.push_back("last_name");
  if (in.birth_date) f.push_back("birth_date");
  if (in.emails) f.push_back("emails");
  if (in.phones) f.push_back("phones");
  if (in.address) f.push_back("address");
  if (in.household) f.push_back("household");
  if (in.affinities) f.push_back("affinities");
  if (in.consents) f.push_back("consents");
  if (in.tags) f.push_back("tags");
  if (in.custom_fields) f.push_back("custom_fields");
  if (in.external_ids) f.push_back("external_ids");
  for (const auto& c : in.clear) f.push_back(c);
  std::string out = "[";
  for (size_t i = 0; i < f.size(); ++i) out += fmt::format("{}\"{}\"", i ? "," : "", f[i]);
  return out + "]";
}

}  // namespace

CustomerService::CustomerService(storage::Db& db, const Clock& clock, MxChecker* mx) : db_(db), clock_(clock), mx_(mx) {}

Status CustomerService::validate(CustomerInput& in, const std::vector<CustomFieldDef>& defs) {
  const Millis now = clock_.now();
  Status st = validate_input(in, defs, now);
  if (st || st.error().code != Code::kInvalidArgument) return st;
  // Every bad field at once (a form corrects them together): each one found is taken out of a copy
  // checked again. An element taken out of a list moves the ones after it: each list keeps which
  // element of the request each remaining one is, so the fields name the request's.
  Error first = st.error();
  CustomerInput rest = in;
  std::map<std::string, std::vector<size_t>> given;  // "emails" -> the request's index of each element left
  auto list_of = [](const std::string& field) -> std::optional<std::pair<std::string, size_t>> {
    size_t open = field.find('[');
    if (open == std::string::npos || field.find('.') < open) return std::nullopt;
    return std::pair{field.substr(0, open), static_cast<size_t>(std::strtoul(field.c_str() + open + 1, nullptr, 10))};
  };
  auto as_given = [&](const std::string& field) {
    auto l = list_of(field);
    if (!l || !given.contains(l->first) || l->second >= given[l->first].size()) return field;
    return fmt::format("{}[{}]{}", l->first, given[l->first][l->second], field.substr(field.find(']') + 1));
  };
  auto taken_out = [&](const std::string& field, size_t size_before, size_t size_after) {
    auto l = list_of(field);
    if (!l || size_after >= size_before) return;
    auto& at = given[l->first];
    if (at.empty())
      for (size_t i = 0; i < size_before; ++i) at.push_back(i);
    if (l->second < at.size()) at.erase(at.begin() + static_cast<long>(l->second));
  };
  auto list_size = [&](const std::string& field) -> size_t {
    auto l = list_of(field);
    if (!l) return 0;
    if (l->first == "emails") return rest.emails ? rest.emails->size() : 0;
    if (l->first == "phones") return rest.phones ? rest.phones->size() : 0;
    if (l->first == "tags") return rest.tags ? rest.tags->size() : 0;
    if (l->first == "external_ids") return rest.external_ids ? rest.external_ids->size() : 0;
    if (l->first == "household") return rest.household ? rest.household->size() : 0;
    if (l->first == "affinities") return rest.affinities ? rest.affinities->size() : 0;
    if (l->first == "consents") return rest.consents ? rest.consents->size() : 0;
    return 0;
  };
  // A bad consent is taken out of the copy here: an import rejects its row rather than drop it.
  auto take_out = [&](const std::string& f) {
    if (auto l = list_of(f); l && l->first == "consents" && rest.consents && l->second < rest.consents->size()) {
      rest.consents->erase(rest.consents->begin() + static_cast<long>(l->second));
      return true;
    }
    return drop_invalid_value(rest, f);
  };
  std::string field = first.field;
  for (int found = 1; found < 50; ++found) {
    const size_t before = list_size(field);
    if (!take_out(field)) break;
    const size_t after = list_size(field);
    taken_out(field, before, after);
    Status again = validate_input(rest, defs, now);
    if (again || again.error().code != Code::kInvalidArgument) break;
    // The same field again, with nothing taken out of its list: no way forward.
    if (again.error().field == field && after >= before) break;
    field = again.error().field;
    first.more.push_back({as_given(field), again.error().message});
  }
  return first;
}

namespace {
// Flagged as an import flags them: disposable or unreachable e-mails (`mx` asks DNS: call it
// before a transaction, a slow answer must not hold the writer), numbers kept as given but invalid.
std::vector<QualityFlag> flags_of(const CustomerInput& in, MxChecker* mx, std::string_view source, Millis now) {
  std::vector<QualityFlag> out;
  for (const auto& e : in.emails.value_or(std::vector<EmailAddress>{}))
    if (auto reason = email_flag_reason(e.email, mx)) out.push_back({"email", e.email, std::move(*reason), std::string(source), now});
  for (const Phone& p : in.phones.value_or(std::vector<Phone>{}))
    if (!p.valid) out.push_back({"phone", p.raw, std::string(phone_flag_reason(p)), std::string(source), now});
  return out;
}

// Why a profile is refused when it does not make a customer (makes_a_customer), naming its phones
// when it has only invalid ones.
Error not_a_customer(const std::vector<Phone>& phones) {
  return Error::invalid_argument(phones.empty() ? "last_name" : "phones",
                                 "a customer needs at least a name, an e-mail or a valid phone number");
}

}  // namespace

Status store_flags(storage::Tx& tx, int64_t id, const std::vector<QualityFlag>& flags) {
  for (const QualityFlag& f : flags) {
    Value p[] = {id, f.field, f.value, f.reason, f.source, f.at};
    FIDELIS_RETURN_IF_ERROR(tx.exec(
        "INSERT INTO customer_flags (customer_id, field, value, reason, source, at) VALUES ($1, $2, $3, $4, $5, $6) "
        "ON CONFLICT (customer_id, field, value) DO NOTHING",
        p));
  }
  return ok();
}

Status CustomerService::add_flag(int64_t id, QualityFlag flag) {
  if (flag.at == 0) flag.at = clock_.now();
  return db_.transact([&](storage::Tx& tx) -> Status { return store_flags(tx, id, {flag}); });
}

Result<Customer> CustomerService::create(CustomerInput in, const audit::Actor& actor) {
  std::vector<CustomFieldDef> defs;
  if (in.custom_fields) {
    FIDELIS_ASSIGN_OR_RETURN(defs, load_custom_field_defs(db_));
  }
  FIDELIS_RETURN_IF_ERROR(validate(in, defs));
  std::vector<EmailAddress> emails = in.emails.value_or(std::vector<EmailAddress>{});
  std::vector<Phone> phones = in.phones.value_or(std::vector<Phone>{});
  if (!makes_a_customer(in.first_name, in.last_name, emails, phones)) return not_a_customer(phones);
  Millis now = clock_.now();
  std::vector<QualityFlag> flags = flags_of(in, mx_, "api", now);  // DNS before the transaction
  Customer created;
  Status s = db_.transact([&](storage::Tx& tx) -> Status {
    if (in.emails) FIDELIS_RETURN_IF_ERROR(check_emails_free(tx, 0, *in.emails));
    FIDELIS_ASSIGN_OR_RETURN(created, insert_customer(tx, in, now));
    int64_t id = created.id;
    FIDELIS_RETURN_IF_ERROR(store_flags(tx, id, flags));
    FIDELIS_RETURN_IF_ERROR(audit::record(
        tx, actor, {"customer.create", "customer", std::to_string(id), std::nullopt, audit_state(created)}, now));
    return audit::emit(tx, {"customer.created", id, std::to_string(id), audit_state(created)}, now);
  });
  if (!s) return s.error();
  return created;
}

Result<Customer> CustomerService::get(int64_t id, bool include_deleted) {
  int64_t ids[] = {id};
  FIDELIS_ASSIGN_OR_RETURN(std::vector<Customer> found, load_customers(db_, ids));
  if (found.empty() || (found[0].deleted_at && !include_deleted))
    return Error::not_found("id", fmt::format("no customer {}", id));
  return std::move(found[0]);
}

Result<Customer> CustomerService::update(int64_t id, int64_t expected_version, CustomerInput in,
                                         const audit::Actor& actor) {
  std::vector<CustomFieldDef> defs;
  if (in.custom_fields) {
    FIDELIS_ASSIGN_OR_RETURN(defs, load_custom_field_defs(db_));
  }
  FIDELIS_RETURN_IF_ERROR(validate(in, defs));
  Millis now = clock_.now();
  std::vector<QualityFlag> flags = flags_of(in, mx_, actor.type == "public" ? "questionnaire" : "api", now);
  Customer updated;
  std::optional<Customer> unchanged;
  Status s = db_.transact([&](storage::Tx& tx) -> Status {
    int64_t ids[] = {id};
    FIDELIS_ASSIGN_OR_RETURN(std::vector<Customer> found, load_customers(tx, ids));
    if (found.empty() || found[0].deleted_at) return Error::not_found("id", fmt::format("no customer {}", id));
    Customer& cur = found[0];
    if (cur.version != expected_version)
      return Error::failed_precondition(
          "If-Match", fmt::format("the customer changed since you read it (version {} now, {} given); reload and retry",
                                  cur.version, expected_version));
    auto cleared = [&](std::string_view f) { return std::find(in.clear.begin(), in.clear.end(), f) != in.clear.end(); };
    auto pick = [&](const std::optional<std::string>& given, const std::optional<std::string>& old,
                    std::string_view name) -> std::optional<std::string> {
      if (cleared(name)) return std::nullopt;
      return given ? given : old;
    };
    std::optional<std::string> civility = pick(in.civility, cur.civility, "civility");
    std::optional<std::string> first = pick(in.first_name, cur.first_name, "first_name");
    std::optional<std::string> last = pick(in.last_name, cur.last_name, "last_name");
    std::optional<std::string> birth = pick(in.birth_date, cur.birth_date, "birth_date");
    Address a = in.address ? *in.address : cur.address;
    if (in.emails) FIDELIS_RETURN_IF_ERROR(check_emails_free(tx, id, *in.emails));
    NameKeys keys = name_keys(first, last);
    Value p[] = {id, storage::opt(civility), storage::opt(first), storage::opt(last), keys.last_first, keys.first_last,
                 storage::opt(birth), storage::opt(a.street), storage::opt(a.street2), storage::opt(a.postcode),
                 storage::opt(a.city), a.city ? Value(text::search_key(*a.city)) : storage::null(),
                 storage::opt(a.country), now, expected_version};
    FIDELIS_ASSIGN_OR_RETURN(
        int64_t changed,
        tx.exec("UPDATE customers SET civility = $2, first_name = $3, last_name = $4, name_key = $5, name_key2 = $6, "
                "birth_date = $7, street = $8, street2 = $9, postcode = $10, city = $11, city_key = $12, country = $13, "
                "updated_at = $14, version = version + 1 WHERE id = $1 AND version = $15",
                p));
    if (changed != 1) return Error::conflict("the customer changed during the update; retry");
    FIDELIS_RETURN_IF_ERROR(store_children(tx, id, in, now));
    FIDELIS_RETURN_IF_ERROR(store_flags(tx, id, flags));
    FIDELIS_ASSIGN_OR_RETURN(updated, refresh_document(tx, id));
    // A change that leaves the profile as it was (the same first name sent again, a known number
    // written otherwise) is no change: rolled back, no new version, no event.
    {
      Customer same = updated;
      same.version = cur.version;
      same.updated_at = cur.updated_at;
      if (render_document(same) == render_document(cur)) {
        unchanged = cur;
        return Error::internal("unchanged: rolled back");  // not seen by callers: `unchanged` is returned
      }
    }
    if (!makes_a_customer(updated.first_name, updated.last_name, updated.emails, updated.phones)) {
      // Named after what this change took away.
      auto cleared = [&](std::string_view f) { return std::find(in.clear.begin(), in.clear.end(), f) != in.clear.end(); };
      std::string field = in.emails ? "emails" : in.phones ? "phones" : cleared("last_name") ? "last_name"
                          : cleared("first_name") ? "first_name" : not_a_customer(updated.phones).field;
      return Error::invalid_argument(field, not_a_customer(updated.phones).message);
    }
    std::string after_json = fmt::format(R"({{"id":{},"version":{},"fields":{}}})", id, updated.version, changed_fields(in));
    FIDELIS_RETURN_IF_ERROR(
        audit::record(tx, actor, {"customer.update", "customer", std::to_string(id), audit_state(cur), after_json}, now));
    return audit::emit(tx, {"customer.updated", id, std::to_string(id), after_json}, now);
  });
  if (!s && unchanged) return *unchanged;
  if (!s) return s.error();
  return updated;
}

Status CustomerService::remove(int64_t id, std::optional<int64_t> expected_version, const audit::Actor& actor) {
  Millis now = clock_.now();
  return db_.transact([&](storage::Tx& tx) -> Status {
    Value p[] = {id};
    FIDELIS_ASSIGN_OR_RETURN(std::optional<storage::Row> row,
                             tx.one("SELECT version, deleted_at FROM customers WHERE id = $1", p));
    if (!row || !row->is_null(1)) return Error::not_found("id", fmt::format("no customer {}", id));
    if (expected_version && row->i64(0) != *expected_version)
      return Error::failed_precondition("If-Match", "the customer changed since you read it; reload and retry");
    Value up[] = {id, now};
    FIDELIS_RETURN_IF_ERROR(
        tx.exec("UPDATE customers SET deleted_at = $2, updated_at = $2, version = version + 1 WHERE id = $1", up));
    FIDELIS_RETURN_IF_ERROR(refresh_document(tx, id));
    std::string before = fmt::format(R"({{"id":{},"version":{},"deleted":false}})", id, row->i64(0));
    std::string after = fmt::format(R"({{"id":{},"version":{},"deleted":true}})", id, row->i64(0) + 1);
    FIDELIS_RETURN_IF_ERROR(audit::record(tx, actor, {"customer.delete", "customer", std::to_string(id), before, after}, now));
    return audit::emit(tx, {"customer.deleted", id, std::to_string(id), after}, now);
  });
}

Result<Customer> CustomerService::restore(int64_t id, const audit::Actor& actor) {
  Millis now = clock_.now();
  Customer restored;
  Status s = db_.transact([&](storage::Tx& tx) -> Status {
    Value p[] = {id};
    FIDELIS_ASSIGN_OR_RETURN(std::optional<storage::Row> row,
                             tx.one("SELECT version, deleted_at, merged_into FROM customers WHERE id = $1", p));
    if (!row) return Error::not_found("id", fmt::format("no customer {}", id));
    if (row->is_null(1)) return Error::failed_precondition("id", "the customer is not deleted");
    if (!row->is_null(2))
      return Error::conflict(fmt::format("the customer was merged into customer {}: undo the merge instead", row->i64(2)));
    int64_t ids[] = {id};
    FIDELIS_ASSIGN_OR_RETURN(std::vector<Customer> current, load_customers(tx, ids));
    // Another live customer may have taken an e-mail meanwhile: restoring would duplicate it.
    FIDELIS_RETURN_IF_ERROR(check_emails_free(tx, id, current.at(0).emails));
    Value up[] = {id, now};
    FIDELIS_RETURN_IF_ERROR(
        tx.exec("UPDATE customers SET deleted_at = NULL, updated_at = $2, version = version + 1 WHERE id = $1", up));
    FIDELIS_ASSIGN_OR_RETURN(restored, refresh_document(tx, id));
    std::string before = fmt::format(R"({{"id":{},"version":{},"deleted":true}})", id, row->i64(0));
    FIDELIS_RETURN_IF_ERROR(audit::record(
        tx, actor, {"customer.restore", "customer", std::to_string(id), before, audit_state(restored)}, now));
    return audit::emit(tx, {"customer.restored", id, std::to_string(id), audit_state(restored)}, now);
  });
  if (!s) return s.error();
  return restored;
}

Result<std::pair<std::string, std::vector<Value>>> CustomerService::list_sql(const ListQuery& q, std::string_view columns) {
  if (q.limit < 1 || q.limit > 500) return Error::invalid_argument("limit", "must be between 1 and 500");
  if (q.consent_channel.has_value() != q.consent_purpose.has_value())
    return Error::invalid_argument("consent", "expected channel:purpose, e.g. email:newsletter");
  std::string sql = fmt::format("SELECT {} FROM customers c WHERE ", columns);
  std::vector<Value> params;
  auto param = [&](Value v) {
    params.push_back(std::move(v));
    return fmt::format("${}", params.size());
  };
  std::vector<std::string> where;
  if (q.only_deleted) where.push_back("c.deleted_at IS NOT NULL");
  else if (!q.include_deleted) where.push_back("c.deleted_at IS NULL");
  if (q.tag) where.push_back(fmt::format(
                 "EXISTS (SELECT 1 FROM customer_tags t WHERE t.customer_id = c.id AND t.tag = {})", param(text::to_lower(*q.tag))));
  if (q.city) where.push_back(fmt::format("c.city_key = {}", param(text::search_key(*q.city))));
  if (q.postcode) where.push_back(fmt::format("c.postcode = {}", param(std::string(text::trim(*q.postcode)))));
  if (q.consent_channel)
    where.push_back(fmt::format(
        "EXISTS (SELECT 1 FROM customer_consents k WHERE k.customer_id = c.id AND k.channel = {} AND k.purpose = {} AND "
        "k.granted = 1)",
        param(std::string(channel_name(*q.consent_channel))), param(std::string(purpose_name(*q.consent_purpose)))));
  if (q.created_after) where.push_back(fmt::format("c.created_at >= {}", param(*q.created_after)));
  if (q.created_before) where.push_back(fmt::format("c.created_at < {}", param(*q.created_before)));
  if (q.q) {
    std::string_view raw = text::trim(*q.q);
    if (raw.empty()) return Error::invalid_argument("q", "is empty");
    std::vector<std::string> any;
    if (raw.find('@') != std::string_view::npos || raw.find(' ') == std::string_view::npos) {
      std::string e = text::to_lower(raw);
      any.push_back(fmt::format(
          "EXISTS (SELECT 1 FROM customer_emails e WHERE e.customer_id = c.id AND e.email_key >= {} AND e.email_key < {})",
          param(e), param(text::prefix_upper_bound(e))));
    }
    if (std::string digits = phone_query_key(raw); !digits.empty()) {
      any.push_back(fmt::format(
          "EXISTS (SELECT 1 FROM customer_phones p WHERE p.customer_id = c.id AND p.phone_key >= {} AND p.phone_key < {})",
          param(digits), param(text::prefix_upper_bound(digits))));
    }
    if (raw.find('@') == std::string_view::npos) {
      std::string key = text::search_key(raw);
      if (!key.empty()) {
        std::string lo = param(key), hi = param(text::prefix_upper_bound(key));
        any.push_back(fmt::format("(c.name_key >= {0} AND c.name_key < {1})", lo, hi));
        any.push_back(fmt::format("(c.name_key2 >= {0} AND c.name_key2 < {1})", lo, hi));
      }
    }
    if (any.empty()) return Error::invalid_argument("q", "nothing searchable in it");
    where.push_back("(" + fmt::format("{}", fmt::join(any, " OR ")) + ")");
  }
  if (q.after_id) where.push_back(fmt::format("c.id > {}", param(*q.after_id)));
  sql += where.empty() ? "1 = 1" : fmt::format("{}", fmt::join(where, " AND "));
  sql += fmt::format(" ORDER BY c.id LIMIT {}", param(static_cast<int64_t>(q.limit + 1)));
  return std::make_pair(std::move(sql), std::move(params));
}

Result<Page> CustomerService::list(const ListQuery& q) {
  FIDELIS_ASSIGN_OR_RETURN(auto query, list_sql(q, "c.id"));
  Page page;
  FIDELIS_RETURN_IF_ERROR(db_.read([&](storage::Tx& tx) -> Status {
    FIDELIS_ASSIGN_OR_RETURN(storage::Rows rows, tx.query(query.first, query.second));
    std::vector<int64_t> ids;
    for (const auto& r : rows.rows) ids.push_back(r.i64(0));
    if (static_cast<int>(ids.size()) > q.limit) {
      ids.resize(static_cast<size_t>(q.limit));
      page.next_after_id = ids.back();
    }
    FIDELIS_ASSIGN_OR_RETURN(page.items, load_customers(tx, ids));
    return ok();
  }));
  return page;
}

namespace {
// A row of (id, version, deleted_at, doc) as a Document; renders from the tables when the stored
// document is missing.
Result<Document> document_from_row(storage::Tx& tx, const storage::Row& r) {
  Document d{r.i64(0), r.i64(1), !r.is_null(2), r.str(3)};
  if (r.is_null(3)) {
    int64_t ids[] = {d.id};
    FIDELIS_ASSIGN_OR_RETURN(std::vector<Customer> loaded, load_customers(tx, ids));
    if (loaded.empty()) return Error::not_found("id", fmt::format("no customer {}", d.id));
    d.json = render_document(loaded[0]);
  }
  return d;
}
}  // namespace

Result<Document> CustomerService::get_document(int64_t id, bool include_deleted) {
  // One statement (one round trip on PostgreSQL) when the document is stored, the usual case.
  Value p[] = {id};
  FIDELIS_ASSIGN_OR_RETURN(std::optional<storage::Row> row,
                           db_.one("SELECT c.id, c.version, c.deleted_at, d.doc FROM customers c LEFT JOIN customer_docs d ON "
                                   "d.customer_id = c.id WHERE c.id = $1",
                                   p));
  if (!row || (!row->is_null(2) && !include_deleted)) return Error::not_found("id", fmt::format("no customer {}", id));
  if (!row->is_null(3)) return Document{row->i64(0), row->i64(1), !row->is_null(2), row->str(3)};
  Document out;
  FIDELIS_RETURN_IF_ERROR(db_.read([&](storage::Tx& tx) -> Status {
    FIDELIS_ASSIGN_OR_RETURN(std::optional<storage::Row> again,
                             tx.one("SELECT c.id, c.version, c.deleted_at, d.doc FROM customers c LEFT JOIN customer_docs d ON "
                                    "d.customer_id = c.id WHERE c.id = $1",
                                    p));
    if (!again) return Error::not_found("id", fmt::format("no customer {}", id));
    FIDELIS_ASSIGN_OR_RETURN(out, document_from_row(tx, *again));
    return ok();
  }));
  return out;
}

Result<DocumentPage> CustomerService::list_documents(const ListQuery& q) {
  FIDELIS_ASSIGN_OR_RETURN(auto query, list_sql(q, "c.id, c.version, c.deleted_at, "
                                                 "(SELECT d.doc FROM customer_docs d WHERE d.customer_id = c.id)"));
  DocumentPage page;
  FIDELIS_RETURN_IF_ERROR(db_.read([&](storage::Tx& tx) -> Status {
    FIDELIS_ASSIGN_OR_RETURN(storage::Rows rows, tx.query(query.first, query.second));
    for (const auto& r : rows.rows) {
      if (static_cast<int>(page.items.size()) == q.limit) {
        page.next_after_id = page.items.back().id;
        break;
      }
      FIDELIS_ASSIGN_OR_RETURN(Document d, document_from_row(tx, r));
      page.items.push_back(std::move(d));
    }
    return ok();
  }));
  return page;
}

Result<std::vector<ConsentEvent>> CustomerService::consent_history(int64_t id, bool include_deleted) {
  FIDELIS_RETURN_IF_ERROR(get_document(id, include_deleted));  // exists? one row, not the whole profile
  Value p[] = {id};
  FIDELIS_ASSIGN_OR_RETURN(
      storage::Rows rows,
      db_.query("SELECT channel, purpose, granted, source, at, source_at FROM consent_events WHERE customer_id = $1 "
                "ORDER BY at DESC, id DESC",
                p));
  std::vector<ConsentEvent> out;
  for (const auto& r : rows.rows)
    out.push_back({parse_channel(r.str(0), "channel").value_or(Channel::kEmail),
                   parse_purpose(r.str(1), "purpose").value_or(Purpose::kNewsletter), r.i64(2) != 0, r.str(3), r.i64(4),
                   r.opt_i64(5)});
  return out;
}

Result<std::vector<CustomFieldDef>> CustomerService::custom_fields() { return load_custom_field_defs(db_); }

Result<std::vector<CustomFieldDef>> custom_field_defs(storage::Db& db) { return load_custom_field_defs(db); }

Result<std::vector<QualityFlag>> CustomerService::flags(int64_t id, bool include_deleted) {
  FIDELIS_RETURN_IF_ERROR(get_document(id, include_deleted));  // exists? one row, not the whole profile
  Value p[] = {id};
  FIDELIS_ASSIGN_OR_RETURN(
      storage::Rows rows,
      db_.query("SELECT field, value, reason, source, at FROM customer_flags WHERE customer_id = $1 ORDER BY at DESC, field", p));
  std::vector<QualityFlag> out;
  for (const auto& r : rows.rows) out.push_back({r.str(0), r.str(1), r.str(2), r.str(3), r.i64(4)});
  return out;
}

Result<CustomFieldDef> CustomerService::define_custom_field(CustomFieldDef def, const audit::Actor& actor) {
  FIDELIS_RETURN_IF_ERROR(validate_custom_field_def(def));
  Millis now = clock_.now();
  std::string choices;
  for (const auto& c : def.choices) {
    if (c.find('\n') != std::string::npos) return Error::invalid_argument("choices", "a choice cannot contain a line break");
    choices += c + "\n";
  }
  Status s = db_.transact([&](storage::Tx& tx) -> Status {
    Value p[] = {def.key, def.label, std::string(custom_field_type_name(def.type)), choices, now};
    auto r = tx.exec("INSERT INTO custom_field_defs (key, label, type, choices, created_at) VALUES ($1, $2, $3, $4, $5)", p);
    if (!r && r.error().code == Code::kAlreadyExists) return Error::already_exists("key", "a custom field has this key");
    if (!r) return r.error();
    return audit::record(tx, actor,
                         {"custom_field.create", "custom_field", def.key, std::nullopt,
                          fmt::format(R"({{"key":"{}","type":"{}"}})", def.key, custom_field_type_name(def.type))},
                         now);
  });
  if (!s) return s.error();
  return def;
}

}  // namespace fidelis::customers

// Stored phone numbers read again under today's rules: CustomerService::recheck_phones and the
// one-time upgrade of a base at start (upgrade_stored_phones).

#include <fmt/format.h>
#include <phonenumbers/phonenumberutil.h>

#include <algorithm>

#include "core/log.h"
#include "core/text.h"
#include "customers/customer_internal.h"

namespace fidelis::customers {

using storage::Value;

namespace {

// The rules stored phones were last checked against (settings "phones.rules"): 1 added the
// extension to the search key and told numbers typed for none apart; 2 reads deleted and merged
// records too, and placeholders stored invalid.
constexpr std::string_view kPhoneRules = "2";
constexpr size_t kBatch = 500;         // customers rewritten in one transaction
constexpr int64_t kScanIds = 20'000;   // customer ids whose phones are read in one query

// The region a stored E.164 number belongs to ("FR", "RE", "BE"); for a number of a range the plan
// no longer has, its country code's main region ("US" for +1); empty when it is none.
std::string region_of(const std::string& e164) {
  using i18n::phonenumbers::PhoneNumber;
  using i18n::phonenumbers::PhoneNumberUtil;
  const PhoneNumberUtil& util = *PhoneNumberUtil::GetInstance();
  PhoneNumber n;
  if (util.Parse(e164, "ZZ", &n) != PhoneNumberUtil::NO_PARSING_ERROR) return {};
  std::string region;
  util.GetRegionCodeForNumber(n, &region);
  if (region.empty() || region == "ZZ") util.GetRegionCodeForCountryCode(n.country_code(), &region);
  return region == "ZZ" ? std::string() : region;
}

// Whether a stored row reads otherwise under today's rules, libphonenumber's plan unchanged: a
// valid French number typed for none, or a key other than today's (an extension it left out, a
// number typed for none keyed by its digits as written). Decided without libphonenumber: this runs
// over every stored number at start.
bool suspect(const std::string& raw, const std::optional<std::string>& e164, const std::string& key) {
  if (e164 && e164->size() == 12 && e164->starts_with("+33") && is_placeholder_phone(33, std::string_view(*e164).substr(3)))
    return true;
  Phone stored;
  stored.raw = raw;
  stored.e164 = e164;
  return key != phone_key(stored);
}

// A stored phone row as today's rules read it: its new form, and whether that differs.
struct Reread {
  Phone phone;
  std::string key, type;
  bool differs = false;
};

// `r`: position, raw, e164, type, valid, phone_key, label, then the customer's address country.
Reread reread(const storage::Row& r, size_t first) {
  const std::string raw = r.str(first + 1), label = r.str(first + 6);
  const std::optional<std::string> e164 = r.opt_str(first + 2);
  // Read in the region it was read in: its stored number's, else its address's country's. A
  // number stored invalid with neither was read in an import's default country, unknown now: it
  // is read again only when written with its country code, or as a French number typed for none.
  std::string region;
  if (e164) region = e164->starts_with("+33") ? "FR" : region_of(*e164);
  if (region.empty()) region = r.opt_str(first + 7).value_or("");
  const std::string_view dialled = text::trim(raw);
  if (region.empty() && (dialled.starts_with("+") || dialled.starts_with("00") || !placeholder_phone_key(raw).empty()))
    region = "FR";
  Reread out;
  if (region.empty()) return out;
  out.phone = normalize_phone(raw, label, region);
  out.phone.label = label;
  out.key = phone_key(out.phone);
  out.type = std::string(phone_type_name(out.phone.type));
  out.differs = out.phone.e164 != e164 || out.phone.valid != (r.i64(first + 4) != 0) || out.type != r.str(first + 3) ||
                out.key != r.str(first + 5);
  return out;
}

// The phone rows of customers, with each one's address country (deleted and merged ones too: a
// restore or an unmerge brings them back as they are).
constexpr std::string_view kPhoneColumns =
    "p.position, p.raw, p.e164, p.type, p.valid, p.phone_key, p.label, c.country FROM customer_phones p JOIN customers c "
    "ON c.id = p.customer_id";

// Rewrites the phone rows of customer `id` that read otherwise, inside `tx`; returns how many. The
// customer's row is taken first, as an update takes it, and only at the version read: one changed
// meanwhile (PostgreSQL) is read again, up to five times. A live customer gets a new version,
// customer.updated and an audit entry; a deleted or merged record only its rows and document.
Result<int64_t> rewrite_phones(storage::Tx& tx, int64_t id, Millis now, const audit::Actor& actor) {
  Value p[] = {id};
  for (int attempt = 0; attempt < 5; ++attempt) {
    FIDELIS_ASSIGN_OR_RETURN(std::optional<storage::Row> customer,
                             tx.one("SELECT version, deleted_at FROM customers WHERE id = $1", p));
    if (!customer) return int64_t{0};
    const int64_t version = customer->i64(0);
    const bool live = customer->is_null(1);
    FIDELIS_ASSIGN_OR_RETURN(
        storage::Rows rows,
        tx.query(fmt::format("SELECT {} WHERE p.customer_id = $1 ORDER BY p.position", kPhoneColumns), p));
    std::vector<std::pair<const storage::Row*, Reread>> rewrites;
    for (const auto& r : rows.rows)
      if (Reread now_is = reread(r, 0); now_is.differs) rewrites.emplace_back(&r, std::move(now_is));
    if (rewrites.empty()) return int64_t{0};
    Value cas[] = {id, version, now};
    FIDELIS_ASSIGN_OR_RETURN(
        int64_t claimed,
        live ? tx.exec("UPDATE customers SET version = version + 1, updated_at = $3 WHERE id = $1 AND version = $2", cas)
             : tx.exec("UPDATE customers SET version = version WHERE id = $1 AND version = $2", std::span<const Value>(cas, 2)));
    if (claimed != 1) continue;  // changed meanwhile: read it again
    for (const auto& [r, now_is] : rewrites) {
      const std::string raw = r->str(1);
      Value up[] = {id, r->i64(0), storage::opt(now_is.phone.e164), now_is.key, now_is.type, int64_t{now_is.phone.valid}, raw};
      FIDELIS_RETURN_IF_ERROR(tx.exec(
          "UPDATE customer_phones SET e164 = $3, phone_key = $4, type = $5, valid = $6 WHERE customer_id = $1 AND "
          "position = $2 AND raw = $7",
          up));
      const bool was_valid = r->i64(4) != 0;
      if (!now_is.phone.valid && was_valid) {
        Value fp[] = {id, std::string("phone"), raw, std::string(phone_flag_reason(now_is.phone)), std::string("phone check"), now};
        FIDELIS_RETURN_IF_ERROR(tx.exec(
            "INSERT INTO customer_flags (customer_id, field, value, reason, source, at) VALUES ($1, $2, $3, $4, $5, $6) "
            "ON CONFLICT (customer_id, field, value) DO UPDATE SET reason = excluded.reason, source = excluded.source, "
            "at = excluded.at",
            fp));
      } else if (now_is.phone.valid && !was_valid) {  // a number the plan now knows: its flag goes
        Value fp[] = {id, std::string("phone"), raw, std::string(kInvalidPhoneReason), std::string(kPlaceholderPhoneReason)};
        FIDELIS_RETURN_IF_ERROR(tx.exec(
            "DELETE FROM customer_flags WHERE customer_id = $1 AND field = $2 AND value = $3 AND reason IN ($4, $5)", fp));
      }
    }
    FIDELIS_RETURN_IF_ERROR(refresh_document(tx, id));
    if (live) {  // no event for a deleted or merged record: nobody follows it
      const std::string before = fmt::format(R"({{"id":{},"version":{},"deleted":false}})", id, version);
      const std::string after_json = fmt::format(R"({{"id":{},"version":{},"fields":["phones"]}})", id, version + 1);
      FIDELIS_RETURN_IF_ERROR(
          audit::record(tx, actor, {"customer.update", "customer", std::to_string(id), before, after_json}, now));
      FIDELIS_RETURN_IF_ERROR(audit::emit(tx, {"customer.updated", id, std::to_string(id), after_json}, now));
    }
    return static_cast<int64_t>(rewrites.size());
  }
  return int64_t{0};  // it kept changing: left to the next check
}

}  // namespace

Result<CustomerService::PhoneRecheck> CustomerService::recheck_phones(bool all, const audit::Actor& actor) {
  PhoneRecheck out;
  // Which customers have a number that reads otherwise: their rows, a range of ids at a time.
  FIDELIS_ASSIGN_OR_RETURN(std::optional<storage::Row> last, db_.one("SELECT MAX(customer_id) FROM customer_phones"));
  const int64_t max_id = last && !last->is_null(0) ? last->i64(0) : 0;
  std::vector<int64_t> changed;
  for (int64_t from = 0; from < max_id; from += kScanIds) {
    Value range[] = {from, from + kScanIds};
    FIDELIS_ASSIGN_OR_RETURN(
        storage::Rows rows,
        db_.query(fmt::format("SELECT p.customer_id, {} WHERE p.customer_id > $1 AND p.customer_id <= $2", kPhoneColumns), range));
    for (const auto& r : rows.rows) {
      ++out.phones_read;
      if (!all && !suspect(r.str(2), r.opt_str(3), r.str(6))) continue;
      if (reread(r, 1).differs && (changed.empty() || changed.back() != r.i64(0))) changed.push_back(r.i64(0));
    }
  }
  std::sort(changed.begin(), changed.end());
  changed.erase(std::unique(changed.begin(), changed.end()), changed.end());
  // Then each of them, read again in its transaction (rewrite_phones), a batch at a time.
  for (size_t b = 0; b < changed.size(); b += kBatch) {
    Status s = db_.transact([&](storage::Tx& tx) -> Status {
      const Millis now = clock_.now();
      for (size_t i = b; i < std::min(changed.size(), b + kBatch); ++i) {
        FIDELIS_ASSIGN_OR_RETURN(int64_t rewritten, rewrite_phones(tx, changed[i], now, actor));
        out.phones_changed += rewritten;
        if (rewritten > 0) ++out.customers_changed;
      }
      return ok();
    });
    if (!s) return s.error();
  }
  return out;
}

Status upgrade_stored_phones(storage::Db& db, const Clock& clock) {
  return storage::upgrade_once(db, "phones.rules", kPhoneRules, [&]() -> Status {
    CustomerService svc(db, clock);
    FIDELIS_ASSIGN_OR_RETURN(CustomerService::PhoneRecheck done, svc.recheck_phones(false, audit::Actor{}));
    if (done.customers_changed > 0)
      log::info("stored phone numbers read under the current rules",
                {{"phones_read", std::to_string(done.phones_read)},
                 {"phones_changed", std::to_string(done.phones_changed)},
                 {"customers_changed", std::to_string(done.customers_changed)}});
    return ok();
  });
}

}  // namespace fidelis::customers

// Stored phone numbers read again under today's rules: CustomerService::recheck_phones and the
// one-time upgrade of a base at start (upgrade_stored_phones).

#include <fmt/format.h>
#include <phonenumbers/phonenumberutil.h>

#include <algorithm>

#include "core/log.h"
#include "customers/customer_internal.h"

namespace fidelis::customers {

using storage::Value;

namespace {

// The rules stored phones were last checked against (settings "phones.rules"): 1 added the
// extension to the search key and told numbers typed for none apart.
constexpr std::string_view kPhoneRules = "1";
constexpr size_t kBatch = 500;         // customers rewritten in one transaction
constexpr int64_t kScanIds = 20'000;   // customer ids whose phones are read in one query

// The region a stored E.164 number belongs to ("FR", "RE", "BE"), empty when it is none.
std::string region_of(const std::string& e164) {
  using i18n::phonenumbers::PhoneNumber;
  using i18n::phonenumbers::PhoneNumberUtil;
  const PhoneNumberUtil& util = *PhoneNumberUtil::GetInstance();
  PhoneNumber n;
  if (util.Parse(e164, "ZZ", &n) != PhoneNumberUtil::NO_PARSING_ERROR) return {};
  std::string region;
  util.GetRegionCodeForNumber(n, &region);
  return region == "ZZ" ? std::string() : region;
}

// Whether a stored row may read otherwise under today's rules without libphonenumber's plan
// changing: a valid French number typed for none, or text besides the number (an extension).
bool suspect(const std::string& raw, const std::optional<std::string>& e164) {
  if (e164 && e164->size() == 12 && e164->starts_with("+33") && is_placeholder_phone(33, e164->substr(3))) return true;
  return std::any_of(raw.begin(), raw.end(), [](char c) {
    return c == '#' || std::isalpha(static_cast<unsigned char>(c)) || static_cast<unsigned char>(c) >= 0x80;
  });
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
  // Read in the region it was read in: its stored number's, else its address's country's.
  std::string region = e164 ? region_of(*e164) : std::string();
  if (region.empty()) region = r.opt_str(first + 7).value_or("FR");
  Reread out;
  out.phone = normalize_phone(raw, label, region);
  out.phone.label = label;
  out.key = phone_key(out.phone);
  out.type = std::string(phone_type_name(out.phone.type));
  out.differs = out.phone.e164 != e164 || out.phone.valid != (r.i64(first + 4) != 0) || out.type != r.str(first + 3) ||
                out.key != r.str(first + 5);
  return out;
}

constexpr std::string_view kPhoneColumns =
    "p.position, p.raw, p.e164, p.type, p.valid, p.phone_key, p.label, c.country FROM customer_phones p JOIN customers c "
    "ON c.id = p.customer_id AND c.deleted_at IS NULL";

}  // namespace

Result<CustomerService::PhoneRecheck> CustomerService::recheck_phones(bool all, const audit::Actor& actor) {
  PhoneRecheck out;
  // Which live customers have a number that reads otherwise: their rows, a range of ids at a time.
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
      if (!all && !suspect(r.str(2), r.opt_str(3))) continue;
      if (reread(r, 1).differs && (changed.empty() || changed.back() != r.i64(0))) changed.push_back(r.i64(0));
    }
  }
  std::sort(changed.begin(), changed.end());
  changed.erase(std::unique(changed.begin(), changed.end()), changed.end());
  // Then each of them, read again in its transaction, a batch at a time.
  for (size_t b = 0; b < changed.size(); b += kBatch) {
    Status s = db_.transact([&](storage::Tx& tx) -> Status {
      const Millis now = clock_.now();
      for (size_t i = b; i < std::min(changed.size(), b + kBatch); ++i) {
        const int64_t id = changed[i];
        Value p[] = {id};
        FIDELIS_ASSIGN_OR_RETURN(std::optional<storage::Row> customer,
                                 tx.one("SELECT version FROM customers WHERE id = $1 AND deleted_at IS NULL", p));
        if (!customer) continue;  // deleted or merged meanwhile: its numbers stay as they were
        FIDELIS_ASSIGN_OR_RETURN(
            storage::Rows rows,
            tx.query(fmt::format("SELECT {} WHERE p.customer_id = $1 ORDER BY p.position", kPhoneColumns), p));
        std::vector<QualityFlag> flags;
        int64_t rewritten = 0;
        for (const auto& r : rows.rows) {
          Reread now_is = reread(r, 0);
          if (!now_is.differs) continue;
          Value up[] = {id, r.i64(0), storage::opt(now_is.phone.e164), now_is.key, now_is.type, int64_t{now_is.phone.valid}};
          FIDELIS_RETURN_IF_ERROR(tx.exec(
              "UPDATE customer_phones SET e164 = $3, phone_key = $4, type = $5, valid = $6 WHERE customer_id = $1 AND "
              "position = $2",
              up));
          if (!now_is.phone.valid && r.i64(4) != 0)
            flags.push_back({"phone", r.str(1), std::string(phone_flag_reason(now_is.phone)), "phone check", now});
          ++rewritten;
        }
        if (rewritten == 0) continue;
        out.phones_changed += rewritten;
        ++out.customers_changed;
        const int64_t version = customer->i64(0);
        Value bump[] = {id, now};
        FIDELIS_RETURN_IF_ERROR(tx.exec("UPDATE customers SET version = version + 1, updated_at = $2 WHERE id = $1", bump));
        for (const QualityFlag& f : flags) {
          Value fp[] = {id, f.field, f.value, f.reason, f.source, f.at};
          FIDELIS_RETURN_IF_ERROR(tx.exec(
              "INSERT INTO customer_flags (customer_id, field, value, reason, source, at) VALUES ($1, $2, $3, $4, $5, $6) "
              "ON CONFLICT (customer_id, field, value) DO UPDATE SET reason = excluded.reason, source = excluded.source, "
              "at = excluded.at",
              fp));
        }
        FIDELIS_RETURN_IF_ERROR(refresh_document(tx, id));
        const std::string before = fmt::format(R"({{"id":{},"version":{},"deleted":false}})", id, version);
        const std::string after_json = fmt::format(R"({{"id":{},"version":{},"fields":["phones"]}})", id, version + 1);
        FIDELIS_RETURN_IF_ERROR(
            audit::record(tx, actor, {"customer.update", "customer", std::to_string(id), before, after_json}, now));
        FIDELIS_RETURN_IF_ERROR(audit::emit(tx, {"customer.updated", id, std::to_string(id), after_json}, now));
      }
      return ok();
    });
    if (!s) return s.error();
  }
  return out;
}

Status upgrade_stored_phones(storage::Db& db, const Clock& clock) {
  Value k[] = {std::string("phones.rules")};
  FIDELIS_ASSIGN_OR_RETURN(std::optional<storage::Row> row, db.one("SELECT value FROM settings WHERE key = $1", k));
  if (row && row->str(0) == kPhoneRules) return ok();
  CustomerService svc(db, clock);
  FIDELIS_ASSIGN_OR_RETURN(CustomerService::PhoneRecheck done, svc.recheck_phones(false, audit::Actor{}));
  if (done.customers_changed > 0)
    log::info("stored phone numbers read under the current rules",
              {{"phones_read", std::to_string(done.phones_read)},
               {"phones_changed", std::to_string(done.phones_changed)},
               {"customers_changed", std::to_string(done.customers_changed)}});
  Value p[] = {k[0], std::string(kPhoneRules)};
  return db.transact([&](storage::Tx& tx) -> Status {
    FIDELIS_RETURN_IF_ERROR(
        tx.exec("INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value", p));
    return ok();
  });
}

}  // namespace fidelis::customers

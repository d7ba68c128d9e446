// The mailbox key stored beside each e-mail address (customer_emails.mailbox_key), and its one-time
// fill for addresses stored before it existed.

#include <algorithm>

#include "core/email.h"
#include "core/log.h"
#include "core/text.h"
#include "customers/customer_internal.h"

namespace fidelis::customers {

using storage::Value;

std::string stored_mailbox_key(std::string_view email_key) {
  std::string key = mailbox_key(email_key);
  return key == email_key ? std::string() : key;
}

Status lock_mailboxes(storage::Tx& tx, std::span<const std::string> emails) {
  std::vector<std::string> keys;
  keys.reserve(emails.size());
  for (const std::string& e : emails) {
    std::string key = mailbox_key(e);
    keys.push_back("customer_mailbox:" + (key.empty() ? text::to_lower(e) : key));
  }
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  for (const std::string& k : keys) FIDELIS_RETURN_IF_ERROR(tx.lock_key(k));
  return ok();
}

Value mailbox_key_column(std::string_view email_key) {
  std::string key = stored_mailbox_key(email_key);
  return key.empty() ? storage::null() : Value(std::move(key));
}

namespace {

// Sets the mailbox key of each row of `rows` (customer_id, position, email_key) that has one.
Result<int64_t> store_mailbox_keys(storage::Tx& tx, const storage::Rows& rows) {
  int64_t filled = 0;
  for (const auto& r : rows.rows) {
    Value key = mailbox_key_column(r.str(2));
    if (std::holds_alternative<std::monostate>(key)) continue;
    Value up[] = {r.i64(0), r.i64(1), key};
    FIDELIS_RETURN_IF_ERROR(tx.exec("UPDATE customer_emails SET mailbox_key = $3 WHERE customer_id = $1 AND position = $2", up));
    ++filled;
  }
  return filled;
}

constexpr std::string_view kEmailRules = "1";  // settings "emails.rules": the mailbox keys are filled

}  // namespace

Status rekey_emails(storage::Tx& tx, int64_t id) {
  Value p[] = {id};
  FIDELIS_ASSIGN_OR_RETURN(storage::Rows rows,
                           tx.query("SELECT customer_id, position, email_key FROM customer_emails WHERE customer_id = $1", p));
  FIDELIS_RETURN_IF_ERROR(store_mailbox_keys(tx, rows));
  return ok();
}

Status upgrade_stored_emails(storage::Db& db) {
  return storage::upgrade_once(db, "emails.rules", kEmailRules, [&]() -> Status {
    // By ranges of customers, one transaction each: every address whose mailbox differs from it.
    FIDELIS_ASSIGN_OR_RETURN(std::optional<storage::Row> last, db.one("SELECT MAX(id) FROM customers"));
    const int64_t last_id = last && !last->is_null(0) ? last->i64(0) : 0;
    int64_t filled = 0;
    constexpr int64_t kRange = 20'000;
    for (int64_t after = 0; after < last_id; after += kRange) {
      Value range[] = {after, after + kRange};
      FIDELIS_RETURN_IF_ERROR(db.transact([&](storage::Tx& tx) -> Status {
        FIDELIS_ASSIGN_OR_RETURN(storage::Rows rows,
                                 tx.query("SELECT customer_id, position, email_key FROM customer_emails WHERE customer_id > "
                                          "$1 AND customer_id <= $2 AND mailbox_key IS NULL",
                                          range));
        FIDELIS_ASSIGN_OR_RETURN(int64_t n, store_mailbox_keys(tx, rows));
        filled += n;
        return ok();
      }));
    }
    if (filled > 0) log::info("stored e-mail addresses given their mailbox keys", {{"addresses", std::to_string(filled)}});
    return ok();
  });
}

}  // namespace fidelis::customers

// E-mail address statuses, NPAI rates and the alert.

#include "deliverability/deliverability.h"

#include <fmt/format.h>

#include <algorithm>

#include "core/email.h"
#include "core/log.h"
#include "core/text.h"
#include "customers/customers.h"

namespace fidelis::deliverability {

using storage::Value;

namespace {

EmailStatus from_row(const storage::Row& r) {
  EmailStatus s;
  s.email = r.str(0);
  s.customer_id = r.opt_i64(1);
  s.status = bounces::parse_address_status(r.str(2)).value_or(bounces::AddressStatus::kUnverified);
  s.soft_count = static_cast<int>(r.i64(3));
  s.sent = r.i64(4) != 0;
  s.last_code = r.str(5);
  s.last_reason = r.str(6);
  s.updated_at = r.i64(7);
  return s;
}

constexpr std::string_view kColumns = "email_key, customer_id, status, soft_count, sent, last_code, last_reason, updated_at";

Result<std::string> key_of(std::string_view email) {
  FIDELIS_ASSIGN_OR_RETURN(std::string e, normalize_email(email, "email"));
  return text::to_lower(e);
}

// A customer's postal address as the flags see it.
struct PostalAddress {
  std::string key;     // one comparable key (accents, case and spacing folded)
  bool none = true;    // no street, postcode or city: nowhere mail could be sent
};

// The live customer's postal address, or nullopt when no live customer has the id.
Result<std::optional<PostalAddress>> address_of(storage::Tx& tx, int64_t customer_id) {
  Value c[] = {customer_id};
  FIDELIS_ASSIGN_OR_RETURN(
      std::optional<storage::Row> row,
      tx.one("SELECT street, street2, postcode, city, country FROM customers WHERE id = $1 AND deleted_at IS NULL", c));
  if (!row) return std::optional<PostalAddress>();
  PostalAddress a;
  for (int i = 0; i < 5; ++i) a.key += text::search_key(row->str(i)) + "|";
  a.none = text::trim(row->str(0)).empty() && text::trim(row->str(2)).empty() && text::trim(row->str(3)).empty();
  return std::optional<PostalAddress>(std::move(a));
}

}  // namespace

DeliverabilityService::DeliverabilityService(storage::Db& db, const Clock& clock, Options options)
    : db_(db), clock_(clock), options_(options) {}

Result<std::vector<EmailStatus>> DeliverabilityService::record(const std::vector<bounces::Bounce>& events,
                                                               std::string_view via, const audit::Actor& actor) {
  std::vector<EmailStatus> out;
  Millis now = clock_.now();
  bool rate_moved = false;  // only then is the base-wide rate worth recounting
  std::vector<std::pair<int64_t, std::string>> said_no;  // customers who unsubscribed or complained, and how
  FIDELIS_RETURN_IF_ERROR(db_.transact([&](storage::Tx& tx) -> Status {
    for (const bounces::Bounce& b : events) {
      FIDELIS_ASSIGN_OR_RETURN(std::string key, key_of(b.recipient));
      FIDELIS_RETURN_IF_ERROR(tx.lock_key("email_status:" + key));
      Value k[] = {key};
      FIDELIS_ASSIGN_OR_RETURN(std::optional<storage::Row> cur,
                               tx.one(fmt::format("SELECT {} FROM email_status WHERE email_key = $1", kColumns), k));
      bounces::AddressState state;
      if (cur) state = {bounces::parse_address_status(cur->str(2)).value_or(bounces::AddressStatus::kUnverified),
                        static_cast<int>(cur->i64(3))};
      bounces::AddressState next = bounces::apply_event(state, b, {options_.soft_bounces_before_hard});
      // When it happened, as the provider says; never later than now (a clock in the future must
      // not make every later event look older).
      Millis event_at = b.at_ms > 0 ? std::min(b.at_ms, now) : now;
      if (b.kind == bounces::Kind::kSoft || b.kind == bounces::Kind::kNotABounce) {
        // Recorded, but changing nothing: an event older than one already recorded (a delivery
        // reported late must not clear a newer bounce), and a soft bounce of a message already
        // counted (a provider reporting each retry of one message).
        Value q[] = {key, b.message_id};
        FIDELIS_ASSIGN_OR_RETURN(
            std::optional<storage::Row> seen,
            tx.one("SELECT MAX(at), COUNT(CASE WHEN kind = 'soft' AND message_id = $2 AND message_id <> '' THEN 1 END) "
                   "FROM email_events WHERE email_key = $1",
                   q));
        // Only an event that says when it happened can be late: one without a time is "now", in
        // the order events arrive (two requests may read the clock in one order and take the
        // address's lock in the other).
        bool late = b.at_ms > 0 && seen && !seen->is_null(0) && event_at < seen->i64(0);
        bool retry = b.kind == bounces::Kind::kSoft && seen && seen->i64(1) > 0;
        if (late || retry) next = state;
      }
      FIDELIS_ASSIGN_OR_RETURN(std::optional<int64_t> owner, customers::find_by_email(tx, key));
      Value customer = storage::opt(owner);
      // An unsubscribe or a spam complaint through the provider is the person's no to marketing
      // e-mail (withdrawn below, once these events are recorded).
      if (owner && (b.kind == bounces::Kind::kUnsubscribe || b.kind == bounces::Kind::kComplaint))
        said_no.emplace_back(*owner, fmt::format("{}-{}", via, bounces::kind_name(b.kind)));
      // Sent to: a delivery or a bounce was seen. A delay warning is neither (the server still
      // retries), and complaints and unsubscriptions say nothing of delivery.
      bool sent = b.kind != bounces::Kind::kUnsubscribe && b.kind != bounces::Kind::kComplaint &&
                  b.action != bounces::Action::kDelayed;
      bool was_sent = cur && cur->i64(4) != 0;
      bool hard_before = state.status == bounces::AddressStatus::kHardBounce;
      bool hard_after = next.status == bounces::AddressStatus::kHardBounce;
      if ((sent && !was_sent) || hard_before != hard_after) rate_moved = true;
      // The code, the reason and the time are those of the event that last moved the status: an
      // event that moves nothing (a delivery after a hard bounce, a delay, a late or repeated
      // report) is recorded in the history only, so an NPAI address keeps the bounce that made it so.
      const bool moved = next != state;
      std::string code = b.status_code, reason(bounces::reason_name(b.reason));
      Millis changed_at = now;
      if (!moved) {
        code = cur ? cur->str(5) : std::string();
        reason = cur ? cur->str(6) : std::string();
        changed_at = cur ? cur->i64(7) : now;
      }
      Value up[] = {key, customer, std::string(bounces::address_status_name(next.status)), int64_t{next.soft_count},
                    int64_t{sent}, code, reason, changed_at};
      FIDELIS_ASSIGN_OR_RETURN(
          std::optional<storage::Row> row,
          tx.one(fmt::format("INSERT INTO email_status ({0}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) "
                             "ON CONFLICT (email_key) DO UPDATE SET customer_id = excluded.customer_id, status = "
                             "excluded.status, soft_count = excluded.soft_count, sent = CASE WHEN email_status.sent = 1 "
                             "THEN 1 ELSE excluded.sent END, last_code = excluded.last_code, last_reason = "
                             "excluded.last_reason, updated_at = excluded.updated_at RETURNING {0}",
                             kColumns),
                 up));
      Value ev[] = {key, customer, std::string(bounces::kind_name(b.kind)), b.status_code,
                    std::string(bounces::reason_name(b.reason)), b.diagnostic.substr(0, 2000), b.message_id,
                    std::string(via), event_at};
      FIDELIS_RETURN_IF_ERROR(tx.exec(
          "INSERT INTO email_events (email_key, customer_id, kind, status_code, reason, diagnostic, message_id, via, at) "
          "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
          ev));
      if (next.status != state.status)
        FIDELIS_RETURN_IF_ERROR(audit::emit(tx, {"email.status_changed", owner, key,
                                                 fmt::format(R"({{"from":"{}","to":"{}"}})", bounces::address_status_name(state.status),
                                                             bounces::address_status_name(next.status))},
                                            now));
      out.push_back(from_row(*row));
    }
    return audit::record(tx, actor, {"email.events", "email_status", std::to_string(events.size()), std::nullopt,
                                     fmt::format(R"({{"via":"{}","events":{}}})", via, events.size())},
                         now);
  }));
  if (rate_moved) FIDELIS_RETURN_IF_ERROR(check_alert(now));
  // Their e-mail newsletter and offers consents are withdrawn, as a change made through the API
  // (consent history with the provider as source, a new version): segments and exports leave
  // them out. A consent already withdrawn stays as it is.
  customers::CustomerService customers_service(db_, clock_);
  for (const auto& [id, source] : said_no) {
    customers::CustomerInput no;
    no.consents = std::vector<customers::Consent>{
        {customers::Channel::kEmail, customers::Purpose::kNewsletter, false, source, now},
        {customers::Channel::kEmail, customers::Purpose::kOffers, false, source, now}};
    for (int attempt = 0;; ++attempt) {
      FIDELIS_ASSIGN_OR_RETURN(customers::Customer cur, customers_service.get(id));
      auto done = customers_service.update(id, cur.version, no, actor);
      if (done) break;
      // Changed meanwhile by someone else: read it again.
      if (done.error().code != Code::kFailedPrecondition || attempt == 2) return done.error();
    }
  }
  return out;
}

// Recomputes the rate and raises the alert when it crosses the threshold.
Status DeliverabilityService::check_alert(Millis now) {
  bool was = alert_on_.load();
  FIDELIS_ASSIGN_OR_RETURN(Rates r, overall_rate());
  if (r.alert && !was) {
    log::warn("NPAI rate above threshold", {{"rate", fmt::format("{:.4f}", r.overall.rate)},
                                            {"threshold", fmt::format("{:.4f}", options_.alert_rate)}});
    FIDELIS_RETURN_IF_ERROR(db_.transact([&](storage::Tx& tx) -> Status {
      return audit::emit(tx, {"npai.alert", std::nullopt, "overall",
                              fmt::format(R"({{"rate":{:.4f},"threshold":{:.4f},"sent":{},"hard":{}}})", r.overall.rate,
                                          options_.alert_rate, r.overall.sent, r.overall.hard)},
                         now);
    }));
  }
  return ok();
}

Result<EmailStatus> DeliverabilityService::status(std::string_view email) {
  FIDELIS_ASSIGN_OR_RETURN(std::string key, key_of(email));
  Value k[] = {key};
  FIDELIS_ASSIGN_OR_RETURN(std::optional<storage::Row> row,
                           db_.one(fmt::format("SELECT {} FROM email_status WHERE email_key = $1", kColumns), k));
  if (!row) {
    EmailStatus s;
    s.email = key;
    return s;
  }
  return from_row(*row);
}

Result<EmailStatus> DeliverabilityService::clear(std::string_view email, const audit::Actor& actor) {
  FIDELIS_ASSIGN_OR_RETURN(EmailStatus s, status(email));
  // What its owner said (a complaint, else an unsubscription), which a hard bounce outranked, is
  // what the address goes back to.
  Value k[] = {s.email, std::string(bounces::kind_name(bounces::Kind::kComplaint)),
               std::string(bounces::kind_name(bounces::Kind::kUnsubscribe))};
  FIDELIS_ASSIGN_OR_RETURN(
      std::optional<storage::Row> said,
      db_.one("SELECT MAX(CASE WHEN kind = $2 THEN 2 ELSE 1 END) FROM email_events WHERE email_key = $1 AND kind IN ($2, $3)",
              k));
  std::optional<bounces::AddressStatus> said_no;
  if (said && !said->is_null(0))
    said_no = said->i64(0) == 2 ? bounces::AddressStatus::kComplaint : bounces::AddressStatus::kUnsubscribed;
  bounces::AddressState next = bounces::clear_bounces({s.status, s.soft_count}, said_no);
  Millis now = clock_.now();
  FIDELIS_RETURN_IF_ERROR(db_.transact([&](storage::Tx& tx) -> Status {
    Value p[] = {s.email, std::string(bounces::address_status_name(next.status)), int64_t{next.soft_count}, now};
    FIDELIS_RETURN_IF_ERROR(
        tx.exec("UPDATE email_status SET status = $2, soft_count = $3, updated_at = $4 WHERE email_key = $1", p));
    return audit::record(tx, actor, {"email.clear", "email_status", s.email, std::nullopt, std::nullopt}, now);
  }));
  // An address that is no longer NPAI lowers the rate: the alert (and its metric) follows.
  if (s.status == bounces::AddressStatus::kHardBounce && next.status != s.status) FIDELIS_RETURN_IF_ERROR(check_alert(now));
  return status(email);
}

namespace {
void set_rate(Rate& x) { x.rate = x.sent ? static_cast<double>(x.hard) / static_cast<double>(x.sent) : 0; }
}  // namespace

Result<Rates> DeliverabilityService::overall_rate() {
  Rates r;
  r.threshold = options_.alert_rate;
  FIDELIS_ASSIGN_OR_RETURN(
      std::optional<storage::Row> all,
      db_.one("SELECT COUNT(*), COALESCE(SUM(CASE WHEN status = 'hard_bounce' THEN 1 ELSE 0 END), 0) FROM email_status "
              "WHERE sent = 1"));
  r.overall = {"overall", all->i64(0), all->i64(1), 0};
  set_rate(r.overall);
  r.alert = r.overall.sent >= options_.alert_min_sent && r.overall.rate > options_.alert_rate;
  last_rate_ = r.overall.rate;
  alert_on_ = r.alert;
  return r;
}

Result<Rates> DeliverabilityService::rates() {
  FIDELIS_ASSIGN_OR_RETURN(Rates r, overall_rate());
  // The same count grouped by the import that brought each address (customer_emails.import_id),
  // or its source: a file that only names a customer whose address came from elsewhere is not
  // charged with that address.
  auto grouped = [&](std::string_view column, std::vector<Rate>& into) -> Status {
    FIDELIS_ASSIGN_OR_RETURN(
        storage::Rows rows,
        db_.query(fmt::format("SELECT {0}, COUNT(DISTINCT s.email_key), COUNT(DISTINCT CASE WHEN s.status = "
                              "'hard_bounce' THEN s.email_key END) FROM email_status s JOIN customer_emails e ON "
                              "e.email_key = s.email_key JOIN customers c ON c.id = e.customer_id AND "
                              "c.deleted_at IS NULL JOIN imports i ON i.id = e.import_id WHERE s.sent = 1 "
                              "GROUP BY {0} ORDER BY {0}",
                              column)));
    for (const auto& row : rows.rows) {
      Rate x{row.str(0), row.i64(1), row.i64(2), 0};
      set_rate(x);
      into.push_back(x);
    }
    return ok();
  };
  FIDELIS_RETURN_IF_ERROR(grouped("i.source", r.by_source));
  FIDELIS_RETURN_IF_ERROR(grouped("i.id", r.by_import));
  return r;
}

Result<bool> DeliverabilityService::sendable(std::string_view email) {
  FIDELIS_ASSIGN_OR_RETURN(EmailStatus s, status(email));
  return s.status != bounces::AddressStatus::kHardBounce && s.status != bounces::AddressStatus::kComplaint &&
         s.status != bounces::AddressStatus::kUnsubscribed;
}

Result<std::optional<std::string>> DeliverabilityService::why_unsendable(std::string_view email) {
  FIDELIS_ASSIGN_OR_RETURN(EmailStatus s, status(email));
  if (s.status == bounces::AddressStatus::kComplaint)
    return std::optional<std::string>("the recipient reported a message as spam");
  if (s.status != bounces::AddressStatus::kHardBounce) return std::optional<std::string>();
  const std::string code = s.last_code.empty() ? std::string() : " " + s.last_code;
  // A hard bounce keeps the count of soft bounces before it: only a count that reached the
  // threshold made the address NPAI.
  if (s.soft_count >= std::max(1, options_.soft_bounces_before_hard))
    return std::optional<std::string>(fmt::format("the address is NPAI ({} soft bounces in a row, last{})", s.soft_count,
                                                  code.empty() ? " without a code" : code));
  return std::optional<std::string>("the address is NPAI (hard bounce" + code + ")");
}

Status DeliverabilityService::flag_postal_npai(int64_t customer_id, std::string_view reason, const audit::Actor& actor) {
  reason = text::trim(reason);
  if (text::utf8_length(reason) > kMaxPostalReason)
    return Error::invalid_argument("reason", fmt::format("is longer than {} characters", kMaxPostalReason));
  if (text::has_control_character(reason))
    return Error::invalid_argument("reason", "cannot contain a line break, a tab or another control or invisible character");
  Millis now = clock_.now();
  return db_.transact([&](storage::Tx& tx) -> Status {
    FIDELIS_ASSIGN_OR_RETURN(std::optional<PostalAddress> address, address_of(tx, customer_id));
    if (!address) return Error::not_found("id", fmt::format("no customer {}", customer_id));
    // The state of the customer, not the request, is at fault: 409 naming the missing address.
    if (address->none)
      return Error{Code::kConflict, "address", "the customer has no postal address: there is no mail to come back"};
    Value p[] = {customer_id, std::string(reason.empty() ? "returned mail" : reason), now, address->key};
    FIDELIS_RETURN_IF_ERROR(tx.exec(
        "INSERT INTO postal_npai (customer_id, reason, at, address_key) VALUES ($1, $2, $3, $4) ON CONFLICT (customer_id) "
        "DO UPDATE SET reason = excluded.reason, at = excluded.at, address_key = excluded.address_key",
        p));
    return audit::record(tx, actor, {"postal.npai", "customer", std::to_string(customer_id), std::nullopt, std::nullopt}, now);
  });
}

Status DeliverabilityService::record_sent(std::string_view email) {
  FIDELIS_ASSIGN_OR_RETURN(std::string key, key_of(email));
  Millis now = clock_.now();
  bool newly = false;
  FIDELIS_RETURN_IF_ERROR(db_.transact([&](storage::Tx& tx) -> Status {
    FIDELIS_RETURN_IF_ERROR(tx.lock_key("email_status:" + key));
    Value k[] = {key};
    FIDELIS_ASSIGN_OR_RETURN(std::optional<storage::Row> cur, tx.one("SELECT sent FROM email_status WHERE email_key = $1", k));
    if (cur && cur->i64(0) != 0) return ok();  // already counted: nothing changes
    newly = true;
    FIDELIS_ASSIGN_OR_RETURN(std::optional<int64_t> owner, customers::find_by_email(tx, key));
    Value up[] = {key, storage::opt(owner), now};
    FIDELIS_RETURN_IF_ERROR(
        tx.exec("INSERT INTO email_status (email_key, customer_id, status, soft_count, sent, last_code, last_reason, "
                "updated_at) VALUES ($1, $2, 'unverified', 0, 1, '', '', $3) ON CONFLICT (email_key) DO UPDATE SET "
                "sent = 1, updated_at = excluded.updated_at",
                up));
    return ok();
  }));
  return newly ? check_alert(now) : ok();
}

Result<PostalNpai> DeliverabilityService::postal_npai(int64_t customer_id) {
  PostalNpai out;
  FIDELIS_RETURN_IF_ERROR(db_.read([&](storage::Tx& tx) -> Status {
    FIDELIS_ASSIGN_OR_RETURN(std::optional<PostalAddress> address, address_of(tx, customer_id));
    if (!address) return Error::not_found("id", fmt::format("no customer {}", customer_id));
    Value c[] = {customer_id};
    FIDELIS_ASSIGN_OR_RETURN(std::optional<storage::Row> flag,
                             tx.one("SELECT reason, at, address_key FROM postal_npai WHERE customer_id = $1", c));
    if (!flag) return ok();
    out.reason = flag->str(0);
    out.at = flag->i64(1);
    // A flag from before addresses were kept with it applies to the address the customer has.
    out.npai = flag->str(2).empty() || flag->str(2) == address->key;
    out.address_changed = !out.npai;
    return ok();
  }));
  return out;
}

Status DeliverabilityService::clear_postal_npai(int64_t customer_id, const audit::Actor& actor) {
  Millis now = clock_.now();
  return db_.transact([&](storage::Tx& tx) -> Status {
    FIDELIS_ASSIGN_OR_RETURN(std::optional<PostalAddress> address, address_of(tx, customer_id));
    if (!address) return Error::not_found("id", fmt::format("no customer {}", customer_id));
    Value c[] = {customer_id};
    FIDELIS_ASSIGN_OR_RETURN(int64_t removed, tx.exec("DELETE FROM postal_npai WHERE customer_id = $1", c));
    if (removed == 0) return ok();  // no flag: nothing happened, nothing to audit
    return audit::record(tx, actor, {"postal.npai_cleared", "customer", std::to_string(customer_id), std::nullopt, std::nullopt},
                         now);
  });
}

}  // namespace fidelis::deliverability

// Sending the outbox: claim due messages, send each over SMTP, record the outcome with the retry
// policy. Claims are conditional UPDATEs, so any number of senders (threads, servers, a cron'd
// `fidelis mail send-pending`) share one outbox.

#include <fmt/format.h>

#include <algorithm>
#include <random>

#include "core/log.h"
#include "mail/mail_internal.h"

namespace fidelis::mail {

using storage::Value;

namespace {

constexpr Millis kMaxRetryDelay = 6LL * 3600 * 1000;

// A message is due when queued and its time has come, or when the sender that claimed it let the
// lease run out (it died, or hangs).
constexpr std::string_view kDue =
    "((status = 'queued' AND next_attempt_at <= $1) OR (status = 'sending' AND claimed_until < $1))";

std::string random_hex() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return fmt::format("{:016x}", rng());
}

}  // namespace

Millis retry_delay(int attempts, Millis base) {
  Millis delay = std::max<Millis>(base, 1);
  for (int i = 1; i < attempts && delay < kMaxRetryDelay; ++i) delay *= 2;
  return std::min(delay, kMaxRetryDelay);
}

Result<std::unique_ptr<MailService>> MailService::create(storage::Db& db, const Clock& clock, MailOptions options) {
  FIDELIS_ASSIGN_OR_RETURN(Address from, parse_address(options.from, "mail_from"));
  if (options.max_attempts < 1 || options.max_attempts > 100)
    return Error::invalid_argument("mail_max_attempts", "must be between 1 and 100");
  if (options.retry_base_ms < 1) return Error::invalid_argument("mail_retry_base_ms", "must be at least 1");
  if (options.smtp.timeout_ms < 100) return Error::invalid_argument("smtp_timeout_ms", "must be at least 100");
  if (!options.smtp.url.empty() && !options.smtp.url.starts_with("smtp://") && !options.smtp.url.starts_with("smtps://"))
    return Error::invalid_argument("smtp_url", "expected smtp://HOST:PORT or smtps://HOST:PORT");
  if (options.batch < 1) options.batch = 1;
  return std::unique_ptr<MailService>(new MailService(db, clock, std::move(options), std::move(from)));
}

MailService::MailService(storage::Db& db, const Clock& clock, MailOptions options, Address from)
    : db_(db), clock_(clock), options_(std::move(options)), from_(std::move(from)) {}

Result<std::vector<Message>> MailService::claim_due(int limit) {
  Millis now = clock_.now();
  Millis lease = now + options_.smtp.timeout_ms + 60'000;
  Value p[] = {now, int64_t{limit}};
  FIDELIS_ASSIGN_OR_RETURN(
      storage::Rows due,
      db_.query(fmt::format("SELECT id FROM mail_messages WHERE {} ORDER BY id LIMIT $2", kDue), p));
  std::vector<Message> out;
  for (const auto& r : due.rows) {
    int64_t id = r.i64(0);
    std::optional<Message> claimed;
    Status s = db_.transact([&](storage::Tx& tx) -> Status {
      std::string message_id = fmt::format("{}.{}@{}", id, random_hex(), from_.email.substr(from_.email.rfind('@') + 1));
      Value cp[] = {now, lease, message_id, id};
      FIDELIS_ASSIGN_OR_RETURN(
          int64_t won,
          tx.exec(fmt::format("UPDATE mail_messages SET status = 'sending', attempts = attempts + 1, claimed_until = $2, "
                              "message_id = COALESCE(message_id, $3), updated_at = $1 WHERE id = $4 AND {}",
                              kDue),
                  cp));
      if (won == 0) return ok();  // another sender was first
      Value idp[] = {id};
      FIDELIS_ASSIGN_OR_RETURN(
          std::optional<storage::Row> row,
          tx.one(fmt::format("SELECT {} FROM {} WHERE m.id = $1", internal::message_columns(true), internal::kMessageFrom),
                 idp));
      if (row) claimed = internal::message_from_row(*row);
      return ok();
    });
    if (!s && s.error().code == Code::kConflict) continue;  // lost a race on PostgreSQL
    if (!s) return s.error();
    if (claimed) out.push_back(std::move(*claimed));
  }
  return out;
}

State MailService::next_state(const Message& claimed, const SmtpReply& reply) const {
  if (reply.delivered) return State::kSent;
  return reply.permanent || claimed.attempts >= options_.max_attempts ? State::kFailed : State::kQueued;
}

Result<bool> MailService::record(const Message& claimed, const SmtpReply& reply, bool sent_nothing) {
  Millis now = clock_.now();
  State next = next_state(claimed, reply);
  bool recorded = false;
  Status s = db_.transact([&](storage::Tx& tx) -> Status {
    Value next_at = next == State::kQueued ? Value(now + retry_delay(claimed.attempts, options_.retry_base_ms)) : storage::null();
    Value sent_at = next == State::kSent ? Value(now) : storage::null();
    const int64_t attempts = claimed.attempts - (sent_nothing ? 1 : 0);
    Value p[] = {claimed.id, int64_t{claimed.attempts}, std::string(state_name(next)), next_at, int64_t{reply.code},
                 reply.text, sent_at, now, attempts};
    // The attempt count fences the claim: if the lease ran out and another sender claimed the
    // message again, this outcome is stale and changes nothing.
    FIDELIS_ASSIGN_OR_RETURN(
        int64_t changed,
        tx.exec("UPDATE mail_messages SET status = $3, next_attempt_at = $4, claimed_until = NULL, last_code = $5, "
                "last_reply = $6, sent_at = $7, updated_at = $8, attempts = $9 WHERE id = $1 AND status = 'sending' AND "
                "attempts = $2",
                p));
    recorded = changed == 1;
    if (!recorded || next == State::kQueued) return ok();
    return audit::emit(tx,
                       {next == State::kSent ? "mail.sent" : "mail.failed", claimed.customer_id, std::to_string(claimed.id),
                        fmt::format(R"({{"template_key":"{}","attempts":{},"code":{}}})", claimed.template_key,
                                    attempts, reply.code)},
                       now);
  });
  if (!s) return s.error();
  return recorded;
}

Result<SendReport> MailService::send_pending(const std::atomic<bool>* stop) {
  if (!sending_enabled()) return Error::failed_precondition("smtp_url", "sending is disabled: smtp_url is not set");
  SendReport report;
  for (;;) {
    if (stop != nullptr && stop->load()) return report;
    FIDELIS_ASSIGN_OR_RETURN(std::vector<Message> batch, claim_due(options_.batch));
    if (batch.empty()) return report;
    for (const Message& m : batch) {
      // Claimed messages not sent because of a stop are claimed again once their lease expires.
      if (stop != nullptr && stop->load()) return report;
      std::optional<std::string> refused;
      if (options_.recipients != nullptr) {
        FIDELIS_ASSIGN_OR_RETURN(refused, options_.recipients->refused(m.to_email));
      }
      SmtpReply reply;
      if (refused) {
        // Not sent at all: failed for good, with the reason as its last reply (an admin may retry
        // it once the address works again).
        reply.permanent = true;
        reply.text = "not sent: " + *refused;
      } else {
        std::string mime = build_mime({from_, {m.to_name, m.to_email}, m.subject, m.text, m.html,
                                       m.message_id.value_or(""), clock_.now(), m.id});
        reply = smtp_send(options_.smtp, from_.email, m.to_email, mime);
      }
      // The address's status first, so that a message seen sent or failed has its address's
      // status already told.
      if (!refused && options_.recipients != nullptr) {
        if (Status told = options_.recipients->answered(m.to_email, reply); !told)
          log::warn("cannot record the address's status", {{"id", std::to_string(m.id)}, {"error", told.error().message}});
      }
      FIDELIS_ASSIGN_OR_RETURN(bool recorded, record(m, reply, refused.has_value()));
      if (!recorded) continue;
      State next = next_state(m, reply);
      if (next == State::kSent) {
        ++report.sent;
      } else if (next == State::kFailed) {
        ++report.failed;
        log::warn("mail failed", {{"id", std::to_string(m.id)}, {"attempts", std::to_string(m.attempts)}, {"reply", reply.text}});
      } else {
        ++report.retrying;
        log::info("mail will be retried",
                  {{"id", std::to_string(m.id)}, {"attempts", std::to_string(m.attempts)}, {"reply", reply.text}});
      }
    }
  }
}

}  // namespace fidelis::mail

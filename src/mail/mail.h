#pragma once
// mail: the transactional e-mail channel. Messages are rendered from versioned mustache templates
// when they are queued, kept in an outbox table (mail_messages) in the caller's transaction, and
// delivered by a sender (the server's background MailWorker, or `fidelis mail send-pending`) over
// SMTP. Each message is multipart/alternative (text + HTML), UTF-8, with RFC 2047 headers.
//
// Statuses: queued -> sending -> sent, or back to queued (a temporary failure: 4xx reply, no
// connection, timeout) with the next attempt `retry_delay` later, or failed (a 5xx reply, or the
// last allowed attempt failed). A failed message goes back to queued only by `retry`. The SMTP
// reply code and text of the last attempt, the attempt count and the next attempt time are kept.
//
// Delivery is at least once: a sender claims a message by moving it to `sending` with a lease
// (claimed_until) in one conditional UPDATE, so two servers never send the same message at once;
// a sender that dies mid-send leaves a lease that expires, and the message is claimed again (the
// recipient may then get it twice, with the same Message-ID).
//
// Templates: (key, locale) has versions 1, 2, ...; saving creates the next version, the highest is
// current, and a message records the version that rendered it (`template_id`). Locales are "fr"
// and "en"; any other locale falls back to "fr". Seeded templates: order_confirmation and
// order_shipped, in both locales (migrations/0007_mail.sql).
//
// The template context (Outgoing::context_json) is a JSON object; the seeded templates read:
//   customer.first_name                         (optional)
//   order.number, order.total
//   order.lines[]: name, sku, quantity, unit_price, total
//   delivery.method, delivery.address_lines[]   (the postal address, one string per line)
//   delivery.slot                               (optional: "mardi 20 janvier, 8 h – 13 h")
//   tracking.number, tracking.url               (optional; order_shipped)
//   shop.name                                   (optional: signs the message)
// Money anywhere in the context may be given as {"minor": 19990, "currency": "EUR"}: it is rendered
// for the message's locale ("199,90 €" in French, "€199.90" in English). Strings are used as they
// are; numbers are written in full; true/false/null/absent drive sections. In the HTML body
// `{{x}}` is HTML-escaped; in the subject and the text body nothing is escaped.
//
// Thread-safety: MailService is shared by request threads and the worker; the free functions are
// thread-safe.

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "audit/audit.h"
#include "core/clock.h"
#include "core/result.h"
#include "storage/db.h"

namespace fidelis::mail {

// ---- queueing (outbox.cpp) ----

struct Outgoing {
  std::string template_key;          // "order_confirmation"
  std::string locale = "fr";         // "fr" or "en"; falls back to fr
  std::string to_email, to_name;
  std::string context_json;          // the mustache data as a JSON object text
  std::string dedup_key;             // unique; empty = no dedup
  std::optional<int64_t> customer_id;
};

// Renders with the current template version and queues, in the caller's transaction.
// Returns the message id (the existing one when dedup_key was already used).
// InvalidArgument: "to_email" (not an address), "to_name" (line breaks), "context_json" (not a
// JSON object), "template_key"; NotFound ("template_key") when the template has no version.
Result<int64_t> enqueue(storage::Tx& tx, const Outgoing& m, Millis now);

// ---- templates and rendering (render.cpp) ----

struct TemplateText {
  std::string subject, text, html;
};

struct Rendered {
  std::string subject, text, html;
};

// "fr" or "en"; anything else is "fr".
std::string normalize_locale(std::string_view locale);
// InvalidArgument naming "locale" unless it is "fr" or "en" (for editing, where no fallback applies).
Status check_locale(std::string_view locale);
// InvalidArgument naming "key" unless 1..60 of [a-z0-9_].
Status check_template_key(std::string_view key);
// Parses the three templates. InvalidArgument naming "subject", "text" or "html" with the mustache
// parser's message on a syntax error, or on an empty subject or a subject with a line break.
Status check_template(const TemplateText& t);
// Renders `t` with `context_json` (a JSON object; "" is {}) for `locale`. InvalidArgument naming
// "context_json" for bad JSON, or the template's field when rendering fails. The subject is
// rendered on one line (line breaks become spaces, surrounding blanks trimmed).
Result<Rendered> render(const TemplateText& t, std::string_view context_json, std::string_view locale);
// 199,90 € (fr: U+202F thousands separator, no-break space before the symbol) or €199.90 (en).
std::string format_money(int64_t minor, std::string_view currency, std::string_view locale);

// ---- MIME (mime.cpp) ----

struct Address {
  std::string name;   // display name, UTF-8, may be empty
  std::string email;  // addr-spec
};
// "Boutique Exemple <noreply@exemple.fr>" or "noreply@exemple.fr". InvalidArgument naming `field`.
Result<Address> parse_address(std::string_view text, std::string_view field);

struct MimeInput {
  Address from, to;
  std::string subject, text, html;
  std::string message_id;  // without angle brackets
  Millis date = 0;
  int64_t outbox_id = 0;   // written as X-Fidelis-Message-Id: mail-<id>, which bounces read back
};
// The message as sent: headers (From, To, Subject, Date, Message-ID, MIME-Version; RFC 2047 words
// in UTF-8 where needed), multipart/alternative with text/plain then text/html, both UTF-8
// quoted-printable. CRLF line ends.
std::string build_mime(const MimeInput& in);

// ---- SMTP (smtp.cpp) ----

struct SmtpOptions {
  std::string url;           // smtp://host:port or smtps://host:port (implicit TLS); empty = disabled
  std::string user, password;  // AUTH when user is not empty
  bool require_starttls = false;  // smtp:// only: refuse to send unless STARTTLS succeeds
  Millis timeout_ms = 30'000;     // whole exchange, connection included
  std::string ca_file;            // PEM certificates to trust (a private CA); empty: the system's
};

struct SmtpReply {
  bool delivered = false;
  bool permanent = false;  // a 5xx reply: retrying will not help
  int code = 0;            // the last SMTP reply code; 0 when the attempt failed without a 4xx/5xx
                           // refusal (no connection, TLS missing or refused, timeout)
  std::string text;        // the last reply line(s), or the connection error
};
// Sends one message (blocking, up to timeout_ms). Never throws; failures are in the reply.
SmtpReply smtp_send(const SmtpOptions& options, const std::string& from_email, const std::string& to_email,
                    const std::string& mime);

// ---- the outbox and its sender (mail_service.cpp) ----

enum class State { kQueued, kSending, kSent, kFailed };
std::string_view state_name(State s);
// InvalidArgument naming `field` for an unknown name.
Result<State> parse_state(std::string_view name, std::string_view field = "status");

// The delay before attempt `attempts + 1` after `attempts` failed ones (>= 1): base, 2 base,
// 4 base, ... capped at 6 hours.
Millis retry_delay(int attempts, Millis base);

struct Message {
  int64_t id = 0;
  std::optional<int64_t> customer_id;
  int64_t template_id = 0;
  std::string template_key, locale;
  int64_t template_version = 0;
  std::optional<std::string> dedup_key;
  std::string to_email, to_name;
  std::string subject, text, html;
  State state = State::kQueued;
  int attempts = 0;
  std::optional<Millis> next_attempt_at;
  std::optional<Millis> claimed_until;
  std::optional<int> last_code;
  std::optional<std::string> last_reply;
  std::optional<std::string> message_id;
  Millis created_at = 0, updated_at = 0;
  std::optional<Millis> sent_at;
};

struct MessageQuery {
  std::optional<State> state;
  std::optional<int64_t> customer_id;
  std::optional<int64_t> before_id;  // cursor: newest first
  int limit = 50;                    // 1..500
};
struct MessagePage {
  std::vector<Message> items;  // without text and html bodies
  std::optional<int64_t> next_before_id;
};

struct Template {
  int64_t id = 0;
  std::string key, locale;
  int64_t version = 0;
  TemplateText body;
  Millis created_at = 0;
  std::string created_by;
};

struct TemplateHistory {
  std::string key;
  std::vector<Template> current;   // the highest version of each locale, fr first
  std::vector<Template> versions;  // every version, newest first, without bodies
};

// What the sender asks and tells about recipients' addresses: the app answers with the address
// statuses of the deliverability module (which this module does not depend on).
class Recipients {
 public:
  virtual ~Recipients() = default;
  // Why nothing may be sent to `email` (an NPAI address, a spam complaint), or nullopt.
  virtual Result<std::optional<std::string>> refused(std::string_view email) = 0;
  // The SMTP server's answer for a message to `email` (delivered, or refused for good), so the
  // address's status follows what the server said.
  virtual Status answered(std::string_view email, const SmtpReply& reply) = 0;
};

struct MailOptions {
  SmtpOptions smtp;
  Recipients* recipients = nullptr;  // not owned; null: every address is sent to, nothing is told
  std::string from = "Fidelis <noreply@fidelis.invalid>";  // "Display Name <address>": set it
  int max_attempts = 8;
  Millis retry_base_ms = 60'000;
  int batch = 20;  // messages claimed at a time
};

struct SendReport {
  int sent = 0, retrying = 0, failed = 0;
};

class MailService {
 public:
  // InvalidArgument naming "mail_from" or "mail_max_attempts" / "mail_retry_base_ms" on bad options.
  static Result<std::unique_ptr<MailService>> create(storage::Db& db, const Clock& clock, MailOptions options);

  bool sending_enabled() const { return !options_.smtp.url.empty(); }

  // enqueue in a transaction of its own, for integrations that send through the API; audited.
  // `created` is false when the dedup key had already queued a message (its id comes back).
  struct Queued {
    int64_t id = 0;
    bool created = false;
  };
  Result<Queued> queue(const Outgoing& m, const audit::Actor& actor);

  Result<MessagePage> list_messages(const MessageQuery& q);
  // NotFound ("id").
  Result<Message> get_message(int64_t id);
  // failed -> queued, due now, attempts back to 0. NotFound ("id"); FailedPrecondition ("status")
  // unless the message failed.
  Result<Message> retry(int64_t id, const audit::Actor& actor);

  // The current version of every template and locale, by key then locale.
  Result<std::vector<Template>> templates();
  // NotFound ("key") when the key has no version. InvalidArgument ("key").
  Result<TemplateHistory> history(std::string_view key);
  // Saves the next version of (key, locale). InvalidArgument naming "key", "locale", "subject",
  // "text" or "html" (see check_template). Creates the key when it is new.
  Result<Template> save_template(std::string_view key, std::string_view locale, TemplateText body,
                                 const audit::Actor& actor);
  // Renders `body` (or the current version when nullopt) with `context_json`. NotFound ("key") when
  // nullopt and the template has no version.
  Result<Rendered> preview(std::string_view key, std::string_view locale, const std::optional<TemplateText>& body,
                           std::string_view context_json);

  // Claims up to `limit` due messages (queued and due, or sending with an expired lease): each in a
  // conditional UPDATE that only one sender can win. Claiming counts an attempt and fixes the
  // Message-ID.
  Result<std::vector<Message>> claim_due(int limit);
  // Records the outcome of the attempt of a message returned by claim_due: sent; queued again
  // retry_delay later; or failed (permanent reply, or no attempt left). Ignored (returns false) when
  // the claim was lost meanwhile (the lease expired and another sender took the message).
  // `sent_nothing`: the recipient was refused before any sending (an NPAI address): the claim's
  // attempt is not counted.
  Result<bool> record(const Message& claimed, const SmtpReply& reply, bool sent_nothing = false);
  // Claims, sends and records until nothing is due. FailedPrecondition ("smtp_url") when sending is
  // disabled. `stop` (optional) ends the loop early between messages.
  Result<SendReport> send_pending(const std::atomic<bool>* stop = nullptr);

 private:
  MailService(storage::Db& db, const Clock& clock, MailOptions options, Address from);
  // After an attempt: sent, failed (permanent reply, or no attempt left), or queued again.
  State next_state(const Message& claimed, const SmtpReply& reply) const;
  storage::Db& db_;
  const Clock& clock_;
  MailOptions options_;
  Address from_;
};

// The server's sender: a thread that calls send_pending every `poll_ms` until stop(). When sending
// is disabled it does nothing and messages stay queued.
class MailWorker {
 public:
  MailWorker(MailService& service, Millis poll_ms = 1000);
  ~MailWorker();  // stops
  void start();
  // Returns once the thread has finished the message it was sending.
  void stop();

 private:
  void run();
  MailService& service_;
  Millis poll_ms_;
  std::atomic<bool> stopping_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  std::thread thread_;
};

}  // namespace fidelis::mail

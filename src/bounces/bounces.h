#pragma once
// bounces: what comes back after Fidelis sends an e-mail, and what it means for the address.
//
// Three inputs end up as the same `Bounce`:
//   - a raw bounce message received on the return path (parse_dsn): RFC 3464 delivery status
//     notifications, and the older free-text bounces some MTAs still send (Exim, qmail, sendmail);
//   - a provider webhook, already decoded from JSON by the HTTP layer (from_webhook);
//   - a caller that only has a status code and a text (classify).
// The escalation rule (apply_event) then turns a stream of bounces into the address's status:
// valid, soft bounce with a count, hard bounce ("NPAI": n'habite pas à l'adresse indiquée), ...
//
// Everything here is a pure function of its arguments: no I/O, no clock, no global state other than
// the MIME library's one-time initialisation. Thread-safety: every function may be called from any
// number of threads at once.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace fidelis::bounces {

// What a bounce says about the address.
enum class Kind {
  kHard,         // the address does not work and will not: stop sending (NPAI).
  kSoft,         // this message failed, the address may still work: retry later, count it.
  kComplaint,    // the recipient reported the message as spam (provider feedback loop).
  kUnsubscribe,  // the recipient unsubscribed through the provider (List-Unsubscribe); webhooks only.
  kNotABounce,   // delivered, relayed or expanded: good news, not a failure.
};

// Why, as far as the status code and the diagnostic text tell. Shown to marketers; drives nothing
// by itself (Kind does).
enum class Reason {
  kNone,             // not a failure (delivered, complaint, unsubscribe).
  kMailboxUnknown,   // no such user at that domain (X.1.1, "user unknown", "adresse inconnue").
  kDomainUnknown,    // the domain has no mail server (X.1.2, X.1.10 null MX, X.4.4, "host not found").
  kMailboxDisabled,  // the mailbox exists but is closed (X.2.1, X.7.13, "account disabled").
  kMailboxFull,      // over quota (X.2.2, "mailbox full", "boîte pleine").
  kMessageTooLarge,  // this message is too big for the recipient (X.2.3, X.3.4); the address is fine.
  kPolicy,           // refused by policy or a spam filter (X.7.x, X.6.x, "blocked", "spam"); not the
                     // address's fault.
  kTemporary,        // a passing failure: greylisting, timeouts, too many connections (most 4.x.x).
  kSystem,           // the receiving system failed or refused for its own reasons (X.3.x, X.5.x).
  kOther,            // a failure nothing more precise could be said about.
};

// RFC 3464 Action field. kNone for events that carry no delivery action (complaints, unsubscribes).
enum class Action { kNone, kFailed, kDelayed, kDelivered, kRelayed, kExpanded };

// Stable lower-case names, for storage and the API: "hard", "soft", "complaint", "unsubscribe",
// "not_a_bounce"; "mailbox_unknown", "domain_unknown", ...; "failed", "delayed", ... ("" for kNone).
std::string_view kind_name(Kind kind);
std::string_view reason_name(Reason reason);
std::string_view action_name(Action action);
// Case-insensitive RFC 3464 action ("Failed" -> kFailed); nullopt for anything else.
std::optional<Action> parse_action(std::string_view text);

// One recipient's outcome. Strings are valid UTF-8; empty means "not known".
struct Bounce {
  // The address this outcome is about, normalised (fidelis::normalize_email): the Original-Recipient
  // when the report gives one (it is the address Fidelis sent to, before any forwarding), else the
  // Final-Recipient.
  std::string recipient;
  std::string final_recipient;  // the Final-Recipient as reported, normalised; equal to recipient unless forwarded.
  Action action = Action::kFailed;
  // RFC 3463 enhanced status code "class.subject.detail" ("5.1.1"); when the report has none, the
  // basic SMTP reply code ("550") if that is all there is; else empty.
  std::string status_code;
  std::string diagnostic;     // the remote server's words, e.g. "550 5.1.1 <x@y.fr>: User unknown"
  std::string remote_mta;     // "mx.example.fr" (the host that answered), if reported
  std::string reporting_mta;  // the host that wrote the report, if reported
  // Message-ID of the message that bounced, without angle brackets, and the X-Fidelis-Message-Id
  // header Fidelis put on it; found in the returned message or headers, or in the webhook.
  std::string message_id;
  std::string fidelis_message_id;
  Kind kind = Kind::kSoft;
  Reason reason = Reason::kOther;
  // True when no machine-readable delivery-status part existed and the fields were guessed from
  // free text: trust the recipient less, and prefer a provider's explicit verdict when there is one.
  bool heuristic = false;
  // When it happened, epoch ms: Last-Attempt-Date, else Arrival-Date, else the bounce's Date, or the
  // webhook's time; 0 if unknown.
  int64_t at_ms = 0;
};

// ---------------------------------------------------------------------------------------------
// Classification (RFC 3463)

struct Classification {
  Kind kind = Kind::kSoft;
  Reason reason = Reason::kOther;
  friend bool operator==(const Classification&, const Classification&) = default;
};

// Classifies one recipient's outcome from its status code, diagnostic text and DSN action.
//
// `status_code` is an enhanced code ("5.1.1", extra text after it is ignored) or a basic SMTP reply
// code ("550"); when it is empty or unreadable, a code found in `diagnostic` is used instead.
// `action` is an RFC 3464 action, case-insensitive; empty is taken as "failed".
//
// Rules, first match wins:
//   action delivered / relayed / expanded, or a 2.x.x code      -> not a bounce
//   action delayed                                              -> soft (reason from code/text)
//   4.x.x                                                       -> soft (the server said "try later")
//   5.1.x (bad destination address), 5.2.1 and 5.7.13 (disabled),
//     5.4.4 (unable to route: no such domain)                   -> hard
//   5.1.7 / 5.1.8 (the *sender's* address was refused)          -> soft, policy
//   5.2.2 mailbox full                                          -> soft (quotas get emptied)
//   5.2.3 / 5.3.4 message too large                             -> soft (the address is fine)
//   5.7.x, 5.6.x policy, spam, content                          -> soft, policy, unless the text
//                                                                  clearly says the user is unknown
//   generic codes (x.0.0, x.1.0, x.2.0 ...) and no code at all  -> decided by the diagnostic text
//     (English and French phrasings: "user unknown", "no such user", "mailbox unavailable",
//     "Recipient address rejected", "does not exist", "adresse inconnue", "boîte pleine", "quota",
//     "blocked", "greylisted", ...)
//   any other permanent failure                                 -> soft, other: a failure nobody can
//     explain should not kill an address at once; repeated, it escalates (see apply_event).
Classification classify_detailed(std::string_view status_code, std::string_view diagnostic,
                                 std::string_view action);
Kind classify(std::string_view status_code, std::string_view diagnostic, std::string_view action);

// ---------------------------------------------------------------------------------------------
// Bounce messages (RFC 3464 DSN, and free-text bounces)

// Parses a raw RFC 5322 message received as a bounce; returns one Bounce per recipient reported.
//
// A multipart/report with a message/delivery-status part (also accepted: text/delivery-status,
// message/global-delivery-status), at any depth and in any transfer encoding, gives one Bounce
// per per-recipient group; success reports (action delivered) come back with kind kNotABounce.
// The Message-ID and X-Fidelis-Message-Id of the bounced message are read from a message/rfc822 or
// text/rfc822-headers part. Without a delivery-status part, a message that looks like a bounce
// (sender MAILER-DAEMON or postmaster, X-Failed-Recipients, a bounce subject, or the usual
// "The following address(es) failed:" phrasing) is read heuristically: recipients from
// X-Failed-Recipients or the failure block, the status code and diagnostic from the text next to
// each recipient; those Bounces have heuristic = true.
//
// Cost is linear in the message size; the free-text reader looks at the first 256 KiB of text.
// Bounding the input size is the caller's job (the SMTP or HTTP edge that received it).
//
// InvalidArgument, field "message": empty input, input that is not an RFC 5322 message, a message
// that is not a bounce (an ordinary e-mail, an auto-reply), or a bounce naming no usable recipient.
Result<std::vector<Bounce>> parse_dsn(std::string_view raw_message);

// ---------------------------------------------------------------------------------------------
// Provider webhooks

// One event from an e-mail provider's webhook, as the HTTP layer fills it from the provider's JSON
// (this module never sees JSON). Providers name things differently; the HTTP layer maps them here.
struct WebhookEvent {
  std::string type;         // "bounce", "complaint", "delivered" or "unsubscribe" (case-insensitive)
  std::string email;        // the recipient
  std::string status_code;  // "5.1.1" or "550" when the provider gives one; free text after it is ignored
  std::string diagnostic;   // the remote server's response, when given
  // The provider's own verdict: "hard" (also "permanent"), "soft" (also "transient", "temporary"),
  // or "" / "undetermined" to let Fidelis classify.
  std::string bounce_type;
  std::string message_id;   // the Message-ID Fidelis set on the message, as the provider echoes it back
  int64_t at_ms = 0;        // when the provider saw the event, epoch ms; 0 if unknown
};

// Maps a webhook event onto a Bounce, with the same classification as parse_dsn. A provider's
// explicit bounce_type wins over the classifier for the kind (it saw the SMTP exchange; we see a
// summary); the reason still comes from the code and text. A bounce the classifier would call
// "not a bounce" is soft/other: the provider says it failed. complaint -> kComplaint,
// delivered -> kNotABounce (action delivered), unsubscribe -> kUnsubscribe. An unreadable
// status_code is ignored rather than rejected, so that an odd provider field never loses a bounce.
//
// InvalidArgument naming the field: "type" (unknown event), "email" (not an address),
// "bounce_type" (unknown verdict), "at_ms" (negative).
Result<Bounce> from_webhook(const WebhookEvent& event);

// ---------------------------------------------------------------------------------------------
// Address status and the soft-bounce escalation rule

enum class AddressStatus { kUnverified, kValid, kSoftBounce, kHardBounce, kComplaint, kUnsubscribed };
// "unverified", "valid", "soft_bounce", "hard_bounce", "complaint", "unsubscribed".
std::string_view address_status_name(AddressStatus status);
// Inverse of address_status_name; InvalidArgument naming `field` otherwise.
Result<AddressStatus> parse_address_status(std::string_view text, std::string_view field = "status");

struct AddressState {
  AddressStatus status = AddressStatus::kUnverified;
  // Soft bounces in a row since the last delivery. Kept when escalation turns the address into a
  // hard bounce, so the back office can say "3 soft bounces".
  int soft_count = 0;
  friend bool operator==(const AddressState&, const AddressState&) = default;
};

struct EscalationConfig {
  // A run of this many soft bounces without a delivery in between makes the address a hard bounce.
  // Values below 1 count as 1 (every soft bounce is final).
  int soft_bounces_before_hard = 3;
};

// The address's status after `event`. The state machine:
//
//   the person's no (complaint outranks unsubscribed) is left by no delivery outcome:
//     any but hard_bounce --complaint-->    complaint
//     any but hard_bounce or complaint --unsubscribe--> unsubscribed
//     complaint, unsubscribed --soft bounce-->  unchanged, count + 1
//     complaint, unsubscribed --delivered-->    unchanged, count 0
//   a dead mailbox is a fact of its own:
//     any --hard bounce, or soft bounces reaching the count--> hard_bounce
//     hard_bounce --complaint or unsubscribe--> hard_bounce (the consents record the no;
//                                       clear_bounces gives it back)
//   deliverability (unverified, valid, soft_bounce, hard_bounce):
//     hard bounce                    -> hard_bounce (count kept)
//     soft bounce                    -> soft_bounce, count + 1; hard_bounce once count reaches
//                                       soft_bounces_before_hard
//     soft bounce, action delayed    -> unchanged: a warning while the server still retries
//     delivered                      -> valid, count 0
//     relayed / expanded             -> unchanged (a relay accepting it proves nothing)
//     hard_bounce --anything--> hard_bounce: a "delivered" seen later usually comes from a
//                                       catch-all or a relay, and reviving an NPAI address is a
//                                       human decision (clear_bounces).
AddressState apply_event(const AddressState& current, const Bounce& event, const EscalationConfig& config = {});

// What an admin's "this address works again" does: hard_bounce and soft_bounce become `said_no`
// (complaint or unsubscribed: what the address's owner said, a complaint or an unsubscribe event
// ever recorded for it) or else unverified, with count 0 (the next delivery makes them valid); the
// other states are returned unchanged: complaint and unsubscribed are consent, not bounces.
AddressState clear_bounces(const AddressState& current, std::optional<AddressStatus> said_no = std::nullopt);

}  // namespace fidelis::bounces

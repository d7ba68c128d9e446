// from_webhook: a provider's event, already out of its JSON, onto the same Bounce as parse_dsn.

#include "bounces/bounces.h"
#include "bounces/bounces_internal.h"
#include "core/email.h"
#include "core/text.h"

namespace fidelis::bounces {
namespace {

enum class Verdict { kNone, kHard, kSoft };

// Providers' words for their own verdict: SES says Permanent / Transient / Undetermined, Mailgun
// permanent / temporary, others hard / soft.
Result<Verdict> parse_verdict(std::string_view text) {
  std::string v = text::to_lower_ascii(text::trim(text));
  if (v.empty() || v == "undetermined") return Verdict::kNone;
  if (v == "hard" || v == "permanent") return Verdict::kHard;
  if (v == "soft" || v == "transient" || v == "temporary") return Verdict::kSoft;
  return Error::invalid_argument("bounce_type",
                                 "expected hard, soft or empty, got \"" + internal::clean_text(text) + "\"");
}

// The status a provider sends is a code, maybe with words after it ("5.1.1 (bad mailbox)"), maybe
// only a reply code ("550"). Whatever else it is, it is dropped, not rejected.
std::string status_of(std::string_view text) {
  if (std::optional<internal::StatusCode> code = internal::find_status_code(text)) return code->text;
  std::string_view t = text::trim(text);
  if (t.size() >= 3) {
    if (std::optional<int> reply = internal::find_reply_code(t.substr(0, 3)); reply && (t.size() == 3 || t[3] == ' '))
      return std::to_string(*reply);
  }
  return {};
}

std::string message_id_of(std::string_view text) {
  std::string id = internal::clean_text(text);
  if (id.size() >= 2 && id.front() == '<' && id.back() == '>') id = id.substr(1, id.size() - 2);
  return id;
}

}  // namespace

Result<Bounce> from_webhook(const WebhookEvent& event) {
  std::string type = text::to_lower_ascii(text::trim(event.type));
  if (type != "bounce" && type != "complaint" && type != "delivered" && type != "unsubscribe")
    return Error::invalid_argument("type", "expected bounce, complaint, delivered or unsubscribe");
  FIDELIS_ASSIGN_OR_RETURN(std::string email, normalize_email(event.email, "email"));
  if (event.at_ms < 0) return Error::invalid_argument("at_ms", "is negative");
  FIDELIS_ASSIGN_OR_RETURN(Verdict verdict, parse_verdict(event.bounce_type));

  Bounce b;
  b.recipient = email;
  b.final_recipient = email;
  b.message_id = message_id_of(event.message_id);
  b.at_ms = event.at_ms;
  b.status_code = status_of(event.status_code);
  b.diagnostic = internal::clean_text(event.diagnostic);

  if (type == "complaint" || type == "unsubscribe") {
    b.action = Action::kNone;
    b.kind = type == "complaint" ? Kind::kComplaint : Kind::kUnsubscribe;
    b.reason = Reason::kNone;
    return b;
  }
  if (type == "delivered") {
    b.action = Action::kDelivered;
    b.kind = Kind::kNotABounce;
    b.reason = Reason::kNone;
    return b;
  }

  b.action = Action::kFailed;
  Classification c = classify_detailed(b.status_code, b.diagnostic, "failed");
  if (c.kind == Kind::kNotABounce) c = {Kind::kSoft, Reason::kOther};  // the provider says it failed
  b.reason = c.reason;
  b.kind = verdict == Verdict::kHard ? Kind::kHard : verdict == Verdict::kSoft ? Kind::kSoft : c.kind;
  return b;
}

}  // namespace fidelis::bounces

// The mail sender's recipients as the deliverability module sees them.

#include "app/app.h"

namespace fidelis::app {

namespace {

const audit::Actor kSender{"system", std::nullopt, "mail sender", "", ""};

// Codes that refuse the recipient's address itself, whichever server or message: no such mailbox
// (5.1.1), bad syntax (5.1.3), no such system or domain (5.1.2, 5.1.10), moved (5.1.6), mailbox
// disabled (5.2.1). Not 5.1.7 and 5.1.8, which refuse the sender's address; nor policy, content or
// the relay's own settings, which say nothing certain of the recipient: the provider's bounce
// reports and webhooks tell those.
bool refuses_the_address(const std::string& code) {
  for (std::string_view c : {"5.1.1", "5.1.2", "5.1.3", "5.1.6", "5.1.10", "5.2.1"})
    if (code == c) return true;
  return false;
}

}  // namespace

Result<std::optional<std::string>> DeliverabilityRecipients::refused(std::string_view email) {
  return deliverability_.why_unsendable(email);
}

Status DeliverabilityRecipients::answered(std::string_view email, const mail::SmtpReply& reply) {
  // Accepted: sent to, and no more (a relay's acceptance is no delivery to the mailbox).
  if (reply.delivered) return deliverability_.record_sent(email);
  if (!reply.permanent) return ok();
  // The bounces module reads the reply's enhanced status code out of its text, as for a provider's.
  FIDELIS_ASSIGN_OR_RETURN(bounces::Bounce b,
                           bounces::from_webhook({.type = "bounce", .email = std::string(email), .status_code = reply.text,
                                                  .diagnostic = reply.text, .bounce_type = "hard"}));
  if (!refuses_the_address(b.status_code)) return ok();
  FIDELIS_RETURN_IF_ERROR(deliverability_.record({b}, "smtp", kSender));
  return ok();
}

}  // namespace fidelis::app

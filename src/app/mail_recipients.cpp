// The mail sender's recipients as the deliverability module sees them.

#include <regex>

#include "app/app.h"
#include "core/log.h"

namespace fidelis::app {

namespace {

const audit::Actor kSender{"system", std::nullopt, "mail sender", "", ""};

// The enhanced status code (RFC 3463) in an SMTP reply's text, if there is one.
std::string enhanced_code(const std::string& text) {
  static const std::regex code(R"((?:^|[\s-])([245]\.\d{1,3}\.\d{1,3})(?=$|[\s:;,.]))");
  std::smatch m;
  return std::regex_search(text, m, code) ? m[1].str() : std::string();
}

// Codes that refuse the address itself, whichever server or message: 5.1.x (no such mailbox, no
// such domain, bad syntax) and 5.2.1 (mailbox disabled). Other refusals (policy, content, the
// relay's own configuration) say nothing certain about the address: the provider's bounce
// reports and webhooks tell those.
bool refuses_the_address(const std::string& code) { return code.starts_with("5.1.") || code == "5.2.1"; }

}  // namespace

Result<std::optional<std::string>> DeliverabilityRecipients::refused(std::string_view email) {
  FIDELIS_ASSIGN_OR_RETURN(deliverability::EmailStatus s, deliverability_.status(email));
  if (s.status == bounces::AddressStatus::kHardBounce)
    return std::optional<std::string>("the address is NPAI (hard bounce" +
                                      (s.last_code.empty() ? std::string() : " " + s.last_code) + ")");
  if (s.status == bounces::AddressStatus::kComplaint)
    return std::optional<std::string>("the recipient reported a message as spam");
  return std::optional<std::string>();
}

Status DeliverabilityRecipients::answered(std::string_view email, const mail::SmtpReply& reply) {
  bounces::WebhookEvent event;
  event.email = std::string(email);
  if (reply.delivered) {
    event.type = "delivered";
  } else {
    event.status_code = enhanced_code(reply.text);
    if (!reply.permanent || !refuses_the_address(event.status_code)) return ok();
    event.type = "bounce";
    event.bounce_type = "hard";
    event.diagnostic = reply.text;
  }
  FIDELIS_ASSIGN_OR_RETURN(bounces::Bounce b, bounces::from_webhook(event));
  FIDELIS_RETURN_IF_ERROR(deliverability_.record({b}, "smtp", kSender));
  return ok();
}

}  // namespace fidelis::app

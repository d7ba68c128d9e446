#pragma once
// The `fidelis` command line: parses subcommands and runs them. `serve` wires config -> Db ->
// services -> API -> server.

#include <string>

#include "core/config.h"
#include "merging/merging.h"
#include "mail/mail.h"
#include "commerce/commerce.h"
#include "deliverability/deliverability.h"
#include "tracking/tracking.h"

namespace fidelis::app {

int run(int argc, char** argv);
// Runs the server until SIGTERM/SIGINT. Applies pending migrations first.
int serve(const Config& config);
// Thresholds and survivorship rules from the configuration. InvalidArgument naming the key.
Result<merging::Options> merge_options(const Config& config);
// The mail module's options from the configuration (smtp_*, mail_*).
mail::MailOptions mail_options(const Config& config);
// The DNS check of e-mail domains, or null when email.mx_check is off.
std::unique_ptr<MxChecker> mx_checker(const Config& config);
// Queues the order e-mail of a transition (order_confirmation when confirmed, order_shipped when
// shipped) in `tx`, once per order and event, to the order's contact or the customer's primary
// e-mail; the tracking link is `public_url`/api/v1/track/TOKEN. Nothing without an address.
Status queue_order_mail(storage::Tx& tx, commerce::OrderService& orders, std::string_view public_url,
                        const commerce::Order& o, std::string_view event, Millis now);
// The tracking module's options from the configuration (tracking.*).
tracking::Options tracking_options(const Config& config);
// The deliverability module's options from the configuration (npai.*).
deliverability::Options deliverability_options(const Config& config);

// The mail sender's recipients, from the deliverability module: nothing is sent to an NPAI (hard
// bounce) or spam-complaint address (an unsubscribed one still gets its order mails); an accepted
// message makes its address count as sent to (its status unchanged), and a permanent refusal of
// the address itself (5.1.1, 5.1.2, 5.1.3, 5.1.6, 5.1.10, 5.2.1) is recorded as a hard bounce
// (via "smtp"), so the NPAI rate counts the addresses Fidelis sent to.
class DeliverabilityRecipients final : public mail::Recipients {
 public:
  explicit DeliverabilityRecipients(deliverability::DeliverabilityService& d) : deliverability_(d) {}
  Result<std::optional<std::string>> refused(std::string_view email) override;
  Status answered(std::string_view email, const mail::SmtpReply& reply) override;

 private:
  deliverability::DeliverabilityService& deliverability_;
};

}  // namespace fidelis::app

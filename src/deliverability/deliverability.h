#pragma once
// deliverability: the status of every e-mail address (unverified, valid, soft bounce with a count,
// hard bounce = NPAI, complaint, unsubscribed), fed by provider webhooks and raw DSN messages
// (bounces module), the NPAI rate per source, per import and overall with an alert past a
// threshold, postal NPAI flags, and the rule campaigns use to exclude undeliverable addresses.
//
// "Sent to" means the address has at least one delivery event (delivered or bounced, from a
// provider or from Fidelis's own sender); the NPAI rate is the share of those now in hard bounce.
// Thread-safe.

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "audit/audit.h"
#include "bounces/bounces.h"
#include "core/clock.h"
#include "core/result.h"
#include "storage/db.h"

namespace fidelis::deliverability {

struct Options {
  int soft_bounces_before_hard = 3;
  double alert_rate = 0.04;   // NPAI share of addresses sent to that raises the alert
  int64_t alert_min_sent = 100;  // no alert on tiny samples
};

struct EmailStatus {
  std::string email;
  std::optional<int64_t> customer_id;
  bounces::AddressStatus status = bounces::AddressStatus::kUnverified;
  int soft_count = 0;
  bool sent = false;
  std::string last_code, last_reason;
  Millis updated_at = 0;
};

struct PostalNpai {
  bool npai = false;                   // the flag applies to the customer's current address
  std::optional<std::string> reason;   // of the last flag, also when it was for a former address
  std::optional<Millis> at;
  bool address_changed = false;        // flagged, but for an address the customer no longer has
};

struct Rate {
  std::string key;        // source name, import id, or "overall"
  int64_t sent = 0;
  int64_t hard = 0;
  double rate = 0;        // hard / sent
};
struct Rates {
  Rate overall;
  std::vector<Rate> by_source;
  std::vector<Rate> by_import;
  bool alert = false;     // overall.rate > alert_rate with at least alert_min_sent addresses
  double threshold = 0;
};

class DeliverabilityService {
 public:
  DeliverabilityService(storage::Db& db, const Clock& clock, Options options = {});

  // Records each event and moves the address's status; `via` says how it came ("webhook", "dsn").
  // A soft bounce or a delivery dated before an event already recorded for the address, and a
  // soft bounce of a message (message_id) already counted, are recorded but move nothing.
  // Raises the alert (event npai.alert in the outbox, a warning in the log) when the overall rate
  // crosses the threshold. Returns the new statuses.
  Result<std::vector<EmailStatus>> record(const std::vector<bounces::Bounce>& events, std::string_view via,
                                          const audit::Actor& actor);
  Result<EmailStatus> status(std::string_view email);
  // An admin's "this address works again" (bounces::clear_bounces): back to unsubscribed when an
  // unsubscribe was ever recorded for the address, else unverified.
  Result<EmailStatus> clear(std::string_view email, const audit::Actor& actor);
  // Why nothing may be sent to the address, as a message's last reply says it ("the address is
  // NPAI (hard bounce 5.1.1)", "(3 soft bounces in a row, last 4.2.2)"), or nullopt: hard bounces
  // and complaints. Unsubscribed addresses still get transactional mail.
  Result<std::optional<std::string>> why_unsendable(std::string_view email);
  Result<Rates> rates();
  // A message to `email` left Fidelis (its SMTP server accepted it): the address counts as sent to
  // for the NPAI rate; its status is left as it is (the server is often a relay: acceptance says
  // nothing of the mailbox). May raise the alert, like record().
  Status record_sent(std::string_view email);
  // False for hard bounces, complaints and unsubscribes: campaigns skip them.
  Result<bool> sendable(std::string_view email);
  // Postal NPAI: mail sent to customer `id`'s postal address came back. The flag is kept with the
  // address it was raised for and applies while the customer's address is that one. `reason`
  // ("returned mail" when empty): at most kMaxPostalReason characters, no control character
  // (InvalidArgument "reason"). NotFound ("id") when no live customer has the id; Conflict
  // ("address") when the customer has no postal address (no street, postcode or city).
  Status flag_postal_npai(int64_t customer_id, std::string_view reason, const audit::Actor& actor);
  static constexpr size_t kMaxPostalReason = 500;
  Result<PostalNpai> postal_npai(int64_t customer_id);
  // An admin's "mail reaches this address again": removes the flag (audited). Without a flag,
  // nothing happens and nothing is audited.
  Status clear_postal_npai(int64_t customer_id, const audit::Actor& actor);
  // For /metrics: the last computed overall rate and whether the alert is on.
  double last_rate() const { return last_rate_.load(); }
  bool alert_on() const { return alert_on_.load(); }

 private:
  Status check_alert(Millis now);
  // The overall rate and whether it is past the alert's threshold (sets last_rate_ and alert_on_):
  // all check_alert needs, without the per-source and per-import counts.
  Result<Rates> overall_rate();

  storage::Db& db_;
  const Clock& clock_;
  Options options_;
  std::atomic<double> last_rate_{0};
  std::atomic<bool> alert_on_{false};
};

}  // namespace fidelis::deliverability

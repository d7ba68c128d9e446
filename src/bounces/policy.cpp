// The address status state machine (see bounces.h for the diagram).

#include <algorithm>

#include "bounces/bounces.h"

namespace fidelis::bounces {

std::string_view address_status_name(AddressStatus status) {
  switch (status) {
    case AddressStatus::kUnverified: return "unverified";
    case AddressStatus::kValid: return "valid";
    case AddressStatus::kSoftBounce: return "soft_bounce";
    case AddressStatus::kHardBounce: return "hard_bounce";
    case AddressStatus::kComplaint: return "complaint";
    case AddressStatus::kUnsubscribed: return "unsubscribed";
  }
  return "unverified";
}

Result<AddressStatus> parse_address_status(std::string_view text, std::string_view field) {
  for (AddressStatus s : {AddressStatus::kUnverified, AddressStatus::kValid, AddressStatus::kSoftBounce,
                          AddressStatus::kHardBounce, AddressStatus::kComplaint, AddressStatus::kUnsubscribed})
    if (text == address_status_name(s)) return s;
  return Error::invalid_argument(std::string(field),
                                 "expected unverified, valid, soft_bounce, hard_bounce, complaint or unsubscribed");
}

AddressState apply_event(const AddressState& current, const Bounce& event, const EscalationConfig& config) {
  AddressState next = current;
  // The person's no (a complaint, the strongest; an unsubscription) is never undone by a delivery
  // outcome. A dead mailbox is a fact of its own: a hard bounce makes even such an address NPAI,
  // and an NPAI address stays so when a complaint or an unsubscription comes (recorded in the
  // consents, and given back when an admin clears the bounce).
  const bool said_no = current.status == AddressStatus::kComplaint || current.status == AddressStatus::kUnsubscribed;
  const bool hard = current.status == AddressStatus::kHardBounce;
  if (event.kind == Kind::kComplaint) {
    if (!hard) next.status = AddressStatus::kComplaint;
    return next;
  }
  if (event.kind == Kind::kUnsubscribe) {
    if (!hard && current.status != AddressStatus::kComplaint) next.status = AddressStatus::kUnsubscribed;
    return next;
  }

  switch (event.kind) {
    case Kind::kHard:
      next.status = AddressStatus::kHardBounce;
      return next;
    case Kind::kSoft: {
      if (hard) return next;
      // "Delayed" is a warning while the server still retries: the message has not failed yet.
      if (event.action == Action::kDelayed) return next;
      int threshold = std::max(1, config.soft_bounces_before_hard);
      // A stored count that is corrupt or past the threshold must neither overflow nor go negative.
      next.soft_count = std::clamp(current.soft_count, 0, threshold - 1) + 1;
      if (next.soft_count >= threshold) next.status = AddressStatus::kHardBounce;
      else if (!said_no) next.status = AddressStatus::kSoftBounce;
      return next;
    }
    case Kind::kNotABounce:
      // Only "delivered" proves the mailbox took the message; relayed / expanded only say another
      // system did. A hard bounce stays: see bounces.h.
      if (event.action == Action::kDelivered && !hard) {
        if (!said_no) next.status = AddressStatus::kValid;
        next.soft_count = 0;
      }
      return next;
    case Kind::kComplaint:
    case Kind::kUnsubscribe:
      return next;  // handled above
  }
  return next;
}

AddressState clear_bounces(const AddressState& current, std::optional<AddressStatus> said_no) {
  if (current.status != AddressStatus::kHardBounce && current.status != AddressStatus::kSoftBounce) return current;
  return AddressState{said_no.value_or(AddressStatus::kUnverified), 0};
}

}  // namespace fidelis::bounces

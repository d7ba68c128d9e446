// Stable names of the module's enums: they are stored in the database and shown in the API, so a
// name never changes once released.

#include "bounces/bounces.h"
#include "core/text.h"

namespace fidelis::bounces {

std::string_view kind_name(Kind kind) {
  switch (kind) {
    case Kind::kHard: return "hard";
    case Kind::kSoft: return "soft";
    case Kind::kComplaint: return "complaint";
    case Kind::kUnsubscribe: return "unsubscribe";
    case Kind::kNotABounce: return "not_a_bounce";
  }
  return "soft";
}

std::string_view reason_name(Reason reason) {
  switch (reason) {
    case Reason::kNone: return "none";
    case Reason::kMailboxUnknown: return "mailbox_unknown";
    case Reason::kDomainUnknown: return "domain_unknown";
    case Reason::kMailboxDisabled: return "mailbox_disabled";
    case Reason::kMailboxFull: return "mailbox_full";
    case Reason::kMessageTooLarge: return "message_too_large";
    case Reason::kPolicy: return "policy";
    case Reason::kTemporary: return "temporary";
    case Reason::kSystem: return "system";
    case Reason::kOther: return "other";
  }
  return "other";
}

std::string_view action_name(Action action) {
  switch (action) {
    case Action::kNone: return "";
    case Action::kFailed: return "failed";
    case Action::kDelayed: return "delayed";
    case Action::kDelivered: return "delivered";
    case Action::kRelayed: return "relayed";
    case Action::kExpanded: return "expanded";
  }
  return "";
}

std::optional<Action> parse_action(std::string_view text) {
  std::string a = text::to_lower_ascii(text::trim(text));
  // RFC 3464 allows a comment after the action ("failed (bad mailbox)"); only the word counts.
  if (size_t end = a.find_first_of(" \t("); end != std::string::npos) a.resize(end);
  for (Action action : {Action::kFailed, Action::kDelayed, Action::kDelivered, Action::kRelayed, Action::kExpanded})
    if (a == action_name(action)) return action;
  return std::nullopt;
}

}  // namespace fidelis::bounces

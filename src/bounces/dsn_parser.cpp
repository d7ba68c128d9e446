// parse_dsn: RFC 3464 delivery status notifications, with the free-text reader as a fallback.

#include "bounces/bounces.h"
#include "bounces/bounces_internal.h"
#include "core/text.h"

namespace fidelis::bounces {
namespace {

using internal::FieldGroup;
using internal::ScannedMessage;

bool same_name(std::string_view a, std::string_view b) {
  return a.size() == b.size() && text::to_lower_ascii(a) == text::to_lower_ascii(b);
}

std::string_view field(const FieldGroup& group, std::string_view name) {
  for (const auto& [n, v] : group)
    if (same_name(n, name)) return v;
  return {};
}

// "smtp; 550 5.1.1 ..." -> "550 5.1.1 ...", "dns; mx.example.fr" -> "mx.example.fr": the type
// before the ';' (RFC 3464 diagnostic-type, mta-name-type) is noise for a human and for matching.
std::string without_type(std::string_view value) {
  std::string_view v = text::trim(value);
  size_t semi = v.find(';');
  if (semi != std::string_view::npos && semi <= 20 && v.substr(0, semi).find(' ') == std::string_view::npos)
    v = v.substr(semi + 1);
  return internal::clean_text(v);
}

// Per-recipient groups always name a recipient; a group without one carries per-message fields.
// (RFC 3464 puts exactly one per-message group first, but some MTAs omit it.)
bool is_recipient_group(const FieldGroup& group) {
  return !field(group, "Final-Recipient").empty() || !field(group, "Original-Recipient").empty();
}

std::optional<Bounce> read_recipient(const FieldGroup& group, const FieldGroup& per_message,
                                     const ScannedMessage& message) {
  std::optional<std::string> final_recipient = internal::address_from_field(field(group, "Final-Recipient"));
  std::optional<std::string> original = internal::address_from_field(field(group, "Original-Recipient"));
  if (!final_recipient && !original) return std::nullopt;

  Bounce b;
  b.recipient = original ? *original : *final_recipient;
  b.final_recipient = final_recipient ? *final_recipient : *original;
  b.diagnostic = without_type(field(group, "Diagnostic-Code"));
  b.remote_mta = without_type(field(group, "Remote-MTA"));
  b.reporting_mta = without_type(field(per_message, "Reporting-MTA"));

  std::string_view status = field(group, "Status");
  if (std::optional<internal::StatusCode> code = internal::find_status_code(status)) {
    b.status_code = code->text;
  } else if (std::optional<internal::StatusCode> in_text = internal::find_status_code(b.diagnostic)) {
    b.status_code = in_text->text;
  } else if (std::optional<int> reply = internal::find_reply_code(b.diagnostic)) {
    b.status_code = std::to_string(*reply);
  }

  std::optional<Action> action = parse_action(field(group, "Action"));
  if (!action) {
    // Action is required, but a report that lost it still has a status class to go by.
    char klass = b.status_code.empty() ? '5' : b.status_code.front();
    action = klass == '2' ? Action::kDelivered : klass == '4' ? Action::kDelayed : Action::kFailed;
  }
  b.action = *action;

  Classification c = classify_detailed(b.status_code, b.diagnostic, action_name(b.action));
  b.kind = c.kind;
  b.reason = c.reason;
  b.message_id = message.message_id;
  b.fidelis_message_id = message.fidelis_message_id;
  b.at_ms = internal::parse_date_ms(field(group, "Last-Attempt-Date"));
  if (b.at_ms == 0) b.at_ms = internal::parse_date_ms(field(per_message, "Arrival-Date"));
  if (b.at_ms == 0) b.at_ms = message.date_ms;
  return b;
}

void read_report(const std::vector<FieldGroup>& groups, const ScannedMessage& message, std::vector<Bounce>& out) {
  FieldGroup per_message;
  for (const FieldGroup& group : groups) {
    if (!is_recipient_group(group)) {
      per_message = group;
      continue;
    }
    if (std::optional<Bounce> b = read_recipient(group, per_message, message)) out.push_back(std::move(*b));
  }
}

}  // namespace

Result<std::vector<Bounce>> parse_dsn(std::string_view raw_message) {
  if (text::trim(raw_message).empty()) return Error::invalid_argument("message", "is empty");
  FIDELIS_ASSIGN_OR_RETURN(ScannedMessage message, internal::scan_message(raw_message));

  std::vector<Bounce> bounces;
  for (const std::vector<FieldGroup>& groups : message.delivery_status) read_report(groups, message, bounces);
  // A report whose machine-readable part is missing or unusable may still explain itself in words.
  if (bounces.empty()) bounces = internal::read_free_text_bounce(message);
  if (!bounces.empty()) return bounces;
  if (!message.delivery_status.empty())
    return Error::invalid_argument("message", "has a delivery-status part that names no usable recipient");
  return Error::invalid_argument("message",
                                 "is not a bounce: no delivery-status part and no delivery failure in its text");
}

}  // namespace fidelis::bounces

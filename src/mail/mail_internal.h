#pragma once
// Shared by the mail module's files: row mapping and the template look-up used by enqueue and
// preview. Not part of the module's contract.

#include <optional>
#include <string>
#include <string_view>

#include "mail/mail.h"

namespace fidelis::mail::internal {

// The message columns in the order message_from_row reads them (m = mail_messages, t = mail_templates).
// Without bodies, text and html come back empty.
std::string message_columns(bool with_bodies);
constexpr std::string_view kMessageFrom = "mail_messages m JOIN mail_templates t ON t.id = m.template_id";
Message message_from_row(const storage::Row& r);

// The highest version of (key, locale), or nullopt.
Result<std::optional<Template>> current_template(storage::Tx& tx, std::string_view key, std::string_view locale);

}  // namespace fidelis::mail::internal

#pragma once
// Shared between the .cpp files of fidelis::bounces; not part of the module's contract.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "bounces/bounces.h"
#include "core/result.h"

namespace fidelis::bounces::internal {

// An RFC 3463 enhanced status code, e.g. {5, 1, 1, "5.1.1"}.
struct StatusCode {
  int klass = 0;
  int subject = 0;
  int detail = 0;
  std::string text;
};

// The first enhanced status code in `text` ("5.1.1"), preferring one that follows a basic reply
// code of the same class ("550 5.1.1", "550-5.1.1"), which rules out version numbers and IP
// address fragments that happen to look like codes.
std::optional<StatusCode> find_status_code(std::string_view text);
// The first basic SMTP reply code ("550") standing as its own word, followed by a space, a '-'
// or the end of the text; 2xx, 4xx and 5xx only.
std::optional<int> find_reply_code(std::string_view text);

// A value made fit for a Bounce field: invalid UTF-8 bytes replaced by '?', runs of whitespace
// collapsed to one space, trimmed, cut (on a character boundary) at kMaxFieldBytes.
inline constexpr size_t kMaxFieldBytes = 2000;
std::string clean_text(std::string_view text);

// The address in a DSN address field ("rfc822; <Jean@Example.FR>"), normalised; nullopt if the
// address type is not an e-mail one or the address does not parse.
std::optional<std::string> address_from_field(std::string_view value);

// "Name: value" fields of one group of a delivery-status body, in order, values unfolded.
using FieldGroup = std::vector<std::pair<std::string, std::string>>;

// What parse_dsn needs from a MIME message; filled by scan_message (mime_scan.cpp, the only file
// that speaks GMime), read by the RFC 3464 and free-text readers.
struct ScannedMessage {
  std::string from;               // top-level From, decoded
  std::string to;                 // top-level To, decoded
  std::string subject;            // decoded
  std::string failed_recipients;  // X-Failed-Recipients (Exim), comma-separated
  int64_t date_ms = 0;            // top-level Date; 0 if absent or unreadable
  // One entry per delivery-status part, each the field groups in order (the first is the
  // per-message group).
  std::vector<std::vector<FieldGroup>> delivery_status;
  // The human-readable parts (text/plain, else text/html without tags), UTF-8, outside any
  // returned message; cut at kMaxTextBytes.
  std::string text;
  // From the returned message or headers (message/rfc822, text/rfc822-headers), without <>.
  std::string message_id;
  std::string fidelis_message_id;
};
inline constexpr size_t kMaxTextBytes = 256 * 1024;

// InvalidArgument, field "message", when `raw` is not an RFC 5322 message with at least one
// header field.
Result<ScannedMessage> scan_message(std::string_view raw);

// An RFC 5322 date ("Tue, 3 Mar 2026 10:15:02 +0100") in epoch ms; 0 if unreadable.
int64_t parse_date_ms(std::string_view date);

// Bounces read from a message without a delivery-status part (heuristic.cpp); empty when the
// message does not look like a bounce or names no recipient.
std::vector<Bounce> read_free_text_bounce(const ScannedMessage& message);

}  // namespace fidelis::bounces::internal

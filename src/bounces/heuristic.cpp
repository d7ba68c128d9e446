// Free-text bounces: messages from MTAs (Exim, qmail, sendmail, old Exchange) that explain a
// failure in words instead of a delivery-status part. Nothing here is standard, so every guess is
// fenced: the message must look like a bounce before any address in it is taken as a recipient,
// and the results are flagged heuristic.

#include <algorithm>
#include <span>

#include "bounces/bounces_internal.h"
#include "core/email.h"
#include "core/text.h"

namespace fidelis::bounces::internal {
namespace {

// The sendmail marker that introduces addresses still being retried (a warning, not a failure).
constexpr std::string_view kTransientMarker = "following addresses had transient non-fatal errors";

// Lines that introduce the failed recipients, lower-case. They are matched within one line, so
// only phrases MTAs do not wrap are listed.
constexpr std::string_view kMarkers[] = {
    "the following address(es) failed",                    // Exim
    "following addresses had permanent fatal errors",      // sendmail
    kTransientMarker,                                      // sendmail warning
    "wasn't able to deliver your message to the following",  // qmail
    "delivery to the following recipient",                 // Exchange 2003, old Gmail
    "delivery has failed to these recipients",             // Outlook
    "could not be delivered to the following",
    "undeliverable to the following",
    "the following recipient(s) could not be reached",     // Lotus Notes
    "n'a pas pu être remis",
    "n'a pas pu etre remis",
};

// Lines after which the text is the returned original, whose addresses and codes are not the
// bounce's (lower-case).
constexpr std::string_view kOriginalStarts[] = {
    "------ this is a copy of the message",         // Exim
    "--- below this line is a copy of the message",  // qmail
    "original message follows",
    "----- original message -----",
    "-----original message-----",
    "------ original message",
};

// Bounce subjects, in text::search_key form.
constexpr std::string_view kSubjects[] = {
    "undeliver",  // Undeliverable, Undelivered Mail Returned to Sender
    "delivery status notification",
    "delivery failure",
    "delivery failed",
    "delivery has failed",
    "failure notice",  // qmail
    "returned mail",   // sendmail
    "could not be delivered",
    "non remis",
    "non distribue",
    "echec de la remise",
    "echec de remise",
    "message non delivre",
};

// Phrases of a delay warning (lower-case): the server still retries, so the message is no bounce
// yet. MTAs repeat such warnings without a copy of the message, so counting them as soft bounces
// would make a working address NPAI after a few days of a full mailbox.
constexpr std::string_view kDelayPhrases[] = {
    "this is a warning message only",                      // sendmail
    "following addresses had transient non fatal errors",  // sendmail
    "has not yet been delivered",                          // Exim
    "delivery attempts will continue",                     // Exim
    "will keep trying",                                    // sendmail
    "will retry",                                          // Exchange, Postfix "delayed mail" text
    "still trying",
    "message delayed",
    "delivery delayed",
    "delivery is delayed",
    "delivery has been delayed",
    "n a pas encore ete remis",
    "n a pas encore pu etre remis",
    "nouvelles tentatives",
};

// The same in subjects ("Warning: message 1rAb delayed 24 hours", "Delivery Status Notification
// (Delay)", "Warning: could not send message for past 4 hours"). Both lists are in
// text::search_key form: no accents, punctuation as spaces.
constexpr std::string_view kDelaySubjects[] = {"delayed", "notification delay", "could not send message for past",
                                               "remise differee", "retarde"};

constexpr std::string_view kDaemonLocalParts[] = {"mailer-daemon", "postmaster", "mail-daemon", "mailerdaemon"};

size_t find_first_of_phrases(std::string_view lower, std::span<const std::string_view> phrases, size_t from,
                             size_t* length = nullptr) {
  size_t best = std::string_view::npos;
  for (std::string_view phrase : phrases) {
    size_t at = lower.find(phrase, from);
    if (at < best) {
      best = at;
      if (length != nullptr) *length = phrase.size();
    }
  }
  return best;
}

bool is_local_char(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80 ||
         std::string_view(".!#$%&'*+/=?^_`{|}~-").find(static_cast<char>(c)) != std::string_view::npos;
}
bool is_domain_char(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80 || c == '.' ||
         c == '-';
}

// Address-looking tokens in `s`, normalised, in order of appearance; at most `limit`.
std::vector<std::string> addresses_in(std::string_view s, size_t limit = 50) {
  std::vector<std::string> out;
  for (size_t at = s.find('@'); at != std::string_view::npos && out.size() < limit; at = s.find('@', at + 1)) {
    size_t begin = at;
    while (begin > 0 && is_local_char(static_cast<unsigned char>(s[begin - 1]))) --begin;
    size_t end = at + 1;
    while (end < s.size() && is_domain_char(static_cast<unsigned char>(s[end]))) ++end;
    std::string_view local = s.substr(begin, at - begin);
    std::string_view domain = s.substr(at + 1, end - at - 1);
    while (!local.empty() && (local.front() == '.' || local.front() == '\'')) local.remove_prefix(1);
    while (!domain.empty() && (domain.back() == '.' || domain.back() == '-')) domain.remove_suffix(1);
    if (local.empty() || domain.empty()) continue;
    Result<std::string> email = normalize_email(std::string(local) + "@" + std::string(domain));
    if (email && std::find(out.begin(), out.end(), *email) == out.end()) out.push_back(std::move(*email));
  }
  return out;
}

bool is_daemon(std::string_view address) {
  std::string local = text::to_lower_ascii(address.substr(0, address.find('@')));
  return std::find(std::begin(kDaemonLocalParts), std::end(kDaemonLocalParts), local) != std::end(kDaemonLocalParts);
}

bool has_bounce_subject(std::string_view subject) {
  std::string key = text::search_key(subject);
  return std::any_of(std::begin(kSubjects), std::end(kSubjects),
                     [&](std::string_view s) { return key.find(s) != std::string::npos; });
}

bool from_daemon(std::string_view from) {
  std::vector<std::string> addresses = addresses_in(from, 1);
  if (!addresses.empty() && is_daemon(addresses.front())) return true;
  return text::search_key(from).find("mail delivery") != std::string::npos;  // "Mail Delivery System"
}

// A warning that delivery is late, not that it failed: a delay phrase in the text or the subject,
// and no marker of a list of failed addresses (a failure notice may mention earlier delays).
bool is_delay_warning(std::string_view subject, std::string_view lower_text) {
  for (std::string_view m : kMarkers)
    if (m != kTransientMarker && lower_text.find(m) != std::string_view::npos) return false;
  std::string folded = text::search_key(lower_text.substr(0, std::min<size_t>(lower_text.size(), 16 * 1024)));
  if (std::any_of(std::begin(kDelayPhrases), std::end(kDelayPhrases),
                  [&](std::string_view p) { return folded.find(p) != std::string::npos; }))
    return true;
  std::string key = text::search_key(subject);
  return std::any_of(std::begin(kDelaySubjects), std::end(kDelaySubjects),
                     [&](std::string_view p) { return key.find(p) != std::string::npos; });
}

// Recipients named on lines of their own, the way failure blocks list them: "  jean@x.fr",
// "<jean@x.fr>:" (qmail), "<jean@x.fr>... User unknown" (sendmail), "jean@x.fr: host ... said" (Postfix).
std::vector<std::string> listed_recipients(std::string_view section) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos < section.size()) {
    size_t end = std::min(section.find('\n', pos), section.size());
    std::string_view line = text::trim(section.substr(pos, end - pos));
    pos = end + 1;
    std::string_view token = line.substr(0, line.find_first_of(" \t"));
    while (!token.empty() && (token.back() == ':' || token.back() == '.' || token.back() == ','))
      token.remove_suffix(1);
    if (token.size() >= 2 && token.front() == '<' && token.back() == '>') token = token.substr(1, token.size() - 2);
    if (token.find('@') == std::string_view::npos) continue;
    Result<std::string> email = normalize_email(token);
    if (email && !is_daemon(*email) && std::find(out.begin(), out.end(), *email) == out.end())
      out.push_back(std::move(*email));
  }
  return out;
}

// The line that explains a failure: the one carrying a status or reply code, else the first
// line after the recipient's own (Exim's "Unrouteable address", "all relevant MX records ...").
std::string diagnostic_line(std::string_view segment, std::string_view code) {
  std::string_view fallback;
  size_t pos = 0;
  bool first = true;
  while (pos < segment.size()) {
    size_t end = std::min(segment.find('\n', pos), segment.size());
    std::string_view line = text::trim(segment.substr(pos, end - pos));
    pos = end + 1;
    if (line.empty()) continue;
    if (!code.empty() && line.find(code) != std::string_view::npos) return clean_text(line);
    if (code.empty() && find_reply_code(line)) return clean_text(line);
    if (!first && fallback.empty()) fallback = line;
    first = false;
  }
  return clean_text(fallback);
}

// "Message-ID: <x@y>" and "X-Fidelis-Message-Id: ..." lines of a returned original quoted in the text.
void ids_from_text(std::string_view text, std::string& message_id, std::string& fidelis_id) {
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = std::min(text.find('\n', pos), text.size());
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string name = text::to_lower_ascii(line.substr(0, colon));
    std::string_view value = text::trim(line.substr(colon + 1));
    if (value.size() >= 2 && value.front() == '<' && value.back() == '>') value = value.substr(1, value.size() - 2);
    if (name == "message-id" && message_id.empty()) message_id = clean_text(value);
    if (name == "x-fidelis-message-id" && fidelis_id.empty()) fidelis_id = clean_text(value);
  }
}

}  // namespace

std::vector<Bounce> read_free_text_bounce(const ScannedMessage& message) {
  std::string_view text = message.text;
  std::string lower = text::to_lower_ascii(text);
  size_t marker_length = 0;
  size_t marker = find_first_of_phrases(lower, kMarkers, 0, &marker_length);
  size_t begin = marker == std::string::npos ? 0 : marker + marker_length;
  size_t end = std::min(find_first_of_phrases(lower, kOriginalStarts, begin), text.size());
  std::string_view section = text.substr(begin, end - begin);
  std::string_view lower_section = std::string_view(lower).substr(begin, end - begin);

  bool strong_signal = marker != std::string::npos || !message.failed_recipients.empty();
  if (!strong_signal && !from_daemon(message.from) && !has_bounce_subject(message.subject)) return {};

  std::vector<std::string> recipients = addresses_in(message.failed_recipients);
  if (recipients.empty()) recipients = listed_recipients(section);
  if (recipients.empty()) {
    // Last resort: the first address in the explanation that is neither end of the bounce itself.
    std::vector<std::string> own = addresses_in(message.from);
    for (std::string& a : addresses_in(message.to)) own.push_back(std::move(a));
    for (std::string& a : addresses_in(section)) {
      if (is_daemon(a) || std::find(own.begin(), own.end(), a) != own.end()) continue;
      recipients.push_back(std::move(a));
      break;
    }
  }
  if (recipients.empty()) return {};

  std::string message_id = message.message_id, fidelis_id = message.fidelis_message_id;
  if (message_id.empty() && fidelis_id.empty()) {
    // After the "copy of the message" line when there is one; without it, header lines anywhere.
    bool has_copy = end < text.size();
    ids_from_text(has_copy ? text.substr(end) : text, message_id, fidelis_id);
  }

  std::vector<size_t> starts;
  for (const std::string& r : recipients) starts.push_back(lower_section.find(text::to_lower_ascii(r)));

  // A warning that the server still retries reports each address as delayed: no bounce yet.
  const bool delayed = is_delay_warning(message.subject, lower);
  std::vector<Bounce> out;
  for (size_t i = 0; i < recipients.size(); ++i) {
    // Each recipient's explanation runs from where it is named to where the next one is.
    size_t from = starts[i] == std::string::npos ? 0 : starts[i];
    size_t to = section.size();
    for (size_t s : starts)
      if (s != std::string::npos && s > from && s < to) to = s;
    std::string_view segment = section.substr(from, to - from);

    std::optional<StatusCode> code = find_status_code(segment);
    if (!code && recipients.size() == 1) code = find_status_code(section);
    std::string status = code ? code->text : std::string();
    if (!code) {
      if (std::optional<int> reply = find_reply_code(segment)) status = std::to_string(*reply);
    }

    Bounce b;
    b.recipient = recipients[i];
    b.final_recipient = recipients[i];
    b.action = delayed ? Action::kDelayed : Action::kFailed;
    b.status_code = status;
    b.diagnostic = diagnostic_line(segment, code ? std::string_view(code->text) : std::string_view());
    Classification c = classify_detailed(b.status_code, b.diagnostic, action_name(b.action));
    // Signals that only come from the sender or the subject must be backed by some evidence of a
    // failure in the text, or an auto-reply from "postmaster" would count as a bounce.
    if (!strong_signal && b.status_code.empty() && c.reason == Reason::kOther) continue;
    b.kind = c.kind;
    b.reason = c.reason;
    b.message_id = message_id;
    b.fidelis_message_id = fidelis_id;
    b.heuristic = true;
    b.at_ms = message.date_ms;
    out.push_back(std::move(b));
  }
  return out;
}

}  // namespace fidelis::bounces::internal

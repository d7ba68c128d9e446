// The only file of fidelis::mail that talks to libcurl: one SMTP transaction per message.
// libcurl keeps the server's reply text to itself, so the debug callback collects the lines the
// server sent; the last complete reply is what the outbox records.

#include <curl/curl.h>

#include <algorithm>
#include <cstring>
#include <vector>
#include <mutex>

#include "core/text.h"
#include "mail/mail.h"

namespace fidelis::mail {
namespace {

void ensure_curl() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct Upload {
  const std::string* data;
  size_t pos = 0;
};

size_t read_body(char* buffer, size_t size, size_t nitems, void* user) {
  auto* u = static_cast<Upload*>(user);
  size_t n = std::min(size * nitems, u->data->size() - u->pos);
  std::memcpy(buffer, u->data->data() + u->pos, n);
  u->pos += n;
  return n;
}

// The server's replies, line by line: a reply is complete at a line "NNN text" (a space after the
// code; "NNN-text" continues it).
struct Replies {
  std::string current;             // lines of the reply being read
  std::vector<std::string> done;   // complete replies, in order
};

int on_debug(CURL*, curl_infotype type, char* data, size_t size, void* user) {
  if (type != CURLINFO_HEADER_IN) return 0;
  auto* r = static_cast<Replies*>(user);
  std::string_view line(data, size);
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  if (!r->current.empty()) r->current += ' ';
  r->current += line.size() > 4 ? line.substr(4) : std::string_view();
  if (line.size() < 4 || line[3] != '-') {
    r->done.push_back(std::string(line.substr(0, 3)) + (r->current.empty() ? "" : " " + r->current));
    r->current.clear();
  }
  return 0;
}

}  // namespace

SmtpReply smtp_send(const SmtpOptions& o, const std::string& from_email, const std::string& to_email,
                    const std::string& mime) {
  ensure_curl();
  SmtpReply reply;
  if (o.url.empty()) {
    reply.text = "sending is disabled (smtp_url is empty)";
    return reply;
  }
  CURL* curl = curl_easy_init();
  if (curl == nullptr) {
    reply.text = "cannot start libcurl";
    return reply;
  }
  std::string from = "<" + from_email + ">";
  curl_slist* rcpt = curl_slist_append(nullptr, ("<" + to_email + ">").c_str());
  Upload upload{&mime};
  Replies replies;
  char error[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(curl, CURLOPT_URL, o.url.c_str());
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
  curl_easy_setopt(curl, CURLOPT_MAIL_FROM, from.c_str());
  curl_easy_setopt(curl, CURLOPT_MAIL_RCPT, rcpt);
  curl_easy_setopt(curl, CURLOPT_READFUNCTION, read_body);
  curl_easy_setopt(curl, CURLOPT_READDATA, &upload);
  curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
  curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(mime.size()));
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(o.timeout_ms));
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(std::min<Millis>(o.timeout_ms, 10'000)));
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(curl, CURLOPT_VERBOSE, 1L);  // feeds on_debug; nothing is printed
  curl_easy_setopt(curl, CURLOPT_DEBUGFUNCTION, on_debug);
  curl_easy_setopt(curl, CURLOPT_DEBUGDATA, &replies);
  if (o.require_starttls) curl_easy_setopt(curl, CURLOPT_USE_SSL, static_cast<long>(CURLUSESSL_ALL));
  if (!o.ca_file.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, o.ca_file.c_str());
  if (!o.user.empty()) {
    curl_easy_setopt(curl, CURLOPT_USERNAME, o.user.c_str());
    curl_easy_setopt(curl, CURLOPT_PASSWORD, o.password.c_str());
  }
  CURLcode rc = curl_easy_perform(curl);
  long code = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
  curl_slist_free_all(rcpt);
  curl_easy_cleanup(curl);

  reply.delivered = rc == CURLE_OK;
  // A failure the server did not answer with a 4xx or 5xx (no connection, TLS refused or missing,
  // timeout) is ours to describe: code 0 and libcurl's error, not the server's last "250".
  bool refused = !reply.delivered && code >= 400 && code < 600;
  if (!reply.delivered && !refused) code = 0;
  reply.code = static_cast<int>(code);
  reply.permanent = refused && code >= 500;
  // The last reply with the code libcurl reports (the QUIT that follows a refusal answers 221).
  auto last = std::find_if(replies.done.rbegin(), replies.done.rend(),
                           [&](const std::string& r) { return r.starts_with(std::to_string(code)); });
  if (code != 0 && last != replies.done.rend()) {
    reply.text = *last;
  } else {
    reply.text = error[0] != '\0' ? error : curl_easy_strerror(rc);
  }
  if (!reply.delivered && code == 0) reply.text = std::string(curl_easy_strerror(rc)) + (error[0] ? std::string(": ") + error : "");
  if (!text::is_valid_utf8(reply.text)) reply.text = "(reply not in UTF-8)";
  if (reply.text.size() > 1000) reply.text.resize(1000);
  return reply;
}

}  // namespace fidelis::mail

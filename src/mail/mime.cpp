// The only file of fidelis::mail that talks to GMime: builds the message as it goes on the wire.
// GMime writes the RFC 2047 encoded-words (UTF-8) for the subject and display names, folds long
// headers and quoted-printable-encodes the bodies.

#include <gmime/gmime.h>

#include <memory>
#include <mutex>

#include "core/email.h"
#include "core/text.h"
#include "mail/mail.h"

namespace fidelis::mail {
namespace {

struct GObjectUnref {
  void operator()(void* p) const {
    if (p != nullptr) g_object_unref(p);
  }
};
template <typename T>
using GPtr = std::unique_ptr<T, GObjectUnref>;

// Process-wide GMime tables: set up once, never undone (the bounces module does the same; a
// second g_mime_init is a no-op counted by GMime).
void ensure_gmime() {
  static std::once_flag once;
  std::call_once(once, [] { g_mime_init(); });
}

void add_mailbox(InternetAddressList* list, const Address& a) {
  GPtr<InternetAddress> ia(internet_address_mailbox_new(a.name.c_str(), a.email.c_str()));
  internet_address_set_charset(ia.get(), "utf-8");
  internet_address_list_add(list, ia.get());
}

// A UTF-8 text part; line ends made LF here and CRLF by the output filter.
GPtr<GMimeTextPart> text_part(const char* subtype, std::string_view body) {
  std::string lf;
  lf.reserve(body.size() + 1);
  for (char c : body)
    if (c != '\r') lf += c;
  if (lf.empty() || lf.back() != '\n') lf += '\n';
  GPtr<GMimeTextPart> part(g_mime_text_part_new_with_subtype(subtype));
  GPtr<GMimeStream> stream(g_mime_stream_mem_new_with_buffer(lf.data(), lf.size()));
  GPtr<GMimeDataWrapper> content(g_mime_data_wrapper_new_with_stream(stream.get(), GMIME_CONTENT_ENCODING_DEFAULT));
  g_mime_part_set_content(GMIME_PART(part.get()), content.get());
  g_mime_text_part_set_charset(part.get(), "utf-8");
  g_mime_part_set_content_encoding(GMIME_PART(part.get()), GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE);
  return part;
}

}  // namespace

Result<Address> parse_address(std::string_view text, std::string_view field) {
  std::string_view t = text::trim(text);
  if (t.find_first_of("\r\n") != std::string_view::npos)
    return Error::invalid_argument(std::string(field), "must be on one line");
  Address a;
  std::string_view addr = t;
  if (!t.empty() && t.back() == '>') {
    size_t open = t.rfind('<');
    if (open == std::string_view::npos) return Error::invalid_argument(std::string(field), "expected Name <address>");
    addr = t.substr(open + 1, t.size() - open - 2);
    std::string_view name = text::trim(t.substr(0, open));
    if (name.size() >= 2 && name.front() == '"' && name.back() == '"') name = name.substr(1, name.size() - 2);
    a.name = std::string(name);
  }
  if (!text::is_valid_utf8(a.name)) return Error::invalid_argument(std::string(field), "must be UTF-8");
  FIDELIS_ASSIGN_OR_RETURN(a.email, normalize_email(addr, field));
  return a;
}

std::string build_mime(const MimeInput& in) {
  ensure_gmime();
  GPtr<GMimeMessage> msg(g_mime_message_new(TRUE));
  add_mailbox(g_mime_message_get_from(msg.get()), in.from);
  add_mailbox(g_mime_message_get_addresses(msg.get(), GMIME_ADDRESS_TYPE_TO), in.to);
  g_mime_message_set_subject(msg.get(), in.subject.c_str(), "utf-8");
  GDateTime* date = g_date_time_new_from_unix_utc(in.date / 1000);
  g_mime_message_set_date(msg.get(), date);
  g_date_time_unref(date);
  if (!in.message_id.empty()) g_mime_message_set_message_id(msg.get(), in.message_id.c_str());
  if (in.outbox_id > 0) {
    std::string id = "mail-" + std::to_string(in.outbox_id);
    g_mime_object_set_header(GMIME_OBJECT(msg.get()), "X-Fidelis-Message-Id", id.c_str(), nullptr);
  }

  GPtr<GMimeMultipart> alternative(g_mime_multipart_new_with_subtype("alternative"));
  GPtr<GMimeTextPart> plain = text_part("plain", in.text);
  GPtr<GMimeTextPart> html = text_part("html", in.html);
  g_mime_multipart_add(alternative.get(), GMIME_OBJECT(plain.get()));
  g_mime_multipart_add(alternative.get(), GMIME_OBJECT(html.get()));
  g_mime_message_set_mime_part(msg.get(), GMIME_OBJECT(alternative.get()));

  GMimeFormatOptions* options = g_mime_format_options_new();
  g_mime_format_options_set_newline_format(options, GMIME_NEWLINE_FORMAT_DOS);
  char* bytes = g_mime_object_to_string(GMIME_OBJECT(msg.get()), options);
  g_mime_format_options_free(options);
  std::string out = bytes != nullptr ? bytes : "";
  g_free(bytes);
  return out;
}

}  // namespace fidelis::mail

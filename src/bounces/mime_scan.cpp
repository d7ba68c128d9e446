// The only file of fidelis::bounces that talks to GMime: it walks the MIME tree of a bounce and
// hands the rest of the module plain strings, so GMime types never leak past this file.

#include <gmime/gmime.h>

#include <memory>
#include <mutex>

#include "bounces/bounces_internal.h"
#include "core/text.h"

namespace fidelis::bounces::internal {
namespace {

struct GObjectUnref {
  void operator()(void* p) const {
    if (p != nullptr) g_object_unref(p);
  }
};
template <typename T>
using GPtr = std::unique_ptr<T, GObjectUnref>;

struct GFree {
  void operator()(char* p) const { g_free(p); }
};

// g_mime_init sets up process-wide tables; it must run once, before any parser, and is not
// itself thread-safe. It is never undone: the tables live as long as the process.
void ensure_gmime() {
  static std::once_flag once;
  std::call_once(once, [] { g_mime_init(); });
}

GPtr<GMimeMessage> parse_message(std::string_view bytes) {
  GPtr<GMimeStream> stream(g_mime_stream_mem_new_with_buffer(bytes.data(), bytes.size()));
  GPtr<GMimeParser> parser(g_mime_parser_new_with_stream(stream.get()));
  return GPtr<GMimeMessage>(g_mime_parser_construct_message(parser.get(), nullptr));
}

std::string header(GMimeObject* object, const char* name) {
  const char* value = g_mime_object_get_header(object, name);
  return value != nullptr ? std::string(value) : std::string();
}

// The part's content with its transfer encoding (base64, quoted-printable) undone; charset untouched.
std::string decoded_bytes(GMimePart* part) {
  GMimeDataWrapper* content = g_mime_part_get_content(part);
  if (content == nullptr) return {};
  GPtr<GMimeStream> mem(g_mime_stream_mem_new());
  if (g_mime_data_wrapper_write_to_stream(content, mem.get()) < 0) return {};
  GByteArray* bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem.get()));
  return std::string(reinterpret_cast<const char*>(bytes->data), bytes->len);
}

// A text part's content in UTF-8, converted from its declared charset.
std::string text_of(GMimePart* part) {
  if (GMIME_IS_TEXT_PART(part)) {
    std::unique_ptr<char, GFree> utf8(g_mime_text_part_get_text(GMIME_TEXT_PART(part)));
    if (utf8) return std::string(utf8.get());
  }
  return decoded_bytes(part);
}

// HTML-only bounces (some Exchange set-ups) still say who failed and why; tags and the few
// entities that matter around addresses are enough to make that readable.
std::string html_to_text(std::string_view html) {
  std::string out;
  out.reserve(html.size());
  bool in_tag = false;
  for (size_t i = 0; i < html.size(); ++i) {
    char c = html[i];
    if (in_tag) {
      if (c == '>') in_tag = false;
      continue;
    }
    if (c == '<') {
      in_tag = true;
      out += ' ';
      continue;
    }
    if (c == '&') {
      static constexpr std::pair<std::string_view, std::string_view> kEntities[] = {
          {"&lt;", "<"}, {"&gt;", ">"}, {"&amp;", "&"}, {"&nbsp;", " "}, {"&quot;", "\""}, {"&#64;", "@"}};
      bool replaced = false;
      for (auto [entity, plain] : kEntities) {
        if (html.substr(i, entity.size()) == entity) {
          out += plain;
          i += entity.size() - 1;
          replaced = true;
          break;
        }
      }
      if (replaced) continue;
    }
    out += c;
  }
  return out;
}

void read_ids(GMimeMessage* returned, ScannedMessage& out) {
  if (!out.message_id.empty() || !out.fidelis_message_id.empty()) return;  // the first returned message wins
  if (const char* id = g_mime_message_get_message_id(returned); id != nullptr) out.message_id = clean_text(id);
  std::string fidelis_id = clean_text(header(GMIME_OBJECT(returned), "X-Fidelis-Message-Id"));
  if (fidelis_id.size() >= 2 && fidelis_id.front() == '<' && fidelis_id.back() == '>')
    fidelis_id = fidelis_id.substr(1, fidelis_id.size() - 2);
  out.fidelis_message_id = std::move(fidelis_id);
}

// A delivery-status body is a series of header-style field groups separated by blank lines
// (RFC 3464 section 2.1). The blank lines are the report's own framing; each group's fields are
// read by GMime's header parser, which unfolds continuation lines and decodes RFC 2047 words.
std::vector<FieldGroup> read_field_groups(std::string_view body) {
  std::vector<FieldGroup> groups;
  std::string block;
  auto flush = [&] {
    if (text::trim(block).empty()) {
      block.clear();
      return;
    }
    block += "\n\n";
    GPtr<GMimeMessage> fields = parse_message(block);
    block.clear();
    if (!fields) return;
    GMimeHeaderList* list = g_mime_object_get_header_list(GMIME_OBJECT(fields.get()));
    FieldGroup group;
    for (int i = 0, n = g_mime_header_list_get_count(list); i < n; ++i) {
      GMimeHeader* h = g_mime_header_list_get_header_at(list, i);
      const char* name = g_mime_header_get_name(h);
      const char* value = g_mime_header_get_value(h);
      if (name != nullptr) group.emplace_back(name, value != nullptr ? value : "");
    }
    if (!group.empty()) groups.push_back(std::move(group));
  };
  size_t pos = 0;
  while (pos <= body.size()) {
    size_t end = body.find('\n', pos);
    if (end == std::string_view::npos) end = body.size();
    std::string_view line = body.substr(pos, end - pos);
    if (text::trim(line).empty()) {
      flush();
    } else {
      block.append(line);
      block += '\n';
    }
    pos = end + 1;
  }
  flush();
  return groups;
}

bool is(GMimeContentType* type, const char* media, const char* subtype) {
  return g_mime_content_type_is_type(type, media, subtype) != 0;
}

// Collects what ScannedMessage needs from a MIME tree, depth first.
class Walker {
 public:
  explicit Walker(ScannedMessage& out) : out_(out) {}

  // The human-readable text: text/plain parts, else the HTML ones without their tags.
  std::string take_text() { return plain_.empty() ? std::move(html_) : std::move(plain_); }

  void walk(GMimeObject* object, int depth) {
    // Real bounces nest two or three levels; a deeper tree is hostile or broken.
    if (object == nullptr || depth > 20) return;
    GMimeContentType* type = g_mime_object_get_content_type(object);
    if (GMIME_IS_MULTIPART(object)) {
      GMimeMultipart* multipart = GMIME_MULTIPART(object);
      for (int i = 0, n = g_mime_multipart_get_count(multipart); i < n; ++i)
        walk(g_mime_multipart_get_part(multipart, i), depth + 1);
      return;
    }
    if (GMIME_IS_MESSAGE_PART(object)) {
      // The returned original: only its ids matter. Its body is the sender's own text, which
      // must not be mistaken for the bounce's explanation.
      if (GMimeMessage* returned = g_mime_message_part_get_message(GMIME_MESSAGE_PART(object)))
        read_ids(returned, out_);
      return;
    }
    if (!GMIME_IS_PART(object)) return;
    GMimePart* part = GMIME_PART(object);
    if (is(type, "message", "delivery-status") || is(type, "text", "delivery-status") ||
        is(type, "message", "global-delivery-status")) {
      out_.delivery_status.push_back(read_field_groups(text_of(part)));
    } else if (is(type, "text", "rfc822-headers") || is(type, "message", "rfc822-headers") ||
               is(type, "message", "global-headers")) {
      std::string headers = text_of(part) + "\n\n";
      if (GPtr<GMimeMessage> returned = parse_message(headers)) read_ids(returned.get(), out_);
    } else if (is(type, "text", "plain")) {
      if (plain_.size() < kMaxTextBytes) plain_ += text_of(part) + "\n";
    } else if (is(type, "text", "html")) {
      if (html_.size() < kMaxTextBytes) html_ += html_to_text(text_of(part)) + "\n";
    }
  }

 private:
  ScannedMessage& out_;
  std::string plain_;
  std::string html_;
};

}  // namespace

int64_t parse_date_ms(std::string_view date) {
  ensure_gmime();
  std::string value(text::trim(date));
  if (value.empty()) return 0;
  GDateTime* parsed = g_mime_utils_header_decode_date(value.c_str());
  if (parsed == nullptr) return 0;
  int64_t ms = static_cast<int64_t>(g_date_time_to_unix(parsed)) * 1000 + g_date_time_get_microsecond(parsed) / 1000;
  g_date_time_unref(parsed);
  return ms;
}

Result<ScannedMessage> scan_message(std::string_view raw) {
  ensure_gmime();
  GPtr<GMimeMessage> message = parse_message(raw);
  if (!message || g_mime_header_list_get_count(g_mime_object_get_header_list(GMIME_OBJECT(message.get()))) == 0)
    return Error::invalid_argument("message", "is not an e-mail message (no RFC 5322 header fields)");
  GMimeObject* top = GMIME_OBJECT(message.get());
  ScannedMessage out;
  out.from = clean_text(header(top, "From"));
  out.to = clean_text(header(top, "To"));
  if (const char* subject = g_mime_message_get_subject(message.get()); subject != nullptr)
    out.subject = clean_text(subject);
  out.failed_recipients = clean_text(header(top, "X-Failed-Recipients"));
  out.date_ms = parse_date_ms(header(top, "Date"));

  Walker walker(out);
  walker.walk(g_mime_message_get_mime_part(message.get()), 0);
  out.text = walker.take_text();
  if (out.text.size() > kMaxTextBytes) out.text.resize(kMaxTextBytes);
  return out;
}

}  // namespace fidelis::bounces::internal

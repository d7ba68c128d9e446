// The message as sent: parsed back with GMime, headers decoded, both parts in UTF-8.

#include <gmime/gmime.h>
#include <gtest/gtest.h>

#include <cctype>
#include <memory>

#include "mail/mail.h"
#include "mail/mail_test_support.h"

namespace fidelis::mail {
namespace {

struct Parsed {
  std::string subject, from_name, from_email, to_name, to_email, message_id, fidelis_id, date, content_type;
  std::vector<std::string> part_types, part_charsets, part_encodings, part_texts;
};

std::string text_of(GMimeObject* part) {
  GMimeDataWrapper* content = g_mime_part_get_content(GMIME_PART(part));
  GMimeStream* mem = g_mime_stream_mem_new();
  g_mime_data_wrapper_write_to_stream(content, mem);
  GByteArray* bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
  std::string out(reinterpret_cast<const char*>(bytes->data), bytes->len);
  g_object_unref(mem);
  return out;
}

Parsed parse(const std::string& raw) {
  g_mime_init();
  Parsed p;
  GMimeStream* stream = g_mime_stream_mem_new_with_buffer(raw.data(), raw.size());
  GMimeParser* parser = g_mime_parser_new_with_stream(stream);
  GMimeMessage* msg = g_mime_parser_construct_message(parser, nullptr);
  EXPECT_NE(msg, nullptr);
  if (msg == nullptr) return p;
  p.subject = g_mime_message_get_subject(msg);
  InternetAddress* from = internet_address_list_get_address(g_mime_message_get_from(msg), 0);
  p.from_name = internet_address_get_name(from) ? internet_address_get_name(from) : "";
  p.from_email = internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(from));
  InternetAddress* to = internet_address_list_get_address(g_mime_message_get_to(msg), 0);
  p.to_name = internet_address_get_name(to) ? internet_address_get_name(to) : "";
  p.to_email = internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(to));
  p.message_id = g_mime_message_get_message_id(msg) ? g_mime_message_get_message_id(msg) : "";
  const char* fid = g_mime_object_get_header(GMIME_OBJECT(msg), "X-Fidelis-Message-Id");
  p.fidelis_id = fid ? fid : "";
  const char* date = g_mime_object_get_header(GMIME_OBJECT(msg), "Date");
  p.date = date ? date : "";
  GMimeObject* body = g_mime_message_get_mime_part(msg);
  GMimeContentType* ct = g_mime_object_get_content_type(body);
  p.content_type = std::string(g_mime_content_type_get_media_type(ct)) + "/" + g_mime_content_type_get_media_subtype(ct);
  if (GMIME_IS_MULTIPART(body)) {
    for (int i = 0; i < g_mime_multipart_get_count(GMIME_MULTIPART(body)); ++i) {
      GMimeObject* part = g_mime_multipart_get_part(GMIME_MULTIPART(body), i);
      GMimeContentType* pct = g_mime_object_get_content_type(part);
      p.part_types.push_back(std::string(g_mime_content_type_get_media_type(pct)) + "/" +
                             g_mime_content_type_get_media_subtype(pct));
      const char* cs = g_mime_content_type_get_parameter(pct, "charset");
      p.part_charsets.push_back(cs ? cs : "");
      p.part_encodings.push_back(g_mime_content_encoding_to_string(g_mime_part_get_content_encoding(GMIME_PART(part))));
      p.part_texts.push_back(text_of(part));
    }
  }
  g_object_unref(msg);
  g_object_unref(parser);
  g_object_unref(stream);
  return p;
}

MimeInput sample() {
  return {{"Boutique Éléonore", "noreply@exemple.fr"},
          {"Hélène Dupré-Lefèvre", "helene@exemple.fr"},
          "Votre commande CMD-42 est confirmée — merci, Hélène ! Nous préparons déjà votre colis avec soin",
          "Bonjour Hélène,\n\nTotal : 1\u202f225,70\u00a0€\n.\nUne ligne qui commence par un point.\n",
          "<p>Bonjour Hélène,</p>\n<p>Total&nbsp;: 1\u202f225,70\u00a0€</p>",
          "42.abc@exemple.fr",
          1'767'225'600'000,
          42};
}

TEST(Mime, HeadersAreRfc2047AndDecodeBack) {
  std::string raw = build_mime(sample());
  size_t head_end = raw.find("\r\n\r\n");
  ASSERT_NE(head_end, std::string::npos);
  std::string head = raw.substr(0, head_end);
  // Only ASCII in the headers: the accents travel as UTF-8 encoded-words.
  for (unsigned char c : head) ASSERT_LT(c, 0x80) << head;
  std::string upper = head;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_NE(upper.find("SUBJECT: VOTRE COMMANDE CMD-42 EST\r\n =?UTF-8?B?"), std::string::npos) << head;
  EXPECT_NE(upper.find("FROM: BOUTIQUE =?UTF-8?B?"), std::string::npos) << head;
  EXPECT_NE(upper.find("TO: =?UTF-8?B?"), std::string::npos) << head;
  EXPECT_NE(head.find("<noreply@exemple.fr>"), std::string::npos) << head;
  EXPECT_NE(head.find("MIME-Version: 1.0"), std::string::npos) << head;
  // Folded at 78 columns at most.
  size_t start = 0;
  for (size_t eol; (eol = head.find("\r\n", start)) != std::string::npos; start = eol + 2) EXPECT_LE(eol - start, 78u);

  Parsed p = parse(raw);
  EXPECT_EQ(p.subject, sample().subject);
  EXPECT_EQ(p.from_name, "Boutique Éléonore");
  EXPECT_EQ(p.from_email, "noreply@exemple.fr");
  EXPECT_EQ(p.to_name, "Hélène Dupré-Lefèvre");
  EXPECT_EQ(p.to_email, "helene@exemple.fr");
  EXPECT_EQ(p.message_id, "42.abc@exemple.fr");
  EXPECT_EQ(p.fidelis_id, "mail-42");
  EXPECT_NE(p.date.find("01 Jan 2026 00:00:00"), std::string::npos) << p.date;
}

TEST(Mime, MultipartAlternativeTextThenHtmlInUtf8) {
  std::string raw = build_mime(sample());
  // SMTP wants CRLF everywhere: no bare LF, no bare CR.
  for (size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] == '\n') {
      ASSERT_TRUE(i > 0 && raw[i - 1] == '\r') << "bare LF at " << i;
    }
    if (raw[i] == '\r') {
      ASSERT_TRUE(i + 1 < raw.size() && raw[i + 1] == '\n') << "bare CR at " << i;
    }
  }
  Parsed p = parse(raw);
  EXPECT_EQ(p.content_type, "multipart/alternative");
  ASSERT_EQ(p.part_types.size(), 2u);
  EXPECT_EQ(p.part_types[0], "text/plain");
  EXPECT_EQ(p.part_types[1], "text/html");
  EXPECT_EQ(p.part_charsets[0], "utf-8");
  EXPECT_EQ(p.part_charsets[1], "utf-8");
  EXPECT_EQ(p.part_encodings[0], "quoted-printable");
  auto crlf = [](std::string s) {
    std::string out;
    for (char c : s) out += c == '\n' ? std::string("\r\n") : std::string(1, c);
    return out;
  };
  EXPECT_EQ(p.part_texts[0], crlf(sample().text));
  EXPECT_EQ(p.part_texts[1], crlf(sample().html + "\n"));
}

TEST(Address, ParsesDisplayNames) {
  auto a = parse_address("Boutique Exemple <noreply@Exemple.FR>", "mail_from");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->name, "Boutique Exemple");
  EXPECT_EQ(a->email, "noreply@exemple.fr");
  auto q = parse_address("\"Éloïse, SAV\" <sav@exemple.fr>", "mail_from");
  ASSERT_TRUE(q);
  EXPECT_EQ(q->name, "Éloïse, SAV");
  auto bare = parse_address("sav@exemple.fr", "mail_from");
  ASSERT_TRUE(bare);
  EXPECT_EQ(bare->name, "");
  EXPECT_EQ(parse_address("Boutique <nope>", "mail_from").error().field, "mail_from");
  EXPECT_EQ(parse_address("Boutique\r\nBcc: x@y.fr <a@b.fr>", "mail_from").error().field, "mail_from");
}

}  // namespace
}  // namespace fidelis::mail

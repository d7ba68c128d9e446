// parse_dsn against bounces as real MTAs write them (src/bounces/testdata/*.eml).

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "bounces/bounces.h"
#include "core/text.h"

namespace fidelis::bounces {
namespace {

// The samples sit beside this file (CMake compiles with absolute paths, so __FILE__ finds them);
// the FIDELIS_BOUNCES_TESTDATA environment variable points elsewhere when the sources moved.
std::filesystem::path testdata_dir() {
  if (const char* dir = std::getenv("FIDELIS_BOUNCES_TESTDATA"); dir != nullptr && *dir != '\0') return dir;
  return std::filesystem::path(__FILE__).parent_path() / "testdata";
}

std::string sample(const std::string& name) {
  std::ifstream in(testdata_dir() / name, std::ios::binary);
  EXPECT_TRUE(in.good()) << "missing sample " << (testdata_dir() / name);
  std::ostringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

std::vector<Bounce> parse_sample(const std::string& name) {
  Result<std::vector<Bounce>> r = parse_dsn(sample(name));
  EXPECT_TRUE(r.has_value()) << name << ": " << (r ? "" : r.error().message);
  return r ? *r : std::vector<Bounce>{};
}

void expect_not_a_bounce_message(std::string_view raw) {
  Result<std::vector<Bounce>> r = parse_dsn(raw);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, Code::kInvalidArgument);
  EXPECT_EQ(r.error().field, "message");
  EXPECT_FALSE(r.error().message.empty());
}

TEST(ParseDsn, PostfixUserUnknown) {
  std::vector<Bounce> bounces = parse_sample("postfix_5_1_1.eml");
  ASSERT_EQ(bounces.size(), 1u);
  const Bounce& b = bounces[0];
  EXPECT_EQ(b.recipient, "jean.dupont@orange-mail.example");
  EXPECT_EQ(b.final_recipient, "jean.dupont@orange-mail.example");
  EXPECT_EQ(b.action, Action::kFailed);
  EXPECT_EQ(b.status_code, "5.1.1");
  EXPECT_EQ(b.kind, Kind::kHard);
  EXPECT_EQ(b.reason, Reason::kMailboxUnknown);
  // Folded field, unfolded into one line, without the "smtp;" type.
  EXPECT_EQ(b.diagnostic,
            "550 5.1.1 <jean.dupont@orange-mail.example>: Recipient address rejected: User unknown in virtual "
            "mailbox table");
  EXPECT_EQ(b.remote_mta, "mx1.orange-mail.example");
  EXPECT_EQ(b.reporting_mta, "mail.boutique.example");
  EXPECT_EQ(b.message_id, "c42.r7.20260303091504@boutique.example");
  EXPECT_EQ(b.fidelis_message_id, "msg_7f3a9c21e4");
  EXPECT_FALSE(b.heuristic);
  EXPECT_EQ(b.at_ms, 1772529305000);  // Arrival-Date: no Last-Attempt-Date in Postfix reports
}

TEST(ParseDsn, GmailNoSuchUserWithReturnedMessage) {
  std::vector<Bounce> bounces = parse_sample("gmail_5_1_1.eml");
  ASSERT_EQ(bounces.size(), 1u);
  const Bounce& b = bounces[0];
  EXPECT_EQ(b.recipient, "lucas.moreau@gmail.example");
  EXPECT_EQ(b.status_code, "5.1.1");
  EXPECT_EQ(b.kind, Kind::kHard);
  EXPECT_EQ(b.reason, Reason::kMailboxUnknown);
  EXPECT_NE(b.diagnostic.find("does not exist"), std::string::npos) << b.diagnostic;
  EXPECT_NE(b.diagnostic.find("NoSuchUser"), std::string::npos) << b.diagnostic;  // continuation lines kept
  EXPECT_EQ(b.diagnostic.find('\r'), std::string::npos);
  EXPECT_EQ(b.remote_mta.rfind("gmail-smtp-in.l.google.com.", 0), 0u) << b.remote_mta;
  // From the message/rfc822 part, not the bounce's own Message-ID.
  EXPECT_EQ(b.message_id, "c77.r9.20260304092216@boutique.example");
  EXPECT_EQ(b.fidelis_message_id, "msg_77c09e15ab");
  EXPECT_EQ(b.at_ms, 1772616138000);  // Last-Attempt-Date
}

TEST(ParseDsn, ExchangeRecipientNotFound) {
  std::vector<Bounce> bounces = parse_sample("exchange_5_1_10.eml");
  ASSERT_EQ(bounces.size(), 1u);
  const Bounce& b = bounces[0];
  EXPECT_EQ(b.recipient, "sophie.bernard@entreprise.example");
  EXPECT_EQ(b.status_code, "5.1.10");
  EXPECT_EQ(b.kind, Kind::kHard);
  // Exchange's 5.1.10 means "recipient not found", not RFC 7505's null MX.
  EXPECT_EQ(b.reason, Reason::kMailboxUnknown);
  EXPECT_EQ(b.reporting_mta, "AM0PR01MB1234.eurprd01.prod.exchangelabs.com");
  EXPECT_EQ(b.remote_mta, "");
  EXPECT_EQ(b.message_id, "c18.r3.20260305084058@boutique.example");
  EXPECT_EQ(b.fidelis_message_id, "msg_18aa04b7d2");  // angle brackets dropped
  EXPECT_EQ(b.at_ms, 1772700059000);
}

TEST(ParseDsn, DelayedMailboxFullIsSoft) {
  std::vector<Bounce> bounces = parse_sample("delayed_4_2_2.eml");
  ASSERT_EQ(bounces.size(), 1u);
  const Bounce& b = bounces[0];
  EXPECT_EQ(b.recipient, "claire.petit@free-mail.example");
  EXPECT_EQ(b.action, Action::kDelayed);
  EXPECT_EQ(b.status_code, "4.2.2");
  EXPECT_EQ(b.kind, Kind::kSoft);
  EXPECT_EQ(b.reason, Reason::kMailboxFull);
  EXPECT_EQ(b.fidelis_message_id, "msg_05d1e2f3a4");
  EXPECT_EQ(b.at_ms, 1772787520000);
}

TEST(ParseDsn, PolicyRejectionIsSoftAndQuotedPrintableIsDecoded) {
  std::vector<Bounce> bounces = parse_sample("policy_5_7_1.eml");
  ASSERT_EQ(bounces.size(), 1u);
  const Bounce& b = bounces[0];
  EXPECT_EQ(b.recipient, "Emma.Lefevre@hotmail.example");  // local part as given, domain lower-cased
  EXPECT_EQ(b.status_code, "5.7.1");
  EXPECT_EQ(b.kind, Kind::kSoft);
  EXPECT_EQ(b.reason, Reason::kPolicy);
  // The soft line breaks of the quoted-printable part are gone.
  EXPECT_NE(b.diagnostic.find("messages from [198.51.100.10] weren't sent"), std::string::npos) << b.diagnostic;
  EXPECT_NE(b.diagnostic.find("on our block list (S3150)"), std::string::npos) << b.diagnostic;
  EXPECT_EQ(b.message_id, "c9.r2.20260309103011@boutique.example");
  EXPECT_EQ(b.fidelis_message_id, "msg_09b8c7d6e5");
}

TEST(ParseDsn, TwoRecipientsOneFailedOneDelivered) {
  std::vector<Bounce> bounces = parse_sample("two_recipients.eml");
  ASSERT_EQ(bounces.size(), 2u);
  const Bounce& failed = bounces[0];
  EXPECT_EQ(failed.recipient, "paul.martin@laposte-mail.example");
  EXPECT_EQ(failed.action, Action::kFailed);
  EXPECT_EQ(failed.status_code, "5.1.1");
  EXPECT_EQ(failed.kind, Kind::kHard);
  EXPECT_EQ(failed.reason, Reason::kMailboxUnknown);
  EXPECT_EQ(failed.remote_mta, "smtp.laposte-mail.example");  // "DNS;" type in capitals
  EXPECT_EQ(failed.at_ms, 1773155062000);

  const Bounce& delivered = bounces[1];
  // Forwarded: the address Fidelis sent to is the Original-Recipient.
  EXPECT_EQ(delivered.recipient, "contact@fleuriste-du-coin.example");
  EXPECT_EQ(delivered.final_recipient, "anne.leroy@fleuriste-du-coin.example");
  EXPECT_EQ(delivered.action, Action::kDelivered);
  EXPECT_EQ(delivered.status_code, "2.0.0");
  EXPECT_EQ(delivered.kind, Kind::kNotABounce);
  EXPECT_EQ(delivered.reason, Reason::kNone);
  for (const Bounce& b : bounces) {
    EXPECT_EQ(b.message_id, "c300.r1.20260310150418@boutique.example");
    EXPECT_EQ(b.fidelis_message_id, "msg_3001a2b3c4");
  }
}

TEST(ParseDsn, Base64EncodedParts) {
  std::vector<Bounce> bounces = parse_sample("base64_parts.eml");
  ASSERT_EQ(bounces.size(), 1u);
  const Bounce& b = bounces[0];
  EXPECT_EQ(b.recipient, "thomas.roux@sfr-mail.example");
  EXPECT_EQ(b.status_code, "5.2.1");
  EXPECT_EQ(b.kind, Kind::kHard);
  EXPECT_EQ(b.reason, Reason::kMailboxDisabled);
  EXPECT_EQ(b.diagnostic, "550 5.2.1 The email account that you tried to reach is disabled.");
  EXPECT_EQ(b.message_id, "c61.r4.20260311071002@boutique.example");
  EXPECT_EQ(b.fidelis_message_id, "msg_61f0e9d8c7");
  EXPECT_FALSE(b.heuristic);
}

TEST(ParseDsn, EximFreeTextBounceIsReadHeuristically) {
  std::vector<Bounce> bounces = parse_sample("exim_failed.eml");
  ASSERT_EQ(bounces.size(), 2u);
  const Bounce& unknown = bounces[0];
  EXPECT_EQ(unknown.recipient, "julie.garnier@wanadoo-mail.example");
  EXPECT_TRUE(unknown.heuristic);
  EXPECT_EQ(unknown.action, Action::kFailed);
  EXPECT_EQ(unknown.status_code, "5.1.1");
  EXPECT_EQ(unknown.kind, Kind::kHard);
  EXPECT_EQ(unknown.reason, Reason::kMailboxUnknown);
  EXPECT_EQ(unknown.diagnostic, "550 5.1.1 <julie.garnier@wanadoo-mail.example>: adresse inconnue / unknown address");

  const Bounce& no_domain = bounces[1];
  EXPECT_EQ(no_domain.recipient, "marc.blanc@ancien-domaine.example");
  EXPECT_TRUE(no_domain.heuristic);
  EXPECT_EQ(no_domain.status_code, "");  // Exim gives no code for a domain it cannot route
  EXPECT_EQ(no_domain.diagnostic, "Unrouteable address");
  EXPECT_EQ(no_domain.kind, Kind::kHard);
  EXPECT_EQ(no_domain.reason, Reason::kDomainUnknown);

  for (const Bounce& b : bounces) {
    // Read from the copy of the original that Exim quotes in its text.
    EXPECT_EQ(b.message_id, "c88.r5.20260312174529@boutique.example");
    EXPECT_EQ(b.fidelis_message_id, "msg_88e7d6c5b4");
    EXPECT_EQ(b.at_ms, 1773337531000);
  }
}

TEST(ParseDsn, QmailFailureNoticeWithoutFailedRecipientsHeader) {
  std::vector<Bounce> bounces = parse_sample("qmail_failed.eml");
  ASSERT_EQ(bounces.size(), 1u);
  const Bounce& b = bounces[0];
  EXPECT_EQ(b.recipient, "nicolas.faure@club-mail.example");
  EXPECT_TRUE(b.heuristic);
  EXPECT_EQ(b.status_code, "5.2.2");
  EXPECT_EQ(b.kind, Kind::kSoft);
  EXPECT_EQ(b.reason, Reason::kMailboxFull);
  EXPECT_EQ(b.diagnostic, "Remote host said: 552 5.2.2 <nicolas.faure@club-mail.example>: Mailbox full");
  EXPECT_EQ(b.message_id, "c12.r8.20260313071238@boutique.example");
  EXPECT_EQ(b.fidelis_message_id, "msg_12abcdef01");
  EXPECT_EQ(b.at_ms, 1773385960000);
}

TEST(ParseDsn, ReportWhoseStatusPartIsMislabelledFallsBackToItsText) {
  // The same Postfix report with its delivery-status part under a type nobody knows: the
  // human-readable part still names the recipient and the code.
  std::string raw = sample("postfix_5_1_1.eml");
  size_t at = raw.find("Content-Type: message/delivery-status");
  ASSERT_NE(at, std::string::npos);
  raw.replace(at, 37, "Content-Type: application/x-dsn-report");
  std::vector<Bounce> bounces = *parse_dsn(raw);
  ASSERT_EQ(bounces.size(), 1u);
  EXPECT_TRUE(bounces[0].heuristic);
  EXPECT_EQ(bounces[0].recipient, "jean.dupont@orange-mail.example");
  EXPECT_EQ(bounces[0].status_code, "5.1.1");
  EXPECT_EQ(bounces[0].kind, Kind::kHard);
  EXPECT_EQ(bounces[0].fidelis_message_id, "msg_7f3a9c21e4");  // text/rfc822-headers still read
}

TEST(ParseDsn, OrdinaryEmailIsNotABounce) { expect_not_a_bounce_message(sample("not_a_bounce.eml")); }

TEST(ParseDsn, GarbageIsRejected) {
  expect_not_a_bounce_message(sample("garbage.bin"));
  expect_not_a_bounce_message("");
  expect_not_a_bounce_message(" \r\n\t");
  expect_not_a_bounce_message("hello world, this is not an e-mail");
  expect_not_a_bounce_message(std::string("\0\0\0\x01\x02", 5));
}

TEST(ParseDsn, AutoReplyIsNotABounce) {
  expect_not_a_bounce_message(
      "From: Marie Durand <marie.durand@client-mail.example>\r\n"
      "To: newsletter@boutique.example\r\n"
      "Subject: =?UTF-8?Q?R=C3=A9ponse_automatique_:_absente?=\r\n"
      "Auto-Submitted: auto-replied\r\n"
      "\r\n"
      "Je suis absente jusqu'au 20 mars. Pour toute urgence : paul@client-mail.example.\r\n");
}

TEST(ParseDsn, PostmasterMessageWithoutFailureEvidenceIsNotABounce) {
  expect_not_a_bounce_message(
      "From: postmaster@client-mail.example\n"
      "To: newsletter@boutique.example\n"
      "Subject: Question\n"
      "\n"
      "Could you tell us who manages jean@client-mail.example's subscription?\n");
}

TEST(ParseDsn, ReportNestedInAForwardingWrapper) {
  // A gateway that wraps the report in multipart/mixed: the delivery-status part is found anyway.
  std::vector<Bounce> bounces = *parse_dsn(
      "From: MAILER-DAEMON@relay.example\n"
      "To: bounces@boutique.example\n"
      "Subject: fwd: report\n"
      "MIME-Version: 1.0\n"
      "Content-Type: multipart/mixed; boundary=outer\n"
      "\n"
      "--outer\n"
      "Content-Type: text/plain\n"
      "\n"
      "Forwarded by the gateway.\n"
      "--outer\n"
      "Content-Type: multipart/report; report-type=delivery-status; boundary=inner\n"
      "\n"
      "--inner\n"
      "Content-Type: text/plain\n"
      "\n"
      "failed\n"
      "--inner\n"
      "Content-Type: text/delivery-status\n"
      "\n"
      "Reporting-MTA: dns; relay.example\n"
      "\n"
      "Final-Recipient: rfc822;<Old.Customer@Example.NET>\n"
      "Action: failed\n"
      "Status: 5.0.0\n"
      "Diagnostic-Code: smtp; 550 5.1.1 mailbox does not exist\n"
      "--inner--\n"
      "--outer--\n");
  ASSERT_EQ(bounces.size(), 1u);
  EXPECT_EQ(bounces[0].recipient, "Old.Customer@example.net");
  EXPECT_EQ(bounces[0].status_code, "5.0.0");
  EXPECT_EQ(bounces[0].kind, Kind::kHard);  // the diagnostic's 5.1.1 says more than Status 5.0.0
  EXPECT_EQ(bounces[0].reason, Reason::kMailboxUnknown);
  EXPECT_FALSE(bounces[0].heuristic);
}

TEST(ParseDsn, GlobalReportWithUtf8AddressType) {
  // RFC 6533: message/global-delivery-status, addresses of type utf-8 (non-ASCII as \x{HEX}).
  auto r = parse_dsn(
      "From: MAILER-DAEMON@relay.example\n"
      "MIME-Version: 1.0\n"
      "Content-Type: multipart/report; report-type=global-delivery-status; boundary=b\n"
      "\n"
      "--b\n"
      "Content-Type: text/plain\n"
      "\n"
      "failed\n"
      "--b\n"
      "Content-Type: message/global-delivery-status\n"
      "\n"
      "Reporting-MTA: dns; relay.example\n"
      "\n"
      "Final-Recipient: utf-8; ang3@exemple.fr\n"
      "Action: failed\n"
      "Status: 5.1.1\n"
      "\n"
      "Final-Recipient: utf-8; h\\x{E9}l\\x{E8}ne@exemple.fr\n"
      "Action: failed\n"
      "Status: 5.1.1\n"
      "--b--\n");
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].recipient, "ang3@exemple.fr");
  EXPECT_EQ((*r)[0].kind, Kind::kHard);
  EXPECT_EQ((*r)[1].recipient, "hélène@exemple.fr");
}

TEST(ParseDsn, ReportWithoutUsableRecipientIsRejected) {
  Result<std::vector<Bounce>> r = parse_dsn(
      "From: MAILER-DAEMON@relay.example\n"
      "Content-Type: multipart/report; report-type=delivery-status; boundary=b\n"
      "\n"
      "--b\n"
      "Content-Type: message/delivery-status\n"
      "\n"
      "Reporting-MTA: dns; relay.example\n"
      "\n"
      "Final-Recipient: x400; /C=FR/ADMD=ATLAS/\n"
      "Action: failed\n"
      "Status: 5.1.1\n"
      "--b--\n");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, Code::kInvalidArgument);
  EXPECT_EQ(r.error().field, "message");
  EXPECT_NE(r.error().message.find("recipient"), std::string::npos);
}

TEST(ParseDsn, ReportWithoutActionTakesItFromTheStatusClass) {
  std::vector<Bounce> bounces = *parse_dsn(
      "From: MAILER-DAEMON@relay.example\n"
      "Content-Type: multipart/report; report-type=delivery-status; boundary=b\n"
      "\n"
      "--b\n"
      "Content-Type: message/delivery-status\n"
      "\n"
      "Final-Recipient: rfc822; a@example.org\n"
      "Status: 4.4.1\n"
      "\n"
      "Final-Recipient: rfc822; b@example.org\n"
      "Status: 5.1.2\n"
      "--b--\n");
  ASSERT_EQ(bounces.size(), 2u);  // no per-message group at all: tolerated
  EXPECT_EQ(bounces[0].action, Action::kDelayed);
  EXPECT_EQ(bounces[0].kind, Kind::kSoft);
  EXPECT_EQ(bounces[0].reason, Reason::kTemporary);
  EXPECT_EQ(bounces[1].action, Action::kFailed);
  EXPECT_EQ(bounces[1].kind, Kind::kHard);
  EXPECT_EQ(bounces[1].reason, Reason::kDomainUnknown);
}

TEST(ParseDsn, InvalidUtf8InDiagnosticIsMadeSafe) {
  std::vector<Bounce> bounces = *parse_dsn(
      "From: MAILER-DAEMON@relay.example\n"
      "Content-Type: multipart/report; report-type=delivery-status; boundary=b\n"
      "\n"
      "--b\n"
      "Content-Type: message/delivery-status\n"
      "\n"
      "Final-Recipient: rfc822; a@example.org\n"
      "Action: failed\n"
      "Status: 5.2.2\n"
      "Diagnostic-Code: smtp; 552 bo\xeete pleine\n"
      "--b--\n");
  ASSERT_EQ(bounces.size(), 1u);
  EXPECT_EQ(bounces[0].reason, Reason::kMailboxFull);
  EXPECT_TRUE(text::is_valid_utf8(bounces[0].diagnostic)) << bounces[0].diagnostic;
}

// Text warnings that the server still retries (Exim "message delayed", sendmail "THIS IS A WARNING
// MESSAGE ONLY") are repeated for days without a copy of the message: each reports its address as
// delayed, which counts for nothing, never as a soft bounce.
TEST(ParseDsn, EximDelayWarningIsDelayedNotFailed) {
  std::vector<Bounce> bounces = parse_sample("exim_delayed.eml");
  ASSERT_EQ(bounces.size(), 1u);
  EXPECT_EQ(bounces[0].recipient, "exim.delay@wanadoo.fr");
  EXPECT_EQ(bounces[0].action, Action::kDelayed);
  EXPECT_EQ(bounces[0].status_code, "4.2.2");
  EXPECT_TRUE(bounces[0].heuristic);
}

TEST(ParseDsn, SendmailWarningIsDelayedNotFailed) {
  std::vector<Bounce> bounces = parse_sample("sendmail_delayed.eml");
  ASSERT_EQ(bounces.size(), 1u);
  EXPECT_EQ(bounces[0].recipient, "sm.delay@neuf.fr");
  EXPECT_EQ(bounces[0].action, Action::kDelayed);
}

TEST(ParseDsn, FailureNoticeMentioningAnEarlierDelayStillFails) {
  // Exim gives up after its retry time: the failure list wins over the words about delays.
  std::vector<Bounce> bounces = *parse_dsn(
      "From: Mail Delivery System <Mailer-Daemon@mail.boutique.example>\n"
      "Subject: Mail delivery failed: returning message to sender\n"
      "\n"
      "This message was created automatically by mail delivery software.\n"
      "A message that you sent could not be delivered to one or more of its recipients.\n"
      "Delivery attempts will continue no more: retry timeout exceeded.\n"
      "The following address(es) failed:\n"
      "\n"
      "  gone@exemple.fr\n"
      "    retry timeout exceeded\n");
  ASSERT_EQ(bounces.size(), 1u);
  EXPECT_EQ(bounces[0].action, Action::kFailed);
}

TEST(ParseDsn, RecipientFieldsMayCarryComments) {
  std::vector<Bounce> bounces = *parse_dsn(
      "From: MAILER-DAEMON@relay.example\n"
      "Content-Type: multipart/report; report-type=delivery-status; boundary=b\n"
      "\n"
      "--b\n"
      "Content-Type: message/delivery-status\n"
      "\n"
      "Reporting-MTA: dns; relay.example\n"
      "\n"
      "Final-Recipient: RFC822; odd1@exemple.fr (Jean (dit Jeannot) Dupont)\n"
      "Action: failed\n"
      "Status: 5.1.1 (user unknown)\n"
      "\n"
      "Final-Recipient: rfc822; (ancienne adresse) <odd2@exemple.fr>\n"
      "Action: failed\n"
      "Status: 5.1.1\n"
      "--b--\n");
  ASSERT_EQ(bounces.size(), 2u);
  EXPECT_EQ(bounces[0].recipient, "odd1@exemple.fr");
  EXPECT_EQ(bounces[0].status_code, "5.1.1");
  EXPECT_EQ(bounces[1].recipient, "odd2@exemple.fr");
}

}  // namespace
}  // namespace fidelis::bounces

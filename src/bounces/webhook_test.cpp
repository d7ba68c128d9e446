// from_webhook: provider events onto Bounce.

#include <gtest/gtest.h>

#include "bounces/bounces.h"

namespace fidelis::bounces {
namespace {

WebhookEvent bounce_event(std::string status, std::string diagnostic, std::string bounce_type = "") {
  WebhookEvent e;
  e.type = "bounce";
  e.email = "client@exemple-mail.example";
  e.status_code = std::move(status);
  e.diagnostic = std::move(diagnostic);
  e.bounce_type = std::move(bounce_type);
  e.message_id = "<c42.r7.20260303091504@boutique.example>";
  e.at_ms = 1'772'529'305'000;
  return e;
}

void expect_invalid(const WebhookEvent& e, std::string_view field) {
  Result<Bounce> r = from_webhook(e);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, Code::kInvalidArgument);
  EXPECT_EQ(r.error().field, field);
}

TEST(FromWebhook, BounceIsClassifiedLikeADsn) {
  Bounce b = *from_webhook(bounce_event("5.1.1", "550 5.1.1 user unknown"));
  EXPECT_EQ(b.recipient, "client@exemple-mail.example");
  EXPECT_EQ(b.final_recipient, "client@exemple-mail.example");
  EXPECT_EQ(b.action, Action::kFailed);
  EXPECT_EQ(b.status_code, "5.1.1");
  EXPECT_EQ(b.diagnostic, "550 5.1.1 user unknown");
  EXPECT_EQ(b.kind, Kind::kHard);
  EXPECT_EQ(b.reason, Reason::kMailboxUnknown);
  EXPECT_EQ(b.message_id, "c42.r7.20260303091504@boutique.example");
  EXPECT_EQ(b.at_ms, 1'772'529'305'000);
  EXPECT_FALSE(b.heuristic);
}

TEST(FromWebhook, ProviderVerdictWinsOverTheClassifier) {
  Bounce hard = *from_webhook(bounce_event("4.2.2", "mailbox full", "hard"));
  EXPECT_EQ(hard.kind, Kind::kHard);
  EXPECT_EQ(hard.reason, Reason::kMailboxFull);  // the reason still comes from the code

  Bounce soft = *from_webhook(bounce_event("5.1.1", "", "soft"));
  EXPECT_EQ(soft.kind, Kind::kSoft);
  EXPECT_EQ(soft.reason, Reason::kMailboxUnknown);

  EXPECT_EQ(from_webhook(bounce_event("", "", "Permanent"))->kind, Kind::kHard);  // SES
  EXPECT_EQ(from_webhook(bounce_event("5.1.1", "", "Transient"))->kind, Kind::kSoft);
  EXPECT_EQ(from_webhook(bounce_event("5.1.1", "", "temporary"))->kind, Kind::kSoft);  // Mailgun
  EXPECT_EQ(from_webhook(bounce_event("5.1.1", "", "Undetermined"))->kind, Kind::kHard);
  EXPECT_EQ(from_webhook(bounce_event("5.2.2", "", ""))->kind, Kind::kSoft);
}

TEST(FromWebhook, StatusCodeIsReadLeniently) {
  Bounce reply_only = *from_webhook(bounce_event("550", "Requested action not taken: mailbox unavailable"));
  EXPECT_EQ(reply_only.status_code, "550");
  EXPECT_EQ(reply_only.kind, Kind::kHard);

  EXPECT_EQ(from_webhook(bounce_event("smtp; 550 5.1.1 bad mailbox", ""))->status_code, "5.1.1");

  // Junk in the code is dropped, not fatal: the diagnostic still classifies.
  Bounce junk = *from_webhook(bounce_event("n/a", "452 quota exceeded"));
  EXPECT_EQ(junk.status_code, "");
  EXPECT_EQ(junk.kind, Kind::kSoft);
  EXPECT_EQ(junk.reason, Reason::kMailboxFull);
}

TEST(FromWebhook, ABounceIsNeverNotABounce) {
  Bounce nothing = *from_webhook(bounce_event("", ""));
  EXPECT_EQ(nothing.kind, Kind::kSoft);
  EXPECT_EQ(nothing.reason, Reason::kOther);

  Bounce success_code = *from_webhook(bounce_event("2.0.0", "ok"));
  EXPECT_EQ(success_code.kind, Kind::kSoft);
  EXPECT_EQ(success_code.reason, Reason::kOther);
}

TEST(FromWebhook, ComplaintDeliveredUnsubscribe) {
  WebhookEvent e = bounce_event("", "");
  e.type = "Complaint";
  Bounce complaint = *from_webhook(e);
  EXPECT_EQ(complaint.kind, Kind::kComplaint);
  EXPECT_EQ(complaint.reason, Reason::kNone);
  EXPECT_EQ(complaint.action, Action::kNone);
  EXPECT_EQ(complaint.message_id, "c42.r7.20260303091504@boutique.example");

  e.type = "delivered";
  Bounce delivered = *from_webhook(e);
  EXPECT_EQ(delivered.kind, Kind::kNotABounce);
  EXPECT_EQ(delivered.action, Action::kDelivered);

  e.type = " unsubscribe ";
  Bounce unsubscribe = *from_webhook(e);
  EXPECT_EQ(unsubscribe.kind, Kind::kUnsubscribe);
  EXPECT_EQ(unsubscribe.action, Action::kNone);
}

TEST(FromWebhook, EmailIsNormalised) {
  WebhookEvent e = bounce_event("5.1.1", "");
  e.email = "  Jean.Dupont@Orange-Mail.EXAMPLE ";
  EXPECT_EQ(from_webhook(e)->recipient, "Jean.Dupont@orange-mail.example");
}

TEST(FromWebhook, BadFieldsAreNamed) {
  WebhookEvent e = bounce_event("5.1.1", "");
  e.type = "open";
  expect_invalid(e, "type");
  e.type = "";
  expect_invalid(e, "type");

  e = bounce_event("5.1.1", "");
  e.email = "not an address";
  expect_invalid(e, "email");
  e.email = "";
  expect_invalid(e, "email");

  e = bounce_event("5.1.1", "", "maybe");
  expect_invalid(e, "bounce_type");

  e = bounce_event("5.1.1", "");
  e.at_ms = -1;
  expect_invalid(e, "at_ms");
}

}  // namespace
}  // namespace fidelis::bounces

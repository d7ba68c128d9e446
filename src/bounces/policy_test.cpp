// The address status state machine (apply_event, clear_bounces).

#include <gtest/gtest.h>

#include "bounces/bounces.h"

namespace fidelis::bounces {
namespace {

using S = AddressStatus;

Bounce event(Kind kind, Action action = Action::kFailed) {
  Bounce b;
  b.recipient = "client@exemple-mail.example";
  b.kind = kind;
  b.action = action;
  return b;
}
const Bounce kHard = event(Kind::kHard);
const Bounce kSoft = event(Kind::kSoft);
const Bounce kDelayed = event(Kind::kSoft, Action::kDelayed);
const Bounce kDelivered = event(Kind::kNotABounce, Action::kDelivered);
const Bounce kRelayed = event(Kind::kNotABounce, Action::kRelayed);
const Bounce kComplaint = event(Kind::kComplaint, Action::kNone);
const Bounce kUnsubscribe = event(Kind::kUnsubscribe, Action::kNone);

TEST(ApplyEvent, HardBounceIsImmediate) {
  EXPECT_EQ(apply_event({S::kUnverified, 0}, kHard), (AddressState{S::kHardBounce, 0}));
  EXPECT_EQ(apply_event({S::kValid, 0}, kHard), (AddressState{S::kHardBounce, 0}));
  EXPECT_EQ(apply_event({S::kSoftBounce, 2}, kHard), (AddressState{S::kHardBounce, 2}));
}

TEST(ApplyEvent, SoftBouncesEscalateAtTheThreshold) {
  AddressState s{S::kValid, 0};
  s = apply_event(s, kSoft);
  EXPECT_EQ(s, (AddressState{S::kSoftBounce, 1}));
  s = apply_event(s, kSoft);
  EXPECT_EQ(s, (AddressState{S::kSoftBounce, 2}));
  s = apply_event(s, kSoft);
  EXPECT_EQ(s, (AddressState{S::kHardBounce, 3}));  // default: 3 soft bounces make an NPAI
}

TEST(ApplyEvent, DelayWarningsCountForNothing) {
  // "Action: delayed" says the server is still retrying: however many come, the address stays.
  AddressState s{S::kValid, 0};
  for (int i = 0; i < 5; ++i) s = apply_event(s, kDelayed);
  EXPECT_EQ(s, (AddressState{S::kValid, 0}));
  s = apply_event(apply_event({S::kValid, 0}, kSoft), kDelayed);
  EXPECT_EQ(s, (AddressState{S::kSoftBounce, 1}));
}

TEST(ApplyEvent, ThresholdIsConfigurable) {
  EscalationConfig five{5};
  AddressState s{S::kUnverified, 0};
  for (int i = 1; i <= 4; ++i) {
    s = apply_event(s, kSoft, five);
    EXPECT_EQ(s, (AddressState{S::kSoftBounce, i}));
  }
  EXPECT_EQ(apply_event(s, kSoft, five), (AddressState{S::kHardBounce, 5}));

  EXPECT_EQ(apply_event({S::kValid, 0}, kSoft, EscalationConfig{1}), (AddressState{S::kHardBounce, 1}));
  EXPECT_EQ(apply_event({S::kValid, 0}, kSoft, EscalationConfig{0}), (AddressState{S::kHardBounce, 1}));
  EXPECT_EQ(apply_event({S::kValid, 0}, kSoft, EscalationConfig{-4}), (AddressState{S::kHardBounce, 1}));
}

TEST(ApplyEvent, DeliveryResetsTheSoftCount) {
  AddressState s = apply_event(apply_event({S::kValid, 0}, kSoft), kSoft);
  EXPECT_EQ(s, (AddressState{S::kSoftBounce, 2}));
  s = apply_event(s, kDelivered);
  EXPECT_EQ(s, (AddressState{S::kValid, 0}));
  s = apply_event(s, kSoft);
  EXPECT_EQ(s, (AddressState{S::kSoftBounce, 1}));  // counting starts again
  EXPECT_EQ(apply_event({S::kUnverified, 0}, kDelivered), (AddressState{S::kValid, 0}));
}

TEST(ApplyEvent, RelayedProvesNothing) {
  EXPECT_EQ(apply_event({S::kSoftBounce, 2}, kRelayed), (AddressState{S::kSoftBounce, 2}));
  EXPECT_EQ(apply_event({S::kUnverified, 0}, kRelayed), (AddressState{S::kUnverified, 0}));
}

TEST(ApplyEvent, HardBounceStaysUntilCleared) {
  AddressState hard{S::kHardBounce, 0};
  EXPECT_EQ(apply_event(hard, kDelivered), hard);
  EXPECT_EQ(apply_event(hard, kSoft), hard);
  EXPECT_EQ(apply_event(hard, kHard), hard);

  AddressState cleared = clear_bounces(hard);
  EXPECT_EQ(cleared, (AddressState{S::kUnverified, 0}));
  EXPECT_EQ(apply_event(cleared, kDelivered), (AddressState{S::kValid, 0}));
  EXPECT_EQ(clear_bounces({S::kSoftBounce, 2}), (AddressState{S::kUnverified, 0}));
  EXPECT_EQ(clear_bounces({S::kValid, 0}), (AddressState{S::kValid, 0}));
}

TEST(ApplyEvent, ConsentOutranksDeliverability) {
  for (S from : {S::kUnverified, S::kValid, S::kSoftBounce, S::kUnsubscribed})
    EXPECT_EQ(apply_event({from, 1}, kComplaint).status, S::kComplaint) << address_status_name(from);

  AddressState complaint{S::kComplaint, 0};
  for (const Bounce& e : {kDelivered, kUnsubscribe}) EXPECT_EQ(apply_event(complaint, e), complaint);
  EXPECT_EQ(apply_event(complaint, kSoft), (AddressState{S::kComplaint, 1}));
  EXPECT_EQ(clear_bounces(complaint), complaint);

  AddressState unsubscribed{S::kUnsubscribed, 0};
  EXPECT_EQ(apply_event(unsubscribed, kDelivered), unsubscribed);
  EXPECT_EQ(clear_bounces(unsubscribed), unsubscribed);
  EXPECT_EQ(apply_event({S::kValid, 0}, kUnsubscribe).status, S::kUnsubscribed);
}

// A dead mailbox is NPAI whether or not its owner said no: it counts in the rate and gets no mail
// at all; what the owner said comes back when an admin clears the bounce.
TEST(ApplyEvent, AnAddressWhoseOwnerSaidNoCanStillBeDead) {
  AddressState unsubscribed{S::kUnsubscribed, 0};
  EXPECT_EQ(apply_event(unsubscribed, kHard), (AddressState{S::kHardBounce, 0}));
  EXPECT_EQ(apply_event({S::kComplaint, 0}, kHard), (AddressState{S::kHardBounce, 0}));
  // Soft bounces count without moving the status, until the count makes it NPAI.
  AddressState once = apply_event(unsubscribed, kSoft);
  EXPECT_EQ(once, (AddressState{S::kUnsubscribed, 1}));
  EXPECT_EQ(apply_event(once, kDelivered), unsubscribed);
  AddressState twice = apply_event(once, kSoft);
  EXPECT_EQ(apply_event(twice, kSoft), (AddressState{S::kHardBounce, 3}));
  // An NPAI address stays NPAI when its owner unsubscribes or complains.
  EXPECT_EQ(apply_event({S::kHardBounce, 0}, kUnsubscribe), (AddressState{S::kHardBounce, 0}));
  EXPECT_EQ(apply_event({S::kHardBounce, 0}, kComplaint), (AddressState{S::kHardBounce, 0}));
  EXPECT_EQ(clear_bounces({S::kHardBounce, 3}, S::kUnsubscribed), unsubscribed);
  EXPECT_EQ(clear_bounces({S::kHardBounce, 3}, S::kComplaint), (AddressState{S::kComplaint, 0}));
  EXPECT_EQ(clear_bounces({S::kHardBounce, 3}), (AddressState{S::kUnverified, 0}));
}

TEST(ApplyEvent, CorruptStoredCountNeitherOverflowsNorGoesNegative) {
  EXPECT_EQ(apply_event({S::kSoftBounce, 2'147'483'647}, kSoft), (AddressState{S::kHardBounce, 3}));
  EXPECT_EQ(apply_event({S::kSoftBounce, -7}, kSoft), (AddressState{S::kSoftBounce, 1}));
}

TEST(ApplyEvent, FromAParsedReport) {
  // The end-to-end shape the sender will use: a DSN with one failed and one delivered recipient.
  Result<std::vector<Bounce>> bounces = parse_dsn(
      "From: MAILER-DAEMON@relay.example\n"
      "Content-Type: multipart/report; report-type=delivery-status; boundary=b\n"
      "\n"
      "--b\n"
      "Content-Type: message/delivery-status\n"
      "\n"
      "Reporting-MTA: dns; relay.example\n"
      "\n"
      "Final-Recipient: rfc822; gone@example.org\n"
      "Action: failed\n"
      "Status: 5.1.1\n"
      "\n"
      "Final-Recipient: rfc822; here@example.org\n"
      "Action: delivered\n"
      "Status: 2.0.0\n"
      "--b--\n");
  ASSERT_TRUE(bounces.has_value());
  ASSERT_EQ(bounces->size(), 2u);
  EXPECT_EQ(apply_event({S::kSoftBounce, 2}, (*bounces)[0]), (AddressState{S::kHardBounce, 2}));
  EXPECT_EQ(apply_event({S::kSoftBounce, 2}, (*bounces)[1]), (AddressState{S::kValid, 0}));
}

TEST(AddressStatusNames, RoundTrip) {
  for (S s : {S::kUnverified, S::kValid, S::kSoftBounce, S::kHardBounce, S::kComplaint, S::kUnsubscribed})
    EXPECT_EQ(parse_address_status(address_status_name(s)), s);
  EXPECT_EQ(address_status_name(S::kHardBounce), "hard_bounce");
  Result<AddressStatus> bad = parse_address_status("npai", "email_status");
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code, Code::kInvalidArgument);
  EXPECT_EQ(bad.error().field, "email_status");
}

}  // namespace
}  // namespace fidelis::bounces

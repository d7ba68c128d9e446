// The classifier table: RFC 3463 codes, diagnostics without codes, actions.

#include <gtest/gtest.h>

#include "bounces/bounces.h"
#include "bounces/bounces_internal.h"

namespace fidelis::bounces {
namespace {

struct Case {
  std::string_view status;
  std::string_view diagnostic;
  std::string_view action;
  Kind kind;
  Reason reason;
};

void PrintTo(const Case& c, std::ostream* os) {
  *os << "{\"" << c.status << "\", \"" << c.diagnostic << "\", \"" << c.action << "\"}";
}

class ClassifyTable : public ::testing::TestWithParam<Case> {};

TEST_P(ClassifyTable, KindAndReason) {
  const Case& c = GetParam();
  Classification got = classify_detailed(c.status, c.diagnostic, c.action);
  EXPECT_EQ(kind_name(got.kind), kind_name(c.kind));
  EXPECT_EQ(reason_name(got.reason), reason_name(c.reason));
  EXPECT_EQ(classify(c.status, c.diagnostic, c.action), c.kind);
}

INSTANTIATE_TEST_SUITE_P(
    EnhancedCodes, ClassifyTable,
    ::testing::Values(
        Case{"5.1.1", "", "failed", Kind::kHard, Reason::kMailboxUnknown},
        Case{"5.1.1 (bad destination mailbox address)", "", "Failed", Kind::kHard, Reason::kMailboxUnknown},
        Case{"5.1.2", "", "failed", Kind::kHard, Reason::kDomainUnknown},
        Case{"5.1.3", "", "failed", Kind::kHard, Reason::kMailboxUnknown},
        Case{"5.1.6", "mailbox has moved", "failed", Kind::kHard, Reason::kMailboxUnknown},
        Case{"5.1.10", "550 5.1.10 Recipient address has null MX", "failed", Kind::kHard, Reason::kDomainUnknown},
        Case{"5.1.10", "550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup",
             "failed", Kind::kHard, Reason::kMailboxUnknown},
        Case{"5.2.1", "", "failed", Kind::kHard, Reason::kMailboxDisabled},
        Case{"5.2.2", "", "failed", Kind::kSoft, Reason::kMailboxFull},
        Case{"5.2.3", "", "failed", Kind::kSoft, Reason::kMessageTooLarge},
        Case{"5.3.4", "", "failed", Kind::kSoft, Reason::kMessageTooLarge},
        Case{"5.4.4", "Host or domain name not found", "failed", Kind::kHard, Reason::kDomainUnknown},
        Case{"5.4.7", "delivery time expired", "failed", Kind::kSoft, Reason::kTemporary},
        Case{"5.5.0", "", "failed", Kind::kSoft, Reason::kSystem},
        Case{"5.6.0", "message content rejected", "failed", Kind::kSoft, Reason::kPolicy},
        // The sender's address was refused, not the recipient's: "Domain not found" is about us.
        Case{"5.1.8", "<bounces@boutique.example>: Sender address rejected: Domain not found", "failed",
             Kind::kSoft, Reason::kPolicy},
        // 5.7.x is policy, not the address's fault...
        Case{"5.7.1", "Service unavailable; Client host [198.51.100.10] blocked using zen.spamhaus.org", "failed",
             Kind::kSoft, Reason::kPolicy},
        Case{"5.7.1", "<a@b.example>: Recipient address rejected: Access denied", "failed", Kind::kSoft,
             Reason::kPolicy},
        Case{"5.7.1", "", "failed", Kind::kSoft, Reason::kPolicy},
        // ...unless the text says the user is unknown.
        Case{"5.7.1", "550 5.7.1 <a@b.example>: user unknown", "failed", Kind::kHard, Reason::kMailboxUnknown},
        Case{"5.7.1", "mailbox unavailable", "failed", Kind::kSoft, Reason::kPolicy},  // weak words do not override
        Case{"5.7.13", "user account disabled", "failed", Kind::kHard, Reason::kMailboxDisabled},
        // Generic codes: the diagnostic decides.
        Case{"5.0.0", "", "failed", Kind::kSoft, Reason::kOther},
        Case{"5.0.0", "550 5.1.1 <a@b.example>... User unknown", "failed", Kind::kHard, Reason::kMailboxUnknown},
        Case{"5.0.0", "Requested action not taken: mailbox unavailable", "failed", Kind::kHard,
             Reason::kMailboxUnknown},
        Case{"5.2.0", "Mailbox full", "failed", Kind::kSoft, Reason::kMailboxFull},
        Case{"5.1.0", "Address rejected", "failed", Kind::kHard, Reason::kMailboxUnknown},
        // Class 4: never final.
        Case{"4.2.2", "", "delayed", Kind::kSoft, Reason::kMailboxFull},
        Case{"4.2.2", "", "failed", Kind::kSoft, Reason::kMailboxFull},
        Case{"4.1.1", "", "failed", Kind::kSoft, Reason::kMailboxUnknown},
        Case{"4.4.1", "connection timed out", "delayed", Kind::kSoft, Reason::kTemporary},
        Case{"4.7.1", "Greylisted, please try again in 300 seconds", "delayed", Kind::kSoft, Reason::kTemporary},
        Case{"4.7.0", "", "delayed", Kind::kSoft, Reason::kPolicy},
        // Action wins over the code.
        Case{"5.1.1", "", "delayed", Kind::kSoft, Reason::kMailboxUnknown},
        Case{"2.0.0", "", "delivered", Kind::kNotABounce, Reason::kNone},
        Case{"2.0.0", "", "", Kind::kNotABounce, Reason::kNone},
        Case{"", "", "relayed", Kind::kNotABounce, Reason::kNone},
        Case{"", "", "expanded", Kind::kNotABounce, Reason::kNone},
        Case{"5.1.1", "", "delivered", Kind::kNotABounce, Reason::kNone}));

INSTANTIATE_TEST_SUITE_P(
    DiagnosticsWithoutEnhancedCodes, ClassifyTable,
    ::testing::Values(
        Case{"", "550 user unknown", "failed", Kind::kHard, Reason::kMailboxUnknown},
        Case{"", "550 No such user here", "", Kind::kHard, Reason::kMailboxUnknown},
        Case{"550", "Requested action not taken: mailbox unavailable", "failed", Kind::kHard,
             Reason::kMailboxUnknown},
        Case{"", "550 <a@b.example>: Recipient address rejected", "failed", Kind::kHard, Reason::kMailboxUnknown},
        Case{"", "550 The mailbox a@b.example does not exist", "failed", Kind::kHard, Reason::kMailboxUnknown},
        Case{"", "550 Adresse inconnue", "failed", Kind::kHard, Reason::kMailboxUnknown},
        Case{"", "550 L'adresse n'existe pas", "failed", Kind::kHard, Reason::kMailboxUnknown},
        Case{"", "550 unknown domain", "failed", Kind::kHard, Reason::kDomainUnknown},
        Case{"", "554 delivery error: dd This user doesn't have a yahoo.example account (a@yahoo.example) [0]",
             "failed", Kind::kHard, Reason::kMailboxUnknown},
        Case{"", "554 This account has been disabled or discontinued", "failed", Kind::kHard,
             Reason::kMailboxDisabled},
        Case{"", "552 Boîte pleine", "failed", Kind::kSoft, Reason::kMailboxFull},
        Case{"", "552 BOÎTE AUX LETTRES PLEINE", "failed", Kind::kSoft, Reason::kMailboxFull},
        Case{"", "452 Quota exceeded", "failed", Kind::kSoft, Reason::kMailboxFull},
        Case{"", "552 Message size exceeds fixed maximum message size", "failed", Kind::kSoft,
             Reason::kMessageTooLarge},
        Case{"", "421 Too many connections, try again later", "", Kind::kSoft, Reason::kTemporary},
        Case{"", "550 Message rejected as spam", "failed", Kind::kSoft, Reason::kPolicy},
        Case{"", "554 rejected: listed on bl.spamcop.net", "failed", Kind::kSoft, Reason::kPolicy},
        Case{"", "Mailbox temporarily disabled", "failed", Kind::kSoft, Reason::kTemporary},
        Case{"", "", "delayed", Kind::kSoft, Reason::kOther},
        Case{"", "", "failed", Kind::kSoft, Reason::kOther},
        Case{"", "something went wrong", "failed", Kind::kSoft, Reason::kOther}));

TEST(FindStatusCode, PrefersTheCodeAfterAReplyCode) {
  // Exim's version number and an IP address both look like codes; the one after "550" is real.
  std::optional<internal::StatusCode> code =
      internal::find_status_code("Exim 4.94.2 host [10.4.2.2]: 550 5.7.1 relay denied");
  ASSERT_TRUE(code.has_value());
  EXPECT_EQ(code->text, "5.7.1");
  EXPECT_EQ(code->klass, 5);
  EXPECT_EQ(code->subject, 7);
  EXPECT_EQ(code->detail, 1);
}

TEST(FindStatusCode, IgnoresFragmentsOfAddressesAndLongNumbers) {
  EXPECT_FALSE(internal::find_status_code("host 10.4.2.2 refused").has_value());
  EXPECT_FALSE(internal::find_status_code("version 5.1.1.4").has_value());
  EXPECT_FALSE(internal::find_status_code("5.1.1000").has_value());
  EXPECT_FALSE(internal::find_status_code("3.1.1 and 6.0.0").has_value());
  EXPECT_EQ(internal::find_status_code("(5.1.10)")->text, "5.1.10");
  EXPECT_EQ(internal::find_status_code("550-5.1.1 The email account")->text, "5.1.1");
}

TEST(FindReplyCode, StandsAlone) {
  EXPECT_EQ(internal::find_reply_code("said: 550 no"), 550);
  EXPECT_EQ(internal::find_reply_code("552-too big"), 552);
  EXPECT_EQ(internal::find_reply_code("451"), 451);
  EXPECT_FALSE(internal::find_reply_code("order 5501 and 10.550.1").has_value());
  EXPECT_FALSE(internal::find_reply_code("HTTP 350 ok").has_value());
}

TEST(Names, AreStable) {
  EXPECT_EQ(kind_name(Kind::kHard), "hard");
  EXPECT_EQ(kind_name(Kind::kNotABounce), "not_a_bounce");
  EXPECT_EQ(reason_name(Reason::kMailboxUnknown), "mailbox_unknown");
  EXPECT_EQ(reason_name(Reason::kMessageTooLarge), "message_too_large");
  EXPECT_EQ(action_name(Action::kDelayed), "delayed");
  EXPECT_EQ(parse_action(" Failed (bad mailbox)"), Action::kFailed);
  EXPECT_EQ(parse_action("EXPANDED"), Action::kExpanded);
  EXPECT_FALSE(parse_action("bounced").has_value());
  EXPECT_FALSE(parse_action("").has_value());
}

}  // namespace
}  // namespace fidelis::bounces

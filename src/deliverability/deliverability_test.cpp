// E-mail statuses, NPAI rates per source and import, the alert, on both drivers.

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <sstream>

#include <fmt/format.h>

#include "customers/customers.h"
#include "deliverability/deliverability.h"
#include "storage/test_db.h"

namespace fidelis::deliverability {
namespace {

bounces::Bounce event(std::string email, bounces::Kind kind, std::string code = "5.1.1") {
  bounces::Bounce b;
  b.recipient = std::move(email);
  b.kind = kind;
  b.status_code = std::move(code);
  b.reason = kind == bounces::Kind::kHard ? bounces::Reason::kMailboxUnknown : bounces::Reason::kMailboxFull;
  b.action = kind == bounces::Kind::kNotABounce ? bounces::Action::kDelivered : bounces::Action::kFailed;
  return b;
}

class DeliverabilityTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    t_ = storage::testing::make_test_db(GetParam());
    if (!t_.skipped.empty()) GTEST_SKIP() << t_.skipped;
    svc_ = std::make_unique<DeliverabilityService>(*t_.db, clock_, Options{3, 0.04, 10});
  }
  storage::testing::TestDb t_;
  FakeClock clock_;
  std::unique_ptr<DeliverabilityService> svc_;
  audit::Actor actor_ = audit::Actor::cli("test");
};

TEST_P(DeliverabilityTest, StatusesFollowBouncesAndDeliveries) {
  ASSERT_TRUE(svc_->record({event("Jean@Exemple.fr", bounces::Kind::kHard)}, "webhook", actor_));
  auto s = svc_->status("jean@exemple.fr");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->status, bounces::AddressStatus::kHardBounce);
  EXPECT_FALSE(*svc_->sendable("jean@exemple.fr"));
  for (int i = 0; i < 2; ++i) ASSERT_TRUE(svc_->record({event("soft@exemple.fr", bounces::Kind::kSoft, "4.2.2")}, "dsn", actor_));
  EXPECT_EQ(svc_->status("soft@exemple.fr")->status, bounces::AddressStatus::kSoftBounce);
  EXPECT_EQ(svc_->status("soft@exemple.fr")->soft_count, 2);
  EXPECT_TRUE(*svc_->sendable("soft@exemple.fr"));
  ASSERT_TRUE(svc_->record({event("soft@exemple.fr", bounces::Kind::kSoft, "4.2.2")}, "dsn", actor_));
  EXPECT_EQ(svc_->status("soft@exemple.fr")->status, bounces::AddressStatus::kHardBounce);  // third in a row
  ASSERT_TRUE(svc_->clear("soft@exemple.fr", actor_));
  EXPECT_TRUE(*svc_->sendable("soft@exemple.fr"));
  ASSERT_TRUE(svc_->record({event("ok@exemple.fr", bounces::Kind::kNotABounce, "2.0.0")}, "webhook", actor_));
  EXPECT_EQ(svc_->status("ok@exemple.fr")->status, bounces::AddressStatus::kValid);
  EXPECT_EQ(svc_->status("not-an-email").error().field, "email");
}

TEST_P(DeliverabilityTest, AnUnsubscribeOrAComplaintWithdrawsMarketingEmailConsents) {
  customers::CustomerService customers(*t_.db, clock_);
  auto make = [&](std::string email) {
    customers::CustomerInput in;
    in.last_name = "Faure";
    in.emails = std::vector<customers::EmailAddress>{{email, ""}};
    in.consents = std::vector<customers::Consent>{
        {customers::Channel::kEmail, customers::Purpose::kNewsletter, true, "web-form", 0},
        {customers::Channel::kEmail, customers::Purpose::kService, true, "web-form", 0}};
    auto c = customers.create(in, actor_);
    EXPECT_TRUE(c) << c.error().message;
    return c->id;
  };
  const int64_t david = make("david@exemple.fr"), emma = make("emma@exemple.fr");
  clock_.advance(1000);
  ASSERT_TRUE(svc_->record({event("David@exemple.fr", bounces::Kind::kUnsubscribe, "")}, "webhook", actor_));
  ASSERT_TRUE(svc_->record({event("emma@exemple.fr", bounces::Kind::kComplaint, "")}, "webhook", actor_));
  for (int64_t id : {david, emma}) {
    auto c = customers.get(id);
    ASSERT_TRUE(c);
    std::map<std::string, std::pair<bool, std::string>> got;
    for (const auto& k : c->consents) got[std::string(customers::purpose_name(k.purpose))] = {k.granted, k.source};
    EXPECT_FALSE(got["newsletter"].first);
    EXPECT_FALSE(got["offers"].first);
    EXPECT_TRUE(got["service"].first);  // order confirmations still go
    EXPECT_EQ(got["newsletter"].second, id == david ? "webhook-unsubscribe" : "webhook-complaint");
  }
  // Said again: nothing new (no version, no history entry).
  const int64_t version = customers.get(david)->version;
  ASSERT_TRUE(svc_->record({event("david@exemple.fr", bounces::Kind::kUnsubscribe, "")}, "webhook", actor_));
  EXPECT_EQ(customers.get(david)->version, version);
}

// A dead mailbox is NPAI whether or not its owner unsubscribed: it counts in the rate and gets no
// mail; clearing the bounce gives the unsubscription back.
TEST_P(DeliverabilityTest, AnUnsubscribedAddressThatBouncesIsNpai) {
  const std::string a = "zz1@exemple.fr", b = "f.martin@free.fr";
  ASSERT_TRUE(svc_->record({event(a, bounces::Kind::kUnsubscribe, ""), event(a, bounces::Kind::kHard, "5.1.1")}, "webhook",
                           actor_));
  auto s = svc_->status(a);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->status, bounces::AddressStatus::kHardBounce);
  EXPECT_EQ(s->last_code, "5.1.1");
  EXPECT_EQ(svc_->why_unsendable(a)->value_or(""), "the address is NPAI (hard bounce 5.1.1)");
  // NPAI by three soft bounces, then unsubscribed: still NPAI, and said so.
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(svc_->record({event(b, bounces::Kind::kSoft, "4.2.2")}, "dsn", actor_));
  ASSERT_TRUE(svc_->record({event(b, bounces::Kind::kUnsubscribe, "")}, "webhook", actor_));
  EXPECT_EQ(svc_->status(b)->status, bounces::AddressStatus::kHardBounce);
  EXPECT_EQ(svc_->why_unsendable(b)->value_or(""), "the address is NPAI (3 soft bounces in a row, last 4.2.2)");
  auto rates = svc_->rates();
  ASSERT_TRUE(rates);
  EXPECT_EQ(rates->overall.sent, 2);
  EXPECT_EQ(rates->overall.hard, 2);
  // Cleared: back to the unsubscription, which transactional mail passes and campaigns skip.
  ASSERT_TRUE(svc_->clear(a, actor_));
  EXPECT_EQ(svc_->status(a)->status, bounces::AddressStatus::kUnsubscribed);
  EXPECT_FALSE(*svc_->sendable(a));
  EXPECT_FALSE(svc_->why_unsendable(a)->has_value());
  // A complaint, then a hard bounce: NPAI too, and cleared back to the complaint.
  ASSERT_TRUE(svc_->record({event("plainte@exemple.fr", bounces::Kind::kComplaint, ""),
                            event("plainte@exemple.fr", bounces::Kind::kHard, "5.1.1")},
                           "webhook", actor_));
  EXPECT_EQ(svc_->status("plainte@exemple.fr")->status, bounces::AddressStatus::kHardBounce);
  ASSERT_TRUE(svc_->clear("plainte@exemple.fr", actor_));
  EXPECT_EQ(svc_->status("plainte@exemple.fr")->status, bounces::AddressStatus::kComplaint);
  // An address never unsubscribed is cleared to unverified.
  ASSERT_TRUE(svc_->record({event("autre@exemple.fr", bounces::Kind::kHard, "5.1.1")}, "webhook", actor_));
  ASSERT_TRUE(svc_->clear("autre@exemple.fr", actor_));
  EXPECT_EQ(svc_->status("autre@exemple.fr")->status, bounces::AddressStatus::kUnverified);
}

TEST_P(DeliverabilityTest, LateDeliveriesAndRetriesOfOneMessageMoveNothing) {
  // Three reports of one message's retries are one soft bounce, not an NPAI.
  for (int i = 0; i < 3; ++i) {
    bounces::Bounce b = event("retry@exemple.fr", bounces::Kind::kSoft, "4.2.2");
    b.message_id = "<m1@fidelis>";
    ASSERT_TRUE(svc_->record({b}, "webhook", actor_));
  }
  EXPECT_EQ(svc_->status("retry@exemple.fr")->status, bounces::AddressStatus::kSoftBounce);
  EXPECT_EQ(svc_->status("retry@exemple.fr")->soft_count, 1);
  bounces::Bounce other = event("retry@exemple.fr", bounces::Kind::kSoft, "4.2.2");
  other.message_id = "<m2@fidelis>";
  ASSERT_TRUE(svc_->record({other}, "webhook", actor_));
  EXPECT_EQ(svc_->status("retry@exemple.fr")->soft_count, 2);

  // A delivery reported after a newer bounce, but dated before it, does not clear it.
  bounces::Bounce soft = event("late@exemple.fr", bounces::Kind::kSoft, "4.2.2");
  soft.at_ms = 2'000'000;
  ASSERT_TRUE(svc_->record({soft}, "webhook", actor_));
  bounces::Bounce delivered = event("late@exemple.fr", bounces::Kind::kNotABounce, "2.0.0");
  delivered.at_ms = 1'000'000;
  ASSERT_TRUE(svc_->record({delivered}, "webhook", actor_));
  EXPECT_EQ(svc_->status("late@exemple.fr")->status, bounces::AddressStatus::kSoftBounce);
  delivered.at_ms = 3'000'000;  // a later one does
  ASSERT_TRUE(svc_->record({delivered}, "webhook", actor_));
  EXPECT_EQ(svc_->status("late@exemple.fr")->status, bounces::AddressStatus::kValid);

  // A provider clock in the future counts as now: it does not freeze the address.
  bounces::Bounce future = event("future@exemple.fr", bounces::Kind::kSoft, "4.2.2");
  future.at_ms = clock_.now() + 100LL * 365 * 86'400'000;
  ASSERT_TRUE(svc_->record({future}, "webhook", actor_));
  clock_.advance(1000);
  ASSERT_TRUE(svc_->record({event("future@exemple.fr", bounces::Kind::kNotABounce, "2.0.0")}, "webhook", actor_));
  EXPECT_EQ(svc_->status("future@exemple.fr")->status, bounces::AddressStatus::kValid);
}

TEST_P(DeliverabilityTest, RatesBySourceAndTheAlert) {
  customers::CustomerService customers(*t_.db, clock_);
  // 20 customers' addresses from "salon" and 20 from "web"; 3 salon addresses bounce hard. A
  // re-read of the base's own export ("export") names all 40 but brought no address: not charged.
  std::vector<bounces::Bounce> events;
  for (int i = 0; i < 40; ++i) {
    std::string source = i < 20 ? "salon" : "web";
    customers::CustomerInput in;
    in.last_name = "Client";
    in.emails = std::vector<customers::EmailAddress>{{fmt::format("c{}@exemple.fr", i), ""}};
    auto c = customers.create(in, actor_);
    ASSERT_TRUE(c);
    ASSERT_TRUE(t_.db->transact([&](storage::Tx& tx) -> Status {
      for (const std::string& named : {source, std::string("export")}) {
        storage::Value s[] = {named, int64_t{50}, int64_t{0}};
        FIDELIS_RETURN_IF_ERROR(
            tx.exec("INSERT INTO sources (name, priority, created_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING", s));
        storage::Value imp[] = {named, std::string("f.csv"), std::string("p"), std::string("fp") + named};
        FIDELIS_RETURN_IF_ERROR(tx.exec(
            "INSERT INTO imports (source, file_name, path, fingerprint, file_size, encoding, delimiter, options, status, "
            "started_at, updated_at) SELECT $1, $2, $3, $4, 0, 'UTF-8', ',', '', 'done', 0, 0 WHERE NOT EXISTS "
            "(SELECT 1 FROM imports WHERE fingerprint = $4)",
            imp));
        storage::Value p[] = {c->id, named, std::string("fp") + named};
        FIDELIS_RETURN_IF_ERROR(tx.exec(
            "INSERT INTO customer_provenance (customer_id, import_id, line, source, at) SELECT $1, id, 1, $2, 0 FROM imports "
            "WHERE fingerprint = $3",
            p));
      }
      storage::Value brought[] = {c->id, std::string("fp") + source};
      FIDELIS_RETURN_IF_ERROR(tx.exec(
          "UPDATE customer_emails SET import_id = (SELECT id FROM imports WHERE fingerprint = $2) WHERE customer_id = $1",
          brought));
      return ok();
    }));
    events.push_back(event(fmt::format("c{}@exemple.fr", i), i < 3 ? bounces::Kind::kHard : bounces::Kind::kNotABounce, i < 3 ? "5.1.1" : "2.0.0"));
  }
  ASSERT_TRUE(svc_->record(events, "webhook", actor_));
  auto r = svc_->rates();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->overall.sent, 40);
  EXPECT_EQ(r->overall.hard, 3);
  EXPECT_DOUBLE_EQ(r->overall.rate, 0.075);
  ASSERT_EQ(r->by_source.size(), 2u);
  EXPECT_EQ(r->by_source[0].key, "salon");
  EXPECT_DOUBLE_EQ(r->by_source[0].rate, 0.15);
  EXPECT_DOUBLE_EQ(r->by_source[1].rate, 0.0);
  EXPECT_EQ(r->by_import.size(), 2u);
  EXPECT_TRUE(r->alert);
  EXPECT_TRUE(svc_->alert_on());
  auto alerts = t_.db->one("SELECT COUNT(*) FROM outbox_events WHERE type = 'npai.alert'");
  EXPECT_EQ((*alerts)->i64(0), 1);
}

TEST_P(DeliverabilityTest, EventsThatMoveNothingKeepTheBounceThatMadeTheAddressNpai) {
  bounces::Bounce hard = event("npai@exemple.fr", bounces::Kind::kHard, "5.1.1");
  hard.at_ms = 1'000'000;
  clock_.set(2'000'000);
  ASSERT_TRUE(svc_->record({hard}, "webhook", actor_));
  const Millis changed = svc_->status("npai@exemple.fr")->updated_at;
  clock_.set(3'000'000);
  // A delivery (from a catch-all, say), a delay warning and a late soft bounce: recorded, no move.
  bounces::Bounce delivered = event("npai@exemple.fr", bounces::Kind::kNotABounce, "2.0.0");
  bounces::Bounce delayed = event("npai@exemple.fr", bounces::Kind::kSoft, "4.4.1");
  delayed.action = bounces::Action::kDelayed;
  ASSERT_TRUE(svc_->record({delivered, delayed}, "dsn", actor_));
  auto s = svc_->status("npai@exemple.fr");
  EXPECT_EQ(s->status, bounces::AddressStatus::kHardBounce);
  EXPECT_EQ(s->last_code, "5.1.1");
  EXPECT_EQ(s->last_reason, "mailbox_unknown");
  EXPECT_EQ(s->updated_at, changed);
  auto events = t_.db->one("SELECT COUNT(*) FROM email_events WHERE email_key = 'npai@exemple.fr'");
  EXPECT_EQ((*events)->i64(0), 3);  // the history keeps all three

  // A delay warning for an address never sent to before does not make it count as sent to.
  bounces::Bounce only_delayed = event("late@exemple.fr", bounces::Kind::kSoft, "4.4.1");
  only_delayed.action = bounces::Action::kDelayed;
  ASSERT_TRUE(svc_->record({only_delayed}, "dsn", actor_));
  EXPECT_FALSE(svc_->status("late@exemple.fr")->sent);
  EXPECT_EQ(svc_->status("late@exemple.fr")->last_code, "");
  EXPECT_EQ(svc_->rates()->overall.sent, 1);
}

TEST_P(DeliverabilityTest, ClearingAnAddressRecomputesTheAlert) {
  // Options{3, 0.04, 10}: ten addresses sent to, one NPAI: 10 % raises the alert.
  std::vector<bounces::Bounce> events;
  for (int i = 0; i < 10; ++i)
    events.push_back(event(fmt::format("a{}@exemple.fr", i), i == 0 ? bounces::Kind::kHard : bounces::Kind::kNotABounce));
  ASSERT_TRUE(svc_->record(events, "webhook", actor_));
  EXPECT_TRUE(svc_->alert_on());
  ASSERT_TRUE(svc_->clear("a0@exemple.fr", actor_));
  EXPECT_FALSE(svc_->alert_on());  // without anyone asking for the rates
}

TEST_P(DeliverabilityTest, RawDsnEndToEnd) {
  std::ifstream in(std::string(FIDELIS_SOURCE_DIR) + "/src/bounces/testdata/postfix_5_1_1.eml", std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  auto parsed = bounces::parse_dsn(ss.str());
  ASSERT_TRUE(parsed) << parsed.error().message;
  ASSERT_TRUE(svc_->record(*parsed, "dsn", actor_));
  EXPECT_EQ(svc_->status((*parsed)[0].recipient)->status, bounces::AddressStatus::kHardBounce);
}

TEST_P(DeliverabilityTest, AcceptedBySmtpCountsAsSentAndLeavesTheStatus) {
  // Two soft bounces, then the relay accepts another message: still two, still soft.
  for (int i = 0; i < 2; ++i) ASSERT_TRUE(svc_->record({event("soft@exemple.fr", bounces::Kind::kSoft, "4.2.2")}, "dsn", actor_));
  ASSERT_TRUE(svc_->record_sent("soft@exemple.fr"));
  auto s = svc_->status("soft@exemple.fr");
  EXPECT_EQ(s->status, bounces::AddressStatus::kSoftBounce);
  EXPECT_EQ(s->soft_count, 2);
  ASSERT_TRUE(svc_->record_sent("Nouveau@Exemple.fr"));
  ASSERT_TRUE(svc_->record_sent("nouveau@exemple.fr"));  // twice: the same
  auto fresh = svc_->status("nouveau@exemple.fr");
  EXPECT_EQ(fresh->status, bounces::AddressStatus::kUnverified);
  EXPECT_TRUE(fresh->sent);
  EXPECT_EQ(svc_->rates()->overall.sent, 2);
  EXPECT_EQ(svc_->record_sent("pas une adresse").error().field, "email");
}

TEST_P(DeliverabilityTest, APostalFlagFromBeforeAddressesWereKeptStillApplies) {
  customers::CustomerService customers(*t_.db, clock_);
  customers::CustomerInput in;
  in.last_name = "Garnier";
  in.address = customers::Address{"3 place Bellecour", std::nullopt, "69002", "Lyon", "FR"};
  auto c = customers.create(in, actor_);
  ASSERT_TRUE(c) << c.error().message;
  ASSERT_TRUE(svc_->flag_postal_npai(c->id, "", actor_));
  storage::Value id[] = {c->id};
  ASSERT_TRUE(t_.db->exec("UPDATE postal_npai SET address_key = '' WHERE customer_id = $1", id));
  auto flag = svc_->postal_npai(c->id);
  ASSERT_TRUE(flag) << flag.error().message;
  EXPECT_TRUE(flag->npai);
  EXPECT_FALSE(flag->address_changed);
  EXPECT_EQ(flag->reason, "returned mail");
}

TEST_P(DeliverabilityTest, PostalFlagsNeedAnAddressAndAShortPlainReason) {
  customers::CustomerService customers(*t_.db, clock_);
  customers::CustomerInput in;
  in.last_name = "Sans Adresse";
  in.address = customers::Address{std::nullopt, std::nullopt, std::nullopt, std::nullopt, "FR"};  // a country is no address
  auto none = customers.create(in, actor_);
  ASSERT_TRUE(none) << none.error().message;
  auto refused = svc_->flag_postal_npai(none->id, "", actor_);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, Code::kConflict);
  EXPECT_EQ(refused.error().field, "address");
  EXPECT_FALSE(svc_->postal_npai(none->id)->npai);

  in.last_name = "Garnier";
  in.address = customers::Address{"3 place Bellecour", std::nullopt, "69002", "Lyon", "FR"};
  auto c = customers.create(in, actor_);
  ASSERT_TRUE(c) << c.error().message;
  std::string longest;
  for (int i = 0; i < 500; ++i) longest += "é";
  EXPECT_EQ(svc_->flag_postal_npai(c->id, longest + "e", actor_).error().field, "reason");
  for (std::string bad : {std::string("retour\0", 7), std::string("retour\nà l'expéditeur"), std::string("a\tb"),
                          std::string("a\xC2\x9F")})
    EXPECT_EQ(svc_->flag_postal_npai(c->id, bad, actor_).error().field, "reason");
  EXPECT_FALSE(svc_->postal_npai(c->id)->npai);
  ASSERT_TRUE(svc_->flag_postal_npai(c->id, longest, actor_));  // 500 characters, 1000 bytes
  EXPECT_EQ(svc_->postal_npai(c->id)->reason, longest);

  // Clearing writes one audit entry for the flag it removes, none when there is no flag.
  auto cleared = [&] {
    auto page = audit::list(*t_.db, {.entity = "customer", .entity_id = std::to_string(c->id), .limit = 500});
    EXPECT_TRUE(page);
    return std::count_if(page->items.begin(), page->items.end(),
                         [](const audit::Entry& e) { return e.change.action == "postal.npai_cleared"; });
  };
  ASSERT_TRUE(svc_->clear_postal_npai(c->id, actor_));
  EXPECT_EQ(cleared(), 1);
  ASSERT_TRUE(svc_->clear_postal_npai(c->id, actor_));
  ASSERT_TRUE(svc_->clear_postal_npai(c->id, actor_));
  EXPECT_EQ(cleared(), 1);
  EXPECT_EQ(svc_->clear_postal_npai(999999, actor_).error().code, Code::kNotFound);
}

INSTANTIATE_TEST_SUITE_P(Drivers, DeliverabilityTest, ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace fidelis::deliverability

// Interactions and the timeline on both drivers: CRUD and validation, the merge of kinds, newest
// first, cursor pages that neither skip nor repeat, filters, the CSV import with rejects.

#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "storage/test_db.h"
#include "timeline/timeline.h"
#include "tracking/tracking.h"

namespace fidelis::timeline {
namespace {

constexpr Millis kHour = 3'600'000;

class TimelineTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    t_ = storage::testing::make_test_db(GetParam());
    if (!t_.skipped.empty()) GTEST_SKIP() << t_.skipped;
    clock_.set(1'750'000'000'000);
    interactions_ = std::make_unique<InteractionService>(*t_.db, clock_);
    timeline_ = std::make_unique<TimelineService>(*t_.db);
    customer_ = new_customer("Martin");
  }
  int64_t new_customer(const std::string& name) {
    storage::Value p[] = {name, clock_.now()};
    auto r = t_.db->one("INSERT INTO customers (last_name, created_at, updated_at, version) VALUES ($1, $2, $2, 1) RETURNING id", p);
    return (*r)->i64(0);
  }
  Interaction add(std::string channel, Millis at, std::string subject = "s") {
    auto r = interactions_->create({.customer_id = customer_, .channel = channel, .direction = "inbound", .at = at,
                                    .subject = subject},
                                   actor_);
    EXPECT_TRUE(r) << r.error().message;
    return *r;
  }
  storage::testing::TestDb t_;
  FakeClock clock_;
  std::unique_ptr<InteractionService> interactions_;
  std::unique_ptr<TimelineService> timeline_;
  int64_t customer_ = 0;
  audit::Actor actor_ = audit::Actor::cli("test");
};

TEST_P(TimelineTest, InteractionsValidateAndVersion) {
  auto bad = [&](InteractionInput in) { return interactions_->create(in, actor_).error().field; };
  EXPECT_EQ(bad({.customer_id = customer_, .channel = "pigeon", .direction = "inbound"}), "channel");
  EXPECT_EQ(bad({.customer_id = customer_, .channel = "call", .direction = "sideways"}), "direction");
  EXPECT_EQ(bad({.customer_id = customer_, .direction = "inbound"}), "channel");
  EXPECT_EQ(bad({.channel = "call", .direction = "inbound"}), "customer_id");
  EXPECT_EQ(bad({.customer_id = 999999, .channel = "call", .direction = "inbound"}), "customer_id");
  EXPECT_EQ(bad({.customer_id = customer_, .channel = "call", .direction = "inbound", .agent_id = 999999}), "agent_id");
  EXPECT_EQ(bad({.customer_id = customer_, .channel = "call", .direction = "inbound", .subject = std::string(201, 'x')}),
            "subject");
  EXPECT_EQ(bad({.customer_id = customer_, .channel = "call", .direction = "inbound", .at = clock_.now() + 48 * kHour}), "at");

  auto i = interactions_->create({.customer_id = customer_, .channel = " Call ", .direction = "outbound",
                                  .subject = "Relance devis", .outcome = "rappel"},
                                 actor_);
  ASSERT_TRUE(i) << i.error().message;
  EXPECT_EQ(i->channel, "call");
  EXPECT_EQ(i->at, clock_.now());
  auto u = interactions_->update(i->id, 1, {.notes = "Client intéressé"}, actor_);
  ASSERT_TRUE(u) << u.error().message;
  EXPECT_EQ(u->version, 2);
  EXPECT_EQ(u->subject, "Relance devis");
  EXPECT_EQ(interactions_->update(i->id, 1, {.notes = "x"}, actor_).error().field, "If-Match");
  EXPECT_EQ(interactions_->list({.customer_id = customer_})->items.size(), 1u);
  ASSERT_TRUE(interactions_->remove(i->id, actor_));
  EXPECT_EQ(interactions_->get(i->id).error().code, Code::kNotFound);
  EXPECT_EQ(interactions_->remove(i->id, actor_).error().code, Code::kNotFound);
}

TEST_P(TimelineTest, MergesKindsNewestFirstWithFiltersAndStablePages) {
  Millis now = clock_.now();
  add("call", now - 5 * kHour, "appel");
  add("store_visit", now - 3 * kHour, "magasin");
  add("chat", now - 3 * kHour, "chat same time");  // ties broken by kind, then id
  storage::Value ce[] = {customer_, now - 4 * kHour};
  ASSERT_TRUE(t_.db->exec("INSERT INTO consent_events (customer_id, channel, purpose, granted, source, at) "
                          "VALUES ($1, 'email', 'marketing', 1, 'form', $2)",
                          ce));
  tracking::TrackingService tracking(*t_.db, clock_, {});
  tracking::Event e;
  e.visitor_id = "v";
  e.url = "https://shop.fr/?utm_medium=email";
  e.at = now - 2 * kHour;
  ASSERT_TRUE(tracking.ingest({e}));
  ASSERT_TRUE(tracking.identify("v", customer_, actor_));
  int64_t other = new_customer("Autre");
  ASSERT_TRUE(interactions_->create({.customer_id = other, .channel = "call", .direction = "inbound", .at = now}, actor_));

  auto all = timeline_->list({.customer_id = customer_});
  ASSERT_TRUE(all) << all.error().message;
  std::vector<std::string> kinds;
  for (const auto& it : all->items) kinds.push_back(it.kind + ":" + it.channel);
  EXPECT_EQ(kinds, (std::vector<std::string>{"web_session:web", "interaction:chat", "interaction:store_visit",
                                             "consent:email", "interaction:call"}));
  EXPECT_EQ(all->items[0].text1, "email");  // the visit's source
  EXPECT_EQ(all->items[0].number1, 1);      // page views
  EXPECT_FALSE(all->next);

  // Pages of two: the same items, in the same order, none repeated.
  std::vector<std::string> paged;
  std::optional<Cursor> cursor;
  for (int i = 0; i < 5; ++i) {
    auto p = timeline_->list({.customer_id = customer_, .cursor = cursor, .limit = 2});
    ASSERT_TRUE(p) << p.error().message;
    for (const auto& it : p->items) paged.push_back(it.kind + ":" + it.channel);
    cursor = p->next;
    if (!cursor) break;
    auto round = decode_cursor(encode_cursor(*cursor));
    ASSERT_TRUE(round);
    EXPECT_EQ(round->kind, cursor->kind);
  }
  EXPECT_EQ(paged, kinds);

  EXPECT_EQ(timeline_->list({.customer_id = customer_, .kinds = {"interaction"}})->items.size(), 3u);
  EXPECT_EQ(timeline_->list({.customer_id = customer_, .channel = "email"})->items.size(), 1u);  // the consent
  EXPECT_EQ(timeline_->list({.customer_id = customer_, .from = now - 4 * kHour, .to = now - 2 * kHour})->items.size(), 3u);
  EXPECT_EQ(timeline_->list({.customer_id = customer_, .kinds = {"parcel"}}).error().field, "kind");
  EXPECT_EQ(timeline_->list({.customer_id = 999999}).error().code, Code::kNotFound);
  EXPECT_EQ(decode_cursor("garbage!").error().field, "cursor");
}

TEST_P(TimelineTest, ImportsInteractionsAndReportsRejects) {
  storage::Value e[] = {customer_};
  ASSERT_TRUE(t_.db->exec("INSERT INTO customer_emails (customer_id, position, email, email_key, label) "
                          "VALUES ($1, 0, 'a@b.fr', 'a@b.fr', '')",
                          e));
  auto dir = std::filesystem::temp_directory_path() / ("fidelis-int-" + GetParam() + "-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  storage::testing::OnExit remove = storage::testing::removing(dir);
  auto path = (dir / "calls.csv").string();
  std::ofstream(path) << "customer_id,customer_email,channel,direction,at,subject,outcome\n"
                      << customer_ << ",,call,inbound,2025-06-01 10:00,Appel SAV,résolu\n"
                      << ",A@B.fr,letter,outbound,2025-06-02,Courrier,\n"
                      << customer_ << ",,fax,inbound,2025-06-02,Fax,\n"
                      << ",nobody@x.fr,call,inbound,2025-06-02,X,\n"
                      << customer_ << ",,call,inbound,yesterday,X,\n";
  auto r = import_interactions(*t_.db, clock_, path, actor_);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->rows, 5);
  EXPECT_EQ(r->imported, 2);
  ASSERT_EQ(r->rejects.size(), 3u);
  EXPECT_EQ(r->rejects[0].line, 4);
  EXPECT_EQ(r->rejects[0].field, "channel");
  EXPECT_EQ(r->rejects[1].field, "customer_email");
  EXPECT_EQ(r->rejects[2].field, "at");
  auto list = interactions_->list({.customer_id = customer_});
  ASSERT_EQ(list->items.size(), 2u);
  EXPECT_EQ(list->items[0].source, "import:calls.csv");
  EXPECT_EQ(format_iso8601(list->items[0].at), "2025-06-01T10:00:00.000Z");
  std::filesystem::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(Drivers, TimelineTest, ::testing::Values("sqlite", "postgres"));

}  // namespace
}  // namespace fidelis::timeline

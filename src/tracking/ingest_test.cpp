// Ingestion on both drivers: sessions cut at 30 minutes, sources, stitching that joins the
// anonymous history to the profile, counters kept per batch, validation, privacy options.

#include <gtest/gtest.h>

#include "storage/test_db.h"
#include "tracking/tracking.h"

namespace fidelis::tracking {
namespace {

constexpr Millis kMinute = 60'000;

class IngestTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    t_ = storage::testing::make_test_db(GetParam());
    if (!t_.skipped.empty()) GTEST_SKIP() << t_.skipped;
    clock_.set(1'750'000'000'000);
    svc_ = std::make_unique<TrackingService>(*t_.db, clock_, Options{});
  }
  int64_t new_customer(const std::string& name) {
    storage::Value p[] = {name, clock_.now()};
    auto r = t_.db->one("INSERT INTO customers (last_name, created_at, updated_at, version) VALUES ($1, $2, $2, 1) RETURNING id", p);
    EXPECT_TRUE(r && *r) << (r ? "" : r.error().message);
    return (*r)->i64(0);
  }
  Event page(std::string vid, Millis at, std::string url, std::string ref = "") {
    Event e;
    e.visitor_id = std::move(vid);
    e.type = EventType::kPageView;
    e.at = at;
    e.url = std::move(url);
    e.referrer = std::move(ref);
    return e;
  }
  int64_t count(const std::string& sql) { return (*t_.db->one(sql))->i64(0); }

  storage::testing::TestDb t_;
  FakeClock clock_;
  std::unique_ptr<TrackingService> svc_;
};

TEST_P(IngestTest, SessionsAreCutAfterThirtyMinutesAndClassified) {
  Millis t0 = clock_.now() - 3 * 3600 * 1000;
  std::vector<Event> batch = {
      page("v1", t0, "https://shop.fr/?utm_source=nl&utm_medium=email"),
      page("v1", t0 + 10 * kMinute, "https://shop.fr/jardin"),
      page("v1", t0 + 39 * kMinute, "https://shop.fr/tondeuses"),           // 29 min later: same visit
      page("v1", t0 + 70 * kMinute, "https://shop.fr/", "https://www.google.fr/"),  // 31 min later: a new visit
      page("v2", t0, "https://shop.fr/"),
  };
  Event product;
  product.visitor_id = "v1";
  product.type = EventType::kProductView;
  product.at = t0 + 71 * kMinute;
  product.sku = "TON-42";
  batch.push_back(product);
  auto r = svc_->ingest(batch);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->accepted, 6);
  EXPECT_EQ(r->sessions_started, 3);
  auto rows = t_.db->query("SELECT source, page_views, events, started_at, last_at FROM web_sessions WHERE visitor_id = 'v1' ORDER BY started_at");
  ASSERT_TRUE(rows);
  ASSERT_EQ(rows->rows.size(), 2u);
  EXPECT_EQ(rows->rows[0].str(0), "email");
  EXPECT_EQ(rows->rows[0].i64(1), 3);
  EXPECT_EQ(rows->rows[0].i64(4), t0 + 39 * kMinute);
  EXPECT_EQ(rows->rows[1].str(0), "search");
  EXPECT_EQ(rows->rows[1].i64(1), 1);
  EXPECT_EQ(rows->rows[1].i64(2), 2);
  // A later batch continues the open visit.
  ASSERT_TRUE(svc_->ingest({page("v1", t0 + 90 * kMinute, "https://shop.fr/panier")}));
  EXPECT_EQ(count("SELECT COUNT(*) FROM web_sessions WHERE visitor_id = 'v1'"), 2);
  EXPECT_EQ(count("SELECT COUNT(*) FROM web_events"), 7);
}

TEST_P(IngestTest, StitchingJoinsTheAnonymousHistoryAndCountersFollow) {
  int64_t c = new_customer("Martin");
  Millis t0 = clock_.now() - 5 * 3600 * 1000;
  ASSERT_TRUE(svc_->ingest({page("anon", t0, "https://shop.fr/", "https://t.co/x"),
                            page("anon", t0 + kMinute, "https://shop.fr/a"),
                            page("anon", t0 + 2 * 3600 * 1000, "https://shop.fr/?utm_medium=cpc")}));
  EXPECT_EQ(counters(*t_.db, c)->visits, 0);
  auto n = svc_->identify("anon", c, audit::Actor::cli("test"));
  ASSERT_TRUE(n) << n.error().message;
  EXPECT_EQ(*n, 3);
  EXPECT_EQ(count("SELECT COUNT(*) FROM web_events WHERE customer_id IS NULL"), 0);
  auto k = counters(*t_.db, c);
  ASSERT_TRUE(k) << k.error().message;
  EXPECT_EQ(k->visits, 2);
  EXPECT_EQ(k->page_views, 3);
  EXPECT_EQ(k->visits_by_source[static_cast<size_t>(Source::kSocial)], 1);
  EXPECT_EQ(k->visits_by_source[static_cast<size_t>(Source::kAds)], 1);
  EXPECT_EQ(k->last_source, "ads");
  EXPECT_EQ(*k->first_visit_at, t0);

  // Later events of the stitched visitor count at once, aggregated per batch.
  Millis t1 = clock_.now() - kMinute;
  ASSERT_TRUE(svc_->ingest({page("anon", t1 - 2 * kMinute, "https://shop.fr/", "https://www.bing.com/"),
                            page("anon", t1, "https://shop.fr/b")}));
  k = counters(*t_.db, c);
  EXPECT_EQ(k->visits, 3);
  EXPECT_EQ(k->page_views, 5);
  EXPECT_EQ(k->events, 5);
  EXPECT_EQ(k->last_source, "search");
  EXPECT_EQ(*k->last_visit_at, t1);
  EXPECT_EQ(count("SELECT COUNT(*) FROM web_events WHERE customer_id IS NULL"), 0);

  // A second device of the same customer adds its own row; the figures are the sum.
  ASSERT_TRUE(svc_->ingest({page("phone", t1, "https://shop.fr/")}));
  ASSERT_TRUE(svc_->identify("phone", c, audit::Actor::cli("test")));
  EXPECT_EQ(counters(*t_.db, c)->visits, 4);
  // Identifying again changes nothing.
  ASSERT_TRUE(svc_->identify("phone", c, audit::Actor::cli("test")));
  EXPECT_EQ(counters(*t_.db, c)->visits, 4);
  EXPECT_EQ(count("SELECT COUNT(*) FROM outbox_events WHERE type = 'web.visitor_stitched'"), 3);

  EXPECT_EQ(svc_->identify("anon", 999999, audit::Actor::cli("t")).error().field, "customer_id");
  EXPECT_EQ(svc_->identify("bad id", c, audit::Actor::cli("t")).error().field, "visitor_id");
}

TEST_P(IngestTest, ResolvesCustomersByIdExternalIdOrEmail) {
  int64_t c = new_customer("Durand");
  storage::Value e[] = {c, std::string("Marie@Example.fr"), std::string("marie@example.fr")};
  ASSERT_TRUE(t_.db->exec("INSERT INTO customer_emails (customer_id, position, email, email_key, label) VALUES ($1, 0, $2, $3, '')", e));
  storage::Value x[] = {c};
  ASSERT_TRUE(t_.db->exec("INSERT INTO customer_external_ids (customer_id, source, external_id) VALUES ($1, 'shop', 'U-77')", x));
  EXPECT_EQ(*svc_->resolve_customer(std::to_string(c), "shop", ""), c);
  EXPECT_EQ(*svc_->resolve_customer("U-77", "shop", ""), c);
  EXPECT_EQ(*svc_->resolve_customer("", "shop", " MARIE@example.fr "), c);
  EXPECT_FALSE(svc_->resolve_customer("U-78", "shop", "x@y.fr")->has_value());
}

TEST_P(IngestTest, ABadEventRejectsTheWholeBatchNamingIt) {
  Millis now = clock_.now();
  Event cart;
  cart.visitor_id = "v";
  cart.type = EventType::kCartAdd;
  cart.at = now;
  std::vector<Event> batch = {page("v", now, "https://shop.fr/"), cart};
  auto r = svc_->ingest(batch);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().field, "events[1].sku");
  EXPECT_EQ(count("SELECT COUNT(*) FROM web_events"), 0);
  EXPECT_EQ(svc_->ingest({page("v", now, "not a url")}).error().field, "events[0].url");
  EXPECT_EQ(svc_->ingest({page("v", now + 3600 * 1000, "https://s.fr/")}).error().field, "events[0].at");
  EXPECT_EQ(svc_->ingest({page("v", now - 8 * 24 * 3600 * 1000LL, "https://s.fr/")}).error().field, "events[0].at");
  EXPECT_EQ(svc_->ingest({}).error().field, "events");
  std::vector<Event> big(kMaxBatchEvents + 1, page("v", now, "https://s.fr/"));
  EXPECT_EQ(svc_->ingest(big).error().field, "events");
  EXPECT_EQ(parse_event_type("click", "type").error().field, "type");
  EXPECT_EQ(*parse_event_type("cart_remove", "type"), EventType::kCartRemove);
}

TEST_P(IngestTest, PrivacyOptionsDecideWhatMayBeStored) {
  TrackingService strict(*t_.db, clock_, {.require_consent = true, .honor_dnt = true});
  EXPECT_FALSE(strict.may_store({.do_not_track = false, .consent = false}));
  EXPECT_TRUE(strict.may_store({.do_not_track = false, .consent = true}));
  EXPECT_FALSE(strict.may_store({.do_not_track = true, .consent = true}));
  TrackingService lax(*t_.db, clock_, {.require_consent = false, .honor_dnt = false});
  EXPECT_TRUE(lax.may_store({.do_not_track = true, .consent = false}));
  EXPECT_FALSE(svc_->may_store({.do_not_track = true, .consent = true}));  // defaults honour DNT
  EXPECT_TRUE(svc_->may_store({.do_not_track = false, .consent = false}));
}

INSTANTIATE_TEST_SUITE_P(Drivers, IngestTest, ::testing::Values("sqlite", "postgres"));

}  // namespace
}  // namespace fidelis::tracking

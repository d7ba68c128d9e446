// The demo generator: plausible, valid, repeatable data on both drivers.

#include <gtest/gtest.h>

#include <set>

#include "core/email.h"
#include "customers/customers.h"
#include "storage/test_db.h"

namespace fidelis::customers {
namespace {

class DemoTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    t_ = storage::testing::make_test_db(GetParam());
    if (!t_.skipped.empty()) GTEST_SKIP() << t_.skipped;
    svc_ = std::make_unique<CustomerService>(*t_.db, clock_);
  }
  storage::testing::TestDb t_;
  FakeClock clock_;
  std::unique_ptr<CustomerService> svc_;
};

TEST_P(DemoTest, GeneratesValidFrenchCustomersAfterExistingOnes) {
  CustomerInput first;
  first.last_name = "Existant";
  auto existing = svc_->create(first, audit::Actor::cli("t"));
  ASSERT_TRUE(existing);
  auto stats = generate_demo(*t_.db, clock_, {.customers = 300, .seed = 7});
  ASSERT_TRUE(stats) << stats.error().message;
  EXPECT_EQ(stats->first_id, existing->id + 1);
  EXPECT_GT(stats->rows, 300 * 5);
  // Each address is stored with its mailbox key, where that differs, as a create stores it.
  auto rows = t_.db->query("SELECT email_key, mailbox_key FROM customer_emails");
  ASSERT_TRUE(rows);
  int keyed = 0;
  for (const auto& r : rows->rows) {
    const std::string mailbox = mailbox_key(r.str(0));
    EXPECT_EQ(r.is_null(1), mailbox == r.str(0)) << r.str(0);
    if (!r.is_null(1)) {
      EXPECT_EQ(r.str(1), mailbox);
    }
    keyed += !r.is_null(1);
  }
  EXPECT_GT(keyed, 0);  // the demo's dotted Gmail addresses

  std::set<std::string> emails;
  int with_children = 0, mobiles = 0;
  std::optional<int64_t> cursor;
  int seen = 0;
  do {
    auto page = svc_->list({.after_id = cursor, .limit = 100});
    ASSERT_TRUE(page);
    for (const Customer& c : page->items) {
      if (c.id == existing->id) continue;
      ++seen;
      ASSERT_TRUE(c.first_name && c.last_name && c.birth_date && c.address.postcode && c.address.city);
      EXPECT_EQ(c.address.postcode->size(), 5u);
      ASSERT_FALSE(c.emails.empty());
      EXPECT_TRUE(emails.insert(c.emails[0].email).second) << "duplicate " << c.emails[0].email;
      for (const EmailAddress& e : c.emails) {  // what an import of the demo's export would accept
        auto valid = normalize_email(e.email);
        EXPECT_TRUE(valid && *valid == e.email) << e.email;
      }
      ASSERT_FALSE(c.phones.empty());
      for (const Phone& p : c.phones) {
        Phone check = normalize_phone(p.raw);
        EXPECT_TRUE(check.valid) << p.raw;
        EXPECT_EQ(check.e164, p.e164);
        if (p.type == PhoneType::kMobile) ++mobiles;
      }
      EXPECT_GE(c.consents.size(), 3u);
      EXPECT_FALSE(c.affinities.empty());
      EXPECT_EQ(c.external_ids.size(), 1u);
      for (const auto& m : c.household)
        if (m.relation == "enfant") {
          ++with_children;
          EXPECT_GT(*m.birth_date, *c.birth_date);
        }
    }
    cursor = page->next_after_id;
  } while (cursor);
  EXPECT_EQ(seen, 300);
  // The stored documents say exactly what the tables say.
  for (int64_t id = stats->first_id; id <= stats->last_id; id += 37) {
    auto doc = svc_->get_document(id);
    auto full = svc_->get(id);
    ASSERT_TRUE(doc && full);
    EXPECT_EQ(doc->json, render_document(*full)) << id;
  }
  EXPECT_GT(with_children, 30);
  EXPECT_GT(mobiles, 150);
  auto history = svc_->consent_history(stats->first_id);
  ASSERT_TRUE(history);
  EXPECT_FALSE(history->empty());

  // A second run continues after the first, and a customer created afterwards gets a fresh id.
  auto again = generate_demo(*t_.db, clock_, {.customers = 10, .seed = 7});
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(again->first_id, stats->last_id + 1);
  auto later = svc_->create(first, audit::Actor::cli("t"));
  ASSERT_TRUE(later) << later.error().message;
  EXPECT_EQ(later->id, again->last_id + 1);
}

TEST_P(DemoTest, SameSeedSameData) {
  ASSERT_TRUE(generate_demo(*t_.db, clock_, {.customers = 5, .seed = 1}));
  auto a = svc_->get(3);
  auto t2 = storage::testing::make_test_db(GetParam());
  ASSERT_TRUE(generate_demo(*t2.db, clock_, {.customers = 5, .seed = 1}));
  CustomerService other(*t2.db, clock_);
  auto b = other.get(3);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->last_name, b->last_name);
  EXPECT_EQ(a->emails[0].email, b->emails[0].email);
  EXPECT_FALSE(generate_demo(*t_.db, clock_, {.customers = 0}));
}

INSTANTIATE_TEST_SUITE_P(Drivers, DemoTest, ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace fidelis::customers

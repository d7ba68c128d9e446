// Delivery slots on both drivers: zones, templates, availability, booking without overbooking
// (many threads racing for the last places), reschedule, release, and the promise rate.

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "commerce/commerce.h"
#include "storage/test_db.h"

namespace fidelis::commerce {
namespace {

constexpr Millis kHour = 3'600'000;
constexpr Millis kMonday = 1'767'571'200'000;  // 2026-01-05T00:00:00Z, a Monday

class SlotsTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    t_ = storage::testing::make_test_db(GetParam());
    if (!t_.skipped.empty()) GTEST_SKIP() << t_.skipped;
    clock_.set(kMonday - 2 * 86'400'000);  // the Saturday before
    orders_ = std::make_unique<OrderService>(*t_.db, clock_);
    slots_ = std::make_unique<SlotService>(*t_.db, clock_);
    auto z = slots_->create_zone({.name = "Lyon", .postcodes = {"69", "01 700"}, .utc_offset_minutes = 60}, actor_);
    ASSERT_TRUE(z) << z.error().message;
    zone_ = *z;
    // Weekdays 08:00-20:00 local, two-hour slots, 3 places each.
    auto t = slots_->create_template({.zone_id = zone_.id, .weekdays = 0x1f, .start_minute = 480, .end_minute = 1200,
                                      .length_minutes = 120, .capacity = 3},
                                     actor_);
    ASSERT_TRUE(t) << t.error().field << ": " << t.error().message;
  }
  int64_t order(const std::string& number, std::string postcode = "69002") {
    OrderInput in;
    in.number = number;
    in.customer.email = number + "@exemple.fr";
    in.currency = "EUR";
    in.lines = {{.sku = "X", .name = "X", .quantity = 1, .unit_price_minor = 100}};
    in.address.postcode = postcode;
    auto c = orders_->create(in, actor_);
    EXPECT_TRUE(c) << c.error().message;
    return c ? c->order.id : 0;
  }
  storage::testing::TestDb t_;
  FakeClock clock_;
  std::unique_ptr<OrderService> orders_;
  std::unique_ptr<SlotService> slots_;
  DeliveryZone zone_;
  audit::Actor actor_ = audit::Actor::cli("test");
};

TEST_P(SlotsTest, ZonesTemplatesAndAvailability) {
  EXPECT_EQ(slots_->create_zone({.name = "Autre", .postcodes = {"69"}}, actor_).error().field, "postcodes[0]");
  EXPECT_EQ(slots_->create_zone({.name = "Lyon", .postcodes = {"38"}}, actor_).error().field, "name");
  EXPECT_EQ(slots_->create_zone({.name = "Bad", .postcodes = {"69*"}}, actor_).error().field, "postcodes[0]");
  ASSERT_TRUE(slots_->create_zone({.name = "Lyon 2e", .postcodes = {"69002"}}, actor_));
  EXPECT_EQ(slots_->zone_for_postcode("69 002")->name, "Lyon 2e");  // the longest prefix wins
  EXPECT_EQ(slots_->zone_for_postcode("69100")->name, "Lyon");
  EXPECT_EQ(slots_->zone_for_postcode("01700")->name, "Lyon");
  EXPECT_EQ(slots_->zone_for_postcode("75001").error().field, "postcode");
  EXPECT_EQ(slots_->create_template({.zone_id = zone_.id, .length_minutes = 5}, actor_).error().field, "length_minutes");
  EXPECT_EQ(slots_->create_template({.zone_id = 999}, actor_).error().field, "zone_id");

  // Monday to Sunday: 5 weekdays x 6 slots; the weekend has none.
  auto week = slots_->availability("69100", kMonday, kMonday + 7 * 86'400'000);
  ASSERT_TRUE(week) << week.error().message;
  ASSERT_EQ(week->size(), 30u);
  EXPECT_EQ((*week)[0].starts_at, kMonday + 7 * kHour);  // 08:00 at UTC+1
  EXPECT_EQ((*week)[0].ends_at, kMonday + 9 * kHour);
  EXPECT_EQ((*week)[0].free(), 3);
  EXPECT_EQ((*week)[0].label(), "lundi 5 janvier, 8\xC2\xA0h – 10\xC2\xA0h");
  EXPECT_EQ(slots_->availability("69100", kMonday, kMonday + 40LL * 86'400'000).error().field, "to");
}

TEST_P(SlotsTest, BookRescheduleReleaseAndFullSlots) {
  Millis first = kMonday + 7 * kHour, second = kMonday + 9 * kHour;
  int64_t a = order("B-1"), b = order("B-2"), c = order("B-3"), d = order("B-4");
  EXPECT_EQ(slots_->book(a, first + 1, actor_).error().field, "starts_at");
  ASSERT_TRUE(slots_->book(a, first, actor_));
  EXPECT_EQ(slots_->book(a, first, actor_).error().code, Code::kAlreadyExists);
  ASSERT_TRUE(slots_->book(b, first, actor_));
  ASSERT_TRUE(slots_->book(c, first, actor_));
  auto full = slots_->book(d, first, actor_);
  ASSERT_FALSE(full);
  EXPECT_EQ(full.error().code, Code::kConflict);
  EXPECT_EQ(full.error().field, "starts_at");
  EXPECT_EQ(slots_->availability("69002", first, first + 1)->at(0).free(), 0);

  // Moving a booking frees its old place, all at once.
  auto moved = slots_->reschedule(a, second, actor_);
  ASSERT_TRUE(moved) << moved.error().message;
  EXPECT_EQ(moved->slot.starts_at, second);
  EXPECT_EQ(slots_->availability("69002", first, first + 1)->at(0).free(), 1);
  ASSERT_TRUE(slots_->book(d, first, actor_));
  // A full target leaves the booking where it was.
  EXPECT_EQ(slots_->reschedule(a, first, actor_).error().field, "starts_at");
  EXPECT_EQ((*slots_->booking(a))->slot.starts_at, second);
  ASSERT_TRUE(slots_->release(a, actor_));
  EXPECT_EQ(slots_->availability("69002", second, second + 1)->at(0).free(), 3);
  EXPECT_EQ(slots_->release(a, actor_).error().field, "slot");
  EXPECT_EQ(slots_->reschedule(a, second, actor_).error().field, "slot");
  // No zone for the order's postcode.
  EXPECT_EQ(slots_->book(order("B-5", "75001"), first, actor_).error().field, "postcode");
  // A cancelled order gives its place back.
  ASSERT_TRUE(orders_->transition(b, OrderStatus::kCancelled, std::nullopt, actor_));
  EXPECT_EQ(slots_->availability("69002", first, first + 1)->at(0).free(), 1);
  // The past cannot be booked.
  clock_.set(first + 1);
  EXPECT_EQ(slots_->book(a, first, actor_).error().field, "starts_at");
}

TEST_P(SlotsTest, ConcurrentBookingsNeverExceedCapacity) {
  Millis slot = kMonday + 11 * kHour;
  constexpr int kThreads = 12;
  std::vector<int64_t> ids;
  for (int i = 0; i < kThreads; ++i) ids.push_back(order("C-" + std::to_string(i)));
  // One place already taken: the threads race for the last two.
  ASSERT_TRUE(slots_->book(ids[0], slot, actor_));
  std::atomic<int> booked{0}, full{0}, other{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (int i = 1; i < kThreads; ++i)
    threads.emplace_back([&, i] {
      while (!go.load()) std::this_thread::yield();
      for (int attempt = 0; attempt < 20; ++attempt) {
        auto r = slots_->book(ids[static_cast<size_t>(i)], slot, actor_);
        if (r) {
          ++booked;
          return;
        }
        if (r.error().field == "starts_at") {
          ++full;
          return;
        }
        if (r.error().code != Code::kConflict && r.error().code != Code::kUnavailable) {
          ++other;
          return;
        }
      }
      ++other;
    });
  go = true;
  for (auto& t : threads) t.join();
  EXPECT_EQ(booked.load(), 2);
  EXPECT_EQ(full.load(), kThreads - 3);
  EXPECT_EQ(other.load(), 0);
  auto avail = slots_->availability("69002", slot, slot + 1);
  ASSERT_TRUE(avail);
  EXPECT_EQ(avail->at(0).booked, 3);
}

TEST_P(SlotsTest, LateDeliveriesMakeThePromiseRate) {
  Millis s1 = kMonday + 7 * kHour, s2 = kMonday + 9 * kHour;
  int64_t a = order("P-1"), b = order("P-2"), c = order("P-3");
  ASSERT_TRUE(slots_->book(a, s1, actor_));
  ASSERT_TRUE(slots_->book(b, s1, actor_));
  ASSERT_TRUE(slots_->book(c, s2, actor_));
  for (int64_t id : {a, b, c}) {
    ASSERT_TRUE(orders_->transition(id, OrderStatus::kConfirmed, std::nullopt, actor_));
    ASSERT_TRUE(orders_->add_shipment(id, {.carrier = "Van", .tracking_number = "V" + std::to_string(id)}, actor_));
  }
  clock_.set(s2 + 5 * kHour);
  ASSERT_TRUE(orders_->transition(a, OrderStatus::kDelivered, s1 + kHour, actor_));        // in the slot
  ASSERT_TRUE(orders_->transition(b, OrderStatus::kDelivered, s1 + 3 * kHour, actor_));    // an hour late
  ASSERT_TRUE(orders_->transition(c, OrderStatus::kDelivered, s2 + 2 * kHour, actor_));    // on the last minute
  EXPECT_EQ((*slots_->booking(b))->late, true);
  auto r = slots_->promise_rate("Lyon", kMonday, kMonday + 86'400'000);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->total, 3);
  EXPECT_EQ(r->late, 1);
  EXPECT_EQ(r->kept, 2);
  EXPECT_NEAR(r->rate, 2.0 / 3.0, 1e-9);
  EXPECT_EQ(slots_->promise_rate(std::nullopt, kMonday, kMonday + 86'400'000)->total, 3);
  EXPECT_EQ(slots_->promise_rate("Nulle part", kMonday, kMonday + 1).error().field, "zone");
  EXPECT_EQ(slots_->release(a, actor_).error().field, "status");
}

INSTANTIATE_TEST_SUITE_P(Drivers, SlotsTest, ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace fidelis::commerce

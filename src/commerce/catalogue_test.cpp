// The catalogue on both drivers: department tree, products, validation, versions, filters.

#include <gtest/gtest.h>

#include "commerce/commerce.h"
#include "storage/test_db.h"

namespace fidelis::commerce {
namespace {

class CatalogueTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    t_ = storage::testing::make_test_db(GetParam());
    if (!t_.skipped.empty()) GTEST_SKIP() << t_.skipped;
    svc_ = std::make_unique<CatalogueService>(*t_.db, clock_);
  }
  storage::testing::TestDb t_;
  FakeClock clock_;
  std::unique_ptr<CatalogueService> svc_;
  audit::Actor actor_ = audit::Actor::cli("test");
};

TEST_P(CatalogueTest, DepartmentsFormATreeAndFilterProducts) {
  ASSERT_TRUE(svc_->create_category("maison", "Maison", std::nullopt, actor_));
  auto jardin = svc_->create_category("jardin", "Jardin", "maison", actor_);
  ASSERT_TRUE(jardin);
  EXPECT_EQ(jardin->path, "/maison/jardin/");
  ASSERT_TRUE(svc_->create_category("mode", "Mode", std::nullopt, actor_));
  EXPECT_EQ(svc_->create_category("x", "X", "nope", actor_).error().field, "parent");
  EXPECT_EQ(svc_->create_category("jardin", "Jardin", std::nullopt, actor_).error().code, Code::kAlreadyExists);
  EXPECT_EQ(svc_->create_category("Bad Slug", "X", std::nullopt, actor_).error().field, "slug");

  auto tondeuse = svc_->create_product({.sku = "TON-42", .name = "Tondeuse électrique", .category = "jardin",
                                        .price_minor = 19990, .currency = "eur", .replenishment_days = std::nullopt},
                                       actor_);
  ASSERT_TRUE(tondeuse) << tondeuse.error().message;
  EXPECT_EQ(tondeuse->price.currency, "EUR");
  ASSERT_TRUE(svc_->create_product({.sku = "ENG-1", .name = "Engrais gazon", .category = "jardin", .price_minor = 1290,
                                    .currency = "EUR", .replenishment_days = 90},
                                   actor_));
  ASSERT_TRUE(svc_->create_product({.sku = "ROBE-7", .name = "Robe d'été", .category = "mode", .price_minor = 4990,
                                    .currency = "EUR", .active = false},
                                   actor_));
  EXPECT_EQ(svc_->list_products({.category = "maison"})->items.size(), 2u);  // the subtree
  EXPECT_EQ(svc_->list_products({.category = "mode"})->items.size(), 1u);
  EXPECT_EQ(svc_->list_products({.active = true})->items.size(), 2u);
  EXPECT_EQ(svc_->list_products({.q = "tondeuse elec"})->items.size(), 1u);
  EXPECT_EQ(svc_->list_products({.q = "ENG-1"})->items.size(), 1u);
  EXPECT_EQ(svc_->list_products({.category = "nope"}).error().field, "category");
  auto page = svc_->list_products({.limit = 2});
  ASSERT_TRUE(page);
  EXPECT_EQ(page->items.size(), 2u);
  ASSERT_TRUE(page->next_after_id);
  EXPECT_EQ(svc_->list_products({.after_id = page->next_after_id})->items.size(), 1u);
}

TEST_P(CatalogueTest, ProductsAreValidatedAndVersioned) {
  EXPECT_EQ(svc_->create_product({.sku = "A", .name = "A", .price_minor = -1, .currency = "EUR"}, actor_).error().field,
            "price_minor");
  EXPECT_EQ(svc_->create_product({.sku = "A", .name = "A", .price_minor = 1, .currency = "EURO"}, actor_).error().field,
            "currency");
  EXPECT_EQ(svc_->create_product({.sku = "A B", .name = "A", .price_minor = 1, .currency = "EUR"}, actor_).error().field, "sku");
  EXPECT_EQ(svc_->create_product({.sku = "A", .price_minor = 1, .currency = "EUR"}, actor_).error().field, "name");
  EXPECT_EQ(svc_->create_product({.sku = "A", .name = "A", .category = "nope", .price_minor = 1, .currency = "EUR"}, actor_)
                .error()
                .field,
            "category");
  auto p = svc_->create_product({.sku = "A", .name = "A", .price_minor = 100, .currency = "EUR", .replenishment_days = 30}, actor_);
  ASSERT_TRUE(p);
  EXPECT_EQ(svc_->create_product({.sku = "A", .name = "B", .price_minor = 1, .currency = "EUR"}, actor_).error().code,
            Code::kAlreadyExists);
  auto u = svc_->update_product(p->id, 1, {.price_minor = 120, .clear_replenishment = true}, actor_);
  ASSERT_TRUE(u);
  EXPECT_EQ(u->version, 2);
  EXPECT_EQ(u->price.minor, 120);
  EXPECT_FALSE(u->replenishment_days);
  EXPECT_EQ(u->name, "A");
  EXPECT_EQ(svc_->update_product(p->id, 1, {.active = false}, actor_).error().code, Code::kFailedPrecondition);
  EXPECT_EQ(svc_->update_product(999, 1, {}, actor_).error().code, Code::kNotFound);
  EXPECT_EQ(svc_->update_product(p->id, 2, {.replenishment_days = 0}, actor_).error().field, "replenishment_days");
}

INSTANTIATE_TEST_SUITE_P(Drivers, CatalogueTest, ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace fidelis::commerce

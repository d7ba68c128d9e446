#pragma once
// commerce: what the shop sells. This first part is the catalogue: departments ("rayons") as a
// tree, and products with SKU, name, department, price in minor units with its currency, an active
// flag and an optional typical replenishment period (used later to relaunch customers when they
// are likely to need the product again). Orders, shipments and delivery slots come next.
//
// Thread-safety: CatalogueService is shared by all request threads.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "audit/audit.h"
#include "core/clock.h"
#include "core/money.h"
#include "core/result.h"
#include "storage/db.h"

namespace fidelis::commerce {

struct Category {
  int64_t id = 0;
  std::string slug;  // [a-z0-9-]{1,60}, unique
  std::string name;
  std::optional<int64_t> parent_id;
  std::string path;  // "/maison/jardin/"
};

struct Product {
  int64_t id = 0;
  std::string sku;   // 1..64 of letters, digits, '-', '_', '.', unique
  std::string name;
  std::optional<int64_t> category_id;
  Money price;
  bool active = true;
  std::optional<int> replenishment_days;  // 1..3650
  int64_t version = 1;
  Millis created_at = 0, updated_at = 0;
};

// A change to a product: unset fields are kept; `clear_category` / `clear_replenishment` unset.
struct ProductInput {
  std::optional<std::string> sku, name;
  std::optional<std::string> category;  // slug
  std::optional<int64_t> price_minor;
  std::optional<std::string> currency;
  std::optional<bool> active;
  std::optional<int> replenishment_days;
  bool clear_category = false, clear_replenishment = false;
};

struct ProductQuery {
  std::optional<std::string> category;  // slug: the department and everything under it
  std::optional<bool> active;
  std::optional<std::string> q;         // name or SKU prefix
  std::optional<int64_t> after_id;
  int limit = 50;                       // 1..500
};

struct ProductPage {
  std::vector<Product> items;
  std::optional<int64_t> next_after_id;
};

class CatalogueService {
 public:
  CatalogueService(storage::Db& db, const Clock& clock);

  // InvalidArgument ("slug", "name", "parent"); NotFound ("parent"); AlreadyExists ("slug").
  Result<Category> create_category(std::string slug, std::string name, std::optional<std::string> parent_slug,
                                   const audit::Actor& actor);
  Result<std::vector<Category>> categories();  // ordered by path

  // Create needs sku, name, price_minor and currency. InvalidArgument naming the field;
  // AlreadyExists ("sku"); NotFound ("category") for an unknown department.
  Result<Product> create_product(ProductInput in, const audit::Actor& actor);
  // FailedPrecondition ("If-Match") when `expected_version` is stale; NotFound ("id").
  Result<Product> update_product(int64_t id, int64_t expected_version, ProductInput in, const audit::Actor& actor);
  Result<Product> get_product(int64_t id);
  Result<ProductPage> list_products(const ProductQuery& q);

 private:
  storage::Db& db_;
  const Clock& clock_;
};

}  // namespace fidelis::commerce

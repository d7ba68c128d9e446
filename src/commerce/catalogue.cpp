// The catalogue: departments as a tree (materialised paths) and products.

#include <fmt/format.h>

#include <algorithm>

#include "commerce/commerce.h"
#include "core/text.h"

namespace fidelis::commerce {

using storage::Value;

namespace {

bool valid_slug(std::string_view s) {
  return !s.empty() && s.size() <= 60 &&
         std::all_of(s.begin(), s.end(), [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'; });
}

bool valid_sku(std::string_view s) {
  return !s.empty() && s.size() <= 64 && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
  });
}

constexpr std::string_view kProductColumns =
    "id, sku, name, category_id, price_minor, currency, active, replenishment_days, version, created_at, updated_at";

Product product_from_row(const storage::Row& r) {
  Product p;
  p.id = r.i64(0);
  p.sku = r.str(1);
  p.name = r.str(2);
  p.category_id = r.opt_i64(3);
  p.price = Money{r.i64(4), r.str(5)};
  p.active = r.i64(6) != 0;
  if (!r.is_null(7)) p.replenishment_days = static_cast<int>(r.i64(7));
  p.version = r.i64(8);
  p.created_at = r.i64(9);
  p.updated_at = r.i64(10);
  return p;
}

Result<std::optional<int64_t>> category_id(storage::Tx& tx, const std::string& slug) {
  Value p[] = {slug};
  FIDELIS_ASSIGN_OR_RETURN(std::optional<storage::Row> row, tx.one("SELECT id FROM categories WHERE slug = $1", p));
  if (!row) return Error::not_found("category", "no department '" + slug + "'");
  return std::optional<int64_t>(row->i64(0));
}

// Checks and normalises what a product input sets.
Status check(ProductInput& in) {
  if (in.sku && !valid_sku(*in.sku)) return Error::invalid_argument("sku", "1 to 64 of letters, digits, '-', '_' and '.'");
  if (in.name) {
    in.name = std::string(text::trim(*in.name));
    if (in.name->empty() || in.name->size() > 200 || !text::is_valid_utf8(*in.name))
      return Error::invalid_argument("name", "must be 1 to 200 characters of UTF-8");
  }
  if (in.price_minor && *in.price_minor < 0) return Error::invalid_argument("price_minor", "cannot be negative");
  if (in.currency) {
    FIDELIS_ASSIGN_OR_RETURN(Money m, Money::of(0, *in.currency, "currency"));
    in.currency = m.currency;
  }
  if (in.replenishment_days && (*in.replenishment_days < 1 || *in.replenishment_days > 3650))
    return Error::invalid_argument("replenishment_days", "must be between 1 and 3650");
  return ok();
}

}  // namespace

CatalogueService::CatalogueService(storage::Db& db, const Clock& clock) : db_(db), clock_(clock) {}

Result<Category> CatalogueService::create_category(std::string slug, std::string name, std::optional<std::string> parent,
                                                   const audit::Actor& actor) {
  if (!valid_slug(slug)) return Error::invalid_argument("slug", "1 to 60 of a-z, 0-9 and '-'");
  name = std::string(text::trim(name));
  if (name.empty() || name.size() > 100) return Error::invalid_argument("name", "must be 1 to 100 characters");
  Category c{0, slug, name, std::nullopt, "/" + slug + "/"};
  Millis now = clock_.now();
  Status s = db_.transact([&](storage::Tx& tx) -> Status {
    if (parent) {
      Value pp[] = {*parent};
      FIDELIS_ASSIGN_OR_RETURN(std::optional<storage::Row> row, tx.one("SELECT id, path FROM categories WHERE slug = $1", pp));
      if (!row) return Error::not_found("parent", "no department '" + *parent + "'");
      c.parent_id = row->i64(0);
      c.path = row->str(1) + slug + "/";
    }
    Value p[] = {c.slug, c.name, storage::opt(c.parent_id), c.path, now};
    auto id = tx.insert_id("INSERT INTO categories (slug, name, parent_id, path, created_at) VALUES ($1, $2, $3, $4, $5)", p);
    if (!id && id.error().code == Code::kAlreadyExists) return Error::already_exists("slug", "a department has this slug");
    if (!id) return id.error();
    c.id = *id;
    return audit::record(tx, actor, {"category.create", "category", std::to_string(c.id), std::nullopt,
                                     fmt::format(R"({{"path":"{}"}})", c.path)},
                         now);
  });
  if (!s) return s.error();
  return c;
}

Result<std::vector<Category>> CatalogueService::categories() {
  FIDELIS_ASSIGN_OR_RETURN(storage::Rows rows, db_.query("SELECT id, slug, name, parent_id, path FROM categories ORDER BY path"));
  std::vector<Category> out;
  for (const auto& r : rows.rows) out.push_back({r.i64(0), r.str(1), r.str(2), r.opt_i64(3), r.str(4)});
  return out;
}

Result<Product> CatalogueService::create_product(ProductInput in, const audit::Actor& actor) {
  FIDELIS_RETURN_IF_ERROR(check(in));
  if (!in.sku) return Error::invalid_argument("sku", "is required");
  if (!in.name) return Error::invalid_argument("name", "is required");
  if (!in.price_minor) return Error::invalid_argument("price_minor", "is required");
  if (!in.currency) return Error::invalid_argument("currency", "is required");
  Millis now = clock_.now();
  Product out;
  Status s = db_.transact([&](storage::Tx& tx) -> Status {
    std::optional<int64_t> cat;
    if (in.category) {
      FIDELIS_ASSIGN_OR_RETURN(cat, category_id(tx, *in.category));
    }
    Value p[] = {*in.sku, *in.name, text::search_key(*in.name), storage::opt(cat), *in.price_minor, *in.currency,
                 int64_t{in.active.value_or(true)},
                 in.replenishment_days ? Value(int64_t{*in.replenishment_days}) : storage::null(), now};
    auto row = tx.one(fmt::format("INSERT INTO products (sku, name, name_key, category_id, price_minor, currency, active, "
                                  "replenishment_days, version, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, "
                                  "$8, 1, $9, $9) RETURNING {}",
                                  kProductColumns),
                      p);
    if (!row && row.error().code == Code::kAlreadyExists) return Error::already_exists("sku", "a product has this SKU");
    if (!row) return row.error();
    out = product_from_row(**row);
    return audit::record(tx, actor, {"product.create", "product", std::to_string(out.id), std::nullopt,
                                     fmt::format(R"({{"sku":"{}"}})", out.sku)},
                         now);
  });
  if (!s) return s.error();
  return out;
}

Result<Product> CatalogueService::update_product(int64_t id, int64_t expected_version, ProductInput in,
                                                 const audit::Actor& actor) {
  FIDELIS_RETURN_IF_ERROR(check(in));
  Millis now = clock_.now();
  Product out;
  Status s = db_.transact([&](storage::Tx& tx) -> Status {
    Value idp[] = {id};
    FIDELIS_ASSIGN_OR_RETURN(std::optional<storage::Row> row,
                             tx.one(fmt::format("SELECT {} FROM products WHERE id = $1", kProductColumns), idp));
    if (!row) return Error::not_found("id", fmt::format("no product {}", id));
    Product cur = product_from_row(*row);
    if (cur.version != expected_version)
      return Error::failed_precondition("If-Match", "the product changed since you read it; reload and retry");
    // Built as Values directly: GCC 12 warns (wrongly) on optionals copied through here.
    Value cat = cur.category_id ? Value(*cur.category_id) : storage::null();
    if (in.clear_category) cat = storage::null();
    if (in.category) {
      FIDELIS_ASSIGN_OR_RETURN(std::optional<int64_t> found, category_id(tx, *in.category));
      cat = found.value_or(0);
    }
    Value repl = cur.replenishment_days ? Value(int64_t{*cur.replenishment_days}) : storage::null();
    if (in.clear_replenishment) repl = storage::null();
    if (in.replenishment_days) repl = int64_t{*in.replenishment_days};
    std::string name = in.name.value_or(cur.name);
    Value p[] = {id, in.sku.value_or(cur.sku), name, text::search_key(name), cat,
                 in.price_minor.value_or(cur.price.minor), in.currency.value_or(cur.price.currency),
                 int64_t{in.active.value_or(cur.active)}, repl, now};
    auto up = tx.one(fmt::format("UPDATE products SET sku = $2, name = $3, name_key = $4, category_id = $5, price_minor = $6, "
                                 "currency = $7, active = $8, replenishment_days = $9, updated_at = $10, version = version + 1 "
                                 "WHERE id = $1 RETURNING {}",
                                 kProductColumns),
                     p);
    if (!up && up.error().code == Code::kAlreadyExists) return Error::already_exists("sku", "a product has this SKU");
    if (!up) return up.error();
    out = product_from_row(**up);
    return audit::record(tx, actor, {"product.update", "product", std::to_string(id),
                                     fmt::format(R"({{"version":{}}})", cur.version),
                                     fmt::format(R"({{"version":{}}})", out.version)},
                         now);
  });
  if (!s) return s.error();
  return out;
}

Result<Product> CatalogueService::get_product(int64_t id) {
  Value p[] = {id};
  FIDELIS_ASSIGN_OR_RETURN(std::optional<storage::Row> row,
                           db_.one(fmt::format("SELECT {} FROM products WHERE id = $1", kProductColumns), p));
  if (!row) return Error::not_found("id", fmt::format("no product {}", id));
  return product_from_row(*row);
}

Result<ProductPage> CatalogueService::list_products(const ProductQuery& q) {
  if (q.limit < 1 || q.limit > 500) return Error::invalid_argument("limit", "must be between 1 and 500");
  std::vector<Value> params;
  auto param = [&](Value v) {
    params.push_back(std::move(v));
    return fmt::format("${}", params.size());
  };
  std::string sql = fmt::format("SELECT {} FROM products p WHERE 1 = 1", kProductColumns);
  if (q.category) {
    Value cp[] = {*q.category};
    FIDELIS_ASSIGN_OR_RETURN(std::optional<storage::Row> cat, db_.one("SELECT path FROM categories WHERE slug = $1", cp));
    if (!cat) return Error::not_found("category", "no department '" + *q.category + "'");
    std::string path = cat->str(0);
    sql += fmt::format(" AND p.category_id IN (SELECT id FROM categories WHERE path >= {} AND path < {})", param(path),
                       param(text::prefix_upper_bound(path)));
  }
  if (q.active) sql += fmt::format(" AND p.active = {}", param(int64_t{*q.active}));
  if (q.q) {
    std::string key = text::search_key(*q.q);
    std::string lo = param(key), hi = param(text::prefix_upper_bound(key));
    std::string sku = param(std::string(text::trim(*q.q)));
    sql += fmt::format(" AND ((p.name_key >= {} AND p.name_key < {}) OR p.sku = {})", lo, hi, sku);
  }
  if (q.after_id) sql += fmt::format(" AND p.id > {}", param(*q.after_id));
  sql += fmt::format(" ORDER BY p.id LIMIT {}", param(int64_t{q.limit + 1}));
  FIDELIS_ASSIGN_OR_RETURN(storage::Rows rows, db_.query(sql, params));
  ProductPage page;
  for (const auto& r : rows.rows) {
    if (static_cast<int>(page.items.size()) == q.limit) {
      page.next_after_id = page.items.back().id;
      break;
    }
    page.items.push_back(product_from_row(r));
  }
  return page;
}

}  // namespace fidelis::commerce

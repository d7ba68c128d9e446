// /api/v1/categories and /api/v1/products.

#include <fmt/format.h>

#include "http/api.h"

namespace fidelis::http {

using auth::Permission;
using namespace commerce;

namespace {

Json product_json(const Product& p) {
  return {{"id", p.id},
          {"sku", p.sku},
          {"name", p.name},
          {"category_id", p.category_id ? Json(*p.category_id) : Json(nullptr)},
          {"price_minor", p.price.minor},
          {"currency", p.price.currency},
          {"active", p.active},
          {"replenishment_days", p.replenishment_days ? Json(*p.replenishment_days) : Json(nullptr)},
          {"version", p.version},
          {"created_at", iso(p.created_at)},
          {"updated_at", iso(p.updated_at)}};
}

Response product_response(int status, const Product& p) {
  Response r = json_response(status, product_json(p));
  r.set("ETag", etag(p.version));
  if (status == 201) r.set("Location", fmt::format("/api/v1/products/{}", p.id));
  return r;
}

Result<ProductInput> product_from_json(const Json& b, bool patch) {
  FIDELIS_RETURN_IF_ERROR(reject_unknown(b, {"sku", "name", "category", "price_minor", "currency", "active", "replenishment_days"}));
  ProductInput in;
  FIDELIS_ASSIGN_OR_RETURN(in.sku, get_string(b, "sku", "sku"));
  FIDELIS_ASSIGN_OR_RETURN(in.name, get_string(b, "name", "name"));
  FIDELIS_ASSIGN_OR_RETURN(in.category, get_string(b, "category", "category"));
  FIDELIS_ASSIGN_OR_RETURN(in.price_minor, get_int(b, "price_minor", "price_minor"));
  FIDELIS_ASSIGN_OR_RETURN(in.currency, get_string(b, "currency", "currency"));
  FIDELIS_ASSIGN_OR_RETURN(in.active, get_bool(b, "active", "active"));
  FIDELIS_ASSIGN_OR_RETURN(std::optional<int64_t> days, get_int(b, "replenishment_days", "replenishment_days"));
  if (days) {
    if (*days < 1 || *days > 3650) return Error::invalid_argument("replenishment_days", "must be between 1 and 3650");
    in.replenishment_days = static_cast<int>(*days);
  }
  if (patch) {
    in.clear_category = b.contains("category") && b["category"].is_null();
    in.clear_replenishment = b.contains("replenishment_days") && b["replenishment_days"].is_null();
  }
  return in;
}

}  // namespace

void add_catalogue_routes(Router& r, Services& s) {
  r.add({"GET", "/api/v1/categories", "listCategories", Permission::kCatalogueRead, false, true, [&s](Context&) {
           auto cats = s.catalogue.categories();
           if (!cats) return problem(cats.error());
           Json items = Json::array();
           for (const auto& c : *cats)
             items.push_back({{"id", c.id}, {"slug", c.slug}, {"name", c.name},
                              {"parent_id", c.parent_id ? Json(*c.parent_id) : Json(nullptr)}, {"path", c.path}});
           return json_response(200, {{"items", items}});
         }});
  r.add({"POST", "/api/v1/categories", "createCategory", Permission::kCatalogueManage, false, true, [&s](Context& ctx) {
           auto body = ctx.json_body();
           if (!body) return problem(body.error());
           if (auto st = reject_unknown(*body, {"slug", "name", "parent"}); !st) return problem(st.error());
           auto slug = get_string(*body, "slug", "slug");
           auto name = get_string(*body, "name", "name");
           auto parent = get_string(*body, "parent", "parent");
           if (!slug) return problem(slug.error());
           if (!name) return problem(name.error());
           if (!parent) return problem(parent.error());
           auto c = s.catalogue.create_category(slug->value_or(""), name->value_or(""), *parent, ctx.actor);
           if (!c) return problem(c.error());
           return json_response(201, {{"id", c->id}, {"slug", c->slug}, {"name", c->name},
                                      {"parent_id", c->parent_id ? Json(*c->parent_id) : Json(nullptr)}, {"path", c->path}});
         }});
  r.add({"GET", "/api/v1/products", "listProducts", Permission::kCatalogueRead, false, true, [&s](Context& ctx) {
           ProductQuery q;
           auto limit = limit_param(ctx);
           if (!limit) return problem(limit.error());
           q.limit = *limit;
           if (auto c = ctx.query_param("cursor")) {
             auto after = decode_cursor(*c);
             if (!after) return problem(after.error());
             q.after_id = *after;
           }
           q.category = ctx.query_param("category");
           q.q = ctx.query_param("q");
           if (auto a = ctx.query_param("active")) {
             if (*a != "true" && *a != "false") return problem(Error::invalid_argument("active", "expected true or false"));
             q.active = *a == "true";
           }
           auto page = s.catalogue.list_products(q);
           if (!page) return problem(page.error());
           Json items = Json::array();
           for (const auto& p : page->items) items.push_back(product_json(p));
           return json_response(200, {{"items", items},
                                      {"next_cursor", page->next_after_id ? Json(encode_cursor(*page->next_after_id)) : Json(nullptr)}});
         }});
  r.add({"POST", "/api/v1/products", "createProduct", Permission::kCatalogueManage, false, true, [&s](Context& ctx) {
           auto body = ctx.json_body();
           if (!body) return problem(body.error());
           auto in = product_from_json(*body, false);
           if (!in) return problem(in.error());
           auto p = s.catalogue.create_product(std::move(*in), ctx.actor);
           if (!p) return problem(p.error());
           return product_response(201, *p);
         }});
  r.add({"GET", "/api/v1/products/{id}", "getProduct", Permission::kCatalogueRead, false, true, [&s](Context& ctx) {
           auto id = ctx.id_param();
           if (!id) return problem(id.error());
           auto p = s.catalogue.get_product(*id);
           if (!p) return problem(p.error());
           return product_response(200, *p);
         }});
  r.add({"PATCH", "/api/v1/products/{id}", "updateProduct", Permission::kCatalogueManage, false, true, [&s](Context& ctx) {
           auto id = ctx.id_param();
           if (!id) return problem(id.error());
           std::string_view m = ctx.req.header("If-Match");
           if (m.empty()) return problem(428, "send If-Match with the ETag from your last GET", "If-Match");
           std::optional<int64_t> version = parse_etag(m);
           if (!version) return problem(Error::invalid_argument("If-Match", "expected an ETag such as \"v3\""));
           auto body = ctx.json_body();
           if (!body) return problem(body.error());
           auto in = product_from_json(*body, true);
           if (!in) return problem(in.error());
           auto p = s.catalogue.update_product(*id, *version, std::move(*in), ctx.actor);
           if (!p) return problem(p.error());
           return product_response(200, *p);
         }});
}

}  // namespace fidelis::http

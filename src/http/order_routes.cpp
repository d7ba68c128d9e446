// /api/v1/orders, /api/v1/customers/{id}/orders and the public /api/v1/track.

#include <fmt/format.h>

#include "core/log.h"
#include "http/api.h"

namespace fidelis::http {

using auth::Permission;
using namespace commerce;

namespace {

constexpr size_t kBatchLimit = 500;

Json opt_json(const std::optional<std::string>& s) { return s ? Json(*s) : Json(nullptr); }

Json address_json(const DeliveryAddress& a) {
  return {{"name", opt_json(a.name)},         {"street", opt_json(a.street)}, {"street2", opt_json(a.street2)},
          {"postcode", opt_json(a.postcode)}, {"city", opt_json(a.city)},     {"country", opt_json(a.country)}};
}

Json shipment_json(const Shipment& s, bool with_id) {
  Json j = {{"carrier", s.carrier}, {"tracking_number", s.tracking_number}, {"tracking_url", opt_json(s.tracking_url)},
            {"shipped_at", iso(s.shipped_at)}};
  if (with_id) j["id"] = s.id;
  return j;
}

Json history_json(const std::vector<StatusChange>& h) {
  Json out = Json::array();
  for (const auto& c : h) out.push_back({{"status", status_name(c.status)}, {"at", iso(c.at)}});
  return out;
}

Json order_json(const Order& o, OrderService& orders) {
  Json lines = Json::array();
  for (const auto& l : o.lines)
    lines.push_back({{"id", l.id}, {"sku", l.sku}, {"name", l.name}, {"product_id", l.product_id ? Json(*l.product_id) : Json(nullptr)},
                     {"quantity", l.quantity}, {"unit_price_minor", l.unit_price_minor}, {"discount_minor", l.discount_minor},
                     {"total_minor", l.total_minor()}, {"returned_quantity", l.returned_quantity}});
  Json shipments = Json::array();
  for (const auto& s : o.shipments) shipments.push_back(shipment_json(s, true));
  Json returns = Json::array();
  for (const auto& r : o.returns)
    returns.push_back({{"line_id", r.line_id}, {"sku", r.sku}, {"quantity", r.quantity}, {"reason", r.reason}, {"at", iso(r.at)}});
  auto token = orders.tracking_token(o.id);
  return {{"id", o.id},
          {"number", o.number},
          {"customer_id", o.customer_id},
          {"channel", channel_name(o.channel)},
          {"currency", o.currency},
          {"subtotal_minor", o.subtotal_minor},
          {"discount_minor", o.discount_minor},
          {"shipping_minor", o.shipping_minor},
          {"total_minor", o.total_minor},
          {"payment_state", payment_state_name(o.payment_state)},
          {"delivery_method", delivery_method_name(o.delivery_method)},
          {"delivery_address", address_json(o.address)},
          {"contact_email", opt_json(o.contact_email)},
          {"status", status_name(o.status)},
          {"notes", opt_json(o.notes)},
          {"source", o.source},
          {"lines", lines},
          {"history", history_json(o.history)},
          {"shipments", shipments},
          {"returns", returns},
          {"tracking_link", token ? Json("/api/v1/track/" + *token) : Json(nullptr)},
          {"placed_at", iso(o.placed_at)},
          {"created_at", iso(o.created_at)},
          {"updated_at", iso(o.updated_at)},
          {"version", o.version}};
}

Response order_response(int status, const Order& o, OrderService& orders) {
  Response r = json_response(status, order_json(o, orders));
  r.set("ETag", etag(o.version));
  if (status == 201) r.set("Location", fmt::format("/api/v1/orders/{}", o.id));
  return r;
}

Result<int64_t> required_int(const Json& obj, std::string_view key, const std::string& field) {
  FIDELIS_ASSIGN_OR_RETURN(std::optional<int64_t> v, get_int(obj, key, field));
  if (!v) return Error::invalid_argument(field, "is required");
  return *v;
}

Result<OrderInput> order_from_json(const Json& b, const std::string& prefix = "") {
  auto f = [&](std::string_view name) { return prefix + std::string(name); };
  if (!b.is_object()) return Error::invalid_argument(prefix.empty() ? "body" : prefix.substr(0, prefix.size() - 1), "expected an object");
  FIDELIS_RETURN_IF_ERROR(reject_unknown(b,
                                         {"number", "customer_id", "customer", "channel", "currency", "payment_state", "delivery_method",
                                          "status", "lines", "shipping_minor", "order_discount_minor", "subtotal_minor", "discount_minor",
                                          "total_minor", "delivery_address", "placed_at", "notes", "visitor_id"},
                                         prefix.empty() ? "" : prefix.substr(0, prefix.size() - 1)));
  OrderInput in;
  FIDELIS_ASSIGN_OR_RETURN(std::optional<std::string> number, get_string(b, "number", f("number")));
  if (!number) return Error::invalid_argument(f("number"), "is required");
  in.number = *number;
  FIDELIS_ASSIGN_OR_RETURN(in.customer.customer_id, get_int(b, "customer_id", f("customer_id")));
  if (auto it = b.find("customer"); it != b.end() && !it->is_null()) {
    if (!it->is_object()) return Error::invalid_argument(f("customer"), "expected an object");
    FIDELIS_RETURN_IF_ERROR(reject_unknown(*it, {"email", "first_name", "last_name", "phone"}, f("customer")));
    FIDELIS_ASSIGN_OR_RETURN(in.customer.email, get_string(*it, "email", f("customer.email")));
    FIDELIS_ASSIGN_OR_RETURN(in.customer.first_name, get_string(*it, "first_name", f("customer.first_name")));
    FIDELIS_ASSIGN_OR_RETURN(in.customer.last_name, get_string(*it, "last_name", f("customer.last_name")));
    FIDELIS_ASSIGN_OR_RETURN(in.customer.phone, get_string(*it, "phone", f("customer.phone")));
  }
  FIDELIS_ASSIGN_OR_RETURN(in.channel, get_string(b, "channel", f("channel")));
  FIDELIS_ASSIGN_OR_RETURN(in.currency, get_string(b, "currency", f("currency")));
  FIDELIS_ASSIGN_OR_RETURN(in.payment_state, get_string(b, "payment_state", f("payment_state")));
  FIDELIS_ASSIGN_OR_RETURN(in.delivery_method, get_string(b, "delivery_method", f("delivery_method")));
  FIDELIS_ASSIGN_OR_RETURN(in.status, get_string(b, "status", f("status")));
  FIDELIS_ASSIGN_OR_RETURN(in.notes, get_string(b, "notes", f("notes")));
  FIDELIS_ASSIGN_OR_RETURN(std::optional<int64_t> shipping, get_int(b, "shipping_minor", f("shipping_minor")));
  in.shipping_minor = shipping.value_or(0);
  FIDELIS_ASSIGN_OR_RETURN(std::optional<int64_t> od, get_int(b, "order_discount_minor", f("order_discount_minor")));
  in.order_discount_minor = od.value_or(0);
  FIDELIS_ASSIGN_OR_RETURN(in.subtotal_minor, get_int(b, "subtotal_minor", f("subtotal_minor")));
  FIDELIS_ASSIGN_OR_RETURN(in.discount_minor, get_int(b, "discount_minor", f("discount_minor")));
  FIDELIS_ASSIGN_OR_RETURN(in.total_minor, get_int(b, "total_minor", f("total_minor")));
  FIDELIS_ASSIGN_OR_RETURN(std::optional<std::string> placed, get_string(b, "placed_at", f("placed_at")));
  if (placed) {
    FIDELIS_ASSIGN_OR_RETURN(Millis at, parse_iso8601(*placed, f("placed_at")));
    in.placed_at = at;
  }
  if (auto it = b.find("delivery_address"); it != b.end() && !it->is_null()) {
    if (!it->is_object()) return Error::invalid_argument(f("delivery_address"), "expected an object");
    std::string p = f("delivery_address");
    FIDELIS_RETURN_IF_ERROR(reject_unknown(*it, {"name", "street", "street2", "postcode", "city", "country"}, p));
    FIDELIS_ASSIGN_OR_RETURN(in.address.name, get_string(*it, "name", p + ".name"));
    FIDELIS_ASSIGN_OR_RETURN(in.address.street, get_string(*it, "street", p + ".street"));
    FIDELIS_ASSIGN_OR_RETURN(in.address.street2, get_string(*it, "street2", p + ".street2"));
    FIDELIS_ASSIGN_OR_RETURN(in.address.postcode, get_string(*it, "postcode", p + ".postcode"));
    FIDELIS_ASSIGN_OR_RETURN(in.address.city, get_string(*it, "city", p + ".city"));
    FIDELIS_ASSIGN_OR_RETURN(in.address.country, get_string(*it, "country", p + ".country"));
  }
  auto lines = b.find("lines");
  if (lines == b.end() || !lines->is_array()) return Error::invalid_argument(f("lines"), "expected an array of lines");
  for (size_t i = 0; i < lines->size(); ++i) {
    const Json& l = (*lines)[i];
    std::string p = f(fmt::format("lines[{}]", i));
    if (!l.is_object()) return Error::invalid_argument(p, "expected an object");
    FIDELIS_RETURN_IF_ERROR(reject_unknown(l, {"sku", "name", "quantity", "unit_price_minor", "discount_minor"}, p));
    OrderLineInput li;
    FIDELIS_ASSIGN_OR_RETURN(std::optional<std::string> sku, get_string(l, "sku", p + ".sku"));
    if (!sku) return Error::invalid_argument(p + ".sku", "is required");
    li.sku = *sku;
    FIDELIS_ASSIGN_OR_RETURN(li.name, get_string(l, "name", p + ".name"));
    FIDELIS_ASSIGN_OR_RETURN(li.quantity, required_int(l, "quantity", p + ".quantity"));
    FIDELIS_ASSIGN_OR_RETURN(li.unit_price_minor, get_int(l, "unit_price_minor", p + ".unit_price_minor"));
    FIDELIS_ASSIGN_OR_RETURN(std::optional<int64_t> d, get_int(l, "discount_minor", p + ".discount_minor"));
    li.discount_minor = d.value_or(0);
    in.lines.push_back(std::move(li));
  }
  return in;
}

// Errors of a batch item carry the item's prefix ("orders[3].lines[0].quantity").
Error prefixed(Error e, const std::string& prefix) {
  if (!e.field.starts_with(prefix)) e.field = e.field.empty() ? prefix.substr(0, prefix.size() - 1) : prefix + e.field;
  return e;
}

Json tracking_json(const TrackingView& v) {
  Json lines = Json::array();
  for (const auto& l : v.lines) lines.push_back({{"name", l.name}, {"quantity", l.quantity}, {"returned_quantity", l.returned_quantity}});
  Json shipments = Json::array();
  for (const auto& s : v.shipments) shipments.push_back(shipment_json(s, false));
  Json slot = nullptr;
  if (v.slot_starts_at) slot = {{"starts_at", iso(*v.slot_starts_at)}, {"ends_at", iso(*v.slot_ends_at)}};
  return {{"number", v.number},
          {"status", status_name(v.status)},
          {"delivery_method", delivery_method_name(v.delivery_method)},
          {"placed_at", iso(v.placed_at)},
          {"history", history_json(v.history)},
          {"lines", lines},
          {"shipments", shipments},
          {"delivery_slot", slot}};
}

Response tracking_response(const Result<TrackingView>& v) {
  if (!v) return problem(v.error());
  Response r = json_response(200, tracking_json(*v));
  r.set("Cache-Control", "no-store");
  return r;
}

Result<OrderQuery> order_query(const Context& ctx) {
  OrderQuery q;
  FIDELIS_ASSIGN_OR_RETURN(q.limit, limit_param(ctx));
  if (auto c = ctx.query_param("cursor")) {
    FIDELIS_ASSIGN_OR_RETURN(int64_t after, decode_cursor(*c));
    q.after_id = after;
  }
  FIDELIS_ASSIGN_OR_RETURN(q.customer_id, ctx.id_query("customer_id"));
  if (auto s = ctx.query_param("status")) {
    FIDELIS_ASSIGN_OR_RETURN(q.status, parse_status(*s, "status"));
  }
  if (auto v = ctx.query_param("since")) {
    FIDELIS_ASSIGN_OR_RETURN(q.since, parse_iso8601(*v, "since"));
  }
  if (auto v = ctx.query_param("until")) {
    FIDELIS_ASSIGN_OR_RETURN(q.until, parse_iso8601(*v, "until"));
  }
  return q;
}

Response page_response(const Result<OrderPage>& page, OrderService& orders) {
  if (!page) return problem(page.error());
  Json items = Json::array();
  for (const auto& o : page->items) items.push_back(order_json(o, orders));
  return json_response(200, {{"items", items},
                             {"next_cursor", page->next_after_id ? Json(encode_cursor(*page->next_after_id)) : Json(nullptr)}});
}

}  // namespace

void add_order_routes(Router& r, Services& s) {
  r.add({"POST", "/api/v1/orders", "createOrder", Permission::kOrdersManage, false, true, [&s](Context& ctx) {
           return idempotent(ctx, s.db, s.clock, [&]() {
             auto body = ctx.json_body();
             if (!body) return problem(body.error());
             auto in = order_from_json(*body);
             if (!in) return problem(in.error());
             // The shop's visitor id for the buyer (the snippet's fid_vid): the browsing before the
             // order joins the customer's profile.
             auto visitor = get_string(*body, "visitor_id", "visitor_id");
             if (!visitor) return problem(visitor.error());
             if (*visitor && !tracking::valid_visitor_id(**visitor))
               return problem(Error::invalid_argument("visitor_id", "expected 1 to 64 of letters, digits, '.', '_', ':', '-'"));
             auto c = s.orders.create(std::move(*in), ctx.actor);
             if (!c) return problem(c.error());
             if (*visitor) {
               if (auto st = s.tracking.identify(**visitor, c->order.customer_id, ctx.actor); !st)
                 log::warn("cannot join a visitor to an order's customer",
                           {{"order", c->order.number}, {"error", st.error().message}});
             }
             return order_response(c->created ? 201 : 200, c->order, s.orders);
           });
         }});

  r.add({"POST", "/api/v1/orders/batch", "createOrdersBatch", Permission::kOrdersManage, false, true, [&s](Context& ctx) {
           return idempotent(ctx, s.db, s.clock, [&]() {
             auto body = ctx.json_body();
             if (!body) return problem(body.error());
             if (auto st = reject_unknown(*body, {"orders"}); !st) return problem(st.error());
             auto items = body->find("orders");
             if (items == body->end() || !items->is_array())
               return problem(Error::invalid_argument("orders", "expected an array of orders"));
             if (items->empty() || items->size() > kBatchLimit)
               return problem(Error::invalid_argument("orders", fmt::format("send 1 to {} orders", kBatchLimit)));
             Json results = Json::array();
             int64_t created = 0, existing = 0, failed = 0;
             for (size_t i = 0; i < items->size(); ++i) {
               std::string prefix = fmt::format("orders[{}].", i);
               Json item = {{"index", i}};
               if ((*items)[i].is_object() && (*items)[i].contains("number") && (*items)[i]["number"].is_string())
                 item["number"] = (*items)[i]["number"];
               // Each order in its own transaction: a bad one never loses the good ones.
               auto in = order_from_json((*items)[i], prefix);
               Result<CreatedOrder> c = in ? s.orders.create(std::move(*in), ctx.actor) : Result<CreatedOrder>(in.error());
               if (c) {
                 item["result"] = c->created ? "created" : "existing";
                 item["id"] = c->order.id;
                 ++(c->created ? created : existing);
               } else {
                 Error e = prefixed(c.error(), prefix);
                 if (e.code == Code::kInternal || e.code == Code::kUnavailable) return problem(e);
                 item["result"] = "error";
                 item["code"] = code_name(e.code);
                 item["field"] = e.field;
                 item["reason"] = e.message;
                 ++failed;
               }
               results.push_back(std::move(item));
             }
             return json_response(200, {{"created", created}, {"existing", existing}, {"errors", failed}, {"results", results}});
           });
         }});

  r.add({"GET", "/api/v1/orders", "listOrders", Permission::kOrdersRead, false, true, [&s](Context& ctx) {
           auto q = order_query(ctx);
           if (!q) return problem(q.error());
           return page_response(s.orders.list(*q), s.orders);
         }});

  r.add({"GET", "/api/v1/customers/{id}/orders", "listCustomerOrders", Permission::kOrdersRead, false, true, [&s](Context& ctx) {
           auto id = ctx.id_param();
           if (!id) return problem(id.error());
           auto q = order_query(ctx);
           if (!q) return problem(q.error());
           if (auto c = s.customers.get_document(*id, ctx.principal->may(Permission::kCustomersRestore)); !c) return problem(c.error());
           q->customer_id = *id;
           return page_response(s.orders.list(*q), s.orders);
         }});

  r.add({"GET", "/api/v1/orders/{id}", "getOrder", Permission::kOrdersRead, false, true, [&s](Context& ctx) {
           auto id = ctx.id_param();
           if (!id) return problem(id.error());
           auto o = s.orders.get(*id);
           if (!o) return problem(o.error());
           return order_response(200, *o, s.orders);
         }});

  r.add({"POST", "/api/v1/orders/{id}/payment", "setOrderPayment", Permission::kOrdersManage, false, true, [&s](Context& ctx) {
           auto id = ctx.id_param();
           if (!id) return problem(id.error());
           auto body = ctx.json_body();
           if (!body) return problem(body.error());
           if (auto st = reject_unknown(*body, {"payment_state"}); !st) return problem(st.error());
           auto state = get_string(*body, "payment_state", "payment_state");
           if (!state) return problem(state.error());
           if (!*state) return problem(Error::invalid_argument("payment_state", "is required"));
           auto to = parse_payment_state(**state, "payment_state");
           if (!to) return problem(to.error());
           auto o = s.orders.set_payment_state(*id, *to, ctx.actor);
           if (!o) return problem(o.error());
           return order_response(200, *o, s.orders);
         }});

  r.add({"POST", "/api/v1/orders/{id}/transitions", "transitionOrder", Permission::kOrdersManage, false, true, [&s](Context& ctx) {
           auto id = ctx.id_param();
           if (!id) return problem(id.error());
           auto body = ctx.json_body();
           if (!body) return problem(body.error());
           if (auto st = reject_unknown(*body, {"status", "at"}); !st) return problem(st.error());
           auto status = get_string(*body, "status", "status");
           if (!status) return problem(status.error());
           if (!*status) return problem(Error::invalid_argument("status", "is required"));
           auto to = parse_status(**status, "status");
           if (!to) return problem(to.error());
           auto at_text = get_string(*body, "at", "at");
           if (!at_text) return problem(at_text.error());
           std::optional<Millis> at;
           if (*at_text) {
             auto parsed = parse_iso8601(**at_text, "at");
             if (!parsed) return problem(parsed.error());
             at = *parsed;
           }
           auto o = s.orders.transition(*id, *to, at, ctx.actor);
           if (!o) return problem(o.error());
           return order_response(200, *o, s.orders);
         }});

  r.add({"POST", "/api/v1/orders/{id}/returns", "returnOrderLines", Permission::kOrdersManage, false, true, [&s](Context& ctx) {
           auto id = ctx.id_param();
           if (!id) return problem(id.error());
           auto body = ctx.json_body();
           if (!body) return problem(body.error());
           if (auto st = reject_unknown(*body, {"lines"}); !st) return problem(st.error());
           auto lines = body->find("lines");
           if (lines == body->end() || !lines->is_array()) return problem(Error::invalid_argument("lines", "expected an array"));
           std::vector<ReturnInput> in;
           for (size_t i = 0; i < lines->size(); ++i) {
             const Json& l = (*lines)[i];
             std::string p = fmt::format("lines[{}]", i);
             if (!l.is_object()) return problem(Error::invalid_argument(p, "expected an object"));
             if (auto st = reject_unknown(l, {"line_id", "sku", "quantity", "reason"}, p); !st) return problem(st.error());
             ReturnInput r;
             auto line_id = get_int(l, "line_id", p + ".line_id");
             auto sku = get_string(l, "sku", p + ".sku");
             auto qty = required_int(l, "quantity", p + ".quantity");
             auto reason = get_string(l, "reason", p + ".reason");
             if (!line_id) return problem(line_id.error());
             if (!sku) return problem(sku.error());
             if (!qty) return problem(qty.error());
             if (!reason) return problem(reason.error());
             r.line_id = *line_id;
             r.sku = *sku;
             r.quantity = *qty;
             r.reason = reason->value_or("");
             in.push_back(std::move(r));
           }
           auto o = s.orders.add_returns(*id, in, ctx.actor);
           if (!o) return problem(o.error());
           return order_response(200, *o, s.orders);
         }});

  r.add({"POST", "/api/v1/orders/{id}/shipments", "createShipment", Permission::kOrdersManage, false, true, [&s](Context& ctx) {
           auto id = ctx.id_param();
           if (!id) return problem(id.error());
           auto body = ctx.json_body();
           if (!body) return problem(body.error());
           if (auto st = reject_unknown(*body, {"carrier", "tracking_number", "tracking_url", "shipped_at"}); !st) return problem(st.error());
           ShipmentInput in;
           auto carrier = get_string(*body, "carrier", "carrier");
           auto number = get_string(*body, "tracking_number", "tracking_number");
           auto url = get_string(*body, "tracking_url", "tracking_url");
           auto at = get_string(*body, "shipped_at", "shipped_at");
           for (const auto* e : {&carrier, &number, &url, &at})
             if (!*e) return problem(e->error());
           in.carrier = carrier->value_or("");
           in.tracking_number = number->value_or("");
           in.tracking_url = *url;
           if (*at) {
             auto parsed = parse_iso8601(**at, "shipped_at");
             if (!parsed) return problem(parsed.error());
             in.shipped_at = *parsed;
           }
           auto o = s.orders.add_shipment(*id, std::move(in), ctx.actor);
           if (!o) return problem(o.error());
           return order_response(201, *o, s.orders);
         }});

  // Public: what a customer may see of their own order, nothing else.
  r.add({"GET", "/api/v1/track", "trackOrder", std::nullopt, false, true, [&s](Context& ctx) {
           // A link in an e-mail: what mail clients and trackers add to it (utm_*, fbclid) is ignored.
           auto number = ctx.query_param("order");
           if (!number) return problem(Error::invalid_argument("order", "give the order number"));
           auto email = ctx.query_param("email");
           auto postcode = ctx.query_param("postcode");
           std::optional<std::string_view> e, p;
           if (email) e = *email;
           if (postcode) p = *postcode;
           return tracking_response(s.orders.track(*number, e, p, ctx.req.remote_ip));
         }});
  r.add({"GET", "/api/v1/track/{token}", "trackOrderByLink", std::nullopt, false, true, [&s](Context& ctx) {
           return tracking_response(s.orders.track_token(ctx.params["token"]));
         }});
}

}  // namespace fidelis::http

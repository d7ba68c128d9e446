// /api/v1/merge-reviews, /api/v1/merges, /api/v1/dedup/runs and /api/v1/customers/export.

#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include "http/api.h"
#include "imports/imports.h"

namespace fidelis::http {

using auth::Permission;
using namespace merging;

namespace {

Json merge_json(const MergeRecord& m) {
  Json choices = Json::array();
  for (const auto& c : m.choices)
    choices.push_back({{"field", c.field}, {"from", c.from_loser ? "loser" : "winner"}, {"rule", c.rule}});
  Json moved = Json::object();
  for (const auto& [table, n] : m.moved) moved[table] = n;
  return {{"id", m.id},
          {"winner_id", m.winner_id},
          {"loser_id", m.loser_id},
          {"score", m.score ? Json(*m.score) : Json(nullptr)},
          {"reason", m.reason},
          {"origin", m.origin},
          {"actor", m.actor},
          {"survivorship", choices},
          {"moved", moved},
          {"at", iso(m.at)},
          {"undone_at", m.undone_at ? Json(iso(*m.undone_at)) : Json(nullptr)},
          {"undone_by", m.undone_by ? Json(*m.undone_by) : Json(nullptr)}};
}

Json review_json(const Review& r) {
  Json fields = Json::array();
  for (const auto& f : r.fields)
    fields.push_back({{"field", f.field}, {"a", f.a}, {"b", f.b}, {"level", f.level}, {"similarity", f.similarity},
                      {"weight", f.weight}});
  auto doc = [](const std::string& d) { return d.empty() ? Json(nullptr) : Json::parse(d, nullptr, false); };
  return {{"id", r.id},
          {"customer_a", r.customer_a},
          {"customer_b", r.customer_b},
          {"score", r.score},
          {"current_score", r.current_score},
          {"status", r.status},
          {"origin", r.origin},
          {"fields", fields},
          {"a", doc(r.a_document)},
          {"b", doc(r.b_document)},
          {"created_at", iso(r.created_at)},
          {"decided_at", r.decided_at ? Json(iso(*r.decided_at)) : Json(nullptr)},
          {"decided_by", r.decided_by ? Json(*r.decided_by) : Json(nullptr)},
          {"merge_id", r.merge_id ? Json(*r.merge_id) : Json(nullptr)}};
}

Json run_json(const DedupRun& d) {
  return {{"id", d.id},
          {"status", d.status},
          {"dry_run", d.dry_run},
          {"records", d.records},
          {"compared_pairs", d.compared},
          {"pairs_to_merge", d.pairs_merge},
          {"pairs_to_review", d.pairs_review},
          {"pairs_done", d.done},
          {"merged", d.merged},
          {"queued", d.queued},
          {"already_queued", d.already_queued},
          {"skipped", d.skipped},
          {"error", d.error ? Json(*d.error) : Json(nullptr)},
          {"actor", d.actor},
          {"started_at", iso(d.started_at)},
          {"updated_at", iso(d.updated_at)},
          {"finished_at", d.finished_at ? Json(iso(*d.finished_at)) : Json(nullptr)}};
}

}  // namespace

void add_merge_routes(Router& r, Services& s) {
  r.add({"GET", "/api/v1/merge-reviews", "listMergeReviews", Permission::kCustomersRead, false, true, [&s](Context& ctx) {
           ReviewQuery q;
           if (auto st = ctx.query_param("status")) q.status = *st;
           auto customer = ctx.id_query("customer_id");
           if (!customer) return problem(customer.error());
           q.customer_id = *customer;
           if (auto c = ctx.query_param("cursor")) {
             auto after = decode_cursor(*c);
             if (!after) return problem(after.error());
             q.after_id = *after;
           }
           auto limit = limit_param(ctx, 200);
           if (!limit) return problem(limit.error());
           q.limit = *limit;
           auto page = s.merges.reviews(q);
           if (!page) return problem(page.error());
           Json items = Json::array();
           for (const auto& rv : page->items) items.push_back(review_json(rv));
           return json_response(200, {{"items", items},
                                      {"next_cursor", page->next_after_id ? Json(encode_cursor(*page->next_after_id))
                                                                          : Json(nullptr)}});
         }});
  r.add({"GET", "/api/v1/merge-reviews/{id}", "getMergeReview", Permission::kCustomersRead, false, true,
         [&s](Context& ctx) {
           auto id = ctx.id_param();
           if (!id) return problem(id.error());
           auto rv = s.merges.review(*id);
           if (!rv) return problem(rv.error());
           return json_response(200, review_json(*rv));
         }});
  r.add({"POST", "/api/v1/merge-reviews/{id}/accept", "acceptMergeReview", Permission::kCustomersMerge, false, true,
         [&s](Context& ctx) {
           auto id = ctx.id_param();
           if (!id) return problem(id.error());
           std::optional<int64_t> winner;
           if (!ctx.req.body.empty()) {
             auto body = ctx.json_body();
             if (!body) return problem(body.error());
             if (auto st = reject_unknown(*body, {"winner_id"}); !st) return problem(st.error());
             auto w = get_int(*body, "winner_id", "winner_id");
             if (!w) return problem(w.error());
             winner = *w;
           }
           auto m = s.merges.accept(*id, winner, ctx.actor);
           if (!m) return problem(m.error());
           return json_response(200, merge_json(*m));
         }});
  r.add({"POST", "/api/v1/merge-reviews/{id}/reject", "rejectMergeReview", Permission::kCustomersMerge, false, true,
         [&s](Context& ctx) {
           auto id = ctx.id_param();
           if (!id) return problem(id.error());
           auto rv = s.merges.reject(*id, ctx.actor);
           if (!rv) return problem(rv.error());
           return json_response(200, review_json(*rv));
         }});

  r.add({"POST", "/api/v1/merges", "mergeCustomers", Permission::kCustomersMerge, false, true, [&s](Context& ctx) {
           auto body = ctx.json_body();
           if (!body) return problem(body.error());
           if (auto st = reject_unknown(*body, {"a", "b", "winner_id"}); !st) return problem(st.error());
           auto a = get_int(*body, "a", "a");
           auto b = get_int(*body, "b", "b");
           auto w = get_int(*body, "winner_id", "winner_id");
           if (!a) return problem(a.error());
           if (!b) return problem(b.error());
           if (!w) return problem(w.error());
           if (!*a) return problem(Error::invalid_argument("a", "is required"));
           if (!*b) return problem(Error::invalid_argument("b", "is required"));
           MergeRequest req{**a, **b, *w, "manual", "api", std::nullopt};
           auto m = s.merges.merge(req, ctx.actor);
           if (!m) return problem(m.error());
           Response res = json_response(201, merge_json(*m));
           res.set("Location", fmt::format("/api/v1/merges/{}", m->id));
           return res;
         }});
  r.add({"GET", "/api/v1/merges", "listMerges", Permission::kCustomersRead, false, true, [&s](Context& ctx) {
           auto customer = ctx.id_query("customer_id");
           if (!customer) return problem(customer.error());
           auto limit = limit_param(ctx);
           if (!limit) return problem(limit.error());
           auto list = s.merges.merges(*customer, *limit);
           if (!list) return problem(list.error());
           Json items = Json::array();
           for (const auto& m : *list) items.push_back(merge_json(m));
           return json_response(200, {{"items", items}});
         }});
  r.add({"GET", "/api/v1/merges/{id}", "getMerge", Permission::kCustomersRead, false, true, [&s](Context& ctx) {
           auto id = ctx.id_param();
           if (!id) return problem(id.error());
           auto m = s.merges.get_merge(*id);
           if (!m) return problem(m.error());
           return json_response(200, merge_json(*m));
         }});
  r.add({"POST", "/api/v1/merges/{id}/undo", "undoMerge", Permission::kCustomersMerge, false, true, [&s](Context& ctx) {
           auto id = ctx.id_param();
           if (!id) return problem(id.error());
           auto m = s.merges.unmerge(*id, ctx.actor);
           if (!m) return problem(m.error());
           return json_response(200, merge_json(*m));
         }});

  r.add({"POST", "/api/v1/dedup/runs", "startDedupRun", Permission::kDedupRun, false, true, [&s](Context& ctx) {
           DedupRunOptions o;
           if (!ctx.req.body.empty()) {
             auto body = ctx.json_body();
             if (!body) return problem(body.error());
             if (auto st = reject_unknown(*body, {"dry_run"}); !st) return problem(st.error());
             auto dry = get_bool(*body, "dry_run", "dry_run");
             if (!dry) return problem(dry.error());
             o.dry_run = dry->value_or(false);
           }
           auto id = s.merges.start_dedup(o, ctx.actor);
           if (!id) return problem(id.error());
           auto run = s.merges.dedup_run(*id);
           if (!run) return problem(run.error());
           Response res = json_response(202, run_json(*run));
           res.set("Location", fmt::format("/api/v1/dedup/runs/{}", *id));
           return res;
         }});
  r.add({"GET", "/api/v1/dedup/runs", "listDedupRuns", Permission::kDedupRun, false, true, [&s](Context& ctx) {
           auto limit = limit_param(ctx);
           if (!limit) return problem(limit.error());
           auto runs = s.merges.dedup_runs(std::min(*limit, 200));
           if (!runs) return problem(runs.error());
           Json items = Json::array();
           for (const auto& d : *runs) items.push_back(run_json(d));
           return json_response(200, {{"items", items}});
         }});
  r.add({"GET", "/api/v1/dedup/runs/{id}", "getDedupRun", Permission::kDedupRun, false, true, [&s](Context& ctx) {
           auto id = ctx.id_param();
           if (!id) return problem(id.error());
           auto run = s.merges.dedup_run(*id);
           if (!run) return problem(run.error());
           return json_response(200, run_json(*run));
         }});

  // The whole base as a file: written to a temporary file (memory stays flat), then streamed. On the
  // worker pool even on SQLite: writing the file takes seconds the I/O threads must not wait.
  r.add({"GET", "/api/v1/customers/export", "exportCustomers", Permission::kCustomersExport, false, true,
         [&s](Context& ctx) {
           auto format = imports::parse_export_format(ctx.query_param("format").value_or("csv"));
           if (!format) return problem(format.error());
           bool include_deleted = false;
           if (auto d = ctx.query_param("deleted")) {
             if (*d != "include" && *d != "exclude")
               return problem(Error::invalid_argument("deleted", "expected include or exclude"));
             include_deleted = *d == "include";
             if (include_deleted && !ctx.principal->may(Permission::kCustomersRestore))
               return problem(Error::permission_denied("only admins export deleted customers"));
           }
           std::error_code ec;
           std::filesystem::create_directories(s.config.data_dir, ec);
           std::string path = (std::filesystem::path(s.config.data_dir) / "export-XXXXXX").string();
           int fd = mkstemp(path.data());
           if (fd < 0) return problem(Error::internal("cannot create a temporary export file in data_dir"));
           std::FILE* out = fdopen(fd, "wb");
           if (out == nullptr) {
             close(fd);
             std::remove(path.c_str());
             return problem(Error::internal("cannot open the temporary export file"));
           }
           auto n = imports::export_customers(s.db, *format, include_deleted, [&](std::string_view chunk) -> Status {
             if (std::fwrite(chunk.data(), 1, chunk.size(), out) != chunk.size())
               return Error::internal("cannot write the export file (disk full?)");
             return ok();
           });
           bool closed = std::fclose(out) == 0;
           if (!n || !closed) {
             std::remove(path.c_str());
             return problem(n ? Error::internal("cannot write the export file") : n.error());
           }
           Response res;
           const bool jsonl = *format == imports::ExportFormat::kJsonLines;
           res.set("Content-Type", jsonl ? "application/x-ndjson; charset=utf-8" : "text/csv; charset=utf-8");
           res.set("Content-Disposition",
                   fmt::format("attachment; filename=\"customers.{}\"", jsonl ? "jsonl" : "csv"));
           res.set("Fidelis-Export-Count", std::to_string(*n));
           res.body_file = path;
           return res;
         }, /*always_on_pool=*/true});
}

}  // namespace fidelis::http

// /api/v1/uploads and /api/v1/imports: files sent in chunks, imports run in the background.

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <filesystem>

#include "core/text.h"
#include "http/api.h"

namespace fidelis::http {

using auth::Permission;

namespace {

Json status_json(const imports::ImportStatus& s) {
  Json j = {{"id", s.id},
            {"source", s.source},
            {"file_name", s.file_name},
            {"status", s.status},
            {"encoding", s.encoding},
            {"delimiter", std::string(1, s.delimiter)},
            {"rows_read", s.rows_read},
            {"accepted", s.accepted},
            {"updated", s.updated},
            {"merged", s.merged},
            {"unchanged", s.unchanged},
            {"queued", s.queued},
            {"rejected", s.rejected},
            {"flagged", s.flagged},
            {"bytes_done", s.bytes_done},
            {"bytes_total", s.bytes_total},
            {"rows_per_second", s.rows_per_second},
            {"bulk", s.bulk},
            {"phase", s.phase},
            {"eta_seconds", s.eta_seconds ? Json(*s.eta_seconds) : Json(nullptr)},
            {"error", s.error ? Json(*s.error) : Json(nullptr)},
            {"started_at", iso(s.started_at)},
            {"updated_at", iso(s.updated_at)},
            {"finished_at", s.finished_at ? Json(iso(*s.finished_at)) : Json(nullptr)},
            {"warnings", s.warnings}};
  return j;
}

Json input_json(const customers::CustomerInput& c) {
  Json j = Json::object();
  auto opt = [&](const char* k, const std::optional<std::string>& v) {
    if (v) j[k] = *v;
  };
  opt("civility", c.civility);
  opt("first_name", c.first_name);
  opt("last_name", c.last_name);
  opt("birth_date", c.birth_date);
  if (c.emails) {
    j["emails"] = Json::array();
    for (const auto& e : *c.emails) j["emails"].push_back(e.email);
  }
  if (c.phones) {
    j["phones"] = Json::array();
    for (const auto& p : *c.phones)
      j["phones"].push_back({{"number", p.raw}, {"e164", p.e164 ? Json(*p.e164) : Json(nullptr)}, {"valid", p.valid}, {"label", p.label}});
  }
  if (c.emails && std::any_of(c.emails->begin(), c.emails->end(), [](const customers::EmailAddress& e) { return !e.label.empty(); })) {
    j["email_labels"] = Json::array();
    for (const auto& e : *c.emails) j["email_labels"].push_back(e.label);
  }
  if (c.address)
    j["address"] = {{"street", c.address->street ? Json(*c.address->street) : Json(nullptr)},
                    {"street2", c.address->street2 ? Json(*c.address->street2) : Json(nullptr)},
                    {"postcode", c.address->postcode ? Json(*c.address->postcode) : Json(nullptr)},
                    {"city", c.address->city ? Json(*c.address->city) : Json(nullptr)},
                    {"country", c.address->country ? Json(*c.address->country) : Json(nullptr)}};
  if (c.tags) j["tags"] = *c.tags;
  if (c.household) {
    j["household"] = Json::array();
    for (const auto& m : *c.household)
      j["household"].push_back({{"relation", m.relation},
                                {"first_name", m.first_name ? Json(*m.first_name) : Json(nullptr)},
                                {"birth_date", m.birth_date ? Json(*m.birth_date) : Json(nullptr)}});
  }
  if (c.affinities) {
    j["affinities"] = Json::array();
    for (const auto& a : *c.affinities) j["affinities"].push_back({{"category", a.category}, {"strength", a.strength}});
  }
  if (c.external_ids) {
    j["external_ids"] = Json::array();
    for (const auto& x : *c.external_ids) j["external_ids"].push_back({{"source", x.source}, {"id", x.id}});
  }
  if (c.consents) {
    j["consents"] = Json::array();
    for (const auto& k : *c.consents)
      j["consents"].push_back({{"channel", customers::channel_name(k.channel)},
                               {"purpose", customers::purpose_name(k.purpose)},
                               {"granted", k.granted},
                               {"source_at", k.source_at ? Json(format_iso8601(*k.source_at)) : Json(nullptr)}});
  }
  if (c.custom_fields) {
    j["custom_fields"] = Json::object();
    for (const auto& [key, value] : *c.custom_fields)
      j["custom_fields"][key] = value ? std::visit([](const auto& v) { return Json(v); }, *value) : Json(nullptr);
  }
  return j;
}

}  // namespace

void add_import_routes(Router& r, Services& s) {
  r.add({"POST", "/api/v1/uploads", "createUpload", Permission::kImportsManage, false, true, [&s](Context&) {
           auto id = s.uploads.create();
           if (!id) return problem(id.error());
           Response res = json_response(201, {{"upload_id", *id}, {"size", 0}});
           res.set("Location", "/api/v1/uploads/" + *id);
           return res;
         }});

  r.add({"PUT", "/api/v1/uploads/{upload_id}", "appendUpload", Permission::kImportsManage, false, true,
         [&s](Context& ctx) {
           auto off = ctx.query_param("offset");
           int64_t offset = 0;
           if (!off || std::from_chars(off->data(), off->data() + off->size(), offset).ec != std::errc())
             return problem(Error::invalid_argument("offset", "send ?offset=N, the upload's size before this chunk"));
           // An upload an import has read, or is reading, is that import's file: it takes no more bytes.
           if (auto p = s.uploads.path(ctx.params.at("upload_id")); p) {
             storage::Value q[] = {std::filesystem::absolute(*p).string()};  // as imports record it
             auto imported = s.db.one("SELECT id, status FROM imports WHERE path = $1 ORDER BY id DESC LIMIT 1", q);
             if (!imported) return problem(imported.error());
             if (*imported)
               return problem(Error{Code::kConflict, "upload_id",
                                    fmt::format("import {} ({}) reads this upload: it takes no more bytes; send the rest "
                                                "in a new upload",
                                                (*imported)->i64(0), (*imported)->str(1))});
           }
           auto size = s.uploads.append(ctx.params.at("upload_id"), offset, ctx.req.body);
           if (!size) return problem(size.error());
           return json_response(200, {{"upload_id", ctx.params.at("upload_id")}, {"size", *size}});
         }});

  r.add({"POST", "/api/v1/imports", "createImport", Permission::kImportsManage, false, true, [&s](Context& ctx) {
           auto body = ctx.json_body();
           if (!body) return problem(body.error());
           if (auto st = reject_unknown(*body, {"upload_id", "source", "priority", "mapping", "default_country", "dedup",
                                                "dry_run", "bulk", "file_name", "consents"});
               !st)
             return problem(st.error());
           auto upload = get_string(*body, "upload_id", "upload_id");
           auto source = get_string(*body, "source", "source");
           auto country = get_string(*body, "default_country", "default_country");
           auto priority = get_int(*body, "priority", "priority");
           auto dedup = get_bool(*body, "dedup", "dedup");
           auto dry = get_bool(*body, "dry_run", "dry_run");
           auto bulk = get_string(*body, "bulk", "bulk");
           auto file_name = get_string(*body, "file_name", "file_name");
           if (!bulk) return problem(bulk.error());
           if (!file_name) return problem(file_name.error());
           if (*file_name && ((*file_name)->empty() || (*file_name)->size() > 255 ||
                              (*file_name)->find_first_of("/\\") != std::string::npos || !text::is_valid_utf8(**file_name) ||
                              std::any_of((*file_name)->begin(), (*file_name)->end(),
                                          [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7F; })))
             return problem(Error::invalid_argument("file_name",
                                                    "expected a file's name: 1 to 255 bytes of UTF-8, no / or \\, no control character"));
           if (!upload) return problem(upload.error());
           if (!source) return problem(source.error());
           if (!country) return problem(country.error());
           if (!priority) return problem(priority.error());
           if (!dedup) return problem(dedup.error());
           if (!dry) return problem(dry.error());
           if (!*upload) return problem(Error::invalid_argument("upload_id", "is required"));
           if (!*source) return problem(Error::invalid_argument("source", "is required"));
           auto path = s.uploads.path(**upload);
           if (!path) return problem(path.error());
           imports::ImportOptions o;
           o.path = *path;
           o.source = **source;
           if (*file_name) o.file_name = **file_name;
           if (*priority) {
             if (**priority < 0 || **priority > 100)
               return problem(Error::invalid_argument("priority", "must be between 0 and 100"));
             o.source_priority = static_cast<int>(**priority);
           }
           if (*country) o.default_country = **country;
           o.dedup = dedup->value_or(true);
           // Consents every row gives ("email:newsletter"), checked by the importer.
           if (auto consents = body->find("consents"); consents != body->end() && !consents->is_null()) {
             if (!consents->is_array()) return problem(Error::invalid_argument("consents", "expected an array"));
             if (consents->size() > 12) return problem(Error::invalid_argument("consents", "at most 12 consents"));
             for (size_t i = 0; i < consents->size(); ++i) {
               const Json& c = (*consents)[i];
               if (!c.is_string())
                 return problem(Error::invalid_argument(fmt::format("consents[{}]", i), "expected CHANNEL:PURPOSE, e.g. email:newsletter"));
               o.consents.push_back(c.get<std::string>());
             }
           }
           if (*bulk) {
             auto mode = imports::parse_bulk_mode(**bulk);
             if (!mode) return problem(mode.error());
             o.bulk = *mode;
           }
           if (auto m = body->find("mapping"); m != body->end() && !m->is_null()) {
             if (!m->is_object()) return problem(Error::invalid_argument("mapping", "expected {\"column header\": \"field\"}"));
             for (auto it = m->begin(); it != m->end(); ++it) {
               if (!it->is_string()) return problem(Error::invalid_argument("mapping." + it.key(), "expected a field name"));
               o.mapping[it.key()] = it->get<std::string>();
             }
           }
           if (dry->value_or(false)) {
             imports::Importer importer(s.db, s.clock);
             auto p = importer.preview(o, 20);
             if (!p) return problem(p.error());
             Json cols = Json::array();
             for (const auto& c : p->columns) {
               cols.push_back({{"header", c.header},
                               {"field", (c.target == imports::Target::kCustom ? "custom_fields." : "") + imports::mapped_field(c)}});
               if (c.target == imports::Target::kLabel) cols.back()["labels"] = c.custom_key;
             }
             Json rows = Json::array();
             for (const auto& row : p->rows) {
               Json flags = Json::array();
               for (const auto& f : row.flags) flags.push_back({{"field", f.field}, {"value", f.value}, {"reason", f.reason}});
               rows.push_back({{"line", row.line},
                               {"customer", row.customer ? input_json(*row.customer) : Json(nullptr)},
                               {"flags", flags},
                               {"empties", row.empties},
                               {"match", row.match ? Json({{"outcome", row.match->outcome},
                                                           {"by", row.match->by},
                                                           {"customers", row.match->customers},
                                                           {"score", row.match->score ? Json(*row.match->score) : Json(nullptr)},
                                                           {"changes", row.match->changes ? Json(*row.match->changes) : Json(nullptr)}})
                                                   : Json(nullptr)},
                               {"rejection", row.rejection ? Json({{"column", row.rejection->field}, {"reason", row.rejection->message}})
                                                           : Json(nullptr)}});
             }
             return json_response(200, {{"encoding", p->dialect.encoding},
                                        {"delimiter", std::string(1, p->dialect.delimiter)},
                                        {"columns", cols},
                                        {"rows", rows},
                                        {"warnings", p->warnings}});
           }
           auto id = s.imports.start(std::move(o), ctx.actor);
           if (!id) return problem(id.error());
           imports::Importer importer(s.db, s.clock);
           auto st = importer.status(*id);
           if (!st) return problem(st.error());
           Response res = json_response(202, status_json(*st));
           res.set("Location", fmt::format("/api/v1/imports/{}", *id));
           return res;
         }});

  r.add({"GET", "/api/v1/imports", "listImports", Permission::kImportsManage, false, true, [&s](Context&) {
           imports::Importer importer(s.db, s.clock);
           auto list = importer.list(100);
           if (!list) return problem(list.error());
           Json items = Json::array();
           for (const auto& st : *list) items.push_back(status_json(st));
           return json_response(200, {{"items", items}});
         }});

  r.add({"GET", "/api/v1/imports/{id}", "getImport", Permission::kImportsManage, false, true, [&s](Context& ctx) {
           auto id = ctx.id_param();
           if (!id) return problem(id.error());
           imports::Importer importer(s.db, s.clock);
           auto st = importer.status(*id);
           if (!st) return problem(st.error());
           return json_response(200, status_json(*st));
         }});

  r.add({"GET", "/api/v1/customers/{id}/provenance", "getCustomerProvenance", Permission::kCustomersRead, false, true,
         [&s](Context& ctx) {
           auto id = ctx.id_param();
           if (!id) return problem(id.error());
           imports::Importer importer(s.db, s.clock);
           auto found = importer.provenance(*id);
           if (!found) return problem(found.error());
           Json items = Json::array();
           for (const auto& p : *found)
             items.push_back({{"import_id", p.import_id}, {"source", p.source}, {"file_name", p.file_name},
                              {"line", p.line}, {"at", iso(p.at)}});
           return json_response(200, {{"items", items}});
         }});

  r.add({"GET", "/api/v1/imports/{id}/rejects", "getImportRejects", Permission::kImportsManage, false, true,
         [&s](Context& ctx) {
           auto id = ctx.id_param();
           if (!id) return problem(id.error());
           imports::Importer importer(s.db, s.clock);
           if (auto st = importer.status(*id); !st) return problem(st.error());
           auto format = imports::ExportFormat::kCsv;
           if (auto f = ctx.query_param("format")) {
             auto parsed = imports::parse_export_format(*f);
             if (!parsed || *parsed == imports::ExportFormat::kJsonLines)
               return problem(Error::invalid_argument("format", "expected csv or csv-excel-fr"));
             format = *parsed;
           }
           auto csv = importer.rejects_csv(*id, format);
           if (!csv) return problem(csv.error());
           Response res;
           res.set("Content-Type", "text/csv; charset=utf-8");
           res.set("Content-Disposition", fmt::format("attachment; filename=\"import-{}-rejects.csv\"", *id));
           res.body = std::move(*csv);
           return res;
         }});
}

}  // namespace fidelis::http

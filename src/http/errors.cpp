// The only place an Error code becomes an HTTP status, and the problem+json body (RFC 9457).

#include <span>

#include "core/log.h"
#include "http/api.h"

namespace fidelis::http {

int http_status(Code code) {
  switch (code) {
    case Code::kInvalidArgument: return 400;
    case Code::kNotFound: return 404;
    case Code::kAlreadyExists: return 409;
    case Code::kFailedPrecondition: return 412;
    case Code::kConflict: return 409;
    case Code::kPermissionDenied: return 403;
    case Code::kUnauthenticated: return 401;
    case Code::kResourceExhausted: return 429;
    case Code::kUnavailable: return 503;
    case Code::kInternal: return 500;
  }
  return 500;
}

namespace {
std::string_view title(int status) {
  switch (status) {
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 412: return "Precondition Failed";
    case 413: return "Payload Too Large";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Content";
    case 428: return "Precondition Required";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "Error";
  }
}

Response make_problem(int status, std::string_view code, std::string_view detail, std::string_view field,
                      std::span<const FieldError> more = {}) {
  Json body = {{"type", "about:blank"}, {"title", title(status)}, {"status", status}, {"detail", detail}, {"code", code}};
  if (!field.empty()) body["field"] = field;
  // Several invalid fields: each with its reason, the first (field, detail) included.
  if (!more.empty()) {
    Json all = Json::array({{{"field", field}, {"detail", detail}}});
    for (const FieldError& e : more) all.push_back({{"field", e.field}, {"detail", e.message}});
    body["errors"] = std::move(all);
  }
  if (!log::request_id().empty()) body["request_id"] = log::request_id();
  Response r;
  r.status = status;
  r.set("Content-Type", "application/problem+json");
  r.body = body.dump(-1, ' ', false, Json::error_handler_t::replace);
  return r;
}
}  // namespace

Response problem(const Error& e) {
  int status = http_status(e.code);
  // Internal details stay in the log; the caller gets the request id to quote.
  if (e.code == Code::kInternal) {
    log::error("internal error", {{"detail", e.message}});
    return make_problem(status, code_name(e.code), "an internal error occurred; quote the request id", e.field);
  }
  Response r = make_problem(status, code_name(e.code), e.message, e.field, e.more);
  if (e.code == Code::kUnauthenticated) r.set("WWW-Authenticate", "Bearer");
  if (e.code == Code::kResourceExhausted) r.set("Retry-After", "60");
  return r;
}

Response problem(int status, std::string_view detail, std::string_view field) {
  std::string_view code = status == 404 ? "not_found" : status == 405 ? "method_not_allowed" : status == 428 ? "precondition_required"
                          : status == 415 ? "unsupported_media_type" : status >= 500 ? "internal" : "invalid_argument";
  return make_problem(status, code, detail, field);
}

Response no_content() {
  Response r;
  r.status = 204;
  return r;
}

Response json_response(int status, const Json& body) {
  Response r;
  r.status = status;
  r.set("Content-Type", "application/json");
  r.body = body.dump(-1, ' ', false, Json::error_handler_t::replace);
  return r;
}

}  // namespace fidelis::http

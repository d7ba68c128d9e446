// Route matching with {param} segments, and the request context helpers.

#include <algorithm>

#include "core/text.h"
#include "http/api.h"

namespace fidelis::http {

namespace {

std::vector<std::string_view> segments(std::string_view path) {
  std::vector<std::string_view> out;
  size_t start = 1;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    out.push_back(path.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

bool is_param(std::string_view segment) { return segment.size() > 2 && segment.front() == '{' && segment.back() == '}'; }

bool match_pattern(const std::vector<std::string>& ps, const std::vector<std::string_view>& xs,
                   std::map<std::string, std::string>& params) {
  if (ps.size() != xs.size()) return false;
  for (size_t i = 0; i < ps.size(); ++i) {
    bool param = is_param(ps[i]);
    if (!param && ps[i] != xs[i]) return false;
    if (param && xs[i].empty()) return false;
  }
  for (size_t i = 0; i < ps.size(); ++i)
    if (ps[i].size() > 2 && ps[i].front() == '{')
      params.emplace(ps[i].substr(1, ps[i].size() - 2), std::string(xs[i]));
  return true;
}

}  // namespace

void Router::add(Route route) {
  std::vector<std::string> parts;
  for (std::string_view p : segments(route.pattern)) parts.emplace_back(p);
  auto token = std::find(parts.begin(), parts.end(), "{token}");
  if (token != parts.end()) {
    std::vector<std::string> secret(parts.begin(), token + 1);
    if (std::find(secrets_.begin(), secrets_.end(), secret) == secrets_.end()) secrets_.push_back(std::move(secret));
  }
  patterns_.push_back(std::move(parts));
  if (!route.query_parameters) route.query_parameters = documented_query_parameters(route.operation_id);
  routes_.push_back(std::move(route));
}

namespace {

// A segment written like a signed link's token ("<payload>.<signature>", base64url on each side):
// hidden wherever it is, so that a path no route matches (a double slash a mail template made,
// another case) does not put one in the log either.
bool looks_like_token(std::string_view segment) {
  size_t dot = segment.find('.');
  if (segment.size() < 20 || dot == std::string_view::npos || dot == 0 || dot + 1 == segment.size() ||
      segment.find('.', dot + 1) != std::string_view::npos)
    return false;
  return std::all_of(segment.begin(), segment.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
           c == '%' || c == '=';
  });
}

}  // namespace

std::string Router::loggable_path(std::string_view path) const {
  const std::vector<std::string_view> parts = segments(path);
  std::vector<bool> hidden(parts.size(), false);
  bool any = false;
  for (size_t i = 0; i < parts.size(); ++i)
    if (looks_like_token(parts[i])) hidden[i] = any = true;
  for (const auto& secret : secrets_) {
    size_t at = secret.size() - 1;
    if (parts.size() <= at || parts[at].empty()) continue;
    bool under = true;
    for (size_t i = 0; i < at && under; ++i) under = is_param(secret[i]) ? !parts[i].empty() : secret[i] == parts[i];
    if (under) hidden[at] = any = true;
  }
  if (!any) return std::string(path);
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    out += '/';
    out += hidden[i] ? std::string_view("{token}") : parts[i];
  }
  return out;
}

Router::Match Router::match(std::string_view method, std::string_view path) const {
  Match m;
  if (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  const std::vector<std::string_view> parts = segments(path);
  for (size_t i = 0; i < routes_.size(); ++i) {
    std::map<std::string, std::string> params;
    if (!match_pattern(patterns_[i], parts, params)) continue;
    if (routes_[i].method == method || (method == "HEAD" && routes_[i].method == "GET")) {
      m.route = &routes_[i];
      m.index = i;
      m.params = std::move(params);
      return m;
    }
    if (std::find(m.allowed.begin(), m.allowed.end(), routes_[i].method) == m.allowed.end())
      m.allowed.push_back(routes_[i].method);
  }
  return m;
}

const std::map<std::string, std::string>& Context::query() const {
  if (!query_) {
    query_.emplace();
    std::string_view q = req.query;
    size_t start = 0;
    while (start <= q.size() && !q.empty()) {
      size_t end = q.find('&', start);
      if (end == std::string_view::npos) end = q.size();
      std::string_view pair = q.substr(start, end - start);
      if (!pair.empty()) {
        size_t eq = pair.find('=');
        std::string key = text::percent_decode(pair.substr(0, eq), true);
        std::string value = eq == std::string_view::npos ? "" : text::percent_decode(pair.substr(eq + 1), true);
        if (query_->contains(key) && !repeated_) repeated_ = key;
        (*query_)[key] = value;
      }
      start = end + 1;
      if (end == q.size()) break;
    }
  }
  return *query_;
}

std::optional<std::string> Context::repeated_query_parameter() const {
  query();
  return repeated_;
}

std::optional<std::string> Context::query_param(const std::string& name) const {
  const auto& q = query();
  auto it = q.find(name);
  if (it == q.end()) return std::nullopt;
  return it->second;
}

Result<Json> Context::json_body() const {
  std::string ct = text::to_lower_ascii(req.header("Content-Type"));  // media types ignore case
  if (ct.substr(0, 16) != "application/json" && ct.find("+json") == std::string::npos)
    return Error::invalid_argument("Content-Type", "expected application/json");
  return parse_json_object(req.body);
}

namespace {

Result<int64_t> positive_id(const std::string& s, const std::string& name) {
  if (s.empty() || s.size() > 18 || !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return Error::invalid_argument(name, "expected a positive integer");
  int64_t v = std::stoll(s);
  if (v <= 0) return Error::invalid_argument(name, "expected a positive integer");
  return v;
}

}  // namespace

Result<int64_t> Context::id_param(const std::string& name) const {
  auto it = params.find(name);
  if (it == params.end()) return Error::invalid_argument(name, "is missing");
  return positive_id(it->second, name);
}

Result<std::optional<int64_t>> Context::id_query(const std::string& name) const {
  auto v = query_param(name);
  if (!v) return std::optional<int64_t>();
  FIDELIS_ASSIGN_OR_RETURN(int64_t id, positive_id(*v, name));
  return std::optional<int64_t>(id);
}

}  // namespace fidelis::http

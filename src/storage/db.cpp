#include "storage/db.h"

#include <fmt/format.h>

#include <charconv>

#include "storage/drivers.h"

namespace fidelis::storage {

int64_t Row::i64(size_t i) const {
  const Value& v = values_.at(i);
  if (const auto* n = std::get_if<int64_t>(&v)) return *n;
  if (const auto* d = std::get_if<double>(&v)) return static_cast<int64_t>(*d);
  if (const auto* s = std::get_if<std::string>(&v)) {
    int64_t out = 0;
    std::from_chars(s->data(), s->data() + s->size(), out);
    return out;
  }
  return 0;
}

double Row::f64(size_t i) const {
  const Value& v = values_.at(i);
  if (const auto* n = std::get_if<int64_t>(&v)) return static_cast<double>(*n);
  if (const auto* d = std::get_if<double>(&v)) return *d;
  if (const auto* s = std::get_if<std::string>(&v)) return std::strtod(s->c_str(), nullptr);
  return 0;
}

std::string Row::str(size_t i) const {
  const Value& v = values_.at(i);
  if (const auto* s = std::get_if<std::string>(&v)) return *s;
  if (const auto* n = std::get_if<int64_t>(&v)) return std::to_string(*n);
  if (const auto* d = std::get_if<double>(&v)) return fmt::format("{}", *d);
  return {};
}

std::optional<std::string> Row::opt_str(size_t i) const {
  if (is_null(i)) return std::nullopt;
  return str(i);
}

std::optional<int64_t> Row::opt_i64(size_t i) const {
  if (is_null(i)) return std::nullopt;
  return i64(i);
}

Result<std::optional<Row>> Tx::one(std::string_view sql, std::span<const Value> params) {
  FIDELIS_ASSIGN_OR_RETURN(Rows rows, query(sql, params));
  if (rows.rows.empty()) return std::optional<Row>();
  return std::optional<Row>(std::move(rows.rows.front()));
}

Result<int64_t> Tx::exec(std::string_view sql, std::span<const Value> params) {
  FIDELIS_ASSIGN_OR_RETURN(Rows rows, query(sql, params));
  return rows.affected;
}

Result<int64_t> Tx::insert_id(std::string_view sql, std::span<const Value> params) {
  FIDELIS_ASSIGN_OR_RETURN(Rows rows, query(std::string(sql) + " RETURNING id", params));
  if (rows.rows.empty()) return Error::internal("an insert returned no id");
  return rows.rows.front().i64(0);
}

Result<std::optional<Row>> Db::one(std::string_view sql, std::span<const Value> params) {
  FIDELIS_ASSIGN_OR_RETURN(Rows rows, query(sql, params));
  if (rows.rows.empty()) return std::optional<Row>();
  return std::optional<Row>(std::move(rows.rows.front()));
}

Result<int64_t> Db::exec(std::string_view sql, std::span<const Value> params) {
  FIDELIS_ASSIGN_OR_RETURN(Rows rows, query(sql, params));
  return rows.affected;
}

Result<std::unique_ptr<Db>> Db::open(const std::string& url, const DbOptions& options) {
  if (url.starts_with("sqlite:")) {
    std::string path = url.substr(7);
    if (path.empty()) return Error::invalid_argument("db", "sqlite: needs a file path, e.g. sqlite:./fidelis.db");
    return open_sqlite(path, options);
  }
  if (url.starts_with("postgresql://") || url.starts_with("postgres://")) return open_postgres(url, options);
  return Error::invalid_argument("db", "expected sqlite:PATH or postgresql://..., got '" + url + "'");
}

std::string append_in_list(std::vector<Value>& params, std::span<const int64_t> ids) {
  std::string out;
  for (int64_t id : ids) {
    params.emplace_back(id);
    out += fmt::format("{}${}", out.empty() ? "" : ", ", params.size());
  }
  return out;
}

namespace detail {
bool is_read_only(std::string_view sql) {
  size_t i = 0;
  while (i < sql.size()) {
    char c = sql[i];
    if (c == ' ' || c == '\n' || c == '\t' || c == '\r' || c == '(') { ++i; continue; }
    if (sql.substr(i, 2) == "--") {
      while (i < sql.size() && sql[i] != '\n') ++i;
      continue;
    }
    break;
  }
  auto word = sql.substr(i, 6);
  auto ieq = [](std::string_view a, std::string_view b) {
    if (a.size() < b.size()) return false;
    for (size_t k = 0; k < b.size(); ++k)
      if ((a[k] | 0x20) != (b[k] | 0x20)) return false;
    return true;
  };
  return ieq(word, "select") || ieq(word, "with ");
}
}  // namespace detail

}  // namespace fidelis::storage

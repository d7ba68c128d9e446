// PostgreSQL driver: a pool of libpq connections, statements prepared once per connection, COPY for
// bulk loads. Calls block: the HTTP layer runs them on worker threads, never on I/O threads.

#include <fmt/format.h>
#include <libpq-fe.h>

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <unordered_map>

#include "storage/db.h"
#include "storage/drivers.h"

namespace fidelis::storage {
namespace {

// Type OIDs from pg_type.h (stable across versions).
constexpr Oid kBool = 16, kInt8 = 20, kInt2 = 21, kInt4 = 23, kFloat4 = 700, kFloat8 = 701, kNumeric = 1700;

Error pg_error(PGconn* conn, const PGresult* res) {
  std::string msg = res != nullptr ? PQresultErrorMessage(res) : PQerrorMessage(conn);
  while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
  const char* state = res != nullptr ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr;
  std::string sqlstate = state != nullptr ? state : "";
  if (sqlstate == "23505") {
    // DETAIL: Key (email)=(a@b.fr) already exists.  -> field "email"
    std::string field;
    if (const char* d = PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL); d != nullptr) {
      std::string detail = d;
      auto open = detail.find('(');
      auto close = detail.find(')');
      if (open != std::string::npos && close != std::string::npos && close > open) {
        field = detail.substr(open + 1, close - open - 1);
        if (auto comma = field.rfind(", "); comma != std::string::npos) field = field.substr(comma + 2);
      }
    }
    return Error::already_exists(field, msg);
  }
  if (sqlstate == "40001" || sqlstate == "40P01") return Error::conflict(msg);
  if (sqlstate.starts_with("08") || PQstatus(conn) != CONNECTION_OK)
    return Error::unavailable("postgresql: " + msg);
  return Error::internal("postgresql: " + msg);
}

struct PgConn {
  PGconn* conn = nullptr;
  struct Prepared {
    std::string name;
    int nparams = 0;
  };
  std::unordered_map<std::string, Prepared> prepared;  // sql -> statement
  int64_t statements = 0;
  ~PgConn() {
    if (conn != nullptr) PQfinish(conn);
  }
};

using ResultPtr = std::unique_ptr<PGresult, decltype(&PQclear)>;

Result<Rows> run(PgConn& c, std::string_view sql, std::span<const Value> params) {
  std::string key(sql);
  auto it = c.prepared.find(key);
  if (it == c.prepared.end()) {
    std::string name = fmt::format("s{}", ++c.statements);
    ResultPtr res(PQprepare(c.conn, name.c_str(), key.c_str(), 0, nullptr), &PQclear);
    if (PQresultStatus(res.get()) != PGRES_COMMAND_OK) return pg_error(c.conn, res.get());
    ResultPtr desc(PQdescribePrepared(c.conn, name.c_str()), &PQclear);
    if (PQresultStatus(desc.get()) != PGRES_COMMAND_OK) return pg_error(c.conn, desc.get());
    it = c.prepared.emplace(key, PgConn::Prepared{name, PQnparams(desc.get())}).first;
  }
  // A count mismatch is the caller's bug: say so plainly instead of a protocol error.
  if (static_cast<int>(params.size()) != it->second.nparams)
    return Error::internal(fmt::format("{} parameters given for a statement with {}", params.size(), it->second.nparams));
  std::vector<std::string> text(params.size());
  std::vector<const char*> values(params.size(), nullptr);
  for (size_t i = 0; i < params.size(); ++i) {
    std::visit(
        [&](const auto& v) {
          using T = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<T, std::monostate>) return;
          else if constexpr (std::is_same_v<T, std::string>) values[i] = v.c_str();
          else {
            text[i] = fmt::format("{}", v);
            values[i] = text[i].c_str();
          }
        },
        params[i]);
  }
  ResultPtr res(PQexecPrepared(c.conn, it->second.name.c_str(), static_cast<int>(params.size()), values.data(),
                               nullptr, nullptr, 0),
                &PQclear);
  auto status = PQresultStatus(res.get());
  if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
    return pg_error(c.conn, res.get());
  }
  Rows out;
  int ncol = PQnfields(res.get());
  int nrow = PQntuples(res.get());
  for (int col = 0; col < ncol; ++col) out.columns.emplace_back(PQfname(res.get(), col));
  out.rows.reserve(static_cast<size_t>(nrow));
  for (int r = 0; r < nrow; ++r) {
    std::vector<Value> row;
    row.reserve(static_cast<size_t>(ncol));
    for (int col = 0; col < ncol; ++col) {
      if (PQgetisnull(res.get(), r, col)) {
        row.emplace_back(std::monostate{});
        continue;
      }
      const char* v = PQgetvalue(res.get(), r, col);
      switch (PQftype(res.get(), col)) {
        case kInt8: case kInt4: case kInt2: row.emplace_back(static_cast<int64_t>(std::strtoll(v, nullptr, 10))); break;
        case kFloat4: case kFloat8: case kNumeric: row.emplace_back(std::strtod(v, nullptr)); break;
        case kBool: row.emplace_back(static_cast<int64_t>(v[0] == 't')); break;
        default: row.emplace_back(std::string(v, static_cast<size_t>(PQgetlength(res.get(), r, col))));
      }
    }
    out.rows.emplace_back(std::move(row));
  }
  const char* affected = PQcmdTuples(res.get());
  out.affected = affected != nullptr && *affected ? std::strtoll(affected, nullptr, 10) : 0;
  return out;
}

Status run_script(PgConn& c, std::string_view sql) {
  ResultPtr res(PQexec(c.conn, std::string(sql).c_str()), &PQclear);
  auto status = PQresultStatus(res.get());
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) return pg_error(c.conn, res.get());
  return ok();
}

class PgTx final : public Tx {
 public:
  explicit PgTx(PgConn& c) : c_(c) {}
  Result<Rows> query(std::string_view sql, std::span<const Value> params) override { return run(c_, sql, params); }
  Status exec_script(std::string_view sql) override { return run_script(c_, sql); }
  Status lock_key(std::string_view key) override {
    Value p[] = {std::string(key)};
    FIDELIS_RETURN_IF_ERROR(run(c_, "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", p));
    return ok();
  }

 private:
  PgConn& c_;
};

// COPY text format: backslash, tab, newline and carriage return escaped; \N for NULL.
void append_copy_field(std::string& out, const Value& v) {
  std::visit(
      [&](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::monostate>) out += "\\N";
        else if constexpr (std::is_same_v<T, std::string>) {
          for (char ch : x) {
            switch (ch) {
              case '\\': out += "\\\\"; break;
              case '\t': out += "\\t"; break;
              case '\n': out += "\\n"; break;
              case '\r': out += "\\r"; break;
              default: out += ch;
            }
          }
        } else {
          out += fmt::format("{}", x);
        }
      },
      v);
}

class PgDb final : public Db {
 public:
  PgDb(std::string url, DbOptions o) : url_(std::move(url)), options_(std::move(o)) {}

  Result<std::unique_ptr<PgConn>> connect() {
    auto c = std::make_unique<PgConn>();
    c->conn = PQconnectdb(url_.c_str());
    if (PQstatus(c->conn) != CONNECTION_OK) {
      std::string msg = PQerrorMessage(c->conn);
      while (!msg.empty() && msg.back() == '\n') msg.pop_back();
      return Error::unavailable("cannot connect to PostgreSQL: " + msg);
    }
    FIDELIS_RETURN_IF_ERROR(run_script(*c, "SET client_min_messages TO warning"));
    return c;
  }

  Dialect dialect() const override { return Dialect::kPostgres; }

  Result<Rows> query(std::string_view sql, std::span<const Value> params) override {
    FIDELIS_ASSIGN_OR_RETURN(std::unique_ptr<PgConn> c, acquire());
    auto r = run(*c, sql, params);
    release(std::move(c));
    return r;
  }

  Status read(const std::function<Status(Tx&)>& fn) override {
    FIDELIS_ASSIGN_OR_RETURN(std::unique_ptr<PgConn> c, acquire());
    Status s = run_script(*c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    if (s) {
      PgTx tx(*c);
      s = guarded(c, fn, tx);
      Status end = run_script(*c, s ? "COMMIT" : "ROLLBACK");
      if (s && !end) s = end;
    }
    release(std::move(c));
    return s;
  }

  Status try_transact(const std::function<Status(Tx&)>& fn) override { return transact(fn); }

  Status transact(const std::function<Status(Tx&)>& fn) override {
    FIDELIS_ASSIGN_OR_RETURN(std::unique_ptr<PgConn> c, acquire());
    Status s = run_script(*c, "BEGIN");
    if (s) {
      PgTx tx(*c);
      s = guarded(c, fn, tx);
      if (s) s = run_script(*c, "COMMIT");
      if (!s) (void)run_script(*c, "ROLLBACK");
    }
    release(std::move(c));
    return s;
  }

  Result<int64_t> bulk_insert(std::string_view table, std::span<const std::string> columns,
                              const RowSource& source, int64_t /*batch_rows*/) override {
    FIDELIS_ASSIGN_OR_RETURN(std::unique_ptr<PgConn> c, acquire());
    auto result = copy(*c, table, columns, source);
    release(std::move(c));
    return result;
  }

  Status set_bulk_loading(bool) override { return ok(); }

  Status sync_id_sequence(std::string_view table) override {
    std::string t(table);
    FIDELIS_RETURN_IF_ERROR(query(fmt::format("SELECT setval(pg_get_serial_sequence('{0}', 'id'), "
                                              "(SELECT COALESCE(MAX(id), 0) + 1 FROM {0}), false)",
                                              t),
                                  {}));
    return ok();
  }

  PoolStats pool_stats() const override {
    std::lock_guard lock(mu_);
    return PoolStats{opened_, in_use_, waits_, timeouts_};
  }

 private:
  Result<int64_t> copy(PgConn& c, std::string_view table, std::span<const std::string> columns,
                       const RowSource& source) {
    std::string sql = fmt::format("COPY {} ({}) FROM STDIN", table, fmt::join(columns, ", "));
    {
      ResultPtr res(PQexec(c.conn, sql.c_str()), &PQclear);
      if (PQresultStatus(res.get()) != PGRES_COPY_IN) return pg_error(c.conn, res.get());
    }
    std::string buf;
    std::vector<Value> row;
    int64_t total = 0;
    Status status = ok();
    while (true) {
      row.clear();
      auto next = source(row);
      if (!next) { status = next.error(); break; }
      if (!*next) break;
      for (size_t i = 0; i < row.size(); ++i) {
        if (i) buf += '\t';
        append_copy_field(buf, row[i]);
      }
      buf += '\n';
      ++total;
      if (buf.size() > (1 << 20)) {
        if (PQputCopyData(c.conn, buf.data(), static_cast<int>(buf.size())) != 1) {
          status = pg_error(c.conn, nullptr);
          break;
        }
        buf.clear();
      }
    }
    if (status && !buf.empty() && PQputCopyData(c.conn, buf.data(), static_cast<int>(buf.size())) != 1)
      status = pg_error(c.conn, nullptr);
    PQputCopyEnd(c.conn, status ? nullptr : "aborted by the caller");
    Status final_status = ok();
    while (PGresult* r = PQgetResult(c.conn)) {
      if (PQresultStatus(r) != PGRES_COMMAND_OK && final_status) final_status = pg_error(c.conn, r);
      PQclear(r);
    }
    if (!status) return status.error();
    if (!final_status) return final_status.error();
    return total;
  }

  Result<std::unique_ptr<PgConn>> acquire() {
    std::unique_lock lock(mu_);
    if (idle_.empty() && opened_ < options_.pool_size) {
      ++opened_;
      ++in_use_;
      lock.unlock();
      auto c = connect();
      if (!c) {
        std::lock_guard relock(mu_);
        --opened_;
        --in_use_;
      }
      return c;
    }
    if (idle_.empty()) {
      ++waits_;
      if (!cv_.wait_for(lock, std::chrono::milliseconds(options_.acquire_timeout_ms), [&] { return !idle_.empty(); })) {
        ++timeouts_;
        return Error::unavailable("no PostgreSQL connection became free in time");
      }
    }
    auto c = std::move(idle_.back());
    idle_.pop_back();
    ++in_use_;
    lock.unlock();
    if (PQstatus(c->conn) != CONNECTION_OK) {
      PQreset(c->conn);
      c->prepared.clear();
      if (PQstatus(c->conn) != CONNECTION_OK) {
        std::lock_guard relock(mu_);
        --opened_;
        --in_use_;
        return Error::unavailable("lost the PostgreSQL connection and could not reconnect");
      }
    }
    return c;
  }

  // fn(tx), its connection rolled back and given back to the pool should it throw: a pool that
  // lost count of its connections would run out of them.
  Status guarded(std::unique_ptr<PgConn>& c, const std::function<Status(Tx&)>& fn, Tx& tx) {
    try {
      return fn(tx);
    } catch (...) {
      (void)run_script(*c, "ROLLBACK");
      release(std::move(c));
      throw;
    }
  }

  void release(std::unique_ptr<PgConn> c) {
    {
      std::lock_guard lock(mu_);
      --in_use_;
      if (PQstatus(c->conn) == CONNECTION_OK && PQtransactionStatus(c->conn) == PQTRANS_IDLE) {
        idle_.push_back(std::move(c));
      } else {
        --opened_;  // broken or left mid-transaction: drop it
      }
    }
    cv_.notify_one();
  }

  std::string url_;
  DbOptions options_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<PgConn>> idle_;
  int opened_ = 0;
  int in_use_ = 0;
  int64_t waits_ = 0;
  int64_t timeouts_ = 0;
};

}  // namespace

Result<std::unique_ptr<Db>> open_postgres(const std::string& url, const DbOptions& options) {
  auto db = std::make_unique<PgDb>(url, options);
  // Connect once now so a wrong URL fails at start-up, not at the first request.
  FIDELIS_ASSIGN_OR_RETURN(std::unique_ptr<PgConn> probe, db->connect());
  (void)probe;
  return std::unique_ptr<Db>(std::move(db));
}

}  // namespace fidelis::storage

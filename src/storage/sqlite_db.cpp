// SQLite driver: one writer connection behind a mutex, a pool of reader connections (WAL lets
// them read while the writer writes), prepared statements cached per connection.

#include <fmt/format.h>
#include <sqlite3.h>

#include <condition_variable>
#include <mutex>
#include <unordered_map>

#include "storage/db.h"
#include "storage/drivers.h"

namespace fidelis::storage {
namespace {

Error sqlite_error(sqlite3* db, int rc) {
  std::string msg = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  int primary = rc & 0xFF;
  if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY) {
    // "UNIQUE constraint failed: customers.email" -> field "email"
    std::string field;
    if (auto dot = msg.rfind('.'); dot != std::string::npos) field = msg.substr(dot + 1);
    if (auto comma = field.find(','); comma != std::string::npos) field.resize(comma);
    return Error::already_exists(field, msg);
  }
  if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) return Error::conflict("database is busy: " + msg);
  if (primary == SQLITE_CANTOPEN) return Error::unavailable("cannot open the SQLite database: " + msg);
  return Error::internal("sqlite: " + msg);
}

constexpr int kNewDatabasePageSize = 16384;

class Conn {
 public:
  static Result<std::unique_ptr<Conn>> open(const std::string& path, const DbOptions& o, bool readonly) {
    // Nothing reads SQLite's memory statistics: without them its allocator takes no global mutex
    // (every row an import writes allocates several times). Must precede the library's first use.
    static const bool configured = [] { return sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0) == SQLITE_OK; }();
    (void)configured;
    sqlite3* db = nullptr;
    int flags = (readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) |
                SQLITE_OPEN_NOMUTEX;
    int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
    auto conn = std::unique_ptr<Conn>(new Conn(db));
    if (rc != SQLITE_OK) return sqlite_error(db, rc);
    sqlite3_extended_result_codes(db, 1);
    sqlite3_busy_timeout(db, 5000);
    std::string pragmas = fmt::format(
        "PRAGMA foreign_keys=ON; PRAGMA synchronous={}; PRAGMA cache_size=-65536; "
        "PRAGMA mmap_size=2147418112;",
        o.sqlite_synchronous);
    // The writer keeps a larger cache: a batch of inserts into large indexes dirties pages all over
    // them, and a cache too small spills them to the WAL more than once per transaction.
    // A new database gets 16 KiB pages (an existing one keeps its own: SQLite sets the size when it
    // writes the first page): a 1M-row import writes 13 % faster with 30 % less memory than with the
    // default 4 KiB, and reads by id are as fast (docs/BENCHMARKS.md, 2026-12-07).
    if (!readonly)
      pragmas = fmt::format("PRAGMA page_size={}; PRAGMA journal_mode=WAL; ", kNewDatabasePageSize) + pragmas +
                " PRAGMA cache_size=-262144;";
    FIDELIS_RETURN_IF_ERROR(conn->exec_script(pragmas));
    return conn;
  }
  ~Conn() {
    for (auto& [sql, s] : stmts_) sqlite3_finalize(s.stmt);
    sqlite3_close_v2(db_);
  }

  // A prepared statement and, for each `$N`, SQLite's own index of it (0 when unused): SQLite
  // numbers `$N` parameters by first appearance, not by N, so `SELECT $2, $1` would swap values.
  struct Stmt {
    sqlite3_stmt* stmt = nullptr;
    std::vector<int> index_of;  // index_of[N - 1] for `$N`
  };

  Result<Stmt*> prepare(std::string_view sql) {
    // Most statements are string literals, passed again and again from the same address: that
    // address finds the statement without hashing the text (which is still compared, since a
    // formatted statement's memory may be reused for another text).
    if (auto a = by_address_.find(sql.data()); a != by_address_.end() && *a->second.text == sql)
      return reuse(a->second.stmt);
    auto it = stmts_.find(sql);
    if (it != stmts_.end()) {
      remember_address(sql.data(), it);
      return reuse(&it->second);
    }
    sqlite3_stmt* stmt = nullptr;
    int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT,
                                &stmt, nullptr);
    if (rc != SQLITE_OK) return sqlite_error(db_, rc);
    Stmt entry{stmt, {}};
    int count = sqlite3_bind_parameter_count(stmt);
    for (int n = 1; n <= count; ++n)
      entry.index_of.push_back(sqlite3_bind_parameter_index(stmt, fmt::format("${}", n).c_str()));
    auto added = stmts_.emplace(std::string(sql), std::move(entry)).first;
    remember_address(sql.data(), added);
    return &added->second;
  }

  Status bind(const Stmt& s, std::span<const Value> params) {
    sqlite3_stmt* stmt = s.stmt;
    // PostgreSQL refuses a parameter count that differs from the statement's; so does this driver,
    // so a mistake shows on both.
    if (params.size() != s.index_of.size())
      return Error::internal(fmt::format("{} parameters given for a statement with {}", params.size(), s.index_of.size()));
    for (size_t i = 0; i < params.size(); ++i) {
      int idx = i < s.index_of.size() ? s.index_of[i] : 0;
      if (idx == 0) continue;  // parameter not used by this statement
      int rc = std::visit(
          [&](const auto& v) -> int {
            using T = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<T, std::monostate>) return sqlite3_bind_null(stmt, idx);
            else if constexpr (std::is_same_v<T, int64_t>) return sqlite3_bind_int64(stmt, idx, v);
            else if constexpr (std::is_same_v<T, double>) return sqlite3_bind_double(stmt, idx, v);
            else return sqlite3_bind_text(stmt, idx, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
          },
          params[i]);
      if (rc != SQLITE_OK) return sqlite_error(db_, rc);
    }
    return ok();
  }

  Result<Rows> query(std::string_view sql, std::span<const Value> params) {
    FIDELIS_ASSIGN_OR_RETURN(Stmt * prepared, prepare(sql));
    FIDELIS_RETURN_IF_ERROR(bind(*prepared, params));
    sqlite3_stmt* stmt = prepared->stmt;
    Rows out;
    int ncol = sqlite3_column_count(stmt);
    out.columns.reserve(static_cast<size_t>(ncol));
    for (int c = 0; c < ncol; ++c) out.columns.emplace_back(sqlite3_column_name(stmt, c));
    while (true) {
      int rc = sqlite3_step(stmt);
      if (rc == SQLITE_DONE) break;
      if (rc != SQLITE_ROW) {
        Error e = sqlite_error(db_, rc);
        sqlite3_reset(stmt);
        return e;
      }
      std::vector<Value> values;
      values.reserve(static_cast<size_t>(ncol));
      for (int c = 0; c < ncol; ++c) {
        switch (sqlite3_column_type(stmt, c)) {
          case SQLITE_INTEGER: values.emplace_back(static_cast<int64_t>(sqlite3_column_int64(stmt, c))); break;
          case SQLITE_FLOAT: values.emplace_back(sqlite3_column_double(stmt, c)); break;
          case SQLITE_NULL: values.emplace_back(std::monostate{}); break;
          default: {
            const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt, c));
            values.emplace_back(std::string(p, static_cast<size_t>(sqlite3_column_bytes(stmt, c))));
          }
        }
      }
      out.rows.emplace_back(std::move(values));
    }
    out.affected = sqlite3_changes64(db_);
    sqlite3_reset(stmt);
    return out;
  }

  // Runs a statement that returns no rows we need (bulk insert rows, BEGIN/COMMIT): no result set.
  Status insert_row(std::string_view sql, std::span<const Value> params) {
    FIDELIS_ASSIGN_OR_RETURN(Stmt * prepared, prepare(sql));
    return step_prepared(*prepared, params);
  }

  int64_t last_insert_rowid() const { return sqlite3_last_insert_rowid(db_); }
  int64_t changes() const { return sqlite3_changes64(db_); }

  // For loops over one statement: prepare once, then step_prepared per row.
  Status step_prepared(Stmt& prepared_ref, std::span<const Value> params) {
    Stmt* prepared = &prepared_ref;
    FIDELIS_RETURN_IF_ERROR(bind(*prepared, params));
    int rc = sqlite3_step(prepared->stmt);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
      Error e = sqlite_error(db_, rc);
      sqlite3_reset(prepared->stmt);
      return e;
    }
    sqlite3_reset(prepared->stmt);
    return ok();
  }

  Status exec_script(std::string_view sql) {
    std::string s(sql);
    char* err = nullptr;
    int rc = sqlite3_exec(db_, s.c_str(), nullptr, nullptr, &err);
    if (rc != SQLITE_OK) {
      Error e = sqlite_error(db_, rc);
      if (err != nullptr) {
        e.message = std::string("sqlite: ") + err;
        sqlite3_free(err);
      }
      return e;
    }
    return ok();
  }

 private:
  explicit Conn(sqlite3* db) : db_(db) {}
  sqlite3* db_;
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, Stmt, Hash, std::equal_to<>> stmts_;
  // Where a statement's text was last passed from (kept small: formatted texts come from anywhere).
  struct Known {
    const std::string* text;  // the key in stmts_ (nodes do not move)
    Stmt* stmt;
  };
  std::unordered_map<const char*, Known> by_address_;
  static constexpr size_t kMaxAddresses = 512;

  static Stmt* reuse(Stmt* s) {
    sqlite3_reset(s->stmt);
    sqlite3_clear_bindings(s->stmt);
    return s;
  }
  void remember_address(const char* at, decltype(stmts_)::iterator it) {
    if (by_address_.size() >= kMaxAddresses) by_address_.clear();
    by_address_[at] = Known{&it->first, &it->second};
  }
};

class SqliteTx final : public Tx {
 public:
  explicit SqliteTx(Conn& c) : c_(c) {}
  Result<Rows> query(std::string_view sql, std::span<const Value> params) override {
    return c_.query(sql, params);
  }
  Status exec_script(std::string_view sql) override { return c_.exec_script(sql); }
  Status lock_key(std::string_view) override { return ok(); }
  Result<int64_t> insert_id(std::string_view sql, std::span<const Value> params) override {
    FIDELIS_RETURN_IF_ERROR(c_.insert_row(sql, params));
    // An insert that stored nothing (OR IGNORE, DO NOTHING) would leave the previous row's id.
    if (c_.changes() != 1) return Error::internal("an insert returned no id");
    return c_.last_insert_rowid();
  }

 private:
  Conn& c_;
};

// A loader appending whole tables (bulk_insert) checkpoints rarely; one that also reads what it
// wrote (an import) keeps the WAL smaller, as every page read searches the WAL's index first.
constexpr std::string_view kAppendCheckpoints = "PRAGMA wal_autocheckpoint=100000";
constexpr std::string_view kBulkCheckpoints = "PRAGMA wal_autocheckpoint=10000";
constexpr std::string_view kUsualCheckpoints = "PRAGMA wal_autocheckpoint=1000; PRAGMA wal_checkpoint(PASSIVE)";

class SqliteDb final : public Db {
 public:
  SqliteDb(std::unique_ptr<Conn> writer, std::string path, DbOptions o)
      : writer_(std::move(writer)), path_(std::move(path)), options_(std::move(o)) {}

  Dialect dialect() const override { return Dialect::kSqlite; }

  Result<Rows> query(std::string_view sql, std::span<const Value> params) override {
    if (detail::is_read_only(sql) && path_ != ":memory:") {
      FIDELIS_ASSIGN_OR_RETURN(std::unique_ptr<Conn> reader, acquire_reader());
      auto result = reader->query(sql, params);
      release_reader(std::move(reader));
      return result;
    }
    std::lock_guard lock(write_mu_);
    return writer_->query(sql, params);
  }

  Status read(const std::function<Status(Tx&)>& fn) override {
    if (path_ == ":memory:") return transact(fn);
    FIDELIS_ASSIGN_OR_RETURN(std::unique_ptr<Conn> reader, acquire_reader());
    // Prepared once per connection, unlike exec_script: this runs on every read.
    Status s = reader->insert_row("BEGIN", {});
    if (s) {
      SqliteTx tx(*reader);
      try {
        s = fn(tx);
      } catch (...) {
        (void)reader->insert_row("ROLLBACK", {});
        release_reader(std::move(reader));
        throw;
      }
      Status end = reader->insert_row(s ? "COMMIT" : "ROLLBACK", {});
      if (s && !end) s = end;
    }
    release_reader(std::move(reader));
    return s;
  }

  Status try_transact(const std::function<Status(Tx&)>& fn) override {
    std::unique_lock lock(write_mu_, std::try_to_lock);
    if (!lock.owns_lock()) return Error::unavailable("the SQLite writer is busy");
    return transact_locked(fn);
  }

  Status transact(const std::function<Status(Tx&)>& fn) override {
    std::lock_guard lock(write_mu_);
    return transact_locked(fn);
  }

  Status transact_locked(const std::function<Status(Tx&)>& fn) {
    FIDELIS_RETURN_IF_ERROR(writer_->exec_script("BEGIN IMMEDIATE"));
    SqliteTx tx(*writer_);
    Status s = ok();
    try {
      s = fn(tx);
    } catch (...) {
      // Whatever threw, the writer leaves the transaction: otherwise every later write would fail.
      (void)writer_->exec_script("ROLLBACK");
      throw;
    }
    if (!s) {
      (void)writer_->exec_script("ROLLBACK");
      return s;
    }
    if (Status c = writer_->exec_script("COMMIT"); !c) {
      (void)writer_->exec_script("ROLLBACK");
      return c;
    }
    return ok();
  }

  Result<int64_t> bulk_insert(std::string_view table, std::span<const std::string> columns,
                              const RowSource& source, int64_t batch_rows) override {
    std::string sql = fmt::format("INSERT INTO {} ({}) VALUES (", table, fmt::join(columns, ", "));
    for (size_t i = 0; i < columns.size(); ++i) sql += fmt::format("{}${}", i ? ", " : "", i + 1);
    sql += ")";
    std::lock_guard lock(write_mu_);
    // Fewer, larger checkpoints while loading: pages touched again and again are copied once.
    FIDELIS_RETURN_IF_ERROR(writer_->exec_script(kAppendCheckpoints));
    struct RestoreCheckpoint {
      Conn& c;
      ~RestoreCheckpoint() { (void)c.exec_script(kUsualCheckpoints); }
    } restore{*writer_};
    FIDELIS_ASSIGN_OR_RETURN(Conn::Stmt * insert, writer_->prepare(sql));
    int64_t total = 0;
    std::vector<Value> row;
    bool more = true;
    while (more) {
      FIDELIS_RETURN_IF_ERROR(writer_->exec_script("BEGIN IMMEDIATE"));
      int64_t in_batch = 0;
      Status status = ok();
      while (in_batch < batch_rows) {
        row.clear();
        auto next = source(row);
        if (!next) { status = next.error(); break; }
        if (!*next) { more = false; break; }
        if (row.size() != columns.size()) {
          status = Error::internal(fmt::format("bulk row has {} values for {} columns", row.size(), columns.size()));
          break;
        }
        if (Status r = writer_->step_prepared(*insert, row); !r) { status = r.error(); break; }
        ++in_batch;
      }
      if (!status) {
        (void)writer_->exec_script("ROLLBACK");
        return status.error();
      }
      FIDELIS_RETURN_IF_ERROR(writer_->exec_script("COMMIT"));
      total += in_batch;
    }
    return total;
  }

  Status set_bulk_loading(bool on) override {
    std::lock_guard lock(write_mu_);
    return writer_->exec_script(on ? kBulkCheckpoints : kUsualCheckpoints);
  }

  Status sync_id_sequence(std::string_view) override { return ok(); }

  PoolStats pool_stats() const override {
    std::lock_guard lock(pool_mu_);
    return PoolStats{opened_readers_ + 1, in_use_, waits_, timeouts_};
  }

 private:
  Result<std::unique_ptr<Conn>> acquire_reader() {
    std::unique_lock lock(pool_mu_);
    if (readers_.empty() && opened_readers_ < options_.pool_size) {
      ++opened_readers_;
      ++in_use_;
      lock.unlock();
      auto c = Conn::open(path_, options_, /*readonly=*/true);
      if (!c) {
        std::lock_guard relock(pool_mu_);
        --opened_readers_;
        --in_use_;
      }
      return c;
    }
    if (readers_.empty()) {
      ++waits_;
      if (!pool_cv_.wait_for(lock, std::chrono::milliseconds(options_.acquire_timeout_ms),
                             [&] { return !readers_.empty(); })) {
        ++timeouts_;
        return Error::unavailable("no SQLite reader connection became free in time");
      }
    }
    auto c = std::move(readers_.back());
    readers_.pop_back();
    ++in_use_;
    return c;
  }

  void release_reader(std::unique_ptr<Conn> c) {
    {
      std::lock_guard lock(pool_mu_);
      readers_.push_back(std::move(c));
      --in_use_;
    }
    pool_cv_.notify_one();
  }

  std::mutex write_mu_;
  std::unique_ptr<Conn> writer_;
  std::string path_;
  DbOptions options_;
  mutable std::mutex pool_mu_;
  std::condition_variable pool_cv_;
  std::vector<std::unique_ptr<Conn>> readers_;
  int opened_readers_ = 0;
  int in_use_ = 0;
  int64_t waits_ = 0;
  int64_t timeouts_ = 0;
};

}  // namespace

Result<std::unique_ptr<Db>> open_sqlite(const std::string& path, const DbOptions& options) {
  FIDELIS_ASSIGN_OR_RETURN(std::unique_ptr<Conn> writer, Conn::open(path, options, /*readonly=*/false));
  return std::unique_ptr<Db>(new SqliteDb(std::move(writer), path, options));
}

}  // namespace fidelis::storage

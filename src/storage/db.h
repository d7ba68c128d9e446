#pragma once
// storage: Fidelis's thin layer over the sqlite3 C API and libpq.
//
// One SQL text runs on both drivers: `$1..$N` placeholders (bound by name on SQLite, so `$2, $1`
// is safe), INSERT .. ON CONFLICT .. RETURNING, LIMIT/OFFSET, CAST(x AS BIGINT). Times are BIGINT
// epoch milliseconds, flags INTEGER 0/1, money BIGINT minor units. The few places the dialects
// must differ are migration tokens (see migrate.h) and `Db::dialect()`.
//
// Thread-safety: a Db is shared by all threads. A Tx belongs to the thread running the transaction
// callback and must not escape it.
//
// Errors: a unique-key violation is AlreadyExists (field = the column, when the driver says it) on
// both drivers; a lost serialization race or deadlock is Conflict; a database that cannot be reached
// or a pool that stays empty past the wait is Unavailable; anything else is Internal with the
// driver's message.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/result.h"

namespace fidelis::storage {

using Value = std::variant<std::monostate, int64_t, double, std::string>;
inline Value null() { return std::monostate{}; }
template <typename T>
Value opt(const std::optional<T>& v) {
  if (!v) return std::monostate{};
  return Value(*v);
}

class Row {
 public:
  explicit Row(std::vector<Value> values) : values_(std::move(values)) {}
  size_t size() const { return values_.size(); }
  const Value& operator[](size_t i) const { return values_.at(i); }
  bool is_null(size_t i) const { return std::holds_alternative<std::monostate>(values_.at(i)); }
  // Integer value; 0 for NULL; parses text (PostgreSQL numeric types arrive as numbers already).
  int64_t i64(size_t i) const;
  double f64(size_t i) const;
  // Text value; "" for NULL; integers are formatted.
  std::string str(size_t i) const;
  std::optional<std::string> opt_str(size_t i) const;
  std::optional<int64_t> opt_i64(size_t i) const;

 private:
  std::vector<Value> values_;
};

struct Rows {
  std::vector<std::string> columns;
  std::vector<Row> rows;
  int64_t affected = 0;  // rows changed by INSERT/UPDATE/DELETE
  bool empty() const { return rows.empty(); }
};

enum class Dialect { kSqlite, kPostgres };

// A connection inside a transaction opened by Db::transact.
class Tx {
 public:
  virtual ~Tx() = default;
  virtual Result<Rows> query(std::string_view sql, std::span<const Value> params = {}) = 0;
  // Several statements separated by ';', no parameters (migrations).
  virtual Status exec_script(std::string_view sql) = 0;
  // Serialises writers on `key` until this transaction ends: a check-then-insert on that key (a
  // live customer's e-mail, say) cannot race another one. PostgreSQL: a transaction-scoped
  // advisory lock on the key's hash; SQLite: nothing to do, its single writer already serialises.
  virtual Status lock_key(std::string_view key) = 0;

  // Convenience: first row, or nullopt.
  Result<std::optional<Row>> one(std::string_view sql, std::span<const Value> params = {});
  Result<int64_t> exec(std::string_view sql, std::span<const Value> params = {});
  // Inserts one row with a plain `INSERT INTO t (..) VALUES (..)` (no ON CONFLICT, no RETURNING)
  // and returns the `id` it was given. SQLite reads the new rowid, sparing the result table a
  // RETURNING clause costs it on every row; PostgreSQL appends `RETURNING id`.
  virtual Result<int64_t> insert_id(std::string_view sql, std::span<const Value> params = {});
};

struct PoolStats {
  int size = 0;         // connections opened
  int in_use = 0;       // connections lent out now
  int64_t waits = 0;    // acquisitions that had to wait
  int64_t timeouts = 0; // acquisitions that gave up (Unavailable)
};

// A sink fed rows one at a time by a bulk load. Return false from `next` when there are no more.
using RowSource = std::function<Result<bool>(std::vector<Value>& row)>;

struct DbOptions {
  int pool_size = 8;                     // PostgreSQL connections; SQLite reader connections
  std::string sqlite_synchronous = "NORMAL";
  int64_t acquire_timeout_ms = 5000;     // wait for a pooled connection before Unavailable
};

class Db {
 public:
  virtual ~Db() = default;

  // `url` is `sqlite:PATH` or `postgresql://...` (also `postgres://`). Unavailable if the server
  // cannot be reached; InvalidArgument (field "db") for an unknown scheme.
  static Result<std::unique_ptr<Db>> open(const std::string& url, const DbOptions& options = {});

  virtual Dialect dialect() const = 0;
  // A single statement in its own implicit transaction. On SQLite, statements starting with SELECT
  // or WITH run on a reader connection in parallel with the writer.
  virtual Result<Rows> query(std::string_view sql, std::span<const Value> params = {}) = 0;
  // Runs `fn` in a transaction: committed if it returns ok, rolled back otherwise. On SQLite the
  // transaction takes the single writer lock at once (BEGIN IMMEDIATE).
  virtual Status transact(const std::function<Status(Tx&)>& fn) = 0;
  // Like transact, but gives up at once with Unavailable when the SQLite writer is busy (another
  // transaction or a bulk load holds it). For best-effort bookkeeping on latency-sensitive paths.
  // Same as transact on PostgreSQL.
  virtual Status try_transact(const std::function<Status(Tx&)>& fn) = 0;
  // Runs `fn` on one connection in a read-only transaction: every query in it sees the same
  // snapshot (SQLite: a reader connection in WAL mode; PostgreSQL: REPEATABLE READ READ ONLY).
  // Writes inside fail.
  virtual Status read(const std::function<Status(Tx&)>& fn) = 0;
  // Bulk load: PostgreSQL COPY; SQLite one prepared INSERT in batched transactions. All or nothing
  // per call on PostgreSQL; on SQLite each batch of `batch_rows` commits on its own.
  virtual Result<int64_t> bulk_insert(std::string_view table, std::span<const std::string> columns,
                                      const RowSource& source, int64_t batch_rows = 50'000) = 0;
  // Between set_bulk_loading(true) and (false), a loader writing large batches: SQLite lets the WAL
  // grow (far fewer checkpoints, pages rewritten again and again are copied once) and checkpoints
  // when it ends; nothing on PostgreSQL.
  virtual Status set_bulk_loading(bool on) = 0;
  virtual PoolStats pool_stats() const = 0;
  // After rows were inserted with explicit ids into `table` (bulk loads), makes the next generated
  // id larger than all of them (PostgreSQL moves the identity sequence; SQLite needs nothing).
  virtual Status sync_id_sequence(std::string_view table) = 0;

  Result<std::optional<Row>> one(std::string_view sql, std::span<const Value> params = {});
  Result<int64_t> exec(std::string_view sql, std::span<const Value> params = {});
};

// A secret of `bytes` random bytes kept in the settings table under `name` (hex), made from the
// operating system's random source the first time it is asked for; every process then reads the
// same one (when two make it at once, the first stored wins). Internal error when the stored value
// is not `bytes` bytes of hex.
Result<std::string> secret_setting(Db& db, std::string_view name, size_t bytes);

// Runs `upgrade` unless the settings table holds `version` under `name`, then records it there:
// work a new version of the rules does once to what a base stored under the rules before (the
// first start of the server or of any command). A failed `upgrade` records nothing: the next start
// runs it again.
Status upgrade_once(Db& db, std::string_view name, std::string_view version, const std::function<Status()>& upgrade);

// Appends `ids` to `params` and returns their placeholders, numbered after the parameters already
// there: with two parameters before, three ids give "$3, $4, $5" (for `x IN (...)`).
std::string append_in_list(std::vector<Value>& params, std::span<const int64_t> ids);

// Storage-internal helpers shared by both drivers.
namespace detail {
// True when `sql` starts (after blanks and comments) with SELECT or WITH.
bool is_read_only(std::string_view sql);
}  // namespace detail

}  // namespace fidelis::storage

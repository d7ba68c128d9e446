// What the settings table keeps: secrets (signing keys for links), and which one-time upgrades of
// stored data a base has had.

#include <sys/random.h>

#include <fmt/format.h>

#include "core/text.h"
#include "storage/db.h"

namespace fidelis::storage {

Result<std::string> secret_setting(Db& db, std::string_view name, size_t bytes) {
  Value k[] = {std::string(name)};
  FIDELIS_ASSIGN_OR_RETURN(std::optional<Row> row, db.one("SELECT value FROM settings WHERE key = $1", k));
  if (!row) {
    std::string fresh(bytes, '\0');
    if (getrandom(fresh.data(), fresh.size(), 0) != static_cast<ssize_t>(fresh.size()))
      return Error::internal("the operating system gave no random bytes");
    Value p[] = {k[0], text::hex_encode(fresh)};
    FIDELIS_RETURN_IF_ERROR(db.transact([&](Tx& tx) -> Status {
      // Another process may have made it first: its secret wins, read back below.
      FIDELIS_RETURN_IF_ERROR(tx.exec("INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING", p));
      return ok();
    }));
    FIDELIS_ASSIGN_OR_RETURN(row, db.one("SELECT value FROM settings WHERE key = $1", k));
  }
  std::string raw;
  if (!row || !text::hex_decode(row->str(0), raw) || raw.size() != bytes)
    return Error::internal(fmt::format("the {} in settings is malformed", name));
  return raw;
}

Status upgrade_once(Db& db, std::string_view name, std::string_view version, const std::function<Status()>& upgrade) {
  Value k[] = {std::string(name)};
  FIDELIS_ASSIGN_OR_RETURN(std::optional<Row> row, db.one("SELECT value FROM settings WHERE key = $1", k));
  if (row && row->str(0) == version) return ok();
  FIDELIS_RETURN_IF_ERROR(upgrade());
  Value p[] = {k[0], std::string(version)};
  return db.transact([&](Tx& tx) -> Status {
    FIDELIS_RETURN_IF_ERROR(
        tx.exec("INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value", p));
    return ok();
  });
}

}  // namespace fidelis::storage

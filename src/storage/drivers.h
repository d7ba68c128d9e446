#pragma once
// Internal to storage: the two drivers' constructors, called by Db::open.

#include <memory>
#include <string>

#include "storage/db.h"

namespace fidelis::storage {

Result<std::unique_ptr<Db>> open_sqlite(const std::string& path, const DbOptions& options);
Result<std::unique_ptr<Db>> open_postgres(const std::string& url, const DbOptions& options);

}  // namespace fidelis::storage

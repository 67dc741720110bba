// hailong — numbered schema migrations, run at start and by `hailong migrate`.
#pragma once

#include "store/Database.h"

#include <string>
#include <vector>

namespace hailong {

/// One numbered migration: statements run in one transaction, in order.
struct Migration {
    int version;
    std::string name;
    std::vector<std::string> statements;  ///< may use Database::dialect tokens
};

/// The schema's history. Stateless; safe to call from several hosts at once (PostgreSQL
/// serializes with an advisory lock, SQLite with BEGIN IMMEDIATE).
class Migrations {
public:
    /// Every migration the product knows, ascending.
    static const std::vector<Migration>& all();
    /// Applies the missing ones; returns the versions applied now. Refuses (throws
    /// std::runtime_error) a database whose schema is newer than this binary.
    static std::vector<int> apply(Database& db);
    /// The highest version applied, 0 for an empty database.
    static int currentVersion(Database& db);
};

}  // namespace hailong

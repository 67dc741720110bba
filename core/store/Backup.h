// hailong — Backup: a consistent copy of the database taken while it serves, and its restore.
#pragma once

#include "store/DatabaseUrl.h"

#include <cstdint>
#include <string>

namespace hailong {

/// What a backup or a restore did.
struct BackupReport {
    std::int64_t bytes = 0;  ///< the backup file's size
    int schemaVersion = 0;   ///< the schema version the file holds
};

/// Copies the database at `url` into `file` (written as FILE.part, synced, then renamed), one
/// consistent snapshot while writers go on: SQLite's online backup API inside one read
/// transaction; for PostgreSQL `pg_dump --format=custom` (its own snapshot). Throws
/// std::runtime_error saying what failed; `file` is then untouched. Thread-safe (no state).
BackupReport backupDatabase(const DatabaseUrl& url, const std::string& file);

/// Replaces the database at `url` with the backup in `file`, after checking the file (SQLite:
/// integrity_check; PostgreSQL: pg_restore --list) and that its schema is not newer than this
/// binary's. Refuses a target that already holds responses unless `force`. The hosts using the
/// target must be stopped. Throws std::runtime_error saying what failed.
BackupReport restoreDatabase(const DatabaseUrl& url, const std::string& file, bool force);

}  // namespace hailong

// hailong — every configuration key, its default and what it means (README lists the same).
#pragma once

#include <Poco/AutoPtr.h>
#include <Poco/Util/LayeredConfiguration.h>

#include <map>
#include <string>
#include <vector>

namespace hailong {

struct Setting {
    const char* key;
    const char* defaultValue;
    const char* description;
    bool secret = false;
};

/// The documented keys, in README order.
const std::vector<Setting>& settings();

/// The database to open: db.url, or when it is empty the SQLite file hailong.db in paths.data
/// (so that moving the data folder moves the database with it).
std::string databaseUrl(const Poco::Util::AbstractConfiguration& config);

/// The effective configuration: flags > environment (HAILONG_*) > config file > defaults.
/// Immutable after load(); thread-safe for reads.
class Settings {
public:
    /// `file` may be empty (no config file). `flags` are --port/--db/--set overrides.
    /// Throws std::runtime_error for an unreadable file or a malformed value.
    static Settings load(const std::string& file, const std::map<std::string, std::string>& flags,
                         char** environ);

    Poco::Util::LayeredConfiguration& config() const { return *config_; }
    /// Where a key's value comes from: "flag", "env HAILONG_X", "file", "default".
    std::string sourceOf(const std::string& key) const;
    /// Environment variable name for a key: "db.url" -> "HAILONG_DB_URL".
    static std::string envName(const std::string& key);
    const std::string& file() const { return file_; }
    /// Keys set in the environment or file that hailong does not know (likely typos).
    const std::vector<std::string>& unknownKeys() const { return unknown_; }

private:
    mutable Poco::AutoPtr<Poco::Util::LayeredConfiguration> config_;
    Poco::AutoPtr<Poco::Util::AbstractConfiguration> flags_, env_, file_config_;
    std::string file_;
    std::vector<std::string> unknown_;
};

}  // namespace hailong

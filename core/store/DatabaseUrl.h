// hailong — DatabaseUrl: reads `db.url` ("sqlite:PATH" or "postgresql://user:pw@host:port/db").
#pragma once

#include <string>
#include <string_view>

namespace hailong {

enum class Backend { SQLite, PostgreSQL };

/// A parsed database URL. A value type.
struct DatabaseUrl {
    Backend backend = Backend::SQLite;
    std::string connector;         ///< Poco::Data connector name
    std::string connectionString;  ///< what the connector takes (a path, or libpq key=value)
    std::string sqlitePath;        ///< SQLite only
    std::string redacted;          ///< the URL with any password replaced by "***"

    /// Throws Problem(400, "db.url_invalid") for anything else.
    static DatabaseUrl parse(std::string_view url);
};

}  // namespace hailong

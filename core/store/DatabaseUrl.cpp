#include "store/DatabaseUrl.h"

#include <hailong/Problem.h>

#include <Poco/Exception.h>
#include <Poco/URI.h>

#include <map>
#include <sstream>

namespace hailong {
namespace {

// libpq key=value quoting: single quotes, with ' and \ escaped.
std::string quoteValue(const std::string& v) {
    std::string out = "'";
    for (char c : v) {
        if (c == '\'' || c == '\\') out.push_back('\\');
        out.push_back(c);
    }
    out.push_back('\'');
    return out;
}

[[noreturn]] void invalid(std::string_view url, std::string why) {
    throw Problem(400, "db.url_invalid", {{"url", std::string(url)}, {"reason", std::move(why)}});
}

}  // namespace

DatabaseUrl DatabaseUrl::parse(std::string_view url) {
    DatabaseUrl out;
    if (url.starts_with("sqlite:")) {
        std::string path(url.substr(7));
        if (path.starts_with("//")) path = path.substr(2);  // sqlite:///abs/path
        if (path.empty()) invalid(url, "missing file path");
        out.backend = Backend::SQLite;
        out.connector = "SQLite";
        out.sqlitePath = path;
        out.connectionString = path;
        out.redacted = "sqlite:" + path;
        return out;
    }
    if (url.starts_with("postgresql://") || url.starts_with("postgres://")) {
        Poco::URI uri;
        try {
            uri = Poco::URI(std::string(url));
        } catch (const Poco::Exception& e) {
            invalid(url, e.message());
        }
        std::ostringstream cs;
        const std::string host = uri.getHost().empty() ? "127.0.0.1" : uri.getHost();
        cs << "host=" << quoteValue(host) << " port=" << (uri.getPort() ? uri.getPort() : 5432);
        std::string user = uri.getUserInfo(), password;
        if (auto colon = user.find(':'); colon != std::string::npos) {
            password = user.substr(colon + 1);
            user = user.substr(0, colon);
        }
        std::string userDecoded, passwordDecoded;
        Poco::URI::decode(user, userDecoded);
        Poco::URI::decode(password, passwordDecoded);
        if (!userDecoded.empty()) cs << " user=" << quoteValue(userDecoded);
        if (!passwordDecoded.empty()) cs << " password=" << quoteValue(passwordDecoded);
        std::string db = uri.getPath();
        if (db.starts_with("/")) db = db.substr(1);
        if (db.empty()) invalid(url, "missing database name");
        cs << " dbname=" << quoteValue(db);
        // Fail fast on an unreachable server and notice dead connections; the URL's own
        // parameters win over these defaults.
        std::map<std::string, std::string> params{{"connect_timeout", "5"},
                                                  {"keepalives", "1"},
                                                  {"keepalives_idle", "30"},
                                                  {"keepalives_interval", "10"},
                                                  {"keepalives_count", "3"}};
        for (const auto& [k, v] : uri.getQueryParameters()) {
            if (k.empty() ||
                k.find_first_not_of("abcdefghijklmnopqrstuvwxyz_") != std::string::npos)
                invalid(url, "bad parameter " + k);
            if (v.find_first_of(" '\\") != std::string::npos)
                invalid(url, "parameter " + k + " may not hold spaces or quotes");
            params[k] = v;
        }
        for (const auto& [k, v] : params) cs << ' ' << k << '=' << quoteValue(v);
        out.backend = Backend::PostgreSQL;
        out.connector = "PostgreSQL";
        out.connectionString = cs.str();
        std::string red(url);
        if (!password.empty()) {
            const auto at = red.find(password + "@");
            if (at != std::string::npos) red.replace(at, password.size(), "***");
        }
        out.redacted = red;
        return out;
    }
    invalid(url, "expected sqlite:PATH or postgresql://USER@HOST:PORT/DB");
}

}  // namespace hailong

#include "plugin/PluginStateStore.h"

#include "common/Clock.h"

#include <Poco/Nullable.h>

#include <stdexcept>

using namespace Poco::Data::Keywords;
using Poco::Data::Session;

namespace hailong {

std::optional<std::string> PluginStateStore::get(std::string_view key) {
    return db_.read([&](Session& s) -> std::optional<std::string> {
        std::string k(key), plugin = plugin_;
        Poco::Nullable<std::string> value;
        const std::int64_t at = nowMs();
        s << "SELECT value FROM plugin_state WHERE plugin = $1 AND record_key = $2 AND "
             "expires_at > $3",
            use(plugin), use(k), bind(at), into(value), now;
        if (value.isNull()) return std::nullopt;
        return value.value();
    });
}

void PluginStateStore::put(std::string_view key, std::string_view value, std::int64_t expiresAtMs) {
    if (key.empty() || key.size() > 200) throw std::invalid_argument("plugin state key size");
    if (value.size() > 65536) throw std::invalid_argument("plugin state value size");
    db_.write([&](Session& s) {
        std::string k(key), v(value), plugin = plugin_;
        const std::int64_t at = nowMs();
        s << "INSERT INTO plugin_state (plugin, record_key, value, expires_at, updated_at) VALUES "
             "($1, $2, $3, $4, $5) ON CONFLICT (plugin, record_key) DO UPDATE SET value = "
             "excluded.value, expires_at = excluded.expires_at, updated_at = excluded.updated_at",
            use(plugin), use(k), use(v), bind(expiresAtMs), bind(at), now;
    });
}

void PluginStateStore::erase(std::string_view key) {
    db_.write([&](Session& s) {
        std::string k(key), plugin = plugin_;
        s << "DELETE FROM plugin_state WHERE plugin = $1 AND record_key = $2", use(plugin), use(k),
            now;
    });
}

bool PluginStateStore::add(std::string_view key, std::string_view value, std::int64_t expiresAtMs) {
    if (key.empty() || key.size() > 200) throw std::invalid_argument("plugin state key size");
    if (value.size() > 65536) throw std::invalid_argument("plugin state value size");
    return db_.write([&](Session& s) {
        std::string k(key), v(value), plugin = plugin_;
        const std::int64_t at = nowMs();
        // An expired record counts as absent: replaced only while still expired.
        Poco::Data::Statement replace(s);
        replace << "UPDATE plugin_state SET value = $1, expires_at = $2, updated_at = $3 WHERE "
                   "plugin = $4 AND record_key = $5 AND expires_at <= $6",
            use(v), bind(expiresAtMs), bind(at), use(plugin), use(k), bind(at);
        if (replace.execute() > 0) return true;
        Poco::Data::Statement insert(s);
        insert << "INSERT INTO plugin_state (plugin, record_key, value, expires_at, updated_at) "
                  "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (plugin, record_key) DO NOTHING",
            use(plugin), use(k), use(v), bind(expiresAtMs), bind(at);
        return insert.execute() > 0;
    });
}

std::optional<std::string> PluginStateStore::take(std::string_view key) {
    return db_.write([&](Session& s) -> std::optional<std::string> {
        std::string k(key), plugin = plugin_;
        const std::int64_t at = nowMs();
        Poco::Nullable<std::string> value;
        s << "DELETE FROM plugin_state WHERE plugin = $1 AND record_key = $2 AND expires_at > $3 "
             "RETURNING value",
            use(plugin), use(k), bind(at), into(value), now;
        if (value.isNull()) return std::nullopt;
        return value.value();
    });
}

std::vector<std::pair<std::string, std::string>> PluginStateStore::takeExpired(
    std::string_view prefix, std::int64_t nowMs, std::size_t limit) {
    return db_.write([&](Session& s) {
        // The prefix is literal: '!' escapes LIKE's wildcards (and itself).
        std::string plugin = plugin_, like;
        for (char c : prefix) {
            if (c == '!' || c == '%' || c == '_') like += '!';
            like += c;
        }
        like += "%";
        // One statement that deletes and returns: of hosts sweeping at once each record goes to
        // one, and a record renewed meanwhile (no longer expired) stays.
        std::vector<std::string> keys, values;
        std::string plugin2 = plugin;
        s << "DELETE FROM plugin_state WHERE plugin = $1 AND expires_at <= $2 AND record_key IN "
             "(SELECT record_key FROM plugin_state WHERE plugin = $3 AND expires_at <= $4 AND "
             "record_key LIKE $5 ESCAPE '!' ORDER BY expires_at LIMIT " +
                 std::to_string(limit) + ") RETURNING record_key, value",
            use(plugin), bind(nowMs), use(plugin2), bind(nowMs), use(like), into(keys),
            into(values), now;
        std::vector<std::pair<std::string, std::string>> out;
        for (std::size_t i = 0; i < keys.size(); ++i) out.emplace_back(keys[i], values[i]);
        return out;
    });
}

}  // namespace hailong

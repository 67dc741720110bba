#include "app/ApiKeys.h"

#include "common/Clock.h"
#include "common/Random.h"
#include "common/Utf8.h"
#include "survey/SurveyParser.h"

#include <hailong/Problem.h>

#include <Poco/Data/RecordSet.h>
#include <Poco/Nullable.h>

using namespace Poco::Data::Keywords;
using Poco::Data::Session;

namespace hailong {
namespace {

constexpr const char* kColumns =
    "SELECT k.name, k.prefix, k.agency_id, a.code, a.path, k.created_at, k.last_used_at, "
    "k.revoked_at FROM api_keys k JOIN agencies a ON a.id = k.agency_id";

std::vector<ApiKey> readKeys(Poco::Data::Statement& st) {
    st.execute();
    Poco::Data::RecordSet rs(st);
    std::vector<ApiKey> out;
    auto optional = [&](std::size_t col) -> std::optional<std::int64_t> {
        if (rs.value(col).isEmpty()) return std::nullopt;
        return rs.value(col).convert<std::int64_t>();
    };
    for (bool more = rs.moveFirst(); more; more = rs.moveNext()) {
        ApiKey k;
        k.name = rs.value(0).convert<std::string>();
        k.prefix = rs.value(1).convert<std::string>();
        k.agencyId = rs.value(2).convert<std::int64_t>();
        k.agencyCode = rs.value(3).convert<std::string>();
        k.agencyPath = rs.value(4).convert<std::string>();
        k.createdAtMs = rs.value(5).convert<std::int64_t>();
        k.lastUsedAtMs = optional(6);
        k.revokedAtMs = optional(7);
        out.push_back(std::move(k));
    }
    return out;
}

}  // namespace

std::string ApiKeyStore::add(const std::string& name, const std::string& agencyCode) {
    if (name.empty() || name.size() > 64 || utf8::firstControl(name))
        throw Problem(422, "directory.invalid", {}, {{"name", "field.required", {}}});
    auto agency = directory_.agency(agencyCode);
    if (!agency)
        throw Problem(422, "directory.invalid", {},
                      {{"agency", "directory.unknown_reference", {{"code", agencyCode}}}});
    const std::string key = "hl_" + random::hex(24);
    db_.write([&](Session& s) {
        int taken = 0;
        std::string n = name;
        s << "SELECT COUNT(*) FROM api_keys WHERE name = $1", use(n), into(taken), now;
        if (taken) throw Problem(409, "apikey.exists", {{"name", name}});
        std::string hash = SurveyParser::hash(key), prefix = key.substr(0, 10);
        std::int64_t agencyId = agency->id;
        const std::int64_t at = nowMs();
        s << "INSERT INTO api_keys (name, agency_id, key_hash, prefix, created_at) "
             "VALUES ($1, $2, $3, $4, $5)",
            use(n), use(agencyId), use(hash), use(prefix), bind(at), now;
    });
    return key;
}

void ApiKeyStore::revoke(const std::string& name) {
    db_.write([&](Session& s) {
        std::string n = name;
        const std::int64_t at = nowMs();
        Poco::Data::Statement st(s);
        st << "UPDATE api_keys SET revoked_at = $1 WHERE name = $2 AND revoked_at IS NULL",
            bind(at), use(n);
        if (st.execute() == 0) throw Problem(404, "apikey.not_found", {{"name", name}});
    });
}

std::vector<ApiKey> ApiKeyStore::list() const {
    return db_.read([](Session& s) {
        Poco::Data::Statement st(s);
        st << std::string(kColumns) + " ORDER BY k.name";
        return readKeys(st);
    });
}

std::optional<ApiKey> ApiKeyStore::authenticate(const std::string& key) const {
    if (!key.starts_with("hl_") || key.size() > 100) return std::nullopt;
    std::string hash = SurveyParser::hash(key);
    auto keys = db_.read([&](Session& s) {
        Poco::Data::Statement st(s);
        st << std::string(kColumns) + " WHERE k.key_hash = $1 AND k.revoked_at IS NULL", use(hash);
        return readKeys(st);
    });
    if (keys.empty()) return std::nullopt;
    // Remember when a key was last used, at most once a minute (no write per request).
    if (!keys.front().lastUsedAtMs || nowMs() - *keys.front().lastUsedAtMs > 60000) {
        db_.write([&](Session& s) {
            const std::int64_t at = nowMs();
            s << "UPDATE api_keys SET last_used_at = $1 WHERE key_hash = $2", bind(at), use(hash),
                now;
        });
    }
    return keys.front();
}

}  // namespace hailong

#include "store/HostSecrets.h"

#include "common/Clock.h"
#include "common/Random.h"

using namespace Poco::Data::Keywords;
using Poco::Data::Session;

namespace hailong {

std::string hostSecret(Database& db, std::string_view name) {
    return db.write([&](Session& s) {
        std::string drawn = random::hex(32), key(name);
        const std::int64_t at = nowMs();
        s << "INSERT INTO host_secrets (name, value, created_at) VALUES ($1, $2, $3) ON CONFLICT "
             "(name) DO NOTHING",
            use(key), use(drawn), bind(at), now;
        std::string value;
        s << "SELECT value FROM host_secrets WHERE name = $1", use(key), into(value), now;
        return value;
    });
}

}  // namespace hailong

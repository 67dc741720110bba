// hailong — API keys for systems that send responses (one-stop software, portals, survey firms).
#pragma once

#include "directory/DirectoryStore.h"
#include "store/Database.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace hailong {

/// A key's identity and scope: it may only send responses for its agency's subtree.
struct ApiKey {
    std::string name;
    std::string prefix;  ///< the first characters of the key, to recognise it
    std::int64_t agencyId = 0;
    std::string agencyCode;
    std::string agencyPath;  ///< "/1/7/": the subtree the key may write to
    std::int64_t createdAtMs = 0;
    std::optional<std::int64_t> lastUsedAtMs, revokedAtMs;
};

/// Keys are shown once at creation and stored as SHA-256 hashes (they are long random
/// strings, so a fast hash is enough). Thread-safe.
class ApiKeyStore {
public:
    ApiKeyStore(Database& db, DirectoryStore& directory) : db_(db), directory_(directory) {}

    /// Creates a key named `name` for `agencyCode`'s subtree; returns the key itself. Throws
    /// Problem(409) for a name in use and Problem(422) for an unknown agency.
    std::string add(const std::string& name, const std::string& agencyCode);
    /// Throws Problem(404) for an unknown name.
    void revoke(const std::string& name);
    std::vector<ApiKey> list() const;
    /// The key's identity, or nullopt for an unknown or revoked key.
    std::optional<ApiKey> authenticate(const std::string& key) const;

private:
    Database& db_;
    DirectoryStore& directory_;
};

}  // namespace hailong

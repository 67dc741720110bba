// hailong — SurveyLinkService: the host's SurveyLinks (signed dossier links to a survey).
#pragma once

#include "store/Database.h"

#include <hailong/SurveyLinks.h>

#include <functional>
#include <mutex>
#include <string>

namespace hailong {

/// Tokens are base64url("<dossier>\n<survey>") "." base64url(first 16 bytes of its
/// HMAC-SHA256 under the link key). The key is the database's "link_key" host secret, so every
/// host of one database signs and reads the same tokens. Thread-safe.
class SurveyLinkService final : public SurveyLinks {
public:
    /// `baseUrl` gives the public address links start with (no trailing slash), asked anew for
    /// each link (a host's port is known only once it serves).
    SurveyLinkService(Database& db, std::function<std::string()> baseUrl);

    std::string token(std::string_view dossierCode, std::string_view surveyId) const override;
    std::optional<SurveyLink> read(std::string_view token) const override;
    std::string url(std::string_view token) const override;
    std::string absolute(std::string_view path) const override;

    /// Reads (or draws and stores) the key now: call once the schema is there.
    void load() const { (void)key(); }

    static constexpr std::size_t kMaxTokenBytes = 256;

private:
    const std::string& key() const;
    std::string signature(std::string_view payload) const;

    Database& db_;
    std::function<std::string()> baseUrl_;
    mutable std::once_flag once_;
    mutable std::string key_;
};

}  // namespace hailong

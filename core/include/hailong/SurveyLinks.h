// hailong — SurveyLinks: the signed links that let whoever holds a dossier's receipt answer a
// survey about that dossier (printed as a QR code, sent in an SMS).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace hailong {

/// What a link's token names.
struct SurveyLink {
    std::string dossierCode;
    std::string surveyId;
};

/// Signs and reads link tokens under a key every host of the database shares. A token cannot
/// be forged for another dossier or survey without the key; it does not expire (one response
/// per dossier and survey is what limits it). Thread-safe.
class SurveyLinks {
public:
    virtual ~SurveyLinks() = default;
    /// The token for a dossier and a survey: URL-safe, the same every time for the same pair.
    virtual std::string token(std::string_view dossierCode, std::string_view surveyId) const = 0;
    /// What `token` names; nullopt when it is malformed, too long, or not signed with the key.
    virtual std::optional<SurveyLink> read(std::string_view token) const = 0;
    /// The address a citizen opens for `token`: "<links.base_url>/s/t/<token>".
    virtual std::string url(std::string_view token) const = 0;
    /// The absolute address of `path` ("/s/r/...") as citizens reach this host.
    virtual std::string absolute(std::string_view path) const = 0;
};

}  // namespace hailong

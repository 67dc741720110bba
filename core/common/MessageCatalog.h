// hailong — MessageCatalog: Messages read from locale/<lang>/messages.json.
#pragma once

#include <hailong/Messages.h>

#include <map>
#include <string>

namespace hailong {

/// Loads "vi" and "en" catalogs (flat JSON objects: key -> text with {name} placeholders).
/// Immutable after construction; thread-safe.
class MessageCatalog final : public Messages {
public:
    /// Reads <localeFolder>/vi/messages.json and <localeFolder>/en/messages.json. A missing or
    /// malformed catalog is a deployment error: throws std::runtime_error naming the file.
    explicit MessageCatalog(const std::string& localeFolder);
    /// Adds (or overrides) messages, e.g. a plugin's own catalog.
    void merge(const std::string& lang, const std::map<std::string, std::string>& messages);

    std::string text(std::string_view lang, std::string_view key,
                     const std::map<std::string, std::string>& params = {}) const override;
    std::string pickLanguage(std::string_view acceptLanguage) const override;

private:
    std::map<std::string, std::map<std::string, std::string, std::less<>>, std::less<>> catalogs_;
};

}  // namespace hailong

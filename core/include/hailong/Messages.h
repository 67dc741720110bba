// hailong — Messages: user-facing text from locale/<lang>/messages.json (Vietnamese first).
#pragma once

#include <map>
#include <string>
#include <string_view>

namespace hailong {

/// `pattern` with each {name} replaced by params' value for it (unknown names stay as written).
std::string fillIn(std::string_view pattern, const std::map<std::string, std::string>& params);

/// Read-only message catalogs. Thread-safe after construction (all methods const).
class Messages {
public:
    virtual ~Messages() = default;
    /// The message `key` in `lang` ("vi" or "en"), with {name} placeholders replaced from
    /// `params`. Falls back to Vietnamese, then to the key itself (never throws).
    virtual std::string text(std::string_view lang, std::string_view key,
                             const std::map<std::string, std::string>& params = {}) const = 0;
    /// The best supported language for an Accept-Language header value; "vi" by default.
    virtual std::string pickLanguage(std::string_view acceptLanguage) const = 0;
};

}  // namespace hailong

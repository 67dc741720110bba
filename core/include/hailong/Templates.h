// hailong — Templates: Mustache pages, HTML-escaped by default.
#pragma once

#include <Poco/Dynamic/Var.h>

#include <string>
#include <string_view>

namespace hailong {

/// Renders Mustache templates from registered folders. Thread-safe; templates are read once
/// and cached.
class Templates {
public:
    virtual ~Templates() = default;
    /// Makes `folder`'s `*.mustache` files available as "<prefix>/<name>" (for a plugin, the
    /// prefix is its name). Partials `{{> name}}` resolve inside the same prefix first.
    virtual void addFolder(std::string_view prefix, const std::string& folder) = 0;
    /// Renders "<prefix>/<name>" with `data` (a JSON-like value). Throws std::runtime_error if
    /// the template is missing or malformed (a bug, not user input).
    virtual std::string render(std::string_view name, const Poco::Dynamic::Var& data) const = 0;
};

}  // namespace hailong

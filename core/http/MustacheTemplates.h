// hailong — MustacheTemplates: Templates on kainjow::mustache (HTML-escaped by default).
#pragma once

#include <hailong/Templates.h>

#include <map>
#include <shared_mutex>
#include <string>

namespace hailong {

/// Reads `*.mustache` files of registered folders on first use and keeps their text.
/// Thread-safe (reader/writer lock on the cache).
class MustacheTemplates final : public Templates {
public:
    void addFolder(std::string_view prefix, const std::string& folder) override;
    std::string render(std::string_view name, const Poco::Dynamic::Var& data) const override;

private:
    std::string source(const std::string& name) const;
    mutable std::shared_mutex mutex_;
    std::map<std::string, std::string> folders_;        // prefix -> folder
    mutable std::map<std::string, std::string> cache_;  // name -> template text
};

}  // namespace hailong

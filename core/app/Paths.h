// hailong — Paths: where the binary finds plugins, surveys, web files and locale data.
#pragma once

#include <Poco/Util/AbstractConfiguration.h>

#include <string>
#include <vector>

namespace hailong {

/// Resolved folders. In the build tree a generated `hailong-paths.properties` next to the
/// binary points at the sources; after `cmake --install` they are found relative to the
/// binary (<prefix>/share/hailong, <prefix>/lib/hailong/plugins). paths.* settings override.
/// A value type.
struct Paths {
    std::vector<std::string> plugins;
    std::string surveys, web, locale, data;
    std::string pluginData;  ///< folder holding plugins/<name>/ data (templates, locale)
    bool buildTree = false;

    static Paths resolve(const Poco::Util::AbstractConfiguration& config,
                         const std::string& executableDir);
    /// The folder of the running executable.
    static std::string executableDir();
};

}  // namespace hailong

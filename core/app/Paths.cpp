#include "app/Paths.h"

#include <Poco/File.h>
#include <Poco/Path.h>
#include <Poco/StringTokenizer.h>
#include <Poco/Util/PropertyFileConfiguration.h>

#include <filesystem>

#ifndef HAILONG_INSTALL_LIBDIR
#define HAILONG_INSTALL_LIBDIR "lib"
#endif

namespace hailong {

std::string Paths::executableDir() {
    std::error_code ec;
    auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
    if (ec) return std::filesystem::current_path().string();
    return exe.parent_path().string();
}

Paths Paths::resolve(const Poco::Util::AbstractConfiguration& config,
                     const std::string& executableDir) {
    Paths p;
    const std::string marker = executableDir + "/hailong-paths.properties";
    if (Poco::File(marker).exists()) {
        Poco::AutoPtr<Poco::Util::PropertyFileConfiguration> build =
            new Poco::Util::PropertyFileConfiguration(marker);
        const std::string source = build->getString("source_dir");
        p.buildTree = true;
        p.plugins = {build->getString("plugin_dir")};
        p.surveys = source + "/surveys";
        p.web = source + "/web";
        p.locale = source + "/locale";
        p.pluginData = source + "/plugins";
    } else {
        const std::string prefix = Poco::Path(executableDir).parent().toString();
        const std::string share = prefix + "share/hailong";
        p.plugins = {prefix + HAILONG_INSTALL_LIBDIR + "/hailong/plugins"};
        p.surveys = share + "/surveys";
        p.web = share + "/web";
        p.locale = share + "/locale";
        p.pluginData = share + "/plugins";
    }
    if (auto v = config.getString("paths.plugins", ""); !v.empty()) {
        p.plugins.clear();
        Poco::StringTokenizer folders(
            v, ":", Poco::StringTokenizer::TOK_TRIM | Poco::StringTokenizer::TOK_IGNORE_EMPTY);
        for (const auto& f : folders) p.plugins.push_back(f);
    }
    if (auto v = config.getString("paths.surveys", ""); !v.empty()) p.surveys = v;
    if (auto v = config.getString("paths.web", ""); !v.empty()) p.web = v;
    if (auto v = config.getString("paths.locale", ""); !v.empty()) p.locale = v;
    p.data = config.getString("paths.data", "data");
    return p;
}

}  // namespace hailong

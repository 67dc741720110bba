#include "plugin/PluginLoader.h"

#include <hailong/Problem.h>

#include <Poco/DirectoryIterator.h>
#include <Poco/File.h>
#include <Poco/Logger.h>
#include <Poco/Path.h>
#include <Poco/SharedLibrary.h>

#include <algorithm>
#include <map>
#include <set>

namespace hailong {

PluginLoader::PluginLoader(Poco::Logger& log) : log_(log), loader_(std::make_unique<Loader>()) {}

PluginLoader::~PluginLoader() {
    stopAll();
    loaded_.clear();  // destroy the instances while their code is mapped
    // Never unload: code of a plugin may still be referenced (static destructors, thread-local
    // data, handlers being destroyed), and the process is ending anyway. The loader is kept
    // reachable on purpose, so leak checkers do not report it.
    static auto* retired = new std::vector<std::unique_ptr<Loader>>;
    retired->push_back(std::move(loader_));
}

void PluginLoader::load(const std::vector<std::string>& folders,
                        const std::vector<std::string>& enabled) {
    const bool all =
        enabled.empty() || std::find(enabled.begin(), enabled.end(), "*") != enabled.end();
    // name -> path, first folder wins
    std::map<std::string, std::string> found;
    const std::string suffix = Poco::SharedLibrary::suffix();
    for (const std::string& folder : folders) {
        Poco::File dir(folder);
        if (!dir.exists() || !dir.isDirectory()) continue;
        for (Poco::DirectoryIterator it(folder), end; it != end; ++it) {
            const std::string file = it.name();
            if (!file.starts_with("lib") || !file.ends_with(suffix) || !it->isFile()) continue;
            const std::string name = file.substr(3, file.size() - 3 - suffix.size());
            found.emplace(name, it.path().toString());
        }
    }
    std::vector<std::string> names;
    if (all) {
        for (const auto& [name, path] : found) names.push_back(name);
    } else {
        for (const std::string& n : enabled)
            if (!n.empty() && std::find(names.begin(), names.end(), n) == names.end())
                names.push_back(n);
    }
    for (const std::string& name : names) {
        auto it = found.find(name);
        if (it == found.end()) {
            std::string where;
            for (const auto& f : folders) where += (where.empty() ? "" : ", ") + f;
            statuses_.push_back(
                {name, "", "refused", "file lib" + name + suffix + " not found in " + where});
            log_.error("plugin %s refused: %s", name, statuses_.back().reason);
            continue;
        }
        loadFile(name, it->second);
    }
}

void PluginLoader::loadFile(const std::string& name, const std::string& path) {
    PluginStatus status{name, path, "refused", ""};
    try {
        // Check the API version through a plain C symbol before anything is constructed: a
        // plugin built against other headers may lay out its classes differently.
        Poco::SharedLibrary library(path);  // stays loaded: plugins are never unloaded
        if (!library.hasSymbol("hailong_plugin_api")) {
            status.reason =
                "not a hailong plugin (no hailong_plugin_api; use HAILONG_EXPORT_PLUGIN)";
        } else {
            auto api = reinterpret_cast<int (*)()>(library.getSymbol("hailong_plugin_api"));
            const int version = api();
            if (version != HAILONG_PLUGIN_API) {
                status.reason = "plugin API version " + std::to_string(version) +
                                ", this host needs " + std::to_string(HAILONG_PLUGIN_API) +
                                " (rebuild the plugin against this hailong)";
            } else {
                loader_->loadLibrary(path);
                const auto* manifest = loader_->findManifest(path);
                if (!manifest || manifest->begin() == manifest->end()) {
                    status.reason = "the library exports no hailong::ChannelPlugin";
                } else {
                    std::unique_ptr<ChannelPlugin> plugin(manifest->begin()->create());
                    status.name = plugin->name();
                    status.state = "loaded";
                    loaded_.push_back({statuses_.size(), std::move(plugin), false});
                }
            }
        }
    } catch (const Poco::Exception& e) {
        status.reason = e.displayText();
    } catch (const std::exception& e) {
        status.reason = e.what();
    }
    if (status.state == "refused")
        log_.error("plugin %s refused: %s", name, status.reason);
    else
        log_.information("plugin %s loaded from %s", status.name, path);
    statuses_.push_back(std::move(status));
}

void PluginLoader::startAll(const Starter& starter) {
    std::set<std::string> names;
    for (Loaded& l : loaded_) {
        PluginStatus& status = statuses_[l.status];
        if (!names.insert(status.name).second) {
            status.state = "refused";
            status.reason = "another plugin named \"" + status.name + "\" is already loaded";
            log_.error("plugin %s refused: %s", status.name, status.reason);
            continue;
        }
        try {
            starter(*l.plugin);
            l.running = true;
            status.state = "running";
            log_.information("plugin %s started", status.name);
        } catch (const std::exception& e) {
            status.state = "failed";
            status.reason = std::string("start failed: ") + e.what();
            log_.error("plugin %s failed to start: %s", status.name, std::string(e.what()));
            try {
                l.plugin->stop();
            } catch (...) {
            }
        } catch (...) {
            status.state = "failed";
            status.reason = "start failed: unknown exception";
            log_.error("plugin %s failed to start", status.name);
        }
    }
}

void PluginLoader::stopAll() noexcept {
    for (auto it = loaded_.rbegin(); it != loaded_.rend(); ++it) {
        if (!it->running) continue;
        it->plugin->stop();
        it->running = false;
        statuses_[it->status].state = "stopped";
    }
}

}  // namespace hailong

// hailong — PluginLoader: finds channel plugins, loads them with Poco::ClassLoader, checks the
// API version, starts them, and remembers why any of them was refused.
#pragma once

#include <hailong/ChannelPlugin.h>

#include <Poco/ClassLoader.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace Poco {
class Logger;
}

namespace hailong {

/// What happened to one plugin, for logs, `hailong plugins` and /api/v1/health.
struct PluginStatus {
    std::string name;    ///< from the file name ("echo" for libecho.so) or the plugin itself
    std::string file;    ///< full path, "" if not found
    std::string state;   ///< "running", "loaded", "refused", "failed", "stopped"
    std::string reason;  ///< why it was refused or failed
};

/// Owns the class loader and the plugin instances. Plugins are never unloaded while the process
/// runs (the libraries stay mapped until exit). Not thread-safe: use from the main thread.
class PluginLoader {
public:
    using Loader = Poco::ClassLoader<ChannelPlugin>;
    /// Starts one plugin; the host passes its services and the plugin's config view.
    using Starter = std::function<void(ChannelPlugin&)>;

    explicit PluginLoader(Poco::Logger& log);
    ~PluginLoader();
    PluginLoader(const PluginLoader&) = delete;
    PluginLoader& operator=(const PluginLoader&) = delete;

    /// Looks in `folders` (in order) for lib<name>.so files. `enabled` lists the names to
    /// load; "*" or empty loads every plugin found. A name listed but not found is reported.
    void load(const std::vector<std::string>& folders, const std::vector<std::string>& enabled);
    /// Starts every loaded plugin; one that throws is marked failed and left stopped.
    void startAll(const Starter& starter);
    /// Stops running plugins in reverse order of start.
    void stopAll() noexcept;

    const std::vector<PluginStatus>& statuses() const { return statuses_; }

private:
    void loadFile(const std::string& name, const std::string& path);

    Poco::Logger& log_;
    std::unique_ptr<Loader> loader_;
    struct Loaded {
        std::size_t status;  // index in statuses_
        std::unique_ptr<ChannelPlugin> plugin;
        bool running = false;
    };
    std::vector<Loaded> loaded_;
    std::vector<PluginStatus> statuses_;
};

}  // namespace hailong

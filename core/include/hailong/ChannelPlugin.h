// hailong — ChannelPlugin: the base class every channel plugin exports.
#pragma once

#include <hailong/Version.h>

#include <string>

namespace Poco::Util {
class AbstractConfiguration;
}

namespace hailong {

class Host;

/// A channel (counter tablet, SMS, web form...) loaded from a MODULE library with
/// Poco::ClassLoader. Export it with:
///
///     POCO_BEGIN_MANIFEST(hailong::ChannelPlugin)
///         POCO_EXPORT_CLASS(MyPlugin)
///     POCO_END_MANIFEST
///
/// The host creates one instance, calls start() once, and stop() once at shutdown; both on the
/// host's main thread. A plugin is never unloaded while the process runs.
class ChannelPlugin {
public:
    ChannelPlugin() = default;
    ChannelPlugin(const ChannelPlugin&) = delete;
    ChannelPlugin& operator=(const ChannelPlugin&) = delete;
    virtual ~ChannelPlugin();  // defined in libhailong-core (RTTI must be shared)

    /// Short lowercase name: "counter", "sms", "webform". Routes live under /c/<name>/.
    virtual std::string name() const = 0;
    /// Must return HAILONG_PLUGIN_API as compiled into the plugin; otherwise it is refused.
    virtual int apiVersion() const { return HAILONG_PLUGIN_API; }
    /// Registers routes, senders and templates. `config` is the view of the keys
    /// "plugin.<name>.*" (without the prefix). Throwing here marks the plugin failed; the host
    /// carries on without it. `host` outlives the plugin.
    virtual void start(Host& host, const Poco::Util::AbstractConfiguration& config) = 0;
    /// Stops background work. Must not throw.
    virtual void stop() noexcept = 0;
};

}  // namespace hailong

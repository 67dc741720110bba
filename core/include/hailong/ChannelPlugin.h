// hailong — ChannelPlugin: the base class every channel plugin exports.
#pragma once

#include <hailong/Version.h>

#include <Poco/ClassLibrary.h>

#include <string>

namespace Poco::Util {
class AbstractConfiguration;
}

namespace hailong {

class Host;

/// A channel (counter tablet, SMS, web form...) loaded from a MODULE library with
/// Poco::ClassLoader. Export it, once per library, with:
///
///     HAILONG_EXPORT_PLUGIN(MyPlugin)
///
/// The host reads the plugin API version the library was built against (the C function
/// hailong_plugin_api) before it constructs anything, and refuses a mismatch.
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
    /// Registers routes, senders and templates. `config` is the view of the keys
    /// "plugin.<name>.*" (without the prefix). Throwing here marks the plugin failed; the host
    /// carries on without it and withdraws what it registered. `host` and `config` outlive the
    /// plugin.
    virtual void start(Host& host, const Poco::Util::AbstractConfiguration& config) = 0;
    /// Stops background work. Must not throw.
    virtual void stop() noexcept = 0;
};

}  // namespace hailong

/// Exports `Class` (a hailong::ChannelPlugin) and the API version it was compiled against.
#define HAILONG_EXPORT_PLUGIN(Class)                                             \
    extern "C" __attribute__((visibility("default"))) int hailong_plugin_api() { \
        return HAILONG_PLUGIN_API;                                               \
    }                                                                            \
    POCO_BEGIN_MANIFEST(hailong::ChannelPlugin)                                  \
    POCO_EXPORT_CLASS(Class)                                                     \
    POCO_END_MANIFEST

// A plugin built for another plugin API version: the host must refuse it without constructing
// it.
#include <hailong/ChannelPlugin.h>

#include <stdexcept>

#include <Poco/ClassLibrary.h>

namespace {

class WrongApiPlugin final : public hailong::ChannelPlugin {
public:
    // The host must refuse the library before it gets here.
    WrongApiPlugin() { throw std::logic_error("constructed despite a wrong API version"); }
    std::string name() const override { return "wrongapi"; }
    void start(hailong::Host&, const Poco::Util::AbstractConfiguration&) override {}
    void stop() noexcept override {}
};

}  // namespace

// What HAILONG_EXPORT_PLUGIN writes, with a version from another hailong.
extern "C" __attribute__((visibility("default"))) int hailong_plugin_api() {
    return HAILONG_PLUGIN_API + 100;
}

POCO_BEGIN_MANIFEST(hailong::ChannelPlugin)
POCO_EXPORT_CLASS(WrongApiPlugin)
POCO_END_MANIFEST

// A plugin built for another plugin API version: the host must refuse it.
#include <hailong/ChannelPlugin.h>

#include <Poco/ClassLibrary.h>

namespace {

class WrongApiPlugin final : public hailong::ChannelPlugin {
public:
    std::string name() const override { return "wrongapi"; }
    int apiVersion() const override { return HAILONG_PLUGIN_API + 100; }
    void start(hailong::Host&, const Poco::Util::AbstractConfiguration&) override {}
    void stop() noexcept override {}
};

}  // namespace

POCO_BEGIN_MANIFEST(hailong::ChannelPlugin)
POCO_EXPORT_CLASS(WrongApiPlugin)
POCO_END_MANIFEST

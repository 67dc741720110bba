// A plugin whose start() throws after registering a route: the host must mark it failed and
// publish none of its routes.
#include <hailong/ChannelPlugin.h>
#include <hailong/Host.h>

#include <Poco/ClassLibrary.h>

#include <stdexcept>

namespace {

class ThrowingPlugin final : public hailong::ChannelPlugin {
public:
    std::string name() const override { return "throwing"; }
    void start(hailong::Host& host, const Poco::Util::AbstractConfiguration&) override {
        host.router().add("GET", "/half", [](const hailong::HttpRequest&) {
            return hailong::HttpResponse::text("should never be reachable");
        });
        throw std::runtime_error("cannot reach the SMS gateway at 127.0.0.1:1 (test plugin)");
    }
    void stop() noexcept override {}
};

}  // namespace

POCO_BEGIN_MANIFEST(hailong::ChannelPlugin)
POCO_EXPORT_CLASS(ThrowingPlugin)
POCO_END_MANIFEST

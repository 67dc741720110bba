// A plugin whose start() throws after registering a route and an outbox sender: the host must
// mark it failed, publish none of its routes and withdraw its sender.
#include <hailong/ChannelPlugin.h>
#include <hailong/Host.h>

#include <stdexcept>

namespace {

class ThrowingPlugin final : public hailong::ChannelPlugin {
public:
    std::string name() const override { return "throwing"; }
    void start(hailong::Host& host, const Poco::Util::AbstractConfiguration&) override {
        host.router().add("GET", "/half", [](const hailong::HttpRequest&) {
            return hailong::HttpResponse::text("should never be reachable");
        });
        host.outbox().registerSender("throwing", [](const hailong::OutboundMessage&, std::string&) {
            return hailong::DeliveryResult::Sent;  // must never be called
        });
        throw std::runtime_error("cannot reach the SMS gateway at 127.0.0.1:1 (test plugin)");
    }
    void stop() noexcept override {}
};

}  // namespace

HAILONG_EXPORT_PLUGIN(ThrowingPlugin)

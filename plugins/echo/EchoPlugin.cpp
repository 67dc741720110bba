// The echo plugin: GET /c/echo/ping answers "pong"; POST /c/echo/rate stores a counter-quick
// rating through Host::ingest(). Used by the tests to prove the plugin mechanism end to end.
#include <hailong/ChannelPlugin.h>
#include <hailong/Host.h>
#include <hailong/Problem.h>

#include <Poco/JSON/Object.h>
#include <Poco/Logger.h>
#include <Poco/Util/AbstractConfiguration.h>

namespace {

class EchoPlugin final : public hailong::ChannelPlugin {
public:
    std::string name() const override { return "echo"; }

    void start(hailong::Host& host, const Poco::Util::AbstractConfiguration& config) override {
        // The configuration is read at request time: the host keeps it alive for the plugin.
        const Poco::Util::AbstractConfiguration* settings = &config;
        host.router().add("GET", "/ping", [settings](const hailong::HttpRequest&) {
            return hailong::HttpResponse::text(settings->getString("greeting", "pong"));
        });
        hailong::Ingest& ingest = host.ingest();
        host.router().add("POST", "/rate", [&ingest](const hailong::HttpRequest& r) {
            auto body = r.jsonObject();
            hailong::Submission s;
            s.idempotencyKey = body->optValue<std::string>("key", "");
            s.surveyId = "counter-quick";
            s.channel = "api";
            s.answers.push_back({"rating", body->optValue<double>("rating", 0), {}, ""});
            const hailong::Receipt receipt = ingest.submit(s);
            Poco::JSON::Object::Ptr out = new Poco::JSON::Object;
            out->set("receipt", receipt.code);
            out->set("duplicate", receipt.duplicate);
            return hailong::HttpResponse::json(out, receipt.duplicate ? 200 : 201);
        });
        host.logger().information("echo plugin started");
    }

    void stop() noexcept override {}
};

}  // namespace

HAILONG_EXPORT_PLUGIN(EchoPlugin)

#include "app/Runtime.h"

#include "app/CoreApi.h"
#include "common/Random.h"
#include "store/Migrations.h"

#include <hailong/Host.h>

#include <Poco/File.h>
#include <Poco/FileStream.h>
#include <Poco/Logger.h>
#include <Poco/Path.h>
#include <Poco/StringTokenizer.h>

#include <sys/stat.h>

namespace hailong {

/// The Host one plugin sees. Routes are staged and only published once start() succeeds, so a
/// plugin that throws half-way leaves nothing behind.
class Runtime::PluginHost final : public Host {
public:
    PluginHost(Runtime& rt, std::string name)
        : rt_(rt), name_(std::move(name)), log_(Poco::Logger::get("hailong.plugin." + name_)) {}

    Router& router() override { return staged_; }
    Ingest& ingest() override { return *rt_.ingest_; }
    const SurveyCatalog& surveys() override { return *rt_.surveys_; }
    const Directory& directory() override { return *rt_.directory_; }
    const TextNormalizer& text() override { return rt_.text_; }
    const Messages& messages() override { return *rt_.messages_; }
    Templates& templates() override { return rt_.templates_; }
    Outbox& outbox() override { return *rt_.outbox_; }
    Poco::Logger& logger() override { return log_; }
    std::string dataFolder() const override { return rt_.paths_.pluginData + "/" + name_; }

    void publish() {
        PrefixedRouter mounted(rt_.routes_, "/c/" + name_);
        for (auto& r : staged_.routes)
            mounted.add(r.method, r.pattern, std::move(r.handler), r.options);
        staged_.routes.clear();
    }

private:
    struct Staged final : Router {
        struct Entry {
            std::string method, pattern;
            HttpHandler handler;
            RouteOptions options;
        };
        std::vector<Entry> routes;
        void add(std::string_view method, std::string_view pattern, HttpHandler handler,
                 RouteOptions options) override {
            routes.push_back(
                {std::string(method), std::string(pattern), std::move(handler), options});
        }
    };
    Runtime& rt_;
    std::string name_;
    Poco::Logger& log_;
    Staged staged_;
};

Runtime::Runtime(const Poco::Util::AbstractConfiguration& config, const Paths& paths,
                 Poco::Logger& log)
    : config_(config), paths_(paths), log_(log) {
    messages_ = std::make_unique<MessageCatalog>(paths_.locale);
    const DatabaseUrl url = DatabaseUrl::parse(config.getString("db.url"));
    Database::Options dbOptions;
    dbOptions.poolSize = static_cast<std::size_t>(std::max(2, config.getInt("db.pool_size")));
    dbOptions.busyTimeoutMs = config.getInt("db.busy_timeout_ms");
    db_ = std::make_unique<Database>(url, dbOptions);
    surveys_ = std::make_unique<JsonSurveyCatalog>(paths_.surveys);
    for (const std::string& e : surveys_->loadErrors()) log_.error("survey skipped: %s", e);
    directory_ = std::make_unique<DirectoryStore>(*db_, text_);
    IngestService::Options ingestOptions;
    ingestOptions.batchMax =
        static_cast<std::size_t>(std::max(1, config.getInt("ingest.batch_max")));
    ingestOptions.queueMax =
        static_cast<std::size_t>(std::max(1, config.getInt("ingest.queue_max")));
    ingest_ = std::make_unique<IngestService>(*db_, *surveys_, *directory_, text_, ingestOptions);
    DurableOutbox::Options outboxOptions;
    outboxOptions.pollMs = std::max(10, config.getInt("outbox.poll_ms"));
    outboxOptions.maxAttempts = std::max(1, config.getInt("outbox.max_attempts"));
    outbox_ =
        std::make_unique<DurableOutbox>(*db_, Poco::Logger::get("hailong.outbox"), outboxOptions);
    templates_.addFolder("", paths_.web + "/templates");
    plugins_ = std::make_unique<PluginLoader>(Poco::Logger::get("hailong.plugins"));
    log_.information("database %s", url.redacted);
}

Runtime::~Runtime() {
    shutdown();
}

std::vector<int> Runtime::migrate() {
    auto applied = Migrations::apply(*db_);
    for (int v : applied) log_.information("migration %d applied", v);
    return applied;
}

void Runtime::loadPlugins() {
    std::vector<std::string> enabled;
    Poco::StringTokenizer names(
        config_.getString("plugins.enabled", "*"), ",",
        Poco::StringTokenizer::TOK_TRIM | Poco::StringTokenizer::TOK_IGNORE_EMPTY);
    for (const auto& n : names) enabled.push_back(n);
    plugins_->load(paths_.plugins, enabled);
    plugins_->startAll([this](ChannelPlugin& plugin) {
        auto host = std::make_unique<PluginHost>(*this, plugin.name());
        const std::string folder = host->dataFolder() + "/templates";
        if (Poco::File(folder).exists()) templates_.addFolder(plugin.name(), folder);
        Poco::AutoPtr<Poco::Util::AbstractConfiguration> view =
            const_cast<Poco::Util::AbstractConfiguration&>(config_).createView("plugin." +
                                                                               plugin.name());
        plugin.start(*host, *view);
        host->publish();
        hosts_.push_back(std::move(host));
    });
    outbox_->start();
}

std::string Runtime::loadOrCreateToken() {
    std::string token = config_.getString("api.token", "");
    if (!token.empty()) return token;
    const std::string file = config_.getString("api.token_file", "data/api-token");
    if (Poco::File(file).exists()) {
        Poco::FileInputStream in(file);
        std::getline(in, token);
        if (!token.empty()) return token;
    }
    token = random::hex(24);
    Poco::File(Poco::Path(file).parent()).createDirectories();
    {
        Poco::FileOutputStream out(file);
        out << token << "\n";
    }
    ::chmod(file.c_str(), 0600);
    log_.notice("API token for writes created in %s", file);
    return token;
}

void Runtime::serve() {
    apiToken_ = loadOrCreateToken();
    registerCoreApi(*this);
    HttpServerOptions o;
    o.host = config_.getString("http.host");
    o.port = static_cast<std::uint16_t>(config_.getInt("http.port"));
    o.threads = std::max(2, config_.getInt("http.threads"));
    o.queue = std::max(1, config_.getInt("http.queue"));
    o.keepAliveTimeoutS = config_.getInt("http.keep_alive_timeout_s");
    o.maxBodyBytes = static_cast<std::size_t>(config_.getInt64("http.max_body_bytes"));
    o.ioTimeoutS = std::max(1, config_.getInt("http.io_timeout_s"));
    o.trustProxy = config_.getBool("http.trust_proxy");
    o.logRequests = config_.getBool("http.log_requests");
    http_ = std::make_unique<HttpServer>(routes_, *messages_, Poco::Logger::get("hailong.http"), o);
    http_->start();
}

void Runtime::shutdown() noexcept {
    if (down_) return;
    down_ = true;
    try {
        if (http_) http_->stop();  // no new requests; in-flight ones finish
        plugins_->stopAll();
        outbox_->stop();
        ingest_->stop();  // commits what is queued
    } catch (const std::exception& e) {
        log_.error("shutdown: %s", std::string(e.what()));
    }
}

}  // namespace hailong

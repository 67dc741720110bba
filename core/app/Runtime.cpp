#include "app/Runtime.h"
#include "app/Settings.h"

#include "app/AlertApi.h"
#include "app/CaseApi.h"
#include "app/DeviceApi.h"
#include "app/DossierEventApi.h"
#include "app/LinkApi.h"
#include "app/OpenApi.h"
#include "app/ResponseApi.h"
#include "app/ResponseReadings.h"
#include "app/WebhookApi.h"
#include "console/Console.h"
#include "http/StaticFiles.h"
#include "mail/SmtpSender.h"
#include "plugin/PluginStateStore.h"

#include "app/CoreApi.h"
#include "app/IndexApi.h"
#include "common/Clock.h"
#include "common/Random.h"
#include "store/Migrations.h"

#include <hailong/Host.h>
#include <hailong/Problem.h>

#include <Poco/File.h>
#include <Poco/FileStream.h>
#include <Poco/Logger.h>
#include <Poco/Path.h>
#include <Poco/StringTokenizer.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace hailong {

/// The Host one plugin sees; it lives as long as the Runtime, longer than its plugin. Routes are
/// staged and published only once start() succeeds, and the outbox senders the plugin registered
/// are withdrawn when it fails or stops, so a plugin that throws half-way leaves nothing behind.
class Runtime::PluginHost final : public Host, private Outbox {
public:
    PluginHost(Runtime& rt, std::string name)
        : rt_(rt),
          name_(std::move(name)),
          log_(Poco::Logger::get("hailong.plugin." + name_)),
          config_(const_cast<Poco::Util::AbstractConfiguration&>(rt.config_)
                      .createView("plugin." + name_)) {}

    Router& router() override { return staged_; }
    Ingest& ingest() override { return *rt_.ingest_; }
    const SurveyCatalog& surveys() override { return *rt_.surveys_; }
    const Directory& directory() override { return *rt_.directory_; }
    Devices& devices() override { return *rt_.devices_; }
    Phones& phones() override { return *rt_.phones_; }
    const SurveyLinks& links() override { return *rt_.links_; }
    std::string publicPath() const override {
        return name_ == rt_.config_.getString("links.plugin") ? "/s" : "/c/" + name_;
    }
    PluginState& state() override { return state_; }
    const TextNormalizer& text() override { return rt_.text_; }
    const Messages& messages() override { return *rt_.messages_; }
    Templates& templates() override { return rt_.templates_; }
    Outbox& outbox() override { return *this; }
    Cases& cases() override { return *rt_.cases_; }
    Poco::Logger& logger() override { return log_; }
    std::string dataFolder() const override { return rt_.paths_.pluginData + "/" + name_; }
    void serveFiles(std::string_view urlPrefix, const std::string& folder) override {
        auto files = std::make_shared<StaticFiles>(folder);
        staged_.add("GET", "/" + std::string(urlPrefix) + "/{path*}",
                    [files](const HttpRequest& r) { return files->serve(r, r.param("path")); }, {});
    }

    /// The plugin's configuration view; valid as long as the host.
    const Poco::Util::AbstractConfiguration& config() const { return *config_; }

    void publish() {
        PrefixedRouter mounted(rt_.routes_, "/c/" + name_);
        const bool links = publicPath() == "/s";  // also at the short address links carry
        PrefixedRouter shortly(rt_.routes_, "/s");
        for (auto& r : staged_.routes) {
            if (links) shortly.add(r.method, r.pattern, r.handler, r.options);
            mounted.add(r.method, r.pattern, std::move(r.handler), r.options);
        }
        staged_.routes.clear();
    }
    /// Forgets what the plugin registered (it failed to start, or stopped).
    void withdraw() {
        staged_.routes.clear();
        for (const std::string& channel : senders_) rt_.outbox_->unregisterSender(channel);
        senders_.clear();
    }

private:
    // Outbox, as the plugin sees it: registrations are remembered so they can be withdrawn.
    void registerSender(const std::string& channel, Sender sender) override {
        senders_.push_back(channel);
        rt_.outbox_->registerSender(channel, std::move(sender));
    }
    void unregisterSender(const std::string& channel) override {
        rt_.outbox_->unregisterSender(channel);
    }
    std::int64_t enqueue(const OutboundMessage& message) override {
        return rt_.outbox_->enqueue(message);
    }

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
    Poco::AutoPtr<Poco::Util::AbstractConfiguration> config_;
    Staged staged_;
    std::vector<std::string> senders_;
    PluginStateStore state_{*rt_.db_, name_};
};

namespace {
vi::ToneStyle toneStyle(const Poco::Util::AbstractConfiguration& config) {
    const std::string style = config.getString("text.tone_style", "new");
    if (style != "new" && style != "old")
        throw std::runtime_error("setting text.tone_style must be new or old, not \"" + style +
                                 "\"");
    return style == "old" ? vi::ToneStyle::Old : vi::ToneStyle::New;
}
}  // namespace

Runtime::Runtime(const Poco::Util::AbstractConfiguration& config, const Paths& paths,
                 Poco::Logger& log)
    : config_(config), paths_(paths), log_(log), text_(paths_.locale, toneStyle(config)) {
    messages_ = std::make_unique<MessageCatalog>(paths_.locale);
    const DatabaseUrl url = DatabaseUrl::parse(databaseUrl(config));
    Database::Options dbOptions;
    dbOptions.poolSize = static_cast<std::size_t>(std::max(2, config.getInt("db.pool_size")));
    dbOptions.busyTimeoutMs = config.getInt("db.busy_timeout_ms");
    dbOptions.sqliteCacheMb = std::max(1, config.getInt("db.sqlite_cache_mb"));
    db_ = std::make_unique<Database>(url, dbOptions);
    surveys_ = std::make_unique<SurveyStore>(*db_);
    directory_ = std::make_unique<DirectoryStore>(*db_, text_);
    apiKeys_ = std::make_unique<ApiKeyStore>(*db_, *directory_);
    devices_ = std::make_unique<DeviceRegistry>(*db_, *directory_);
    phones_ = std::make_unique<PhoneBook>(*db_, config.getString("privacy.phone_key", ""));
    personalData_ = std::make_unique<PersonalData>(*db_, *phones_, *surveys_);
    directory_->setPhoneKey([this](std::string_view phone) { return phones_->key(phone); });
    users_ = std::make_unique<UserStore>(*db_, *directory_);
    SessionStore::Options sessionOptions;
    sessionOptions.idleMs =
        std::int64_t{60000} * std::max(1, config.getInt("console.idle_minutes"));
    sessionOptions.absoluteMs =
        std::int64_t{3600000} * std::max(1, config.getInt("console.session_hours"));
    sessions_ = std::make_unique<SessionStore>(*db_, *users_, sessionOptions);
    audit_ = std::make_unique<AuditLog>(*db_);
    links_ = std::make_unique<SurveyLinkService>(*db_, [this] { return publicBase(); });
    IngestService::Options ingestOptions;
    ingestOptions.batchMax =
        static_cast<std::size_t>(std::max(1, config.getInt("ingest.batch_max")));
    ingestOptions.queueMax =
        static_cast<std::size_t>(std::max(1, config.getInt("ingest.queue_max")));
    ingest_ = std::make_unique<IngestService>(*db_, *surveys_, *directory_, text_, ingestOptions);
    indices_ = std::make_unique<index::IndexService>(*db_, *surveys_);
    DurableOutbox::Options outboxOptions;
    outboxOptions.pollMs = std::max(10, config.getInt("outbox.poll_ms"));
    outboxOptions.maxAttempts = std::max(1, config.getInt("outbox.max_attempts"));
    outbox_ =
        std::make_unique<DurableOutbox>(*db_, Poco::Logger::get("hailong.outbox"), outboxOptions);
    alerts_ = std::make_unique<AlertStore>(
        *db_, *directory_, *surveys_, [this](std::string_view p) { return phones_->canonical(p); });
    AlertMonitor::Options alertOptions;
    alertOptions.settleMs = std::max(0, config.getInt("alerts.settle_ms"));
    alertOptions.sweepMs = 1000 * std::max(1, config.getInt("alerts.sweep_seconds"));
    alertMonitor_ = std::make_unique<AlertMonitor>(
        *alerts_, *db_, *indices_, *outbox_, *messages_, *directory_,
        [this] { return publicBase(); }, alertOptions);
    webhooks_ = std::make_unique<WebhookStore>(*db_, *directory_);
    WebhookFeed::Options webhookOptions;
    webhookOptions.pauseAfterMs =
        std::int64_t{3600000} * std::max(1, config.getInt("webhooks.pause_after_hours"));
    webhookOptions.timeoutS = std::clamp(config.getInt("webhooks.timeout_s"), 1, 30);
    webhookOptions.baseUrl = [this] { return publicBase(); };
    webhookFeed_ = std::make_unique<WebhookFeed>(
        *db_, *webhooks_, *outbox_, Poco::Logger::get("hailong.webhooks"), webhookOptions);
    cases::CaseStore::Options caseOptions;
    caseOptions.defaults.workingDays = std::clamp(config.getInt("cases.working_days"), 1, 60);
    caseOptions.defaults.ratingAtOrBelow =
        std::clamp(config.getDouble("cases.rating_at_or_below"), 0.0, 5.0);
    try {
        caseOptions.calendar =
            cases::WorkingCalendar::parse(config.getString("cases.holidays", ""));
    } catch (const Problem& p) {
        throw std::runtime_error("setting cases.holidays: " +
                                 messages_->text("en", p.code(), p.params()));
    }
    caseOptions.sweepMs = 1000 * std::max(1, config.getInt("cases.sweep_seconds"));
    caseOptions.smsSegments = std::clamp(config.getInt("cases.sms_segments"), 1, 10);
    cases_ = std::make_unique<cases::CaseStore>(
        *db_, *directory_, *surveys_, text_, *outbox_, *messages_,
        [this](std::int64_t agencyId) {
            // Whoever hears that agency's alerts hears of its escalated cases.
            std::vector<std::pair<std::string, std::string>> out;
            for (const AlertRule& rule : alerts_->rules("", true))
                if (rule.agencyId == agencyId)
                    for (const AlertRecipient& to : rule.recipients)
                        if (std::find(out.begin(), out.end(), std::pair(to.channel, to.address)) ==
                            out.end())
                            out.emplace_back(to.channel, to.address);
            return out;
        },
        [this] { return publicBase(); }, caseOptions);
    ingest_->setCases(cases_.get());
    ingest_->setStoredListener(
        [this](const std::vector<std::int64_t>& agencies) { alertMonitor_->stored(agencies); });
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

void Runtime::prepare() {
    migrate();
    phones_->load();  // before any write that hashes a number (inside its transaction)
    links_->load();
    surveys_->load();
    for (const auto& file : surveys_->publishFolder(paths_.surveys)) {
        if (!file.errors.empty()) {
            for (const FieldError& e : file.errors)
                log_.error("survey %s skipped: %s: %s", file.file, e.field,
                           messages_->text("en", e.code, e.params));
        } else if (file.published.created) {
            log_.information("survey %s version %d published from %s", file.published.id,
                             file.published.version, file.file);
        }
    }
    // Responses stored by an older version: read their mood and words once.
    if (const std::size_t read = readOlderResponses(*db_, *surveys_, text_))
        log_.information("%z responses stored by an older version read (mood, comments)", read);
}

void Runtime::loadPlugins() {
    std::vector<std::string> enabled;
    Poco::StringTokenizer names(
        config_.getString("plugins.enabled", "*"), ",",
        Poco::StringTokenizer::TOK_TRIM | Poco::StringTokenizer::TOK_IGNORE_EMPTY);
    for (const auto& n : names) enabled.push_back(n);
    plugins_->load(paths_.plugins, enabled);
    plugins_->startAll([this](ChannelPlugin& plugin) {
        hosts_.push_back(std::make_unique<PluginHost>(*this, plugin.name()));
        PluginHost& host = *hosts_.back();
        const std::string folder = host.dataFolder() + "/templates";
        if (Poco::File(folder).exists()) templates_.addFolder(plugin.name(), folder);
        try {
            plugin.start(host, host.config());
        } catch (...) {
            host.withdraw();
            throw;
        }
        host.publish();
    });
}

std::string Runtime::publicBase() const {
    std::string base = config_.getString("links.base_url", "");
    if (base.empty())
        base = "http://" + config_.getString("http.host") + ":" + std::to_string(port());
    while (base.ends_with('/')) base.pop_back();
    return base;
}

std::string Runtime::loadOrCreateToken() {
    std::string value = config_.getString("api.token", "");
    if (!value.empty()) return value;
    std::string file = config_.getString("api.token_file", "");
    if (file.empty()) file = paths_.data + "/api-token";  // beside the database by default
    if (Poco::File(file).exists()) {
        Poco::FileInputStream in(file);
        std::getline(in, value);
        if (!value.empty()) return value;
    }
    value = random::hex(24);
    Poco::File(Poco::Path(file).parent()).createDirectories();
    // Created private (0600) and only if absent, so a concurrent start cannot clobber it.
    const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0) {
        Poco::FileInputStream in(file);  // another host or command created it just now
        std::getline(in, value);
        if (!value.empty()) return value;
        throw std::runtime_error("cannot create the API token file " + file);
    }
    const std::string line = value + "\n";
    const bool written = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
    ::close(fd);
    if (!written) throw std::runtime_error("cannot write the API token file " + file);
    log_.notice("API token for writes created in %s", file);
    return value;
}

void Runtime::serve() {
    apiToken_ = loadOrCreateToken();
    registerCoreApi(*this);
    registerIndexApi(*this);
    registerDeviceApi(*this);
    registerResponseApi(*this);
    registerLinkApi(*this);
    registerAlertApi(*this);
    registerCaseApi(*this);
    registerDossierEventApi(*this);
    registerWebhookApi(*this);
    registerOpenApi(*this);
    exportJobs_ = std::make_unique<ExportJobs>(*this, paths_.data + "/exports",
                                               config_.getInt("export.keep_hours"));
    console_ = registerConsole(*this);
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
    o.maxConnectionsPerAddress = config_.getInt("http.max_connections_per_address");
    o.requestTimeoutS = config_.getInt("http.request_timeout_s");
    o.minBodyBytesPerS =
        static_cast<std::size_t>(std::max(1, config_.getInt("http.min_body_bytes_per_s")));
    http_ = std::make_unique<HttpServer>(routes_, *messages_, Poco::Logger::get("hailong.http"), o);
    if (const std::string relay = config_.getString("mail.smtp_host", ""); !relay.empty()) {
        SmtpOptions mail;
        mail.host = relay;
        mail.port = config_.getInt("mail.smtp_port");
        mail.from = config_.getString("mail.from");
        mail.username = config_.getString("mail.username", "");
        mail.password = config_.getString("mail.password", "");
        outbox_->registerSender("email", smtpSender(mail));
    }
    outbox_->registerSender("webhook", [this](const OutboundMessage& m, std::string& error) {
        return webhookFeed_->deliver(m, error);
    });
    outbox_->start();
    webhookFeed_->start();
    indices_->start(std::max(10, config_.getInt("index.fold_interval_ms")));
    alertMonitor_->start();
    cases_->start();
    housekeeping_ = std::thread([this] { housekeeping(); });
    http_->start();
}

Retention Runtime::retention() const {
    constexpr std::int64_t kDayMs = 86400000;
    const std::int64_t at = nowMs();
    Retention r;
    r.phonesBeforeMs =
        at - std::int64_t{std::max(1, config_.getInt("privacy.phone_retention_days"))} * kDayMs;
    if (const int days = config_.getInt("privacy.text_retention_days"); days > 0)
        r.textBeforeMs = at - std::int64_t{days} * kDayMs;
    r.deleteText = config_.getString("privacy.text_after_retention") == "delete";
    return r;
}

void Runtime::housekeeping() {
    std::unique_lock lock(housekeepingMutex_);
    do {
        lock.unlock();
        try {
            const PersonalDataReport r = personalData_->sweep(retention());
            if (r.dossierPhones + r.caseContacts + r.messages + r.texts > 0)
                log_.information(
                    "privacy: past their retention, %z dossier phone numbers and %z case contacts "
                    "erased, %z messages and %z responses or cases cleared of their words",
                    r.dossierPhones, r.caseContacts, r.messages, r.texts);
        } catch (const std::exception& e) {
            log_.warning("privacy housekeeping: %s (tried again in an hour)",
                         std::string(e.what()));
        }
        lock.lock();
    } while (
        !housekeepingWake_.wait_for(lock, std::chrono::hours(1), [this] { return stopping_; }));
}

void Runtime::shutdown() noexcept {
    if (down_) return;
    down_ = true;
    try {
        if (http_) http_->stop();  // no new requests; in-flight ones finish
        if (webhookFeed_) webhookFeed_->stop();
        outbox_->stop();  // no sender is called once its plugin is stopping
        plugins_->stopAll();
        ingest_->stop();  // commits what is queued
        alertMonitor_->stop();
        cases_->stop();
        if (exportJobs_) exportJobs_->stop();
        indices_->stop();
        {
            std::lock_guard lock(housekeepingMutex_);
            stopping_ = true;
        }
        housekeepingWake_.notify_all();
        if (housekeeping_.joinable()) housekeeping_.join();
    } catch (const std::exception& e) {
        log_.error("shutdown: %s", std::string(e.what()));
    }
}

}  // namespace hailong

// hailong — Runtime: one running host: the database, services, plugins and HTTP server,
// built from the effective configuration, started and stopped in a fixed order.
#pragma once

#include "accounts/Accounts.h"
#include "alerts/AlertMonitor.h"
#include "alerts/AlertStore.h"
#include "app/ApiKeys.h"
#include "app/Exports.h"
#include "app/Paths.h"
#include "cases/CaseStore.h"
#include "common/MessageCatalog.h"
#include "directory/DeviceRegistry.h"
#include "directory/DirectoryStore.h"
#include "directory/PhoneBook.h"
#include "http/HttpServer.h"
#include "http/MustacheTemplates.h"
#include "http/RouteTable.h"
#include "index/IndexService.h"
#include "ingest/IngestService.h"
#include "links/SurveyLinkService.h"
#include "outbox/DurableOutbox.h"
#include "plugin/PluginLoader.h"
#include "privacy/PersonalData.h"
#include "store/Database.h"
#include "survey/SurveyStore.h"
#include "text/IcuTextNormalizer.h"
#include "webhooks/Webhooks.h"

#include <Poco/Util/AbstractConfiguration.h>

#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

namespace Poco {
class Logger;
}

namespace hailong {

/// Owns every service of a host. Construction opens the database (no schema change);
/// migrate(), loadPlugins(), serve() follow; shutdown() (or destruction) stops HTTP first,
/// then plugins, the outbox, drains ingest so that nothing acknowledged is lost, and stops
/// the index fold last (what it has not counted yet, queries count from the raw responses).
/// Not thread-safe itself; the services it hands out are.
class Runtime {
public:
    Runtime(const Poco::Util::AbstractConfiguration& config, const Paths& paths, Poco::Logger& log);
    ~Runtime();
    Runtime(const Runtime&) = delete;
    Runtime& operator=(const Runtime&) = delete;

    /// Applies missing migrations; returns the versions applied.
    std::vector<int> migrate();
    /// Migrates, then loads the survey versions and publishes what changed in the surveys
    /// folder (invalid files are logged and skipped). Every command that stores runs this.
    void prepare();
    /// Loads, checks and starts the configured plugins (failures are recorded, not thrown).
    /// Outbound delivery starts only with serve().
    void loadPlugins();
    /// Registers the core API and static routes, starts the outbox and starts listening.
    void serve();
    void shutdown() noexcept;

    Database& database() { return *db_; }
    DirectoryStore& directory() { return *directory_; }
    DeviceRegistry& devices() { return *devices_; }
    PhoneBook& phones() { return *phones_; }
    PersonalData& personalData() { return *personalData_; }
    /// The retention the privacy.* settings ask for, counted back from now.
    Retention retention() const;
    SurveyLinkService& links() { return *links_; }
    UserStore& users() { return *users_; }
    SessionStore& sessions() { return *sessions_; }
    AuditLog& audit() { return *audit_; }
    IngestService& ingest() { return *ingest_; }
    index::IndexService& indices() { return *indices_; }
    AlertStore& alerts() { return *alerts_; }
    AlertMonitor& alertMonitor() { return *alertMonitor_; }
    cases::CaseStore& cases() { return *cases_; }
    WebhookStore& webhooks() { return *webhooks_; }
    WebhookFeed& webhookFeed() { return *webhookFeed_; }
    SurveyStore& surveys() { return *surveys_; }
    MessageCatalog& messages() { return *messages_; }
    IcuTextNormalizer& text() { return text_; }
    DurableOutbox& outbox() { return *outbox_; }
    ApiKeyStore& apiKeys() { return *apiKeys_; }
    /// The console's background exports; exists from serve() on.
    ExportJobs& exportJobs() { return *exportJobs_; }
    RouteTable& routes() { return routes_; }
    MustacheTemplates& templates() { return templates_; }
    const PluginLoader& plugins() const { return *plugins_; }
    const Paths& paths() const { return paths_; }
    const Poco::Util::AbstractConfiguration& config() const { return config_; }
    std::uint16_t port() const { return http_ ? http_->port() : 0; }
    /// The bearer token that API writes need.
    const std::string& apiToken() const { return apiToken_; }

private:
    class PluginHost;
    void registerCoreRoutes();
    /// The API token: api.token, else the first line of api.token_file, else a new random one
    /// written there (private; a concurrent start reads the one written first).
    std::string loadOrCreateToken();
    /// The address citizens and officials reach this host at (links.base_url, else the
    /// listening address), without a trailing slash.
    std::string publicBase() const;

    const Poco::Util::AbstractConfiguration& config_;
    Paths paths_;
    Poco::Logger& log_;
    IcuTextNormalizer text_;
    std::unique_ptr<MessageCatalog> messages_;
    std::unique_ptr<Database> db_;
    std::unique_ptr<SurveyStore> surveys_;
    std::unique_ptr<DirectoryStore> directory_;
    std::unique_ptr<DeviceRegistry> devices_;
    std::unique_ptr<PhoneBook> phones_;
    std::unique_ptr<PersonalData> personalData_;
    std::unique_ptr<SurveyLinkService> links_;
    std::unique_ptr<UserStore> users_;
    std::unique_ptr<SessionStore> sessions_;
    std::unique_ptr<AuditLog> audit_;
    std::unique_ptr<IngestService> ingest_;
    std::unique_ptr<index::IndexService> indices_;
    std::unique_ptr<DurableOutbox> outbox_;
    std::unique_ptr<AlertStore> alerts_;
    std::unique_ptr<AlertMonitor> alertMonitor_;
    std::unique_ptr<cases::CaseStore> cases_;
    std::unique_ptr<WebhookStore> webhooks_;
    std::unique_ptr<WebhookFeed> webhookFeed_;
    std::unique_ptr<ApiKeyStore> apiKeys_;
    std::unique_ptr<ExportJobs> exportJobs_;
    MustacheTemplates templates_;
    RouteTable routes_;
    // Hosts are declared before the loader so that they outlive the plugins they serve.
    std::vector<std::unique_ptr<PluginHost>> hosts_;
    std::unique_ptr<PluginLoader> plugins_;
    std::unique_ptr<HttpServer> http_;
    std::shared_ptr<void> console_;  // the console's pages (their handlers hold it)
    std::string apiToken_;
    bool down_ = false;
    // Hourly privacy housekeeping (phone numbers past their retention), from serve() on.
    void housekeeping();
    std::thread housekeeping_;
    std::mutex housekeepingMutex_;
    std::condition_variable housekeepingWake_;
    bool stopping_ = false;
};

}  // namespace hailong

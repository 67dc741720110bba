// hailong — Webhooks: subscriptions of other systems to what happens here (new responses, new
// negative ratings, case changes, alerts), delivered signed through the durable outbox.
#pragma once

#include "common/PeriodicTask.h"
#include "store/Database.h"

#include <hailong/Outbox.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace Poco {
class Logger;
}

namespace hailong {

class DirectoryStore;

/// What a subscription may ask for.
inline constexpr const char* kWebhookEvents[] = {"response.created", "response.negative",
                                                 "case.changed", "alert.raised"};

struct WebhookSubscription {
    std::int64_t id = 0;
    std::string name, url;
    std::int64_t agencyId = 0;
    std::string agencyCode, agencyPath;  ///< the subtree whose events it receives
    std::vector<std::string> events;     ///< some of kWebhookEvents
    std::string status;                  ///< "active" or "paused"
    std::string pauseReason;
    std::optional<std::int64_t> failingSinceMs, pausedAtMs, lastSuccessMs;
    std::int64_t createdAtMs = 0;
    std::string createdBy;
};

struct WebhookInput {
    std::string name, url, agencyCode;
    std::vector<std::string> events;
    /// Whether the URL may point at this machine or the private network (loopback, private,
    /// link-local addresses): admins only, so that an official cannot make the host probe them.
    bool privateTargets = false;
};

/// One delivery, as its subscription's log shows it.
struct WebhookDelivery {
    std::int64_t id = 0;
    std::string type, eventId, status, lastError;
    int attempts = 0;
    std::int64_t createdAtMs = 0, nextAttemptAtMs = 0;
    std::optional<std::int64_t> sentAtMs;
};

/// Subscriptions and their deliveries in the database. Thread-safe.
class WebhookStore {
public:
    WebhookStore(Database& db, DirectoryStore& directory) : db_(db), directory_(directory) {}

    /// Problem(422) naming the fields of `in` that are wrong (a URL that is not http(s),
    /// unknown events, an unknown agency).
    static void check(const WebhookInput& in, const DirectoryStore& directory);
    /// Creates a subscription after check(); returns it and its signing secret (shown once).
    /// Problem(409) for a name in use.
    std::pair<WebhookSubscription, std::string> add(const WebhookInput& in, const std::string& by);
    std::vector<WebhookSubscription> list(const std::string& scopePath) const;
    std::optional<WebhookSubscription> find(std::int64_t id) const;
    /// The secret deliveries of `id` are signed with ("" for none).
    std::string secret(std::int64_t id) const;
    void remove(std::int64_t id);
    /// Pauses (no new deliveries are queued; queued ones wait) or resumes (what waited, and
    /// deliveries that failed while it was failing, go again).
    void pause(std::int64_t id, const std::string& reason);
    void resume(std::int64_t id);
    /// Its deliveries, newest first (at most `limit`).
    std::vector<WebhookDelivery> deliveries(std::int64_t id, int limit) const;

    /// After an attempt: success clears the failing streak; a failure starts one (if none).
    /// Returns when the streak began (nullopt after a success).
    std::optional<std::int64_t> attempted(std::int64_t id, bool ok, std::int64_t atMs);

private:
    Database& db_;
    DirectoryStore& directory_;
};

/// Follows new responses, case events and alerts (a cursor each, kept in the database, so a
/// restart neither skips nor repeats: the outbox de-duplicates on subscription and event),
/// queues one signed delivery per matching subscription, and delivers them as the outbox's
/// "webhook" sender: POST of the JSON body with X-Hailong-Event, X-Hailong-Delivery,
/// X-Hailong-Timestamp and X-Hailong-Signature = hex HMAC-SHA256(secret, timestamp "." body).
/// A subscription whose deliveries have failed for `pauseAfterMs` is paused. Thread-safe;
/// start() begins following, stop() ends it.
class WebhookFeed {
public:
    struct Options {
        std::int64_t pauseAfterMs = 24LL * 3600 * 1000;
        int timeoutS = 5;
        int pollMs = 1000;
        std::function<std::string()> baseUrl;  ///< links in bodies start with it
    };
    WebhookFeed(Database& db, WebhookStore& store, Outbox& outbox, Poco::Logger& log,
                Options options);
    ~WebhookFeed();

    void start();
    void stop();
    /// Queues deliveries for what happened since the last look; returns how many.
    int follow();
    /// The outbox's sender for channel "webhook".
    DeliveryResult deliver(const OutboundMessage& m, std::string& error);

private:
    Database& db_;
    WebhookStore& store_;
    Outbox& outbox_;
    Poco::Logger& log_;
    Options options_;
    PeriodicTask task_;  // last: stopped before the rest goes
};

}  // namespace hailong

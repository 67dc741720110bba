// hailong — AlertMonitor: evaluates the alert rules as responses arrive and as time passes,
// opens and clears alerts, and queues their notices to officials in the outbox.
#pragma once

#include "alerts/AlertStore.h"
#include "index/IndexService.h"

#include <hailong/Messages.h>
#include <hailong/Outbox.h>

#include <condition_variable>
#include <functional>
#include <mutex>
#include <set>
#include <thread>

namespace hailong {

/// What a rule measures now.
struct AlertReading {
    std::optional<double> value;  ///< percent unhappy, or the index value; none without data
    std::int64_t n = 0;           ///< the ratings (unhappy share) or the index's n it rests on
    bool holds = false;           ///< the rule's condition holds with at least its minimum n
};

/// An alert this monitor opened or cleared.
struct AlertChange {
    bool opened = false;  ///< false: cleared
    Alert alert;
};

/// Thread-safe. Owns its thread between start() and stop(). Ingest tells it which agencies got
/// responses (stored()); it evaluates the rules over those agencies once they settle, and every
/// rule at each sweep (so that windows moving past old ratings clear alerts). An alert opens
/// once (the store keeps one open per rule across hosts) and its notice goes once to each
/// recipient; when its rule stops holding it clears, with a notice too.
class AlertMonitor {
public:
    struct Options {
        int settleMs = 500;   ///< waits this long after a response before evaluating
        int sweepMs = 60000;  ///< evaluates every active rule this often
    };
    /// `consoleUrl` gives the address notices point at (the console's alerts page).
    AlertMonitor(AlertStore& store, Database& db, index::IndexService& indices, Outbox& outbox,
                 const Messages& messages, const Directory& directory,
                 std::function<std::string()> consoleUrl, Options options);
    ~AlertMonitor();
    AlertMonitor(const AlertMonitor&) = delete;
    AlertMonitor& operator=(const AlertMonitor&) = delete;

    void start();
    void stop();
    /// Responses of these agencies were stored: evaluate their rules soon. Cheap; any thread.
    void stored(const std::vector<std::int64_t>& agencyIds);

    /// What `rule` measures at `atMs`.
    AlertReading read(const AlertRule& rule, std::int64_t atMs);
    /// Evaluates the active rules watching any of `agencyIds` (every active rule when empty),
    /// opens and clears their alerts, queues notices; returns what changed.
    std::vector<AlertChange> evaluate(const std::set<std::int64_t>& agencyIds, std::int64_t atMs);

private:
    void loop();
    void notify(const AlertChange& change);

    AlertStore& store_;
    Database& db_;
    index::IndexService& indices_;
    Outbox& outbox_;
    const Messages& messages_;
    const Directory& directory_;
    std::function<std::string()> consoleUrl_;
    Options options_;

    std::mutex mutex_;
    std::condition_variable wake_;
    std::set<std::int64_t> touched_;
    bool stopping_ = false;
    std::thread thread_;
};

}  // namespace hailong

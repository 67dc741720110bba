// hailong — DurableOutbox: the Outbox on the database, with one delivery thread.
#pragma once

#include "store/Database.h"

#include <hailong/Outbox.h>

#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

namespace Poco {
class Logger;
}

namespace hailong {

/// Stores messages in the `outbox` table and delivers due ones through the registered senders,
/// retrying with exponential backoff (30 s doubling, at most 1 h). Thread-safe. start() begins
/// delivery; stop() (or destruction) ends it, leaving undelivered messages for the next start.
class DurableOutbox final : public Outbox {
public:
    struct Options {
        int pollMs = 1000;
        int maxAttempts = 8;
    };
    DurableOutbox(Database& db, Poco::Logger& log, Options options);
    ~DurableOutbox() override;

    void registerSender(const std::string& channel, Sender sender) override;
    void unregisterSender(const std::string& channel) override;
    std::int64_t enqueue(const OutboundMessage& message) override;

    void start();
    void stop();
    /// Delivers what is due now on the calling thread; returns how many were attempted.
    int deliverDue();

private:
    Database& db_;
    Poco::Logger& log_;
    Options options_;
    std::mutex mutex_;
    std::condition_variable wake_;
    std::map<std::string, Sender> senders_;
    bool stopping_ = false;
    bool poke_ = false;  // a message was queued: look now
    std::thread thread_;
};

}  // namespace hailong

#include "outbox/DurableOutbox.h"

#include "common/Clock.h"

#include <hailong/Problem.h>

#include <Poco/Data/RecordSet.h>
#include <Poco/Logger.h>
#include <Poco/Nullable.h>

#include <algorithm>

using namespace Poco::Data::Keywords;
using Poco::Data::Session;

namespace hailong {
namespace {
constexpr std::int64_t kLeaseMs = 5 * 60 * 1000;  // a sender must finish well within this
constexpr std::int64_t kDeferMs = 60000;          // a deferred message is offered again after this
}  // namespace

DurableOutbox::DurableOutbox(Database& db, Poco::Logger& log, Options options)
    : db_(db), log_(log), options_(options) {}

DurableOutbox::~DurableOutbox() {
    stop();
}

void DurableOutbox::registerSender(const std::string& channel, Sender sender) {
    std::lock_guard lock(mutex_);
    senders_[channel] = std::move(sender);
}

void DurableOutbox::unregisterSender(const std::string& channel) {
    std::lock_guard lock(mutex_);
    senders_.erase(channel);
}

std::int64_t DurableOutbox::enqueue(const OutboundMessage& m) {
    if (m.channel.empty() || m.recipient.empty())
        throw std::invalid_argument("outbox: a message needs a channel and a recipient");
    const std::int64_t id = db_.write([&](Session& s) {
        std::string channel = m.channel, recipient = m.recipient, body = m.body;
        Poco::Nullable<std::string> key = m.dedupeKey.empty()
                                              ? Poco::Nullable<std::string>()
                                              : Poco::Nullable<std::string>(m.dedupeKey);
        const std::int64_t at = nowMs();
        std::int64_t due = std::max(m.notBeforeMs, at);
        Poco::Nullable<std::int64_t> inserted;
        s << "INSERT INTO outbox (channel, recipient, body, dedupe_key, next_attempt_at, "
             "created_at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING RETURNING id",
            use(channel), use(recipient), use(body), use(key), use(due), bind(at), into(inserted),
            now;
        if (!inserted.isNull()) return inserted.value();
        std::int64_t existing = 0;
        std::string k = m.dedupeKey;
        s << "SELECT id FROM outbox WHERE dedupe_key = $1", use(k), into(existing), now;
        return existing;
    });
    {
        std::lock_guard lock(mutex_);
        poke_ = true;
    }
    wake_.notify_one();
    return id;
}

int DurableOutbox::deliverDue() {
    struct Item {
        std::int64_t id;
        OutboundMessage message;
        int attempts;
    };
    std::vector<std::string> channels;
    {
        std::lock_guard lock(mutex_);
        for (const auto& [channel, sender] : senders_) channels.push_back(channel);
    }
    if (channels.empty()) return 0;
    // Look before claiming: an idle outbox must not take SQLite's write lock every poll.
    const bool anyDue = db_.read([&](Session& s) {
        std::int64_t at = nowMs();
        int due = 0;
        s << "SELECT COUNT(*) FROM (SELECT 1 FROM outbox WHERE status IN ('pending', 'sending') "
             "AND next_attempt_at <= $1 LIMIT 1) AS d",
            use(at), into(due), now;
        return due > 0;
    });
    if (!anyDue) return 0;
    // Claim due messages of the channels we can deliver: 'sending' with a lease. Another host
    // (or this one after a crash) takes a message again only once its lease has run out, so a
    // message is delivered at least once and, barring a crash mid-send, exactly once.
    std::vector<Item> due = db_.write([&](Session& s) {
        std::int64_t at = nowMs();
        std::string sql =
            "SELECT id, channel, recipient, body, attempts, COALESCE(dedupe_key, '') FROM outbox "
            "WHERE status IN "
            "('pending', 'sending') AND next_attempt_at <= $1 AND channel IN (";
        for (std::size_t i = 0; i < channels.size(); ++i)
            sql += (i ? ", $" : "$") + std::to_string(i + 2);
        sql += ") ORDER BY next_attempt_at LIMIT 100";
        if (db_.backend() == Backend::PostgreSQL) sql += " FOR UPDATE SKIP LOCKED";
        Poco::Data::Statement st(s);
        st << sql, use(at);
        for (auto& c : channels) st, use(c);
        st.execute();
        Poco::Data::RecordSet rs(st);
        std::vector<Item> out;
        for (bool more = rs.moveFirst(); more; more = rs.moveNext()) {
            Item item{rs.value(0).convert<std::int64_t>(), {}, rs.value(4).convert<int>()};
            item.message.channel = rs.value(1).convert<std::string>();
            item.message.recipient = rs.value(2).convert<std::string>();
            item.message.body = rs.value(3).convert<std::string>();
            item.message.dedupeKey = rs.value(5).convert<std::string>();  // senders may read it
            out.push_back(std::move(item));
        }
        std::int64_t leaseEnd = at + kLeaseMs;
        for (Item& item : out)
            s << "UPDATE outbox SET status = 'sending', next_attempt_at = $1 WHERE id = $2",
                use(leaseEnd), use(item.id), now;
        return out;
    });
    int attempted = 0;
    for (Item& item : due) {
        Sender sender;
        {
            std::lock_guard lock(mutex_);
            if (stopping_) break;
            auto it = senders_.find(item.message.channel);
            if (it == senders_.end()) continue;  // its plugin is not running: keep it queued
            sender = it->second;
        }
        ++attempted;
        std::string error;
        DeliveryResult result = DeliveryResult::RetryLater;
        try {
            result = sender(item.message, error);
        } catch (const std::exception& e) {
            error = e.what();
        }
        // Deferred (quiet hours, a rate limit) is no attempt: it comes back in a minute.
        const bool deferred = result == DeliveryResult::Deferred;
        const int attempts = item.attempts + (deferred ? 0 : 1);
        std::string status = "pending";
        if (result == DeliveryResult::Sent)
            status = "sent";
        else if (result == DeliveryResult::Failed ||
                 (!deferred && attempts >= options_.maxAttempts))
            status = "failed";
        const std::int64_t backoff =
            deferred ? kDeferMs
                     : std::min<std::int64_t>(30000LL << std::min(attempts - 1, 16), 3600000);
        db_.write([&](Session& s) {
            std::int64_t at = nowMs(), next = at + backoff, id = item.id;
            Poco::Nullable<std::int64_t> sentAt = status == "sent"
                                                      ? Poco::Nullable<std::int64_t>(at)
                                                      : Poco::Nullable<std::int64_t>();
            int n = attempts;
            s << "UPDATE outbox SET status = $1, attempts = $2, next_attempt_at = $3, "
                 "last_error = $4, sent_at = $5 WHERE id = $6",
                use(status), use(n), use(next), use(error), use(sentAt), use(id), now;
        });
        if (status == "failed")  // the recipient (a phone number) is not logged
            log_.warning("outbox message %?d via %s failed: %s", item.id, item.message.channel,
                         error);
    }
    return attempted;
}

void DurableOutbox::start() {
    std::lock_guard lock(mutex_);
    if (thread_.joinable()) return;
    stopping_ = false;
    thread_ = std::thread([this] {
        std::unique_lock guard(mutex_);
        while (!stopping_) {
            poke_ = false;
            guard.unlock();
            try {
                deliverDue();
            } catch (const Unavailable& e) {
                log_.warning("outbox: %s", std::string(e.what()));
            } catch (const std::exception& e) {
                log_.error("outbox: %s", std::string(e.what()));
            }
            guard.lock();
            wake_.wait_for(guard, std::chrono::milliseconds(options_.pollMs),
                           [&] { return stopping_ || poke_; });
        }
    });
}

void DurableOutbox::stop() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
}

}  // namespace hailong

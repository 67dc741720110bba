#include "webhooks/Webhooks.h"

#include "common/Clock.h"
#include "common/Random.h"
#include "common/Utf8.h"
#include "directory/DirectoryStore.h"

#include <hailong/Hmac.h>
#include <hailong/Problem.h>

#include <Poco/Data/RecordSet.h>
#include <Poco/Data/Statement.h>
#include <Poco/JSON/Object.h>
#include <Poco/Logger.h>
#include <Poco/Net/Context.h>
#include <Poco/Net/DNS.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/HTTPSClientSession.h>
#include <Poco/Net/HostEntry.h>
#include <Poco/Net/IPAddress.h>
#include <Poco/Net/SSLManager.h>
#include <Poco/Nullable.h>
#include <Poco/URI.h>

#include <algorithm>
#include <sstream>

using namespace Poco::Data::Keywords;
using Poco::Data::RecordSet;
using Poco::Data::Session;
using Poco::Data::Statement;
using Poco::JSON::Object;

namespace hailong {
namespace {

constexpr std::size_t kMaxUrl = 500;
constexpr std::size_t kMaxBatch = 500;
constexpr std::int64_t kSettleMs = 2000;  // a transaction still open may commit a lower id

std::vector<std::string> split(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string word; in >> word;) out.push_back(word);
    return out;
}

std::optional<std::int64_t> nullable(const Poco::Dynamic::Var& v) {
    return v.isEmpty() ? std::nullopt : std::optional(v.convert<std::int64_t>());
}

const char* kSubscriptionColumns =
    "SELECT w.id, w.name, w.url, w.agency_id, a.code, a.path, w.events, w.status, "
    "w.pause_reason, w.failing_since, w.paused_at, w.last_success_at, w.created_at, "
    "w.created_by FROM webhook_subscriptions w JOIN agencies a ON a.id = w.agency_id ";

std::vector<WebhookSubscription> readSubscriptions(Statement& st) {
    st.execute();
    RecordSet rs(st);
    std::vector<WebhookSubscription> out;
    for (bool more = rs.moveFirst(); more; more = rs.moveNext()) {
        WebhookSubscription w;
        w.id = rs.value(0).convert<std::int64_t>();
        w.name = rs.value(1).convert<std::string>();
        w.url = rs.value(2).convert<std::string>();
        w.agencyId = rs.value(3).convert<std::int64_t>();
        w.agencyCode = rs.value(4).convert<std::string>();
        w.agencyPath = rs.value(5).convert<std::string>();
        w.events = split(rs.value(6).convert<std::string>());
        w.status = rs.value(7).convert<std::string>();
        w.pauseReason = rs.value(8).convert<std::string>();
        w.failingSinceMs = nullable(rs.value(9));
        w.pausedAtMs = nullable(rs.value(10));
        w.lastSuccessMs = nullable(rs.value(11));
        w.createdAtMs = rs.value(12).convert<std::int64_t>();
        w.createdBy = rs.value(13).convert<std::string>();
        out.push_back(std::move(w));
    }
    return out;
}

// Whether `w` receives an event of `type` that happened at `atMs` in agency `path` (not what
// happened before it existed, nor while it is paused).
bool wants(const WebhookSubscription& w, const std::string& type, const std::string& path,
           std::int64_t atMs) {
    return w.status == "active" && atMs >= w.createdAtMs && !path.empty() &&
           path.starts_with(w.agencyPath) &&
           std::find(w.events.begin(), w.events.end(), type) != w.events.end();
}

}  // namespace

// ---------------------------------------------------------------------------- WebhookStore

void WebhookStore::check(const WebhookInput& in, const DirectoryStore& directory) {
    std::vector<FieldError> errors;
    if (in.name.empty() || utf8::length(in.name) > 100)
        errors.push_back(
            {"name", in.name.empty() ? "field.required" : "field.too_long", {{"max", "100"}}});
    try {
        const Poco::URI uri(in.url);
        if ((uri.getScheme() != "http" && uri.getScheme() != "https") || uri.getHost().empty() ||
            in.url.size() > kMaxUrl)
            errors.push_back({"url", "webhook.url", {{"max", std::to_string(kMaxUrl)}}});
    } catch (const Poco::Exception&) {
        errors.push_back({"url", "webhook.url", {{"max", std::to_string(kMaxUrl)}}});
    }
    if (!in.privateTargets && std::none_of(errors.begin(), errors.end(),
                                           [](const FieldError& e) { return e.field == "url"; })) {
        // Every address the name has now must be public (a name resolving elsewhere later is
        // not caught here).
        try {
            const std::string host = Poco::URI(in.url).getHost();
            std::vector<Poco::Net::IPAddress> addresses;
            Poco::Net::IPAddress literal;
            if (Poco::Net::IPAddress::tryParse(host, literal))
                addresses.push_back(literal);
            else
                addresses = Poco::Net::DNS::hostByName(host).addresses();
            for (const auto& a : addresses)
                if (a.isLoopback() || a.isSiteLocal() || a.isLinkLocal() || a.isWildcard() ||
                    a.isMulticast() ||
                    (a.family() == Poco::Net::IPAddress::IPv6 &&
                     (a.isIPv4Mapped() || a.toString().starts_with("fc") ||
                      a.toString().starts_with("fd")))) {
                    errors.push_back({"url", "webhook.private_target", {{"host", host}}});
                    break;
                }
        } catch (const Poco::Exception&) {
            errors.push_back({"url", "webhook.unknown_host", {}});
        }
    }
    std::string allowed;
    for (const char* e : kWebhookEvents) allowed += (allowed.empty() ? "" : ", ") + std::string(e);
    if (in.events.empty()) errors.push_back({"events", "field.required", {}});
    for (std::size_t i = 0; i < in.events.size(); ++i)
        if (std::none_of(std::begin(kWebhookEvents), std::end(kWebhookEvents),
                         [&](const char* e) { return in.events[i] == e; }))
            errors.push_back(
                {"events." + std::to_string(i), "field.one_of", {{"allowed", allowed}}});
    if (!directory.agency(in.agencyCode))
        errors.push_back({"agency",
                          in.agencyCode.empty() ? "field.required" : "directory.unknown_reference",
                          {{"code", in.agencyCode}}});
    if (!errors.empty()) throw Problem(422, "webhook.invalid", {}, std::move(errors));
}

std::pair<WebhookSubscription, std::string> WebhookStore::add(const WebhookInput& in,
                                                              const std::string& by) {
    check(in, directory_);
    const auto agency = directory_.agency(in.agencyCode);

    const std::string secret = "whsec_" + random::hex(24);
    std::string events;
    for (const std::string& e : in.events)
        if (events.find(e) == std::string::npos) events += (events.empty() ? "" : " ") + e;
    const std::int64_t id = db_.write([&](Session& s) {
        int taken = 0;
        std::string name = in.name;
        std::int64_t at = nowMs(), agencyId = agency->id, newId = 0;
        s << "SELECT COUNT(*) FROM webhook_subscriptions WHERE name = $1 AND agency_id = $2",
            use(name), use(agencyId), into(taken), now;
        if (taken > 0) throw Problem(409, "webhook.name_taken", {{"name", in.name}});
        std::string url = in.url, status = "active", who = by;
        s << "INSERT INTO webhook_subscriptions (name, url, agency_id, events, secret, status, "
             "pause_reason, created_at, created_by) VALUES ($1, $2, $3, $4, $5, $6, '', $7, $8) "
             "RETURNING id",
            use(name), use(url), use(agencyId), use(events), bind(secret), use(status), use(at),
            use(who), into(newId), now;
        return newId;
    });
    return {*find(id), secret};
}

std::vector<WebhookSubscription> WebhookStore::list(const std::string& scopePath) const {
    return db_.read([&](Session& s) {
        Statement st(s);
        std::string like = scopePath + "%";
        st << std::string(kSubscriptionColumns) + "WHERE a.path LIKE $1 ORDER BY w.id", use(like);
        return readSubscriptions(st);
    });
}

std::optional<WebhookSubscription> WebhookStore::find(std::int64_t id) const {
    return db_.read([&](Session& s) -> std::optional<WebhookSubscription> {
        Statement st(s);
        st << std::string(kSubscriptionColumns) + "WHERE w.id = $1", use(id);
        auto all = readSubscriptions(st);
        if (all.empty()) return std::nullopt;
        return all.front();
    });
}

std::string WebhookStore::secret(std::int64_t id) const {
    return db_.read([&](Session& s) {
        Poco::Nullable<std::string> secret;
        s << "SELECT secret FROM webhook_subscriptions WHERE id = $1", use(id), into(secret), now;
        return secret.isNull() ? std::string() : secret.value();
    });
}

void WebhookStore::remove(std::int64_t id) {
    db_.write([&](Session& s) {
        s << "DELETE FROM webhook_subscriptions WHERE id = $1", use(id), now;
        // Its queue and log go with it (SQLite may give its id to the next one).
        std::string recipient = std::to_string(id);
        s << "DELETE FROM outbox WHERE channel = 'webhook' AND recipient = $1", use(recipient), now;
    });
}

void WebhookStore::pause(std::int64_t id, const std::string& reason) {
    db_.write([&](Session& s) {
        std::int64_t at = nowMs();
        std::string why = reason;
        s << "UPDATE webhook_subscriptions SET status = 'paused', paused_at = $1, "
             "pause_reason = $2 WHERE id = $3 AND status = 'active'",
            use(at), use(why), use(id), now;
    });
}

namespace {

// Deliveries of subscription `id` that ran out of attempts go again, from the start (a receiver
// down for hours loses nothing once it answers again, or once it is resumed).
void requeueFailed(Session& s, std::int64_t id) {
    std::string recipient = std::to_string(id);
    std::int64_t at = nowMs();
    s << "UPDATE outbox SET status = 'pending', attempts = 0, next_attempt_at = $1 "
         "WHERE channel = 'webhook' AND recipient = $2 AND status = 'failed'",
        use(at), use(recipient), now;
}

}  // namespace

void WebhookStore::resume(std::int64_t id) {
    db_.write([&](Session& s) {
        s << "UPDATE webhook_subscriptions SET status = 'active', paused_at = NULL, "
             "pause_reason = '', failing_since = NULL WHERE id = $1",
            use(id), now;
        requeueFailed(s, id);
    });
}

std::vector<WebhookDelivery> WebhookStore::deliveries(std::int64_t id, int limit) const {
    return db_.read([&](Session& s) {
        Statement st(s);
        std::string recipient = std::to_string(id);
        st << "SELECT id, dedupe_key, status, last_error, attempts, created_at, next_attempt_at, "
              "sent_at FROM outbox WHERE channel = 'webhook' AND recipient = $1 "
              "ORDER BY id DESC LIMIT " +
                  std::to_string(std::clamp(limit, 1, 1000)),
            use(recipient);
        st.execute();
        RecordSet rs(st);
        std::vector<WebhookDelivery> out;
        for (bool more = rs.moveFirst(); more; more = rs.moveNext()) {
            WebhookDelivery d;
            d.id = rs.value(0).convert<std::int64_t>();
            // "webhook:<subscription>:<type>:<source id>"
            const std::string key = rs.value(1).convert<std::string>();
            const auto second = key.find(':', key.find(':') + 1);
            d.eventId = key.substr(second + 1);
            d.type = d.eventId.substr(0, d.eventId.rfind(':'));
            d.status = rs.value(2).convert<std::string>();
            d.lastError = rs.value(3).convert<std::string>();
            d.attempts = rs.value(4).convert<int>();
            d.createdAtMs = rs.value(5).convert<std::int64_t>();
            d.nextAttemptAtMs = rs.value(6).convert<std::int64_t>();
            d.sentAtMs = nullable(rs.value(7));
            out.push_back(std::move(d));
        }
        return out;
    });
}

std::optional<std::int64_t> WebhookStore::attempted(std::int64_t id, bool ok, std::int64_t atMs) {
    return db_.write([&](Session& s) -> std::optional<std::int64_t> {
        if (ok) {
            Poco::Nullable<std::int64_t> wasFailing;
            s << "SELECT failing_since FROM webhook_subscriptions WHERE id = $1", use(id),
                into(wasFailing), now;
            s << "UPDATE webhook_subscriptions SET failing_since = NULL, last_success_at = $1 "
                 "WHERE id = $2",
                use(atMs), use(id), now;
            if (!wasFailing.isNull()) requeueFailed(s, id);  // the streak is over
            return std::nullopt;
        }
        s << "UPDATE webhook_subscriptions SET failing_since = $1 WHERE id = $2 AND "
             "failing_since IS NULL",
            use(atMs), use(id), now;
        Poco::Nullable<std::int64_t> since;
        s << "SELECT failing_since FROM webhook_subscriptions WHERE id = $1", use(id), into(since),
            now;
        return since.isNull() ? std::optional<std::int64_t>() : since.value();
    });
}

// ----------------------------------------------------------------------------- WebhookFeed

WebhookFeed::WebhookFeed(Database& db, WebhookStore& store, Outbox& outbox, Poco::Logger& log,
                         Options options)
    : db_(db),
      store_(store),
      outbox_(outbox),
      log_(log),
      options_(std::move(options)),
      task_(
          std::chrono::milliseconds(options_.pollMs), [this] { follow(); },
          [this](const std::exception& e) {
              log_.warning("webhooks: %s (tried again shortly)", std::string(e.what()));
          }) {
    Poco::Net::initializeSSL();  // counted: for HTTPS receivers
}

WebhookFeed::~WebhookFeed() {
    stop();
    Poco::Net::uninitializeSSL();
}

void WebhookFeed::start() {
    try {
        follow();  // the first look sets the cursors at once: what happened before is not sent
    } catch (const std::exception& e) {
        log_.warning("webhooks: %s (tried again shortly)", std::string(e.what()));
    }
    task_.start();
}

void WebhookFeed::stop() {
    task_.stop();
}

namespace {

// One source of events: new rows of a table after a cursor.
struct Source {
    const char* task;  // its cursor in the housekeeping table
    const char* sql;   // id, time, agency code, agency path, then its own columns; $1: the cursor
    // The event types a row gives, with their data.
    std::function<std::vector<std::pair<std::string, Object::Ptr>>(RecordSet&, const std::string&)>
        events;
};

std::string text(RecordSet& rs, std::size_t c) {
    return rs.value(c).isEmpty() ? std::string() : rs.value(c).convert<std::string>();
}

}  // namespace

int WebhookFeed::follow() {
    const auto subscriptions = store_.list("");
    const std::string base = options_.baseUrl ? options_.baseUrl() : "";
    const std::vector<Source> sources{
        {"webhooks.responses",
         "SELECT r.id, r.received_at, a.code, a.path, r.receipt, r.survey_id, r.channel, r.mood, "
         "r.answered_at, d.code FROM responses r LEFT JOIN agencies a ON a.id = r.agency_id "
         "LEFT JOIN dossiers d ON d.id = r.dossier_id WHERE r.id > $1 ORDER BY r.id",
         [&](RecordSet& rs, const std::string& agency) {
             Object::Ptr data = new Object;
             const std::string receipt = text(rs, 4);
             data->set("receipt", receipt);
             data->set("survey", text(rs, 5));
             data->set("channel", text(rs, 6));
             data->set("agency", agency);
             data->set("dossier", rs.value(9).isEmpty() ? Poco::Dynamic::Var() : rs.value(9));
             data->set("answered_at", formatTimeMs(rs.value(8).convert<std::int64_t>()));
             const bool rated = !rs.value(7).isEmpty();
             const double mood = rated ? rs.value(7).convert<double>() : 0;
             data->set("mood", rated ? Poco::Dynamic::Var(mood) : Poco::Dynamic::Var());
             data->set("negative", rated && mood < 50);
             data->set("url", base + "/api/v1/responses/" + receipt);
             std::vector<std::pair<std::string, Object::Ptr>> out{{"response.created", data}};
             if (rated && mood < 50) out.emplace_back("response.negative", data);
             return out;
         }},
        {"webhooks.case_events",
         "SELECT e.id, e.at, a.code, a.path, c.code, c.status, e.action, e.actor FROM "
         "case_events e JOIN cases c ON c.id = e.case_id JOIN agencies a ON a.id = c.agency_id "
         "WHERE e.id > $1 ORDER BY e.id",
         [&](RecordSet& rs, const std::string& agency) {
             Object::Ptr data = new Object;
             data->set("case", text(rs, 4));
             data->set("status", text(rs, 5));
             data->set("action", text(rs, 6));
             data->set("by", text(rs, 7).starts_with("user:") ? "official" : "system");
             data->set("agency", agency);
             data->set("url", base + "/api/v1/cases/" + text(rs, 4));
             return std::vector<std::pair<std::string, Object::Ptr>>{{"case.changed", data}};
         }},
        {"webhooks.alerts",
         "SELECT al.id, al.opened_at, a.code, a.path, al.rule_id, al.value, al.n FROM alerts al "
         "JOIN agencies a ON a.id = al.agency_id WHERE al.id > $1 ORDER BY al.id",
         [&](RecordSet& rs, const std::string& agency) {
             Object::Ptr data = new Object;
             data->set("alert", rs.value(0).convert<std::int64_t>());
             data->set("rule", rs.value(4).convert<std::int64_t>());
             data->set("agency", agency);
             data->set("value", rs.value(5).convert<double>());
             data->set("n", rs.value(6).convert<std::int64_t>());
             data->set("url", base + "/api/v1/alerts");
             return std::vector<std::pair<std::string, Object::Ptr>>{{"alert.raised", data}};
         }},
    };
    int queued = 0;
    for (const Source& source : sources) {
        std::string task = source.task;
        // The first look starts from now: no deliveries for what happened before.
        auto cursor = db_.read([&](Session& s) {
            Poco::Nullable<std::int64_t> at;
            s << "SELECT done_until FROM housekeeping WHERE task = $1", use(task), into(at), now;
            return at.isNull() ? std::optional<std::int64_t>() : at.value();
        });
        if (!cursor) {
            const std::string table = task.substr(task.find('.') + 1);
            db_.write([&](Session& s) {
                std::int64_t top = 0;
                s << "SELECT COALESCE(MAX(id), 0) FROM " + table, into(top), now;
                s << "INSERT INTO housekeeping (task, done_until) VALUES ($1, $2) "
                     "ON CONFLICT (task) DO NOTHING",
                    use(task), use(top), now;
            });
            continue;
        }
        std::int64_t last = *cursor;
        db_.read([&](Session& s) {
            Statement st(s);
            std::int64_t after = *cursor;
            st << std::string(source.sql) + " LIMIT " + std::to_string(kMaxBatch), use(after);
            st.execute();
            RecordSet rs(st);
            for (bool more = rs.moveFirst(); more; more = rs.moveNext()) {
                const std::int64_t id = rs.value(0).convert<std::int64_t>();
                const std::int64_t at = rs.value(1).convert<std::int64_t>();
                if (at > nowMs() - kSettleMs) break;  // the next look takes it
                const std::string agency = text(rs, 2), path = text(rs, 3);
                for (const auto& [type, data] : source.events(rs, agency)) {
                    for (const WebhookSubscription& w : subscriptions) {
                        if (!wants(w, type, path, at)) continue;
                        const std::string eventId = type + ":" + std::to_string(id);
                        Object body;
                        body.set("id", eventId);
                        body.set("type", type);
                        body.set("occurred_at", formatTimeMs(at));
                        body.set("data", data);
                        std::ostringstream json;
                        body.stringify(json);
                        OutboundMessage m;
                        m.channel = "webhook";
                        m.recipient = std::to_string(w.id);
                        m.body = json.str();
                        m.dedupeKey = "webhook:" + std::to_string(w.id) + ":" + eventId;
                        outbox_.enqueue(m);
                        ++queued;
                    }
                }
                last = id;
            }
        });
        if (last != *cursor)
            db_.write([&](Session& s) {
                s << "UPDATE housekeeping SET done_until = $1 WHERE task = $2 AND done_until < $1",
                    use(last), use(task), now;
            });
    }
    return queued;
}

DeliveryResult WebhookFeed::deliver(const OutboundMessage& m, std::string& error) {
    const std::int64_t id = std::stoll(m.recipient);
    const auto w = store_.find(id);
    if (!w) {
        error = "the subscription was removed";
        return DeliveryResult::Failed;
    }
    if (w->status != "active") {
        error = w->pauseReason;  // the error that paused it stays in the log
        return DeliveryResult::Deferred;
    }
    const std::string secret = store_.secret(id);
    const std::string timestamp = std::to_string(nowMs() / 1000);
    const std::string eventId = m.dedupeKey.substr(m.dedupeKey.find(':', 8) + 1);
    bool ok = false;
    try {
        const Poco::URI uri(w->url);
        std::unique_ptr<Poco::Net::HTTPClientSession> session;
        if (uri.getScheme() == "https") {
            Poco::Net::Context::Ptr context =
                new Poco::Net::Context(Poco::Net::Context::TLS_CLIENT_USE, "",
                                       Poco::Net::Context::VERIFY_RELAXED, 9, true);
            session = std::make_unique<Poco::Net::HTTPSClientSession>(uri.getHost(), uri.getPort(),
                                                                      context);
        } else {
            session = std::make_unique<Poco::Net::HTTPClientSession>(uri.getHost(), uri.getPort());
        }
        session->setTimeout(Poco::Timespan(options_.timeoutS, 0));
        Poco::Net::HTTPRequest request(Poco::Net::HTTPRequest::HTTP_POST, uri.getPathAndQuery(),
                                       Poco::Net::HTTPMessage::HTTP_1_1);
        request.setContentType("application/json");
        request.setContentLength(static_cast<std::streamsize>(m.body.size()));
        request.set("User-Agent", "hailong-webhooks");
        request.set("X-Hailong-Event", eventId.substr(0, eventId.rfind(':')));
        request.set("X-Hailong-Delivery", m.recipient + "/" + eventId);
        request.set("X-Hailong-Timestamp", timestamp);
        request.set("X-Hailong-Signature", hmacSha256Hex(secret, timestamp + "." + m.body));
        session->sendRequest(request) << m.body;
        Poco::Net::HTTPResponse response;
        std::istream& in = session->receiveResponse(response);
        // Only the status is kept: the receiver's words could be another system's data.
        ok = response.getStatus() >= 200 && response.getStatus() < 300;
        if (!ok) error = "the receiver answered HTTP " + std::to_string(response.getStatus());
        in.ignore(4096);
    } catch (const Poco::Exception& e) {
        error = "the receiver could not be reached: " + e.displayText();
    }
    const auto failingSince = store_.attempted(id, ok, nowMs());
    if (ok) return DeliveryResult::Sent;
    if (failingSince && nowMs() - *failingSince >= options_.pauseAfterMs) {
        store_.pause(id, error);
        log_.warning("webhook %s paused: its deliveries have failed since %s (%s)", w->name,
                     formatTimeMs(*failingSince), error);
    }
    return DeliveryResult::RetryLater;
}

}  // namespace hailong

#include "directory/DeviceRegistry.h"

#include "common/SecretHash.h"

#include "common/Clock.h"
#include "common/Random.h"
#include "survey/SurveyParser.h"

#include <hailong/Problem.h>

#include <Poco/Nullable.h>

#include <algorithm>
#include <cctype>

using namespace Poco::Data::Keywords;
using Poco::Data::Session;

namespace hailong {
namespace {

constexpr int kSeenEverySeconds = 10;  // last_seen_at is written this often, for every device

std::int64_t ms(std::chrono::milliseconds d) {
    return static_cast<std::int64_t>(d.count());
}

}  // namespace

DeviceRegistry::DeviceRegistry(Database& db, const DirectoryStore& directory, Options options)
    : db_(db), directory_(directory), options_(options) {
    seenWriter_ = std::thread([this] { seenLoop(); });
}

std::string DeviceRegistry::canonicalPairingCode(std::string_view typed) {
    std::string out;
    for (char c : typed) {
        if (c == '-' || c == ' ') continue;
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        if (c == 'O') c = '0';  // Crockford: letters people confuse with digits
        if (c == 'I' || c == 'L') c = '1';
        out += c;
        if (out.size() > 32) break;
    }
    return out;
}

PairingCode DeviceRegistry::issuePairing(const std::string& deviceCode) {
    const std::string code = random::code(8);
    const std::int64_t expires = nowMs() + ms(options_.pairingValidity);
    db_.write([&](Session& s) {
        std::string hash = SurveyParser::hash(code), dc = deviceCode;
        const std::int64_t at = nowMs();
        Poco::Data::Statement st(s);
        st << "UPDATE devices SET pairing_hash = $1, pairing_expires_at = $2, updated_at = $3 "
              "WHERE code = $4",
            use(hash), bind(expires), bind(at), use(dc);
        if (st.execute() == 0) throw Problem(404, "device.not_found", {{"code", deviceCode}});
    });
    forget();
    return {code.substr(0, 4) + "-" + code.substr(4), expires};
}

DevicePairing DeviceRegistry::pair(std::string_view typed) {
    const std::string canonical = canonicalPairingCode(typed);
    if (canonical.size() != 8) throw Problem(422, "device.pairing_invalid");
    const std::string token = "hd_" + random::hex(32);
    const std::string deviceCode = db_.write([&](Session& s) {
        std::string hash = SurveyParser::hash(canonical), code;
        const std::int64_t at = nowMs();
        Poco::Nullable<std::int64_t> id;
        s << "SELECT id, code FROM devices WHERE pairing_hash = $1 AND pairing_expires_at > $2",
            use(hash), bind(at), into(id), into(code), now;
        if (id.isNull()) throw Problem(422, "device.pairing_invalid");
        std::string tokenHash = SurveyParser::hash(token);
        const std::int64_t deviceId = id.value();
        // The code is checked again by the update itself: of tablets typing one code at once,
        // one pairs (PostgreSQL re-reads the row once the first has committed).
        Poco::Data::Statement update(s);
        update << "UPDATE devices SET token_hash = $1, status = 'active', pairing_hash = '', "
                  "pairing_expires_at = NULL, paired_at = $2, revoked_at = NULL, "
                  "last_seen_at = $3, updated_at = $4 WHERE id = $5 AND pairing_hash = $6",
            use(tokenHash), bind(at), bind(at), bind(at), bind(deviceId), use(hash);
        if (update.execute() != 1) throw Problem(422, "device.pairing_invalid");
        return code;
    });
    forget();
    auto session = sessionWhere("d.code", deviceCode);
    if (!session) throw std::logic_error("a device paired just now has no session");
    return {token, *session};
}

std::optional<DeviceSession> DeviceRegistry::sessionWhere(const std::string& column,
                                                          const std::string& value) {
    struct Row {
        std::int64_t id = 0;
        std::string counterCode, officerCode;
    };
    Device d;
    Row row;
    const bool found = db_.read([&](Session& s) {
        Poco::Nullable<std::int64_t> id, lastSeen;
        Poco::Nullable<std::string> officer;
        std::string v = value;
        const std::int64_t shiftFrom = nowMs() - ms(options_.longestShift);
        s << "SELECT d.id, d.code, d.name, d.counter_id, d.status, d.last_seen_at, c.code, "
             "(SELECT o.code FROM device_shifts sh JOIN officers o ON o.id = sh.officer_id "
             "WHERE sh.device_id = d.id AND sh.ended_at IS NULL AND sh.started_at > $1 "
             "ORDER BY sh.started_at DESC LIMIT 1) "
             "FROM devices d JOIN counters c ON c.id = d.counter_id WHERE " +
                 column + " = $2",
            bind(shiftFrom), use(v), into(id), into(d.code), into(d.name), into(d.counterId),
            into(d.status), into(lastSeen), into(row.counterCode), into(officer), now;
        if (id.isNull()) return false;
        d.id = id.value();
        if (!lastSeen.isNull()) d.lastSeenAtMs = lastSeen.value();
        if (!officer.isNull()) row.officerCode = officer.value();
        return true;
    });
    if (!found) return std::nullopt;
    DeviceSession session;
    session.device = d;
    auto counter = directory_.counter(row.counterCode);
    auto agency = counter ? directory_.agencyById(counter->agencyId) : std::nullopt;
    if (!counter || !agency) return std::nullopt;
    session.counter = *counter;
    session.agency = *agency;
    if (!row.officerCode.empty()) session.officer = directory_.officer(row.officerCode);
    return session;
}

void DeviceRegistry::forget() {
    sessions_.clear();
    directory_.forgetCached();
}

DeviceAuth DeviceRegistry::authenticate(std::string_view token) {
    if (token.size() < 8 || token.size() > 128) return {};
    const std::string hash = SurveyParser::hash(std::string(token));
    // A directory write on this host (a device moved to another counter) makes the sessions
    // stale at once.
    const std::uint64_t generation = directory_.generation();
    if (directoryGeneration_.exchange(generation) != generation) sessions_.clear();
    auto session = sessions_.get(hash, [&] { return sessionWhere("d.token_hash", hash); });
    if (session && db_.backend() == Backend::PostgreSQL) {
        // The device as the database has it now, not cached: a revocation, a new pairing or a
        // move made on any host applies to this host's next request (one indexed read). On
        // SQLite there is one host, whose own changes clear the cache at once; the read cost a
        // fifth of the counter's CPU time (perf), so it is left to the other hosts' case.
        std::string status;
        std::int64_t counterId = 0;
        const bool found = db_.read([&](Session& s) {
            std::string h = hash;
            s << "SELECT status, counter_id FROM devices WHERE token_hash = $1", use(h),
                into(status), into(counterId), now;
            return !status.empty();
        });
        if (!found || counterId != session->device.counterId || status != session->device.status) {
            sessions_.clear();
            session = found ? sessionWhere("d.token_hash", hash) : std::nullopt;
        }
    }
    if (!session) return {};
    if (session->device.status != "active") return {DeviceState::Revoked, std::nullopt};
    noteSeen(session->device.id);
    return {DeviceState::Active, session};
}

void DeviceRegistry::noteSeen(std::int64_t deviceId) {
    std::lock_guard lock(mutex_);
    seen_[deviceId] = nowMs();
}

void DeviceRegistry::noteQueue(std::int64_t deviceId, std::int64_t waiting) {
    std::lock_guard lock(mutex_);
    queues_[deviceId] = std::clamp<std::int64_t>(waiting, 0, 1000000);
}

void DeviceRegistry::flushSeen() {
    std::map<std::int64_t, std::int64_t> due, queues;
    {
        std::lock_guard lock(mutex_);
        due.swap(seen_);
        queues.swap(queues_);
    }
    if (due.empty() && queues.empty()) return;
    try {
        db_.write([&](Session& s) {
            for (auto [device, at] : due)
                s << "UPDATE devices SET last_seen_at = $1 WHERE id = $2 AND "
                     "(last_seen_at IS NULL OR last_seen_at < $3)",
                    bind(at), bind(device), bind(at), now;
            for (auto [device, waiting] : queues)
                s << "UPDATE devices SET queue_size = $1 WHERE id = $2", bind(waiting),
                    bind(device), now;
        });
    } catch (const std::exception&) {
        // Only "last seen" times: they are noted again at the devices' next requests.
    }
}

void DeviceRegistry::seenLoop() {
    std::unique_lock lock(stopMutex_);
    for (;;) {
        const bool stopping = stop_.wait_for(lock, std::chrono::seconds(kSeenEverySeconds),
                                             [this] { return stopping_; });
        lock.unlock();
        flushSeen();
        lock.lock();
        if (stopping) return;
    }
}

DeviceRegistry::~DeviceRegistry() {
    {
        std::lock_guard lock(stopMutex_);
        stopping_ = true;
    }
    stop_.notify_all();
    if (seenWriter_.joinable()) seenWriter_.join();
}

void DeviceRegistry::revoke(const std::string& deviceCode) {
    db_.write([&](Session& s) {
        std::string dc = deviceCode;
        const std::int64_t at = nowMs();
        Poco::Data::Statement st(s);
        st << "UPDATE devices SET status = 'revoked', revoked_at = $1, pairing_hash = '', "
              "pairing_expires_at = NULL, updated_at = $2 WHERE code = $3",
            bind(at), bind(at), use(dc);
        if (st.execute() == 0) throw Problem(404, "device.not_found", {{"code", deviceCode}});
        s << "UPDATE device_shifts SET ended_at = $1 WHERE ended_at IS NULL AND device_id = "
             "(SELECT id FROM devices WHERE code = $2)",
            bind(at), use(dc), now;
    });
    forget();
}

void DeviceRegistry::setPin(const std::string& officerCode, const std::string& pin) {
    const bool digits =
        std::all_of(pin.begin(), pin.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (!pin.empty() && (!digits || pin.size() < 4 || pin.size() > 8))
        throw Problem(422, "request.invalid", {}, {{"pin", "officer.pin_shape", {}}});
    std::string hash = pin.empty() ? std::string() : hashSecret(pin);
    db_.write([&](Session& s) {
        std::string oc = officerCode;
        const std::int64_t at = nowMs();
        Poco::Data::Statement st(s);
        st << "UPDATE officers SET pin_hash = $1, updated_at = $2 WHERE code = $3", use(hash),
            bind(at), use(oc);
        if (st.execute() == 0) throw Problem(404, "officer.not_found", {{"code", officerCode}});
    });
}

Officer DeviceRegistry::signIn(std::int64_t deviceId, std::string_view officerCode,
                               std::string_view pin) {
    auto officer = directory_.officer(officerCode);
    if (!officer || !officer->active)
        throw Problem(
            422, "request.invalid", {},
            {{"officer", "directory.unknown_reference", {{"code", std::string(officerCode)}}}});
    const std::int64_t at = nowMs();
    {
        std::lock_guard lock(mutex_);
        const Tries& t = pinTries_[officer->id];
        if (t.pausedUntilMs > at) {
            Problem p(429, "shift.paused",
                      {{"minutes", std::to_string((t.pausedUntilMs - at) / 60000 + 1)}});
            p.headers.push_back({"Retry-After", std::to_string((t.pausedUntilMs - at) / 1000 + 1)});
            throw p;
        }
    }
    std::string encoded;
    db_.read([&](Session& s) {
        std::int64_t id = officer->id;
        s << "SELECT pin_hash FROM officers WHERE id = $1", bind(id), into(encoded), now;
    });
    if (encoded.empty()) throw Problem(403, "shift.no_pin", {{"code", officer->code}});
    if (!secretMatches(encoded, pin)) {
        std::lock_guard lock(mutex_);
        Tries& t = pinTries_[officer->id];
        if (++t.wrong >= options_.pinTries) {
            t.wrong = 0;
            t.pausedUntilMs = at + ms(options_.pinPause);
        }
        throw Problem(403, "shift.bad_pin");
    }
    {
        std::lock_guard lock(mutex_);
        pinTries_.erase(officer->id);
    }
    return beginShift(deviceId, officer->code, "pin");
}

Officer DeviceRegistry::startShift(const std::string& deviceCode, const std::string& officerCode) {
    auto device = directory_.device(deviceCode);
    if (!device) throw Problem(404, "device.not_found", {{"code", deviceCode}});
    auto officer = directory_.officer(officerCode);
    if (!officer || !officer->active)
        throw Problem(422, "request.invalid", {},
                      {{"officer", "directory.unknown_reference", {{"code", officerCode}}}});
    return beginShift(device->id, officer->code, "console");
}

Officer DeviceRegistry::beginShift(std::int64_t deviceId, std::string_view officerCode,
                                   const char* by) {
    auto officer = directory_.officer(officerCode);
    if (!officer) throw Problem(422, "request.invalid");
    // An officer rated at a counter works for the counter's agency or one above it.
    const bool sameTree = db_.read([&](Session& s) {
        std::string counterPath, officerPath;
        std::int64_t officerAgency = officer->agencyId;
        s << "SELECT a.path FROM devices d JOIN counters c ON c.id = d.counter_id JOIN agencies a "
             "ON a.id = c.agency_id WHERE d.id = $1",
            bind(deviceId), into(counterPath), now;
        s << "SELECT path FROM agencies WHERE id = $1", bind(officerAgency), into(officerPath), now;
        return !officerPath.empty() && counterPath.starts_with(officerPath);
    });
    if (!sameTree)
        throw Problem(422, "request.invalid", {},
                      {{"officer", "shift.other_agency", {{"code", officer->code}}}});
    db_.write([&](Session& s) {
        const std::int64_t at = nowMs(), officerId = officer->id;
        std::string startedBy = by;
        s << "UPDATE device_shifts SET ended_at = $1 WHERE device_id = $2 AND ended_at IS NULL",
            bind(at), bind(deviceId), now;
        s << "INSERT INTO device_shifts (device_id, officer_id, started_at, started_by) VALUES "
             "($1, $2, $3, $4)",
            bind(deviceId), bind(officerId), bind(at), use(startedBy), now;
    });
    forget();
    return *officer;
}

void DeviceRegistry::signOut(std::int64_t deviceId) {
    db_.write([&](Session& s) {
        const std::int64_t at = nowMs();
        s << "UPDATE device_shifts SET ended_at = $1 WHERE device_id = $2 AND ended_at IS NULL",
            bind(at), bind(deviceId), now;
    });
    forget();
}

void DeviceRegistry::endShift(const std::string& deviceCode) {
    auto device = directory_.device(deviceCode);
    if (!device) throw Problem(404, "device.not_found", {{"code", deviceCode}});
    signOut(device->id);
}

std::optional<DeviceSession> DeviceRegistry::session(const std::string& deviceCode) {
    return sessionWhere("d.code", deviceCode);
}

}  // namespace hailong

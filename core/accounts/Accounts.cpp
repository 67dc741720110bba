#include "accounts/Accounts.h"

#include "common/Clock.h"
#include "common/Random.h"
#include "common/SecretHash.h"
#include "common/Utf8.h"

#include <hailong/Hmac.h>
#include <hailong/Problem.h>

#include <Poco/Data/RecordSet.h>
#include <Poco/Nullable.h>

#include <algorithm>
#include <cctype>

using namespace Poco::Data::Keywords;
using Poco::Data::Session;

namespace hailong {
namespace {

constexpr int kFailuresBeforePause = 5;
constexpr std::int64_t kFirstPauseMs = 60 * 1000;
constexpr std::int64_t kLongestPauseMs = 60 * 60 * 1000;
constexpr std::int64_t kSeenEveryMs = 60 * 1000;

constexpr const char* kUserColumns =
    "SELECT u.id, u.username, u.display_name, u.role, u.agency_id, a.code, a.name, a.path, "
    "u.active, u.must_change, u.created_at, u.updated_at, u.password_changed_at, "
    "u.password_hash, u.failed_signins, u.locked_until FROM users u LEFT JOIN agencies a ON "
    "a.id = u.agency_id";

struct Row {
    User user;
    std::string hash;
    int failures = 0;
    std::int64_t lockedUntil = 0;
};

std::vector<Row> readUsers(Poco::Data::Statement& st) {
    st.execute();
    Poco::Data::RecordSet rs(st);
    std::vector<Row> out;
    for (bool more = rs.moveFirst(); more; more = rs.moveNext()) {
        Row r;
        User& u = r.user;
        u.id = rs.value(0).convert<std::int64_t>();
        u.username = rs.value(1).convert<std::string>();
        u.displayName = rs.value(2).convert<std::string>();
        u.role = roleNamed(rs.value(3).convert<std::string>()).value_or(Role::Analyst);
        if (!rs.value(4).isEmpty()) {
            u.agencyId = rs.value(4).convert<std::int64_t>();
            u.agencyCode = rs.value(5).convert<std::string>();
            u.agencyName = rs.value(6).convert<std::string>();
            u.agencyPath = rs.value(7).convert<std::string>();
        }
        u.active = rs.value(8).convert<int>() != 0;
        u.mustChangePassword = rs.value(9).convert<int>() != 0;
        u.createdAtMs = rs.value(10).convert<std::int64_t>();
        u.updatedAtMs = rs.value(11).convert<std::int64_t>();
        u.passwordChangedAtMs = rs.value(12).convert<std::int64_t>();
        r.hash = rs.value(13).convert<std::string>();
        r.failures = rs.value(14).convert<int>();
        r.lockedUntil = rs.value(15).convert<std::int64_t>();
        out.push_back(std::move(r));
    }
    return out;
}

bool validUsername(const std::string& name) {
    return name.size() >= 3 && name.size() <= 64 &&
           std::all_of(name.begin(), name.end(), [](unsigned char c) {
               return std::islower(c) || std::isdigit(c) || c == '.' || c == '_' || c == '-';
           });
}

std::string lowered(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
}

std::string tokenHash(const std::string& token) {
    return hmacSha256Hex("hailong session", token);
}

}  // namespace

const char* toString(Role role) {
    switch (role) {
        case Role::Admin:
            return "admin";
        case Role::Official:
            return "official";
        case Role::Analyst:
            return "analyst";
    }
    return "analyst";
}

std::optional<Role> roleNamed(std::string_view name) {
    if (name == "admin") return Role::Admin;
    if (name == "official") return Role::Official;
    if (name == "analyst") return Role::Analyst;
    return std::nullopt;
}

// ---- users ----

std::string UserStore::passwordProblem(const std::string& username, const std::string& password) {
    // Control characters (newlines and tabs too) are no part of anything typed in one field.
    if (utf8::firstInvalid(password) ||
        std::any_of(password.begin(), password.end(),
                    [](unsigned char c) { return c < 0x20 || c == 0x7F; }))
        return "password.invalid";
    const std::size_t n = utf8::length(password);
    if (n < 10) return "password.too_short";
    if (n > 200) return "password.too_long";
    if (lowered(password) == lowered(username)) return "password.is_username";
    return {};
}

void UserStore::resolve(const UserInput& input, Role& role,
                        std::optional<std::int64_t>& agencyId) const {
    std::vector<FieldError> errors;
    const auto r = roleNamed(input.role);
    if (!r)
        errors.push_back({"role", "field.one_of", {{"allowed", "admin, official, analyst"}}});
    else
        role = *r;
    agencyId.reset();
    if (!input.agencyCode.empty()) {
        if (auto a = directory_.agency(input.agencyCode))
            agencyId = a->id;
        else
            errors.push_back(
                {"agency", "directory.unknown_reference", {{"code", input.agencyCode}}});
    }
    if (r && *r != Role::Admin && input.agencyCode.empty())
        errors.push_back({"agency", "user.agency_required", {}});
    if (r && *r == Role::Admin && !input.agencyCode.empty())
        errors.push_back({"agency", "user.admin_no_agency", {}});
    if (utf8::firstInvalid(input.displayName) || utf8::firstControl(input.displayName) ||
        utf8::length(input.displayName) > 120)
        errors.push_back({"display_name", "field.too_long", {{"max", "120"}}});
    if (!errors.empty()) throw Problem(422, "user.invalid", {}, errors);
}

User UserStore::add(const UserInput& input, const std::string& password, bool mustChange) {
    const std::string username = lowered(input.username);
    std::vector<FieldError> errors;
    if (!validUsername(username)) errors.push_back({"username", "user.username_format", {}});
    if (auto p = passwordProblem(username, password); !p.empty())
        errors.push_back({"password", p, {{"min", "10"}, {"max", "200"}}});
    Role role = Role::Analyst;
    std::optional<std::int64_t> agencyId;
    try {
        resolve(input, role, agencyId);
    } catch (const Problem& p) {
        errors.insert(errors.end(), p.errors().begin(), p.errors().end());
    }
    if (!errors.empty()) throw Problem(422, "user.invalid", {}, errors);
    const std::string hash = hashSecret(password);
    db_.write([&](Session& s) {
        int taken = 0;
        std::string name = username;
        s << "SELECT COUNT(*) FROM users WHERE username = $1", use(name), into(taken), now;
        if (taken) throw Problem(409, "user.exists", {{"username", username}});
        std::string display = input.displayName, roleName = toString(role), h = hash;
        Poco::Nullable<std::int64_t> agency;
        if (agencyId) agency = *agencyId;
        int must = mustChange ? 1 : 0;
        const std::int64_t at = nowMs();
        s << "INSERT INTO users (username, display_name, role, agency_id, password_hash, "
             "must_change, created_at, updated_at, password_changed_at) VALUES ($1, $2, $3, $4, "
             "$5, $6, $7, $8, $9)",
            use(name), use(display), use(roleName), use(agency), use(h), use(must), bind(at),
            bind(at), bind(at), now;
    });
    return *find(username);
}

User UserStore::update(const std::string& username, const UserInput& input) {
    const auto existing = find(username);
    if (!existing) throw Problem(404, "user.not_found", {{"username", username}});
    Role role = Role::Analyst;
    std::optional<std::int64_t> agencyId;
    resolve(input, role, agencyId);
    db_.write([&](Session& s) {
        std::string display = input.displayName, roleName = toString(role);
        Poco::Nullable<std::int64_t> agency;
        if (agencyId) agency = *agencyId;
        const std::int64_t at = nowMs();
        std::int64_t id = existing->id;
        s << "UPDATE users SET display_name = $1, role = $2, agency_id = $3, updated_at = $4 "
             "WHERE id = $5",
            use(display), use(roleName), use(agency), bind(at), use(id), now;
    });
    return *byId(existing->id);
}

void UserStore::setPassword(const std::string& username, const std::string& password,
                            bool mustChange) {
    const auto user = find(username);
    if (!user) throw Problem(404, "user.not_found", {{"username", username}});
    if (auto p = passwordProblem(user->username, password); !p.empty())
        throw Problem(422, "user.invalid", {}, {{"password", p, {{"min", "10"}, {"max", "200"}}}});
    std::string hash = hashSecret(password);
    db_.write([&](Session& s) {
        const std::int64_t at = nowMs();
        int must = mustChange ? 1 : 0;
        std::int64_t id = user->id;
        s << "UPDATE users SET password_hash = $1, must_change = $2, failed_signins = 0, "
             "locked_until = 0, updated_at = $3, password_changed_at = $4 WHERE id = $5",
            use(hash), use(must), bind(at), bind(at), use(id), now;
    });
}

void UserStore::setActive(const std::string& username, bool active) {
    const auto user = find(username);
    if (!user) throw Problem(404, "user.not_found", {{"username", username}});
    db_.write([&](Session& s) {
        int a = active ? 1 : 0;
        const std::int64_t at = nowMs();
        std::int64_t id = user->id;
        s << "UPDATE users SET active = $1, updated_at = $2 WHERE id = $3", use(a), bind(at),
            use(id), now;
    });
}

std::optional<User> UserStore::find(std::string_view username) const {
    return db_.read([&](Session& s) -> std::optional<User> {
        std::string name = lowered(std::string(username));
        Poco::Data::Statement st(s);
        st << std::string(kUserColumns) + " WHERE u.username = $1", use(name);
        auto rows = readUsers(st);
        if (rows.empty()) return std::nullopt;
        return rows.front().user;
    });
}

std::optional<User> UserStore::byId(std::int64_t id) const {
    return db_.read([&](Session& s) -> std::optional<User> {
        Poco::Data::Statement st(s);
        st << std::string(kUserColumns) + " WHERE u.id = $1", use(id);
        auto rows = readUsers(st);
        if (rows.empty()) return std::nullopt;
        return rows.front().user;
    });
}

std::vector<User> UserStore::list(const std::string& agencyPath) const {
    return db_.read([&](Session& s) {
        Poco::Data::Statement st(s);
        std::string prefix = agencyPath + "%";
        if (agencyPath.empty())
            st << std::string(kUserColumns) + " ORDER BY u.username";
        else
            st << std::string(kUserColumns) + " WHERE a.path LIKE $1 ORDER BY u.username",
                use(prefix);
        std::vector<User> out;
        for (Row& r : readUsers(st)) out.push_back(std::move(r.user));
        return out;
    });
}

std::size_t UserStore::count() const {
    return db_.read([](Session& s) {
        int n = 0;
        s << "SELECT COUNT(*) FROM users", into(n), now;
        return static_cast<std::size_t>(n);
    });
}

User UserStore::authenticate(const std::string& username, const std::string& password,
                             std::int64_t at) {
    const Problem failed(401, "auth.signin_failed");
    if (username.size() > 64 || password.size() > 800) throw failed;
    const std::optional<Row> row = db_.read([&](Session& s) -> std::optional<Row> {
        std::string name = lowered(username);
        Poco::Data::Statement st(s);
        st << std::string(kUserColumns) + " WHERE u.username = $1", use(name);
        auto rows = readUsers(st);
        if (rows.empty()) return std::nullopt;
        return rows.front();
    });
    if (!row) {
        (void)secretMatches(hashSecret("timing"), password);  // as slow as a real check
        throw failed;
    }
    if (row->lockedUntil > at) {
        const std::int64_t seconds = (row->lockedUntil - at) / 1000 + 1;
        Problem p(429, "auth.signin_paused", {{"seconds", std::to_string(seconds)}});
        p.headers.push_back({"Retry-After", std::to_string(seconds)});
        throw p;
    }
    const bool ok = secretMatches(row->hash, password);
    db_.write([&](Session& s) {
        std::int64_t id = row->user.id;
        if (ok) {
            s << "UPDATE users SET failed_signins = 0, locked_until = 0 WHERE id = $1", use(id),
                now;
            return;
        }
        // Counted in the store itself: guesses sent at once are each counted.
        s << "UPDATE users SET failed_signins = failed_signins + 1 WHERE id = $1", use(id), now;
        int failures = 0;
        s << "SELECT failed_signins FROM users WHERE id = $1", use(id), into(failures), now;
        if (failures >= kFailuresBeforePause) {
            const int doublings = std::min(failures - kFailuresBeforePause, 6);
            const std::int64_t until = at + std::min(kLongestPauseMs, kFirstPauseMs << doublings);
            s << "UPDATE users SET locked_until = $1 WHERE id = $2", bind(until), use(id), now;
        }
    });
    if (!ok || !row->user.active) throw failed;
    return row->user;
}

// ---- sessions ----

std::string SessionStore::open(const User& user, const std::string& address,
                               const std::string& userAgent) {
    const std::string token = random::hex(32);
    db_.write([&](Session& s) {
        std::string hash = tokenHash(token), csrf = random::hex(16), addr = address.substr(0, 64),
                    agent = userAgent.substr(0, 300);
        if (utf8::firstInvalid(agent) || utf8::firstControl(agent)) agent.clear();
        const std::int64_t at = nowMs();
        std::int64_t id = user.id;
        const std::int64_t expires = at + options_.absoluteMs;
        s << "INSERT INTO sessions (token_hash, user_id, csrf, address, user_agent, created_at, "
             "seen_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            use(hash), use(id), use(csrf), use(addr), use(agent), bind(at), bind(at), bind(expires),
            now;
    });
    return token;
}

std::optional<SignIn> SessionStore::find(const std::string& token, std::int64_t at) {
    if (token.size() != 64) return std::nullopt;
    const std::string hash = tokenHash(token);
    auto found = db_.read([&](Session& s) -> std::optional<SignIn> {
        SignIn in;
        Poco::Nullable<std::int64_t> userId;
        std::string h = hash;
        s << "SELECT user_id, csrf, created_at, seen_at, expires_at, address, user_agent FROM "
             "sessions WHERE token_hash = $1",
            use(h), into(userId), into(in.csrf), into(in.createdAtMs), into(in.seenAtMs),
            into(in.expiresAtMs), into(in.address), into(in.userAgent), now;
        if (userId.isNull()) return std::nullopt;
        in.tokenHash = hash;
        in.user.id = userId.value();
        return in;
    });
    if (!found) return std::nullopt;
    const auto user = users_.byId(found->user.id);
    if (!user || !user->active || at >= found->expiresAtMs ||
        at - found->seenAtMs >= options_.idleMs) {
        close(token);
        return std::nullopt;
    }
    found->user = *user;
    if (at - found->seenAtMs >= kSeenEveryMs) {
        db_.write([&](Session& s) {
            std::string h = hash;
            s << "UPDATE sessions SET seen_at = $1 WHERE token_hash = $2", bind(at), use(h), now;
        });
        found->seenAtMs = at;
    }
    return found;
}

void SessionStore::close(const std::string& token) {
    db_.write([&](Session& s) {
        std::string h = tokenHash(token);
        s << "DELETE FROM sessions WHERE token_hash = $1", use(h), now;
    });
}

void SessionStore::closeAll(std::int64_t userId) {
    db_.write(
        [&](Session& s) { s << "DELETE FROM sessions WHERE user_id = $1", use(userId), now; });
}

std::vector<SignIn> SessionStore::ofUser(std::int64_t userId) const {
    return db_.read([&](Session& s) {
        Poco::Data::Statement st(s);
        st << "SELECT token_hash, csrf, created_at, seen_at, expires_at, address, user_agent "
              "FROM sessions WHERE user_id = $1 ORDER BY created_at DESC",
            use(userId);
        st.execute();
        Poco::Data::RecordSet rs(st);
        std::vector<SignIn> out;
        for (bool more = rs.moveFirst(); more; more = rs.moveNext()) {
            SignIn in;
            in.tokenHash = rs.value(0).convert<std::string>();
            in.csrf = rs.value(1).convert<std::string>();
            in.createdAtMs = rs.value(2).convert<std::int64_t>();
            in.seenAtMs = rs.value(3).convert<std::int64_t>();
            in.expiresAtMs = rs.value(4).convert<std::int64_t>();
            in.address = rs.value(5).convert<std::string>();
            in.userAgent = rs.value(6).convert<std::string>();
            out.push_back(std::move(in));
        }
        return out;
    });
}

std::size_t SessionStore::tidy(std::int64_t at) {
    return db_.write([&](Session& s) {
        const std::int64_t idleBefore = at - options_.idleMs;
        int ended = 0;
        s << "SELECT COUNT(*) FROM sessions WHERE expires_at <= $1 OR seen_at <= $2", bind(at),
            bind(idleBefore), into(ended), now;
        s << "DELETE FROM sessions WHERE expires_at <= $1 OR seen_at <= $2", bind(at),
            bind(idleBefore), now;
        return static_cast<std::size_t>(ended);
    });
}

// ---- audit ----

void AuditLog::record(AuditEntry e) {
    if (e.atMs == 0) e.atMs = nowMs();
    db_.write([&](Session& s) {
        Poco::Nullable<std::int64_t> user;
        if (e.userId) user = *e.userId;
        s << "INSERT INTO audit_log (at, actor, user_id, address, request_id, action, kind, "
             "code, agency_path, before_json, after_json) VALUES ($1, $2, $3, $4, $5, $6, $7, "
             "$8, $9, $10, $11)",
            use(e.atMs), use(e.actor), use(user), use(e.address), use(e.requestId), use(e.action),
            use(e.kind), use(e.code), use(e.agencyPath), use(e.before), use(e.after), now;
    });
}

std::vector<AuditEntry> AuditLog::list(const AuditQuery& q) const {
    return db_.read([&](Session& s) {
        std::string sql =
            "SELECT id, at, actor, user_id, address, request_id, action, kind, code, "
            "agency_path, before_json, after_json FROM audit_log WHERE 1 = 1";
        std::vector<std::string> texts;
        std::vector<std::int64_t> numbers;
        Poco::Data::Statement st(s);
        int n = 0;
        auto text = [&](const char* clause, const std::string& value) {
            texts.push_back(value);
            sql += std::string(" AND ") + clause + " $" + std::to_string(++n);
        };
        // Texts first, numbers after: placeholders are numbered in the order they are bound.
        if (!q.agencyPath.empty()) text("agency_path LIKE", q.agencyPath + "%");
        if (!q.kind.empty()) text("kind =", q.kind);
        if (!q.code.empty()) text("code =", q.code);
        if (!q.actor.empty()) text("actor =", q.actor);
        if (!q.action.empty()) text("action =", q.action);
        if (q.fromMs) {
            numbers.push_back(*q.fromMs);
            sql += " AND at >= $" + std::to_string(++n);
        }
        if (q.toMs) {
            numbers.push_back(*q.toMs);
            sql += " AND at < $" + std::to_string(++n);
        }
        sql += " ORDER BY id DESC LIMIT " + std::to_string(std::clamp(q.limit, 1, 1000)) +
               " OFFSET " + std::to_string(std::max(q.offset, 0));
        st << sql;
        for (std::string& t : texts) st.addBind(use(t));
        for (std::int64_t& x : numbers) st.addBind(use(x));
        st.execute();
        Poco::Data::RecordSet rs(st);
        std::vector<AuditEntry> out;
        for (bool more = rs.moveFirst(); more; more = rs.moveNext()) {
            AuditEntry e;
            e.id = rs.value(0).convert<std::int64_t>();
            e.atMs = rs.value(1).convert<std::int64_t>();
            e.actor = rs.value(2).convert<std::string>();
            if (!rs.value(3).isEmpty()) e.userId = rs.value(3).convert<std::int64_t>();
            e.address = rs.value(4).convert<std::string>();
            e.requestId = rs.value(5).convert<std::string>();
            e.action = rs.value(6).convert<std::string>();
            e.kind = rs.value(7).convert<std::string>();
            e.code = rs.value(8).convert<std::string>();
            e.agencyPath = rs.value(9).convert<std::string>();
            e.before = rs.value(10).convert<std::string>();
            e.after = rs.value(11).convert<std::string>();
            out.push_back(std::move(e));
        }
        return out;
    });
}

}  // namespace hailong

// hailong — the console's accounts: users with a role over a part of the agency tree, their
// sign-in sessions, and the audit log of changes.
#pragma once

#include "directory/DirectoryStore.h"
#include "store/Database.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hailong {

/// The cookie that carries a console session's token.
inline constexpr const char* kSessionCookie = "hl_session";

/// What a user may do. Admins: everything. Officials: manage their agency's subtree (counters,
/// officers, devices, dossiers, the agencies below). Analysts: read their subtree, change nothing.
enum class Role { Admin, Official, Analyst };
const char* toString(Role role);
std::optional<Role> roleNamed(std::string_view name);

struct User {
    std::int64_t id = 0;
    std::string username;
    std::string displayName;
    Role role = Role::Analyst;
    std::optional<std::int64_t> agencyId;  ///< none for admins
    std::string agencyCode, agencyName;
    std::string agencyPath;  ///< "/1/7/": the subtree; "" for admins (everything)
    bool active = true;
    bool mustChangePassword = false;
    std::int64_t createdAtMs = 0, updatedAtMs = 0, passwordChangedAtMs = 0;
};

struct UserInput {
    std::string username, displayName, role, agencyCode;
};

/// Users in the `users` table, their passwords as Argon2id hashes. Thread-safe (each call uses
/// its own pooled session).
class UserStore {
public:
    UserStore(Database& db, DirectoryStore& directory) : db_(db), directory_(directory) {}

    /// Creates a user. Problem 422 naming each bad field (username: 3–64 of a-z 0-9 . _ -;
    /// role; an agency for officials and analysts, none for admins; password: 10–200 characters,
    /// not the username), 409 when the username is taken.
    User add(const UserInput& input, const std::string& password, bool mustChange);
    /// Changes what a user is (display name, role, agency); Problem 404/422.
    User update(const std::string& username, const UserInput& input);
    /// Problem 404 for an unknown user, 422 for a password the policy refuses.
    void setPassword(const std::string& username, const std::string& password, bool mustChange);
    /// Disabling refuses its sign-ins from now on (its sessions are ended by SessionStore).
    void setActive(const std::string& username, bool active);

    std::optional<User> find(std::string_view username) const;
    std::optional<User> byId(std::int64_t id) const;
    /// Users whose agency is in the subtree `agencyPath` ("" for all, admins included).
    std::vector<User> list(const std::string& agencyPath) const;
    std::size_t count() const;

    /// The user whose password this is. Problem 401 "auth.signin_failed" for an unknown user, a
    /// wrong password or a disabled account (one message: nothing tells which), 429
    /// "auth.signin_paused" while the account is paused after failures (5 in a row: 1 minute,
    /// doubling to an hour). A success clears the count.
    User authenticate(const std::string& username, const std::string& password, std::int64_t nowMs);

    /// The password rules' complaint about `password` for `username`, or "" when it is fine.
    static std::string passwordProblem(const std::string& username, const std::string& password);

private:
    // Role and agency checked together; throws Problem 422.
    void resolve(const UserInput& input, Role& role, std::optional<std::int64_t>& agencyId) const;

    Database& db_;
    DirectoryStore& directory_;
};

/// A signed-in browser.
struct SignIn {
    std::string tokenHash;
    std::string csrf;  ///< the key forms and API writes of this session must carry
    std::int64_t createdAtMs = 0, seenAtMs = 0, expiresAtMs = 0;
    std::string address, userAgent;
    User user;
};

/// Sessions in the `sessions` table, by the hash of their cookie's token (a stolen database
/// gives no usable cookie). Thread-safe.
class SessionStore {
public:
    struct Options {
        std::int64_t idleMs = 30 * 60 * 1000;           ///< signed out after this long unused
        std::int64_t absoluteMs = 12 * 60 * 60 * 1000;  ///< and this long after signing in
    };
    SessionStore(Database& db, UserStore& users, Options options)
        : db_(db), users_(users), options_(options) {}

    /// Starts a session for `user`; returns the token for the cookie (shown once).
    std::string open(const User& user, const std::string& address, const std::string& userAgent);
    /// The session of `token` unless unknown, idle or past its absolute end, or its user is
    /// disabled (those end it). Marks it used (written at most once a minute).
    std::optional<SignIn> find(const std::string& token, std::int64_t nowMs);
    void close(const std::string& token);
    /// Signs a user out everywhere (a password change, a disabled account, "sign out all").
    void closeAll(std::int64_t userId);
    /// The user's sessions, newest first.
    std::vector<SignIn> ofUser(std::int64_t userId) const;
    /// Removes ended sessions; returns how many.
    std::size_t tidy(std::int64_t nowMs);

    const Options& options() const { return options_; }

private:
    Database& db_;
    UserStore& users_;
    Options options_;
};

/// One change, as the audit log keeps it.
struct AuditEntry {
    std::int64_t id = 0;
    std::int64_t atMs = 0;
    std::string actor;  ///< "user:lan.nguyen", "token", "apikey:one-stop-xa", "cli"
    std::optional<std::int64_t> userId;
    std::string address, requestId;
    std::string action;         ///< "create", "update", "delete", "sign_in", "revoke", ...
    std::string kind;           ///< "agency", "counter", "user", "survey", ...
    std::string code;           ///< the thing's code or name
    std::string agencyPath;     ///< the subtree it belongs to ("" for global things)
    std::string before, after;  ///< JSON of the thing before and after ("" when none)
};

struct AuditQuery {
    std::string agencyPath;  ///< entries of this subtree only ("" all)
    std::string kind, code, actor, action;
    std::optional<std::int64_t> fromMs, toMs;
    int limit = 100, offset = 0;
};

/// The append-only audit_log table. Thread-safe.
class AuditLog {
public:
    explicit AuditLog(Database& db) : db_(db) {}
    void record(AuditEntry entry);
    /// Newest first.
    std::vector<AuditEntry> list(const AuditQuery& query) const;

private:
    Database& db_;
};

}  // namespace hailong

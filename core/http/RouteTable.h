// hailong — RouteTable: the Router implementation, and the lookup the server does per request.
#pragma once

#include <hailong/Http.h>

#include <mutex>
#include <string>
#include <vector>

namespace hailong {

/// Holds the routes. Registration is thread-safe; lookups take a shared snapshot and may run
/// concurrently with each other.
class RouteTable final : public Router {
public:
    void add(std::string_view method, std::string_view pattern, HttpHandler handler,
             RouteOptions options = {}) override;

    struct Match {
        const HttpHandler* handler = nullptr;  ///< null: no route
        RouteOptions options;
        std::map<std::string, std::string> params;
        std::vector<std::string> allowed;  ///< methods allowed on the path (for 405)
    };
    /// The best route for `method` and `path` (literal segments beat parameters).
    Match match(std::string_view method, std::string_view path) const;

    /// One registered route as it was added (after any prefix).
    struct Entry {
        std::string method, pattern;
        RouteOptions options;
    };
    /// Every registered route, in the order of registration (tests walk them all).
    std::vector<Entry> list() const;

private:
    struct Route {
        std::string method;
        std::string pattern;
        std::vector<std::string> segments;
        HttpHandler handler;
        RouteOptions options;
    };
    mutable std::mutex mutex_;
    std::vector<std::unique_ptr<Route>> routes_;
};

/// Mounts a plugin's routes under "/c/<name>". Not thread-safe beyond its target's guarantees.
class PrefixedRouter final : public Router {
public:
    PrefixedRouter(Router& target, std::string prefix)
        : target_(target), prefix_(std::move(prefix)) {}
    void add(std::string_view method, std::string_view pattern, HttpHandler handler,
             RouteOptions options = {}) override;

private:
    Router& target_;
    std::string prefix_;
};

}  // namespace hailong

#include "http/RouteTable.h"

#include <stdexcept>

namespace hailong {
namespace {

std::vector<std::string> split(std::string_view path) {
    std::vector<std::string> out;
    std::size_t pos = 0;
    while (pos < path.size()) {
        if (path[pos] == '/') {
            ++pos;
            continue;
        }
        auto end = path.find('/', pos);
        if (end == std::string_view::npos) end = path.size();
        out.emplace_back(path.substr(pos, end - pos));
        pos = end;
    }
    return out;
}

bool isParam(const std::string& s) {
    return s.size() > 2 && s.front() == '{' && s.back() == '}';
}
bool isRest(const std::string& s) {
    return isParam(s) && s[s.size() - 2] == '*';
}

}  // namespace

void RouteTable::add(std::string_view method, std::string_view pattern, HttpHandler handler,
                     RouteOptions options) {
    auto route = std::make_unique<Route>();
    route->method = std::string(method);
    route->pattern = std::string(pattern);
    route->segments = split(pattern);
    for (std::size_t i = 0; i < route->segments.size(); ++i)
        if (isRest(route->segments[i]) && i + 1 != route->segments.size())
            throw std::logic_error("route pattern: {name*} must be last: " + std::string(pattern));
    route->handler = std::move(handler);
    route->options = options;
    std::lock_guard lock(mutex_);
    routes_.push_back(std::move(route));
}

RouteTable::Match RouteTable::match(std::string_view method, std::string_view path) const {
    const std::vector<std::string> parts = split(path);
    Match best;
    int bestScore = -1;
    std::lock_guard lock(mutex_);
    for (const auto& route : routes_) {
        std::map<std::string, std::string> params;
        int score = 0;
        bool ok = true;
        std::size_t i = 0;
        for (; i < route->segments.size() && ok; ++i) {
            const std::string& seg = route->segments[i];
            if (isRest(seg)) {
                std::string rest;
                for (std::size_t k = i; k < parts.size(); ++k)
                    rest += (k > i ? "/" : "") + parts[k];
                params[seg.substr(1, seg.size() - 3)] = rest;
                i = parts.size();
                break;
            }
            if (i >= parts.size()) {
                ok = false;
            } else if (isParam(seg)) {
                params[seg.substr(1, seg.size() - 2)] = parts[i];
            } else if (seg == parts[i]) {
                score += 2;
            } else {
                ok = false;
            }
        }
        if (!ok ||
            (i < parts.size() && !(route->segments.size() && isRest(route->segments.back()))))
            continue;
        if (i != parts.size() && !(route->segments.size() && isRest(route->segments.back())))
            continue;
        const bool methodOk =
            route->method == method || (method == "HEAD" && route->method == "GET");
        if (!methodOk) {
            best.allowed.push_back(route->method);
            continue;
        }
        if (score > bestScore) {
            bestScore = score;
            best.handler = &route->handler;
            best.options = route->options;
            best.params = std::move(params);
        }
    }
    return best;
}

std::vector<RouteTable::Entry> RouteTable::list() const {
    std::lock_guard lock(mutex_);
    std::vector<Entry> out;
    out.reserve(routes_.size());
    for (const auto& route : routes_)
        out.push_back({route->method, route->pattern, route->options});
    return out;
}

void PrefixedRouter::add(std::string_view method, std::string_view pattern, HttpHandler handler,
                         RouteOptions options) {
    std::string full = prefix_;
    if (!pattern.starts_with("/")) full += "/";
    full += pattern;
    target_.add(method, full, std::move(handler), options);
}

}  // namespace hailong

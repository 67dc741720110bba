#include "http/HttpServer.h"

#include "common/Random.h"
#include "common/Utf8.h"

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/Logger.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/ThreadPool.h>
#include <Poco/URI.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <set>

namespace hailong {
namespace {

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
    return s;
}

// The raw request target with anything outside printable ASCII percent-encoded, so that it
// can be echoed in a problem response and a log line.
std::string printable(const std::string& raw) {
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : raw.substr(0, 2000)) {
        if (c > 0x20 && c < 0x7F && c != '"' && c != '\\') {
            out.push_back(static_cast<char>(c));
        } else {
            out += '%';
            out.push_back(hex[c >> 4]);
            out.push_back(hex[c & 15]);
        }
    }
    return out;
}

// The URI as logs show it: query values that may carry personal data or secrets (a phone
// number, an SMS text, a gateway secret) masked; the others kept for troubleshooting.
std::string loggable(const std::string& uri) {
    const std::size_t q = uri.find('?');
    if (q == std::string::npos) return printable(uri);
    static const std::set<std::string> kMasked{"secret", "from", "to",    "text",
                                               "phone",  "pin",  "token", "password"};
    std::string out = uri.substr(0, q + 1);
    std::size_t at = q + 1;
    while (at <= uri.size()) {
        const std::size_t end = std::min(uri.find('&', at), uri.size());
        const std::string pair = uri.substr(at, end - at);
        const std::size_t eq = pair.find('=');
        const std::string name = pair.substr(0, eq);
        out += kMasked.count(name) && eq != std::string::npos ? name + "=***" : pair;
        if (end < uri.size()) out += '&';
        at = end + 1;
    }
    return printable(out);
}

void securityHeaders(Poco::Net::HTTPServerResponse& out) {
    out.set("X-Content-Type-Options", "nosniff");
    out.set("Referrer-Policy", "same-origin");
    out.set("X-Frame-Options", "DENY");
}

}  // namespace

Poco::JSON::Object::Ptr HttpServer::problemBody(const Problem& problem, const Messages& messages,
                                                const std::string& lang) {
    Poco::JSON::Object::Ptr body = new Poco::JSON::Object;
    body->set("type", "urn:hailong:problem:" + problem.code());
    body->set("title", messages.text(lang, "http." + std::to_string(problem.status())));
    body->set("status", problem.status());
    body->set("detail", messages.text(lang, problem.code(), problem.params()));
    body->set("code", problem.code());
    if (!problem.errors().empty()) {
        Poco::JSON::Array::Ptr errors = new Poco::JSON::Array;
        for (const FieldError& e : problem.errors()) {
            Poco::JSON::Object::Ptr item = new Poco::JSON::Object;
            item->set("field", e.field);
            item->set("code", e.code);
            item->set("detail", messages.text(lang, e.code, e.params));
            errors->add(item);
        }
        body->set("errors", errors);
    }
    return body;
}

HttpResponse HttpServer::problemResponse(const Problem& problem, const Messages& messages,
                                         const std::string& lang, const std::string& instance,
                                         const std::string& requestId) {
    Poco::JSON::Object::Ptr body = problemBody(problem, messages, lang);
    body->set("instance", instance);
    body->set("request_id", requestId);
    HttpResponse r = HttpResponse::json(body, problem.status());
    r.contentType = "application/problem+json; charset=utf-8";
    r.headers = problem.headers;
    return r;
}

class HttpServer::Handler final : public Poco::Net::HTTPRequestHandler {
public:
    explicit Handler(HttpServer& server) : server_(server) {}

    void handleRequest(Poco::Net::HTTPServerRequest& in,
                       Poco::Net::HTTPServerResponse& out) override {
        const auto started = std::chrono::steady_clock::now();
        HttpRequest request;
        request.requestId = random::hex(8);
        request.method = in.getMethod();
        request.remoteAddress = in.clientAddress().host().toString();
        if (server_.options_.trustProxy && in.has("X-Forwarded-For")) {
            // The last entry is the one our own proxy added; earlier ones come from the client.
            const std::string fwd = in.get("X-Forwarded-For");
            const auto comma = fwd.rfind(',');
            std::string last = comma == std::string::npos ? fwd : fwd.substr(comma + 1);
            last.erase(0, last.find_first_not_of(' '));
            request.remoteAddress = printable(last);
        }
        for (const auto& [name, value] : in) request.headers[lower(name)] = value;
        request.language = server_.messages_.pickLanguage(in.get("Accept-Language", ""));
        HttpResponse response;
        try {
            response = dispatch(in, request);
        } catch (const Problem& p) {
            response = problem(request, p);
        } catch (const Unavailable& e) {
            server_.log_.warning("%s %s: %s", printable(request.method), loggable(in.getURI()),
                                 std::string(e.what()));
            Problem p(503, "http.unavailable");
            p.headers.emplace_back("Retry-After", "5");
            response = problem(request, p);
        } catch (const Poco::Exception& e) {
            server_.log_.error("%s %s [%s] failed: %s", printable(request.method),
                               loggable(in.getURI()), request.requestId, e.displayText());
            response = problem(request, Problem(500, "http.internal"));
        } catch (const std::exception& e) {
            server_.log_.error("%s %s [%s] failed: %s", printable(request.method),
                               loggable(in.getURI()), request.requestId, std::string(e.what()));
            response = problem(request, Problem(500, "http.internal"));
        }
        const std::size_t sent = write(request, response, in, out);
        if (server_.options_.logRequests) {
            const auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                                std::chrono::steady_clock::now() - started)
                                .count();
            server_.log_.information("%s %s %d %z B %.1f ms %s [%s]", printable(request.method),
                                     loggable(in.getURI()), response.status, sent,
                                     static_cast<double>(us) / 1000.0, request.remoteAddress,
                                     request.requestId);
        }
    }

private:
    HttpResponse problem(const HttpRequest& request, const Problem& p) {
        return problemResponse(p, server_.messages_, request.language,
                               request.path.empty() ? "/" : request.path, request.requestId);
    }

    HttpResponse dispatch(Poco::Net::HTTPServerRequest& in, HttpRequest& request) {
        Poco::URI uri;
        std::string path;
        try {
            uri = Poco::URI(in.getURI());
            path = uri.getPath();
            for (auto& [k, v] : uri.getQueryParameters()) request.query.emplace(k, v);
        } catch (const Poco::Exception&) {
            request.path = loggable(in.getURI());
            throw Problem(400, "http.bad_uri");
        }
        if (!utf8::isValid(path)) {
            request.path = loggable(in.getURI());
            throw Problem(400, "http.bad_uri");
        }
        request.path = path;
        if (auto lang = request.queryParam("lang"); lang && (*lang == "vi" || *lang == "en"))
            request.language = *lang;

        RouteTable::Match match = server_.routes_.match(request.method, request.path);
        if (!match.handler) {
            if (!match.allowed.empty()) {
                std::string allow;
                for (const auto& m : match.allowed) allow += (allow.empty() ? "" : ", ") + m;
                Problem p(405, "http.method_not_allowed", {{"method", request.method}});
                p.headers.emplace_back("Allow", allow);
                throw p;
            }
            throw Problem(404, "http.not_found", {{"path", request.path}});
        }
        request.pathParams = std::move(match.params);
        for (const auto& [k, v] : request.query)
            if (!utf8::isValid(k) || (!match.options.rawQuery && !utf8::isValid(v)))
                throw Problem(400, "http.bad_uri");

        // Bodies: bounded by Content-Length; chunked bodies are refused (Poco 1.11 can hang).
        const std::size_t limit =
            match.options.maxBodyBytes ? match.options.maxBodyBytes : server_.options_.maxBodyBytes;
        if (in.getChunkedTransferEncoding()) throw Problem(411, "http.length_required");
        const auto length = in.getContentLength64();
        if (length > 0) {
            if (static_cast<std::uint64_t>(length) > limit)
                throw Problem(413, "http.body_too_large", {{"max", std::to_string(limit)}});
            request.body.resize(static_cast<std::size_t>(length));
            in.stream().read(request.body.data(), length);
            if (in.stream().gcount() != length) throw Problem(400, "http.body_incomplete");
        }
        return (*match.handler)(request);
    }

    std::size_t write(const HttpRequest& request, HttpResponse& response,
                      Poco::Net::HTTPServerRequest& in_, Poco::Net::HTTPServerResponse& out) {
        out.setStatusAndReason(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(response.status));
        securityHeaders(out);
        out.set("X-Request-Id", request.requestId);
        for (const auto& [name, value] : response.headers) out.set(name, value);
        if (!response.contentType.empty()) out.setContentType(response.contentType);
        // A body that was announced but not read (refused, or the route was never found) would
        // be read as the next request on this connection: close it instead.
        const bool unreadBody = request.body.empty() &&
                                (in_.getContentLength64() > 0 || in_.getChunkedTransferEncoding());
        if (unreadBody || response.status == 400) out.setKeepAlive(false);
        if (response.writer && request.method != "HEAD") {
            out.setChunkedTransferEncoding(true);
            std::ostream& os = out.send();
            response.writer(os);
            return 0;
        }
        out.setContentLength64(static_cast<Poco::Int64>(response.body.size()));
        std::ostream& os = out.send();
        if (request.method != "HEAD" && response.status != 304 && response.status != 204)
            os.write(response.body.data(), static_cast<std::streamsize>(response.body.size()));
        return response.body.size();
    }

    HttpServer& server_;
};

class HttpServer::Factory final : public Poco::Net::HTTPRequestHandlerFactory {
public:
    explicit Factory(HttpServer& server) : server_(server) {}
    Poco::Net::HTTPRequestHandler* createRequestHandler(
        const Poco::Net::HTTPServerRequest&) override {
        return new Handler(server_);
    }

private:
    HttpServer& server_;
};

HttpServer::HttpServer(RouteTable& routes, const Messages& messages, Poco::Logger& log,
                       HttpServerOptions options)
    : routes_(routes), messages_(messages), log_(log), options_(std::move(options)) {}

HttpServer::~HttpServer() {
    stop();
}

void HttpServer::start() {
    Poco::Net::SocketAddress address(options_.host, options_.port);
    Poco::Net::ServerSocket socket(address, 256);
    auto* params = new Poco::Net::HTTPServerParams;
    params->setMaxThreads(options_.threads);
    params->setMaxQueued(options_.queue);
    params->setKeepAlive(true);
    params->setKeepAliveTimeout(Poco::Timespan(options_.keepAliveTimeoutS, 0));
    params->setMaxKeepAliveRequests(options_.maxKeepAliveRequests);
    params->setTimeout(Poco::Timespan(options_.ioTimeoutS, 0));
    params->setServerName("hailong");
    pool_ = std::make_unique<Poco::ThreadPool>(2, options_.threads + 2, 60);
    server_ = std::make_unique<Poco::Net::HTTPServer>(new Factory(*this), *pool_, socket, params);
    server_->start();
}

void HttpServer::stop() {
    if (!server_) return;
    server_->stopAll(false);  // stop accepting; in-flight handlers finish
    pool_->joinAll();
    server_.reset();
}

std::uint16_t HttpServer::port() const {
    return server_ ? server_->port() : 0;
}

}  // namespace hailong

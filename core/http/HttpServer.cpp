#include "http/HttpServer.h"

#include "common/Random.h"
#include "common/Utf8.h"

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/Logger.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerRequestImpl.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/HTTPServerResponseImpl.h>
#include <Poco/Net/HTTPServerSession.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/TCPServer.h>
#include <Poco/Net/TCPServerConnection.h>
#include <Poco/Net/TCPServerConnectionFactory.h>
#include <Poco/String.h>
#include <Poco/ThreadPool.h>
#include <Poco/Timestamp.h>
#include <Poco/URI.h>

#include <malloc.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

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

std::int64_t steadyMs() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

// What the watchdog knows of one open connection: its socket and the time by which the request
// being received must be complete (0 while a handler runs, or the connection ends).
struct Watched {
    Poco::Net::StreamSocket socket;
    std::string address;  ///< the peer's address as counted ("" when not counted)
    std::atomic<std::int64_t> deadlineMs{0};
    std::atomic<bool> timedOut{false};
};

// The connection the current worker thread serves (the handler sets its body deadline).
thread_local Watched* tlWatched = nullptr;

}  // namespace

/// Live connections, per-address counts, and the watchdog thread that closes the receiving
/// side of connections past their deadline. Thread-safe.
class HttpServer::Guard final : public Poco::Net::TCPServerConnectionFilter {
public:
    Guard(const HttpServerOptions& options, const Messages& messages)
        : options_(options), messages_(messages) {
        watchdog_ = std::thread([this] { watch(); });
    }
    ~Guard() override {
        {
            std::lock_guard lock(mutex_);
            quit_ = true;
        }
        wake_.notify_all();
        watchdog_.join();
    }
    void attach(Poco::Net::TCPServer* server) { server_ = server; }

    /// Runs on the acceptor thread: refuses a connection when the queue is full (as Poco would,
    /// but before counting it) or when its address holds its share already.
    bool accept(const Poco::Net::StreamSocket& socket) override {
        if (server_ && server_->queuedConnections() >= options_.queue) {
            ++refusedQueueFull_;
            return false;
        }
        const bool limited = options_.maxConnectionsPerAddress > 0 && !options_.trustProxy;
        std::string address;
        if (limited) {
            try {
                address = socket.peerAddress().host().toString();
            } catch (const Poco::Exception&) {
                return false;  // already gone
            }
        }
        std::lock_guard lock(mutex_);
        if (limited) {
            int& n = perAddress_[address];
            if (n >= options_.maxConnectionsPerAddress) {
                if (n == 0) perAddress_.erase(address);
                ++refusedPerAddress_;
                refuse(socket);
                return false;
            }
            ++n;
        }
        pending_[socket.impl()->sockfd()] = address;
        ++open_;
        return true;
    }

    /// Registers a connection a worker starts serving; its deadline starts now.
    void enter(Watched& w) {
        std::lock_guard lock(mutex_);
        if (auto it = pending_.find(w.socket.impl()->sockfd()); it != pending_.end()) {
            w.address = it->second;
            pending_.erase(it);
        }
        live_.insert(&w);
        if (stopping_) shutdownReceive(w);
    }
    void leave(Watched& w) {
        std::lock_guard lock(mutex_);
        live_.erase(&w);
        --open_;
        if (!w.address.empty()) {
            auto it = perAddress_.find(w.address);
            if (it != perAddress_.end() && --it->second <= 0) perAddress_.erase(it);
        }
    }
    /// Stops every connection from receiving: idle ones end, busy ones finish their answer.
    void stopAll() {
        std::lock_guard lock(mutex_);
        stopping_ = true;
        for (Watched* w : live_) shutdownReceive(*w);
    }
    bool stopping() const {
        std::lock_guard lock(mutex_);
        return stopping_;
    }

    Stats stats() const {
        std::lock_guard lock(mutex_);
        return {refusedPerAddress_, refusedQueueFull_, timedOut_, open_};
    }

private:
    static void shutdownReceive(Watched& w) {
        try {
            w.socket.shutdownReceive();
        } catch (const Poco::Exception&) {
        }
    }

    // A short 503 before closing, for a client that can read it.
    void refuse(const Poco::Net::StreamSocket& socket) {
        Poco::JSON::Object::Ptr body =
            HttpServer::problemBody(Problem(503, "http.too_many_connections"), messages_, "vi");
        std::ostringstream json;
        body->stringify(json);
        const std::string text =
            "HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\n"
            "Retry-After: 5\r\nContent-Type: application/problem+json; "
            "charset=utf-8\r\nContent-Length: " +
            std::to_string(json.str().size()) + "\r\n\r\n" + json.str();
        try {
            Poco::Net::StreamSocket s(socket);
            s.setBlocking(false);
            s.sendBytes(text.data(), static_cast<int>(text.size()));
            s.shutdownSend();
        } catch (const Poco::Exception&) {
        }
    }

    void watch() {
        std::unique_lock lock(mutex_);
        std::int64_t trimmedAt = steadyMs();
        while (!quit_) {
            wake_.wait_for(lock, std::chrono::milliseconds(200));
            const std::int64_t now = steadyMs();
            // Memory freed by requests goes back to the system every 10 s. glibc keeps it in
            // its arenas otherwise: after a year of indices by month (12 MB of JSON, from a tree
            // several times that) and a dashboard on 10 M responses the host stayed at 140 MB
            // (190 MB after the first), 53 MB once trimmed.
            if (now - trimmedAt >= 10000) {
                trimmedAt = now;
                lock.unlock();
                malloc_trim(0);
                lock.lock();
            }
            for (Watched* w : live_) {
                const std::int64_t deadline = w->deadlineMs.load();
                if (deadline != 0 && now > deadline && !w->timedOut.exchange(true)) {
                    ++timedOut_;
                    shutdownReceive(*w);
                }
            }
        }
    }

    const HttpServerOptions& options_;
    const Messages& messages_;
    Poco::Net::TCPServer* server_ = nullptr;
    mutable std::mutex mutex_;
    std::condition_variable wake_;
    bool quit_ = false, stopping_ = false;
    std::map<std::string, int> perAddress_;
    std::map<poco_socket_t, std::string> pending_;
    std::set<Watched*> live_;
    std::int64_t refusedPerAddress_ = 0, refusedQueueFull_ = 0, timedOut_ = 0;
    int open_ = 0;
    std::thread watchdog_;
};

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
            const HttpServerOptions& o = server_.options_;
            if (tlWatched && o.requestTimeoutS > 0)
                tlWatched->deadlineMs =
                    steadyMs() + 1000LL * o.requestTimeoutS +
                    static_cast<std::int64_t>(1000 * static_cast<std::uint64_t>(length) /
                                              std::max<std::size_t>(o.minBodyBytesPerS, 1));
            request.body.resize(static_cast<std::size_t>(length));
            in.stream().read(request.body.data(), length);
            if (in.stream().gcount() != length) {
                if (tlWatched && tlWatched->timedOut) throw Problem(408, "http.request_timeout");
                throw Problem(400, "http.body_incomplete");
            }
        }
        if (tlWatched) tlWatched->deadlineMs = 0;  // received: the handler may take its time
        return (*match.handler)(request);
    }

    std::size_t write(const HttpRequest& request, HttpResponse& response,
                      Poco::Net::HTTPServerRequest& in_, Poco::Net::HTTPServerResponse& out) {
        out.setStatusAndReason(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(response.status));
        securityHeaders(out);
        out.set("X-Request-Id", request.requestId);
        // Set-Cookie may come several times (a language and a form's cookie); others once.
        for (const auto& [name, value] : response.headers) {
            if (Poco::icompare(name, "Set-Cookie") == 0)
                out.add(name, value);
            else
                out.set(name, value);
        }
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

/// One client connection on one worker thread: Poco's HTTPServerConnection loop, plus the
/// watchdog's deadlines and problem answers for requests Poco cannot parse.
class HttpServer::Connection final : public Poco::Net::TCPServerConnection {
public:
    Connection(const Poco::Net::StreamSocket& socket, HttpServer& server)
        : TCPServerConnection(socket), server_(server) {
        watched_.socket = socket;
    }

    void run() override {
        Guard& guard = *server_.guard_;
        const HttpServerOptions& o = server_.options_;
        if (o.requestTimeoutS > 0) watched_.deadlineMs = steadyMs() + 1000LL * o.requestTimeoutS;
        guard.enter(watched_);
        tlWatched = &watched_;
        try {
            serve();
        } catch (const Poco::Exception&) {  // reset, timeout, shut down: the client is gone
        } catch (const std::exception&) {
        }
        tlWatched = nullptr;
        watched_.deadlineMs = 0;
        guard.leave(watched_);
    }

private:
    void serve() {
        Guard& guard = *server_.guard_;
        const HttpServerOptions& o = server_.options_;
        Poco::Net::HTTPServerParams::Ptr params = server_.params_;
        Poco::Net::HTTPServerSession session(socket(), params);
        while (!guard.stopping() && session.hasMoreRequests()) {
            try {
                Poco::Net::HTTPServerResponseImpl response(session);
                Poco::Net::HTTPServerRequestImpl request(response, session, params);
                if (watched_.timedOut) {
                    // The watchdog cut the headers short: what was read is not the request.
                    answerUnreadable(session, "headers not received in time");
                    break;
                }
                response.setDate(Poco::Timestamp());
                response.setVersion(request.getVersion());
                response.setKeepAlive(params->getKeepAlive() && request.getKeepAlive() &&
                                      session.canKeepAlive());
                response.set("Server", "hailong");
                Handler handler(server_);
                if (request.getExpectContinue() &&
                    response.getStatus() == Poco::Net::HTTPResponse::HTTP_OK)
                    response.sendContinue();
                handler.handleRequest(request, response);
                session.setKeepAlive(params->getKeepAlive() && response.getKeepAlive() &&
                                     session.canKeepAlive());
            } catch (const Poco::Net::NoMessageException&) {
                break;  // closed (or idle past its deadline) before a request began
            } catch (const Poco::Net::MessageException& e) {
                answerUnreadable(session, e.message());
                break;
            }
            if (o.requestTimeoutS > 0)
                watched_.deadlineMs =
                    steadyMs() + 1000LL * (o.keepAliveTimeoutS + o.requestTimeoutS);
        }
    }

    // A request whose line or headers Poco refused (too long, too many, malformed), or that
    // did not arrive in time: a problem answer, then the connection closes.
    void answerUnreadable(Poco::Net::HTTPServerSession& session, const std::string& why) {
        Problem problem(400, "http.bad_request");
        if (watched_.timedOut)
            problem = Problem(408, "http.request_timeout");
        else if (why.find("too long") != std::string::npos ||
                 why.find("Too many") != std::string::npos)
            problem = Problem(431, "http.header_too_large");
        const HttpResponse r =
            HttpServer::problemResponse(problem, server_.messages_, "vi", "/", random::hex(8));
        Poco::Net::HTTPServerResponseImpl response(session);
        response.setVersion(Poco::Net::HTTPMessage::HTTP_1_1);
        response.setStatusAndReason(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(r.status));
        securityHeaders(response);
        response.setKeepAlive(false);
        response.setContentType(r.contentType);
        response.setContentLength64(static_cast<Poco::Int64>(r.body.size()));
        response.send().write(r.body.data(), static_cast<std::streamsize>(r.body.size()));
        session.setKeepAlive(false);
        if (server_.options_.logRequests)
            server_.log_.information("unreadable request (%s) from %s: %d", why, watched_.address,
                                     r.status);
    }

    HttpServer& server_;
    Watched watched_;
};

class HttpServer::ConnectionFactory final : public Poco::Net::TCPServerConnectionFactory {
public:
    explicit ConnectionFactory(HttpServer& server) : server_(server) {}
    Poco::Net::TCPServerConnection* createConnection(
        const Poco::Net::StreamSocket& socket) override {
        return new Connection(socket, server_);
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
    Poco::Net::ServerSocket socket(address, 1024);
    Poco::Net::HTTPServerParams::Ptr params = new Poco::Net::HTTPServerParams;
    params->setMaxThreads(options_.threads);
    params->setMaxQueued(options_.queue);
    params->setKeepAlive(true);
    params->setKeepAliveTimeout(Poco::Timespan(options_.keepAliveTimeoutS, 0));
    params->setMaxKeepAliveRequests(options_.maxKeepAliveRequests);
    params->setTimeout(Poco::Timespan(options_.ioTimeoutS, 0));
    params->setServerName("hailong");
    params_ = params;
    guard_ = std::make_unique<Guard>(options_, messages_);
    pool_ = std::make_unique<Poco::ThreadPool>(2, options_.threads + 2, 60);
    server_ = std::make_unique<Poco::Net::TCPServer>(new ConnectionFactory(*this), *pool_, socket,
                                                     params);
    guard_->attach(server_.get());
    server_->setConnectionFilter(Poco::Net::TCPServerConnectionFilter::Ptr(guard_.get(), true));
    server_->start();
}

void HttpServer::stop() {
    if (!server_) return;
    server_->stop();    // stop accepting
    guard_->stopAll();  // idle connections end; in-flight handlers finish their answer
    pool_->joinAll();
    server_.reset();
    guard_.reset();
}

HttpServer::Stats HttpServer::stats() const {
    return guard_ ? guard_->stats() : Stats{};
}

std::uint16_t HttpServer::port() const {
    return server_ ? server_->port() : 0;
}

}  // namespace hailong

// hailong — HttpServer: Poco's HTTPServer in front of a RouteTable.
#pragma once

#include "http/RouteTable.h"

#include <hailong/Messages.h>
#include <hailong/Problem.h>

#include <Poco/AutoPtr.h>
#include <Poco/JSON/Object.h>

#include <cstdint>
#include <memory>
#include <string>

namespace Poco {
class Logger;
class ThreadPool;
namespace Net {
class HTTPServerParams;
class TCPServer;
}  // namespace Net
}  // namespace Poco

namespace hailong {

struct HttpServerOptions {
    std::string host = "127.0.0.1";
    std::uint16_t port = 8080;  ///< 0 picks a free port (tests)
    int threads = 128;          ///< one per keep-alive connection: size for expected clients
    int queue = 256;            ///< connections waiting for a thread; beyond, new ones are closed
    int keepAliveTimeoutS = 5;
    int maxKeepAliveRequests = 1000;
    std::size_t maxBodyBytes = 1 << 20;
    int ioTimeoutS = 30;
    bool trustProxy = false;  ///< take the client address from X-Forwarded-For
    bool logRequests = true;
    /// Connections one client address may hold open at once (idle, queued or busy); beyond
    /// it a new connection gets 503 and is closed. 0: no limit. Not applied when trustProxy
    /// is set: every client then shares the proxy's address, and the proxy must do it.
    int maxConnectionsPerAddress = 32;
    /// A request's line and headers must arrive within this many seconds of the connection
    /// being accepted (or of the previous answer, plus keepAliveTimeoutS); a slower client
    /// (slowloris) gets 408 and is closed. Its body then gets this long again plus
    /// Content-Length / minBodyBytesPerS. 0: no deadline (only ioTimeoutS per read).
    int requestTimeoutS = 10;
    std::size_t minBodyBytesPerS = 16 * 1024;
};

/// Owns the listening socket and the worker threads. start() and stop() from one thread;
/// requests are handled concurrently on the workers. Every error becomes an
/// application/problem+json response; no exception escapes a worker. Slow or idle clients are
/// bounded: a watchdog closes connections that miss their request deadline, and each client
/// address may hold at most maxConnectionsPerAddress connections.
class HttpServer {
public:
    HttpServer(RouteTable& routes, const Messages& messages, Poco::Logger& log,
               HttpServerOptions options);
    ~HttpServer();
    HttpServer(const HttpServer&) = delete;
    HttpServer& operator=(const HttpServer&) = delete;

    void start();
    /// Stops accepting, lets in-flight requests finish (up to a few seconds), closes the rest.
    void stop();
    std::uint16_t port() const;

    /// The problem+json body for `problem` (status, code, detail in `lang`, field errors).
    static Poco::JSON::Object::Ptr problemBody(const Problem& problem, const Messages& messages,
                                               const std::string& lang);
    /// The problem+json response for `problem`, in `lang`.
    static HttpResponse problemResponse(const Problem& problem, const Messages& messages,
                                        const std::string& lang, const std::string& instance,
                                        const std::string& requestId);

    /// Counters for tests and benchmarks (thread-safe).
    struct Stats {
        std::int64_t refusedPerAddress = 0;  ///< connections refused by the per-address limit
        std::int64_t refusedQueueFull = 0;   ///< connections refused because the queue was full
        std::int64_t timedOut = 0;           ///< connections closed by the request deadline
        int open = 0;                        ///< connections open now (queued or served)
    };
    Stats stats() const;

private:
    class Handler;
    class Connection;
    class ConnectionFactory;
    class Guard;
    RouteTable& routes_;
    const Messages& messages_;
    Poco::Logger& log_;
    HttpServerOptions options_;
    Poco::AutoPtr<Poco::Net::HTTPServerParams> params_;
    std::unique_ptr<Guard> guard_;
    std::unique_ptr<Poco::ThreadPool> pool_;
    std::unique_ptr<Poco::Net::TCPServer> server_;
};

}  // namespace hailong

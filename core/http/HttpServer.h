// hailong — HttpServer: Poco's HTTPServer in front of a RouteTable.
#pragma once

#include "http/RouteTable.h"

#include <hailong/Messages.h>
#include <hailong/Problem.h>

#include <Poco/JSON/Object.h>

#include <cstdint>
#include <memory>
#include <string>

namespace Poco {
class Logger;
class ThreadPool;
namespace Net {
class HTTPServer;
}
}  // namespace Poco

namespace hailong {

struct HttpServerOptions {
    std::string host = "127.0.0.1";
    std::uint16_t port = 8080;  ///< 0 picks a free port (tests)
    int threads = 64;           ///< one per keep-alive connection: size for expected clients
    int queue = 256;            ///< connections waiting for a thread; beyond, new ones are closed
    int keepAliveTimeoutS = 5;
    int maxKeepAliveRequests = 1000;
    std::size_t maxBodyBytes = 1 << 20;
    int ioTimeoutS = 30;
    bool trustProxy = false;  ///< take the client address from X-Forwarded-For
    bool logRequests = true;
};

/// Owns the listening socket and the worker threads. start() and stop() from one thread;
/// requests are handled concurrently on the workers. Every error becomes an
/// application/problem+json response; no exception escapes a worker.
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

private:
    class Factory;
    class Handler;
    RouteTable& routes_;
    const Messages& messages_;
    Poco::Logger& log_;
    HttpServerOptions options_;
    std::unique_ptr<Poco::ThreadPool> pool_;
    std::unique_ptr<Poco::Net::HTTPServer> server_;
};

}  // namespace hailong

// The anchor of the counter benchmark: a bare Poco HTTPServer whose one handler reads the body
// and answers 201 with a constant, configured like hailong's server (threads, queue,
// keep-alive). Usage: bare_http PORT [THREADS]. Runs until SIGTERM or SIGINT.
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/StreamCopier.h>
#include <Poco/Util/ServerApplication.h>

#include <cstdlib>
#include <iostream>
#include <sstream>

namespace {

class Constant final : public Poco::Net::HTTPRequestHandler {
public:
    void handleRequest(Poco::Net::HTTPServerRequest& request,
                       Poco::Net::HTTPServerResponse& response) override {
        std::ostringstream body;
        Poco::StreamCopier::copyStream(request.stream(), body);
        static const std::string kAnswer = R"({"status":"stored"})";
        response.setStatus(Poco::Net::HTTPResponse::HTTP_CREATED);
        response.setContentType("application/json");
        response.setContentLength(static_cast<std::streamsize>(kAnswer.size()));
        response.send() << kAnswer;
    }
};

class Factory final : public Poco::Net::HTTPRequestHandlerFactory {
public:
    Poco::Net::HTTPRequestHandler* createRequestHandler(
        const Poco::Net::HTTPServerRequest&) override {
        return new Constant;
    }
};

class BareHttp final : public Poco::Util::ServerApplication {
protected:
    int main(const std::vector<std::string>& args) override {
        if (args.empty()) {
            std::cerr << "usage: bare_http PORT [THREADS]\n";
            return 64;
        }
        auto* params = new Poco::Net::HTTPServerParams;
        params->setMaxThreads(args.size() > 1 ? std::atoi(args[1].c_str()) : 64);
        params->setMaxQueued(256);
        params->setKeepAlive(true);
        params->setKeepAliveTimeout(Poco::Timespan(5, 0));
        params->setMaxKeepAliveRequests(1000);
        Poco::Net::ServerSocket socket(Poco::Net::SocketAddress(
            "127.0.0.1", static_cast<Poco::UInt16>(std::atoi(args[0].c_str()))));
        Poco::Net::HTTPServer server(new Factory, socket, params);
        server.start();
        waitForTerminationRequest();
        server.stop();
        return 0;
    }
};

}  // namespace

POCO_SERVER_MAIN(BareHttp)

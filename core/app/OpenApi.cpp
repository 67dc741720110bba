#include "app/OpenApi.h"

#include "app/Runtime.h"

#include <Poco/Exception.h>
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/ParseHandler.h>
#include <Poco/JSON/Parser.h>

#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>

namespace hailong {

std::string openApiDocument(const std::string& file, const std::string& baseUrl) {
    std::ifstream in(file, std::ios::binary);
    if (!in) throw std::runtime_error("the OpenAPI document " + file + " cannot be read");
    std::ostringstream text;
    text << in.rdbuf();
    Poco::JSON::Object::Ptr doc;
    try {
        // In the order written: the document reads top to bottom (info, servers, paths...).
        Poco::JSON::Parser parser(new Poco::JSON::ParseHandler(true));
        doc = parser.parse(text.str()).extract<Poco::JSON::Object::Ptr>();
    } catch (const Poco::Exception& e) {
        throw std::runtime_error("the OpenAPI document " + file +
                                 " is not a JSON object: " + e.displayText());
    }
    if (!doc || !doc->has("openapi") || !doc->get("openapi").isString() ||
        !doc->getValue<std::string>("openapi").starts_with("3."))
        throw std::runtime_error("the OpenAPI document " + file +
                                 " has no \"openapi\": \"3.x\" member");
    if (!baseUrl.empty()) {
        Poco::JSON::Object::Ptr server = new Poco::JSON::Object(Poco::JSON_PRESERVE_KEY_ORDER);
        server->set("url", baseUrl);
        server->set("description", "this host (links.base_url)");
        Poco::JSON::Array::Ptr servers = new Poco::JSON::Array;
        servers->add(server);
        doc->set("servers", servers);
    }
    std::ostringstream out;
    doc->stringify(out);
    return out.str();
}

void registerOpenApi(Runtime& rt) {
    std::string base = rt.config().getString("links.base_url", "");
    while (base.ends_with('/')) base.pop_back();
    const auto document = std::make_shared<const std::string>(
        openApiDocument(rt.paths().web + "/openapi.json", base));
    rt.routes().add("GET", "/api/v1/openapi.json", [document](const HttpRequest&) {
        HttpResponse r;
        r.contentType = "application/json; charset=utf-8";
        r.body = *document;
        r.header("Cache-Control", "public, max-age=300");
        return r;
    });
}

}  // namespace hailong

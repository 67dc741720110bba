// Implementation of the value types declared in <hailong/Http.h>.
#include "common/Utf8.h"

#include <hailong/Http.h>
#include <hailong/Problem.h>

#include <Poco/JSON/Parser.h>
#include <Poco/JSON/Stringifier.h>

#include <algorithm>
#include <cctype>
#include <sstream>
#include <stdexcept>

namespace hailong {
namespace {

std::string lower(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return std::tolower(c); });
    return out;
}

// Rejects nesting deeper than `maxDepth` before the recursive parser sees it.
void checkDepth(std::string_view body, int maxDepth) {
    int depth = 0;
    bool inString = false, escaped = false;
    for (std::size_t i = 0; i < body.size(); ++i) {
        const char c = body[i];
        if (inString) {
            if (escaped)
                escaped = false;
            else if (c == '\\')
                escaped = true;
            else if (c == '"')
                inString = false;
            continue;
        }
        if (c == '"')
            inString = true;
        else if (c == '{' || c == '[') {
            if (++depth > maxDepth)
                throw Problem(400, "json.too_deep", {{"max", std::to_string(maxDepth)}});
        } else if (c == '}' || c == ']') {
            --depth;
        }
    }
}

}  // namespace

const std::string& HttpRequest::param(std::string_view name) const {
    auto it = pathParams.find(std::string(name));
    if (it == pathParams.end())
        throw std::logic_error("route has no parameter " + std::string(name));
    return it->second;
}

std::optional<std::string> HttpRequest::queryParam(std::string_view name) const {
    auto it = query.find(std::string(name));
    if (it == query.end()) return std::nullopt;
    return it->second;
}

std::string HttpRequest::header(std::string_view name) const {
    auto it = headers.find(lower(name));
    return it == headers.end() ? std::string() : it->second;
}

Poco::JSON::Object::Ptr HttpRequest::jsonObject() const {
    const std::string type = lower(header("content-type"));
    if (!type.empty() && type.find("json") == std::string::npos)
        throw Problem(415, "json.content_type", {{"type", type}});
    if (body.empty()) throw Problem(400, "json.empty");
    if (auto bad = utf8::firstInvalid(body))
        throw Problem(400, "text.invalid_utf8", {{"offset", std::to_string(*bad)}});
    checkDepth(body, 32);
    Poco::Dynamic::Var parsed;
    try {
        parsed = Poco::JSON::Parser().parse(body);
    } catch (const Poco::Exception& e) {
        throw Problem(400, "json.malformed", {{"reason", e.message()}});
    }
    if (parsed.type() != typeid(Poco::JSON::Object::Ptr)) throw Problem(400, "json.not_object");
    return parsed.extract<Poco::JSON::Object::Ptr>();
}

HttpResponse HttpResponse::json(const Poco::Dynamic::Var& value, int status) {
    HttpResponse r;
    r.status = status;
    r.contentType = "application/json; charset=utf-8";
    std::ostringstream out;
    if (value.type() == typeid(Poco::JSON::Object::Ptr))
        value.extract<Poco::JSON::Object::Ptr>()->stringify(out);
    else if (value.type() == typeid(Poco::JSON::Array::Ptr))
        value.extract<Poco::JSON::Array::Ptr>()->stringify(out);
    else
        Poco::JSON::Stringifier::stringify(value, out);
    r.body = out.str();
    return r;
}

HttpResponse HttpResponse::html(std::string html, int status) {
    HttpResponse r;
    r.status = status;
    r.contentType = "text/html; charset=utf-8";
    r.body = std::move(html);
    return r;
}

HttpResponse HttpResponse::text(std::string text, int status) {
    HttpResponse r;
    r.status = status;
    r.body = std::move(text);
    return r;
}

HttpResponse HttpResponse::redirect(std::string location, int status) {
    HttpResponse r;
    r.status = status;
    r.headers.emplace_back("Location", std::move(location));
    return r;
}

HttpResponse HttpResponse::noContent() {
    HttpResponse r;
    r.status = 204;
    r.contentType.clear();
    return r;
}

HttpResponse& HttpResponse::header(std::string name, std::string value) {
    headers.emplace_back(std::move(name), std::move(value));
    return *this;
}

}  // namespace hailong

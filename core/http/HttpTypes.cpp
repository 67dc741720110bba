// Implementation of the value types declared in <hailong/Http.h>.
#include "common/Utf8.h"

#include <hailong/Http.h>
#include <hailong/Problem.h>

#include <Poco/JSON/Parser.h>
#include <Poco/JSON/Stringifier.h>
#include <Poco/URI.h>

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

std::multimap<std::string, std::string> HttpRequest::formFields(std::size_t maxFields) const {
    // Only url-encoded forms are read: a text/plain or multipart body parsed as one would have
    // its fields silently lost or made up. A missing type is taken as a form (as jsonObject does).
    const std::string type = lower(header("content-type"));
    if (const std::string media = type.substr(0, type.find(';'));
        !type.empty() && utf8::trim(media) != "application/x-www-form-urlencoded")
        throw Problem(415, "form.content_type", {{"type", type.substr(0, 80)}});
    std::multimap<std::string, std::string> out;
    std::size_t at = 0;
    while (at < body.size()) {
        const std::size_t end = std::min(body.find('&', at), body.size());
        std::string_view pair(body.data() + at, end - at);
        at = end + 1;
        if (pair.empty()) continue;
        if (out.size() == maxFields)
            throw Problem(413, "form.too_many_fields", {{"max", std::to_string(maxFields)}});
        const std::size_t eq = pair.find('=');
        std::string name(pair.substr(0, eq)),
            value(eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1));
        std::replace(name.begin(), name.end(), '+', ' ');
        std::replace(value.begin(), value.end(), '+', ' ');
        std::string n, v;
        try {
            Poco::URI::decode(name, n);
            Poco::URI::decode(value, v);
        } catch (const Poco::Exception&) {
            throw Problem(400, "form.malformed", {{"field", name.substr(0, 40)}});
        }
        for (const std::string* text : {&n, &v}) {
            if (auto bad = utf8::firstInvalid(*text))
                throw Problem(400, "text.invalid_utf8", {{"offset", std::to_string(*bad)}});
            if (auto control = utf8::firstControl(*text))
                throw Problem(400, "text.control_chars", {{"offset", std::to_string(*control)}});
        }
        out.emplace(std::move(n), std::move(v));
    }
    return out;
}

std::string HttpRequest::cookie(std::string_view name) const {
    const std::string cookies = header("cookie");
    for (std::size_t at = 0; at < cookies.size();) {
        while (at < cookies.size() && (cookies[at] == ' ' || cookies[at] == ';')) ++at;
        const std::size_t end = std::min(cookies.find(';', at), cookies.size());
        const std::string_view pair(cookies.data() + at, end - at);
        if (pair.size() > name.size() && pair.starts_with(name) && pair[name.size()] == '=')
            return std::string(pair.substr(name.size() + 1));
        at = end;
    }
    return {};
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
    // '<', '>' and '&' only occur inside JSON strings: escaping them keeps text a client sent
    // (an echoed "<script>") inert even where a JSON answer ends up inside HTML.
    const std::string text = out.str();
    r.body.reserve(text.size());
    for (const char c : text) {
        if (c == '<')
            r.body += "\\u003c";
        else if (c == '>')
            r.body += "\\u003e";
        else if (c == '&')
            r.body += "\\u0026";
        else
            r.body += c;
    }
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

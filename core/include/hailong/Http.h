// hailong — the HTTP types a handler sees: HttpRequest, HttpResponse, Router.
#pragma once

#include <Poco/Dynamic/Var.h>
#include <Poco/JSON/Object.h>

#include <cstddef>
#include <functional>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hailong {

/// A request whose body has been read (bounded) before the handler runs. Owned by the server
/// for the duration of one handler call; not thread-safe (one request, one thread).
struct HttpRequest {
    std::string method;                             ///< "GET", "POST", ...
    std::string path;                               ///< percent-decoded, valid UTF-8
    std::map<std::string, std::string> pathParams;  ///< from {name} segments of the route
    std::multimap<std::string, std::string> query;  ///< decoded query parameters
    std::map<std::string, std::string> headers;     ///< names lower-cased
    std::string body;                               ///< at most the route's body limit
    std::string remoteAddress;                      ///< client IP (proxy-aware if configured)
    std::string language = "vi";                    ///< "vi" or "en", from Accept-Language
    std::string requestId;                          ///< for logs and problem responses

    /// A path parameter; throws std::logic_error if the route has no such parameter.
    const std::string& param(std::string_view name) const;
    /// The first query parameter of that name, if any.
    std::optional<std::string> queryParam(std::string_view name) const;
    /// A header value ("" if absent); `name` is matched case-insensitively.
    std::string header(std::string_view name) const;
    /// The body parsed as one JSON object. Throws Problem (400 malformed or not an object,
    /// 415 wrong content type) with the position of the error.
    Poco::JSON::Object::Ptr jsonObject() const;
    /// The body as an HTML form (application/x-www-form-urlencoded), decoded: repeated names
    /// keep every value, in order. At most `maxFields` fields are read. Throws Problem 400 for a
    /// field that is not UTF-8 or holds control characters other than tab and newlines, 413
    /// when there are more than `maxFields`, and 415 for a Content-Type other than
    /// application/x-www-form-urlencoded (none is read as a form).
    std::multimap<std::string, std::string> formFields(std::size_t maxFields = 200) const;
    /// The value of cookie `name` ("" if absent).
    std::string cookie(std::string_view name) const;
};

/// What a handler returns. A value type; either `body` or `writer` carries the content.
struct HttpResponse {
    int status = 200;
    std::string contentType = "text/plain; charset=utf-8";
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
    /// When set, streams the body (large exports); `body` is then ignored.
    std::function<void(std::ostream&)> writer;

    static HttpResponse json(const Poco::Dynamic::Var& value, int status = 200);
    static HttpResponse html(std::string html, int status = 200);
    static HttpResponse text(std::string text, int status = 200);
    static HttpResponse redirect(std::string location, int status = 303);
    static HttpResponse noContent();
    HttpResponse& header(std::string name, std::string value);
};

using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

struct RouteOptions {
    /// Largest accepted body; larger requests get 413 before the handler runs.
    /// 0 means the server's default (http.max_body_bytes).
    std::size_t maxBodyBytes = 0;
    /// Query values may be any bytes (an SMS gateway passes UCS-2 text as raw UTF-16): the
    /// handler decodes them. Otherwise a value that is not UTF-8 gets 400 before the handler.
    bool rawQuery = false;
};

/// Registers handlers. Patterns are literal segments, `{name}` (one segment) and a final
/// `{name*}` (the rest of the path). Thread-safe for registration before serving starts;
/// routes are never removed.
class Router {
public:
    virtual ~Router() = default;
    virtual void add(std::string_view method, std::string_view pattern, HttpHandler handler,
                     RouteOptions options = {}) = 0;
};

}  // namespace hailong

#include "http/StaticFiles.h"

#include <hailong/Problem.h>

#include <Poco/DateTimeFormat.h>
#include <Poco/DateTimeFormatter.h>
#include <Poco/File.h>
#include <Poco/FileStream.h>
#include <Poco/Path.h>
#include <Poco/StreamCopier.h>

#include <map>

namespace hailong {

std::string StaticFiles::mimeType(const std::string& path) {
    static const std::map<std::string, std::string> types{
        {"html", "text/html; charset=utf-8"},
        {"css", "text/css; charset=utf-8"},
        {"js", "text/javascript; charset=utf-8"},
        {"json", "application/json"},
        {"svg", "image/svg+xml"},
        {"png", "image/png"},
        {"jpg", "image/jpeg"},
        {"jpeg", "image/jpeg"},
        {"ico", "image/x-icon"},
        {"webp", "image/webp"},
        {"woff2", "font/woff2"},
        {"txt", "text/plain; charset=utf-8"},
        {"webmanifest", "application/manifest+json"}};
    const std::string ext = Poco::Path(path).getExtension();
    auto it = types.find(ext);
    return it == types.end() ? "application/octet-stream" : it->second;
}

HttpResponse StaticFiles::serve(const HttpRequest& request, const std::string& relative) const {
    // Reject anything that could leave the folder or reveal hidden files.
    std::size_t pos = 0;
    bool ok = !relative.empty() && relative.find('\0') == std::string::npos &&
              relative.find('\\') == std::string::npos;
    while (ok && pos < relative.size()) {
        auto end = relative.find('/', pos);
        if (end == std::string::npos) end = relative.size();
        const std::string segment = relative.substr(pos, end - pos);
        ok = !segment.empty() && segment.front() != '.';
        pos = end + 1;
    }
    const std::string full = root_ + "/" + relative;
    Poco::File file(full);
    if (!ok || !file.exists() || !file.isFile())
        throw Problem(404, "http.not_found", {{"path", request.path}});

    const auto modified = file.getLastModified();
    const std::string etag = "\"" + std::to_string(file.getSize()) + "-" +
                             std::to_string(modified.epochMicroseconds()) + "\"";
    HttpResponse r;
    r.headers.emplace_back("ETag", etag);
    r.headers.emplace_back("Last-Modified", Poco::DateTimeFormatter::format(
                                                modified, Poco::DateTimeFormat::HTTP_FORMAT));
    const std::string type = mimeType(full);
    r.headers.emplace_back("Cache-Control",
                           type.starts_with("text/html") ? "no-cache" : "public, max-age=3600");
    if (request.header("if-none-match") == etag) {
        r.status = 304;
        r.contentType.clear();
        return r;
    }
    Poco::FileInputStream in(full);
    Poco::StreamCopier::copyToString(in, r.body);
    r.contentType = type;
    return r;
}

}  // namespace hailong

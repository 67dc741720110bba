// hailong — StaticFiles: files under web/static served with MIME types, ETag and caching.
#pragma once

#include <hailong/Http.h>

#include <string>

namespace hailong {

/// Serves files from one folder. Stateless apart from the folder; thread-safe.
class StaticFiles {
public:
    explicit StaticFiles(std::string root) : root_(std::move(root)) {}
    /// The file at `relative` (no "..", no hidden segments), or a 404 Problem. Answers 304 when
    /// If-None-Match carries the current ETag.
    HttpResponse serve(const HttpRequest& request, const std::string& relative) const;
    static std::string mimeType(const std::string& path);

private:
    std::string root_;
};

}  // namespace hailong

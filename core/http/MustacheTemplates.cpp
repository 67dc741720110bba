#include "http/MustacheTemplates.h"

#include <Poco/DirectoryIterator.h>
#include <Poco/File.h>
#include <Poco/FileStream.h>
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/StreamCopier.h>

#include <kainjow/mustache.hpp>

#include <mutex>
#include <stdexcept>

namespace hailong {
namespace {

using kainjow::mustache::data;

data toData(const Poco::Dynamic::Var& v) {
    if (v.isEmpty()) return data(false);
    if (v.type() == typeid(Poco::JSON::Object::Ptr)) {
        data out{data::type::object};
        for (const auto& [k, child] : *v.extract<Poco::JSON::Object::Ptr>())
            out.set(k, toData(child));
        return out;
    }
    if (v.type() == typeid(Poco::JSON::Array::Ptr)) {
        data out{data::type::list};
        for (const auto& child : *v.extract<Poco::JSON::Array::Ptr>()) out.push_back(toData(child));
        return out;
    }
    if (v.type() == typeid(bool)) return data(v.extract<bool>());
    return data(v.convert<std::string>());
}

}  // namespace

void MustacheTemplates::addFolder(std::string_view prefix, const std::string& folder) {
    std::unique_lock lock(mutex_);
    folders_[std::string(prefix)] = folder;
}

std::string MustacheTemplates::source(const std::string& name) const {
    {
        std::shared_lock lock(mutex_);
        if (auto it = cache_.find(name); it != cache_.end()) return it->second;
    }
    const auto slash = name.find('/');
    std::string folder;
    {
        std::shared_lock lock(mutex_);
        auto it = folders_.find(slash == std::string::npos ? "" : name.substr(0, slash));
        if (it == folders_.end()) throw std::runtime_error("no template folder for " + name);
        folder = it->second;
    }
    const std::string file =
        folder + "/" + (slash == std::string::npos ? name : name.substr(slash + 1)) + ".mustache";
    if (!Poco::File(file).exists()) throw std::runtime_error("template not found: " + file);
    Poco::FileInputStream in(file);
    std::string text;
    Poco::StreamCopier::copyToString(in, text);
    std::unique_lock lock(mutex_);
    cache_[name] = text;
    return text;
}

std::string MustacheTemplates::render(std::string_view name,
                                      const Poco::Dynamic::Var& value) const {
    const std::string full(name);
    kainjow::mustache::mustache tmpl{source(full)};
    if (!tmpl.is_valid())
        throw std::runtime_error("template " + full + " is malformed: " + tmpl.error_message());
    data context = toData(value);
    if (!context.is_object()) context = data{data::type::object};
    // Partials resolve inside the template's own prefix.
    const auto slash = full.find('/');
    const std::string prefix = slash == std::string::npos ? "" : full.substr(0, slash + 1);
    std::string folder;
    {
        std::shared_lock lock(mutex_);
        auto it = folders_.find(slash == std::string::npos ? "" : full.substr(0, slash));
        if (it != folders_.end()) folder = it->second;
    }
    if (!folder.empty() && Poco::File(folder).exists()) {
        for (Poco::DirectoryIterator it(folder), end; it != end; ++it) {
            const std::string file = it.name();
            if (!file.ends_with(".mustache")) continue;
            const std::string partialName = file.substr(0, file.size() - 9);
            context.set(partialName, kainjow::mustache::partial([this, prefix, partialName] {
                            return source(prefix + partialName);
                        }));
        }
    }
    std::string out = tmpl.render(context);
    if (!tmpl.is_valid())
        throw std::runtime_error("template " + full + " failed: " + tmpl.error_message());
    return out;
}

}  // namespace hailong

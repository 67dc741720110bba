// hailong — Host: what the host offers a channel plugin.
#pragma once

#include <hailong/Cases.h>
#include <hailong/Devices.h>
#include <hailong/Directory.h>
#include <hailong/Http.h>
#include <hailong/Ingest.h>
#include <hailong/Messages.h>
#include <hailong/Outbox.h>
#include <hailong/Phones.h>
#include <hailong/PluginState.h>
#include <hailong/Survey.h>
#include <hailong/SurveyLinks.h>
#include <hailong/Templates.h>
#include <hailong/TextNormalizer.h>

#include <string>
#include <string_view>

namespace Poco {
class Logger;
}

namespace hailong {

/// The host's services, as seen by one plugin. The host owns every object returned here and
/// keeps them alive longer than any plugin. All of them are thread-safe.
class Host {
public:
    /// Routes registered here are mounted under /c/<plugin name>/ (pattern "/" is the root).
    virtual Router& router() = 0;
    virtual Ingest& ingest() = 0;
    virtual const SurveyCatalog& surveys() = 0;
    virtual const Directory& directory() = 0;
    virtual Devices& devices() = 0;
    virtual const TextNormalizer& text() = 0;
    virtual const Messages& messages() = 0;
    virtual Templates& templates() = 0;
    virtual Outbox& outbox() = 0;
    /// Follow-up cases: complaints sent outside a survey, and what became of a citizen's case.
    virtual Cases& cases() = 0;
    /// This plugin's durable records (other plugins' are out of its reach).
    virtual PluginState& state() = 0;
    virtual Phones& phones() = 0;
    virtual const SurveyLinks& links() = 0;
    virtual Poco::Logger& logger() = 0;
    /// The folder holding this plugin's data (templates/, locale/...), installed or in source.
    virtual std::string dataFolder() const = 0;
    /// Where this plugin's routes are reached from a browser: "/c/<name>", or "/s" for the
    /// plugin that answers survey links (links.plugin). Pages build their own URLs from it.
    virtual std::string publicPath() const = 0;
    /// Serves the files of `folder` (no "..", MIME types, ETag) under /c/<plugin>/<urlPrefix>/.
    virtual void serveFiles(std::string_view urlPrefix, const std::string& folder) = 0;

protected:
    ~Host() = default;
};

}  // namespace hailong

#include "survey/SurveyStore.h"

#include "common/Clock.h"

#include <Poco/Data/RecordSet.h>
#include <Poco/DirectoryIterator.h>
#include <Poco/File.h>
#include <Poco/FileStream.h>
#include <Poco/StreamCopier.h>

#include <algorithm>
#include <mutex>
#include <stdexcept>

using namespace Poco::Data::Keywords;
using Poco::Data::Session;

namespace hailong {

void SurveyStore::remember(std::shared_ptr<const Survey> survey, std::string definition) {
    const std::string id = survey->id;
    const int version = survey->version;
    std::unique_lock lock(mutex_);
    surveys_[id][version] = Entry{std::move(survey), std::move(definition)};
}

void SurveyStore::load() {
    struct Row {
        std::string id, status, definition;
        int version;
    };
    std::vector<Row> rows = db_.read([](Session& s) {
        Poco::Data::Statement st(s);
        st << "SELECT survey_id, version, status, definition FROM survey_versions "
              "ORDER BY survey_id, version";
        st.execute();
        Poco::Data::RecordSet rs(st);
        std::vector<Row> out;
        for (bool more = rs.moveFirst(); more; more = rs.moveNext())
            out.push_back({rs.value(0).convert<std::string>(), rs.value(2).convert<std::string>(),
                           rs.value(3).convert<std::string>(), rs.value(1).convert<int>()});
        return out;
    });
    for (Row& row : rows) {
        ParsedSurvey parsed = SurveyParser::parse(row.definition);
        if (!parsed.survey)  // it was valid when published: the database was altered
            throw std::runtime_error("stored survey " + row.id + " version " +
                                     std::to_string(row.version) + " no longer parses");
        parsed.survey->version = row.version;
        parsed.survey->status = row.status;
        remember(std::make_shared<const Survey>(std::move(*parsed.survey)),
                 std::move(row.definition));
    }
}

SurveyStore::Published SurveyStore::publish(const std::string& json, const std::string& source,
                                            bool unlessSeen) {
    ParsedSurvey parsed = SurveyParser::parse(json);
    if (!parsed.survey) throw Problem(422, "survey.invalid", {}, parsed.errors);
    Survey survey = std::move(*parsed.survey);
    Published result{survey.id, 0, false};
    db_.write([&](Session& s) {
        if (db_.backend() == Backend::PostgreSQL) {  // one publisher at a time
            int locked = 0;
            s << "SELECT 1 FROM (SELECT pg_advisory_xact_lock(4242003)) AS l", into(locked), now;
        }
        Poco::Nullable<int> latest;
        std::string latestHash;
        s << "SELECT version, content_hash FROM survey_versions WHERE survey_id = $1 "
             "ORDER BY version DESC LIMIT 1",
            use(survey.id), into(latest), into(latestHash), now;
        if (!latest.isNull() && latestHash == survey.contentHash) {
            result.version = latest.value();
            return;
        }
        if (unlessSeen) {
            Poco::Nullable<int> seen;
            s << "SELECT MAX(version) FROM survey_versions WHERE survey_id = $1 AND "
                 "content_hash = $2",
                use(survey.id), use(survey.contentHash), into(seen), now;
            if (!seen.isNull()) {
                result.version = seen.value();
                return;
            }
        }
        result.version = latest.isNull() ? 1 : latest.value() + 1;
        result.created = true;
        const std::int64_t at = nowMs();
        std::string src = source;
        s << "INSERT INTO survey_versions (survey_id, version, status, content_hash, definition, "
             "source, created_at, published_at) VALUES ($1, $2, 'published', $3, $4, $5, $6, $7)",
            use(survey.id), use(result.version), use(survey.contentHash), use(parsed.canonical),
            use(src), bind(at), bind(at), now;
    });
    if (result.created || !find(survey.id, result.version)) {
        survey.version = result.version;
        survey.status = "published";
        remember(std::make_shared<const Survey>(std::move(survey)), std::move(parsed.canonical));
    }
    return result;
}

std::vector<SurveyStore::FileResult> SurveyStore::publishFolder(const std::string& folder) {
    std::vector<FileResult> results;
    if (!Poco::File(folder).exists()) return results;
    std::vector<std::string> files;
    for (Poco::DirectoryIterator it(folder), end; it != end; ++it)
        if (it->isFile() && it.path().getExtension() == "json" &&
            !it.name().ends_with(".schema.json"))
            files.push_back(it.path().toString());
    std::sort(files.begin(), files.end());
    for (const std::string& file : files) {
        FileResult r{file, {}, {}};
        try {
            Poco::FileInputStream in(file);
            std::string json;
            Poco::StreamCopier::copyToString(in, json);
            r.published = publish(json, Poco::Path(file).getFileName(), true);
        } catch (const Problem& p) {
            r.errors = p.errors();
        }
        results.push_back(std::move(r));
    }
    return results;
}

void SurveyStore::retire(const std::string& id, int version) {
    auto current = find(id, version);
    if (!current || version == 0)
        throw Problem(404, "survey.not_found", {{"id", id + " v" + std::to_string(version)}});
    db_.write([&](Session& s) {
        std::string sid = id;
        int v = version;
        const std::int64_t at = nowMs();
        s << "UPDATE survey_versions SET status = 'retired', retired_at = $1 WHERE survey_id = $2 "
             "AND version = $3",
            bind(at), use(sid), use(v), now;
    });
    auto copy = std::make_shared<Survey>(*current);
    copy->status = "retired";
    remember(std::move(copy), definition(id, version));
}

std::shared_ptr<const Survey> SurveyStore::find(std::string_view id, int version) const {
    std::shared_lock lock(mutex_);
    auto it = surveys_.find(id);
    if (it == surveys_.end()) return nullptr;
    if (version != 0) {
        auto v = it->second.find(version);
        return v == it->second.end() ? nullptr : v->second.survey;
    }
    for (auto v = it->second.rbegin(); v != it->second.rend(); ++v)
        if (v->second.survey->status == "published") return v->second.survey;
    return nullptr;
}

std::vector<std::shared_ptr<const Survey>> SurveyStore::list() const {
    std::vector<std::shared_ptr<const Survey>> out;
    std::shared_lock lock(mutex_);
    for (const auto& [id, versions] : surveys_)
        for (auto v = versions.rbegin(); v != versions.rend(); ++v)
            if (v->second.survey->status == "published") {
                out.push_back(v->second.survey);
                break;
            }
    return out;
}

std::vector<std::shared_ptr<const Survey>> SurveyStore::versions(std::string_view id) const {
    std::vector<std::shared_ptr<const Survey>> out;
    std::shared_lock lock(mutex_);
    for (const auto& [sid, versions] : surveys_)
        if (id.empty() || sid == id)
            for (const auto& [v, entry] : versions) out.push_back(entry.survey);
    return out;
}

std::string SurveyStore::definition(const std::string& id, int version) const {
    std::shared_lock lock(mutex_);
    auto it = surveys_.find(id);
    if (it == surveys_.end()) return {};
    auto v = it->second.find(version);
    return v == it->second.end() ? std::string() : v->second.definition;
}

}  // namespace hailong

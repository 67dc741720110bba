#include "console/Console.h"
#include "charts/SvgCharts.h"
#include "console/ConsoleSite.h"
#include "console/Dashboard.h"
#include "console/DashboardView.h"
#include "console/Format.h"

#include "app/AlertApi.h"
#include "app/ApiSupport.h"
#include "app/Exports.h"
#include "app/Runtime.h"
#include "common/Clock.h"
#include "common/Random.h"
#include "directory/DirectoryImporter.h"
#include "export/ResponseImport.h"
#include "index/Periods.h"
#include "survey/SurveyParser.h"

#include <hailong/Hmac.h>
#include <hailong/Problem.h>

#include <Poco/Base64Decoder.h>
#include <Poco/FileStream.h>
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/JSON/Stringifier.h>
#include <Poco/StreamCopier.h>
#include <Poco/URI.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <mutex>
#include <sstream>
#include <unordered_map>

namespace hailong {
namespace console {

void Console::get(const std::string& path, Handler h) {
    rt_.routes().add("GET", path, [this, h](const HttpRequest& r) {
        const Visit v = visit(r);
        if (!v.session) return toSignIn(r);
        if (v.session->user.mustChangePassword && r.path != "/console/password")
            return HttpResponse::redirect("/console/password");
        return h(r, v, callerOf(*v.session));
    });
}

void Console::post(const std::string& path, PostHandler h, std::size_t maxBody) {
    rt_.routes().add(
        "POST", path,
        [this, h](const HttpRequest& r) {
            const Visit v = visit(r);
            if (!v.session) return toSignIn(r);
            Form form;
            try {
                form = r.formFields(200);
            } catch (const Problem& p) {  // not a form a browser sends: say so on a page
                Object::Ptr data = new Object;
                data->set("error", problemText(v.lang, p));
                return page("message", v, data, p.status());
            }
            if (!sameSecret(field(form, "csrf"), v.session->csrf)) {
                Object::Ptr data = new Object;
                data->set("error", t(v.lang, "form_expired"));
                return page("message", v, data, 403);
            }
            return h(r, v, callerOf(*v.session), form);
        },
        RouteOptions{maxBody});
}

HttpResponse Console::exportsPage(const Visit& v, const Caller& who, const std::string& error,
                                  int status) const {
    Object::Ptr data = new Object;
    data->set("survey_options", surveyOptions(v));
    data->set("agency_options", agencyOptions(who, who.scopeCode));
    Array::Ptr jobs = new Array;
    bool running = false;
    for (const ExportJob& j : rt_.exportJobs().of(who.session->user.id)) {
        Object::Ptr o = new Object;
        o->set("id", j.id);
        o->set("survey", j.request.filter.surveyId);
        o->set("format", j.request.format);
        o->set("agency",
               j.request.agencyCode.empty() ? t(v.lang, "scope_all") : j.request.agencyCode);
        std::string period;
        if (j.request.filter.fromDay) period = index::format(*j.request.filter.fromDay);
        period += " – ";
        if (j.request.filter.toDay) period += index::format(*j.request.filter.toDay);
        o->set("period", period == " – " ? t(v.lang, "export_all_time") : period);
        o->set("created", when(j.createdMs, v.lang));
        o->set("state", t(v.lang, "export_state_" + j.state));
        o->set("done", j.state == "done");
        o->set("failed", j.state == "failed");
        o->set("error", j.error);
        const int percent =
            j.total == 0 ? (j.state == "done" ? 100 : 0) : static_cast<int>(j.done * 100 / j.total);
        o->set("percent", percent);
        o->set("rows",
               count(static_cast<std::int64_t>(j.done), v.lang) +
                   (j.total ? " / " + count(static_cast<std::int64_t>(j.total), v.lang) : ""));
        o->set("size", decimal(static_cast<double>(j.bytes) / 1048576.0, v.lang) + " MB");
        running = running || j.state == "queued" || j.state == "running";
        jobs->add(o);
    }
    data->set("jobs", jobs);
    data->set("has_jobs", jobs->size() > 0);
    data->set("refresh", running);  // the page reloads itself while an export runs
    if (!error.empty()) data->set("error", error);
    return page("exports", v, data, status);
}

void Console::exportRoutes() {
    get("/console/exports", [this](const HttpRequest&, const Visit& v, const Caller& who) {
        return exportsPage(v, who, "");
    });
    post("/console/exports", [this](const HttpRequest& r, const Visit& v, const Caller& who,
                                    const Form& f) {
        try {
            ExportRequest request;
            request.format = field(f, "format");
            request.delimiter = field(f, "delimiter") == "," ? ',' : ';';
            exports::ExportFilter& filter = request.filter;
            filter.surveyId = field(f, "survey");
            filter.language = field(f, "lang") == "en" ? "en" : "vi";
            if (!rt_.surveys().find(filter.surveyId))
                throw Problem(404, "survey.not_found", {{"id", filter.surveyId}});
            // Only the caller's own subtree, whatever the form says.
            const std::string code =
                field(f, "agency").empty() ? who.scopeCode : field(f, "agency");
            if (!code.empty()) {
                const auto a = rt_.directory().agency(code);
                if (!a)
                    throw Problem(404, "directory.not_found", {{"kind", "agency"}, {"code", code}});
                if (!a->path.starts_with(who.scopePath))
                    throw Problem(403, "auth.out_of_scope",
                                  {{"scope", who.scopeCode}, {"code", code}});
                filter.scopePath = a->path;
                request.agencyCode = code;
            }
            if (!field(f, "from").empty()) filter.fromDay = queryDay("from", field(f, "from"));
            if (!field(f, "to").empty()) filter.toDay = queryDay("to", field(f, "to"));
            if (!field(f, "channel").empty()) filter.channel = field(f, "channel");
            rt_.exportJobs().submit(who.session->user.id, request);
            audit(rt_, r, who, "export", "survey", filter.surveyId,
                  who.scopeAgencyId ? std::optional(who.scopeAgencyId) : std::nullopt, "",
                  request.format + (code.empty() ? "" : " " + code));
            return HttpResponse::redirect("/console/exports");
        } catch (const Problem& p) {
            return exportsPage(v, who, problemText(v.lang, p), p.status());
        }
    });
    get("/console/exports/{id}/download", [this](const HttpRequest& r, const Visit& v,
                                                 const Caller& who) {
        const auto job = rt_.exportJobs().find(r.param("id"), who.session->user.id);
        if (!job || job->state != "done") {
            Object::Ptr data = new Object;
            data->set("error", t(v.lang, "export_not_ready"));
            return page("message", v, data, 404);
        }
        const std::string& format = job->request.format;
        HttpResponse out;
        out.contentType = format == "xlsx"
                              ? "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
                          : format == "sav"   ? "application/x-spss-sav"
                          : format == "jsonl" ? "application/x-ndjson; charset=utf-8"
                                              : "text/csv; charset=utf-8";
        const std::string name = job->request.filter.surveyId + "-" +
                                 index::format(index::localDay(job->createdMs)) + "." +
                                 exportExtension(format);
        out.header("Content-Disposition", "attachment; filename=\"" + name + "\"");
        out.header("Cache-Control", "no-store");
        const std::string file = job->file;
        out.writer = [file](std::ostream& o) {
            Poco::FileInputStream in(file);
            Poco::StreamCopier::copyStream(in, o);
        };
        return out;
    });
}

HttpResponse Console::signInPage(const HttpRequest& r, const Visit& v, const std::string& error,
                                 int status) const {
    Object::Ptr data = new Object;
    const std::string pre = random::hex(16);
    data->set("pre", pre);
    data->set("next", r.queryParam("next").value_or("/console/"));
    if (!error.empty()) data->set("error", error);
    HttpResponse out = page("signin", v, data, status);
    out.header("Set-Cookie", cookie(kPreCookie, pre));
    return out;
}

Array::Ptr Console::agencyOptions(const Caller& who, const std::string& selected) const {
    Array::Ptr out = new Array;
    for (const Agency& a : rt_.directory().agencies(scoped(who))) {
        Object::Ptr o = new Object;
        o->set("code", a.code);
        o->set("label", std::string(static_cast<std::size_t>(a.depth) * 2, ' ') + a.name + " (" +
                            a.code + ")");
        o->set("selected", a.code == selected);
        out->add(o);
    }
    return out;
}

HttpResponse Console::listPage(const std::string& kind, const Visit& v, const Caller& who,
                               const std::string& notice, const std::string& error, int status,
                               const Form* typed) const {
    Object::Ptr data = new Object;
    // A refused form comes back with what was typed in it.
    Object::Ptr form = new Object;
    if (typed)
        for (const auto& [name, value] : *typed)
            if (name != "csrf") form->set(name, value);
    data->set("form", form);
    DirectoryStore& dir = rt_.directory();
    const ListQuery q = scoped(who);
    Array::Ptr rows = new Array;
    auto agencyCode = [&](std::int64_t id) {
        auto a = dir.agencyById(id);
        return a ? a->code : std::string("?");
    };
    if (kind == "agencies") {
        for (const Agency& a : dir.agencies(q)) {
            Object::Ptr o = new Object;
            o->set("code", a.code);
            o->set("name", a.name);
            o->set("kind", a.kind);
            o->set("parent", a.parentId ? agencyCode(*a.parentId) : "");
            o->set("indent", std::string(static_cast<std::size_t>(a.depth) * 2, ' '));
            o->set("active", a.active);
            rows->add(o);
        }
    } else if (kind == "counters") {
        for (const Counter& c : dir.counters(q)) {
            Object::Ptr o = new Object;
            o->set("code", c.code);
            o->set("name", c.name);
            o->set("agency", agencyCode(c.agencyId));
            o->set("active", c.active);
            o->set("survey", c.surveyId.empty() ? t(v.lang, "survey_default") : c.surveyId);
            rows->add(o);
        }
        Array::Ptr surveys = new Array;
        for (const auto& s : rt_.surveys().list()) {
            if (!s->allowsChannel("counter")) continue;
            Object::Ptr o = new Object;
            o->set("id", s->id);
            o->set("label", s->id + " — " +
                                (s->title.count(v.lang) ? s->title.at(v.lang) : s->title.at("vi")));
            surveys->add(o);
        }
        data->set("survey_options", surveys);
    } else if (kind == "officers") {
        for (const Officer& x : dir.officers(q)) {
            Object::Ptr o = new Object;
            o->set("code", x.code);
            o->set("name", x.name);
            o->set("title", x.title);
            o->set("agency", agencyCode(x.agencyId));
            o->set("active", x.active);
            rows->add(o);
        }
    } else if (kind == "procedures") {
        ListQuery all;
        all.limit = 1000;
        for (const Procedure& p : dir.procedures(all)) {
            Object::Ptr o = new Object;
            o->set("code", p.code);
            o->set("name", p.name);
            o->set("field", p.field);
            o->set("days", p.processingDays);
            o->set("online", p.online);
            o->set("active", p.active);
            rows->add(o);
        }
    } else if (kind == "devices") {
        Array::Ptr counters = new Array;
        for (const Counter& c : dir.counters(q)) {
            Object::Ptr o = new Object;
            o->set("code", c.code);
            o->set("label", c.name + " (" + c.code + ")");
            counters->add(o);
        }
        data->set("counter_options", counters);
        for (const Device& d : dir.devices(q)) {
            Object::Ptr o = new Object;
            o->set("code", d.code);
            o->set("name", d.name);
            auto c = dir.counterById(d.counterId);
            o->set("counter", c ? c->code : "?");
            o->set("status", t(v.lang, "device_" + d.status));
            o->set("revoked", d.status == "revoked");
            o->set("seen", d.lastSeenAtMs ? when(*d.lastSeenAtMs, v.lang) : "—");
            o->set("queued", count(static_cast<std::size_t>(d.queued), v.lang));
            rows->add(o);
        }
    } else if (kind == "users") {
        for (const User& u : rt_.users().list(who.scopePath)) {
            Object::Ptr o = new Object;
            o->set("username", u.username);
            o->set("name", u.displayName);
            o->set("role", t(v.lang, std::string("role_") + toString(u.role)));
            o->set("agency", u.agencyCode.empty() ? t(v.lang, "scope_all") : u.agencyCode);
            o->set("active", u.active);
            o->set("self", u.id == who.session->user.id);
            rows->add(o);
        }
    }
    data->set("rows", rows);
    data->set("count", count(rows->size(), v.lang));
    data->set("agency_options", agencyOptions(who, who.scopeCode));
    if (!notice.empty()) data->set("notice", notice);
    if (!error.empty()) data->set("error", error);
    return page(kind, v, data, status);
}

// The fields of a directory form, saved through the same store, scope and audit as the API.
std::string Console::saveDirectory(const std::string& kind, const Form& f, const Caller& who,
                                   const HttpRequest& r) {
    DirectoryStore& dir = rt_.directory();
    const std::string code = trim(field(f, "code"));
    auto idOf = [&](const std::string& agency) -> std::optional<std::int64_t> {
        auto a = dir.agency(agency);
        return a ? std::optional<std::int64_t>(a->id) : std::nullopt;
    };
    std::optional<std::int64_t> target;
    std::string before;  // the name it had, when it existed
    const bool active = field(f, "active") != "0";
    if (kind == "agencies") {
        AgencyInput in{
            code, trim(field(f, "name")), field(f, "parent"), trim(field(f, "kind")), "", active};
        target = in.parentCode.empty() ? std::nullopt : idOf(in.parentCode);
        if (auto old = dir.agency(code)) {
            requireWriter(rt_, who, old->id);
            before = old->name;
        }
        requireWriter(rt_, who, target);
        dir.save(in);
    } else if (kind == "counters") {
        CounterInput in{code, trim(field(f, "name")), field(f, "agency"), active};
        in.surveyId = field(f, "survey");
        if (!in.surveyId->empty()) {
            auto s = rt_.surveys().find(*in.surveyId);
            if (!s || !s->allowsChannel("counter"))
                throw Problem(422, "directory.invalid", {},
                              {{"survey", "counter.survey_unfit", {{"survey", *in.surveyId}}}});
        }
        target = idOf(in.agencyCode);
        if (auto old = dir.counter(code)) {
            requireWriter(rt_, who, old->agencyId);
            before = old->name;
        }
        requireWriter(rt_, who, target);
        dir.save(in);
    } else if (kind == "officers") {
        OfficerInput in{code, trim(field(f, "name")), trim(field(f, "title")), field(f, "agency"),
                        active};
        target = idOf(in.agencyCode);
        if (auto old = dir.officer(code)) {
            requireWriter(rt_, who, old->agencyId);
            before = old->name;
        }
        requireWriter(rt_, who, target);
        dir.save(in);
    } else if (kind == "devices") {
        DeviceInput in{code, trim(field(f, "name")), field(f, "counter")};
        auto counter = dir.counter(in.counterCode);
        target = counter ? std::optional<std::int64_t>(counter->agencyId) : std::nullopt;
        if (auto old = dir.device(code)) {
            auto was = dir.counterById(old->counterId);
            requireWriter(rt_, who, was ? std::optional(was->agencyId) : std::nullopt);
            before = old->name;
        }
        requireWriter(rt_, who, target);
        dir.save(in);
    } else if (kind == "procedures") {  // national: administrators only
        ProcedureInput in{code,
                          trim(field(f, "name")),
                          trim(field(f, "field")),
                          field(f, "online"),
                          std::nullopt,
                          active};
        const std::string days = trim(field(f, "days"));
        if (!days.empty()) in.processingDays = queryInteger("days", days, 0, 3650);
        requireWriter(rt_, who, std::nullopt);
        if (auto old = dir.procedure(code)) before = old->name;
        dir.save(in);
    }
    static const std::map<std::string, std::string> singular{{"agencies", "agency"},
                                                             {"counters", "counter"},
                                                             {"officers", "officer"},
                                                             {"devices", "device"},
                                                             {"procedures", "procedure"}};
    audit(rt_, r, who, before.empty() ? "create" : "update", singular.at(kind), code, target,
          before, trim(field(f, "name")));
    return code;
}

HttpResponse Console::auditPage(const HttpRequest& r, const Visit& v, const Caller& who) const {
    AuditQuery q;
    q.agencyPath = who.scopePath;
    q.kind = r.queryParam("kind").value_or("");
    q.actor = r.queryParam("actor").value_or("");
    q.code = r.queryParam("code").value_or("");
    for (std::string* s : {&q.kind, &q.actor, &q.code})
        if (s->size() > 100) s->clear();
    q.limit = 200;
    Array::Ptr rows = new Array;
    for (const AuditEntry& e : rt_.audit().list(q)) {
        Object::Ptr o = new Object;
        o->set("at", when(e.atMs, v.lang));
        o->set("actor", e.actor);
        o->set("action", e.action);
        o->set("kind", e.kind);
        o->set("code", e.code);
        o->set("address", e.address);
        if (!e.before.empty()) o->set("before", e.before);
        if (!e.after.empty()) o->set("after", e.after);
        rows->add(o);
    }
    Object::Ptr data = new Object;
    data->set("rows", rows);
    data->set("count", count(rows->size(), v.lang));
    data->set("kind", q.kind);
    data->set("actor", q.actor);
    data->set("code", q.code);
    return page("audit", v, data);
}

namespace {

std::string pretty(const std::string& json) {
    std::ostringstream out;
    Poco::JSON::Stringifier::stringify(Poco::JSON::Parser().parse(json), out, 2);
    return out.str();
}

const char* typeName(QuestionType t) {
    return toString(t);
}

}  // namespace

HttpResponse Console::surveyPage(const std::string& id, const Visit& v, const std::string& text,
                                 Object::Ptr data, int status) const {
    Array::Ptr versions = new Array;
    for (const auto& s : rt_.surveys().versions(id)) {
        Object::Ptr o = new Object;
        o->set("version", s->version);
        o->set("status", t(v.lang, "survey_status_" + s->status));
        o->set("published", s->status == "published");
        o->set("title", s->title.count(v.lang) ? s->title.at(v.lang) : s->title.at("vi"));
        o->set("questions", s->questions.size());
        o->set("hash", s->contentHash.substr(0, 12));
        versions->add(o);
    }
    data->set("survey_id", id);
    data->set("new_survey", id == "new");
    data->set("versions", versions);
    data->set("definition", text);
    return page("survey", v, data, status);
}

void Console::surveyRoutes() {
    get("/console/surveys", [this](const HttpRequest&, const Visit& v, const Caller&) {
        Array::Ptr rows = new Array;
        for (const auto& s : rt_.surveys().list()) {
            Object::Ptr o = new Object;
            o->set("id", s->id);
            o->set("title", s->title.count(v.lang) ? s->title.at(v.lang) : s->title.at("vi"));
            o->set("version", s->version);
            o->set("questions", s->questions.size());
            std::string channels;
            for (const std::string& c : s->channels) channels += (channels.empty() ? "" : ", ") + c;
            o->set("channels", channels.empty() ? t(v.lang, "all_channels") : channels);
            rows->add(o);
        }
        Object::Ptr data = new Object;
        data->set("rows", rows);
        data->set("count", count(rows->size(), v.lang));
        return page("surveys", v, data);
    });
    get("/console/surveys/{id}", [this](const HttpRequest& r, const Visit& v, const Caller&) {
        const std::string id = r.param("id");
        if (id == "new")
            return surveyPage(
                id, v,
                "{\n  \"id\": \"\",\n  \"title\": {\"vi\": \"\", \"en\": \"\"},\n  "
                "\"channels\": [\"web\"],\n  \"questions\": [],\n  \"indices\": []\n}",
                new Object);
        const auto latest = rt_.surveys().versions(id);
        if (latest.empty()) {
            Object::Ptr data = new Object;
            data->set("error", rt_.messages().text(v.lang, "survey.not_found", {{"id", id}}));
            return page("message", v, data, 404);
        }
        return surveyPage(id, v, pretty(rt_.surveys().definition(id, latest.back()->version)),
                          new Object);
    });
    post("/console/surveys/{id}", [this](const HttpRequest& r, const Visit& v, const Caller& who,
                                         const Form& f) {
        const std::string id = r.param("id"), text = field(f, "definition"),
                          action = field(f, "action");
        Object::Ptr data = new Object;
        const ParsedSurvey parsed = SurveyParser::parse(text);
        Array::Ptr errors = new Array;
        for (const FieldError& e : parsed.errors)
            errors->add((e.field.empty() ? std::string() : e.field + ": ") +
                        rt_.messages().text(v.lang, e.code, e.params));
        if (parsed.survey && id != "new" && parsed.survey->id != id)
            errors->add("/id: " + t(v.lang, "survey_other_id", {{"id", id}}));
        if (errors->size() > 0) {
            data->set("errors", errors);
            data->set("errors_title",
                      t(v.lang, "survey_errors", {{"n", count(errors->size(), v.lang)}}));
            return surveyPage(id, v, text, data, 422);
        }
        const Survey& s = *parsed.survey;
        if (action == "preview") {
            Array::Ptr questions = new Array;
            for (const Question& q : s.questions) {
                Object::Ptr o = new Object;
                o->set("id", q.id);
                o->set("text", q.text.count(v.lang) ? q.text.at(v.lang) : q.text.at("vi"));
                o->set("type", typeName(q.type));
                o->set("required", q.required);
                Array::Ptr options = new Array;
                for (const QuestionOption& opt : q.options)
                    options->add(opt.label.count(v.lang) ? opt.label.at(v.lang)
                                 : opt.label.count("vi") ? opt.label.at("vi")
                                                         : opt.id);
                o->set("options", options);
                o->set("has_options", options->size() > 0);
                if (q.showIf) o->set("condition", q.showIf->question);
                questions->add(o);
            }
            Object::Ptr preview = new Object;
            preview->set("title", s.title.count(v.lang) ? s.title.at(v.lang) : s.title.at("vi"));
            preview->set("questions", questions);
            std::string channels;
            for (const std::string& c : s.channels) channels += (channels.empty() ? "" : ", ") + c;
            preview->set("channels", channels.empty() ? t(v.lang, "all_channels") : channels);
            // How each channel shows it: the counter's faces and the SMS reply come from the
            // first rating (or single choice) question.
            const Question* first = nullptr;
            for (const Question& q : s.questions)
                if (!first &&
                    (q.type == QuestionType::Rating || q.type == QuestionType::SingleChoice))
                    first = &q;
            auto label = [&](const QuestionOption& o) {
                return o.label.count(v.lang) ? o.label.at(v.lang)
                       : o.label.count("vi") ? o.label.at("vi")
                                             : o.id;
            };
            if (first && s.allowsChannel("counter")) {
                Array::Ptr faces = new Array;
                for (auto it = first->options.rbegin(); it != first->options.rend(); ++it)
                    faces->add(label(*it));
                preview->set("counter_faces", faces);
                preview->set("has_faces", faces->size() > 0);
            }
            if (first && s.allowsChannel("sms")) {
                std::string scale;
                for (const QuestionOption& o : first->options)
                    scale += (scale.empty() ? "" : ", ") + o.id + " = " + label(o);
                preview->set("sms_reply", t(v.lang, "preview_sms", {{"scale", scale}}));
            }
            if (s.allowsChannel("web"))
                preview->set("web_form",
                             t(v.lang, "preview_web",
                               {{"n", count(s.questions.size(), v.lang)}, {"id", s.id}}));
            data->set("preview", preview);
            return surveyPage(id, v, text, data);
        }
        if (action == "publish") {
            try {
                if (!who.admin) throw Problem(403, "auth.admin_only");
                const auto published =
                    rt_.surveys().publish(text, "console:" + who.session->user.username);
                if (published.created)
                    audit(rt_, r, who, "publish", "survey", published.id, std::nullopt, "",
                          "version " + std::to_string(published.version));
                data->set(
                    "notice",
                    t(v.lang, published.created ? "survey_published" : "survey_unchanged",
                      {{"id", published.id}, {"version", std::to_string(published.version)}}));
                return surveyPage(published.id, v,
                                  pretty(rt_.surveys().definition(published.id, published.version)),
                                  data);
            } catch (const Problem& p) {
                data->set("error", problemText(v.lang, p));
                return surveyPage(id, v, text, data, p.status());
            }
        }
        data->set("notice", t(v.lang, "survey_valid",
                              {{"questions", count(s.questions.size(), v.lang)},
                               {"indices", count(s.indices.size(), v.lang)}}));
        return surveyPage(id, v, text, data);
    });
    post("/console/surveys/{id}/{version}/retire", [this](const HttpRequest& r, const Visit& v,
                                                          const Caller& who, const Form&) {
        const std::string id = r.param("id");
        Object::Ptr data = new Object;
        int status = 200;
        try {
            if (!who.admin) throw Problem(403, "auth.admin_only");
            const int version = queryInteger("version", r.param("version"), 1, 1000000);
            rt_.surveys().retire(id, version);
            audit(rt_, r, who, "retire", "survey", id, std::nullopt, "",
                  "version " + std::to_string(version));
            data->set("notice", t(v.lang, "survey_retired",
                                  {{"id", id}, {"version", std::to_string(version)}}));
        } catch (const Problem& p) {
            data->set("error", problemText(v.lang, p));
            status = p.status();
        }
        const auto versions = rt_.surveys().versions(id);
        return surveyPage(
            id, v,
            versions.empty() ? "" : pretty(rt_.surveys().definition(id, versions.back()->version)),
            data, status);
    });
}

HttpResponse Console::alertsPage(const Visit& v, const Caller& who, std::int64_t editing,
                                 const std::string& notice, const std::string& error, int status,
                                 const Form* typed) const {
    Object::Ptr data = new Object;
    if (!notice.empty()) data->set("notice", notice);
    if (!error.empty()) data->set("error", error);
    const ConsoleText text = texts(v.lang);
    Array::Ptr open = new Array, history = new Array, rules = new Array;
    for (const Alert& a : rt_.alerts().alerts(who.scopePath, true, 100)) {
        Object::Ptr o = alertJson(a);
        addAlertView(o, v.lang, text);
        open->add(o);
    }
    for (const Alert& a : rt_.alerts().alerts(who.scopePath, false, 50)) {
        Object::Ptr o = alertJson(a);
        addAlertView(o, v.lang, text);
        history->add(o);
    }
    Object::Ptr form = new Object;  // the rule being edited, or what was typed
    for (const AlertRule& rule : rt_.alerts().rules(who.scopePath)) {
        Object::Ptr o = alertRuleJson(rule);
        const bool share = rule.kind == AlertKind::UnhappyShare;
        o->set("text", t(v.lang, share ? "rule_text_unhappy_share" : "rule_text_index_floor",
                         {{"threshold", decimal(rule.threshold, v.lang)},
                          {"minutes", std::to_string(rule.windowMinutes)},
                          {"days", std::to_string(rule.windowMinutes / (24 * 60))},
                          {"min_n", std::to_string(rule.minN)},
                          {"index", rule.indexId.empty() ? rule.surveyId : rule.indexId}}));
        o->set("survey_text", rule.surveyId.empty() ? t(v.lang, "every_survey") : rule.surveyId);
        std::string to;
        for (const AlertRecipient& x : rule.recipients) to += (to.empty() ? "" : ", ") + x.address;
        o->set("recipients_text", to);
        o->set("can_change", !who.readOnly());
        rules->add(o);
        if (rule.id == editing && !typed) {
            form->set("id", rule.id);
            form->set("agency", rule.agencyCode);
            form->set("kind_" + std::string(toString(rule.kind)), true);
            form->set("survey", rule.surveyId);
            form->set("index", rule.indexId);
            form->set("threshold", decimal(rule.threshold, "en"));
            form->set("window",
                      std::to_string(share ? rule.windowMinutes : rule.windowMinutes / (24 * 60)));
            form->set("min_n", std::to_string(rule.minN));
            std::string lines;
            for (const AlertRecipient& x : rule.recipients) lines += x.address + "\n";
            form->set("recipients", lines);
        }
    }
    if (typed) {
        for (const auto& [name, value] : *typed)
            if (name != "csrf") form->set(name, value);
        form->set("kind_" + field(*typed, "kind"), true);
        if (editing) form->set("id", editing);
    }
    if (!form->has("threshold")) {  // a new rule: sensible first values
        form->set("kind_unhappy_share", true);
        form->set("threshold", "30");
        form->set("window", "60");
        form->set("min_n", "10");
    }
    data->set("form", form);
    // Cases past their deadline show here too: they are alerts of another kind.
    cases::CaseQuery late;
    late.scopePath = who.scopePath;
    late.status = "overdue";
    late.limit = 50;
    Array::Ptr overdue = new Array;
    for (const cases::Case& c : rt_.cases().list(late)) overdue->add(caseView(c, v));
    data->set("overdue_cases", overdue);
    data->set("has_overdue", overdue->size() > 0);
    // Paused webhooks too: another system of the subtree hears nothing until one resumes them.
    if (const std::size_t paused = pausedWebhooks(who); paused > 0)
        data->set("webhooks_paused", t(v.lang, "alerts_webhooks_paused",
                                       {{"n", count(static_cast<std::int64_t>(paused), v.lang)}}));
    data->set("open_alerts", open);
    data->set("has_open", open->size() > 0);
    data->set("history", history);
    data->set("rules", rules);
    data->set("has_rules", rules->size() > 0);
    data->set("can_change", !who.readOnly());
    data->set("agency_options", agencyOptions(who, form->optValue<std::string>("agency", "")));
    Array::Ptr surveys = new Array;
    for (const auto& sv : rt_.surveys().list()) {
        Object::Ptr o = new Object;
        o->set("id", sv->id);
        o->set("selected", sv->id == form->optValue<std::string>("survey", ""));
        surveys->add(o);
    }
    data->set("survey_options", surveys);
    return page("alerts", v, data, status);
}

void Console::alertRoutes() {
    get("/console/alerts", [this](const HttpRequest& r, const Visit& v, const Caller& who) {
        const std::string edit = r.queryParam("edit").value_or("");
        std::int64_t editing = 0;
        if (!edit.empty() && edit.size() < 12 &&
            edit.find_first_not_of("0123456789") == std::string::npos)
            editing = std::stoll(edit);
        return alertsPage(v, who, editing, "", "");
    });
    auto save = [this](const HttpRequest& r, const Visit& v, const Caller& who, const Form& f,
                       std::int64_t id) {
        AlertRuleInput in;
        in.agencyCode = trim(field(f, "agency"));
        in.kind = field(f, "kind");
        in.surveyId = trim(field(f, "survey"));
        in.indexId = trim(field(f, "index"));
        in.threshold = field(f, "threshold");
        in.window = field(f, "window");
        in.minN = field(f, "min_n");
        in.recipients = field(f, "recipients");
        in.active = true;
        try {
            const AlertRule saved = saveAlertRule(rt_, r, who, id, in);
            return alertsPage(v, who, 0,
                              t(v.lang, "rule_saved", {{"id", std::to_string(saved.id)}}), "");
        } catch (const Problem& p) {
            return alertsPage(v, who, id, "", problemText(v.lang, p), p.status(), &f);
        }
    };
    post("/console/alerts", [save](const HttpRequest& r, const Visit& v, const Caller& who,
                                   const Form& f) { return save(r, v, who, f, 0); });
    post("/console/alerts/{id}/{action}",
         [this, save](const HttpRequest& r, const Visit& v, const Caller& who, const Form& f) {
             const std::string action = r.param("action");
             try {
                 const std::int64_t id = queryInteger("id", r.param("id"), 1, 2000000000);
                 if (action == "save") return save(r, v, who, f, id);
                 if (action != "enable" && action != "disable")
                     throw Problem(404, "alert.rule_not_found", {{"id", r.param("id")}});
                 setAlertRuleActive(rt_, r, who, id, action == "enable");
                 return alertsPage(v, who, 0,
                                   t(v.lang, action == "enable" ? "rule_enabled" : "rule_disabled",
                                     {{"id", std::to_string(id)}}),
                                   "");
             } catch (const Problem& p) {
                 return alertsPage(v, who, 0, "", problemText(v.lang, p), p.status());
             }
         });
}

void Console::routes() {
    surveyRoutes();
    rt_.routes().add("GET", "/api/v1/dashboard", [this](const HttpRequest& r) {
        const Caller who = caller(rt_, r);
        return HttpResponse::json(dashboardData(rt_, who, dashboardQuery(r), r.language));
    });
    get("/console/dashboard", [this](const HttpRequest& r, const Visit& v, const Caller& who) {
        Object::Ptr data;
        try {
            data = dashboardData(rt_, who, dashboardQuery(r), v.lang);
        } catch (const Problem& p) {
            Object::Ptr failed = new Object;
            failed->set("error", problemText(v.lang, p));
            return page("message", v, failed, p.status());
        }
        addDashboardView(data, v.lang, texts(v.lang));
        data->set("view_path", "/console/dashboard");
        Array::Ptr surveys = new Array;
        for (const auto& s : rt_.surveys().list()) {
            Object::Ptr o = new Object;
            o->set("id", s->id);
            o->set("selected", s->id == data->getValue<std::string>("survey"));
            surveys->add(o);
        }
        data->set("survey_options", surveys);
        data->set("agency_options", agencyOptions(who, data->getValue<std::string>("agency")));
        return page("dashboard", v, data);
    });
    // The printable report: the same data, every section open, the newest 20 comments.
    get("/console/report", [this](const HttpRequest& r, const Visit& v, const Caller& who) {
        Object::Ptr data;
        DashboardQuery q = dashboardQuery(r);
        q.counterCode.clear(), q.search.clear(), q.topic.clear(), q.sentiment.clear();
        q.rating.clear();
        try {
            data = dashboardData(rt_, who, q, v.lang);
        } catch (const Problem& p) {
            Object::Ptr failed = new Object;
            failed->set("error", problemText(v.lang, p));
            return page("message", v, failed, p.status());
        }
        addDashboardView(data, v.lang, texts(v.lang), 30);
        data->set("print", true);
        data->set("view_path", "/console/report");
        Array::Ptr recent = new Array;
        const Array::Ptr comments = data->getArray("comments");
        for (std::size_t i = 0; i < comments->size() && i < 20; ++i)
            recent->add(comments->getObject(static_cast<unsigned>(i)));
        data->set("report_comments", recent);
        const User& u = v.session->user;
        data->set("report_made",
                  t(v.lang, "report_made",
                    {{"when", when(nowMs(), v.lang)},
                     {"who", (u.displayName.empty() ? u.username : u.displayName) + " (" +
                                 t(v.lang, std::string("role_") + toString(u.role)) + ")"}}));
        return document("report", v, data);
    });
    alertRoutes();
    caseRoutes();
    webhookRoutes();
    exportRoutes();
    get("/console/import", [this](const HttpRequest&, const Visit& v, const Caller& who) {
        Object::Ptr data = new Object;
        data->set("can_import", !who.readOnly());
        return importPage(v, data, who.readOnly() ? 403 : 200);
    });
    post(
        "/console/import",
        [this](const HttpRequest& r, const Visit& v, const Caller& who, const Form& f) {
            Object::Ptr data = new Object;
            data->set("can_import", !who.readOnly());
            try {
                if (who.readOnly()) throw Problem(403, "auth.read_only");
                const std::string kind = field(f, "kind") == "directory" ? "directory" : "dossiers";
                if (kind == "directory" && !who.admin) throw Problem(403, "auth.admin_only");
                ImportOptions options;
                options.dryRun = field(f, "dry_run") == "1";
                // An official imports dossiers of their own subtree only.
                if (!who.admin)
                    options.admit = [this, &who](const std::string&,
                                                 const std::map<std::string, std::string>& row)
                        -> std::optional<FieldError> {
                        auto it = row.find("agency");
                        const std::string code = it == row.end() ? "" : it->second;
                        auto a = rt_.directory().agency(code);
                        if (a && a->path.starts_with(who.scopePath)) return std::nullopt;
                        return FieldError{"agency",
                                          "auth.out_of_scope",
                                          {{"scope", who.scopeCode}, {"code", code}}};
                    };
                const std::string fileName =
                    field(f, "format") == "json" ? "import.json" : "import.csv";
                DirectoryImporter importer(rt_.directory());
                const ImportReport report =
                    kind == "directory"
                        ? importer.importDirectory(field(f, "content"), fileName, options)
                        : importer.importDossiers(field(f, "content"), fileName, options);
                Object::Ptr out = new Object;
                out->set("rows", count(report.rows, v.lang));
                out->set("created", count(report.created, v.lang));
                out->set("updated", count(report.updated, v.lang));
                out->set("unchanged", count(report.unchanged, v.lang));
                out->set("rejected_count", count(report.rejected.size(), v.lang));
                out->set("committed", report.committed);
                addRejected(out, report.rejected, v.lang);
                data->set("import_report", out);
                if (report.committed)
                    audit(rt_, r, who, "import", kind == "directory" ? "directory" : "dossier", "",
                          who.scopeAgencyId ? std::optional(who.scopeAgencyId) : std::nullopt, "",
                          std::to_string(report.created) + " created, " +
                              std::to_string(report.updated) + " updated, " +
                              std::to_string(report.rejected.size()) + " rejected");
                return importPage(v, data);
            } catch (const Problem& p) {
                data->set("error", problemText(v.lang, p));
                return importPage(v, data, p.status());
            }
        },
        8 * 1024 * 1024);
    // Paper forms typed into a CSV or XLSX file: read by the browser (base64, so that legacy
    // encodings and workbooks arrive as their bytes) or pasted as CSV text.
    post(
        "/console/import/responses",
        [this](const HttpRequest& r, const Visit& v, const Caller& who, const Form& f) {
            Object::Ptr data = new Object;
            data->set("can_import", !who.readOnly());
            try {
                if (who.readOnly()) throw Problem(403, "auth.read_only");
                std::string bytes = field(f, "paper_text");
                std::string name = "forms.csv";
                if (const std::string b64 = field(f, "paper_content"); !b64.empty()) {
                    std::istringstream in(b64);
                    Poco::Base64Decoder decoder(in);
                    try {
                        bytes.assign(std::istreambuf_iterator<char>(decoder), {});
                    } catch (const Poco::Exception&) {
                        throw Problem(400, "import.bad_upload");
                    }
                    if (!field(f, "paper_name").empty()) name = field(f, "paper_name");
                }
                exports::ResponseImportOptions options;
                options.surveyId = field(f, "survey");
                options.dryRun = field(f, "dry_run") == "1";
                options.language = v.lang;
                options.check = [this](const Submission& s) { rt_.ingest().check(s); };
                // An official imports forms of their own subtree only.
                if (!who.admin)
                    options.admit = [this, &who](const Submission& s) -> std::optional<FieldError> {
                        auto a = rt_.directory().agency(s.agencyCode);
                        if (a && a->path.starts_with(who.scopePath)) return std::nullopt;
                        return FieldError{"agency",
                                          "auth.out_of_scope",
                                          {{"scope", who.scopeCode}, {"code", s.agencyCode}}};
                    };
                const vi::LegacyTables tables(rt_.paths().locale + "/vi/encodings");
                const auto report =
                    exports::importResponses(rt_.ingest(), rt_.surveys(), rt_.text(), tables,
                                             rt_.messages(), bytes, name, options);
                Object::Ptr out = new Object;
                out->set("encoding", report.encoding);
                out->set("confidence", std::to_string(std::lround(report.confidence * 100)));
                Array::Ptr columns = new Array, ignored = new Array;
                for (const auto& x : report.mapping) columns->add(x);
                for (const auto& x : report.ignored) ignored->add(x);
                out->set("columns", columns);
                out->set("ignored", ignored);
                auto number = [&](std::size_t n) {
                    return count(static_cast<std::int64_t>(n), v.lang);
                };
                out->set("rows", number(report.rows));
                out->set("imported", number(report.imported));
                out->set("duplicates", number(report.duplicates));
                out->set("rejected_count", number(report.rejected.size()));
                out->set("dry_run", options.dryRun);
                addRejected(out, report.rejected, v.lang);
                data->set("paper", out);
                if (!options.dryRun && report.imported > 0)
                    audit(rt_, r, who, "import", "response", options.surveyId,
                          who.scopeAgencyId ? std::optional(who.scopeAgencyId) : std::nullopt, "",
                          std::to_string(report.imported) + " imported, " +
                              std::to_string(report.rejected.size()) + " rejected (" +
                              report.encoding + ")");
                return importPage(v, data);
            } catch (const Problem& p) {
                data->set("error", problemText(v.lang, p));
                return importPage(v, data, p.status());
            }
        },
        24 * 1024 * 1024);
    RouteTable& routes = rt_.routes();
    routes.add("GET", "/console/signin", [this](const HttpRequest& r) {
        const Visit v = visit(r);
        if (v.session) return HttpResponse::redirect("/console/");
        return signInPage(r, v, "", 200);
    });
    routes.add(
        "POST", "/console/signin",
        [this](const HttpRequest& r) {
            const Visit v = visit(r);
            Form f;
            try {
                f = r.formFields(20);
            } catch (const Problem& p) {
                return signInPage(r, v, problemText(v.lang, p), p.status());
            }
            const std::string pre = field(f, "pre");
            if (pre.size() != 32 || !sameSecret(pre, r.cookie(kPreCookie)))
                return signInPage(r, v, t(v.lang, "form_expired"), 403);
            const std::int64_t now = nowMs();
            if (throttle_.paused(r.remoteAddress, now))
                return signInPage(r, v, t(v.lang, "signin_address_paused"), 429);
            try {
                const User u =
                    rt_.users().authenticate(trim(field(f, "username")), field(f, "password"), now);
                const std::string token =
                    rt_.sessions().open(u, r.remoteAddress, r.header("user-agent"));
                SignIn s;
                s.user = u;
                audit(rt_, r, callerOf(s), "sign_in", "user", u.username, u.agencyId, "", "");
                std::string next = field(f, "next");
                if (!next.starts_with("/console/") || next.find("//") != std::string::npos)
                    next = "/console/";
                return HttpResponse::redirect(next).header("Set-Cookie",
                                                           cookie(kSessionCookie, token));
            } catch (const Problem& p) {
                if (p.status() == 401) throttle_.failed(r.remoteAddress, now);
                return signInPage(r, v, problemText(v.lang, p), p.status());
            }
        },
        RouteOptions{16 * 1024});
    post("/console/signout",
         [this](const HttpRequest& r, const Visit&, const Caller& who, const Form& f) {
             if (field(f, "everywhere") == "1")
                 rt_.sessions().closeAll(who.session->user.id);
             else
                 rt_.sessions().close(r.cookie(kSessionCookie));
             audit(rt_, r, who, "sign_out", "user", who.session->user.username,
                   who.session->user.agencyId, "", "");
             return HttpResponse::redirect("/console/signin")
                 .header("Set-Cookie", cookie(kSessionCookie, "", "; Max-Age=0"));
         });
    get("/console/", [this](const HttpRequest&, const Visit& v, const Caller&) {
        return page("home", v, new Object);
    });
    get("/console/password", [this](const HttpRequest&, const Visit& v, const Caller&) {
        Object::Ptr data = new Object;
        if (v.session->user.mustChangePassword) data->set("notice", t(v.lang, "password_due"));
        return page("password", v, data);
    });
    post("/console/password",
         [this](const HttpRequest& r, const Visit& v, const Caller& who, const Form& f) {
             Object::Ptr data = new Object;
             const User& u = who.session->user;
             try {
                 rt_.users().authenticate(u.username, field(f, "current"), nowMs());
                 if (field(f, "new") != field(f, "again"))
                     throw Problem(422, "user.invalid", {}, {{"again", "password.mismatch", {}}});
                 rt_.users().setPassword(u.username, field(f, "new"), false);
                 rt_.sessions().closeAll(u.id);  // every other browser signs in again
                 audit(rt_, r, who, "password", "user", u.username, u.agencyId, "", "");
                 const std::string token = rt_.sessions().open(
                     *rt_.users().find(u.username), r.remoteAddress, r.header("user-agent"));
                 return HttpResponse::redirect("/console/?done=password")
                     .header("Set-Cookie", cookie(kSessionCookie, token));
             } catch (const Problem& p) {
                 data->set("error", problemText(v.lang, p));
                 return page("password", v, data, p.status() == 429 ? 429 : 422);
             }
         });
    for (const std::string kind : {"agencies", "counters", "officers", "devices", "procedures"}) {
        get("/console/" + kind,
            [this, kind](const HttpRequest& r, const Visit& v, const Caller& who) {
                const std::string done = r.queryParam("saved").value_or("");
                return listPage(
                    kind, v, who,
                    done.empty() ? "" : t(v.lang, "saved", {{"code", done.substr(0, 64)}}), "");
            });
        post("/console/" + kind,
             [this, kind](const HttpRequest& r, const Visit& v, const Caller& who, const Form& f) {
                 try {
                     const std::string code = saveDirectory(kind, f, who, r);
                     std::string encoded;
                     Poco::URI::encode(code, "&=?#+/", encoded);
                     return HttpResponse::redirect("/console/" + kind + "?saved=" + encoded);
                 } catch (const Problem& p) {
                     return listPage(kind, v, who, "", problemText(v.lang, p), p.status(), &f);
                 }
             });
    }
    // A device's pairing code, or the end of its token.
    post("/console/devices/{code}/{action}", [this](const HttpRequest& r, const Visit& v,
                                                    const Caller& who, const Form&) {
        const std::string code = r.param("code"), action = r.param("action");
        try {
            auto device = rt_.directory().device(code);
            if (!device) throw Problem(404, "device.not_found", {{"code", code}});
            auto counter = rt_.directory().counterById(device->counterId);
            requireWriter(rt_, who, counter ? std::optional(counter->agencyId) : std::nullopt);
            std::string notice;
            if (action == "pairing") {
                const PairingCode p = rt_.devices().issuePairing(code);
                notice =
                    t(v.lang, "pairing_code",
                      {{"device", code}, {"code", p.code}, {"until", when(p.expiresAtMs, v.lang)}});
            } else if (action == "revoke") {
                rt_.devices().revoke(code);
                notice = t(v.lang, "revoked", {{"device", code}});
            } else {
                throw Problem(404, "device.not_found", {{"code", code}});
            }
            audit(rt_, r, who, action == "pairing" ? "pairing_code" : "revoke", "device", code,
                  counter ? std::optional(counter->agencyId) : std::nullopt, "", "");
            return listPage("devices", v, who, notice, "");
        } catch (const Problem& p) {
            return listPage("devices", v, who, "", problemText(v.lang, p), p.status());
        }
    });
    get("/console/users", [this](const HttpRequest&, const Visit& v, const Caller& who) {
        if (!who.admin) {
            Object::Ptr data = new Object;
            data->set("error", rt_.messages().text(v.lang, "auth.admin_only"));
            return page("message", v, data, 403);
        }
        return listPage("users", v, who, "", "");
    });
    post("/console/users", [this](const HttpRequest& r, const Visit& v, const Caller& who,
                                  const Form& f) {
        try {
            if (!who.admin) throw Problem(403, "auth.admin_only");
            const std::string password = random::code(16);
            const User u = rt_.users().add({trim(field(f, "username")), trim(field(f, "name")),
                                            field(f, "role"), field(f, "agency")},
                                           password, true);
            audit(rt_, r, who, "create", "user", u.username, u.agencyId, "",
                  std::string(toString(u.role)) + " " + u.agencyCode);
            return listPage(
                "users", v, who,
                t(v.lang, "user_created", {{"username", u.username}, {"password", password}}), "");
        } catch (const Problem& p) {
            return listPage("users", v, who, "", problemText(v.lang, p), p.status());
        }
    });
    post("/console/users/{username}/{action}",
         [this](const HttpRequest& r, const Visit& v, const Caller& who, const Form&) {
             const std::string name = r.param("username"), action = r.param("action");
             try {
                 if (!who.admin) throw Problem(403, "auth.admin_only");
                 auto u = rt_.users().find(name);
                 if (!u) throw Problem(404, "user.not_found", {{"username", name}});
                 std::string notice;
                 if (action == "disable" || action == "enable") {
                     if (u->id == who.session->user.id) throw Problem(422, "user.not_self");
                     rt_.users().setActive(name, action == "enable");
                     if (action == "disable") rt_.sessions().closeAll(u->id);
                     notice = t(v.lang, "user_" + action + "d", {{"username", name}});
                 } else if (action == "reset") {
                     const std::string password = random::code(16);
                     rt_.users().setPassword(name, password, true);
                     rt_.sessions().closeAll(u->id);
                     notice = t(v.lang, "user_reset", {{"username", name}, {"password", password}});
                 } else {
                     throw Problem(404, "user.not_found", {{"username", name}});
                 }
                 audit(rt_, r, who, action, "user", name, u->agencyId, "", "");
                 return listPage("users", v, who, notice, "");
             } catch (const Problem& p) {
                 return listPage("users", v, who, "", problemText(v.lang, p), p.status());
             }
         });
    get("/console/audit", [this](const HttpRequest& r, const Visit& v, const Caller& who) {
        return auditPage(r, v, who);
    });
}

}  // namespace console

std::shared_ptr<void> registerConsole(Runtime& rt) {
    auto console = std::make_shared<console::Console>(rt);
    console->routes();
    return console;
}

}  // namespace hailong

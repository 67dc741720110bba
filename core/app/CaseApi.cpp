#include "app/CaseApi.h"

#include "app/Runtime.h"
#include "common/Clock.h"
#include "http/JsonInput.h"

#include <hailong/Problem.h>

#include <Poco/JSON/Array.h>

namespace hailong {

using Poco::JSON::Array;
using Poco::JSON::Object;

namespace {

Poco::Dynamic::Var time(const std::optional<std::int64_t>& ms) {
    return ms ? Poco::Dynamic::Var(formatTimeMs(*ms)) : Poco::Dynamic::Var();
}

}  // namespace

Object::Ptr caseJson(const cases::Case& c, bool whole) {
    Object::Ptr o = new Object;
    o->set("code", c.code);
    o->set("id", c.id);
    o->set("kind", c.kind);
    o->set("channel", c.channel);
    o->set("status", c.status);
    o->set("agency", c.agencyCode);
    o->set("agency_name", c.agencyName);
    o->set("dossier", c.dossierCode);
    o->set("officer", c.officerName);
    o->set("procedure", c.procedureName);
    o->set("summary", c.summary);
    o->set("topics", c.topics.size() > 2 ? c.topics.substr(1, c.topics.size() - 2) : "");
    o->set("assignee", c.assigneeName);
    o->set("answer_by_sms", c.hasContact);
    o->set("opened_at", formatTimeMs(c.openedAtMs));
    o->set("due_at", formatTimeMs(c.dueAtMs));
    o->set("overdue", c.overdue(nowMs()));
    o->set("answer", c.answer);
    o->set("answered_at", time(c.answeredAtMs));
    o->set("answered_by", c.answeredBy);
    o->set("closed_at", time(c.closedAtMs));
    o->set("escalated_at", time(c.escalatedAtMs));
    o->set("escalated_to", c.escalatedToName);
    o->set("verdict", c.verdict);
    if (whole) {
        Array::Ptr sources = new Array, events = new Array;
        for (const cases::CaseSource& s : c.sources) {
            Object::Ptr x = new Object;
            x->set("received_at", formatTimeMs(s.receivedAtMs));
            x->set("channel", s.channel);
            x->set("receipt", s.receipt);
            x->set("words", s.words);
            x->set("reason", s.reason);
            sources->add(x);
        }
        for (const cases::CaseEvent& e : c.events) {
            Object::Ptr x = new Object;
            x->set("at", formatTimeMs(e.atMs));
            x->set("actor", e.actor);
            x->set("action", e.action);
            x->set("detail", e.detail);
            events->add(x);
        }
        o->set("sources", sources);
        o->set("history", events);
    }
    return o;
}

cases::Case caseInScope(Runtime& rt, const Caller& who, const std::string& code, std::int64_t id) {
    auto c = code.empty() ? rt.cases().find(id) : rt.cases().findByCode(code);
    if (!c)
        throw Problem(404, "cases.not_found", {{"id", code.empty() ? std::to_string(id) : code}});
    requireScope(rt, who, c->agencyId);
    return *c;
}

cases::Case actOnCase(Runtime& rt, const HttpRequest& request, const Caller& who,
                      const cases::Case& c, const std::string& action,
                      const std::map<std::string, std::string>& input) {
    auto in = [&](const char* name) {
        auto it = input.find(name);
        return it == input.end() ? std::string() : it->second;
    };
    requireWriter(rt, who, c.agencyId);
    const std::string actor = who.actor();
    cases::Case after;
    if (action == "assign") {
        const auto user = rt.users().find(in("assignee"));
        if (!user || user->role != Role::Official || !user->active ||
            !c.agencyPath.starts_with(user->agencyPath))
            throw Problem(422, "cases.not_assignable");
        after = rt.cases().assign(
            c.id, user->id, user->displayName.empty() ? user->username : user->displayName, actor);
    } else if (action == "start") {
        after = rt.cases().start(c.id, actor);
    } else if (action == "answer") {
        after = rt.cases().answer(c.id, in("answer"), actor);
    } else if (action == "note") {
        after = rt.cases().note(c.id, in("note"), actor);
    } else if (action == "close") {
        after = rt.cases().close(c.id, in("note"), actor);
    } else {
        throw Problem(404, "cases.not_found", {{"id", c.code}});
    }
    audit(rt, request, who, action, "case", c.code, c.agencyId, c.status, after.status);
    return after;
}

void registerCaseApi(Runtime& rt) {
    RouteTable& routes = rt.routes();
    routes.add("GET", "/api/v1/cases", [&rt](const HttpRequest& r) {
        const Caller who = caller(rt, r);
        cases::CaseQuery q;
        q.scopePath = who.scopePath;
        q.status = r.queryParam("status").value_or("");
        const auto& statuses = cases::caseStatuses();
        if (q.status == "all") q.status.clear();
        if (!q.status.empty() && q.status != "open" && q.status != "overdue" &&
            std::find(statuses.begin(), statuses.end(), q.status) == statuses.end())
            throw Problem(422, "request.invalid", {},
                          {{"status",
                            "field.one_of",
                            {{"allowed",
                              "open, overdue, new, assigned, in_progress, answered, "
                              "closed, all"}}}});
        q.limit = static_cast<std::size_t>(
            queryInteger("limit", r.queryParam("limit").value_or("200"), 1, 1000));
        Array::Ptr list = new Array;
        for (const cases::Case& c : rt.cases().list(q)) list->add(caseJson(c, false));
        const cases::CaseCounts n = rt.cases().counts(who.scopePath, nowMs());
        Object::Ptr counts = new Object;
        counts->set("open", n.open);
        counts->set("overdue", n.overdue);
        counts->set("answered", n.answered);
        counts->set("closed", n.closed);
        counts->set("escalated", n.escalated);
        Object::Ptr body = new Object;
        body->set("cases", list);
        body->set("counts", counts);
        return HttpResponse::json(body);
    });
    routes.add("GET", "/api/v1/cases/{code}", [&rt](const HttpRequest& r) {
        return HttpResponse::json(caseJson(caseInScope(rt, caller(rt, r), r.param("code")), true));
    });
    routes.add("POST", "/api/v1/cases/{code}/{action}", [&rt](const HttpRequest& r) {
        const Caller who = caller(rt, r);
        const cases::Case c = caseInScope(rt, who, r.param("code"));
        std::map<std::string, std::string> input;
        if (!r.body.empty()) {
            JsonInput body(r.jsonObject());
            for (const char* name : {"assignee", "answer", "note"})
                if (auto text = body.text(name, 4000)) input[name] = *text;
            body.finish();
        }
        return HttpResponse::json(
            caseJson(actOnCase(rt, r, who, c, r.param("action"), input), true));
    });
}

}  // namespace hailong

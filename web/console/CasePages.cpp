// The console's follow-up cases: the list of an official's subtree, one case with what the
// citizen said and its history, and the forms that assign, answer and close it; each agency's
// deadline and opening level.
#include "console/ConsoleSite.h"

#include "app/CaseApi.h"

#include "common/Utf8.h"
#include "ingest/Feedback.h"

#include <hailong/Cases.h>

#include <cmath>

namespace hailong::console {
namespace {

// A level on the five-point scale: "2", or "2,5" / "2.5".
std::string level(double v, const std::string& lang) {
    return v == std::floor(v) ? std::to_string(static_cast<int>(v)) : decimal(v, lang);
}

// Sets `key` only when there is something to show (Mustache shows a section for "").
void setIf(Object::Ptr o, const std::string& key, const std::string& value) {
    if (!value.empty()) o->set(key, value);
}

}  // namespace

Object::Ptr Console::caseView(const cases::Case& c, const Visit& v) const {
    const std::int64_t at = nowMs();
    Object::Ptr o = new Object;
    o->set("id", c.id);
    o->set("code", c.code);
    o->set("kind", t(v.lang, "case_kind_" + c.kind));
    o->set("channel", c.channel);
    o->set("summary", c.summary);
    o->set("excerpt", utf8::shortened(c.summary, 140));
    o->set("status", t(v.lang, "case_status_" + c.status));
    o->set("status_key", c.status);
    o->set("agency", c.agencyName);
    o->set("agency_code", c.agencyCode);
    setIf(o, "officer", c.officerName);
    setIf(o, "procedure", c.procedureName);
    setIf(o, "dossier", c.dossierCode);
    setIf(o, "assignee", c.assigneeName);
    o->set("opened", when(c.openedAtMs, v.lang));
    o->set("due", when(c.dueAtMs, v.lang));
    o->set("overdue", c.overdue(at));
    o->set("open", !c.answeredAtMs && !c.closedAtMs);
    o->set("closed", c.closedAtMs.has_value());
    if (c.escalatedAtMs) {
        o->set("escalated", c.escalatedToName.empty()
                                ? t(v.lang, "case_escalated_root")
                                : t(v.lang, "case_escalated_to", {{"agency", c.escalatedToName}}));
    }
    o->set("reply_by", t(v.lang, c.hasContact         ? "case_reply_sms"
                                 : c.channel == "web" ? "case_reply_web"
                                                      : "case_reply_none"));
    std::string topics;
    for (const std::string& tag : topicsOf(c.topics))
        topics += (topics.empty() ? "" : ", ") + t(v.lang, "topic_" + tag);
    setIf(o, "topics", topics);
    if (c.answeredAtMs) {
        o->set("answer", c.answer);
        o->set("answered", when(*c.answeredAtMs, v.lang));
        o->set("answered_by", c.answeredBy);
    }
    if (!c.verdict.empty()) o->set("verdict", t(v.lang, "case_verdict_" + c.verdict));
    return o;
}

HttpResponse Console::casesPage(const HttpRequest& r, const Visit& v, const Caller& who,
                                const std::string& notice, const std::string& error,
                                int status) const {
    std::string filter = r.queryParam("status").value_or("open");
    const auto& statuses = cases::caseStatuses();
    if (filter != "open" && filter != "overdue" && filter != "all" &&
        std::find(statuses.begin(), statuses.end(), filter) == statuses.end())
        filter = "open";
    Object::Ptr data = new Object;
    if (!notice.empty()) data->set("notice", notice);
    if (!error.empty()) data->set("error", error);
    cases::CaseQuery q;
    q.scopePath = who.scopePath;
    q.status = filter == "all" ? "" : filter;
    Array::Ptr rows = new Array;
    for (const cases::Case& c : rt_.cases().list(q)) rows->add(caseView(c, v));
    data->set("cases", rows);
    data->set("has_cases", rows->size() > 0);
    const cases::CaseCounts n = rt_.cases().counts(who.scopePath, nowMs());
    Array::Ptr tabs = new Array;
    for (const auto& [key, howMany] :
         std::vector<std::pair<std::string, std::int64_t>>{{"open", n.open},
                                                           {"overdue", n.overdue},
                                                           {"answered", n.answered},
                                                           {"closed", n.closed},
                                                           {"all", -1}}) {
        Object::Ptr tab = new Object;
        tab->set("key", key);
        tab->set("label", t(v.lang, "cases_tab_" + key));
        if (howMany >= 0) tab->set("n", count(howMany, v.lang));
        tab->set("current", key == filter);
        tabs->add(tab);
    }
    data->set("tabs", tabs);
    // The rules of the caller's agency (inherited, or the defaults), and their form.
    const cases::CasePolicy p = rt_.cases().policy(who.scopeAgencyId);
    data->set("policy_text",
              t(v.lang, "case_policy_text",
                {{"days", std::to_string(p.workingDays)},
                 {"level", level(p.ratingAtOrBelow, v.lang)},
                 {"from", p.setAt.empty() ? t(v.lang, "case_policy_default") : p.setAt}}));
    data->set("policy_days", std::to_string(p.workingDays));
    data->set("policy_level", level(p.ratingAtOrBelow, "en"));
    data->set("can_change", !who.readOnly());
    data->set("agency_options", agencyOptions(who, who.scopeCode));
    return page("cases", v, data, status);
}

HttpResponse Console::casePage(const cases::Case& c, const Visit& v, const Caller& who,
                               const std::string& notice, const std::string& error,
                               int status) const {
    Object::Ptr data = new Object;
    if (!notice.empty()) data->set("notice", notice);
    if (!error.empty()) data->set("error", error);
    Object::Ptr o = caseView(c, v);
    Array::Ptr sources = new Array, events = new Array;
    for (const cases::CaseSource& s : c.sources) {
        Object::Ptr x = new Object;
        x->set("when", when(s.receivedAtMs, v.lang));
        x->set("channel", s.channel);
        x->set("words", s.words);
        setIf(x, "reason", s.reason);
        setIf(x, "receipt", s.receipt);
        sources->add(x);
    }
    for (const cases::CaseEvent& e : c.events) {
        Object::Ptr x = new Object;
        x->set("when", when(e.atMs, v.lang));
        x->set("actor", e.actor);
        x->set("action", t(v.lang, "case_event_" + e.action));
        x->set("detail", e.action == "opened" || e.action == "joined"
                             ? t(v.lang, "case_kind_" + e.detail)
                         : e.action == "rated" ? t(v.lang, "case_verdict_" + e.detail)
                                               : e.detail);
        events->add(x);
    }
    o->set("sources", sources);
    o->set("events", events);
    data->set("case", o);
    const bool canChange = !who.readOnly() && !c.closedAtMs;
    data->set("can_change", canChange);
    data->set("can_assign", canChange && !c.answeredAtMs);
    // Officials who may handle it: of its agency or an agency above it.
    Array::Ptr officials = new Array;
    if (canChange)
        for (const User& u : rt_.users().list("")) {
            if (u.role != Role::Official || !u.active || !c.agencyPath.starts_with(u.agencyPath))
                continue;
            Object::Ptr x = new Object;
            x->set("username", u.username);
            x->set("label",
                   (u.displayName.empty() ? u.username : u.displayName) + " — " + u.agencyName);
            x->set("selected", c.assigneeId && *c.assigneeId == u.id);
            officials->add(x);
        }
    data->set("officials", officials);
    return page("case", v, data, status);
}

void Console::caseRoutes() {
    get("/console/cases", [this](const HttpRequest& r, const Visit& v, const Caller& who) {
        // After a form (Post/Redirect/Get): ?saved=CODE says whose rules were saved.
        const std::string saved = r.queryParam("saved").value_or("");
        const auto agency = saved.empty() ? std::nullopt : rt_.directory().agency(saved);
        return casesPage(r, v, who,
                         agency ? t(v.lang, "case_policy_saved", {{"agency", agency->code}}) : "",
                         "");
    });
    // A case of the caller's subtree (404 unknown, 403 outside).
    auto scopedCase = [this](const std::string& id, const Caller& who) {
        return caseInScope(rt_, who, "", queryInteger("id", id, 1, 2000000000));
    };
    get("/console/cases/{id}",
        [this, scopedCase](const HttpRequest& r, const Visit& v, const Caller& who) {
            try {
                const cases::Case c = scopedCase(r.param("id"), who);
                // After a form (Post/Redirect/Get): ?done=ACTION says what was done; reloading
                // the page does not do it again.
                const std::string done = r.queryParam("done").value_or("");
                std::string notice;
                for (const char* action : {"assign", "start", "answer", "note", "close"})
                    if (done == action) notice = t(v.lang, "case_done_" + done, {{"code", c.code}});
                return casePage(c, v, who, notice, "");
            } catch (const Problem& p) {
                Object::Ptr failed = new Object;
                failed->set("error", problemText(v.lang, p));
                return page("message", v, failed, p.status());
            }
        });
    post("/console/cases/policy", [this](const HttpRequest& r, const Visit& v, const Caller& who,
                                         const Form& f) {
        try {
            const std::string code = trim(field(f, "agency"));
            const auto agency = rt_.directory().agency(code);
            if (!agency)
                throw Problem(404, "directory.not_found",
                              {{"kind", t(v.lang, "agency")}, {"code", code}});
            requireWriter(rt_, who, agency->id);
            const auto before = rt_.cases().policy(agency->id);
            const auto after = rt_.cases().setPolicy(agency->id, field(f, "working_days"),
                                                     field(f, "rating_at_or_below"), who.actor());
            audit(rt_, r, who, "update", "case_policy", code, agency->id,
                  std::to_string(before.workingDays) + " days, level " +
                      std::to_string(before.ratingAtOrBelow),
                  std::to_string(after.workingDays) + " days, level " +
                      std::to_string(after.ratingAtOrBelow));
            return HttpResponse::redirect("/console/cases?saved=" + code);
        } catch (const Problem& p) {
            return casesPage(r, v, who, "", problemText(v.lang, p), p.status());
        }
    });
    post("/console/cases/{id}/{action}", [this, scopedCase](const HttpRequest& r, const Visit& v,
                                                            const Caller& who, const Form& f) {
        const std::string action = r.param("action");
        std::optional<cases::Case> c;
        try {
            c = scopedCase(r.param("id"), who);
            std::map<std::string, std::string> input;
            for (const char* name : {"assignee", "answer", "note"}) input[name] = field(f, name);
            const cases::Case after = actOnCase(rt_, r, who, *c, action, input);
            return HttpResponse::redirect("/console/cases/" + std::to_string(after.id) +
                                          "?done=" + action);
        } catch (const Problem& p) {
            if (!c) {
                Object::Ptr failed = new Object;
                failed->set("error", problemText(v.lang, p));
                return page("message", v, failed, p.status());
            }
            auto fresh = rt_.cases().find(c->id);
            return casePage(fresh ? *fresh : *c, v, who, "", problemText(v.lang, p), p.status());
        }
    });
}

}  // namespace hailong::console

// hailong — the console's page machinery, shared by the files that register its pages
// (Console.cpp, CasePages.cpp, WebhookPages.cpp). Internal to the console; not a public header.
#pragma once

#include "app/ApiSupport.h"
#include "app/Runtime.h"
#include "common/Clock.h"
#include "common/Utf8.h"
#include "console/DashboardView.h"
#include "console/Format.h"
#include "export/ResponseImport.h"

#include <hailong/Hmac.h>
#include <hailong/Problem.h>

#include <Poco/FileStream.h>
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/URI.h>

#include <map>
#include <mutex>
#include <string>
#include <unordered_map>

namespace hailong::console {

using Poco::JSON::Array;
using Poco::JSON::Object;
using Form = std::multimap<std::string, std::string>;

inline constexpr const char* kLangCookie = "hl_lang";
inline constexpr const char* kPreCookie = "hl_pre";  // the sign-in form's key, before any session
inline constexpr const char* kPolicy =
    "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

inline std::string field(const Form& form, const std::string& name) {
    auto it = form.find(name);
    return it == form.end() ? std::string() : it->second;
}

inline std::string trim(const std::string& s) {
    return utf8::trim(s);
}

// Sign-in failures per client address, in memory: 20 in 10 minutes pause that address.
class AddressThrottle {
public:
    bool paused(const std::string& address, std::int64_t now) {
        std::lock_guard lock(mutex_);
        auto it = failures_.find(address);
        return it != failures_.end() && it->second.first > now && it->second.second >= 20;
    }
    void failed(const std::string& address, std::int64_t now) {
        std::lock_guard lock(mutex_);
        if (failures_.size() > 100000) failures_.clear();
        auto& [until, n] = failures_[address];
        if (until <= now) until = now + 10 * 60 * 1000, n = 0;
        ++n;
    }

private:
    std::mutex mutex_;
    std::unordered_map<std::string, std::pair<std::int64_t, int>> failures_;
};

class Console {
public:
    explicit Console(Runtime& rt) : rt_(rt) {
        for (const char* lang : {"vi", "en"}) {
            Poco::FileInputStream in(rt.paths().locale + "/" + lang + "/console.json");
            strings_[lang] = Poco::JSON::Parser().parse(in).extract<Object::Ptr>();
        }
        secure_ = rt.config().getBool("console.secure_cookie", false);
    }
    void routes();

private:
    struct Visit {
        std::string lang = "vi";
        std::optional<SignIn> session;
        std::string setCookie;  // the language chosen with ?lang=
    };

    Visit visit(const HttpRequest& r) const {
        Visit v;
        const auto asked = r.queryParam("lang");
        const std::string saved = r.cookie(kLangCookie);
        v.lang = asked ? (*asked == "en" ? "en" : "vi") : saved == "en" ? "en" : "vi";
        if (asked && v.lang != saved)
            v.setCookie = std::string(kLangCookie) + "=" + v.lang + "; Path=/; SameSite=Lax";
        v.session = rt_.sessions().find(r.cookie(kSessionCookie), nowMs());
        return v;
    }

    std::string t(const std::string& lang, const std::string& key,
                  const std::map<std::string, std::string>& params = {}) const {
        return fillIn(strings_.at(lang)->optValue<std::string>(key, key), params);
    }
    /// The page's strings as the dashboard view asks for them.
    ConsoleText texts(const std::string& lang) const {
        return [this, lang](const std::string& key, const std::map<std::string, std::string>& p) {
            return t(lang, key, p);
        };
    }
    std::string problemText(const std::string& lang, const Problem& p) const {
        if (!p.errors().empty()) {
            std::string out;
            for (const FieldError& e : p.errors())
                out += (out.empty() ? "" : " ") + e.field + ": " +
                       rt_.messages().text(lang, e.code, e.params);
            return out;
        }
        return rt_.messages().text(lang, p.code(), p.params());
    }

    std::string cookie(const std::string& name, const std::string& value,
                       const std::string& extra = "") const {
        return name + "=" + value + "; Path=/; HttpOnly; SameSite=Strict" +
               (secure_ ? "; Secure" : "") + extra;
    }

    HttpResponse page(const std::string& name, const Visit& v, Object::Ptr data,
                      int status = 200) const {
        data->set("page_" + name, true);
        return document("console", v, data, status);
    }
    /// Renders template `name` (a whole HTML document) for the visit: its language, strings,
    /// the signed-in user; no caching, the console's Content-Security-Policy.
    HttpResponse document(const std::string& name, const Visit& v, Object::Ptr data,
                          int status = 200) const {
        data->set("lang", v.lang);
        data->set("t", strings_.at(v.lang));
        data->set("other_lang", v.lang == "en" ? "vi" : "en");
        data->set("other_lang_label", t(v.lang == "en" ? "vi" : "en", "language_name"));
        if (v.session) {
            const User& u = v.session->user;
            Object::Ptr me = new Object;
            me->set("username", u.username);
            me->set("name", u.displayName.empty() ? u.username : u.displayName);
            me->set("role", t(v.lang, std::string("role_") + toString(u.role)));
            me->set("scope", u.agencyName.empty() ? t(v.lang, "scope_all") : u.agencyName);
            me->set("admin", u.role == Role::Admin);
            me->set("can_change", u.role != Role::Analyst);
            data->set("me", me);
            data->set("csrf", v.session->csrf);
        }
        HttpResponse out = HttpResponse::html(rt_.templates().render(name, data), status);
        out.header("Cache-Control", "no-store");
        out.header("Content-Security-Policy", kPolicy);
        if (!v.setCookie.empty()) out.header("Set-Cookie", v.setCookie);
        return out;
    }

    static HttpResponse toSignIn(const HttpRequest& r) {
        std::string next;
        Poco::URI::encode(r.path, "&=?#+", next);
        return HttpResponse::redirect("/console/signin?next=" + next);
    }

    using Handler = std::function<HttpResponse(const HttpRequest&, const Visit&, const Caller&)>;
    using PostHandler =
        std::function<HttpResponse(const HttpRequest&, const Visit&, const Caller&, const Form&)>;
    // A page for signed-in users (sign-in first otherwise; a new password first when due).
    void get(const std::string& path, Handler h);
    // A form of a signed-in user: its key checked before the handler runs.
    void post(const std::string& path, PostHandler h, std::size_t maxBody = 64 * 1024);

    /// A page of the directory ("agencies", "counters", "officers", "devices") or "users": its
    /// list in the caller's subtree and its form; `notice` and `error` say what just happened.
    HttpResponse listPage(const std::string& kind, const Visit& v, const Caller& who,
                          const std::string& notice, const std::string& error, int status = 200,
                          const Form* typed = nullptr) const;
    HttpResponse auditPage(const HttpRequest& r, const Visit& v, const Caller& who) const;
    /// A survey's versions and its editor: `text` in the editor, with the result of a check,
    /// a preview, or a publication.
    HttpResponse surveyPage(const std::string& id, const Visit& v, const std::string& text,
                            Object::Ptr extra, int status = 200) const;
    void surveyRoutes();
    /// /console/alerts: the open alerts, the rules (and their form), the history.
    void alertRoutes();
    /// /console/cases: follow-up cases of the caller's subtree; /console/cases/{id}: one case
    /// and the forms that handle it (web/console/CasePages.cpp).
    void caseRoutes();
    HttpResponse casesPage(const HttpRequest& r, const Visit& v, const Caller& who,
                           const std::string& notice, const std::string& error,
                           int status = 200) const;
    HttpResponse casePage(const cases::Case& c, const Visit& v, const Caller& who,
                          const std::string& notice, const std::string& error,
                          int status = 200) const;
    Poco::JSON::Object::Ptr caseView(const cases::Case& c, const Visit& v) const;
    /// /console/webhooks: the subscriptions of the caller's subtree (a paused one with why and
    /// what to do) and the form that adds one; /console/webhooks/{id}: one subscription and its
    /// delivery log; pause, resume and delete (web/console/WebhookPages.cpp).
    void webhookRoutes();
    HttpResponse webhooksPage(const Visit& v, const Caller& who, const std::string& notice,
                              const std::string& error, int status = 200,
                              const Form* typed = nullptr) const;
    /// One subscription; `secret` (shown once, after creation) and a confirmation of its
    /// deletion when asked.
    HttpResponse webhookPage(const WebhookSubscription& w, const Visit& v, const Caller& who,
                             const std::string& notice, const std::string& error, int status = 200,
                             const std::string& secret = "", bool confirmDelete = false) const;
    Poco::JSON::Object::Ptr webhookView(const WebhookSubscription& w, const Visit& v) const;
    /// The subscription `id` names if the caller's subtree holds it; Problem(404) otherwise
    /// (unknown and out of scope look the same).
    WebhookSubscription visibleWebhook(const std::string& id, const Caller& who) const;
    /// How many subscriptions of the caller's subtree are paused (the alerts page says so).
    std::size_t pausedWebhooks(const Caller& who) const;
    /// A receiver's error (as the feed wrote it) in the visitor's words.
    std::string deliveryError(const std::string& raw, const std::string& lang) const;
    /// problemText() with the webhook form's labels in place of its field names.
    std::string webhookProblemText(const std::string& lang, const Problem& p) const;
    /// /console/exports: an export asked for runs in the background; its file is downloaded
    /// when done.
    void exportRoutes();
    HttpResponse exportsPage(const Visit& v, const Caller& who, const std::string& error,
                             int status = 200) const;
    /// /console/import with `data` (a report, an error) and the surveys paper forms may be for.
    HttpResponse importPage(const Visit& v, Object::Ptr data, int status = 200) const {
        data->set("survey_options", surveyOptions(v));
        return page("import", v, data, status);
    }
    /// The rejected rows of an import, with their line, code and reasons in `lang`.
    void addRejected(Object::Ptr out, const std::vector<ImportRejection>& rows,
                     const std::string& lang) const {
        Array::Ptr rejected = new Array;
        for (const ImportRejection& x : rows) {
            Object::Ptr o = new Object;
            o->set("line", x.line);
            o->set("code", x.code);
            std::string why;
            for (const FieldError& e : x.errors)
                why += (why.empty() ? "" : " ") + (e.field.empty() ? "" : e.field + ": ") +
                       rt_.messages().text(lang, e.code, e.params);
            o->set("why", why);
            rejected->add(o);
        }
        out->set("rejected", rejected);
        out->set("has_rejected", rejected->size() > 0);
    }
    Array::Ptr surveyOptions(const Visit& v) const {
        Array::Ptr out = new Array;
        for (const auto& s : rt_.surveys().list()) {
            Object::Ptr o = new Object;
            o->set("id", s->id);
            o->set("label", s->id + " — " +
                                (s->title.count(v.lang) ? s->title.at(v.lang) : s->title.at("vi")));
            out->add(o);
        }
        return out;
    }
    HttpResponse alertsPage(const Visit& v, const Caller& who, std::int64_t editing,
                            const std::string& notice, const std::string& error, int status = 200,
                            const Form* typed = nullptr) const;
    HttpResponse signInPage(const HttpRequest& r, const Visit& v, const std::string& error,
                            int status) const;
    Array::Ptr agencyOptions(const Caller& who, const std::string& selected) const;
    ListQuery scoped(const Caller& who) const {
        ListQuery q;
        q.agencyCode = who.scopeCode;
        q.limit = 1000;
        return q;
    }
    /// Saves what a directory form describes, if the caller may; audited.
    std::string saveDirectory(const std::string& kind, const Form& form, const Caller& who,
                              const HttpRequest& r);

    Runtime& rt_;
    std::map<std::string, Object::Ptr> strings_;
    bool secure_ = false;
    mutable AddressThrottle throttle_;
};

}  // namespace hailong::console

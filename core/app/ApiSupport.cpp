#include "app/ApiSupport.h"

#include "app/Runtime.h"
#include "common/Clock.h"
#include "http/JsonInput.h"
#include "index/Periods.h"

#include <hailong/Hmac.h>
#include <hailong/Problem.h>
#include <algorithm>

namespace hailong {

bool hasToken(const Runtime& rt, const HttpRequest& request) {
    const std::string header = request.header("authorization");
    const std::string& token = rt.apiToken();
    const std::string given = header.starts_with("Bearer ") ? header.substr(7) : std::string();
    unsigned char diff = given.size() == token.size() ? 0 : 1;
    for (std::size_t i = 0; i < given.size() && i < token.size(); ++i)
        diff |= static_cast<unsigned char>(given[i] ^ token[i]);
    return !token.empty() && diff == 0;
}

void requireToken(const Runtime& rt, const HttpRequest& request, const char* code) {
    if (hasToken(rt, request)) return;
    Problem p(401, code);
    p.headers.emplace_back("WWW-Authenticate", "Bearer");
    throw p;
}

int queryInteger(const std::string& name, const std::string& text, int min, int max) {
    try {
        std::size_t used = 0;
        const int n = std::stoi(text, &used);
        if (used == text.size() && n >= min && n <= max) return n;
    } catch (const std::exception&) {
    }
    throw Problem(400, "query.integer",
                  {{"name", name}, {"min", std::to_string(min)}, {"max", std::to_string(max)}});
}

std::int64_t queryDay(const std::string& name, const std::string& text) {
    if (auto d = index::parseDay(text)) return *d;
    throw Problem(400, "query.date", {{"name", name}, {"value", text}});
}

Poco::JSON::Object::Ptr localized(const LocalizedText& text) {
    Poco::JSON::Object::Ptr o = new Poco::JSON::Object;
    for (const auto& [lang, value] : text) o->set(lang, value);
    return o;
}

ListQuery listQuery(const HttpRequest& r) {
    ListQuery q;
    q.agencyCode = r.queryParam("agency").value_or("");
    q.search = r.queryParam("q").value_or("");
    if (q.search.size() > 200) throw Problem(400, "field.too_long", {{"max", "200"}});
    auto integer = [&](const char* name, int def, int min, int max) {
        auto v = r.queryParam(name);
        return v ? queryInteger(name, *v, min, max) : def;
    };
    q.limit = integer("limit", 100, 1, 1000);
    q.offset = integer("offset", 0, 0, 100000000);
    auto time = [&](const char* name) -> std::optional<std::int64_t> {
        auto v = r.queryParam(name);
        if (!v) return std::nullopt;
        auto ms = parseTimeMs(*v);
        if (!ms) throw Problem(400, "query.time", {{"name", name}, {"value", *v}});
        return ms;
    };
    q.fromMs = time("from");
    q.toMs = time("to");
    return q;
}

std::string Caller::actor() const {
    if (session) return "user:" + session->user.username;
    if (key) return "apikey:" + key->name;
    return "token";
}

Caller caller(Runtime& rt, const HttpRequest& r) {
    if (hasToken(rt, r)) return Caller{true, std::nullopt, std::nullopt, "", "", 0};
    const std::string header = r.header("authorization");
    if (header.starts_with("Bearer "))
        if (auto key = rt.apiKeys().authenticate(header.substr(7)))
            return Caller{false,           key,          std::nullopt, key->agencyPath,
                          key->agencyCode, key->agencyId};
    if (header.empty())
        if (auto signedIn = rt.sessions().find(r.cookie(kSessionCookie), nowMs())) {
            const bool reads = r.method == "GET" || r.method == "HEAD";
            if (!reads && !sameSecret(r.header("x-csrf-token"), signedIn->csrf))
                throw Problem(403, "auth.csrf");
            return callerOf(*signedIn);
        }
    // No credentials at all is a different mistake from a wrong or revoked key.
    Problem p(401, header.empty() ? "auth.credentials_required" : "apikey.invalid");
    p.headers.emplace_back("WWW-Authenticate", "Bearer");
    throw p;
}

Caller callerOf(const SignIn& session) {
    const User& u = session.user;
    Caller who;
    who.admin = u.role == Role::Admin;
    who.session = session;
    who.scopePath = u.agencyPath;
    who.scopeCode = u.agencyCode;
    who.scopeAgencyId = u.agencyId.value_or(0);
    return who;
}

bool inScope(Runtime& rt, const Caller& who, std::int64_t agencyId) {
    if (who.admin || who.scopePath.empty()) return who.admin;
    auto a = rt.directory().agencyById(agencyId);
    return a && a->path.starts_with(who.scopePath);
}

void requireScope(Runtime& rt, const HttpRequest& r, std::int64_t agencyId) {
    requireScope(rt, caller(rt, r), agencyId);
}

void requireScope(Runtime& rt, const Caller& who, std::int64_t agencyId) {
    if (inScope(rt, who, agencyId)) return;
    auto a = rt.directory().agencyById(agencyId);
    throw Problem(403, who.session ? "auth.out_of_scope" : "apikey.out_of_scope",
                  {{"scope", who.scopeCode}, {"code", a ? a->code : "?"}});
}

Caller requireWriter(Runtime& rt, const HttpRequest& r, std::optional<std::int64_t> agencyId,
                     bool keysMay) {
    Caller who = caller(rt, r);
    requireWriter(rt, who, agencyId, keysMay);
    return who;
}

void requireWriter(Runtime& rt, const Caller& who, std::optional<std::int64_t> agencyId,
                   bool keysMay) {
    if (who.admin) return;
    if (who.key && !keysMay) throw Problem(403, "auth.token_required");
    if (who.readOnly()) throw Problem(403, "auth.read_only");
    if (!agencyId) throw Problem(403, "auth.admin_only");
    if (!inScope(rt, who, *agencyId)) {
        auto a = rt.directory().agencyById(*agencyId);
        throw Problem(403, who.session ? "auth.out_of_scope" : "apikey.out_of_scope",
                      {{"scope", who.scopeCode}, {"code", a ? a->code : "?"}});
    }
}

void audit(Runtime& rt, const HttpRequest& r, const Caller& who, const std::string& action,
           const std::string& kind, const std::string& code, std::optional<std::int64_t> agencyId,
           const std::string& before, const std::string& after) {
    AuditEntry e;
    e.actor = who.actor();
    if (who.session) e.userId = who.session->user.id;
    e.address = r.remoteAddress;
    e.requestId = r.requestId;
    e.action = action;
    e.kind = kind;
    e.code = code;
    if (agencyId)
        if (auto a = rt.directory().agencyById(*agencyId)) e.agencyPath = a->path;
    e.before = before;
    e.after = after;
    rt.audit().record(std::move(e));
}

void finishBody(JsonInput& in, const std::function<void()>& check, const std::string& code) {
    std::vector<FieldError> errors;
    try {
        in.finish(code);
    } catch (const Problem& p) {
        errors = p.errors();
    }
    try {
        check();
    } catch (const Problem& p) {
        if (p.status() != 422) throw;
        for (const FieldError& f : p.errors())
            if (std::none_of(errors.begin(), errors.end(),
                             [&](const FieldError& x) { return x.field == f.field; }))
                errors.push_back(f);
    }
    if (!errors.empty()) throw Problem(422, code, {}, std::move(errors));
}

}  // namespace hailong

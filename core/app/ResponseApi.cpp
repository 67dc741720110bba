#include "app/ResponseApi.h"

#include "app/ApiSupport.h"
#include "app/Runtime.h"
#include "common/Clock.h"

#include <Poco/Data/RecordSet.h>
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>

#include <map>

using namespace Poco::Data::Keywords;
using Poco::Data::Session;
using Poco::JSON::Array;
using Poco::JSON::Object;

namespace hailong {
namespace {

// Responses matching `where` (conditions on r, a, c, dv with $1.. bound from `values`),
// newest first, with their answers.
Array::Ptr readResponses(Runtime& rt, const std::string& where,
                         const std::vector<std::string>& values, int limit,
                         bool oldestFirst = false) {
    return rt.database().read([&](Session& s) {
        Poco::Data::Statement st(s);
        st << "SELECT r.id, r.receipt, r.survey_id, r.survey_version, r.channel, r.language, "
              "a.code, c.code, o.code, p.code, d.code, dv.code, r.comment_raw, r.answered_at, "
              "r.received_at, r.device_at FROM responses r "
              "LEFT JOIN agencies a ON a.id = r.agency_id "
              "LEFT JOIN counters c ON c.id = r.counter_id "
              "LEFT JOIN officers o ON o.id = r.officer_id "
              "LEFT JOIN procedures p ON p.id = r.procedure_id "
              "LEFT JOIN dossiers d ON d.id = r.dossier_id "
              "LEFT JOIN devices dv ON dv.id = r.device_id WHERE " +
                  where + " ORDER BY r.id " + (oldestFirst ? "ASC" : "DESC") + " LIMIT " +
                  std::to_string(limit);
        std::vector<std::string> bound = values;
        for (std::string& v : bound) st, use(v);
        st.execute();
        Poco::Data::RecordSet rs(st);
        Array::Ptr out = new Array;
        std::map<std::int64_t, Object::Ptr> byId;
        std::string ids;
        auto text = [&](std::size_t c) {
            return rs.value(c).isEmpty() ? Poco::Dynamic::Var()
                                         : Poco::Dynamic::Var(rs.value(c).convert<std::string>());
        };
        for (bool more = rs.moveFirst(); more; more = rs.moveNext()) {
            Object::Ptr o = new Object;
            const auto id = rs.value(0).convert<std::int64_t>();
            o->set("receipt", rs.value(1).convert<std::string>());
            o->set("survey", rs.value(2).convert<std::string>());
            o->set("version", rs.value(3).convert<int>());
            o->set("channel", rs.value(4).convert<std::string>());
            o->set("language", rs.value(5).convert<std::string>());
            o->set("agency", text(6));
            o->set("counter", text(7));
            o->set("officer", text(8));
            o->set("procedure", text(9));
            o->set("dossier", text(10));
            o->set("device", text(11));
            o->set("comment", rs.value(12).convert<std::string>());
            o->set("answered_at", formatTimeMs(rs.value(13).convert<std::int64_t>()));
            o->set("received_at", formatTimeMs(rs.value(14).convert<std::int64_t>()));
            if (!rs.value(15).isEmpty())
                o->set("device_at", formatTimeMs(rs.value(15).convert<std::int64_t>()));
            o->set("answers", Object::Ptr(new Object));
            byId[id] = o;
            ids += (ids.empty() ? "" : ",") + std::to_string(id);
            out->add(o);
        }
        if (ids.empty()) return out;
        std::vector<std::int64_t> responseIds;
        std::vector<std::string> questions, texts;
        s << "SELECT response_id, question_id, value_text FROM answers WHERE response_id IN (" +
                 ids + ") ORDER BY response_id, question_id, position",
            into(responseIds), into(questions), into(texts), now;
        for (std::size_t i = 0; i < responseIds.size(); ++i) {
            Object::Ptr answers = byId[responseIds[i]]->getObject("answers");
            Array::Ptr list = answers->getArray(questions[i]);
            if (!list) {
                list = new Array;
                answers->set(questions[i], list);
            }
            list->add(texts[i]);
        }
        return out;
    });
}

}  // namespace

void registerResponseApi(Runtime& rt) {
    // The newest responses: ?survey= ?channel= ?agency= (its subtree) ?counter= ?device=
    // ?limit= (at most 500). An API key sees its own subtree.
    rt.routes().add("GET", "/api/v1/responses", [&rt](const HttpRequest& r) {
        const Caller who = caller(rt, r);
        std::string where = "1 = 1";
        std::vector<std::string> values;
        auto filter = [&](const char* param, const std::string& column) {
            if (auto v = r.queryParam(param)) {
                values.push_back(*v);
                where += " AND " + column + " = $" + std::to_string(values.size());
            }
        };
        filter("survey", "r.survey_id");
        filter("channel", "r.channel");
        filter("counter", "c.code");
        filter("device", "dv.code");
        std::string scope = who.scopePath;
        if (auto code = r.queryParam("agency")) {
            auto a = rt.directory().agency(*code);
            if (!a)
                throw Problem(404, "directory.not_found", {{"kind", "agency"}, {"code", *code}});
            if (!a->path.starts_with(scope))
                throw Problem(403, who.session ? "auth.out_of_scope" : "apikey.out_of_scope",
                              {{"scope", who.scopeCode}, {"code", *code}});
            scope = a->path;
        }
        if (!scope.empty()) {
            values.push_back(scope + "%");
            where += " AND a.path LIKE $" + std::to_string(values.size());
        }
        // ?since=TIME: those received from then on, oldest first (to page through a gap: the
        // next page starts at the last one's received_at; receipts repeat at the boundary).
        const auto since = r.queryParam("since");
        if (since) {
            const auto ms = parseTimeMs(*since);
            if (!ms) throw Problem(400, "query.time", {{"name", "since"}, {"value", *since}});
            values.push_back(std::to_string(*ms));
            where += " AND r.received_at >= CAST($" + std::to_string(values.size()) + " AS BIGINT)";
        }
        const int limit = queryInteger("limit", r.queryParam("limit").value_or("50"), 1, 500);
        Object::Ptr body = new Object;
        body->set("items", readResponses(rt, where, values, limit, since.has_value()));
        return HttpResponse::json(body);
    });
    rt.routes().add("GET", "/api/v1/responses/{receipt}", [&rt](const HttpRequest& r) {
        const Caller who = caller(rt, r);
        std::vector<std::string> values{r.param("receipt")};
        std::string where = "r.receipt = $1";
        if (!who.scopePath.empty()) {
            values.push_back(who.scopePath + "%");
            where += " AND a.path LIKE $2";
        }
        Array::Ptr found = readResponses(rt, where, values, 1);
        if (found->size() == 0)
            throw Problem(404, "response.not_found", {{"receipt", r.param("receipt")}});
        return HttpResponse::json(found->getObject(0));
    });
}

}  // namespace hailong

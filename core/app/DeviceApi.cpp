#include "app/DeviceApi.h"

#include "app/ApiSupport.h"
#include "app/Runtime.h"
#include "common/Clock.h"
#include "http/JsonInput.h"
#include "ingest/SubmissionJson.h"

#include <Poco/Data/RecordSet.h>
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/Nullable.h>

using namespace Poco::Data::Keywords;
using Poco::Data::Session;
using Poco::JSON::Array;
using Poco::JSON::Object;

namespace hailong {
namespace {

// The device of the route, if the caller may see it (or, for a change, make it).
struct DeviceInScope {
    Device device;
    Caller who;
    std::int64_t agencyId = 0;
};
DeviceInScope deviceInScope(Runtime& rt, const HttpRequest& r, bool change) {
    // Who asks comes first: a stranger is not told which device codes exist.
    const Caller who = caller(rt, r);
    const std::string& code = r.param("code");
    auto device = rt.directory().device(code);
    if (!device) throw Problem(404, "device.not_found", {{"code", code}});
    auto counter = rt.directory().counterById(device->counterId);
    if (!counter) throw std::logic_error("a device without its counter");
    if (change)
        requireWriter(rt, who, counter->agencyId, true);
    else
        requireScope(rt, who, counter->agencyId);
    return {*device, who, counter->agencyId};
}
void audited(Runtime& rt, const HttpRequest& r, const DeviceInScope& d, const char* action) {
    audit(rt, r, d.who, action, "device", d.device.code, d.agencyId, "", "");
}

Object::Ptr officerJson(const Officer& o) {
    Object::Ptr out = new Object;
    out->set("code", o.code);
    out->set("name", o.name);
    out->set("title", o.title);
    return out;
}

Object::Ptr sessionJson(const DeviceSession& s) {
    Object::Ptr out = new Object;
    out->set("device", s.device.code);
    out->set("status", s.device.status);
    out->set("counter", s.counter.code);
    out->set("agency", s.agency.code);
    if (s.device.lastSeenAtMs) out->set("last_seen_at", formatTimeMs(*s.device.lastSeenAtMs));
    out->set("officer",
             s.officer ? Poco::Dynamic::Var(officerJson(*s.officer)) : Poco::Dynamic::Var());
    return out;
}

// ---- held submissions ------------------------------------------------------------------------

struct Held {
    std::int64_t id = 0, receivedAt = 0;
    std::string receipt, reason, channel, surveyId, status, payload;
    std::optional<std::int64_t> agencyId, deviceId, responseId, decidedAt;
};

// Held submissions whose `column` equals `value`, oldest first; only those of agencies under
// `scope` (a path) when it is given.
std::vector<Held> readHeld(Runtime& rt, const std::string& column, const std::string& value,
                           int limit, const std::string& scope = "") {
    return rt.database().read([&](Session& s) {
        Poco::Data::Statement st(s);
        std::string v = value, under = scope + "%";
        st << "SELECT h.id, h.receipt, h.reason, h.channel, h.survey_id, h.status, h.payload, "
              "h.received_at, h.agency_id, h.device_id, h.response_id, h.decided_at FROM "
              "held_submissions h LEFT JOIN agencies a ON a.id = h.agency_id WHERE h." +
                  column + " = $1" + (scope.empty() ? "" : " AND a.path LIKE $2") +
                  " ORDER BY h.id LIMIT " + std::to_string(limit),
            use(v);
        if (!scope.empty()) st, use(under);
        st.execute();
        Poco::Data::RecordSet rs(st);
        std::vector<Held> out;
        for (bool more = rs.moveFirst(); more; more = rs.moveNext()) {
            Held h;
            h.id = rs.value(0).convert<std::int64_t>();
            h.receipt = rs.value(1).convert<std::string>();
            h.reason = rs.value(2).convert<std::string>();
            h.channel = rs.value(3).convert<std::string>();
            h.surveyId = rs.value(4).convert<std::string>();
            h.status = rs.value(5).convert<std::string>();
            h.payload = rs.value(6).convert<std::string>();
            h.receivedAt = rs.value(7).convert<std::int64_t>();
            auto opt = [&](std::size_t c) -> std::optional<std::int64_t> {
                if (rs.value(c).isEmpty()) return std::nullopt;
                return rs.value(c).convert<std::int64_t>();
            };
            h.agencyId = opt(8), h.deviceId = opt(9), h.responseId = opt(10), h.decidedAt = opt(11);
            out.push_back(std::move(h));
        }
        return out;
    });
}

Object::Ptr heldJson(Runtime& rt, const Held& h) {
    const Submission sub = submissionFromJson(h.payload);
    Object::Ptr o = new Object;
    o->set("id", h.id);
    o->set("receipt", h.receipt);
    o->set("reason", h.reason);
    o->set("status", h.status);
    o->set("channel", h.channel);
    o->set("survey", h.surveyId);
    o->set("device", sub.deviceCode);
    o->set("counter", sub.counterCode);
    if (h.agencyId)
        if (auto a = rt.directory().agencyById(*h.agencyId)) o->set("agency", a->code);
    o->set("received_at", formatTimeMs(h.receivedAt));
    o->set("answered_at", formatTimeMs(sub.answeredAtMs));
    if (sub.deviceAtMs) o->set("device_at", formatTimeMs(*sub.deviceAtMs));
    Object::Ptr answers = new Object;
    for (const Answer& a : sub.answers) {
        if (a.number)
            answers->set(a.question, *a.number);
        else if (!a.choices.empty()) {
            Array::Ptr c = new Array;
            for (const auto& x : a.choices) c->add(x);
            answers->set(a.question, c);
        } else {
            answers->set(a.question, a.text);
        }
    }
    o->set("answers", answers);
    if (h.decidedAt) o->set("decided_at", formatTimeMs(*h.decidedAt));
    if (h.responseId) o->set("response_id", *h.responseId);
    return o;
}

// A held submission the caller may decide on, and who decides.
std::pair<Held, Caller> heldInScope(Runtime& rt, const HttpRequest& r) {
    (void)caller(rt, r);  // who asks comes first: a stranger learns nothing of what exists
    const std::string& id = r.param("id");
    const int n = queryInteger("id", id, 1, 2000000000);
    auto found = readHeld(rt, "id", std::to_string(n), 1);
    if (found.empty()) throw Problem(404, "held.not_found", {{"id", id}});
    return {found.front(), requireWriter(rt, r, found.front().agencyId, true)};
}

// Gives a released response the receipt its submission got when it was held (if that code is
// free among responses; the drawn one stays otherwise).
bool keepReceipt(Runtime& rt, std::int64_t responseId, const std::string& receipt) {
    return rt.database().write([&](Session& s) {
        std::string code = receipt;
        int taken = 0;
        s << "SELECT COUNT(*) FROM responses WHERE receipt = $1", use(code), into(taken), now;
        if (taken == 0)
            s << "UPDATE responses SET receipt = $1 WHERE id = $2", use(code), bind(responseId),
                now;
        return taken == 0;
    });
}

// Marks a held submission decided, once: a second decision on it is a conflict.
void decide(Runtime& rt, const Held& h, const std::string& status,
            std::optional<std::int64_t> responseId) {
    rt.database().write([&](Session& s) {
        const std::int64_t at = nowMs(), id = h.id;
        std::string st = status;
        Poco::Nullable<std::int64_t> response;
        if (responseId) response = *responseId;
        Poco::Data::Statement update(s);
        update << "UPDATE held_submissions SET status = $1, decided_at = $2, response_id = $3 "
                  "WHERE id = $4 AND status = 'held'",
            use(st), bind(at), use(response), bind(id);
        if (update.execute() == 0)
            throw Problem(409, "held.already_decided", {{"id", std::to_string(h.id)}});
    });
}

}  // namespace

void registerDeviceApi(Runtime& rt) {
    RouteTable& routes = rt.routes();
    DeviceRegistry& devices = rt.devices();
    routes.add("POST", "/api/v1/devices/{code}/pairing", [&rt, &devices](const HttpRequest& r) {
        const auto in = deviceInScope(rt, r, true);
        const Device& d = in.device;
        const PairingCode code = devices.issuePairing(d.code);
        audited(rt, r, in, "pairing_code");
        Object::Ptr out = new Object;
        out->set("device", d.code);
        out->set("pairing_code", code.code);
        out->set("expires_at", formatTimeMs(code.expiresAtMs));
        out->set("pair_at", "/c/counter/");
        return HttpResponse::json(out, 201);
    });
    routes.add("POST", "/api/v1/devices/{code}/revoke", [&rt, &devices](const HttpRequest& r) {
        const auto in = deviceInScope(rt, r, true);
        devices.revoke(in.device.code);
        audited(rt, r, in, "revoke");
        return HttpResponse::noContent();
    });
    routes.add("GET", "/api/v1/devices/{code}/session", [&rt, &devices](const HttpRequest& r) {
        const Device d = deviceInScope(rt, r, false).device;
        auto s = devices.session(d.code);
        if (!s) throw Problem(404, "device.not_found", {{"code", d.code}});
        return HttpResponse::json(sessionJson(*s));
    });
    routes.add("PUT", "/api/v1/devices/{code}/shift", [&rt, &devices](const HttpRequest& r) {
        const auto d = deviceInScope(rt, r, true);
        JsonInput in(r.jsonObject());
        const std::string officer = in.text("officer", 64, true).value_or("");
        in.finish("request.invalid");
        const Officer o = devices.startShift(d.device.code, officer);
        audited(rt, r, d, "shift_start");
        return HttpResponse::json(officerJson(o));
    });
    routes.add("DELETE", "/api/v1/devices/{code}/shift", [&rt, &devices](const HttpRequest& r) {
        const auto d = deviceInScope(rt, r, true);
        devices.endShift(d.device.code);
        audited(rt, r, d, "shift_end");
        return HttpResponse::noContent();
    });
    routes.add("PUT", "/api/v1/officers/{code}/pin", [&rt, &devices](const HttpRequest& r) {
        const Caller who = caller(rt, r);
        const std::string& code = r.param("code");
        auto officer = rt.directory().officer(code);
        if (!officer) throw Problem(404, "officer.not_found", {{"code", code}});
        requireWriter(rt, who, officer->agencyId, true);
        JsonInput in(r.jsonObject());
        const std::string pin = in.text("pin", 8).value_or("");
        in.finish("request.invalid");
        devices.setPin(officer->code, pin);
        audit(rt, r, who, pin.empty() ? "pin_remove" : "pin_set", "officer", officer->code,
              officer->agencyId, "", "");
        return HttpResponse::noContent();
    });

    routes.add("GET", "/api/v1/held", [&rt](const HttpRequest& r) {
        const Caller who = caller(rt, r);
        const std::string status = r.queryParam("status").value_or("held");
        if (status != "held" && status != "released" && status != "discarded")
            throw Problem(400, "request.invalid", {},
                          {{"status", "field.one_of", {{"allowed", "held, released, discarded"}}}});
        const int limit = queryInteger("limit", r.queryParam("limit").value_or("100"), 1, 1000);
        Array::Ptr items = new Array;
        for (const Held& h : readHeld(rt, "status", status, limit, who.scopePath))
            items->add(heldJson(rt, h));
        Object::Ptr out = new Object;
        out->set("items", items);
        return HttpResponse::json(out);
    });
    routes.add("POST", "/api/v1/held/{id}/release", [&rt](const HttpRequest& r) {
        const auto [h, who] = heldInScope(rt, r);
        if (h.status != "held")
            throw Problem(409, "held.already_decided", {{"id", std::to_string(h.id)}});
        // Counted under its own key: a copy that reached the responses meanwhile counts once.
        const Receipt receipt = rt.ingest().submit(submissionFromJson(h.payload));
        // The device (or the citizen) was given the held receipt: the response keeps it.
        const bool kept = !receipt.duplicate && keepReceipt(rt, receipt.responseId, h.receipt);
        decide(rt, h, "released", receipt.responseId);
        audit(rt, r, who, "release", "held", std::to_string(h.id), h.agencyId, "", "");
        Object::Ptr out = new Object;
        out->set("id", h.id);
        out->set("status", "released");
        out->set("response_id", receipt.responseId);
        out->set("receipt", kept ? h.receipt : receipt.code);
        out->set("duplicate", receipt.duplicate);
        return HttpResponse::json(out);
    });
    routes.add("POST", "/api/v1/held/{id}/discard", [&rt](const HttpRequest& r) {
        const auto [h, who] = heldInScope(rt, r);
        decide(rt, h, "discarded", std::nullopt);
        audit(rt, r, who, "discard", "held", std::to_string(h.id), h.agencyId, "", "");
        return HttpResponse::noContent();
    });
}

}  // namespace hailong

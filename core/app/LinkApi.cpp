#include "app/LinkApi.h"

#include "app/ApiSupport.h"
#include "app/Runtime.h"
#include "links/QrSvg.h"

#include <hailong/Problem.h>

#include <Poco/JSON/Object.h>

namespace hailong {

void registerLinkApi(Runtime& rt) {
    rt.routes().add("GET", "/api/v1/dossiers/{code}/survey-link", [&rt](const HttpRequest& r) {
        const std::string& code = r.param("code");
        const auto dossier = rt.directory().dossier(code);
        // Who may not see the dossier is told only that (not whether it exists).
        caller(rt, r);
        if (!dossier)
            throw Problem(404, "directory.not_found", {{"kind", "dossier"}, {"code", code}});
        requireScope(rt, r, dossier->agencyId);
        const std::string surveyId =
            r.queryParam("survey").value_or(rt.config().getString("links.survey"));
        const auto survey = rt.surveys().find(surveyId);
        if (!survey || survey->status != "published")
            throw Problem(404, "survey.not_found", {{"id", surveyId.substr(0, 64)}});
        if (!survey->allowsChannel("web"))
            throw Problem(422, "link.survey_not_web", {{"survey", survey->id}});
        const std::string format = r.queryParam("format").value_or("json");
        if (format != "json" && format != "svg")
            throw Problem(400, "query.one_of", {{"name", "format"}, {"allowed", "json, svg"}});
        const std::string token = rt.links().token(dossier->code, survey->id);
        const std::string url = rt.links().url(token);
        QrSvgOptions qr;
        qr.title = (r.language == "en" ? "Survey link for dossier " : "Đường dẫn khảo sát hồ sơ ") +
                   dossier->code;
        const std::string svg = qrSvg(url, qr);
        if (format == "svg") {
            HttpResponse out;
            out.contentType = "image/svg+xml";
            out.body = svg;
            return out;
        }
        Poco::JSON::Object::Ptr body = new Poco::JSON::Object;
        body->set("dossier", dossier->code);
        body->set("survey", survey->id);
        body->set("token", token);
        body->set("url", url);
        body->set("qr_svg", svg);
        body->set("answered", rt.ingest().answered(dossier->code, survey->id).has_value());
        return HttpResponse::json(body);
    });
}

}  // namespace hailong

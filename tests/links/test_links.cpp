// Tests for signed survey links: a token names its dossier and survey, cannot be changed or
// forged, is the same on every host of one database, and becomes the URL citizens open.
#include "links/SurveyLinkService.h"

#include "support/TestSupport.h"

#include <catch2/catch.hpp>

using namespace hailong;

TEST_CASE("links: a token names its dossier and survey, and nothing else reads", "[links]") {
    test::onEachBackend([](Backend b) {
        test::TestDatabase tdb(b);
        Database& db = tdb.migrated();
        SurveyLinkService links(db, [] { return std::string("https://hl.example.vn"); });
        const std::string token = links.token("XA-250304-00001", "sipas-2017");
        CHECK(token.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                      "0123456789-_.") == std::string::npos);
        const auto link = links.read(token);
        REQUIRE(link);
        CHECK(link->dossierCode == "XA-250304-00001");
        CHECK(link->surveyId == "sipas-2017");
        CHECK(links.token("XA-250304-00001", "sipas-2017") == token);
        CHECK(links.token("XA-250304-00002", "sipas-2017") != token);
        CHECK(links.token("XA-250304-00001", "dossier-tt01") != token);
        CHECK(links.url(token) == "https://hl.example.vn/s/t/" + token);

        // Another host of the same database reads it (one key for all); every changed
        // character, a cut and a foreign signature do not.
        SurveyLinkService other(db, [] { return std::string(); });
        CHECK(other.read(token));
        for (std::size_t i = 0; i < token.size(); ++i) {
            std::string changed = token;
            changed[i] = changed[i] == 'A' ? 'B' : 'A';
            INFO("character " << i);
            CHECK_FALSE(links.read(changed));
        }
        CHECK_FALSE(links.read(token.substr(0, token.size() - 1)));
        CHECK_FALSE(links.read(token.substr(0, token.find('.'))));
        CHECK_FALSE(links.read(""));
        CHECK_FALSE(links.read("."));
        CHECK_FALSE(links.read(std::string(300, 'A')));
        test::TestDatabase elsewhere(b);
        SurveyLinkService foreign(elsewhere.migrated(), [] { return std::string(); });
        CHECK_FALSE(foreign.read(token));

        CHECK_THROWS_AS(links.token("", "sipas-2017"), std::invalid_argument);
        CHECK_THROWS_AS(links.token("XA 1", "sipas-2017"), std::invalid_argument);
        CHECK_THROWS_AS(links.token(std::string(65, 'X'), "sipas-2017"), std::invalid_argument);
    });
}

// Tests for core/common and core/text: UTF-8, times, CSV, message catalogs, normalization.
#include "common/Clock.h"
#include "common/MessageCatalog.h"
#include "common/Utf8.h"
#include "directory/Csv.h"
#include "support/TestSupport.h"
#include "text/IcuTextNormalizer.h"

#include <hailong/Problem.h>

#include <catch2/catch.hpp>

using namespace hailong;

TEST_CASE("UTF-8 validation finds the first bad byte") {
    CHECK(utf8::isValid("Hài lòng"));
    CHECK(utf8::isValid(""));
    CHECK(utf8::firstInvalid("ab\xff") == std::optional<std::size_t>(2));
    CHECK(utf8::firstInvalid("\xC0\xAF") == std::optional<std::size_t>(0));          // overlong '/'
    CHECK(utf8::firstInvalid("x\xED\xA0\x80") == std::optional<std::size_t>(1));     // surrogate
    CHECK(utf8::firstInvalid("\xF4\x90\x80\x80") == std::optional<std::size_t>(0));  // > U+10FFFF
    CHECK(utf8::firstInvalid("Hà\xE1\xBA") == std::optional<std::size_t>(3));        // truncated
    CHECK(utf8::length("Hài lòng") == 8);
    CHECK(utf8::shortened("Hài lòng", 8) == "Hài lòng");
    CHECK(utf8::shortened("Hài lòng", 2) == "Hà…");
    CHECK(utf8::shortened("Hài lòng", 0) == "…");
    CHECK(utf8::shortened("", 3).empty());
}

TEST_CASE("times from one-stop exports are read as Vietnam time") {
    // 2025-03-04 08:15 in UTC+7 is 01:15 UTC.
    const std::int64_t expected = 1741050900000;
    CHECK(parseTimeMs("2025-03-04T08:15:00+07:00") == expected);
    CHECK(parseTimeMs("2025-03-04 08:15") == expected);
    CHECK(parseTimeMs("2025-03-04T01:15:00Z") == expected);
    CHECK(parseTimeMs("04/03/2025 08:15") == expected);
    CHECK(parseTimeMs("4/3/2025 08:15:00") == expected);
    CHECK(parseTimeMs("1741050900000") == expected);
    CHECK(parseTimeMs("2025-03-04T01:15:00.250Z") == expected + 250);
    CHECK(parseTimeMs("04/03/2025") == expected - (8 * 3600 + 15 * 60) * 1000LL);
    CHECK_FALSE(parseTimeMs("31/02/2025"));
    CHECK_FALSE(parseTimeMs("2025-13-01"));
    CHECK_FALSE(parseTimeMs("hôm qua"));
    CHECK_FALSE(parseTimeMs(""));
    CHECK(formatTimeMs(expected) == "2025-03-04T01:15:00.000Z");
}

TEST_CASE("CSV reader handles quotes, BOM, delimiters and line numbers") {
    SECTION("quoted fields with commas, quotes and newlines") {
        CsvReader csv("code,name\nA,\"Sở \"\"Tư\"\" pháp, tỉnh\"\nB,\"hai\ndòng\"\r\nC,x\n");
        CsvRecord r;
        REQUIRE(csv.next(r));
        CHECK(r.line == 1);
        REQUIRE(csv.next(r));
        CHECK(r.line == 2);
        CHECK(r.fields == std::vector<std::string>{"A", "Sở \"Tư\" pháp, tỉnh"});
        REQUIRE(csv.next(r));
        CHECK(r.line == 3);
        CHECK(r.fields[1] == "hai\ndòng");
        REQUIRE(csv.next(r));
        CHECK(r.line == 5);
        CHECK(r.fields == std::vector<std::string>{"C", "x"});
        CHECK_FALSE(csv.next(r));
    }
    SECTION("semicolons (Excel in Vietnamese locale) and a BOM") {
        CsvReader csv("\xEF\xBB\xBFMã;Tên\nA;B,C\n");
        CHECK(csv.delimiter() == ';');
        CsvRecord r;
        REQUIRE(csv.next(r));
        CHECK(r.fields == std::vector<std::string>{"Mã", "Tên"});
        REQUIRE(csv.next(r));
        CHECK(r.fields == std::vector<std::string>{"A", "B,C"});
    }
    SECTION("an unterminated quote names its line") {
        CsvReader csv("a,b\nx,\"never closed\n");
        CsvRecord r;
        REQUIRE(csv.next(r));
        try {
            csv.next(r);
            FAIL("expected a Problem");
        } catch (const Problem& p) {
            CHECK(p.code() == "csv.unterminated_quote");
            CHECK(p.params().at("line") == "2");
        }
    }
}

TEST_CASE("message catalogs: Vietnamese first, placeholders, Accept-Language") {
    MessageCatalog m(test::sourceDir() + "/locale");
    CHECK(m.text("vi", "http.body_too_large", {{"max", "10"}}) ==
          "Nội dung gửi lên vượt quá giới hạn 10 byte.");
    CHECK(m.text("en", "http.body_too_large", {{"max", "10"}}) ==
          "The request body is larger than the 10-byte limit.");
    CHECK(m.text("fr", "field.required") == m.text("vi", "field.required"));
    CHECK(m.text("vi", "no.such.key") == "no.such.key");
    CHECK(m.pickLanguage("") == "vi");
    CHECK(m.pickLanguage("en-US,en;q=0.9") == "en");
    CHECK(m.pickLanguage("fr-FR,en;q=0.5,vi;q=0.8") == "vi");
    CHECK(m.pickLanguage("de") == "vi");
}

TEST_CASE("every message key exists in both languages with the same placeholders") {
    MessageCatalog m(test::sourceDir() + "/locale");
    // Rendering with no parameters keeps "{name}" visible: compare the sets of placeholders.
    for (const char* key : {"http.not_found", "field.range", "import.summary",
                            "directory.not_found", "submission.unknown_survey"}) {
        auto placeholders = [](const std::string& s) {
            std::set<std::string> out;
            for (std::size_t i = s.find('{'); i != std::string::npos; i = s.find('{', i + 1))
                out.insert(s.substr(i, s.find('}', i) - i + 1));
            return out;
        };
        CHECK(placeholders(m.text("vi", key)) == placeholders(m.text("en", key)));
    }
}

TEST_CASE("text normalizer: NFC, Đ, spaces and accent-free keys") {
    IcuTextNormalizer t;
    const std::string nfd = "Ho\xCC\x82\xCC\x80 so\xCC\x9B";  // "Hồ sơ" decomposed
    CHECK(t.normalize(nfd) == "Hồ sơ");
    CHECK(t.normalize("  rất   hài\tlòng \n") == "rất hài lòng");
    CHECK(t.normalize("\xC3\x90\xE1\xBB\x93ng") == "Đồng");  // U+00D0 read as Đ
    CHECK(t.key("Rất Hài Lòng") == "rat hai long");
    CHECK(t.key("Đường Trần Phú") == "duong tran phu");
    CHECK(t.key(nfd) == "ho so");
    CHECK_THROWS_AS(t.normalize("bad \xff"), Problem);
}

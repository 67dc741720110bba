// qrSvg: the shape of the SVG it writes, and real round trips through an SVG rasterizer
// (rsvg-convert) and a QR decoder (zbarimg), both installed by scripts/deps.sh test.
#include "links/QrSvg.h"
#include "support/TestSupport.h"

#include <catch2/catch.hpp>

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <future>
#include <iterator>
#include <stdexcept>
#include <string>
#include <vector>

using namespace hailong;

namespace {

constexpr const char* kUrl =
    "https://hailong.example.gov.vn/s/t/WEEtMjUwMzA0LTAwMDAxCnNpcGFzLTIwMTc.abcdefghijklmnopqrstuv";
constexpr const char* kVietnamese = "Phiếu khảo sát hài lòng";

std::size_t count(const std::string& haystack, const std::string& needle) {
    return test::occurrences(haystack, needle);
}

/// Runs `command` through the shell; returns its exit code and puts its stdout in `output`.
int run(const std::string& command, std::string& output) {
    output.clear();
    FILE* pipe = ::popen(command.c_str(), "r");
    if (!pipe) throw std::runtime_error("popen failed: " + command);
    std::array<char, 4096> buffer{};
    std::size_t n = 0;
    while ((n = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0)
        output.append(buffer.data(), n);
    const int status = ::pclose(pipe);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/// Draws `svg` as a 400-pixel-wide PNG and returns what zbarimg reads from it: the bytes of
/// the symbol's data, nothing added. Missing tools fail the test.
std::string decode(const std::string& svg) {
    std::string out;
    INFO("rsvg-convert (librsvg2-bin) and zbarimg (zbar-tools) come with scripts/deps.sh test");
    REQUIRE(run("command -v rsvg-convert", out) == 0);
    REQUIRE(run("command -v zbarimg", out) == 0);
    test::TempDir dir;
    const std::string svgFile = dir.write("code.svg", svg);
    const std::string pngFile = dir.file("code.png");
    REQUIRE(run("rsvg-convert -w 400 -o '" + pngFile + "' '" + svgFile + "' 2>&1", out) == 0);
    // --raw: no conversion to the locale's charset. -Sbinary: byte-mode data comes out as the
    // bytes in the symbol, with no trailing newline. Without it zbarimg 0.23 reads byte-mode
    // data that has no ECI header as ISO-8859-1 (the standard's default; phone scanners guess
    // UTF-8 instead) and re-encodes it, so "ế" (E1 BA BF) comes out as "áº¿" (C3 A1 C2 BA C2
    // BF). --nodbus: no D-Bus noise on stderr.
    const std::string errFile = dir.file("zbarimg.err");
    const int rc =
        run("zbarimg --nodbus --raw -q -Sbinary '" + pngFile + "' 2>'" + errFile + "'", out);
    std::ifstream errStream(errFile);
    const std::string err{std::istreambuf_iterator<char>(errStream), {}};
    INFO("zbarimg stdout: " << out << "\nzbarimg stderr: " << err);
    REQUIRE(rc == 0);
    return out;
}

}  // namespace

TEST_CASE("qrSvg writes one small SVG document with an escaped title", "[links][qr]") {
    QrSvgOptions options;
    options.title = R"(Survey <dossier> & "receipt")";
    options.widthPx = 300;
    options.heightPx = 200;
    const std::string svg = qrSvg(kUrl, options);

    CHECK(svg.rfind("<svg", 0) == 0);
    CHECK(svg.find("</svg>") != std::string::npos);
    CHECK(svg.find(R"(xmlns="http://www.w3.org/2000/svg")") != std::string::npos);
    CHECK(svg.find(R"(width="300")") != std::string::npos);
    CHECK(svg.find(R"(height="200")") != std::string::npos);
    CHECK(svg.find(R"(shape-rendering="crispEdges")") != std::string::npos);
    CHECK(count(svg, "<path") == 1);
    CHECK(count(svg, "<rect") == 1);  // the white background only, never a module
    CHECK(svg.find("<title>Survey &lt;dossier&gt; &amp; &quot;receipt&quot;</title>") !=
          std::string::npos);
    CHECK(svg.find("<dossier>") == std::string::npos);

    // The viewBox is square, in modules: 21 + 4k for a version-k symbol plus 2 * 4 quiet zone.
    const auto at = svg.find(R"(viewBox="0 0 )");
    REQUIRE(at != std::string::npos);
    const int side = std::stoi(svg.substr(at + 13));
    CHECK((side - 8 - 21) % 4 == 0);
    CHECK(side >= 29);
    CHECK(svg.find(R"(viewBox="0 0 )" + std::to_string(side) + " " + std::to_string(side) + "\"") !=
          std::string::npos);

    // Runs are merged: far fewer subpaths than dark modules, and the whole stays small.
    CHECK(count(svg, "M") < static_cast<std::size_t>(side * side) / 4);
    CHECK(svg.size() < 12000);

    SECTION("defaults") {
        const std::string plain = qrSvg("x");
        CHECK(plain.find(R"(width="256" height="256")") != std::string::npos);
        CHECK(plain.find(R"(viewBox="0 0 29 29")") != std::string::npos);  // version 1
        CHECK(plain.find("<title>QR code</title>") != std::string::npos);
    }
    SECTION("a higher error correction level needs a larger symbol for the same text") {
        QrSvgOptions high;
        high.errorCorrection = QrErrorCorrection::High;
        const std::string big = qrSvg(kUrl, high);
        const auto bigAt = big.find(R"(viewBox="0 0 )");
        REQUIRE(bigAt != std::string::npos);
        CHECK(std::stoi(big.substr(bigAt + 13)) > side);
    }
    SECTION("the same text gives the same SVG on every thread") {
        std::vector<std::future<std::string>> runs;
        for (int i = 0; i < 8; ++i) {
            runs.push_back(std::async(std::launch::async, [&] { return qrSvg(kUrl, options); }));
        }
        for (auto& r : runs) CHECK(r.get() == svg);
    }
}

TEST_CASE("qrSvg codes decode back to their text", "[links][qr]") {
    SECTION("an ASCII survey link") {
        CHECK(decode(qrSvg(kUrl)) == kUrl);
    }
    SECTION("Vietnamese UTF-8 text, encoded as its UTF-8 bytes") {
        CHECK(decode(qrSvg(kVietnamese)) == kVietnamese);
    }
    SECTION("every error correction level") {
        for (auto level : {QrErrorCorrection::Low, QrErrorCorrection::Medium,
                           QrErrorCorrection::Quartile, QrErrorCorrection::High}) {
            QrSvgOptions options;
            options.errorCorrection = level;
            CHECK(decode(qrSvg(kUrl, options)) == kUrl);
        }
    }
    SECTION("the longest text allowed") {
        const std::string longest(kQrSvgMaxBytes, 'a');
        CHECK(decode(qrSvg(longest)) == longest);
    }
}

TEST_CASE("qrSvg rejects what cannot be a QR code", "[links][qr]") {
    CHECK_THROWS_AS(qrSvg(std::string(kQrSvgMaxBytes + 1, 'a')), std::invalid_argument);
    CHECK_THROWS_WITH(qrSvg(std::string(5000, 'a')), Catch::Contains("5000 bytes"));
    CHECK_THROWS_AS(qrSvg(""), std::invalid_argument);
    QrSvgOptions zero;
    zero.widthPx = 0;
    CHECK_THROWS_AS(qrSvg(kUrl, zero), std::invalid_argument);
}

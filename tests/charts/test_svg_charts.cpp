// charts: each chart parses as XML (Poco's DOM parser), is labelled for screen readers, escapes
// its text, handles empty, NaN and out-of-range data, and follows the locale's decimal mark.
#include "charts/SvgCharts.h"
#include "support/TestSupport.h"

#include <Poco/AutoPtr.h>
#include <Poco/DOM/DOMParser.h>
#include <Poco/DOM/Document.h>
#include <Poco/DOM/Element.h>
#include <Poco/DOM/NodeList.h>
#include <Poco/SAX/SAXException.h>

#include <catch2/catch.hpp>

#include <cmath>
#include <future>
#include <limits>
#include <set>
#include <sstream>
#include <string>
#include <vector>

using namespace hailong::charts;
using Poco::AutoPtr;
using Poco::XML::Document;
using Poco::XML::Element;
using Poco::XML::NodeList;

namespace {

constexpr const char* kNasty = "<b>&\"'";
constexpr const char* kNastyEscaped = "&lt;b&gt;&amp;&quot;&apos;";
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

AutoPtr<Document> parse(const std::string& svg) {
    Poco::XML::DOMParser parser;
    return parser.parseString(svg);
}

std::vector<Element*> elements(Document& document, const std::string& tag) {
    AutoPtr<NodeList> list = document.getElementsByTagName(tag);
    std::vector<Element*> out;
    for (unsigned long i = 0; i < list->length(); ++i) {
        out.push_back(static_cast<Element*>(list->item(i)));
    }
    return out;
}

// Elements of `tag` whose class list contains `cls`.
std::vector<Element*> withClass(Document& document, const std::string& tag,
                                const std::string& cls) {
    std::vector<Element*> out;
    for (Element* element : elements(document, tag)) {
        std::istringstream classes(element->getAttribute("class"));
        for (std::string word; classes >> word;) {
            if (word == cls) {
                out.push_back(element);
                break;
            }
        }
    }
    return out;
}

std::size_t count(const std::string& haystack, const std::string& needle) {
    return hailong::test::occurrences(haystack, needle);
}

double attr(Element* element, const std::string& name) {
    return std::stod(element->getAttribute(name));
}

/// Checks what every chart must be and returns the root's id prefix ("hl-…").
std::string checkAccessibleSvg(const std::string& svg) {
    INFO(svg);
    CHECK(svg.starts_with("<svg "));
    CHECK(svg.ends_with("</svg>"));
    CHECK(svg.find("<?xml") == std::string::npos);
    for (const char* forbidden :
         {"<script", "<image", "href=\"http", "@import", "<style", "nan", "inf"}) {
        CHECK(svg.find(forbidden) == std::string::npos);
    }
    AutoPtr<Document> document;
    REQUIRE_NOTHROW(document = parse(svg));
    Element* root = document->documentElement();
    REQUIRE(root != nullptr);
    CHECK(root->localName() == "svg");
    CHECK(root->namespaceURI() == "http://www.w3.org/2000/svg");
    CHECK(root->getAttribute("role") == "img");
    CHECK(!root->getAttribute("viewBox").empty());
    CHECK(root->getAttribute("font-family") == "system-ui, sans-serif");

    std::istringstream labelledBy(root->getAttribute("aria-labelledby"));
    std::string titleId;
    std::string descId;
    labelledBy >> titleId >> descId;
    REQUIRE(!titleId.empty());
    REQUIRE(!descId.empty());
    Element* first = static_cast<Element*>(root->firstChild());
    REQUIRE(first != nullptr);
    CHECK(first->localName() == "title");
    CHECK(first->getAttribute("id") == titleId);
    Element* second = static_cast<Element*>(first->nextSibling());
    REQUIRE(second != nullptr);
    CHECK(second->localName() == "desc");
    CHECK(second->getAttribute("id") == descId);

    // Every id is unique in the chart and a valid XML name; every font size is at least 12.
    std::set<std::string> ids;
    AutoPtr<NodeList> all = document->getElementsByTagName("*");
    for (unsigned long i = 0; i < all->length(); ++i) {
        auto* element = static_cast<Element*>(all->item(i));
        const std::string id = element->getAttribute("id");
        if (!id.empty()) {
            CHECK(ids.insert(id).second);
            CHECK(std::isalpha(static_cast<unsigned char>(id[0])));
            CHECK(id.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-") ==
                  std::string::npos);
        }
        if (element->hasAttribute("font-size")) CHECK(attr(element, "font-size") >= 12);
    }
    CHECK(titleId == titleId.substr(0, titleId.rfind('-')) + "-title");
    return titleId.substr(0, titleId.rfind('-'));
}

std::vector<Bar> sampleBars() {
    return {{"Cấp hộ chiếu", 84.5, 80.1, 88.9, false},
            {"Đăng ký khai sinh", 91.25, 88.0, 94.0, false},
            {"Cấp phép xây dựng", 62.0, 50.0, 74.0, true}};
}

std::vector<Point> samplePoints(std::size_t n) {
    std::vector<Point> points;
    for (std::size_t i = 0; i < n; ++i) {
        const double v = 60 + static_cast<double>(i % 30);
        points.push_back({"Q" + std::to_string(i + 1), v, v - 5, v + 5});
    }
    return points;
}

}  // namespace

TEST_CASE("charts: every chart is well-formed, labelled SVG without external references") {
    const std::vector<std::string> rows{"Hà Nội", "Đà Nẵng"};
    const std::vector<std::string> columns{"2024", "2025"};
    const std::vector<std::vector<std::optional<double>>> cells{{70.0, 75.5}, {80.0, {}}};
    for (const std::string& svg :
         {barChart("Chỉ số hài lòng", "Theo dịch vụ", sampleBars()),
          lineChart("Xu hướng", "Theo quý", samplePoints(8)),
          heatMap("Bản đồ nhiệt", "Theo tỉnh và năm", rows, columns, cells),
          barChart("Trống", "", {}), lineChart("Trống", "", {}),
          heatMap("Trống", "", {}, {}, {})}) {
        const std::string prefix = checkAccessibleSvg(svg);
        CHECK(prefix.starts_with("hl-"));
    }
}

TEST_CASE("charts: labels, titles, descriptions and units are escaped") {
    Options options;
    options.unit = "<u>";
    const std::vector<std::string> charts{
        barChart(kNasty, kNasty, {{kNasty, 50.0, 40.0, 60.0, true}}, options),
        lineChart(kNasty, kNasty, {{kNasty, 50.0, 40.0, 60.0}, {kNasty, 55.0, {}, {}}}, options),
        heatMap(kNasty, kNasty, {kNasty}, {kNasty}, {{50.0}}, options)};
    for (const std::string& svg : charts) {
        INFO(svg);
        checkAccessibleSvg(svg);
        CHECK(svg.find("<b>") == std::string::npos);
        CHECK(svg.find("<u>") == std::string::npos);
        CHECK(svg.find("&\"") == std::string::npos);
        CHECK(count(svg, kNastyEscaped) >= 3);
        CHECK(svg.find("&lt;u&gt;") != std::string::npos);
        AutoPtr<Document> document = parse(svg);
        CHECK(elements(*document, "title").front()->innerText() == kNasty);
        CHECK(elements(*document, "desc").front()->innerText() == kNasty);
    }
    AutoPtr<Document> bars = parse(charts[0]);
    CHECK(withClass(*bars, "text", "label").front()->innerText() == kNasty);
}

TEST_CASE("charts: invalid UTF-8 and control characters still give well-formed XML") {
    const std::string broken = std::string("Dịch vụ \xff\xc3(\x01)\xed\xa0\x80") + "\xe2\x82";
    const std::string svg = barChart(broken, broken, {{broken, 50.0, {}, {}, false}});
    checkAccessibleSvg(svg);
    CHECK(svg.find("\xef\xbf\xbd") != std::string::npos);  // U+FFFD
}

TEST_CASE("charts: empty data gives a small chart with the empty text") {
    Options options;
    options.emptyText = "Chưa có phiếu & <gì>";
    const std::vector<std::string> charts{
        barChart("Cột", "", {}, options), lineChart("Đường", "", {}, options),
        lineChart("Đường", "", {{"Q1", {}, {}, {}}, {"Q2", kNaN, kInf, {}}}, options),
        heatMap("Nhiệt", "", {}, {"2025"}, {}, options),
        heatMap("Nhiệt", "", {"Hà Nội"}, {}, {}, options)};
    for (const std::string& svg : charts) {
        INFO(svg);
        checkAccessibleSvg(svg);
        AutoPtr<Document> document = parse(svg);
        const auto empty = withClass(*document, "text", "empty");
        REQUIRE(empty.size() == 1);
        CHECK(empty.front()->innerText() == "Chưa có phiếu & <gì>");
        CHECK(attr(document->documentElement(), "height") <= 100);
        CHECK(elements(*document, "rect").size() == 1);  // the background only
    }
    CHECK(barChart("Cột", "", {}).find("Không có dữ liệu") != std::string::npos);
}

TEST_CASE("charts: values outside the scale are clamped for drawing, not for printing") {
    const std::string svg = barChart("Cột", "",
                                     {{"full", 100.0, {}, {}, false},
                                      {"over", 150.0, 120.0, 180.0, false},
                                      {"zero", 0.0, {}, {}, false},
                                      {"under", -20.0, {}, {}, false}});
    checkAccessibleSvg(svg);
    AutoPtr<Document> document = parse(svg);
    const auto bars = withClass(*document, "rect", "bar");
    REQUIRE(bars.size() == 4);
    CHECK(attr(bars[0], "width") > 100);
    CHECK(attr(bars[1], "width") == attr(bars[0], "width"));
    CHECK(attr(bars[1], "x") == attr(bars[0], "x"));
    CHECK(attr(bars[2], "width") == 0);
    CHECK(attr(bars[3], "width") == 0);
    CHECK(attr(bars[3], "x") == attr(bars[0], "x"));
    const auto values = withClass(*document, "text", "value");
    REQUIRE(values.size() == 4);
    CHECK(values[1]->innerText() == "150,0%");
    CHECK(values[3]->innerText() == "-20,0%");
    // The whisker of [120, 180] collapses onto the right end of the scale.
    const double right = attr(bars[0], "x") + attr(bars[0], "width");
    AutoPtr<NodeList> whisker =
        withClass(*document, "g", "whisker").at(0)->getElementsByTagName("line");
    REQUIRE(whisker->length() == 3);
    auto* stem = static_cast<Element*>(whisker->item(0));
    CHECK(attr(stem, "x1") == Approx(right));
    CHECK(attr(stem, "x2") == Approx(right));

    // The line chart keeps every point inside the plot.
    const std::string line = lineChart("Đường", "", {{"a", 250.0, {}, {}}, {"b", -40.0, {}, {}}});
    checkAccessibleSvg(line);
    AutoPtr<Document> trend = parse(line);
    const auto dots = elements(*trend, "circle");
    REQUIRE(dots.size() == 2);
    const auto ticks = withClass(*trend, "text", "tick");
    REQUIRE(ticks.size() == 5);
    CHECK(ticks.front()->innerText() == "0%");
    CHECK(ticks.back()->innerText() == "100%");
    CHECK(attr(dots[0], "cy") < attr(dots[1], "cy"));
    CHECK(dots[0]->innerText().find("250,0%") != std::string::npos);
}

TEST_CASE("charts: NaN and infinity count as empty") {
    const std::string bars =
        barChart("Cột", "",
                 {{"a", kNaN, kNaN, 3.0, false}, {"b", kInf, {}, {}, false}, {"c", 40.0, {}, {}}});
    checkAccessibleSvg(bars);
    AutoPtr<Document> barDocument = parse(bars);
    CHECK(withClass(*barDocument, "rect", "bar").size() == 1);
    CHECK(withClass(*barDocument, "g", "whisker").empty());
    CHECK(withClass(*barDocument, "text", "value")[0]->innerText() == "\u2014");

    std::vector<Point> points = samplePoints(6);
    points[2].value = kNaN;
    points[3].value = std::nullopt;
    points[3].low = -kInf;
    const std::string line = lineChart("Đường", "", points);
    checkAccessibleSvg(line);
    AutoPtr<Document> lineDocument = parse(line);
    CHECK(elements(*lineDocument, "polyline").size() == 2);  // a gap at points 3 and 4
    CHECK(elements(*lineDocument, "circle").size() == 4);
    CHECK(withClass(*lineDocument, "polygon", "band").size() == 2);  // no band at point 4

    const std::string heat = heatMap("Nhiệt", "", {"r"}, {"a", "b", "c"}, {{kNaN, 50.0}});
    checkAccessibleSvg(heat);
    AutoPtr<Document> heatDocument = parse(heat);
    CHECK(withClass(*heatDocument, "rect", "empty").size() == 2);  // NaN and missing
}

TEST_CASE("charts: bars with too few answers are hatched and say so") {
    const std::string vi = barChart("Cột", "", sampleBars());
    checkAccessibleSvg(vi);
    AutoPtr<Document> document = parse(vi);
    const auto few = withClass(*document, "rect", "few");
    REQUIRE(few.size() == 1);
    CHECK(few.front()->getAttribute("fill").starts_with("url(#hl-"));
    CHECK(withClass(*document, "text", "value")[2]->innerText() == "62,0% (ít phiếu)");
    CHECK(count(vi, "(ít phiếu)") == 2);  // the printed text and the row's <title>
    CHECK(elements(*document, "pattern").size() == 1);

    Options en;
    en.locale = "en";
    const std::string english = barChart("Bars", "", sampleBars(), en);
    checkAccessibleSvg(english);
    CHECK(english.find("(few answers)") != std::string::npos);
    CHECK(english.find("ít phiếu") == std::string::npos);

    const std::string none = barChart("Cột", "", {{"a", 50.0, {}, {}, false}});
    CHECK(none.find("<pattern") == std::string::npos);
}

TEST_CASE("charts: vi prints a decimal comma, en a decimal point") {
    Options en;
    en.locale = "en";
    Options vi;
    vi.locale = "vi-VN";
    const std::vector<Bar> bars{{"a", 84.5, 80.06, 88.94, false}};
    const std::string comma = barChart("Cột", "", bars, vi);
    const std::string point = barChart("Bars", "", bars, en);
    checkAccessibleSvg(comma);
    checkAccessibleSvg(point);
    CHECK(comma.find(">84,5%<") != std::string::npos);
    CHECK(comma.find("80,1\u201388,9%") != std::string::npos);
    CHECK(comma.find("84.5") == std::string::npos);
    CHECK(point.find(">84.5%<") != std::string::npos);
    CHECK(point.find("95% interval: 80.1\u201388.9%") != std::string::npos);
    CHECK(point.find("84,5") == std::string::npos);

    en.min = 0;
    en.max = 5;
    en.unit = "";
    const std::string trend = lineChart("Trend", "", samplePoints(3), en);
    AutoPtr<Document> document = parse(trend);
    std::vector<std::string> ticks;
    for (Element* tick : withClass(*document, "text", "tick")) ticks.push_back(tick->innerText());
    CHECK(ticks == std::vector<std::string>{"0", "1.3", "2.5", "3.8", "5"});
    vi.min = 0;
    vi.max = 5;
    document = parse(heatMap("Nhiệt", "", {"r"}, {"c"}, {{2.25}}, vi));
    CHECK(withClass(*document, "text", "legend-max")[0]->innerText() == "5,0%");
    CHECK(withClass(*document, "rect", "cell")[0]->innerText() == "r, c: 2,3%");
}

TEST_CASE("charts: a long trend shows at most 12 x labels") {
    const std::string svg = lineChart("Xu hướng", "100 kỳ", samplePoints(100));
    checkAccessibleSvg(svg);
    AutoPtr<Document> document = parse(svg);
    const auto labels = withClass(*document, "text", "xlabel");
    CHECK(labels.size() >= 2);
    CHECK(labels.size() <= 12);
    CHECK(labels.front()->innerText() == "Q1");
    CHECK(elements(*document, "circle").size() == 100);
    CHECK(elements(*document, "polyline").size() == 1);
    CHECK(withClass(*document, "polygon", "band").size() == 1);

    const std::string few = lineChart("Xu hướng", "", samplePoints(4));
    AutoPtr<Document> short_ = parse(few);
    CHECK(withClass(*short_, "text", "xlabel").size() == 4);
}

TEST_CASE("charts: a heat map has one titled cell per row and column") {
    const std::vector<std::string> rows{"Hà Nội", "Huế", "Cần Thơ"};
    const std::vector<std::string> columns{"Q1", "Q2", "Q3", "Q4"};
    const std::vector<std::vector<std::optional<double>>> cells{
        {10.0, 50.0, 90.0, 100.0}, {0.0, {}, 70.0}, {120.0, -5.0, 33.3, 66.6, 99.9}};
    const std::string svg = heatMap("Nhiệt", "Chỉ số theo quý", rows, columns, cells);
    checkAccessibleSvg(svg);
    AutoPtr<Document> document = parse(svg);
    const auto all = withClass(*document, "rect", "cell");
    REQUIRE(all.size() == 12);
    for (Element* cell : all) {
        AutoPtr<NodeList> titles = cell->getElementsByTagName("title");
        CHECK(titles->length() == 1);
    }
    CHECK(all[0]->innerText() == "Hà Nội, Q1: 10,0%");
    CHECK(all[5]->innerText() == "Huế, Q2: không có dữ liệu");
    CHECK(all[7]->innerText() == "Huế, Q4: không có dữ liệu");
    CHECK(all[8]->innerText() == "Cần Thơ, Q1: 120,0%");
    CHECK(withClass(*document, "rect", "empty").size() == 2);
    // Light to dark; clamped at both ends.
    CHECK(all[0]->getAttribute("fill") != all[3]->getAttribute("fill"));
    CHECK(all[8]->getAttribute("fill") == all[3]->getAttribute("fill"));
    CHECK(all[9]->getAttribute("fill") == all[4]->getAttribute("fill"));
    CHECK(all[5]->getAttribute("fill").starts_with("url(#hl-"));
    CHECK(withClass(*document, "text", "legend-min")[0]->innerText() == "0,0%");
    CHECK(withClass(*document, "text", "legend-max")[0]->innerText() == "100,0%");
    CHECK(elements(*document, "linearGradient").size() == 1);
}

TEST_CASE("charts: every chart's ids are unique, even for the same data") {
    const std::string a = barChart("Cột", "", sampleBars());
    const std::string b = barChart("Cột", "", sampleBars());
    const std::string prefixA = checkAccessibleSvg(a);
    const std::string prefixB = checkAccessibleSvg(b);
    CHECK(prefixA != prefixB);
    CHECK(b.find(prefixA + "-") == std::string::npos);

    std::vector<std::future<std::string>> futures;
    for (int t = 0; t < 4; ++t) {
        futures.push_back(std::async(std::launch::async, [] {
            std::string ids;
            for (int i = 0; i < 50; ++i) {
                const std::string svg = lineChart("Đường", "", samplePoints(5));
                const auto at = svg.find("aria-labelledby=\"") + 17;
                ids += svg.substr(at, svg.find(' ', at) - at) + "\n";
            }
            return ids;
        }));
    }
    std::set<std::string> seen;
    for (auto& future : futures) {
        std::istringstream ids(future.get());
        for (std::string id; std::getline(ids, id);) CHECK(seen.insert(id).second);
    }
    CHECK(seen.size() == 200);
}

TEST_CASE("charts: the height follows the data unless given, and bad options throw") {
    AutoPtr<Document> small = parse(barChart("Cột", "", sampleBars()));
    std::vector<Bar> many(20, Bar{"x", 50.0, {}, {}, false});
    AutoPtr<Document> large = parse(barChart("Cột", "", many));
    CHECK(attr(large->documentElement(), "height") > attr(small->documentElement(), "height"));
    Options fixed;
    fixed.height = 400;
    fixed.width = 800;
    AutoPtr<Document> given = parse(barChart("Cột", "", many, fixed));
    CHECK(attr(given->documentElement(), "height") == 400);
    CHECK(given->documentElement()->getAttribute("viewBox") == "0 0 800 400");

    Options bad;
    bad.min = 100;
    bad.max = 0;
    CHECK_THROWS_AS(barChart("t", "", sampleBars(), bad), std::invalid_argument);
    bad = {};
    bad.max = kNaN;
    CHECK_THROWS_AS(lineChart("t", "", samplePoints(3), bad), std::invalid_argument);
    bad = {};
    bad.width = 0;
    CHECK_THROWS_AS(heatMap("t", "", {"r"}, {"c"}, {{1.0}}, bad), std::invalid_argument);
    bad = {};
    bad.height = 10;
    CHECK_THROWS_AS(barChart("t", "", {}, bad), std::invalid_argument);
}

TEST_CASE("charts: long labels are cut with an ellipsis and kept whole in the titles") {
    const std::string longLabel(300, 'W');
    const std::string svg = barChart("Cột", "", {{longLabel, 50.0, {}, {}, false}});
    checkAccessibleSvg(svg);
    AutoPtr<Document> document = parse(svg);
    const std::string drawn = withClass(*document, "text", "label")[0]->innerText();
    CHECK(drawn.ends_with("\u2026"));
    CHECK(drawn.size() < 100);
    CHECK(elements(*document, "title")[1]->innerText().starts_with(longLabel + ": 50,0%"));
}

TEST_CASE("charts: a narrow chart keeps its numbers and cuts the words") {
    Options narrow;
    narrow.width = 240;
    narrow.locale = "en";
    const std::string svg =
        barChart("Narrow", "", {{"Passport issuance service", 84.5, 80.0, 89.0, true}}, narrow);
    checkAccessibleSvg(svg);
    AutoPtr<Document> document = parse(svg);
    const std::string value = withClass(*document, "text", "value")[0]->innerText();
    CHECK(value.starts_with("84.5% (few"));
    // Tick labels that would overlap: only the ends are labelled.
    const auto ticks = withClass(*document, "text", "tick");
    REQUIRE(ticks.size() == 2);
    CHECK(ticks[0]->innerText() == "0%");
    CHECK(ticks[1]->innerText() == "100%");
    const auto bar = withClass(*document, "rect", "bar")[0];
    CHECK(attr(bar, "x") > 8);
    CHECK(attr(bar, "x") + attr(bar, "width") < 240);
}

TEST_CASE("charts: stacked bars show each answer's share, worst red to best blue") {
    const std::vector<std::string> scale{"Không hài lòng", "Hài lòng", "Rất hài lòng"};
    const std::vector<Stack> stacks{{"Đánh giá chung", {10, 30, 60}},
                                    {kNasty, {0, 0, 0}},
                                    {"Thiếu số", {1}},
                                    {"Âm và NaN", {-4, kNaN, 2}}};
    const std::string svg = stackedBars("Phân bố câu trả lời", "Tỷ lệ mỗi mức", scale, stacks);
    checkAccessibleSvg(svg);
    INFO(svg);
    AutoPtr<Document> document = parse(svg);
    const auto segments = withClass(*document, "rect", "segment");
    // 3 of the first row, none of the empty row, 1 of the short row, 1 of the last.
    REQUIRE(segments.size() == 5);
    CHECK(segments[0]->getAttribute("fill") == "#d7191c");
    CHECK(segments[2]->getAttribute("fill") == "#2c7bb6");
    CHECK(segments[1]->innerText() == "Đánh giá chung, Hài lòng: 30,0% (n = 30)");
    // The widths add up to the bar, in proportion.
    CHECK(attr(segments[2], "width") == Approx(2 * attr(segments[1], "width")).margin(0.2));
    CHECK(svg.find(">60%<") != std::string::npos);
    CHECK(count(svg, kNastyEscaped) >= 1);
    CHECK(withClass(*document, "text", "empty").size() == 1);  // the all-zero row says so
    CHECK(segments[4]->innerText() == "Âm và NaN, Rất hài lòng: 100,0% (n = 2)");
    // Nothing to draw.
    for (const std::string& empty :
         {stackedBars("T", "", scale, {}), stackedBars("T", "", {}, stacks),
          stackedBars("T", "", scale, {{"x", {0, 0, 0}}})}) {
        checkAccessibleSvg(empty);
        CHECK(empty.find("Không có dữ liệu") != std::string::npos);
    }
}

TEST_CASE("charts: counts print without decimals when asked") {
    Options options;
    options.unit = "";
    options.decimals = 0;
    options.max = 40;
    const std::string svg = heatMap("Lượt", "", {"Thứ Hai"}, {"8h", "9h"}, {{12.0, 33.0}}, options);
    checkAccessibleSvg(svg);
    CHECK(svg.find("Thứ Hai, 8h: 12</title>") != std::string::npos);
    CHECK(svg.find(">33<") != std::string::npos);
    options.decimals = 4;
    CHECK_THROWS_AS(heatMap("x", "", {"a"}, {"b"}, {{1.0}}, options), std::invalid_argument);
}

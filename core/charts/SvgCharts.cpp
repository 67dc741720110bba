#include "charts/SvgCharts.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <stdexcept>
#include <utility>

namespace hailong::charts {
namespace {

// Colours, all checked against the white background each chart paints first: text at least
// 4.5:1 (WCAG AA), marks that carry meaning at least 3:1.
constexpr const char* kInk = "#111827";          // 17.7:1
constexpr const char* kMutedInk = "#4b5563";     // 7.6:1
constexpr const char* kAxis = "#6b7280";         // 4.8:1
constexpr const char* kGrid = "#e5e7eb";         // decoration only
constexpr const char* kBar = "#2563eb";          // 5.2:1
constexpr const char* kBarLight = "#dbeafe";     // hatched background of a tooFew bar
constexpr const char* kBand = "#bfdbfe";         // the interval band, under the line
constexpr const char* kLine = "#1d4ed8";         // 6.7:1
constexpr const char* kNoData = "#f3f4f6";       // empty heat map cells...
constexpr const char* kNoDataHatch = "#9ca3af";  // ...hatched in this grey

// ColorBrewer "Blues" (single hue, colour-blind safe, prints in grey), without its near-white
// first class so the lowest cells stay visible on white.
constexpr std::array<std::array<int, 3>, 8> kScale = {{{0xde, 0xeb, 0xf7},
                                                       {0xc6, 0xdb, 0xef},
                                                       {0x9e, 0xca, 0xe1},
                                                       {0x6b, 0xae, 0xd6},
                                                       {0x42, 0x92, 0xc6},
                                                       {0x21, 0x71, 0xb5},
                                                       {0x08, 0x51, 0x9c},
                                                       {0x08, 0x30, 0x6b}}};

constexpr double kTitleSize = 16;
constexpr double kLabelSize = 13;
constexpr double kSmallSize = 12;
// The average advance of a system-ui glyph, in em: an estimate to fit text without a font.
constexpr double kAdvance = 0.58;
constexpr double kPad = 8;
constexpr double kTop = 40;  // the visible title's band

struct Words {
    const char* few;
    const char* noData;
    const char* interval;
};

constexpr Words kVietnamese{"(ít phiếu)", "không có dữ liệu", "khoảng tin cậy 95%"};
constexpr Words kEnglish{"(few answers)", "no data", "95% interval"};

bool isVietnamese(const Options& options) {
    const std::string_view locale = options.locale;
    return locale == "vi" || locale.starts_with("vi-") || locale.starts_with("vi_");
}

const Words& wordsFor(const Options& options) {
    return isVietnamese(options) ? kVietnamese : kEnglish;
}

void validate(const Options& options) {
    if (options.width < 240) {
        throw std::invalid_argument("charts: width " + std::to_string(options.width) +
                                    " is below 240");
    }
    if (options.height != 0 && options.height < 80) {
        throw std::invalid_argument("charts: height " + std::to_string(options.height) +
                                    " is neither 0 (derived) nor at least 80");
    }
    if (!std::isfinite(options.min) || !std::isfinite(options.max) ||
        !(options.min < options.max)) {
        throw std::invalid_argument("charts: the scale needs finite min < max");
    }
    if (options.decimals < 0 || options.decimals > 3) {
        throw std::invalid_argument("charts: decimals " + std::to_string(options.decimals) +
                                    " is not between 0 and 3");
    }
}

std::optional<double> finite(std::optional<double> value) {
    if (value && std::isfinite(*value)) return value;
    return std::nullopt;
}

// ---- text ------------------------------------------------------------------------------------

// Decodes UTF-8, replacing each invalid sequence (overlong, surrogate, truncated, above
// U+10FFFF) and each noncharacter U+FFFE/U+FFFF with U+FFFD, and each control character XML
// does not allow with a space.
std::u32string decode(std::string_view text) {
    std::u32string out;
    out.reserve(text.size());
    std::size_t i = 0;
    while (i < text.size()) {
        const auto lead = static_cast<unsigned char>(text[i]);
        char32_t cp = 0;
        std::size_t extra = 0;
        char32_t lowest = 0;
        if (lead < 0x80) {
            cp = lead;
        } else if (lead >= 0xc2 && lead <= 0xdf) {
            cp = lead & 0x1fu;
            extra = 1;
            lowest = 0x80;
        } else if (lead >= 0xe0 && lead <= 0xef) {
            cp = lead & 0x0fu;
            extra = 2;
            lowest = 0x800;
        } else if (lead >= 0xf0 && lead <= 0xf4) {
            cp = lead & 0x07u;
            extra = 3;
            lowest = 0x10000;
        } else {
            out += U'\uFFFD';
            ++i;
            continue;
        }
        std::size_t taken = 1;
        bool valid = true;
        for (; taken <= extra; ++taken) {
            if (i + taken >= text.size()) {
                valid = false;
                break;
            }
            const auto next = static_cast<unsigned char>(text[i + taken]);
            if ((next & 0xc0u) != 0x80) {
                valid = false;
                break;
            }
            cp = (cp << 6) | (next & 0x3fu);
        }
        if (!valid || cp < lowest || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
            out += U'\uFFFD';
            i += valid ? taken : std::max<std::size_t>(taken, 1);
            continue;
        }
        i += taken;
        if (cp == 0xfffe || cp == 0xffff) {
            out += U'\uFFFD';
        } else if (cp < 0x20 && cp != '\t' && cp != '\n' && cp != '\r') {
            out += U' ';
        } else {
            out += cp;
        }
    }
    return out;
}

void appendUtf8(std::string& out, char32_t cp) {
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xc0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
        out += static_cast<char>(0xe0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
        out += static_cast<char>(0x80 | (cp & 0x3f));
    } else {
        out += static_cast<char>(0xf0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
        out += static_cast<char>(0x80 | (cp & 0x3f));
    }
}

// Appends decoded text as XML character data, also safe inside a double-quoted attribute.
void appendEscaped(std::string& out, std::u32string_view text) {
    for (const char32_t cp : text) {
        switch (cp) {
            case U'<':
                out += "&lt;";
                break;
            case U'>':
                out += "&gt;";
                break;
            case U'&':
                out += "&amp;";
                break;
            case U'"':
                out += "&quot;";
                break;
            case U'\'':
                out += "&apos;";
                break;
            default:
                appendUtf8(out, cp);
        }
    }
}

std::string escape(std::string_view text) {
    std::string out;
    appendEscaped(out, decode(text));
    return out;
}

bool isCombining(char32_t cp) {
    return (cp >= 0x0300 && cp <= 0x036f) || (cp >= 0x1dc0 && cp <= 0x1dff) ||
           (cp >= 0x20d0 && cp <= 0x20ff) || (cp >= 0xfe20 && cp <= 0xfe2f);
}

std::size_t visibleLength(std::u32string_view text) {
    return static_cast<std::size_t>(
        std::count_if(text.begin(), text.end(), [](char32_t cp) { return !isCombining(cp); }));
}

double textWidth(std::u32string_view text, double fontSize) {
    return static_cast<double>(visibleLength(text)) * fontSize * kAdvance;
}

double textWidth(std::string_view text, double fontSize) {
    return textWidth(decode(text), fontSize);
}

// The escaped text, cut with an ellipsis when its estimated width exceeds `maxWidth` (a cut
// never separates a letter from its combining marks).
std::string fitted(std::string_view text, double maxWidth, double fontSize) {
    std::u32string decoded = decode(text);
    if (textWidth(decoded, fontSize) > maxWidth) {
        const double fits = std::floor(maxWidth / (fontSize * kAdvance)) - 1;
        const std::size_t keep = fits > 0 ? static_cast<std::size_t>(fits) : 0;
        std::size_t seen = 0;
        std::size_t cut = 0;
        for (; cut < decoded.size(); ++cut) {
            if (!isCombining(decoded[cut]) && seen++ == keep) break;
        }
        decoded.resize(cut);
        decoded += U'\u2026';
    }
    std::string out;
    appendEscaped(out, decoded);
    return out;
}

// ---- numbers ---------------------------------------------------------------------------------

// `value` with `decimals` decimals, halves rounded away from zero (2.25 gives 2.3, as people
// round) and independent of the C locale.
std::string fixed(double value, int decimals) {
    const double scale = std::pow(10.0, decimals);
    if (std::abs(value) < 1e15) value = std::round(value * scale) / scale;
    std::array<char, 512> buffer{};
    const auto result = std::to_chars(buffer.data(), buffer.data() + buffer.size(), value,
                                      std::chars_format::fixed, decimals);
    if (result.ec != std::errc{}) return "?";
    std::string text(buffer.data(), result.ptr);
    // "-0.0" after rounding reads as a negative value that is not there.
    if (text.starts_with('-') && text.find_first_not_of("-0.") == std::string::npos) {
        text.erase(0, 1);
    }
    return text;
}

// A coordinate: one decimal at most, and none when it is ".0".
std::string num(double value) {
    std::string text = fixed(value, 1);
    if (text.ends_with(".0")) text.resize(text.size() - 2);
    return text;
}

std::string localized(std::string text, const Options& options) {
    if (isVietnamese(options)) std::replace(text.begin(), text.end(), '.', ',');
    return text;
}

// A printed value: the options' decimals, the locale's decimal mark, the unit (escaped).
std::string valueText(double value, const Options& options) {
    return localized(fixed(value, options.decimals), options) + escape(options.unit);
}

// A tick label: no decimals when the tick is whole.
std::string tickText(double value, const Options& options) {
    const bool whole = std::abs(value - std::round(value)) < 1e-9;
    return localized(fixed(value, whole ? 0 : 1), options) + escape(options.unit);
}

// "95% interval: 80.1–88.9%", or empty when the interval is not usable.
std::string intervalText(std::optional<double> low, std::optional<double> high,
                         const Options& options) {
    low = finite(low);
    high = finite(high);
    if (!low || !high) return {};
    if (*low > *high) std::swap(low, high);
    return std::string(wordsFor(options).interval) + ": " + localized(fixed(*low, 1), options) +
           "\u2013" + valueText(*high, options);
}

// Where a value falls on the scale, 0..1, clamped.
double fraction(double value, const Options& options) {
    return std::clamp((value - options.min) / (options.max - options.min), 0.0, 1.0);
}

// ---- ids -------------------------------------------------------------------------------------

// FNV-1a over the chart's inputs: the id says which data it was drawn from, the counter makes
// it unique when the same chart appears twice on a page.
class Fingerprint {
public:
    void add(std::string_view text) {
        for (const char c : text) mix(static_cast<unsigned char>(c));
        mix(0xff);
    }
    void add(std::optional<double> value) {
        if (!value) {
            mix(0xfe);
            return;
        }
        add(fixed(*value, 6));
    }
    std::uint64_t value() const { return hash_; }

private:
    void mix(unsigned char byte) {
        hash_ ^= byte;
        hash_ *= 0x100000001b3ULL;
    }
    std::uint64_t hash_ = 0xcbf29ce484222325ULL;
};

std::string chartId(const Fingerprint& fingerprint) {
    static std::atomic<unsigned long long> counter{0};
    const unsigned long long n = counter.fetch_add(1, std::memory_order_relaxed);
    std::array<char, 48> buffer{};
    std::snprintf(buffer.data(), buffer.size(), "hl-%08llx-%llu",
                  static_cast<unsigned long long>(fingerprint.value() & 0xffffffffULL), n);
    return buffer.data();
}

// ---- the SVG frame ---------------------------------------------------------------------------

// Opens the root element with its accessible name and description, paints the background
// white and writes the visible title.
void open(std::string& out, const std::string& id, double width, double height,
          std::string_view title, std::string_view description) {
    out += "<svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" aria-labelledby=\"";
    out += id + "-title " + id + "-desc\" viewBox=\"0 0 " + num(width) + " " + num(height);
    out += "\" width=\"" + num(width) + "\" height=\"" + num(height);
    out += "\" font-family=\"system-ui, sans-serif\"><title id=\"" + id + "-title\">";
    out += escape(title);
    out += "</title><desc id=\"" + id + "-desc\">";
    out += escape(description);
    out +=
        "</desc><rect width=\"" + num(width) + "\" height=\"" + num(height) + "\" fill=\"#fff\"/>";
    out += "<text x=\"" + num(kPad) + "\" y=\"24\" font-size=\"" + num(kTitleSize) +
           "\" font-weight=\"600\" fill=\"" + kInk + "\">" +
           fitted(title, width - 2 * kPad, kTitleSize) + "</text>";
}

std::string emptyChart(const std::string& id, std::string_view title, std::string_view description,
                       const Options& options) {
    const double width = options.width;
    const double height = options.height > 0 ? options.height : 80;
    std::string out;
    open(out, id, width, height, title, description);
    out += "<text class=\"empty\" x=\"" + num(width / 2) + "\" y=\"" +
           num(std::max(kTop + 16, height / 2 + 14)) + "\" font-size=\"" + num(kLabelSize) +
           "\" text-anchor=\"middle\" fill=\"" + kMutedInk + "\">" +
           fitted(options.emptyText, width - 2 * kPad, kLabelSize) + "</text></svg>";
    return out;
}

// A <pattern> of diagonal lines over a background, for fills that must not rely on colour.
std::string hatch(const std::string& id, const char* background, const char* lines) {
    return "<pattern id=\"" + id +
           "\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\" "
           "patternTransform=\"rotate(45)\"><rect width=\"6\" height=\"6\" fill=\"" +
           background + "\"/><line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"6\" stroke=\"" + lines +
           "\" stroke-width=\"2\"/></pattern>";
}

std::string text(double x, double y, double size, const char* fill, std::string_view anchor,
                 std::string_view escapedContent, std::string_view cls = {}) {
    std::string out = "<text";
    if (!cls.empty()) out += " class=\"" + std::string(cls) + "\"";
    out += " x=\"" + num(x) + "\" y=\"" + num(y) + "\" font-size=\"" + num(size) + "\"";
    if (anchor != "start") out += " text-anchor=\"" + std::string(anchor) + "\"";
    out += " fill=\"" + std::string(fill) + "\">";
    out += escapedContent;
    out += "</text>";
    return out;
}

std::string line(double x1, double y1, double x2, double y2, const char* stroke, double width,
                 std::string_view cls = {}) {
    std::string out = "<line";
    if (!cls.empty()) out += " class=\"" + std::string(cls) + "\"";
    out += " x1=\"" + num(x1) + "\" y1=\"" + num(y1) + "\" x2=\"" + num(x2) + "\" y2=\"" + num(y2) +
           "\" stroke=\"" + stroke + "\" stroke-width=\"" + num(width) + "\"/>";
    return out;
}

// The y of a text baseline that centres a line of `size` text on `centre`.
double baseline(double centre, double size) {
    return centre + size * 0.35;
}

// ---- heat map colours ------------------------------------------------------------------------

std::array<double, 3> scaleColour(double t) {
    const double position = std::clamp(t, 0.0, 1.0) * (kScale.size() - 1);
    const auto index = std::min(static_cast<std::size_t>(position), kScale.size() - 2);
    const double part = position - static_cast<double>(index);
    std::array<double, 3> rgb{};
    for (std::size_t c = 0; c < 3; ++c) {
        rgb[c] = std::round(kScale[index][c] + (kScale[index + 1][c] - kScale[index][c]) * part);
    }
    return rgb;
}

std::string hex(const std::array<double, 3>& rgb) {
    std::array<char, 8> buffer{};
    std::snprintf(buffer.data(), buffer.size(), "#%02x%02x%02x", static_cast<int>(rgb[0]),
                  static_cast<int>(rgb[1]), static_cast<int>(rgb[2]));
    return buffer.data();
}

double luminance(const std::array<double, 3>& rgb) {
    double channel[3];
    for (std::size_t c = 0; c < 3; ++c) {
        const double s = rgb[c] / 255.0;
        channel[c] = s <= 0.04045 ? s / 12.92 : std::pow((s + 0.055) / 1.055, 2.4);
    }
    return 0.2126 * channel[0] + 0.7152 * channel[1] + 0.0722 * channel[2];
}

// Black or white, whichever contrasts more with `rgb` (never below 4.58:1).
const char* inkOn(const std::array<double, 3>& rgb) {
    const double l = luminance(rgb);
    return (l + 0.05) / 0.05 >= 1.05 / (l + 0.05) ? "#000000" : "#ffffff";
}

}  // namespace

// ---- bar chart -------------------------------------------------------------------------------

std::string barChart(std::string_view title, std::string_view description,
                     const std::vector<Bar>& bars, const Options& options) {
    validate(options);
    Fingerprint fingerprint;
    fingerprint.add("bar");
    fingerprint.add(title);
    fingerprint.add(description);
    for (const Bar& bar : bars) {
        fingerprint.add(bar.label);
        fingerprint.add(bar.value);
        fingerprint.add(bar.low);
        fingerprint.add(bar.high);
        fingerprint.add(bar.tooFew ? "few" : "");
    }
    const std::string id = chartId(fingerprint);
    if (bars.empty()) return emptyChart(id, title, description, options);

    const Words& words = wordsFor(options);
    const double width = options.width;
    const double count = static_cast<double>(bars.size());
    constexpr double kAxisBand = 28;
    double rowHeight = 30;
    double height = kTop + count * rowHeight + kAxisBand;
    if (options.height > 0) {
        height = options.height;
        rowHeight = std::max(1.0, (height - kTop - kAxisBand) / count);
    }

    // What each row prints at its end, and how wide the label and value columns are.
    std::vector<std::string> values;
    double labelWidth = 0;
    double valueWidth = 0;
    bool anyFew = false;
    for (const Bar& bar : bars) {
        const auto value = finite(bar.value);
        values.push_back(value ? valueText(*value, options) : std::string("\u2014"));
        labelWidth = std::max(labelWidth, textWidth(bar.label, kLabelSize));
        double w = textWidth(values.back(), kLabelSize);
        if (bar.tooFew) w += textWidth(std::string(" ") + words.few, kLabelSize);
        valueWidth = std::max(valueWidth, w);
        anyFew = anyFew || bar.tooFew;
    }
    // The value column first (it carries the numbers), then the labels; the plot keeps a quarter.
    valueWidth = std::clamp(valueWidth, 40.0, width * 0.45);
    const double labelRoom = std::max(24.0, std::min(width * 0.35, width * 0.75 - valueWidth - 32));
    labelWidth = std::clamp(labelWidth, std::min(48.0, labelRoom), labelRoom);
    const double plotLeft = kPad + labelWidth + 8;
    const double plotRight = width - kPad - valueWidth - 8;
    const double plotBottom = kTop + count * rowHeight;
    const auto x = [&](double value) {
        return plotLeft + fraction(value, options) * (plotRight - plotLeft);
    };
    const double zero = x(std::clamp(0.0, options.min, options.max));

    std::string out;
    out.reserve(1024 + bars.size() * 600);
    open(out, id, width, height, title, description);
    if (anyFew) out += "<defs>" + hatch(id + "-few", kBarLight, kBar) + "</defs>";

    // Grid and axis: ticks at 0, 25, 50, 75 and 100% of the scale, only the ends labelled when
    // the labels would overlap.
    double tickWidth = 0;
    for (int i = 0; i <= 4; ++i) {
        const double tick = options.min + (options.max - options.min) * i / 4.0;
        tickWidth = std::max(tickWidth, textWidth(tickText(tick, options), kSmallSize));
    }
    const bool endsOnly = (plotRight - plotLeft) / 4 < tickWidth + 6;
    for (int i = 0; i <= 4; ++i) {
        const double tick = options.min + (options.max - options.min) * i / 4.0;
        const double tx = x(tick);
        out += line(tx, kTop, tx, plotBottom, kGrid, 1);
        if (endsOnly && i != 0 && i != 4) continue;
        const char* anchor = !endsOnly ? "middle" : i == 0 ? "start" : "end";
        out += text(tx, plotBottom + 18, kSmallSize, kMutedInk, anchor, tickText(tick, options),
                    "tick");
    }
    out += line(plotLeft, plotBottom, plotRight, plotBottom, kAxis, 1);

    for (std::size_t i = 0; i < bars.size(); ++i) {
        const Bar& bar = bars[i];
        const double centre = kTop + (static_cast<double>(i) + 0.5) * rowHeight;
        const double barHeight = std::min(18.0, rowHeight * 0.6);
        const auto value = finite(bar.value);
        const std::string interval = intervalText(bar.low, bar.high, options);

        std::string summary = escape(bar.label) + ": " + values[i];
        if (!value) summary = escape(bar.label) + ": " + words.noData;
        if (!interval.empty()) summary += " (" + interval + ")";
        if (bar.tooFew) summary += std::string(" ") + words.few;

        out += "<g class=\"row\"><title>" + summary + "</title>";
        out += text(plotLeft - 8, baseline(centre, kLabelSize), kLabelSize, kInk, "end",
                    fitted(bar.label, labelWidth, kLabelSize), "label");
        if (value) {
            const double end = x(*value);
            out += "<rect class=\"" + std::string(bar.tooFew ? "bar few" : "bar") + "\" x=\"" +
                   num(std::min(zero, end)) + "\" y=\"" + num(centre - barHeight / 2) +
                   "\" width=\"" + num(std::abs(end - zero)) + "\" height=\"" + num(barHeight) +
                   "\" fill=\"" + (bar.tooFew ? "url(#" + id + "-few)" : std::string(kBar)) + "\"" +
                   (bar.tooFew ? std::string(" stroke=\"") + kBar + "\"" : "") + "/>";
        }
        if (!interval.empty()) {
            const double a = x(*finite(bar.low));
            const double b = x(*finite(bar.high));
            const double cap = barHeight / 3;
            out += "<g class=\"whisker\">";
            out += line(std::min(a, b), centre, std::max(a, b), centre, kInk, 1.5);
            out += line(a, centre - cap, a, centre + cap, kInk, 1.5);
            out += line(b, centre - cap, b, centre + cap, kInk, 1.5);
            out += "</g>";
        }
        std::string printed = values[i];
        if (bar.tooFew) {
            // Cut (never dropped) when the column is too narrow; the row's <title> has it whole.
            const double room = valueWidth - textWidth(values[i] + " ", kLabelSize);
            printed += std::string(" <tspan fill=\"") + kMutedInk + "\">" +
                       fitted(words.few, room, kLabelSize) + "</tspan>";
        }
        out += text(plotRight + 8, baseline(centre, kLabelSize), kLabelSize, kInk, "start", printed,
                    "value");
        out += "</g>";
    }
    out += "</svg>";
    return out;
}

// ---- line chart ------------------------------------------------------------------------------

std::string lineChart(std::string_view title, std::string_view description,
                      const std::vector<Point>& points, const Options& options) {
    validate(options);
    Fingerprint fingerprint;
    fingerprint.add("line");
    fingerprint.add(title);
    fingerprint.add(description);
    bool anything = false;
    for (const Point& point : points) {
        fingerprint.add(point.label);
        fingerprint.add(point.value);
        fingerprint.add(point.low);
        fingerprint.add(point.high);
        anything = anything || finite(point.value) || (finite(point.low) && finite(point.high));
    }
    const std::string id = chartId(fingerprint);
    if (!anything) return emptyChart(id, title, description, options);

    const double width = options.width;
    const double height = options.height > 0 ? options.height : 300;
    constexpr double kXLabelBand = 32;
    double tickWidth = 0;
    for (int i = 0; i <= 4; ++i) {
        const double tick = options.min + (options.max - options.min) * i / 4.0;
        tickWidth = std::max(tickWidth, textWidth(tickText(tick, options), kSmallSize));
    }
    const double plotLeft = kPad + std::min(tickWidth, width * 0.25) + 8;
    const double plotRight = width - kPad - 8;
    const double plotTop = kTop + 8;
    const double plotBottom = std::max(plotTop + 20, height - kXLabelBand);
    const std::size_t n = points.size();
    const double step = (plotRight - plotLeft) / static_cast<double>(n);
    const auto x = [&](std::size_t i) { return plotLeft + step * (static_cast<double>(i) + 0.5); };
    const auto y = [&](double value) {
        return plotBottom - fraction(value, options) * (plotBottom - plotTop);
    };

    std::string out;
    out.reserve(2048 + n * 300);
    open(out, id, width, height, title, description);

    for (int i = 0; i <= 4; ++i) {
        const double tick = options.min + (options.max - options.min) * i / 4.0;
        const double ty = y(tick);
        out += line(plotLeft, ty, plotRight, ty, i == 0 ? kAxis : kGrid, 1);
        out += text(plotLeft - 6, baseline(ty, kSmallSize), kSmallSize, kMutedInk, "end",
                    tickText(tick, options), "tick");
    }

    // The interval band: one polygon per run of points with both ends.
    const auto interval = [&](std::size_t i) -> std::optional<std::pair<double, double>> {
        const auto low = finite(points[i].low);
        const auto high = finite(points[i].high);
        if (!low || !high) return std::nullopt;
        return std::pair{std::min(*low, *high), std::max(*low, *high)};
    };
    for (std::size_t start = 0; start < n;) {
        if (!interval(start)) {
            ++start;
            continue;
        }
        std::size_t end = start;
        while (end < n && interval(end)) ++end;
        if (end - start == 1) {
            const auto [low, high] = *interval(start);
            out += "<rect class=\"band\" x=\"" + num(x(start) - 3) + "\" y=\"" + num(y(high)) +
                   "\" width=\"6\" height=\"" + num(y(low) - y(high)) + "\" fill=\"" + kBand +
                   "\"/>";
        } else {
            std::string polygon;
            for (std::size_t i = start; i < end; ++i) {
                polygon += num(x(i)) + "," + num(y(interval(i)->second)) + " ";
            }
            for (std::size_t i = end; i-- > start;) {
                polygon += num(x(i)) + "," + num(y(interval(i)->first)) + " ";
            }
            polygon.pop_back();
            out += "<polygon class=\"band\" points=\"" + polygon + "\" fill=\"" + kBand + "\"/>";
        }
        start = end;
    }

    // The value: one polyline per run of points with a value, then a dot for each point.
    for (std::size_t start = 0; start < n;) {
        if (!finite(points[start].value)) {
            ++start;
            continue;
        }
        std::size_t end = start;
        while (end < n && finite(points[end].value)) ++end;
        if (end - start >= 2) {
            std::string polyline;
            for (std::size_t i = start; i < end; ++i) {
                polyline += num(x(i)) + "," + num(y(*points[i].value)) + " ";
            }
            polyline.pop_back();
            out += "<polyline class=\"line\" points=\"" + polyline + "\" fill=\"none\" stroke=\"" +
                   kLine + "\" stroke-width=\"2\" stroke-linejoin=\"round\"/>";
        }
        start = end;
    }
    const double dotRadius = std::clamp(step / 4, 1.5, 3.5);
    for (std::size_t i = 0; i < n; ++i) {
        const auto value = finite(points[i].value);
        if (!value) continue;
        std::string summary = escape(points[i].label) + ": " + valueText(*value, options);
        const std::string band = intervalText(points[i].low, points[i].high, options);
        if (!band.empty()) summary += " (" + band + ")";
        out += "<circle class=\"dot\" cx=\"" + num(x(i)) + "\" cy=\"" + num(y(*value)) + "\" r=\"" +
               num(dotRadius) + "\" fill=\"" + kLine +
               "\" stroke=\"#fff\" stroke-width=\"1\"><title>" + summary + "</title></circle>";
    }

    // X labels: at most 12, and no closer than 56 px, every `every`-th point from the first.
    const auto most =
        static_cast<std::size_t>(std::clamp(std::floor((plotRight - plotLeft) / 56), 1.0, 12.0));
    const std::size_t every = (n + most - 1) / most;
    for (std::size_t i = 0; i < n; i += every) {
        out += text(x(i), plotBottom + 18, kSmallSize, kMutedInk, "middle",
                    fitted(points[i].label, step * static_cast<double>(every) - 4, kSmallSize),
                    "xlabel");
    }
    out += "</svg>";
    return out;
}

// ---- heat map --------------------------------------------------------------------------------

std::string heatMap(std::string_view title, std::string_view description,
                    const std::vector<std::string>& rowLabels,
                    const std::vector<std::string>& columnLabels,
                    const std::vector<std::vector<std::optional<double>>>& cells,
                    const Options& options) {
    validate(options);
    const std::size_t rows = rowLabels.size();
    const std::size_t columns = columnLabels.size();
    const auto cell = [&](std::size_t r, std::size_t c) -> std::optional<double> {
        if (r >= cells.size() || c >= cells[r].size()) return std::nullopt;
        return finite(cells[r][c]);
    };
    Fingerprint fingerprint;
    fingerprint.add("heat");
    fingerprint.add(title);
    fingerprint.add(description);
    for (const auto& label : rowLabels) fingerprint.add(label);
    for (const auto& label : columnLabels) fingerprint.add(label);
    for (std::size_t r = 0; r < rows; ++r) {
        for (std::size_t c = 0; c < columns; ++c) fingerprint.add(cell(r, c));
    }
    const std::string id = chartId(fingerprint);
    if (rows == 0 || columns == 0) return emptyChart(id, title, description, options);

    const Words& words = wordsFor(options);
    const double width = options.width;
    constexpr double kColumnBand = 24;
    constexpr double kLegendBand = 52;
    double cellHeight = 28;
    double height = kTop + kColumnBand + static_cast<double>(rows) * cellHeight + kLegendBand;
    if (options.height > 0) {
        height = options.height;
        cellHeight =
            std::max(1.0, (height - kTop - kColumnBand - kLegendBand) / static_cast<double>(rows));
    }
    double labelWidth = 0;
    for (const auto& label : rowLabels) {
        labelWidth = std::max(labelWidth, textWidth(label, kLabelSize));
    }
    labelWidth = std::clamp(labelWidth, 48.0, width * 0.35);
    const double gridLeft = kPad + labelWidth + 8;
    const double gridRight = width - kPad;
    const double gridTop = kTop + kColumnBand;
    const double cellWidth = (gridRight - gridLeft) / static_cast<double>(columns);
    bool anyEmpty = false;

    std::string out;
    out.reserve(2048 + rows * columns * 220);
    open(out, id, width, height, title, description);
    out += "<defs>" + hatch(id + "-nodata", kNoData, kNoDataHatch);
    out += "<linearGradient id=\"" + id + "-scale\">";
    for (std::size_t i = 0; i < kScale.size(); ++i) {
        const auto& s = kScale[i];
        out +=
            "<stop offset=\"" + num(100.0 * static_cast<double>(i) / (kScale.size() - 1)) +
            "%\" stop-color=\"" +
            hex({static_cast<double>(s[0]), static_cast<double>(s[1]), static_cast<double>(s[2])}) +
            "\"/>";
    }
    out += "</linearGradient></defs>";

    for (std::size_t c = 0; c < columns; ++c) {
        out += text(gridLeft + (static_cast<double>(c) + 0.5) * cellWidth, gridTop - 8, kSmallSize,
                    kInk, "middle", fitted(columnLabels[c], cellWidth - 4, kSmallSize), "column");
    }
    for (std::size_t r = 0; r < rows; ++r) {
        const double top = gridTop + static_cast<double>(r) * cellHeight;
        out += text(gridLeft - 8, baseline(top + cellHeight / 2, kLabelSize), kLabelSize, kInk,
                    "end", fitted(rowLabels[r], labelWidth, kLabelSize), "label");
        for (std::size_t c = 0; c < columns; ++c) {
            const double left = gridLeft + static_cast<double>(c) * cellWidth;
            const auto value = cell(r, c);
            const auto rgb =
                value ? scaleColour(fraction(*value, options)) : std::array<double, 3>{};
            anyEmpty = anyEmpty || !value;
            out += "<rect class=\"" + std::string(value ? "cell" : "cell empty") + "\" x=\"" +
                   num(left) + "\" y=\"" + num(top) + "\" width=\"" + num(cellWidth) +
                   "\" height=\"" + num(cellHeight) + "\" fill=\"" +
                   (value ? hex(rgb) : "url(#" + id + "-nodata)") +
                   "\" stroke=\"#fff\" stroke-width=\"1\"><title>" + escape(rowLabels[r]) + ", " +
                   escape(columnLabels[c]) + ": " +
                   (value ? valueText(*value, options) : std::string(words.noData)) +
                   "</title></rect>";
            if (value) {
                const std::string printed = localized(fixed(*value, options.decimals), options);
                if (textWidth(printed, kSmallSize) + 6 <= cellWidth && cellHeight >= 16) {
                    out += text(left + cellWidth / 2, baseline(top + cellHeight / 2, kSmallSize),
                                kSmallSize, inkOn(rgb), "middle", printed);
                }
            }
        }
    }

    // The legend: the scale from min to max, and the no-data swatch when a cell is empty.
    const double legendTop = gridTop + static_cast<double>(rows) * cellHeight + 12;
    const double legendWidth = std::min(200.0, (gridRight - gridLeft) * 0.6);
    out += "<g class=\"legend\"><rect x=\"" + num(gridLeft) + "\" y=\"" + num(legendTop) +
           "\" width=\"" + num(legendWidth) + "\" height=\"12\" fill=\"url(#" + id +
           "-scale)\" stroke=\"" + kAxis + "\" stroke-width=\"0.5\"/>";
    out += text(gridLeft, legendTop + 28, kSmallSize, kMutedInk, "start",
                valueText(options.min, options), "legend-min");
    out += text(gridLeft + legendWidth, legendTop + 28, kSmallSize, kMutedInk, "end",
                valueText(options.max, options), "legend-max");
    if (anyEmpty) {
        const double swatch = gridLeft + legendWidth + 20;
        out += "<rect x=\"" + num(swatch) + "\" y=\"" + num(legendTop) +
               "\" width=\"16\" height=\"12\" fill=\"url(#" + id + "-nodata)\" stroke=\"" + kAxis +
               "\" stroke-width=\"0.5\"/>";
        out += text(swatch + 22, baseline(legendTop + 6, kSmallSize), kSmallSize, kMutedInk,
                    "start", fitted(words.noData, gridRight - swatch - 22, kSmallSize));
    }
    out += "</g></svg>";
    return out;
}

// ---- stacked bars ----------------------------------------------------------------------------

namespace {

// ColorBrewer RdYlBu (5 classes): diverging, colour-blind safe; worst answer red, best blue.
constexpr std::array<std::array<int, 3>, 5> kDiverging = {{{0xd7, 0x19, 0x1c},
                                                           {0xfd, 0xae, 0x61},
                                                           {0xff, 0xff, 0xbf},
                                                           {0xab, 0xd9, 0xe9},
                                                           {0x2c, 0x7b, 0xb6}}};

std::array<double, 3> divergingColour(std::size_t segment, std::size_t segments) {
    const double t =
        segments < 2 ? 1.0 : static_cast<double>(segment) / static_cast<double>(segments - 1);
    const double position = t * (kDiverging.size() - 1);
    const auto index = std::min(static_cast<std::size_t>(position), kDiverging.size() - 2);
    const double part = position - static_cast<double>(index);
    std::array<double, 3> rgb{};
    for (std::size_t c = 0; c < 3; ++c)
        rgb[c] = std::round(kDiverging[index][c] +
                            (kDiverging[index + 1][c] - kDiverging[index][c]) * part);
    return rgb;
}

double countOf(const Stack& stack, std::size_t segment) {
    if (segment >= stack.counts.size()) return 0;
    const double v = stack.counts[segment];
    return std::isfinite(v) && v > 0 ? v : 0;
}

}  // namespace

std::string stackedBars(std::string_view title, std::string_view description,
                        const std::vector<std::string>& segmentLabels,
                        const std::vector<Stack>& stacks, const Options& options) {
    validate(options);
    const std::size_t segments = segmentLabels.size();
    Fingerprint fingerprint;
    fingerprint.add("stack");
    fingerprint.add(title);
    fingerprint.add(description);
    for (const auto& label : segmentLabels) fingerprint.add(label);
    double anyCount = 0;
    for (const Stack& stack : stacks) {
        fingerprint.add(stack.label);
        for (std::size_t k = 0; k < segments; ++k) {
            fingerprint.add(countOf(stack, k));
            anyCount += countOf(stack, k);
        }
    }
    const std::string id = chartId(fingerprint);
    if (stacks.empty() || segments == 0 || anyCount <= 0)
        return emptyChart(id, title, description, options);

    const Words& words = wordsFor(options);
    const double width = options.width;
    constexpr double kRow = 28, kGap = 6, kLegendRow = 22;
    double labelWidth = 0;
    for (const Stack& stack : stacks)
        labelWidth = std::max(labelWidth, textWidth(stack.label, kLabelSize));
    labelWidth = std::clamp(labelWidth, 48.0, width * 0.4);
    const double barLeft = kPad + labelWidth + 8, barRight = width - kPad;
    const double barWidth = barRight - barLeft;
    // The legend wraps: as many entries a line as fit.
    std::vector<std::pair<double, double>> legendAt;  // x, y of each entry
    double x = barLeft, y = 0;
    for (const auto& label : segmentLabels) {
        const double w = 18 + std::min(textWidth(label, kSmallSize), barWidth - 18) + 16;
        if (x + w > barRight && x > barLeft) x = barLeft, y += kLegendRow;
        legendAt.emplace_back(x, y);
        x += w;
    }
    const double legendHeight = y + kLegendRow + 8;
    const double height = kTop + legendHeight + static_cast<double>(stacks.size()) * (kRow + kGap);

    Options percent = options;
    percent.unit = "%";
    percent.decimals = 1;
    std::string out;
    out.reserve(1024 + stacks.size() * segments * 260);
    open(out, id, width, height, title, description);
    out += "<g class=\"legend\">";
    for (std::size_t k = 0; k < segments; ++k) {
        const auto rgb = divergingColour(k, segments);
        const double top = kTop + legendAt[k].second;
        out += "<rect x=\"" + num(legendAt[k].first) + "\" y=\"" + num(top) +
               "\" width=\"12\" height=\"12\" fill=\"" + hex(rgb) + "\" stroke=\"" + kAxis +
               "\" stroke-width=\"0.5\"/>";
        out += text(legendAt[k].first + 18, baseline(top + 6, kSmallSize), kSmallSize, kInk,
                    "start", fitted(segmentLabels[k], barWidth - 18, kSmallSize));
    }
    out += "</g>";
    for (std::size_t r = 0; r < stacks.size(); ++r) {
        const Stack& stack = stacks[r];
        const double top = kTop + legendHeight + static_cast<double>(r) * (kRow + kGap);
        out += text(barLeft - 8, baseline(top + kRow / 2, kLabelSize), kLabelSize, kInk, "end",
                    fitted(stack.label, labelWidth, kLabelSize), "label");
        double total = 0;
        for (std::size_t k = 0; k < segments; ++k) total += countOf(stack, k);
        if (total <= 0) {
            out += text(barLeft, baseline(top + kRow / 2, kSmallSize), kSmallSize, kMutedInk,
                        "start", fitted(words.noData, barWidth, kSmallSize), "empty");
            continue;
        }
        double left = barLeft;
        for (std::size_t k = 0; k < segments; ++k) {
            const double count = countOf(stack, k);
            if (count <= 0) continue;
            const double share = count / total * 100;
            const double w = barWidth * count / total;
            const auto rgb = divergingColour(k, segments);
            out += "<rect class=\"segment\" x=\"" + num(left) + "\" y=\"" + num(top) +
                   "\" width=\"" + num(w) + "\" height=\"" + num(kRow) + "\" fill=\"" + hex(rgb) +
                   "\"><title>" + escape(stack.label) + ", " + escape(segmentLabels[k]) + ": " +
                   valueText(share, percent) + " (n = " + fixed(count, 0) + ")</title></rect>";
            const std::string printed = localized(fixed(share, 0), options) + "%";
            if (textWidth(printed, kSmallSize) + 6 <= w)
                out += text(left + w / 2, baseline(top + kRow / 2, kSmallSize), kSmallSize,
                            inkOn(rgb), "middle", printed);
            left += w;
        }
    }
    out += "</svg>";
    return out;
}

}  // namespace hailong::charts

// hailong — charts: server-side SVG charts (bars, trends, heat maps) for the analyst dashboard.
// Each call returns one complete, accessible <svg> element that prints and needs no script.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hailong::charts {

/// One bar of barChart(): a service's index with its 95% interval. A plain value.
struct Bar {
    std::string label;
    /// Empty (or NaN/inf) draws no bar and prints a dash.
    std::optional<double> value;
    /// The 95% interval, drawn as a whisker when both ends are finite.
    std::optional<double> low, high;
    /// Too few answers to trust the value: the bar is hatched and lighter and says so in words.
    bool tooFew = false;
};

/// One point of lineChart(), e.g. one period. An empty (or NaN/inf) value leaves a gap.
struct Point {
    std::string label;
    std::optional<double> value, low, high;
};

/// One row of stackedBars(): a question's answers counted by option, in the scale's order.
struct Stack {
    std::string label;
    /// One count per segment label (missing ones are 0); negative or NaN counts as 0.
    std::vector<double> counts;
};

/// How a chart is drawn. A plain value: copy it freely.
struct Options {
    /// The width in CSS pixels (at least 240).
    int width = 640;
    /// The height in CSS pixels; 0 derives it from the data (rows); otherwise at least 80.
    int height = 0;
    /// The value scale (finite, min < max). Values outside are clamped for drawing only: the
    /// printed text is always the real value.
    double min = 0, max = 100;
    /// Written right after each printed number, e.g. "84,5%".
    std::string unit = "%";
    /// Decimals of printed values (0 to 3): 1 for indices and shares, 0 for counts.
    int decimals = 1;
    /// Shown instead of a chart when there is nothing to draw.
    std::string emptyText = "Không có dữ liệu";
    /// "vi" (and "vi-…"): decimal comma and Vietnamese words; anything else: decimal point and
    /// English words.
    std::string locale = "vi";
};

// The functions below are pure and thread-safe (their only shared state is an atomic counter
// that makes element ids unique per process). Each returns an <svg> element (no XML
// declaration) with role="img" and aria-labelledby pointing at its <title> and <desc>, whose
// ids start with "hl-" and differ from every other chart's. All text is XML-escaped; invalid
// UTF-8 becomes U+FFFD. Throws std::invalid_argument if `options` break the limits above. With
// nothing to draw, each returns a small chart with the title and `options.emptyText`.

/// Horizontal bars, the label on the left and the value text at the end of each row, the 95%
/// interval as a whisker, bars with `tooFew` hatched and marked "(ít phiếu)"/"(few answers)".
std::string barChart(std::string_view title, std::string_view description,
                     const std::vector<Bar>& bars, const Options& options = {});

/// A trend: x labels along the bottom (thinned to at most 12), y ticks at 0/25/50/75/100% of
/// [min, max], the interval as a light band, the value as a line with dots and gaps where the
/// value is empty. Nothing to draw: no points, or no point with a finite value or interval.
std::string lineChart(std::string_view title, std::string_view description,
                      const std::vector<Point>& points, const Options& options = {});

/// A grid of `cells[row][column]` coloured light to dark (ColorBrewer Blues, colour-blind safe)
/// from min to max; empty, missing or NaN cells are grey and hatched. Each cell's <rect> has a
/// <title> "row, column: value". A legend shows the scale from min to max. Extra cells beyond
/// the labels are ignored. Nothing to draw: no rows or no columns.
std::string heatMap(std::string_view title, std::string_view description,
                    const std::vector<std::string>& rowLabels,
                    const std::vector<std::string>& columnLabels,
                    const std::vector<std::vector<std::optional<double>>>& cells,
                    const Options& options = {});

/// 100% stacked horizontal bars, one per stack (e.g. a question), each segment an option's
/// share, coloured from the first option (red: the worst answer) to the last (blue: the best)
/// in ColorBrewer's colour-blind safe RdYlBu; the share printed inside segments wide enough to
/// hold it; each segment's <title> reads "label, option: 12,3% (n = 45)"; a legend names the
/// segments. The scale options (min, max, unit) are not used. Nothing to draw: no stacks, no
/// segment labels, or no stack with a count.
std::string stackedBars(std::string_view title, std::string_view description,
                        const std::vector<std::string>& segmentLabels,
                        const std::vector<Stack>& stacks, const Options& options = {});

}  // namespace hailong::charts

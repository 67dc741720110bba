// hailong — qrSvg: the QR code of a survey link as a standalone SVG, for dossier receipts.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace hailong {

/// How much of a damaged or dirty code a reader can still recover (ISO/IEC 18004 levels).
enum class QrErrorCorrection { Low, Medium, Quartile, High };

/// How qrSvg() draws a code. A plain value: copy it freely.
struct QrSvgOptions {
    /// The `width` and `height` attributes of the <svg> element, in CSS pixels (> 0).
    int widthPx = 256;
    int heightPx = 256;
    QrErrorCorrection errorCorrection = QrErrorCorrection::Medium;
    /// The accessible label, written (XML-escaped) as the <svg>'s <title>.
    std::string title = "QR code";
};

/// The most bytes qrSvg() encodes: beyond this a printed code is too dense to scan reliably.
inline constexpr std::size_t kQrSvgMaxBytes = 1000;

/// Returns a complete SVG document (UTF-8 XML, starting with "<svg") of the QR code of `text`,
/// encoded in byte mode as given (UTF-8 text stays UTF-8 bytes) with the smallest version that
/// fits. The viewBox is in modules and includes a 4-module white quiet zone; the black modules
/// are one <path>, one subpath per horizontal run. Throws std::invalid_argument if `text` is
/// empty, longer than kQrSvgMaxBytes, or rejected by the encoder, or if a size is not
/// positive. Thread-safe (no shared state).
std::string qrSvg(std::string_view text, const QrSvgOptions& options = {});

}  // namespace hailong

#include "links/QrSvg.h"

#include <qrencode.h>

#include <cerrno>
#include <memory>
#include <new>
#include <stdexcept>

namespace hailong {
namespace {

constexpr int kQuietZoneModules = 4;

struct QrcodeFree {
    void operator()(QRcode* code) const { QRcode_free(code); }
};
using QrcodePtr = std::unique_ptr<QRcode, QrcodeFree>;

QRecLevel toLevel(QrErrorCorrection level) {
    switch (level) {
        case QrErrorCorrection::Low:
            return QR_ECLEVEL_L;
        case QrErrorCorrection::Medium:
            return QR_ECLEVEL_M;
        case QrErrorCorrection::Quartile:
            return QR_ECLEVEL_Q;
        case QrErrorCorrection::High:
            return QR_ECLEVEL_H;
    }
    throw std::invalid_argument("qrSvg: unknown error correction level");
}

QrcodePtr encode(std::string_view text, QrErrorCorrection level) {
    if (text.empty()) throw std::invalid_argument("qrSvg: the text to encode is empty");
    if (text.size() > kQrSvgMaxBytes) {
        throw std::invalid_argument("qrSvg: the text is " + std::to_string(text.size()) +
                                    " bytes, more than the " + std::to_string(kQrSvgMaxBytes) +
                                    " a QR code may hold here");
    }
    // Byte (8-bit) mode for the whole text, version 0: the smallest version that fits.
    errno = 0;
    QrcodePtr code(QRcode_encodeData(static_cast<int>(text.size()),
                                     reinterpret_cast<const unsigned char*>(text.data()), 0,
                                     toLevel(level)));
    if (code) return code;
    const int error = errno;
    if (error == ENOMEM) throw std::bad_alloc();
    if (error == ERANGE) {
        throw std::invalid_argument("qrSvg: the text (" + std::to_string(text.size()) +
                                    " bytes) is too long for a QR code at this error "
                                    "correction level");
    }
    throw std::invalid_argument("qrSvg: libqrencode rejected the text (errno " +
                                std::to_string(error) + ")");
}

// Escapes text for an XML element or a double-quoted attribute. Control characters XML 1.0
// does not allow become spaces.
void appendEscaped(std::string& out, std::string_view text) {
    for (const char c : text) {
        switch (c) {
            case '<':
                out += "&lt;";
                break;
            case '>':
                out += "&gt;";
                break;
            case '&':
                out += "&amp;";
                break;
            case '"':
                out += "&quot;";
                break;
            case '\'':
                out += "&apos;";
                break;
            default:
                if (static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n' && c != '\r') {
                    out += ' ';
                } else {
                    out += c;
                }
        }
    }
}

// One subpath "M<x> <y>h<n>v1h-<n>z" per run of dark modules in a row, in module units
// shifted by the quiet zone.
std::string pathData(const QRcode& code) {
    std::string d;
    const int width = code.width;
    for (int y = 0; y < width; ++y) {
        const unsigned char* row = code.data + static_cast<std::size_t>(y) * width;
        int x = 0;
        while (x < width) {
            if ((row[x] & 1) == 0) {
                ++x;
                continue;
            }
            const int start = x;
            while (x < width && (row[x] & 1) != 0) ++x;
            const std::string run = std::to_string(x - start);
            d += 'M';
            d += std::to_string(start + kQuietZoneModules);
            d += ' ';
            d += std::to_string(y + kQuietZoneModules);
            d += 'h';
            d += run;
            d += "v1h-";
            d += run;
            d += 'z';
        }
    }
    return d;
}

}  // namespace

std::string qrSvg(std::string_view text, const QrSvgOptions& options) {
    if (options.widthPx <= 0 || options.heightPx <= 0) {
        throw std::invalid_argument("qrSvg: the width and height must be positive");
    }
    const QrcodePtr code = encode(text, options.errorCorrection);
    const std::string side = std::to_string(code->width + 2 * kQuietZoneModules);

    std::string svg;
    svg.reserve(1024 + static_cast<std::size_t>(code->width) * code->width);
    svg += R"(<svg xmlns="http://www.w3.org/2000/svg" version="1.1" role="img" width=")";
    svg += std::to_string(options.widthPx);
    svg += R"(" height=")";
    svg += std::to_string(options.heightPx);
    svg += R"(" viewBox="0 0 )";
    svg += side;
    svg += ' ';
    svg += side;
    svg += R"(" shape-rendering="crispEdges">)";
    svg += "\n<title>";
    appendEscaped(svg, options.title);
    svg += "</title>\n";
    svg += R"(<rect width="100%" height="100%" fill="#fff"/>)";
    svg += "\n";
    svg += R"(<path fill="#000" d=")";
    svg += pathData(*code);
    svg += R"("/>)";
    svg += "\n</svg>\n";
    return svg;
}

}  // namespace hailong

// libFuzzer target for the XLSX reader of imports (exports::readXlsxSheet). An input whose first
// byte is even is the workbook itself (seeds: real workbooks, e.g. libxlsxwriter's, which start
// with "PK"); an odd first byte says the rest is a table (rows split at '\n', cells at '\t')
// that is written here as a minimal workbook (inline or shared strings, stored or deflated by
// the second byte) and must read back cell for cell. Any bytes: a Problem 422 or rows within
// the bounds the reader promises, never another exception.
#include "FuzzSupport.h"
#include "common/Utf8.h"
#include "export/ResponseImport.h"

#include <hailong/Problem.h>

#include <Poco/DateTime.h>
#include <Poco/Path.h>
#include <Poco/Zip/Compress.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

using namespace hailong;
using hailong::fuzz::fail;
using Table = std::vector<std::pair<std::size_t, std::vector<std::string>>>;

namespace {

std::optional<Table> read(std::string_view bytes) {
    try {
        Table rows = exports::readXlsxSheet(bytes);
        for (const auto& [number, cells] : rows)
            if (number > 1048576 || cells.size() > 16384) fail("a row beyond the bounds");
        return rows;
    } catch (const Problem& p) {
        if (p.status() != 422 || p.code() != "import.bad_xlsx") fail("not import.bad_xlsx");
        return std::nullopt;
    }
}

std::string escaped(std::string_view text) {
    std::string out;
    for (char c : text) {
        switch (c) {
            case '&':
                out += "&amp;";
                break;
            case '<':
                out += "&lt;";
                break;
            case '>':
                out += "&gt;";
                break;
            case '"':
                out += "&quot;";
                break;
            default:
                out += c;
        }
    }
    return out;
}

// "A", "B", ... "Z", "AA": the letters of column `c` (0-based).
std::string letters(std::size_t c) {
    std::string out;
    for (++c; c > 0; c = (c - 1) / 26)
        out.insert(out.begin(), static_cast<char>('A' + (c - 1) % 26));
    return out;
}

// Text XML 1.0 can carry as it is: UTF-8 without control characters or U+FFFE/U+FFFF.
bool carried(const std::string& cell) {
    if (!utf8::isValid(cell)) return false;
    for (unsigned char c : cell)
        if (c < 0x20 || c == 0x7F) return false;
    return cell.find("\xEF\xBF\xBE") == std::string::npos &&
           cell.find("\xEF\xBF\xBF") == std::string::npos;
}

std::string workbook(const Table& table, bool shared, bool deflate) {
    std::string sheet =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
        "<worksheet "
        "xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\"><sheetData>";
    std::string strings =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
        "<sst xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\">";
    std::size_t count = 0;
    for (const auto& [number, cells] : table) {
        sheet += "<row r=\"" + std::to_string(number) + "\">";
        for (std::size_t c = 0; c < cells.size(); ++c) {
            const std::string ref = letters(c) + std::to_string(number);
            if (shared) {
                sheet += "<c r=\"" + ref + "\" t=\"s\"><v>" + std::to_string(count++) + "</v></c>";
                strings += "<si><t xml:space=\"preserve\">" + escaped(cells[c]) + "</t></si>";
            } else {
                sheet += "<c r=\"" + ref + "\" t=\"inlineStr\"><is><t>" + escaped(cells[c]) +
                         "</t></is></c>";
            }
        }
        sheet += "</row>";
    }
    sheet += "</sheetData></worksheet>";
    strings += "</sst>";
    const std::vector<std::pair<std::string, std::string>> parts{
        {"xl/workbook.xml",
         "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
         "<workbook xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\" "
         "xmlns:r=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships\">"
         "<sheets><sheet name=\"Phieu\" sheetId=\"1\" r:id=\"rId1\"/></sheets></workbook>"},
        {"xl/_rels/workbook.xml.rels",
         "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
         "<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">"
         "<Relationship Id=\"rId1\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/"
         "relationships/worksheet\" Target=\"worksheets/sheet1.xml\"/></Relationships>"},
        {"xl/worksheets/sheet1.xml", sheet},
        {"xl/sharedStrings.xml", strings}};
    std::ostringstream out;
    Poco::Zip::Compress zip(out, true);
    for (const auto& [name, text] : parts) {
        if (name == "xl/sharedStrings.xml" && !shared) continue;
        std::istringstream in(text);
        zip.addFile(in, Poco::DateTime(2026, 11, 28), Poco::Path(name, Poco::Path::PATH_UNIX),
                    deflate ? Poco::Zip::ZipCommon::CM_DEFLATE : Poco::Zip::ZipCommon::CM_STORE);
    }
    zip.close();
    return out.str();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view bytes(reinterpret_cast<const char*>(data), size);
    if (size < 2 || (data[0] & 1) == 0) {
        (void)read(bytes);
        return 0;
    }
    // A table written as a workbook reads back the same.
    Table table;
    std::size_t number = 0;
    for (std::string_view rest = bytes.substr(2); number < 2000;) {
        const std::size_t end = std::min(rest.find('\n'), rest.size());
        std::string_view line = rest.substr(0, end);
        std::vector<std::string> cells;
        for (std::size_t at = 0; at <= line.size() && cells.size() < 200;) {
            const std::size_t stop = std::min(line.find('\t', at), line.size());
            std::string cell(line.substr(at, stop - at));
            cells.push_back(carried(cell) ? cell : "");
            at = stop + 1;
        }
        table.push_back({++number, std::move(cells)});
        if (end == rest.size()) break;
        rest.remove_prefix(end + 1);
    }
    const auto back = read(workbook(table, data[1] & 1, data[1] & 2));
    if (!back) fail("a workbook written here is refused");
    if (*back != table) fail("a workbook written here reads back differently");
    return 0;
}

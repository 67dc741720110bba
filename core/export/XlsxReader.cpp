// The first sheet of an XLSX workbook as text cells (for imports of typed paper forms).
#include "export/ResponseImport.h"

#include <hailong/Problem.h>

#include <Poco/SAX/Attributes.h>
#include <Poco/SAX/DefaultHandler.h>
#include <Poco/SAX/InputSource.h>
#include <Poco/SAX/SAXParser.h>
#include <Poco/Zip/ZipArchive.h>
#include <Poco/Zip/ZipStream.h>

#include <sstream>

namespace hailong::exports {

namespace {

constexpr std::size_t kMaxPartBytes = 256u << 20;  // one part of the workbook, uncompressed
constexpr std::size_t kMaxRows = 1048576, kMaxColumns = 16384;

[[noreturn]] void bad(const std::string& why) {
    throw Problem(422, "import.bad_xlsx", {{"why", why}});
}

// One part of the archive, uncompressed; "" when it is absent. `in` holds the archive's bytes
// (read in place: the entry is found by its offset).
std::string part(std::istream& in, const Poco::Zip::ZipArchive& archive, const std::string& name) {
    auto it = archive.findHeader(name);
    if (it == archive.headerEnd()) return {};
    if (it->second.getUncompressedSize() > kMaxPartBytes) bad(name + " is too large");
    in.clear();
    std::string out;
    try {  // a damaged entry (a method Poco cannot read, a cut stream) is the file's fault
        Poco::Zip::ZipInputStream zip(in, it->second, true);
        char buffer[65536];
        while (zip.read(buffer, sizeof buffer) || zip.gcount() > 0) {
            out.append(buffer, static_cast<std::size_t>(zip.gcount()));
            if (out.size() > kMaxPartBytes) bad(name + " is too large");
        }
    } catch (const Poco::Exception& e) {
        bad(name + ": " + e.displayText());
    }
    return out;
}

// Calls `element(name, attributes)` at each start tag and collects text inside <t> and <v>.
class Handler : public Poco::XML::DefaultHandler {
public:
    std::function<void(const std::string&, const Poco::XML::Attributes&)> start;
    std::function<void(const std::string&)> end;
    std::string text;
    bool collecting = false;

    void startElement(const Poco::XML::XMLString&, const Poco::XML::XMLString& localName,
                      const Poco::XML::XMLString&, const Poco::XML::Attributes& a) override {
        if (localName == "t" || localName == "v") collecting = true;
        if (start) start(localName, a);
    }
    void endElement(const Poco::XML::XMLString&, const Poco::XML::XMLString& localName,
                    const Poco::XML::XMLString&) override {
        if (end) end(localName);
        if (localName == "t" || localName == "v") collecting = false;
    }
    void characters(const Poco::XML::XMLChar ch[], int start_, int length) override {
        if (collecting) text.append(ch + start_, static_cast<std::size_t>(length));
    }
};

void parse(const std::string& xml, Handler& handler, const std::string& name) {
    Poco::XML::SAXParser parser;
    parser.setFeature(Poco::XML::XMLReader::FEATURE_NAMESPACES, true);
    parser.setContentHandler(&handler);
    std::istringstream in(xml);
    Poco::XML::InputSource source(in);
    try {
        parser.parse(&source);
    } catch (const Poco::Exception& e) {
        bad(name + ": " + e.displayText());
    }
}

// "BC12" → column 54 (0-based: 54), from the cell reference's letters.
std::size_t columnOf(const std::string& ref) {
    std::size_t c = 0;
    for (char ch : ref) {
        if (ch < 'A' || ch > 'Z') break;
        c = c * 26 + static_cast<std::size_t>(ch - 'A' + 1);
        if (c > kMaxColumns) bad("cell " + ref + " is beyond the last column");
    }
    return c == 0 ? 0 : c - 1;
}

}  // namespace

std::vector<std::pair<std::size_t, std::vector<std::string>>> readXlsxSheet(
    std::string_view bytes) {
    std::istringstream in{std::string(bytes)};  // one copy, read part by part
    std::unique_ptr<Poco::Zip::ZipArchive> archive;
    try {
        archive = std::make_unique<Poco::Zip::ZipArchive>(in);
    } catch (const Poco::Exception& e) {
        bad("not a ZIP archive (" + e.displayText() + ")");
    }
    // The first sheet: workbook.xml names it, the workbook's relations say where it is.
    std::string firstId, target;
    {
        Handler h;
        h.start = [&](const std::string& name, const Poco::XML::Attributes& a) {
            if (name == "sheet" && firstId.empty())
                firstId = a.getValue(
                    "http://schemas.openxmlformats.org/officeDocument/2006/relationships", "id");
        };
        const std::string xml = part(in, *archive, "xl/workbook.xml");
        if (xml.empty()) bad("xl/workbook.xml is missing");
        parse(xml, h, "xl/workbook.xml");
    }
    {
        Handler h;
        h.start = [&](const std::string& name, const Poco::XML::Attributes& a) {
            if (name == "Relationship" && a.getValue("", "Id") == firstId)
                target = a.getValue("", "Target");
        };
        parse(part(in, *archive, "xl/_rels/workbook.xml.rels"), h, "workbook relations");
    }
    if (target.empty()) bad("the first sheet is not found");
    target = target.starts_with("/") ? target.substr(1) : "xl/" + target;

    std::vector<std::string> shared;
    if (const std::string xml = part(in, *archive, "xl/sharedStrings.xml"); !xml.empty()) {
        Handler h;
        h.start = [&](const std::string& name, const Poco::XML::Attributes&) {
            if (name == "si") h.text.clear();
        };
        h.end = [&](const std::string& name) {
            if (name == "si") shared.push_back(h.text);
        };
        parse(xml, h, "shared strings");
    }

    std::vector<std::pair<std::size_t, std::vector<std::string>>> rows;
    const std::string xml = part(in, *archive, target);
    if (xml.empty()) bad(target + " is missing");
    Handler h;
    std::size_t column = 0, rowNumber = 0;
    std::string type;
    h.start = [&](const std::string& name, const Poco::XML::Attributes& a) {
        if (name == "row") {
            const std::string r = a.getValue("", "r");
            rowNumber = r.empty() ? rowNumber + 1 : std::stoul(r);
            if (rowNumber > kMaxRows || rows.size() >= kMaxRows) bad("too many rows");
            rows.push_back({rowNumber, {}});
        } else if (name == "c") {
            const std::string ref = a.getValue("", "r");
            column = ref.empty() ? (rows.empty() ? 0 : rows.back().second.size()) : columnOf(ref);
            type = a.getValue("", "t");
            h.text.clear();
        }
    };
    h.end = [&](const std::string& name) {
        if (name != "c" || rows.empty()) return;
        std::string value = h.text;
        if (type == "s") {
            std::size_t i = 0;
            try {
                i = std::stoul(value);
            } catch (const std::exception&) {
                bad("a shared string index is not a number");
            }
            if (i >= shared.size()) bad("a shared string index is out of range");
            value = shared[i];
        } else if (type == "b") {
            value = value == "1" ? "1" : "0";
        }
        auto& cells = rows.back().second;
        if (cells.size() <= column) cells.resize(column + 1);
        cells[column] = std::move(value);
        h.text.clear();
    };
    parse(xml, h, target);
    return rows;
}

}  // namespace hailong::exports

// Real readers of exported files for the tests: LibreOffice (XLSX to CSV) and the shell.
#pragma once

#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

namespace hailong::test {

inline std::string readFile(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

/// Runs `command` through the shell, its standard output to `out`; returns its exit status.
inline int runTo(const std::string& command, const std::filesystem::path& out) {
    return std::system((command + " > '" + out.string() + "' 2>/dev/null").c_str());
}

/// Every sheet of `xlsx` converted by LibreOffice to CSV (comma, '"', UTF-8, every text cell
/// quoted, values as stored rather than as shown), by sheet name, as the CSV's text. `work` is a
/// fresh folder (LibreOffice's profile goes there, so runs do not clash).
inline std::map<std::string, std::string> libreOfficeCsv(const std::filesystem::path& xlsx,
                                                         const std::filesystem::path& work) {
    namespace fs = std::filesystem;
    const fs::path out = work / "csv", profile = work / "profile";
    fs::create_directories(out);
    const std::string command =
        "soffice --headless --norestore -env:UserInstallation=file://" + profile.string() +
        " --convert-to 'csv:Text - txt - csv (StarCalc):44,34,76,1,,0,true,true,false,false,"
        "false,-1' --outdir '" +
        out.string() + "' '" + xlsx.string() + "' >'" + (work / "soffice.log").string() + "' 2>&1";
    const int status = std::system(command.c_str());
    INFO(command << "\n" << readFile(work / "soffice.log"));
    REQUIRE(status == 0);
    // LibreOffice names each sheet's file "<file>-<sheet>.csv".
    const std::string prefix = xlsx.stem().string() + "-";
    std::map<std::string, std::string> sheets;
    for (const auto& entry : fs::directory_iterator(out)) {
        const std::string name = entry.path().filename().string();
        if (entry.path().extension() != ".csv" || name.rfind(prefix, 0) != 0) continue;
        sheets[entry.path().stem().string().substr(prefix.size())] = readFile(entry.path());
    }
    return sheets;
}

}  // namespace hailong::test

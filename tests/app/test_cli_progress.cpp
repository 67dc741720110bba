// The CLI's long commands on a terminal: every import (directory, dossiers, paper responses) and
// the export draw a progress bar while they run and end with a summary; in a pipe or a log the
// bar is left out and the summary stays. The terminal is a real pseudo-terminal (util-linux's
// `script`).
#include "support/TestSupport.h"

#include <Poco/FileStream.h>
#include <Poco/StreamCopier.h>

#include <catch2/catch.hpp>

#include <fstream>

using namespace hailong;

namespace {

// Runs `hailong args...` on a pseudo-terminal; returns what the terminal showed.
std::string onTerminal(const std::vector<std::string>& args, int& code) {
    std::string command = test::hailongBinary();
    for (const std::string& a : args) command += " '" + a + "'";
    test::TempDir dir;
    const std::string log = dir.file("tty.txt");
    {
        test::Child child({"-qec", command, "/dev/null"}, {}, log, "/usr/bin/script");
        code = child.wait();
    }
    Poco::FileInputStream in(log);
    std::string out;
    Poco::StreamCopier::copyToString(in, out);
    return out;
}

}  // namespace

TEST_CASE("CLI: imports and exports show a progress bar on a terminal and a summary at the end",
          "[cli]") {
    test::TempDir dir;
    const std::string data = "paths.data=" + dir.file("data");
    const std::string examples = test::sourceDir() + "/examples/";
    int code = 0;

    // Directory: the bar reaches 100%, then the summary; in a log, the summary alone.
    std::string shown =
        onTerminal({"import", "directory", examples + "directory.csv", "--set", data}, code);
    INFO(shown);
    CHECK(code == 0);
    CHECK(shown.find("█") != std::string::npos);
    CHECK(shown.find("100%") != std::string::npos);
    CHECK(shown.find("dòng: ") > shown.rfind("100%"));  // the summary comes after the bar

    // Dossiers: 1,500 of them.
    std::ofstream csv(dir.file("dossiers.csv"));
    csv << "Mã hồ sơ,Đơn vị,Thủ tục,Ngày nhận,Số điện thoại\n";
    for (int i = 0; i < 1500; ++i)
        csv << "HT-XA-" << 100000 + i << ",HT-XA,1.001193,04/03/2025 08:15,\n";
    csv.close();
    shown = onTerminal({"import", "dossiers", dir.file("dossiers.csv"), "--set", data}, code);
    CHECK(code == 0);
    CHECK(shown.find("1500/1500") != std::string::npos);
    CHECK(shown.find("1500 dòng: 1500 tạo mới") != std::string::npos);
    std::string logged;
    CHECK(test::runHailong({"import", "dossiers", dir.file("dossiers.csv"), "--set", data},
                           logged) == 0);
    CHECK(logged.find("█") == std::string::npos);
    CHECK(logged.find("1500 dòng: 0 tạo mới, 0 cập nhật, 1500 không đổi") != std::string::npos);

    // Paper responses.
    std::ofstream forms(dir.file("forms.csv"));
    forms << "Số phiếu,Cơ quan,Ngày,rating\r\n";
    for (int i = 0; i < 120; ++i) forms << "P-" << i << ",HT-XA,2026-11-20 09:15,3\r\n";
    forms.close();
    shown = onTerminal(
        {"import", "responses", "--survey", "counter-quick", dir.file("forms.csv"), "--set", data},
        code);
    INFO(shown);
    CHECK(code == 0);
    CHECK(shown.find("120/120") != std::string::npos);
    CHECK(shown.find("100%") != std::string::npos);

    // The export of them.
    shown = onTerminal({"export", "--survey", "counter-quick", "--format", "csv", "--out",
                        dir.file("out.csv"), "--set", data},
                       code);
    CHECK(code == 0);
    CHECK(shown.find("100%") != std::string::npos);
    CHECK(shown.find("Đã ghi 120 phiếu") != std::string::npos);
}

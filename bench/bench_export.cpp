// Benchmark of core/export, side by side with its anchor in the same run: `hailong export` of
// one million sipas-2017 responses (22 ratings each, a comment on one in ten) to CSV, against
// the sqlite3 command-line tool's own CSV output of the same rows (the same columns pivoted by
// one GROUP BY; the issue asks for no less than half its speed). Then the rates of the other
// formats, and each export's peak memory (the child process's maximum resident set), for the
// whole year and for one month of it: flat memory means the same peak for both. Prints one JSON
// object.
#include "BenchData.h"
#include "index/IndexService.h"
#include "store/Migrations.h"
#include "survey/SurveyStore.h"
#include "text/IcuTextNormalizer.h"

#include <Poco/File.h>

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>

extern char** environ;

using namespace hailong;
using namespace hailong::bench;
using namespace Poco::Data::Keywords;
using Poco::Data::Session;

namespace {

struct Run {
    double seconds = 0;
    long peakKb = 0;  ///< the child's maximum resident set
};

// Runs `argv` as a child (stdout to `out` when given) under /usr/bin/time, which reports the
// child's peak resident set (the rusage of a child spawned from this process would also count
// what this process held before the child's exec), and waits for it: its time and peak memory.
Run spawn(std::vector<std::string> argv, const std::string& out = "") {
    const std::string peakFile = "/tmp/hailong-bench-peak-" + std::to_string(getpid());
    argv.insert(argv.begin(), {"/usr/bin/time", "-f", "%M", "-o", peakFile});
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    if (!out.empty())
        posix_spawn_file_actions_addopen(&actions, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                         0644);
    pid_t pid = 0;
    Run run;
    const auto start = Clock::now();
    if (posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ) != 0)
        throw std::runtime_error("cannot start " + argv[5]);
    posix_spawn_file_actions_destroy(&actions);
    int status = 0;
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        throw std::runtime_error(argv[5] + " failed");
    run.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    std::ifstream peak(peakFile);
    peak >> run.peakKb;
    std::remove(peakFile.c_str());
    return run;
}

// Lines of a file (the exports here hold no line breaks inside cells).
std::int64_t lines(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::int64_t n = 0;
    for (std::string line; std::getline(in, line);) ++n;
    return n;
}

double medianSeconds(const std::vector<Run>& runs) {
    std::vector<double> s;
    for (const Run& r : runs) s.push_back(r.seconds);
    return median(s);
}

std::string json(const std::vector<Run>& runs, std::int64_t rows) {
    std::vector<double> s;
    long peak = 0;
    for (const Run& r : runs) s.push_back(r.seconds), peak = std::max(peak, r.peakKb);
    std::ostringstream out;
    out << "{\"s\":{\"min\":" << *std::min_element(s.begin(), s.end())
        << ",\"median\":" << median(s) << ",\"max\":" << *std::max_element(s.begin(), s.end())
        << "},\"rows_per_s\":" << rows / median(s) << ",\"peak_mb\":" << peak / 1024.0
        << ",\"runs\":" << runs.size() << "}";
    return out.str();
}

}  // namespace

int main(int argc, char** argv) {
    const std::string source = argc > 1 ? argv[1] : HAILONG_SOURCE_DIR;
    const std::int64_t responses = argc > 2 ? std::atoll(argv[2]) : 1000000;
    const std::string file = argc > 3 ? argv[3] : "build/bench/export-bench.db";
    const std::string hailong = argc > 4 ? argv[4] : "build/bench/bin/hailong";
    const std::string outDir = file + ".out";
    const std::int64_t nowMs = 1795000000000;  // 2026-11-18

    double generateS = 0;
    {
        Database db(DatabaseUrl::parse("sqlite:" + file));
        Migrations::apply(db);
        SurveyStore surveys(db);
        surveys.load();
        surveys.publishFolder(source + "/surveys");
        std::int64_t stored = 0;
        db.read([&](Session& s) { s << "SELECT COUNT(*) FROM responses", into(stored), now; });
        if (stored != responses) {
            if (stored != 0) {
                std::cerr << file << " holds " << stored << " responses, not " << responses
                          << ": remove it first\n";
                return 1;
            }
            IcuTextNormalizer text(source + "/locale");
            DirectoryStore dir(db, text);
            generateS = seconds([&] {
                directory(dir);
                generate(db, *surveys.find("sipas-2017"), responses, nowMs);
                db.write([](Session& s) {
                    s << "UPDATE responses SET comment_raw = 'Cán bộ hướng dẫn tận tình, "
                         "nhưng phải chờ đợi quá lâu; đề nghị bố trí thêm ghế', comment_norm = "
                         "'can bo huong dan tan tinh nhung phai cho doi qua lau de nghi bo tri "
                         "them ghe', sentiment = 'negative', topics = 'waiting' WHERE id % 10 = 0",
                        now;
                });
            });
        }
    }
    // The aggregates a serving host keeps current (the XLSX's indices sheet reads them).
    double foldS = 0;
    {
        Database db(DatabaseUrl::parse("sqlite:" + file));
        SurveyStore surveys(db);
        surveys.load();
        index::IndexService indices(db, surveys);
        foldS = seconds([&] { indices.foldAll(); });
    }
    Poco::File(outDir).createDirectories();

    // The anchor: sqlite3 prints the same rows as CSV, a column per rating pivoted by GROUP BY,
    // with the directory's codes joined (the agencies' paths by name are left out: less work).
    std::string pivot;
    {
        Database db(DatabaseUrl::parse("sqlite:" + file));
        SurveyStore surveys(db);
        surveys.load();
        for (const Question& q : surveys.find("sipas-2017")->questions)
            if (q.type == QuestionType::Rating)
                pivot += ", MAX(CASE WHEN a.question_id = '" + q.id +
                         "' THEN a.value_num END) AS " + q.id;
    }
    const std::string anchorSql =
        "SELECT r.receipt, d.code AS dossier, ag.code AS agency_code, c.code AS counter, o.code "
        "AS officer, p.code AS procedure, r.channel, r.survey_version, datetime(r.answered_at / "
        "1000 + 25200, 'unixepoch'), datetime(r.received_at / 1000 + 25200, 'unixepoch')" +
        pivot +
        ", r.comment_raw, r.comment_norm, r.sentiment, r.topics FROM responses r JOIN answers a "
        "ON a.response_id = r.id LEFT JOIN dossiers d ON d.id = r.dossier_id LEFT JOIN agencies "
        "ag ON ag.id = r.agency_id LEFT JOIN counters c ON c.id = r.counter_id LEFT JOIN "
        "officers o ON o.id = r.officer_id LEFT JOIN procedures p ON p.id = r.procedure_id WHERE "
        "r.survey_id = 'sipas-2017' GROUP BY r.id ORDER BY r.id";
    auto exportArgs = [&](const std::string& format, const std::string& out,
                          std::vector<std::string> more = {}) {
        std::vector<std::string> a{hailong,      "--db",     "sqlite:" + file, "export", "--survey",
                                   "sipas-2017", "--format", format,           "--out",  out};
        a.insert(a.end(), more.begin(), more.end());
        return a;
    };

    // CSV and the anchor alternately, three times each.
    std::vector<Run> anchor, csv;
    for (int r = 0; r < 3; ++r) {
        anchor.push_back(
            spawn({"sqlite3", "-csv", "-header", file, anchorSql}, outDir + "/anchor.csv"));
        csv.push_back(spawn(exportArgs("csv", outDir + "/hailong.csv")));
    }
    const std::int64_t anchorRows = lines(outDir + "/anchor.csv") - 1,
                       csvRows = lines(outDir + "/hailong.csv") - 1;
    std::vector<Run> excel{spawn(exportArgs("csv-excel", outDir + "/hailong-excel.csv"))},
        jsonl{spawn(exportArgs("jsonl", outDir + "/hailong.jsonl"))},
        xlsx{spawn(exportArgs("xlsx", outDir + "/hailong.xlsx"))},
        sav{spawn(exportArgs("sav", outDir + "/hailong.sav"))};
    // One month of the year: a twelfth of the rows, for the memory beside the whole year's.
    const std::vector<std::string> october{"--from", "2026-10-01", "--to", "2026-10-31"};
    std::vector<Run> csvMonth{spawn(exportArgs("csv", outDir + "/month.csv", october))},
        xlsxMonth{spawn(exportArgs("xlsx", outDir + "/month.xlsx", october))},
        savMonth{spawn(exportArgs("sav", outDir + "/month.sav", october))};
    const std::int64_t monthRows = lines(outDir + "/month.csv") - 1;

    std::cout << "{\"responses\":" << responses << ",\"answers_per_response\":22"
              << ",\"generate_s\":" << generateS << ",\"fold_s\":" << foldS
              << ",\"rows\":" << csvRows << ",\"anchor_rows\":" << anchorRows
              << ",\"month_rows\":" << monthRows << ",\"anchor\":" << json(anchor, anchorRows)
              << ",\"csv\":" << json(csv, csvRows)
              << ",\"csv_ratio\":" << medianSeconds(anchor) / medianSeconds(csv)
              << ",\"csv_excel\":" << json(excel, csvRows) << ",\"jsonl\":" << json(jsonl, csvRows)
              << ",\"xlsx\":" << json(xlsx, csvRows) << ",\"sav\":" << json(sav, csvRows)
              << ",\"month\":{\"csv\":" << json(csvMonth, monthRows)
              << ",\"xlsx\":" << json(xlsxMonth, monthRows)
              << ",\"sav\":" << json(savMonth, monthRows) << "}}\n";
    return 0;
}

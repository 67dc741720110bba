// hailong — the binary: serve, migrate, plugins, config, version, demo, import.
#include "app/ApiSupport.h"
#include "app/Demo.h"
#include "app/Exports.h"
#include "app/IndexApi.h"
#include "app/Paths.h"
#include "app/Runtime.h"
#include "app/Settings.h"
#include "common/Clock.h"
#include "common/Random.h"
#include "directory/DirectoryImporter.h"
#include "export/ResponseExport.h"
#include "export/ResponseImport.h"
#include "store/Backup.h"
#include "store/Migrations.h"
#include "survey/SurveyParser.h"
#include "text/Decoding.h"
#include "text/IcuTextNormalizer.h"

#include <hailong/Version.h>

#include <Poco/AutoPtr.h>
#include <Poco/ConsoleChannel.h>
#include <Poco/File.h>
#include <Poco/FileChannel.h>
#include <Poco/FileStream.h>
#include <Poco/FormattingChannel.h>
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/Logger.h>
#include <Poco/Path.h>
#include <Poco/PatternFormatter.h>
#include <Poco/StreamCopier.h>
#include <Poco/Util/HelpFormatter.h>
#include <Poco/Util/Option.h>
#include <Poco/Util/OptionSet.h>
#include <Poco/Util/ServerApplication.h>

#include <unistd.h>
#include <chrono>
#include <csignal>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>

extern char** environ;

namespace hailong {
namespace {

constexpr const char* kUsage =
    "Commands:\n"
    "  serve                   run the host (HTTP API, pages, channel plugins)\n"
    "  migrate                 apply database migrations and exit\n"
    "  backup --out FILE       a consistent copy of the database while it serves (SQLite's\n"
    "                          online backup; pg_dump for PostgreSQL)\n"
    "  restore FILE [--force]  the database replaced by a backup (stop the hosts first;\n"
    "                          --force over a database that holds responses)\n"
    "  plugins                 load and start the plugins, report each one, exit\n"
    "  config                  print the effective settings and their sources\n"
    "  version                 print the version\n"
    "  demo [--dossiers N]     load the demo province into an empty database\n"
    "  import directory FILE   agencies, counters, officers, procedures, devices\n"
    "  import dossiers FILE    dossiers (CSV or JSON)\n"
    "  import responses --survey ID FILE   responses typed from paper forms (CSV or XLSX;\n"
    "                          UTF-8, CP1258, TCVN3 or VNI); re-running imports nothing twice\n"
    "  survey validate FILE... check survey definitions, every error with its place\n"
    "  survey publish FILE     publish a survey (a new version when its content changed)\n"
    "  survey list             every survey version and its status\n"
    "  survey retire ID VER    stop a version taking responses (its data stays)\n"
    "  apikey add NAME --agency CODE   a key for a system sending responses\n"
    "  apikey list | apikey revoke NAME\n"
    "  user add NAME --role admin|official|analyst [--agency CODE] [--display-name TEXT]\n"
    "                          a console account; prints its one-time password\n"
    "  user passwd NAME        a new one-time password (signs the user out everywhere)\n"
    "  user disable NAME | user enable NAME | user list\n"
    "  device pair CODE        a one-time pairing code for a counter tablet or box\n"
    "  device revoke CODE | device list [--agency CODE]\n"
    "  privacy report PHONE [--out FILE]   everything held about a phone number (JSON)\n"
    "  privacy erase PHONE     erase a phone number and the words linked to it (ratings stay)\n"
    "  privacy sweep           apply the privacy.* retention now (serve does it hourly)\n"
    "  text normalize [--from ENC] [--style new|old]   stdin to stdout, NFC UTF-8\n"
    "  text key TEXT           the accent-free key used for matching\n"
    "  text intent [--json] TEXT   what a short reply means\n"
    "  text detect < FILE      guess a file's encoding\n"
    "  index --survey ID [--by agency|counter|officer|procedure|channel|version]\n"
    "        [--period day|week|month|quarter|year] [--from DATE] [--to DATE]\n"
    "        [--agency CODE] [--channel C] [--format table|json|csv] [--raw]\n"
    "                          satisfaction indices with 95% intervals\n"
    "  index drivers --survey ID [--index ID]  which criteria move an index most\n"
    "  index d766 [--from DATE] [--to DATE] [--agency CODE]  Decision 766 satisfaction ratios\n"
    "  index fold              count every new response into the aggregates now\n"
    "  index verify [--survey ID]  check the aggregates against the raw responses\n"
    "  export --survey ID --format csv|csv-excel|xlsx|sav|jsonl --out FILE [--delimiter ;]\n"
    "         [--version N] [--agency CODE] [--from DATE] [--to DATE] [--channel C]\n"
    "         [--procedure CODE] [--lang vi|en]\n"
    "                          the survey's responses, a column per question\n";

// A progress bar on the terminal (stderr) for long commands: what is done of how much, the rate
// and the time left, redrawn at most ten times a second; nothing when stderr is not a terminal
// (a log, a pipe) or when `quiet`. Not thread-safe; one per command.
class TerminalProgress {
public:
    /// `words(done, total, rate, left)`: the text after the bar, in the user's language.
    using Words = std::function<std::string(std::size_t, std::size_t, long, long)>;
    TerminalProgress(Words words, bool quiet)
        : words_(std::move(words)), on_(!quiet && isatty(2)) {}
    ~TerminalProgress() { finish(); }

    void operator()(std::size_t done, std::size_t total) {
        if (!on_) return;
        const auto at = std::chrono::steady_clock::now();
        if (done < total && at - drawn_ < std::chrono::milliseconds(100)) return;
        drawn_ = at;
        const double seconds = std::chrono::duration<double>(at - started_).count();
        const double rate = done / std::max(seconds, 1e-3);
        const std::size_t width = 24, filled = total ? width * std::min(done, total) / total : 0;
        std::string bar;
        for (std::size_t i = 0; i < width; ++i) bar += i < filled ? "█" : "░";
        const int percent = total ? static_cast<int>(100 * std::min(done, total) / total) : 0;
        const long left = rate > 0 ? static_cast<long>((total - std::min(done, total)) / rate) : 0;
        std::cerr << "\r\033[K" << bar << " " << std::setw(3) << percent << "%  "
                  << words_(done, total, static_cast<long>(rate), left) << std::flush;
        shown_ = true;
    }
    /// Ends the bar's line (the summary follows on its own lines).
    void finish() {
        if (shown_) std::cerr << "\n" << std::flush;
        shown_ = false;
    }

private:
    Words words_;
    bool on_;
    bool shown_ = false;
    std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
    std::chrono::steady_clock::time_point drawn_{};
};

// Nodes of an index tree: what "N indices" means to the person who wrote the file.
std::size_t indexCount(const std::vector<IndexDefinition>& indices) {
    std::size_t n = 0;
    for (const auto& i : indices) n += 1 + indexCount(i.children);
    return n;
}

class HailongApp final : public Poco::Util::ServerApplication {
protected:
    void defineOptions(Poco::Util::OptionSet& options) override {
        ServerApplication::defineOptions(options);
        auto add = [&](const char* full, const char* shortName, const char* help, const char* arg,
                       bool repeatable = false) {
            Poco::Util::Option o(full, shortName, help);
            o.required(false).repeatable(repeatable);
            if (arg) o.argument(arg);
            o.callback(Poco::Util::OptionCallback<HailongApp>(this, &HailongApp::onOption));
            options.addOption(o);
        };
        add("help", "h", "show this help", nullptr);
        add("config", "c", "configuration file (.properties, .ini or .json)", "FILE");
        add("port", "p", "HTTP port (http.port)", "PORT");
        add("host", "", "HTTP address (http.host)", "ADDRESS");
        add("db", "", "database URL (db.url): sqlite:PATH or postgresql://...", "URL");
        add("plugins-dir", "", "plugin folders, ':'-separated (paths.plugins)", "DIRS");
        add("set", "", "set any key: --set KEY=VALUE (repeatable)", "KEY=VALUE", true);
        add("dry-run", "", "import: check and report, write nothing", nullptr);
        add("strict", "", "import: write nothing if any row is rejected", nullptr);
        add("json", "", "print machine-readable JSON", nullptr);
        add("force", "", "restore: over a database that already holds responses", nullptr);
        add("dossiers", "", "demo: number of dossiers (default 24000)", "N");
        add("lang", "", "language of messages: vi (default) or en", "LANG");
        add("agency", "", "apikey add: the agency (and its subtree) the key may send for", "CODE");
        add("role", "", "user add: admin, official or analyst", "ROLE");
        add("display-name", "", "user add: the person's name as the console shows it", "TEXT");
        add("from", "", "text normalize: auto, utf8, utf-16be, cp1258, tcvn3, vni, viqr", "ENC");
        add("style", "", "text normalize: tone marks new (hoà) or old (hòa)", "STYLE");
        add("survey", "", "index: the survey (its id)", "ID");
        add("by", "", "index: agency, counter, officer, procedure, channel or version", "WHAT");
        add("period", "", "index: a trend by day, week, month, quarter or year", "GRAIN");
        add("to", "", "index: the last day, YYYY-MM-DD (--from: the first)", "DATE");
        add("channel", "", "index: only this channel", "CHANNEL");
        add("format", "", "index: table (default), json or csv", "FORMAT");
        add("raw", "", "index: count the raw responses, not the aggregates", nullptr);
        add("index", "", "index drivers: the index whose drivers to find", "ID");
        add("out", "", "export: the file to write", "FILE");
        add("delimiter", "", "export csv-excel: , or ; (default ;)", "CHAR");
        add("procedure", "", "export: only this procedure (its code)", "CODE");
        add("version", "", "export: only this survey version", "N");
    }

    void onOption(const std::string& name, const std::string& value) {
        if (name == "help")
            help_ = true;
        else if (name == "config")
            configFile_ = value;
        else if (name == "port")
            flags_["http.port"] = value;
        else if (name == "host")
            flags_["http.host"] = value;
        else if (name == "db")
            flags_["db.url"] = value;
        else if (name == "plugins-dir")
            flags_["paths.plugins"] = value;
        else if (name == "set") {
            const auto eq = value.find('=');
            if (eq == std::string::npos || eq == 0)
                throw Poco::InvalidArgumentException("--set needs KEY=VALUE, got " + value);
            flags_[value.substr(0, eq)] = value.substr(eq + 1);
        } else if (name == "dry-run")
            importOptions_.dryRun = true;
        else if (name == "strict")
            importOptions_.strict = true;
        else if (name == "json")
            json_ = true;
        else if (name == "force")
            force_ = true;
        else if (name == "dossiers")
            demoDossiers_ = std::stoul(value);
        else if (name == "lang")
            lang_ = value == "en" ? "en" : "vi";
        else if (name == "agency")
            agency_ = value;
        else if (name == "role")
            role_ = value;
        else if (name == "display-name")
            displayName_ = value;
        else if (name == "from")
            from_ = value;
        else if (name == "style")
            style_ = value;
        else if (name == "raw")
            indexParams_["raw"] = "1";
        else
            indexParams_[name] = value;  // survey, by, period, to, channel, format
    }

    void initialize(Application& self) override {
        // Deliberately no loadConfiguration(): hailong reads only its own file (Settings).
        ServerApplication::initialize(self);
    }

    int main(const ArgVec& args) override {
        // A peer that went away (a client, a database restarting) makes a write fail with
        // EPIPE, which every caller handles; the default SIGPIPE would end the process instead.
        std::signal(SIGPIPE, SIG_IGN);
        if (help_ || args.empty()) {
            Poco::Util::HelpFormatter help(options());
            help.setCommand("hailong");
            help.setUsage("COMMAND [options]");
            help.setHeader(std::string("\n") + kUsage + "\nOptions:");
            help.setUnixStyle(true);
            help.setIndent(4);
            help.format(std::cout);
            return help_ ? EXIT_OK : EXIT_USAGE;
        }
        const std::string command = args[0];
        if (command == "version") {
            std::cout << "hailong " << productVersion() << " (plugin API " << HAILONG_PLUGIN_API
                      << ")\n";
            return EXIT_OK;
        }
        try {
            if (configFile_.empty())
                if (const char* env = std::getenv("HAILONG_CONFIG")) configFile_ = env;
            settings_ = std::make_unique<Settings>(Settings::load(configFile_, flags_, environ));
            setupLogging(command == "serve");
            paths_ = Paths::resolve(settings_->config(), Paths::executableDir());
            if (command == "config") return printConfig();
            if (command == "serve") return serve();
            if (command == "migrate") return migrate();
            if (command == "backup") return backup();
            if (command == "restore") return restore(args);
            if (command == "plugins") return plugins();
            if (command == "demo") return demo();
            if (command == "import") return import(args);
            if (command == "survey") return survey(args);
            if (command == "apikey") return apikey(args);
            if (command == "device") return device(args);
            if (command == "user") return user(args);
            if (command == "text") return text(args);
            if (command == "index") return indexCommand(args);
            if (command == "privacy") return privacy(args);
            if (command == "export") return exportCommand();
            std::cerr << "hailong: unknown command \"" << command << "\"\n\nUsage: hailong COMMAND "
                      << "[options]\n"
                      << kUsage;
            return EXIT_USAGE;
        } catch (const Problem& p) {
            std::cerr << "hailong: " << message(p.code(), p.params()) << "\n";
            return EXIT_DATAERR;
        } catch (const Unavailable& e) {
            std::cerr << "hailong: " << e.what() << "\n";
            return EXIT_UNAVAILABLE;
        } catch (const Poco::Exception& e) {
            std::cerr << "hailong: " << e.displayText() << "\n";
            return EXIT_SOFTWARE;
        } catch (const std::exception& e) {
            std::cerr << "hailong: " << e.what() << "\n";
            return EXIT_SOFTWARE;
        }
    }

private:
    /// A progress bar whose words are message `key` ({done}, {total}, {rate}, {left}).
    TerminalProgress progressBar(Runtime& rt, const char* key, bool quiet) {
        return TerminalProgress(
            [&rt, key, lang = lang_](std::size_t done, std::size_t total, long rate, long left) {
                return rt.messages().text(lang, key,
                                          {{"done", std::to_string(done)},
                                           {"total", std::to_string(total)},
                                           {"rate", std::to_string(rate)},
                                           {"left", std::to_string(left)}});
            },
            quiet);
    }

    std::string message(const std::string& code, const std::map<std::string, std::string>& params) {
        try {
            MessageCatalog catalog(paths_.locale);
            return catalog.text(lang_, code, params);
        } catch (const std::exception&) {
            return code;
        }
    }

    void setupLogging(bool serving) {
        auto& cfg = settings_->config();
        Poco::AutoPtr<Poco::PatternFormatter> format =
            new Poco::PatternFormatter("%Y-%m-%d %H:%M:%S.%i %q %s: %t");
        format->setProperty("times", "local");
        Poco::AutoPtr<Poco::Channel> channel;
        if (const std::string file = cfg.getString("log.file", ""); !file.empty()) {
            Poco::AutoPtr<Poco::FileChannel> fc = new Poco::FileChannel(file);
            fc->setProperty("rotation", "50 M");
            fc->setProperty("archive", "timestamp");
            fc->setProperty("purgeCount", "10");
            channel = fc;
        } else {
            channel = new Poco::ConsoleChannel(std::cerr);
        }
        Poco::AutoPtr<Poco::FormattingChannel> fmt = new Poco::FormattingChannel(format, channel);
        // Commands other than serve only say what went wrong, unless asked for more.
        const std::string level = serving || settings_->sourceOf("log.level") != "default"
                                      ? cfg.getString("log.level")
                                      : "warning";
        Poco::Logger::root().setChannel(fmt);
        Poco::Logger::root().setLevel(level);
        Poco::Logger::setChannel("", fmt);
        Poco::Logger::setLevel("", Poco::Logger::parseLevel(level));
    }

    Poco::Logger& log() { return Poco::Logger::get("hailong"); }

    int printConfig() {
        auto& cfg = settings_->config();
        if (!settings_->file().empty()) std::cout << "# file: " << settings_->file() << "\n";
        std::size_t width = 0;
        for (const Setting& s : settings()) width = std::max(width, std::string(s.key).size());
        for (const Setting& s : settings()) {
            std::string value = cfg.getString(s.key, "");
            if (s.secret && !value.empty()) value = "***";
            std::cout << std::left << std::setw(static_cast<int>(width)) << s.key << " = " << value
                      << "    # " << settings_->sourceOf(s.key) << "\n";
        }
        std::cout << "# resolved folders (" << (paths_.buildTree ? "build tree" : "installed")
                  << ")\n";
        std::string plugins;
        for (const auto& p : paths_.plugins) plugins += (plugins.empty() ? "" : ":") + p;
        std::cout << "#   plugins = " << plugins << "\n#   surveys = " << paths_.surveys
                  << "\n#   web     = " << paths_.web << "\n#   locale  = " << paths_.locale
                  << "\n";
        for (const std::string& k : settings_->unknownKeys())
            std::cout << "# warning: unknown setting " << k << "\n";
        return EXIT_OK;
    }

    int migrate() {
        Runtime rt(settings_->config(), paths_, log());
        auto applied = rt.migrate();
        std::cout << "schema version " << Migrations::currentVersion(rt.database()) << " ("
                  << applied.size() << " migration(s) applied now)\n";
        return EXIT_OK;
    }

    int backup() {
        auto out = indexParams_.find("out");
        if (out == indexParams_.end() || out->second.empty()) {
            std::cerr << "usage: hailong backup --out FILE\n";
            return EXIT_USAGE;
        }
        const DatabaseUrl url = DatabaseUrl::parse(databaseUrl(settings_->config()));
        const auto started = std::chrono::steady_clock::now();
        const BackupReport r = backupDatabase(url, out->second);
        std::cout
            << "backup of " << url.redacted << " written to " << out->second << ": " << r.bytes
            << " bytes, schema version " << r.schemaVersion << ", "
            << std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count()
            << " s\n";
        return EXIT_OK;
    }

    // A citizen's request about their phone number, or the retention sweep run now. The audit
    // log names the number by the start of its keyed hash, never in clear.
    int privacy(const ArgVec& args) {
        const std::string sub = args.size() > 1 ? args[1] : "";
        if (!((sub == "report" || sub == "erase") && args.size() == 3) &&
            !(sub == "sweep" && args.size() == 2)) {
            std::cerr << "usage: hailong privacy report PHONE [--out FILE] | erase PHONE | sweep\n";
            return EXIT_USAGE;
        }
        Runtime rt(settings_->config(), paths_, log());
        rt.prepare();
        auto audit = [&](const std::string& action) {
            AuditEntry e;
            e.actor = "cli";
            e.action = action;
            e.kind = "phone";
            e.code = rt.phones().key(args[2]).substr(0, 8) + "…";
            rt.audit().record(e);
        };
        if (sub == "sweep") {
            const PersonalDataReport r = rt.personalData().sweep(rt.retention());
            std::cout << "dossier phone numbers erased: " << r.dossierPhones
                      << "\ncase contacts erased: " << r.caseContacts
                      << "\nmessages cleared: " << r.messages
                      << "\nresponses and cases cleared of their words: " << r.texts << "\n";
            return EXIT_OK;
        }
        if (sub == "report") {
            const Poco::JSON::Object::Ptr report = rt.personalData().report(args[2]);
            audit("privacy.report");
            auto out = indexParams_.find("out");
            if (out == indexParams_.end()) {
                report->stringify(std::cout, 2);
                std::cout << "\n";
                return EXIT_OK;
            }
            Poco::FileOutputStream file(out->second);
            report->stringify(file, 2);
            file.close();
            std::cout << "report written to " << out->second << "\n";
            return EXIT_OK;
        }
        const PersonalDataReport r = rt.personalData().erase(args[2]);
        audit("privacy.erase");
        std::cout << "dossiers: " << r.dossierPhones << "\ncases: " << r.caseContacts
                  << "\nmessages: " << r.messages
                  << "\nresponses cleared of their words: " << r.texts
                  << "\nconversations forgotten: " << r.states << "\n";
        return EXIT_OK;
    }

    int restore(const ArgVec& args) {
        if (args.size() != 2) {
            std::cerr << "usage: hailong restore FILE [--force]\n";
            return EXIT_USAGE;
        }
        const DatabaseUrl url = DatabaseUrl::parse(databaseUrl(settings_->config()));
        const BackupReport r = restoreDatabase(url, args[1], force_);
        std::cout << url.redacted << " restored from " << args[1] << " (schema version "
                  << r.schemaVersion << ")\n";
        return EXIT_OK;
    }

    int plugins() {
        Runtime rt(settings_->config(), paths_, log());
        rt.prepare();
        rt.loadPlugins();
        bool trouble = false;
        if (json_) {
            Poco::JSON::Array::Ptr list = new Poco::JSON::Array;
            for (const PluginStatus& p : rt.plugins().statuses()) {
                Poco::JSON::Object::Ptr o = new Poco::JSON::Object;
                o->set("name", p.name);
                o->set("state", p.state);
                o->set("file", p.file);
                o->set("reason", p.reason);
                list->add(o);
                trouble = trouble || p.state != "running";
            }
            list->stringify(std::cout);
            std::cout << "\n";
        } else {
            std::cout << std::left << std::setw(16) << "PLUGIN" << std::setw(10) << "STATE"
                      << "DETAIL\n";
            for (const PluginStatus& p : rt.plugins().statuses()) {
                std::cout << std::setw(16) << p.name << std::setw(10) << p.state
                          << (p.reason.empty() ? p.file : p.reason) << "\n";
                trouble = trouble || p.state != "running";
            }
            if (rt.plugins().statuses().empty()) {
                std::string where;
                for (const auto& f : paths_.plugins) where += (where.empty() ? "" : ", ") + f;
                std::cout << "(no plugins found in " << where << ")\n";
            }
        }
        rt.shutdown();
        return trouble ? EXIT_SOFTWARE : EXIT_OK;
    }

    int demo() {
        Runtime rt(settings_->config(), paths_, log());
        rt.prepare();
        DemoOptions options;
        if (demoDossiers_) options.dossiers = demoDossiers_;
        std::cout << "loading the demo (" << options.dossiers << " dossiers)...\n" << std::flush;
        DemoSummary s = loadDemo(rt, paths_.locale + "/vi/demo/seed.json", options);
        std::cout << "demo loaded: " << s.agencies << " agencies, " << s.counters << " counters, "
                  << s.officers << " officers, " << s.procedures << " procedures, " << s.dossiers
                  << " dossiers, " << s.responses << " ratings, " << s.cases
                  << " follow-up cases\n";
        return EXIT_OK;
    }

    int import(const ArgVec& args) {
        const bool responses = args.size() == 3 && args[1] == "responses";
        if (args.size() != 3 || (args[1] != "directory" && args[1] != "dossiers" && !responses) ||
            (responses && !indexParams_.contains("survey"))) {
            std::cerr << "usage: hailong import directory|dossiers FILE [--dry-run] [--strict] "
                         "[--json]\n       hailong import responses --survey ID FILE "
                         "[--dry-run] [--json]\n";
            return EXIT_USAGE;
        }
        const std::string& file = args[2];
        Poco::File f(file);
        if (!f.exists() || !f.isFile()) {
            std::cerr << "hailong: " << message("import.file_not_found", {{"file", file}}) << "\n";
            return EXIT_NOINPUT;
        }
        if (f.getSize() > 512ULL * 1024 * 1024) {
            std::cerr << "hailong: "
                      << message("import.file_too_large", {{"file", file}, {"max", "512 MB"}})
                      << "\n";
            return EXIT_DATAERR;
        }
        std::string content;
        {
            Poco::FileInputStream in(file);
            Poco::StreamCopier::copyToString(in, content);
        }
        Runtime rt(settings_->config(), paths_, log());
        rt.prepare();
        TerminalProgress progress = progressBar(rt, "import.progress", json_);
        if (responses) {
            exports::ResponseImportOptions options;
            options.progress = std::ref(progress);
            options.surveyId = indexParams_["survey"];
            options.dryRun = importOptions_.dryRun;
            options.check = [&rt](const Submission& s) { rt.ingest().check(s); };
            options.language = lang_;
            const vi::LegacyTables tables(paths_.locale + "/vi/encodings");
            const auto report =
                exports::importResponses(rt.ingest(), rt.surveys(), rt.text(), tables,
                                         rt.messages(), content, file, options);
            progress.finish();
            printResponseReport(report, rt.messages());
            return report.rejected.empty() ? EXIT_OK : EXIT_DATAERR;
        }
        DirectoryImporter importer(rt.directory());
        ImportOptions options = importOptions_;
        options.progress = std::ref(progress);
        const ImportReport report = args[1] == "directory"
                                        ? importer.importDirectory(content, file, options)
                                        : importer.importDossiers(content, file, options);
        progress.finish();
        printReport(report);
        if (!report.committed && !importOptions_.dryRun) return EXIT_DATAERR;
        return report.rejected.empty() ? EXIT_OK : EXIT_DATAERR;
    }

    void printResponseReport(const exports::ResponseImportReport& r, const Messages& m) {
        auto reasons = [&](const ImportRejection& rej) {
            std::string why;
            for (const auto& e : rej.errors)
                why += (why.empty() ? "" : "; ") + (e.field.empty() ? "" : e.field + ": ") +
                       m.text(lang_, e.code, e.params);
            return why;
        };
        if (json_) {
            Poco::JSON::Object::Ptr o = new Poco::JSON::Object;
            o->set("encoding", r.encoding);
            o->set("encoding_reason", r.encodingReason);
            o->set("encoding_confidence", r.confidence);
            Poco::JSON::Array::Ptr mapping = new Poco::JSON::Array, ignored = new Poco::JSON::Array;
            for (const auto& x : r.mapping) mapping->add(x);
            for (const auto& x : r.ignored) ignored->add(x);
            o->set("columns", mapping);
            o->set("ignored", ignored);
            o->set("rows", r.rows);
            o->set("imported", r.imported);
            o->set("duplicates", r.duplicates);
            o->set("dry_run", importOptions_.dryRun);
            Poco::JSON::Array::Ptr rejected = new Poco::JSON::Array;
            for (const auto& rej : r.rejected) {
                Poco::JSON::Object::Ptr item = new Poco::JSON::Object;
                item->set("line", rej.line);
                item->set("form", rej.code);
                item->set("reason", reasons(rej));
                rejected->add(item);
            }
            o->set("rejected", rejected);
            o->stringify(std::cout);
            std::cout << "\n";
            return;
        }
        std::cout << m.text(lang_, "import.encoding",
                            {{"encoding", r.encoding},
                             {"confidence", std::to_string(std::lround(r.confidence * 100))}})
                  << "\n";
        for (const auto& x : r.mapping) std::cout << "  " << x << "\n";
        for (const auto& x : r.ignored)
            std::cout << "  " << m.text(lang_, "import.ignored", {{"column", x}}) << "\n";
        std::cout << m.text(lang_,
                            importOptions_.dryRun ? "import.responses_checked"
                                                  : "import.responses_summary",
                            {{"rows", std::to_string(r.rows)},
                             {"imported", std::to_string(r.imported)},
                             {"duplicates", std::to_string(r.duplicates)},
                             {"rejected", std::to_string(r.rejected.size())}})
                  << "\n";
        for (const auto& rej : r.rejected)
            std::cout << "  " << m.text(lang_, "import.line", {{"line", std::to_string(rej.line)}})
                      << (rej.code.empty() ? "" : " [" + rej.code + "]") << " " << reasons(rej)
                      << "\n";
    }

    void printReport(const ImportReport& r) {
        MessageCatalog catalog(paths_.locale);
        if (json_) {
            Poco::JSON::Object::Ptr o = new Poco::JSON::Object;
            o->set("rows", r.rows);
            o->set("created", r.created);
            o->set("updated", r.updated);
            o->set("unchanged", r.unchanged);
            o->set("committed", r.committed);
            Poco::JSON::Array::Ptr rejected = new Poco::JSON::Array;
            for (const auto& rej : r.rejected) {
                for (const auto& e : rej.errors) {
                    Poco::JSON::Object::Ptr item = new Poco::JSON::Object;
                    item->set("line", rej.line);
                    item->set("kind", rej.kind);
                    item->set("code", rej.code);
                    item->set("field", e.field);
                    item->set("reason", catalog.text(lang_, e.code, e.params));
                    rejected->add(item);
                }
            }
            o->set("rejected", rejected);
            o->stringify(std::cout);
            std::cout << "\n";
            return;
        }
        std::map<std::string, std::string> counts{{"rows", std::to_string(r.rows)},
                                                  {"created", std::to_string(r.created)},
                                                  {"updated", std::to_string(r.updated)},
                                                  {"unchanged", std::to_string(r.unchanged)},
                                                  {"rejected", std::to_string(r.rejected.size())}};
        std::cout << catalog.text(lang_, "import.summary", counts) << "\n";
        for (const auto& rej : r.rejected) {
            for (const auto& e : rej.errors) {
                std::cout << "  "
                          << catalog.text(lang_, "import.line",
                                          {{"line", std::to_string(rej.line)}})
                          << " " << rej.kind << (rej.code.empty() ? "" : " " + rej.code)
                          << (e.field.empty() ? "" : " [" + e.field + "]") << ": "
                          << catalog.text(lang_, e.code, e.params) << "\n";
            }
        }
        std::cout << catalog.text(lang_, importOptions_.dryRun ? "import.dry_run"
                                         : r.committed         ? "import.committed"
                                                               : "import.not_committed")
                  << "\n";
    }

    int survey(const ArgVec& args) {
        const std::string sub = args.size() > 1 ? args[1] : "";
        if (sub == "validate" && args.size() > 2) {
            // No database needed: check the files only.
            MessageCatalog catalog(paths_.locale);
            bool allValid = true;
            for (std::size_t i = 2; i < args.size(); ++i) {
                if (args[i].ends_with(".schema.json")) {  // the format's schema, not a survey
                    std::cout << catalog.text(lang_, "survey.schema_skipped", {{"file", args[i]}})
                              << "\n";
                    continue;
                }
                std::string json;
                try {
                    Poco::FileInputStream in(args[i]);
                    Poco::StreamCopier::copyToString(in, json);
                } catch (const Poco::Exception&) {
                    std::cout << catalog.text(lang_, "survey.file_unreadable", {{"file", args[i]}})
                              << "\n";
                    allValid = false;
                    continue;
                }
                ParsedSurvey parsed = SurveyParser::parse(json);
                if (parsed.survey) {
                    std::cout
                        << catalog.text(
                               lang_, "survey.valid",
                               {{"file", args[i]},
                                {"id", parsed.survey->id},
                                {"questions", std::to_string(parsed.survey->questions.size())},
                                {"indices", std::to_string(indexCount(parsed.survey->indices))}})
                        << "\n";
                    continue;
                }
                allValid = false;
                for (const FieldError& e : parsed.errors)
                    std::cout << args[i] << ": " << e.field << ": "
                              << catalog.text(lang_, e.code, e.params) << "\n";
            }
            return allValid ? EXIT_OK : EXIT_DATAERR;
        }
        Runtime rt(settings_->config(), paths_, log());
        rt.prepare();
        MessageCatalog& catalog = rt.messages();
        if (sub == "publish" && args.size() == 3) {
            std::string json;
            Poco::FileInputStream in(args[2]);
            Poco::StreamCopier::copyToString(in, json);
            try {
                auto p = rt.surveys().publish(json, Poco::Path(args[2]).getFileName());
                std::cout << catalog.text(lang_,
                                          p.created ? "survey.published" : "survey.unchanged",
                                          {{"id", p.id}, {"version", std::to_string(p.version)}})
                          << "\n";
                return EXIT_OK;
            } catch (const Problem& p) {
                for (const FieldError& e : p.errors())
                    std::cout << args[2] << ": " << e.field << ": "
                              << catalog.text(lang_, e.code, e.params) << "\n";
                return EXIT_DATAERR;
            }
        }
        if (sub == "list" && args.size() == 2) {
            std::cout << std::left << std::setw(20) << "SURVEY" << std::setw(9) << "VERSION"
                      << std::setw(11) << "STATUS" << std::setw(11) << "QUESTIONS"
                      << "TITLE\n";
            for (const auto& s : rt.surveys().versions())
                std::cout << std::setw(20) << s->id << std::setw(9) << s->version << std::setw(11)
                          << s->status << std::setw(11) << s->questions.size() << s->title.at("vi")
                          << "\n";
            return EXIT_OK;
        }
        if (sub == "retire" && args.size() == 4) {
            const int version = std::atoi(args[3].c_str());
            rt.surveys().retire(args[2], version);
            std::cout << catalog.text(lang_, "survey.retired",
                                      {{"id", args[2]}, {"version", std::to_string(version)}})
                      << "\n";
            return EXIT_OK;
        }
        std::cerr << "usage: hailong survey validate FILE... | publish FILE | list | retire ID "
                     "VERSION\n";
        return EXIT_USAGE;
    }

    int apikey(const ArgVec& args) {
        const std::string sub = args.size() > 1 ? args[1] : "";
        Runtime rt(settings_->config(), paths_, log());
        rt.prepare();
        MessageCatalog& catalog = rt.messages();
        if (sub == "add" && args.size() == 3 && !agency_.empty()) {
            const std::string key = rt.apiKeys().add(args[2], agency_);
            std::cout << catalog.text(lang_, "apikey.created",
                                      {{"name", args[2]}, {"agency", agency_}, {"key", key}})
                      << "\n";
            return EXIT_OK;
        }
        if (sub == "revoke" && args.size() == 3) {
            rt.apiKeys().revoke(args[2]);
            std::cout << catalog.text(lang_, "apikey.revoked", {{"name", args[2]}}) << "\n";
            return EXIT_OK;
        }
        if (sub == "list" && args.size() == 2) {
            std::cout << std::left << std::setw(24) << "NAME" << std::setw(14) << "KEY"
                      << std::setw(14) << "AGENCY" << std::setw(26) << "LAST USED"
                      << "STATE\n";
            for (const ApiKey& k : rt.apiKeys().list())
                std::cout << std::setw(24) << k.name << std::setw(14) << (k.prefix + "…")
                          << std::setw(14) << k.agencyCode << std::setw(26)
                          << (k.lastUsedAtMs ? formatTimeMs(*k.lastUsedAtMs) : "-")
                          << (k.revokedAtMs ? "revoked" : "active") << "\n";
            return EXIT_OK;
        }
        std::cerr << "usage: hailong apikey add NAME --agency CODE | list | revoke NAME\n";
        return EXIT_USAGE;
    }

    // A one-time password: 16 characters a person can read aloud and type.
    static std::string oneTimePassword() { return random::code(16); }

    void auditCli(Runtime& rt, const std::string& action, const User& u) {
        AuditEntry e;
        e.actor = "cli";
        e.action = action;
        e.kind = "user";
        e.code = u.username;
        e.agencyPath = u.agencyPath;
        rt.audit().record(e);
    }

    int user(const ArgVec& args) {
        const std::string sub = args.size() > 1 ? args[1] : "";
        Runtime rt(settings_->config(), paths_, log());
        rt.prepare();
        MessageCatalog& catalog = rt.messages();
        if (sub == "add" && args.size() == 3 && !role_.empty()) {
            const std::string password = oneTimePassword();
            const User u = rt.users().add({args[2], displayName_, role_, agency_}, password, true);
            auditCli(rt, "create", u);
            std::cout << catalog.text(lang_, "user.created",
                                      {{"username", u.username},
                                       {"role", toString(u.role)},
                                       {"password", password}})
                      << "\n";
            return EXIT_OK;
        }
        if (sub == "passwd" && args.size() == 3) {
            const std::string password = oneTimePassword();
            rt.users().setPassword(args[2], password, true);
            const User u = *rt.users().find(args[2]);
            rt.sessions().closeAll(u.id);
            auditCli(rt, "password", u);
            std::cout << catalog.text(lang_, "user.password_reset",
                                      {{"username", u.username}, {"password", password}})
                      << "\n";
            return EXIT_OK;
        }
        if ((sub == "disable" || sub == "enable") && args.size() == 3) {
            rt.users().setActive(args[2], sub == "enable");
            const User u = *rt.users().find(args[2]);
            if (sub == "disable") rt.sessions().closeAll(u.id);
            auditCli(rt, sub, u);
            std::cout << catalog.text(lang_, "user." + sub + "d", {{"username", u.username}})
                      << "\n";
            return EXIT_OK;
        }
        if (sub == "list" && args.size() == 2) {
            std::cout << std::left << std::setw(24) << "USERNAME" << std::setw(10) << "ROLE"
                      << std::setw(14) << "AGENCY" << std::setw(10) << "STATE"
                      << "NAME\n";
            for (const User& u : rt.users().list(""))
                std::cout << std::setw(24) << u.username << std::setw(10) << toString(u.role)
                          << std::setw(14) << (u.agencyCode.empty() ? "-" : u.agencyCode)
                          << std::setw(10) << (u.active ? "active" : "disabled") << u.displayName
                          << "\n";
            return EXIT_OK;
        }
        std::cerr << "usage: hailong user add NAME --role admin|official|analyst [--agency CODE] "
                     "[--display-name TEXT] | passwd NAME | disable NAME | enable NAME | list\n";
        return EXIT_USAGE;
    }

    int device(const ArgVec& args) {
        const std::string sub = args.size() > 1 ? args[1] : "";
        Runtime rt(settings_->config(), paths_, log());
        rt.prepare();
        MessageCatalog& catalog = rt.messages();
        if (sub == "pair" && args.size() == 3) {
            const PairingCode code = rt.devices().issuePairing(args[2]);
            std::cout << catalog.text(lang_, "device.pairing_issued",
                                      {{"device", args[2]},
                                       {"code", code.code},
                                       {"expires", formatTimeMs(code.expiresAtMs)}})
                      << "\n";
            return EXIT_OK;
        }
        if (sub == "revoke" && args.size() == 3) {
            rt.devices().revoke(args[2]);
            std::cout << catalog.text(lang_, "device.revoked_now", {{"device", args[2]}}) << "\n";
            return EXIT_OK;
        }
        if (sub == "list" && args.size() == 2) {
            ListQuery q;
            q.agencyCode = agency_;
            q.limit = 1000;
            std::cout << std::left << std::setw(16) << "DEVICE" << std::setw(16) << "COUNTER"
                      << std::setw(10) << "STATE" << std::setw(26) << "LAST SEEN"
                      << "OFFICER ON SHIFT\n";
            for (const Device& d : rt.directory().devices(q)) {
                const auto session = rt.devices().session(d.code);
                std::cout << std::setw(16) << d.code << std::setw(16)
                          << (session ? session->counter.code : "?") << std::setw(10) << d.status
                          << std::setw(26) << (d.lastSeenAtMs ? formatTimeMs(*d.lastSeenAtMs) : "-")
                          << (session && session->officer ? session->officer->code : "-") << "\n";
            }
            return EXIT_OK;
        }
        std::cerr << "usage: hailong device pair CODE | revoke CODE | list [--agency CODE]\n";
        return EXIT_USAGE;
    }

    // hailong export: the responses of a survey to a file, with progress on stderr.
    int exportCommand() {
        auto param = [&](const char* name) {
            auto it = indexParams_.find(name);
            return it == indexParams_.end() ? std::string() : it->second;
        };
        const std::string format = param("format"), out = param("out");
        if (param("survey").empty() || out.empty() || !isExportFormat(format)) {
            std::cerr << "usage: hailong export --survey ID --format csv|csv-excel|xlsx|sav|jsonl "
                         "--out FILE [--delimiter ;] [--version N] [--agency CODE] [--from DATE] "
                         "[--to DATE] [--channel C] [--procedure CODE] [--lang vi|en]\n";
            return EXIT_USAGE;
        }
        const std::string delimiter = param("delimiter").empty() ? ";" : param("delimiter");
        if (delimiter != ";" && delimiter != ",")
            throw Problem(400, "query.one_of", {{"name", "delimiter"}, {"values", ", ;"}});
        Runtime rt(settings_->config(), paths_, log());
        rt.prepare();
        ExportRequest request;
        request.format = format;
        request.delimiter = delimiter[0];
        exports::ExportFilter& filter = request.filter;
        filter.surveyId = param("survey");
        filter.language = lang_;
        if (!param("version").empty())
            filter.version = queryInteger("version", param("version"), 1, 1000000);
        if (!agency_.empty()) {
            const auto a = rt.directory().agency(agency_);
            if (!a)
                throw Problem(404, "directory.not_found", {{"kind", "agency"}, {"code", agency_}});
            filter.scopePath = a->path;
            request.agencyCode = agency_;
        }
        if (from_ != "auto") filter.fromDay = queryDay("from", from_);
        if (!param("to").empty()) filter.toDay = queryDay("to", param("to"));
        if (!param("channel").empty()) filter.channel = param("channel");
        if (!param("procedure").empty()) filter.procedureCode = param("procedure");
        const auto started = std::chrono::steady_clock::now();
        auto elapsed = [&] {
            return std::chrono::duration<double>(std::chrono::steady_clock::now() - started)
                .count();
        };
        TerminalProgress progress = progressBar(rt, "export.progress", false);
        const std::size_t rows = writeExport(rt, request, out, std::ref(progress));
        progress.finish();
        std::cerr << rt.messages().text(lang_, "export.done",
                                        {{"rows", std::to_string(rows)},
                                         {"file", out},
                                         {"seconds", std::to_string(std::lround(elapsed()))}})
                  << "\n";
        return EXIT_OK;
    }

    int indexCommand(const ArgVec& args) {
        const std::string sub = args.size() > 1 ? args[1] : "";
        Runtime rt(settings_->config(), paths_, log());
        rt.prepare();
        if (sub == "fold") {
            std::cout << rt.indices().foldAll() << " responses folded\n";
            return EXIT_OK;
        }
        if (sub == "verify") {
            std::vector<std::string> surveys;
            if (indexParams_.contains("survey"))
                surveys.push_back(indexParams_["survey"]);
            else
                for (const auto& s : rt.surveys().list()) surveys.push_back(s->id);
            bool ok = true;
            for (const std::string& id : surveys) {
                const index::Verification v = index::verify(rt.indices().store(), id);
                std::cout << id << ": " << v.cells << " cells in " << v.queries << " queries, "
                          << v.responses << " responses: "
                          << (v.mismatches.empty() ? "aggregates match the raw responses"
                                                   : "MISMATCH")
                          << "\n";
                for (const std::string& m : v.mismatches) std::cout << "  " << m << "\n";
                ok = ok && v.mismatches.empty();
            }
            return ok ? EXIT_OK : EXIT_DATAERR;
        }
        std::map<std::string, std::string> params = indexParams_;
        if (from_ != "auto") params["from"] = from_;
        if (!agency_.empty()) params["agency"] = agency_;
        const ParamSource source = [&params](const std::string& n) {
            auto it = params.find(n);
            return it == params.end() ? std::nullopt : std::optional<std::string>(it->second);
        };
        if (sub == "d766") {
            const auto request = indexRequest(rt, source, false);
            const auto rows = rt.indices().decision766(request);
            if (params["format"] == "json") {
                decision766Json(request, rows)->stringify(std::cout, 2);
                std::cout << "\n";
            } else {
                writeDecision766Table(std::cout, rows);
            }
            return EXIT_OK;
        }
        if (sub == "drivers") {
            const auto report = rt.indices().drivers(indexRequest(rt, source), params["index"]);
            if (params["format"] == "json") {
                driversJson(report)->stringify(std::cout, 2);
                std::cout << "\n";
            } else {
                writeDriversTable(std::cout, report);
            }
            return EXIT_OK;
        }
        if (!sub.empty()) {
            std::cerr << "usage: hailong index --survey ID [options] | index drivers --survey ID "
                         "[--index ID] | index d766 | index fold | index verify\n";
            return EXIT_USAGE;
        }
        const auto request = indexRequest(rt, source);
        const auto report = rt.indices().report(request);
        const std::string format = params.contains("format") ? params["format"] : "table";
        if (format == "json")
            indexJson(report)->stringify(std::cout, 2);
        else if (format == "csv")
            writeIndexCsv(std::cout, report);
        else
            writeIndexTable(std::cout, report);
        if (format == "json") std::cout << "\n";
        return EXIT_OK;
    }

    int text(const ArgVec& args) {
        const std::string sub = args.size() > 1 ? args[1] : "";
        const std::string style =
            style_.empty() ? settings_->config().getString("text.tone_style", "new") : style_;
        if (style != "new" && style != "old") {
            std::cerr << "hailong: --style must be new or old\n";
            return EXIT_USAGE;
        }
        IcuTextNormalizer normalizer(paths_.locale,
                                     style == "old" ? vi::ToneStyle::Old : vi::ToneStyle::New);
        auto joined = [&](std::size_t from) {
            std::string s;
            for (std::size_t i = from; i < args.size(); ++i) s += (s.empty() ? "" : " ") + args[i];
            return s;
        };
        if (sub == "normalize" && args.size() == 2) {
            std::string bytes;
            Poco::StreamCopier::copyToString(std::cin, bytes);
            vi::LegacyTables tables(paths_.locale + "/vi/encodings");
            vi::Encoding encoding = vi::Encoding::Utf8;
            if (from_ == "auto") {
                const vi::Detection d = vi::detect(bytes, tables);
                encoding = d.encoding;
                if (d.encoding != vi::Encoding::Utf8)
                    std::cerr << "hailong: read as " << vi::toString(d.encoding) << " (" << d.reason
                              << ", confidence " << d.confidence << ")\n";
            } else if (auto named = vi::encodingNamed(from_)) {
                encoding = *named;
            } else {
                std::cerr << "hailong: unknown encoding \"" << from_ << "\"\n";
                return EXIT_USAGE;
            }
            // Line by line: spaces are tidied inside a line, the lines themselves are kept.
            std::istringstream lines(vi::decode(bytes, encoding, tables));
            for (std::string line; std::getline(lines, line);)
                std::cout << normalizer.normalize(line) << "\n";
            return EXIT_OK;
        }
        if (sub == "detect" && args.size() == 2) {
            std::string bytes;
            Poco::StreamCopier::copyToString(std::cin, bytes);
            const vi::Detection d =
                vi::detect(bytes, vi::LegacyTables(paths_.locale + "/vi/encodings"));
            std::cout << vi::toString(d.encoding) << " " << d.confidence << " (" << d.reason
                      << ")\n";
            return EXIT_OK;
        }
        if (sub == "key" && args.size() > 2) {
            std::cout << normalizer.key(joined(2)) << "\n";
            return EXIT_OK;
        }
        if (sub == "intent" && args.size() > 2) {
            const ReplyIntent intent = normalizer.readReply(joined(2));
            static const char* commands[] = {nullptr, "rate", "stop", "help"};
            Poco::JSON::Object::Ptr o = new Poco::JSON::Object;
            const char* command = commands[static_cast<int>(intent.command)];
            o->set("command", command ? Poco::Dynamic::Var(command) : Poco::Dynamic::Var());
            o->set("score",
                   intent.score ? Poco::Dynamic::Var(*intent.score) : Poco::Dynamic::Var());
            o->set("code",
                   intent.code.empty() ? Poco::Dynamic::Var() : Poco::Dynamic::Var(intent.code));
            o->set("comment", intent.comment.empty() ? Poco::Dynamic::Var()
                                                     : Poco::Dynamic::Var(intent.comment));
            if (json_) {
                o->stringify(std::cout);
            } else {
                o->stringify(std::cout, 2);
            }
            std::cout << "\n";
            return EXIT_OK;
        }
        std::cerr << "usage: hailong text normalize [--from ENC] [--style new|old] | key TEXT | "
                     "intent [--json] TEXT | detect\n";
        return EXIT_USAGE;
    }

    int serve() {
        Runtime rt(settings_->config(), paths_, log());
        rt.prepare();
        if (settings_->config().getBool("demo.on_empty") && rt.directory().count("dossiers") == 0) {
            log().information(
                "empty database: loading the demo (a year of dossiers, a few seconds)");
            DemoSummary s = loadDemo(rt, paths_.locale + "/vi/demo/seed.json", DemoOptions{});
            log().information("demo loaded: %z dossiers, %z ratings, %z follow-up cases",
                              s.dossiers, s.responses, s.cases);
        }
        // The first start makes the first admin, and says its password this once.
        std::string firstPassword;
        if (rt.users().count() == 0) {
            firstPassword = oneTimePassword();
            try {
                const User admin =
                    rt.users().add({"admin", "Quản trị", "admin", ""}, firstPassword, true);
                auditCli(rt, "create", admin);
            } catch (const std::exception&) {
                // Hosts started together on a new database: another one made the admin (and
                // says its password); this one only serves.
                if (rt.users().count() == 0) throw;
                firstPassword.clear();
            }
        }
        rt.loadPlugins();
        rt.serve();
        const std::string host = settings_->config().getString("http.host");
        if (!firstPassword.empty()) {
            const std::string console = "http://" +
                                        (host == "0.0.0.0" ? std::string("localhost") : host) +
                                        ":" + std::to_string(rt.port()) + "/console/";
            std::cout << rt.messages().text(
                             lang_, "user.first_admin",
                             {{"username", "admin"}, {"password", firstPassword}, {"url", console}})
                      << std::endl;
        }
        log().notice("hailong %s serving on http://%s:%hu/", std::string(productVersion()),
                     host == "0.0.0.0" ? std::string("localhost") : host, rt.port());
        waitForTerminationRequest();
        log().notice("stopping: finishing requests and writes");
        rt.shutdown();
        log().notice("stopped");
        return EXIT_OK;
    }

    bool help_ = false, json_ = false, force_ = false;
    std::string configFile_, lang_ = "vi", agency_, from_ = "auto", style_, role_, displayName_;
    std::map<std::string, std::string> flags_, indexParams_;
    ImportOptions importOptions_;
    std::size_t demoDossiers_ = 0;
    std::unique_ptr<Settings> settings_;
    Paths paths_;
};

}  // namespace
}  // namespace hailong

POCO_SERVER_MAIN(hailong::HailongApp)

#include "app/Settings.h"

#include <Poco/File.h>
#include <Poco/Path.h>
#include <Poco/Util/IniFileConfiguration.h>
#include <Poco/Util/JSONConfiguration.h>
#include <Poco/Util/MapConfiguration.h>
#include <Poco/Util/PropertyFileConfiguration.h>

#include <algorithm>
#include <cctype>
#include <set>
#include <stdexcept>

namespace hailong {

const std::vector<Setting>& settings() {
    static const std::vector<Setting> all{
        {"db.url", "",
         "Database: sqlite:PATH (relative to the working folder) or "
         "postgresql://USER[:PASSWORD]@HOST[:PORT]/DB (default: sqlite:PATHS.DATA/hailong.db, "
         "in the data folder)"},
        {"db.pool_size", "8", "Database connections kept open"},
        {"db.busy_timeout_ms", "5000", "SQLite: how long a write waits for the lock"},
        {"db.sqlite_cache_mb", "16", "SQLite: page cache of each connection, in MB"},
        {"http.host", "127.0.0.1", "Address to listen on (0.0.0.0 for every interface)"},
        {"http.port", "8080", "Port to listen on"},
        {"http.threads", "128", "Worker threads; each keep-alive client holds one while connected"},
        {"http.queue", "256", "Connections waiting for a worker; beyond this they are closed"},
        {"http.keep_alive_timeout_s", "5", "Idle keep-alive connections are closed after this"},
        {"http.max_body_bytes", "1048576", "Largest request body accepted (413 beyond)"},
        {"http.io_timeout_s", "30", "Socket read/write timeout"},
        {"http.max_connections_per_address", "32",
         "Connections one client address may hold open (more get 503); 0: no limit. Not applied "
         "with http.trust_proxy (the proxy must limit them)"},
        {"http.request_timeout_s", "10",
         "Seconds a client has to send a request's headers (and its body, plus its size at "
         "http.min_body_bytes_per_s) before it gets 408 and is closed; 0: no deadline"},
        {"http.min_body_bytes_per_s", "16384",
         "Slowest upload accepted when the body's deadline is counted"},
        {"http.trust_proxy", "false",
         "Take the client address from X-Forwarded-For (only behind your own proxy)"},
        {"http.log_requests", "true", "Log one line per request"},
        {"api.token", "", "Bearer token for API writes; empty: read from api.token_file", true},
        {"api.token_file", "",
         "File holding the API token; created with a random token on first start (default: "
         "api-token in paths.data)"},
        {"privacy.phone_key", "",
         "Secret for the keyed hashes of phone numbers; empty: one drawn at the first start and "
         "kept in the database (every host of it shares it)",
         true},
        {"privacy.phone_retention_days", "30",
         "Days after a dossier is returned before its phone number is erased (its keyed hash "
         "stays, so replies still match)"},
        {"privacy.text_retention_days", "0",
         "Days the words citizens wrote (comments, free-text answers, complaints of finished "
         "cases, messages sent) are kept as written; 0: kept"},
        {"privacy.text_after_retention", "mask",
         "After that: mask (phone, identity and e-mail numbers replaced by ***) or delete"},
        {"links.base_url", "",
         "Public address survey links and QR codes start with, e.g. https://hailong.example.gov.vn "
         "(default: http://http.host:http.port)"},
        {"links.survey", "sipas-2017", "Survey a dossier's link asks when the request names none"},
        {"links.plugin", "webform", "Plugin that answers survey links, also served under /s/"},
        {"console.idle_minutes", "30", "A console session unused this long is signed out"},
        {"console.session_hours", "12", "A console session ends this long after signing in"},
        {"console.secure_cookie", "false",
         "Mark the console's session cookie Secure (set it when citizens and officials reach "
         "hailong over HTTPS)"},
        {"paths.data", "data", "Folder for the SQLite database, tokens and uploads"},
        {"paths.plugins", "", "Plugin folders, ':'-separated (default: found next to the binary)"},
        {"paths.surveys", "", "Survey definitions folder (default: found next to the binary)"},
        {"paths.web", "", "Console templates and static files (default: found next to the binary)"},
        {"paths.locale", "",
         "Message catalogs and language data (default: found next to the binary)"},
        {"plugins.enabled", "*", "Plugins to load, comma-separated names; * loads all found"},
        {"ingest.batch_max", "256", "Most responses committed in one transaction"},
        {"ingest.queue_max", "10000", "Responses waiting to be written before 503"},
        {"outbox.poll_ms", "1000", "How often the outbox looks for due messages"},
        {"outbox.max_attempts", "8", "Delivery attempts before a message is marked failed"},
        {"webhooks.pause_after_hours", "24",
         "A webhook subscription whose deliveries have failed this long is paused"},
        {"webhooks.timeout_s", "5", "Seconds a webhook receiver has to answer a delivery"},
        {"index.fold_interval_ms", "1000",
         "How often new responses are counted into the index aggregates (queries add the rest)"},
        {"export.keep_hours", "24",
         "Console exports are kept this long for download, then removed (files under "
         "<data>/exports)"},
        {"alerts.settle_ms", "500",
         "After ratings arrive, wait this long (a burst settles) before evaluating alert rules"},
        {"alerts.sweep_seconds", "60",
         "Evaluate every alert rule this often too (alerts clear as their window moves on)"},
        {"cases.working_days", "10",
         "Follow-up cases are due this many working days after they open (an agency may set its "
         "own in the console)"},
        {"cases.rating_at_or_below", "2",
         "A rating at or below this, on a five-point scale, with a comment or a reason opens a "
         "case (0: ratings open none; complaints always do)"},
        {"cases.holidays", "",
         "Days off besides weekends, for case deadlines: 2026-01-01, 2026-02-14..2026-02-22, ..."},
        {"cases.sms_segments", "5",
         "An answer sent by SMS is cut to fit this many concatenated parts (Kannel's sendsms-user "
         "max-messages must allow as many); the console keeps it whole"},
        {"cases.sweep_seconds", "60", "How often overdue cases are escalated to the parent agency"},
        {"mail.smtp_host", "",
         "SMTP relay for e-mail alerts (plain SMTP, e.g. a local postfix); empty: e-mail notices "
         "wait in the outbox"},
        {"mail.smtp_port", "25", "Port of the SMTP relay"},
        {"mail.from", "hailong@localhost", "Sender address of e-mail notices"},
        {"mail.username", "", "SMTP AUTH LOGIN user (empty: no authentication)"},
        {"mail.password", "", "SMTP AUTH LOGIN password", true},
        {"demo.on_empty", "false", "Load the demo data when the database is empty at start"},
        {"text.tone_style", "new",
         "Where tone marks go in oa/oe/uy: new (hoà, khoẻ, thuỷ) or old (hòa, khỏe, thủy)"},
        {"log.level", "information", "fatal, error, warning, notice, information, debug, trace"},
        {"log.file", "", "Log file (default: standard error)"},
    };
    return all;
}

std::string Settings::envName(const std::string& key) {
    std::string out = "HAILONG_";
    for (char c : key)
        out.push_back(c == '.' || c == '-'
                          ? '_'
                          : static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
    return out;
}

Settings Settings::load(const std::string& file, const std::map<std::string, std::string>& flags,
                        char** environ) {
    Settings s;
    s.config_ = new Poco::Util::LayeredConfiguration;
    std::set<std::string> known;
    Poco::AutoPtr<Poco::Util::MapConfiguration> defaults = new Poco::Util::MapConfiguration;
    for (const Setting& setting : settings()) {
        defaults->setString(setting.key, setting.defaultValue);
        known.insert(setting.key);
    }

    if (!file.empty()) {
        if (!Poco::File(file).exists())
            throw std::runtime_error("configuration file not found: " + file);
        s.file_ = Poco::Path(file).absolute().toString();
        const std::string ext = Poco::Path(file).getExtension();
        try {
            if (ext == "ini")
                s.file_config_ = new Poco::Util::IniFileConfiguration(file);
            else if (ext == "json")
                s.file_config_ = new Poco::Util::JSONConfiguration(file);
            else
                s.file_config_ = new Poco::Util::PropertyFileConfiguration(file);
        } catch (const Poco::Exception& e) {
            throw std::runtime_error("cannot read configuration file " + file + ": " +
                                     e.displayText());
        }
        Poco::Util::AbstractConfiguration::Keys top;
        std::vector<std::string> stack{""};
        while (!stack.empty()) {  // collect leaf keys to spot typos
            std::string prefix = stack.back();
            stack.pop_back();
            Poco::Util::AbstractConfiguration::Keys keys;
            s.file_config_->keys(prefix, keys);
            if (keys.empty() && !prefix.empty() && !known.contains(prefix) &&
                !prefix.starts_with("plugin."))
                s.unknown_.push_back(prefix + " (file)");
            for (const auto& k : keys) stack.push_back(prefix.empty() ? k : prefix + "." + k);
        }
    }

    // HAILONG_DB_URL -> db.url for known keys; HAILONG_PLUGIN_<NAME>_<KEY> -> plugin.name.key.
    Poco::AutoPtr<Poco::Util::MapConfiguration> env = new Poco::Util::MapConfiguration;
    std::map<std::string, std::string> byEnvName;
    for (const std::string& k : known) byEnvName[envName(k)] = k;
    for (char** e = environ; e && *e; ++e) {
        std::string entry(*e);
        const auto eq = entry.find('=');
        if (eq == std::string::npos || !entry.starts_with("HAILONG_")) continue;
        const std::string name = entry.substr(0, eq), value = entry.substr(eq + 1);
        if (auto it = byEnvName.find(name); it != byEnvName.end()) {
            env->setString(it->second, value);
        } else if (name.starts_with("HAILONG_PLUGIN_")) {
            std::string rest = name.substr(15);
            const auto us = rest.find('_');
            if (us == std::string::npos) continue;
            std::string key = "plugin." + rest.substr(0, us) + "." + rest.substr(us + 1);
            std::transform(key.begin(), key.end(), key.begin(),
                           [](unsigned char c) { return std::tolower(c); });
            env->setString(key, value);
        } else if (name != "HAILONG_CONFIG") {
            s.unknown_.push_back(name + " (environment)");
        }
    }
    Poco::AutoPtr<Poco::Util::MapConfiguration> flagConfig = new Poco::Util::MapConfiguration;
    for (const auto& [k, v] : flags) flagConfig->setString(k, v);
    s.flags_ = flagConfig;
    s.env_ = env;

    s.config_->add(flagConfig, 0);
    s.config_->add(env, 10);
    if (s.file_config_) s.config_->add(s.file_config_, 50);
    s.config_->add(defaults, 100);

    // Check the numeric settings now, with a message naming the key.
    for (const char* key : {"db.pool_size",
                            "db.busy_timeout_ms",
                            "db.sqlite_cache_mb",
                            "http.port",
                            "http.threads",
                            "http.queue",
                            "http.keep_alive_timeout_s",
                            "http.max_body_bytes",
                            "http.io_timeout_s",
                            "http.max_connections_per_address",
                            "http.request_timeout_s",
                            "http.min_body_bytes_per_s",
                            "ingest.batch_max",
                            "ingest.queue_max",
                            "outbox.poll_ms",
                            "outbox.max_attempts",
                            "webhooks.pause_after_hours",
                            "webhooks.timeout_s",
                            "index.fold_interval_ms",
                            "export.keep_hours",
                            "alerts.settle_ms",
                            "alerts.sweep_seconds",
                            "cases.working_days",
                            "cases.sweep_seconds",
                            "cases.sms_segments",
                            "privacy.phone_retention_days",
                            "privacy.text_retention_days",
                            "mail.smtp_port"}) {
        int v = 0;
        try {
            v = s.config_->getInt(key);
        } catch (const Poco::Exception&) {
            throw std::runtime_error(std::string("setting ") + key + " must be a number, not \"" +
                                     s.config_->getString(key) + "\" (from " + s.sourceOf(key) +
                                     ")");
        }
        if (v < 0 || (std::string(key) == "http.port" && v > 65535))
            throw std::runtime_error(std::string("setting ") + key +
                                     " is out of range: " + std::to_string(v));
    }
    if (const std::string v = s.config_->getString("privacy.text_after_retention");
        v != "mask" && v != "delete")
        throw std::runtime_error(
            "setting privacy.text_after_retention must be mask or delete, "
            "not \"" +
            v + "\" (from " + s.sourceOf("privacy.text_after_retention") + ")");
    return s;
}

std::string Settings::sourceOf(const std::string& key) const {
    if (flags_ && flags_->has(key)) return "flag";
    if (env_ && env_->has(key)) return "env " + envName(key);
    if (file_config_ && file_config_->has(key)) return "file";
    return "default";
}

std::string databaseUrl(const Poco::Util::AbstractConfiguration& config) {
    const std::string url = config.getString("db.url", "");
    return url.empty() ? "sqlite:" + config.getString("paths.data", "data") + "/hailong.db" : url;
}

}  // namespace hailong

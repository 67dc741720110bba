#include "store/Migrations.h"

#include "common/Clock.h"

#include <stdexcept>

using namespace Poco::Data::Keywords;

namespace hailong {
namespace {

// Directory and responses. Codes are the identifiers other systems know; ids are ours.
const Migration kDirectory{
    1,
    "directory and responses",
    {
        R"(CREATE TABLE agencies (
            id {{id}},
            code TEXT NOT NULL UNIQUE,
            name TEXT NOT NULL,
            parent_id BIGINT REFERENCES agencies(id),
            path TEXT NOT NULL DEFAULT '',
            depth INTEGER NOT NULL DEFAULT 0,
            kind TEXT NOT NULL DEFAULT '',
            address TEXT NOT NULL DEFAULT '',
            active INTEGER NOT NULL DEFAULT 1,
            search_key TEXT NOT NULL DEFAULT '',
            created_at BIGINT NOT NULL,
            updated_at BIGINT NOT NULL))",
        "CREATE INDEX agencies_parent ON agencies(parent_id)",
        "CREATE INDEX agencies_path ON agencies(path)",
        R"(CREATE TABLE counters (
            id {{id}},
            code TEXT NOT NULL UNIQUE,
            name TEXT NOT NULL,
            agency_id BIGINT NOT NULL REFERENCES agencies(id),
            active INTEGER NOT NULL DEFAULT 1,
            search_key TEXT NOT NULL DEFAULT '',
            created_at BIGINT NOT NULL,
            updated_at BIGINT NOT NULL))",
        "CREATE INDEX counters_agency ON counters(agency_id)",
        R"(CREATE TABLE officers (
            id {{id}},
            code TEXT NOT NULL UNIQUE,
            name TEXT NOT NULL,
            title TEXT NOT NULL DEFAULT '',
            agency_id BIGINT NOT NULL REFERENCES agencies(id),
            active INTEGER NOT NULL DEFAULT 1,
            search_key TEXT NOT NULL DEFAULT '',
            created_at BIGINT NOT NULL,
            updated_at BIGINT NOT NULL))",
        "CREATE INDEX officers_agency ON officers(agency_id)",
        R"(CREATE TABLE procedures (
            id {{id}},
            code TEXT NOT NULL UNIQUE,
            name TEXT NOT NULL,
            field TEXT NOT NULL DEFAULT '',
            processing_days INTEGER NOT NULL DEFAULT 0,
            online TEXT NOT NULL DEFAULT 'none',
            active INTEGER NOT NULL DEFAULT 1,
            search_key TEXT NOT NULL DEFAULT '',
            created_at BIGINT NOT NULL,
            updated_at BIGINT NOT NULL))",
        R"(CREATE TABLE dossiers (
            id {{id}},
            code TEXT NOT NULL UNIQUE,
            agency_id BIGINT NOT NULL REFERENCES agencies(id),
            procedure_id BIGINT REFERENCES procedures(id),
            officer_id BIGINT REFERENCES officers(id),
            counter_id BIGINT REFERENCES counters(id),
            status TEXT NOT NULL DEFAULT 'received',
            received_at BIGINT NOT NULL,
            due_at BIGINT,
            returned_at BIGINT,
            phone TEXT NOT NULL DEFAULT '',
            created_at BIGINT NOT NULL,
            updated_at BIGINT NOT NULL))",
        "CREATE INDEX dossiers_agency_received ON dossiers(agency_id, received_at)",
        "CREATE INDEX dossiers_officer ON dossiers(officer_id)",
        R"(CREATE TABLE devices (
            id {{id}},
            code TEXT NOT NULL UNIQUE,
            name TEXT NOT NULL,
            counter_id BIGINT NOT NULL REFERENCES counters(id),
            status TEXT NOT NULL DEFAULT 'unpaired',
            token_hash TEXT NOT NULL DEFAULT '',
            last_seen_at BIGINT,
            created_at BIGINT NOT NULL,
            updated_at BIGINT NOT NULL))",
        "CREATE INDEX devices_counter ON devices(counter_id)",
        R"(CREATE TABLE responses (
            id {{id}},
            receipt TEXT NOT NULL UNIQUE,
            idempotency_key TEXT NOT NULL UNIQUE,
            survey_id TEXT NOT NULL,
            survey_version INTEGER NOT NULL,
            channel TEXT NOT NULL,
            language TEXT NOT NULL DEFAULT 'vi',
            agency_id BIGINT REFERENCES agencies(id),
            counter_id BIGINT REFERENCES counters(id),
            officer_id BIGINT REFERENCES officers(id),
            procedure_id BIGINT REFERENCES procedures(id),
            dossier_id BIGINT REFERENCES dossiers(id),
            device_id BIGINT REFERENCES devices(id),
            comment_raw TEXT NOT NULL DEFAULT '',
            comment_norm TEXT NOT NULL DEFAULT '',
            answered_at BIGINT NOT NULL,
            received_at BIGINT NOT NULL))",
        "CREATE INDEX responses_agency_received ON responses(agency_id, received_at)",
        "CREATE INDEX responses_survey_received ON responses(survey_id, received_at)",
        // One response per dossier and survey, whatever the channel or the client's key.
        "CREATE UNIQUE INDEX responses_one_per_dossier ON responses(dossier_id, survey_id) "
        "WHERE dossier_id IS NOT NULL",
        R"(CREATE TABLE answers (
            response_id BIGINT NOT NULL REFERENCES responses(id),
            question_id TEXT NOT NULL,
            position INTEGER NOT NULL DEFAULT 0,
            value_num {{real}},
            value_text TEXT NOT NULL DEFAULT '',
            PRIMARY KEY (response_id, question_id, position)))",
        R"(CREATE TABLE outbox (
            id {{id}},
            channel TEXT NOT NULL,
            recipient TEXT NOT NULL,
            body TEXT NOT NULL,
            dedupe_key TEXT UNIQUE,
            status TEXT NOT NULL DEFAULT 'pending',
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at BIGINT NOT NULL,
            last_error TEXT NOT NULL DEFAULT '',
            created_at BIGINT NOT NULL,
            sent_at BIGINT))",
        "CREATE INDEX outbox_due ON outbox(status, next_attempt_at)",
    }};

// Survey versions (immutable once published) and API keys for systems that send responses.
const Migration kSurveys{2,
                         "survey versions and API keys",
                         {
                             R"(CREATE TABLE survey_versions (
            id {{id}},
            survey_id TEXT NOT NULL,
            version INTEGER NOT NULL,
            status TEXT NOT NULL DEFAULT 'published',
            content_hash TEXT NOT NULL,
            definition TEXT NOT NULL,
            source TEXT NOT NULL DEFAULT '',
            created_at BIGINT NOT NULL,
            published_at BIGINT,
            retired_at BIGINT,
            UNIQUE (survey_id, version)))",
                             R"(CREATE TABLE api_keys (
            id {{id}},
            name TEXT NOT NULL UNIQUE,
            agency_id BIGINT NOT NULL REFERENCES agencies(id),
            key_hash TEXT NOT NULL UNIQUE,
            prefix TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            last_used_at BIGINT,
            revoked_at BIGINT))",
                         }};

// Aggregates for the index engine: counts per rollup cell (a family of breakdowns at a day,
// month or year grain), item (question, index score, responses) and value. `folded` marks the
// responses already counted there; the partial index finds the others (the real-time tail) at once.
const Migration kIndices{3,
                         "index aggregates",
                         {
                             "ALTER TABLE responses ADD COLUMN folded INTEGER NOT NULL DEFAULT 0",
                             "CREATE INDEX responses_unfolded ON responses(id) WHERE folded = 0",
                             R"(CREATE TABLE index_counts (
            rollup TEXT NOT NULL,
            survey_id TEXT NOT NULL,
            period BIGINT NOT NULL,
            agency_id BIGINT NOT NULL,
            group_id BIGINT NOT NULL,
            channel TEXT NOT NULL,
            survey_version INTEGER NOT NULL,
            item TEXT NOT NULL,
            value TEXT NOT NULL,
            n BIGINT NOT NULL,
            total {{real}} NOT NULL,
            squares {{real}} NOT NULL,
            PRIMARY KEY (rollup, survey_id, period, agency_id, group_id, channel,
                         survey_version, item, value)))",
                             R"(CREATE TABLE index_state (
            id INTEGER PRIMARY KEY,
            folds BIGINT NOT NULL,
            folded BIGINT NOT NULL))",
                             "INSERT INTO index_state (id, folds, folded) VALUES (1, 0, 0)",
                         }};

// Channel devices and their people: one-time pairing codes and tokens (both stored hashed),
// officers' PINs (Argon2id), officers' shifts on a device, the device clock beside the server's,
// and submissions held for review (a flood of taps from one device) until an official decides.
const Migration kDevices{
    4,
    "device pairing, shifts and held submissions",
    {
        "ALTER TABLE devices ADD COLUMN pairing_hash TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE devices ADD COLUMN pairing_expires_at BIGINT",
        "ALTER TABLE devices ADD COLUMN paired_at BIGINT",
        "ALTER TABLE devices ADD COLUMN revoked_at BIGINT",
        "CREATE INDEX devices_token ON devices(token_hash)",
        "ALTER TABLE officers ADD COLUMN pin_hash TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE responses ADD COLUMN device_at BIGINT",
        R"(CREATE TABLE device_shifts (
            id {{id}},
            device_id BIGINT NOT NULL REFERENCES devices(id),
            officer_id BIGINT NOT NULL REFERENCES officers(id),
            started_at BIGINT NOT NULL,
            ended_at BIGINT,
            started_by TEXT NOT NULL))",
        "CREATE INDEX device_shifts_open ON device_shifts(device_id) WHERE ended_at IS NULL",
        R"(CREATE TABLE held_submissions (
            id {{id}},
            idempotency_key TEXT NOT NULL UNIQUE,
            receipt TEXT NOT NULL UNIQUE,
            reason TEXT NOT NULL,
            channel TEXT NOT NULL,
            survey_id TEXT NOT NULL,
            device_id BIGINT REFERENCES devices(id),
            agency_id BIGINT REFERENCES agencies(id),
            payload TEXT NOT NULL,
            received_at BIGINT NOT NULL,
            status TEXT NOT NULL DEFAULT 'held',
            decided_at BIGINT,
            response_id BIGINT REFERENCES responses(id)))",
        "CREATE INDEX held_submissions_status ON held_submissions(status, received_at)",
    }};

// What plugins keep (SMS conversations...), and the phone numbers that asked for no more
// messages, by keyed hash only.
const Migration kPluginState{
    5,
    "plugin state and phone opt-outs",
    {
        R"(CREATE TABLE plugin_state (
            plugin TEXT NOT NULL,
            record_key TEXT NOT NULL,
            value TEXT NOT NULL,
            expires_at BIGINT NOT NULL,
            updated_at BIGINT NOT NULL,
            PRIMARY KEY (plugin, record_key)))",
        "CREATE INDEX plugin_state_expiry ON plugin_state(plugin, expires_at)",
        // Channels follow dossiers as they change (invitations after a result is returned).
        "CREATE INDEX dossiers_changed ON dossiers(status, updated_at, id)",
        R"(CREATE TABLE phone_optouts (
            phone_key TEXT PRIMARY KEY,
            channel TEXT NOT NULL,
            created_at BIGINT NOT NULL))",
    }};

// A dossier's phone as a keyed hash too: the clear number is erased after the retention time
// (only invitations need it), the hash stays for matching replies to dossiers.
const Migration kPhoneKeys{6,
                           "dossier phone keys",
                           {
                               "ALTER TABLE dossiers ADD COLUMN phone_key TEXT NOT NULL DEFAULT ''",
                           }};

// Secrets every host of one database must share (the phone key: hosts hashing numbers with
// different keys would match nothing).
const Migration kSecrets{7,
                         "shared secrets",
                         {
                             R"(CREATE TABLE host_secrets (
            name TEXT PRIMARY KEY,
            value TEXT NOT NULL,
            created_at BIGINT NOT NULL))",
                         }};

// The console's accounts, their sessions, and the audit log of every change made through the
// console or the API.
const Migration kAccounts{8,
                          "accounts, sessions and the audit log",
                          {
                              R"(CREATE TABLE users (
            id {{id}},
            username TEXT NOT NULL UNIQUE,
            display_name TEXT NOT NULL DEFAULT '',
            role TEXT NOT NULL,
            agency_id BIGINT REFERENCES agencies(id),
            password_hash TEXT NOT NULL,
            must_change INTEGER NOT NULL DEFAULT 0,
            active INTEGER NOT NULL DEFAULT 1,
            failed_signins INTEGER NOT NULL DEFAULT 0,
            locked_until BIGINT NOT NULL DEFAULT 0,
            created_at BIGINT NOT NULL,
            updated_at BIGINT NOT NULL,
            password_changed_at BIGINT NOT NULL))",
                              R"(CREATE TABLE sessions (
            token_hash TEXT PRIMARY KEY,
            user_id BIGINT NOT NULL REFERENCES users(id),
            csrf TEXT NOT NULL,
            address TEXT NOT NULL DEFAULT '',
            user_agent TEXT NOT NULL DEFAULT '',
            created_at BIGINT NOT NULL,
            seen_at BIGINT NOT NULL,
            expires_at BIGINT NOT NULL))",
                              "CREATE INDEX sessions_user ON sessions(user_id)",
                              R"(CREATE TABLE audit_log (
            id {{id}},
            at BIGINT NOT NULL,
            actor TEXT NOT NULL,
            user_id BIGINT,
            address TEXT NOT NULL DEFAULT '',
            request_id TEXT NOT NULL DEFAULT '',
            action TEXT NOT NULL,
            kind TEXT NOT NULL,
            code TEXT NOT NULL DEFAULT '',
            agency_path TEXT NOT NULL DEFAULT '',
            before_json TEXT NOT NULL DEFAULT '',
            after_json TEXT NOT NULL DEFAULT ''))",
                              "CREATE INDEX audit_log_at ON audit_log(at)",
                              "CREATE INDEX audit_log_kind ON audit_log(kind, code)",
                          }};

// Each counter may ask its own survey on its tablets (empty: the counter plugin's setting);
// devices report how many ratings wait in their offline queue.
const Migration kCounterSurveys{9,
                                "counters choose their survey, devices report their queue",
                                {
                                    "ALTER TABLE counters ADD COLUMN survey_id TEXT NOT NULL "
                                    "DEFAULT ''",
                                    "ALTER TABLE devices ADD COLUMN queue_size BIGINT NOT NULL "
                                    "DEFAULT 0",
                                }};

// What each response says beyond its answers' counts, read once at ingest (older responses are
// read at the next start): its mood (ratings averaged on 0–100; under 50 is unhappy), the
// citizen's own words with their accent-free key, sentiment and topics, and when the citizen
// was served at the desk (the dossier's return, when the rating came after it). Then the
// hour-of-week counts behind the dashboard's heat map (by agency and month), and the alert rules
// with the alerts they raised (one open alert per rule, enforced by the database across hosts).
const Migration kFeedback{
    10,
    "response readings, hour-of-week counts and alerts",
    {
        "ALTER TABLE responses ADD COLUMN mood {{real}}",
        "ALTER TABLE responses ADD COLUMN feedback TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE responses ADD COLUMN feedback_key TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE responses ADD COLUMN sentiment TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE responses ADD COLUMN topics TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE responses ADD COLUMN served_at BIGINT",
        "ALTER TABLE responses ADD COLUMN read_at BIGINT",
        "CREATE INDEX responses_unread ON responses(id) WHERE read_at IS NULL",
        "CREATE INDEX responses_feedback ON responses(survey_id, answered_at) WHERE feedback <> ''",
        R"(CREATE TABLE index_hours (
            survey_id TEXT NOT NULL,
            period BIGINT NOT NULL,
            agency_id BIGINT NOT NULL,
            slot INTEGER NOT NULL,
            responses BIGINT NOT NULL,
            rated BIGINT NOT NULL,
            unhappy BIGINT NOT NULL,
            mood_total {{real}} NOT NULL,
            PRIMARY KEY (survey_id, period, agency_id, slot)))",
        R"(CREATE TABLE alert_rules (
            id {{id}},
            agency_id BIGINT NOT NULL REFERENCES agencies(id),
            kind TEXT NOT NULL,
            survey_id TEXT NOT NULL DEFAULT '',
            index_id TEXT NOT NULL DEFAULT '',
            threshold {{real}} NOT NULL,
            window_minutes INTEGER NOT NULL,
            min_n INTEGER NOT NULL,
            recipients TEXT NOT NULL DEFAULT '',
            active INTEGER NOT NULL DEFAULT 1,
            created_by TEXT NOT NULL DEFAULT '',
            created_at BIGINT NOT NULL,
            updated_at BIGINT NOT NULL))",
        "CREATE INDEX alert_rules_agency ON alert_rules(agency_id)",
        R"(CREATE TABLE alerts (
            id {{id}},
            rule_id BIGINT NOT NULL REFERENCES alert_rules(id),
            agency_id BIGINT NOT NULL REFERENCES agencies(id),
            opened_at BIGINT NOT NULL,
            value {{real}} NOT NULL,
            n BIGINT NOT NULL,
            cleared_at BIGINT,
            cleared_value {{real}},
            cleared_n BIGINT))",
        "CREATE UNIQUE INDEX alerts_one_open ON alerts(rule_id) WHERE cleared_at IS NULL",
        "CREATE INDEX alerts_opened ON alerts(opened_at)",
        // The aggregates stored in the order reports read them: a period's rows by group, item
        // and value, the agencies last. Reports that add agencies up (a total; a breakdown by
        // counter, officer, procedure) read them in order, with no sort and no second lookup;
        // on SQLite the rows are the key's own b-tree, so a fold writes each row once.
        R"(CREATE TABLE index_counts_new (
            rollup TEXT NOT NULL,
            survey_id TEXT NOT NULL,
            period BIGINT NOT NULL,
            group_id BIGINT NOT NULL,
            item TEXT NOT NULL,
            value TEXT NOT NULL,
            channel TEXT NOT NULL,
            survey_version INTEGER NOT NULL,
            agency_id BIGINT NOT NULL,
            n BIGINT NOT NULL,
            total {{real}} NOT NULL,
            squares {{real}} NOT NULL,
            PRIMARY KEY (rollup, survey_id, period, group_id, item, value, channel,
                         survey_version, agency_id)){{clustered}})",
        "INSERT INTO index_counts_new (rollup, survey_id, period, group_id, item, value, channel, "
        "survey_version, agency_id, n, total, squares) SELECT rollup, survey_id, period, group_id, "
        "item, value, channel, survey_version, agency_id, n, total, squares FROM index_counts",
        "DROP TABLE index_counts",
        "ALTER TABLE index_counts_new RENAME TO index_counts",
        // Agencies also kept by week (Monday first), from their days: weekly trends read weeks.
        "INSERT INTO index_counts (rollup, survey_id, period, agency_id, group_id, channel, "
        "survey_version, item, value, n, total, squares) SELECT 'agency.week', survey_id, period "
        "- (period + 3) % 7, agency_id, group_id, channel, survey_version, item, value, SUM(n), "
        "SUM(total), SUM(squares) FROM index_counts WHERE rollup = 'agency.day' GROUP BY "
        "survey_id, period - (period + 3) % 7, agency_id, group_id, channel, survey_version, item, "
        "value",
        // Every family also kept by quarter, from its months: a quarter reads one period.
        "INSERT INTO index_counts (rollup, survey_id, period, agency_id, group_id, channel, "
        "survey_version, item, value, n, total, squares) SELECT replace(rollup, '.month', "
        "'.quarter'), survey_id, period / 3, agency_id, group_id, channel, survey_version, item, "
        "value, SUM(n), SUM(total), SUM(squares) FROM index_counts WHERE rollup LIKE '%.month' "
        "GROUP BY replace(rollup, '.month', '.quarter'), survey_id, period / 3, agency_id, "
        "group_id, channel, survey_version, item, value",
        // Every agency added up (responses without an agency apart), by day, week, month,
        // quarter and year: what the province-wide figures read.
        "INSERT INTO index_counts (rollup, survey_id, period, group_id, item, value, channel, "
        "survey_version, agency_id, n, total, squares) SELECT replace(rollup, 'agency.', "
        "'total.'), survey_id, period, group_id, item, value, channel, survey_version, 0, SUM(n), "
        "SUM(total), SUM(squares) FROM index_counts WHERE rollup LIKE 'agency.%' AND agency_id "
        "<> 0 GROUP BY replace(rollup, 'agency.', 'total.'), survey_id, period, group_id, item, "
        "value, channel, survey_version",
        // Each procedure over every agency, by month, quarter and year.
        "INSERT INTO index_counts (rollup, survey_id, period, group_id, item, value, channel, "
        "survey_version, agency_id, n, total, squares) SELECT replace(rollup, 'procedure.', "
        "'procedure_total.'), survey_id, period, group_id, item, value, channel, survey_version, "
        "0, SUM(n), SUM(total), SUM(squares) FROM index_counts WHERE rollup LIKE 'procedure.%' "
        "AND agency_id <> 0 GROUP BY replace(rollup, 'procedure.', 'procedure_total.'), "
        "survey_id, period, group_id, item, value, channel, survey_version",
    }};

// Follow-up cases: negative feedback and complaints an official handles, answers and closes;
// the responses (or complaints) behind each, every change, and each agency's rules.
const Migration kCases{
    11,
    "follow-up cases",
    {
        R"(CREATE TABLE cases (
            id {{id}},
            code TEXT NOT NULL UNIQUE,
            kind TEXT NOT NULL,
            channel TEXT NOT NULL,
            agency_id BIGINT NOT NULL REFERENCES agencies(id),
            officer_id BIGINT REFERENCES officers(id),
            procedure_id BIGINT REFERENCES procedures(id),
            dossier_id BIGINT REFERENCES dossiers(id),
            summary TEXT NOT NULL,
            topics TEXT NOT NULL DEFAULT '',
            status TEXT NOT NULL,
            assignee_id BIGINT REFERENCES users(id),
            contact TEXT NOT NULL DEFAULT '',
            opened_at BIGINT NOT NULL,
            due_at BIGINT NOT NULL,
            answer TEXT NOT NULL DEFAULT '',
            answered_at BIGINT,
            answered_by TEXT NOT NULL DEFAULT '',
            closed_at BIGINT,
            escalated_to BIGINT REFERENCES agencies(id),
            escalated_at BIGINT,
            verdict TEXT NOT NULL DEFAULT '',
            verdict_at BIGINT,
            answer_queued_at BIGINT,
            updated_at BIGINT NOT NULL))",
        "CREATE INDEX cases_agency_opened ON cases(agency_id, opened_at)",
        "CREATE INDEX cases_open_due ON cases(due_at) WHERE answered_at IS NULL",
        // One open case per dossier, across hosts: a new complaint about it joins that case.
        "CREATE UNIQUE INDEX cases_open_dossier ON cases(dossier_id) WHERE dossier_id IS NOT NULL "
        "AND answered_at IS NULL AND closed_at IS NULL",
        R"(CREATE TABLE case_sources (
            id {{id}},
            case_id BIGINT NOT NULL REFERENCES cases(id),
            response_id BIGINT REFERENCES responses(id),
            channel TEXT NOT NULL,
            words TEXT NOT NULL,
            reason TEXT NOT NULL DEFAULT '',
            source_key TEXT NOT NULL DEFAULT '',
            received_at BIGINT NOT NULL))",
        "CREATE INDEX case_sources_case ON case_sources(case_id)",
        // A complaint sent twice (a gateway's retry) joins its case once.
        "CREATE UNIQUE INDEX case_sources_key ON case_sources(source_key) WHERE source_key <> ''",
        "CREATE UNIQUE INDEX case_sources_response ON case_sources(response_id) WHERE "
        "response_id IS NOT NULL",
        R"(CREATE TABLE case_events (
            id {{id}},
            case_id BIGINT NOT NULL REFERENCES cases(id),
            at BIGINT NOT NULL,
            actor TEXT NOT NULL,
            action TEXT NOT NULL,
            detail TEXT NOT NULL DEFAULT ''))",
        "CREATE INDEX case_events_case ON case_events(case_id, at)",
        R"(CREATE TABLE case_policies (
            agency_id BIGINT PRIMARY KEY REFERENCES agencies(id),
            working_days INTEGER NOT NULL,
            rating_at_or_below {{real}} NOT NULL,
            updated_by TEXT NOT NULL,
            updated_at BIGINT NOT NULL))",
    }};

// Where each housekeeping task stopped (the free-text retention sweeps by time received).
const Migration kHousekeeping{12,
                              "housekeeping progress",
                              {
                                  R"(CREATE TABLE housekeeping (
            task TEXT PRIMARY KEY,
            done_until BIGINT NOT NULL))",
                              }};

// Dossier events from the one-stop system, kept once by the sender's id; applied to the
// dossier in the order they happened (pending until the dossier's agency is known).
const Migration kDossierEvents{13,
                               "dossier events",
                               {
                                   R"(CREATE TABLE dossier_events (
            seq {{id}},
            event_id TEXT NOT NULL UNIQUE,
            dossier_code TEXT NOT NULL,
            type TEXT NOT NULL,
            occurred_at BIGINT NOT NULL,
            received_at BIGINT NOT NULL,
            fingerprint TEXT NOT NULL,
            sender TEXT NOT NULL,
            sender_scope TEXT NOT NULL,
            agency_code TEXT NOT NULL,
            procedure_code TEXT NOT NULL,
            officer_code TEXT NOT NULL,
            counter_code TEXT NOT NULL,
            phone TEXT NOT NULL,
            due_at BIGINT,
            state TEXT NOT NULL,
            applied_at BIGINT))",
                                   "CREATE INDEX dossier_events_by_dossier ON dossier_events "
                                   "(dossier_code, occurred_at)",
                                   "CREATE INDEX dossier_events_pending ON dossier_events "
                                   "(state, received_at)",
                               }};

// Other systems' subscriptions to what happens here; their deliveries go through the outbox
// (channel "webhook", the subscription's id as recipient).
const Migration kWebhooks{14,
                          "webhook subscriptions",
                          {
                              R"(CREATE TABLE webhook_subscriptions (
            id {{id}},
            name TEXT NOT NULL,
            url TEXT NOT NULL,
            agency_id BIGINT NOT NULL REFERENCES agencies(id),
            events TEXT NOT NULL,
            secret TEXT NOT NULL,
            status TEXT NOT NULL,
            pause_reason TEXT NOT NULL,
            failing_since BIGINT,
            paused_at BIGINT,
            last_success_at BIGINT,
            created_at BIGINT NOT NULL,
            created_by TEXT NOT NULL))",
                              "CREATE UNIQUE INDEX webhook_names ON webhook_subscriptions "
                              "(agency_id, name)",
                              "CREATE INDEX outbox_recipient ON outbox(channel, recipient)",
                          }};

const std::string kLedger =
    "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
    "name TEXT NOT NULL, applied_at BIGINT NOT NULL)";

int readVersion(Poco::Data::Session& s) {
    int version = 0;
    s << "SELECT COALESCE(MAX(version), 0) FROM schema_migrations", into(version), now;
    return version;
}

}  // namespace

const std::vector<Migration>& Migrations::all() {
    static const std::vector<Migration> migrations{
        kDirectory, kSurveys,        kIndices,  kDevices, kPluginState,  kPhoneKeys,     kSecrets,
        kAccounts,  kCounterSurveys, kFeedback, kCases,   kHousekeeping, kDossierEvents, kWebhooks};
    return migrations;
}

int Migrations::currentVersion(Database& db) {
    // Read-only: health checks call this, and must not take SQLite's write lock.
    return db.read([&](Poco::Data::Session& s) {
        int tables = 0;
        if (db.backend() == Backend::SQLite)
            s << "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND "
                 "name = 'schema_migrations'",
                into(tables), now;
        else
            s << "SELECT COUNT(*) FROM information_schema.tables WHERE "
                 "table_schema = current_schema() AND table_name = 'schema_migrations'",
                into(tables), now;
        return tables == 0 ? 0 : readVersion(s);
    });
}

std::vector<int> Migrations::apply(Database& db) {
    std::vector<int> applied;
    const int newest = all().back().version;
    for (const Migration& m : all()) {
        const bool ran = db.write([&](Poco::Data::Session& s) {
            if (db.backend() == Backend::PostgreSQL) {  // one migrator at a time
                int locked = 0;
                s << "SELECT 1 FROM (SELECT pg_advisory_xact_lock(4242001)) AS l", into(locked),
                    now;
            }
            s << kLedger, now;
            const int current = readVersion(s);
            if (current > newest)
                throw std::runtime_error("the database schema (version " + std::to_string(current) +
                                         ") is newer than this hailong (" + std::to_string(newest) +
                                         "); upgrade hailong");
            if (current >= m.version) return false;
            for (const std::string& sql : m.statements) s << db.dialect(sql), now;
            const std::int64_t at = nowMs();
            int version = m.version;
            std::string name = m.name;
            s << "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
                use(version), use(name), bind(at), now;
            return true;
        });
        if (ran) applied.push_back(m.version);
    }
    return applied;
}

}  // namespace hailong

#include "app/Exports.h"

#include "app/Runtime.h"
#include "common/Clock.h"
#include "common/Random.h"
#include "export/IndexSheet.h"
#include "export/SavSink.h"
#include "export/XlsxSink.h"
#include "index/Periods.h"

#include <hailong/Problem.h>

#include <Poco/DirectoryIterator.h>
#include <Poco/File.h>
#include <Poco/Logger.h>

#include <algorithm>
#include <fstream>
#include <memory>

namespace hailong {

namespace {

// Thrown from an export's progress to abandon it when the host stops.
struct Abandoned {};

// The indices of the export's filter, as the XLSX's third sheet.
exports::Sheet indicesOf(Runtime& rt, const ExportRequest& request) {
    const exports::ExportFilter& f = request.filter;
    index::IndexRequest r;
    r.surveyId = f.surveyId;
    r.by = f.procedureCode ? "procedure" : "agency";
    r.channel = f.channel;
    r.version = f.version;
    if (!request.agencyCode.empty())
        if (auto a = rt.directory().agency(request.agencyCode)) r.scopeAgency = a->id;
    const auto span = rt.indices().store().span(f.surveyId);
    const std::int64_t today = index::localDay(nowMs());
    r.fromDay = f.fromDay.value_or(span ? span->first : today);
    r.toDay = f.toDay.value_or(span ? span->second : today);
    const std::string name = rt.messages().text(f.language, "export.sheet.indices");
    if (r.toDay < r.fromDay) {  // a period with no day in it: a sheet with no rows
        exports::Sheet empty;
        empty.name = name;
        return empty;
    }
    index::IndexReport report = rt.indices().report(r);
    if (f.procedureCode)
        std::erase_if(report.groups,
                      [&](const index::GroupResult& g) { return g.key != *f.procedureCode; });
    return exports::indexSheet(report, f.language, name);
}

}  // namespace

bool isExportFormat(const std::string& format) {
    return format == "csv" || format == "csv-excel" || format == "xlsx" || format == "sav" ||
           format == "jsonl";
}

std::string exportExtension(const std::string& format) {
    return format == "csv-excel" ? "csv" : format;
}

std::size_t writeExport(Runtime& rt, const ExportRequest& request, const std::string& path,
                        const exports::ExportProgress& progress) {
    if (!isExportFormat(request.format))
        throw Problem(400, "query.one_of",
                      {{"name", "format"}, {"values", "csv, csv-excel, xlsx, sav, jsonl"}});
    const std::string part = path + ".part";
    auto removePart = [&] {
        try {
            Poco::File(part).remove();
        } catch (const Poco::Exception&) {
        }
    };
    try {
        std::size_t rows = 0;
        if (request.format == "xlsx") {
            const std::string tmp = Poco::Path(path).parent().toString();
            std::vector<exports::Sheet> extra{indicesOf(rt, request)};
            auto sink = exports::xlsxSink(part, tmp.empty() ? "." : tmp, rt.messages(),
                                          request.filter.language, std::move(extra));
            rows = exports::exportResponses(rt.database(), rt.surveys(), rt.messages(),
                                            request.filter, *sink, progress);
        } else {
            std::ofstream file;
            std::vector<char> buffer(1 << 20);  // large writes: the export is I/O-heavy
            file.rdbuf()->pubsetbuf(buffer.data(), static_cast<std::streamsize>(buffer.size()));
            file.open(part, std::ios::binary | std::ios::trunc);
            if (!file) throw std::runtime_error("cannot write " + part);
            auto sink =
                request.format == "jsonl" ? exports::jsonLinesSink(file)
                : request.format == "sav"
                    ? exports::savSink(file)
                    : exports::csvSink(file, request.format == "csv-excel", request.delimiter);
            rows = exports::exportResponses(rt.database(), rt.surveys(), rt.messages(),
                                            request.filter, *sink, progress);
            file.close();
            if (!file) throw std::runtime_error("cannot write " + part);
        }
        Poco::File(part).renameTo(path);
        return rows;
    } catch (...) {
        removePart();  // no half file left behind
        throw;
    }
}

ExportJobs::ExportJobs(Runtime& rt, std::string folder, int keepHours)
    : rt_(rt), folder_(std::move(folder)), keepMs_(std::int64_t{std::max(1, keepHours)} * 3600000) {
    Poco::File(folder_).createDirectories();
    // Files of an earlier run: their jobs were forgotten with it.
    for (Poco::DirectoryIterator it(folder_), end; it != end; ++it)
        if (it->isFile()) it->remove();
    worker_ = std::thread([this] { work(); });
}

ExportJobs::~ExportJobs() {
    stop();
}

void ExportJobs::stop() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    if (worker_.joinable()) worker_.join();
}

std::string ExportJobs::submit(std::int64_t userId, ExportRequest request) {
    if (!isExportFormat(request.format))
        throw Problem(400, "query.one_of",
                      {{"name", "format"}, {"values", "csv, csv-excel, xlsx, sav, jsonl"}});
    std::lock_guard lock(mutex_);
    const auto unfinished = std::count_if(jobs_.begin(), jobs_.end(), [&](const ExportJob& j) {
        return j.userId == userId && (j.state == "queued" || j.state == "running");
    });
    if (unfinished >= 5) throw Problem(429, "export.too_many", {{"max", "5"}});
    ExportJob job;
    job.id = random::hex(16);
    job.userId = userId;
    job.request = std::move(request);
    job.createdMs = nowMs();
    jobs_.push_front(job);
    wake_.notify_all();
    return job.id;
}

std::optional<ExportJob> ExportJobs::find(const std::string& id, std::int64_t userId) const {
    std::lock_guard lock(mutex_);
    for (const ExportJob& j : jobs_)
        if (j.id == id && j.userId == userId) return j;
    return std::nullopt;
}

std::vector<ExportJob> ExportJobs::of(std::int64_t userId) const {
    std::lock_guard lock(mutex_);
    std::vector<ExportJob> out;
    for (const ExportJob& j : jobs_)
        if (j.userId == userId) out.push_back(j);
    return out;
}

void ExportJobs::tidy() {
    const std::int64_t before = nowMs() - keepMs_;
    std::vector<std::string> files;
    {
        std::lock_guard lock(mutex_);
        std::erase_if(jobs_, [&](const ExportJob& j) {
            const bool old = j.finishedMs != 0 && j.finishedMs < before;
            if (old && !j.file.empty()) files.push_back(j.file);
            return old;
        });
    }
    for (const std::string& f : files) try {
            Poco::File(f).remove();
        } catch (const Poco::Exception&) {
        }
}

void ExportJobs::work() {
    Poco::Logger& log = Poco::Logger::get("hailong.export");
    for (;;) {
        ExportJob job;
        {
            std::unique_lock lock(mutex_);
            auto next = [&] {
                return std::find_if(jobs_.rbegin(), jobs_.rend(),
                                    [](const ExportJob& j) { return j.state == "queued"; });
            };
            wake_.wait_for(lock, std::chrono::minutes(10),
                           [&] { return stopping_ || next() != jobs_.rend(); });
            if (stopping_) return;
            auto it = next();
            if (it == jobs_.rend()) {
                lock.unlock();
                tidy();
                continue;
            }
            it->state = "running";
            job = *it;
        }
        auto update = [&](const std::function<void(ExportJob&)>& change) {
            std::lock_guard lock(mutex_);
            for (ExportJob& j : jobs_)
                if (j.id == job.id) change(j);
        };
        const std::string path = folder_ + "/" + job.id + "." + exportExtension(job.request.format);
        try {
            const std::size_t rows =
                writeExport(rt_, job.request, path, [&](std::size_t done, std::size_t total) {
                    update([&](ExportJob& j) { j.done = done, j.total = total; });
                    std::lock_guard lock(mutex_);
                    if (stopping_) throw Abandoned{};
                });
            const auto bytes = Poco::File(path).getSize();
            update([&](ExportJob& j) {
                j.state = "done", j.done = j.total = rows, j.file = path, j.bytes = bytes;
                j.finishedMs = nowMs();
            });
        } catch (const Abandoned&) {
            return;
        } catch (const Problem& p) {
            update([&](ExportJob& j) {
                j.state = "failed", j.finishedMs = nowMs();
                j.error = rt_.messages().text(job.request.filter.language, p.code(), p.params());
            });
        } catch (const std::exception& e) {
            log.error("export %s failed: %s", job.id, std::string(e.what()));
            update([&](ExportJob& j) {
                j.state = "failed", j.finishedMs = nowMs();
                j.error = rt_.messages().text(job.request.filter.language, "export.failed");
            });
        }
        tidy();
    }
}

}  // namespace hailong

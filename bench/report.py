#!/usr/bin/env python3
"""Writes bench/README.md from the newest results of each benchmark (bench/results/*.json)."""
import glob, json, os, re, subprocess, sys

root = os.path.dirname(os.path.abspath(__file__))
def newest(prefix):
    files = sorted(glob.glob(os.path.join(root, "results", prefix + "-*.json")))
    return files[-1] if files else None

# The machine each run recorded (bench/run.sh writes results/machine-STAMP.json beside the
# results of that run, with how busy other work kept the cores during each part).
def stamp_of(path):
    return re.search(r"\d{8}T\d{6}Z", os.path.basename(path)).group(0)
def machine_of(path):
    m = os.path.join(root, "results", f"machine-{stamp_of(path)}.json")
    return json.load(open(m)) if os.path.exists(m) else None
def describe(m):
    return f"{m['cores']} cores, {m['cpu']}, {m['memory_gib']:.0f} GiB memory, Linux {m['kernel']}"
machines = sorted(glob.glob(os.path.join(root, "results", "machine-*.json")))
top = json.load(open(machines[-1])) if machines else None
def raw(path, part):
    """The raw-results line of a section: its file, and the machine and load of its run."""
    m = machine_of(path)
    if m is None:
        where = "the machine was not recorded by that run"
    elif describe(m) == describe(top):
        where = "same machine"
    else:
        where = f"machine: {describe(m)}"
    load = (m or {}).get("load", {}).get(part, {})
    if "others_share" in load:
        where += (f"; {load['wall_s']:.0f} s, during which other work than this benchmark kept the cores "
                  f"{load['others_share'] * 100:.0f}% busy")
    return f"\nRaw results: `bench/results/{os.path.basename(path)}` ({where}).\n"

out = ["# Benchmarks\n",
       "Produced by `bench/run.sh` (do not edit by hand). Every figure is measured in the same run as its anchor.\n",
       (f"Machine, as recorded by the newest run ({stamp_of(machines[-1])}): {describe(top)}. Other work on "
        "the same cores during a part (the cores' busy time less the benchmark's own CPU time) is given "
        "under its section.\n") if top else
       "Machine: not recorded by any run (bench/run.sh records it).\n"]

text = newest("text")
if text:
    r = json.load(open(text))
    out += ["## Text (`bench_text`)\n",
            f"Min / median / max over {r['runs']} runs. Corpus: {r['corpus']['comments']:,} NFC Vietnamese comments, "
            f"{r['corpus']['megabytes']:.1f} MB (words of hunspell-vi); replies: the {r['replies']} replies of "
            "tests/text/intents.tsv.\n",
            "| what | hailong | anchor | ratio (median) | target |", "| --- | --- | --- | --- | --- |"]
    h, i = r["hailong_normalize_mb_s"], r["icu_normalize_mb_s"]
    out.append(f"| normalize NFC comments (MB/s) | {h['min']:.0f} / {h['median']:.0f} / {h['max']:.0f} | "
               f"ICU normalizeUTF8: {i['min']:.0f} / {i['median']:.0f} / {i['max']:.0f} | "
               f"{r['normalize_ratio']:.2f} | ≥ 0.50 |")
    p = r["replies_per_s"]
    out.append(f"| read SMS replies (per second, one core) | {p['min']:,.0f} / {p['median']:,.0f} / {p['max']:,.0f} | "
               "— | — | ≥ 500,000 |")
    out.append(raw(text, "text"))

# The newest index result of each size (10 M from `index`, 1 M from `index1m`), largest first.
by_size = {}
for path in sorted(glob.glob(os.path.join(root, "results", "index-*.json"))):
    by_size[json.load(open(path))["responses"]] = path
for index in [by_size[n] for n in sorted(by_size, reverse=True)]:
    r = json.load(open(index))
    f, s = r["report_ms"], r["group_by_ms"]
    out += [f"## Indices at {r['responses']:,} responses (`bench_index`)\n",
            f"{r['responses']:,} `sipas-2017` responses with {r['answers_per_response']} ratings each, in one SQLite "
            "file, generated in SQL (in time order over a year, 121 agencies) " +
            (f"in {r['generate_s']:.0f} s and folded into the aggregates in {r['fold_s']:.0f} s"
             if r["generate_s"] > 0 else "by an earlier run (the database is kept; the first run at this size took 345 s to generate "
             "and 1,101 s to fold)" if r["responses"] == 10000000 else "by an earlier run (the database is kept)") + ". Report: SIPAS by agency (each with its descendants, every "
            "node with n and its interval) from the aggregates, 5 runs; anchor: a plain `GROUP BY` over the raw "
            f"answers of the same database giving the leaf counts per agency only, {s.get('runs', 2)} run(s). "
            f"Both count the same answers: {'yes' if r['same_counts'] else 'NO'}.\n",
            "| what | hailong | anchor | ratio | target |", "| --- | --- | --- | --- | --- |",
            f"| SIPAS by agency, calendar year 2026 (ms) | {f['min']:.1f} / {f['median']:.1f} / {f['max']:.1f} | "
            f"GROUP BY: {s['min']:,.0f} / {s['median']:,.0f} / {s['max']:,.0f} | {r['speedup']:,.0f}× faster | "
            "< 50 ms, ≥ 100× |",
            f"| SIPAS by agency, last 365 days (ms, median) | {r['rolling_report_ms']['median']:.1f} | — | — | — |",
            f"| ingest 20,000 responses through the ingest path (s, median of {r['ingest_s'].get('runs', 3)}) | with the fold: "
            f"{r['ingest_s']['with_fold']:.2f} | without: {r['ingest_s']['plain']:.2f} | "
            f"{r['ingest_overhead'] * 100:+.0f}% | < +10% |",
            raw(index, "index1m" if index.endswith("-1m.json") else "index")]

counter = newest("counter")
if counter:
    r = json.load(open(counter))
    srt = lambda runs: sorted(x["rate"] for x in runs)
    mmm = lambda runs: " / ".join(f"{x:,.0f}" for x in (srt(runs)[0], srt(runs)[len(runs) // 2], srt(runs)[-1]))
    h, b, half = r["hailong"], r["bare"], r["half"]
    n = r.get("nginx")
    out += ["## Counter ratings (`bench/counter/run.sh`)\n",
            f"wrk (2 threads, {r['connections']} keep-alive connections, {r['seconds']} s a run, on the same "
            f"{r['cores']} cores as the servers) posts one tablet rating per request with a fresh UUID and the "
            f"token of one of {r['devices']} paired devices, to `POST /c/counter/api/v1/ratings` of "
            "`hailong serve` (SQLite, `synchronous=FULL`: each rating is on disk before its answer; the "
            "per-device tap limit lifted). Anchors, under the same load (the same bodies posted): a bare Poco "
            "HTTPServer whose handler reads the body and answers 201 with a constant (`bench/bare_http.cpp`)" +
            (f", and nginx {r.get('nginx_version', '')} `return 201 '{{}}'` with a worker per core (the ceiling "
             "on this machine)" if n else "") +
            f"; the servers take turns, {len(h)} runs each; min / median / max. Then hailong at half its median "
            "rate (each connection pausing between requests) for the latency.\n",
            "| what | hailong | bare Poco | nginx | hailong / bare Poco | hailong / nginx | target |",
            "| --- | --- | --- | --- | --- | --- | --- |",
            f"| ratings per second (min / median / max) | {mmm(h)} | {mmm(b)} | {mmm(n) if n else '—'} | "
            f"{r['ratio']:.2f} | {r['nginx_ratio']:.2f} | ≥ 0.70 of bare Poco |" if n else
            f"| ratings per second (min / median / max) | {mmm(h)} | {mmm(b)} | not run | {r['ratio']:.2f} | — | "
            "≥ 0.70 of bare Poco |",
            f"| latency at half rate ({half['rate']:,.0f}/s for a target of {r.get('half_target_rate', 0):,.0f}/s), ms | "
            f"p50 {half['latency_ms']['p50']:.1f}, p90 {half['latency_ms']['p90']:.1f}, "
            f"p99 {half['latency_ms']['p99']:.1f}, max {half['latency_ms']['max']:.1f} | — | — | — | — | p99 < 20 |",
            f"| acknowledged / stored (full-rate runs) | {r['acknowledged']:,} / {r['stored']:,} | — | — | — | — | "
            "every acknowledged rating stored |"]
    mem = r.get("memory")
    if mem:
        fm = lambda x: f"{x['hwm_mb']:.0f} ({x['rss_mb']:.0f})"
        out.append(f"| resident memory after the full-rate runs, MB: peak VmHWM (VmRSS at the end) | "
                   f"{fm(mem['hailong']['load'])} | {fm(mem['bare']['load'])} | {fm(mem['nginx']['load'])}, "
                   f"{mem['nginx']['load']['processes']} processes | "
                   f"{mem['hailong']['load']['hwm_mb'] / mem['bare']['load']['hwm_mb']:.1f}× | "
                   f"{mem['hailong']['load']['hwm_mb'] / mem['nginx']['load']['hwm_mb']:.1f}× | hailong < 150 MB |")
    out.append(raw(counter, "counter"))

dashboard = newest("dashboard")
if dashboard:
    r = json.load(open(dashboard))
    out += ["## Dashboard pages (`bench_dashboard`)\n",
            "Each page of the analyst's dashboard requested over loopback HTTP from a serving hailong "
            "(Release, SQLite, a signed-in console session), timed from the request to the last byte "
            f"(server-side rendering included): 2 requests to warm up, then {r['runs']} timed; min / "
            "median / max in ms. Anchor: the issue's targets, as a ratio of the median.\n"]
    for key, title in (("demo", "the demo province"), ("index_data", "the index benchmark's data")):
        if key not in r:
            continue
        d = r[key]
        out += [f"**{title}** ({d['responses']:,} responses{', loaded in %.0f s' % d['load_s'] if d.get('load_s') else ''}), "
                f"target {d['target_ms']} ms:\n",
                "| page | ms (min / median / max) | kB | median / target |", "| --- | --- | --- | --- |"]
        for p in d["pages"]:
            flag = "" if p["median_ms"] < d["target_ms"] and p["status"] == 200 else " **missed**"
            out.append(f"| {p['name']} (`{p['url']}`) | {p['min_ms']:.1f} / {p['median_ms']:.1f} / "
                       f"{p['max_ms']:.1f} | {p['bytes'] / 1024:.0f} | {p['ratio_to_target']:.2f}{flag} |")
        out.append("")
    out.append(raw(dashboard, "dashboard"))

export = newest("export")
if export:
    r = json.load(open(export))
    a, c = r["anchor"], r["csv"]
    out += ["## Exports (`bench_export`)\n",
            f"{r['responses']:,} `sipas-2017` responses (22 ratings each, a comment on one in ten) in one SQLite file. "
            "Each export is the real `hailong export` command run as a child process; its time is the whole run (start, "
            "reading, writing the file) and its memory the child's peak resident set. Anchor: the `sqlite3` command-line "
            "tool printing the same rows as CSV (the same columns pivoted by one `GROUP BY`, the directory's codes joined; "
            f"the agencies' paths by name left out), {a['runs']} runs each, alternately. Rows written: {r['rows']:,} "
            f"(sqlite3: {r['anchor_rows']:,}).\n",
            "| what | s (min / median / max) | rows/s (median) | peak MB | anchor | ratio | target |",
            "| --- | --- | --- | --- | --- | --- | --- |",
            f"| CSV | {c['s']['min']:.1f} / {c['s']['median']:.1f} / {c['s']['max']:.1f} | {c['rows_per_s']:,.0f} | "
            f"{c['peak_mb']:.0f} | sqlite3 -csv: {a['s']['min']:.1f} / {a['s']['median']:.1f} / {a['s']['max']:.1f} s, "
            f"{a['peak_mb']:.0f} MB | {r['csv_ratio']:.2f} of sqlite3's speed | ≥ 0.50 |"]
    for key, name in (("csv_excel", "CSV for Excel"), ("jsonl", "JSON Lines"), ("xlsx", "XLSX"), ("sav", "SPSS .sav")):
        x = r[key]
        out.append(f"| {name} | {x['s']['median']:.1f} | {x['rows_per_s']:,.0f} | {x['peak_mb']:.0f} | — | — | rate reported |")
    m = r["month"]
    out += ["", f"Memory against the number of rows: one month ({r['month_rows']:,} rows) beside the whole year:\n",
            "| format | peak MB, one month | peak MB, the year | target |", "| --- | --- | --- | --- |"]
    for key, name in (("csv", "CSV"), ("xlsx", "XLSX"), ("sav", "SPSS .sav")):
        out.append(f"| {name} | {m[key]['peak_mb']:.0f} | {r[key]['peak_mb']:.0f} | < 100, flat |")
    out.append(raw(export, "export"))

slowloris = newest("slowloris")
if slowloris:
    r = json.load(open(slowloris))
    out += ["## Slow clients (`bench/slowloris/run.sh`)\n",
            f"wrk ({r['connections']} keep-alive tablets from 127.0.0.1, {r['seconds']} s a run) posts one rating per "
            "request to `POST /c/counter/api/v1/ratings` of `hailong serve` (SQLite), first alone, then while "
            f"`bench/slowloris/flood.py` holds {r['idle']} idle connections from 127.0.0.2 and {r['slow']} slowloris ones "
            "from 127.0.0.3 (a header line a second, never finished; each connection the server closes reopened a "
            "second later). Protected: the defaults (32 connections per address, 10 s to send a request); "
            "unprotected: `http.max_connections_per_address=0`, `http.request_timeout_s=0`. Anchor: the same host "
            "without the flood; ratio = flooded / quiet.\n",
            "| host | quiet: ratings/s, p50, p99 (ms) | flooded: ratings/s, p50, p99 (ms), errors | "
            "ratio rate / p50 / p99 | flood: opened, closed by the server |",
            "| --- | --- | --- | --- | --- |"]
    fmt = lambda x: "—" if x is None else f"{x:.2f}"
    for key, name in (("protected", "protected (defaults)"), ("unprotected", "unprotected")):
        q, f, fl, ra = r[key]["quiet"], r[key]["flooded"], r[key]["flood"], r[key + "_ratio"]
        # With nothing answered under the flood there are no latencies to compare.
        answered = f["rate"] > 0
        flooded = (f"{f['rate']:,.0f}, {f['latency_ms']['p50']:.1f}, {f['latency_ms']['p99']:.1f}"
                   if answered else "none answered")
        ratios = (f"{fmt(ra['rate'])} / {fmt(ra['p50'])} / {fmt(ra['p99'])}" if answered
                  else "0 / — / —")
        out.append(f"| {name} | {q['rate']:,.0f}, {q['latency_ms']['p50']:.1f}, {q['latency_ms']['p99']:.1f} | "
                   f"{flooded}, {f['failed']:,} | {ratios} | "
                   f"{fl['opened']:,}, {fl['closed_by_server']:,} |")
    out.append(raw(slowloris, "slowloris"))

memory = newest("memory")
if memory:
    r = json.load(open(memory))
    e, eh = r["empty_rss_mb"], r["empty_hwm_mb"]
    fm = lambda x: f"{x['rss_mb']:.0f} (peak {x['hwm_mb']:.0f})"
    out += ["## Resident memory (`bench/memory/run.sh`, and `bench/counter/run.sh` under load)\n",
            "VmRSS of the `hailong serve` process (Release, SQLite, the default plugins) from /proc/PID/status, "
            f"{r['settle_s']} s after it listens, and its peak (VmHWM) in parentheses; MB. Anchors: the bare Poco "
            "handler of the counter benchmark (128 threads) and nginx (master and workers summed), idle in the "
            "same run, and under the same wrk load in the counter benchmark's run.\n",
            "| what | hailong | bare Poco | nginx | target |", "| --- | --- | --- | --- | --- |",
            f"| idle, empty SQLite database ({r['runs']} starts; min / median / max) | "
            f"{e['min']:.0f} / {e['median']:.0f} / {e['max']:.0f} (peak {eh['median']:.0f}) | "
            f"{fm(r['bare_idle'])} | {fm(r['nginx_idle'])} | — |"]
    c = json.load(open(counter)) if counter else {}
    if c.get("memory"):
        m = c["memory"]
        out.append(f"| under the counter load: {c['connections']} connections, {len(c['hailong'])} × {c['seconds']} s "
                   f"(run {stamp_of(counter)}) | {fm(m['hailong']['load'])} | {fm(m['bare']['load'])} | "
                   f"{fm(m['nginx']['load'])} | peak < 150 |")
    else:
        out.append("| under the counter load | not measured (run `bench/run.sh counter`) | — | — | peak < 150 |")
    big = r.get("index_data")
    if big:
        out += [f"| on the index benchmark's database ({r['index_responses']:,} responses), idle "
                f"(listening {r['index_start_s']:.1f} s after start) | {fm(big['idle'])} | — | — | — |",
                f"| the same after {len(r['queries'])} index and dashboard API queries, 3 times each "
                f"({r['index_queries_s']:.0f} s; answers {', '.join(sorted(set(big['statuses'])))}) | "
                f"{fm(big['queried'])}, of which heap {big['queried']['anon_mb']:.0f} | — | — | — |"]
        if "later" in big:
            out.append(f"| the same 12 s later (freed memory is given back every 10 s) | "
                       f"{fm(big['later'])}, of which heap {big['later']['anon_mb']:.0f} | — | — | — |")
    else:
        out.append(f"| on the index benchmark's database | skipped: `{r['index_db']}` did not exist "
                   "(run `bench/run.sh index`) | — | — | — |")
    out.append("\nQueries: " + ", ".join(f"`{q}`" for q in r["queries"]) + ".")
    out.append(raw(memory, "memory"))

sms = newest("sms")
if sms:
    r = json.load(open(sms))
    h, a = r["hailong_rate"], r["anchor_rate"]
    hr, ar = r["hailong_reply_rate"], r["anchor_reply_rate"]
    total = r["messages"] * r["runs"]
    out += ["## SMS through Kannel (`bench/sms/run.sh`)\n",
            f"A real Kannel {r['kannel']} (bearerbox and smsbox, `{r['smsbox_settings']}` in the smsbox group) with "
            "its fake SMS centre: fakesmsc injects "
            f"{r['messages']:,} inbound SMS a run, each `DG <dossier> <3..5>` from the phone of a returned dossier of "
            "its own; Kannel's sms-service calls `/c/sms/kannel` of `hailong serve` (the sms plugin, SQLite, "
            "`synchronous=FULL`), which stores the rating and answers the thanks, sent back as the reply SMS. "
            "Timed from the first message written to fakesmsc until the run's responses are all in the database "
            "(channel `sms`). Anchor: the same messages through the same Kannel (another keyword, another "
            "sms-service) to nginx answering a constant text at once, timed until nginx logged them all. "
            f"Alternately, {r['runs']} runs each; min / median / max.\n",
            "| what | hailong | anchor: nginx behind the same Kannel | ratio (medians) |",
            "| --- | --- | --- | --- |",
            f"| messages per second, until stored / answered | {h['min']:,.0f} / {h['median']:,.0f} / {h['max']:,.0f} | "
            f"{a['min']:,.0f} / {a['median']:,.0f} / {a['max']:,.0f} | {r['ratio']:.2f} |",
            f"| messages per second, until fakesmsc had every reply | {hr['min']:,.0f} / {hr['median']:,.0f} / "
            f"{hr['max']:,.0f} | {ar['min']:,.0f} / {ar['median']:,.0f} / {ar['max']:,.0f} | "
            f"{hr['median'] / ar['median']:.2f} |",
            f"| stored / thanked / sent | {r['stored']:,} / {r['thanked']:,} / {total:,} | — | — |",
            raw(sms, "sms")]

open(os.path.join(root, "README.md"), "w").write("\n".join(out))

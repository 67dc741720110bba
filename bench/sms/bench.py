#!/usr/bin/env python3
"""The SMS benchmark: rating replies end to end through a real Kannel into `hailong serve`.

    bench/sms/bench.py BUILD_DIR > result.json      (bench/sms/run.sh calls it)

One Kannel (bearerbox + smsbox, Debian's 1.4.5) with the fake SMS centre; fakesmsc (kannel-extras)
plays the operator and injects N inbound messages, one per phone, as fast as it takes them. Two
sms-services in the one kannel.conf:
  - keyword DG -> hailong's /c/sms/kannel (the sms plugin; SQLite, synchronous=FULL). Each message
    is `DG <dossier code> <score>` from the phone of a returned dossier of its own, so each one
    stores a response (channel 'sms') and gets the thanks back as the reply SMS. Scores 3 to 5:
    a 1 or 2 is stored only after the follow-up question ("why?") is answered or expires, and a
    bare score rates a dossier only in the conversation an invitation opened;
  - keyword NOP -> the anchor: nginx answering 200 with a constant text at once, so Kannel does
    the same work (one HTTP request, one reply SMS) and only the service behind it differs.
Runs alternate (anchor, hailong) SMS_RUNS times with SMS_MESSAGES messages each. hailong's run is
timed from the first message written to fakesmsc until its N responses are in the database (rows
of `responses` with channel 'sms'); the anchor's until nginx logged its N requests. Both also
report the time until fakesmsc had N replies back.

Environment: SMS_RUNS (3), SMS_MESSAGES (2000), SMS_HAILONG_SETTINGS (more --set KEY=VALUE for
hailong, space-separated), SMS_SMSBOX_SETTINGS (lines for kannel.conf's smsbox group, separated by
';'; default "max-pending-requests = 16").
"""
import json, os, re, secrets, shutil, signal, socket, sqlite3, statistics, subprocess, sys
import threading, time, urllib.request

BEARERBOX, SMSBOX = "/usr/sbin/bearerbox", "/usr/sbin/smsbox"
FAKESMSC = "/usr/lib/kannel/test/fakesmsc"
ANCHOR_REPLY = "Cam on Ong/Ba da danh gia ho so SMS-000000."  # about as long as hailong's thanks

build = os.path.abspath(sys.argv[1])
runs = int(os.environ.get("SMS_RUNS", "3"))
count = int(os.environ.get("SMS_MESSAGES", "2000"))
# smsbox sends at most this many requests at once (Kannel's default, 512, opens more connections
# than hailong takes from one address by default, http.max_connections_per_address=32, and more
# than its workers and queue hold: the refused messages get "Could not fetch content" and are lost).
smsbox_settings = os.environ.get("SMS_SMSBOX_SETTINGS", "max-pending-requests = 16")
work = os.path.join(build, "sms-bench")
shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)
procs = []


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def free_port(taken=set()):
    while True:
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        if port not in taken:
            taken.add(port)
            return port


def start(name, argv, **kw):
    out = open(os.path.join(work, name + ".log"), "wb")
    p = subprocess.Popen(argv, stdout=kw.pop("stdout", out), stderr=kw.pop("stderr", out),
                         start_new_session=True, **kw)
    procs.append(p)
    return p


def stop_all():
    for p in reversed(procs):
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    for p in reversed(procs):
        try:
            p.wait(8)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def wait_for(what, test, timeout=30, proc=None):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            raise SystemExit(f"{what}: the process exited ({proc.returncode}); logs in {work}")
        try:
            if test():
                return
        except Exception:
            pass
        time.sleep(0.05)
    raise SystemExit(f"timed out waiting for {what}; logs in {work}")


def get(url, timeout=2):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.read().decode("utf-8", "replace")


class FakeSmsc:
    """One fakesmsc in interactive mode: each line on its stdin is an inbound SMS. It reads stdin
    with stdio (a line already in its buffer is not seen by its select()), so each line is written
    alone, and the next one only once it logged "sent message N"; replies (MT) are read by it after
    each stdin line or a 1 s timeout, so an empty line (skipped, not sent) wakes it."""

    def __init__(self, port):
        self.sent = self.got = 0
        self.replies = []  # (time, text) of every MT line
        self.cv = threading.Condition()
        self.p = start("fakesmsc", [FAKESMSC, "-v", "0", "-H", "127.0.0.1", "-r", str(port), "-i", "0"],
                       stdin=subprocess.PIPE, stderr=subprocess.PIPE)
        self.log = open(os.path.join(work, "fakesmsc.log"), "wb")
        threading.Thread(target=self.read, daemon=True).start()

    def read(self):
        sent = re.compile(rb"fakesmsc: sent message (\d+)")
        got = re.compile(rb"Got message (\d+): <(.*)>")
        for line in self.p.stderr:
            self.log.write(line)
            m = sent.search(line)
            if m:
                with self.cv:
                    self.sent = int(m.group(1))
                    self.cv.notify_all()
                continue
            m = got.search(line)
            if m:
                with self.cv:
                    self.got = int(m.group(1))
                    self.replies.append((time.time(), m.group(2).decode("utf-8", "replace")))
                    self.cv.notify_all()

    def send(self, line):
        want = self.sent + 1
        self.p.stdin.write(line.encode() + b"\n")
        self.p.stdin.flush()
        with self.cv:
            while self.sent < want:
                if not self.cv.wait(0.2):  # not taken yet: nudge it
                    if self.p.poll() is not None:
                        raise SystemExit(f"fakesmsc exited; logs in {work}")
                    self.p.stdin.write(b"\n")
                    self.p.stdin.flush()

    def poke(self):
        self.p.stdin.write(b"\n")
        self.p.stdin.flush()


def main():
    hailong = os.path.join(build, "bin", "hailong")
    ports = {k: free_port() for k in ("hailong", "nginx", "admin", "smsbox", "sendsms", "smsc")}
    secret = secrets.token_hex(16)
    db = os.path.join(work, "hl.db")

    # A commune and runs * count returned dossiers, each with a phone of its own.
    now = int(time.time() * 1000)
    with open(os.path.join(work, "directory.json"), "w") as f:
        json.dump({"agencies": [{"code": "XA", "name": "UBND xã Bình", "kind": "commune"}]}, f)
    with open(os.path.join(work, "dossiers.json"), "w") as f:
        json.dump({"dossiers": [{"code": "SMS-%06d" % i, "agency": "XA", "phone": "09%08d" % i,
                                 "status": "returned", "received_at": now - 86400000,
                                 "returned_at": now - 3600000} for i in range(1, runs * count + 1)]}, f)
    base = ["--db", "sqlite:" + db, "--set", "paths.data=" + work]
    for what in ("directory", "dossiers"):
        subprocess.run([hailong, "import", what, os.path.join(work, what + ".json"), *base],
                       check=True, stdout=subprocess.DEVNULL)

    extra = []
    for kv in os.environ.get("SMS_HAILONG_SETTINGS", "").split():
        extra += ["--set", kv]
    host = start("hailong", [hailong, "serve", *base, "--host", "127.0.0.1", "--port", str(ports["hailong"]),
                             "--set", "plugins.enabled=sms", "--set", "plugin.sms.secret=" + secret,
                             "--set", "http.log_requests=false", *extra])
    wait_for("hailong", lambda: socket.create_connection(("127.0.0.1", ports["hailong"]), 1).close() or True,
             proc=host)

    # The anchor: nginx answering a constant text at once (its access log counts the requests).
    access = os.path.join(work, "nginx-access.log")
    with open(os.path.join(work, "nginx.conf"), "w") as f:
        f.write(f"""worker_processes auto;
pid {work}/nginx.pid;
error_log {work}/nginx-error.log;
events {{ worker_connections 4096; }}
http {{
  access_log {access};
  client_body_temp_path {work}/nginx-body;
  keepalive_requests 100000;
  server {{
    listen 127.0.0.1:{ports['nginx']};
    location / {{ default_type text/plain; return 200 '{ANCHOR_REPLY}'; }}
  }}
}}
""")
    nginx = start("nginx", ["nginx", "-e", f"{work}/nginx-error.log", "-p", work, "-c", f"{work}/nginx.conf",
                            "-g", "daemon off;"])
    wait_for("nginx", lambda: get(f"http://127.0.0.1:{ports['nginx']}/") == ANCHOR_REPLY, proc=nginx)
    open(access, "w").close()  # the check above is not counted

    # Kannel: groups separated by blank lines; the sms-services as README "Pointing Kannel at
    # hailong" shows them. Boxes log warnings only (the access log keeps a line per message).
    admin_password = secrets.token_hex(8)
    user, password = "bench", secrets.token_hex(8)
    service = ("accept-x-kannel-headers = true\nmax-messages = 3\nconcatenation = true\n"
               "omit-empty = true")
    query = "from=%p&to=%P&text=%a&coding=%c&charset=%C&smsc=%i&id=%I"
    conf = os.path.join(work, "kannel.conf")
    smsbox_extra = "".join(kv.strip() + "\n" for kv in smsbox_settings.split(";") if kv.strip())
    with open(conf, "w") as f:
        f.write(f"""group = core
admin-port = {ports['admin']}
admin-interface = 127.0.0.1
admin-password = "{admin_password}"
admin-deny-ip = "*.*.*.*"
admin-allow-ip = "127.0.0.1"
smsbox-port = {ports['smsbox']}
smsbox-interface = 127.0.0.1
box-deny-ip = "*.*.*.*"
box-allow-ip = "127.0.0.1"
access-log = "{work}/kannel-access.log"
dlr-storage = internal

group = smsc
smsc = fake
smsc-id = FAKE
port = {ports['smsc']}
our-host = 127.0.0.1
connect-allow-ip = "127.0.0.1"

group = smsbox
bearerbox-host = 127.0.0.1
bearerbox-port = {ports['smsbox']}
sendsms-port = {ports['sendsms']}
sendsms-interface = 127.0.0.1
{smsbox_extra}
group = sendsms-user
username = "{user}"
password = "{password}"
user-deny-ip = "*.*.*.*"
user-allow-ip = "127.0.0.1"

group = sms-service
keyword = dg
get-url = "http://127.0.0.1:{ports['hailong']}/c/sms/kannel?secret={secret}&{query}"
{service}

group = sms-service
keyword = nop
get-url = "http://127.0.0.1:{ports['nginx']}/anchor?{query}"
{service}
""")
    status = lambda: get(f"http://127.0.0.1:{ports['admin']}/status.txt?password={admin_password}")
    bearerbox = start("bearerbox", [BEARERBOX, "-v", "2", conf])
    wait_for("bearerbox", lambda: "Status: running" in status(), proc=bearerbox)
    smsbox = start("smsbox", [SMSBOX, "-v", "2", conf])
    wait_for("smsbox", lambda: re.search(r"smsbox:.*\(on-line", status()), proc=smsbox)
    fake = FakeSmsc(ports["smsc"])
    wait_for("fakesmsc", lambda: re.search(rf"FAKE:{ports['smsc']} \(online", status()), proc=fake.p)

    store = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    stored = lambda: store.execute("SELECT count(*) FROM responses WHERE channel = 'sms'").fetchone()[0]

    def logged():
        with open(access, "rb") as f:
            return f.read().count(b"\n")

    def round_(kind, first):
        """Sends count messages; returns the round's figures."""
        done = stored if kind == "hailong" else logged
        before, replies_before = done(), fake.got
        t0 = time.time()
        for i in range(first, first + count):
            if kind == "hailong":
                fake.send(f"09{i:08d} 8088 text DG SMS-{i:06d} {3 + i % 3}")
            else:
                fake.send(f"08{i:08d} 8088 text NOP SMS-{i:06d} {3 + i % 3}")
        t_sent = time.time()
        t_done = t_replies = None
        deadline = t0 + 60 + count / 20
        while time.time() < deadline and (t_done is None or t_replies is None):
            if t_done is None and done() - before >= count:
                t_done = time.time()
            if t_replies is None and fake.got - replies_before >= count:
                with fake.cv:
                    t_replies = fake.replies[replies_before + count - 1][0]
            fake.poke()  # it reads the replies waiting for it
            time.sleep(0.01)
        end = time.time()
        texts = [t for _, t in fake.replies[replies_before:]]
        thanked = sum(1 for t in texts if "Cam on" in t)
        got = done() - before
        r = {"messages": count, "sent_s": t_sent - t0, "done": got,
             "done_s": (t_done or end) - t0, "replies": len(texts), "thanked": thanked,
             "replies_s": (t_replies or end) - t0, "complete": t_done is not None}
        r["rate"] = got / r["done_s"]
        r["reply_rate"] = len(texts) / r["replies_s"]
        r["inject_rate"] = count / r["sent_s"]
        odd = [t for t in texts if "Cam on" not in t][:3]
        if odd:
            r["other_replies"] = odd
        log(f"{kind}: {json.dumps(r, ensure_ascii=False)}")
        return r

    anchor, full = [], []
    for r in range(runs):
        first = r * count + 1
        anchor.append(round_("anchor", first))
        full.append(round_("hailong", first))
    store.close()

    median = lambda xs: statistics.median(xs)
    stats = lambda xs: {"min": min(xs), "median": median(xs), "max": max(xs)}
    out = {
        "messages": count, "runs": runs, "cores": os.cpu_count(),
        "kannel": subprocess.run(["dpkg-query", "-W", "-f=${Version}", "kannel"], capture_output=True,
                                 text=True).stdout,
        "smsbox_settings": smsbox_settings, "hailong_settings": os.environ.get("SMS_HAILONG_SETTINGS", ""),
        "anchor": anchor, "hailong": full,
        "anchor_rate": stats([x["rate"] for x in anchor]),
        "hailong_rate": stats([x["rate"] for x in full]),
        "anchor_reply_rate": stats([x["reply_rate"] for x in anchor]),
        "hailong_reply_rate": stats([x["reply_rate"] for x in full]),
        "stored": sum(x["done"] for x in full), "thanked": sum(x["thanked"] for x in full),
    }
    out["ratio"] = out["hailong_rate"]["median"] / out["anchor_rate"]["median"]
    print(json.dumps(out))


try:
    main()
finally:
    stop_all()

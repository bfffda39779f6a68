"""The admin endpoint (SPEC section 7, issue 5): LOGSYS_ADMIN_ADDR=host:port
serves GET /healthz, /readyz and /metrics on logsysd and logsys-worker.

Each endpoint's status and content; the Prometheus text is parsed and its
counters must move by exactly what the test sent (records by level, rejects,
truncation, client drops, publishes and confirms by queue, the confirm latency
histogram, the spool while RabbitMQ is unreachable, the worker's deliveries,
retries, dead letters and duplicates); neither the metrics, the probe bodies,
stderr nor --check-config ever show a secret.

Every process gets its own domain and a free port on 127.0.0.1. Counters are
read by polling /metrics against a deadline (a record's counters are bumped
around its reply, so a reply alone is not a synchronisation point).
"""

import os
import re
import socket
import subprocess
import sys
import tempfile
from http.client import HTTPConnection

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))

import lsys_testlib as t  # noqa: E402

LEVEL_NAMES = {0: "Debug", 1: "Info", 9: "Error", 11: "Info_CTG", 91: "Error_CTG", 99: "Monitor"}
METRICS_TYPE = "text/plain; version=0.0.4"
TG_SECRET = "SECRET-token-abc"
TG_TOKEN = "123456:" + TG_SECRET
FAST_RETRY = {"LOGSYS_RETRY_BASE_MS": "300", "LOGSYS_RETRY_MAX_MS": "1000",
              "LOGSYS_MAX_ATTEMPTS": "5"}


_ports_given = set()


def free_port():
    """A TCP port of 127.0.0.1 that nothing listens on (bound to 0, closed),
    never the same one twice in this process (a "closed" AMQP port must not
    become an admin port)."""
    while True:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        finally:
            s.close()
        if port not in _ports_given:
            _ports_given.add(port)
            return port


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # {lower-case name: value}
        self.body = body        # str

    def __repr__(self):
        return "HTTP %d %r %r" % (self.status, self.headers, self.body[:300])


def http(port, path, method="GET", body=None, timeout=5):
    """One request to 127.0.0.1:port; returns a Response (raises OSError when
    nothing answers)."""
    conn = HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body)
        r = conn.getresponse()
        data = r.read()
        return Response(r.status, {k.lower(): v for k, v in r.getheaders()},
                        data.decode("utf-8", errors="replace"))
    finally:
        conn.close()


def wait_admin(port, proc_alive, describe, timeout=20):
    """Waits until the admin endpoint on port answers /healthz."""
    def up():
        if not proc_alive():
            raise AssertionError("the process exited before its admin endpoint answered\n"
                                 + describe())
        try:
            return http(port, "/healthz", timeout=2)
        except OSError:
            return None
    return t.wait_for(up, timeout, "the admin endpoint on port %d" % port)


# ---------------------------------------------------------------- Prometheus text

_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?[ \t]+(\S+)(?:[ \t]+-?\d+)?$")
_LABEL = re.compile(r'[ \t]*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\.)*)"[ \t]*(,|$)')
_UNESCAPE = {"\\\\": "\\", '\\"': '"', "\\n": "\n"}


def _labels(text, line):
    out, pos = {}, 0
    while pos < len(text):
        m = _LABEL.match(text, pos)
        if not m:
            raise AssertionError("bad label set in metrics line %r" % line)
        name = m.group(1)
        if name in out:
            raise AssertionError("label %s twice in metrics line %r" % (name, line))
        out[name] = re.sub(r"\\[\\\"n]", lambda e: _UNESCAPE[e.group(0)], m.group(2))
        pos = m.end()
    return out


class Metrics:
    """A parsed exposition: samples [(name, {labels}, value)] and # TYPE lines."""

    def __init__(self, text):
        self.text = text
        self.samples = []
        self.types = {}
        self.helps = {}
        for line in text.splitlines():
            if not line.strip():
                continue
            if line.startswith("#"):
                parts = line.split(None, 3)
                if len(parts) >= 4 and parts[1] == "TYPE":
                    if parts[2] in self.types:
                        raise AssertionError("# TYPE %s twice" % parts[2])
                    self.types[parts[2]] = parts[3]
                elif len(parts) >= 3 and parts[1] == "HELP":
                    self.helps[parts[2]] = parts[3] if len(parts) > 3 else ""
                continue
            m = _SAMPLE.match(line)
            if not m:
                raise AssertionError("unparsable metrics line %r" % line)
            self.samples.append((m.group(1), _labels(m.group(2) or "", line), float(m.group(3))))

    def series(self, name):
        return [(labels, value) for n, labels, value in self.samples if n == name]

    def get(self, name, **labels):
        """The value of the one series name{labels} (exact label set), or None."""
        found = [v for lb, v in self.series(name) if lb == labels]
        if len(found) > 1:
            raise AssertionError("series %s%r appears %d times" % (name, labels, len(found)))
        return found[0] if found else None

    def value(self, name, **labels):
        """Like get, but a missing series fails the test."""
        v = self.get(name, **labels)
        if v is None:
            raise AssertionError("no series %s%r in /metrics:\n%s" % (name, labels, self.text))
        return v

    def histogram(self, name, **labels):
        """(buckets [(le, count)] in order, count, sum) of histogram name{labels};
        checks the structure: cumulative buckets, le="+Inf" == _count."""
        buckets = []
        for lb, v in self.series(name + "_bucket"):
            rest = {k: x for k, x in lb.items() if k != "le"}
            if rest == labels:
                if "le" not in lb:
                    raise AssertionError("%s_bucket without le" % name)
                buckets.append((float(lb["le"]), v))
        count = self.value(name + "_count", **labels)
        total = self.value(name + "_sum", **labels)
        if not buckets:
            raise AssertionError("no %s_bucket%r series" % (name, labels))
        les = [le for le, _ in buckets]
        if les != sorted(les) or len(set(les)) != len(les):
            raise AssertionError("%s buckets not in increasing le order: %r" % (name, les))
        if les[-1] != float("inf"):
            raise AssertionError("%s has no le=\"+Inf\" bucket (last le %r)" % (name, les[-1]))
        counts = [c for _, c in buckets]
        if counts != sorted(counts):
            raise AssertionError("%s buckets are not cumulative: %r" % (name, buckets))
        if counts[-1] != count:
            raise AssertionError("%s le=\"+Inf\" %r != _count %r" % (name, counts[-1], count))
        return buckets, count, total


class AdminTest(t.WorkerTest):

    # ------------------------------------------------------------ helpers

    def metrics(self, port):
        r = http(port, "/metrics")
        self.assertEqual(r.status, 200, r)
        return Metrics(r.body)

    def wait_metrics(self, port, pred, what, timeout=20):
        """Polls /metrics until pred(Metrics) is true; returns that Metrics. On a
        timeout the failure shows the last exposition."""
        last = [None]

        def check():
            m = self.metrics(port)
            last[0] = m
            return m if pred(m) else None
        try:
            return t.wait_for(check, timeout, what, interval=0.1)
        except AssertionError as e:
            raise AssertionError("%s\n--- last /metrics ---\n%s"
                                 % (e, last[0].text if last[0] else "(none)")) from None

    def admin_sidecar(self, tag, env=None, wait_ready=True, **kw):
        """A logsysd with an admin endpoint on a free port; returns (sidecar, port).
        wait_ready=False starts it without waiting for "logsysd: ready" (it is
        printed only once RabbitMQ was reached)."""
        port = free_port()
        settings = {"LOGSYS_ADMIN_ADDR": "127.0.0.1:%d" % port}
        settings.update(env or {})
        if wait_ready:
            sc = self.start_sidecar(tag, env=settings, **kw)
        else:
            sc = t.Sidecar(tag, env=settings, **kw)
            self._sidecars.append(sc)
            with open(sc.stdout_path, "wb") as out, open(sc.stderr_path, "wb") as err:
                sc.proc = subprocess.Popen([t.logsysd_path()] + sc.args, env=sc.env,
                                        stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        wait_admin(port, sc.alive, sc.describe)
        return sc, port

    def admin_worker(self, kind, sink, env=None, wait_ready=True):
        """A logsys-worker with an admin endpoint on a free port; returns (worker, port)."""
        port = free_port()
        settings = {"LOGSYS_ADMIN_ADDR": "127.0.0.1:%d" % port}
        settings.update(env or {})
        w = self.new_worker(kind, sink, env=settings)
        if wait_ready:
            w.start()
        else:
            w.spawn()
        wait_admin(port, w.alive, w.describe)
        return w, port

    def poke_ok(self, sc, data):
        rc, reply, err = t.poke(sc.ipc_url, data=data, timeout_ms=15000)
        self.assertEqual(rc, 0, "lsys-poke got no reply: %s\n%s" % (err, sc.describe()))
        self.assertEqual(reply["status"], "BATCH_OK", reply)
        return reply

    def assertNoSecret(self, text, secrets, where):
        for s in secrets:
            self.assertNotIn(s, text, "%r shows up in %s:\n%s" % (s, where, text[-3000:]))

    # ------------------------------------------------------------ logsysd

    def test_sidecar_endpoints(self):
        spool = tempfile.mkdtemp(prefix="admin-spool-")
        sc, port = self.admin_sidecar("adm-ep", env={"LOGSYS_SPOOL_DIR": spool})

        r = http(port, "/healthz")
        self.assertEqual((r.status, r.body.strip()), (200, "ok"), r)
        r = http(port, "/readyz")
        self.assertEqual(r.status, 200, r)
        r = http(port, "/metrics")
        self.assertEqual(r.status, 200, r)
        self.assertTrue(r.headers.get("content-type", "").startswith(METRICS_TYPE), r.headers)
        r = http(port, "/healthz", method="HEAD")
        self.assertEqual((r.status, r.body), (200, ""), r)
        r = http(port, "/no-such-path")
        self.assertEqual(r.status, 404, r)
        r = http(port, "/metrics", method="POST", body=b"x=1")
        self.assertEqual(r.status, 405, r)
        self.assertIn("GET", r.headers.get("allow", ""), r.headers)
        r = http(port, "/healthz", method="POST", body=b"")
        self.assertEqual(r.status, 405, r)

        m = self.metrics(port)
        info = [(lb, v) for lb, v in m.series("logsys_build_info") if lb.get("binary") == "logsysd"]
        self.assertEqual(len(info), 1, m.text)
        self.assertEqual(info[0][1], 1)
        self.assertRegex(info[0][0].get("version", ""), r"^\d+\.\d+\.\d+")
        self.assertEqual(m.types.get("logsys_build_info"), "gauge")
        for name, kind in (("logsys_records_received_total", "counter"),
                           ("logsys_records_accepted_total", "counter"),
                           ("logsys_records_rejected_total", "counter"),
                           ("logsys_published_total", "counter"),
                           ("logsys_confirmed_total", "counter"),
                           ("logsys_confirm_latency_seconds", "histogram"),
                           ("logsys_records_truncated_total", "counter"),
                           ("logsys_client_dropped_total", "counter"),
                           ("logsys_spooled_total", "counter"),
                           ("logsys_replayed_total", "counter"),
                           ("logsys_spool_bytes", "gauge"),
                           ("logsys_spool_records", "gauge")):
            self.assertEqual(m.types.get(name), kind, "# TYPE of %s\n%s" % (name, m.text))
        # Spool gauges exist (LOGSYS_SPOOL_DIR is set) and are empty while connected.
        self.assertEqual(m.value("logsys_spool_bytes"), 0)
        self.assertEqual(m.value("logsys_spool_records"), 0)
        self.assertEqual(m.value("logsys_amqp_connected"), 1)
        for lv in LEVEL_NAMES.values():
            self.assertEqual(m.value("logsys_records_received_total", level=lv), 0)
            self.assertEqual(m.value("logsys_records_accepted_total", level=lv), 0)
        self.stop_sidecar(sc)

    def test_sidecar_record_counters(self):
        sc, port = self.admin_sidecar("adm-rec", env={"LOGSYS_MAX_FIELD_BYTES": "1024"})
        qlb, qtg = sc.logbeacon_queue, sc.tg_queue

        # One record per level with logsys-send, plus one of unknown level 5.
        for level in sorted(LEVEL_NAMES):
            self.assertSendOk(t.send(sc.ipc_url, level, "admin level %d" % level), sc)
        reply = self.poke_ok(sc, t.encode_batch([t.encode_record(level=5, message="no such level")]))
        self.assertEqual(reply["results"][0]["status"], "RECORD_REJECTED", reply)

        def settled(m):
            return (m.get("logsys_confirmed_total", queue=qlb) == 4
                    and m.get("logsys_confirmed_total", queue=qtg) == 4
                    and m.get("logsys_records_rejected_total", reason="unknown_level") == 1
                    and all(m.get("logsys_records_accepted_total", level=lv) == 1
                            for lv in LEVEL_NAMES.values()))
        m = self.wait_metrics(port, settled, "the counters of 6 records and 1 reject")
        for lv in LEVEL_NAMES.values():
            self.assertEqual(m.value("logsys_records_received_total", level=lv), 1, lv)
            self.assertEqual(m.value("logsys_records_accepted_total", level=lv), 1, lv)
        self.assertEqual(m.value("logsys_records_rejected_total", reason="unknown_level"), 1)
        self.assertEqual(m.value("logsys_records_rejected_total", reason="invalid_log_id"), 0)
        # Levels 1, 9, 11, 91 go to LogBeacon; 9 and 11 once, 91 twice to Telegram.
        for q in (qlb, qtg):
            self.assertEqual(m.value("logsys_published_total", queue=q), 4, q)
            self.assertEqual(m.value("logsys_confirmed_total", queue=q), 4, q)
        buckets, count, total = m.histogram("logsys_confirm_latency_seconds")
        self.assertGreaterEqual(count, 1)
        self.assertGreaterEqual(total, 0)
        self.assertEqual(m.value("logsys_records_truncated_total"), 0)
        self.assertEqual(m.value("logsys_client_dropped_total"), 0)
        self.assertEqual(self.broker.count(qlb), 4)
        self.assertEqual(self.broker.count(qtg), 4)

        # An oversized message is cut at LOGSYS_MAX_FIELD_BYTES and counted.
        reply = self.poke_ok(sc, t.encode_batch([t.encode_record(level=1, message="x" * 3000)]))
        self.assertEqual(reply["results"][0]["status"], "RECORD_ACCEPTED", reply)
        self.assertTrue(reply["results"][0]["flags"] & 1, reply)
        m = self.wait_metrics(port, lambda m: m.get("logsys_records_truncated_total") == 1,
                              "logsys_records_truncated_total 1")
        self.wait_metrics(port, lambda m: m.get("logsys_records_accepted_total", level="Info") == 2,
                          "the truncated record accepted")

        # A client reports its cumulative drops with its client_id (LogBatch
        # fields 4 and 5); the counter takes the increments.
        def drops_batch(total, client_id="c0ffee0123456789"):
            return (t.encode_batch([t.encode_record(level=0, message="after drops")],
                                   client_dropped=total)
                    + t.pb_bytes(5, client_id))
        self.poke_ok(sc, drops_batch(7))
        self.wait_metrics(port, lambda m: m.get("logsys_client_dropped_total") == 7,
                          "logsys_client_dropped_total 7")
        self.poke_ok(sc, drops_batch(10))
        self.wait_metrics(port, lambda m: m.get("logsys_client_dropped_total") == 10,
                          "logsys_client_dropped_total 10 (7, then a total of 10)")
        self.poke_ok(sc, drops_batch(10))  # the same total again: nothing new
        self.poke_ok(sc, drops_batch(2, client_id="another-client"))
        m = self.wait_metrics(port, lambda m: m.get("logsys_records_accepted_total", level="Debug") == 5,
                              "the four drop batches accepted")
        self.assertEqual(m.value("logsys_client_dropped_total"), 12, m.text)
        self.stop_sidecar(sc)

    def test_no_secret_in_admin_output_or_check_config(self):
        env = {"LOGSYS_TG_DEV_TOKEN": TG_TOKEN, "LOGSYS_TG_DEV_CHAT_ID": t.TG_DEV_CHAT,
               "LOGSYS_TG_EMBED_CREDENTIALS": "0"}
        self.assertIn(":guest@", t.amqp_url(), "the test broker URL carries the password guest")
        secrets = (TG_SECRET, ":guest@")
        sc, port = self.admin_sidecar("adm-secret", env=env)
        for level in (1, 9, 91):
            self.assertSendOk(t.send(sc.ipc_url, level, "secret test %d" % level), sc)
        self.wait_metrics(port, lambda m: m.get("logsys_confirmed_total", queue=sc.tg_queue) == 3,
                          "3 copies confirmed to the tg queue")
        for path in ("/metrics", "/healthz", "/readyz", "/nothing-here"):
            r = http(port, path)
            self.assertNoSecret(r.body, secrets, path)
            self.assertNoSecret(repr(r.headers), secrets, path + " headers")
        # The tg messages themselves do not carry the token either (embedding off).
        for msg in self.broker.get_all(sc.tg_queue):
            self.assertNoSecret(msg.body.decode("utf-8", errors="replace"), (TG_SECRET,), "a tg message")
        self.stop_sidecar(sc)
        self.assertNoSecret(sc.stderr(), secrets, "logsysd's stderr")
        self.assertNoSecret(sc.stdout(), secrets, "logsysd's stdout")

        p = t.run([t.logsysd_path(), "--check-config"], env=dict(sc.env))
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("LOGSYS_TG_DEV_TOKEN=****", p.stdout)
        self.assertRegex(p.stdout, r"(?m)^LOGSYS_AMQP_URL=amqp://guest:\*\*\*\*@127\.0\.0\.1:\d+/")
        self.assertIn("LOGSYS_ADMIN_ADDR=127.0.0.1:%d" % port, p.stdout)
        self.assertNoSecret(p.stdout + p.stderr, secrets, "logsysd --check-config")

    def test_sidecar_ready_during_broker_outage_with_spool(self):
        spool = tempfile.mkdtemp(prefix="admin-spool-")
        dead_url = "amqp://guest:guest@127.0.0.1:%d/%%2f" % free_port()  # nothing listens there
        sc, port = self.admin_sidecar("adm-outage", env={"LOGSYS_AMQP_URL": dead_url,
                                                         "LOGSYS_SPOOL_DIR": spool},
                                      wait_ready=False)
        t.wait_for(lambda: "cannot reach RabbitMQ" in sc.stderr(), 20,
                   "a failed connection attempt\n" + sc.describe())
        r = http(port, "/healthz")
        self.assertEqual((r.status, r.body.strip()), (200, "ok"), r)
        r = http(port, "/readyz")
        self.assertEqual(r.status, 200, "RabbitMQ down but the spool has room: ready\n%r" % r)
        m = self.metrics(port)
        self.assertEqual(m.value("logsys_amqp_connected"), 0)

        # Error goes to both queues: two copies spooled, the record acknowledged.
        self.assertSendOk(t.send(sc.ipc_url, 9, "spooled while the broker is down"), sc)
        self.assertSendOk(t.send(sc.ipc_url, 1, "spooled too"), sc)
        m = self.wait_metrics(port, lambda m: m.get("logsys_spooled_total") == 3,
                              "logsys_spooled_total 3")
        self.assertEqual(m.value("logsys_records_accepted_total", level="Error"), 1)
        self.assertEqual(m.value("logsys_records_accepted_total", level="Info"), 1)
        self.assertEqual(m.value("logsys_spool_records"), 3)
        self.assertGreater(m.value("logsys_spool_bytes"), 0)
        for q in (sc.logbeacon_queue, sc.tg_queue):
            self.assertEqual(m.value("logsys_published_total", queue=q), 0)
        self.assertEqual(m.value("logsys_replayed_total"), 0)
        r = http(port, "/readyz")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(http(port, "/healthz").status, 200)
        for path in ("/metrics", "/healthz", "/readyz"):
            self.assertNoSecret(http(port, path).body, (":guest@",), path)
        self.stop_sidecar(sc)
        self.assertNoSecret(sc.stderr(), (":guest@",), "logsysd's stderr")

    # ------------------------------------------------------------ logsys-worker

    def test_worker_logbeacon_counters(self):
        sink = self.start_sink("logbeacon")
        w, port = self.admin_worker("logbeacon", sink, env=FAST_RETRY)
        r = http(port, "/healthz")
        self.assertEqual((r.status, r.body.strip()), (200, "ok"), r)
        t.wait_for(lambda: http(port, "/readyz").status == 200, 20,
                   "/readyz 200 once consuming\n" + w.describe())
        r = http(port, "/metrics")
        self.assertTrue(r.headers.get("content-type", "").startswith(METRICS_TYPE), r.headers)
        self.assertEqual(http(port, "/nope").status, 404)
        self.assertEqual(http(port, "/readyz", method="POST", body=b"").status, 405)
        m = Metrics(r.body)
        info = [(lb, v) for lb, v in m.series("logsys_build_info")
                if lb.get("binary") == "logsys-worker"]
        self.assertEqual([v for _, v in info], [1], m.text)
        self.assertEqual(m.value("logsys_amqp_connected"), 1)
        for o in ("ok", "retry", "permanent"):
            self.assertEqual(m.value("logsys_deliveries_total", sink="logbeacon", outcome=o), 0)

        q = w.queue
        flaky = t.logbeacon_doc(w.domain, "500 then 200")
        refused = t.logbeacon_doc(w.domain, "400")
        fine = [t.logbeacon_doc(w.domain, "fine %d" % i) for i in range(2)]
        sink.control([{"match": flaky["log_id"], "responses": [{"status": 500}, {"status": 200}]},
                      {"match": refused["log_id"],
                       "responses": [{"status": 400, "description": "bad field"}]}])
        t.publish(self.broker, q, [flaky, refused] + fine)

        def results(m, **want):
            return all(m.get("logsys_worker_messages_total", queue=q, result=r) == n
                       for r, n in want.items())
        m = self.wait_metrics(port, lambda m: results(m, delivered=3, retried=1, dead_lettered=1),
                              "3 delivered, 1 retried, 1 dead-lettered", timeout=30)
        self.assertEqual(m.value("logsys_deliveries_total", sink="logbeacon", outcome="ok"), 3)
        self.assertEqual(m.value("logsys_deliveries_total", sink="logbeacon", outcome="retry"), 1)
        self.assertEqual(m.value("logsys_deliveries_total", sink="logbeacon", outcome="permanent"), 1)
        self.assertEqual(m.value("logsys_worker_messages_total", queue=q, result="duplicate"), 0)
        # flaky was taken twice (first from the queue, then back from .retry).
        self.assertEqual(m.value("logsys_worker_received_total", queue=q), 5)
        _, count, _ = m.histogram("logsys_delivery_seconds", sink="logbeacon")
        self.assertEqual(count, 5, "one observation per HTTP attempt")
        self.assertEqual(m.types.get("logsys_delivery_seconds"), "histogram")
        self.assertEqual(self.broker.count(q + ".dlq"), 1)

        # The same log_id again: acknowledged without a delivery, counted as a duplicate.
        t.publish(self.broker, q, [dict(fine[0], message="fine 0 again")])
        m = self.wait_metrics(port, lambda m: results(m, duplicate=1), "1 duplicate")
        self.assertEqual(m.value("logsys_worker_messages_total", queue=q, result="delivered"), 3)
        self.assertEqual(m.value("logsys_deliveries_total", sink="logbeacon", outcome="ok"), 3)
        self.assertEqual(m.value("logsys_worker_received_total", queue=q), 6)
        self.assertEqual(len([r for r in sink.received_json()
                              if (r.get("doc") or {}).get("log_id") == fine[0]["log_id"]]), 1)
        # Queue depths come with the status check (LOGSYS_STATUS_INTERVAL_S=1).
        self.wait_metrics(port, lambda m: m.get("logsys_queue_messages", queue=q + ".dlq") == 1,
                          "logsys_queue_messages of the DLQ 1")
        self.assertEqual(http(port, "/readyz").status, 200)
        self.stop_worker(w)

    def test_worker_not_ready_until_consuming(self):
        sink = self.start_sink("logbeacon")
        dead_url = "amqp://guest:guest@127.0.0.1:%d/%%2f" % free_port()
        w, port = self.admin_worker("logbeacon", sink, env={"LOGSYS_AMQP_URL": dead_url},
                                    wait_ready=False)
        self.assertEqual(http(port, "/healthz").status, 200)
        r = http(port, "/readyz")
        self.assertEqual(r.status, 503, r)
        self.assertNotIn(":guest@", r.body)
        m = self.metrics(port)
        self.assertEqual(m.value("logsys_amqp_connected"), 0)
        self.assertNotIn(":guest@", m.text)
        self.stop_worker(w)

    def test_worker_telegram_429_and_no_secret(self):
        sink = self.start_sink("telegram")
        w, port = self.admin_worker("telegram", sink, env={"LOGSYS_TG_DEV_TOKEN": TG_TOKEN})
        marker = "rate limited " + w.domain
        sink.control([{"match": marker, "responses": [{"status": 429, "retry_after": 1}]}])
        t.publish(self.broker, w.queue, [t.tg_doc("developer", marker)])
        self.wait_received(sink, 1, 30, "the message after the 429",
                           pred=lambda r: marker in str((r.get("doc") or {}).get("text", "")))
        self.assertEqual([r["status"] for r in sink.received()], [429, 200])
        m = self.wait_metrics(
            port, lambda m: m.get("logsys_worker_messages_total", queue=w.queue,
                                  result="delivered") == 1, "1 delivered")
        # A 429 waited out is not a failed attempt.
        self.assertEqual(m.value("logsys_deliveries_total", sink="telegram", outcome="ok"), 1)
        self.assertEqual(m.value("logsys_deliveries_total", sink="telegram", outcome="retry"), 0)
        self.assertEqual(m.value("logsys_worker_messages_total", queue=w.queue, result="retried"), 0)
        # The deliverer counts the 429 it waited out; the worker exports it.
        m = self.wait_metrics(port, lambda m: m.get("logsys_telegram_429_total") == 1,
                              "the 429 counted")
        self.assertGreaterEqual(m.value("logsys_http_requests_total", sink="telegram"), 2, m.text)
        for path in ("/metrics", "/healthz", "/readyz"):
            self.assertNoSecret(http(port, path).body, (TG_SECRET, ":guest@"), path)
        self.stop_worker(w)
        self.assertNoSecret(w.stderr(), (TG_SECRET, ":guest@"), "the worker's stderr")

if __name__ == "__main__":
    t.main()

"""faultlib - shared helpers of the fault-injection suite (tests/faults, issue 4).

Each fault test is one file, run by CTest (tests/faults/CMakeLists.txt) against
the suite's own private RabbitMQ (fixture "rabbitmq_faults"), one at a time.
On top of lsys_testlib's environment, CTest passes

  LOGSYS_TEST_RABBITMQ_SH    tests/support/rabbitmq.sh
  LOGSYS_TEST_RABBITMQ_DIR   the broker's directory
  LOGSYS_TEST_RABBITMQ_PORT  its AMQP port

so a test can stop RabbitMQ's AMQP service and start it again without losing
its queues (rabbitmqctl stop_app / start_app).

Every test prints one line

  fault N <name>: sent S, delivered D, missing M, duplicated U

(delivered: distinct log_ids found at the destination; duplicated: copies
beyond one per log_id) and asserts missing == 0. Waits poll a condition
against a deadline; the only sleeps that are not polling intervals are the
faults' own "down for X seconds".
"""

import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import Counter

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))

import pika  # noqa: E402

import lsys_testlib as t  # noqa: E402

# ---------------------------------------------------------------- broker control


class BrokerControl:
    """stop_app / start_app of the suite's RabbitMQ (rabbitmq.sh ctl)."""

    def __init__(self):
        self.sh = t.env_path("LOGSYS_TEST_RABBITMQ_SH")
        self.dir = t.env_path("LOGSYS_TEST_RABBITMQ_DIR")
        self.port = int(t.env_path("LOGSYS_TEST_RABBITMQ_PORT"))
        self.stopped = False

    def ctl(self, *args, timeout=90):
        p = subprocess.run([self.sh, "ctl", self.dir, str(self.port)] + list(args),
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=timeout)
        out = p.stdout.decode("utf-8", "replace")
        if p.returncode != 0:
            raise AssertionError("rabbitmqctl %s failed (%d):\n%s" % (" ".join(args), p.returncode, out))
        return out

    def amqp_up(self):
        """True when a pika connection to the broker opens (AMQP served)."""
        try:
            params = pika.URLParameters(t.amqp_url())
            params.connection_attempts = 1
            params.socket_timeout = 2
            params.blocked_connection_timeout = 5
            conn = pika.BlockingConnection(params)
            conn.close()
            return True
        except Exception:  # noqa: BLE001 - any failure means "not yet"
            return False

    def stop_app(self):
        """Stops the AMQP service (connections closed, port closed; queues kept)."""
        self.stopped = True
        self.ctl("stop_app")
        t.wait_for(lambda: not self.amqp_up(), 20, "the AMQP port to close after stop_app")
        return time.monotonic()

    def start_app(self, timeout=60):
        """Starts the AMQP service again and waits until it accepts connections.
        Returns the monotonic time when start_app returned."""
        self.ctl("start_app", timeout=timeout)
        back = time.monotonic()
        t.wait_for(self.amqp_up, timeout, "RabbitMQ to accept AMQP connections after start_app",
                   interval=0.2)
        self.stopped = False
        return back

    def _alarm_marker(self):
        return os.path.join(self.dir, "faults-memory-alarm")

    def raise_memory_alarm(self):
        """Sets the memory watermark to ~0: RabbitMQ blocks every publishing
        connection (they stay open; nothing is confirmed) until cleared. A
        marker file lets the next test clear an alarm a killed test left."""
        with open(self._alarm_marker(), "w") as fh:
            fh.write("set_vm_memory_high_watermark 0.0000001\n")
        self.ctl("set_vm_memory_high_watermark", "0.0000001")
        return time.monotonic()

    def clear_memory_alarm(self):
        """Back to RabbitMQ's default watermark (0.4)."""
        self.ctl("set_vm_memory_high_watermark", "0.4")
        try:
            os.unlink(self._alarm_marker())
        except FileNotFoundError:
            pass

    def alarm_left_over(self):
        return os.path.exists(self._alarm_marker())

    def ensure_started(self):
        if self.stopped:
            try:
                self.start_app()
            except Exception as e:  # noqa: BLE001 - clean-up reports and goes on
                sys.stderr.write("faultlib: could not start the broker again: %s\n" % e)


# ---------------------------------------------------------------- small tools


def free_port():
    """A free TCP port on 127.0.0.1 below the ephemeral range."""
    for _ in range(200):
        port = random.randrange(20000, 30000)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
                return port
            except OSError:
                continue
    raise AssertionError("no free port found")


def http_get(url, timeout=5):
    """(status, body text); status None when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode("utf-8", "replace")
    except (urllib.error.URLError, OSError):
        return None, ""


_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)")


def parse_metrics(text):
    """Prometheus text -> {(name, labels text without braces): value}."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = _SAMPLE.match(line)
        if m:
            try:
                out[(m.group(1), (m.group(2) or "{}")[1:-1])] = float(m.group(3))
            except ValueError:
                pass
    return out


def metric(samples, name, **labels):
    """Sum of the samples of name whose labels include labels."""
    total = 0.0
    for (n, lab), v in samples.items():
        if n != name:
            continue
        if all('%s="%s"' % (k, val) in lab for k, val in labels.items()):
            total += v
    return total


# ---------------------------------------------------------------- sidecar


class FaultSidecar(t.Sidecar):
    """A logsysd that can be killed and started again on the same spool dir,
    IPC path and admin port; its output files are appended to across runs.
    The spool lives in self.spool_dir; the admin endpoint on self.admin_addr."""

    LISTENING = "listening on"

    def __init__(self, tag, spool=True, env=None, **kw):
        self.admin_port = free_port()
        self.admin_addr = "127.0.0.1:%d" % self.admin_port
        settings = {"LOGSYS_ADMIN_ADDR": self.admin_addr}
        settings.update(env or {})
        super().__init__(tag, env=settings, console=kw.pop("console", "off"), **kw)
        self.spool_dir = os.path.join(self.dir, "spool") if spool else None
        if spool:
            self.env["LOGSYS_SPOOL_DIR"] = self.spool_dir
        self.runs = 0
        self.exit_codes = []

    def spawn(self):
        """Starts logsysd (again) without waiting for anything."""
        if self.alive():
            raise AssertionError("logsysd %s is still running" % self.domain)
        try:
            os.unlink(self.sock)
        except FileNotFoundError:
            pass
        with open(self.stdout_path, "ab") as out, open(self.stderr_path, "ab") as err:
            if self.runs:
                err.write(("==== faultlib: logsysd run %d ====\n" % (self.runs + 1)).encode())
            self.proc = subprocess.Popen([t.logsysd_path()] + self.args, env=self.env,
                                         stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        self.runs += 1
        return self

    def run_stderr(self):
        """stderr of the current (last) run only."""
        text = self.stderr()
        mark = "==== faultlib: logsysd run %d ====" % self.runs
        i = text.rfind(mark)
        return text if i < 0 else text[i:]

    def _wait_line(self, needle, timeout):
        deadline = time.monotonic() + timeout
        while needle not in self.run_stderr():
            if self.proc.poll() is not None:
                raise AssertionError("logsysd exited with %s while waiting for %r\n%s"
                                     % (self.proc.returncode, needle, self.describe()))
            if time.monotonic() >= deadline:
                raise AssertionError("logsysd: no %r within %.0fs\n%s" % (needle, timeout, self.describe()))
            time.sleep(0.05)

    def start(self, ready_timeout=30.0):
        """Starts logsysd and waits for "logsysd: ready" (RabbitMQ connected)."""
        self.spawn()
        self._wait_line(self.READY, ready_timeout)
        return self

    def start_listening(self, timeout=20.0):
        """Starts logsysd and waits until its IPC socket and admin endpoint are up
        (RabbitMQ may be down)."""
        self.spawn()
        self._wait_line(self.LISTENING, timeout)
        t.wait_for(lambda: self.scrape() is not None, timeout, "the admin endpoint of logsysd")
        return self

    def wait_ready(self, timeout=30.0):
        self._wait_line(self.READY, timeout)

    def kill9(self):
        """SIGKILL, like a crash; returns the exit status (-9)."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)
        self.exit_codes.append(self.proc.returncode)
        return self.proc.returncode

    def sigterm(self, timeout=60.0):
        """SIGTERM and wait; returns the exit code."""
        rc = self.stop(timeout)
        self.exit_codes.append(rc)
        return rc

    def url(self, path):
        return "http://%s%s" % (self.admin_addr, path)

    def scrape(self):
        """The /metrics samples, or None when the endpoint does not answer."""
        status, text = http_get(self.url("/metrics"))
        return parse_metrics(text) if status == 200 else None

    def metric(self, name, **labels):
        s = self.scrape()
        return None if s is None else metric(s, name, **labels)

    def readyz(self):
        return http_get(self.url("/readyz"))[0]


# ---------------------------------------------------------------- load clients


class Loader:
    """One lsys-load process (N records through liblogsys, hashes "<prefix>-<i>")."""

    def __init__(self, sc, count, prefix, tag, buffer=None, batch=None, timeout_ms=180000,
                 message_size=None):
        self.count = count
        self.prefix = prefix
        self.out_path = os.path.join(sc.dir, "load-%s.json" % tag)
        self.err_path = os.path.join(sc.dir, "load-%s.err" % tag)
        argv = t.load_argv(sc.ipc_url, count, level=1, hash_prefix=prefix,
                           program="fault-" + tag, timeout_ms=timeout_ms, message_size=message_size)
        if buffer:
            argv += ["--buffer", str(buffer)]
        if batch:
            argv += ["--batch", str(batch)]
        with open(self.out_path, "wb") as out, open(self.err_path, "wb") as err:
            self.proc = subprocess.Popen(argv, env=t.clean_env(), stdin=subprocess.DEVNULL,
                                         stdout=out, stderr=err)

    def expected(self):
        return {"%s-%d" % (self.prefix, i) for i in range(self.count)}

    def alive(self):
        return self.proc.poll() is None

    def wait(self, timeout):
        """Waits for the exit; returns (exit code, stats dict or None, stderr)."""
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError("lsys-load (%s) did not finish within %.0fs: %s"
                                 % (self.prefix, timeout, t.read_text(self.err_path)))
        stats = None
        lines = t.read_text(self.out_path).strip().splitlines()
        if lines:
            try:
                stats = json.loads(lines[-1])
            except ValueError:
                stats = None
        return self.proc.returncode, stats, t.read_text(self.err_path)

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


# ---------------------------------------------------------------- results


def drain_all(broker, queue, expect, timeout, quiet_s=1.0):
    """Consumes every message of queue (acknowledging them) until at least
    expect arrived and none came for quiet_s, or timeout passes; returns them."""
    out = []
    ch = broker.channel()
    ch.basic_qos(prefetch_count=1000)
    deadline = time.monotonic() + timeout
    last_tag, last_msg = None, time.monotonic()
    for method, props, body in ch.consume(queue, auto_ack=False, inactivity_timeout=0.25):
        now = time.monotonic()
        if method is not None:
            out.append(t._message(props, body))
            last_tag, last_msg = method.delivery_tag, now
            if len(out) % 500 == 0:
                ch.basic_ack(last_tag, multiple=True)
                last_tag = None
        if (len(out) >= expect and now - last_msg >= quiet_s) or now >= deadline:
            break
    if last_tag is not None:
        ch.basic_ack(last_tag, multiple=True)
    ch.cancel()
    return out


class Tally:
    """What arrived versus what was sent, by record (hash) and log_id."""

    def __init__(self, expected_hashes, docs, sent=None):
        """docs: the delivered message bodies (dicts with "hash" and "log_id");
        sent: the number of records sent, when more than the expected ones."""
        self.expected = set(expected_hashes)
        self.sent = len(self.expected) if sent is None else sent
        copies = Counter()
        ids_of = {}
        self.unexpected = []
        for d in docs:
            if not isinstance(d, dict) or d.get("hash") not in self.expected:
                self.unexpected.append(d)
                continue
            copies[d["log_id"]] += 1
            ids_of.setdefault(d["hash"], set()).add(d["log_id"])
        self.delivered = len(copies)
        self.missing_hashes = sorted(self.expected - set(ids_of))
        self.missing = len(self.missing_hashes)
        self.duplicated = sum(n - 1 for n in copies.values())
        # A record keeps its log_id across resends: one log_id per hash.
        self.split = sorted(h for h, ids in ids_of.items() if len(ids) > 1)

    def line(self, n, name):
        return "fault %s %s: sent %d, delivered %d, missing %d, duplicated %d" % (
            n, name, self.sent, self.delivered, self.missing, self.duplicated)


def print_result(line):
    """Prints a fault's result line on a line of its own (stdout; unittest's
    verbose runner may have left its cursor after the test's name)."""
    sys.stderr.flush()
    print("\n" + line, flush=True)
    return line


def report(n, name, tally):
    """Prints the fault's result line for tally."""
    return print_result(tally.line(n, name))


# ---------------------------------------------------------------- spool files


def spool_segments(spool_dir):
    """The segment files of a spool dir, oldest first."""
    names = sorted(n for n in os.listdir(spool_dir) if re.fullmatch(r"spool-\d{20}\.seg", n))
    return [os.path.join(spool_dir, n) for n in names]


def spool_bytes_on_disk(spool_dir):
    """Bytes written to the segment files (what survives the process's death)."""
    total = 0
    try:
        names = os.listdir(spool_dir)
    except FileNotFoundError:
        return 0
    for n in names:
        if re.fullmatch(r"spool-\d{20}\.seg", n):
            try:
                total += os.stat(os.path.join(spool_dir, n)).st_size
            except FileNotFoundError:
                pass
    return total


SPOOL_MAGIC = b"\xf5LS\x01"
SPOOL_HDR = 20


def spool_records(path):
    """The whole records of one segment file: [(offset, seq, payload)]; stops
    at the first incomplete or malformed header (a torn tail)."""
    with open(path, "rb") as fh:
        data = fh.read()
    out, off = [], 0
    while off + SPOOL_HDR <= len(data):
        if data[off:off + 4] != SPOOL_MAGIC:
            break
        length = int.from_bytes(data[off + 8:off + 12], "little")
        seq = int.from_bytes(data[off + 12:off + 20], "little")
        end = off + SPOOL_HDR + length
        if end > len(data):
            break
        out.append((off, seq, data[off + SPOOL_HDR:end]))
        off = end
    return out


def spool_payload_doc(payload):
    """Decodes a sidecar spool entry (queue byte, id length, id, body) -> (queue, log_id, doc)."""
    q, idlen = payload[0], payload[1]
    log_id = payload[2:2 + idlen].decode("utf-8", "replace")
    body = payload[2 + idlen:]
    try:
        doc = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        doc = None
    return q, log_id, doc


# ---------------------------------------------------------------- test base


class FaultTest(t.IntegrationTest):
    """IntegrationTest plus broker control, restartable sidecars and load
    clients, all cleaned up (broker started again first)."""

    def setUp(self):
        super().setUp()
        self.rmq = BrokerControl()
        self._loaders = []
        self.addCleanup(self._cleanup_faults)
        if not self.rmq.amqp_up():
            # A killed earlier fault may have left the AMQP service stopped ...
            self.rmq.stopped = True
            self.rmq.ensure_started()
        if self.rmq.alarm_left_over():
            self.rmq.clear_memory_alarm()  # ... or a memory alarm raised

    def _cleanup_faults(self):
        for ld in self._loaders:
            ld.kill()
        self.rmq.ensure_started()

    def new_sidecar(self, tag, **kw):
        sc = FaultSidecar(tag, **kw)
        self._sidecars.append(sc)
        return sc

    def loader(self, sc, count, prefix, tag, **kw):
        ld = Loader(sc, count, prefix, tag, **kw)
        self._loaders.append(ld)
        return ld

    def assertLoaderOk(self, ld, timeout, sc):
        rc, stats, err = ld.wait(timeout)
        self.assertEqual(rc, 0, "lsys-load %s exit %s: %s %s\n%s"
                         % (ld.prefix, rc, stats, err, sc.describe()))
        sys.stderr.write("lsys-load %s: %s\n" % (ld.prefix, json.dumps(stats)))
        return stats

    def stop_broker(self):
        """Closes the test's own pika connection, then stop_app."""
        self.broker.close()
        return self.rmq.stop_app()

    def start_broker(self):
        self.broker.close()
        return self.rmq.start_app()

    def wait_metric(self, sc, what, pred, timeout, name, interval=0.1, **labels):
        """Polls metric name{labels} of sc until pred(value); returns the value."""
        def check():
            v = sc.metric(name, **labels)
            if not sc.alive():
                raise AssertionError("logsysd died while waiting for %s\n%s" % (what, sc.describe()))
            return (v,) if v is not None and pred(v) else None
        return t.wait_for(check, timeout, what, interval=interval)[0]

    def wait_spool_empty(self, sc, timeout):
        self.wait_metric(sc, "the spool to be replayed (logsys_spool_records 0)", lambda v: v == 0,
                         timeout, "logsys_spool_records")

    def collect(self, sc, expected, timeout=120, sent=None):
        """Drains {domain}_logbeacon and returns the Tally against expected hashes."""
        msgs = drain_all(self.broker, sc.logbeacon_queue, len(expected), timeout)
        return Tally(expected, [m.json for m in msgs], sent=sent)

    def assertTally(self, tally, sc=None, allow_duplicates=True):
        ctx = sc.describe() if sc else ""
        self.assertEqual(tally.unexpected, [], "messages that no client sent")
        self.assertEqual(tally.split, [], "records that arrived under more than one log_id")
        self.assertEqual(tally.missing, 0, "%d records missing, e.g. %s\n%s"
                         % (tally.missing, tally.missing_hashes[:5], ctx))
        if not allow_duplicates:
            self.assertEqual(tally.duplicated, 0, "duplicated copies\n" + ctx)


def main():
    t.main()


# ---------------------------------------------------------------- workers and sinks


class PortSink(t.FakeSink):
    """A fake sink that can be stopped and started again on the same port
    (connection refused while it is down)."""

    def __init__(self, kind, tag="sink", port=None):
        super().__init__(kind, tag)
        self.port = port or free_port()
        self.starts = 0

    def start(self, timeout=15.0):
        try:
            os.unlink(self.port_file)
        except FileNotFoundError:
            pass
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                ["/usr/bin/python3", t.fake_sinks_path(), "--kind", self.kind, "--port",
                 str(self.port), "--port-file", self.port_file],
                env=t.clean_env(), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        self.starts += 1

        def up():
            if self.proc.poll() is not None:
                raise AssertionError("fake sink exited: %s" % t.read_text(self.log_path))
            return t.read_text(self.port_file).strip() == str(self.port)
        t.wait_for(up, timeout, "fake %s sink on port %d" % (self.kind, self.port))
        return self

    def refuses(self):
        """True when nothing listens on the port (connection refused)."""
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.settimeout(1)
            return s.connect_ex(("127.0.0.1", self.port)) != 0


def log_id_of(r):
    doc = r.get("doc")
    return doc.get("log_id") if isinstance(doc, dict) else None


class FaultWorkerTest(FaultTest, t.WorkerTest):
    """FaultTest with workers and fake sinks (lsys_testlib.WorkerTest)."""

    def port_sink(self, kind):
        sink = PortSink(kind, self._testMethodName.replace("test_", ""))
        self._sinks.append(sink)
        return sink

    def worker_metrics(self, addr):
        status, text = http_get("http://%s/metrics" % addr)
        return parse_metrics(text) if status == 200 else None

    def publish_docs(self, queue, n, domain, tag):
        """Publishes n logbeacon messages (persistent, confirmed) and returns their log_ids."""
        docs = [t.logbeacon_doc(domain, "%s message %d" % (tag, i), hash="%s-%d" % (tag, i))
                for i in range(n)]
        t.publish(self.broker, queue, docs)
        return [d["log_id"] for d in docs]

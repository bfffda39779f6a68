"""lsys_testlib - shared helpers of the logsys integration tests (stdlib + pika).

The tests run under CTest (tests/integration/CMakeLists.txt), which starts one
private RabbitMQ for all of them (fixture "rabbitmq") and passes, in the
environment:

  LOGSYS_TEST_AMQP_URL   the broker, amqp://guest:guest@127.0.0.1:<port>/%2f
  LOGSYS_TEST_LOGSYSD    the sidecar binary
  LOGSYS_TEST_SEND       logsys-send
  LOGSYS_TEST_POKE       tests/support lsys-poke (raw request, reply as JSON)
  LOGSYS_TEST_LOAD       tests/support lsys-load (N records through liblogsys)
  LOGSYS_TEST_OUTDIR     where sidecar stdout/stderr files are kept (optional)

Every test gets its own domain (so its own queues) and IPC path, so tests may
run in parallel against the one broker. Nothing here sleeps to synchronise:
waits poll a condition against a deadline (wait_for).
"""

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import unittest
import uuid
from collections import namedtuple

import pika

# ---------------------------------------------------------------- environment


def env_path(name):
    """Returns the value of environment variable name; fails the test when unset."""
    value = os.environ.get(name)
    if not value:
        raise AssertionError("%s is not set: run the integration tests through ctest" % name)
    return value


def amqp_url():
    return env_path("LOGSYS_TEST_AMQP_URL")


def logsysd_path():
    return env_path("LOGSYS_TEST_LOGSYSD")


def send_path():
    return env_path("LOGSYS_TEST_SEND")


def poke_path():
    return env_path("LOGSYS_TEST_POKE")


def load_path():
    return env_path("LOGSYS_TEST_LOAD")


def clean_env(extra=None):
    """Returns os.environ without any LOGSYS_* variable (the binaries reject
    unknown LOGSYS_ keys, and an inherited setting would make a test depend on
    its caller), plus extra."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOGSYS_")}
    for k, v in (extra or {}).items():
        if v is not None:
            env[k] = str(v)
    return env


_counter = [0]


def unique_name(tag):
    """Returns "it-<tag>-<pid>-<n>": a domain/IPC name no other test uses."""
    _counter[0] += 1
    safe = "".join(c if c.isalnum() or c in "-_." else "-" for c in tag)[:40]
    return "it-%s-%d-%d" % (safe, os.getpid(), _counter[0])


def wait_for(predicate, timeout, what, interval=0.05):
    """Polls predicate() until it returns a true value (returned) or timeout
    seconds pass (AssertionError naming what)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError("timed out after %.1fs waiting for %s" % (timeout, what))
        time.sleep(interval)


# ---------------------------------------------------------------- protobuf
# A hand-written encoder for logsys.v1.LogBatch / LogRecord (proto/logsys/v1/
# logsys.proto), so tests can send exactly the bytes they want: invalid UTF-8,
# unknown levels, oversized fields.

WT_VARINT = 0
WT_LEN = 2


def pb_varint(n):
    if n < 0:
        n += 1 << 64  # int64 negative values: ten-byte two's complement
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def pb_key(field, wire_type):
    return pb_varint((field << 3) | wire_type)


def pb_uint(field, value, keep_default=False):
    if value == 0 and not keep_default:
        return b""
    return pb_key(field, WT_VARINT) + pb_varint(value)


def pb_bytes(field, value, keep_default=False):
    """A length-delimited field; str is encoded as UTF-8, bytes are sent as is."""
    if isinstance(value, str):
        value = value.encode("utf-8")
    if not value and not keep_default:
        return b""
    return pb_key(field, WT_LEN) + pb_varint(len(value)) + value


def new_log_id():
    return uuid.uuid4().hex  # 32 lower-case hex characters, like the client's


def encode_record(level=1, def_name="it", message="it message", extra_info="",
                  hash="", log_id=None, program_name="", time_unix_ms=None):
    """Encodes one LogRecord. Strings may be str or raw bytes (any bytes at all)."""
    if log_id is None:
        log_id = new_log_id()
    if time_unix_ms is None:
        time_unix_ms = int(time.time() * 1000)
    return b"".join([
        pb_uint(1, level),
        pb_bytes(2, program_name),
        pb_bytes(3, def_name),
        pb_bytes(4, message),
        pb_bytes(5, extra_info),
        pb_bytes(6, hash),
        pb_bytes(7, log_id),
        pb_uint(8, time_unix_ms),
    ])


def encode_batch(records, batch_id=1, program_name="it-program", client_dropped=0):
    """Encodes one LogBatch from already encoded records (encode_record)."""
    return b"".join([pb_uint(1, batch_id), pb_bytes(2, program_name)]
                    + [pb_bytes(3, r, keep_default=True) for r in records]
                    + [pb_uint(4, client_dropped)])


# ---------------------------------------------------------------- broker

Message = namedtuple("Message", "body json message_id delivery_mode content_type")


def _message(props, body):
    try:
        doc = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        doc = None
    return Message(body, doc, props.message_id, props.delivery_mode, props.content_type)


class Broker:
    """The test RabbitMQ, through pika. One blocking connection, opened lazily."""

    def __init__(self, url=None):
        self.url = url or amqp_url()
        self._conn = None
        self._ch = None

    def channel(self):
        if self._ch is None or not self._ch.is_open:
            if self._conn is None or not self._conn.is_open:
                params = pika.URLParameters(self.url)
                params.blocked_connection_timeout = 30
                self._conn = pika.BlockingConnection(params)
            self._ch = self._conn.channel()
        return self._ch

    def close(self):
        try:
            if self._conn is not None and self._conn.is_open:
                self._conn.close()
        except Exception:  # noqa: BLE001 - closing on the way out
            pass
        self._conn = self._ch = None

    def queue_exists(self, queue):
        try:
            self.channel().queue_declare(queue, passive=True)
            return True
        except pika.exceptions.ChannelClosedByBroker as e:
            self._ch = None
            if e.reply_code == 404:
                return False
            raise

    def queue_info(self, queue):
        """Returns (durable-declare-ok, message_count) of an existing queue; raises
        AssertionError when it does not exist. A passive declare cannot see
        "durable", so durability is checked by re-declaring it durable: the
        broker refuses (406) when the existing queue is not."""
        if not self.queue_exists(queue):
            raise AssertionError("queue %s does not exist" % queue)
        try:
            ok = self.channel().queue_declare(queue, durable=True)
            return True, ok.method.message_count
        except pika.exceptions.ChannelClosedByBroker as e:
            self._ch = None
            if e.reply_code == 406:
                return False, None
            raise

    def count(self, queue):
        """Ready messages in queue (0 when it does not exist). Publisher-confirmed
        messages are enqueued, so after the sidecar acknowledged a record its
        copies are counted here."""
        try:
            ok = self.channel().queue_declare(queue, passive=True)
            return ok.method.message_count
        except pika.exceptions.ChannelClosedByBroker as e:
            self._ch = None
            if e.reply_code == 404:
                return 0
            raise

    def get_all(self, queue, limit=None):
        """Takes every message now in queue (basic_get, auto-ack) and returns
        them as Message tuples in queue order; [] when it does not exist."""
        out = []
        if not self.queue_exists(queue):
            return out
        ch = self.channel()
        while limit is None or len(out) < limit:
            method, props, body = ch.basic_get(queue, auto_ack=True)
            if method is None:
                break
            out.append(_message(props, body))
        return out

    def drain(self, queue, count, timeout):
        """Consumes from queue until count messages arrived or timeout seconds
        passed; returns what arrived (the caller asserts the number). The queue
        must exist. Messages are acknowledged as taken; any the client had
        prefetched beyond count go back to the queue (count() sees them)."""
        out = []
        ch = self.channel()
        ch.basic_qos(prefetch_count=500)
        deadline = time.monotonic() + timeout
        last_tag = None
        for method, props, body in ch.consume(queue, auto_ack=False, inactivity_timeout=0.5):
            if method is not None:
                out.append(_message(props, body))
                last_tag = method.delivery_tag
                if len(out) % 200 == 0:
                    ch.basic_ack(last_tag, multiple=True)
                    last_tag = None
            if len(out) >= count or time.monotonic() >= deadline:
                break
        if last_tag is not None:
            ch.basic_ack(last_tag, multiple=True)
        ch.cancel()  # requeues what was delivered but not acknowledged
        return out

    def delete(self, *queues):
        for q in queues:
            try:
                self.channel().queue_delete(q)
            except pika.exceptions.ChannelClosedByBroker:
                self._ch = None
            except Exception:  # noqa: BLE001 - best effort clean-up
                self._ch = None


# ---------------------------------------------------------------- processes


def outdir(tag):
    """A fresh directory for one sidecar's output files."""
    base = os.environ.get("LOGSYS_TEST_OUTDIR")
    if base:
        os.makedirs(base, exist_ok=True)
    return tempfile.mkdtemp(prefix=tag + "-", dir=base or None)


def read_text(path):
    try:
        with open(path, "rb") as f:
            return f.read().decode("utf-8", errors="replace")
    except FileNotFoundError:
        return ""


class Sidecar:
    """One logsysd process with its own domain, IPC socket and output files.

    Environment: LOGSYS_DOMAIN, LOGSYS_IPC_URL, LOGSYS_AMQP_URL (the test
    broker unless amqp_url=None is given with amqp=False), LOGSYS_CONSOLE=plain,
    plus env. stdout and stderr go to files in self.dir."""

    READY = "logsysd: ready"

    def __init__(self, tag, env=None, amqp=True, console="plain", args=(), domain=None):
        self.tag = tag
        self.domain = domain or unique_name(tag)
        self.sock = "/tmp/lsys-%s.sock" % self.domain
        self.ipc_url = "ipc://" + self.sock
        self.dir = outdir(self.domain)
        self.stdout_path = os.path.join(self.dir, "stdout.txt")
        self.stderr_path = os.path.join(self.dir, "stderr.txt")
        settings = {
            "LOGSYS_DOMAIN": self.domain,
            "LOGSYS_IPC_URL": self.ipc_url,
            "LOGSYS_CONSOLE": console,
        }
        if amqp:
            settings["LOGSYS_AMQP_URL"] = amqp_url()
        settings.update(env or {})
        self.env = clean_env(settings)
        self.args = list(args)
        self.proc = None
        self.returncode = None

    @property
    def logbeacon_queue(self):
        return self.domain + "_logbeacon"

    @property
    def tg_queue(self):
        return self.domain + "_tg"

    def start(self, ready_timeout=20.0):
        """Starts logsysd and waits for its "logsysd: ready" line."""
        try:
            os.unlink(self.sock)
        except FileNotFoundError:
            pass
        with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen([logsysd_path()] + self.args, env=self.env,
                                         stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        deadline = time.monotonic() + ready_timeout
        while True:
            if self.READY in self.stderr():
                return self
            if self.proc.poll() is not None:
                raise AssertionError("logsysd exited with %s before it was ready\n%s"
                                     % (self.proc.returncode, self.describe()))
            if time.monotonic() >= deadline:
                raise AssertionError("logsysd not ready within %.0fs\n%s"
                                     % (ready_timeout, self.describe()))
            time.sleep(0.05)

    def stdout(self):
        return read_text(self.stdout_path)

    def stderr(self):
        return read_text(self.stderr_path)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def describe(self, tail=4000):
        return ("--- logsysd %s (dir %s) stderr ---\n%s\n--- stdout (tail) ---\n%s"
                % (self.domain, self.dir, self.stderr()[-tail:], self.stdout()[-tail:]))

    def stop(self, timeout=30.0):
        """SIGTERM, wait; returns the exit code (the caller asserts it)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
                raise AssertionError("logsysd did not exit within %.0fs of SIGTERM\n%s"
                                     % (timeout, self.describe()))
        self.returncode = self.proc.returncode
        return self.returncode

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        try:
            os.unlink(self.sock)
        except (FileNotFoundError, PermissionError):
            pass


def run(argv, env=None, timeout=60, input=None):
    """Runs argv with a clean environment; returns CompletedProcess (text out/err,
    undecodable bytes replaced)."""
    p = subprocess.run(argv, env=clean_env(env), input=input, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=timeout)
    p.stdout = p.stdout.decode("utf-8", errors="replace")
    p.stderr = p.stderr.decode("utf-8", errors="replace")
    return p


def send(ipc_url, level, message, def_name="it_def", extra=None, hash=None, program="it-program",
         timeout_ms=10000, extra_args=()):
    """Runs logsys-send for one record; returns CompletedProcess."""
    argv = [send_path(), "--ipc", ipc_url, "--program", program, "--timeout", str(timeout_ms),
            "--level", str(level), "--def-name", def_name, "--message", message]
    if extra is not None:
        argv += ["--extra", extra]
    if hash is not None:
        argv += ["--hash", hash]
    argv += list(extra_args)
    return run(argv, timeout=timeout_ms / 1000.0 + 30)


def poke(ipc_url, data=None, gen_size=None, timeout_ms=10000):
    """Sends raw bytes (or gen_size bytes of 0xFF) as one request with lsys-poke.
    Returns (exit code, decoded JSON reply or None, stderr)."""
    argv = [poke_path(), "--timeout", str(timeout_ms)]
    if gen_size is not None:
        argv += ["--gen-size", str(gen_size), ipc_url]
        p = run(argv, timeout=timeout_ms / 1000.0 + 30)
    else:
        argv += [ipc_url, "-"]
        p = run(argv, input=data, timeout=timeout_ms / 1000.0 + 30)
    reply = None
    if p.returncode == 0:
        reply = json.loads(p.stdout.strip().splitlines()[-1])
    return p.returncode, reply, p.stderr


def load_argv(ipc_url, count, level=1, hash_prefix=None, program="it-load", timeout_ms=120000,
              message_size=None):
    argv = [load_path(), "--ipc", ipc_url, "--count", str(count), "--level", str(level),
            "--program", program, "--timeout-ms", str(timeout_ms)]
    if hash_prefix is not None:
        argv += ["--hash-prefix", hash_prefix]
    if message_size is not None:
        argv += ["--message-size", str(message_size)]
    return argv


# ---------------------------------------------------------------- test base


class IntegrationTest(unittest.TestCase):
    """Base class: a Broker, sidecars killed and queues deleted after each test."""

    maxDiff = 4000

    def setUp(self):
        self.broker = Broker()
        self._sidecars = []
        self.addCleanup(self._cleanup)

    def _cleanup(self):
        for sc in self._sidecars:
            if sc.alive():
                sys.stderr.write("[%s] logsysd still running at the end: killed\n%s\n"
                                 % (self.id(), sc.describe(2000)))
            sc.kill()
            self.broker.delete(sc.logbeacon_queue, sc.tg_queue)
        self.broker.close()

    def start_sidecar(self, tag=None, **kw):
        sc = Sidecar(tag or self._testMethodName.replace("test_", ""), **kw)
        self._sidecars.append(sc)
        return sc.start()

    def stop_sidecar(self, sc):
        """Stops sc with SIGTERM and asserts it exits 0."""
        rc = sc.stop()
        self.assertEqual(rc, 0, "logsysd exit code after SIGTERM\n" + sc.describe())

    def assertSendOk(self, p, sc=None):
        self.assertEqual(p.returncode, 0, "logsys-send failed: rc=%s\nstdout: %s\nstderr: %s\n%s"
                         % (p.returncode, p.stdout, p.stderr, sc.describe() if sc else ""))


def main():
    unittest.main(verbosity=2)


# ---------------------------------------------------------------- workers
# logsys-worker and the fake LogBeacon / Telegram sinks (tests/support/
# fake_sinks.py). CTest passes LOGSYS_TEST_WORKER and LOGSYS_TEST_FAKE_SINKS.

TG_DEV_TOKEN = "111111:dev-token-SECRET"
TG_DEV_CHAT = "-1001111"
TG_CUSTOMER_TOKEN = "222222:customer-token-SECRET"
TG_CUSTOMER_CHAT = "-1002222"


def worker_path():
    return env_path("LOGSYS_TEST_WORKER")


def fake_sinks_path():
    return env_path("LOGSYS_TEST_FAKE_SINKS")


class FakeSink:
    """One fake_sinks.py process (kind "logbeacon" or "telegram") on a free
    port of 127.0.0.1, with its control API wrapped."""

    def __init__(self, kind, tag="sink"):
        self.kind = kind
        self.dir = outdir("%s-%s" % (tag, kind))
        self.port_file = os.path.join(self.dir, "port")
        self.log_path = os.path.join(self.dir, "sink.log")
        self.proc = None
        self.port = None

    def start(self, timeout=15.0):
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                ["/usr/bin/python3", fake_sinks_path(), "--kind", self.kind, "--port", "0",
                 "--port-file", self.port_file],
                env=clean_env(), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)

        def port():
            if self.proc.poll() is not None:
                raise AssertionError("fake sink exited: %s" % read_text(self.log_path))
            text = read_text(self.port_file).strip()
            return int(text) if text.isdigit() else None
        self.port = wait_for(port, timeout, "fake %s sink port file" % self.kind)
        return self

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def _request(self, method, path, doc=None, timeout=10):
        import urllib.request
        data = None if doc is None else json.dumps(doc).encode("utf-8")
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=timeout) as r:
            body = r.read()
        return json.loads(body.decode("utf-8")) if body else None

    def control(self, rules):
        """Scripts responses: rules = [{"match": "...", "responses": [{...}, ...]}]."""
        return self._request("POST", "/_control", {"rules": rules})

    def default(self, response):
        return self._request("POST", "/_default", response)

    def reset(self):
        return self._request("POST", "/_reset", {})

    def received(self):
        """Every request so far: [{"t", "path", "token", "body", "status"}]."""
        return self._request("GET", "/_received")

    def received_json(self):
        """received() with each body decoded from JSON (None when it is not JSON)."""
        out = []
        for r in self.received():
            body = r.get("body")
            if isinstance(body, (dict, list)):
                pass
            elif isinstance(body, str):
                try:
                    body = json.loads(body)
                except ValueError:
                    body = None
            out.append(dict(r, doc=body))
        return out

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


class Worker:
    """One logsys-worker process (kind logbeacon or telegram) for domain, its
    stderr in a file. env adds settings to LOGSYS_DOMAIN and LOGSYS_AMQP_URL."""

    READY = "logsys-worker: ready"

    def __init__(self, kind, domain, env=None, args=(), tag="worker"):
        self.kind = kind
        self.domain = domain
        self.dir = outdir("%s-%s" % (tag, domain))
        self.stderr_path = os.path.join(self.dir, "stderr.txt")
        self.stdout_path = os.path.join(self.dir, "stdout.txt")
        settings = {"LOGSYS_DOMAIN": domain, "LOGSYS_AMQP_URL": amqp_url(),
                    "LOGSYS_STATUS_INTERVAL_S": "1"}
        settings.update(env or {})
        self.env = clean_env(settings)
        self.args = list(args)
        self.proc = None
        self.returncode = None
        self.starts = 0

    @property
    def queue(self):
        return self.domain + ("_tg" if self.kind == "telegram" else "_logbeacon")

    def spawn(self):
        """Starts (or restarts) the worker without waiting for anything."""
        with open(self.stdout_path, "ab") as out, open(self.stderr_path, "ab") as err:
            self.proc = subprocess.Popen([worker_path(), self.kind] + self.args, env=self.env,
                                         stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        self.starts += 1
        return self

    def start(self, ready_timeout=30.0):
        """Starts (or restarts) the worker and waits for a new "ready" line."""
        seen = self.stderr().count(self.READY)
        self.spawn()
        deadline = time.monotonic() + ready_timeout
        while self.stderr().count(self.READY) <= seen:
            if self.proc.poll() is not None:
                raise AssertionError("logsys-worker exited with %s before it was ready\n%s"
                                     % (self.proc.returncode, self.describe()))
            if time.monotonic() >= deadline:
                raise AssertionError("logsys-worker not ready within %.0fs\n%s"
                                     % (ready_timeout, self.describe()))
            time.sleep(0.05)
        return self

    def stderr(self):
        return read_text(self.stderr_path)

    def stdout(self):
        return read_text(self.stdout_path)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def describe(self, tail=4000):
        return "--- logsys-worker %s %s (dir %s) stderr ---\n%s" % (
            self.kind, self.domain, self.dir, self.stderr()[-tail:])

    def stop(self, timeout=30.0):
        """SIGTERM, wait; returns the exit code (the caller asserts it)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
                raise AssertionError("logsys-worker did not exit within %.0fs of SIGTERM\n%s"
                                     % (timeout, self.describe()))
        self.returncode = self.proc.returncode
        return self.returncode

    def kill(self):
        """SIGKILL (no clean-up at all, like a crash)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def last_status(self):
        """The counters of the last status line (or the final "stopped:" line),
        e.g. {"delivered": 10, ...}."""
        import re
        lines = [ln for ln in self.stderr().splitlines()
                 if "logsys-worker: status:" in ln or "logsys-worker: stopped:" in ln]
        if not lines:
            return {}
        out = {}
        for name, value in re.findall(r"(delivered|duplicates|retried|dead-lettered|requeued) (\d+)",
                                      lines[-1]):
            out[name] = int(value)
        return out


def worker_sink_env(kind, sink):
    """The settings that point a worker of kind at fake sink."""
    if kind == "logbeacon":
        return {"LOGSYS_LOGBEACON_URL": sink.url + "/ingest"}
    return {"LOGSYS_TG_API_BASE": sink.url,
            "LOGSYS_TG_DEV_TOKEN": TG_DEV_TOKEN, "LOGSYS_TG_DEV_CHAT_ID": TG_DEV_CHAT,
            "LOGSYS_TG_CUSTOMER_TOKEN": TG_CUSTOMER_TOKEN,
            "LOGSYS_TG_CUSTOMER_CHAT_ID": TG_CUSTOMER_CHAT}


def logbeacon_doc(domain, message, log_id=None, level="Info", level_no=1, program="it-program",
                  def_name="it_def", extra_info="", hash=None):
    """A {domain}_logbeacon message body as logsysd writes it (SPEC section 5)."""
    log_id = log_id or new_log_id()
    return {"domain": domain, "program_name": program, "level": level, "def_name": def_name,
            "message": message, "extra_info": extra_info,
            "timestamp": time.strftime("%Y-%m-%d %H:%M:%S"), "hash": hash or "h-" + log_id,
            "log_id": log_id, "level_no": level_no, "time_unix_ms": int(time.time() * 1000)}


def tg_doc(type_, notify_msg, log_id=None, notify_key=None):
    """A {domain}_tg message body as logsysd writes it (SPEC section 5)."""
    log_id = log_id or new_log_id()
    doc = {"type": type_, "notify_msg": notify_msg, "timestamp": time.strftime("%Y-%m-%d %H:%M:%S"),
           "hash": "h-" + log_id, "log_id": log_id}
    if notify_key:
        doc["notify_key"] = notify_key
    return doc


def publish(broker, queue, bodies, message_ids=None, headers=None):
    """Publishes each body (dict: JSON-encoded; str/bytes: as is) to queue,
    persistent, with publisher confirms; message_ids[i] (or the body's log_id)
    becomes the message_id. The queue is declared durable without arguments
    (as logsysd and the old system declare it)."""
    ch = broker.channel()
    ch.queue_declare(queue, durable=True)
    ch.confirm_delivery()
    for i, body in enumerate(bodies):
        mid = message_ids[i] if message_ids else None
        if isinstance(body, dict):
            mid = mid or body.get("log_id")
            body = json.dumps(body, ensure_ascii=False)
        if isinstance(body, str):
            body = body.encode("utf-8")
        props = pika.BasicProperties(delivery_mode=2, content_type="application/json",
                                     message_id=mid, headers=headers)
        ch.basic_publish("", queue, body, props)


class WorkerTest(IntegrationTest):
    """IntegrationTest with workers and fake sinks, stopped (and the worker
    queues deleted) after each test."""

    def setUp(self):
        super().setUp()
        self._workers = []
        self._sinks = []
        self._queues = set()
        self.addCleanup(self._cleanup_workers)

    def _cleanup_workers(self):
        for w in self._workers:
            if w.alive():
                sys.stderr.write("[%s] logsys-worker still running at the end: killed\n%s\n"
                                 % (self.id(), w.describe(2000)))
            w.kill()
        for s in self._sinks:
            s.stop()
        for q in self._queues:
            self.broker.delete(q, q + ".retry", q + ".dlq")

    def start_sink(self, kind):
        sink = FakeSink(kind, self._testMethodName.replace("test_", "")).start()
        self._sinks.append(sink)
        return sink

    def new_worker(self, kind, sink, domain=None, env=None, args=()):
        """A Worker (not started) for domain (default: a fresh one) pointed at sink."""
        domain = domain or unique_name(self._testMethodName.replace("test_", ""))
        settings = worker_sink_env(kind, sink)
        settings.update(env or {})
        w = Worker(kind, domain, settings, args, tag=self._testMethodName.replace("test_", ""))
        self._workers.append(w)
        self._queues.add(w.queue)
        return w

    def start_worker(self, kind, sink, domain=None, env=None, args=()):
        return self.new_worker(kind, sink, domain, env, args).start()

    def stop_worker(self, w):
        rc = w.stop()
        self.assertEqual(rc, 0, "logsys-worker exit code after SIGTERM\n" + w.describe())

    def wait_received(self, sink, count, timeout, what=None, pred=None):
        """Waits until sink has count requests (answered 200 when it is a
        number) matching pred; returns them."""
        def got():
            rs = [r for r in sink.received_json() if r.get("status") == 200 and (pred is None or pred(r))]
            return rs if len(rs) >= count else None
        return wait_for(got, timeout, what or "%d deliveries" % count, interval=0.2)

"""logsys-worker and a failing connection to RabbitMQ (SPEC section 6): when
the connection drops or goes silent, the worker reconnects on its own with
backoff, the broker redelivers what was not acknowledged, and deduplication
keeps those redeliveries from reaching LogBeacon twice.

The worker talks to the broker through a TCP proxy in this process that can
cut every connection, refuse new ones, or freeze them (stop forwarding
without closing, so only missed heartbeats can tell).
"""

import collections
import os
import socket
import sys
import tempfile
import threading
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))

import lsys_testlib as t  # noqa: E402


class Proxy:
    """127.0.0.1:<port> forwarding to the broker, with connections that can be
    cut (closed), refused (new ones closed at once) or frozen (kept open,
    nothing forwarded)."""

    def __init__(self, host, port):
        self.target = (host, port)
        self.lsock = socket.socket()
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(64)
        self.port = self.lsock.getsockname()[1]
        self.lock = threading.Lock()
        self.pairs = []
        self.refuse = False
        self.frozen = threading.Event()
        self.accepted = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                c, _ = self.lsock.accept()
            except OSError:
                return
            if self.refuse:
                c.close()
                continue
            try:
                u = socket.create_connection(self.target)
            except OSError:
                c.close()
                continue
            with self.lock:
                self.pairs.append((c, u))
                self.accepted += 1
            frozen = self.frozen
            threading.Thread(target=self._pump, args=(c, u, frozen), daemon=True).start()
            threading.Thread(target=self._pump, args=(u, c, frozen), daemon=True).start()

    @staticmethod
    def _pump(src, dst, frozen):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if frozen.is_set():
                    while frozen.is_set():  # hold everything: a silent connection
                        if src.fileno() < 0:
                            return
                        threading.Event().wait(0.05)
                    return  # thawed connections are cut by thaw()
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def cut(self):
        with self.lock:
            pairs, self.pairs = self.pairs, []
        for pair in pairs:
            for s in pair:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                    s.close()
                except OSError:
                    pass

    def freeze(self):
        self.frozen.set()

    def thaw(self):
        """Ends a freeze: the frozen connections are cut, new ones work."""
        old = self.frozen
        self.frozen = threading.Event()
        self.cut()
        old.clear()

    def close(self):
        self.lsock.close()
        self.cut()


def log_ids_200(sink):
    c = collections.Counter()
    for r in sink.received_json():
        if r.get("status") == 200 and isinstance(r.get("doc"), dict):
            c[r["doc"].get("log_id")] += 1
    return c


class WorkerReconnectTest(t.WorkerTest):

    def proxy(self):
        u = urllib.parse.urlparse(t.amqp_url())
        p = Proxy(u.hostname, u.port)
        self.addCleanup(p.close)
        url = t.amqp_url().replace("%s:%d" % (u.hostname, u.port), "127.0.0.1:%d" % p.port)
        return p, url

    def dedup_dir(self):
        d = tempfile.mkdtemp(prefix="lsys-dedup-")
        self.addCleanup(lambda: __import__("shutil").rmtree(d, ignore_errors=True))
        return d

    def test_connection_cut_mid_stream(self):
        sink = self.start_sink("logbeacon")
        proxy, url = self.proxy()
        w = self.new_worker("logbeacon", sink, env={"LOGSYS_AMQP_URL": url,
                                                    "LOGSYS_DEDUP_DIR": self.dedup_dir()})
        n = 3000
        docs = [t.logbeacon_doc(w.domain, "reconnect %d" % i) for i in range(n)]
        t.publish(self.broker, w.queue, docs)
        w.start()
        t.wait_for(lambda: sum(log_ids_200(sink).values()) >= 1000, 60, "1000 deliveries")
        proxy.refuse = True
        proxy.cut()
        t.wait_for(lambda: w.stderr().count("cannot reach RabbitMQ") >= 2, 30,
                   "reconnect attempts with backoff\n" + w.describe())
        self.assertIn("disconnected from RabbitMQ", w.stderr())
        proxy.refuse = False
        t.wait_for(lambda: len(log_ids_200(sink)) >= n, 120, "all %d log_ids" % n, interval=0.5)
        self.assertGreaterEqual(w.stderr().count(w.READY), 2, "ready again after the reconnect")
        self.stop_worker(w)
        got = log_ids_200(sink)
        self.assertEqual(set(got), {d["log_id"] for d in docs})
        self.assertEqual([k for k, v in got.items() if v > 1], [], "delivered twice")
        self.assertEqual(self.broker.count(w.queue), 0)

    def test_silent_connection_is_detected_by_heartbeats(self):
        sink = self.start_sink("logbeacon")
        proxy, url = self.proxy()
        # No status lines: their RPCs would notice too; here only heartbeats can.
        w = self.start_worker("logbeacon", sink, env={"LOGSYS_AMQP_URL": url,
                                                      "LOGSYS_AMQP_HEARTBEAT_S": "1",
                                                      "LOGSYS_STATUS_INTERVAL_S": "0"})
        proxy.freeze()
        t.wait_for(lambda: "disconnected from RabbitMQ" in w.stderr(), 20,
                   "the worker to notice the silent connection\n" + w.describe())
        proxy.thaw()
        t.wait_for(lambda: w.stderr().count(w.READY) >= 2, 30, "ready again\n" + w.describe())
        doc = t.logbeacon_doc(w.domain, "after the freeze")
        t.publish(self.broker, w.queue, [doc])
        self.wait_received(sink, 1, 30, "delivery after the reconnect")
        self.stop_worker(w)


if __name__ == "__main__":
    t.main()

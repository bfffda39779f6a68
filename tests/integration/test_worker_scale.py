"""logsys-worker at scale and across restarts (SPEC section 6): several
workers on one queue deliver every message exactly once; a worker killed with
SIGKILL mid-stream loses nothing when restarted and, with LOGSYS_DEDUP_DIR,
does not deliver twice what it had delivered; SIGTERM drains and exits 0.

Messages are published straight to {domain}_logbeacon with pika.
"""

import collections
import os
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))

import lsys_testlib as t  # noqa: E402


def log_ids_200(sink):
    """Counter of log_id -> number of deliveries LogBeacon answered 200."""
    c = collections.Counter()
    for r in sink.received_json():
        if r.get("status") == 200 and isinstance(r.get("doc"), dict):
            c[r["doc"].get("log_id")] += 1
    return c


class WorkerScaleTest(t.WorkerTest):

    def dedup_dir(self):
        d = tempfile.mkdtemp(prefix="lsys-dedup-")
        self.addCleanup(lambda: __import__("shutil").rmtree(d, ignore_errors=True))
        return d

    def test_three_workers_deliver_each_message_once(self):
        sink = self.start_sink("logbeacon")
        first = self.new_worker("logbeacon", sink)
        domain, n = first.domain, 6000
        docs = [t.logbeacon_doc(domain, "scale %d" % i) for i in range(n)]
        t.publish(self.broker, first.queue, docs)
        workers = [first.start()] + [self.start_worker("logbeacon", sink, domain=domain)
                                     for _ in range(2)]

        t.wait_for(lambda: sum(log_ids_200(sink).values()) >= n, 180,
                   "%d deliveries" % n, interval=0.5)
        for w in workers:
            self.stop_worker(w)
        got = log_ids_200(sink)
        self.assertEqual(set(got), {d["log_id"] for d in docs}, "every log_id delivered")
        twice = [k for k, v in got.items() if v > 1]
        self.assertEqual(twice, [], "delivered more than once")
        shares = [w.last_status().get("delivered", 0) for w in workers]
        sys.stderr.write("deliveries per worker: %s\n" % shares)
        self.assertEqual(sum(shares), n, shares)
        self.assertEqual(self.broker.count(first.queue), 0)

    def test_sigkill_mid_stream_then_restart(self):
        sink = self.start_sink("logbeacon")
        ddir = self.dedup_dir()
        w = self.new_worker("logbeacon", sink, env={"LOGSYS_DEDUP_DIR": ddir})
        n, first_part = 3000, 1000
        docs = [t.logbeacon_doc(w.domain, "crash %d" % i) for i in range(n)]
        # LogBeacon answers the first 1000 and then hangs (never answering): the
        # worker is killed with requests in flight and the rest of its prefetch
        # unacknowledged.
        sink.control([{"responses": [{"status": 200}] * first_part
                       + [{"stall_s": 60, "close": True}] * 500}])
        t.publish(self.broker, w.queue, docs)
        w.start()
        t.wait_for(lambda: sum(log_ids_200(sink).values()) >= first_part, 60,
                   "the first %d deliveries" % first_part)
        # Let the worker take in the answers it already has (journal, acks).
        t.wait_for(lambda: w.last_status().get("delivered", 0) >= first_part, 30,
                   "the worker to settle the first part\n" + w.describe())
        w.kill()
        sink.control([])  # LogBeacon is healthy again
        w.start()
        t.wait_for(lambda: len(log_ids_200(sink)) >= n, 120, "all %d log_ids" % n, interval=0.5)
        self.stop_worker(w)
        got = log_ids_200(sink)
        self.assertEqual(set(got), {d["log_id"] for d in docs}, "every log_id delivered")
        self.assertEqual([k for k, v in got.items() if v > 1], [], "delivered twice")
        self.assertEqual(self.broker.count(w.queue), 0)

    def test_dedup_journal_survives_a_restart(self):
        sink = self.start_sink("logbeacon")
        ddir = self.dedup_dir()
        w = self.start_worker("logbeacon", sink, env={"LOGSYS_DEDUP_DIR": ddir})
        a = t.logbeacon_doc(w.domain, "first copy")
        t.publish(self.broker, w.queue, [a])
        self.wait_received(sink, 1, 20, "the first copy")
        self.stop_worker(w)
        # The same record again (e.g. resent by a producer), while no worker runs.
        again = dict(a, message="second copy")
        old1 = {k: v for k, v in t.logbeacon_doc(w.domain, "old system").items()
                if k not in ("log_id", "level_no", "time_unix_ms")}
        t.publish(self.broker, w.queue, [again, old1, old1, dict(t.logbeacon_doc(w.domain, "marker"))],
                  message_ids=[a["log_id"], "", "", None])
        w.start()
        self.wait_received(sink, 1, 20, "the marker",
                           pred=lambda r: (r.get("doc") or {}).get("message") == "marker")
        t.wait_for(lambda: w.last_status().get("duplicates") == 1, 10, "1 duplicate counted")
        msgs = [(r.get("doc") or {}).get("message") for r in sink.received_json()
                if r.get("status") == 200]
        self.assertNotIn("second copy", msgs, "a duplicate was delivered after the restart")
        self.assertEqual(msgs.count("old system"), 2, "messages without log_id are never deduplicated")
        self.stop_worker(w)
        journals = [f for f in os.listdir(ddir) if f.startswith(w.queue + ".dedup.")
                    and f[-1].isdigit()]
        self.assertTrue(journals, os.listdir(ddir))

    def test_sigterm_drains_and_nothing_is_lost(self):
        sink = self.start_sink("logbeacon")
        w = self.new_worker("logbeacon", sink)
        n = 2000
        docs = [t.logbeacon_doc(w.domain, "drain %d" % i) for i in range(n)]
        # Slow answers keep deliveries in flight when SIGTERM comes.
        sink.control([{"responses": [{"status": 200}] * 300 + [{"stall_s": 1}] * 64}])
        t.publish(self.broker, w.queue, docs)
        w.start()
        t.wait_for(lambda: sum(log_ids_200(sink).values()) >= 300, 60, "300 deliveries")
        self.stop_worker(w)  # asserts exit 0
        self.assertIn("draining", w.stderr())
        w2 = self.start_worker("logbeacon", sink, domain=w.domain)
        t.wait_for(lambda: len(log_ids_200(sink)) >= n, 120, "all %d log_ids" % n, interval=0.5)
        self.stop_worker(w2)
        got = log_ids_200(sink)
        self.assertEqual(set(got), {d["log_id"] for d in docs})
        self.assertEqual([k for k, v in got.items() if v > 1], [], "delivered twice")


if __name__ == "__main__":
    t.main()

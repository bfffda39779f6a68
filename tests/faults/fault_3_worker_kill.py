"""Fault 3: kill -9 of a worker mid-stream, restarted.

3,000 messages wait in {domain}_logbeacon; logsys-worker logbeacon (with a
dedup journal, LOGSYS_DEDUP_DIR) delivers them to a fake LogBeacon that
answers 200. Once 1,000 have been posted the worker is killed with SIGKILL,
then started again with the same settings and journal directory. Every
message must reach the fake LogBeacon (missing 0), and no delivery the killed
worker had completed may be posted again: those are in its journal and are
skipped when RabbitMQ redelivers them.

  test_kill9_worker_mid_stream
      Plain kill -9 while delivering. One kind of duplicate no worker can
      avoid without an idempotent LogBeacon: a POST that reached LogBeacon
      (the fake records it as answered 200) while the worker died before
      reading the answer; RabbitMQ redelivers the unacknowledged message and
      it is posted again. The journal is copied right after the kill and each
      duplicate is classified: "journaled" (recorded as delivered before the
      kill, then posted again: a dedup failure, asserted 0) or "in flight"
      (posted before the kill, not recorded: at most LOGSYS_CONCURRENCY of
      them, reported in the result line as duplicated).

  test_kill9_worker_with_acks_lost
      RabbitMQ's AMQP service is stopped first (stop_app), so the deliveries
      in progress finish and are journaled but cannot be acknowledged; then
      the worker is killed (nothing in flight any more) and RabbitMQ started
      again. RabbitMQ redelivers the delivered-but-unacknowledged messages;
      the restarted worker must skip them from its journal: duplicate posts 0.
"""

import glob
import time
import os
import shutil
import sys
from collections import Counter

import faultlib as f
from faultlib import t

TOTAL = 3000
KILL_AFTER = 1000
CONCURRENCY = 32


class WorkerKillFault(f.FaultWorkerTest):

    def setup_worker(self):
        sink = self.start_sink("logbeacon")
        self.admin = "127.0.0.1:%d" % f.free_port()
        w = self.new_worker("logbeacon", sink, env={"LOGSYS_ADMIN_ADDR": self.admin,
                                                    "LOGSYS_CONCURRENCY": CONCURRENCY})
        self.dedup_dir = os.path.join(w.dir, "dedup")
        w.env["LOGSYS_DEDUP_DIR"] = self.dedup_dir
        ids = self.publish_docs(w.queue, TOTAL, w.domain, "w3-" + w.domain)
        w.start()
        return sink, w, ids

    def posted(self, sink):
        return sum(1 for r in sink.received() if r.get("status") == 200)

    def journal_snapshot(self, w):
        """Copies the worker's journal; returns the log_ids recorded in it."""
        snap = os.path.join(w.dir, "journal-at-kill-%d" % w.starts)
        os.makedirs(snap)
        for path in glob.glob(os.path.join(self.dedup_dir, "*.dedup.*")):
            if not path.endswith(".lock"):
                shutil.copy(path, snap)
        journaled = set()
        for path in glob.glob(os.path.join(snap, "*")):
            for line in t.read_text(path).splitlines():
                parts = line.split(" ", 1)
                if len(parts) == 2 and parts[1].startswith("logbeacon/"):
                    journaled.add(parts[1][len("logbeacon/"):])
        return journaled

    def finish(self, sink, w, ids):
        """Waits for every message at the sink and a quiet worker; returns the
        (log_id -> posts answered 200) Counter after stopping the worker."""
        wanted = set(ids)
        self.wait_received(sink, TOTAL, 90, "all %d messages at the fake LogBeacon\n%s"
                           % (TOTAL, w.describe()), pred=lambda r: f.log_id_of(r) in wanted)
        # Quiet: the queue is empty and the worker holds nothing (no late repost).
        t.wait_for(lambda: self.broker.count(w.queue) == 0 and
                   f.metric(self.worker_metrics(self.admin) or {}, "logsys_worker_in_flight") == 0,
                   30, "the queue drained and nothing in flight")
        self.stop_worker(w)
        return Counter(f.log_id_of(r) for r in sink.received_json() if r.get("status") == 200)

    def result(self, name, ids, posts):
        wanted = set(ids)
        delivered = len(set(posts) & wanted)
        missing = sorted(wanted - set(posts))
        duplicated = sum(n - 1 for n in posts.values())
        f.print_result("fault 3 %s: sent %d, delivered %d, missing %d, duplicated %d"
                       % (name, TOTAL, delivered, len(missing), duplicated))
        self.assertEqual(set(posts) - wanted, set(), "posts of messages nobody published")
        return missing, [i for i, n in posts.items() if n > 1], duplicated

    def test_kill9_worker_mid_stream(self):
        sink, w, ids = self.setup_worker()
        t.wait_for(lambda: self.posted(sink) >= KILL_AFTER, 60, "%d posts before the kill\n%s"
                   % (KILL_AFTER, w.describe()), interval=0.02)
        w.kill()
        at_kill = sink.received_json()
        journaled = self.journal_snapshot(w)
        posted_at_kill = Counter(f.log_id_of(r) for r in at_kill if r.get("status") == 200)
        sys.stderr.write("killed the worker after %d posts (%d distinct); %d keys in its journal\n"
                         % (sum(posted_at_kill.values()), len(posted_at_kill), len(journaled)))
        self.assertLess(len(posted_at_kill), TOTAL, "precondition: killed mid-stream")

        w.start()
        posts = self.finish(sink, w, ids)
        missing, dup_ids, duplicated = self.result("worker_kill", ids, posts)
        journal_dups = [i for i in dup_ids if i in journaled]
        inflight_dups = [i for i in dup_ids if i not in journaled]
        sys.stderr.write("duplicate posts: %d of journaled deliveries, %d of deliveries in flight at "
                         "the kill; restarted worker: %s\n"
                         % (len(journal_dups), len(inflight_dups), w.last_status()))
        self.assertEqual(missing, [], "messages never posted\n" + w.describe())
        # The dedup journal's promise: nothing it recorded is posted again.
        self.assertEqual(journal_dups, [], "journaled deliveries posted again after the restart\n"
                         + w.describe())
        # The only other duplicates possible: POSTs LogBeacon received while the
        # worker died before reading the answer (at most LOGSYS_CONCURRENCY).
        unknown = set(posted_at_kill) - journaled
        self.assertLessEqual(len(unknown), CONCURRENCY, "posts the killed worker had in flight")
        self.assertEqual(sorted(set(dup_ids) - unknown), [],
                         "duplicate posts of messages that were not in flight at the kill\n" + w.describe())

    def test_kill9_worker_with_acks_lost(self):
        sink, w, ids = self.setup_worker()
        t.wait_for(lambda: self.posted(sink) >= KILL_AFTER, 60, "%d posts before the outage\n%s"
                   % (KILL_AFTER, w.describe()), interval=0.02)
        self.stop_broker()
        t.wait_for(lambda: "disconnected from RabbitMQ" in w.stderr(), 30,
                   "the worker to notice the outage\n" + w.describe())
        # The deliveries under way finish (journaled, not acknowledged): wait
        # until the sink has seen no new request for a second.
        state = {"n": -1, "since": 0.0}

        def settled():
            n = len(sink.received())
            now = time.monotonic()
            if n != state["n"]:
                state.update(n=n, since=now)
            return now - state["since"] >= 1.0
        t.wait_for(settled, 30, "the deliveries in progress to finish", interval=0.1)
        w.kill()
        journaled = self.journal_snapshot(w)
        posted_at_kill = Counter(f.log_id_of(r) for r in sink.received_json() if r.get("status") == 200)
        sys.stderr.write("killed the worker (RabbitMQ down) after %d posts (%d distinct); %d keys in "
                         "its journal\n" % (sum(posted_at_kill.values()), len(posted_at_kill),
                                            len(journaled)))
        self.assertEqual(set(posted_at_kill) - journaled, set(),
                         "every completed post is in the journal at the kill")

        self.start_broker()
        w.start()
        posts = self.finish(sink, w, ids)
        missing, dup_ids, duplicated = self.result("worker_kill_acks_lost", ids, posts)
        skipped = w.last_status().get("duplicates", 0)
        sys.stderr.write("restarted worker: %s (duplicates: redelivered messages skipped from the "
                         "journal)\n" % w.last_status())
        self.assertEqual(missing, [], "messages never posted\n" + w.describe())
        self.assertEqual(duplicated, 0, "duplicate posts: %s\n%s" % (dup_ids[:5], w.describe()))
        self.assertGreater(skipped, 0, "the restarted worker skipped redelivered journaled messages")


if __name__ == "__main__":
    f.main()

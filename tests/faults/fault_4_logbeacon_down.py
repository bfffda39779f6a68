"""Fault 4: LogBeacon down (connection refused) for 20 s, then up.

500 messages wait in {domain}_logbeacon; logsys-worker logbeacon starts while
nothing listens on LogBeacon's port, with fast retries (LOGSYS_RETRY_BASE_MS
200, LOGSYS_RETRY_MAX_MS 2000) and LOGSYS_MAX_ATTEMPTS 20, enough that nothing
is dead-lettered within 20 s. After 20 s the fake LogBeacon starts on that
port. Every message must then be delivered (missing 0), once, and the
retries must not have spun: from the worker's metrics (logsys_deliveries_total
by outcome) the attempts per message stay within what the backoff schedule
allows in the time LogBeacon was down (the delay after attempt k is at least
3/4 of min(200 ms * 2^(k-1), 2000 ms)) and within LOGSYS_MAX_ATTEMPTS; the
fake LogBeacon, which records every request, sees one request per message
once it is up; nothing goes to the DLQ.
"""

import sys
import time
from collections import Counter

import faultlib as f
from faultlib import t

TOTAL = 500
DOWN_S = 20.0
BASE_MS, MAX_MS, MAX_ATTEMPTS = 200, 2000, 20


def max_attempts_within(window_ms):
    """The most attempts one message can make in window_ms when each retry
    waits at least 3/4 of its nominal backoff (the jitter's lower bound)."""
    attempts, elapsed, k = 1, 0.0, 1
    while True:
        elapsed += 0.75 * min(BASE_MS * 2 ** (k - 1), MAX_MS)
        if elapsed > window_ms:
            return attempts
        attempts += 1
        k += 1


class LogBeaconDownFault(f.FaultWorkerTest):

    def test_logbeacon_down_20s(self):
        sink = self.port_sink("logbeacon")
        self.assertTrue(sink.refuses(), "nothing listens on port %d yet" % sink.port)
        admin = "127.0.0.1:%d" % f.free_port()
        w = self.new_worker("logbeacon", sink, env={
            "LOGSYS_ADMIN_ADDR": admin, "LOGSYS_RETRY_BASE_MS": BASE_MS,
            "LOGSYS_RETRY_MAX_MS": MAX_MS, "LOGSYS_MAX_ATTEMPTS": MAX_ATTEMPTS,
            "LOGSYS_HTTP_TIMEOUT_MS": 2000})
        ids = self.publish_docs(w.queue, TOTAL, w.domain, "w4-" + w.domain)
        t0 = time.monotonic()
        w.start()

        def deliveries(outcome):
            return f.metric(self.worker_metrics(admin) or {}, "logsys_deliveries_total", outcome=outcome)
        t.wait_for(lambda: deliveries("retry") >= TOTAL, 30,
                   "every message to fail once (connection refused)\n" + w.describe(), interval=0.2)
        left = DOWN_S - (time.monotonic() - t0)
        if left > 0:
            time.sleep(left)  # the fault itself: LogBeacon down for 20 s
        before_up = self.worker_metrics(admin)
        sink.start()
        up = time.monotonic()
        window_ms = (up - t0) * 1000.0

        wanted = set(ids)
        self.wait_received(sink, TOTAL, 60, "all %d messages at the fake LogBeacon\n%s"
                           % (TOTAL, w.describe()), pred=lambda r: f.log_id_of(r) in wanted)
        all_in = time.monotonic() - up
        t.wait_for(lambda: self.broker.count(w.queue) == 0 and self.broker.count(w.queue + ".retry") == 0
                   and f.metric(self.worker_metrics(admin) or {}, "logsys_worker_in_flight") == 0,
                   30, "the queues drained and nothing in flight")
        m = self.worker_metrics(admin)
        self.stop_worker(w)

        reqs = sink.received_json()
        posts = Counter(f.log_id_of(r) for r in reqs if r.get("status") == 200)
        delivered = len(set(posts) & wanted)
        missing = sorted(wanted - set(posts))
        duplicated = sum(n - 1 for n in posts.values())
        f.print_result("fault 4 logbeacon_down: sent %d, delivered %d, missing %d, duplicated %d"
                       % (TOTAL, delivered, len(missing), duplicated))

        retry = f.metric(m, "logsys_deliveries_total", outcome="retry")
        ok = f.metric(m, "logsys_deliveries_total", outcome="ok")
        permanent = f.metric(m, "logsys_deliveries_total", outcome="permanent")
        retry_down = f.metric(before_up, "logsys_deliveries_total", outcome="retry")
        attempts = retry + ok + permanent
        bound = max_attempts_within(window_ms) + 1  # + the successful one after LogBeacon is up
        sys.stderr.write(
            "LogBeacon down %.1f s: %d failed attempts while down (%.1f per message), %d attempts in "
            "all (%.1f per message; the schedule allows at most %d for %.1f s down, LOGSYS_MAX_ATTEMPTS %d); "
            "all delivered %.1f s after LogBeacon came up; sink saw %d requests\n"
            % (window_ms / 1000, retry_down, retry_down / TOTAL, attempts, attempts / TOTAL, bound,
               window_ms / 1000, MAX_ATTEMPTS, all_in, len(reqs)))
        self.assertEqual(missing, [], "messages never delivered\n" + w.describe())
        self.assertEqual(set(posts) - wanted, set())
        self.assertEqual(len(reqs), TOTAL, "one request per message once LogBeacon is up")
        self.assertEqual(duplicated, 0)
        self.assertEqual(permanent, 0, "connection refused is retryable")
        self.assertEqual(f.metric(m, "logsys_worker_messages_total", result="dead_lettered"), 0)
        self.assertEqual(self.broker.count(w.queue + ".dlq"), 0, "nothing dead-lettered")
        self.assertGreaterEqual(retry, TOTAL, "every message was retried at least once")
        # Did not spin: attempts per message within the backoff schedule and the limit.
        self.assertLessEqual(attempts, TOTAL * min(bound, MAX_ATTEMPTS),
                             "attempts %d for %d messages in %.1f s\n%s"
                             % (attempts, TOTAL, window_ms / 1000, w.describe()))


if __name__ == "__main__":
    f.main()

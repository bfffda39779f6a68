"""logsys-worker failure handling (SPEC section 6): retryable failures wait in
{queue}.retry and do not hold up other messages; permanent failures and
undeliverable messages go to {queue}.dlq with the reason; --replay-dlq brings
them back.

Messages are published straight to {domain}_logbeacon with pika, in the SPEC
section 5 format; the fake LogBeacon scripts its answers per message (matched
by log_id, which is in every POST body).
"""

import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))

import lsys_testlib as t  # noqa: E402

FAST_RETRY = {"LOGSYS_RETRY_BASE_MS": "400", "LOGSYS_RETRY_MAX_MS": "2000",
              "LOGSYS_MAX_ATTEMPTS": "5"}
ISO_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")


def with_log_id(log_id):
    return lambda r: isinstance(r.get("doc"), dict) and r["doc"].get("log_id") == log_id


class WorkerRetryTest(t.WorkerTest):

    def peek(self, queue):
        """The messages in queue as (properties, body), left in the queue."""
        ch = self.broker.channel()
        out, tags = [], []
        while True:
            method, props, body = ch.basic_get(queue, auto_ack=False)
            if method is None:
                break
            out.append((props, body))
            tags.append(method.delivery_tag)
        for tag in tags:
            ch.basic_reject(tag, requeue=True)
        return out

    def test_500_three_times_does_not_hold_up_others(self):
        sink = self.start_sink("logbeacon")
        w = self.start_worker("logbeacon", sink, env=FAST_RETRY)
        a = t.logbeacon_doc(w.domain, "fails three times first")
        b = t.logbeacon_doc(w.domain, "published after the first failure")
        sink.control([{"match": a["log_id"], "responses": [{"status": 500}] * 3 + [{"status": 200}]}])

        t.publish(self.broker, w.queue, [a])
        t.wait_for(lambda: [r for r in sink.received_json() if with_log_id(a["log_id"])(r)],
                   20, "the first attempt of A")
        t.publish(self.broker, w.queue, [b])

        got_a = self.wait_received(sink, 1, 40, "A delivered after three 500s",
                                   pred=with_log_id(a["log_id"]))
        got_b = self.wait_received(sink, 1, 10, "B delivered", pred=with_log_id(b["log_id"]))
        tries_a = [r for r in sink.received_json() if with_log_id(a["log_id"])(r)]
        self.assertEqual([r["status"] for r in tries_a], [500, 500, 500, 200], w.describe())
        self.assertEqual(len(got_a), 1)
        self.assertEqual(len(got_b), 1)
        self.assertLess(got_b[0]["t"], got_a[0]["t"],
                        "B must not wait for A's retries\n" + w.describe())
        # Backoff between attempts: each retry waited at least 3/4 of its delay.
        times = [r["t"] for r in tries_a]
        for i, base in enumerate([0.4, 0.8, 1.6]):
            self.assertGreaterEqual(times[i + 1] - times[i], base * 0.75 - 0.05,
                                    "retry %d came too early: %r" % (i + 1, times))
        t.wait_for(lambda: w.last_status().get("retried") == 3, 10, "retried 3 in the status line")
        self.assertEqual(self.broker.count(w.queue + ".dlq"), 0)
        self.assertEqual(self.broker.count(w.queue + ".retry"), 0)
        self.stop_worker(w)

    def test_400_goes_to_dlq_and_replay_brings_it_back(self):
        sink = self.start_sink("logbeacon")
        w = self.start_worker("logbeacon", sink, env=FAST_RETRY)
        a = t.logbeacon_doc(w.domain, "refused once with 400")
        sink.control([{"match": a["log_id"],
                       "responses": [{"status": 400, "description": "bad field"}]}])
        t.publish(self.broker, w.queue, [a])
        dlq = w.queue + ".dlq"
        t.wait_for(lambda: self.broker.count(dlq) == 1, 20, "A in " + dlq)

        [(props, body)] = self.peek(dlq)
        self.assertEqual(body.decode("utf-8"), __import__("json").dumps(a, ensure_ascii=False),
                         "the DLQ keeps the body as it was")
        self.assertEqual(props.message_id, a["log_id"])
        self.assertEqual(props.delivery_mode, 2)
        h = props.headers or {}
        self.assertIn("400", str(h.get("x-reason")), h)
        self.assertEqual(int(h.get("x-attempts")), 1, h)
        self.assertEqual(h.get("x-original-queue"), w.queue)
        self.assertRegex(str(h.get("x-failed-at")), ISO_UTC)
        self.assertEqual(len([r for r in sink.received_json() if with_log_id(a["log_id"])(r)]), 1,
                         "a permanent failure is not retried")

        # The script is used up: LogBeacon answers 200 from now on.
        p = t.run([t.worker_path(), "logbeacon", "--replay-dlq"], env=w.env, timeout=60)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertRegex(p.stdout, r"replayed 1 message\b")
        self.assertEqual(self.broker.count(dlq), 0)
        got = self.wait_received(sink, 1, 20, "A delivered after the replay",
                                 pred=with_log_id(a["log_id"]))
        self.assertEqual(len(got), 1)

        # An empty DLQ replays nothing and still succeeds.
        p = t.run([t.worker_path(), "logbeacon", "--replay-dlq"], env=w.env, timeout=60)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertRegex(p.stdout, r"replayed 0 messages\b")
        self.stop_worker(w)

    def test_out_of_attempts_goes_to_dlq(self):
        sink = self.start_sink("logbeacon")
        w = self.start_worker("logbeacon", sink, env=dict(FAST_RETRY, LOGSYS_MAX_ATTEMPTS="3"))
        a = t.logbeacon_doc(w.domain, "always 503")
        sink.control([{"match": a["log_id"], "responses": [{"status": 503}] * 10}])
        t.publish(self.broker, w.queue, [a])
        dlq = w.queue + ".dlq"
        t.wait_for(lambda: self.broker.count(dlq) == 1, 30, "A in " + dlq + "\n" + w.describe())
        [(props, _)] = self.peek(dlq)
        h = props.headers or {}
        self.assertEqual(int(h.get("x-attempts")), 3, h)
        self.assertIn("3 attempts", str(h.get("x-reason")), h)
        self.assertIn("503", str(h.get("x-reason")), h)
        tries = [r for r in sink.received_json() if with_log_id(a["log_id"])(r)]
        self.assertEqual([r["status"] for r in tries], [503, 503, 503])
        self.stop_worker(w)

    def test_undeliverable_messages_go_to_dlq_and_the_rest_flows(self):
        sink = self.start_sink("logbeacon")
        w = self.start_worker("logbeacon", sink, env=FAST_RETRY)
        good1 = t.logbeacon_doc(w.domain, "before the bad ones")
        lacking = {"domain": w.domain, "log_id": t.new_log_id()}  # no message, level, ...
        good2 = [t.logbeacon_doc(w.domain, "after the bad ones %d" % i) for i in range(20)]
        t.publish(self.broker, w.queue, [good1, "this is not JSON {", lacking] + good2,
                  message_ids=[good1["log_id"], "not-json-id", lacking["log_id"]]
                  + [g["log_id"] for g in good2])
        self.wait_received(sink, 21, 30, "the 21 valid messages",
                           pred=lambda r: isinstance(r.get("doc"), dict) and "message" in r["doc"])
        dlq = w.queue + ".dlq"
        t.wait_for(lambda: self.broker.count(dlq) == 2, 20, "2 messages in " + dlq)
        dead = self.peek(dlq)
        ids = sorted(p.message_id for p, _ in dead)
        self.assertEqual(ids, sorted(["not-json-id", lacking["log_id"]]))
        for props, body in dead:
            reason = str((props.headers or {}).get("x-reason", ""))
            self.assertTrue(reason and reason != "unknown", "x-reason of %r: %r" % (body, reason))
        self.assertTrue(w.alive(), w.describe())
        self.assertIn("to " + dlq, w.stderr(), "the worker says why a message went to the DLQ")
        self.stop_worker(w)


if __name__ == "__main__":
    t.main()

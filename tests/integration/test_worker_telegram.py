"""logsys-worker telegram against the fake Bot API (SPEC section 6): a 429 is
waited out for parameters.retry_after and is not a failed attempt; developer
and customer notifications go to their own bot and chat; a message's own
credentials are ignored unless allowed.

Messages are published straight to {domain}_tg with pika (SPEC section 5).
"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))

import lsys_testlib as t  # noqa: E402


def text_has(s):
    return lambda r: isinstance(r.get("doc"), dict) and s in str(r["doc"].get("text", ""))


class WorkerTelegramTest(t.WorkerTest):

    def test_429_retry_after_is_honoured(self):
        sink = self.start_sink("telegram")
        w = self.start_worker("telegram", sink, env={"LOGSYS_MAX_ATTEMPTS": "1"})
        marker = "rate limited " + w.domain
        sink.control([{"match": marker, "responses": [{"status": 429, "retry_after": 2}]}])
        t.publish(self.broker, w.queue, [t.tg_doc("developer", marker)])
        [ok] = self.wait_received(sink, 1, 30, "the message after the 429", pred=text_has(marker))
        tries = [r for r in sink.received_json() if text_has(marker)(r)]
        self.assertEqual([r["status"] for r in tries], [429, 200], tries)
        self.assertGreaterEqual(ok["t"] - tries[0]["t"], 1.99,
                                "sent again %.3f s after the 429 (retry_after 2)"
                                % (ok["t"] - tries[0]["t"]))
        # With LOGSYS_MAX_ATTEMPTS=1 a counted failure would have gone to the DLQ.
        self.assertEqual(self.broker.count(w.queue + ".dlq"), 0)
        t.wait_for(lambda: w.last_status().get("delivered") == 1, 10, "delivered 1")
        self.stop_worker(w)

    def test_types_go_to_their_bots_and_chats(self):
        sink = self.start_sink("telegram")
        w = self.start_worker("telegram", sink)
        dev = t.tg_doc("developer", "for developers " + w.domain)
        cus = t.tg_doc("customer", "for customers " + w.domain)
        # The old system's credentials in a message are ignored by default.
        old = dict(t.tg_doc("developer", "old producer " + w.domain), tg_token="999:evil",
                   tg_chatid="-1009")
        t.publish(self.broker, w.queue, [dev, cus, old])
        got = self.wait_received(sink, 3, 30, "3 messages")
        by_text = {r["doc"]["text"]: r for r in got}
        for doc, token, chat in ((dev, t.TG_DEV_TOKEN, t.TG_DEV_CHAT),
                                 (cus, t.TG_CUSTOMER_TOKEN, t.TG_CUSTOMER_CHAT),
                                 (old, t.TG_DEV_TOKEN, t.TG_DEV_CHAT)):
            r = [r for txt, r in by_text.items() if doc["notify_msg"] in txt]
            self.assertEqual(len(r), 1, doc)
            self.assertEqual(r[0]["token"], token)
            self.assertEqual(str(r[0]["doc"]["chat_id"]), chat)
        self.stop_worker(w)
        for secret in (t.TG_DEV_TOKEN, t.TG_CUSTOMER_TOKEN, "999:evil"):
            self.assertNotIn(secret, w.stderr(), "a token was printed")

    def test_same_record_for_two_chats_is_not_a_duplicate(self):
        sink = self.start_sink("telegram")
        w = self.start_worker("telegram", sink)
        log_id = t.new_log_id()
        t.publish(self.broker, w.queue, [t.tg_doc("developer", "both A " + w.domain, log_id),
                                         t.tg_doc("customer", "both A " + w.domain, log_id),
                                         t.tg_doc("developer", "both A " + w.domain, log_id)])
        got = self.wait_received(sink, 2, 30, "one message per chat")
        t.wait_for(lambda: w.last_status().get("duplicates") == 1, 10,
                   "the third copy counted as a duplicate\n" + w.describe())
        got = [r for r in sink.received_json() if r.get("status") == 200]
        self.assertEqual(sorted(str(r["doc"]["chat_id"]) for r in got),
                         sorted([t.TG_DEV_CHAT, t.TG_CUSTOMER_CHAT]))
        self.stop_worker(w)


if __name__ == "__main__":
    t.main()

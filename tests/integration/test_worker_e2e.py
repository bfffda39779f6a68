"""End to end through logsysd and both workers (SPEC sections 2, 5 and 6):
logsys-send -> logsysd -> RabbitMQ -> logsys-worker logbeacon / telegram ->
fake LogBeacon / fake Telegram Bot API.

Checks that every level reaches the right sink and chat, that Telegram text is
HTML-escaped and split when long (and arrives complete), and that a burst of
the same error becomes a handful of Telegram messages with a repeat count.
"""

import json
import os
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))

import lsys_testlib as t  # noqa: E402

LEVEL_NAMES = {0: "Debug", 1: "Info", 9: "Error", 11: "Info_CTG", 91: "Error_CTG", 99: "Monitor"}
TO_LOGBEACON = [1, 9, 11, 91]
TG_CHATS = {9: ["developer"], 11: ["customer"], 91: ["developer", "customer"]}
CHAT = {"developer": (t.TG_DEV_TOKEN, t.TG_DEV_CHAT),
        "customer": (t.TG_CUSTOMER_TOKEN, t.TG_CUSTOMER_CHAT)}


def tg_text(r):
    doc = r.get("doc") or {}
    return doc.get("text", "") if isinstance(doc, dict) else ""


def chat_of(r):
    doc = r.get("doc") or {}
    return str(doc.get("chat_id")) if isinstance(doc, dict) else None


class WorkerEndToEndTest(t.WorkerTest):

    def pipeline(self, tag, worker_env=None):
        """A sidecar, both fake sinks and both workers on one domain."""
        sc = self.start_sidecar(tag)
        lb = self.start_sink("logbeacon")
        tg = self.start_sink("telegram")
        env = dict(worker_env or {})
        wl = self.start_worker("logbeacon", lb, domain=sc.domain, env=env)
        wt = self.start_worker("telegram", tg, domain=sc.domain, env=env)
        return sc, lb, tg, wl, wt

    def test_each_level_reaches_its_sinks(self):
        sc, lb, tg, wl, wt = self.pipeline("e2e-levels")
        sent = {}
        for level in sorted(LEVEL_NAMES):
            msg = "e2e level %d %s" % (level, sc.domain)
            self.assertSendOk(t.send(sc.ipc_url, level, msg, def_name="def_%d" % level,
                                     program="e2e-app"), sc)
            sent[level] = msg

        got_lb = self.wait_received(lb, len(TO_LOGBEACON), 30, "logbeacon posts")
        got_tg = self.wait_received(tg, 4, 30, "telegram messages")
        # Nothing more arrives (a marker sent last proves the queues are drained).
        self.assertSendOk(t.send(sc.ipc_url, 91, "marker " + sc.domain, program="e2e-app"), sc)
        self.wait_received(lb, 1, 30, "marker at logbeacon",
                           pred=lambda r: "marker " + sc.domain in json.dumps(r.get("doc")))
        self.wait_received(tg, 2, 30, "marker at telegram",
                           pred=lambda r: "marker " + sc.domain in tg_text(r))
        got_lb = [r for r in lb.received_json() if "marker" not in json.dumps(r.get("doc"))]
        got_tg = [r for r in tg.received_json() if "marker" not in tg_text(r)]

        levels = sorted(r["doc"]["level_no"] for r in got_lb)
        self.assertEqual(levels, TO_LOGBEACON, "levels at LogBeacon")
        for r in got_lb:
            doc = r["doc"]
            self.assertEqual(doc["level"], LEVEL_NAMES[doc["level_no"]])
            self.assertEqual(doc["message"], sent[doc["level_no"]])
            self.assertEqual(doc["domain"], sc.domain)
            self.assertEqual(doc["program_name"], "e2e-app")
            self.assertEqual(r["status"], 200)

        self.assertEqual(len(got_tg), 4, [tg_text(r)[:80] for r in got_tg])
        for level, chats in TG_CHATS.items():
            mine = [r for r in got_tg if sent[level] in tg_text(r)]
            self.assertEqual(sorted(chat_of(r) for r in mine),
                             sorted(CHAT[c][1] for c in chats), "chats of level %d" % level)
            for r in mine:
                token = {CHAT[c][1]: CHAT[c][0] for c in chats}[chat_of(r)]
                self.assertEqual(r["token"], token, "bot of level %d" % level)
                self.assertEqual(r["doc"].get("parse_mode"), "HTML")
        for level in (0, 1, 99):
            self.assertFalse([r for r in got_tg if sent[level] in tg_text(r)],
                             "level %d must not reach Telegram" % level)

        for w in (wl, wt):
            self.stop_worker(w)
            for secret in (t.TG_DEV_TOKEN, t.TG_CUSTOMER_TOKEN, ":guest@"):
                self.assertNotIn(secret, w.stderr() + w.stdout(), "a secret was printed")
        self.stop_sidecar(sc)

    def test_html_is_escaped(self):
        sc, lb, tg, wl, wt = self.pipeline("e2e-html")
        msg = "<b>not bold</b> & <script>x</script> \"q\" 'a' > done"
        self.assertSendOk(t.send(sc.ipc_url, 9, msg, def_name="html_def"), sc)
        [r] = self.wait_received(tg, 1, 30, "the telegram message")
        text = tg_text(r)
        self.assertIn("&lt;b&gt;not bold&lt;/b&gt; &amp; &lt;script&gt;x&lt;/script&gt;", text)
        self.assertNotIn("<b>not bold", text)
        self.assertNotIn("<script>", text)
        self.assertEqual(r["doc"].get("parse_mode"), "HTML")
        [lbr] = self.wait_received(lb, 1, 30, "the logbeacon post")
        self.assertEqual(lbr["doc"]["message"], msg, "LogBeacon gets the text unescaped")
        self.stop_worker(wt)
        self.stop_worker(wl)
        self.stop_sidecar(sc)

    def test_long_message_is_split_and_complete(self):
        sc, lb, tg, wl, wt = self.pipeline("e2e-long")
        # 10,000 characters without blanks or newlines, with position markers,
        # so any loss, duplication or reordering shows.
        chunks = []
        i = 0
        while sum(len(c) for c in chunks) < 10000:
            chunks.append("[%05d]" % i)
            i += 1
        msg = "".join(chunks)[:10000]
        self.assertEqual(len(msg), 10000)
        self.assertSendOk(t.send(sc.ipc_url, 9, msg, def_name="long_def"), sc)
        got = self.wait_received(tg, 3, 60, "at least 3 parts")
        # Wait until no more parts come: the template text ends the message.
        parts = t.wait_for(lambda: (lambda rs: rs if msg in "".join(tg_text(r) for r in rs) else None)(
            [r for r in tg.received_json() if r.get("status") == 200]), 30, "the whole text")
        for r in parts:
            self.assertLessEqual(len(tg_text(r)), 4096, "a part over 4096 characters")
            self.assertEqual(chat_of(r), t.TG_DEV_CHAT)
        joined = "".join(tg_text(r) for r in parts)
        self.assertEqual(joined.count("[00000]"), 1, "text repeated")
        self.assertGreaterEqual(len(got), 3)
        [lbr] = self.wait_received(lb, 1, 30, "the logbeacon post")
        self.assertEqual(lbr["doc"]["message"], msg)
        self.stop_worker(wt)
        self.stop_worker(wl)
        self.stop_sidecar(sc)

    def test_burst_of_the_same_error_is_collapsed(self):
        sc, lb, tg, wl, wt = self.pipeline("e2e-burst", worker_env={"LOGSYS_TG_COLLAPSE_WINDOW_S": "5"})
        with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as f:
            for _ in range(500):
                f.write(json.dumps({"level": 9, "def_name": "burst_def",
                                    "message": "the same error again", "extra_info": "x"}) + "\n")
        self.addCleanup(os.unlink, f.name)
        p = t.run([t.send_path(), "--ipc", sc.ipc_url, "--program", "burst-app", "--timeout",
                   "30000", "--jsonl", f.name], timeout=90)
        self.assertEqual(p.returncode, 0, p.stderr + sc.describe())
        # Every one of the 500 reaches LogBeacon; Telegram gets a handful.
        self.wait_received(lb, 500, 60, "500 logbeacon posts")
        t.wait_for(lambda: wt.last_status().get("delivered") == 500, 60,
                   "the telegram worker to settle all 500\n" + wt.describe())
        got = [r for r in tg.received_json() if r.get("status") == 200]
        self.assertGreaterEqual(len(got), 1)
        self.assertLessEqual(len(got), 10, "Telegram was flooded: %d messages" % len(got))
        counted = [tg_text(r) for r in got if "\u91cd\u8907" in tg_text(r)]  # 重複 (repeated)
        self.assertTrue(counted, "no message says how often it repeated:\n%s"
                        % "\n---\n".join(tg_text(r)[-200:] for r in got))
        self.assertEqual(self.broker.count(wt.queue), 0)
        self.assertEqual(self.broker.count(wt.queue + ".dlq"), 0)
        self.stop_worker(wt)
        self.stop_worker(wl)
        self.stop_sidecar(sc)


if __name__ == "__main__":
    t.main()

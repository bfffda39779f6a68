"""Level routing, queue message formats and AMQP properties (SPEC sections 2, 4, 5).

One record per level goes through logsys-send -> logsysd -> RabbitMQ; the test
reads {domain}_logbeacon and {domain}_tg back and checks what arrived where.
logsys-send exits 0 only after the sidecar acknowledged, and the sidecar
acknowledges only after RabbitMQ confirmed every copy, so once it returned the
queues hold everything: no waiting is needed before reading them.
"""

import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))

import lsys_testlib as t  # noqa: E402

LEVEL_NAMES = {0: "Debug", 1: "Info", 9: "Error", 11: "Info_CTG", 91: "Error_CTG", 99: "Monitor"}
TO_LOGBEACON = {1, 9, 11, 91}
TG_TYPES = {9: ["developer"], 11: ["customer"], 91: ["developer", "customer"]}
TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")
LOGBEACON_KEYS = ["domain", "program_name", "level", "def_name", "message", "extra_info",
                  "timestamp", "hash", "log_id"]


class RoutingTest(t.IntegrationTest):

    def send_all_levels(self, sc, program="routing-app"):
        """Sends one record per level; returns {level: (message, def_name, extra, hash)}."""
        sent = {}
        for level in sorted(LEVEL_NAMES):
            msg = "routing message for level %d (%s) – ünïcode ✓" % (level, sc.domain)
            def_name = "def_level_%d" % level
            extra = "extra info %d" % level
            h = "hash-%d-%s" % (level, sc.domain)
            p = t.send(sc.ipc_url, level, msg, def_name=def_name, extra=extra, hash=h,
                       program=program)
            self.assertSendOk(p, sc)
            sent[level] = (msg, def_name, extra, h)
        return sent

    def check_properties(self, m, what):
        self.assertIsNotNone(m.json, "%s: body is not JSON: %r" % (what, m.body[:200]))
        self.assertEqual(m.delivery_mode, 2, what + ": delivery_mode (persistent)")
        self.assertEqual(m.content_type, "application/json", what + ": content_type")
        self.assertEqual(m.message_id, m.json.get("log_id"), what + ": message_id == log_id")

    def test_default_routing_and_formats(self):
        sc = self.start_sidecar("routing")
        # The sidecar declares both queues, durable, at start.
        for q in (sc.logbeacon_queue, sc.tg_queue):
            durable, _ = self.broker.queue_info(q)
            self.assertTrue(durable, q + " must be durable")

        sent = self.send_all_levels(sc)

        lb = self.broker.get_all(sc.logbeacon_queue)
        tg = self.broker.get_all(sc.tg_queue)

        # {domain}_logbeacon: exactly levels 1, 9, 11, 91, once each.
        for m in lb:
            self.check_properties(m, "logbeacon message")
        got_levels = sorted(m.json["level_no"] for m in lb)
        self.assertEqual(got_levels, sorted(TO_LOGBEACON), "levels in %s" % sc.logbeacon_queue)
        log_ids = {}
        for m in lb:
            doc = m.json
            level = doc["level_no"]
            msg, def_name, extra, h = sent[level]
            for k in LOGBEACON_KEYS:
                self.assertIn(k, doc, "logbeacon key %s missing in %r" % (k, doc))
            self.assertEqual(doc["domain"], sc.domain)
            self.assertEqual(doc["program_name"], "routing-app")
            self.assertEqual(doc["level"], LEVEL_NAMES[level])
            self.assertEqual(doc["def_name"], def_name)
            self.assertEqual(doc["message"], msg)
            self.assertEqual(doc["extra_info"], extra)
            self.assertRegex(doc["timestamp"], TIMESTAMP)
            self.assertEqual(doc["hash"], h)
            self.assertEqual(len(doc["log_id"]), 32, "log_id %r" % doc["log_id"])
            log_ids[level] = doc["log_id"]
        self.assertEqual(len(set(log_ids.values())), len(log_ids), "log_ids must differ")

        # {domain}_tg: 9 -> developer, 11 -> customer, 91 -> both.
        for m in tg:
            self.check_properties(m, "tg message")
        by_hash = {}
        for m in tg:
            by_hash.setdefault(m.json["hash"], []).append(m.json)
        expected_hashes = {sent[level][3]: level for level in TG_TYPES}
        self.assertEqual(set(by_hash), set(expected_hashes),
                         "hashes in %s (levels 0/1/99 must not be there)" % sc.tg_queue)
        self.assertEqual(len(tg), 4)
        for h, docs in by_hash.items():
            level = expected_hashes[h]
            msg, def_name, _, _ = sent[level]
            self.assertEqual(sorted(d["type"] for d in docs), sorted(TG_TYPES[level]),
                             "tg types for level %d" % level)
            for d in docs:
                for k in ("type", "notify_msg", "timestamp", "hash", "log_id"):
                    self.assertIn(k, d)
                self.assertIn(msg, d["notify_msg"])
                self.assertIn(def_name, d["notify_msg"])
                self.assertRegex(d["timestamp"], TIMESTAMP)
                self.assertEqual(d["log_id"], log_ids[level], "tg copy shares the record's log_id")
                self.assertNotIn("tg_token", d, "no credentials in the queue by default")
                self.assertNotIn("tg_chatid", d, "no credentials in the queue by default")

        # Nothing else arrived.
        self.assertEqual(self.broker.count(sc.logbeacon_queue), 0)
        self.assertEqual(self.broker.count(sc.tg_queue), 0)

        # Console (plain): one line per record, with its level name. The
        # console is buffered: SIGTERM flushes it.
        self.stop_sidecar(sc)
        lines = [ln for ln in sc.stdout().splitlines() if ln.strip()]
        for level, (msg, def_name, _, _) in sent.items():
            matching = [ln for ln in lines if msg in ln]
            self.assertEqual(len(matching), 1, "console lines for level %d:\n%s"
                             % (level, sc.stdout()[-3000:]))
            self.assertRegex(matching[0], r"\b%s\b" % LEVEL_NAMES[level])
            self.assertIn(def_name, matching[0])
            self.assertNotIn("\x1b[", matching[0], "plain console has no colour codes")
        self.assertEqual(len(lines), len(sent), "one console line per record:\n" + sc.stdout())

    def test_embedded_credentials(self):
        secret = "123:secret"
        sc = self.start_sidecar("routing-cred", env={
            "LOGSYS_TG_EMBED_CREDENTIALS": "1",
            "LOGSYS_TG_DEV_TOKEN": secret,
            "LOGSYS_TG_DEV_CHAT_ID": "-100123",
        })
        p = t.send(sc.ipc_url, 9, "error with credentials", def_name="cred_def", hash="cred-hash")
        self.assertSendOk(p, sc)
        tg = self.broker.get_all(sc.tg_queue)
        self.assertEqual(len(tg), 1, [m.body for m in tg])
        doc = tg[0].json
        self.assertEqual(doc["type"], "developer")
        self.assertEqual(doc.get("tg_token"), secret)
        self.assertEqual(str(doc.get("tg_chatid")), "-100123")
        self.stop_sidecar(sc)
        self.assertNotIn(secret, sc.stdout(), "the token must never be printed")
        self.assertNotIn(secret, sc.stderr(), "the token must never be printed")

    def test_route_override(self):
        sc = self.start_sidecar("routing-override", env={"LOGSYS_ROUTE_1": "console,tg_developer"})
        p = t.send(sc.ipc_url, 1, "info routed to the developer", def_name="ovr", hash="ovr-hash")
        self.assertSendOk(p, sc)
        marker = t.send(sc.ipc_url, 9, "error still on its default row", hash="ovr-marker")
        self.assertSendOk(marker, sc)
        lb = self.broker.get_all(sc.logbeacon_queue)
        tg = self.broker.get_all(sc.tg_queue)
        self.assertEqual([m.json["hash"] for m in lb], ["ovr-marker"],
                         "level 1 must no longer go to logbeacon")
        info = [m.json for m in tg if m.json["hash"] == "ovr-hash"]
        self.assertEqual(len(info), 1, [m.body for m in tg])
        self.assertEqual(info[0]["type"], "developer")
        self.assertIn("info routed to the developer", info[0]["notify_msg"])
        self.assertEqual(sorted(m.json["hash"] for m in tg), ["ovr-hash", "ovr-marker"])
        self.stop_sidecar(sc)


if __name__ == "__main__":
    t.main()

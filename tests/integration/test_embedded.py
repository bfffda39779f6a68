"""logsysd without RabbitMQ (SPEC section 4): embedded mode delivers itself to
LogBeacon and Telegram through the shared delivery code, and
LOGSYS_FALLBACK=direct does the same while RabbitMQ is down.

Checks: each level reaches the right sink and chat; a sink answering 500 twice
is retried and the record delivered once; a 400 lands in the dead-letter file
with its reason; records accepted while the sink is down survive a restart of
the sidecar (they are in the spool) and are delivered once it is back; the
fallback delivers straight to the sinks while the broker URL points nowhere.
"""

import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))

import lsys_testlib as t  # noqa: E402

TO_LOGBEACON = [1, 9, 11, 91]
TG_CHATS = {9: [t.TG_DEV_CHAT], 11: [t.TG_CUSTOMER_CHAT], 91: [t.TG_DEV_CHAT, t.TG_CUSTOMER_CHAT]}


class EmbeddedTest(t.IntegrationTest):
    def sinks(self):
        lb = t.FakeSink("logbeacon", tag=self.id().split(".")[-1]).start()
        tg = t.FakeSink("telegram", tag=self.id().split(".")[-1]).start()
        self.addCleanup(lb.stop)
        self.addCleanup(tg.stop)
        return lb, tg

    def embedded(self, lb, tg, extra=None, tag="emb", amqp=False, domain=None):
        spool = os.path.join(t.outdir(tag + "-spool-" + (domain or "x")), "spool")
        env = dict(t.worker_sink_env("logbeacon", lb))
        env.update(t.worker_sink_env("telegram", tg))
        env.update({"LOGSYS_SPOOL_DIR": spool, "LOGSYS_RETRY_BASE_MS": "100",
                    "LOGSYS_RETRY_MAX_MS": "400", "LOGSYS_TG_COLLAPSE_WINDOW_S": "0"})
        env.update(extra or {})
        sc = t.Sidecar(tag, env=env, amqp=amqp, domain=domain)
        self.addCleanup(sc.kill)
        return sc, spool

    def lb_messages(self, lb):
        return [r["doc"] for r in lb.received_json() if r["status"] == 200 and r.get("doc")]

    def test_levels_reach_their_sinks(self):
        lb, tg = self.sinks()
        sc, _ = self.embedded(lb, tg)
        sc.start()
        for level in (0, 1, 9, 11, 91, 99):
            p = t.send(sc.ipc_url, level, "embedded <%d> & co" % level, def_name="emb_def")
            self.assertSendOk(p, sc)
        t.wait_for(lambda: len(self.lb_messages(lb)) >= 4 and len(tg.received()) >= 4, 20,
                   "4 LogBeacon posts and 4 Telegram messages")
        got = sorted(d["level_no"] for d in self.lb_messages(lb))
        self.assertEqual(got, TO_LOGBEACON)
        for d in self.lb_messages(lb):
            self.assertEqual(d["domain"], sc.domain)
            self.assertEqual(d["def_name"], "emb_def")
        chats = sorted(str(r["doc"]["chat_id"]) for r in tg.received_json())
        self.assertEqual(chats, sorted(sum(TG_CHATS.values(), [])))
        for r in tg.received_json():
            self.assertIn("&lt;", r["doc"]["text"])  # HTML-escaped by the shared delivery code
            self.assertEqual(r["doc"]["parse_mode"], "HTML")
        self.assertEqual(sc.stop(), 0)
        self.assertNotIn("dev-token-SECRET", sc.stderr() + sc.stdout())

    def test_retry_then_delivered_once_and_dead_letter(self):
        lb, tg = self.sinks()
        lb.control([{"match": "flaky-one", "responses": [{"status": 500}, {"status": 500}]},
                    {"match": "hopeless-one", "responses": [{"status": 400}]}])
        sc, spool = self.embedded(lb, tg)
        sc.start()
        self.assertSendOk(t.send(sc.ipc_url, 1, "flaky-one"), sc)
        self.assertSendOk(t.send(sc.ipc_url, 1, "hopeless-one"), sc)
        self.assertSendOk(t.send(sc.ipc_url, 1, "plain-one"), sc)

        def delivered():
            msgs = [d["message"] for d in self.lb_messages(lb)]
            return "flaky-one" in msgs and "plain-one" in msgs and msgs
        msgs = t.wait_for(delivered, 20, "flaky-one delivered after two 500s")
        self.assertEqual(msgs.count("flaky-one"), 1)
        attempts = [r for r in lb.received_json() if r.get("doc") and r["doc"].get("message") == "flaky-one"]
        self.assertEqual([r["status"] for r in attempts], [500, 500, 200])
        dlq = os.path.join(spool, "dead-letters.jsonl")
        lines = t.wait_for(lambda: [json.loads(x) for x in t.read_text(dlq).splitlines() if x.strip()],
                           20, "a dead letter")
        self.assertEqual(len(lines), 1)
        self.assertEqual(lines[0]["queue"], sc.logbeacon_queue)
        self.assertIn("400", lines[0]["reason"])
        self.assertEqual(json.loads(lines[0]["message"])["message"], "hopeless-one")
        self.assertEqual(sc.stop(), 0)

    def test_records_survive_a_restart_while_the_sink_is_down(self):
        lb, tg = self.sinks()
        lb.default({"status": 503})
        sc, spool = self.embedded(lb, tg, extra={"LOGSYS_MAX_ATTEMPTS": "100"})
        sc.start()
        p = t.run(t.load_argv(sc.ipc_url, 300, level=1, hash_prefix="emb"))
        self.assertEqual(p.returncode, 0, p.stderr)  # acknowledged: in the spool
        t.wait_for(lambda: len(lb.received()) > 0, 20, "the sink to be tried")
        self.assertEqual(sc.stop(), 0)
        # A new sidecar on the same spool, the sink now up: everything arrives once.
        lb.default({"status": 200})
        sc2 = t.Sidecar("emb2", env=sc.env, amqp=False, domain=sc.domain)
        self.addCleanup(sc2.kill)
        sc2.env = sc.env
        sc2.start()
        ok = t.wait_for(lambda: [d for d in self.lb_messages(lb)] if len(self.lb_messages(lb)) >= 300 else None,
                        60, "300 records delivered after the restart")
        ids = [d["log_id"] for d in ok]
        self.assertEqual(len(set(ids)), 300)
        self.assertEqual(sorted({d["hash"] for d in ok}), sorted("emb-%d" % i for i in range(300)))
        self.assertEqual(sc2.stop(), 0)

    def test_fallback_direct_while_rabbitmq_is_down(self):
        lb, tg = self.sinks()
        # A broker URL where nothing listens: the sidecar spools and, with the
        # fallback, delivers straight to the sinks.
        sc, _ = self.embedded(lb, tg, tag="fallback",
                              extra={"LOGSYS_AMQP_URL": "amqp://guest:guest@127.0.0.1:9/%2f",
                                     "LOGSYS_FALLBACK": "direct"})
        sc.READY = "logsysd 0.1.0: listening"
        sc.start()
        for i in range(20):
            self.assertSendOk(t.send(sc.ipc_url, 9, "fallback %d" % i), sc)
        t.wait_for(lambda: len(self.lb_messages(lb)) >= 20 and len(tg.received()) >= 20, 30,
                   "20 records to LogBeacon and 20 to Telegram")
        self.assertEqual(sorted(d["message"] for d in self.lb_messages(lb)),
                         sorted("fallback %d" % i for i in range(20)))
        self.assertIn("cannot reach RabbitMQ", sc.stderr())
        self.assertEqual(sc.stop(), 0)


if __name__ == "__main__":
    t.main()

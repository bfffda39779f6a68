"""logsys-worker's command line and start-up (SPEC sections 6 and 7): help,
version, usage and configuration errors (exit 2, clear message, no secret),
--check-config, and queues: compatible with the old system's plain {queue},
a clear stop when {queue}.retry was declared incompatibly."""

import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))

import lsys_testlib as t  # noqa: E402

PASSWORD_URL = "amqp://guest:S3cretPw@127.0.0.1:1/%2f"


class WorkerCliTest(t.WorkerTest):

    def worker(self, args, env=None, timeout=30):
        return t.run([t.worker_path()] + list(args), env=env, timeout=timeout)

    def test_help_and_version(self):
        p = self.worker(["--help"])
        self.assertEqual(p.returncode, 0, p.stderr)
        for word in ("logbeacon", "telegram", "--replay-dlq", "--check-config", "--config",
                     "LOGSYS_PREFETCH", "LOGSYS_DEDUP_DIR"):
            self.assertIn(word, p.stdout)
        p = self.worker(["--version"])
        self.assertEqual(p.returncode, 0)
        self.assertRegex(p.stdout, r"logsys-worker \d+\.\d+\.\d+")

    def test_usage_errors(self):
        for args, word in (([], "logbeacon or telegram"), (["mail"], "mail"),
                           (["logbeacon", "extra"], "extra"), (["logbeacon", "--bogus"], "")):
            p = self.worker(args, env={"LOGSYS_DOMAIN": "x"})
            self.assertEqual(p.returncode, 2, "%s: %s" % (args, p.stderr))
            self.assertIn(word, p.stderr)

    def test_config_errors_exit_2(self):
        cases = [
            ({"LOGSYS_AMQP_URL": PASSWORD_URL, "LOGSYS_LOGBEACON_URL": "http://127.0.0.1:1/"},
             "logbeacon", "LOGSYS_DOMAIN"),
            ({"LOGSYS_DOMAIN": "cli.example", "LOGSYS_LOGBEACON_URL": "http://127.0.0.1:1/"},
             "logbeacon", "LOGSYS_AMQP_URL"),
            ({"LOGSYS_DOMAIN": "cli.example", "LOGSYS_AMQP_URL": PASSWORD_URL},
             "logbeacon", "LOGSYS_LOGBEACON_URL"),
            ({"LOGSYS_DOMAIN": "cli.example", "LOGSYS_AMQP_URL": PASSWORD_URL,
              "LOGSYS_PREFETCH": "lots"}, "logbeacon", "LOGSYS_PREFETCH"),
            ({"LOGSYS_DOMAIN": "cli.example", "LOGSYS_AMQP_URL": PASSWORD_URL,
              "LOGSYS_NO_SUCH_KEY": "1"}, "telegram", "LOGSYS_NO_SUCH_KEY"),
        ]
        for env, kind, word in cases:
            p = self.worker([kind], env=env)
            self.assertEqual(p.returncode, 2, "%s %s: rc %s %s" % (kind, env, p.returncode, p.stderr))
            self.assertIn(word, p.stderr)
            self.assertNotIn("S3cretPw", p.stderr + p.stdout)

    def test_check_config_masks_secrets(self):
        env = {"LOGSYS_DOMAIN": "cli.example", "LOGSYS_AMQP_URL": PASSWORD_URL,
               "LOGSYS_TG_DEV_TOKEN": t.TG_DEV_TOKEN, "LOGSYS_PREFETCH": "77"}
        p = self.worker(["telegram", "--check-config"], env=env)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("LOGSYS_PREFETCH=77", p.stdout)
        self.assertIn("LOGSYS_AMQP_URL=amqp://guest:****@127.0.0.1:1/%2f", p.stdout)
        self.assertNotIn("S3cretPw", p.stdout + p.stderr)
        self.assertNotIn(t.TG_DEV_TOKEN, p.stdout + p.stderr)

    def test_unreachable_broker_is_retried_without_leaking_the_password(self):
        sink = self.start_sink("logbeacon")
        w = self.new_worker("logbeacon", sink, env={"LOGSYS_AMQP_URL": PASSWORD_URL})
        w.spawn()
        t.wait_for(lambda: w.stderr().count("cannot reach RabbitMQ") >= 2, 20,
                   "two connection attempts")
        self.assertTrue(w.alive())
        self.assertIn("amqp://guest:****@127.0.0.1:1/%2f", w.stderr())
        self.assertNotIn("S3cretPw", w.stderr())
        self.stop_worker(w)

    def test_old_plain_queue_is_used_as_is(self):
        sink = self.start_sink("logbeacon")
        w = self.new_worker("logbeacon", sink)
        # The old Python system declared {queue} durable without arguments, and
        # left a message in it (no log_id, no message_id).
        old = {k: v for k, v in t.logbeacon_doc(w.domain, "from the old system").items()
               if k not in ("log_id", "level_no", "time_unix_ms")}
        t.publish(self.broker, w.queue, [old], message_ids=[""])
        w.start()
        self.wait_received(sink, 1, 20, "the old message")
        durable, _ = self.broker.queue_info(w.queue)  # re-declared plain: still compatible
        self.assertTrue(durable)
        for q in (w.queue + ".retry", w.queue + ".dlq"):
            self.assertTrue(self.broker.queue_exists(q), q)
        self.stop_worker(w)

    def test_incompatible_retry_queue_stops_with_a_clear_message(self):
        sink = self.start_sink("logbeacon")
        w = self.new_worker("logbeacon", sink)
        self.broker.channel().queue_declare(w.queue + ".retry", durable=True)  # no dead-lettering
        p = t.run([t.worker_path(), "logbeacon"], env=w.env, timeout=30)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn(w.queue + ".retry", p.stderr)
        self.assertRegex(p.stderr, re.compile("PRECONDITION|other settings", re.I))

    def test_admin_endpoint(self):
        import socket
        import urllib.error
        import urllib.request

        def get(port, path):
            try:
                with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=5) as r:
                    return r.status, r.read().decode("utf-8")
            except urllib.error.HTTPError as e:
                return e.code, e.read().decode("utf-8")

        def free_port():
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
            s.close()
            return port

        sink = self.start_sink("logbeacon")
        # Not connected (no broker there): alive but not ready.
        port = free_port()
        down = self.new_worker("logbeacon", sink, env={"LOGSYS_AMQP_URL": PASSWORD_URL,
                                                       "LOGSYS_ADMIN_ADDR": "127.0.0.1:%d" % port})
        down.spawn()
        t.wait_for(lambda: "admin endpoint on" in down.stderr(), 20, "the admin endpoint")
        self.assertEqual(get(port, "/healthz")[0], 200)
        status, body = get(port, "/readyz")
        self.assertEqual(status, 503, body)
        self.stop_worker(down)

        port = free_port()
        w = self.start_worker("logbeacon", sink, env={"LOGSYS_ADMIN_ADDR": "127.0.0.1:%d" % port})
        self.assertEqual(get(port, "/readyz")[0], 200)
        t.publish(self.broker, w.queue, [t.logbeacon_doc(w.domain, "m%d" % i) for i in range(3)])
        self.wait_received(sink, 3, 20, "3 deliveries")

        def metric(text, line_start):
            for ln in text.splitlines():
                if ln.startswith(line_start):
                    return float(ln.rsplit(" ", 1)[1])
            return None
        want = 'logsys_worker_messages_total{queue="%s",result="delivered"}' % w.queue
        body = t.wait_for(lambda: (lambda b: b if metric(b, want) == 3 else None)(
            get(port, "/metrics")[1]), 10, "delivered 3 in /metrics")
        self.assertEqual(metric(body, 'logsys_deliveries_total{sink="logbeacon",outcome="ok"}'), 3)
        self.assertEqual(metric(body, 'logsys_delivery_seconds_count{sink="logbeacon"}'), 3)
        self.assertEqual(metric(body, "logsys_amqp_connected"), 1)
        self.assertIn('logsys_build_info{', body)
        self.assertNotIn("guest", body)
        self.stop_worker(w)


if __name__ == "__main__":
    t.main()

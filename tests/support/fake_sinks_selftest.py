#!/usr/bin/python3
"""fake_sinks_selftest.py - checks tests/support/fake_sinks.py from the outside.

    /usr/bin/python3 tests/support/fake_sinks_selftest.py [-v]

Starts one fake of each kind on a free port and exercises the sink endpoints,
scripted responses, 429 bodies and headers, stalls, Telegram's sendMessage
checks, keep-alive, /_received, /_reset and the errors for bad control input.
Standard library only; exits 0 when everything holds.
"""

import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
FAKE = os.path.join(HERE, "fake_sinks.py")


def start(kind, tmp):
    """Starts a fake and returns (process, port) once its port file exists."""
    port_file = os.path.join(tmp, f"{kind}.port")
    proc = subprocess.Popen([sys.executable, FAKE, "--kind", kind, "--port", "0", "--port-file", port_file],
                            stderr=subprocess.PIPE)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if os.path.exists(port_file):
            with open(port_file) as f:
                return proc, int(f.read())
        if proc.poll() is not None:
            raise RuntimeError(f"fake_sinks exited: {proc.stderr.read().decode()}")
        time.sleep(0.02)
    proc.kill()
    raise RuntimeError("fake_sinks did not write its port file within 10 s")


class Client:
    """One kept-alive HTTP/1.1 connection to a fake."""

    def __init__(self, port, timeout=5):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)

    def call(self, method, path, body=None):
        data = None if body is None else (body if isinstance(body, (bytes, str)) else json.dumps(body))
        headers = {"Content-Type": "application/json"} if data is not None else {}
        self.conn.request(method, path, body=data, headers=headers)
        resp = self.conn.getresponse()
        raw = resp.read()
        try:
            parsed = json.loads(raw)
        except ValueError:
            parsed = raw.decode()
        return resp.status, parsed, resp

    def close(self):
        self.conn.close()


class FakeSinksTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.lb, cls.lb_port = start("logbeacon", cls.tmp.name)
        cls.tg, cls.tg_port = start("telegram", cls.tmp.name)

    @classmethod
    def tearDownClass(cls):
        for proc in (cls.lb, cls.tg):
            proc.terminate()
            try:
                assert proc.wait(timeout=5) == 0, "fake_sinks did not exit 0 on SIGTERM"
            finally:
                proc.stderr.close()
        cls.tmp.cleanup()

    def setUp(self):
        self.lbc = Client(self.lb_port)
        self.tgc = Client(self.tg_port)
        self.assertEqual(self.lbc.call("POST", "/_reset", {})[0], 200)
        self.assertEqual(self.tgc.call("POST", "/_reset", {})[0], 200)

    def tearDown(self):
        self.lbc.close()
        self.tgc.close()

    def send_tg(self, text, token="1:T", chat="-100", mode="HTML"):
        return self.tgc.call("POST", f"/bot{token}/sendMessage",
                             {"chat_id": chat, "text": text, "parse_mode": mode})

    def test_logbeacon_default_and_record(self):
        status, body, _ = self.lbc.call("POST", "/ingest", {"domain": "d", "message": "m"})
        self.assertEqual((status, body), (200, {"ok": True}))
        status, got, _ = self.lbc.call("GET", "/_received")
        self.assertEqual(status, 200)
        self.assertEqual(len(got), 1)
        self.assertEqual(got[0]["path"], "/ingest")
        self.assertEqual(got[0]["body"], {"domain": "d", "message": "m"})
        self.assertEqual(got[0]["status"], 200)
        self.assertEqual(got[0]["content_type"], "application/json")
        self.assertLess(abs(got[0]["t"] - time.time()), 5)

    def test_scripted_responses_in_order_then_default(self):
        rules = {"rules": [{"match": "boom", "responses": [{"status": 500}, {"status": 500}, {"status": 200}]},
                           {"responses": [{"status": 200, "api_key": "k1"}]}]}
        self.assertEqual(self.lbc.call("POST", "/_control", rules)[0], 200)
        statuses = [self.lbc.call("POST", "/x", {"message": "boom"})[0] for _ in range(3)]
        self.assertEqual(statuses, [500, 500, 200])
        # A request the first rule does not match uses the second rule, once.
        self.assertEqual(self.lbc.call("POST", "/x", {"message": "calm"})[1], {"ok": True, "api_key": "k1"})
        # Both rules used up: the default.
        self.assertEqual(self.lbc.call("POST", "/x", {"message": "boom"})[1], {"ok": True})
        self.assertEqual(self.lbc.call("POST", "/_default", {"status": 503})[0], 200)
        status, body, _ = self.lbc.call("POST", "/x", {"message": "calm"})
        self.assertEqual((status, body["ok"]), (503, False))
        got = self.lbc.call("GET", "/_received")[1]
        self.assertEqual([r["status"] for r in got], [500, 500, 200, 200, 200, 503])

    def test_logbeacon_429_has_retry_after_header(self):
        self.lbc.call("POST", "/_control", {"rules": [{"responses": [{"status": 429, "retry_after": 2}]}]})
        status, body, resp = self.lbc.call("POST", "/x", {})
        self.assertEqual(status, 429)
        self.assertEqual(resp.getheader("Retry-After"), "2")
        self.assertFalse(body["ok"])

    def test_telegram_send_and_record(self):
        status, body, _ = self.send_tg("&lt;b&gt; hi 日誌", token="123:ABC", chat="-1001234567890")
        self.assertEqual(status, 200)
        self.assertEqual(body, {"ok": True, "result": {"message_id": 1}})
        self.assertEqual(self.send_tg("again")[1]["result"]["message_id"], 2)
        got = self.tgc.call("GET", "/_received")[1]
        self.assertEqual(got[0]["token"], "123:ABC")
        self.assertEqual(got[0]["chat_id"], "-1001234567890")
        self.assertEqual(got[0]["text"], "&lt;b&gt; hi 日誌")
        self.assertEqual(got[0]["parse_mode"], "HTML")
        self.assertEqual(self.tgc.call("POST", "/bot1:T/getUpdates", {})[0], 404)

    def test_telegram_429_and_errors(self):
        self.tgc.call("POST", "/_control", {"rules": [{"responses": [
            {"status": 429, "retry_after": 2},
            {"status": 400, "description": "Bad Request: chat not found"}]}]})
        status, body, _ = self.send_tg("x")
        self.assertEqual(status, 429)
        self.assertEqual(body, {"ok": False, "error_code": 429, "description": "Too Many Requests: retry after 2",
                                "parameters": {"retry_after": 2}})
        status, body, _ = self.send_tg("x")
        self.assertEqual((status, body["description"]), (400, "Bad Request: chat not found"))

    def test_telegram_checks_messages_like_the_real_api(self):
        cases = [("a" * 4096, 200), ("😀" * 2048, 200), ("😀" * 2049, 400), ("&amp;" * 4096, 200),
                 ("a" * 4097, 400), ("   \n ", 400), ("a < b", 400), ("a &nbsp; b", 400),
                 ("<b>bold</b>", 200), ("<b>bold", 400)]
        for text, want in cases:
            with self.subTest(text=text[:20]):
                self.assertEqual(self.send_tg(text)[0], want)
        self.assertEqual(self.send_tg("a < b", mode=None)[0], 200)  # plain text: no entity parsing
        status, body, _ = self.send_tg("a" * 5000)
        self.assertEqual(body["description"], "Bad Request: message is too long")
        status, body, _ = self.tgc.call("POST", "/bot1:T/sendMessage", {"text": "x"})
        self.assertEqual(body["description"], "Bad Request: chat_id is empty")

    def test_stall_causes_client_timeout(self):
        self.lbc.call("POST", "/_control", {"rules": [{"responses": [{"stall_s": 2}]}]})
        slow = Client(self.lb_port, timeout=0.3)
        t0 = time.monotonic()
        with self.assertRaises(socket.timeout):
            slow.call("POST", "/x", {})
        self.assertLess(time.monotonic() - t0, 1.5)
        slow.close()
        # The fake keeps serving others meanwhile (threaded).
        self.assertEqual(self.lbc.call("POST", "/x", {})[0], 200)

    def test_close_without_answer(self):
        self.lbc.call("POST", "/_control", {"rules": [{"responses": [{"close": True}]}]})
        with self.assertRaises((http.client.RemoteDisconnected, ConnectionError)):
            self.lbc.call("POST", "/x", {})

    def test_keep_alive(self):
        for _ in range(3):
            self.lbc.call("POST", "/x", {})
        other = Client(self.lb_port)
        other.call("POST", "/x", {})
        other.close()
        conns = [r["conn"] for r in self.lbc.call("GET", "/_received")[1]]
        self.assertEqual(len(set(conns[:3])), 1)
        self.assertNotEqual(conns[3], conns[0])

    def test_raw_body_and_headers(self):
        self.lbc.call("POST", "/_control", {"rules": [{"responses": [
            {"status": 200, "body": "<html>not json</html>", "headers": {"X-Test": "1"}}]}]})
        status, body, resp = self.lbc.call("POST", "/x", "not json either")
        self.assertEqual((status, body, resp.getheader("X-Test")), (200, "<html>not json</html>", "1"))
        self.assertEqual(self.lbc.call("GET", "/_received")[1][0]["body"], "not json either")

    def test_bad_control_input_is_explained(self):
        cases = [
            ("not json", "body is not JSON"),
            ([], "must be a JSON object"),
            ({"rulez": []}, "unknown key(s) ['rulez']"),
            ({"rules": {}}, "rules must be a list"),
            ({"rules": [{"responses": []}]}, "rules[0].responses must be a non-empty list"),
            ({"rules": [{"responses": [{"status": "500"}]}]}, "rules[0].responses[0].status must be an integer"),
            ({"rules": [{"responses": [{"status": 200}, {"stall_s": -1}]}]}, "rules[0].responses[1].stall_s"),
            ({"rules": [{"match": 5, "responses": [{}]}]}, "rules[0].match must be a string"),
            ({"rules": [{"responses": [{"retry": 2}]}]}, "unknown key(s) ['retry']"),
        ]
        for body, words in cases:
            with self.subTest(body=body):
                status, reply, _ = self.lbc.call("POST", "/_control", body)
                self.assertEqual(status, 400)
                self.assertIn(words, reply["error"])
        status, reply, _ = self.lbc.call("POST", "/_default", {"status": 1000})
        self.assertEqual(status, 400)
        self.assertIn("default.status", reply["error"])

    def test_reset(self):
        self.lbc.call("POST", "/_control", {"rules": [{"responses": [{"status": 500}]}], "default": {"status": 502}})
        self.lbc.call("POST", "/_reset", {})
        self.assertEqual(self.lbc.call("POST", "/x", {})[0], 200)
        self.assertEqual(len(self.lbc.call("GET", "/_received")[1]), 1)


if __name__ == "__main__":
    unittest.main()

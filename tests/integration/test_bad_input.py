"""Bad input never crashes or stalls the sidecar, and is answered precisely.

Raw requests go through lsys-poke (one nng request of exactly the given bytes;
the BatchReply comes back as JSON); records are hand-encoded with
lsys_testlib.encode_record so they can carry unknown levels, oversized fields
and invalid UTF-8. After every bad request a normal logsys-send must still be
acknowledged and the process must still be alive.
"""

import os
import re
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))

import lsys_testlib as t  # noqa: E402

MARKER = "...(已截斷)"
VALID_LEVELS = [0, 1, 9, 11, 91, 99]


class BadInputTest(t.IntegrationTest):

    def assertStillServing(self, sc, tag):
        self.assertTrue(sc.alive(), "logsysd died after %s\n%s" % (tag, sc.describe()))
        p = t.send(sc.ipc_url, 1, "still serving after " + tag, hash="alive-" + tag)
        self.assertSendOk(p, sc)
        self.assertTrue(sc.alive(), "logsysd died after %s\n%s" % (tag, sc.describe()))

    def poke_ok(self, sc, data=None, gen_size=None, timeout_ms=15000):
        rc, reply, err = t.poke(sc.ipc_url, data=data, gen_size=gen_size, timeout_ms=timeout_ms)
        self.assertEqual(rc, 0, "lsys-poke got no reply: %s\n%s" % (err, sc.describe()))
        return reply

    def logbeacon_hashes(self, sc):
        return [m.json["hash"] for m in self.broker.get_all(sc.logbeacon_queue)]

    def test_malformed_empty_and_oversized_requests(self):
        sc = self.start_sidecar("bad-requests")
        cases = [
            ("bad-wire-type", b"\x0a\xff\xff\xff\xff\x0f"),
            ("varint-overflow", b"\xff" * 100),
            ("truncated-record", t.pb_key(3, t.WT_LEN) + t.pb_varint(1000) + b"\x08\x01"),
            ("bad-record", t.encode_batch([b"\x0a\xff\xff\xff\xff\x0f"])),
        ]
        for tag, data in cases:
            with self.subTest(tag):
                reply = self.poke_ok(sc, data)
                self.assertEqual(reply["status"], "BATCH_MALFORMED", reply)
                self.assertTrue(reply["error"], "a malformed request gets an error text: %r" % reply)
                self.assertEqual(reply["results"], [])
                self.assertStillServing(sc, tag)

        with self.subTest("empty"):
            reply = self.poke_ok(sc, b"")
            self.assertEqual(reply["status"], "BATCH_MALFORMED", "an empty request is an error")
            self.assertTrue(reply["error"], reply)
            self.assertStillServing(sc, "empty")

        with self.subTest("batch-without-records"):
            reply = self.poke_ok(sc, t.encode_batch([], batch_id=7))
            self.assertEqual(reply["status"], "BATCH_MALFORMED", "a batch without records: %r" % reply)
            self.assertStillServing(sc, "no-records")

        with self.subTest("10MiB"):
            reply = self.poke_ok(sc, gen_size=10 * 1024 * 1024, timeout_ms=30000)
            self.assertEqual(reply["status"], "BATCH_TOO_LARGE", reply)
            self.assertTrue(reply["error"], reply)
            self.assertStillServing(sc, "10MiB")

        with self.subTest("valid-batch-over-4MiB"):
            # A well-formed batch over the 4 MiB transport limit is refused
            # whole: not one of its records is published.
            field = "x" * 60000
            recs = [t.encode_record(level=1, message=field, hash="big-%d" % i) for i in range(80)]
            data = t.encode_batch(recs)
            self.assertGreater(len(data), 4 * 1024 * 1024)
            reply = self.poke_ok(sc, data, timeout_ms=30000)
            self.assertEqual(reply["status"], "BATCH_TOO_LARGE", reply)
            self.assertStillServing(sc, "big-batch")

        # Only the "still serving" records were published.
        hashes = self.logbeacon_hashes(sc)
        self.assertFalse([h for h in hashes if not h.startswith("alive-")], hashes)
        self.assertEqual(len(hashes), len(cases) + 4)
        self.assertEqual(self.broker.count(sc.tg_queue), 0)
        self.stop_sidecar(sc)

    def test_unknown_level_rejected_per_record(self):
        sc = self.start_sidecar("bad-level")
        bad_id, good_id = t.new_log_id(), t.new_log_id()
        data = t.encode_batch([
            t.encode_record(level=5, message="level five", hash="lvl5", log_id=bad_id),
            t.encode_record(level=1, message="level one", hash="lvl1", log_id=good_id),
        ])
        reply = self.poke_ok(sc, data)
        self.assertEqual(reply["status"], "BATCH_OK", reply)
        self.assertEqual(len(reply["results"]), 2, reply)
        r0, r1 = reply["results"]
        self.assertEqual(r0["log_id"], bad_id)
        self.assertEqual(r0["status"], "RECORD_REJECTED", reply)
        self.assertIn("valid levels", r0["reason"])
        for level in VALID_LEVELS:
            self.assertRegex(r0["reason"], r"\b%d\b" % level, "reason names level %d" % level)
        self.assertRegex(r0["reason"], r"\b5\b", "reason names the bad level")
        self.assertEqual(r1["log_id"], good_id)
        self.assertEqual(r1["status"], "RECORD_ACCEPTED", reply)
        self.assertEqual(r1["flags"], 0)
        msgs = self.broker.get_all(sc.logbeacon_queue)
        self.assertEqual([m.json["log_id"] for m in msgs], [good_id], "only the valid record")
        self.assertEqual(self.broker.count(sc.tg_queue), 0)
        self.assertTrue(sc.alive())
        self.stop_sidecar(sc)

    def test_oversized_field_truncated_at_char_boundary(self):
        sc = self.start_sidecar("bad-trunc")
        log_id = t.new_log_id()
        text = "é" * 50000  # 100,000 bytes, every character 2 bytes
        reply = self.poke_ok(sc, t.encode_batch([
            t.encode_record(level=1, message=text, hash="trunc", log_id=log_id)]))
        self.assertEqual(reply["status"], "BATCH_OK", reply)
        (r,) = reply["results"]
        self.assertEqual(r["status"], "RECORD_ACCEPTED", r)
        self.assertTrue(r["flags"] & 1, "flag TRUNCATED: %r" % r)
        self.assertFalse(r["flags"] & 2, "nothing to repair: %r" % r)
        self.assertIn("truncat", r["reason"].lower())

        (m,) = self.broker.get_all(sc.logbeacon_queue)
        self.assertIsNotNone(m.json, "body must be valid UTF-8 JSON")
        m.body.decode("utf-8")  # strict
        msg = m.json["message"]
        raw = msg.encode("utf-8")
        self.assertLessEqual(len(raw), 65536, "published message within LOGSYS_MAX_FIELD_BYTES")
        self.assertTrue(msg.endswith(MARKER), "ends with the marker: %r" % msg[-30:])
        kept = msg[:-len(MARKER)]
        self.assertNotIn("\ufffd", kept, "the cut must not split a character")
        self.assertEqual(kept, "é" * len(kept), "only whole characters kept")
        self.assertGreater(len(kept.encode("utf-8")), 60000, "cut near the limit, not far below")
        self.stop_sidecar(sc)

    def test_invalid_utf8_repaired(self):
        sc = self.start_sidecar("bad-utf8")
        log_id = t.new_log_id()
        bad = b"ok \xff\xfe bad \xc3"
        reply = self.poke_ok(sc, t.encode_batch([
            t.encode_record(level=1, message=bad, def_name=b"def\xc0", hash="utf8", log_id=log_id)]))
        self.assertEqual(reply["status"], "BATCH_OK", reply)
        (r,) = reply["results"]
        self.assertEqual(r["status"], "RECORD_ACCEPTED", r)
        self.assertTrue(r["flags"] & 2, "flag UTF8_REPAIRED: %r" % r)
        self.assertTrue(r["reason"], "the reply says what was changed: %r" % r)
        (m,) = self.broker.get_all(sc.logbeacon_queue)
        m.body.decode("utf-8")  # strict: the queue carries valid UTF-8 only
        msg = m.json["message"]
        # One U+FFFD per invalid byte (as Python and WHATWG do) or per run.
        self.assertIn(msg, ["ok \ufffd\ufffd bad \ufffd", "ok \ufffd bad \ufffd"])
        self.assertTrue(m.json["def_name"].startswith("def"))
        self.assertIn("\ufffd", m.json["def_name"])
        self.stop_sidecar(sc)

    def test_send_rejects_unknown_level_before_sending(self):
        sc = self.start_sidecar("bad-send-level")
        p = t.send(sc.ipc_url, 5, "never published", hash="lvl5-cli")
        self.assertEqual(p.returncode, 2, "logsys-send --level 5: %s" % p.stderr)
        self.assertIn("valid levels", p.stderr)
        marker = t.send(sc.ipc_url, 1, "marker after the bad level", hash="marker-level")
        self.assertSendOk(marker, sc)
        self.assertEqual(self.logbeacon_hashes(sc), ["marker-level"])
        self.stop_sidecar(sc)

    def test_send_jsonl_bad_line(self):
        sc = self.start_sidecar("bad-jsonl")
        with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as f:
            f.write('{"level":1,"def_name":"f","message":"line one","extra_info":"x","hash":"j1"}\n')
            f.write('{"level":1,"def_name":"f","message": oops\n')
            f.write('{"level":1,"def_name":"f","message":"line three","hash":"j3"}\n')
            path = f.name
        self.addCleanup(os.unlink, path)
        p = t.run([t.send_path(), "--ipc", sc.ipc_url, "--timeout", "10000", "--jsonl", path])
        self.assertEqual(p.returncode, 2, "bad JSON line: rc=%s %s" % (p.returncode, p.stderr))
        self.assertRegex(p.stderr.lower(), r"line\D{0,3}2\b|:2:", "names line 2: %s" % p.stderr)

        # A JSON line with an unknown level is invalid input too.
        with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as f:
            f.write('{"level":1,"def_name":"f","message":"ok","hash":"k1"}\n')
            f.write('{"level":1,"def_name":"f","message":"ok","hash":"k2"}\n')
            f.write('{"level":7,"def_name":"f","message":"bad level","hash":"k3"}\n')
            path2 = f.name
        self.addCleanup(os.unlink, path2)
        p = t.run([t.send_path(), "--ipc", sc.ipc_url, "--timeout", "10000", "--jsonl", path2])
        self.assertEqual(p.returncode, 2, "unknown level line: rc=%s %s" % (p.returncode, p.stderr))
        self.assertRegex(p.stderr.lower(), r"line\D{0,3}3\b|:3:", "names line 3: %s" % p.stderr)

        marker = t.send(sc.ipc_url, 1, "marker after the bad files", hash="marker-jsonl")
        self.assertSendOk(marker, sc)
        self.assertEqual(self.logbeacon_hashes(sc), ["marker-jsonl"],
                         "nothing of an invalid --jsonl input is published")

        # And a good file: every record acknowledged, the summary on stderr.
        good = "".join('{"level":1,"def_name":"f","message":"good %d","hash":"g%d"}\n' % (i, i)
                       for i in range(5))
        p = t.run([t.send_path(), "--ipc", sc.ipc_url, "--timeout", "10000", "--jsonl", "-"],
                  input=good.encode())
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("sent 5, acknowledged 5, rejected 0", p.stderr)
        self.assertEqual(sorted(self.logbeacon_hashes(sc)), ["g%d" % i for i in range(5)])
        self.stop_sidecar(sc)


if __name__ == "__main__":
    t.main()

"""LogBeacon API keys (SPEC section 6): LogBeacon may answer an api_key for a
(domain, program); later posts for that pair carry it, a restarted worker
with the same LOGSYS_LOGBEACON_KEY_DIR still sends it, and it is never
printed."""

import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))

import lsys_testlib as t  # noqa: E402

KEY = "k1-SECRET-apikey-0123456789"


def doc_of(sink, message):
    rs = [r for r in sink.received_json()
          if r.get("status") == 200 and (r.get("doc") or {}).get("message") == message]
    return rs[0]["doc"] if len(rs) == 1 else None


class WorkerApiKeyTest(t.WorkerTest):

    def test_api_key_is_kept_and_survives_a_restart(self):
        sink = self.start_sink("logbeacon")
        keydir = tempfile.mkdtemp(prefix="lsys-keys-")
        self.addCleanup(shutil.rmtree, keydir, True)
        w = self.start_worker("logbeacon", sink, env={"LOGSYS_LOGBEACON_KEY_DIR": keydir})
        first = t.logbeacon_doc(w.domain, "first post", program="keyed-app")
        sink.control([{"match": first["log_id"], "responses": [{"status": 200, "api_key": KEY}]}])
        t.publish(self.broker, w.queue, [first])
        got = t.wait_for(lambda: doc_of(sink, "first post"), 20, "the first post")
        self.assertNotIn("api_key", got, "no key is known before LogBeacon gives one")

        later = t.logbeacon_doc(w.domain, "second post", program="keyed-app")
        other = t.logbeacon_doc(w.domain, "other program", program="other-app")
        t.publish(self.broker, w.queue, [later, other])
        self.assertEqual(t.wait_for(lambda: doc_of(sink, "second post"), 20, "second post")
                         .get("api_key"), KEY)
        self.assertNotIn("api_key", t.wait_for(lambda: doc_of(sink, "other program"), 20,
                                               "the other program's post"))
        key_file = os.path.join(keydir, "api_key-%s-keyed-app-logbeacon.txt" % w.domain)
        self.assertTrue(os.path.exists(key_file), os.listdir(keydir))
        with open(key_file) as f:
            self.assertEqual(f.read().strip(), KEY)
        self.stop_worker(w)

        w.start()  # same settings, same key directory
        third = t.logbeacon_doc(w.domain, "after the restart", program="keyed-app")
        t.publish(self.broker, w.queue, [third])
        self.assertEqual(t.wait_for(lambda: doc_of(sink, "after the restart"), 20,
                                    "the post after the restart").get("api_key"), KEY)
        self.stop_worker(w)
        self.assertNotIn(KEY, w.stderr() + w.stdout(), "the api_key was printed")


if __name__ == "__main__":
    t.main()

"""Many concurrent clients against one sidecar: nothing lost, nothing duplicated.

Four lsys-load processes log 5,000 records each at the same time through
liblogsys; each exits 0 only when all of its records were acknowledged. Then
{domain}_logbeacon must hold exactly the 20,000 records: every log_id once, and
the hashes exactly the set the clients used. A second part checks that records
logged without a hash get one, unique per record.
"""

import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))

import lsys_testlib as t  # noqa: E402


class LoadTest(t.IntegrationTest):

    def run_loaders(self, sc, argvs, timeout=240):
        """Starts every argv at once, waits for all; returns [(rc, stats, stderr)]."""
        procs = [subprocess.Popen(a, env=t.clean_env(), stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE) for a in argvs]
        results = []
        for p in procs:
            try:
                out, err = p.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                for q in procs:
                    q.kill()
                self.fail("lsys-load did not finish within %ds\n%s" % (timeout, sc.describe()))
            stats = None
            lines = out.decode("utf-8", "replace").strip().splitlines()
            if lines:
                try:
                    stats = json.loads(lines[-1])
                except ValueError:
                    stats = None
            results.append((p.returncode, stats, err.decode("utf-8", "replace")))
        for rc, stats, err in results:
            self.assertEqual(rc, 0, "lsys-load failed: %s %s\n%s" % (stats, err, sc.describe()))
        return results

    def test_four_clients_20000_records(self):
        procs, per = 4, 5000
        sc = self.start_sidecar("load", console="off")
        prefixes = ["p%d-%s" % (i, sc.domain) for i in range(procs)]
        results = self.run_loaders(sc, [t.load_argv(sc.ipc_url, per, level=1, hash_prefix=pfx,
                                                    program="load-%d" % i)
                                        for i, pfx in enumerate(prefixes)])
        for _, stats, _ in results:
            self.assertEqual(stats["acknowledged"], per, stats)
            self.assertEqual(stats["rejected"], 0, stats)
            sys.stderr.write("lsys-load: %s\n" % json.dumps(stats))

        total = procs * per
        msgs = self.broker.drain(sc.logbeacon_queue, total, timeout=120)
        self.assertEqual(len(msgs), total, "messages in %s" % sc.logbeacon_queue)
        self.assertEqual(self.broker.count(sc.logbeacon_queue), 0, "no message beyond the 20,000")
        log_ids = [m.json["log_id"] for m in msgs]
        dup = len(log_ids) - len(set(log_ids))
        self.assertEqual(dup, 0, "duplicated log_ids")
        for m in msgs[:50]:
            self.assertEqual(m.message_id, m.json["log_id"])
        hashes = [m.json["hash"] for m in msgs]
        expected = {"%s-%d" % (pfx, i) for pfx in prefixes for i in range(per)}
        self.assertEqual(len(hashes), len(set(hashes)), "every hash exactly once")
        missing = expected - set(hashes)
        extra = set(hashes) - expected
        self.assertFalse(missing, "%d hashes missing, e.g. %s" % (len(missing), sorted(missing)[:5]))
        self.assertFalse(extra, "%d unexpected hashes, e.g. %s" % (len(extra), sorted(extra)[:5]))
        # Every record in its place: hash P-i carries message "load record i".
        for m in msgs:
            i = int(m.json["hash"].rsplit("-", 1)[1])
            self.assertEqual(m.json["message"], "load record %d" % i)
            self.assertEqual(m.json["level"], "Info")
        self.assertEqual(self.broker.count(sc.tg_queue), 0, "level 1 never goes to _tg")
        self.stop_sidecar(sc)

    def test_generated_hashes_are_unique(self):
        procs, per = 2, 1000
        sc = self.start_sidecar("load-nohash", console="off")
        self.run_loaders(sc, [t.load_argv(sc.ipc_url, per, level=1, program="nohash-%d" % i)
                              for i in range(procs)])
        total = procs * per
        msgs = self.broker.drain(sc.logbeacon_queue, total, timeout=60)
        self.assertEqual(len(msgs), total)
        hashes = [m.json["hash"] for m in msgs]
        self.assertTrue(all(hashes), "every record gets a hash")
        self.assertEqual(len(set(hashes)), total, "generated hashes are unique")
        log_ids = {m.json["log_id"] for m in msgs}
        self.assertEqual(len(log_ids), total)
        self.stop_sidecar(sc)


if __name__ == "__main__":
    t.main()

"""Fault 6: the spool's last segment is cut short in the middle of a record.

With RabbitMQ's AMQP service stopped, one lsys-load client logs 1,000 records:
logsysd spools and syncs every one before acknowledging it (the client exits
0). logsysd is killed (SIGKILL) and the newest spool-*.seg is truncated by a
few bytes, which cuts its last record (a 2 MiB spool makes 256 KiB segments,
so the records span two and the older one must be replayed whole). The test reads the segment files
itself to know which records are intact (all but the cut one). After
RabbitMQ is started again, a new logsysd on the same spool must report the
damage on stderr ("logsysd: spool: ..."), start normally, and replay exactly
the intact records: all of them arrive in {domain}_logbeacon, the cut one
does not.
"""

import os
import re
import sys

import faultlib as f

TOTAL = 1000
CUT_BYTES = 5


class SpoolTruncatedFault(f.FaultTest):

    def test_truncated_last_segment(self):
        # 2 MiB spool: 256 KiB segments, so the records span two of them.
        sc = self.new_sidecar("f6-trunc", env={"LOGSYS_SPOOL_MAX_BYTES": 2 << 20}).start()
        self.stop_broker()
        ld = self.loader(sc, TOTAL, "t-" + sc.domain, "t", timeout_ms=60000)
        self.assertLoaderOk(ld, 90, sc)
        self.assertEqual(sc.metric("logsys_spooled_total"), TOTAL, "every record spooled\n" + sc.describe())
        self.assertEqual(sc.kill9(), -9)

        segments = f.spool_segments(sc.spool_dir)
        self.assertGreaterEqual(len(segments), 2, "spool segments in " + sc.spool_dir)
        records = [r for seg in segments for r in f.spool_records(seg)]
        self.assertEqual(len(records), TOTAL, "records on disk before the damage")
        newest = segments[-1]
        size = os.path.getsize(newest)
        with open(newest, "r+b") as fh:
            fh.truncate(size - CUT_BYTES)
        intact = [r for seg in segments for r in f.spool_records(seg)]
        cut = records[len(intact):]
        self.assertGreaterEqual(len(cut), 1)
        good = {f.spool_payload_doc(p)[2]["hash"] for _, _, p in intact}
        lost = {f.spool_payload_doc(p)[2]["hash"] for _, _, p in cut}
        sys.stderr.write("cut %d bytes off %s (%d bytes): %d intact records, %d cut (%s)\n"
                         % (CUT_BYTES, os.path.basename(newest), size, len(intact), len(cut),
                            ", ".join(sorted(lost))))

        self.start_broker()
        sc.start()
        err = sc.run_stderr()
        damage = [ln for ln in err.splitlines() if ln.startswith("logsysd: spool:")]
        self.assertTrue(damage, "the damage is reported on stderr\n" + sc.describe())
        sys.stderr.write("reported: %s\n" % " | ".join(damage))
        self.assertTrue(any(os.path.basename(newest) in ln for ln in damage),
                        "the report names the damaged segment\n" + "\n".join(damage))
        m = re.search(r"holds (\d+) messages", err)
        self.assertIsNotNone(m, "logsysd says what its spool holds\n" + sc.describe())
        self.assertEqual(int(m.group(1)), len(intact), "messages found in the damaged spool")

        self.wait_spool_empty(sc, 60)
        self.assertEqual(sc.metric("logsys_replayed_total"), len(intact), sc.describe())
        msgs = f.drain_all(self.broker, sc.logbeacon_queue, len(intact), 60)
        docs = [m.json for m in msgs]
        tally = f.Tally(good, docs, sent=TOTAL)
        f.report(6, "spool_truncated", tally)
        sys.stderr.write("truncation: %d record(s) cut, %d intact "
                         "expected\n" % (len(cut), len(intact)))
        arrived_lost = [d for d in docs if isinstance(d, dict) and d.get("hash") in lost]
        self.assertEqual(arrived_lost, [], "a record cut by the truncation was replayed")
        self.assertTally(tally, sc, allow_duplicates=False)
        self.assertEqual(tally.delivered, len(intact))
        self.assertEqual(sc.sigterm(), 0, "logsysd exit code after SIGTERM\n" + sc.describe())


if __name__ == "__main__":
    f.main()

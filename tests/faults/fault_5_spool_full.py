"""Fault 5: the spool fills up to its limit.

logsysd runs with LOGSYS_SPOOL_MAX_BYTES=2 MiB and RabbitMQ's AMQP service
stopped. One lsys-load client (buffer big enough for all of its records) logs
20,000 records, several times what fits. The sidecar must answer "resource
exhausted" for what it cannot spool (logsys_records_retry_total{reason=
"spool_full"} > 0), report not ready on /readyz (503) while full, stay alive
and healthy, and keep the spool within its bound. When RabbitMQ is started
again the spool is replayed and emptied, the client (still running) resends
what it holds, exits 0, and {domain}_logbeacon holds every record.
"""

import sys
import time

import faultlib as f
from faultlib import t

TOTAL = 20000
SPOOL_MAX = 2 << 20


class SpoolFullFault(f.FaultTest):

    def test_spool_full_then_space_frees(self):
        sc = self.new_sidecar("f5-full", env={"LOGSYS_SPOOL_MAX_BYTES": SPOOL_MAX}).start()
        self.assertEqual(sc.readyz(), 200, "ready while RabbitMQ is up")
        self.stop_broker()
        ld = self.loader(sc, TOTAL, "s-" + sc.domain, "s", buffer=65536, timeout_ms=150000)

        full = self.wait_metric(sc, "answers 'resource exhausted' (spool full)", lambda v: v > 0, 60,
                                "logsys_records_retry_total", reason="spool_full")
        t.wait_for(lambda: sc.readyz() == 503, 20, "/readyz 503 while the spool is full")
        status, why = f.http_get(sc.url("/readyz"))
        self.assertEqual(status, 503)
        self.assertEqual(f.http_get(sc.url("/healthz"))[0], 200, "healthy while full\n" + sc.describe())
        s = sc.scrape()
        spool_bytes = f.metric(s, "logsys_spool_bytes")
        spool_records = f.metric(s, "logsys_spool_records")
        accepted = f.metric(s, "logsys_records_accepted_total")
        disk = f.spool_bytes_on_disk(sc.spool_dir)
        sys.stderr.write("spool full: %d records, %d bytes (%d on disk, limit %d); accepted %d; "
                         "spool_full answers %d; /readyz: %s\n"
                         % (spool_records, spool_bytes, disk, SPOOL_MAX, accepted, full, why.strip()))
        self.assertLessEqual(spool_bytes, SPOOL_MAX)
        self.assertLessEqual(disk, SPOOL_MAX)
        self.assertLess(accepted, TOTAL, "the spool cannot hold all the records")
        self.assertTrue(ld.alive(), "the client keeps the records it could not deliver")
        self.assertTrue(sc.alive(), sc.describe())
        self.assertEqual(sc.metric("logsys_client_dropped_total"), 0, "the client dropped nothing")

        back = self.start_broker()
        stats = self.assertLoaderOk(ld, 120, sc)
        self.wait_spool_empty(sc, 60)
        t.wait_for(lambda: sc.readyz() == 200, 20, "/readyz 200 again")
        s = sc.scrape()
        sys.stderr.write("client done and spool empty %.1f s after start_app; spooled %d, replayed %d, "
                         "spool_full answers %d; client resent %s\n"
                         % (time.monotonic() - back, f.metric(s, "logsys_spooled_total"),
                            f.metric(s, "logsys_replayed_total"),
                            f.metric(s, "logsys_records_retry_total", reason="spool_full"),
                            stats.get("resent")))
        self.assertEqual(stats["dropped"], 0)

        tally = self.collect(sc, ld.expected())
        f.report(5, "spool_full", tally)
        self.assertTally(tally, sc)
        self.assertEqual(sc.sigterm(), 0, "logsysd exit code after SIGTERM\n" + sc.describe())


if __name__ == "__main__":
    f.main()

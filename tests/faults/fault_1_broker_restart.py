"""Fault 1: RabbitMQ stopped for 5 s and started again while 20,000 records
stream in.

logsysd runs with a spool (LOGSYS_SPOOL_DIR). Three lsys-load clients log
20,000 records in all: one (14,000) is under way when RabbitMQ's AMQP service
is stopped (rabbitmqctl stop_app: connections closed, queues kept), one
(3,000) starts during the 5 s outage, one (3,000) right after start_app,
while the spool is being replayed. Every client must get all its records
acknowledged (exit 0), the spool must be replayed to empty, and
{domain}_logbeacon must hold every record (duplicates are allowed after a
lost connection, and reported).
"""

import sys
import time

import faultlib as f
from faultlib import t

OUTAGE_S = 5.0


class BrokerRestartFault(f.FaultTest):

    def test_broker_stopped_5s_while_streaming(self):
        sc = self.new_sidecar("f1-broker").start()
        a = self.loader(sc, 14000, "a-" + sc.domain, "a")
        self.wait_metric(sc, "1,000 records accepted before the outage", lambda v: v >= 1000, 60,
                         "logsys_records_accepted_total")
        stopped = self.stop_broker()
        b = self.loader(sc, 3000, "b-" + sc.domain, "b")
        t.wait_for(lambda: "disconnected from RabbitMQ" in sc.stderr(), 20,
                   "logsysd to notice the outage\n" + sc.describe())
        self.wait_metric(sc, "records spooled during the outage", lambda v: v > 0, 30,
                         "logsys_spooled_total")
        left = OUTAGE_S - (time.monotonic() - stopped)
        if left > 0:
            time.sleep(left)  # the fault itself: RabbitMQ down for 5 s
        back = self.start_broker()
        c = self.loader(sc, 3000, "c-" + sc.domain, "c")

        for ld in (a, b, c):
            self.assertLoaderOk(ld, 120, sc)
        self.wait_spool_empty(sc, 60)
        replayed_s = time.monotonic() - back
        s = sc.scrape()
        spooled = f.metric(s, "logsys_spooled_total")
        replayed = f.metric(s, "logsys_replayed_total")
        sys.stderr.write("outage %.1f s; spooled %d, replayed %d; spool empty %.1f s after start_app\n"
                         % (back - stopped, spooled, replayed, replayed_s))
        self.assertGreater(spooled, 0)
        self.assertGreaterEqual(replayed, spooled, "every spooled copy is replayed\n" + sc.describe())

        err = sc.stderr()
        for state in ("disconnected from RabbitMQ", "spooling", "replaying the spool",
                      "spool replayed; publishing directly again"):
            self.assertIn(state, err, "state line on stderr")

        expected = a.expected() | b.expected() | c.expected()
        tally = self.collect(sc, expected)
        f.report(1, "broker_restart", tally)
        self.assertTally(tally, sc)
        self.assertEqual(sc.sigterm(), 0, "logsysd exit code after SIGTERM\n" + sc.describe())


if __name__ == "__main__":
    f.main()

"""Fault 8: RabbitMQ up but not confirming (a memory alarm) while records stream in.

SPEC 4 / issue 4: copies that cannot be published because RabbitMQ is down
*or not confirming* go to the spool, and the client is acknowledged. A memory
alarm (vm_memory_high_watermark set to ~0) keeps the connection open but
blocks publishers, so no confirm arrives. A first client logs 2,000 records
normally; then the alarm is raised, held for 20 s, and a second client logs
20,000 records into it.
Within that time logsysd must notice that RabbitMQ is not confirming, spool
(logsys_spooled_total > 0) and acknowledge the client, who finishes (exit 0)
while the alarm is still on. After the alarm is cleared the spool is replayed
and {domain}_logbeacon holds every record.
"""

import sys
import time

import faultlib as f
from faultlib import t

TOTAL = 20000
ALARM_S = 20.0
NOTICE_S = 12.0  # CONFIRM_STALL_MS (5 s) plus slack


class BrokerNotConfirmingFault(f.FaultTest):

    def test_memory_alarm_while_streaming(self):
        sc = self.new_sidecar("f8-alarm").start()
        # A first client gets through while RabbitMQ confirms normally.
        warm = self.loader(sc, 2000, "w-" + sc.domain, "w", timeout_ms=60000)
        self.assertLoaderOk(warm, 60, sc)
        # The alarm is raised before the main stream starts: rabbitmqctl itself
        # takes a second or two, in which a fast client would finish unharmed.
        self.addCleanup(self.rmq.clear_memory_alarm)
        self.rmq.raise_memory_alarm()
        alarm = time.monotonic()
        ld = self.loader(sc, TOTAL, "n-" + sc.domain, "n", timeout_ms=150000)
        try:
            spooled_in = None
            try:
                self.wait_metric(sc, "logsysd to spool while RabbitMQ does not confirm",
                                 lambda v: v > 0, NOTICE_S, "logsys_spooled_total")
                spooled_in = time.monotonic() - alarm
            except AssertionError:
                pass
            done_in = None
            left = ALARM_S - (time.monotonic() - alarm)
            if spooled_in is not None and left > 0:
                try:
                    t.wait_for(lambda: not ld.alive(), left, "the client to finish during the alarm")
                    done_in = time.monotonic() - alarm
                except AssertionError:
                    pass
            left = ALARM_S - (time.monotonic() - alarm)
            if left > 0:
                time.sleep(left)  # the fault itself: RabbitMQ not confirming for 20 s
            s = sc.scrape()
        finally:
            self.rmq.clear_memory_alarm()
        sys.stderr.write("memory alarm %.0f s: spooling began %s, client finished %s; at the end of "
                         "the alarm: accepted %d, published %d, confirmed %d, spooled %d\n"
                         % (ALARM_S, "after %.1f s" % spooled_in if spooled_in is not None else "never",
                            "after %.1f s" % done_in if done_in is not None else "not during the alarm",
                            f.metric(s, "logsys_records_accepted_total"),
                            f.metric(s, "logsys_published_total"), f.metric(s, "logsys_confirmed_total"),
                            f.metric(s, "logsys_spooled_total")))

        self.assertLoaderOk(ld, 120, sc)
        self.wait_spool_empty(sc, 60)
        tally = self.collect(sc, warm.expected() | ld.expected())
        f.report(8, "broker_not_confirming", tally)
        self.assertTally(tally, sc)
        self.assertEqual(sc.sigterm(), 0, "logsysd exit code after SIGTERM\n" + sc.describe())
        self.assertIsNotNone(spooled_in, "logsysd never spooled during a %.0f s memory alarm "
                             "(RabbitMQ not confirming)\n%s" % (ALARM_S, sc.describe()))
        self.assertIsNotNone(done_in, "the client was not acknowledged during the %.0f s memory alarm "
                             "although logsysd has a spool\n%s" % (ALARM_S, sc.describe()))


if __name__ == "__main__":
    f.main()

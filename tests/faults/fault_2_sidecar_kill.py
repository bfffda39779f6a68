"""Fault 2: kill -9 of the sidecar mid-stream, restarted on the same spool
directory and IPC path.

One lsys-load client logs 20,000 records. RabbitMQ's AMQP service is stopped
(stop_app) early in the stream, so that logsysd spools; as soon as it has
spooled something (around 5,000 records acknowledged) it is killed with
SIGKILL while the client is still sending. A new logsysd starts on the same
spool directory and IPC socket while RabbitMQ is still down (it spools what
the client resends), then RabbitMQ is started again (start_app). The client,
which never stopped, must finish with every record acknowledged (exit 0),
and {domain}_logbeacon must hold every record: the spool written by the killed
process is replayed, and the client resent whatever was not acknowledged.
"""

import sys
import threading
import time

import faultlib as f
from faultlib import t

TOTAL = 20000


class SidecarKillFault(f.FaultTest):

    def test_kill9_mid_stream(self):
        sc = self.new_sidecar("f2-kill").start()
        ld = self.loader(sc, TOTAL, "k-" + sc.domain, "k", timeout_ms=150000)
        self.wait_metric(sc, "1,000 records accepted", lambda v: v >= 1000, 60,
                         "logsys_records_accepted_total")
        # stop_app takes about a second to close the port: run it beside the
        # watch, which kills logsysd as soon as it spooled something.
        stopper = threading.Thread(target=self.stop_broker)
        stopper.start()
        try:
            t.wait_for(lambda: f.spool_bytes_on_disk(sc.spool_dir) > 0, 30,
                       "logsysd to write spool records to disk (RabbitMQ stopped)\n" + sc.describe(),
                       interval=0.002)
            s = sc.scrape()
            accepted = f.metric(s, "logsys_records_accepted_total")
            spool_records = f.metric(s, "logsys_spool_records")
            client_running = ld.alive()
            self.assertEqual(sc.kill9(), -9)
        finally:
            stopper.join(60)
        self.assertTrue(self.rmq.stopped)
        sys.stderr.write("killed logsysd after %d records accepted, %d messages in its spool; "
                         "client still sending: %s\n" % (accepted, spool_records, client_running))
        self.assertTrue(client_running, "precondition: the client was still sending at the kill")
        self.assertLess(accepted, TOTAL)

        # Restart on the same spool and IPC path while RabbitMQ is down.
        sc.start_listening()
        self.assertRegex(sc.run_stderr(), r"spool .* holds [1-9]\d* messages",
                         "the spool of the killed process is found")
        self.wait_metric(sc, "the restarted logsysd to take the client's resends",
                         lambda v: v > 0, 30, "logsys_records_accepted_total")
        back = self.start_broker()
        sc.wait_ready(30)
        stats = self.assertLoaderOk(ld, 120, sc)
        self.wait_spool_empty(sc, 60)
        sys.stderr.write("spool replayed %.1f s after start_app; client resent %s records\n"
                         % (time.monotonic() - back, stats.get("resent")))

        tally = self.collect(sc, ld.expected())
        f.report(2, "sidecar_kill", tally)
        self.assertTally(tally, sc)
        self.assertEqual(sc.sigterm(), 0, "logsysd exit code after SIGTERM\n" + sc.describe())


if __name__ == "__main__":
    f.main()

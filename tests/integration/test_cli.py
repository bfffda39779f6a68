"""Command lines of logsys-send and logsysd (SPEC sections 3 and 7): help,
version, usage errors, configuration errors, secrets never printed, and a
client without a sidecar giving up in time."""

import os
import re
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))

import lsys_testlib as t  # noqa: E402

SEND_FLAGS = ["--ipc", "--program", "--timeout", "--level", "--def-name", "--message", "--extra",
              "--hash", "--jsonl", "--help", "--version"]
VERSION = re.compile(r"\d+\.\d+\.\d+")


class CliTest(t.IntegrationTest):

    def tmpfile(self, text):
        with tempfile.NamedTemporaryFile("w", suffix=".conf", delete=False) as f:
            f.write(text)
        self.addCleanup(os.unlink, f.name)
        return f.name

    def unused_ipc(self):
        return "ipc:///tmp/lsys-%s.sock" % t.unique_name("cli-none")

    # ------------------------------------------------------------ logsys-send

    def test_send_help_mentions_every_flag(self):
        p = t.run([t.send_path(), "--help"], timeout=10)
        self.assertEqual(p.returncode, 0, p.stderr)
        for flag in SEND_FLAGS:
            self.assertIn(flag, p.stdout, "logsys-send --help must mention " + flag)

    def test_send_version(self):
        p = t.run([t.send_path(), "--version"], timeout=10)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertRegex(p.stdout, VERSION)

    def test_send_usage_errors(self):
        ipc = self.unused_ipc()
        cases = {
            "missing --message": ["--level", "1", "--def-name", "f"],
            "missing --level": ["--def-name", "f", "--message", "m"],
            "non-numeric level": ["--level", "abc", "--def-name", "f", "--message", "m"],
            "unknown option": ["--level", "1", "--def-name", "f", "--message", "m", "--nope"],
            "missing jsonl file": ["--jsonl", "/nonexistent/lsys-no-such-file.jsonl"],
        }
        for what, args in cases.items():
            with self.subTest(what):
                start = time.monotonic()
                p = t.run([t.send_path(), "--ipc", ipc, "--timeout", "500"] + args, timeout=10)
                self.assertEqual(p.returncode, 2, "%s: rc=%s stderr=%s" % (what, p.returncode, p.stderr))
                self.assertTrue(p.stderr.strip(), what + ": says why on stderr")
                self.assertLess(time.monotonic() - start, 5, what + ": a usage error does not wait")

    def test_send_without_sidecar_times_out(self):
        start = time.monotonic()
        p = t.run([t.send_path(), "--ipc", self.unused_ipc(), "--timeout", "500", "--level", "1",
                   "--def-name", "f", "--message", "nobody listens"], timeout=30)
        elapsed = time.monotonic() - start
        self.assertEqual(p.returncode, 1, "rc=%s stderr=%s" % (p.returncode, p.stderr))
        self.assertIn("not acknowledged", p.stderr)
        self.assertLess(elapsed, 5.0, "--timeout 500 must be honoured (took %.1fs)" % elapsed)

    # ------------------------------------------------------------ logsysd

    def test_logsysd_help_and_version(self):
        p = t.run([t.logsysd_path(), "--help"], timeout=10)
        self.assertEqual(p.returncode, 0, p.stderr)
        for needle in ["LOGSYS_DOMAIN", "LOGSYS_AMQP_URL", "LOGSYS_IPC_URL", "--config",
                       "--check-config", "--version"]:
            self.assertIn(needle, p.stdout, "logsysd --help must mention " + needle)
        p = t.run([t.logsysd_path(), "--version"], timeout=10)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertRegex(p.stdout, VERSION)

    def test_check_config_masks_secrets(self):
        secret_file = self.tmpfile("file-secret-777\n")
        env = {
            "LOGSYS_DOMAIN": "check.local",
            "LOGSYS_IPC_URL": self.unused_ipc(),
            "LOGSYS_AMQP_URL": "amqp://u:hunter2@h:1/%2f",
            "LOGSYS_TG_DEV_TOKEN": "tok-secret",
            "LOGSYS_TG_CUSTOMER_TOKEN_FILE": secret_file,
        }
        p = t.run([t.logsysd_path(), "--check-config"], env=env, timeout=10)
        out = p.stdout + p.stderr
        self.assertEqual(p.returncode, 0, out)
        for secret in ("hunter2", "tok-secret", "file-secret-777"):
            self.assertNotIn(secret, out, "--check-config must mask " + secret)
        self.assertIn("LOGSYS_DOMAIN=check.local", p.stdout)
        amqp = [ln for ln in p.stdout.splitlines() if ln.startswith("LOGSYS_AMQP_URL=")]
        self.assertEqual(len(amqp), 1, p.stdout)
        self.assertIn("u", amqp[0])
        self.assertIn("h:1", amqp[0], "the masked URL keeps user and host")
        self.assertTrue(any(ln.startswith("LOGSYS_TG_DEV_TOKEN=") for ln in p.stdout.splitlines()),
                        "the token setting is listed (masked)")
        # --check-config does not start the sidecar.
        self.assertNotIn("ready", p.stderr)

    def test_environment_wins_over_config_file(self):
        conf = self.tmpfile("# shared ConfigMap\nLOGSYS_DOMAIN=file.local\n"
                            "LOGSYS_MAX_FIELD_BYTES=1000\n")
        p = t.run([t.logsysd_path(), "--config", conf, "--check-config"],
                  env={"LOGSYS_DOMAIN": "env.local"}, timeout=10)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("LOGSYS_DOMAIN=env.local", p.stdout)
        self.assertNotIn("file.local", p.stdout)
        self.assertIn("LOGSYS_MAX_FIELD_BYTES=1000", p.stdout, "the file's other keys apply")

    def test_logsysd_requires_domain(self):
        p = t.run([t.logsysd_path()], env={"LOGSYS_IPC_URL": self.unused_ipc(),
                                           "LOGSYS_AMQP_URL": t.amqp_url()}, timeout=15)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("LOGSYS_DOMAIN", p.stderr)

    def test_logsysd_config_errors_name_the_key(self):
        cases = {
            "LOGSYS_NO_SUCH_KEY": "LOGSYS_DOMAIN=cfg.local\nLOGSYS_NO_SUCH_KEY=1\n",
            "LOGSYS_MAX_FIELD_BYTES": "LOGSYS_DOMAIN=cfg.local\nLOGSYS_MAX_FIELD_BYTES=lots\n",
            "LOGSYS_CONSOLE": "LOGSYS_DOMAIN=cfg.local\nLOGSYS_CONSOLE=rainbow\n",
        }
        for key, text in cases.items():
            with self.subTest(key):
                conf = self.tmpfile(text)
                p = t.run([t.logsysd_path(), "--config", conf],
                          env={"LOGSYS_IPC_URL": self.unused_ipc()}, timeout=15)
                self.assertNotEqual(p.returncode, 0, key)
                self.assertIn(key, p.stderr)
                self.assertNotIn("ready", p.stderr)
        # The same for an unknown key in the environment.
        p = t.run([t.logsysd_path(), "--check-config"],
                  env={"LOGSYS_DOMAIN": "cfg.local", "LOGSYS_TYPO_KEY": "1"}, timeout=15)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("LOGSYS_TYPO_KEY", p.stderr)

    def test_logsysd_missing_config_file(self):
        p = t.run([t.logsysd_path(), "--config", "/nonexistent/lsys.conf"],
                  env={"LOGSYS_DOMAIN": "cfg.local", "LOGSYS_IPC_URL": self.unused_ipc()}, timeout=15)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("/nonexistent/lsys.conf", p.stderr)


if __name__ == "__main__":
    t.main()

#!/usr/bin/env node
// selftest.mjs - proves that validate.mjs catches what it claims to catch.
//
//   node tests/k8s/selftest.mjs [--kubectl PATH]
//
// Each case copies deploy/k8s to a temporary directory, breaks one thing in
// it, runs validate.mjs on the copy and expects a FAIL line matching the case
// (and a non-zero exit). One more case runs validate.mjs without its
// node_modules and expects the "run npm ci" failure. Prints one line per case
// and ends with "N passed, N failed".
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, "../..");
const deploy = path.join(repo, "deploy/k8s");
const argv = process.argv.slice(2);
const kubectl = argv[0] === "--kubectl" && argv[1] ? argv[1] : process.env.KUBECTL || "kubectl";

const SIDECAR = "components/sidecar/sidecar.yaml";
const LOGBEACON = "base/worker-logbeacon.yaml";
const TELEGRAM = "base/worker-telegram.yaml";

// Each edit: [file, from, to]; from must occur in file (else the case fails:
// the manifests changed under the self-test).
const cases = [
  { name: "sidecar without restartPolicy Always", edits: [[SIDECAR, "        restartPolicy: Always\n", ""]], expect: /native sidecar.*restartPolicy is unset/ },
  {
    name: "sidecar without startupProbe",
    edits: [[SIDECAR, "        startupProbe:\n          httpGet:\n            path: /readyz\n            port: logsys-admin\n          periodSeconds: 1\n          failureThreshold: 30\n          timeoutSeconds: 1\n", ""]],
    expect: /no startupProbe/,
  },
  { name: "misspelled field", edits: [[SIDECAR, "        restartPolicy: Always\n", "        restartPolcy: Always\n"]], expect: /no unknown fields .*restartPolcy/ },
  { name: "wrong type (schema)", edits: [[LOGBEACON, "containerPort: 9560", 'containerPort: "nine"']], expect: /schema apps\/v1 Deployment.*containerPort must be integer/ },
  {
    name: "unknown kind",
    edits: [["base/pdb.yaml", "", "---\napiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\n", "append"]],
    expect: /no schema for apiVersion example.com\/v1 kind Widget/,
  },
  {
    name: "literal AMQP URL with a password",
    edits: [[LOGBEACON, "        - name: LOGSYS_AMQP_URL_FILE\n          value: /etc/logsys/secrets/amqp/url\n", "        - name: LOGSYS_AMQP_URL\n          value: amqp://logsys:hunter2@rabbitmq:5672/%2f\n"]],
    expect: /LOGSYS_AMQP_URL is not from a secretKeyRef|holds a URL with a password/,
  },
  { name: "Telegram token in a ConfigMap", edits: [["overlays/example/workers.env", "LOGSYS_DOMAIN=", "LOGSYS_TG_DEV_TOKEN=123456789:AAFakeFakeFakeFakeFakeFakeFakeFakeFake\nLOGSYS_DOMAIN="]], expect: /no secret settings|holds a Telegram bot token/ },
  {
    name: "a Secret manifest",
    edits: [["base/pdb.yaml", "", "---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: logsys-amqp\nstringData:\n  url: see-docs\n", "append"]],
    expect: /no Secret objects rendered/,
  },
  { name: "_FILE not on a Secret volume", edits: [[TELEGRAM, "/etc/logsys/secrets/telegram/dev-token", "/var/lib/logsys/dev-token"]], expect: /LOGSYS_TG_DEV_TOKEN_FILE=\/var\/lib\/logsys\/dev-token is not on a Secret volume/ },
  { name: "unknown LOGSYS_ key", edits: [["base/logsys.env", "LOGSYS_MAX_ATTEMPTS=5", "LOGSYS_MAX_ATEMPTS=5"]], expect: /unknown keys LOGSYS_MAX_ATEMPTS/ },
  { name: "writable root filesystem", edits: [[LOGBEACON, "readOnlyRootFilesystem: true", "readOnlyRootFilesystem: false"]], expect: /restricted securityContext: readOnlyRootFilesystem is not true/ },
  { name: "capabilities not dropped", edits: [[SIDECAR, '            drop: ["ALL"]\n', '            drop: ["NET_RAW"]\n']], expect: /logsysd: restricted securityContext: capabilities do not drop ALL/ },
  { name: "no memory limit", edits: [[TELEGRAM, "            memory: 128Mi\n", ""]], expect: /resources requests and limits: no limits.memory/ },
  { name: "liveness on the wrong path", edits: [[LOGBEACON, "          httpGet:\n            path: /healthz\n            port: logsys-admin\n          periodSeconds: 10", "          httpGet:\n            path: /metrics\n            port: logsys-admin\n          periodSeconds: 10"]], expect: /livenessProbe path is \/metrics/ },
  { name: "probe on another port", edits: [[SIDECAR, "            path: /readyz\n            port: logsys-admin", "            path: /readyz\n            port: 8080"]], expect: /startupProbe port is 8080/ },
  { name: "grace period shorter than the drain", edits: [[LOGBEACON, "terminationGracePeriodSeconds: 60", "terminationGracePeriodSeconds: 5"]], expect: /terminationGracePeriodSeconds 5 >=.*needs at least 15/ },
  { name: "sidecar drain longer than the app's grace", edits: [["components/sidecar/sidecar.env", "LOGSYS_DRAIN_TIMEOUT_MS=10000", "LOGSYS_DRAIN_TIMEOUT_MS=60000"]], expect: /logsys-example-app: terminationGracePeriodSeconds 30 >= drain 60000 ms/ },
  { name: "worker without PodDisruptionBudget", edits: [["base/kustomization.yaml", "- pdb.yaml\n", ""]], expect: /PodDisruptionBudget selecting its pods: 0 PodDisruptionBudgets/ },
  { name: "PDB blocking drains", edits: [["base/pdb.yaml", "  maxUnavailable: 1\n", "  minAvailable: 1\n"]], expect: /blocks every node drain/ },
  { name: "worker without ScaledObject", edits: [["base/keda.yaml", "  name: logsys-worker-telegram\n  labels", "  name: logsys-worker-tg\n  labels"], ["base/keda.yaml", "    name: logsys-worker-telegram\n", "    name: logsys-worker-nothing\n"]], expect: /logsys-worker-telegram: KEDA ScaledObject on queue length: 0 ScaledObjects/ },
  { name: "ScaledObject on the wrong queue", edits: [["base/keda.yaml", "queueName: DOMAIN_tg", "queueName: DOMAIN_telegram"]], expect: /queueName .*_telegram does not end with _tg/ },
  { name: "replicas fixed under KEDA", edits: [[LOGBEACON, "  revisionHistoryLimit: 5\n", "  replicas: 3\n  revisionHistoryLimit: 5\n"]], expect: /no spec.replicas.*replicas: 3/ },
  { name: "Telegram rate limits exceeded", edits: [["base/keda.yaml", "  maxReplicaCount: 2\n", "  maxReplicaCount: 4\n"]], expect: /4 replicas x 15\/s > Telegram's 30 messages\/s/ },
  { name: "socket not on the shared volume", edits: [["components/sidecar/inject-values.yaml", "ipcUrl: ipc:///var/run/logsys/logsys.sock", "ipcUrl: ipc:///tmp/logsys.sock"]], expect: /socket \/tmp\/logsys.sock is not on a volume/ },
  { name: "no fsGroup for the socket", edits: [[SIDECAR, "        fsGroup: 10001\n", ""]], expect: /no pod fsGroup/ },
  { name: "spool larger than its volume", edits: [["components/sidecar/sidecar.env", "LOGSYS_SPOOL_MAX_BYTES=268435456", "LOGSYS_SPOOL_MAX_BYTES=1073741824"]], expect: /sizeLimit 512Mi <= LOGSYS_SPOOL_MAX_BYTES/ },
  { name: "state directory on the root filesystem", edits: [[LOGBEACON, "value: /var/lib/logsys/keys", "value: /opt/logsys/keys"]], expect: /LOGSYS_LOGBEACON_KEY_DIR=\/opt\/logsys\/keys is on the read-only root filesystem/ },
  { name: "domain missing in the overlay", edits: [["overlays/example/workers.env", "LOGSYS_DOMAIN=example.com\n", ""]], expect: /kubectl kustomize|LOGSYS_DOMAIN is required/ },
  { name: "nothing labelled for injection", edits: [["overlays/example/app.yaml", '    logsys.io/inject: "true"\n', ""]], expect: /the sidecar component injected into at least one workload: no workload labelled/ },
  { name: "latest image", edits: [["overlays/example/kustomization.yaml", "newTag: 0.1.0", "newTag: latest"]], expect: /image pinned: .*uses :latest/ },
];

let passed = 0;
let failed = 0;
const report = (ok, name, why) => {
  if (ok) passed++;
  else failed++;
  console.log(`${ok ? "PASS" : "FAIL"}  selftest  ${name}${ok ? "" : `: ${why}`}`);
};

// run executes node with args and resolves to {status, stdout, stderr}.
function run(args) {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    p.stdout.on("data", (d) => (stdout += d));
    p.stderr.on("data", (d) => (stderr += d));
    p.on("close", (status) => resolve({ status, stdout, stderr }));
  });
}

// runCase breaks a copy of the manifests and returns [ok, why].
async function runCase(tc, tmpRoot) {
  const dir = path.join(tmpRoot, tc.name.replace(/[^A-Za-z0-9]+/g, "-"));
  fs.cpSync(deploy, dir, { recursive: true });
  for (const [file, from, to, how] of tc.edits) {
    const f = path.join(dir, file);
    const text = fs.readFileSync(f, "utf8");
    if (how === "append") fs.writeFileSync(f, text + to);
    else if (!text.includes(from)) return [false, `cannot break the manifests: ${file} no longer contains ${JSON.stringify(from.slice(0, 60))}`];
    else fs.writeFileSync(f, text.replace(from, to));
  }
  const r = await run([path.join(here, "validate.mjs"), "--deploy", dir, "--kubectl", kubectl, "--quiet"]);
  const fails = r.stdout.split("\n").filter((l) => l.startsWith("FAIL"));
  if (r.status === 0) return [false, "validate.mjs passed the broken manifests"];
  if (!fails.some((l) => tc.expect.test(l)))
    return [false, `no FAIL line matches ${tc.expect}; got: ${fails.slice(0, 3).join(" / ") || r.stderr.trim()}`];
  return [true, ""];
}

// Without the dependencies every case would fail the same way: say it once.
const missing = ["kubernetes-models", "@kubernetes-models/keda", "yaml"].filter((p) => !fs.existsSync(path.join(here, "node_modules", p, "package.json")));
if (missing.length) {
  console.log(`FAIL  selftest  dependencies: ${missing.join(", ")} not installed in ${path.join(here, "node_modules")}; run: npm ci --prefix ${path.relative(process.cwd(), here) || "."} --no-audit --no-fund`);
  console.log("0 passed, 1 failed");
  process.exit(1);
}

const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), "logsys-k8s-selftest-"));
try {
  // A few cases at a time; results printed in the table's order.
  const out = new Array(cases.length);
  let next = 0;
  const lanes = Math.max(1, Math.min(4, os.cpus().length));
  await Promise.all(
    Array.from({ length: lanes }, async () => {
      while (next < cases.length) {
        const i = next++;
        out[i] = await runCase(cases[i], tmpRoot);
      }
    }),
  );
  cases.forEach((tc, i) => report(out[i][0], tc.name, out[i][1]));

  // Missing node_modules must fail (never skip), with the npm ci advice.
  {
    const dir = path.join(tmpRoot, "no-node-modules");
    fs.mkdirSync(dir);
    fs.copyFileSync(path.join(here, "validate.mjs"), path.join(dir, "validate.mjs"));
    const r = spawnSync(process.execPath, [path.join(dir, "validate.mjs"), "--kubectl", kubectl], { encoding: "utf8" });
    const ok = r.status !== 0 && /npm ci/.test(r.stdout) && /0 passed, 1 failed/.test(r.stdout);
    report(ok, "missing node_modules fails with the npm ci advice", `exit ${r.status}: ${r.stdout.trim()}`);
  }
} finally {
  fs.rmSync(tmpRoot, { recursive: true, force: true });
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);

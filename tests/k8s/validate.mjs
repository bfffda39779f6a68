#!/usr/bin/env node
// validate.mjs - offline validation of deploy/k8s (SPEC section 8).
//
//   node tests/k8s/validate.mjs [--deploy DIR] [--kubectl PATH]
//                               [--logsysd PATH] [--logsys-worker PATH] [--quiet]
//
// Renders every kustomization under deploy/k8s with `kubectl kustomize`
// (components are rendered through the overlays that use them), validates
// every object against its Kubernetes or KEDA schema (kubernetes-models), and
// rejects fields the schemas do not know. Then checks what schemas cannot:
// the native sidecar, the shared socket volume, probes on the admin endpoint,
// the restricted securityContext, resources, secrets only from Secrets,
// ScaledObject and PodDisruptionBudget per worker, grace periods, and that
// every LOGSYS_* key is one of common/config_table.c. With --logsysd /
// --logsys-worker, each rendered container's settings are also run through
// that binary's --check-config.
//
// Prints one line per check and ends with "N passed, N failed"; exits 1 when a
// check failed (or the dependencies are missing: run npm ci --prefix tests/k8s).
import { execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, "../..");

// ---------------------------------------------------------------------------
// command line

function parseArgs(argv) {
  const opts = {
    deploy: path.join(repo, "deploy/k8s"),
    kubectl: process.env.KUBECTL || "kubectl",
    configTable: path.join(repo, "common/config_table.c"),
    bins: {},
    quiet: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      if (i + 1 >= argv.length) usage(`${a} needs a value`);
      return argv[++i];
    };
    if (a === "--deploy") opts.deploy = path.resolve(val());
    else if (a === "--kubectl") opts.kubectl = val();
    else if (a === "--config-table") opts.configTable = path.resolve(val());
    else if (a === "--logsysd") opts.bins.logsysd = path.resolve(val());
    else if (a === "--logsys-worker") opts.bins["logsys-worker"] = path.resolve(val());
    else if (a === "--quiet") opts.quiet = true;
    else if (a === "--help" || a === "-h") usage();
    else usage(`unknown argument ${a}`);
  }
  return opts;
}

function usage(err) {
  const text =
    "usage: node tests/k8s/validate.mjs [--deploy DIR] [--kubectl PATH] [--config-table FILE]\n" +
    "                                   [--logsysd PATH] [--logsys-worker PATH] [--quiet]\n";
  if (err) {
    process.stderr.write(`validate.mjs: ${err}\n${text}`);
    process.exit(2);
  }
  process.stdout.write(text);
  process.exit(0);
}

// ---------------------------------------------------------------------------
// results

const results = { passed: 0, failed: 0, quiet: false };

// check records one result line: PASS, or FAIL with the reasons.
function check(scope, name, problems) {
  const list = problems === true ? [] : problems === false ? ["failed"] : [problems].flat().filter(Boolean);
  if (list.length === 0) {
    results.passed++;
    if (!results.quiet) console.log(`PASS  ${scope}  ${name}`);
  } else {
    results.failed++;
    console.log(`FAIL  ${scope}  ${name}: ${list.join("; ")}`);
  }
}

function note(scope, text) {
  if (!results.quiet) console.log(`note  ${scope}  ${text}`);
}

function finish() {
  console.log(`${results.passed} passed, ${results.failed} failed`);
  process.exit(results.failed === 0 ? 0 : 1);
}

// ---------------------------------------------------------------------------
// dependencies (loaded after checking for node_modules, to fail with advice)

async function loadDeps() {
  const need = ["kubernetes-models", "@kubernetes-models/keda", "yaml"];
  const missing = need.filter((p) => !fs.existsSync(path.join(here, "node_modules", p, "package.json")));
  if (missing.length) {
    console.log(
      `FAIL  tests/k8s  dependencies: ${missing.join(", ")} not installed in ${path.join(here, "node_modules")}; ` +
        `run: npm ci --prefix ${path.relative(process.cwd(), here) || "."} --no-audit --no-fund`,
    );
    results.failed++;
    finish();
  }
  return { YAML: await import("yaml") };
}

// modelFor returns the kubernetes-models class for apiVersion/kind, or null.
const modelCache = new Map();
async function modelFor(apiVersion, kind) {
  const key = `${apiVersion}/${kind}`;
  if (modelCache.has(key)) return modelCache.get(key);
  let cls = null;
  if (typeof apiVersion === "string" && typeof kind === "string" && /^[A-Za-z0-9.\-/]+$/.test(apiVersion)) {
    const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : ["", apiVersion];
    const spec =
      group === "keda.sh"
        ? `@kubernetes-models/keda/keda.sh/${version}`
        : group === ""
          ? `kubernetes-models/${version}`
          : `kubernetes-models/${group}/${version}`;
    try {
      const mod = await import(spec);
      const c = mod[kind];
      if (typeof c === "function" && c.apiVersion === apiVersion && c.kind === kind) cls = c;
    } catch {
      cls = null;
    }
  }
  modelCache.set(key, cls);
  return cls;
}

// track wraps obj so that every property the schema validator reads is
// recorded; a key never read (in an object whose keys were never enumerated,
// as maps like labels are) is a field the schema does not define.
function track(obj, where, unknown, finalizers) {
  if (obj === null || typeof obj !== "object") return obj;
  const read = new Set();
  const kids = new Map();
  let enumerated = false;
  finalizers.push(() => {
    if (Array.isArray(obj) || enumerated) return;
    for (const k of Object.keys(obj)) if (!read.has(k)) unknown.push(`${where}.${k}`);
  });
  return new Proxy(obj, {
    get(t, k, r) {
      if (typeof k !== "string") return Reflect.get(t, k, r);
      read.add(k);
      const v = Reflect.get(t, k, r);
      if (v !== null && typeof v === "object" && Object.prototype.hasOwnProperty.call(t, k)) {
        if (!kids.has(k)) kids.set(k, track(v, Array.isArray(t) ? `${where}[${k}]` : `${where}.${k}`, unknown, finalizers));
        return kids.get(k);
      }
      return v;
    },
    has(t, k) {
      if (typeof k === "string") read.add(k);
      return Reflect.has(t, k);
    },
    ownKeys(t) {
      enumerated = true;
      return Reflect.ownKeys(t);
    },
  });
}

// ---------------------------------------------------------------------------
// the settings table (common/config_table.c)

function loadConfigTable(file) {
  const text = fs.readFileSync(file, "utf8");
  const keys = new Map(); // name -> {secret}
  const re = /\b(STR|INT|LONG|MODE|BOOL|ENUM)\(\s*"(LOGSYS_[A-Z0-9_]+)"\s*,\s*([^,]*),/g;
  for (let m; (m = re.exec(text)); ) keys.set(m[2], { secret: m[1] === "STR" && /LSYS_CFG_SECRET/.test(m[3]) });
  return keys;
}

function knownKey(table, name) {
  if (table.has(name)) return true;
  if (name.endsWith("_FILE") && table.get(name.slice(0, -5))?.secret) return true;
  return /^LOGSYS_ROUTE_[A-Za-z0-9_]+$/.test(name);
}

// ---------------------------------------------------------------------------
// helpers over rendered objects

const id = (o) => `${o.kind}/${o.metadata?.namespace ? o.metadata.namespace + "/" : ""}${o.metadata?.name}`;

function podSpecOf(o) {
  switch (o.kind) {
    case "Deployment":
    case "StatefulSet":
    case "DaemonSet":
    case "ReplicaSet":
    case "Job":
      return { spec: o.spec?.template?.spec, labels: o.spec?.template?.metadata?.labels ?? {} };
    case "CronJob":
      return {
        spec: o.spec?.jobTemplate?.spec?.template?.spec,
        labels: o.spec?.jobTemplate?.spec?.template?.metadata?.labels ?? {},
      };
    case "Pod":
      return { spec: o.spec, labels: o.metadata?.labels ?? {} };
    default:
      return null;
  }
}

function find(objs, kind, name, ns) {
  return objs.find((o) => o.kind === kind && o.metadata?.name === name && (o.metadata?.namespace ?? "") === (ns ?? ""));
}

// resolveEnv returns the container's environment as Kubernetes builds it
// (envFrom in order, then env, which wins): name -> {value?, source}.
function resolveEnv(c, objs, ns) {
  const env = new Map();
  for (const ef of c.envFrom ?? []) {
    const prefix = ef.prefix ?? "";
    if (ef.configMapRef) {
      const cm = find(objs, "ConfigMap", ef.configMapRef.name, ns);
      for (const [k, v] of Object.entries(cm?.data ?? {}))
        env.set(prefix + k, { value: String(v), source: `ConfigMap ${ef.configMapRef.name}` });
    } else if (ef.secretRef) {
      env.set(`${prefix}*`, { source: `Secret ${ef.secretRef.name}`, secret: true });
    }
  }
  for (const e of c.env ?? []) {
    if (e.valueFrom?.secretKeyRef)
      env.set(e.name, { source: `Secret ${e.valueFrom.secretKeyRef.name}/${e.valueFrom.secretKeyRef.key}`, secret: true, ref: e.valueFrom.secretKeyRef });
    else if (e.valueFrom?.configMapKeyRef) {
      const r = e.valueFrom.configMapKeyRef;
      const cm = find(objs, "ConfigMap", r.name, ns);
      env.set(e.name, { value: cm?.data?.[r.key], source: `ConfigMap ${r.name}/${r.key}` });
    } else if (e.valueFrom) env.set(e.name, { source: "fieldRef" });
    else env.set(e.name, { value: e.value ?? "", source: "literal" });
  }
  return env;
}

const envValue = (env, name, dflt) => {
  const v = env.get(name);
  return v && v.value !== undefined && v.value !== "" ? v.value : dflt;
};

function logsysBinary(c) {
  const argv = [...(c.command ?? []), ...(c.args ?? [])];
  const b = path.posix.basename(String(c.command?.[0] ?? ""));
  if (b === "logsysd") return { bin: "logsysd", argv };
  if (b === "logsys-worker") return { bin: "logsys-worker", argv, sub: (c.command?.length > 1 ? c.command[1] : c.args?.[0]) };
  return null;
}

// mountFor returns the volume mount of c whose mountPath holds p.
function mountFor(c, p) {
  let best = null;
  for (const m of c.volumeMounts ?? []) {
    const mp = m.mountPath.replace(/\/+$/, "");
    if ((p === mp || p.startsWith(mp + "/")) && (!best || mp.length > best.mountPath.length)) best = m;
  }
  return best;
}

const volumeOf = (spec, name) => (spec.volumes ?? []).find((v) => v.name === name);

const isSecretVolume = (v) =>
  !!v && (v.secret || (v.projected && (v.projected.sources ?? []).length > 0 && v.projected.sources.every((s) => s.secret)));
const isWritableVolume = (v) => !!v && !!(v.emptyDir || v.persistentVolumeClaim || v.ephemeral);

function quantity(s) {
  const m = /^([+]?[0-9]*\.?[0-9]+)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$/.exec(String(s));
  if (!m) return NaN;
  const mult = { m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, Ti: 1024 ** 4, Pi: 1024 ** 5, Ei: 1024 ** 6 };
  return Number(m[1]) * (m[2] ? mult[m[2]] : 1);
}

function selectorMatches(sel, labels) {
  if (!sel || (!sel.matchLabels && !sel.matchExpressions)) return false;
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of sel.matchExpressions ?? []) {
    const has = Object.prototype.hasOwnProperty.call(labels, e.key);
    if (e.operator === "In" && !(has && e.values.includes(labels[e.key]))) return false;
    if (e.operator === "NotIn" && has && e.values.includes(labels[e.key])) return false;
    if (e.operator === "Exists" && !has) return false;
    if (e.operator === "DoesNotExist" && has) return false;
  }
  return true;
}

// Strings that are secrets whatever field they sit in.
const SECRET_VALUE_PATTERNS = [
  [/[a-z][a-z0-9+.-]*:\/\/[^/\s:@]+:[^@\s/]+@/i, "a URL with a password"],
  [/\b\d{5,12}:[A-Za-z0-9_-]{30,}\b/, "a Telegram bot token"],
  [/-----BEGIN [A-Z ]*PRIVATE KEY-----/, "a private key"],
];
// Variable names whose literal value would be a secret (paths and dirs are fine).
const SECRET_NAME = /(PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|CREDENTIAL|AMQP_URL)(?!.*_(FILE|DIR|PATH)$)/i;

function* strings(v, where = "") {
  if (typeof v === "string") yield [where, v];
  else if (Array.isArray(v)) for (let i = 0; i < v.length; i++) yield* strings(v[i], `${where}[${i}]`);
  else if (v && typeof v === "object") for (const [k, x] of Object.entries(v)) yield* strings(x, where ? `${where}.${k}` : k);
}

// ---------------------------------------------------------------------------
// discovery and rendering

function discover(deployDir, YAML) {
  const builds = [];
  const components = [];
  const walk = (dir) => {
    for (const ent of fs.readdirSync(dir, { withFileTypes: true })) {
      if (ent.isDirectory()) walk(path.join(dir, ent.name));
    }
    const file = ["kustomization.yaml", "kustomization.yml", "Kustomization"].map((f) => path.join(dir, f)).find((f) => fs.existsSync(f));
    if (!file) return;
    const k = YAML.parse(fs.readFileSync(file, "utf8")) ?? {};
    const rel = path.relative(deployDir, dir) || ".";
    if (k.kind === "Component") components.push({ dir, rel, k });
    else builds.push({ dir, rel, k });
  };
  walk(deployDir);
  builds.sort((a, b) => a.rel.localeCompare(b.rel));
  return { builds, components };
}

function render(kubectl, dir) {
  const r = spawnSync(kubectl, ["kustomize", dir], { encoding: "utf8", maxBuffer: 64 << 20 });
  if (r.error) return { err: `${kubectl}: ${r.error.message}` };
  if (r.status !== 0) return { err: (r.stderr || `exit ${r.status}`).trim().split("\n").slice(-3).join(" | ") };
  return { out: r.stdout };
}

// ---------------------------------------------------------------------------
// the checks of one rendered kustomization

async function checkBuild(b, objs, ctx) {
  const S = b.rel;
  const table = ctx.table;
  const isOverlay = b.rel.split(path.sep)[0] === "overlays";

  // Schemas, and fields the schemas do not define.
  for (const o of objs) {
    const cls = await modelFor(o.apiVersion, o.kind);
    if (!cls) {
      check(S, `schema ${o.apiVersion} ${id(o)}`, `no schema for apiVersion ${o.apiVersion} kind ${o.kind} (unknown kinds are not allowed)`);
      continue;
    }
    const unknown = [];
    const finalizers = [];
    const proxy = track(structuredClone(o), "", unknown, finalizers);
    let err = null;
    try {
      cls.prototype.validate.call(proxy);
    } catch (e) {
      err = String(e.message ?? e).replace(/\s+/g, " ").slice(0, 600);
    }
    finalizers.forEach((f) => f());
    check(S, `schema ${o.apiVersion} ${id(o)}`, err);
    if (!err) check(S, `no unknown fields ${id(o)}`, unknown.length ? `not in the schema: ${unknown.map((u) => u.slice(1)).join(", ")}` : null);
  }

  // Secrets: none rendered, nothing secret-looking anywhere.
  const secretObjs = objs.filter((o) => o.kind === "Secret");
  check(S, "no Secret objects rendered (operators create them)", secretObjs.length ? `rendered: ${secretObjs.map(id).join(", ")}` : null);
  {
    const hits = [];
    for (const o of objs)
      for (const [where, s] of strings(o))
        for (const [re, what] of SECRET_VALUE_PATTERNS) if (re.test(s)) hits.push(`${id(o)} ${where} holds ${what}`);
    check(S, "no literal secret values in any object", hits);
  }
  for (const cm of objs.filter((o) => o.kind === "ConfigMap")) {
    const bad = Object.keys(cm.data ?? {}).filter((k) => table.get(k)?.secret || (k.startsWith("LOGSYS_") && SECRET_NAME.test(k) && !k.endsWith("_FILE")));
    const unknownKeys = Object.keys(cm.data ?? {}).filter((k) => k.startsWith("LOGSYS_") && !knownKey(table, k));
    check(S, `ConfigMap ${cm.metadata.name}: no secret settings`, bad.length ? `secret keys ${bad.join(", ")} belong in a Secret (use <NAME>_FILE)` : null);
    check(S, `ConfigMap ${cm.metadata.name}: every LOGSYS_* key is in common/config_table.c`, unknownKeys.length ? `unknown keys ${unknownKeys.join(", ")} (logsys stops at start-up)` : null);
  }

  // Workloads.
  const workloads = objs.map((o) => ({ o, ps: podSpecOf(o) })).filter((w) => w.ps?.spec);
  const injected = workloads.filter((w) => w.o.metadata?.labels?.["logsys.io/inject"] === "true");
  const secretUse = new Map(); // Secret name -> Set of keys
  const useSecret = (name, key) => {
    if (!secretUse.has(name)) secretUse.set(name, new Set());
    if (key) secretUse.get(name).add(key);
  };

  for (const { o, ps } of workloads) {
    const W = id(o);
    const spec = ps.spec;
    const ns = o.metadata?.namespace;
    const all = [...(spec.initContainers ?? []).map((c) => ({ c, init: true })), ...(spec.containers ?? []).map((c) => ({ c, init: false }))];
    const grace = spec.terminationGracePeriodSeconds ?? 30;

    // Pod level.
    {
      const p = [];
      if (spec.hostNetwork || spec.hostPID || spec.hostIPC) p.push("uses host namespaces");
      if (spec.securityContext?.runAsUser === 0) p.push("pod runAsUser is 0");
      const sa = spec.serviceAccountName ? find(objs, "ServiceAccount", spec.serviceAccountName, ns) : null;
      if (spec.automountServiceAccountToken !== false && sa?.automountServiceAccountToken !== false)
        p.push("service account token mounted (set automountServiceAccountToken: false)");
      if (spec.serviceAccountName && !sa && spec.serviceAccountName !== "default") p.push(`ServiceAccount ${spec.serviceAccountName} not rendered`);
      check(S, `${W}: pod security (no host namespaces, no API token)`, p);
    }

    for (const { c, init } of all) {
      const C = `${W}/${c.name}`;
      const sc = c.securityContext ?? {};
      const psc = spec.securityContext ?? {};
      const lb = logsysBinary(c);
      {
        const p = [];
        if ((sc.runAsNonRoot ?? psc.runAsNonRoot) !== true) p.push("runAsNonRoot is not true");
        const uid = sc.runAsUser ?? psc.runAsUser;
        if (uid === 0) p.push("runAsUser is 0");
        if (lb && uid !== 10001) p.push(`runAsUser is ${uid}, expected 10001 (the image's user)`);
        if (sc.allowPrivilegeEscalation !== false) p.push("allowPrivilegeEscalation is not false");
        if (sc.readOnlyRootFilesystem !== true) p.push("readOnlyRootFilesystem is not true");
        if (sc.privileged) p.push("privileged");
        if (!(sc.capabilities?.drop ?? []).includes("ALL")) p.push("capabilities do not drop ALL");
        if ((sc.capabilities?.add ?? []).length) p.push(`capabilities added: ${sc.capabilities.add.join(",")}`);
        const sp = (sc.seccompProfile ?? psc.seccompProfile)?.type;
        if (sp !== "RuntimeDefault" && sp !== "Localhost") p.push(`seccompProfile is ${sp ?? "unset"}, expected RuntimeDefault`);
        check(S, `${C}: restricted securityContext`, p);
      }
      {
        const p = [];
        const r = c.resources ?? {};
        for (const kind of ["requests", "limits"]) for (const res of ["cpu", "memory"]) if (r[kind]?.[res] === undefined) p.push(`no ${kind}.${res}`);
        for (const res of ["cpu", "memory"])
          if (r.requests?.[res] !== undefined && r.limits?.[res] !== undefined && quantity(r.requests[res]) > quantity(r.limits[res]))
            p.push(`${res} request ${r.requests[res]} > limit ${r.limits[res]}`);
        check(S, `${C}: resources requests and limits`, p);
      }
      {
        const img = String(c.image ?? "");
        const tagged = /@sha256:[0-9a-f]{64}$/.test(img) || /:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(img.split("/").pop());
        check(S, `${C}: image pinned`, !img ? "no image" : !tagged ? `${img} has no tag` : /:latest$/.test(img) ? `${img} uses :latest` : null);
      }

      const env = resolveEnv(c, objs, ns);
      {
        // Secrets only from secretKeyRef or Secret volumes (<NAME>_FILE).
        const p = [];
        for (const e of c.env ?? []) {
          if (e.valueFrom?.secretKeyRef) useSecret(e.valueFrom.secretKeyRef.name, e.valueFrom.secretKeyRef.key);
          const secretName = table.get(e.name)?.secret || (SECRET_NAME.test(e.name) && !/_(FILE|DIR|PATH)$/.test(e.name));
          if (secretName && !e.valueFrom?.secretKeyRef) p.push(`${e.name} is not from a secretKeyRef (use ${e.name}_FILE with a Secret volume)`);
        }
        for (const ef of c.envFrom ?? []) {
          if (ef.secretRef) useSecret(ef.secretRef.name);
          if (ef.configMapRef) {
            const cm = find(objs, "ConfigMap", ef.configMapRef.name, ns);
            if (!cm && !ef.configMapRef.optional) p.push(`envFrom ConfigMap ${ef.configMapRef.name} is not rendered`);
          }
        }
        for (const [name, v] of env) {
          if (!name.endsWith("_FILE") || !name.startsWith("LOGSYS_")) continue;
          const m = mountFor(c, v.value ?? "");
          const vol = m && volumeOf(spec, m.name);
          if (!m || !isSecretVolume(vol)) p.push(`${name}=${v.value} is not on a Secret volume`);
          else {
            if (!m.readOnly) p.push(`Secret volume ${m.name} not mounted readOnly`);
            const rel = path.posix.relative(m.mountPath, v.value);
            useSecret(vol.secret?.secretName ?? vol.projected.sources[0].secret.name, rel);
          }
        }
        check(S, `${C}: secrets only via secretKeyRef or Secret volumes`, p);
      }
      if ([...env.keys()].some((k) => k.startsWith("LOGSYS_"))) {
        const unknownKeys = [...env.keys()].filter((k) => k.startsWith("LOGSYS_") && !knownKey(table, k));
        check(S, `${C}: every LOGSYS_* variable is in common/config_table.c`, unknownKeys.length ? `unknown: ${unknownKeys.join(", ")}` : null);
      }
      for (const v of spec.volumes ?? []) if (v.secret) useSecret(v.secret.secretName);

      if (!lb) continue;

      // logsys binaries: admin endpoint, probes, writable directories, domain.
      const admin = envValue(env, "LOGSYS_ADMIN_ADDR");
      const am = admin && /^(.*):(\d+)$/.exec(admin);
      const port = am ? Number(am[2]) : NaN;
      const cport = (c.ports ?? []).find((p) => p.containerPort === port);
      {
        const p = [];
        if (!am) p.push("LOGSYS_ADMIN_ADDR unset: no /healthz, /readyz, /metrics");
        else {
          if (!["0.0.0.0", "", "[::]", "*"].includes(am[1])) p.push(`LOGSYS_ADMIN_ADDR=${admin} is not reachable by the kubelet (bind 0.0.0.0)`);
          if (!cport) p.push(`no containerPort ${port}`);
        }
        check(S, `${C}: admin endpoint ${admin ?? "(unset)"} exposed as a container port`, p);
      }
      const probeProblems = (probe, what, wantPath) => {
        if (!probe) return [`no ${what}`];
        const g = probe.httpGet;
        if (!g) return [`${what} is not an HTTP GET on the admin endpoint`];
        const p = [];
        if (g.path !== wantPath) p.push(`${what} path is ${g.path}, expected ${wantPath}`);
        const okPort = g.port === port || (cport?.name && g.port === cport.name);
        if (!okPort) p.push(`${what} port is ${g.port}, expected ${cport?.name ?? port}`);
        return p;
      };
      if (lb.bin === "logsysd") {
        check(S, `${C}: startupProbe GET /readyz, livenessProbe GET /healthz on the admin port`, [
          ...probeProblems(c.startupProbe, "startupProbe", "/readyz"),
          ...probeProblems(c.livenessProbe, "livenessProbe", "/healthz"),
          ...(c.readinessProbe ? probeProblems(c.readinessProbe, "readinessProbe", "/readyz") : []),
        ]);
      } else {
        check(S, `${C}: livenessProbe GET /healthz, readinessProbe GET /readyz on the admin port`, [
          ...probeProblems(c.livenessProbe, "livenessProbe", "/healthz"),
          ...probeProblems(c.readinessProbe, "readinessProbe", "/readyz"),
          ...(c.startupProbe ? probeProblems(c.startupProbe, "startupProbe", "/healthz").filter((x) => !/path is \/readyz/.test(x)) : []),
        ]);
      }
      {
        const p = [];
        for (const key of ["LOGSYS_SPOOL_DIR", "LOGSYS_LOGBEACON_KEY_DIR", "LOGSYS_DEDUP_DIR"]) {
          const d = envValue(env, key);
          if (!d) continue;
          const m = mountFor(c, d);
          const vol = m && volumeOf(spec, m.name);
          if (!m) p.push(`${key}=${d} is on the read-only root filesystem`);
          else if (m.readOnly || !isWritableVolume(vol)) p.push(`${key}=${d} is on volume ${m.name}, not a writable emptyDir/PVC`);
        }
        check(S, `${C}: state directories on writable volumes`, p);
      }
      {
        const dom = envValue(env, "LOGSYS_DOMAIN");
        if (isOverlay) {
          const valid = dom && /^[A-Za-z0-9._-]{1,200}$/.test(dom) && !dom.startsWith("amq.");
          check(S, `${C}: LOGSYS_DOMAIN set (${dom ?? "unset"})`, valid ? null : dom ? `invalid domain ${dom}` : "LOGSYS_DOMAIN is required");
        } else {
          check(S, `${C}: LOGSYS_DOMAIN left to the overlay`, dom ? `base sets LOGSYS_DOMAIN=${dom}` : null);
        }
      }
      ctx.logsysContainers.push({ S, W, C, c, lb, env, spec, init, isOverlay });

      if (lb.bin === "logsysd") {
        // The native sidecar.
        const ipc = envValue(env, "LOGSYS_IPC_URL", "ipc:///tmp/logsys.sock");
        const sock = ipc.startsWith("ipc://") ? ipc.slice(6) : null;
        const sm = sock && mountFor(c, sock);
        const svol = sm && volumeOf(spec, sm.name);
        {
          const p = [];
          if (!init) p.push("logsysd is a regular container, not an init container");
          if (c.restartPolicy !== "Always") p.push(`restartPolicy is ${c.restartPolicy ?? "unset"}, expected Always`);
          if (!c.startupProbe) p.push("no startupProbe (the app would start before the socket is bound)");
          if (init && spec.initContainers[0] !== c) p.push(`init containers ${spec.initContainers.slice(0, spec.initContainers.indexOf(c)).map((x) => x.name).join(", ")} start before logsysd and cannot log`);
          check(S, `${C}: native sidecar (first initContainer, restartPolicy Always, startupProbe)`, p);
        }
        {
          const p = [];
          if (!sock) p.push(`LOGSYS_IPC_URL=${ipc} is not an ipc:// URL`);
          else if (!sm) p.push(`socket ${sock} is not on a volume`);
          else if (!svol?.emptyDir) p.push(`socket volume ${sm.name} is not an emptyDir`);
          else {
            for (const app of [...(spec.initContainers ?? []).filter((x) => x !== c), ...(spec.containers ?? [])]) {
              const am2 = (app.volumeMounts ?? []).find((m) => m.name === sm.name);
              if (!am2) p.push(`container ${app.name} does not mount ${sm.name}`);
              else if (am2.mountPath !== sm.mountPath) p.push(`container ${app.name} mounts ${sm.name} at ${am2.mountPath}, logsysd at ${sm.mountPath}`);
              const appIpc = envValue(resolveEnv(app, objs, ns), "LOGSYS_IPC_URL");
              if (appIpc !== ipc) p.push(`container ${app.name} has LOGSYS_IPC_URL=${appIpc ?? "(unset)"}, logsysd listens on ${ipc}`);
            }
          }
          check(S, `${C}: socket emptyDir shared with every app (init) container, LOGSYS_IPC_URL set in each`, p);
        }
        {
          const p = [];
          const mode = parseInt(envValue(env, "LOGSYS_IPC_MODE", "0660"), 8);
          if (spec.securityContext?.fsGroup === undefined) p.push("no pod fsGroup: the app may not be able to write the socket");
          if ((mode & 0o060) !== 0o060) p.push(`LOGSYS_IPC_MODE ${mode.toString(8)} does not let the group write`);
          if (mode & 0o007) p.push(`LOGSYS_IPC_MODE ${mode.toString(8)} opens the socket to others`);
          check(S, `${C}: socket writable by the app (fsGroup, LOGSYS_IPC_MODE)`, p);
        }
        {
          const p = [];
          const spool = envValue(env, "LOGSYS_SPOOL_DIR");
          const max = Number(envValue(env, "LOGSYS_SPOOL_MAX_BYTES", "1073741824"));
          if (!spool) p.push("LOGSYS_SPOOL_DIR unset: a broker outage would push back on the app");
          else {
            const m = mountFor(c, spool);
            const lim = m && volumeOf(spec, m.name)?.emptyDir?.sizeLimit;
            if (lim && quantity(lim) <= max) p.push(`emptyDir sizeLimit ${lim} <= LOGSYS_SPOOL_MAX_BYTES ${max}: the pod is evicted before the spool is full`);
          }
          check(S, `${C}: spool on a volume larger than LOGSYS_SPOOL_MAX_BYTES`, p);
        }
        {
          const drain = Number(envValue(env, "LOGSYS_DRAIN_TIMEOUT_MS", "10000"));
          const need = Math.ceil(drain / 1000) + 5;
          check(S, `${W}: terminationGracePeriodSeconds ${grace} >= drain ${drain} ms + 5 s`, grace >= need ? null : `needs at least ${need}`);
        }
        check(S, `${W}: sidecar injected by label logsys.io/inject=true`, o.metadata?.labels?.["logsys.io/inject"] === "true" ? null : "workload has logsysd but no logsys.io/inject label");
      }
    }

    // Workers.
    const workers = (spec.containers ?? []).map((c) => ({ c, lb: logsysBinary(c) })).filter((x) => x.lb?.bin === "logsys-worker");
    for (const { c, lb } of workers) {
      const env = resolveEnv(c, objs, ns);
      const sub = lb.sub;
      const suffix = { logbeacon: "_logbeacon", telegram: "_tg" }[sub];
      check(S, `${W}: worker subcommand ${sub}`, suffix ? null : `expected logbeacon or telegram, got ${sub}`);
      check(S, `${W}: kind Deployment`, o.kind === "Deployment" ? null : `workers run as Deployments (got ${o.kind})`);
      check(S, `${W}: no spec.replicas (the ScaledObject owns it)`, o.spec?.replicas === undefined ? null : `replicas: ${o.spec.replicas} would fight KEDA on every apply`);

      const sos = objs.filter(
        (x) => x.kind === "ScaledObject" && x.metadata?.namespace === o.metadata?.namespace && x.spec?.scaleTargetRef?.name === o.metadata.name && (x.spec.scaleTargetRef.kind ?? "Deployment") === "Deployment",
      );
      const dom = envValue(env, "LOGSYS_DOMAIN");
      let so = null;
      {
        const p = [];
        if (sos.length !== 1) p.push(`${sos.length} ScaledObjects target it, expected 1`);
        else {
          so = sos[0];
          const trig = (so.spec.triggers ?? []).filter((t) => t.type === "rabbitmq");
          if (trig.length !== 1) p.push(`${trig.length} rabbitmq triggers`);
          for (const t of trig) {
            const md = t.metadata ?? {};
            if (md.mode !== "QueueLength") p.push(`mode ${md.mode}, expected QueueLength`);
            if (!/^[1-9][0-9]*$/.test(String(md.value ?? ""))) p.push(`value ${md.value} is not a positive integer string`);
            const q = String(md.queueName ?? "");
            if (suffix && !q.endsWith(suffix)) p.push(`queueName ${q} does not end with ${suffix}`);
            if (dom && q !== `${dom}${suffix}`) p.push(`queueName ${q}, expected ${dom}${suffix} (LOGSYS_DOMAIN=${dom})`);
            if (!dom && isOverlay) p.push("LOGSYS_DOMAIN unset, queue unknown");
            if (md.host || md.password) p.push("host/password given in metadata: use a TriggerAuthentication");
            const ar = t.authenticationRef;
            if (!ar?.name && !md.hostFromEnv) p.push("no authenticationRef");
            else if (ar?.name && (ar.kind ?? "TriggerAuthentication") === "TriggerAuthentication") {
              const ta = find(objs, "TriggerAuthentication", ar.name, so.metadata.namespace);
              if (!ta) p.push(`TriggerAuthentication ${ar.name} not rendered`);
              else {
                const host = (ta.spec?.secretTargetRef ?? []).find((r) => r.parameter === "host");
                if (!host) p.push(`TriggerAuthentication ${ar.name} has no secretTargetRef for parameter host`);
                else useSecret(host.name, host.key);
              }
            }
          }
          const min = so.spec.minReplicaCount ?? 0;
          const max = so.spec.maxReplicaCount ?? 100;
          if (min > max) p.push(`minReplicaCount ${min} > maxReplicaCount ${max}`);
        }
        check(S, `${W}: KEDA ScaledObject on queue length${so ? ` (${so.spec.triggers?.[0]?.metadata?.queueName}, value ${so.spec.triggers?.[0]?.metadata?.value})` : ""}`, p);
      }
      {
        const labels = ps.labels;
        const pdbs = objs.filter((x) => x.kind === "PodDisruptionBudget" && x.metadata?.namespace === o.metadata?.namespace && selectorMatches(x.spec?.selector, labels));
        const p = [];
        if (pdbs.length !== 1) p.push(`${pdbs.length} PodDisruptionBudgets select its pods, expected 1`);
        for (const pdb of pdbs) {
          const minRep = so?.spec?.minReplicaCount ?? 1;
          const ma = pdb.spec.minAvailable;
          if (ma !== undefined && (typeof ma === "number" ? ma >= minRep : ma === "100%"))
            p.push(`minAvailable ${ma} with ${minRep} replica(s) blocks every node drain`);
          if (pdb.spec.maxUnavailable === 0 || pdb.spec.maxUnavailable === "0%") p.push("maxUnavailable 0 blocks every node drain");
        }
        check(S, `${W}: PodDisruptionBudget selecting its pods`, p);
      }
      {
        const drain = Number(envValue(env, "LOGSYS_DRAIN_TIMEOUT_MS", "10000"));
        const http = Number(envValue(env, "LOGSYS_HTTP_TIMEOUT_MS", "10000"));
        const need = Math.ceil(Math.max(drain, http) / 1000) + 5;
        check(S, `${W}: terminationGracePeriodSeconds ${grace} >= max(drain ${drain} ms, HTTP timeout ${http} ms) + 5 s`, grace >= need ? null : `needs at least ${need}`);
      }
      if (sub === "telegram") {
        const max = so?.spec?.maxReplicaCount ?? 1;
        const bot = Number(envValue(env, "LOGSYS_TG_BOT_RATE_PER_S", "30"));
        const chat = Number(envValue(env, "LOGSYS_TG_CHAT_RATE_PER_MIN", "20"));
        const p = [];
        if (max * bot > 30) p.push(`${max} replicas x ${bot}/s > Telegram's 30 messages/s per bot`);
        if (max * chat > 20) p.push(`${max} replicas x ${chat}/min > Telegram's 20 messages/min per chat`);
        check(S, `${W}: Telegram rate limits hold at maxReplicaCount ${max}`, p);
      }
      {
        const admin = envValue(env, "LOGSYS_ADMIN_ADDR");
        const port = admin ? Number(admin.split(":").pop()) : NaN;
        const cport = (c.ports ?? []).find((p) => p.containerPort === port);
        const svc = objs.find(
          (x) =>
            x.kind === "Service" &&
            x.metadata?.namespace === o.metadata?.namespace &&
            selectorMatches({ matchLabels: x.spec?.selector }, ps.labels) &&
            (x.spec?.ports ?? []).some((sp) => sp.targetPort === port || (cport?.name && sp.targetPort === cport.name)),
        );
        check(S, `${W}: a Service exposes /metrics on the admin port`, svc ? null : "no Service selects the pods on the admin port");
      }
    }
  }

  // Injection: every labelled workload got the sidecar.
  for (const { o, ps } of injected) {
    const has = (ps.spec.initContainers ?? []).some((c) => logsysBinary(c)?.bin === "logsysd");
    check(S, `${id(o)}: labelled logsys.io/inject=true and has the logsysd sidecar`, has ? null : "label set but no logsysd init container");
  }
  const usesSidecar = (b.k.components ?? []).length > 0;
  if (usesSidecar) check(S, "the sidecar component injected into at least one workload", injected.length ? null : "no workload labelled logsys.io/inject=true");

  if (secretUse.size)
    note(S, `Secrets to create: ${[...secretUse].map(([n, keys]) => `${n}${keys.size ? ` (${[...keys].sort().join(", ")})` : ""}`).join(", ")}`);
}

// checkConfigWithBinaries runs each logsys container's settings through the
// binary's --check-config (secrets replaced by harmless stand-ins).
function checkConfigWithBinaries(ctx) {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "logsys-k8s-"));
  try {
    const standIn = (name) =>
      name.startsWith("LOGSYS_AMQP_URL") ? "amqp://check:check@127.0.0.1:5672/%2f" : /TOKEN/.test(name) ? "123456:check-config-stand-in" : "stand-in";
    const notRun = new Set();
    for (const x of ctx.logsysContainers) {
      const bin = ctx.bins[x.lb.bin];
      if (!bin) {
        notRun.add(x.lb.bin);
        continue;
      }
      if (!x.isOverlay) continue; // base leaves LOGSYS_DOMAIN to the overlays
      const envp = { PATH: process.env.PATH ?? "/usr/bin:/bin" };
      let n = 0;
      for (const [name, v] of x.env) {
        if (!name.startsWith("LOGSYS_")) continue;
        if (name.endsWith("_FILE")) {
          const f = path.join(tmp, `secret-${n++}`);
          fs.writeFileSync(f, standIn(name.slice(0, -5)) + "\n", { mode: 0o600 });
          envp[name] = f;
        } else if (v.secret) envp[name] = standIn(name);
        else if (v.value !== undefined) envp[name] = v.value;
      }
      const args = x.lb.bin === "logsys-worker" ? [x.lb.sub, "--check-config"] : ["--check-config"];
      const r = spawnSync(bin, args, { env: envp, encoding: "utf8", timeout: 20000 });
      const why = r.error ? r.error.message : r.status !== 0 ? (r.stderr || r.stdout || `exit ${r.status}`).trim().split("\n").slice(-2).join(" | ") : null;
      check(x.S, `${x.C}: ${path.basename(bin)} ${args.join(" ")} accepts the rendered settings`, why);
    }
    for (const b of notRun) note("tests/k8s", `${b} not given (--${b}): its --check-config of the rendered settings was not run`);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  results.quiet = opts.quiet;
  const { YAML } = await loadDeps();

  let table = new Map();
  try {
    table = loadConfigTable(opts.configTable);
  } catch (e) {
    check("tests/k8s", `read ${opts.configTable}`, e.message);
  }
  check("tests/k8s", `settings table common/config_table.c parsed (${table.size} keys)`, table.size >= 10 ? null : "too few keys found");

  try {
    const v = execFileSync(opts.kubectl, ["version", "--client"], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    note("tests/k8s", v.trim().split("\n").join(", "));
  } catch (e) {
    check("tests/k8s", `kubectl (${opts.kubectl})`, `not runnable: ${e.message.split("\n")[0]}`);
    finish();
  }

  const { builds, components } = discover(opts.deploy, YAML);
  check("tests/k8s", `kustomizations found under ${path.relative(process.cwd(), opts.deploy) || "."}`, builds.length ? null : "none");

  // Components are built through the kustomizations that use them.
  for (const comp of components) {
    const users = builds.filter((b) => (b.k.components ?? []).some((p) => path.resolve(b.dir, p) === comp.dir));
    check(comp.rel, `component rendered through ${users.map((u) => u.rel).join(", ") || "(nothing)"}`, users.length ? null : "no kustomization uses it, so it is never validated");
  }

  const ctx = { table, bins: opts.bins, logsysContainers: [] };
  for (const b of builds) {
    const r = render(opts.kubectl, b.dir);
    check(b.rel, "kubectl kustomize", r.err ?? null);
    if (r.err) continue;
    const docs = YAML.parseAllDocuments(r.out);
    const errs = docs.flatMap((d) => d.errors.map((e) => e.message));
    check(b.rel, "rendered YAML parses", errs.length ? errs.slice(0, 3) : null);
    if (errs.length) continue;
    const objs = docs.map((d) => d.toJS()).filter((o) => o && typeof o === "object");
    check(b.rel, `rendered ${objs.length} objects`, objs.length ? null : "empty output");
    await checkBuild(b, objs, ctx);
  }
  checkConfigWithBinaries(ctx);
  finish();
}

main().catch((e) => {
  console.log(`FAIL  tests/k8s  validate.mjs crashed: ${e.stack ?? e}`);
  results.failed++;
  finish();
});

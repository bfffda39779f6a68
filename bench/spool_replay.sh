#!/usr/bin/env bash
# bench/spool_replay.sh - how fast logsysd spools while RabbitMQ is down, and
# how fast it replays the spool once RabbitMQ is back.
#
#   bench/spool_replay.sh      (from anywhere; builds in $BUILD_DIR, default <repo>/build)
#
# 1. builds logsysd and lsys-load;
# 2. starts a private RabbitMQ (tests/support/rabbitmq.sh, private port and temp dir);
# 3. starts logsysd (domain "bench", console off) with a spool directory
#    (LOGSYS_SPOOL_DIR, in the temp dir) and the admin endpoint, waits for "ready";
# 4. stops RabbitMQ's AMQP service (rabbitmqctl stop_app: connections closed,
#    queues kept) and waits until logsysd says it is spooling;
# 5. spooling: BENCH_LOADS lsys-load clients at once, BENCH_RECORDS Info records
#    each (one {domain}_logbeacon copy per record), BENCH_MSG_SIZE-byte messages.
#    Every record is acknowledged only after its copy is written to the spool
#    and synced (one fdatasync covers all the requests taken in one turn of the
#    publisher loop): records/s from start until every client exited 0;
# 6. replay: rabbitmqctl start_app; from the moment it returns, the time until
#    logsysd reconnects ("connected ... replaying the spool": its reconnect
#    backoff) and until logsys_spool_records reaches 0 (polled every 50 ms on
#    /metrics); replay rate = spooled messages / time from the reconnect to an
#    empty spool; checks that the queue holds every record;
# 7. prints a Markdown table.
#
# Environment knobs (defaults in brackets):
#   BUILD_DIR [<repo>/build]  BENCH_PORT [random free port in 30000..39999]
#   BENCH_LOADS [4]  BENCH_RECORDS [25000]  BENCH_MSG_SIZE [200]
#   BENCH_KEEP [0; 1 = keep the temp dir with logs]
#   BENCH_SYNCS [0; 1 = count logsysd's fdatasync/fsync calls while spooling with
#                strace -c (slows the syscalls down: the spooling rate of such a
#                run is not representative)]
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build}
LOADS=${BENCH_LOADS:-4}
RECORDS=${BENCH_RECORDS:-25000}
MSG_SIZE=${BENCH_MSG_SIZE:-200}
KEEP=${BENCH_KEEP:-0}
SYNCS=${BENCH_SYNCS:-0}
RMQ="$ROOT/tests/support/rabbitmq.sh"
TOTAL=$((LOADS * RECORDS))

log() { echo "spool_replay: $*" >&2; }
die() { echo "spool_replay: error: $*" >&2; exit 1; }

# Run with a clean logsys environment: only the settings below apply.
for v in $(compgen -e | grep '^LOGSYS_' || true); do unset "$v"; done

# ---------------------------------------------------------------- build
log "building in $BUILD_DIR"
if [ ! -f "$BUILD_DIR/CMakeCache.txt" ]; then
  cmake -S "$ROOT" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null ||
    die "cmake configure failed"
fi
BUILD_LOG="${TMPDIR:-/tmp}/lsys-spool-replay-build-$$.log"
cmake --build "$BUILD_DIR" -j"$(nproc)" --target logsysd lsys-load >"$BUILD_LOG" 2>&1 || {
  tail -n 40 "$BUILD_LOG" >&2
  die "build failed (is LOGSYS_TESTS on? lsys-load lives in tests/support)"
}
rm -f "$BUILD_LOG"
LOGSYSD="$BUILD_DIR/sidecar/logsysd"
LOAD="$BUILD_DIR/tests/support/lsys-load"
for b in "$LOGSYSD" "$LOAD"; do
  [ -x "$b" ] || die "missing binary $b"
done

# ---------------------------------------------------------------- helpers
TMP=$(mktemp -d "${TMPDIR:-/tmp}/lsys-spool-replay.XXXXXX")
IPC="ipc:///tmp/lsys-spool-replay-$$.sock"
SPOOL="$TMP/spool"
rmq_started=0
sidecar_pid=""
strace_pid=""
load_pids=()

cleanup() {
  local rc=$?
  set +e
  trap - EXIT INT TERM
  for p in "${load_pids[@]}"; do kill "$p" 2>/dev/null; done
  [ -n "$strace_pid" ] && kill -INT "$strace_pid" 2>/dev/null
  if [ -n "$sidecar_pid" ] && kill -0 "$sidecar_pid" 2>/dev/null; then
    kill -TERM "$sidecar_pid" 2>/dev/null
    for _ in $(seq 100); do kill -0 "$sidecar_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$sidecar_pid" 2>/dev/null
  fi
  wait 2>/dev/null
  if [ "$rmq_started" = 1 ]; then
    "$RMQ" stop "$TMP/rmq" "$PORT" >/dev/null 2>&1 || log "stopping RabbitMQ failed"
  fi
  rm -f "/tmp/lsys-spool-replay-$$.sock"
  if [ "$KEEP" = 1 ] || [ $rc != 0 ]; then
    log "logs kept in $TMP"
  else
    rm -rf "$TMP"
  fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

port_free() { ! ss -Hltn "sport = :$1" 2>/dev/null | grep -q .; }
# pick_port: a free port P in 30000..39999 with P+20000 (the broker's
# distribution port) free too.
pick_port() {
  local p
  for _ in $(seq 50); do
    p=$((30000 + RANDOM % 10000))
    if port_free "$p" && port_free $((p + 20000)); then
      echo "$p"
      return 0
    fi
  done
  return 1
}
# pick_admin_port: a free port in 20000..29999 for logsysd's admin endpoint.
pick_admin_port() {
  local p
  for _ in $(seq 50); do
    p=$((20000 + RANDOM % 10000))
    if port_free "$p"; then
      echo "$p"
      return 0
    fi
  done
  return 1
}
now_ns() { date +%s%N; }
calc() { awk "BEGIN { printf \"$1\", $2 }"; }
rmqctl() { "$RMQ" ctl "$TMP/rmq" "$PORT" "$@"; }
# metric NAME: the value of an unlabelled sample on logsysd's /metrics ("" when unreachable).
metric() {
  curl -fsS --max-time 2 "http://$ADMIN/metrics" 2>/dev/null |
    awk -v n="$1" '$1 == n {printf "%d\n", $2; exit}'
}
# wait_stderr TEXT SECONDS: waits until logsysd's stderr contains TEXT.
wait_stderr() {
  local deadline=$((SECONDS + $2))
  until grep -qF "$1" "$TMP/logsysd.err"; do
    kill -0 "$sidecar_pid" 2>/dev/null || { cat "$TMP/logsysd.err" >&2; die "logsysd exited"; }
    [ $SECONDS -lt $deadline ] || { cat "$TMP/logsysd.err" >&2; die "no '$1' from logsysd within $2 s"; }
    sleep 0.05
  done
}
fmt() { echo "$1" | sed -e ':a' -e 's/\B[0-9]\{3\}\>/,&/' -e 'ta'; }
NCPU=$(nproc)
CPU_MODEL=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)

# ---------------------------------------------------------------- RabbitMQ
PORT=${BENCH_PORT:-$(pick_port)} || die "no free port found"
log "starting a private RabbitMQ on 127.0.0.1:$PORT (dir $TMP/rmq)"
rmq_started=1
"$RMQ" start "$TMP/rmq" "$PORT" || die "RabbitMQ did not start"
URL=$("$RMQ" url "$TMP/rmq" "$PORT")

# ---------------------------------------------------------------- sidecar
ADMIN_PORT=$(pick_admin_port) || die "no free port for the admin endpoint"
ADMIN="127.0.0.1:$ADMIN_PORT"
log "starting logsysd ($IPC, spool $SPOOL, admin http://$ADMIN)"
LOGSYS_DOMAIN=bench LOGSYS_AMQP_URL="$URL" LOGSYS_IPC_URL="$IPC" LOGSYS_CONSOLE=off \
  LOGSYS_SPOOL_DIR="$SPOOL" LOGSYS_ADMIN_ADDR="$ADMIN" \
  "$LOGSYSD" >"$TMP/logsysd.out" 2>"$TMP/logsysd.err" &
sidecar_pid=$!
wait_stderr "logsysd: ready" 30
log "logsysd ready (pid $sidecar_pid)"

# ---------------------------------------------------------------- spooling
log "rabbitmqctl stop_app"
rmqctl stop_app >/dev/null || die "stop_app failed"
wait_stderr "spooling" 30
SPOOL_FS=$(df -T "$TMP" | awk 'NR == 2 {print $2}')

log "spooling: $LOADS x lsys-load --count $RECORDS --level 1 --message-size $MSG_SIZE"
if [ "$SYNCS" = 1 ] && command -v strace >/dev/null; then
  strace -f -qq -c -e trace=fdatasync,fsync -o "$TMP/strace.txt" -p "$sidecar_pid" &
  strace_pid=$!
  sleep 1
fi
load_fail=0
t0=$(now_ns)
for i in $(seq "$LOADS"); do
  "$LOAD" --ipc "$IPC" --count "$RECORDS" --level 1 --message-size "$MSG_SIZE" --timeout-ms 300000 \
    --program "spool-bench-$i" >"$TMP/load.$i.json" 2>"$TMP/load.$i.err" &
  load_pids+=($!)
done
for p in "${load_pids[@]}"; do wait "$p" || load_fail=1; done
t1=$(now_ns)
load_pids=()
for i in $(seq "$LOADS"); do
  echo "  client $i: $(cat "$TMP/load.$i.json")"
  if [ -s "$TMP/load.$i.err" ]; then sed 's/^/  client '"$i"' stderr: /' "$TMP/load.$i.err"; fi
done
[ $load_fail = 0 ] || die "a load client did not get all its records acknowledged"
SYNC_CALLS=""
if [ -n "$strace_pid" ]; then
  kill -INT "$strace_pid" 2>/dev/null || true
  wait "$strace_pid" 2>/dev/null || true
  strace_pid=""
  SYNC_CALLS=$(awk '$NF == "fdatasync" || $NF == "fsync" {n += $4} END {print n + 0}' "$TMP/strace.txt")
  echo "spooling: logsysd made $SYNC_CALLS fdatasync/fsync calls for $TOTAL records (strace -c; rate slowed by strace)"
fi
SPOOL_S=$(calc "%.3f" "($t1 - $t0) / 1e9")
SPOOL_RATE=$(calc "%.0f" "$TOTAL / (($t1 - $t0) / 1e9)")
SPOOLED=$(metric logsys_spool_records)
SPOOL_BYTES=$(metric logsys_spool_bytes)
SEGMENTS=$(find "$SPOOL" -name 'spool-*.seg' | wc -l)
[ "${SPOOLED:-0}" = "$TOTAL" ] || die "the spool holds ${SPOOLED:-?} messages, expected $TOTAL"
echo "spooling: $TOTAL records ($LOADS clients x $RECORDS, $MSG_SIZE-byte messages) acknowledged from the spool in ${SPOOL_S} s = $SPOOL_RATE records/s; spool $SPOOLED messages, $SPOOL_BYTES bytes in $SEGMENTS segment(s) on $SPOOL_FS"

# ---------------------------------------------------------------- replay
log "rabbitmqctl start_app"
rmqctl start_app >/dev/null || die "start_app failed"
t_back=$(now_ns)
t_conn=""
t_empty=""
deadline=$((SECONDS + 300))
while [ $SECONDS -lt $deadline ]; do
  if [ -z "$t_conn" ] && grep -q "replaying the spool" "$TMP/logsysd.err"; then
    t_conn=$(now_ns)
  fi
  left=$(metric logsys_spool_records)
  if [ -n "$left" ] && [ "$left" = 0 ]; then
    t_empty=$(now_ns)
    break
  fi
  kill -0 "$sidecar_pid" 2>/dev/null || { cat "$TMP/logsysd.err" >&2; die "logsysd exited during the replay"; }
  sleep 0.05
done
[ -n "$t_empty" ] || die "the spool was not replayed within 300 s (${left:-?} messages left)"
[ -n "$t_conn" ] || t_conn=$t_empty
RECONNECT_S=$(calc "%.2f" "($t_conn - $t_back) / 1e9")
EMPTY_S=$(calc "%.2f" "($t_empty - $t_back) / 1e9")
REPLAY_S=$(calc "%.2f" "($t_empty - $t_conn) / 1e9")
REPLAY_RATE=$(calc "%.0f" "$TOTAL / (($t_empty - $t_conn) / 1e9 + 0.000001)")
OVERALL_RATE=$(calc "%.0f" "$TOTAL / (($t_empty - $t_back) / 1e9)")
REPLAYED=$(metric logsys_replayed_total)
QDEPTH=$(rmqctl list_queues -q name messages 2>/dev/null | awk '$1 == "bench_logbeacon" {print $2}')
echo "replay: logsysd reconnected ${RECONNECT_S} s after start_app returned; spool empty ${EMPTY_S} s after start_app (${REPLAY_S} s after the reconnect): $REPLAY_RATE msgs/s from the reconnect, $OVERALL_RATE msgs/s from start_app; replayed $REPLAYED; queue bench_logbeacon holds ${QDEPTH:-?} (expected $TOTAL)"
[ "${QDEPTH:-0}" -ge "$TOTAL" ] || die "the queue holds ${QDEPTH:-?} messages, fewer than $TOTAL"
grep -E "disconnected|connected to|spool" "$TMP/logsysd.err" | sed 's/^/  /'

log "stopping logsysd"
kill -TERM "$sidecar_pid"
for _ in $(seq 200); do kill -0 "$sidecar_pid" 2>/dev/null || break; sleep 0.1; done
wait "$sidecar_pid" 2>/dev/null || log "logsysd exited with status $?"
sidecar_pid=""

# ---------------------------------------------------------------- summary
echo
echo "==================== summary ===================="
echo
echo "Measured by \`bench/spool_replay.sh\` on $(date -u +%Y-%m-%d), $NCPU cores ($CPU_MODEL), RabbitMQ $(dpkg-query -W -f='${Version}' rabbitmq-server 2>/dev/null || echo '?') (private node, same machine), spool on $SPOOL_FS."
echo
echo "| Figure | Value |"
echo "|---|---|"
echo "| Spooling while RabbitMQ is stopped: $LOADS clients × $(fmt "$RECORDS") Info records ($MSG_SIZE-byte messages), each acknowledged after its copy was written to the spool and synced | $(fmt "$SPOOL_RATE") records/s ($(fmt "$TOTAL") in $SPOOL_S s) |"
if [ -n "$SYNC_CALLS" ]; then
  echo "| fdatasync/fsync calls while spooling (strace; that run's rate is slowed by strace) | $(fmt "$SYNC_CALLS") for $(fmt "$TOTAL") records ($(calc "%.0f" "$TOTAL / ($SYNC_CALLS + 0.0001)") records per sync) |"
fi
echo "| Spool size for $(fmt "$TOTAL") messages | $(calc "%.1f" "$SPOOL_BYTES / 1048576") MiB in $SEGMENTS segment file(s) |"
echo "| RabbitMQ back (\`start_app\` returned) → logsysd reconnected (its reconnect backoff) | $RECONNECT_S s |"
echo "| RabbitMQ back → \`logsys_spool_records\` 0 | $EMPTY_S s |"
echo "| Replay rate, reconnect → spool empty (published with confirms, released when confirmed) | $(fmt "$REPLAY_RATE") msgs/s |"
echo "| Replay rate including the reconnect delay | $(fmt "$OVERALL_RATE") msgs/s |"

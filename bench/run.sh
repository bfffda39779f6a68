#!/usr/bin/env bash
# bench/run.sh - reproduce logsys's performance figures with one command.
#
#   bench/run.sh            (from anywhere; builds in $BUILD_DIR, default <repo>/build)
#
# 1. builds logsysd, lsys-load, bench_log_call and bench_amqp_ceiling;
# 2. starts a private RabbitMQ (tests/support/rabbitmq.sh, private port and temp dir);
# 3. starts logsysd (domain "bench", console off) and waits for "logsysd: ready";
#    records its idle RSS;
# 4. BENCH_ROUNDS rounds, each:
#    a. sidecar throughput: BENCH_LOADS lsys-load clients at once, each logging
#       BENCH_RECORDS Info records (level 1: one {domain}_logbeacon copy each) with
#       BENCH_MSG_SIZE-byte messages; records/s from start until every record is
#       acknowledged (= confirmed by RabbitMQ); the sidecar's VmRSS is sampled
#       every 100 ms for the peak under load; the first round reads one real
#       logbeacon body back to learn its size; then the queue is purged;
#    b. broker ceiling: bench_amqp_ceiling publishes the same number of
#       persistent messages of that size with confirms and the same window to a
#       queue of its own, deleted afterwards;
#    before each phase the script waits until the broker is idle (it compacts its
#    message store after a purge). Alternating rounds let both sides see the same
#    machine; the medians are compared (sidecar/ceiling as a percentage);
# 5. stops logsysd and RabbitMQ, then bench_log_call: the cost of one
#    logsys_log() call (no sidecar listening), cold and warm heap;
# 6. prints a Markdown summary ready for the README.
#
# Missed targets are reported ("target missed"), never fatal; the script fails
# only on errors (build, broker, sidecar, a client not fully acknowledged).
#
# Environment knobs (defaults in brackets):
#   BUILD_DIR [<repo>/build]   BENCH_PORT [random free port in 30000..39999]
#   BENCH_LOADS [4]  BENCH_RECORDS [25000]  BENCH_MSG_SIZE [200]  BENCH_WINDOW [4096]
#   BENCH_ROUNDS [3]  BENCH_LOG_CALLS [200000]   BENCH_PERF [0; 1 = perf record logsysd during the load]
#   BENCH_KEEP [0; 1 = keep the temp dir with logs]
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build}
LOADS=${BENCH_LOADS:-4}
RECORDS=${BENCH_RECORDS:-25000}
MSG_SIZE=${BENCH_MSG_SIZE:-200}
WINDOW=${BENCH_WINDOW:-4096}
LOG_CALLS=${BENCH_LOG_CALLS:-200000}
ROUNDS=${BENCH_ROUNDS:-3}
PERF=${BENCH_PERF:-0}
KEEP=${BENCH_KEEP:-0}
# Targets (printed, never asserted).
TARGET_RATIO_PCT=80
TARGET_P99_NS=1000

RMQ="$ROOT/tests/support/rabbitmq.sh"
TOTAL=$((LOADS * RECORDS))

log() { echo "bench: $*" >&2; }
die() { echo "bench: error: $*" >&2; exit 1; }

# Run with a clean logsys environment: only the settings below apply.
for v in $(compgen -e | grep '^LOGSYS_' || true); do unset "$v"; done

# ---------------------------------------------------------------- build
log "building in $BUILD_DIR"
if [ ! -f "$BUILD_DIR/CMakeCache.txt" ]; then
  cmake -S "$ROOT" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null ||
    die "cmake configure failed"
fi
cmake --build "$BUILD_DIR" -j"$(nproc)" --target logsysd lsys-load bench_log_call bench_amqp_ceiling \
  >"${TMPDIR:-/tmp}/lsys-bench-build-$$.log" 2>&1 || {
  tail -n 40 "${TMPDIR:-/tmp}/lsys-bench-build-$$.log" >&2
  die "build failed (is LOGSYS_TESTS on? lsys-load lives in tests/support)"
}
rm -f "${TMPDIR:-/tmp}/lsys-bench-build-$$.log"
LOGSYSD="$BUILD_DIR/sidecar/logsysd"
LOAD="$BUILD_DIR/tests/support/lsys-load"
LOG_CALL="$BUILD_DIR/bench/bench_log_call"
CEILING="$BUILD_DIR/bench/bench_amqp_ceiling"
for b in "$LOGSYSD" "$LOAD" "$LOG_CALL" "$CEILING"; do
  [ -x "$b" ] || die "missing binary $b"
done

# ---------------------------------------------------------------- helpers
TMP=$(mktemp -d "${TMPDIR:-/tmp}/lsys-bench.XXXXXX")
IPC="ipc:///tmp/lsys-bench-$$.sock"
rmq_started=0
sidecar_pid=""
sampler_pid=""
perf_pid=""
load_pids=()

cleanup() {
  local rc=$?
  set +e
  trap - EXIT INT TERM
  [ -n "$sampler_pid" ] && kill "$sampler_pid" 2>/dev/null
  [ -n "$perf_pid" ] && kill -INT "$perf_pid" 2>/dev/null && wait "$perf_pid" 2>/dev/null
  for p in "${load_pids[@]}"; do kill "$p" 2>/dev/null; done
  if [ -n "$sidecar_pid" ] && kill -0 "$sidecar_pid" 2>/dev/null; then
    kill -TERM "$sidecar_pid" 2>/dev/null
    for _ in $(seq 100); do kill -0 "$sidecar_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$sidecar_pid" 2>/dev/null
  fi
  wait 2>/dev/null
  if [ "$rmq_started" = 1 ]; then
    "$RMQ" stop "$TMP/rmq" "$PORT" >/dev/null 2>&1 || log "stopping RabbitMQ failed"
  fi
  rm -f "/tmp/lsys-bench-$$.sock"
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
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
# cpu_ticks PID: user+system clock ticks of a process (fields 14, 15 of /proc/PID/stat).
cpu_ticks() {
  if [ -n "$1" ] && [ -r "/proc/$1/stat" ]; then
    sed 's/^.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'
  else
    echo 0
  fi
}
# sys_cpu: "busy total" jiffies of the whole machine.
sys_cpu() { awk '/^cpu / {print $2+$3+$4+$7+$8+$9, $2+$3+$4+$5+$6+$7+$8+$9}' /proc/stat; }
now_ns() { date +%s%N; }
calc() { awk "BEGIN { printf \"$1\", $2 }"; }
rmqctl() { "$RMQ" ctl "$TMP/rmq" "$PORT" "$@"; }
CLK_TCK=$(getconf CLK_TCK)
NCPU=$(nproc)
CPU_MODEL=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)

# ---------------------------------------------------------------- RabbitMQ
PORT=${BENCH_PORT:-$(pick_port)} || die "no free port found"
log "starting a private RabbitMQ on 127.0.0.1:$PORT (dir $TMP/rmq)"
rmq_started=1
"$RMQ" start "$TMP/rmq" "$PORT" || die "RabbitMQ did not start"
URL=$("$RMQ" url "$TMP/rmq" "$PORT")
BROKER_PID=$(ss -Hltnp "sport = :$PORT" 2>/dev/null | grep -o 'pid=[0-9]*' | head -n1 | cut -d= -f2 || true)
[ -n "$BROKER_PID" ] || log "cannot find the broker's pid: its CPU figures will read 0"

# ---------------------------------------------------------------- sidecar
log "starting logsysd ($IPC)"
LOGSYS_DOMAIN=bench LOGSYS_AMQP_URL="$URL" LOGSYS_IPC_URL="$IPC" LOGSYS_CONSOLE=off \
  "$LOGSYSD" >"$TMP/logsysd.out" 2>"$TMP/logsysd.err" &
sidecar_pid=$!
for _ in $(seq 300); do
  grep -q "logsysd: ready" "$TMP/logsysd.err" && break
  kill -0 "$sidecar_pid" 2>/dev/null || { cat "$TMP/logsysd.err" >&2; die "logsysd exited during start-up"; }
  sleep 0.1
done
grep -q "logsysd: ready" "$TMP/logsysd.err" || { cat "$TMP/logsysd.err" >&2; die "logsysd not ready after 30 s"; }
sleep 1
RSS_IDLE_KB=$(rss_kb "$sidecar_pid")
log "logsysd ready (pid $sidecar_pid), idle RSS $RSS_IDLE_KB KiB"

# settle waits (up to 20 s) until the broker is idle (< 5 % of a core over
# 0.5 s: it compacts its message store after a purge or delete) and prints how
# busy the whole machine was in that last half second.
settle() {
  local b0 b1 s0 s1 t0 t1 i
  for i in $(seq 40); do
    b0=$(cpu_ticks "$BROKER_PID")
    read -r s0 t0 < <(sys_cpu)
    sleep 0.5
    b1=$(cpu_ticks "$BROKER_PID")
    read -r s1 t1 < <(sys_cpu)
    [ $(((b1 - b0) * 100 / CLK_TCK)) -lt 3 ] && break
  done
  BACKGROUND_PCT=$(calc "%.0f" "100 * ($s1 - $s0) / ($t1 - $t0 + 0.0001)")
  [ "$BACKGROUND_PCT" -le "$BG_MAX" ] || BG_MAX=$BACKGROUND_PCT
  [ "$i" -lt 40 ] || log "the broker is still busy after 20 s; measuring anyway"
}

# sidecar_phase ROUND: LOADS lsys-load clients at once; sets SIDECAR_RATE, LOAD_S, CPU figures.
sidecar_phase() {
  local r=$1 i p load_fail=0 t0 t1 sc0 sc1 br0 br1 sb0 st0 sb1 st1
  load_pids=()
  sc0=$(cpu_ticks "$sidecar_pid")
  br0=$(cpu_ticks "$BROKER_PID")
  read -r sb0 st0 < <(sys_cpu)
  t0=$(now_ns)
  for i in $(seq "$LOADS"); do
    "$LOAD" --ipc "$IPC" --count "$RECORDS" --level 1 --message-size "$MSG_SIZE" --timeout-ms 300000 \
      >"$TMP/load$r.$i.json" 2>"$TMP/load$r.$i.err" &
    load_pids+=($!)
  done
  for p in "${load_pids[@]}"; do wait "$p" || load_fail=1; done
  t1=$(now_ns)
  load_pids=()
  read -r sb1 st1 < <(sys_cpu)
  sc1=$(cpu_ticks "$sidecar_pid")
  br1=$(cpu_ticks "$BROKER_PID")
  for i in $(seq "$LOADS"); do
    echo "  client $i: $(cat "$TMP/load$r.$i.json")"
    if [ -s "$TMP/load$r.$i.err" ]; then sed 's/^/  client '"$i"' stderr: /' "$TMP/load$r.$i.err"; fi
  done
  [ $load_fail = 0 ] || die "a load client did not get all its records acknowledged"
  LOAD_S=$(calc "%.3f" "($t1 - $t0) / 1e9")
  SIDECAR_RATE=$(calc "%.0f" "$TOTAL / (($t1 - $t0) / 1e9)")
  SC_CPU_S=$(calc "%.2f" "($sc1 - $sc0) / $CLK_TCK")
  BR_CPU_S=$(calc "%.2f" "($br1 - $br0) / $CLK_TCK")
  SYS_BUSY_PCT=$(calc "%.0f" "100 * ($sb1 - $sb0) / ($st1 - $st0)")
}

# ceiling_phase: bench_amqp_ceiling with the same count, body size and window; sets CEILING_RATE.
ceiling_phase() {
  local r=$1 br0 br1
  br0=$(cpu_ticks "$BROKER_PID")
  "$CEILING" --url "$URL" --queue bench_ceiling --count "$TOTAL" --size "$BODY_SIZE" --window "$WINDOW" \
    >"$TMP/ceiling$r.out" || { cat "$TMP/ceiling$r.out"; die "bench_amqp_ceiling failed"; }
  br1=$(cpu_ticks "$BROKER_PID")
  sed 's/^/  /' "$TMP/ceiling$r.out"
  CEIL_BR_CPU_S=$(calc "%.2f" "($br1 - $br0) / $CLK_TCK")
  CEILING_RATE=$(sed -n 's/^amqp_ceiling .*msgs_per_s=\([0-9]*\).*/\1/p' "$TMP/ceiling$r.out")
  if [ -z "$CEILING_RATE" ] || [ "$CEILING_RATE" -le 0 ]; then die "no ceiling figure"; fi
  rmqctl delete_queue bench_ceiling >/dev/null 2>&1 || die "delete_queue bench_ceiling failed"
}

# median of the numbers given as arguments
median() { printf '%s\n' "$@" | sort -n | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : int((v[NR / 2] + v[NR / 2 + 1]) / 2)}'; }

(
  while kill -0 "$sidecar_pid" 2>/dev/null; do
    rss_kb "$sidecar_pid"
    sleep 0.1
  done
) >"$TMP/rss.samples" &
sampler_pid=$!
if [ "$PERF" = 1 ] && command -v perf >/dev/null; then
  perf record -q -F 999 -g -p "$sidecar_pid" -o "$TMP/perf.data" >/dev/null 2>&1 &
  perf_pid=$!
  sleep 0.5
fi

# Rounds alternate the sidecar and the ceiling, so both see the same machine;
# the medians are compared. Records are Info (level 1): one logbeacon copy each.
side_rates=()
ceil_rates=()
BG_MAX=0
BODY_SIZE=""
for r in $(seq "$ROUNDS"); do
  settle
  log "round $r/$ROUNDS sidecar: $LOADS x lsys-load --count $RECORDS --level 1 --message-size $MSG_SIZE (machine ${BACKGROUND_PCT}% busy before)"
  sidecar_phase "$r"
  side_rates+=("$SIDECAR_RATE")
  echo "round $r sidecar: $TOTAL records ($LOADS clients x $RECORDS, level 1, $MSG_SIZE-byte messages) acknowledged in ${LOAD_S} s = $SIDECAR_RATE records/s; CPU logsysd ${SC_CPU_S} s, broker ${BR_CPU_S} s, machine ${SYS_BUSY_PCT}% busy of $NCPU cores"
  [ "$r" = 1 ] && { FIRST_SC_CPU_S=$SC_CPU_S; FIRST_BR_CPU_S=$BR_CPU_S; FIRST_BUSY=$SYS_BUSY_PCT; FIRST_LOAD_S=$LOAD_S; }

  QDEPTH=$(rmqctl list_queues -q name messages 2>/dev/null | awk '$1 == "bench_logbeacon" {print $2}')
  echo "round $r sidecar: queue bench_logbeacon holds ${QDEPTH:-?} messages (expected $TOTAL)"
  if [ -z "$BODY_SIZE" ]; then
    # The size of one real logbeacon body, read back from the queue.
    BODY_SIZE=$("$CEILING" --url "$URL" --queue bench_logbeacon --peek 2>/dev/null | sed -n 's/^peek_bytes=//p' || true)
    if [ -z "$BODY_SIZE" ]; then
      # Approximation: the keys and fixed values around the message (domain
      # "bench", program "lsys-load", def_name "lsys_load", extra "lsys-load",
      # 32-hex hash and log_id, timestamp, level_no, time_unix_ms) add ~283 bytes.
      BODY_SIZE=$((MSG_SIZE + 283))
      echo "could not read a message back; logbeacon body size approximated as $BODY_SIZE bytes"
    else
      echo "one logbeacon JSON body is $BODY_SIZE bytes (read back from the queue)"
    fi
  fi
  rmqctl purge_queue bench_logbeacon >/dev/null 2>&1 || die "purge_queue bench_logbeacon failed"

  settle
  log "round $r/$ROUNDS ceiling: bench_amqp_ceiling --count $TOTAL --size $BODY_SIZE --window $WINDOW (machine ${BACKGROUND_PCT}% busy before)"
  ceiling_phase "$r"
  ceil_rates+=("$CEILING_RATE")
  echo "round $r ceiling: $CEILING_RATE msgs/s (broker CPU ${CEIL_BR_CPU_S} s); sidecar/ceiling this round $(calc "%.1f" "100 * $SIDECAR_RATE / $CEILING_RATE")%"
done

if [ -n "$perf_pid" ]; then
  kill -INT "$perf_pid" 2>/dev/null || true
  wait "$perf_pid" 2>/dev/null || true
  perf_pid=""
fi
kill "$sampler_pid" 2>/dev/null || true
wait "$sampler_pid" 2>/dev/null || true
sampler_pid=""
RSS_PEAK_KB=$(sort -n "$TMP/rss.samples" | tail -n1)
RSS_PEAK_KB=${RSS_PEAK_KB:-0}

log "stopping logsysd"
kill -TERM "$sidecar_pid"
for _ in $(seq 200); do kill -0 "$sidecar_pid" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$sidecar_pid" 2>/dev/null; then
  log "logsysd did not exit within 20 s of SIGTERM: killing it"
  kill -KILL "$sidecar_pid" 2>/dev/null || true
fi
wait "$sidecar_pid" 2>/dev/null || log "logsysd exited with status $?"
sidecar_pid=""
grep "logsysd: stopped" "$TMP/logsysd.err" | sed 's/^/  /' || true

SIDECAR_MED=$(median "${side_rates[@]}")
CEILING_MED=$(median "${ceil_rates[@]}")
SIDE_RANGE="$(printf '%s\n' "${side_rates[@]}" | sort -n | head -n1)–$(printf '%s\n' "${side_rates[@]}" | sort -n | tail -n1)"
CEIL_RANGE="$(printf '%s\n' "${ceil_rates[@]}" | sort -n | head -n1)–$(printf '%s\n' "${ceil_rates[@]}" | sort -n | tail -n1)"
RATIO_PCT=$(calc "%.1f" "100 * $SIDECAR_MED / $CEILING_MED")
if awk "BEGIN { exit !($RATIO_PCT >= $TARGET_RATIO_PCT) }"; then
  RATIO_VERDICT="met"
else
  RATIO_VERDICT="target missed"
fi
echo
echo "sidecar: RSS idle $RSS_IDLE_KB KiB, peak under load $RSS_PEAK_KB KiB ($(wc -l <"$TMP/rss.samples") samples)"
echo "sidecar: median of $ROUNDS rounds $SIDECAR_MED records/s (range $SIDE_RANGE)"
echo "ceiling: median of $ROUNDS rounds $CEILING_MED msgs/s (range $CEIL_RANGE)"
echo "sidecar / ceiling = $SIDECAR_MED / $CEILING_MED = $RATIO_PCT% (target >= $TARGET_RATIO_PCT%: $RATIO_VERDICT)"

# The broker is not needed any more: stop it so it cannot disturb the next part.
"$RMQ" stop "$TMP/rmq" "$PORT" >/dev/null 2>&1 || log "stopping RabbitMQ failed"
rmq_started=0

# ---------------------------------------------------------------- logsys_log() cost
log "log call: bench_log_call --calls $LOG_CALLS --threads 1,4 --heap cold,warm (no sidecar listening)"
set +e
"$LOG_CALL" --calls "$LOG_CALLS" --threads 1,4 --heap cold,warm --message-size 100 | tee "$TMP/log_call.out"
lc_rc=${PIPESTATUS[0]}
set -e
[ "$lc_rc" = 0 ] || [ "$lc_rc" = 3 ] || die "bench_log_call failed (status $lc_rc)"
# lc_field THREADS HEAP KEY: a value from bench_log_call's machine-readable lines.
lc_field() { sed -n "s/^log_call threads=$1 heap=$2 .* $3=\([0-9.]*\).*/\1/p" "$TMP/log_call.out"; }
lc_verdict() {
  local p99 dropped
  p99=$(lc_field "$1" "$2" p99_ns)
  dropped=$(lc_field "$1" "$2" dropped)
  if [ "${dropped:-0}" != 0 ]; then
    echo "INVALID: $dropped records dropped"
  elif [ -n "$p99" ] && [ "$p99" -lt $TARGET_P99_NS ]; then
    echo "met"
  else
    echo "target missed"
  fi
}
TIMER_NS=$(lc_field 1 cold timer_ns)

# ---------------------------------------------------------------- perf (optional)
if [ -f "$TMP/perf.data" ]; then
  echo
  echo "perf: logsysd during the load, top symbols (self time)"
  perf report -i "$TMP/perf.data" --stdio --no-children -g none --percent-limit 1 --sort dso,sym 2>/dev/null |
    grep -E '^ +[0-9]' | head -n 30 || true
fi

# ---------------------------------------------------------------- summary
fmt() { printf "%'d" "$1" 2>/dev/null || echo "$1"; }
mib() { calc "%.1f" "$1 / 1024"; }
lc_row() {
  local what
  if [ "$2" = cold ]; then
    what="cold heap: buffer filling, records on fresh pages"
  else
    what="warm heap: steady state, freed records reused"
  fi
  echo "| \`logsys_log()\` cost, $1 thread$([ "$1" = 1 ] || echo s), $what (p50 / p99 / p99.9 / max) |" \
    "$(lc_field "$1" "$2" p50_ns) / $(lc_field "$1" "$2" p99_ns) / $(lc_field "$1" "$2" p999_ns) / $(lc_field "$1" "$2" max_ns) ns |" \
    "p99 < 1 µs: $(lc_verdict "$1" "$2") |"
}
echo
echo "==================== summary ===================="
echo
echo "Measured by \`bench/run.sh\` on $(date -u +%Y-%m-%d), $NCPU cores ($CPU_MODEL), RabbitMQ $(dpkg-query -W -f='${Version}' rabbitmq-server 2>/dev/null || echo '?') (private node, same machine)."
echo
echo "| Figure | Value | Target |"
echo "|---|---|---|"
lc_row 1 warm
lc_row 4 warm
lc_row 1 cold
lc_row 4 cold
echo "| Sidecar throughput: $LOADS clients × $(fmt "$RECORDS") Info records ($MSG_SIZE-byte messages), each acknowledged after RabbitMQ confirmed its persistent copy (median of $ROUNDS) | $(fmt "$SIDECAR_MED") records/s (range $SIDE_RANGE) | |"
echo "| Broker ceiling: raw librabbitmq publisher, $(fmt "$TOTAL") persistent $BODY_SIZE-byte messages, confirms, window $WINDOW (median of $ROUNDS) | $(fmt "$CEILING_MED") msgs/s (range $CEIL_RANGE) | |"
echo "| Sidecar / ceiling | $RATIO_PCT % | ≥ $TARGET_RATIO_PCT %: $RATIO_VERDICT |"
echo "| Sidecar RSS idle / peak under load | $(mib "$RSS_IDLE_KB") / $(mib "$RSS_PEAK_KB") MiB | |"
echo "| CPU during the first sidecar round ($FIRST_LOAD_S s) | logsysd $FIRST_SC_CPU_S s, broker $FIRST_BR_CPU_S s, machine $FIRST_BUSY % busy of $NCPU cores | |"
if [ "$BG_MAX" -gt 15 ]; then
  echo "| Note | the machine was up to $BG_MAX % busy with other work just before a phase: figures are noisy | |"
fi
echo
echo "(\`logsys_log()\` timed with CLOCK_MONOTONIC around each call, ${TIMER_NS:-?} ns timer overhead subtracted, $(fmt "$LOG_CALLS") calls per thread after a warm-up, ~100-byte messages, no sidecar listening, each phase in a fresh process. Cold heap: every record lands on a page touched for the first time (about 1 minor page fault per 17 calls), as while the buffer fills with no sidecar draining it. Warm heap: the malloc arenas are pre-faulted, as when the sender frees acknowledged records as fast as they are logged. With 4 threads on $NCPU cores the tail (p99.99, max) includes preemption.)"
if grep -q "DROPPED" "$TMP/log_call.out"; then
  echo
  echo "!!! bench_log_call dropped records: its figures are not valid (see above) !!!"
  exit 1
fi

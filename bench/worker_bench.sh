#!/usr/bin/env bash
# bench/worker_bench.sh - delivered records/s of logsys-worker logbeacon with 1, 2
# and 4 worker processes, and the time from logsys_log() to the sink.
#
#   bench/worker_bench.sh        (builds in $BUILD_DIR, default <repo>/build)
#
# Throughput: for each worker count W, {domain}_logbeacon is filled with
# BENCH_RECORDS records (lsys-load -> logsysd -> RabbitMQ, workers stopped), then W
# workers start and bench_sink_200 (answers 200 at once, keep-alive) reports
# posts/s from the first post to the last. Latency: one worker running, one
# lsys-load client logs BENCH_LAT_RECORDS records; the sink reports p50/p99 of
# (arrival time - the record's time_unix_ms, set inside logsys_log()).
# Workers run with their defaults (LOGSYS_PREFETCH 200, LOGSYS_CONCURRENCY 32)
# unless BENCH_PREFETCH / BENCH_CONCURRENCY say otherwise.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build}
RECORDS=${BENCH_RECORDS:-20000}
LAT_RECORDS=${BENCH_LAT_RECORDS:-10000}
PORT=${BENCH_PORT:-$((17000 + RANDOM % 2000))}
SINK_PORT=$((PORT + 3000))
RMQ="$ROOT/tests/support/rabbitmq.sh"
for v in $(compgen -e | grep '^LOGSYS_' || true); do unset "$v"; done

cmake -S "$ROOT" -B "$BUILD_DIR" >/dev/null
cmake --build "$BUILD_DIR" -j2 --target logsysd logsys-worker lsys-load bench_sink_200 >/dev/null
LOGSYSD=$BUILD_DIR/sidecar/logsysd
WORKER=$BUILD_DIR/workers/logsys-worker
LOAD=$BUILD_DIR/tests/support/lsys-load
SINK=$BUILD_DIR/bench/bench_sink_200

TMP=$(mktemp -d /tmp/lsys-wbench.XXXXXX)
chmod 755 "$TMP"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  "$RMQ" stop "$TMP/rmq" "$PORT" >/dev/null 2>&1 || true
  rm -rf "$TMP"
}
trap cleanup EXIT

"$RMQ" start "$TMP/rmq" "$PORT" >/dev/null
export LOGSYS_AMQP_URL="amqp://guest:guest@127.0.0.1:$PORT/%2f" LOGSYS_IPC_URL="ipc://$TMP/s.sock"
export LOGSYS_DOMAIN=wbench LOGSYS_CONSOLE=off
"$LOGSYSD" 2>"$TMP/logsysd.err" &
pids+=($!)
for _ in $(seq 100); do grep -q "logsysd: ready" "$TMP/logsysd.err" && break; sleep 0.1; done

# fill N: logs N Info records with 4 clients and waits until all are acknowledged.
fill() {
  local n=$1 each=$(($1 / 4)) i
  for i in 1 2 3 4; do "$LOAD" --ipc "$LOGSYS_IPC_URL" --count "$each" --level 1 >/dev/null & done
  wait_loads
}
wait_loads() {
  local p
  for p in $(jobs -p); do
    case " ${pids[*]} " in *" $p "*) ;; *) wait "$p" ;; esac
  done
}

# start_workers W: starts W logbeacon workers against the sink (pids in wpids;
# no command substitution: its subshell would run the EXIT trap).
start_workers() {
  local w
  wpids=()
  for w in $(seq "$1"); do
    env LOGSYS_LOGBEACON_URL="http://127.0.0.1:$SINK_PORT/ingest" LOGSYS_STATUS_INTERVAL_S=0 \
      ${BENCH_PREFETCH:+LOGSYS_PREFETCH=$BENCH_PREFETCH} \
      ${BENCH_CONCURRENCY:+LOGSYS_CONCURRENCY=$BENCH_CONCURRENCY} \
      "$WORKER" logbeacon >/dev/null 2>>"$TMP/worker.err" &
    wpids+=($!)
    pids+=($!)
  done
}
stop_workers() {
  kill "${wpids[@]}" 2>/dev/null || true
  for p in "${wpids[@]}"; do wait "$p" 2>/dev/null || true; done
}

declare -A rate
for W in 1 2 4; do
  fill "$RECORDS"
  "$SINK" --port "$SINK_PORT" --expect "$RECORDS" --timeout-s 300 >"$TMP/sink.$W" 2>/dev/null &
  sink=$!
  sleep 0.3 # the sink binds its port (it prints nothing until it exits)
  start_workers "$W"
  wait "$sink" || echo "bench: the sink did not get every record with $W workers" >&2
  stop_workers
  rate[$W]=$(sed -n 's/.*"posts_per_s":\([0-9.]*\).*/\1/p' "$TMP/sink.$W")
  echo "bench: $W worker(s): $(cat "$TMP/sink.$W")" >&2
done

"$SINK" --port "$SINK_PORT" --expect "$LAT_RECORDS" --timeout-s 300 >"$TMP/sink.lat" 2>/dev/null &
sink=$!
sleep 0.3
start_workers 1
"$LOAD" --ipc "$LOGSYS_IPC_URL" --count "$LAT_RECORDS" --level 1 >/dev/null
wait "$sink" || true
stop_workers
lat=$(cat "$TMP/sink.lat")
p50=$(echo "$lat" | sed -n 's/.*"latency_ms_p50":\([0-9.]*\).*/\1/p')
p99=$(echo "$lat" | sed -n 's/.*"latency_ms_p99":\([0-9.]*\).*/\1/p')

cat <<EOF

| workers | delivered records/s (${RECORDS} records, sink answering 200 at once) |
|---------|------------------------------------------------------------|
| 1 | ${rate[1]} |
| 2 | ${rate[2]} |
| 4 | ${rate[4]} |

logsys_log() -> sink, 1 worker, ${LAT_RECORDS} records from one client: p50 ${p50} ms, p99 ${p99} ms
EOF

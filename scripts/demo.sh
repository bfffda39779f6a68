#!/usr/bin/env bash
# scripts/demo.sh - logsys end to end on one machine, in about a minute.
#
# Installs what is missing, builds into build/, starts a private RabbitMQ
# (tests/support/rabbitmq.sh, in a temporary directory) and logsysd
# (LOGSYS_DOMAIN=demo.local; a coloured console on a terminal), sends one record
# per level with logsys-send and a burst through liblogsys (lsys-load), shows
# the queue depths, then starts local stand-ins for LogBeacon and the Telegram
# Bot API (tests/support/fake_sinks.py) and both workers, which empty the queues
# into them; stops everything again, also on Ctrl-C or an error.
# Environment: LOGSYS_DEMO_PORT (AMQP port, default 11710), LOGSYS_DEMO_BURST
# (records in the burst, default 500).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

port=${LOGSYS_DEMO_PORT:-11710}
burst=${LOGSYS_DEMO_BURST:-500}
say() {
  if [ -t 2 ]; then printf '\n\033[1m== %s\033[0m\n' "$*" >&2; else printf '\n== %s\n' "$*" >&2; fi
}

scripts/test.sh --deps
say "build"
cmake -S . -B build -DLOGSYS_WERROR=ON >/dev/null
cmake --build build -j "$(nproc)" >/dev/null
bin() { # bin NAME: path of a built binary
  find "$root/build" -type f -perm -u+x -name "$1" -print -quit
}
logsysd=$(bin logsysd)
send=$(bin logsys-send)
load=$(bin lsys-load)
worker=$(bin logsys-worker)
for b in "$logsysd" "$send" "$load" "$worker"; do
  [ -n "$b" ] || { echo "demo: a binary is missing after the build" >&2; exit 1; }
done

tmp=$(mktemp -d /tmp/logsys-demo.XXXXXX)
chmod 755 "$tmp"
rmq="$root/tests/support/rabbitmq.sh"
sidecar_pid=""
helper_pids=()
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  for p in "${helper_pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${helper_pids[@]}"; do wait "$p" 2>/dev/null || true; done
  if [ -n "$sidecar_pid" ] && kill -0 "$sidecar_pid" 2>/dev/null; then
    say "stop logsysd (SIGTERM)"
    kill -TERM "$sidecar_pid" 2>/dev/null || true
    local src=0
    wait "$sidecar_pid" 2>/dev/null || src=$?
    tail -n 2 "$tmp/logsysd.err" >&2 || true
    echo "logsysd exited $src" >&2
  fi
  say "stop RabbitMQ"
  "$rmq" stop "$tmp/rabbitmq" "$port" || true
  rm -rf "$tmp"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say "start a private RabbitMQ on 127.0.0.1:$port"
"$rmq" start "$tmp/rabbitmq" "$port"
amqp=$("$rmq" url "$tmp/rabbitmq" "$port")

console=plain
[ -t 1 ] && console=color
ipc="ipc://$tmp/logsys.sock"
say "start logsysd (domain demo.local, console $console)"
LOGSYS_DOMAIN=demo.local LOGSYS_IPC_URL="$ipc" LOGSYS_AMQP_URL="$amqp" LOGSYS_CONSOLE=$console \
  "$logsysd" 2>"$tmp/logsysd.err" &
sidecar_pid=$!
deadline=$((SECONDS + 20))
until grep -q '^logsysd: ready' "$tmp/logsysd.err" 2>/dev/null; do
  if ! kill -0 "$sidecar_pid" 2>/dev/null || [ $SECONDS -ge $deadline ]; then
    echo "demo: logsysd did not become ready:" >&2
    cat "$tmp/logsysd.err" >&2
    exit 1
  fi
  sleep 0.1
done
cat "$tmp/logsysd.err" >&2

say "one record per level with logsys-send (console lines come from logsysd)"
for lv in 0 1 9 11 91 99; do
  "$send" --ipc "$ipc" --program demo-app --level "$lv" --def-name "demo_level_$lv" \
    --message "hello from level $lv" --extra "demo.sh" --hash "demo-order-42"
done

say "a burst of $burst records through liblogsys (lsys-load)"
"$load" --ipc "$ipc" --count "$burst" --level 1 --program demo-burst \
  --hash-prefix demo-burst >"$tmp/load.json"
cat "$tmp/load.json"

say "queue depths (rabbitmqctl list_queues)"
"$rmq" ctl "$tmp/rabbitmq" "$port" list_queues -q name messages 2>/dev/null
echo "expected: demo.local_logbeacon $((4 + burst)), demo.local_tg 4 (9: developer, 11: customer, 91: both)"

say "start stand-ins for LogBeacon and the Telegram Bot API (tests/support/fake_sinks.py)"
sinks="$root/tests/support/fake_sinks.py"
for kind in logbeacon telegram; do
  /usr/bin/python3 "$sinks" --kind "$kind" --port 0 --port-file "$tmp/$kind.port" >"$tmp/$kind.log" 2>&1 &
  helper_pids+=($!)
done
deadline=$((SECONDS + 15))
until [ -s "$tmp/logbeacon.port" ] && [ -s "$tmp/telegram.port" ]; do
  [ $SECONDS -lt $deadline ] || { echo "demo: the stand-in sinks did not start" >&2; exit 1; }
  sleep 0.1
done
lb="http://127.0.0.1:$(cat "$tmp/logbeacon.port")"
tg="http://127.0.0.1:$(cat "$tmp/telegram.port")"

say "start logsys-worker logbeacon and logsys-worker telegram"
for kind in logbeacon telegram; do
  LOGSYS_DOMAIN=demo.local LOGSYS_AMQP_URL="$amqp" LOGSYS_LOGBEACON_URL="$lb/ingest" \
    LOGSYS_TG_API_BASE="$tg" LOGSYS_TG_DEV_TOKEN=123456:demo-developer-token LOGSYS_TG_DEV_CHAT_ID=-1001 \
    LOGSYS_TG_CUSTOMER_TOKEN=654321:demo-customer-token LOGSYS_TG_CUSTOMER_CHAT_ID=-1002 \
    LOGSYS_STATUS_INTERVAL_S=0 "$worker" "$kind" 2>"$tmp/worker-$kind.err" &
  helper_pids+=($!)
done
count() { # count URL: requests a stand-in answered 200
  curl -s "$1/_received" | /usr/bin/python3 -c 'import json,sys; print(sum(r["status"] == 200 for r in json.load(sys.stdin)))'
}
deadline=$((SECONDS + 60))
until [ "$(count "$lb")" -ge $((4 + burst)) ] && [ "$(count "$tg")" -ge 4 ]; do
  [ $SECONDS -lt $deadline ] || { echo "demo: the workers did not deliver everything in time" >&2; break; }
  sleep 0.2
done
cat "$tmp"/worker-*.err >&2
echo "LogBeacon stand-in received $(count "$lb") posts (expected $((4 + burst))); Telegram stand-in $(count "$tg") messages (expected 4)"
say "one Telegram message as the Bot API received it"
curl -s "$tg/_received" | /usr/bin/python3 -c 'import json,sys; r=json.load(sys.stdin)[0]; print(json.dumps(r["body"], ensure_ascii=False, indent=1))'
say "queue depths after delivery"
"$rmq" ctl "$tmp/rabbitmq" "$port" list_queues -q name messages 2>/dev/null

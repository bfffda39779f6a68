#!/usr/bin/env bash
# scripts/demo.sh - logsys end to end on one machine, in about a minute.
#
# Installs what is missing, builds into build/, starts a private RabbitMQ
# (tests/support/rabbitmq.sh, in a temporary directory) and logsysd
# (LOGSYS_DOMAIN=demo.local; a coloured console on a terminal), sends one record
# per level with logsys-send and a burst through liblogsys (lsys-load), shows
# the queue depths and stops everything again, also on Ctrl-C or an error.
# Environment: LOGSYS_DEMO_PORT (AMQP port, default 35710), LOGSYS_DEMO_BURST
# (records in the burst, default 500).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

port=${LOGSYS_DEMO_PORT:-35710}
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
for b in "$logsysd" "$send" "$load"; do
  [ -n "$b" ] || { echo "demo: a binary is missing after the build" >&2; exit 1; }
done

tmp=$(mktemp -d /tmp/logsys-demo.XXXXXX)
chmod 755 "$tmp"
rmq="$root/tests/support/rabbitmq.sh"
sidecar_pid=""
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
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

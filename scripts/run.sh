#!/usr/bin/env bash
# `make run`: the whole system on the embedded default (SQLite, ORM task broker, local lake) on this machine.
#
# Ctrl-C (or SIGTERM) stops every part within STOP_TIMEOUT seconds: each part runs in a process group of its
# own and gets SIGTERM; what is still running after the timeout (a worker in the middle of a task, which
# django-q2 waits for however long the task takes) gets SIGKILL. The broker hands an interrupted task out
# again after Q_CLUSTER's retry delay. PORTAL_PORT, COLLECTOR_PORT and CLICKSTREAM_VAR_DIR move it elsewhere.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
export DJANGO_SETTINGS_MODULE=${DJANGO_SETTINGS_MODULE:-portal.settings.base}
export CLICKSTREAM_VAR_DIR=${CLICKSTREAM_VAR_DIR:-$PWD/var}
VAR=$CLICKSTREAM_VAR_DIR
PORTAL_PORT=${PORTAL_PORT:-8000}
COLLECTOR_PORT=${COLLECTOR_PORT:-8001}
STOP_TIMEOUT=${STOP_TIMEOUT:-6}
mkdir -p "$VAR/lake" "$VAR/log"

$PY manage.py migrate --no-input
$PY manage.py bootstrapadmin

groups=()
# setsid: each part leads a process group of its own (its pid is the group's id), so the terminal's Ctrl-C
# reaches only this script, and a SIGKILL to the group takes the part's children along (runserver's
# reloader child, the worker's sentinel and pool).
start() { setsid "$@" </dev/null & groups+=($!); }
running() {
  local group
  for group in "${groups[@]}"; do kill -0 -- "-$group" 2>/dev/null && return 0; done
  return 1
}
stop() {
  trap - INT TERM EXIT
  echo "Stopping (at most ${STOP_TIMEOUT} s)…"
  # SIGTERM to each part's leader only: it stops its own children in order. (django-q2's cluster never
  # finishes stopping when its sentinel and workers get SIGTERM too.)
  kill -TERM "${groups[@]}" 2>/dev/null || true
  local deadline=$((SECONDS + STOP_TIMEOUT)) group
  while running && ((SECONDS < deadline)); do sleep 0.1; done
  if running; then
    echo "Still running after ${STOP_TIMEOUT} s (a task in progress?): killing what is left."
    for group in "${groups[@]}"; do kill -KILL -- "-$group" 2>/dev/null || true; done
  fi
  wait 2>/dev/null || true
  exit "${1:-0}"
}
trap 'stop 130' INT
trap 'stop 143' TERM
trap 'stop $?' EXIT

start $PY manage.py qcluster >"$VAR/log/worker.log" 2>&1
# Local development: any page origin may send (still echoed), and data reaches the lake within 10 s.
start $PY -m ingestion serve --host 127.0.0.1 --port "$COLLECTOR_PORT" --sink "file://$VAR/lake" \
  --allowlist-file "$VAR/allowlist.json" --cors-origins "${COLLECTOR_CORS_ORIGINS:-*}" --batch-seconds 10 \
  >"$VAR/log/collector.log" 2>&1
start $PY manage.py runserver "127.0.0.1:$PORTAL_PORT"
echo "Collector:  http://127.0.0.1:$COLLECTOR_PORT/collect   (log: $VAR/log/collector.log)"
echo "Portal:     http://127.0.0.1:$PORTAL_PORT/            (sign in with the admin printed above on first run)"
echo "API docs:   http://127.0.0.1:$PORTAL_PORT/api/v1/docs/"
echo "Admin:      http://127.0.0.1:$PORTAL_PORT/admin/"
echo "Worker log: $VAR/log/worker.log — press Ctrl-C to stop everything."
# Until one part ends by itself (then the others are stopped too) or a signal arrives.
wait -n

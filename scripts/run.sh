#!/usr/bin/env bash
# `make run`: the whole system on the embedded default (SQLite, ORM task broker, local lake) on this machine.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
export DJANGO_SETTINGS_MODULE=${DJANGO_SETTINGS_MODULE:-portal.settings.base}
mkdir -p var/lake var/log

$PY manage.py migrate --no-input
$PY manage.py bootstrapadmin

pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM

$PY manage.py qcluster >var/log/worker.log 2>&1 &
pids+=($!)
if [ -f ingestion/__main__.py ]; then
  # Local development: any page origin may send (still echoed), and data reaches the lake within 10 s.
  $PY -m ingestion serve --host 127.0.0.1 --port 8001 --sink "file://$PWD/var/lake" \
    --allowlist-file var/allowlist.json --cors-origins "${COLLECTOR_CORS_ORIGINS:-*}" --batch-seconds 10 \
    >var/log/collector.log 2>&1 &
  pids+=($!)
  echo "Collector:  http://127.0.0.1:8001/collect   (log: var/log/collector.log)"
fi
echo "Portal:     http://127.0.0.1:8000/            (sign in with the admin printed above on first run)"
echo "API docs:   http://127.0.0.1:8000/api/v1/docs/"
echo "Admin:      http://127.0.0.1:8000/admin/"
echo "Worker log: var/log/worker.log — press Ctrl-C to stop everything."
$PY manage.py runserver 127.0.0.1:8000

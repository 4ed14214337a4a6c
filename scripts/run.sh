#!/usr/bin/env bash
# `make run`: the whole system on the embedded default (SQLite, ORM task broker, local lake) on this machine.
#
# The first-run set-up (migrations, a first admin) happens here; then scripts/supervise.py runs web, worker
# and collector, prefixes their lines with their names, restarts a part that dies and stops all of them on
# Ctrl-C (or SIGTERM) within STOP_TIMEOUT seconds. PORTAL_PORT, COLLECTOR_PORT and CLICKSTREAM_VAR_DIR move
# it elsewhere.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
export DJANGO_SETTINGS_MODULE=${DJANGO_SETTINGS_MODULE:-portal.settings.base}
export CLICKSTREAM_VAR_DIR=${CLICKSTREAM_VAR_DIR:-$PWD/var}
export PORTAL_PORT=${PORTAL_PORT:-8000}
export COLLECTOR_PORT=${COLLECTOR_PORT:-8001}
# The portal shows this endpoint in the SDK guide and asks the collector's /health beside it.
export CLICKSTREAM_INGESTION_ENDPOINT=${CLICKSTREAM_INGESTION_ENDPOINT:-http://127.0.0.1:$COLLECTOR_PORT/collect}
export PYTHONUNBUFFERED=1
mkdir -p "$CLICKSTREAM_VAR_DIR/lake" "$CLICKSTREAM_VAR_DIR/log"

$PY manage.py migrate --no-input
$PY manage.py bootstrapadmin
exec $PY scripts/supervise.py

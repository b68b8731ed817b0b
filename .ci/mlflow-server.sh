#!/usr/bin/env bash
# Start/stop a throwaway MLflow tracking server on loopback for the tracking tests.
#
#   eval "$(.ci/mlflow-server.sh start [DATA_DIR])"   # exports MLFLOW_TRACKING_URI, MLFLOW_SERVER_PID, MLFLOW_SERVER_DIR
#   cargo test --test tracking_server ...
#   .ci/mlflow-server.sh stop "$MLFLOW_SERVER_PID"
#
# Or source it and call mlflow_server_start / mlflow_server_stop.
# DISTML_MLFLOW_BIN: the mlflow executable (default /work/venv/bin/mlflow, pinned mlflow==3.17.2).
# Extra server flags can be passed after DATA_DIR (e.g. --app-name basic-auth).
set -euo pipefail

MLFLOW_BIN="${DISTML_MLFLOW_BIN:-/work/venv/bin/mlflow}"

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# Prints shell assignments; the server keeps running in the background.
mlflow_server_start() {
    local dir="${1:-$(mktemp -d -t distml-mlflow-XXXXXX)}"
    shift || true
    mkdir -p "$dir/artifacts"
    local port
    port="$(free_port)"
    local uri="http://127.0.0.1:$port"
    MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false nohup "$MLFLOW_BIN" server \
        --host 127.0.0.1 --port "$port" \
        --backend-store-uri "sqlite:///$dir/mlflow.db" \
        --artifacts-destination "$dir/artifacts" \
        --workers 1 "$@" >"$dir/server.log" 2>&1 </dev/null &
    local pid=$!
    local waited=0
    until curl -sf "$uri/health" >/dev/null 2>&1; do
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "mlflow server exited early; log:" >&2
            tail -n 30 "$dir/server.log" >&2
            return 1
        fi
        if [ "$waited" -ge 90 ]; then
            echo "mlflow server not healthy after 90 s; stopping it" >&2
            mlflow_server_stop "$pid"
            return 1
        fi
        sleep 1
        waited=$((waited + 1))
    done
    echo "mlflow server pid $pid ready at $uri after ${waited}s (log: $dir/server.log)" >&2
    echo "export MLFLOW_TRACKING_URI=$uri MLFLOW_SERVER_PID=$pid MLFLOW_SERVER_DIR=$dir"
}

descendants() {
    local child
    for child in $(pgrep -P "$1" 2>/dev/null || true); do
        descendants "$child"
        echo "$child"
    done
}

# Stops the server: every descendant first (deepest first), then the parent, by PID.
mlflow_server_stop() {
    local pid="$1"
    local children
    children="$(descendants "$pid")"
    for child in $children; do kill -TERM "$child" 2>/dev/null || true; done
    kill -TERM "$pid" 2>/dev/null || true
    local waited=0
    while [ "$waited" -lt 15 ]; do
        local alive=0
        for p in $children "$pid"; do
            if kill -0 "$p" 2>/dev/null; then alive=1; fi
        done
        [ "$alive" -eq 0 ] && return 0
        sleep 1
        waited=$((waited + 1))
    done
    for p in $children "$pid"; do kill -KILL "$p" 2>/dev/null || true; done
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    case "${1:-}" in
        start) shift; mlflow_server_start "$@" ;;
        stop) mlflow_server_stop "${2:?usage: $0 stop PID}" ;;
        *) echo "usage: $0 start [DATA_DIR [server flags...]] | stop PID" >&2; exit 2 ;;
    esac
fi

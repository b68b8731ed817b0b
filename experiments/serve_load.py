"""Serving throughput: `distml serve --replicas 2` (the taxi linear and gbt models) vs
`mlflow models serve --env-manager local --workers 2` serving the equivalent scikit-learn pipeline
(one-hot PU/DO zones + trip distance -> LinearRegression) trained on the same rows, in one
run. Load from `wrk` (Debian's package) over loopback, bounded: 10 s per case, 2 threads,
16 connections; 1-row and 1,000-row JSON requests of raw columns (dataframe_split); and the
1-row requests again at about half the saturating rate (paced connections), for p99 there.

Run by hand on a quiet machine (not in CI), with the CI venv (mlflow 3.17.2 + scikit-learn):
    apt-get install wrk && cargo build --release
    ~/.cache/distml/venv-mlflow-3.17.2/bin/python experiments/serve_load.py
"""
import json
import math
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
DISTML = ROOT / "target" / "release" / "distml"
SECONDS = int(os.environ.get("SECONDS_PER_CASE", "10"))
COLUMNS = ["PULocationID", "DOLocationID", "trip_distance"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(port, deadline=120):
    end = time.time() + deadline
    while time.time() < end:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                out = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                                      f"http://127.0.0.1:{port}/ping"], capture_output=True, text=True)
                if out.stdout == "200":
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"server on {port} never became ready")


def body(frame, rows):
    part = frame.head(rows)
    return json.dumps({"dataframe_split": {"columns": COLUMNS, "data": part[COLUMNS].values.tolist()}})


def load(port, payload, tmp, connections=16, delay_ms=None):
    """wrk for SECONDS; with delay_ms each connection waits that long between requests, so the
    offered load is about connections * 1000 / delay_ms requests/s (wrk paces in whole ms)."""
    script = Path(tmp) / "post.lua"
    pacing = f"function delay() return {delay_ms} end\n" if delay_ms else ""
    script.write_text('wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
                      f"wrk.body = {json.dumps(payload)}\n{pacing}")
    out = subprocess.run(["wrk", f"-t{min(2, connections)}", f"-c{connections}", f"-d{SECONDS}s", "--latency", "-s", script,
                          f"http://127.0.0.1:{port}/invocations"], capture_output=True, text=True,
                         timeout=SECONDS + 30).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    lat = dict(re.findall(r"\s+(50|99)%\s+([\d.]+\w+)", out))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return rps, lat.get("50"), lat.get("99"), int(errors.group(1)) if errors else 0


def train_distml(tmp, data, model):
    out = Path(tmp) / f"m_{model}"
    subprocess.run([DISTML, "train", "--data", data, "--model", model, "--workers", "0",
                    "--model-out", out], check=True, capture_output=True,
                   env={**os.environ, "DISTML_RUNS_DIR": str(Path(tmp) / "runs")})
    return out


def train_sklearn(tmp, frame):
    import mlflow.sklearn
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LinearRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder
    pipeline = make_pipeline(
        ColumnTransformer([("zones", OneHotEncoder(handle_unknown="ignore"), COLUMNS[:2])],
                          remainder="passthrough"),
        LinearRegression())
    pipeline.fit(frame[COLUMNS], frame.duration)
    path = Path(tmp) / "sk_model"
    mlflow.sklearn.save_model(pipeline, path, input_example=frame[COLUMNS].head(2))
    return path


def serve(cmd, port, log):
    # mlflow starts uvicorn from PATH: the venv's bin first.
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=open(log, "w"), env=env)
    try:
        wait_ready(port)
    except RuntimeError:
        proc.kill()
        sys.exit(f"{cmd[0]} did not start:\n{Path(log).read_text()[-3000:]}")
    return proc


def main():
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "trips.parquet"
        subprocess.run([DISTML, "generate", "taxi", "--rows", "200000", "--out", data],
                       check=True, capture_output=True)
        frame = pd.read_parquet(data)
        frame["duration"] = (frame.tpep_dropoff_datetime - frame.tpep_pickup_datetime).dt.total_seconds() / 60
        frame = frame[(frame.duration >= 1) & (frame.duration <= 60)]
        servers = [(f"distml serve --replicas 2, {m}", [DISTML, "serve", "--model", train_distml(tmp, data, m),
                                                        "--replicas", "2"], m) for m in ("linear", "gbt")]
        mlflow_bin = Path(sys.executable).parent / "mlflow"
        servers.append(("mlflow models serve, sklearn linear",
                        [mlflow_bin, "models", "serve", "-m", train_sklearn(tmp, frame), "--env-manager", "local",
                         "-h", "127.0.0.1", "--workers", "2"], "linear"))
        for name, cmd, model in servers:
            port = free_port()
            proc = serve([*map(str, cmd), "--port", str(port)], port, Path(tmp) / "server.log")
            try:
                for rows in (1, 1000):
                    rps, p50, p99, errors = load(port, body(frame, rows), tmp)
                    results.append((name, rows, rps, p50, p99, errors))
                    if rows == 1:
                        # Half the saturating load: paced connections (wrk paces in whole ms,
                        # and a connection's cycle is its pause plus the request), so the
                        # connection count is corrected once from the rate the first try got.
                        target = rps / 2
                        connections = max(2, math.ceil(target / 1000))
                        delay = max(1, round(connections * 1000 / target))
                        half = load(port, body(frame, rows), tmp, connections, delay_ms=delay)
                        if half[0] < 0.9 * target:
                            connections = math.ceil(connections * target / half[0])
                            half = load(port, body(frame, rows), tmp, connections, delay_ms=delay)
                        label = f"{name} @ half load ({connections} conn, {delay} ms pacing)"
                        results.append((label, rows, *half))
            finally:
                proc.terminate()
                proc.wait(timeout=60)
    print(f"serve_load: wrk -t2 -c16 -d{SECONDS}s per case, {os.cpu_count()} cores")
    print(f"{'server':<72}{'rows/req':>9}{'req/s':>10}{'rows/s':>12}{'p50':>10}{'p99':>10}{'non-2xx':>9}")
    for name, rows, rps, p50, p99, errors in results:
        print(f"{name:<72}{rows:>9}{rps:>10.0f}{rps * rows:>12.0f}{p50:>10}{p99:>10}{errors:>9}")


if __name__ == "__main__":
    main()

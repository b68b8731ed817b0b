"""Taxi trip duration with distml's worker processes: 1, 2 and 4 workers next to the
in-process trainer, same generated months, one table of wall-clock time and RMSE.

Run by hand (not in CI):
    cargo build --release
    python3 experiments/taxi_distributed.py [ROWS] [SOLVER]
SOLVER is normal (default), lbfgs or sgd. BSP fits must give the local RMSE (to 1e-9 for
normal equations); the time column shows what the processes and the protocol cost on one box.
"""
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DISTML = Path(os.environ.get("DISTML_BIN", ROOT / "target" / "release" / "distml"))
rows = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
solver = sys.argv[2] if len(sys.argv) > 2 else "normal"


def generate(tmp):
    paths = []
    for month, seed in [("2023-01", 1), ("2023-02", 2)]:
        path = Path(tmp) / f"yellow_{month}.parquet"
        subprocess.run([DISTML, "generate", "taxi", "--rows", str(rows), "--month", month,
                        "--seed", str(seed), "--out", path], check=True, capture_output=True)
        paths.append(path)
    return paths


def train(tmp, data, valid, extra):
    args = [DISTML, "train", "--data", data, "--valid", valid, "--solver", solver, *extra]
    start = time.perf_counter()
    out = subprocess.run(args, check=True, capture_output=True, text=True, cwd=tmp)
    seconds = time.perf_counter() - start
    summary = json.loads(out.stdout.strip().splitlines()[-1])
    return seconds, summary


def main():
    with tempfile.TemporaryDirectory() as tmp:
        data, valid = generate(tmp)
        runs = [("local (rayon)", [])]
        for workers in (1, 2, 4):
            runs.append((f"{workers} worker(s), 2 ps", ["--workers", str(workers),
                                                      "--ps-shards", "2"]))
        results = [(name, *train(tmp, data, valid, extra)) for name, extra in runs]
    base_rmse = results[0][2]["rmse"]
    print(f"taxi duration, {rows} rows/month, solver {solver}")
    print(f"{'trainer':<22}{'seconds':>10}{'train s':>10}{'RMSE':>12}{'ΔRMSE':>12}{'iters':>7}")
    for name, seconds, s in results:
        print(f"{name:<22}{seconds:>10.2f}{s['seconds']['train']:>10.2f}{s['rmse']:>12.5f}"
              f"{s['rmse'] - base_rmse:>12.2e}{s['iterations']:>7}")


if __name__ == "__main__":
    main()

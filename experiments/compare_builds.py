"""Two builds of distml on the same generated taxi months, one after the other, best of N:
the end-to-end linear job and the 3-fold x 6-point sweep of taxi_linear.py / taxi_sweep.py.
For "no speed regression" checks: build the old commit and the new one, then

    python experiments/compare_builds.py OLD_BIN NEW_BIN [ROWS] [RUNS]

Prints seconds (best and median) and the metric of each, which must be equal.
"""
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def jobs():
    return {
        "train": ["train", "--data", "jan.parquet", "--valid", "feb.parquet", "--model", "linear"],
        "tune": ["tune", "--data", "jan.parquet", "--model", "linear",
                 "--grid", "reg=0,0.01,0.1", "--grid", "elastic-net=0,0.5",
                 "--folds", "3", "--parallel", "2", "--metric", "rmse"],
    }


def main():
    old, new = sys.argv[1], sys.argv[2]
    rows = sys.argv[3] if len(sys.argv) > 3 else "1000000"
    runs = int(sys.argv[4]) if len(sys.argv) > 4 else 7
    work = Path(tempfile.mkdtemp(prefix="distml-compare-"))
    for month, seed, name in [("2023-01", "1", "jan"), ("2023-02", "2", "feb")]:
        subprocess.run([old, "generate", "taxi", "--rows", rows, "--month", month, "--seed", seed,
                        "--out", str(work / f"{name}.parquet")], check=True, capture_output=True)
    results = {}
    for job, args in jobs().items():
        for _ in range(runs):
            for label, binary in [("old", old), ("new", new)]:
                start = time.perf_counter()
                out = subprocess.run([binary] + args, cwd=work, capture_output=True, text=True,
                                     check=True)
                seconds = time.perf_counter() - start
                summary = json.loads(out.stdout.strip().splitlines()[-1])
                metric = summary["rmse"] if job == "train" else summary["best"]["metric"]
                results.setdefault((job, label), []).append((seconds, metric))
    print(f"{rows} rows, best and median of {runs} runs each, interleaved")
    for (job, label), values in results.items():
        times = sorted(v[0] for v in values)
        print(f"{job:6} {label:4} best {times[0]:.3f} s  median {times[len(times) // 2]:.3f} s"
              f"  metric {values[0][1]!r}")


if __name__ == "__main__":
    main()

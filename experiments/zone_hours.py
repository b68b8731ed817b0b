"""Trips and mean duration per pickup zone and hour: distml's map/reduce example
(`examples/zone_hours.rs`) vs pandas on one core (read_parquet + groupby), on the same
generated month, in one run; the groups and counts are checked to be identical.

Run by hand on a quiet machine (not in CI):
    bash experiments/setup.sh && cargo build --release --bins --examples
    experiments/.venv/bin/python experiments/zone_hours.py [ROWS]
"""
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
RELEASE = ROOT / "target" / "release"
rows = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000_000
REPEATS = int(os.environ.get("REPEATS", "3"))


def best_of(f):
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        result = f()
        times.append(time.perf_counter() - start)
    return min(times), result


def distml(data, out, workers=None):
    extra = ["--workers", str(workers)] if workers else []
    subprocess.run([RELEASE / "examples" / "zone_hours", "--input", data, "--out", out, *extra],
                   check=True, capture_output=True)
    return pd.read_csv(out)


def pandas_groupby(data):
    df = pd.read_parquet(data, columns=["tpep_pickup_datetime", "tpep_dropoff_datetime", "PULocationID"])
    df["duration"] = (df.tpep_dropoff_datetime - df.tpep_pickup_datetime).dt.total_seconds() / 60
    df = df[(df.duration >= 1) & (df.duration <= 60)]
    df["hour"] = df.tpep_pickup_datetime.dt.hour
    return df.groupby(["PULocationID", "hour"]).duration.agg(["count", "mean"]).reset_index()


def main():
    with tempfile.TemporaryDirectory() as tmp:
        data, out = Path(tmp) / "trips.parquet", Path(tmp) / "zone_hours.csv"
        subprocess.run([RELEASE / "distml", "generate", "taxi", "--rows", str(rows), "--out", data],
                       check=True, capture_output=True)
        local, ours = best_of(lambda: distml(data, out))
        two, _ = best_of(lambda: distml(data, out, workers=2))
        pandas, theirs = best_of(lambda: pandas_groupby(data))
    same = (ours[["PULocationID", "hour", "trips"]].values.tolist()
            == theirs[["PULocationID", "hour", "count"]].values.tolist())
    worst = (ours.mean_duration - theirs["mean"]).abs().max()
    print(f"zone_hours: {rows:,} trips, {len(ours):,} groups, best of {REPEATS}, {os.cpu_count()} cores; "
          f"same groups and counts: {same}; largest mean difference {worst:.1e} min")
    print(f"{'tool':<32}{'seconds':>9}{'x distml':>10}")
    for name, seconds in [("distml, in-process", local), ("distml, 2 worker processes", two),
                          ("pandas (one core)", pandas)]:
        print(f"{name:<32}{seconds:>9.3f}{seconds / local:>10.1f}")


if __name__ == "__main__":
    main()

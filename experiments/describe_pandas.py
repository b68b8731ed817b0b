"""Times distml describe against pandas read_parquet().describe() on the same generated file.

Usage: python experiments/describe_pandas.py [ROWS]   (needs pandas + pyarrow; run by hand)
Builds nothing: expects target/release/distml (cargo build --release).
"""
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

rows = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
import os
distml = Path(os.environ.get("DISTML_BIN", Path(__file__).resolve().parent.parent / "target" / "release" / "distml"))
with tempfile.TemporaryDirectory() as tmp:
    path = Path(tmp) / "yellow.parquet"
    subprocess.run([distml, "generate", "taxi", "--rows", str(rows), "--out", path], check=True, capture_output=True)

    def best_of(fn, n=3):
        times = []
        for _ in range(n):
            t = time.perf_counter(); fn(); times.append(time.perf_counter() - t)
        return min(times)

    t_distml = best_of(lambda: subprocess.run([distml, "describe", "--data", path, "--raw"], check=True, capture_output=True))
    t_pandas = best_of(lambda: pd.read_parquet(path).describe(include="all"))
    print(f"{'tool':<28}{'seconds':>10}{'rows/s':>14}{'ratio':>8}")
    for name, t in [("distml describe", t_distml), ("pandas read+describe(all)", t_pandas)]:
        print(f"{name:<28}{t:>10.3f}{rows / t:>14,.0f}{t / t_distml:>8.1f}x")

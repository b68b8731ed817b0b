"""LightGBM's batch prediction on the shape of `cargo bench --bench trees`'s scoring bench:
a model of 100 trees x 63 leaves trained on 200k taxi-like rows (trip distance and two
265-zone categorical features), then 1M rows predicted with 2 threads, best of 5.

Run by hand on a quiet machine, beside the bench, to compare the two figures:
    experiments/.venv/bin/python experiments/tree_predict.py
    cargo bench --bench trees -- score
"""
import time

import lightgbm as lgb
import numpy as np
import pandas as pd


def taxi(n, seed):
    r = np.random.default_rng(seed)
    d = np.round(-3.0 * np.log(1 - r.random(n)) * 100) / 100
    pu, do = r.integers(0, 265, n), r.integers(0, 265, n)
    effect = np.sin(np.arange(265) * 0.37) * 3
    y = 4 + 3.2 * d + effect[pu] - effect[do] + 3 * (r.random(n) - 0.5)
    zones = pd.CategoricalDtype(categories=range(265))
    x = pd.DataFrame({"trip_distance": d, "pu": pd.Series(pu).astype(zones), "do": pd.Series(do).astype(zones)})
    return x, y


def best_of(f, n=5):
    times = []
    for _ in range(n):
        start = time.perf_counter()
        f()
        times.append(time.perf_counter() - start)
    return min(times)


x, y = taxi(200_000, 11)
model = lgb.train({"objective": "regression", "num_leaves": 63, "num_threads": 2, "verbose": -1},
                  lgb.Dataset(x, y), 100)
rows, _ = taxi(1_000_000, 13)
codes = np.column_stack([rows.trip_distance.values, rows.pu.cat.codes.values,
                         rows["do"].cat.codes.values]).astype(np.float64)
print(f"LightGBM {lgb.__version__} predict, 1M rows, 100 trees x 63 leaves, 2 threads: "
      f"{best_of(lambda: model.predict(codes, num_threads=2)):.3f} s (float64 matrix), "
      f"{best_of(lambda: model.predict(rows, num_threads=2)):.3f} s (pandas frame)")

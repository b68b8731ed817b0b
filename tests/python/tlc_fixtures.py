"""Writes TLC-shaped files the way pandas/pyarrow do, and the pandas describe() of each.

Usage: python tlc_fixtures.py OUT_DIR  -> OUT_DIR/{yellow_pandas.parquet, yellow_2024.parquet,
green.csv, expected.json}. expected.json maps file name -> {"rows", "columns": {name: stats}}.
"""
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

out = Path(sys.argv[1])
out.mkdir(parents=True, exist_ok=True)
rng = np.random.default_rng(7)
n = 50_000
pickup = pd.Timestamp("2023-01-01") + pd.to_timedelta(rng.integers(0, 31 * 86400, n), unit="s")
minutes = rng.gamma(2.0, 7.0, n)
dropoff = pickup + pd.to_timedelta(np.round(minutes * 60), unit="s")
passengers = rng.choice([0.0, 1.0, 2.0, 3.0, np.nan], n, p=[0.02, 0.7, 0.15, 0.08, 0.05])
flag = rng.choice(["N", "Y", None], n, p=[0.9, 0.05, 0.05])
frame = pd.DataFrame({
    "VendorID": rng.integers(1, 3, n).astype("int64"),
    "tpep_pickup_datetime": pickup.astype("datetime64[ns]"),
    "tpep_dropoff_datetime": dropoff.astype("datetime64[ns]"),
    "passenger_count": passengers,
    "trip_distance": np.round(rng.exponential(3.0, n), 2),
    "store_and_fwd_flag": flag,
    "PULocationID": rng.integers(1, 266, n).astype("int64"),
    "DOLocationID": rng.integers(1, 266, n).astype("int64"),
    "fare_amount": np.round(rng.normal(15.0, 9.0, n), 2),
    "airport_fee": rng.choice([0.0, 1.25, np.nan], n, p=[0.85, 0.1, 0.05]),
})

# 1. pandas' own writer: ns timestamps, int64 ids, airport_fee.
frame.to_parquet(out / "yellow_pandas.parquet", index=False)

# 2. the 2024 drift: int32 ids, int64 passenger_count, Airport_fee, us timestamps, 3 row groups.
drift = frame.rename(columns={"airport_fee": "Airport_fee"})
table = pa.Table.from_pandas(drift, preserve_index=False)
table = table.set_column(table.schema.get_field_index("PULocationID"), "PULocationID",
                         table.column("PULocationID").cast(pa.int32()))
table = table.set_column(table.schema.get_field_index("DOLocationID"), "DOLocationID",
                         table.column("DOLocationID").cast(pa.int32()))
table = table.set_column(table.schema.get_field_index("passenger_count"), "passenger_count",
                         table.column("passenger_count").cast(pa.int64()))
pq.write_table(table, out / "yellow_2024.parquet", coerce_timestamps="us", row_group_size=20_000)

# 3. a green CSV as pandas writes it (lpep_ names, empty cells for nulls).
green = frame.rename(columns={"tpep_pickup_datetime": "lpep_pickup_datetime",
                              "tpep_dropoff_datetime": "lpep_dropoff_datetime"})
green.to_csv(out / "green.csv", index=False)


def describe(df):
    cols = {}
    for name in df.columns:
        s = df[name]
        stats = {"count": int(s.count()), "nulls": int(s.isna().sum())}
        if pd.api.types.is_numeric_dtype(s):
            stats.update(mean=float(s.mean()), std=float(s.std()), min=float(s.min()), max=float(s.max()))
        elif pd.api.types.is_datetime64_any_dtype(s):
            stats.update(min=s.min().isoformat(), max=s.max().isoformat())
        else:
            stats.update(min=str(s.dropna().min()), max=str(s.dropna().max()))
        cols[name] = stats
    return {"rows": len(df), "columns": cols}


expected = {
    "yellow_pandas.parquet": describe(pd.read_parquet(out / "yellow_pandas.parquet")),
    "yellow_2024.parquet": describe(pd.read_parquet(out / "yellow_2024.parquet")),
    "green.csv": describe(pd.read_csv(out / "green.csv", parse_dates=["lpep_pickup_datetime", "lpep_dropoff_datetime"])),
}
(out / "expected.json").write_text(json.dumps(expected))

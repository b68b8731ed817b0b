"""Taxi trip duration, linear regression: distml vs scikit-learn vs Spark MLlib (and LightGBM's
boosted trees as the non-linear reference), same data.

The reference recipe (DataTalksClub mlops-zoomcamp): duration = dropoff - pickup in minutes,
keep 1..60, PULocationID and DOLocationID one-hot, trip_distance numeric, RMSE on the next month.

Run by hand (not in CI):
    bash experiments/setup.sh && cargo build --release
    experiments/.venv/bin/python experiments/taxi_linear.py [ROWS]
Prints one table: end-to-end seconds (read + features + fit + validate), RMSE, ratio to distml.
"""
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
DISTML = Path(os.environ.get("DISTML_BIN", ROOT / "target" / "release" / "distml"))
rows = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000


def generate(tmp):
    paths = []
    for month, seed in [("2023-01", 1), ("2023-02", 2)]:
        path = Path(tmp) / f"yellow_{month}.parquet"
        subprocess.run([DISTML, "generate", "taxi", "--rows", str(rows), "--month", month,
                        "--seed", str(seed), "--out", path], check=True, capture_output=True)
        paths.append(path)
    return paths


def run_distml(train, valid):
    start = time.perf_counter()
    out = subprocess.run([DISTML, "train", "--data", train, "--valid", valid, "--model", "linear"],
                         check=True, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    summary = json.loads(out.stdout.strip().splitlines()[-1])
    return seconds, summary["rmse"]


def sklearn_frame(path):
    df = pd.read_parquet(path, columns=["tpep_pickup_datetime", "tpep_dropoff_datetime",
                                        "PULocationID", "DOLocationID", "trip_distance"])
    df["duration"] = (df.tpep_dropoff_datetime - df.tpep_pickup_datetime).dt.total_seconds() / 60
    df = df[(df.duration >= 1) & (df.duration <= 60)].copy()
    df[["PULocationID", "DOLocationID"]] = df[["PULocationID", "DOLocationID"]].astype(str)
    return df


def run_sklearn(train, valid):
    from sklearn.feature_extraction import DictVectorizer
    from sklearn.linear_model import LinearRegression
    from sklearn.metrics import root_mean_squared_error
    start = time.perf_counter()
    cols = ["PULocationID", "DOLocationID", "trip_distance"]
    tr, va = sklearn_frame(train), sklearn_frame(valid)
    dv = DictVectorizer()
    x_train = dv.fit_transform(tr[cols].to_dict(orient="records"))
    x_valid = dv.transform(va[cols].to_dict(orient="records"))
    model = LinearRegression().fit(x_train, tr.duration.values)
    rmse = root_mean_squared_error(va.duration.values, model.predict(x_valid))
    return time.perf_counter() - start, rmse


def run_lightgbm(train, valid):
    """Not a linear model: the gradient-boosted reference (DESIGN.md: ~6.3 on real green data)."""
    import lightgbm as lgb
    start = time.perf_counter()
    cols = ["PULocationID", "DOLocationID", "trip_distance"]
    tr, va = sklearn_frame(train), sklearn_frame(valid)
    for df in (tr, va):
        df[["PULocationID", "DOLocationID"]] = df[["PULocationID", "DOLocationID"]].astype(int).astype("category")
    va[["PULocationID", "DOLocationID"]] = va[["PULocationID", "DOLocationID"]].apply(
        lambda c: c.cat.set_categories(tr[c.name].cat.categories))
    model = lgb.train({"objective": "regression", "num_leaves": 63, "learning_rate": 0.1, "verbose": -1,
                       "num_threads": 2}, lgb.Dataset(tr[cols], tr.duration.values), num_boost_round=100)
    rmse = float(np.sqrt(np.mean((model.predict(va[cols]) - va.duration.values) ** 2)))
    return time.perf_counter() - start, rmse


def run_spark(train, valid):
    from pyspark.ml import Pipeline
    from pyspark.ml.evaluation import RegressionEvaluator
    from pyspark.ml.feature import OneHotEncoder, StringIndexer, VectorAssembler
    from pyspark.ml.regression import LinearRegression
    from pyspark.sql import SparkSession, functions as F
    start = time.perf_counter()
    spark = (SparkSession.builder.master("local[2]").appName("taxi_linear")
             .config("spark.driver.memory", "8g")
             .config("spark.sql.parquet.inferTimestampNTZ.enabled", "false")
             .config("spark.ui.enabled", "false").getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    session_seconds = time.perf_counter() - start

    def frame(path):
        df = spark.read.parquet(str(path))
        df = df.withColumn("duration", (F.col("tpep_dropoff_datetime").cast("long")
                                        - F.col("tpep_pickup_datetime").cast("long")) / 60.0)
        return df.filter((F.col("duration") >= 1) & (F.col("duration") <= 60))

    stages = [StringIndexer(inputCols=["PULocationID", "DOLocationID"], outputCols=["pu_i", "do_i"],
                            handleInvalid="keep"),
              OneHotEncoder(inputCols=["pu_i", "do_i"], outputCols=["pu_v", "do_v"], handleInvalid="keep"),
              VectorAssembler(inputCols=["pu_v", "do_v", "trip_distance"], outputCol="features"),
              LinearRegression(featuresCol="features", labelCol="duration", solver="normal")]
    model = Pipeline(stages=stages).fit(frame(train))
    rmse = RegressionEvaluator(labelCol="duration", metricName="rmse").evaluate(model.transform(frame(valid)))
    seconds = time.perf_counter() - start
    spark.stop()
    return seconds, rmse, session_seconds


def main():
    with tempfile.TemporaryDirectory() as tmp:
        train, valid = generate(tmp)
        results = [("distml", *run_distml(train, valid))]
        results.append(("scikit-learn", *run_sklearn(train, valid)))
        results.append(("LightGBM (100 trees)", *run_lightgbm(train, valid)))
        spark_seconds, spark_rmse, session = run_spark(train, valid)
        results.append(("Spark MLlib local[2]", spark_seconds, spark_rmse))
    base = results[0][1]
    print(f"taxi_linear: {rows:,} train rows, {rows:,} validation rows, {os.cpu_count()} cores")
    print(f"{'tool':<22}{'seconds':>10}{'val RMSE':>11}{'x distml':>10}")
    for name, seconds, rmse in results:
        print(f"{name:<22}{seconds:>10.2f}{rmse:>11.4f}{seconds / base:>10.1f}")
    print(f"(Spark seconds include {session:.1f} s of session start-up; LightGBM is boosted trees, not a linear model)")


if __name__ == "__main__":
    main()

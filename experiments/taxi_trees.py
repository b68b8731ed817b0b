"""Taxi trip duration with boosted trees and random forests: distml vs LightGBM, XGBoost,
scikit-learn and Spark MLlib on the same generated month, in one run.

Features: PULocationID and DOLocationID as categories (native categorical splits where the
tool has them) and trip_distance; duration 1..60 minutes; validation on the next month.

- gbt: 100 rounds, 63 leaves, learning rate 0.1, every other parameter at the tool's default.
  LightGBM and XGBoost grow leaf-wise with 63 leaves and split zones as categories;
  scikit-learn's HistGradientBoostingRegressor (63 leaf nodes) takes zones as numbers (it refuses
  categorical features with more than 255 categories; there are 265 zones); Spark's
  GBTRegressor grows depth-wise (maxDepth 6 = at most 64 leaves) with zones as categories.
- random forest: 20 trees of depth 12, a third of the features per node, bootstrapped.
- distml also runs with 2 worker processes and 1 parameter-server shard (the same model).

"LightGBM, per-round losses" also reports the training and validation loss after every
tree, as distml's fit does with --valid (its validation Dataset is built inside the timed fit,
as distml bins its validation rows inside its own). "train s" is the fit alone (distml's own `seconds.train`; for the Python tools the fit call,
after the frames are built); "total s" is the whole job: read, features, fit, validate.

Run by hand on a quiet machine (not in CI):
    bash experiments/setup.sh && cargo build --release
    experiments/.venv/bin/python experiments/taxi_trees.py [ROWS]     # SPARK=0 skips Spark
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
ZONES = ["PULocationID", "DOLocationID"]
COLS = ZONES + ["trip_distance"]
GBT = ["--model", "gbt", "--max-iter", "100", "--num-leaves", "63"]
FOREST = ["--model", "random-forest", "--num-trees", "20", "--max-depth", "12"]


def generate(tmp):
    paths = []
    for month, seed in [("2023-01", 1), ("2023-02", 2)]:
        path = Path(tmp) / f"yellow_{month}.parquet"
        subprocess.run([DISTML, "generate", "taxi", "--rows", str(rows), "--month", month,
                        "--seed", str(seed), "--out", path], check=True, capture_output=True)
        paths.append(path)
    return paths


def run_distml(train, valid, flags, workers=0):
    cluster = ["--workers", str(workers)] + (["--ps-shards", "1"] if workers else [])
    start = time.perf_counter()
    out = subprocess.run([DISTML, "train", "--data", train, "--valid", valid, *flags, *cluster],
                         check=True, capture_output=True, text=True,
                         env={**os.environ, "DISTML_RUNS_DIR": str(Path(train).parent / "runs")})
    total = time.perf_counter() - start
    summary = json.loads(out.stdout.strip().splitlines()[-1])
    return total, summary["seconds"]["train"], summary["rmse"]


def frame(path, categorical):
    df = pd.read_parquet(path, columns=["tpep_pickup_datetime", "tpep_dropoff_datetime", *COLS])
    df["duration"] = (df.tpep_dropoff_datetime - df.tpep_pickup_datetime).dt.total_seconds() / 60
    df = df[(df.duration >= 1) & (df.duration <= 60)].copy()
    if categorical:
        df[ZONES] = df[ZONES].astype(pd.CategoricalDtype(categories=list(range(1, 266))))
    return df


def rmse(pred, truth):
    return float(np.sqrt(np.mean((np.asarray(pred) - truth) ** 2)))


def timed_fit(train, valid, categorical, fit, predict):
    """(total seconds, fit seconds, validation RMSE) of a pandas-frame tool."""
    start = time.perf_counter()
    tr, va = frame(train, categorical), frame(valid, categorical)
    fit_start = time.perf_counter()
    model = fit(tr[COLS], tr.duration.values)
    fit_seconds = time.perf_counter() - fit_start
    score = rmse(predict(model, va[COLS]), va.duration.values)
    return time.perf_counter() - start, fit_seconds, score


def run_lightgbm(train, valid):
    import lightgbm as lgb
    params = {"objective": "regression", "num_leaves": 63, "learning_rate": 0.1,
              "num_threads": 2, "verbose": -1}
    return timed_fit(train, valid, True,
                     lambda x, y: lgb.train(params, lgb.Dataset(x, y), num_boost_round=100),
                     lambda m, x: m.predict(x))


def run_lightgbm_tracked(train, valid):
    """LightGBM doing what distml's fit does each round with --valid: the training and the
    validation loss after every tree (valid_sets), timed over the Datasets and the fit."""
    import lightgbm as lgb
    params = {"objective": "regression", "num_leaves": 63, "learning_rate": 0.1,
              "num_threads": 2, "verbose": -1}

    va = frame(valid, True)

    def fit(x, y):
        dtrain = lgb.Dataset(x, y)
        dvalid = lgb.Dataset(va[COLS], va.duration.values, reference=dtrain)
        return lgb.train(params, dtrain, num_boost_round=100, valid_sets=[dtrain, dvalid])
    return timed_fit(train, valid, True, fit, lambda m, x: m.predict(x))


def run_xgboost(train, valid):
    import xgboost as xgb
    params = {"tree_method": "hist", "grow_policy": "lossguide", "max_leaves": 63, "max_depth": 0,
              "eta": 0.1, "nthread": 2, "max_cat_to_onehot": 4}
    return timed_fit(train, valid, True,
                     lambda x, y: xgb.train(params, xgb.DMatrix(x, y, enable_categorical=True), 100),
                     lambda m, x: m.predict(xgb.DMatrix(x, enable_categorical=True)))


def run_sklearn_hgb(train, valid):
    from sklearn.ensemble import HistGradientBoostingRegressor
    model = HistGradientBoostingRegressor(max_iter=100, max_leaf_nodes=63, learning_rate=0.1,
                                          early_stopping=False)
    return timed_fit(train, valid, False, lambda x, y: model.fit(x, y), lambda m, x: m.predict(x))


def run_sklearn_forest(train, valid):
    from sklearn.ensemble import RandomForestRegressor
    model = RandomForestRegressor(n_estimators=20, max_depth=12, max_features=1 / 3, n_jobs=2,
                                  random_state=42)
    return timed_fit(train, valid, False, lambda x, y: model.fit(x, y), lambda m, x: m.predict(x))


def spark_session():
    from pyspark.sql import SparkSession
    spark = (SparkSession.builder.master("local[2]").appName("taxi_trees")
             .config("spark.driver.memory", "8g")
             .config("spark.sql.parquet.inferTimestampNTZ.enabled", "false")
             .config("spark.ui.enabled", "false").getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def run_spark(spark, train, valid, estimator):
    """Zones through StringIndexer, so the trees see them as categories (maxBins >= 266)."""
    from pyspark.ml import Pipeline
    from pyspark.ml.evaluation import RegressionEvaluator
    from pyspark.ml.feature import StringIndexer, VectorAssembler
    from pyspark.sql import functions as F

    def frame_of(path):
        df = spark.read.parquet(str(path))
        df = df.withColumn("duration", (F.col("tpep_dropoff_datetime").cast("long")
                                        - F.col("tpep_pickup_datetime").cast("long")) / 60.0)
        return df.filter((F.col("duration") >= 1) & (F.col("duration") <= 60))

    start = time.perf_counter()
    prep = Pipeline(stages=[
        StringIndexer(inputCols=ZONES, outputCols=["pu_i", "do_i"], handleInvalid="keep"),
        VectorAssembler(inputCols=["pu_i", "do_i", "trip_distance"], outputCol="features")])
    tr = frame_of(train)
    prepared = prep.fit(tr)
    tr = prepared.transform(tr).select("features", "duration").cache()
    tr.count()
    fit_start = time.perf_counter()
    model = estimator.fit(tr)
    fit_seconds = time.perf_counter() - fit_start
    va = prepared.transform(frame_of(valid))
    score = RegressionEvaluator(labelCol="duration", metricName="rmse").evaluate(model.transform(va))
    tr.unpersist()
    return time.perf_counter() - start, fit_seconds, score


def main():
    with_spark = os.environ.get("SPARK", "1") != "0"
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        train, valid = generate(tmp)
        results.append(("gbt", "distml", *run_distml(train, valid, GBT)))
        results.append(("gbt", "distml 2 workers + 1 shard", *run_distml(train, valid, GBT, 2)))
        results.append(("gbt", "LightGBM", *run_lightgbm(train, valid)))
        results.append(("gbt", "LightGBM, per-round losses", *run_lightgbm_tracked(train, valid)))
        results.append(("gbt", "XGBoost hist", *run_xgboost(train, valid)))
        results.append(("gbt", "scikit-learn HistGB", *run_sklearn_hgb(train, valid)))
        results.append(("forest", "distml", *run_distml(train, valid, FOREST)))
        results.append(("forest", "scikit-learn", *run_sklearn_forest(train, valid)))
        if with_spark:
            from pyspark.ml.regression import GBTRegressor, RandomForestRegressor
            spark = spark_session()
            gbt = GBTRegressor(labelCol="duration", maxIter=100, maxDepth=6, stepSize=0.1, maxBins=270)
            forest = RandomForestRegressor(labelCol="duration", numTrees=20, maxDepth=12, maxBins=270,
                                           featureSubsetStrategy="onethird", seed=42)
            results.append(("gbt", "Spark MLlib local[2]", *run_spark(spark, train, valid, gbt)))
            results.append(("forest", "Spark MLlib local[2]", *run_spark(spark, train, valid, forest)))
            spark.stop()
    print(f"taxi_trees: {rows:,} train rows, {rows:,} validation rows, {os.cpu_count()} cores")
    print(f"{'model':<8}{'tool':<28}{'total s':>9}{'train s':>9}{'val RMSE':>10}"
          f"{'train x distml':>16}{'RMSE vs distml':>16}")
    for model in ("gbt", "forest"):
        rows_of = [r for r in results if r[0] == model]
        _, _, _, base_train, base_rmse = rows_of[0]
        for _, tool, total, fit, score in rows_of:
            print(f"{model:<8}{tool:<28}{total:>9.2f}{fit:>9.2f}{score:>10.4f}"
                  f"{fit / base_train:>16.2f}{(score / base_rmse - 1) * 100:>+15.2f}%")


if __name__ == "__main__":
    main()

"""Oracle figures of tests/train_cli.rs, computed independently of distml with scikit-learn.

1. The taxi duration job: `distml generate taxi --rows 60000 --month 2023-01 --seed 1` to
   train, `--rows 30000 --month 2023-02 --seed 2` to validate; the course's recipe (duration
   in minutes kept in 1..=60, PU/DO as one-hot categories via DictVectorizer, trip_distance)
   with Ridge, whose solution is unique (plain least squares on one-hot zones plus an
   intercept is rank-deficient: its solutions agree on rows in the training design's row
   space, but a zone unseen in training is extrapolated by each library's own convention).
   MLlib's ridge `reg` with standardization is Ridge(alpha = reg * n) on features divided by
   their sample std; validation RMSE, MAE, R2.
2. The logistic job of the test: `score,segment,label` rows built by the formula below (train:
   i in 0..4000, valid: i in 4000..6000), LogisticRegression with C = 1 / (reg * n), reg 0.001
   (MLlib's regParam with standardization on: the penalty is on standardised coefficients,
   so features are scaled by their sample std); validation log-loss, AUC, accuracy.

Run: python tests/python/train_oracle.py JAN.parquet FEB.parquet   (scikit-learn 1.9.1)
"""
import sys

import numpy as np
import pandas as pd
from sklearn.feature_extraction import DictVectorizer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import log_loss, mean_absolute_error, r2_score, roc_auc_score


def taxi(path):
    df = pd.read_parquet(path, columns=["tpep_pickup_datetime", "tpep_dropoff_datetime",
                                        "PULocationID", "DOLocationID", "trip_distance"])
    minutes = (df.tpep_dropoff_datetime - df.tpep_pickup_datetime).dt.total_seconds() / 60
    df = df.assign(duration=minutes)
    df = df[(df.duration >= 1) & (df.duration <= 60) & df.trip_distance.notna()].copy()
    df[["PULocationID", "DOLocationID"]] = df[["PULocationID", "DOLocationID"]].astype(str)
    records = df[["PULocationID", "DOLocationID", "trip_distance"]].to_dict(orient="records")
    return records, df.duration.to_numpy()


def ridge(jan, feb, reg):
    dv = DictVectorizer(sparse=False)
    xt, yt = taxi(jan)
    xv, yv = taxi(feb)
    xt = dv.fit_transform(xt)
    scale = xt.std(axis=0, ddof=1)
    scale[scale == 0] = 1.0
    model = Ridge(alpha=reg * len(yt), solver="cholesky").fit(xt / scale, yt)
    p = model.predict(dv.transform(xv) / scale)
    print(f"taxi ridge reg {reg}: rows", len(yt), len(yv))
    print(f"  rmse {float(np.sqrt(np.mean((p - yv) ** 2)))!r}")
    print(f"  mae {float(mean_absolute_error(yv, p))!r}")
    print(f"  r2 {float(r2_score(yv, p))!r}")


def logistic_rows(range_):
    score = np.array([(i % 100) / 10.0 for i in range_])
    label = np.array([int(s + (3.0 if i % 7 == 0 else 0.0) > 5.0) for s, i in zip(score, range_)])
    segment = np.array([i % 2 for i in range_])  # "a", "b"
    return score, segment, label


def logistic():
    st, gt, yt = logistic_rows(range(0, 4000))
    sv, gv, yv = logistic_rows(range(4000, 6000))
    # distml's features: score, then the segment one-hot (both categories, plus an intercept).
    xt = np.column_stack([st, gt == 0, gt == 1]).astype(float)
    xv = np.column_stack([sv, gv == 0, gv == 1]).astype(float)
    scale = xt.std(axis=0, ddof=1)
    n, reg = len(yt), 0.001
    model = LogisticRegression(C=1.0 / (reg * n), tol=1e-12, max_iter=100000)
    model.fit(xt / scale, yt)
    p = model.predict_proba(xv / scale)[:, 1]
    print(f"logistic: logloss {float(log_loss(yv, p))!r}")
    print(f"  auc {float(roc_auc_score(yv, p))!r}")
    print(f"  accuracy {float(np.mean((p > 0.5) == yv))!r}")


if __name__ == "__main__":
    ridge(sys.argv[1], sys.argv[2], 0.001)
    logistic()

"""Oracle figures of tests/tune_sweep.rs (every_trial_of_a_kfold_sweep_matches_scikit_learn).

Mean 3-fold CV RMSE of a 3x2 elastic-net grid on tests/fixtures/diabetes.csv, computed
independently of distml with scikit-learn, on the folds distml cuts (tests/fixtures/
diabetes.folds.txt, one fold number per row). MLlib's objective with `standardization` is
scikit-learn's ElasticNet on features divided by each training fold's sample standard
deviation (ddof=1): 1/(2n)|y - Xw - b|^2 + alpha(l1_ratio |w|_1 + (1 - l1_ratio)/2 |w|^2).

Run: python tests/python/tune_oracle.py   (scikit-learn 1.9.1, numpy, pandas)
"""
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.linear_model import ElasticNet, LinearRegression

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
FEATURES = ["age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6"]


def fold_rmse(x, y, folds, held, reg, en):
    train, valid = folds != held, folds == held
    scale = x[train].std(axis=0, ddof=1)
    xt, xv = x[train] / scale, x[valid] / scale
    if reg == 0:
        model = LinearRegression()
    else:
        model = ElasticNet(alpha=reg, l1_ratio=en, tol=1e-14, max_iter=1_000_000)
    model.fit(xt, y[train])
    return float(np.sqrt(np.mean((model.predict(xv) - y[valid]) ** 2)))


def main():
    frame = pd.read_csv(FIXTURES / "diabetes.csv")
    x = frame[FEATURES].to_numpy(dtype=float)
    y = frame["target"].to_numpy(dtype=float)
    folds = np.loadtxt(FIXTURES / "diabetes.folds.txt", dtype=int)
    assert len(folds) == len(y)
    for reg in [0, 0.1, 1]:
        for en in [0, 0.5]:
            rmse = np.mean([fold_rmse(x, y, folds, k, reg, en) for k in range(3)])
X


if __name__ == "__main__":
    main()

"""Oracle figures of tests/model_sklearn.rs (sgd_follows_full_batch_adam_exactly).

distml's SGD with one block and a batch as large as the block takes one Adam step per epoch
on the full gradient, so its objective history is full-batch Adam (Kingma & Ba 2015: beta1
0.9, beta2 0.999, eps 1e-8) on MLlib's standardised least-squares objective. This replays it
in NumPy, independently of distml: features = diabetes standardised with the population std,
no intercept (an intercept starts at its optimum, the label mean, where its gradient is
rounding noise that Adam's normalised step would amplify differently in any two programs);
the solver's coordinates theta_j = beta_j * s_j (s_j the sample std); start beta = 0;
objective = mean of 0.5 * residual^2.

Run: python tests/python/sgd_oracle.py   (numpy, pandas)
"""
from pathlib import Path

import numpy as np
import pandas as pd

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def main():
    frame = pd.read_csv(FIXTURES / "diabetes.csv")
    x = frame.iloc[:, :-1].to_numpy(dtype=float)
    y = frame.iloc[:, -1].to_numpy(dtype=float)
    x = (x - x.mean(axis=0)) / x.std(axis=0)
    n = len(y)
    s = x.std(axis=0, ddof=1)
    u = np.zeros(x.shape[1])
    m, v, lr = np.zeros_like(u), np.zeros_like(u), 0.5

    def value_and_grad(u):
        r = x @ (u / s) - y
        return 0.5 * (r @ r) / n, (x.T @ r / n) / s

    history = [value_and_grad(u)[0]]
    for t in range(1, 301):
        _, g = value_and_grad(u)
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g * g
        u = u - lr * (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t)) + 1e-8)
        history.append(value_and_grad(u)[0])
    for epoch in [0, 1, 10, 100, 300]:
        print(f"    ({epoch}, {float(history[epoch])!r}),")


if __name__ == "__main__":
    main()

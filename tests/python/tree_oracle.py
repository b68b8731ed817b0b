"""Oracle figures of tests/trees_oracle.rs, computed independently of distml.

The table: rows i in 0..600 with integer features
    a = (7 i) mod 13,  b = (5 i) mod 9,  c = (i^2) mod 11
and label
    y = 3 a + (b - 4)^2 - 2 c [a > 6] + sin(i)        (sin in radians)
Integer features with ~46 rows per value: every distinct value is a bin of its own in
distml, LightGBM and scikit-learn alike, so the libraries search the same thresholds.

1. scikit-learn DecisionTreeRegressor(max_depth=4): predictions of the probe rows.
2. LightGBM (objective regression, 10 rounds, num_leaves 7, learning_rate 0.1,
   min_data_in_leaf 5): predictions of the probe rows.
Run: python tests/python/tree_oracle.py   (scikit-learn 1.7.2, LightGBM 4.6.0)
3. LightGBM binary (label y > 20): probabilities; 4. LightGBM with `a` categorical;
5. LightGBM with c missing in rows i mod 7 == 0 (and in every other probe row).
Probe rows: (a, b, c) for a in {0, 3, 7, 12}, b in {0, 4, 8}, c in {0, 5, 10}.
"""
import math
import numpy as np
import sklearn, lightgbm as lgb
from sklearn.tree import DecisionTreeRegressor

i = np.arange(600)
a = (7 * i) % 13
b = (5 * i) % 9
c = (i * i) % 11
y = 3 * a + (b - 4) ** 2 - 2 * c * (a > 6) + np.sin(i)
X = np.column_stack([a, b, c]).astype(float)
probe = np.array([[pa, pb, pc] for pa in (0, 3, 7, 12) for pb in (0, 4, 8) for pc in (0, 5, 10)], dtype=float)

tree = DecisionTreeRegressor(max_depth=4, random_state=0).fit(X, y)
print("sklearn", sklearn.__version__)
print("tree", [repr(v) for v in tree.predict(probe)])

params = dict(objective="regression", n_estimators=10, num_leaves=7, learning_rate=0.1,
              min_child_samples=5, min_child_weight=1e-3, reg_lambda=0.0, max_bin=255,
              min_data_in_bin=3, verbose=-1, num_threads=1, deterministic=True, force_col_wise=True)
g = lgb.LGBMRegressor(**params).fit(X, y)
print("lightgbm", lgb.__version__)
print("gbt", [repr(v) for v in g.predict(probe)])

# 3. LightGBM binary: label y > 20, same rounds/leaves: probabilities of the probe rows.
binary = lgb.LGBMClassifier(**{**params, "objective": "binary"}).fit(X, (y > 20).astype(int))
print("binary", [repr(v) for v in binary.predict_proba(probe)[:, 1]])

# 4. LightGBM with `a` as a categorical feature (13 categories; many-vs-many splits by the
#    gradient/hessian ratio order, cat_smooth 10, cat_l2 10, min_data_per_group 100).
cat = lgb.LGBMRegressor(**params, max_cat_to_onehot=4, cat_smooth=10.0, cat_l2=10.0,
                        min_data_per_group=100, max_cat_threshold=32)
cat.fit(X, y, categorical_feature=[0])
print("categorical", [repr(v) for v in cat.predict(probe)])

# 5. LightGBM with c missing (NaN) in rows i mod 7 == 0: NaN learns its side at each split.
Xm = X.copy()
Xm[i % 7 == 0, 2] = np.nan
probe_m = probe.copy()
probe_m[::2, 2] = np.nan
missing = lgb.LGBMRegressor(**params).fit(Xm, y)
print("missing", [repr(v) for v in missing.predict(probe_m)])

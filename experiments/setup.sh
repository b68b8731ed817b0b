#!/usr/bin/env bash
# Creates experiments/.venv with distml's peers: Spark MLlib (pyspark, needs a Java 17 JRE),
# scikit-learn, LightGBM, XGBoost, pandas, pyarrow. Run by hand: bash experiments/setup.sh
set -euo pipefail
cd "$(dirname "$0")"
python3 -m venv .venv
.venv/bin/pip install --quiet --disable-pip-version-check \
  "pyspark==4.0.1" "scikit-learn==1.7.2" "lightgbm==4.6.0" "xgboost-cpu==3.2.0" "pandas==2.3.3" "pyarrow==21.0.0"
.venv/bin/python -c "import pyspark, sklearn, lightgbm, xgboost; print('pyspark', pyspark.__version__, 'sklearn', sklearn.__version__, 'lightgbm', lightgbm.__version__, 'xgboost', xgboost.__version__)"

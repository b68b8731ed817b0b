//! distml's learners through linfa's traits on scikit-learn's diabetes data:
//! `cargo run --example linfa_diabetes`.

use distml::eval::regression_metrics;
use distml::model::glm::{LinearRegression, PoissonRegression};
use linfa::prelude::*;
use ndarray::{Array1, Array2};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/diabetes.csv");
    let text = std::fs::read_to_string(path)?;
    let mut lines = text.lines();
    let header: Vec<String> = lines
        .next()
        .ok_or("empty file")?
        .split(',')
        .map(String::from)
        .collect();
    let rows: Vec<Vec<f64>> = lines
        .map(|l| l.split(',').map(str::parse).collect::<Result<_, _>>())
        .collect::<Result<_, _>>()?;
    let p = header.len() - 1;
    let x = Array2::from_shape_fn((rows.len(), p), |(i, j)| rows[i][j]);
    let y: Array1<f64> = rows.iter().map(|r| r[p]).collect();
    let (train, valid) = Dataset::new(x, y)
        .with_feature_names(header[..p].to_vec())
        .split_with_ratio(0.8);

    for (name, params) in [
        ("ols", LinearRegression::params()),
        ("ridge", LinearRegression::params().reg(0.1)),
        (
            "lasso",
            LinearRegression::params().reg(0.5).elastic_net(1.0),
        ),
        ("poisson", PoissonRegression::params().reg(0.01)),
    ] {
        let model = params.fit(&train)?;
        let predicted: Array1<f64> = Predict::predict(&model, valid.records());
        let m = regression_metrics(
            valid.targets().as_slice().unwrap(),
            predicted.as_slice().unwrap(),
        );
        println!(
            "{name:8} valid RMSE {:7.3}  MAE {:7.3}  R² {:.4}",
            m.rmse, m.mae, m.r2
        );
    }
    Ok(())
}

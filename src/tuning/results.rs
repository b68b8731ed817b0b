//! The sweep's result files: `search_results.csv` and `best_parameters.json`.

use std::path::Path;

use super::summary::BestTrial;
use super::trial::TrialResult;
use super::Metric;

/// `search_results.csv`: `params` (JSON), `param.<key>` columns, `avg_<metric>`,
/// `std_<metric>`, status, iterations and run id, one row per trial.
pub fn search_results_csv(trials: &[TrialResult], metric: Metric) -> String {
    let mut keys: Vec<String> = Vec::new();
    for t in trials {
        for k in t.params.keys() {
            if !keys.contains(k) {
                keys.push(k.clone());
            }
        }
    }
    let m = metric.name();
    let mut header = vec!["params".to_string()];
    header.extend(keys.iter().map(|k| format!("param.{k}")));
    header.extend([
        format!("avg_{m}"),
        format!("std_{m}"),
        "status".into(),
        "iterations".into(),
        "run_id".into(),
        "error".into(),
    ]);
    let mut out = header.join(",") + "\n";
    for t in trials {
        let mut row = vec![quote(
            &serde_json::Value::Object(t.params.clone()).to_string(),
        )];
        for k in &keys {
            row.push(t.params.get(k).map(plain).unwrap_or_default());
        }
        let num = |x: Option<f64>| x.map(|v| v.to_string()).unwrap_or_default();
        row.push(num(t.metric));
        row.push(num(t.std));
        row.push(format!("{:?}", t.status).to_uppercase());
        row.push(t.iterations.to_string());
        row.push(t.run_id.clone().unwrap_or_default());
        row.push(quote(t.error.as_deref().unwrap_or("")));
        out += &(row.join(",") + "\n");
    }
    out
}

fn plain(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => quote(s),
        other => other.to_string(),
    }
}

fn quote(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Writes both files into `dir`.
pub fn write_result_files(
    dir: &Path,
    trials: &[TrialResult],
    best: Option<&BestTrial>,
    metric: Metric,
) -> std::io::Result<()> {
    std::fs::write(
        dir.join("search_results.csv"),
        search_results_csv(trials, metric),
    )?;
    let best_params = best
        .map(|b| serde_json::Value::Object(b.params.clone()))
        .unwrap_or(serde_json::Value::Null);
    std::fs::write(
        dir.join("best_parameters.json"),
        serde_json::to_string_pretty(&best_params)?,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tuning::trial::TrialStatus;

    #[test]
    fn one_csv_row_per_trial_with_param_columns() {
        let mut params = serde_json::Map::new();
        params.insert("reg".into(), 0.1.into());
        params.insert("solver".into(), "lbfgs".into());
        let t = TrialResult {
            index: 0,
            name: "reg=0.1".into(),
            params,
            metric: Some(2.5),
            std: Some(0.1),
            fold_scores: vec![],
            metrics: Default::default(),
            iterations: 3,
            budget: 10,
            status: TrialStatus::Finished,
            run_id: Some("r1".into()),
            error: None,
            seconds: 0.0,
            learning_curve: vec![],
        };
        let csv = search_results_csv(&[t], Metric::Rmse);
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(
            lines[0],
            "params,param.reg,param.solver,avg_rmse,std_rmse,status,iterations,run_id,error"
        );
        assert_eq!(
            lines[1],
            "\"{\"\"reg\"\":0.1,\"\"solver\"\":\"\"lbfgs\"\"}\",0.1,lbfgs,2.5,0.1,FINISHED,3,r1,"
        );
    }
}

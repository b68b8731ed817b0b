//! `distml serve`: parse the flags, find the model (downloading it from the tracking server
//! when it is there) and load it — exit 2 before binding when it cannot be — then serve from
//! this process or supervise `--replicas` processes.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use distml::serve::{
    load, serve, supervise, Fetcher, Located, ModelSource, Reload, ServeError, ServeOptions,
};

use super::exit::UsageError;

/// Flags of `serve`.
#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// The model: a directory (`--model-out` of train or tune), `runs:/<run_id>/<path>`,
    /// `models:/<name>/<version>`, `models:/<name>@<alias>` or `models:/m-<id>`.
    #[arg(long)]
    model: String,
    /// Interface to listen on (the container image sets 0.0.0.0).
    #[arg(long, env = "DISTML_SERVE_HOST", default_value = "127.0.0.1")]
    host: IpAddr,
    /// Port (0: any free port; the chosen one is printed).
    #[arg(long, default_value_t = 8080)]
    port: u16,
    /// Server processes sharing the port (SO_REUSEPORT), restarted when they die.
    #[arg(long, default_value_t = 1)]
    replicas: usize,
    /// Largest request body in bytes (413 above it).
    #[arg(long, default_value_t = 64 << 20)]
    max_body_bytes: usize,
    /// Seconds in-flight requests may take to finish after SIGTERM.
    #[arg(long, default_value_t = 30.0)]
    drain_timeout: f64,
    /// With `models:/<name>@<alias>`: check every this many seconds where the alias points
    /// and serve a new version without dropping requests.
    #[arg(long, value_name = "SECONDS")]
    reload_every: Option<f64>,
    /// The tracking server of `runs:/` and `models:/` sources (default: MLFLOW_TRACKING_URI).
    #[arg(long)]
    tracking_uri: Option<String>,
    /// The model's name in the KServe V2 routes (default: the registered model's name, or the
    /// directory's).
    #[arg(long)]
    model_name: Option<String>,
    /// Run as one replica of a supervisor (set by `--replicas`).
    #[arg(long, hide = true)]
    replica: bool,
    /// The registered version a replica's directory holds (set by `--replicas`).
    #[arg(long, hide = true)]
    served_version: Option<String>,
    /// The alias a replica follows (set by `--replicas` with `--reload-every`).
    #[arg(long, hide = true)]
    follow: Option<String>,
}

pub(crate) fn run(args: ServeArgs) -> anyhow::Result<()> {
    let (mut options, source) = options(&args)?;
    // Found and loaded first, even by a supervisor, so a bad model exits 2 before anything
    // binds; a supervisor's replicas then load the same local directory.
    if source.is_remote() && args.follow.is_none() {
        let (dir, version) = download(&source, &args, options.reload.as_ref())?;
        options.model = dir;
        options.version = version;
    }
    let app = load(&options.model, options.max_body).map_err(user_error)?;
    let announce = |addr: SocketAddr| {
        let mut line = serde_json::json!({
            "listening": addr.to_string(),
            "replicas": args.replicas,
            "model": args.model,
            "name": options.name,
        });
        if let Some(version) = &options.version {
            line["version"] = version.clone().into();
        }
        println!("{line}");
    };
    if args.replica || args.replicas == 1 {
        serve(app, &options, &announce)?;
    } else {
        drop(app);
        supervise(&options, args.replicas, &announce)?;
    }
    Ok(())
}

/// The checked flags, and the model source they name.
fn options(args: &ServeArgs) -> Result<(ServeOptions, ModelSource), UsageError> {
    if args.replicas == 0 {
        return Err(UsageError("--replicas: must be at least 1".into()));
    }
    let seconds = |flag: &str, value: f64, least: f64| match value.is_finite() && value >= least {
        true => Ok(Duration::from_secs_f64(value)),
        false => Err(UsageError(format!(
            "{flag}: must be a number of seconds >= {least}"
        ))),
    };
    let drain_timeout = seconds("--drain-timeout", args.drain_timeout, 0.0)?;
    let followed = args.follow.as_deref().unwrap_or(&args.model);
    let source = ModelSource::parse(followed).map_err(|e| UsageError(e.to_string()))?;
    let reload = match args.reload_every {
        None => None,
        Some(every) => {
            if !matches!(source, ModelSource::Alias { .. }) {
                return Err(UsageError(format!(
                    "--reload-every: follows a registry alias; --model {followed} is not \
                     models:/<name>@<alias>"
                )));
            }
            let fetcher = Fetcher::from_env(args.tracking_uri.as_deref(), followed)
                .map_err(|e| UsageError(e.to_string()))?;
            Some(Reload {
                source: source.clone(),
                text: followed.to_string(),
                fetcher,
                every: seconds("--reload-every", every, 0.1)?,
            })
        }
    };
    let mut options = ServeOptions::new(
        PathBuf::from(&args.model),
        SocketAddr::new(args.host, args.port),
    );
    options.name = args
        .model_name
        .clone()
        .unwrap_or_else(|| source.model_name());
    options.version = args.served_version.clone();
    options.max_body = args.max_body_bytes;
    options.drain_timeout = drain_timeout;
    options.reload = reload;
    Ok((options, source))
}

/// Downloads a tracking-server model into the cache; returns its directory and version.
fn download(
    source: &ModelSource,
    args: &ServeArgs,
    reload: Option<&Reload>,
) -> Result<(PathBuf, Option<String>), UsageError> {
    let fetcher = match reload {
        Some(reload) => reload.fetcher.clone(),
        None => Fetcher::from_env(args.tracking_uri.as_deref(), &args.model)
            .map_err(|e| UsageError(e.to_string()))?,
    };
    let failed = |e: distml::tracking::TrackingError| {
        UsageError(
            ServeError::Load {
                model: args.model.clone(),
                message: e.to_string(),
            }
            .to_string(),
        )
    };
    let located: Located = fetcher.locate(source).map_err(failed)?;
    let dir = fetcher.fetch(&located).map_err(failed)?;
    eprintln!(
        "{}: serving {} from {}",
        args.model,
        located.artifact_uri,
        dir.display()
    );
    Ok((dir, located.version))
}

fn user_error(e: ServeError) -> anyhow::Error {
    match e.is_user_error() {
        true => UsageError(e.to_string()).into(),
        false => e.into(),
    }
}

//! `distml serve`: parse the flags, load the model (exit 2 before binding when it cannot be),
//! then serve from this process or supervise `--replicas` processes.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use distml::serve::{load, serve, supervise, ServeError, ServeOptions};

use super::exit::UsageError;

/// Flags of `serve`.
#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// The model directory (`--model-out` of train or tune).
    #[arg(long)]
    model: String,
    /// Interface to listen on.
    #[arg(long, default_value = "127.0.0.1")]
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
    /// Run as one replica of a supervisor (set by `--replicas`).
    #[arg(long, hide = true)]
    replica: bool,
}

pub(crate) fn run(args: ServeArgs) -> anyhow::Result<()> {
    let options = options(&args)?;
    // Loaded first, even by a supervisor, so a bad model exits 2 before anything binds.
    let app = load(&options.model, options.max_body).map_err(user_error)?;
    let announce = |addr: SocketAddr| {
        let line = serde_json::json!({
            "listening": addr.to_string(),
            "replicas": args.replicas,
            "model": args.model,
        });
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

fn options(args: &ServeArgs) -> Result<ServeOptions, UsageError> {
    if args.replicas == 0 {
        return Err(UsageError("--replicas: must be at least 1".into()));
    }
    if !(args.drain_timeout.is_finite() && args.drain_timeout >= 0.0) {
        return Err(UsageError(
            "--drain-timeout: must be a number of seconds >= 0".into(),
        ));
    }
    if args.model.starts_with("runs:/") || args.model.starts_with("models:/") {
        return Err(UsageError(format!(
            "--model {}: serving from the tracking server is not supported yet; download the \
             run's model directory (mlflow artifacts download) and pass its path",
            args.model
        )));
    }
    Ok(ServeOptions {
        model: PathBuf::from(&args.model),
        addr: SocketAddr::new(args.host, args.port),
        max_body: args.max_body_bytes,
        drain_timeout: Duration::from_secs_f64(args.drain_timeout),
    })
}

fn user_error(e: ServeError) -> anyhow::Error {
    match e.is_user_error() {
        true => UsageError(e.to_string()).into(),
        false => e.into(),
    }
}

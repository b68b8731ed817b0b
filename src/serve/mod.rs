//! `distml serve`: a saved model behind HTTP, answering MLflow's scoring protocol
//! (`/ping`, `/health`, `/version`, `/invocations` with `dataframe_split`,
//! `dataframe_records`, `instances`, `inputs` or CSV) and the KServe V2 one (`/v2/...`), from
//! one process or from several replicas sharing a port. Requests carry the raw input columns;
//! the model's fitted feature pipeline runs on them without the label's stages, so no label
//! column is needed. The model is a directory, or a run's or registered model's files on the
//! tracking server ([`ModelSource`]).
//!
//! ```no_run
//! use distml::serve::{load, serve, ServeOptions};
//!
//! let options = ServeOptions::new("model/".into(), "127.0.0.1:8080".parse()?);
//! let app = load(&options.model, options.max_body)?;
//! serve(app, &options, &|addr| println!("listening on {addr}"))?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod app;
mod error;
mod reload;
mod replicas;
mod request;
mod server;
mod service;
mod source;
mod v2;

pub use app::{router, App, DELAY_ENV};
pub use error::ServeError;
pub use reload::Reload;
pub use replicas::supervise;
pub use server::{load, serve, ServeOptions};
pub use service::Service;
pub use source::{cache_root, Fetcher, Located, ModelSource, CACHE_ENV};

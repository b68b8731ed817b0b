//! `distml serve`: a saved model behind HTTP, answering MLflow's scoring protocol
//! (`/ping`, `/health`, `/version`, `/invocations` with `dataframe_split`,
//! `dataframe_records`, `instances`, `inputs` or CSV), from one process or from several
//! replicas sharing a port. Requests carry the raw input columns; the model's fitted feature
//! pipeline runs on them without the label's stages, so no label column is needed.
//!
//! ```no_run
//! use distml::serve::{load, serve, ServeOptions};
//!
//! let options = ServeOptions {
//!     model: "model/".into(),
//!     addr: "127.0.0.1:8080".parse()?,
//!     max_body: 64 << 20,
//!     drain_timeout: std::time::Duration::from_secs(30),
//! };
//! let app = load(&options.model, options.max_body)?;
//! serve(app, &options, &|addr| println!("listening on {addr}"))?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod app;
mod error;
mod replicas;
mod request;
mod server;

pub use app::{router, App, DELAY_ENV};
pub use error::ServeError;
pub use replicas::supervise;
pub use server::{load, serve, ServeOptions};

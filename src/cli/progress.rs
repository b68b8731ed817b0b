//! Progress on stderr: an indicatif bar on a terminal, plain lines otherwise.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};

use indicatif::{ProgressBar, ProgressStyle};

/// Progress of one phase, counted in units (partitions, rows).
pub(crate) struct Progress {
    bar: Option<ProgressBar>,
    label: String,
    total: u64,
    done: AtomicU64,
    last_percent: AtomicU64,
}

impl Progress {
    /// Starts a phase of `total` units.
    pub(crate) fn new(label: &str, total: u64) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new(total);
            let style = ProgressStyle::with_template("{msg:>10} [{bar:30}] {pos}/{len} {elapsed}")
                .unwrap_or_else(|_| ProgressStyle::default_bar());
            bar.set_style(style.progress_chars("=> "));
            bar.set_message(label.to_string());
            bar
        });
        Progress {
            bar,
            label: label.to_string(),
            total,
            done: AtomicU64::new(0),
            last_percent: AtomicU64::new(0),
        }
    }

    /// Records `n` more units done.
    pub(crate) fn advance(&self, n: u64) {
        let done = self.done.fetch_add(n, Ordering::Relaxed) + n;
        match &self.bar {
            Some(bar) => bar.inc(n),
            None => {
                let percent = done * 100 / self.total.max(1);
                let last = self.last_percent.load(Ordering::Relaxed);
                if percent >= last + 25 || done == self.total {
                    self.last_percent.store(percent, Ordering::Relaxed);
                    eprintln!("{}: {done}/{} ({percent}%)", self.label, self.total);
                }
            }
        }
    }

    /// Ends the phase.
    pub(crate) fn finish(self) {
        if let Some(bar) = self.bar {
            bar.finish_and_clear();
        }
    }
}

/// Draws one [`Progress`] per phase of a library job.
#[derive(Default)]
pub(crate) struct JobBars {
    current: std::sync::Mutex<Option<Progress>>,
}

impl distml::train::JobProgress for JobBars {
    fn start(&self, phase: &str, total: u64) {
        if let Ok(mut slot) = self.current.lock() {
            if let Some(old) = slot.replace(Progress::new(phase, total)) {
                old.finish();
            }
        }
    }

    fn advance(&self, n: u64) {
        if let Ok(slot) = self.current.lock() {
            if let Some(p) = slot.as_ref() {
                p.advance(n);
            }
        }
    }

    fn finish(&self) {
        if let Ok(mut slot) = self.current.lock() {
            if let Some(p) = slot.take() {
                p.finish();
            }
        }
    }
}

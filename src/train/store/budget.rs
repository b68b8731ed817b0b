//! The memory a job may spend on cached feature blocks (`--memory-budget`): sizes as users
//! write them (`512MiB`, `4GiB`), a default share of the machine's RAM, and the running
//! account every cached block is charged to.

use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};

/// Share of physical memory the cache may use when `--memory-budget` is not given: half, so
/// the pipeline, the learner's state and the OS page cache keep the rest.
pub const DEFAULT_RAM_SHARE: f64 = 0.5;
/// The default budget where the machine's memory cannot be read.
const FALLBACK_BYTES: u64 = 4 << 30;

/// A size in bytes, parsed from `512MiB`, `4GiB`, `1.5GB` or a plain byte count.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "String", into = "String")]
pub struct ByteSize(pub u64);

impl FromStr for ByteSize {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let size: bytesize::ByteSize = text.trim().parse().map_err(|_| {
            format!("'{text}' is not a size (write it like 512MiB, 4GiB or 2000000000)")
        })?;
        Ok(ByteSize(size.as_u64()))
    }
}

impl fmt::Display for ByteSize {
    /// The largest binary unit that divides the size exactly, so the text parses back.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const UNITS: [(&str, u64); 4] = [
            ("TiB", 1 << 40),
            ("GiB", 1 << 30),
            ("MiB", 1 << 20),
            ("KiB", 1 << 10),
        ];
        match UNITS
            .iter()
            .find(|(_, n)| self.0 > 0 && self.0.is_multiple_of(*n))
        {
            Some((unit, n)) => write!(f, "{}{unit}", self.0 / n),
            None => write!(f, "{}B", self.0),
        }
    }
}

impl TryFrom<String> for ByteSize {
    type Error = String;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        text.parse()
    }
}

impl From<ByteSize> for String {
    fn from(size: ByteSize) -> String {
        size.to_string()
    }
}

impl ByteSize {
    /// The size rounded for people to read (`2.9 GiB`).
    pub fn human(self) -> String {
        bytesize::ByteSize(self.0).display().iec().to_string()
    }

    /// [`DEFAULT_RAM_SHARE`] of this machine's physical memory, in whole MiB.
    pub fn default_budget() -> ByteSize {
        let bytes = physical_memory().map_or(FALLBACK_BYTES, |total| {
            (total as f64 * DEFAULT_RAM_SHARE) as u64
        });
        ByteSize(bytes >> 20 << 20)
    }
}

/// The machine's physical memory in bytes, where the OS reports it.
fn physical_memory() -> Option<u64> {
    // SAFETY: sysconf only reads a system constant.
    let (pages, page) = unsafe {
        (
            libc::sysconf(libc::_SC_PHYS_PAGES),
            libc::sysconf(libc::_SC_PAGESIZE),
        )
    };
    (pages > 0 && page > 0).then(|| pages as u64 * page as u64)
}

/// The running account of a budget: cached blocks reserve their size, and a block that does
/// not fit goes elsewhere (to a spill file).
#[derive(Debug)]
pub struct MemoryBudget {
    limit: u64,
    used: AtomicU64,
}

impl MemoryBudget {
    /// A budget of `limit`.
    pub fn new(limit: ByteSize) -> Self {
        MemoryBudget {
            limit: limit.0,
            used: AtomicU64::new(0),
        }
    }

    /// Reserves `bytes` if they fit in what is left; whether they did.
    pub fn try_reserve(&self, bytes: u64) -> bool {
        self.used
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |used| {
                used.checked_add(bytes).filter(|&total| total <= self.limit)
            })
            .is_ok()
    }

    /// Gives back `bytes` reserved before.
    pub fn release(&self, bytes: u64) {
        let _ = self
            .used
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |used| {
                Some(used.saturating_sub(bytes))
            });
    }

    /// Bytes reserved so far.
    pub fn used(&self) -> ByteSize {
        ByteSize(self.used.load(Ordering::SeqCst))
    }

    /// The limit.
    pub fn limit(&self) -> ByteSize {
        ByteSize(self.limit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_as_users_write_them() {
        assert_eq!("512MiB".parse::<ByteSize>(), Ok(ByteSize(512 << 20)));
        assert_eq!("4GiB".parse::<ByteSize>(), Ok(ByteSize(4 << 30)));
        assert_eq!("2 GB".parse::<ByteSize>(), Ok(ByteSize(2_000_000_000)));
        assert_eq!("1000".parse::<ByteSize>(), Ok(ByteSize(1000)));
        let err = "lots".parse::<ByteSize>().unwrap_err();
        assert!(err.contains("'lots'") && err.contains("512MiB"), "{err}");
        assert_eq!(ByteSize(512 << 20).to_string(), "512MiB");
        assert_eq!(ByteSize(3 << 29).to_string(), "1536MiB");
        assert_eq!(ByteSize(10).to_string(), "10B");
        for size in [
            ByteSize(0),
            ByteSize(1536),
            ByteSize(7 << 40),
            ByteSize(12345),
        ] {
            assert_eq!(size.to_string().parse::<ByteSize>(), Ok(size));
        }
    }

    #[test]
    fn the_default_is_a_share_of_ram() {
        let budget = ByteSize::default_budget();
        let total = physical_memory().unwrap();
        assert_eq!(
            budget.0,
            ((total as f64 * DEFAULT_RAM_SHARE) as u64) >> 20 << 20
        );
    }

    #[test]
    fn reservations_never_exceed_the_limit() {
        let budget = MemoryBudget::new(ByteSize(100));
        assert!(budget.try_reserve(60));
        assert!(!budget.try_reserve(41));
        assert!(budget.try_reserve(40));
        assert!(!budget.try_reserve(1));
        assert_eq!(budget.used(), ByteSize(100));
        // Many threads racing for one budget never overbook it.
        let budget = MemoryBudget::new(ByteSize(1000));
        let granted: usize = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8)
                .map(|_| s.spawn(|| (0..100).filter(|_| budget.try_reserve(3)).count()))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).sum()
        });
        assert_eq!(granted, 333);
    }
}

//! "People you may know" as one map/reduce job on distml's partition engine.
//!
//! Input lines are `user<TAB>friend,friend,...` (friendship is mutual; a line may list no
//! friends; a space may stand for the tab). For every input user the job recommends up to 10
//! users who are not already friends (and not the user), ranked by the number of mutual
//! friends, ties by ascending id; output lines are `user<TAB>rec,rec,...` in user order.
//!
//! The map uses "stripes" (Lin & Dyer, *Data-Intensive Text Processing with MapReduce*, 3.2):
//! the line of `m` with friends F tells each f in F "these others of F share m with you", as
//! one map of candidate → count; the combiner and the reduce add such maps up.
//!
//! ```sh
//! cargo run --release --example friend_recommendation -- --input graph.txt --out recs.txt
//! cargo run --release --example friend_recommendation -- --input graph.txt --out recs.txt --workers 2
//! cargo run --release --example friend_recommendation -- --generate 50000 --out graph.txt
//! ```
//! The run's counters (splits, pairs, shuffle bytes, spills, reruns) are printed as JSON on
//! stdout; bad input exits 2 naming the file and line.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use distml::cluster::ClusterOptions;
use distml::mapreduce::{self, Inputs, MapReduce, MapReduceError, MapReduceOptions, Record};
use serde::{Deserialize, Serialize};

/// Recommendations per user.
const TOP: usize = 10;

/// What one user learns from the lines that mention them.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Stripe {
    /// Whether the user has a line of their own (only they get an output line).
    listed: bool,
    /// Their friends, from their own line.
    friends: BTreeSet<u64>,
    /// Candidate → mutual friends counted so far.
    mutual: BTreeMap<u64, u32>,
}

/// The job: no settings.
struct FriendRecommendation;

impl MapReduce for FriendRecommendation {
    type Key = u64;
    type Value = Stripe;
    type Output = Vec<u64>;

    fn map(
        &self,
        record: Record<'_>,
        emit: &mut dyn FnMut(u64, Stripe),
    ) -> Result<(), MapReduceError> {
        let line = record.line()?;
        let text = line.text.trim();
        if text.is_empty() {
            return Ok(());
        }
        let (user, rest) = text
            .split_once(['\t', ' '])
            .map_or((text, ""), |(u, r)| (u, r.trim()));
        let id = |s: &str| {
            s.trim()
                .parse::<u64>()
                .map_err(|_| line.error(format!("'{s}' is not a user id (a non-negative integer)")))
        };
        let user = id(user)?;
        let friends = rest
            .split(',')
            .filter(|s| !s.trim().is_empty())
            .map(id)
            .collect::<Result<BTreeSet<u64>, _>>()?;
        for &f in &friends {
            let mutual = friends
                .iter()
                .filter(|&&g| g != f)
                .map(|&g| (g, 1))
                .collect();
            emit(
                f,
                Stripe {
                    mutual,
                    ..Default::default()
                },
            );
        }
        emit(
            user,
            Stripe {
                listed: true,
                friends,
                mutual: BTreeMap::new(),
            },
        );
        Ok(())
    }

    fn combine(&self, acc: &mut Stripe, value: Stripe) -> Option<Stripe> {
        acc.listed |= value.listed;
        acc.friends.extend(value.friends);
        for (candidate, n) in value.mutual {
            *acc.mutual.entry(candidate).or_default() += n;
        }
        None
    }

    fn reduce(&self, user: &u64, stripes: Vec<Stripe>) -> Result<Option<Vec<u64>>, MapReduceError> {
        let mut all = Stripe::default();
        for stripe in stripes {
            self.combine(&mut all, stripe);
        }
        if !all.listed {
            return Ok(None);
        }
        let mut ranked: Vec<(u32, u64)> = all
            .mutual
            .into_iter()
            .filter(|(c, _)| c != user && !all.friends.contains(c))
            .map(|(c, n)| (n, c))
            .collect();
        ranked.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        Ok(Some(ranked.into_iter().take(TOP).map(|(_, c)| c).collect()))
    }
}

/// Recommend friends by mutual friends, in-process or across worker processes.
#[derive(Debug, Parser)]
struct Args {
    /// The friendship file(s): `user<TAB>friend,friend,...` per line.
    #[arg(long, required_unless_present = "generate")]
    input: Vec<PathBuf>,
    /// Where the recommendations (or, with --generate, the graph) go.
    #[arg(long)]
    out: PathBuf,
    /// Write a random graph of this many users (10 to 100 friends each) to --out instead.
    #[arg(long)]
    generate: Option<usize>,
    /// Worker processes (spawned on 127.0.0.1); absent: in this process.
    #[arg(long)]
    workers: Option<usize>,
    /// Map splits (default: one per 8 MiB, at least two per core).
    #[arg(long)]
    splits: Option<usize>,
    /// Reduce partitions (default: as many as splits).
    #[arg(long)]
    reducers: Option<usize>,
    /// Skip the map-side combiner.
    #[arg(long)]
    no_combine: bool,
    /// Shuffle bytes held in memory before sorted runs spill to disk.
    #[arg(long, default_value_t = mapreduce::DEFAULT_MEMORY_BUDGET)]
    memory_budget: u64,
    /// Seconds without a heartbeat before a worker is declared dead.
    #[arg(long, default_value_t = 10.0)]
    heartbeat_timeout: f64,
}

fn main() -> ExitCode {
    match mapreduce::serve_if_worker(&FriendRecommendation) {
        Ok(true) => return ExitCode::SUCCESS,
        Ok(false) => {}
        Err(e) => return fail(&e.to_string(), e.is_user_error()),
    }
    let args = Args::parse();
    let result = match args.generate {
        Some(users) => generate(users, &args.out),
        None => recommend(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&e.to_string(), e.is_user_error()),
    }
}

fn fail(message: &str, user: bool) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(if user { 2 } else { 1 })
}

fn recommend(args: &Args) -> Result<(), MapReduceError> {
    if !(args.heartbeat_timeout.is_finite() && args.heartbeat_timeout > 0.0) {
        return Err(MapReduceError::InvalidOption {
            option: "--heartbeat-timeout",
            message: "must be a positive number of seconds".into(),
        });
    }
    let options = MapReduceOptions {
        splits: args.splits,
        reducers: args.reducers,
        combine: !args.no_combine,
        memory_budget: args.memory_budget,
        cluster: args.workers.map(|workers| ClusterOptions {
            workers,
            heartbeat_timeout: Duration::from_secs_f64(args.heartbeat_timeout),
            ..Default::default()
        }),
        ..Default::default()
    };
    let inputs = Inputs::Lines(args.input.clone());
    let out = mapreduce::run(&FriendRecommendation, &inputs, &options, &|line| {
        eprintln!("{line}")
    })?;
    let file = std::fs::File::create(&args.out).map_err(io(&args.out))?;
    let mut w = std::io::BufWriter::new(file);
    for (user, recs) in &out.results {
        let recs: Vec<String> = recs.iter().map(u64::to_string).collect();
        writeln!(w, "{user}\t{}", recs.join(",")).map_err(io(&args.out))?;
    }
    w.flush().map_err(io(&args.out))?;
    println!("{}", serde_json::to_string(&out.stats).unwrap_or_default());
    Ok(())
}

fn io(path: &std::path::Path) -> impl Fn(std::io::Error) -> MapReduceError + '_ {
    move |source| MapReduceError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// A random mutual graph: user u picks friends among the next users in a window, so the
/// graph has communities (mutual friends to find); degrees land between about 10 and 100.
fn generate(users: usize, out: &std::path::Path) -> Result<(), MapReduceError> {
    let mut friends: Vec<BTreeSet<u64>> = vec![BTreeSet::new(); users];
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for u in 0..users {
        let picks = 5 + (next() % 46) as usize;
        for _ in 0..picks {
            let v = (u + 1 + (next() % 400) as usize) % users;
            if v != u {
                friends[u].insert(v as u64);
                friends[v].insert(u as u64);
            }
        }
    }
    let file = std::fs::File::create(out).map_err(io(out))?;
    let mut w = std::io::BufWriter::new(file);
    for (u, fs) in friends.iter().enumerate() {
        let list: Vec<String> = fs.iter().map(u64::to_string).collect();
        writeln!(w, "{u}\t{}", list.join(",")).map_err(io(out))?;
    }
    w.flush().map_err(io(out))
}

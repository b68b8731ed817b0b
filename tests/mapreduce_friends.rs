//! The friend-recommendation example (`examples/friend_recommendation.rs`) run as a real
//! process — in-process, with 2 worker processes, with a worker SIGKILLed mid-job, without
//! its combiner, spilling every run — against an oracle written here with plain nested loops.

mod cluster_support;
mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use cluster_support::{exclusive, heartbeat_timeout};

/// Zachary's karate club (34 members, 78 friendships), 1-based, as networkx 3.4.2's
/// `karate_club_graph()` lists it (`sorted(g.edges())`, each node + 1).
const KARATE: &str = "1-2 1-3 1-4 1-5 1-6 1-7 1-8 1-9 1-11 1-12 1-13 1-14 1-18 1-20 1-22 1-32 \
    2-3 2-4 2-8 2-14 2-18 2-20 2-22 2-31 3-4 3-8 3-9 3-10 3-14 3-28 3-29 3-33 4-8 4-13 4-14 \
    5-7 5-11 6-7 6-11 6-17 7-17 9-31 9-33 9-34 10-34 14-34 15-33 15-34 16-33 16-34 19-33 19-34 \
    20-34 21-33 21-34 23-33 23-34 24-26 24-28 24-30 24-33 24-34 25-26 25-28 25-32 26-32 27-30 \
    27-34 28-34 29-32 29-34 30-33 30-34 31-33 31-34 32-33 32-34 33-34";

/// The example binary.
fn example() -> PathBuf {
    common::example("friend_recommendation")
}

fn adjacency(
    edges: &[(u64, u64)],
    users: impl IntoIterator<Item = u64>,
) -> BTreeMap<u64, BTreeSet<u64>> {
    let mut adj: BTreeMap<u64, BTreeSet<u64>> =
        users.into_iter().map(|u| (u, BTreeSet::new())).collect();
    for &(a, b) in edges {
        adj.entry(a).or_default().insert(b);
        adj.entry(b).or_default().insert(a);
    }
    adj
}

fn karate() -> BTreeMap<u64, BTreeSet<u64>> {
    let edges: Vec<(u64, u64)> = KARATE
        .split_whitespace()
        .map(|e| {
            let (a, b) = e.split_once('-').unwrap();
            (a.parse().unwrap(), b.parse().unwrap())
        })
        .collect();
    assert_eq!(edges.len(), 78);
    // Member 35 has joined the club and made no friends yet.
    adjacency(&edges, 1..=35)
}

/// The oracle: for every user, every other non-friend scored by the friends both share,
/// counted by looping over all users; best 10 by count, then by id.
fn oracle(adj: &BTreeMap<u64, BTreeSet<u64>>) -> String {
    let mut out = String::new();
    for (&u, friends) in adj {
        let mut scored = Vec::new();
        for (&c, theirs) in adj {
            if c == u || friends.contains(&c) {
                continue;
            }
            let mut mutual = 0;
            for m in adj.keys() {
                if friends.contains(m) && theirs.contains(m) {
                    mutual += 1;
                }
            }
            if mutual > 0 {
                scored.push((mutual, c));
            }
        }
        scored.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        let recs: Vec<String> = scored.iter().take(10).map(|(_, c)| c.to_string()).collect();
        out.push_str(&format!("{u}\t{}\n", recs.join(",")));
    }
    out
}

/// Writes the graph's lines in a scrambled order; some use a space instead of the tab.
fn write_graph(dir: &Path, adj: &BTreeMap<u64, BTreeSet<u64>>) -> PathBuf {
    let mut lines: Vec<String> = adj
        .iter()
        .map(|(u, fs)| {
            let list: Vec<String> = fs.iter().rev().map(u64::to_string).collect();
            let sep = if u % 5 == 0 { " " } else { "\t" };
            format!("{u}{sep}{}", list.join(","))
        })
        .collect();
    lines.sort_by_key(|l| l.len() * 7919 % 101);
    let path = dir.join("graph.txt");
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    path
}

fn recommend(input: &Path, out: &Path, extra: &[&str], env: &[(&str, &str)]) -> (Output, String) {
    let output = Command::new(example())
        .args([
            "--input".as_ref(),
            input.as_os_str(),
            "--out".as_ref(),
            out.as_os_str(),
        ])
        .args(extra)
        .envs(env.iter().copied())
        .output()
        .expect("the example starts");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "{extra:?}: {stderr}");
    (output, std::fs::read_to_string(out).unwrap())
}

fn stats(output: &Output) -> serde_json::Value {
    let stdout = String::from_utf8_lossy(&output.stdout);
    serde_json::from_str(stdout.lines().last().unwrap_or("")).expect("a JSON summary on stdout")
}

fn heartbeat_flag() -> String {
    format!("{}", heartbeat_timeout().as_secs_f64())
}

#[test]
fn karate_club_recommendations_equal_the_oracle_in_process() {
    let dir = tempfile::tempdir().unwrap();
    let adj = karate();
    let graph = write_graph(dir.path(), &adj);
    let want = oracle(&adj);
    // networkx 3.4.2: common_neighbors for three members, ranked the same way.
    assert!(want.contains("1\t34,33,17,29,31,10,25,26,28\n"));
    assert!(want.contains("12\t2,3,4,5,6,7,8,9,11,13\n"));
    assert!(want.contains("34\t3,1,2,25,26,4\n"));
    assert!(
        want.ends_with("35\t\n"),
        "a user without friends gets an empty list"
    );
    for flags in [
        &["--splits", "1"][..],
        &["--splits", "5", "--reducers", "3"],
    ] {
        let (_, got) = recommend(&graph, &dir.path().join("out.txt"), flags, &[]);
        assert_eq!(got, want, "{flags:?}");
    }
}

#[test]
fn the_combiner_and_spilling_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let adj = karate();
    let graph = write_graph(dir.path(), &adj);
    let want = oracle(&adj);
    let out = dir.path().join("out.txt");
    let (with, got) = recommend(&graph, &out, &["--splits", "4"], &[]);
    assert_eq!(got, want);
    let (without, got) = recommend(&graph, &out, &["--splits", "4", "--no-combine"], &[]);
    assert_eq!(got, want);
    let shuffled = |o: &Output| stats(o)["shuffled"].as_u64().unwrap();
    assert!(
        shuffled(&with) < shuffled(&without),
        "the combiner folds pairs"
    );
    assert_eq!(
        shuffled(&without),
        stats(&without)["emitted"].as_u64().unwrap()
    );
    let (spilled, got) = recommend(
        &graph,
        &out,
        &["--splits", "4", "--memory-budget", "0"],
        &[],
    );
    assert_eq!(got, want);
    let s = stats(&spilled);
    assert!(s["spilled_runs"].as_u64().unwrap() > 0, "{s}");
    assert_eq!(
        s["spilled_bytes"], s["shuffle_bytes"],
        "a zero budget spills every run"
    );
}

#[test]
fn two_worker_processes_give_the_same_output() {
    let _machine = exclusive();
    let dir = tempfile::tempdir().unwrap();
    let adj = karate();
    let graph = write_graph(dir.path(), &adj);
    let flags = [
        "--splits",
        "6",
        "--workers",
        "2",
        "--heartbeat-timeout",
        &heartbeat_flag(),
    ];
    let (output, got) = recommend(&graph, &dir.path().join("out.txt"), &flags, &[]);
    assert_eq!(got, oracle(&adj));
    let s = stats(&output);
    assert_eq!(s["workers"], 2);
    assert_eq!(s["rerun_tasks"], 0);
}

/// A generated graph of 700 users whose friends sit within a window of ids (so they share
/// friends), about 20 each.
fn generated() -> BTreeMap<u64, BTreeSet<u64>> {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        state >> 33
    };
    let users = 700u64;
    let edges: Vec<(u64, u64)> = (0..users * 10)
        .map(|i| (i % users, (i % users + 1 + next() % 60) % users))
        .collect();
    adjacency(&edges, 0..users)
}

#[test]
fn a_worker_killed_mid_job_changes_nothing() {
    let _machine = exclusive();
    let dir = tempfile::tempdir().unwrap();
    let adj = generated();
    let graph = write_graph(dir.path(), &adj);
    let want = oracle(&adj);
    let out = dir.path().join("out.txt");
    let hb = heartbeat_flag();
    let flags = [
        "--splits",
        "8",
        "--reducers",
        "4",
        "--workers",
        "2",
        "--heartbeat-timeout",
        &hb,
    ];
    // Worker rank 1 SIGKILLs itself when its first task arrives: a map task (each worker
    // gets one of the 8 splits first), while the other worker maps.
    let (killed, got) = recommend(&graph, &out, &flags, &[("DISTML_MR_KILL_AT", "1:1")]);
    assert_eq!(got, want);
    assert!(
        stats(&killed)["rerun_tasks"].as_u64().unwrap() >= 1,
        "{}",
        stats(&killed)
    );
    // ... and once reducing has begun: rank 0 dies at its first reduce task.
    let (late, got) = recommend(&graph, &out, &flags, &[("DISTML_MR_KILL_AT", "0:reduce")]);
    assert_eq!(got, want);
    assert!(
        stats(&late)["rerun_tasks"].as_u64().unwrap() >= 1,
        "{}",
        stats(&late)
    );
}

#[test]
fn bad_input_exits_2_naming_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let graph = dir.path().join("graph.txt");
    std::fs::write(&graph, "1\t2,3\n2\t1\n3\t1,x7\n").unwrap();
    let run = |input: &Path| {
        Command::new(example())
            .args([
                "--input".as_ref(),
                input.as_os_str(),
                "--out".as_ref(),
                dir.path().join("o.txt").as_os_str(),
            ])
            .output()
            .unwrap()
    };
    let out = run(&graph);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!("{}:3:", graph.display())) && stderr.contains("'x7'"),
        "{stderr}"
    );
    let missing = dir.path().join("no-such-graph.txt");
    let out = run(&missing);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("no-such-graph.txt"), "{stderr}");
}

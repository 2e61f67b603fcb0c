//! Replays every fuzz harness (tests/fuzzing) over its committed corpus
//! (`fuzz/corpus/<target>/`, the inputs the fuzzer kept for coverage), its
//! regression inputs (`fuzz/regressions/<target>/`, one per bug found) and
//! a seeded batch of random inputs. Runs on stable, under nextest and, in
//! `scripts/test.sh`, under valgrind; `scripts/fuzz.sh` does the
//! coverage-guided exploration.

#![allow(clippy::disallowed_methods, clippy::disallowed_macros)]

mod common;
mod fuzzing;

use std::path::PathBuf;

/// The committed inputs of `target`: its corpus, and its named regression
/// inputs (one per bug a fuzzer found), if any.
fn corpus(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let corpus = root.join("corpus").join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&corpus)
        .unwrap_or_else(|e| panic!("{}: {e}", corpus.display()))
        .map(|e| e.expect("dir entry").path())
        .collect();
    files.sort();
    // FUZZ_REPLAY_SAMPLE=n keeps every n-th corpus input (the valgrind run
    // of scripts/test.sh, where each costs ~30 times as much); the
    // regression inputs always run.
    let sample: usize = std::env::var("FUZZ_REPLAY_SAMPLE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
        .max(1);
    let mut files: Vec<PathBuf> = files.into_iter().step_by(sample).collect();
    if let Ok(dir) = std::fs::read_dir(root.join("regressions").join(target)) {
        let mut reg: Vec<PathBuf> = dir.map(|e| e.expect("dir entry").path()).collect();
        reg.sort();
        files.extend(reg);
    }
    files
        .into_iter()
        .map(|p| {
            let b = std::fs::read(&p).expect("corpus file");
            (p, b)
        })
        .collect()
}

fn harness(target: &str) -> fn(&[u8]) {
    fuzzing::TARGETS
        .iter()
        .find(|(n, _)| *n == target)
        .map(|(_, f)| *f)
        .expect("target")
}

/// Inputs of a seeded generator (xorshift), lengths 0..max.
fn random_inputs(seed: u64, count: usize, max: usize) -> Vec<Vec<u8>> {
    let mut x = seed | 1;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    (0..count)
        .map(|_| {
            let len = (next() as usize) % max;
            (0..len).map(|_| next() as u8).collect()
        })
        .collect()
}

fn replay(target: &str) {
    let f = harness(target);
    let files = corpus(target);
    assert!(!files.is_empty(), "{target}: no corpus committed");
    for (path, bytes) in &files {
        if std::env::var_os("FUZZ_DEBUG").is_some() {
            eprintln!("{target}: {}", path.display());
        }
        f(bytes);
    }
    let n: usize = std::env::var("FUZZ_REPLAY_RANDOM")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64);
    for input in random_inputs(0x5EED ^ target.len() as u64, n, 512) {
        f(&input);
    }
}

#[test]
fn rx_frames_corpus_replays_clean() {
    replay("rx_frames");
}

#[test]
fn state_tree_corpus_replays_clean() {
    replay("state_tree");
}

#[test]
fn oid_requests_corpus_replays_clean() {
    replay("oid_requests");
}

#[test]
fn data_path_corpus_replays_clean() {
    replay("data_path");
}

#[test]
fn ordinary_path_corpus_replays_clean() {
    replay("ordinary_path");
}

#[test]
fn forward_corpus_replays_clean() {
    replay("forward");
}

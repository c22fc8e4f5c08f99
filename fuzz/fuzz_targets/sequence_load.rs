//! Arbitrary bytes as q.npy / k.npy / v.npy: parsed and checked as a sequence, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::Path;
use tripartite::data::npy::matrix_from_bytes;
use tripartite::model::sequence::Sequence;

fuzz_target!(|data: &[u8]| {
    // Split the input into three files at the first two 0xFF 0x00 markers (or use it thrice).
    let mut parts = data.splitn(3, |&b| b == 0xA5);
    let q = parts.next().unwrap_or_default();
    let k = parts.next().unwrap_or(q);
    let v = parts.next().unwrap_or(k);
    let (Ok(q), Ok(k), Ok(v)) = (
        matrix_from_bytes(q, Path::new("q.npy")),
        matrix_from_bytes(k, Path::new("k.npy")),
        matrix_from_bytes(v, Path::new("v.npy")),
    ) else {
        return;
    };
    let tokens = Sequence::numbered_tokens(q.nrows());
    if let Ok(sequence) = Sequence::new("npy:fuzz", tokens, q, k, v) {
        let _ = sequence.scaled_queries();
    }
});

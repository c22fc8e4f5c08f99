//! `tripartite encode`'s files: one head's q, k, v and softmax attention as `.npy`, and the
//! token labels as `tokens.txt`. `jobs::encode` encodes.

use crate::data::bert::HeadQkv;
use std::path::{Path, PathBuf};

/// Why the outputs could not be written.
#[derive(Debug, thiserror::Error)]
pub enum EncodeWriteError {
    #[error("cannot create '{path}': {source}")]
    CreateFolder {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write '{path}': {reason}")]
    Write { path: PathBuf, reason: String },
}

/// Writes `q.npy`, `k.npy`, `v.npy`, `attention_softmax.npy` and `tokens.txt` into `out`.
pub fn write_head(out: &Path, head: &HeadQkv, tokens: &[String]) -> Result<(), EncodeWriteError> {
    use ndarray_npy::WriteNpyExt;
    std::fs::create_dir_all(out).map_err(|source| EncodeWriteError::CreateFolder {
        path: out.to_owned(),
        source,
    })?;
    let write = |name: &str, bytes: &[u8]| {
        let path = out.join(name);
        crate::io::atomic_write(&path, bytes).map_err(|e| EncodeWriteError::Write {
            path,
            reason: e.to_string(),
        })
    };
    for (name, array) in [
        ("q.npy", &head.q),
        ("k.npy", &head.k),
        ("v.npy", &head.v),
        ("attention_softmax.npy", &head.attention),
    ] {
        let mut bytes = Vec::new();
        array
            .write_npy(&mut bytes)
            .map_err(|e| EncodeWriteError::Write {
                path: out.join(name),
                reason: e.to_string(),
            })?;
        write(name, &bytes)?;
    }
    write("tokens.txt", (tokens.join("\n") + "\n").as_bytes())
}

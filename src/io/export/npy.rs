//! Arrays as `.npy` files: one file per array, and attention as three matrices.

use super::{ExportError, check_square, write_bytes};
use ndarray::Array2;
use ndarray_npy::WriteNpyExt;
use std::path::{Path, PathBuf};

/// Writes `array` to `path` as `.npy`.
pub fn write_npy<A: WriteNpyExt>(path: &Path, array: &A) -> Result<(), ExportError> {
    let mut bytes = Vec::new();
    array
        .write_npy(&mut bytes)
        .map_err(|e| ExportError::Write {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
    write_bytes(path, &bytes)
}

/// The three files an attention export writes for `target` (extension ignored):
/// `STEM_softmax.npy`, `STEM_network.npy`, `STEM_difference.npy` (STEM defaults to
/// `attention`, the names `run --out` uses).
pub fn attention_paths(target: &Path) -> [PathBuf; 3] {
    let stem = target
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "attention".into());
    let folder = target.parent().unwrap_or(Path::new(""));
    ["softmax", "network", "difference"].map(|part| folder.join(format!("{stem}_{part}.npy")))
}

/// Writes A_soft, A_net and A_net − A_soft next to `target` (see [`attention_paths`]) and
/// returns the paths written.
pub fn write_attention(
    target: &Path,
    tokens: usize,
    softmax: &Array2<f64>,
    network: &Array2<f64>,
) -> Result<[PathBuf; 3], ExportError> {
    check_square("softmax", tokens, softmax)?;
    check_square("network", tokens, network)?;
    let difference = network - softmax;
    let paths = attention_paths(target);
    for (path, matrix) in paths.iter().zip([softmax, network, &difference]) {
        write_npy(path, matrix)?;
    }
    Ok(paths)
}

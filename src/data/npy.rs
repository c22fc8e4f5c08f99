//! `npy:DIR`: a folder with `q.npy`, `k.npy`, `v.npy` (f32 or f64, 2-D) and an optional
//! `tokens.txt` (one label per line).

use super::sequence::{Sequence, ShapeError};
use ndarray::Array2;
use ndarray_npy::{ReadNpyError, ReadNpyExt};
use std::path::{Path, PathBuf};

/// Why a `.npy` folder could not be read.
#[derive(Debug, thiserror::Error)]
pub enum NpyError {
    #[error("'{0}' is not a folder (npy: expects a folder holding q.npy, k.npy and v.npy)")]
    NotAFolder(PathBuf),
    #[error("'{0}' is missing (npy: expects q.npy, k.npy and v.npy in the folder)")]
    Missing(PathBuf),
    #[error("cannot read '{path}': {reason}")]
    Read { path: PathBuf, reason: String },
    #[error("'{path}' is not a valid .npy of 2-D f32 or f64 values: {reason}")]
    Format { path: PathBuf, reason: String },
    #[error("'{0}' is not valid UTF-8 text (tokens.txt must be UTF-8, one label per line)")]
    TokensNotUtf8(PathBuf),
    #[error("in '{folder}': {source}")]
    Shape {
        folder: PathBuf,
        #[source]
        source: ShapeError,
    },
}

fn read_matrix(path: &Path) -> Result<Array2<f64>, NpyError> {
    if !path.is_file() {
        return Err(NpyError::Missing(path.to_path_buf()));
    }
    let bytes = std::fs::read(path).map_err(|e| NpyError::Read {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    matrix_from_bytes(&bytes, path)
}

/// Parses a 2-D f64 or f32 `.npy` held in memory; `path` only names it in errors.
pub fn matrix_from_bytes(bytes: &[u8], path: &Path) -> Result<Array2<f64>, NpyError> {
    let format = |e| NpyError::Format {
        path: path.to_path_buf(),
        reason: describe(e),
    };
    match Array2::<f64>::read_npy(bytes) {
        Ok(array) => Ok(array),
        Err(ReadNpyError::WrongDescriptor(_)) => Array2::<f32>::read_npy(bytes)
            .map(|a| a.mapv(f64::from))
            .map_err(format),
        Err(e) => Err(format(e)),
    }
}

fn describe(error: ReadNpyError) -> String {
    match error {
        ReadNpyError::WrongNdim(expected, found) => {
            format!("it has {found} dimensions, expected {}", expected.unwrap_or(2))
        }
        ReadNpyError::WrongDescriptor(descr) => format!("unsupported dtype {descr}"),
        ReadNpyError::MissingData => "the file is truncated (fewer values than its shape says)".into(),
        ReadNpyError::ExtraBytes(n) => format!("{n} unexpected bytes after the data"),
        other => other.to_string(),
    }
}

/// Reads a sequence from a folder.
pub fn load_folder(folder: &Path) -> Result<Sequence, NpyError> {
    if !folder.is_dir() {
        return Err(NpyError::NotAFolder(folder.to_path_buf()));
    }
    let queries = read_matrix(&folder.join("q.npy"))?;
    let keys = read_matrix(&folder.join("k.npy"))?;
    let values = read_matrix(&folder.join("v.npy"))?;
    let tokens_path = folder.join("tokens.txt");
    let tokens = if tokens_path.is_file() {
        let bytes = std::fs::read(&tokens_path).map_err(|e| NpyError::Read {
            path: tokens_path.clone(),
            reason: e.to_string(),
        })?;
        let text = String::from_utf8(bytes).map_err(|_| NpyError::TokensNotUtf8(tokens_path.clone()))?;
        text.lines().map(|l| l.trim_end_matches('\r').to_string()).collect()
    } else {
        Sequence::numbered_tokens(queries.nrows())
    };
    Sequence::new(
        format!("npy:{}", folder.display()),
        tokens,
        queries,
        keys,
        values,
    )
    .map_err(|source| NpyError::Shape {
        folder: folder.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray_npy::WriteNpyExt;
    use std::fs::File;

    fn write(path: &Path, array: &Array2<f64>) {
        array.write_npy(File::create(path).unwrap()).unwrap();
    }

    #[test]
    fn reads_f32_and_f64_with_tokens() {
        let dir = tempfile::tempdir().unwrap();
        let q = Array2::from_shape_fn((3, 4), |(i, j)| (i + j) as f64);
        write(&dir.path().join("q.npy"), &q);
        write(&dir.path().join("k.npy"), &q);
        q.mapv(|x| x as f32).write_npy(File::create(dir.path().join("v.npy")).unwrap()).unwrap();
        std::fs::write(dir.path().join("tokens.txt"), "a\nb\nc\n").unwrap();
        let seq = load_folder(dir.path()).unwrap();
        assert_eq!(seq.tokens, ["a", "b", "c"]);
        assert_eq!(seq.values, q);
    }

    #[test]
    fn bad_folders_get_named_errors() {
        let dir = tempfile::tempdir().unwrap();
        let err = load_folder(dir.path()).unwrap_err().to_string();
        assert!(err.contains("q.npy") && err.contains("missing"), "{err}");

        let q = Array2::<f64>::zeros((3, 4));
        write(&dir.path().join("q.npy"), &q);
        write(&dir.path().join("k.npy"), &Array2::zeros((2, 4)));
        write(&dir.path().join("v.npy"), &q);
        let err = load_folder(dir.path()).unwrap_err().to_string();
        assert!(err.contains("q has 3 rows but k has 2"), "{err}");

        write(&dir.path().join("k.npy"), &q);
        let bytes = std::fs::read(dir.path().join("v.npy")).unwrap();
        std::fs::write(dir.path().join("v.npy"), &bytes[..bytes.len() - 10]).unwrap();
        let err = load_folder(dir.path()).unwrap_err().to_string();
        assert!(err.contains("v.npy") && err.contains("truncated"), "{err}");

        ndarray::Array2::<i32>::zeros((3, 4)).write_npy(File::create(dir.path().join("v.npy")).unwrap()).unwrap();
        let err = load_folder(dir.path()).unwrap_err().to_string();
        assert!(err.contains("dtype"), "{err}");

        write(&dir.path().join("v.npy"), &q);
        std::fs::write(dir.path().join("tokens.txt"), [0xff, 0xfe, b'\n']).unwrap();
        let err = load_folder(dir.path()).unwrap_err().to_string();
        assert!(err.contains("UTF-8"), "{err}");

        let err = load_folder(&dir.path().join("q.npy")).unwrap_err().to_string();
        assert!(err.contains("not a folder"), "{err}");
    }
}

//! `npy:DIR`: a folder with `q.npy`, `k.npy`, `v.npy` (f32 or f64, 2-D) and an optional
//! `tokens.txt` (one label per line).

use crate::model::sequence::{Sequence, ShapeError};
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
    check_declared_size(bytes).map_err(|reason| NpyError::Format {
        path: path.to_path_buf(),
        reason,
    })?;
    match Array2::<f64>::read_npy(bytes) {
        Ok(array) => Ok(array),
        Err(ReadNpyError::WrongDescriptor(_)) => Array2::<f32>::read_npy(bytes)
            .map(|a| a.mapv(f64::from))
            .map_err(format),
        Err(e) => Err(format(e)),
    }
}

/// Refuses a header whose shape needs more data than the file holds, before anything is
/// allocated for it (a 100-byte file must not make us reserve gigabytes).
fn check_declared_size(bytes: &[u8]) -> Result<(), String> {
    const MAGIC: &[u8] = b"\x93NUMPY";
    if bytes.len() < 10 || !bytes.starts_with(MAGIC) {
        return Ok(()); // ndarray-npy names the problem
    }
    let (header_len, start) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10usize),
        _ if bytes.len() >= 12 => (
            u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
            12,
        ),
        _ => return Ok(()),
    };
    let Some(header) = bytes.get(start..start.saturating_add(header_len)) else {
        return Err("the file is truncated inside its header".into());
    };
    let header = String::from_utf8_lossy(header);
    let item_size: usize = if header.contains("f8") {
        8
    } else if header.contains("f4") {
        4
    } else {
        return Ok(());
    };
    let Some(shape_at) = header.find("'shape'") else {
        return Ok(());
    };
    let after = &header[shape_at..];
    let (Some(open), Some(close)) = (after.find('('), after.find(')')) else {
        return Ok(());
    };
    if close < open {
        return Ok(());
    }
    let mut elements: usize = 1;
    for dim in after[open + 1..close]
        .split(',')
        .map(str::trim)
        .filter(|d| !d.is_empty())
    {
        let Ok(dim) = dim.parse::<usize>() else {
            return Ok(());
        };
        elements = elements
            .checked_mul(dim)
            .ok_or_else(|| format!("its shape ({}) is too large", &after[open + 1..close]))?;
    }
    let needed = elements.saturating_mul(item_size);
    let available = bytes.len() - (start + header_len).min(bytes.len());
    if needed > available {
        return Err(format!(
            "the file is truncated: its shape ({}) needs {needed} bytes of data but {available} follow the header",
            &after[open + 1..close]
        ));
    }
    Ok(())
}

fn describe(error: ReadNpyError) -> String {
    match error {
        ReadNpyError::WrongNdim(expected, found) => {
            format!(
                "it has {found} dimensions, expected {}",
                expected.unwrap_or(2)
            )
        }
        ReadNpyError::WrongDescriptor(descr) => format!("unsupported dtype {descr}"),
        ReadNpyError::MissingData => {
            "the file is truncated (fewer values than its shape says)".into()
        }
        ReadNpyError::ExtraBytes(n) => format!("{n} unexpected bytes after the data"),
        other => other.to_string(),
    }
}

/// Reads an f64 or f32 `.npy` of any dimension.
fn read_any(path: &Path) -> Result<ndarray::ArrayD<f64>, NpyError> {
    if !path.is_file() {
        return Err(NpyError::Missing(path.to_path_buf()));
    }
    let bytes = std::fs::read(path).map_err(|e| NpyError::Read {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    let format = |e| NpyError::Format {
        path: path.to_path_buf(),
        reason: describe(e),
    };
    check_declared_size(&bytes).map_err(|reason| NpyError::Format {
        path: path.to_path_buf(),
        reason,
    })?;
    match ndarray::ArrayD::<f64>::read_npy(bytes.as_slice()) {
        Ok(array) => Ok(array),
        Err(ReadNpyError::WrongDescriptor(_)) => ndarray::ArrayD::<f32>::read_npy(bytes.as_slice())
            .map(|a| a.mapv(f64::from))
            .map_err(format),
        Err(e) => Err(format(e)),
    }
}

/// Reads a whole layer from a folder whose q.npy, k.npy and v.npy carry a leading head axis
/// (heads × N × D). Returns None when q.npy has no head axis (it is 2-D).
pub fn load_folder_heads(folder: &Path) -> Result<Option<Vec<Sequence>>, NpyError> {
    use ndarray::{Axis, Ix3};
    if !folder.is_dir() {
        return Err(NpyError::NotAFolder(folder.to_path_buf()));
    }
    let mut arrays = Vec::new();
    for name in ["q.npy", "k.npy", "v.npy"] {
        let path = folder.join(name);
        let array = read_any(&path)?;
        match array.ndim() {
            2 if name == "q.npy" => return Ok(None),
            3 => arrays.push(array.into_dimensionality::<Ix3>().expect("three axes")),
            found => {
                return Err(NpyError::Format {
                    path,
                    reason: format!(
                        "it has {found} dimensions, expected 3 (heads × N × D) like q.npy"
                    ),
                });
            }
        }
    }
    let heads = arrays[0].len_of(Axis(0));
    if arrays.iter().any(|a| a.len_of(Axis(0)) != heads) {
        return Err(NpyError::Format {
            path: folder.to_path_buf(),
            reason: format!(
                "q, k and v have {}, {} and {} heads: their leading axes must agree",
                arrays[0].len_of(Axis(0)),
                arrays[1].len_of(Axis(0)),
                arrays[2].len_of(Axis(0))
            ),
        });
    }
    let n = arrays[0].len_of(Axis(1));
    let tokens = read_tokens(folder)?.unwrap_or_else(|| Sequence::numbered_tokens(n));
    (0..heads)
        .map(|h| {
            let take = |a: &ndarray::Array3<f64>| a.index_axis(Axis(0), h).to_owned();
            Sequence::new(
                format!("npy:{}", folder.display()),
                tokens.clone(),
                take(&arrays[0]),
                take(&arrays[1]),
                take(&arrays[2]),
            )
            .map_err(|source| NpyError::Shape {
                folder: folder.to_path_buf(),
                source,
            })
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

/// The labels of `tokens.txt`, if the folder has one.
fn read_tokens(folder: &Path) -> Result<Option<Vec<String>>, NpyError> {
    let tokens_path = folder.join("tokens.txt");
    if !tokens_path.is_file() {
        return Ok(None);
    }
    let bytes = std::fs::read(&tokens_path).map_err(|e| NpyError::Read {
        path: tokens_path.clone(),
        reason: e.to_string(),
    })?;
    let text =
        String::from_utf8(bytes).map_err(|_| NpyError::TokensNotUtf8(tokens_path.clone()))?;
    Ok(Some(
        text.lines()
            .map(|l| l.trim_end_matches('\r').to_string())
            .collect(),
    ))
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
        let text =
            String::from_utf8(bytes).map_err(|_| NpyError::TokensNotUtf8(tokens_path.clone()))?;
        text.lines()
            .map(|l| l.trim_end_matches('\r').to_string())
            .collect()
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
        q.mapv(|x| x as f32)
            .write_npy(File::create(dir.path().join("v.npy")).unwrap())
            .unwrap();
        std::fs::write(dir.path().join("tokens.txt"), "a\nb\nc\n").unwrap();
        let seq = load_folder(dir.path()).unwrap();
        assert_eq!(seq.tokens, ["a", "b", "c"]);
        assert_eq!(seq.values, q);
    }

    #[test]
    fn a_huge_declared_shape_is_refused_before_allocating() {
        // Found by the fuzzer: a tiny file whose header promises 10^10 values.
        let mut header =
            String::from("{'descr': '<f8', 'fortran_order': False, 'shape': (99999, 99999), }");
        while (10 + header.len() + 1) % 64 != 0 {
            header.push(' ');
        }
        header.push('\n');
        let mut forged = b"\x93NUMPY\x01\x00".to_vec();
        forged.extend_from_slice(&(header.len() as u16).to_le_bytes());
        forged.extend_from_slice(header.as_bytes());
        forged.extend_from_slice(&[0u8; 16]);
        let message = matrix_from_bytes(&forged, Path::new("q.npy"))
            .unwrap_err()
            .to_string();
        assert!(
            message.contains("q.npy") && message.contains("truncated"),
            "{message}"
        );
        assert!(message.contains("99999, 99999"), "{message}");
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

        ndarray::Array2::<i32>::zeros((3, 4))
            .write_npy(File::create(dir.path().join("v.npy")).unwrap())
            .unwrap();
        let err = load_folder(dir.path()).unwrap_err().to_string();
        assert!(err.contains("dtype"), "{err}");

        write(&dir.path().join("v.npy"), &q);
        std::fs::write(dir.path().join("tokens.txt"), [0xff, 0xfe, b'\n']).unwrap();
        let err = load_folder(dir.path()).unwrap_err().to_string();
        assert!(err.contains("UTF-8"), "{err}");

        let err = load_folder(&dir.path().join("q.npy"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("not a folder"), "{err}");
    }
}

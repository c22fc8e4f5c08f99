//! Files: experiment TOML, exports (CSV, .npy, JSON, PNG) and atomic saves.

pub mod checkpoint;
pub mod experiment;
pub mod export;
pub mod lesson;
pub mod presets;

use std::io::Write;
use std::path::Path;

/// Writes `bytes` to `path` atomically: a temporary file in the same folder, flushed, then
/// renamed over the target. On failure the old file is untouched. The file gets the
/// permissions of any newly created file (0666 less the umask, e.g. 0644), not the private
/// 0600 of temporary files.
pub fn atomic_write(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if path.is_dir() {
        return Err(std::io::Error::other("the path is a folder"));
    }
    let folder = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut builder = tempfile::Builder::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    let mut temp = builder.tempfile_in(folder).map_err(plain)?;
    temp.write_all(bytes).map_err(plain)?;
    temp.as_file().sync_all().map_err(plain)?;
    temp.persist(path).map_err(|e| plain(e.error))?;
    Ok(())
}

/// The reason of `error` without the temporary file's name, which tempfile adds and the user
/// never chose: callers name the user's target path beside it (issue 25).
fn plain(error: std::io::Error) -> std::io::Error {
    let reason = match error.kind() {
        std::io::ErrorKind::NotFound => "its folder does not exist".to_string(),
        kind => kind.to_string(),
    };
    std::io::Error::new(error.kind(), reason)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_write_names_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let error = atomic_write(&dir.path().join("missing/out.txt"), b"x").unwrap_err();
        let text = error.to_string();
        assert!(!text.contains(".tmp"), "{text}");
        assert_eq!(text, "its folder does not exist");
    }

    #[test]
    fn atomic_writes_replace_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.txt");
        atomic_write(&path, b"first").unwrap();
        atomic_write(&path, b"second").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"second");
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temporary left"
        );
        assert!(
            atomic_write(dir.path(), b"x").is_err(),
            "a folder is not overwritten"
        );
    }

    #[cfg(unix)]
    #[test]
    fn atomic_writes_get_the_permissions_of_a_plain_new_file() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("plain.txt");
        std::fs::write(&plain, b"x").unwrap();
        let atomic = dir.path().join("atomic.txt");
        atomic_write(&atomic, b"x").unwrap();
        let mode = |path: &Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&atomic), mode(&plain), "umask applies, not 0600");
        assert_ne!(mode(&atomic) & 0o400, 0, "the owner can read it");
    }
}

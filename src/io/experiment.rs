//! Experiment files (TOML): the one file format for a whole setup.
//!
//! ```toml
//! format_version = 1
//! description = "optional text shown in the app"
//! [params]
//! m = 256
//! [sequence]
//! source = "synthetic:16x32"   # or "npy:PATH", "bundled:NAME", "model:PATH", "digits:INDEX", "image:PATH"
//! text = "only for model: sources that read text"
//! image = "only for model: sources that read images (a ViT folder)"
//! ```
//! Relative paths resolve against the file's folder. Unknown keys are errors.

use crate::data::error::SequenceError;
use crate::data::experiment::Experiment;
use crate::data::spec::SourceSpec;
use crate::model::params::{ParamError, Params};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The newest format this build reads and the one it writes.
pub const FORMAT_VERSION: u32 = 1;

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSequence {
    source: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    image: Option<PathBuf>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileExperiment {
    format_version: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(default)]
    params: Params,
    sequence: Option<FileSequence>,
}

/// Why an experiment file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ExperimentError {
    #[error("cannot read '{path}': {reason}")]
    Read { path: PathBuf, reason: String },
    #[error("'{path}' is a folder, not an experiment file")]
    IsFolder { path: PathBuf },
    #[error("'{path}' is not valid TOML for an experiment: {reason}")]
    Parse { path: PathBuf, reason: String },
    #[error("'{path}' has no format_version; add `format_version = {FORMAT_VERSION}` at the top")]
    MissingVersion { path: PathBuf },
    #[error(
        "'{path}' has format_version = {found}, newer than this build reads ({FORMAT_VERSION}); update tripartite"
    )]
    NewerVersion { path: PathBuf, found: u32 },
    #[error("'{path}' has format_version = 0, which never existed; use {FORMAT_VERSION}")]
    BadVersion { path: PathBuf },
    #[error("'{path}': {source}")]
    Param {
        path: PathBuf,
        #[source]
        source: ParamError,
    },
    #[error("'{path}': {source}")]
    Sequence {
        path: PathBuf,
        #[source]
        source: SequenceError,
    },
    #[error("'{path}' has no [sequence] table with a `source` key")]
    MissingSequence { path: PathBuf },
    #[error("cannot write '{path}': {reason}")]
    Write { path: PathBuf, reason: String },
}

impl Experiment {
    /// Reads and validates an experiment file.
    pub fn load(path: &Path) -> Result<Self, ExperimentError> {
        if path.is_dir() {
            return Err(ExperimentError::IsFolder {
                path: path.to_path_buf(),
            });
        }
        let bytes = std::fs::read(path).map_err(|e| ExperimentError::Read {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        let text = String::from_utf8(bytes).map_err(|_| ExperimentError::Parse {
            path: path.to_path_buf(),
            reason: "the file is not UTF-8 text".into(),
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        let text = learned_resolved_against(&text, base).unwrap_or(text);
        let mut experiment = Self::parse(&text, path)?;
        experiment.source = experiment.source.resolved_against(base);
        Ok(experiment)
    }

    /// Parses TOML text; `path` only names the file in errors. Paths stay as written.
    pub fn parse(text: &str, path: &Path) -> Result<Self, ExperimentError> {
        let file: FileExperiment = toml::from_str(text).map_err(|e| {
            // A parameter whose value does not fit its field (m = -5) is refused in the
            // table's own sentence, as `--set m=-5` is, rather than in serde's words.
            match refused_param(text) {
                Some(source) => ExperimentError::Param {
                    path: path.to_path_buf(),
                    source,
                },
                None => ExperimentError::Parse {
                    path: path.to_path_buf(),
                    reason: one_line(&e.to_string()),
                },
            }
        })?;
        match file.format_version {
            None => {
                return Err(ExperimentError::MissingVersion {
                    path: path.to_path_buf(),
                });
            }
            Some(0) => {
                return Err(ExperimentError::BadVersion {
                    path: path.to_path_buf(),
                });
            }
            Some(v) if v > FORMAT_VERSION => {
                return Err(ExperimentError::NewerVersion {
                    path: path.to_path_buf(),
                    found: v,
                });
            }
            Some(_) => {}
        }
        file.params
            .validate()
            .map_err(|source| ExperimentError::Param {
                path: path.to_path_buf(),
                source,
            })?;
        let sequence = file
            .sequence
            .ok_or_else(|| ExperimentError::MissingSequence {
                path: path.to_path_buf(),
            })?;
        let mut source: SourceSpec =
            sequence
                .source
                .parse()
                .map_err(|source| ExperimentError::Sequence {
                    path: path.to_path_buf(),
                    source,
                })?;
        if let Some(image) = sequence.image {
            source = source.with_image(image);
        }
        Ok(Experiment {
            params: file.params,
            source,
            text: sequence.text,
            description: file.description,
        })
    }

    /// The experiment as TOML, every parameter written out.
    pub fn to_toml(&self) -> String {
        let file = FileExperiment {
            format_version: Some(FORMAT_VERSION),
            description: self.description.clone(),
            params: self.params.clone(),
            sequence: Some(match &self.source {
                SourceSpec::Image {
                    path,
                    model: Some(dir),
                } => FileSequence {
                    source: SourceSpec::Model(dir.clone()).to_string(),
                    text: self.text.clone(),
                    image: Some(path.clone()),
                },
                source => FileSequence {
                    source: source.to_string(),
                    text: self.text.clone(),
                    image: None,
                },
            }),
        };
        toml::to_string_pretty(&file).expect("experiments always serialise")
    }

    /// Writes the experiment atomically (temporary file in the same folder, then rename). A
    /// learned-synapses file in the experiment file's folder (or below it) is written relative
    /// to it, so that the two can move together.
    pub fn save(&self, path: &Path) -> Result<(), ExperimentError> {
        let mut text = self.to_toml();
        if let crate::model::params::Projection::Learned(id) = self.params.projection {
            let learned = PathBuf::from(crate::model::learned::path(id));
            let folder = path.parent().unwrap_or(Path::new("."));
            let absolute = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
            if let Ok(relative) = absolute(&learned).strip_prefix(absolute(folder)) {
                let quoted = |p: &str| toml::Value::String(format!("learned:{p}")).to_string();
                let written = quoted(&learned.to_string_lossy());
                let relative = quoted(&relative.to_string_lossy());
                text = text.replacen(
                    &format!("projection = {written}"),
                    &format!("projection = {relative}"),
                    1,
                );
            }
        }
        super::atomic_write(path, text.as_bytes()).map_err(|e| ExperimentError::Write {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })
    }
}

/// The text with a relative `projection = "learned:FILE"` made absolute against `base` (the
/// experiment file's folder); `None` when there is nothing to change (or the text is not valid
/// TOML, which [`Experiment::parse`] then reports). A `learned:bundled:NAME` file is built in.
fn learned_resolved_against(text: &str, base: &Path) -> Option<String> {
    let mut table: toml::Table = toml::from_str(text).ok()?;
    let params = table.get_mut("params")?.as_table_mut()?;
    let value = params.get_mut("projection")?;
    let file = value.as_str()?.trim().strip_prefix("learned:")?.trim();
    if file.starts_with(crate::model::learned::BUNDLED_PREFIX) || Path::new(file).is_absolute() {
        return None;
    }
    *value = toml::Value::String(format!("learned:{}", base.join(file).display()));
    toml::to_string(&table).ok()
}

/// The first known key of the `[params]` table of valid TOML `text` whose value is refused as
/// `--set KEY=VALUE` would refuse it, if any.
fn refused_param(text: &str) -> Option<ParamError> {
    let table: toml::Table = toml::from_str(text).ok()?;
    let params = table.get("params")?.as_table()?;
    params.iter().find_map(|(key, value)| {
        let param = crate::model::params::Param::named(key)?;
        let text = match value {
            toml::Value::String(text) => text.clone(),
            toml::Value::Integer(_) | toml::Value::Float(_) | toml::Value::Boolean(_) => {
                value.to_string()
            }
            _ => return None,
        };
        param.set_text(&mut Params::default(), &text).err()
    })
}

/// The first line of a multi-line parser message, plus the line/column it points at.
pub(crate) fn one_line(message: &str) -> String {
    let lines: Vec<&str> = message
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    match lines.as_slice() {
        [] => String::new(),
        [only] => (*only).to_string(),
        [first, .., last] => format!("{first} ({last})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Experiment, ExperimentError> {
        Experiment::parse(text, Path::new("x.toml"))
    }

    #[test]
    fn round_trips_every_parameter() {
        let mut e = Experiment::default();
        e.params.m = 1000;
        e.params.tau_calcium = 250.0;
        e.params.feature_map = crate::model::params::FeatureMap::Hyperbolic;
        e.description = Some("demo".into());
        let back = parse(&e.to_toml()).unwrap();
        assert_eq!(back, e);
    }

    #[test]
    fn bad_files_get_one_clear_message() {
        let cases = [
            (
                "format_version = 1\n[params]\nm = 0\n[sequence]\nsource='synthetic:2x2'",
                "m must be a whole number between 1 and 16 777 216",
            ),
            (
                "format_version = 1\n[params]\ntau = 1\n[sequence]\nsource='synthetic:2x2'",
                "unknown field `tau`",
            ),
            (
                "format_version = 1\n[params]\nm = 'many'\n[sequence]\nsource='synthetic:2x2'",
                "m must be a whole number between 1 and 16 777 216",
            ),
            (
                "format_version = 1\n[params]\nm = -5\n[sequence]\nsource='synthetic:2x2'",
                "'x.toml': m must be a whole number between 1 and 16 777 216",
            ),
            (
                "format_version = 1\n[params]\nm = '8'\n[sequence]\nsource='synthetic:2x2'",
                "invalid type",
            ),
            (
                "[params]\n[sequence]\nsource='synthetic:2x2'",
                "no format_version",
            ),
            (
                "format_version = 7\n[sequence]\nsource='synthetic:2x2'",
                "newer than this build",
            ),
            (
                "format_version = 1\n[params]\neta = nan\n[sequence]\nsource='synthetic:2x2'",
                "eta must be a rate per ms above 0",
            ),
            (
                "format_version = 1\n[params]\ntau_calcium = inf\n[sequence]\nsource='synthetic:2x2'",
                "tau_calcium",
            ),
            (
                "format_version = 1\n[sequence]\nsource='wav:x'",
                "unknown sequence source",
            ),
            ("format_version = 1\n", "no [sequence]"),
            ("format_version = = 1", "not valid TOML"),
            (
                "format_version = 1\nextra = 2\n[sequence]\nsource='synthetic:2x2'",
                "unknown field `extra`",
            ),
        ];
        for (text, expect) in cases {
            let err = parse(text).unwrap_err().to_string();
            assert!(err.contains(expect), "{text:?}: {err}");
            assert!(!err.contains('\n'), "one line: {err}");
        }
    }

    #[test]
    fn images_are_recorded_by_bundled_index_or_path() {
        for source in [
            SourceSpec::Digits(5),
            SourceSpec::Drawing((0..64).map(|i| (i * 3) as u8).collect()),
            SourceSpec::Image {
                path: "/pics/seven.png".into(),
                model: None,
            },
            SourceSpec::Image {
                path: "/pics/cat.jpg".into(),
                model: Some("/models/vit-base".into()),
            },
        ] {
            let e = Experiment {
                source: source.clone(),
                ..Experiment::default()
            };
            let toml = e.to_toml();
            assert_eq!(parse(&toml).unwrap().source, source, "{toml}");
        }
        let e = Experiment {
            source: SourceSpec::Image {
                path: "/pics/cat.jpg".into(),
                model: Some("/models/vit-base".into()),
            },
            ..Experiment::default()
        };
        let toml = e.to_toml();
        assert!(
            toml.contains("source = \"model:/models/vit-base\""),
            "{toml}"
        );
        assert!(toml.contains("image = \"/pics/cat.jpg\""), "{toml}");
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("e.toml");
        std::fs::write(
            &file,
            "format_version = 1\n[sequence]\nsource = 'model:vit'\nimage = 'pics/a.png'\n",
        )
        .unwrap();
        assert_eq!(
            Experiment::load(&file).unwrap().source,
            SourceSpec::Image {
                path: dir.path().join("pics/a.png"),
                model: Some(dir.path().join("vit")),
            }
        );
    }

    #[test]
    fn relative_paths_resolve_against_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("e.toml");
        std::fs::write(
            &file,
            "format_version = 1\n[sequence]\nsource = 'npy:data'\n",
        )
        .unwrap();
        let e = Experiment::load(&file).unwrap();
        assert_eq!(e.source, SourceSpec::Npy(dir.path().join("data")));
        let err = Experiment::load(dir.path()).unwrap_err().to_string();
        assert!(err.contains("is a folder"), "{err}");
    }
}

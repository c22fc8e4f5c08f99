//! Lesson files (TOML) and the lessons bundled from `assets/lessons/`.
//!
//! ```toml
//! format_version = 1
//! title = "How an astrocyte computes softmax"
//! summary = "One line on what the learner will see."
//!
//! [[step]]
//! text = "A short paragraph with the app's symbols: Z_t, c, φ, H, g."
//! experiment = "calcium-tracks-normaliser"   # a bundled example, or the tables below
//! setup = ["run through write 1", "select astrocyte", "tab live"]
//! highlight = ["calcium_plot", "z_line", "m"]
//! lock = ["m"]
//! hide = ["seed"]
//! done_when = ["read 3 completed", "m between 1000 and 5000"]
//! figures = ["tv", "c err", "c after write 1", "tv when m = 64 256"]   # shown measured
//! [step.question]
//! prompt = "What will the calcium do?"
//! choices = ["Rise to Z_t", "Stay at zero"]
//! answer = 1          # the first choice is 1
//! why = "One sentence shown with the answer, after the run."
//!
//! [[step]]
//! text = "An inline experiment, the same tables as an experiment file."
//! [step.experiment.params]
//! m = 16
//! [step.experiment.sequence]
//! source = "synthetic:8x32"
//! ```
//! Tokens and slots count from 1, as the app shows them; neurons from 0. Unknown keys are
//! errors, and every problem is one sentence naming the step and the field.

use super::experiment::one_line;
use super::experiment::{ExperimentError, FORMAT_VERSION};
use super::presets;
use crate::data::experiment::Experiment;
use crate::data::lesson::{
    Condition, LESSON_FORMAT_VERSION, Lesson, LessonError, LessonExperiment, Question,
    SequenceShape, SetupAction, Step,
};
use crate::data::lesson_figures::Figure;
use crate::data::spec::SourceSpec;
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// One lesson shipped with the app.
#[derive(Clone, Copy, Debug)]
pub struct BundledLesson {
    /// File stem, e.g. `astrocyte-softmax`.
    pub name: &'static str,
    /// The lesson file's text.
    pub toml: &'static str,
}

macro_rules! bundled_lesson {
    ($name:literal) => {
        BundledLesson {
            name: $name,
            toml: include_str!(concat!("../../assets/lessons/", $name, ".toml")),
        }
    };
}

const BUNDLED: &[BundledLesson] = &[
    bundled_lesson!("astrocyte-softmax"),
    bundled_lesson!("where-it-breaks"),
];

/// Every bundled lesson, in the order `tripartite lessons` lists them (and
/// `AppCommand::StartLesson` counts them).
pub fn bundled() -> &'static [BundledLesson] {
    BUNDLED
}

impl BundledLesson {
    /// Where the lesson lives in the source tree, as listings name it.
    pub fn file(&self) -> String {
        format!("assets/lessons/{}.toml", self.name)
    }

    /// The lesson's title, read without checking the rest (for menus).
    pub fn title(&self) -> String {
        self.toml
            .parse::<toml::Table>()
            .ok()
            .and_then(|t| t.get("title").and_then(|v| v.as_str()).map(str::to_string))
            .unwrap_or_else(|| self.name.to_string())
    }

    pub fn lesson(&self) -> Result<Lesson, LessonFileError> {
        parse(self.toml, Path::new(&self.file()), Path::new("."))
    }
}

/// Why a lesson file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum LessonFileError {
    #[error("cannot read '{path}': {reason}")]
    Read { path: PathBuf, reason: String },
    #[error("'{path}' is not valid TOML for a lesson: {reason}")]
    Parse { path: PathBuf, reason: String },
    #[error("'{path}': {source}")]
    Invalid {
        path: PathBuf,
        #[source]
        source: LessonError,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileLesson {
    format_version: Option<u32>,
    title: Option<String>,
    summary: Option<String>,
    #[serde(default)]
    step: Vec<toml::Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileStep {
    text: Option<String>,
    experiment: Option<toml::Value>,
    #[serde(default)]
    setup: Vec<String>,
    #[serde(default)]
    highlight: Vec<String>,
    #[serde(default)]
    lock: Vec<String>,
    #[serde(default)]
    hide: Vec<String>,
    question: Option<FileQuestion>,
    #[serde(default)]
    done_when: Vec<String>,
    #[serde(default)]
    figures: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileQuestion {
    prompt: String,
    choices: Vec<String>,
    /// From 1.
    answer: i64,
    why: String,
}

/// Reads and checks a lesson file. Relative sequence paths resolve against its folder.
pub fn load(path: &Path) -> Result<Lesson, LessonFileError> {
    let bytes = std::fs::read(path).map_err(|e| LessonFileError::Read {
        path: path.to_path_buf(),
        reason: if path.is_dir() {
            "it is a folder, not a lesson file".into()
        } else {
            e.to_string()
        },
    })?;
    let text = String::from_utf8(bytes).map_err(|_| LessonFileError::Parse {
        path: path.to_path_buf(),
        reason: "the file is not UTF-8 text".into(),
    })?;
    parse(&text, path, path.parent().unwrap_or(Path::new(".")))
}

/// Parses and checks lesson text; `path` names the file in errors, `base` resolves relative
/// sequence paths.
pub fn parse(text: &str, path: &Path, base: &Path) -> Result<Lesson, LessonFileError> {
    let invalid = |source: LessonError| LessonFileError::Invalid {
        path: path.to_path_buf(),
        source,
    };
    let file: FileLesson = toml::from_str(text).map_err(|e| LessonFileError::Parse {
        path: path.to_path_buf(),
        reason: one_line(&e.to_string()),
    })?;
    match file.format_version {
        None => {
            return Err(invalid(LessonError::Lesson(format!(
                "the lesson has no format_version; add `format_version = \
                 {LESSON_FORMAT_VERSION}` at the top"
            ))));
        }
        Some(v) if v == 0 || v > LESSON_FORMAT_VERSION => {
            return Err(invalid(LessonError::Lesson(format!(
                "format_version = {v} is not one this build reads ({LESSON_FORMAT_VERSION}); \
                 {}",
                if v == 0 {
                    "version 0 never existed"
                } else {
                    "update tripartite"
                }
            ))));
        }
        Some(_) => {}
    }
    let steps = file
        .step
        .into_iter()
        .enumerate()
        .map(|(index, value)| {
            step(value, base).map_err(|problem| {
                invalid(LessonError::Step {
                    step: index + 1,
                    problem,
                })
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let lesson = Lesson {
        title: file.title.unwrap_or_default(),
        summary: file.summary.unwrap_or_default(),
        steps,
    };
    lesson.validate().map_err(invalid)?;
    Ok(lesson)
}

/// One `[[step]]` table as a step; the error is the problem without the step number.
fn step(value: toml::Value, base: &Path) -> Result<Step, String> {
    let file: FileStep = value.try_into().map_err(|e: toml::de::Error| {
        let message = one_line(&e.to_string());
        // serde names the field it disliked; say so in the step's words.
        message
            .strip_prefix("unknown field")
            .map(|rest| format!("unknown field{rest}"))
            .unwrap_or(message)
    })?;
    let experiment = file
        .experiment
        .map(|value| experiment(value, base))
        .transpose()?;
    let question = file
        .question
        .map(|q| {
            let answer = usize::try_from(q.answer)
                .ok()
                .filter(|&a| a >= 1)
                .ok_or_else(|| {
                    format!(
                        "question: answer = {} is not a choice number (the first choice is 1)",
                        q.answer
                    )
                })?;
            Ok::<_, String>(Question {
                prompt: q.prompt,
                choices: q.choices,
                answer: answer - 1,
                why: q.why,
            })
        })
        .transpose()?;
    Ok(Step {
        text: file.text.unwrap_or_default(),
        experiment,
        setup: file
            .setup
            .iter()
            .map(|a| SetupAction::parse(a))
            .collect::<Result<_, _>>()?,
        highlight: file.highlight,
        lock: file.lock,
        hide: file.hide,
        question,
        done_when: file
            .done_when
            .iter()
            .map(|c| Condition::parse(c))
            .collect::<Result<_, _>>()?,
        figures: file
            .figures
            .iter()
            .map(|f| Figure::parse(f))
            .collect::<Result<_, _>>()?,
    })
}

/// A step's `experiment`: a bundled example's name, or inline `[params]`/`[sequence]` tables
/// read exactly as an experiment file is.
fn experiment(value: toml::Value, base: &Path) -> Result<LessonExperiment, String> {
    let (preset, experiment) = match value {
        toml::Value::String(name) => {
            let Some(preset) = presets::find(&name) else {
                let known: Vec<&str> = presets::presets().iter().map(|p| p.name).collect();
                return Err(format!(
                    "experiment \"{name}\" is not a bundled example; examples are: {}",
                    known.join(", ")
                ));
            };
            let experiment = preset
                .experiment()
                .map_err(|e| format!("experiment \"{name}\": {}", experiment_reason(&e)))?;
            (Some(name), experiment)
        }
        toml::Value::Table(mut table) => {
            if table.contains_key("format_version") || table.contains_key("description") {
                return Err(
                    "experiment: an inline experiment has only [params] and [sequence] \
                            tables"
                        .into(),
                );
            }
            table.insert(
                "format_version".into(),
                toml::Value::Integer(i64::from(FORMAT_VERSION)),
            );
            let text = toml::to_string(&table).map_err(|e| format!("experiment: {e}"))?;
            let mut experiment = Experiment::parse(&text, Path::new("experiment"))
                .map_err(|e| format!("experiment: {}", experiment_reason(&e)))?;
            experiment.source = experiment.source.resolved_against(base);
            (None, experiment)
        }
        other => {
            return Err(format!(
                "experiment must be a bundled example's name or a table with [params] and \
                 [sequence], not a {}",
                other.type_str()
            ));
        }
    };
    let shape = shape(&experiment).map_err(|e| format!("experiment: {e}"))?;
    Ok(LessonExperiment {
        preset,
        experiment,
        shape,
    })
}

/// The sequence's sizes: read off a synthetic spec, otherwise by loading it.
fn shape(experiment: &Experiment) -> Result<SequenceShape, String> {
    if let SourceSpec::Synthetic { tokens, dim, .. } = experiment.source {
        return Ok(SequenceShape {
            tokens,
            key_dim: dim,
            value_dim: dim,
        });
    }
    let sequence = experiment.load_sequence().map_err(|e| e.to_string())?;
    Ok(SequenceShape {
        tokens: sequence.len(),
        key_dim: sequence.key_dim(),
        value_dim: sequence.value_dim(),
    })
}

/// An experiment error without the file name (an inline experiment has none).
fn experiment_reason(error: &ExperimentError) -> String {
    match error {
        ExperimentError::Parse { reason, .. } => reason.clone(),
        ExperimentError::Param { source, .. } => source.to_string(),
        ExperimentError::Sequence { source, .. } => source.to_string(),
        ExperimentError::MissingSequence { .. } => {
            "it has no [sequence] table with a `source` key".into()
        }
        other => other.to_string(),
    }
}

/// `tripartite lessons`: one line per bundled lesson, or a JSON array of {title, file, steps}.
pub fn listing(json: bool) -> Result<String, LessonFileError> {
    let mut rows = Vec::new();
    for bundled in bundled() {
        let lesson = bundled.lesson()?;
        rows.push((lesson.title, bundled.file(), lesson.steps.len()));
    }
    if json {
        let array: Vec<serde_json::Value> = rows
            .iter()
            .map(|(title, file, steps)| {
                serde_json::json!({ "title": title, "file": file, "steps": steps })
            })
            .collect();
        return Ok(
            serde_json::to_string_pretty(&array).expect("JSON of strings and numbers") + "\n",
        );
    }
    Ok(rows
        .iter()
        .map(|(title, file, steps)| format!("{title} · {steps} steps · {file}\n"))
        .collect())
}

/// `tripartite lesson check FILE`: the lesson's title and step count when it is sound.
pub fn check(path: &Path) -> Result<String, LessonFileError> {
    let lesson = load(path)?;
    Ok(format!(
        "{}: \"{}\", {} steps, all sound",
        path.display(),
        lesson.title,
        lesson.steps.len()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bundled_lesson_is_sound() {
        for bundled in bundled() {
            let lesson = bundled.lesson().unwrap_or_else(|e| panic!("{e}"));
            assert!(lesson.steps.len() >= 5, "{}", bundled.name);
            assert!(!lesson.summary.is_empty(), "{}", bundled.name);
        }
    }

    #[test]
    fn an_inline_experiment_reads_like_an_experiment_file() {
        let text = "format_version = 1\ntitle = 't'\n[[step]]\ntext = 'x'\n\
                    [step.experiment.params]\nm = 16\n[step.experiment.sequence]\n\
                    source = 'synthetic:4x8'\n";
        let lesson = parse(text, Path::new("l.toml"), Path::new(".")).unwrap();
        let e = lesson.steps[0].experiment.as_ref().unwrap();
        assert_eq!(e.experiment.params.m, 16);
        assert_eq!(e.shape.tokens, 4);
        assert_eq!(e.preset, None);
    }
}

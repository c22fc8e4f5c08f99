//! A guided lesson as a domain type: steps that load an experiment, set the app up, point at
//! regions of the window, ask a prediction and wait for a condition. Its file form (TOML)
//! lives in `io::lesson`; the app's lesson player and `tripartite lesson check` use this type.
//!
//! Authors write tokens and slots as the app shows them, counting from 1 ("token 3/8",
//! "read 3"), and neurons as the app names them, counting from 0 ("hidden neuron 17").

use crate::data::experiment::Experiment;
use crate::model::params::{Mode, PARAM_NAMES, Param, Value};
use crate::model::schedule::{Phase, SlotSchedule};
use std::fmt;

/// A region of the window a step can outline (besides any parameter, by its key). This enum
/// is the one registry of region names: lesson files are checked against it when they load,
/// the views record their rectangles under it, and the app asks it which Live tile holds what.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Region {
    Graph,
    Astrocyte,
    CalciumPlot,
    ZLine,
    ASoft,
    ANet,
    ADiff,
    Metrics,
    Controls,
}

impl Region {
    pub const ALL: [Region; 9] = [
        Region::Graph,
        Region::Astrocyte,
        Region::CalciumPlot,
        Region::ZLine,
        Region::ASoft,
        Region::ANet,
        Region::ADiff,
        Region::Metrics,
        Region::Controls,
    ];

    /// The name a lesson file writes.
    pub fn name(self) -> &'static str {
        match self {
            Region::Graph => "graph",
            Region::Astrocyte => "astrocyte",
            Region::CalciumPlot => "calcium_plot",
            Region::ZLine => "z_line",
            Region::ASoft => "a_soft",
            Region::ANet => "a_net",
            Region::ADiff => "a_diff",
            Region::Metrics => "metrics",
            Region::Controls => "controls",
        }
    }

    pub fn named(name: &str) -> Option<Region> {
        Region::ALL.into_iter().find(|r| r.name() == name)
    }
}

/// A control a step can lock or hide (besides any parameter, by its key): the run controls,
/// the whole parameter panel, and the sequence picker. The registry of control names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Control {
    RunControls,
    Parameters,
    Picker,
}

impl Control {
    pub const ALL: [Control; 3] = [Control::RunControls, Control::Parameters, Control::Picker];

    /// The name a lesson file writes.
    pub fn name(self) -> &'static str {
        match self {
            Control::RunControls => "controls",
            Control::Parameters => "parameters",
            Control::Picker => "picker",
        }
    }

    pub fn named(name: &str) -> Option<Control> {
        Control::ALL.into_iter().find(|c| c.name() == name)
    }
}

fn name_list<T: Copy>(all: &[T], name: impl Fn(T) -> &'static str) -> String {
    all.iter().map(|t| name(*t)).collect::<Vec<_>>().join(", ")
}

/// The setup actions and conditions in the words an author writes them, for error messages.
const ACTIONS: &str = "\"run\", \"pause\", \"run to end\", \"run to T ms\", \
    \"run through write K\", \"run through read K\", \"select astrocyte\", \"select input K\", \
    \"select hidden J\", \"select output I\", \"select synapse hidden J output I\", \
    \"select token T\", \"tab live\", \"tab all heads\", \"tab sweep\"";
const CONDITIONS: &str = "\"past write K\", \"past read K\", \"read K completed\", \
    \"KEY between LOW and HIGH\", \"token T selected\", \"tab live opened\", \
    \"tab all heads opened\", \"tab sweep opened\"";

/// The newest lesson format this build reads.
pub const LESSON_FORMAT_VERSION: u32 = 1;

/// A whole lesson.
#[derive(Clone, Debug, PartialEq)]
pub struct Lesson {
    pub title: String,
    /// One line saying what the learner will see.
    pub summary: String,
    pub steps: Vec<Step>,
}

/// One step of a lesson.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Step {
    /// A short paragraph; `*emphasis*` is shown strong.
    pub text: String,
    /// Loaded when the step opens; `None` keeps the current experiment.
    pub experiment: Option<LessonExperiment>,
    /// Run, in order, when the step opens (after its experiment has loaded).
    pub setup: Vec<SetupAction>,
    /// Regions to outline: [`Region`] names or parameter keys.
    pub highlight: Vec<String>,
    /// Controls or parameters the learner cannot change in this step.
    pub lock: Vec<String>,
    /// Controls or parameters the learner does not see in this step.
    pub hide: Vec<String>,
    pub question: Option<Question>,
    /// Every condition must hold before Next lights up (none: Next is always lit).
    pub done_when: Vec<Condition>,
    /// The figures the text quotes, measured live in the panel's "Figures of this step" box.
    pub figures: Vec<crate::data::lesson_figures::Figure>,
}

/// A step's experiment, resolved when the lesson is read.
#[derive(Clone, Debug, PartialEq)]
pub struct LessonExperiment {
    /// The bundled example it names, if it names one.
    pub preset: Option<String>,
    pub experiment: Experiment,
    /// Shape of its sequence, for checking slots, tokens and neurons.
    pub shape: SequenceShape,
}

/// The sizes of a sequence that steps refer to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SequenceShape {
    pub tokens: usize,
    /// D, the query/key dimension (input neurons).
    pub key_dim: usize,
    /// d, the value dimension (output neurons).
    pub value_dim: usize,
}

/// A prediction to make before running the step's experiment.
#[derive(Clone, Debug, PartialEq)]
pub struct Question {
    pub prompt: String,
    /// Two to four choices.
    pub choices: Vec<String>,
    /// Index of the right choice, from 0 (authors write it from 1).
    pub answer: usize,
    /// One sentence on why, shown with the answer.
    pub why: String,
}

/// A slot of the schedule, as the app numbers tokens (from 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SlotRef {
    pub phase: Phase,
    /// Token number, from 1.
    pub token: usize,
}

impl fmt::Display for SlotRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.phase.name(), self.token)
    }
}

impl SlotRef {
    /// The Euler step at which this slot ends, under `params` with `tokens` tokens.
    pub fn end_step(&self, schedule: &SlotSchedule) -> Option<u64> {
        schedule
            .slots
            .iter()
            .find(|s| s.phase == self.phase && s.token + 1 == self.token)
            .map(|s| s.end_step())
    }
}

/// Something to select in the graph, with the app's 0-based neuron indices.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    Astrocyte,
    Input(usize),
    Hidden(usize),
    Output(usize),
    Synapse { output: usize, hidden: usize },
}

/// A page of the central area.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LessonTab {
    Live,
    AllHeads,
    Sweep,
    Compare,
}

impl LessonTab {
    fn parse(words: &str) -> Option<LessonTab> {
        match words {
            "live" => Some(LessonTab::Live),
            "all heads" | "heads" => Some(LessonTab::AllHeads),
            "compare" => Some(LessonTab::Compare),
            "sweep" => Some(LessonTab::Sweep),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            LessonTab::Live => "Live",
            LessonTab::AllHeads => "All heads",
            LessonTab::Sweep => "Sweep",
            LessonTab::Compare => "Compare",
        }
    }
}

/// What a step does as it opens.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum SetupAction {
    Run,
    Pause,
    RunToEnd,
    /// Run at full speed until this simulated time (ms), then pause.
    RunToMs(f64),
    /// Run at full speed to the end of this slot, then pause.
    RunThrough(SlotRef),
    Select(Target),
    /// Select this token (from 1) in every view.
    SelectToken(usize),
    ShowTab(LessonTab),
}

/// What must hold before the learner may go on.
#[derive(Clone, Debug, PartialEq)]
pub enum Condition {
    /// Simulated time has reached the end of this slot.
    Past(SlotRef),
    /// Read slot K (from 1) has produced its row of A_net (either mode).
    ReadCompleted(usize),
    /// A numeric parameter lies in [low, high].
    ParamBetween {
        key: String,
        low: f64,
        high: f64,
    },
    /// This token (from 1) is selected.
    TokenSelected(usize),
    TabOpened(LessonTab),
}

/// Why a lesson cannot be used: one sentence naming the step and the field.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum LessonError {
    #[error("step {step}: {problem}")]
    Step { step: usize, problem: String },
    #[error("{0}")]
    Lesson(String),
}

/// Splits "write 3" / "read 3" into a slot.
fn slot_ref(words: &str) -> Option<SlotRef> {
    let (phase, token) = words.split_once(' ')?;
    let phase = match phase {
        "write" => Phase::Write,
        "read" => Phase::Read,
        _ => return None,
    };
    Some(SlotRef {
        phase,
        token: token.trim().parse().ok()?,
    })
}

/// Lower-case words separated by single spaces.
fn normalised(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

impl SetupAction {
    /// Reads an action as an author writes it, e.g. "run through read 3".
    pub fn parse(text: &str) -> Result<SetupAction, String> {
        let words = normalised(text);
        let bad = || format!("setup \"{text}\" is not an action; actions are: {ACTIONS}");
        let number = |s: &str| s.trim().parse::<usize>().map_err(|_| bad());
        Ok(match words.as_str() {
            "run" => SetupAction::Run,
            "pause" => SetupAction::Pause,
            "run to end" => SetupAction::RunToEnd,
            _ => {
                if let Some(rest) = words.strip_prefix("run to ") {
                    let ms = rest.strip_suffix("ms").ok_or_else(bad)?.trim();
                    let ms: f64 = ms.parse().map_err(|_| bad())?;
                    if !ms.is_finite() || ms < 0.0 {
                        return Err(bad());
                    }
                    SetupAction::RunToMs(ms)
                } else if let Some(rest) = words.strip_prefix("run through ") {
                    SetupAction::RunThrough(slot_ref(rest).ok_or_else(bad)?)
                } else if let Some(rest) = words.strip_prefix("tab ") {
                    SetupAction::ShowTab(LessonTab::parse(rest).ok_or_else(bad)?)
                } else if let Some(rest) = words.strip_prefix("select ") {
                    let target = match rest.split_once(' ') {
                        None if rest == "astrocyte" => Target::Astrocyte,
                        Some(("input", k)) => Target::Input(number(k)?),
                        Some(("hidden", j)) => Target::Hidden(number(j)?),
                        Some(("output", i)) => Target::Output(number(i)?),
                        Some(("token", t)) => return Ok(SetupAction::SelectToken(number(t)?)),
                        Some(("synapse", pair)) => {
                            let parts: Vec<&str> = pair.split(' ').collect();
                            match parts.as_slice() {
                                ["hidden", j, "output", i] => Target::Synapse {
                                    output: number(i)?,
                                    hidden: number(j)?,
                                },
                                _ => return Err(bad()),
                            }
                        }
                        _ => return Err(bad()),
                    };
                    SetupAction::Select(target)
                } else {
                    return Err(bad());
                }
            }
        })
    }
}

impl Condition {
    /// Reads a condition as an author writes it, e.g. "read 3 completed".
    pub fn parse(text: &str) -> Result<Condition, String> {
        let words = normalised(text);
        let bad =
            || format!("done_when \"{text}\" is not a condition; conditions are: {CONDITIONS}");
        if let Some(rest) = words.strip_prefix("past ") {
            return Ok(Condition::Past(slot_ref(rest).ok_or_else(bad)?));
        }
        if let Some(rest) = words.strip_prefix("read ")
            && let Some(k) = rest.strip_suffix(" completed")
        {
            return Ok(Condition::ReadCompleted(k.parse().map_err(|_| bad())?));
        }
        if let Some(rest) = words.strip_prefix("token ")
            && let Some(t) = rest.strip_suffix(" selected")
        {
            return Ok(Condition::TokenSelected(t.parse().map_err(|_| bad())?));
        }
        if let Some(rest) = words.strip_prefix("tab ")
            && let Some(tab) = rest.strip_suffix(" opened")
        {
            return Ok(Condition::TabOpened(LessonTab::parse(tab).ok_or_else(bad)?));
        }
        let parts: Vec<&str> = words.split(' ').collect();
        if let [key, "between", low, "and", high] = parts.as_slice() {
            let low: f64 = low.parse().map_err(|_| bad())?;
            let high: f64 = high.parse().map_err(|_| bad())?;
            return Ok(Condition::ParamBetween {
                key: key.to_string(),
                low,
                high,
            });
        }
        Err(bad())
    }
}

/// Whether `name` is a parameter key.
fn is_param(name: &str) -> bool {
    PARAM_NAMES.contains(&name)
}

impl Lesson {
    /// Checks every step against itself and against the experiment it runs in. The first
    /// problem is returned as one sentence naming the step and the field.
    pub fn validate(&self) -> Result<(), LessonError> {
        if self.title.trim().is_empty() {
            return Err(LessonError::Lesson(
                "the lesson has no title; add `title = \"…\"` at the top".into(),
            ));
        }
        if self.steps.is_empty() {
            return Err(LessonError::Lesson(
                "the lesson has no steps; add at least one [[step]] with a `text`".into(),
            ));
        }
        let mut current: Option<&LessonExperiment> = None;
        for (index, step) in self.steps.iter().enumerate() {
            if step.experiment.is_some() {
                current = step.experiment.as_ref();
            }
            step.validate(current)
                .map_err(|problem| LessonError::Step {
                    step: index + 1,
                    problem,
                })?;
        }
        Ok(())
    }
}

impl Step {
    /// The first parameter the step highlights (for the app to scroll it into sight).
    pub fn first_parameter(&self) -> Option<String> {
        self.highlight.iter().find(|name| is_param(name)).cloned()
    }

    /// Whether the step points at, locks or hides a parameter (so the parameter panel should
    /// be in sight).
    pub fn names_a_parameter(&self) -> bool {
        self.highlight
            .iter()
            .chain(&self.lock)
            .chain(&self.hide)
            .any(|name| is_param(name) || name == "parameters" || name == "picker")
            || self
                .done_when
                .iter()
                .any(|c| matches!(c, Condition::ParamBetween { .. }))
    }

    /// Checks this step, run in `experiment` (the last one loaded up to here, if any).
    fn validate(&self, experiment: Option<&LessonExperiment>) -> Result<(), String> {
        if self.text.trim().is_empty() {
            return Err("text is empty; every step says something to the learner".into());
        }
        for region in &self.highlight {
            if Region::named(region).is_none() && !is_param(region) {
                return Err(format!(
                    "highlight \"{region}\" is not a region; regions are: {}, or a parameter \
                     key such as m or tau_calcium",
                    name_list(&Region::ALL, Region::name)
                ));
            }
        }
        for (field, names) in [("lock", &self.lock), ("hide", &self.hide)] {
            for name in names {
                if Control::named(name).is_none() && !is_param(name) {
                    return Err(format!(
                        "{field} \"{name}\" is neither a control ({}) nor a parameter key; \
                         parameters are: {}",
                        name_list(&Control::ALL, Control::name),
                        PARAM_NAMES.join(", ")
                    ));
                }
            }
        }
        if let Some(question) = &self.question {
            question.validate()?;
            if self.experiment.is_none() {
                return Err(
                    "question: this step loads no experiment, so there is no fresh run \
                            to reveal the answer; add `experiment` to the step"
                        .into(),
                );
            }
            if self.setup.contains(&SetupAction::RunToEnd) {
                return Err(
                    "question: the setup runs to the end, so the answer would show \
                            before the learner runs the experiment; drop \"run to end\""
                        .into(),
                );
            }
        }
        let needs_experiment = || {
            "no step up to this one loads an experiment, so its slots, tokens and neurons \
             cannot be checked; add `experiment` here or earlier"
                .to_string()
        };
        for action in &self.setup {
            let slot_or_token = matches!(
                action,
                SetupAction::RunThrough(_) | SetupAction::SelectToken(_) | SetupAction::Select(_)
            );
            match experiment {
                None if slot_or_token => return Err(needs_experiment()),
                None => {}
                Some(e) => check_action(action, e)?,
            }
        }
        for condition in &self.done_when {
            if let Condition::ParamBetween { key, low, high } = condition {
                let Some(param) = Param::named(key) else {
                    return Err(format!(
                        "done_when \"{key} between …\" names no parameter; parameters are: {}",
                        PARAM_NAMES.join(", ")
                    ));
                };
                let numeric = experiment
                    .map(|e| param.get(&e.experiment.params))
                    .is_none_or(|v| !matches!(v, Value::Choice(_)));
                if !numeric {
                    return Err(format!(
                        "done_when \"{key} between …\": {key} is a choice, not a number"
                    ));
                }
                if !(low.is_finite() && high.is_finite() && low <= high) {
                    return Err(format!(
                        "done_when \"{key} between {low} and {high}\" is an empty range; write \
                         the lower bound first"
                    ));
                }
                continue;
            }
            match experiment {
                Some(e) => check_condition(condition, e)?,
                None if matches!(condition, Condition::TabOpened(_)) => {}
                None => return Err(needs_experiment()),
            }
        }
        for figure in &self.figures {
            figure.validate(experiment.map(|e| crate::data::lesson_figures::FigureRun {
                params: &e.experiment.params,
                tokens: e.shape.tokens,
            }))?;
        }
        Ok(())
    }
}

impl Question {
    fn validate(&self) -> Result<(), String> {
        if self.prompt.trim().is_empty() {
            return Err("question: the prompt is empty".into());
        }
        if !(2..=4).contains(&self.choices.len()) {
            return Err(format!(
                "question: {} choices given; a question has 2 to 4",
                self.choices.len()
            ));
        }
        if self.answer >= self.choices.len() {
            return Err(format!(
                "question: answer = {} but there are only {} choices (the first is 1)",
                self.answer + 1,
                self.choices.len()
            ));
        }
        if self.why.trim().is_empty() {
            return Err(
                "question: `why` is empty; say in one sentence why the answer is right".into(),
            );
        }
        Ok(())
    }
}

/// Checks a slot against the experiment: a dynamic run that has it.
fn check_slot(what: &str, slot: SlotRef, e: &LessonExperiment) -> Result<(), String> {
    if e.experiment.params.mode == Mode::Algebraic {
        return Err(format!(
            "{what} \"{slot}\" needs the dynamic mode, but this step's experiment is algebraic \
             (it has no slots); use \"read K completed\""
        ));
    }
    check_token(what, slot.token, e)
}

fn check_token(what: &str, token: usize, e: &LessonExperiment) -> Result<(), String> {
    let n = e.shape.tokens;
    if token == 0 || token > n {
        return Err(format!(
            "{what} names token {token}, past the end of this step's sequence ({n} tokens, \
             numbered 1 to {n})"
        ));
    }
    Ok(())
}

fn check_action(action: &SetupAction, e: &LessonExperiment) -> Result<(), String> {
    let params = &e.experiment.params;
    let within = |what: &str, index: usize, count: usize| {
        if index < count {
            Ok(())
        } else {
            Err(format!(
                "setup \"select {what} {index}\" is past the last {what} neuron ({}; they are \
                 numbered from 0)",
                count.saturating_sub(1)
            ))
        }
    };
    let hidden = params.feature_map.hidden_count(params.m, e.shape.key_dim);
    match *action {
        SetupAction::RunThrough(slot) => check_slot("setup", slot, e),
        SetupAction::SelectToken(t) => check_token("setup", t, e),
        SetupAction::Select(target) => {
            let dynamic_only = !matches!(target, Target::Astrocyte);
            if dynamic_only && params.mode == Mode::Algebraic {
                return Err(
                    "setup selects a neuron or synapse, but this step's experiment is \
                            algebraic and has no neurons to trace"
                        .into(),
                );
            }
            match target {
                Target::Astrocyte => Ok(()),
                Target::Input(k) => within("input", k, e.shape.key_dim),
                Target::Hidden(j) => within("hidden", j, hidden),
                Target::Output(i) => within("output", i, e.shape.value_dim),
                Target::Synapse { output, hidden: j } => {
                    within("hidden", j, hidden)?;
                    within("output", output, e.shape.value_dim)
                }
            }
        }
        SetupAction::RunToMs(ms) if params.mode == Mode::Dynamic => {
            let total = SlotSchedule::new(params, e.shape.tokens).total_ms();
            if ms > total {
                return Err(format!(
                    "setup \"run to {ms} ms\" is past the end of this step's run ({total} ms)"
                ));
            }
            Ok(())
        }
        SetupAction::RunToMs(_) => Err(
            "setup \"run to T ms\" needs the dynamic mode, but this step's experiment is \
                 algebraic"
                .into(),
        ),
        SetupAction::Run | SetupAction::Pause | SetupAction::RunToEnd | SetupAction::ShowTab(_) => {
            Ok(())
        }
    }
}

fn check_condition(condition: &Condition, e: &LessonExperiment) -> Result<(), String> {
    match condition {
        Condition::Past(slot) => check_slot("done_when", *slot, e),
        Condition::ReadCompleted(k) => check_token("done_when", *k, e),
        Condition::TokenSelected(t) => check_token("done_when", *t, e),
        Condition::ParamBetween { .. } | Condition::TabOpened(_) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_and_conditions_read_as_written() {
        assert_eq!(
            SetupAction::parse("Run through  read 3").unwrap(),
            SetupAction::RunThrough(SlotRef {
                phase: Phase::Read,
                token: 3
            })
        );
        assert_eq!(
            SetupAction::parse("run to 250 ms").unwrap(),
            SetupAction::RunToMs(250.0)
        );
        assert_eq!(
            SetupAction::parse("select synapse hidden 4 output 1").unwrap(),
            SetupAction::Select(Target::Synapse {
                output: 1,
                hidden: 4
            })
        );
        assert_eq!(
            SetupAction::parse("tab all heads").unwrap(),
            SetupAction::ShowTab(LessonTab::AllHeads)
        );
        assert!(
            SetupAction::parse("jump")
                .unwrap_err()
                .contains("actions are")
        );
        assert_eq!(
            Condition::parse("m between 1000 and 5000").unwrap(),
            Condition::ParamBetween {
                key: "m".into(),
                low: 1000.0,
                high: 5000.0
            }
        );
        assert_eq!(
            Condition::parse("read 2 completed").unwrap(),
            Condition::ReadCompleted(2)
        );
        assert_eq!(
            Condition::parse("tab sweep opened").unwrap(),
            Condition::TabOpened(LessonTab::Sweep)
        );
        assert!(
            Condition::parse("soon")
                .unwrap_err()
                .contains("conditions are")
        );
    }
}

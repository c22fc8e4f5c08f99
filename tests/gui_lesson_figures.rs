//! Every number a bundled lesson step quotes is on screen during that step, in the same
//! rounding. Each step is played as a learner would (its setup, then run to the end, then
//! whatever its `done_when` asks, with a reset and a run again), and the window's accessible
//! text is read at each of those states. Every number in the step's words (text, question,
//! choices, why) must appear in that text outside the lesson's own paragraphs: in a view,
//! the parameter panel, or the "Figures of this step" box the app measures. That box is in
//! sight without scrolling, at 1280×800 and 1024×768, at each of those states.

mod common;

use common::{wait_for, wait_snapshot};
use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::{By, NodeT as _, Queryable};
use tripartite::data::lesson::{Condition, Lesson, SetupAction, Step};
use tripartite::io::lesson;
use tripartite::model::params::Param;
use tripartite::sim::{Command, RunState};
use tripartite::ui::TripartiteApp;
use tripartite::ui::command::AppCommand;

/// A tall window, so the lesson panel's figures and the parameter panel are all laid out.
const SIZE: [f32; 2] = [1280.0, 1500.0];

fn command(h: &mut Harness<'_, TripartiteApp>, command: AppCommand) {
    let ctx = h.ctx.clone();
    h.state_mut().handle(&ctx, command);
}

/// Whitespace runs collapsed to one space, and `*emphasis*` marks dropped (the panel shows
/// them as strong text).
fn plain(text: &str) -> String {
    text.replace('*', "")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// A number quoted in prose: its digits as written, and whether it is a percentage.
#[derive(Clone, Debug, PartialEq)]
struct Quoted {
    digits: String,
    percent: bool,
}

impl std::fmt::Display for Quoted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}{}", self.digits, if self.percent { " %" } else { "" })
    }
}

/// Every number in `text`: a run of digits (with a decimal point inside) that does not belong
/// to a name such as "t0" or "φ_j"; a following "%" makes it a percentage.
fn numbers(text: &str) -> Vec<Quoted> {
    let chars: Vec<char> = text.chars().collect();
    let mut found = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let starts = chars[i].is_ascii_digit()
            && (i == 0 || !(chars[i - 1].is_alphanumeric() || "_.".contains(chars[i - 1])));
        if !starts {
            i += 1;
            continue;
        }
        let mut j = i;
        while j < chars.len()
            && (chars[j].is_ascii_digit()
                || (chars[j] == '.' && chars.get(j + 1).is_some_and(|c| c.is_ascii_digit())))
        {
            j += 1;
        }
        let digits: String = chars[i..j].iter().collect();
        let mut k = j;
        while k < chars.len() && chars[k] == ' ' {
            k += 1;
        }
        let percent = chars.get(k) == Some(&'%');
        found.push(Quoted { digits, percent });
        i = j;
    }
    found
}

/// Whether `text` shows `number` in the same rounding: the same digits, not part of a longer
/// number, followed by "%" if it is a percentage.
fn shows(text: &str, number: &Quoted) -> bool {
    text.match_indices(&number.digits).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let rest = &text[at + number.digits.len()..];
        let fresh = before.is_none_or(|c| !(c.is_alphanumeric() || c == '.' || c == '_'));
        let mut after = rest.chars();
        let ends = match after.next() {
            None => true,
            Some(c) if c.is_ascii_digit() => false,
            Some('.') => !after.next().is_some_and(|c| c.is_ascii_digit()),
            Some(_) => true,
        };
        let unit = !number.percent || rest.trim_start().starts_with('%');
        fresh && ends && unit
    })
}

/// The step's words as the learner reads them: text, question, choices and why.
fn step_words(step: &Step) -> Vec<String> {
    let mut words = vec![plain(&step.text)];
    if let Some(q) = &step.question {
        words.push(plain(&q.prompt));
        words.push(plain(&format!("Predict: {}", q.prompt)));
        words.extend(q.choices.iter().map(|c| plain(c)));
        words.push(plain(&q.why));
    }
    words
}

/// Everything the window's accessible tree says (labels and values), except the lesson's
/// own paragraphs, which cannot vouch for themselves.
fn screen_text(h: &Harness<'_, TripartiteApp>, own: &[String]) -> String {
    let mut text = String::new();
    for node in h.query_all(By::new()) {
        let node = node.accesskit_node();
        // A label's text runs (its wrapped rows) repeat, in pieces, the label's own value.
        if node.role() == Role::TextRun {
            continue;
        }
        for said in [node.label(), node.value()].into_iter().flatten() {
            let said = plain(&said);
            if said.is_empty() || own.contains(&said) {
                continue;
            }
            text.push_str(&said);
            text.push('\n');
        }
    }
    text
}

/// Steps frames until no what-if run of the figures box is still under way.
fn wait_figures(h: &mut Harness<'_, TripartiteApp>) {
    let deadline = std::time::Instant::now() + common::WAIT;
    while h
        .query_all(By::new().label_contains("running…"))
        .next()
        .is_some()
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the figures box's runs did not finish"
        );
        h.step();
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    h.run_steps(2);
}

/// Waits until the run stands still (paused or finished) on the step's experiment.
fn wait_still(h: &mut Harness<'_, TripartiteApp>, what: &str) {
    wait_snapshot(h, what, |s| {
        s.run.is_some() && matches!(s.state, RunState::Paused | RunState::Finished)
    });
}

/// Runs to the end and waits for it.
fn run_to_end(h: &mut Harness<'_, TripartiteApp>) {
    h.state_mut().send(Command::RunToEnd);
    wait_snapshot(h, "the end of the run", |s| s.state == RunState::Finished);
}

/// The value a learner sets for a "KEY between LOW and HIGH" condition: the first number the
/// text gives after the parameter's panel name that lies in the range, else LOW.
fn value_to_set(step: &Step, key: &str, low: f64, high: f64) -> f64 {
    let text = plain(&step.text);
    let label = tripartite::ui::views::params::panel_label(key).unwrap_or(key);
    text.find(label)
        .and_then(|at| {
            numbers(&text[at..])
                .into_iter()
                .filter_map(|n| n.digits.parse::<f64>().ok())
                .find(|v| (low..=high).contains(v))
        })
        .unwrap_or(low)
}

/// What a test does at each state of a step: the harness, the lesson, the step (from 0).
type Look<'a> = dyn FnMut(&mut Harness<'_, TripartiteApp>, &Lesson, usize) + 'a;

/// Plays step `index` (from 0) of the open lesson as a learner would, calling `look` at each
/// state the learner sees: after the setup, at the end of the run, and after any setting
/// the step asks for has been run to its end.
fn play(h: &mut Harness<'_, TripartiteApp>, lesson: &Lesson, index: usize, look: &mut Look<'_>) {
    let step = &lesson.steps[index];
    for action in &step.setup {
        match *action {
            SetupAction::RunThrough(slot) => {
                wait_snapshot(h, "the setup's slot", |s| {
                    let end = s.run.as_ref().and_then(|r| {
                        r.slots
                            .iter()
                            .find(|x| x.phase == slot.phase && x.token + 1 == slot.token)
                            .map(|x| x.end_step())
                    });
                    end.is_some_and(|end| s.step >= end)
                });
            }
            SetupAction::RunToMs(ms) => {
                wait_snapshot(h, "the setup's time", |s| s.time_ms >= ms);
            }
            SetupAction::RunToEnd => {
                wait_snapshot(h, "the setup's end", |s| s.state == RunState::Finished);
            }
            _ => {}
        }
    }
    wait_still(h, "the step's setup");
    wait_figures(h);
    if step.question.is_some() && !step.figures.is_empty() {
        // The figures would answer the prediction: they wait for the run.
        assert!(
            h.query_all(By::new().label_contains("They show with the answer"))
                .next()
                .is_some(),
            "{} step {}: the figures show before the prediction",
            lesson.title,
            index + 1
        );
    }
    look(h, lesson, index);
    run_to_end(h);
    wait_figures(h);
    look(h, lesson, index);
    let mut edited = false;
    for condition in &step.done_when {
        if let Condition::ParamBetween { key, low, high } = condition {
            let value = value_to_set(step, key, *low, *high);
            let mut params = h.state().snapshot().unwrap().params.clone();
            Param::named(key)
                .unwrap()
                .set_text(&mut params, &value.to_string())
                .unwrap();
            h.state_mut().send(Command::SetParams(params.clone()));
            wait_snapshot(h, "the learner's setting", |s| {
                s.params == params && s.run.is_some()
            });
            edited = true;
        }
    }
    if edited {
        h.state_mut().send(Command::Reset);
        wait_snapshot(h, "the reset", |s| s.step == 0 && s.run.is_some());
        run_to_end(h);
        wait_figures(h);
        look(h, lesson, index);
    }
}

/// Plays every step of bundled lesson `number` (from 0) in a window `size` points large,
/// calling `look` at each state of each step (see [`play`]); returns the lesson.
fn walk(number: usize, size: [f32; 2], look: &mut Look<'_>) -> Lesson {
    let bundled = &lesson::bundled()[number];
    let lesson = bundled.lesson().unwrap();
    let mut h = common::app_harness(common::classroom(), size, 1.0);
    // The generation of the run before each step: a step that loads an experiment waits for
    // a newer one (the same example may be loaded again, with the same settings).
    let mut before = h.state().snapshot().map_or(0, |s| s.generation);
    command(&mut h, AppCommand::StartLesson(number));
    for index in 0..lesson.steps.len() {
        let what = format!("{} step {}", lesson.title, index + 1);
        wait_for(&mut h, &what, |app| {
            let at = app.lesson().position().map(|(_, i, _)| i);
            let expected = app.lesson().experiment_for(index).map(|e| &e.experiment);
            // A step that loads an experiment waits for it (same source and settings); one
            // that keeps the run keeps the learner's settings too.
            let own = lesson.steps[index].experiment.is_some();
            let running = app.snapshot().is_some_and(|s| {
                expected.is_none_or(|e| {
                    s.run
                        .as_ref()
                        .is_some_and(|r| r.source == e.source.to_string())
                        && (!own || (s.params == e.params && s.generation > before))
                })
            });
            (at == Some(index) && running).then_some(())
        });
        play(&mut h, &lesson, index, look);
        if index + 1 < lesson.steps.len() {
            wait_for(&mut h, "Next to light up", |app| {
                app.lesson().can_advance(app.lesson_world()).then_some(())
            });
            before = h.state().snapshot().map_or(0, |s| s.generation);
            command(&mut h, AppCommand::LessonNext);
        }
    }
    lesson
}

/// Plays every step of bundled lesson `number` (from 0) and checks its quoted numbers.
fn every_quoted_number_is_on_screen(number: usize) {
    // What the screen said at each state, by step.
    let mut seen: Vec<(usize, String)> = Vec::new();
    let lesson = walk(number, SIZE, &mut |h, lesson, index| {
        let step = &lesson.steps[index];
        // The paragraph is on screen, and it is what `screen_text` leaves out.
        let paragraph = plain(&step.text);
        assert!(
            h.query_all(By::new().predicate(|node| {
                node.role() == Role::Label && node.value().is_some_and(|v| plain(&v) == paragraph)
            }))
            .next()
            .is_some(),
            "{} step {}: the step's text is not one label",
            lesson.title,
            index + 1
        );
        seen.push((index, screen_text(h, &step_words(step))));
    });
    let mut missing = Vec::new();
    for (index, step) in lesson.steps.iter().enumerate() {
        let seen: Vec<&str> = seen
            .iter()
            .filter(|(i, _)| *i == index)
            .map(|(_, text)| text.as_str())
            .collect();
        for words in step_words(step) {
            for quoted in numbers(&words) {
                if !seen.iter().any(|screen| shows(screen, &quoted)) {
                    eprintln!(
                        "{} step {}: the screen said, state by state:\n{}",
                        lesson.title,
                        index + 1,
                        seen.join("\n-----\n")
                    );
                    missing.push(format!(
                        "{} step {}: \"{quoted}\" is quoted but never on screen",
                        lesson.title,
                        index + 1
                    ));
                }
            }
        }
    }
    missing.dedup();
    assert!(missing.is_empty(), "{}", missing.join("\n"));
}

/// The windows a learner has: a laptop and a classroom projector.
const LEARNER_SIZES: [[f32; 2]; 2] = [[1280.0, 800.0], [1024.0, 768.0]];

/// Where, at window `size`, the figures box of the step shown is not wholly in sight in the
/// lesson panel without scrolling: below its "step N of M" line, above its Back button and
/// inside the window. `None` when it is.
fn figures_out_of_sight(
    h: &mut Harness<'_, TripartiteApp>,
    lesson: &Lesson,
    index: usize,
    size: [f32; 2],
) -> Option<String> {
    h.set_size(egui::vec2(size[0], size[1]));
    h.run_steps(4);
    let window = egui::Rect::from_min_size(egui::Pos2::ZERO, egui::vec2(size[0], size[1]));
    let counter = h
        .get_by_label(&format!("step {} of {}", index + 1, lesson.steps.len()))
        .rect();
    let back = h.get_by_label("Back").rect();
    let Some(figures) = h.query_by_label(tripartite::ui::views::lesson_figures::BOX_LABEL) else {
        return Some(format!("{size:?}: no figures box"));
    };
    let figures = figures.rect();
    let in_sight = window.contains_rect(figures)
        && figures.top() >= counter.bottom()
        && figures.bottom() <= back.top()
        && figures.left() >= counter.left() - 12.0;
    (!in_sight).then(|| {
        format!(
            "{size:?}: the box {figures:?} is not between the step counter {counter:?} and \
             Back {back:?} in the window"
        )
    })
}

/// At every state of every step of bundled lesson `number` that lists figures, the box is in
/// sight without scrolling at 1280×800 and 1024×768 (not presented).
fn figures_box_is_in_sight_without_scrolling(number: usize) {
    let mut hidden = Vec::new();
    let mut checked = 0;
    let lesson = walk(number, LEARNER_SIZES[0], &mut |h, lesson, index| {
        if lesson.steps[index].figures.is_empty() {
            return;
        }
        for size in LEARNER_SIZES {
            checked += 1;
            if let Some(problem) = figures_out_of_sight(h, lesson, index, size) {
                hidden.push(format!("{} step {}: {problem}", lesson.title, index + 1));
            }
        }
        h.set_size(egui::vec2(LEARNER_SIZES[0][0], LEARNER_SIZES[0][1]));
        h.run_steps(3);
    });
    let with_figures = lesson
        .steps
        .iter()
        .filter(|s| !s.figures.is_empty())
        .count();
    assert!(
        checked >= 2 * with_figures,
        "each step with figures was looked at in both windows ({checked} looks)"
    );
    hidden.dedup();
    assert!(hidden.is_empty(), "{}", hidden.join("\n"));
}

#[test]
fn how_an_astrocyte_computes_softmax_keeps_its_figures_in_sight() {
    figures_box_is_in_sight_without_scrolling(0);
}

#[test]
fn where_the_approximation_breaks_keeps_its_figures_in_sight() {
    figures_box_is_in_sight_without_scrolling(1);
}

#[test]
fn how_an_astrocyte_computes_softmax_shows_every_figure_it_quotes() {
    every_quoted_number_is_on_screen(0);
}

#[test]
fn where_the_approximation_breaks_shows_every_figure_it_quotes() {
    every_quoted_number_is_on_screen(1);
}

#[test]
fn numbers_are_read_with_their_rounding_and_unit() {
    let found = numbers("median 51 %, 0.035 at m = 4096. t0 φ_1 1/√m (171, the");
    let text: Vec<String> = found.iter().map(|q| q.to_string()).collect();
    assert_eq!(text, ["51 %", "0.035", "4096", "1", "171"]);
    let q = |d: &str, percent| Quoted {
        digits: d.into(),
        percent,
    };
    assert!(shows("TV = 0.035 ·", &q("0.035", false)));
    assert!(!shows("TV = 0.0351", &q("0.035", false)));
    assert!(!shows("TV = 10.035", &q("0.035", false)));
    assert!(shows("c err = 2.6 %", &q("2.6", true)));
    assert!(!shows("c err = 2.6", &q("2.6", true)));
    assert!(!shows("t0 selected", &q("0", false)));
    assert!(shows("ends at 439.", &q("439", false)));
}

#[test]
fn every_step_that_quotes_a_measurement_lists_figures() {
    // A step with a decimal or a percentage quotes a measurement: the box must show it.
    for bundled in lesson::bundled() {
        let lesson = bundled.lesson().unwrap();
        for (index, step) in lesson.steps.iter().enumerate() {
            let measured = step_words(step)
                .iter()
                .flat_map(|w| numbers(w))
                .any(|n| n.percent || n.digits.contains('.'));
            assert!(
                !measured || !step.figures.is_empty(),
                "{} step {} quotes measurements but lists no figures",
                lesson.title,
                index + 1
            );
        }
    }
}

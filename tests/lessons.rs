//! The bundled lessons say only what a fresh run measures, and `tripartite lessons` /
//! `tripartite lesson check` answer authors in one sentence.
//!
//! Each step's words (text, question, choices and why) are one paragraph for `figures/mod.rs`:
//! every number in it is claimed here, either as a setting of the step's experiment or as a
//! measurement rounded to the decimals the text quotes.

mod figures;

use figures::Figures;
use std::path::Path;
use std::process::{Command, Output};
use std::sync::Arc;
use tripartite::data::experiment::Experiment;
use tripartite::data::lesson::{Lesson, Step};
use tripartite::io::lesson;
use tripartite::model::metrics::Metrics;
use tripartite::model::params::{FeatureMap, Mode, Params};
use tripartite::model::schedule::Phase;
use tripartite::model::simulation::Simulation;
use tripartite::ui::views::heads::GOOD_TV;

fn bundled(name: &str) -> Lesson {
    lesson::bundled()
        .iter()
        .find(|l| l.name == name)
        .unwrap_or_else(|| panic!("no lesson {name}"))
        .lesson()
        .unwrap()
}

/// Everything the learner reads in step `number` (from 1).
fn words(lesson: &Lesson, number: usize) -> Figures {
    let step: &Step = &lesson.steps[number - 1];
    let mut text = step.text.clone();
    if let Some(q) = &step.question {
        text = format!("{text} {} {} {}", q.prompt, q.choices.join(" "), q.why);
    }
    Figures::new(&format!("{} step {number}", lesson.title), &text)
}

/// The experiment step `number` runs in: its own, or the last one loaded before it.
fn experiment_of(lesson: &Lesson, number: usize) -> Experiment {
    lesson.steps[..number]
        .iter()
        .rev()
        .find_map(|s| s.experiment.as_ref())
        .expect("an experiment up to this step")
        .experiment
        .clone()
}

/// The whole run of `experiment` with `edit` applied to its parameters (the sequence too is
/// made with them: synthetic_scale and the seed shape it).
fn run(experiment: &Experiment, edit: impl FnOnce(&mut Params)) -> Metrics {
    let mut edited = experiment.clone();
    edit(&mut edited.params);
    let params = edited.params.clone();
    let sequence = edited.load_sequence().unwrap();
    let mut sim = Simulation::new(&params, Arc::new(sequence)).unwrap();
    sim.run_to_end();
    sim.metrics()
}

/// A fresh simulation of `experiment` with `edit` applied, not yet stepped.
fn simulation(experiment: &Experiment, edit: impl FnOnce(&mut Params)) -> Simulation {
    let mut edited = experiment.clone();
    edit(&mut edited.params);
    let sequence = edited.load_sequence().unwrap();
    Simulation::new(&edited.params, Arc::new(sequence)).unwrap()
}

/// The calcium (normaliser units) now.
fn calcium(sim: &Simulation) -> f64 {
    sim.dynamic().unwrap().calcium_normalised()
}

/// What the calcium does while the keys are written: after write 1, and after the last write.
fn calcium_while_writing(experiment: &Experiment) -> (f64, f64) {
    let mut sim = simulation(experiment, |_| {});
    sim.step_slot();
    let after_first = calcium(&sim);
    for _ in 1..sim.sequence().len() {
        sim.step_slot();
    }
    assert_eq!(sim.current_slot().unwrap().phase, Phase::Read);
    (after_first, calcium(&sim))
}

/// The median, over read slots 2.., of the fraction of the slot's jump in calcium (start to end
/// of the slot) closed in its first `ms` milliseconds.
fn median_jump_closed(experiment: &Experiment, ms: f64) -> f64 {
    let mut sim = simulation(experiment, |_| {});
    let tokens = sim.sequence().len();
    for _ in 0..tokens {
        sim.step_slot();
    }
    let early = (ms / experiment.params.dt).round() as u64;
    let mut fractions = Vec::new();
    for t in 0..tokens {
        let slot = sim.current_slot().unwrap();
        assert_eq!((slot.phase, slot.token), (Phase::Read, t));
        let start = calcium(&sim);
        for _ in 0..early {
            sim.step();
        }
        let at_early = calcium(&sim);
        sim.step_slot();
        let end = calcium(&sim);
        // Read slot 1 starts from the calcium the writes left, not from a Z_t.
        if t > 0 {
            fractions.push((at_early - start) / (end - start));
        }
    }
    fractions.sort_by(f64::total_cmp);
    fractions[fractions.len() / 2]
}

#[test]
fn every_bundled_lesson_is_checked_here() {
    let names: Vec<&str> = lesson::bundled().iter().map(|l| l.name).collect();
    assert_eq!(names, ["astrocyte-softmax", "where-it-breaks"]);
}

#[test]
fn how_an_astrocyte_computes_softmax() {
    let l = bundled("astrocyte-softmax");
    assert!(l.steps.len() >= 8);
    let tracking = experiment_of(&l, 1);
    let good = run(&tracking, |_| {});
    let shape = l.steps[0].experiment.as_ref().unwrap().shape;
    words(&l, 1)
        .states("has {} tokens", shape.tokens as f64)
        .states("dimension {},", shape.key_dim as f64)
        .states("m = {} hidden", tracking.params.m as f64)
        .all_claimed();
    words(&l, 2)
        .notation("Token t0's")
        .notation("Shift + Right arrow")
        .all_claimed();
    // The app labels tokens t0, t1, …
    assert_eq!(tracking.load_sequence().unwrap().tokens[0], "t0");
    let (after_write_1, after_writes) = calcium_while_writing(&tracking);
    let z = simulation(&tracking, |_| {}).reference().normaliser();
    words(&l, 3)
        .quotes("c = {} after write", after_write_1)
        .states("after write {},", 1.0)
        .quotes("and {} after all", after_writes)
        .states("all {} write slots, already", shape.tokens as f64)
        .quotes("already {} % of", 100.0 * after_writes / z[0])
        .notation("t0.")
        .states("all {} write slots;", shape.tokens as f64)
        .all_claimed();
    assert_eq!(experiment_of(&l, 4), tracking);
    words(&l, 4)
        .states("τ_c = {} ms it", tracking.params.tau_calcium)
        .quotes(
            "(median {} %)",
            100.0 * median_jump_closed(&tracking, 100.0),
        )
        .states("first {} ms of", 100.0)
        .states("the {} ms slot", tracking.params.t_read)
        .quotes("within {} % of Z_t", 100.0 * good.calcium_rel_err)
        .all_claimed();
    words(&l, 5)
        .quotes("correlation {} (", good.calcium_corr)
        .quotes("(*TV*) is {}.", good.attn_tv)
        .all_claimed();

    let few = experiment_of(&l, 6);
    let noisy = run(&few, |_| {});
    assert_eq!(few.source, tracking.source);
    words(&l, 6)
        .states("only m = {} hidden", few.params.m as f64)
        .notation("1/√m")
        .states("so with {} each", few.params.m as f64)
        .quotes("misses Z_t by {} %", 100.0 * noisy.calcium_rel_err)
        .quotes("variation is {}.", noisy.attn_tv)
        .all_claimed();

    let slow = experiment_of(&l, 7);
    let mut slow_sim = simulation(&slow, |_| {});
    slow_sim.run_to_end();
    let lagging = slow_sim.metrics();
    let fast = run(&slow, |p| p.tau_calcium = 100.0);
    let attention = &slow_sim.output().attention;
    let row_sums: Vec<f64> = attention.rows().into_iter().map(|r| r.sum()).collect();
    let lowest = row_sums.iter().copied().fold(f64::INFINITY, f64::min);
    let highest = row_sums.iter().copied().fold(0.0, f64::max);
    // "Each keeps its shape": each row divided by its own sum is as close to A_soft as the
    // fast astrocyte's rows are.
    let soft = &slow_sim.reference().attention;
    let rows = row_sums.len() as f64;
    let shape_tv = row_sums
        .iter()
        .enumerate()
        .map(|(t, sum)| {
            0.5 * attention
                .row(t)
                .iter()
                .zip(soft.row(t))
                .map(|(a, s)| (a / sum - s).abs())
                .sum::<f64>()
        })
        .sum::<f64>()
        / rows;
    assert!(
        (shape_tv - fast.attn_tv).abs() < 0.005,
        "{shape_tv} against {}",
        fast.attn_tv
    );
    words(&l, 7)
        .states("τ_c = {} ms, as long", slow.params.tau_calcium)
        .quotes("ends {} % off", 100.0 * lagging.calcium_rel_err)
        .quotes("correlation {}.", lagging.calcium_corr)
        .quotes("TV ({};", lagging.attn_tv)
        .states("below {})", GOOD_TV)
        .quotes("between {} and", lowest)
        .quotes("and {} instead", highest)
        .states("instead of {}, but", 1.0)
        .quotes("only from {}:", fast.attn_tv)
        .states("back to {} ms", 100.0)
        .quotes("within {} % again", 100.0 * fast.calcium_rel_err)
        .all_claimed();
    assert_eq!(
        slow.params.tau_calcium, slow.params.t_read,
        "as long as a read slot"
    );

    let real = experiment_of(&l, 8);
    assert_eq!(real.params.mode, Mode::Dynamic);
    let at_256 = run(&real, |_| {});
    let mut big = simulation(&real, |p| p.m = 4096);
    let mut peak = 0.0f64;
    while big.step() {
        peak = peak.max(calcium(&big));
    }
    let at_4096 = big.metrics();
    let tokens = &big.sequence().tokens;
    let spike = tokens.iter().position(|t| t == "##ap").unwrap();
    let real_z = big.reference().normaliser();
    let scores = big
        .sequence()
        .scaled_queries()
        .dot(&big.sequence().scaled_keys().t());
    let largest = (0..tokens.len())
        .max_by(|&a, &b| scores[[spike, a]].total_cmp(&scores[[spike, b]]))
        .unwrap();
    assert_eq!(tokens[largest], "[CLS]");
    words(&l, 8)
        .states("layer {},", real.params.layer as f64)
        .states("head {}, with", real.params.head as f64)
        .states("m = {} hidden", real.params.m as f64)
        .quotes("misses Z_t by {} %", 100.0 * at_256.calcium_rel_err)
        .quotes("A_net is {} from", at_256.attn_tv)
        .states("Set *m features* to {} (", 4096.0)
        .quotes("falls only to {},", at_4096.attn_tv)
        .quotes("still {} % off", 100.0 * at_4096.calcium_rel_err)
        .quotes("ends at {} against", big.output().calcium[spike])
        .quotes("Z_t = {}, because", real_z[spike])
        .quotes("one term ({},", scores[[spike, largest]].exp())
        .quotes("even reaches {}.", peak)
        .all_claimed();
    // The app opens on this head.
    let default = Experiment::default();
    assert_eq!(
        (
            real.source.clone(),
            real.params.layer,
            real.params.head,
            real.params.m
        ),
        (
            default.source,
            default.params.layer,
            default.params.head,
            default.params.m
        )
    );
    words(&l, 9).all_claimed();
}

#[test]
fn where_the_approximation_breaks() {
    let l = bundled("where-it-breaks");
    assert!(l.steps.len() >= 5);
    let norms = experiment_of(&l, 1);
    assert_eq!(norms.params.mode, Mode::Algebraic);
    let tv_at = |scale: f64| run(&norms, |p| p.synthetic_scale = scale).attn_tv;
    words(&l, 1)
        .states("*q, k scale* = {} and", 0.5)
        .states("m = {} the total", norms.params.m as f64)
        .quotes("A_soft is {}.", tv_at(0.5))
        .notation("four times")
        .quotes("Measured: {},", tv_at(norms.params.synthetic_scale))
        .quotes("then {} at scale", tv_at(1.5))
        .states("at scale {} and", 1.5)
        .quotes("and {} at scale 2", tv_at(2.0))
        .states("at scale {};", 2.0)
        .all_claimed();
    assert_eq!(
        norms.params.synthetic_scale, 1.0,
        "the scale doubled from 0.5"
    );

    let sweep = experiment_of(&l, 2);
    let tv = |m: usize, scale: f64| {
        run(&sweep, |p| {
            p.m = m;
            p.synthetic_scale = scale;
        })
        .attn_tv
    };
    let mut text = words(&l, 2);
    text.notation("1/√m")
        .states("*q, k scale* = {} they", sweep.params.synthetic_scale);
    for (m, end) in [(64, ","), (256, ","), (1024, " "), (4096, ".")] {
        text.quotes(&format!("{{}} at m = {m}{end}"), tv(m, 0.5));
    }
    text.states("At scale {} the", 1.0)
        .quotes("little: {} at", tv(64, 1.0))
        .states("at m = {} and still", 64.0)
        .quotes("still {} at", tv(4096, 1.0))
        .states("at {}. Raise", 4096.0)
        .all_claimed();
    assert_eq!(sweep.params.m, 64);

    let maps = experiment_of(&l, 3);
    let map_tv = |map: FeatureMap| run(&maps, |p| p.feature_map = map).attn_tv;
    words(&l, 3)
        .states("m = {}, the", maps.params.m as f64)
        .quotes(
            "variation of {}, the *hyperbolic*",
            map_tv(FeatureMap::Positive),
        )
        .quotes("*hyperbolic* ones {} and", map_tv(FeatureMap::Hyperbolic))
        .quotes("*trig* ones {}.", map_tv(FeatureMap::Trig))
        .notation("*elu1*")
        .notation("elu(x) + 1")
        .quotes("stays at {}.", map_tv(FeatureMap::Elu1))
        .all_claimed();
    assert_eq!(maps.params.feature_map, FeatureMap::Positive);

    let uneven = experiment_of(&l, 4);
    let spread = run(&uneven, |_| {});
    let even = run(&uneven, |p| p.heterogeneity = 0.0);
    let wide = run(&uneven, |p| p.heterogeneity = 2.0);
    words(&l, 4)
        .notation("1 + σ_γ")
        .states("with σ_γ = {}, in", uneven.params.heterogeneity)
        .quotes("calcium is {} % off", 100.0 * spread.calcium_rel_err)
        .quotes("against {} % with", 100.0 * even.calcium_rel_err)
        .quotes("and {} % at", 100.0 * wide.calcium_rel_err)
        .states("at σ_γ = {}:", 2.0)
        .all_claimed();

    let causal = experiment_of(&l, 5);
    let streaming = run(&causal, |_| {});
    words(&l, 5)
        .quotes("correlation {} but", streaming.calcium_corr)
        .quotes("is {} % off", 100.0 * streaming.calcium_rel_err)
        .quotes("variation is {}.", streaming.attn_tv)
        .all_claimed();
    assert_eq!(causal.params.decay, 0.0, "the decay stays at zero");
    words(&l, 6).all_claimed();
}

fn tripartite(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tripartite"))
        .args(args)
        .output()
        .expect("binary runs")
}

#[test]
fn lessons_lists_each_bundled_lesson_and_json_gives_title_file_and_steps() {
    let out = tripartite(&["lessons"]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), lesson::bundled().len(), "{text}");
    assert!(
        lines[0].starts_with("How an astrocyte computes softmax · 9 steps · "),
        "{text}"
    );
    let out = tripartite(&["lessons", "--json"]);
    assert!(out.status.success());
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = json.as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1]["title"], "Where the approximation breaks");
    assert_eq!(rows[1]["file"], "assets/lessons/where-it-breaks.toml");
    assert_eq!(rows[1]["steps"], 6);
    // Each listed file is the bundled text, so `lesson check` passes on it.
    for row in rows {
        let file = Path::new(env!("CARGO_MANIFEST_DIR")).join(row["file"].as_str().unwrap());
        let out = tripartite(&["lesson", "check", file.to_str().unwrap()]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains("all sound"));
    }
}

const HEAD: &str = "format_version = 1\ntitle = 'A test'\nsummary = 's'\n";
const STEP: &str = "[[step]]\ntext = 'Look.'\nexperiment = 'calcium-tracks-normaliser'\n";

#[test]
fn lesson_check_refuses_malformed_lessons_in_one_sentence() {
    let question = |choices: &str, answer: &str| {
        format!(
            "{HEAD}{STEP}[step.question]\nprompt = 'Which?'\nchoices = {choices}\n\
             answer = {answer}\nwhy = 'Because.'\n"
        )
    };
    let cases: Vec<(String, &str)> = vec![
        ("format_version = = 1".into(), "not valid TOML for a lesson"),
        (
            format!("{HEAD}{STEP}highlight = ['calcum_plot']\n"),
            "step 1: highlight \"calcum_plot\" is not a region; regions are: graph, astrocyte",
        ),
        (
            format!("{HEAD}{STEP}lock = ['tau_calcum']\n"),
            "step 1: lock \"tau_calcum\" is neither a control",
        ),
        (
            format!("{HEAD}{STEP}done_when = ['tau between 1 and 2']\n"),
            "step 1: done_when \"tau between …\" names no parameter",
        ),
        (
            format!("{HEAD}{STEP}done_when = ['read 9 completed']\n"),
            "step 1: done_when names token 9, past the end of this step's sequence (8 tokens",
        ),
        (
            format!("{HEAD}{STEP}{STEP}setup = ['run through write 12']\n"),
            "step 2: setup names token 12, past the end",
        ),
        (
            format!("{HEAD}{STEP}figures = ['speed']\n"),
            "step 1: figure \"speed\" is not a figure; figures are: \"sizes\"",
        ),
        (
            format!("{HEAD}{STEP}figures = ['read slot 9']\n"),
            "step 1: figure \"read slot\" names token 9, past the end of this step's sequence",
        ),
        (
            format!("{HEAD}{STEP}figures = ['tv when m = 64 -3']\n"),
            "step 1: figure \"… when m = -3\":",
        ),
        (HEAD.into(), "the lesson has no steps"),
        (
            format!("format_version = 2\ntitle = 't'\n{STEP}"),
            "format_version = 2 is not one this build reads (1); update tripartite",
        ),
        (format!("title = 't'\n{STEP}"), "has no format_version"),
        (
            question("['a', 'b']", "3"),
            "step 1: question: answer = 3 but there are only 2 choices",
        ),
        (
            question("['a']", "1"),
            "step 1: question: 1 choices given; a question has 2 to 4",
        ),
        (
            question("['a', 'b']", "0"),
            "step 1: question: answer = 0 is not a choice number",
        ),
        (
            format!("{HEAD}[[step]]\ntext = 'x'\nexperiment = 'astrocyte-too-fast'\n"),
            "step 1: experiment \"astrocyte-too-fast\" is not a bundled example; examples are: paper-correspondence",
        ),
        (
            format!("{HEAD}{STEP}setup = ['tab weights']\n"),
            "step 1: setup \"tab weights\" is not an action",
        ),
        (
            format!("{HEAD}{STEP}done_when = ['tab weights opened']\n"),
            "step 1: done_when \"tab weights opened\" is not a condition",
        ),
        (
            format!("{HEAD}{STEP}hightlight = ['graph']\n"),
            "step 1: unknown field `hightlight`",
        ),
        (
            format!(
                "{HEAD}[[step]]\ntext = 'x'\n[step.experiment.params]\nm = 0\n[step.experiment.sequence]\nsource = 'synthetic:4x4'\n"
            ),
            "step 1: experiment: m must be a whole number between 1 and 16 777 216",
        ),
        (
            format!("{HEAD}[[step]]\ntext = 'x'\ndone_when = ['past read 1']\n"),
            "step 1: no step up to this one loads an experiment",
        ),
        (
            format!("{HEAD}[[step]]\ntext = ''\nexperiment = 'calcium-tracks-normaliser'\n"),
            "step 1: text is empty",
        ),
        (
            format!(
                "{HEAD}[[step]]\ntext = 'x'\nexperiment = 'paper-correspondence'\ndone_when = ['past write 1']\n"
            ),
            "step 1: done_when \"write 1\" needs the dynamic mode",
        ),
        (
            format!("{HEAD}{STEP}done_when = ['m between 5 and 1']\n"),
            "step 1: done_when \"m between 5 and 1\" is an empty range",
        ),
    ];
    let dir = tempfile::tempdir().unwrap();
    for (index, (text, expect)) in cases.iter().enumerate() {
        let file = dir.path().join(format!("bad{index}.toml"));
        std::fs::write(&file, text).unwrap();
        let out = tripartite(&["lesson", "check", file.to_str().unwrap()]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "case {index} passed: {text}");
        assert!(stderr.contains(expect), "case {index}: {stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
    }
    let missing = tripartite(&["lesson", "check", "/nonexistent/lesson.toml"]);
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("cannot read"));
}

/// Lessons name parameters as the panel shows them (issue 25): no learner-facing text uses a
/// parameter's file key where the panel shows another label, a feature map is named by the
/// panel's option, and every parameter a step highlights, locks or waits on has a panel field
/// whose label the hint uses.
#[test]
fn lessons_name_parameters_as_the_panel_shows_them() {
    use tripartite::data::lesson::Condition;
    use tripartite::model::params::{PARAM_NAMES, Param};
    use tripartite::ui::views::params::panel_label;
    for entry in lesson::bundled() {
        let lesson = entry.lesson().unwrap();
        for (i, step) in lesson.steps.iter().enumerate() {
            let mut text = step.text.clone();
            if let Some(q) = &step.question {
                text = format!("{text} {} {} {}", q.prompt, q.choices.join(" "), q.why);
            }
            let at = format!("{} step {}", lesson.title, i + 1);
            for key in PARAM_NAMES {
                let label = panel_label(key).unwrap_or(key);
                if key.contains('_') && label != *key {
                    assert!(
                        !text.contains(key),
                        "{at} names '{key}'; the panel calls it '{label}'"
                    );
                }
            }
            // The panel's feature-map options are FeatureMap's names; no longer spelling.
            for long in ["trigonometric", "random Fourier", "FAVOR+"] {
                assert!(!text.contains(long), "{at} says '{long}'");
            }
            let mut named: Vec<&str> = step
                .highlight
                .iter()
                .chain(&step.lock)
                .map(String::as_str)
                .filter(|k| Param::named(k).is_some())
                .collect();
            for condition in &step.done_when {
                if let Condition::ParamBetween { key, .. } = condition {
                    named.push(key);
                }
            }
            for key in named {
                assert!(
                    panel_label(key).is_some(),
                    "{at} names '{key}', which has no field in the panel"
                );
            }
        }
    }
}

/// The presentation bar applies a rebuilding parameter at once, with no button: a step that
/// tells the learner to press the panel's *Apply and rebuild* also says what the bar does, so
/// the text holds on a projector too.
#[test]
fn a_step_naming_apply_and_rebuild_says_the_presentation_bar_rebuilds_at_once() {
    let mut named = 0;
    for entry in lesson::bundled() {
        let lesson = entry.lesson().unwrap();
        for (i, step) in lesson.steps.iter().enumerate() {
            if step.text.contains("Apply and rebuild") {
                named += 1;
                assert!(
                    step.text.contains("presentation bar rebuilds at once")
                        && step.text.contains("parameters panel"),
                    "{} step {} names Apply and rebuild without saying whose button it is",
                    lesson.title,
                    i + 1
                );
            }
        }
    }
    assert!(named > 0, "a bundled step names the button");
}

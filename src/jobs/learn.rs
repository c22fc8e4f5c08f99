//! `tripartite learn`: learn a head's (or a layer's) hidden synapses on sentences, report
//! train and held-out attn_tv against the random network, and save a learned-synapses file.
//!
//! The data side lives here (bundled sentences, sentence files read by `model:DIR`); the
//! mathematics is [`crate::model::learn`] and the file format [`crate::model::learned`].

use crate::data::real;
use crate::model::learn::{
    DEFAULT_LEARNING_RATE, DEFAULT_STEPS, HeadExample, HeadTask, HiddenSynapses, LearnEvent,
    LearnSettings, learn_heads, mean_attention_tv,
};
use crate::model::learned::{HeadRecord, LearnedFile};
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// The shipped training sentences (written for this project), one a line.
pub const SHIPPED_TRAIN: &str = include_str!("../../assets/learn/train.txt");
/// The shipped held-out sentences (written for this project, none in the training set).
pub const SHIPPED_HELD_OUT: &str = include_str!("../../assets/learn/held_out.txt");

/// One set of sentences: `bundled` (the bundled sentences), `shipped:train`,
/// `shipped:held-out`, or a text file with one sentence a line (read by the model folder).
#[derive(Clone, Debug, PartialEq)]
pub enum TextSet {
    Bundled,
    ShippedTrain,
    ShippedHeldOut,
    File(PathBuf),
}

impl TextSet {
    /// Parses a `--train`/`--held-out` value.
    pub fn parse(text: &str) -> TextSet {
        match text {
            "bundled" => TextSet::Bundled,
            "shipped:train" => TextSet::ShippedTrain,
            "shipped:held-out" => TextSet::ShippedHeldOut,
            path => TextSet::File(PathBuf::from(path)),
        }
    }

    fn describe(&self) -> String {
        match self {
            TextSet::Bundled => "the bundled sentences".into(),
            TextSet::ShippedTrain => "assets/learn/train.txt".into(),
            TextSet::ShippedHeldOut => "assets/learn/held_out.txt".into(),
            TextSet::File(path) => path.display().to_string(),
        }
    }

    /// The sentences of a text set (None for `bundled`, which is already encoded).
    fn sentences(&self) -> Result<Option<Vec<String>>> {
        let text = match self {
            TextSet::Bundled => return Ok(None),
            TextSet::ShippedTrain => SHIPPED_TRAIN.to_string(),
            TextSet::ShippedHeldOut => SHIPPED_HELD_OUT.to_string(),
            TextSet::File(path) => std::fs::read_to_string(path)
                .with_context(|| format!("cannot read the sentences in {}", path.display()))?,
        };
        let sentences = sentence_lines(&text);
        if sentences.is_empty() {
            bail!("{} holds no sentence (one a line)", self.describe());
        }
        Ok(Some(sentences))
    }
}

/// Non-empty lines that are not `#` comments.
pub fn sentence_lines(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_owned)
        .collect()
}

/// What to learn.
#[derive(Clone, Debug)]
pub struct LearnRequest {
    /// A BERT-family model folder (needed for any set but `bundled`).
    pub model: Option<PathBuf>,
    pub layer: usize,
    /// The heads to learn (one, or every head of the layer).
    pub heads: HeadChoice,
    pub m: usize,
    pub seed: u64,
    pub steps: usize,
    pub learning_rate: f64,
    pub train: Vec<TextSet>,
    pub held_out: Vec<TextSet>,
    /// Also measure random positive features at this m on the held-out set.
    pub random_m: Option<usize>,
}

/// One head, or every head of the layer.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum HeadChoice {
    One(usize),
    All,
}

/// One layer's sentences, encoded: per head, one example per sentence.
struct Encoded {
    /// examples[head][sentence]
    examples: Vec<Vec<HeadExample>>,
    /// The model names the sequences carry.
    models: Vec<String>,
    sentences: usize,
}

/// A set with its sentences read (None: the bundled sentences, already encoded).
struct ReadSet<'a> {
    set: &'a TextSet,
    lines: Option<Vec<String>>,
}

impl ReadSet<'_> {
    fn count(&self, bundled: usize) -> usize {
        self.lines.as_ref().map_or(bundled, Vec::len)
    }
}

fn read_sets(sets: &[TextSet]) -> Result<Vec<ReadSet<'_>>> {
    sets.iter()
        .map(|set| {
            Ok(ReadSet {
                set,
                lines: set.sentences()?,
            })
        })
        .collect()
}

/// Encoding's progress over every sentence of the training and held-out sets: it reports
/// each sentence as it is encoded and is asked, before each, whether to go on (Cancel).
struct EncodeProgress<'a> {
    done: usize,
    total: usize,
    report: &'a (dyn Fn(LearnEvent) + Sync),
    cancel: &'a AtomicBool,
}

impl EncodeProgress<'_> {
    fn cancelled(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }

    fn encoded_one(&mut self) {
        self.done += 1;
        (self.report)(LearnEvent::Encoded {
            sentence: self.done,
            sentences: self.total,
        });
    }
}

/// Encodes the sets' sentences at `layer`; None when cancelled before the last one.
fn encode_sets(
    sets: &[ReadSet<'_>],
    model: Option<&Path>,
    layer: usize,
    progress: &mut EncodeProgress<'_>,
) -> Result<Option<Encoded>> {
    let mut examples: Vec<Vec<HeadExample>> = Vec::new();
    let mut models: Vec<String> = Vec::new();
    let mut sentences = 0;
    let mut add = |heads: Vec<HeadExample>, name: String| {
        if examples.is_empty() {
            examples = vec![Vec::new(); heads.len()];
        }
        for (h, example) in heads.into_iter().enumerate() {
            examples[h].push(example);
        }
        if !models.contains(&name) {
            models.push(name);
        }
    };
    for ReadSet { set, lines } in sets {
        match lines {
            None => {
                let names = real::bundled_names()?;
                for name in &names {
                    if progress.cancelled() {
                        return Ok(None);
                    }
                    let layer_seq = real::bundled_layer(name, layer)?;
                    let model_name = origin_model(&layer_seq.heads[0]);
                    add(
                        layer_seq
                            .heads
                            .iter()
                            .map(|s| HeadExample::from_sequence(s))
                            .collect(),
                        model_name,
                    );
                    sentences += 1;
                    progress.encoded_one();
                }
            }
            Some(lines) => {
                let Some(dir) = model else {
                    bail!(
                        "{} needs a model folder to encode its sentences: pass --model DIR",
                        set.describe()
                    );
                };
                for (i, text) in lines.iter().enumerate() {
                    if progress.cancelled() {
                        return Ok(None);
                    }
                    let layer_seq = real::model_layer(dir, text, layer).with_context(|| {
                        format!("sentence {} of {} ({text:?})", i + 1, set.describe())
                    })?;
                    let model_name = origin_model(&layer_seq.heads[0]);
                    add(
                        layer_seq
                            .heads
                            .iter()
                            .map(|s| HeadExample::from_sequence(s))
                            .collect(),
                        model_name,
                    );
                    sentences += 1;
                    progress.encoded_one();
                }
            }
        }
    }
    if let Some(first) = examples.first()
        && examples.iter().any(|e| e.len() != first.len())
    {
        bail!("the sets do not give every head the same sentences");
    }
    Ok(Some(Encoded {
        examples,
        models,
        sentences,
    }))
}

fn origin_model(sequence: &crate::model::Sequence) -> String {
    sequence
        .origin
        .as_ref()
        .map_or_else(|| sequence.source.clone(), |o| o.model.clone())
}

/// Whether the bundled activations are this model's: the first bundled sentence, encoded by
/// `dir`, gives the bundle's queries at `layer` within the bundle's float16 precision.
fn bundle_is_model(dir: &Path, layer: usize) -> Result<bool> {
    let names = real::bundled_names()?;
    let Some(name) = names.first() else {
        return Ok(false);
    };
    let bundled = real::bundled_sequence(name, layer, 0)?;
    let text = &bundled.origin.as_ref().expect("bundled origin").text;
    let encoded = real::model_sequence(dir, text, layer, 0)?;
    if encoded.queries.dim() != bundled.queries.dim() {
        return Ok(false);
    }
    let scale = bundled.queries.iter().fold(0.0f64, |a, v| a.max(v.abs()));
    let worst = (&encoded.queries - &bundled.queries)
        .iter()
        .fold(0.0f64, |a, v| a.max(v.abs()));
    Ok(worst <= 2e-3 * scale.max(1.0))
}

/// The outcome of learning: the file (not yet written) and the random baseline at `random_m`.
pub struct LearnOutcome {
    pub file: LearnedFile,
    /// Held-out attn_tv of random positive features at `random_m`, per head (if asked).
    pub random_held_out: Option<(usize, Vec<f64>)>,
    pub train_sentences: usize,
    pub held_out_sentences: usize,
}

/// Encodes the sets, learns the heads (progress through `report`), and measures.
pub fn learn(
    request: &LearnRequest,
    report: &(dyn Fn(LearnEvent) + Sync),
    cancel: &AtomicBool,
) -> Result<Option<LearnOutcome>> {
    learn_measuring(request, 0, report, cancel)
}

/// [`learn`], also measuring train and held-out attn_tv every `measure_every` steps (0: only
/// at the start and the end), for a live curve.
pub fn learn_measuring(
    request: &LearnRequest,
    measure_every: usize,
    report: &(dyn Fn(LearnEvent) + Sync),
    cancel: &AtomicBool,
) -> Result<Option<LearnOutcome>> {
    if request.m == 0 {
        bail!("m must be at least 1");
    }
    if request.steps == 0 {
        bail!("steps must be at least 1");
    }
    if request.train.is_empty() {
        bail!("no training set: pass --train (bundled, shipped:train or a sentence file)");
    }
    let model = request.model.as_deref();
    // Every sentence is read first, so that encoding can say "sentence 37 of 272".
    let train_sets = read_sets(&request.train)?;
    let held_out_sets = read_sets(&request.held_out)?;
    let bundled = if request.train.contains(&TextSet::Bundled)
        || request.held_out.contains(&TextSet::Bundled)
    {
        real::bundled_names()?.len()
    } else {
        0
    };
    let mut progress = EncodeProgress {
        done: 0,
        total: train_sets
            .iter()
            .chain(&held_out_sets)
            .map(|s| s.count(bundled))
            .sum(),
        report,
        cancel,
    };
    let Some(train) = encode_sets(&train_sets, model, request.layer, &mut progress)? else {
        return Ok(None);
    };
    let Some(held_out) = encode_sets(&held_out_sets, model, request.layer, &mut progress)? else {
        return Ok(None);
    };
    let head_count = train.examples.len();
    let heads: Vec<usize> = match request.heads {
        HeadChoice::All => (0..head_count).collect(),
        HeadChoice::One(h) if h < head_count => vec![h],
        HeadChoice::One(h) => bail!(
            "head {h} does not exist: layer {} has heads 0..={}",
            request.layer,
            head_count - 1
        ),
    };
    let mut models = train.models.clone();
    for name in &held_out.models {
        if !models.contains(name) {
            models.push(name.clone());
        }
    }
    // Names of one model under two sources (a folder, the bundle) are aliases only if the
    // activations agree; otherwise mixing them would learn two models at once.
    let uses_bundle =
        request.train.contains(&TextSet::Bundled) || request.held_out.contains(&TextSet::Bundled);
    if let Some(dir) = model {
        let bundle_model = real::bundle()?.model.clone();
        if bundle_is_model(dir, request.layer)? {
            if !models.contains(&bundle_model) {
                models.push(bundle_model);
            }
        } else if uses_bundle {
            bail!(
                "the bundled sentences come from {bundle_model}, not from the model in {}: learn on one model at a time",
                dir.display()
            );
        }
    }
    let tasks: Vec<HeadTask> = heads
        .iter()
        .map(|&h| HeadTask {
            head: h,
            seed: request.seed,
            train: train.examples[h].clone(),
            held_out: held_out.examples.get(h).cloned().unwrap_or_default(),
        })
        .collect();
    let settings = LearnSettings {
        steps: request.steps,
        learning_rate: request.learning_rate,
        ..LearnSettings::new(request.m, request.seed)
    };
    let Some(learned) = learn_heads(&tasks, settings, measure_every, report, cancel) else {
        return Ok(None);
    };
    if cancel.load(Ordering::Relaxed) {
        return Ok(None);
    }
    let random_held_out = request.random_m.map(|random_m| {
        let values: Vec<f64> = tasks
            .iter()
            .map(|task| {
                let dim = task.train[0].queries.ncols();
                let random = HiddenSynapses::random(random_m, dim, task.seed);
                mean_attention_tv(&random, &task.held_out)
            })
            .collect();
        (random_m, values)
    });
    let describe = |sets: &[TextSet], count: usize| {
        let names: Vec<String> = sets.iter().map(TextSet::describe).collect();
        format!("{count} sentences ({})", names.join(" + "))
    };
    let training = format!(
        "train: {}; held out: {}; Adam α = {}, {} steps, full batch",
        describe(&request.train, train.sentences),
        if request.held_out.is_empty() {
            "none".to_string()
        } else {
            describe(&request.held_out, held_out.sentences)
        },
        request.learning_rate,
        request.steps
    );
    let (synapses, mut records): (Vec<HiddenSynapses>, Vec<HeadRecord>) =
        learned.into_iter().unzip();
    if let Some((random_m, values)) = &random_held_out {
        for (record, &value) in records.iter_mut().zip(values) {
            record.held_out_random_large = value.is_finite().then_some((*random_m, value));
        }
    }
    Ok(Some(LearnOutcome {
        file: LearnedFile {
            models,
            layer: request.layer,
            seed: request.seed,
            steps: request.steps,
            training,
            records,
            synapses,
        },
        random_held_out,
        train_sentences: train.sentences,
        held_out_sentences: held_out.sentences,
    }))
}

/// Median of the finite values (NaN when there are none).
pub fn median(values: &[f64]) -> f64 {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Fraction of the finite values below `bound`.
pub fn fraction_below(values: &[f64], bound: f64) -> f64 {
    let finite: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if finite.is_empty() {
        return f64::NAN;
    }
    finite.iter().filter(|&&v| v < bound).count() as f64 / finite.len() as f64
}

/// The per-head table and its summary, as printed.
pub fn table(outcome: &LearnOutcome, m: usize) -> String {
    use std::fmt::Write;
    let records = &outcome.file.records;
    let mut out = String::new();
    let random_col = outcome
        .random_held_out
        .as_ref()
        .map(|(rm, _)| format!("  held-out random m={rm}"));
    writeln!(
        out,
        "layer {}, m = {m}, {} steps; {} training and {} held-out sentences (attn_tv)",
        outcome.file.layer, outcome.file.steps, outcome.train_sentences, outcome.held_out_sentences
    )
    .ok();
    writeln!(
        out,
        "head  train random  train learned  held-out random  held-out learned{}",
        random_col.clone().unwrap_or_default()
    )
    .ok();
    for (i, r) in records.iter().enumerate() {
        let extra = outcome
            .random_held_out
            .as_ref()
            .map(|(_, v)| format!("  {:>22.4}", v[i]))
            .unwrap_or_default();
        writeln!(
            out,
            "{:>4}  {:>12.4}  {:>13.4}  {:>15.4}  {:>16.4}{extra}",
            r.head, r.train_tv_random, r.train_tv, r.held_out_tv_random, r.held_out_tv
        )
        .ok();
    }
    let column = |f: fn(&HeadRecord) -> f64| records.iter().map(f).collect::<Vec<f64>>();
    let summary = |name: &str, values: &[f64]| {
        format!(
            "{name:<24} median {:.4}  under 0.05: {:>5.1} %  under 0.1: {:>5.1} %",
            median(values),
            100.0 * fraction_below(values, 0.05),
            100.0 * fraction_below(values, 0.1)
        )
    };
    writeln!(
        out,
        "{}",
        summary("train, random", &column(|r| r.train_tv_random))
    )
    .ok();
    writeln!(
        out,
        "{}",
        summary("train, learned", &column(|r| r.train_tv))
    )
    .ok();
    writeln!(
        out,
        "{}",
        summary("held-out, random", &column(|r| r.held_out_tv_random))
    )
    .ok();
    writeln!(
        out,
        "{}",
        summary("held-out, learned", &column(|r| r.held_out_tv))
    )
    .ok();
    if let Some((rm, values)) = &outcome.random_held_out {
        writeln!(
            out,
            "{}",
            summary(&format!("held-out, random m={rm}"), values)
        )
        .ok();
    }
    out
}

/// The `--json` object.
pub fn json(outcome: &LearnOutcome, m: usize, out: Option<&Path>) -> serde_json::Value {
    let records = &outcome.file.records;
    let column = |f: fn(&HeadRecord) -> f64| records.iter().map(f).collect::<Vec<f64>>();
    let summary = |values: &[f64]| {
        serde_json::json!({
            "median": finite_or_null(median(values)),
            "under_0_05": finite_or_null(fraction_below(values, 0.05)),
            "under_0_1": finite_or_null(fraction_below(values, 0.1)),
        })
    };
    let heads: Vec<serde_json::Value> = records
        .iter()
        .enumerate()
        .map(|(i, r)| {
            serde_json::json!({
                "head": r.head,
                "seed": r.seed,
                "train_loss": finite_or_null(r.train_loss),
                "train_tv_random": finite_or_null(r.train_tv_random),
                "train_tv": finite_or_null(r.train_tv),
                "held_out_tv_random": finite_or_null(r.held_out_tv_random),
                "held_out_tv": finite_or_null(r.held_out_tv),
                "held_out_tv_random_large_m": outcome
                    .random_held_out
                    .as_ref()
                    .map(|(_, v)| finite_or_null(v[i])),
            })
        })
        .collect();
    serde_json::json!({
        "layer": outcome.file.layer,
        "m": m,
        "steps": outcome.file.steps,
        "seed": outcome.file.seed,
        "models": outcome.file.models,
        "training": outcome.file.training,
        "train_sentences": outcome.train_sentences,
        "held_out_sentences": outcome.held_out_sentences,
        "out": out.map(|p| p.display().to_string()),
        "heads": heads,
        "summary": {
            "train_random": summary(&column(|r| r.train_tv_random)),
            "train": summary(&column(|r| r.train_tv)),
            "held_out_random": summary(&column(|r| r.held_out_tv_random)),
            "held_out": summary(&column(|r| r.held_out_tv)),
            "random_large_m": outcome.random_held_out.as_ref().map(|(rm, v)| {
                let mut s = summary(v);
                s["m"] = serde_json::json!(rm);
                s
            }),
        }
    })
}

fn finite_or_null(v: f64) -> serde_json::Value {
    if v.is_finite() {
        serde_json::json!(v)
    } else {
        serde_json::Value::Null
    }
}

/// The `tripartite learn` arguments.
#[derive(clap::Args, Debug)]
pub struct LearnArgs {
    /// BERT-family model folder that encodes the sentence sets (not needed for `bundled`).
    #[arg(long, value_name = "DIR")]
    pub model: Option<PathBuf>,
    /// Layer, 0-based.
    #[arg(long, default_value_t = 0)]
    pub layer: usize,
    /// Head to learn, 0-based (default 0; see --heads).
    #[arg(long, conflicts_with = "heads")]
    pub head: Option<usize>,
    /// `all`: learn every head of the layer into one file.
    #[arg(long, value_name = "all")]
    pub heads: Option<String>,
    /// Hidden neurons per head.
    #[arg(long, default_value_t = 256)]
    pub m: usize,
    /// Seed of the random W learning starts from (every head draws from it, as a run of that head does).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Adam steps (full batch).
    #[arg(long, default_value_t = DEFAULT_STEPS)]
    pub steps: usize,
    /// Adam's step size α.
    #[arg(long, default_value_t = DEFAULT_LEARNING_RATE)]
    pub learning_rate: f64,
    /// Training sentences: `bundled`, `shipped:train` or a text file (one sentence a line);
    /// repeatable. Default: shipped:train with --model, else bundled.
    #[arg(long, value_name = "SET")]
    pub train: Vec<String>,
    /// Held-out sentences, never learned from: same forms as --train. Default:
    /// shipped:held-out with --model, else none.
    #[arg(long = "held-out", value_name = "SET")]
    pub held_out: Vec<String>,
    /// Also measure random positive features with this many hidden neurons on the held-out set.
    #[arg(long, value_name = "M")]
    pub random_m: Option<usize>,
    /// Write the learned synapses (safetensors) here, for `--set projection=learned:FILE`.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Print the results as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

/// Runs `tripartite learn`: progress on stderr, the table (or JSON) on stdout.
pub fn run(args: LearnArgs) -> Result<()> {
    let heads = match (args.head, args.heads.as_deref()) {
        (_, Some("all")) => HeadChoice::All,
        (_, Some(other)) => bail!("--heads takes `all`, not {other:?} (use --head N for one)"),
        (Some(h), None) => HeadChoice::One(h),
        (None, None) => HeadChoice::One(0),
    };
    let sets = |given: &[String], default: Option<TextSet>| -> Vec<TextSet> {
        if given.is_empty() {
            default.into_iter().collect()
        } else {
            given.iter().map(|s| TextSet::parse(s)).collect()
        }
    };
    let with_model = args.model.is_some();
    let request = LearnRequest {
        model: args.model.clone(),
        layer: args.layer,
        heads,
        m: args.m,
        seed: args.seed,
        steps: args.steps,
        learning_rate: args.learning_rate,
        train: sets(
            &args.train,
            Some(if with_model {
                TextSet::ShippedTrain
            } else {
                TextSet::Bundled
            }),
        ),
        held_out: sets(
            &args.held_out,
            with_model.then_some(TextSet::ShippedHeldOut),
        ),
        random_m: args.random_m,
    };
    if let Some(out) = &args.out
        && let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty())
        && !parent.is_dir()
    {
        bail!(
            "cannot write {}: {} is not a folder",
            out.display(),
            parent.display()
        );
    }
    let started_heads = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let shown = AtomicUsize::new(0);
    let started = std::time::Instant::now();
    let steps = args.steps;
    let report = |event: LearnEvent| match event {
        LearnEvent::Started { heads, .. } => {
            started_heads.store(heads, Ordering::Relaxed);
            eprintln!("learn: learning {heads} head(s), {steps} steps each…");
        }
        LearnEvent::Step { loss, .. } => {
            let heads = started_heads.load(Ordering::Relaxed).max(1);
            let now = done.fetch_add(1, Ordering::Relaxed) + 1;
            let tenth = (now * 10 / (heads * steps).max(1)).min(10);
            if shown.fetch_max(tenth, Ordering::Relaxed) < tenth {
                eprintln!(
                    "learn: {}% of {heads} head(s) × {steps} steps, loss {loss:.4}, {:.1} s",
                    tenth * 10,
                    started.elapsed().as_secs_f64()
                );
            }
        }
        LearnEvent::Measured { .. } => {}
        LearnEvent::Encoded {
            sentence,
            sentences,
        } => {
            // About ten lines over the encoding, and the last one.
            if sentence == sentences || sentence % (sentences / 10).max(1) == 0 {
                eprintln!(
                    "learn: encoding sentence {sentence}/{sentences}, {:.1} s",
                    started.elapsed().as_secs_f64()
                );
            }
        }
    };
    eprintln!("learn: encoding sentences…");
    let cancel = AtomicBool::new(false);
    let Some(outcome) = learn(&request, &report, &cancel)? else {
        bail!("learning was cancelled");
    };
    eprintln!("learn: done in {:.1} s", started.elapsed().as_secs_f64());
    if let Some(out) = &args.out {
        crate::io::atomic_write(out, &outcome.file.to_bytes())
            .with_context(|| format!("cannot write {}", out.display()))?;
        eprintln!("learn: wrote {}", out.display());
    }
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&json(&outcome, args.m, args.out.as_deref()))?
        );
    } else {
        print!("{}", table(&outcome, args.m));
    }
    Ok(())
}

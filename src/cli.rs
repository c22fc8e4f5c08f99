//! The command line: parse arguments, then hand off to the library.

use crate::data::experiment::Experiment;
use crate::data::spec::SourceSpec;
use crate::io::export::write_run_outputs;
use crate::jobs::progress::{Progress, for_cli};
use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "tripartite",
    version,
    about = "A lab for the neuron–astrocyte transformer (Kozachkov, Kastanenka & Krotov, PNAS 2023). With no command, opens the app."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run headless to the end of the schedule and print the metrics.
    Run(RunArgs),
    /// Run a parameter sweep and write one CSV row per value and seed.
    Sweep(SweepArgs),
    /// Open the desktop app.
    Gui(GuiArgs),
    /// Encode text (BERT, ALBERT) or an image (ViT) and write one head's q, k, v and attention.
    Encode(EncodeArgs),
    /// The authors' figure: c_t at m = 10³ and 10⁵ against Z_t (CSV, JSON and PNG).
    Figure(FigureArgs),
    /// List the bundled sentences, one name a line.
    Sequences,
    /// List the bundled example experiments, one name a line.
    Presets,
    /// Run two experiment files to the end and show what differs: settings, metrics, deltas.
    Compare(CompareArgs),
    /// List the bundled lessons, one a line (title, step count, file).
    Lessons(LessonsArgs),
    /// Work with a lesson file.
    #[command(subcommand)]
    Lesson(LessonCommand),
    /// How many hidden neurons each head needs: fit attn_tv ≈ a·m^(−1/2) over a short sweep.
    Budget(BudgetArgs),
    /// Learn a head's (or a layer's) hidden synapses W, b on sentences; report train and
    /// held-out attn_tv against the random network and save them for projection=learned:FILE.
    Learn(crate::jobs::learn::LearnArgs),
}

#[derive(Args, Debug)]
pub struct BudgetArgs {
    #[command(flatten)]
    pub input: InputArgs,
    /// attn_tv to reach, strictly between 0 and 1.
    #[arg(long, default_value_t = crate::sim::budget::DEFAULT_TARGET, allow_negative_numbers = true)]
    pub target: f64,
    /// Seeds per m: seed, seed+1, … seed+K−1.
    #[arg(long, default_value_t = crate::sim::budget::DEFAULT_SEEDS, value_name = "K")]
    pub seeds: u32,
    /// Values of m to sweep (default 1024,2048,4096,8192,16384,65536).
    #[arg(long, value_name = "M1,M2,...", value_delimiter = ',')]
    pub ms: Option<Vec<usize>>,
    /// Layer whose heads are budgeted (default: the experiment's layer).
    #[arg(long)]
    pub layer: Option<usize>,
    /// Budget only this head.
    #[arg(long)]
    pub head: Option<usize>,
    /// Print the budget as JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub progress: ProgressArgs,
}

/// Progress of a long run on stderr.
#[derive(Args, Debug, Clone, Copy, Default)]
pub struct ProgressArgs {
    /// No progress bar on stderr (there is none anyway when stderr is not a terminal).
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

impl ProgressArgs {
    /// A bar on stderr when it is a terminal and `--quiet` is off, else nothing.
    pub fn progress(self) -> Box<dyn Progress> {
        for_cli(self.quiet)
    }
}

#[derive(Args, Debug)]
pub struct LessonsArgs {
    /// Print a JSON array of {title, file, steps}.
    #[arg(long)]
    pub json: bool,
}

#[derive(Subcommand, Debug)]
pub enum LessonCommand {
    /// Check a lesson file; exits non-zero with one sentence naming the step and field.
    Check {
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
}

#[derive(Args, Debug)]
pub struct CompareArgs {
    /// The baseline experiment (TOML).
    #[arg(value_name = "A.toml")]
    pub a: PathBuf,
    /// The experiment compared with it (TOML).
    #[arg(value_name = "B.toml")]
    pub b: PathBuf,
    /// Print one JSON object (both reports, the differences and the deltas).
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
#[command(group = clap::ArgGroup::new("input").required(true).args(["text", "image"]))]
pub struct EncodeArgs {
    /// HuggingFace model folder: BERT or ALBERT for --text, ViT for --image. With --image
    /// and no --model, the bundled digits ViT reads the image.
    #[arg(long, value_name = "DIR")]
    pub model: Option<PathBuf>,
    /// Text to encode.
    #[arg(long, value_name = "TEXT")]
    pub text: Option<String>,
    /// PNG or JPEG image to encode, or digits:INDEX for a bundled digit.
    #[arg(long, value_name = "PATH")]
    pub image: Option<String>,
    /// Print a JSON summary (with the predicted class for images) on stdout.
    #[arg(long)]
    pub json: bool,
    /// Layer, 0-based.
    #[arg(long, default_value_t = 0)]
    pub layer: usize,
    /// Head, 0-based.
    #[arg(long, default_value_t = 0)]
    pub head: usize,
    /// Folder to write q.npy, k.npy, v.npy, tokens.txt and attention_softmax.npy into.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
}

#[derive(Args, Debug)]
pub struct FigureArgs {
    /// The source to draw (default: the bundled passage read by MiniLM, and bundled digit 0).
    #[command(flatten)]
    pub input: InputArgs,
    /// Folder to write figure.csv, figure.json and figure.png into.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    #[command(flatten)]
    pub progress: ProgressArgs,
}

/// Where the experiment comes from: a file, then `--sequence`/`--text`/`--set` on top.
#[derive(Args, Debug, Clone, Default)]
pub struct InputArgs {
    /// Experiment file (TOML) to start from.
    #[arg(long, value_name = "FILE")]
    pub experiment: Option<PathBuf>,
    /// Sequence source: synthetic:NxD, npy:DIR, bundled:NAME, model:DIR, digits:INDEX or
    /// image:PATH.
    #[arg(long, value_name = "SPEC")]
    pub sequence: Option<String>,
    /// Text to encode, for model:DIR sequences.
    #[arg(long, value_name = "TEXT")]
    pub text: Option<String>,
    /// Image to encode: with --sequence model:DIR (a ViT folder) that model reads it, else the
    /// bundled digits ViT.
    #[arg(long, value_name = "PATH")]
    pub image: Option<PathBuf>,
    /// Set a parameter, e.g. --set m=1024 --set mode=algebraic (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
}

#[derive(Args, Debug)]
pub struct RunArgs {
    #[command(flatten)]
    pub input: InputArgs,
    /// Write metrics.json, the .npy arrays and trace.csv into this folder.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Print the metrics.json object on stdout.
    #[arg(long)]
    pub json: bool,
    /// Save the experiment as run (every parameter) to this TOML file.
    #[arg(long, value_name = "FILE")]
    pub save_experiment: Option<PathBuf>,
    /// Stop at the end of slot K (1-based, write and read slots in schedule order; algebraic
    /// mode: after K read rows) instead of the end of the schedule.
    #[arg(long, value_name = "SLOT")]
    pub until: Option<usize>,
    /// Write the run's whole state (at --until, or at the end) to this file, for --resume.
    #[arg(long, value_name = "FILE")]
    pub save_state: Option<PathBuf>,
    /// Continue the run saved in this state file to the end of its schedule.
    #[arg(long, value_name = "FILE", conflicts_with = "until")]
    pub resume: Option<PathBuf>,
    #[command(flatten)]
    pub progress: ProgressArgs,
}

#[derive(Args, Debug)]
pub struct SweepArgs {
    #[command(flatten)]
    pub input: InputArgs,
    /// Parameter to vary.
    #[arg(long, value_name = "NAME")]
    pub param: String,
    /// Comma-separated values.
    #[arg(long, value_name = "V1,V2,...", value_delimiter = ',', required = true)]
    pub values: Vec<String>,
    /// Seeds per value: seed, seed+1, … seed+K−1.
    #[arg(long, default_value_t = 1, value_name = "K")]
    pub seeds: u64,
    /// CSV file to write (default: stdout).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub progress: ProgressArgs,
}

#[derive(Args, Debug, Default)]
pub struct GuiArgs {
    #[command(flatten)]
    pub input: InputArgs,
    /// Run the real window for N frames with the simulation at full speed, then exit.
    #[arg(long, value_name = "N")]
    pub frames: Option<u64>,
    /// With --frames: write frame timings (JSON) here.
    #[arg(long, value_name = "FILE.json")]
    pub frame_report: Option<PathBuf>,
    /// Save screenshots of the real app into this folder, then exit.
    #[arg(long, value_name = "DIR")]
    pub screenshot: Option<PathBuf>,
}

/// Builds the experiment the input arguments describe.
pub fn build_experiment(input: &InputArgs) -> Result<Experiment> {
    let mut experiment = match &input.experiment {
        Some(path) => Experiment::load(path)?,
        None => Experiment::default(),
    };
    if let Some(spec) = &input.sequence {
        experiment.source = spec.parse::<SourceSpec>()?;
    }
    if let Some(text) = &input.text {
        experiment.text = Some(text.clone());
    }
    if let Some(image) = &input.image {
        experiment.source = experiment.source.with_image(image.clone());
    }
    for assignment in &input.set {
        let (key, value) = assignment
            .split_once('=')
            .with_context(|| format!("--set '{assignment}' must look like KEY=VALUE"))?;
        experiment.params.set(key, value)?;
    }
    experiment.params.validate()?;
    Ok(experiment)
}

/// What `tripartite gui` (or no command) asks of the app.
#[derive(Debug, Default)]
pub struct GuiRequest {
    pub experiment: Experiment,
    /// Why the experiment asked for could not be opened (the app then opens the default
    /// experiment and shows this sentence).
    pub refusal: Option<String>,
    pub frames: Option<u64>,
    pub frame_report: Option<PathBuf>,
    pub screenshot_dir: Option<PathBuf>,
}

/// The experiment the window opens on: `experiment` when its sequence can be read, else the
/// default experiment with the refusal in one sentence. A window that opened on nothing
/// would leave the user a dead end (Reset repeats the same error), so the check comes first.
pub fn opening_experiment(experiment: Experiment) -> (Experiment, Option<String>) {
    let read = if experiment.params.heads == crate::model::params::Heads::All {
        crate::data::source::load_layer(
            &experiment.source,
            experiment.text.as_deref(),
            &experiment.params,
        )
        .map(drop)
    } else {
        experiment.load_sequence().map(drop)
    };
    match read {
        Ok(()) => (experiment, None),
        Err(error) => (
            Experiment::default(),
            Some(format!(
                "{} cannot be opened: {error}. The default experiment is open instead.",
                experiment.source
            )),
        ),
    }
}

/// Runs the parsed command line; `open_gui` opens the app (the binary passes the real one).
pub fn run(cli: Cli, open_gui: impl FnOnce(GuiRequest) -> Result<()>) -> Result<()> {
    match cli.command {
        None => open_gui(GuiRequest::default()),
        Some(Command::Gui(args)) => {
            if args.frame_report.is_some() && args.frames.is_none() {
                bail!("--frame-report needs --frames N");
            }
            let (experiment, refusal) = opening_experiment(build_experiment(&args.input)?);
            open_gui(GuiRequest {
                experiment,
                refusal,
                frames: args.frames,
                frame_report: args.frame_report,
                screenshot_dir: args.screenshot,
            })
        }
        Some(Command::Run(args)) => run_command(args),
        Some(Command::Encode(args)) => encode_command(args),
        Some(Command::Figure(args)) => figure_command(args),
        Some(Command::Sequences) => {
            for name in crate::data::real::bundled_names()? {
                println!("{name}");
            }
            Ok(())
        }
        Some(Command::Presets) => {
            for preset in crate::io::presets::presets() {
                println!("{}", preset.name);
            }
            Ok(())
        }
        Some(Command::Sweep(args)) => sweep_command(args),
        Some(Command::Compare(args)) => crate::jobs::compare::print(&args.a, &args.b, args.json),
        Some(Command::Lessons(args)) => {
            print!("{}", crate::io::lesson::listing(args.json)?);
            Ok(())
        }
        Some(Command::Lesson(LessonCommand::Check { file })) => {
            println!("{}", crate::io::lesson::check(&file)?);
            Ok(())
        }
        Some(Command::Learn(args)) => crate::jobs::learn::run(args),
        Some(Command::Budget(a)) => Ok(crate::jobs::budget::budget_command(
            &build_experiment(&a.input)?,
            a.layer,
            a.head,
            &crate::sim::budget::BudgetSpec {
                target: a.target,
                seeds: a.seeds,
                ms: a
                    .ms
                    .unwrap_or_else(|| crate::sim::budget::DEFAULT_MS.to_vec()),
            },
            a.json,
            &*a.progress.progress(),
        )?),
    }
}

fn run_command(args: RunArgs) -> Result<()> {
    use crate::io::checkpoint::{check_same_experiment, load_state, save_state};
    use crate::sim::checkpoint::Checkpoint;
    let (experiment, run) = match &args.resume {
        Some(path) => {
            let saved = load_state(path)?;
            let given = &args.input;
            if given.experiment.is_some() || given.sequence.is_some() || !given.set.is_empty() {
                check_same_experiment(path, &saved.experiment, &build_experiment(given)?)?;
            }
            let sequence = std::sync::Arc::new(saved.experiment.load_sequence()?);
            let run = crate::sim::run::resume_run(
                &saved.experiment.params,
                sequence,
                &saved.state,
                saved.trace,
            )
            .with_context(|| format!("cannot resume '{}'", path.display()))?;
            (saved.experiment, run)
        }
        None => {
            let experiment = build_experiment(&args.input)?;
            if experiment.params.heads == crate::model::params::Heads::All {
                let unsupported = (args.until.is_some().then_some("--until"))
                    .or(args.save_state.is_some().then_some("--save-state"));
                return Ok(crate::jobs::layer::run_layer_command(
                    &experiment,
                    args.out.as_deref(),
                    args.json,
                    args.save_experiment.as_deref(),
                    unsupported,
                    &*args.progress.progress(),
                )?);
            }
            let run = match args.until {
                Some(slots) => {
                    let sequence = std::sync::Arc::new(experiment.load_sequence()?);
                    crate::sim::run::run_until(&experiment.params, sequence, slots)?
                }
                None => {
                    let progress = args.progress.progress();
                    let run = crate::jobs::run::run_experiment(&experiment, "run", &*progress);
                    progress.finish();
                    run?
                }
            };
            (experiment, run)
        }
    };
    if let Some(path) = &args.save_experiment {
        experiment.save(path)?;
    }
    if let Some(path) = &args.save_state {
        let checkpoint = Checkpoint {
            experiment: experiment.clone(),
            state: run.simulation.state(),
            trace: run.trace.clone(),
            keyframes: None,
        };
        save_state(path, &checkpoint)?;
        eprintln!(
            "saved the state after {} of {} steps to '{}'",
            run.simulation.step_index(),
            run.simulation.total_steps(),
            path.display()
        );
    }
    if let Some(dir) = &args.out {
        write_run_outputs(dir, &run)?;
    }
    crate::jobs::run::print_run(&run, args.json);
    Ok(())
}

fn encode_command(args: EncodeArgs) -> Result<()> {
    crate::jobs::encode::encode_command(
        args.model.as_deref(),
        args.text.as_deref(),
        args.image.as_deref(),
        (args.layer, args.head),
        &args.out,
        args.json,
    )?;
    Ok(())
}

fn figure_command(args: FigureArgs) -> Result<()> {
    let input = &args.input;
    let experiments = if input.experiment.is_none()
        && input.sequence.is_none()
        && input.image.is_none()
        && input.set.is_empty()
    {
        crate::jobs::figure::default_experiments()
    } else {
        vec![build_experiment(input)?]
    };
    crate::jobs::figure::figure_command(&experiments, &args.out, &*args.progress.progress())?;
    Ok(())
}

fn sweep_command(args: SweepArgs) -> Result<()> {
    let base = build_experiment(&args.input)?;
    let sweep = crate::jobs::sweep::Sweep {
        base: &base,
        param: &args.param,
        values: &args.values,
        seeds: args.seeds,
    };
    let csv = crate::jobs::sweep::sweep_csv_text(&sweep, &*args.progress.progress())?;
    match &args.out {
        Some(path) => crate::io::atomic_write(path, csv.as_bytes())
            .with_context(|| format!("cannot write '{}'", path.display()))?,
        None => print!("{csv}"),
    }
    Ok(())
}

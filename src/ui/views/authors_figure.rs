//! The authors' figure (issue 14 §4) for the current sequence and head: the astrocyte's
//! calcium c_t at m = 10³ and m = 10⁵ over the query index against the softmax normaliser Z_t,
//! with positive iid features and the authors' scaling, as `tripartite figure` draws it.
//! Computed on its own thread: m = 10⁵ takes about a second.

use crate::data::bundle::PASSAGE_NAME;
use crate::data::experiment::Experiment;
use crate::data::images::digits_model;
use crate::data::real::bundle;
use crate::io::export::figure::{FIGURE_SIZES, FigurePanel};
use crate::jobs::background::{Background, Poll};
use crate::jobs::figure::{digit_experiment, figure_panel, passage_experiment};
use crate::ui::views::sweep::{log_grid, pow10_label};
use crate::ui::widgets::theme;
use egui_plot::{HoverPosition, Legend, Line, LineStyle, Plot, PlotPoints};

/// Accessible name of the button that computes the figure.
pub const DRAW_LABEL: &str = "Draw the authors' figure";
/// The File ▸ Examples item that opens the figure, and its hover text.
pub const EXAMPLE_LABEL: &str = "The authors' figure: c_t against Z_t";
pub const EXAMPLE_TOOLTIP: &str = "What Kozachkov et al. plotted, on a bundled passage of text \
     (MiniLM) or a digit (the digits ViT): the astrocyte's calcium at m = 10³ and 10⁵ hidden \
     neurons against the softmax normaliser";

/// What the figure reads.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FigureInput {
    /// The bundled passage (about 200 wordpieces) read by MiniLM, as the authors read text.
    #[default]
    Passage,
    /// Bundled digit 0 read by the digits ViT, as the authors read an image.
    Digit,
    /// Whatever the app runs now (any sequence, e.g. text typed for a model folder).
    Current,
}

impl FigureInput {
    const ALL: [FigureInput; 3] = [
        FigureInput::Passage,
        FigureInput::Digit,
        FigureInput::Current,
    ];

    fn label(self) -> &'static str {
        match self {
            FigureInput::Passage => "the bundled passage (text)",
            FigureInput::Digit => "a bundled digit (image)",
            FigureInput::Current => "the current sequence",
        }
    }

    fn tooltip(self) -> &'static str {
        match self {
            FigureInput::Passage => {
                "About 150 words on astrocytes and attention written for this project, \
                 read by all-MiniLM-L6-v2 (about 200 wordpieces; bundled, no model needed)"
            }
            FigureInput::Digit => "Bundled held-out digit 0, read by the digits ViT (17 tokens)",
            FigureInput::Current => {
                "The sequence and head the app runs now: pasted text in a model folder, an \
                 image, an .npy import…"
            }
        }
    }

    /// The input's default experiment, and the layers and heads it offers.
    fn experiment(self, current: &Experiment) -> (Experiment, Option<(usize, usize)>) {
        match self {
            FigureInput::Passage => (
                passage_experiment(),
                bundle()
                    .ok()
                    .and_then(|b| b.find(PASSAGE_NAME))
                    .map(|p| (p.num_layers, p.num_heads)),
            ),
            FigureInput::Digit => (
                digit_experiment(),
                digits_model()
                    .ok()
                    .map(|m| (m.config().num_layers, m.config().num_heads)),
            ),
            FigureInput::Current => (current.clone(), None),
        }
    }
}

/// The figure's state: what it reads, the last panel or message, and a computation in flight.
#[derive(Default)]
pub struct AuthorsFigure {
    input: FigureInput,
    /// The head chosen for the passage or the digit (`None`: the input's default head).
    head: Option<(usize, usize)>,
    panel: Option<FigurePanel>,
    message: Option<String>,
    pending: Option<Background<Result<FigurePanel, String>>>,
    /// Asked to show itself (File ▸ Examples): the Sweep tab opens its section once.
    open_requested: bool,
}

impl AuthorsFigure {
    /// The last computed panel.
    pub fn panel(&self) -> Option<&FigurePanel> {
        self.panel.as_ref()
    }

    /// What the figure reads.
    pub fn input(&self) -> FigureInput {
        self.input
    }

    /// Whether a computation is running.
    pub fn is_busy(&self) -> bool {
        self.pending.is_some()
    }

    /// File ▸ Examples: open the section and draw the figure for its input (the passage,
    /// unless the user chose another) if it is not drawn yet.
    pub fn show(&mut self, ctx: &egui::Context, current: &Experiment) {
        self.open_requested = true;
        if self.panel.is_none() && self.pending.is_none() {
            let experiment = self.experiment(current);
            self.start(ctx, experiment);
        }
    }

    /// Whether the section should open this frame (once per [`Self::show`]).
    pub fn take_open_request(&mut self) -> bool {
        std::mem::take(&mut self.open_requested)
    }

    /// The experiment to draw: the input's, at the chosen head.
    fn experiment(&self, current: &Experiment) -> Experiment {
        let (mut experiment, _) = self.input.experiment(current);
        if self.input != FigureInput::Current
            && let Some((layer, head)) = self.head
        {
            experiment.params.layer = layer;
            experiment.params.head = head;
        }
        experiment
    }

    fn start(&mut self, ctx: &egui::Context, experiment: Experiment) {
        let ctx = ctx.clone();
        self.pending = Some(Background::start(
            "authors' figure",
            move || figure_panel(&experiment).map_err(|e| e.to_string()),
            move || ctx.request_repaint(),
        ));
    }

    /// The input and head pickers.
    fn input_ui(&mut self, ui: &mut egui::Ui, current: &Experiment) {
        ui.horizontal_wrapped(|ui| {
            ui.label("Read");
            for input in FigureInput::ALL {
                if ui
                    .radio(self.input == input, input.label())
                    .on_hover_text(input.tooltip())
                    .clicked()
                    && self.input != input
                {
                    self.input = input;
                    self.head = None;
                }
            }
        });
        let (default, grid) = self.input.experiment(current);
        let Some((layers, heads)) = grid else {
            return;
        };
        let (mut layer, mut head) = self
            .head
            .unwrap_or((default.params.layer, default.params.head));
        ui.horizontal(|ui| {
            let label = ui.label("layer");
            ui.add(egui::DragValue::new(&mut layer).range(0..=layers - 1))
                .labelled_by(label.id)
                .on_hover_text(format!("Any layer, 0..{}", layers - 1));
            let label = ui.label("head");
            ui.add(egui::DragValue::new(&mut head).range(0..=heads - 1))
                .labelled_by(label.id)
                .on_hover_text(format!("Any head, 0..{}", heads - 1));
        });
        if (layer, head) != (default.params.layer, default.params.head) || self.head.is_some() {
            self.head = Some((layer, head));
        }
    }

    pub fn ui(&mut self, ui: &mut egui::Ui, experiment: &Experiment) {
        if let Some(job) = &self.pending {
            match job.poll() {
                Poll::Running => {}
                Poll::Done(Ok(panel)) => {
                    self.pending = None;
                    self.panel = Some(panel);
                    self.message = None;
                }
                Poll::Done(Err(message)) => {
                    self.pending = None;
                    self.message = Some(message);
                }
                Poll::Lost => {
                    self.pending = None;
                    self.message =
                        Some("The figure could not be computed (internal failure).".into());
                }
            }
        }
        theme::caption(
            ui,
            "What Kozachkov et al. plotted: the astrocyte's calcium c_t = φ(q_t)·Σ_τ φ(k_τ) \
             over the query index against the softmax normaliser Z_t, with positive random \
             features (iid projections, q and k divided by D^¼). On the authors' heads the \
             curves nearly coincide at m = 10⁵ and scatter at m = 10³; the two lines below \
             measure how close they come on this one.",
        );
        self.input_ui(ui, experiment);
        ui.horizontal(|ui| {
            let busy = self.pending.is_some();
            if ui
                .add_enabled(!busy, egui::Button::new(DRAW_LABEL))
                .on_hover_text("Computes c_t at m = 10³ and m = 10⁵ in algebraic mode")
                .clicked()
            {
                let chosen = self.experiment(experiment);
                self.start(ui.ctx(), chosen);
            }
            if busy {
                ui.spinner();
            }
        });
        if let Some(message) = &self.message {
            ui.colored_label(ui.visuals().error_fg_color, message);
        }
        let Some(panel) = &self.panel else { return };
        let model = panel
            .model
            .as_deref()
            .unwrap_or("no model (synthetic or .npy)");
        ui.label(format!(
            "{} · {model}, layer {}, head {} · {} queries",
            panel.source,
            panel.layer,
            panel.head,
            panel.tokens.len()
        ));
        for (k, m) in FIGURE_SIZES.iter().enumerate() {
            ui.label(format!(
                "m = {}: calcium_corr = {:.4}, calcium_rel_err = {:.4}",
                theme::thousands(*m as f64, 0),
                panel.calcium_corr[k],
                panel.calcium_rel_err[k]
            ));
        }
        // Z_t spans orders of magnitude over a text: a logarithmic axis, as the PNG has.
        let line = |values: &[f64]| {
            PlotPoints::from_iter(
                values
                    .iter()
                    .enumerate()
                    .filter(|(_, v)| v.is_finite() && **v > 0.0)
                    .map(|(t, v)| [t as f64, v.log10()]),
            )
        };
        Plot::new("authors figure")
            .height(260.0)
            .legend(Legend::default())
            .x_axis_label("query index t")
            .y_axis_label("normaliser units (log scale)")
            .y_grid_spacer(log_grid)
            .y_axis_formatter(|mark, _| pow10_label(mark.value))
            .label_formatter(|hover: &HoverPosition<'_>| {
                let p = match hover {
                    HoverPosition::NearDataPoint { position, .. } => *position,
                    HoverPosition::Elsewhere { position } => *position,
                };
                Some(format!("t = {:.0}\n{}", p.x, theme::sig(10f64.powf(p.y))))
            })
            .show(ui, |plot| {
                plot.line(
                    Line::new("Z_t (softmax normaliser)", line(&panel.normaliser))
                        .style(LineStyle::dashed_loose())
                        .color(egui::Color32::from_gray(40)),
                );
                for (k, m) in FIGURE_SIZES.iter().enumerate() {
                    plot.line(Line::new(
                        format!("c_t, m = {}", theme::thousands(*m as f64, 0)),
                        line(&panel.calcium[k]),
                    ));
                }
            });
    }
}

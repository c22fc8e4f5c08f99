//! The authors' figure (issue 14 §4) for the current sequence and head: the astrocyte's
//! calcium c_t at m = 10³ and m = 10⁵ over the query index against the softmax normaliser Z_t,
//! with positive iid features and the authors' scaling, as `tripartite figure` draws it.
//! Computed on its own thread: m = 10⁵ takes about a second.

use crate::data::experiment::Experiment;
use crate::io::figure::{FIGURE_SIZES, FigurePanel, figure_panel};
use crate::ui::widgets::theme;
use egui_plot::{Legend, Line, LineStyle, Plot, PlotPoints};
use std::sync::mpsc::{Receiver, channel};

/// Accessible name of the button that computes the figure.
pub const DRAW_LABEL: &str = "Draw the authors' figure";

/// The figure's state: the last panel or message, and a computation in flight.
#[derive(Default)]
pub struct AuthorsFigure {
    panel: Option<FigurePanel>,
    message: Option<String>,
    pending: Option<Receiver<Result<FigurePanel, String>>>,
}

impl AuthorsFigure {
    /// The last computed panel.
    pub fn panel(&self) -> Option<&FigurePanel> {
        self.panel.as_ref()
    }

    fn start(&mut self, ctx: &egui::Context, experiment: Experiment) {
        let (send, receive) = channel();
        let ctx = ctx.clone();
        std::thread::spawn(move || {
            let result = figure_panel(&experiment).map_err(|e| e.to_string());
            let _ = send.send(result);
            ctx.request_repaint();
        });
        self.pending = Some(receive);
    }

    pub fn ui(&mut self, ui: &mut egui::Ui, experiment: &Experiment) {
        if let Some(receive) = &self.pending
            && let Ok(result) = receive.try_recv()
        {
            self.pending = None;
            match result {
                Ok(panel) => {
                    self.panel = Some(panel);
                    self.message = None;
                }
                Err(message) => self.message = Some(message),
            }
        }
        theme::caption(
            ui,
            "What Kozachkov et al. plotted: the astrocyte's calcium c_t = φ(q_t)·Σ_τ φ(k_τ) \
             over the query index against the softmax normaliser Z_t, with positive random \
             features (iid projections, q and k divided by D^¼). At m = 10⁵ the curves nearly \
             coincide; at m = 10³ they scatter. This uses the current sequence and head.",
        );
        ui.horizontal(|ui| {
            let busy = self.pending.is_some();
            if ui
                .add_enabled(!busy, egui::Button::new(DRAW_LABEL))
                .on_hover_text("Computes c_t at m = 10³ and m = 10⁵ in algebraic mode")
                .clicked()
            {
                self.start(ui.ctx(), experiment.clone());
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
        let line = |values: &[f64]| {
            PlotPoints::from_iter(values.iter().enumerate().map(|(t, v)| [t as f64, *v]))
        };
        Plot::new("authors figure")
            .height(260.0)
            .legend(Legend::default())
            .x_axis_label("query index t")
            .y_axis_label("normaliser units")
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

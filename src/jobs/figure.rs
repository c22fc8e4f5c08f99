//! The authors' figure (issue 14 §4), headless: for one head of a real model, the astrocyte
//! response c_t at m = 10³ and m = 10⁵ hidden neurons drawn over the query index against the
//! softmax normaliser Z_t, as in the authors' notebooks: `positive` random features, q and k
//! divided by D^(1/4), iid N(0, 1) projections, algebraic mode. `io::export::figure` writes
//! the files.

use super::progress::{Progress, Silent};
use super::run::run_experiment;
use crate::data::bundle::PASSAGE_NAME;
use crate::data::experiment::Experiment;
use crate::data::real::bundle;
use crate::data::spec::SourceSpec;
use crate::io::export::ExportError;
use crate::io::export::figure::{FIGURE_SIZES, FigurePanel, write_figure};
use crate::model::params::{FeatureMap, Mode, Projection};
use crate::sim::run::RunError;
use std::path::Path;

/// Why the figure could not be made.
#[derive(Debug, thiserror::Error)]
pub enum FigureError {
    #[error(transparent)]
    Run(#[from] RunError),
    #[error(transparent)]
    Write(#[from] ExportError),
}

/// Computes one panel: `experiment`'s sequence at both sizes, with the authors' features.
pub fn figure_panel(experiment: &Experiment) -> Result<FigurePanel, FigureError> {
    figure_panel_reporting(experiment, "figure", &Silent)
}

/// [`figure_panel`], telling `progress` the rows read at each size, in stages named after
/// `what` and the size.
pub fn figure_panel_reporting(
    experiment: &Experiment,
    what: &str,
    progress: &dyn Progress,
) -> Result<FigurePanel, FigureError> {
    let mut panel: Option<FigurePanel> = None;
    for &m in &FIGURE_SIZES {
        let mut e = experiment.clone();
        e.params.mode = Mode::Algebraic;
        e.params.feature_map = FeatureMap::Positive;
        e.params.projection = Projection::Iid;
        e.params.m = m;
        let run = run_experiment(&e, &format!("{what}, m = {m}"), progress)?;
        let sim = &run.simulation;
        let metrics = sim.metrics();
        let panel = panel.get_or_insert_with(|| {
            let sequence = sim.sequence();
            FigurePanel {
                source: sequence.source.clone(),
                model: sequence.origin.as_ref().map(|o| o.model.clone()),
                layer: e.params.layer,
                head: e.params.head,
                tokens: sequence.tokens.clone(),
                normaliser: sim.reference().normaliser(),
                calcium: Vec::new(),
                calcium_corr: Vec::new(),
                calcium_rel_err: Vec::new(),
            }
        });
        panel.calcium.push(sim.output().calcium.clone());
        panel.calcium_corr.push(metrics.calcium_corr);
        panel.calcium_rel_err.push(metrics.calcium_rel_err);
    }
    Ok(panel.expect("FIGURE_SIZES is not empty"))
}

/// The figure's text: the bundled passage written for it (about 200 wordpieces), at its
/// default head, as the authors fed their model a paragraph.
pub fn passage_experiment() -> Experiment {
    let mut text = Experiment {
        source: SourceSpec::Bundled(PASSAGE_NAME.to_owned()),
        ..Experiment::default()
    };
    if let Some(passage) = bundle().ok().and_then(|b| b.find(PASSAGE_NAME)) {
        text.params.layer = passage.default_layer;
        text.params.head = passage.default_head;
    }
    text
}

/// The figure's image: bundled digit 0 read by the digits ViT, layer 2, head 1.
pub fn digit_experiment() -> Experiment {
    let mut image = Experiment {
        source: SourceSpec::Digits(0),
        ..Experiment::default()
    };
    image.params.layer = 2;
    image.params.head = 1;
    image
}

/// The default panels: the bundled passage and bundled digit 0.
pub fn default_experiments() -> Vec<Experiment> {
    vec![passage_experiment(), digit_experiment()]
}

/// `tripartite figure`: one panel per experiment, the files written into `out`, one line per
/// panel and the folder printed.
pub fn figure_command(
    experiments: &[Experiment],
    out: &Path,
    progress: &dyn Progress,
) -> Result<(), FigureError> {
    let panels = experiments
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let what = format!("figure panel {} of {}", i + 1, experiments.len());
            figure_panel_reporting(e, &what, progress)
        })
        .collect::<Result<Vec<_>, _>>()?;
    progress.finish();
    write_figure(out, &panels)?;
    for p in &panels {
        println!(
            "{} ({}, layer {} head {}): calcium_corr {:.4} / {:.4}, calcium_rel_err {:.4} / {:.4} at m = 1000 / 100000",
            p.source,
            p.model.as_deref().unwrap_or("synthetic"),
            p.layer,
            p.head,
            p.calcium_corr[0],
            p.calcium_corr[1],
            p.calcium_rel_err[0],
            p.calcium_rel_err[1]
        );
    }
    println!("→ {}", out.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::export::figure::{COLOURS, PANEL_H, PANEL_W, figure_csv, figure_rgba};

    #[test]
    fn more_hidden_neurons_bring_c_closer_to_z_on_a_digit() {
        let panel = figure_panel(&default_experiments()[1]).unwrap();
        assert_eq!(panel.tokens.len(), 17);
        assert_eq!(panel.calcium.len(), 2);
        assert!(
            panel.calcium_rel_err[1] < panel.calcium_rel_err[0],
            "{:?}",
            panel.calcium_rel_err
        );
        assert!(panel.calcium_corr[1] > 0.9, "{:?}", panel.calcium_corr);
        let csv = figure_csv(std::slice::from_ref(&panel));
        assert_eq!(csv.lines().count(), 18);
        assert!(csv.starts_with("source,t,token,z,c_m1000,c_m100000\n"));
        let (w, h, rgba) = figure_rgba(&[panel]);
        assert_eq!((w, h), (PANEL_W, PANEL_H));
        // The curves put blue pixels on the white page.
        assert!(rgba.chunks(4).any(|p| p == COLOURS[2]));
    }

    #[test]
    fn the_text_panel_reads_the_bundled_passage() {
        let text = &default_experiments()[0];
        assert_eq!(text.source, SourceSpec::Bundled(PASSAGE_NAME.to_owned()));
        let passage = bundle().unwrap().find(PASSAGE_NAME).unwrap();
        // About 150 words, about 200 wordpieces: inside MiniLM's 512.
        let words = passage.text.split_whitespace().count();
        assert!((140..=170).contains(&words), "{words} words");
        assert!(
            (170..=240).contains(&passage.len()),
            "{} wordpieces",
            passage.len()
        );
        assert_eq!(
            (text.params.layer, text.params.head),
            (passage.default_layer, passage.default_head)
        );
    }
}

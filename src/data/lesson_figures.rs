//! The figures a lesson step quotes, as typed kinds the app computes from the run on screen.
//!
//! A step lists them (`figures = ["tv", "c after write 1", …]` in the lesson file) and the
//! lesson panel's "Figures of this step" box shows each one measured from the current run
//! (`ui::views::lesson_figures`), so the numbers the text quotes are on screen while the
//! learner reads them, and a wrong text disagrees visibly (and fails `gui_lesson_figures`).
//!
//! Tokens and slots count from 1, as in the rest of a lesson.

use crate::model::params::{Mode, PARAM_NAMES, Param};

/// The kinds an author writes, for error messages.
const KINDS: &str = "\"sizes\", \"setting KEY\", \"tv\", \"c err\", \"c corr\", \"c after write K\", \
    \"c after write K over Z of token T\", \"median jump closed in MS ms\", \"row sums\", \
    \"read slot T\", \"c peak\", \"METRICS when KEY = V1 V2 … [and KEY = …]\" \
    (METRICS: tv, c err, c corr joined by \"and\")";

/// Most runs one what-if figure may ask for (each is a whole run, made in the background).
pub const MAX_WHAT_IF_RUNS: usize = 16;

/// A run's summary metric, as the metrics row names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Metric {
    /// Total variation between A_net and A_soft.
    Tv,
    /// Mean |c_t − Z_t| / Z_t, shown in per cent.
    CalciumErr,
    /// Correlation over t of c_t with Z_t.
    CalciumCorr,
}

impl Metric {
    fn parse(words: &str) -> Option<Metric> {
        match words {
            "tv" => Some(Metric::Tv),
            "c err" => Some(Metric::CalciumErr),
            "c corr" => Some(Metric::CalciumCorr),
            _ => None,
        }
    }

    /// The name the metrics row uses.
    pub fn name(self) -> &'static str {
        match self {
            Metric::Tv => "TV",
            Metric::CalciumErr => "c err",
            Metric::CalciumCorr => "c corr",
        }
    }

    /// Whether the metric needs calcium (the dynamic mode).
    pub fn needs_calcium(self) -> bool {
        !matches!(self, Metric::Tv)
    }
}

/// One parameter varied by a what-if figure, with the values to try (as the author wrote
/// them; each is checked against the parameter when the lesson loads).
#[derive(Clone, Debug, PartialEq)]
pub struct Axis {
    pub key: String,
    pub values: Vec<String>,
}

/// One figure a step quotes.
#[derive(Clone, Debug, PartialEq)]
pub enum Figure {
    /// The run's sizes: tokens, the key dimension D, and m.
    Sizes,
    /// A parameter's value in the run on screen, by its key.
    Setting(String),
    /// A summary metric of the run on screen.
    Metric(Metric),
    /// The calcium at the end of write slot K (from 1).
    CalciumAfterWrite(usize),
    /// The calcium at the end of write slot `write` as a share of Z_t of token `token`.
    CalciumShareOfZ { write: usize, token: usize },
    /// The median, over read slots 2.., of the share of the slot's calcium jump (start to end)
    /// closed in its first `ms` milliseconds.
    MedianJumpClosed { ms: f64 },
    /// The lowest and highest row sums of A_net.
    RowSums,
    /// Read slot T (from 1): c at its end, its Z_t, and the largest term of Z_t with its key.
    ReadSlot(usize),
    /// The highest calcium on the plotted trace.
    CalciumPeak,
    /// Metrics of whole runs of the step's experiment (as set now) with parameters changed:
    /// every combination of the axes' values.
    WhatIf {
        metrics: Vec<Metric>,
        axes: Vec<Axis>,
    },
}

/// What a figure is checked against: the step's experiment's parameters and its number of
/// tokens.
#[derive(Clone, Copy, Debug)]
pub struct FigureRun<'a> {
    pub params: &'a crate::model::params::Params,
    pub tokens: usize,
}

impl Figure {
    /// Reads a figure as an author writes it, e.g. "c after write 8 over Z of token 1".
    pub fn parse(text: &str) -> Result<Figure, String> {
        let words = text
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_lowercase();
        let bad = || format!("figure \"{text}\" is not a figure; figures are: {KINDS}");
        let number = |s: &str| s.trim().parse::<usize>().map_err(|_| bad());
        if let Some(metric) = Metric::parse(&words) {
            return Ok(Figure::Metric(metric));
        }
        match words.as_str() {
            "sizes" => return Ok(Figure::Sizes),
            "row sums" => return Ok(Figure::RowSums),
            "c peak" => return Ok(Figure::CalciumPeak),
            _ => {}
        }
        if let Some(key) = words.strip_prefix("setting ") {
            return Ok(Figure::Setting(key.trim().to_string()));
        }
        if let Some(rest) = words.strip_prefix("c after write ") {
            return Ok(match rest.split_once(" over z of token ") {
                Some((write, token)) => Figure::CalciumShareOfZ {
                    write: number(write)?,
                    token: number(token)?,
                },
                None => Figure::CalciumAfterWrite(number(rest)?),
            });
        }
        if let Some(rest) = words.strip_prefix("median jump closed in ") {
            let ms: f64 = rest
                .strip_suffix("ms")
                .ok_or_else(bad)?
                .trim()
                .parse()
                .map_err(|_| bad())?;
            if !(ms.is_finite() && ms > 0.0) {
                return Err(bad());
            }
            return Ok(Figure::MedianJumpClosed { ms });
        }
        if let Some(rest) = words.strip_prefix("read slot ") {
            return Ok(Figure::ReadSlot(number(rest)?));
        }
        if let Some((metrics, axes)) = words.split_once(" when ") {
            let metrics = metrics
                .split(" and ")
                .map(|m| Metric::parse(m.trim()).ok_or_else(bad))
                .collect::<Result<Vec<_>, _>>()?;
            let axes = axes
                .split(" and ")
                .map(|axis| {
                    let (key, values) = axis.split_once('=').ok_or_else(bad)?;
                    let values: Vec<String> = values
                        .split([' ', ','])
                        .filter(|v| !v.is_empty())
                        .map(str::to_string)
                        .collect();
                    if values.is_empty() {
                        return Err(bad());
                    }
                    Ok(Axis {
                        key: key.trim().to_string(),
                        values,
                    })
                })
                .collect::<Result<Vec<_>, String>>()?;
            return Ok(Figure::WhatIf { metrics, axes });
        }
        Err(bad())
    }

    /// Checks the figure against the step's experiment (the last one loaded up to the step).
    pub fn validate(&self, experiment: Option<FigureRun<'_>>) -> Result<(), String> {
        let Some(e) = experiment else {
            return Err(
                "figures: no step up to this one loads an experiment, so there is \
                        no run to measure them on; add `experiment` here or earlier"
                    .into(),
            );
        };
        let dynamic = e.params.mode == Mode::Dynamic;
        let tokens = e.tokens;
        let token = |what: &str, t: usize| {
            if t == 0 || t > tokens {
                Err(format!(
                    "figure \"{what}\" names token {t}, past the end of this step's sequence \
                     ({tokens} tokens, numbered 1 to {tokens})"
                ))
            } else {
                Ok(())
            }
        };
        let needs_dynamic = |what: &str| {
            if dynamic {
                Ok(())
            } else {
                Err(format!(
                    "figure \"{what}\" needs the dynamic mode (calcium over time), but this \
                     step's experiment is algebraic"
                ))
            }
        };
        match self {
            Figure::Sizes | Figure::Metric(Metric::Tv) | Figure::RowSums => Ok(()),
            Figure::Setting(key) => match Param::named(key) {
                Some(_) => Ok(()),
                None => Err(format!(
                    "figure \"setting {key}\" names no parameter; parameters are: {}",
                    PARAM_NAMES.join(", ")
                )),
            },
            Figure::Metric(m) => needs_dynamic(m.name()),
            Figure::CalciumPeak => needs_dynamic("c peak"),
            Figure::MedianJumpClosed { .. } => needs_dynamic("median jump closed"),
            Figure::CalciumAfterWrite(w) => {
                needs_dynamic("c after write")?;
                token("c after write", *w)
            }
            Figure::CalciumShareOfZ { write, token: t } => {
                needs_dynamic("c after write … over Z")?;
                token("c after write", *write)?;
                token("over Z of token", *t)
            }
            Figure::ReadSlot(t) => {
                needs_dynamic("read slot")?;
                token("read slot", *t)
            }
            Figure::WhatIf { metrics, axes } => {
                for metric in metrics {
                    if metric.needs_calcium() && !dynamic {
                        needs_dynamic(metric.name())?;
                    }
                }
                let mut runs = 1usize;
                for axis in axes {
                    let Some(param) = Param::named(&axis.key) else {
                        return Err(format!(
                            "figure \"… when {} = …\" names no parameter; parameters are: {}",
                            axis.key,
                            PARAM_NAMES.join(", ")
                        ));
                    };
                    for value in &axis.values {
                        let mut params = e.params.clone();
                        param.set_text(&mut params, value).map_err(|error| {
                            format!("figure \"… when {} = {value}\": {error}", axis.key)
                        })?;
                    }
                    runs = runs.saturating_mul(axis.values.len());
                }
                if runs > MAX_WHAT_IF_RUNS {
                    return Err(format!(
                        "figure \"… when …\" asks for {runs} runs; at most {MAX_WHAT_IF_RUNS}"
                    ));
                }
                Ok(())
            }
        }
    }
}

/// Every combination of the axes' values, first axis slowest: one list of (key, value) per run.
pub fn combinations(axes: &[Axis]) -> Vec<Vec<(String, String)>> {
    let mut all = vec![Vec::new()];
    for axis in axes {
        all = all
            .into_iter()
            .flat_map(|done: Vec<(String, String)>| {
                axis.values.iter().map(move |v| {
                    let mut next = done.clone();
                    next.push((axis.key.clone(), v.clone()));
                    next
                })
            })
            .collect();
    }
    all
}

/// `value` with two significant figures (whole numbers from 100 up): the rounding the
/// figures box and the lessons use for measured values.
pub fn two_figures(value: f64) -> String {
    if !value.is_finite() {
        return "—".into();
    }
    let magnitude = value.abs();
    let decimals = if magnitude == 0.0 {
        2
    } else {
        (1 - magnitude.log10().floor() as i32).clamp(0, 8) as usize
    };
    format!("{value:.decimals$}")
}

/// A correlation with two significant figures, or more while it would round to 1 (0.998
/// rather than "1.0"), up to four.
pub fn correlation(value: f64) -> String {
    if !value.is_finite() {
        return "—".into();
    }
    for decimals in 2..=4 {
        let text = format!("{value:.decimals$}");
        if text.parse::<f64>().is_ok_and(|r| r.abs() < 1.0) {
            return text;
        }
    }
    format!("{value:.4}")
}

/// A metric's value in the lessons' rounding, with its unit.
pub fn format_metric(metric: Metric, value: f64) -> String {
    match metric {
        Metric::Tv => two_figures(value),
        Metric::CalciumErr => format!("{} %", two_figures(100.0 * value)),
        Metric::CalciumCorr => correlation(value),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_read_as_written() {
        assert_eq!(Figure::parse("TV").unwrap(), Figure::Metric(Metric::Tv));
        assert_eq!(
            Figure::parse("c after write 8 over Z of token 1").unwrap(),
            Figure::CalciumShareOfZ { write: 8, token: 1 }
        );
        assert_eq!(
            Figure::parse("median jump closed in 100 ms").unwrap(),
            Figure::MedianJumpClosed { ms: 100.0 }
        );
        assert_eq!(
            Figure::parse("tv and c err when m = 64 256, and synthetic_scale = 0.5 1").unwrap(),
            Figure::WhatIf {
                metrics: vec![Metric::Tv, Metric::CalciumErr],
                axes: vec![
                    Axis {
                        key: "m".into(),
                        values: vec!["64".into(), "256".into()]
                    },
                    Axis {
                        key: "synthetic_scale".into(),
                        values: vec!["0.5".into(), "1".into()]
                    },
                ]
            }
        );
        assert_eq!(
            Figure::parse("setting t_read").unwrap(),
            Figure::Setting("t_read".into())
        );
        assert!(Figure::parse("soon").unwrap_err().contains("figures are"));
        assert!(Figure::parse("speed when m = 4").is_err());
    }

    #[test]
    fn combinations_take_the_first_axis_slowest() {
        let axes = [
            Axis {
                key: "a".into(),
                values: vec!["1".into(), "2".into()],
            },
            Axis {
                key: "b".into(),
                values: vec!["x".into(), "y".into()],
            },
        ];
        let runs: Vec<String> = combinations(&axes)
            .iter()
            .map(|run| run.iter().map(|(_, v)| v.as_str()).collect())
            .collect();
        assert_eq!(runs, ["1x", "1y", "2x", "2y"]);
    }

    #[test]
    fn rounding_keeps_two_figures_and_correlations_short_of_one() {
        assert_eq!(two_figures(0.03487), "0.035");
        assert_eq!(two_figures(0.0903), "0.090");
        assert_eq!(two_figures(6.41), "6.4");
        assert_eq!(two_figures(438.7), "439");
        assert_eq!(two_figures(1888.2), "1888");
        assert_eq!(correlation(0.98986), "0.99");
        assert_eq!(correlation(0.99812), "0.998");
        assert_eq!(correlation(0.7612), "0.76");
        assert_eq!(format_metric(Metric::CalciumErr, 0.026136), "2.6 %");
    }
}

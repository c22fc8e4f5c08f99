//! The CSV layouts: the calcium trace and the attention matrices in long form.

use super::{ExportError, check_square, write_bytes};
use crate::model::metrics::{Metrics, PerQuery};
use crate::model::schedule::{Phase, Slot};
use crate::sim::TraceSample;
use ndarray::Array2;
use std::fmt::Write as _;
use std::path::Path;

/// The trace as CSV with header `time_ms,phase,slot,token,c,z`: each sample's time, the slot
/// its step closes (phase and token index, from `slots`), the token, the calcium in
/// softmax-normaliser units, and in read slots the softmax normaliser Z_t that the calcium
/// should meet (`normaliser[token]`; empty in write slots, where there is none). Samples
/// outside the schedule are left out.
pub fn trace_csv<'a>(
    trace: impl IntoIterator<Item = &'a TraceSample>,
    slots: &[Slot],
    tokens: &[String],
    normaliser: &[f64],
) -> String {
    let mut out = String::from("time_ms,phase,slot,token,c,z\n");
    for sample in trace {
        // The slot that step `sample.step` belongs to: the first ending at or after it.
        let Some(slot) = slots.get(slots.partition_point(|s| s.end_step() < sample.step)) else {
            continue;
        };
        let token = tokens.get(slot.token).map_or("", String::as_str);
        let z = match (slot.phase, normaliser.get(slot.token)) {
            (Phase::Read, Some(z)) => z.to_string(),
            _ => String::new(),
        };
        let _ = writeln!(
            out,
            "{},{},{},{},{},{z}",
            sample.time_ms,
            slot.phase.name(),
            slot.token,
            csv_field(token),
            sample.calcium
        );
    }
    out
}

/// Writes [`trace_csv`] to `path`.
pub fn write_trace<'a>(
    path: &Path,
    trace: impl IntoIterator<Item = &'a TraceSample>,
    slots: &[Slot],
    tokens: &[String],
    normaliser: &[f64],
) -> Result<(), ExportError> {
    write_bytes(path, trace_csv(trace, slots, tokens, normaliser).as_bytes())
}

/// The per-query diagnostics as CSV, one line per completed read row:
/// `row,token,tv,max_abs,output_rel_err,c,z,c_over_z,q_norm,max_k_norm,c_rel_se` (undefined
/// values are empty).
pub fn per_query_csv(tokens: &[String], per_query: &PerQuery) -> String {
    let mut out = String::from("row,token");
    for name in PerQuery::NAMES {
        out.push(',');
        out.push_str(name);
    }
    out.push('\n');
    let columns = per_query.columns();
    for (index, &row) in per_query.row.iter().enumerate() {
        let token = tokens.get(row).map_or("", String::as_str);
        let _ = write!(out, "{row},{}", csv_field(token));
        for column in &columns {
            let value = column[index];
            if value.is_finite() {
                let _ = write!(out, ",{value}");
            } else {
                out.push(',');
            }
        }
        out.push('\n');
    }
    out
}

/// Writes [`per_query_csv`] to `path`.
pub fn write_per_query(
    path: &Path,
    tokens: &[String],
    per_query: &PerQuery,
) -> Result<(), ExportError> {
    write_bytes(path, per_query_csv(tokens, per_query).as_bytes())
}

/// A_soft, A_net and their difference in long form, with token labels:
/// `query,key,softmax,network,difference`.
pub fn attention_csv(tokens: &[String], softmax: &Array2<f64>, network: &Array2<f64>) -> String {
    let mut out = String::from("query,key,softmax,network,difference\n");
    for (t, query) in tokens.iter().enumerate() {
        for (tau, key) in tokens.iter().enumerate() {
            let (a, b) = (softmax[[t, tau]], network[[t, tau]]);
            let _ = writeln!(
                out,
                "{},{},{a},{b},{}",
                csv_field(query),
                csv_field(key),
                b - a
            );
        }
    }
    out
}

/// Writes [`attention_csv`] to `path`, after checking that both matrices are N × N.
pub fn write_attention(
    path: &Path,
    tokens: &[String],
    softmax: &Array2<f64>,
    network: &Array2<f64>,
) -> Result<(), ExportError> {
    check_square("softmax", tokens.len(), softmax)?;
    check_square("network", tokens.len(), network)?;
    write_bytes(path, attention_csv(tokens, softmax, network).as_bytes())
}

/// The columns of `tripartite sweep`: the swept parameter and its value, the seed, and the
/// metrics of that run.
pub const SWEEP_HEADER: &str =
    "param,value,seed,attn_tv,attn_max_abs,output_rel_err,calcium_corr,calcium_rel_err";

/// One run of a sweep.
#[derive(Clone, Debug, PartialEq)]
pub struct SweepRow {
    /// The swept parameter's name, e.g. "m".
    pub param: String,
    pub value: String,
    pub seed: u64,
    pub metrics: Metrics,
    /// The feature map and projection, when the sweep compares several (an extra last column).
    pub variant: Option<String>,
}

/// Sweep results under [`SWEEP_HEADER`], with a last `variant` column when any row has one.
pub fn sweep_csv(rows: &[SweepRow]) -> String {
    let with_variant = rows.iter().any(|r| r.variant.is_some());
    let mut out = String::from(SWEEP_HEADER);
    if with_variant {
        out.push_str(",variant");
    }
    out.push('\n');
    for row in rows {
        let m = &row.metrics;
        let _ = write!(
            out,
            "{},{},{},{},{},{},{},{}",
            csv_field(&row.param),
            csv_field(row.value.trim()),
            row.seed,
            m.attn_tv,
            m.attn_max_abs,
            m.output_rel_err,
            m.calcium_corr,
            m.calcium_rel_err
        );
        if with_variant {
            let _ = write!(out, ",{}", csv_field(row.variant.as_deref().unwrap_or("")));
        }
        out.push('\n');
    }
    out
}

/// Writes [`sweep_csv`] to `path`.
pub fn write_sweep(path: &Path, rows: &[SweepRow]) -> Result<(), ExportError> {
    write_bytes(path, sweep_csv(rows).as_bytes())
}

/// Quotes a CSV field when it holds a comma, quote or newline.
pub fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::schedule::Phase;

    fn sample(step: u64, calcium: f64) -> TraceSample {
        TraceSample {
            generation: 0,
            step,
            time_ms: step as f64 * 0.5,
            calcium,
            probes: Vec::new(),
        }
    }

    #[test]
    fn trace_rows_name_the_slot_their_step_closes() {
        let slots = [
            Slot {
                phase: Phase::Write,
                token: 0,
                start_step: 0,
                steps: 4,
            },
            Slot {
                phase: Phase::Read,
                token: 1,
                start_step: 4,
                steps: 4,
            },
        ];
        let tokens = ["a".to_string(), "b,c".to_string()];
        let trace = [sample(4, 0.25), sample(5, 0.5), sample(9, 1.0)];
        let csv = trace_csv(&trace, &slots, &tokens, &[3.0, 7.5]);
        assert_eq!(
            csv,
            "time_ms,phase,slot,token,c,z\n2,write,0,a,0.25,\n2.5,read,1,\"b,c\",0.5,7.5\n"
        );
    }

    #[test]
    fn attention_is_long_with_the_difference_last() {
        let tokens = ["x".to_string(), "y".to_string()];
        let softmax = Array2::from_elem((2, 2), 0.5);
        let network = ndarray::array![[1.0, 0.0], [0.25, 0.75]];
        let csv = attention_csv(&tokens, &softmax, &network);
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines[0], "query,key,softmax,network,difference");
        assert_eq!(lines[1], "x,x,0.5,1,0.5");
        assert_eq!(lines[4], "y,y,0.5,0.75,0.25");
        assert_eq!(lines.len(), 5);
    }
}

//! What the user has clicked in the graph, and which traces that asks the worker for.

use crate::sim::Probe;

/// A selected item of the network.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Selection {
    Input(usize),
    Hidden(usize),
    Output(usize),
    /// The tripartite synapse from hidden neuron `hidden` to output neuron `output`.
    Synapse {
        output: usize,
        hidden: usize,
    },
    Astrocyte,
}

impl Selection {
    /// The values traced while this item is selected (the astrocyte's calcium is always traced).
    pub fn probes(&self) -> Vec<Probe> {
        match *self {
            Selection::Input(k) => vec![Probe::Input(k)],
            Selection::Hidden(j) => vec![Probe::Hidden(j)],
            Selection::Output(i) => vec![Probe::Output(i)],
            Selection::Synapse { output, hidden } => vec![
                Probe::Process { output, hidden },
                Probe::Hidden(hidden),
                Probe::Output(output),
                Probe::Synapse { output, hidden },
            ],
            Selection::Astrocyte => Vec::new(),
        }
    }

    /// In words, e.g. "the synapse hidden 17 → output 3".
    pub fn describe(&self) -> String {
        match *self {
            Selection::Input(k) => format!("input neuron {k}"),
            Selection::Hidden(j) => format!("hidden neuron {j}"),
            Selection::Output(i) => format!("output neuron {i}"),
            Selection::Synapse { output, hidden } => {
                format!("synapse from hidden {hidden} to output {output}")
            }
            Selection::Astrocyte => "the astrocyte".to_string(),
        }
    }
}

/// The tokens picked across every view. In this hypothesis a token is a time slot: query row
/// t of the matrices is read slot t of the traces, key column τ is write slot τ. One
/// selection is shared by every view and tab, held by the app and changed only through
/// [`crate::ui::command::AppCommand::SelectTokens`].
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct TokenSelection {
    /// Selected query rows (read slots), sorted, without repeats.
    pub queries: Vec<usize>,
    /// Selected key columns (write slots), sorted, without repeats.
    pub keys: Vec<usize>,
}

/// Which side of the matrices a token is picked on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenAxis {
    /// A query row t (read slot t).
    Query,
    /// A key column τ (write slot τ).
    Key,
}

impl TokenSelection {
    /// Nothing selected.
    pub fn is_empty(&self) -> bool {
        self.queries.is_empty() && self.keys.is_empty()
    }

    /// Only query row `t`.
    pub fn query(t: usize) -> Self {
        TokenSelection {
            queries: vec![t],
            keys: Vec::new(),
        }
    }

    /// Only key column `tau`.
    pub fn key(tau: usize) -> Self {
        TokenSelection {
            queries: Vec::new(),
            keys: vec![tau],
        }
    }

    /// The selection after a click on token `index` of `axis`: that token alone, or with
    /// `add` (Shift held) this selection plus that token (a second Shift-click removes it).
    pub fn clicked(&self, axis: TokenAxis, index: usize, add: bool) -> Self {
        if !add {
            return match axis {
                TokenAxis::Query => TokenSelection::query(index),
                TokenAxis::Key => TokenSelection::key(index),
            };
        }
        let mut next = self.clone();
        let list = match axis {
            TokenAxis::Query => &mut next.queries,
            TokenAxis::Key => &mut next.keys,
        };
        match list.binary_search(&index) {
            Ok(at) => {
                list.remove(at);
            }
            Err(at) => list.insert(at, index),
        }
        next
    }

    /// The selection moved by `step` tokens along `axis` (arrow keys), kept inside
    /// `0..tokens`. An empty side starts at the first token.
    pub fn moved(&self, axis: TokenAxis, step: isize, tokens: usize) -> Self {
        if tokens == 0 {
            return self.clone();
        }
        let last = tokens as isize - 1;
        let list = match axis {
            TokenAxis::Query => &self.queries,
            TokenAxis::Key => &self.keys,
        };
        let moved: Vec<usize> = if list.is_empty() {
            vec![0]
        } else {
            let mut v: Vec<usize> = list
                .iter()
                .map(|&i| (i as isize + step).clamp(0, last) as usize)
                .collect();
            v.dedup();
            v
        };
        let mut next = self.clone();
        match axis {
            TokenAxis::Query => next.queries = moved,
            TokenAxis::Key => next.keys = moved,
        }
        next
    }

    /// The first selected query row, the one whose φ(q̃_t) the graph shows.
    pub fn first_query(&self) -> Option<usize> {
        self.queries.first().copied()
    }

    /// Whether query row `t` is selected.
    pub fn has_query(&self, t: usize) -> bool {
        self.queries.binary_search(&t).is_ok()
    }

    /// Whether key column `tau` is selected.
    pub fn has_key(&self, tau: usize) -> bool {
        self.keys.binary_search(&tau).is_ok()
    }

    /// In words, e.g. "query 'cat' (token 4/16)": each token by its own label, counted from
    /// 1 as the status line counts, for notes and accessible names.
    pub fn describe(&self, tokens: &[String]) -> String {
        let name = |i: usize| token_name(tokens, i);
        let mut parts: Vec<String> = self
            .queries
            .iter()
            .map(|&t| format!("query {}", name(t)))
            .collect();
        parts.extend(self.keys.iter().map(|&tau| format!("key {}", name(tau))));
        parts.join(", ")
    }
}

/// Token `i` (from 0) of `tokens` in the one form every view prints a token in, the status
/// line's included: its own label, then its position counted from 1, e.g. "'t4' (token 5/12)".
pub fn token_name(tokens: &[String], i: usize) -> String {
    let label = tokens.get(i).map_or("?", String::as_str);
    format!("'{label}' (token {}/{})", i + 1, tokens.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_described_by_label_and_counted_from_one() {
        let tokens: Vec<String> = ["the", "cat", "sat"].map(String::from).into();
        let picked = TokenSelection::query(0).clicked(TokenAxis::Key, 2, true);
        assert_eq!(
            picked.describe(&tokens),
            "query 'the' (token 1/3), key 'sat' (token 3/3)"
        );
    }

    #[test]
    fn a_click_replaces_and_a_shift_click_adds_or_removes() {
        let one = TokenSelection::default().clicked(TokenAxis::Query, 3, false);
        assert_eq!(one, TokenSelection::query(3));
        let two = one.clicked(TokenAxis::Query, 1, true);
        assert_eq!(two.queries, [1, 3]);
        let with_key = two.clicked(TokenAxis::Key, 5, true);
        assert_eq!(
            (with_key.queries.len(), with_key.keys.as_slice()),
            (2, &[5][..])
        );
        assert_eq!(with_key.clicked(TokenAxis::Query, 3, true).queries, [1]);
        assert_eq!(
            with_key.clicked(TokenAxis::Key, 0, false),
            TokenSelection::key(0)
        );
    }

    #[test]
    fn arrows_move_within_the_sequence() {
        let s = TokenSelection::query(0);
        assert_eq!(s.moved(TokenAxis::Query, -1, 4).queries, [0]);
        assert_eq!(s.moved(TokenAxis::Query, 1, 4).queries, [1]);
        assert_eq!(
            TokenSelection::query(3)
                .moved(TokenAxis::Query, 1, 4)
                .queries,
            [3]
        );
        assert_eq!(
            TokenSelection::default().moved(TokenAxis::Key, 1, 4).keys,
            [0]
        );
        assert_eq!(
            TokenSelection {
                queries: vec![2, 3],
                keys: vec![]
            }
            .moved(TokenAxis::Query, 1, 4)
            .queries,
            [3]
        );
    }
}

//! Figures quoted in prose, checked against fresh measurements.
//!
//! A paragraph quotes numbers; a test names each one by the words around it (`{}` stands for
//! the number) and gives the measured value. The quoted text must be the measured value rounded
//! to the number of decimals quoted, so the text cannot drift from the measurement, and every
//! number in the paragraph must be claimed, so no figure goes unchecked.

/// A paragraph whose numbers are being checked.
pub struct Figures {
    /// The text with runs of whitespace collapsed to one space.
    text: String,
    /// Byte spans of the text already accounted for.
    covered: Vec<(usize, usize)>,
    /// Name of the paragraph, for messages.
    name: String,
}

impl Figures {
    pub fn new(name: &str, text: &str) -> Self {
        Figures {
            text: text.split_whitespace().collect::<Vec<_>>().join(" "),
            covered: Vec::new(),
            name: name.to_string(),
        }
    }

    /// Finds `template` (with one `{}`) in the text and returns the quoted number's text and
    /// the byte span of the whole match. The template must occur exactly once.
    fn find(&self, template: &str) -> (String, usize, usize) {
        let (before, after) = template
            .split_once("{}")
            .unwrap_or_else(|| panic!("template '{template}' has no {{}}"));
        let number = |c: char| c.is_ascii_digit() || c == '.';
        let mut found = Vec::new();
        for (start, c) in self.text.char_indices() {
            let fresh = self.text[..start]
                .chars()
                .next_back()
                .is_none_or(|p| !number(p));
            if !c.is_ascii_digit() || !fresh || !self.text[..start].ends_with(before) {
                continue;
            }
            let len = self.text[start..]
                .find(|c: char| !number(c))
                .unwrap_or(self.text.len() - start);
            let quoted = self.text[start..start + len].trim_end_matches('.');
            let end = start + quoted.len();
            if self.text[end..].starts_with(after) {
                found.push((quoted.to_string(), start - before.len(), end + after.len()));
            }
        }
        assert!(
            found.len() == 1,
            "{}: '{template}' should occur once in the text, found {} times:\n{}",
            self.name,
            found.len(),
            self.text
        );
        found.pop().unwrap()
    }

    /// The number quoted at `template` is `measured` rounded to the decimals quoted.
    pub fn quotes(&mut self, template: &str, measured: f64) -> &mut Self {
        let (quoted, start, end) = self.find(template);
        let decimals = quoted.split_once('.').map_or(0, |(_, f)| f.len());
        let rounded = format!("{measured:.decimals$}");
        assert_eq!(
            rounded, quoted,
            "{}: the text says '{}' but the measurement is {measured} (template '{template}')",
            self.name, quoted
        );
        self.covered.push((start, end));
        self
    }

    /// The number quoted at `template` is exactly `value` (a parameter or a size).
    pub fn states(&mut self, template: &str, value: f64) -> &mut Self {
        let (quoted, start, end) = self.find(template);
        let parsed: f64 = quoted.parse().unwrap();
        assert_eq!(
            parsed, value,
            "{}: the text says '{quoted}' at '{template}' but the setting is {value}",
            self.name
        );
        self.covered.push((start, end));
        self
    }

    /// `formula` (digits that are part of notation, not figures) occurs in the text.
    pub fn notation(&mut self, formula: &str) -> &mut Self {
        let start = self
            .text
            .find(formula)
            .unwrap_or_else(|| panic!("{}: no '{formula}' in the text", self.name));
        self.covered.push((start, start + formula.len()));
        self
    }

    /// Every digit in the text belongs to a claimed figure or notation.
    pub fn all_claimed(&self) {
        let loose: Vec<usize> = self
            .text
            .char_indices()
            .filter(|&(i, c)| {
                c.is_ascii_digit() && !self.covered.iter().any(|&(s, e)| s <= i && i < e)
            })
            .map(|(i, _)| i)
            .collect();
        assert!(
            loose.is_empty(),
            "{}: unchecked numbers in the text at {:?}:\n{}",
            self.name,
            loose
                .iter()
                .map(|&i| {
                    let from = self.text.floor_char_boundary(i.saturating_sub(20));
                    let to = self.text.ceil_char_boundary((i + 10).min(self.text.len()));
                    &self.text[from..to]
                })
                .collect::<Vec<_>>(),
            self.text
        );
    }
}

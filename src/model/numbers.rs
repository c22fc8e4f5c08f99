//! How the parameter table writes numbers in English: digits grouped in threes, powers of two
//! as 2ⁿ. A leaf of `model/`, shared by the table's ranges and its refusals.

/// `n` with its digits in groups of three: 16 777 216.
pub(crate) fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            out.push(' ');
        }
        out.push(digit);
    }
    out
}

/// A bound in English: whole numbers grouped, others as Rust prints them.
pub(crate) fn number(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        let whole = grouped(value.abs() as u64);
        if value < 0.0 {
            format!("−{whole}")
        } else {
            whole
        }
    } else {
        value.to_string()
    }
}

/// 2ⁿ for a power of two from 1024 up, so the panel stays short; other values as they are.
pub(crate) fn power_of_two(n: u64) -> String {
    if n < 1024 || !n.is_power_of_two() {
        return n.to_string();
    }
    const SUPERSCRIPT: [char; 10] = ['⁰', '¹', '²', '³', '⁴', '⁵', '⁶', '⁷', '⁸', '⁹'];
    let exponent: String = n
        .trailing_zeros()
        .to_string()
        .chars()
        .map(|digit| SUPERSCRIPT[digit as usize - '0' as usize])
        .collect();
    format!("2{exponent}")
}

//! The table, in Markdown, ready to paste into the README: one row per
//! figure with the crate's side, the baseline, their ratio, the goal and
//! whether it is met.

use std::fmt::Write as _;

/// One row of the table.
#[derive(Debug, Clone)]
pub struct Row {
    /// What is measured, and how.
    pub figure: String,
    /// The crate's side.
    pub ours: String,
    /// The baseline's side (`-` for a count without one).
    pub baseline: String,
    /// The ratio the goal is about (`-` when the goal is about a count).
    pub ratio: String,
    /// The goal.
    pub goal: String,
    /// Whether the goal is met (`None`: the figure could not be measured).
    pub met: Option<bool>,
}

impl Row {
    /// A row for a figure that could not be measured, saying why.
    pub fn failed(figure: impl Into<String>, goal: impl Into<String>, why: &str) -> Self {
        Self {
            figure: figure.into(),
            ours: format!("failed: {}", cell(why)),
            baseline: "-".into(),
            ratio: "-".into(),
            goal: goal.into(),
            met: None,
        }
    }
}

/// The table's rows, with its header, as Markdown.
pub fn markdown(rows: &[Row]) -> String {
    let mut table = String::from(
        "| figure | this crate | baseline | ratio | goal | met |\n|---|---|---|---|---|---|\n",
    );
    for row in rows {
        let met = match row.met {
            Some(true) => "met",
            Some(false) => "**not met**",
            None => "not measured",
        };
        let _ = writeln!(
            table,
            "| {} | {} | {} | {} | {} | {met} |",
            cell(&row.figure),
            cell(&row.ours),
            cell(&row.baseline),
            cell(&row.ratio),
            cell(&row.goal),
        );
    }
    table
}

/// `text` as one table cell: on one line, with `|` escaped.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

/// Microseconds, to one decimal.
pub fn micros(seconds: f64) -> String {
    format!("{:.1} µs", seconds * 1e6)
}

/// Throughput in MB/s (10^6 bytes) of `bytes` in `seconds`.
pub fn megabytes_per_second(bytes: usize, seconds: f64) -> String {
    format!("{:.0} MB/s", bytes as f64 / seconds.max(1e-12) / 1e6)
}

/// A ratio, `1.23x`.
pub fn ratio(value: f64) -> String {
    format!("{value:.2}x")
}

/// A ratio with the quartiles of the rounds' ratios: `1.23x (1.20-1.26)`.
pub fn ratio_spread(value: f64, (low, high): (f64, f64)) -> String {
    format!("{value:.2}x ({low:.2}-{high:.2})")
}

/// A duration in seconds, to one decimal.
pub fn seconds(value: f64) -> String {
    format!("{value:.1} s")
}

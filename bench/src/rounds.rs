//! Interleaved rounds: each round times the crate's side and the baseline
//! one after the other (the crate first in even rounds, the baseline first
//! in odd ones), so that both see the same machine at nearly the same
//! moment; a figure is the median over rounds. Absolute times on a shared
//! machine drift with the neighbours' load; the ratio of two times taken
//! together drifts much less.

use std::time::Duration;

use crate::BenchError;

/// The times of both sides, round by round.
#[derive(Debug, Clone, Default)]
pub struct Paired {
    /// The crate's side, one time per round.
    pub ours: Vec<Duration>,
    /// The baseline, one time per round.
    pub baseline: Vec<Duration>,
}

impl Paired {
    /// The median of the crate's times.
    pub fn ours_median(&self) -> Duration {
        median_duration(&self.ours)
    }

    /// The median of the baseline's times.
    pub fn baseline_median(&self) -> Duration {
        median_duration(&self.baseline)
    }

    /// The median of the rounds' ratios, crate time over baseline time:
    /// each round's pair shares the machine's state, so this is steadier
    /// than the ratio of the two medians.
    pub fn median_ratio(&self) -> f64 {
        median(&self.ratios())
    }

    /// The first and third quartiles of the rounds' ratios: how much the
    /// machine moved them.
    pub fn ratio_quartiles(&self) -> (f64, f64) {
        let ratios = self.ratios();
        (quantile(&ratios, 0.25), quantile(&ratios, 0.75))
    }

    /// Each round's ratio, crate time over baseline time.
    pub fn ratios(&self) -> Vec<f64> {
        self.ours
            .iter()
            .zip(&self.baseline)
            .map(|(ours, baseline)| ours.as_secs_f64() / baseline.as_secs_f64().max(1e-12))
            .collect()
    }
}

/// Runs `rounds` rounds of `ours` and `baseline`, alternating which goes
/// first, and stops at the first error.
pub fn interleave(
    rounds: usize,
    mut ours: impl FnMut() -> Result<Duration, BenchError>,
    mut baseline: impl FnMut() -> Result<Duration, BenchError>,
) -> Result<Paired, BenchError> {
    let mut paired = Paired::default();
    for round in 0..rounds {
        if round % 2 == 0 {
            paired.ours.push(ours()?);
            paired.baseline.push(baseline()?);
        } else {
            paired.baseline.push(baseline()?);
            paired.ours.push(ours()?);
        }
    }
    Ok(paired)
}

/// The median of `values` (the mean of the middle two for an even count;
/// 0 for none).
pub fn median(values: &[f64]) -> f64 {
    quantile(values, 0.5)
}

/// The `q`-quantile of `values`, interpolated between the two nearest
/// (0 for none).
pub fn quantile(values: &[f64], q: f64) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let Some(last) = sorted.len().checked_sub(1) else {
        return 0.0;
    };
    let position = q.clamp(0.0, 1.0) * last as f64;
    let (below, above) = (position.floor() as usize, position.ceil() as usize);
    let weight = position - below as f64;
    sorted[below] * (1.0 - weight) + sorted[above] * weight
}

/// The median of `durations`.
pub fn median_duration(durations: &[Duration]) -> Duration {
    let seconds: Vec<f64> = durations.iter().map(Duration::as_secs_f64).collect();
    Duration::from_secs_f64(median(&seconds))
}

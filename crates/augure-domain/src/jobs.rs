//! When a failed background job runs again.

use chrono::Duration;
use serde::{Deserialize, Serialize};

/// Exponential backoff: `base × 2^(attempt-1)`, capped, for at most `max_attempts` runs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RetryPolicy {
    pub base_seconds: i64,
    pub max_delay_seconds: i64,
    pub max_attempts: u32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self { base_seconds: 30, max_delay_seconds: 3600, max_attempts: 8 }
    }
}

impl RetryPolicy {
    /// The delay before the next try after `attempts` runs have failed, or `None` when the
    /// job has used all its attempts and is given up.
    pub fn delay_after(&self, attempts: u32) -> Option<Duration> {
        if attempts >= self.max_attempts {
            return None;
        }
        let exp = attempts.saturating_sub(1).min(30);
        let delay = self.base_seconds.saturating_mul(1_i64 << exp).min(self.max_delay_seconds);
        Some(Duration::seconds(delay))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_then_caps_then_gives_up() {
        let p = RetryPolicy::default();
        let secs: Vec<_> = (1..=8).map(|a| p.delay_after(a).map(|d| d.num_seconds())).collect();
        assert_eq!(secs, [Some(30), Some(60), Some(120), Some(240), Some(480), Some(960), Some(1920), None]);
        let capped = RetryPolicy { max_attempts: 100, ..p };
        assert_eq!(capped.delay_after(50).unwrap().num_seconds(), 3600);
    }
}

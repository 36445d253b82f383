//! bellperson's own timings of a Groth16 proof, read from its log records.
//!
//! bellperson logs `synthesis time: {:?}` and `prover time: {:?}` (its FFTs
//! and multiexps, with the parameter reads of a mapped parameter set) at
//! `info` for every batch it proves. [`install`] makes this process's `log`
//! logger one that keeps those two lines; [`take`] returns what arrived since
//! the last call. Other records are dropped.

use std::sync::Mutex;
use std::time::Duration;

/// bellperson's split of one or more proof batches.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ProverTimes {
    /// Circuit synthesis (witness and constraint evaluation), on the CPU.
    pub synthesis: Duration,
    /// FFTs and multiexps, parameter reads included.
    pub proving: Duration,
}

static SEEN: Mutex<ProverTimes> = Mutex::new(ProverTimes {
    synthesis: Duration::ZERO,
    proving: Duration::ZERO,
});

struct Capture;

impl log::Log for Capture {
    fn enabled(&self, m: &log::Metadata<'_>) -> bool {
        m.target().starts_with("bellperson")
    }

    fn log(&self, record: &log::Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let text = record.args().to_string();
        let mut seen = SEEN
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(d) = text.strip_prefix("synthesis time: ").and_then(parse_debug) {
            seen.synthesis += d;
        } else if let Some(d) = text.strip_prefix("prover time: ").and_then(parse_debug) {
            seen.proving += d;
        }
    }

    fn flush(&self) {}
}

/// Installs the capturing logger (once per process; an error if another
/// logger is installed).
pub fn install() -> anyhow::Result<()> {
    static LOGGER: Capture = Capture;
    log::set_logger(&LOGGER).map_err(|e| anyhow::anyhow!("install the log capture: {e}"))?;
    log::set_max_level(log::LevelFilter::Info);
    Ok(())
}

/// What bellperson reported since the last call.
pub fn take() -> ProverTimes {
    std::mem::take(
        &mut *SEEN
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
    )
}

/// A `Duration`'s `Debug` text (`1.5s`, `950.2ms`, `12µs`, `80ns`).
fn parse_debug(s: &str) -> Option<Duration> {
    let s = s.trim();
    let (num, scale) = if let Some(n) = s.strip_suffix("ms") {
        (n, 1e-3)
    } else if let Some(n) = s.strip_suffix("µs") {
        (n, 1e-6)
    } else if let Some(n) = s.strip_suffix("ns") {
        (n, 1e-9)
    } else {
        (s.strip_suffix('s')?, 1.0)
    };
    let v: f64 = num.parse().ok()?;
    Duration::try_from_secs_f64(v * scale).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_durations_parse_back() {
        for d in [
            Duration::from_secs(95) + Duration::from_millis(12),
            Duration::from_millis(950),
            Duration::from_micros(12),
            Duration::from_nanos(80),
        ] {
            let back = parse_debug(&format!("{d:?}")).unwrap();
            assert!(
                back.abs_diff(d) < Duration::from_nanos(2),
                "{d:?} -> {back:?}"
            );
        }
        assert_eq!(parse_debug("soon"), None);
    }
}

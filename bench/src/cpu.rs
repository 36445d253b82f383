//! CPU utilisation over a run, from `/proc/stat` and `/proc/self/stat`.
//!
//! [`CpuMeter::start`] takes a snapshot of the host's CPU counters and starts
//! a thread that takes one more every second; [`CpuMeter::finish`] takes the
//! last one and returns the [`Utilisation`]: busy time over all time across
//! every core, over the whole run and per second, and the share of it this
//! process used. The host figures count every process, so a run on a shared
//! machine shows the other load too; the process share does not.

use std::fs;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

/// The CPU counters at one moment, in clock ticks summed over every core.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CpuTimes {
    /// user + nice + system + irq + softirq + steal (guest time is already
    /// inside user and nice).
    pub busy: u64,
    /// idle + iowait.
    pub idle: u64,
    /// This process's user + system time, every thread included.
    pub process: u64,
}

impl CpuTimes {
    /// Reads the counters now.
    pub fn now() -> anyhow::Result<Self> {
        let stat = fs::read_to_string("/proc/stat").context("read /proc/stat")?;
        let (busy, idle) = parse_proc_stat(&stat)?;
        let own = fs::read_to_string("/proc/self/stat").context("read /proc/self/stat")?;
        Ok(Self {
            busy,
            idle,
            process: parse_process_ticks(&own)?,
        })
    }

    /// Busy over all time of every core between `earlier` and `self`, from 0
    /// to 1 (NaN when no tick passed).
    pub fn busy_since(&self, earlier: &CpuTimes) -> f64 {
        let busy = self.busy.saturating_sub(earlier.busy);
        let idle = self.idle.saturating_sub(earlier.idle);
        ratio(busy, busy + idle)
    }

    /// This process's CPU time over all time of every core between `earlier`
    /// and `self` (both count in the same clock ticks).
    pub fn process_since(&self, earlier: &CpuTimes) -> f64 {
        let all = (self.busy + self.idle).saturating_sub(earlier.busy + earlier.idle);
        ratio(self.process.saturating_sub(earlier.process), all)
    }
}

fn ratio(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        f64::NAN
    } else {
        // Tick counts stay far below 2^52, so the conversion is exact.
        part as f64 / whole as f64
    }
}

/// The aggregate `cpu` line of `/proc/stat` as (busy, idle) ticks.
fn parse_proc_stat(stat: &str) -> anyhow::Result<(u64, u64)> {
    let line = stat
        .lines()
        .find(|l| l.starts_with("cpu "))
        .context("no aggregate cpu line in /proc/stat")?;
    let v: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .map(str::parse)
        .collect::<Result<_, _>>()
        .with_context(|| format!("parse /proc/stat line {line:?}"))?;
    if v.len() < 8 {
        bail!("/proc/stat line {line:?} has fewer than 8 counters");
    }
    // user nice system idle iowait irq softirq steal [guest guest_nice]
    Ok((v[0] + v[1] + v[2] + v[5] + v[6] + v[7], v[3] + v[4]))
}

/// utime + stime (fields 14 and 15) of a `/proc/<pid>/stat` line.
fn parse_process_ticks(stat: &str) -> anyhow::Result<u64> {
    // The command name (field 2) is in parentheses and may hold spaces.
    let rest = stat
        .rsplit_once(')')
        .map(|(_, r)| r)
        .context("no command name in /proc/self/stat")?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // `rest` starts at field 3 (the state).
    let field = |n: usize| -> anyhow::Result<u64> {
        fields
            .get(n - 3)
            .with_context(|| format!("/proc/self/stat has no field {n}"))?
            .parse()
            .with_context(|| format!("parse field {n} of /proc/self/stat"))
    };
    Ok(field(14)? + field(15)?)
}

/// The cores the host's counters cover (the `cpuN` lines of `/proc/stat`).
pub fn cores() -> anyhow::Result<usize> {
    let stat = fs::read_to_string("/proc/stat").context("read /proc/stat")?;
    Ok(stat
        .lines()
        .filter(|l| l.starts_with("cpu") && l.as_bytes().get(3).is_some_and(u8::is_ascii_digit))
        .count())
}

/// CPU use over a run, as fractions of every core (0 to 1).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Utilisation {
    /// Host busy time over the whole run, from the first and last snapshots.
    pub overall: f64,
    /// The mean of the whole seconds' host figures (NaN if the run was
    /// shorter than a second).
    pub per_second_mean: f64,
    /// The lowest whole second's host figure (NaN as above).
    pub per_second_min: f64,
    /// Whole seconds sampled.
    pub seconds: usize,
    /// This process's CPU time over the run.
    pub process: f64,
}

/// Measures CPU use from [`CpuMeter::start`] to [`CpuMeter::finish`].
#[derive(Debug)]
pub struct CpuMeter {
    start: CpuTimes,
    stop: Arc<AtomicBool>,
    sampler: JoinHandle<anyhow::Result<Vec<f64>>>,
}

impl CpuMeter {
    /// Takes the first snapshot and starts the per-second sampler thread.
    pub fn start() -> anyhow::Result<Self> {
        let start = CpuTimes::now()?;
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let sampler = std::thread::Builder::new()
            .name("cpu-sampler".into())
            .spawn(move || sample_every_second(start, &flag))
            .context("start the CPU sampler thread")?;
        Ok(Self {
            start,
            stop,
            sampler,
        })
    }

    /// Takes the last snapshot, stops the sampler and returns the figures.
    pub fn finish(self) -> anyhow::Result<Utilisation> {
        let end = CpuTimes::now()?;
        self.stop.store(true, Ordering::Relaxed);
        let samples = self
            .sampler
            .join()
            .map_err(|_| anyhow::anyhow!("the CPU sampler thread panicked"))??;
        let (per_second_mean, per_second_min) = if samples.is_empty() {
            (f64::NAN, f64::NAN)
        } else {
            let n = samples.len() as f64;
            (
                samples.iter().sum::<f64>() / n,
                samples.iter().copied().fold(f64::INFINITY, f64::min),
            )
        };
        Ok(Utilisation {
            overall: end.busy_since(&self.start),
            per_second_mean,
            per_second_min,
            seconds: samples.len(),
            process: end.process_since(&self.start),
        })
    }
}

/// Host busy fraction of each whole second until `stop` is set; the last,
/// partial second is left out.
fn sample_every_second(start: CpuTimes, stop: &AtomicBool) -> anyhow::Result<Vec<f64>> {
    const TICK: Duration = Duration::from_millis(20);
    let mut samples = Vec::new();
    let mut last = start;
    let mut next = Instant::now() + Duration::from_secs(1);
    while !stop.load(Ordering::Relaxed) {
        std::thread::sleep(TICK);
        if Instant::now() >= next {
            let now = CpuTimes::now()?;
            samples.push(now.busy_since(&last));
            last = now;
            next += Duration::from_secs(1);
        }
    }
    Ok(samples)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_aggregate_line_splits_into_busy_and_idle() {
        let stat = "cpu  10 1 5 100 4 2 3 1 7 0\ncpu0 5 0 2 50 2 1 1 0 0 0\n";
        assert_eq!(
            parse_proc_stat(stat).unwrap(),
            (10 + 1 + 5 + 2 + 3 + 1, 104)
        );
        assert!(parse_proc_stat("cpu0 1 2 3\n").is_err());
    }

    #[test]
    fn process_ticks_skip_a_command_name_with_spaces() {
        let line = "42 (seal bench) R 1 42 42 0 -1 4194560 100 0 0 0 250 30 0 0 20 0 9 0 100";
        assert_eq!(parse_process_ticks(line).unwrap(), 280);
    }

    #[test]
    fn utilisation_is_busy_over_all_ticks() {
        let a = CpuTimes {
            busy: 100,
            idle: 100,
            process: 10,
        };
        let b = CpuTimes {
            busy: 250,
            idle: 150,
            process: 110,
        };
        assert!((b.busy_since(&a) - 0.75).abs() < 1e-12);
        assert!((b.process_since(&a) - 0.5).abs() < 1e-12);
        assert!(a.busy_since(&a).is_nan());
    }
}

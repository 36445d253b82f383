//! The suite's result: one [`Row`] per figure, Ferrite's and the raw
//! library's side by side, printed as a Markdown table and written as JSON
//! so that runs can be compared.

use std::fmt::Write as _;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// One figure through Ferrite and through the raw library, in the same run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Row {
    /// The suite group: `seal`, `post`, `c2`, `commp`, `devnet` or `evm`.
    pub group: String,
    /// What was measured, e.g. `pc1` or `WindowPoSt`.
    pub name: String,
    /// Where Ferrite's side ran.
    pub device: Device,
    /// The unit of both figures: `s` or `gas` (lower is better) or a rate such as
    /// `MB/s`, `proofs/h`, `epochs/s` (higher is better).
    pub unit: String,
    /// Samples per side (the figures are their medians).
    pub rounds: usize,
    /// Through Ferrite.
    pub ferrite: f64,
    /// Through the raw library; `None` where there is none.
    pub raw: Option<f64>,
}

impl Row {
    /// A row on the CPU.
    pub fn cpu(
        group: &str,
        name: impl Into<String>,
        unit: &str,
        rounds: usize,
        ferrite: f64,
        raw: Option<f64>,
    ) -> Self {
        Self {
            group: group.to_string(),
            name: name.into(),
            device: Device::Cpu,
            unit: unit.to_string(),
            rounds,
            ferrite,
            raw,
        }
    }

    /// Ferrite / raw, where there is a raw figure.
    pub fn ratio(&self) -> Option<f64> {
        self.raw.filter(|r| *r > 0.0).map(|r| self.ferrite / r)
    }
}

/// Where a row's proofs ran, on both sides: the GPU where the build has a
/// GPU backend and `[proofs.gpu]` found a card (the library's kernels and
/// the resident prover's both use it), the CPU otherwise. On a GPU host,
/// `FERRITE_PROOFS__GPU__MODE=off` gives the same groups' CPU rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Device {
    /// The host's cores.
    Cpu,
    /// The cards `Machine::gpus` names.
    Gpu,
}

impl std::fmt::Display for Device {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Device::Cpu => "cpu",
            Device::Gpu => "gpu",
        })
    }
}

/// Where and when a run happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Machine {
    /// The CPU model (`model name` of /proc/cpuinfo).
    pub cpu: String,
    /// Logical cores this process may use.
    pub cores: usize,
    /// Total memory in GiB (/proc/meminfo).
    pub memory_gib: f64,
    /// The cards the proofs ran on (model, GiB), empty on the CPU.
    #[serde(default)]
    pub gpus: Vec<String>,
}

impl Machine {
    /// This machine.
    pub fn this() -> Self {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu = cpuinfo
            .lines()
            .find_map(|l| l.strip_prefix("model name"))
            .and_then(|l| l.split_once(':'))
            .map_or_else(|| "unknown".to_string(), |(_, v)| v.trim().to_string());
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let kib: f64 = meminfo
            .lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0);
        Self {
            cpu,
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            memory_gib: (kib / (1 << 20) as f64 * 10.0).round() / 10.0,
            gpus: ferrite_proofs::gpu::in_use()
                .iter()
                .map(|d| format!("{} ({} GiB)", d.model, d.memory >> 30))
                .collect(),
        }
    }
}

/// A whole run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// When the run ended, UTC, RFC 3339.
    pub date: String,
    /// The commit the binary was built from.
    pub commit: String,
    /// The machine.
    pub machine: Machine,
    /// The sector size of the sealing and PoSt rows.
    pub sector_size: String,
    /// Whether `--quick` cut the rounds.
    pub quick: bool,
    /// The figures.
    pub rows: Vec<Row>,
    /// Notes on how to read some rows (caps, settings).
    pub notes: Vec<String>,
}

impl Report {
    /// The Markdown table, with a heading line and the notes under it.
    pub fn to_table(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = writeln!(
            out,
            "ferrite bench{}: {} sectors, commit {}, {}, {} ({} cores, {} GiB){}\n",
            if self.quick { " --quick" } else { "" },
            self.sector_size,
            self.commit,
            self.date,
            self.machine.cpu,
            self.machine.cores,
            self.machine.memory_gib,
            if self.machine.gpus.is_empty() {
                String::new()
            } else {
                format!(", GPU: {}", self.machine.gpus.join(", "))
            },
        );
        out.push_str(
            "| group | phase | device | unit | rounds | ferrite | raw | ferrite / raw |\n",
        );
        out.push_str("|---|---|---|---|---:|---:|---:|---:|\n");
        for r in &self.rows {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} | {} |",
                r.group,
                r.name,
                r.device,
                r.unit,
                r.rounds,
                figure(r.ferrite),
                r.raw.map_or_else(|| "–".to_string(), figure),
                r.ratio()
                    .map_or_else(|| "–".to_string(), |x| format!("{x:.3}")),
            );
        }
        if !self.notes.is_empty() {
            out.push('\n');
            for n in &self.notes {
                let _ = writeln!(out, "- {n}");
            }
        }
        out
    }
}

impl Report {
    /// The report as pretty-printed JSON.
    pub fn to_json(&self) -> anyhow::Result<String> {
        Ok(serde_json::to_string_pretty(self)?)
    }
}

/// Four significant digits, without exponents for the usual ranges.
fn figure(x: f64) -> String {
    let a = x.abs();
    if a >= 1000.0 {
        format!("{x:.0}")
    } else if a >= 100.0 {
        format!("{x:.1}")
    } else if a >= 10.0 {
        format!("{x:.2}")
    } else if a >= 1.0 {
        format!("{x:.3}")
    } else {
        format!("{x:.4}")
    }
}

/// Now, UTC, as RFC 3339 to the second.
pub fn now_rfc3339() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    rfc3339(secs)
}

/// `secs` after the Unix epoch as `YYYY-MM-DDTHH:MM:SSZ`.
fn rfc3339(secs: u64) -> String {
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Days to a civil date in the proleptic Gregorian calendar, counting
    // 400-year eras from 0000-03-01 (so that leap days end a year).
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_format_as_rfc3339() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        // A leap day, and the day after a century that is a leap year.
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_796_563_805), "2026-12-06T13:30:05Z");
    }

    #[test]
    fn the_table_shows_the_ratio_and_a_dash_without_a_raw_side() {
        let report = Report {
            date: "2026-12-06T15:30:05Z".into(),
            commit: "abc1234".into(),
            machine: Machine {
                cpu: "test cpu".into(),
                cores: 2,
                memory_gib: 8.0,
                gpus: vec!["NVIDIA H100 80GB HBM3 (79 GiB)".into()],
            },
            sector_size: "2KiB".into(),
            quick: true,
            rows: vec![
                Row::cpu("seal", "pc1", "s", 1, 0.25, Some(0.2)),
                Row::cpu("devnet", "empty epochs", "epochs/s", 1, 123.4, None),
            ],
            notes: vec!["a note".into()],
        };
        let t = report.to_table();
        assert!(
            t.contains("| seal | pc1 | cpu | s | 1 | 0.2500 | 0.2000 | 1.250 |"),
            "{t}"
        );
        assert!(
            t.contains("| devnet | empty epochs | cpu | epochs/s | 1 | 123.4 | – | – |"),
            "{t}"
        );
        assert!(t.contains("- a note"), "{t}");
        assert!(t.contains("GPU: NVIDIA H100 80GB HBM3 (79 GiB)"), "{t}");
        let back: Report = serde_json::from_str(&serde_json::to_string(&report).unwrap()).unwrap();
        assert_eq!(back, report);
    }
}

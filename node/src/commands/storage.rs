//! `ferrite storage ...`: the running node's storage paths, through its
//! JSON-RPC API (`Ferrite.Storage*`).

use std::path::Path;

use anyhow::Context;
use ferrite_chain::ChainError;
use serde_json::{Value, json};

use crate::cli::{GlobalArgs, StorageCommand};
use crate::storage_api::{ATTACH, DETACH, LIST};

pub fn run(cmd: StorageCommand, global: &GlobalArgs) -> anyhow::Result<()> {
    let client = super::chain::client(global)?;
    super::runtime()?.block_on(async move {
        match cmd {
            StorageCommand::Attach {
                path,
                seal,
                store,
                weight,
                max_size,
            } => {
                let kind = match (seal, store) {
                    (true, true) => "both",
                    (true, false) => "seal",
                    (false, true) => "store",
                    (false, false) => {
                        anyhow::bail!("say what the path is for: --seal, --store or both")
                    }
                };
                // The node resolves the path, from its own working directory.
                let path = absolute(&path)?;
                let p: Value = client
                    .request_full(ATTACH, json!([path, kind, weight, max_size.map(|s| s.0)]))
                    .await
                    .map_err(remote)?;
                println!(
                    "attached {} as storage path {} ({})",
                    p["Path"].as_str().unwrap_or("?"),
                    p["ID"],
                    p["Kind"].as_str().unwrap_or("?")
                );
            }
            StorageCommand::Detach { id } => {
                let p: Value = client
                    .request_full(DETACH, json!([id]))
                    .await
                    .map_err(remote)?;
                println!(
                    "detached storage path {} ({}); its files stay on disk",
                    p["ID"],
                    p["Path"].as_str().unwrap_or("?")
                );
            }
            StorageCommand::List => {
                let all: Vec<Value> = client.request_full(LIST, json!([])).await.map_err(remote)?;
                if all.is_empty() {
                    println!(
                        "no storage paths; attach one with `ferrite storage attach PATH --seal`"
                    );
                    return Ok(());
                }
                println!(
                    "{:>3}  {:<10} {:>6} {:>10} {:>10} {:>10} {:>10}  path",
                    "id", "kind", "weight", "capacity", "used", "reserved", "available"
                );
                for p in &all {
                    print_path(p);
                }
                if all.iter().any(|p| p["Default"].as_bool() == Some(true)) {
                    println!(
                        "(default: the node's own sector directory, attached at its first start)"
                    );
                }
            }
        }
        Ok(())
    })
}

fn print_path(p: &Value) {
    let bytes = |key: &str| p[key].as_u64().map(human).unwrap_or_else(|| "?".into());
    let mut notes = Vec::new();
    if let Some(max) = p["MaxSize"].as_u64() {
        notes.push(format!("max-size {}", human(max)));
    }
    if p["Default"].as_bool() == Some(true) {
        notes.push("default".to_string());
    }
    if let Some(e) = p["Error"].as_str() {
        notes.push(format!("error: {e}"));
    }
    println!(
        "{:>3}  {:<10} {:>6} {:>10} {:>10} {:>10} {:>10}  {}{}",
        p["ID"].to_string(),
        p["Kind"].as_str().unwrap_or("?"),
        p["Weight"].to_string(),
        bytes("Capacity"),
        bytes("Used"),
        bytes("Reserved"),
        bytes("Available"),
        p["Path"].as_str().unwrap_or("?"),
        if notes.is_empty() {
            String::new()
        } else {
            format!("  ({})", notes.join(", "))
        }
    );
}

/// The node's error message alone: it names the path and the problem.
fn remote(e: ChainError) -> anyhow::Error {
    match e {
        ChainError::Remote { message, .. } => anyhow::anyhow!(message),
        e => anyhow::Error::new(e),
    }
}

fn absolute(path: &Path) -> anyhow::Result<std::path::PathBuf> {
    if path.is_absolute() {
        return Ok(path.to_path_buf());
    }
    Ok(std::env::current_dir()
        .context("read the working directory")?
        .join(path))
}

/// A byte count, as `--max-size` takes it: a number with an optional binary
/// unit (`1024`, `2KiB`, `500GiB`, `1.5TiB`; `K`, `M`, `G`, `T`, `P` and
/// `KB`… mean the same powers of 1024, as in Lotus).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteSize(pub u64);

impl std::str::FromStr for ByteSize {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let t = s.trim();
        let split = t
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(t.len());
        let (number, unit) = t.split_at(split);
        let shift = match unit.trim().to_ascii_lowercase().as_str() {
            "" | "b" => 0,
            "k" | "kb" | "kib" => 10,
            "m" | "mb" | "mib" => 20,
            "g" | "gb" | "gib" => 30,
            "t" | "tb" | "tib" => 40,
            "p" | "pb" | "pib" => 50,
            _ => {
                return Err(format!(
                    "{s:?}: unknown unit (use B, KiB, MiB, GiB, TiB or PiB)"
                ));
            }
        };
        let bad = || format!("{s:?} is not a size such as 1024, 2KiB or 500GiB");
        let bytes = match number.split_once('.') {
            None => number
                .parse::<u64>()
                .ok()
                .and_then(|n| n.checked_mul(1u64 << shift)),
            Some((whole, frac)) => {
                // Exact to the byte: whole × unit + frac × unit / 10^digits.
                let w: u128 = if whole.is_empty() {
                    0
                } else {
                    whole.parse().map_err(|_| bad())?
                };
                let digits = u32::try_from(frac.len()).map_err(|_| bad())?;
                let f: u128 = frac.parse().map_err(|_| bad())?;
                let scale = 10u128.checked_pow(digits).ok_or_else(bad)?;
                let unit = 1u128 << shift;
                w.checked_mul(unit)
                    .zip(f.checked_mul(unit))
                    .and_then(|(w, f)| w.checked_add(f / scale))
                    .and_then(|b| u64::try_from(b).ok())
            }
        };
        bytes.map(ByteSize).ok_or_else(bad)
    }
}

/// `1536` as `1.5 KiB`.
pub(crate) fn human(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut unit = 0;
    let mut value = bytes as f64;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_binary_units() {
        for (s, want) in [
            ("1024", 1024),
            ("0", 0),
            ("2KiB", 2048),
            ("2k", 2048),
            ("500GiB", 500 << 30),
            ("1.5TiB", 3 << 39),
            ("1 MiB", 1 << 20),
            ("8MB", 8 << 20),
        ] {
            assert_eq!(s.parse::<ByteSize>(), Ok(ByteSize(want)), "{s}");
        }
        for bad in ["", "KiB", "1XB", "-1", "1.2.3GiB", "99999999PiB"] {
            assert!(bad.parse::<ByteSize>().is_err(), "{bad}");
        }
    }

    #[test]
    fn human_sizes() {
        assert_eq!(human(0), "0 B");
        assert_eq!(human(1023), "1023 B");
        assert_eq!(human(1536), "1.5 KiB");
        assert_eq!(human(32 << 30), "32.0 GiB");
    }
}

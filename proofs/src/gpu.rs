//! GPU proving: which backend this build has, which cards it sees, and the
//! `[proofs.gpu]` settings.
//!
//! The proof library picks the GPU by itself once it is built with one:
//! bellperson's multiexp and FFT (C2, PoSt, SnapDeals proofs) and neptune's
//! column and tree hashing (PC2) run on CUDA when the `cuda` cargo feature
//! is on, and fall back to the CPU where a kernel fails. This module
//! decides, once at start, whether to let them. (filecoin-proofs'
//! `cuda-supraseal` prover is not offered: it takes its parameters in
//! supraseal's own form, which the resident prover does not hold yet.)
//!
//! ```text
//!  [proofs.gpu] mode ─┬─ off ──────────────► BELLMAN_NO_GPU=1 (CPU only)
//!                     ├─ auto ─► devices() ─► GPUs if any, else CPU (logged)
//!                     └─ required ─► devices() ─► none: an error at start
//! ```
//!
//! A build without a GPU feature behaves as it always has: [`backend`] is
//! `None`, [`devices`] lists nothing, and `mode = "required"` is refused at
//! start with the reason. A GPU build needs the driver's `libcuda.so.1` to
//! start at all (the dynamic loader names it when it is missing); a host with
//! the driver and no card lists no device.

use serde::{Deserialize, Serialize};

use crate::ProofsError;

/// `[proofs.gpu]` in ferrite.toml.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GpuConfig {
    /// `auto` proves on the GPUs when the build has a GPU backend and sees a
    /// card, and on the CPU otherwise; `required` refuses to start without
    /// one; `off` keeps every proof on the CPU. Default: `auto`.
    pub mode: GpuMode,
    /// CUDA device indexes this process may use (`CUDA_VISIBLE_DEVICES`).
    /// Empty: all of them. Default: empty.
    pub devices: Vec<u32>,
    /// Build PC2's column and tree hashes on the GPU
    /// (`FIL_PROOFS_USE_GPU_COLUMN_BUILDER`, `FIL_PROOFS_USE_GPU_TREE_BUILDER`).
    /// Only with a GPU in use. Default: true.
    pub tree_builder: bool,
    /// The share of each multiexp kept on the CPU while the GPU does the
    /// rest, from 0 to 1 (`BELLMAN_CPU_UTILIZATION`). Default: 0.
    pub cpu_utilization: f64,
    /// How many GPU tasks (C2, PoSt, PC2, SnapDeals proofs) share one card:
    /// a worker offers the scheduler this many GPU slots per card it sees.
    /// Default: 1, a card per task.
    pub tasks_per_gpu: u32,
    /// Cards one proof's multiexps take (`BELLPERSON_GPUS_PER_LOCK`): 0 is
    /// every card the process sees; 1 lets `[proofs.limits] c2_proving`
    /// proofs run side by side, a card each. Default: 0.
    pub gpus_per_proof: u32,
}

impl Default for GpuConfig {
    fn default() -> Self {
        Self {
            mode: GpuMode::Auto,
            devices: Vec::new(),
            tree_builder: true,
            cpu_utilization: 0.0,
            tasks_per_gpu: 1,
            gpus_per_proof: 0,
        }
    }
}

/// Whether proofs use the GPU.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GpuMode {
    /// The GPUs when there are any, else the CPU.
    Auto,
    /// The GPUs, or no start.
    Required,
    /// The CPU only.
    Off,
}

/// A card the proof library can use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GpuDevice {
    /// Its model, as the driver names it (`NVIDIA H100 80GB HBM3`).
    pub model: String,
    /// Its memory in bytes.
    pub memory: u64,
}

/// The GPU backend this binary was built with: `cuda`, or none.
pub fn backend() -> Option<&'static str> {
    if cfg!(feature = "cuda") {
        Some("cuda")
    } else {
        None
    }
}

/// The cards the proof library sees (after `CUDA_VISIBLE_DEVICES`). Empty in
/// a build without a GPU backend.
pub fn devices() -> Vec<GpuDevice> {
    #[cfg(feature = "cuda")]
    {
        rust_gpu_tools::Device::all()
            .into_iter()
            .map(|d| GpuDevice {
                model: d.name(),
                memory: d.memory(),
            })
            .collect()
    }
    #[cfg(not(feature = "cuda"))]
    {
        Vec::new()
    }
}

/// The proof library's environment for `cfg`, before any device is looked
/// at: `set` is called for each variable.
pub(crate) fn environment(cfg: &GpuConfig) -> Result<Vec<(&'static str, String)>, ProofsError> {
    if !(0.0..=1.0).contains(&cfg.cpu_utilization) {
        return Err(ProofsError::Settings(format!(
            "[proofs.gpu] cpu_utilization {} is not between 0 and 1",
            cfg.cpu_utilization
        )));
    }
    if cfg.tasks_per_gpu == 0 {
        return Err(ProofsError::Settings(
            "[proofs.gpu] tasks_per_gpu must be at least 1".to_string(),
        ));
    }
    if cfg.mode == GpuMode::Required && backend().is_none() {
        return Err(ProofsError::Settings(
            "[proofs.gpu] mode = \"required\", but this ferrite was built without GPU support \
             (build it with the cuda feature: deploy/build-gpu)"
                .to_string(),
        ));
    }
    let mut vars = Vec::new();
    if cfg.mode == GpuMode::Off || backend().is_none() {
        vars.push(("BELLMAN_NO_GPU", "1".to_string()));
        return Ok(vars);
    }
    if !cfg.devices.is_empty() {
        let list: Vec<String> = cfg.devices.iter().map(u32::to_string).collect();
        vars.push(("CUDA_VISIBLE_DEVICES", list.join(",")));
    }
    let tree = if cfg.tree_builder { "1" } else { "0" };
    vars.push(("FIL_PROOFS_USE_GPU_COLUMN_BUILDER", tree.to_string()));
    vars.push(("FIL_PROOFS_USE_GPU_TREE_BUILDER", tree.to_string()));
    vars.push(("BELLMAN_CPU_UTILIZATION", cfg.cpu_utilization.to_string()));
    if cfg.gpus_per_proof > 0 {
        vars.push(("BELLPERSON_GPUS_PER_LOCK", cfg.gpus_per_proof.to_string()));
    }
    Ok(vars)
}

/// What proofs run on, once the environment is set: the cards in use (empty
/// for the CPU), or an error when `mode = "required"` finds none.
pub(crate) fn select(cfg: &GpuConfig) -> Result<Vec<GpuDevice>, ProofsError> {
    if cfg.mode == GpuMode::Off || backend().is_none() {
        return Ok(Vec::new());
    }
    let found = devices();
    if found.is_empty() {
        if cfg.mode == GpuMode::Required {
            return Err(ProofsError::Settings(format!(
                "[proofs.gpu] mode = \"required\", but the {} driver lists no GPU{}",
                backend().unwrap_or("GPU"),
                if cfg.devices.is_empty() {
                    String::new()
                } else {
                    format!(" among devices {:?}", cfg.devices)
                }
            )));
        }
        tracing::warn!("no GPU found: proofs run on the CPU ([proofs.gpu] mode = \"auto\")");
        return Ok(Vec::new());
    }
    for d in &found {
        tracing::info!(model = %d.model, memory = d.memory, "proving on GPU");
    }
    Ok(found)
}

static IN_USE: std::sync::OnceLock<Vec<GpuDevice>> = std::sync::OnceLock::new();

/// The cards [`crate::init`] chose for this process: empty when proofs run
/// on the CPU (or before `init`).
pub fn in_use() -> &'static [GpuDevice] {
    IN_USE.get().map(Vec::as_slice).unwrap_or(&[])
}

pub(crate) fn set_in_use(devices: Vec<GpuDevice>) {
    let _ = IN_USE.set(devices);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(cfg: &GpuConfig) -> Vec<(&'static str, String)> {
        environment(cfg).unwrap()
    }

    #[test]
    fn settings_out_of_range_are_refused() {
        let bad = GpuConfig {
            cpu_utilization: 1.5,
            ..GpuConfig::default()
        };
        assert!(
            environment(&bad)
                .unwrap_err()
                .to_string()
                .contains("cpu_utilization")
        );
        let none = GpuConfig {
            tasks_per_gpu: 0,
            ..GpuConfig::default()
        };
        assert!(
            environment(&none)
                .unwrap_err()
                .to_string()
                .contains("tasks_per_gpu")
        );
    }

    #[test]
    fn off_keeps_the_proofs_on_the_cpu() {
        let off = GpuConfig {
            mode: GpuMode::Off,
            ..GpuConfig::default()
        };
        assert_eq!(vars(&off), vec![("BELLMAN_NO_GPU", "1".to_string())]);
        assert_eq!(select(&off).unwrap(), Vec::new());
    }

    #[cfg(not(feature = "cuda"))]
    #[test]
    fn a_cpu_build_runs_as_before_and_refuses_required() {
        assert_eq!(backend(), None);
        assert_eq!(devices(), Vec::new());
        // auto: the CPU, as every build before GPU support.
        assert_eq!(
            vars(&GpuConfig::default()),
            vec![("BELLMAN_NO_GPU", "1".to_string())]
        );
        assert_eq!(select(&GpuConfig::default()).unwrap(), Vec::new());
        let required = GpuConfig {
            mode: GpuMode::Required,
            ..GpuConfig::default()
        };
        let e = environment(&required).unwrap_err().to_string();
        assert!(e.contains("built without GPU support"), "{e}");
    }

    #[cfg(feature = "cuda")]
    #[test]
    fn a_gpu_build_sets_the_library_up_for_its_cards() {
        let cfg = GpuConfig {
            devices: vec![0, 2],
            cpu_utilization: 0.25,
            gpus_per_proof: 1,
            ..GpuConfig::default()
        };
        let v = vars(&cfg);
        assert!(
            v.contains(&("CUDA_VISIBLE_DEVICES", "0,2".to_string())),
            "{v:?}"
        );
        assert!(v.contains(&("FIL_PROOFS_USE_GPU_TREE_BUILDER", "1".to_string())));
        assert!(v.contains(&("BELLMAN_CPU_UTILIZATION", "0.25".to_string())));
        assert!(v.contains(&("BELLPERSON_GPUS_PER_LOCK", "1".to_string())));
        assert!(!v.iter().any(|(k, _)| *k == "BELLMAN_NO_GPU"));
    }
}

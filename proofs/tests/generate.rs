//! Local parameter generation: deterministic, atomic, and only for test sizes.
//! Uses the Window PoSt 2 KiB circuit, which generates in seconds.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failure is a panic

use ferrite_proofs::params::generate::{ParamCircuit, circuits, file_names, generate_circuit};
use ferrite_types::{SealProof, SectorSize};

fn window_2kib() -> ParamCircuit {
    ParamCircuit::Post(SealProof::new(SectorSize::S2KiB).window_post())
}

#[test]
fn generation_is_byte_identical_across_runs_and_leaves_no_partial_files() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    // A partial file from a run that was killed mid-write.
    let names = file_names(window_2kib()).unwrap();
    std::fs::write(a.path().join(format!("{}.partial", names[0])), b"junk").unwrap();

    let ga = generate_circuit(window_2kib(), a.path(), &mut |_| {}).unwrap();
    let gb = generate_circuit(window_2kib(), b.path(), &mut |_| {}).unwrap();
    assert!(ga.created && gb.created);
    for name in &names {
        let fa = std::fs::read(a.path().join(name)).unwrap();
        let fb = std::fs::read(b.path().join(name)).unwrap();
        assert!(!fa.is_empty(), "{name} is empty");
        assert!(fa == fb, "{name} differs between runs");
    }
    assert!(
        names[0].starts_with("v28-proof-of-spacetime-fallback-"),
        "{}",
        names[0]
    );
    assert!(
        names[0].ends_with(".params") && names[1].ends_with(".vk") && names[2].ends_with(".meta")
    );
    let leftovers: Vec<_> = std::fs::read_dir(a.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".partial"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    // Present files are not regenerated.
    let again = generate_circuit(window_2kib(), a.path(), &mut |_| {}).unwrap();
    assert!(!again.created);
}

#[test]
fn production_sizes_are_refused() {
    for size in [SectorSize::S512MiB, SectorSize::S32GiB, SectorSize::S64GiB] {
        let err = circuits(size).unwrap_err();
        assert!(err.to_string().contains("ferrite params fetch"), "{err}");
    }
    assert_eq!(circuits(SectorSize::S8MiB).unwrap().len(), 4);
    let big = ParamCircuit::PoRep(SealProof::new(SectorSize::S32GiB));
    let dir = tempfile::tempdir().unwrap();
    let err = generate_circuit(big, dir.path(), &mut |_| {}).unwrap_err();
    assert!(err.to_string().contains("trusted setup"), "{err}");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

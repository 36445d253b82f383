use super::*;
use proptest::prelude::*;

fn bf(v: &[u64]) -> BitField {
    bitfield(v.iter().copied())
}

fn part(all: &[u64], faulty: &[u64], recovering: &[u64], terminated: &[u64]) -> PartitionSectors {
    let all = bf(all);
    let live = &all - &bf(terminated);
    let faulty = bf(faulty);
    PartitionSectors {
        active: &live - &faulty,
        recovering: bf(recovering),
        faulty,
        live,
        all,
    }
}

fn window(index: u64, open: ChainEpoch) -> DeadlineWindow {
    DeadlineWindow {
        current_epoch: open,
        period_start: open - 60 * index as i64,
        index,
        open,
        close: open + 60,
        challenge: open - 20,
        fault_cutoff: open - 70,
    }
}

#[test]
fn declarations_target_the_deadline_after_next_before_its_cutoff() {
    let t = declaration_target(&window(5, 1000), 48);
    assert_eq!(t.index, 7);
    // Deadline 7 opens at 1120; faults must land 70 epochs before.
    assert_eq!(t.cutoff, 1050);
    assert_eq!(declaration_target(&window(47, 1000), 48).index, 1);
}

#[test]
fn the_following_window_is_the_next_deadline_and_wraps_into_the_next_period() {
    let n = following_window(&window(5, 1000), 48);
    assert_eq!(
        (
            n.index,
            n.period_start,
            n.open,
            n.close,
            n.challenge,
            n.fault_cutoff
        ),
        (6, 700, 1060, 1120, 1040, 990)
    );
    let last = window(47, 1000);
    let n = following_window(&last, 48);
    assert_eq!(
        (n.index, n.period_start, n.open),
        (0, last.period_start + 2880, 1060)
    );
}

#[test]
fn proof_covers_live_sectors_and_recoveries_and_skips_bad_ones() {
    // 1..=6; 2 faulty, 3 faulty and recovering, 6 terminated; 4 fails the check.
    let p = part(&[1, 2, 3, 4, 5, 6], &[2, 3], &[3], &[6]);
    let proof = partition_proof(0, &p, &BTreeSet::from([4]));
    assert_eq!(proof.prove, vec![1, 3, 5]);
    assert_eq!(proof.skipped, bf(&[4]));
}

#[test]
fn declarations_fault_bad_provable_sectors_and_recover_good_faulty_ones() {
    let p = part(&[1, 2, 3, 4, 5], &[2, 3, 4], &[3], &[]);
    // 1 is bad (active -> fault); 4 is faulty and bad (nothing); 2 is
    // faulty and good (recover); 3 is already recovering (nothing); 5 good.
    let d = declarations(&p, &BTreeSet::from([1, 4]));
    assert_eq!(d.faults, bf(&[1]));
    assert_eq!(d.recoveries, bf(&[2]));
    // A recovering sector that fails again is declared faulty once more.
    let d = declarations(&p, &BTreeSet::from([3]));
    assert_eq!(d.faults, bf(&[3]));
}

#[test]
fn batches_drop_empty_partitions_and_respect_the_message_size() {
    let proofs: Vec<PartitionProof> = (0..5)
        .map(|i| PartitionProof {
            index: i,
            prove: if i == 2 { vec![] } else { vec![i * 10] },
            skipped: BitField::new(),
        })
        .collect();
    let b = batches(proofs, 3);
    let idx: Vec<Vec<u64>> = b
        .iter()
        .map(|m| m.iter().map(|p| p.index).collect())
        .collect();
    assert_eq!(idx, vec![vec![0, 1, 3], vec![4]]);
}

#[test]
fn compute_and_submit_windows() {
    let w = window(3, 1000);
    assert!(!can_compute(&w, 979, 0));
    assert!(can_compute(&w, 980, 0));
    assert!(!can_compute(&w, 983, 4));
    assert!(!can_compute(&w, 1060, 0));
    assert!(!can_submit(&w, 990));
    // A message sent at 999 lands at 1000 at the earliest: inside.
    assert!(can_submit(&w, 999));
    assert!(can_submit(&w, 1059));
    assert!(!can_submit(&w, 1060));
}

fn arb_partition() -> impl Strategy<Value = (PartitionSectors, BTreeSet<u64>)> {
    (
        prop::collection::btree_set(0u64..64, 0..20),
        prop::collection::btree_set(0u64..64, 0..20),
        prop::collection::btree_set(0u64..64, 0..20),
        prop::collection::btree_set(0u64..64, 0..20),
        prop::collection::btree_set(0u64..64, 0..20),
    )
        .prop_map(|(all, f, r, t, bad)| {
            let all_v: Vec<u64> = all.iter().copied().collect();
            // faults, recoveries and terminations are subsets, as on chain.
            let f: Vec<u64> = f.intersection(&all).copied().collect();
            let r: Vec<u64> = r.iter().filter(|n| f.contains(n)).copied().collect();
            let t: Vec<u64> = t.intersection(&all).copied().collect();
            (part(&all_v, &f, &r, &t), bad)
        })
}

proptest! {
    #[test]
    fn proofs_and_declarations_are_consistent((p, bad) in arb_partition()) {
        let proof = partition_proof(0, &p, &bad);
        let provable: BTreeSet<u64> = provable(&p).iter().collect();
        let proven: BTreeSet<u64> = proof.prove.iter().copied().collect();
        let skipped: BTreeSet<u64> = proof.skipped.iter().collect();
        // Every provable sector is either proven or skipped, never both,
        // and nothing else is.
        prop_assert!(proven.is_disjoint(&skipped));
        prop_assert_eq!(proven.union(&skipped).copied().collect::<BTreeSet<_>>(), provable.clone());
        prop_assert!(proven.iter().all(|n| !bad.contains(n)));
        let d = declarations(&p, &bad);
        let faults: BTreeSet<u64> = d.faults.iter().collect();
        let recoveries: BTreeSet<u64> = d.recoveries.iter().collect();
        prop_assert!(faults.is_subset(&provable));
        prop_assert!(faults.iter().all(|n| bad.contains(n)));
        prop_assert!(recoveries.is_disjoint(&provable));
        prop_assert!(recoveries.iter().all(|n| p.faulty.get(*n) && p.live.get(*n) && !bad.contains(n)));
    }
}

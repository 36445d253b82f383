//! Our miner actor's state layer (actors/miner/src/state, compiled natively
//! here) against builtin-actors v18's own (ChainSafe's
//! `fil_actor_miner_state` 27.2, `v18`): the same operations on both, and
//! after every step the CBOR of our state must equal v18's, byte for byte.
//! The scenarios precommit, assign sectors to deadlines, prove, miss PoSts,
//! declare faults and recoveries, expire, vest, extend, terminate early and
//! compact, over several proving periods; the money functions (deposits,
//! pledge, fees) and ~40 wire types are compared too.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failure is a panic
#![allow(dead_code)] // the state layer has more than these tests use

#[allow(unused_imports)] // re-exports meant for the actor
#[path = "../../actors/miner/src/state/mod.rs"]
mod state;

use cid::Cid;
use fvm_ipld_bitfield::BitField;
use fvm_ipld_blockstore::MemoryBlockstore;
use fvm_ipld_encoding::{CborStore, from_slice, to_vec};
use fvm_shared::bigint::BigInt;
use fvm_shared::econ::TokenAmount;
use fvm_shared::sector::SectorSize;
use fvm_shared::sector::{RegisteredPoStProof, RegisteredSealProof};
use multihash_codetable::Code;
const SS: SectorSize = SectorSize::_2KiB;
use serde::Serialize;
use serde::de::DeserializeOwned;

use ferrite_actor_types::miner as ours_t;
use ferrite_actor_types::policy::Policy as OurPolicy;
use fil_actor_miner_state::v18 as theirs;
use fil_actors_shared::v18::runtime::Policy as TheirPolicy;

use crate::state as ours;

fn conv<A: Serialize, B: DeserializeOwned>(a: &A) -> B {
    from_slice(&to_vec(a).unwrap()).unwrap()
}
fn bytes<A: Serialize>(a: &A) -> Vec<u8> {
    to_vec(a).unwrap()
}

fn sector(n: u64, activation: i64, expiration: i64, verified: bool) -> ours_t::SectorOnChainInfo {
    let commr =
        Cid::try_from("bagboea4b5abcatlxechwbp7kjpjguna6r6q7ejrhe6mdp3lf34pmswn27pkkiekz").unwrap();
    ours_t::SectorOnChainInfo {
        sector_number: n,
        seal_proof: RegisteredSealProof::StackedDRG2KiBV1P1,
        sealed_cid: commr,
        deprecated_deal_ids: vec![],
        activation,
        expiration,
        deal_weight: BigInt::from(0),
        verified_deal_weight: if verified {
            BigInt::from(2048i64 * (expiration - activation))
        } else {
            BigInt::from(0)
        },
        initial_pledge: TokenAmount::from_atto(1000 + n),
        expected_day_reward: Some(TokenAmount::from_atto(0)),
        expected_storage_pledge: Some(TokenAmount::from_atto(0)),
        power_base_epoch: activation,
        replaced_day_reward: Some(TokenAmount::from_atto(0)),
        sector_key_cid: None,
        flags: ours_t::SectorOnChainInfoFlags::SIMPLE_QA_POWER,
        daily_fee: TokenAmount::from_atto(7 * n),
    }
}

#[test]
fn scenario_long_matches_v18() {
    run(|n| 1100 + 180 * 2880 + (n as i64 % 3) * 5000, 70, 75, 2);
}

#[test]
fn scenario_short_matches_v18() {
    run(|n| 1100 + 3000 + n as i64 * 700, 20, 26, 9);
}

fn run(exp: impl Fn(u64) -> i64, fault_step: usize, recover_step: usize, term: u64) {
    let sa = MemoryBlockstore::new();
    let sb = MemoryBlockstore::new();
    let op = OurPolicy::devnet();
    let tp = TheirPolicy {
        pre_commit_challenge_delay: 10,
        ..TheirPolicy::default()
    };

    let info = ours_t::MinerInfo::new(
        100,
        101,
        vec![],
        vec![1, 2],
        vec![],
        RegisteredPoStProof::StackedDRGWindow2KiBV1P1,
    )
    .unwrap();
    let info_t: theirs::MinerInfo = conv(&info);
    assert_eq!(bytes(&info), bytes(&info_t));
    let ca = sa.put_cbor(&info, Code::Blake2b256).unwrap();
    let cb = sb.put_cbor(&info_t, Code::Blake2b256).unwrap();
    assert_eq!(ca, cb);

    let period_start = 1000;
    let mut a = ours::State::new(&op, &sa, ca, period_start, 0).unwrap();
    let mut b = theirs::State::new(&tp, &sb, cb, period_start, 0).unwrap();
    let check = |a: &ours::State, b: &theirs::State, what: &str| {
        assert_eq!(bytes(a), bytes(b), "state differs after {what}");
    };
    check(&a, &b, "new");

    // allocate and precommit
    let nums = BitField::try_from_bits(0..12u64).unwrap();
    a.allocate_sector_numbers(&sa, &nums, ours::CollisionPolicy::DenyCollisions)
        .unwrap();
    b.allocate_sector_numbers(&sb, &nums, theirs::CollisionPolicy::DenyCollisions)
        .unwrap();
    assert!(
        a.allocate_sector_numbers(&sa, &nums, ours::CollisionPolicy::DenyCollisions)
            .is_err()
    );
    check(&a, &b, "allocate");

    let commr =
        Cid::try_from("bagboea4b5abcatlxechwbp7kjpjguna6r6q7ejrhe6mdp3lf34pmswn27pkkiekz").unwrap();
    let pcs: Vec<ours_t::SectorPreCommitOnChainInfo> = (0..12u64)
        .map(|n| ours_t::SectorPreCommitOnChainInfo {
            info: ours_t::SectorPreCommitInfo {
                seal_proof: RegisteredSealProof::StackedDRG2KiBV1P1,
                sector_number: n,
                sealed_cid: commr,
                seal_rand_epoch: 900,
                deal_ids: vec![],
                expiration: 600_000,
                unsealed_cid: ours_t::CompactCommD::empty(),
            },
            pre_commit_deposit: TokenAmount::from_atto(50),
            pre_commit_epoch: 1001,
        })
        .collect();
    let pcs_t: Vec<theirs::SectorPreCommitOnChainInfo> = conv(&pcs);
    a.put_precommitted_sectors(&sa, pcs.clone()).unwrap();
    b.put_precommitted_sectors(&sb, pcs_t).unwrap();
    a.add_pre_commit_deposit(&TokenAmount::from_atto(600))
        .unwrap();
    b.add_pre_commit_deposit(&TokenAmount::from_atto(600))
        .unwrap();
    let cleanups: Vec<(i64, u64)> = (0..12u64)
        .map(|n| (1001 + 30 * 2880 + 2880 + 240 + n as i64, n))
        .collect();
    a.add_pre_commit_clean_ups(&op, &sa, cleanups.clone())
        .unwrap();
    b.add_pre_commit_clean_ups(&tp, &sb, cleanups).unwrap();
    check(&a, &b, "precommit");
    assert_eq!(
        a.get_precommitted_sector(&sa, 3)
            .unwrap()
            .unwrap()
            .info
            .sector_number,
        3
    );

    // activate 10 sectors
    let epoch = 1100;
    a.delete_precommitted_sectors(&sa, &(0..10).collect::<Vec<_>>())
        .unwrap();
    b.delete_precommitted_sectors(&sb, &(0..10).collect::<Vec<_>>())
        .unwrap();
    let secs: Vec<ours_t::SectorOnChainInfo> = (0..10u64)
        .map(|n| sector(n, epoch, exp(n), n % 4 == 0))
        .collect();
    let secs_t: Vec<theirs::SectorOnChainInfo> = conv(&secs);
    a.put_sectors(&sa, secs.clone()).unwrap();
    b.put_sectors(&sb, secs_t.clone()).unwrap();
    a.assign_sectors_to_deadlines(&op, &sa, epoch, secs.clone(), 2, SS)
        .unwrap();
    b.assign_sectors_to_deadlines(&tp, &sb, epoch, secs_t, 2, SS)
        .unwrap();
    let pledge: TokenAmount = secs.iter().map(|s| &s.initial_pledge).sum();
    a.add_initial_pledge(&pledge).unwrap();
    b.add_initial_pledge(&pledge).unwrap();
    check(&a, &b, "assign");

    // vesting
    a.add_locked_funds(
        &sa,
        epoch,
        &TokenAmount::from_atto(1_000_000_007),
        &ferrite_actor_types::policy::REWARD_VESTING_SPEC,
    )
    .unwrap();
    b.add_locked_funds(
        &sb,
        epoch,
        &TokenAmount::from_atto(1_000_000_007),
        &theirs::REWARD_VESTING_SPEC,
    )
    .unwrap();
    check(&a, &b, "vesting");

    // Run cron over two proving periods: prove odd deadlines, skip a sector, declare faults on some.
    let mut cur = epoch;
    let mut proven_count = 0;
    for step in 0..120 {
        let di = a.deadline_info(&op, cur);
        let dlt = b.deadline_info(&tp, cur);
        assert_eq!(di.index, dlt.index);
        assert_eq!(di.open, dlt.open);
        // submit post for the open deadline if it has partitions
        let mut dls_a = a.load_deadlines(&sa).unwrap();
        let mut dls_b = b.load_deadlines(&sb).unwrap();
        let mut dl_a = dls_a.load_deadline(&sa, di.index).unwrap();
        let mut dl_b = dls_b.load_deadline(&sb, di.index).unwrap();
        let nparts = dl_a.partitions_amt(&sa).unwrap().count();
        if nparts > 0 && !(step > 48 && di.index.is_multiple_of(3)) {
            let sectors_a = ours::Sectors::load(&sa, &a.sectors).unwrap();
            let sectors_b = theirs::Sectors::load(&sb, &b.sectors).unwrap();
            let quant_a = a.quant_spec_for_deadline(&op, di.index);
            let quant_b = b.quant_spec_for_deadline(&tp, di.index);
            let fe = di.last() + op.fault_max_age;
            let mut posts: Vec<ours_t::PoStPartition> = (0..nparts)
                .map(|i| ours_t::PoStPartition {
                    index: i,
                    skipped: BitField::new(),
                })
                .collect();
            if step == 60 {
                // skip the first sector of partition 0
                let p = dl_a.load_partition(&sa, 0).unwrap();
                if let Some(first) = p.sectors.first() {
                    posts[0].skipped.set(first);
                }
            }
            let mut posts_t: Vec<theirs::PoStPartition> = conv(&posts);
            let ra = dl_a
                .record_proven_sectors(&sa, &sectors_a, SS, quant_a, fe, &mut posts)
                .unwrap();
            let rb = dl_b
                .record_proven_sectors(&sb, &sectors_b, SS, quant_b, fe, &mut posts_t)
                .unwrap();
            assert_eq!(
                bytes(&ra.power_delta),
                bytes(&rb.power_delta),
                "power delta at step {step}"
            );
            proven_count += 1;
            dls_a.update_deadline(&op, &sa, di.index, &dl_a).unwrap();
            dls_b.update_deadline(&tp, &sb, di.index, &dl_b).unwrap();
            a.save_deadlines(&sa, dls_a).unwrap();
            b.save_deadlines(&sb, dls_b).unwrap();
        }
        check(&a, &b, &format!("post at step {step}"));
        // declare a fault + recovery on a later deadline
        if step == fault_step || step == recover_step {
            let target = a.find_sector(&sa, 9).map(|x| x.0).unwrap_or(0);
            let mut dls_a = a.load_deadlines(&sa).unwrap();
            let mut dls_b = b.load_deadlines(&sb).unwrap();
            let mut dl_a = dls_a.load_deadline(&sa, target).unwrap();
            let mut dl_b = dls_b.load_deadline(&sb, target).unwrap();
            if dl_a.partitions_amt(&sa).unwrap().count() > 0 {
                let p = dl_a.load_partition(&sa, 0).unwrap();
                let sectors_a = ours::Sectors::load(&sa, &a.sectors).unwrap();
                let sectors_b = theirs::Sectors::load(&sb, &b.sectors).unwrap();
                let quant_a = a.quant_spec_for_deadline(&op, target);
                let quant_b = b.quant_spec_for_deadline(&tp, target);
                let mut pm_a = ours::PartitionSectorMap::default();
                pm_a.add(0, p.sectors.clone()).unwrap();
                let mut pm_b = theirs::PartitionSectorMap::default();
                pm_b.add(0, p.sectors.clone()).unwrap();
                let mutable = ours::deadline_is_mutable(&op, di.period_start, target, cur);
                eprintln!(
                    "step {step}: fault/recover target {target} mutable {mutable} faulty {:?}",
                    dl_a.faulty_power
                );
                if step == fault_step {
                    let tdi = ours::new_deadline_info(&op, di.period_start, target, cur)
                        .next_not_elapsed();
                    let fe = tdi.last() + op.fault_max_age;
                    let pa = dl_a
                        .record_faults(&sa, &sectors_a, SS, quant_a, fe, &mut pm_a)
                        .unwrap();
                    let pb = dl_b
                        .record_faults(&sb, &sectors_b, SS, quant_b, fe, &mut pm_b)
                        .unwrap();
                    assert_eq!(bytes(&pa), bytes(&pb));
                } else {
                    dl_a.declare_faults_recovered(&sa, &sectors_a, SS, &mut pm_a)
                        .unwrap();
                    dl_b.declare_faults_recovered(&sb, &sectors_b, SS, &mut pm_b)
                        .unwrap();
                }
                dls_a.update_deadline(&op, &sa, target, &dl_a).unwrap();
                dls_b.update_deadline(&tp, &sb, target, &dl_b).unwrap();
                a.save_deadlines(&sa, dls_a).unwrap();
                b.save_deadlines(&sb, dls_b).unwrap();
            }
            check(&a, &b, &format!("faults at step {step}"));
        }
        // end of deadline
        cur = di.last();
        let ra = a.advance_deadline(&op, &sa, cur).unwrap();
        let rb = b.advance_deadline(&tp, &sb, cur).unwrap();
        assert_eq!(
            bytes(&ra.power_delta),
            bytes(&rb.power_delta),
            "advance power at {step}"
        );
        assert_eq!(ra.pledge_delta, rb.pledge_delta);
        assert_eq!(
            bytes(&ra.detected_faulty_power),
            bytes(&rb.detected_faulty_power)
        );
        if !ra.detected_faulty_power.is_zero()
            || !ra.pledge_delta.is_zero()
            || !ra.power_delta.is_zero()
        {
            eprintln!(
                "step {step} dl {}: detected {:?} pledge {} power {:?}",
                di.index, ra.detected_faulty_power, ra.pledge_delta, ra.power_delta
            );
        }
        let ua = a.unlock_vested_funds(&sa, cur).unwrap();
        let ub = b.unlock_vested_funds(&sb, cur).unwrap();
        assert_eq!(ua, ub);
        let xa = a.cleanup_expired_pre_commits(&op, &sa, cur).unwrap();
        let xb = b.cleanup_expired_pre_commits(&tp, &sb, cur).unwrap();
        assert_eq!(xa, xb);
        check(&a, &b, &format!("advance at step {step}"));
        cur += 1;
    }
    assert!(proven_count > 5);

    // terminate some sectors and pop early terminations
    let (dl_idx, p_idx) = a.find_sector(&sa, term).unwrap();
    assert_eq!((dl_idx, p_idx), b.find_sector(&sb, term).unwrap());
    let mut dls_a = a.load_deadlines(&sa).unwrap();
    let mut dls_b = b.load_deadlines(&sb).unwrap();
    let mut dl_a = dls_a.load_deadline(&sa, dl_idx).unwrap();
    let mut dl_b = dls_b.load_deadline(&sb, dl_idx).unwrap();
    let sectors_a = ours::Sectors::load(&sa, &a.sectors).unwrap();
    let sectors_b = theirs::Sectors::load(&sb, &b.sectors).unwrap();
    let mut pm_a = ours::PartitionSectorMap::default();
    pm_a.add(p_idx, BitField::try_from_bits([term]).unwrap())
        .unwrap();
    let mut pm_b = theirs::PartitionSectorMap::default();
    pm_b.add(p_idx, BitField::try_from_bits([term]).unwrap())
        .unwrap();
    let qa = a.quant_spec_for_deadline(&op, dl_idx);
    let qb = b.quant_spec_for_deadline(&tp, dl_idx);
    let la = dl_a
        .terminate_sectors(&op, &sa, &sectors_a, cur, &mut pm_a, SS, qa)
        .unwrap();
    let lb = dl_b
        .terminate_sectors(&tp, &sb, &sectors_b, cur, &mut pm_b, SS, qb)
        .unwrap();
    assert_eq!(bytes(&la), bytes(&lb));
    dls_a.update_deadline(&op, &sa, dl_idx, &dl_a).unwrap();
    dls_b.update_deadline(&tp, &sb, dl_idx, &dl_b).unwrap();
    a.save_deadlines(&sa, dls_a).unwrap();
    b.save_deadlines(&sb, dls_b).unwrap();
    a.early_terminations.set(dl_idx);
    b.early_terminations.set(dl_idx);
    check(&a, &b, "terminate");
    let (ta, ma) = a.pop_early_terminations(&op, &sa, 10, 100).unwrap();
    let (tb, mb) = b.pop_early_terminations(&tp, &sb, 10, 100).unwrap();
    assert_eq!(ma, mb);
    assert_eq!(ta.sectors_processed, tb.sectors_processed);
    eprintln!("terminated {} sectors, more {ma}", ta.sectors_processed);
    check(&a, &b, "pop early terminations");

    // extension: replace a live sector with a longer-lived copy
    let ext = (0..10u64).rev().find(|n| {
        let (d, p) = a.find_sector(&sa, *n).unwrap();
        a.check_sector_active(&sa, d, p, *n, true).unwrap_or(false)
    });
    if let Some(n) = ext {
        let (d, p) = a.find_sector(&sa, n).unwrap();
        let mut dls_a = a.load_deadlines(&sa).unwrap();
        let mut dls_b = b.load_deadlines(&sb).unwrap();
        let mut dl_a = dls_a.load_deadline(&sa, d).unwrap();
        let mut dl_b = dls_b.load_deadline(&sb, d).unwrap();
        let mut part_a = dl_a.load_partition(&sa, p).unwrap();
        let mut part_b = dl_b.load_partition(&sb, p).unwrap();
        let old = a.get_sector(&sa, n).unwrap().unwrap();
        let mut new = old.clone();
        new.expiration += 100_000;
        let old_t: theirs::SectorOnChainInfo = conv(&old);
        let new_t: theirs::SectorOnChainInfo = conv(&new);
        let qa = a.quant_spec_for_deadline(&op, d);
        let qb = b.quant_spec_for_deadline(&tp, d);
        let ra = part_a
            .replace_sectors(
                &sa,
                std::slice::from_ref(&old),
                std::slice::from_ref(&new),
                SS,
                qa,
            )
            .unwrap();
        let rb = part_b
            .replace_sectors(&sb, &[old_t], std::slice::from_ref(&new_t), SS, qb)
            .unwrap();
        assert_eq!(bytes(&ra.0), bytes(&rb.0));
        assert_eq!(ra.1, rb.1);
        let mut parts_a = dl_a.partitions_amt(&sa).unwrap();
        parts_a.set(p, part_a).unwrap();
        dl_a.partitions = parts_a.flush().unwrap();
        let mut parts_b = dl_b.partitions_amt(&sb).unwrap();
        parts_b.set(p, part_b).unwrap();
        dl_b.partitions = parts_b.flush().unwrap();
        dl_a.add_expiration_partitions(&sa, new.expiration, &[p], qa)
            .unwrap();
        dl_b.add_expiration_partitions(&sb, new.expiration, &[p], qb)
            .unwrap();
        dls_a.update_deadline(&op, &sa, d, &dl_a).unwrap();
        dls_b.update_deadline(&tp, &sb, d, &dl_b).unwrap();
        a.save_deadlines(&sa, dls_a).unwrap();
        b.save_deadlines(&sb, dls_b).unwrap();
        a.put_sectors(&sa, vec![new]).unwrap();
        b.put_sectors(&sb, vec![new_t]).unwrap();
        check(&a, &b, "extend");
        // reschedule (as consensus-fault/replica code would)
        let mut dsm_a = ours::DeadlineSectorMap::new();
        dsm_a
            .add(&op, d, p, BitField::try_from_bits([n]).unwrap())
            .unwrap();
        let mut dsm_b = theirs::DeadlineSectorMap::new();
        dsm_b
            .add(&tp, d, p, BitField::try_from_bits([n]).unwrap())
            .unwrap();
        let xa = a
            .reschedule_sector_expirations(&op, &sa, cur, SS, dsm_a)
            .unwrap();
        let xb = b
            .reschedule_sector_expirations(&tp, &sb, cur, SS, dsm_b)
            .unwrap();
        assert_eq!(xa.len(), xb.len());
        check(&a, &b, "reschedule");
        eprintln!("extended and rescheduled sector {n}");
    }

    // compact partition 0 of every deadline that has one
    let mut compacted_live = 0;
    for d in 0..48u64 {
        let mut dls_a = a.load_deadlines(&sa).unwrap();
        let mut dls_b = b.load_deadlines(&sb).unwrap();
        let mut dl_a = dls_a.load_deadline(&sa, d).unwrap();
        let mut dl_b = dls_b.load_deadline(&sb, d).unwrap();
        if dl_a.partitions_amt(&sa).unwrap().count() == 0 {
            continue;
        }
        let mut sectors_a = ours::Sectors::load(&sa, &a.sectors).unwrap();
        let mut sectors_b = theirs::Sectors::load(&sb, &b.sectors).unwrap();
        let qa = a.quant_spec_for_deadline(&op, d);
        let qb = b.quant_spec_for_deadline(&tp, d);
        let rm = BitField::try_from_bits([0u64]).unwrap();
        let ra = dl_a.compact_partitions(&sa, &mut sectors_a, SS, 2, &rm, qa);
        let rb = dl_b.compact_partitions(&sb, &mut sectors_b, SS, 2, &rm, qb);
        assert_eq!(
            ra.is_ok(),
            rb.is_ok(),
            "compact-live dl {d}: {:?}",
            ra.as_ref().err()
        );
        if let (Ok(x), Ok(y)) = (ra, rb) {
            assert_eq!(x, y);
            compacted_live += 1;
            dls_a.update_deadline(&op, &sa, d, &dl_a).unwrap();
            dls_b.update_deadline(&tp, &sb, d, &dl_b).unwrap();
            a.save_deadlines(&sa, dls_a).unwrap();
            b.save_deadlines(&sb, dls_b).unwrap();
        }
        check(&a, &b, &format!("compact-live {d}"));
    }
    eprintln!("compacted_live {compacted_live} deadlines");

    // terminate all live sectors of one deadline, pop with tight limits
    let live: Vec<u64> = (0..10u64)
        .filter(|n| {
            assert_eq!(
                a.find_sector(&sa, *n).is_ok(),
                b.find_sector(&sb, *n).is_ok()
            );
            let Ok((d, p)) = a.find_sector(&sa, *n) else {
                return false;
            };
            let part = a
                .load_deadlines(&sa)
                .unwrap()
                .load_deadline(&sa, d)
                .unwrap()
                .load_partition(&sa, p)
                .unwrap();
            part.live_sectors().get(*n)
        })
        .collect();
    eprintln!("live before mass termination: {live:?}");
    let mut by_dl: std::collections::BTreeMap<u64, Vec<(u64, u64)>> = Default::default();
    for n in &live {
        let (d, p) = a.find_sector(&sa, *n).unwrap();
        by_dl.entry(d).or_default().push((p, *n));
    }
    for (d, list) in by_dl {
        let mut dls_a = a.load_deadlines(&sa).unwrap();
        let mut dls_b = b.load_deadlines(&sb).unwrap();
        let mut dl_a = dls_a.load_deadline(&sa, d).unwrap();
        let mut dl_b = dls_b.load_deadline(&sb, d).unwrap();
        let mut pm_a = ours::PartitionSectorMap::default();
        let mut pm_b = theirs::PartitionSectorMap::default();
        for (p, n) in list {
            pm_a.add(p, BitField::try_from_bits([n]).unwrap()).unwrap();
            pm_b.add(p, BitField::try_from_bits([n]).unwrap()).unwrap();
        }
        let sectors_a = ours::Sectors::load(&sa, &a.sectors).unwrap();
        let sectors_b = theirs::Sectors::load(&sb, &b.sectors).unwrap();
        let qa = a.quant_spec_for_deadline(&op, d);
        let qb = b.quant_spec_for_deadline(&tp, d);
        let la = dl_a
            .terminate_sectors(&op, &sa, &sectors_a, cur + 7, &mut pm_a, SS, qa)
            .unwrap();
        let lb = dl_b
            .terminate_sectors(&tp, &sb, &sectors_b, cur + 7, &mut pm_b, SS, qb)
            .unwrap();
        assert_eq!(bytes(&la), bytes(&lb));
        dls_a.update_deadline(&op, &sa, d, &dl_a).unwrap();
        dls_b.update_deadline(&tp, &sb, d, &dl_b).unwrap();
        a.save_deadlines(&sa, dls_a).unwrap();
        b.save_deadlines(&sb, dls_b).unwrap();
        a.early_terminations.set(d);
        b.early_terminations.set(d);
    }
    check(&a, &b, "mass terminate");
    for round in 0..20 {
        let (ta, ma) = a.pop_early_terminations(&op, &sa, 1, 1).unwrap();
        let (tb, mb) = b.pop_early_terminations(&tp, &sb, 1, 1).unwrap();
        assert_eq!(
            (ma, ta.sectors_processed, ta.partitions_processed),
            (mb, tb.sectors_processed, tb.partitions_processed)
        );
        let ea: Vec<(i64, Vec<u64>)> = ta.iter().map(|(e, bf)| (e, bf.iter().collect())).collect();
        let eb: Vec<(i64, Vec<u64>)> = tb.iter().map(|(e, bf)| (e, bf.iter().collect())).collect();
        assert_eq!(ea, eb);
        check(&a, &b, &format!("pop round {round}"));
        if !ma {
            eprintln!("popped all in {} rounds", round + 1);
            break;
        }
    }

    // compact partition 0 of every deadline that has one
    let mut compacted = 0;
    for d in 0..48u64 {
        let mut dls_a = a.load_deadlines(&sa).unwrap();
        let mut dls_b = b.load_deadlines(&sb).unwrap();
        let mut dl_a = dls_a.load_deadline(&sa, d).unwrap();
        let mut dl_b = dls_b.load_deadline(&sb, d).unwrap();
        if dl_a.partitions_amt(&sa).unwrap().count() == 0 {
            continue;
        }
        let mut sectors_a = ours::Sectors::load(&sa, &a.sectors).unwrap();
        let mut sectors_b = theirs::Sectors::load(&sb, &b.sectors).unwrap();
        let qa = a.quant_spec_for_deadline(&op, d);
        let qb = b.quant_spec_for_deadline(&tp, d);
        let rm = BitField::try_from_bits([0u64]).unwrap();
        let ra = dl_a.compact_partitions(&sa, &mut sectors_a, SS, 2, &rm, qa);
        let rb = dl_b.compact_partitions(&sb, &mut sectors_b, SS, 2, &rm, qb);
        assert_eq!(
            ra.is_ok(),
            rb.is_ok(),
            "compact dl {d}: {:?}",
            ra.as_ref().err()
        );
        if let (Ok(x), Ok(y)) = (ra, rb) {
            assert_eq!(x, y);
            compacted += 1;
            dls_a.update_deadline(&op, &sa, d, &dl_a).unwrap();
            dls_b.update_deadline(&tp, &sb, d, &dl_b).unwrap();
            a.save_deadlines(&sa, dls_a).unwrap();
            b.save_deadlines(&sb, dls_b).unwrap();
        }
        check(&a, &b, &format!("compact {d}"));
    }
    eprintln!("compacted {compacted} deadlines");

    // debt
    a.apply_penalty(&TokenAmount::from_atto(12345)).unwrap();
    b.apply_penalty(&TokenAmount::from_atto(12345)).unwrap();
    let bal = TokenAmount::from_atto(10_000_000_000u64);
    let ra = a
        .repay_partial_debt_in_priority_order(&sa, cur, &bal)
        .unwrap();
    let rb = b
        .repay_partial_debt_in_priority_order(&sb, cur, &bal)
        .unwrap();
    assert_eq!(ra, rb);
    check(&a, &b, "repay");
}

#[test]
fn assignment_matches_v18() {
    let sa = MemoryBlockstore::new();
    let op = OurPolicy::devnet();
    let tp = TheirPolicy::default();
    let mut dls_a: Vec<Option<ours::Deadline>> = Vec::new();
    for i in 0..48u64 {
        if i % 7 == 3 {
            dls_a.push(None);
            continue;
        }
        let mut d = ours::Deadline::new(&sa).unwrap();
        d.live_sectors = (i * 13) % 5;
        d.total_sectors = d.live_sectors + (i % 3);
        dls_a.push(Some(d));
    }
    let dls_b: Vec<Option<theirs::Deadline>> = dls_a.iter().map(|d| d.as_ref().map(conv)).collect();
    let secs: Vec<ours_t::SectorOnChainInfo> =
        (0..300u64).map(|n| sector(n, 1, 600_000, false)).collect();
    let secs_t: Vec<theirs::SectorOnChainInfo> = conv(&secs);
    for psize in [2u64, 3, 7] {
        let ra = ours::assign_deadlines(&op, 3000, psize, &dls_a, secs.clone()).unwrap();
        let rb = theirs::assign_deadlines(&tp, 3000, psize, &dls_b, secs_t.clone()).unwrap();
        let na: Vec<Vec<u64>> = ra
            .iter()
            .map(|v| v.iter().map(|s| s.sector_number).collect())
            .collect();
        let nb: Vec<Vec<u64>> = rb
            .iter()
            .map(|v| v.iter().map(|s| s.sector_number).collect())
            .collect();
        assert_eq!(na, nb);
    }
}

#[test]
fn monies_match_v18() {
    use ferrite_actor_types::smooth::FilterEstimate as OFE;
    use fil_actors_shared::v18::reward::FilterEstimate as TFE;
    let r = OFE::new(
        BigInt::from(36266260308195979333u128),
        BigInt::from(-109897758509i64),
    );
    let p = OFE::new(BigInt::from(750_000u64 << 30), BigInt::from(3840u64 << 30));
    let rt: TFE = conv(&r);
    let pt: TFE = conv(&p);
    for qa in [2048u64, 20480, 1 << 35] {
        let qa = BigInt::from(qa);
        assert_eq!(
            ours::pre_commit_deposit_for_power(&r, &p, &qa),
            theirs::pre_commit_deposit_for_power(&rt, &pt, &qa)
        );
        for (since, dur) in [(-5i64, 0u64), (0, 0), (100, 1000), (5000, 1000)] {
            assert_eq!(
                ours::initial_pledge_for_power(
                    &qa,
                    &BigInt::from(1u64 << 50),
                    &r,
                    &p,
                    &TokenAmount::from_whole(1_000_000),
                    since,
                    dur
                ),
                theirs::initial_pledge_for_power(
                    &qa,
                    &BigInt::from(1u64 << 50),
                    &rt,
                    &pt,
                    &TokenAmount::from_whole(1_000_000),
                    since,
                    dur
                )
            );
        }
        assert_eq!(
            ours::pledge_penalty_for_continued_fault(&r, &p, &qa),
            theirs::pledge_penalty_for_continued_fault(&rt, &pt, &qa)
        );
    }
    for age in [0i64, 1000, 500_000] {
        let ip = TokenAmount::from_atto(10_000_000u64);
        let ff = TokenAmount::from_atto(3_000u64);
        assert_eq!(
            ours::pledge_penalty_for_termination(&ip, age, &ff),
            theirs::pledge_penalty_for_termination(&ip, age, &ff)
        );
    }
}

fn same<A: Serialize, B: Serialize + DeserializeOwned>(a: &A) {
    let b: B = conv(a);
    assert_eq!(bytes(a), bytes(&b), "{}", std::any::type_name::<A>());
}

#[test]
fn wire_types_match_v18() {
    use ferrite_actor_types::smooth::FilterEstimate as OFE;
    use fvm_ipld_encoding::{BytesDe, RawBytes};
    use fvm_shared::address::Address;
    use fvm_shared::sector::{PoStProof, RegisteredAggregateProof};
    let commr =
        Cid::try_from("bagboea4b5abcatlxechwbp7kjpjguna6r6q7ejrhe6mdp3lf34pmswn27pkkiekz").unwrap();
    let a1 = Address::new_id(1234);
    let bf = BitField::try_from_bits([1u64, 5, 9]).unwrap();
    same::<_, theirs::MinerConstructorParams>(&ours_t::MinerConstructorParams {
        owner: a1,
        worker: a1,
        control_addresses: vec![a1],
        window_post_proof_type: RegisteredPoStProof::StackedDRGWindow2KiBV1P1,
        peer_id: vec![1, 2, 3],
        multi_addresses: vec![BytesDe(vec![4, 5])],
    });
    same::<_, theirs::SubmitWindowedPoStParams>(&ours_t::SubmitWindowedPoStParams {
        deadline: 3,
        partitions: vec![ours_t::PoStPartition {
            index: 0,
            skipped: bf.clone(),
        }],
        proofs: vec![PoStProof {
            post_proof: RegisteredPoStProof::StackedDRGWindow2KiBV1P1,
            proof_bytes: vec![9; 10],
        }],
        chain_commit_epoch: 77,
        chain_commit_rand: fvm_shared::randomness::Randomness(vec![1; 32]),
    });
    same::<_, theirs::ProveCommitSectors3Params>(&ours_t::ProveCommitSectors3Params {
        sector_activations: vec![ours_t::SectorActivationManifest {
            sector_number: 4,
            pieces: vec![ours_t::PieceActivationManifest {
                cid: commr,
                size: fvm_shared::piece::PaddedPieceSize(2048),
                verified_allocation_key: Some(ours_t::VerifiedAllocationKey { client: 5, id: 6 }),
                notify: vec![ours_t::DataActivationNotification {
                    address: a1,
                    payload: RawBytes::new(vec![0x18, 0x2a]),
                }],
            }],
        }],
        sector_proofs: vec![RawBytes::new(vec![1, 2])],
        aggregate_proof: RawBytes::new(vec![]),
        aggregate_proof_type: Some(RegisteredAggregateProof::SnarkPackV2),
        require_activation_success: true,
        require_notification_success: false,
    });
    same::<_, theirs::ExtendSectorExpiration2Params>(&ours_t::ExtendSectorExpiration2Params {
        extensions: vec![ours_t::ExpirationExtension2 {
            deadline: 1,
            partition: 2,
            sectors: bf.clone(),
            sectors_with_claims: vec![ours_t::SectorClaim {
                sector_number: 3,
                maintain_claims: vec![1],
                drop_claims: vec![2],
            }],
            new_expiration: 99,
        }],
    });
    same::<_, theirs::DeferredCronEventParams>(&ours_t::DeferredCronEventParams {
        event_payload: vec![0x81, 0x01],
        reward_smoothed: OFE::new(BigInt::from(5), BigInt::from(-3)),
        quality_adj_power_smoothed: OFE::new(BigInt::from(7), BigInt::from(0)),
    });
    same::<_, theirs::CronEventPayload>(&ours_t::CronEventPayload { event_type: 1 });
    same::<_, theirs::TerminateSectorsParams>(&ours_t::TerminateSectorsParams {
        terminations: vec![ours_t::TerminationDeclaration {
            deadline: 1,
            partition: 0,
            sectors: bf.clone(),
        }],
    });
    same::<_, theirs::TerminateSectorsReturn>(&ours_t::TerminateSectorsReturn { done: true });
    same::<_, theirs::DeclareFaultsParams>(&ours_t::DeclareFaultsParams {
        faults: vec![ours_t::FaultDeclaration {
            deadline: 1,
            partition: 0,
            sectors: bf.clone(),
        }],
    });
    same::<_, theirs::DeclareFaultsRecoveredParams>(&ours_t::DeclareFaultsRecoveredParams {
        recoveries: vec![ours_t::RecoveryDeclaration {
            deadline: 1,
            partition: 0,
            sectors: bf.clone(),
        }],
    });
    same::<_, theirs::WithdrawBalanceParams>(&ours_t::WithdrawBalanceParams {
        amount_requested: TokenAmount::from_atto(5),
    });
    same::<_, theirs::WithdrawBalanceReturn>(&ours_t::WithdrawBalanceReturn {
        amount_withdrawn: TokenAmount::from_atto(5),
    });
    same::<_, theirs::ApplyRewardParams>(&ours_t::ApplyRewardParams {
        reward: TokenAmount::from_atto(5),
        penalty: TokenAmount::from_atto(0),
    });
    same::<_, theirs::PreCommitSectorBatchParams2>(&ours_t::PreCommitSectorBatchParams2 {
        sectors: vec![ours_t::SectorPreCommitInfo {
            seal_proof: RegisteredSealProof::StackedDRG2KiBV1P1,
            sector_number: 1,
            sealed_cid: commr,
            seal_rand_epoch: 5,
            deal_ids: vec![1],
            expiration: 9,
            unsealed_cid: ours_t::CompactCommD::of(commr),
        }],
    });
    same::<_, theirs::ChangeWorkerAddressParams>(&ours_t::ChangeWorkerAddressParams {
        new_worker: a1,
        new_control_addresses: vec![],
    });
    same::<_, theirs::ChangeOwnerAddressParams>(&ours_t::ChangeOwnerAddressParams {
        new_owner: a1,
    });
    same::<_, theirs::ChangePeerIDParams>(&ours_t::ChangePeerIDParams { new_id: vec![1] });
    same::<_, theirs::ChangeMultiaddrsParams>(&ours_t::ChangeMultiaddrsParams {
        new_multi_addrs: vec![BytesDe(vec![1])],
    });
    same::<_, theirs::ChangeBeneficiaryParams>(&ours_t::ChangeBeneficiaryParams {
        new_beneficiary: a1,
        new_quota: TokenAmount::from_atto(1),
        new_expiration: 5,
    });
    same::<_, theirs::GetBeneficiaryReturn>(&ours_t::GetBeneficiaryReturn {
        active: ours_t::ActiveBeneficiary {
            beneficiary: a1,
            term: ours_t::BeneficiaryTerm::new(
                TokenAmount::from_atto(1),
                TokenAmount::from_atto(0),
                7,
            ),
        },
        proposed: Some(ours_t::PendingBeneficiaryChange::new(
            a1,
            TokenAmount::from_atto(3),
            8,
        )),
    });
    same::<_, theirs::GetOwnerReturn>(&ours_t::GetOwnerReturn {
        owner: a1,
        proposed: None,
    });
    same::<_, theirs::IsControllingAddressReturn>(&ours_t::IsControllingAddressReturn {
        is_controlling: true,
    });
    same::<_, theirs::GetSectorSizeReturn>(&ours_t::GetSectorSizeReturn { sector_size: SS });
    same::<_, theirs::GetAvailableBalanceReturn>(&ours_t::GetAvailableBalanceReturn {
        available_balance: TokenAmount::from_atto(-5),
    });
    same::<_, theirs::GetVestingFundsReturn>(&ours_t::GetVestingFundsReturn {
        vesting_funds: vec![(5, TokenAmount::from_atto(6))],
    });
    same::<_, theirs::GetPeerIDReturn>(&ours_t::GetPeerIDReturn { peer_id: vec![1] });
    same::<_, theirs::GetMultiaddrsReturn>(&ours_t::GetMultiaddrsReturn {
        multi_addrs: vec![BytesDe(vec![1])],
    });
    same::<_, theirs::MaxTerminationFeeParams>(&ours_t::MaxTerminationFeeParams {
        power: BigInt::from(2048),
        initial_pledge: TokenAmount::from_atto(1),
    });
    same::<_, theirs::MaxTerminationFeeReturn>(&ours_t::MaxTerminationFeeReturn {
        max_fee: TokenAmount::from_atto(1),
    });
    same::<_, theirs::InitialPledgeReturn>(&ours_t::InitialPledgeReturn {
        initial_pledge: TokenAmount::from_atto(1),
    });
    same::<_, theirs::InternalSectorSetupForPresealParams>(
        &ours_t::InternalSectorSetupForPresealParams {
            sectors: vec![1],
            reward_smoothed: OFE::new(BigInt::from(5), BigInt::from(-3)),
            reward_baseline_power: BigInt::from(9),
            quality_adj_power_smoothed: OFE::new(BigInt::from(1), BigInt::from(2)),
        },
    );
    same::<_, theirs::CompactPartitionsParams>(&ours_t::CompactPartitionsParams {
        deadline: 1,
        partitions: bf.clone(),
    });
    same::<_, theirs::CompactSectorNumbersParams>(&ours_t::CompactSectorNumbersParams {
        mask_sector_numbers: bf.clone(),
    });
    same::<_, theirs::ReportConsensusFaultParams>(&ours_t::ReportConsensusFaultParams {
        header1: vec![1],
        header2: vec![2],
        header_extra: vec![],
    });
    same::<_, theirs::DisputeWindowedPoStParams>(&ours_t::DisputeWindowedPoStParams {
        deadline: 1,
        post_index: 0,
    });
    same::<_, theirs::CheckSectorProvenParams>(&ours_t::CheckSectorProvenParams {
        sector_number: 1,
    });
    same::<_, theirs::WindowedPoSt>(&ours_t::WindowedPoSt {
        partitions: bf.clone(),
        proofs: vec![],
    });
    same::<_, theirs::VestingFund>(&ours_t::VestingFund {
        epoch: 1,
        amount: TokenAmount::from_atto(2),
    });
    same::<_, theirs::SectorOnChainInfo>(&sector(3, 10, 100, true));
    // ExpirationSet 5-element form decodes
    let es = ours::ExpirationSet {
        on_time_sectors: bf.clone(),
        early_sectors: BitField::new(),
        on_time_pledge: TokenAmount::from_atto(3),
        active_power: ours_t::PowerPair::new(BigInt::from(1), BigInt::from(2)),
        faulty_power: ours_t::PowerPair::zero(),
        fee_deduction: TokenAmount::from_atto(4),
    };
    same::<_, theirs::ExpirationSet>(&es);
    let five = (
        bf.clone(),
        BitField::new(),
        TokenAmount::from_atto(3),
        ours_t::PowerPair::zero(),
        ours_t::PowerPair::zero(),
    );
    let es5: ours::ExpirationSet = conv(&five);
    assert!(es5.fee_deduction.is_zero());
    let soc = sector(3, 10, 100, true);
    let fifteen = (
        soc.sector_number,
        soc.seal_proof,
        soc.sealed_cid,
        soc.deprecated_deal_ids.clone(),
        soc.activation,
        soc.expiration,
        fvm_shared::bigint::bigint_ser::BigIntSer(&soc.deal_weight),
        fvm_shared::bigint::bigint_ser::BigIntSer(&soc.verified_deal_weight),
        soc.initial_pledge.clone(),
        soc.expected_day_reward.clone(),
        soc.expected_storage_pledge.clone(),
        soc.power_base_epoch,
        soc.replaced_day_reward.clone(),
        soc.sector_key_cid,
        soc.flags,
    );
    let s15: ours_t::SectorOnChainInfo = conv(&fifteen);
    assert!(s15.daily_fee.is_zero());
}

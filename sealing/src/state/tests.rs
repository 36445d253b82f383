#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use ferrite_types::{CommP, DealId, PieceInfo, SectorSize};
use proptest::prelude::*;

use super::*;
use crate::DealPiece;

mod props;

const POLICY: RetryPolicy = RetryPolicy {
    max_attempts: 3,
    backoff_secs: 60,
    max_backoff_secs: 1800,
};

fn proof() -> SealProof {
    SealProof::new(SectorSize::S2KiB)
}

fn padded(n: u64) -> PaddedPieceSize {
    PaddedPieceSize::new(n).unwrap()
}

fn deal(id: u64, size: u64) -> DealPiece {
    DealPiece {
        piece: PieceInfo {
            comm_p: CommP([id as u8; 32]),
            size: padded(size),
        },
        deal: DealId(id),
        start: ChainEpoch(1000),
        end: ChainEpoch(100_000),
        data: crate::piece::PieceData::File(std::path::PathBuf::from(format!("/staging/{id}"))),
    }
}

fn zero_piece(size: PaddedPieceSize) -> PieceInfo {
    PieceInfo {
        comm_p: CommP([0; 32]),
        size,
    }
}

/// The event that moves `s` forward, as a well-behaved worker and chain would
/// report it; `None` where only the market or the operator can act.
fn progress(s: &SectorState) -> Option<Event> {
    use SectorState as S;
    Some(match s {
        S::Packing { .. } => Event::StartSealing,
        S::AddPiece { adding, .. } => Event::PieceAdded {
            pieces: adding
                .iter()
                .map(|a| match a {
                    PieceToAdd::Deal(d) => d.piece,
                    PieceToAdd::Filler(size) => zero_piece(*size),
                })
                .collect(),
        },
        S::Pc1 { .. } => Event::Pc1Done {
            ticket: Ticket([3; 32]),
            ticket_epoch: ChainEpoch(90),
            output: Pc1Output(vec![1, 2, 3]),
        },
        S::Pc2 { .. } => Event::Pc2Done {
            comm_r: CommR([4; 32]),
            comm_d: CommD([5; 32]),
        },
        S::PreCommitReady { .. } => Event::PreCommitSent {
            message: MessageCid("bafy-precommit".to_string()),
        },
        S::PreCommitting { sealed, .. } => Event::PreCommitLanded {
            epoch: sealed.ticket.epoch.plus(10),
        },
        S::WaitSeed {
            precommit_epoch, ..
        } => Event::SeedReady {
            seed: Seed([6; 32]),
            epoch: precommit_epoch.plus(150),
        },
        S::C1 { .. } => Event::C1Done,
        S::C2 { .. } => Event::C2Done {
            proof: PoRepProof(vec![7; 192]),
        },
        S::ProveCommitReady { .. } => Event::ProveCommitSent {
            message: MessageCid("bafy-provecommit".to_string()),
        },
        S::ProveCommitting { challenge, .. } => Event::ProveCommitLanded {
            epoch: challenge.seed_epoch.plus(10),
        },
        S::Finalizing { .. } => Event::Finalized,
        S::UpdateEncode { .. } => Event::UpdateEncoded {
            comm_r: CommR([8; 32]),
            comm_d: CommD([9; 32]),
        },
        S::UpdateProve { .. } => Event::UpdateProved {
            proof: UpdateProof(vec![10; 192]),
        },
        S::UpdateReady { .. } => Event::UpdateSent {
            message: MessageCid("bafy-update".to_string()),
        },
        S::Updating { key, .. } => Event::UpdateLanded {
            epoch: key.activation.plus(3000),
        },
        S::UpdateFinalizing { .. } => Event::Finalized,
        S::SealFailed(_)
        | S::PreCommitFailed(_)
        | S::ComputeProofFailed(_)
        | S::ProveCommitFailed(_)
        | S::FinalizeFailed(_)
        | S::UpdateFailed(_) => Event::Retry,
        S::Removing => Event::DataRemoved,
        S::Proving { .. } | S::Removed => return None,
    })
}

fn step(s: &SectorState, ev: Event) -> SectorState {
    let name = ev.name();
    s.apply(ev, &POLICY)
        .unwrap_or_else(|e| panic!("{name} in {}: {e}", s.name()))
}

/// Follows `progress` until the state named `until`.
fn advance(mut s: SectorState, until: &str) -> SectorState {
    while s.name() != until {
        let ev = progress(&s).unwrap_or_else(|| panic!("stuck in {}", s.name()));
        s = step(&s, ev);
    }
    s
}

fn cc_sector() -> SectorState {
    SectorState::new(proof())
}

#[test]
fn happy_path_of_a_committed_capacity_sector() {
    let mut s = cc_sector();
    let mut seen = vec![(s.name(), s.next_action(&POLICY))];
    while let Some(ev) = progress(&s) {
        s = step(&s, ev);
        seen.push((s.name(), s.next_action(&POLICY)));
    }
    assert_eq!(
        seen,
        [
            ("Packing", Action::WaitPieces),
            ("AddPiece", Action::AddPiece),
            ("PC1", Action::Pc1),
            ("PC2", Action::Pc2),
            ("PreCommitReady", Action::SendPreCommit),
            ("PreCommitting", Action::WaitPreCommit),
            ("WaitSeed", Action::WaitSeed),
            ("C1", Action::C1),
            ("C2", Action::C2),
            ("ProveCommitReady", Action::VerifyAndSendProveCommit),
            ("ProveCommitting", Action::WaitProveCommit),
            ("Finalizing", Action::Finalize),
            ("Proving", Action::None),
        ]
    );
    let SectorState::Proving {
        base,
        sealed,
        activation,
    } = &s
    else {
        panic!("{s:?}")
    };
    // one zero piece fills the 2 KiB sector
    assert_eq!(base.pieces, [SectorPiece::Filler(zero_piece(padded(2048)))]);
    assert_eq!(sealed.ticket.epoch, ChainEpoch(90));
    assert_eq!(sealed.comm_r, CommR([4; 32]));
    assert_eq!(*activation, ChainEpoch(100 + 150 + 10));
    assert_eq!(base.attempts, Attempts::default());
}

#[test]
fn deal_pieces_are_aligned_then_filled() {
    let s = cc_sector();
    let s = step(
        &s,
        Event::AssignPiece {
            piece: deal(1, 256),
        },
    );
    assert_eq!(s.name(), "AddPiece");
    let s = step(&s, progress(&s).unwrap());
    assert_eq!(s.name(), "Packing");
    // a 512-byte piece at offset 256 needs a 256-byte filler before it
    let s = step(
        &s,
        Event::AssignPiece {
            piece: deal(2, 512),
        },
    );
    let SectorState::AddPiece { adding, then, .. } = &s else {
        panic!("{s:?}")
    };
    assert_eq!(
        adding,
        &[
            PieceToAdd::Filler(padded(256)),
            PieceToAdd::Deal(deal(2, 512))
        ]
    );
    assert_eq!(*then, AfterAddPiece::Packing);
    let s = step(&s, progress(&s).unwrap());
    // a 1024-byte piece at offset 1024 is aligned as is, and fills the sector
    let s = step(
        &s,
        Event::AssignPiece {
            piece: deal(3, 1024),
        },
    );
    let SectorState::AddPiece { adding, .. } = &s else {
        panic!("{s:?}")
    };
    assert_eq!(adding, &[PieceToAdd::Deal(deal(3, 1024))]);
    let s = step(&s, progress(&s).unwrap());
    // full: StartSealing goes straight to PC1
    let s = step(&s, Event::StartSealing);
    let SectorState::Pc1 { base } = &s else {
        panic!("{s:?}")
    };
    let sizes: Vec<u64> = base.pieces.iter().map(|p| p.info().size.bytes()).collect();
    assert_eq!(sizes, [256, 256, 512, 1024]);
    let deals: Vec<bool> = base
        .pieces
        .iter()
        .map(|p| matches!(p, SectorPiece::Deal(_)))
        .collect();
    assert_eq!(deals, [true, false, true, true]);
}

#[test]
fn closing_a_partly_filled_sector_adds_fillers() {
    let s = step(
        &cc_sector(),
        Event::AssignPiece {
            piece: deal(1, 512),
        },
    );
    let s = step(&s, progress(&s).unwrap());
    let s = step(&s, Event::StartSealing);
    let SectorState::AddPiece { adding, then, .. } = &s else {
        panic!("{s:?}")
    };
    assert_eq!(
        adding,
        &[
            PieceToAdd::Filler(padded(512)),
            PieceToAdd::Filler(padded(1024))
        ]
    );
    assert_eq!(*then, AfterAddPiece::Seal);
    assert_eq!(step(&s, progress(&s).unwrap()).name(), "PC1");
}

#[test]
fn a_piece_that_does_not_fit_is_refused() {
    let s = step(
        &cc_sector(),
        Event::AssignPiece {
            piece: deal(1, 1024),
        },
    );
    let s = step(&s, progress(&s).unwrap());
    let err = s
        .apply(
            Event::AssignPiece {
                piece: deal(2, 2048),
            },
            &POLICY,
        )
        .unwrap_err();
    assert!(
        matches!(err, TransitionError::PieceDoesNotFit { free: 1024, .. }),
        "{err}"
    );
    assert_eq!(s.name(), "Packing");
}

#[test]
fn a_wrong_piece_report_fails_the_seal_and_retries_add_piece() {
    let s = step(
        &cc_sector(),
        Event::AssignPiece {
            piece: deal(1, 512),
        },
    );
    let mut bad = deal(1, 512).piece;
    bad.comm_p = CommP([9; 32]);
    let failed = step(&s, Event::PieceAdded { pieces: vec![bad] });
    let Some((FailureKind::Seal, f)) = failed.failure() else {
        panic!("{failed:?}")
    };
    assert!(f.reason.contains("has CommP"), "{}", f.reason);
    assert_eq!(failed.failed_attempts(), Some(1));
    // too few pieces is the same failure
    let failed2 = step(&s, Event::PieceAdded { pieces: vec![] });
    assert_eq!(failed2.name(), "SealFailed");
    let retried = step(&failed, Event::Retry);
    assert_eq!(retried.name(), "AddPiece");
    assert_eq!(retried.base().unwrap().attempts.seal, 1);
}

#[test]
fn seal_task_failures_retry_with_backoff_until_the_limit() {
    let pc1 = advance(cc_sector(), "PC1");
    let mut s = pc1.clone();
    for attempt in 1..=POLICY.max_attempts {
        s = step(
            &s,
            Event::TaskFailed {
                task: Task::Pc1,
                reason: "out of memory".to_string(),
            },
        );
        assert_eq!(s.name(), "SealFailed");
        assert_eq!(s.failed_attempts(), Some(attempt));
        if attempt < POLICY.max_attempts {
            let after = Duration::from_secs(60 << (attempt - 1));
            assert_eq!(s.next_action(&POLICY), Action::Retry { after });
            s = step(&s, Event::Retry);
            assert_eq!(s.name(), "PC1");
        }
    }
    assert_eq!(s.next_action(&POLICY), Action::AwaitOperator);
    let err = s.apply(Event::Retry, &POLICY).unwrap_err();
    assert_eq!(
        err,
        TransitionError::RetriesExhausted {
            state: "SealFailed",
            attempts: 3,
            max: 3
        }
    );
    // the operator's restart clears the count and runs PC1 again
    let restarted = step(&s, Event::Restart);
    assert_eq!(restarted, pc1);
}

#[test]
fn pc2_failure_retries_pc2_and_a_stale_pc1_failure_is_refused() {
    let pc2 = advance(cc_sector(), "PC2");
    let err = pc2
        .apply(
            Event::TaskFailed {
                task: Task::Pc1,
                reason: "late".to_string(),
            },
            &POLICY,
        )
        .unwrap_err();
    assert!(matches!(err, TransitionError::Invalid { .. }), "{err}");
    let failed = step(
        &pc2,
        Event::TaskFailed {
            task: Task::Pc2,
            reason: "gpu lost".to_string(),
        },
    );
    let Some((FailureKind::Seal, f)) = failed.failure() else {
        panic!("{failed:?}")
    };
    assert_eq!(f.reason, "PC2 failed: gpu lost");
    assert_eq!(step(&failed, Event::Retry).name(), "PC2");
}

#[test]
fn a_failed_precommit_is_resent() {
    for from in ["PreCommitReady", "PreCommitting"] {
        let s = advance(cc_sector(), from);
        let failed = step(
            &s,
            Event::PreCommitFailed {
                reason: "exit code 16".to_string(),
            },
        );
        assert_eq!(failed.name(), "PreCommitFailed");
        let retried = step(&failed, Event::Retry);
        assert_eq!(retried.name(), "PreCommitReady");
        assert_eq!(retried.next_action(&POLICY), Action::SendPreCommit);
        assert_eq!(retried.base().unwrap().attempts.precommit, 1);
    }
}

#[test]
fn an_expired_ticket_seals_again_from_pc1() {
    let s = advance(cc_sector(), "PreCommitting");
    let pieces = s.base().unwrap().pieces.clone();
    let failed = step(&s, Event::TicketExpired);
    assert_eq!(failed.name(), "PreCommitFailed");
    let retried = step(&failed, Event::Retry);
    let SectorState::Pc1 { base } = &retried else {
        panic!("{retried:?}")
    };
    assert_eq!(base.pieces, pieces);
}

#[test]
fn a_precommit_already_on_chain_is_recognised_without_resending() {
    let s = advance(cc_sector(), "PreCommitReady");
    let s = step(
        &s,
        Event::PreCommitLanded {
            epoch: ChainEpoch(120),
        },
    );
    assert_eq!(s.name(), "WaitSeed");
    // but not before its own ticket
    let s = advance(cc_sector(), "PreCommitting");
    let err = s
        .apply(
            Event::PreCommitLanded {
                epoch: ChainEpoch(5),
            },
            &POLICY,
        )
        .unwrap_err();
    assert!(matches!(err, TransitionError::Invalid { .. }), "{err}");
}

#[test]
fn a_seed_must_come_after_the_precommit() {
    let s = advance(cc_sector(), "WaitSeed");
    for epoch in [ChainEpoch(0), ChainEpoch(100)] {
        let err = s
            .apply(
                Event::SeedReady {
                    seed: Seed([1; 32]),
                    epoch,
                },
                &POLICY,
            )
            .unwrap_err();
        assert!(matches!(err, TransitionError::Invalid { .. }), "{err}");
    }
}

#[test]
fn compute_proof_failures_go_back_to_c1() {
    let c1 = advance(cc_sector(), "C1");
    let c2 = advance(c1.clone(), "C2");
    let ready = advance(c1.clone(), "ProveCommitReady");
    let cases = [
        (
            c1.clone(),
            Event::TaskFailed {
                task: Task::C1,
                reason: "x".to_string(),
            },
        ),
        (
            c2.clone(),
            Event::TaskFailed {
                task: Task::C2,
                reason: "x".to_string(),
            },
        ),
        (
            c2,
            Event::C2Done {
                proof: PoRepProof(vec![]),
            },
        ),
        (
            ready,
            Event::ProofInvalid {
                reason: "verify_seal returned false".to_string(),
            },
        ),
    ];
    for (s, ev) in cases {
        let failed = step(&s, ev);
        assert_eq!(failed.name(), "ComputeProofFailed");
        let retried = step(&failed, Event::Retry);
        assert_eq!(retried.name(), "C1");
        let mut expected = c1.clone();
        expected.base_mut().unwrap().attempts.compute_proof = 1;
        assert_eq!(retried, expected);
    }
}

#[test]
fn a_failed_prove_commit_is_resent_with_the_same_proof() {
    let ready = advance(cc_sector(), "ProveCommitReady");
    let sending = advance(ready.clone(), "ProveCommitting");
    for s in [ready.clone(), sending] {
        let failed = step(
            &s,
            Event::ProveCommitFailed {
                reason: "mpool full".to_string(),
            },
        );
        assert_eq!(failed.name(), "ProveCommitFailed");
        let retried = step(&failed, Event::Retry);
        let mut expected = ready.clone();
        expected.base_mut().unwrap().attempts.prove_commit = 1;
        assert_eq!(retried, expected);
    }
    // already on chain: straight to Finalizing
    let s = step(
        &ready,
        Event::ProveCommitLanded {
            epoch: ChainEpoch(400),
        },
    );
    assert_eq!(s.name(), "Finalizing");
}

#[test]
fn a_failed_finalize_is_retried() {
    let s = advance(cc_sector(), "Finalizing");
    let failed = step(
        &s,
        Event::TaskFailed {
            task: Task::Finalize,
            reason: "store path full".to_string(),
        },
    );
    assert_eq!(failed.name(), "FinalizeFailed");
    assert!(failed.is_on_chain());
    assert_eq!(step(&failed, Event::Retry).name(), "Finalizing");
}

#[test]
fn remove_works_from_every_state_and_removed_is_terminal() {
    for s in props::catalog() {
        if matches!(s, SectorState::Removing | SectorState::Removed) {
            assert!(s.apply(Event::Remove, &POLICY).is_err());
            continue;
        }
        let removing = step(&s, Event::Remove);
        assert_eq!(removing.next_action(&POLICY), Action::RemoveData);
        let removing = step(
            &removing,
            Event::TaskFailed {
                task: Task::RemoveData,
                reason: "host down".to_string(),
            },
        );
        let removed = step(&removing, Event::DataRemoved);
        assert_eq!(removed.next_action(&POLICY), Action::None);
        for ev in props::sample_events() {
            assert!(removed.apply(ev, &POLICY).is_err());
        }
    }
}

#[test]
fn operator_commands_outside_failures_are_refused() {
    let s = advance(cc_sector(), "C2");
    for ev in [Event::Retry, Event::Restart, Event::DataRemoved] {
        let err = s.apply(ev, &POLICY).unwrap_err();
        assert!(matches!(err, TransitionError::Illegal { .. }), "{err}");
    }
}

/// A committed-capacity sector, sealed and proven.
fn proven_cc() -> SectorState {
    advance(cc_sector(), "Proving")
}

#[test]
fn snap_deals_fill_a_proven_cc_sector_and_update_its_replica() {
    let cc = proven_cc();
    let SectorState::Proving { sealed: old, .. } = cc.clone() else {
        panic!()
    };
    let s = step(
        &cc,
        Event::AssignPiece {
            piece: deal(1, 1024),
        },
    );
    let SectorState::AddPiece {
        base,
        target: Target::Snap(key),
        ..
    } = &s
    else {
        panic!("{s:?}")
    };
    // The update starts from an empty sector; the CC sector is kept as the key.
    assert!(base.pieces.is_empty());
    assert_eq!(key.sealed, old);
    assert!(s.is_on_chain(), "a sector being updated is on chain");
    let s = step(&s, progress(&s).unwrap());
    assert_eq!(s.name(), "Packing");
    // A second small deal joins the same update.
    let s = step(
        &s,
        Event::AssignPiece {
            piece: deal(2, 512),
        },
    );
    let mut seen = vec![];
    let mut s = s;
    while let Some(ev) = progress(&s) {
        s = step(&s, ev);
        seen.push((s.name(), s.next_action(&POLICY)));
    }
    assert_eq!(
        seen,
        [
            ("Packing", Action::WaitPieces),
            ("AddPiece", Action::AddPiece),
            ("UpdateEncode", Action::UpdateEncode),
            ("UpdateProve", Action::UpdateProve),
            ("UpdateReady", Action::VerifyAndSendUpdate),
            ("Updating", Action::WaitUpdate),
            ("UpdateFinalizing", Action::FinalizeUpdate),
            ("Proving", Action::None),
        ]
    );
    let SectorState::Proving {
        base,
        sealed,
        activation,
    } = &s
    else {
        panic!("{s:?}")
    };
    assert_eq!(sealed.comm_r, CommR([8; 32]));
    assert_eq!(sealed.comm_d, CommD([9; 32]));
    assert_eq!(sealed.ticket, old.ticket);
    assert_eq!(*activation, ChainEpoch(100 + 150 + 10));
    let deals: Vec<u64> = base
        .pieces
        .iter()
        .filter_map(|p| match p {
            SectorPiece::Deal(d) => Some(d.deal.0),
            SectorPiece::Filler(_) => None,
        })
        .collect();
    assert_eq!(deals, [1, 2]);
    // An updated sector holds deals: it takes no second update.
    let again = s.apply(
        Event::AssignPiece {
            piece: deal(3, 256),
        },
        &POLICY,
    );
    assert!(
        matches!(&again, Err(TransitionError::Invalid { reason, .. }) if reason.contains("holds deals")),
        "{again:?}"
    );
}

#[test]
fn snap_deal_failures_retry_the_right_stage() {
    let s = step(
        &proven_cc(),
        Event::AssignPiece {
            piece: deal(1, 2048),
        },
    );
    let s = advance(s, "UpdateProve");
    // A failed proof task is retried in place.
    let failed = step(
        &s,
        Event::TaskFailed {
            task: Task::UpdateProve,
            reason: "out of memory".into(),
        },
    );
    assert_eq!(failed.name(), "UpdateFailed");
    assert_eq!(
        failed.next_action(&POLICY),
        Action::Retry {
            after: POLICY.backoff(1)
        }
    );
    let s = step(&failed, Event::Retry);
    assert_eq!(s.name(), "UpdateProve");
    // An empty proof, then a proof the verifier rejects, go back to proving.
    let empty = step(
        &s,
        Event::UpdateProved {
            proof: UpdateProof(vec![]),
        },
    );
    assert_eq!(empty.name(), "UpdateFailed");
    let s = advance(step(&empty, Event::Retry), "UpdateReady");
    let bad = step(
        &s,
        Event::ProofInvalid {
            reason: "nope".into(),
        },
    );
    // Three failures exhaust the policy's attempts: the operator restarts.
    assert!(bad.apply(Event::Retry, &POLICY).is_err());
    assert_eq!(step(&bad, Event::Restart).name(), "UpdateProve");
    // A failed message is resent with the same proof.
    let s = advance(step(&bad, Event::Restart), "Updating");
    let failed = step(
        &s,
        Event::UpdateFailed {
            reason: "exit 16".into(),
        },
    );
    let retried = step(&failed, Event::Retry);
    let (SectorState::UpdateReady { proof: p1, .. }, SectorState::Updating { proof: p2, .. }) =
        (&retried, &s)
    else {
        panic!("{retried:?}")
    };
    assert_eq!(p1, p2);
    assert_eq!(retried.failed_attempts(), None);
    let SectorState::UpdateReady { base, .. } = &retried else {
        panic!()
    };
    assert_eq!(base.attempts.get(FailureKind::Update), 1);
    // The encode's report must be a new replica.
    let s = advance(
        step(
            &proven_cc(),
            Event::AssignPiece {
                piece: deal(1, 2048),
            },
        ),
        "UpdateEncode",
    );
    let same = s.apply(
        Event::UpdateEncoded {
            comm_r: CommR([4; 32]),
            comm_d: CommD([9; 32]),
        },
        &POLICY,
    );
    assert!(same.is_err(), "{same:?}");
}

#[test]
fn a_precommit_moved_by_a_reorganisation_sends_the_commit_back_to_the_seed() {
    for from in ["WaitSeed", "C1", "C2", "ProveCommitReady"] {
        let s = advance(cc_sector(), from);
        let s = step(
            &s,
            Event::PreCommitLanded {
                epoch: ChainEpoch(150),
            },
        );
        match &s {
            SectorState::WaitSeed {
                precommit_epoch, ..
            } => assert_eq!(*precommit_epoch, ChainEpoch(150), "from {from}"),
            other => panic!("from {from}: {}", other.name()),
        }
    }
    // Not before its ticket, and not once the prove-commit is out.
    let s = advance(cc_sector(), "C2");
    assert!(
        s.apply(
            Event::PreCommitLanded {
                epoch: ChainEpoch(5)
            },
            &POLICY
        )
        .is_err()
    );
    let s = advance(cc_sector(), "ProveCommitting");
    assert!(
        s.apply(
            Event::PreCommitLanded {
                epoch: ChainEpoch(150)
            },
            &POLICY
        )
        .is_err()
    );
}

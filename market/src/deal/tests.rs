#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use ferrite_types::{CommP, PaddedPieceSize};
use proptest::prelude::*;

use super::*;

const COMMP: &str = "baga6ea4seaqpy7usqklokfx2vxuynmupslkeutzexe2uqurdg5vhtebhxqmpqmy";
const OTHER: &str = "baga6ea4seaqeyrcxtl5ys6wjkwpb7jtv2vpl4lsrgw6uwkxg7cxnx2crdkvbjpy";

fn policy() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 3,
        backoff_secs: 10,
        max_backoff_secs: 100,
    }
}

fn piece() -> PieceInfo {
    PieceInfo {
        comm_p: COMMP.parse().unwrap(),
        size: PaddedPieceSize::new(2048).unwrap(),
    }
}

fn msg(n: u8) -> MessageCid {
    MessageCid(Cid::new_v1(
        fvm_ipld_encoding::DAG_CBOR,
        Code::Blake2b256.digest(&[n]),
    ))
}

fn staged_piece(comm_p: &str, bytes: u64) -> StagedPiece {
    StagedPiece {
        comm_p: comm_p.parse::<CommP>().unwrap(),
        bytes,
        path: PathBuf::from("/staging/deal.car"),
    }
}

/// Applies `events` in order, each of which must fit.
fn walk(mut s: DealState, events: impl IntoIterator<Item = DealEvent>) -> DealState {
    for e in events {
        s = s.apply(e.clone(), &policy()).unwrap_or_else(|err| {
            panic!("{} in {}: {err}", e.name(), s.name());
        });
    }
    s
}

fn accepted() -> DealState {
    DealState::new(piece(), false)
}

fn staged() -> DealState {
    walk(
        accepted(),
        [
            DealEvent::TransferStarted,
            DealEvent::TransferDone(staged_piece(COMMP, 2000)),
        ],
    )
}

fn wait_publish() -> DealState {
    walk(staged(), [DealEvent::PublishQueued])
}

fn publishing() -> DealState {
    walk(
        wait_publish(),
        [DealEvent::PublishSigned { message: msg(1) }],
    )
}

fn published() -> DealState {
    walk(
        publishing(),
        [DealEvent::PublishLanded {
            deal_id: DealId(77),
        }],
    )
}

fn adding() -> DealState {
    walk(
        published(),
        [DealEvent::SectorAssigned {
            sector: SectorNumber(5),
            offset: 4096,
        }],
    )
}

fn sealing() -> DealState {
    walk(adding(), [DealEvent::PieceAdded])
}

fn active() -> DealState {
    walk(
        sealing(),
        [DealEvent::Activated {
            epoch: ChainEpoch(900),
        }],
    )
}

/// One event of each kind.
fn every_event() -> Vec<DealEvent> {
    vec![
        DealEvent::TransferStarted,
        DealEvent::TransferProgress { received: 1 },
        DealEvent::TransferDone(staged_piece(COMMP, 10)),
        DealEvent::TransferFailed {
            retryable: true,
            reason: "reset".into(),
        },
        DealEvent::RetryTransfer,
        DealEvent::Imported(staged_piece(COMMP, 10)),
        DealEvent::PublishQueued,
        DealEvent::PublishSigned { message: msg(9) },
        DealEvent::PublishLanded { deal_id: DealId(1) },
        DealEvent::PublishMessageLost,
        DealEvent::PublishFailed {
            retryable: true,
            reason: "gas".into(),
        },
        DealEvent::SectorAssigned {
            sector: SectorNumber(1),
            offset: 0,
        },
        DealEvent::PieceAdded,
        DealEvent::Activated {
            epoch: ChainEpoch(1),
        },
        DealEvent::Expired {
            epoch: ChainEpoch(2),
        },
        DealEvent::Slashed {
            epoch: ChainEpoch(3),
        },
        DealEvent::StartEpochMissed {
            head: ChainEpoch(4),
        },
        DealEvent::Abort {
            reason: "operator".into(),
        },
    ]
}

/// The events `s` accepts, by name.
fn accepted_events(s: &DealState) -> Vec<&'static str> {
    every_event()
        .into_iter()
        .filter(|e| s.apply(e.clone(), &policy()).is_ok())
        .map(|e| e.name())
        .collect()
}

#[test]
fn an_online_deal_goes_from_accepted_to_active_and_expires() {
    let p = policy();
    let s = accepted();
    assert_eq!(s.next_action(&p), DealAction::StartTransfer);
    let s = walk(s, [DealEvent::TransferStarted]);
    assert_eq!(s.name(), "Transferring");
    assert_eq!(s.next_action(&p), DealAction::Transfer);
    let s = walk(s, [DealEvent::TransferProgress { received: 1000 }]);
    assert!(matches!(s, DealState::Transferring { received: 1000, .. }));
    let s = walk(s, [DealEvent::TransferDone(staged_piece(COMMP, 2032))]);
    assert_eq!(s.name(), "Staged");
    assert_eq!(s.staged_file(), Some(Path::new("/staging/deal.car")));
    assert_eq!(s.next_action(&p), DealAction::QueueForPublish);
    let s = walk(s, [DealEvent::PublishQueued]);
    assert_eq!(s.next_action(&p), DealAction::JoinPublishBatch);
    let s = walk(s, [DealEvent::PublishSigned { message: msg(1) }]);
    assert_eq!(s.publish_message(), Some(msg(1)));
    assert_eq!(
        s.next_action(&p),
        DealAction::CheckPublish { message: msg(1) }
    );
    let s = walk(
        s,
        [DealEvent::PublishLanded {
            deal_id: DealId(77),
        }],
    );
    assert_eq!(s.deal_id(), Some(DealId(77)));
    assert_eq!(s.publish_message(), Some(msg(1)));
    assert_eq!(s.next_action(&p), DealAction::AssignToSector);
    let s = walk(
        s,
        [DealEvent::SectorAssigned {
            sector: SectorNumber(5),
            offset: 4096,
        }],
    );
    assert_eq!(
        s.next_action(&p),
        DealAction::WaitPieceAdded {
            sector: SectorNumber(5)
        }
    );
    let s = walk(s, [DealEvent::PieceAdded]);
    assert_eq!(
        s.next_action(&p),
        DealAction::WaitActivation {
            sector: SectorNumber(5),
            staged: PathBuf::from("/staging/deal.car"),
        }
    );
    let s = walk(
        s,
        [DealEvent::Activated {
            epoch: ChainEpoch(900),
        }],
    );
    assert_eq!(s.name(), "Active");
    assert_eq!(s.staged_file(), None);
    assert_eq!(s.next_action(&p), DealAction::WatchDeal);
    let s = walk(
        s,
        [DealEvent::Expired {
            epoch: ChainEpoch(5000),
        }],
    );
    assert_eq!(
        s,
        DealState::Expired {
            deal_id: DealId(77),
            epoch: ChainEpoch(5000)
        }
    );
    assert!(s.is_terminal());
    assert_eq!(s.next_action(&p), DealAction::None);
}

#[test]
fn an_active_deal_can_be_slashed() {
    let s = walk(
        active(),
        [DealEvent::Slashed {
            epoch: ChainEpoch(1200),
        }],
    );
    assert_eq!(
        s,
        DealState::Slashed {
            deal_id: DealId(77),
            epoch: ChainEpoch(1200)
        }
    );
}

#[test]
fn activation_may_be_seen_before_piece_added() {
    // A crash after AddPiece: the next look finds the deal already active.
    let s = walk(
        adding(),
        [DealEvent::Activated {
            epoch: ChainEpoch(901),
        }],
    );
    assert!(matches!(
        s,
        DealState::Active {
            activation: ChainEpoch(901),
            ..
        }
    ));
}

#[test]
fn an_offline_deal_waits_for_its_import() {
    let p = policy();
    let s = DealState::new(piece(), true);
    assert_eq!(s.next_action(&p), DealAction::AwaitImport);
    let err = s.apply(DealEvent::TransferStarted, &p).unwrap_err();
    assert!(matches!(err, DealTransitionError::Invalid { .. }), "{err}");
    let s = walk(s, [DealEvent::Imported(staged_piece(COMMP, 100))]);
    assert_eq!(s.name(), "Staged");
    // An online deal does not take an import.
    let err = accepted()
        .apply(DealEvent::Imported(staged_piece(COMMP, 100)), &p)
        .unwrap_err();
    assert!(matches!(err, DealTransitionError::Invalid { .. }), "{err}");
}

#[test]
fn a_commp_mismatch_fails_with_both_cids_and_keeps_the_file() {
    let transferring = walk(accepted(), [DealEvent::TransferStarted]);
    let offline = DealState::new(piece(), true);
    for (s, ev) in [
        (
            transferring,
            DealEvent::TransferDone(staged_piece(OTHER, 2000)),
        ),
        (offline, DealEvent::Imported(staged_piece(OTHER, 2000))),
    ] {
        let from = s.name();
        let DealState::Failed(f) = s.apply(ev, &policy()).unwrap() else {
            panic!("expected Failed")
        };
        assert!(f.reason.contains(COMMP), "{}", f.reason);
        assert!(f.reason.contains(OTHER), "{}", f.reason);
        assert_eq!(f.from, from);
        assert_eq!(f.kept_file, Some(PathBuf::from("/staging/deal.car")));
    }
}

#[test]
fn more_data_than_the_piece_holds_fails() {
    let s = walk(accepted(), [DealEvent::TransferStarted]);
    let DealState::Failed(f) = s
        .apply(
            DealEvent::TransferDone(staged_piece(COMMP, 2033)),
            &policy(),
        )
        .unwrap()
    else {
        panic!("expected Failed")
    };
    assert!(f.reason.contains("2032"), "{}", f.reason);
}

#[test]
fn transfer_retries_are_counted_backed_off_and_bounded() {
    let p = policy(); // 3 tries
    let fail = || DealEvent::TransferFailed {
        retryable: true,
        reason: "connection reset".into(),
    };
    let s = walk(accepted(), [DealEvent::TransferStarted, fail()]);
    assert_eq!(s.name(), "TransferRetry");
    assert_eq!(s.base().unwrap().transfer_failures, 1);
    assert_eq!(
        s.next_action(&p),
        DealAction::RetryTransfer {
            after: Duration::from_secs(10)
        }
    );
    let s = walk(s, [DealEvent::RetryTransfer]);
    assert!(matches!(s, DealState::Transferring { received: 0, .. }));
    let s = walk(s, [fail()]);
    assert_eq!(
        s.next_action(&p),
        DealAction::RetryTransfer {
            after: Duration::from_secs(20)
        }
    );
    let s = walk(s, [DealEvent::RetryTransfer, fail()]);
    let DealState::Failed(f) = &s else {
        panic!("expected Failed, got {}", s.name())
    };
    assert!(f.reason.contains("3 times (limit 3)"), "{}", f.reason);
    assert!(f.reason.contains("connection reset"), "{}", f.reason);
    assert_eq!(f.from, "Transferring");
}

#[test]
fn a_fatal_transfer_failure_fails_at_once() {
    let s = walk(
        accepted(),
        [
            DealEvent::TransferStarted,
            DealEvent::TransferFailed {
                retryable: false,
                reason: "HTTP 404".into(),
            },
        ],
    );
    let DealState::Failed(f) = s else {
        panic!("expected Failed")
    };
    assert_eq!(f.reason, "transfer failed: HTTP 404");
}

#[test]
fn a_message_is_recorded_only_from_wait_publish() {
    let sign = || DealEvent::PublishSigned { message: msg(2) };
    for s in [
        accepted(),
        staged(),
        publishing(),
        published(),
        adding(),
        sealing(),
        active(),
    ] {
        let err = s.apply(sign(), &policy()).unwrap_err();
        assert!(matches!(err, DealTransitionError::Illegal { .. }), "{err}");
    }
    assert!(wait_publish().apply(sign(), &policy()).is_ok());
}

#[test]
fn only_the_messages_fate_leaves_publishing() {
    assert_eq!(
        accepted_events(&publishing()),
        ["PublishLanded", "PublishMessageLost", "PublishFailed"]
    );
}

#[test]
fn a_lost_message_sends_the_deal_back_to_the_batcher() {
    let s = walk(publishing(), [DealEvent::PublishMessageLost]);
    assert_eq!(s.name(), "WaitPublish");
    assert_eq!(s.publish_message(), None);
    // A new message is recorded for the next batch.
    let s = walk(s, [DealEvent::PublishSigned { message: msg(3) }]);
    assert_eq!(s.publish_message(), Some(msg(3)));
}

#[test]
fn publish_failures_retry_within_the_policy_or_fail() {
    let p = policy();
    let gas = || DealEvent::PublishFailed {
        retryable: true,
        reason: "out of gas".into(),
    };
    let s = walk(publishing(), [gas()]);
    assert_eq!(s.name(), "WaitPublish");
    assert_eq!(s.base().unwrap().publish_failures, 1);
    let s = walk(
        s,
        [
            DealEvent::PublishSigned { message: msg(4) },
            gas(),
            DealEvent::PublishSigned { message: msg(5) },
            gas(),
        ],
    );
    let DealState::Failed(f) = &s else {
        panic!("expected Failed, got {}", s.name())
    };
    assert!(f.reason.contains("3 times (limit 3)"), "{}", f.reason);
    assert!(f.reason.contains(&msg(5).to_string()), "{}", f.reason);
    // A deal the actor refused is not retried.
    let s = publishing()
        .apply(
            DealEvent::PublishFailed {
                retryable: false,
                reason: "refused".into(),
            },
            &p,
        )
        .unwrap();
    assert!(matches!(s, DealState::Failed(_)));
}

#[test]
fn a_publish_message_that_cannot_be_made_is_retried_then_fails() {
    // Gas estimation runs the message; the actor refusing it (a deal it
    // already holds, say) leaves nothing sent, and the deal waits again.
    let refused = || DealEvent::PublishFailed {
        retryable: true,
        reason: "all deal proposals are invalid".into(),
    };
    let s = walk(wait_publish(), [refused()]);
    assert_eq!(s.name(), "WaitPublish");
    assert_eq!(s.base().unwrap().publish_failures, 1);
    let s = walk(s, [refused(), refused()]);
    let DealState::Failed(f) = &s else {
        panic!("expected Failed, got {}", s.name())
    };
    assert!(f.reason.contains("3 times"), "{}", f.reason);
    assert!(
        f.reason.contains("all deal proposals are invalid"),
        "{}",
        f.reason
    );
}

#[test]
fn a_landed_deal_cannot_land_again() {
    let err = published()
        .apply(
            DealEvent::PublishLanded {
                deal_id: DealId(78),
            },
            &policy(),
        )
        .unwrap_err();
    assert_eq!(
        err,
        DealTransitionError::Illegal {
            state: "Published",
            event: "PublishLanded"
        }
    );
}

#[test]
fn a_misaligned_placement_is_refused() {
    let s = published();
    let err = s
        .apply(
            DealEvent::SectorAssigned {
                sector: SectorNumber(5),
                offset: 1024,
            },
            &policy(),
        )
        .unwrap_err();
    assert!(err.to_string().contains("not aligned"), "{err}");
    assert_eq!(s, published());
}

#[test]
fn a_missed_start_epoch_fails_every_state_before_active_but_publishing() {
    let missed = || DealEvent::StartEpochMissed {
        head: ChainEpoch(10_000),
    };
    let transferring = walk(accepted(), [DealEvent::TransferStarted]);
    let retry = walk(
        transferring.clone(),
        [DealEvent::TransferFailed {
            retryable: true,
            reason: "x".into(),
        }],
    );
    for s in [
        accepted(),
        transferring,
        retry,
        staged(),
        wait_publish(),
        published(),
        adding(),
        sealing(),
    ] {
        let DealState::Failed(f) = s.apply(missed(), &policy()).unwrap() else {
            panic!("expected Failed from {}", s.name())
        };
        assert_eq!(f.from, s.name());
        assert!(f.reason.contains("10000"), "{}", f.reason);
        assert_eq!(
            f.reason.contains("deal 77"),
            s.deal_id().is_some(),
            "{}",
            f.reason
        );
    }
    assert!(publishing().apply(missed(), &policy()).is_err());
    assert!(active().apply(missed(), &policy()).is_err());
}

#[test]
fn abort_is_refused_once_a_message_may_exist() {
    let abort = || DealEvent::Abort {
        reason: "client cancelled".into(),
    };
    for s in [accepted(), staged(), wait_publish()] {
        let DealState::Failed(f) = s.apply(abort(), &policy()).unwrap() else {
            panic!("expected Failed")
        };
        assert_eq!(f.reason, "aborted: client cancelled");
    }
    for s in [publishing(), published(), adding(), sealing(), active()] {
        assert!(s.apply(abort(), &policy()).is_err(), "{}", s.name());
    }
}

#[test]
fn terminal_states_refuse_everything() {
    let failed = walk(accepted(), [DealEvent::Abort { reason: "x".into() }]);
    let expired = walk(
        active(),
        [DealEvent::Expired {
            epoch: ChainEpoch(1),
        }],
    );
    let slashed = walk(
        active(),
        [DealEvent::Slashed {
            epoch: ChainEpoch(1),
        }],
    );
    for s in [failed, expired, slashed] {
        assert!(s.is_terminal());
        assert!(accepted_events(&s).is_empty(), "{}", s.name());
        assert_eq!(s.next_action(&policy()), DealAction::None);
    }
}

#[test]
fn refusals_name_the_state_and_the_event() {
    let s = staged();
    let err = s.apply(DealEvent::PieceAdded, &policy()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "PieceAdded does not apply to a deal in Staged"
    );
    assert_eq!(s, staged());
}

#[test]
fn names_are_listed() {
    for s in [
        accepted(),
        staged(),
        wait_publish(),
        publishing(),
        published(),
        adding(),
        sealing(),
        active(),
    ] {
        assert!(DealState::NAMES.contains(&s.name()));
    }
    for e in every_event() {
        assert!(DealEvent::NAMES.contains(&e.name()));
    }
}

#[test]
fn uuids_and_cids_print_and_parse() {
    let u = DealUuid::new_random();
    assert_eq!(u.to_string().parse::<DealUuid>().unwrap(), u);
    assert_eq!(uuid::Uuid::from(u).get_version_num(), 4);
    assert!("not-a-uuid".parse::<DealUuid>().is_err());
    let json = serde_json::to_string(&u).unwrap();
    assert_eq!(json, format!("\"{u}\""));
    let m = msg(1);
    assert_eq!(m.to_string().parse::<MessageCid>().unwrap(), m);
}

#[test]
fn states_survive_serialization() {
    for s in [accepted(), publishing(), sealing(), active()] {
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(serde_json::from_str::<DealState>(&json).unwrap(), s);
    }
}

fn arb_event() -> impl Strategy<Value = DealEvent> {
    let comm_p = prop_oneof![Just(COMMP), Just(OTHER)];
    prop_oneof![
        Just(DealEvent::TransferStarted),
        (0u64..5000).prop_map(|received| DealEvent::TransferProgress { received }),
        (comm_p.clone(), 0u64..2100).prop_map(|(c, b)| DealEvent::TransferDone(staged_piece(c, b))),
        any::<bool>().prop_map(|retryable| DealEvent::TransferFailed {
            retryable,
            reason: "r".into()
        }),
        Just(DealEvent::RetryTransfer),
        (comm_p, 0u64..2100).prop_map(|(c, b)| DealEvent::Imported(staged_piece(c, b))),
        Just(DealEvent::PublishQueued),
        (0u8..4).prop_map(|n| DealEvent::PublishSigned { message: msg(n) }),
        (0u64..4).prop_map(|id| DealEvent::PublishLanded {
            deal_id: DealId(id)
        }),
        Just(DealEvent::PublishMessageLost),
        any::<bool>().prop_map(|retryable| DealEvent::PublishFailed {
            retryable,
            reason: "r".into()
        }),
        (0u64..4).prop_map(|n| DealEvent::SectorAssigned {
            sector: SectorNumber(n),
            offset: n * 1024,
        }),
        Just(DealEvent::PieceAdded),
        Just(DealEvent::Activated {
            epoch: ChainEpoch(1)
        }),
        Just(DealEvent::Expired {
            epoch: ChainEpoch(2)
        }),
        Just(DealEvent::Slashed {
            epoch: ChainEpoch(3)
        }),
        Just(DealEvent::StartEpochMissed {
            head: ChainEpoch(4)
        }),
        Just(DealEvent::Abort { reason: "a".into() }),
    ]
}

proptest! {
    /// Over any event sequence: a refused event changes nothing; the
    /// publish message is only ever recorded from WaitPublish, and a deal
    /// leaves Publishing only by the message's fate; once published, the
    /// deal id and message never change; failure counts stay within the
    /// policy; nothing leaves a terminal state.
    #[test]
    fn event_sequences_keep_the_invariants(
        offline in any::<bool>(),
        events in proptest::collection::vec(arb_event(), 0..60),
    ) {
        let p = policy();
        let mut s = DealState::new(piece(), offline);
        let mut published: Option<(Option<DealId>, Option<MessageCid>)> = None;
        for e in events {
            let name = e.name();
            let before = s.clone();
            match s.apply(e, &p) {
                Err(_) => prop_assert_eq!(&s, &before),
                Ok(next) => {
                    prop_assert!(!before.is_terminal(), "{} left {}", name, before.name());
                    if matches!(next, DealState::Publishing { .. })
                        && !matches!(before, DealState::Publishing { .. })
                    {
                        prop_assert_eq!(before.name(), "WaitPublish");
                        prop_assert_eq!(name, "PublishSigned");
                    }
                    if matches!(before, DealState::Publishing { .. }) {
                        prop_assert!(
                            ["PublishLanded", "PublishMessageLost", "PublishFailed"].contains(&name),
                            "{} left Publishing", name
                        );
                    }
                    if let Some((id, message)) = &published
                        && !next.is_terminal()
                    {
                        prop_assert_eq!(&next.deal_id(), id);
                        prop_assert_eq!(&next.publish_message(), message);
                    }
                    if next.deal_id().is_some() && published.is_none() {
                        published = Some((next.deal_id(), next.publish_message()));
                    }
                    if let Some(b) = next.base() {
                        prop_assert!(b.transfer_failures < p.max_attempts);
                        prop_assert!(b.publish_failures < p.max_attempts);
                        prop_assert_eq!(b.offline, offline);
                    }
                    s = next;
                }
            }
        }
    }
}

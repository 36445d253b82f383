//! One deadline's trouble never holds up another deadline's work: the
//! WindowPoSt loop runs each deadline's proof and each window's
//! declarations as tasks of their own (issue 12).
//!
//! A scripted chain (a test double of `Chain`: the head moves when the test
//! says, messages are executed at the next epoch) holds sectors in
//! deadlines 10, 11 and 12, and their replicas are not on this node, so
//! every check fails and faults must be declared. While deadline 10 is open
//! its proof is broken on purpose, in the two ways a real one breaks: it
//! waits forever (a message or a chain call that never answers), or it
//! fails at every head. In both cases the faults of deadline 12 (declared
//! while deadline 10 is open) must land before their cutoff, and in the
//! second the failures are counted and the proof is tried again at each
//! head. No proof parameters are needed: nothing gets as far as a SNARK.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failure is a panic

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cid::Cid;
use ferrite_chain::ChainError;
use ferrite_chain::api::{
    ActorInfo, BitField, Chain, DeadlineProofs, DeadlineWindow, Execution, Head, MinerSummary,
    PartitionSectors, PowerSummary, PreCommitSummary, ProvenSector, SectorSummary,
};
use ferrite_chain::message::SignedMessage;
use ferrite_proofs::{StageLimits, Workers};
use ferrite_proving::{ProverConfig, Replica, Replicas, WindowPoster};
use ferrite_types::{ActorId, CommR, SectorNumber};
use fil_actor_miner_state::v18 as miner;
use fvm_shared::address::Address;
use fvm_shared::clock::ChainEpoch;
use fvm_shared::econ::TokenAmount;
use fvm_shared::error::ExitCode;
use fvm_shared::message::Message;
use fvm_shared::receipt::Receipt;
use fvm_shared::sector::RegisteredSealProof;
use tokio::sync::watch;

const PERIOD: ChainEpoch = 2880;
const WINDOW: ChainEpoch = 60;
/// The deadline whose proof breaks, and the sectors of each deadline.
const BROKEN: u64 = 10;
const SECTORS: [(u64, [u64; 2]); 3] = [(10, [1, 2]), (11, [3, 4]), (12, [5, 6])];

/// How the broken deadline's proof breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Breakage {
    /// Its challenge never arrives.
    Hangs,
    /// Its challenge is an error, at every try.
    Fails,
}

/// One message the prover sent.
#[derive(Debug, Clone)]
struct Sent {
    method: u64,
    params: Vec<u8>,
    at: ChainEpoch,
}

#[derive(Debug, Default)]
struct Script {
    head: ChainEpoch,
    sent: Vec<Sent>,
    /// The broken deadline's challenge epoch and how it breaks.
    broken: Option<(ChainEpoch, Breakage)>,
    challenge_calls: u64,
}

/// A scripted chain: the miner's deadlines as v18 lays them out (48 of 60
/// epochs, challenge 20 epochs before the open, fault cutoff 70), with the
/// sectors of [`SECTORS`], none of them faulty or posted.
#[derive(Debug, Default)]
struct ScriptedChain(Mutex<Script>);

impl ScriptedChain {
    fn script(&self) -> std::sync::MutexGuard<'_, Script> {
        self.0.lock().unwrap()
    }

    fn window(head: ChainEpoch) -> DeadlineWindow {
        let period_start = head - head.rem_euclid(PERIOD);
        let index = (head - period_start) / WINDOW;
        let open = period_start + index * WINDOW;
        DeadlineWindow {
            current_epoch: head,
            period_start,
            index: index as u64,
            open,
            close: open + WINDOW,
            challenge: open - 20,
            fault_cutoff: open - 70,
        }
    }
}

fn not_scripted(what: &str) -> ChainError {
    ChainError::Internal(anyhow::anyhow!("{what} is not scripted"))
}

fn sealed_cid(n: u64) -> Cid {
    let mut digest = [0u8; 32];
    digest[..8].copy_from_slice(&n.to_le_bytes());
    Cid::new_v1(
        0xf102,
        cid::multihash::Multihash::wrap(0xb401, &digest).unwrap(),
    )
}

#[async_trait::async_trait]
impl Chain for ScriptedChain {
    async fn head(&self) -> Result<Head, ChainError> {
        Ok(Head {
            height: self.script().head,
            key: vec![],
        })
    }
    async fn network_name(&self) -> Result<String, ChainError> {
        Ok("scripted".into())
    }
    async fn actor(&self, _: &Address) -> Result<Option<ActorInfo>, ChainError> {
        Err(not_scripted("actor"))
    }
    async fn lookup_id(&self, _: &Address) -> Result<Option<Address>, ChainError> {
        Err(not_scripted("lookup_id"))
    }
    async fn balance(&self, _: &Address) -> Result<TokenAmount, ChainError> {
        Err(not_scripted("balance"))
    }
    async fn send(&self, msg: Message) -> Result<Cid, ChainError> {
        let mut s = self.script();
        let at = s.head;
        s.sent.push(Sent {
            method: msg.method_num,
            params: msg.params.to_vec(),
            at,
        });
        Ok(sealed_cid(1000 + s.sent.len() as u64))
    }
    async fn push_signed(&self, _: SignedMessage) -> Result<Cid, ChainError> {
        Err(not_scripted("push_signed"))
    }
    async fn wait(&self, _: &Cid, _: i64) -> Result<Execution, ChainError> {
        Err(not_scripted("wait"))
    }
    async fn search(&self, cid: &Cid) -> Result<Option<Execution>, ChainError> {
        // Message i is executed in the epoch after the one it was sent at.
        let s = self.script();
        Ok(s.sent.iter().enumerate().find_map(|(i, m)| {
            (sealed_cid(1001 + i as u64) == *cid && s.head > m.at).then(|| Execution {
                message: *cid,
                receipt: Receipt {
                    exit_code: ExitCode::OK,
                    return_data: Default::default(),
                    gas_used: 0,
                    events_root: None,
                },
                height: m.at + 1,
            })
        }))
    }
    async fn call(&self, _: Message) -> Result<Receipt, ChainError> {
        Err(not_scripted("call"))
    }
    async fn ticket_randomness(
        &self,
        _: i64,
        round: ChainEpoch,
        _: &[u8],
    ) -> Result<[u8; 32], ChainError> {
        Ok([(round % 251) as u8; 32])
    }
    async fn beacon_randomness(
        &self,
        _: i64,
        round: ChainEpoch,
        _: &[u8],
    ) -> Result<[u8; 32], ChainError> {
        let broken = {
            let mut s = self.script();
            let b = s.broken.filter(|(at, _)| *at == round).map(|(_, b)| b);
            if b.is_some() {
                s.challenge_calls += 1;
            }
            b
        };
        match broken {
            Some(Breakage::Hangs) => std::future::pending().await,
            Some(Breakage::Fails) => Err(ChainError::Unavailable(format!(
                "injected: the beacon entry for {round} is not available"
            ))),
            None => Ok([(round % 251) as u8; 32]),
        }
    }
    async fn miner_info(&self, _: &Address) -> Result<MinerSummary, ChainError> {
        Err(not_scripted("miner_info"))
    }
    async fn precommit(&self, _: &Address, _: u64) -> Result<Option<PreCommitSummary>, ChainError> {
        Err(not_scripted("precommit"))
    }
    async fn sector(&self, _: &Address, _: u64) -> Result<Option<SectorSummary>, ChainError> {
        Err(not_scripted("sector"))
    }
    async fn proving_deadline(&self, _: &Address) -> Result<DeadlineWindow, ChainError> {
        Ok(Self::window(self.script().head))
    }
    async fn deadlines(&self, _: &Address) -> Result<Vec<DeadlineProofs>, ChainError> {
        Ok(vec![
            DeadlineProofs {
                posted: BitField::new(),
                disputable_proofs: 0,
            };
            48
        ])
    }
    async fn partitions(
        &self,
        _: &Address,
        index: u64,
    ) -> Result<Vec<PartitionSectors>, ChainError> {
        Ok(SECTORS
            .iter()
            .filter(|(d, _)| *d == index)
            .map(|(_, numbers)| {
                let all = BitField::try_from_bits(numbers.iter().copied()).unwrap();
                PartitionSectors {
                    all: all.clone(),
                    faulty: BitField::new(),
                    recovering: BitField::new(),
                    live: all.clone(),
                    active: all,
                }
            })
            .collect())
    }
    async fn sectors(
        &self,
        _: &Address,
        numbers: &BitField,
    ) -> Result<Vec<ProvenSector>, ChainError> {
        Ok(numbers
            .iter()
            .map(|n| ProvenSector {
                number: n,
                seal_proof: RegisteredSealProof::StackedDRG2KiBV1P1,
                sealed_cid: sealed_cid(n),
                activation: 1,
                expiration: 1_000_000,
            })
            .collect())
    }
    async fn miner_power(&self, _: &Address) -> Result<PowerSummary, ChainError> {
        Ok(PowerSummary::default())
    }
}

/// No replica is on this node: every check fails.
#[derive(Debug)]
struct NoReplicas;

impl Replicas for NoReplicas {
    fn locate(&self, _: ActorId, _: SectorNumber, _: CommR) -> Option<Replica> {
        None
    }
}

/// The sectors each DeclareFaults the prover sent names, by deadline, with
/// the epoch it was sent at.
fn declared_faults(sent: &[Sent]) -> BTreeMap<u64, (Vec<u64>, ChainEpoch)> {
    let mut out = BTreeMap::new();
    for m in sent
        .iter()
        .filter(|m| m.method == miner::Method::DeclareFaults as u64)
    {
        let p: miner::DeclareFaultsParams = fvm_ipld_encoding::from_slice(&m.params).unwrap();
        for f in p.faults {
            out.insert(f.deadline, (f.sectors.iter().collect(), m.at));
        }
    }
    out
}

/// Runs a prover over one pass through the broken deadline's window, the
/// head moving one epoch every 20 ms, and returns the chain and prover.
async fn pass(breakage: Breakage, period: ChainEpoch) -> (Arc<ScriptedChain>, Arc<WindowPoster>) {
    let open = period * PERIOD + BROKEN as i64 * WINDOW;
    let chain = Arc::new(ScriptedChain::default());
    {
        let mut s = chain.script();
        s.head = open - 30;
        s.broken = Some((open - 20, breakage));
    }
    let prover = Arc::new(
        WindowPoster::new(
            chain.clone(),
            Arc::new(NoReplicas),
            Workers::new(&StageLimits::default()).unwrap(),
            ProverConfig {
                miner: Address::new_id(1000),
                sender: Address::new_id(100),
                poll_interval: Duration::from_millis(5),
                challenge_confidence: 0,
                partitions_per_message: 10,
            },
        )
        .unwrap(),
    );
    let (stop, rx) = watch::channel(false);
    let task = tokio::spawn(prover.clone().run(rx));
    // From before the broken deadline's challenge to the middle of its
    // window: its proof breaks from the challenge on.
    while chain.script().head < open + 30 {
        tokio::time::sleep(Duration::from_millis(20)).await;
        chain.script().head += 1;
    }
    stop.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .expect("the loop stops even with a task that hangs")
        .unwrap();
    (chain, prover)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_proof_that_hangs_delays_no_declaration() {
    let (chain, prover) = pass(Breakage::Hangs, 3).await;
    let s = chain.script();
    let open = 3 * PERIOD + BROKEN as i64 * WINDOW;
    assert!(s.challenge_calls >= 1, "the broken proof was started");
    let faults = declared_faults(&s.sent);
    // Deadline 12's faults are declared while deadline 10 is open, before
    // 12's cutoff, though 10's proof never ends.
    let (sectors, at) = faults.get(&12).expect("deadline 12's faults declared");
    assert_eq!(sectors, &vec![5, 6]);
    let cutoff = open + 2 * WINDOW - 70;
    assert!(*at >= open && *at < cutoff, "sent at {at}, cutoff {cutoff}");
    let check = prover
        .checks()
        .into_iter()
        .find(|c| c.deadline == 12)
        .expect("deadline 12's check recorded once its messages landed");
    assert_eq!(check.declared_faulty, vec![5, 6]);
    // Deadline 11's proof (its challenge comes while 10 is open) ran too:
    // every sector failed the check, so there was nothing to send.
    assert!(
        !s.sent
            .iter()
            .any(|m| m.method == miner::Method::SubmitWindowedPoSt as u64),
        "no PoSt without replicas"
    );
    // One task for the broken deadline at a time, however many heads pass.
    assert_eq!(s.challenge_calls, 1, "the hung task is not started again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_proof_that_fails_at_every_head_is_retried_and_delays_no_declaration() {
    let (chain, prover) = pass(Breakage::Fails, 5).await;
    let s = chain.script();
    let open = 5 * PERIOD + BROKEN as i64 * WINDOW;
    // Tried again at the heads after each failure, and every failure counted.
    assert!(
        s.challenge_calls >= 10,
        "retried at each head: {} tries",
        s.challenge_calls
    );
    assert!(
        prover.task_failures() >= s.challenge_calls - 1,
        "{} failures for {} tries",
        prover.task_failures(),
        s.challenge_calls
    );
    let (sectors, at) = declared_faults(&s.sent)
        .get(&12)
        .cloned()
        .expect("deadline 12's faults declared");
    assert_eq!(sectors, vec![5, 6]);
    assert!(at < open + 2 * WINDOW - 70, "before the cutoff");
}

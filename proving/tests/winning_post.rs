//! WinningPoSt in devnet blocks, with real 2 KiB proofs: a sector is sealed
//! to Proving through the pipeline (sealing's test network), the node's
//! miner becomes the block miner with [`WinningProver`] as its prover, and a
//! real Window PoSt (made and sent by the test itself, not by the proving
//! scheduler) gives the sector power. From then on:
//!
//! - every block is the miner's, with an election proof, a WinningPoSt and a
//!   block signature that `validate_winning_post` accepts, and it pays the
//!   miner exactly the block reward (`this_epoch_reward / 5`);
//! - a block whose WinningPoSt was tampered with (and re-signed) is rejected
//!   by `validate_winning_post`, and the head does not move;
//! - when the prover fails, is missing, or returns a proof that does not
//!   verify, the chain goes on with blocks that have no winner (f00) and pay
//!   no reward.
//!
//! It also times a warm WinningPoSt block against an unelected one (the
//! figure behind `Devnet::produce_block_unelected` for Ferrite.ChainAdvance:
//! about 4.3 s against 5 ms on two cores), and checks that the head lock is
//! free while the WinningPoSt is made.
//!
//! One sector, one C2, and a few thousand fast blocks to reach the sector's
//! deadline: a few minutes on two cores.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failure is a panic

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cid::Cid;
use ferrite_chain::ChainError;
use ferrite_chain::api::Chain;
use ferrite_chain::block::{BlockHeader, TipSet};
use ferrite_chain::devnet::RandomnessSource;
use ferrite_chain::randomness::DomainSeparationTag;
use ferrite_chain::winning::{self, BlockProver, WinningPostRequest};
use ferrite_proofs::post::{PostInput, ProvingSector};
use ferrite_proving::winning::WinningProver;
use ferrite_proving::{Replica, Replicas};
use ferrite_sealing::tasks::SectorFiles;
use ferrite_sealing::testnet::{self, TestNet};
use ferrite_types::{
    ActorId, CommR, PostRandomness, SealProof, SectorId, SectorNumber, SectorSize,
};
use fil_actor_miner_state::v18 as miner;
use fvm_ipld_bitfield::BitField;
use fvm_ipld_encoding::{CborStore, RawBytes};
use fvm_shared::address::Address;
use fvm_shared::crypto::signature::Signature;
use fvm_shared::econ::TokenAmount;
use fvm_shared::message::Message;
use fvm_shared::randomness::Randomness;
use fvm_shared::sector::{PoStProof, RegisteredPoStProof};
use serde::de::IgnoredAny;

/// The sector files the test's pipeline wrote, as the node's replicas.
/// Its sectors are not snapped: the sealed pair, whatever the CommR.
#[derive(Debug)]
struct SealDir(std::path::PathBuf);

impl Replicas for SealDir {
    fn locate(&self, miner: ActorId, number: SectorNumber, _: CommR) -> Option<Replica> {
        let f = SectorFiles::new(&self.0, SectorId::new(miner, number));
        f.sealed.exists().then_some(Replica {
            sealed: f.sealed,
            cache: f.cache,
        })
    }
}

/// A prover whose WinningPoSt always fails (a lost replica, say).
#[derive(Debug)]
struct FailingProver(Arc<WinningProver>);

impl BlockProver for FailingProver {
    fn sign(&self, key: &Address, data: &[u8]) -> anyhow::Result<Signature> {
        self.0.sign(key, data)
    }
    fn prove(&self, _: &WinningPostRequest) -> anyhow::Result<Vec<PoStProof>> {
        anyhow::bail!("the replica is gone")
    }
}

/// A prover that flips a byte of a real WinningPoSt.
#[derive(Debug)]
struct TamperingProver(Arc<WinningProver>);

impl BlockProver for TamperingProver {
    fn sign(&self, key: &Address, data: &[u8]) -> anyhow::Result<Signature> {
        self.0.sign(key, data)
    }
    fn prove(&self, req: &WinningPostRequest) -> anyhow::Result<Vec<PoStProof>> {
        let mut proofs = self.0.prove(req)?;
        proofs[0].proof_bytes[20] ^= 0x01;
        Ok(proofs)
    }
}

/// The real prover, timing its WinningPoSt generation.
#[derive(Debug)]
struct TimedProver {
    inner: Arc<WinningProver>,
    proving: Mutex<Duration>,
}

impl BlockProver for TimedProver {
    fn sign(&self, key: &Address, data: &[u8]) -> anyhow::Result<Signature> {
        self.inner.sign(key, data)
    }
    fn prove(&self, req: &WinningPostRequest) -> anyhow::Result<Vec<PoStProof>> {
        let t = Instant::now();
        let out = self.inner.prove(req);
        *self.proving.lock().unwrap() += t.elapsed();
        out
    }
}

fn head_block(ts: &TipSet) -> BlockHeader {
    ts.blocks[0].clone()
}

/// The balance of `addr` in `state`.
fn balance_in(net: &TestNet, key: &[Cid], addr: &Address) -> TokenAmount {
    net.devnet.actor(addr, key).unwrap().unwrap().balance
}

/// The reward actor's `this_epoch_reward` in the state tipset `key` reads
/// (builtin-actors v18's reward state: the fifth of its eleven fields).
fn this_epoch_reward(net: &TestNet, key: &[Cid]) -> TokenAmount {
    let actor = net.devnet.actor(&Address::new_id(2), key).unwrap().unwrap();
    type RewardState = (
        IgnoredAny,
        IgnoredAny,
        IgnoredAny,
        IgnoredAny,
        TokenAmount,
        IgnoredAny,
        IgnoredAny,
        IgnoredAny,
        IgnoredAny,
        IgnoredAny,
        IgnoredAny,
    );
    let st: RewardState = net
        .devnet
        .blockstore()
        .get_cbor(&actor.state)
        .unwrap()
        .unwrap();
    st.4
}

/// What block `ts` paid `miner`: its balance after the block (read through
/// `next`, the block above) less its balance before, and the block reward
/// the reward actor pays for one win (`this_epoch_reward / 5`, read in the
/// state the block executes on).
fn payment(
    net: &TestNet,
    ts: &TipSet,
    next: &TipSet,
    miner: &Address,
) -> (TokenAmount, TokenAmount) {
    let paid = balance_in(net, &next.key, miner) - balance_in(net, &ts.key, miner);
    let reward = TokenAmount::from_atto(this_epoch_reward(net, &ts.key).atto() / 5);
    (paid, reward)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "real 2 KiB proofs: needs `ferrite params generate --sizes 2KiB` (scripts/test runs it)"]
async fn blocks_carry_a_verified_winning_post_once_the_miner_has_power() {
    testnet::init_proofs_from_env().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let net = TestNet::start(dir.path()).await.unwrap();
    let t = Instant::now();
    let sealed = net.seal_cc_sector().await.unwrap();
    eprintln!("sealed sector {} in {:?}", sealed.id, t.elapsed());
    net.pause_producer().await.unwrap();
    let n = sealed.id.number;
    let miner_id = net.miner_id().unwrap();

    let prover = Arc::new(WinningProver::new(
        Arc::new(SealDir(net.seal_dir())),
        net.wallet.clone(),
    ));
    net.devnet.set_block_miner(Some(net.miner)).unwrap();
    net.devnet.set_block_prover(Some(prover.clone()));

    // Bootstrap: no power yet, so the miner's blocks carry no proofs.
    let b = head_block(&net.produce_block().await.unwrap());
    assert_eq!(b.miner, net.miner);
    assert!(b.election_proof.is_none() && b.win_post_proof.is_empty());
    net.devnet
        .validate_winning_post(&b, &b.parent_state_root)
        .unwrap();

    // A real Window PoSt at the sector's deadline gives it power.
    let st = net.miner_state().unwrap();
    let bs = net.devnet.blockstore();
    let (dl, part) = st.find_sector(bs, n.0).unwrap();
    let policy = ferrite_chain::rpc::state::devnet_policy();
    let info = miner::new_deadline_info(
        &policy,
        st.proving_period_start,
        dl,
        net.devnet.head().height(),
    )
    .next_not_elapsed();
    eprintln!(
        "sector {n} is in deadline {dl} partition {part}, open at {} (head {})",
        info.open,
        net.devnet.head().height()
    );
    let t = Instant::now();
    while net.devnet.head().height() < info.open {
        let b = head_block(&net.produce_block().await.unwrap());
        assert!(
            b.election_proof.is_none(),
            "no power before the Window PoSt"
        );
    }
    eprintln!("reached the deadline in {:?}", t.elapsed());
    let entropy = fvm_ipld_encoding::to_vec(&net.miner).unwrap();
    let rand = net
        .devnet
        .randomness(
            RandomnessSource::Beacon,
            DomainSeparationTag::WindowedPoStChallengeSeed as i64,
            info.challenge,
            &entropy,
        )
        .unwrap();
    let files = net.sector_files(n).unwrap();
    let window = ferrite_proofs::post::generate_window_post(&PostInput {
        proof: SealProof::new(SectorSize::S2KiB).window_post(),
        miner: miner_id,
        randomness: PostRandomness::new(rand),
        sectors: vec![ProvingSector {
            number: n,
            comm_r: CommR::from_cid(&st.get_sector(bs, n.0).unwrap().unwrap().sealed_cid).unwrap(),
            cache_dir: files.cache.clone(),
            sealed_path: files.sealed.clone(),
        }],
    })
    .unwrap();
    let commit_epoch = net.devnet.head().height() - 1;
    let commit_rand = net
        .devnet
        .randomness(
            RandomnessSource::Tickets,
            DomainSeparationTag::PoStChainCommit as i64,
            commit_epoch,
            &[],
        )
        .unwrap();
    let params = miner::SubmitWindowedPoStParams {
        deadline: dl,
        partitions: vec![miner::PoStPartition {
            index: part,
            skipped: BitField::new(),
        }],
        proofs: vec![PoStProof {
            post_proof: RegisteredPoStProof::StackedDRGWindow2KiBV1P1,
            proof_bytes: window[0].bytes.clone(),
        }],
        chain_commit_epoch: commit_epoch,
        chain_commit_rand: Randomness(commit_rand.to_vec()),
    };
    let posted = net
        .chain
        .send(Message {
            version: 0,
            from: net.worker,
            to: net.miner,
            sequence: 0,
            value: TokenAmount::default(),
            method_num: miner::Method::SubmitWindowedPoSt as u64,
            params: RawBytes::serialize(&params).unwrap(),
            gas_limit: 0,
            gas_fee_cap: TokenAmount::default(),
            gas_premium: TokenAmount::default(),
        })
        .await
        .unwrap();
    let executed = loop {
        net.produce_block().await.unwrap();
        if let Some(x) = net.chain.search(&posted).await.unwrap() {
            break x;
        }
    };
    assert!(
        executed.receipt.exit_code.is_success(),
        "SubmitWindowedPoSt: {:?}",
        executed.receipt
    );

    // Power arrives with the Window PoSt (its first proof activates the
    // sector's power); from then on every block is elected and proven.
    let t = Instant::now();
    let first_elected = loop {
        let ts = net.produce_block().await.unwrap();
        let b = head_block(&ts);
        if b.election_proof.is_some() {
            break b;
        }
        assert_eq!(b.miner, net.miner, "bootstrap blocks until then");
        assert!(
            ts.height() <= info.close + 2,
            "no power after the deadline closed"
        );
    };
    eprintln!(
        "first elected block at {} (deadline closed at {}), after {:?}",
        first_elected.height,
        info.close,
        t.elapsed()
    );
    // These blocks are timed too (warm: the first elected block is behind).
    let timed = Arc::new(TimedProver {
        inner: prover.clone(),
        proving: Mutex::new(Duration::ZERO),
    });
    net.devnet.set_block_prover(Some(timed.clone()));
    let (mut elected, mut checking) = (Duration::ZERO, Duration::ZERO);
    let mut blocks = Vec::new();
    for _ in 0..4 {
        let t = Instant::now();
        blocks.push(net.produce_block().await.unwrap());
        elected += t.elapsed();
    }
    net.devnet.set_block_prover(Some(prover.clone()));
    for (i, ts) in blocks.iter().enumerate() {
        let b = head_block(ts);
        assert_eq!(b.miner, net.miner);
        let ep = b.election_proof.as_ref().expect("an election proof");
        assert_eq!(ep.win_count, 1);
        assert_eq!(ep.vrf_proof.len(), 96, "a BLS signature");
        assert_eq!(b.win_post_proof.len(), 1);
        assert_eq!(
            b.win_post_proof[0].post_proof,
            RegisteredPoStProof::StackedDRGWinning2KiBV1
        );
        assert!(b.block_sig.is_some());
        let t = Instant::now();
        net.devnet
            .validate_winning_post(&b, &b.parent_state_root)
            .unwrap();
        checking += t.elapsed();
        if let Some(next) = blocks.get(i + 1) {
            let (paid, reward) = payment(&net, ts, next, &net.miner);
            assert!(reward.is_positive());
            assert_eq!(
                paid, reward,
                "the block at {} pays the block reward",
                b.height
            );
        }
    }

    // Timing: an unelected block against an elected one (both warm).
    let t = Instant::now();
    for _ in 0..5 {
        let b = head_block(
            &tokio::task::spawn_blocking({
                let dn = net.devnet.clone();
                move || dn.produce_block_unelected()
            })
            .await
            .unwrap()
            .unwrap(),
        );
        assert_eq!(b.miner, Address::new_id(0), "fast-forward: no winner");
    }
    let unelected = t.elapsed() / 5;
    let n_elected = u32::try_from(blocks.len()).unwrap();
    eprintln!(
        "warm, per block: elected {:?} (of which WinningPoSt generation {:?}, the check {:?}), unelected {unelected:?}",
        elected / n_elected,
        *timed.proving.lock().unwrap() / n_elected,
        checking / n_elected,
    );

    // The WinningPoSt is made without the head lock: the pool and the
    // state stay readable while an elected block is being produced.
    let producing = tokio::task::spawn_blocking({
        let dn = net.devnet.clone();
        move || dn.produce_block()
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let t = Instant::now();
    let dn = net.devnet.clone();
    let worker = net.worker;
    tokio::task::spawn_blocking(move || dn.next_nonce(&worker))
        .await
        .unwrap()
        .unwrap();
    let waited = t.elapsed();
    let b = head_block(&producing.await.unwrap().unwrap());
    assert!(b.election_proof.is_some());
    assert!(
        waited < Duration::from_millis(500),
        "a nonce query waited {waited:?} for block production"
    );

    // A tampered WinningPoSt, re-signed so that only the proof is wrong, is
    // rejected, and checking it leaves the head where it was.
    let head = net.devnet.head();
    let mut bad = head_block(&head);
    bad.win_post_proof[0].proof_bytes[20] ^= 0x01;
    let worker_key = net.devnet.account_key(&net.worker, &[]).unwrap();
    bad.block_sig = None;
    bad.block_sig = Some(
        prover
            .sign(&worker_key, &winning::signing_bytes(&bad).unwrap())
            .unwrap(),
    );
    let err = net
        .devnet
        .validate_winning_post(&bad, &bad.parent_state_root)
        .unwrap_err();
    assert!(
        matches!(&err, ChainError::Execution(m) if m.contains("WinningPoSt")),
        "{err}"
    );
    // Without the re-signature the block signature catches it first.
    let mut unsigned = head_block(&head);
    unsigned.win_post_proof[0].proof_bytes[20] ^= 0x01;
    assert!(
        net.devnet
            .validate_winning_post(&unsigned, &unsigned.parent_state_root)
            .is_err()
    );
    // A block by a miner with power and no proofs at all is rejected too.
    let mut bare = head_block(&head);
    bare.election_proof = None;
    bare.win_post_proof.clear();
    bare.block_sig = None;
    assert!(
        net.devnet
            .validate_winning_post(&bare, &bare.parent_state_root)
            .is_err()
    );
    assert_eq!(net.devnet.head(), head, "the head did not move");

    // When the prover fails, is missing, or tampers, the chain goes on
    // without a winner and without a reward.
    for p in [
        Some(Arc::new(FailingProver(prover.clone())) as Arc<dyn BlockProver>),
        None,
        Some(Arc::new(TamperingProver(prover.clone())) as Arc<dyn BlockProver>),
    ] {
        net.devnet.set_block_prover(p);
        let height = net.devnet.head().height();
        let ts = net.produce_block().await.unwrap();
        let next = net.produce_block().await.unwrap();
        let (paid, _) = payment(&net, &ts, &next, &net.miner);
        assert_eq!(ts.height(), height + 1, "the chain did not stall");
        let b = head_block(&ts);
        assert_eq!(b.miner, Address::new_id(0));
        assert!(b.election_proof.is_none() && b.win_post_proof.is_empty());
        assert!(b.block_sig.is_none());
        assert!(
            paid.is_zero(),
            "no reward without a verified WinningPoSt: {paid}"
        );
        net.devnet
            .validate_winning_post(&b, &b.parent_state_root)
            .unwrap();
    }

    // With the prover back, the miner wins again.
    net.devnet.set_block_prover(Some(prover));
    let b = head_block(&net.produce_block().await.unwrap());
    assert_eq!(b.miner, net.miner);
    assert!(b.election_proof.is_some());
    net.stop().await.unwrap();
}

//! SnapDeals (ProveReplicaUpdates3), CompactPartitions and the sector
//! getters (GenerateSectorLocation, ValidateSectorStatus,
//! GetNominalSectorExpiration) on the devnet with real 2 KiB proofs.
//!
//! One committed-capacity sector is sealed, proven and given power by a
//! real Window PoSt; the getters are asked about it; a deal's data is
//! encoded into it and the real replica-update proof is submitted (a
//! tampered one is refused), which activates the deal in the market; then
//! its deadline is compacted once the dispute window has passed. The
//! scenario runs on Ferrite's bundle and, when `FERRITE_REFERENCE_BUNDLE`
//! names it, on the official builtin-actors v18 `devnet` bundle, and every
//! step's exit code and return value, and the sector and deadline records
//! after the update and the compaction, must be the same on both.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failure is a panic

mod common;

use std::path::{Path, PathBuf};

use common::net::{Executed, Net};
use common::{Actors, bundles};
use ferrite_chain::devnet::RandomnessSource;
use ferrite_chain::genesis::{MARKET_ACTOR, POWER_ACTOR};
use ferrite_chain::wallet::PrivateKey;
use ferrite_proofs::post::{self, PostInput, ProvingSector};
use ferrite_proofs::seal::{self, AddPieceInput, C1Input, C2Input, Pc1Input, Pc2Input, Pc2Output};
use ferrite_proofs::update::{self, EncodeInput, Encoded, ProveInput};
use ferrite_types::{
    ActorId, PaddedPieceSize, PieceInfo, PostRandomness, SealProof, SectorId, SectorNumber,
    SectorSize, Seed, Ticket,
};
use fil_actor_market_state::v18 as market;
use fil_actor_miner_state::v18 as miner;
use fil_actor_power_state::v18 as power;
use fil_actors_shared::v18::BatchReturn;
use fil_actors_shared::v18::runtime::DomainSeparationTag;
use fvm_ipld_bitfield::BitField;
use fvm_ipld_encoding::RawBytes;
use fvm_shared::address::Address;
use fvm_shared::econ::TokenAmount;
use fvm_shared::error::ExitCode;
use fvm_shared::randomness::Randomness;
use fvm_shared::sector::{PoStProof, RegisteredPoStProof, RegisteredSealProof};
use num_traits::Zero;

/// The sector this scenario seals and updates.
const SECTOR: u64 = 1;
/// A sector the miner never had.
const NO_SECTOR: u64 = 999;

/// The scenario's own ways to drive a [`Net`].
trait Drive {
    /// Sends a message signed by `key` with `params` CBOR-encoded, produces
    /// blocks until it has executed, and returns its receipt.
    fn exec<P: serde::Serialize + ?Sized>(
        &self,
        key: &PrivateKey,
        to: Address,
        method: u64,
        params: &P,
        value: TokenAmount,
    ) -> Executed;
    fn miner_state(&self, m: &Miner) -> miner::State;
}

impl Drive for Net {
    fn exec<P: serde::Serialize + ?Sized>(
        &self,
        key: &PrivateKey,
        to: Address,
        method: u64,
        params: &P,
        value: TokenAmount,
    ) -> Executed {
        self.exec_raw(key, to, method, RawBytes::serialize(params).unwrap(), value)
    }

    fn miner_state(&self, m: &Miner) -> miner::State {
        self.state(m.id)
    }
}

fn devnet_policy() -> fil_actors_shared::v18::runtime::Policy {
    ferrite_chain::rpc::state::devnet_policy()
}

struct Miner {
    id: u64,
    addr: Address,
}

impl Miner {
    /// The miner's randomness entropy: its address in CBOR.
    fn entropy(&self) -> Vec<u8> {
        fvm_ipld_encoding::to_vec(&self.addr).unwrap()
    }
}

/// Every step's outcome, compared between the bundles: the exit code and
/// the return value, or a record read from state.
#[derive(Debug, Default)]
struct Trace {
    steps: Vec<(&'static str, ExitCode, Vec<u8>)>,
}

impl Trace {
    /// Records `e`, which must have ended with `want`.
    fn expect(&mut self, net: &Net, step: &'static str, e: &Executed, want: ExitCode) {
        assert_eq!(e.exit(), want, "{step} on {:?}: {}", net.actors, e.failure);
        self.steps
            .push((step, e.exit(), e.receipt.return_data.to_vec()));
    }

    /// Records a state record (its CBOR).
    fn record<T: serde::Serialize>(&mut self, step: &'static str, value: &T) {
        self.steps.push((
            step,
            ExitCode::OK,
            fvm_ipld_encoding::to_vec(value).unwrap(),
        ));
    }
}

fn create_miner(net: &Net) -> Miner {
    let params = power::CreateMinerParams {
        owner: net.owner.address().unwrap(),
        worker: net.worker.address().unwrap(),
        window_post_proof_type: RegisteredPoStProof::StackedDRGWindow2KiBV1P1,
        peer: b"12D3KooWferrite".to_vec(),
        multiaddrs: vec![],
    };
    let done = net.exec(
        &net.owner,
        Address::new_id(POWER_ACTOR),
        power::Method::CreateMiner as u64,
        &params,
        TokenAmount::from_whole(100),
    );
    assert_eq!(done.exit(), ExitCode::OK, "CreateMiner: {}", done.failure);
    let ret: power::CreateMinerReturn = done.ret();
    Miner {
        id: ret.id_address.id().unwrap(),
        addr: ret.id_address,
    }
}

/// The CC sector, sealed for real (PC1, PC2).
struct Sealed {
    seal_rand_epoch: i64,
    ticket: Ticket,
    commitments: Pc2Output,
    cache: PathBuf,
    sealed: PathBuf,
    pieces: Vec<PieceInfo>,
}

fn unpadded_sector() -> ferrite_types::UnpaddedPieceSize {
    PaddedPieceSize::from(SectorSize::S2KiB).unpadded()
}

fn seal_cc_sector(net: &Net, m: &Miner, work: &Path) -> Sealed {
    let proof = SealProof::new(SectorSize::S2KiB);
    let (staged, sealed, cache) = (work.join("cc"), work.join("sealed"), work.join("cache"));
    let zeros = vec![0u8; usize::try_from(unpadded_sector().bytes()).unwrap()];
    let added = seal::add_piece(
        &AddPieceInput {
            proof,
            staged_path: staged.clone(),
            size: unpadded_sector(),
            existing: vec![],
        },
        &zeros[..],
    )
    .unwrap();
    let seal_rand_epoch = net.height() - 1;
    let ticket = Ticket(net.randomness(
        RandomnessSource::Tickets,
        DomainSeparationTag::SealRandomness,
        seal_rand_epoch,
        &m.entropy(),
    ));
    let pieces = vec![added.piece];
    let pc1 = seal::pc1(&Pc1Input {
        proof,
        sector: SectorId::new(ActorId(m.id), SectorNumber(SECTOR)),
        staged_path: staged,
        sealed_path: sealed.clone(),
        cache_dir: cache.clone(),
        ticket,
        pieces: pieces.clone(),
    })
    .unwrap();
    let commitments = seal::pc2(Pc2Input {
        pc1,
        cache_dir: cache.clone(),
        sealed_path: sealed.clone(),
    })
    .unwrap();
    Sealed {
        seal_rand_epoch,
        ticket,
        commitments,
        cache,
        sealed,
        pieces,
    }
}

/// Pre-commits, waits for the seed and proves the CC sector.
fn onboard(net: &Net, m: &Miner, s: &Sealed, trace: &mut Trace) {
    let params = miner::PreCommitSectorBatchParams2 {
        sectors: vec![miner::SectorPreCommitInfo {
            seal_proof: RegisteredSealProof::StackedDRG2KiBV1P1,
            sector_number: SECTOR,
            sealed_cid: s.commitments.comm_r.to_cid(),
            seal_rand_epoch: s.seal_rand_epoch,
            deal_ids: vec![],
            expiration: net.height() + devnet_policy().min_sector_expiration + 100_000,
            unsealed_cid: miner::CompactCommD::empty(),
        }],
    };
    let pc = net.exec(
        &net.worker,
        m.addr,
        miner::Method::PreCommitSectorBatch2 as u64,
        &params,
        TokenAmount::from_whole(10),
    );
    trace.expect(net, "PreCommitSectorBatch2", &pc, ExitCode::OK);

    let seed_epoch = pc.epoch + devnet_policy().pre_commit_challenge_delay;
    net.advance_to(seed_epoch + 1);
    let seed = Seed(net.randomness(
        RandomnessSource::Beacon,
        DomainSeparationTag::InteractiveSealChallengeSeed,
        seed_epoch,
        &m.entropy(),
    ));
    let sector = SectorId::new(ActorId(m.id), SectorNumber(SECTOR));
    let c1 = seal::c1(&C1Input {
        proof: SealProof::new(SectorSize::S2KiB),
        sector,
        cache_dir: s.cache.clone(),
        sealed_path: s.sealed.clone(),
        ticket: s.ticket,
        seed,
        commitments: s.commitments,
        pieces: s.pieces.clone(),
    })
    .unwrap();
    let proof = common::c2_once(&C2Input { c1, sector });
    let params = miner::ProveCommitSectors3Params {
        sector_activations: vec![miner::SectorActivationManifest {
            sector_number: SECTOR,
            pieces: vec![],
        }],
        sector_proofs: vec![proof.into()],
        aggregate_proof: RawBytes::default(),
        aggregate_proof_type: None,
        require_activation_success: true,
        require_notification_success: true,
    };
    let proved = net.exec(
        &net.worker,
        m.addr,
        miner::Method::ProveCommitSectors3 as u64,
        &params,
        TokenAmount::from_whole(10),
    );
    trace.expect(net, "ProveCommitSectors3", &proved, ExitCode::OK);
}

/// A real Window PoSt of the sector at its deadline `dl`; returns that
/// deadline's info.
fn window_post(net: &Net, m: &Miner, s: &Sealed, dl: u64, part: u64) -> miner::DeadlineInfo {
    let st = net.miner_state(m);
    let info =
        miner::new_deadline_info(&devnet_policy(), st.proving_period_start, dl, net.height())
            .next_not_elapsed();
    net.advance_to(info.open);
    let rand = PostRandomness::new(net.randomness(
        RandomnessSource::Beacon,
        DomainSeparationTag::WindowedPoStChallengeSeed,
        info.challenge,
        &m.entropy(),
    ));
    let mut proofs = post::generate_window_post(&PostInput {
        proof: SealProof::new(SectorSize::S2KiB).window_post(),
        miner: ActorId(m.id),
        randomness: rand,
        sectors: vec![ProvingSector {
            number: SectorNumber(SECTOR),
            comm_r: s.commitments.comm_r,
            cache_dir: s.cache.clone(),
            sealed_path: s.sealed.clone(),
        }],
    })
    .unwrap();
    let commit_epoch = net.height() - 1;
    let commit_rand = net.randomness(
        RandomnessSource::Tickets,
        DomainSeparationTag::PoStChainCommit,
        commit_epoch,
        &[],
    );
    let params = miner::SubmitWindowedPoStParams {
        deadline: dl,
        partitions: vec![miner::PoStPartition {
            index: part,
            skipped: BitField::new(),
        }],
        proofs: vec![PoStProof {
            post_proof: RegisteredPoStProof::StackedDRGWindow2KiBV1P1,
            proof_bytes: proofs.remove(0).bytes,
        }],
        chain_commit_epoch: commit_epoch,
        chain_commit_rand: Randomness(commit_rand.to_vec()),
    };
    let done = net.exec(
        &net.worker,
        m.addr,
        miner::Method::SubmitWindowedPoSt as u64,
        &params,
        TokenAmount::default(),
    );
    assert_eq!(done.exit(), ExitCode::OK, "Window PoSt: {}", done.failure);
    info
}

/// The getters, asked about the live sector at `(dl, part)` and about one
/// the miner never had.
fn getters(net: &Net, m: &Miner, dl: u64, part: u64, trace: &mut Trace) {
    let location = |n: u64| {
        net.exec(
            &net.owner,
            m.addr,
            miner::Method::GenerateSectorLocationExported as u64,
            &miner::GenerateSectorLocationParams { sector_number: n },
            TokenAmount::default(),
        )
    };
    let validate = |n: u64, status: miner::SectorStatusCode, aux_data: Vec<u8>| {
        net.exec(
            &net.owner,
            m.addr,
            miner::Method::ValidateSectorStatusExported as u64,
            &miner::ValidateSectorStatusParams {
                sector_number: n,
                status,
                aux_data,
            },
            TokenAmount::default(),
        )
    };
    let aux = |deadline: i64, partition: i64| {
        fvm_ipld_encoding::to_vec(&miner::SectorLocation {
            deadline,
            partition,
        })
        .unwrap()
    };
    let nowhere = aux(miner::NO_DEADLINE, miner::NO_PARTITION);

    let live = location(SECTOR);
    trace.expect(net, "GenerateSectorLocation", &live, ExitCode::OK);
    let ret: miner::GenerateSectorLocationReturn = live.ret();
    assert_eq!(ret.status, miner::SectorStatusCode::Active);
    let at: miner::SectorLocation = fvm_ipld_encoding::from_slice(&ret.aux_data).unwrap();
    assert_eq!((at.deadline, at.partition), (dl as i64, part as i64));

    let gone = location(NO_SECTOR);
    trace.expect(net, "GenerateSectorLocation no sector", &gone, ExitCode::OK);
    let ret: miner::GenerateSectorLocationReturn = gone.ret();
    assert_eq!(ret.status, miner::SectorStatusCode::Dead);
    assert_eq!(ret.aux_data, nowhere);

    use miner::SectorStatusCode::{Active, Dead, Faulty};
    let here = aux(dl as i64, part as i64);
    for (step, n, status, aux_data, code, valid) in [
        (
            "ValidateSectorStatus active",
            SECTOR,
            Active,
            here.clone(),
            ExitCode::OK,
            Some(true),
        ),
        (
            "ValidateSectorStatus dead",
            SECTOR,
            Dead,
            here.clone(),
            ExitCode::OK,
            Some(false),
        ),
        (
            "ValidateSectorStatus faulty",
            SECTOR,
            Faulty,
            here.clone(),
            ExitCode::OK,
            Some(false),
        ),
        (
            "ValidateSectorStatus bad aux",
            SECTOR,
            Active,
            vec![1, 2, 3, 4],
            ExitCode::USR_ILLEGAL_ARGUMENT,
            None,
        ),
        (
            "ValidateSectorStatus half a location",
            SECTOR,
            Dead,
            aux(miner::NO_DEADLINE, 0),
            ExitCode::USR_ILLEGAL_ARGUMENT,
            None,
        ),
        (
            "ValidateSectorStatus other sector",
            NO_SECTOR,
            Active,
            here.clone(),
            ExitCode::USR_NOT_FOUND,
            None,
        ),
        (
            "ValidateSectorStatus no sector nowhere",
            NO_SECTOR,
            Dead,
            nowhere.clone(),
            ExitCode::OK,
            Some(true),
        ),
        (
            "ValidateSectorStatus live sector nowhere",
            SECTOR,
            Dead,
            nowhere.clone(),
            ExitCode::USR_NOT_FOUND,
            None,
        ),
        (
            "ValidateSectorStatus no deadline 60",
            SECTOR,
            Active,
            aux(60, 0),
            ExitCode::USR_ILLEGAL_ARGUMENT,
            None,
        ),
        (
            "ValidateSectorStatus no partition 7",
            SECTOR,
            Active,
            aux(dl as i64, 7),
            ExitCode::USR_NOT_FOUND,
            None,
        ),
    ] {
        let done = validate(n, status, aux_data);
        trace.expect(net, step, &done, code);
        if let Some(valid) = valid {
            assert_eq!(done.ret::<bool>(), valid, "{step} on {:?}", net.actors);
        }
    }

    let expiration = net
        .miner_state(m)
        .get_sector(net.dn.blockstore(), SECTOR)
        .unwrap()
        .unwrap()
        .expiration;
    let nominal = |n: u64| {
        net.exec(
            &net.owner,
            m.addr,
            miner::Method::GetNominalSectorExpirationExported as u64,
            &n,
            TokenAmount::default(),
        )
    };
    let done = nominal(SECTOR);
    trace.expect(net, "GetNominalSectorExpiration", &done, ExitCode::OK);
    assert_eq!(done.ret::<i64>(), expiration);
    let done = nominal(NO_SECTOR);
    trace.expect(
        net,
        "GetNominalSectorExpiration no sector",
        &done,
        ExitCode::USR_NOT_FOUND,
    );
}

/// Update proofs by their public inputs (the old CommR and the new
/// commitments): both bundles' runs update the same replica with the same
/// data, so the SNARK is made once.
fn update_proof_once(input: &ProveInput) -> Vec<u8> {
    static PROOFS: common::ProofCache<Vec<u8>> = common::ProofCache::new("snap-update");
    let key = serde_json::to_vec(&(input.comm_r_old, input.encoded)).unwrap();
    PROOFS.get_or_prove(key, || {
        let t = std::time::Instant::now();
        let proof = update::prove(input).unwrap().0;
        eprintln!("2 KiB update proof in {:?}", t.elapsed());
        proof
    })
}

/// The deal's data, staged and encoded into the CC sector's replica.
fn encode_deal_data(s: &Sealed, work: &Path) -> (PieceInfo, Encoded, ProveInput) {
    let proof = SealProof::new(SectorSize::S2KiB);
    let size = unpadded_sector();
    let data: Vec<u8> = (0..size.bytes()).map(|i| (i * 7 % 251) as u8).collect();
    let staged = work.join("deal-staged");
    let piece = seal::add_piece(
        &AddPieceInput {
            proof,
            staged_path: staged.clone(),
            size,
            existing: vec![],
        },
        &data[..],
    )
    .unwrap()
    .piece;
    let (new_replica, new_cache) = (work.join("update"), work.join("update-cache"));
    let encoded = update::encode(&EncodeInput {
        proof,
        sector_key_path: s.sealed.clone(),
        sector_key_cache: s.cache.clone(),
        staged_path: staged,
        pieces: vec![piece],
        new_replica_path: new_replica.clone(),
        new_cache: new_cache.clone(),
    })
    .unwrap();
    let prove = ProveInput {
        proof,
        comm_r_old: s.commitments.comm_r,
        encoded,
        sector_key_path: s.sealed.clone(),
        sector_key_cache: s.cache.clone(),
        new_replica_path: new_replica,
        new_cache,
    };
    (piece, encoded, prove)
}

/// The client adds balance and the provider publishes a deal for `piece`
/// starting a little later; returns its ID.
fn publish_deal(net: &Net, m: &Miner, piece: &PieceInfo, trace: &mut Trace) -> u64 {
    let client = net.owner.address().unwrap();
    let start = net.height() + 200;
    let proposal = market::DealProposal {
        piece_cid: piece.comm_p.to_cid(),
        piece_size: fvm_shared::piece::PaddedPieceSize(piece.size.bytes()),
        verified_deal: false,
        client,
        provider: m.addr,
        label: market::Label::String("ferrite snap deal".to_string()),
        start_epoch: start,
        end_epoch: start + devnet_policy().min_sector_expiration,
        storage_price_per_epoch: TokenAmount::from_atto(1_000_000_000u64),
        provider_collateral: TokenAmount::from_whole(1),
        client_collateral: TokenAmount::default(),
    };
    let market_addr = Address::new_id(MARKET_ACTOR);
    let add = net.exec(
        &net.owner,
        market_addr,
        market::Method::AddBalance as u64,
        &client,
        proposal.client_balance_requirement(),
    );
    trace.expect(net, "AddBalance client", &add, ExitCode::OK);
    let add = net.exec(
        &net.worker,
        market_addr,
        market::Method::AddBalance as u64,
        &m.addr,
        TokenAmount::from_whole(1),
    );
    trace.expect(net, "AddBalance provider", &add, ExitCode::OK);
    let signature = net
        .owner
        .sign(&fvm_ipld_encoding::to_vec(&proposal).unwrap())
        .unwrap();
    let published = net.exec(
        &net.worker,
        market_addr,
        market::Method::PublishStorageDeals as u64,
        &market::PublishStorageDealsParams {
            deals: vec![market::ClientDealProposal {
                proposal,
                client_signature: signature,
            }],
        },
        TokenAmount::default(),
    );
    trace.expect(net, "PublishStorageDeals", &published, ExitCode::OK);
    published.ret::<market::PublishStorageDealsReturn>().ids[0]
}

fn compact(net: &Net, m: &Miner, deadline: u64, partitions: &[u64]) -> Executed {
    net.exec(
        &net.worker,
        m.addr,
        miner::Method::CompactPartitions as u64,
        &miner::CompactPartitionsParams {
            deadline,
            partitions: BitField::try_from_bits(partitions.iter().copied()).unwrap(),
        },
        TokenAmount::default(),
    )
}

fn snap(actors: Actors) -> Trace {
    let mut trace = Trace::default();
    let net = Net::open(actors, "miner-snap-test");
    let work = tempfile::tempdir().unwrap();
    let m = create_miner(&net);
    let bs = net.dn.blockstore();
    let s = seal_cc_sector(&net, &m, work.path());
    onboard(&net, &m, &s, &mut trace);
    let (dl, part) = net.miner_state(&m).find_sector(bs, SECTOR).unwrap();

    getters(&net, &m, dl, part, &mut trace);

    let (piece, encoded, prove) = encode_deal_data(&s, work.path());
    let manifest = |deal_id: u64| miner::SectorUpdateManifest {
        sector: SECTOR,
        deadline: dl,
        partition: part,
        new_sealed_cid: encoded.comm_r_new.to_cid(),
        pieces: vec![miner::PieceActivationManifest {
            cid: piece.comm_p.to_cid(),
            size: fvm_shared::piece::PaddedPieceSize(piece.size.bytes()),
            verified_allocation_key: None,
            notify: vec![miner::DataActivationNotification {
                address: Address::new_id(MARKET_ACTOR),
                payload: RawBytes::serialize(deal_id).unwrap(),
            }],
        }],
    };
    let update = |manifest: miner::SectorUpdateManifest, proof: Vec<u8>| {
        net.exec(
            &net.worker,
            m.addr,
            miner::Method::ProveReplicaUpdates3 as u64,
            &miner::ProveReplicaUpdates3Params {
                sector_updates: vec![manifest],
                sector_proofs: vec![proof.into()],
                aggregate_proof: RawBytes::default(),
                update_proofs_type: fvm_shared::sector::RegisteredUpdateProof::StackedDRG2KiBV1,
                aggregate_proof_type: None,
                require_activation_success: true,
                require_notification_success: true,
            },
            TokenAmount::default(),
        )
    };

    // Not yet proven by a Window PoSt: not active, so not updatable.
    let early = update(manifest(0), vec![1; 192]);
    trace.expect(
        &net,
        "ProveReplicaUpdates3 unproven sector",
        &early,
        ExitCode::USR_ILLEGAL_ARGUMENT,
    );

    let info = window_post(&net, &m, &s, dl, part);
    net.advance_to(info.close + 1);
    let claim = net
        .state::<power::State>(POWER_ACTOR)
        .get_claim(bs, &m.addr)
        .unwrap()
        .unwrap();
    assert_eq!(
        claim.raw_byte_power,
        2048.into(),
        "power after the PoSt on {actors:?}"
    );

    // Within the dispute window of the deadline's PoSt it may not be compacted.
    let too_soon = compact(&net, &m, dl, &[part]);
    trace.expect(
        &net,
        "CompactPartitions in dispute window",
        &too_soon,
        ExitCode::USR_FORBIDDEN,
    );

    // The update, with a deal: the deadline is neither current nor next now.
    let deal_id = publish_deal(&net, &m, &piece, &mut trace);
    let proof = update_proof_once(&prove);
    let mut tampered = proof.clone();
    tampered[40] ^= 0x01;
    let refused = update(manifest(deal_id), tampered);
    trace.expect(
        &net,
        "ProveReplicaUpdates3 tampered proof",
        &refused,
        ExitCode::USR_ILLEGAL_ARGUMENT,
    );
    let before = net.miner_state(&m).get_sector(bs, SECTOR).unwrap().unwrap();
    let updated = update(manifest(deal_id), proof.clone());
    trace.expect(&net, "ProveReplicaUpdates3", &updated, ExitCode::OK);
    let batch: BatchReturn = updated.ret();
    assert_eq!(batch.success_count, 1);

    let after = net.miner_state(&m).get_sector(bs, SECTOR).unwrap().unwrap();
    trace.record("sector after the update", &after);
    assert_eq!(after.sealed_cid, encoded.comm_r_new.to_cid());
    assert_eq!(after.sector_key_cid, Some(s.commitments.comm_r.to_cid()));
    assert_eq!(after.power_base_epoch, updated.epoch);
    assert_eq!(
        after.deal_weight,
        fvm_shared::bigint::BigInt::from(2048) * (after.expiration - updated.epoch)
    );
    assert!(after.verified_deal_weight.is_zero());
    assert!(after.initial_pledge >= before.initial_pledge);
    assert_eq!(after.expiration, before.expiration);
    // An unverified deal adds no QA power: the claim is unchanged.
    let claim = net
        .state::<power::State>(POWER_ACTOR)
        .get_claim(bs, &m.addr)
        .unwrap()
        .unwrap();
    assert_eq!(claim.raw_byte_power, 2048.into());
    assert_eq!(claim.quality_adj_power, 2048.into());
    trace.record("claim after the update", &claim);
    let st: market::State = net.state(MARKET_ACTOR);
    let deal = st
        .find_deal_state(bs, deal_id)
        .unwrap()
        .expect("the deal is activated");
    assert_eq!(deal.sector_number, SECTOR);
    assert_eq!(deal.sector_start_epoch, updated.epoch);

    // The sector holds data now: it is not updated again.
    let again = update(manifest(deal_id), proof);
    trace.expect(
        &net,
        "ProveReplicaUpdates3 re-snap",
        &again,
        ExitCode::USR_ILLEGAL_ARGUMENT,
    );

    // Compaction, once the dispute window has passed (and while the
    // deadline is not being proven).
    let policy = devnet_policy();
    loop {
        let next = net.height() + 1;
        let period_start = net
            .miner_state(&m)
            .current_proving_period_start(&policy, next);
        if miner::deadline_available_for_compaction(&policy, period_start, dl, next) {
            break;
        }
        net.dn.produce_block().unwrap();
    }
    let wrong = compact(&net, &m, policy.wpost_period_deadlines, &[0]);
    trace.expect(
        &net,
        "CompactPartitions no such deadline",
        &wrong,
        ExitCode::USR_ILLEGAL_ARGUMENT,
    );
    let beyond = compact(&net, &m, dl, &[part + 5]);
    let beyond_code = beyond.exit();
    trace.expect(
        &net,
        "CompactPartitions no such partition",
        &beyond,
        beyond_code,
    );
    eprintln!(
        "{actors:?}: compacting a missing partition: {beyond_code:?} {}",
        beyond.failure
    );
    let deadline_before = net
        .miner_state(&m)
        .load_deadlines(bs)
        .unwrap()
        .load_deadline(bs, dl)
        .unwrap();
    let compacted = compact(&net, &m, dl, &[part]);
    trace.expect(&net, "CompactPartitions", &compacted, ExitCode::OK);
    let st = net.miner_state(&m);
    let deadline = st
        .load_deadlines(bs)
        .unwrap()
        .load_deadline(bs, dl)
        .unwrap();
    assert_eq!(deadline.live_sectors, 1);
    assert_eq!(deadline.total_sectors, 1);
    assert_eq!(deadline.live_power, deadline_before.live_power);
    assert_eq!(deadline.daily_fee, deadline_before.daily_fee);
    let partitions = deadline.partitions_amt(bs).unwrap();
    assert_eq!(partitions.count(), 1);
    let partition = deadline.load_partition(bs, 0).unwrap();
    assert!(partition.sectors.get(SECTOR));
    // Not the PoSt snapshots: a Window PoSt's bytes differ from run to run.
    trace.record(
        "deadline after compaction",
        &(
            deadline.partitions,
            deadline.expirations_epochs,
            &deadline.partitions_posted,
            &deadline.early_terminations,
            deadline.live_sectors,
            deadline.total_sectors,
            &deadline.faulty_power,
            &deadline.live_power,
            &deadline.daily_fee,
        ),
    );
    trace.record("partition after compaction", &partition);
    assert_eq!(st.find_sector(bs, SECTOR).unwrap(), (dl, 0));
    trace
}

#[test]
#[ignore = "real 2 KiB proofs: needs `ferrite params generate --sizes 2KiB` (scripts/test runs it)"]
fn a_cc_sector_is_snapped_with_a_deal_and_compacted_with_real_proofs() {
    let t = std::time::Instant::now();
    let traces: Vec<(Actors, Trace)> = bundles().into_iter().map(|a| (a, snap(a))).collect();
    eprintln!(
        "miner_snap: {:?} for {} bundle(s)",
        t.elapsed(),
        traces.len()
    );
    let (_, ours) = &traces[0];
    for (actors, other) in &traces[1..] {
        assert_eq!(ours.steps.len(), other.steps.len());
        for ((name, code, ret), (_, other_code, other_ret)) in ours.steps.iter().zip(&other.steps) {
            assert_eq!(code, other_code, "{name}: exit code, Ferrite vs {actors:?}");
            assert_eq!(
                ret, other_ret,
                "{name}: return value or record, Ferrite vs {actors:?}"
            );
        }
    }
}

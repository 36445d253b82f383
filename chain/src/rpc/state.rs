//! Lotus's State* methods for storage providers: miners, power, deadlines,
//! partitions, sectors, pledge and the storage market.
//!
//! The chain state is in builtin-actors v18 layout, read with the v18 types of
//! ChainSafe's `fil_actor_*_state` crates; this module only picks the state
//! apart and writes Lotus's JSON (`api.MinerInfo`, `api.MinerPower`,
//! `dline.Info`, `api.Deadline`, `api.Partition`, `miner.SectorOnChainInfo`,
//! `miner.SectorPreCommitOnChainInfo`, `api.MarketBalance`, `api.MarketDeal`).
//! Every method reads the parent state of the tipset its last parameter names
//! (empty or null: the head), as StateGetActor does. Epoch-dependent answers
//! (proving deadline, vested funds, pledge ramp) use that tipset's height, as
//! Lotus does.
//!
//! Bitfields are written as Lotus writes a `bitfield.BitField`: run lengths
//! that start with a run of zeros (`{5}` is `[5,1]`, `{0,1,2}` is `[0,3]`), and
//! the empty set is `[0]`.

use std::ops::Range;
use std::sync::Arc;

use cid::Cid;
use fil_actor_market_state::v18 as market;
use fil_actor_miner_state::v18 as miner;
use fil_actor_power_state::v18 as power;
use fil_actor_reward_state::v18 as reward;
use fil_actors_shared::fvm_ipld_bitfield::BitField;
use fil_actors_shared::fvm_ipld_bitfield::iter::Ranges;
use fil_actors_shared::v18::runtime::Policy;
use fvm_ipld_encoding::CborStore;
use fvm_shared::address::Address;
use fvm_shared::bigint::BigInt;
use fvm_shared::econ::TokenAmount;
use fvm_shared::sector::{RegisteredPoStProof, RegisteredSealProof, SectorSize};
use fvm_shared::state::ActorState;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::collateral;
use super::json::{AddressJson, CidJson, TipSetKeyJson, key};
use super::server::{Api, Params, RpcError};
use crate::block::TipSet;
use crate::devnet::Devnet;
use crate::miner_view;

/// The methods this module serves; all need `read`.
pub const METHODS: &[&str] = &[
    "StateListMiners",
    "StateMinerInfo",
    "StateMinerPower",
    "StateMinerSectors",
    "StateMinerActiveSectors",
    "StateSectorGetInfo",
    "StateSectorPreCommitInfo",
    "StateMinerProvingDeadline",
    "StateMinerDeadlines",
    "StateMinerPartitions",
    "StateMinerFaults",
    "StateMinerRecoveries",
    "StateMinerAvailableBalance",
    "StateMinerInitialPledgeForSector",
    "StateMarketBalance",
    "StateMarketStorageDeal",
    "StateMarketDeals",
    "StateDealProviderCollateralBounds",
];

/// The power actor.
const POWER_ACTOR: Address = Address::new_id(4);
/// The reward actor.
const REWARD_ACTOR: Address = Address::new_id(2);
/// The storage market actor.
const MARKET_ACTOR: Address = Address::new_id(5);

/// Lotus over-estimates the pledge it reports by 10% (110/100), so that a
/// message built from it survives the network growing a little.
const PLEDGE_ESTIMATE_NUM: u64 = 110;
const PLEDGE_ESTIMATE_DEN: u64 = 100;

/// The actors' policy of the devnet bundle (builtin-actors' `devnet` build):
/// mainnet's, with a 10-epoch pre-commit challenge delay, a 2 KiB consensus
/// minimum and the 2 KiB and 8 MiB proofs allowed.
pub fn devnet_policy() -> Policy {
    let mut p = Policy {
        pre_commit_challenge_delay: 10,
        minimum_consensus_power: BigInt::from(2048),
        ..Policy::default()
    };
    for post in [
        RegisteredPoStProof::StackedDRGWindow2KiBV1P1,
        RegisteredPoStProof::StackedDRGWindow8MiBV1P1,
    ] {
        p.valid_post_proof_type.insert(post);
    }
    for seal in [
        RegisteredSealProof::StackedDRG2KiBV1P1,
        RegisteredSealProof::StackedDRG8MiBV1P1,
        RegisteredSealProof::StackedDRG2KiBV1P1_Feat_SyntheticPoRep,
        RegisteredSealProof::StackedDRG8MiBV1P1_Feat_SyntheticPoRep,
    ] {
        p.valid_pre_commit_proof_type.insert(seal);
    }
    p
}

/// Serves one of [`METHODS`].
pub(super) async fn call(
    dn: Arc<Devnet>,
    api: Api,
    p: &Params,
    method: &str,
) -> Result<Value, RpcError> {
    // Parameters are parsed here, on the runtime; state reads go to a blocking thread.
    match method {
        "StateListMiners" => {
            p.check(1)?;
            let k = tsk(p, 0)?;
            read(dn, k, move |r| r.miners_with_claims()).await
        }
        "StateMinerInfo" => {
            let (m, k) = address_and_key(p)?;
            read(dn, k, move |r| r.miner_info(&m)).await
        }
        "StateMinerPower" => {
            let (m, k) = address_and_key(p)?;
            read(dn, k, move |r| r.miner_power(&m)).await
        }
        "StateMinerSectors" => {
            p.check(3)?;
            let m: AddressJson = p.get(0)?;
            let filter: Option<BitFieldJson> = p.get(1)?;
            let k = tsk(p, 2)?;
            read(dn, k, move |r| r.miner_sectors(&m.0, filter.map(|f| f.0))).await
        }
        "StateMinerActiveSectors" => {
            let (m, k) = address_and_key(p)?;
            read(dn, k, move |r| r.active_sectors(&m)).await
        }
        "StateSectorGetInfo" | "StateSectorPreCommitInfo" => {
            p.check(3)?;
            let m: AddressJson = p.get(0)?;
            let number: u64 = p.get(1)?;
            let k = tsk(p, 2)?;
            if method == "StateSectorGetInfo" {
                read(dn, k, move |r| r.sector(&m.0, number)).await
            } else {
                read(dn, k, move |r| r.precommit(&m.0, number, api)).await
            }
        }
        "StateMinerProvingDeadline" => {
            let (m, k) = address_and_key(p)?;
            read(dn, k, move |r| r.proving_deadline(&m)).await
        }
        "StateMinerDeadlines" => {
            let (m, k) = address_and_key(p)?;
            read(dn, k, move |r| r.deadlines(&m)).await
        }
        "StateMinerPartitions" => {
            p.check(3)?;
            let m: AddressJson = p.get(0)?;
            let deadline: u64 = p.get(1)?;
            let k = tsk(p, 2)?;
            read(dn, k, move |r| r.partitions(&m.0, deadline)).await
        }
        "StateMinerFaults" => {
            let (m, k) = address_and_key(p)?;
            read(dn, k, move |r| r.all_partitions(&m, |p| p.faults.clone())).await
        }
        "StateMinerRecoveries" => {
            let (m, k) = address_and_key(p)?;
            read(dn, k, move |r| {
                r.all_partitions(&m, |p| p.recoveries.clone())
            })
            .await
        }
        "StateMinerAvailableBalance" => {
            let (m, k) = address_and_key(p)?;
            read(dn, k, move |r| r.available_balance(&m)).await
        }
        "StateMinerInitialPledgeForSector" => {
            p.check(4)?;
            let pledge = PledgeQuery {
                duration: p.get(0)?,
                sector_size: p.get(1)?,
                verified_size: p.get(2)?,
            };
            let k = tsk(p, 3)?;
            read(dn, k, move |r| r.initial_pledge(&pledge)).await
        }
        "StateMarketBalance" => {
            let (a, k) = address_and_key(p)?;
            read(dn, k, move |r| r.market_balance(&a)).await
        }
        "StateMarketStorageDeal" => {
            p.check(2)?;
            let deal: u64 = p.get(0)?;
            let k = tsk(p, 1)?;
            read(dn, k, move |r| r.storage_deal(deal)).await
        }
        "StateMarketDeals" => {
            p.check(1)?;
            let k = tsk(p, 0)?;
            read(dn, k, move |r| r.market_deals()).await
        }
        "StateDealProviderCollateralBounds" => {
            p.check(3)?;
            let size = fvm_shared::piece::PaddedPieceSize(p.get(0)?);
            let _verified: Option<bool> = p.get(1)?; // v18's bounds do not depend on it
            let k = tsk(p, 2)?;
            read(dn, k, move |r| {
                let (_, rwd) = r.actor_state(&REWARD_ACTOR, "reward")?;
                let net = collateral::CollateralInputs::from_state(
                    &r.power()?,
                    &rwd,
                    &r.dn.settings().circulating_supply,
                );
                Ok(collateral::provider_collateral_bounds(
                    &devnet_policy(),
                    size,
                    &net,
                ))
            })
            .await
        }
        _ => Err(RpcError {
            code: -32601,
            message: format!("method 'Filecoin.{method}' not found"),
        }),
    }
}

/// The `[address, TSK]` parameters most methods take.
fn address_and_key(p: &Params) -> Result<(Address, Vec<Cid>), RpcError> {
    p.check(2)?;
    let a: AddressJson = p.get(0)?;
    Ok((a.0, tsk(p, 1)?))
}

fn tsk(p: &Params, i: usize) -> Result<Vec<Cid>, RpcError> {
    Ok(key(&p.get::<Option<TipSetKeyJson>>(i)?))
}

/// Runs a state read of the tipset `key` names (the head when empty) on a
/// blocking thread (R4: rocksdb reads stay off the runtime). The tipset is
/// fixed once, so that every read of one call sees one state even while blocks
/// are produced.
async fn read<T: Serialize + Send + 'static>(
    dn: Arc<Devnet>,
    key: Vec<Cid>,
    f: impl FnOnce(Reader) -> Result<T, RpcError> + Send + 'static,
) -> Result<Value, RpcError> {
    let out = tokio::task::spawn_blocking(move || {
        let ts = dn.tipset_or_head(&key)?;
        f(Reader { dn, ts })
    })
    .await
    .map_err(|e| RpcError::method(format!("task failed: {e}")))??;
    serde_json::to_value(out).map_err(|e| RpcError::method(format!("encode result: {e}")))
}

/// A method's view of the chain: the devnet and the tipset it reads.
struct Reader {
    dn: Arc<Devnet>,
    ts: TipSet,
}

/// StateMinerInitialPledgeForSector's inputs.
#[derive(Debug, Clone, Copy)]
struct PledgeQuery {
    duration: i64,
    sector_size: u64,
    verified_size: u64,
}

impl Reader {
    fn height(&self) -> i64 {
        self.ts.height()
    }

    fn bs(&self) -> &crate::blockstore::DbBlockstore {
        self.dn.blockstore()
    }

    fn actor(&self, addr: &Address) -> Result<Option<ActorState>, RpcError> {
        Ok(self.dn.actor(addr, &self.ts.key)?)
    }

    fn id_of(&self, addr: &Address) -> Result<Option<Address>, RpcError> {
        Ok(self.dn.lookup_id(addr, &self.ts.key)?)
    }

    /// Decodes the state of the actor at `addr`; `what` names it in errors, as Lotus's
    /// "failed to load miner actor: actor not found".
    fn actor_state<S: DeserializeOwned>(
        &self,
        addr: &Address,
        what: &str,
    ) -> Result<(ActorState, S), RpcError> {
        let actor = self.actor(addr)?.ok_or_else(|| {
            RpcError::method(format!("failed to load {what} actor: actor not found"))
        })?;
        let state = self
            .bs()
            .get_cbor::<S>(&actor.state)
            .map_err(|e| RpcError::method(format!("failed to load {what} actor state: {e}")))?
            .ok_or_else(|| {
                RpcError::method(format!(
                    "failed to load {what} actor state: state not found"
                ))
            })?;
        Ok((actor, state))
    }

    fn miner(&self, addr: &Address) -> Result<(ActorState, miner::State), RpcError> {
        self.actor_state(addr, "miner")
    }

    fn power(&self) -> Result<power::State, RpcError> {
        Ok(self.actor_state(&POWER_ACTOR, "power")?.1)
    }

    fn market(&self) -> Result<market::State, RpcError> {
        Ok(self.actor_state(&MARKET_ACTOR, "market")?.1)
    }

    fn miners_with_claims(&self) -> Result<Vec<AddressJson>, RpcError> {
        let st = self.power()?;
        let claims = st
            .load_claims(self.bs())
            .map_err(state_err("load power claims"))?;
        let mut out = Vec::new();
        claims
            .for_each(|a, _| {
                out.push(AddressJson(a));
                Ok(())
            })
            .map_err(state_err("read power claims"))?;
        Ok(out)
    }

    fn miner_info(&self, addr: &Address) -> Result<MinerInfoJson, RpcError> {
        let (_, st) = self.miner(addr)?;
        let info = st
            .get_info(self.bs())
            .map_err(state_err("load miner info"))?;
        Ok(MinerInfoJson::from(info))
    }

    fn miner_power(&self, addr: &Address) -> Result<MinerPowerJson, RpcError> {
        let st = self.power()?;
        let total = ClaimJson {
            raw_byte_power: st.total_raw_byte_power.to_string(),
            quality_adj_power: st.total_quality_adj_power.to_string(),
        };
        // As Lotus: an address without a claim has zero power and no error.
        let zero = MinerPowerJson {
            miner_power: ClaimJson {
                raw_byte_power: "0".to_string(),
                quality_adj_power: "0".to_string(),
            },
            total_power: total.clone(),
            has_min_power: false,
        };
        let Some(id) = self.id_of(addr)? else {
            return Ok(zero);
        };
        let Some(claim) = st
            .miner_power(self.bs(), &id)
            .map_err(state_err("load power claim"))?
        else {
            return Ok(zero);
        };
        let actor_id = id
            .id()
            .map_err(|e| RpcError::method(format!("look up {addr}: {e}")))?;
        let (_, has_min_power) = st
            .miner_nominal_power_meets_consensus_minimum(&devnet_policy(), self.bs(), actor_id)
            .map_err(state_err("check consensus minimum"))?;
        Ok(MinerPowerJson {
            miner_power: ClaimJson {
                raw_byte_power: claim.raw_byte_power.to_string(),
                quality_adj_power: claim.quality_adj_power.to_string(),
            },
            total_power: total,
            has_min_power,
        })
    }

    fn miner_sectors(
        &self,
        addr: &Address,
        filter: Option<BitField>,
    ) -> Result<Vec<SectorJson>, RpcError> {
        let (_, st) = self.miner(addr)?;
        let sectors = miner::Sectors::load(self.bs(), &st.sectors)
            .map_err(|e| RpcError::method(format!("load sectors: {e}")))?;
        let infos = match filter {
            Some(f) => sectors
                .load_sectors(&f)
                .map_err(state_err("load sectors"))?,
            None => {
                let mut all = Vec::new();
                sectors
                    .amt
                    .for_each(|_, s| {
                        all.push(s.clone());
                        Ok(())
                    })
                    .map_err(|e| RpcError::method(format!("read sectors: {e}")))?;
                all
            }
        };
        Ok(infos.iter().map(SectorJson::from).collect())
    }

    fn active_sectors(&self, addr: &Address) -> Result<Vec<SectorJson>, RpcError> {
        let active = self.all_partitions(addr, |p| p.active_sectors())?;
        self.miner_sectors(addr, Some(active.0))
    }

    fn sector(&self, addr: &Address, number: u64) -> Result<Option<SectorJson>, RpcError> {
        let (_, st) = self.miner(addr)?;
        let s = st
            .get_sector(self.bs(), number)
            .map_err(state_err("load sector"))?;
        Ok(s.as_ref().map(SectorJson::from))
    }

    fn precommit(
        &self,
        addr: &Address,
        number: u64,
        api: Api,
    ) -> Result<Option<PreCommitJson>, RpcError> {
        let (_, st) = self.miner(addr)?;
        let pc = st
            .get_precommitted_sector(self.bs(), number)
            .map_err(state_err("load pre-commit"))?;
        match pc {
            Some(pc) => Ok(Some(PreCommitJson::from(&pc))),
            // v0 returns a value, not a pointer, so a missing one is an error there.
            None if api == Api::V0 => Err(RpcError::method("precommit info is not exists")),
            None => Ok(None),
        }
    }

    fn proving_deadline(&self, addr: &Address) -> Result<miner::DeadlineInfo, RpcError> {
        let (_, st) = self.miner(addr)?;
        Ok(st
            .deadline_info(&devnet_policy(), self.height())
            .next_not_elapsed())
    }

    fn deadline_list(&self, st: &miner::State) -> Result<Vec<miner::Deadline>, RpcError> {
        miner_view::deadline_list(self.bs(), st).map_err(|e| RpcError::method(format!("{e:#}")))
    }

    fn partition_list(&self, d: &miner::Deadline) -> Result<Vec<miner::Partition>, RpcError> {
        miner_view::partition_list(self.bs(), d).map_err(|e| RpcError::method(format!("{e:#}")))
    }

    fn deadlines(&self, addr: &Address) -> Result<Vec<DeadlineJson>, RpcError> {
        let (_, st) = self.miner(addr)?;
        let proofs = miner_view::deadline_proofs(self.bs(), &st)
            .map_err(|e| RpcError::method(format!("{e:#}")))?;
        Ok(self
            .deadline_list(&st)?
            .iter()
            .zip(proofs)
            .map(|(d, p)| DeadlineJson {
                post_submissions: BitFieldJson(p.posted),
                disputable_proof_count: p.disputable_proofs,
                daily_fee: atto(&d.daily_fee),
            })
            .collect())
    }

    fn partitions(&self, addr: &Address, index: u64) -> Result<Vec<PartitionJson>, RpcError> {
        let (_, st) = self.miner(addr)?;
        Ok(miner_view::partitions(self.bs(), &st, index)
            .map_err(|e| RpcError::method(format!("{e:#}")))?
            .into_iter()
            .map(|p| PartitionJson {
                all_sectors: BitFieldJson(p.all),
                faulty_sectors: BitFieldJson(p.faulty),
                recovering_sectors: BitFieldJson(p.recovering),
                live_sectors: BitFieldJson(p.live),
                active_sectors: BitFieldJson(p.active),
            })
            .collect())
    }

    /// The union over every partition of `pick(partition)` (Lotus's `miner.AllPartSectors`).
    fn all_partitions(
        &self,
        addr: &Address,
        pick: impl Fn(&miner::Partition) -> BitField,
    ) -> Result<BitFieldJson, RpcError> {
        let (_, st) = self.miner(addr)?;
        let mut sets = Vec::new();
        for d in self.deadline_list(&st)? {
            for p in self.partition_list(&d)? {
                sets.push(pick(&p));
            }
        }
        Ok(BitFieldJson(BitField::union(&sets)))
    }

    fn available_balance(&self, addr: &Address) -> Result<String, RpcError> {
        let (actor, st) = self.miner(addr)?;
        let vested = st
            .check_vested_funds(self.bs(), self.height())
            .map_err(state_err("check vested funds"))?;
        let available = st
            .get_available_balance(&actor.balance)
            .map_err(state_err("failed to get available balance"))?;
        Ok(atto(&(available + vested)))
    }

    fn initial_pledge(&self, q: &PledgeQuery) -> Result<String, RpcError> {
        if q.duration <= 0 {
            return Err(RpcError::method("sector duration must be greater than 0"));
        }
        if q.sector_size == 0 {
            return Err(RpcError::method("sector size must be non-zero"));
        }
        if q.verified_size > q.sector_size {
            return Err(RpcError::method(
                "verified deal size cannot be larger than sector size",
            ));
        }
        let size = sector_size(q.sector_size)?;
        let pwr = self.power()?;
        let (_, rwd): (_, reward::State) = self.actor_state(&REWARD_ACTOR, "reward")?;
        let verified_weight = BigInt::from(q.verified_size) * BigInt::from(q.duration);
        let qa_power = miner::qa_power_for_weight(size, q.duration, &verified_weight);
        // FIP-0081's ramp, as Lotus reads it: unset (0) means no ramp.
        let (since_ramp_start, ramp_duration) = if pwr.ramp_start_epoch > 0 {
            (
                self.height() - pwr.ramp_start_epoch,
                pwr.ramp_duration_epochs,
            )
        } else {
            (0, 0)
        };
        let pledge = miner::initial_pledge_for_power(
            &qa_power,
            &rwd.this_epoch_baseline_power,
            &rwd.this_epoch_reward_smoothed,
            &pwr.this_epoch_qa_power_smoothed,
            &self.dn.settings().circulating_supply,
            since_ramp_start,
            ramp_duration,
        );
        let estimate = (pledge * PLEDGE_ESTIMATE_NUM).div_floor(PLEDGE_ESTIMATE_DEN);
        Ok(atto(&estimate))
    }

    fn market_balance(&self, addr: &Address) -> Result<MarketBalanceJson, RpcError> {
        let st = self.market()?;
        let id = self.id_of(addr)?.ok_or_else(|| {
            RpcError::method(format!(
                "resolution lookup failed ({addr}): actor not found"
            ))
        })?;
        let escrow = market::balance_table::BalanceTable::from_root(
            self.bs(),
            &st.escrow_table,
            "escrow table",
        )
        .and_then(|t| t.get(&id))
        .map_err(state_err("read escrow table"))?;
        let locked = market::balance_table::BalanceTable::from_root(
            self.bs(),
            &st.locked_table,
            "locked table",
        )
        .and_then(|t| t.get(&id))
        .map_err(state_err("read locked table"))?;
        Ok(MarketBalanceJson {
            escrow: atto(&escrow),
            locked: atto(&locked),
        })
    }

    fn storage_deal(&self, id: u64) -> Result<MarketDealJson, RpcError> {
        let st = self.market()?;
        let proposal = st
            .find_proposal(self.bs(), id)
            .map_err(state_err("load deal proposal"))?
            .ok_or_else(|| {
                RpcError::method(format!(
                    "deal {id} not found - deal may not have completed sealing before deal proposal start epoch, or deal may have been slashed"
                ))
            })?;
        let state = st
            .find_deal_state(self.bs(), id)
            .map_err(state_err("load deal state"))?;
        Ok(MarketDealJson::new(&proposal, state.as_ref()))
    }

    fn market_deals(&self) -> Result<serde_json::Map<String, Value>, RpcError> {
        let st = self.market()?;
        let proposals = st
            .load_proposals(self.bs())
            .map_err(state_err("load deal proposals"))?;
        let states = st
            .load_deal_states(self.bs())
            .map_err(state_err("load deal states"))?;
        let mut out = serde_json::Map::new();
        proposals
            .for_each(|id, proposal| {
                let state = states.get(id)?.copied();
                let deal = serde_json::to_value(MarketDealJson::new(proposal, state.as_ref()))?;
                out.insert(id.to_string(), deal);
                Ok(())
            })
            .map_err(|e| RpcError::method(format!("read deals: {e:#}")))?;
        Ok(out)
    }
}

fn state_err<E: std::fmt::Display>(context: &'static str) -> impl Fn(E) -> RpcError {
    move |e| RpcError::method(format!("{context}: {e}"))
}

fn atto(t: &TokenAmount) -> String {
    t.atto().to_string()
}

fn sector_size(bytes: u64) -> Result<SectorSize, RpcError> {
    [
        SectorSize::_2KiB,
        SectorSize::_8MiB,
        SectorSize::_512MiB,
        SectorSize::_32GiB,
        SectorSize::_64GiB,
    ]
    .into_iter()
    .find(|s| *s as u64 == bytes)
    .ok_or_else(|| RpcError::method(format!("unsupported sector size {bytes}")))
}

/// A bitfield as Lotus's JSON writes it: run lengths, the first a run of zeros.
#[derive(Debug, Clone, PartialEq)]
pub struct BitFieldJson(pub BitField);

impl Serialize for BitFieldJson {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut runs = Vec::new();
        let mut at = 0;
        for r in self.0.ranges() {
            runs.push(r.start - at);
            runs.push(r.end - r.start);
            at = r.end;
        }
        if runs.is_empty() {
            runs.push(0);
        }
        runs.serialize(s)
    }
}

impl<'de> Deserialize<'de> for BitFieldJson {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let runs = Vec::<u64>::deserialize(d)?;
        let mut ranges: Vec<Range<u64>> = Vec::new();
        let mut at: u64 = 0;
        for (i, len) in runs.into_iter().enumerate() {
            if len == 0 {
                if i != 0 {
                    return Err(serde::de::Error::custom(
                        "Cannot have a zero-length run except at start",
                    ));
                }
                continue;
            }
            let end = at
                .checked_add(len)
                .ok_or_else(|| serde::de::Error::custom("bitfield runs overflow"))?;
            if i % 2 == 1 {
                ranges.push(at..end);
            }
            at = end;
        }
        Ok(Self(BitField::from_ranges(Ranges::new(ranges))))
    }
}

/// `api.MinerInfo`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct MinerInfoJson {
    owner: AddressJson,
    worker: AddressJson,
    /// The pending worker, or `"<empty>"` (Lotus's undefined address).
    new_worker: String,
    control_addresses: Vec<AddressJson>,
    /// The pending worker's effective epoch, or -1.
    worker_change_epoch: i64,
    /// The libp2p peer ID in base58, or null when unset or not a multihash.
    peer_id: Option<String>,
    /// Base64 multiaddr bytes.
    multiaddrs: Vec<String>,
    #[serde(rename = "WindowPoStProofType")]
    window_post_proof_type: i64,
    sector_size: u64,
    #[serde(rename = "WindowPoStPartitionSectors")]
    window_post_partition_sectors: u64,
    consensus_fault_elapsed: i64,
    pending_owner_address: Option<AddressJson>,
    beneficiary: AddressJson,
    beneficiary_term: BeneficiaryTermJson,
    pending_beneficiary_term: Option<PendingBeneficiaryJson>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
struct BeneficiaryTermJson {
    quota: String,
    used_quota: String,
    expiration: i64,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
struct PendingBeneficiaryJson {
    new_beneficiary: AddressJson,
    new_quota: String,
    new_expiration: i64,
    approved_by_beneficiary: bool,
    approved_by_nominee: bool,
}

impl From<miner::MinerInfo> for MinerInfoJson {
    fn from(i: miner::MinerInfo) -> Self {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::STANDARD;
        Self {
            owner: AddressJson(i.owner),
            worker: AddressJson(i.worker),
            new_worker: i
                .pending_worker_key
                .as_ref()
                .map(|k| k.new_worker.to_string())
                .unwrap_or_else(|| "<empty>".to_string()),
            control_addresses: i
                .control_addresses
                .iter()
                .copied()
                .map(AddressJson)
                .collect(),
            worker_change_epoch: i.pending_worker_key.as_ref().map_or(-1, |k| k.effective_at),
            peer_id: peer_id(&i.peer_id),
            multiaddrs: i.multi_address.iter().map(|m| b64.encode(&m.0)).collect(),
            window_post_proof_type: i64::from(i.window_post_proof_type),
            sector_size: i.sector_size as u64,
            window_post_partition_sectors: i.window_post_partition_sectors,
            consensus_fault_elapsed: i.consensus_fault_elapsed,
            pending_owner_address: i.pending_owner_address.map(AddressJson),
            beneficiary: AddressJson(i.beneficiary),
            beneficiary_term: BeneficiaryTermJson {
                quota: atto(&i.beneficiary_term.quota),
                used_quota: atto(&i.beneficiary_term.used_quota),
                expiration: i.beneficiary_term.expiration,
            },
            pending_beneficiary_term: i.pending_beneficiary_term.map(|p| PendingBeneficiaryJson {
                new_beneficiary: AddressJson(p.new_beneficiary),
                new_quota: atto(&p.new_quota),
                new_expiration: p.new_expiration,
                approved_by_beneficiary: p.approved_by_beneficiary,
                approved_by_nominee: p.approved_by_nominee,
            }),
        }
    }
}

/// A peer ID as libp2p prints it (base58btc of its multihash), or None when the
/// bytes are not a multihash (Lotus then reports null).
fn peer_id(bytes: &[u8]) -> Option<String> {
    cid::multihash::Multihash::<64>::from_bytes(bytes).ok()?;
    let text = cid::multibase::encode(cid::multibase::Base::Base58Btc, bytes);
    // Multibase prefixes base58btc with 'z'; a peer ID is printed without it.
    text.strip_prefix('z').map(str::to_string)
}

/// `power.Claim`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
struct ClaimJson {
    raw_byte_power: String,
    quality_adj_power: String,
}

/// `api.MinerPower`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct MinerPowerJson {
    miner_power: ClaimJson,
    total_power: ClaimJson,
    has_min_power: bool,
}

/// `miner.SectorOnChainInfo`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SectorJson {
    sector_number: u64,
    seal_proof: i64,
    #[serde(rename = "SealedCID")]
    sealed_cid: CidJson,
    activation: i64,
    expiration: i64,
    deal_weight: String,
    verified_deal_weight: String,
    initial_pledge: String,
    expected_day_reward: String,
    expected_storage_pledge: String,
    power_base_epoch: i64,
    replaced_day_reward: String,
    #[serde(rename = "SectorKeyCID")]
    sector_key_cid: Option<CidJson>,
    flags: u32,
    daily_fee: String,
}

impl From<&miner::SectorOnChainInfo> for SectorJson {
    fn from(s: &miner::SectorOnChainInfo) -> Self {
        let opt = |t: &Option<TokenAmount>| t.as_ref().map(atto).unwrap_or_else(|| "0".into());
        Self {
            sector_number: s.sector_number,
            seal_proof: i64::from(s.seal_proof),
            sealed_cid: CidJson(s.sealed_cid),
            activation: s.activation,
            expiration: s.expiration,
            deal_weight: s.deal_weight.to_string(),
            verified_deal_weight: s.verified_deal_weight.to_string(),
            initial_pledge: atto(&s.initial_pledge),
            expected_day_reward: opt(&s.expected_day_reward),
            expected_storage_pledge: opt(&s.expected_storage_pledge),
            power_base_epoch: s.power_base_epoch,
            replaced_day_reward: opt(&s.replaced_day_reward),
            sector_key_cid: s.sector_key_cid.map(CidJson),
            flags: s.flags.bits(),
            daily_fee: atto(&s.daily_fee),
        }
    }
}

/// `miner.SectorPreCommitOnChainInfo`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PreCommitJson {
    info: PreCommitInfoJson,
    pre_commit_deposit: String,
    pre_commit_epoch: i64,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
struct PreCommitInfoJson {
    seal_proof: i64,
    sector_number: u64,
    #[serde(rename = "SealedCID")]
    sealed_cid: CidJson,
    seal_rand_epoch: i64,
    #[serde(rename = "DealIDs")]
    deal_ids: Vec<u64>,
    expiration: i64,
    unsealed_cid: Option<CidJson>,
}

impl From<&miner::SectorPreCommitOnChainInfo> for PreCommitJson {
    fn from(p: &miner::SectorPreCommitOnChainInfo) -> Self {
        Self {
            info: PreCommitInfoJson {
                seal_proof: i64::from(p.info.seal_proof),
                sector_number: p.info.sector_number,
                sealed_cid: CidJson(p.info.sealed_cid),
                seal_rand_epoch: p.info.seal_rand_epoch,
                deal_ids: p.info.deal_ids.clone(),
                expiration: p.info.expiration,
                unsealed_cid: p.info.unsealed_cid.0.map(CidJson),
            },
            pre_commit_deposit: atto(&p.pre_commit_deposit),
            pre_commit_epoch: p.pre_commit_epoch,
        }
    }
}

/// `api.Deadline`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeadlineJson {
    post_submissions: BitFieldJson,
    disputable_proof_count: u64,
    daily_fee: String,
}

/// `api.Partition`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PartitionJson {
    all_sectors: BitFieldJson,
    faulty_sectors: BitFieldJson,
    recovering_sectors: BitFieldJson,
    live_sectors: BitFieldJson,
    active_sectors: BitFieldJson,
}

/// `api.MarketBalance`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct MarketBalanceJson {
    escrow: String,
    locked: String,
}

/// `api.MarketDeal`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct MarketDealJson {
    proposal: DealProposalJson,
    state: DealStateJson,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
struct DealProposalJson {
    #[serde(rename = "PieceCID")]
    piece_cid: CidJson,
    piece_size: u64,
    verified_deal: bool,
    client: AddressJson,
    provider: AddressJson,
    label: String,
    start_epoch: i64,
    end_epoch: i64,
    storage_price_per_epoch: String,
    provider_collateral: String,
    client_collateral: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
struct DealStateJson {
    sector_number: u64,
    sector_start_epoch: i64,
    last_updated_epoch: i64,
    slash_epoch: i64,
}

impl MarketDealJson {
    /// A deal; a proposal without a state reads as Lotus's `EmptyDealState` (epochs -1).
    fn new(p: &market::DealProposal, s: Option<&market::DealState>) -> Self {
        use base64::Engine;
        let label = match &p.label {
            market::Label::String(s) => s.clone(),
            // Lotus refuses to print a byte label; Ferrite prints it as UTF-8
            // when it is, else as base64.
            market::Label::Bytes(b) => String::from_utf8(b.clone())
                .unwrap_or_else(|_| base64::engine::general_purpose::STANDARD.encode(b)),
        };
        Self {
            proposal: DealProposalJson {
                piece_cid: CidJson(p.piece_cid),
                piece_size: p.piece_size.0,
                verified_deal: p.verified_deal,
                client: AddressJson(p.client),
                provider: AddressJson(p.provider),
                label,
                start_epoch: p.start_epoch,
                end_epoch: p.end_epoch,
                storage_price_per_epoch: atto(&p.storage_price_per_epoch),
                provider_collateral: atto(&p.provider_collateral),
                client_collateral: atto(&p.client_collateral),
            },
            state: match s {
                Some(s) => DealStateJson {
                    sector_number: s.sector_number,
                    sector_start_epoch: s.sector_start_epoch,
                    last_updated_epoch: s.last_updated_epoch,
                    slash_epoch: s.slash_epoch,
                },
                None => DealStateJson {
                    sector_number: 0,
                    sector_start_epoch: -1,
                    last_updated_epoch: -1,
                    slash_epoch: -1,
                },
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bf(bits: &[u64]) -> BitFieldJson {
        BitFieldJson(BitField::try_from_bits(bits.iter().copied()).unwrap())
    }

    #[test]
    fn bitfields_are_lotus_run_lengths() {
        let cases: [(&[u64], &str); 4] = [
            (&[], "[0]"),
            (&[5], "[5,1]"),
            (&[0, 1, 2, 8, 9], "[0,3,5,2]"),
            (&[2, 3, 4, 5, 9, 10], "[2,4,3,2]"),
        ];
        for (bits, json) in cases {
            assert_eq!(serde_json::to_string(&bf(bits)).unwrap(), json);
            let back: BitFieldJson = serde_json::from_str(json).unwrap();
            assert_eq!(back, bf(bits), "{json}");
        }
        assert!(serde_json::from_str::<BitFieldJson>("[1,0,2]").is_err());
        assert!(serde_json::from_str::<BitFieldJson>("[\"1\"]").is_err());
    }

    #[test]
    fn peer_ids_print_as_libp2p_does() {
        // An identity-multihash Ed25519 peer ID.
        let mut bytes = vec![0x00, 0x24, 0x08, 0x01, 0x12, 0x20];
        bytes.extend([7u8; 32]);
        let text = peer_id(&bytes).unwrap();
        assert!(text.starts_with("12D3KooW"), "{text}");
        assert_eq!(peer_id(&[]), None);
    }

    #[test]
    fn sectors_have_lotus_fields() {
        let sealed: Cid = "bagboea4b5abcamxtxbmbtwr2lwmrsvmwtnljzvhmlhb3fjfnsprijg6j3zh3j6g6"
            .parse()
            .unwrap();
        let s = miner::SectorOnChainInfo {
            sector_number: 9,
            seal_proof: RegisteredSealProof::StackedDRG2KiBV1P1,
            sealed_cid: sealed,
            activation: 10,
            expiration: 600_000,
            deal_weight: BigInt::from(5),
            initial_pledge: TokenAmount::from_atto(42),
            expected_day_reward: Some(TokenAmount::from_atto(3)),
            flags: miner::SectorOnChainInfoFlags::SIMPLE_QA_POWER,
            ..Default::default()
        };
        let json = serde_json::to_value(SectorJson::from(&s)).unwrap();
        // The keys of Lotus's docgen example for StateSectorGetInfo.
        let expected = serde_json::json!({
            "SectorNumber": 9, "SealProof": i64::from(RegisteredSealProof::StackedDRG2KiBV1P1),
            "SealedCID": {"/": sealed.to_string()}, "Activation": 10, "Expiration": 600_000,
            "DealWeight": "5", "VerifiedDealWeight": "0", "InitialPledge": "42",
            "ExpectedDayReward": "3", "ExpectedStoragePledge": "0", "PowerBaseEpoch": 0,
            "ReplacedDayReward": "0", "SectorKeyCID": null, "Flags": 1, "DailyFee": "0",
        });
        assert_eq!(json, expected);
    }

    #[test]
    fn the_devnet_policy_allows_small_sectors() {
        let p = devnet_policy();
        assert!(
            p.valid_post_proof_type
                .contains(RegisteredPoStProof::StackedDRGWindow2KiBV1P1)
        );
        assert!(
            p.valid_pre_commit_proof_type
                .contains(RegisteredSealProof::StackedDRG2KiBV1P1)
        );
        assert_eq!(p.pre_commit_challenge_delay, 10);
        assert_eq!(sector_size(2048).unwrap(), SectorSize::_2KiB);
        assert!(sector_size(1000).is_err());
    }
}

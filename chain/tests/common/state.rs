//! The state a run leaves behind, flattened so that two bundles' runs can be
//! compared field by field.
//!
//! A [`Snapshot`] maps a path (`miner f01000.sectors[1].activation`,
//! `market.escrow_table[f0100]`, `actor f0100.balance`) to its value's
//! `Debug` text. It holds every actor in the state tree (code, state root,
//! nonce, balance, delegated address) and, decoded with builtin-actors v18's
//! state crates, every field of the reward, power and market states and of
//! each miner's (every miner has a claim in the power actor), down through
//! their HAMTs and AMTs: sectors, precommits, deadlines, partitions and their
//! queues, claims, the cron queue, deal proposals and states, the escrow and
//! locked tables. A root CID is kept beside the entries under it, so a
//! difference in a root names the entry that differs too. A state that v18
//! cannot decode is recorded as such at its path, and compares unequal.
//!
//! Balances are taken with the gas fees each actor burnt added back (and
//! taken off the burnt-funds actor), because gas differs between bundles and
//! is compared on its own. [`DELIBERATE`] lists the paths that differ on
//! purpose, and why; [`KNOWN_BUGS`] the ones that differ because our actors
//! are wrong, until they are fixed.

use std::collections::BTreeMap;
use std::fmt::Debug;

use cid::Cid;
use fil_actor_market_state::v18 as market;
use fil_actor_miner_state::v18 as miner;
use fil_actor_power_state::v18 as power;
use fil_actor_reward_state::v18 as reward;
use fil_actors_shared::v18::{Config, DEFAULT_HAMT_CONFIG, Map2, MapKey};
use fvm::state_tree::{ActorState, StateTree};
use fvm_ipld_amt::Amt;
use fvm_ipld_bitfield::BitField;
use fvm_ipld_blockstore::Blockstore;
use fvm_ipld_encoding::CborStore;
use fvm_shared::address::Address;
use fvm_shared::econ::TokenAmount;
use serde::Serialize;
use serde::de::DeserializeOwned;

use ferrite_chain::genesis::{BURNT_FUNDS_ACTOR, MARKET_ACTOR, POWER_ACTOR, REWARD_ACTOR};

/// A path pattern (`*` matches any run of characters) and why it matches.
pub struct Expected {
    pub path: &'static str,
    pub why: &'static str,
}

/// The state that differs from builtin-actors v18 on purpose.
pub const DELIBERATE: &[Expected] = &[
    Expected {
        path: "actor *.code",
        why: "each bundle's actors are its own wasm modules, named by their code CIDs in its \
              manifest",
    },
    Expected {
        path: "actor f00.head",
        why: "the system actor's state is the CID of the bundle's manifest",
    },
    Expected {
        path: "actor f06.head",
        why: "Ferrite's verified registry is a stub (actors/verifreg: the devnet does not \
              implement it yet) whose state is a placeholder",
    },
    Expected {
        path: "actor f07.head",
        why: "Ferrite's datacap token is a stub (actors/datacap: the devnet does not implement \
              it yet) whose state is a placeholder",
    },
];

/// State that differs from builtin-actors v18 because our actors are wrong,
/// in one scenario.
pub struct KnownBug {
    /// The scenario that shows it (the name `compare` is given).
    pub scenario: &'static str,
    pub path: &'static str,
    pub why: &'static str,
}

/// The state that differs from builtin-actors v18 because our actors are
/// wrong: to be fixed, not accepted. Each entry must still differ in its
/// scenario (the comparison fails when one no longer does, so that it is
/// taken off this list when fixed); everything else must match.
pub const KNOWN_BUGS: &[KnownBug] = &[];

/// Whether `path` matches `pattern`, where `*` matches any run of characters.
pub fn matches(pattern: &str, path: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == path,
        Some((head, rest)) => {
            let Some(tail) = path.strip_prefix(head) else {
                return false;
            };
            (0..=tail.len())
                .filter(|&i| tail.is_char_boundary(i))
                .any(|i| matches(rest, &tail[i..]))
        }
    }
}

/// A state, flattened: each leaf's path and its value's `Debug` text.
#[derive(Debug, Clone, Default)]
pub struct Snapshot(BTreeMap<String, String>);

/// One path whose value differs between two snapshots (`None`: absent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    pub path: String,
    pub ours: Option<String>,
    pub official: Option<String>,
}

impl std::fmt::Display for Difference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let show = |v: &Option<String>| v.clone().unwrap_or_else(|| "(absent)".to_string());
        write!(
            f,
            "{}: ours {} | official {}",
            self.path,
            show(&self.ours),
            show(&self.official)
        )
    }
}

impl Snapshot {
    fn put(&mut self, path: impl Into<String>, value: &dyn Debug) {
        self.0.insert(path.into(), format!("{value:?}"));
    }

    /// Records that the state under `path` could not be read.
    fn unreadable(&mut self, path: &str, err: String) {
        self.0.insert(format!("{path} (unreadable)"), err);
    }

    /// Fails unless every state was read and the reward, power, market and
    /// miner states are all there.
    pub fn check_whole(&self) -> Result<(), String> {
        if let Some(path) = self.0.keys().find(|p| p.ends_with(" (unreadable)")) {
            return Err(format!("{path}: {}", self.0[path]));
        }
        for prefix in ["reward.", "power.", "market.", "miner "] {
            if !self.0.keys().any(|p| p.starts_with(prefix)) {
                return Err(format!("no `{prefix}` state"));
            }
        }
        Ok(())
    }

    /// The paths whose values differ, `self` being ours.
    pub fn diff(&self, official: &Snapshot) -> Vec<Difference> {
        let mut paths: Vec<&String> = self.0.keys().chain(official.0.keys()).collect();
        paths.sort();
        paths.dedup();
        paths
            .into_iter()
            .filter_map(|p| {
                let (ours, theirs) = (self.0.get(p), official.0.get(p));
                (ours != theirs).then(|| Difference {
                    path: p.clone(),
                    ours: ours.cloned(),
                    official: theirs.cloned(),
                })
            })
            .collect()
    }
}

/// Records each named field of a struct at `prefix.field`. The struct is
/// destructured without `..`, so a field v18 adds cannot go uncompared.
macro_rules! fields {
    ($snap:expr, $prefix:expr, $($ty:ident)::+ { $($field:ident),* $(,)? } = $value:expr) => {{
        let $($ty)::+ { $($field),* } = $value;
        $( $snap.put(format!("{}.{}", $prefix, stringify!($field)), $field); )*
    }};
}

type Read<T> = Result<T, String>;

fn get<T: DeserializeOwned>(bs: &impl Blockstore, cid: &Cid) -> Read<T> {
    bs.get_cbor(cid)
        .map_err(|e| format!("{e:#}"))?
        .ok_or_else(|| format!("block {cid} missing"))
}

/// Calls `f` on each entry of the AMT at `root`.
fn amt<T: DeserializeOwned + Serialize>(
    bs: &impl Blockstore,
    root: &Cid,
    mut f: impl FnMut(u64, &T),
) -> Read<()> {
    let array = Amt::<T, _>::load(root, bs).map_err(|e| e.to_string())?;
    array
        .for_each(|i, v| {
            f(i, v);
            Ok(())
        })
        .map_err(|e| e.to_string())
}

/// Calls `f` on each entry of the HAMT at `root`.
fn hamt<K: MapKey, V: DeserializeOwned + Serialize>(
    bs: &impl Blockstore,
    root: &Cid,
    config: Config,
    mut f: impl FnMut(K, &V),
) -> Read<()> {
    let map = Map2::<_, K, V>::load(bs, root, config, "snapshot").map_err(|e| e.to_string())?;
    map.for_each(|k, v| {
        f(k, v);
        Ok(())
    })
    .map_err(|e| e.to_string())
}

/// Runs a reader of the state under `path`, recording its failure there.
fn read(s: &mut Snapshot, path: &str, f: impl FnOnce(&mut Snapshot) -> Read<()>) {
    if let Err(e) = f(s) {
        s.unreadable(path, e);
    }
}

/// Everything under state root `root`. `burnt` is the gas each sender
/// (by actor ID) burnt so far; it is added back to its balance.
pub fn snapshot(bs: &impl Blockstore, root: &Cid, burnt: &BTreeMap<u64, TokenAmount>) -> Snapshot {
    let mut s = Snapshot::default();
    let tree = StateTree::new_from_root(bs, root).expect("load the state tree");
    let mut heads = BTreeMap::new();
    tree.for_each(|addr, actor| {
        let id = addr.id()?;
        let p = format!("actor {addr}");
        let ActorState {
            code,
            state,
            sequence,
            balance,
            delegated_address,
        } = actor;
        let balance = match id {
            BURNT_FUNDS_ACTOR => balance - burnt.values().sum::<TokenAmount>(),
            _ => balance + burnt.get(&id).cloned().unwrap_or_default(),
        };
        s.put(format!("{p}.code"), code);
        s.put(format!("{p}.head"), state);
        s.put(format!("{p}.sequence"), sequence);
        s.put(format!("{p}.balance"), &balance);
        s.put(format!("{p}.delegated_address"), delegated_address);
        heads.insert(id, *state);
        Ok(())
    })
    .expect("walk the state tree");

    if let Some(head) = heads.get(&REWARD_ACTOR) {
        read(&mut s, "reward", |s| reward_state(s, bs, head));
    }
    if let Some(head) = heads.get(&POWER_ACTOR) {
        let mut miners = Vec::new();
        read(&mut s, "power", |s| power_state(s, bs, head, &mut miners));
        for id in miners {
            let p = format!("miner f0{id}");
            match heads.get(&id) {
                Some(head) => read(&mut s, &p, |s| miner_state(s, bs, &p, head)),
                None => s.unreadable(&p, "a claim without an actor".to_string()),
            }
        }
    }
    if let Some(head) = heads.get(&MARKET_ACTOR) {
        read(&mut s, "market", |s| market_state(s, bs, head));
    }
    s
}

fn reward_state(s: &mut Snapshot, bs: &impl Blockstore, head: &Cid) -> Read<()> {
    let st: reward::State = get(bs, head)?;
    fields!(
        s,
        "reward",
        reward::State {
            cumsum_baseline,
            cumsum_realized,
            effective_network_time,
            effective_baseline_power,
            this_epoch_reward,
            this_epoch_reward_smoothed,
            this_epoch_baseline_power,
            epoch,
            total_storage_power_reward,
            simple_total,
            baseline_total,
        } = &st
    );
    Ok(())
}

/// The power state; `miners` gets the ID of each miner with a claim.
fn power_state(
    s: &mut Snapshot,
    bs: &impl Blockstore,
    head: &Cid,
    miners: &mut Vec<u64>,
) -> Read<()> {
    let st: power::State = get(bs, head)?;
    fields!(
        s,
        "power",
        power::State {
            total_raw_byte_power,
            total_bytes_committed,
            total_quality_adj_power,
            total_qa_bytes_committed,
            total_pledge_collateral,
            this_epoch_raw_byte_power,
            this_epoch_quality_adj_power,
            this_epoch_pledge_collateral,
            this_epoch_qa_power_smoothed,
            miner_count,
            miner_above_min_power_count,
            ramp_start_epoch,
            ramp_duration_epochs,
            cron_event_queue,
            first_cron_epoch,
            claims,
            proof_validation_batch,
        } = &st
    );
    read(s, "power.claims", |s| {
        hamt(
            bs,
            &st.claims,
            power::CLAIMS_CONFIG,
            |a: Address, c: &power::Claim| {
                if let Ok(id) = a.id() {
                    miners.push(id);
                }
                fields!(
                    s,
                    format!("power.claims[{a}]"),
                    power::Claim {
                        window_post_proof_type,
                        raw_byte_power,
                        quality_adj_power,
                    } = c
                );
            },
        )
    });
    let queue = Config {
        bit_width: power::CRON_QUEUE_HAMT_BITWIDTH,
        ..DEFAULT_HAMT_CONFIG
    };
    let mut events = Vec::new();
    read(s, "power.cron_event_queue", |_| {
        hamt(bs, &st.cron_event_queue, queue, |epoch: i64, root: &Cid| {
            events.push((epoch, *root));
        })
    });
    for (epoch, root) in events {
        let p = format!("power.cron_event_queue[{epoch}]");
        s.put(&p, &root);
        read(s, &p, |s| {
            amt(bs, &root, |i, e: &power::CronEvent| {
                fields!(
                    s,
                    format!("{p}[{i}]"),
                    power::CronEvent {
                        miner_addr,
                        callback_payload
                    } = e
                );
            })
        });
    }
    Ok(())
}

fn miner_state(s: &mut Snapshot, bs: &impl Blockstore, p: &str, head: &Cid) -> Read<()> {
    let st: miner::State = get(bs, head)?;
    fields!(
        s,
        p,
        miner::State {
            info,
            pre_commit_deposits,
            locked_funds,
            vesting_funds,
            fee_debt,
            initial_pledge,
            pre_committed_sectors,
            pre_committed_sectors_cleanup,
            allocated_sectors,
            sectors,
            proving_period_start,
            current_deadline,
            deadlines,
            early_terminations,
            deadline_cron_active,
        } = &st
    );
    let info: miner::MinerInfo = get(bs, &st.info)?;
    fields!(
        s,
        format!("{p}.info"),
        miner::MinerInfo {
            owner,
            worker,
            control_addresses,
            pending_worker_key,
            peer_id,
            multi_address,
            window_post_proof_type,
            sector_size,
            window_post_partition_sectors,
            consensus_fault_elapsed,
            pending_owner_address,
            beneficiary,
            beneficiary_term,
            pending_beneficiary_term,
        } = &info
    );
    // By epoch, so that one fund more or less does not shift the rest.
    let vesting = st.vesting_funds.load(bs).map_err(|e| e.to_string())?;
    for fund in vesting {
        s.put(format!("{p}.vesting_funds[{}]", fund.epoch), &fund.amount);
    }
    let pre = format!("{p}.pre_committed_sectors");
    read(s, &pre, |s| {
        hamt(
            bs,
            &st.pre_committed_sectors,
            miner::PRECOMMIT_CONFIG,
            |n: u64, v: &miner::SectorPreCommitOnChainInfo| {
                let q = format!("{pre}[{n}]");
                fields!(
                    s,
                    q,
                    miner::SectorPreCommitOnChainInfo {
                        info,
                        pre_commit_deposit,
                        pre_commit_epoch,
                    } = v
                );
                fields!(
                    s,
                    format!("{q}.info"),
                    miner::SectorPreCommitInfo {
                        seal_proof,
                        sector_number,
                        sealed_cid,
                        seal_rand_epoch,
                        deal_ids,
                        expiration,
                        unsealed_cid,
                    } = &v.info
                );
            },
        )
    });
    let cleanup = format!("{p}.pre_committed_sectors_cleanup");
    read(s, &cleanup, |s| {
        amt(bs, &st.pre_committed_sectors_cleanup, |e, b: &BitField| {
            s.put(format!("{cleanup}[{e}]"), b);
        })
    });
    let allocated: BitField = get(bs, &st.allocated_sectors)?;
    s.put(format!("{p}.allocated_sectors (bits)"), &allocated);
    read(s, &format!("{p}.sectors"), |s| {
        amt(bs, &st.sectors, |n, v| {
            sector(s, &format!("{p}.sectors[{n}]"), v)
        })
    });
    let deadlines: miner::Deadlines = get(bs, &st.deadlines)?;
    for (i, root) in deadlines.due.iter().enumerate() {
        let q = format!("{p}.deadlines[{i}]");
        s.put(&q, root);
        read(s, &q, |s| deadline(s, bs, &q, root));
    }
    Ok(())
}

fn sector(s: &mut Snapshot, p: &str, v: &miner::SectorOnChainInfo) {
    fields!(
        s,
        p,
        miner::SectorOnChainInfo {
            sector_number,
            seal_proof,
            sealed_cid,
            deprecated_deal_ids,
            activation,
            expiration,
            deal_weight,
            verified_deal_weight,
            initial_pledge,
            expected_day_reward,
            expected_storage_pledge,
            power_base_epoch,
            replaced_day_reward,
            sector_key_cid,
            flags,
            daily_fee,
        } = v
    );
}

fn deadline(s: &mut Snapshot, bs: &impl Blockstore, p: &str, root: &Cid) -> Read<()> {
    let d: miner::Deadline = get(bs, root)?;
    fields!(
        s,
        p,
        miner::Deadline {
            partitions,
            expirations_epochs,
            partitions_posted,
            early_terminations,
            live_sectors,
            total_sectors,
            faulty_power,
            optimistic_post_submissions,
            sectors_snapshot,
            partitions_snapshot,
            optimistic_post_submissions_snapshot,
            live_power,
            daily_fee,
        } = &d
    );
    let mut parts = Vec::new();
    read(s, &format!("{p}.partitions"), |_| {
        amt(bs, &d.partitions, |i, v: &miner::Partition| {
            parts.push((i, v.clone()))
        })
    });
    for (i, part) in parts {
        partition(s, bs, &format!("{p}.partitions[{i}]"), &part);
    }
    read(s, &format!("{p}.expirations_epochs"), |s| {
        amt(bs, &d.expirations_epochs, |e, b: &BitField| {
            s.put(format!("{p}.expirations_epochs[{e}]"), b);
        })
    });
    for (name, root) in [
        (
            "optimistic_post_submissions",
            &d.optimistic_post_submissions,
        ),
        (
            "optimistic_post_submissions_snapshot",
            &d.optimistic_post_submissions_snapshot,
        ),
    ] {
        read(s, &format!("{p}.{name}"), |s| {
            amt(bs, root, |i, v: &miner::WindowedPoSt| {
                fields!(
                    s,
                    format!("{p}.{name}[{i}]"),
                    miner::WindowedPoSt { partitions, proofs } = v
                );
            })
        });
    }
    read(s, &format!("{p}.sectors_snapshot"), |s| {
        amt(bs, &d.sectors_snapshot, |n, v| {
            sector(s, &format!("{p}.sectors_snapshot[{n}]"), v)
        })
    });
    let mut parts = Vec::new();
    read(s, &format!("{p}.partitions_snapshot"), |_| {
        amt(bs, &d.partitions_snapshot, |i, v: &miner::Partition| {
            parts.push((i, v.clone()))
        })
    });
    for (i, part) in parts {
        partition(s, bs, &format!("{p}.partitions_snapshot[{i}]"), &part);
    }
    Ok(())
}

fn partition(s: &mut Snapshot, bs: &impl Blockstore, p: &str, v: &miner::Partition) {
    fields!(
        s,
        p,
        miner::Partition {
            sectors,
            unproven,
            faults,
            recoveries,
            terminated,
            expirations_epochs,
            early_terminated,
            live_power,
            unproven_power,
            faulty_power,
            recovering_power,
        } = v
    );
    read(s, &format!("{p}.expirations_epochs"), |s| {
        amt(bs, &v.expirations_epochs, |e, x: &miner::ExpirationSet| {
            fields!(
                s,
                format!("{p}.expirations_epochs[{e}]"),
                miner::ExpirationSet {
                    on_time_sectors,
                    early_sectors,
                    on_time_pledge,
                    active_power,
                    faulty_power,
                    fee_deduction,
                } = x
            );
        })
    });
    read(s, &format!("{p}.early_terminated"), |s| {
        amt(bs, &v.early_terminated, |e, b: &BitField| {
            s.put(format!("{p}.early_terminated[{e}]"), b);
        })
    });
}

fn market_state(s: &mut Snapshot, bs: &impl Blockstore, head: &Cid) -> Read<()> {
    let st: market::State = get(bs, head)?;
    fields!(
        s,
        "market",
        market::State {
            proposals,
            states,
            pending_proposals,
            escrow_table,
            locked_table,
            next_id,
            deal_ops_by_epoch,
            last_cron,
            total_client_locked_collateral,
            total_provider_locked_collateral,
            total_client_storage_fee,
            pending_deal_allocation_ids,
            provider_sectors,
        } = &st
    );
    read(s, "market.proposals", |s| {
        amt(bs, &st.proposals, |id, v: &market::DealProposal| {
            fields!(
                s,
                format!("market.proposals[{id}]"),
                market::DealProposal {
                    piece_cid,
                    piece_size,
                    verified_deal,
                    client,
                    provider,
                    label,
                    start_epoch,
                    end_epoch,
                    storage_price_per_epoch,
                    provider_collateral,
                    client_collateral,
                } = v
            );
        })
    });
    read(s, "market.states", |s| {
        amt(bs, &st.states, |id, v: &market::DealState| {
            fields!(
                s,
                format!("market.states[{id}]"),
                market::DealState {
                    sector_number,
                    sector_start_epoch,
                    last_updated_epoch,
                    slash_epoch,
                } = v
            );
        })
    });
    read(s, "market.pending_proposals", |s| {
        hamt(
            bs,
            &st.pending_proposals,
            market::PENDING_PROPOSALS_CONFIG,
            |c: Cid, _: &()| {
                s.put(format!("market.pending_proposals[{c}]"), &"present");
            },
        )
    });
    for (name, root) in [
        ("escrow_table", &st.escrow_table),
        ("locked_table", &st.locked_table),
    ] {
        read(s, &format!("market.{name}"), |s| {
            let table = market::balance_table::BalanceTable::from_root(bs, root, "snapshot")
                .map_err(|e| e.to_string())?;
            table
                .0
                .for_each(|a, v| {
                    s.put(format!("market.{name}[{a}]"), v);
                    Ok(())
                })
                .map_err(|e| e.to_string())
        });
    }
    let mut ops = Vec::new();
    read(s, "market.deal_ops_by_epoch", |_| {
        hamt(
            bs,
            &st.deal_ops_by_epoch,
            market::DEAL_OPS_BY_EPOCH_CONFIG.outer,
            |e: i64, root: &Cid| ops.push((e, *root)),
        )
    });
    for (epoch, root) in ops {
        let p = format!("market.deal_ops_by_epoch[{epoch}]");
        s.put(&p, &root);
        read(s, &p, |s| {
            hamt(
                bs,
                &root,
                market::DEAL_OPS_BY_EPOCH_CONFIG.inner,
                |id: u64, _: &()| {
                    s.put(format!("{p}[{id}]"), &"present");
                },
            )
        });
    }
    read(s, "market.pending_deal_allocation_ids", |s| {
        hamt(
            bs,
            &st.pending_deal_allocation_ids,
            market::PENDING_ALLOCATIONS_CONFIG,
            |id: u64, a: &u64| s.put(format!("market.pending_deal_allocation_ids[{id}]"), a),
        )
    });
    let mut providers = Vec::new();
    read(s, "market.provider_sectors", |_| {
        hamt(
            bs,
            &st.provider_sectors,
            market::PROVIDER_SECTORS_CONFIG,
            |id: u64, root: &Cid| {
                providers.push((id, *root));
            },
        )
    });
    for (provider, root) in providers {
        let p = format!("market.provider_sectors[f0{provider}]");
        s.put(&p, &root);
        read(s, &p, |s| {
            hamt(
                bs,
                &root,
                market::SECTOR_DEALS_CONFIG,
                |n: u64, deals: &Vec<u64>| {
                    s.put(format!("{p}[{n}]"), deals);
                },
            )
        });
    }
    Ok(())
}

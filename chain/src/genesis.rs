//! The devnet's genesis state.
//!
//! As Lotus does, genesis writes the system actor (which points the FVM at
//! the bundle's manifest) and the init actor directly, plus the burnt-funds
//! account f099 and the funded key accounts; the other singletons are created
//! empty and then run their own constructors through implicit messages from
//! the system actor, so any bundle with builtin-actors' constructors works.

use anyhow::Context;
use cid::Cid;
use fvm::state_tree::{ActorState, StateTree, StateTreeVersion};
use fvm_ipld_encoding::tuple::{Deserialize_tuple, Serialize_tuple};
use fvm_ipld_encoding::{CborStore, RawBytes};
use fvm_ipld_hamt::{BytesKey, Hamt};
use fvm_shared::address::Address;
use fvm_shared::econ::TokenAmount;
use fvm_shared::{ActorID, EMPTY_ARR_CID};
use multihash_codetable::Code;

use crate::blockstore::DbBlockstore;
use crate::bundle::Bundle;
use crate::externs::DevnetExterns;
use crate::state::FvmContext;
use crate::vm::{CRON_ACTOR, Vm};

/// The system actor's state, as the FVM reads it.
#[derive(Serialize_tuple, Deserialize_tuple)]
struct SystemState {
    builtin_actors: Cid,
}

/// The init actor's state, as the FVM reads it.
#[derive(Serialize_tuple, Deserialize_tuple)]
struct InitState {
    address_map: Cid,
    next_id: ActorID,
    network_name: String,
}

/// An account's state.
#[derive(Serialize_tuple, Deserialize_tuple)]
struct AccountState {
    address: Address,
}

/// A cron entry (v18).
#[derive(Serialize_tuple, Deserialize_tuple)]
struct CronEntry {
    receiver: Address,
    method_num: u64,
}

/// The burnt-funds account.
pub const BURNT_FUNDS_ACTOR: ActorID = 99;
/// The reward actor's ID; a plain account until the bundle has a reward actor.
pub const REWARD_ACTOR: ActorID = 2;
/// The Ethereum address manager.
pub const EAM_ACTOR: ActorID = 10;
/// The first ID of a non-singleton actor.
pub const FIRST_NON_SINGLETON_ID: ActorID = 100;

/// What genesis creates.
#[derive(Debug, Clone)]
pub struct GenesisSpec {
    /// The network's name.
    pub network_name: String,
    /// Funded key accounts (f1 or f3) and their balances.
    pub accounts: Vec<(Address, TokenAmount)>,
}

/// Builds the genesis state in `bs` and returns its root.
pub fn build(
    bs: &DbBlockstore,
    bundle: &Bundle,
    spec: &GenesisSpec,
    vm: &Vm,
    externs: DevnetExterns,
) -> anyhow::Result<Cid> {
    let mut tree = StateTree::new(bs.clone(), StateTreeVersion::V5).fvm("new state tree")?;
    let system = put(
        bs,
        &SystemState {
            builtin_actors: bundle.manifest_data,
        },
    )?;
    tree.set_actor(
        0,
        actor(bundle.code("system")?, system, TokenAmount::default()),
    );

    let empty_map = Hamt::<_, ActorID, BytesKey>::new_with_bit_width(bs.clone(), 5)
        .flush()
        .context("empty address map")?;
    let init = put(
        bs,
        &InitState {
            address_map: empty_map,
            next_id: FIRST_NON_SINGLETON_ID,
            network_name: spec.network_name.clone(),
        },
    )?;
    tree.set_actor(1, actor(bundle.code("init")?, init, TokenAmount::default()));

    let account_code = bundle.code("account")?;
    for id in [REWARD_ACTOR, BURNT_FUNDS_ACTOR] {
        let st = put(
            bs,
            &AccountState {
                address: Address::new_id(id),
            },
        )?;
        tree.set_actor(id, actor(account_code, st, TokenAmount::default()));
    }
    // Singletons that construct themselves below start with an empty state.
    bs.put_cbor(&Vec::<u8>::new(), Code::Blake2b256)?; // EMPTY_ARR_CID's block
    tree.set_actor(
        CRON_ACTOR,
        actor(bundle.code("cron")?, EMPTY_ARR_CID, TokenAmount::default()),
    );
    tree.set_actor(
        EAM_ACTOR,
        actor(bundle.code("eam")?, EMPTY_ARR_CID, TokenAmount::default()),
    );

    for (addr, balance) in &spec.accounts {
        let id = tree
            .register_new_address(addr)
            .fvm(&format!("register genesis account {addr}"))?;
        let st = put(bs, &AccountState { address: *addr })?;
        tree.set_actor(id, actor(account_code, st, balance.clone()));
    }
    let root = tree.flush().fvm("flush genesis state")?;

    let construct =
        |to: ActorID, params: RawBytes| crate::vm::implicit(Address::new_id(to), 1, params, 0);
    let no_entries: Vec<CronEntry> = Vec::new();
    vm.apply_implicit(
        root,
        vec![
            construct(CRON_ACTOR, RawBytes::serialize((no_entries,))?),
            construct(EAM_ACTOR, RawBytes::default()),
        ],
        externs,
    )
}

fn put<T: serde::Serialize>(bs: &DbBlockstore, v: &T) -> anyhow::Result<Cid> {
    bs.put_cbor(v, Code::Blake2b256)
}

fn actor(code: Cid, state: Cid, balance: TokenAmount) -> ActorState {
    ActorState::new(code, state, balance, 0, None)
}

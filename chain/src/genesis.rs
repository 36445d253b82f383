//! The devnet's genesis state.
//!
//! Genesis writes the system actor (which points the FVM at the bundle's
//! manifest) and the init actor directly, plus the burnt-funds account f099,
//! the funded key accounts and, as Lotus's genesis does, an Ethereum account
//! at the zero address 0x00…00 (the sender of an `eth_call` that names
//! none); the other singletons are created empty and
//! then run their own v18 constructors through implicit messages from the
//! system actor, so any bundle with builtin-actors v18's constructors works
//! (ours, or the official one). Lotus writes the singletons' states directly
//! instead; the result is the same state.

use anyhow::Context;
use cid::Cid;
use fvm::state_tree::{ActorState, StateTree, StateTreeVersion};
use fvm_ipld_encoding::tuple::{Deserialize_tuple, Serialize_tuple};
use fvm_ipld_encoding::{CborStore, RawBytes};
use fvm_ipld_hamt::{BytesKey, Hamt};
use fvm_shared::address::Address;
use fvm_shared::bigint::BigInt;
use fvm_shared::bigint::bigint_ser::BigIntSer;
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

/// The reward actor.
pub const REWARD_ACTOR: ActorID = 2;
/// The storage power actor.
pub const POWER_ACTOR: ActorID = 4;
/// The storage market actor.
pub const MARKET_ACTOR: ActorID = 5;
/// The verified registry actor.
pub const VERIFREG_ACTOR: ActorID = 6;
/// The datacap token actor.
pub const DATACAP_ACTOR: ActorID = 7;
/// The Ethereum address manager.
pub const EAM_ACTOR: ActorID = 10;
/// The burnt-funds account.
pub const BURNT_FUNDS_ACTOR: ActorID = 99;
/// The first ID of a non-singleton actor.
pub const FIRST_NON_SINGLETON_ID: ActorID = 100;
/// Power's end-of-epoch handler, which cron calls first.
pub const POWER_ON_EPOCH_TICK_END: u64 = 5;
/// Market's cron handler, which cron calls second.
pub const MARKET_CRON_TICK: u64 = 9;
/// The reward actor's balance at genesis: the storage-mining allocation
/// of Filecoin's supply (1.1 billion FIL), as Lotus gives it.
pub const INITIAL_REWARD_BALANCE_FIL: u64 = 1_100_000_000;

/// What genesis creates.
#[derive(Debug, Clone)]
pub struct GenesisSpec {
    /// The network's name.
    pub network_name: String,
    /// Funded key accounts (f1 or f3) and their balances.
    pub accounts: Vec<(Address, TokenAmount)>,
}

/// Builds the genesis state in `bs` and returns its root.
///
/// The singletons of builtin-actors v18 are created with an empty state and
/// then run their v18 constructors, in Lotus's order, with v18's constructor
/// parameters: reward (the realized power, 0), cron (power's
/// `OnEpochTickEnd`, then market's `CronTick`), power, market, the verified
/// registry (root key: the first genesis account), datacap (governor: the
/// verified registry) and the EAM. So the official bundle runs on the same
/// genesis as ours.
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
    let burnt = put(
        bs,
        &AccountState {
            address: Address::new_id(BURNT_FUNDS_ACTOR),
        },
    )?;
    tree.set_actor(
        BURNT_FUNDS_ACTOR,
        actor(account_code, burnt, TokenAmount::default()),
    );
    // Singletons that construct themselves below start with an empty state.
    bs.put_cbor(&Vec::<u8>::new(), Code::Blake2b256)?; // EMPTY_ARR_CID's block
    let singletons = [
        (REWARD_ACTOR, "reward"),
        (CRON_ACTOR, "cron"),
        (POWER_ACTOR, "storagepower"),
        (MARKET_ACTOR, "storagemarket"),
        (VERIFREG_ACTOR, "verifiedregistry"),
        (DATACAP_ACTOR, "datacap"),
        (EAM_ACTOR, "eam"),
    ];
    for (id, name) in singletons {
        let balance = if id == REWARD_ACTOR {
            TokenAmount::from_whole(INITIAL_REWARD_BALANCE_FIL)
        } else {
            TokenAmount::default()
        };
        tree.set_actor(id, actor(bundle.code(name)?, EMPTY_ARR_CID, balance));
    }

    let mut first_account = None;
    for (addr, balance) in &spec.accounts {
        let id = tree
            .register_new_address(addr)
            .fvm(&format!("register genesis account {addr}"))?;
        first_account.get_or_insert(id);
        let st = put(bs, &AccountState { address: *addr })?;
        tree.set_actor(id, actor(account_code, st, balance.clone()));
    }
    // The Ethereum zero address, an Ethereum account with no balance, as
    // Lotus creates it; after the key accounts, so their IDs start at f0100.
    let zero = crate::eth::EthAddress([0; 20]).to_filecoin();
    let id = tree
        .register_new_address(&zero)
        .fvm("register the Ethereum zero address")?;
    tree.set_actor(
        id,
        ActorState::new(
            bundle.code("ethaccount")?,
            EMPTY_ARR_CID,
            TokenAmount::default(),
            0,
            Some(zero),
        ),
    );
    let root = tree.flush().fvm("flush genesis state")?;

    let construct =
        |to: ActorID, params: RawBytes| crate::vm::implicit(Address::new_id(to), 1, params, 0);
    let cron_entries = vec![
        CronEntry {
            receiver: Address::new_id(POWER_ACTOR),
            method_num: POWER_ON_EPOCH_TICK_END,
        },
        CronEntry {
            receiver: Address::new_id(MARKET_ACTOR),
            method_num: MARKET_CRON_TICK,
        },
    ];
    // The verified registry's root key must be an existing actor.
    let root_key = Address::new_id(first_account.unwrap_or(BURNT_FUNDS_ACTOR));
    vm.apply_implicit(
        root,
        vec![
            // Reward: the network's realized power at genesis (none).
            construct(
                REWARD_ACTOR,
                RawBytes::serialize(BigIntSer(&BigInt::default()))?,
            ),
            construct(CRON_ACTOR, RawBytes::serialize((cron_entries,))?),
            construct(POWER_ACTOR, RawBytes::default()),
            construct(MARKET_ACTOR, RawBytes::default()),
            construct(VERIFREG_ACTOR, RawBytes::serialize(root_key)?),
            construct(
                DATACAP_ACTOR,
                RawBytes::serialize(Address::new_id(VERIFREG_ACTOR))?,
            ),
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

//! Builtin actor types, numbered as the FVM numbers them: by position in the
//! bundle manifest, whose order is builtin-actors'. Our bundle uses the same
//! names and order, so these numbers hold for it and for the official one.

use fvm_shared::ActorID;

/// The builtin actor types in manifest order (1-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(i32)]
pub enum Type {
    /// system (f00)
    System = 1,
    /// init (f01)
    Init = 2,
    /// cron (f03)
    Cron = 3,
    /// account
    Account = 4,
    /// storagepower (f04)
    Power = 5,
    /// storageminer
    Miner = 6,
    /// storagemarket (f05)
    Market = 7,
    /// paymentchannel
    PaymentChannel = 8,
    /// multisig
    Multisig = 9,
    /// reward (f02)
    Reward = 10,
    /// verifiedregistry (f06)
    VerifiedRegistry = 11,
    /// datacap (f07)
    DataCap = 12,
    /// placeholder
    Placeholder = 13,
    /// evm
    Evm = 14,
    /// eam (f010)
    Eam = 15,
    /// ethaccount
    EthAccount = 16,
}

/// The manifest names, in order: index `i` is type `i + 1`.
pub const MANIFEST_NAMES: [&str; 16] = [
    "system",
    "init",
    "cron",
    "account",
    "storagepower",
    "storageminer",
    "storagemarket",
    "paymentchannel",
    "multisig",
    "reward",
    "verifiedregistry",
    "datacap",
    "placeholder",
    "evm",
    "eam",
    "ethaccount",
];

/// The system actor.
pub const SYSTEM_ACTOR_ID: ActorID = 0;
/// The init actor.
pub const INIT_ACTOR_ID: ActorID = 1;
/// The reward actor.
pub const REWARD_ACTOR_ID: ActorID = 2;
/// The cron actor.
pub const CRON_ACTOR_ID: ActorID = 3;
/// The storage power actor.
pub const STORAGE_POWER_ACTOR_ID: ActorID = 4;
/// The storage market actor.
pub const STORAGE_MARKET_ACTOR_ID: ActorID = 5;
/// The verified registry actor.
pub const VERIFIED_REGISTRY_ACTOR_ID: ActorID = 6;
/// The datacap actor.
pub const DATACAP_TOKEN_ACTOR_ID: ActorID = 7;
/// The Ethereum address manager.
pub const EAM_ACTOR_ID: ActorID = 10;
/// Where burnt funds go.
pub const BURNT_FUNDS_ACTOR_ID: ActorID = 99;

/// The builtin type of the actor `id`, if it is a builtin actor.
pub fn actor_type(id: ActorID) -> Option<Type> {
    let code = fvm_sdk::actor::get_actor_code_cid(&fvm_shared::address::Address::new_id(id))?;
    type_of_code(&code)
}

/// The builtin type of `code`, if it is builtin code.
pub fn type_of_code(code: &cid::Cid) -> Option<Type> {
    let n = fvm_sdk::actor::get_builtin_actor_type(code)?;
    ALL.iter().copied().find(|t| *t as i32 == n)
}

/// The code CID of builtin type `t` in the running bundle.
pub fn code_of(t: Type) -> cid::Cid {
    fvm_sdk::actor::get_code_cid_for_type(t as i32)
}

const ALL: [Type; 16] = [
    Type::System,
    Type::Init,
    Type::Cron,
    Type::Account,
    Type::Power,
    Type::Miner,
    Type::Market,
    Type::PaymentChannel,
    Type::Multisig,
    Type::Reward,
    Type::VerifiedRegistry,
    Type::DataCap,
    Type::Placeholder,
    Type::Evm,
    Type::Eam,
    Type::EthAccount,
];

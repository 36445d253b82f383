//! The `multisig` slot of the bundle manifest. Ferrite's devnet does not
//! implement this actor (yet); the stub keeps builtin-actors' manifest order,
//! so actor type numbers match the official bundle, and refuses its methods
//! with a clear message. Run the official bundle (`ferrite devnet
//! --actors-bundle`) where it is needed.
//!
//! As v18's multisig, it accepts FRC-42 exported methods it does not have as
//! no-ops (the universal receiver hook).

ferrite_actor_rt::unimplemented_actor!("multisig", ferrite_actor_rt::AnyCbor, receives_exported);

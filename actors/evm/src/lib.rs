//! The `evm` slot of the bundle manifest. Ferrite's devnet does not
//! implement this actor (yet); the stub keeps builtin-actors' manifest order,
//! so actor type numbers match the official bundle, and refuses its methods
//! with a clear message. Run the official bundle (`ferrite devnet
//! --actors-bundle`) where it is needed.

ferrite_actor_rt::unimplemented_actor!("evm", ferrite_actor_rt::AnyCbor);

//! The `datacap` slot of the bundle manifest. Ferrite's devnet does not
//! implement this actor (yet); the stub keeps builtin-actors' manifest order,
//! so actor type numbers match the official bundle, and refuses its methods
//! with a clear message. Run the official bundle (`ferrite devnet
//! --actors-bundle`) where it is needed.
//!
//! Its constructor takes v18's parameters (the governor's address), which
//! genesis passes.

ferrite_actor_rt::unimplemented_actor!("datacap", ferrite_actor_rt::shared::address::Address);

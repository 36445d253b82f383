//! Reading the FVM's state tree, with errors the rest of the crate can carry.

use fvm::state_tree::StateTree;
use fvm_ipld_blockstore::Blockstore;
use fvm_shared::address::Address;
use fvm_shared::state::ActorState;

/// Turns the FVM's errors (which are not `std::error::Error`) into anyhow's.
pub trait FvmContext<T> {
    /// The value, or an error that says what was being done.
    fn fvm(self, what: &str) -> anyhow::Result<T>;
}

impl<T, E: std::fmt::Display> FvmContext<T> for Result<T, E> {
    fn fvm(self, what: &str) -> anyhow::Result<T> {
        self.map_err(|e| anyhow::anyhow!("{what}: {e}"))
    }
}

/// The actor at `addr` (any address kind).
pub fn actor_by_address<B: Blockstore>(
    tree: &StateTree<B>,
    addr: &Address,
) -> anyhow::Result<Option<ActorState>> {
    match tree.lookup_id(addr).fvm("look up address")? {
        Some(id) => tree.get_actor(id).fvm("read actor"),
        None => Ok(None),
    }
}

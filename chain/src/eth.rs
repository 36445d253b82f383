//! Ethereum on the devnet: addresses and signed transactions.
//!
//! An Ethereum transaction (EIP-1559 or legacy EIP-155) becomes a Filecoin
//! message from the sender's f410 address with a Delegated signature, as
//! Lotus converts it ([`tx`]); the pool checks that signature by rebuilding
//! the transaction from the message ([`tx::EthTx::from_message`]), so the
//! message alone identifies the transaction and its hash. [`address`] maps
//! 20-byte Ethereum addresses to and from Filecoin addresses; [`eam`] builds
//! the messages that deploy and call contracts from a Filecoin account.

pub mod address;
pub mod eam;
pub mod tx;

pub use address::EthAddress;
pub use tx::{EthTx, TxError};

/// Keccak-256.
pub fn keccak(data: &[u8]) -> [u8; 32] {
    use sha3::Digest;
    sha3::Keccak256::digest(data).into()
}

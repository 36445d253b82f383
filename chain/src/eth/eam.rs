//! The Ethereum Address Manager's and EVM actor's message shapes (v18), for
//! clients that deploy and call contracts with Filecoin messages, as
//! `lotus evm deploy` and `lotus evm invoke` do.
//!
//! A top-level account deploys with the EAM's `CreateExternal` (`Create`
//! and `Create2` are for contracts): the contract's address follows
//! Ethereum's CREATE rule from the message's nonce and the sender's Ethereum
//! address, its masked ID for an f1/f3 account. An Ethereum account's
//! transaction becomes the same message ([`super::tx`]). A contract is
//! called with `InvokeContract`; both take and return CBOR byte strings.

use fvm_ipld_encoding::{BytesDe, BytesSer, RawBytes, strict_bytes};
use fvm_shared::address::Address;
use fvm_shared::message::Message;
use serde_tuple::Deserialize_tuple;

use super::address::{EAM_ID, EthAddress};
use super::tx::{CREATE_EXTERNAL, INVOKE_CONTRACT};

/// What `Create`, `Create2` and `CreateExternal` return: the new actor.
#[derive(Debug, Clone, PartialEq, Deserialize_tuple)]
pub struct CreateReturn {
    /// The new actor's ID.
    pub actor_id: u64,
    /// Its robust (f2) address, if it has one.
    pub robust_address: Option<Address>,
    /// Its 20-byte Ethereum address.
    #[serde(with = "strict_bytes")]
    pub eth_address: Vec<u8>,
}

impl CreateReturn {
    /// The new contract's Ethereum address.
    pub fn eth(&self) -> Option<EthAddress> {
        Some(EthAddress(self.eth_address.as_slice().try_into().ok()?))
    }
}

/// Why a message to or from a contract could not be made or read.
#[derive(Debug, thiserror::Error)]
pub enum EamError {
    /// Parameters that do not encode.
    #[error("encode the parameters: {0}")]
    Encode(String),
    /// A return that does not decode as the actor's.
    #[error("decode the return ({what}): {why}")]
    Decode {
        /// What was being decoded.
        what: &'static str,
        /// The decoder's error.
        why: String,
    },
}

/// The message that deploys `initcode` from the top-level account `from`.
pub fn create_message(
    from: Address,
    initcode: &[u8],
    value: fvm_shared::econ::TokenAmount,
) -> Result<Message, EamError> {
    let params =
        RawBytes::serialize(BytesSer(initcode)).map_err(|e| EamError::Encode(e.to_string()))?;
    Ok(Message {
        version: 0,
        from,
        to: Address::new_id(EAM_ID),
        sequence: 0,
        value,
        method_num: CREATE_EXTERNAL,
        params,
        gas_limit: 0,
        gas_fee_cap: Default::default(),
        gas_premium: Default::default(),
    })
}

/// The message that calls contract `to` with `calldata`.
pub fn invoke_message(
    from: Address,
    to: Address,
    calldata: &[u8],
    value: fvm_shared::econ::TokenAmount,
) -> Result<Message, EamError> {
    let params = if calldata.is_empty() {
        RawBytes::default()
    } else {
        RawBytes::serialize(BytesSer(calldata)).map_err(|e| EamError::Encode(e.to_string()))?
    };
    Ok(Message {
        version: 0,
        from,
        to,
        sequence: 0,
        value,
        method_num: INVOKE_CONTRACT,
        params,
        gas_limit: 0,
        gas_fee_cap: Default::default(),
        gas_premium: Default::default(),
    })
}

/// The EAM's return, from a receipt's return data.
pub fn decode_create(ret: &[u8]) -> Result<CreateReturn, EamError> {
    fvm_ipld_encoding::from_slice(ret).map_err(|e| EamError::Decode {
        what: "the EAM's CreateReturn",
        why: e.to_string(),
    })
}

/// A contract's output (or revert data), from a receipt's return data: a
/// CBOR byte string, or nothing.
pub fn decode_output(ret: &[u8]) -> Result<Vec<u8>, EamError> {
    if ret.is_empty() {
        return Ok(Vec::new());
    }
    fvm_ipld_encoding::from_slice::<BytesDe>(ret)
        .map(|b| b.0)
        .map_err(|e| EamError::Decode {
            what: "the contract's output as a CBOR byte string",
            why: e.to_string(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use fvm_shared::econ::TokenAmount;

    #[test]
    fn create_and_invoke_encode_as_v18_reads_them() {
        let from = Address::new_id(1001);
        let m = create_message(from, &[0x60, 0x80], TokenAmount::default()).unwrap();
        assert_eq!((m.method_num, m.to), (4, Address::new_id(10)));
        assert_eq!(m.params.bytes(), &[0x42, 0x60, 0x80]);
        let to = EthAddress([7; 20]).to_filecoin();
        let m = invoke_message(from, to, &[1, 2, 3], TokenAmount::default()).unwrap();
        assert_eq!(m.method_num, INVOKE_CONTRACT);
        assert_eq!(m.params.bytes(), &[0x43, 1, 2, 3]);
        assert!(
            invoke_message(from, to, &[], TokenAmount::default())
                .unwrap()
                .params
                .is_empty()
        );
        assert_eq!(decode_output(&[0x43, 1, 2, 3]).unwrap(), vec![1, 2, 3]);
        assert_eq!(decode_output(&[]).unwrap(), Vec::<u8>::new());
        assert!(decode_output(&[0x01]).is_err());
    }

    #[test]
    fn the_eams_return_decodes() {
        // [1234, null, bytes(20)]
        let mut ret = vec![0x83, 0x19, 0x04, 0xd2, 0xf6, 0x54];
        ret.extend([9u8; 20]);
        let r = decode_create(&ret).unwrap();
        assert_eq!(r.actor_id, 1234);
        assert_eq!(r.robust_address, None);
        assert_eq!(r.eth(), Some(EthAddress([9; 20])));
        assert!(decode_create(&ret[..10]).is_err());
    }
}

//! The devnet node's own storage miner: created through the power actor's
//! `CreateMiner` (builtin-actors v18 parameters) on the node's first start,
//! so that `ferrite devnet` is ready to seal and prove, and credited with the
//! blocks the node produces.

use fil_actor_power_state::v18 as power;
use fvm_ipld_encoding::RawBytes;
use fvm_shared::address::Address;
use fvm_shared::econ::TokenAmount;
use fvm_shared::message::Message;
use fvm_shared::sector::RegisteredPoStProof;

use crate::ChainError;
use crate::devnet::Devnet;
use crate::genesis::POWER_ACTOR;
use crate::wallet::PrivateKey;

/// How many blocks to produce at most while waiting for `CreateMiner`.
const MAX_WAIT_BLOCKS: u32 = 5;

/// What the node's miner is made of.
#[derive(Debug, Clone)]
pub struct MinerSpec {
    /// The owner's address; `owner_key` signs.
    pub owner: Address,
    /// The worker's address (a BLS key, as v18 requires).
    pub worker: Address,
    /// The Window PoSt proof type, which fixes the sector size.
    pub window_post_proof: RegisteredPoStProof,
    /// Sent with `CreateMiner`: v18 locks its create-miner deposit
    /// (FIP-0077) from this; the rest is the miner's available balance.
    pub funds: TokenAmount,
}

/// The first miner on `dn` whose owner is `owner`, if any: a node that
/// stopped after creating its miner, before it could remember it, finds it
/// here instead of creating another.
pub fn find(dn: &Devnet, owner: &Address) -> Result<Option<Address>, ChainError> {
    use fvm_ipld_encoding::CborStore;
    let internal = |what: &str, e: String| ChainError::Internal(anyhow::anyhow!("{what}: {e}"));
    let Some(owner) = dn.lookup_id(owner, &[])? else {
        return Ok(None);
    };
    let Some(actor) = dn.actor(&Address::new_id(POWER_ACTOR), &[])? else {
        return Ok(None);
    };
    let bs = dn.blockstore();
    let st: power::State = bs
        .get_cbor(&actor.state)
        .map_err(|e| internal("read the power actor", e.to_string()))?
        .ok_or_else(|| internal("read the power actor", "state missing".to_string()))?;
    let claims = st
        .load_claims(bs)
        .map_err(|e| internal("load power claims", e.to_string()))?;
    let mut miners = Vec::new();
    claims
        .for_each(|a, _| {
            miners.push(a);
            Ok(())
        })
        .map_err(|e| internal("read power claims", e.to_string()))?;
    for m in miners {
        let Some(ma) = dn.actor(&m, &[])? else {
            continue;
        };
        let Ok(Some(ms)) = bs.get_cbor::<fil_actor_miner_state::v18::State>(&ma.state) else {
            continue;
        };
        if ms.get_info(bs).map(|i| i.owner == owner).unwrap_or(false) {
            return Ok(Some(m));
        }
    }
    Ok(None)
}

/// Creates the miner on `dn`, producing blocks until the message has
/// executed, and returns its ID address.
pub fn create(
    dn: &Devnet,
    spec: &MinerSpec,
    owner_key: &PrivateKey,
) -> Result<Address, ChainError> {
    let params = power::CreateMinerParams {
        owner: spec.owner,
        worker: spec.worker,
        window_post_proof_type: spec.window_post_proof,
        peer: Vec::new(),
        multiaddrs: Vec::new(),
    };
    let msg = Message {
        version: 0,
        from: spec.owner,
        to: Address::new_id(POWER_ACTOR),
        sequence: 0,
        value: spec.funds.clone(),
        method_num: power::Method::CreateMiner as u64,
        params: RawBytes::serialize(&params)
            .map_err(|e| ChainError::Internal(anyhow::anyhow!("encode CreateMiner: {e}")))?,
        gas_limit: 1_000_000_000,
        gas_fee_cap: TokenAmount::from_atto(10_000),
        gas_premium: TokenAmount::from_atto(1_000),
    };
    let sm = dn.push_next(msg, owner_key)?;
    let cid = sm.cid()?;
    for _ in 0..MAX_WAIT_BLOCKS {
        dn.produce_block()?;
        if let Some(found) = dn.search(&cid)? {
            if !found.receipt.exit_code.is_success() {
                return Err(ChainError::Execution(format!(
                    "CreateMiner failed with exit code {}",
                    found.receipt.exit_code
                )));
            }
            let ret: power::CreateMinerReturn =
                fvm_ipld_encoding::from_slice(found.receipt.return_data.bytes()).map_err(|e| {
                    ChainError::Internal(anyhow::anyhow!("decode CreateMinerReturn: {e}"))
                })?;
            return Ok(ret.id_address);
        }
    }
    Err(ChainError::Execution(format!(
        "CreateMiner {cid} did not execute within {MAX_WAIT_BLOCKS} blocks"
    )))
}

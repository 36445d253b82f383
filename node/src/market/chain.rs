//! What the market service reads from and sends to the chain: the head, a
//! client's key address, market escrow, the deals on chain, and the
//! PublishStorageDeals message, signed and recorded before it is pushed.
//!
//! Over the embedded devnet for now (its state read with builtin-actors v18's
//! own types); `ferrite run` will give the same reads over a Lotus node.
//! Every call that reads state runs off the async runtime.

use std::sync::{Arc, Mutex};

use anyhow::Context;
use cid::Cid;
use ferrite_chain::devnet::Devnet;
use ferrite_chain::message::SignedMessage;
use ferrite_chain::wallet::Wallet;
use fil_actor_market_state::v18 as market;
use fvm_ipld_encoding::CborStore;
use fvm_shared::address::Address;
use fvm_shared::econ::TokenAmount;
use fvm_shared::message::Message;

/// The storage market actor.
pub const MARKET_ACTOR: Address = Address::new_id(5);

/// A deal as the market actor holds it.
#[derive(Debug, Clone)]
pub struct OnChainDeal {
    /// Its state, once a sector activated it.
    pub state: Option<market::DealState>,
    /// Its proposal (gone once the deal is over).
    pub proposal: Option<market::DealProposal>,
}

/// The devnet, as the market service uses it.
#[derive(Clone)]
pub struct MarketChain {
    devnet: Arc<Devnet>,
    wallet: Arc<Mutex<Wallet>>,
}

impl std::fmt::Debug for MarketChain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MarketChain").finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> anyhow::Result<T> + Send + 'static,
) -> anyhow::Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .context("chain read task")?
}

impl MarketChain {
    /// The chain of `devnet`, signing with `wallet`.
    pub fn new(devnet: Arc<Devnet>, wallet: Arc<Mutex<Wallet>>) -> Self {
        Self { devnet, wallet }
    }

    /// The head's epoch.
    pub fn head(&self) -> i64 {
        self.devnet.head().height()
    }

    /// The key address (`f1`/`f3`) behind `addr`, which signs for it.
    pub async fn account_key(&self, addr: Address) -> anyhow::Result<Address> {
        let dn = self.devnet.clone();
        blocking(move || {
            dn.account_key(&addr, &[])
                .with_context(|| format!("resolve the key of {addr}"))
        })
        .await
    }

    fn market_state(dn: &Devnet) -> anyhow::Result<market::State> {
        let actor = dn
            .actor(&MARKET_ACTOR, &[])?
            .context("the market actor is missing")?;
        dn.blockstore()
            .get_cbor(&actor.state)?
            .context("the market's state is missing")
    }

    /// `addr`'s free market escrow: balance − locked.
    pub async fn available_escrow(&self, addr: Address) -> anyhow::Result<TokenAmount> {
        let dn = self.devnet.clone();
        blocking(move || {
            let Some(id) = dn.lookup_id(&addr, &[])? else {
                return Ok(TokenAmount::default());
            };
            let id = id.id().context("an ID address")?;
            let st = Self::market_state(&dn)?;
            let bs = dn.blockstore();
            let table = |root: &Cid, name: &'static str| -> anyhow::Result<TokenAmount> {
                market::balance_table::BalanceTable::from_root(bs, root, name)
                    .and_then(|t| t.get(&Address::new_id(id)))
                    .map_err(|e| anyhow::anyhow!("read the {name}: {e}"))
            };
            let escrow = table(&st.escrow_table, "escrow table")?;
            let locked = table(&st.locked_table, "locked table")?;
            Ok(escrow - locked)
        })
        .await
    }

    /// Deal `id` on chain.
    pub async fn deal(&self, id: u64) -> anyhow::Result<OnChainDeal> {
        let dn = self.devnet.clone();
        blocking(move || {
            let st = Self::market_state(&dn)?;
            let bs = dn.blockstore();
            let state = st
                .find_deal_state(bs, id)
                .map_err(|e| anyhow::anyhow!("read deal state {id}: {e}"))?;
            let proposal = st
                .find_proposal(bs, id)
                .map_err(|e| anyhow::anyhow!("read deal proposal {id}: {e}"))?;
            Ok(OnChainDeal { state, proposal })
        })
        .await
    }

    /// Whether the market holds proposal `cid` as published and not yet
    /// activated or expired.
    pub async fn is_pending(&self, cid: Cid) -> anyhow::Result<bool> {
        let dn = self.devnet.clone();
        blocking(move || {
            let st = Self::market_state(&dn)?;
            st.has_pending_deal(dn.blockstore(), &cid)
                .map_err(|e| anyhow::anyhow!("read pending proposals: {e}"))
        })
        .await
    }

    /// Signs `msg` from `from` (a key in the wallet) with its gas estimated
    /// and the sender's next nonce, without pushing it: the caller records
    /// its CID first. A message of the same nonce pushed meanwhile by
    /// another sender of the node makes this one fail to push (or never
    /// land); the deal's recovery finds it lost and publishes it again.
    pub async fn sign(&self, msg: Message) -> anyhow::Result<SignedMessage> {
        let (dn, wallet) = (self.devnet.clone(), self.wallet.clone());
        blocking(move || {
            let signer = dn.account_key(&msg.from, &[])?;
            let mut msg = dn.estimate_gas(msg, &TokenAmount::default())?;
            msg.sequence = dn.next_nonce(&msg.from)?;
            let key = lock(&wallet)
                .key(&signer)
                .cloned()
                .with_context(|| format!("the wallet has no key for {signer}"))?;
            SignedMessage::sign(msg, &key)
        })
        .await
    }

    /// `addr`'s balance (0 without an actor).
    pub async fn balance(&self, addr: Address) -> anyhow::Result<TokenAmount> {
        let dn = self.devnet.clone();
        blocking(move || Ok(dn.actor(&addr, &[])?.map(|a| a.balance).unwrap_or_default())).await
    }

    /// Moves `amount` from `from` into `to`'s market escrow (AddBalance)
    /// and waits until it has executed, for up to `wait`.
    pub async fn add_balance(
        &self,
        from: Address,
        to: Address,
        amount: TokenAmount,
        wait: std::time::Duration,
    ) -> anyhow::Result<()> {
        let msg = Message {
            version: 0,
            from,
            to: MARKET_ACTOR,
            sequence: 0,
            value: amount,
            method_num: market::Method::AddBalance as u64,
            params: fvm_ipld_encoding::RawBytes::serialize(to)?,
            gas_limit: 0,
            gas_fee_cap: TokenAmount::default(),
            gas_premium: TokenAmount::default(),
        };
        let signed = self.sign(msg).await?;
        let cid = self.push(signed).await?;
        let start = std::time::Instant::now();
        loop {
            if let Some((exit, _)) = self.executed(cid).await? {
                anyhow::ensure!(
                    exit.is_success(),
                    "AddBalance {cid} failed: exit code {exit}"
                );
                return Ok(());
            }
            anyhow::ensure!(
                start.elapsed() < wait,
                "AddBalance {cid} did not land in {wait:?}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
    }

    /// Signs `bytes` with `addr`'s key from the wallet.
    pub async fn sign_bytes(
        &self,
        addr: Address,
        bytes: Vec<u8>,
    ) -> anyhow::Result<fvm_shared::crypto::signature::Signature> {
        let (dn, wallet) = (self.devnet.clone(), self.wallet.clone());
        blocking(move || {
            let key = dn.account_key(&addr, &[])?;
            lock(&wallet).sign(&key, &bytes)
        })
        .await
    }

    /// Pushes a signed message to the mpool.
    pub async fn push(&self, sm: SignedMessage) -> anyhow::Result<Cid> {
        let dn = self.devnet.clone();
        blocking(move || Ok(dn.push(sm)?)).await
    }

    /// Whether message `cid` waits in the mpool.
    pub fn in_mpool(&self, cid: &Cid) -> bool {
        self.devnet
            .pending()
            .iter()
            .any(|sm| sm.cid().is_ok_and(|c| c == *cid))
    }

    /// The proposal CIDs of publish message `cid`, in the message's order
    /// (the order of its return's deal IDs).
    pub async fn publish_order(
        &self,
        cid: Cid,
    ) -> anyhow::Result<Vec<ferrite_market::deal::ProposalCid>> {
        let dn = self.devnet.clone();
        blocking(move || {
            let msg = dn.message(&cid)?;
            let params: market::PublishStorageDealsParams =
                fvm_ipld_encoding::from_slice(msg.params.bytes())
                    .context("decode the publish message's parameters")?;
            params
                .deals
                .iter()
                .map(|d| {
                    ferrite_market::deal::ProposalCid::of(&d.proposal)
                        .context("compute a proposal CID")
                })
                .collect()
        })
        .await
    }

    /// Where `cid` executed: its exit code and return bytes.
    pub async fn executed(
        &self,
        cid: Cid,
    ) -> anyhow::Result<Option<(fvm_shared::error::ExitCode, Vec<u8>)>> {
        let dn = self.devnet.clone();
        blocking(move || {
            Ok(dn
                .search(&cid)?
                .map(|l| (l.receipt.exit_code, l.receipt.return_data.to_vec())))
        })
        .await
    }
}

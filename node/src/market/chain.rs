//! What the market service reads from and sends to the chain: the head, a
//! client's key address, market escrow, the deals on chain, and the
//! PublishStorageDeals message, signed and recorded before it is pushed.
//!
//! Over the embedded devnet, or over a Lotus-compatible node for `ferrite
//! run`: either way the market actor's state is read with builtin-actors
//! v18's own types, from the devnet's blockstore or from the node's blocks
//! (`ChainReadObj`, [`RemoteBlockstore`]). Every call that reads state runs
//! off the async runtime.

use std::sync::{Arc, Mutex};

use anyhow::Context;
use cid::Cid;
use ferrite_chain::api::Chain;
use ferrite_chain::devnet::Devnet;
use ferrite_chain::message::SignedMessage;
use ferrite_chain::rpc::blockstore::RemoteBlockstore;
use ferrite_chain::rpc::client::LotusClient;
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

/// The chain, as the market service uses it.
#[derive(Clone)]
pub struct MarketChain {
    backend: Backend,
}

#[derive(Clone)]
enum Backend {
    /// The embedded devnet and the node's wallet.
    Devnet {
        devnet: Arc<Devnet>,
        wallet: Arc<Mutex<Wallet>>,
    },
    /// A remote node; `client` signs with the node's keystore.
    Remote {
        client: LotusClient,
        blocks: Arc<RemoteBlockstore>,
        heads: tokio::sync::watch::Receiver<i64>,
    },
}

impl std::fmt::Debug for MarketChain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MarketChain").finish_non_exhaustive()
    }
}

/// Either chain's blockstore, for the v18 state crates (which take a
/// sized `Blockstore`).
pub struct AnyStore<'a>(&'a dyn fvm_ipld_blockstore::Blockstore);

impl fvm_ipld_blockstore::Blockstore for AnyStore<'_> {
    fn get(&self, k: &Cid) -> anyhow::Result<Option<Vec<u8>>> {
        self.0.get(k)
    }

    fn put_keyed(&self, k: &Cid, block: &[u8]) -> anyhow::Result<()> {
        self.0.put_keyed(k, block)
    }

    fn has(&self, k: &Cid) -> anyhow::Result<bool> {
        self.0.has(k)
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
        Self {
            backend: Backend::Devnet { devnet, wallet },
        }
    }

    /// The chain of a remote node, whose head `heads` follows; `client` must
    /// sign locally (the market records a message's CID before it pushes it).
    pub fn remote(
        client: LotusClient,
        heads: tokio::sync::watch::Receiver<i64>,
    ) -> anyhow::Result<Self> {
        anyhow::ensure!(
            client.signs_locally(),
            "the market signs its messages before it pushes them: it needs [chain] signer = \"local\""
        );
        let blocks = Arc::new(RemoteBlockstore::new(
            client.clone(),
            tokio::runtime::Handle::current(),
        ));
        Ok(Self {
            backend: Backend::Remote {
                client,
                blocks,
                heads,
            },
        })
    }

    /// The head's epoch.
    pub fn head(&self) -> i64 {
        match &self.backend {
            Backend::Devnet { devnet, .. } => devnet.head().height(),
            Backend::Remote { heads, .. } => *heads.borrow(),
        }
    }

    /// The key address (`f1`/`f3`) behind `addr`, which signs for it.
    pub async fn account_key(&self, addr: Address) -> anyhow::Result<Address> {
        match &self.backend {
            Backend::Devnet { devnet, .. } => {
                let dn = devnet.clone();
                blocking(move || {
                    dn.account_key(&addr, &[])
                        .with_context(|| format!("resolve the key of {addr}"))
                })
                .await
            }
            Backend::Remote { client, .. } => client
                .account_key(&addr)
                .await
                .with_context(|| format!("resolve the key of {addr}")),
        }
    }

    /// Runs `read` on a blocking thread over the market actor's state and
    /// the blockstore that holds it.
    async fn read_market<T: Send + 'static>(
        &self,
        read: impl FnOnce(&AnyStore<'_>, &market::State) -> anyhow::Result<T> + Send + 'static,
    ) -> anyhow::Result<T> {
        match &self.backend {
            Backend::Devnet { devnet, .. } => {
                let dn = devnet.clone();
                blocking(move || {
                    let actor = dn
                        .actor(&MARKET_ACTOR, &[])?
                        .context("the market actor is missing")?;
                    let st: market::State = dn
                        .blockstore()
                        .get_cbor(&actor.state)?
                        .context("the market's state is missing")?;
                    read(&AnyStore(dn.blockstore()), &st)
                })
                .await
            }
            Backend::Remote { client, blocks, .. } => {
                let actor = client
                    .actor(&MARKET_ACTOR)
                    .await?
                    .context("the market actor is missing")?;
                let blocks = blocks.clone();
                blocking(move || {
                    let st: market::State = blocks
                        .get_cbor(&actor.state)?
                        .context("the market's state is missing")?;
                    read(&AnyStore(blocks.as_ref()), &st)
                })
                .await
            }
        }
    }

    /// The ID address of `addr`, if it has one.
    async fn lookup_id(&self, addr: Address) -> anyhow::Result<Option<Address>> {
        match &self.backend {
            Backend::Devnet { devnet, .. } => {
                let dn = devnet.clone();
                blocking(move || Ok(dn.lookup_id(&addr, &[])?)).await
            }
            Backend::Remote { client, .. } => Ok(client.lookup_id(&addr).await?),
        }
    }

    /// `addr`'s free market escrow: balance − locked.
    pub async fn available_escrow(&self, addr: Address) -> anyhow::Result<TokenAmount> {
        let Some(id) = self.lookup_id(addr).await? else {
            return Ok(TokenAmount::default());
        };
        let id = id.id().context("an ID address")?;
        self.read_market(move |bs, st| {
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
        self.read_market(move |bs, st| {
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
        self.read_market(move |bs, st| {
            st.has_pending_deal(bs, &cid)
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
        match &self.backend {
            Backend::Devnet { devnet, wallet } => {
                let (dn, wallet) = (devnet.clone(), wallet.clone());
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
            Backend::Remote { client, .. } => Ok(client.sign_message(msg).await?),
        }
    }

    /// `addr`'s balance (0 without an actor).
    pub async fn balance(&self, addr: Address) -> anyhow::Result<TokenAmount> {
        match &self.backend {
            Backend::Devnet { devnet, .. } => {
                let dn = devnet.clone();
                blocking(move || Ok(dn.actor(&addr, &[])?.map(|a| a.balance).unwrap_or_default()))
                    .await
            }
            Backend::Remote { client, .. } => Ok(client.balance(&addr).await?),
        }
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
        match &self.backend {
            Backend::Devnet { devnet, wallet } => {
                let (dn, wallet) = (devnet.clone(), wallet.clone());
                blocking(move || {
                    let key = dn.account_key(&addr, &[])?;
                    lock(&wallet).sign(&key, &bytes)
                })
                .await
            }
            Backend::Remote { client, .. } => {
                let key = client.account_key(&addr).await?;
                Ok(client.sign_bytes(&key, &bytes).await?)
            }
        }
    }

    /// Pushes a signed message to the mpool.
    pub async fn push(&self, sm: SignedMessage) -> anyhow::Result<Cid> {
        match &self.backend {
            Backend::Devnet { devnet, .. } => {
                let dn = devnet.clone();
                blocking(move || Ok(dn.push(sm)?)).await
            }
            Backend::Remote { client, .. } => Ok(client.push_signed(sm).await?),
        }
    }

    /// Whether message `cid` waits in the mpool.
    pub async fn in_mpool(&self, cid: &Cid) -> anyhow::Result<bool> {
        match &self.backend {
            Backend::Devnet { devnet, .. } => Ok(devnet
                .pending()
                .iter()
                .any(|sm| sm.cid().is_ok_and(|c| c == *cid))),
            Backend::Remote { client, .. } => Ok(client.pending().await?.contains(cid)),
        }
    }

    /// The proposal CIDs of publish message `cid`, in the message's order
    /// (the order of its return's deal IDs).
    pub async fn publish_order(
        &self,
        cid: Cid,
    ) -> anyhow::Result<Vec<ferrite_market::deal::ProposalCid>> {
        let msg = match &self.backend {
            Backend::Devnet { devnet, .. } => {
                let dn = devnet.clone();
                blocking(move || Ok(dn.message(&cid)?)).await?
            }
            Backend::Remote { client, .. } => client.message(&cid).await?,
        };
        let params: market::PublishStorageDealsParams =
            fvm_ipld_encoding::from_slice(msg.params.bytes())
                .context("decode the publish message's parameters")?;
        params
            .deals
            .iter()
            .map(|d| {
                ferrite_market::deal::ProposalCid::of(&d.proposal).context("compute a proposal CID")
            })
            .collect()
    }

    /// Where `cid` executed: its exit code and return bytes.
    pub async fn executed(
        &self,
        cid: Cid,
    ) -> anyhow::Result<Option<(fvm_shared::error::ExitCode, Vec<u8>)>> {
        let found = match &self.backend {
            Backend::Devnet { devnet, .. } => {
                let dn = devnet.clone();
                blocking(move || {
                    Ok(dn
                        .search(&cid)?
                        .map(|l| (l.receipt.exit_code, l.receipt.return_data.to_vec())))
                })
                .await?
            }
            Backend::Remote { client, .. } => client
                .search(&cid)
                .await?
                .map(|e| (e.receipt.exit_code, e.receipt.return_data.to_vec())),
        };
        Ok(found)
    }
}

//! A client for a Lotus-compatible JSON-RPC endpoint (Lotus, Forest, or the
//! devnet's own API), implementing [`Chain`].

use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use cid::Cid;
use fvm_shared::address::{Address, Protocol};
use fvm_shared::clock::ChainEpoch;
use fvm_shared::crypto::signature::Signature;
use fvm_shared::econ::TokenAmount;
use fvm_shared::message::Message;
use fvm_shared::receipt::Receipt;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::json::{
    AddressJson, BlockHeaderJson, BlockMsgJson, BlockTemplateJson, CidJson, MessageJson,
    MiningBaseInfoJson, MsgLookupIn, ReceiptJson, SignatureJson, SignedMessageJson,
};
use super::state::BitFieldJson;
use crate::ChainError;
use crate::api::{
    ActorInfo, BitField, Chain, DeadlineProofs, DeadlineWindow, Execution, Head, MinerSummary,
    PartitionSectors, PowerSummary, PreCommitSummary, ProvenSector, SectorSummary,
};
use crate::block::BlockHeader;
use crate::devnet::{BlockMsg, BlockTemplate, MiningBase};
use crate::message::SignedMessage;
use crate::wallet::Wallet;

/// A JSON-RPC client of one endpoint (`http://host:port/rpc/v1`).
#[derive(Debug, Clone)]
pub struct LotusClient {
    url: String,
    token: Option<String>,
    http: reqwest::Client,
    id: std::sync::Arc<AtomicU64>,
    signing: Signing,
}

/// Who signs what [`Chain::send`] sends and [`LotusClient::sign_bytes`] signs.
#[derive(Clone)]
enum Signing {
    /// The node's wallet (`MpoolPushMessage`, `WalletSign`): its token needs
    /// the sign permission.
    Node,
    /// A local keystore: the message gets its nonce (`MpoolGetNonce`) and
    /// gas (`GasEstimateMessageGas`) from the node, is signed here and
    /// pushed with `MpoolPush`. One send at a time, so that two messages
    /// from one address never take the same nonce.
    Local {
        wallet: std::sync::Arc<std::sync::Mutex<Wallet>>,
        sending: std::sync::Arc<tokio::sync::Mutex<()>>,
    },
}

impl std::fmt::Debug for Signing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Signing::Node => f.write_str("Node"),
            Signing::Local { .. } => f.write_str("Local"),
        }
    }
}

#[derive(Deserialize)]
struct RpcResponse {
    result: Option<Value>,
    error: Option<RpcErrorBody>,
}

#[derive(Deserialize)]
struct RpcErrorBody {
    code: i64,
    message: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TipSetIn {
    cids: Vec<CidJson>,
    height: i64,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ActorIn {
    code: CidJson,
    head: CidJson,
    nonce: u64,
    #[serde(with = "super::json::token")]
    balance: TokenAmount,
}

impl LotusClient {
    /// A client of `url`, sending `token` as a bearer token if given.
    pub fn new(url: impl Into<String>, token: Option<String>) -> Result<Self, ChainError> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(600))
            .build()
            .map_err(|e| ChainError::Unavailable(e.to_string()))?;
        Ok(Self {
            url: url.into(),
            token,
            http,
            id: Default::default(),
            signing: Signing::Node,
        })
    }

    /// Signs with the keys of `wallet` instead of the node's wallet.
    pub fn with_local_signing(mut self, wallet: std::sync::Arc<std::sync::Mutex<Wallet>>) -> Self {
        self.signing = Signing::Local {
            wallet,
            sending: Default::default(),
        };
        self
    }

    /// Whether messages are signed locally.
    pub fn signs_locally(&self) -> bool {
        matches!(self.signing, Signing::Local { .. })
    }

    /// The key address (f1/f3) behind `addr` (an ID address, say).
    pub async fn account_key(&self, addr: &Address) -> Result<Address, ChainError> {
        if matches!(addr.protocol(), Protocol::Secp256k1 | Protocol::BLS) {
            return Ok(*addr);
        }
        let key: AddressJson = self
            .request("StateAccountKey", json!([addr.to_string(), null]))
            .await?;
        Ok(key.0)
    }

    /// Whether the signer holds the key of `addr` (resolved to its key address).
    pub async fn can_sign(&self, addr: &Address) -> Result<bool, ChainError> {
        let key = self.account_key(addr).await?;
        match &self.signing {
            Signing::Node => self.request("WalletHas", json!([key.to_string()])).await,
            Signing::Local { wallet, .. } => {
                let w = wallet.lock().unwrap_or_else(|p| p.into_inner());
                Ok(w.key(&key).is_some())
            }
        }
    }

    /// Signs `msg` with the local keystore, with the sender's next nonce
    /// (`MpoolGetNonce`) and the gas the node estimates, without pushing it.
    /// Two messages of one sender signed before either is pushed take the
    /// same nonce: callers that push at once go through [`Chain::send`].
    pub async fn sign_message(&self, mut msg: Message) -> Result<SignedMessage, ChainError> {
        let Signing::Local { wallet, .. } = &self.signing else {
            return Err(ChainError::Internal(anyhow::anyhow!(
                "messages are signed by the chain node's wallet, not here"
            )));
        };
        let signer = self.account_key(&msg.from).await?;
        let key = {
            let w = wallet.lock().unwrap_or_else(|p| p.into_inner());
            w.key(&signer).cloned().ok_or_else(|| {
                ChainError::NotFound(format!("no key for {signer} in the node's keystore"))
            })?
        };
        msg.sequence = self
            .request("MpoolGetNonce", json!([signer.to_string()]))
            .await?;
        let estimated: MessageJson = self
            .request(
                "GasEstimateMessageGas",
                json!([MessageJson::from(&msg), null, null]),
            )
            .await?;
        SignedMessage::sign(Message::from(estimated), &key).map_err(ChainError::Internal)
    }

    /// The CIDs of the messages waiting in the node's pool.
    pub async fn pending(&self) -> Result<Vec<Cid>, ChainError> {
        let pending: Vec<SignedMessageJson> = self.request("MpoolPending", json!([null])).await?;
        pending
            .into_iter()
            .map(|sm| {
                SignedMessage::try_from(sm)
                    .map_err(|e| ChainError::Internal(anyhow::anyhow!("MpoolPending: {e}")))?
                    .cid()
                    .map_err(ChainError::from)
            })
            .collect()
    }

    /// Message `cid`.
    pub async fn message(&self, cid: &Cid) -> Result<Message, ChainError> {
        let m: MessageJson = self
            .request("ChainGetMessage", json!([CidJson(*cid)]))
            .await?;
        Ok(Message::from(m))
    }

    /// Signs `data` with the key of `key` (a key address), where the keys are.
    pub async fn sign_bytes(&self, key: &Address, data: &[u8]) -> Result<Signature, ChainError> {
        match &self.signing {
            Signing::Node => {
                let sig: SignatureJson = self
                    .request("WalletSign", json!([key.to_string(), B64.encode(data)]))
                    .await?;
                Signature::try_from(sig)
                    .map_err(|e| ChainError::Internal(anyhow::anyhow!("WalletSign: {e}")))
            }
            Signing::Local { wallet, .. } => {
                let w = wallet.lock().unwrap_or_else(|p| p.into_inner());
                w.sign(key, data).map_err(ChainError::Internal)
            }
        }
    }

    /// The endpoint's URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The API token it sends, if any.
    pub fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    /// Calls `Filecoin.<method>` with positional `params`.
    pub async fn request<T: DeserializeOwned>(
        &self,
        method: &str,
        params: Value,
    ) -> Result<T, ChainError> {
        self.request_full(&format!("Filecoin.{method}"), params)
            .await
    }

    /// Calls `method` (with its namespace) with positional `params`.
    pub async fn request_full<T: DeserializeOwned>(
        &self,
        method: &str,
        params: Value,
    ) -> Result<T, ChainError> {
        let id = self.id.fetch_add(1, Ordering::Relaxed);
        let body = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        let mut req = self.http.post(&self.url).json(&body);
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        let resp = req
            .send()
            .await
            .map_err(|e| ChainError::Unavailable(format!("{method}: {e}")))?;
        let status = resp.status();
        if status == reqwest::StatusCode::UNAUTHORIZED {
            return Err(ChainError::Remote {
                code: 401,
                message: format!("{method}: the node refused the API token"),
            });
        }
        let text = resp
            .text()
            .await
            .map_err(|e| ChainError::Unavailable(format!("{method}: {e}")))?;
        let parsed: RpcResponse = serde_json::from_str(&text).map_err(|e| {
            ChainError::Unavailable(format!("{method}: HTTP {status}, unreadable answer: {e}"))
        })?;
        if let Some(err) = parsed.error {
            return Err(match err.code {
                3 => ChainError::NotFound(err.message),
                _ => ChainError::Remote {
                    code: err.code,
                    message: err.message,
                },
            });
        }
        serde_json::from_value(parsed.result.unwrap_or(Value::Null))
            .map_err(|e| ChainError::Internal(anyhow::anyhow!("{method}: decode result: {e}")))
    }
}

impl LotusClient {
    /// 32 bytes of randomness from `method` (tickets or beacon), drawn at
    /// the head.
    async fn randomness(
        &self,
        method: &str,
        tag: i64,
        round: ChainEpoch,
        entropy: &[u8],
    ) -> Result<[u8; 32], ChainError> {
        let b64: String = self
            .request(method, json!([tag, round, B64.encode(entropy), []]))
            .await?;
        let bytes = B64
            .decode(b64)
            .map_err(|e| ChainError::Internal(anyhow::anyhow!("{method}: {e}")))?;
        bytes
            .try_into()
            .map_err(|_| ChainError::Internal(anyhow::anyhow!("{method}: not 32 bytes")))
    }
}

/// What a miner asks of its chain node (lotus-miner's calls).
impl LotusClient {
    /// The head: its key and its (first) block.
    pub async fn head_block(&self) -> Result<(Vec<Cid>, BlockHeader), ChainError> {
        #[derive(Deserialize)]
        #[serde(rename_all = "PascalCase")]
        struct HeadIn {
            cids: Vec<CidJson>,
            blocks: Vec<BlockHeaderJson>,
        }
        let h: HeadIn = self.request("ChainHead", json!([])).await?;
        let block = h
            .blocks
            .into_iter()
            .next()
            .ok_or_else(|| ChainError::Internal(anyhow::anyhow!("ChainHead: no block")))?;
        let block = BlockHeader::try_from(block)
            .map_err(|e| ChainError::Internal(anyhow::anyhow!("ChainHead: {e}")))?;
        Ok((h.cids.into_iter().map(|c| c.0).collect(), block))
    }

    /// `MinerGetBaseInfo`: what `miner` needs to mine at `epoch` on `key`,
    /// or `None` when it cannot win there.
    pub async fn mining_base(
        &self,
        miner: &Address,
        epoch: ChainEpoch,
        key: &[Cid],
    ) -> Result<Option<MiningBase>, ChainError> {
        let key: Vec<CidJson> = key.iter().copied().map(CidJson).collect();
        let b: Option<MiningBaseInfoJson> = self
            .request("MinerGetBaseInfo", json!([miner.to_string(), epoch, key]))
            .await?;
        b.map(MiningBase::try_from)
            .transpose()
            .map_err(|e| ChainError::Internal(anyhow::anyhow!("MinerGetBaseInfo: {e}")))
    }

    /// `MpoolSelect`: the messages for a block on `key`.
    pub async fn select_messages(&self, key: &[Cid]) -> Result<Vec<SignedMessage>, ChainError> {
        let key: Vec<CidJson> = key.iter().copied().map(CidJson).collect();
        let msgs: Option<Vec<SignedMessageJson>> =
            self.request("MpoolSelect", json!([key, 1.0])).await?;
        msgs.unwrap_or_default()
            .into_iter()
            .map(SignedMessage::try_from)
            .collect::<Result<_, _>>()
            .map_err(|e| ChainError::Internal(anyhow::anyhow!("MpoolSelect: {e}")))
    }

    /// `MinerCreateBlock`: the node builds and signs the block of `t`.
    pub async fn create_block(&self, t: &BlockTemplate) -> Result<BlockMsg, ChainError> {
        let b: BlockMsgJson = self
            .request("MinerCreateBlock", json!([BlockTemplateJson::from(t)]))
            .await?;
        BlockMsg::try_from(b)
            .map_err(|e| ChainError::Internal(anyhow::anyhow!("MinerCreateBlock: {e}")))
    }

    /// `SyncSubmitBlock`.
    pub async fn submit_block(&self, b: &BlockMsg) -> Result<(), ChainError> {
        let _: Value = self
            .request("SyncSubmitBlock", json!([BlockMsgJson::from(b)]))
            .await?;
        Ok(())
    }
}

fn execution(l: MsgLookupIn) -> Execution {
    Execution {
        message: l.message.0,
        receipt: Receipt::from(l.receipt),
        height: l.height,
    }
}

#[async_trait::async_trait]
impl Chain for LotusClient {
    async fn head(&self) -> Result<Head, ChainError> {
        let ts: TipSetIn = self.request("ChainHead", json!([])).await?;
        Ok(Head {
            height: ts.height,
            key: ts.cids.into_iter().map(|c| c.0).collect(),
        })
    }

    async fn network_name(&self) -> Result<String, ChainError> {
        self.request("StateNetworkName", json!([])).await
    }

    async fn actor(&self, addr: &Address) -> Result<Option<ActorInfo>, ChainError> {
        match self
            .request::<ActorIn>("StateGetActor", json!([addr.to_string(), []]))
            .await
        {
            Ok(a) => Ok(Some(ActorInfo {
                code: a.code.0,
                state: a.head.0,
                nonce: a.nonce,
                balance: a.balance,
            })),
            Err(ChainError::Remote { message, .. }) if message.contains("actor not found") => {
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    async fn lookup_id(&self, addr: &Address) -> Result<Option<Address>, ChainError> {
        match self
            .request::<AddressJson>("StateLookupID", json!([addr.to_string(), []]))
            .await
        {
            Ok(a) => Ok(Some(a.0)),
            Err(ChainError::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn balance(&self, addr: &Address) -> Result<TokenAmount, ChainError> {
        let s: String = self
            .request("WalletBalance", json!([addr.to_string()]))
            .await?;
        let atto = fvm_shared::bigint::BigInt::from_str(&s)
            .map_err(|e| ChainError::Internal(anyhow::anyhow!("balance {s:?}: {e}")))?;
        Ok(TokenAmount::from_atto(atto))
    }

    async fn send(&self, msg: Message) -> Result<Cid, ChainError> {
        if let Signing::Local { sending, .. } = &self.signing {
            let _one = sending.lock().await;
            let sm = self.sign_message(msg).await?;
            return self.push_signed(sm).await;
        }
        let mut msg = msg;
        msg.sequence = 0;
        let sm: SignedMessageJson = self
            .request("MpoolPushMessage", json!([MessageJson::from(&msg), null]))
            .await?;
        let sm = SignedMessage::try_from(sm)
            .map_err(|e| ChainError::Internal(anyhow::anyhow!("MpoolPushMessage: {e}")))?;
        Ok(sm.cid()?)
    }

    async fn push_signed(&self, sm: SignedMessage) -> Result<Cid, ChainError> {
        let cid: CidJson = self
            .request("MpoolPush", json!([SignedMessageJson::from(&sm)]))
            .await?;
        Ok(cid.0)
    }

    async fn wait(&self, cid: &Cid, confidence: i64) -> Result<Execution, ChainError> {
        let l: MsgLookupIn = self
            .request("StateWaitMsg", json!([CidJson(*cid), confidence, -1, true]))
            .await?;
        Ok(execution(l))
    }

    async fn search(&self, cid: &Cid) -> Result<Option<Execution>, ChainError> {
        let l: Option<MsgLookupIn> = self
            .request("StateSearchMsg", json!([[], CidJson(*cid), -1, true]))
            .await?;
        Ok(l.map(execution))
    }

    async fn call(&self, msg: Message) -> Result<Receipt, ChainError> {
        #[derive(Deserialize)]
        #[serde(rename_all = "PascalCase")]
        struct Invoc {
            msg_rct: ReceiptJson,
        }
        let r: Invoc = self
            .request("StateCall", json!([MessageJson::from(&msg), []]))
            .await?;
        Ok(r.msg_rct.into())
    }

    async fn ticket_randomness(
        &self,
        tag: i64,
        round: ChainEpoch,
        entropy: &[u8],
    ) -> Result<[u8; 32], ChainError> {
        self.randomness("StateGetRandomnessFromTickets", tag, round, entropy)
            .await
    }

    async fn beacon_randomness(
        &self,
        tag: i64,
        round: ChainEpoch,
        entropy: &[u8],
    ) -> Result<[u8; 32], ChainError> {
        self.randomness("StateGetRandomnessFromBeacon", tag, round, entropy)
            .await
    }

    async fn miner_info(&self, miner: &Address) -> Result<MinerSummary, ChainError> {
        #[derive(Deserialize)]
        #[serde(rename_all = "PascalCase")]
        struct InfoIn {
            owner: AddressJson,
            worker: AddressJson,
            #[serde(default)]
            control_addresses: Option<Vec<AddressJson>>,
            sector_size: u64,
            #[serde(rename = "WindowPoStPartitionSectors")]
            window_post_partition_sectors: u64,
        }
        let i: InfoIn = self
            .request("StateMinerInfo", json!([miner.to_string(), []]))
            .await
            .map_err(not_found_if_missing)?;
        Ok(MinerSummary {
            owner: i.owner.0,
            worker: i.worker.0,
            control: i
                .control_addresses
                .unwrap_or_default()
                .into_iter()
                .map(|a| a.0)
                .collect(),
            sector_size: i.sector_size,
            window_post_partition_sectors: i.window_post_partition_sectors,
        })
    }

    async fn precommit(
        &self,
        miner: &Address,
        number: u64,
    ) -> Result<Option<PreCommitSummary>, ChainError> {
        #[derive(Deserialize)]
        #[serde(rename_all = "PascalCase")]
        struct InfoIn {
            #[serde(rename = "SealedCID")]
            sealed_cid: CidJson,
            seal_rand_epoch: ChainEpoch,
            expiration: ChainEpoch,
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "PascalCase")]
        struct PreIn {
            info: InfoIn,
            #[serde(with = "super::json::token")]
            pre_commit_deposit: TokenAmount,
            pre_commit_epoch: ChainEpoch,
        }
        let p: Option<PreIn> = self
            .request(
                "StateSectorPreCommitInfo",
                json!([miner.to_string(), number, []]),
            )
            .await
            .map_err(not_found_if_missing)?;
        Ok(p.map(|p| PreCommitSummary {
            sealed_cid: p.info.sealed_cid.0,
            seal_rand_epoch: p.info.seal_rand_epoch,
            expiration: p.info.expiration,
            precommit_epoch: p.pre_commit_epoch,
            deposit: p.pre_commit_deposit,
        }))
    }

    async fn sector(
        &self,
        miner: &Address,
        number: u64,
    ) -> Result<Option<SectorSummary>, ChainError> {
        #[derive(Deserialize)]
        #[serde(rename_all = "PascalCase")]
        struct SectorIn {
            #[serde(rename = "SealedCID")]
            sealed_cid: CidJson,
            activation: ChainEpoch,
            expiration: ChainEpoch,
            #[serde(with = "super::json::token")]
            initial_pledge: TokenAmount,
        }
        let s: Option<SectorIn> = self
            .request("StateSectorGetInfo", json!([miner.to_string(), number, []]))
            .await
            .map_err(not_found_if_missing)?;
        Ok(s.map(|s| SectorSummary {
            sealed_cid: s.sealed_cid.0,
            activation: s.activation,
            expiration: s.expiration,
            initial_pledge: s.initial_pledge,
        }))
    }
    async fn proving_deadline(&self, miner: &Address) -> Result<DeadlineWindow, ChainError> {
        #[derive(Deserialize)]
        #[serde(rename_all = "PascalCase")]
        struct InfoIn {
            current_epoch: ChainEpoch,
            period_start: ChainEpoch,
            index: u64,
            open: ChainEpoch,
            close: ChainEpoch,
            challenge: ChainEpoch,
            fault_cutoff: ChainEpoch,
        }
        let d: InfoIn = self
            .request("StateMinerProvingDeadline", json!([miner.to_string(), []]))
            .await
            .map_err(not_found_if_missing)?;
        Ok(DeadlineWindow {
            current_epoch: d.current_epoch,
            period_start: d.period_start,
            index: d.index,
            open: d.open,
            close: d.close,
            challenge: d.challenge,
            fault_cutoff: d.fault_cutoff,
        })
    }

    async fn deadlines(&self, miner: &Address) -> Result<Vec<DeadlineProofs>, ChainError> {
        #[derive(Deserialize)]
        #[serde(rename_all = "PascalCase")]
        struct DeadlineIn {
            post_submissions: BitFieldJson,
            disputable_proof_count: u64,
        }
        let ds: Vec<DeadlineIn> = self
            .request("StateMinerDeadlines", json!([miner.to_string(), []]))
            .await
            .map_err(not_found_if_missing)?;
        Ok(ds
            .into_iter()
            .map(|d| DeadlineProofs {
                posted: d.post_submissions.0,
                disputable_proofs: d.disputable_proof_count,
            })
            .collect())
    }

    async fn partitions(
        &self,
        miner: &Address,
        index: u64,
    ) -> Result<Vec<PartitionSectors>, ChainError> {
        #[derive(Deserialize)]
        #[serde(rename_all = "PascalCase")]
        struct PartitionIn {
            all_sectors: BitFieldJson,
            faulty_sectors: BitFieldJson,
            recovering_sectors: BitFieldJson,
            live_sectors: BitFieldJson,
            active_sectors: BitFieldJson,
        }
        let ps: Vec<PartitionIn> = self
            .request(
                "StateMinerPartitions",
                json!([miner.to_string(), index, []]),
            )
            .await
            .map_err(not_found_if_missing)?;
        Ok(ps
            .into_iter()
            .map(|p| PartitionSectors {
                all: p.all_sectors.0,
                faulty: p.faulty_sectors.0,
                recovering: p.recovering_sectors.0,
                live: p.live_sectors.0,
                active: p.active_sectors.0,
            })
            .collect())
    }

    async fn sectors(
        &self,
        miner: &Address,
        numbers: &BitField,
    ) -> Result<Vec<ProvenSector>, ChainError> {
        #[derive(Deserialize)]
        #[serde(rename_all = "PascalCase")]
        struct SectorIn {
            sector_number: u64,
            seal_proof: i64,
            #[serde(rename = "SealedCID")]
            sealed_cid: CidJson,
            activation: ChainEpoch,
            expiration: ChainEpoch,
        }
        let ss: Option<Vec<SectorIn>> = self
            .request(
                "StateMinerSectors",
                json!([miner.to_string(), BitFieldJson(numbers.clone()), []]),
            )
            .await
            .map_err(not_found_if_missing)?;
        ss.unwrap_or_default()
            .into_iter()
            .map(|s| {
                let seal_proof = fvm_shared::sector::RegisteredSealProof::from(s.seal_proof);
                if let fvm_shared::sector::RegisteredSealProof::Invalid(n) = seal_proof {
                    return Err(ChainError::Internal(anyhow::anyhow!(
                        "sector {}: unknown seal proof {n}",
                        s.sector_number
                    )));
                }
                Ok(ProvenSector {
                    number: s.sector_number,
                    seal_proof,
                    sealed_cid: s.sealed_cid.0,
                    activation: s.activation,
                    expiration: s.expiration,
                })
            })
            .collect()
    }

    async fn miner_power(&self, miner: &Address) -> Result<PowerSummary, ChainError> {
        #[derive(Deserialize)]
        #[serde(rename_all = "PascalCase")]
        struct ClaimIn {
            raw_byte_power: String,
            quality_adj_power: String,
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "PascalCase")]
        struct PowerIn {
            miner_power: ClaimIn,
            total_power: ClaimIn,
        }
        fn big(text: &str) -> Result<fvm_shared::sector::StoragePower, ChainError> {
            fvm_shared::bigint::BigInt::from_str(text)
                .map_err(|e| ChainError::Internal(anyhow::anyhow!("power {text:?}: {e}")))
        }
        let p: PowerIn = self
            .request("StateMinerPower", json!([miner.to_string(), []]))
            .await
            .map_err(not_found_if_missing)?;
        Ok(PowerSummary {
            raw: big(&p.miner_power.raw_byte_power)?,
            quality_adjusted: big(&p.miner_power.quality_adj_power)?,
            total_raw: big(&p.total_power.raw_byte_power)?,
            total_quality_adjusted: big(&p.total_power.quality_adj_power)?,
        })
    }
}

/// Lotus answers a query about a missing actor with a plain error; the
/// trait says `NotFound`.
fn not_found_if_missing(e: ChainError) -> ChainError {
    match e {
        ChainError::Remote { message, .. } if message.contains("actor not found") => {
            ChainError::NotFound(message)
        }
        other => other,
    }
}

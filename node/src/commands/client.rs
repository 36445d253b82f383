//! `ferrite client deal|deal-status|add-balance`: make storage deals with a
//! provider as Boost's `boost deal` does.
//!
//! The chain and the client's wallet key are the running node's (its
//! Lotus-compatible JSON-RPC: `ChainHead`, `StateMinerInfo`,
//! `StateDealProviderCollateralBounds`, `WalletSign`, `MpoolPushMessage`,
//! `StateWaitMsg`, `StateMarketBalance`); the deal itself goes straight to
//! the provider over libp2p (`/fil/storage/mk/1.2.1`, then 1.2.0), from an
//! ephemeral client peer id, as the boost client does.
//!
//! Deal flow: check every input → find the provider's peer (on chain, or
//! `--provider-peer`) → CommP of `--file` on all cores (a progress bar) →
//! build the v18 `DealProposal`, sign its DAG-CBOR bytes with the client key
//! → send `DealParams` → print the UUID and the provider's answer.

use std::collections::BTreeMap;
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use anyhow::Context;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use cid::Cid;
use ferrite_chain::ChainError;
use ferrite_chain::api::Chain;
use ferrite_chain::rpc::client::LotusClient;
use ferrite_chain::rpc::json::{AddressJson, SignatureJson, address};
use ferrite_market::DealUuid;
use ferrite_market::net::{Client, Provider};
use ferrite_market::wire::{DealParams, DealStatusRequest, HttpRequest, Transfer};
use ferrite_proofs::commp::{CommpHasher, CommpPool};
use ferrite_types::PieceCidV2;
use fil_actor_market_state::v18::{ClientDealProposal, DealProposal, Label};
use fvm_shared::address::{Address, Protocol};
use fvm_shared::bigint::BigInt;
use fvm_shared::crypto::signature::Signature;
use fvm_shared::econ::TokenAmount;
use fvm_shared::message::Message;
use fvm_shared::piece::PaddedPieceSize;
use libp2p::multiaddr::Protocol as AddrProtocol;
use libp2p::{Multiaddr, PeerId};
use serde::Deserialize;
use serde_json::json;

use crate::cli::{ClientCommand, ClientDealArgs, ClientDealStatusArgs, GlobalArgs};

/// The storage market actor.
const MARKET_ACTOR: Address = Address::new_id(5);
/// The market actor's `AddBalance` method.
const METHOD_ADD_BALANCE: u64 = 2;
/// Bytes in a GiB: `--price` is per GiB (padded) per epoch, as Boost's.
const GIB: u64 = 1 << 30;
/// Lotus's error code for a method the node does not serve.
const METHOD_NOT_FOUND: i64 = -32601;

pub fn run(cmd: ClientCommand, global: &GlobalArgs) -> anyhow::Result<()> {
    match cmd {
        ClientCommand::Deal(a) => deal(a, global),
        ClientCommand::DealStatus(a) => deal_status(a, global),
        ClientCommand::AddBalance { amount, from } => add_balance(&amount, from.as_deref(), global),
        ClientCommand::Retrieve {
            cid,
            provider,
            output,
        } => {
            let out = output.unwrap_or_else(|| super::retrieve::default_out(&cid));
            super::retrieve::run(&cid, &provider, &out)
        }
    }
}

/// `ferrite client deal`: the inputs, checked before anything is sent.
struct DealInput {
    provider: Address,
    from: Option<Address>,
    /// `None`: an offline deal.
    transfer: Option<HttpRequest>,
    payload_cid: Option<Cid>,
    label: Option<String>,
    provider_peer: Option<Provider>,
    price_per_gib_epoch: TokenAmount,
    provider_collateral: Option<TokenAmount>,
    file_len: u64,
    start: StartEpoch,
    duration: i64,
}

/// When the deal starts.
enum StartEpoch {
    At(i64),
    AfterHead(i64),
}

fn check_deal_input(a: &ClientDealArgs) -> anyhow::Result<DealInput> {
    let provider = parse_address("--provider", &a.provider)?;
    anyhow::ensure!(
        provider.protocol() == Protocol::ID || provider.protocol() == Protocol::Actor,
        "--provider {}: a storage provider is a miner actor (f0…), not an account",
        a.provider
    );
    let from = a
        .from
        .as_deref()
        .map(|f| parse_address("--from", f))
        .transpose()?;
    let transfer = match &a.url {
        Some(url) => Some(http_request(url, &a.http_header)?),
        None => {
            anyhow::ensure!(
                a.http_header.is_empty(),
                "--http-header needs --url (an offline deal has no transfer)"
            );
            None
        }
    };
    let payload_cid = a
        .payload_cid
        .as_deref()
        .map(|c| Cid::from_str(c).with_context(|| format!("--payload-cid {c:?} is not a CID")))
        .transpose()?;
    let provider_peer = a
        .provider_peer
        .as_deref()
        .map(parse_provider_peer)
        .transpose()?;
    let price_per_gib_epoch = parse_atto("--price", &a.price)?;
    let provider_collateral = a
        .provider_collateral
        .as_deref()
        .map(|c| parse_atto("--provider-collateral", c))
        .transpose()?;
    anyhow::ensure!(a.duration > 0, "--duration must be at least 1 epoch");
    let duration = i64::try_from(a.duration)
        .map_err(|_| anyhow::anyhow!("--duration {} is too large", a.duration))?;
    let start = match (a.start_epoch, a.start_delay) {
        (Some(e), _) => StartEpoch::At(e),
        (None, d) => StartEpoch::AfterHead(
            i64::try_from(d).map_err(|_| anyhow::anyhow!("--start-delay {d} is too large"))?,
        ),
    };
    let meta = std::fs::metadata(&a.file)
        .with_context(|| format!("--file {}: cannot read it", a.file.display()))?;
    anyhow::ensure!(
        meta.is_file(),
        "--file {} is not a regular file",
        a.file.display()
    );
    anyhow::ensure!(meta.len() > 0, "--file {} is empty", a.file.display());
    Ok(DealInput {
        provider,
        from,
        transfer,
        payload_cid,
        label: a.label.clone(),
        provider_peer,
        price_per_gib_epoch,
        provider_collateral,
        file_len: meta.len(),
        start,
        duration,
    })
}

fn deal(a: ClientDealArgs, global: &GlobalArgs) -> anyhow::Result<()> {
    let input = check_deal_input(&a)?;
    let chain = super::chain::client(global)?;
    let timeout = Duration::from_secs(a.timeout);
    super::runtime()?.block_on(async move {
        let from = client_address(&chain, input.from).await?;
        let peer = match input.provider_peer.clone() {
            Some(p) => p,
            None => provider_on_chain(&chain, &input.provider).await?,
        };
        let head = chain.head().await.context("read the chain head")?.height;
        let start_epoch = match input.start {
            StartEpoch::At(e) => e,
            StartEpoch::AfterHead(d) => head.saturating_add(d),
        };
        anyhow::ensure!(
            start_epoch > head,
            "--start-epoch {start_epoch} is not after the chain head {head}"
        );
        let end_epoch = start_epoch
            .checked_add(input.duration)
            .context("--start-epoch + --duration overflows")?;
        // Ask the node for the collateral before the long CommP, with the
        // padded size the file will have.
        let padded = padded_size_of(input.file_len)?;
        let collateral = match &input.provider_collateral {
            Some(c) => c.clone(),
            None => min_collateral(&chain, padded, a.verified).await?,
        };

        let piece = commp(&a.file, input.file_len).await?;
        anyhow::ensure!(
            u64::from(piece.size()) == padded,
            "CommP of {} gave a {} byte piece, not the expected {padded}",
            a.file.display(),
            piece.size()
        );
        let piece_cid = piece.comm_p().to_cid();
        let root = input.payload_cid.unwrap_or(piece_cid);
        let label = input.label.clone().unwrap_or_else(|| root.to_string());

        let proposal = DealProposal {
            piece_cid,
            piece_size: PaddedPieceSize(padded),
            verified_deal: a.verified,
            client: from,
            provider: input.provider,
            label: Label::String(label),
            start_epoch,
            end_epoch,
            storage_price_per_epoch: price_per_epoch(&input.price_per_gib_epoch, padded),
            provider_collateral: collateral,
            client_collateral: TokenAmount::default(),
        };
        let bytes = fvm_ipld_encoding::to_vec(&proposal).context("encode the deal proposal")?;
        let client_signature = wallet_sign(&chain, &from, &bytes).await?;
        warn_if_escrow_short(&chain, &from, &proposal).await;
        let transfer = match &input.transfer {
            Some(req) => Transfer {
                kind: "http".to_string(),
                client_id: String::new(),
                params: serde_json::to_vec(req).context("encode the transfer params")?,
                size: input.file_len,
            },
            None => Transfer::default(),
        };
        let uuid = DealUuid::new_random();
        let params = DealParams {
            deal_uuid: uuid,
            is_offline: input.transfer.is_none(),
            client_deal_proposal: ClientDealProposal {
                proposal: proposal.clone(),
                client_signature,
            },
            deal_data_root: root,
            transfer,
            remove_unsealed_copy: a.remove_unsealed_copy,
            skip_ipni_announce: a.skip_ipni_announce,
        };

        let net = Client::new(libp2p::identity::Keypair::generate_ed25519())
            .context("start the libp2p client")?;
        let bar = super::spinner("propose".to_string());
        bar.set_message(format!("to {} ({})", input.provider, peer.peer_id));
        let answer = net.propose(&peer, params, timeout).await;
        bar.finish_and_clear();
        let (version, response) = answer.with_context(|| {
            format!(
                "propose the deal to {} (peer {} at {})",
                input.provider,
                peer.peer_id,
                list(&peer.addrs)
            )
        })?;

        println!("deal uuid:           {uuid}");
        println!("storage provider:    {} ({})", input.provider, peer.peer_id);
        println!("protocol:            {}", version.protocol());
        println!("client wallet:       {from}");
        println!("piece cid:           {piece_cid}");
        println!("piece size:          {padded}");
        println!("payload cid:         {root}");
        println!("file size:           {}", input.file_len);
        match &input.transfer {
            Some(req) => println!("url:                 {}", req.url),
            None => println!("transfer:            offline"),
        }
        println!("start epoch:         {start_epoch}");
        println!("end epoch:           {end_epoch}");
        println!(
            "price per epoch:     {} FIL",
            proposal.storage_price_per_epoch
        );
        println!("provider collateral: {} FIL", proposal.provider_collateral);
        if !response.accepted {
            anyhow::bail!(
                "deal {uuid} rejected by {}: {}",
                input.provider,
                response.message
            );
        }
        println!("accepted:            yes");
        if !response.message.is_empty() {
            println!("message:             {}", response.message);
        }
        if input.transfer.is_none() {
            println!(
                "offline deal: on the provider, run `ferrite deals import-data {uuid} {}`",
                a.file.display()
            );
        }
        println!(
            "follow it with `ferrite client deal-status {uuid} --provider {}`",
            input.provider
        );
        Ok(())
    })
}

fn deal_status(a: ClientDealStatusArgs, global: &GlobalArgs) -> anyhow::Result<()> {
    let uuid =
        DealUuid::from_str(&a.uuid).with_context(|| format!("{:?} is not a deal UUID", a.uuid))?;
    let provider = parse_address("--provider", &a.provider)?;
    let from = a
        .from
        .as_deref()
        .map(|f| parse_address("--from", f))
        .transpose()?;
    let override_peer = a
        .provider_peer
        .as_deref()
        .map(parse_provider_peer)
        .transpose()?;
    let chain = super::chain::client(global)?;
    let timeout = Duration::from_secs(a.timeout);
    super::runtime()?.block_on(async move {
        let from = client_address(&chain, from).await?;
        let peer = match override_peer {
            Some(p) => p,
            None => provider_on_chain(&chain, &provider).await?,
        };
        let signature = wallet_sign(&chain, &from, uuid.as_bytes()).await?;
        let net = Client::new(libp2p::identity::Keypair::generate_ed25519())
            .context("start the libp2p client")?;
        let r = net
            .status(
                &peer,
                DealStatusRequest {
                    deal_uuid: uuid,
                    signature,
                },
                timeout,
            )
            .await
            .with_context(|| {
                format!(
                    "ask {provider} (peer {} at {}) for the deal's status",
                    peer.peer_id,
                    list(&peer.addrs)
                )
            })?;
        anyhow::ensure!(
            r.error.is_empty(),
            "provider {provider} on deal {uuid}: {}",
            r.error
        );
        let Some(s) = r.deal_status else {
            anyhow::bail!("provider {provider} sent no status for deal {uuid}");
        };
        println!("deal uuid:      {uuid}");
        println!("state:          {}", s.status);
        println!("sealing:        {}", or_dash(&s.sealing_status));
        println!("offline:        {}", r.is_offline);
        println!(
            "received:       {} / {} bytes",
            r.n_bytes_received, r.transfer_size
        );
        println!("piece cid:      {}", s.proposal.piece_cid);
        println!("signed cid:     {}", s.signed_proposal_cid);
        match s.publish_cid {
            Some(c) => println!("publish cid:    {c}"),
            None => println!("publish cid:    -"),
        }
        if s.chain_deal_id == 0 {
            println!("chain deal id:  -");
        } else {
            println!("chain deal id:  {}", s.chain_deal_id);
        }
        if !s.error.is_empty() {
            println!("error:          {}", s.error);
        }
        Ok(())
    })
}

fn add_balance(amount: &str, from: Option<&str>, global: &GlobalArgs) -> anyhow::Result<()> {
    let value = super::chain::parse_fil(amount)?;
    anyhow::ensure!(value.is_positive(), "the amount must be more than 0 FIL");
    let from = from.map(|f| parse_address("--from", f)).transpose()?;
    let chain = super::chain::client(global)?;
    super::runtime()?.block_on(async move {
        let from = match from {
            Some(f) => f,
            None => default_address(&chain).await?,
        };
        let params =
            fvm_ipld_encoding::RawBytes::serialize(from).context("encode the AddBalance params")?;
        let msg = Message {
            version: 0,
            from,
            to: MARKET_ACTOR,
            sequence: 0,
            value: value.clone(),
            method_num: METHOD_ADD_BALANCE,
            params,
            gas_limit: 0,
            gas_fee_cap: TokenAmount::default(),
            gas_premium: TokenAmount::default(),
        };
        let cid = chain
            .send(msg)
            .await
            .with_context(|| format!("push AddBalance of {value} FIL from {from}"))?;
        println!("message {cid} pushed; waiting for it to execute");
        let e = chain
            .wait(&cid, 0)
            .await
            .with_context(|| format!("wait for {cid}"))?;
        anyhow::ensure!(
            e.receipt.exit_code.is_success(),
            "AddBalance {cid} failed with exit code {}",
            e.receipt.exit_code
        );
        println!("executed at height {}", e.height);
        let b = market_balance(&chain, &from).await?;
        println!("escrow: {} FIL", b.escrow);
        println!("locked: {} FIL", b.locked);
        Ok(())
    })
}

/// `--from`, or the node's default wallet address; as a key address, which
/// the wallet signs with and the provider verifies against.
async fn client_address(chain: &LotusClient, from: Option<Address>) -> anyhow::Result<Address> {
    let a = match from {
        Some(a) => a,
        None => default_address(chain).await?,
    };
    if a.protocol() != Protocol::ID {
        return Ok(a);
    }
    let key: AddressJson = chain
        .request("StateAccountKey", json!([a.to_string(), []]))
        .await
        .with_context(|| format!("look up the key address of {a}"))?;
    Ok(key.0)
}

async fn default_address(chain: &LotusClient) -> anyhow::Result<Address> {
    let a: AddressJson = chain
        .request("WalletDefaultAddress", json!([]))
        .await
        .context("read the node's default wallet address")?;
    Ok(a.0)
}

/// Signs `data` with `addr`'s key in the node's wallet.
async fn wallet_sign(
    chain: &LotusClient,
    addr: &Address,
    data: &[u8],
) -> anyhow::Result<Signature> {
    let sig: SignatureJson = chain
        .request("WalletSign", json!([addr.to_string(), B64.encode(data)]))
        .await
        .with_context(|| format!("sign with {addr} (is its key in the node's wallet?)"))?;
    Signature::try_from(sig).map_err(|e| anyhow::anyhow!("WalletSign for {addr}: {e}"))
}

/// The provider's peer id and addresses from `StateMinerInfo`, as Boost reads them.
async fn provider_on_chain(chain: &LotusClient, provider: &Address) -> anyhow::Result<Provider> {
    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct InfoIn {
        peer_id: Option<String>,
        multiaddrs: Option<Vec<String>>,
    }
    let info: InfoIn = match chain
        .request("StateMinerInfo", json!([provider.to_string(), []]))
        .await
    {
        Ok(i) => i,
        Err(ChainError::NotFound(m)) => anyhow::bail!("unknown provider {provider}: {m}"),
        Err(ChainError::Remote { message, .. })
            if message.contains("not found") || message.contains("not a miner") =>
        {
            anyhow::bail!("unknown provider {provider}: {message}")
        }
        Err(e) => return Err(e).with_context(|| format!("read the miner info of {provider}")),
    };
    let hint = "pass --provider-peer /ip4/HOST/tcp/PORT/p2p/PEERID";
    let peer_id = match info.peer_id.as_deref() {
        None | Some("") => anyhow::bail!("provider {provider} has no peer id on chain; {hint}"),
        Some(p) => PeerId::from_str(p).with_context(|| {
            format!("provider {provider} has an invalid peer id {p:?} on chain")
        })?,
    };
    let addrs = info
        .multiaddrs
        .unwrap_or_default()
        .iter()
        .map(|b| {
            let bytes = B64
                .decode(b)
                .with_context(|| format!("multiaddr {b:?} is not base64"))?;
            Multiaddr::try_from(bytes).with_context(|| format!("multiaddr {b:?} does not decode"))
        })
        .collect::<anyhow::Result<Vec<_>>>()
        .with_context(|| format!("provider {provider} has invalid multiaddrs on chain"))?;
    anyhow::ensure!(
        !addrs.is_empty(),
        "provider {provider} has no multiaddrs on chain; {hint}"
    );
    Ok(Provider { peer_id, addrs })
}

/// Boost's default: the minimum the market actor accepts plus 20%.
async fn min_collateral(
    chain: &LotusClient,
    padded: u64,
    verified: bool,
) -> anyhow::Result<TokenAmount> {
    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct BoundsIn {
        min: String,
    }
    let b: BoundsIn = match chain
        .request(
            "StateDealProviderCollateralBounds",
            json!([padded, verified, []]),
        )
        .await
    {
        Ok(b) => b,
        Err(ChainError::Remote { code, .. }) if code == METHOD_NOT_FOUND => anyhow::bail!(
            "the node does not serve Filecoin.StateDealProviderCollateralBounds, so the \
             provider's minimum collateral is unknown; pass --provider-collateral ATTOFIL"
        ),
        Err(e) => return Err(e).context("read the provider collateral bounds"),
    };
    let min = BigInt::from_str(&b.min)
        .with_context(|| format!("collateral bound {:?} is not a number", b.min))?;
    Ok(TokenAmount::from_atto(min * 6 / 5))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct MarketBalance {
    #[serde(with = "ferrite_chain::rpc::json::token")]
    escrow: TokenAmount,
    #[serde(with = "ferrite_chain::rpc::json::token")]
    locked: TokenAmount,
}

async fn market_balance(chain: &LotusClient, addr: &Address) -> anyhow::Result<MarketBalance> {
    chain
        .request("StateMarketBalance", json!([addr.to_string(), []]))
        .await
        .with_context(|| format!("read the market balance of {addr}"))
}

/// The deal locks price × duration of the client's escrow at publish; say
/// so now rather than let the provider fail later.
async fn warn_if_escrow_short(chain: &LotusClient, from: &Address, p: &DealProposal) {
    let epochs = p.end_epoch.saturating_sub(p.start_epoch);
    let cost = TokenAmount::from_atto(p.storage_price_per_epoch.atto() * epochs);
    if cost.is_zero() {
        return;
    }
    if let Ok(b) = market_balance(chain, from).await {
        let free = &b.escrow - &b.locked;
        if free < cost {
            eprintln!(
                "warning: {from} has {free} FIL free in market escrow but the deal costs {cost} FIL; \
                 the provider cannot publish it until `ferrite client add-balance` tops it up"
            );
        }
    }
}

/// CommP of `file` on every core, off the runtime, with a byte bar.
async fn commp(file: &Path, len: u64) -> anyhow::Result<PieceCidV2> {
    let file = file.to_path_buf();
    tokio::task::spawn_blocking(move || commp_of_file(&file, len))
        .await
        .context("CommP task")?
}

/// CommP of the `len` bytes of `file` on every core, with a byte bar.
/// Blocking.
pub(super) fn commp_of_file(file: &Path, len: u64) -> anyhow::Result<PieceCidV2> {
    let f = std::fs::File::open(file).with_context(|| format!("open {}", file.display()))?;
    let pool = CommpPool::all_cores().context("start the CommP threads")?;
    let mut hasher = CommpHasher::new(&pool);
    let bar = super::byte_bar("commp".to_string(), Some(len));
    hasher
        .read_from(bar.wrap_read(f))
        .with_context(|| format!("read {}", file.display()))?;
    bar.finish_and_clear();
    hasher
        .finish()
        .with_context(|| format!("compute the piece commitment of {}", file.display()))
}

/// The padded piece size a payload of `len` bytes fills: the smallest power
/// of two ≥ 128 whose 127/128 holds it.
fn padded_size_of(len: u64) -> anyhow::Result<u64> {
    let need = len
        .checked_mul(128)
        .map(|n| n.div_ceil(127))
        .context("the file is too large for a piece")?;
    need.max(128)
        .checked_next_power_of_two()
        .context("the file is too large for a piece")
}

/// `price` per GiB-epoch for a piece of `padded` bytes, rounded up so that
/// a small piece never goes for free.
fn price_per_epoch(price: &TokenAmount, padded: u64) -> TokenAmount {
    let total = price.atto() * BigInt::from(padded);
    let gib = BigInt::from(GIB);
    TokenAmount::from_atto((total + &gib - 1u32) / gib)
}

fn parse_address(flag: &str, text: &str) -> anyhow::Result<Address> {
    address::parse(text).map_err(|e| anyhow::anyhow!("{flag} {text:?} is not an address: {e}"))
}

/// A non-negative whole number of attoFIL.
fn parse_atto(flag: &str, text: &str) -> anyhow::Result<TokenAmount> {
    let t = text.trim();
    let digits = t
        .strip_suffix("attofil")
        .or_else(|| t.strip_suffix("aFIL"))
        .unwrap_or(t)
        .trim();
    anyhow::ensure!(
        !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()),
        "{flag} {text:?}: want a whole number of attoFIL, e.g. 1000"
    );
    let atto = BigInt::from_str(digits).with_context(|| format!("{flag} {text:?}"))?;
    Ok(TokenAmount::from_atto(atto))
}

/// `--url` and `--http-header`s as Boost's transfer params; http(s) only.
fn http_request(url: &str, headers: &[String]) -> anyhow::Result<HttpRequest> {
    let parsed = reqwest::Url::parse(url).with_context(|| format!("--url {url:?} is not a URL"))?;
    anyhow::ensure!(
        matches!(parsed.scheme(), "http" | "https"),
        "--url {url:?}: the provider fetches over http or https only, not {:?}",
        parsed.scheme()
    );
    anyhow::ensure!(
        parsed.host_str().is_some_and(|h| !h.is_empty()),
        "--url {url:?} has no host"
    );
    let mut map = BTreeMap::new();
    for h in headers {
        let (k, v) = parse_header(h)?;
        map.insert(k, v);
    }
    Ok(HttpRequest {
        url: url.to_string(),
        headers: map,
    })
}

/// `"Name: value"` (or Boost's `name=value`).
fn parse_header(h: &str) -> anyhow::Result<(String, String)> {
    let (k, v) = h
        .split_once(':')
        .or_else(|| h.split_once('='))
        .with_context(|| format!("--http-header {h:?}: want \"Name: value\""))?;
    let k = k.trim();
    anyhow::ensure!(
        !k.is_empty()
            && k.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)),
        "--http-header {h:?}: {k:?} is not a header name"
    );
    Ok((k.to_string(), v.trim().to_string()))
}

/// `--provider-peer /ip4/1.2.3.4/tcp/24001/p2p/12D3…`.
fn parse_provider_peer(text: &str) -> anyhow::Result<Provider> {
    let mut addr = Multiaddr::from_str(text)
        .with_context(|| format!("--provider-peer {text:?} is not a multiaddr"))?;
    let Some(AddrProtocol::P2p(peer_id)) = addr.pop() else {
        anyhow::bail!("--provider-peer {text:?} does not end in /p2p/PEERID");
    };
    anyhow::ensure!(
        !addr.is_empty(),
        "--provider-peer {text:?} has no address before /p2p/"
    );
    Ok(Provider {
        peer_id,
        addrs: vec![addr],
    })
}

fn list(addrs: &[Multiaddr]) -> String {
    addrs
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

fn or_dash(s: &str) -> &str {
    if s.is_empty() { "-" } else { s }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padded_sizes_follow_fr32() {
        assert_eq!(padded_size_of(1).unwrap(), 128);
        assert_eq!(padded_size_of(127).unwrap(), 128);
        assert_eq!(padded_size_of(128).unwrap(), 256);
        assert_eq!(padded_size_of(2032).unwrap(), 2048);
        assert_eq!(padded_size_of(2033).unwrap(), 4096);
        assert!(padded_size_of(u64::MAX).is_err());
    }

    #[test]
    fn price_scales_per_gib_and_rounds_up() {
        let p = TokenAmount::from_atto(1);
        assert_eq!(price_per_epoch(&p, 2048), TokenAmount::from_atto(1));
        let p = TokenAmount::from_atto(1_000_000_000);
        assert_eq!(price_per_epoch(&p, 2048), TokenAmount::from_atto(1908));
        assert_eq!(
            price_per_epoch(&p, 32 << 30),
            TokenAmount::from_atto(32_000_000_000u64)
        );
        assert!(price_per_epoch(&TokenAmount::default(), 2048).is_zero());
    }

    #[test]
    fn urls_and_headers_are_checked() {
        let r = http_request(
            "https://example.com/a.car",
            &["Authorization: Bearer x=y".into(), "X-Id=7".into()],
        )
        .unwrap();
        assert_eq!(r.headers["Authorization"], "Bearer x=y");
        assert_eq!(r.headers["X-Id"], "7");
        let json = serde_json::to_string(&r).unwrap();
        assert!(
            json.starts_with(r#"{"URL":"https://example.com/a.car","Headers":{"#),
            "{json}"
        );
        for bad in [
            "ftp://example.com/a.car",
            "libp2p:///ip4/1.2.3.4",
            "/tmp/a.car",
            "http://",
        ] {
            assert!(http_request(bad, &[]).is_err(), "{bad}");
        }
        assert!(http_request("http://h/a", &["no separator".into()]).is_err());
        assert!(http_request("http://h/a", &["bad name: v".into()]).is_err());
    }

    #[test]
    fn provider_peer_needs_an_address_and_a_peer_id() {
        let peer = libp2p::identity::Keypair::generate_ed25519()
            .public()
            .to_peer_id();
        let p = parse_provider_peer(&format!("/ip4/127.0.0.1/tcp/24001/p2p/{peer}")).unwrap();
        assert_eq!(p.peer_id, peer);
        assert_eq!(p.addrs[0].to_string(), "/ip4/127.0.0.1/tcp/24001");
        assert!(parse_provider_peer("/ip4/127.0.0.1/tcp/24001").is_err());
        assert!(parse_provider_peer(&format!("/p2p/{peer}")).is_err());
        assert!(parse_provider_peer("not an address").is_err());
    }
}

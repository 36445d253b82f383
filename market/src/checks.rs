//! The checks a deal proposal passes before it is accepted. Pure: the node
//! gathers what they need from the chain, the ask, the escrow and the store
//! into a [`CheckContext`], and [`check_deal`] answers with the deal's
//! piece and proposal CID, or the first [`Rejection`].
//!
//! ```text
//!  DealParams (wire) ─► DealInput ─┐
//!  chain head, escrow, staging ─► CheckContext ─► check_deal ─► Ok(CheckedDeal) ─► deal filter ─► record (Accepted)
//!                                                          └─► Err(Rejection) ─► DealResponse{accepted: false, message}
//! ```
//!
//! The order follows Boost's `validateDealProposal` (provider, signature,
//! label, piece, epochs, price, transfer size, then funds, space and
//! duplicates): cheap and client-caused first, the provider's own state
//! last. Where we differ: the duplicate check is by proposal CID as well as
//! by UUID (Boost checks the UUID and relies on the actor for proposals),
//! durations are bounded by config within the v18 actor's bounds, and the
//! transfer URL is checked here, before any byte moves ([`check_transfer_url`]).

use std::fmt;

use ferrite_types::{ChainEpoch, CommP, PaddedPieceSize, PieceInfo, SectorSize};
use fil_actor_market_state::v18::{ClientDealProposal, DealProposal, is_piece_cid};
use fvm_shared::address::Address;
use fvm_shared::econ::TokenAmount;
use serde::{Deserialize, Serialize};

use crate::deal::{DealUuid, ProposalCid};

/// Epochs in a day at 30-second epochs.
pub const EPOCHS_PER_DAY: i64 = 2880;

/// The shortest deal the v18 market actor accepts: 180 days
/// (`deal_duration_bounds` in builtin-actors' market policy).
pub const MIN_DEAL_DURATION: i64 = 180 * EPOCHS_PER_DAY;

/// The longest deal the v18 market actor accepts: 1278 days.
pub const MAX_DEAL_DURATION: i64 = 1278 * EPOCHS_PER_DAY;

/// The longest label the market actor accepts, in bytes.
pub const MAX_LABEL_BYTES: usize = 256;

const GIB: u64 = 1 << 30;

/// The provider's storage ask: what it charges and which pieces it takes
/// (`[market.ask]`; defaults in [`crate::config`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Ask {
    /// The least price of an unverified deal, per GiB (padded) per epoch,
    /// in attoFIL.
    #[serde(with = "crate::config::atto")]
    pub price_per_gib_epoch: TokenAmount,
    /// The least price of a verified (FIL+) deal, per GiB per epoch, in
    /// attoFIL.
    #[serde(with = "crate::config::atto")]
    pub verified_price_per_gib_epoch: TokenAmount,
    /// The smallest piece accepted.
    pub min_piece_size: PaddedPieceSize,
    /// The largest piece accepted (at most the sector size).
    pub max_piece_size: PaddedPieceSize,
}

impl Ask {
    /// Checks the ask's values against each other; the problem, if any.
    pub fn validate(&self) -> Result<(), String> {
        if self.min_piece_size > self.max_piece_size {
            return Err(format!(
                "min_piece_size {} exceeds max_piece_size {}",
                self.min_piece_size, self.max_piece_size
            ));
        }
        if self.price_per_gib_epoch.is_negative() || self.verified_price_per_gib_epoch.is_negative()
        {
            return Err("ask prices must not be negative".to_string());
        }
        Ok(())
    }
}

/// What the store already holds for a deal's UUID and proposal
/// ([`crate::records::Deals::known`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Known {
    /// A deal with this UUID exists.
    pub uuid_taken: bool,
    /// The deal that already carries this proposal, if any.
    pub proposal_of: Option<DealUuid>,
}

/// Everything the checks read besides the proposal itself.
#[derive(Debug, Clone)]
pub struct CheckContext<'a> {
    /// This provider's ID address (`f0…`); the proposal must name it.
    pub provider: Address,
    /// The client's key address (`f1`/`f3`), resolved from the proposal's
    /// client on chain: the signature is checked against it.
    pub client_key: Address,
    /// The chain head.
    pub head: ChainEpoch,
    /// The sector size of this miner: the largest possible piece.
    pub sector_size: SectorSize,
    /// Epochs sealing needs: the deal must start at least this far after
    /// the head.
    pub sealing_lead_epochs: i64,
    /// The shortest deal taken, in epochs.
    pub min_duration: i64,
    /// The longest deal taken, in epochs.
    pub max_duration: i64,
    /// The ask.
    pub ask: &'a Ask,
    /// The client's free escrow (balance − locked) in the market actor.
    pub client_available: TokenAmount,
    /// The provider's free collateral (balance − locked) in the market actor.
    pub provider_available: TokenAmount,
    /// Free bytes in the staging area.
    pub staging_free_bytes: u64,
    /// What the store already holds for this deal.
    pub known: Known,
}

/// The proposal as it arrived, with the plain fields of Boost's `DealParams`
/// that the checks need.
#[derive(Debug, Clone, Copy)]
pub struct DealInput<'a> {
    /// The client's UUID for the deal.
    pub uuid: DealUuid,
    /// The signed proposal.
    pub proposal: &'a ClientDealProposal,
    /// Whether the data comes by `import-data` rather than a transfer.
    pub is_offline: bool,
    /// The transfer's declared size in bytes (0 for offline deals).
    pub transfer_size: u64,
}

/// A deal that passed the checks: what its record starts with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedDeal {
    /// The piece the proposal names.
    pub piece: PieceInfo,
    /// The proposal's CID.
    pub proposal_cid: ProposalCid,
}

/// Why a deal was refused. [`Rejection::reason`] is a stable label for
/// metrics; the `Display` text goes back to the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    /// The proposal cannot be encoded (so neither signed nor published).
    Malformed {
        /// The encoder's message.
        reason: String,
    },
    /// The signature does not verify against the client's key address.
    BadSignature {
        /// The verifier's message.
        reason: String,
    },
    /// The proposal names another provider.
    WrongProvider {
        /// This provider's address.
        expected: String,
        /// The proposal's provider address.
        got: String,
    },
    /// The label is longer than the actor allows.
    Label {
        /// Its length in bytes.
        len: usize,
    },
    /// The piece CID is not a piece commitment.
    PieceCid {
        /// The CID as given.
        cid: String,
    },
    /// The piece size is not a valid padded size, or outside what this
    /// provider takes.
    PieceSize {
        /// The padded size in the proposal.
        size: u64,
        /// What is wrong with it.
        reason: String,
    },
    /// The transfer declares more bytes than the piece holds.
    TransferSize {
        /// The declared transfer size.
        size: u64,
        /// The piece's unpadded size.
        max: u64,
    },
    /// The deal starts before a sector could be sealed for it.
    StartTooSoon {
        /// The proposal's start epoch.
        start: ChainEpoch,
        /// The earliest start taken.
        earliest: ChainEpoch,
    },
    /// The deal is too short or too long (or ends before it starts).
    Duration {
        /// end − start, in epochs.
        duration: i64,
        /// The shortest taken.
        min: i64,
        /// The longest taken.
        max: i64,
    },
    /// The price per epoch is below the ask.
    Price {
        /// The proposal's price per epoch.
        offered: TokenAmount,
        /// The least taken for this piece size.
        min: TokenAmount,
        /// Whether the verified price applied.
        verified: bool,
    },
    /// The client's free escrow does not cover the storage fee and its
    /// collateral.
    ClientBalance {
        /// total storage fee + client collateral.
        needed: TokenAmount,
        /// The client's free escrow.
        available: TokenAmount,
    },
    /// The provider's free collateral does not cover the deal's.
    ProviderCollateral {
        /// The proposal's provider collateral.
        needed: TokenAmount,
        /// The provider's free collateral.
        available: TokenAmount,
    },
    /// A deal with this UUID, or with this proposal, exists.
    Duplicate {
        /// The existing deal.
        existing: DealUuid,
    },
    /// The staging area has no room for the transfer.
    StagingSpace {
        /// Bytes needed.
        needed: u64,
        /// Bytes free.
        free: u64,
    },
    /// The deal filter refused the deal, with its output.
    Filter {
        /// The filter's message (bounded).
        message: String,
    },
    /// The transfer URL is not one the provider pulls from.
    TransferUrl {
        /// What is wrong with it.
        reason: String,
    },
    /// A transfer type this provider does not pull (only `http`).
    UnsupportedTransfer {
        /// The type as given.
        kind: String,
    },
}

impl Rejection {
    /// Every [`Rejection::reason`] label.
    pub const REASONS: [&'static str; 17] = [
        "malformed",
        "bad_signature",
        "wrong_provider",
        "label",
        "piece_cid",
        "piece_size",
        "transfer_size",
        "start_too_soon",
        "duration",
        "price",
        "client_balance",
        "provider_collateral",
        "duplicate",
        "staging_space",
        "filter",
        "transfer_url",
        "unsupported_transfer",
    ];

    /// A stable label for metrics (`reason="price"`).
    pub fn reason(&self) -> &'static str {
        match self {
            Rejection::Malformed { .. } => "malformed",
            Rejection::BadSignature { .. } => "bad_signature",
            Rejection::WrongProvider { .. } => "wrong_provider",
            Rejection::Label { .. } => "label",
            Rejection::PieceCid { .. } => "piece_cid",
            Rejection::PieceSize { .. } => "piece_size",
            Rejection::TransferSize { .. } => "transfer_size",
            Rejection::StartTooSoon { .. } => "start_too_soon",
            Rejection::Duration { .. } => "duration",
            Rejection::Price { .. } => "price",
            Rejection::ClientBalance { .. } => "client_balance",
            Rejection::ProviderCollateral { .. } => "provider_collateral",
            Rejection::Duplicate { .. } => "duplicate",
            Rejection::StagingSpace { .. } => "staging_space",
            Rejection::Filter { .. } => "filter",
            Rejection::TransferUrl { .. } => "transfer_url",
            Rejection::UnsupportedTransfer { .. } => "unsupported_transfer",
        }
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rejection::Malformed { reason } => write!(f, "malformed deal proposal: {reason}"),
            Rejection::BadSignature { reason } => {
                write!(f, "invalid client signature on the proposal: {reason}")
            }
            Rejection::WrongProvider { expected, got } => write!(
                f,
                "the proposal is for provider {got}, but this provider is {expected}"
            ),
            Rejection::Label { len } => write!(
                f,
                "the deal label is {len} bytes; the market actor allows {MAX_LABEL_BYTES}"
            ),
            Rejection::PieceCid { cid } => write!(
                f,
                "piece CID {cid} is not a piece commitment (fil-commitment-unsealed, sha2-256-trunc254-padded)"
            ),
            Rejection::PieceSize { size, reason } => {
                write!(f, "piece size {size} is not accepted: {reason}")
            }
            Rejection::TransferSize { size, max } => write!(
                f,
                "the transfer size {size} exceeds the piece's unpadded size {max}"
            ),
            Rejection::StartTooSoon { start, earliest } => write!(
                f,
                "the deal starts at epoch {start}, before a sector can be sealed for it (earliest start: {earliest})"
            ),
            Rejection::Duration { duration, min, max } => write!(
                f,
                "the deal lasts {duration} epochs; this provider takes {min} to {max}"
            ),
            Rejection::Price {
                offered,
                min,
                verified,
            } => write!(
                f,
                "storage price per epoch {offered} FIL is below the {}ask of {min} FIL for this piece size",
                if *verified { "verified " } else { "" }
            ),
            Rejection::ClientBalance { needed, available } => write!(
                f,
                "the client's available escrow {available} FIL does not cover the {needed} FIL the deal needs"
            ),
            Rejection::ProviderCollateral { needed, available } => write!(
                f,
                "the provider's available collateral {available} FIL does not cover the {needed} FIL the deal needs; try later"
            ),
            Rejection::Duplicate { existing } => {
                write!(f, "the deal duplicates deal {existing}")
            }
            Rejection::StagingSpace { needed, free } => write!(
                f,
                "not enough staging space for {needed} bytes ({free} free); try later"
            ),
            Rejection::Filter { message } => write!(f, "deal filter rejected the deal: {message}"),
            Rejection::TransferUrl { reason } => write!(f, "invalid transfer URL: {reason}"),
            Rejection::UnsupportedTransfer { kind } => write!(
                f,
                "transfer type {kind:?} is not supported; use \"http\" or an offline deal"
            ),
        }
    }
}

impl std::error::Error for Rejection {}

/// Checks `deal` against `ctx`: the first failing check's [`Rejection`], or
/// the deal's piece and proposal CID.
pub fn check_deal(deal: &DealInput<'_>, ctx: &CheckContext<'_>) -> Result<CheckedDeal, Rejection> {
    let p: &DealProposal = &deal.proposal.proposal;

    if p.provider != ctx.provider {
        return Err(Rejection::WrongProvider {
            expected: ctx.provider.to_string(),
            got: p.provider.to_string(),
        });
    }
    let bytes = fvm_ipld_encoding::to_vec(p).map_err(|e| Rejection::Malformed {
        reason: e.to_string(),
    })?;
    deal.proposal
        .client_signature
        .verify(&bytes, &ctx.client_key)
        .map_err(|reason| Rejection::BadSignature { reason })?;
    let proposal_cid = ProposalCid::of(p).map_err(|e| Rejection::Malformed {
        reason: e.to_string(),
    })?;
    if p.label.len() > MAX_LABEL_BYTES {
        return Err(Rejection::Label { len: p.label.len() });
    }

    let piece = check_piece(p, ctx)?;
    if !deal.is_offline && deal.transfer_size > piece.size.unpadded().bytes() {
        return Err(Rejection::TransferSize {
            size: deal.transfer_size,
            max: piece.size.unpadded().bytes(),
        });
    }

    let earliest = ctx.head.plus(ctx.sealing_lead_epochs);
    if p.start_epoch < earliest.0 {
        return Err(Rejection::StartTooSoon {
            start: ChainEpoch(p.start_epoch),
            earliest,
        });
    }
    let duration = p.end_epoch.saturating_sub(p.start_epoch);
    if duration < ctx.min_duration || duration > ctx.max_duration {
        return Err(Rejection::Duration {
            duration,
            min: ctx.min_duration,
            max: ctx.max_duration,
        });
    }

    let min = min_price(ctx.ask, piece.size, p.verified_deal);
    if p.storage_price_per_epoch < min {
        return Err(Rejection::Price {
            offered: p.storage_price_per_epoch.clone(),
            min,
            verified: p.verified_deal,
        });
    }

    let needed = p.client_balance_requirement();
    if ctx.client_available < needed {
        return Err(Rejection::ClientBalance {
            needed,
            available: ctx.client_available.clone(),
        });
    }
    if ctx.provider_available < p.provider_collateral {
        return Err(Rejection::ProviderCollateral {
            needed: p.provider_collateral.clone(),
            available: ctx.provider_available.clone(),
        });
    }
    if !deal.is_offline && deal.transfer_size > ctx.staging_free_bytes {
        return Err(Rejection::StagingSpace {
            needed: deal.transfer_size,
            free: ctx.staging_free_bytes,
        });
    }
    if ctx.known.uuid_taken {
        return Err(Rejection::Duplicate {
            existing: deal.uuid,
        });
    }
    if let Some(existing) = ctx.known.proposal_of {
        return Err(Rejection::Duplicate { existing });
    }

    Ok(CheckedDeal {
        piece,
        proposal_cid,
    })
}

/// The proposal's piece: a piece-commitment CID and a padded size within
/// the sector and the ask.
fn check_piece(p: &DealProposal, ctx: &CheckContext<'_>) -> Result<PieceInfo, Rejection> {
    if !is_piece_cid(&p.piece_cid) {
        return Err(Rejection::PieceCid {
            cid: p.piece_cid.to_string(),
        });
    }
    let comm_p = CommP::from_cid(&p.piece_cid).map_err(|_| Rejection::PieceCid {
        cid: p.piece_cid.to_string(),
    })?;
    let size_err = |reason: String| Rejection::PieceSize {
        size: p.piece_size.0,
        reason,
    };
    let size = PaddedPieceSize::new(p.piece_size.0)
        .map_err(|_| size_err("not a power of two of at least 128 bytes".to_string()))?;
    let sector = PaddedPieceSize::from(ctx.sector_size);
    if size > sector {
        return Err(size_err(format!(
            "larger than the {} sector",
            ctx.sector_size
        )));
    }
    if size < ctx.ask.min_piece_size || size > ctx.ask.max_piece_size {
        return Err(size_err(format!(
            "the ask takes {} to {} bytes",
            ctx.ask.min_piece_size, ctx.ask.max_piece_size
        )));
    }
    Ok(PieceInfo { comm_p, size })
}

/// The least price per epoch for a piece of `size`: the ask's price per
/// GiB-epoch scaled to the padded size (Boost's rule; small pieces may round
/// to zero).
pub fn min_price(ask: &Ask, size: PaddedPieceSize, verified: bool) -> TokenAmount {
    let per_gib = if verified {
        &ask.verified_price_per_gib_epoch
    } else {
        &ask.price_per_gib_epoch
    };
    (per_gib * size.bytes()).div_floor(GIB)
}

/// Checks an online deal's transfer type: only `http` (Boost's HTTP pull;
/// Boost also speaks `libp2p` and `graphsync`, which we do not).
pub fn check_transfer_type(kind: &str) -> Result<(), Rejection> {
    if kind == "http" {
        Ok(())
    } else {
        Err(Rejection::UnsupportedTransfer {
            kind: truncate(kind, 64).to_string(),
        })
    }
}

/// Checks a transfer URL before anything is fetched: only `http` and
/// `https` with a host. Refuses `file:` and other schemes, bare local
/// paths, empty hosts, and URLs with spaces or control characters.
/// (Private addresses are not refused here, as in Boost: a client may serve
/// from the provider's own network.)
pub fn check_transfer_url(url: &str) -> Result<(), Rejection> {
    let bad = |reason: &str| Rejection::TransferUrl {
        reason: format!("{reason}: {:?}", truncate(url, 200)),
    };
    if url.is_empty() {
        return Err(bad("empty"));
    }
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad("contains whitespace or control characters"));
    }
    let Some((scheme, rest)) = url.split_once("://") else {
        return Err(bad("not an http(s) URL"));
    };
    if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
        return Err(bad("only http and https are supported"));
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    // user:pass@host:port: the host sits after the last '@'.
    let host_port = authority.rsplit('@').next().unwrap_or_default();
    let host = if let Some(v6) = host_port.strip_prefix('[') {
        match v6.split_once(']') {
            Some((h, port)) if port.is_empty() || port.starts_with(':') => h,
            _ => return Err(bad("malformed IPv6 host")),
        }
    } else {
        host_port.split(':').next().unwrap_or_default()
    };
    if host.is_empty() {
        return Err(bad("no host"));
    }
    if let Some(port) = port_of(host_port)
        && (port.is_empty() || port.parse::<u16>().is_err())
    {
        return Err(bad("invalid port"));
    }
    Ok(())
}

/// The text after the host's `:`, if there is one.
fn port_of(host_port: &str) -> Option<&str> {
    let after_host = match host_port.strip_prefix('[') {
        Some(v6) => v6.split_once(']').map_or("", |(_, rest)| rest),
        None => host_port,
    };
    after_host.split_once(':').map(|(_, port)| port)
}

/// `s` cut to at most `max` bytes, on a character boundary.
pub(crate) fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use bls_signatures::Serialize as _;
    use cid::Cid;
    use fil_actor_market_state::v18::Label;
    use fvm_shared::crypto::signature::Signature;
    use fvm_shared::piece::PaddedPieceSize as ChainPieceSize;
    use k256::ecdsa::SigningKey;

    use super::*;

    /// The CommP of a 2 KiB piece of zeros.
    const COMMP: &str = "baga6ea4seaqpy7usqklokfx2vxuynmupslkeutzexe2uqurdg5vhtebhxqmpqmy";
    const START: i64 = 1000;

    enum Key {
        Secp(SigningKey),
        Bls(bls_signatures::PrivateKey),
    }

    impl Key {
        fn secp() -> Self {
            Key::Secp(SigningKey::from_slice(&[7u8; 32]).unwrap())
        }

        fn bls() -> Self {
            Key::Bls(bls_signatures::PrivateKey::new([9u8; 32]))
        }

        fn address(&self) -> Address {
            match self {
                Key::Secp(k) => {
                    Address::new_secp256k1(k.verifying_key().to_encoded_point(false).as_bytes())
                        .unwrap()
                }
                Key::Bls(k) => Address::new_bls(&k.public_key().as_bytes()).unwrap(),
            }
        }

        /// Signs as Lotus does: secp256k1 over blake2b-256 with the recovery byte.
        fn sign(&self, data: &[u8]) -> Signature {
            match self {
                Key::Secp(k) => {
                    let hash = blake2b_simd::Params::new()
                        .hash_length(32)
                        .to_state()
                        .update(data)
                        .finalize();
                    let (sig, rec) = k.sign_prehash_recoverable(hash.as_bytes()).unwrap();
                    let mut bytes = sig.to_bytes().to_vec();
                    bytes.push(rec.to_byte());
                    Signature::new_secp256k1(bytes)
                }
                Key::Bls(k) => Signature::new_bls(k.sign(data).as_bytes()),
            }
        }
    }

    fn proposal() -> DealProposal {
        DealProposal {
            piece_cid: COMMP.parse::<Cid>().unwrap(),
            piece_size: ChainPieceSize(2048),
            verified_deal: false,
            client: Address::new_id(1001),
            provider: Address::new_id(1000),
            label: Label::String("bafy-root".to_string()),
            start_epoch: START,
            end_epoch: START + MIN_DEAL_DURATION,
            storage_price_per_epoch: TokenAmount::from_atto(2000),
            provider_collateral: TokenAmount::from_atto(100),
            client_collateral: TokenAmount::from_atto(50),
        }
    }

    fn signed_by(key: &Key, p: DealProposal) -> ClientDealProposal {
        let bytes = fvm_ipld_encoding::to_vec(&p).unwrap();
        ClientDealProposal {
            client_signature: key.sign(&bytes),
            proposal: p,
        }
    }

    fn signed(p: DealProposal) -> ClientDealProposal {
        signed_by(&Key::secp(), p)
    }

    fn ask() -> Ask {
        Ask {
            // 1e9 atto per GiB-epoch: 1907 atto per epoch for 2 KiB.
            price_per_gib_epoch: TokenAmount::from_atto(1_000_000_000),
            verified_price_per_gib_epoch: TokenAmount::from_atto(0),
            min_piece_size: PaddedPieceSize::new(256).unwrap(),
            max_piece_size: PaddedPieceSize::new(2048).unwrap(),
        }
    }

    fn ctx(ask: &Ask) -> CheckContext<'_> {
        CheckContext {
            provider: Address::new_id(1000),
            client_key: Key::secp().address(),
            head: ChainEpoch(100),
            sector_size: SectorSize::S2KiB,
            sealing_lead_epochs: 500,
            min_duration: MIN_DEAL_DURATION,
            max_duration: MAX_DEAL_DURATION,
            ask,
            client_available: TokenAmount::from_whole(1),
            provider_available: TokenAmount::from_whole(1),
            staging_free_bytes: 1 << 30,
            known: Known::default(),
        }
    }

    fn uuid() -> DealUuid {
        DealUuid([1; 16])
    }

    fn input(p: &ClientDealProposal) -> DealInput<'_> {
        DealInput {
            uuid: uuid(),
            proposal: p,
            is_offline: false,
            transfer_size: 2000,
        }
    }

    /// The rejection of `p` in the default context changed by `edit`.
    fn reject(p: DealProposal, edit: impl FnOnce(&mut CheckContext<'_>)) -> Rejection {
        let ask = ask();
        let mut c = ctx(&ask);
        edit(&mut c);
        let p = signed(p);
        check_deal(&input(&p), &c).unwrap_err()
    }

    #[test]
    fn a_good_deal_passes_with_its_piece_and_proposal_cid() {
        let ask = ask();
        let p = signed(proposal());
        let ok = check_deal(&input(&p), &ctx(&ask)).unwrap();
        assert_eq!(ok.piece.comm_p, COMMP.parse().unwrap());
        assert_eq!(ok.piece.size.bytes(), 2048);
        assert_eq!(ok.proposal_cid, ProposalCid::of(&p.proposal).unwrap());
        assert_eq!(ok.proposal_cid.0.codec(), fvm_ipld_encoding::DAG_CBOR);
    }

    #[test]
    fn a_bls_client_signature_verifies() {
        let ask = ask();
        let key = Key::bls();
        let mut c = ctx(&ask);
        c.client_key = key.address();
        let p = signed_by(&key, proposal());
        assert!(check_deal(&input(&p), &c).is_ok());
        // Checked against another key, it fails.
        c.client_key = Key::secp().address();
        assert_eq!(
            check_deal(&input(&p), &c).unwrap_err().reason(),
            "bad_signature"
        );
    }

    #[test]
    fn rejects_a_tampered_proposal_as_bad_signature() {
        let ask = ask();
        let mut p = signed(proposal());
        p.proposal.storage_price_per_epoch = TokenAmount::from_atto(1_000_000);
        let r = check_deal(&input(&p), &ctx(&ask)).unwrap_err();
        assert_eq!(r.reason(), "bad_signature");
        assert!(r.to_string().contains("invalid client signature"), "{r}");
        // A signature of the right key over the wrong bytes, and an empty one.
        p.client_signature = Signature::new_secp256k1(vec![0; 65]);
        assert_eq!(
            check_deal(&input(&p), &ctx(&ask)).unwrap_err().reason(),
            "bad_signature"
        );
    }

    #[test]
    fn rejects_another_provider() {
        let mut p = proposal();
        p.provider = Address::new_id(2000);
        let r = reject(p, |_| {});
        assert_eq!(r.reason(), "wrong_provider");
        assert!(r.to_string().contains("f02000"), "{r}");
    }

    #[test]
    fn rejects_a_long_label() {
        let mut p = proposal();
        p.label = Label::String("x".repeat(MAX_LABEL_BYTES + 1));
        assert_eq!(reject(p, |_| {}).reason(), "label");
    }

    #[test]
    fn rejects_a_cid_that_is_no_piece_commitment() {
        let mut p = proposal();
        // A CommR: the sealed codec.
        p.piece_cid = ferrite_types::CommR([3; 32]).to_cid();
        let r = reject(p, |_| {});
        assert_eq!(r.reason(), "piece_cid");
    }

    #[test]
    fn rejects_bad_piece_sizes() {
        for (size, why) in [
            (1000, "power of two"),
            (64, "power of two"),
            (4096, "larger than the 2KiB sector"),
            (128, "the ask takes 256 to 2048"),
        ] {
            let mut p = proposal();
            p.piece_size = ChainPieceSize(size);
            let r = reject(p, |_| {});
            assert_eq!(r.reason(), "piece_size", "{size}");
            assert!(r.to_string().contains(why), "{size}: {r}");
        }
    }

    #[test]
    fn rejects_a_transfer_larger_than_the_piece() {
        let ask = ask();
        let p = signed(proposal());
        let mut i = input(&p);
        i.transfer_size = 2033;
        let r = check_deal(&i, &ctx(&ask)).unwrap_err();
        assert_eq!(r.reason(), "transfer_size");
        i.transfer_size = 2032;
        assert!(check_deal(&i, &ctx(&ask)).is_ok());
    }

    #[test]
    fn rejects_a_start_before_sealing_can_finish() {
        // head 100 + 500 epochs of sealing: 600 is the earliest start.
        let mut p = proposal();
        p.start_epoch = 599;
        p.end_epoch = 599 + MIN_DEAL_DURATION;
        let r = reject(p.clone(), |_| {});
        assert_eq!(r.reason(), "start_too_soon");
        assert!(r.to_string().contains("earliest start: 600"), "{r}");
        p.start_epoch = 600;
        p.end_epoch = 600 + MIN_DEAL_DURATION;
        let ask = ask();
        let p = signed(p);
        assert!(check_deal(&input(&p), &ctx(&ask)).is_ok());
    }

    #[test]
    fn rejects_durations_outside_the_bounds() {
        for end in [
            START + MIN_DEAL_DURATION - 1,
            START + MAX_DEAL_DURATION + 1,
            START - 1,
        ] {
            let mut p = proposal();
            p.end_epoch = end;
            assert_eq!(reject(p, |_| {}).reason(), "duration", "end {end}");
        }
        let mut p = proposal();
        p.end_epoch = START + MAX_DEAL_DURATION;
        // The config may narrow the bounds.
        let r = reject(p, |c| c.max_duration = 540 * EPOCHS_PER_DAY);
        assert_eq!(r.reason(), "duration");
    }

    #[test]
    fn rejects_a_price_below_the_ask() {
        let mut p = proposal();
        p.storage_price_per_epoch = TokenAmount::from_atto(1906);
        let r = reject(p.clone(), |_| {});
        assert_eq!(r.reason(), "price");
        assert_eq!(
            r,
            Rejection::Price {
                offered: TokenAmount::from_atto(1906),
                min: TokenAmount::from_atto(1907),
                verified: false,
            }
        );
        // A verified deal is held to the verified price (0 here).
        p.verified_deal = true;
        let ask = ask();
        let sp = signed(p.clone());
        assert!(check_deal(&input(&sp), &ctx(&ask)).is_ok());
        let mut dear = ask.clone();
        dear.verified_price_per_gib_epoch = TokenAmount::from_atto(2_000_000_000);
        let sp = signed(p);
        let r = check_deal(&input(&sp), &ctx(&dear)).unwrap_err();
        assert_eq!(r.reason(), "price");
        assert!(r.to_string().contains("verified ask"), "{r}");
    }

    #[test]
    fn rejects_a_client_that_cannot_pay() {
        let p = proposal();
        let needed = p.client_balance_requirement();
        let r = reject(p.clone(), |c| {
            c.client_available = needed.clone() - TokenAmount::from_atto(1);
        });
        assert_eq!(r.reason(), "client_balance");
        let ask = ask();
        let mut c = ctx(&ask);
        c.client_available = needed;
        let sp = signed(p);
        assert!(check_deal(&input(&sp), &c).is_ok());
    }

    #[test]
    fn rejects_when_provider_collateral_is_short() {
        let r = reject(proposal(), |c| {
            c.provider_available = TokenAmount::from_atto(99);
        });
        assert_eq!(r.reason(), "provider_collateral");
    }

    #[test]
    fn rejects_when_staging_is_full_but_not_for_offline_deals() {
        let ask = ask();
        let mut c = ctx(&ask);
        c.staging_free_bytes = 1999;
        let p = signed(proposal());
        let r = check_deal(&input(&p), &c).unwrap_err();
        assert_eq!(r.reason(), "staging_space");
        let mut offline = input(&p);
        offline.is_offline = true;
        // An offline deal's declared size is not checked either.
        offline.transfer_size = u64::MAX;
        assert!(check_deal(&offline, &c).is_ok());
    }

    #[test]
    fn rejects_duplicates_by_uuid_and_by_proposal() {
        let r = reject(proposal(), |c| c.known.uuid_taken = true);
        assert_eq!(r, Rejection::Duplicate { existing: uuid() });
        let other = DealUuid([2; 16]);
        let r = reject(proposal(), |c| c.known.proposal_of = Some(other));
        assert_eq!(r, Rejection::Duplicate { existing: other });
        assert_eq!(r.reason(), "duplicate");
    }

    #[test]
    fn transfer_urls_are_http_with_a_host() {
        for ok in [
            "http://example.com/data.car",
            "HTTPS://example.com:8443/x?y=1",
            "https://user:pw@10.0.0.1/piece",
            "http://[::1]:8080/a",
        ] {
            assert_eq!(check_transfer_url(ok), Ok(()), "{ok}");
        }
        for (bad, why) in [
            ("", "empty"),
            ("file:///etc/passwd", "only http and https"),
            ("/var/data/piece.car", "not an http(s) URL"),
            ("ftp://example.com/x", "only http and https"),
            ("http:///path", "no host"),
            ("https://:80/x", "no host"),
            ("http://user@/x", "no host"),
            ("http://example.com:99999/x", "invalid port"),
            ("http://example.com:/x", "invalid port"),
            ("http://exa mple.com/", "whitespace"),
            ("http://[::1/x", "IPv6"),
        ] {
            let r = check_transfer_url(bad).unwrap_err();
            assert_eq!(r.reason(), "transfer_url", "{bad}");
            assert!(r.to_string().contains(why), "{bad}: {r}");
        }
    }

    #[test]
    fn only_http_transfers_are_pulled() {
        assert!(check_transfer_type("http").is_ok());
        let r = check_transfer_type("graphsync").unwrap_err();
        assert_eq!(r.reason(), "unsupported_transfer");
    }

    #[test]
    fn every_rejection_has_a_listed_reason_and_a_message() {
        let all = [
            Rejection::Malformed { reason: "x".into() },
            Rejection::Filter {
                message: "no thanks".into(),
            },
            Rejection::Label { len: 300 },
        ];
        for r in all {
            assert!(Rejection::REASONS.contains(&r.reason()));
            assert!(!r.to_string().is_empty());
        }
        assert!(
            Rejection::Filter {
                message: "no thanks".into()
            }
            .to_string()
            .contains("no thanks")
        );
    }
}

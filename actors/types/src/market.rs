//! The storage market actor's (f05) wire and state types in builtin-actors
//! v18's layout: method numbers, deal proposals and deal states, the
//! parameters and return values of its methods (including the
//! `SectorContentChanged` notification the miner sends it), the generic
//! [`BatchReturn`], the market policy constants and the 13-field [`State`].

use cid::Cid;
use fvm_ipld_bitfield::BitField;
use fvm_ipld_encoding::strict_bytes;
use fvm_ipld_encoding::{BytesSer, RawBytes};
use fvm_shared::ActorID;
use fvm_shared::address::Address;
use fvm_shared::bigint::{BigInt, Integer};
use fvm_shared::clock::ChainEpoch;
use fvm_shared::crypto::signature::Signature;
use fvm_shared::deal::DealID;
use fvm_shared::econ::TokenAmount;
use fvm_shared::error::ExitCode;
use fvm_shared::piece::PaddedPieceSize;
use fvm_shared::sector::{RegisteredSealProof, SectorNumber};
use num_traits::Zero;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_tuple::{Deserialize_tuple, Serialize_tuple};

use crate::EPOCHS_IN_DAY;

/// Market method numbers (v18), including the FRC-42 exported aliases.
pub mod methods {
    /// Constructor (system actor only).
    pub const CONSTRUCTOR: u64 = 1;
    /// Deposit the message value into an escrow account.
    pub const ADD_BALANCE: u64 = 2;
    /// Withdraw unlocked escrow.
    pub const WITHDRAW_BALANCE: u64 = 3;
    /// Publish signed deal proposals (provider's worker or control address).
    pub const PUBLISH_STORAGE_DEALS: u64 = 4;
    /// Check deals for a sector being pre-committed (miner only).
    pub const VERIFY_DEALS_FOR_ACTIVATION: u64 = 5;
    /// Activate deals in proven sectors (miner only; legacy path).
    pub const BATCH_ACTIVATE_DEALS: u64 = 6;
    /// Terminate the deals of early-terminated sectors (miner only).
    pub const ON_MINER_SECTORS_TERMINATE: u64 = 7;
    /// End-of-epoch deal processing (cron actor only). 8 (ComputeDataCommitment) is gone.
    pub const CRON_TICK: u64 = 9;
    /// FRC-42 alias of [`ADD_BALANCE`].
    pub const ADD_BALANCE_EXPORTED: u64 = 822473126;
    /// FRC-42 alias of [`WITHDRAW_BALANCE`].
    pub const WITHDRAW_BALANCE_EXPORTED: u64 = 2280458852;
    /// FRC-42 alias of [`PUBLISH_STORAGE_DEALS`].
    pub const PUBLISH_STORAGE_DEALS_EXPORTED: u64 = 2236929350;
    /// `GetBalance(Address) -> GetBalanceReturn`.
    pub const GET_BALANCE: u64 = 726108461;
    /// `GetDealDataCommitment(DealID) -> GetDealDataCommitmentReturn`.
    pub const GET_DEAL_DATA_COMMITMENT: u64 = 1157985802;
    /// `GetDealClient(DealID) -> ActorID`.
    pub const GET_DEAL_CLIENT: u64 = 128053329;
    /// `GetDealProvider(DealID) -> ActorID`.
    pub const GET_DEAL_PROVIDER: u64 = 935081690;
    /// `GetDealLabel(DealID) -> Label`.
    pub const GET_DEAL_LABEL: u64 = 46363526;
    /// `GetDealTerm(DealID) -> GetDealTermReturn`.
    pub const GET_DEAL_TERM: u64 = 163777312;
    /// `GetDealTotalPrice(DealID) -> TokenAmount`.
    pub const GET_DEAL_TOTAL_PRICE: u64 = 4287162428;
    /// `GetDealClientCollateral(DealID) -> TokenAmount`.
    pub const GET_DEAL_CLIENT_COLLATERAL: u64 = 200567895;
    /// `GetDealProviderCollateral(DealID) -> TokenAmount`.
    pub const GET_DEAL_PROVIDER_COLLATERAL: u64 = 2986712137;
    /// `GetDealVerified(DealID) -> bool`.
    pub const GET_DEAL_VERIFIED: u64 = 2627389465;
    /// `GetDealActivation(DealID) -> GetDealActivationReturn`.
    pub const GET_DEAL_ACTIVATION: u64 = 2567238399;
    /// `GetDealSector(DealID) -> SectorNumber`.
    pub const GET_DEAL_SECTOR: u64 = 2611213344;
    /// `SettleDealPayments(BitField) -> SettleDealPaymentsReturn`.
    pub const SETTLE_DEAL_PAYMENTS: u64 = 1900091594;
    /// The FRC-42 hook a miner calls on data consumers after activating
    /// pieces (`SectorContentChanged`); the market is its only consumer here.
    pub const SECTOR_CONTENT_CHANGED: u64 = 2034386435;

    /// The account actor's FRC-42 `AuthenticateMessage`, used to check a
    /// client's signature on a proposal.
    pub const ACCOUNT_AUTHENTICATE_MESSAGE: u64 = 2643134072;
    /// The FRC-42 hook v18 calls on a client actor after publishing its deal
    /// (`MarketNotifyDeal`).
    pub const MARKET_NOTIFY_DEAL: u64 = 4186741094;
}

// ---------------------------------------------------------------------------
// Policy
// ---------------------------------------------------------------------------

/// Shortest deal (epochs): 180 days, on mainnet and devnet alike (v18 does
/// not gate deal duration on `small-deals`).
pub const DEAL_MIN_DURATION: ChainEpoch = 180 * EPOCHS_IN_DAY;
/// Longest deal (epochs): 1278 days (mainnet and devnet).
pub const DEAL_MAX_DURATION: ChainEpoch = 1278 * EPOCHS_IN_DAY;
/// How often cron settles an active deal's payments: every 30 days (v18).
pub const DEAL_UPDATES_INTERVAL: ChainEpoch = 30 * EPOCHS_IN_DAY;
/// The share of circulating supply that provider collateral must cover,
/// numerator (1 on mainnet and devnet; 0 only on the `testing` build with
/// `no-provider-deal-collateral`).
pub const PROV_COLLATERAL_PERCENT_SUPPLY_NUM: i64 = 1;
/// Its denominator (100).
pub const PROV_COLLATERAL_PERCENT_SUPPLY_DENOM: i64 = 100;
/// Longest deal label, in bytes (256).
pub const DEAL_MAX_LABEL_SIZE: usize = 256;
/// The assumed total of FIL, bounding prices and collaterals: 2e9 FIL.
pub const TOTAL_FILECOIN_WHOLE: i64 = 2_000_000_000;
/// The allocation ID of a deal without a verified allocation.
pub const NO_ALLOCATION_ID: u64 = 0;
/// Exit code: the deal existed but has been cleaned up (or its start passed).
pub const EX_DEAL_EXPIRED: ExitCode = ExitCode::new(32);
/// Exit code: the deal is not activated yet.
pub const EX_DEAL_NOT_ACTIVATED: ExitCode = ExitCode::new(33);

/// Bit width of the proposals AMT.
pub const PROPOSALS_AMT_BITWIDTH: u32 = 5;
/// Bit width of the deal states AMT.
pub const STATES_AMT_BITWIDTH: u32 = 6;
/// Bit width of the escrow and locked balance-table HAMTs.
pub const BALANCE_TABLE_BITWIDTH: u32 = 6;
/// Bit width of every other market HAMT (pending proposals, deal ops outer
/// and inner sets, pending allocation IDs, provider sectors and their
/// per-provider sector maps): builtin-actors' default, 5.
pub const HAMT_BITWIDTH: u32 = 5;

/// The first epoch no sooner than `earliest` at which deal `id` is due for
/// processing: each ID has a fixed offset (`id mod interval`) within every
/// `interval` epochs, which spreads the deals over cron ticks.
pub fn next_update_epoch(id: DealID, interval: ChainEpoch, earliest: ChainEpoch) -> ChainEpoch {
    let interval = interval.max(1);
    // The remainder is below `interval`, so it always fits an i64.
    let offset = i64::try_from(id % interval.unsigned_abs()).unwrap_or(0);
    let shifted = earliest.saturating_sub(offset);
    let rounded_up = if shifted.rem_euclid(interval) == 0 {
        shifted
    } else {
        shifted
            .div_euclid(interval)
            .saturating_add(1)
            .saturating_mul(interval)
    };
    rounded_up.saturating_add(offset)
}

/// The least provider collateral for a deal of `size`: 1% of the
/// circulating supply, scaled by the deal's share of network power,
/// `size * supply * NUM / (max(network_raw, baseline, size) * DENOM)`
/// (floored). The most is [`TOTAL_FILECOIN_WHOLE`] FIL.
pub fn provider_collateral_min(
    size: PaddedPieceSize,
    network_raw_power: &BigInt,
    baseline_power: &BigInt,
    circulating_supply: &TokenAmount,
) -> TokenAmount {
    let share_num = BigInt::from(size.0);
    let share_denom = network_raw_power
        .max(baseline_power)
        .max(&share_num)
        .clone();
    let num = share_num * circulating_supply.atto() * PROV_COLLATERAL_PERCENT_SUPPLY_NUM;
    let denom = share_denom * PROV_COLLATERAL_PERCENT_SUPPLY_DENOM;
    if denom.is_zero() {
        return TokenAmount::zero();
    }
    TokenAmount::from_atto(num.div_floor(&denom))
}

/// [`TOTAL_FILECOIN_WHOLE`] as a token amount.
pub fn total_filecoin() -> TokenAmount {
    TokenAmount::from_whole(TOTAL_FILECOIN_WHOLE)
}

// ---------------------------------------------------------------------------
// Deals
// ---------------------------------------------------------------------------

/// A deal label: a UTF-8 string or raw bytes, encoded untagged (a CBOR text
/// string or a byte string), as in v18.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Label {
    /// A CBOR text string.
    String(String),
    /// A CBOR byte string.
    Bytes(Vec<u8>),
}

impl Default for Label {
    fn default() -> Self {
        Label::String(String::new())
    }
}

impl Label {
    /// Its length in bytes.
    pub fn len(&self) -> usize {
        match self {
            Label::String(s) => s.len(),
            Label::Bytes(b) => b.len(),
        }
    }

    /// Whether it is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Serialize for Label {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Label::String(v) => s.serialize_str(v),
            Label::Bytes(v) => BytesSer(v).serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for Label {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct LabelVisitor;
        impl serde::de::Visitor<'_> for LabelVisitor {
            type Value = Label;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a text string or a byte string")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Label, E> {
                Ok(Label::String(v.to_owned()))
            }
            fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Label, E> {
                Ok(Label::String(v))
            }
            fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<Label, E> {
                Ok(Label::Bytes(v.to_vec()))
            }
            fn visit_byte_buf<E: serde::de::Error>(self, v: Vec<u8>) -> Result<Label, E> {
                Ok(Label::Bytes(v))
            }
        }
        d.deserialize_any(LabelVisitor)
    }
}

/// A storage deal as the client proposed it (v18 field order).
#[derive(Clone, Debug, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct DealProposal {
    /// The piece's CommP (fil-commitment-unsealed, sha2-256-trunc254-padded).
    pub piece_cid: Cid,
    /// The piece's padded size.
    pub piece_size: PaddedPieceSize,
    /// Whether it uses DataCap (refused by Ferrite's bundle).
    pub verified_deal: bool,
    /// The paying client.
    pub client: Address,
    /// The storage provider (a miner actor).
    pub provider: Address,
    /// The client's free-form label (at most [`DEAL_MAX_LABEL_SIZE`] bytes).
    pub label: Label,
    /// The epoch by which the deal must be in a proven sector; payment starts here.
    pub start_epoch: ChainEpoch,
    /// The epoch the deal ends (exclusive).
    pub end_epoch: ChainEpoch,
    /// What the client pays the provider per epoch.
    pub storage_price_per_epoch: TokenAmount,
    /// The provider's collateral, slashed on failure.
    pub provider_collateral: TokenAmount,
    /// The client's collateral.
    pub client_collateral: TokenAmount,
}

impl DealProposal {
    /// `end_epoch - start_epoch`.
    pub fn duration(&self) -> ChainEpoch {
        self.end_epoch.saturating_sub(self.start_epoch)
    }

    /// The price of the whole term: `price_per_epoch * duration`.
    pub fn total_storage_fee(&self) -> TokenAmount {
        &self.storage_price_per_epoch * self.duration()
    }

    /// What the client must have locked: the total fee plus its collateral.
    pub fn client_balance_requirement(&self) -> TokenAmount {
        &self.client_collateral + self.total_storage_fee()
    }
}

/// A proposal with the client's signature over its CBOR.
#[derive(Clone, Debug, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct ClientDealProposal {
    /// The proposal.
    pub proposal: DealProposal,
    /// The client's signature over the CBOR of `proposal`.
    pub client_signature: Signature,
}

/// The on-chain state of an activated deal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct DealState {
    /// The sector holding the deal (0 until activated).
    pub sector_number: SectorNumber,
    /// The epoch the sector was activated (-1 until then).
    pub sector_start_epoch: ChainEpoch,
    /// The last epoch payments were settled up to (-1 if never).
    pub last_updated_epoch: ChainEpoch,
    /// The epoch the deal was terminated early (-1 if never).
    pub slash_epoch: ChainEpoch,
}

// ---------------------------------------------------------------------------
// Batch results
// ---------------------------------------------------------------------------

/// One failed item of a batch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct FailCode {
    /// The item's index in the batch.
    pub idx: u32,
    /// Why it failed.
    pub code: ExitCode,
}

/// The outcome of a batch call: how many items succeeded, and the index and
/// exit code of each failure (v18 `BatchReturn`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct BatchReturn {
    /// The number of items that succeeded.
    pub success_count: u32,
    /// Each failed item, in index order.
    pub fail_codes: Vec<FailCode>,
}

impl BatchReturn {
    /// A batch of `n` successes.
    pub fn ok(n: u32) -> Self {
        Self {
            success_count: n,
            fail_codes: Vec::new(),
        }
    }

    /// The batch whose item `i` ended with `codes[i]`.
    pub fn of(codes: &[ExitCode]) -> Self {
        let mut b = BatchReturnBuilder::default();
        for c in codes {
            b.add(*c);
        }
        b.build()
    }

    /// The number of items.
    pub fn size(&self) -> usize {
        self.success_count as usize + self.fail_codes.len()
    }

    /// Whether every item succeeded.
    pub fn all_ok(&self) -> bool {
        self.fail_codes.is_empty()
    }

    /// The exit code of each item, successes included.
    pub fn codes(&self) -> Vec<ExitCode> {
        let mut out = vec![ExitCode::OK; self.size()];
        for f in &self.fail_codes {
            if let Some(slot) = out.get_mut(f.idx as usize) {
                *slot = f.code;
            }
        }
        out
    }

    /// The items of `items` that succeeded (`items` must be the batch, in order).
    pub fn successes<T: Clone>(&self, items: &[T]) -> Vec<T> {
        let codes = self.codes();
        items
            .iter()
            .zip(codes)
            .filter(|(_, c)| c.is_success())
            .map(|(t, _)| t.clone())
            .collect()
    }
}

/// Builds a [`BatchReturn`] one item at a time.
#[derive(Debug, Default)]
pub struct BatchReturnBuilder {
    next: u32,
    ret: BatchReturn,
}

impl BatchReturnBuilder {
    /// Records the next item's outcome.
    pub fn add(&mut self, code: ExitCode) {
        if code.is_success() {
            self.ret.success_count += 1;
        } else {
            self.ret.fail_codes.push(FailCode {
                idx: self.next,
                code,
            });
        }
        self.next += 1;
    }

    /// Records a success.
    pub fn add_success(&mut self) {
        self.add(ExitCode::OK);
    }

    /// Records a failure with `code`.
    pub fn add_fail(&mut self, code: ExitCode) {
        self.add(code);
    }

    /// The result.
    pub fn build(self) -> BatchReturn {
        self.ret
    }
}

// ---------------------------------------------------------------------------
// Parameters and return values
// ---------------------------------------------------------------------------

/// AddBalance parameters: the escrow account credited (transparent).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AddBalanceParams {
    /// The client or provider credited with the message value.
    pub provider_or_client: Address,
}

/// WithdrawBalance parameters.
#[derive(Clone, Debug, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct WithdrawBalanceParams {
    /// The escrow account debited.
    pub provider_or_client: Address,
    /// The most to withdraw.
    pub amount: TokenAmount,
}

/// WithdrawBalance return: what was actually withdrawn (transparent).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct WithdrawBalanceReturn {
    /// The amount sent to the recipient.
    pub amount_withdrawn: TokenAmount,
}

/// GetBalance parameters (transparent address).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct GetBalanceParams {
    /// The escrow account.
    pub account: Address,
}

/// GetBalance return.
#[derive(Clone, Debug, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct GetBalanceReturn {
    /// Total escrow, locked part included.
    pub balance: TokenAmount,
    /// The locked part.
    pub locked: TokenAmount,
}

/// PublishStorageDeals parameters.
#[derive(Clone, Debug, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct PublishStorageDealsParams {
    /// The signed proposals, all for one provider.
    pub deals: Vec<ClientDealProposal>,
}

/// PublishStorageDeals return: the new deal IDs, and which of the proposals
/// (by index in the parameters) they belong to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct PublishStorageDealsReturn {
    /// The IDs of the published deals, in proposal order.
    pub ids: Vec<DealID>,
    /// The indices of the proposals that were published.
    pub valid_deals: BitField,
}

/// The deals of one sector.
#[derive(Clone, Debug, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct SectorDeals {
    /// The sector.
    pub sector_number: SectorNumber,
    /// Its seal proof type.
    pub sector_type: RegisteredSealProof,
    /// Its expiration; every deal must end by then.
    pub sector_expiry: ChainEpoch,
    /// The deals in it.
    pub deal_ids: Vec<DealID>,
}

/// VerifyDealsForActivation parameters.
#[derive(Clone, Debug, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct VerifyDealsForActivationParams {
    /// The deals to check, by sector.
    pub sectors: Vec<SectorDeals>,
}

/// VerifyDealsForActivation return.
#[derive(Clone, Debug, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct VerifyDealsForActivationReturn {
    /// Each sector's unsealed CID (CommD) computed from its deals; `None`
    /// for a sector without deals.
    pub unsealed_cids: Vec<Option<Cid>>,
}

/// BatchActivateDeals parameters.
#[derive(Clone, Debug, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct BatchActivateDealsParams {
    /// The deals to activate, by sector; one bad deal fails its sector only.
    pub sectors: Vec<SectorDeals>,
    /// Whether to compute each sector's unsealed CID.
    pub compute_cid: bool,
}

/// A deal that was activated.
#[derive(Clone, Debug, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct ActivatedDeal {
    /// The client's actor ID.
    pub client: ActorID,
    /// Its verified allocation ([`NO_ALLOCATION_ID`] here: no verified deals).
    pub allocation_id: u64,
    /// The piece CID.
    pub data: Cid,
    /// The piece size.
    pub size: PaddedPieceSize,
}

/// The deals activated in one sector.
#[derive(Clone, Debug, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct SectorDealActivation {
    /// Each deal activated.
    pub activated: Vec<ActivatedDeal>,
    /// The sector's unsealed CID, if requested and the sector has deals.
    pub unsealed_cid: Option<Cid>,
}

/// BatchActivateDeals return.
#[derive(Clone, Debug, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct BatchActivateDealsResult {
    /// The outcome per sector.
    pub activation_results: BatchReturn,
    /// The activations of the sectors that succeeded, in order.
    pub activations: Vec<SectorDealActivation>,
}

/// OnMinerSectorsTerminate parameters.
#[derive(Clone, Debug, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct OnMinerSectorsTerminateParams {
    /// The epoch of termination.
    pub epoch: ChainEpoch,
    /// The terminated sectors of the calling miner.
    pub sectors: BitField,
}

/// SectorContentChanged parameters: the pieces a miner added to sectors
/// (transparent list).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SectorContentChangedParams {
    /// One entry per sector.
    pub sectors: Vec<SectorChanges>,
}

/// The pieces added to one sector.
#[derive(Clone, Debug, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct SectorChanges {
    /// The sector.
    pub sector: SectorNumber,
    /// The sector stays committed at least until this epoch (its expiration).
    pub minimum_commitment_epoch: ChainEpoch,
    /// The pieces added.
    pub added: Vec<PieceChange>,
}

/// A piece added to a sector.
#[derive(Clone, Debug, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct PieceChange {
    /// The piece CID.
    pub data: Cid,
    /// The piece size.
    pub size: PaddedPieceSize,
    /// The notification payload; for the market, the CBOR of the deal ID.
    pub payload: RawBytes,
}

/// SectorContentChanged return: per sector, per piece, whether the piece
/// was accepted (transparent list).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SectorContentChangedReturn {
    /// One entry per sector of the parameters.
    pub sectors: Vec<SectorReturn>,
}

/// The answers for one sector's pieces (transparent list).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SectorReturn {
    /// One entry per piece of the parameters.
    pub added: Vec<PieceReturn>,
}

/// The answer for one piece (transparent bool).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PieceReturn {
    /// Whether the consumer accepted the piece.
    pub accepted: bool,
}

/// The account actor's `AuthenticateMessage` parameters.
#[derive(Clone, Debug, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct AuthenticateMessageParams {
    /// The signature bytes (without the type byte).
    #[serde(with = "strict_bytes")]
    pub signature: Vec<u8>,
    /// The signed message.
    #[serde(with = "strict_bytes")]
    pub message: Vec<u8>,
}

/// The `MarketNotifyDeal` hook's parameters (sent to a client actor).
#[derive(Clone, Debug, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct MarketNotifyDealParams {
    /// The CBOR of the proposal.
    #[serde(with = "strict_bytes")]
    pub proposal: Vec<u8>,
    /// The new deal's ID.
    pub deal_id: u64,
}

/// The parameter of every `GetDeal*` getter: a deal ID (transparent).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DealQueryParams {
    /// The deal.
    pub id: DealID,
}

/// GetDealDataCommitment return.
#[derive(Clone, Debug, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct GetDealDataCommitmentReturn {
    /// The piece CID.
    pub data: Cid,
    /// The piece size.
    pub size: PaddedPieceSize,
}

/// GetDealTerm return.
#[derive(Clone, Debug, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct GetDealTermReturn {
    /// The first epoch of the deal.
    pub start: ChainEpoch,
    /// Its duration in epochs.
    pub duration: ChainEpoch,
}

/// GetDealActivation return.
#[derive(Clone, Debug, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct GetDealActivationReturn {
    /// The activation epoch, or -1.
    pub activated: ChainEpoch,
    /// The early-termination epoch, or -1.
    pub terminated: ChainEpoch,
}

/// SettleDealPayments parameters (transparent bitfield of deal IDs).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SettleDealPaymentsParams {
    /// The deals to settle.
    pub deal_ids: BitField,
}

/// The settlement of one deal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct DealSettlementSummary {
    /// What moved from client to provider now.
    pub payment: TokenAmount,
    /// Whether the deal is finished and removed.
    pub completed: bool,
}

/// SettleDealPayments return.
#[derive(Clone, Debug, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct SettleDealPaymentsReturn {
    /// The outcome per deal, in ascending deal-ID order.
    pub results: BatchReturn,
    /// The settlements of the deals that succeeded.
    pub settlements: Vec<DealSettlementSummary>,
}

// ---------------------------------------------------------------------------
// State
// ---------------------------------------------------------------------------

/// The market actor's state (v18, 13 fields in this order).
#[derive(Clone, Debug, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct State {
    /// AMT (bw 5): DealID -> [`DealProposal`], for deals not yet cleaned up.
    pub proposals: Cid,
    /// AMT (bw 6): DealID -> [`DealState`], for activated deals.
    pub states: Cid,
    /// HAMT set (bw 5): proposal CID bytes -> `()`, for published deals not
    /// yet activated or expired; stops a proposal being published twice.
    pub pending_proposals: Cid,
    /// HAMT (bw 6): address bytes -> escrow (locked part included).
    pub escrow_table: Cid,
    /// HAMT (bw 6): address bytes -> locked part of the escrow.
    pub locked_table: Cid,
    /// The next deal ID to allocate.
    pub next_id: DealID,
    /// HAMT (bw 5): zigzag(epoch) -> CID of a HAMT set (bw 5) of uvarint(DealID):
    /// the deals cron must look at in that epoch.
    pub deal_ops_by_epoch: Cid,
    /// The last epoch cron processed (-1 initially).
    pub last_cron: ChainEpoch,
    /// The sum of locked client collateral.
    pub total_client_locked_collateral: TokenAmount,
    /// The sum of locked provider collateral.
    pub total_provider_locked_collateral: TokenAmount,
    /// The sum of locked, not yet paid storage fees.
    pub total_client_storage_fee: TokenAmount,
    /// HAMT (bw 5): uvarint(DealID) -> verified allocation ID (always empty here).
    pub pending_deal_allocation_ids: Cid,
    /// HAMT (bw 5): uvarint(provider ActorID) -> CID of a HAMT (bw 5)
    /// uvarint(SectorNumber) -> [DealID]: the deals in each sector.
    pub provider_sectors: Cid,
}

impl State {
    /// All locked funds: both collaterals and the unpaid fees.
    pub fn total_locked(&self) -> TokenAmount {
        &self.total_client_locked_collateral
            + &self.total_provider_locked_collateral
            + &self.total_client_storage_fee
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_round_trips_untagged() {
        for l in [
            Label::String("hi".into()),
            Label::Bytes(vec![1, 2, 3]),
            Label::default(),
        ] {
            let b = fvm_ipld_encoding::to_vec(&l).expect("encode");
            let back: Label = fvm_ipld_encoding::from_slice(&b).expect("decode");
            assert_eq!(back, l);
        }
        // text string "hi" is 0x62 'h' 'i'; bytes [1,2,3] is 0x43 01 02 03
        assert_eq!(
            fvm_ipld_encoding::to_vec(&Label::String("hi".into())).expect("enc"),
            vec![0x62, b'h', b'i']
        );
        assert_eq!(
            fvm_ipld_encoding::to_vec(&Label::Bytes(vec![1, 2, 3])).expect("enc"),
            vec![0x43, 1, 2, 3]
        );
    }

    #[test]
    fn batch_return_codes() {
        let b = BatchReturn::of(&[ExitCode::OK, ExitCode::USR_FORBIDDEN, ExitCode::OK]);
        assert_eq!(b.success_count, 2);
        assert_eq!(
            b.fail_codes,
            vec![FailCode {
                idx: 1,
                code: ExitCode::USR_FORBIDDEN
            }]
        );
        assert_eq!(
            b.codes(),
            vec![ExitCode::OK, ExitCode::USR_FORBIDDEN, ExitCode::OK]
        );
        assert_eq!(b.successes(&["a", "b", "c"]), vec!["a", "c"]);
    }

    #[test]
    fn update_epochs_follow_the_id_offset() {
        // v18: offset = id % interval; the next epoch >= earliest with that offset.
        assert_eq!(next_update_epoch(0, 100, 0), 0);
        assert_eq!(next_update_epoch(5, 100, 0), 5);
        assert_eq!(next_update_epoch(5, 100, 5), 5);
        assert_eq!(next_update_epoch(5, 100, 6), 105);
        assert_eq!(next_update_epoch(105, 100, 250), 305);
        assert_eq!(next_update_epoch(7, 100, 107), 107);
    }
}

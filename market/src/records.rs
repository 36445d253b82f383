//! The deal records in ferrite-store: one [`DealRecord`] per deal UUID, and
//! an index from proposal CID to UUID that finds duplicates.
//!
//! ```text
//!  check_deal ─► DealRecord::new (Accepted) ─► Deals::insert_new: record + index, one batch
//!  driver: Deals::get ─► record.apply(event) ─► Deals::put (or put_all for a publish batch) ─► act
//! ```
//!
//! A record and its index entry are written in one atomic batch, and the
//! deals of one publish message get their `Publishing` state in one batch
//! too ([`Deals::put_all`]), so a crash leaves all of them with the message
//! CID or none.

use std::collections::BTreeMap;
use std::fmt;

use ferrite_store::{Key, Store, StoreError, Table};
use fil_actor_market_state::v18::ClientDealProposal;
use serde::{Deserialize, Serialize};

use crate::checks::{Ask, CheckedDeal, Known};
use crate::deal::{DealEvent, DealState, DealUuid, ProposalCid, RetryPolicy};
use crate::error::DealTransitionError;

/// Every deal, by UUID.
pub const DEALS: Table<DealUuid, DealRecord> = Table::new("market-deals");

/// Proposal CID → the deal that carries it.
pub const BY_PROPOSAL: Table<ProposalCid, DealUuid> = Table::new("market-deals-by-proposal");

/// The ask set with `ferrite deals ask set`, under the key [`ASK_KEY`]; it
/// takes the place of `[market.ask]` from then on.
pub const ASK: Table<String, Ask> = Table::new("market-ask");

/// The one key of [`ASK`].
const ASK_KEY: &str = "ask";

/// The tables this module needs: open the database with them.
pub const TABLES: &[&str] = &[DEALS.name(), BY_PROPOSAL.name(), ASK.name()];

impl Key for DealUuid {
    fn encode(&self) -> Vec<u8> {
        self.0.to_vec()
    }
    fn decode(bytes: &[u8]) -> Result<Self, StoreError> {
        bytes
            .try_into()
            .map(DealUuid)
            .map_err(|_| StoreError::Decode {
                table: DEALS.name().to_string(),
                reason: format!("deal UUID key of {} bytes, expected 16", bytes.len()),
            })
    }
}

impl Key for ProposalCid {
    fn encode(&self) -> Vec<u8> {
        self.0.to_bytes()
    }
    fn decode(bytes: &[u8]) -> Result<Self, StoreError> {
        cid::Cid::try_from(bytes)
            .map(ProposalCid)
            .map_err(|e| StoreError::Decode {
                table: BY_PROPOSAL.name().to_string(),
                reason: e.to_string(),
            })
    }
}

/// How the data of an online deal is fetched, as the client gave it.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transfer {
    /// The transfer type (`"http"`); empty for offline deals.
    pub kind: String,
    /// The client's id for the transfer.
    pub client_id: String,
    /// The URL to pull.
    pub url: String,
    /// Headers to send with the request (often the client's credentials).
    pub headers: BTreeMap<String, String>,
    /// The declared size in bytes.
    pub size: u64,
}

impl fmt::Debug for Transfer {
    /// Header values stay out of logs: they are often credentials.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transfer")
            .field("kind", &self.kind)
            .field("client_id", &self.client_id)
            .field("url", &self.url)
            .field("headers", &self.headers.keys().collect::<Vec<_>>())
            .field("size", &self.size)
            .finish()
    }
}

/// One line of a deal's log (`ferrite deals status UUID --log`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogEntry {
    /// When the transition happened, in Unix seconds (the driver's clock).
    pub at_secs: u64,
    /// The event that caused it.
    pub event: String,
    /// The state it led to.
    pub state: String,
}

/// A deal as stored: the proposal, the transfer, where it stands, and
/// every transition it went through.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DealRecord {
    /// The client's UUID.
    pub uuid: DealUuid,
    /// The signed proposal, stored as its DAG-CBOR bytes (its chain
    /// encoding, which the publish message carries unchanged).
    #[serde(with = "dag_cbor")]
    pub proposal: ClientDealProposal,
    /// The proposal's CID.
    pub proposal_cid: ProposalCid,
    /// Whether the data comes by import.
    pub is_offline: bool,
    /// The transfer, as given (empty for offline deals).
    pub transfer: Transfer,
    /// Where it stands.
    pub state: DealState,
    /// Its transitions, oldest first; the first is its acceptance.
    /// Transfer progress is not logged, only the state's count changes.
    pub history: Vec<LogEntry>,
}

impl DealRecord {
    /// A deal accepted at `now_secs`, after [`check_deal`](crate::checks::check_deal)
    /// (and the filter) passed it.
    pub fn new(
        uuid: DealUuid,
        proposal: ClientDealProposal,
        checked: &CheckedDeal,
        is_offline: bool,
        transfer: Transfer,
        now_secs: u64,
    ) -> Self {
        let state = DealState::new(checked.piece, is_offline);
        let history = vec![LogEntry {
            at_secs: now_secs,
            event: "Accepted".to_string(),
            state: state.name().to_string(),
        }];
        Self {
            uuid,
            proposal,
            proposal_cid: checked.proposal_cid,
            is_offline,
            transfer,
            state,
            history,
        }
    }

    /// The record after `event` at `now_secs`, or why the event does not
    /// fit (and then `self` is unchanged). Persist the result before acting
    /// on it.
    pub fn apply(
        &self,
        event: DealEvent,
        policy: &RetryPolicy,
        now_secs: u64,
    ) -> Result<DealRecord, DealTransitionError> {
        let logged = !matches!(event, DealEvent::TransferProgress { .. });
        let event_name = event.name();
        let state = self.state.apply(event, policy)?;
        let mut history = self.history.clone();
        if logged {
            history.push(LogEntry {
                at_secs: now_secs,
                event: event_name.to_string(),
                state: state.name().to_string(),
            });
        }
        Ok(DealRecord {
            state,
            history,
            ..self.clone()
        })
    }

    /// When the deal entered its current state, in Unix seconds: the start
    /// of a retry's backoff.
    pub fn since_secs(&self) -> Option<u64> {
        self.history.last().map(|e| e.at_secs)
    }
}

/// Typed access to the deal records. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Deals {
    store: Store,
}

impl Deals {
    /// The records in `store` (opened with [`TABLES`]).
    pub fn new(store: Store) -> Self {
        Self { store }
    }

    /// The ask set by the operator, if one was.
    pub fn ask(&self) -> Result<Option<Ask>, StoreError> {
        self.store.get(&ASK, &ASK_KEY.to_string())
    }

    /// Stores the operator's ask; it outlives restarts.
    pub fn set_ask(&self, ask: &Ask) -> Result<(), StoreError> {
        self.store.put(&ASK, &ASK_KEY.to_string(), ask)
    }

    /// The deal `uuid`.
    pub fn get(&self, uuid: &DealUuid) -> Result<Option<DealRecord>, StoreError> {
        self.store.get(&DEALS, uuid)
    }

    /// The deal that carries the proposal `cid`.
    pub fn by_proposal(&self, cid: &ProposalCid) -> Result<Option<DealUuid>, StoreError> {
        self.store.get(&BY_PROPOSAL, cid)
    }

    /// What the store holds for a new deal's UUID and proposal: the
    /// duplicate check's input ([`crate::checks::CheckContext::known`]).
    pub fn known(&self, uuid: &DealUuid, cid: &ProposalCid) -> Result<Known, StoreError> {
        Ok(Known {
            uuid_taken: self.get(uuid)?.is_some(),
            proposal_of: self.by_proposal(cid)?,
        })
    }

    /// Writes a new deal and its index entry in one batch. `false` (and no
    /// write) if its UUID or proposal is already taken. Callers serialize
    /// acceptance, so that no other insert runs between the look-up and the
    /// write.
    pub fn insert_new(&self, record: &DealRecord) -> Result<bool, StoreError> {
        let known = self.known(&record.uuid, &record.proposal_cid)?;
        if known.uuid_taken || known.proposal_of.is_some() {
            return Ok(false);
        }
        let mut batch = self.store.batch();
        batch.put(&DEALS, &record.uuid, record)?;
        batch.put(&BY_PROPOSAL, &record.proposal_cid, &record.uuid)?;
        self.store.commit(batch)?;
        Ok(true)
    }

    /// Writes `record` (a transition of one deal).
    pub fn put(&self, record: &DealRecord) -> Result<(), StoreError> {
        self.store.put(&DEALS, &record.uuid, record)
    }

    /// Writes `records` in one atomic batch: the deals of one publish
    /// message enter Publishing together.
    pub fn put_all(&self, records: &[DealRecord]) -> Result<(), StoreError> {
        let mut batch = self.store.batch();
        for r in records {
            batch.put(&DEALS, &r.uuid, r)?;
        }
        self.store.commit(batch)
    }

    /// Every deal, by UUID. A scan: call it off the async runtime.
    pub fn all(&self) -> Result<Vec<DealRecord>, StoreError> {
        Ok(self
            .store
            .scan(&DEALS, &[])?
            .into_iter()
            .map(|(_, r)| r)
            .collect())
    }

    /// The deals still in progress (not expired, slashed or failed): what
    /// the driver steps after a restart. A scan, like [`Deals::all`].
    pub fn live(&self) -> Result<Vec<DealRecord>, StoreError> {
        let mut all = self.all()?;
        all.retain(|r| !r.state.is_terminal());
        Ok(all)
    }
}

/// The proposal as a CBOR byte string holding its DAG-CBOR encoding.
mod dag_cbor {
    use fil_actor_market_state::v18::ClientDealProposal;
    use fvm_ipld_encoding::{BytesDe, BytesSer};
    use serde::{Deserialize, Deserializer, Serialize, Serializer, de, ser};

    pub fn serialize<S: Serializer>(p: &ClientDealProposal, s: S) -> Result<S::Ok, S::Error> {
        let bytes = fvm_ipld_encoding::to_vec(p).map_err(ser::Error::custom)?;
        BytesSer(&bytes).serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<ClientDealProposal, D::Error> {
        let bytes = BytesDe::deserialize(d)?;
        fvm_ipld_encoding::from_slice(&bytes.0).map_err(de::Error::custom)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use std::path::PathBuf;

    use ferrite_store::MemDb;
    use ferrite_types::{CommP, PaddedPieceSize, PieceInfo};
    use fil_actor_market_state::v18::{DealProposal, Label};
    use fvm_shared::address::Address;
    use fvm_shared::crypto::signature::Signature;
    use fvm_shared::econ::TokenAmount;
    use fvm_shared::piece::PaddedPieceSize as ChainPieceSize;

    use super::*;
    use crate::deal::StagedPiece;

    const COMMP: &str = "baga6ea4seaqpy7usqklokfx2vxuynmupslkeutzexe2uqurdg5vhtebhxqmpqmy";

    fn record(n: u8, at: u64) -> DealRecord {
        let proposal = ClientDealProposal {
            proposal: DealProposal {
                piece_cid: COMMP.parse().unwrap(),
                piece_size: ChainPieceSize(2048),
                verified_deal: false,
                client: Address::new_id(1001),
                provider: Address::new_id(1000),
                label: Label::Bytes(vec![n, 0xff]),
                start_epoch: 10,
                end_epoch: 20,
                storage_price_per_epoch: TokenAmount::from_atto(123_456_789_000_000_000_000u128),
                provider_collateral: TokenAmount::from_atto(0),
                client_collateral: TokenAmount::from_atto(5),
            },
            client_signature: Signature::new_secp256k1(vec![n; 65]),
        };
        let checked = CheckedDeal {
            piece: PieceInfo {
                comm_p: COMMP.parse::<CommP>().unwrap(),
                size: PaddedPieceSize::new(2048).unwrap(),
            },
            proposal_cid: ProposalCid::of(&proposal.proposal).unwrap(),
        };
        let transfer = Transfer {
            kind: "http".to_string(),
            client_id: "c".to_string(),
            url: format!("https://example.com/{n}.car"),
            headers: BTreeMap::from([("Authorization".to_string(), "secret".to_string())]),
            size: 2000,
        };
        DealRecord::new(DealUuid([n; 16]), proposal, &checked, false, transfer, at)
    }

    fn deals() -> Deals {
        Deals::new(Store::new(MemDb::new(TABLES)).unwrap())
    }

    #[test]
    fn records_round_trip_with_their_index() {
        let d = deals();
        let a = record(1, 10);
        assert!(d.insert_new(&a).unwrap());
        assert_eq!(d.get(&a.uuid).unwrap(), Some(a.clone()));
        assert_eq!(d.by_proposal(&a.proposal_cid).unwrap(), Some(a.uuid));
        assert_eq!(
            d.known(&a.uuid, &a.proposal_cid).unwrap(),
            Known {
                uuid_taken: true,
                proposal_of: Some(a.uuid)
            }
        );
        assert_eq!(d.get(&DealUuid([9; 16])).unwrap(), None);
    }

    #[test]
    fn duplicates_are_not_inserted() {
        let d = deals();
        let a = record(1, 10);
        assert!(d.insert_new(&a).unwrap());
        // The same UUID with another proposal.
        let mut same_uuid = record(2, 11);
        same_uuid.uuid = a.uuid;
        assert!(!d.insert_new(&same_uuid).unwrap());
        // Another UUID with the same proposal.
        let mut same_proposal = a.clone();
        same_proposal.uuid = DealUuid([3; 16]);
        assert!(!d.insert_new(&same_proposal).unwrap());
        assert_eq!(d.all().unwrap(), vec![a]);
    }

    #[test]
    fn transitions_are_logged_and_batches_are_written_together() {
        let d = deals();
        let policy = RetryPolicy::default();
        let a = record(1, 10);
        let b = record(2, 10);
        d.insert_new(&a).unwrap();
        d.insert_new(&b).unwrap();
        let a = a.apply(DealEvent::TransferStarted, &policy, 20).unwrap();
        let a = a
            .apply(DealEvent::TransferProgress { received: 5 }, &policy, 21)
            .unwrap();
        let before = a.clone();
        assert!(a.apply(DealEvent::PieceAdded, &policy, 22).is_err());
        assert_eq!(a, before);
        let a = a
            .apply(
                DealEvent::TransferDone(StagedPiece {
                    comm_p: COMMP.parse().unwrap(),
                    bytes: 2000,
                    path: PathBuf::from("/staging/a"),
                }),
                &policy,
                30,
            )
            .unwrap();
        let log: Vec<(u64, &str, &str)> = a
            .history
            .iter()
            .map(|e| (e.at_secs, e.event.as_str(), e.state.as_str()))
            .collect();
        assert_eq!(
            log,
            [
                (10, "Accepted", "Accepted"),
                (20, "TransferStarted", "Transferring"),
                (30, "TransferDone", "Staged"),
            ]
        );
        assert_eq!(a.since_secs(), Some(30));
        let b = b
            .apply(DealEvent::Abort { reason: "x".into() }, &policy, 40)
            .unwrap();
        d.put_all(&[a.clone(), b.clone()]).unwrap();
        assert_eq!(d.get(&a.uuid).unwrap(), Some(a.clone()));
        assert_eq!(d.all().unwrap(), vec![a.clone(), b]);
        assert_eq!(d.live().unwrap(), vec![a]);
    }

    #[test]
    fn a_bytes_label_and_a_big_price_survive_the_store() {
        let d = deals();
        let a = record(7, 1);
        d.insert_new(&a).unwrap();
        let back = d.get(&a.uuid).unwrap().unwrap();
        assert_eq!(back.proposal, a.proposal);
        assert_eq!(
            ProposalCid::of(&back.proposal.proposal).unwrap(),
            a.proposal_cid
        );
        // Header values are stored but not shown.
        assert_eq!(back.transfer.headers["Authorization"], "secret");
        assert!(!format!("{:?}", back.transfer).contains("secret"));
    }

    #[test]
    fn keys_round_trip() {
        let u = DealUuid([0xa5; 16]);
        assert_eq!(DealUuid::decode(&u.encode()).unwrap(), u);
        assert!(DealUuid::decode(&[0; 15]).is_err());
        let c = ProposalCid::of(&record(1, 0).proposal.proposal).unwrap();
        assert_eq!(ProposalCid::decode(&c.encode()).unwrap(), c);
        assert!(ProposalCid::decode(&[1, 2]).is_err());
    }
}

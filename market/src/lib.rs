//! ferrite-market (not built yet): storage deals.
//!
//! It will own the deal API (Boost's `DealParams` over HTTP/JSON) and deal
//! state machine, data transfer and offline import, CommP while streaming,
//! PublishStorageDeals, packing pieces into sectors, and the piece index.

//! Randomness: the devnet's beacon and tickets, and Filecoin's draw.
//!
//! **The devnet beacon is not drand.** Its entry for round `r` is
//! blake2b-256("ferrite devnet beacon" ‖ r), deterministic and public, and
//! each block's ticket is blake2b-256("ferrite devnet ticket" ‖ parent ticket
//! ‖ epoch) rather than a VRF over the miner's key. Both are fine for a
//! private test network and worthless for anything else.
//!
//! Drawing from them follows Lotus exactly: `blake2b-256(tag as i64 BE ‖
//! blake2b-256(base) ‖ round as i64 BE ‖ entropy)`.

use fvm_shared::clock::ChainEpoch;

/// Filecoin's domain separation tags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(i64)]
pub enum DomainSeparationTag {
    /// Ticket production.
    TicketProduction = 1,
    /// Election proofs.
    ElectionProofProduction = 2,
    /// Winning PoSt challenges.
    WinningPoStChallengeSeed = 3,
    /// Window PoSt challenges.
    WindowedPoStChallengeSeed = 4,
    /// The sealing ticket.
    SealRandomness = 5,
    /// The interactive seal seed.
    InteractiveSealChallengeSeed = 6,
    /// Window PoSt deadline assignment.
    WindowPoStDeadlineAssignment = 7,
    /// Market deal cron.
    MarketDealCronSeed = 8,
    /// Window PoSt chain commit.
    PoStChainCommit = 9,
    /// EVM PREVRANDAO.
    EvmPrevRandao = 10,
}

fn blake2b(parts: &[&[u8]]) -> [u8; 32] {
    let mut state = blake2b_simd::Params::new().hash_length(32).to_state();
    for p in parts {
        state.update(p);
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(state.finalize().as_bytes());
    out
}

/// The digest Lotus draws from: blake2b-256 of a ticket's or beacon entry's bytes.
pub fn digest(base: &[u8]) -> [u8; 32] {
    blake2b(&[base])
}

/// Draws randomness from a base's digest, as Lotus's `DrawRandomnessFromDigest`.
/// `tag` is a [`DomainSeparationTag`] as its number (callers over the API
/// pass numbers).
pub fn draw_from_digest(
    digest: &[u8; 32],
    tag: i64,
    round: ChainEpoch,
    entropy: &[u8],
) -> [u8; 32] {
    blake2b(&[&tag.to_be_bytes(), digest, &round.to_be_bytes(), entropy])
}

/// The devnet beacon's entry for `round` (see the module docs).
pub fn beacon_entry(round: ChainEpoch) -> [u8; 32] {
    blake2b(&[b"ferrite devnet beacon", &round.to_be_bytes()])
}

/// The devnet ticket of the block at `epoch` over `parent_ticket`.
pub fn ticket(parent_ticket: &[u8], epoch: ChainEpoch) -> [u8; 32] {
    blake2b(&[
        b"ferrite devnet ticket",
        parent_ticket,
        &epoch.to_be_bytes(),
    ])
}

#[cfg(test)]
mod tests {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD as B64;

    use super::*;

    #[test]
    fn draw_matches_the_builtin_actors_vector() {
        let digest: [u8; 32] = B64
            .decode("GOobxkrhS1hiFA1EYUKZM3xsyVfy5Xy3bQ0gLPnecYs=")
            .unwrap()
            .try_into()
            .unwrap();
        let entropy = B64.decode("RACZyzQ=").unwrap();
        let out = draw_from_digest(
            &digest,
            DomainSeparationTag::SealRandomness as i64,
            2797727,
            &entropy,
        );
        assert_eq!(
            B64.encode(out),
            "3MCqcLHKZ+pil4MqTS9wjsd+yPvTuTrq8PkGjEo3tYQ="
        );
    }

    #[test]
    fn beacon_and_tickets_are_deterministic_and_distinct() {
        assert_eq!(beacon_entry(5), beacon_entry(5));
        assert_ne!(beacon_entry(5), beacon_entry(6));
        assert_ne!(ticket(&[1], 5), ticket(&[2], 5));
    }
}

//! Lotus's `StateDealProviderCollateralBounds`: the least and the most
//! provider collateral a storage deal of a given padded size may carry.
//!
//! The least is v18's `deal_provider_collateral_bounds`: 1% of the circulating
//! supply, scaled by the deal's share of `max(network raw power, baseline
//! power, deal size)`. Its inputs are the ones the market actor reads when it
//! checks a `PublishStorageDeals`: the power actor's this-epoch raw power, the
//! reward actor's this-epoch baseline power and the VM's circulating supply
//! (fixed on the devnet, [`crate::vm::VmSettings::circulating_supply`]). Lotus
//! then reports 110% of it, so that a deal built from the answer survives the
//! network changing a little before it lands; the most is the assumed total of
//! FIL, 2e9 FIL.
//!
//! Lotus passes `TotalRawBytePower` (the power actor's running total) where
//! the actor uses `ThisEpochRawBytePower`; the devnet answers with the
//! actor's figure, so the minimum is the one its market enforces.
//!
//! Whether the deal is verified does not change the bounds (v18 ignores it).

use fil_actor_market_state::v18::policy::deal_provider_collateral_bounds;
use fil_actor_power_state::v18 as power;
use fil_actor_reward_state::v18 as reward;
use fil_actors_shared::v18::runtime::Policy;
use fvm_shared::econ::TokenAmount;
use fvm_shared::piece::PaddedPieceSize;
use fvm_shared::sector::StoragePower;
use serde::Serialize;

/// Lotus over-estimates the minimum it reports by 10% (its
/// `dealProviderCollateralNum/Den`, 110/100).
const MIN_ESTIMATE_NUM: u64 = 110;
const MIN_ESTIMATE_DEN: u64 = 100;

/// Lotus's `api.DealCollateralBounds`: attoFIL as decimal strings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DealCollateralBoundsJson {
    /// 110% of the least provider collateral the market actor takes.
    pub min: String,
    /// The most it takes: the total FIL supply.
    pub max: String,
}

/// The network figures the market actor's minimum depends on.
#[derive(Debug, Clone)]
pub struct CollateralInputs {
    /// The power actor's `ThisEpochRawBytePower`.
    pub raw_power: StoragePower,
    /// The reward actor's `ThisEpochBaselinePower`.
    pub baseline_power: StoragePower,
    /// The circulating supply the VM gives the actors.
    pub circulating_supply: TokenAmount,
}

impl CollateralInputs {
    /// The figures of one state: its power and reward actors' states and the
    /// VM's circulating supply.
    pub fn from_state(
        power: &power::State,
        reward: &reward::State,
        circulating_supply: &TokenAmount,
    ) -> Self {
        Self {
            raw_power: power.this_epoch_raw_byte_power.clone(),
            baseline_power: reward.this_epoch_baseline_power.clone(),
            circulating_supply: circulating_supply.clone(),
        }
    }
}

/// The bounds Lotus reports for a deal of `size` under `policy`.
pub fn provider_collateral_bounds(
    policy: &Policy,
    size: PaddedPieceSize,
    net: &CollateralInputs,
) -> DealCollateralBoundsJson {
    let (min, max) = deal_provider_collateral_bounds(
        policy,
        size,
        &net.raw_power,
        &net.baseline_power,
        &net.circulating_supply,
    );
    let estimate = (min * MIN_ESTIMATE_NUM).div_floor(MIN_ESTIMATE_DEN);
    DealCollateralBoundsJson {
        min: estimate.atto().to_string(),
        max: max.atto().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rpc::state::devnet_policy;
    use fvm_shared::bigint::BigInt;

    fn inputs(raw: u64, baseline: u64, supply_whole: i64) -> CollateralInputs {
        CollateralInputs {
            raw_power: BigInt::from(raw),
            baseline_power: BigInt::from(baseline),
            circulating_supply: TokenAmount::from_whole(supply_whole),
        }
    }

    #[test]
    fn min_is_110_percent_of_one_percent_of_the_deals_share_of_supply() {
        // A 2 KiB deal in a network whose largest power figure is 1 MiB:
        // 1% of 1e6 FIL × 2048/2^20 = 19.53125 FIL; × 1.1 = 21.484375 FIL.
        let b = provider_collateral_bounds(
            &devnet_policy(),
            PaddedPieceSize(2048),
            &inputs(1 << 20, 1 << 10, 1_000_000),
        );
        assert_eq!(
            serde_json::to_value(&b).unwrap(),
            serde_json::json!({
                "Min": "21484375000000000000",
                "Max": "2000000000000000000000000000",
            })
        );
        // The baseline counts when it is the larger, and a deal bigger than
        // both is its own denominator (1% of the supply).
        let by_baseline = provider_collateral_bounds(
            &devnet_policy(),
            PaddedPieceSize(2048),
            &inputs(1 << 10, 1 << 20, 1_000_000),
        );
        assert_eq!(by_baseline.min, b.min);
        let whole = provider_collateral_bounds(
            &devnet_policy(),
            PaddedPieceSize(1 << 30),
            &inputs(1 << 10, 1 << 20, 1_000_000),
        );
        assert_eq!(whole.min, "11000000000000000000000");
    }

    #[test]
    fn min_is_floored_after_the_markup() {
        // 2048 × 7 atto / (2048 × 100) floors to 0; a 1-atto minimum marks up to 1.
        let zero = CollateralInputs {
            raw_power: BigInt::from(2048),
            baseline_power: BigInt::from(0),
            circulating_supply: TokenAmount::from_atto(7),
        };
        let b = provider_collateral_bounds(&devnet_policy(), PaddedPieceSize(2048), &zero);
        assert_eq!(b.min, "0");
        let one = CollateralInputs {
            circulating_supply: TokenAmount::from_atto(100),
            ..zero
        };
        let b = provider_collateral_bounds(&devnet_policy(), PaddedPieceSize(2048), &one);
        assert_eq!(b.min, "1");
    }

    #[test]
    fn min_before_the_markup_is_what_the_devnet_market_actor_enforces() {
        for (size, raw, baseline, supply) in [
            (2048, 0, 0, 1),
            (2048, 0, 1 << 40, 1_000_000),
            (8 << 20, 3 << 30, 1 << 30, 123_456_789),
            (1 << 35, 1 << 20, 1 << 25, 2_000_000_000),
        ] {
            let net = inputs(raw, baseline, supply);
            let size = PaddedPieceSize(size);
            let actor = ferrite_actor_types::market::provider_collateral_min(
                size,
                &net.raw_power,
                &net.baseline_power,
                &net.circulating_supply,
            );
            let (v18, max) = deal_provider_collateral_bounds(
                &devnet_policy(),
                size,
                &net.raw_power,
                &net.baseline_power,
                &net.circulating_supply,
            );
            assert_eq!(v18, actor, "{size:?} {raw} {baseline} {supply}");
            assert_eq!(max, ferrite_actor_types::market::total_filecoin());
            let b = provider_collateral_bounds(&devnet_policy(), size, &net);
            assert_eq!(b.min, (actor * 110).div_floor(100).atto().to_string());
        }
    }
}

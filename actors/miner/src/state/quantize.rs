//! Quantization of epochs: expiration and vesting queues group their
//! entries at epochs `offset + k * unit`, so that one AMT entry collects all
//! the sectors (or funds) due in a span.

use fvm_shared::clock::ChainEpoch;

/// No quantization: every epoch is its own bucket.
pub const NO_QUANTIZATION: QuantSpec = QuantSpec { unit: 1, offset: 0 };

/// A quantization grid `offset + k * unit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuantSpec {
    /// The grid spacing (positive).
    pub unit: ChainEpoch,
    /// Any epoch on the grid.
    pub offset: ChainEpoch,
}

impl QuantSpec {
    /// The first grid epoch at or after `epoch`.
    pub fn quantize_up(&self, epoch: ChainEpoch) -> ChainEpoch {
        let unit = self.unit.max(1);
        let offset = self.offset % unit;
        let rel = epoch - offset;
        let quotient = rel / unit;
        // Rust's `/` truncates towards zero, so for a negative `rel` the
        // truncated quotient already rounds up.
        if rel % unit == 0 || rel < 0 {
            unit * quotient + offset
        } else {
            unit * (quotient + 1) + offset
        }
    }

    /// The last grid epoch at or before `epoch`.
    pub fn quantize_down(&self, epoch: ChainEpoch) -> ChainEpoch {
        let next = self.quantize_up(epoch);
        if next == epoch {
            next
        } else {
            next - self.unit.max(1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantizes_to_grid() {
        let q = QuantSpec {
            unit: 10,
            offset: 3,
        };
        assert_eq!(q.quantize_up(3), 3);
        assert_eq!(q.quantize_up(4), 13);
        assert_eq!(q.quantize_down(12), 3);
        assert_eq!(q.quantize_down(13), 13);
        assert_eq!(NO_QUANTIZATION.quantize_up(7), 7);
    }
}

//! No panic in filecoin-proofs crosses this crate's boundary.
//!
//! The library asserts on inputs it does not expect: a corrupted replica or
//! tree makes a WinningPoSt or Window PoSt panic inside `storage-proofs-core`
//! (`assertion failed: proof.validate…`), and a garbled cache can do the same
//! to a seal phase. Unchecked, such a panic unwinds into a block producer, a
//! task or a worker, and the same call panics again at every retry. Every
//! call into the library therefore runs under [`guarded`], which turns a
//! panic into [`ProofsError::Panicked`] naming the phase and the sectors.

use std::panic::{AssertUnwindSafe, catch_unwind};

use crate::ProofsError;

/// Runs `f`, the library call of `phase` over `sectors`; a panic becomes
/// [`ProofsError::Panicked`] with the panic's message.
pub(crate) fn guarded<T>(
    phase: &str,
    sectors: impl FnOnce() -> Vec<u64>,
    f: impl FnOnce() -> T,
) -> Result<T, ProofsError> {
    // The library's state is its inputs and the files it reads: nothing a
    // caller observes afterwards is left half-updated by the unwind, so
    // asserting unwind safety is sound here.
    catch_unwind(AssertUnwindSafe(f)).map_err(|payload| ProofsError::Panicked {
        phase: phase.to_string(),
        sectors: sectors(),
        message: panic_message(payload.as_ref()),
    })
}

/// The text of a panic payload (`panic!` with a literal or a format).
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic without a message".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_an_error_naming_the_phase_and_sectors() {
        let err = guarded(
            "winning post",
            || vec![3, 9],
            || -> u32 { panic!("assertion failed: proof.validate(challenge)") },
        )
        .unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, ProofsError::Panicked { .. }), "{text}");
        assert!(text.contains("winning post"), "{text}");
        assert!(text.contains("[3, 9]"), "{text}");
        assert!(text.contains("proof.validate"), "{text}");
    }

    #[test]
    fn a_value_passes_through() {
        assert_eq!(guarded("pc1", Vec::new, || 7).unwrap(), 7);
    }
}

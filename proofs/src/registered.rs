//! Ferrite's proof kinds as filecoin-proofs-api's registered proofs.

use ferrite_types::{PostKind, PostProof, SealProof, SectorSize};
use filecoin_proofs_api::{
    RegisteredPoStProof as Post, RegisteredSealProof as Seal, RegisteredUpdateProof as Update,
};

pub(crate) fn seal(p: SealProof) -> Seal {
    match p.sector_size() {
        SectorSize::S2KiB => Seal::StackedDrg2KiBV1_1,
        SectorSize::S8MiB => Seal::StackedDrg8MiBV1_1,
        SectorSize::S512MiB => Seal::StackedDrg512MiBV1_1,
        SectorSize::S32GiB => Seal::StackedDrg32GiBV1_1,
        SectorSize::S64GiB => Seal::StackedDrg64GiBV1_1,
    }
}

/// The SnapDeals (empty sector update) proof of a seal proof's sectors.
pub(crate) fn update(p: SealProof) -> Update {
    match p.sector_size() {
        SectorSize::S2KiB => Update::StackedDrg2KiBV1,
        SectorSize::S8MiB => Update::StackedDrg8MiBV1,
        SectorSize::S512MiB => Update::StackedDrg512MiBV1,
        SectorSize::S32GiB => Update::StackedDrg32GiBV1,
        SectorSize::S64GiB => Update::StackedDrg64GiBV1,
    }
}

pub(crate) fn post(p: PostProof) -> Post {
    match (p.kind, p.size) {
        (PostKind::Winning, SectorSize::S2KiB) => Post::StackedDrgWinning2KiBV1,
        (PostKind::Winning, SectorSize::S8MiB) => Post::StackedDrgWinning8MiBV1,
        (PostKind::Winning, SectorSize::S512MiB) => Post::StackedDrgWinning512MiBV1,
        (PostKind::Winning, SectorSize::S32GiB) => Post::StackedDrgWinning32GiBV1,
        (PostKind::Winning, SectorSize::S64GiB) => Post::StackedDrgWinning64GiBV1,
        (PostKind::Window, SectorSize::S2KiB) => Post::StackedDrgWindow2KiBV1_2,
        (PostKind::Window, SectorSize::S8MiB) => Post::StackedDrgWindow8MiBV1_2,
        (PostKind::Window, SectorSize::S512MiB) => Post::StackedDrgWindow512MiBV1_2,
        (PostKind::Window, SectorSize::S32GiB) => Post::StackedDrgWindow32GiBV1_2,
        (PostKind::Window, SectorSize::S64GiB) => Post::StackedDrgWindow64GiBV1_2,
    }
}

/// The Ferrite kind of a PoSt proof the library produced.
pub(crate) fn post_back(p: Post) -> Option<PostProof> {
    let size = SectorSize::from_bytes(u64::from(p.sector_size())).ok()?;
    let kind = match p {
        Post::StackedDrgWinning2KiBV1
        | Post::StackedDrgWinning8MiBV1
        | Post::StackedDrgWinning512MiBV1
        | Post::StackedDrgWinning32GiBV1
        | Post::StackedDrgWinning64GiBV1 => PostKind::Winning,
        Post::StackedDrgWindow2KiBV1_2
        | Post::StackedDrgWindow8MiBV1_2
        | Post::StackedDrgWindow512MiBV1_2
        | Post::StackedDrgWindow32GiBV1_2
        | Post::StackedDrgWindow64GiBV1_2 => PostKind::Window,
        _ => return None,
    };
    Some(PostProof { kind, size })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mapping_agrees_with_the_library() {
        for size in SectorSize::ALL {
            let s = SealProof::new(size);
            assert_eq!(u64::from(seal(s).sector_size()), size.bytes());
            assert_eq!(u64::from(update(s).sector_size()), size.bytes());
            // The chain code (fvm_shared) and the library agree on the porep id.
            let fvm: fvm_shared::sector::RegisteredSealProof = s.into();
            assert_eq!(i64::from(fvm), porep_code(seal(s)));
            for p in [s.winning_post(), s.window_post()] {
                assert_eq!(post_back(post(p)), Some(p));
                assert_eq!(u64::from(post(p).sector_size()), size.bytes());
            }
        }
        assert_eq!(
            post(SealProof::new(SectorSize::S2KiB).window_post()),
            Post::StackedDrgWindow2KiBV1_2
        );
    }

    fn porep_code(p: Seal) -> i64 {
        // porep_id's first 8 bytes are the registered proof's chain code, little-endian.
        let id = p.as_v1_config().porep_id;
        let mut b = [0u8; 8];
        b.copy_from_slice(&id[..8]);
        i64::from_le_bytes(b)
    }
}

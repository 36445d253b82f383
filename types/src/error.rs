/// What was wrong with a value that could not become a domain type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TypesError {
    /// A padded piece size must be a power of two of at least 128 bytes.
    #[error("invalid padded piece size {0}: must be a power of two of at least 128 bytes")]
    PaddedSize(u64),
    /// An unpadded piece size must be 127/128 of a valid padded size.
    #[error(
        "invalid unpadded piece size {0}: must be 127/128 of a power of two of at least 128 bytes (e.g. 127, 254, 2032)"
    )]
    UnpaddedSize(u64),
    /// A payload too large for any piece.
    #[error("payload of {0} bytes is too large for a piece")]
    PayloadTooLarge(u64),
    /// A sector size that Filecoin does not define.
    #[error("unsupported sector size {0:?}: use one of 2KiB, 8MiB, 512MiB, 32GiB, 64GiB")]
    SectorSize(String),
    /// A text that is not a CID at all.
    #[error("malformed CID {input:?}: {reason}")]
    MalformedCid {
        /// The text as given.
        input: String,
        /// Why the CID parser rejected it.
        reason: String,
    },
    /// A valid CID of the wrong kind for a commitment.
    #[error("CID {cid} is not a {expected}: {reason}")]
    WrongCid {
        /// The CID, printed.
        cid: String,
        /// What kind of commitment was expected.
        expected: &'static str,
        /// Why it does not qualify (codec, multihash, length).
        reason: String,
    },
    /// A proof type that Ferrite does not support.
    #[error("unsupported proof type {0}")]
    ProofType(String),
}

//! Advertisement signatures: a libp2p signed envelope over a hash of the ad.
//!
//! go-libipni `ingest/schema/envelope.go`:
//!
//! ```text
//! payload  = PreviousID bytes (nothing when absent: cid.Undef.Bytes())
//!          ‖ Entries CID bytes ‖ Provider ‖ each Address ‖ Metadata
//!          ‖ 0x01 if IsRm else 0x00          (ContextID is not covered)
//! advID    = sha2-256 multihash of payload   (34 bytes: 0x12 0x20 digest)
//! envelope = record.Seal(advID, key), domain "indexer",
//!            payload type "/indexer/ingest/adSignature"
//! ```
//!
//! The envelope is libp2p RFC 0002: the key signs
//! `uvarint(len) domain ‖ uvarint(len) type ‖ uvarint(len) payload`, and the
//! protobuf `Envelope{public_key=1, payload_type=2, payload=3, signature=5}`
//! is the `Signature` field. rust-libp2p's [`SignedEnvelope`] writes exactly
//! that, so it is used as is.

use libp2p::PeerId;
use libp2p::core::SignedEnvelope;
use libp2p::identity::Keypair;

use super::{Advertisement, IpniError, sha256_multihash};

/// Domain separation string of ad signatures (`adSignatureDomain`).
pub const AD_SIGNATURE_DOMAIN: &str = "indexer";
/// Payload type of ad signatures (`adSignatureCodec`).
pub const AD_SIGNATURE_CODEC: &[u8] = b"/indexer/ingest/adSignature";

/// The 34-byte sha2-256 multihash the envelope carries.
pub(crate) fn signature_payload(ad: &Advertisement) -> Vec<u8> {
    let mut buf = Vec::with_capacity(256);
    if let Some(prev) = &ad.previous {
        buf.extend(prev.to_bytes());
    }
    buf.extend(ad.entries.to_bytes());
    buf.extend_from_slice(ad.provider.as_bytes());
    for a in &ad.addresses {
        buf.extend_from_slice(a.as_bytes());
    }
    buf.extend_from_slice(&ad.metadata);
    buf.push(u8::from(ad.is_rm));
    sha256_multihash(&buf).to_bytes()
}

/// Signs `ad` with `key`, setting `ad.signature`.
pub fn sign_ad(ad: &mut Advertisement, key: &Keypair) -> Result<(), IpniError> {
    let envelope = SignedEnvelope::new(
        key,
        AD_SIGNATURE_DOMAIN.to_owned(),
        AD_SIGNATURE_CODEC.to_vec(),
        signature_payload(ad),
    )
    .map_err(|e| IpniError::Sign(e.to_string()))?;
    ad.signature = envelope.into_protobuf_encoding();
    Ok(())
}

/// Verifies `ad.signature` as an indexer does and returns the signer.
///
/// The signer need not be `ad.provider` in general (a publisher may sign for
/// a provider); callers that require it compare the two.
pub fn verify_ad(ad: &Advertisement) -> Result<PeerId, IpniError> {
    let envelope = SignedEnvelope::from_protobuf_encoding(&ad.signature)
        .map_err(|e| IpniError::BadSignature(format!("decode envelope: {e}")))?;
    let (payload, key) = envelope
        .payload_and_signing_key(AD_SIGNATURE_DOMAIN.to_owned(), AD_SIGNATURE_CODEC)
        .map_err(|e| IpniError::BadSignature(e.to_string()))?;
    if payload != signature_payload(ad).as_slice() {
        return Err(IpniError::BadSignature(
            "envelope signs a different advertisement".into(),
        ));
    }
    Ok(key.to_peer_id())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ipni::no_entries_cid;

    fn ad(key: &Keypair) -> Advertisement {
        Advertisement {
            previous: None,
            provider: key.public().to_peer_id().to_string(),
            addresses: vec!["/ip4/127.0.0.1/tcp/2347/http".into()],
            signature: vec![],
            entries: no_entries_cid(),
            context_id: vec![1],
            metadata: vec![0xa0, 0x12, 0x00],
            is_rm: false,
        }
    }

    #[test]
    fn sign_then_verify_returns_the_signer() {
        let key = Keypair::generate_ed25519();
        let mut a = ad(&key);
        sign_ad(&mut a, &key).unwrap();
        assert_eq!(verify_ad(&a).unwrap(), key.public().to_peer_id());
        assert_eq!(signature_payload(&a).len(), 34);
    }

    #[test]
    fn tampering_is_detected() {
        let key = Keypair::generate_ed25519();
        let mut a = ad(&key);
        sign_ad(&mut a, &key).unwrap();
        let tampers: [fn(&mut Advertisement); 6] = [
            |a| a.is_rm = true,
            |a| a.metadata = vec![0xb0, 0x12, 0x00],
            |a| a.addresses.push("/ip4/1.2.3.4/tcp/80/http".into()),
            |a| a.provider.push('x'),
            |a| a.previous = Some(no_entries_cid()),
            |a| {
                let n = a.signature.len();
                a.signature[n - 1] ^= 1;
            },
        ];
        for t in tampers {
            let mut b = a.clone();
            t(&mut b);
            assert!(matches!(verify_ad(&b), Err(IpniError::BadSignature(_))));
        }
        // As in go-libipni, the context id is outside the signed bytes.
        let mut b = a.clone();
        b.context_id = vec![2];
        assert!(verify_ad(&b).is_ok());
    }

    #[test]
    fn envelope_layout_is_rfc0002_protobuf() {
        let key = Keypair::generate_ed25519();
        let mut a = ad(&key);
        sign_ad(&mut a, &key).unwrap();
        let pk = key.public().encode_protobuf();
        // field 1 (public key), length, key bytes; then field 2 (payload type).
        assert_eq!(a.signature[0], 0x0a);
        assert_eq!(a.signature[1] as usize, pk.len());
        assert_eq!(&a.signature[2..2 + pk.len()], pk.as_slice());
        let rest = &a.signature[2 + pk.len()..];
        assert_eq!(rest[0], 0x12);
        assert_eq!(&rest[2..2 + AD_SIGNATURE_CODEC.len()], AD_SIGNATURE_CODEC);
    }
}

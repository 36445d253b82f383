//! Keys and signatures: secp256k1 (f1) and BLS (f3), as Lotus makes them.
//!
//! secp256k1 signs blake2b-256 of the data with a recoverable ECDSA
//! signature (r ‖ s ‖ v, 65 bytes); BLS signs the data itself (96 bytes).
//! A message is signed over its CID's bytes. Keys live in a keystore
//! directory, one file per address holding Lotus's KeyInfo JSON
//! (`{"Type": "secp256k1"|"bls", "PrivateKey": base64}`), mode 0600.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::Context;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use bls_signatures::Serialize as _;
use fvm_shared::address::Address;
use fvm_shared::crypto::signature::Signature;
use k256::ecdsa::SigningKey;
use serde::{Deserialize, Serialize};

/// The two key kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum KeyType {
    /// secp256k1 (f1 addresses).
    #[serde(rename = "secp256k1")]
    Secp256k1,
    /// BLS12-381 (f3 addresses).
    #[serde(rename = "bls")]
    Bls,
}

/// A private key.
#[derive(Clone)]
pub enum PrivateKey {
    /// secp256k1.
    Secp256k1(SigningKey),
    /// BLS.
    Bls(bls_signatures::PrivateKey),
}

impl std::fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print key material.
        match self {
            PrivateKey::Secp256k1(_) => f.write_str("PrivateKey(secp256k1)"),
            PrivateKey::Bls(_) => f.write_str("PrivateKey(bls)"),
        }
    }
}

/// Lotus's KeyInfo JSON.
#[derive(Serialize, Deserialize)]
struct KeyInfo {
    #[serde(rename = "Type")]
    key_type: KeyType,
    #[serde(rename = "PrivateKey")]
    private_key: String,
}

impl PrivateKey {
    /// A new random key.
    pub fn generate(kind: KeyType) -> Self {
        let mut rng = rand::rngs::OsRng;
        match kind {
            KeyType::Secp256k1 => PrivateKey::Secp256k1(SigningKey::random(&mut rng)),
            KeyType::Bls => PrivateKey::Bls(bls_signatures::PrivateKey::generate(&mut rng)),
        }
    }

    /// The key kind.
    pub fn key_type(&self) -> KeyType {
        match self {
            PrivateKey::Secp256k1(_) => KeyType::Secp256k1,
            PrivateKey::Bls(_) => KeyType::Bls,
        }
    }

    /// The key's address (f1 or f3).
    pub fn address(&self) -> anyhow::Result<Address> {
        Ok(match self {
            PrivateKey::Secp256k1(k) => {
                let public = k.verifying_key().to_encoded_point(false);
                Address::new_secp256k1(public.as_bytes())?
            }
            PrivateKey::Bls(k) => Address::new_bls(&k.public_key().as_bytes())?,
        })
    }

    /// Signs `data` as Lotus does.
    pub fn sign(&self, data: &[u8]) -> anyhow::Result<Signature> {
        Ok(match self {
            PrivateKey::Secp256k1(k) => {
                let hash = blake2b_simd::Params::new()
                    .hash_length(32)
                    .to_state()
                    .update(data)
                    .finalize();
                let (sig, rec) = k
                    .sign_prehash_recoverable(hash.as_bytes())
                    .context("secp256k1 sign")?;
                let mut bytes = sig.to_bytes().to_vec();
                bytes.push(rec.to_byte());
                Signature::new_secp256k1(bytes)
            }
            PrivateKey::Bls(k) => Signature::new_bls(k.sign(data).as_bytes()),
        })
    }

    fn to_bytes(&self) -> Vec<u8> {
        match self {
            PrivateKey::Secp256k1(k) => k.to_bytes().to_vec(),
            PrivateKey::Bls(k) => k.as_bytes(),
        }
    }

    fn from_bytes(kind: KeyType, bytes: &[u8]) -> anyhow::Result<Self> {
        Ok(match kind {
            KeyType::Secp256k1 => {
                PrivateKey::Secp256k1(SigningKey::from_slice(bytes).context("secp256k1 key")?)
            }
            KeyType::Bls => {
                PrivateKey::Bls(bls_signatures::PrivateKey::from_bytes(bytes).context("BLS key")?)
            }
        })
    }
}

/// Writes `bytes` to `path` (replacing it), readable by its owner only,
/// and syncs it: for keys, secrets and API tokens.
pub fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("create {}", path.display()))?;
    // An existing file keeps its mode on open; tighten it too.
    f.set_permissions(fs::Permissions::from_mode(0o600))
        .with_context(|| format!("restrict {}", path.display()))?;
    f.write_all(bytes)
        .and_then(|()| f.sync_all())
        .with_context(|| format!("write {}", path.display()))
}

/// Checks `sig` over `data` against `addr` (an f1 or f3 address).
pub fn verify(sig: &Signature, data: &[u8], addr: &Address) -> Result<(), String> {
    sig.verify(data, addr)
}

/// The keys of a node, on disk.
#[derive(Debug)]
pub struct Wallet {
    dir: PathBuf,
    keys: BTreeMap<Address, PrivateKey>,
}

impl Wallet {
    /// Opens (or creates) the keystore at `dir`.
    pub fn open(dir: &Path) -> anyhow::Result<Self> {
        fs::create_dir_all(dir).with_context(|| format!("create keystore {}", dir.display()))?;
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
            .with_context(|| format!("restrict keystore {}", dir.display()))?;
        let mut keys = BTreeMap::new();
        for entry in fs::read_dir(dir).with_context(|| format!("read {}", dir.display()))? {
            let path = entry?.path();
            let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
                continue;
            };
            let Ok(addr) = name.parse::<Address>() else {
                continue; // not a key file (the JWT secret, say)
            };
            let mode = fs::metadata(&path)?.permissions().mode();
            anyhow::ensure!(
                mode & 0o077 == 0,
                "key file {} is readable by others (mode {:o}); chmod 600 it",
                path.display(),
                mode & 0o777
            );
            let info: KeyInfo = serde_json::from_slice(&fs::read(&path)?)
                .with_context(|| format!("parse key file {}", path.display()))?;
            let raw = B64
                .decode(info.private_key)
                .with_context(|| format!("decode key file {}", path.display()))?;
            let key = PrivateKey::from_bytes(info.key_type, &raw)?;
            anyhow::ensure!(
                key.address()? == addr,
                "key file {} does not hold the key of {addr}",
                path.display()
            );
            keys.insert(addr, key);
        }
        Ok(Self {
            dir: dir.to_path_buf(),
            keys,
        })
    }

    /// Creates, stores and returns a new key's address.
    pub fn new_key(&mut self, kind: KeyType) -> anyhow::Result<Address> {
        self.import(PrivateKey::generate(kind))
    }

    /// Stores `key`; returns its address.
    pub fn import(&mut self, key: PrivateKey) -> anyhow::Result<Address> {
        let addr = key.address()?;
        let info = KeyInfo {
            key_type: key.key_type(),
            private_key: B64.encode(key.to_bytes()),
        };
        write_private(
            &self.dir.join(addr.to_string()),
            &serde_json::to_vec(&info)?,
        )?;
        self.keys.insert(addr, key);
        Ok(addr)
    }

    /// Every address with a key here.
    pub fn list(&self) -> Vec<Address> {
        self.keys.keys().copied().collect()
    }

    /// The key of `addr`.
    pub fn key(&self, addr: &Address) -> Option<&PrivateKey> {
        self.keys.get(addr)
    }

    /// Signs `data` with the key of `addr`.
    pub fn sign(&self, addr: &Address, data: &[u8]) -> anyhow::Result<Signature> {
        self.keys
            .get(addr)
            .with_context(|| format!("no key for {addr} in this wallet"))?
            .sign(data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_key_kinds_sign_and_verify() {
        for kind in [KeyType::Secp256k1, KeyType::Bls] {
            let k = PrivateKey::generate(kind);
            let addr = k.address().unwrap();
            let sig = k.sign(b"hello").unwrap();
            verify(&sig, b"hello", &addr).unwrap();
            assert!(verify(&sig, b"hellO", &addr).is_err());
            let other = PrivateKey::generate(kind).address().unwrap();
            assert!(verify(&sig, b"hello", &other).is_err());
        }
    }

    #[test]
    fn keystore_round_trips_and_rejects_loose_permissions() {
        let dir = tempfile::tempdir().unwrap();
        let ks = dir.path().join("keystore");
        let mut w = Wallet::open(&ks).unwrap();
        let a = w.new_key(KeyType::Secp256k1).unwrap();
        let b = w.new_key(KeyType::Bls).unwrap();
        let w2 = Wallet::open(&ks).unwrap();
        assert_eq!(w2.list().len(), 2);
        let sig = w2.sign(&a, b"x").unwrap();
        verify(&sig, b"x", &a).unwrap();
        assert!(w2.key(&b).is_some());
        fs::set_permissions(ks.join(a.to_string()), fs::Permissions::from_mode(0o644)).unwrap();
        let err = Wallet::open(&ks).unwrap_err();
        assert!(err.to_string().contains("readable by others"), "{err}");
    }
}

//! Keys and signatures: secp256k1 (f1) and BLS (f3), as Lotus makes them,
//! and the keystore that holds them.
//!
//! secp256k1 signs blake2b-256 of the data with a recoverable ECDSA
//! signature (r ‖ s ‖ v, 65 bytes); BLS signs the data itself (96 bytes).
//! A message is signed over its CID's bytes.
//!
//! A [`Wallet`] is a keystore directory (mode 0700) with one file per
//! address (mode 0600), written atomically. It is plain or encrypted, as its
//! marker `keystore.json` says ([`keystore`] has the layout and the crypto):
//!
//! - plain (no marker): each file is Lotus's KeyInfo JSON
//!   (`{"Type": "secp256k1"|"bls", "PrivateKey": base64}`), the keystore Lotus
//!   has. It is for devnets and tests: `ferrite devnet` makes its keys
//!   unattended with [`Wallet::open`]. A node on a real network should have an
//!   encrypted keystore (`ferrite wallet init-encrypted`; `ferrite init` on a
//!   real network is to make one).
//! - encrypted: each file is that JSON sealed with XChaCha20-Poly1305 under
//!   a key Argon2id derives from a passphrase ([`Wallet::create_encrypted`],
//!   [`Wallet::open_with`]). A wrong passphrase is refused before any key
//!   file is read ([`KeystoreError::WrongPassphrase`]).
//!
//! ```no_run
//! # fn main() -> anyhow::Result<()> {
//! use ferrite_chain::wallet::{KdfParams, KeyType, Passphrase, Wallet};
//! let dir = std::path::Path::new("/var/lib/ferrite/keystore");
//! let pass = Passphrase::new("correct horse battery staple".to_string())?;
//! let mut w = Wallet::create_encrypted(dir, &pass, KdfParams::default())?;
//! let addr = w.new_key(KeyType::Secp256k1)?;
//! let w = Wallet::open_with(dir, Some(&pass))?;
//! let sig = w.sign(&addr, b"data")?;
//! # Ok(()) }
//! ```

pub mod keystore;

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
use zeroize::{Zeroize, Zeroizing};

pub use keystore::{KdfParams, KeystoreError, Passphrase, write_private_atomic};
use keystore::{Mode, Sealer};

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

impl KeyType {
    /// The name Lotus gives it: `secp256k1` or `bls`.
    pub fn name(self) -> &'static str {
        match self {
            KeyType::Secp256k1 => "secp256k1",
            KeyType::Bls => "bls",
        }
    }
}

impl std::str::FromStr for KeyType {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "secp256k1" => Ok(KeyType::Secp256k1),
            "bls" => Ok(KeyType::Bls),
            _ => Err(format!("unknown key type {s:?}: use secp256k1 or bls")),
        }
    }
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

impl Drop for KeyInfo {
    fn drop(&mut self) {
        self.private_key.zeroize();
    }
}

impl KeyInfo {
    /// The key this JSON holds.
    fn parse(json: &[u8]) -> anyhow::Result<PrivateKey> {
        let info: KeyInfo = serde_json::from_slice(json).context("parse KeyInfo JSON")?;
        let raw = Zeroizing::new(
            B64.decode(&info.private_key)
                .context("decode the KeyInfo's PrivateKey")?,
        );
        PrivateKey::from_bytes(info.key_type, &raw)
    }
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

    fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        Zeroizing::new(match self {
            PrivateKey::Secp256k1(k) => k.to_bytes().to_vec(),
            PrivateKey::Bls(k) => k.as_bytes(),
        })
    }

    /// Lotus's KeyInfo JSON of the key: what a plain keystore file holds.
    fn to_key_info_json(&self) -> anyhow::Result<Zeroizing<Vec<u8>>> {
        let info = KeyInfo {
            key_type: self.key_type(),
            private_key: B64.encode(self.to_bytes().as_slice()),
        };
        Ok(Zeroizing::new(serde_json::to_vec(&info)?))
    }

    /// The key as `lotus wallet export` prints it: the hex of its KeyInfo
    /// JSON, which `lotus wallet import` reads.
    pub fn to_lotus_export(&self) -> anyhow::Result<Zeroizing<String>> {
        Ok(Zeroizing::new(hex::encode(
            self.to_key_info_json()?.as_slice(),
        )))
    }

    /// Reads a key as `lotus wallet export` prints it (hex of the KeyInfo
    /// JSON), or the KeyInfo JSON itself; surrounding whitespace is ignored.
    pub fn from_lotus_export(text: &str) -> anyhow::Result<Self> {
        let text = text.trim();
        if text.starts_with('{') {
            return KeyInfo::parse(text.as_bytes());
        }
        let json = Zeroizing::new(
            hex::decode(text).context("decode the key: neither hex nor KeyInfo JSON")?,
        );
        KeyInfo::parse(&json)
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
    /// Set for an encrypted keystore: seals the files of new keys.
    sealer: Option<Sealer>,
}

/// What can be told of a keystore without its passphrase.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeystoreInfo {
    /// Whether its key files are sealed.
    pub encrypted: bool,
    /// The addresses it holds keys of (from the file names), in order.
    pub addresses: Vec<Address>,
}

/// The key files of the keystore at `dir`, with their addresses.
fn key_files(dir: &Path) -> anyhow::Result<Vec<(Address, PathBuf)>> {
    let mut files = Vec::new();
    for entry in fs::read_dir(dir).with_context(|| format!("read {}", dir.display()))? {
        let path = entry
            .with_context(|| format!("read {}", dir.display()))?
            .path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let Ok(addr) = name.parse::<Address>() else {
            continue; // not a key file (the marker, the JWT secret)
        };
        files.push((addr, path));
    }
    files.sort();
    Ok(files)
}

/// The address that signs by default: the first secp256k1 key, else the
/// first key (`ferrite devnet` picks its default address so).
pub fn default_address(addresses: &[Address]) -> Option<Address> {
    addresses
        .iter()
        .find(|a| a.protocol() == fvm_shared::address::Protocol::Secp256k1)
        .or_else(|| addresses.first())
        .copied()
}

impl Wallet {
    /// Opens (or creates) the plain keystore at `dir`. An encrypted one is
    /// refused with [`KeystoreError::PassphraseNeeded`].
    pub fn open(dir: &Path) -> anyhow::Result<Self> {
        Self::open_with(dir, None)
    }

    /// Opens the keystore at `dir` (creating a plain one if there is none),
    /// with `passphrase` if it is encrypted; a plain keystore ignores it.
    /// Every key is read and checked against its file's address.
    pub fn open_with(dir: &Path, passphrase: Option<&Passphrase>) -> anyhow::Result<Self> {
        keystore::prepare_dir(dir)?;
        let sealer = match Mode::read(dir)? {
            Mode::Plain => None,
            Mode::Encrypted(enc) => {
                let pass =
                    passphrase.ok_or_else(|| KeystoreError::PassphraseNeeded(dir.to_path_buf()))?;
                Some(Sealer::unlock(dir, &enc, pass)?)
            }
        };
        let mut keys = BTreeMap::new();
        for (addr, path) in key_files(dir)? {
            let mode = fs::metadata(&path)
                .with_context(|| format!("stat {}", path.display()))?
                .permissions()
                .mode();
            anyhow::ensure!(
                mode & 0o077 == 0,
                "key file {} is readable by others (mode {:o}); chmod 600 it",
                path.display(),
                mode & 0o777
            );
            let bytes = Zeroizing::new(
                fs::read(&path).with_context(|| format!("read key file {}", path.display()))?,
            );
            let json = match &sealer {
                Some(s) => s.open(&path, &bytes)?,
                None => {
                    anyhow::ensure!(
                        !keystore::is_sealed_file(&bytes),
                        "key file {} is sealed, but the keystore in {} has no marker ({}); \
                         restore the marker to open it",
                        path.display(),
                        dir.display(),
                        keystore::MARKER_FILE
                    );
                    bytes
                }
            };
            let key = KeyInfo::parse(&json)
                .with_context(|| format!("read key file {}", path.display()))?;
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
            sealer,
        })
    }

    /// Makes `dir` an encrypted keystore under `passphrase`, with Argon2id
    /// at cost `kdf` ([`KdfParams::default`] in production). Refused if it
    /// already has a marker or holds keys (plain keys are not converted).
    pub fn create_encrypted(
        dir: &Path,
        passphrase: &Passphrase,
        kdf: KdfParams,
    ) -> anyhow::Result<Self> {
        kdf.validate()?;
        keystore::prepare_dir(dir)?;
        anyhow::ensure!(
            !dir.join(keystore::MARKER_FILE).exists(),
            "the keystore in {} is already set up ({} exists)",
            dir.display(),
            keystore::MARKER_FILE
        );
        let existing = key_files(dir)?;
        anyhow::ensure!(
            existing.is_empty(),
            "the keystore in {} already holds {} plain key(s); an encrypted keystore starts \
             empty (export the keys, move the directory away, and import them after)",
            dir.display(),
            existing.len()
        );
        let sealer = Sealer::create(dir, passphrase, kdf)?;
        Ok(Self {
            dir: dir.to_path_buf(),
            keys: BTreeMap::new(),
            sealer: Some(sealer),
        })
    }

    /// Whether the keystore at `dir` is encrypted, and its addresses; no
    /// key is read and nothing is created.
    pub fn inspect(dir: &Path) -> anyhow::Result<KeystoreInfo> {
        if !dir.exists() {
            return Ok(KeystoreInfo {
                encrypted: false,
                addresses: Vec::new(),
            });
        }
        let encrypted = matches!(Mode::read(dir)?, Mode::Encrypted(_));
        let addresses = key_files(dir)?.into_iter().map(|(a, _)| a).collect();
        Ok(KeystoreInfo {
            encrypted,
            addresses,
        })
    }

    /// The keystore directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Whether the key files are sealed.
    pub fn is_encrypted(&self) -> bool {
        self.sealer.is_some()
    }

    /// Creates, stores and returns a new key's address.
    pub fn new_key(&mut self, kind: KeyType) -> anyhow::Result<Address> {
        self.import(PrivateKey::generate(kind))
    }

    /// Stores `key` (sealed if the keystore is encrypted); returns its address.
    pub fn import(&mut self, key: PrivateKey) -> anyhow::Result<Address> {
        let addr = key.address()?;
        let name = addr.to_string();
        let json = key.to_key_info_json()?;
        let bytes = match &self.sealer {
            Some(s) => Zeroizing::new(s.seal(&name, &json)?),
            None => json,
        };
        write_private_atomic(&self.dir.join(&name), &bytes)
            .with_context(|| format!("store the key of {addr}"))?;
        self.keys.insert(addr, key);
        Ok(addr)
    }

    /// Every address with a key here.
    pub fn list(&self) -> Vec<Address> {
        self.keys.keys().copied().collect()
    }

    /// The address that signs by default (see [`default_address`]).
    pub fn default_address(&self) -> Option<Address> {
        default_address(&self.list())
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

    /// Cheap enough for tests; production uses `KdfParams::default()`.
    const TEST_KDF: KdfParams = KdfParams {
        memory_kib: 256,
        iterations: 1,
        parallelism: 1,
    };

    fn pass(p: &str) -> Passphrase {
        Passphrase::new(p.to_string()).unwrap()
    }

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    /// Every file's name, mode and content, to show nothing changed.
    fn snapshot(dir: &Path) -> Vec<(std::ffi::OsString, u32, Vec<u8>)> {
        let mut files: Vec<_> = fs::read_dir(dir)
            .unwrap()
            .map(|e| {
                let p = e.unwrap().path();
                (
                    p.file_name().unwrap().to_owned(),
                    mode(&p),
                    fs::read(&p).unwrap(),
                )
            })
            .collect();
        files.sort();
        files
    }

    /// An encrypted keystore with one key of each kind.
    fn encrypted_keystore(dir: &Path) -> (Address, Address) {
        let mut w = Wallet::create_encrypted(dir, &pass("hunter2"), TEST_KDF).unwrap();
        assert!(w.is_encrypted());
        (
            w.new_key(KeyType::Secp256k1).unwrap(),
            w.new_key(KeyType::Bls).unwrap(),
        )
    }

    #[test]
    fn encrypted_keystore_round_trips_with_private_modes() {
        let dir = tempfile::tempdir().unwrap();
        let ks = dir.path().join("keystore");
        let (a, b) = encrypted_keystore(&ks);

        let w = Wallet::open_with(&ks, Some(&pass("hunter2"))).unwrap();
        assert!(w.is_encrypted());
        assert_eq!(w.list(), {
            let mut v = vec![a, b];
            v.sort();
            v
        });
        assert_eq!(w.default_address(), Some(a));
        verify(&w.sign(&a, b"x").unwrap(), b"x", &a).unwrap();
        verify(&w.sign(&b, b"y").unwrap(), b"y", &b).unwrap();

        // Neither the key nor its KeyInfo JSON is on disk in the clear.
        for addr in [a, b] {
            let key = w.key(&addr).unwrap();
            let b64 = B64.encode(key.to_bytes().as_slice());
            let file = fs::read_to_string(ks.join(addr.to_string())).unwrap();
            assert!(!file.contains(&b64), "{file}");
            assert!(!file.contains("PrivateKey"), "{file}");
            assert_eq!(mode(&ks.join(addr.to_string())), 0o600);
        }
        assert_eq!(mode(&ks.join(keystore::MARKER_FILE)), 0o600);
        assert_eq!(mode(&ks), 0o700);

        let info = Wallet::inspect(&ks).unwrap();
        assert!(info.encrypted);
        assert_eq!(info.addresses, w.list());
        // No stray temporary files: the marker and the two keys.
        assert_eq!(fs::read_dir(&ks).unwrap().count(), 3);
    }

    #[test]
    fn wrong_passphrase_is_refused_before_anything_is_touched() {
        let dir = tempfile::tempdir().unwrap();
        let ks = dir.path().join("keystore");
        encrypted_keystore(&ks);
        let before = snapshot(&ks);

        let err = Wallet::open_with(&ks, Some(&pass("hunter3"))).unwrap_err();
        assert!(
            matches!(
                err.downcast_ref::<KeystoreError>(),
                Some(KeystoreError::WrongPassphrase(d)) if d == &ks
            ),
            "{err:#}"
        );
        assert_eq!(
            format!("{err:#}"),
            format!("wrong passphrase for the keystore in {}", ks.display())
        );
        assert_eq!(snapshot(&ks), before);

        // No passphrase: an error that says how to give one.
        let err = Wallet::open(&ks).unwrap_err();
        assert!(
            matches!(
                err.downcast_ref::<KeystoreError>(),
                Some(KeystoreError::PassphraseNeeded(_))
            ),
            "{err:#}"
        );
        let msg = format!("{err:#}");
        assert!(msg.contains("is encrypted"), "{msg}");
        assert!(msg.contains("FERRITE_KEYSTORE_PASSPHRASE"), "{msg}");
        assert!(msg.contains("--passphrase-file"), "{msg}");
        assert_eq!(snapshot(&ks), before);
    }

    #[test]
    fn tampered_key_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let ks = dir.path().join("keystore");
        let (a, _) = encrypted_keystore(&ks);
        let path = ks.join(a.to_string());
        let mut file: serde_json::Value =
            serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
        let mut ct = B64.decode(file["ciphertext"].as_str().unwrap()).unwrap();
        ct[3] ^= 1;
        file["ciphertext"] = B64.encode(ct).into();
        fs::write(&path, serde_json::to_vec(&file).unwrap()).unwrap();

        let err = Wallet::open_with(&ks, Some(&pass("hunter2"))).unwrap_err();
        let msg = format!("{err:#}");
        assert!(msg.contains("failed its integrity check"), "{msg}");
        assert!(msg.contains(&a.to_string()), "{msg}");
    }

    #[test]
    fn swapped_key_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let ks = dir.path().join("keystore");
        let (a, _) = encrypted_keystore(&ks);
        // Another key's sealed file put under a's name.
        let mut w = Wallet::open_with(&ks, Some(&pass("hunter2"))).unwrap();
        let c = w.new_key(KeyType::Secp256k1).unwrap();
        fs::copy(ks.join(c.to_string()), ks.join(a.to_string())).unwrap();

        let err = Wallet::open_with(&ks, Some(&pass("hunter2"))).unwrap_err();
        let msg = format!("{err:#}");
        assert!(msg.contains("failed its integrity check"), "{msg}");
        assert!(msg.contains(&a.to_string()), "{msg}");
    }

    #[test]
    fn plain_and_sealed_files_do_not_mix() {
        let dir = tempfile::tempdir().unwrap();
        let ks = dir.path().join("keystore");
        encrypted_keystore(&ks);

        // A plain key file copied into an encrypted keystore.
        let plain = dir.path().join("plain");
        let p = Wallet::open(&plain)
            .unwrap()
            .new_key(KeyType::Secp256k1)
            .unwrap();
        fs::copy(plain.join(p.to_string()), ks.join(p.to_string())).unwrap();
        let err = Wallet::open_with(&ks, Some(&pass("hunter2"))).unwrap_err();
        assert!(format!("{err:#}").contains("is not sealed"), "{err:#}");
        fs::remove_file(ks.join(p.to_string())).unwrap();

        // Sealed files whose marker is gone.
        fs::remove_file(ks.join(keystore::MARKER_FILE)).unwrap();
        let err = Wallet::open(&ks).unwrap_err();
        assert!(format!("{err:#}").contains("has no marker"), "{err:#}");
    }

    #[test]
    fn create_encrypted_refuses_a_keystore_in_use() {
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("plain");
        Wallet::open(&plain).unwrap().new_key(KeyType::Bls).unwrap();
        let before = snapshot(&plain);
        let err = Wallet::create_encrypted(&plain, &pass("x"), TEST_KDF).unwrap_err();
        assert!(
            format!("{err:#}").contains("already holds 1 plain key"),
            "{err:#}"
        );
        assert_eq!(snapshot(&plain), before);

        let ks = dir.path().join("keystore");
        encrypted_keystore(&ks);
        let err = Wallet::create_encrypted(&ks, &pass("x"), TEST_KDF).unwrap_err();
        assert!(format!("{err:#}").contains("already set up"), "{err:#}");
        // The first passphrase still opens it.
        Wallet::open_with(&ks, Some(&pass("hunter2"))).unwrap();
    }

    #[test]
    fn plain_keystore_ignores_a_passphrase_and_has_no_marker() {
        let dir = tempfile::tempdir().unwrap();
        let ks = dir.path().join("keystore");
        let a = Wallet::open(&ks)
            .unwrap()
            .new_key(KeyType::Secp256k1)
            .unwrap();
        assert!(!ks.join(keystore::MARKER_FILE).exists());
        let w = Wallet::open_with(&ks, Some(&pass("unused"))).unwrap();
        assert!(!w.is_encrypted());
        assert_eq!(w.list(), vec![a]);
        // Lotus's KeyInfo JSON, as before.
        let file: serde_json::Value =
            serde_json::from_slice(&fs::read(ks.join(a.to_string())).unwrap()).unwrap();
        assert_eq!(file["Type"], "secp256k1");
        assert_eq!(mode(&ks.join(a.to_string())), 0o600);
        assert_eq!(mode(&ks), 0o700);
        let info = Wallet::inspect(&ks).unwrap();
        assert!(!info.encrypted);
        assert_eq!(info.addresses, vec![a]);
    }

    #[test]
    fn lotus_export_is_hex_of_key_info_and_reads_back() {
        for kind in [KeyType::Secp256k1, KeyType::Bls] {
            let k = PrivateKey::generate(kind);
            let hex_text = k.to_lotus_export().unwrap();
            let json = String::from_utf8(hex::decode(hex_text.as_str()).unwrap()).unwrap();
            let expected = format!(
                r#"{{"Type":"{}","PrivateKey":"{}"}}"#,
                kind.name(),
                B64.encode(k.to_bytes().as_slice())
            );
            assert_eq!(json, expected);
            let back = PrivateKey::from_lotus_export(&format!("{}\n", hex_text.as_str())).unwrap();
            assert_eq!(back.address().unwrap(), k.address().unwrap());
            let back = PrivateKey::from_lotus_export(&json).unwrap();
            assert_eq!(back.address().unwrap(), k.address().unwrap());
        }
        assert!(PrivateKey::from_lotus_export("zz").is_err());
        assert!(PrivateKey::from_lotus_export(&hex::encode(b"{}")).is_err());
    }

    #[test]
    fn default_address_is_the_first_secp_key() {
        let bls = PrivateKey::generate(KeyType::Bls).address().unwrap();
        let secp = PrivateKey::generate(KeyType::Secp256k1).address().unwrap();
        assert_eq!(default_address(&[bls, secp]), Some(secp));
        assert_eq!(default_address(&[bls]), Some(bls));
        assert_eq!(default_address(&[]), None);
    }
}

//! The keystore directory: its marker, the encryption of key files at rest,
//! and atomic writes.
//!
//! ```text
//! keystore/                      mode 0700
//!   keystore.json                the marker: format version; for an encrypted
//!                                keystore the KDF, its parameters and salt, the
//!                                cipher, and a sealed check value
//!   f1…, f3…                     one file per address (mode 0600): Lotus's
//!                                KeyInfo JSON, or that JSON sealed
//!   MF2XI2BNNJ3XILLQOJUXMYLUMU   the API's JWT secret (auth.rs), never sealed
//! ```
//!
//! A keystore without a marker (or with `"encryption": null`) is plain, as
//! Lotus's is: that is what `ferrite devnet` makes, unattended. An encrypted
//! keystore derives a 256-bit key from the passphrase with Argon2id (salt
//! and cost in the marker, so the cost can be raised by re-encrypting later)
//! and seals each key file with XChaCha20-Poly1305 under a random nonce, the
//! file's name as associated data: a file copied or renamed to another
//! address's name fails its check. The marker holds a sealed canary, so a
//! wrong passphrase is refused before any key file is read.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::Context;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use chacha20poly1305::aead::{Aead, Payload};
use chacha20poly1305::{KeyInit, XChaCha20Poly1305, XNonce};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

/// The marker's file name in the keystore directory.
pub const MARKER_FILE: &str = "keystore.json";

const FORMAT_VERSION: u32 = 1;
const KDF_ALGORITHM: &str = "argon2id";
/// Argon2 version 1.3 (0x13), the only one the KDF accepts.
const KDF_VERSION: u32 = 0x13;
const CIPHER: &str = "xchacha20poly1305";
const SALT_LEN: usize = 16;
const NONCE_LEN: usize = 24;
const CHECK_PLAINTEXT: &[u8] = b"ferrite keystore passphrase check";
/// Refuse a marker asking for more than 4 GiB: a bad marker must not
/// exhaust the host's memory before the passphrase is even checked.
const MAX_MEMORY_KIB: u32 = 4 * 1024 * 1024;

/// Errors a caller branches on: ask again, or say how to give a passphrase.
#[derive(Debug, thiserror::Error)]
pub enum KeystoreError {
    /// The passphrase does not open the keystore's check value.
    #[error("wrong passphrase for the keystore in {}", .0.display())]
    WrongPassphrase(PathBuf),
    /// The keystore is encrypted and no passphrase was given.
    #[error(
        "the keystore in {} is encrypted: give its passphrase in FERRITE_KEYSTORE_PASSPHRASE, \
         with --passphrase-file FILE, or at the prompt (run the command in a terminal)",
        .0.display()
    )]
    PassphraseNeeded(PathBuf),
}

/// A keystore passphrase; wiped from memory when dropped, never printed.
pub struct Passphrase(Zeroizing<String>);

impl std::fmt::Debug for Passphrase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Passphrase(..)")
    }
}

impl Passphrase {
    /// A passphrase; an empty one is refused.
    pub fn new(passphrase: String) -> anyhow::Result<Self> {
        let p = Zeroizing::new(passphrase);
        anyhow::ensure!(!p.is_empty(), "the keystore passphrase is empty");
        Ok(Self(p))
    }

    /// The passphrase in `path`: the file's text without its final newline.
    pub fn from_file(path: &Path) -> anyhow::Result<Self> {
        let bytes = Zeroizing::new(
            fs::read(path).with_context(|| format!("read passphrase file {}", path.display()))?,
        );
        let text = std::str::from_utf8(&bytes)
            .with_context(|| format!("passphrase file {} is not UTF-8", path.display()))?;
        let text = text
            .strip_suffix('\n')
            .map(|t| t.strip_suffix('\r').unwrap_or(t))
            .unwrap_or(text);
        Self::new(text.to_string())
            .with_context(|| format!("read passphrase file {}", path.display()))
    }

    fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

/// Argon2id's cost, stored in the marker beside the salt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct KdfParams {
    /// Memory in KiB. Default: 65536 (64 MiB).
    pub memory_kib: u32,
    /// Passes over the memory. Default: 3.
    pub iterations: u32,
    /// Lanes. Default: 1.
    pub parallelism: u32,
}

impl Default for KdfParams {
    fn default() -> Self {
        Self {
            memory_kib: 64 * 1024,
            iterations: 3,
            parallelism: 1,
        }
    }
}

impl KdfParams {
    fn argon2(&self) -> anyhow::Result<argon2::Argon2<'static>> {
        anyhow::ensure!(
            self.memory_kib <= MAX_MEMORY_KIB,
            "KDF memory {} KiB is over the limit of {MAX_MEMORY_KIB} KiB",
            self.memory_kib
        );
        let params =
            argon2::Params::new(self.memory_kib, self.iterations, self.parallelism, Some(32))
                .map_err(|e| anyhow::anyhow!("KDF parameters {self:?}: {e}"))?;
        Ok(argon2::Argon2::new(
            argon2::Algorithm::Argon2id,
            argon2::Version::V0x13,
            params,
        ))
    }

    /// Checks that Argon2id accepts these parameters.
    pub fn validate(&self) -> anyhow::Result<()> {
        self.argon2().map(|_| ())
    }
}

#[derive(Serialize, Deserialize)]
struct Marker {
    version: u32,
    #[serde(default)]
    encryption: Option<Encryption>,
}

#[derive(Serialize, Deserialize)]
pub(crate) struct Encryption {
    kdf: Kdf,
    cipher: String,
    /// CHECK_PLAINTEXT sealed under the derived key.
    check: Sealed,
}

#[derive(Serialize, Deserialize)]
struct Kdf {
    algorithm: String,
    version: u32,
    #[serde(flatten)]
    params: KdfParams,
    salt: String,
}

#[derive(Serialize, Deserialize)]
struct Sealed {
    nonce: String,
    ciphertext: String,
}

/// A sealed key file.
#[derive(Serialize, Deserialize)]
struct SealedFile {
    version: u32,
    cipher: String,
    #[serde(flatten)]
    sealed: Sealed,
}

/// How a keystore keeps its keys, as its marker says.
pub(crate) enum Mode {
    Plain,
    Encrypted(Box<Encryption>),
}

impl Mode {
    /// Reads the marker of the keystore at `dir`; none means plain.
    pub(crate) fn read(dir: &Path) -> anyhow::Result<Self> {
        let path = dir.join(MARKER_FILE);
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Mode::Plain),
            Err(e) => return Err(e).with_context(|| format!("read {}", path.display())),
        };
        let marker: Marker = serde_json::from_slice(&bytes)
            .with_context(|| format!("parse the keystore marker {}", path.display()))?;
        anyhow::ensure!(
            marker.version == FORMAT_VERSION,
            "the keystore marker {} has format version {}; this ferrite reads version {FORMAT_VERSION}",
            path.display(),
            marker.version
        );
        let Some(enc) = marker.encryption else {
            return Ok(Mode::Plain);
        };
        anyhow::ensure!(
            enc.kdf.algorithm == KDF_ALGORITHM && enc.kdf.version == KDF_VERSION,
            "the keystore marker {} names KDF {} version {}; this ferrite knows {KDF_ALGORITHM} version {KDF_VERSION}",
            path.display(),
            enc.kdf.algorithm,
            enc.kdf.version
        );
        anyhow::ensure!(
            enc.cipher == CIPHER,
            "the keystore marker {} names cipher {}; this ferrite knows {CIPHER}",
            path.display(),
            enc.cipher
        );
        Ok(Mode::Encrypted(Box::new(enc)))
    }
}

/// The cipher of an unlocked keystore (the crate wipes its key on drop).
pub(crate) struct Sealer {
    cipher: XChaCha20Poly1305,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(..)")
    }
}

/// What a sealed file's name binds it to.
fn associated_data(name: &str) -> Vec<u8> {
    format!("ferrite keystore v{FORMAT_VERSION} file {name}").into_bytes()
}

fn random<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    rand::rngs::OsRng.fill_bytes(&mut b);
    b
}

impl Sealer {
    fn derive(pass: &Passphrase, params: &KdfParams, salt: &[u8]) -> anyhow::Result<Self> {
        let mut key = Zeroizing::new([0u8; 32]);
        params
            .argon2()?
            .hash_password_into(pass.as_bytes(), salt, key.as_mut_slice())
            .map_err(|e| anyhow::anyhow!("derive the keystore key: {e}"))?;
        let cipher = XChaCha20Poly1305::new_from_slice(key.as_slice())
            .map_err(|_| anyhow::anyhow!("derive the keystore key: bad key length"))?;
        Ok(Self { cipher })
    }

    /// Derives the key of an encrypted keystore and checks it on the
    /// marker's canary.
    pub(crate) fn unlock(dir: &Path, enc: &Encryption, pass: &Passphrase) -> anyhow::Result<Self> {
        let salt = B64
            .decode(&enc.kdf.salt)
            .context("decode the keystore marker's salt")?;
        let sealer = Self::derive(pass, &enc.kdf.params, &salt)?;
        match sealer.open_sealed(MARKER_FILE, &enc.check) {
            Ok(check) if check.as_slice() == CHECK_PLAINTEXT => Ok(sealer),
            _ => Err(KeystoreError::WrongPassphrase(dir.to_path_buf()).into()),
        }
    }

    /// Makes the key of a new encrypted keystore and writes its marker.
    pub(crate) fn create(dir: &Path, pass: &Passphrase, params: KdfParams) -> anyhow::Result<Self> {
        let salt: [u8; SALT_LEN] = random();
        let sealer = Self::derive(pass, &params, &salt)?;
        let marker = Marker {
            version: FORMAT_VERSION,
            encryption: Some(Encryption {
                kdf: Kdf {
                    algorithm: KDF_ALGORITHM.to_string(),
                    version: KDF_VERSION,
                    params,
                    salt: B64.encode(salt),
                },
                cipher: CIPHER.to_string(),
                check: sealer.seal_raw(MARKER_FILE, CHECK_PLAINTEXT)?,
            }),
        };
        write_private_atomic(&dir.join(MARKER_FILE), &serde_json::to_vec_pretty(&marker)?)
            .context("write the keystore marker")?;
        Ok(sealer)
    }

    fn seal_raw(&self, name: &str, plaintext: &[u8]) -> anyhow::Result<Sealed> {
        let nonce: [u8; NONCE_LEN] = random();
        let aad = associated_data(name);
        let ciphertext = self
            .cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: &aad,
                },
            )
            .map_err(|_| anyhow::anyhow!("seal {name}"))?;
        Ok(Sealed {
            nonce: B64.encode(nonce),
            ciphertext: B64.encode(ciphertext),
        })
    }

    fn open_sealed(&self, name: &str, sealed: &Sealed) -> anyhow::Result<Zeroizing<Vec<u8>>> {
        let nonce = B64.decode(&sealed.nonce).context("decode nonce")?;
        anyhow::ensure!(nonce.len() == NONCE_LEN, "nonce is {} bytes", nonce.len());
        let ciphertext = B64
            .decode(&sealed.ciphertext)
            .context("decode ciphertext")?;
        let aad = associated_data(name);
        let plaintext = self
            .cipher
            .decrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: &ciphertext,
                    aad: &aad,
                },
            )
            .map_err(|_| anyhow::anyhow!("authentication failed"))?;
        Ok(Zeroizing::new(plaintext))
    }

    /// The bytes of key file `name`, sealed.
    pub(crate) fn seal(&self, name: &str, plaintext: &[u8]) -> anyhow::Result<Vec<u8>> {
        let file = SealedFile {
            version: FORMAT_VERSION,
            cipher: CIPHER.to_string(),
            sealed: self.seal_raw(name, plaintext)?,
        };
        Ok(serde_json::to_vec(&file)?)
    }

    /// The plaintext of key file `path`, whose bytes are `bytes`.
    pub(crate) fn open(&self, path: &Path, bytes: &[u8]) -> anyhow::Result<Zeroizing<Vec<u8>>> {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .with_context(|| format!("key file name {}", path.display()))?;
        let file: SealedFile = serde_json::from_slice(bytes).map_err(|_| {
            anyhow::anyhow!(
                "key file {} is not sealed, but its keystore is encrypted; \
                 import the key with `ferrite wallet import` instead of copying the file",
                path.display()
            )
        })?;
        anyhow::ensure!(
            file.version == FORMAT_VERSION && file.cipher == CIPHER,
            "key file {} is sealed with {} version {}; this ferrite knows {CIPHER} version {FORMAT_VERSION}",
            path.display(),
            file.cipher,
            file.version
        );
        self.open_sealed(name, &file.sealed).map_err(|_| {
            anyhow::anyhow!(
                "key file {} failed its integrity check: it was altered, or copied from another \
                 address's file or another keystore",
                path.display()
            )
        })
    }
}

/// Whether `bytes` are a sealed key file (to name the problem when one sits
/// in a keystore without its marker).
pub(crate) fn is_sealed_file(bytes: &[u8]) -> bool {
    serde_json::from_slice::<SealedFile>(bytes).is_ok()
}

/// Creates `dir` if needed, and makes it its owner's only (mode 0700).
pub(crate) fn prepare_dir(dir: &Path) -> anyhow::Result<()> {
    fs::create_dir_all(dir).with_context(|| format!("create keystore {}", dir.display()))?;
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
        .with_context(|| format!("restrict keystore {}", dir.display()))
}

/// Writes `bytes` to `path` so that `path` holds either its old content or
/// all of the new, never a part: a temporary file beside it (mode 0600),
/// synced, renamed over `path`, and the directory synced.
pub fn write_private_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let dir = path
        .parent()
        .with_context(|| format!("{} has no directory", path.display()))?;
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .with_context(|| format!("file name of {}", path.display()))?;
    // A leading dot: no keystore reader takes it for an address.
    let tmp = dir.join(format!(".{name}.tmp-{}", hex::encode(random::<6>())));
    let result = (|| {
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
            .with_context(|| format!("create {}", tmp.display()))?;
        f.write_all(bytes)
            .and_then(|()| f.sync_all())
            .with_context(|| format!("write {}", tmp.display()))?;
        fs::rename(&tmp, path).with_context(|| format!("replace {}", path.display()))?;
        fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .with_context(|| format!("sync {}", dir.display()))
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passphrase_file_loses_one_final_newline_only() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("p");
        fs::write(&f, "correct horse \n").unwrap();
        assert_eq!(
            Passphrase::from_file(&f).unwrap().as_bytes(),
            b"correct horse "
        );
        fs::write(&f, "a\r\n").unwrap();
        assert_eq!(Passphrase::from_file(&f).unwrap().as_bytes(), b"a");
        fs::write(&f, "\n").unwrap();
        let err = Passphrase::from_file(&f).unwrap_err();
        assert!(format!("{err:#}").contains("empty"), "{err:#}");
        assert_eq!(
            format!("{:?}", Passphrase::new("x".into()).unwrap()),
            "Passphrase(..)"
        );
    }

    #[test]
    fn kdf_params_are_checked() {
        KdfParams::default().validate().unwrap();
        let huge = KdfParams {
            memory_kib: MAX_MEMORY_KIB + 1,
            ..KdfParams::default()
        };
        assert!(huge.validate().is_err());
        let no_passes = KdfParams {
            iterations: 0,
            ..KdfParams::default()
        };
        assert!(no_passes.validate().is_err());
    }

    #[test]
    fn atomic_write_replaces_and_restricts_and_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        fs::write(&path, b"old").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        write_private_atomic(&path, b"new").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"new");
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("f")]);
    }
}

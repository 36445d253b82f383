//! API tokens, as Lotus makes them: an HS256 JWT whose claims are
//! `{"Allow": ["read", "write", ...]}`, signed with a secret kept in the
//! keystore as Lotus's `auth-jwt-private` key. Permissions are matched
//! exactly, so a token carries every level up to the one it was made for.

use std::collections::HashSet;
use std::fs;
use std::path::Path;

use anyhow::Context;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use serde::{Deserialize, Serialize};

/// The keystore file of the secret: base32("auth-jwt-private"), as Lotus names it.
pub const SECRET_FILE: &str = "MF2XI2BNNJ3XILLQOJUXMYLUMU";

/// An API permission.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Permission {
    /// Read chain state.
    Read,
    /// Send messages, manage the wallet's key list.
    Write,
    /// Sign with the wallet's keys.
    Sign,
    /// Administer the node (make tokens).
    Admin,
}

impl Permission {
    /// All levels, lowest first.
    pub const ALL: [Permission; 4] = [
        Permission::Read,
        Permission::Write,
        Permission::Sign,
        Permission::Admin,
    ];

    /// The lowercase name.
    pub fn name(self) -> &'static str {
        match self {
            Permission::Read => "read",
            Permission::Write => "write",
            Permission::Sign => "sign",
            Permission::Admin => "admin",
        }
    }

    /// Every level up to and including `self`, as `lotus auth create-token --perm` grants.
    pub fn up_to(self) -> Vec<Permission> {
        Permission::ALL.into_iter().filter(|p| *p <= self).collect()
    }
}

impl std::str::FromStr for Permission {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Permission::ALL
            .into_iter()
            .find(|p| p.name() == s)
            .ok_or_else(|| format!("unknown permission {s:?}: use read, write, sign or admin"))
    }
}

#[derive(Serialize, Deserialize)]
struct Claims {
    #[serde(rename = "Allow")]
    allow: Vec<Permission>,
}

#[derive(Serialize, Deserialize)]
struct SecretFile {
    #[serde(rename = "Type")]
    key_type: String,
    #[serde(rename = "PrivateKey")]
    private_key: String,
}

/// Makes and checks tokens.
#[derive(Clone)]
pub struct ApiAuth {
    secret: Vec<u8>,
}

impl std::fmt::Debug for ApiAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiAuth")
    }
}

impl ApiAuth {
    /// Loads the secret from `keystore`, creating it on first use.
    pub fn load_or_create(keystore: &Path) -> anyhow::Result<Self> {
        let path = keystore.join(SECRET_FILE);
        if path.exists() {
            let f: SecretFile = serde_json::from_slice(&fs::read(&path)?)
                .with_context(|| format!("parse {}", path.display()))?;
            let secret = B64.decode(f.private_key).context("decode API secret")?;
            return Ok(Self { secret });
        }
        fs::create_dir_all(keystore)?;
        let mut secret = vec![0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut secret);
        let file = SecretFile {
            key_type: "jwt-hmac-secret".to_string(),
            private_key: B64.encode(&secret),
        };
        crate::wallet::write_private(&path, &serde_json::to_vec(&file)?)?;
        Ok(Self { secret })
    }

    /// A token allowing exactly `perms`.
    pub fn create_token(&self, perms: &[Permission]) -> anyhow::Result<String> {
        let claims = Claims {
            allow: perms.to_vec(),
        };
        Ok(jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(&self.secret),
        )?)
    }

    /// The permissions of a valid token; an error for a forged or malformed one.
    pub fn verify(&self, token: &str) -> anyhow::Result<Vec<Permission>> {
        let mut v = Validation::new(Algorithm::HS256);
        v.required_spec_claims = HashSet::new();
        v.validate_exp = false;
        let data =
            jsonwebtoken::decode::<Claims>(token, &DecodingKey::from_secret(&self.secret), &v)?;
        Ok(data.claims.allow)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_forgeries_fail() {
        let dir = tempfile::tempdir().unwrap();
        let auth = ApiAuth::load_or_create(dir.path()).unwrap();
        let t = auth.create_token(&Permission::Write.up_to()).unwrap();
        assert_eq!(
            auth.verify(&t).unwrap(),
            [Permission::Read, Permission::Write]
        );
        // The same secret after a restart.
        let again = ApiAuth::load_or_create(dir.path()).unwrap();
        assert!(again.verify(&t).is_ok());
        let other = ApiAuth::load_or_create(tempfile::tempdir().unwrap().path()).unwrap();
        assert!(other.verify(&t).is_err());
        assert!(auth.verify("not.a.token").is_err());
        // Lotus's header and claim names.
        let payload = t.split('.').nth(1).unwrap();
        let claims = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap();
        assert_eq!(claims, br#"{"Allow":["read","write"]}"#);
    }
}

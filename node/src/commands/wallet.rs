//! `ferrite wallet list|new|import|export|init-encrypted`: the keys of
//! `<home>/keystore`, read and written directly (as lotus-shed's keyinfo
//! does), so they work with no node running. A running node reads its keys
//! at its start; it sees a key made here once restarted.

use std::io::{IsTerminal, Read};
use std::path::Path;

use anyhow::Context;
use ferrite_chain::wallet::{self, KdfParams, Passphrase, PrivateKey, Wallet};
use fvm_shared::address::Address;
use zeroize::Zeroizing;

use crate::cli::{GlobalArgs, PassphraseArgs, WalletArgs, WalletCommand};

pub fn run(args: WalletArgs, global: &GlobalArgs) -> anyhow::Result<()> {
    let dir = global.home().join("keystore");
    let WalletArgs {
        mut passphrase,
        command,
    } = args;
    match command {
        WalletCommand::List => list(&dir),
        WalletCommand::New { key_type } => {
            let mut w = open(&dir, &mut passphrase)?;
            println!("{}", w.new_key(key_type)?);
            note_plain(&w);
            Ok(())
        }
        WalletCommand::Import { file } => {
            let text = read_key_text(file.as_deref())?;
            let key = PrivateKey::from_lotus_export(&text).context("read the key")?;
            let mut w = open(&dir, &mut passphrase)?;
            let addr = w.import(key)?;
            println!("imported key {addr}");
            note_plain(&w);
            Ok(())
        }
        WalletCommand::Export { address } => {
            let addr: Address = address
                .parse()
                .with_context(|| format!("parse address {address:?}"))?;
            let w = open(&dir, &mut passphrase)?;
            let key = w.key(&addr).with_context(|| {
                format!("no key for {addr} in the keystore in {}", dir.display())
            })?;
            let text = key.to_lotus_export()?;
            eprintln!(
                "WARNING: this prints the private key of {addr}; whoever sees it can spend its funds"
            );
            println!("{}", text.as_str());
            Ok(())
        }
        WalletCommand::InitEncrypted {
            kdf_memory_kib,
            kdf_iterations,
        } => {
            let defaults = KdfParams::default();
            let kdf = KdfParams {
                memory_kib: kdf_memory_kib.unwrap_or(defaults.memory_kib),
                iterations: kdf_iterations.unwrap_or(defaults.iterations),
                ..defaults
            };
            kdf.validate()?;
            let pass = given_passphrase(&mut passphrase)?;
            let pass = match pass {
                Some(p) => p,
                None if std::io::stdin().is_terminal() => prompt_new(&dir)?,
                None => anyhow::bail!(
                    "no passphrase for the new keystore: give it in FERRITE_KEYSTORE_PASSPHRASE \
                     or with --passphrase-file FILE, or run the command in a terminal"
                ),
            };
            Wallet::create_encrypted(&dir, &pass, kdf)?;
            println!(
                "created an encrypted keystore in {} (Argon2id, {} KiB, {} passes); \
                 keep the passphrase safe: the keys cannot be read without it",
                dir.display(),
                kdf.memory_kib,
                kdf.iterations
            );
            if kdf.memory_kib < defaults.memory_kib || kdf.iterations < defaults.iterations {
                eprintln!(
                    "WARNING: the KDF cost is below the default ({} KiB, {} passes): a stolen \
                     keystore is cheaper to attack",
                    defaults.memory_kib, defaults.iterations
                );
            }
            Ok(())
        }
    }
}

fn list(dir: &Path) -> anyhow::Result<()> {
    let info = Wallet::inspect(dir)?;
    eprintln!(
        "keystore {} ({})",
        dir.display(),
        if info.encrypted { "encrypted" } else { "plain" }
    );
    if info.addresses.is_empty() {
        eprintln!("no keys");
        return Ok(());
    }
    let default = wallet::default_address(&info.addresses);
    let width = info
        .addresses
        .iter()
        .map(|a| a.to_string().len())
        .max()
        .unwrap_or(0);
    println!("{:<width$}  {:<9}  Default", "Address", "Type");
    for addr in &info.addresses {
        let kind = match addr.protocol() {
            fvm_shared::address::Protocol::Secp256k1 => "secp256k1",
            fvm_shared::address::Protocol::BLS => "bls",
            _ => "?",
        };
        let mark = if Some(*addr) == default { "X" } else { "" };
        println!("{:<width$}  {kind:<9}  {mark}", addr.to_string());
    }
    Ok(())
}

/// Says so when a key went into a plain keystore.
fn note_plain(w: &Wallet) {
    if !w.is_encrypted() {
        eprintln!(
            "note: the keystore in {} is plain: its keys are stored unencrypted, as Lotus stores \
             them (fine for a devnet; on a real network start with `ferrite wallet init-encrypted`)",
            w.dir().display()
        );
    }
}

/// Opens the keystore, asking for its passphrase only if it is encrypted.
pub(crate) fn open(dir: &Path, args: &mut PassphraseArgs) -> anyhow::Result<Wallet> {
    if !Wallet::inspect(dir)?.encrypted {
        if given_passphrase(args)?.is_some() {
            eprintln!(
                "note: the keystore in {} is plain (not encrypted); the passphrase is not used",
                dir.display()
            );
        }
        return Wallet::open(dir);
    }
    let pass = match given_passphrase(args)? {
        Some(p) => Some(p),
        None if std::io::stdin().is_terminal() => Some(prompt(&format!(
            "Passphrase for the keystore in {}: ",
            dir.display()
        ))?),
        None => None,
    };
    Wallet::open_with(dir, pass.as_ref())
}

/// The passphrase from --passphrase-file, else from the environment.
fn given_passphrase(args: &mut PassphraseArgs) -> anyhow::Result<Option<Passphrase>> {
    if let Some(file) = &args.passphrase_file {
        return Passphrase::from_file(file).map(Some);
    }
    match args.passphrase.take() {
        Some(p) => Passphrase::new(p)
            .context("read FERRITE_KEYSTORE_PASSPHRASE")
            .map(Some),
        None => Ok(None),
    }
}

fn prompt(text: &str) -> anyhow::Result<Passphrase> {
    let p = rpassword::prompt_password(text).context("read the passphrase")?;
    Passphrase::new(p)
}

fn prompt_new(dir: &Path) -> anyhow::Result<Passphrase> {
    let first = Zeroizing::new(
        rpassword::prompt_password(format!(
            "New passphrase for the keystore in {}: ",
            dir.display()
        ))
        .context("read the passphrase")?,
    );
    let again = Zeroizing::new(
        rpassword::prompt_password("The same passphrase again: ").context("read the passphrase")?,
    );
    anyhow::ensure!(*first == *again, "the two passphrases differ");
    Passphrase::new(first.to_string())
}

/// The key to import: from `file`, or stdin for `-` or none (read without
/// echo when stdin is a terminal).
fn read_key_text(file: Option<&Path>) -> anyhow::Result<Zeroizing<String>> {
    match file {
        Some(path) if path != Path::new("-") => Ok(Zeroizing::new(
            std::fs::read_to_string(path)
                .with_context(|| format!("read key file {}", path.display()))?,
        )),
        _ if std::io::stdin().is_terminal() => Ok(Zeroizing::new(
            rpassword::prompt_password("Private key (hex, as lotus wallet export prints it): ")
                .context("read the key")?,
        )),
        _ => {
            let mut text = Zeroizing::new(String::new());
            std::io::stdin()
                .read_to_string(&mut text)
                .context("read the key from stdin")?;
            Ok(text)
        }
    }
}

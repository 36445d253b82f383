//! `ferrite chain deploy-actor --evm`, `chain call` and `chain send --data`:
//! Solidity contracts from the node's wallet, with Filecoin messages (as
//! `lotus evm deploy` and `lotus evm invoke`): the EAM's `CreateExternal`
//! to deploy,
//! `InvokeContract` to call, a read-only `StateCall` for `call`.

use std::path::Path;

use anyhow::Context;
use ferrite_chain::api::Chain;
use ferrite_chain::eth::EthAddress;
use ferrite_chain::eth::eam;
use ferrite_chain::rpc::client::LotusClient;
use ferrite_chain::rpc::json::address;
use fvm_shared::address::Address;
use fvm_shared::econ::TokenAmount;
use fvm_shared::error::ExitCode;

/// The EVM actor's exit code for a revert (its return is the revert data).
const REVERTED: ExitCode = ExitCode::new(33);

/// A recipient: a Filecoin address, or an Ethereum 0x address (a masked ID
/// becomes its f0, any other its f410).
pub fn parse_target(text: &str) -> anyhow::Result<Address> {
    if text.starts_with("0x") || text.starts_with("0X") {
        let eth: EthAddress = text
            .parse()
            .map_err(|e| anyhow::anyhow!("{text:?} is not an Ethereum address: {e}"))?;
        return Ok(eth.to_filecoin());
    }
    address::parse(text).map_err(|e| anyhow::anyhow!("{text:?} is not an address: {e}"))
}

/// `0x`-hex data (the prefix optional, whitespace around it ignored).
pub fn parse_hex(text: &str, what: &str) -> anyhow::Result<Vec<u8>> {
    let t = text.trim();
    let digits = t.strip_prefix("0x").unwrap_or(t);
    hex::decode(digits).with_context(|| format!("{what} is not hex"))
}

/// Init code from a file: hex (as solc's `--bin` writes it) or raw bytes.
pub fn read_initcode(path: &Path) -> anyhow::Result<Vec<u8>> {
    let bytes = std::fs::read(path).with_context(|| format!("read {}", path.display()))?;
    let code = match std::str::from_utf8(&bytes) {
        Ok(text) if is_hex_text(text) => parse_hex(text, &path.display().to_string())?,
        _ => bytes,
    };
    anyhow::ensure!(!code.is_empty(), "{} holds no bytecode", path.display());
    Ok(code)
}

fn is_hex_text(text: &str) -> bool {
    let t = text.trim();
    let digits = t.strip_prefix("0x").unwrap_or(t);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The sender: `--from`, or the node's default wallet address.
pub async fn sender(client: &LotusClient, from: Option<String>) -> anyhow::Result<Address> {
    match from {
        Some(f) => address::parse(&f).map_err(anyhow::Error::msg),
        None => {
            let a: ferrite_chain::rpc::json::AddressJson = client
                .request("WalletDefaultAddress", serde_json::json!([]))
                .await?;
            Ok(a.0)
        }
    }
}

/// What a failed contract call says: its exit code, and the revert data
/// (hex, with a Solidity `Error(string)` decoded) where it reverted.
fn failure(exit: ExitCode, ret: &[u8]) -> String {
    if exit != REVERTED {
        return format!("exit code {exit}");
    }
    match eam::decode_output(ret) {
        Ok(data) => match revert_reason(&data) {
            Some(reason) => format!("reverted: {reason} (0x{})", hex::encode(&data)),
            None => format!("reverted with data 0x{}", hex::encode(&data)),
        },
        Err(_) => format!("reverted (return 0x{})", hex::encode(ret)),
    }
}

/// Solidity's `Error(string)` revert reason, if that is what `data` is.
fn revert_reason(data: &[u8]) -> Option<String> {
    let body = data.strip_prefix(&[0x08, 0xc3, 0x79, 0xa0])?;
    let len = usize::try_from(u64::from_be_bytes(body.get(56..64)?.try_into().ok()?)).ok()?;
    let text = body.get(64..64usize.checked_add(len)?)?;
    String::from_utf8(text.to_vec()).ok()
}

/// `chain deploy-actor --evm FILE [--args HEX] [--value FIL] [--from ADDR]`.
pub async fn deploy(
    client: &LotusClient,
    file: &Path,
    args: Option<String>,
    value: TokenAmount,
    from: Option<String>,
) -> anyhow::Result<()> {
    let mut initcode = read_initcode(file)?;
    if let Some(a) = args {
        initcode.extend(parse_hex(&a, "--args")?);
    }
    let from = sender(client, from).await?;
    let msg = eam::create_message(from, &initcode, value)?;
    let cid = client.send(msg).await?;
    println!("message {cid} pushed; waiting for it to execute");
    let e = client.wait(&cid, 0).await?;
    anyhow::ensure!(
        e.receipt.exit_code.is_success(),
        "deploying failed: {}",
        failure(e.receipt.exit_code, e.receipt.return_data.bytes())
    );
    let created = eam::decode_create(e.receipt.return_data.bytes())?;
    let eth = created
        .eth()
        .context("the EAM returned an Ethereum address of the wrong length")?;
    println!(
        "deployed at height {} (gas used {})",
        e.height, e.receipt.gas_used
    );
    println!("id address:       f0{}", created.actor_id);
    if let Some(robust) = created.robust_address {
        println!("robust address:   {robust}");
    }
    println!("f410 address:     {}", eth.to_filecoin());
    println!("ethereum address: {}", eth.to_hex());
    Ok(())
}

/// `chain call TO DATA [--from ADDR]`: read-only, on the head's state.
pub async fn call(
    client: &LotusClient,
    to: &str,
    data: &str,
    from: Option<String>,
) -> anyhow::Result<()> {
    let to = parse_target(to)?;
    let calldata = parse_hex(data, "the calldata")?;
    let from = sender(client, from).await?;
    let msg = eam::invoke_message(from, to, &calldata, TokenAmount::default())?;
    let r = client.call(msg).await?;
    anyhow::ensure!(
        r.exit_code.is_success(),
        "the call failed: {}",
        failure(r.exit_code, r.return_data.bytes())
    );
    println!(
        "0x{}",
        hex::encode(eam::decode_output(r.return_data.bytes())?)
    );
    Ok(())
}

/// `chain send TO AMOUNT --data HEX`: InvokeContract, waited for.
pub async fn invoke(
    client: &LotusClient,
    from: Address,
    to: Address,
    value: TokenAmount,
    data: &str,
) -> anyhow::Result<()> {
    let calldata = parse_hex(data, "--data")?;
    let msg = eam::invoke_message(from, to, &calldata, value)?;
    // A call that would revert is refused with its revert data (gas
    // estimation would fail without it), and nothing is sent.
    let trial = client.call(msg.clone()).await?;
    anyhow::ensure!(
        trial.exit_code.is_success(),
        "not sent: the call fails on the head's state: {}",
        failure(trial.exit_code, trial.return_data.bytes())
    );
    let cid = client.send(msg).await?;
    println!("message {cid} pushed; waiting for it to execute");
    let e = client.wait(&cid, 0).await?;
    anyhow::ensure!(
        e.receipt.exit_code.is_success(),
        "message {cid} failed: {}",
        failure(e.receipt.exit_code, e.receipt.return_data.bytes())
    );
    println!(
        "executed at height {} (gas used {})",
        e.height, e.receipt.gas_used
    );
    println!(
        "returned 0x{}",
        hex::encode(eam::decode_output(e.receipt.return_data.bytes())?)
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_read_filecoin_and_ethereum_forms() {
        let masked = format!("0xff{}{:016x}", "00".repeat(11), 1234u64);
        assert_eq!(parse_target(&masked).unwrap(), Address::new_id(1234));
        let eth = format!("0x{}", "ab".repeat(20));
        let f410 = parse_target(&eth).unwrap();
        assert_eq!(f410.protocol(), fvm_shared::address::Protocol::Delegated);
        assert_eq!(parse_target(&f410.to_string()).unwrap(), f410);
        assert!(parse_target("0x1234").is_err());
        assert!(parse_target("f9nope").is_err());
    }

    #[test]
    fn initcode_is_hex_or_raw_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let hex_file = dir.path().join("Store.bin");
        std::fs::write(&hex_file, "0x6080604052\n").unwrap();
        assert_eq!(
            read_initcode(&hex_file).unwrap(),
            vec![0x60, 0x80, 0x60, 0x40, 0x52]
        );
        let raw = dir.path().join("Store.raw");
        std::fs::write(&raw, [0x60, 0x80, 0xff]).unwrap();
        assert_eq!(read_initcode(&raw).unwrap(), vec![0x60, 0x80, 0xff]);
        let empty = dir.path().join("empty");
        std::fs::write(&empty, "").unwrap();
        assert!(
            read_initcode(&empty)
                .unwrap_err()
                .to_string()
                .contains("no bytecode")
        );
        assert!(read_initcode(&dir.path().join("missing")).is_err());
        assert!(parse_hex("0xzz", "the calldata").is_err());
    }

    #[test]
    fn a_revert_reason_is_decoded() {
        // Error("no") as Solidity encodes it.
        let mut data = vec![0x08, 0xc3, 0x79, 0xa0];
        let mut word = [0u8; 32];
        word[31] = 0x20;
        data.extend(word);
        word[31] = 2;
        data.extend(word);
        let mut text = [0u8; 32];
        text[..2].copy_from_slice(b"no");
        data.extend(text);
        assert_eq!(revert_reason(&data).as_deref(), Some("no"));
        assert_eq!(revert_reason(&data[..40]), None);
        let ret = fvm_ipld_encoding::to_vec(&fvm_ipld_encoding::BytesSer(&data)).unwrap();
        assert!(failure(REVERTED, &ret).starts_with("reverted: no"));
        assert_eq!(failure(ExitCode::USR_FORBIDDEN, &[]), "exit code 18");
    }
}

//! `ferrite chain head|advance|send|deploy-actor|call`: a client of the
//! running node's JSON-RPC API, found through `<home>/api` and
//! `<home>/token`; contracts in [`contract`].

mod contract;

use anyhow::Context;
use ferrite_chain::api::Chain;
use ferrite_chain::message::transfer;
use ferrite_chain::rpc::client::LotusClient;
use fvm_shared::econ::TokenAmount;

use crate::cli::{ChainCommand, GlobalArgs};

/// A client of the node whose home is `global`'s.
pub fn client(global: &GlobalArgs) -> anyhow::Result<LotusClient> {
    let home = global.home();
    let url = std::fs::read_to_string(home.join("api")).with_context(|| {
        format!(
            "read {}: is the node running (`ferrite devnet`)?",
            home.join("api").display()
        )
    })?;
    let token = std::fs::read_to_string(home.join("token")).ok();
    Ok(LotusClient::new(
        url.trim(),
        token.map(|t| t.trim().to_string()),
    )?)
}

pub fn run(cmd: ChainCommand, global: &GlobalArgs) -> anyhow::Result<()> {
    let client = client(global)?;
    super::runtime()?.block_on(async move {
        match cmd {
            ChainCommand::Head => {
                let head = client.head().await?;
                println!("height: {}", head.height);
                for c in head.key {
                    println!("block:  {c}");
                }
            }
            ChainCommand::Advance { epochs } => {
                let ts: serde_json::Value = client
                    .request_full(
                        ferrite_chain::rpc::server::FERRITE_CHAIN_ADVANCE,
                        serde_json::json!([epochs]),
                    )
                    .await?;
                println!("height: {}", ts["Height"]);
            }
            ChainCommand::Send {
                to,
                amount,
                from,
                data,
            } => {
                let to = contract::parse_target(&to)?;
                let value = parse_fil(&amount)?;
                let from = contract::sender(&client, from).await?;
                if let Some(data) = data {
                    return contract::invoke(&client, from, to, value, &data).await;
                }
                let cid = client.send(transfer(from, to, value)).await?;
                println!("message {cid} pushed; waiting for it to execute");
                let e = client.wait(&cid, 0).await?;
                anyhow::ensure!(
                    e.receipt.exit_code.is_success(),
                    "message {cid} failed with exit code {}",
                    e.receipt.exit_code
                );
                println!(
                    "executed at height {} (gas used {})",
                    e.height, e.receipt.gas_used
                );
            }
            ChainCommand::DeployActor {
                evm,
                args,
                value,
                from,
            } => contract::deploy(&client, &evm, args, parse_fil(&value)?, from).await?,
            ChainCommand::Call { to, data, from } => {
                contract::call(&client, &to, &data, from).await?
            }
        }
        Ok(())
    })
}

/// `1.5` (FIL, up to 18 decimals, exactly) into attoFIL; a ` FIL` suffix is allowed.
pub(super) fn parse_fil(text: &str) -> anyhow::Result<TokenAmount> {
    let t = text.trim();
    let t = t
        .strip_suffix("FIL")
        .or_else(|| t.strip_suffix("fil"))
        .unwrap_or(t)
        .trim();
    let (whole, frac) = t.split_once('.').unwrap_or((t, ""));
    let ok = !(whole.is_empty() && frac.is_empty())
        && whole.bytes().all(|b| b.is_ascii_digit())
        && frac.bytes().all(|b| b.is_ascii_digit());
    anyhow::ensure!(ok, "invalid FIL amount {text:?}: want e.g. 1.5");
    anyhow::ensure!(
        frac.len() <= 18,
        "invalid FIL amount {text:?}: more than 18 decimals"
    );
    let atto =
        <fvm_shared::bigint::BigInt as std::str::FromStr>::from_str(&format!("{whole}{frac:0<18}"))
            .with_context(|| format!("invalid FIL amount {text:?}"))?;
    Ok(TokenAmount::from_atto(atto))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fil_amounts_parse_exactly() {
        assert_eq!(parse_fil("1").unwrap(), TokenAmount::from_whole(1));
        assert_eq!(
            parse_fil("0.5").unwrap(),
            TokenAmount::from_nano(500_000_000)
        );
        assert_eq!(
            parse_fil("2.000000000000000001")
                .unwrap()
                .atto()
                .to_string(),
            "2000000000000000001"
        );
        assert_eq!(
            parse_fil("0.5 FIL").unwrap(),
            TokenAmount::from_nano(500_000_000)
        );
        for bad in ["", "x", "1.2.3", "0.0000000000000000001", "-1", "1e3"] {
            assert!(parse_fil(bad).is_err(), "{bad}");
        }
    }
}

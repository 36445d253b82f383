//! `ferrite auth create-token`.

use anyhow::Context;
use ferrite_chain::auth::{ApiAuth, Permission};

use crate::cli::{AuthCommand, GlobalArgs};

pub fn run(cmd: AuthCommand, global: &GlobalArgs) -> anyhow::Result<()> {
    match cmd {
        AuthCommand::CreateToken { perm } => {
            let perm: Permission = perm.parse().map_err(anyhow::Error::msg)?;
            let keystore = global.home().join("keystore");
            anyhow::ensure!(
                keystore.join(ferrite_chain::auth::SECRET_FILE).exists(),
                "no API secret in {}: start the node once (`ferrite devnet`) to create it",
                keystore.display()
            );
            let auth = ApiAuth::load_or_create(&keystore).context("load the API secret")?;
            println!("{}", auth.create_token(&perm.up_to())?);
            Ok(())
        }
    }
}

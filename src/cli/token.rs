//! `scholargraph token`: signs a development token for trying the API in
//! GraphiQL. Only with the HS256 development secret (`JWT_SECRET`).
use std::time::Duration;

use anyhow::{bail, Context};
use clap::Args;

#[derive(Debug, Args)]
pub struct TokenArgs {
    /// The subject (`sub`): who the token speaks for.
    #[arg(long)]
    sub: String,
    /// An ORCID iD to put in the `orcid` claim, as if the identity provider verified it.
    #[arg(long)]
    orcid: Option<String>,
    /// Roles for the `roles` claim, comma-separated (e.g. `moderator`).
    #[arg(long, value_delimiter = ',')]
    roles: Vec<String>,
    /// Lifetime: a number with `s`, `m`, `h` or `d` (e.g. `90m`, `1h`).
    #[arg(long, default_value = "1h", value_parser = parse_ttl)]
    ttl: Duration,
    /// The HS256 development secret the server is configured with.
    #[arg(long, env = "JWT_SECRET", hide_env_values = true)]
    jwt_secret: Option<String>,
}

fn parse_ttl(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number.parse().map_err(|_| format!("`{text}` is not a duration like 90m or 1h"))?;
    let seconds = match unit {
        "" | "s" => number,
        "m" => number * 60,
        "h" => number * 3600,
        "d" => number * 86_400,
        _ => return Err(format!("unknown unit `{unit}`: use s, m, h or d")),
    };
    if seconds == 0 {
        return Err("the lifetime must be positive".to_owned());
    }
    Ok(Duration::from_secs(seconds))
}

pub fn run(args: TokenArgs) -> anyhow::Result<()> {
    let Some(secret) = args.jwt_secret.filter(|s| !s.is_empty()) else {
        bail!("`token` needs the HS256 development secret: set JWT_SECRET (the same as the server's)");
    };
    let token = crate::auth::issue_dev_token(&secret, &args.sub, args.orcid.as_deref(), &args.roles, args.ttl)
        .context("signing the token")?;
    println!("{token}");
    Ok(())
}

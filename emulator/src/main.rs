//! `bonusplus-emulator --listen 127.0.0.1:8081 --key demo-key [--latency-ms N]`
//!
//! Serves the emulated BonusPlus API with one demo tenant and one demo customer; drive it
//! further through `/__control/...`.

use std::net::SocketAddr;
use std::time::Duration;

use bonusplus_emulator::{Emulator, NewCertificate, NewCustomer, Person, TenantRules};
use clap::Parser;
use rust_decimal::Decimal;
use tracing_subscriber::EnvFilter;

const DEMO_PHONE: &str = "79990000001";
const DEMO_BALANCE: i64 = 500;
const DEMO_CARD: &str = "2000000051420";
const DEMO_CERTIFICATE: &str = "0c0ffee0-0000-4000-8000-000000000001";

#[derive(Parser, Debug)]
#[command(version, about = "An in-memory BonusPlus API emulator")]
struct Args {
    /// Address to listen on.
    #[arg(long, env = "EMULATOR_LISTEN", default_value = "127.0.0.1:8081")]
    listen: SocketAddr,
    /// API key of the demo tenant (clients send it base64-encoded).
    #[arg(long, env = "EMULATOR_KEY", default_value = "demo-key")]
    key: String,
    /// Delay added to every BonusPlus call, in milliseconds.
    #[arg(long, env = "EMULATOR_LATENCY_MS", default_value_t = 0)]
    latency_ms: u64,
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    let args = Args::parse();

    let emulator = Emulator::start_on(args.listen).await?;
    emulator.add_tenant(&args.key, TenantRules::default());
    emulator.add_customer_with(
        &args.key,
        NewCustomer {
            person: Person {
                first_name: Some("Демо".to_owned()),
                last_name: Some("Покупатель".to_owned()),
                ..Person::default()
            },
            discount_card_number: Some(DEMO_CARD.to_owned()),
            ..NewCustomer::new(DEMO_PHONE, Decimal::from(DEMO_BALANCE))
        },
    );
    emulator.add_certificate(
        &args.key,
        NewCertificate {
            id: Some(DEMO_CERTIFICATE.to_owned()),
            ..NewCertificate::new("GC-0001", Decimal::from(1000))
        },
    );
    emulator.set_latency(Duration::from_millis(args.latency_ms));
    tracing::info!(
        base_url = %emulator.base_url(),
        key = %args.key,
        customer = DEMO_PHONE,
        card = DEMO_CARD,
        certificate = DEMO_CERTIFICATE,
        "demo tenant ready"
    );

    tokio::signal::ctrl_c().await?;
    tracing::info!("shutting down");
    emulator.shutdown().await;
    Ok(())
}

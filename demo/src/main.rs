//! `bonusbridge-demo` — the sandbox in one command: starts the bridge with the BonusPlus emulator
//! and a MoySklad stand-in, installs a demo shop, prints the settings page and the till page, and
//! serves until Ctrl-C. Only the command line and what it prints: the rest is the library.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use bonusbridge_demo::world::{BONUSPLUS_STORES, CERTIFICATE, CUSTOMERS, RETAIL_STORES};
use bonusbridge_demo::{Demo, DemoOptions};
use clap::Parser;

#[derive(Parser)]
#[command(
    version,
    about = "bonusbridge sandbox: the bridge, BonusPlus emulator and MoySklad stand-in in one process"
)]
struct Cli {
    /// Where the demo serves (127.0.0.1 only; port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:8090")]
    listen: SocketAddr,
    /// The demo's SQLite database, recreated at every start.
    #[arg(long, default_value = "data/demo.db")]
    database: PathBuf,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let options = DemoOptions {
        listen: cli.listen,
        database: cli.database,
    };
    let demo = match Demo::start(options).await {
        Ok(demo) => demo,
        Err(error) => {
            // One line the user can act on.
            eprintln!("bonusbridge-demo: {error}");
            return ExitCode::FAILURE;
        }
    };
    print_guide(&demo);
    let stopped = demo.stopped();
    tokio::select! {
        () = bonusbridge::startup::shutdown_signal() => {},
        () = stopped.cancelled() => {},
    }
    match demo.stop().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("bonusbridge-demo: {error}");
            ExitCode::FAILURE
        }
    }
}

/// What to open and what to type, written at once; a closed stdout is not worth stopping the
/// demo for. Secrets shown are this run's throwaway ones only.
fn print_guide(demo: &Demo) {
    use std::io::Write;
    let _ = std::io::stdout().write_all(guide(demo).as_bytes());
}

fn guide(demo: &Demo) -> String {
    let mapping = RETAIL_STORES
        .iter()
        .zip(BONUSPLUS_STORES)
        .map(|((_, point), store)| format!("«{point}» → «{store}»"))
        .collect::<Vec<_>>()
        .join(", ");
    let mut lines = vec![
        format!(
            "bonusbridge demo is ready in {} ms: the bridge, a BonusPlus emulator and a MoySklad stand-in, all on 127.0.0.1.",
            demo.started_in.as_millis()
        ),
        String::new(),
        "1. Settings page (what the shop's administrator sees in MoySklad):".to_owned(),
        format!("   {}", demo.settings_url),
        format!("   BonusPlus API key: {}", demo.bonusplus_key),
        format!("   Map the points of sale {mapping}, save, and watch the product sync."),
        String::new(),
        "2. Till page (MoySklad's POS, calling the bridge's real LoyaltyAPI):".to_owned(),
        format!("   {}", demo.pos_url),
    ];
    for customer in &CUSTOMERS {
        let card = customer
            .card
            .map(|card| format!(", card {card}"))
            .unwrap_or_default();
        lines.push(format!(
            "   customer {} {}: phone {}{card}, {} bonuses",
            customer.first_name, customer.last_name, customer.phone, customer.balance
        ));
    }
    let (id, number, roubles) = CERTIFICATE;
    lines.push(format!(
        "   gift certificate {number} ({roubles} ₽), id {id}: type the id, or the number once the"
    ));
    lines.push(format!(
        "   app has seen the id or the settings page's «Сертификаты по номеру» has the line {number};{id}"
    ));
    lines.push(String::new());
    lines.push("Ctrl-C stops the demo. Its database is recreated at every start.".to_owned());
    lines.join("\n") + "\n"
}

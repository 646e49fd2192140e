//! The demo command as a user runs it: it prints the settings page and the till page within a few
//! seconds, both work, and it refuses a production configuration and any address but 127.0.0.1
//! with one line.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// "Within seconds" on a loaded CI machine.
const PRINT_LIMIT: Duration = Duration::from_secs(10);

fn demo(database: &Path, listen: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_bonusbridge-demo"));
    command
        .arg("--listen")
        .arg(listen)
        .arg("--database")
        .arg(database)
        .env_remove("BONUSBRIDGE__ENVIRONMENT")
        .env_remove("BONUSBRIDGE_CONFIG")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    command
}

/// Reads the demo's output until it has printed both URLs; panics after [`PRINT_LIMIT`]. The rest
/// of its output keeps being read (a closed pipe would make its next print fail).
async fn printed_urls(child: &mut Child) -> (String, String, String) {
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let (sender, mut receiver) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok(Some(line)) = lines.next_line().await {
            let _ = sender.send(line);
        }
    });
    let mut output = String::new();
    let mut urls = Vec::new();
    let read = async {
        while urls.len() < 2 {
            let Some(line) = receiver.recv().await else {
                break;
            };
            output.push_str(&line);
            output.push('\n');
            if let Some(url) = line.trim().strip_prefix("http://127.0.0.1:") {
                urls.push(format!("http://127.0.0.1:{url}"));
            }
        }
    };
    tokio::time::timeout(PRINT_LIMIT, read)
        .await
        .unwrap_or_else(|_| {
            panic!("no two URLs within {PRINT_LIMIT:?}; printed so far:\n{output}")
        });
    assert_eq!(urls.len(), 2, "the demo ended early; printed:\n{output}");
    (urls[0].clone(), urls[1].clone(), output)
}

#[tokio::test]
async fn prints_the_settings_page_and_the_till_within_seconds() {
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("demo.db");
    let started = Instant::now();
    let mut child = demo(&database, "127.0.0.1:0").spawn().expect("demo starts");
    let (settings_url, pos_url, output) = printed_urls(&mut child).await;
    let elapsed = started.elapsed();
    eprintln!("demo printed both URLs {elapsed:?} after the process started");
    assert!(settings_url.contains("/ui?contextKey="), "{output}");
    assert!(pos_url.ends_with("/demo/pos"), "{output}");
    assert!(output.contains("BonusPlus API key: demo-"), "{output}");
    assert!(database.exists(), "its own database file");
    let base = pos_url.trim_end_matches("/demo/pos");
    let http = reqwest::Client::new();

    // The till page, with the bridge's CSP style (scripts from the same origin only).
    let page = http.get(&pos_url).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("script-src 'self'"), "{csp}");
    let html = page.text().await.unwrap();
    assert!(html.contains("<script src=\"/demo/pos.js\"></script>") && !html.contains("<script>"));
    let script = http
        .get(format!("{base}/demo/pos.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(script.status(), 200);

    // The contextKey works: MoySklad's stand-in knows it as an administrator of the shop.
    let context_key = settings_url
        .split("contextKey=")
        .nth(1)
        .and_then(|rest| rest.split('&').next())
        .unwrap();
    let session: Value = http
        .post(format!("{base}/ui/api/session"))
        .json(&json!({"contextKey": context_key}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(session["admin"], true, "{session}");
    let settings: Value = http
        .get(format!("{base}/ui/api/settings"))
        .bearer_auth(session["sessionToken"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        settings["account"]["status"], "SettingsRequired",
        "installed: {settings}"
    );

    // Until the shop saves its settings the till has no token; the catalogue is there.
    let till: Value = http
        .get(format!("{base}/demo/api/till"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(till["token"], Value::Null);
    assert_eq!(till["retailStores"].as_array().unwrap().len(), 2);
    let products = till["products"].as_array().unwrap();
    assert_eq!(products.len(), 12);
    assert!(products.iter().any(|p| p["weighed"] == true));
    assert!(products.iter().all(|p| p["price"].is_string()));
    child.kill().await.unwrap();
}

async fn refused(database: &Path, listen: &str, environment: Option<&str>) -> String {
    let mut command = demo(database, listen);
    if let Some(environment) = environment {
        command.env("BONUSBRIDGE__ENVIRONMENT", environment);
    }
    let output = tokio::time::timeout(PRINT_LIMIT, command.output())
        .await
        .expect("refused at once")
        .unwrap();
    assert!(!output.status.success());
    assert!(output.stdout.is_empty(), "nothing printed but the error");
    assert!(!database.exists(), "nothing started");
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
    stderr
}

#[tokio::test]
async fn refuses_production_and_other_addresses_than_127_0_0_1() {
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("demo.db");
    let production = refused(&database, "127.0.0.1:0", Some("production")).await;
    assert!(
        production
            .starts_with("bonusbridge-demo: refusing to run with environment = \"production\""),
        "{production}"
    );
    for listen in ["0.0.0.0:0", "[::1]:0"] {
        let stderr = refused(&database, listen, None).await;
        assert!(stderr.contains("127.0.0.1 only"), "{stderr}");
    }
}

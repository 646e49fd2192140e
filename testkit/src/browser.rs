//! Headless Chromium (Debian's `chromium` + `chromedriver` in `/usr/bin`) for the browser tests:
//! a chromedriver on a free port, a WebDriver session with a throwaway profile, and waits for an
//! element or a text. Without them a developer machine skips the test with a note; CI (`CI` set)
//! fails instead, so the browser tests can never silently stop running there.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";

/// chromedriver on a free port, stopped when dropped.
pub struct Driver {
    child: Child,
    port: u16,
    profile: tempfile::TempDir,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Driver {
    /// `None` (with a note) when Chromium or chromedriver is missing on a developer machine.
    ///
    /// # Panics
    /// On CI when they are missing, and when chromedriver cannot be started.
    pub async fn start() -> Option<Driver> {
        if !Path::new(CHROMEDRIVER).exists() || !Path::new(CHROMIUM).exists() {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI must run the browser test: install chromium and chromium-driver"
            );
            eprintln!("browser test skipped: apt-get install chromium chromium-driver to run it");
            return None;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("free port");
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Some(Driver {
            child,
            port,
            profile: tempfile::tempdir().expect("profile dir"),
        })
    }

    /// A browser window of 1100 × 1400 (the settings page's width in MoySklad's frame).
    pub async fn browser(&self) -> Client {
        self.browser_sized(1100, 1400).await
    }

    pub async fn browser_sized(&self, width: u32, height: u32) -> Client {
        let profile = self.profile.path().display().to_string();
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": CHROMIUM,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--disable-dev-shm-usage", format!("--window-size={width},{height}"), "--lang=ru-RU",
                    format!("--user-data-dir={profile}")
                ]
            }),
        );
        ClientBuilder::rustls()
            .expect("rustls connector")
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{}", self.port))
            .await
            .expect("webdriver session")
    }
}

/// Waits up to 15 s for an element matching `css`.
///
/// # Panics
/// When it never appears (the test's failure message names it).
pub async fn wait_for(client: &Client, css: &str) -> fantoccini::elements::Element {
    client
        .wait()
        .at_most(Duration::from_secs(15))
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css} never appeared: {e}"))
}

/// Waits (up to 15 s) until the element's text contains `needle`; returns the text.
pub async fn wait_text(client: &Client, css: &str, needle: &str) -> Result<String, String> {
    let mut text = String::new();
    for _ in 0..150 {
        let element = client
            .find(Locator::Css(css))
            .await
            .map_err(|e| e.to_string())?;
        text = element.text().await.map_err(|e| e.to_string())?;
        if text.contains(needle) {
            return Ok(text);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(format!("{css} never showed «{needle}»; last «{text}»"))
}

/// Writes a screenshot of the window to `target/screenshots/<name>.png` of the workspace.
pub async fn save_screenshot(client: &Client, name: &str) -> PathBuf {
    let png = client.screenshot().await.expect("screenshot");
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("testkit lives in the workspace");
    let path = workspace
        .join("target/screenshots")
        .join(format!("{name}.png"));
    std::fs::create_dir_all(path.parent().expect("a folder")).expect("screenshot folder");
    std::fs::write(&path, png).expect("screenshot written");
    path
}

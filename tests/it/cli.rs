//! The binary itself: a bad configuration or an unreachable database stops it with one line.

use std::process::Command;

fn bonusbridge() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_bonusbridge"));
    command.current_dir(env!("CARGO_MANIFEST_DIR"));
    // Start from a clean slate: no overlay file, no inherited overrides.
    for (key, _) in std::env::vars() {
        if key.starts_with("BONUSBRIDGE") {
            command.env_remove(key);
        }
    }
    command
}

fn assert_one_line_failure(output: std::process::Output, expected: &str) {
    assert!(!output.status.success(), "must exit non-zero");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let lines: Vec<_> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one line, got: {stderr}");
    assert!(
        lines[0].contains(expected),
        "`{}` should mention `{expected}`",
        lines[0]
    );
}

#[test]
fn malformed_setting_stops_startup_with_one_line() {
    let output = bonusbridge()
        .env("BONUSBRIDGE__SERVER__LISTEN", "not-an-address")
        .arg("serve")
        .output()
        .unwrap();
    assert_one_line_failure(output, "server.listen");
}

#[test]
fn unreachable_database_stops_startup_with_one_line() {
    let output = bonusbridge()
        .env(
            "BONUSBRIDGE__DATABASE__URL",
            "postgres://postgres@127.0.0.1:1/none",
        )
        .env("BONUSBRIDGE__DATABASE__CONNECT_TIMEOUT_MS", "1000")
        .env("BONUSBRIDGE__SERVER__LOG_FORMAT", "json")
        .arg("migrate")
        .output()
        .unwrap();
    assert_one_line_failure(output, "database unreachable");
}

#[test]
fn migrate_creates_an_sqlite_database() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("sub/app.db").display()
    );
    let output = bonusbridge()
        .env("BONUSBRIDGE__DATABASE__URL", &url)
        .arg("migrate")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(dir.path().join("sub/app.db").exists());
}

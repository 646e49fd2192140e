//! Configuration loading: defaults work, overlays apply, bad values name the setting.

use std::io::Write;
use std::path::PathBuf;

use bonusbridge::config::Settings;

fn default_file() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("config/default.toml")
}

fn load_with(extra: &str) -> Result<Settings, String> {
    let mut file = tempfile::Builder::new().suffix(".toml").tempfile().unwrap();
    file.write_all(extra.as_bytes()).unwrap();
    Settings::load_from(&default_file(), Some(file.path().to_str().unwrap()), false)
        .map_err(|e| e.to_string())
}

#[test]
fn defaults_load_and_use_sqlite() {
    let settings = Settings::load_from(&default_file(), None, false).unwrap();
    assert!(settings.database.url_is_sqlite());
    assert_eq!(
        settings.bonusplus.base_url.as_str(),
        "https://bonusplus.pro/api/"
    );
}

#[test]
fn overlay_file_overrides_defaults() {
    let settings = load_with("[server]\nlisten = \"0.0.0.0:9000\"\n").unwrap();
    assert_eq!(settings.server.listen.port(), 9000);
}

#[test]
fn malformed_values_name_the_setting() {
    let cases = [
        ("[server]\nlisten = \"nope\"\n", "server.listen"),
        (
            "[server]\npublic_base_url = \"not a url\"\n",
            "server.public_base_url",
        ),
        ("[database]\nurl = \"mysql://x\"\n", "database.url"),
        ("[moysklad]\napp_id = \"x\"\n", "moysklad.app_id"),
        ("[bonusplus]\ntimeout_ms = 0\n", "bonusplus.timeout_ms"),
        (
            "[security]\nactive_key = \"missing\"\n",
            "security.active_key",
        ),
        ("[security.keys]\nshort = \"YWJj\"\n", "security.keys"),
        (
            "[server]\nbody_limit_bytes = \"big\"\n",
            "server.body_limit_bytes",
        ),
        ("environment = \"production\"\n", "moysklad.secret_key"),
    ];
    for (overlay, setting) in cases {
        let error = load_with(overlay).expect_err(overlay);
        assert!(error.contains(setting), "`{error}` should name `{setting}`");
        assert!(!error.contains('\n'), "one line: `{error}`");
    }
}

#[test]
fn unknown_settings_are_refused() {
    let error = load_with("[server]\nlisen = \"0.0.0.0:1\"\n").unwrap_err();
    assert!(error.contains("lisen"), "{error}");
}

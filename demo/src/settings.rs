//! The bridge's settings in the sandbox: the built-in development defaults, pointed at the demo's
//! stand-ins, its own database file and throwaway secrets of this run. The operator's configuration
//! (`BONUSBRIDGE_CONFIG`, `BONUSBRIDGE__…`) is read only to refuse a production one.
//! Must not depend on the till page (`pos`) or the seeded world.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;

use base64::Engine;
use bonusbridge::config::{default_config_path, Settings, CONFIG_FILE_VAR, ENV_PREFIX};
use rand::distributions::{Alphanumeric, DistString};
use rand::RngCore;
use secrecy::SecretString;

use crate::DemoError;

/// The app as the demo's MoySklad knows it (a real app gets these in MoySklad's developer cabinet).
pub const APP_ID: &str = "de300000-0000-4000-8000-000000000001";
pub const APP_UID: &str = "bonusbridge-demo.sandbox";

/// Where the stand-ins listen and what the bridge must trust of them.
pub struct StandIns<'a> {
    pub vendor_api_url: &'a str,
    pub json_api_url: &'a str,
    pub bonusplus_url: &'a str,
    /// The app's secretKey of this run, shared with the MoySklad stand-in.
    pub secret_key: &'a str,
}

/// Refuses a production configuration and any listen address but 127.0.0.1 (the demo hands out
/// a working contextKey and a LoyaltyAPI token to whoever reaches it).
pub fn refuse_unsafe(listen: SocketAddr) -> Result<(), DemoError> {
    if configured_environment()?.eq_ignore_ascii_case("production") {
        return Err(DemoError::Production);
    }
    if listen.ip() != Ipv4Addr::LOCALHOST {
        return Err(DemoError::NotLoopback(listen));
    }
    Ok(())
}

/// `environment` as the service would read it (default file, `BONUSBRIDGE_CONFIG`, environment
/// variables), without validating the rest: a production set-up may lack what the demo never uses.
fn configured_environment() -> Result<String, DemoError> {
    let mut builder =
        config::Config::builder().add_source(config::File::from(default_config_path().as_path()));
    if let Ok(extra) = std::env::var(CONFIG_FILE_VAR) {
        builder = builder.add_source(config::File::with_name(&extra).required(true));
    }
    builder = builder.add_source(
        config::Environment::with_prefix(ENV_PREFIX)
            .prefix_separator("__")
            .separator("__"),
    );
    builder
        .build()
        .and_then(|config| config.get_string("environment"))
        .map_err(|e| DemoError::Config(e.to_string()))
}

/// The bridge's settings for this run: `listen` must be a concrete 127.0.0.1 address.
pub fn demo_settings(
    listen: SocketAddr,
    database: &Path,
    stand_ins: &StandIns<'_>,
) -> Result<Settings, DemoError> {
    let config = |e: &dyn std::fmt::Display| DemoError::Config(e.to_string());
    let mut settings =
        Settings::load_from(&default_config_path(), None, false).map_err(|e| config(&e))?;
    settings.server.listen = listen;
    settings.server.public_base_url = format!("http://{listen}/")
        .parse()
        .map_err(|e| config(&e))?;
    // Quiet by default so the printed URLs stay readable; RUST_LOG still overrides.
    settings.server.log_filter = "warn".to_owned();
    settings.database.url = SecretString::from(format!("sqlite://{}?mode=rwc", database.display()));
    settings.moysklad.app_id = APP_ID.to_owned();
    settings.moysklad.app_uid = APP_UID.to_owned();
    settings.moysklad.secret_key = SecretString::from(stand_ins.secret_key.to_owned());
    settings.moysklad.vendor_api_url = stand_ins.vendor_api_url.parse().map_err(|e| config(&e))?;
    settings.moysklad.json_api_url = stand_ins.json_api_url.parse().map_err(|e| config(&e))?;
    settings.bonusplus.base_url = stand_ins.bonusplus_url.parse().map_err(|e| config(&e))?;
    settings.security.active_key = "demo".to_owned();
    settings.security.keys = BTreeMap::from([("demo".to_owned(), random_encryption_key())]);
    // Small pages, so the product sync of a dozen products is something one can watch.
    settings.sync.page_size = 4;
    settings.validate().map_err(|e| config(&e))?;
    Ok(settings)
}

/// A secret of this run only (the demo database is recreated at every start).
pub fn random_secret() -> String {
    Alphanumeric.sample_string(&mut rand::thread_rng(), 40)
}

fn random_encryption_key() -> SecretString {
    let mut key = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut key);
    SecretString::from(base64::engine::general_purpose::STANDARD.encode(key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_127_0_0_1_is_accepted() {
        for refused in [
            "0.0.0.0:8090",
            "192.168.1.5:8090",
            "[::1]:8090",
            "[::]:8090",
        ] {
            let addr: SocketAddr = refused.parse().unwrap();
            assert!(
                matches!(refuse_unsafe(addr), Err(DemoError::NotLoopback(_))),
                "{refused}"
            );
        }
        assert!(refuse_unsafe("127.0.0.1:8090".parse().unwrap()).is_ok());
    }

    #[test]
    fn settings_point_at_the_stand_ins_with_secrets_of_their_own() {
        let stand_ins = StandIns {
            vendor_api_url: "http://127.0.0.1:1/api/vendor/1.0",
            json_api_url: "http://127.0.0.1:1/api/remap/1.2",
            bonusplus_url: "http://127.0.0.1:2/",
            secret_key: &random_secret(),
        };
        let listen = "127.0.0.1:8090".parse().unwrap();
        let settings = demo_settings(listen, Path::new("data/demo.db"), &stand_ins).unwrap();
        assert_eq!(settings.public_base(), "http://127.0.0.1:8090");
        assert_eq!(settings.bonusplus.base_url.as_str(), "http://127.0.0.1:2/");
        let (active, keys) = settings.encryption_keys().unwrap();
        assert_eq!(
            (active.as_str(), keys.len()),
            ("demo", 1),
            "no development key"
        );
        assert_ne!(
            secrecy::ExposeSecret::expose_secret(&settings.moysklad.secret_key),
            "development-secret-key-change-me-0123456789"
        );
    }
}

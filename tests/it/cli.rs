//! The binary itself: a bad configuration or an unreachable database stops it with one line.

use std::process::Command;

pub fn bonusbridge() -> Command {
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

/// The command exited zero; otherwise its stderr is the failure.
fn assert_succeeded(output: &std::process::Output) {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
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
    assert_succeeded(&output);
    assert!(dir.path().join("sub/app.db").exists());
}

/// `bonusbridge accounts`: the operator's list and detail, on both databases, never a secret.
mod accounts {
    use bonusbridge::store::{
        ActivationRecord, ApiCall, LoyaltySettings, NewOperation, OperationKind, OperationState,
    };

    use super::bonusbridge;
    use crate::support::TestDb;

    const SHOP: &str = "1b2c3d4e-0000-11ee-0a80-000000000001";
    const QUIET: &str = "1b2c3d4e-0000-11ee-0a80-000000000002";
    /// Stands for a sealed secret: it must never reach the report.
    const SEALED: &[u8] = b"SEALED-SECRET-BYTES";

    crate::on_both_backends!(lists_every_account_and_details_one);

    async fn lists_every_account_and_details_one(db: TestDb) {
        let store = db.store().await;
        for (id, name) in [(SHOP, "Магазин у дома"), (QUIET, "Тихий")] {
            store
                .activate_account(&ActivationRecord {
                    account_id: id.to_owned(),
                    app_id: "app".to_owned(),
                    account_name: name.to_owned(),
                    subscription: Some(r#"{"tariffName":"Базовый"}"#.to_owned()),
                    access_token_enc: Some(SEALED.to_vec()),
                })
                .await
                .unwrap();
        }
        store
            .save_settings(&LoyaltySettings {
                account_id: SHOP.to_owned(),
                bonusplus_key_enc: Some(SEALED.to_vec()),
                default_store: "Магазин 1".to_owned(),
                store_map: r#"{"pos-1":"Магазин 1","pos-2":"Магазин 2"}"#.to_owned(),
                external_search: true,
                spend_requires_code: false,
                register_requires_code: false,
                reserve_ttl_secs: 900,
                updated_at: bonusbridge::store::now_ms(),
                updated_by: "admin".to_owned(),
                code_delivery: "own".to_owned(),
                code_message: "Код для кассы: {code}".to_owned(),
            })
            .await
            .unwrap();
        store
            .set_account_status(SHOP, bonusbridge::store::AccountStatus::Activated)
            .await
            .unwrap();
        let now = bonusbridge::store::now_ms();
        let call = |status: u16, at: i64| ApiCall {
            account_id: SHOP.to_owned(),
            endpoint: "POST /loyalty/retaildemand/recalc".to_owned(),
            status,
            error: (status >= 400).then(|| "Сервис БонусПлюс недоступен, повторите".to_owned()),
            at,
        };
        // Three calls today (one refused) and one two days ago, outside the 24-hour window.
        store
            .record_api_calls(&[
                call(200, now - 1000),
                call(200, now - 2000),
                call(502, now - 3000),
                call(200, now - 48 * 3600 * 1000),
            ])
            .await
            .unwrap();
        let (failed, _) = store
            .record_operation(
                &at_pos_1(
                    "op-1",
                    OperationKind::Sale,
                    "sale-1",
                    OperationState::Pending,
                ),
                None,
            )
            .await
            .unwrap();
        store
            .finish_operation(
                &failed.id,
                OperationState::Failed,
                None,
                Some("BonusPlus refused"),
            )
            .await
            .unwrap();
        store
            .record_operation(
                &at_pos_1(
                    "op-2",
                    OperationKind::Return,
                    "ret-1",
                    OperationState::NeedsAttention,
                ),
                None,
            )
            .await
            .unwrap();
        store.start_sync_run("run-1", SHOP, true).await.unwrap();
        // BonusPlus answered a code the app does not know, twice: one item, counted.
        for _ in 0..2 {
            store
                .record_difference(&crate::support::unknown_error_code(SHOP))
                .await
                .unwrap();
        }

        let list = run(&db.url, &[]);
        let lines: Vec<&str> = list.lines().collect();
        assert_eq!(lines.len(), 3, "a header and one line per account:\n{list}");
        let shop = lines
            .iter()
            .find(|l| l.starts_with(SHOP))
            .expect("shop line");
        let columns: Vec<&str> = shop.split_whitespace().collect();
        assert!(shop.contains("Activated"), "{shop}");
        // calls 24h, errors 24h, backlog, failed, then the last sync.
        let numbers: Vec<&str> = columns
            .iter()
            .copied()
            .filter(|c| c.chars().all(|ch| ch.is_ascii_digit()))
            .collect();
        assert_eq!(numbers, ["3", "1", "0", "1"], "{shop}");
        assert!(shop.contains("running (started"), "{shop}");
        let quiet = lines
            .iter()
            .find(|l| l.starts_with(QUIET))
            .expect("quiet line");
        assert!(quiet.contains("never"), "{quiet}");

        let detail = run(&db.url, &[SHOP]);
        for expected in [
            "Магазин у дома",
            "Activated",
            "BonusPlus key   set",
            "2 points of sale mapped; default store set",
            "last 24 h: 3 calls, 1 errors",
            "0 waiting, 1 failed for good",
            "delivery failed: sale sale-1",
            "BonusPlus refused",
            "LoyaltyAPI POST /loyalty/retaildemand/recalc → 502",
            "return without its sale: ret-1",
            "error_code  ×2  GET customer → HTTP 412  {code: number, msg: string}",
            "кодом ошибки, которого приложение не знает",
        ] {
            assert!(detail.contains(expected), "`{expected}` missing:\n{detail}");
        }
        for report in [&list, &detail] {
            assert!(!report.contains("SEALED"), "a secret leaked:\n{report}");
        }

        let unknown = bonusbridge()
            .env("BONUSBRIDGE__DATABASE__URL", &db.url)
            .args(["accounts", "00000000-0000-0000-0000-000000000000"])
            .output()
            .unwrap();
        super::assert_one_line_failure(unknown, "no account");
    }

    /// An operation of the shop at its till `pos-1`, keyed by MoySklad's id.
    fn at_pos_1(id: &str, kind: OperationKind, ms_id: &str, state: OperationState) -> NewOperation {
        NewOperation {
            id: id.to_owned(),
            account_id: SHOP.to_owned(),
            kind,
            idempotency_key: format!("id:{ms_id}"),
            ms_id: Some(ms_id.to_owned()),
            sale_id: None,
            phone: None,
            state,
            payload: "{}".to_owned(),
            retail_store_id: Some("pos-1".to_owned()),
            counterparty_id: None,
            notes: None,
        }
    }

    fn run(url: &str, args: &[&str]) -> String {
        let output = bonusbridge()
            .env("BONUSBRIDGE__DATABASE__URL", url)
            .env("BONUSBRIDGE__SERVER__LOG_FORMAT", "json")
            .arg("accounts")
            .args(args)
            .output()
            .unwrap();
        super::assert_succeeded(&output);
        String::from_utf8(output.stdout).unwrap()
    }
}

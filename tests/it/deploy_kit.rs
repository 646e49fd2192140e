//! The operators' kit in `deploy/`: every metric the Grafana dashboard and the Prometheus alert rules
//! name is exported by the real app's `GET /metrics`, and (where `promtool` is installed, as on CI)
//! every dashboard query is valid PromQL.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::support::pos::{Options, Pos};
use crate::support::TestDb;

crate::on_both_backends!(dashboard_and_alerts_name_only_exported_metrics);

/// Series that Prometheus makes itself rather than scraping them from the app.
const PROMETHEUS_OWN: &[&str] = &["up", "ALERTS", "ALERTS_FOR_STATE"];

const METRICS_TOKEN: &str = "deploy-kit-scrape";

fn deploy_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The `expr` of every query of every panel of the provisioned dashboard(s).
fn dashboard_exprs() -> Vec<String> {
    fn walk(value: &Value, out: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(expr)) = map.get("expr") {
                    out.push(expr.clone());
                }
                map.values().for_each(|v| walk(v, out));
            }
            Value::Array(items) => items.iter().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    let folder = deploy_dir().join("grafana/dashboards");
    let mut exprs = Vec::new();
    for entry in std::fs::read_dir(&folder).expect("deploy/grafana/dashboards") {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "json") {
            let dashboard: Value = serde_json::from_str(&read(&path))
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            walk(&dashboard, &mut exprs);
        }
    }
    exprs
}

/// The `expr` of every rule in a Prometheus rules file: either `expr: <one line>` or a block scalar
/// (`expr: |`) whose lines are indented deeper than `expr:` itself.
fn rule_exprs(yaml: &str) -> Vec<String> {
    let indent = |line: &str| line.len() - line.trim_start().len();
    let lines: Vec<&str> = yaml.lines().collect();
    let mut exprs = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        i += 1;
        let Some(rest) = line.trim_start().strip_prefix("expr:") else {
            continue;
        };
        let rest = rest.trim();
        if rest.starts_with('|') || rest.starts_with('>') {
            let mut body = Vec::new();
            while i < lines.len() && (lines[i].trim().is_empty() || indent(lines[i]) > indent(line))
            {
                body.push(lines[i].trim());
                i += 1;
            }
            exprs.push(body.join("\n").trim().to_owned());
        } else {
            exprs.push(rest.trim_matches(|c| c == '"' || c == '\'').to_owned());
        }
    }
    exprs
}

/// The metric names a PromQL expression selects: identifiers that are not functions, aggregations,
/// keywords, label names (in `{…}` and `by (…)` lists), strings, numbers, durations or Grafana
/// variables.
fn metric_names(expr: &str) -> BTreeSet<String> {
    const KEYWORDS: &[&str] = &[
        "sum",
        "min",
        "max",
        "avg",
        "group",
        "stddev",
        "stdvar",
        "count",
        "count_values",
        "bottomk",
        "topk",
        "quantile",
        "limitk",
        "limit_ratio",
        "by",
        "without",
        "on",
        "ignoring",
        "group_left",
        "group_right",
        "offset",
        "bool",
        "and",
        "or",
        "unless",
        "atan2",
        "inf",
        "nan",
    ];
    const LABEL_LISTS: &[&str] = &[
        "by",
        "without",
        "on",
        "ignoring",
        "group_left",
        "group_right",
    ];
    let chars: Vec<char> = expr.chars().collect();
    let is_start = |c: char| c.is_ascii_alphabetic() || c == '_' || c == ':';
    let is_part = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == ':';
    // Index just past the closing `close` matching the opener at `i`, skipping strings inside.
    let skip_group = |mut i: usize, open: char, close: char| {
        let mut depth = 0;
        let mut quote: Option<char> = None;
        while i < chars.len() {
            let c = chars[i];
            match quote {
                Some(_) if c == '\\' => i += 1,
                Some(q) if c == q => quote = None,
                Some(_) => {}
                None if c == '"' || c == '\'' || c == '`' => quote = Some(c),
                None if c == open => depth += 1,
                None if c == close => {
                    depth -= 1;
                    if depth == 0 {
                        return i + 1;
                    }
                }
                None => {}
            }
            i += 1;
        }
        i
    };
    let next_non_space = |mut i: usize| {
        while i < chars.len() && chars[i].is_whitespace() {
            i += 1;
        }
        i
    };
    let mut names = BTreeSet::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '"' || c == '\'' || c == '`' {
            let mut j = i + 1;
            while j < chars.len() && chars[j] != c {
                j += if chars[j] == '\\' { 2 } else { 1 };
            }
            i = j + 1;
        } else if c == '{' {
            i = skip_group(i, '{', '}');
        } else if c == '[' {
            i = skip_group(i, '[', ']');
        } else if c.is_ascii_digit()
            || (c == '.' && chars.get(i + 1).is_some_and(char::is_ascii_digit))
        {
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '.') {
                i += 1;
            }
        } else if c == '$' {
            i += 1;
            while i < chars.len() && is_part(chars[i]) {
                i += 1;
            }
        } else if is_start(c) {
            let start = i;
            while i < chars.len() && is_part(chars[i]) {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            let after = next_non_space(i);
            if LABEL_LISTS.contains(&word.as_str()) && chars.get(after) == Some(&'(') {
                i = skip_group(after, '(', ')');
            } else if KEYWORDS.contains(&word.to_ascii_lowercase().as_str())
                || chars.get(after) == Some(&'(')
            {
                // An aggregation, keyword or function call: not a metric.
            } else {
                names.insert(word);
            }
        } else {
            i += 1;
        }
    }
    names
}

/// Metric families of a Prometheus text exposition: name → type (`untyped` without a TYPE line).
fn exported_families(text: &str) -> BTreeMap<String, String> {
    let mut families = BTreeMap::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let mut parts = rest.split_whitespace();
            if let (Some(name), Some(kind)) = (parts.next(), parts.next()) {
                families.insert(name.to_owned(), kind.to_owned());
            }
        } else if !line.starts_with('#') && !line.trim().is_empty() {
            let name = line.split(['{', ' ']).next().unwrap_or_default();
            let covered = ["_bucket", "_sum", "_count"].iter().any(|suffix| {
                name.strip_suffix(suffix)
                    .is_some_and(|base| families.contains_key(base))
            });
            if !covered {
                families
                    .entry(name.to_owned())
                    .or_insert_with(|| "untyped".to_owned());
            }
        }
    }
    families
}

/// Whether `name` is a series of an exported family: the family itself, or `_bucket` of a histogram,
/// `_sum` / `_count` of a histogram or summary.
fn is_exported(name: &str, families: &BTreeMap<String, String>) -> bool {
    if families.contains_key(name) {
        return true;
    }
    let kind_of = |suffix: &str| {
        name.strip_suffix(suffix)
            .and_then(|base| families.get(base))
            .map(String::as_str)
    };
    kind_of("_bucket") == Some("histogram")
        || matches!(kind_of("_sum"), Some("histogram" | "summary"))
        || matches!(kind_of("_count"), Some("histogram" | "summary"))
}

/// The names `exprs` select that are neither exported nor Prometheus's own, with the expression.
fn missing_metrics(exprs: &[String], families: &BTreeMap<String, String>) -> Vec<String> {
    let mut missing = Vec::new();
    for expr in exprs {
        for name in metric_names(expr) {
            if !PROMETHEUS_OWN.contains(&name.as_str()) && !is_exported(&name, families) {
                missing.push(format!("{name} (in `{expr}`)"));
            }
        }
    }
    missing
}

/// Every dashboard query parses as PromQL: written as recording rules for `promtool check rules`
/// (Grafana's interval variables replaced by a duration). Skipped with a note without promtool;
/// required on CI.
fn check_dashboard_promql(exprs: &[String]) {
    let found = std::process::Command::new("promtool")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            std::env::var_os("CI").is_none(),
            "promtool is required on CI (Debian: apt-get install prometheus)"
        );
        eprintln!("skipping the PromQL check of the dashboard: promtool not installed (apt-get install prometheus)");
        return;
    }
    let mut rules = String::from("groups:\n  - name: dashboard\n    rules:\n");
    for (n, expr) in exprs.iter().enumerate() {
        let expr = expr
            .replace("$__rate_interval", "5m")
            .replace("$__interval", "1m")
            .replace("$__range", "1h");
        rules.push_str(&format!(
            "      - record: dashboard:query_{n}\n        expr: {}\n",
            serde_json::to_string(&expr).unwrap()
        ));
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dashboard-queries.yml");
    std::fs::write(&path, rules).unwrap();
    let output = std::process::Command::new("promtool")
        .args(["check", "rules"])
        .arg(&path)
        .output()
        .expect("run promtool");
    assert!(
        output.status.success(),
        "dashboard queries are not valid PromQL:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

async fn dashboard_and_alerts_name_only_exported_metrics(db: TestDb) {
    let pos = Pos::start_with(db, Options::default(), |s| {
        s.server.metrics_token = METRICS_TOKEN.into();
    })
    .await;

    // A few calls, so that request and BonusPlus series exist: health probes, a recalc (BonusPlus
    // `ok`), an unknown customer (BonusPlus `not_found`) and a till with a wrong token (401).
    for path in ["/health/live", "/health/ready"] {
        let response = pos.app.http.get(pos.app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
    }
    pos.recalc_for_a_known_customer().await;
    let (status, body) = pos.get("/counterparty?search=79990000000").await;
    assert!(status < 500, "{status} {body}");
    let refused = pos
        .app
        .http
        .get(pos.app.url("/loyalty/counterparty?search=79011231122"))
        .header("Lognex-Discount-API-Auth-Token", "not-a-token")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);

    let response = pos
        .app
        .http
        .get(pos.app.url("/metrics"))
        .bearer_auth(METRICS_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    let families = exported_families(&text);

    // The gauges the kit added are there, every state always (a state with no rows reads 0).
    for state in ["running", "done", "failed"] {
        assert!(
            text.contains(&format!("product_sync_runs{{state=\"{state}\"}}")),
            "{text}"
        );
    }

    let dashboard = dashboard_exprs();
    let rules = read(&deploy_dir().join("prometheus/alerts.yml"));
    let alerts = rule_exprs(&rules);
    assert_eq!(
        alerts.len(),
        rules.matches("- alert:").count(),
        "one expr per alert rule"
    );
    let named: BTreeSet<String> = dashboard
        .iter()
        .chain(&alerts)
        .flat_map(|e| metric_names(e))
        .collect();
    // The parser found the kit's metrics (not vacuously nothing).
    for expected in [
        "http_requests_total",
        "http_request_duration_seconds_bucket",
        "bonusplus_requests_total",
        "bonusplus_request_duration_seconds_bucket",
        "outbox_jobs",
        "outbox_oldest_age_seconds",
        "reserves_outstanding",
        "product_sync_runs",
    ] {
        assert!(
            named.contains(expected),
            "{expected} not found in {named:?}"
        );
    }
    let exprs: Vec<String> = dashboard.iter().chain(&alerts).cloned().collect();
    let missing = missing_metrics(&exprs, &families);
    assert!(
        missing.is_empty(),
        "named by deploy/ but not exported by /metrics:\n{}\n\nexported: {:?}",
        missing.join("\n"),
        families.keys().collect::<Vec<_>>()
    );

    check_dashboard_promql(&dashboard);
}

/// The check itself can fail: an unknown name, a counter with a histogram suffix.
#[test]
fn the_check_reports_names_that_are_not_exported() {
    let text = "# TYPE http_requests_total counter\nhttp_requests_total{route=\"/a\"} 1\n\
                # TYPE http_request_duration_seconds histogram\n\
                http_request_duration_seconds_bucket{le=\"0.1\"} 1\n\
                http_request_duration_seconds_sum 0.05\nhttp_request_duration_seconds_count 1\n\
                reserves_outstanding 0\n";
    let families = exported_families(text);
    let exprs = vec![
        r#"histogram_quantile(0.95, sum by (route, le) (rate(http_request_duration_seconds_bucket{job="bonusbridge", route=~"/loyalty/.+"}[$__rate_interval])))"#.to_owned(),
        r#"sum(rate(http_request_duration_seconds_sum[5m])) / sum(rate(http_request_duration_seconds_count[5m]))"#.to_owned(),
        "max(reserves_outstanding) > 0 or vector(0)".to_owned(),
        r#"sum by (status) (increase(bogus_metric_total{status=~"5.."}[5m])) > 0 unless up offset 1h"#.to_owned(),
        "rate(http_requests_total_count[5m])".to_owned(),
    ];
    let missing: Vec<String> = missing_metrics(&exprs, &families)
        .into_iter()
        .map(|m| m.split(' ').next().unwrap().to_owned())
        .collect();
    assert_eq!(missing, ["bogus_metric_total", "http_requests_total_count"]);
    assert_eq!(
        rule_exprs("  - alert: A\n    expr: |\n      up\n        == 0\n    for: 1m\n  - alert: B\n    expr: max(x) > 1\n"),
        ["up\n== 0", "max(x) > 1"]
    );
}

/// `deploy/.env.example` as the app sees it once an operator filled in the required (empty) values:
/// the variables in file order, `${VAR}` replaced as Compose does.
fn filled_env_example() -> Vec<(String, String)> {
    let fillers = [
        (
            "POSTGRES_PASSWORD",
            "3f9c0a7d5e2b4c6a8e1f0d2c4b6a8e0f1d3c5b7a9e2f4d6c".to_owned(),
        ),
        (
            "BONUSBRIDGE__SERVER__PUBLIC_BASE_URL",
            "https://bonusbridge.example.com".to_owned(),
        ),
        ("BONUSBRIDGE__SERVER__METRICS_TOKEN", "9e".repeat(32)),
        (
            "BONUSBRIDGE__MOYSKLAD__APP_ID",
            "5d3f0c2e-8a1b-4c6d-9e0f-1a2b3c4d5e6f".to_owned(),
        ),
        (
            "BONUSBRIDGE__MOYSKLAD__APP_UID",
            "bonusbridge.operator".to_owned(),
        ),
        (
            "BONUSBRIDGE__MOYSKLAD__SECRET_KEY",
            "0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a".to_owned(),
        ),
        (
            "BONUSBRIDGE__SECURITY__KEYS__PRIMARY",
            "q83vEjRWeJq83vEjRWeJq83vEjRWeJq83vEjRWeJq80=".to_owned(),
        ),
        (
            "GRAFANA_ADMIN_PASSWORD",
            "grafana-admin-password".to_owned(),
        ),
    ];
    let mut env: Vec<(String, String)> = Vec::new();
    for line in read(&deploy_dir().join(".env.example")).lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (key, value) = line.split_once('=').expect("KEY=value");
        let mut value = value.to_owned();
        if value.is_empty() {
            value = fillers
                .iter()
                .find(|(k, _)| *k == key)
                .unwrap_or_else(|| {
                    panic!("{key} is required in .env.example: give this test a value for it")
                })
                .1
                .clone();
        }
        for (name, known) in &env {
            value = value.replace(&format!("${{{name}}}"), known);
        }
        assert!(
            !value.contains("${"),
            "{key}: unresolved variable in `{value}`"
        );
        env.push((key.to_owned(), value));
    }
    env
}

/// `bonusbridge check-config` with exactly `env` (as the container gets it from Compose).
fn check_config(env: &[(String, String)]) -> std::process::Output {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_bonusbridge"));
    command.current_dir(env!("CARGO_MANIFEST_DIR"));
    for (key, _) in std::env::vars() {
        if key.starts_with("BONUSBRIDGE") {
            command.env_remove(key);
        }
    }
    command
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        // What deploy/docker-compose.yml fixes for the container.
        .env("BONUSBRIDGE__SERVER__LISTEN", "0.0.0.0:8080")
        .arg("check-config")
        .output()
        .expect("run bonusbridge")
}

/// The variable names of `.env.example` are the app's settings: filled in, they pass the production
/// checks; the development secrets or a missing key are refused (so production mode is really on).
#[test]
fn the_env_example_filled_in_is_a_valid_production_configuration() {
    let env = filled_env_example();
    let value = |key: &str| env.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str());
    assert_eq!(value("BONUSBRIDGE__ENVIRONMENT"), Some("production"));
    assert!(value("BONUSBRIDGE__DATABASE__URL")
        .unwrap()
        .starts_with("postgres://bonusbridge:3f9c0a7d"));

    let output = check_config(&env);
    assert!(
        output.status.success(),
        "check-config refused the filled-in .env.example: {}",
        String::from_utf8_lossy(&output.stderr)
    );

    let with = |key: &str, new: Option<&str>| -> Vec<(String, String)> {
        let mut changed: Vec<_> = env.iter().filter(|(k, _)| k != key).cloned().collect();
        if let Some(new) = new {
            changed.push((key.to_owned(), new.to_owned()));
        }
        changed
    };
    for (changed, setting) in [
        (
            with(
                "BONUSBRIDGE__MOYSKLAD__SECRET_KEY",
                Some("development-secret-key-change-me-0123456789"),
            ),
            "moysklad.secret_key",
        ),
        (
            with("BONUSBRIDGE__SECURITY__KEYS__PRIMARY", None),
            "security.active_key",
        ),
        (
            with("BONUSBRIDGE__SECURITY__ACTIVE_KEY", Some("dev")),
            "security.active_key",
        ),
        (
            with("BONUSBRIDGE__MOYSKLAD__APP_ID", Some("")),
            "moysklad.app_id",
        ),
    ] {
        let output = check_config(&changed);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{setting}: accepted");
        assert!(stderr.contains(setting), "`{stderr}` should name {setting}");
    }
}

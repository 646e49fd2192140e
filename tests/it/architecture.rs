//! The house reads top to bottom: this test reads every file under `src/`, collects the top-level
//! modules each one imports (`crate::x…`, `use crate::{x, …}`, and `super::x` where `super` is the
//! crate root), and fails on an import that goes the wrong way. There is no exception list:
//!
//! * any cycle among top-level modules (two modules importing each other, or a longer loop);
//! * an import upward: the top (start-up, routes, the operator's commands) → incoming APIs →
//!   `state` → shared services → outgoing clients and storage → utilities → pure rules (`domain`);
//! * an outgoing client importing storage or storage importing a client: they sit side by side and
//!   only the services above combine them;
//! * an incoming module (`loyalty_api`, `vendor_api`, `ui`, `monitoring`) importing another;
//! * `jobs` importing the owner of a job (`outbox`, `sync`, `import`): the queue hands jobs to
//!   their owners, it never imports one.
//!
//! So a utility (`cache`, `config`, `crypto`, `descriptor`, `http`, `meters`, `telemetry`) imports
//! only `domain` and other utilities, and `domain` nothing outside itself.
//!
//! A new top-level module must be given its layer in [`layer_of`] first.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layer {
    /// `startup`, `routes`, `admin`: build and mount everything; the commands `main.rs` runs.
    Top,
    /// Who calls us: MoySklad's LoyaltyAPI and Vendor API, the settings page, monitoring.
    Incoming,
    /// What the handlers share.
    State,
    /// Used by handlers and workers alike.
    Service,
    /// Outgoing: BonusPlus, MoySklad. Beside storage, never importing it.
    Client,
    /// Our database. Beside the clients, never importing one.
    Storage,
    /// `cache`, `config`, `crypto`, `descriptor`, `http`, `meters`, `telemetry`: usable from every
    /// layer above; they import only `domain` and each other.
    Utility,
    /// Pure rules, no I/O.
    Domain,
}

impl Layer {
    /// How far down the house the layer sits; clients and storage share a floor.
    fn floor(self) -> u8 {
        match self {
            Layer::Top => 0,
            Layer::Incoming => 1,
            Layer::State => 2,
            Layer::Service => 3,
            Layer::Client | Layer::Storage => 4,
            Layer::Utility => 5,
            Layer::Domain => 6,
        }
    }
}

fn layer_of(module: &str) -> Option<Layer> {
    Some(match module {
        "startup" | "routes" | "admin" => Layer::Top,
        "loyalty_api" | "vendor_api" | "ui" | "monitoring" => Layer::Incoming,
        "state" => Layer::State,
        "accounts" | "certificates" | "changes" | "customers" | "differences" | "doctor"
        | "import" | "jobs" | "outbox" | "reserves" | "sync" => Layer::Service,
        "bonusplus" | "moysklad" => Layer::Client,
        "store" => Layer::Storage,
        "cache" | "config" | "crypto" | "descriptor" | "http" | "meters" | "telemetry" => {
            Layer::Utility
        }
        "domain" => Layer::Domain,
        _ => return None,
    })
}

/// The services whose work the queue runs: they import `jobs`, never the reverse.
const JOB_OWNERS: [&str; 3] = ["outbox", "sync", "import"];

/// Whether `from` may import `to` (both top-level modules, `from != to`).
fn allowed(from: &str, to: &str) -> Result<(), String> {
    let (Some(a), Some(b)) = (layer_of(from), layer_of(to)) else {
        return Err(format!(
            "`{from}` → `{to}`: give every top-level module a layer in architecture.rs"
        ));
    };
    if b.floor() < a.floor() {
        return Err(format!("`{from}` imports `{to}`, which sits above it"));
    }
    if b.floor() == a.floor() && a != b {
        return Err(format!(
            "`{from}` imports `{to}`: clients and storage sit side by side, never importing each other"
        ));
    }
    if a == Layer::Incoming && b == Layer::Incoming {
        return Err(format!(
            "incoming `{from}` imports incoming `{to}`: handlers never import each other"
        ));
    }
    if from == "jobs" && JOB_OWNERS.contains(&to) {
        return Err(format!(
            "`jobs` imports `{to}`: the queue hands jobs to their owners, it never imports one"
        ));
    }
    Ok(())
}

/// The module path a file under `src/` defines: `a.rs` → `[a]`, `a/mod.rs` → `[a]`,
/// `a/b.rs` → `[a, b]`.
fn module_path(relative: &Path) -> Vec<String> {
    let mut parts: Vec<String> = relative
        .iter()
        .map(|part| part.to_string_lossy().into_owned())
        .collect();
    if let Some(last) = parts.pop() {
        let stem = last.trim_end_matches(".rs");
        if stem != "mod" {
            parts.push(stem.to_owned());
        }
    }
    parts
}

/// The code of a file without its comments (doc links name modules without importing them).
fn without_comments(text: &str) -> String {
    text.lines()
        .map(|line| match line.find("//") {
            Some(at) => &line[..at],
            None => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn identifier_at(text: &str) -> Option<&str> {
    let end = text
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(text.len());
    (end > 0).then(|| &text[..end])
}

/// Names at the top level of a `{a::b, c, d::{e}}` group.
fn group_heads(text: &str) -> Vec<&str> {
    let mut heads = Vec::new();
    let mut depth = 0;
    let mut start = 1;
    for (index, c) in text.char_indices() {
        match c {
            '{' => {
                depth += 1;
                if depth == 1 {
                    start = index + 1;
                }
            }
            '}' | ',' if depth == 1 => {
                if let Some(head) = identifier_at(text[start..].trim_start()) {
                    heads.push(head);
                }
                if c == '}' {
                    return heads;
                }
                start = index + 1;
            }
            '}' => depth -= 1,
            _ => {}
        }
    }
    heads
}

/// Top-level modules named after `prefix` (`crate::`, or `super::` resolving to the crate root).
fn heads_after(code: &str, prefix: &str, out: &mut BTreeSet<String>) {
    let mut rest = code;
    while let Some(at) = rest.find(prefix) {
        let before = rest[..at].chars().next_back();
        let after = &rest[at + prefix.len()..];
        rest = after;
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
            continue;
        }
        if after.starts_with('{') {
            out.extend(group_heads(after).into_iter().map(str::to_owned));
        } else if let Some(head) = identifier_at(after) {
            out.insert(head.to_owned());
        }
    }
}

/// The top-level modules a file imports (its own excluded).
fn imports(relative: &Path, text: &str) -> BTreeSet<String> {
    let code = without_comments(text);
    let mut found = BTreeSet::new();
    heads_after(&code, "crate::", &mut found);
    // `super::` at the file level (test modules, at the end of a file, nest one level deeper).
    let file_level = code.split("#[cfg(test)]").next().unwrap_or_default();
    let depth = module_path(relative).len();
    if depth >= 1 {
        heads_after(file_level, &"super::".repeat(depth), &mut found);
    }
    if let Some(own) = module_path(relative).first() {
        found.remove(own);
    }
    found.retain(|head| head != "self" && head != "super");
    found
}

/// Every violation of the house's rules in `files` (paths relative to `src/`).
fn violations(files: &[(PathBuf, String)]) -> Vec<String> {
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut problems = Vec::new();
    for (relative, text) in files {
        let Some(module) = module_path(relative).first().cloned() else {
            continue;
        };
        if module == "lib" || module == "main" {
            continue;
        }
        for target in imports(relative, text) {
            if let Err(problem) = allowed(&module, &target) {
                problems.push(format!("{}: {problem}", relative.display()));
            }
            graph.entry(module.clone()).or_default().insert(target);
        }
    }
    problems.extend(cycles(&graph));
    problems
}

/// Every cycle among the modules of `graph`, one message per cycle found.
fn cycles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<String> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
        found: &mut Vec<String>,
    ) {
        if let Some(at) = path.iter().position(|n| n == node) {
            let mut cycle = path[at..].to_vec();
            cycle.push(node.to_owned());
            found.push(format!("import cycle: {}", cycle.join(" → ")));
            return;
        }
        if done.contains(node) {
            return;
        }
        path.push(node.to_owned());
        for next in graph.get(node).into_iter().flatten() {
            visit(next, graph, path, done, found);
        }
        path.pop();
        done.insert(node.to_owned());
    }
    let mut found = Vec::new();
    let mut done = BTreeSet::new();
    for node in graph.keys() {
        visit(node, graph, &mut Vec::new(), &mut done, &mut found);
    }
    found
}

fn source_files(root: &Path, dir: &Path, out: &mut Vec<(PathBuf, String)>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("src/ is readable")
        .map(|entry| entry.expect("directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            source_files(root, &path, out);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            let text = std::fs::read_to_string(&path).expect("source file is UTF-8");
            let relative = path.strip_prefix(root).expect("under src/").to_path_buf();
            out.push((relative, text));
        }
    }
}

#[test]
fn the_house_reads_top_to_bottom() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    source_files(&root, &root, &mut files);
    assert!(files.len() > 40, "read {} files from src/", files.len());
    let problems = violations(&files);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The checker itself: each bad import below must be reported.
#[test]
fn bad_imports_are_caught() {
    let file = |path: &str, text: &str| (PathBuf::from(path), text.to_owned());
    let cases = [
        (
            vec![
                file("jobs/mod.rs", "use crate::sync::SyncContext;"),
                file("sync/mod.rs", "use crate::jobs::JobError;"),
            ],
            "import cycle",
        ),
        (
            vec![file("jobs/mod.rs", "use crate::sync::SyncContext;")],
            "`jobs` imports `sync`",
        ),
        (
            vec![file(
                "jobs/mod.rs",
                "fn f() { crate::outbox::retry_failed() }",
            )],
            "`jobs` imports `outbox`",
        ),
        (
            vec![file("domain/pricing.rs", "use crate::store::Store;")],
            "sits above it",
        ),
        (
            vec![file("domain/phone.rs", "fn f() { crate::bonusplus::x() }")],
            "sits above it",
        ),
        (
            vec![file(
                "ui/settings.rs",
                "use crate::{config, loyalty_api::wire::Meta};",
            )],
            "handlers never import each other",
        ),
        (
            vec![file("vendor_api.rs", "use super::ui::UiError;")],
            "handlers never import each other",
        ),
        (
            vec![file("reserves.rs", "use crate::state::AppState;")],
            "sits above it",
        ),
        (
            vec![file("outbox/deliver.rs", "use crate::loyalty_api::sale;")],
            "sits above it",
        ),
        (
            vec![file("http/mod.rs", "use crate::state::AppState;")],
            "sits above it",
        ),
        (
            vec![file("store/mod.rs", "use crate::accounts::Accounts;")],
            "sits above it",
        ),
        (
            vec![file("newthing.rs", "use crate::store::Store;")],
            "give every top-level module a layer",
        ),
        // A utility reaching storage: the scrape's gauges back in the recorder.
        (
            vec![file("meters.rs", "use crate::store::{Store, StoreError};")],
            "`meters` imports `store`, which sits above it",
        ),
        // The BonusPlus client reaching storage, and storage a client.
        (
            vec![file(
                "bonusplus/client/mod.rs",
                "fn f(s: &crate::store::Store) {}",
            )],
            "clients and storage sit side by side",
        ),
        (
            vec![file("store/mod.rs", "use crate::bonusplus::ApiKey;")],
            "clients and storage sit side by side",
        ),
        // The configuration importing a client's constant.
        (
            vec![file(
                "config.rs",
                "if (1..=crate::bonusplus::wire_assumptions::MAX).contains(&n) {}",
            )],
            "`config` imports `bonusplus`, which sits above it",
        ),
        // HTTP plumbing importing storage: the error mapping, the readiness probe.
        (
            vec![file(
                "http/error.rs",
                "impl From<crate::store::StoreError> for ApiError {}",
            )],
            "`http` imports `store`, which sits above it",
        ),
        (
            vec![file("http/health.rs", "use crate::store::Store;")],
            "`http` imports `store`, which sits above it",
        ),
        // The operator's commands are the top: nothing below imports them.
        (
            vec![file("jobs/mod.rs", "use crate::admin::rotate_keys;")],
            "`jobs` imports `admin`, which sits above it",
        ),
        (
            vec![file("config.rs", "use crate::admin::Rotation;")],
            "`config` imports `admin`, which sits above it",
        ),
        // Utilities import each other without a loop, and never a layer above.
        (
            vec![
                file("http/mod.rs", "use crate::config::Settings;"),
                file("config.rs", "use crate::http::TOKEN_HEADER;"),
            ],
            "import cycle",
        ),
        (
            vec![file("crypto.rs", "use crate::accounts::Accounts;")],
            "`crypto` imports `accounts`, which sits above it",
        ),
        (
            vec![file("domain/money.rs", "use crate::config::Settings;")],
            "`domain` imports `config`, which sits above it",
        ),
        // Monitoring is incoming like the rest.
        (
            vec![file("monitoring/scrape.rs", "use crate::ui::UiError;")],
            "handlers never import each other",
        ),
        (
            vec![file("store/jobs.rs", "use crate::outbox::Payload;")],
            "`store` imports `outbox`, which sits above it",
        ),
    ];
    for (files, expected) in cases {
        let problems = violations(&files);
        assert!(
            problems.iter().any(|p| p.contains(expected)),
            "{files:?}: expected `{expected}`, got {problems:?}"
        );
    }
    // What is allowed stays allowed: downward imports, comments, nested modules' own `super`.
    let fine = [
        file(
            "loyalty_api/sale.rs",
            "use crate::outbox::{NewSale, Outbox};",
        ),
        file(
            "outbox/mod.rs",
            "use crate::{jobs::JobOwner, reserves::Reserves};",
        ),
        file(
            "reserves.rs",
            "// see crate::state::AppState\nuse super::accounts::Accounts;",
        ),
        file(
            "ui/view.rs",
            "use super::UiError;\nuse crate::store::Account;",
        ),
        file("domain/returns.rs", "use super::pricing::line_sum;"),
        file("meters.rs", "use crate::crypto::constant_time_eq;"),
        file(
            "http/rate_limit.rs",
            "use crate::{config::LimitSettings, crypto::token_hash};",
        ),
        file("config.rs", "use crate::domain::phone::Phone;"),
        file(
            "bonusplus/client/mod.rs",
            "fn f() { crate::meters::record_unexpected(\"x\") }",
        ),
        file("store/secrets.rs", "use crate::crypto::Cipher;"),
        file(
            "monitoring/scrape.rs",
            "use crate::{state::AppState, store::Store};",
        ),
        file(
            "admin/mod.rs",
            "use crate::{crypto::Cipher, store::Store, jobs::retry_failed};",
        ),
        file(
            "outbox/mod.rs",
            "use crate::{bonusplus::BonusPlusClient, reserves::Reserves};",
        ),
        file(
            "outbox/mod.rs",
            "use crate::jobs::{JobError, JobOwner, Queue};",
        ),
        file("sync/mod.rs", "use crate::jobs::{JobError, JobOwner};"),
    ];
    assert_eq!(violations(&fine), Vec::<String>::new());
}

//! Nothing lost, nothing doubled: repeated and concurrent deliveries, a BonusPlus outage, a killed
//! process, two instances on one database, reserve expiry and reconciliation.

use std::collections::HashSet;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bonusbridge::config::Settings;
use bonusbridge::store::{Reserve, ReserveState, Store};
use bonusplus_emulator::{Emulator, FailureMode, TenantRules};
use futures::StreamExt;
use rust_decimal::Decimal;
use serde_json::{json, Value};

use crate::support::pos::{agent, configure_account, dec, position, retail_store, Options, Pos};
use crate::support::{Backend, TestApp, TestDb};

/// Workers that poll often and back off briefly, so the tests wait seconds, not minutes.
fn quick_jobs(s: &mut Settings) {
    s.jobs.poll_interval_ms = 50;
    s.jobs.max_backoff_ms = 400;
    s.jobs.reserve_sweep_ms = 100;
    s.limits.per_ip_per_second = 0;
    s.limits.per_token_per_second = 0;
}

fn phone(i: usize) -> String {
    format!("7901555{:04}", i)
}

fn sale(id: &str, customer: usize, price: &str) -> Value {
    json!({
        "retailStore": retail_store(),
        "meta": {"href": "h", "id": id},
        "name": id, "moment": "2026-11-24 10:00:00",
        "agent": agent(&format!("00000000-0000-0000-0000-{:012}", customer), &format!("+{}", phone(customer))),
        "positions": [position("prod-1", "1", price)],
    })
}

fn full_return(id: &str, sale_id: &str, price: &str) -> Value {
    json!({
        "retailStore": retail_store(),
        "meta": {"href": "h", "id": id},
        "name": id, "moment": "2026-11-24 11:00:00",
        "demand": {"meta": {"href": "h", "id": sale_id}},
        "positions": [position("prod-1", "1", price)],
    })
}

/// Waits until no operation is pending; fails the test after `limit`.
async fn wait_settled(store: &Store, limit: Duration) {
    let started = Instant::now();
    loop {
        let (pending, failed) = store.operation_counts(None).await.unwrap();
        if pending == 0 {
            assert_eq!(failed, 0, "no delivery may fail for good");
            return;
        }
        assert!(
            started.elapsed() < limit,
            "{pending} operations still pending after {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn same_sale_ten_times_concurrently(db: TestDb) {
    let pos = Pos::start_with(db, Options::default(), quick_jobs).await;
    pos.emu.add_customer(&pos.key, &phone(1), dec("100"));
    let body = sale("5a1e0000-0000-0000-0000-00000000000a", 1, "200.00");
    let answers =
        futures::future::join_all((0..10).map(|_| pos.post("/retaildemand", body.clone()))).await;
    for (status, answer) in &answers {
        assert_eq!(*status, 201, "{answer}");
    }
    wait_settled(&pos.app.state.store, Duration::from_secs(10)).await;
    assert_eq!(
        pos.emu.count("POST", "/retail"),
        1,
        "exactly one sale reached BonusPlus"
    );
    assert_eq!(
        pos.emu.customer(&pos.key, &phone(1)).unwrap().balance,
        dec("110.00")
    );
}

async fn outage_then_recovery_delivers_everything_once(db: TestDb) {
    const SALES: usize = 1000;
    const CUSTOMERS: usize = 20;
    let pos = Pos::start_with(db, Options::default(), quick_jobs).await;
    for customer in 0..CUSTOMERS {
        pos.emu.add_customer(&pos.key, &phone(customer), dec("0"));
    }
    pos.emu.fail_next(1_000_000, FailureMode::Status500);
    let statuses: Vec<u16> = futures::stream::iter(0..SALES)
        .map(|i| {
            let body = sale(&format!("outage-{i:05}"), i % CUSTOMERS, "100.00");
            let pos = &pos;
            async move { pos.post("/retaildemand", body).await.0 }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    assert!(
        statuses.iter().all(|s| *s == 201),
        "the shop is always answered 201"
    );
    assert!(pos.emu.sales(&pos.key).is_empty(), "BonusPlus was down");
    let (pending, _) = pos.app.state.store.operation_counts(None).await.unwrap();
    assert_eq!(pending, SALES as i64);

    pos.emu.clear_failures();
    wait_settled(&pos.app.state.store, Duration::from_secs(90)).await;
    let sales = pos.emu.sales(&pos.key);
    let ids: HashSet<&str> = sales.iter().map(|s| s.external_id.as_str()).collect();
    assert_eq!(
        (sales.len(), ids.len()),
        (SALES, SALES),
        "each sale booked exactly once"
    );
    // 5 % of 100.00 on each of the customer's 50 sales.
    for customer in 0..CUSTOMERS {
        let balance = pos
            .emu
            .customer(&pos.key, &phone(customer))
            .unwrap()
            .balance;
        assert_eq!(balance, dec("250.00"), "customer {customer}");
    }
    // The last jobs are marked done just after their operations.
    let store = &pos.app.state.store;
    wait_until_async(|| async {
        let backlog = store.job_backlog(None, None).await.unwrap();
        (backlog.ready, backlog.running, backlog.failed) == (0, 0, 0)
    })
    .await;
}

async fn two_instances_share_one_backlog(db: TestDb) {
    const SALES: usize = 200;
    let second_db = db.shared();
    let pos = Pos::start_with(db, Options::default(), quick_jobs).await;
    let emu_url = pos.emu.base_url();
    let second = TestApp::spawn(second_db, |s| {
        s.bonusplus.base_url = emu_url.parse().unwrap();
        s.bonusplus.timeout_ms = 1500;
        quick_jobs(s);
    })
    .await;
    for customer in 0..10 {
        pos.emu.add_customer(&pos.key, &phone(customer), dec("0"));
    }
    pos.emu.fail_next(1_000_000, FailureMode::Status500);
    // Half the sales reach each instance, as behind a load balancer.
    let statuses: Vec<u16> = futures::stream::iter(0..SALES)
        .map(|i| {
            let body = sale(&format!("shared-{i:04}"), i % 10, "100.00");
            let pos = &pos;
            let second = &second;
            async move {
                if i % 2 == 0 {
                    return pos.post("/retaildemand", body).await.0;
                }
                second
                    .http
                    .post(second.url("/loyalty/retaildemand"))
                    .header("Lognex-Discount-API-Auth-Token", &pos.token)
                    .json(&body)
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    assert!(statuses.iter().all(|s| *s == 201));
    pos.emu.clear_failures();
    wait_settled(&pos.app.state.store, Duration::from_secs(60)).await;
    // What BonusPlus served (not what an injected failure answered), per sale: one `POST retail`
    // each — a job run by both instances would show as two.
    let mut served = std::collections::BTreeMap::<String, usize>::new();
    for request in pos.emu.requests() {
        if request.method == "POST" && request.path == "/retail" && !request.injected_failure {
            let sale = request.body["externalId"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            *served.entry(sale).or_default() += 1;
        }
    }
    let twice: Vec<_> = served.iter().filter(|(_, count)| **count != 1).collect();
    assert!(twice.is_empty(), "sales sent more than once: {twice:?}");
    assert_eq!(served.len(), SALES, "every sale sent once");
    assert_eq!(pos.emu.sales(&pos.key).len(), SALES);
}

async fn expired_and_interrupted_reserves_are_released(db: TestDb) {
    let options = Options {
        reserve_ttl_secs: Some(1),
        ..Options::default()
    };
    let pos = Pos::start_with(db, options, quick_jobs).await;
    let customer = phone(7);
    pos.emu.add_customer(&pos.key, &customer, dec("500"));
    let receipt = json!({
        "retailStore": retail_store(),
        "agent": agent("00000000-0000-0000-0000-000000000007", &format!("+{customer}")),
        "positions": [position("prod-1", "1", "100.00")],
        "bonusProgram": {"transactionType": "SPENDING"},
        "preferredBonusToSpend": 20,
    });
    let (status, body) = pos.post("/retaildemand/recalc", receipt).await;
    assert_eq!(status, 200, "{body}");
    pos.wait_reserved(&customer, dec("20")).await;
    // The receipt is abandoned: after its lifetime the workers give the bonuses back.
    wait_until(|| pos.emu.customer(&pos.key, &customer).unwrap().reserved == Decimal::ZERO).await;

    // A crash after BonusPlus made a reserve but before we recorded it as held: the row is still
    // `intended`; the workers release whatever BonusPlus holds once it expires.
    let reserve_id = uuid::Uuid::new_v4().to_string();
    let store = &pos.app.state.store;
    let account = store
        .account_by_token_hash(&bonusbridge::crypto::token_hash(&pos.token))
        .await
        .unwrap()
        .unwrap();
    let phone = bonusbridge::domain::phone::Phone::parse(&customer).unwrap();
    store
        .insert_reserve(&Reserve {
            id: reserve_id.clone(),
            account_id: account.clone(),
            phone: phone.clone(),
            retail_store_id: crate::support::pos::POS.to_owned(),
            amount: dec("30"),
            state: ReserveState::Intended,
            expires_at: bonusbridge::store::now_ms() + 300,
        })
        .await
        .unwrap();
    let key = bonusbridge::bonusplus::ApiKey::new(pos.key.clone().into()).unwrap();
    pos.app
        .state
        .bonusplus
        .reserve(&key, &phone, &reserve_id, dec("30"))
        .await
        .unwrap();
    assert_eq!(
        pos.emu.customer(&pos.key, &customer).unwrap().reserved,
        dec("30")
    );
    wait_until(|| pos.emu.customer(&pos.key, &customer).unwrap().reserved == Decimal::ZERO).await;
    assert_eq!(
        pos.emu.customer(&pos.key, &customer).unwrap().balance,
        dec("500")
    );
}

async fn wait_until(mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "condition never met"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn operator_retries_failed_deliveries(db: TestDb) {
    let pos = Pos::start_with(db, Options::default(), quick_jobs).await;
    pos.emu.add_customer(&pos.key, &phone(3), dec("0"));
    pos.emu.reject_key(&pos.key);
    let (status, _) = pos
        .post(
            "/retaildemand",
            sale("5a1e0000-0000-0000-0000-0000000000ff", 3, "100.00"),
        )
        .await;
    assert_eq!(status, 201);
    let store = &pos.app.state.store;
    wait_until_async(|| async { store.operation_counts(None).await.unwrap() == (0, 1) }).await;
    assert_eq!(
        store.job_backlog(None, None).await.unwrap().failed,
        1,
        "parked, visible"
    );

    // The shop fixes its key; the operator re-queues what failed.
    pos.emu.accept_key(&pos.key);
    let output = Command::new(env!("CARGO_BIN_EXE_bonusbridge"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .arg("retry-failed")
        .env("BONUSBRIDGE__DATABASE__URL", &pos.app._db.url)
        .env("BONUSBRIDGE__SERVER__LOG_FILTER", "error")
        .output()
        .expect("retry-failed runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&output.stdout).trim(),
        "re-queued 1"
    );
    wait_settled(store, Duration::from_secs(15)).await;
    assert_eq!(pos.emu.sales(&pos.key).len(), 1);
}

async fn wait_until_async<F: std::future::Future<Output = bool>>(mut done: impl FnMut() -> F) {
    let started = Instant::now();
    while !done().await {
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "condition never met"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// An `intended` reserve row left by a crash: the workers ask BonusPlus what it holds and release
/// exactly that — nothing at all for a reserve never made — and release the recorded amount
/// where BonusPlus does not know the question.
async fn crash_recovery_asks_what_a_reserve_holds(db: TestDb) {
    let pos = Pos::start_with(db, Options::default(), quick_jobs).await;
    let customer = phone(8);
    pos.emu.add_customer(&pos.key, &customer, dec("500"));
    let account = pos.account_id().await;
    let customer_phone = bonusbridge::domain::phone::Phone::parse(&customer).unwrap();
    let key = bonusbridge::bonusplus::ApiKey::new(pos.key.clone().into()).unwrap();
    let store = &pos.app.state.store;
    let intended = |amount: &str| Reserve {
        id: uuid::Uuid::new_v4().to_string(),
        account_id: account.clone(),
        phone: customer_phone.clone(),
        retail_store_id: crate::support::pos::POS.to_owned(),
        amount: dec(amount),
        state: ReserveState::Intended,
        expires_at: bonusbridge::store::now_ms() + 200,
    };
    let closed = |reserve: &Reserve| {
        let (account, phone, id) = (account.clone(), customer_phone.clone(), reserve.id.clone());
        move || {
            let (account, phone, id) = (account.clone(), phone.clone(), id.clone());
            async move {
                let open = store
                    .open_reserves(&account, &phone, crate::support::pos::POS)
                    .await
                    .unwrap();
                !open.iter().any(|r| r.id == id)
            }
        }
    };

    // Recorded, never made in BonusPlus: asked, nothing released. (The row is closed before
    // BonusPlus is asked, so the question is what to wait for.)
    let never_made = intended("30");
    store.insert_reserve(&never_made).await.unwrap();
    let question = format!("/customer/{customer}/balance/reserve/{}", never_made.id);
    wait_until(|| pos.emu.count("GET", &question) == 1).await;
    wait_until_async(closed(&never_made)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        pos.emu
            .count("PATCH", &format!("/customer/{customer}/balance/reserve")),
        0
    );

    // Made for less than recorded (BonusPlus holds 12 of 30): exactly 12 released.
    let made = intended("30");
    pos.app
        .state
        .bonusplus
        .reserve(&key, &customer_phone, &made.id, dec("12"))
        .await
        .unwrap();
    pos.emu.clear_requests();
    store.insert_reserve(&made).await.unwrap();
    wait_until(|| pos.emu.customer(&pos.key, &customer).unwrap().reserved == Decimal::ZERO).await;
    wait_until_async(closed(&made)).await;
    let releases: Vec<Value> = pos
        .emu
        .requests()
        .into_iter()
        .filter(|r| r.method == "PATCH")
        .map(|r| r.body)
        .collect();
    assert_eq!(releases.len(), 1);
    assert_eq!(
        crate::support::pos::decimal_at(&releases[0]["amount"]),
        dec("-12")
    );
    assert_eq!(
        pos.emu.customer(&pos.key, &customer).unwrap().reserved,
        Decimal::ZERO
    );

    // A BonusPlus that does not know the question: the recorded amount is released, as before.
    pos.emu
        .refuse_route("GET", "/customer/{phoneNumber}/balance/reserve/{id}", 404);
    let unknown = intended("20");
    pos.app
        .state
        .bonusplus
        .reserve(&key, &customer_phone, &unknown.id, dec("20"))
        .await
        .unwrap();
    store.insert_reserve(&unknown).await.unwrap();
    wait_until(|| pos.emu.customer(&pos.key, &customer).unwrap().reserved == Decimal::ZERO).await;
    assert_eq!(
        pos.emu.customer(&pos.key, &customer).unwrap().balance,
        dec("500")
    );
}

crate::on_both_backends!(
    operator_retries_failed_deliveries,
    same_sale_ten_times_concurrently,
    outage_then_recovery_delivers_everything_once,
    two_instances_share_one_backlog,
    expired_and_interrupted_reserves_are_released,
    crash_recovery_asks_what_a_reserve_holds,
);

/// The real binary, started with its configuration in the environment; killed when dropped.
struct Binary {
    child: Child,
}

impl Binary {
    // The child is handed to `Binary` right away, whose `Drop` kills and reaps it.
    #[allow(clippy::zombie_processes)]
    async fn start(db_url: &str, port: u16, bonusplus: &str) -> Binary {
        let child = Command::new(env!("CARGO_BIN_EXE_bonusbridge"))
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env("BONUSBRIDGE__DATABASE__URL", db_url)
            .env("BONUSBRIDGE__SERVER__LISTEN", format!("127.0.0.1:{port}"))
            .env("BONUSBRIDGE__SERVER__LOG_FILTER", "error")
            .env("BONUSBRIDGE__BONUSPLUS__BASE_URL", bonusplus)
            .env("BONUSBRIDGE__BONUSPLUS__TIMEOUT_MS", "1500")
            .env("BONUSBRIDGE__JOBS__POLL_INTERVAL_MS", "50")
            .env("BONUSBRIDGE__JOBS__MAX_BACKOFF_MS", "400")
            .env("BONUSBRIDGE__JOBS__INLINE_GRACE_MS", "3000")
            .env("BONUSBRIDGE__LIMITS__PER_IP_PER_SECOND", "0")
            .env("BONUSBRIDGE__LIMITS__PER_TOKEN_PER_SECOND", "0")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the binary starts");
        let ready = format!("http://127.0.0.1:{port}/health/ready");
        for _ in 0..200 {
            if reqwest::get(&ready)
                .await
                .is_ok_and(|r| r.status().is_success())
            {
                return Binary { child };
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("the binary never became ready");
    }

    /// SIGKILL: no shutdown, no cleanup, whatever was in flight is cut.
    fn kill(&mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reaped");
    }
}

impl Drop for Binary {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Posts until the app answers (MoySklad retries a call that got no answer).
async fn post_until_answered(http: &reqwest::Client, url: &str, token: &str, body: &Value) -> u16 {
    loop {
        let sent = http
            .post(url)
            .header("Lognex-Discount-API-Auth-Token", token)
            .json(body)
            .timeout(Duration::from_secs(10))
            .send()
            .await;
        match sent {
            Ok(response) => return response.status().as_u16(),
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_mid_stream_then_restarted_delivers_everything_once() {
    const SALES: usize = 120;
    const CUSTOMERS: usize = 10;
    let Some(db) = TestDb::new(Backend::Postgres).await else {
        return;
    };
    let emu = Emulator::start().await;
    let key = format!("bp-{}", uuid::Uuid::new_v4().simple());
    let token = format!("tok-{}", uuid::Uuid::new_v4().simple());
    emu.add_tenant(&key, TenantRules::default());
    for customer in 0..CUSTOMERS {
        emu.add_customer(&key, &phone(customer), dec("0"));
    }
    let setup = TestApp::spawn(db.shared(), |_| {}).await;
    let account = uuid::Uuid::new_v4().to_string();
    configure_account(&setup, &account, &key, &token, Options::default()).await;
    drop(setup);

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let binary = std::sync::Arc::new(tokio::sync::Mutex::new(
        Binary::start(&db.url, port, &emu.base_url()).await,
    ));
    emu.set_latency(Duration::from_millis(40));
    let http = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}/loyalty");
    let finished = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));

    let killer = {
        let (binary, finished, db_url, emu_url) = (
            binary.clone(),
            finished.clone(),
            db.url.clone(),
            emu.base_url(),
        );
        tokio::spawn(async move {
            // A quarter in: answered sales whose delivery is still running die with the process.
            while finished.load(std::sync::atomic::Ordering::SeqCst) < SALES / 4 {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            let done_at_kill = finished.load(std::sync::atomic::Ordering::SeqCst);
            let mut binary = binary.lock().await;
            binary.kill();
            tokio::time::sleep(Duration::from_millis(300)).await;
            *binary = Binary::start(&db_url, port, &emu_url).await;
            done_at_kill
        })
    };
    futures::stream::iter(0..SALES)
        .map(|i| {
            let (http, base, token, finished) = (&http, &base, &token, &finished);
            async move {
                let sale_id = format!("killed-sale-{i:04}");
                let body = sale(&sale_id, i % CUSTOMERS, "100.00");
                let status =
                    post_until_answered(http, &format!("{base}/retaildemand"), token, &body).await;
                assert_eq!(status, 201);
                if i % 3 == 0 {
                    let body = full_return(&format!("killed-return-{i:04}"), &sale_id, "100.00");
                    let status = post_until_answered(
                        http,
                        &format!("{base}/retailsalesreturn"),
                        token,
                        &body,
                    )
                    .await;
                    assert_eq!(status, 201);
                }
                finished.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
        })
        .buffer_unordered(8)
        .collect::<Vec<()>>()
        .await;
    let done_at_kill = killer.await.unwrap();
    assert!(
        done_at_kill < SALES,
        "the process was killed in the middle of the stream"
    );

    let store = db.store().await;
    wait_settled(&store, Duration::from_secs(60)).await;
    let sales = emu.sales(&key);
    let ids: HashSet<&str> = sales.iter().map(|s| s.external_id.as_str()).collect();
    assert_eq!(
        (sales.len(), ids.len()),
        (SALES, SALES),
        "each sale booked exactly once"
    );
    let returned: Decimal = sales
        .iter()
        .flat_map(|s| &s.items)
        .map(|item| item.returned_sum)
        .sum();
    assert_eq!(
        returned,
        Decimal::from(100 * SALES.div_ceil(3)),
        "each return reversed exactly once"
    );
    for customer in 0..CUSTOMERS {
        let kept = (0..SALES)
            .filter(|i| i % CUSTOMERS == customer && i % 3 != 0)
            .count();
        let expected = Decimal::from(5 * kept);
        assert_eq!(
            emu.customer(&key, &phone(customer)).unwrap().balance,
            expected,
            "customer {customer}"
        );
    }
    drop(binary);
}

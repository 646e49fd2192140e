//! Nothing lost, nothing doubled: repeated and concurrent deliveries, a BonusPlus outage, a killed
//! process, two instances on one database, reserve expiry and reconciliation.

use std::collections::HashSet;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bonusbridge::bonusplus::ApiKey;
use bonusbridge::config::Settings;
use bonusbridge::store::{Reserve, ReserveState, Store};
use bonusplus_emulator::{Emulator, FailureMode, TenantRules};
use futures::StreamExt;
use rust_decimal::Decimal;
use serde_json::{json, Value};

use crate::support::bookings::{returns_sent_in, sales_sent, sales_sent_in};
use crate::support::pos::{agent, configure_account, dec, position, retail_store, Options, Pos};
use crate::support::wait::wait_until;
use crate::support::{Backend, TestApp, TestDb};

/// Workers that poll often and back off briefly, so the tests wait seconds, not minutes; reserves
/// swept every 100 ms.
fn quick_jobs(s: &mut Settings) {
    crate::support::pos::quick_jobs(s);
    s.jobs.reserve_sweep_ms = 100;
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

/// A sale of `quantity` × `price` of one product.
fn sale_of(id: &str, customer: usize, quantity: &str, price: &str) -> Value {
    let mut sale = sale(id, customer, price);
    sale["positions"] = json!([position("prod-1", quantity, price)]);
    sale
}

/// A return of `quantity` × `price` of the sale's product.
fn partial_return(id: &str, sale_id: &str, quantity: &str, price: &str) -> Value {
    json!({
        "retailStore": retail_store(),
        "meta": {"href": "h", "id": id},
        "name": id, "moment": "2026-11-24 11:00:00",
        "demand": {"meta": {"href": "h", "id": sale_id}},
        "positions": [position("prod-1", quantity, price)],
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
    // What the app sent, not what the emulator kept (it refuses a repeated `externalId`): one
    // served `POST retail` per sale. The attempts an injected failure answered during the outage
    // reached no booking; a second served one would be a sale sent twice, even if refused.
    let sent = sales_sent(&pos.emu);
    let twice: Vec<_> = sent.iter().filter(|(_, count)| **count != 1).collect();
    assert!(twice.is_empty(), "sales sent more than once: {twice:?}");
    assert_eq!(
        sent.keys().map(String::as_str).collect::<HashSet<_>>(),
        ids,
        "every booked sale sent once, and nothing else"
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
    wait_until(|| async {
        let backlog = store.job_backlog(None, None).await.unwrap();
        (backlog.ready, backlog.running, backlog.failed) == (0, 0, 0)
    })
    .await;
}

async fn two_instances_share_one_backlog(db: TestDb) {
    const SALES: usize = 200;
    let second_db = db.shared();
    let pos = Pos::start_with(db, Options::default(), quick_jobs).await;
    let second = pos.another_instance(second_db, quick_jobs).await;
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
                pos.post_to(second, "/retaildemand", &body).await
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
    let served = sales_sent(&pos.emu);
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
    wait_until(|| async {
        pos.emu.customer(&pos.key, &customer).unwrap().reserved == Decimal::ZERO
    })
    .await;

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
    let key = ApiKey::new(pos.key.clone().into()).unwrap();
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
    wait_until(|| async {
        pos.emu.customer(&pos.key, &customer).unwrap().reserved == Decimal::ZERO
    })
    .await;
    assert_eq!(
        pos.emu.customer(&pos.key, &customer).unwrap().balance,
        dec("500")
    );
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
    wait_until(|| async { store.operation_counts(None).await.unwrap() == (0, 1) }).await;
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

/// `reserve` made in BonusPlus for `held` and its row left `intended` (as a crash leaves it);
/// returns once the workers have released all the customer holds.
async fn made_then_left_by_a_crash(pos: &Pos, key: &ApiKey, reserve: &Reserve, held: Decimal) {
    pos.app
        .state
        .bonusplus
        .reserve(key, &reserve.phone, &reserve.id, held)
        .await
        .unwrap();
    pos.app.state.store.insert_reserve(reserve).await.unwrap();
    let customer = reserve.phone.as_str();
    wait_until(|| async {
        pos.emu.customer(&pos.key, customer).unwrap().reserved == Decimal::ZERO
    })
    .await;
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
    let key = ApiKey::new(pos.key.clone().into()).unwrap();
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
    wait_until(|| async { pos.emu.count("GET", &question) == 1 }).await;
    wait_until(closed(&never_made)).await;

    // Made for less than recorded (BonusPlus holds 12 of 30): exactly 12 released.
    let made = intended("30");
    made_then_left_by_a_crash(&pos, &key, &made, dec("12")).await;
    wait_until(closed(&made)).await;
    // The sweep that released this one came after the one that asked about the reserve never
    // made (one worker, one sweep at a time): whatever that one released is in the log by now.
    // Two reserve calls in all: the test's own reserve of 12, and one release (taking back).
    let patches: Vec<Value> = pos
        .emu
        .requests()
        .into_iter()
        .filter(|r| r.method == "PATCH")
        .map(|r| r.body)
        .collect();
    assert_eq!(patches.len(), 2, "{patches:?}");
    let releases: Vec<&Value> = patches
        .iter()
        .filter(|body| crate::support::pos::decimal_at(&body["amount"]) < Decimal::ZERO)
        .collect();
    assert_eq!(releases.len(), 1, "{patches:?}");
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
    made_then_left_by_a_crash(&pos, &key, &unknown, dec("20")).await;
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

/// Checks what each of `ids` was sent as by the killed process and by the restarted one: at least
/// once, at most once by each, nothing else sent; returns those sent by both (in flight at the kill).
fn sent_once_per_process(
    what: &str,
    ids: &HashSet<&str>,
    killed: &std::collections::BTreeMap<String, usize>,
    restarted: &std::collections::BTreeMap<String, usize>,
) -> Vec<String> {
    let mut again = Vec::new();
    for id in ids {
        let before = killed.get(*id).copied().unwrap_or(0);
        let after = restarted.get(*id).copied().unwrap_or(0);
        assert!(
            before <= 1 && after <= 1 && before + after >= 1,
            "{what} {id} sent {before} times before the kill and {after} after the restart"
        );
        if before + after == 2 {
            again.push((*id).to_owned());
        }
    }
    let unknown: Vec<_> = killed
        .keys()
        .chain(restarted.keys())
        .filter(|id| !ids.contains(id.as_str()))
        .collect();
    assert!(
        unknown.is_empty(),
        "{what}s sent that were never booked: {unknown:?}"
    );
    again
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
        let (binary, finished, db_url, emu) = (
            binary.clone(),
            finished.clone(),
            db.url.clone(),
            emu.clone(),
        );
        tokio::spawn(async move {
            // A quarter in: answered sales whose delivery is still running die with the process.
            while finished.load(std::sync::atomic::Ordering::SeqCst) < SALES / 4 {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            let done_at_kill = finished.load(std::sync::atomic::Ordering::SeqCst);
            let mut binary = binary.lock().await;
            binary.kill();
            // Down for a moment, as a restart is.
            tokio::time::sleep(Duration::from_millis(300)).await;
            // Every request of the killed process has reached the emulator by now; what follows
            // in its log comes from the restarted one.
            let sent_before_restart = emu.requests().len();
            *binary = Binary::start(&db_url, port, &emu.base_url()).await;
            (done_at_kill, sent_before_restart)
        })
    };
    futures::stream::iter(0..SALES)
        .map(|i| {
            let (http, base, token, finished) = (&http, &base, &token, &finished);
            async move {
                let sale_id = format!("killed-sale-{i:04}");
                let body = sale_of(&sale_id, i % CUSTOMERS, "4", "25.00");
                let status =
                    post_until_answered(http, &format!("{base}/retaildemand"), token, &body).await;
                assert_eq!(status, 201);
                if i % 3 == 0 {
                    // One of the four: a return BonusPlus would take twice (the line allows it),
                    // so a return booked twice shows in the sums.
                    let body =
                        partial_return(&format!("killed-return-{i:04}"), &sale_id, "1", "25.00");
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
    let (done_at_kill, sent_before_restart) = killer.await.unwrap();
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

    // What the app sent, before the kill and after the restart: each sale's `POST retail` once.
    // Only a sale whose request was in flight when the process died may be sent once more by the
    // restarted one (BonusPlus then answers that it has it): never twice by one process, never
    // more than the deliveries that can be running at once (8 answered requests, a worker's batch).
    let requests = emu.requests();
    let (killed, restarted) = requests.split_at(sent_before_restart);
    let in_flight_at_kill = sent_once_per_process(
        "sale",
        &ids,
        &sales_sent_in(killed),
        &sales_sent_in(restarted),
    );
    let returned_ids: HashSet<&str> = sales
        .iter()
        .filter(|s| s.items.iter().any(|item| !item.returned_sum.is_zero()))
        .map(|s| s.external_id.as_str())
        .collect();
    assert_eq!(returned_ids.len(), SALES.div_ceil(3), "each return booked");
    let returns_in_flight = sent_once_per_process(
        "return",
        &returned_ids,
        &returns_sent_in(killed),
        &returns_sent_in(restarted),
    );
    eprintln!(
        "sent again by the restarted process (in flight at the kill): {} sales, {} returns",
        in_flight_at_kill.len(),
        returns_in_flight.len()
    );
    assert!(
        in_flight_at_kill.len() + returns_in_flight.len() <= 24,
        "more sent again after the restart than could have been in flight: {in_flight_at_kill:?} {returns_in_flight:?}"
    );

    // Each return took back exactly its 25.00 of the line's 100.00, and 5 % of it: a return
    // booked twice would show as 50.00 (the line has room for it). The one exception the app
    // documents: a return whose request was in flight at the kill and was applied by BonusPlus
    // may be applied again after the restart; it is named here when it happens.
    let mut doubled = Vec::new();
    for sale in &sales {
        let returned: Decimal = sale.items.iter().map(|item| item.returned_sum).sum();
        let expected = if returned_ids.contains(sale.external_id.as_str()) {
            dec("25.00")
        } else {
            Decimal::ZERO
        };
        if returned != expected && returns_in_flight.contains(&sale.external_id) {
            doubled.push(sale.external_id.clone());
            continue;
        }
        assert_eq!(returned, expected, "returned of sale {}", sale.external_id);
    }
    assert!(
        doubled.is_empty(),
        "returns in flight at the kill were applied twice (the app's documented crash window): {doubled:?}"
    );
    let returned_kopecks: Decimal = sales
        .iter()
        .flat_map(|s| &s.items)
        .map(|item| item.returned_sum * Decimal::ONE_HUNDRED)
        .sum();
    assert_eq!(
        returned_kopecks,
        Decimal::from(2_500 * SALES.div_ceil(3)),
        "each return reversed exactly once, in kopecks"
    );
    for customer in 0..CUSTOMERS {
        let sold = (0..SALES).filter(|i| i % CUSTOMERS == customer).count();
        let returned = (0..SALES)
            .filter(|i| i % CUSTOMERS == customer && i % 3 == 0)
            .count();
        // 5.00 earned on each sale, 1.25 of it taken back with each return.
        let expected_kopecks = Decimal::from(500 * sold) - Decimal::from(125 * returned);
        assert_eq!(
            emu.customer(&key, &phone(customer)).unwrap().balance * Decimal::ONE_HUNDRED,
            expected_kopecks,
            "customer {customer}, in kopecks"
        );
    }
    drop(binary);
}

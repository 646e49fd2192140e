//! First contact with a BonusPlus that differs from what the project expects (issue 22), on both
//! databases: an edit never damages a customer (a failed PATCH never blanks a field, an EAN-13 is
//! never sent as an overflowing Int32), and every answer that differs from an unconfirmed point is
//! counted, logged once and shown to the shop once, while the till still gets a sensible answer.

use std::time::Duration;

use bonusplus_emulator::{CustomerExtras, Differs, NewCertificate, NewCustomer, Person};
use reqwest::Method;
use rust_decimal_macros::dec;
use serde_json::{json, Value};

use crate::on_both_backends;
use crate::support::pos::{agent, position, retail_store, Options, Pos};
use crate::support::TestDb;

const PHONE: &str = "79035550001";

/// A customer with everything a full PUT could erase: names, e-mail, birthday, notes, address, a
/// social link, the promo opt-out, a card and its status name.
fn rich_customer(card: &str) -> NewCustomer {
    NewCustomer {
        person: Person {
            first_name: Some("Анна".into()),
            last_name: Some("Иванова".into()),
            sex: Some(2),
            email: Some("anna@example.com".into()),
            birth_day: Some("1990-05-17".into()),
            ..Person::default()
        },
        extras: CustomerExtras {
            desc: Some("VIP, звонить после 18".into()),
            address: Some("Ленина, 1".into()),
            profile_vkontakte: Some("vk.com/anna".into()),
            disable_promo_sms: Some(true),
            ..CustomerExtras::default()
        },
        discount_card_number: Some(card.into()),
        card_name: Some("Золотая".into()),
        ..NewCustomer::new(PHONE, dec!(100))
    }
}

/// The till registers a phone BonusPlus already has, with a new last name (and maybe a card).
fn counterparty(card: Option<&str>) -> Value {
    let mut body = json!({"retailStore": retail_store(), "meta": {"href": "h", "id": "ms-1"},
                          "name": "Петрова Анна", "phone": "+79035550001"});
    if let Some(card) = card {
        body["discountCardNumber"] = json!(card);
    }
    body
}

/// The shop's «Требуют внимания» list of BonusPlus differences, once recorded (in the background).
async fn differences(pos: &Pos, point: &str) -> Vec<Value> {
    let session = pos.page_session(false).await;
    for _ in 0..100 {
        let (status, body) = pos
            .page(Method::GET, "/ui/api/differences", &session, None)
            .await;
        assert_eq!(status, 200, "{body}");
        let list = body["differences"].as_array().cloned().unwrap_or_default();
        if list.iter().any(|d| d["point"] == point) {
            return list;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("no difference `{point}` recorded");
}

/// The shop's one item for `point`, once it counts `seen` answers.
async fn attention_item(pos: &Pos, point: &str, seen: u64) -> Value {
    for _ in 0..100 {
        let list = differences(pos, point).await;
        let items: Vec<&Value> = list.iter().filter(|d| d["point"] == point).collect();
        assert_eq!(items.len(), 1, "one item per point: {list:?}");
        if items[0]["seen"] == seen {
            assert!(!items[0]["didInstead"].as_str().unwrap().is_empty());
            return items[0].clone();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("`{point}` never counted {seen} answers");
}

/// The `warn` lines logged for this account's answers that differ from `point`.
fn warn_lines(pos: &Pos, point: &str) -> Vec<Value> {
    let logs = crate::support::captured_logs();
    let text = String::from_utf8_lossy(&logs.lock().unwrap()).into_owned();
    text.lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|line| {
            line["level"] == "WARN"
                && line["fields"]["message"] == "BonusPlus answered otherwise than expected"
                && line["fields"]["account"] == pos.account.as_str()
                && line["fields"]["point"] == point
        })
        .collect()
}

/// Each answer that differs: the metric counts it, one `warn` line says the call, status and
/// shape (never a value or the key), and the shop sees one item for the point however often.
async fn assert_watched(pos: &Pos, point: &str, before: f64, answers: u64) -> Value {
    assert!(
        metric(pos, point).await >= before + answers as f64,
        "{point}"
    );
    let lines = warn_lines(pos, point);
    assert_eq!(
        lines.len() as u64,
        answers,
        "one warn line per answer: {lines:?}"
    );
    for line in &lines {
        let fields = &line["fields"];
        assert!(
            fields["call"].is_string() && fields["status"].is_u64(),
            "{line}"
        );
        assert!(fields["shape"].is_string(), "{line}");
        assert!(
            !line.to_string().contains(&pos.key),
            "the key leaked: {line}"
        );
    }
    attention_item(pos, point, answers).await
}

async fn metric(pos: &Pos, point: &str) -> f64 {
    let text = pos
        .app
        .http
        .get(pos.app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let series = format!("bonusbridge_bonusplus_unexpected_total{{point=\"{point}\"}} ");
    text.lines()
        .find_map(|line| line.strip_prefix(&series))
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or(0.0)
}

async fn failed_patch_puts_everything_back_and_blanks_nothing(db: TestDb) {
    let pos = Pos::start(db, Options::default()).await;
    pos.emu
        .add_customer_with(&pos.key, rich_customer("12345670"));
    pos.emu
        .refuse_route("PATCH", "/customer/{phoneNumber}", 405);

    let (status, body) = pos.post("/counterparty", counterparty(None)).await;
    assert_eq!(status, 201, "{body}");

    let after = pos.emu.customer(&pos.key, PHONE).unwrap();
    assert_eq!(after.person.last_name.as_deref(), Some("Петрова"));
    assert_eq!(after.person.first_name.as_deref(), Some("Анна"));
    assert_eq!(after.person.email.as_deref(), Some("anna@example.com"));
    assert_eq!(after.person.birth_day.as_deref(), Some("1990-05-17"));
    assert_eq!(after.person.sex, Some(2));
    assert_eq!(after.extras, rich_customer("12345670").extras);
    assert_eq!(after.discount_card_number.as_deref(), Some("12345670"));
    assert_eq!(after.card_name, "Золотая");
    let put = pos
        .emu
        .requests()
        .into_iter()
        .find(|r| r.method == "PUT")
        .expect("a PUT was sent");
    assert_eq!(put.body["newCardNumber"], json!(12_345_670));
}

async fn failed_patch_that_cannot_be_put_back_writes_nothing(db: TestDb) {
    let pos = Pos::start(db, Options::default()).await;
    // An EAN-13 card cannot go back through PUT's Int32 `newCardNumber`: a PUT would erase it.
    pos.emu
        .add_customer_with(&pos.key, rich_customer("2000000051420"));
    pos.emu
        .refuse_route("PATCH", "/customer/{phoneNumber}", 404);
    let before = pos.emu.customer(&pos.key, PHONE).unwrap();
    crate::support::captured_logs();
    let counted = metric(&pos, "customer_replace").await;

    let (status, body) = pos.post("/counterparty", counterparty(None)).await;
    assert_eq!(status, 201, "{body}");

    assert_eq!(pos.emu.customer(&pos.key, PHONE).unwrap(), before);
    assert_eq!(pos.emu.count("PUT", "/customer/79035550001"), 0);
    let item = assert_watched(&pos, "customer_replace", counted, 1).await;
    assert!(
        item["detail"].as_str().unwrap().contains("2000000051420"),
        "{item}"
    );
    assert!(!item["didInstead"].as_str().unwrap().is_empty(), "{item}");
    assert!(metric(&pos, "customer_replace").await >= 1.0);
}

async fn an_ean13_card_is_never_sent_as_an_overflowing_int(db: TestDb) {
    let pos = Pos::start(db, Options::default()).await;
    pos.emu
        .add_customer_with(&pos.key, rich_customer("12345670"));
    let card = "4006381333931";
    crate::support::captured_logs();
    let counted = metric(&pos, "card_number_int32").await;

    let (status, body) = pos.post("/counterparty", counterparty(Some(card))).await;
    assert_eq!(status, 201, "{body}");

    let patch = pos
        .emu
        .requests()
        .into_iter()
        .find(|r| r.method == "PATCH")
        .expect("a PATCH was sent");
    assert!(patch.body.get("cardNumber").is_none(), "{}", patch.body);
    assert_eq!(patch.body["ln"], "Петрова");
    // BonusPlus keeps its card; ours is linked on our side, and the reason recorded.
    let after = pos.emu.customer(&pos.key, PHONE).unwrap();
    assert_eq!(after.discount_card_number.as_deref(), Some("12345670"));
    let link = pos
        .app
        .state
        .store
        .customer_by_card(&pos.account, card)
        .await
        .unwrap()
        .expect("the card stays linked on our side");
    assert_eq!(link.phone, PHONE);
    let item = assert_watched(&pos, "card_number_int32", counted, 1).await;
    assert_eq!(item["call"], "PATCH customer");
}

/// The till asks for the balance of a phone BonusPlus does not have.
async fn detail_of_unknown(pos: &Pos) -> (u16, Value) {
    pos.post(
        "/counterparty/detail",
        json!({"retailStore": retail_store(), "meta": {"href": "h", "id": ""},
               "phone": "+79035559999"}),
    )
    .await
}

/// Each error-answer mode: counted, logged, recorded once (however often met), and the till gets
/// an answer in MoySklad's format, never a 5xx.
async fn error_answers_of_another_shape_or_code_are_watched(db: TestDb) {
    crate::support::captured_logs();
    let pos = Pos::start(db, Options::default()).await;
    for (mode, point) in [
        (Differs::ErrorShape, "error_body"),
        (Differs::NumericCodes, "error_code"),
    ] {
        pos.emu.set_differs(mode);
        let before = metric(&pos, point).await;
        for _ in 0..2 {
            let (status, body) = detail_of_unknown(&pos).await;
            assert!((400..500).contains(&status), "{mode:?}: {status} {body}");
            assert!(body["errors"][0]["error"].is_string(), "{body}");
        }
        let item = assert_watched(&pos, point, before, 2).await;
        assert_eq!(item["call"], "GET customer");
        assert_eq!(item["status"], 412);
        assert!(
            !item["shape"].as_str().unwrap().contains("79035559999"),
            "{item}"
        );
    }
    let list = differences(&pos, "error_code").await;
    assert_eq!(list.len(), 2, "once per point: {list:?}");
}

/// 2xx bodies of another shape: counted, logged, shown once; the till is told BonusPlus failed —
/// never a balance read from a body it did not understand, never «Покупатель не найден».
async fn answers_of_another_shape_are_watched(db: TestDb) {
    crate::support::captured_logs();
    let pos = Pos::start(db, Options::default()).await;
    pos.emu.add_customer(&pos.key, "79011231122", dec!(100));
    pos.emu.set_differs(Differs::WrappedAnswers);
    let before = metric(&pos, "answer_shape").await;
    for _ in 0..2 {
        let (status, body) = pos
            .post(
                "/counterparty/detail",
                json!({"retailStore": retail_store(), "meta": {"href": "h", "id": ""},
                       "phone": "+79011231122"}),
            )
            .await;
        assert_eq!(status, 502, "{body}");
        let error = body["errors"][0]["error"].as_str().unwrap();
        assert!(error.contains("БонусПлюс ответил с ошибкой"), "{error}");
        assert!(!error.contains("Покупатель не найден"), "{error}");
    }
    let item = assert_watched(&pos, "answer_shape", before, 2).await;
    assert_eq!(item["call"], "GET customer");
    assert_eq!(item["status"], 200);
    assert!(
        item["shape"].as_str().unwrap().starts_with("{data: {"),
        "{item}"
    );
}

/// A certificate's expiry without an offset: read as UTC (the till gets it), counted, logged,
/// shown once.
async fn a_date_without_offset_is_read_as_utc_and_watched(db: TestDb) {
    crate::support::captured_logs();
    let pos = Pos::start(db, Options::default()).await;
    let mut certificate = NewCertificate::new("GC-0001", dec!(1000));
    certificate.expire = Some("2030-07-14T10:00:00".into());
    let id = pos.emu.add_certificate(&pos.key, certificate);
    let before = metric(&pos, "date_without_offset").await;
    for _ in 0..2 {
        let (status, card) = pos
            .get(&format!(
                "/giftcard?name={id}&retailStoreId={}",
                crate::support::pos::POS
            ))
            .await;
        assert_eq!(status, 200, "{card}");
        assert_eq!(card["expireDate"], "2030-07-14 10:00:00");
        assert_eq!(card["status"], "CAN_BE_USED");
    }
    let item = assert_watched(&pos, "date_without_offset", before, 2).await;
    assert_eq!(item["call"], "GET certificate");
}

/// A 404 that does not say which entity: for a customer lookup it is the customer; for a
/// calculation whose store BonusPlus does not know, never «Покупатель не найден».
async fn a_404_naming_no_entity_is_never_a_missing_customer_for_a_store_error(db: TestDb) {
    let pos = Pos::start(db, Options::default()).await;
    pos.emu.add_customer(&pos.key, "79011231122", dec!(100));
    let store = &pos.app.state.store;
    let mut settings = store.settings(&pos.account).await.unwrap().unwrap();
    settings.store_map = json!({ crate::support::pos::POS: "Магазин 9" }).to_string();
    store.save_settings(&settings).await.unwrap();
    pos.app.state.accounts.invalidate(&pos.account);
    pos.emu.set_differs(Differs::UnspecificNotFound);

    let receipt = json!({
        "retailStore": retail_store(),
        "agent": agent("c0ffee00-0000-0000-0000-000000000001", "+79011231122"),
        "positions": [position("prod-milk", "1", "100.00")],
        "bonusProgram": {"transactionType": "EARNING"},
    });
    crate::support::captured_logs();
    let before = metric(&pos, "not_found_entity").await;
    let (status, body) = pos.post("/retaildemand/recalc", receipt).await;
    assert_ne!(body["errors"][0]["code"], 2001, "{status} {body}");
    assert!(!body.to_string().contains("Покупатель не найден"), "{body}");
    assert!(status < 500 || status == 502, "{status} {body}");

    let (status, body) = detail_of_unknown(&pos).await;
    assert_eq!(
        (status, &body["errors"][0]["code"]),
        (404, &json!(2001)),
        "{body}"
    );
    let item = assert_watched(&pos, "not_found_entity", before, 2).await;
    assert_eq!(item["status"], 404);
}

on_both_backends!(
    error_answers_of_another_shape_or_code_are_watched,
    answers_of_another_shape_are_watched,
    a_date_without_offset_is_read_as_utc_and_watched,
    a_404_naming_no_entity_is_never_a_missing_customer_for_a_store_error,
    failed_patch_puts_everything_back_and_blanks_nothing,
    failed_patch_that_cannot_be_put_back_writes_nothing,
    an_ean13_card_is_never_sent_as_an_overflowing_int,
);

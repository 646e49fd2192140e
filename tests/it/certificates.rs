//! Gift certificates by their printed number (issue 22), on both databases: every certificate
//! BonusPlus answers is remembered (GUID ↔ `name`), the shop's CSV list fills the same map, a typed
//! number is looked up there first, and an unknown number answers `INVALID`, never an error.

use bonusplus_emulator::NewCertificate;
use reqwest::Method;
use rust_decimal_macros::dec;
use serde_json::{json, Value};

use crate::on_both_backends;
use crate::support::pos::{Options, Pos, POS};
use crate::support::TestDb;

async fn gift_card(pos: &Pos, typed: &str) -> Value {
    let (status, card) = pos
        .get(&format!("/giftcard?name={typed}&retailStoreId={POS}"))
        .await;
    assert_eq!(status, 200, "{typed}: {card}");
    card
}

fn certificate_reads(pos: &Pos) -> usize {
    pos.emu
        .requests()
        .iter()
        .filter(|r| r.method == "GET" && r.path.starts_with("/certificate/"))
        .count()
}

async fn a_printed_number_is_found_once_the_certificate_was_seen(db: TestDb) {
    let pos = Pos::start(db, Options::default()).await;
    let id = pos
        .emu
        .add_certificate(&pos.key, NewCertificate::new("ДЕМО-1000", dec!(1000)));

    // Never seen: INVALID, and BonusPlus is not asked (it looks certificates up by GUID only).
    let card = gift_card(&pos, "ДЕМО-1000").await;
    assert_eq!(card["status"], "INVALID");
    assert_eq!(card["id"], "00000000-0000-0000-0000-000000000000");
    assert_eq!(certificate_reads(&pos), 0);

    // Scanned once by its GUID: its printed number is remembered.
    let card = gift_card(&pos, &id).await;
    assert_eq!(card["status"], "CAN_BE_USED");
    // Typed as printed, in any case and with spaces: the same certificate.
    for typed in ["ДЕМО-1000", "демо-1000", " ДЕМО - 1000 "] {
        let card = gift_card(&pos, typed).await;
        assert_eq!(card["status"], "CAN_BE_USED", "{typed}: {card}");
        assert_eq!(card["id"], id.as_str());
        assert_eq!(card["currentBalance"], 100_000);
    }
    assert_eq!(certificate_reads(&pos), 4);
    // Another number is still unknown.
    assert_eq!(gift_card(&pos, "ДЕМО-1001").await["status"], "INVALID");
    assert_eq!(certificate_reads(&pos), 4);
}

async fn the_shops_list_maps_printed_numbers(db: TestDb) {
    let pos = Pos::start(db, Options::default()).await;
    let id = pos
        .emu
        .add_certificate(&pos.key, NewCertificate::new("GC-7", dec!(500.50)));
    let gone = uuid::Uuid::new_v4();
    let csv = format!("Номер;GUID\nGC-7;{id}\nGC-8;not-a-guid\n\"GC-9\",\"{gone}\"\n");

    let cashier = pos.page_session(false).await;
    let (status, _) = pos
        .page(
            Method::POST,
            "/ui/api/certificates/import",
            &cashier,
            Some(json!({ "csv": csv })),
        )
        .await;
    assert_eq!(status, 403);

    let admin = pos.page_session(true).await;
    let (status, answer) = pos
        .page(
            Method::POST,
            "/ui/api/certificates/import",
            &admin,
            Some(json!({ "csv": csv })),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        (&answer["imported"], &answer["known"]),
        (&json!(2), &json!(2))
    );
    assert_eq!(answer["problems"][0]["line"], 3);
    assert!(answer["problems"][0]["reason"]
        .as_str()
        .unwrap()
        .contains("не GUID"));
    let (_, shown) = pos
        .page(Method::GET, "/ui/api/certificates", &cashier, None)
        .await;
    assert_eq!(shown["known"], 2);

    let card = gift_card(&pos, "gc-7").await;
    assert_eq!(card["status"], "CAN_BE_USED", "{card}");
    assert_eq!(
        (&card["id"], &card["currentBalance"]),
        (&json!(id), &json!(50_050))
    );
    // Listed, but BonusPlus has no such certificate; not listed at all: INVALID, never an error.
    assert_eq!(gift_card(&pos, "GC-9").await["status"], "INVALID");
    assert_eq!(gift_card(&pos, "GC-10").await["status"], "INVALID");

    let (status, error) = pos
        .page(
            Method::POST,
            "/ui/api/certificates/import",
            &admin,
            Some(json!({ "csv": "  " })),
        )
        .await;
    assert_eq!((status, &error["field"]), (422, &json!("csv")), "{error}");
}

on_both_backends!(
    a_printed_number_is_found_once_the_certificate_was_seen,
    the_shops_list_maps_printed_numbers,
);

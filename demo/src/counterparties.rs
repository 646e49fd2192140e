//! The sandbox shop's MoySklad customers for the customer import («Перенос покупателей»): three
//! hundred counterparties with phones in every till format, discount cards (EAN-13, EAN-8 and a
//! few that are not EANs), MoySklad bonus points, groups, a few archived — and deliberate
//! problems: no phone, a phone that is not one, two counterparties sharing a phone, a card that
//! belongs to another BonusPlus customer, negative points; two of them are already in BonusPlus
//! (one by phone, one by card only). Seeded through the MoySklad stand-in's Rust API.
//! Must not depend on the till page (`pos`).

use bonusbridge_testkit::moysklad::FakeMoySklad;
use serde_json::{json, Value};

/// How many ordinary counterparties the demo has (the deliberate problems come on top).
const ORDINARY: u32 = 290;

/// An EAN-13 from its first 12 digits.
fn ean13(body: &str) -> String {
    let sum: u32 = body
        .chars()
        .filter_map(|c| c.to_digit(10))
        .enumerate()
        .map(|(i, d)| if i % 2 == 0 { d } else { d * 3 })
        .sum();
    format!("{body}{}", (10 - sum % 10) % 10)
}

fn counterparty(n: u32, phone: Option<String>, card: Option<String>, points: i64) -> Value {
    const FIRST: [&str; 6] = ["Ольга", "Игорь", "Мария", "Дмитрий", "Елена", "Павел"];
    const LAST: [&str; 5] = ["Смирнов", "Попов", "Волков", "Зайцев", "Орлов"];
    let female = n.is_multiple_of(2);
    let last = LAST[(n % 5) as usize];
    let last = if female {
        format!("{last}а")
    } else {
        last.to_owned()
    };
    json!({
        "id": format!("de3c0000-0000-4000-8000-{n:012}"),
        "name": format!("{last} {}", FIRST[(n % 6) as usize]),
        "companyType": "individual",
        "legalFirstName": FIRST[(n % 6) as usize], "legalLastName": last,
        "phone": phone, "discountCardNumber": card, "bonusPoints": points,
        "email": format!("buyer{n}@example.ru"),
        "birthDate": format!("19{:02}-{:02}-{:02} 00:00:00.000", 60 + n % 40, 1 + n % 12, 1 + n % 28),
        "sex": if female { "FEMALE" } else { "MALE" },
        "tags": if n.is_multiple_of(7) { vec!["вип"] } else { vec!["розница"] },
        "archived": n.is_multiple_of(29),
    })
}

/// Phones written the ways shops type them.
fn phone(n: u32) -> String {
    let digits = format!("905{n:07}");
    match n % 4 {
        0 => format!(
            "+7 ({}) {}-{}-{}",
            &digits[..3],
            &digits[3..6],
            &digits[6..8],
            &digits[8..]
        ),
        1 => format!("8{digits}"),
        2 => digits,
        _ => format!("7{digits}"),
    }
}

/// Adds the demo's counterparties to MoySklad.
pub fn seed_counterparties(moysklad: &FakeMoySklad) {
    for n in 0..ORDINARY {
        let card = match n % 5 {
            0 | 1 => Some(ean13(&format!("2400{n:08}"))),
            2 if n.is_multiple_of(3) => Some(format!("К-{n}")),
            _ => None,
        };
        let points = if n.is_multiple_of(3) {
            0
        } else {
            i64::from(n % 50) * 20
        };
        moysklad.add_counterparty(counterparty(n, Some(phone(n)), card, points));
    }
    let problems = [
        // Already in BonusPlus by phone (Анна Сидорова), and by card only (Сергей Кузнецов).
        counterparty(1000, Some("+7 903 555-00-00".into()), None, 300),
        counterparty(1001, None, Some("96385074".into()), 150),
        // No phone, and a phone that is not one.
        counterparty(1002, None, None, 40),
        counterparty(1003, Some("12-34".into()), None, 0),
        // Two counterparties with one phone.
        counterparty(1004, Some("+7 916 000-11-22".into()), None, 100),
        counterparty(1005, Some("89160001122".into()), None, 200),
        // A card that belongs to another BonusPlus customer (Анна Сидорова's).
        counterparty(
            1006,
            Some("+7 916 000-33-44".into()),
            Some("2000000051420".into()),
            0,
        ),
        // Negative points.
        counterparty(1007, Some("+7 916 000-55-66".into()), None, -30),
    ];
    for row in problems {
        moysklad.add_counterparty(row);
    }
}

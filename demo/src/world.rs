//! What the sandbox's shop has: two points of sale and a dozen products in MoySklad (one of them
//! weighed), and in BonusPlus a programme with two stores, a few customers (balances, names, an
//! EAN-13 card), a promotion on one product and a gift certificate. Seeded through the stand-ins'
//! Rust APIs; everything else goes through the bridge's real code paths.
//! Must not depend on the till page (`pos`).

use bonusbridge_testkit::moysklad::{CatalogueProduct, FakeMoySklad};
use bonusplus_emulator::{EmulatorHandle, NewCertificate, NewCustomer, Person, TenantRules};
use rust_decimal::Decimal;

/// MoySklad's points of sale: (id, name).
pub const RETAIL_STORES: [(&str, &str); 2] = [
    ("de300000-0000-4000-8000-00000000a001", "Магазин на Ленина"),
    ("de300000-0000-4000-8000-00000000a002", "Магазин на Мира"),
];

/// The stores of the BonusPlus account, in the order of [`RETAIL_STORES`] they are meant for.
pub const BONUSPLUS_STORES: [&str; 2] = ["Магазин 1", "Магазин 2"];

const FOLDERS: [(&str, &str); 3] = [
    ("de300000-0000-4000-8000-00000000f001", "Молочные продукты"),
    ("de300000-0000-4000-8000-00000000f002", "Бакалея и фрукты"),
    ("de300000-0000-4000-8000-00000000f003", "Напитки"),
];

/// (id suffix, name, price in kopecks, weighed, folder index).
const PRODUCTS: [(u32, &str, i64, bool, usize); 12] = [
    (1, "Молоко 3,2 %, 1 л", 8990, false, 0),
    (2, "Кефир 1 %, 930 мл", 7950, false, 0),
    (3, "Сыр «Российский», весовой", 74900, true, 0),
    (4, "Масло сливочное 82,5 %, 180 г", 21900, false, 0),
    (5, "Хлеб «Бородинский»", 6500, false, 1),
    (6, "Гречка ядрица, 900 г", 11990, false, 1),
    (7, "Спагетти, 450 г", 9900, false, 1),
    (8, "Яблоки «Гала», весовые", 15990, true, 1),
    (9, "Кофе в зёрнах, 1 кг", 129000, false, 2),
    (10, "Чай чёрный, 100 пакетиков", 28900, false, 2),
    (11, "Вода минеральная, 1,5 л", 5990, false, 2),
    (12, "Сок апельсиновый, 1 л", 14900, false, 2),
];

/// The product with a BonusPlus promotion (it fires once the product sync has imported it).
pub const PROMOTED_PRODUCT: u32 = 9;
const PROMOTION_PERCENT: u32 = 10;

/// A seeded customer: phone (BonusPlus's digits), first and last name, balance, card.
pub struct DemoCustomer {
    pub phone: &'static str,
    pub first_name: &'static str,
    pub last_name: &'static str,
    pub balance: u32,
    /// `None`: BonusPlus assigns an EAN-13 card.
    pub card: Option<&'static str>,
}

pub const CUSTOMERS: [DemoCustomer; 3] = [
    DemoCustomer {
        phone: "79011231122",
        first_name: "Иван",
        last_name: "Петров",
        balance: 500,
        card: None,
    },
    DemoCustomer {
        phone: "79035550000",
        first_name: "Анна",
        last_name: "Сидорова",
        balance: 1200,
        card: Some("2000000051420"),
    },
    DemoCustomer {
        phone: "79267770011",
        first_name: "Сергей",
        last_name: "Кузнецов",
        balance: 0,
        card: Some("96385074"),
    },
];

/// The gift certificate: (GUID, printed number, roubles).
pub const CERTIFICATE: (&str, &str, u32) =
    ("0c0ffee0-0000-4000-8000-0000000000de", "ДЕМО-1000", 1000);

pub fn product_id(suffix: u32) -> String {
    format!("de300000-0000-4000-8000-{suffix:012}")
}

/// The shop's MoySklad: points of sale, folders, products.
pub fn seed_moysklad(moysklad: &FakeMoySklad) {
    for (id, name) in RETAIL_STORES {
        moysklad.add_store(id, name);
    }
    for (id, name) in FOLDERS {
        moysklad.add_folder(id, name);
    }
    for (suffix, name, price_kopecks, weighed, folder) in PRODUCTS {
        moysklad.add_product(&CatalogueProduct {
            id: product_id(suffix),
            name: name.to_owned(),
            price_kopecks,
            weighed,
            folder: Some(FOLDERS[folder].0.to_owned()),
        });
    }
}

/// The shop's BonusPlus account behind `key`.
pub fn seed_bonusplus(emulator: &EmulatorHandle, key: &str) {
    let rules = TenantRules {
        stores: BONUSPLUS_STORES.map(str::to_owned).to_vec(),
        ..TenantRules::default()
    };
    emulator.add_tenant(key, rules);
    for customer in &CUSTOMERS {
        let mut new = NewCustomer::new(customer.phone, Decimal::from(customer.balance));
        new.person = Person {
            first_name: Some(customer.first_name.to_owned()),
            last_name: Some(customer.last_name.to_owned()),
            ..Person::default()
        };
        new.discount_card_number = customer.card.map(str::to_owned);
        emulator.add_customer_with(key, new);
    }
    let promoted = product_id(PROMOTED_PRODUCT);
    for store in BONUSPLUS_STORES {
        emulator.add_promotion(
            key,
            store,
            &promoted,
            Decimal::from(PROMOTION_PERCENT),
            "Кофе недели −10 %",
        );
    }
    let (id, name, balance) = CERTIFICATE;
    let mut certificate = NewCertificate::new(name, Decimal::from(balance));
    certificate.id = Some(id.to_owned());
    emulator.add_certificate(key, certificate);
}

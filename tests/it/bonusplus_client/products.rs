//! The catalogue: `POST product/import` with a store's groups and products.

use bonusbridge::bonusplus::{ProductImport, ProductTiny};

use super::*;

fn cheese() -> ProductImport {
    ProductImport {
        store: "Магазин 1".into(),
        products: vec![
            ProductTiny {
                id: "grp-1".into(),
                pid: bonusbridge::bonusplus::wire_assumptions::TOP_LEVEL_GROUP_PID.into(),
                n: "Сыры".into(),
                g: true,
            },
            ProductTiny {
                id: "prod-1".into(),
                pid: "grp-1".into(),
                n: "Сыр".into(),
                g: false,
            },
        ],
    }
}

#[tokio::test]
async fn product_import_table() {
    run(vec![Case {
        name: "import_products → POST product/import {store, products: [{id, pid, n, g}]}, 204",
        expect: vec![request(
            "POST",
            "/product/import",
            None,
            Sent::json(
                r#"{"store": "Магазин 1", "products": [
                    {"id": "grp-1", "pid": "0", "n": "Сыры", "g": true},
                    {"id": "prod-1", "pid": "grp-1", "n": "Сыр", "g": false}]}"#,
            ),
        )
        .answer(ResponseTemplate::new(204))],
        call: call!(|c| c.import_products(&key(), &cheese())),
        outcome: |r| r.unwrap(),
        in_order: &[],
    }])
    .await;
}

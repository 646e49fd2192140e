//! The account's catalogue as MoySklad's JSON API lists it, turned into BonusPlus's product
//! import rows. The ids are MoySklad's entity ids — exactly what a receipt's
//! `assortment.meta.id` carries, so the LoyaltyAPI calculation names the imported product.
//! Pure conversion, no I/O: must not depend on `state`, incoming modules or `jobs`.

use std::collections::HashMap;

use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::bonusplus::wire_assumptions::TOP_LEVEL_GROUP_PID;
use crate::bonusplus::ProductTiny;

/// What can appear in a receipt, in import order: groups before what they contain, products
/// before their variants (a variant's group is its product's folder).
pub const ENTITIES: [&str; 4] = ["productfolder", "product", "service", "variant"];
pub const PRODUCT_ENTITY: usize = 1;
pub const VARIANT_ENTITY: usize = 3;

/// The fields we read of a folder, product, service or variant row.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CatalogueRow {
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub archived: bool,
    /// Folder of a product or service; parent folder of a folder.
    #[serde(default)]
    pub product_folder: Option<Reference>,
    /// The product of a variant.
    #[serde(default)]
    pub product: Option<Reference>,
    /// MoySklad's synchronisation id (goods created at the till are named by it, `idType: sync`).
    #[serde(default)]
    pub sync_id: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Reference {
    pub meta: Meta,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Meta {
    pub href: String,
}

impl Reference {
    /// The id at the end of the reference's `href`.
    pub fn id(&self) -> Option<&str> {
        id_of_href(&self.meta.href)
    }
}

/// `…/entity/product/<id>?expand=…` → `<id>`.
pub fn id_of_href(href: &str) -> Option<&str> {
    let path = href.split(['?', '#']).next()?;
    path.trim_end_matches('/')
        .rsplit('/')
        .next()
        .filter(|id| !id.is_empty())
}

/// Turns one page of `entity` into import rows; `folders` maps product id → folder id and is
/// filled from product pages so that variants land in their product's group.
pub fn to_import_rows(
    entity: usize,
    rows: &[CatalogueRow],
    folders: &mut HashMap<String, String>,
) -> Vec<ProductTiny> {
    rows.iter()
        .filter(|row| !row.archived && !row.id.trim().is_empty())
        .map(|row| {
            let folder = row
                .product_folder
                .as_ref()
                .and_then(Reference::id)
                .map(str::to_owned);
            if entity == PRODUCT_ENTITY {
                if let Some(folder) = &folder {
                    folders.insert(row.id.clone(), folder.clone());
                }
            }
            let parent = if entity == VARIANT_ENTITY {
                row.product
                    .as_ref()
                    .and_then(Reference::id)
                    .and_then(|product| folders.get(product).cloned())
            } else {
                folder
            };
            ProductTiny {
                id: row.id.clone(),
                pid: parent.unwrap_or_else(|| TOP_LEVEL_GROUP_PID.to_owned()),
                n: display_name(&row.name, &row.id),
                g: entity == 0,
            }
        })
        .collect()
}

/// (sync id, id) of the rows that carry a sync id: what a till-made good's line is mapped by.
pub fn sync_id_pairs(rows: &[CatalogueRow]) -> Vec<(String, String)> {
    rows.iter()
        .filter_map(|row| {
            let sync_id = row.sync_id.as_deref()?.trim();
            let id = row.id.trim();
            (!sync_id.is_empty() && !id.is_empty()).then(|| (sync_id.to_owned(), id.to_owned()))
        })
        .collect()
}

fn display_name(name: &str, id: &str) -> String {
    let name = name.trim();
    if name.is_empty() {
        id.to_owned()
    } else {
        name.chars().take(255).collect()
    }
}

/// What a row looked like when sent: a changed name, group or kind changes it.
pub fn fingerprint(row: &ProductTiny) -> String {
    let mut hasher = Sha256::new();
    for part in [
        row.pid.as_str(),
        row.n.as_str(),
        if row.g { "g" } else { "p" },
    ] {
        hasher.update(part.as_bytes());
        hasher.update([0x1f]);
    }
    hasher.finalize()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(json: serde_json::Value) -> CatalogueRow {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn ids_come_from_hrefs() {
        let base = "https://api.moysklad.ru/api/remap/1.2/entity";
        assert_eq!(id_of_href(&format!("{base}/product/abc-1")), Some("abc-1"));
        assert_eq!(
            id_of_href(&format!("{base}/productfolder/f-2?expand=x")),
            Some("f-2")
        );
        assert_eq!(id_of_href(""), None);
    }

    #[test]
    fn products_variants_and_folders_become_import_rows() {
        let href = |kind: &str, id: &str| serde_json::json!({"meta": {"href": format!("https://x/entity/{kind}/{id}")}});
        let mut folders = HashMap::new();
        let groups = to_import_rows(
            0,
            &[row(serde_json::json!({"id": "f1", "name": "Молочка"}))],
            &mut folders,
        );
        assert_eq!(groups[0].pid, TOP_LEVEL_GROUP_PID);
        assert!(groups[0].g);
        let products = to_import_rows(
            PRODUCT_ENTITY,
            &[
                row(
                    serde_json::json!({"id": "p1", "name": "Молоко", "productFolder": href("productfolder", "f1")}),
                ),
                row(serde_json::json!({"id": "p2", "name": "Старое", "archived": true})),
            ],
            &mut folders,
        );
        assert_eq!(products.len(), 1, "archived rows are not imported");
        assert_eq!((products[0].pid.as_str(), products[0].g), ("f1", false));
        let variants = to_import_rows(
            VARIANT_ENTITY,
            &[row(
                serde_json::json!({"id": "v1", "name": "Молоко (1 л)", "product": href("product", "p1")}),
            )],
            &mut folders,
        );
        assert_eq!(
            (variants[0].id.as_str(), variants[0].pid.as_str()),
            ("v1", "f1")
        );
    }

    #[test]
    fn sync_ids_are_kept_beside_ids() {
        let rows = [
            row(serde_json::json!({"id": "p1", "syncId": "s1"})),
            row(serde_json::json!({"id": "p2"})),
            row(serde_json::json!({"id": "p3", "syncId": " "})),
        ];
        assert_eq!(
            sync_id_pairs(&rows),
            vec![("s1".to_owned(), "p1".to_owned())]
        );
    }

    #[test]
    fn fingerprints_change_with_what_is_sent() {
        let a = ProductTiny {
            id: "1".into(),
            pid: "0".into(),
            n: "Хлеб".into(),
            g: false,
        };
        let mut b = a.clone();
        assert_eq!(fingerprint(&a), fingerprint(&b));
        b.n = "Хлеб белый".into();
        assert_ne!(fingerprint(&a), fingerprint(&b));
    }
}

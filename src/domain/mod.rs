//! Pure rules: validated domain types and the translation rules between MoySklad and BonusPlus.
//! Must not depend on anything with I/O — no `state`, `store`, clients, HTTP or services.
pub mod activity;
pub mod attention;
pub mod audit;
pub mod certificate;
pub mod customer_import;
pub mod ean;
pub mod keys;
pub mod money;
pub mod names;
pub mod phone;
pub mod pricing;
pub mod returns;
pub mod search;
pub mod verification;

pub use ean::{Ean, EanError};
pub use phone::{Phone, PhoneError};

//! Pure rules: validated domain types and the translation rules between MoySklad and BonusPlus.
//! Must not depend on anything with I/O — no `state`, `store`, clients, HTTP or services.
pub mod activity;
pub mod attention;
pub mod audit;
pub mod certificate;
pub mod customer_import;
pub mod ean;
pub mod identity;
pub mod money;
pub mod phone;
pub mod receipt;
pub mod returns;
pub mod search;
pub mod verification;

pub use ean::{Ean, EanError};
pub use phone::{Phone, PhoneError};

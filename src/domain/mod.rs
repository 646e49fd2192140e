//! Validated domain types: once constructed, a value is known to be well-formed.
pub mod ean;
pub mod phone;

pub use ean::{Ean, EanError};
pub use phone::{Phone, PhoneError};

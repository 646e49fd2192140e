//! Validated domain types: once constructed, a value is known to be well-formed.
pub mod phone;

pub use phone::{Phone, PhoneError};

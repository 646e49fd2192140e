//! Typed client of the BonusPlus loyalty API. The wire contract is `docs/bonusplus-wire.md`;
//! the points of it BonusPlus has not confirmed live in [`unconfirmed`].
//! Outgoing client: must not depend on `state`, incoming modules, services or `store`.
mod client;
mod error;
mod merge;
mod types;
pub mod unconfirmed;
pub mod watch;

pub use client::{
    ApiKey, BonusPlusClient, CustomerUpdate, Probe, ProbeAnswer, Withheld, MAX_CUSTOMERS_PER_LIST,
};
pub use error::{codes, BonusPlusError, Result};
pub use types::{
    CalcItem, CalcRequest, CalcResult, CertificateStatus, Customer, CustomerFilter, CustomerPatch,
    GiftCardPayment, GiftCardResponse, ItemDiscount, NewCustomer, Person, ProductImport,
    ProductTiny, ReserveRequest, ReturnLine, SaleRequest, SaleResult, Sex, UpdateCustomer,
};

//! Typed client of the BonusPlus loyalty API. The wire contract is `docs/bonusplus-wire.md`;
//! the points of it BonusPlus has not confirmed live in [`wire_assumptions`].
//! Outgoing client: must not depend on `state`, incoming modules, services or `store`.
mod client;
mod error;
mod merge;
pub mod watch;
mod wire;
pub mod wire_assumptions;

pub use client::{
    ApiKey, BonusPlusClient, CustomerUpdate, Probe, ProbeAnswer, Withheld, MAX_CUSTOMERS_PER_LIST,
};
pub use error::{codes, BonusPlusError, Result};
pub use wire::{
    CalcItem, CalcRequest, CalcResult, CertificateStatus, Customer, CustomerFilter, CustomerPatch,
    GiftCardPayment, GiftCardResponse, ItemDiscount, NewCustomer, Person, ProductImport,
    ProductTiny, ReserveRequest, ReturnLine, SaleRequest, SaleResult, Sex, UpdateCustomer,
};

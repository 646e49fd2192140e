//! A stateful, in-memory emulator of the BonusPlus HTTP API (`docs/bonusplus-wire.md`),
//! for integration tests, demos and benchmarks.
//!
//! ```no_run
//! # async fn demo() {
//! use bonusplus_emulator::{Emulator, TenantRules};
//! let emulator = Emulator::start().await;
//! emulator.add_tenant("key", TenantRules::default());
//! emulator.add_customer("key", "79990000001", 500.into());
//! let base_url = emulator.base_url(); // point the client here
//! # }
//! ```
//!
//! State is kept per API key (tenant). Every BonusPlus call locks only its tenant, briefly,
//! and never across an `.await`.

mod api;
mod calc;
mod control;
mod differs;
mod error;
mod faults;
mod formats;
mod model;
mod money;
mod numbers;
mod server;
mod state;
mod tenant;
mod wire;

pub use differs::Differs;
pub use error::ErrorCode;
pub use model::{
    BookedSale, CertificateSnapshot, CustomerExtras, CustomerSnapshot, GiftCardPaymentSnapshot,
    ImportedProduct, ListShape, NameMatch, NewCertificate, NewCustomer, Person, RefusedRoute,
    RouteWire, SaleSnapshot, SentMessage, SoldItemSnapshot, TenantRules, DEFAULT_CARD_NAME,
    DEFAULT_STORE,
};
pub use server::{app, Emulator, EmulatorHandle};
pub use state::{FailureMode, RecordedRequest};

//! MoySklad LoyaltyAPI ↔ BonusPlus bridge: a MoySklad marketplace app that answers the cash desk's
//! loyalty calls by talking to BonusPlus.
//!
//! The modules read top to bottom; each imports only what is listed below it (the utilities
//! excepted, which anything may use), and `tests/it/architecture.rs` holds the line.

// Start-up and the whole router: build the state, mount the incoming APIs, spawn the workers.
pub mod routes;
pub mod startup;

// Incoming, by who calls us: MoySklad's LoyaltyAPI (the till), MoySklad's Vendor API (the app's
// life cycle), the settings page. They never import each other.
pub mod loyalty_api;
pub mod ui;
pub mod vendor_api;

// What the handlers share.
pub mod state;

// Shared services, used by handlers and workers alike; they never import `state` or a handler.
pub mod accounts;
pub mod certificates;
pub mod changes;
pub mod customers;
pub mod differences;
pub mod doctor;
pub mod import;
pub mod jobs;
pub mod outbox;
pub mod reserves;
pub mod sync;

// Outgoing clients: BonusPlus, and what we call of MoySklad.
pub mod bonusplus;
pub mod moysklad;

// Storage over PostgreSQL / SQLite.
pub mod store;

// Pure rules: no I/O, no state, no storage, no clients.
pub mod domain;

// Utilities, usable from any layer above; they import no incoming module and no `state`.
pub mod admin;
pub mod cache;
pub mod config;
pub mod crypto;
pub mod descriptor;
pub mod http;
pub mod meters;
pub mod telemetry;

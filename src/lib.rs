//! MoySklad LoyaltyAPI ↔ BonusPlus bridge: a MoySklad marketplace app that answers the cash desk's
//! loyalty calls by talking to BonusPlus.
//!
//! The modules read top to bottom, one layer a paragraph; a module imports only from its own layer
//! or the layers below it, never in a loop, and `tests/it/architecture.rs` holds the line with no
//! exceptions.

// Start-up, the whole router and the operator's commands: build the state, mount the incoming
// APIs, spawn the workers; `admin` holds what `main.rs` runs besides the server.
pub mod admin;
pub mod routes;
pub mod startup;

// Incoming, by who calls us: MoySklad's LoyaltyAPI (the till), MoySklad's Vendor API (the app's
// life cycle), the settings page, the operator's monitoring (health probes, Prometheus's scrape).
// They never import each other.
pub mod loyalty_api;
pub mod monitoring;
pub mod ui;
pub mod vendor_api;

// What the handlers share.
pub mod state;

// Shared services, used by handlers and workers alike; they never import `state` or a handler,
// and the queue (`jobs`) never imports the owner of a job (`outbox`, `sync`, `import`).
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

// Outgoing clients (BonusPlus, what we call of MoySklad) and storage over PostgreSQL / SQLite,
// side by side: services combine them; a client never reaches storage, nor storage a client.
pub mod bonusplus;
pub mod moysklad;
pub mod store;

// Utilities, usable from every layer above; they import only `domain` and each other.
pub mod cache;
pub mod config;
pub mod crypto;
pub mod descriptor;
pub mod http;
pub mod meters;
pub mod telemetry;

// Pure rules: no I/O, no state, no storage, no clients; they import nothing outside `domain`.
pub mod domain;

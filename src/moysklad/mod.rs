//! Outgoing: what we call of MoySklad — the Vendor API client (settings-page context, loyalty
//! settings, app status), the JSON API client (points of sale, catalogue), and the Vendor API JWTs.
//! Must not depend on `state`, on incoming modules or on services.
pub mod counterparty;
pub mod json_api;
pub mod jwt;
pub mod vendor_client;

//! Integration tests: one binary (faster to build and link) with a module per area; what they
//! share is in `support/`.

mod activity;
mod architecture;
mod bonusplus_client;
mod bonusplus_differs;
mod browser;
mod certificates;
mod checkout;
mod cli;
mod config;
mod deploy_kit;
mod doctor;
mod doctor_browser;
mod documented_bonusplus;
mod durability;
mod http_basics;
mod import;
mod import_browser;
mod import_crash;
mod instances;
mod json_api;
mod lifecycle;
mod loyalty_pos;
mod loyalty_wire;
mod metrics;
mod product_sync;
mod rate_limit;
mod security;
mod store_conformance;
mod support;
mod verification_codes;

//! Integration tests: one binary (faster to build and link) with a module per area.

mod browser;
mod cli;
mod common;
mod config;
mod deploy_kit;
mod durability;
mod http_basics;
mod lifecycle;
mod loyalty_pos;
mod loyalty_support;
mod loyalty_wire;
mod metrics;
mod moysklad_fake;
mod product_sync;
mod remap;
mod security;
mod store_conformance;

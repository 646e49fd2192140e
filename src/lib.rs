//! MoySklad LoyaltyAPI ↔ BonusPlus bridge: a MoySklad marketplace app that answers the cash desk's
//! loyalty calls by talking to BonusPlus.
pub mod admin;
pub mod bonusplus;
pub mod config;
pub mod crypto;
pub mod descriptor;
pub mod domain;
pub mod http;
pub mod jobs;
pub mod loyalty;
pub mod meters;
pub mod moysklad;
pub mod startup;
pub mod store;
pub mod sync;
pub mod telemetry;
pub mod ui;

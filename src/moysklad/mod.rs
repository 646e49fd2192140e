pub mod client;
pub mod jwt;
pub mod loyalty;
pub mod loyalty_types;
pub mod remap;
pub mod vendor;

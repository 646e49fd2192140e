pub mod loyalty;
pub mod loyalty_types;
pub mod remap;

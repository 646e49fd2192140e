pub mod loyalty;
pub mod loyalty_types;

pub mod loyalty_types;

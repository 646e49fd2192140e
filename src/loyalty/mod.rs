pub mod receipt;

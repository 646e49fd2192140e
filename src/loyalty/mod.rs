//! The translation rules between MoySklad and BonusPlus: pure functions, easy to test.
pub mod identity;
pub mod receipt;
pub mod returns;

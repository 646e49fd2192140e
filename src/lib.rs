//! MoySklad LoyaltyAPI ↔ BonusPlus bridge.
pub mod bonusplus;
pub mod domain;
pub mod loyalty;
pub mod moysklad;

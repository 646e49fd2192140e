//! The marketplace life cycle end to end, with a fake MoySklad and the BonusPlus emulator
//! ([`World`](crate::support::moysklad::World)): install, open the settings page, save, the till
//! works with what MoySklad was given, suspend, resume, rotate the token, uninstall.

mod install;
mod settings_page;
mod token_rotation;

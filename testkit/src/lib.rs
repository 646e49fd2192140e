//! The project's own stand-ins, shared by the integration tests (`tests/it`) and the sandbox
//! (`demo/`) so that both run against one implementation: a local MoySklad ([`moysklad`]) and,
//! with the `browser` feature, a headless Chromium driven through chromedriver ([`browser`]).
//! Never a dependency of the production binary.

#[cfg(feature = "browser")]
pub mod browser;
pub mod moysklad;

//! The catalogue on the wire (`POST product/import`).
//! Plain data of the outgoing client: no I/O, no other layer.

use serde::Serialize;

/// Body of `POST product/import`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProductImport {
    pub store: String,
    pub products: Vec<ProductTiny>,
}

/// A product or a group (category) of the catalogue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProductTiny {
    pub id: String,
    /// Parent group id; [`TOP_LEVEL_GROUP_PID`](crate::bonusplus::wire_assumptions::TOP_LEVEL_GROUP_PID) at top level.
    pub pid: String,
    /// Name.
    pub n: String,
    /// True for a group.
    pub g: bool,
}

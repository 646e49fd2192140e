//! The one error type of work the queue runs — deliveries, product syncs, customer imports —
//! saying whether a job is worth trying again. Must not depend on `state`, on incoming modules or
//! on a job's owner; each owner maps its own failures into it.

use crate::bonusplus::BonusPlusError;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// Try again later (BonusPlus or MoySklad unavailable, the sale of a return not delivered yet).
    #[error("{0}")]
    Retry(String),
    /// Trying again will not help (BonusPlus refused, account uninstalled, no key).
    #[error("{0}")]
    Permanent(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<BonusPlusError> for JobError {
    fn from(error: BonusPlusError) -> Self {
        if error.is_retryable() {
            JobError::Retry(error.to_string())
        } else {
            JobError::Permanent(error.to_string())
        }
    }
}

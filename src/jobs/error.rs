//! The one error type of the job queue's work: whether a job is worth trying again.
//! Must not depend on `state` or on incoming modules; other layers' errors are mapped here.

use crate::bonusplus::BonusPlusError;
use crate::customers::CustomerError;
use crate::domain::attention;
use crate::store::StoreError;
use crate::sync::SyncError;

#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// Try again later (BonusPlus unavailable, the sale of a return not delivered yet).
    #[error("{0}")]
    Retry(String),
    /// Trying again will not help (BonusPlus refused, account uninstalled).
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

impl From<SyncError> for JobError {
    fn from(error: SyncError) -> Self {
        match error {
            SyncError::Retry(reason) => JobError::Retry(reason),
            SyncError::Permanent(reason) => JobError::Permanent(reason),
            SyncError::Store(error) => JobError::Store(error),
        }
    }
}

impl From<crate::import::ImportError> for JobError {
    fn from(error: crate::import::ImportError) -> Self {
        use crate::import::ImportError;
        match error {
            ImportError::Retry(reason) => JobError::Retry(reason),
            ImportError::Store(error) => JobError::Store(error),
            other => JobError::Permanent(other.to_string()),
        }
    }
}

/// A sale's customer: what cannot be resolved will not be later either (the page says why, in
/// Russian); storage and an unavailable BonusPlus are retried.
impl From<CustomerError> for JobError {
    fn from(error: CustomerError) -> Self {
        match error {
            CustomerError::Unidentified => JobError::Permanent(attention::UNIDENTIFIED.into()),
            CustomerError::UnknownCard => JobError::Permanent(attention::UNKNOWN_CARD.into()),
            CustomerError::InvalidPhone(error) => {
                JobError::Permanent(format!("{}: {error}", attention::INVALID_PHONE))
            }
            CustomerError::BonusPlus(error) => error.into(),
            CustomerError::Store(error) => JobError::Store(error),
        }
    }
}

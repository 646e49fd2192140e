//! `account`: the key check.

use axum::Json;

use super::extract::Caller;
use crate::wire::AccountAnswer;

/// `GET account`: 200 for a good key (401 comes from [`Caller`]).
pub async fn info(Caller(_tenant): Caller) -> Json<AccountAnswer> {
    Json(AccountAnswer::demo())
}

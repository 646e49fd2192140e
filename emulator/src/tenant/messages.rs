//! Confirmation codes and messages texted to a customer, kept for the control side.
//! Must not depend on the wire or HTTP (`wire`, `api`), nor on retail or certificates.

use super::TenantData;
use crate::error::{ApiError, ErrorCode};
use crate::formats;
use crate::model::SentMessage;

impl TenantData {
    pub fn last_code(&self, phone: &str) -> Option<String> {
        self.customers.get(phone).and_then(|c| c.last_code.clone())
    }

    pub fn codes_sent(&self, phone: &str) -> usize {
        self.customers.get(phone).map_or(0, |c| c.codes_sent)
    }

    pub fn messages(&self, phone: &str) -> Vec<SentMessage> {
        self.customers
            .get(phone)
            .map(|c| c.messages.clone())
            .unwrap_or_default()
    }

    /// Keeps the new code; answers it only if the rules reveal codes.
    pub fn send_code(&mut self, phone: &str, code: String) -> Result<Option<String>, ApiError> {
        let reveal = self.rules.reveal_codes;
        let customer = self.customer_mut(phone)?;
        customer.last_code = Some(code.clone());
        customer.codes_sent += 1;
        Ok(reveal.then_some(code))
    }

    /// A code stays valid until the next `sendCode`.
    pub fn check_code(&self, phone: &str, code: &str) -> Result<(), ApiError> {
        let customer = self.customer_by_phone(phone)?;
        if customer.last_code.as_deref() == Some(code) {
            Ok(())
        } else {
            Err(ApiError::precondition(
                ErrorCode::InvalidCode,
                "the code is wrong or was never sent",
            ))
        }
    }

    /// `sendMessage`: the text is kept for the control side.
    pub fn send_message(
        &mut self,
        phone: &str,
        text: String,
        route: Vec<String>,
    ) -> Result<(), ApiError> {
        let customer = self.customer_mut(phone)?;
        customer.messages.push(SentMessage {
            kind: "message".to_owned(),
            text,
            at: formats::now_utc(),
            route,
        });
        Ok(())
    }
}

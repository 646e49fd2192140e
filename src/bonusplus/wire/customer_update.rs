//! Body of `PUT customer/{phoneNumber}` (`UpdateCustomer`), field for field as the reference
//! names them. Plain data of the outgoing client: no I/O, no other layer.
//!
//! PUT is a **full replace**: every field not sent is overwritten with an empty value. So this
//! body is only ever built by [`merge`](crate::bonusplus::merge) from everything BonusPlus
//! answered for the customer, with the change applied on top.

use serde::{Deserialize, Serialize};

/// `UpdateCustomer` [DOC, `PUT-customer-phoneNumber`]. Complex members (`relatives`,
/// `significantDates`) are carried back as BonusPlus gave them. Unknown members are refused
/// when read (`deny_unknown_fields`): a field this body cannot carry would be erased by the PUT.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateCustomer {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new_phone: Option<String>,
    /// The card number: an `int` (Int32) in the reference.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new_card_number: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invitation_code: Option<String>,
    /// The card (status) name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new_card: Option<String>,
    #[serde(rename = "parentphone", skip_serializing_if = "Option::is_none")]
    pub parentphone: Option<String>,
    #[serde(rename = "fn", skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    #[serde(rename = "ln", skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    #[serde(rename = "mn", skip_serializing_if = "Option::is_none")]
    pub middle_name: Option<String>,
    /// `SexEnum`, carried back as BonusPlus answered it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sex: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub desc: Option<String>,
    /// `ДД.ММ.ГГГГ`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub birth_day: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile_instagram: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile_vkontakte: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile_odnoklassniki: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    #[serde(rename = "disablePromoSMS", skip_serializing_if = "Option::is_none")]
    pub disable_promo_sms: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub store_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cashier_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub relatives: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub significant_dates: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registration_source_id: Option<String>,
}

//! Keys: the GUID we answer for a customer, and the idempotency key that books a sale or return
//! once.
//! Pure rules: must not depend on anything with I/O (no `state`, `store`, clients or HTTP).

use uuid::Uuid;

/// Namespace of customer GUIDs (a fixed random UUID; changing it would change every GUID).
const CUSTOMER_NAMESPACE: Uuid = Uuid::from_u128(0x6c1e_2f0a_9d4b_4f7e_b1a2_53c8_e0d4_7a19);

/// The customer's id in our answers: the same for the same BonusPlus customer (phone) of the same
/// account, on every instance and forever, and different across accounts.
pub fn customer_guid(account_id: &str, phone: &str) -> String {
    Uuid::new_v5(
        &CUSTOMER_NAMESPACE,
        format!("{account_id}\n{phone}").as_bytes(),
    )
    .to_string()
}

/// The key that makes a sale or return booked once: MoySklad's id when it sends one, otherwise
/// point of sale + number + moment (MoySklad's own example sends empty ids).
pub fn idempotency_key(
    ms_id: &str,
    retail_store_id: &str,
    name: Option<&str>,
    moment: Option<&str>,
) -> Option<String> {
    let ms_id = ms_id.trim();
    if !ms_id.is_empty() {
        return Some(format!("id:{ms_id}"));
    }
    let name = name.map(str::trim).filter(|n| !n.is_empty())?;
    let moment = moment.map(str::trim).filter(|m| !m.is_empty())?;
    Some(format!("pos:{retail_store_id}|{name}|{moment}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guids_are_stable_per_account_and_phone() {
        let a = customer_guid("acc-1", "79011231122");
        assert_eq!(a, customer_guid("acc-1", "79011231122"));
        assert_ne!(a, customer_guid("acc-2", "79011231122"));
        assert_ne!(a, customer_guid("acc-1", "79011231123"));
        assert!(Uuid::parse_str(&a).is_ok());
    }

    #[test]
    fn idempotency_key_prefers_the_id_then_number_and_moment() {
        assert_eq!(
            idempotency_key("s-1", "pos", Some("1"), None).as_deref(),
            Some("id:s-1")
        );
        assert_eq!(
            idempotency_key(" ", "pos", Some("00012"), Some("2026-01-02 10:00:00")).as_deref(),
            Some("pos:pos|00012|2026-01-02 10:00:00")
        );
        assert_eq!(idempotency_key("", "pos", Some("00012"), None), None);
    }
}

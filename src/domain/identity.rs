//! Identity rules: the GUID we answer for a customer, idempotency keys of sales and returns, and
//! customer names between MoySklad's one-line name and BonusPlus's parts.
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

/// A person's name parts as BonusPlus keeps them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NameParts {
    pub last: Option<String>,
    pub first: Option<String>,
    pub middle: Option<String>,
}

/// Splits "Фамилия Имя Отчество" (Russian order); explicit parts, when given, win.
pub fn split_full_name(
    full: Option<&str>,
    last: Option<&str>,
    first: Option<&str>,
    middle: Option<&str>,
) -> NameParts {
    let clean = |s: Option<&str>| {
        s.map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let (last, first, middle) = (clean(last), clean(first), clean(middle));
    if last.is_some() || first.is_some() || middle.is_some() {
        return NameParts {
            last,
            first,
            middle,
        };
    }
    let mut words = full.unwrap_or("").split_whitespace();
    let parts = NameParts {
        last: words.next().map(str::to_owned),
        first: words.next().map(str::to_owned),
        middle: {
            let rest: Vec<&str> = words.collect();
            (!rest.is_empty()).then(|| rest.join(" "))
        },
    };
    // A single word is more likely a first name than a surname at a till.
    if parts.first.is_none() && parts.middle.is_none() {
        return NameParts {
            first: parts.last,
            ..NameParts::default()
        };
    }
    parts
}

/// The one-line name MoySklad shows: "Фамилия Имя Отчество", or `fallback` when nothing is known.
pub fn full_name(parts: &NameParts, fallback: &str) -> String {
    let words: Vec<&str> = [&parts.last, &parts.first, &parts.middle]
        .into_iter()
        .filter_map(|p| p.as_deref())
        .collect();
    if words.is_empty() {
        fallback.to_owned()
    } else {
        words.join(" ")
    }
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

    #[test]
    fn names_split_in_russian_order() {
        let parts = split_full_name(Some("Петров Иван Сергеевич"), None, None, None);
        assert_eq!(parts.last.as_deref(), Some("Петров"));
        assert_eq!(parts.first.as_deref(), Some("Иван"));
        assert_eq!(parts.middle.as_deref(), Some("Сергеевич"));
        assert_eq!(full_name(&parts, "x"), "Петров Иван Сергеевич");
        let single = split_full_name(Some("Иван"), None, None, None);
        assert_eq!(single.first.as_deref(), Some("Иван"));
        let explicit = split_full_name(Some("ignored"), Some("Сидоров"), None, None);
        assert_eq!(explicit.last.as_deref(), Some("Сидоров"));
        assert_eq!(
            full_name(&NameParts::default(), "+79011231122"),
            "+79011231122"
        );
    }
}

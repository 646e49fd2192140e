//! Why a sale or return was not booked, as a shop owner reads it: the reason in plain Russian and
//! what to do about it. The delivery writes the reasons below; BonusPlus's own refusals arrive as
//! BonusPlus words them; rows parked by older versions carry English reasons, recognised here so
//! they read in Russian too. Pure rules: must not depend on anything with I/O.

/// A sale of a customer BonusPlus does not know, with registration at the till switched off.
pub const NOT_A_MEMBER: &str =
    "Покупатель не зарегистрирован в БонусПлюс, а регистрация на кассе выключена в настройках приложения";
/// Neither a phone, nor a card, nor a counterparty we know.
pub const UNIDENTIFIED: &str =
    "Покупатель не определён: у продажи нет телефона, карты и известного контрагента";
/// Only a card, and BonusPlus has nobody with it.
pub const UNKNOWN_CARD: &str = "Карта покупателя не найдена в БонусПлюс, а телефона у продажи нет";
/// The phone MoySklad sent is not a phone number (followed by the reason).
pub const INVALID_PHONE: &str = "Телефон покупателя не подходит";
/// The account has no BonusPlus key that opens (uninstalled, or the key was removed).
pub const NO_KEY: &str = "У аккаунта нет действующего ключа API БонусПлюс";
/// A return of a sale BonusPlus never booked.
pub const SALE_NOT_BOOKED: &str = "Продажа этого возврата не проведена в БонусПлюс";
/// A return whose sale is missing from the records.
pub const SALE_UNKNOWN: &str = "Продажа этого возврата не найдена в записях приложения";
/// The recorded operation cannot be read back.
pub const CORRUPT: &str = "Запись операции повреждена";

/// What the page shows about an operation BonusPlus refused for good.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Advice {
    /// Why it was not booked, in Russian.
    pub reason: String,
    /// What the shop can do, in Russian.
    pub what_to_do: &'static str,
}

const RETRY_LATER: &str = "Нажмите «Повторить», когда БонусПлюс снова будет отвечать.";
const CHECK_IN_BONUSPLUS: &str = "Проверьте покупателя и его баланс в кабинете БонусПлюс; когда причина устранена, нажмите «Повторить». Если повторять не нужно, проведите бонусы по этой операции вручную в кабинете БонусПлюс.";
const CHECK_KEY: &str =
    "Проверьте ключ API БонусПлюс в настройках выше, сохраните их и нажмите «Повторить».";
const BY_HAND: &str =
    "Повтор не поможет: при необходимости начислите или спишите бонусы вручную в кабинете БонусПлюс.";

/// The reason and the advice for a stored failure reason (`None`: none was recorded).
pub fn advise(stored: Option<&str>) -> Advice {
    let text = stored.map(str::trim).unwrap_or_default();
    let (reason, what_to_do) = match known(text) {
        Some(known) => known,
        None if text.is_empty() => ("Причина не записана".to_owned(), CHECK_IN_BONUSPLUS),
        None => (format!("БонусПлюс отказал: {text}"), CHECK_IN_BONUSPLUS),
    };
    Advice { reason, what_to_do }
}

/// Reasons the app itself writes (and wrote), each with its advice.
fn known(text: &str) -> Option<(String, &'static str)> {
    let starts = |prefix: &str| text.starts_with(prefix);
    let advice = if starts(NOT_A_MEMBER) {
        "Включите в настройках «Регистрировать в БонусПлюс новых покупателей прямо на кассе» или зарегистрируйте покупателя в кабинете БонусПлюс, затем нажмите «Повторить»."
    } else if starts(UNIDENTIFIED) {
        BY_HAND
    } else if starts(UNKNOWN_CARD) {
        "Привяжите карту к покупателю в кабинете БонусПлюс и нажмите «Повторить»."
    } else if starts(INVALID_PHONE) {
        "Исправьте телефон в карточке покупателя в МоёмСкладе для следующих продаж. По этой продаже повтор не поможет: начислите или спишите бонусы вручную в кабинете БонусПлюс."
    } else if starts(NO_KEY) {
        CHECK_KEY
    } else if starts(SALE_NOT_BOOKED) {
        "Сначала повторите отправку продажи этого возврата; когда она будет проведена, нажмите «Повторить» у возврата."
    } else if starts(SALE_UNKNOWN) || starts(CORRUPT) {
        BY_HAND
    } else {
        return legacy_or_transport(text);
    };
    Some((text.to_owned(), advice))
}

/// Failures of the connection to BonusPlus, and the English reasons older versions wrote.
fn legacy_or_transport(text: &str) -> Option<(String, &'static str)> {
    let starts = |prefix: &str| text.starts_with(prefix);
    let (reason, advice) = if starts("BonusPlus не принял ключ API") {
        (
            "БонусПлюс не принял ключ API: ключ неверный или отозван",
            CHECK_KEY,
        )
    } else if starts("BonusPlus недоступен") {
        (
            "БонусПлюс долго не отвечал, попытки отправить исчерпаны",
            RETRY_LATER,
        )
    } else if starts("Неожиданный ответ BonusPlus") {
        ("БонусПлюс ответил непонятно", RETRY_LATER)
    } else if starts("BonusPlus не поддерживает этот запрос") {
        ("БонусПлюс не принимает такой запрос", CHECK_IN_BONUSPLUS)
    } else if starts("Не найдено в BonusPlus") {
        (
            "Покупатель или продажа не найдены в БонусПлюс",
            CHECK_IN_BONUSPLUS,
        )
    } else if starts("the account has no usable BonusPlus key") {
        return known(NO_KEY);
    } else if starts("the sale was never booked") {
        return known(SALE_NOT_BOOKED);
    } else if starts("the sale of this return") {
        return known(SALE_UNKNOWN);
    } else if starts("corrupt ") {
        return known(CORRUPT);
    } else {
        return None;
    };
    Some((reason.to_owned(), advice))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_russian(text: &str) -> bool {
        let letters = text.chars().filter(|c| c.is_alphabetic());
        let (cyrillic, latin) = letters.fold((0, 0), |(c, l), ch| {
            if ('\u{0400}'..='\u{04FF}').contains(&ch) {
                (c + 1, l)
            } else {
                (c, l + 1)
            }
        });
        cyrillic > 0 && latin * 3 <= cyrillic
    }

    #[test]
    fn the_apps_own_reasons_come_with_what_to_do() {
        let advice = advise(Some(NOT_A_MEMBER));
        assert_eq!(advice.reason, NOT_A_MEMBER);
        assert!(advice.what_to_do.contains("Регистрировать"), "{advice:?}");
        let phone = format!("{INVALID_PHONE}: слишком мало цифр");
        assert_eq!(advise(Some(&phone)).reason, phone);
        assert!(advise(Some(&phone)).what_to_do.contains("вручную"));
        assert!(advise(Some(SALE_NOT_BOOKED)).what_to_do.contains("продажи"));
    }

    #[test]
    fn english_reasons_of_older_versions_read_in_russian() {
        for old in [
            "the account has no usable BonusPlus key (uninstalled?)",
            "the sale was never booked",
            "the sale of this return is unknown",
            "the sale of this return is not a sale",
            "corrupt sale payload: missing field `store`",
        ] {
            let advice = advise(Some(old));
            assert!(is_russian(&advice.reason), "{old} → {advice:?}");
            assert!(is_russian(advice.what_to_do), "{old} → {advice:?}");
        }
    }

    #[test]
    fn bonusplus_failures_are_named_and_its_refusals_quoted() {
        let down = advise(Some("BonusPlus недоступен: operation timed out"));
        assert_eq!(
            down.reason,
            "БонусПлюс долго не отвечал, попытки отправить исчерпаны"
        );
        assert_eq!(down.what_to_do, RETRY_LATER);
        let refused = advise(Some("Недостаточно бонусов"));
        assert_eq!(refused.reason, "БонусПлюс отказал: Недостаточно бонусов");
        assert_eq!(refused.what_to_do, CHECK_IN_BONUSPLUS);
        assert_eq!(advise(None).reason, "Причина не записана");
        assert_eq!(advise(Some("  ")).reason, "Причина не записана");
    }

    #[test]
    fn every_advice_is_russian() {
        for reason in [
            NOT_A_MEMBER,
            UNIDENTIFIED,
            UNKNOWN_CARD,
            INVALID_PHONE,
            NO_KEY,
            SALE_NOT_BOOKED,
            SALE_UNKNOWN,
            CORRUPT,
            "Неожиданный ответ BonusPlus: bad JSON",
            "BonusPlus не поддерживает этот запрос (HTTP 404)",
            "Не найдено в BonusPlus",
            "BonusPlus не принял ключ API: ключ неверный или отозван",
        ] {
            let advice = advise(Some(reason));
            assert!(is_russian(&advice.reason), "{advice:?}");
            assert!(is_russian(advice.what_to_do), "{advice:?}");
        }
    }
}

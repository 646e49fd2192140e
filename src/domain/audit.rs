//! The audit log as a shop owner reads it. Entries are stored with a stable action code
//! ([`AuditAction`], e.g. `settings_saved`) and details already written in Russian; the page shows
//! the action's Russian title. Entries written by older versions carry English actions and details
//! ("settings saved", "key changed; 2 store mappings; …"): their known shapes are recognised and
//! shown in Russian too, and an unrecognised piece is shown as it was rather than dropped.
//! Pure rules: must not depend on anything with I/O.

use std::str::FromStr;

/// What happened, as stored in `audit_log.action`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, strum::EnumString, strum::AsRefStr, strum::EnumIter,
)]
#[strum(serialize_all = "snake_case")]
pub enum AuditAction {
    SettingsSaved,
    /// The first save: the LoyaltyAPI token issued and the app activated in MoySklad.
    Connected,
    TokenRotated,
    TokenRotationUnconfirmed,
    ProductSyncRequested,
    ReturnMatched,
    ReturnClosed,
    DeliveryRetried,
    /// MoySklad installed, resumed or changed the app's subscription.
    MoyskladActivated,
    /// MoySklad suspended or uninstalled the app.
    MoyskladDeactivated,
    /// The customer import: a preview or a run asked for, stopped, resumed, finished.
    CustomerImportStarted,
    CustomerImportStopped,
    CustomerImportResumed,
    CustomerImportFinished,
    /// The shop's list of gift certificates (printed number → GUID) imported.
    CertificatesImported,
}

impl AuditAction {
    /// The action's title on the page.
    pub fn title(self) -> &'static str {
        match self {
            AuditAction::SettingsSaved => "Настройки сохранены",
            AuditAction::Connected => "Приложение подключено",
            AuditAction::TokenRotated => "Выдан новый токен",
            AuditAction::TokenRotationUnconfirmed => "Новый токен не подтверждён МоимСкладом",
            AuditAction::ProductSyncRequested => "Запрошена синхронизация товаров",
            AuditAction::ReturnMatched => "Возврат сопоставлен с продажей",
            AuditAction::ReturnClosed => "Возврат закрыт без списания бонусов",
            AuditAction::DeliveryRetried => "Повторная отправка в БонусПлюс",
            AuditAction::MoyskladActivated => "МойСклад включил приложение",
            AuditAction::MoyskladDeactivated => "МойСклад отключил приложение",
            AuditAction::CustomerImportStarted => "Запущен перенос покупателей",
            AuditAction::CustomerImportStopped => "Перенос покупателей остановлен",
            AuditAction::CustomerImportResumed => "Перенос покупателей продолжен",
            AuditAction::CustomerImportFinished => "Перенос покупателей завершён",
            AuditAction::CertificatesImported => "Загружен список сертификатов",
        }
    }

    /// The action an older version wrote as English text.
    fn legacy(text: &str) -> Option<AuditAction> {
        Some(match text {
            "settings saved" => AuditAction::SettingsSaved,
            "activated" => AuditAction::Connected,
            "token rotated" => AuditAction::TokenRotated,
            "token rotation unconfirmed" => AuditAction::TokenRotationUnconfirmed,
            "product sync requested" => AuditAction::ProductSyncRequested,
            "return matched to a sale" => AuditAction::ReturnMatched,
            "return closed" => AuditAction::ReturnClosed,
            "activate" => AuditAction::MoyskladActivated,
            "deactivate" => AuditAction::MoyskladDeactivated,
            _ => return None,
        })
    }
}

/// An audit entry as the page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditLine {
    pub actor: String,
    pub action: String,
    pub details: String,
}

/// The page's reading of a stored entry, whichever version wrote it.
pub fn render(actor: &str, action: &str, details: &str) -> AuditLine {
    let actor = match actor {
        "moysklad" => "МойСклад".to_owned(),
        other => other.to_owned(),
    };
    let (action, details) = match AuditAction::from_str(action) {
        Ok(known) => (known.title().to_owned(), details.to_owned()),
        Err(_) => match AuditAction::legacy(action) {
            Some(known) => (known.title().to_owned(), legacy_details(known, details)),
            None => (action.to_owned(), details.to_owned()),
        },
    };
    AuditLine {
        actor,
        action,
        details,
    }
}

/// What a save changed, for the audit log (never the key itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingsSaved<'a> {
    pub key_changed: bool,
    pub store_mappings: usize,
    pub default_store_set: bool,
    pub external_search: bool,
    pub spend_requires_code: bool,
    pub register_requires_code: bool,
    pub reserve_ttl_secs: i64,
    /// `own`, `bonusplus` or `off`.
    pub code_delivery: &'a str,
    pub create_customers: bool,
    pub return_window_days: i64,
    /// `UTC+3`.
    pub time_zone: &'a str,
}

impl SettingsSaved<'_> {
    /// The details line, in Russian.
    pub fn details(&self) -> String {
        [
            key(self.key_changed),
            mappings(self.store_mappings),
            default_store(self.default_store_set),
            format!(
                "поиск покупателей в БонусПлюс: {}",
                yes_no(self.external_search)
            ),
            format!("списание по коду: {}", yes_no(self.spend_requires_code)),
            format!(
                "регистрация по коду: {}",
                yes_no(self.register_requires_code)
            ),
            reserve(self.reserve_ttl_secs),
            codes(self.code_delivery),
            format!("регистрация на кассе: {}", yes_no(self.create_customers)),
            return_window(self.return_window_days),
            format!("часовой пояс: {}", self.time_zone),
        ]
        .join("; ")
    }
}

/// Details of MoySklad's life-cycle call: its cause and (on activation) the status answered.
pub fn moysklad_call(cause: &str, status: Option<&str>) -> String {
    match status {
        Some(status) => format!(
            "причина: {}; статус: {}",
            cause_ru(cause),
            status_ru(status)
        ),
        None => format!("причина: {}", cause_ru(cause)),
    }
}

/// An operation named for people: «продажа № 00077», «возврат № В-0042» (its id when it has no
/// number).
pub fn operation(is_return: bool, number: Option<&str>, id: &str) -> String {
    let kind = if is_return {
        "возврат"
    } else {
        "продажа"
    };
    match number.map(str::trim).filter(|n| !n.is_empty()) {
        Some(number) => format!("{kind} № {number}"),
        None => format!("{kind} {id}"),
    }
}

fn yes_no(on: bool) -> &'static str {
    if on {
        "да"
    } else {
        "нет"
    }
}

fn key(changed: bool) -> String {
    if changed {
        "ключ API изменён"
    } else {
        "ключ API не менялся"
    }
    .to_owned()
}

fn mappings(count: usize) -> String {
    format!("сопоставлено точек продаж: {count}")
}

fn default_store(set: bool) -> String {
    format!(
        "магазин по умолчанию: {}",
        if set {
            "указан"
        } else {
            "не указан"
        }
    )
}

fn reserve(secs: i64) -> String {
    if secs % 60 == 0 {
        format!("резерв бонусов: {} мин", secs / 60)
    } else {
        format!("резерв бонусов: {secs} с")
    }
}

fn codes(delivery: &str) -> String {
    let how = match delivery {
        "own" => "от приложения",
        "bonusplus" => "от БонусПлюс",
        "off" => "не отправлять",
        other => other,
    };
    format!("коды: {how}")
}

fn return_window(days: i64) -> String {
    format!("поиск продажи для возврата: {days} дн.")
}

fn cause_ru(cause: &str) -> &str {
    match cause {
        "Install" => "установка",
        "Resume" => "возобновление",
        "TariffChanged" => "смена тарифа",
        "Autoprolongation" => "продление подписки",
        "Suspend" => "приостановка",
        "Uninstall" => "удаление",
        other => other,
    }
}

fn status_ru(status: &str) -> &str {
    match status {
        "Activated" => "работает",
        "SettingsRequired" => "требуется настройка",
        "Suspended" => "приостановлено",
        "Uninstalled" => "удалено",
        other => other,
    }
}

/// Details an older version wrote in English, in Russian where their shape is known.
fn legacy_details(action: AuditAction, details: &str) -> String {
    match action {
        AuditAction::SettingsSaved => details
            .split("; ")
            .map(legacy_setting)
            .collect::<Vec<_>>()
            .join("; "),
        AuditAction::Connected if details == "LoyaltyAPI token issued and sent to MoySklad" => {
            "токен LoyaltyAPI выдан и передан в МойСклад".to_owned()
        }
        AuditAction::ReturnMatched => match details.strip_prefix("return ") {
            Some(rest) => match rest.split_once(" → sale ") {
                Some((ret, sale)) => format!("возврат {ret} → продажа {sale}"),
                None => details.to_owned(),
            },
            None => details.to_owned(),
        },
        AuditAction::ReturnClosed => match details.strip_prefix("return ") {
            Some(id) => format!("возврат {id}"),
            None => details.to_owned(),
        },
        AuditAction::MoyskladActivated | AuditAction::MoyskladDeactivated => {
            legacy_moysklad(details)
        }
        _ => details.to_owned(),
    }
}

/// One piece of an old "settings saved" line ("key changed", "2 store mappings", "spend code=false", …).
fn legacy_setting(part: &str) -> String {
    let flag = |value: &str| yes_no(value == "true");
    match part {
        "key changed" => return key(true),
        "key kept" => return key(false),
        "default store set" => return default_store(true),
        "default store none" => return default_store(false),
        _ => {}
    }
    if let Some(count) = part.strip_suffix(" store mappings") {
        if let Ok(count) = count.parse() {
            return mappings(count);
        }
    }
    let Some((name, value)) = part.split_once('=') else {
        return part.to_owned();
    };
    match name {
        "externalSearch" => format!("поиск покупателей в БонусПлюс: {}", flag(value)),
        "spend code" => format!("списание по коду: {}", flag(value)),
        "register code" => format!("регистрация по коду: {}", flag(value)),
        "register at checkout" => format!("регистрация на кассе: {}", flag(value)),
        "codes" => codes(value),
        "reserve ttl" => match value.strip_suffix('s').and_then(|s| s.parse().ok()) {
            Some(secs) => reserve(secs),
            None => part.to_owned(),
        },
        "return window" => match value.strip_suffix('d').and_then(|d| d.parse().ok()) {
            Some(days) => return_window(days),
            None => part.to_owned(),
        },
        _ => part.to_owned(),
    }
}

/// An old "cause=Install status=Activated" line.
fn legacy_moysklad(details: &str) -> String {
    let mut cause = None;
    let mut status = None;
    for word in details.split_whitespace() {
        match word.split_once('=') {
            Some(("cause", value)) => cause = Some(value),
            Some(("status", value)) => status = Some(value),
            _ => return details.to_owned(),
        }
    }
    match cause {
        Some(cause) => moysklad_call(cause, status),
        None => details.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use strum::IntoEnumIterator;

    fn cyrillic_share(text: &str) -> (usize, usize) {
        text.chars()
            .filter(|c| c.is_alphabetic())
            .fold((0, 0), |(c, l), ch| {
                if ('\u{0400}'..='\u{04FF}').contains(&ch) {
                    (c + 1, l)
                } else {
                    (c, l + 1)
                }
            })
    }

    #[test]
    fn codes_are_stable_and_titled_in_russian() {
        assert_eq!(AuditAction::SettingsSaved.as_ref(), "settings_saved");
        assert_eq!(AuditAction::DeliveryRetried.as_ref(), "delivery_retried");
        for action in AuditAction::iter() {
            assert!(
                AuditAction::legacy(action.as_ref()).is_none(),
                "{action:?}: a code must never read as an older English action"
            );
        }
        for action in AuditAction::iter() {
            let line = render("Анна <a@b>", action.as_ref(), "");
            assert_eq!(line.action, action.title());
            let (cyrillic, latin) = cyrillic_share(&line.action);
            assert!(cyrillic > 0 && latin == 0, "{line:?}");
        }
    }

    #[test]
    fn new_entries_show_their_russian_details() {
        let saved = SettingsSaved {
            key_changed: true,
            store_mappings: 2,
            default_store_set: false,
            external_search: true,
            spend_requires_code: false,
            register_requires_code: true,
            reserve_ttl_secs: 900,
            code_delivery: "own",
            create_customers: true,
            return_window_days: 14,
            time_zone: "UTC+3",
        };
        let details = saved.details();
        assert_eq!(
            details,
            "ключ API изменён; сопоставлено точек продаж: 2; магазин по умолчанию: не указан; \
             поиск покупателей в БонусПлюс: да; списание по коду: нет; регистрация по коду: да; \
             резерв бонусов: 15 мин; коды: от приложения; регистрация на кассе: да; \
             поиск продажи для возврата: 14 дн.; часовой пояс: UTC+3"
        );
        let line = render("Анна Админ <anna@shop>", "settings_saved", &details);
        assert_eq!(line.action, "Настройки сохранены");
        assert_eq!(line.details, details);
        assert_eq!(line.actor, "Анна Админ <anna@shop>");
    }

    #[test]
    fn old_english_entries_read_in_russian() {
        let line = render(
            "Анна Админ <anna@shop>",
            "settings saved",
            "key changed; 1 store mappings; default store none; externalSearch=true; spend code=false; \
             register code=false; reserve ttl=1200s; codes=own; register at checkout=true; return window=14d",
        );
        assert_eq!(line.action, "Настройки сохранены");
        assert_eq!(
            line.details,
            "ключ API изменён; сопоставлено точек продаж: 1; магазин по умолчанию: не указан; \
             поиск покупателей в БонусПлюс: да; списание по коду: нет; регистрация по коду: нет; \
             резерв бонусов: 20 мин; коды: от приложения; регистрация на кассе: да; \
             поиск продажи для возврата: 14 дн."
        );
        let activated = render(
            "x",
            "activated",
            "LoyaltyAPI token issued and sent to MoySklad",
        );
        assert_eq!(
            (activated.action.as_str(), activated.details.as_str()),
            (
                "Приложение подключено",
                "токен LoyaltyAPI выдан и передан в МойСклад"
            )
        );
        let vendor = render(
            "moysklad",
            "activate",
            "cause=Install status=SettingsRequired",
        );
        assert_eq!(vendor.actor, "МойСклад");
        assert_eq!(vendor.action, "МойСклад включил приложение");
        assert_eq!(
            vendor.details,
            "причина: установка; статус: требуется настройка"
        );
        let suspended = render("moysklad", "deactivate", "cause=Suspend");
        assert_eq!(suspended.details, "причина: приостановка");
        let matched = render("x", "return matched to a sale", "return r-1 → sale s-2");
        assert_eq!(matched.details, "возврат r-1 → продажа s-2");
        assert_eq!(
            render("x", "return closed", "return r-1").details,
            "возврат r-1"
        );
        for (action, title) in [
            ("token rotated", "Выдан новый токен"),
            (
                "token rotation unconfirmed",
                "Новый токен не подтверждён МоимСкладом",
            ),
            ("product sync requested", "Запрошена синхронизация товаров"),
        ] {
            assert_eq!(render("x", action, "").action, title);
        }
    }

    #[test]
    fn unknown_pieces_are_kept_not_dropped() {
        let line = render("x", "settings saved", "key kept; something new=1");
        assert_eq!(line.details, "ключ API не менялся; something new=1");
        assert_eq!(render("x", "who knows", "d").action, "who knows");
        assert_eq!(
            render("moysklad", "activate", "odd text").details,
            "odd text"
        );
    }

    #[test]
    fn operations_are_named_by_their_number() {
        assert_eq!(operation(false, Some("00077"), "id-1"), "продажа № 00077");
        assert_eq!(operation(true, Some(" "), "id-2"), "возврат id-2");
        assert_eq!(
            moysklad_call("Resume", Some("Activated")),
            "причина: возобновление; статус: работает"
        );
    }
}

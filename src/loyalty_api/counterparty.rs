//! Customers at the till: `GET/POST /counterparty`, `/counterparty/detail`, `/counterparty/verify`
//! (search, registration, balance, registration codes). Must not depend on `vendor_api` or `ui`.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::Json;
use time::macros::format_description;

use super::caller::Caller;
use super::counterparty_wire::{
    BonusBalance, CounterpartyCreate, CounterpartyDetailRequest, CounterpartyDetailResponse,
    CounterpartyRow, CounterpartySearchQuery, CounterpartySearchResponse,
    CounterpartyVerifyRequest, StatusCheck,
};
use super::errors::{customer_not_found, invalid_phone};
use super::verification::{send_verification, Purpose};
use super::wire::{CustomerAttributes, Sex, VerifyResponse};
use crate::accounts::LoyaltyAccount;
use crate::bonusplus::{self, BonusPlusError, Customer, CustomerPatch, NewCustomer};
use crate::domain::ean::Ean;
use crate::domain::identity::{customer_guid, full_name, split_full_name, NameParts};
use crate::domain::phone::Phone;
use crate::http::error::{codes, ApiError};
use crate::http::extract::ApiJson;
use crate::state::AppState;
use crate::store::CustomerLink;

/// Longest search string worth looking at (a phone or a card number).
const SEARCH_LIMIT: usize = 64;

/// `GET /counterparty?search=…&retailStoreId=…`
pub async fn search(
    State(state): State<AppState>,
    Caller(account): Caller,
    query: Result<Query<CounterpartySearchQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<CounterpartySearchResponse>, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::invalid("search", e.body_text()))?;
    let search = query.search.trim();
    if search.chars().count() > SEARCH_LIMIT {
        return Err(ApiError::invalid("search", "The search string is too long"));
    }
    let found = if Phone::looks_like_phone(search) {
        let phone = Phone::parse(search).map_err(|e| invalid_phone("search", &e))?;
        let (customer, link) = tokio::join!(
            state.bonusplus.get_customer(&account.key, &phone),
            state
                .store
                .customer_by_phone(&account.account_id, phone.as_str()),
        );
        found_customer(customer)?.map(|c| (c, link.ok().flatten()))
    } else if looks_like_card(search) {
        let customer = found_customer(
            state
                .bonusplus
                .find_customer_by_card(&account.key, search)
                .await,
        )?;
        match customer {
            Some(customer) => {
                let link = state
                    .store
                    .customer_by_phone(&account.account_id, &customer.phone)
                    .await?;
                Some((customer, link))
            }
            None => None,
        }
    } else {
        None
    };
    let rows = match found {
        Some((customer, link)) => {
            remember_customer(&state, &account, &customer, link.as_ref(), None);
            vec![row(&account.account_id, &customer, link.as_ref())]
        }
        None => Vec::new(),
    };
    Ok(Json(CounterpartySearchResponse { rows }))
}

/// `POST /counterparty`: registers the customer in BonusPlus (or links and updates an existing one).
pub async fn create(
    State(state): State<AppState>,
    Caller(account): Caller,
    ApiJson(body): ApiJson<CounterpartyCreate>,
) -> Result<StatusCode, ApiError> {
    let phone = required_phone(body.attributes.phone.as_deref(), "phone")?;
    if account.register_requires_code && body.status_check == Some(StatusCheck::Unchecked) {
        return Err(ApiError::new(
            StatusCode::PRECONDITION_FAILED,
            codes::REGISTRATION_NEEDS_CODE,
            "Требуется подтверждение регистрации покупателя кодом",
            "Registration must be confirmed with a verification code",
        ));
    }
    let new_customer = new_customer(phone.clone(), &body.attributes)?;
    let customer = match state
        .bonusplus
        .create_customer(&account.key, &new_customer)
        .await
    {
        Err(BonusPlusError::AlreadyExists) => {
            let patch = CustomerPatch::from(&new_customer);
            state
                .bonusplus
                .update_customer(&account.key, &phone, &patch)
                .await?
        }
        other => other?,
    };
    let ms_id = non_empty(&body.meta.id);
    link(&state, &account, &customer, ms_id).await?;
    Ok(StatusCode::CREATED)
}

/// `POST /counterparty/detail`: the customer's spendable balance.
pub async fn detail(
    State(state): State<AppState>,
    Caller(account): Caller,
    ApiJson(body): ApiJson<CounterpartyDetailRequest>,
) -> Result<Json<CounterpartyDetailResponse>, ApiError> {
    let phone = resolve_phone(
        &state,
        &account,
        Some(&body.meta.id),
        body.attributes.phone.as_deref(),
    )
    .await?;
    let customer = state.bonusplus.get_customer(&account.key, &phone).await?;
    if let Some(ms_id) = non_empty(&body.meta.id) {
        remember_customer(&state, &account, &customer, None, Some(ms_id.to_owned()));
    }
    Ok(Json(CounterpartyDetailResponse {
        bonus_program: BonusBalance {
            agent_bonus_balance: customer.available_bonuses.unwrap_or_default(),
        },
    }))
}

/// `POST /counterparty/verify`: a code confirming a customer's registration.
pub async fn verify(
    State(state): State<AppState>,
    Caller(account): Caller,
    ApiJson(body): ApiJson<CounterpartyVerifyRequest>,
) -> Result<Json<VerifyResponse>, ApiError> {
    let phone = required_phone(body.attributes.phone.as_deref(), "phone")?;
    send_verification(&state, &account, &phone, Purpose::Registration)
        .await
        .map(Json)
}

/// The customer's phone: through our link of `id` (our GUID or MoySklad's id), else the phone given.
pub async fn resolve_phone(
    state: &AppState,
    account: &LoyaltyAccount,
    id: Option<&str>,
    phone: Option<&str>,
) -> Result<Phone, ApiError> {
    if let Some(id) = id.and_then(non_empty) {
        if let Some(link) = state.store.customer_by_id(&account.account_id, id).await? {
            return Phone::parse(&link.phone).map_err(|e| invalid_phone("meta.id", &e));
        }
    }
    match phone.map(str::trim).filter(|p| !p.is_empty()) {
        Some(phone) => Phone::parse(phone).map_err(|e| invalid_phone("phone", &e)),
        None => Err(customer_not_found().with_parameter("meta.id")),
    }
}

fn required_phone(phone: Option<&str>, parameter: &str) -> Result<Phone, ApiError> {
    let phone = phone
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::PRECONDITION_FAILED,
                codes::INVALID_INPUT,
                "Не указан телефон покупателя",
                "The customer's phone is required",
            )
            .with_parameter(parameter)
        })?;
    Phone::parse(phone).map_err(|e| invalid_phone(parameter, &e))
}

fn found_customer(result: bonusplus::Result<Customer>) -> Result<Option<Customer>, ApiError> {
    match result {
        Ok(customer) => Ok(Some(customer)),
        Err(BonusPlusError::NotFound) => Ok(None),
        Err(error) => Err(error.into()),
    }
}

/// A card number as typed at a till: 4–32 digits (and nothing else).
fn looks_like_card(search: &str) -> bool {
    (4..=32).contains(&search.len()) && search.bytes().all(|b| b.is_ascii_digit())
}

fn non_empty(text: &str) -> Option<&str> {
    let text = text.trim();
    (!text.is_empty()).then_some(text)
}

/// Links the customer (phone ↔ GUID ↔ MoySklad id) and waits for it.
async fn link(
    state: &AppState,
    account: &LoyaltyAccount,
    customer: &Customer,
    ms_id: Option<&str>,
) -> Result<(), ApiError> {
    state
        .store
        .link_customer(&CustomerLink {
            account_id: account.account_id.clone(),
            phone: customer.phone.clone(),
            customer_guid: customer_guid(&account.account_id, &customer.phone),
            ms_counterparty_id: ms_id.map(str::to_owned),
            card_number: customer.discount_card_number.clone(),
        })
        .await?;
    Ok(())
}

/// Records the link in the background when it adds something: the answer does not wait for it
/// (the GUID is derived, so the answer is right even if this write is lost).
fn remember_customer(
    state: &AppState,
    account: &LoyaltyAccount,
    customer: &Customer,
    known: Option<&CustomerLink>,
    ms_id: Option<String>,
) {
    let unchanged = known.is_some_and(|link| {
        (ms_id.is_none() || link.ms_counterparty_id == ms_id)
            && (customer.discount_card_number.is_none()
                || link.card_number == customer.discount_card_number)
    });
    if unchanged {
        return;
    }
    let store = state.store.clone();
    let link = CustomerLink {
        account_id: account.account_id.clone(),
        phone: customer.phone.clone(),
        customer_guid: customer_guid(&account.account_id, &customer.phone),
        ms_counterparty_id: ms_id,
        card_number: customer.discount_card_number.clone(),
    };
    tokio::spawn(async move {
        if let Err(error) = store.link_customer(&link).await {
            tracing::warn!(%error, "could not record a customer link");
        }
    });
}

fn row(account_id: &str, customer: &Customer, link: Option<&CustomerLink>) -> CounterpartyRow {
    let person = customer.person.clone().unwrap_or_default();
    let parts = NameParts {
        last: person.last_name.clone(),
        first: person.first_name.clone(),
        middle: person.middle_name.clone(),
    };
    let phone = format!("+{}", customer.phone);
    CounterpartyRow {
        id: customer_guid(account_id, &customer.phone),
        ms_id: link.and_then(|l| l.ms_counterparty_id.clone()),
        name: full_name(&parts, &phone),
        discount_card_number: customer.discount_card_number.clone(),
        phone: Some(phone),
        email: person.email.clone(),
        legal_first_name: person.first_name.clone(),
        legal_middle_name: person.middle_name.clone(),
        legal_last_name: person.last_name.clone(),
        birth_date: person.birth_day.and_then(|d| {
            d.format(format_description!("[year]-[month]-[day] 00:00:00"))
                .ok()
        }),
        sex: person.sex.map(|sex| match sex {
            bonusplus::Sex::Male => Sex::Male,
            bonusplus::Sex::Female => Sex::Female,
        }),
    }
}

fn new_customer(phone: Phone, attributes: &CustomerAttributes) -> Result<NewCustomer, ApiError> {
    let parts = split_full_name(
        attributes.name.as_deref(),
        attributes.legal_last_name.as_deref(),
        attributes.legal_first_name.as_deref(),
        attributes.legal_middle_name.as_deref(),
    );
    let mut customer = NewCustomer::new(phone);
    customer.last_name = parts.last;
    customer.first_name = parts.first;
    customer.middle_name = parts.middle;
    customer.email = attributes.email.clone().filter(|e| !e.trim().is_empty());
    // BonusPlus binds cards by EAN only: another number is kept out rather than refused.
    customer.ean = attributes
        .discount_card_number
        .as_deref()
        .and_then(|card| Ean::parse(card).ok());
    customer.sex = attributes.sex.map(|sex| match sex {
        Sex::Male => bonusplus::Sex::Male,
        Sex::Female => bonusplus::Sex::Female,
    });
    customer.birth_day = attributes
        .birth_date
        .as_deref()
        .map(parse_birth_date)
        .transpose()?;
    Ok(customer)
}

/// MoySklad writes `YYYY-MM-DD HH:MM:SS` (sometimes with milliseconds); the date part is kept.
fn parse_birth_date(text: &str) -> Result<time::Date, ApiError> {
    let date = text.trim().get(..10).unwrap_or("");
    time::Date::parse(date, format_description!("[year]-[month]-[day]"))
        .map_err(|_| ApiError::invalid("birthDate", "Expected YYYY-MM-DD HH:MM:SS"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn birth_dates_keep_the_date_part() {
        assert_eq!(
            parse_birth_date("1990-05-17 00:00:00").unwrap().to_string(),
            "1990-05-17"
        );
        assert_eq!(
            parse_birth_date("1990-05-17 00:00:00.000")
                .unwrap()
                .to_string(),
            "1990-05-17"
        );
        assert!(parse_birth_date("17.05.1990").is_err());
        assert!(parse_birth_date("").is_err());
    }

    #[test]
    fn cards_are_digit_strings() {
        assert!(looks_like_card("2000001"));
        assert!(!looks_like_card("abc123"));
        assert!(!looks_like_card("123"));
    }
}

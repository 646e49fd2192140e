//! Customers at the till: `GET/POST /counterparty`, `/counterparty/detail`, `/counterparty/verify`
//! (search, registration, balance, registration codes). Must not depend on `vendor_api` or `ui`.
//!
//! Search: `GET customer?phone=` and `?ean=` concurrently for digits, `POST customer/list` (last
//! name, then first name) for letters. Registration: `POST customer` with only what MoySklad sent;
//! an existing phone is updated through `PATCH customer/{phoneNumber}` with those fields alone.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::Json;
use time::macros::format_description;

use super::caller::Caller;
use super::errors::{customer_not_found, invalid_phone};
use super::verification::{send_verification, Purpose};
use super::wire::counterparty::{
    BonusBalance, CounterpartyCreate, CounterpartyDetailRequest, CounterpartyDetailResponse,
    CounterpartyRow, CounterpartySearchQuery, CounterpartySearchResponse,
    CounterpartyVerifyRequest, StatusCheck,
};
use super::wire::{CustomerAttributes, Sex, VerifyResponse};
use crate::accounts::LoyaltyAccount;
use crate::bonusplus::{
    self, BonusPlusError, Customer, CustomerFilter, CustomerPatch, NewCustomer,
};
use crate::customers::{registration, Profile, TillCustomer};
use crate::domain::keys::customer_guid;
use crate::domain::names::{full_name, NameParts};
use crate::domain::phone::Phone;
use crate::domain::search::{NameLookup, TillSearch};
use crate::http::error::{codes, ApiError};
use crate::http::extract::ApiJson;
use crate::state::AppState;
use crate::store::CustomerLink;

/// Longest search string worth looking at (a phone, a card number, a name).
const SEARCH_LIMIT: usize = 64;
/// Most customers answered for one search (a till shows a short list).
const MAX_ROWS: usize = 20;

/// `GET /counterparty?search=…&retailStoreId=…`: digits are looked up as a phone and as a card at
/// the same time (an EAN-13 card is also a valid phone number), letters as a name.
pub async fn search(
    State(state): State<AppState>,
    Caller(account): Caller,
    query: Result<Query<CounterpartySearchQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<CounterpartySearchResponse>, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::invalid("search", e.body_text()))?;
    let text = query.search.trim();
    if text.chars().count() > SEARCH_LIMIT {
        return Err(ApiError::invalid("search", "The search string is too long"));
    }
    let search = TillSearch::read(text).map_err(|e| invalid_phone("search", &e))?;
    let customers = find_customers(&state, &account, &search).await?;
    let links = known_links(&state, &account, &customers).await?;
    let rows =
        futures::future::try_join_all(customers.iter().zip(links).map(|(customer, link)| {
            let (state, account) = (&state, &account);
            async move {
                let link = match link {
                    Some(link) => {
                        remember_customer(state, account, customer, Some(&link), None);
                        link
                    }
                    None => first_seen(state, account, customer).await?,
                };
                Ok::<_, ApiError>(row(&account.account_id, customer, Some(&link)))
            }
        }))
        .await?;
    Ok(Json(CounterpartySearchResponse { rows }))
}

/// Every distinct customer the search names: phone and card lookups run concurrently (one round
/// trip), name lookups one after another until one finds someone.
async fn find_customers(
    state: &AppState,
    account: &LoyaltyAccount,
    search: &TillSearch,
) -> Result<Vec<Customer>, ApiError> {
    let key = &account.key;
    if search.phone.is_some() || search.card.is_some() {
        let by_phone = async {
            match &search.phone {
                Some(phone) => found_customer(state.bonusplus.get_customer(key, phone).await),
                None => Ok(None),
            }
        };
        let by_card = async {
            match &search.card {
                Some(card) => found_customer(state.bonusplus.get_customer_by_ean(key, card).await),
                None => Ok(None),
            }
        };
        let (by_phone, by_card) = tokio::join!(by_phone, by_card);
        return Ok(distinct([by_phone?, by_card?].into_iter().flatten()));
    }
    for lookup in &search.names {
        let found = state
            .bonusplus
            .list_customers(key, &name_filter(lookup), MAX_ROWS)
            .await?;
        if !found.is_empty() {
            return Ok(distinct(found));
        }
    }
    Ok(Vec::new())
}

fn name_filter(lookup: &NameLookup) -> CustomerFilter {
    CustomerFilter {
        last_name: lookup.last.iter().cloned().collect(),
        first_name: lookup.first.iter().cloned().collect(),
        middle_name: lookup.middle.iter().cloned().collect(),
        ..CustomerFilter::default()
    }
}

/// Customers without repeats (BonusPlus knows a customer by phone), at most [`MAX_ROWS`].
fn distinct(customers: impl IntoIterator<Item = Customer>) -> Vec<Customer> {
    let mut seen = std::collections::HashSet::new();
    customers
        .into_iter()
        .filter(|customer| seen.insert(customer.phone.clone()))
        .take(MAX_ROWS)
        .collect()
}

/// Our links of the customers (for `msId`, and to know who is seen for the first time), read
/// concurrently.
async fn known_links(
    state: &AppState,
    account: &LoyaltyAccount,
    customers: &[Customer],
) -> Result<Vec<Option<CustomerLink>>, ApiError> {
    let links = futures::future::try_join_all(customers.iter().map(|customer| {
        state
            .store
            .customer_by_phone(&account.account_id, &customer.phone)
    }))
    .await?;
    Ok(links)
}

/// A customer this account's till has never seen: the link is committed before the search
/// answers, so the row's id works at once for detail, recalc and sale on whichever instance
/// MoySklad asks next (one commit per new customer; a known one costs nothing more). The id could
/// instead carry the phone sealed inside it, but MoySklad wants a GUID, whose 128 bits leave too
/// little room to seal a phone with a tag no one can forge.
async fn first_seen(
    state: &AppState,
    account: &LoyaltyAccount,
    customer: &Customer,
) -> Result<CustomerLink, ApiError> {
    let link = link_of(account, customer, None);
    state.customers.save_link(&link, false).await?;
    Ok(link)
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
    let store = account.bonusplus_store(body.retail_store.meta.id.trim());
    let new_customer = new_customer(&phone, &body.attributes, store)?;
    let (customer, created) = match state
        .bonusplus
        .create_customer(&account.key, &new_customer)
        .await
    {
        Err(BonusPlusError::AlreadyExists) => (
            update_existing(&state, &account, &phone, &new_customer).await?,
            false,
        ),
        other => (other?, true),
    };
    let ms_id = non_empty(&body.meta.id);
    link(&state, &account, &customer, ms_id, created).await?;
    Ok(StatusCode::CREATED)
}

/// A phone BonusPlus already has: only the fields MoySklad sent change (`PATCH`; the client falls
/// back to a full `PUT` where PATCH is unknown). Nothing sent: nothing changes, the customer is read.
async fn update_existing(
    state: &AppState,
    account: &LoyaltyAccount,
    phone: &Phone,
    sent: &NewCustomer,
) -> Result<Customer, ApiError> {
    let patch = CustomerPatch::from(sent);
    let customer = if patch.is_empty() {
        state.bonusplus.get_customer(&account.key, phone).await?
    } else {
        let update = state
            .bonusplus
            .update_customer(&account.key, phone, &patch)
            .await?;
        kept_on_our_side(update)
    };
    Ok(customer)
}

/// The customer to link: a card BonusPlus could not be sent (it does not fit BonusPlus's Int32;
/// the client recorded why) stays linked on our side, so the till finds the customer by it.
fn kept_on_our_side(update: bonusplus::CustomerUpdate) -> Customer {
    let mut customer = update.customer;
    for withheld in update.withheld {
        if let bonusplus::Withheld::Card(card) = withheld {
            customer.discount_card_number = Some(card.as_str().to_owned());
        }
    }
    customer
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
    check_birth_date(&body.attributes)?;
    let who = identity(&body.attributes, None);
    let store = body
        .retail_store
        .as_ref()
        .and_then(|retail_store| account.bonusplus_store(retail_store.meta.id.trim()));
    let purpose = Purpose::Registration { who: &who, store };
    send_verification(&state, &account, &phone, purpose)
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
        if let Some(phone) = state
            .customers
            .linked_phone(&account.account_id, id)
            .await?
        {
            return Phone::parse(&phone).map_err(|e| invalid_phone("meta.id", &e));
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

fn non_empty(text: &str) -> Option<&str> {
    let text = text.trim();
    (!text.is_empty()).then_some(text)
}

/// Links the customer (phone ↔ GUID ↔ MoySklad id) and waits for it; one the app has just
/// `created` in BonusPlus is marked registered (the shop's activity counts it).
async fn link(
    state: &AppState,
    account: &LoyaltyAccount,
    customer: &Customer,
    ms_id: Option<&str>,
    created: bool,
) -> Result<(), ApiError> {
    let link = link_of(account, customer, ms_id.map(str::to_owned));
    state.customers.save_link(&link, created).await?;
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
    let customers = state.customers.clone();
    let link = link_of(account, customer, ms_id);
    tokio::spawn(async move {
        if let Err(error) = customers.save_link(&link, false).await {
            tracing::warn!(%error, "could not record a customer link");
        }
    });
}

/// The link between `customer` and this account's till, under the GUID the till knows it by.
fn link_of(account: &LoyaltyAccount, customer: &Customer, ms_id: Option<String>) -> CustomerLink {
    CustomerLink {
        account_id: account.account_id.clone(),
        phone: customer.phone.clone(),
        customer_guid: customer_guid(&account.account_id, &customer.phone),
        ms_counterparty_id: ms_id,
        card_number: customer.discount_card_number.clone(),
    }
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

/// Who MoySklad's customer is, from the attributes it sends with a counterparty (receipts, sales,
/// registrations all carry the same ones).
pub(super) fn identity(
    attributes: &CustomerAttributes,
    counterparty_id: Option<String>,
) -> TillCustomer {
    TillCustomer {
        counterparty_id,
        phone: attributes.phone.clone(),
        card: attributes.discount_card_number.clone(),
        profile: Profile::from_moysklad(
            attributes.name.as_deref(),
            [
                attributes.legal_last_name.as_deref(),
                attributes.legal_first_name.as_deref(),
                attributes.legal_middle_name.as_deref(),
            ],
            attributes.email.as_deref(),
            attributes.birth_date.as_deref(),
        ),
    }
}

/// The customer `POST /counterparty` registers: the registration every path builds
/// ([`registration`]), plus the sex only a registration at the till is told.
fn new_customer(
    phone: &Phone,
    attributes: &CustomerAttributes,
    store: Option<&str>,
) -> Result<NewCustomer, ApiError> {
    check_birth_date(attributes)?;
    let mut customer = registration(phone, &identity(attributes, None), store);
    customer.sex = attributes.sex.map(|sex| match sex {
        Sex::Male => bonusplus::Sex::Male,
        Sex::Female => bonusplus::Sex::Female,
    });
    Ok(customer)
}

/// A registration at the till refuses a birth date it cannot read (the cashier can fix it); a sale
/// or a receipt, which already happened, just leaves it out.
fn check_birth_date(attributes: &CustomerAttributes) -> Result<(), ApiError> {
    match attributes
        .birth_date
        .as_deref()
        .filter(|d| !d.trim().is_empty())
    {
        Some(date) => parse_birth_date(date).map(drop),
        None => Ok(()),
    }
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
}

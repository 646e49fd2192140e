//! `GET /ui/api/activity`: what the app did for the shop today and over the last 14 days — sales
//! and returns booked, bonuses spent and earned, customers registered, deliveries refused — per
//! day in the shop's time zone. The database counts (`Store::activity_by_day`); the days and the
//! window are `domain::activity`'s. Must not depend on `loyalty_api` or `vendor_api`.

use axum::extract::State;
use axum::Json;
use serde::Serialize;

use super::{UiError, UiUser};
use crate::domain::activity::{date_of, fill_window, total, DayActivity, Window, WINDOW_DAYS};
use crate::state::AppState;
use crate::store::now_ms;

/// What `GET /ui/api/activity` answers. Money is whole kopecks.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ActivityView {
    /// The shop's time zone the days are counted in, e.g. `UTC+3`.
    time_zone: String,
    utc_offset_minutes: i64,
    /// How many days `days` and `total` cover (today included).
    window_days: i64,
    today: DayView,
    /// Today and every day before it in the window, oldest first.
    days: Vec<DayView>,
    total: Figures,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DayView {
    /// `YYYY-MM-DD` in the shop's time.
    date: String,
    #[serde(flatten)]
    figures: Figures,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Figures {
    sales_booked: i64,
    returns_booked: i64,
    bonuses_spent_kopecks: i64,
    bonuses_earned_kopecks: i64,
    customers_registered: i64,
    deliveries_failed: i64,
}

impl From<DayActivity> for Figures {
    fn from(day: DayActivity) -> Self {
        Figures {
            sales_booked: day.sales_booked,
            returns_booked: day.returns_booked,
            bonuses_spent_kopecks: day.bonuses_spent_kopecks,
            bonuses_earned_kopecks: day.bonuses_earned_kopecks,
            customers_registered: day.customers_registered,
            deliveries_failed: day.deliveries_failed,
        }
    }
}

/// `GET /ui/api/activity`: any user of the account may look.
pub async fn show(
    State(state): State<AppState>,
    user: UiUser,
) -> Result<Json<ActivityView>, UiError> {
    let offset = state.store.utc_offset(&user.account_id).await?;
    let window = Window::ending_at(now_ms(), offset);
    let counted = state
        .store
        .activity_by_day(
            &user.account_id,
            window.since_ms(),
            window.until_ms(),
            offset.millis(),
        )
        .await?;
    let days = fill_window(&window, &counted);
    let sum = total(&days);
    let today = days
        .last()
        .map_or_else(DayActivity::default, |(_, day)| *day);
    Ok(Json(ActivityView {
        time_zone: offset.label(),
        utc_offset_minutes: offset.minutes(),
        window_days: WINDOW_DAYS,
        today: day_view(window.today, today),
        days: days
            .into_iter()
            .map(|(day, activity)| day_view(day, activity))
            .collect(),
        total: sum.into(),
    }))
}

fn day_view(day: i64, activity: DayActivity) -> DayView {
    DayView {
        date: date_of(day),
        figures: activity.into(),
    }
}

//! What the request handlers share: [`AppState`], built once by `startup`.
//! Services and workers must not import it: they are handed narrow handles (`Accounts`,
//! `Reserves`, `Outbox`, `SyncContext`, `ImportContext`) instead.

use std::sync::Arc;

use axum::extract::FromRef;

use crate::accounts::Accounts;
use crate::bonusplus::BonusPlusClient;
use crate::config::Settings;
use crate::crypto::Cipher;
use crate::customers::Customers;
use crate::import::ImportContext;
use crate::jobs::Queue;
use crate::moysklad::json_api::JsonApiClient;
use crate::moysklad::jwt::VendorJwt;
use crate::moysklad::vendor_client::VendorClient;
use crate::outbox::Outbox;
use crate::reserves::Reserves;
use crate::store::Store;
use crate::sync::SyncContext;

/// Everything a handler may need, behind one `Arc`: axum clones the state for every request, and
/// cloning each handle (caches, clients, pools) showed up as ~5 % of the recalc path's CPU.
#[derive(Clone)]
pub struct AppState(Arc<Handles>);

impl AppState {
    pub fn new(handles: Handles) -> AppState {
        AppState(Arc::new(handles))
    }
}

impl std::ops::Deref for AppState {
    type Target = Handles;

    fn deref(&self) -> &Handles {
        &self.0
    }
}

/// The handles [`AppState`] shares.
pub struct Handles {
    pub settings: Arc<Settings>,
    pub store: Store,
    pub cipher: Cipher,
    pub bonusplus: BonusPlusClient,
    /// MoySklad's JSON API (points of sale, catalogue).
    pub json_api: JsonApiClient,
    /// MoySklad's Vendor API (context, loyalty settings, status).
    pub vendor: VendorClient,
    /// Verifies MoySklad's calls to our Vendor API endpoints.
    pub vendor_jwt: VendorJwt,
    /// LoyaltyAPI token → account, briefly cached; opens the accounts' secrets.
    pub accounts: Accounts,
    /// Bonus reserves and the per-customer locks of this instance.
    pub reserves: Reserves,
    /// Customers found (and registered at checkout) in BonusPlus; shared with the workers.
    pub customers: Customers,
    /// The job queue, shared by the outbox's first tries and the workers.
    pub queue: Queue,
    /// Sales and returns: recorded by the till's calls, delivered right after and by the workers.
    pub outbox: Outbox,
    /// Product sync runs (the page starts them, the workers run them).
    pub sync: SyncContext,
    /// Customer imports (the page starts them, the workers run them).
    pub import: ImportContext,
}

impl FromRef<AppState> for Store {
    fn from_ref(state: &AppState) -> Store {
        state.store.clone()
    }
}

impl FromRef<AppState> for Accounts {
    fn from_ref(state: &AppState) -> Accounts {
        state.accounts.clone()
    }
}

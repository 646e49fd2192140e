//! Install, suspend, resume and uninstall as MoySklad's Vendor API asks for them, with the settings
//! page and the till in between; the Vendor API's JWTs (signature, expiry, single use) and its
//! exemption from rate limits.

use bonusbridge::crypto::SecretKind;
use reqwest::Method;
use secrecy::ExposeSecret;
use serde_json::{json, Value};

use crate::support::moysklad::{deactivate_body, install_body, World, ACCESS_TOKEN, SECRET};
use crate::support::moysklad_fake::moysklad_jwt;
use crate::support::{TestApp, TestDb};

crate::on_both_backends!(
    install_configure_sell_suspend_resume_uninstall,
    vendor_api_refuses_bad_jwts_and_replays,
    the_vendor_api_is_never_rate_limited,
    a_replayed_jti_inside_the_leeway_is_refused,
);

async fn install_configure_sell_suspend_resume_uninstall(db: TestDb) {
    let world = World::start(db).await;
    let account = uuid::Uuid::new_v4().to_string();

    // Install, twice (MoySklad retries): one account, SettingsRequired, the token kept encrypted.
    assert_eq!(
        world.install(&account).await,
        json!({"status": "SettingsRequired"})
    );
    assert_eq!(
        world.install(&account).await,
        json!({"status": "SettingsRequired"})
    );
    let stored = world
        .app
        .state
        .store
        .account(&account)
        .await
        .unwrap()
        .unwrap();
    let sealed = stored.access_token_enc.expect("token kept");
    assert!(!String::from_utf8_lossy(&sealed).contains(ACCESS_TOKEN));
    let opened = world
        .app
        .state
        .cipher
        .open(&account, SecretKind::MoySkladToken, &sealed)
        .unwrap();
    assert_eq!(opened.expose_secret(), ACCESS_TOKEN);

    // The settings page: an administrator opens it.
    world
        .moysklad
        .add_context("ctx-admin", &account, "Анна Админ", true);
    let (status, session) = world.open_session("ctx-admin").await;
    assert_eq!(status, 200, "{session}");
    assert_eq!(session["accountId"], account.as_str());
    assert_eq!(session["admin"], true);
    let token = session["sessionToken"].as_str().unwrap().to_owned();
    let (status, view) = world
        .ui(Method::GET, "/ui/api/settings", &token, None)
        .await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["account"]["status"], "SettingsRequired");
    assert_eq!(view["retailStores"].as_array().unwrap().len(), 2);
    assert_eq!(view["retailStores"][0]["name"], "Магазин на Ленина");
    assert_eq!(view["settings"]["bonusplusKeySet"], false);

    // A wrong key is refused by BonusPlus: nothing saved, nothing pushed.
    let (status, error) = world
        .ui(
            Method::PUT,
            "/ui/api/settings",
            &token,
            Some(world.settings_body(Some("wrong-key"))),
        )
        .await;
    assert_eq!(status, 422, "{error}");
    assert_eq!(error["field"], "bonusplusKey");
    assert!(world.stored_settings(&account).await.is_none());
    assert!(world.moysklad.calls().is_empty());

    // The right key: saved, token issued and pushed, app Activated.
    let view = world
        .save_settings(&token, world.settings_body(Some(&world.bp_key)))
        .await;
    assert_eq!(view["account"]["status"], "Activated");
    assert_eq!(view["settings"]["bonusplusKeySet"], true);
    let pushed = world
        .moysklad
        .last(Method::PUT, "/loyalty")
        .expect("PUT loyalty");
    assert_eq!(pushed["externalSearch"], true);
    let loyalty_url = pushed["url"].as_str().unwrap().to_owned();
    let loyalty_token = pushed["token"].as_str().unwrap().to_owned();
    assert!(loyalty_url.ends_with("/loyalty"));
    assert_eq!(
        world.moysklad.last(Method::PUT, "/status"),
        Some(json!({"status": "Activated"}))
    );
    let view_text = view.to_string();
    assert!(!view_text.contains(&world.bp_key) && !view_text.contains(&loyalty_token));

    // The till, with exactly what MoySklad received (our public URL is the test server's).
    let local_url =
        loyalty_url.replace(&world.app.state.settings.public_base(), &world.app.url(""));
    assert_eq!(world.till(&local_url, &loyalty_token).await, 200);

    // Saving again (key kept) PATCHes, never PUTs the status again.
    let puts_before = world.moysklad.calls().len();
    let (status, _) = world
        .ui(
            Method::PUT,
            "/ui/api/settings",
            &token,
            Some(world.settings_body(None)),
        )
        .await;
    assert_eq!(status, 200);
    let after: Vec<_> = world.moysklad.calls()[puts_before..].to_vec();
    assert_eq!(after.len(), 1);
    assert_eq!(after[0].method, Method::PATCH);
    assert_eq!(world.till(&local_url, &loyalty_token).await, 200);

    // Suspend: refused at once; again → 204; Resume brings it back with its settings.
    let (status, content_type, _) = world
        .vendor(Method::DELETE, &account, deactivate_body("Suspend"))
        .await;
    assert_eq!((status, content_type.as_str()), (200, "application/json"));
    assert_eq!(world.till(&local_url, &loyalty_token).await, 403);
    let (status, _, _) = world
        .vendor(Method::DELETE, &account, deactivate_body("Suspend"))
        .await;
    assert_eq!(status, 204);
    let (status, _, body) = world
        .vendor(Method::PUT, &account, install_body("Resume", false))
        .await;
    assert_eq!((status, body), (200, json!({"status": "Activated"})));
    assert_eq!(world.till(&local_url, &loyalty_token).await, 200);
    let (status, _, body) = world.vendor(Method::GET, &account, Value::Null).await;
    assert_eq!((status, body), (200, json!({"status": "Activated"})));

    // A cashier sees the settings but cannot change them.
    world
        .moysklad
        .add_context("ctx-cashier", &account, "Касса Кассирова", false);
    let (_, cashier) = world.open_session("ctx-cashier").await;
    let cashier = cashier["sessionToken"].as_str().unwrap().to_owned();
    let (status, _) = world
        .ui(Method::GET, "/ui/api/settings", &cashier, None)
        .await;
    assert_eq!(status, 200);
    let (status, _) = world
        .ui(
            Method::PUT,
            "/ui/api/settings",
            &cashier,
            Some(world.settings_body(None)),
        )
        .await;
    assert_eq!(status, 403);
    let (status, _) = world
        .ui(Method::POST, "/ui/api/token/rotate", &cashier, None)
        .await;
    assert_eq!(status, 403);

    // Rotation: MoySklad gets the new token, the old one stops working.
    let (status, _) = world
        .ui(Method::POST, "/ui/api/token/rotate", &token, None)
        .await;
    assert_eq!(status, 200);
    let rotated = world.moysklad.last(Method::PATCH, "/loyalty").unwrap();
    let new_token = rotated["token"].as_str().unwrap().to_owned();
    assert_ne!(new_token, loyalty_token);
    assert_eq!(world.till(&local_url, &loyalty_token).await, 401);
    assert_eq!(world.till(&local_url, &new_token).await, 200);

    // Every change is audited, never with a secret.
    let audit = world
        .app
        .state
        .store
        .audit_entries(&account, 50)
        .await
        .unwrap();
    assert!(audit
        .iter()
        .any(|(actor, action, _, _)| actor.contains("Анна Админ") && action == "settings_saved"));
    assert!(audit
        .iter()
        .any(|(_, action, _, _)| action == "token_rotated"));
    for (_, _, details, _) in &audit {
        assert!(!details.contains(&world.bp_key) && !details.contains(&new_token));
    }

    // Uninstall: secrets destroyed, the till refused, the page closed; again → 204.
    let (status, _, _) = world
        .vendor(Method::DELETE, &account, deactivate_body("Uninstall"))
        .await;
    assert_eq!(status, 200);
    let (status, _, _) = world
        .vendor(Method::DELETE, &account, deactivate_body("Uninstall"))
        .await;
    assert_eq!(status, 204);
    assert_ne!(world.till(&local_url, &new_token).await, 200);
    let gone = world
        .app
        .state
        .store
        .account(&account)
        .await
        .unwrap()
        .unwrap();
    assert!(gone.access_token_enc.is_none());
    let settings = world.stored_settings(&account).await.unwrap();
    assert!(settings.bonusplus_key_enc.is_none());
    let (status, _) = world
        .ui(Method::GET, "/ui/api/settings", &token, None)
        .await;
    assert_eq!(status, 401);
    let (status, _, _) = world.vendor(Method::GET, &account, Value::Null).await;
    assert_eq!(status, 404);
    drop(world.emu);
}

async fn vendor_api_refuses_bad_jwts_and_replays(db: TestDb) {
    let second_db = db.shared();
    let world = World::start(db).await;
    let account = uuid::Uuid::new_v4().to_string();
    let body = install_body("Install", true);
    let put = |jwt: String| {
        let world = &world;
        let account = account.clone();
        let body = body.clone();
        async move { world.vendor_with(Method::PUT, &account, body, &jwt).await.0 }
    };

    let jti = uuid::Uuid::new_v4().to_string();
    let good = moysklad_jwt(SECRET, &jti, 60);
    assert_eq!(put(good.clone()).await, 200);
    // The same token again (a replay), even with a fresh signature over the same jti.
    assert_eq!(put(good).await, 401);
    assert_eq!(put(moysklad_jwt(SECRET, &jti, 120)).await, 401);
    // Wrong secret, expired, tampered payload, alg none, missing header.
    assert_eq!(
        put(moysklad_jwt("another-secret-key-0123456789", "j-a", 60)).await,
        401
    );
    assert_eq!(put(moysklad_jwt(SECRET, "j-b", -120)).await, 401);
    let valid = moysklad_jwt(SECRET, "j-c", 60);
    let mut parts: Vec<String> = valid.split('.').map(str::to_owned).collect();
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    parts[1] = b64.encode(json!({"iat": now, "exp": now + 9999, "jti": "j-c"}).to_string());
    assert_eq!(put(parts.join(".")).await, 401, "tampered");
    let none = format!(
        "{}.{}.",
        b64.encode(r#"{"alg":"none","typ":"JWT"}"#),
        b64.encode(json!({"exp": now + 60, "jti": "j-d"}).to_string())
    );
    assert_eq!(put(none).await, 401, "alg none");
    let (status, _, _) = world
        .vendor_with(Method::PUT, &account, body.clone(), "")
        .await;
    assert_eq!(status, 401);

    // Another app id, a non-UUID account: refused.
    let url = world.app.url(&format!(
        "/api/moysklad/vendor/1.0/apps/{}/{account}",
        uuid::Uuid::new_v4()
    ));
    let response = world
        .app
        .http
        .put(url)
        .bearer_auth(moysklad_jwt(SECRET, "j-e", 60))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    let (status, _, _) = world.vendor(Method::PUT, "not-a-uuid", body.clone()).await;
    assert_eq!(status, 400);

    // A second instance on the same database (or this one after a restart) knows the used jti.
    let replayed = moysklad_jwt(SECRET, &jti, 60);
    let second = TestApp::spawn(second_db, |s| {
        s.moysklad.secret_key = SECRET.to_owned().into();
        s.limits.per_ip_per_second = 0;
    })
    .await;
    let url = second.url(&format!(
        "/api/moysklad/vendor/1.0/apps/{}/{account}",
        world.app_id()
    ));
    let status = second
        .http
        .put(url)
        .bearer_auth(replayed)
        .json(&body)
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 401);
}

async fn the_vendor_api_is_never_rate_limited(db: TestDb) {
    let world = World::start_with(db, |s| {
        s.limits.per_ip_per_second = 1;
        s.limits.per_ip_burst = 1;
    })
    .await;
    let account = uuid::Uuid::new_v4().to_string();
    // MoySklad installs, repeats, asks the status, suspends and resumes in a burst.
    for _ in 0..3 {
        let (status, _, body) = world
            .vendor(Method::PUT, &account, install_body("Install", true))
            .await;
        assert_eq!(status, 200, "{body}");
        let (status, _, _) = world.vendor(Method::GET, &account, Value::Null).await;
        assert_eq!(status, 200);
    }
    let (status, _, _) = world
        .vendor(Method::DELETE, &account, deactivate_body("Suspend"))
        .await;
    assert_eq!(status, 200);
    let (status, _, _) = world
        .vendor(Method::PUT, &account, install_body("Resume", true))
        .await;
    assert_eq!(status, 200);
    // The same address is still limited everywhere else.
    let mut statuses = Vec::new();
    for _ in 0..3 {
        statuses.push(world.ui(Method::GET, "/ui/api/settings", "", None).await.0);
    }
    assert!(statuses.contains(&429), "{statuses:?}");
}

async fn a_replayed_jti_inside_the_leeway_is_refused(db: TestDb) {
    let world = World::start(db).await;
    let account = uuid::Uuid::new_v4().to_string();
    // Expired two seconds ago, inside the accepted clock leeway: accepted once.
    let late = moysklad_jwt(SECRET, &uuid::Uuid::new_v4().to_string(), -2);
    let body = install_body("Install", true);
    let (status, _, _) = world
        .vendor_with(Method::PUT, &account, body.clone(), &late)
        .await;
    assert_eq!(status, 200);
    // The workers prune used ids whose tokens are no longer accepted; this one still is.
    let now = bonusbridge::store::now_ms();
    world
        .app
        .state
        .store
        .prune(now, i64::MAX / 2)
        .await
        .unwrap();
    let (status, _, _) = world.vendor_with(Method::PUT, &account, body, &late).await;
    assert_eq!(status, 401, "replayed inside the leeway");
}

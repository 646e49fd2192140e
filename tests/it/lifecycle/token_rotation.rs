//! Rotating the LoyaltyAPI token never leaves the till without a working one, whatever MoySklad
//! answers and however long it takes.

use std::time::Duration;

use reqwest::Method;

use crate::support::moysklad::World;
use crate::support::TestDb;

crate::on_both_backends!(rotation_never_leaves_the_till_without_a_token,);

/// An account installed and activated through the settings page; the LoyaltyAPI URL (on the
/// test server), the token MoySklad got, and the administrator's session.
async fn activated(world: &World, account: &str) -> (String, String, String) {
    let session = world.admin_session(account).await;
    let (url, token) = world.connect(&session).await;
    (url, token, session)
}

/// The token of the last `PATCH …/loyalty` MoySklad received.
fn patched_token(world: &World) -> Option<String> {
    world
        .moysklad
        .last(Method::PATCH, "/loyalty")
        .and_then(|body| body["token"].as_str().map(str::to_owned))
}

async fn rotation_never_leaves_the_till_without_a_token(db: TestDb) {
    let world = World::start(db).await;
    let account = uuid::Uuid::new_v4().to_string();
    let (url, first, session) = activated(&world, &account).await;

    // MoySklad takes its time to answer the PATCH: the till, switched to the new token the moment
    // MoySklad has it, is served; so is a call still made with the old one before that.
    world.moysklad.set_vendor_delay(Duration::from_millis(1500));
    let rotate = world.ui(Method::POST, "/ui/api/token/rotate", &session, None);
    let watch = async {
        let started = std::time::Instant::now();
        let second = loop {
            if let Some(token) = patched_token(&world) {
                break token;
            }
            assert!(started.elapsed() < Duration::from_secs(5), "no PATCH");
            tokio::time::sleep(Duration::from_millis(10)).await;
        };
        assert_eq!(
            world.till(&url, &first).await,
            200,
            "old token before the switch"
        );
        assert_eq!(
            world.till(&url, &second).await,
            200,
            "new token before MoySklad answered"
        );
        second
    };
    let ((status, view), second) = tokio::join!(rotate, watch);
    assert_eq!(status, 200, "{view}");
    world.moysklad.set_vendor_delay(Duration::ZERO);
    assert_eq!(world.till(&url, &second).await, 200);
    assert_eq!(
        world.till(&url, &first).await,
        401,
        "the old token stops once confirmed"
    );

    // MoySklad refuses the new token: it never works, the current one goes on.
    world.moysklad.fail_vendor_calls(&[400]);
    let (status, error) = world
        .ui(Method::POST, "/ui/api/token/rotate", &session, None)
        .await;
    assert_eq!(status, 502, "{error}");
    assert!(
        error["error"].as_str().unwrap().contains("старым"),
        "{error}"
    );
    let refused = patched_token(&world).unwrap();
    assert_ne!(refused, second);
    assert_eq!(world.till(&url, &refused).await, 401);
    assert_eq!(world.till(&url, &second).await, 200);

    // MoySklad's answer is lost (it may hold the new token or not): both work until the till
    // uses the new one, which then replaces the old.
    world.moysklad.fail_vendor_calls(&[503]);
    let (status, error) = world
        .ui(Method::POST, "/ui/api/token/rotate", &session, None)
        .await;
    assert_eq!(status, 502, "{error}");
    let maybe = patched_token(&world).unwrap();
    assert_eq!(world.till(&url, &second).await, 200);
    assert_eq!(world.till(&url, &maybe).await, 200);
    assert_eq!(world.till(&url, &second).await, 401);
    assert_eq!(world.till(&url, &maybe).await, 200);
}

//! Confirmation codes (`sendCode`, `checkCode`) and messages (`sendMessage`). Sending a message
//! again without a refused route is in `fallbacks`.

use bonusbridge::bonusplus::BonusPlusError;
use bonusbridge::domain::verification::Channel;

use super::*;

const SMS_ONLY: &[Channel] = &[Channel::Sms];
const SEND_CODE: &str = "/customer/79011231122/sendCode";
const SEND_MESSAGE: &str = "/customer/79011231122/sendMessage";
/// `send_message` of a code to the till, by SMS only.
const TEXT_CODE_BY_SMS: Call<()> =
    call!(|c| c.send_message(&key(), &phone(), "Код для кассы: 123456", SMS_ONLY));
const CODE_TEXT: &str = r#"{"message": "Код для кассы: 123456", "route": ["SMS"]}"#;

/// Exactly this PUT without a body (`Content-Length: 0`), with the shop's key.
fn empty_put(url_path: &'static str) -> Expected {
    request("PUT", url_path, None, Sent::Empty)
}

#[tokio::test]
async fn send_code_table() {
    run(vec![
        Case {
            name: "send_code → empty PUT sendCode, 204 → no code revealed",
            expect: vec![empty_put(SEND_CODE).answer(ResponseTemplate::new(204))],
            call: call!(|c| c.send_code(&key(), &phone())),
            outcome: |r| assert_eq!(r.unwrap(), None),
            in_order: &[],
        },
        Case {
            name: "send_code, 200 {code} → the revealed code",
            expect: vec![empty_put(SEND_CODE).answer(ok_json(r#"{"code": "4321"}"#))],
            call: call!(|c| c.send_code(&key(), &phone())),
            outcome: |r| assert_eq!(r.unwrap().as_deref(), Some("4321")),
            in_order: &[],
        },
    ])
    .await;
}

#[tokio::test]
async fn check_code_table() {
    run(vec![
        Case {
            name: "check_code \" 4321 \" → empty PUT checkCode/4321, 204 → valid",
            expect: vec![empty_put("/customer/79011231122/checkCode/4321")
                .answer(ResponseTemplate::new(204))],
            call: call!(|c| c.check_code(&key(), &phone(), " 4321 ")),
            outcome: |r| assert!(r.unwrap()),
            in_order: &[],
        },
        Case {
            name: "check_code, 412 INVALID_CODE → invalid",
            expect: vec![
                empty_put("/customer/79011231122/checkCode/0000").answer(error_answer(
                    412,
                    r#"{"code":"INVALID_CODE","msg":"Неверный код"}"#,
                )),
            ],
            call: call!(|c| c.check_code(&key(), &phone(), "0000")),
            outcome: |r| assert!(!r.unwrap()),
            in_order: &[],
        },
    ])
    .await;
}

#[tokio::test]
async fn send_message_table() {
    run(vec![
        Case {
            name: "send_message → POST sendMessage {message, route: [SMS]}, 204 → sent",
            expect: vec![request("POST", SEND_MESSAGE, None, Sent::json(CODE_TEXT))
                .answer(ResponseTemplate::new(204))],
            call: TEXT_CODE_BY_SMS,
            outcome: |r| r.unwrap(),
            in_order: &[],
        },
        Case {
            name: "send_message, 200 {} → sent",
            expect: vec![
                request("POST", SEND_MESSAGE, None, Sent::json(CODE_TEXT)).answer(ok_json("{}"))
            ],
            call: TEXT_CODE_BY_SMS,
            outcome: |r| r.unwrap(),
            in_order: &[],
        },
        Case {
            name: "send_message to an unknown customer (412 CUSTOMER_NOT_FOUND) → NotFound",
            expect: vec![route("POST", SEND_MESSAGE).answer(error_answer(
                412,
                r#"{"code":"CUSTOMER_NOT_FOUND","msg":"-"}"#,
            ))],
            call: TEXT_CODE_BY_SMS,
            outcome: is_not_found,
            in_order: &[],
        },
        Case {
            name:
                "send_message unknown to BonusPlus (404) → UnknownCall, the text not in the error",
            expect: vec![route("POST", SEND_MESSAGE).answer(error_answer(404, UNKNOWN_ROUTE))],
            call: TEXT_CODE_BY_SMS,
            outcome: |r| {
                let err = r.unwrap_err();
                assert_eq!(err, BonusPlusError::UnknownCall { status: 404 });
                assert!(!err.to_string().contains("123456"));
            },
            in_order: &[],
        },
    ])
    .await;
}

//! Verification codes at the till: how a code reaches the customer (an account setting), the text
//! that carries the bridge's own code, and the limits every code obeys.
//! Pure rules: must not depend on anything with I/O (no `state`, `store`, clients or HTTP).
//!
//! MoySklad's till compares what the customer says with the `verificationCode` we answer, so the
//! bridge must know the code it has sent. Either it makes the code itself and texts it through
//! BonusPlus ([`CodeDelivery::Own`], the default), or it asks BonusPlus to text one of its own and
//! answers it only when BonusPlus reveals it ([`CodeDelivery::BonusPlus`]), or codes are off.

use std::time::Duration;

/// Digits of the bridge's own codes.
pub const CODE_DIGITS: usize = 6;
/// How long a code is kept (sealed) after it was sent; afterwards it is forgotten.
pub const CODE_LIFETIME: Duration = Duration::from_secs(5 * 60);
/// A request for a code inside this time answers the code already sent, without texting again.
pub const TIME_FOR_REPEAT: Duration = Duration::from_secs(60);
/// At most this many codes are texted to one phone within [`CODE_WINDOW`].
pub const MAX_CODES_PER_WINDOW: i64 = 5;
pub const CODE_WINDOW: Duration = Duration::from_secs(60 * 60);

/// How verification codes reach the customer (stored as `own`, `bonusplus`, `off`).
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, strum::EnumString, strum::AsRefStr, strum::Display,
)]
#[strum(serialize_all = "lowercase")]
pub enum CodeDelivery {
    /// The bridge makes a random code and texts it through BonusPlus (`sendMessage`).
    #[default]
    Own,
    /// BonusPlus texts a code of its own (`sendCode`); usable only where BonusPlus reveals it.
    #[strum(serialize = "bonusplus")]
    BonusPlus,
    /// No codes: the till's requests for a code are refused.
    Off,
}

/// «Куда отправлять код»: the channels BonusPlus tries for a message, first the customer has
/// wins (stored as `sms`, `telegram_vk_sms`).
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, strum::EnumString, strum::AsRefStr, strum::Display,
)]
pub enum MessageRoute {
    /// SMS only (the default: the channel every customer with a phone has).
    #[default]
    #[strum(serialize = "sms")]
    SmsOnly,
    /// Telegram, else VK, else SMS: cheaper for the shop when the customer has a messenger.
    #[strum(serialize = "telegram_vk_sms")]
    TelegramVkSms,
}

/// A delivery channel of a BonusPlus message (`MessageTransport`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    Telegram,
    Vk,
    Sms,
}

impl MessageRoute {
    /// The channels, in the order BonusPlus should try them.
    pub fn channels(self) -> &'static [Channel] {
        match self {
            MessageRoute::SmsOnly => &[Channel::Sms],
            MessageRoute::TelegramVkSms => &[Channel::Telegram, Channel::Vk, Channel::Sms],
        }
    }
}

/// The text of the message carrying the bridge's own code, with [`CodeMessage::PLACEHOLDER`]
/// where the code goes. [`CodeMessage::parse`] is the only way to one, so a stored text always
/// carries the code and fits one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeMessage(String);

/// Why a message text cannot carry codes. `Display` is Russian: the settings page shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CodeMessageError {
    #[error("Укажите текст сообщения с кодом")]
    Empty,
    #[error("В тексте сообщения должно быть место для кода: {{code}}")]
    NoPlaceholder,
    #[error("Текст сообщения — не длиннее 160 символов")]
    TooLong,
}

impl CodeMessage {
    /// Where the code goes in the text.
    pub const PLACEHOLDER: &'static str = "{code}";
    /// One SMS of Latin text; a Cyrillic text this long is sent in a few parts, which is still
    /// fine for a code. `{code}` and a code have the same length, so the bound holds after the
    /// code is put in.
    pub const MAX_CHARS: usize = 160;
    /// The text used unless the shop writes its own.
    pub const DEFAULT: &'static str = "Код для кассы: {code}";

    pub fn parse(text: &str) -> Result<CodeMessage, CodeMessageError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(CodeMessageError::Empty);
        }
        if !text.contains(Self::PLACEHOLDER) {
            return Err(CodeMessageError::NoPlaceholder);
        }
        if text.chars().count() > Self::MAX_CHARS {
            return Err(CodeMessageError::TooLong);
        }
        Ok(CodeMessage(text.to_owned()))
    }

    /// The message with `code` in every place of the placeholder.
    pub fn render(&self, code: &str) -> String {
        self.0.replace(Self::PLACEHOLDER, code)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for CodeMessage {
    fn default() -> Self {
        CodeMessage(Self::DEFAULT.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    #[test]
    fn delivery_modes_are_stored_by_name() {
        for (mode, name) in [
            (CodeDelivery::Own, "own"),
            (CodeDelivery::BonusPlus, "bonusplus"),
            (CodeDelivery::Off, "off"),
        ] {
            assert_eq!(mode.as_ref(), name);
            assert_eq!(CodeDelivery::from_str(name), Ok(mode));
        }
        assert!(CodeDelivery::from_str("sms").is_err());
        assert_eq!(CodeDelivery::default(), CodeDelivery::Own);
    }

    #[test]
    fn message_routes_are_stored_by_name_and_end_with_sms() {
        for (route, name) in [
            (MessageRoute::SmsOnly, "sms"),
            (MessageRoute::TelegramVkSms, "telegram_vk_sms"),
        ] {
            assert_eq!(route.as_ref(), name);
            assert_eq!(MessageRoute::from_str(name), Ok(route));
            assert_eq!(route.channels().last(), Some(&Channel::Sms));
        }
        assert_eq!(MessageRoute::default(), MessageRoute::SmsOnly);
        assert_eq!(
            MessageRoute::TelegramVkSms.channels(),
            [Channel::Telegram, Channel::Vk, Channel::Sms]
        );
        assert!(MessageRoute::from_str("telegram").is_err());
    }

    #[test]
    fn a_message_carries_the_code_and_fits() {
        let message = CodeMessage::parse("  Ваш код: {code}. Никому не говорите  ").unwrap();
        assert_eq!(
            message.render("042017"),
            "Ваш код: 042017. Никому не говорите"
        );
        assert_eq!(
            CodeMessage::default().render("123456"),
            "Код для кассы: 123456"
        );
        assert_eq!(
            CodeMessage::parse("{code} — {code}").unwrap().render("1"),
            "1 — 1"
        );
        assert_eq!(CodeMessage::parse("   "), Err(CodeMessageError::Empty));
        assert_eq!(
            CodeMessage::parse("Ваш код"),
            Err(CodeMessageError::NoPlaceholder)
        );
        assert_eq!(
            CodeMessage::parse("{Code}"),
            Err(CodeMessageError::NoPlaceholder)
        );
        let longest = format!("{}{{code}}", "ж".repeat(CodeMessage::MAX_CHARS - 6));
        assert!(CodeMessage::parse(&longest).is_ok());
        assert_eq!(
            CodeMessage::parse(&format!("ж{longest}")),
            Err(CodeMessageError::TooLong)
        );
        assert_eq!(
            CodeMessage::parse(&longest)
                .unwrap()
                .render("123456")
                .chars()
                .count(),
            CodeMessage::MAX_CHARS
        );
    }
}

//! The MoySklad app descriptor of a deployment: `descriptor.xml` with its placeholder base URL
//! replaced by the configured public base URL.
//! A utility: must not depend on any other module of the crate.

/// The base URL written in the committed `descriptor.xml`.
pub const PLACEHOLDER_BASE_URL: &str = "https://bonusbridge.example.com";

const TEMPLATE: &str = include_str!("../descriptor.xml");

/// The descriptor for a service reachable at `public_base` (no trailing slash).
pub fn render(public_base: &str) -> String {
    TEMPLATE.replace(PLACEHOLDER_BASE_URL, public_base.trim_end_matches('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn substitutes_every_occurrence_of_the_base_url() {
        let xml = render("https://loyalty.shop.ru/");
        assert!(!xml.contains(PLACEHOLDER_BASE_URL));
        assert!(xml.contains("<endpointBase>https://loyalty.shop.ru</endpointBase>"));
        assert!(xml.contains(r#"sourceUrl="https://loyalty.shop.ru/ui""#));
        assert!(xml.contains("<loyaltyApi/>"));
    }
}

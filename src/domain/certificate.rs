//! Gift certificates by their printed number (issue 22): how a typed number is compared (its
//! key), and the shop's certificate list (a CSV of printed number and GUID per line) read into
//! pairs, with a reason in Russian for each line that cannot be read.
//! Pure rules: must not depend on anything with I/O — no `state`, `store`, clients or HTTP.

use uuid::Uuid;

/// The longest printed number kept.
pub const MAX_NUMBER_CHARS: usize = 64;
/// The most lines one list may hold.
pub const MAX_LIST_LINES: usize = 20_000;

/// A certificate's printed number, as typed or printed, with the key it is compared by: spaces
/// dropped and letters in upper case, so «демо-1000» and «ДЕМО - 1000» find «ДЕМО-1000»;
/// hyphens and other marks count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrintedNumber {
    text: String,
    key: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PrintedNumberError {
    #[error("номер сертификата пуст")]
    Empty,
    #[error("номер сертификата длиннее {MAX_NUMBER_CHARS} символов")]
    TooLong,
}

impl PrintedNumber {
    pub fn parse(text: &str) -> Result<Self, PrintedNumberError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(PrintedNumberError::Empty);
        }
        if text.chars().count() > MAX_NUMBER_CHARS {
            return Err(PrintedNumberError::TooLong);
        }
        let key = text
            .chars()
            .filter(|c| !c.is_whitespace())
            .flat_map(char::to_uppercase)
            .collect();
        Ok(PrintedNumber {
            text: text.to_owned(),
            key,
        })
    }

    /// As printed (trimmed).
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// What two numbers are compared by.
    pub fn key(&self) -> &str {
        &self.key
    }
}

/// One line of the shop's list: a printed number and its certificate's GUID in BonusPlus.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedCertificate {
    pub number: PrintedNumber,
    pub id: Uuid,
}

/// A line of the list that was not taken, 1-based, with why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListProblem {
    pub line: usize,
    pub reason: String,
}

/// What a list holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CertificateList {
    pub certificates: Vec<ListedCertificate>,
    pub problems: Vec<ListProblem>,
}

/// Reads the list: one certificate per line, the printed number and the GUID separated by `,`,
/// `;` or a tab (either order, values may be quoted); blank lines and a first line without a
/// GUID (a header) are skipped. A number listed twice keeps its last GUID.
pub fn read_list(text: &str) -> CertificateList {
    let mut list = CertificateList::default();
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    for (index, line) in text.lines().enumerate().take(MAX_LIST_LINES) {
        let number = index + 1;
        if line.trim().is_empty() {
            continue;
        }
        match read_line(line) {
            Ok(certificate) => {
                list.certificates
                    .retain(|known| known.number.key() != certificate.number.key());
                list.certificates.push(certificate);
            }
            Err(_) if number == 1 => {}
            Err(reason) => list.problems.push(ListProblem {
                line: number,
                reason,
            }),
        }
    }
    if text.lines().count() > MAX_LIST_LINES {
        list.problems.push(ListProblem {
            line: MAX_LIST_LINES + 1,
            reason: format!("в списке больше {MAX_LIST_LINES} строк: остальные не прочитаны"),
        });
    }
    list
}

fn read_line(line: &str) -> Result<ListedCertificate, String> {
    let fields: Vec<&str> = line
        .split([',', ';', '\t'])
        .map(|field| field.trim().trim_matches('"').trim())
        .filter(|field| !field.is_empty())
        .collect();
    let [first, second] = fields[..] else {
        return Err("нужно два значения: номер сертификата и его GUID в БонусПлюс".to_owned());
    };
    let (number, id) = match (Uuid::parse_str(first), Uuid::parse_str(second)) {
        (Err(_), Ok(id)) => (first, id),
        (Ok(id), Err(_)) => (second, id),
        (Ok(_), Ok(_)) => return Err("оба значения — GUID: нет печатного номера".to_owned()),
        (Err(_), Err(_)) => return Err(format!("«{second}» — не GUID сертификата")),
    };
    let number = PrintedNumber::parse(number).map_err(|error| error.to_string())?;
    Ok(ListedCertificate { number, id })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "0c0ffee0-0000-4000-8000-000000000001";

    #[test]
    fn numbers_are_compared_without_spaces_and_case() {
        let printed = PrintedNumber::parse(" ДЕМО-1000 ").unwrap();
        assert_eq!(printed.as_str(), "ДЕМО-1000");
        assert_eq!(
            PrintedNumber::parse("демо-1000").unwrap().key(),
            printed.key()
        );
        assert_eq!(
            PrintedNumber::parse("ДЕМО - 1000").unwrap().key(),
            "ДЕМО-1000"
        );
        assert_ne!(
            PrintedNumber::parse("ДЕМО1000").unwrap().key(),
            printed.key()
        );
        assert_eq!(PrintedNumber::parse("  "), Err(PrintedNumberError::Empty));
        assert_eq!(
            PrintedNumber::parse(&"1".repeat(65)),
            Err(PrintedNumberError::TooLong)
        );
    }

    #[test]
    fn a_list_is_read_line_by_line_with_reasons() {
        let text = format!(
            "\u{feff}Номер;GUID\n\"ДЕМО-1000\";\"{ID}\"\n\n{ID},ДЕМО-2000\nДЕМО-3000\tнет\nодно\n\
             {ID};{ID}\nдемо-1000,{}\n",
            Uuid::nil()
        );
        let list = read_list(&text);
        let pairs: Vec<(&str, Uuid)> = list
            .certificates
            .iter()
            .map(|c| (c.number.as_str(), c.id))
            .collect();
        let id = Uuid::parse_str(ID).unwrap();
        assert_eq!(pairs, [("ДЕМО-2000", id), ("демо-1000", Uuid::nil())]);
        let lines: Vec<usize> = list.problems.iter().map(|p| p.line).collect();
        assert_eq!(lines, [5, 6, 7]);
        assert!(list.problems[0].reason.contains("«нет» — не GUID"));
        assert!(list.problems[1].reason.contains("нужно два значения"));
    }

    #[test]
    fn a_first_line_with_a_guid_is_a_certificate_not_a_header() {
        let list = read_list(&format!("ДЕМО-1000,{ID}"));
        assert_eq!(list.certificates.len(), 1);
        assert!(read_list("").certificates.is_empty());
    }
}

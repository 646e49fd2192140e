//! Customer names between MoySklad's one-line name and BonusPlus's parts.
//! Pure rules: must not depend on anything with I/O (no `state`, `store`, clients or HTTP).

/// A person's name parts as BonusPlus keeps them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NameParts {
    pub last: Option<String>,
    pub first: Option<String>,
    pub middle: Option<String>,
}

/// Splits "Фамилия Имя Отчество" (Russian order); explicit parts, when given, win.
pub fn split_full_name(
    full: Option<&str>,
    last: Option<&str>,
    first: Option<&str>,
    middle: Option<&str>,
) -> NameParts {
    let clean = |s: Option<&str>| {
        s.map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let (last, first, middle) = (clean(last), clean(first), clean(middle));
    if last.is_some() || first.is_some() || middle.is_some() {
        return NameParts {
            last,
            first,
            middle,
        };
    }
    let mut words = full.unwrap_or("").split_whitespace();
    let parts = NameParts {
        last: words.next().map(str::to_owned),
        first: words.next().map(str::to_owned),
        middle: {
            let rest: Vec<&str> = words.collect();
            (!rest.is_empty()).then(|| rest.join(" "))
        },
    };
    // A single word is more likely a first name than a surname at a till.
    if parts.first.is_none() && parts.middle.is_none() {
        return NameParts {
            first: parts.last,
            ..NameParts::default()
        };
    }
    parts
}

/// The one-line name MoySklad shows: "Фамилия Имя Отчество", or `fallback` when nothing is known.
pub fn full_name(parts: &NameParts, fallback: &str) -> String {
    let words: Vec<&str> = [&parts.last, &parts.first, &parts.middle]
        .into_iter()
        .filter_map(|p| p.as_deref())
        .collect();
    if words.is_empty() {
        fallback.to_owned()
    } else {
        words.join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_split_in_russian_order() {
        let parts = split_full_name(Some("Петров Иван Сергеевич"), None, None, None);
        assert_eq!(parts.last.as_deref(), Some("Петров"));
        assert_eq!(parts.first.as_deref(), Some("Иван"));
        assert_eq!(parts.middle.as_deref(), Some("Сергеевич"));
        assert_eq!(full_name(&parts, "x"), "Петров Иван Сергеевич");
        let single = split_full_name(Some("Иван"), None, None, None);
        assert_eq!(single.first.as_deref(), Some("Иван"));
        let explicit = split_full_name(Some("ignored"), Some("Сидоров"), None, None);
        assert_eq!(explicit.last.as_deref(), Some("Сидоров"));
        assert_eq!(
            full_name(&NameParts::default(), "+79011231122"),
            "+79011231122"
        );
    }
}

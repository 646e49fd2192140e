//! The order calculation shared by `PUT retail/calc` and `POST retail`: pure, no state, no I/O.

use rust_decimal::Decimal;

use crate::money::{
    floor2, floor_to_multiple, money, percent_of, round2, share_percent, split_proportionally,
};

/// The tenant's bonus programme, as far as the calculation needs it.
#[derive(Debug, Clone, Copy)]
pub struct Programme {
    pub earn_percent: Decimal,
    pub max_debit_percent: Decimal,
    pub multiplicity: Decimal,
}

/// A promotion that applies to one line (already matched to the line's store and product).
#[derive(Debug, Clone, PartialEq)]
pub struct LinePromotion {
    pub percent: Decimal,
    pub name: String,
}

/// One order line as sent by the shop, with its promotion resolved.
#[derive(Debug, Clone)]
pub struct Line {
    pub ext: String,
    pub sum: Decimal,
    pub ds: Decimal,
    pub promotion: Option<LinePromotion>,
}

/// BonusPlus's figures for one line.
#[derive(Debug, Clone, PartialEq)]
pub struct LineFigures {
    pub ext: String,
    pub cb: Decimal,
    pub db: Decimal,
    pub ids: Decimal,
    pub idp: Decimal,
    pub ds: Decimal,
    pub dp: Decimal,
    pub cbp: Decimal,
    pub dbp: Decimal,
}

/// The whole calculation.
#[derive(Debug, Clone, PartialEq)]
pub struct Calculation {
    pub max_debit: Decimal,
    pub lines: Vec<LineFigures>,
    pub messages: Vec<String>,
}

impl Calculation {
    pub fn earned(&self) -> Decimal {
        self.lines.iter().map(|l| l.cb).sum()
    }
}

/// The customer asked to spend more than the order allows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NotEnoughBonuses {
    pub requested: Decimal,
    pub max_debit: Decimal,
}

/// Calculates discounts, debit and earnings for an order.
pub fn calculate(
    lines: &[Line],
    programme: Programme,
    available: Decimal,
    bonus_debit: Decimal,
) -> Result<Calculation, NotEnoughBonuses> {
    let discounted: Vec<Discounted> = lines.iter().map(Discounted::of).collect();
    let remaining: Vec<Decimal> = discounted.iter().map(|d| d.remaining).collect();
    let max_debit = max_debit(&remaining, programme, available);
    if bonus_debit > max_debit {
        return Err(NotEnoughBonuses {
            requested: bonus_debit,
            max_debit,
        });
    }
    let debits = split_proportionally(bonus_debit, &remaining);
    let figures = lines
        .iter()
        .zip(&discounted)
        .zip(debits)
        .map(|((line, discounted), db)| line_figures(line, discounted, db, programme))
        .collect();
    Ok(Calculation {
        max_debit,
        lines: figures,
        messages: promotion_messages(lines),
    })
}

/// A line after the shop's and BonusPlus's own discounts.
struct Discounted {
    base: Decimal,
    ids: Decimal,
    remaining: Decimal,
}

impl Discounted {
    fn of(line: &Line) -> Self {
        let base = line.sum - line.ds;
        let ids = line
            .promotion
            .as_ref()
            .map_or(Decimal::ZERO, |p| round2(percent_of(base, p.percent)));
        Discounted {
            base,
            ids,
            remaining: base - ids,
        }
    }
}

/// What may be spent: a share of the discounted order, never more than the customer has,
/// floored to the programme's multiplicity so that the maximum itself is always spendable.
fn max_debit(remaining: &[Decimal], programme: Programme, available: Decimal) -> Decimal {
    let order_total: Decimal = remaining.iter().copied().sum();
    let cap = floor2(percent_of(order_total, programme.max_debit_percent));
    let spendable = cap.min(available.max(Decimal::ZERO));
    money(floor_to_multiple(spendable, programme.multiplicity))
}

fn line_figures(
    line: &Line,
    discounted: &Discounted,
    db: Decimal,
    programme: Programme,
) -> LineFigures {
    let earning_base = discounted.remaining - db;
    LineFigures {
        ext: line.ext.clone(),
        cb: money(percent_of(earning_base, programme.earn_percent)),
        db: money(db),
        ids: money(discounted.ids),
        idp: money(line.promotion.as_ref().map_or(Decimal::ZERO, |p| p.percent)),
        ds: money(line.ds),
        dp: share_percent(line.ds, line.sum),
        cbp: money(programme.earn_percent),
        dbp: share_percent(db, discounted.base),
    }
}

/// One text per promotion that fired, in order of first appearance.
fn promotion_messages(lines: &[Line]) -> Vec<String> {
    let mut fired: Vec<&LinePromotion> = Vec::new();
    for promotion in lines.iter().filter_map(|l| l.promotion.as_ref()) {
        if !fired.contains(&promotion) {
            fired.push(promotion);
        }
    }
    fired
        .into_iter()
        .map(|p| format!("Акция «{}»: скидка {}%", p.name, p.percent.normalize()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn programme() -> Programme {
        Programme {
            earn_percent: dec!(5),
            max_debit_percent: dec!(30),
            multiplicity: dec!(1),
        }
    }

    fn line(ext: &str, sum: Decimal, ds: Decimal) -> Line {
        Line {
            ext: ext.into(),
            sum,
            ds,
            promotion: None,
        }
    }

    #[test]
    fn plain_order_earns_and_caps_debit() {
        let lines = [line("a", dec!(200), dec!(0))];
        let calc = calculate(&lines, programme(), dec!(500), dec!(0)).unwrap();
        assert_eq!(calc.max_debit, dec!(60.00));
        assert_eq!(calc.lines[0].cb, dec!(10.00));
        assert!(calc.messages.is_empty());
    }

    #[test]
    fn debit_is_limited_by_available_and_multiplicity() {
        let lines = [line("a", dec!(200), dec!(0))];
        let calc = calculate(&lines, programme(), dec!(12.50), dec!(0)).unwrap();
        assert_eq!(calc.max_debit, dec!(12));
        let any_kopeck = Programme {
            multiplicity: dec!(0),
            ..programme()
        };
        let calc = calculate(&lines, any_kopeck, dec!(12.50), dec!(0)).unwrap();
        assert_eq!(calc.max_debit, dec!(12.50));
    }

    #[test]
    fn too_big_debit_is_refused() {
        let lines = [line("a", dec!(100), dec!(0))];
        let err = calculate(&lines, programme(), dec!(500), dec!(31)).unwrap_err();
        assert_eq!(err.max_debit, dec!(30));
    }

    #[test]
    fn promotion_discount_then_debit_spread_by_remaining() {
        let mut cheese = line("a", dec!(200), dec!(0));
        cheese.promotion = Some(LinePromotion {
            percent: dec!(5),
            name: "Сыр".into(),
        });
        let lines = [cheese, line("b", dec!(100), dec!(10))];
        // remaining: 190 and 90 → cap 30% of 280 = 84
        let calc = calculate(&lines, programme(), dec!(500), dec!(28)).unwrap();
        assert_eq!(calc.max_debit, dec!(84));
        let a = &calc.lines[0];
        assert_eq!(
            (a.ids, a.idp, a.db, a.cb),
            (dec!(10), dec!(5), dec!(19), dec!(8.55))
        );
        let b = &calc.lines[1];
        assert_eq!(
            (b.db, b.cb, b.dp, b.dbp),
            (dec!(9), dec!(4.05), dec!(10), dec!(10))
        );
        assert_eq!(calc.messages, vec!["Акция «Сыр»: скидка 5%".to_string()]);
    }
}

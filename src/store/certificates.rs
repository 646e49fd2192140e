//! Gift certificates' printed numbers ↔ their BonusPlus GUIDs, per account (issue 22): what the
//! app has seen in BonusPlus's answers and what the shop imported.
//! Storage only: how numbers compare is `domain::certificate`'s, when to remember `certificates`'.

use uuid::Uuid;

use super::{now_ms, with_pool, Store, StoreError};
use crate::domain::certificate::PrintedNumber;

/// Where a pair came from (stored as `seen` or `imported`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertificateSource {
    /// BonusPlus answered the certificate with this `name`.
    Seen,
    /// The shop's list.
    Imported,
}

impl CertificateSource {
    fn as_str(self) -> &'static str {
        match self {
            CertificateSource::Seen => "seen",
            CertificateSource::Imported => "imported",
        }
    }
}

/// Rows written in one statement.
const BATCH: usize = 500;

impl Store {
    /// Remembers `pairs` (a number's latest GUID wins).
    pub async fn remember_certificates(
        &self,
        account_id: &str,
        pairs: &[(PrintedNumber, Uuid)],
        source: CertificateSource,
    ) -> Result<(), StoreError> {
        let now = now_ms();
        for chunk in pairs.chunks(BATCH) {
            let mut sql = String::from(
                "INSERT INTO certificate_names
                   (account_id, number_key, number, certificate_id, source, updated_at) VALUES ",
            );
            for index in 0..chunk.len() {
                let base = index * 3;
                if index > 0 {
                    sql.push_str(", ");
                }
                sql.push_str(&format!(
                    "($1, ${}, ${}, ${}, $2, $3)",
                    base + 4,
                    base + 5,
                    base + 6
                ));
            }
            sql.push_str(
                " ON CONFLICT (account_id, number_key) DO UPDATE SET
                   number = excluded.number, certificate_id = excluded.certificate_id,
                   source = excluded.source, updated_at = excluded.updated_at",
            );
            with_pool!(self, |pool| {
                let mut query = sqlx::query(&sql)
                    .bind(account_id)
                    .bind(source.as_str())
                    .bind(now);
                for (number, id) in chunk {
                    query = query
                        .bind(number.key())
                        .bind(number.as_str())
                        .bind(id.hyphenated().to_string());
                }
                query.execute(pool).await?;
            });
        }
        Ok(())
    }

    /// The GUID remembered for a printed number, if any.
    pub async fn certificate_by_number(
        &self,
        account_id: &str,
        number: &PrintedNumber,
    ) -> Result<Option<Uuid>, StoreError> {
        let row: Option<(String,)> = with_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT certificate_id FROM certificate_names WHERE account_id = $1 AND number_key = $2",
            )
            .bind(account_id)
            .bind(number.key())
            .fetch_optional(pool)
            .await?
        });
        row.map(|(id,)| {
            Uuid::parse_str(&id).map_err(|_| StoreError::Corrupt(format!("certificate id `{id}`")))
        })
        .transpose()
    }

    /// How many printed numbers the account's map holds.
    pub async fn certificate_count(&self, account_id: &str) -> Result<i64, StoreError> {
        let count: i64 = with_pool!(self, |pool| {
            sqlx::query_scalar("SELECT COUNT(*) FROM certificate_names WHERE account_id = $1")
                .bind(account_id)
                .fetch_one(pool)
                .await?
        });
        Ok(count)
    }
}

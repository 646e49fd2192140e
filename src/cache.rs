//! Utility: [`UntilChanged`], a cache of what was read from the database, kept until whoever
//! changes it says so (with a time-to-live only as a backstop).
//! Must not depend on anything of the app: services hold one per thing they remember.

use std::future::Future;
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// A `moka` cache whose reads that raced a forgetting are not kept: a value read while a change
/// was being forgotten may be the value from before the change.
#[derive(Clone)]
pub struct UntilChanged<K, V> {
    cache: moka::sync::Cache<K, V>,
    /// Bumped by every forgetting.
    generation: Arc<AtomicU64>,
}

impl<K, V> UntilChanged<K, V>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    pub fn new(capacity: u64, backstop: Duration) -> Self {
        UntilChanged {
            cache: moka::sync::Cache::builder()
                .max_capacity(capacity)
                .time_to_live(backstop)
                .build(),
            generation: Arc::default(),
        }
    }

    pub fn get(&self, key: &K) -> Option<V> {
        self.cache.get(key)
    }

    /// The value of `key`: remembered, else `read` (kept unless something was forgotten
    /// meanwhile; an error is not kept).
    pub async fn get_or_read<E>(
        &self,
        key: K,
        read: impl Future<Output = Result<V, E>>,
    ) -> Result<V, E> {
        if let Some(value) = self.cache.get(&key) {
            return Ok(value);
        }
        let generation = self.generation.load(Ordering::SeqCst);
        let value = read.await?;
        if self.generation.load(Ordering::SeqCst) != generation {
            return Ok(value);
        }
        // Inserted first, checked again after: a forgetting that lands between the check above and
        // the insert would otherwise leave the value from before the change cached. Either the
        // forgetting bumps the generation before the check below (and the insert is undone here),
        // or after it, and then its own invalidation comes after the insert.
        self.cache.insert(key.clone(), value.clone());
        if self.generation.load(Ordering::SeqCst) != generation {
            self.cache.invalidate(&key);
        }
        Ok(value)
    }

    pub fn forget(&self, key: &K) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        self.cache.invalidate(key);
    }

    /// Forgets every entry `changed` picks.
    pub fn forget_where(&self, changed: impl Fn(&K, &V) -> bool) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        for (key, value) in self.cache.iter() {
            if changed(&key, &value) {
                self.cache.invalidate(&*key);
            }
        }
    }

    pub fn forget_all(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        self.cache.invalidate_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_read_that_raced_a_forgetting_is_not_kept() {
        let cache: UntilChanged<&str, u32> = UntilChanged::new(10, Duration::from_secs(60));
        let read = cache.get_or_read("a", async {
            cache.forget(&"b");
            Ok::<_, ()>(1)
        });
        assert_eq!(read.await, Ok(1));
        assert_eq!(cache.get(&"a"), None);
        assert_eq!(
            cache.get_or_read("a", async { Ok::<_, ()>(2) }).await,
            Ok(2)
        );
        assert_eq!(cache.get(&"a"), Some(2));
        cache.forget_where(|_, value| *value == 2);
        assert_eq!(cache.get(&"a"), None);
    }
}

//! The default store: sharded maps, one lock per customer.

use super::Store;
use crate::customer::Customer;
use compact_str::CompactString;
use hashbrown::HashMap;
use parking_lot::{Mutex, RwLock};
use std::hash::BuildHasher;

const SHARDS: usize = 32;

type Shard = RwLock<HashMap<CompactString, Mutex<Box<Customer>>>>;

/// In-process customer storage. Calls on different customers take different locks: a shared read
/// lock on one of 32 shards, then the customer's own mutex.
pub struct MemoryStore {
    shards: Box<[Shard]>,
    hasher: hashbrown::DefaultHashBuilder,
}

impl Default for MemoryStore {
    fn default() -> Self {
        MemoryStore {
            shards: (0..SHARDS).map(|_| RwLock::new(HashMap::new())).collect(),
            hasher: hashbrown::DefaultHashBuilder::default(),
        }
    }
}

impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryStore")
            .field("customers", &self.len())
            .finish()
    }
}

impl MemoryStore {
    fn shard(&self, id: &str) -> Option<&Shard> {
        #[allow(
            clippy::cast_possible_truncation,
            reason = "modulo a small shard count"
        )]
        let i = (self.hasher.hash_one(id) % SHARDS as u64) as usize;
        self.shards.get(i)
    }
}

impl Store for MemoryStore {
    fn read<R>(&self, id: &str, f: impl FnOnce(&Customer) -> R) -> Option<R> {
        let shard = self.shard(id)?.read();
        let c = shard.get(id)?.lock();
        Some(f(&c))
    }

    fn update<R>(&self, id: &str, f: impl FnOnce(&mut Customer) -> R) -> Option<R> {
        let shard = self.shard(id)?.read();
        let mut c = shard.get(id)?.lock();
        Some(f(&mut c))
    }

    fn upsert<R>(
        &self,
        customer: Customer,
        existing: impl FnOnce(&mut Customer) -> R,
    ) -> Option<R> {
        let mut shard = self.shard(&customer.id)?.write();
        if let Some(c) = shard.get(&*customer.id) {
            return Some(existing(&mut c.lock()));
        }
        shard.insert(
            CompactString::from(&*customer.id),
            Mutex::new(Box::new(customer)),
        );
        None
    }

    fn remove(&self, id: &str) -> Option<Customer> {
        self.shard(id)?.write().remove(id).map(|c| *c.into_inner())
    }

    fn ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self
            .shards
            .iter()
            .flat_map(|s| s.read().keys().map(|k| k.to_string()).collect::<Vec<_>>())
            .collect();
        ids.sort();
        ids
    }

    fn len(&self) -> usize {
        self.shards.iter().map(|s| s.read().len()).sum()
    }
}

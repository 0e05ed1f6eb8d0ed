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
    fn shard_index(&self, id: &str) -> usize {
        #[allow(
            clippy::cast_possible_truncation,
            reason = "modulo a small shard count"
        )]
        let i = (self.hasher.hash_one(id) % SHARDS as u64) as usize;
        i
    }

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

    fn update_many<R>(&self, ids: &[&str], f: impl FnOnce(&mut [&mut Customer]) -> R) -> Option<R> {
        let mut ids: Vec<&str> = ids.to_vec();
        ids.sort_unstable();
        ids.dedup();
        let mut shard_ids: Vec<usize> = ids.iter().map(|id| self.shard_index(id)).collect();
        shard_ids.sort_unstable();
        shard_ids.dedup();
        // shared read locks, recursive so a waiting writer cannot wedge a second one; writers hold
        // a single shard lock and no customer lock, so no cycle is possible
        let guards: Vec<(usize, parking_lot::RwLockReadGuard<'_, _>)> = shard_ids
            .iter()
            .filter_map(|&i| Some((i, self.shards.get(i)?.read_recursive())))
            .collect();
        let mut locked = Vec::with_capacity(ids.len());
        for id in &ids {
            let i = self.shard_index(id);
            let (_, guard) = guards.iter().find(|(g, _)| *g == i)?;
            locked.push(guard.get(*id)?.lock());
        }
        let mut refs: Vec<&mut Customer> = locked.iter_mut().map(|g| &mut ***g).collect();
        Some(f(&mut refs))
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

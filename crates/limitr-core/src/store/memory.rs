//! The default store: sharded maps, one lock per customer.

use super::Store;
use crate::customer::Customer;
use compact_str::CompactString;
use hashbrown::HashTable;
use parking_lot::{Mutex, RwLock};
use std::hash::BuildHasher;

const SHARDS: usize = 32;

/// One customer: its id, its lock and its state in one allocation, so a lookup reads the table's
/// pointer and then a single block (the id compared, the lock taken and the meters read are
/// neighbours in memory).
struct Slot {
    id: CompactString,
    customer: Mutex<Customer>,
}

type Shard = RwLock<HashTable<Box<Slot>>>;

/// In-process customer storage. Calls on different customers take different locks: a shared read
/// lock on one of 32 shards, then the customer's own mutex.
pub struct MemoryStore {
    shards: Box<[Shard]>,
    hasher: hashbrown::DefaultHashBuilder,
}

impl Default for MemoryStore {
    fn default() -> Self {
        MemoryStore {
            shards: (0..SHARDS).map(|_| RwLock::new(HashTable::new())).collect(),
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
    /// The id's hash and its shard. The shard comes from bits 48–52: the table inside a shard
    /// indexes by the low bits and tags by the top seven, so both still see well-spread hashes
    /// (a shard chosen by the low bits would leave each table 1/32 of its home slots).
    fn locate(&self, id: &str) -> (u64, usize) {
        let hash = self.hasher.hash_one(id);
        #[allow(clippy::cast_possible_truncation, reason = "five bits: below SHARDS")]
        let shard = ((hash >> 48) & (SHARDS as u64 - 1)) as usize;
        (hash, shard)
    }

    /// [`Store::upsert`], calling `inserted` on a newly inserted customer while its shard is
    /// still locked (so a journal can record it before anyone else sees it).
    pub fn upsert_then<R>(
        &self,
        customer: Customer,
        existing: impl FnOnce(&mut Customer) -> R,
        inserted: impl FnOnce(&Customer),
    ) -> Option<R> {
        let (hash, i) = self.locate(&customer.id);
        let mut shard = self.shards.get(i)?.write();
        if let Some(s) = Self::find(&shard, hash, &customer.id) {
            return Some(existing(&mut s.customer.lock()));
        }
        inserted(&customer);
        let slot = Box::new(Slot {
            id: CompactString::from(&*customer.id),
            customer: Mutex::new(customer),
        });
        let hasher = &self.hasher;
        shard.insert_unique(hash, slot, |s| hasher.hash_one(s.id.as_str()));
        None
    }

    /// [`Store::remove`], calling `removed` with the id while its shard is still locked.
    pub fn remove_then(&self, id: &str, removed: impl FnOnce(&str)) -> Option<Customer> {
        let (hash, i) = self.locate(id);
        let mut shard = self.shards.get(i)?.write();
        let entry = shard.find_entry(hash, |s| s.id == id).ok()?;
        removed(id);
        let (slot, _) = entry.remove();
        Some(slot.customer.into_inner())
    }

    fn find<'t>(table: &'t HashTable<Box<Slot>>, hash: u64, id: &str) -> Option<&'t Slot> {
        table.find(hash, |s| s.id == id).map(|b| &**b)
    }
}

impl Store for MemoryStore {
    fn read<R>(&self, id: &str, f: impl FnOnce(&Customer) -> R) -> Option<R> {
        let (hash, i) = self.locate(id);
        let shard = self.shards.get(i)?.read();
        let c = Self::find(&shard, hash, id)?.customer.lock();
        Some(f(&c))
    }

    fn update<R>(&self, id: &str, f: impl Fn(&mut Customer) -> R) -> Option<R> {
        let (hash, i) = self.locate(id);
        let shard = self.shards.get(i)?.read();
        let mut c = Self::find(&shard, hash, id)?.customer.lock();
        Some(f(&mut c))
    }

    fn update_many<R>(&self, ids: &[&str], f: impl Fn(&mut [&mut Customer]) -> R) -> Option<R> {
        let mut ids: Vec<&str> = ids.to_vec();
        ids.sort_unstable();
        ids.dedup();
        let mut shard_ids: Vec<usize> = ids.iter().map(|id| self.locate(id).1).collect();
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
            let (hash, i) = self.locate(id);
            let (_, guard) = guards.iter().find(|(g, _)| *g == i)?;
            locked.push(Self::find(guard, hash, id)?.customer.lock());
        }
        let mut refs: Vec<&mut Customer> = locked.iter_mut().map(|g| &mut **g).collect();
        Some(f(&mut refs))
    }

    fn upsert<R>(&self, customer: Customer, existing: impl Fn(&mut Customer) -> R) -> Option<R> {
        self.upsert_then(customer, existing, |_| ())
    }

    fn remove(&self, id: &str) -> Option<Customer> {
        self.remove_then(id, |_| ())
    }

    fn ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self
            .shards
            .iter()
            .flat_map(|s| {
                s.read()
                    .iter()
                    .map(|k| k.id.to_string())
                    .collect::<Vec<_>>()
            })
            .collect();
        ids.sort();
        ids
    }

    fn len(&self) -> usize {
        self.shards.iter().map(|s| s.read().len()).sum()
    }

    /// A consistent cut: every shard is write-locked (in order, as `update_many` takes them)
    /// while the customers are cloned, so no call is half applied. Calls wait for the clone
    /// (not for the serialisation that follows it).
    fn snapshot(&self) -> Vec<Customer> {
        let guards: Vec<_> = self.shards.iter().map(|s| s.write()).collect();
        let mut all: Vec<Customer> = guards
            .iter()
            .flat_map(|g| g.iter().map(|slot| slot.customer.lock().clone()))
            .collect();
        drop(guards);
        all.sort_unstable_by(|a, b| a.id.cmp(&b.id));
        all
    }
}

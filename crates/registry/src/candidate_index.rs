//! The registry's blocking keys held in memory (`matching.index = "memory"`), for matching at the
//! pace of a sync. The same keys PostgreSQL indexes (`store::match_keys::stored_keys`), the same
//! rule for a crowded key (more than `max_bucket` workers in the caller's states: skipped), and
//! each worker prepared for scoring once, so that a page's candidates cost a few binary searches
//! instead of a database lookup per key and a fetch of every candidate's row.
//!
//! Loaded from the workers in change order, then kept up to date before every use by reading the
//! changes after the last one seen (writers commit in change order, so nothing is skipped). A
//! changed worker is found only through its new keys. When the changes read since the load hold
//! as many keys as a quarter of the load's, the index is loaded again beside the one in use and
//! swapped in. Memory: about 2 GB per million workers at its peak (bench/RESULTS.md), so it is for a registry
//! that fits one process; the database's index serves any size.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use store::Store;
use store::match_keys::{Candidate, CandidateKeys, stored_keys, worker_fields};

use crate::error::{Error, Result};

/// Workers read per statement, loading or following.
const PAGE: i64 = 10_000;

/// The index, shared by the scoring of every request and page.
#[derive(Default)]
pub struct CandidateIndex {
    index: tokio::sync::RwLock<Index>,
    /// One reader of the changes at a time.
    follow: tokio::sync::Mutex<()>,
    ready: AtomicBool,
    reloading: AtomicBool,
}

/// One worker as the index holds it.
struct Slot {
    uan: Box<str>,
    state: [u8; 2],
    prepared: matching::Prepared,
    /// `false` once the worker changed: the new version is another slot.
    live: bool,
}

#[derive(Default)]
struct Index {
    /// The last change read.
    seen: i64,
    /// Every key of the workers loaded with the slot it belongs to, sorted.
    entries: Vec<(i64, u32)>,
    /// Where in `entries` the keys of each value of their leading `bits` begin (and, last, the
    /// end): a key's search starts among a few entries, not across the whole array.
    starts: Vec<u32>,
    bits: u32,
    /// Keys of the workers read since the load.
    later: HashMap<i64, Vec<u32>>,
    later_entries: usize,
    slots: Vec<Slot>,
    by_uan: HashMap<Box<str>, u32>,
}

/// One worker read, prepared and with its keys.
struct Read {
    seq: i64,
    uan: Box<str>,
    state: [u8; 2],
    prepared: matching::Prepared,
    keys: Vec<i64>,
}

impl CandidateIndex {
    /// Whether the index has been loaded and may answer.
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }

    /// Loads every worker into a new index beside the one in use, catches it up and swaps it in.
    /// Returns the workers held.
    pub async fn load(&self, store: &Store) -> Result<usize> {
        let mut fresh = Index::default();
        let mut pairs: Vec<(i64, u32)> = Vec::new();
        loop {
            let read = read_after(store, fresh.seen).await?;
            let Some(last) = read.last() else { break };
            fresh.seen = last.seq;
            for r in read {
                let slot = fresh.push(r.uan, r.state, r.prepared);
                pairs.extend(r.keys.into_iter().map(|k| (k, slot)));
            }
        }
        let mut fresh = tokio::task::spawn_blocking(move || {
            pairs.sort_unstable();
            pairs.shrink_to_fit();
            (fresh.starts, fresh.bits) = directory(&pairs);
            fresh.entries = pairs;
            fresh
        })
        .await
        .map_err(|e| Error::Unavailable(format!("candidate index: {e}")))?;
        let _one = self.follow.lock().await;
        loop {
            let read = read_after(store, fresh.seen).await?;
            if read.is_empty() {
                break;
            }
            read.into_iter().for_each(|r| fresh.apply(r));
        }
        let workers = fresh.by_uan.len();
        let old = std::mem::replace(&mut *self.index.write().await, fresh);
        self.ready.store(true, Ordering::Release);
        // A million workers take a moment to free: not under the lock, nor on an async thread.
        tokio::task::spawn_blocking(move || drop(old));
        Ok(workers)
    }

    /// Reads the changes since the last one seen. Returns whether the index should be loaded
    /// again (the changes hold as many keys as a quarter of the load's).
    pub async fn follow(&self, store: &Store) -> Result<bool> {
        let _one = self.follow.lock().await;
        loop {
            let seen = self.index.read().await.seen;
            let read = read_after(store, seen).await?;
            if read.is_empty() {
                return Ok(self.index.read().await.wants_reload());
            }
            let mut index = self.index.write().await;
            read.into_iter().for_each(|r| index.apply(r));
        }
    }

    /// Follows the changes, and loads the index again in the background when it has grown by
    /// a quarter since its load.
    pub async fn keep_up(self: &Arc<Self>, store: &Store) -> Result<()> {
        if self.follow(store).await? && !self.reloading.swap(true, Ordering::AcqRel) {
            let (index, store) = (self.clone(), store.clone());
            tokio::spawn(async move {
                let started = std::time::Instant::now();
                match index.load(&store).await {
                    Ok(workers) => tracing::info!(
                        workers,
                        secs = started.elapsed().as_secs_f64(),
                        "Candidate index loaded again."
                    ),
                    Err(e) => {
                        tracing::warn!(error = %e, "The candidate index could not be loaded again; the one in use stays.")
                    }
                }
                index.reloading.store(false, Ordering::Release);
            });
        }
        Ok(())
    }

    /// Calls `f` with each record's candidates in `states` (`None`: any): the workers sharing
    /// any of its keys, each once, a key of more than `max_bucket` such workers skipped. The
    /// index is held while `f` runs; call from a blocking thread.
    pub fn with_candidates<R>(
        &self,
        records: &[CandidateKeys],
        states: Option<&[String]>,
        max_bucket: i64,
        f: impl FnOnce(Vec<Vec<(&str, &matching::Prepared)>>) -> R,
    ) -> R {
        let index = self.index.blocking_read();
        let max_bucket = usize::try_from(max_bucket).unwrap_or(usize::MAX);
        let states: Option<Vec<[u8; 2]>> =
            states.map(|s| s.iter().map(|c| state_bytes(c)).collect());
        let found = records
            .iter()
            .map(|r| {
                let mut slots: Vec<u32> = Vec::new();
                let mut shared: Vec<u32> = Vec::new();
                for key in &r.0 {
                    shared.clear();
                    let loaded = index.loaded(*key).iter().map(|(_, slot)| slot);
                    let later = index.later.get(key).map(Vec::as_slice).unwrap_or_default();
                    for &slot in loaded.chain(later) {
                        let s = &index.slots[slot as usize];
                        if s.live && states.as_ref().is_none_or(|st| st.contains(&s.state)) {
                            shared.push(slot);
                            if shared.len() > max_bucket {
                                break;
                            }
                        }
                    }
                    if shared.len() <= max_bucket {
                        slots.extend_from_slice(&shared);
                    }
                }
                slots.sort_unstable();
                slots.dedup();
                slots
                    .into_iter()
                    .map(|slot| {
                        let s = &index.slots[slot as usize];
                        (&*s.uan, &s.prepared)
                    })
                    .collect()
            })
            .collect();
        f(found)
    }
}

impl Index {
    /// The loaded entries of `key`.
    fn loaded(&self, key: i64) -> &[(i64, u32)] {
        let part = bucket(key, self.bits);
        let (from, to) = match self.starts.get(part..=part + 1) {
            Some(&[from, to]) => (from as usize, to as usize),
            _ => (0, self.entries.len()),
        };
        let near = &self.entries[from..to];
        let start = near.partition_point(|(k, _)| *k < key);
        let end = start + near[start..].partition_point(|(k, _)| *k == key);
        &near[start..end]
    }

    fn push(&mut self, uan: Box<str>, state: [u8; 2], prepared: matching::Prepared) -> u32 {
        let slot = self.slots.len() as u32;
        if let Some(old) = self.by_uan.insert(uan.clone(), slot) {
            self.slots[old as usize].live = false;
        }
        self.slots.push(Slot {
            uan,
            state,
            prepared,
            live: true,
        });
        slot
    }

    fn apply(&mut self, r: Read) {
        self.seen = self.seen.max(r.seq);
        let slot = self.push(r.uan, r.state, r.prepared);
        self.later_entries += r.keys.len();
        for k in r.keys {
            self.later.entry(k).or_default().push(slot);
        }
    }

    fn wants_reload(&self) -> bool {
        self.later_entries > (self.entries.len() / 4).max(PAGE as usize)
    }
}

/// Entries per part of the directory, about (the keys are hashes, spread evenly): at a million
/// workers, 4 M parts (16 MB) of ~8 entries, a cache line or two to search.
const PER_PART: usize = 8;

/// A key's part of the directory of `bits` leading bits, in the keys' sorted order (as `i64`).
fn bucket(key: i64, bits: u32) -> usize {
    if bits == 0 {
        return 0;
    }
    (((key as u64) ^ (1 << 63)) >> (64 - bits)) as usize
}

/// For each part, where its keys begin in `entries` (sorted), and the end last; with the bits
/// that pick a part.
fn directory(entries: &[(i64, u32)]) -> (Vec<u32>, u32) {
    let bits = (entries.len() / PER_PART).max(1).ilog2().min(28);
    let parts = 1usize << bits;
    let mut starts = Vec::with_capacity(parts + 1);
    let mut at = 0usize;
    for part in 0..parts {
        while at < entries.len() && bucket(entries[at].0, bits) < part {
            at += 1;
        }
        starts.push(at as u32);
    }
    starts.push(entries.len() as u32);
    (starts, bits)
}

/// The next page of workers after change `after`, prepared off the async threads.
async fn read_after(store: &Store, after: i64) -> Result<Vec<Read>> {
    let rows = store.workers_changed_after(after, PAGE).await?;
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    tokio::task::spawn_blocking(move || rows.into_iter().map(prepare).collect())
        .await
        .map_err(|e| Error::Unavailable(format!("candidate index: {e}")))
}

fn prepare((seq, c): (i64, Candidate)) -> Read {
    let fields = worker_fields(&c.worker, &c.aadhaar_token);
    let prepared = matching::Prepared::new(&fields.record());
    Read {
        seq,
        uan: c.worker.uan.to_string().into_boxed_str(),
        state: state_bytes(c.worker.state_code.code()),
        keys: stored_keys(&prepared),
        prepared,
    }
}

fn state_bytes(code: &str) -> [u8; 2] {
    let b = code.as_bytes();
    [
        b.first().copied().unwrap_or(0),
        b.get(1).copied().unwrap_or(0),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The directory finds each key's entries as a search of the whole array does, at both ends
    /// of the key range and for keys absent.
    #[test]
    fn the_directory_finds_what_a_whole_search_finds() {
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as i64
        };
        let mut keys: Vec<i64> = (0..20_000).map(|_| next()).collect();
        keys.extend([i64::MIN, i64::MIN + 1, -1, 0, 1, i64::MAX - 1, i64::MAX]);
        let mut entries: Vec<(i64, u32)> = Vec::new();
        for (slot, k) in keys.iter().enumerate() {
            // Some keys shared by several workers.
            for s in 0..(1 + slot % 3) {
                entries.push((*k, (slot + s) as u32));
            }
        }
        entries.sort_unstable();
        let (starts, bits) = directory(&entries);
        assert!(bits > 8, "{bits} bits");
        let index = Index {
            starts,
            bits,
            entries: entries.clone(),
            ..Index::default()
        };
        let absent: Vec<i64> = (0..2_000).map(|_| next()).collect();
        for key in keys.iter().chain(&absent) {
            let start = entries.partition_point(|(k, _)| k < key);
            let end = entries.partition_point(|(k, _)| k <= key);
            assert_eq!(index.loaded(*key), &entries[start..end], "key {key}");
        }
        assert!(keys.iter().all(|k| !index.loaded(*k).is_empty()));
    }
}

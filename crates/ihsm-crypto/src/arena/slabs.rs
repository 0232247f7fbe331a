//! The arena's bookkeeping, apart from its memory: which 16 KiB chunk belongs to which
//! account and serves which size class, which blocks are free, and what each account holds.
//! Offsets only, no pointers, no `unsafe`: the allocator in `mod.rs` turns them into blocks.
//!
//! Every chunk serves one size class for one account at a time (a slab). An account takes
//! whole chunks from the arena's pool, up to its allowance (its share, in chunks), and gives
//! a chunk back as soon as its last block is freed. So what one account frees and keeps in
//! pieces stays in its own chunks: a tenant's fragmentation counts against its own share and
//! never strands the arena for another. Chunks beyond an account's allowance (the device's,
//! which has none, and a partition's blocks in passing past its share) come only from the
//! chunks no partition has reserved, so no account can take what a partition's share keeps.

use std::collections::{BTreeMap, BTreeSet};

use super::{Usage, CLASSES};

/// Bytes in a chunk: the largest class, so a chunk holds at least one block of any class.
pub(crate) const CHUNK: usize = 16 * 1024;

/// The device's account.
pub(crate) const DEVICE: u32 = 0;

/// No room to reserve a share of that size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NoRoom {
    /// What is left to reserve, in bytes.
    pub available: usize,
}

struct Chunk {
    /// The account it serves, while in use.
    owner: u32,
    class: usize,
    /// Blocks handed out.
    live: usize,
    /// Slots freed since (block indices), to hand out again before fresh ones.
    free: Vec<u32>,
    /// The next never-used slot.
    fresh: u32,
}

struct AccountState {
    /// Chunks it may take from the reserved part of the pool (its share); 0 for the device.
    allowance: usize,
    /// Chunks it holds now.
    owned: usize,
    /// Bytes of its live blocks.
    used: usize,
    /// Its chunks with a free slot, by class.
    partial: [BTreeSet<u32>; CLASSES.len()],
    /// Closed: its share is given back, and it goes once its last chunk does.
    closed: bool,
}

impl AccountState {
    fn new(allowance: usize) -> Self {
        Self {
            allowance,
            owned: 0,
            used: 0,
            partial: Default::default(),
            closed: false,
        }
    }
}

/// The bookkeeping of an arena of `chunks.len()` chunks.
pub(crate) struct Slabs {
    chunks: Vec<Chunk>,
    /// Chunks no account holds.
    pool: Vec<u32>,
    accounts: BTreeMap<u32, AccountState>,
    next_account: u32,
    /// Chunks the open partitions' shares reserve, together.
    reserved: usize,
    /// Chunks the shares must leave the device.
    device_reserve: usize,
    pub(crate) in_use: usize,
    pub(crate) peak: usize,
    pub(crate) refused: u64,
}

impl Slabs {
    /// `total` chunks, of which the partitions' shares leave at least `device_reserve` to
    /// the device.
    pub(crate) fn new(total: usize, device_reserve: usize) -> Self {
        let chunks = (0..total)
            .map(|_| Chunk {
                owner: DEVICE,
                class: 0,
                live: 0,
                free: Vec::new(),
                fresh: 0,
            })
            .collect();
        // Handed out lowest first.
        let pool = (0..u32::try_from(total).unwrap_or(u32::MAX))
            .rev()
            .collect();
        let mut accounts = BTreeMap::new();
        accounts.insert(DEVICE, AccountState::new(0));
        Self {
            chunks,
            pool,
            accounts,
            next_account: 1,
            reserved: 0,
            device_reserve: device_reserve.min(total),
            in_use: 0,
            peak: 0,
            refused: 0,
        }
    }

    /// Chunks in the arena.
    pub(crate) fn total(&self) -> usize {
        self.chunks.len()
    }

    /// Bytes reserved for the partitions' shares.
    pub(crate) fn reserved_bytes(&self) -> usize {
        self.reserved * CHUNK
    }

    /// Bytes in chunks no account holds.
    pub(crate) fn free_bytes(&self) -> usize {
        self.pool.len() * CHUNK
    }

    /// Opens an account with a share of `share` bytes (whole chunks), reserved unless
    /// `admit` is false: `NoRoom` if the shares would leave the device less than its
    /// reserve. Ids are never reused, so a late free never counts against another account.
    pub(crate) fn open(&mut self, share: usize, admit: bool) -> Result<u32, NoRoom> {
        let allowance = share.div_ceil(CHUNK);
        let available = self
            .total()
            .saturating_sub(self.device_reserve)
            .saturating_sub(self.reserved);
        if admit && allowance > available {
            return Err(NoRoom {
                available: available * CHUNK,
            });
        }
        let id = self.next_account;
        if id >= super::MAX_ACCOUNT {
            return Err(NoRoom { available: 0 });
        }
        self.next_account += 1;
        self.reserved += allowance;
        self.accounts.insert(id, AccountState::new(allowance));
        Ok(id)
    }

    /// Closes an account: its share goes back now; it goes itself once its last chunk does.
    pub(crate) fn close(&mut self, id: u32) {
        if id == DEVICE {
            return;
        }
        let Some(account) = self.accounts.get_mut(&id) else {
            return;
        };
        if account.closed {
            return;
        }
        account.closed = true;
        self.reserved = self.reserved.saturating_sub(account.allowance);
        account.allowance = 0;
        if account.owned == 0 {
            self.accounts.remove(&id);
        }
    }

    /// What an open account holds (its chunks) and its share; the device's share is what the
    /// partitions' shares leave.
    pub(crate) fn usage(&self, id: u32) -> Option<Usage> {
        let account = self.accounts.get(&id).filter(|a| !a.closed)?;
        let share = if id == DEVICE {
            self.total().saturating_sub(self.reserved)
        } else {
            account.allowance
        };
        Some(Usage {
            used: account.owned * CHUNK,
            share: share * CHUNK,
        })
    }

    /// Chunks reserved by open shares and not taken yet: the pool must keep them.
    fn reserved_unused(&self) -> usize {
        self.accounts
            .values()
            .filter(|a| !a.closed)
            .map(|a| a.allowance.saturating_sub(a.owned))
            .sum()
    }

    /// A block of `class` for account `id` (an unknown or closed account's blocks are the
    /// device's): its offset in the arena, or `None` if the account may take no more chunks.
    pub(crate) fn allocate(&mut self, id: u32, class: usize) -> Option<usize> {
        let id = match self.accounts.get(&id) {
            Some(account) if !account.closed => id,
            _ => DEVICE,
        };
        let block = *CLASSES.get(class)?;
        let chunk = match self.accounts.get(&id)?.partial.get(class)?.first().copied() {
            Some(chunk) => chunk,
            None => self.take_chunk(id, class)?,
        };
        let index = usize::try_from(chunk).ok()?;
        let slots = u32::try_from(CHUNK / block).ok()?;
        let entry = self.chunks.get_mut(index)?;
        let slot = match entry.free.pop() {
            Some(slot) => slot,
            None => {
                let slot = entry.fresh;
                entry.fresh += 1;
                slot
            }
        };
        entry.live += 1;
        let full = entry.free.is_empty() && entry.fresh >= slots;
        let account = self.accounts.get_mut(&id)?;
        account.used += block;
        if full {
            if let Some(partial) = account.partial.get_mut(class) {
                partial.remove(&chunk);
            }
        }
        self.in_use += block;
        self.peak = self.peak.max(self.in_use);
        Some(index * CHUNK + usize::try_from(slot).ok()? * block)
    }

    /// Takes a chunk from the pool for account `id`: within its allowance from anywhere in
    /// the pool, beyond it only from the part no open share has reserved.
    fn take_chunk(&mut self, id: u32, class: usize) -> Option<u32> {
        let account = self.accounts.get(&id)?;
        let within = account.owned < account.allowance;
        if !within && self.pool.len() <= self.reserved_unused() {
            self.refused += 1;
            return None;
        }
        let Some(chunk) = self.pool.pop() else {
            self.refused += 1;
            return None;
        };
        let entry = self.chunks.get_mut(usize::try_from(chunk).ok()?)?;
        *entry = Chunk {
            owner: id,
            class,
            live: 0,
            free: Vec::new(),
            fresh: 0,
        };
        let account = self.accounts.get_mut(&id)?;
        account.owned += 1;
        account.partial.get_mut(class)?.insert(chunk);
        Some(chunk)
    }

    /// Frees the block of `class` at `offset`. A block that is not one this bookkeeping
    /// handed out (a stray offset, another class) is ignored rather than misfiled.
    pub(crate) fn release(&mut self, offset: usize, class: usize) {
        let Some(block) = CLASSES.get(class).copied() else {
            return;
        };
        let (index, within) = (offset / CHUNK, offset % CHUNK);
        let Some(entry) = self.chunks.get_mut(index) else {
            return;
        };
        if entry.live == 0 || entry.class != class || within % block != 0 {
            return;
        }
        let Ok(slot) = u32::try_from(within / block) else {
            return;
        };
        entry.free.push(slot);
        entry.live -= 1;
        let (owner, empty) = (entry.owner, entry.live == 0);
        let Ok(chunk) = u32::try_from(index) else {
            return;
        };
        self.in_use = self.in_use.saturating_sub(block);
        // A chunk with a live block keeps its owner's account (closed or not).
        let Some(account) = self.accounts.get_mut(&owner) else {
            return;
        };
        account.used = account.used.saturating_sub(block);
        let mut gone = false;
        if let Some(partial) = account.partial.get_mut(class) {
            if empty {
                partial.remove(&chunk);
            } else {
                partial.insert(chunk);
            }
        }
        if empty {
            account.owned = account.owned.saturating_sub(1);
            gone = account.closed && account.owned == 0;
        }
        if gone {
            self.accounts.remove(&owner);
        }
        if empty {
            // The whole chunk goes back to the pool, for any account and class.
            if let Some(entry) = self.chunks.get_mut(index) {
                entry.free = Vec::new();
                entry.fresh = 0;
            }
            self.pool.push(chunk);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// The class of a 32-byte block, and of a 16 KiB one.
    const SMALL: usize = 0;
    const LARGE: usize = 9;

    #[test]
    fn shares_are_reserved_and_never_exceed_what_the_device_must_keep() {
        let mut slabs = Slabs::new(100, 20);
        assert!(slabs.open(81 * CHUNK, true).is_err());
        let a = slabs.open(40 * CHUNK, true).unwrap();
        assert!(slabs.open(41 * CHUNK, true).is_err());
        let b = slabs.open(40 * CHUNK, true).unwrap();
        assert_eq!(slabs.reserved_bytes(), 80 * CHUNK);
        slabs.close(a);
        assert_eq!(slabs.reserved_bytes(), 40 * CHUNK);
        assert_eq!(slabs.usage(a), None);
        assert_eq!(slabs.usage(b).unwrap().share, 40 * CHUNK);
        assert_eq!(slabs.usage(DEVICE).unwrap().share, 60 * CHUNK);
    }

    #[test]
    fn an_account_cannot_take_what_another_share_reserves() {
        let mut slabs = Slabs::new(100, 20);
        let a = slabs.open(40 * CHUNK, true).unwrap();
        let b = slabs.open(40 * CHUNK, true).unwrap();
        // A takes its 40 chunks, then what no share reserves (20), then nothing: B's 40 stay.
        let mut taken = 0;
        while slabs.allocate(a, LARGE).is_some() {
            taken += 1;
        }
        assert_eq!(taken, 60);
        assert!(slabs.refused > 0);
        for _ in 0..40 {
            assert!(slabs.allocate(b, LARGE).is_some(), "B's share is there");
        }
        // The device has nothing left either: A spilled into its part.
        assert!(slabs.allocate(DEVICE, LARGE).is_none());
    }

    #[test]
    fn fragments_stay_in_their_accounts_chunks_and_empty_chunks_go_back() {
        let mut slabs = Slabs::new(10, 2);
        let a = slabs.open(4 * CHUNK, true).unwrap();
        // A fills two chunks with small blocks and frees all but one block in each.
        let per_chunk = CHUNK / CLASSES[SMALL];
        let blocks: Vec<usize> = (0..2 * per_chunk)
            .map(|_| slabs.allocate(a, SMALL).unwrap())
            .collect();
        assert_eq!(slabs.usage(a).unwrap().used, 2 * CHUNK);
        for (i, offset) in blocks.iter().enumerate() {
            if i % per_chunk != 0 {
                slabs.release(*offset, SMALL);
            }
        }
        // Its fragments hold two of its own chunks, nobody else's; the rest is free.
        assert_eq!(slabs.usage(a).unwrap().used, 2 * CHUNK);
        assert_eq!(slabs.free_bytes(), 8 * CHUNK);
        // Small blocks go into its partial chunks before a new one is taken.
        for _ in 0..per_chunk - 1 {
            slabs.allocate(a, SMALL).unwrap();
        }
        assert_eq!(slabs.usage(a).unwrap().used, 2 * CHUNK);
        // A chunk whose last block goes returns to the pool, for any class.
        let before = slabs.free_bytes();
        let large = slabs.allocate(DEVICE, LARGE).unwrap();
        slabs.release(large, LARGE);
        assert_eq!(slabs.free_bytes(), before);
    }

    #[test]
    fn a_closed_accounts_late_frees_count_against_no_one() {
        let mut slabs = Slabs::new(10, 2);
        let a = slabs.open(4 * CHUNK, true).unwrap();
        let block = slabs.allocate(a, SMALL).unwrap();
        slabs.close(a);
        assert_eq!(slabs.reserved_bytes(), 0);
        // A new account, allocating meanwhile, is not charged the old one's block.
        let b = slabs.open(4 * CHUNK, true).unwrap();
        let other = slabs.allocate(b, SMALL).unwrap();
        slabs.release(block, SMALL);
        assert_eq!(slabs.usage(b).unwrap().used, CHUNK);
        assert_eq!(slabs.free_bytes(), 9 * CHUNK);
        slabs.release(other, SMALL);
        assert_eq!(slabs.free_bytes(), 10 * CHUNK);
        // An allocation charged to a closed account is the device's.
        let device_block = slabs.allocate(a, SMALL).unwrap();
        assert_eq!(slabs.usage(DEVICE).unwrap().used, CHUNK);
        slabs.release(device_block, SMALL);
        // Stray frees are ignored.
        slabs.release(3, SMALL);
        slabs.release(CHUNK * 9, LARGE);
        assert_eq!(slabs.in_use, 0);
    }
}

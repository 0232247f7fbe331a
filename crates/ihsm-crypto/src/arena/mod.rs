//! The locked arena: where the daemon keeps its secrets. One anonymous mapping, locked in
//! memory (`mlock`, within `RLIMIT_MEMLOCK`: never `mlockall`, which fails for ordinary users
//! under default limits), excluded from core dumps (`MADV_DONTDUMP`) and wiped in a forked
//! child (`MADV_WIPEONFORK`). Once [`install`]ed, it serves every allocation AWS-LC makes
//! (its keys, their big numbers and contexts, through `CRYPTO_set_mem_functions`) and every
//! [`SecretBytes`](crate::SecretBytes) buffer up to 16 KiB.
//!
//! Blocks come in size classes from 32 bytes to 16 KiB, each with a 16-byte header (the
//! requested size, the class and the account), and go back to their class's free list
//! wiped. A request larger than the largest class is served from the ordinary heap with the
//! same header and the same wipe on free, and counted: those are bulk buffers (a megabyte of
//! plaintext being decrypted), never keys; the largest key, an RSA-4096 private key in
//! PKCS#8, is under 3 KiB. A request of a class size the arena has no room for is **never**
//! served from the heap: a key is never kept in memory that can be swapped out. The arena
//! then returns null (AWS-LC fails the call, or, inside a FIPS key generation, stops the
//! process; a [`SecretBytes`](crate::SecretBytes) stops the process): reaching the end of
//! the arena is what the accounts below exist to prevent, so it is a fault, not a status.
//!
//! **Accounts.** Every block is charged to the account of the thread that allocated it
//! ([`charge_to`]), and given back to that account when freed, whatever thread frees it.
//! The arena is cut into 16 KiB chunks, each serving one size class of one account (see
//! `slabs.rs`): an account's blocks, and its fragments, stay in its own chunks. The daemon
//! opens one account per partition with a share of the arena ([`open_account`] reserves it:
//! the shares together never exceed the capacity less the device's own reserve), charges
//! each partition's requests to its account, and checks a partition's room ([`usage`])
//! before anything that makes a key, so one tenant cannot take the locked memory of
//! another. Past its share an account takes chunks only from what no share reserves, and
//! the arena refuses nothing short of that: inside AWS-LC a refused allocation can abort the
//! process (a FIPS key generation treats it as a failed self-test), so shares are checked by
//! the caller, before the work.
//!
//! Without `install` (tests, clients) nothing changes: every allocation is the heap's, and
//! accounts hold nothing. `unsafe` here is confined to the mapping, the raw blocks, and the
//! C callbacks; every block says why it holds.
#![allow(unsafe_code)]

mod slabs;

use core::cell::Cell;
use core::ffi::{c_char, c_int, c_void};
use core::ptr::NonNull;
use std::alloc::Layout;
use std::sync::{Mutex, OnceLock, PoisonError};

pub use slabs::NoRoom;
use slabs::{Slabs, CHUNK};

/// Bytes before every block: the requested size and the class (or [`HEAP`]).
const HEADER: usize = 16;
/// Alignment of every block (and of what AWS-LC gets).
const ALIGN: usize = 16;
/// Block sizes, header included.
const CLASSES: [usize; 10] = [32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384];
/// The class tag of a block from the ordinary heap.
const HEAP: u32 = 0xFF;
/// The high half of every header's second word: a pointer without it was not allocated here
/// (AWS-LC allocated it before `install`), and is left alone rather than misread. The low
/// half is the account (24 bits) and the class (8 bits).
const MAGIC: u64 = 0x4948_534d << 32;
/// The most accounts ever opened in one process (ids are never reused).
const MAX_ACCOUNT: u32 = (1 << 24) - 1;

/// An account blocks are charged to: a partition's share of the arena, or the device's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Account(u32);

/// The device's own account: everything not charged to a partition (the device's keys,
/// the admin's requests, threads' random-generator states, the store's keys).
pub const DEVICE: Account = Account(slabs::DEVICE);

/// What an account holds now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Usage {
    /// Bytes of the chunks it holds now (whole 16 KiB chunks: its blocks, and the room its
    /// fragments keep).
    pub used: usize,
    /// Its share of the arena (the device's: what the partitions' shares leave).
    pub share: usize,
}

thread_local! {
    /// The account this thread's allocations are charged to.
    static CHARGED: Cell<u32> = const { Cell::new(0) };
}

/// What the arena holds, for the daemon's log and status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ArenaStats {
    /// Bytes mapped.
    pub capacity: usize,
    /// Whether `mlock` succeeded (the pages cannot be swapped out).
    pub locked: bool,
    /// Bytes of blocks handed out now (headers and class rounding included).
    pub in_use: usize,
    /// The most ever in use.
    pub peak: usize,
    /// Bytes reserved for the partitions' shares.
    pub reserved: usize,
    /// Allocations refused because the arena was full (never served from the heap).
    pub refused: u64,
    /// Allocations over the largest class (bulk buffers, never keys), served by the heap.
    pub oversized: u64,
}

struct Arena {
    base: usize,
    len: usize,
    locked: bool,
    state: Mutex<State>,
}

struct State {
    slabs: Slabs,
    oversized: u64,
}

static ARENA: OnceLock<Arena> = OnceLock::new();

/// Maps and locks an arena of up to `max_bytes` (less if `RLIMIT_MEMLOCK` is lower, after
/// raising its soft limit as far as the hard one, or to `max_bytes` where the process may
/// raise the hard limit too), and hands
/// AWS-LC's allocations to it. Call it first thing in `main`, before anything uses AWS-LC:
/// AWS-LC takes its memory functions only once, and a block it allocated before would come
/// back to this arena's `free` without this arena's header. Such a block is recognised (no
/// magic) and left alone, a leak rather than a misread header.
pub fn install(max_bytes: usize) -> Result<ArenaStats, String> {
    use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
    let page = rustix::param::page_size();
    let wanted = u64::try_from(max_bytes).unwrap_or(u64::MAX);
    // Root (CAP_SYS_RESOURCE) may raise the hard limit to what the arena needs; anyone may
    // raise the soft limit to the hard one.
    let current = getrlimit(Resource::Memlock);
    if current.current.is_some_and(|soft| soft < wanted) {
        let raised = Rlimit {
            current: Some(wanted),
            maximum: Some(wanted.max(current.maximum.unwrap_or(wanted))),
        };
        if setrlimit(Resource::Memlock, raised).is_err() {
            let _ = setrlimit(
                Resource::Memlock,
                Rlimit {
                    current: current.maximum,
                    maximum: current.maximum,
                },
            );
        }
    }
    let limit = getrlimit(Resource::Memlock)
        .current
        .map_or(max_bytes, |limit| {
            usize::try_from(limit).unwrap_or(usize::MAX)
        });
    // Leave a page of the lock limit for anything else that locks; whole chunks.
    let len = max_bytes.min(limit.saturating_sub(page)) / CHUNK * CHUNK;
    if len < CHUNK {
        return Err(format!(
            "RLIMIT_MEMLOCK ({limit} bytes) leaves no room for a locked arena"
        ));
    }
    // SAFETY: an anonymous private mapping at an address of the kernel's choosing aliases
    // nothing; it lives for the process (never unmapped: blocks in it may be in use until
    // exit).
    let base = unsafe {
        rustix::mm::mmap_anonymous(
            core::ptr::null_mut(),
            len,
            rustix::mm::ProtFlags::READ | rustix::mm::ProtFlags::WRITE,
            rustix::mm::MapFlags::PRIVATE,
        )
    }
    .map_err(|e| format!("cannot map the arena: {e}"))?;
    // SAFETY: `base..base + len` is the mapping just made.
    let locked = unsafe { rustix::mm::mlock(base, len) }.is_ok();
    // SAFETY: as above; advice changes no contents.
    unsafe {
        let _ = rustix::mm::madvise(base, len, rustix::mm::Advice::LinuxDontDump);
        let _ = rustix::mm::madvise(base, len, rustix::mm::Advice::LinuxWipeOnFork);
    }
    let arena = Arena {
        base: base as usize,
        len,
        locked,
        state: Mutex::new(State {
            slabs: Slabs::new(len / CHUNK, device_reserve(len) / CHUNK),
            oversized: 0,
        }),
    };
    if ARENA.set(arena).is_err() {
        return Err("the arena is already installed".into());
    }
    crate::shim::set_mem_functions(arena_malloc, arena_realloc, arena_free)
        .map_err(|()| "AWS-LC refused the arena's memory functions (they were set already)")?;
    stats().ok_or_else(|| "the arena is missing".to_string())
}

/// The arena's numbers, if one is installed.
pub fn stats() -> Option<ArenaStats> {
    let arena = ARENA.get()?;
    let state = arena.lock();
    Some(ArenaStats {
        capacity: arena.len,
        locked: arena.locked,
        in_use: state.slabs.in_use,
        peak: state.slabs.peak,
        reserved: state.slabs.reserved_bytes(),
        refused: state.slabs.refused,
        oversized: state.oversized,
    })
}

/// What the partitions' shares must leave the device, at least: its keys, the admin's
/// connections and requests, the pool's threads.
#[must_use]
pub fn device_reserve(capacity: usize) -> usize {
    (capacity / 8).max(1 << 20).min(capacity)
}

/// Opens an account with a share of `share` bytes (whole chunks), reserved from the arena:
/// `NoRoom` if the shares already given (and the device's reserve) leave less. With `admit`
/// false the share is not checked against what is left (an account restored at power-on,
/// admitted before). Without an arena, an account that holds nothing.
pub fn open_account(share: usize, admit: bool) -> Result<Account, NoRoom> {
    let Some(arena) = ARENA.get() else {
        return Ok(Account(MAX_ACCOUNT));
    };
    arena.lock().slabs.open(share, admit).map(Account)
}

/// Closes an account: its share goes back to the arena. Blocks still charged to it are
/// freed later without counting against anyone.
pub fn close_account(account: Account) {
    if let Some(arena) = ARENA.get() {
        arena.lock().slabs.close(account.0);
    }
}

/// What `account` holds now, and its share; `None` without an arena (or for an account
/// closed).
#[must_use]
pub fn usage(account: Account) -> Option<Usage> {
    ARENA.get()?.lock().slabs.usage(account.0)
}

/// Bytes of the arena in chunks no account holds, if one is installed.
#[must_use]
pub fn free() -> Option<usize> {
    Some(ARENA.get()?.lock().slabs.free_bytes())
}

/// What the arena keeps free beside anything an account is let to add to its keys (a new
/// key, or what a key builds on a use): the room every account's passing work needs.
pub const MARGIN: usize = 256 << 10;

/// Whether the account this thread's allocations are charged to may add `bytes` to what it
/// keeps: within its share (`QuotaExceeded`), with [`MARGIN`] left in the arena
/// (`LockedMemoryExhausted`). Always without an arena.
pub(crate) fn room_for(bytes: usize) -> crate::Result<()> {
    let Some(arena) = ARENA.get() else {
        return Ok(());
    };
    let account = CHARGED.with(Cell::get);
    let state = arena.lock();
    if let Some(usage) = state.slabs.usage(account) {
        if usage.used.saturating_add(bytes) > usage.share {
            return Err(crate::Error::QuotaExceeded);
        }
    }
    if state.slabs.free_bytes() < bytes.saturating_add(MARGIN) {
        return Err(crate::Error::LockedMemoryExhausted);
    }
    Ok(())
}

/// Charges this thread's allocations to `account` until the guard drops (then to what they
/// were charged to before).
#[must_use]
pub fn charge_to(account: Account) -> Charge {
    let previous = CHARGED.with(|charged| charged.replace(account.0));
    Charge { previous }
}

/// The charging of a thread's allocations to an account, until dropped.
pub struct Charge {
    previous: u32,
}

impl Drop for Charge {
    fn drop(&mut self) {
        CHARGED.with(|charged| charged.set(self.previous));
    }
}

impl Arena {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The class of a block for `size` bytes of payload.
fn class_of(size: usize) -> Option<usize> {
    let total = size.checked_add(HEADER)?;
    CLASSES.iter().position(|class| *class >= total)
}

/// A block of at least `size` bytes, 16-aligned, with its header written; null if the arena
/// is full (a class size is never served from the heap) or the heap has no room (a block
/// over the largest class).
fn allocate(size: usize) -> *mut u8 {
    let account = CHARGED.with(Cell::get);
    if let (Some(arena), Some(class)) = (ARENA.get(), class_of(size)) {
        let mut state = arena.lock();
        let Some(offset) = state.slabs.allocate(account, class) else {
            if state.slabs.refused == 1 {
                // Said once, while it happens: the arena's accounting was meant to make this
                // impossible.
                eprintln!("ihsm: the locked arena is full; an allocation was refused");
            }
            return core::ptr::null_mut();
        };
        drop(state);
        let block = (arena.base + offset) as *mut u8;
        // SAFETY: `block..block + CLASSES[class]` lies in the arena (the slabs hand out only
        // offsets of whole blocks inside whole chunks inside `len`), is 16-aligned (the base
        // is page-aligned and every class divides a chunk), and is owned by no one else (it
        // was free).
        unsafe { write_header(block, size, tag(account, class)) };
        // SAFETY: within the block, past its header.
        return unsafe { block.add(HEADER) };
    }
    if let Some(arena) = ARENA.get() {
        arena.lock().oversized += 1;
    }
    let Some(layout) = heap_layout(size) else {
        return core::ptr::null_mut();
    };
    // SAFETY: the layout has a non-zero size (the header at least).
    let block = unsafe { std::alloc::alloc(layout) };
    if block.is_null() {
        return block;
    }
    // SAFETY: `block` is a fresh allocation of `HEADER + size` bytes, 16-aligned.
    unsafe {
        write_header(block, size, u64::from(HEAP));
        block.add(HEADER)
    }
}

/// The low half of a header's tag word: the account and the class.
fn tag(account: u32, class: usize) -> u64 {
    (u64::from(account & MAX_ACCOUNT) << 8) | u64::try_from(class).unwrap_or(u64::from(HEAP))
}

fn heap_layout(size: usize) -> Option<Layout> {
    Layout::from_size_align(size.checked_add(HEADER)?, ALIGN).ok()
}

/// # Safety
/// `block` must be valid for writes of `HEADER` bytes and 8-aligned.
unsafe fn write_header(block: *mut u8, size: usize, tag: u64) {
    // SAFETY: by the caller.
    unsafe {
        block.cast::<u64>().write(size as u64);
        block.cast::<u64>().add(1).write(MAGIC | tag);
    }
}

/// The payload size and class of a block handed out by [`allocate`]; `None` for a block
/// without this arena's header (or an arena class outside the arena). (The header's account
/// bits are for a reader of memory; the chunk's owner is what counts.)
///
/// # Safety
/// `ptr` must be a live block of at least `HEADER` bytes before it: one from [`allocate`], or
/// one AWS-LC's own `malloc` made (its 8-byte prefix follows a C allocator's chunk header).
unsafe fn header_of(ptr: *mut u8) -> Option<(usize, u32)> {
    // SAFETY: by the caller, `HEADER` readable bytes precede `ptr`.
    let (size, tag) = unsafe {
        let block = ptr.sub(HEADER);
        (
            block.cast::<u64>().read_unaligned(),
            block.cast::<u64>().add(1).read_unaligned(),
        )
    };
    if tag & !0xFFFF_FFFF != MAGIC {
        return None;
    }
    let class = u32::try_from(tag & 0xFF).ok()?;
    if class != HEAP {
        let arena = ARENA.get()?;
        let block = ptr as usize - HEADER;
        let block_len = CLASSES.get(usize::try_from(class).ok()?)?;
        if block < arena.base || block + block_len > arena.base + arena.len {
            return None;
        }
    }
    Some((usize::try_from(size).ok()?, class))
}

/// Wipes and releases a block.
///
/// # Safety
/// `ptr` must have come from [`allocate`] and not have been freed.
unsafe fn release(ptr: *mut u8) {
    // SAFETY: by the caller.
    let Some((size, class)) = (unsafe { header_of(ptr) }) else {
        // Not this arena's: left alone (see `install`).
        return;
    };
    // SAFETY: the payload is `size` bytes from `ptr`, all owned by this block.
    zeroize::Zeroize::zeroize(unsafe { core::slice::from_raw_parts_mut(ptr, size) });
    // SAFETY: the header is the block's first bytes.
    let block = unsafe { ptr.sub(HEADER) };
    if class == HEAP {
        if let Some(layout) = heap_layout(size) {
            // SAFETY: the block was allocated by `std::alloc::alloc` with this layout.
            unsafe { std::alloc::dealloc(block, layout) };
        }
        return;
    }
    let Some(arena) = ARENA.get() else { return };
    let class = usize::try_from(class).unwrap_or(usize::MAX);
    // The chunk knows its owner: the block goes back to that account, whoever frees it.
    arena
        .lock()
        .slabs
        .release(block as usize - arena.base, class);
}

extern "C" fn arena_malloc(size: usize, _file: *const c_char, _line: c_int) -> *mut c_void {
    allocate(size).cast()
}

extern "C" fn arena_free(ptr: *mut c_void, _file: *const c_char, _line: c_int) {
    if !ptr.is_null() {
        // SAFETY: AWS-LC frees only what its malloc (this arena, installed before its first
        // allocation) returned, once.
        unsafe { release(ptr.cast()) };
    }
}

extern "C" fn arena_realloc(
    ptr: *mut c_void,
    size: usize,
    _file: *const c_char,
    _line: c_int,
) -> *mut c_void {
    let fresh = allocate(size);
    if ptr.is_null() || fresh.is_null() {
        return fresh.cast();
    }
    // SAFETY: `ptr` came from this arena's malloc (as in `arena_free`); the copy stays within
    // both blocks' payloads; then the old block is released once.
    unsafe {
        match header_of(ptr.cast()) {
            Some((old, _)) => {
                core::ptr::copy_nonoverlapping(ptr.cast::<u8>(), fresh, old.min(size));
                release(ptr.cast());
            }
            None => {
                // Its size is unknown: fail the reallocation, as a full heap would.
                release(fresh);
                return core::ptr::null_mut();
            }
        }
    }
    fresh.cast()
}

/// A buffer of secret bytes in the arena (or the heap, without one): wiped and released when
/// dropped.
pub(crate) struct SecretBox {
    ptr: NonNull<u8>,
    len: usize,
}

// SAFETY: the box owns its block exclusively; the bytes are plain data.
unsafe impl Send for SecretBox {}
// SAFETY: shared access only reads.
unsafe impl Sync for SecretBox {}

impl SecretBox {
    /// A copy of `bytes`. If the arena is full the process stops (the allocation error
    /// handler), rather than keep the secret where it could be swapped out: the accounts
    /// are what keep the arena from filling.
    pub(crate) fn copy_of(bytes: &[u8]) -> Self {
        let ptr = allocate(bytes.len());
        let Some(ptr) = NonNull::new(ptr) else {
            std::alloc::handle_alloc_error(
                heap_layout(bytes.len()).unwrap_or_else(Layout::new::<[u8; HEADER]>),
            );
        };
        // SAFETY: the block has room for `bytes.len()` bytes and does not overlap `bytes`.
        unsafe { core::ptr::copy_nonoverlapping(bytes.as_ptr(), ptr.as_ptr(), bytes.len()) };
        Self {
            ptr,
            len: bytes.len(),
        }
    }

    pub(crate) fn as_slice(&self) -> &[u8] {
        // SAFETY: the block holds `len` initialised bytes for the box's life.
        unsafe { core::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }

    pub(crate) fn as_mut_slice(&mut self) -> &mut [u8] {
        // SAFETY: as above, and `&mut self` makes the access exclusive.
        unsafe { core::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }

    /// Shortens the visible length (the block keeps its size; the tail is wiped).
    pub(crate) fn truncate(&mut self, len: usize) {
        if len < self.len {
            if let Some(tail) = self.as_mut_slice().get_mut(len..) {
                zeroize::Zeroize::zeroize(tail);
            }
            self.len = len;
        }
    }
}

impl Drop for SecretBox {
    fn drop(&mut self) {
        // SAFETY: the pointer came from `allocate` and is released once, here. `release`
        // wipes the whole requested size, which the visible length never exceeds.
        unsafe { release(self.ptr.as_ptr()) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_keep_the_account_and_the_class_apart() {
        assert_eq!(tag(0, 3), 3);
        assert_eq!(tag(1, 9), 0x109);
        assert_eq!(tag(MAX_ACCOUNT, HEAP as usize) & 0xFF, u64::from(HEAP));
        assert_eq!(tag(MAX_ACCOUNT, 0) >> 8, u64::from(MAX_ACCOUNT));
    }

    #[test]
    fn classes_fit_their_blocks() {
        assert_eq!(class_of(0), Some(0));
        assert_eq!(class_of(16), Some(0));
        assert_eq!(class_of(17), Some(1));
        assert_eq!(class_of(16384 - HEADER), Some(9));
        assert_eq!(class_of(16384 - HEADER + 1), None);
        assert!(CLASSES.iter().all(|c| c % ALIGN == 0));
    }

    #[test]
    fn a_secret_box_without_an_arena_is_a_wiped_heap_buffer() {
        let mut secret = SecretBox::copy_of(b"0123456789");
        assert_eq!(secret.as_slice(), b"0123456789");
        secret.truncate(4);
        assert_eq!(secret.as_slice(), b"0123");
        let empty = SecretBox::copy_of(b"");
        assert!(empty.as_slice().is_empty());
    }
}

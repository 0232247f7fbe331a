//! What the daemon's tenants (the admin socket, and each partition) share, divided so that
//! none can take it from the others: the memory of frames being received (and of large
//! replies being sent), and the requests running at once on connection threads. (The slow
//! pool divides its workers the same way; connections are counted per partition by the
//! device, against its quota.)

use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// The memory of frames in flight: every byte a connection holds of a frame it is receiving
/// is taken from the whole daemon's budget and from its tenant's share of it, before the
/// buffer grows. A connection that finds no room waits, not reading (the peer's writes
/// block on the full socket), until its frame's deadline.
pub struct FrameBudget {
    total: usize,
    per_tenant: usize,
    state: Mutex<BudgetState>,
    freed: Condvar,
}

#[derive(Default)]
struct BudgetState {
    used: usize,
    tenants: HashMap<String, usize>,
}

impl FrameBudget {
    /// `total` bytes for all frames together, at most `per_tenant` of them for one tenant.
    #[must_use]
    pub fn new(total: usize, per_tenant: usize) -> Self {
        Self {
            total,
            per_tenant: per_tenant.min(total),
            state: Mutex::new(BudgetState::default()),
            freed: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, BudgetState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Takes `bytes` for `tenant`, waiting until `deadline` for room; false if there is none
    /// by then (or ever: more than a tenant's share).
    pub fn take(&self, tenant: &str, bytes: usize, deadline: Instant) -> bool {
        if bytes > self.per_tenant {
            return false;
        }
        let mut state = self.lock();
        loop {
            let mine = state.tenants.get(tenant).copied().unwrap_or(0);
            if state.used + bytes <= self.total && mine + bytes <= self.per_tenant {
                state.used += bytes;
                *state.tenants.entry(tenant.to_string()).or_default() += bytes;
                return true;
            }
            let Some(left) = deadline.checked_duration_since(Instant::now()) else {
                return false;
            };
            state = self
                .freed
                .wait_timeout(state, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    /// Gives back `bytes` of `tenant`'s.
    pub fn give(&self, tenant: &str, bytes: usize) {
        if bytes == 0 {
            return;
        }
        let mut state = self.lock();
        state.used = state.used.saturating_sub(bytes);
        if let Some(mine) = state.tenants.get_mut(tenant) {
            *mine = mine.saturating_sub(bytes);
            if *mine == 0 {
                state.tenants.remove(tenant);
            }
        }
        self.freed.notify_all();
    }

    /// Bytes taken now.
    #[must_use]
    pub fn used(&self) -> usize {
        self.lock().used
    }
}

/// Requests running at once on connection threads, per tenant: a tenant's connection thread
/// waits (asleep, not running) for a turn, so however many connections a tenant opens, only
/// so many of its threads compete for the processors at once.
///
/// Alone, a partition may run `per_tenant` requests at once (as many as there are cores).
/// While other partitions are active too (they made a request in the last second), the turns
/// are shared: each may run `per_tenant` divided by the number of active partitions (at
/// least one), so a partition flooding the module with expensive requests leaves processors
/// free for the others' requests instead of making them wait for a time slice. The admin
/// socket's requests are light and neither take nor count as a share.
pub struct Turns {
    per_tenant: usize,
    state: Mutex<TurnState>,
}

#[derive(Default)]
struct TurnState {
    /// Each tenant's running requests, and where its waiting threads sleep (one condition
    /// per tenant, so a turn that ends wakes one thread of its own tenant, not every
    /// waiting thread of every tenant).
    running: HashMap<String, Running>,
    /// When each partition last asked for a turn.
    seen: HashMap<String, Instant>,
}

/// One tenant's turns.
#[derive(Default)]
struct Running {
    running: usize,
    waiting: usize,
    ended: Arc<Condvar>,
}

/// How long a partition counts as active after its last request.
const ACTIVE: Duration = Duration::from_secs(1);
/// How often a waiting thread looks again (others may have gone quiet meanwhile).
const RECHECK: Duration = Duration::from_millis(200);

impl Turns {
    /// At most `per_tenant` requests of a tenant at once.
    #[must_use]
    pub fn new(per_tenant: usize) -> Self {
        Self {
            per_tenant: per_tenant.max(1),
            state: Mutex::new(TurnState::default()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, TurnState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits for a turn of `tenant`'s; the turn ends when the guard drops.
    pub fn take<'a>(&'a self, tenant: &'a str) -> Turn<'a> {
        let mut state = self.lock();
        loop {
            let now = Instant::now();
            let limit = if tenant == crate::pool::ADMIN_TENANT {
                self.per_tenant
            } else {
                match state.seen.get_mut(tenant) {
                    Some(seen) => *seen = now,
                    None => {
                        state.seen.insert(tenant.to_string(), now);
                    }
                }
                state
                    .seen
                    .retain(|_, seen| now.duration_since(*seen) < ACTIVE);
                (self.per_tenant / state.seen.len().max(1)).max(1)
            };
            let mine = match state.running.get_mut(tenant) {
                Some(entry) => entry,
                None => state.running.entry(tenant.to_string()).or_default(),
            };
            if mine.running < limit {
                mine.running += 1;
                return Turn {
                    turns: self,
                    tenant,
                };
            }
            mine.waiting += 1;
            let ended = mine.ended.clone();
            state = ended
                .wait_timeout(state, RECHECK)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
            if let Some(mine) = state.running.get_mut(tenant) {
                mine.waiting -= 1;
            }
        }
    }
}

/// One running request's turn.
pub struct Turn<'a> {
    turns: &'a Turns,
    tenant: &'a str,
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        let mut state = self.turns.lock();
        if let Some(mine) = state.running.get_mut(self.tenant) {
            mine.running = mine.running.saturating_sub(1);
            if mine.waiting > 0 {
                mine.ended.notify_one();
            } else if mine.running == 0 {
                state.running.remove(self.tenant);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn one_tenant_cannot_take_another_tenants_frame_memory() {
        let budget = FrameBudget::new(100, 60);
        let soon = || Instant::now() + Duration::from_millis(20);
        assert!(budget.take("a", 60, soon()));
        assert!(!budget.take("a", 1, soon()), "a's share is used");
        assert!(budget.take("b", 40, soon()));
        assert!(!budget.take("c", 1, soon()), "the total is used");
        assert!(
            !budget.take("c", 61, soon()),
            "more than a share never fits"
        );
        budget.give("a", 60);
        assert!(budget.take("c", 60, soon()));
        assert_eq!(budget.used(), 100);
    }

    #[test]
    fn partitions_share_their_turns_while_others_are_active() {
        let turns = Turns::new(2);
        // Alone, a takes both turns.
        let first = turns.take("a");
        let second = turns.take("a");
        drop((first, second));
        // With b active too, each has one: a's second request waits until b goes quiet.
        drop(turns.take("b"));
        let held = turns.take("a");
        let started = Instant::now();
        drop(turns.take("a"));
        assert!(started.elapsed() >= ACTIVE / 2, "{:?}", started.elapsed());
        drop(held);
        // The admin neither takes a share nor counts as one.
        std::thread::sleep(ACTIVE);
        let admin = turns.take(crate::pool::ADMIN_TENANT);
        let started = Instant::now();
        let both = (turns.take("c"), turns.take("c"));
        assert!(started.elapsed() < ACTIVE / 2, "{:?}", started.elapsed());
        drop((both, admin));
    }

    #[test]
    fn a_tenant_waits_for_its_turn_and_others_do_not() {
        let turns = Turns::new(1);
        let held = turns.take("a");
        std::thread::scope(|scope| {
            let waiting = scope.spawn(|| {
                let started = Instant::now();
                drop(turns.take("a"));
                started.elapsed()
            });
            // Another tenant is not held up by a's.
            drop(turns.take("b"));
            std::thread::sleep(Duration::from_millis(50));
            drop(held);
            assert!(waiting.join().unwrap() >= Duration::from_millis(40));
        });
    }
}

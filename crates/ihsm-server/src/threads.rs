//! The connections' threads, kept a while after their connection ends and handed the next
//! connection to the same socket. Starting and ending a thread maps and unmaps its stack,
//! which takes the process's memory-map lock for writing, and every other thread's page
//! faults wait on that lock: a tenant opening and closing connections as fast as it could (a
//! thousand threads a second) made every other tenant's new connection wait for its first
//! answer (100 ms median, 0.7 s at worst). With threads kept, a connection made as another
//! ends costs no thread at all, and threads are started only while a tenant's connections at
//! once grow, which its quota bounds.
//!
//! A kept thread serves only connections of the tenant (a partition, or the admin) it was
//! started for: what it holds between them, AWS-LC's random generator state (about 1 KiB),
//! is charged to that tenant's share of the locked memory, as a connection's thread always
//! was, never to another's. Every other piece of a connection's state goes with the
//! connection.

use std::collections::HashMap;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

/// How long a thread without a connection waits for one before it ends.
const KEEP: Duration = Duration::from_secs(30);
/// The most threads kept without a connection, all tenants together; more end at once.
const MAX_IDLE: usize = 256;

type Job = Box<dyn FnOnce() + Send + 'static>;

/// Threads that run connections, each kept for the next connection of its tenant.
#[derive(Default)]
pub(crate) struct Threads {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// Per tenant, the threads waiting for a connection: each takes its next one from its
    /// own channel.
    idle: HashMap<String, Vec<Parked>>,
    /// Threads waiting, all tenants together.
    idle_count: usize,
    next_id: u64,
    /// Threads started, for tests.
    #[cfg(test)]
    started: u64,
}

struct Parked {
    id: u64,
    hand: Sender<Job>,
}

impl Threads {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `job` on a thread of `tenant`'s waiting for one, or on a new thread; `Err` if no
    /// thread could be started (the job is dropped unrun).
    pub(crate) fn run(self: &Arc<Self>, tenant: &str, mut job: Job) -> std::io::Result<()> {
        loop {
            let parked = {
                let mut state = self.lock();
                let parked = state.idle.get_mut(tenant).and_then(Vec::pop);
                if parked.is_some() {
                    state.idle_count -= 1;
                }
                parked
            };
            let Some(parked) = parked else { break };
            // A thread that gave up waiting just now has dropped its end: the next one.
            match parked.hand.send(job) {
                Ok(()) => return Ok(()),
                Err(mpsc::SendError(back)) => job = back,
            }
        }
        #[cfg(test)]
        {
            self.lock().started += 1;
        }
        let threads = Arc::clone(self);
        let tenant = tenant.to_string();
        std::thread::Builder::new()
            .name("conn".to_string())
            .spawn(move || {
                job();
                threads.keep_serving(&tenant);
            })
            .map(drop)
    }

    /// Takes the next connection of `tenant` handed over, until none comes for [`KEEP`] or
    /// enough threads wait already. A job that panics ends its thread.
    fn keep_serving(&self, tenant: &str) {
        loop {
            let (hand, next): (Sender<Job>, Receiver<Job>) = mpsc::channel();
            let id = {
                let mut state = self.lock();
                if state.idle_count >= MAX_IDLE {
                    return;
                }
                state.idle_count += 1;
                state.next_id += 1;
                let id = state.next_id;
                state
                    .idle
                    .entry(tenant.to_string())
                    .or_default()
                    .push(Parked { id, hand });
                id
            };
            let job = match next.recv_timeout(KEEP) {
                Ok(job) => job,
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => {
                    {
                        let mut guard = self.lock();
                        let state = &mut *guard;
                        if let Some(parked) = state.idle.get_mut(tenant) {
                            if let Some(at) = parked.iter().position(|p| p.id == id) {
                                parked.swap_remove(at);
                                state.idle_count -= 1;
                            }
                            if parked.is_empty() {
                                state.idle.remove(tenant);
                            }
                        }
                    }
                    // Handed one while giving up: it is served, then the thread ends.
                    if let Ok(job) = next.try_recv() {
                        job();
                    }
                    return;
                }
            };
            job();
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn idle(threads: &Threads) -> usize {
        threads.lock().idle_count
    }

    #[test]
    fn a_thread_whose_connection_ended_serves_the_next_of_its_tenant_only() {
        let threads = Arc::new(Threads::default());
        let (done, finished) = mpsc::channel();
        for round in 0..50 {
            let done = done.clone();
            threads
                .run(
                    "a",
                    Box::new(move || {
                        done.send((round, std::thread::current().id())).unwrap();
                    }),
                )
                .unwrap();
            assert_eq!(finished.recv().unwrap().0, round);
            // Let the thread get back to waiting before the next job comes.
            while idle(&threads) == 0 {
                std::thread::yield_now();
            }
        }
        assert_eq!(threads.lock().started, 1, "one thread served all fifty");
        let a_thread = {
            let done = done.clone();
            threads
                .run(
                    "a",
                    Box::new(move || done.send((0, std::thread::current().id())).unwrap()),
                )
                .unwrap();
            finished.recv().unwrap().1
        };
        while idle(&threads) == 0 {
            std::thread::yield_now();
        }
        // Another tenant's connection gets a thread of its own, not a's.
        let done_b = done.clone();
        threads
            .run(
                "b",
                Box::new(move || done_b.send((0, std::thread::current().id())).unwrap()),
            )
            .unwrap();
        let b_thread = finished.recv().unwrap().1;
        assert_ne!(a_thread, b_thread);
        assert_eq!(threads.lock().started, 2);
        // Jobs at once each get a thread.
        let (release, held) = mpsc::channel::<()>();
        let held = Arc::new(Mutex::new(held));
        for _ in 0..3 {
            let (held, done) = (held.clone(), done.clone());
            threads
                .run(
                    "a",
                    Box::new(move || {
                        done.send((0, std::thread::current().id())).unwrap();
                        let _ = held.lock().unwrap().recv();
                    }),
                )
                .unwrap();
            finished.recv().unwrap();
        }
        assert_eq!(threads.lock().started, 4, "a's waiting one, then two more");
        drop(release);
    }
}

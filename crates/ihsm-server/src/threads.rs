//! The connections' threads, kept a while after their connection ends and handed the next
//! one. Starting and ending a thread maps and unmaps its stack, which takes the process's
//! memory-map lock for writing, and every other thread's page faults wait on that lock: a
//! tenant opening and closing connections as fast as it could (a thousand threads a second)
//! made every other tenant's new connection wait for its first answer (100 ms median, 0.7 s
//! at worst). With threads kept, a connection made as another ends costs no thread at all,
//! and threads are started only while connections at once grow, which quotas bound.
//!
//! A kept thread serves connections of any partition, one at a time, as the slow pool's
//! threads serve requests of any partition. What it holds between them is AWS-LC's random
//! generator state (charged to the partition it was first made for, about 1 KiB) and its
//! stack; every other piece of a connection's state is dropped with the connection.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

/// How long a thread without a connection waits for one before it ends.
const KEEP: Duration = Duration::from_secs(30);
/// The most threads kept without a connection; more end at once.
const MAX_IDLE: usize = 256;

type Job = Box<dyn FnOnce() + Send + 'static>;

/// Threads that run connections, each kept for the next once its connection ends.
#[derive(Default)]
pub(crate) struct Threads {
    state: Mutex<State>,
    ready: Condvar,
}

#[derive(Default)]
struct State {
    /// Connections handed over and not yet taken by a waiting thread.
    jobs: VecDeque<Job>,
    /// Threads waiting for a connection.
    idle: usize,
    /// Threads started, for tests.
    started: u64,
}

impl Threads {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `job` on a waiting thread, or on a new one if none waits; `Err` if no thread
    /// could be started (the job is dropped unrun).
    pub(crate) fn run(self: &Arc<Self>, job: Job) -> std::io::Result<()> {
        let mut state = self.lock();
        if state.idle > state.jobs.len() {
            state.jobs.push_back(job);
            drop(state);
            self.ready.notify_one();
            return Ok(());
        }
        state.started += 1;
        drop(state);
        let threads = Arc::clone(self);
        let spawned = std::thread::Builder::new()
            .name("conn".to_string())
            .spawn(move || {
                job();
                threads.keep_serving();
            });
        if spawned.is_err() {
            self.lock().started -= 1;
        }
        spawned.map(drop)
    }

    /// Threads started so far.
    #[cfg(test)]
    fn started(&self) -> u64 {
        self.lock().started
    }

    /// Takes the next connection handed over, until none comes for [`KEEP`] or enough
    /// threads wait already. A job that panics ends its thread (it is not counted idle).
    fn keep_serving(&self) {
        let mut state = self.lock();
        loop {
            if let Some(job) = state.jobs.pop_front() {
                drop(state);
                job();
                state = self.lock();
                continue;
            }
            if state.idle >= MAX_IDLE {
                return;
            }
            state.idle += 1;
            let (guard, waited) = self
                .ready
                .wait_timeout(state, KEEP)
                .unwrap_or_else(PoisonError::into_inner);
            state = guard;
            state.idle -= 1;
            if waited.timed_out() && state.jobs.is_empty() {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use std::sync::mpsc;

    #[test]
    fn a_thread_whose_job_ended_runs_the_next() {
        let threads = Arc::new(Threads::default());
        let (done, finished) = mpsc::channel();
        for round in 0..50 {
            let done = done.clone();
            threads
                .run(Box::new(move || {
                    done.send((round, std::thread::current().id())).unwrap();
                }))
                .unwrap();
            let (back, _) = finished.recv().unwrap();
            assert_eq!(back, round);
            // Let the thread get back to waiting before the next job comes.
            while threads.lock().idle == 0 {
                std::thread::yield_now();
            }
        }
        assert_eq!(
            threads.started(),
            1,
            "one thread served all fifty, one after another"
        );
        // Jobs at once each get a thread.
        let (release, held) = mpsc::channel::<()>();
        let held = Arc::new(Mutex::new(held));
        for _ in 0..3 {
            let held = held.clone();
            let done = done.clone();
            threads
                .run(Box::new(move || {
                    done.send((0, std::thread::current().id())).unwrap();
                    let _ = held.lock().unwrap().recv();
                }))
                .unwrap();
            finished.recv().unwrap();
        }
        assert_eq!(threads.started(), 3, "the waiting one, then two more");
        drop(release);
    }
}

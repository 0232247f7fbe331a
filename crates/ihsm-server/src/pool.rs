//! The pool for slow work (key generation, PIN hashing), shared fairly between tenants.
//!
//! Each tenant (the admin socket, or one partition) has its own bounded queue, and the
//! workers take from the tenants in turn (round robin), never running more than `per_tenant`
//! jobs of one tenant at once. So a tenant that floods the pool fills only its own queue
//! (its next request is `Busy`) and holds at most its share of the workers; another tenant's
//! job is next in line as soon as a worker is free. The pool keeps `min_workers` threads and
//! starts more, up to `max_workers`, when a tenant with nothing running has work and no
//! worker is idle, so a quiet tenant never waits behind the others' backlog; the extra
//! threads leave after a while idle.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

/// A unit of slow work.
pub type Job = Box<dyn FnOnce() + Send>;

/// Who a job is for: [`ADMIN_TENANT`], or a partition's name.
pub type Tenant = String;

/// The admin socket's tenant key (no partition name is empty).
pub const ADMIN_TENANT: &str = "";

/// How the pool is sized.
#[derive(Clone, Copy, Debug)]
pub struct PoolLimits {
    /// Threads always there.
    pub min_workers: usize,
    /// Threads at most.
    pub max_workers: usize,
    /// Jobs of one tenant running at once.
    pub per_tenant: usize,
    /// Jobs one tenant may have queued; more are refused (`Busy`).
    pub depth_per_tenant: usize,
}

/// How long a thread above `min_workers` stays idle before it leaves.
const IDLE_EXIT: Duration = Duration::from_secs(10);

/// The pool.
pub struct Pool {
    inner: Arc<Inner>,
}

/// Run first on every worker thread (the daemon readies the thread's random generator in
/// the locked arena).
pub type Warm = Arc<dyn Fn() + Send + Sync>;

struct Inner {
    limits: PoolLimits,
    warm: Warm,
    state: Mutex<State>,
    work: Condvar,
}

#[derive(Default)]
struct State {
    tenants: HashMap<Tenant, Queue>,
    /// Tenants with queued work and a free share, in the order they are served.
    ready: VecDeque<Tenant>,
    workers: usize,
    idle: usize,
    stopping: bool,
    handles: Vec<JoinHandle<()>>,
}

#[derive(Default)]
struct Queue {
    jobs: VecDeque<Job>,
    running: usize,
    /// In `ready` now.
    ready: bool,
}

impl Pool {
    /// A pool with `limits.min_workers` threads, each running `warm` first.
    pub fn new(limits: PoolLimits, warm: Warm) -> std::io::Result<Self> {
        let limits = PoolLimits {
            min_workers: limits.min_workers.max(1),
            max_workers: limits.max_workers.max(limits.min_workers.max(1)),
            per_tenant: limits.per_tenant.max(1),
            depth_per_tenant: limits.depth_per_tenant.max(1),
        };
        let pool = Self {
            inner: Arc::new(Inner {
                limits,
                warm,
                state: Mutex::new(State::default()),
                work: Condvar::new(),
            }),
        };
        {
            let mut state = pool.inner.lock();
            for _ in 0..limits.min_workers {
                spawn(&pool.inner, &mut state)?;
            }
        }
        Ok(pool)
    }

    /// Queues `job` for `tenant`; gives it back if the tenant's queue is full or the pool
    /// is stopping.
    pub fn submit(&self, tenant: &str, job: Job) -> Result<(), Job> {
        let inner = &self.inner;
        let mut state = inner.lock();
        if state.stopping {
            return Err(job);
        }
        let queue = state.tenants.entry(tenant.to_string()).or_default();
        if queue.jobs.len() >= inner.limits.depth_per_tenant {
            return Err(job);
        }
        queue.jobs.push_back(job);
        let quiet = queue.running == 0;
        if !queue.ready && queue.running < inner.limits.per_tenant {
            queue.ready = true;
            state.ready.push_back(tenant.to_string());
        }
        if state.idle > 0 {
            inner.work.notify_one();
        } else if quiet && state.workers < inner.limits.max_workers {
            // Every worker is busy with other tenants' work: this tenant gets one of its
            // own rather than wait for theirs. (A failed spawn leaves the job queued for
            // the next free worker.)
            let _ = spawn(inner, &mut state);
        }
        Ok(())
    }

    /// Stops taking jobs, lets the workers finish every queued one, and waits for them.
    pub fn shutdown(&self) {
        let handles = {
            let mut state = self.inner.lock();
            state.stopping = true;
            self.inner.work.notify_all();
            core::mem::take(&mut state.handles)
        };
        for handle in handles {
            let _ = handle.join();
        }
    }

    /// Threads now, and jobs queued now, for tests and the log.
    #[must_use]
    pub fn load(&self) -> (usize, usize) {
        let state = self.inner.lock();
        let queued = state.tenants.values().map(|q| q.jobs.len()).sum();
        (state.workers, queued)
    }
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn spawn(inner: &Arc<Inner>, state: &mut State) -> std::io::Result<()> {
    let index = state.workers;
    let worker = {
        let inner = inner.clone();
        std::thread::Builder::new()
            .name(format!("slow-{index}"))
            .spawn(move || work(&inner))?
    };
    state.workers += 1;
    state.handles.retain(|h| !h.is_finished());
    state.handles.push(worker);
    Ok(())
}

/// The slow pool's threads run at this nice value: below the connection threads, so a fast
/// request (of any tenant) takes a processor from slow work at once instead of waiting for
/// a time slice; among themselves, slow jobs share the processors as before.
const NICE: i32 = 5;

fn work(inner: &Inner) {
    // Lowering a thread's own priority is always allowed; failing to is harmless.
    let _ = rustix::process::setpriority_process(Some(rustix::thread::gettid()), NICE);
    (inner.warm)();
    let mut state = inner.lock();
    loop {
        let Some(tenant) = state.ready.pop_front() else {
            if state.stopping {
                break;
            }
            state.idle += 1;
            let (next, timeout) = inner
                .work
                .wait_timeout(state, IDLE_EXIT)
                .unwrap_or_else(PoisonError::into_inner);
            state = next;
            state.idle -= 1;
            if timeout.timed_out()
                && state.ready.is_empty()
                && state.workers > inner.limits.min_workers
            {
                break;
            }
            continue;
        };
        let per_tenant = inner.limits.per_tenant;
        let Some(queue) = state.tenants.get_mut(&tenant) else {
            continue;
        };
        let Some(job) = queue.jobs.pop_front() else {
            queue.ready = false;
            continue;
        };
        queue.running += 1;
        if !queue.jobs.is_empty() && queue.running < per_tenant {
            state.ready.push_back(tenant.clone());
        } else {
            queue.ready = false;
        }
        drop(state);
        // A panicking job must not take its worker (and so the pool's capacity) with it.
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
        state = inner.lock();
        let mut requeue = false;
        if let Some(queue) = state.tenants.get_mut(&tenant) {
            queue.running -= 1;
            if !queue.ready && !queue.jobs.is_empty() && queue.running < per_tenant {
                queue.ready = true;
                requeue = true;
            } else if queue.jobs.is_empty() && queue.running == 0 {
                state.tenants.remove(&tenant);
            }
        }
        if requeue {
            state.ready.push_back(tenant);
            inner.work.notify_one();
        }
    }
    state.workers -= 1;
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::mpsc;
    use std::time::Instant;

    use super::*;

    fn limits() -> PoolLimits {
        PoolLimits {
            min_workers: 2,
            max_workers: 8,
            per_tenant: 2,
            depth_per_tenant: 4,
        }
    }

    #[test]
    fn a_flooding_tenant_fills_only_its_own_queue_and_share() {
        let pool = Pool::new(limits(), Arc::new(|| {})).unwrap();
        let (release, gate) = mpsc::channel::<()>();
        let gate = Arc::new(Mutex::new(gate));
        let running = Arc::new(AtomicUsize::new(0));
        let blocker = |running: &Arc<AtomicUsize>| -> Job {
            let (gate, running) = (gate.clone(), running.clone());
            Box::new(move || {
                running.fetch_add(1, Ordering::SeqCst);
                let _ = gate.lock().unwrap().recv();
            })
        };
        // A: two running (its share), four queued (its depth), the seventh refused.
        for _ in 0..2 {
            assert!(pool.submit("a", blocker(&running)).is_ok());
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while running.load(Ordering::SeqCst) < 2 && Instant::now() < deadline {
            std::thread::yield_now();
        }
        for _ in 0..4 {
            assert!(pool.submit("a", blocker(&running)).is_ok());
        }
        assert!(
            pool.submit("a", blocker(&running)).is_err(),
            "A's queue is full"
        );
        std::thread::sleep(Duration::from_millis(50));
        assert_eq!(
            running.load(Ordering::SeqCst),
            2,
            "no more than A's share runs"
        );
        // B still gets a worker at once, though the fixed ones are busy with A.
        let (done, finished) = mpsc::channel();
        assert!(pool
            .submit("b", Box::new(move || done.send(()).unwrap()))
            .is_ok());
        finished.recv_timeout(Duration::from_secs(5)).unwrap();
        for _ in 0..6 {
            release.send(()).unwrap();
        }
        pool.shutdown();
        assert_eq!(
            running.load(Ordering::SeqCst),
            6,
            "every queued job of A ran"
        );
    }

    #[test]
    fn tenants_take_turns() {
        let pool = Pool::new(
            PoolLimits {
                min_workers: 1,
                max_workers: 1,
                per_tenant: 1,
                depth_per_tenant: 8,
            },
            Arc::new(|| {}),
        )
        .unwrap();
        let order = Arc::new(Mutex::new(Vec::new()));
        let (release, gate) = mpsc::channel::<()>();
        // Hold the one worker while both queues fill.
        assert!(pool
            .submit(
                "hold",
                Box::new(move || {
                    let _ = gate.recv();
                }),
            )
            .is_ok());
        for tenant in ["a", "a", "a", "b", "b", "b"] {
            let order = order.clone();
            assert!(pool
                .submit(tenant, Box::new(move || order.lock().unwrap().push(tenant)))
                .is_ok());
        }
        release.send(()).unwrap();
        pool.shutdown();
        assert_eq!(*order.lock().unwrap(), ["a", "b", "a", "b", "a", "b"]);
    }
}

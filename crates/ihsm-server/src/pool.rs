//! The bounded pool for slow work (key generation, PIN hashing): a fixed set of threads and
//! a bounded queue, so slow requests never stall the connection threads that serve fast ones,
//! and a flood of slow requests is refused with `Busy` rather than queued without bound.

use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;

/// A unit of slow work.
pub type Job = Box<dyn FnOnce() + Send>;

/// The pool.
pub struct Pool {
    sender: Mutex<Option<SyncSender<Job>>>,
    workers: Mutex<Vec<JoinHandle<()>>>,
}

impl Pool {
    /// `threads` workers over a queue of `depth` jobs.
    pub fn new(threads: usize, depth: usize) -> std::io::Result<Self> {
        let (sender, receiver) = sync_channel::<Job>(depth);
        let receiver = Arc::new(Mutex::new(receiver));
        let mut workers = Vec::with_capacity(threads);
        for index in 0..threads.max(1) {
            let receiver = receiver.clone();
            workers.push(
                std::thread::Builder::new()
                    .name(format!("slow-{index}"))
                    .spawn(move || work(&receiver))?,
            );
        }
        Ok(Self {
            sender: Mutex::new(Some(sender)),
            workers: Mutex::new(workers),
        })
    }

    /// Queues `job`; gives it back if the queue is full or the pool is shutting down.
    pub fn submit(&self, job: Job) -> Result<(), Job> {
        let sender = self.sender.lock().unwrap_or_else(PoisonError::into_inner);
        match sender.as_ref() {
            Some(sender) => sender.try_send(job).map_err(|e| match e {
                TrySendError::Full(job) | TrySendError::Disconnected(job) => job,
            }),
            None => Err(job),
        }
    }

    /// Stops taking jobs, lets the workers finish every queued one, and waits for them.
    pub fn shutdown(&self) {
        self.sender
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        let workers =
            core::mem::take(&mut *self.workers.lock().unwrap_or_else(PoisonError::into_inner));
        for worker in workers {
            let _ = worker.join();
        }
    }
}

fn work(receiver: &Mutex<Receiver<Job>>) {
    loop {
        let job = {
            let receiver = receiver.lock().unwrap_or_else(PoisonError::into_inner);
            receiver.recv()
        };
        match job {
            // A panicking job must not take its worker (and so the pool's capacity) with it.
            Ok(job) => {
                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
            }
            Err(_) => return,
        }
    }
}

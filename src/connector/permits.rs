//! Permits to run a request chain, at most `concurrency` at a time, handed out by rank rather
//! than in the order they were asked for.
//!
//! A FIFO semaphore (tokio's) serves the reads in the order they asked: a fan-out whose parent
//! was read late in a scan queued its requests behind every small read still waiting, and the
//! chain parent → fan-out ended after the longest chain of the scan. Here a permit that comes
//! free goes to the waiting request of the lowest [`Rank`] (the engine ranks reads that others
//! wait for, and the longest chains, first), and among equals to the one that asked first.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;

/// Where a read stands in the queue for a permit: lower first. Built by the engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Rank(pub(crate) [u32; 3]);

/// The permits of one scan, shared by every read.
#[derive(Debug)]
pub struct PermitPool {
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    free: usize,
    waiting: BinaryHeap<Waiter>,
    /// How many requests asked so far: ties go to the earlier one.
    asked: u64,
}

#[derive(Debug)]
struct Waiter {
    rank: Rank,
    asked: u64,
    send: oneshot::Sender<Permit>,
}

impl Waiter {
    /// The heap pops its greatest: the lowest rank, then the earliest asked.
    fn key(&self) -> (Reverse<Rank>, Reverse<u64>) {
        (Reverse(self.rank), Reverse(self.asked))
    }
}

impl PartialEq for Waiter {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}
impl Eq for Waiter {}
impl PartialOrd for Waiter {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Waiter {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.key().cmp(&other.key())
    }
}

/// The scan was stopped before a permit came free.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("the scan was stopped")]
pub struct Stopped;

impl PermitPool {
    /// `count` permits (at least one).
    pub fn new(count: usize) -> Arc<Self> {
        Arc::new(PermitPool {
            state: Mutex::new(State {
                free: count.max(1),
                waiting: BinaryHeap::new(),
                asked: 0,
            }),
        })
    }

    /// Permits for the reads of one resource, asked for at `rank`.
    pub fn at(self: &Arc<Self>, rank: Rank) -> Permits {
        Permits {
            pool: Arc::clone(self),
            rank,
        }
    }

    /// Hands a permit given back to the best waiter, or keeps it.
    fn give_back(self: &Arc<Self>) {
        loop {
            let waiter = {
                let Ok(mut state) = self.state.lock() else {
                    return;
                };
                match state.waiting.pop() {
                    Some(waiter) => waiter,
                    None => {
                        state.free += 1;
                        return;
                    }
                }
            };
            match waiter.send.send(Permit::of(self)) {
                Ok(()) => return,
                // That waiter stopped waiting: the next one gets it.
                Err(unsent) => unsent.forget(),
            }
        }
    }
}

/// The permits one resource's reads ask for, at its rank.
#[derive(Debug, Clone)]
pub struct Permits {
    pool: Arc<PermitPool>,
    rank: Rank,
}

impl Permits {
    /// Waits for a permit; it is given back when dropped.
    pub async fn acquire(&self) -> Result<Permit, Stopped> {
        let receive = {
            let mut state = self.pool.state.lock().map_err(|_| Stopped)?;
            if state.free > 0 {
                state.free -= 1;
                return Ok(Permit::of(&self.pool));
            }
            let (send, receive) = oneshot::channel();
            state.asked += 1;
            let asked = state.asked;
            state.waiting.push(Waiter {
                rank: self.rank,
                asked,
                send,
            });
            receive
        };
        // A permit sent to a request that stopped waiting is dropped with the channel, and
        // given back by its `Drop`.
        receive.await.map_err(|_| Stopped)
    }
}

/// Leave to run one request chain; given back when dropped.
#[derive(Debug)]
pub struct Permit {
    pool: Option<Arc<PermitPool>>,
}

impl Permit {
    fn of(pool: &Arc<PermitPool>) -> Self {
        Permit {
            pool: Some(Arc::clone(pool)),
        }
    }

    /// Drops it without giving it back (it was never handed out).
    fn forget(mut self) {
        self.pool = None;
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        if let Some(pool) = self.pool.take() {
            pool.give_back();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::future::Future;

    #[tokio::test]
    async fn a_freed_permit_goes_to_the_lowest_rank_then_the_earliest() {
        let pool = PermitPool::new(1);
        let held = pool.at(Rank::default()).acquire().await.unwrap();
        let order = Arc::new(Mutex::new(Vec::new()));
        let local = tokio::task::LocalSet::new();
        for (name, rank) in [("late-low", 2), ("high-1", 1), ("high-2", 1), ("first", 0)] {
            let permits = pool.at(Rank([rank, 0, 0]));
            let order = Arc::clone(&order);
            local.spawn_local(async move {
                let _permit = permits.acquire().await.unwrap();
                order.lock().unwrap().push(name);
                tokio::task::yield_now().await;
            });
        }
        local
            .run_until(async {
                // Every task is queued before the permit comes free.
                tokio::task::yield_now().await;
                drop(held);
            })
            .await;
        local.await;
        assert_eq!(
            *order.lock().unwrap(),
            ["first", "high-1", "high-2", "late-low"]
        );
        assert_eq!(pool.state.lock().unwrap().free, 1);
    }

    #[tokio::test]
    async fn a_permit_sent_to_a_request_that_stopped_waiting_is_not_lost() {
        let pool = PermitPool::new(1);
        let held = pool.at(Rank::default()).acquire().await.unwrap();
        let permits = pool.at(Rank::default());
        let mut waiting = Box::pin(permits.acquire());
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        assert!(waiting.as_mut().poll(&mut cx).is_pending());
        drop(held);
        drop(waiting);
        let again = pool.at(Rank::default()).acquire().await.unwrap();
        drop(again);
        assert_eq!(pool.state.lock().unwrap().free, 1);
    }
}

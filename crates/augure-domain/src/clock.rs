//! The one source of "now", and of waiting for a moment. Production uses the system clock
//! (in `augure-app`); tests use [`FakeClock`] and move time forward explicitly, so
//! deadlines and timers (a consultation's warning and cut) run in simulated time, without
//! sleeping.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use chrono::{DateTime, Duration, Utc};

/// A wait for an instant, as [`Clock::sleep_until`] returns it.
pub type Sleep = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> DateTime<Utc>;

    /// Resolves once [`Clock::now`] has reached `at` (at once if it has): timers are
    /// written against this, never against the runtime's own clock.
    fn sleep_until(&self, at: DateTime<Utc>) -> Sleep;
}

/// A clock that only moves when told to. Cloning shares the same time and the same
/// sleepers: moving it wakes every sleep whose instant has come.
#[derive(Clone, Debug)]
pub struct FakeClock {
    state: Arc<Mutex<FakeState>>,
}

#[derive(Debug)]
struct FakeState {
    now: DateTime<Utc>,
    /// Pending sleeps by id: their instant and who to wake.
    sleepers: HashMap<u64, (DateTime<Utc>, Waker)>,
}

static SLEEP_IDS: AtomicU64 = AtomicU64::new(0);

impl FakeClock {
    pub fn new(start: DateTime<Utc>) -> Self {
        Self { state: Arc::new(Mutex::new(FakeState { now: start, sleepers: HashMap::new() })) }
    }

    fn lock(&self) -> MutexGuard<'_, FakeState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn advance(&self, by: Duration) {
        let to = self.lock().now + by;
        self.set(to);
    }

    pub fn set(&self, to: DateTime<Utc>) {
        let due: Vec<Waker> = {
            let mut state = self.lock();
            state.now = to;
            let ids: Vec<u64> = state.sleepers.iter().filter(|(_, (at, _))| *at <= to).map(|(id, _)| *id).collect();
            ids.iter().filter_map(|id| state.sleepers.remove(id)).map(|(_, waker)| waker).collect()
        };
        // Woken outside the lock: a woken task may read the clock at once.
        due.into_iter().for_each(Waker::wake);
    }

    /// How many sleeps wait for a later instant (for tests that step a simulation from
    /// one timer to the next).
    pub fn sleepers(&self) -> usize {
        self.lock().sleepers.len()
    }

    /// The earliest instant a sleep waits for, if any.
    pub fn next_wake(&self) -> Option<DateTime<Utc>> {
        self.lock().sleepers.values().map(|(at, _)| *at).min()
    }
}

impl Clock for FakeClock {
    fn now(&self) -> DateTime<Utc> {
        self.lock().now
    }

    fn sleep_until(&self, at: DateTime<Utc>) -> Sleep {
        Box::pin(FakeSleep { state: self.state.clone(), at, id: SLEEP_IDS.fetch_add(1, Ordering::Relaxed) })
    }
}

struct FakeSleep {
    state: Arc<Mutex<FakeState>>,
    at: DateTime<Utc>,
    id: u64,
}

impl Future for FakeSleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if state.now >= self.at {
            state.sleepers.remove(&self.id);
            return Poll::Ready(());
        }
        // Replaced on each poll: one entry per sleep, with its latest waker.
        state.sleepers.insert(self.id, (self.at, cx.waker().clone()));
        Poll::Pending
    }
}

impl Drop for FakeSleep {
    fn drop(&mut self) {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).sleepers.remove(&self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicBool;
    use std::task::Wake;

    #[test]
    fn fake_clock_moves_only_when_told_and_clones_share_time() {
        let start = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let clock = FakeClock::new(start);
        let other = clock.clone();
        assert_eq!(clock.now(), start);
        other.advance(Duration::hours(6));
        assert_eq!(clock.now(), start + Duration::hours(6));
    }

    struct Flag(AtomicBool);

    impl Wake for Flag {
        fn wake(self: Arc<Self>) {
            self.0.store(true, Ordering::SeqCst);
        }
    }

    #[test]
    fn a_sleep_ends_when_the_fake_clock_reaches_its_instant_and_not_before() {
        let start = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let clock = FakeClock::new(start);
        let flag = Arc::new(Flag(AtomicBool::new(false)));
        let waker = Waker::from(flag.clone());
        let mut cx = Context::from_waker(&waker);
        let mut sleep = clock.sleep_until(start + Duration::seconds(60));
        assert!(sleep.as_mut().poll(&mut cx).is_pending());
        assert!(sleep.as_mut().poll(&mut cx).is_pending(), "polled twice, still one sleeper");
        assert_eq!((clock.sleepers(), clock.next_wake()), (1, Some(start + Duration::seconds(60))));
        clock.advance(Duration::seconds(59));
        assert!(!flag.0.load(Ordering::SeqCst), "not woken a second early");
        assert!(sleep.as_mut().poll(&mut cx).is_pending());
        clock.advance(Duration::seconds(1));
        assert!(flag.0.load(Ordering::SeqCst), "woken when its instant comes");
        assert!(sleep.as_mut().poll(&mut cx).is_ready());
        assert_eq!(clock.sleepers(), 0);
        // An instant already past: ready at once; a dropped sleep leaves nothing behind.
        assert!(clock.sleep_until(start).as_mut().poll(&mut cx).is_ready());
        let mut dropped = clock.sleep_until(start + Duration::hours(1));
        assert!(dropped.as_mut().poll(&mut cx).is_pending());
        drop(dropped);
        assert_eq!(clock.sleepers(), 0);
    }
}

//! When to ask `Expect: 100-continue`: only where the wait can still save a body, learned from
//! the server the client talks to.
//!
//! `Expect` exists so that a server can refuse a large body (a bad key, no credits, too large)
//! before it is sent. It costs a round trip when the server answers `100 Continue`, and the whole
//! wait when it never does. A client talks to one origin (its base URL's scheme, host and port,
//! through a proxy or not), so what it learns there is kept for the client's life, shared by its
//! clones, the pool's connections and `upload_all`'s workers:
//! - a server that let the wait run out (no `100 Continue`, no answer, so the body went anyway)
//!   ignores `Expect`: it is not asked again;
//! - once a body was accepted, a body no larger than the largest accepted is not asked about (the
//!   key and the size are known to pass); a larger one is (a 413 is still possible there);
//! - a refusal at the headers teaches nothing: the next large body asks again.
//!
//! One request asks at a time: while it waits, the others (`upload_all`'s workers) go without
//! asking, so a server that ignores `Expect` costs one wait in all, not one per worker.
//!
//! A server that was not asked can still refuse early; the transport's write-failure path hears
//! it (see `transport.rs`).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};

use crate::config::EXPECT_ABOVE;

/// What the client learned about its server's handling of `Expect`. Each fact stands alone, so
/// plain atomics hold them: at worst a request races another's lesson and asks once more.
#[derive(Debug, Default)]
pub(crate) struct ExpectMemory {
    /// The server let a wait run out.
    ignores: AtomicBool,
    /// The largest body the server accepted (0 when none was).
    largest_accepted: AtomicU64,
    /// A request is asking now.
    asking: AtomicBool,
}

/// A request that asks `Expect`; while it lives no other does.
#[derive(Debug)]
pub(crate) struct Asking<'a>(&'a ExpectMemory);

impl Asking<'_> {
    /// Notes that the body went without `100 Continue` or an answer: the server let the wait
    /// run out, so it ignores `Expect`. (A request that was answered just ends.)
    pub(crate) fn wait_ran_out(self) {
        self.0.ignores.store(true, Relaxed);
    }
}

impl Drop for Asking<'_> {
    fn drop(&mut self) {
        self.0.asking.store(false, Relaxed);
    }
}

impl ExpectMemory {
    /// Whether a body of `length` bytes (`None`: unknown, chunked) should ask: `Some` while it
    /// does.
    pub(crate) fn ask(&self, length: Option<u64>) -> Option<Asking<'_>> {
        let largest = self.largest_accepted.load(Relaxed);
        // Never a small body, nor one no larger than the largest accepted (the key and the size
        // are known to pass); never a server that ignores `Expect`; one request at a time.
        if length.is_some_and(|n| n <= EXPECT_ABOVE.max(largest)) || self.ignores.load(Relaxed) {
            return None;
        }
        self.asking
            .compare_exchange(false, true, Relaxed, Relaxed)
            .ok()?;
        Some(Asking(self))
    }

    /// Notes that the server accepted a body of `length` bytes.
    pub(crate) fn accepted(&self, length: Option<u64>) {
        if let Some(n) = length {
            self.largest_accepted.fetch_max(n, Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BIG: u64 = 2 << 20;

    impl ExpectMemory {
        fn should_ask(&self, length: Option<u64>) -> bool {
            self.ask(length).is_some()
        }
    }

    #[test]
    fn small_bodies_never_ask_and_large_ones_ask_at_first() {
        let memory = ExpectMemory::default();
        assert!(!memory.should_ask(Some(EXPECT_ABOVE)));
        assert!(memory.should_ask(Some(BIG)));
        assert!(memory.should_ask(None));
    }

    #[test]
    fn one_asks_at_a_time() {
        let memory = ExpectMemory::default();
        let asking = memory.ask(Some(BIG)).unwrap();
        assert!(!memory.should_ask(Some(BIG)));
        drop(asking); // answered
        assert!(memory.should_ask(Some(BIG)));
    }

    #[test]
    fn a_server_that_let_the_wait_run_out_is_not_asked_again() {
        let memory = ExpectMemory::default();
        memory.ask(Some(BIG)).unwrap().wait_ran_out();
        assert!(!memory.should_ask(Some(BIG * 100)));
        assert!(!memory.should_ask(None));
    }

    #[test]
    fn an_accepted_size_is_not_asked_about_again_a_larger_one_is() {
        let memory = ExpectMemory::default();
        drop(memory.ask(Some(BIG)).unwrap()); // answered
        memory.accepted(Some(BIG));
        assert!(!memory.should_ask(Some(BIG)));
        assert!(!memory.should_ask(Some(BIG - 1)));
        assert!(memory.should_ask(Some(BIG + 1)));
        assert!(memory.should_ask(None), "an unknown length may be larger");
        memory.accepted(Some(BIG / 2));
        assert!(!memory.should_ask(Some(BIG)), "the largest accepted counts");
    }

    #[test]
    fn a_refusal_at_the_headers_keeps_asking() {
        let memory = ExpectMemory::default();
        drop(memory.ask(Some(BIG)).unwrap()); // answered
        assert!(memory.should_ask(Some(BIG)));
    }
}

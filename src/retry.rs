//! The retry policy: when a failure worth it ([`Error::is_retryable`]) is tried again, how long to
//! wait (a server's `Retry-After` read here too), and the attempts recorded beside the error.

use std::thread;
use std::time::Duration;

use crate::observe::{emit, Event, EventFn};
use crate::random::random_u64;
use crate::{Error, NotRetried};

/// The longest wait a `Retry-After` header can impose.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(30);

/// The longest backoff between two attempts without a `Retry-After`.
const MAX_BACKOFF: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Copy)]
pub(crate) struct RetryPolicy {
    /// Retries after the first attempt.
    pub retries: u32,
    /// The first backoff; each later one doubles, up to [`MAX_BACKOFF`].
    pub backoff: Duration,
}

impl RetryPolicy {
    /// Runs `attempt` (given its number, from 1) until it succeeds, fails with an error not worth
    /// retrying, or the retries run out. `cannot_repeat` says why the upload may not be sent again,
    /// if it may not. Each retry is announced to `events` with its wait.
    pub(crate) fn run<T>(
        &self,
        cannot_repeat: Option<NotRetried>,
        events: &mut Option<EventFn<'_>>,
        mut attempt: impl FnMut(u32, &mut Option<EventFn<'_>>) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let mut attempts = 0u32;
        loop {
            attempts += 1;
            let error = match attempt(attempts, events) {
                Ok(done) => return Ok(done),
                Err(error) => error,
            };
            if !error.is_retryable() {
                return Err(error.after_attempts(attempts, None));
            }
            if let Some(why) = cannot_repeat {
                return Err(error.after_attempts(attempts, Some(why)));
            }
            // Waiting the cap and retrying anyway would only fail again: say so at once.
            if error
                .retry_after()
                .is_some_and(|wait| wait > MAX_RETRY_AFTER)
            {
                return Err(error.after_attempts(attempts, Some(NotRetried::WaitTooLong)));
            }
            if attempts > self.retries {
                return Err(error.after_attempts(attempts, Some(NotRetried::OutOfRetries)));
            }
            let wait = self.delay(attempts, error.retry_after());
            emit(
                events,
                Event::Retry {
                    attempt: attempts,
                    error: &error,
                    wait,
                },
            );
            thread::sleep(wait);
        }
    }

    /// The wait after the `failures`-th failure: the server's `Retry-After` (up to 30 s) when it sent
    /// one, else exponential backoff with jitter (between half and all of `backoff * 2^(n-1)`).
    fn delay(&self, failures: u32, retry_after: Option<Duration>) -> Duration {
        if let Some(wait) = retry_after {
            return wait.min(MAX_RETRY_AFTER);
        }
        let exp = self
            .backoff
            .saturating_mul(1 << failures.saturating_sub(1).min(16))
            .min(MAX_BACKOFF);
        exp / 2 + exp.mul_f64(jitter() / 2.0)
    }
}

/// A number in [0, 1).
fn jitter() -> f64 {
    (random_u64() >> 11) as f64 / (1u64 << 53) as f64
}

/// Reads a `Retry-After` value in whole seconds. Its other form, an HTTP date (`Sun, 06 Nov 1994
/// 08:49:37 GMT`), is not read: a service that sends one gets the backoff, as with no header.
pub(crate) fn parse_retry_after(value: &str) -> Option<Duration> {
    value.trim().parse().ok().map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;
    use std::cell::Cell;

    fn policy(retries: u32) -> RetryPolicy {
        RetryPolicy {
            retries,
            backoff: Duration::from_millis(1),
        }
    }

    fn unavailable() -> Error {
        Error::new(ErrorKind::Http {
            status: 503,
            excerpt: String::new(),
        })
    }

    #[test]
    fn retries_until_success_and_says_so() {
        let calls = Cell::new(0);
        let mut seen = Vec::new();
        let mut hook: Option<EventFn<'_>> = Some(Box::new(|e: &Event<'_>| {
            if let Event::Retry { attempt, wait, .. } = e {
                seen.push((*attempt, *wait));
            }
        }));
        let result = policy(2).run(None, &mut hook, |n, _| {
            calls.set(n);
            if n < 3 {
                Err(unavailable())
            } else {
                Ok(7)
            }
        });
        drop(hook);
        assert_eq!(result.unwrap(), 7);
        assert_eq!(calls.get(), 3);
        assert_eq!(seen.iter().map(|s| s.0).collect::<Vec<_>>(), [1, 2]);
    }

    #[test]
    fn gives_up_with_the_count_and_the_cause() {
        let err = policy(2)
            .run(None, &mut None, |_, _| -> Result<(), _> {
                Err(unavailable())
            })
            .unwrap_err();
        assert_eq!(err.attempts(), 3);
        assert_eq!(err.not_retried(), Some(NotRetried::OutOfRetries));
        assert!(matches!(err.kind(), ErrorKind::Http { status: 503, .. }));
    }

    #[test]
    fn does_not_retry_a_refusal() {
        let calls = Cell::new(0);
        let err = policy(5)
            .run(None, &mut None, |n, _| -> Result<(), _> {
                calls.set(n);
                Err(Error::new(ErrorKind::Service {
                    status: 401,
                    code: 401,
                    msg: String::new(),
                }))
            })
            .unwrap_err();
        assert_eq!(calls.get(), 1);
        assert_eq!(err.not_retried(), None);
        assert!(matches!(err.kind(), ErrorKind::Service { code: 401, .. }));
    }

    #[test]
    fn says_why_a_source_is_not_repeated() {
        let calls = Cell::new(0);
        let err = policy(2)
            .run(
                Some(NotRetried::SourceNotRepeatable),
                &mut None,
                |n, _| -> Result<(), _> {
                    calls.set(n);
                    Err(unavailable())
                },
            )
            .unwrap_err();
        assert_eq!(calls.get(), 1);
        assert_eq!(err.not_retried(), Some(NotRetried::SourceNotRepeatable));
    }

    #[test]
    fn backoff_grows_with_jitter_and_honours_retry_after() {
        let p = RetryPolicy {
            retries: 5,
            backoff: Duration::from_millis(400),
        };
        for n in 1..=4u32 {
            let full = Duration::from_millis(400 * (1 << (n - 1)));
            let d = p.delay(n, None);
            assert!(d >= full / 2 && d <= full, "{n}: {d:?}");
        }
        assert!(p.delay(30, None) <= MAX_BACKOFF);
        assert_eq!(
            p.delay(1, Some(Duration::from_secs(3))),
            Duration::from_secs(3)
        );
        assert_eq!(p.delay(1, Some(Duration::from_secs(3600))), MAX_RETRY_AFTER);
    }

    /// Issue 24 item 12: a server that asks for more than the cap is not waited for at all.
    #[test]
    fn a_wait_past_the_cap_is_not_waited_for() {
        let calls = Cell::new(0);
        let err = policy(5)
            .run(None, &mut None, |n, _| -> Result<(), _> {
                calls.set(n);
                Err(unavailable().with_retry_after(Some(MAX_RETRY_AFTER * 2)))
            })
            .unwrap_err();
        assert_eq!(calls.get(), 1);
        assert_eq!(err.not_retried(), Some(NotRetried::WaitTooLong));
        assert_eq!(err.retry_after(), Some(MAX_RETRY_AFTER * 2));
    }

    #[test]
    fn reads_retry_after_in_seconds_only() {
        assert_eq!(parse_retry_after(" 5 "), Some(Duration::from_secs(5)));
        for absent in ["Sun, 06 Nov 1994 08:49:37 GMT", "soon", "-3", "1.5", ""] {
            assert_eq!(parse_retry_after(absent), None, "{absent}");
        }
    }
}

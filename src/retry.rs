//! The retry policy: which failures are tried again, how long to wait, and the error after the last
//! attempt.

use std::thread;
use std::time::{Duration, SystemTime};

use crate::random::random_u64;
use crate::{time, Error};

/// The longest wait a `Retry-After` header can impose.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(30);

/// The longest backoff between two attempts without a `Retry-After`.
const MAX_BACKOFF: Duration = Duration::from_secs(10);

/// A failed attempt: the error, and the wait the server asked for.
#[derive(Debug)]
pub(crate) struct Failed {
    pub error: Error,
    pub retry_after: Option<Duration>,
}

impl From<Error> for Failed {
    fn from(error: Error) -> Self {
        Failed {
            error,
            retry_after: None,
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct RetryPolicy {
    /// Retries after the first attempt.
    pub retries: u32,
    /// The first backoff; each later one doubles, up to [`MAX_BACKOFF`].
    pub backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            retries: 2,
            backoff: Duration::from_millis(500),
        }
    }
}

impl RetryPolicy {
    /// Runs `attempt` until it succeeds, fails with an error not worth retrying, or the retries run
    /// out. `repeatable` says whether the upload may be sent again, and if not, why.
    pub(crate) fn run<T>(
        &self,
        repeatable: Result<(), &'static str>,
        mut attempt: impl FnMut() -> Result<T, Failed>,
    ) -> Result<T, Error> {
        let mut attempts = 0u32;
        loop {
            attempts += 1;
            let Failed { error, retry_after } = match attempt() {
                Ok(done) => return Ok(done),
                Err(failed) => failed,
            };
            let wrap = |error, not_retried| Error::Retries {
                attempts,
                not_retried,
                last: Box::new(error),
            };
            if !error.is_retryable() || self.retries == 0 {
                return Err(if attempts > 1 {
                    wrap(error, None)
                } else {
                    error
                });
            }
            if let Err(why) = repeatable {
                return Err(wrap(error, Some(why)));
            }
            if attempts > self.retries {
                return Err(wrap(error, None));
            }
            thread::sleep(self.delay(attempts, retry_after));
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

/// Reads a `Retry-After` value: whole seconds, or an HTTP date (`Sun, 06 Nov 1994 08:49:37 GMT`).
pub(crate) fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = time::parse_http_date(value)?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    fn policy(retries: u32) -> RetryPolicy {
        RetryPolicy {
            retries,
            backoff: Duration::from_millis(1),
        }
    }

    fn unavailable() -> Failed {
        Error::Http {
            status: 503,
            excerpt: String::new(),
        }
        .into()
    }

    #[test]
    fn retries_until_success() {
        let calls = Cell::new(0);
        let result = policy(2).run(Ok(()), || {
            calls.set(calls.get() + 1);
            if calls.get() < 3 {
                Err(unavailable())
            } else {
                Ok(7)
            }
        });
        assert_eq!(result.unwrap(), 7);
        assert_eq!(calls.get(), 3);
    }

    #[test]
    fn gives_up_with_the_count_and_the_last_error() {
        let calls = Cell::new(0);
        let err = policy(2)
            .run(Ok(()), || -> Result<(), _> {
                calls.set(calls.get() + 1);
                Err(unavailable())
            })
            .unwrap_err();
        assert_eq!(calls.get(), 3);
        assert_eq!(err.attempts(), 3);
        assert!(matches!(err.last(), Error::Http { status: 503, .. }));
    }

    #[test]
    fn does_not_retry_a_refusal() {
        let calls = Cell::new(0);
        let err = policy(5)
            .run(Ok(()), || -> Result<(), _> {
                calls.set(calls.get() + 1);
                Err(Error::Service {
                    status: 401,
                    code: 401,
                    msg: String::new(),
                }
                .into())
            })
            .unwrap_err();
        assert_eq!(calls.get(), 1);
        assert!(matches!(err, Error::Service { code: 401, .. }));
    }

    #[test]
    fn says_why_a_plain_reader_is_not_retried() {
        let calls = Cell::new(0);
        let err = policy(2)
            .run(Err("a plain reader"), || -> Result<(), _> {
                calls.set(calls.get() + 1);
                Err(unavailable())
            })
            .unwrap_err();
        assert_eq!(calls.get(), 1);
        assert!(
            err.to_string().ends_with("(not retried: a plain reader)"),
            "{err}"
        );
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

    #[test]
    fn reads_retry_after() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_767);
        assert_eq!(parse_retry_after(" 5 ", now), Some(Duration::from_secs(5)));
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now),
            Some(Duration::from_secs(10))
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-3", now), None);
    }
}

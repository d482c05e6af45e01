//! The retry policy: which failures are tried again, how long to wait (a server's `Retry-After`
//! read here too), and how the error after the last attempt says what happened.

use std::thread;
use std::time::{Duration, SystemTime};

use crate::observe::{emit, Event, EventFn};
use crate::random::random_u64;
use crate::time;
use crate::{Error, ErrorKind, NotRetried};

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

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            retries: 2,
            backoff: Duration::from_millis(500),
        }
    }
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

/// Reads a `Retry-After` value: whole seconds, or an HTTP date (`Sun, 06 Nov 1994 08:49:37 GMT`).
pub(crate) fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = time::parse_http_date(value)?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

impl Error {
    /// Whether trying the same upload again may succeed. This is the one statement of the retry
    /// rules; the rest of the documentation links here.
    ///
    /// Worth retrying:
    /// - a connection that could not be opened or broke ([`ErrorKind::Transport`]): refused,
    ///   reset, closed early, or answered before the whole body was sent; but not a URL or proxy
    ///   URL that does not parse, or an `https`-only refusal;
    /// - a stall or timeout ([`ErrorKind::Timeout`]);
    /// - a proxy ([`ErrorKind::Proxy`]) that refused the connection or timed out, or failed to
    ///   open the tunnel with a gateway error (502, 503, 504) or no answer; not a proxy that
    ///   refused the tunnel (407, 403, a SOCKS refusal of its credentials), nor one whose name
    ///   does not resolve;
    /// - the service's envelope ([`ErrorKind::Service`]) whose `code` is 429 (rate limited), 455
    ///   (maintenance), 500, 502, 503 or 504, whether the code came in an HTTP 200 body or, when
    ///   the body has none, as the HTTP status; a refusal code inside an error status (401 in a
    ///   503) is not retried, nor is code 0 (a refusal that gives no code);
    /// - a reply that is not the service's JSON ([`ErrorKind::Http`], a proxy's or CDN's page)
    ///   with HTTP status 429, 455, 500, 502, 503 or 504.
    ///
    /// Never retried: any other status or code (among them 400, 401, 402, 413, 501 and 505), a
    /// redirect, a reply that cannot be read, a refused chunked body, a host name that does not
    /// resolve ([`ErrorKind::HostNotFound`]), a TLS failure, a size mismatch, a cancellation, a
    /// local error or bad input.
    ///
    /// A retryable failure is tried again only when the upload can be repeated safely: its source
    /// can be read again (a regular file, bytes, a seekable reader, a spooled reader; not a plain
    /// reader, a pipe or a device) and it has a file name (a repeat without one could store a
    /// second copy); else [`not_retried`](Error::not_retried) says why not. Up to
    /// [`ClientBuilder::retries`](crate::ClientBuilder::retries) retries (default 2) are made;
    /// each waits for the server's `Retry-After` ([`retry_after`](Error::retry_after)) up to 30 s
    /// when it sent one, else for an exponential backoff with jitter from
    /// [`ClientBuilder::retry_backoff`](crate::ClientBuilder::retry_backoff) (default 500 ms,
    /// doubling, at most 10 s).
    ///
    /// ```
    /// # use kie_upload::{Client, Upload};
    /// # use kie_upload_emulator::{Config, Emulator, Fault};
    /// # let emu = Emulator::start(Config::new("key"))?;
    /// let client = Client::builder().api_key("key").base_url(emu.base_url()).no_proxy().retries(0).build()?;
    /// emu.inject(Fault::BodyCode { code: 455, retry_after: None }, 1); // maintenance
    /// assert!(client.upload(Upload::bytes(b"hi", "notes").file_name("hi.txt")).unwrap_err().is_retryable());
    /// emu.inject(Fault::BodyCode { code: 402, retry_after: None }, 1); // out of credits
    /// assert!(!client.upload(Upload::bytes(b"hi", "notes").file_name("hi.txt")).unwrap_err().is_retryable());
    /// # Ok::<_, Box<dyn std::error::Error>>(())
    /// ```
    pub fn is_retryable(&self) -> bool {
        match self.kind() {
            ErrorKind::Transport | ErrorKind::Proxy { .. } => self.is_transient(),
            ErrorKind::Timeout => true,
            ErrorKind::Service { status, code, .. } => {
                retryable_status(*code) || (*code == *status && retryable_status(*status))
            }
            ErrorKind::Http { status, .. } => retryable_status(*status),
            _ => false,
        }
    }
}

/// The statuses and body codes worth retrying: see [`Error::is_retryable`].
pub(crate) fn retryable_status(code: u16) -> bool {
    matches!(code, 429 | 455 | 500 | 502 | 503 | 504)
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
        assert!(
            err.to_string()
                .contains("(not retried: the source is a reader"),
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

    fn service(status: u16, code: u16) -> Error {
        Error::new(ErrorKind::Service {
            status,
            code,
            msg: "m".into(),
        })
    }

    #[test]
    fn retryable_causes() {
        assert!(service(200, 429).is_retryable());
        assert!(service(200, 455).is_retryable());
        assert!(service(503, 503).is_retryable());
        assert!(!service(200, 401).is_retryable());
        assert!(!service(400, 400).is_retryable());
        // A refusal inside a 503 envelope is still a refusal.
        assert!(!service(503, 401).is_retryable());
        // An envelope without a code is a refusal that says nothing more: not retried.
        assert!(!service(200, 0).is_retryable());
        let http = |status| {
            Error::new(ErrorKind::Http {
                status,
                excerpt: String::new(),
            })
        };
        assert!(http(502).is_retryable());
        assert!(!http(413).is_retryable());
        // As is_retryable states them: 429, 455, 500, 502-504; never 501 or 505.
        for code in [429, 455, 500, 502, 503, 504] {
            assert!(http(code).is_retryable(), "{code}");
            assert!(service(200, code).is_retryable(), "{code}");
            assert!(service(code, code).is_retryable(), "{code}");
        }
        for code in [400, 401, 402, 404, 411, 413, 417, 422, 501, 505] {
            assert!(!http(code).is_retryable(), "{code}");
            assert!(!service(200, code).is_retryable(), "{code}");
        }
        assert!(!Error::invalid("x").is_retryable());
        assert!(!Error::new(ErrorKind::Cancelled).is_retryable());
        assert!(
            Error::transport(ureq::Error::Io(std::io::ErrorKind::ConnectionReset.into()))
                .is_retryable()
        );
        assert!(!Error::transport(ureq::Error::HostNotFound).is_retryable());
        assert!(
            Error::transport(ureq::Error::Io(std::io::ErrorKind::TimedOut.into())).is_timeout()
        );
    }
}

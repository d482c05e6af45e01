//! Unit tests of `error`.

use super::*;

fn service(status: u16, code: u16) -> Error {
    Error::new(ErrorKind::Service {
        status,
        code,
        msg: "m".into(),
    })
}

#[test]
fn error_stays_small() {
    // Every upload's result carries this type; keep it one pointer.
    assert_eq!(std::mem::size_of::<Error>(), std::mem::size_of::<usize>());
}

#[test]
fn context_beside_the_kind() {
    let e = service(503, 503).after_attempts(3, Some(NotRetried::OutOfRetries));
    assert_eq!(e.attempts(), 3);
    assert!(matches!(e.kind(), ErrorKind::Service { code: 503, .. }));
    assert!(e.to_string().ends_with("(gave up after 3 attempts)"), "{e}");
    let e = service(503, 503).after_attempts(1, Some(NotRetried::SourceNotRepeatable));
    assert!(
        e.to_string().ends_with(
            "(not retried: the source is a reader, pipe or device, which cannot be read twice)"
        ),
        "{e}"
    );
    assert_eq!(Error::invalid("x").after_attempts(1, None).attempts(), 0);
}

#[test]
fn display_does_not_repeat_the_source() {
    let missing = io::Error::new(io::ErrorKind::NotFound, "No such file or directory");
    let e = Error::io(Some(Path::new("/x/a.jpg")), missing);
    assert_eq!(e.to_string(), "cannot read /x/a.jpg");
    let source = std::error::Error::source(&e).unwrap().to_string();
    assert_eq!(source, "No such file or directory");
    assert_eq!(
        e.io_error().map(io::Error::kind),
        Some(io::ErrorKind::NotFound)
    );
    assert_eq!(io::Error::from(e).kind(), io::ErrorKind::NotFound);
}

#[test]
fn the_socket_s_io_error_is_reachable_and_kept() {
    let reset = || Error::transport(ureq::Error::Io(io::ErrorKind::ConnectionReset.into()));
    assert_eq!(
        reset().io_error().map(io::Error::kind),
        Some(io::ErrorKind::ConnectionReset)
    );
    assert_eq!(
        io::Error::from(reset()).kind(),
        io::ErrorKind::ConnectionReset
    );
    assert!(Error::transport(ureq::Error::HostNotFound)
        .io_error()
        .is_none());
    assert!(Error::invalid("x").io_error().is_none());
}

//! Unit tests of `upload`.

use super::*;
use crate::{Error, ErrorKind};

fn is_invalid(result: Result<impl fmt::Debug, Error>) -> bool {
    matches!(
        result.as_ref().map_err(Error::kind),
        Err(ErrorKind::InvalidInput { .. })
    )
}

#[test]
fn file_name_defaults_to_the_path() {
    let name = |u: Upload<'_>| u.names().map(|(_, name)| name);
    assert_eq!(
        name(Upload::file("dir/photo.jpg", "p")).unwrap(),
        Some("photo.jpg".into())
    );
    assert_eq!(
        name(Upload::file("dir/photo.jpg", "p").file_name("b.png")).unwrap(),
        Some("b.png".into())
    );
    assert_eq!(name(Upload::bytes(b"x", "p")).unwrap(), None);
    assert!(is_invalid(name(Upload::file("..", "p"))));
}

#[cfg(unix)]
#[test]
fn a_name_that_is_not_utf8_needs_an_explicit_one() {
    use std::os::unix::ffi::OsStrExt;
    let path = Path::new(std::ffi::OsStr::from_bytes(b"dir/caf\xe9.txt"));
    let err = Upload::file(path, "p").names().err().unwrap();
    assert!(err.to_string().contains("not UTF-8"), "{err}");
    let (_, name) = Upload::file(path, "p")
        .file_name("cafe.txt")
        .names()
        .unwrap();
    assert_eq!(name.as_deref(), Some("cafe.txt"));
}

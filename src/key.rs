//! The API key: where it is set (in code, in a variable, in a file), read when the client is
//! built, and checked; its errors say where it came from ([`Error::setting`]).

use std::fmt;
use std::path::PathBuf;

use crate::Error;

/// The API key setting, and where it came from.
#[derive(Clone, Default)]
pub(crate) enum KeySetting {
    #[default]
    Unset,
    /// A key, and the variable that held it (`None`: given in code).
    Value(String, Option<&'static str>),
    File(PathBuf),
    /// Both `KIE_API_KEY` and `KIE_API_KEY_FILE` were set: an error unless a key is given in code.
    Conflict,
}

impl KeySetting {
    /// The key, read from its file when it is in one, and where it was set: the variable's name or
    /// the file's path (`None`: in code, or nowhere).
    pub(crate) fn resolve(self) -> Result<(String, Option<String>), Error> {
        match self {
            KeySetting::Value(key, var) => Ok((key, var.map(str::to_owned))),
            KeySetting::File(path) => {
                let setting = path.display().to_string();
                let key = crate::local_file::read_key(&path);
                Ok((
                    key.map_err(|e| e.with_setting(Some(&setting)))?,
                    Some(setting),
                ))
            }
            KeySetting::Conflict => Err(Error::api_key(
                "both KIE_API_KEY and KIE_API_KEY_FILE are set",
            )),
            KeySetting::Unset => Ok((String::new(), None)),
        }
    }
}

impl fmt::Debug for KeySetting {
    /// Never the key itself.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeySetting::Unset => f.write_str("unset"),
            KeySetting::Value(..) => f.write_str("<redacted>"),
            KeySetting::File(path) => write!(f, "from {}", path.display()),
            KeySetting::Conflict => f.write_str("both KIE_API_KEY and KIE_API_KEY_FILE"),
        }
    }
}

/// Refuses a missing key, and a key that cannot be one, naming where it was set.
pub(crate) fn check(key: &str, setting: Option<&str>) -> Result<(), Error> {
    let refuse = |reason| Err(Error::api_key(reason).with_setting(setting));
    if key.trim().is_empty() {
        return refuse("missing API key");
    }
    // Never echo the key: it may be a real one with a stray newline.
    if key.chars().any(|c| c.is_control() || !c.is_ascii()) {
        return refuse("the API key holds a control or non-ASCII character (a stray newline?)");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_errors_do_not_echo_the_key() {
        let err = check("sk-secret\n", None).unwrap_err();
        assert!(matches!(err.kind(), crate::ErrorKind::ApiKey { .. }));
        assert!(!err.to_string().contains("sk-secret"));
        assert!(check("  ", None).is_err());
        check("abc123", None).unwrap();
    }
}

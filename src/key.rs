//! The API key: where it is set (in code, in a variable, in a file), read when the client is
//! built, and checked with advice that names where it came from.

use std::path::PathBuf;

use crate::checks::check_api_key;
use crate::{Error, Hint, KeySource};

/// The API key setting, and where it came from.
#[derive(Clone, Default)]
pub(crate) enum KeySetting {
    #[default]
    Unset,
    Value(String, KeySource),
    File(PathBuf, Option<&'static str>),
    /// Both `KIE_API_KEY` and `KIE_API_KEY_FILE` were set: an error unless a key is given in code.
    Conflict,
}

impl KeySetting {
    /// The key, read from its file when it is in one, and where it came from. `looked_in_env`
    /// says whether the environment was read for it, for the advice when none is set.
    pub(crate) fn resolve(self, looked_in_env: bool) -> Result<(String, KeyOrigin), Error> {
        let (api_key, key_source) = match self {
            KeySetting::Value(key, source) => (key, Some(source)),
            KeySetting::File(path, var) => {
                let source = KeySource::file(path.clone(), var);
                let key = crate::local_file::read_key(&path).map_err(|e| {
                    e.with_hint(Hint::CheckApiKey {
                        source: source.clone(),
                    })
                })?;
                (key, Some(source))
            }
            KeySetting::Conflict => {
                return Err(
                    Error::invalid("both KIE_API_KEY and KIE_API_KEY_FILE are set")
                        .with_hint(Hint::ChooseOneApiKey),
                )
            }
            KeySetting::Unset => (String::new(), None),
        };
        let key = KeyOrigin {
            source: key_source,
            looked_in_env,
        };
        Ok((api_key, key))
    }

    /// The setting as `Debug` shows it: never the key itself.
    pub(crate) fn describe(&self) -> String {
        match self {
            KeySetting::Unset => "unset".to_owned(),
            KeySetting::Value(..) => "<redacted>".to_owned(),
            KeySetting::File(path, _) => format!("from {}", path.display()),
            KeySetting::Conflict => "both KIE_API_KEY and KIE_API_KEY_FILE".to_owned(),
        }
    }
}

/// Where a client's key came from, and where it was looked for.
#[derive(Debug, Clone)]
pub(crate) struct KeyOrigin {
    source: Option<KeySource>,
    looked_in_env: bool,
}

impl KeyOrigin {
    /// Where the key came from, when one was set.
    pub(crate) fn source(&self) -> Option<&KeySource> {
        self.source.as_ref()
    }

    /// Refuses a missing key, and a key that cannot be one, with advice on where to fix it.
    pub(crate) fn check(&self, key: &str) -> Result<(), Error> {
        check_api_key(key).map_err(|e| {
            e.with_hint(match (key.trim().is_empty(), &self.source) {
                (false, Some(source)) => Hint::CheckApiKey {
                    source: source.clone(),
                },
                _ => Hint::SetApiKey {
                    looked_in_env: self.looked_in_env,
                },
            })
        })
    }
}

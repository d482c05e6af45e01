//! The client the uploads go through: the library's own reading of the environment, then this
//! tool's flags, which win.

use std::time::Duration;

use kie_upload::{Client, UploadCache};

use crate::args::{Options, ProxyFlag, Usage};
use crate::words::explain;

/// The client: the environment's settings (`KIE_API_KEY` or `KIE_API_KEY_FILE`, `KIE_BASE_URL`,
/// `SSL_CERT_FILE`, the proxy variables), then the flags, which win.
pub(crate) fn build_client(o: &Options) -> Result<Client, Usage> {
    let mut builder = Client::builder().with_env().retries(o.retries);
    if let Some(file) = &o.api_key_file {
        builder = builder.api_key_file(file);
    }
    if let Some(url) = &o.base_url {
        builder = builder.base_url(url.trim());
    }
    if let Some(file) = &o.cacert {
        builder = builder.root_certs_file(file);
    }
    builder = match &o.proxy {
        Some(ProxyFlag::Url(url)) => builder.proxy(url),
        Some(ProxyFlag::Off) => builder.no_proxy(),
        None => builder,
    };
    if o.allow_insecure_http {
        builder = builder.allow_insecure_http(true);
    }
    if o.no_expect {
        builder = builder.expect_continue(false);
    }
    if let Some(secs) = o.timeout {
        builder = builder.timeout(Duration::from_secs(secs));
    }
    if o.reuse {
        let cache = match &o.cache_dir {
            Some(dir) => UploadCache::new(dir),
            None => UploadCache::in_default_dir().map_err(|_| {
                Usage("--reuse: no cache folder (HOME is not set): use --cache-dir DIR".into())
            })?,
        };
        builder = builder.cache(cache);
    }
    let client = builder.build().map_err(|e| Usage(explain(&e)))?;
    crate::advice::set_base_url(client.base_url());
    Ok(client)
}

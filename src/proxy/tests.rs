//! Unit tests of `proxy`.

use super::*;

/// An environment of these variables, whose names are case-insensitive on `windows`.
fn env_on<'a>(
    windows: bool,
    vars: &'a [(&'a str, &'a str)],
) -> impl Fn(&str) -> Option<(String, OsString)> + 'a {
    move |name| {
        vars.iter()
            .find(|(n, _)| *n == name || (windows && n.eq_ignore_ascii_case(name)))
            .map(|(n, v)| (n.to_string(), OsString::from(v)))
    }
}

/// A Unix environment.
fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<(String, OsString)> + 'a {
    env_on(false, vars)
}

/// The proxy chosen (its URL) and the variable that set it.
fn chosen_on(
    windows: bool,
    https: bool,
    vars: &[(&str, &str)],
) -> Option<(String, Option<String>)> {
    from_env(https, windows, env_on(windows, vars))
        .unwrap()
        .map(|c| (c.about.url.unwrap(), c.about.var))
}

fn chosen(https: bool, vars: &[(&str, &str)]) -> Option<(String, Option<String>)> {
    chosen_on(false, https, vars)
}

/// The variable that set the proxy chosen.
fn var_on(windows: bool, https: bool, vars: &[(&str, &str)]) -> Option<String> {
    chosen_on(windows, https, vars).and_then(|(_, var)| var)
}

#[test]
fn variables_are_read_in_curl_s_order() {
    let all = [
        ("https_proxy", "http://a:1"),
        ("HTTPS_PROXY", "http://b:1"),
        ("all_proxy", "http://c:1"),
        ("ALL_PROXY", "http://d:1"),
        ("http_proxy", "http://e:1"),
        ("HTTP_PROXY", "http://f:1"),
    ];
    for skip in 0..4 {
        let (url, source) = chosen(true, &all[skip..]).unwrap();
        assert_eq!(source.as_deref(), Some(all[skip].0));
        assert_eq!(url, all[skip].1);
    }
    // HTTP_PROXY never counts, neither for https nor (as in curl) for http.
    assert_eq!(chosen(true, &all[4..]), None);
    assert_eq!(
        var_on(false, false, &all[4..]).as_deref(),
        Some("http_proxy")
    );
    assert_eq!(chosen(false, &all[5..]), None);
    // For http, https_proxy does not count either.
    assert_eq!(
        var_on(false, false, &all[..4]).as_deref(),
        Some("all_proxy")
    );
}

#[test]
fn on_windows_a_variable_is_named_as_the_user_spelled_it() {
    for https in [true, false] {
        for name in [
            "HTTPS_PROXY",
            "Https_Proxy",
            "ALL_PROXY",
            "All_Proxy",
            "all_proxy",
        ] {
            if !https && name.eq_ignore_ascii_case("https_proxy") {
                continue;
            }
            let vars = [(name, "http://p:1")];
            assert_eq!(var_on(true, https, &vars).as_deref(), Some(name), "{name}");
        }
    }
    let refused = from_env(true, true, env_on(true, &[("Https_Proxy", "http://")])).unwrap_err();
    assert!(
        refused.error().to_string().contains("Https_Proxy is not"),
        "{}",
        refused.error()
    );
}

#[test]
fn on_windows_http_proxy_counts_for_http_except_in_a_cgi_program() {
    // One variable there, whatever its case: honoured for http, as curl in effect honours it.
    let set = [("HTTP_PROXY", "http://p:1"), ("ALL_PROXY", "http://a:1")];
    assert_eq!(var_on(true, false, &set).as_deref(), Some("HTTP_PROXY"));
    assert_eq!(var_on(true, true, &set).as_deref(), Some("ALL_PROXY"));
    // In a CGI program it may be a request's `Proxy:` header: never read there (nor on Unix,
    // where only the lower-case spelling counts).
    let cgi = [
        ("REQUEST_METHOD", "GET"),
        ("HTTP_PROXY", "http://attacker:1"),
        ("ALL_PROXY", "http://a:1"),
    ];
    assert_eq!(var_on(true, false, &cgi).as_deref(), Some("ALL_PROXY"));
    assert_eq!(var_on(false, false, &cgi).as_deref(), Some("ALL_PROXY"));
    assert_eq!(var_on(true, false, &cgi[..2]), None);
    // Elsewhere than Windows, a CGI program's own lower-case http_proxy still counts, as in curl.
    let own = [("REQUEST_METHOD", "GET"), ("http_proxy", "http://p:1")];
    assert_eq!(var_on(false, false, &own).as_deref(), Some("http_proxy"));
}

#[test]
fn the_first_variable_set_decides_even_when_empty() {
    assert_eq!(
        chosen(true, &[("https_proxy", ""), ("ALL_PROXY", "http://d:1")]),
        None
    );
    let e = from_env(
        true,
        false,
        env(&[("https_proxy", " "), ("HTTPS_PROXY", "not a url")]),
    );
    assert!(e.unwrap().is_none());
}

#[test]
fn a_value_that_does_not_parse_is_refused_naming_the_variable() {
    for value in [
        "proxy.corp.example :3128",
        "ftp://proxy:21",
        "http://",
        "http://u:s3cret@bad host:1",
    ] {
        let refused = from_env(true, false, env(&[("HTTPS_PROXY", value)])).unwrap_err();
        let shown = refused.error().to_string();
        assert!(shown.contains("HTTPS_PROXY"), "{shown}");
        assert!(!shown.contains("s3cret"), "{shown}");
        assert_eq!(refused.about.var.as_deref(), Some("HTTPS_PROXY"));
    }
}

#[test]
fn credentials_are_masked() {
    let c = from_url("http://alice:s3cret@proxy.local:3128").unwrap();
    assert_eq!(c.about.url.as_deref(), Some("http://***@proxy.local:3128"));
    let c = from_url("proxy.local").unwrap();
    assert_eq!(c.about.url.as_deref(), Some("http://proxy.local:80"));
    // The proxy itself keeps them.
    assert_eq!(c.proxy.password(), None);
    let c = from_url("http://alice:s3cret@proxy.local:3128").unwrap();
    assert_eq!(c.proxy.password(), Some("s3cret"));
}

#[test]
fn no_proxy_means_the_domain_and_the_names_under_it() {
    let uri = |host: &str| format!("https://{host}/x").parse().unwrap();
    let c = from_env(
        true,
        false,
        env(&[
            ("HTTPS_PROXY", "http://u:pw@proxy:3128"),
            ("no_proxy", " internal.example, .corp ,::1,"),
        ]),
    )
    .unwrap()
    .unwrap();
    for host in [
        "internal.example",
        "a.internal.example",
        "corp",
        "x.corp",
        "[::1]",
    ] {
        assert!(c.proxy.is_no_proxy(&uri(host)), "{host}");
    }
    for host in ["kieai.redpandaai.co", "notinternal.example", "corp.x"] {
        assert!(!c.proxy.is_no_proxy(&uri(host)), "{host}");
    }
    // The rebuilt proxy keeps its credentials and where it points.
    assert_eq!(c.proxy.password(), Some("pw"));
    assert_eq!((c.proxy.host(), c.proxy.port()), ("proxy", 3128));
    let all = from_env(
        true,
        false,
        env(&[("HTTPS_PROXY", "http://proxy:3128"), ("NO_PROXY", "*")]),
    )
    .unwrap()
    .unwrap();
    assert!(all.proxy.is_no_proxy(&uri("anything.example")));
}

#[test]
fn socks_needs_its_feature() {
    for url in ["socks5://h:1080", "socks5h://h", "socks4://h", "socks://h"] {
        let result = from_url(url);
        if cfg!(feature = "socks") {
            assert!(result.is_ok(), "{url}");
        } else {
            let shown = result.unwrap_err().error().to_string();
            assert!(shown.contains("`socks`"), "{shown}");
        }
    }
}

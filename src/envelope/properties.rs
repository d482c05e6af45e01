//! Property tests of the envelope: replies in random shapes, and replies mangled byte by byte,
//! never pass as a success with a URL or a size the reply does not hold. The oracles here are
//! written apart from the rules they check, so that a bug in the parser cannot pass.

use serde_json::{Map, Value};

use super::parse;
use super::tests::{DOCUMENTED, QUICKSTART};
use crate::testing::Seeded;

/// Whether a reply's `code` says 200: the number (`200`, `200.0`), or its digits in a string,
/// white space around them and leading zeros allowed.
fn says_200(code: &Value) -> bool {
    match code {
        Value::Number(n) => n.as_f64() == Some(200.0),
        Value::String(s) => {
            let digits = s.trim();
            !digits.is_empty()
                && digits.bytes().all(|b| b.is_ascii_digit())
                && digits.trim_start_matches('0') == "200"
        }
        _ => false,
    }
}

/// Whether `url` is an absolute `http` or `https` URL (either case) with a host: something between
/// the `://` and the path, query or fragment, once user information and port are set aside.
fn has_http_host(url: &str) -> bool {
    let Some((scheme, rest)) = url.split_once("://") else {
        return false;
    };
    if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
        return false;
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host_port = authority.rsplit('@').next().unwrap_or("");
    let host = match host_port.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => host_port.split(':').next().unwrap_or(""),
    };
    !host.is_empty()
}

/// What a correct reader must make of `data` when the reply is a success: the URL (downloadUrl
/// wins, else fileUrl) and the reported size, or `None` when the data is unusable.
fn expected(data: &Map<String, Value>) -> Option<(String, Option<u64>)> {
    let url = match data.get("downloadUrl") {
        Some(Value::String(u)) if !u.is_empty() => u.clone(),
        Some(Value::Null | Value::String(_)) | None => match data.get("fileUrl") {
            Some(Value::String(u)) if !u.is_empty() => u.clone(),
            _ => return None,
        },
        Some(_) => return None,
    };
    if !has_http_host(&url) {
        return None;
    }
    let size = match data.get("fileSize") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) if n.as_u64().is_some() => n.as_u64(),
        Some(Value::Number(n)) => {
            let f = n.as_f64()?;
            (f >= 0.0 && f.fract() == 0.0 && f <= 9_007_199_254_740_992.0).then_some(f as u64)
        }
        Some(Value::String(s)) => {
            let t = s.trim();
            (!t.is_empty() && t.bytes().all(|b| b.is_ascii_digit())).then(|| t.parse().ok())?
        }
        Some(_) => return None,
    };
    Some((url, size))
}

#[test]
fn random_shapes_never_succeed_with_a_wrong_url_or_size() {
    let mut rng = Seeded(0x9e37_79b9_7f4a_7c15);
    let values = |rng: &mut Seeded, field: &str| -> Value {
        match rng.below(10) {
            0 => Value::Null,
            1 => Value::Bool(rng.below(2) == 0),
            2 => Value::from(rng.next_u64() % 5000),
            3 => Value::from((rng.next_u64() % 5000) as f64 + [0.0, 0.5][rng.below(2)]),
            4 => Value::from(-((rng.next_u64() % 50) as i64)),
            5 => Value::from((rng.next_u64() % 5000).to_string()),
            6 => Value::from(format!("https://h/{field}/{}", rng.below(100))),
            7 => Value::from(""),
            8 => Value::from(
                [
                    "http://",
                    "https:///etc/passwd",
                    "ftp://x/y",
                    "/r",
                    "HTTP://:1/x",
                ][rng.below(5)],
            ),
            _ => Value::Array(vec![]),
        }
    };
    let fields = [
        "fileName",
        "filePath",
        "downloadUrl",
        "fileUrl",
        "fileSize",
        "mimeType",
        "uploadedAt",
        "fileId",
        "originalName",
        "uploadPath",
        "uploadTime",
        "expiresAt",
    ];
    let mut successes = 0;
    for round in 0..20_000 {
        let base: Value = serde_json::from_str([DOCUMENTED, QUICKSTART][rng.below(2)]).unwrap();
        let mut reply = base.as_object().unwrap().clone();
        let data = reply.get_mut("data").unwrap().as_object_mut().unwrap();
        for field in fields {
            match rng.below(4) {
                0 => {
                    data.remove(field);
                }
                1 => {
                    data.insert(field.into(), values(&mut rng, field));
                }
                _ => {}
            }
        }
        let data = data.clone();
        match rng.below(6) {
            0 => {
                reply.remove("success");
            }
            1 => {
                reply.insert("success".into(), values(&mut rng, "success"));
            }
            2 => {
                reply.insert("code".into(), values(&mut rng, "code"));
            }
            3 => {
                reply.remove("code");
            }
            _ => {}
        }
        let body = Value::Object(reply.clone()).to_string();
        let status = [200u16, 201, 400, 401, 500][rng.below(5)];
        if let Ok((file, size)) = parse(status, &body, "p", "") {
            successes += 1;
            assert!((200..300).contains(&status), "round {round}: {body}");
            let success = reply.get("success");
            let code = reply.get("code").filter(|c| !c.is_null());
            assert!(
                (success == Some(&Value::Bool(true)) && code.is_none_or(says_200))
                    || (success.is_none() && code.is_some_and(says_200)),
                "round {round}: {body}"
            );
            let (url, want_size) = expected(&data)
                .unwrap_or_else(|| panic!("round {round}: unusable data passed: {body}"));
            assert_eq!(file.download_url, url, "round {round}: {body}");
            assert_eq!(size, want_size, "round {round}: {body}");
        }
    }
    assert!(
        successes > 1000,
        "{successes} successes: the test exercises too little"
    );
}

#[test]
fn mangled_replies_never_pass_as_success() {
    const TOKENS: &[&[u8]] = &[
        b"null",
        b"false",
        b"\"\"",
        b"{",
        b"}",
        b"[",
        b"]",
        b",",
        b":",
        b"0",
        b"-1",
        b"\"x\"",
        b"\xff",
        b"\\u0000",
        b"1e999",
        b"\"code\"",
        b"\"success\"",
    ];
    let mut rng = Seeded(0x5151_aaaa_0101_7777);
    for round in 0..5000 {
        let mut body = DOCUMENTED.as_bytes().to_vec();
        for _ in 0..rng.below(4) + 1 {
            let at = rng.below(body.len() + 1);
            match rng.below(3) {
                0 => body.truncate(at),
                1 => {
                    let token = TOKENS[rng.below(TOKENS.len())];
                    body.splice(at..at, token.iter().copied());
                }
                _ => {
                    if at < body.len() {
                        body[at] = rng.next_u64() as u8;
                    }
                }
            }
        }
        let status = [200u16, 201, 400, 401, 429, 500, 502][rng.below(7)];
        let text = String::from_utf8_lossy(&body);
        if let Ok((file, _)) = parse(status, &text, "p", "") {
            assert!((200..300).contains(&status), "round {round}");
            let v: Value = serde_json::from_str(&text).unwrap();
            let code_200 = v.get("code").is_some_and(says_200);
            match v.get("success") {
                Some(Value::Bool(true)) => {}
                None => assert!(code_200, "round {round}"),
                other => panic!("round {round}: success {other:?}"),
            }
            assert_eq!(
                v["data"]["downloadUrl"]
                    .as_str()
                    .filter(|u| !u.is_empty())
                    .or(v["data"]["fileUrl"].as_str()),
                Some(file.download_url.as_str()),
                "round {round}"
            );
        }
    }
}

//! The envelope's rules, one table per question: every documented shape, what is not a success,
//! errors by status, and what a success's download URL must be.

use super::*;

pub(super) const DOCUMENTED: &str = r#"{"success": true, "code": 200, "msg": "File uploaded successfully",
    "data": {"fileName": "uploaded-image.png", "filePath": "images/user-uploads/uploaded-image.png",
    "downloadUrl": "https://tempfile.redpandaai.co/xxx/images/user-uploads/uploaded-image.png",
    "fileSize": 154832, "mimeType": "image/png", "uploadedAt": "2025-01-01T12:00:00.000Z"}}"#;

pub(super) const QUICKSTART: &str = r#"{"success": true, "code": 200, "msg": "File uploaded successfully",
    "data": {"fileId": "abc123", "originalName": "photo.jpg", "uploadPath": "images/user-uploads",
    "fileUrl": "https://kieai.redpandaai.co/files/abc123",
    "downloadUrl": "https://kieai.redpandaai.co/download/abc123", "fileSize": 1000.0,
    "mimeType": "image/jpeg", "uploadTime": "2025-01-01T12:00:00.000Z",
    "expiresAt": "2025-01-02T12:00:00.000Z"}}"#;

fn ok(status: u16, body: &str) -> (UploadedFile, Option<u64>) {
    parse(status, body, "sent/path", "").unwrap_or_else(|e| panic!("{e:?}: {body}"))
}

fn err(status: u16, body: &str) -> ErrorKind {
    match parse(status, body, "sent/path", "") {
        Err(kind) => kind,
        Ok(file) => panic!("a success: {file:?} from {body}"),
    }
}

#[test]
fn every_documented_shape() {
    struct Row {
        body: &'static str,
        name: &'static str,
        path: &'static str,
        url: &'static str,
        size: Option<u64>,
        uploaded_at: &'static str,
        expires: &'static str,
    }
    let rows = [
        Row {
            body: DOCUMENTED,
            name: "uploaded-image.png",
            path: "images/user-uploads/uploaded-image.png",
            url: "https://tempfile.redpandaai.co/xxx/images/user-uploads/uploaded-image.png",
            size: Some(154832),
            uploaded_at: "2025-01-01T12:00:00.000Z",
            expires: "2025-01-04T12:00:00.000Z",
        },
        Row {
            body: QUICKSTART,
            name: "photo.jpg",
            path: "images/user-uploads/photo.jpg",
            url: "https://kieai.redpandaai.co/download/abc123",
            size: Some(1000),
            uploaded_at: "2025-01-01T12:00:00.000Z",
            expires: "2025-01-02T12:00:00.000Z",
        },
        // The alias page: fileUrl alone, fileId, expiresAt, the size as text, no envelope code.
        Row {
            body: r#"{"success":true,"data":{"fileUrl":"https://x/y.bin","fileId":"abc",
                "fileSize":"12","expiresAt":"2025-01-02T00:00:00Z","extra":[1,2]}}"#,
            name: "y.bin",
            path: "sent/path/y.bin",
            url: "https://x/y.bin",
            size: Some(12),
            uploaded_at: "",
            expires: "2025-01-02T00:00:00.000Z",
        },
        // success absent, code 200; a byte-order mark is taken off before parsing (by judge).
        Row {
            body: r#"{"code":"200","data":{"downloadUrl":"http://h/a","filePath":"p/a.txt"}}"#,
            name: "a.txt",
            path: "p/a.txt",
            url: "http://h/a",
            size: None,
            uploaded_at: "",
            expires: "",
        },
    ];
    for row in rows {
        let (file, size) = ok(200, row.body);
        assert_eq!(file.file_name, row.name, "{}", row.body);
        assert_eq!(file.file_path, row.path, "{}", row.body);
        assert_eq!(file.download_url, row.url, "{}", row.body);
        assert_eq!(size, row.size, "{}", row.body);
        assert_eq!(file.uploaded_at, row.uploaded_at, "{}", row.body);
        assert_eq!(
            file.expires_at_rfc3339().unwrap_or_default(),
            row.expires,
            "{}",
            row.body
        );
    }
}

#[test]
fn what_is_not_a_success() {
    let refusals = [
        (
            r#"{"success": false, "code": 401, "msg": "Unauthorized"}"#,
            401,
        ),
        (
            r#"{"success": "true", "code": 200, "data": {"downloadUrl": "https://x"}}"#,
            0,
        ),
        (r#"{"success": "false", "code": 200}"#, 0),
        (
            r#"{"success": true, "code": 402, "msg": "no credits", "data": {"downloadUrl": "https://x"}}"#,
            402,
        ),
        (r#"{"success": false, "code": 200, "msg": "odd"}"#, 0),
        (r#"{"success": false, "msg": "no code"}"#, 0),
        (
            r#"{"success": true, "code": "x", "data": {"downloadUrl": "https://x"}}"#,
            0,
        ),
        (r#"{"code": 500, "msg": "boom"}"#, 500),
    ];
    for (body, want) in refusals {
        match err(200, body) {
            ErrorKind::Service {
                status: 200, code, ..
            } => assert_eq!(code, want, "{body}"),
            other => panic!("{body}: {other:?}"),
        }
    }
    for bad in [
        r#"{"success": true, "code": 200}"#,
        r#"{"success": true, "data": {"downloadUrl": ""}}"#,
        r#"{"success": true, "data": {"downloadUrl": 5, "fileUrl": "https://x"}}"#,
        r#"{"success": true, "data": {"downloadUrl": "ftp://x/a"}}"#,
        r#"{"success": true, "data": {"downloadUrl": "https://x", "fileSize": 1000.5}}"#,
        r#"{"success": true, "data": {"downloadUrl": "https://x", "fileSize": -1}}"#,
        r#"{"success": true, "data": {"downloadUrl": "https://x", "fileSize": 1e999}}"#,
        r#"{"success": true, "data": {"downloadUrl": "https://x", "fileSize": 18446744073709551616}}"#,
        r#"{"success": true, "data": {"downloadUrl": "https://x", "fileSize": "12a"}}"#,
        r#"{"data": {"downloadUrl": "https://x"}}"#,
        r#"[1, 2]"#,
    ] {
        assert!(matches!(err(200, bad), ErrorKind::BadReply { .. }), "{bad}");
    }
}

#[test]
fn errors_by_status() {
    let body = r#"{"success": false, "code": 401, "msg": "Unauthorized"}"#;
    assert_eq!(
        err(401, body),
        ErrorKind::Service {
            status: 401,
            code: 401,
            msg: "Unauthorized".into()
        }
    );
    assert_eq!(
        err(503, r#"{"success": false, "msg": "busy"}"#),
        ErrorKind::Service {
            status: 503,
            code: 503,
            msg: "busy".into()
        }
    );
    let page = "<!DOCTYPE html><html><head><title>502 Bad Gateway | example.com</title>\
        </head><body><h1>Bad\n\n gateway</h1></body></html>";
    assert_eq!(
        err(502, page),
        ErrorKind::Http {
            status: 502,
            excerpt: "502 Bad Gateway | example.com".into()
        }
    );
    assert!(matches!(
        err(200, "<html>ok</html>"),
        ErrorKind::BadReply { status: 200, .. }
    ));
}

#[test]
fn a_download_url_is_absolute_http_with_a_host() {
    let reply = |field: &str, url: &str| {
        format!(r#"{{"success":true,"data":{{"{field}":"{url}","fileSize":1}}}}"#)
    };
    for good in [
        "https://x/a",
        "http://h/a",
        "HTTPS://Host.example:443/a?b#c",
        "https://[::1]:8080/x",
        "https://user@h/x",
        "https://h",
        "https://h?x",
    ] {
        assert_eq!(ok(200, &reply("downloadUrl", good)).0.download_url, good);
        assert_eq!(ok(200, &reply("fileUrl", good)).0.download_url, good);
    }
    for bad in [
        "http://",
        "https:///etc/passwd",
        "ftp://x/y",
        "/files/a.txt",
        "files/a.txt",
        "https:x/a",
        "https://:443/a",
        "https://user@/a",
        "https://[]/a",
        "https://?q=1",
        "https://#frag",
        "mailto:a@b",
    ] {
        for field in ["downloadUrl", "fileUrl"] {
            match err(200, &reply(field, bad)) {
                ErrorKind::BadReply {
                    status: 200,
                    reason,
                } => {
                    assert!(reason.contains(field), "{bad}: {reason}")
                }
                other => panic!("{bad}: {other:?}"),
            }
        }
    }
}

#[test]
fn a_success_is_judged_against_what_was_sent() {
    let wait = Some(Duration::from_secs(3));
    let judge = |status: u16, text: &str, file: Option<(u64, bool)>, chunked: bool| {
        super::judge(status, text, wait, &Sent { file, chunked }, "p", "")
    };
    let sized = r#"{"success":true,"data":{"downloadUrl":"https://h/a","fileSize":3}}"#;
    let unsized_ = r#"{"success":true,"data":{"downloadUrl":"https://h/a"}}"#;

    assert_eq!(
        judge(200, sized, Some((3, true)), false).unwrap().file_size,
        3
    );
    assert_eq!(judge(200, sized, None, false).unwrap().file_size, 3);
    let e = judge(200, sized, Some((2, true)), false).unwrap_err();
    assert_eq!(
        e.kind(),
        &ErrorKind::StoredSizeMismatch { sent: 2, stored: 3 }
    );
    // A success that came before the whole body went is a broken transfer, not a stored file.
    let e = judge(200, sized, Some((1, false)), false).unwrap_err();
    assert_eq!(e.kind(), &ErrorKind::Transport);
    let why = std::error::Error::source(&e).map(ToString::to_string);
    assert!(
        why.is_some_and(|w| w.contains("before the whole body")),
        "{e:?}"
    );
    assert!(matches!(
        judge(200, unsized_, Some((3, true)), false).unwrap_err().kind(),
        ErrorKind::BadReply { reason, .. } if reason.contains("fileSize")
    ));
    // Only what the reply itself says carries its Retry-After.
    assert_eq!(
        judge(200, sized, Some((2, true)), false)
            .unwrap_err()
            .retry_after(),
        None
    );
    let busy = judge(503, r#"{"code":503,"msg":"busy"}"#, Some((3, true)), false).unwrap_err();
    assert_eq!(busy.retry_after(), wait);

    // A chunked body refused for its missing length.
    for (status, text) in [
        (411, "<html><title>411 Length Required</title></html>"),
        (400, r#"{"code":400,"msg":"Content-Length required"}"#),
        (200, r#"{"code":411,"msg":"no length"}"#),
    ] {
        let e = judge(status, text, Some((3, true)), true).unwrap_err();
        assert_eq!(e.kind(), &ErrorKind::LengthRequired { status }, "{text}");
        assert_eq!(e.retry_after(), wait);
        assert!(!matches!(
            judge(status, text, Some((3, true)), false)
                .unwrap_err()
                .kind(),
            ErrorKind::LengthRequired { .. }
        ));
    }
}

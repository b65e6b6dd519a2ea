//! Requests the endpoint refuses are counted by reason, those hyper refuses before any route
//! sees them (400 malformed, 431 head too large) included; the head limit is the README's
//! 64 KiB, checked with a real client on both sides of it.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use common::sources::metric;
use common::{Bridge, http_get};

/// Sends raw bytes and returns the status code of the answer.
fn raw_status(bridge: &Bridge, request: &[u8]) -> u16 {
    let mut s = TcpStream::connect(bridge.addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    s.write_all(request).expect("send");
    let mut answer = Vec::new();
    let _ = s.read_to_end(&mut answer);
    let text = String::from_utf8_lossy(&answer);
    text.split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no status in {text:?}"))
}

/// The status a real client (ureq) gets for `/metrics` with a header of `bytes` bytes.
fn with_header_of(bridge: &Bridge, bytes: usize) -> u16 {
    let value = "v".repeat(bytes);
    match ureq::get(&bridge.url("/metrics"))
        .set("X-Filler", &value)
        .call()
    {
        Ok(r) => r.status(),
        Err(ureq::Error::Status(code, _)) => code,
        Err(e) => panic!("request with a {bytes}-byte header failed: {e}"),
    }
}

fn rejected(bridge: &mut Bridge, reason: &str) -> f64 {
    bridge.cycle();
    let (_, _, _, body) = http_get(&bridge.url("/metrics"), &[]);
    let text = String::from_utf8_lossy(&body);
    metric(
        &text,
        "snapbridge_http_requests_rejected_total",
        &[("reason", reason)],
    )
    .unwrap_or_else(|| panic!("no rejected count for {reason} in\n{text}"))
}

#[test]
fn refused_requests_are_counted_and_the_head_limit_is_64_kib() {
    let mut bridge = Bridge::start("[[source]]\nname = \"d\"\nkind = \"demo\"\n", vec![]);
    bridge.cycle();
    assert_eq!(rejected(&mut bridge, "malformed"), 0.0);

    // Malformed: hyper answers 400 itself.
    assert_eq!(raw_status(&bridge, b"GARBAGE\x01 / HTTP/1.1\r\n\r\n"), 400);
    assert_eq!(
        raw_status(&bridge, b"GET / HTTP/1.1\r\nno colon here\r\n\r\n"),
        400
    );
    // Under the limit: served; over it: 431 (before: accepted up to about 128 KiB).
    assert_eq!(with_header_of(&bridge, 60 * 1024), 200);
    assert_eq!(with_header_of(&bridge, 66 * 1024), 431);
    assert_eq!(with_header_of(&bridge, 100 * 1024), 431);
    // Refusals of the routes themselves.
    assert_eq!(
        raw_status(
            &bridge,
            b"POST /metrics HTTP/1.1\r\nhost: x\r\nconnection: close\r\ncontent-length: 0\r\n\r\n"
        ),
        405
    );
    assert_eq!(
        raw_status(
            &bridge,
            b"GET /nope HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n"
        ),
        404
    );

    assert_eq!(rejected(&mut bridge, "malformed"), 2.0);
    assert_eq!(rejected(&mut bridge, "head_too_large"), 2.0);
    assert_eq!(rejected(&mut bridge, "method"), 1.0);
    assert_eq!(rejected(&mut bridge, "not_found"), 1.0);
    assert_eq!(rejected(&mut bridge, "unauthorized"), 0.0);
}

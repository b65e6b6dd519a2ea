//! Reload and the endpoint: `/-/reload` asks for POST and the same credentials as
//! `/metrics`, reloaded users apply to the next request, new TLS files to the next
//! connection.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::Bridge;
use snapbridge::Builder;
use snapbridge::config::Config;

/// The builder `Bridge::start` makes (no sources), for the reload to compare with.
fn builder(toml: &str) -> Builder {
    let config = Config::parse(toml, "test config").expect("test config parses");
    Builder::from_config(&config)
        .listen(SocketAddr::from(([127, 0, 0, 1], 0)))
        .healthz_stale_after(Duration::from_secs(3600))
        .otlp_from_env(false)
        .manual_cycles()
        .instance("test")
}

/// `POST /-/reload` with basic auth: POST only, the same credentials as `/metrics`, and the
/// users it loads apply to the next request.
#[test]
fn post_reload_needs_credentials_and_swaps_them() {
    let alice = bcrypt::hash("alice-pw", 4).unwrap();
    let bob = bcrypt::hash("bob-pw", 4).unwrap();
    let users = |name: &str, hash: &str| {
        format!("interval = \"1h\"\n[prometheus.basic_auth_users]\n{name} = \"{hash}\"\n")
    };
    let v1 = users("alice", &alice);
    let v2 = users("bob", &bob);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let handle = {
        let _on = runtime.enter();
        builder(&v1)
            .reload_with(move || Ok(builder(&v2)))
            .spawn()
            .expect("starts")
    };
    let addr = handle.local_addr().unwrap();
    let basic = |user: &str, pw: &str| {
        use base64::Engine;
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pw}"));
        format!("Basic {token}")
    };
    let post = |auth: Option<&str>| {
        let mut req = ureq::post(&format!("http://{addr}/-/reload"));
        if let Some(a) = auth {
            req = req.set("Authorization", a);
        }
        match req.call() {
            Ok(r) => r.status(),
            Err(ureq::Error::Status(s, _)) => s,
            Err(e) => panic!("{e}"),
        }
    };
    let get = |path: &str, auth: &str| {
        common::http_get(&format!("http://{addr}{path}"), &[("Authorization", auth)]).0
    };
    let alice_auth = basic("alice", "alice-pw");
    let bob_auth = basic("bob", "bob-pw");
    assert_eq!(post(None), 401, "no credentials");
    assert_eq!(post(Some(&bob_auth)), 401, "bob is not a user yet");
    assert_eq!(get("/-/reload", &alice_auth), 405, "GET is not a reload");
    assert_eq!(get("/metrics", &alice_auth), 200);
    assert_eq!(post(Some(&alice_auth)), 200);
    assert_eq!(get("/metrics", &alice_auth), 401, "alice is gone");
    assert_eq!(get("/metrics", &bob_auth), 200);
    runtime.block_on(handle.shutdown()).unwrap();
}

/// True when a TLS handshake with the endpoint verifies against `ca` (openssl, a peer the
/// test scripts install).
fn tls_verifies(addr: SocketAddr, ca: &std::path::Path) -> bool {
    std::process::Command::new("openssl")
        .args(["s_client", "-connect", &addr.to_string(), "-CAfile"])
        .arg(ca)
        .args(["-verify_return_error", "-brief"])
        .stdin(std::process::Stdio::null())
        .output()
        .expect("openssl (installed by scripts/peers.sh)")
        .status
        .success()
}

/// New TLS files apply to the next connection, on the same address.
#[test]
fn a_reload_swaps_the_tls_certificate() {
    let (first, second) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    common::tls::certificates(first.path());
    common::tls::certificates(second.path());
    let tls = |dir: &std::path::Path| {
        format!(
            "interval = \"1h\"\n[prometheus.tls_server_config]\ncert_file = \"{}\"\nkey_file = \"{}\"\n",
            dir.join("server.pem").display(),
            dir.join("server.key").display()
        )
    };
    let bridge = Bridge::start(&tls(first.path()), vec![]);
    let (ca1, ca2) = (first.path().join("ca.pem"), second.path().join("ca.pem"));
    assert!(tls_verifies(bridge.addr, &ca1));
    assert!(
        !tls_verifies(bridge.addr, &ca2),
        "the second CA must not verify yet"
    );
    bridge
        .runtime
        .block_on(bridge.handle.reload(builder(&tls(second.path()))))
        .expect("reload applies");
    assert_eq!(
        bridge.handle.local_addr(),
        Some(bridge.addr),
        "same address"
    );
    assert!(tls_verifies(bridge.addr, &ca2));
    assert!(!tls_verifies(bridge.addr, &ca1));
}

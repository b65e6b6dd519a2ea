//! A config key of a feature this build left out is refused with an error that names the
//! file, the line and the feature, never taken for an unknown key or silently ignored.
//!
//! Built alone (`cargo test -p snapbridge-minimal`), snapbridge has the `prometheus` feature
//! only and every key below is refused; built with the whole workspace, features are unified
//! and the same keys are accepted, which is checked too.

use snapbridge::config::Config;
use snapbridge::features;

/// Parses `text`; the error, on one line, if it was refused.
fn refusal(text: &str) -> Option<String> {
    Config::parse(text, "app.toml").err().map(|e| e.to_string())
}

/// Checks that `text` is refused at `line` for want of `feature` exactly when `built` is
/// false.
fn check(text: &str, built: bool, feature: &str, line: usize) {
    match refusal(text) {
        None => assert!(built, "accepted without the `{feature}` feature:\n{text}"),
        Some(e) if built => panic!("refused with the `{feature}` feature: {e}"),
        Some(e) => {
            let want = format!("snapbridge was built without the {feature} feature");
            assert!(e.contains(&want), "{e}");
            assert!(e.starts_with(&format!("app.toml:{line}:")), "{e}");
        }
    }
}

#[test]
fn an_otlp_section_needs_the_otlp_feature() {
    let text = "interval = \"1s\"\n[otlp]\nendpoint = \"http://127.0.0.1:4318\"\n";
    check(text, features::OTLP, "otlp", 2);
}

#[test]
fn a_redis_source_needs_the_redis_feature() {
    let text = "[[source]]\nname = \"r\"\nkind = \"redis\"\nurl = \"redis://127.0.0.1:6379\"\nkey = \"k\"\n";
    check(text, features::REDIS, "redis", 3);
}

#[test]
fn https_on_metrics_and_basic_auth_need_the_tls_feature() {
    let cert = "[prometheus.tls_server_config]\ncert_file = \"c.pem\"\nkey_file = \"k.pem\"\n";
    check(cert, features::TLS, "tls", 1);
    // A bcrypt hash of "secret", cost 4: valid, so only the feature decides.
    let auth = "[prometheus]\nbasic_auth_users = { alice = \"$2b$04$4sW0JQz9lZ5jT6mEJ8m0ReQ4Lm8VnGqKxS8aGq8jF2wT1s6rG1l9W\" }\n";
    if !features::TLS {
        check(auth, false, "tls", 2);
    }
}

#[test]
fn an_https_source_needs_the_tls_feature() {
    let text =
        "[[source]]\nname = \"h\"\nkind = \"http\"\nurl = \"https://127.0.0.1:8443/metrics\"\n";
    check(text, features::TLS, "tls", 4);
    let ca = "[[source]]\nname = \"h\"\nkind = \"http\"\nurl = \"http://127.0.0.1:8080/metrics\"\nca_file = \"/etc/ca.pem\"\n";
    check(ca, features::TLS, "tls", 5);
}

#[test]
fn the_prometheus_section_is_read_in_this_build() {
    const { assert!(features::PROMETHEUS) };
    let config = Config::parse("[prometheus]\nlisten = \"127.0.0.1:0\"\n", "app.toml")
        .expect("[prometheus] is this build's");
    assert_eq!(config.prometheus.listen.port(), 0);
}

//! What redaction masks, and that it never panics.

use super::*;

#[test]
fn every_user_info_and_query_value_is_masked() {
    assert_eq!(
        url("https://tok3n@h:1/p?x=1&pwd=a&jwt=b&flag#access_token=z"),
        "https://***@h:1/p?x=***&pwd=***&jwt=***&***#access_token=***"
    );
    assert_eq!(
        url("redis://:pw@127.0.0.1:6379/0"),
        "redis://***@127.0.0.1:6379/0"
    );
    assert_eq!(url("http://h/m"), "http://h/m");
    assert_eq!(
        text("GET https://u:p@h/m?k=v: HTTP 401"),
        "GET https://***@h/m?k=***: HTTP 401"
    );
}

#[test]
fn authorization_like_values_are_masked_by_structure() {
    assert_eq!(
        text("got Authorization: Basic Ym9iOnB3ZA== from you"),
        "got Authorization: *** from you"
    );
    assert_eq!(
        text("{\"x-api-key\": \"k123\"}"),
        "{\"x-api-key\": \"***\"}"
    );
    assert_eq!(text("echo: Bearer abcdef.ghi"), "echo: Bearer ***");
    assert_eq!(text("auth=Digest xyz, ok"), "auth=Digest xyz, ok");
    assert_eq!(text("token=abc&x=1"), "token=***&x=1");
}

#[test]
fn remembered_secrets_are_masked_in_every_form() {
    remember_basic("rem-user", "p@ss w0rd!");
    remember_url("https://only-a-tok3n-user@h/p?q=rem-query-value");
    let shown = text(
        "body: cmVtLXVzZXI6cEBzcyB3MHJkIQ== p%40ss+w0rd%21 p@ss w0rd! only-a-tok3n-user rem-query-value",
    );
    for secret in [
        "cmVtLXVzZXI6",
        "p%40ss",
        "p@ss w0rd",
        "only-a-tok3n",
        "rem-query",
    ] {
        assert!(!shown.contains(secret), "{secret} in {shown}");
    }
}

#[test]
fn quoted_values_of_secret_keys_are_masked() {
    assert_eq!(
        quoted_values("invalid type: string \"bob:pw\", expected struct BasicAuth"),
        "invalid type: string ***, expected struct BasicAuth"
    );
    assert_eq!(
        quoted_values("invalid type: integer `987654321987`, expected a string"),
        "invalid type: integer ***, expected a string"
    );
    assert!(is_secret_key("bearer_token") && is_secret_key("basic_auth"));
    assert!(!is_secret_key("initial"));
}

#[test]
fn redacting_twice_changes_nothing() {
    let once =
        text("GET http://u:p@h/m?token=abc: truncated (at 1:14): x-api-key=k; Bearer abcdef");
    assert_eq!(text(&once), once);
    assert_eq!(
        once,
        "GET http://***@h/m?token=***: truncated (at 1:14): x-api-key=***; Bearer ***"
    );
}

#[test]
fn odd_text_never_panics() {
    for s in [
        "://",
        "a://@",
        "é://ü@?#&=",
        "Basic ",
        "x=:",
        "\"token\":",
        "http://?#",
    ] {
        let _ = text(s);
        let _ = url(s);
        let _ = quoted_values(s);
    }
}

//! Validation of the source kinds' own keys: required keys, keys of another kind, bad
//! values located on their line, and secrets that never print.

use super::*;

fn err(body: &str) -> String {
    let text = format!("[[source]]\nname = \"s\"\n{body}\n");
    Config::parse(&text, "c.toml").unwrap_err().to_string()
}

#[test]
fn each_kind_names_its_missing_key() {
    for (kind, key) in [
        ("http", "url"),
        ("file", "path"),
        ("batch_dir", "path"),
        ("redis", "url"),
        ("exec", "command"),
    ] {
        let e = err(&format!("kind = \"{kind}\""));
        assert!(e.contains(&format!("key `source[0] (s).{key}`")), "{e}");
        assert!(e.contains(&format!("needs `{key}`")), "{e}");
    }
    let e = err("kind = \"redis\"\nurl = \"redis://127.0.0.1:6379\"");
    assert!(e.contains("(s).key`"), "{e}");
    let e = err("kind = \"exec\"\ncommand = []");
    assert!(e.contains("must name a program"), "{e}");
}

#[test]
fn keys_of_another_kind_are_refused() {
    let e = err("kind = \"file\"\npath = \"/x\"\nurl = \"http://h/\"");
    assert!(e.contains("(s).url`"), "{e}");
    assert!(e.contains("only kind = \"http\" or \"redis\""), "{e}");
    let e = err("kind = \"http\"\nurl = \"http://h/\"\ncommand = [\"x\"]");
    assert!(e.contains("(s).command`") && e.contains("\"exec\""), "{e}");
    let e = err("kind = \"http\"\nurl = \"redis://h:1\"");
    assert!(e.contains("not an http"), "{e}");
    let e = err("kind = \"redis\"\nurl = \"http://h/\"\nkey = \"k\"");
    assert!(e.contains("not a redis"), "{e}");
    let e = err("kind = \"file\"\npath_glob = \"/var/*/m-*.json\"");
    assert!(e.contains("only the file name"), "{e}");
    let e = err("kind = \"batch_dir\"\npath = \"/x\"\nmetadata_labels = [\"email\"]");
    assert!(e.contains("deny-list"), "{e}");
    let e = err("kind = \"batch_dir\"\npath = \"/x\"\nbuckets = [1.0, 0.5]");
    assert!(e.contains("strictly increasing"), "{e}");
}

#[test]
fn bad_values_are_located_and_secrets_never_print() {
    let e = err("kind = \"http\"\nurl = \"ftp://u:hunter2@h/\"");
    assert!(e.starts_with("c.toml:4:"), "{e}");
    assert!(
        e.contains("unsupported URL scheme") && !e.contains("hunter2"),
        "{e}"
    );
    let e = err("kind = \"file\"\npath = \"/x\"\nmax_bytes = \"12 parsecs\"");
    assert!(e.starts_with("c.toml:5:") && e.contains("max_bytes"), "{e}");
    let e = err("kind = \"file\"\npath = \"/x\"\npointer = \"metrics\"");
    assert!(e.contains("invalid JSON pointer"), "{e}");
    let text = "[[source]]\nname = \"s\"\nkind = \"http\"\nurl = \"https://u:hunter2@h/m?token=t0k\"\nheaders = { X-Key = \"k3y\" }\nbasic_auth = { username = \"u\", password = \"pw9\" }\n";
    let e = Config::parse(text, "c.toml").unwrap_err().to_string();
    assert!(e.contains("set one of bearer_token"), "{e}");
    let ok = text.replace(
        "basic_auth = { username = \"u\", password = \"pw9\" }\n",
        "",
    );
    let c = Config::parse(&ok, "c.toml").unwrap();
    let debug = format!("{c:?}");
    for secret in ["hunter2", "t0k", "k3y"] {
        assert!(!debug.contains(secret), "{secret} in {debug}");
    }
    assert_eq!(
        c.sources[0].config.timeout(),
        std::time::Duration::from_secs(10)
    );
}

use super::*;

#[test]
fn embedded_default_parses_and_has_the_demo_source() {
    let c = Config::embedded_default();
    assert_eq!(c.interval.0, std::time::Duration::from_secs(10));
    assert_eq!(c.prometheus.listen.to_string(), "127.0.0.1:9464");
    assert_eq!(c.sources.len(), 1);
    assert_eq!(c.sources[0].kind, "demo");
    assert!(c.sources[0].config.counters.matches("records_written"));
    assert!(c.sources[0].config.gauges.matches("queue_size"));
}

#[test]
fn unknown_key_names_the_key_and_line() {
    let text = "interval = \"10s\"\n[prometheus]\nlisten = \"127.0.0.1:1\"\nlisen = 3\n";
    let err = Config::parse(text, "x.toml").unwrap_err().to_string();
    assert!(err.starts_with("x.toml:4:"), "{err}");
    assert!(err.contains("lisen"), "{err}");
    assert!(err.contains("[prometheus]"), "{err}");
    assert!(!err.contains('\n'), "{err}");
}

#[test]
fn bad_duration_names_the_key_and_line() {
    let text = "\n\ninterval = \"10x\"\n";
    let err = Config::parse(text, "x.toml").unwrap_err().to_string();
    assert!(err.starts_with("x.toml:3:"), "{err}");
    assert!(err.contains("key `interval`"), "{err}");
    assert!(err.contains("invalid duration \"10x\""), "{err}");
}

#[test]
fn bad_enum_glob_and_address_are_located() {
    let src = |extra: &str| format!("[[source]]\nname = \"a\"\nkind = \"demo\"\n{extra}\n");
    for (extra, key, line) in [
        ("initial = \"sometimes\"", "initial", 4),
        ("counters = [\"a[\"]", "counters", 4),
        ("default_kind = \"meter\"", "default_kind", 4),
    ] {
        let err = Config::parse(&src(extra), "c.toml")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with(&format!("c.toml:{line}:")), "{err}");
        assert!(err.contains(&format!("key `{key}`")), "{err}");
    }
    let err = Config::parse("[[source]]\nname = \"a\"\nkind = \"ftp\"\n", "c.toml")
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("c.toml:3:") && err.contains("ftp"), "{err}");
    let err = Config::parse("[prometheus]\nlisten = \"nowhere\"\n", "c.toml")
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("c.toml:2:") && err.contains("listen"),
        "{err}"
    );
}

#[test]
fn cross_key_rules_name_the_source() {
    let text =
        "[[source]]\nname = \"a\"\nkind = \"demo\"\n[[source]]\nname = \"a\"\nkind = \"demo\"\n";
    let err = Config::parse(text, "c.toml").unwrap_err().to_string();
    assert!(err.contains("duplicate source name"), "{err}");
    let text = "[[source]]\nname = \"a\"\nkind = \"demo\"\nlabels = { source = \"x\" }\n";
    let err = Config::parse(text, "c.toml").unwrap_err().to_string();
    assert!(err.contains("(a).labels"), "{err}");
}

#[test]
fn shards_split_the_sources_between_instances() {
    let mut text = String::from("shard = \"2/3\"\n");
    for i in 0..30 {
        text.push_str(&format!("[[source]]\nname = \"s{i}\"\nkind = \"demo\"\n"));
    }
    let c = Config::parse(&text, "c.toml").unwrap();
    assert_eq!(c.shard, Some(Shard { index: 2, count: 3 }));
    let mut owners = vec![0; 30];
    for index in 1..=3 {
        let shard = Shard { index, count: 3 };
        for (i, s) in c.sources.iter().enumerate() {
            if shard.owns(&s.config.name) {
                owners[i] += 1;
            }
        }
    }
    assert!(
        owners.iter().all(|&n| n == 1),
        "each source in exactly one shard: {owners:?}"
    );
    let err = Config::parse("shard = \"4/3\"\n", "c.toml")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("key `shard`") && err.contains("c.toml:1:"),
        "{err}"
    );
}

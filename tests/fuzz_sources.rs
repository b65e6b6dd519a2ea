//! Fuzzing of the sources that read records and values themselves, through the real
//! sources: batch records (the `batch_dir` source reading real files) and Redis values (the
//! `redis` source reading a hash from a real redis-server). `SNAPBRIDGE_FUZZ_CASES` counts
//! records and values; the engine and the corpus are those of `fuzz_inputs.rs`.

mod common;

use common::fuzz::{corpus, inputs, inputs_for, json_bytes, json_value, one_line, run};
use proptest::prelude::*;
use snapbridge::config::Config;

/// Records per batch file: a case is one file of this many records (a whole file of
/// garbage now and then), through the real `batch_dir` source.
const RECORDS_PER_FILE: usize = 100;

fn record() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::{Value, json};
    let any_json = json_value().boxed();
    prop_oneof![
        4 => (
            prop_oneof![".{0,12}".prop_map(Value::String), any_json.clone()],
            prop_oneof!["[A-Z /a-z]{0,12}".prop_map(Value::String), any_json.clone()],
            prop_oneof![any::<f64>().prop_map(|f| json!(f)), any_json.clone()],
            prop_oneof![any::<bool>().prop_map(Value::Bool), any_json.clone()],
            prop::collection::btree_map("[a-z_]{1,8}", ".{0,10}", 0..3),
        )
            .prop_map(|(t, n, d, s, meta)| json!({"operation_type": t, "operation_name": n,
                "duration_ms": d, "success": s, "metadata": meta})),
        1 => any_json,
    ]
}

fn batch_file() -> BoxedStrategy<Vec<u8>> {
    (
        prop::collection::vec(record(), RECORDS_PER_FILE),
        prop::option::of(".{0,10}"),
    )
        .prop_map(|(records, id)| {
            let mut doc = serde_json::json!({ "records": records });
            if let Some(id) = id {
                doc["batch_id"] = serde_json::json!(id);
            }
            serde_json::to_vec(&doc).unwrap_or_default()
        })
        .boxed()
}

#[test]
fn batch_records() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("batches");
    std::fs::create_dir(&dir).expect("mkdir");
    let config = format!(
        "[[source]]\nname = \"b\"\nkind = \"batch_dir\"\npath = \"{}\"\ncheckpoint = \"{}\"\nmetadata_labels = [\"a\", \"b\"]\n",
        dir.display(),
        tmp.path().join("checkpoint").display()
    );
    let config = Config::parse(&config, "fuzz").expect("config");
    let source = config.sources[0].build().expect("source");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let entries = corpus("batch");
    let counter = std::sync::atomic::AtomicU64::new(0);
    let check = |bytes: &[u8]| -> Result<(), String> {
        let i = counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let name = format!(
            "metrics_20260101_{:06}_{}.json",
            i / 1_000_000,
            i % 1_000_000
        );
        let path = dir.join(&name);
        std::fs::write(&path, bytes).map_err(|e| e.to_string())?;
        let outcome = rt.block_on(source.pull());
        let _ = std::fs::remove_file(&path);
        match outcome {
            Ok(pulled) => {
                for r in &pulled.rejected {
                    one_line("a rejection", &r.detail)?;
                }
                Ok(())
            }
            Err(e) => one_line("batch", &e.to_string()),
        }
    };
    let n = inputs_for(20, RECORDS_PER_FILE);
    run(
        "batch",
        n,
        &entries,
        inputs(entries.clone(), batch_file()),
        check,
    );
    eprintln!(
        "fuzz batch: {} records in generated files",
        n as usize * RECORDS_PER_FILE
    );
}

/// Values per Redis hash: a case is one hash of this many random values, read by the real
/// `redis` source from a real redis-server.
const VALUES_PER_HASH: usize = 200;

#[test]
fn redis_values() {
    let redis = common::sources::RedisServer::start(None);
    let config = format!(
        "[[source]]\nname = \"r\"\nkind = \"redis\"\nurl = \"{}\"\nkey = \"fuzz\"\n",
        redis.url()
    );
    let config = Config::parse(&config, "fuzz").expect("config");
    let source = config.sources[0].build().expect("source");
    let client = redis.client();
    let con = std::cell::RefCell::new(client.get_connection().expect("redis connection"));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let entries = corpus("redis");
    let value = prop_oneof![
        3 => inputs(entries.clone(), json_bytes()),
        1 => prop::collection::vec(any::<u8>(), 0..24),
        1 => "[-+]?[0-9.eE]{1,12}|inf|-inf|nan|NaN".prop_map(String::into_bytes),
    ];
    let hash = prop::collection::vec(value, VALUES_PER_HASH).prop_map(|values| {
        // Carried through `run` as one input: values joined by a separator never in them.
        let mut out = Vec::new();
        for v in values {
            out.extend_from_slice(&v);
            out.extend_from_slice(b"\x00SPLIT\x00");
        }
        out
    });
    let check = |bytes: &[u8]| -> Result<(), String> {
        let values: Vec<&[u8]> = split(bytes, b"\x00SPLIT\x00");
        let mut cmd = redis::cmd("HSET");
        cmd.arg("fuzz");
        for (i, v) in values.iter().enumerate() {
            cmd.arg(format!("f{i}")).arg(*v);
        }
        let _: () = redis::cmd("DEL")
            .arg("fuzz")
            .query(&mut *con.borrow_mut())
            .map_err(|e| e.to_string())?;
        if !values.is_empty() {
            let _: i64 = cmd
                .query(&mut *con.borrow_mut())
                .map_err(|e| e.to_string())?;
        }
        match rt.block_on(source.pull()) {
            Ok(pulled) => {
                for r in &pulled.rejected {
                    one_line("a rejection", &r.detail)?;
                }
                Ok(())
            }
            Err(e) => one_line("redis", &e.to_string()),
        }
    };
    let n = inputs_for(10, VALUES_PER_HASH);
    // The corpus entries are single values: one hash each.
    let entries_joined: Vec<Vec<u8>> = entries
        .iter()
        .map(|s| [s.as_slice(), b"\x00SPLIT\x00"].concat())
        .collect();
    run("redis", n, &entries_joined, hash, check);
    eprintln!(
        "fuzz redis: {} values in generated hashes",
        n as usize * VALUES_PER_HASH
    );
}

fn split<'a>(data: &'a [u8], sep: &[u8]) -> Vec<&'a [u8]> {
    let mut out = Vec::new();
    let mut rest = data;
    while let Some(i) = rest.windows(sep.len()).position(|w| w == sep) {
        out.push(&rest[..i]);
        rest = &rest[i + sep.len()..];
    }
    if !rest.is_empty() {
        out.push(rest);
    }
    out
}

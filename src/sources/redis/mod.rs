//! `kind = "redis"`: metrics an application keeps in Redis (a storage layer whose backend
//! is Redis, counters bumped with HINCRBY, a JSON document SET by a reporter).
//!
//! - `key`: a hash read with `HGETALL` (field = metric name, value = a number, or a typed
//!   JSON entry), or a string holding a whole JSON document (read with `GET`, `pointer`
//!   applies). A missing key fails the snapshot: "no such key" is not "no metrics".
//! - `pattern`: every key matching it (found with `SCAN`, never `KEYS`, so a large Redis is
//!   not blocked): a string key is one value named by the key; a hash key gives one value
//!   per field, labelled `redis_key="<key>"`. `TYPE`, `GET` and `HGETALL` go in pipelines,
//!   not one round trip per key.
//!
//! Connection: redis-rs's `ConnectionManager` (one multiplexed connection, reconnecting).
//! It is created lazily, so snapbridge starts while Redis is down; after a Redis restart
//! the first command fails, the manager reconnects, and the read is tried once more.
//! The password of `redis://:password@host:port/db` never appears in errors or logs.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{RedisError, RedisResult};
use snapbridge_core::{Number, SourceError};

mod config;

pub use config::RedisConfig;

use super::document::node::Node;
use super::document::{self, Collector, DocumentOptions, entry, reason};
use super::{PullFuture, Pulled, Source, SourceConfig, own_deadline, scrub};

/// Keys per SCAN step and per pipeline.
const BATCH: usize = 1000;

/// A Redis hash, a JSON string, or the keys matching a pattern.
pub struct RedisSource {
    inner: Arc<Inner>,
}

enum Mode {
    Key(String),
    Pattern(String),
}

struct Inner {
    client: redis::Client,
    shown: String,
    secrets: Vec<String>,
    mode: Mode,
    timeout: Duration,
    opts: DocumentOptions,
    conn: tokio::sync::Mutex<Option<ConnectionManager>>,
}

impl RedisSource {
    /// The source a `redis` entry describes.
    pub fn new(config: &RedisConfig, common: &SourceConfig) -> Result<Self, String> {
        let url = &config.url;
        let shown = url.redacted();
        let secrets = url.secrets();
        let client = redis::Client::open(url.expose())
            .map_err(|e| format!("url {shown}: {}", scrub(&e.to_string(), &secrets)))?;
        let mode = match (&config.key, &config.pattern) {
            (Some(k), _) => Mode::Key(k.clone()),
            (None, Some(p)) => Mode::Pattern(p.clone()),
            (None, None) => return Err("kind = \"redis\" needs `key` or `pattern`".into()),
        };
        Ok(RedisSource {
            inner: Arc::new(Inner {
                client,
                shown,
                secrets,
                mode,
                timeout: own_deadline(common),
                opts: DocumentOptions::new(config.pointer.as_ref(), None, common),
                conn: tokio::sync::Mutex::new(None),
            }),
        })
    }
}

impl Source for RedisSource {
    fn pull(&self) -> PullFuture {
        let inner = self.inner.clone();
        Box::pin(async move {
            let what = match &inner.mode {
                Mode::Key(k) => format!("key {k:?}"),
                Mode::Pattern(p) => format!("pattern {p:?}"),
            };
            let result = tokio::time::timeout(inner.timeout, inner.read()).await;
            let e = match result {
                Ok(Ok(pulled)) => return Ok(pulled),
                Ok(Err(e)) => e,
                Err(_) => format!(
                    "no answer within {} (timeout)",
                    humantime::format_duration(inner.timeout)
                ),
            };
            Err(SourceError::new(format!(
                "{} {what}: {}",
                inner.shown,
                scrub(&e, &inner.secrets)
            )))
        })
    }
}

impl Inner {
    async fn connection(&self) -> Result<ConnectionManager, String> {
        let mut slot = self.conn.lock().await;
        if let Some(c) = slot.as_ref() {
            return Ok(c.clone());
        }
        let half = self.timeout / 2;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(half)
            .set_response_timeout(half)
            // No retries inside a pull: a failed attempt fails this snapshot, and the next
            // cycle tries again (the library's back-off would outlast the timeout).
            .set_number_of_retries(0)
            .set_max_delay(200);
        let c = ConnectionManager::new_with_config(self.client.clone(), config)
            .await
            .map_err(|e| format!("cannot connect: {}", describe(&e)))?;
        *slot = Some(c.clone());
        Ok(c)
    }

    async fn read(&self) -> Result<Pulled, String> {
        let mut con = self.connection().await?;
        match self.read_once(&mut con).await {
            Ok(p) => Ok(p),
            // After a Redis restart the first command fails and the manager reconnects:
            // one more try on the new connection.
            Err(e) if e.is_io_error() || e.is_connection_dropped() || e.is_connection_refusal() => {
                self.read_once(&mut con).await.map_err(|e| describe(&e))
            }
            Err(e) => Err(describe(&e)),
        }
    }

    async fn read_once(&self, con: &mut ConnectionManager) -> RedisResult<Pulled> {
        match &self.mode {
            Mode::Key(key) => self.read_key(con, key).await,
            Mode::Pattern(pattern) => self.read_pattern(con, pattern).await,
        }
    }

    async fn read_key(&self, con: &mut ConnectionManager, key: &str) -> RedisResult<Pulled> {
        let kind: String = redis::cmd("TYPE").arg(key).query_async(con).await?;
        match kind.as_str() {
            "hash" => {
                let fields: Vec<(String, Vec<u8>)> =
                    redis::cmd("HGETALL").arg(key).query_async(con).await?;
                let mut out = Collector::with_capacity(fields.len());
                for (field, value) in fields {
                    self.scalar(field, &value, &mut out);
                }
                Ok(out.finish())
            }
            "string" => {
                let text: Vec<u8> = redis::cmd("GET").arg(key).query_async(con).await?;
                document::parse(&text, &self.opts)
                    .map_err(|e| failure(&format!("the JSON string: {e}")))
            }
            "none" => Err(failure(
                "no such key (the application has not written it yet?)",
            )),
            other => Err(failure(&format!(
                "the key is a {other}: expected a hash, or a string holding JSON"
            ))),
        }
    }

    async fn read_pattern(
        &self,
        con: &mut ConnectionManager,
        pattern: &str,
    ) -> RedisResult<Pulled> {
        let mut keys = BTreeSet::new();
        let mut cursor: u64 = 0;
        loop {
            let (next, batch): (u64, Vec<String>) = redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(pattern)
                .arg("COUNT")
                .arg(BATCH)
                .query_async(con)
                .await?;
            keys.extend(batch);
            if next == 0 {
                break;
            }
            cursor = next;
        }
        let keys: Vec<String> = keys.into_iter().collect();
        let mut out = Collector::with_capacity(keys.len());
        for chunk in keys.chunks(BATCH) {
            let mut pipe = redis::pipe();
            for k in chunk {
                pipe.cmd("TYPE").arg(k);
            }
            let kinds: Vec<String> = pipe.query_async(con).await?;
            let mut pipe = redis::pipe();
            let mut read = Vec::new();
            for (k, kind) in chunk.iter().zip(kinds) {
                match kind.as_str() {
                    "string" => {
                        pipe.cmd("GET").arg(k);
                        read.push((k, false));
                    }
                    "hash" => {
                        pipe.cmd("HGETALL").arg(k);
                        read.push((k, true));
                    }
                    // Deleted between SCAN and TYPE: simply absent this cycle.
                    "none" => {}
                    other => out.reject(
                        k.clone(),
                        reason::NON_NUMERIC,
                        format!("the key is a {other}: expected a string or a hash"),
                    ),
                }
            }
            let values: Vec<redis::Value> = pipe.query_async(con).await?;
            for ((key, is_hash), value) in read.into_iter().zip(values) {
                if is_hash {
                    let fields: Vec<(String, Vec<u8>)> = redis::from_redis_value(&value)?;
                    let start = out.len();
                    for (field, v) in fields {
                        self.scalar(field, &v, &mut out);
                    }
                    out.label_from(start, "redis_key", key);
                } else if let Ok(Some(v)) = redis::from_redis_value::<Option<Vec<u8>>>(&value) {
                    self.scalar(key.clone(), &v, &mut out);
                }
            }
        }
        Ok(out.finish())
    }

    /// One value: a number in a string, or a JSON typed entry.
    fn scalar(&self, name: String, raw: &[u8], out: &mut Collector) {
        let text = String::from_utf8_lossy(raw);
        let t = text.trim();
        if let Some(n) = parse_number(t) {
            return entry::plain_number(name.into(), n, &self.opts, out);
        }
        if t.starts_with('{')
            && let Ok(Node::Object(obj)) = serde_json::from_str::<Node<'_>>(t)
        {
            return if entry::is_typed(&obj) {
                entry::typed(name.into(), &obj, &self.opts, out)
            } else {
                out.map(&obj, Some(&name), &self.opts, 1)
            };
        }
        out.reject(
            name,
            reason::NON_NUMERIC,
            format!(
                "expected a number, found {}",
                Node::Str(t.into()).describe()
            ),
        );
    }
}

/// `120394` stays an exact integer; `1.5`, `-3`, `inf`, `nan` are floats.
fn parse_number(t: &str) -> Option<Number> {
    if let Ok(u) = t.parse::<u64>() {
        return Some(Number::Int(u));
    }
    if let Ok(f) = t.parse::<f64>() {
        return Some(Number::Float(f));
    }
    entry::special_float(t).map(Number::Float)
}

fn failure(message: &str) -> RedisError {
    RedisError::from((redis::ErrorKind::TypeError, "", message.to_string()))
}

/// One line from a Redis error.
fn describe(e: &RedisError) -> String {
    let text = e.to_string();
    let text = text
        .trim_start_matches("TypeError: ")
        .trim_start_matches("- ");
    text.replace('\n', " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_in_strings() {
        assert_eq!(parse_number("120394"), Some(Number::Int(120394)));
        assert_eq!(parse_number("-3"), Some(Number::Float(-3.0)));
        assert!(matches!(parse_number("nan"), Some(Number::Float(f)) if f.is_nan()));
        assert_eq!(parse_number("lots"), None);
    }
}

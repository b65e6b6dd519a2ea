//! TLS and basic authentication for the endpoint, configured like Prometheus exporters'
//! web config (`tls_server_config`, `basic_auth_users` with bcrypt hashes).

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

use super::PrometheusConfig;

/// Credentials checked recently: bcrypt costs tens of milliseconds on purpose, and a
/// scraper sends the same header every scrape (exporter-toolkit caches the same way).
const CACHE_LIMIT: usize = 64;

/// What the endpoint requires of a client.
#[derive(Default)]
pub struct Security {
    /// Terminates TLS when set.
    pub tls: Option<TlsAcceptor>,
    users: BTreeMap<String, String>,
    accepted: Mutex<HashSet<String>>,
    // bcrypt verifications run, so the tests can tell the cache and the dummy hash work.
    bcrypt_checks: AtomicU64,
}

impl Security {
    /// Plain HTTP, no authentication.
    pub fn none() -> Arc<Security> {
        Arc::new(Security::default())
    }

    /// Loads the certificate and key and checks the password hashes.
    pub fn from_config(config: &PrometheusConfig) -> Result<Arc<Security>, String> {
        let tls = match &config.tls_server_config {
            None => None,
            Some(t) => {
                let certs: Vec<CertificateDer<'static>> =
                    CertificateDer::pem_file_iter(&t.cert_file)
                        .and_then(|it| it.collect())
                        .map_err(|e| {
                            format!(
                                "[prometheus.tls_server_config] cert_file {}: {e}",
                                t.cert_file.display()
                            )
                        })?;
                if certs.is_empty() {
                    return Err(format!(
                        "[prometheus.tls_server_config] cert_file {}: no PEM certificate in it",
                        t.cert_file.display()
                    ));
                }
                let key = PrivateKeyDer::from_pem_file(&t.key_file).map_err(|e| {
                    format!(
                        "[prometheus.tls_server_config] key_file {}: {e}",
                        t.key_file.display()
                    )
                })?;
                let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
                let server = tokio_rustls::rustls::ServerConfig::builder_with_provider(provider)
                    .with_safe_default_protocol_versions()
                    .map_err(|e| format!("TLS: {e}"))?
                    .with_no_client_auth()
                    .with_single_cert(certs, key)
                    .map_err(|e| {
                        format!(
                            "[prometheus.tls_server_config]: certificate and key do not fit: {e}"
                        )
                    })?;
                Some(TlsAcceptor::from(Arc::new(server)))
            }
        };
        for (user, hash) in &config.basic_auth_users {
            if !hash.starts_with("$2") || bcrypt::verify("", hash).is_err() {
                return Err(format!(
                    "[prometheus.basic_auth_users] {user}: not a bcrypt hash (make one with `htpasswd -nBC 10 \"\" | tr -d ':'`)"
                ));
            }
        }
        Ok(Arc::new(Security {
            tls,
            users: config.basic_auth_users.clone(),
            accepted: Mutex::new(HashSet::new()),
            bcrypt_checks: AtomicU64::new(0),
        }))
    }

    /// True when no authentication is required or `authorization` carries valid
    /// credentials.
    pub fn allows(&self, authorization: Option<&str>) -> bool {
        if self.users.is_empty() {
            return true;
        }
        let Some(header) = authorization else {
            return false;
        };
        if self
            .accepted
            .lock()
            .map(|a| a.contains(header))
            .unwrap_or(false)
        {
            return true;
        }
        let Some((user, password)) = decode_basic(header) else {
            return false;
        };
        // An unknown user is checked against a dummy hash of the usual cost, so response
        // times do not tell which users exist (exporter-toolkit does the same). bcrypt is
        // slow on purpose: run it off the reactor so other connections are not held up.
        let known = self.users.get(&user);
        let hash = known.map(String::as_str).unwrap_or_else(|| dummy_hash());
        self.bcrypt_checks.fetch_add(1, Ordering::Relaxed);
        let verified =
            crate::blocking::off_the_reactor(|| bcrypt::verify(&password, hash).unwrap_or(false));
        let ok = known.is_some() && verified;
        if ok && let Ok(mut accepted) = self.accepted.lock() {
            if accepted.len() >= CACHE_LIMIT {
                accepted.clear();
            }
            accepted.insert(header.to_string());
        }
        ok
    }
}

/// A bcrypt hash at the cost the README suggests (`htpasswd -nBC 10`), made once.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| bcrypt::hash("snapbridge-dummy", 10).unwrap_or_default())
}

/// `Basic base64(user:password)` → (user, password).
fn decode_basic(header: &str) -> Option<(String, String)> {
    use base64::Engine;
    let (scheme, encoded) = header.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_string(), password.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_decode() {
        assert_eq!(
            decode_basic("Basic YWxpY2U6czNjcmV0"),
            Some(("alice".into(), "s3cret".into()))
        );
        assert_eq!(decode_basic("Basic YTpi"), Some(("a".into(), "b".into())));
        assert_eq!(decode_basic("Bearer x"), None);
        assert_eq!(decode_basic("Basic !!!"), None);
    }

    #[test]
    fn only_the_right_password_passes() {
        let hash = bcrypt::hash("s3cret", 4).unwrap();
        let config = PrometheusConfig {
            basic_auth_users: [("alice".to_string(), hash)].into(),
            ..PrometheusConfig::default()
        };
        let sec = Security::from_config(&config).unwrap();
        let checks = || sec.bcrypt_checks.load(Ordering::Relaxed);
        assert!(sec.allows(Some("Basic YWxpY2U6czNjcmV0")));
        assert_eq!(checks(), 1);
        assert!(sec.allows(Some("Basic YWxpY2U6czNjcmV0")), "cached");
        assert_eq!(
            checks(),
            1,
            "the second time, the cache answers without bcrypt"
        );
        assert!(!sec.allows(Some("Basic YWxpY2U6d3Jvbmc=")));
        assert!(
            !sec.allows(Some("Basic YWxpY2U6d3Jvbmc=")),
            "refusals are not cached"
        );
        assert_eq!(checks(), 3);
        assert!(!sec.allows(None));
        // An unknown user with alice's password: refused, after a bcrypt check against the
        // dummy hash, so it takes as long as a known user's wrong password.
        assert!(!sec.allows(Some("Basic Ym9iOnMzY3JldA==")));
        assert_eq!(checks(), 4, "an unknown user costs a bcrypt check too");
        let bad = PrometheusConfig {
            basic_auth_users: [("bob".to_string(), "plaintext".to_string())].into(),
            ..PrometheusConfig::default()
        };
        assert!(Security::from_config(&bad).err().unwrap().contains("bob"));
    }
}

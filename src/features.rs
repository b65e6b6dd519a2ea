//! The Cargo features this build was made with, and the config keys of the ones it left
//! out.
//!
//! A key that belongs to a left-out feature (`[otlp]` without `otlp`, `tls_server_config`
//! without `tls`, `kind = "redis"` without `redis`) is still known to the config reader: it
//! is refused with an error that names the feature, so the fix is obvious, instead of being
//! reported as an unknown key.

use std::fmt;
use std::marker::PhantomData;

use serde::{Deserialize, Deserializer};

/// The message for a key or kind whose feature this build left out. The feature name is not
/// quoted: errors of secret-bearing keys (`basic_auth_users`) mask quoted values.
pub fn built_without(feature: &str) -> String {
    format!("snapbridge was built without the {feature} feature")
}

/// Whether the `prometheus` feature is in this build (the `/metrics` endpoint).
pub const PROMETHEUS: bool = cfg!(feature = "prometheus");
/// Whether the `otlp` feature is in this build (the OTLP push).
pub const OTLP: bool = cfg!(feature = "otlp");
/// Whether the `tls` feature is in this build (`https://` URLs, `/metrics` over TLS).
pub const TLS: bool = cfg!(feature = "tls");
/// Whether the `redis` feature is in this build (the `redis` source kind).
pub const REDIS: bool = cfg!(feature = "redis");

/// A Cargo feature, named as in `Cargo.toml`.
pub trait Feature {
    /// The feature's name.
    const NAME: &'static str;
}

/// Declares a marker type per feature.
macro_rules! features {
    ($($(#[$doc:meta])* $ty:ident = $name:literal,)*) => {
        $($(#[$doc])* #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
        pub struct $ty;
        impl Feature for $ty {
            const NAME: &'static str = $name;
        })*
    };
}

features! {
    /// The `/metrics` endpoint.
    Prometheus = "prometheus",
    /// The OTLP push sink.
    Otlp = "otlp",
    /// HTTPS for the endpoint, the `http` source and the OTLP push.
    Tls = "tls",
    /// The `redis` source kind.
    Redis = "redis",
}

/// The value of a config key whose feature `F` this build left out: it is never read,
/// because reading one fails with [`built_without`].
#[derive(Clone, Copy, Default, PartialEq, Eq)]
pub struct LeftOut<F>(PhantomData<F>);

impl<F: Feature> fmt::Debug for LeftOut<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LeftOut({})", F::NAME)
    }
}

impl<'de, F: Feature> Deserialize<'de> for LeftOut<F> {
    fn deserialize<D: Deserializer<'de>>(_: D) -> Result<Self, D::Error> {
        Err(serde::de::Error::custom(built_without(F::NAME)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Section {
        #[serde(default)]
        otlp: Option<LeftOut<Otlp>>,
    }

    #[test]
    fn a_left_out_key_names_its_feature() {
        let absent: Section = toml::from_str("").expect("absent is fine");
        assert!(absent.otlp.is_none());
        let err = toml::from_str::<Section>("[otlp]\nendpoint = \"http://x\"\n")
            .expect_err("a left-out section is refused");
        assert!(
            err.message()
                .contains("snapbridge was built without the otlp feature"),
            "{err}"
        );
    }
}

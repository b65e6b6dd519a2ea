//! The endpoint's security in a build without the `tls` feature: plain HTTP and no
//! authentication (the config reader refuses `tls_server_config` and `basic_auth_users`
//! with an error naming the feature, so nothing asked for is silently left out).

use std::sync::Arc;

use super::PrometheusConfig;

/// What the endpoint requires of a client: nothing, in this build.
#[derive(Default)]
pub struct Security;

impl Security {
    /// Plain HTTP, no authentication.
    pub fn none() -> Arc<Security> {
        Arc::new(Security)
    }

    /// Plain HTTP, no authentication: the only settings this build has.
    pub fn from_config(_: &PrometheusConfig) -> Result<Arc<Security>, String> {
        Ok(Security::none())
    }

    /// Every request is allowed.
    pub fn allows(&self, _authorization: Option<&str>) -> bool {
        true
    }
}

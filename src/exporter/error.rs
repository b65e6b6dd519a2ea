//! What can go wrong starting or stopping an exporter.

use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

/// Why an exporter did not start, or did not stop cleanly.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// A configured source could not be built (an unreadable CA file, say).
    Source {
        /// The source's name.
        name: String,
        /// Why, on one line.
        reason: String,
    },
    /// The `/metrics` endpoint could not listen on its address.
    Listen {
        /// The address asked for.
        addr: SocketAddr,
        /// What the system said.
        error: std::io::Error,
    },
    /// The endpoint's TLS certificate, key or basic-auth users are unusable.
    Endpoint(String),
    /// The OTLP settings (the `[otlp]` section and the `OTEL_*` variables) are unusable.
    Otlp(String),
    /// No async runtime was running and none could be started.
    Runtime(std::io::Error),
    /// The last cycle did not finish within the shutdown timeout.
    FinalCycleTimeout(Duration),
    /// The last OTLP export failed, or did not finish within the shutdown timeout.
    OtlpFlush(String),
    /// A task of the exporter panicked.
    Panicked(String),
    /// A reload was refused (the new config did not load, or asks what only a restart
    /// can do); the running configuration stays.
    Reload(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Source { name, reason } => write!(f, "source {name:?}: {reason}"),
            Error::Listen { addr, error } => {
                write!(f, "cannot listen on {addr} ([prometheus] listen): {error}")
            }
            Error::Endpoint(reason) | Error::Otlp(reason) => f.write_str(reason),
            Error::Runtime(e) => write!(f, "cannot start the async runtime: {e}"),
            Error::FinalCycleTimeout(t) => write!(
                f,
                "the final cycle did not finish within the shutdown timeout ({})",
                humantime::format_duration(*t)
            ),
            Error::OtlpFlush(reason) => write!(f, "final OTLP flush: {reason}"),
            Error::Panicked(what) => write!(f, "{what} panicked"),
            Error::Reload(reason) => f.write_str(reason),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Listen { error, .. } | Error::Runtime(error) => Some(error),
            _ => None,
        }
    }
}

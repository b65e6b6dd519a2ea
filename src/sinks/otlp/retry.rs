//! When to send a failed OTLP request again, as the OTLP specification says: only for the
//! statuses and codes it calls retryable, after the delay the receiver asked for
//! (`Retry-After`, gRPC `RetryInfo`) or else an exponential back-off with jitter and a cap.

use std::time::{Duration, SystemTime};

use hyper::StatusCode;
use prost::Message;

/// First back-off delay.
const BASE: Duration = Duration::from_millis(200);

/// Longest back-off delay (before jitter): a receiver that is away for long is retried at
/// the next cycle with fresher data anyway.
const CAP: Duration = Duration::from_secs(5);

/// The HTTP statuses the OTLP spec says may succeed when sent again.
pub fn http_retryable(status: StatusCode) -> bool {
    matches!(
        status,
        StatusCode::TOO_MANY_REQUESTS
            | StatusCode::BAD_GATEWAY
            | StatusCode::SERVICE_UNAVAILABLE
            | StatusCode::GATEWAY_TIMEOUT
    )
}

/// The gRPC codes the OTLP spec says may succeed when sent again; RESOURCE_EXHAUSTED only
/// when the server said when (RetryInfo), since otherwise it means "this will never fit".
pub fn grpc_retryable(code: tonic::Code, has_retry_info: bool) -> bool {
    use tonic::Code;
    match code {
        Code::Cancelled
        | Code::DeadlineExceeded
        | Code::Aborted
        | Code::OutOfRange
        | Code::Unavailable
        | Code::DataLoss => true,
        Code::ResourceExhausted => has_retry_info,
        _ => false,
    }
}

/// A `Retry-After` value: delay-seconds or an HTTP date (a date in the past is "now").
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or_default())
}

/// `google.rpc.Status`, as carried in the `grpc-status-details-bin` trailer.
#[derive(Clone, PartialEq, Message)]
struct RpcStatus {
    #[prost(int32, tag = "1")]
    code: i32,
    #[prost(string, tag = "2")]
    message: String,
    #[prost(message, repeated, tag = "3")]
    details: Vec<prost_types_any::Any>,
}

/// `google.rpc.RetryInfo`.
#[derive(Clone, PartialEq, Message)]
struct RetryInfo {
    #[prost(message, optional, tag = "1")]
    retry_delay: Option<prost_types_any::ProtoDuration>,
}

/// The two well-known types needed here, declared by hand rather than pulling a crate in.
mod prost_types_any {
    /// `google.protobuf.Any`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Any {
        #[prost(string, tag = "1")]
        pub type_url: String,
        #[prost(bytes = "vec", tag = "2")]
        pub value: Vec<u8>,
    }

    /// `google.protobuf.Duration`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct ProtoDuration {
        #[prost(int64, tag = "1")]
        pub seconds: i64,
        #[prost(int32, tag = "2")]
        pub nanos: i32,
    }
}

const RETRY_INFO_TYPE: &str = "type.googleapis.com/google.rpc.RetryInfo";

/// The delay a gRPC error's `RetryInfo` asks for, if it carries one. The details are
/// outside input: anything that does not decode is no RetryInfo.
pub fn grpc_retry_info(details: &[u8]) -> Option<Duration> {
    if details.is_empty() {
        return None;
    }
    let status = RpcStatus::decode(details).ok()?;
    let any = status
        .details
        .iter()
        .find(|a| a.type_url == RETRY_INFO_TYPE)?;
    let delay = RetryInfo::decode(any.value.as_slice()).ok()?.retry_delay?;
    let seconds = u64::try_from(delay.seconds).ok()?;
    let nanos = u32::try_from(delay.nanos).ok()?.min(999_999_999);
    Some(Duration::new(seconds, nanos))
}

/// The back-off before attempt `attempt + 1` (`attempt` from 1): doubling from 200 ms up to
/// the cap, then a random point in its upper half, so many exporters that failed together
/// do not all come back together.
pub fn backoff(attempt: u32) -> Duration {
    let doubled = BASE.saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
    let d = doubled.min(CAP);
    let half = d / 2;
    half + half.mul_f64(fastrand::f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        let now = httpdate::parse_http_date("Wed, 21 Oct 2015 07:28:00 GMT").unwrap();
        assert_eq!(parse_retry_after("3", now), Some(Duration::from_secs(3)));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:07 GMT", now),
            Some(Duration::from_secs(7))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:27:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-1", now), None);
    }

    #[test]
    fn retry_info_is_read_from_status_details() {
        let info = RetryInfo {
            retry_delay: Some(prost_types_any::ProtoDuration {
                seconds: 2,
                nanos: 500_000_000,
            }),
        };
        let status = RpcStatus {
            code: 8,
            message: "slow down".into(),
            details: vec![prost_types_any::Any {
                type_url: RETRY_INFO_TYPE.into(),
                value: info.encode_to_vec(),
            }],
        };
        assert_eq!(
            grpc_retry_info(&status.encode_to_vec()),
            Some(Duration::from_millis(2500))
        );
        assert_eq!(grpc_retry_info(b"\xff\xff garbage"), None);
        assert_eq!(grpc_retry_info(&[]), None);
    }

    #[test]
    fn only_the_spec_codes_are_retried() {
        use tonic::Code;
        assert!(grpc_retryable(Code::Unavailable, false));
        assert!(!grpc_retryable(Code::ResourceExhausted, false));
        assert!(grpc_retryable(Code::ResourceExhausted, true));
        assert!(!grpc_retryable(Code::InvalidArgument, true));
        assert!(!grpc_retryable(Code::Unknown, false));
        assert!(!grpc_retryable(Code::Unauthenticated, false));
        assert!(http_retryable(StatusCode::TOO_MANY_REQUESTS));
        assert!(!http_retryable(StatusCode::BAD_REQUEST));
        assert!(!http_retryable(StatusCode::UNAUTHORIZED));
        assert!(!http_retryable(StatusCode::INTERNAL_SERVER_ERROR));
    }

    #[test]
    fn backoff_doubles_with_jitter_up_to_the_cap() {
        for attempt in 1..40 {
            let d = backoff(attempt);
            let full = BASE.saturating_mul(1u32 << (attempt - 1).min(16)).min(CAP);
            assert!(d >= full / 2 && d <= full, "{attempt}: {d:?}");
        }
    }
}

//! Sending one request: OTLP/gRPC with tonic, OTLP/HTTP with hyper; TLS by rustls with the
//! webpki roots for `https` endpoints.

use std::str::FromStr;
use std::time::Duration;

use bytes::BufMut;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper::http::uri::PathAndQuery;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceResponse;
use prost::Message;
use tonic::Status;
use tonic::codec::{Codec, CompressionEncoding, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::metadata::{MetadataKey, MetadataValue};
use tonic::transport::{Channel, Endpoint};

use super::config::{Compression, Protocol};
use super::{Settings, retry};
use crate::http_client::{self, ExtraRoots, HttpsClient, Version};
use crate::text::{error_chain, one_line};

/// Errors and answers quoted in messages are cut at this length.
const MAX_MESSAGE_BYTES: usize = 300;

/// Why a send failed, and whether trying again may help.
#[derive(Debug)]
pub struct SendError {
    /// One line, never containing header values.
    pub message: String,
    /// Connection refused, timeouts, 429/502/503/504, gRPC UNAVAILABLE and the like (see
    /// retry.rs); anything else is permanent and not sent again.
    pub retryable: bool,
    /// The delay the receiver asked for (`Retry-After`, gRPC `RetryInfo`).
    pub retry_after: Option<Duration>,
    /// The request may have reached the receiver and been stored: no answer came (a
    /// timeout, a connection broken mid-request). False when it never left (connection
    /// refused) or the receiver answered that it did not take it.
    pub maybe_delivered: bool,
}

/// What a receiver that took the request said: how many data points it rejected (a
/// partial success), and why. Not a failure: the spec says such a request must not be
/// sent again, since the rest of it was stored.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Accepted {
    /// Data points the receiver dropped.
    pub rejected_points: u64,
    /// The receiver's explanation (one line, may be empty).
    pub message: String,
}

impl Accepted {
    fn from_response(response: &ExportMetricsServiceResponse) -> Self {
        match &response.partial_success {
            Some(p) => Accepted {
                rejected_points: u64::try_from(p.rejected_data_points).unwrap_or(0),
                message: one_line(&p.error_message, MAX_MESSAGE_BYTES),
            },
            None => Accepted::default(),
        }
    }
}

/// Largest reply body read (decompressed): an ExportMetricsServiceResponse is tiny.
const MAX_REPLY_BYTES: u64 = 64 * 1024;

/// The gRPC method every OTLP metrics receiver serves.
const EXPORT_PATH: &str = "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export";

/// Sends request bytes the encoder already wrote (see src/protowire.rs) and decodes the answer with
/// the generated prost type.
#[derive(Clone, Copy, Default)]
struct RawCodec;

impl Codec for RawCodec {
    type Encode = Bytes;
    type Decode = ExportMetricsServiceResponse;
    type Encoder = RawCodec;
    type Decoder = RawCodec;
    fn encoder(&mut self) -> Self::Encoder {
        RawCodec
    }
    fn decoder(&mut self) -> Self::Decoder {
        RawCodec
    }
}

impl Encoder for RawCodec {
    type Item = Bytes;
    type Error = Status;
    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put_slice(&item);
        Ok(())
    }
}

impl Decoder for RawCodec {
    type Item = ExportMetricsServiceResponse;
    type Error = Status;
    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Self::Item>, Status> {
        ExportMetricsServiceResponse::decode(src)
            .map(Some)
            .map_err(|e| Status::internal(format!("bad ExportMetricsServiceResponse: {e}")))
    }
}

/// A connection to the receiver, made once and reused.
pub enum Transport {
    /// OTLP/gRPC.
    Grpc(tonic::client::Grpc<Channel>),
    /// OTLP/HTTP protobuf.
    Http(HttpsClient<Full<Bytes>>),
}

impl Transport {
    /// Prepares the client; connecting happens on the first send, so a receiver that is
    /// down at start delays nothing.
    pub fn new(settings: &Settings) -> Result<Transport, String> {
        let extra = settings.ca_pem.as_deref().map(|pem| ExtraRoots {
            what: "OTLP CA file",
            pem,
        });
        let tls = http_client::tls_config(extra)?;
        let scheme = settings
            .url
            .split_once("://")
            .map_or("", |(scheme, _)| scheme);
        http_client::check_scheme("OTLP endpoint", scheme)?;
        match settings.protocol {
            Protocol::Grpc => {
                let endpoint = Endpoint::from_shared(settings.url.clone())
                    .map_err(|e| format!("OTLP endpoint {:?}: {e}", settings.shown))?
                    .connect_timeout(settings.timeout)
                    .timeout(settings.timeout);
                let connector = http_client::connector(tls, Version::Http2, None);
                // Receivers may compress their replies (the OpenTelemetry Collector gzips
                // its answer to a gzip request): a reply is a reply, compressed or not.
                let mut client =
                    tonic::client::Grpc::new(endpoint.connect_with_connector_lazy(connector))
                        .max_decoding_message_size(16 * 1024 * 1024)
                        .accept_compressed(CompressionEncoding::Gzip);
                if settings.compression == Compression::Gzip {
                    client = client.send_compressed(CompressionEncoding::Gzip);
                }
                Ok(Transport::Grpc(client))
            }
            Protocol::HttpProtobuf => {
                let connector = http_client::connector(tls, Version::Http1, Some(settings.timeout));
                Ok(Transport::Http(http_client::client(
                    connector,
                    Duration::from_secs(30),
                )))
            }
        }
    }

    /// Sends one request, bounded by the settings' timeout.
    pub async fn send(
        &mut self,
        settings: &Settings,
        request: &Bytes,
    ) -> Result<Accepted, SendError> {
        let attempt = async {
            match self {
                Transport::Grpc(client) => send_grpc(client, settings, request.clone()).await,
                Transport::Http(client) => send_http(client, settings, request).await,
            }
        };
        match tokio::time::timeout(settings.timeout, attempt).await {
            Ok(result) => result,
            Err(_) => Err(SendError {
                message: format!(
                    "no answer from {} within {}",
                    settings.shown,
                    humantime::format_duration(settings.timeout)
                ),
                retryable: true,
                retry_after: None,
                maybe_delivered: true,
            }),
        }
    }
}

async fn send_grpc(
    client: &mut tonic::client::Grpc<Channel>,
    settings: &Settings,
    request: Bytes,
) -> Result<Accepted, SendError> {
    let mut req = tonic::Request::new(request);
    for (k, v) in &settings.headers {
        let key = MetadataKey::from_str(&k.to_ascii_lowercase()).map_err(|_| SendError {
            message: format!("OTLP header name {k:?} is not valid in gRPC metadata"),
            retryable: false,
            retry_after: None,
            maybe_delivered: false,
        })?;
        let value = MetadataValue::from_str(v).map_err(|_| SendError {
            message: format!("OTLP header {k:?} has a value that is not valid ASCII"),
            retryable: false,
            retry_after: None,
            maybe_delivered: false,
        })?;
        req.metadata_mut().insert(key, value);
    }
    if let Err(e) = client.ready().await {
        return Err(SendError {
            message: format!(
                "gRPC connection to {} failed: {}",
                settings.shown,
                one_line(&error_chain(&e), MAX_MESSAGE_BYTES)
            ),
            retryable: true,
            retry_after: None,
            maybe_delivered: false,
        });
    }
    let path = PathAndQuery::from_static(EXPORT_PATH);
    match client.unary(req, path, RawCodec).await {
        Ok(response) => Ok(Accepted::from_response(response.get_ref())),
        Err(status) => {
            let retry_after = retry::grpc_retry_info(status.details());
            let retryable = retry::grpc_retryable(status.code(), retry_after.is_some());
            let message = format!(
                "gRPC export to {} failed: {:?}: {}",
                settings.shown,
                status.code(),
                one_line(status.message(), MAX_MESSAGE_BYTES)
            );
            let maybe_delivered = grpc_maybe_delivered(&status);
            Err(SendError {
                message: super::refusal::with_explanation(message, status.message()),
                retryable,
                retry_after,
                maybe_delivered,
            })
        }
    }
}

/// Whether a failed gRPC call may have been stored: a status the server sent says it was
/// not (but for a deadline or cancellation, which may strike after the server took it); a
/// transport error may have struck after the request was written, unless the connection
/// was refused.
fn grpc_maybe_delivered(status: &Status) -> bool {
    use std::error::Error;
    let Some(source) = status.source() else {
        return matches!(
            status.code(),
            tonic::Code::DeadlineExceeded | tonic::Code::Cancelled
        );
    };
    !refused(source)
}

/// True when an error chain holds a refused connection: the request never left.
fn refused(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur = Some(e);
    while let Some(e) = cur {
        if let Some(io) = e.downcast_ref::<std::io::Error>()
            && io.kind() == std::io::ErrorKind::ConnectionRefused
        {
            return true;
        }
        cur = e.source();
    }
    false
}

async fn send_http(
    client: &HttpsClient<Full<Bytes>>,
    settings: &Settings,
    request: &Bytes,
) -> Result<Accepted, SendError> {
    let mut body = request.clone();
    let mut builder = Request::post(settings.url.as_str())
        .header("content-type", "application/x-protobuf")
        // Receivers may gzip their replies; `reply_body` decodes what this allows.
        .header("accept-encoding", "gzip")
        .header(
            "user-agent",
            concat!("snapbridge/", env!("CARGO_PKG_VERSION")),
        );
    if settings.compression == Compression::Gzip {
        body = crate::gzip::gzip(&body).into();
        builder = builder.header("content-encoding", "gzip");
    }
    for (k, v) in &settings.headers {
        builder = builder.header(k.as_str(), v.as_str());
    }
    let req = builder.body(Full::new(body)).map_err(|e| SendError {
        message: format!("cannot build the OTLP/HTTP request (check header names and values): {e}"),
        retryable: false,
        retry_after: None,
        maybe_delivered: false,
    })?;
    let response = client.request(req).await.map_err(|e| SendError {
        message: format!(
            "OTLP/HTTP POST {} failed: {}",
            settings.shown,
            one_line(&error_chain(&e), MAX_MESSAGE_BYTES)
        ),
        retryable: true,
        retry_after: None,
        // A connect error: nothing was sent. Anything later may have struck after the
        // request was written.
        maybe_delivered: !e.is_connect() && !refused(&e),
    })?;
    let status = response.status();
    let retry_after = response
        .headers()
        .get(hyper::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| retry::parse_retry_after(v, std::time::SystemTime::now()));
    let gzipped = response
        .headers()
        .get(hyper::header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("gzip"));
    // Read (a bounded part of) the answer so the connection can be reused.
    let answer = http_body_util::Limited::new(response.into_body(), MAX_REPLY_BYTES as usize)
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let answer = reply_body(answer, gzipped);
    if status.is_success() {
        // The receiver took the request: a reply it garbled does not undo that, it only
        // hides a partial success (reported at debug level).
        return Ok(
            match ExportMetricsServiceResponse::decode(answer.as_slice()) {
                Ok(response) => Accepted::from_response(&response),
                Err(e) => {
                    tracing::debug!(error = %e, "OTLP/HTTP reply is not an ExportMetricsServiceResponse");
                    Accepted::default()
                }
            },
        );
    }
    let retryable = retry::http_retryable(status);
    let text = String::from_utf8_lossy(&answer[..answer.len().min(300)]).into_owned();
    let message = format!(
        "OTLP/HTTP POST {} answered {status}: {}",
        settings.shown,
        one_line(&text, MAX_MESSAGE_BYTES)
    );
    Err(SendError {
        message: super::refusal::with_explanation(message, &text),
        retryable,
        retry_after,
        // The receiver answered: it says it did not take the request.
        maybe_delivered: false,
    })
}

/// The reply's bytes, decompressed when the receiver gzipped them; an undecodable gzip body
/// reads as empty (the status alone then decides).
fn reply_body(answer: Bytes, gzipped: bool) -> Vec<u8> {
    if !gzipped {
        return answer.to_vec();
    }
    crate::gzip::gunzip(&answer, MAX_REPLY_BYTES).unwrap_or_else(|e| {
        tracing::debug!(error = %e, "OTLP/HTTP reply could not be decompressed");
        Vec::new()
    })
}

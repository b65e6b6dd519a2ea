//! Sending one request: OTLP/gRPC with tonic, OTLP/HTTP with hyper; TLS by rustls with the
//! webpki roots for `https` endpoints.

use std::io::Write;
use std::str::FromStr;
use std::time::Duration;

use bytes::BufMut;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::http::uri::PathAndQuery;
use hyper::{Request, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceResponse;
use prost::Message;
use tonic::Status;
use tonic::codec::{Codec, CompressionEncoding, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::metadata::{MetadataKey, MetadataValue};
use tonic::transport::{Channel, ClientTlsConfig, Endpoint};

use super::Settings;
use crate::config::otlp::{Compression, Protocol};

/// Why a send failed, and whether trying again may help.
#[derive(Debug)]
pub struct SendError {
    /// One line, never containing header values.
    pub message: String,
    /// Connection refused, timeouts, 429/502/503/504, gRPC UNAVAILABLE and the like.
    pub retryable: bool,
}

type HttpsClient = Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>;

/// The gRPC method every OTLP metrics receiver serves.
const EXPORT_PATH: &str = "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export";

/// Sends request bytes the encoder already wrote (see wire.rs) and decodes the answer with
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
    Http(HttpsClient),
}

impl Transport {
    /// Prepares the client; connecting happens on the first send, so a receiver that is
    /// down at start delays nothing.
    pub fn new(settings: &Settings) -> Result<Transport, String> {
        match settings.protocol {
            Protocol::Grpc => {
                let mut endpoint = Endpoint::from_shared(settings.url.clone())
                    .map_err(|e| format!("OTLP endpoint {:?}: {e}", settings.url))?
                    .connect_timeout(settings.timeout)
                    .timeout(settings.timeout);
                if settings.url.starts_with("https://") {
                    let mut tls = ClientTlsConfig::new().with_webpki_roots();
                    if let Some(pem) = &settings.ca_pem {
                        tls = tls.ca_certificate(tonic::transport::Certificate::from_pem(pem));
                    }
                    endpoint = endpoint
                        .tls_config(tls)
                        .map_err(|e| format!("OTLP TLS: {e}"))?;
                }
                // Receivers may compress their replies (the OpenTelemetry Collector gzips
                // its answer to a gzip request): a reply is a reply, compressed or not.
                let mut client = tonic::client::Grpc::new(endpoint.connect_lazy())
                    .max_decoding_message_size(16 * 1024 * 1024)
                    .accept_compressed(CompressionEncoding::Gzip);
                if settings.compression == Compression::Gzip {
                    client = client.send_compressed(CompressionEncoding::Gzip);
                }
                Ok(Transport::Grpc(client))
            }
            Protocol::HttpProtobuf => {
                let https = hyper_rustls::HttpsConnectorBuilder::new()
                    .with_tls_config(tls_config(settings.ca_pem.as_deref())?)
                    .https_or_http()
                    .enable_http1()
                    .build();
                let client = Client::builder(TokioExecutor::new())
                    .pool_idle_timeout(Duration::from_secs(30))
                    .build(https);
                Ok(Transport::Http(client))
            }
        }
    }

    /// Sends one request, bounded by the settings' timeout.
    pub async fn send(&mut self, settings: &Settings, request: &Bytes) -> Result<(), SendError> {
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
                    settings.url,
                    humantime::format_duration(settings.timeout)
                ),
                retryable: true,
            }),
        }
    }
}

async fn send_grpc(
    client: &mut tonic::client::Grpc<Channel>,
    settings: &Settings,
    request: Bytes,
) -> Result<(), SendError> {
    let mut req = tonic::Request::new(request);
    for (k, v) in &settings.headers {
        let key = MetadataKey::from_str(&k.to_ascii_lowercase()).map_err(|_| SendError {
            message: format!("OTLP header name {k:?} is not valid in gRPC metadata"),
            retryable: false,
        })?;
        let value = MetadataValue::from_str(v).map_err(|_| SendError {
            message: format!("OTLP header {k:?} has a value that is not valid ASCII"),
            retryable: false,
        })?;
        req.metadata_mut().insert(key, value);
    }
    if let Err(e) = client.ready().await {
        return Err(SendError {
            message: format!(
                "gRPC connection to {} failed: {}",
                settings.url,
                one_line(&error_chain(&e))
            ),
            retryable: true,
        });
    }
    let path = PathAndQuery::from_static(EXPORT_PATH);
    match client.unary(req, path, RawCodec).await {
        Ok(response) => match response.into_inner().partial_success {
            Some(p) if p.rejected_data_points > 0 => Err(SendError {
                message: format!(
                    "receiver rejected {} data points: {}",
                    p.rejected_data_points,
                    one_line(&p.error_message)
                ),
                retryable: false,
            }),
            _ => Ok(()),
        },
        Err(status) => {
            use tonic::Code;
            let retryable = matches!(
                status.code(),
                Code::Unavailable
                    | Code::DeadlineExceeded
                    | Code::ResourceExhausted
                    | Code::Aborted
                    | Code::OutOfRange
                    | Code::DataLoss
                    | Code::Cancelled
                    | Code::Unknown
            );
            Err(SendError {
                message: format!(
                    "gRPC export to {} failed: {:?}: {}",
                    settings.url,
                    status.code(),
                    one_line(status.message())
                ),
                retryable,
            })
        }
    }
}

async fn send_http(
    client: &HttpsClient,
    settings: &Settings,
    request: &Bytes,
) -> Result<(), SendError> {
    let mut body = request.clone();
    let mut builder = Request::post(settings.url.as_str())
        .header("content-type", "application/x-protobuf")
        .header(
            "user-agent",
            concat!("snapbridge/", env!("CARGO_PKG_VERSION")),
        );
    if settings.compression == Compression::Gzip {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        // Writing to a Vec cannot fail.
        let _ = enc.write_all(&body);
        body = enc.finish().unwrap_or_default().into();
        builder = builder.header("content-encoding", "gzip");
    }
    for (k, v) in &settings.headers {
        builder = builder.header(k.as_str(), v.as_str());
    }
    let req = builder.body(Full::new(body)).map_err(|e| SendError {
        message: format!("cannot build the OTLP/HTTP request (check header names and values): {e}"),
        retryable: false,
    })?;
    let response = client.request(req).await.map_err(|e| SendError {
        message: format!(
            "OTLP/HTTP POST {} failed: {}",
            settings.url,
            one_line(&error_chain(&e))
        ),
        retryable: true,
    })?;
    let status = response.status();
    // Read (a bounded part of) the answer so the connection can be reused.
    let answer = http_body_util::Limited::new(response.into_body(), 64 * 1024)
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    if status.is_success() {
        return Ok(());
    }
    let retryable = matches!(
        status,
        StatusCode::TOO_MANY_REQUESTS
            | StatusCode::BAD_GATEWAY
            | StatusCode::SERVICE_UNAVAILABLE
            | StatusCode::GATEWAY_TIMEOUT
    );
    let text = String::from_utf8_lossy(&answer[..answer.len().min(300)]).into_owned();
    Err(SendError {
        message: format!(
            "OTLP/HTTP POST {} answered {status}: {}",
            settings.url,
            one_line(&text)
        ),
        retryable,
    })
}

/// The public webpki roots, plus the configured CA if any.
fn tls_config(ca_pem: Option<&[u8]>) -> Result<rustls::ClientConfig, String> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(pem) = ca_pem {
        let mut added = 0;
        for cert in CertificateDer::pem_slice_iter(pem) {
            let cert = cert.map_err(|e| format!("OTLP CA file: not a PEM certificate: {e}"))?;
            roots
                .add(cert)
                .map_err(|e| format!("OTLP CA file: unusable certificate: {e}"))?;
            added += 1;
        }
        if added == 0 {
            return Err("OTLP CA file holds no PEM certificate".into());
        }
    }
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("OTLP TLS: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut source = e.source();
    while let Some(inner) = source {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        source = inner.source();
    }
    s
}

fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(300)
        .collect()
}

//! Content negotiation: which format and encoding a scrape asked for.

use super::protobuf::PROTOBUF_CONTENT_TYPE;
use super::render::{Format, OPENMETRICS_CONTENT_TYPE, TEXT_CONTENT_TYPE};
use crate::names::Escaping;

/// The quality a client gives one element of an `Accept` or `Accept-Encoding` list
/// (`gzip;q=0.5`): `q` when it is there and reads as a number, 1 otherwise.
fn quality<'a>(params: impl Iterator<Item = &'a str>) -> f32 {
    for p in params {
        if let Some((name, value)) = p.split_once('=')
            && name.trim().eq_ignore_ascii_case("q")
        {
            return value.trim().parse().unwrap_or(1.0);
        }
    }
    1.0
}

/// The elements of a header list: each one's first token (a media type or a coding) and its
/// quality.
fn qualities(header: &str) -> impl Iterator<Item = (&str, f32)> {
    header.split(',').map(|part| {
        let mut params = part.split(';').map(str::trim);
        let token = params.next().unwrap_or("");
        (token, quality(params))
    })
}

/// What a scrape asked for: the format, the text format's version, and how names outside
/// the legacy charset must be escaped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Negotiated {
    /// The body's format.
    pub format: Format,
    /// For the text format: version 1.0.0 was asked for (the same lines as 0.0.4; the
    /// version says UTF-8 names may be quoted).
    pub text_v1: bool,
    /// The `escaping` the scraper asked for, `underscores` when it named none.
    pub escaping: Escaping,
}

impl Negotiated {
    /// The text format 0.0.4, names escaped with underscores: what a scrape without
    /// `Accept` gets.
    pub const DEFAULT: Negotiated = Negotiated {
        format: Format::Text,
        text_v1: false,
        escaping: Escaping::Underscores,
    };

    /// The `Content-Type` of the answer, with the `escaping` used, as Prometheus' own Go
    /// client writes it (`text/plain; version=0.0.4; charset=utf-8; escaping=underscores`).
    pub fn content_type(&self) -> String {
        let base = match self.format {
            Format::Text if self.text_v1 => TEXT_V1_CONTENT_TYPE,
            Format::Text => TEXT_CONTENT_TYPE,
            Format::OpenMetrics => OPENMETRICS_CONTENT_TYPE,
            Format::Protobuf => PROTOBUF_CONTENT_TYPE,
        };
        format!("{base}; escaping={}", self.escaping.as_str())
    }
}

/// Content type of the text format's version 1.0.0.
pub const TEXT_V1_CONTENT_TYPE: &str = "text/plain; version=1.0.0; charset=utf-8";

/// Picks the format from an `Accept` header: of the media types it names that snapbridge
/// serves, the one with the highest quality, the first listed on a tie (as Prometheus'
/// own negotiation does); the text format when nothing matches or the header is absent.
/// Protobuf counts only as `io.prometheus.client.MetricFamily` in the `delimited` encoding;
/// the text format in versions 0.0.4 and 1.0.0, OpenMetrics in 0.0.1 and 1.0.0 (both answered
/// as 1.0.0, which reads the same). The chosen element's `escaping` parameter, when it names
/// a scheme Prometheus defines, says how names are escaped.
pub fn negotiate(accept: Option<&str>) -> Negotiated {
    let Some(header) = accept else {
        return Negotiated::DEFAULT;
    };
    let mut best: Option<(Negotiated, f32)> = None;
    for part in header.split(',') {
        let mut params = part.split(';').map(str::trim);
        let media = params.next().unwrap_or("");
        let params: Vec<(&str, &str)> = params
            .filter_map(|p| p.split_once('='))
            .map(|(k, v)| (k.trim(), v.trim().trim_matches('"')))
            .collect();
        let param = |name: &str| {
            params
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| *v)
        };
        let q = param("q").map_or(1.0, |q| q.parse().unwrap_or(1.0));
        let version = param("version");
        let mut text_v1 = false;
        let format = if media.eq_ignore_ascii_case("application/openmetrics-text") {
            if !matches!(version, None | Some("0.0.1" | "1.0.0")) {
                continue;
            }
            Format::OpenMetrics
        } else if media.eq_ignore_ascii_case("application/vnd.google.protobuf")
            && param("proto") == Some("io.prometheus.client.MetricFamily")
            && param("encoding").is_none_or(|e| e == "delimited")
        {
            Format::Protobuf
        } else if media.eq_ignore_ascii_case("text/plain") {
            match version {
                None | Some("0.0.4") => {}
                Some("1.0.0") => text_v1 = true,
                Some(_) => continue,
            }
            Format::Text
        } else if media == "*/*" || media.eq_ignore_ascii_case("text/*") {
            Format::Text
        } else {
            continue;
        };
        let escaping = param("escaping")
            .and_then(Escaping::parse)
            .unwrap_or(Escaping::Underscores);
        let choice = Negotiated {
            format,
            text_v1,
            escaping,
        };
        if q > 0.0 && best.is_none_or(|(_, b)| q > b) {
            best = Some((choice, q));
        }
    }
    best.map_or(Negotiated::DEFAULT, |(n, _)| n)
}

/// True when an `Accept-Encoding` header accepts gzip: named with a non-zero quality, or
/// matched by `*` with one and not refused by name (`gzip;q=0` refuses it whatever `*` says).
pub fn accepts_gzip(accept_encoding: Option<&str>) -> bool {
    let Some(header) = accept_encoding else {
        return false;
    };
    let (mut named, mut any) = (None, None);
    for (coding, q) in qualities(header) {
        if coding.eq_ignore_ascii_case("gzip") || coding.eq_ignore_ascii_case("x-gzip") {
            named = Some(named.map_or(q, |n: f32| n.max(q)));
        } else if coding == "*" {
            any = Some(q);
        }
    }
    named.or(any).is_some_and(|q| q > 0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiation_follows_prometheus_accept_headers() {
        let prom = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
        let format = |h| negotiate(h).format;
        assert_eq!(format(Some(prom)), Format::OpenMetrics);
        assert_eq!(format(Some("text/plain")), Format::Text);
        assert_eq!(format(None), Format::Text);
        assert_eq!(
            format(Some("application/openmetrics-text;q=0")),
            Format::Text
        );
        // Versions snapbridge does not write are not matched.
        assert_eq!(
            format(Some(
                "application/openmetrics-text;version=2.0.0,text/plain;q=0.1"
            )),
            Format::Text
        );
        let v1 = negotiate(Some("text/plain;version=1.0.0;escaping=allow-utf-8"));
        assert!(v1.text_v1);
        assert_eq!(
            v1.content_type(),
            "text/plain; version=1.0.0; charset=utf-8; escaping=allow-utf-8"
        );
        // An escaping Prometheus does not define is ignored: underscores.
        let odd = negotiate(Some("application/openmetrics-text;escaping=utf-8"));
        assert_eq!(odd.escaping, Escaping::Underscores);
        assert_eq!(
            negotiate(None).content_type(),
            "text/plain; version=0.0.4; charset=utf-8; escaping=underscores"
        );
        assert!(accepts_gzip(Some("gzip, deflate")));
        assert!(!accepts_gzip(Some("gzip;q=0")));
        // A quality of zero, however it is spelled, refuses gzip; `*` covers it unless
        // gzip is refused by name.
        for refused in [
            "gzip; q=0.0",
            "gzip;Q=0.000",
            "*;q=0",
            "gzip;q=0, *",
            "identity, *;q=0",
        ] {
            assert!(!accepts_gzip(Some(refused)), "{refused}");
        }
        for accepted in [
            "*",
            "gzip;q=0.5",
            "br;q=1, gzip;q=0.1",
            "deflate, *;q=0.2",
            "GZIP",
        ] {
            assert!(accepts_gzip(Some(accepted)), "{accepted}");
        }
        assert!(!accepts_gzip(Some("identity")));
        assert!(!accepts_gzip(None));
    }
}

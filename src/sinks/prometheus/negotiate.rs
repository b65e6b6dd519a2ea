//! Content negotiation: which format and encoding a scrape asked for.

use super::render::Format;

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

/// Picks the format from an `Accept` header: of the media types it names that snapbridge
/// serves, the one with the highest quality, the first listed on a tie (as Prometheus'
/// own negotiation does); the text format when nothing matches or the header is absent.
/// Protobuf counts only as `io.prometheus.client.MetricFamily` in the `delimited` encoding.
pub fn negotiate(accept: Option<&str>) -> Format {
    let Some(header) = accept else {
        return Format::Text;
    };
    let mut best: Option<(Format, f32)> = None;
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
        let format = if media.eq_ignore_ascii_case("application/openmetrics-text") {
            Format::OpenMetrics
        } else if media.eq_ignore_ascii_case("application/vnd.google.protobuf")
            && param("proto") == Some("io.prometheus.client.MetricFamily")
            && param("encoding").is_none_or(|e| e == "delimited")
        {
            Format::Protobuf
        } else if media.eq_ignore_ascii_case("text/plain")
            || media == "*/*"
            || media.eq_ignore_ascii_case("text/*")
        {
            Format::Text
        } else {
            continue;
        };
        if q > 0.0 && best.is_none_or(|(_, b)| q > b) {
            best = Some((format, q));
        }
    }
    best.map_or(Format::Text, |(f, _)| f)
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
        assert_eq!(negotiate(Some(prom)), Format::OpenMetrics);
        assert_eq!(negotiate(Some("text/plain")), Format::Text);
        assert_eq!(negotiate(None), Format::Text);
        assert_eq!(
            negotiate(Some("application/openmetrics-text;q=0")),
            Format::Text
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

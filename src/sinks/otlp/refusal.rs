//! Receivers' refusals that have a known cause and a known fix, said in words in the
//! export error (the log and the status page) rather than left as a bare status code.

/// What Prometheus' OTLP receiver answers (HTTP 400 or 500) for a delta sum or histogram
/// when its `otlp-deltatocumulative` feature is off.
const PROMETHEUS_DELTA_REFUSAL: &str = "invalid temporality and type combination";

/// The explanation to append to an export error whose receiver message is `reply`, if the
/// refusal is one snapbridge recognises.
pub fn explain(reply: &str) -> Option<&'static str> {
    reply.contains(PROMETHEUS_DELTA_REFUSAL).then_some(
        "the receiver refused delta temporality: enable Prometheus' otlp-deltatocumulative \
         feature (--enable-feature=otlp-deltatocumulative) or use temporality = \"cumulative\"",
    )
}

/// `message`, followed by the explanation of `reply` when there is one.
pub fn with_explanation(message: String, reply: &str) -> String {
    match explain(reply) {
        Some(why) => format!("{message} ({why})"),
        None => message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prometheus_delta_refusals_are_explained() {
        let reply = "invalid temporality and type combination for metric \"jobs_done\"";
        let message = with_explanation("answered 400 Bad Request: x".into(), reply);
        assert!(message.contains("otlp-deltatocumulative"), "{message}");
        assert!(
            message.contains("temporality = \"cumulative\""),
            "{message}"
        );
        assert_eq!(with_explanation("m".into(), "out of order sample"), "m");
    }
}

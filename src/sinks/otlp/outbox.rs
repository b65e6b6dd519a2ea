//! What the sink's task shares with the pipeline: the encoder with its delta baselines,
//! and the request prepared for the next export. In delta mode the request is built (and
//! its points marked sent) when the view is published, before the cycle's state write.

use std::sync::{Arc, Mutex};

use super::{Encoder, Outcome, Pending, Temporality};
use crate::pipeline::{DurableState, PublishHook};
use crate::view::View;

/// The encoder (with its delta baselines) and the request prepared for the next export,
/// shared by the pipeline's side (preparing, saving) and the sink's task (sending).
pub(super) struct Outbox {
    pub encoder: Encoder,
    pub temporality: Temporality,
    // A request is out (sent or being retried): none is prepared meanwhile.
    pub busy: bool,
    // The sink was replaced ([`OtlpSink::retire`]): its hook prepares nothing more.
    pub retired: bool,
    pub prepared: Option<Prepared>,
}

/// A request built for one view, not sent yet.
pub(super) struct Prepared {
    pub cycle: u64,
    pub request: bytes::Bytes,
    pub pending: Pending,
}

pub(super) type SharedOutbox = Arc<Mutex<Outbox>>;

pub(super) fn lock(outbox: &SharedOutbox) -> std::sync::MutexGuard<'_, Outbox> {
    // The data stays consistent across a panic elsewhere (each change is one call).
    outbox
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Prepares each view's delta request as it is published (before the state write).
pub(super) struct Preparer(pub SharedOutbox);

impl PublishHook for Preparer {
    fn on_publish(&mut self, view: &mut View) {
        let mut outbox = lock(&self.0);
        if outbox.busy || outbox.retired {
            return;
        }
        // A request prepared for an earlier view never went out: its points were not sent.
        if let Some(old) = outbox.prepared.take() {
            outbox.encoder.settle(old.pending, Outcome::Refused);
        }
        let (request, pending) = outbox.encoder.build(view);
        outbox.prepared = Some(Prepared {
            cycle: view.cycle,
            request: request.into(),
            pending,
        });
    }

    fn retired(&self) -> bool {
        lock(&self.0).retired
    }
}

/// The delta baselines' part of the state file.
pub(super) struct BookSection(pub SharedOutbox);

impl DurableState for BookSection {
    fn save(&self, out: &mut String) {
        lock(&self.0).encoder.book().save(out);
    }
}

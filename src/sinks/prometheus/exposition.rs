//! What the Prometheus sink derives from each view: its bodies, rendered once.

use std::sync::{Arc, OnceLock};

use bytes::Bytes;

use super::line_prefixes::{LinePrefixes, PrefixCache};
use super::render::{self, Format};
use crate::pipeline::PublishHook;
use crate::view::View;

/// The sink's attachment to a view: the line prefixes its text body was rendered from
/// (the other format is rendered from them too), and each body, made the first time it is
/// asked for and never again.
#[derive(Debug, Default)]
pub struct Exposition {
    /// The prefixes, checked against this view, when the text body was rendered from them.
    pub prefixes: Option<Arc<LinePrefixes>>,
    text: OnceLock<Bytes>,
    text_gzip: OnceLock<Bytes>,
    openmetrics: OnceLock<Bytes>,
    openmetrics_gzip: OnceLock<Bytes>,
    protobuf: OnceLock<Bytes>,
    protobuf_gzip: OnceLock<Bytes>,
}

impl Exposition {
    /// An exposition whose bodies will be rendered from `prefixes` (when they fit the
    /// view) as they are asked for.
    pub fn new(prefixes: Option<Arc<LinePrefixes>>) -> Self {
        Exposition {
            prefixes,
            ..Exposition::default()
        }
    }

    /// The cells for `format`: the plain body and its gzipped form.
    fn cells(&self, format: Format) -> (&OnceLock<Bytes>, &OnceLock<Bytes>) {
        match format {
            Format::Text => (&self.text, &self.text_gzip),
            Format::OpenMetrics => (&self.openmetrics, &self.openmetrics_gzip),
            Format::Protobuf => (&self.protobuf, &self.protobuf_gzip),
        }
    }
}

/// The publish hook: renders each view's text body when the view is published, so every
/// scrape of a cycle is served the same bytes.
#[derive(Debug)]
pub struct Renderer {
    // Line prefixes of the last views: a steady cycle renders from them.
    prefixes: PrefixCache,
    // The last body's length, so the next one is allocated once.
    last_len: usize,
}

impl Renderer {
    /// A renderer with nothing cached yet.
    pub fn new() -> Self {
        Renderer {
            prefixes: PrefixCache::new(),
            last_len: 4096,
        }
    }
}

impl Default for Renderer {
    fn default() -> Self {
        Renderer::new()
    }
}

impl PublishHook for Renderer {
    fn on_publish(&mut self, view: &mut View) {
        let (text, prefixes) = self
            .prefixes
            .render(view, self.last_len + self.last_len / 8);
        self.last_len = text.len();
        let exposition = Exposition::new(prefixes);
        let _ = exposition.text.set(text.into());
        view.attachments.insert(exposition);
    }
}

/// Renders a whole view in `format`. `capacity` is a size hint (the previous body's length).
///
/// From the line prefixes the [`Renderer`] attached to the view (nearly every cycle: see
/// [`LinePrefixes`]), from scratch otherwise.
pub fn render(view: &View, format: Format, capacity: usize) -> Vec<u8> {
    view.attachments
        .get::<Exposition>()
        .and_then(|e| e.prefixes.as_ref())
        .and_then(|p| p.render(view, format, capacity))
        .unwrap_or_else(|| render::render_from_scratch(view, format, capacity))
}

/// True when [`body`] has nothing left to render or compress for this request.
pub fn body_ready(view: &View, format: Format, gzip: bool) -> bool {
    view.attachments.get::<Exposition>().is_some_and(|e| {
        let (plain, zipped) = e.cells(format);
        if gzip { zipped } else { plain }.get().is_some()
    })
}

/// The body of `view` in `format`, gzipped or not: rendered (or compressed) the first time
/// it is asked for, then served from the view as shared bytes. A view without the sink's
/// attachment (the empty one served before the first cycle) is rendered each time.
pub fn body(view: &View, format: Format, gzip: bool) -> Bytes {
    let Some(exposition) = view.attachments.get::<Exposition>() else {
        let plain = render::render_from_scratch(view, format, 4096);
        return if gzip {
            crate::gzip::gzip(&plain).into()
        } else {
            plain.into()
        };
    };
    let (plain, zipped) = exposition.cells(format);
    let plain = plain
        .get_or_init(|| render(view, format, 1 << 16).into())
        .clone();
    if !gzip {
        return plain;
    }
    zipped
        .get_or_init(|| crate::gzip::gzip(&plain).into())
        .clone()
}

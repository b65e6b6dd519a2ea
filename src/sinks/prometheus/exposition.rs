//! What the Prometheus sink derives from each view: its bodies, rendered once.

use std::sync::{Arc, OnceLock};

use bytes::Bytes;

use super::escaped::{escaped_view, has_utf8_names};
use super::line_prefixes::{LinePrefixes, PrefixCache};
use super::render::{self, Format};
use crate::names::Escaping;
use crate::pipeline::PublishHook;
use crate::view::View;

/// Formats, in the order of the exposition's cells.
const FORMATS: [Format; 3] = [Format::Text, Format::OpenMetrics, Format::Protobuf];

/// One cell per format and escaping scheme: the plain body and its gzipped form.
type Cells = [[OnceLock<Bytes>; 2]; FORMATS.len() * Escaping::ALL.len()];

/// The sink's attachment to a view: the line prefixes checked against it (the text and
/// OpenMetrics bodies are rendered from them), and each body, made the first time it is
/// asked for and never again.
#[derive(Debug, Default)]
pub struct Exposition {
    /// The prefixes, checked against this view when it was published, if any fit it.
    pub prefixes: Option<Arc<LinePrefixes>>,
    cells: Cells,
    /// Whether the view holds names that escaping changes (found out at the first scrape
    /// that asks for escaping; with the default name policy it never does).
    utf8_names: OnceLock<bool>,
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

    /// About how large a body of this view is (its line prefixes and numbers), to allocate
    /// it once.
    fn size_hint(&self, format: Format) -> usize {
        self.prefixes
            .as_ref()
            .map_or(1 << 16, |p| p.size_hint(format))
    }

    /// The cells for `format` under `escaping` (already reduced by [`Exposition::effective`]):
    /// the plain body and its gzipped form.
    fn cells(&self, format: Format, escaping: Escaping) -> &[OnceLock<Bytes>; 2] {
        let f = FORMATS.iter().position(|x| *x == format).unwrap_or(0);
        &self.cells[f * Escaping::ALL.len() + escaping.index()]
    }

    /// The scheme whose body answers a scrape asking for `escaping`: `allow-utf-8` (the
    /// view's own names) whenever escaping would change nothing.
    fn effective(&self, view: &View, escaping: Escaping) -> Escaping {
        if escaping == Escaping::AllowUtf8 || !*self.utf8_names.get_or_init(|| has_utf8_names(view))
        {
            Escaping::AllowUtf8
        } else {
            escaping
        }
    }
}

/// The publish hook: attaches to each view the line prefixes its bodies will be rendered
/// from. Nothing is rendered at publish: a body is made on the first scrape that asks for
/// it (Prometheus 3 asks for OpenMetrics or protobuf, never the text format the cycle used
/// to render for it), then every scrape of that view is served the same bytes.
#[derive(Debug)]
pub struct Renderer {
    // Line prefixes of the last views: a steady cycle's bodies are rendered from them.
    prefixes: PrefixCache,
}

impl Renderer {
    /// A renderer with nothing cached yet.
    pub fn new() -> Self {
        Renderer {
            prefixes: PrefixCache::new(),
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
        let prefixes = self.prefixes.prefixes_for(view);
        view.attachments.insert(Exposition::new(prefixes));
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

/// Renders a whole view in `format` with names escaped by `escaping`.
pub fn render_escaped(view: &View, format: Format, escaping: Escaping, capacity: usize) -> Vec<u8> {
    if escaping == Escaping::AllowUtf8 || !has_utf8_names(view) {
        return render(view, format, capacity);
    }
    render::render_from_scratch(&escaped_view(view, escaping), format, capacity)
}

/// True when [`body`] has nothing left to render or compress for this request.
pub fn body_ready(view: &View, format: Format, gzip: bool) -> bool {
    body_escaped_ready(view, format, Escaping::AllowUtf8, gzip)
}

/// True when [`body_escaped`] has nothing left to render or compress for this request.
pub fn body_escaped_ready(view: &View, format: Format, escaping: Escaping, gzip: bool) -> bool {
    view.attachments.get::<Exposition>().is_some_and(|e| {
        let Some(&utf8) = e.utf8_names.get() else {
            return escaping == Escaping::AllowUtf8
                && e.cells(format, escaping)[usize::from(gzip)].get().is_some();
        };
        let escaping = if utf8 { escaping } else { Escaping::AllowUtf8 };
        e.cells(format, escaping)[usize::from(gzip)].get().is_some()
    })
}

/// The body of `view` in `format` with its names as the view has them (UTF-8 ones
/// included), gzipped or not: see [`body_escaped`].
pub fn body(view: &View, format: Format, gzip: bool) -> Bytes {
    body_escaped(view, format, Escaping::AllowUtf8, gzip)
}

/// The body of `view` in `format`, names escaped by `escaping`, gzipped or not: rendered (or
/// compressed) the first time it is asked for, then served from the view as shared bytes.
/// A view without the sink's attachment (the empty one served before the first cycle) is
/// rendered each time.
pub fn body_escaped(view: &View, format: Format, escaping: Escaping, gzip: bool) -> Bytes {
    let Some(exposition) = view.attachments.get::<Exposition>() else {
        let plain = render_escaped(view, format, escaping, 4096);
        return if gzip {
            crate::gzip::gzip(&plain).into()
        } else {
            plain.into()
        };
    };
    let escaping = exposition.effective(view, escaping);
    let [plain, zipped] = exposition.cells(format, escaping);
    let plain = plain
        .get_or_init(|| render_escaped(view, format, escaping, exposition.size_hint(format)).into())
        .clone();
    if !gzip {
        return plain;
    }
    zipped
        .get_or_init(|| crate::gzip::gzip(&plain).into())
        .clone()
}

//! The authorization certificate (R8.4) as a PDF, typeset with typst. Kept
//! in its own crate: typst takes minutes to compile, and this way other edits
//! do not rebuild it. Fonts come from the caller (Debian's fonts-noto-cjk);
//! nothing is downloaded.

use typst::foundations::{Array, Bytes, Dict, IntoValue, Str, Value};
use typst::text::Font;
use typst_as_lib::TypstEngine;

/// The faces a certificate may be set in, parsed once from font files
/// (OTF/TTF/TTC bytes) and shared by every render: a clone shares the
/// bytes, it does not copy them (a CJK collection is 20–27 MB).
#[derive(Debug, Clone)]
pub struct Fonts(Vec<Font>);

impl Fonts {
    /// Every face of every file; None when no file holds a usable face.
    pub fn from_files(files: Vec<Vec<u8>>) -> Option<Self> {
        let faces: Vec<Font> = files
            .into_iter()
            .flat_map(|bytes| Font::iter(Bytes::new(bytes)))
            .collect();
        (!faces.is_empty()).then_some(Self(faces))
    }
}

const TEMPLATE: &str = include_str!("cert.typ");

/// One authorized item as printed.
#[derive(Debug, Clone)]
pub struct Item {
    pub seq: String,
    pub name: String,
    pub range: String,
    pub accuracy: String,
    pub spec: String,
}

/// What the certificate shows.
#[derive(Debug, Clone)]
pub struct Certificate {
    pub number: String,
    pub station: String,
    pub regulator: String,
    pub valid_from: String,
    pub valid_until: String,
    pub region: String,
    pub items: Vec<Item>,
    /// The verification URL, printed under the QR code.
    pub url: String,
    /// The QR code as SVG.
    pub qr_svg: String,
}

fn s(v: &str) -> Value {
    Str::from(v).into_value()
}

impl Certificate {
    fn inputs(&self) -> Dict {
        let mut d = Dict::new();
        d.insert("number".into(), s(&self.number));
        d.insert("station".into(), s(&self.station));
        d.insert("regulator".into(), s(&self.regulator));
        d.insert("valid_from".into(), s(&self.valid_from));
        d.insert("valid_until".into(), s(&self.valid_until));
        d.insert("region".into(), s(&self.region));
        d.insert("url".into(), s(&self.url));
        d.insert("qr".into(), s(&self.qr_svg));
        let items: Array = self
            .items
            .iter()
            .map(|i| {
                let mut m = Dict::new();
                m.insert("seq".into(), s(&i.seq));
                m.insert("name".into(), s(&i.name));
                m.insert("range".into(), s(&i.range));
                m.insert("accuracy".into(), s(&i.accuracy));
                m.insert("spec".into(), s(&i.spec));
                m.into_value()
            })
            .collect();
        d.insert("items".into(), items.into_value());
        d
    }
}

/// Typesets the certificate in the given faces.
pub fn render(cert: &Certificate, fonts: &Fonts) -> Result<Vec<u8>, String> {
    let engine = TypstEngine::builder()
        .main_file(TEMPLATE)
        .fonts(fonts.0.iter().cloned())
        .build();
    let doc = engine
        .compile_with_input(cert.inputs())
        .output
        .map_err(|e| format!("typesetting the certificate: {e:?}"))?;
    let pdf = typst_pdf::pdf(&doc, &typst_pdf::PdfOptions::default())
        .map_err(|e| format!("writing the certificate PDF: {e:?}"));
    drop(doc);
    drop(engine);
    // typst memoizes layout in process-wide caches that are never freed on
    // their own; one certificate's are of no use to the next (new inputs).
    typst::comemo::evict(0);
    pdf
}

//! A visible signature's appearance (PDF 32000-1 12.7.4.5, 12.5.5): a form
//! XObject with a frame and the server's lines, in Helvetica, a standard
//! font every viewer has, so nothing is embedded. The text is the server's
//! alone (who signed, when, which request); the relying party only places
//! it, on a page both channels named.

use super::pades::invalid;
use crate::error::{Error, Result};
use lopdf::{Dictionary, Document, Object, ObjectId, Stream, dictionary};
use wysiwys_proto::ErrorCode;
use wysiwys_proto::stamp::VisibleSignature;

/// Where the stamp goes and what it says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamp {
    pub placement: VisibleSignature,
    pub lines: Vec<String>,
}

impl Stamp {
    /// The lines of a signature by `signer` at `signed_at_ms` for a request.
    pub fn for_signature(placement: VisibleSignature, signer: &str, signed_at_ms: i64, request_id: &str) -> Stamp {
        Stamp {
            placement,
            lines: vec![
                format!("Signed by {signer}"),
                wysiwys_proto::time::format_utc(signed_at_ms.div_euclid(1000)),
                format!("Request {request_id}"),
                "Confirmed in the browser and on a device".to_owned(),
            ],
        }
    }

    /// The appearance stream, sized to the stamp's rectangle.
    pub(super) fn appearance(&self) -> Stream {
        let (width, height) = (self.placement.width(), self.placement.height());
        let (w, h) = (f64::from(width), f64::from(height));
        let longest = self.lines.iter().map(|l| l.chars().count()).max().unwrap_or(1).max(1);
        let count = self.lines.len().max(1);
        // Helvetica's letters are about 0.55 em wide on average; a line is
        // 1.3 em high. The frame keeps 4 points free on every side.
        let size = (11.0_f64).min((h - 8.0) / (1.3 * count as f64)).min((w - 8.0) / (0.55 * longest as f64)).max(4.0);
        let leading = size * 1.3;
        let mut content = format!(
            "q 0.15 0.25 0.55 RG 1 w 0.5 0.5 {:.1} {:.1} re S BT /Helv {size:.2} Tf 0.1 0.1 0.25 rg {leading:.2} TL 4 {:.2} Td",
            w - 1.0,
            h - 1.0,
            h - 4.0 - size
        );
        for (i, line) in self.lines.iter().enumerate() {
            if i > 0 {
                content.push_str(" T*");
            }
            content.push_str(&format!(" ({}) Tj", pdf_text(line)));
        }
        content.push_str(" ET Q");
        let font = dictionary! {
            "Type" => "Font",
            "Subtype" => "Type1",
            "BaseFont" => "Helvetica",
            "Encoding" => "WinAnsiEncoding",
        };
        let dict = dictionary! {
            "Type" => "XObject",
            "Subtype" => "Form",
            "BBox" => vec![0.into(), 0.into(), i64::from(width).into(), i64::from(height).into()],
            "Resources" => dictionary! { "Font" => dictionary! { "Helv" => font } },
        };
        Stream::new(dict, content.into_bytes())
    }
}

/// A literal string's body: printable ASCII, with `\`, `(` and `)` escaped;
/// anything else (which WinAnsi Helvetica may not show alike everywhere)
/// becomes `?`. The summary both channels showed has the full text.
fn pdf_text(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    for c in line.chars() {
        match c {
            '\\' | '(' | ')' => {
                out.push('\\');
                out.push(c);
            }
            ' '..='~' => out.push(c),
            _ => out.push('?'),
        }
    }
    out
}

/// The page the stamp goes on, which must hold its rectangle: the page's
/// `/MediaBox`, its own or inherited from the page tree.
pub fn page_for(document: &Document, placement: &VisibleSignature) -> Result<ObjectId> {
    let page_id = *document.get_pages().get(&placement.page).ok_or_else(|| {
        Error::refused(ErrorCode::BadRequest, format!("visible_signature: no page {}", placement.page))
    })?;
    let media_box = media_box(document, page_id)?;
    let [x1, y1, x2, y2] = placement.rect.map(f64::from);
    if x1 < media_box[0] || y1 < media_box[1] || x2 > media_box[2] || y2 > media_box[3] {
        return Err(Error::refused(
            ErrorCode::BadRequest,
            format!("visible_signature.rect is not inside page {}, whose box is {media_box:?}", placement.page),
        ));
    }
    Ok(page_id)
}

fn media_box(document: &Document, page_id: ObjectId) -> Result<[f64; 4]> {
    let mut node: &Dictionary = document.get_dictionary(page_id).map_err(invalid)?;
    // The page tree is shallow; a loop in it is a broken file.
    for _ in 0..32 {
        if let Ok(found) = node.get(b"MediaBox") {
            let found = match found {
                Object::Reference(id) => document.get_object(*id).map_err(invalid)?,
                direct => direct,
            };
            let numbers: Vec<f64> = found
                .as_array()
                .map_err(invalid)?
                .iter()
                .map(|n| n.as_float().map(f64::from).or_else(|_| n.as_i64().map(|i| i as f64)))
                .collect::<std::result::Result<_, _>>()
                .map_err(invalid)?;
            let [a, b, c, d] = numbers[..] else { return Err(invalid("a MediaBox is four numbers")) };
            return Ok([a.min(c), b.min(d), a.max(c), b.max(d)]);
        }
        let parent =
            node.get(b"Parent").and_then(Object::as_reference).map_err(|_| invalid("a page has no MediaBox"))?;
        node = document.get_dictionary(parent).map_err(invalid)?;
    }
    Err(invalid("the page tree is too deep"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_appearance_escapes_what_pdf_strings_need_and_fits_its_box() {
        let placement = VisibleSignature { page: 1, rect: [50, 50, 350, 130] };
        let stamp = Stamp::for_signature(placement, "ann (tax) \\ Åsa", 1_796_000_000_000, "r1");
        assert_eq!(stamp.lines[1], "2026-11-30 00:53:20 UTC");
        let stream = stamp.appearance();
        let content = String::from_utf8(stream.content.clone()).unwrap();
        assert!(content.contains(r"(Signed by ann \(tax\) \\ ?sa) Tj"), "{content}");
        assert!(content.contains("(Request r1) Tj"), "{content}");
        let bbox = stream.dict.get(b"BBox").unwrap().as_array().unwrap();
        assert_eq!(bbox.iter().map(|n| n.as_i64().unwrap()).collect::<Vec<_>>(), vec![0, 0, 300, 80]);
    }

    #[test]
    fn a_stamp_must_lie_on_its_page() {
        let pdf = super::super::pades::tests::sample_pdf(2);
        let document = Document::load_mem(&pdf).unwrap();
        assert!(page_for(&document, &VisibleSignature { page: 2, rect: [50, 50, 350, 130] }).is_ok());
        for bad in [
            VisibleSignature { page: 3, rect: [50, 50, 350, 130] },
            VisibleSignature { page: 1, rect: [400, 50, 700, 130] },
            VisibleSignature { page: 1, rect: [50, 780, 350, 860] },
        ] {
            assert!(page_for(&document, &bad).is_err(), "{bad:?}");
        }
    }
}

//! The browser channel's pages: askama templates with typed view structs,
//! and the static files they use (no inline script, no external CDN).

#![forbid(unsafe_code)]

pub use askama::Template;

/// The landing page: what this is and where the API is.
#[derive(Template, Debug)]
#[template(path = "index.html")]
pub struct IndexPage<'a> {
    pub origin: &'a str,
    pub version: &'a str,
}

/// A static file served under `/static/`.
#[derive(Debug, Clone, Copy)]
pub struct StaticFile {
    pub name: &'static str,
    pub content_type: &'static str,
    pub body: &'static str,
}

pub const STATIC_FILES: &[StaticFile] = &[StaticFile {
    name: "style.css",
    content_type: "text/css; charset=utf-8",
    body: include_str!("../static/style.css"),
}];

pub fn static_file(name: &str) -> Option<&'static StaticFile> {
    STATIC_FILES.iter().find(|f| f.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_escapes_and_links_the_stylesheet() {
        let html = IndexPage { origin: "http://x<script>", version: "0.1" }.render().unwrap();
        assert!(html.contains("/static/style.css"));
        assert!(html.contains("http://x&#60;script&#62;") || html.contains("http://x&lt;script&gt;"), "{html}");
        assert!(!html.contains("<script"));
        assert!(static_file("style.css").is_some());
        assert!(static_file("../Cargo.toml").is_none());
    }
}

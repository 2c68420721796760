//! Dates for people on the pages.

/// `2026-11-23 10:15:02 UTC` for milliseconds since the Unix epoch.
pub fn format_ms(ms: i64) -> String {
    wysiwys_proto::time::format_utc(ms.div_euclid(1000))
}

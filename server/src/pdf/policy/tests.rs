use super::PdfRule;

/// PROTOCOL.md §9 lists every rule with its code; the code has no other.
#[test]
fn protocol_md_lists_every_rule_with_its_code() {
    let protocol = include_str!("../../../../docs/PROTOCOL.md");
    let rows: Vec<(String, String)> = protocol
        .lines()
        .skip_while(|l| !l.starts_with("| PDF rule |"))
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .filter_map(|l| {
            let cells: Vec<_> = l.trim_matches('|').split('|').map(str::trim).collect();
            Some((cells.first()?.trim_matches('`').to_owned(), cells.get(1)?.trim_matches('`').to_owned()))
        })
        .collect();
    let documented: Vec<&str> = rows.iter().map(|(rule, _)| rule.as_str()).collect();
    let implemented: Vec<&str> = PdfRule::ALL.iter().map(|r| r.name()).collect();
    assert_eq!(documented, implemented, "PROTOCOL.md §9's table and PdfRule::ALL, in order");
    for ((_, code), rule) in rows.iter().zip(PdfRule::ALL) {
        assert_eq!(code, rule.code().as_str(), "{}", rule.name());
    }
}

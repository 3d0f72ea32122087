//! Identifiers as the sources write them, brought to the one form the
//! catalogue stores, so that the same work read from OpenAlex and from arXiv
//! meets itself.

/// A DOI in lower case without a resolver prefix (`10.48550/arxiv.2509.05041`),
/// or `None` when the text is not a DOI. DOIs are case-insensitive, so lower
/// case is the one form to compare.
pub fn normalize_doi(text: &str) -> Option<String> {
    const PREFIXES: [&str; 6] =
        ["https://doi.org/", "http://doi.org/", "https://dx.doi.org/", "http://dx.doi.org/", "doi.org/", "doi:"];
    let mut doi = text.trim().to_lowercase();
    for prefix in PREFIXES {
        if let Some(rest) = doi.strip_prefix(prefix) {
            doi = rest.trim_start().to_owned();
            break;
        }
    }
    (doi.starts_with("10.") && doi.contains('/')).then_some(doi)
}

/// The arXiv id in a DOI arXiv registered (`10.48550/arXiv.<id>`).
pub fn arxiv_id_from_doi(doi: &str) -> Option<String> {
    let doi = normalize_doi(doi)?;
    arxiv_id(doi.strip_prefix("10.48550/arxiv.")?)
}

/// The arXiv id of an arxiv.org abstract or PDF address
/// (`https://arxiv.org/abs/2509.05041v2`, `http://arxiv.org/pdf/cond-mat/0211567v1.pdf`).
pub fn arxiv_id_from_url(url: &str) -> Option<String> {
    let url = url.trim();
    let without_scheme = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://")).unwrap_or(url);
    let (host, path) = without_scheme.split_once('/')?;
    let host = host.to_ascii_lowercase();
    if !matches!(host.as_str(), "arxiv.org" | "www.arxiv.org" | "export.arxiv.org") {
        return None;
    }
    let path = path.split(['?', '#']).next().unwrap_or_default().trim_end_matches('/');
    let id = path.strip_prefix("abs/").or_else(|| path.strip_prefix("pdf/"))?;
    arxiv_id(id.strip_suffix(".pdf").unwrap_or(id))
}

/// An arXiv id without its version: `2509.05041v2` → `2509.05041`,
/// `arXiv:cond-mat/0211567v1` → `cond-mat/0211567`. An old-style id loses
/// its subject class (`math.GT/0309136` → `math/0309136`), which arXiv does
/// not need to tell papers apart and leaves out of its own addresses.
/// `None` when the text is neither scheme.
pub fn arxiv_id(text: &str) -> Option<String> {
    let text = text.trim();
    let text = text.get(..6).filter(|prefix| prefix.eq_ignore_ascii_case("arxiv:")).map_or(text, |_| &text[6..]);
    let text = strip_version(text);
    if is_new_style(text) {
        return Some(text.to_owned());
    }
    let (archive, number) = text.split_once('/')?;
    let archive = archive.split_once('.').map_or(archive, |(archive, _subject_class)| archive);
    let archive_ok = !archive.is_empty() && archive.bytes().all(|b| b.is_ascii_lowercase() || b == b'-');
    let number_ok = number.len() == 7 && number.bytes().all(|b| b.is_ascii_digit());
    (archive_ok && number_ok).then(|| format!("{archive}/{number}"))
}

/// `YYMM.NNNN` (April 2007 to 2014) or `YYMM.NNNNN` (since 2015).
fn is_new_style(text: &str) -> bool {
    let Some((yymm, number)) = text.split_once('.') else {
        return false;
    };
    let digits = yymm.len() == 4 && yymm.bytes().chain(number.bytes()).all(|b| b.is_ascii_digit());
    let number_len = if yymm >= "1501" { 5 } else { 4 };
    digits && number.len() == number_len
}

fn strip_version(id: &str) -> &str {
    match id.rfind(['v', 'V']) {
        Some(at) if at + 1 < id.len() && id[at + 1..].bytes().all(|b| b.is_ascii_digit()) => &id[..at],
        _ => id,
    }
}

/// The bare ORCID iD (`0000-0002-1825-0097`) from the iD or its address, or
/// `None` when the text is not shaped like one.
pub fn orcid(text: &str) -> Option<String> {
    let text = text.trim();
    let lower = text.to_ascii_lowercase();
    let start = lower.find("orcid.org/").map_or(0, |at| at + "orcid.org/".len());
    let id = text[start..].trim_end_matches('/').to_ascii_uppercase();
    let groups: Vec<&str> = id.split('-').collect();
    let shaped = groups.len() == 4
        && groups.iter().all(|group| group.len() == 4)
        && groups.iter().flat_map(|group| group.bytes()).take(15).all(|b| b.is_ascii_digit())
        && id.ends_with(|c: char| c.is_ascii_digit() || c == 'X');
    shaped.then_some(id)
}

/// OpenAlex's short id (`W2741809807`) from its address
/// (`https://openalex.org/W2741809807`), upper-cased as OpenAlex writes it;
/// `None` when the text is not one or its letter is not `kind`.
pub fn openalex_id(text: &str, kind: char) -> Option<String> {
    let text = text.trim().trim_end_matches('/');
    let short = text.rsplit('/').next().unwrap_or(text).to_ascii_uppercase();
    let mut chars = short.chars();
    let letter_ok = chars.next() == Some(kind);
    let digits = chars.as_str();
    (letter_ok && !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())).then_some(short)
}

/// A Scopus author id as OpenAlex lists it: the number, out of the profile
/// address OpenAlex often gives (`…/authorDetails.url?authorID=7004212771&…`);
/// anything else is kept as written.
pub fn scopus_author_id(text: &str) -> Option<String> {
    let text = text.trim();
    let lower = text.to_ascii_lowercase();
    let id = match lower.find("authorid=") {
        Some(at) => text[at + "authorid=".len()..].split('&').next().unwrap_or_default(),
        None => text,
    };
    (!id.is_empty()).then(|| id.to_owned())
}

/// The bare ROR id (`05a0dhs15`) from its address.
pub fn ror(text: &str) -> Option<String> {
    let text = text.trim().trim_end_matches('/');
    let id = text.rsplit('/').next().unwrap_or(text).to_ascii_lowercase();
    (!id.is_empty()).then_some(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dois_lose_their_resolver_prefix_and_are_lower_cased() {
        for written in [
            "https://doi.org/10.48550/arXiv.2509.05041",
            "http://dx.doi.org/10.48550/ARXIV.2509.05041",
            "doi:10.48550/arxiv.2509.05041",
            "  10.48550/arXiv.2509.05041 ",
        ] {
            assert_eq!(normalize_doi(written).as_deref(), Some("10.48550/arxiv.2509.05041"), "{written}");
        }
    }

    #[test]
    fn text_that_is_not_a_doi_is_no_doi() {
        assert_eq!(normalize_doi(""), None);
        assert_eq!(normalize_doi("https://example.org/paper"), None);
        assert_eq!(normalize_doi("10.1234"), None);
    }

    #[test]
    fn versioned_arxiv_ids_are_one_id() {
        assert_eq!(arxiv_id("2509.05041v2").as_deref(), Some("2509.05041"));
        assert_eq!(arxiv_id("2509.05041").as_deref(), Some("2509.05041"));
        assert_eq!(arxiv_id("arXiv:0706.0001v1").as_deref(), Some("0706.0001"));
    }

    #[test]
    fn old_style_arxiv_ids_are_kept_without_version_or_subject_class() {
        assert_eq!(arxiv_id("cond-mat/0211567").as_deref(), Some("cond-mat/0211567"));
        assert_eq!(arxiv_id("cond-mat/0211567v3").as_deref(), Some("cond-mat/0211567"));
        assert_eq!(arxiv_id("math.GT/0309136").as_deref(), Some("math/0309136"));
    }

    #[test]
    fn text_that_is_not_an_arxiv_id_is_none() {
        for text in
            ["", "2509.0504", "0706.00012", "25090.5041", "v2", "Cond-Mat/0211567", "cond-mat/021156", "api/errors#x"]
        {
            assert_eq!(arxiv_id(text), None, "{text}");
        }
    }

    #[test]
    fn arxiv_ids_come_from_arxiv_dois_whatever_their_case() {
        assert_eq!(arxiv_id_from_doi("https://doi.org/10.48550/arXiv.1701.06981").as_deref(), Some("1701.06981"));
        assert_eq!(arxiv_id_from_doi("10.48550/ARXIV.cond-mat/0211567").as_deref(), Some("cond-mat/0211567"));
        assert_eq!(arxiv_id_from_doi("10.1103/physreve.100.012115"), None);
    }

    #[test]
    fn arxiv_ids_come_from_abstract_and_pdf_addresses_on_arxiv_org() {
        assert_eq!(arxiv_id_from_url("https://arxiv.org/abs/2509.05041v2").as_deref(), Some("2509.05041"));
        assert_eq!(arxiv_id_from_url("http://arxiv.org/pdf/2509.05041v1.pdf").as_deref(), Some("2509.05041"));
        assert_eq!(
            arxiv_id_from_url("https://www.arxiv.org/abs/cond-mat/0211567").as_deref(),
            Some("cond-mat/0211567")
        );
        assert_eq!(arxiv_id_from_url("https://arxiv.org/abs/2509.05041?context=cs").as_deref(), Some("2509.05041"));
        assert_eq!(arxiv_id_from_url("https://example.org/abs/2509.05041"), None);
        assert_eq!(arxiv_id_from_url("https://arxiv.org/list/cs.LG/recent"), None);
    }

    #[test]
    fn orcid_ids_are_bare() {
        assert_eq!(orcid("https://orcid.org/0000-0002-1825-0097").as_deref(), Some("0000-0002-1825-0097"));
        assert_eq!(orcid("0000-0002-1694-758x").as_deref(), Some("0000-0002-1694-758X"));
        assert_eq!(orcid("https://orcid.org/"), None);
        assert_eq!(orcid("not an orcid"), None);
    }

    #[test]
    fn scopus_ids_are_taken_out_of_profile_addresses() {
        let address = "http://www.scopus.com/inward/authorDetails.url?authorID=7004212771&partnerID=MN8TOARS";
        assert_eq!(scopus_author_id(address).as_deref(), Some("7004212771"));
        assert_eq!(scopus_author_id("7004212771").as_deref(), Some("7004212771"));
        assert_eq!(scopus_author_id(" "), None);
    }

    #[test]
    fn openalex_ids_are_short_and_of_the_asked_kind() {
        assert_eq!(openalex_id("https://openalex.org/W2741809807", 'W').as_deref(), Some("W2741809807"));
        assert_eq!(openalex_id("w2741809807", 'W').as_deref(), Some("W2741809807"));
        assert_eq!(openalex_id("https://openalex.org/A5023888391", 'W'), None);
        assert_eq!(openalex_id("https://openalex.org/W", 'W'), None);
    }
}

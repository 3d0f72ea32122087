//! How names sort. SQLite compares text byte by byte and PostgreSQL by its
//! database's collation (ICU `en-US`, say), so ordering by a name as stored
//! would page differently on the two. Each name gets a sort key instead:
//! compatibility-decomposed (NFKD), stripped of combining marks and
//! lower-cased, compared byte by byte on both databases (`COLLATE "C"` on
//! PostgreSQL). "Mézard", "mezard" and "MEZARD" sort together, before
//! "Montanari"; equal keys fall back to the id.
use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

/// The sort key of a display name.
pub fn sort_key(name: &str) -> String {
    let folded: String = name.nfkd().filter(|c| !is_combining_mark(*c)).flat_map(char::to_lowercase).collect();
    folded.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::sort_key;

    #[test]
    fn accents_case_and_spacing_do_not_change_the_key() {
        assert_eq!(sort_key("Marc Mézard"), "marc mezard");
        assert_eq!(sort_key("  MARC   MEZARD "), "marc mezard");
        assert_eq!(sort_key("Lenka Zdeborová"), "lenka zdeborova");
        assert_eq!(sort_key("Ｆｕｌｌｗｉｄｔｈ"), "fullwidth");
    }

    #[test]
    fn keys_order_names_alphabetically_whatever_their_case() {
        let mut names = vec!["de Gennes", "Dirac", "Émile Borel", "abel", "Zeeman"];
        names.sort_by_key(|name| sort_key(name));
        assert_eq!(names, vec!["abel", "de Gennes", "Dirac", "Émile Borel", "Zeeman"]);
    }
}

//! How text becomes terms, the same for what is indexed and what is
//! searched: split on anything but letters and digits, drop very long
//! tokens, lower-case, fold accents to ASCII ("Mézard" → "mezard"). The
//! database plays no part, so both databases answer alike.
use tantivy::tokenizer::{AsciiFoldingFilter, LowerCaser, RemoveLongFilter, SimpleTokenizer, TextAnalyzer};

/// The name the analyzer is registered under in each index.
pub const TOKENIZER: &str = "folded";

/// Longer tokens (in bytes) are neither indexed nor searched: no real word
/// is this long, and hostile input should not grow the term dictionary.
const MAX_TOKEN_BYTES: usize = 64;

/// Most words one search looks for; the rest of a long search is ignored.
const MAX_WORDS: usize = 8;

pub fn analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(MAX_TOKEN_BYTES))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .build()
}

/// The words of a search, as the index holds them, without repeats.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Words(Vec<String>);

impl Words {
    /// `None` for a blank search (no filter at all). A search with no letter
    /// or digit (say `%_\\`) has no words: it matches nothing, as a search
    /// box answers an empty list rather than an error.
    pub fn parse(input: Option<&str>) -> Option<Self> {
        let input = input.filter(|s| !s.trim().is_empty())?;
        let mut analyzer = analyzer();
        let mut stream = analyzer.token_stream(input);
        let mut words: Vec<String> = Vec::new();
        while words.len() < MAX_WORDS && stream.advance() {
            let word = &stream.token().text;
            if !words.contains(word) {
                words.push(word.clone());
            }
        }
        Some(Self(words))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::Words;

    fn words(input: &str) -> Vec<String> {
        Words::parse(Some(input)).map(|w| w.iter().map(str::to_owned).collect()).unwrap_or_default()
    }

    #[test]
    fn case_and_accents_fold_and_punctuation_splits() {
        assert_eq!(words("Marc MÉZARD"), ["marc", "mezard"]);
        assert_eq!(words("spin-glass; Zdeborová"), ["spin", "glass", "zdeborova"]);
        assert_eq!(words("glass glass GLASS"), ["glass"]);
    }

    #[test]
    fn blank_is_no_search_and_symbols_are_no_words() {
        assert_eq!(Words::parse(None), None);
        assert_eq!(Words::parse(Some("   ")), None);
        assert!(Words::parse(Some("%_\\ *")).is_some_and(|w| w.is_empty()));
    }

    #[test]
    fn long_searches_keep_their_first_words_and_drop_giant_tokens() {
        assert_eq!(words("a b c d e f g h i j").len(), 8);
        assert_eq!(words(&"x".repeat(100)), Vec::<String>::new());
    }
}

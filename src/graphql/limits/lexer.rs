//! A single pass over the raw document that counts lexical tokens and
//! bracket nesting, so that a document too large to parse cheaply (or nested
//! deep enough to exhaust the recursive-descent parser's stack) is refused
//! before the parser sees it.

/// Which lexical cap a document went over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LexicalLimit {
    Tokens(usize),
    Nesting(usize),
}

/// Scans `source` by the GraphQL lexical grammar (names, numbers, strings,
/// block strings, punctuators; whitespace, commas and comments ignored).
/// Returns the number of tokens, or the first cap exceeded. Characters that
/// are not GraphQL count as one token each; the parser rejects them later.
pub fn count_tokens(source: &str, max_tokens: usize, max_nesting: usize) -> Result<usize, LexicalLimit> {
    let bytes = source.as_bytes();
    let mut i = 0;
    let mut tokens = 0usize;
    let mut nesting = 0usize;
    while i < bytes.len() {
        match bytes[i] {
            b' ' | b'\t' | b'\n' | b'\r' | b',' => {
                i += 1;
                continue;
            }
            0xEF if bytes[i..].starts_with(&[0xEF, 0xBB, 0xBF]) => {
                i += 3;
                continue;
            }
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' && bytes[i] != b'\r' {
                    i += 1;
                }
                continue;
            }
            b'"' if bytes[i..].starts_with(b"\"\"\"") => i = skip_block_string(bytes, i + 3),
            b'"' => i = skip_string(bytes, i + 1),
            b'{' | b'(' | b'[' => {
                nesting += 1;
                if nesting > max_nesting {
                    return Err(LexicalLimit::Nesting(max_nesting));
                }
                i += 1;
            }
            b'}' | b')' | b']' => {
                nesting = nesting.saturating_sub(1);
                i += 1;
            }
            b'.' if bytes[i..].starts_with(b"...") => i += 3,
            b'_' | b'a'..=b'z' | b'A'..=b'Z' => {
                i += 1;
                while i < bytes.len() && (bytes[i] == b'_' || bytes[i].is_ascii_alphanumeric()) {
                    i += 1;
                }
            }
            b'-' | b'0'..=b'9' => {
                i += 1;
                while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || matches!(bytes[i], b'.' | b'+' | b'-')) {
                    i += 1;
                }
            }
            _ => i += 1,
        }
        tokens += 1;
        if tokens > max_tokens {
            return Err(LexicalLimit::Tokens(max_tokens));
        }
    }
    Ok(tokens)
}

/// The index after a `"…"` string that started before `i`; an unterminated
/// string ends at the line's end (the parser reports it).
fn skip_string(bytes: &[u8], mut i: usize) -> usize {
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return i + 1,
            b'\n' | b'\r' => return i,
            _ => i += 1,
        }
    }
    i.min(bytes.len())
}

/// The index after a `"""…"""` block string whose body starts at `i`.
fn skip_block_string(bytes: &[u8], mut i: usize) -> usize {
    while i < bytes.len() {
        if bytes[i..].starts_with(b"\\\"\"\"") {
            i += 4;
        } else if bytes[i..].starts_with(b"\"\"\"") {
            return i + 3;
        } else {
            i += 1;
        }
    }
    bytes.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_names_punctuators_strings_and_numbers_but_not_ignored_text() {
        let doc =
            "# a comment\nquery Q($n: Int = -1.5e3) { a(s: \"x, y { z\", b: \"\"\"block \\\"\"\" }\"\"\") { ...F } }";
        // query Q ( $ n : Int = -1.5e3 ) { a ( s : "…" , b : """…""" ) { ... F } }
        assert_eq!(count_tokens(doc, 1000, 10), Ok(25));
    }

    #[test]
    fn stops_at_the_first_cap_exceeded() {
        assert_eq!(count_tokens("{ a b c d }", 3, 10), Err(LexicalLimit::Tokens(3)));
        assert_eq!(count_tokens(&"{a".repeat(100), 10_000, 64), Err(LexicalLimit::Nesting(64)));
        assert_eq!(count_tokens("[[[[1]]]]", 100, 4), Ok(9));
    }

    #[test]
    fn unterminated_strings_and_stray_bytes_do_not_loop() {
        assert!(count_tokens("{ a(s: \"open", 100, 10).is_ok());
        assert!(count_tokens("\"\"\"never closed", 100, 10).is_ok());
        assert!(count_tokens("\u{1F600}\\", 100, 10).is_ok());
    }
}

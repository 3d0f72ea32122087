//! Gives every error an `extensions.code`: errors raised by resolvers carry
//! one already; parse and validation errors get `BAD_USER_INPUT`, and the
//! depth and complexity limits `QUERY_TOO_COMPLEX`. The transport applies it
//! to every answer (a schema extension would wrap every field's resolution).
use async_graphql::{Response, ServerError, Value};

fn code_for(error: &ServerError) -> &'static str {
    let message = error.message.as_str();
    // async-graphql's own limits, the second line behind the document caps.
    if message.contains("nested too deep")
        || message.contains("too complex")
        || message.contains("number of directives")
        || message.contains("recursion depth")
    {
        "QUERY_TOO_COMPLEX"
    } else {
        "BAD_USER_INPUT"
    }
}

/// Adds the code each error lacks.
pub fn add_codes(response: &mut Response) {
    for error in &mut response.errors {
        let has_code = error.extensions.as_ref().is_some_and(|e| e.get("code").is_some());
        if !has_code {
            let code = code_for(error);
            error.extensions.get_or_insert_with(Default::default).set("code", Value::from(code));
        }
    }
}

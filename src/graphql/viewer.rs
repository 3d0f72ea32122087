//! The signed-in user of a request, as resolvers see it.
use async_graphql::Context;

/// Whether the request's viewer follows `researcher_id`; false when anonymous.
/// Sign-in arrives with the authentication issue; until then every request
/// is anonymous.
pub async fn is_following(_ctx: &Context<'_>, _researcher_id: i64) -> async_graphql::Result<bool> {
    Ok(false)
}

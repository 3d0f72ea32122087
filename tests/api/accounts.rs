//! Signed-in users: follows, claims and their review, profile edits and
//! collaboration invitations — rules, error codes and concurrency.
use futures_util::future::join_all;
use sea_orm::ConnectionTrait;
use serde_json::{json, Value};

use crate::helpers::{error_code, spawn_app, token, TestApp};

const M: &str = "mutations.graphql";
const ORCID: &str = "0000-0002-1825-0097";

async fn count(app: &TestApp, sql: &str) -> i64 {
    let row =
        app.db.query_one_raw(sea_orm::Statement::from_string(app.db.get_database_backend(), sql.to_owned())).await;
    row.expect("query").expect("row").try_get::<i64>("", "n").expect("n")
}

async fn claim(app: &TestApp, as_token: &str, researcher: &str) -> Value {
    app.operation_as(as_token, M, "Claim", json!({ "researcherId": researcher, "message": "It is me" })).await
}

#[tokio::test]
async fn follow_and_unfollow_are_idempotent_and_counted() {
    let app = spawn_app().await;
    let alice = token("alice", None, &[]);
    let id = app.researcher_id("marc-mezard").await;
    for _ in 0..2 {
        let data = app.operation_data_as(&alice, M, "Follow", json!({ "researcherId": id })).await;
        let r = &data["followResearcher"]["researcher"];
        assert_eq!(r["viewerIsFollowing"], true);
        assert_eq!(r["counts"]["followers"], 1);
    }
    let bob = token("bob", None, &[]);
    let data = app.operation_data_as(&bob, M, "Follow", json!({ "researcherId": id })).await;
    assert_eq!(data["followResearcher"]["researcher"]["counts"]["followers"], 2);

    // Anonymous readers see the count, but not "following".
    let profile = app.operation_data("profile.graphql", "ResearcherProfile", json!({ "slug": "marc-mezard" })).await;
    assert_eq!(profile["researcher"]["counts"]["followers"], 2);
    assert_eq!(profile["researcher"]["viewerIsFollowing"], false);

    for _ in 0..2 {
        let data = app.operation_data_as(&alice, M, "Unfollow", json!({ "researcherId": id })).await;
        let r = &data["unfollowResearcher"]["researcher"];
        assert_eq!(r["viewerIsFollowing"], false);
        assert_eq!(r["counts"]["followers"], 1);
    }
    assert_eq!(count(&app, "SELECT COUNT(*) AS n FROM follows").await, 1);
}

#[tokio::test]
async fn fifty_concurrent_follows_by_one_user_leave_one_follow() {
    let app = spawn_app().await;
    let alice = token("alice", None, &[]);
    let id = app.researcher_id("lenka-zdeborova").await;
    let responses =
        join_all((0..50).map(|_| app.operation_as(&alice, M, "Follow", json!({ "researcherId": id })))).await;
    for response in &responses {
        assert!(response.get("errors").is_none(), "{response:#}");
    }
    assert_eq!(count(&app, "SELECT COUNT(*) AS n FROM follows").await, 1);
    assert_eq!(count(&app, "SELECT COUNT(*) AS n FROM users").await, 1, "the first requests of a sub make one user");
    let data = app
        .data("query($s: String!) { researcher(slug: $s) { counts { followers } } }", json!({ "s": "lenka-zdeborova" }))
        .await;
    assert_eq!(data["researcher"]["counts"]["followers"], 1);

    let responses =
        join_all((0..50).map(|_| app.operation_as(&alice, M, "Unfollow", json!({ "researcherId": id })))).await;
    assert!(responses.iter().all(|r| r.get("errors").is_none()));
    assert_eq!(count(&app, "SELECT COUNT(*) AS n FROM follows").await, 0);
    let data = app
        .data("query($s: String!) { researcher(slug: $s) { counts { followers } } }", json!({ "s": "lenka-zdeborova" }))
        .await;
    assert_eq!(data["researcher"]["counts"]["followers"], 0);
}

#[tokio::test]
async fn the_viewer_sees_follows_claims_and_invitations() {
    let app = spawn_app().await;
    let anonymous = app.operation_data("viewer.graphql", "Viewer", json!({})).await;
    assert_eq!(anonymous["viewer"], json!(null));

    let alice = token("alice", None, &["moderator"]);
    for slug in ["riccardo-zecchina", "carlo-baldassi"] {
        let id = app.researcher_id(slug).await;
        app.operation_data_as(&alice, M, "Follow", json!({ "researcherId": id })).await;
    }
    let marc = app.researcher_id("marc-mezard").await;
    let claimed = claim(&app, &alice, &marc).await;
    assert!(claimed.get("errors").is_none(), "{claimed:#}");

    let data = app.operation_data_as(&alice, "viewer.graphql", "Viewer", json!({})).await;
    let viewer = &data["viewer"];
    assert!(viewer["id"].as_str().is_some_and(|id| !id.is_empty()));
    assert_eq!(viewer["roles"], json!(["moderator"]));
    assert_eq!(viewer["following"]["totalCount"], 2);
    let names: Vec<&str> = viewer["following"]["nodes"]
        .as_array()
        .expect("n")
        .iter()
        .map(|n| n["displayName"].as_str().expect("d"))
        .collect();
    assert_eq!(names, vec!["Carlo Baldassi", "Riccardo Zecchina"]);
    assert_eq!(viewer["claims"][0]["status"], "PENDING");
    assert_eq!(viewer["claims"][0]["researcher"]["slug"], "marc-mezard");
    assert_eq!(viewer["invitations"], json!([]));

    // The same sub is the same user on its next request.
    let again = app.operation_data_as(&alice, "viewer.graphql", "Viewer", json!({})).await;
    assert_eq!(again["viewer"]["id"], viewer["id"]);
}

#[tokio::test]
async fn a_matching_orcid_claims_the_record_at_once_at_level_3() {
    let app = spawn_app().await;
    app.db
        .execute_unprepared(&format!("UPDATE researchers SET orcid = '{ORCID}' WHERE slug = 'marc-mezard'"))
        .await
        .expect("set orcid");
    let marc = app.researcher_id("marc-mezard").await;
    let owner = token("marc", Some(ORCID), &[]);
    let data = claim(&app, &owner, &marc).await;
    let c = &data["data"]["claimResearcher"]["claim"];
    assert_eq!(c["status"], "APPROVED", "{data:#}");
    assert_eq!(c["method"], "ORCID");
    assert_eq!(c["researcher"]["claimStatus"], "CLAIMED");
    // 15 (linked) + 10 (ORCID on record) + 6 (works) + 30 (verified claim).
    assert_eq!(c["researcher"]["trust"], json!({ "verificationLevel": 3, "level": "ESTABLISHED", "score": 61 }));

    // Someone else's claim on an owned record is a conflict.
    let other = claim(&app, &token("mallory", None, &[]), &marc).await;
    assert_eq!(error_code(&other), "CONFLICT");
    // The owner's repeated claim returns the existing one.
    let again = claim(&app, &owner, &marc).await;
    assert_eq!(again["data"]["claimResearcher"]["claim"]["id"], c["id"]);
}

#[tokio::test]
async fn a_pending_claim_is_reviewed_by_moderators_only() {
    let app = spawn_app().await;
    let marc = app.researcher_id("marc-mezard").await;
    let claimant = token("claimant", None, &[]);
    let first = claim(&app, &claimant, &marc).await;
    let c = &first["data"]["claimResearcher"]["claim"];
    assert_eq!(c["status"], "PENDING");
    assert_eq!(c["method"], json!(null));
    assert_eq!(c["researcher"]["claimStatus"], "PENDING");
    let claim_id = c["id"].clone();
    let again = claim(&app, &claimant, &marc).await;
    assert_eq!(again["data"]["claimResearcher"]["claim"]["id"], claim_id, "a repeated claim returns the existing one");

    let review = |t: String, decision: &'static str| {
        let app = &app;
        let claim_id = claim_id.clone();
        async move { app.operation_as(&t, M, "ReviewClaim", json!({ "claimId": claim_id, "decision": decision })).await }
    };
    assert_eq!(
        error_code(&app.operation(M, "ReviewClaim", json!({ "claimId": claim_id, "decision": "APPROVE" })).await),
        "UNAUTHENTICATED"
    );
    assert_eq!(error_code(&review(token("someone", None, &[]), "APPROVE").await), "FORBIDDEN");

    let queue = app.operation_as(&token("someone", None, &[]), "viewer.graphql", "PendingClaims", json!({})).await;
    assert_eq!(error_code(&queue), "FORBIDDEN");
    let moderator = token("mod", None, &["moderator"]);
    let queue = app.operation_data_as(&moderator, "viewer.graphql", "PendingClaims", json!({})).await;
    assert_eq!(queue["claims"]["totalCount"], 1);
    assert_eq!(queue["claims"]["nodes"][0]["researcher"]["displayName"], "Marc Mézard");

    let approved = review(moderator.clone(), "APPROVE").await;
    let c = &approved["data"]["reviewClaim"]["claim"];
    assert_eq!(c["status"], "APPROVED", "{approved:#}");
    assert!(c["decidedAt"].as_str().is_some());
    assert_eq!(c["researcher"]["claimStatus"], "CLAIMED");
    let trust =
        app.data("{ researcher(slug: \"marc-mezard\") { trust { verificationLevel score } } }", json!({})).await;
    assert_eq!(trust["researcher"]["trust"], json!({ "verificationLevel": 2, "score": 41 }));

    assert_eq!(
        error_code(&review(moderator.clone(), "REJECT").await),
        "CONFLICT",
        "a decided claim is not reviewed again"
    );
    let queue = app.operation_data_as(&moderator, "viewer.graphql", "PendingClaims", json!({})).await;
    assert_eq!(queue["claims"]["totalCount"], 0);
}

#[tokio::test]
async fn claims_are_withdrawn_by_their_claimant_only_and_rejections_unclaim() {
    let app = spawn_app().await;
    let marc = app.researcher_id("marc-mezard").await;
    let claimant = token("claimant", None, &[]);
    let c = claim(&app, &claimant, &marc).await["data"]["claimResearcher"]["claim"]["id"].clone();
    let other = app.operation_as(&token("other", None, &[]), M, "WithdrawClaim", json!({ "claimId": c })).await;
    assert_eq!(error_code(&other), "FORBIDDEN");
    let withdrawn = app.operation_data_as(&claimant, M, "WithdrawClaim", json!({ "claimId": c })).await;
    assert_eq!(withdrawn["withdrawClaim"]["claim"]["status"], "WITHDRAWN");
    assert_eq!(error_code(&app.operation_as(&claimant, M, "WithdrawClaim", json!({ "claimId": c })).await), "CONFLICT");
    let status = app.data("{ researcher(slug: \"marc-mezard\") { claimStatus } }", json!({})).await;
    assert_eq!(status["researcher"]["claimStatus"], "UNCLAIMED");

    let second = claim(&app, &claimant, &marc).await["data"]["claimResearcher"]["claim"]["id"].clone();
    assert_ne!(second, c, "a new claim after a withdrawal");
    let moderator = token("mod", None, &["moderator"]);
    let rejected = app
        .operation_data_as(
            &moderator,
            M,
            "ReviewClaim",
            json!({ "claimId": second, "decision": "REJECT", "note": "no proof" }),
        )
        .await;
    assert_eq!(rejected["reviewClaim"]["claim"]["status"], "REJECTED");
    assert_eq!(rejected["reviewClaim"]["claim"]["researcher"]["claimStatus"], "UNCLAIMED");

    let missing = app.operation_as(&claimant, M, "WithdrawClaim", json!({ "claimId": "Q2xhaW06OTk5OQ" })).await;
    assert_eq!(error_code(&missing), "NOT_FOUND");
    let malformed = app.operation_as(&claimant, M, "WithdrawClaim", json!({ "claimId": "nope" })).await;
    assert_eq!(error_code(&malformed), "BAD_USER_INPUT");
}

#[tokio::test]
async fn of_twenty_concurrent_claims_and_two_concurrent_approvals_one_owner_wins() {
    let app = spawn_app().await;
    let marc = app.researcher_id("marc-mezard").await;
    let tokens: Vec<String> = (0..20).map(|i| token(&format!("user-{i}"), None, &[])).collect();
    let claims = join_all(tokens.iter().map(|t| claim(&app, t, &marc))).await;
    let ids: Vec<Value> = claims
        .iter()
        .map(|r| {
            assert!(r.get("errors").is_none(), "{r:#}");
            assert_eq!(r["data"]["claimResearcher"]["claim"]["status"], "PENDING");
            r["data"]["claimResearcher"]["claim"]["id"].clone()
        })
        .collect();
    assert_eq!(count(&app, "SELECT COUNT(*) AS n FROM claims WHERE status = 'PENDING'").await, 20);

    let moderator = token("mod", None, &["moderator"]);
    let reviews = join_all(
        ids[..2]
            .iter()
            .map(|id| app.operation_as(&moderator, M, "ReviewClaim", json!({ "claimId": id, "decision": "APPROVE" }))),
    )
    .await;
    let approved = reviews.iter().filter(|r| r.get("errors").is_none()).count();
    let conflicts = reviews.iter().filter(|r| r.get("errors").is_some() && error_code(r) == "CONFLICT").count();
    assert_eq!((approved, conflicts), (1, 1), "{reviews:#?}");
    assert_eq!(count(&app, "SELECT COUNT(*) AS n FROM claims WHERE status = 'APPROVED'").await, 1);
    let status = app.data("{ researcher(slug: \"marc-mezard\") { claimStatus } }", json!({})).await;
    assert_eq!(status["researcher"]["claimStatus"], "CLAIMED");
}

/// Makes `sub` the approved owner of `slug` and returns the record's id.
async fn owned_record(app: &TestApp, sub: &str, slug: &str) -> String {
    let id = app.researcher_id(slug).await;
    let c = claim(app, &token(sub, None, &[]), &id).await["data"]["claimResearcher"]["claim"]["id"].clone();
    let moderator = token("mod", None, &["moderator"]);
    app.operation_data_as(&moderator, M, "ReviewClaim", json!({ "claimId": c, "decision": "APPROVE" })).await;
    id
}

#[tokio::test]
async fn only_the_owner_edits_the_profile() {
    let app = spawn_app().await;
    let id = owned_record(&app, "lenka", "lenka-zdeborova").await;
    let vars = json!({ "researcherId": id, "openToCollaborate": true });
    assert_eq!(error_code(&app.operation(M, "UpdateProfile", vars.clone()).await), "UNAUTHENTICATED");
    assert_eq!(
        error_code(&app.operation_as(&token("other", None, &[]), M, "UpdateProfile", vars.clone()).await),
        "FORBIDDEN"
    );
    let data = app.operation_data_as(&token("lenka", None, &[]), M, "UpdateProfile", vars).await;
    assert_eq!(data["updateResearcherProfile"]["researcher"], json!({ "id": id, "openToCollaborate": true }));
    let unknown = app
        .operation_as(
            &token("lenka", None, &[]),
            M,
            "UpdateProfile",
            json!({ "researcherId": "UmVzZWFyY2hlcjo5OTk5", "openToCollaborate": true }),
        )
        .await;
    assert_eq!(error_code(&unknown), "NOT_FOUND");
}

#[tokio::test]
async fn invitations_go_to_claimed_records_and_are_answered_once_by_the_owner() {
    let app = spawn_app().await;
    let unclaimed = app.researcher_id("bruno-loureiro").await;
    let sender = token("sender", None, &[]);
    let refused = app.operation_as(&sender, M, "Invite", json!({ "researcherId": unclaimed, "message": "Hi" })).await;
    assert_eq!(error_code(&refused), "FORBIDDEN");

    let id = owned_record(&app, "florent", "florent-krzakala").await;
    for message in ["", "   ", &"x".repeat(2001)] {
        let bad = app.operation_as(&sender, M, "Invite", json!({ "researcherId": id, "message": message })).await;
        assert_eq!(error_code(&bad), "BAD_USER_INPUT");
    }
    let anonymous = app.operation(M, "Invite", json!({ "researcherId": id, "message": "Hi" })).await;
    assert_eq!(error_code(&anonymous), "UNAUTHENTICATED");
    let sent = app
        .operation_data_as(&sender, M, "Invite", json!({ "researcherId": id, "message": "Shall we write a paper?" }))
        .await;
    let invitation = &sent["sendCollaborationInvite"]["invitation"];
    assert_eq!(invitation["status"], "PENDING");
    assert_eq!(invitation["message"], "Shall we write a paper?");
    assert_eq!(invitation["researcher"]["id"], id);
    let invitation_id = invitation["id"].clone();
    assert_eq!(
        count(&app, "SELECT COUNT(*) AS n FROM collaboration_invites").await,
        1,
        "refused invitations wrote nothing"
    );

    let owner = token("florent", None, &[]);
    let inbox = app.operation_data_as(&owner, "viewer.graphql", "Viewer", json!({})).await;
    assert_eq!(inbox["viewer"]["invitations"][0]["id"], invitation_id);
    assert_eq!(inbox["viewer"]["invitations"][0]["message"], "Shall we write a paper?");

    let vars = json!({ "invitationId": invitation_id, "accept": true });
    assert_eq!(error_code(&app.operation_as(&sender, M, "RespondToInvite", vars.clone()).await), "FORBIDDEN");
    let answered = app.operation_data_as(&owner, M, "RespondToInvite", vars.clone()).await;
    assert_eq!(answered["respondToCollaborationInvite"]["invitation"]["status"], "ACCEPTED");
    assert_eq!(error_code(&app.operation_as(&owner, M, "RespondToInvite", vars).await), "CONFLICT");
}

#[tokio::test]
async fn mutations_on_unknown_or_malformed_ids_say_so() {
    let app = spawn_app().await;
    let alice = token("alice", None, &[]);
    let unknown = app.operation_as(&alice, M, "Follow", json!({ "researcherId": "UmVzZWFyY2hlcjo5OTk5" })).await;
    assert_eq!(error_code(&unknown), "NOT_FOUND");
    let malformed = app.operation_as(&alice, M, "Follow", json!({ "researcherId": "not-an-id" })).await;
    assert_eq!(error_code(&malformed), "BAD_USER_INPUT");
    let work = app.data("{ works(first: 1) { nodes { id } } }", json!({})).await["works"]["nodes"][0]["id"].clone();
    let wrong_type = app.operation_as(&alice, M, "Claim", json!({ "researcherId": work })).await;
    assert_eq!(error_code(&wrong_type), "BAD_USER_INPUT");
    assert_eq!(count(&app, "SELECT COUNT(*) AS n FROM follows").await, 0);
    assert_eq!(count(&app, "SELECT COUNT(*) AS n FROM claims").await, 0);
}

#[tokio::test]
async fn a_stored_status_the_code_does_not_know_is_an_error_not_a_guess() {
    let app = spawn_app().await;
    let alice = token("alice", None, &[]);
    let id = app.researcher_id("marc-mezard").await;
    let claimed = claim(&app, &alice, &id).await;
    assert_eq!(claimed["data"]["claimResearcher"]["claim"]["status"], "PENDING", "{claimed}");
    // Before, any status the GraphQL layer did not know read as PENDING.
    app.db.execute_unprepared("UPDATE claims SET status = 'ARCHIVED'").await.expect("corrupt the status");
    let viewer = app.operation_as(&alice, "viewer.graphql", "Viewer", json!({})).await;
    assert_eq!(crate::helpers::error_code(&viewer), "INTERNAL", "{viewer}");
    assert!(!viewer.to_string().contains("ARCHIVED"), "no stored value leaks: {viewer}");
}

#[tokio::test]
async fn ten_concurrent_repeats_of_one_users_claim_all_return_that_claim() {
    let app = spawn_app().await;
    let alice = token("alice", None, &[]);
    // Several records, so that the race shows even when one burst happens to serialise.
    let slugs = ["marc-mezard", "florent-krzakala", "lenka-zdeborova", "andre-manoel", "carlo-baldassi"];
    for slug in slugs {
        let record = app.researcher_id(slug).await;
        let repeats = join_all((0..10).map(|_| claim(&app, &alice, &record))).await;
        let ids: Vec<Value> = repeats
            .iter()
            .map(|r| {
                assert!(r.get("errors").is_none(), "a repeated claim returns the existing one: {r:#}");
                r["data"]["claimResearcher"]["claim"]["id"].clone()
            })
            .collect();
        assert!(ids.iter().all(|id| *id == ids[0]), "{slug}: {ids:?}");
    }
    assert_eq!(count(&app, "SELECT COUNT(*) AS n FROM claims").await, slugs.len() as i64);
}

#[tokio::test]
async fn a_profile_edit_racing_a_withdrawal_never_lands_after_the_owner_left() {
    let app = spawn_app().await;
    let id = owned_record(&app, "owner", "marc-mezard").await;
    let owner = token("owner", None, &[]);
    let viewer = app.operation_data_as(&owner, "viewer.graphql", "Viewer", json!({})).await;
    let claim_id = viewer["viewer"]["claims"][0]["id"].clone();
    let open_query = "query($id: ID!) { node(id: $id) { ... on Researcher { openToCollaborate } } }";
    let before = app.data(open_query, json!({ "id": id })).await["node"]["openToCollaborate"].as_bool().expect("bool");
    let edit =
        app.operation_as(&owner, M, "UpdateProfile", json!({ "researcherId": id, "openToCollaborate": !before }));
    let withdraw = app.operation_as(&owner, M, "WithdrawClaim", json!({ "claimId": claim_id }));
    let (edit, withdraw) = tokio::join!(edit, withdraw);
    assert!(withdraw.get("errors").is_none(), "{withdraw:#}");
    // Either the edit ran while the owner still owned the record, or it was refused.
    let after = app.data(open_query, json!({ "id": id })).await["node"]["openToCollaborate"].as_bool().expect("bool");
    match edit.get("errors") {
        None => assert_eq!(after, !before, "the edit landed"),
        Some(_) => {
            assert_eq!(error_code(&edit), "FORBIDDEN", "{edit:#}");
            assert_eq!(after, before, "a refused edit changed nothing");
        }
    }
}

#[tokio::test]
async fn interleaved_follows_and_unfollows_by_many_users_keep_an_exact_count() {
    let app = spawn_app().await;
    let id = app.researcher_id("lenka-zdeborova").await;
    let users: Vec<String> = (0..8).map(|i| token(&format!("fan-{i}"), None, &[])).collect();
    // Each user follows, unfollows and follows again, all users at once.
    let rounds = users.iter().flat_map(|t| ["Follow", "Unfollow", "Follow"].map(move |op| (t.clone(), op)));
    join_all(rounds.map(|(t, op)| {
        let id = id.clone();
        let app = &app;
        async move { app.operation_as(&t, M, op, json!({ "researcherId": id })).await }
    }))
    .await;
    let follows = count(&app, "SELECT COUNT(*) AS n FROM follows").await;
    let counter =
        count(&app, "SELECT CAST(followers_count AS BIGINT) AS n FROM researchers WHERE slug = 'lenka-zdeborova'")
            .await;
    assert_eq!(counter, follows, "the counter matches the follows left");
    assert!((0..=8).contains(&follows));
}

#[tokio::test]
async fn a_moderator_may_not_decide_their_own_claim() {
    let app = spawn_app().await;
    let moderator = token("mod", None, &["moderator"]);
    let id = app.researcher_id("marc-mezard").await;
    let own = claim(&app, &moderator, &id).await;
    let claim_id = own["data"]["claimResearcher"]["claim"]["id"].clone();
    let review =
        app.operation_as(&moderator, M, "ReviewClaim", json!({ "claimId": claim_id, "decision": "APPROVE" })).await;
    assert_eq!(error_code(&review), "FORBIDDEN", "{review:#}");
    assert_eq!(count(&app, "SELECT COUNT(*) AS n FROM claims WHERE status = 'APPROVED'").await, 0);
    // Another moderator may.
    let other = token("other-mod", None, &["moderator"]);
    app.operation_data_as(&other, M, "ReviewClaim", json!({ "claimId": claim_id, "decision": "APPROVE" })).await;
}

#[tokio::test]
async fn a_newer_token_with_another_orcid_updates_the_users_orcid() {
    let app = spawn_app().await;
    let first = token("alice", Some("0000-0002-1825-0097"), &[]);
    app.operation_data_as(&first, "viewer.graphql", "Viewer", json!({})).await;
    let stored = "SELECT COUNT(*) AS n FROM users WHERE subject = 'alice' AND orcid = ";
    assert_eq!(count(&app, &format!("{stored}'0000-0002-1825-0097'")).await, 1);
    let newer = token("alice", Some("0000-0001-5109-3700"), &[]);
    app.operation_data_as(&newer, "viewer.graphql", "Viewer", json!({})).await;
    assert_eq!(count(&app, &format!("{stored}'0000-0001-5109-3700'")).await, 1);
    // A token without the claim leaves the iD as it is.
    app.operation_data_as(&token("alice", None, &[]), "viewer.graphql", "Viewer", json!({})).await;
    assert_eq!(count(&app, &format!("{stored}'0000-0001-5109-3700'")).await, 1);
}

#[tokio::test]
async fn the_viewers_claims_and_invitations_are_bounded_lists() {
    let app = spawn_app().await;
    let alice = token("alice", None, &[]);
    for slug in ["marc-mezard", "florent-krzakala", "lenka-zdeborova"] {
        let id = app.researcher_id(slug).await;
        claim(&app, &alice, &id).await;
    }
    let query = "query($n: Int) { viewer { claims(first: $n) { researcher { slug } } invitations(first: $n) { id } } }";
    let all = app.graphql_as(&alice, query, json!({})).await;
    assert_eq!(all["data"]["viewer"]["claims"].as_array().map(Vec::len), Some(3), "{all}");
    let newest = app.graphql_as(&alice, query, json!({ "n": 2 })).await;
    assert_eq!(
        newest["data"]["viewer"]["claims"],
        json!([{ "researcher": { "slug": "lenka-zdeborova" } }, { "researcher": { "slug": "florent-krzakala" } }])
    );
    for n in [0, 101] {
        let refused = app.graphql_as(&alice, query, json!({ "n": n })).await;
        assert_eq!(error_code(&refused), "BAD_USER_INPUT", "{n}: {refused}");
    }
}

//! The catalogue's change log: what writes record, what a rolled-back write
//! leaves (nothing), how readers page through it, and the background feed.
use std::time::{Duration, Instant};

use scholargraph::domain::catalogue::{self, NewWork};
use scholargraph::domain::changes::{self, Change, ChangeFeed, ChangeKind, NewChange, Position, Subject};
use scholargraph::domain::works::WorkKind;
use scholargraph::graphql::ids::{decode_as, NodeType};
use sea_orm::{ConnectionTrait, Database, DbBackend, Statement, TransactionTrait};
use serde_json::json;

use crate::helpers::{error_code, spawn_app, token, TestApp};

const M: &str = "mutations.graphql";
const ORCID: &str = "0000-0002-1825-0097";

/// The numeric id of the researcher with `slug`.
async fn researcher(app: &TestApp, slug: &str) -> (String, i64) {
    let id = app.researcher_id(slug).await;
    let number = decode_as(&id, NodeType::Researcher).expect("a researcher id");
    (id, number)
}

/// How long a test waits for a committed change to become readable. On
/// PostgreSQL a change also waits for every older transaction still open in
/// the cluster, which the other tests' databases share.
const DEADLINE: Duration = Duration::from_secs(30);

/// A reader that, unlike a real one, knows how many changes there are: the
/// test's database has no other writer, so it reads until it has seen every
/// committed row, and then checks that nothing more comes.
struct Reader {
    position: Position,
    seen: i64,
}

impl Reader {
    /// A reader past every change committed so far.
    async fn at_end(app: &TestApp) -> Self {
        let mut reader = Self { position: Position::START, seen: 0 };
        reader.new_changes(app, 10_000).await;
        reader
    }

    /// Every change committed since the last call, read `limit` at a time.
    async fn new_changes(&mut self, app: &TestApp, limit: u64) -> Vec<Change> {
        let total = rows_in_log(app).await;
        let deadline = Instant::now() + DEADLINE;
        let mut read = Vec::new();
        while self.seen < total {
            let (page, next) = changes::read_after(&app.db, self.position, limit).await.expect("read");
            assert!(page.len() as u64 <= limit);
            if page.is_empty() {
                assert_eq!(next, self.position, "an empty page keeps the position");
                assert!(Instant::now() < deadline, "{} of {total} changes read", self.seen);
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
            assert!(next > self.position, "the position moves on");
            self.position = next;
            self.seen += page.len() as i64;
            read.extend(page);
        }
        let (more, _) = changes::read_after(&app.db, self.position, limit).await.expect("read");
        assert_eq!(more, vec![], "every change once");
        read
    }
}

/// (kind, subject id, researcher id) of each change: what the tests compare.
fn summary(changes: &[Change]) -> Vec<(ChangeKind, i64, Option<i64>)> {
    changes.iter().map(|c| (c.kind, c.subject_id, c.researcher_id)).collect()
}

async fn rows_in_log(app: &TestApp) -> i64 {
    let sql = "SELECT COUNT(*) AS n FROM catalogue_changes";
    let row = app.db.query_one_raw(Statement::from_string(app.db.get_database_backend(), sql)).await;
    row.expect("count").expect("row").try_get::<i64>("", "n").expect("n")
}

fn new_work(title: &str, authors: Vec<i64>) -> NewWork {
    NewWork {
        title: title.to_owned(),
        summary: None,
        kind: WorkKind::Article,
        year: Some(2025),
        venue: None,
        doi: None,
        arxiv_id: None,
        cited_by_count: 0,
        authors,
        topics: vec![],
    }
}

#[tokio::test]
async fn a_follow_records_one_change_and_a_repeated_follow_none() {
    let app = spawn_app().await;
    let (id, marc) = researcher(&app, "marc-mezard").await;
    let alice = token("alice", None, &[]);
    let mut reader = Reader::at_end(&app).await;
    for _ in 0..2 {
        app.operation_data_as(&alice, M, "Follow", json!({ "researcherId": id })).await;
    }
    let followed = reader.new_changes(&app, 100).await;
    assert_eq!(summary(&followed), vec![(ChangeKind::Followed, marc, Some(marc))]);
    assert_eq!(followed[0].subject, Subject::Follow);

    for _ in 0..2 {
        app.operation_data_as(&alice, M, "Unfollow", json!({ "researcherId": id })).await;
    }
    assert_eq!(summary(&reader.new_changes(&app, 100).await), vec![(ChangeKind::Unfollowed, marc, Some(marc))]);
}

#[tokio::test]
async fn claims_profile_edits_and_new_works_record_what_changed() {
    let app = spawn_app().await;
    let (id, marc) = researcher(&app, "marc-mezard").await;
    let (_, lenka) = researcher(&app, "lenka-zdeborova").await;
    app.db
        .execute_unprepared(&format!("UPDATE researchers SET orcid = '{ORCID}' WHERE id = {marc}"))
        .await
        .expect("set orcid");
    let mut reader = Reader::at_end(&app).await;

    let owner = token("marc", Some(ORCID), &[]);
    let claimed = app.operation_data_as(&owner, M, "Claim", json!({ "researcherId": id })).await;
    assert_eq!(claimed["claimResearcher"]["claim"]["status"], "APPROVED");
    // A repeated claim returns the open one and changes nothing.
    app.operation_data_as(&owner, M, "Claim", json!({ "researcherId": id })).await;
    // Setting the value the profile already has is no change.
    let open_query = "query($id: ID!) { node(id: $id) { ... on Researcher { openToCollaborate } } }";
    let open = app.data(open_query, json!({ "id": id })).await["node"]["openToCollaborate"].as_bool().expect("bool");
    for value in [!open, !open] {
        let vars = json!({ "researcherId": id, "openToCollaborate": value });
        app.operation_data_as(&owner, M, "UpdateProfile", vars).await;
    }
    let work = catalogue::add_work(&app.db, &new_work("A logged work", vec![lenka, marc])).await.expect("add work");
    let claim_id = claimed["claimResearcher"]["claim"]["id"].clone();
    app.operation_data_as(&owner, M, "WithdrawClaim", json!({ "claimId": claim_id })).await;

    assert_eq!(
        summary(&reader.new_changes(&app, 100).await),
        vec![
            (ChangeKind::ClaimUpdated, marc, Some(marc)),
            (ChangeKind::ProfileUpdated, marc, Some(marc)),
            (ChangeKind::WorkAdded, work, None),
            (ChangeKind::AuthorshipAdded, work, Some(lenka)),
            (ChangeKind::AuthorshipAdded, work, Some(marc)),
            (ChangeKind::ClaimUpdated, marc, Some(marc)),
        ]
    );
}

#[tokio::test]
async fn a_rolled_back_write_records_nothing() {
    let app = spawn_app().await;
    let (id, marc) = researcher(&app, "marc-mezard").await;
    app.db
        .execute_unprepared(&format!("UPDATE researchers SET orcid = '{ORCID}' WHERE id = {marc}"))
        .await
        .expect("set orcid");
    app.operation_data_as(&token("marc", Some(ORCID), &[]), M, "Claim", json!({ "researcherId": id })).await;
    let mut reader = Reader::at_end(&app).await;
    let rows = rows_in_log(&app).await;

    // Someone else's claim on the owned record fails as a whole.
    let other = app.operation_as(&token("mallory", None, &[]), M, "Claim", json!({ "researcherId": id })).await;
    assert_eq!(error_code(&other), "CONFLICT");
    // So does a work with an unknown author.
    let unknown = catalogue::add_work(&app.db, &new_work("Nobody's work", vec![marc, 987_654])).await;
    assert!(unknown.is_err(), "{unknown:?}");
    // And a work whose transaction rolls back after it was added, change rows included.
    let txn = app.db.begin().await.expect("begin");
    catalogue::add_work_in(&txn, &new_work("An undone work", vec![marc])).await.expect("add work");
    txn.rollback().await.expect("roll back");

    assert_eq!(rows_in_log(&app).await, rows);
    assert_eq!(reader.new_changes(&app, 100).await, vec![]);
}

#[tokio::test]
async fn the_reader_returns_every_change_once_in_commit_order() {
    let app = spawn_app().await;
    let mut reader = Reader::at_end(&app).await;
    let mut expected = Vec::new();
    for (sub, slug) in [
        ("alice", "marc-mezard"),
        ("alice", "lenka-zdeborova"),
        ("bob", "marc-mezard"),
        ("carol", "florent-krzakala"),
        ("bob", "carlo-baldassi"),
    ] {
        let (id, number) = researcher(&app, slug).await;
        app.operation_data_as(&token(sub, None, &[]), M, "Follow", json!({ "researcherId": id })).await;
        expected.push((ChangeKind::Followed, number, Some(number)));
    }
    let (_, marc) = researcher(&app, "marc-mezard").await;
    let work = catalogue::add_work(&app.db, &new_work("Paged", vec![marc])).await.expect("add work");
    expected.extend([(ChangeKind::WorkAdded, work, None), (ChangeKind::AuthorshipAdded, work, Some(marc))]);

    // Pages of two: every change once, in order.
    let read = reader.new_changes(&app, 2).await;
    assert_eq!(summary(&read), expected);
    let positions: Vec<Position> = read.iter().map(|c| c.position).collect();
    assert!(positions.windows(2).all(|pair| pair[0] < pair[1]), "{positions:?}");
}

/// One reader's poll: what can be read after `position`, which moves on.
async fn poll(app: &TestApp, position: &mut Position, read: &mut Vec<Change>) {
    let (page, next) = changes::read_after(&app.db, *position, 100).await.expect("read");
    *position = next;
    read.extend(page);
}

/// Polls until `read` holds `count` changes, then once more.
async fn poll_until(app: &TestApp, position: &mut Position, read: &mut Vec<Change>, count: usize) {
    let deadline = Instant::now() + DEADLINE;
    while read.len() < count {
        assert!(Instant::now() < deadline, "{} of {count} changes read", read.len());
        poll(app, position, read).await;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    poll(app, position, read).await;
}

#[tokio::test]
async fn out_of_order_commits_are_each_read_once() {
    let app = spawn_app().await;
    if app.db.get_database_backend() != DbBackend::Postgres {
        // SQLite serializes writers: ids commit in order.
        return;
    }
    let (_, marc) = researcher(&app, "marc-mezard").await;
    let (_, lenka) = researcher(&app, "lenka-zdeborova").await;
    let change = |researcher: i64| [NewChange::of_researcher(ChangeKind::ClaimUpdated, researcher)];
    let mut position = Reader::at_end(&app).await.position;
    let mut read = Vec::new();

    // The smaller id (and xid) commits last.
    let first = app.db.begin().await.expect("begin");
    changes::record(&first, &change(marc)).await.expect("record");
    let second = app.db.begin().await.expect("begin");
    changes::record(&second, &change(lenka)).await.expect("record");
    second.commit().await.expect("commit");
    poll(&app, &mut position, &mut read).await;
    assert_eq!(read, vec![], "a change waits while an older transaction is open");
    first.commit().await.expect("commit");
    poll_until(&app, &mut position, &mut read, 2).await;
    assert_eq!(
        summary(&read),
        vec![(ChangeKind::ClaimUpdated, marc, Some(marc)), (ChangeKind::ClaimUpdated, lenka, Some(lenka))]
    );
    assert!(read[0].position.id < read[1].position.id);

    // The smaller id in the transaction with the larger xid: the older
    // transaction takes its xid first and writes its change last.
    read.clear();
    let older = app.db.begin().await.expect("begin");
    older.execute_unprepared("SELECT pg_current_xact_id()").await.expect("take an xid");
    let newer = app.db.begin().await.expect("begin");
    changes::record(&newer, &change(marc)).await.expect("record");
    changes::record(&older, &change(lenka)).await.expect("record");
    newer.commit().await.expect("commit");
    poll(&app, &mut position, &mut read).await;
    assert_eq!(read, vec![]);
    older.commit().await.expect("commit");
    poll_until(&app, &mut position, &mut read, 2).await;
    assert_eq!(
        summary(&read),
        vec![(ChangeKind::ClaimUpdated, lenka, Some(lenka)), (ChangeKind::ClaimUpdated, marc, Some(marc))],
        "commit order by transaction, each once"
    );
    assert!(read[0].position.id > read[1].position.id, "ids came in the other order");
}

#[tokio::test]
async fn the_feed_publishes_a_change_written_by_another_connection() {
    let app = spawn_app().await;
    let (_, marc) = researcher(&app, "marc-mezard").await;
    let postgres = app.db.get_database_backend() == DbBackend::Postgres;
    // On PostgreSQL the feed polls so rarely that only a notification can
    // deliver the second change in time; on SQLite it polls every second.
    let poll_interval = if postgres { Duration::from_secs(600) } else { changes::POLL_INTERVAL };
    let from = Reader::at_end(&app).await.position;
    let feed = ChangeFeed::spawn(app.db.clone(), Some(app.database_url.clone()), from, poll_interval);
    let mut received = feed.subscribe();
    let other = Database::connect(&app.database_url).await.expect("connect another pool");

    for title in ["Seen by the feed", "Announced to the feed"] {
        let work = catalogue::add_work(&other, &new_work(title, vec![marc])).await.expect("add work");
        for expected in [(ChangeKind::WorkAdded, work, None), (ChangeKind::AuthorshipAdded, work, Some(marc))] {
            let change = tokio::time::timeout(DEADLINE, received.recv())
                .await
                .unwrap_or_else(|_| panic!("no change within {DEADLINE:?} ({title})"))
                .expect("the feed runs");
            assert_eq!(summary(&[change]), vec![expected]);
        }
    }
    other.close().await.expect("close");
}

//! Live events about researcher records (`researcherEvents`), fanned out
//! in-process from the change log.
//!
//! One [`LiveEvents`] hub per instance follows the instance's
//! [`ChangeFeed`](super::changes::ChangeFeed): the log is written in each
//! write's own transaction, on any instance or by any process, so every
//! committed follow, claim, profile edit or new work reaches every instance,
//! and a rolled-back write reaches none. For the changes about researchers
//! someone here subscribes to, the hub reads those records once (one
//! statement per batch of changes, whatever the number of subscribers) and
//! publishes each event with the record as it is after the change.
//!
//! Each researcher has a bounded broadcast channel of [`EVENT_BUFFER`]
//! events. A subscriber that falls further behind does not hold the others
//! back or grow memory: it skips to the newest event, which carries the
//! current record, and is told how many it missed. Changes read together
//! (one read of the log) that raise the same event for a record in a row,
//! say an import's new works, become one event, carrying the record after
//! all of them; the others count as missed too. Every event has its place
//! in its record's sequence, so that a subscriber always knows how many it
//! did not get one by one.
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use sea_orm::DatabaseConnection;
use tokio::sync::broadcast::{self, error::RecvError, error::TryRecvError};
use tokio::task::JoinHandle;

use super::changes::{self, Change, ChangeKind, Position};
use super::profiles::{self, ProfileParts};
use super::researchers::Researcher;
use crate::error::AppResult;

/// Events kept per researcher for subscribers that have not taken them yet.
pub const EVENT_BUFFER: usize = 64;
/// Changes handled together: their records are read in one statement.
const MAX_BATCH: usize = 500;
/// Wait before reading the records again when the database is away.
const RETRY: Duration = Duration::from_secs(1);

/// What happened to a researcher record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    Followed,
    Unfollowed,
    ClaimUpdated,
    ProfileUpdated,
    /// A new work lists the researcher, or an import changed the record.
    WorksAdded,
}

impl EventKind {
    /// The event a change raises, if any.
    pub const fn of(kind: ChangeKind) -> Option<Self> {
        match kind {
            ChangeKind::Followed => Some(Self::Followed),
            ChangeKind::Unfollowed => Some(Self::Unfollowed),
            ChangeKind::ClaimUpdated => Some(Self::ClaimUpdated),
            ChangeKind::ProfileUpdated => Some(Self::ProfileUpdated),
            ChangeKind::AuthorshipAdded | ChangeKind::ResearcherUpdated => Some(Self::WorksAdded),
            // A new record has no subscribers yet; work rows reach their
            // authors as authorships; a bulk load is not a live event.
            ChangeKind::ResearcherAdded
            | ChangeKind::WorkAdded
            | ChangeKind::WorkUpdated
            | ChangeKind::CatalogueReloaded => None,
        }
    }
}

/// A researcher record with its profile parts, as read after a change.
#[derive(Debug, Clone)]
pub struct ResearcherState {
    pub record: Researcher,
    pub parts: Arc<ProfileParts>,
}

/// One event: what happened and the record after it.
#[derive(Debug, Clone)]
pub struct ResearcherEvent {
    pub kind: EventKind,
    /// Shared by every subscriber of the record.
    pub researcher: Arc<ResearcherState>,
    /// Events raised for the record on this instance so far, this one and
    /// those folded into it included.
    sequence: u64,
}

/// The events of one researcher.
struct Channel {
    sender: broadcast::Sender<Arc<ResearcherEvent>>,
    /// The sequence number of the last event sent.
    sequence: u64,
}

type Channels = HashMap<i64, Channel>;

#[derive(Default)]
struct Subscribers {
    channels: Mutex<Channels>,
}

impl Subscribers {
    fn lock(&self) -> MutexGuard<'_, Channels> {
        // A panic while holding the lock leaves the map itself intact.
        self.channels.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The instance's fan-out of researcher events. Dropping it stops the hub;
/// open subscriptions then end.
pub struct LiveEvents {
    subscribers: Arc<Subscribers>,
    task: JoinHandle<()>,
}

impl LiveEvents {
    /// Starts publishing what `changes` announces, reading records with `db`.
    pub fn spawn(db: DatabaseConnection, changes: broadcast::Receiver<Change>) -> Self {
        let subscribers = Arc::new(Subscribers::default());
        let task = tokio::spawn(run(db, subscribers.clone(), changes));
        Self { subscribers, task }
    }

    /// The events about `researcher_id` from now on.
    pub fn subscribe(&self, researcher_id: i64) -> EventSubscription {
        let mut channels = self.subscribers.lock();
        let channel = channels
            .entry(researcher_id)
            .or_insert_with(|| Channel { sender: broadcast::channel(EVENT_BUFFER).0, sequence: 0 });
        EventSubscription {
            researcher_id,
            receiver: channel.sender.subscribe(),
            seen: channel.sequence,
            subscribers: self.subscribers.clone(),
        }
    }

    /// Researchers with at least one subscriber on this instance.
    pub fn subscribed_researchers(&self) -> usize {
        self.subscribers.lock().len()
    }
}

impl Drop for LiveEvents {
    fn drop(&mut self) {
        self.task.abort();
        // Ends every open subscription.
        self.subscribers.lock().clear();
    }
}

/// One subscriber's events.
pub struct EventSubscription {
    researcher_id: i64,
    receiver: broadcast::Receiver<Arc<ResearcherEvent>>,
    /// The sequence number of the last event taken.
    seen: u64,
    subscribers: Arc<Subscribers>,
}

impl EventSubscription {
    /// The next event, and how many events before it this subscriber did
    /// not get one by one (skipped when it fell behind, or folded into this
    /// one); `None` once the hub has stopped.
    pub async fn next(&mut self) -> Option<(Arc<ResearcherEvent>, u64)> {
        let event = match self.receiver.recv().await {
            Ok(event) => event,
            Err(RecvError::Lagged(_)) => self.newest()?,
            Err(RecvError::Closed) => return None,
        };
        let missed = event.sequence.saturating_sub(self.seen + 1);
        self.seen = event.sequence;
        Some((event, missed))
    }

    /// After a lag: the newest buffered event.
    fn newest(&mut self) -> Option<Arc<ResearcherEvent>> {
        let mut newest = None;
        loop {
            match self.receiver.try_recv() {
                Ok(event) => newest = Some(event),
                Err(TryRecvError::Lagged(_)) => {}
                Err(TryRecvError::Empty | TryRecvError::Closed) => return newest,
            }
        }
    }
}

impl Drop for EventSubscription {
    fn drop(&mut self) {
        let mut channels = self.subscribers.lock();
        // This receiver is still counted: it is dropped after this runs.
        if channels.get(&self.researcher_id).is_some_and(|channel| channel.sender.receiver_count() <= 1) {
            channels.remove(&self.researcher_id);
        }
    }
}

async fn run(db: DatabaseConnection, subscribers: Arc<Subscribers>, mut changes: broadcast::Receiver<Change>) {
    // The last change handled: after a lag the rest is read from the log,
    // and what the feed still holds up to there is skipped.
    let mut handled: Option<Position> = None;
    loop {
        let mut batch = Vec::new();
        let mut lagged = false;
        match changes.recv().await {
            Ok(change) => batch.push(change),
            Err(RecvError::Lagged(_)) => lagged = true,
            Err(RecvError::Closed) => return,
        }
        while batch.len() < MAX_BATCH {
            match changes.try_recv() {
                Ok(change) => batch.push(change),
                Err(TryRecvError::Lagged(_)) => lagged = true,
                Err(TryRecvError::Empty | TryRecvError::Closed) => break,
            }
        }
        if let (true, Some(from)) = (lagged, handled) {
            tracing::debug!("live events fell behind the change feed; reading the log");
            // What was received is in the log too, and read again there.
            handled = Some(catch_up(&db, &subscribers, from).await);
            continue;
        }
        batch.retain(|change| handled.is_none_or(|handled| change.position > handled));
        if let Some(last) = batch.last() {
            handled = Some(last.position);
        }
        publish(&db, &subscribers, &batch).await;
    }
}

/// Publishes every change after `from`, read from the log a page at a time
/// (retrying while the database is away), and returns the position after
/// the last. Page by page, so that falling far behind (a large import) costs
/// no more memory than a page.
async fn catch_up(db: &DatabaseConnection, subscribers: &Subscribers, from: Position) -> Position {
    let mut position = from;
    loop {
        match changes::read_after(db, position, MAX_BATCH as u64).await {
            Ok((changes, next)) => {
                publish(db, subscribers, &changes).await;
                position = next;
                if changes.len() < MAX_BATCH {
                    return position;
                }
            }
            Err(error) => {
                tracing::warn!(?error, "reading the change log for live events failed; retrying");
                tokio::time::sleep(RETRY).await;
            }
        }
    }
}

/// Publishes the events `changes` raise for subscribed researchers, in order.
async fn publish(db: &DatabaseConnection, subscribers: &Subscribers, changes: &[Change]) {
    let events = events_of(changes, &subscribers.lock());
    if events.is_empty() {
        return;
    }
    let mut ids: Vec<i64> = events.iter().map(|event| event.researcher_id).collect();
    ids.sort_unstable();
    ids.dedup();
    let states = read_states(db, &ids).await;
    let mut channels = subscribers.lock();
    for RaisedEvent { researcher_id, kind, changes } in events {
        let (Some(state), Some(channel)) = (states.get(&researcher_id), channels.get_mut(&researcher_id)) else {
            continue;
        };
        channel.sequence += changes;
        let event = ResearcherEvent { kind, researcher: state.clone(), sequence: channel.sequence };
        // No receiver left is not an error: the event is for no one.
        let _ = channel.sender.send(Arc::new(event));
    }
}

/// An event to publish, standing for `changes` changes in a row.
#[derive(Debug, PartialEq, Eq)]
struct RaisedEvent {
    researcher_id: i64,
    kind: EventKind,
    changes: u64,
}

/// The events `changes` raise for subscribed researchers; a record's
/// changes of one kind in a row raise one event.
fn events_of(changes: &[Change], channels: &Channels) -> Vec<RaisedEvent> {
    let mut events: Vec<RaisedEvent> = Vec::new();
    // Where each researcher's last event is in `events`.
    let mut last: HashMap<i64, usize> = HashMap::new();
    for change in changes {
        let (Some(researcher_id), Some(kind)) = (change.researcher_id, EventKind::of(change.kind)) else { continue };
        if !channels.contains_key(&researcher_id) {
            continue;
        }
        match last.get(&researcher_id).map(|&at| &mut events[at]) {
            Some(event) if event.kind == kind => event.changes += 1,
            _ => {
                last.insert(researcher_id, events.len());
                events.push(RaisedEvent { researcher_id, kind, changes: 1 });
            }
        }
    }
    events
}

/// The current records of `ids`, retried until the database answers: a
/// subscriber then gets the state of when it came back.
async fn read_states(db: &DatabaseConnection, ids: &[i64]) -> HashMap<i64, Arc<ResearcherState>> {
    loop {
        match states(db, ids).await {
            Ok(states) => return states,
            Err(error) => {
                tracing::warn!(?error, "reading researchers for live events failed; retrying");
                tokio::time::sleep(RETRY).await;
            }
        }
    }
}

async fn states(db: &DatabaseConnection, ids: &[i64]) -> AppResult<HashMap<i64, Arc<ResearcherState>>> {
    Ok(profiles::profiles(db, ids)
        .await?
        .into_iter()
        .map(|(id, (record, parts))| (id, Arc::new(ResearcherState { record, parts: Arc::new(parts) })))
        .collect())
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;
    use crate::domain::changes::Subject;
    use crate::domain::researchers::ResearcherCounts;

    fn change(id: i64, kind: ChangeKind, researcher_id: i64) -> Change {
        Change {
            position: Position { xid: 0, id },
            subject: kind.subject(),
            kind,
            subject_id: researcher_id,
            researcher_id: Some(researcher_id),
            created_at: Utc::now(),
        }
    }

    #[test]
    fn only_subscribed_researchers_get_events_and_changes_of_a_kind_in_a_row_are_one() {
        let mut channels = Channels::new();
        channels.insert(7, Channel { sender: broadcast::channel(1).0, sequence: 0 });
        let changes = [
            change(1, ChangeKind::Followed, 7),
            change(2, ChangeKind::Followed, 8),
            change(3, ChangeKind::AuthorshipAdded, 7),
            change(4, ChangeKind::ResearcherUpdated, 7),
            change(5, ChangeKind::ResearcherAdded, 7),
            change(6, ChangeKind::Followed, 8),
            change(7, ChangeKind::Followed, 7),
            change(8, ChangeKind::Followed, 7),
            change(9, ChangeKind::ClaimUpdated, 7),
        ];
        let event = |kind, changes| RaisedEvent { researcher_id: 7, kind, changes };
        assert_eq!(
            events_of(&changes, &channels),
            vec![
                event(EventKind::Followed, 1),
                event(EventKind::WorksAdded, 2),
                event(EventKind::Followed, 2),
                event(EventKind::ClaimUpdated, 1)
            ]
        );
        assert_eq!(changes[0].subject, Subject::Follow);
    }

    fn state(followers: i32) -> Arc<ResearcherState> {
        let record = Researcher {
            id: 7,
            slug: "ada".to_owned(),
            display_name: "Ada".to_owned(),
            orcid: None,
            open_to_collaborate: false,
            affiliation_id: None,
            counts: ResearcherCounts { followers, ..ResearcherCounts::default() },
        };
        Arc::new(ResearcherState { record, parts: Arc::default() })
    }

    #[tokio::test]
    async fn a_subscriber_that_falls_behind_skips_to_the_newest_event_and_counts_what_it_missed() {
        let subscribers = Arc::new(Subscribers::default());
        let hub = LiveEvents { subscribers: subscribers.clone(), task: tokio::spawn(async {}) };
        let mut slow = hub.subscribe(7);
        let mut prompt = hub.subscribe(7);
        let sender = subscribers.lock().get(&7).map(|channel| channel.sender.clone()).expect("a channel for 7");
        let sent = EVENT_BUFFER as i32 * 3;
        for followers in 1..=sent {
            let event =
                ResearcherEvent { kind: EventKind::Followed, researcher: state(followers), sequence: followers as u64 };
            sender.send(Arc::new(event)).ok();
            if let Some((event, missed)) = prompt.next().await {
                assert_eq!((event.researcher.record.counts.followers, missed), (followers, 0));
            }
        }
        let (event, missed) = slow.next().await.expect("the newest event");
        assert_eq!(event.researcher.record.counts.followers, sent, "the newest state");
        assert_eq!(missed, sent as u64 - 1, "every other event is counted as missed");

        // The last subscriber gone, the channel goes too.
        drop((slow, prompt));
        assert_eq!(hub.subscribed_researchers(), 0);
        drop(sender);
    }
}

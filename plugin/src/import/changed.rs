//! Orders Amazon's notifications said changed, fetched with getOrder ahead of
//! polling and in the same batch. A change is done with once the host has stored
//! the batch that fetched it: the batch's checkpoint names it (`fetched`), and the
//! call that gets that checkpoint back settles it. A batch the host lost leaves
//! its changes waiting, so the next call fetches them again.

use chrono::{DateTime, Utc};

use super::checkpoint::{Checkpoint, Delivered, MAX_DELIVERED};
use super::{Collected, Envelope, INCLUDED_DATA, Verdict, accept, fail};
use crate::error::Error;
use crate::events::{Changes, STALE_READ_ATTEMPTS, STALE_READ_DELAY, Settled};
use crate::model::ConnectionSettings;
use crate::spapi::orders::{GetOrderResponse, get_order_path};
use crate::spapi::{Operation, SpApi, strict};

/// Fetches per call at most: getOrder's burst.
const CHANGES_PER_CALL: usize = 30;

/// Fetches the changes due, as far as getOrder's bucket allows, into `batch`.
pub(super) fn read_changes(
    api: &SpApi<'_>,
    settings: &ConnectionSettings,
    position: &mut Checkpoint,
    changes: &mut Changes,
    batch: &mut Collected,
) -> Result<(), Error> {
    let now = api.now();
    let due: Vec<_> = changes
        .unfetched(&position.fetched)
        .filter(|p| p.due(now))
        .take(CHANGES_PER_CALL)
        .cloned()
        .collect();
    let mut fetched = Vec::new();
    let mut done_now = Vec::new();
    for change in due {
        let version = Settled(change.order_id.clone(), change.changed_at);
        if polled_past(position, &change.marketplace_id, change.changed_at) {
            // A window that opened after the change has been read and stored.
            done_now.push(version);
            continue;
        }
        let query = [("includedData", INCLUDED_DATA.to_owned())];
        let path = get_order_path(&change.order_id);
        let response: GetOrderResponse = match api.get(Operation::GET_ORDER, &path, &query) {
            Ok(response) => response,
            // Out of tokens or unreachable: the rest wait for a later call.
            Err(Error::Throttled { .. } | Error::Transport(_)) => break,
            // Amazon's read can lag its own notification, a new order's most of all.
            Err(Error::Amazon(e)) if e.status == 404 => {
                if !read_again_later(changes, &change.order_id, now) {
                    done_now.push(version);
                }
                continue;
            }
            Err(e @ (Error::Amazon(_) | Error::MalformedResponse { .. })) => {
                fail(
                    &mut position.retry,
                    batch,
                    &change.order_id,
                    e.to_string(),
                    now,
                );
                fetched.push(version);
                continue;
            }
            Err(e) => return Err(e),
        };
        // An answer about another order (or none) cannot settle this one: it goes
        // on the retry list under the id asked for.
        let answered = strict::from_slice::<Envelope>(response.order.get().as_bytes())
            .ok()
            .and_then(|envelope| envelope.order_id);
        if answered.as_ref().and_then(|id| id.as_str()) != Some(change.order_id.as_str()) {
            let reason = "getOrder answered without the order's own orderId".to_owned();
            fail(&mut position.retry, batch, &change.order_id, reason, now);
            fetched.push(version);
            continue;
        }
        let Checkpoint {
            streams,
            retry,
            event_delivered,
            ..
        } = &mut *position;
        // Delivered by polling (the last window's overlap, or a page of the window
        // being read) or by an earlier notification: not delivered again.
        let repeat = |id: &str, updated: &str| {
            let same = |d: &Delivered| d.0 == id && d.1 == updated;
            streams.iter().any(|s| {
                s.already_delivered(id, updated)
                    || s.window
                        .as_ref()
                        .is_some_and(|w| w.boundary.iter().any(same))
            }) || event_delivered.iter().any(same)
        };
        match accept(&response.order, now, settings, &repeat, retry, batch) {
            Verdict::Import(order) => {
                retry.retain(|r| r.order_id != order.order.order_id);
                if event_delivered.len() < MAX_DELIVERED {
                    event_delivered.push(Delivered(
                        order.order.order_id.clone(),
                        order.updated_text.clone(),
                    ));
                }
                let stale = order.updated_at < change.changed_at;
                batch.orders.push(order.order);
                if stale && read_again_later(changes, &change.order_id, now) {
                    continue;
                }
                fetched.push(version);
            }
            Verdict::Repeat(..) | Verdict::Skipped => fetched.push(version),
        }
    }
    changes.settle(&done_now);
    position.fetched = fetched;
    Ok(())
}

/// A read older than the change: asked again a little later, a few times, then
/// left to polling. True when it will be asked again.
fn read_again_later(changes: &mut Changes, order_id: &str, now: DateTime<Utc>) -> bool {
    let Some(pending) = changes.pending.iter_mut().find(|p| p.order_id == order_id) else {
        return false;
    };
    pending.stale_reads += 1;
    pending.not_before = Some(now + STALE_READ_DELAY);
    pending.stale_reads < STALE_READ_ATTEMPTS
}

/// True when every stream reading `marketplace` has read past `changed_at`: its
/// cursor is past it (a window opened after the change was read to its end), or
/// the window being paged opened after the change and its pages, read in order
/// of update, reached it.
fn polled_past(position: &Checkpoint, marketplace: &str, changed_at: DateTime<Utc>) -> bool {
    let mut readers = position
        .streams
        .iter()
        .filter(|s| s.marketplaces.iter().any(|m| m == marketplace))
        .peekable();
    readers.peek().is_some()
        && readers.all(|s| {
            s.cursor > changed_at
                || s.window.as_ref().is_some_and(|w| {
                    !w.unordered
                        && changed_at <= w.before
                        && w.frontier.is_some_and(|f| f >= changed_at)
                })
        })
}

/// Forgets event versions every stream's cursor has passed: no window reads them
/// again.
pub(super) fn forget_polled_past(position: &mut Checkpoint) {
    let Some(oldest) = position.streams.iter().map(|s| s.cursor).min() else {
        return;
    };
    position.event_delivered.retain(|Delivered(_, text)| {
        DateTime::parse_from_rfc3339(text).is_ok_and(|t| t.with_timezone(&Utc) >= oldest)
    });
}

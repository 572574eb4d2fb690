//! Many updates in one `POST_ORDER_FULFILLMENT_DATA` feed: createFeedDocument, the
//! upload, createFeed, getFeed until Amazon is done, and the processing report read
//! back per order. A job moves one step per call Amazon's buckets allow and is
//! stored after every step, so a crash at any point resumes it; a createFeed whose
//! answer was lost is found again in Amazon's list of feeds, never submitted twice.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use http::Method;
use serde::{Deserialize, Serialize};

use super::outbox::{Outbox, OutboxEntry, Stage};
use super::record_all_sent;
use crate::error::Error;
use crate::host::Store;
use crate::model::{ConnectionSettings, FeedSubmission, NotificationResult};
use crate::spapi::feeds::{
    CreateFeed, CreateFeedDocument, CreateFeedResponse, DOCUMENT_CONTENT_TYPE, DOCUMENTS_PATH,
    FEEDS_PATH, Feed, FeedDocument, FulfillmentMessage, GetFeedsResponse, ORDER_FULFILLMENT_FEED,
    document_path, feed_path, fulfillment_document, parse_processing_report,
};
use crate::spapi::{Operation, SpApi, decode, pacing};

use crate::keys::{
    FEED_JOB_INDEX as JOB_INDEX, FEED_JOB_PREFIX as JOB_PREFIX, FEED_TURNAROUND as TURNAROUND_KEY,
};
/// The estimate before any feed was seen through.
const DEFAULT_TURNAROUND: Duration = Duration::seconds(120);
/// Between two looks at a feed Amazon is still processing.
const POLL_INTERVAL: Duration = Duration::seconds(30);
/// Before a lost createFeed is looked for in Amazon's list of feeds.
const LIST_DELAY: Duration = Duration::seconds(30);
/// After a transport failure or a 5xx, before the step is tried again.
const RETRY_AFTER_FAILURE: Duration = Duration::seconds(60);
/// Amazon's limit on one feed document is far above this; the cap keeps one
/// document (and one failure) small.
pub const MAX_MESSAGES: usize = 10_000;

/// Where a feed job stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "kebab-case")]
enum Step {
    /// Nothing at Amazon yet.
    Open,
    /// The document is uploaded; the feed is not created.
    Uploaded { document_id: String },
    /// createFeed was sent at `since` and its answer did not arrive: Amazon's list
    /// of feeds says whether it was created.
    Submitting {
        document_id: String,
        since: DateTime<Utc>,
    },
    /// Amazon is processing the feed.
    Submitted {
        feed_id: String,
        submitted_at: DateTime<Utc>,
        check_at: DateTime<Utc>,
    },
    /// Amazon is done; the report is to be read.
    Processed {
        feed_id: String,
        report_document_id: String,
    },
}

/// One feed and the updates in it.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Job {
    /// The marketplace the feed is applied to: every update in it is for an order
    /// of that marketplace. (A job stored without one is refused by createFeed,
    /// and its updates go one by one.)
    #[serde(default)]
    marketplace: String,
    /// The orders whose updates it was opened for.
    orders: Vec<String>,
    /// The orders in the document, in message order (`MessageID` = position + 1);
    /// fixed when the document is uploaded.
    #[serde(default)]
    messages: Vec<String>,
    step: Step,
    /// Not before (after a failure).
    #[serde(default)]
    retry_at: Option<DateTime<Utc>>,
}

fn job_key(id: &str) -> String {
    format!("{JOB_PREFIX}{id}")
}

/// The ids of the jobs in progress (an index entry whose job record is gone, left
/// by a failed write, is not one).
pub fn jobs(store: &Store<'_>) -> Result<Vec<String>, Error> {
    let index: BTreeSet<String> = store.load(JOB_INDEX)?.unwrap_or_default();
    let mut live = Vec::new();
    for id in index {
        if load(store, &id)?.is_some() {
            live.push(id);
        }
    }
    Ok(live)
}

fn load(store: &Store<'_>, id: &str) -> Result<Option<Job>, Error> {
    store.load(&job_key(id))
}

fn save(store: &Store<'_>, id: &str, job: &Job) -> Result<(), Error> {
    store.save(&job_key(id), job)
}

fn close(store: &Store<'_>, id: &str) -> Result<(), Error> {
    store.remove(&job_key(id))?;
    let mut index: BTreeSet<String> = store.load(JOB_INDEX)?.unwrap_or_default();
    if index.remove(id) {
        store.save(JOB_INDEX, &index)?;
    }
    Ok(())
}

/// How long the next feed will likely take, from the last one seen through.
fn turnaround(store: &Store<'_>) -> Duration {
    store
        .load::<f64>(TURNAROUND_KEY)
        .ok()
        .flatten()
        .filter(|s| s.is_finite())
        .map(|s| Duration::milliseconds((s.clamp(10.0, 3600.0) * 1000.0) as i64))
        .unwrap_or(DEFAULT_TURNAROUND)
}

/// True when `count` updates reach Amazon sooner in one feed than one by one:
/// the feed's expected end (its two calls' buckets, then the processing time of
/// the last feed) against the moment the confirmShipment bucket has given `count`
/// tokens. A tie goes to the feed, which makes fewer calls.
pub fn is_sooner(store: &Store<'_>, count: usize, now: DateTime<Utc>) -> bool {
    if count < 2 {
        return false;
    }
    let confirm = pacing::load(store, &Operation::CONFIRM_SHIPMENT, now);
    let missing = (count as f64 - confirm.tokens_at(now)).max(0.0);
    let direct_done = now + Duration::milliseconds((missing / confirm.rate * 1000.0) as i64);
    let feed_start = pacing::ready_at(store, &Operation::CREATE_FEED_DOCUMENT, now)
        .max(pacing::ready_at(store, &Operation::CREATE_FEED, now));
    feed_start + turnaround(store) <= direct_done
}

/// Opens a job for `entries`: the job is written first, then each entry is marked
/// as in it (an entry a crash left unmarked is simply not in the document).
pub fn open(
    store: &Store<'_>,
    marketplace: &str,
    entries: &[(String, OutboxEntry)],
    now: DateTime<Utc>,
) -> Result<String, Error> {
    let entries = &entries[..entries.len().min(MAX_MESSAGES)];
    let first = entries.first().map(|(id, _)| id.as_str()).unwrap_or("none");
    let id = format!("{}-{first}", now.timestamp_millis());
    let job = Job {
        marketplace: marketplace.to_owned(),
        orders: entries
            .iter()
            .map(|(order_id, _)| order_id.clone())
            .collect(),
        messages: Vec::new(),
        step: Step::Open,
        retry_at: None,
    };
    save(store, &id, &job)?;
    let mut index: BTreeSet<String> = store.load(JOB_INDEX)?.unwrap_or_default();
    index.insert(id.clone());
    store.save(JOB_INDEX, &index)?;
    let outbox = Outbox::new(store);
    for (order_id, entry) in entries {
        let mut entry = entry.clone();
        entry.stage = Stage::InFeed { job: id.clone() };
        outbox.update(order_id, &entry)?;
    }
    Ok(id)
}

/// What the host is told about an update in this job: `None` until Amazon has
/// the feed.
pub fn submission(
    store: &Store<'_>,
    id: &str,
    now: DateTime<Utc>,
) -> Result<Option<FeedSubmission>, Error> {
    Ok(match load(store, id)?.map(|job| job.step) {
        Some(Step::Submitted {
            feed_id, check_at, ..
        }) => Some(FeedSubmission {
            feed_id,
            check_after: check_at,
        }),
        // Amazon is done: the report is read on the next call the bucket allows.
        Some(Step::Processed { feed_id, .. }) => Some(FeedSubmission {
            feed_id,
            check_after: next_step_at(store, id, now)?,
        }),
        _ => None,
    })
}

/// When the job's next step can be taken.
pub fn next_step_at(
    store: &Store<'_>,
    id: &str,
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>, Error> {
    let Some(job) = load(store, id)? else {
        return Ok(now);
    };
    let ready = |operation: &Operation| pacing::ready_at(store, operation, now);
    let at = match &job.step {
        Step::Open => ready(&Operation::CREATE_FEED_DOCUMENT).max(ready(&Operation::CREATE_FEED)),
        Step::Uploaded { .. } => ready(&Operation::CREATE_FEED),
        Step::Submitting { since, .. } => (*since + LIST_DELAY).max(ready(&Operation::GET_FEEDS)),
        Step::Submitted { check_at, .. } => (*check_at).max(ready(&Operation::GET_FEED)),
        Step::Processed { .. } => ready(&Operation::GET_FEED_DOCUMENT),
    };
    Ok(job.retry_at.map_or(at, |retry| at.max(retry)))
}

/// A moved update: order id, label id, outcome.
pub type Moved = (String, String, NotificationResult);

/// Takes the job's steps as far as Amazon's buckets allow now.
pub fn advance(
    api: &SpApi<'_>,
    store: &Store<'_>,
    settings: &ConnectionSettings,
    id: &str,
) -> Result<Vec<Moved>, Error> {
    let mut moved = Vec::new();
    loop {
        let Some(mut job) = load(store, id)? else {
            return Ok(moved);
        };
        let now = api.now();
        if next_step_at(store, id, now)? > now {
            return Ok(moved);
        }
        job.retry_at = None;
        let step = job.step.clone();
        let result = match step {
            Step::Open => upload(api, store, settings, id, &mut job),
            Step::Uploaded { document_id } => {
                submit(api, store, id, &mut job, &document_id, &mut moved)
            }
            Step::Submitting { document_id, since } => {
                find_lost_feed(api, store, &mut job, &document_id, since)
            }
            Step::Submitted {
                feed_id,
                submitted_at,
                ..
            } => check(api, store, &mut job, &feed_id, submitted_at),
            Step::Processed {
                feed_id,
                report_document_id,
            } => {
                // What the report settled before a failure is kept and handed out;
                // the job stays, and the next call reads the report again.
                if let Err(e) = read_report(
                    api,
                    store,
                    id,
                    &job,
                    &feed_id,
                    &report_document_id,
                    &mut moved,
                ) {
                    log::error!("feed job {id}: the report was read only in part: {e}");
                }
                return Ok(moved);
            }
        };
        match result {
            Ok(Next::Continue) => save(store, id, &job)?,
            Ok(Next::Wait) => {
                save(store, id, &job)?;
                return Ok(moved);
            }
            Ok(Next::GiveBack) => {
                give_back(store, id, &job)?;
                return Ok(moved);
            }
            Err(Error::Throttled { .. }) => return Ok(moved),
            Err(Error::Storage(e)) => {
                log::error!("feed job {id}: {e}");
                return Ok(moved);
            }
            Err(e) => {
                log::warn!("feed job {id}: {e}");
                job.retry_at = Some(api.now() + RETRY_AFTER_FAILURE);
                save(store, id, &job)?;
                return Ok(moved);
            }
        }
    }
}

enum Next {
    /// Take the next step now.
    Continue,
    /// The next step is for a later call.
    Wait,
    /// The feed cannot carry these updates: they go back to be sent one by one.
    GiveBack,
}

/// The updates still in the job, in order.
fn members(
    store: &Store<'_>,
    id: &str,
    orders: &[String],
) -> Result<Vec<(String, OutboxEntry)>, Error> {
    let outbox = Outbox::new(store);
    let mut members = Vec::new();
    for order_id in orders {
        if let Some(entry) = outbox.get(order_id)?
            && entry.stage == (Stage::InFeed { job: id.to_owned() })
        {
            members.push((order_id.clone(), entry));
        }
    }
    Ok(members)
}

/// createFeedDocument and the upload, in one go: the pre-signed URL is never stored
/// (it is a credential for five minutes).
fn upload(
    api: &SpApi<'_>,
    store: &Store<'_>,
    settings: &ConnectionSettings,
    id: &str,
    job: &mut Job,
) -> Result<Next, Error> {
    let members = members(store, id, &job.orders)?;
    if members.is_empty() {
        return Ok(Next::GiveBack);
    }
    let messages: Vec<FulfillmentMessage<'_>> = members
        .iter()
        .zip(1..)
        .map(|((order_id, entry), message_id)| FulfillmentMessage {
            message_id,
            order_id,
            package: &entry.request.package_detail,
        })
        .collect();
    let document = fulfillment_document(&settings.credentials.seller_id, &messages);
    let created = api.post_json(
        Operation::CREATE_FEED_DOCUMENT,
        DOCUMENTS_PATH,
        &CreateFeedDocument {
            content_type: DOCUMENT_CONTENT_TYPE,
        },
    );
    let target: FeedDocument = match created {
        Ok(response) => decode(Operation::CREATE_FEED_DOCUMENT.name, &response)?,
        Err(Error::Amazon(e)) if (400..500).contains(&e.status) && e.status != 408 => {
            log::warn!("createFeedDocument refused: {} {}", e.status, e.code);
            return Ok(Next::GiveBack);
        }
        Err(e) => return Err(e),
    };
    api.transfer(
        "feedDocumentUpload",
        Method::PUT,
        &target.url,
        Some(DOCUMENT_CONTENT_TYPE),
        document.into_bytes(),
    )?;
    job.messages = members.into_iter().map(|(order_id, _)| order_id).collect();
    job.step = Step::Uploaded {
        document_id: target.feed_document_id,
    };
    Ok(Next::Continue)
}

/// createFeed. `Submitting` is stored before the call, so a lost answer is looked
/// up, not sent again.
fn submit(
    api: &SpApi<'_>,
    store: &Store<'_>,
    id: &str,
    job: &mut Job,
    document_id: &str,
    moved: &mut Vec<Moved>,
) -> Result<Next, Error> {
    if api.ready_at(Operation::CREATE_FEED) > api.now() {
        return Ok(Next::Wait);
    }
    let since = api.now();
    job.step = Step::Submitting {
        document_id: document_id.to_owned(),
        since,
    };
    save(store, id, job)?;
    let created = api.post_json(
        Operation::CREATE_FEED,
        FEEDS_PATH,
        &CreateFeed {
            feed_type: ORDER_FULFILLMENT_FEED,
            marketplace_ids: [job.marketplace.as_str()],
            input_feed_document_id: document_id,
        },
    );
    let feed_id = match created {
        Ok(response) => {
            decode::<CreateFeedResponse>(Operation::CREATE_FEED.name, &response)?.feed_id
        }
        // Refused outright (429 included): Amazon has no feed, the document waits.
        Err(Error::Throttled { .. }) => {
            job.step = Step::Uploaded {
                document_id: document_id.to_owned(),
            };
            return Ok(Next::Wait);
        }
        Err(Error::Amazon(e)) if (400..500).contains(&e.status) && e.status != 408 => {
            log::warn!("createFeed refused: {} {}", e.status, e.code);
            return Ok(Next::GiveBack);
        }
        // A lost answer or a server error: Amazon may have the feed. It is looked
        // for in Amazon's list before anything is sent again.
        Err(e) => {
            log::warn!("createFeed answer lost: {e}");
            return Ok(Next::Wait);
        }
    };
    let check_at = api.now() + turnaround(store);
    job.step = Step::Submitted {
        feed_id: feed_id.clone(),
        submitted_at: since,
        check_at,
    };
    for (order_id, entry) in members(store, id, &job.messages)? {
        moved.push((
            order_id,
            entry.label_id,
            NotificationResult::InFeed(FeedSubmission {
                feed_id: feed_id.clone(),
                check_after: check_at,
            }),
        ));
    }
    Ok(Next::Wait)
}

/// A createFeed whose answer was lost: the feed Amazon created since then, that no
/// other job holds, is this one; none means Amazon never got it.
fn find_lost_feed(
    api: &SpApi<'_>,
    store: &Store<'_>,
    job: &mut Job,
    document_id: &str,
    since: DateTime<Utc>,
) -> Result<Next, Error> {
    let query = [
        ("feedTypes", ORDER_FULFILLMENT_FEED.to_owned()),
        ("marketplaceIds", job.marketplace.clone()),
        (
            "createdSince",
            (since - Duration::minutes(1)).to_rfc3339_opts(SecondsFormat::Secs, true),
        ),
    ];
    let listed: GetFeedsResponse = api.get(Operation::GET_FEEDS, FEEDS_PATH, &query)?;
    let mut known = BTreeSet::new();
    for other in jobs(store)? {
        if let Some(Job {
            step: Step::Submitted { feed_id, .. } | Step::Processed { feed_id, .. },
            ..
        }) = load(store, &other)?
        {
            known.insert(feed_id);
        }
    }
    let ours = listed
        .feeds
        .into_iter()
        .filter(|feed| !known.contains(&feed.feed_id))
        .filter(|feed| {
            feed.marketplace_ids.is_empty() || feed.marketplace_ids.contains(&job.marketplace)
        })
        .min_by_key(|feed| feed.created_time.clone());
    job.step = match ours {
        Some(feed) => Step::Submitted {
            feed_id: feed.feed_id,
            submitted_at: since,
            check_at: api.now(),
        },
        None => Step::Uploaded {
            document_id: document_id.to_owned(),
        },
    };
    Ok(Next::Continue)
}

/// getFeed: done, still processing, or failed as a whole.
fn check(
    api: &SpApi<'_>,
    store: &Store<'_>,
    job: &mut Job,
    feed_id: &str,
    submitted_at: DateTime<Utc>,
) -> Result<Next, Error> {
    let feed: Feed = api.get(Operation::GET_FEED, &feed_path(feed_id), &[])?;
    match (
        feed.processing_status.as_str(),
        feed.result_feed_document_id,
    ) {
        ("DONE", Some(report_document_id)) => {
            let took = (api.now() - submitted_at).num_milliseconds() as f64 / 1000.0;
            if let Err(e) = store.save(TURNAROUND_KEY, &took) {
                log::warn!("the feed turnaround was not kept: {e}");
            }
            job.step = Step::Processed {
                feed_id: feed_id.to_owned(),
                report_document_id,
            };
            Ok(Next::Continue)
        }
        ("IN_QUEUE" | "IN_PROGRESS", _) => {
            job.step = Step::Submitted {
                feed_id: feed_id.to_owned(),
                submitted_at,
                check_at: api.now() + POLL_INTERVAL,
            };
            Ok(Next::Wait)
        }
        // FATAL and CANCELLED feeds change nothing at Amazon; DONE without a report
        // cannot say what it changed, so each order is asked.
        ("DONE", None) => {
            job.step = Step::Processed {
                feed_id: feed_id.to_owned(),
                report_document_id: String::new(),
            };
            Ok(Next::Continue)
        }
        (status, _) => {
            log::warn!("feed {feed_id} ended {status}: its updates go one by one");
            Ok(Next::GiveBack)
        }
    }
}

/// The report's text: as downloaded, or inflated when getFeedDocument said
/// `GZIP`. A body that is no longer gzip was inflated on the way (the URL sent
/// `content-encoding: gzip`); an algorithm the component does not know leaves the
/// report unread.
fn readable_report<'b>(document: &FeedDocument, body: &'b [u8]) -> Result<Cow<'b, [u8]>, String> {
    match document.compression_algorithm.as_deref() {
        None => Ok(Cow::Borrowed(body)),
        Some("GZIP") if crate::gzip::is_gzip(body) => {
            crate::gzip::gunzip(body, crate::host::MAX_INFLATED_BODY)
                .map(Cow::Owned)
                .map_err(|e| format!("the report: {e}"))
        }
        Some("GZIP") => Ok(Cow::Borrowed(body)),
        Some(_) => {
            Err("the report is compressed with an algorithm the component does not read".into())
        }
    }
}

/// getFeedDocument and the download; each order's outcome from the report. An
/// order the report does not cover, or a report that cannot be read, is resolved
/// by Amazon's PACKAGES data; an order the feed refused goes once by
/// confirmShipment, whose answer is Amazon's verdict for it alone.
fn read_report(
    api: &SpApi<'_>,
    store: &Store<'_>,
    id: &str,
    job: &Job,
    feed_id: &str,
    report_document_id: &str,
    moved: &mut Vec<Moved>,
) -> Result<(), Error> {
    let report = if report_document_id.is_empty() {
        Err("Amazon gave no processing report".to_owned())
    } else {
        let document: FeedDocument = match api.get(
            Operation::GET_FEED_DOCUMENT,
            &document_path(report_document_id),
            &[],
        ) {
            Ok(document) => document,
            Err(Error::Throttled { .. }) => return Ok(()),
            Err(e @ (Error::Transport(_) | Error::Amazon(_))) => {
                log::warn!("feed {feed_id}'s report: {e}");
                return retry_later(api, store, id, job);
            }
            Err(e) => return Err(e),
        };
        match api.transfer(
            "feedReportDownload",
            Method::GET,
            &document.url,
            None,
            Vec::new(),
        ) {
            Ok(response) => readable_report(&document, response.body()).and_then(|text| {
                std::str::from_utf8(&text)
                    .map_err(|_| "the report is not UTF-8".to_owned())
                    .and_then(parse_processing_report)
            }),
            Err(e) => {
                log::warn!("feed {feed_id}'s report download: {e}");
                return retry_later(api, store, id, job);
            }
        }
    };
    let outbox = Outbox::new(store);
    let now = api.now();
    let mut members: BTreeMap<String, OutboxEntry> =
        members(store, id, &job.orders)?.into_iter().collect();
    match &report {
        Err(why) => log::warn!("feed {feed_id}: {why}; each order is asked instead"),
        Ok(report) => log::info!(
            "feed {feed_id}: {} messages, {} refused",
            job.messages.len(),
            report.errors.len()
        ),
    }
    let report = report
        .ok()
        .filter(|report| report.covers(job.messages.len()));
    // The message id of each order is its place in the document, from 1.
    let mut accepted = Vec::new();
    let mut unsettled = Vec::new();
    for (order_id, message_id) in job.messages.iter().zip(1u32..) {
        let Some(entry) = members.remove(order_id) else {
            continue;
        };
        match report.as_ref().map(|report| report.errors.get(&message_id)) {
            Some(None) => accepted.push((order_id.as_str(), entry)),
            Some(Some(error)) => {
                log::info!(
                    "feed {feed_id} refused {order_id}: {} {}",
                    error.code,
                    error.description
                );
                unsettled.push((order_id.as_str(), entry, Stage::Pending, true));
            }
            None => unsettled.push((order_id.as_str(), entry, Stage::Verify, false)),
        }
    }
    // What Amazon has is recorded first: it is the outcome, whatever follows.
    let sent: Vec<(&str, &OutboxEntry)> = accepted.iter().map(|(id, e)| (*id, e)).collect();
    record_all_sent(store, &sent, Some(feed_id), now);
    for (order_id, entry) in &accepted {
        let result = NotificationResult::SentInFeed(feed_id.to_owned());
        moved.push(((*order_id).to_owned(), entry.label_id.clone(), result));
    }
    for (order_id, mut entry, stage, direct_only) in unsettled {
        entry.stage = stage;
        entry.direct_only |= direct_only;
        entry.retry_at = now;
        outbox.update(order_id, &entry)?;
    }
    // Marked for this job but not in its document (a mark written after the
    // upload): never sent, so they go again.
    for (order_id, mut entry) in members {
        entry.stage = Stage::Pending;
        outbox.update(&order_id, &entry)?;
    }
    close(store, id)
}

/// The report could not be read now: the job waits, then reads it again.
fn retry_later(api: &SpApi<'_>, store: &Store<'_>, id: &str, job: &Job) -> Result<(), Error> {
    let mut job = job.clone();
    job.retry_at = Some(api.now() + RETRY_AFTER_FAILURE);
    save(store, id, &job)
}

/// The feed will not carry the job's updates: they go back to be sent one by one
/// (nothing of them reached Amazon).
fn give_back(store: &Store<'_>, id: &str, job: &Job) -> Result<(), Error> {
    let outbox = Outbox::new(store);
    for (order_id, mut entry) in members(store, id, &job.orders)? {
        entry.stage = Stage::Pending;
        entry.direct_only = true;
        outbox.update(&order_id, &entry)?;
    }
    close(store, id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::Host;
    use crate::model::{LabelEvent, NotificationOutcome};
    use crate::notify::{on_label_created, send_queued_notifications};
    use crate::testing::{FakeHost, us_settings};

    const UPLOAD_URL: &str = "https://tortuga-prod-na.s3-external-1.amazonaws.com/doc-in";
    const REPORT_URL: &str = "https://tortuga-prod-na.s3-external-1.amazonaws.com/doc-out";

    fn batch(count: usize) -> Vec<LabelEvent> {
        crate::notify::tests_support::labels(count)
    }

    fn submit_feed(host: &FakeHost) {
        host.expect(
            "POST",
            "/feeds/2021-06-30/documents",
            201,
            &format!(r#"{{"feedDocumentId":"doc-in","url":"{UPLOAD_URL}"}}"#),
        )
        .expect("PUT", "/doc-in", 200, "");
    }

    /// 300 labels, submitted as one feed with this id.
    fn submitted_batch(host: &FakeHost, feed_id: &str) {
        submitted(host, feed_id, 300);
    }

    /// `count` labels, submitted as one feed with this id.
    fn submitted(host: &FakeHost, feed_id: &str, count: usize) {
        host.expect_token();
        submit_feed(host);
        host.expect(
            "POST",
            "/feeds/2021-06-30/feeds",
            202,
            &format!(r#"{{"feedId":"{feed_id}"}}"#),
        );
        on_label_created(host, &us_settings(), &batch(count)).unwrap();
    }

    fn report(messages: usize, refused: &[u32]) -> String {
        let results: String = refused
            .iter()
            .map(|id| format!("<Result><MessageID>{id}</MessageID><ResultCode>Error</ResultCode><ResultMessageCode>18028</ResultMessageCode><ResultDescription>refused</ResultDescription></Result>"))
            .collect();
        format!(
            "<AmazonEnvelope><MessageType>ProcessingReport</MessageType><Message><MessageID>1</MessageID><ProcessingReport><StatusCode>Complete</StatusCode><ProcessingSummary><MessagesProcessed>{messages}</MessagesProcessed></ProcessingSummary>{results}</ProcessingReport></Message></AmazonEnvelope>"
        )
    }

    fn count(
        outcomes: &[NotificationOutcome],
        wanted: impl Fn(&NotificationResult) -> bool,
    ) -> usize {
        outcomes.iter().filter(|o| wanted(&o.outcome)).count()
    }

    #[test]
    fn a_large_batch_goes_as_one_feed_and_each_order_s_outcome_comes_from_the_report() {
        let host = FakeHost::new();
        let start = host.now();
        host.expect_token();
        submit_feed(&host);
        host.expect(
            "POST",
            "/feeds/2021-06-30/feeds",
            202,
            r#"{"feedId":"50001"}"#,
        );
        let labels = batch(300);
        let outcomes = on_label_created(&host, &us_settings(), &labels).unwrap();
        let check_after = start + DEFAULT_TURNAROUND;
        assert_eq!(
            count(&outcomes, |o| *o
                == NotificationResult::InFeed(FeedSubmission {
                    feed_id: "50001".into(),
                    check_after
                })),
            300
        );
        assert_eq!(host.unanswered(), 0);
        {
            let sent = host.sent.borrow();
            let upload = &sent[2];
            assert_eq!(upload.uri, UPLOAD_URL);
            assert!(
                upload
                    .headers
                    .iter()
                    .any(|(k, v)| k == "content-type" && v == DOCUMENT_CONTENT_TYPE),
                "the Content-Type declared to createFeedDocument"
            );
            assert!(
                !upload
                    .headers
                    .iter()
                    .any(|(k, _)| k == "x-amz-access-token"),
                "the access token never goes to the document host"
            );
            assert_eq!(upload.body.matches("<Message>").count(), 300);
            let created: serde_json::Value = serde_json::from_str(&sent[3].body).unwrap();
            assert_eq!(created["feedType"], "POST_ORDER_FULFILLMENT_DATA");
            assert_eq!(created["inputFeedDocumentId"], "doc-in");
        }
        // Repeating the call sends nothing and says the same.
        let again = on_label_created(&host, &us_settings(), &labels[..1]).unwrap();
        assert!(matches!(again[0].outcome, NotificationResult::InFeed(_)));
        assert_eq!(host.sent.borrow().len(), 4);

        // Early: nothing is asked.
        let early = send_queued_notifications(&host, &us_settings()).unwrap();
        assert_eq!(
            (early.pending, early.next_call_after),
            (300, Some(check_after))
        );
        assert_eq!(host.sent.borrow().len(), 4);

        host.set_now(check_after);
        host.expect("GET", "/feeds/2021-06-30/feeds/50001", 200, r#"{"feedId":"50001","feedType":"POST_ORDER_FULFILLMENT_DATA","createdTime":"2026-11-20T15:00:00Z","processingStatus":"IN_PROGRESS"}"#);
        let report_1 = send_queued_notifications(&host, &us_settings()).unwrap();
        assert!(report_1.outcomes.is_empty());
        let next = check_after + POLL_INTERVAL;
        assert_eq!(report_1.next_call_after, Some(next));

        host.set_now(next);
        host.expect("GET", "/feeds/2021-06-30/feeds/50001", 200, r#"{"feedId":"50001","feedType":"POST_ORDER_FULFILLMENT_DATA","createdTime":"2026-11-20T15:00:00Z","processingStatus":"DONE","resultFeedDocumentId":"doc-out"}"#)
            .expect("GET", "/feeds/2021-06-30/documents/doc-out", 200, &format!(r#"{{"feedDocumentId":"doc-out","url":"{REPORT_URL}"}}"#))
            .expect("GET", "/doc-out", 200, &report(300, &[2]))
            // The refused message goes once by confirmShipment: Amazon's verdict.
            .expect("POST", "/orders/v0/orders/111-0000000-0000002/shipmentConfirmation", 204, "");
        let done = send_queued_notifications(&host, &us_settings()).unwrap();
        assert_eq!(
            count(&done.outcomes, |o| *o
                == NotificationResult::SentInFeed("50001".into())),
            299
        );
        let second: Vec<_> = done
            .outcomes
            .iter()
            .filter(|o| o.label_id == "L2")
            .collect();
        assert_eq!(second.len(), 1);
        assert_eq!(second[0].outcome, NotificationResult::Sent);
        assert_eq!((done.pending, done.next_call_after), (0, None));
        assert_eq!(host.unanswered(), 0);
        // 9 calls for 300 updates: token, document, upload, feed, two looks, report
        // document, report, and the one refused message.
        assert_eq!(host.sent.borrow().len(), 9);
        assert!(jobs(&Store::new(&host)).unwrap().is_empty());
        let learned: f64 = Store::new(&host).load(TURNAROUND_KEY).unwrap().unwrap();
        assert_eq!(learned, 150.0, "the next feed expects what this one took");
    }

    /// Storage bytes read and written per update, from the labels to the report.
    fn storage_bytes_per_update(updates: usize) -> f64 {
        let host = FakeHost::new();
        let before = host.storage_bytes.get();
        submitted(&host, "50009", updates);
        host.set_now(host.now() + DEFAULT_TURNAROUND);
        host.expect("GET", "/feeds/2021-06-30/feeds/50009", 200, r#"{"feedId":"50009","feedType":"POST_ORDER_FULFILLMENT_DATA","createdTime":"2026-11-20T15:00:00Z","processingStatus":"DONE","resultFeedDocumentId":"doc-out"}"#)
            .expect("GET", "/feeds/2021-06-30/documents/doc-out", 200, &format!(r#"{{"feedDocumentId":"doc-out","url":"{REPORT_URL}"}}"#))
            .expect("GET", "/doc-out", 200, &report(updates, &[]));
        let done = send_queued_notifications(&host, &us_settings()).unwrap();
        assert_eq!(done.outcomes.len(), updates);
        assert_eq!(done.pending, 0);
        (host.storage_bytes.get() - before) as f64 / updates as f64
    }

    #[test]
    fn storing_sending_and_settling_a_batch_costs_storage_linear_in_its_size() {
        // 300 is about the smallest batch a feed carries sooner than confirmShipment.
        let small = storage_bytes_per_update(300);
        let large = storage_bytes_per_update(3_000);
        // An index rewritten per update would make the large batch's share ten times
        // the small one's.
        assert!(
            large <= 1.5 * small,
            "{large:.0} bytes per update vs {small:.0}"
        );
    }

    #[test]
    fn an_update_marked_for_a_feed_job_that_is_gone_is_checked_with_amazon() {
        let host = FakeHost::new();
        submitted_batch(&host, "50005");
        // The job's record is lost (a failed write), its marks stay.
        let store = Store::new(&host);
        let job = jobs(&store).unwrap().remove(0);
        store.remove(&job_key(&job)).unwrap();
        assert!(jobs(&store).unwrap().is_empty());
        host.expect(
            "GET",
            "/orders/2026-01-01/orders/111-0000000-0000001",
            200,
            r#"{"order":{"orderId":"111-0000000-0000001","createdTime":"2026-11-20T10:00:00Z","lastUpdatedTime":"2026-11-20T10:00:00Z","salesChannel":{"channelName":"AMAZON"},"orderItems":[],"packages":[{"packageReferenceId":"1","trackingNumber":"1Z00000001"}]}}"#,
        );
        let report = send_queued_notifications(&host, &us_settings()).unwrap();
        assert_eq!(report.outcomes.len(), 1);
        assert_eq!(
            report.outcomes[0].outcome,
            NotificationResult::Sent,
            "Amazon has it"
        );
        let left = Outbox::new(&store)
            .get("111-0000000-0000002")
            .unwrap()
            .unwrap();
        assert_eq!(
            left.stage,
            Stage::Verify,
            "the others are asked about as getOrder allows"
        );
    }

    #[test]
    fn the_next_feed_is_first_looked_at_after_the_time_the_last_one_took() {
        let host = FakeHost::new();
        Store::new(&host).save(TURNAROUND_KEY, &140.0).unwrap();
        submitted_batch(&host, "50006");
        let again = on_label_created(&host, &us_settings(), &batch(1)).unwrap();
        assert_eq!(
            again[0].outcome,
            NotificationResult::InFeed(FeedSubmission {
                feed_id: "50006".into(),
                check_after: crate::testing::at("2026-11-20T15:02:20Z"),
            }),
            "140 s, as the last feed took"
        );
    }

    #[test]
    fn a_few_labels_go_one_by_one() {
        let host = FakeHost::new();
        host.expect_token();
        for n in 1..=10 {
            host.expect(
                "POST",
                &format!("/orders/v0/orders/111-0000000-{n:07}/shipmentConfirmation"),
                204,
                "",
            );
        }
        let outcomes = on_label_created(&host, &us_settings(), &batch(12)).unwrap();
        // The burst goes now; the two left wait half a second each, far sooner
        // than any feed.
        assert_eq!(count(&outcomes, |o| *o == NotificationResult::Sent), 10);
        assert_eq!(
            count(&outcomes, |o| matches!(o, NotificationResult::Queued(_))),
            2
        );
    }

    #[test]
    fn a_create_feed_whose_answer_was_lost_is_found_not_sent_again() {
        let host = FakeHost::new();
        let start = host.now();
        host.expect_token();
        submit_feed(&host);
        host.expect_lost("POST", "/feeds/2021-06-30/feeds");
        let outcomes = on_label_created(&host, &us_settings(), &batch(300)).unwrap();
        assert!(matches!(outcomes[0].outcome, NotificationResult::Queued(_)));

        host.set_now(start + LIST_DELAY);
        host.expect(
            "GET",
            "/feeds/2021-06-30/feeds",
            200,
            r#"{"feeds":[{"feedId":"50002","feedType":"POST_ORDER_FULFILLMENT_DATA","createdTime":"2026-11-20T15:00:00Z","processingStatus":"IN_QUEUE"}]}"#,
        )
        .expect("GET", "/feeds/2021-06-30/feeds/50002", 200, r#"{"feedId":"50002","feedType":"POST_ORDER_FULFILLMENT_DATA","createdTime":"2026-11-20T15:00:00Z","processingStatus":"IN_QUEUE"}"#);
        let report = send_queued_notifications(&host, &us_settings()).unwrap();
        assert_eq!(report.pending, 300);
        assert_eq!(host.unanswered(), 0, "no second createFeed");
        let listed = &host.sent.borrow()[4];
        assert!(listed.uri.contains("feedTypes=POST_ORDER_FULFILLMENT_DATA"));
        assert!(listed.uri.contains("createdSince=2026-11-20T14%3A59%3A00Z"));
        let again = on_label_created(&host, &us_settings(), &batch(1)).unwrap();
        assert!(matches!(&again[0].outcome, NotificationResult::InFeed(f) if f.feed_id == "50002"));

        // Amazon never got it: the document is submitted again.
        let host = FakeHost::new();
        host.expect_token();
        submit_feed(&host);
        host.expect_lost("POST", "/feeds/2021-06-30/feeds");
        on_label_created(&host, &us_settings(), &batch(300)).unwrap();
        host.set_now(start + LIST_DELAY);
        host.expect("GET", "/feeds/2021-06-30/feeds", 200, r#"{"feeds":[]}"#)
            .expect(
                "POST",
                "/feeds/2021-06-30/feeds",
                202,
                r#"{"feedId":"50003"}"#,
            );
        send_queued_notifications(&host, &us_settings()).unwrap();
        assert_eq!(host.unanswered(), 0);
    }

    /// `text` as a gzip member, as Amazon stores a compressed report.
    fn gzipped(text: &str) -> Vec<u8> {
        let mut member = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
        member.extend(miniz_oxide::deflate::compress_to_vec(text.as_bytes(), 6));
        member.extend_from_slice(&crc32fast_free(text.as_bytes()).to_le_bytes());
        member.extend_from_slice(&(text.len() as u32).to_le_bytes());
        member
    }

    /// gzip's CRC-32, bit by bit: independent of the table the reader uses.
    fn crc32fast_free(bytes: &[u8]) -> u32 {
        let mut crc = !0u32;
        for &byte in bytes {
            crc ^= u32::from(byte);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xedb8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }

    /// A 300-message feed done at Amazon, whose report document is `compression`
    /// and whose download answers `body` with `encoding`: the host after the call
    /// that reads it, what the call returned and how many requests it made.
    fn read_compressed_report(
        compression: &str,
        body: &[u8],
        encoding: Option<&'static str>,
    ) -> (FakeHost, crate::model::NotificationReport, usize) {
        let host = FakeHost::new();
        let start = host.now();
        submitted_batch(&host, "50011");
        host.set_now(start + DEFAULT_TURNAROUND);
        host.expect("GET", "/feeds/2021-06-30/feeds/50011", 200, r#"{"feedId":"50011","feedType":"POST_ORDER_FULFILLMENT_DATA","createdTime":"2026-11-20T15:00:00Z","processingStatus":"DONE","resultFeedDocumentId":"doc-out"}"#)
            .expect("GET", "/feeds/2021-06-30/documents/doc-out", 200, &format!(r#"{{"feedDocumentId":"doc-out","url":"{REPORT_URL}","compressionAlgorithm":"{compression}"}}"#))
            .expect_bytes("GET", "/doc-out", 200, body);
        if let Some(encoding) = encoding {
            host.header("content-encoding", encoding);
        }
        let before = host.sent.borrow().len();
        let done = send_queued_notifications(&host, &us_settings()).unwrap();
        let calls = host.sent.borrow().len() - before;
        (host, done, calls)
    }

    #[test]
    fn a_gzip_report_is_read_with_no_order_asked() {
        let report = gzipped(&report(300, &[]));
        // As stored, and with the URL's content-encoding (inflated once, on the way).
        for encoding in [None, Some("gzip")] {
            let (host, done, calls) = read_compressed_report("GZIP", &report, encoding);
            assert_eq!(
                count(&done.outcomes, |o| *o
                    == NotificationResult::SentInFeed("50011".into())),
                300,
                "{encoding:?}"
            );
            assert_eq!(done.pending, 0);
            assert_eq!(calls, 3, "getFeed, getFeedDocument, the download");
            assert_eq!(host.unanswered(), 0);
        }
    }

    #[test]
    fn a_report_that_cannot_be_inflated_leaves_each_order_to_its_packages() {
        let mut damaged = gzipped(&report(300, &[]));
        let last = damaged.len() - 5;
        damaged[last] ^= 0xff;
        for (compression, body) in [("GZIP", damaged), ("ZSTD", gzipped(&report(300, &[])))] {
            let (host, done, _) = read_compressed_report(compression, &body, None);
            assert!(
                !done
                    .outcomes
                    .iter()
                    .any(|o| o.outcome == NotificationResult::SentInFeed("50011".into())),
                "{compression}: no report, no outcome from it"
            );
            assert_eq!(done.pending, 300, "{compression}: nothing is lost");
            // The next call asks Amazon's PACKAGES data, order by order.
            host.set_now(done.next_call_after.unwrap());
            let asked = host.sent.borrow().len();
            let _ = send_queued_notifications(&host, &us_settings());
            let sent = host.sent.borrow();
            assert!(
                sent[asked].uri.contains("includedData=PACKAGES"),
                "{compression}: {}",
                sent[asked].uri
            );
        }
    }

    #[test]
    fn a_feed_amazon_could_not_process_sends_its_updates_one_by_one() {
        let host = FakeHost::new();
        let start = host.now();
        submitted_batch(&host, "50004");
        host.set_now(start + DEFAULT_TURNAROUND);
        host.expect("GET", "/feeds/2021-06-30/feeds/50004", 200, r#"{"feedId":"50004","feedType":"POST_ORDER_FULFILLMENT_DATA","createdTime":"2026-11-20T15:00:00Z","processingStatus":"FATAL"}"#);
        for n in 1..=10 {
            host.expect(
                "POST",
                &format!("/orders/v0/orders/111-0000000-{n:07}/shipmentConfirmation"),
                204,
                "",
            );
        }
        let report = send_queued_notifications(&host, &us_settings()).unwrap();
        assert_eq!(
            count(&report.outcomes, |o| *o == NotificationResult::Sent),
            10
        );
        assert_eq!(report.pending, 290);
        assert_eq!(host.unanswered(), 0);
    }

    #[test]
    fn a_batch_of_two_marketplaces_goes_as_one_feed_for_each() {
        let host = FakeHost::new();
        let mut connection = us_settings();
        let mut canada = connection.sources[0].clone();
        canada.marketplace_id = "A2EUQ1WTGCTBG2".into();
        connection.sources.push(canada);
        let labels = batch(600);
        let store = crate::host::Store::new(&host);
        for (n, label) in labels.iter().enumerate() {
            let marketplace = if n % 2 == 0 {
                "A2EUQ1WTGCTBG2"
            } else {
                "ATVPDKIKX0DER"
            };
            let unshipped = crate::notify::Unshipped {
                marketplace: marketplace.into(),
                items: vec![(format!("{}01", n + 1), 1)],
            };
            crate::notify::remember_unshipped(&store, &label.orders[0].order_id, &unshipped)
                .unwrap();
        }
        host.expect_token();
        for feed_id in ["50011", "50012"] {
            submit_feed(&host);
            let answer = format!(r#"{{"feedId":"{feed_id}"}}"#);
            host.expect("POST", "/feeds/2021-06-30/feeds", 202, &answer);
        }
        let outcomes = on_label_created(&host, &connection, &labels).unwrap();
        assert_eq!(host.unanswered(), 0);
        let in_feed = |id: &str| {
            count(
                &outcomes,
                |o| matches!(o, NotificationResult::InFeed(f) if f.feed_id == id),
            )
        };
        assert_eq!((in_feed("50011"), in_feed("50012")), (300, 300));
        let sent = host.sent.borrow();
        for (upload, create, marketplace, first_order) in [
            (2, 3, "A2EUQ1WTGCTBG2", "111-0000000-0000001"),
            (5, 6, "ATVPDKIKX0DER", "111-0000000-0000002"),
        ] {
            let created: serde_json::Value = serde_json::from_str(&sent[create].body).unwrap();
            assert_eq!(created["marketplaceIds"], serde_json::json!([marketplace]));
            let document = &sent[upload].body;
            assert_eq!(document.matches("<Message>").count(), 300);
            assert!(document.contains(first_order), "{marketplace}'s own orders");
        }
    }

    #[test]
    fn a_lost_feed_is_looked_for_among_its_own_marketplace_s_feeds() {
        let host = FakeHost::new();
        let start = host.now();
        host.expect_token();
        submit_feed(&host);
        host.expect_lost("POST", "/feeds/2021-06-30/feeds");
        on_label_created(&host, &us_settings(), &batch(300)).unwrap();
        host.set_now(start + LIST_DELAY);
        // Amazon lists another marketplace's feed only: ours was never created.
        host.expect(
            "GET",
            "/feeds/2021-06-30/feeds",
            200,
            r#"{"feeds":[{"feedId":"50020","feedType":"POST_ORDER_FULFILLMENT_DATA","marketplaceIds":["A2EUQ1WTGCTBG2"],"createdTime":"2026-11-20T15:00:00Z","processingStatus":"IN_QUEUE"}]}"#,
        )
        .expect("POST", "/feeds/2021-06-30/feeds", 202, r#"{"feedId":"50021"}"#);
        send_queued_notifications(&host, &us_settings()).unwrap();
        assert_eq!(host.unanswered(), 0, "submitted again, not taken for 50020");
        assert!(
            host.sent.borrow()[4]
                .uri
                .contains("marketplaceIds=ATVPDKIKX0DER")
        );
    }
}

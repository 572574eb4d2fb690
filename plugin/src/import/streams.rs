//! Which order sources are read together. All sources of a connection share
//! Amazon's one searchOrders bucket, so they are read in as few windows as the
//! filters allow: one stream for the sources that import FBA orders, one for those
//! that do not (or one per source when the connection reads them separately).
//!
//! A source added later starts a stream of its own, 14 days back, and catches up:
//! its windows end where the stream it will join last ended, and once both stand at
//! the same cursor with no window open they become one. The others are never read
//! again for it. A source removed leaves its stream at once; a window already open
//! keeps its filters (Amazon requires them unchanged), and its orders of that
//! marketplace are skipped as another marketplace's.

use chrono::{DateTime, Duration, Utc};

use super::CURSOR_OVERLAP;
use super::checkpoint::{Checkpoint, Stream};
use crate::model::ConnectionSettings;

/// Which stream a source belongs in: sources of the same group are read together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Group<'s> {
    /// Merchant orders only.
    MerchantOnly,
    /// Merchant and FBA orders.
    WithFba,
    /// The connection reads each source on its own.
    Alone(&'s str),
}

/// The group `settings` wants the source in `marketplace` in; `None` when it is
/// not a source.
fn group_of<'s>(settings: &'s ConnectionSettings, marketplace: &str) -> Option<Group<'s>> {
    let source = settings.source(marketplace)?;
    Some(if settings.read_sources_separately {
        Group::Alone(&source.marketplace_id)
    } else if source.import_fba_orders {
        Group::WithFba
    } else {
        Group::MerchantOnly
    })
}

/// The group of a stream: its first marketplace's (all of them share it).
fn group<'s>(settings: &'s ConnectionSettings, stream: &Stream) -> Option<Group<'s>> {
    group_of(settings, stream.marketplaces.first()?)
}

/// Brings the checkpoint's streams in line with the connection's sources: drops
/// sources that left, splits a stream whose sources no longer share a group, starts
/// a stream for each new source (`lookback` before `now`), and merges streams of
/// one group that stand at the same place.
pub fn reconcile(
    checkpoint: &mut Checkpoint,
    settings: &ConnectionSettings,
    now: DateTime<Utc>,
    lookback: Duration,
) {
    let mut streams: Vec<Stream> = Vec::new();
    for mut stream in std::mem::take(&mut checkpoint.streams) {
        stream
            .marketplaces
            .retain(|m| group_of(settings, m).is_some());
        // A stream whose sources now want different filters goes on as one stream
        // per group, each from the same position.
        let mut groups: Vec<Group<'_>> = Vec::new();
        let wanted = stream
            .marketplaces
            .iter()
            .filter_map(|m| group_of(settings, m));
        insert_sorted(&mut groups, wanted);
        if groups.len() > 1 {
            for key in groups {
                let mut part = stream.clone();
                part.window = None;
                part.marketplaces
                    .retain(|m| group_of(settings, m) == Some(key));
                streams.push(part);
            }
        } else if !stream.marketplaces.is_empty() {
            streams.push(stream);
        }
    }
    for source in &settings.sources {
        let read = streams
            .iter()
            .any(|s| s.marketplaces.contains(&source.marketplace_id));
        if !read {
            let marketplaces = vec![source.marketplace_id.clone()];
            streams.push(Stream::first(marketplaces, now, lookback));
        }
    }
    checkpoint.streams = merge(streams, settings);
}

/// Adds `items` to the sorted `list`, each once, keeping it sorted (a handful of
/// entries; a sort instantiated for them would cost the component kilobytes).
fn insert_sorted<T: Ord>(list: &mut Vec<T>, items: impl IntoIterator<Item = T>) {
    for item in items {
        if let Err(at) = list.binary_search(&item) {
            list.insert(at, item);
        }
    }
}

/// Joins the idle streams of one group that stand at the same cursor.
fn merge(streams: Vec<Stream>, settings: &ConnectionSettings) -> Vec<Stream> {
    let mut merged: Vec<Stream> = Vec::new();
    for stream in streams {
        let partner = merged.iter_mut().find(|m| {
            m.window.is_none()
                && stream.window.is_none()
                && m.cursor == stream.cursor
                && group(settings, m) == group(settings, &stream)
        });
        match partner {
            Some(partner) => {
                partner.marketplaces.extend(stream.marketplaces);
                partner.marketplaces.sort();
                partner.delivered.extend(stream.delivered);
                partner.next_page_at = partner.next_page_at.max(stream.next_page_at);
            }
            None => merged.push(stream),
        }
    }
    for stream in &mut merged {
        stream.marketplaces.sort();
    }
    merged
}

/// Where the next window of stream `index` must end at the latest: a stream that
/// is behind another of its group ends where that one's last window ended, so the
/// two meet there and merge.
pub fn catch_up_until(
    checkpoint: &Checkpoint,
    settings: &ConnectionSettings,
    index: usize,
) -> Option<DateTime<Utc>> {
    let stream = checkpoint.streams.get(index)?;
    let key = group(settings, stream);
    checkpoint
        .streams
        .iter()
        .enumerate()
        .filter(|(other, s)| *other != index && group(settings, s) == key)
        .map(|(_, s)| s.cursor)
        .filter(|cursor| *cursor > stream.cursor)
        .min()
        .map(|lead| lead + CURSOR_OVERLAP)
}

/// The stream to read a page of now: of those due, the one due the longest, so a
/// stream catching up and one polling take turns at the shared bucket.
pub fn next_due(checkpoint: &Checkpoint, now: DateTime<Utc>) -> Option<usize> {
    checkpoint
        .streams
        .iter()
        .enumerate()
        .filter(|(_, s)| s.next_page_at <= now)
        .min_by_key(|(_, s)| (s.next_page_at, s.cursor))
        .map(|(index, _)| index)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ConnectionSettings, SourceSettings};
    use crate::testing::{at, us_settings};

    fn connection(sources: &[(&str, bool)]) -> ConnectionSettings {
        let mut settings = us_settings();
        let template = settings.sources[0].clone();
        settings.sources = sources
            .iter()
            .map(|(marketplace, fba)| SourceSettings {
                marketplace_id: marketplace.to_string(),
                import_fba_orders: *fba,
                ..template.clone()
            })
            .collect();
        settings
    }

    fn marketplaces(checkpoint: &Checkpoint) -> Vec<Vec<&str>> {
        checkpoint
            .streams
            .iter()
            .map(|s| s.marketplaces.iter().map(String::as_str).collect())
            .collect()
    }

    const US: &str = "ATVPDKIKX0DER";
    const CA: &str = "A2EUQ1WTGCTBG2";
    const MX: &str = "A1AM78C64UM0Y8";

    #[test]
    fn sources_with_the_same_filters_share_one_stream() {
        let now = at("2026-11-20T15:00:00Z");
        let settings = connection(&[(US, false), (MX, false), (CA, true)]);
        let checkpoint = Checkpoint::first(&settings, now, Duration::days(14));
        assert_eq!(marketplaces(&checkpoint), [vec![MX, US], vec![CA]]);
        let mut separately = settings.clone();
        separately.read_sources_separately = true;
        let checkpoint = Checkpoint::first(&separately, now, Duration::days(14));
        assert_eq!(marketplaces(&checkpoint).len(), 3);
    }

    #[test]
    fn a_new_source_starts_back_alone_and_joins_where_the_others_stand() {
        let start = at("2026-11-20T15:00:00Z");
        let mut checkpoint =
            Checkpoint::first(&connection(&[(US, false)]), start, Duration::days(14));
        checkpoint.streams[0].cursor = at("2026-11-21T09:55:00Z");
        let later = at("2026-11-21T10:00:00Z");
        let both = connection(&[(US, false), (CA, false)]);
        reconcile(&mut checkpoint, &both, later, Duration::days(14));
        assert_eq!(marketplaces(&checkpoint), [vec![US], vec![CA]]);
        assert_eq!(checkpoint.streams[1].cursor, later - Duration::days(14));
        // Its windows end where the US stream's last one did (its cursor plus the
        // overlap); the US stream is not held back.
        assert_eq!(
            catch_up_until(&checkpoint, &both, 1),
            Some(at("2026-11-21T10:00:00Z"))
        );
        assert_eq!(catch_up_until(&checkpoint, &both, 0), None);
        // Caught up: one stream again, which remembers both overlaps.
        checkpoint.streams[1].cursor = checkpoint.streams[0].cursor;
        reconcile(&mut checkpoint, &both, later, Duration::days(14));
        assert_eq!(marketplaces(&checkpoint), [vec![CA, US]]);
        // A source removed leaves; a source whose filters change goes on alone from
        // the same position.
        let fba_in_canada = connection(&[(US, false), (CA, true)]);
        reconcile(&mut checkpoint, &fba_in_canada, later, Duration::days(14));
        assert_eq!(marketplaces(&checkpoint), [vec![US], vec![CA]]);
        assert_eq!(checkpoint.streams[0].cursor, checkpoint.streams[1].cursor);
        reconcile(
            &mut checkpoint,
            &connection(&[(CA, true)]),
            later,
            Duration::days(14),
        );
        assert_eq!(marketplaces(&checkpoint), [vec![CA]]);
    }

    #[test]
    fn the_stream_due_longest_reads_first() {
        let now = at("2026-11-20T15:00:00Z");
        let settings = connection(&[(US, false), (CA, true)]);
        let mut checkpoint = Checkpoint::first(&settings, now, Duration::days(14));
        checkpoint.streams[0].next_page_at = now - Duration::seconds(5);
        checkpoint.streams[1].next_page_at = now - Duration::seconds(50);
        assert_eq!(next_due(&checkpoint, now), Some(1));
        checkpoint.streams[1].next_page_at = now + Duration::seconds(1);
        assert_eq!(next_due(&checkpoint, now), Some(0));
        checkpoint.streams[0].next_page_at = now + Duration::seconds(1);
        assert_eq!(next_due(&checkpoint, now), None);
    }
}

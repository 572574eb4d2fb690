//! The import through the real component against the SP-API simulator: Amazon's
//! buckets, a virtual clock, a world that changes while it is read, crashes and
//! faults. Each test checks the host ends with Amazon's truth.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};

use test_host::amazon::faults::Fault;
use test_host::amazon::sim::{Simulator, World, WorldSpec};
use test_host::drive::scenario::Settings;
use test_host::drive::simulate::{self, Options, Report};
use test_host::embed::kv::SqliteStorage;
use test_host::embed::runtime::bindings as wit;
use test_host::embed::runtime::{ComponentInstance, Limits, VirtualClock};

fn run(options: Options) -> Report {
    simulate::run(&options).expect("the simulation runs").report
}

fn assert_truth(report: &Report) {
    assert!(
        report.problems().is_empty(),
        "{:?}\n{report:#?}",
        report.problems()
    );
}

fn calls(report: &Report, operation: &str) -> u64 {
    report.calls.get(operation).map_or(0, |c| c.calls)
}

fn changing_world() -> Options {
    Options {
        orders: 2000,
        changes: 0.2,
        seed: 1,
        ..Options::default()
    }
}

#[test]
fn two_thousand_orders_changing_while_read_end_as_amazon_has_them() {
    let report = run(changing_world());
    assert_truth(&report);
    assert_eq!(report.throttled, 0);
    assert_eq!(report.changes, 400);
    assert!(report.amazon_orders > 2000, "orders arrived during the run");
    assert_eq!(report.imported, report.amazon_orders);
    // Below 2,001 orders the backlog fits in the burst: the host never waits for
    // it, and the 20 pages take only the simulator's latency.
    assert!(report.floor_ratio.is_none());
    assert!(report.backlog_seconds < 10.0, "{}", report.backlog_seconds);
    assert!(calls(&report, "searchOrders") >= 20);
}

#[test]
fn fba_orders_import_when_enabled() {
    let report = run(Options {
        fba: true,
        ..changing_world()
    });
    assert_truth(&report);
    assert_eq!(report.throttled, 0);
    assert!(report.imported_amazon_fulfilled > 300, "{report:#?}");

    let without = run(changing_world());
    assert_eq!(without.imported_amazon_fulfilled, 0);
}

#[test]
fn orders_of_other_stores_are_never_imported() {
    let report = run(Options {
        fba: true,
        other_marketplace: Some("A2EUQ1WTGCTBG2".into()),
        ..changing_world()
    });
    assert_truth(&report);
    assert_eq!(report.throttled, 0);
    assert!(report.foreign_orders > 500, "{report:#?}");
    assert_eq!(report.foreign_imported, 0);
    // Multi-Channel orders of other shops come back from Amazon (same marketplace,
    // Amazon-fulfilled) and are skipped with their reason.
    assert_eq!(report.skipped.get("non-amazon-sales-channel"), Some(&40));
}

#[test]
fn product_info_is_read_once_per_asin_within_the_catalog_bucket() {
    let report = run(changing_world());
    assert_truth(&report);
    assert_eq!(report.calls["getCatalogItem"].throttled, 0);
    assert_eq!(report.catalog_asins, 300, "the world's products");
    assert_eq!(
        report.most_reads_of_one_asin, 1,
        "the cache serves every later order"
    );
    assert_eq!(report.items_without_product_info, 0);
    // No order waits for the catalog: the backlog's 20 pages arrive at once (each
    // page call also spends the catalog's burst of two, 0.1 s each).
    assert!(report.backlog_seconds < 10.0, "{}", report.backlog_seconds);
}

#[test]
fn a_backlog_of_ten_thousand_takes_amazon_s_floor() {
    let report = run(Options {
        orders: 10_000,
        ..Options::default()
    });
    assert_truth(&report);
    assert_eq!(report.throttled, 0);
    assert_eq!(report.min_search_calls, 100);
    let ratio = report.floor_ratio.expect("a floor above zero");
    assert!((1.0..=1.02).contains(&ratio), "{ratio}");
    // 100 pages, plus the first call of the next window that proves it settled.
    assert!(calls(&report, "searchOrders") <= 101, "{report:#?}");
}

#[test]
fn a_backlog_too_long_for_one_page_token_s_life_is_read_once_and_on_pace() {
    // 50 pages at 0.00021 a second: 30 after the burst take 39.7 hours, longer than
    // a page token lives (24 h), as 50,000 orders would at the default rate.
    let rate = 0.00021;
    let report = run(Options {
        orders: 5000,
        search_orders_rate: Some(rate),
        ..Options::default()
    });
    assert_truth(&report);
    assert_eq!(report.duplicated, 0, "{report:#?}");
    assert_eq!(report.throttled, 0, "{report:#?}");
    let floor = 30.0 / rate;
    assert!(
        (floor..floor * 1.05).contains(&report.backlog_seconds),
        "{} s against {floor} s",
        report.backlog_seconds
    );
    // 50 pages, a partial page where each of the windows ends (every 12 hours),
    // and the call that proves the last one settled.
    assert!(calls(&report, "searchOrders") <= 56, "{report:#?}");
}

#[test]
fn a_seller_granted_a_higher_rate_is_paced_by_amazon_s_header() {
    // 30 pages: 20 from the burst, then 10 at the granted rate, twice the default.
    let report = run(Options {
        orders: 3000,
        search_orders_rate: Some(0.0112),
        ..Options::default()
    });
    assert_truth(&report);
    assert_eq!(report.throttled, 0);
    let granted_floor = 10.0 / 0.0112;
    assert!(
        (granted_floor..granted_floor * 1.02).contains(&report.backlog_seconds),
        "{} s, the default plan would take {} s",
        report.backlog_seconds,
        report.floor_seconds
    );
}

#[test]
fn amazon_s_own_examples_import() {
    let body = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/search-orders-examples.json"),
    )
    .unwrap();
    let body: serde_json::Value = serde_json::from_str(&body).unwrap();
    for marketplace in [
        "ATVPDKIKX0DER",
        "A1F83G8C2ARO7P",
        "A1VC38T7YXB528",
        "A2Q3Y263D00KWC",
    ] {
        let report = run(Options {
            amazon_orders: Some(body.clone()),
            marketplaces: vec![marketplace.into()],
            fba: true,
            ..Options::default()
        });
        assert_truth(&report);
        assert_eq!(
            (report.imported, report.foreign_orders),
            (1, 3),
            "{marketplace}"
        );
    }
}

/// Three marketplaces of one Pan-European seller.
const EU_SELLER: [&str; 3] = ["A1F83G8C2ARO7P", "A1PA6795UKMFR9", "A13V1IB3VIYZZH"];

#[test]
fn instances_per_marketplace_share_the_seller_s_buckets_and_overspend_them() {
    let report = run(Options {
        orders: 600,
        changes: 0.2,
        marketplaces: EU_SELLER.map(String::from).to_vec(),
        per_marketplace_instances: true,
        ..Options::default()
    });
    // Each store still ends with its own orders, and only with them.
    assert_truth(&report);
    assert_eq!(report.imported, report.amazon_orders);
    assert!(report.amazon_orders > 600);
    // Three instances each pace as if the bucket were theirs: Amazon refuses the
    // polls the shared bucket cannot carry.
    let search = &report.calls["searchOrders"];
    assert!(search.throttled * 3 > search.calls, "{search:?}");
    // One store of the same size on its own is never refused.
    let alone = run(Options {
        orders: 200,
        changes: 0.2,
        marketplaces: vec![EU_SELLER[0].into()],
        ..Options::default()
    });
    assert_truth(&alone);
    assert_eq!(alone.throttled, 0);
}

#[test]
fn one_connection_reads_every_marketplace_together_within_the_seller_s_bucket() {
    let eu = || Options {
        orders: 2450,
        changes: 0.2,
        marketplaces: EU_SELLER.map(String::from).to_vec(),
        record: true,
        ..Options::default()
    };
    let run = simulate::run(&eu()).unwrap();
    let report = run.report;
    // Every order for its own source (the truth check compares each order's
    // marketplace), nothing refused, and the union paged at 100 a page.
    assert_truth(&report);
    assert_eq!(report.instances, 1);
    assert_eq!(report.imported, report.amazon_orders);
    assert_eq!(report.throttled, 0, "{:?}", report.calls);
    assert!(
        report.backlog_search_calls as f64 <= 1.01 * report.min_search_calls as f64,
        "{} calls for {} pages",
        report.backlog_search_calls,
        report.min_search_calls
    );
    // The marketplaceIds of every searchOrders call.
    let asked = |har: &test_host::amazon::har::Har| -> Vec<String> {
        har.log
            .entries
            .iter()
            .filter_map(|e| url::Url::parse(&e.request.url).ok())
            .filter(|url| url.path() == "/orders/2026-01-01/orders")
            .filter_map(|url| {
                url.query_pairs()
                    .find(|(k, _)| k == "marketplaceIds")
                    .map(|(_, v)| v.into_owned())
            })
            .collect()
    };
    let together = asked(run.har.as_ref().unwrap());
    assert!(
        together
            .iter()
            .all(|ids| ids == "A13V1IB3VIYZZH,A1F83G8C2ARO7P,A1PA6795UKMFR9"),
        "{together:?}"
    );
    // Read one at a time instead: every call names one marketplace, in turn.
    let separately = simulate::run(&Options {
        read_sources_separately: true,
        ..eu()
    })
    .unwrap();
    assert_truth(&separately.report);
    let one_by_one = asked(separately.har.as_ref().unwrap());
    assert!(
        one_by_one.iter().all(|ids| !ids.contains(',')),
        "{one_by_one:?}"
    );
    for marketplace in EU_SELLER {
        assert!(one_by_one.iter().any(|ids| ids == marketplace));
    }
    // Three partial last pages instead of one.
    assert!(separately.report.backlog_search_calls > report.backlog_search_calls);
}

/// The marketplaceIds, fulfilledBy and lastUpdatedAfter of a call's searchOrders
/// requests.
fn searches(record: &test_host::embed::CallRecord) -> Vec<(String, String, String)> {
    record
        .exchanges
        .iter()
        .filter_map(|e| url::Url::parse(&e.url).ok())
        .filter(|url| url.path() == "/orders/2026-01-01/orders")
        .map(|url| {
            let param = |name: &str| {
                url.query_pairs()
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v.into_owned())
                    .unwrap_or_default()
            };
            (
                param("marketplaceIds"),
                param("fulfilledBy"),
                param("lastUpdatedAfter"),
            )
        })
        .collect()
}

#[test]
fn sources_added_removed_and_with_their_own_filters_through_the_component() {
    const US: &str = "ATVPDKIKX0DER";
    const CA: &str = "A2EUQ1WTGCTBG2";
    let clock = VirtualClock::new(start());
    let spec = WorldSpec {
        orders: 40,
        ..WorldSpec::default()
    };
    let (_, mut instance) = seller_in(&[US, CA], spec, &clock);
    let us_only = settings(US);
    let (batch, record) = instance.import_orders(&us_only, None).unwrap();
    let batch = batch.unwrap();
    assert_eq!(searches(&record)[0].0, US);
    // Canada joins, importing FBA orders and naming items by ASIN: a stream of its
    // own (other filters), 14 days back, and the US is not read again for it.
    let mut both = us_only.clone();
    let mut canada = Settings::simulated(CA);
    canada.import_fba_orders = true;
    canada.product_identifier = test_host::drive::scenario::ProductIdentifier::Asin;
    both.sources.extend(canada.to_wit().sources);
    let fourteen_days_back =
        (clock.now() - Duration::days(14)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let (joined, record) = instance
        .import_orders(&both, Some(&batch.checkpoint))
        .unwrap();
    let joined = joined.unwrap();
    let asked = searches(&record);
    assert_eq!(
        asked,
        [(CA.into(), "MERCHANT,AMAZON".into(), fourteen_days_back)]
    );
    assert!(!joined.orders.is_empty());
    for order in &joined.orders {
        assert_eq!(order.marketplace_id, CA);
        let asin = order.items[0].asin.clone().unwrap();
        assert_eq!(order.items[0].product_id, asin, "Canada's items by ASIN");
    }
    let us_items = batch.orders.iter().flat_map(|o| &o.items);
    assert!(
        us_items
            .clone()
            .all(|i| Some(&i.product_id) == i.sku.as_ref())
    );
    // The US leaves: only Canada is asked for from then on.
    let mut canada_only = both.clone();
    canada_only.sources.remove(0);
    clock.set(clock.now() + Duration::hours(1));
    let (_, record) = instance
        .import_orders(&canada_only, Some(&joined.checkpoint))
        .unwrap();
    let asked = searches(&record);
    assert!(
        !asked.is_empty() && asked.iter().all(|(ids, _, _)| ids == CA),
        "{asked:?}"
    );
}

#[test]
fn a_source_removed_while_its_window_pages_keeps_the_filters_and_skips_its_orders() {
    const US: &str = "ATVPDKIKX0DER";
    const CA: &str = "A2EUQ1WTGCTBG2";
    let clock = VirtualClock::new(start());
    let spec = WorldSpec {
        orders: 450,
        ..WorldSpec::default()
    };
    let (_, mut instance) = seller_in(&[US, CA], spec, &clock);
    let mut both = settings(US);
    both.sources.extend(settings(CA).sources);
    let (first, _) = instance.import_orders(&both, None).unwrap();
    let first = first.unwrap();
    assert!(first.more, "the first window has more pages");
    // Canada leaves mid-window: the window's next pages are asked with the filters
    // it opened with, and Canada's orders in them are skipped, never imported.
    let us_only = settings(US);
    clock.set(at(&first.next_call_after).max(clock.now()));
    let (next, record) = instance
        .import_orders(&us_only, Some(&first.checkpoint))
        .unwrap();
    let next = next.unwrap();
    let asked = searches(&record);
    assert!(
        !asked.is_empty()
            && asked
                .iter()
                .all(|(ids, _, _)| ids == "A2EUQ1WTGCTBG2,ATVPDKIKX0DER"),
        "{asked:?}"
    );
    assert!(!next.orders.is_empty() && next.orders.iter().all(|o| o.marketplace_id == US));
    assert!(
        !next.skipped.is_empty()
            && next
                .skipped
                .iter()
                .all(|s| s.reason == wit::SkipReason::OtherMarketplace),
        "{:?}",
        next.skipped
    );
}

#[test]
fn labels_of_every_source_reach_amazon_once_each_in_its_own_marketplace() {
    let eu = |batch: usize| Options {
        orders: 500,
        seed: 11,
        distinct_asins: 6,
        marketplaces: EU_SELLER.map(String::from).to_vec(),
        ship: Some(3_600.0),
        batch,
        record: true,
        ..Options::default()
    };
    // One by one: Amazon checks each confirmShipment's marketplace against the
    // order's, and the truth check each order's source.
    let one_by_one = simulate::run(&eu(1)).unwrap().report;
    assert_truth(&one_by_one);
    let shipped = notifications(&one_by_one);
    assert!(shipped.labels > 300, "{shipped:#?}");
    assert_eq!(shipped.confirmed_once, shipped.labels - shipped.rejected);
    assert_eq!(one_by_one.throttled, 0, "{:?}", one_by_one.calls);
    // In batches of 600: a feed for each marketplace, each naming its own, and
    // Amazon applies a feed to the marketplaces it names only.
    let batched = simulate::run(&eu(600)).unwrap();
    assert_truth(&batched.report);
    let shipped = notifications(&batched.report);
    assert!(shipped.via_feed > 200, "{shipped:#?}");
    assert_eq!(shipped.confirmed_once, shipped.labels - shipped.rejected);
    let feeds: Vec<serde_json::Value> = recorded(&batched)
        .filter(|e| {
            e.request.method == "POST" && e.request.url.ends_with("/feeds/2021-06-30/feeds")
        })
        .map(|e| serde_json::from_str(e.request.post_data.as_ref().unwrap().text.as_str()).unwrap())
        .collect();
    let named: BTreeSet<&str> = feeds
        .iter()
        .map(
            |f| match f["marketplaceIds"].as_array().map(Vec::as_slice) {
                Some([id]) => id.as_str().unwrap(),
                _ => panic!("a feed names one marketplace: {f}"),
            },
        )
        .collect();
    assert!(
        named.len() > 1 && named.iter().all(|id| EU_SELLER.contains(id)),
        "{named:?}"
    );
}

#[test]
fn unified_north_america_imports_fba_orders_of_the_one_source_that_asks() {
    const SOURCES: [&str; 3] = ["ATVPDKIKX0DER", "A2EUQ1WTGCTBG2", "A1AM78C64UM0Y8"];
    let mexico = SOURCES[2];
    let clock = VirtualClock::new(start());
    let spec = WorldSpec {
        seed: 9,
        orders: 300,
        fba_share: 0.3,
        ..WorldSpec::default()
    };
    let (amazon, mut instance) = seller_in(&SOURCES, spec, &clock);
    let mut connection = settings(SOURCES[0]);
    for marketplace in &SOURCES[1..] {
        let mut source = Settings::simulated(marketplace);
        source.import_fba_orders = *marketplace == mexico;
        connection.sources.extend(source.to_wit().sources);
    }
    let mut held: BTreeSet<(String, String)> = BTreeSet::new();
    let mut checkpoint = None;
    for _ in 0..40 {
        let (batch, _) = instance
            .import_orders(&connection, checkpoint.as_deref())
            .unwrap();
        let batch = batch.unwrap();
        for order in &batch.orders {
            held.insert((order.order_id.clone(), order.marketplace_id.clone()));
        }
        checkpoint = Some(batch.checkpoint);
        clock.set(at(&batch.next_call_after).max(clock.now()));
    }
    let reach = start() - Duration::days(14);
    let amazon = amazon.lock().unwrap();
    let expected: BTreeSet<(String, String)> = amazon
        .world()
        .orders()
        .filter(|o| o.updated >= reach && o.channel == "AMAZON")
        .filter(|o| o.fulfilled_by == "MERCHANT" || o.marketplace == mexico)
        .map(|o| (o.id.clone(), o.marketplace.clone()))
        .collect();
    assert_eq!(
        held, expected,
        "every source's orders, FBA ones of Mexico only"
    );
    let fba_of = |marketplace: &str| {
        amazon
            .world()
            .orders()
            .filter(|o| o.marketplace == marketplace && o.fulfilled_by == "AMAZON")
            .count()
    };
    assert!(
        fba_of(mexico) > 0 && fba_of(SOURCES[0]) > 0,
        "the world has FBA orders to leave out"
    );
}

#[test]
fn a_japanese_store_imports_kanji_addresses_without_keeping_them() {
    let report = run(Options {
        orders: 60,
        changes: 0.2,
        marketplaces: vec!["A1VC38T7YXB528".into()],
        ..Options::default()
    });
    assert_truth(&report);
    assert_eq!(report.imported, report.amazon_orders);
}

#[test]
fn a_usage_plan_below_the_component_s_table_shows_as_429s() {
    // Amazon's bucket holds 10, the component's table says 20: the simulator
    // enforces its own plan, so the mistake cannot agree with itself.
    let report = run(Options {
        orders: 2000,
        amazon_plans: vec![("searchOrders".into(), 0.0056, 10)],
        ..Options::default()
    });
    assert_truth(&report);
    assert!(
        report.calls["searchOrders"].throttled > 0,
        "{:?}",
        report.calls
    );
}

#[test]
fn windows_are_fixed_when_they_open_and_follow_each_other() {
    let run = simulate::run(&Options {
        record: true,
        ..small_world()
    })
    .unwrap();
    assert_truth(&run.report);
    let har = run.har.expect("recorded");
    let mut windows: Vec<(String, String)> = Vec::new();
    let mut open: Option<Vec<(String, String)>> = None;
    for entry in &har.log.entries {
        let url = url::Url::parse(&entry.request.url).unwrap();
        if url.path() != "/orders/2026-01-01/orders" || entry.response.status != 200 {
            continue;
        }
        let mut query: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        let token = query
            .iter()
            .position(|(k, _)| k == "paginationToken")
            .map(|i| query.remove(i));
        match (&open, token) {
            (Some(filters), Some(_)) => {
                assert_eq!(filters, &query, "a page repeats its window's filters")
            }
            (_, None) => {
                let value = |name: &str| {
                    query
                        .iter()
                        .find(|(k, _)| k == name)
                        .map(|(_, v)| v.clone())
                        .unwrap()
                };
                windows.push((value("lastUpdatedAfter"), value("lastUpdatedBefore")));
                open = Some(query.clone());
            }
            (None, Some(_)) => panic!("a page token before any window"),
        }
        let body: serde_json::Value =
            serde_json::from_str(entry.response.content.text.as_deref().unwrap()).unwrap();
        if body.get("pagination").is_none() {
            open = None;
        }
    }
    let time = |text: &str| DateTime::parse_from_rfc3339(text).unwrap().to_utc();
    assert_eq!(
        time(&windows[0].0),
        start() - Duration::days(14),
        "a first import reaches back 14 days"
    );
    assert_eq!(time(&windows[0].1), start() - Duration::minutes(2));
    for pair in windows.windows(2) {
        assert_eq!(
            time(&pair[1].0),
            time(&pair[0].1) - Duration::minutes(5),
            "the next window starts where the last ended, less the overlap"
        );
    }
    assert!(windows.len() > 10, "{windows:?}");
}

/// A small world that changes a lot: every crash point is tried on it.
fn small_world() -> Options {
    Options {
        orders: 450,
        changes: 0.4,
        seed: 7,
        // Few products, so that the catalog adds a few requests, not hundreds.
        distinct_asins: 6,
        ..Options::default()
    }
}

#[test]
fn a_host_crash_after_any_call_loses_and_repeats_nothing() {
    let baseline = run(small_world());
    assert_truth(&baseline);
    assert!(baseline.import_calls > 10);
    for call in 1..=baseline.import_calls {
        let report = run(Options {
            crash_after_calls: BTreeSet::from([call]),
            ..small_world()
        });
        assert_eq!(report.crashes, 1, "call {call}");
        assert_truth(&report);
    }
    // Crashing after every other call at once.
    let report = run(Options {
        crash_after_calls: (1..=baseline.import_calls).step_by(2).collect(),
        ..small_world()
    });
    assert_truth(&report);
}

#[test]
fn a_lost_answer_or_a_timeout_at_any_request_loses_nothing() {
    let baseline = run(small_world());
    let requests: u64 = baseline.calls.values().map(|c| c.calls).sum();
    // The first three requests belong to `connect`, which the run requires.
    for number in 4..=requests as usize {
        for fault in [
            Fault::LostResponse,
            Fault::Timeout,
            Fault::TruncatedBody,
            Fault::Unavailable,
        ] {
            let report = run(Options {
                faults: vec![(number, fault)],
                ..small_world()
            });
            assert_truth(&report);
        }
    }
}

#[test]
fn a_429_storm_is_waited_out_without_hammering() {
    let baseline = run(small_world());
    assert!(baseline.backlog_seconds < 5.0);
    // Requests 5 to 7 are pages of the backlog. After each 429 the component waits a
    // restore period instead of calling on: three refusals cost three periods, and
    // the three pages left then come one per period, as a bucket Amazon said was
    // empty refills.
    let report = run(Options {
        faults: vec![
            (5, Fault::Throttle),
            (6, Fault::Throttle),
            (7, Fault::Throttle),
        ],
        ..small_world()
    });
    assert_truth(&report);
    assert_eq!(report.faults, 3);
    assert_eq!(
        report.errors, 0,
        "throttling is an empty batch, not an error"
    );
    assert!(
        report.backlog_seconds >= 3.0 * 178.5,
        "{}",
        report.backlog_seconds
    );
    assert!(
        report.backlog_seconds < 6.0 * 178.6 + 1.0,
        "{}",
        report.backlog_seconds
    );
}

#[test]
fn unreadable_orders_are_fetched_again_until_they_arrive() {
    let report = run(Options {
        unreadable_orders: 3,
        ..small_world()
    });
    assert_truth(&report);
    // Each is served broken three times: in its page, then on two retries.
    assert_eq!(report.skipped.get("unreadable"), Some(&9), "{report:#?}");
    assert_eq!(calls(&report, "getOrder"), 9);
}

#[test]
fn revoked_access_tokens_cost_one_call() {
    let report = run(Options {
        revoke_tokens_before_calls: BTreeSet::from([3, 9]),
        ..small_world()
    });
    assert_truth(&report);
    // A 403 on a page fails that call; on a product lookup it only delays the
    // product. Either way the next call signs in afresh.
    assert!((1..=2).contains(&report.errors), "{}", report.errors);
    assert!(calls(&report, "lwa-token") >= 3);
}

// ------------------------------------------------------------------------- direct

fn start() -> DateTime<Utc> {
    simulate::START.parse().unwrap()
}

/// A simulated seller in `marketplaces`, `spec`'s orders spread over them, and a
/// component instance on fresh storage against it.
fn seller_in(
    marketplaces: &[&str],
    spec: WorldSpec,
    clock: &VirtualClock,
) -> (Arc<Mutex<Simulator>>, ComponentInstance) {
    let marketplaces: Vec<String> = marketplaces.iter().map(|m| m.to_string()).collect();
    let spec = WorldSpec {
        marketplaces: marketplaces.clone(),
        ..spec
    };
    let world = World::generate(&spec, start());
    let amazon = Arc::new(Mutex::new(Simulator::new(
        world,
        clock.clone(),
        marketplaces,
        Duration::milliseconds(100),
    )));
    let storage = SqliteStorage::in_memory().unwrap();
    let instance = ComponentInstance::new(amazon.clone(), storage, clock.clone()).unwrap();
    (amazon, instance)
}

fn settings(marketplace: &str) -> wit::ConnectionSettings {
    Settings::simulated(marketplace).to_wit()
}

fn simulator(orders: usize, clock: &VirtualClock) -> Arc<Mutex<Simulator>> {
    let world = World::generate(
        &WorldSpec {
            seed: 5,
            orders,
            ..WorldSpec::default()
        },
        start(),
    );
    Arc::new(Mutex::new(Simulator::new(
        world,
        clock.clone(),
        vec!["ATVPDKIKX0DER".into()],
        Duration::milliseconds(100),
    )))
}

/// An instance on a fresh storage against a simulated store of five orders.
fn small_store(clock: &VirtualClock) -> ComponentInstance {
    ComponentInstance::new(
        simulator(5, clock),
        SqliteStorage::in_memory().unwrap(),
        clock.clone(),
    )
    .unwrap()
}

fn at(datetime: &wit::wasi::clocks::wall_clock::Datetime) -> DateTime<Utc> {
    DateTime::from_timestamp(datetime.seconds as i64, datetime.nanoseconds).unwrap()
}

#[test]
fn an_early_call_returns_an_empty_batch_and_calls_nobody() {
    let clock = VirtualClock::new(start());
    let amazon = simulator(50, &clock);
    let mut instance = ComponentInstance::new(
        amazon.clone(),
        SqliteStorage::in_memory().unwrap(),
        clock.clone(),
    )
    .unwrap();
    let us = settings("ATVPDKIKX0DER");
    // The first call reads the orders; the next ones read their products from the
    // catalog, two a second. Then the store is read up to date.
    let (first, _) = instance.import_orders(&us, None).unwrap();
    let mut first = first.unwrap();
    assert_eq!(first.orders.len(), 50);
    assert!(!first.more);
    while at(&first.next_call_after) < clock.now() + Duration::seconds(170) {
        clock.set(at(&first.next_call_after));
        let (next, _) = instance
            .import_orders(&us, Some(&first.checkpoint))
            .unwrap();
        first = next.unwrap();
        assert!(first.orders.is_empty(), "only products follow");
    }
    let next = at(&first.next_call_after);

    clock.set(next - Duration::seconds(1));
    let (early, record) = instance
        .import_orders(&us, Some(&first.checkpoint))
        .unwrap();
    let early = early.unwrap();
    assert!(early.orders.is_empty() && early.skipped.is_empty());
    assert_eq!(early.checkpoint, first.checkpoint);
    assert_eq!(at(&early.next_call_after), next);
    assert!(record.exchanges.is_empty(), "{:?}", record.exchanges);

    clock.set(next);
    let (due, record) = instance
        .import_orders(&us, Some(&first.checkpoint))
        .unwrap();
    assert!(due.is_ok());
    assert_eq!(
        record.exchanges.len(),
        1,
        "on time, the next window is read"
    );
}

#[test]
fn a_checkpoint_of_another_seller_is_refused() {
    let clock = VirtualClock::new(start());
    let amazon = simulator(5, &clock);
    let mut instance =
        ComponentInstance::new(amazon, SqliteStorage::in_memory().unwrap(), clock.clone()).unwrap();
    let (batch, _) = instance
        .import_orders(&settings("ATVPDKIKX0DER"), None)
        .unwrap();
    let checkpoint = batch.unwrap().checkpoint;
    let mut other_seller = settings("ATVPDKIKX0DER");
    other_seller.credentials.seller_id = "A3ANOTHERSELLER".into();
    let (refused, record) = instance
        .import_orders(&other_seller, Some(&checkpoint))
        .unwrap();
    match refused {
        Err(wit::Error::InvalidInput(input)) => assert_eq!(input.field, "checkpoint"),
        other => panic!("{other:?}"),
    }
    assert!(record.exchanges.is_empty());
    let (garbage, _) = instance
        .import_orders(&settings("ATVPDKIKX0DER"), Some("{not json"))
        .unwrap();
    assert!(matches!(garbage, Err(wit::Error::InvalidInput(_))));
}

#[test]
fn a_0_2_checkpoint_is_refused_before_any_call() {
    let clock = VirtualClock::new(start());
    let mut instance = small_store(&clock);
    let us = settings("ATVPDKIKX0DER");
    let old = format!(
        r#"{{"version":1,"sellerId":"{}","marketplaceId":"ATVPDKIKX0DER","cursor":"2026-11-20T13:00:00Z","nextPageAt":"2026-11-20T15:00:00Z"}}"#,
        us.credentials.seller_id
    );
    let (refused, record) = instance.import_orders(&us, Some(&old)).unwrap();
    match refused {
        Err(wit::Error::InvalidInput(input)) => {
            assert_eq!(input.field, "checkpoint");
            assert!(input.reason.contains("contract 0.2"), "{}", input.reason);
        }
        other => panic!("{other:?}"),
    }
    assert!(record.exchanges.is_empty());
}

#[test]
fn sources_that_are_none_twice_or_of_another_region_are_refused_before_any_call() {
    let clock = VirtualClock::new(start());
    let mut instance = small_store(&clock);
    let one = settings("ATVPDKIKX0DER");
    let with = |marketplace: &str| {
        let mut two = one.clone();
        two.sources.push(settings(marketplace).sources.remove(0));
        two
    };
    let mut none = one.clone();
    none.sources.clear();
    let mut explicit = with("A1F83G8C2ARO7P");
    explicit.region = Some(wit::Region::NorthAmerica);
    let wrong = [
        (none, "settings.sources"),
        (with("ATVPDKIKX0DER"), "settings.sources[1].marketplace-id"),
        (with("A1F83G8C2ARO7P"), "settings.sources[1].marketplace-id"),
        (explicit, "settings.region"),
    ];
    let refused = |result: Result<(), wit::Error>, field: &str| match result {
        Err(wit::Error::InvalidInput(input)) => assert_eq!(input.field, field),
        other => panic!("{field}: {other:?}"),
    };
    for (settings, field) in &wrong {
        let (connected, record) = instance.connect(settings).unwrap();
        refused(connected.map(drop), field);
        let (imported, more) = instance.import_orders(settings, None).unwrap();
        refused(imported.map(drop), field);
        let (labelled, again) = instance.on_label_created(settings, &[]).unwrap();
        refused(labelled.map(drop), field);
        let (sent, last) = instance.send_queued_notifications(settings).unwrap();
        refused(sent.map(drop), field);
        for record in [record, more, again, last] {
            assert!(
                record.exchanges.is_empty(),
                "{field}: refused before any call"
            );
        }
    }
    // Two sources of the region connect: Canada is not the simulated seller's.
    match instance.connect(&with("A2EUQ1WTGCTBG2")).unwrap().0 {
        Err(wit::Error::MarketplaceNotParticipating(n)) => {
            assert_eq!(n.requested, "A2EUQ1WTGCTBG2")
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_removed_source_s_queued_update_is_still_sent_and_its_new_labels_are_refused() {
    const CA: &str = "A2EUQ1WTGCTBG2";
    let clock = VirtualClock::new(start());
    let spec = WorldSpec {
        seed: 5,
        orders: 40,
        ..WorldSpec::default()
    };
    let (amazon, mut instance) = seller_in(&["ATVPDKIKX0DER", CA], spec, &clock);
    let both = {
        let mut both = settings("ATVPDKIKX0DER");
        both.sources.push(settings(CA).sources.remove(0));
        both
    };
    let (batch, _) = instance.import_orders(&both, None).unwrap();
    let orders = batch.unwrap().orders;
    let canadian: Vec<&wit::Order> = orders
        .iter()
        .filter(|o| o.marketplace_id == CA && o.status == wit::OrderStatus::AwaitingShipment)
        .collect();
    assert!(canadian.len() >= 2, "{}", canadian.len());
    let american = orders
        .iter()
        .find(|o| {
            o.marketplace_id == "ATVPDKIKX0DER" && o.status == wit::OrderStatus::AwaitingShipment
        })
        .expect("a US order to ship");
    // Amazon's confirmShipment bucket holds one token: the US label takes it, and
    // Amazon refuses the Canadian one, which waits in the outbox.
    amazon.lock().unwrap().set_plan("confirmShipment", 2.0, 1);
    let (first, _) = instance
        .on_label_created(&both, &[label_for(american, "L0", start(), start(), true)])
        .unwrap();
    assert!(matches!(
        first.unwrap()[0].outcome,
        wit::NotificationResult::Sent
    ));
    let (second, _) = instance
        .on_label_created(
            &both,
            &[label_for(canadian[0], "L1", start(), start(), true)],
        )
        .unwrap();
    let second = second.unwrap();
    assert!(
        matches!(second[0].outcome, wit::NotificationResult::Queued(_)),
        "throttled: {second:?}"
    );
    // Canada is removed from the connection; the bucket refills.
    let us_only = settings("ATVPDKIKX0DER");
    clock.set(start() + Duration::minutes(5));
    let (report, _) = instance.send_queued_notifications(&us_only).unwrap();
    let report = report.unwrap();
    assert_eq!(report.pending, 0, "{report:?}");
    assert!(matches!(
        report.outcomes[0].outcome,
        wit::NotificationResult::Sent
    ));
    let status = |id: &str| {
        amazon
            .lock()
            .unwrap()
            .world()
            .order(id)
            .unwrap()
            .status
            .clone()
    };
    assert_eq!(
        status(&canadian[0].order_id),
        "SHIPPED",
        "Amazon has it, in Canada"
    );
    // Not sent, each for its marketplace: a new label for a Canadian order once
    // Canada is no source; one naming another marketplace than the order's; and,
    // with two sources, one for an order not imported here that names none.
    let late = label_for(canadian[1], "L2", start(), start(), true);
    let mut misnamed = label_for(canadian[1], "L3", start(), start(), true);
    misnamed.orders[0].marketplace_id = Some("ATVPDKIKX0DER".into());
    let mut unknown = label_for(canadian[1], "L4", start(), start(), true);
    unknown.orders[0].order_id = "702-0000000-9999999".into();
    for (settings, label, names) in [
        (&us_only, late, CA),
        (&both, misnamed, CA),
        (&both, unknown, "several sources"),
    ] {
        let (outcomes, record) = instance.on_label_created(settings, &[label]).unwrap();
        match &outcomes.unwrap()[0].outcome {
            wit::NotificationResult::NotSent(wit::NotSentReason::InvalidLabel(input)) => {
                assert_eq!(input.field, "labels[0].orders[0].marketplace-id");
                assert!(input.reason.contains(names), "{}", input.reason);
            }
            other => panic!("{other:?}"),
        }
        assert!(record.exchanges.is_empty());
    }
}

#[test]
fn two_workers_with_one_checkpoint_get_the_same_batch() {
    let file =
        std::env::temp_dir().join(format!("amazon-two-workers-{}.sqlite", std::process::id()));
    let _ = std::fs::remove_file(&file);
    let clock = VirtualClock::new(start());
    let amazon = simulator(450, &clock);
    let us = settings("ATVPDKIKX0DER");
    let mut one = ComponentInstance::new(
        amazon.clone(),
        SqliteStorage::open(&file).unwrap(),
        clock.clone(),
    )
    .unwrap();
    let mut two = ComponentInstance::new(
        amazon.clone(),
        SqliteStorage::open(&file).unwrap(),
        clock.clone(),
    )
    .unwrap();

    // Both workers take the same stored checkpoint at the same moment, in parallel;
    // the host keeps one worker's batch, then the other's.
    let mut checkpoint: Option<String> = None;
    let mut held = BTreeSet::new();
    for round in 0..5 {
        let (a, b) = std::thread::scope(|scope| {
            let a = scope.spawn(|| {
                one.import_orders(&us, checkpoint.as_deref())
                    .unwrap()
                    .0
                    .unwrap()
            });
            let b = scope.spawn(|| {
                two.import_orders(&us, checkpoint.as_deref())
                    .unwrap()
                    .0
                    .unwrap()
            });
            (a.join().unwrap(), b.join().unwrap())
        });
        let ids = |batch: &wit::ImportBatch| {
            batch
                .orders
                .iter()
                .map(|o| o.order_id.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(ids(&a), ids(&b));
        assert_eq!(a.more, b.more);
        let kept = if round % 2 == 0 { a } else { b };
        held.extend(ids(&kept));
        checkpoint = Some(kept.checkpoint);
        clock.set(clock.now().max(at(&kept.next_call_after)));
    }
    assert_eq!(held.len(), 450, "every order of the store, once");
    let _ = std::fs::remove_file(&file);
}

#[test]
fn a_clock_outside_any_sane_year_is_a_typed_error_not_a_trap() {
    for at in ["+262142-01-01T00:00:00Z", "1970-01-01T00:00:00Z"] {
        let clock = VirtualClock::new(at.parse().unwrap());
        let amazon = simulator(5, &clock);
        let mut instance =
            ComponentInstance::new(amazon, SqliteStorage::in_memory().unwrap(), clock.clone())
                .unwrap();
        let (redacted, _) = instance.redact().expect("no trap");
        match redacted {
            Err(wit::Error::InvalidInput(input)) => {
                assert_eq!(input.field, "wasi:clocks/wall-clock")
            }
            other => panic!("{at}: {other:?}"),
        }
        let (imported, record) = instance
            .import_orders(&settings("ATVPDKIKX0DER"), None)
            .expect("no trap");
        assert!(matches!(imported, Err(wit::Error::InvalidInput(_))), "{at}");
        assert!(record.exchanges.is_empty());
    }
}

/// Answers every request with something that is not valid HTTP.
struct Broken(u16, Vec<(String, String)>);

impl test_host::amazon::Amazon for Broken {
    fn respond(
        &mut self,
        _: &test_host::amazon::Request,
    ) -> Result<test_host::amazon::Response, test_host::amazon::NoAnswer> {
        Ok(test_host::amazon::Response {
            status: self.0,
            headers: self.1.clone(),
            body: b"{}".to_vec(),
        })
    }
}

#[test]
fn an_answer_that_is_not_valid_http_is_the_upstream_s_failure() {
    let cases = [
        Broken(1000, Vec::new()),
        Broken(200, vec![("x-bad".into(), "line\nbreak".into())]),
    ];
    for broken in cases {
        let clock = VirtualClock::new(start());
        let amazon = Arc::new(Mutex::new(broken));
        let mut instance =
            ComponentInstance::new(amazon, SqliteStorage::in_memory().unwrap(), clock).unwrap();
        let (result, record) = instance.connect(&settings("ATVPDKIKX0DER")).unwrap();
        assert!(
            matches!(result, Err(wit::Error::Transport(_))),
            "{result:?}"
        );
        assert_eq!(
            record.exchanges[0].status, None,
            "not journalled as an answer"
        );
        assert_eq!(record.failures.len(), 1);
    }
}

#[test]
fn an_instance_past_its_limits_gets_an_error_and_the_host_carries_on() {
    let clock = VirtualClock::new(start());
    let us = settings("ATVPDKIKX0DER");

    let starved = Limits {
        memory_bytes: 64 << 10,
        ..Limits::default()
    };
    let refused = ComponentInstance::with_limits(
        simulator(5, &clock),
        SqliteStorage::in_memory().unwrap(),
        clock.clone(),
        starved,
    );
    let error = refused
        .err()
        .expect("64 KiB of memory is not enough to instantiate");
    assert!(format!("{error:#}").contains("instantiating"), "{error:#}");

    let hurried = Limits {
        call_deadline: std::time::Duration::ZERO,
        ..Limits::default()
    };
    let mut interrupted = ComponentInstance::with_limits(
        simulator(5, &clock),
        SqliteStorage::in_memory().unwrap(),
        clock.clone(),
        hurried,
    )
    .unwrap();
    let error = interrupted
        .import_orders(&us, None)
        .expect_err("interrupted");
    assert!(format!("{error:#}").contains("deadline"), "{error:#}");

    // Other instances of the same host are not affected.
    let mut healthy = ComponentInstance::new(
        simulator(5, &clock),
        SqliteStorage::in_memory().unwrap(),
        clock.clone(),
    )
    .unwrap();
    let (batch, _) = healthy.import_orders(&us, None).unwrap();
    assert_eq!(batch.unwrap().orders.len(), 5);
}

// ---------------------------------------------------------------- shipment updates

/// A store that ships what it imports: `batch` labels per call, every `batch` /
/// `per_hour` hours, until every unshipped order has its label.
fn shipping_world(orders: usize, per_hour: f64, batch: usize) -> Options {
    Options {
        orders,
        seed: 11,
        distinct_asins: 6,
        ship: Some(per_hour),
        batch,
        ..Options::default()
    }
}

/// Every exchange a recorded run made.
fn recorded(run: &simulate::Run) -> impl Iterator<Item = &test_host::amazon::har::Entry> {
    run.har
        .as_ref()
        .expect("the run was recorded")
        .log
        .entries
        .iter()
}

fn notifications(report: &Report) -> &simulate::NotificationReport {
    report.notifications.as_ref().expect("labels were created")
}

#[test]
fn five_hundred_labels_in_one_batch_reach_amazon_in_one_feed_within_ten_calls() {
    let report = run(shipping_world(600, 500.0, 500));
    assert_truth(&report);
    let shipped = notifications(&report);
    assert_eq!(shipped.via_feed, 500, "{shipped:#?}");
    assert_eq!(shipped.confirmed_once, shipped.labels);
    let feed_calls: u64 = [
        "createFeedDocument",
        "feed-document",
        "createFeed",
        "getFeed",
        "getFeedDocument",
        "getFeeds",
    ]
    .iter()
    .map(|op| calls(&report, op))
    .sum();
    assert!(feed_calls <= 10, "{feed_calls} calls for the feed");
    // The rest of the store (one more batch of a few dozen) went one by one.
    assert_eq!(
        calls(&report, "confirmShipment") as usize,
        shipped.labels - 500
    );
}

#[test]
fn a_compressed_processing_report_settles_its_feed_with_no_order_asked() {
    let run = simulate::run(&Options {
        compressed_reports: true,
        record: true,
        ..shipping_world(600, 500.0, 500)
    })
    .unwrap();
    assert_truth(&run.report);
    let shipped = notifications(&run.report);
    assert_eq!(shipped.via_feed, 500, "{shipped:#?}");
    assert_eq!(shipped.confirmed_once, shipped.labels);
    // Read from the report: no order's PACKAGES were asked.
    assert_eq!(calls(&run.report, "getOrder"), 0, "{:#?}", run.report.calls);
    let compressed = recorded(&run)
        .filter(|e| e.request.url.contains("/feeds/2021-06-30/documents/"))
        .filter(|e| {
            e.response
                .content
                .text
                .as_deref()
                .is_some_and(|t| t.contains(r#""compressionAlgorithm":"GZIP""#))
        })
        .count();
    assert!(compressed >= 1, "the report came compressed");
}

#[test]
fn single_labels_go_as_fast_as_the_bucket_allows_and_never_into_a_429() {
    // Ten labels a second against a bucket of two a second.
    let report = run(shipping_world(600, 36_000.0, 1));
    assert_truth(&report);
    let shipped = notifications(&report);
    assert!(shipped.labels > 500, "{shipped:#?}");
    assert_eq!(report.throttled, 0, "{:#?}", report.calls);
    // Each update waits for its token only: the queue drains at 2 per second (or
    // faster, by feed), so no label waits much longer than the queue ahead of it.
    let queue_drain = shipped.labels as f64 / 2.0;
    assert!(
        shipped.lag_max_seconds <= queue_drain,
        "worst {} s for {} labels",
        shipped.lag_max_seconds,
        shipped.labels
    );
}

#[test]
fn a_429_storm_delays_updates_only_until_the_bucket_refills() {
    let baseline = run(shipping_world(120, 3_600.0, 20));
    assert_truth(&baseline);
    let requests: u64 = baseline.calls.values().map(|c| c.calls).sum();
    // A storm over the last third of the run's requests, when labels go out.
    let from = (requests * 2 / 3) as usize;
    let report = run(Options {
        faults: (from..from + 15).map(|n| (n, Fault::Throttle)).collect(),
        ..shipping_world(120, 3_600.0, 20)
    });
    assert_truth(&report);
    assert_eq!(report.faults, 15);
    let (calm, stormy) = (notifications(&baseline), notifications(&report));
    // Each 429 empties the view of one bucket; it refills in seconds (confirmShipment,
    // getOrder) or a few minutes (searchOrders), and the updates go on then.
    assert!(
        stormy.lag_max_seconds <= calm.lag_max_seconds + 15.0 * 180.0,
        "{} s after a storm, {} s without",
        stormy.lag_max_seconds,
        calm.lag_max_seconds
    );
}

#[test]
fn a_host_crash_between_any_two_notification_calls_confirms_every_order_exactly_once() {
    let world = || shipping_world(250, 2_400.0, 20);
    let baseline = run(world());
    assert_truth(&baseline);
    let shipped = notifications(&baseline);
    assert!(shipped.labels >= 200, "{shipped:#?}");
    let calls = shipped.label_calls + shipped.delivery_calls;
    for call in 1..=calls {
        let report = run(Options {
            crash_after_notification_calls: BTreeSet::from([call]),
            ..world()
        });
        assert_eq!(notifications(&report).crashes, 1, "call {call}");
        assert_truth(&report);
        assert_eq!(
            notifications(&report).confirmed_once,
            shipped.labels,
            "call {call}"
        );
    }
    let report = run(Options {
        crash_after_notification_calls: (1..=calls).step_by(2).collect(),
        ..world()
    });
    assert_truth(&report);
}

#[test]
fn a_lost_answer_at_any_shipping_request_sends_nothing_twice() {
    // One batch big enough for a feed, and a second small one sent one by one.
    let world = || Options {
        record: true,
        ..shipping_world(330, 300.0, 280)
    };
    let baseline = simulate::run(&world()).unwrap();
    assert_truth(&baseline.report);
    assert_eq!(notifications(&baseline.report).via_feed, 280);
    let har = baseline.har.unwrap();
    let shipping_requests: Vec<usize> = har
        .log
        .entries
        .iter()
        .enumerate()
        .filter(|(_, e)| {
            let url = &e.request.url;
            url.contains("/feeds/")
                || url.contains("amazonaws.com")
                || url.contains("shipmentConfirmation")
        })
        .map(|(index, _)| index + 1)
        .collect();
    assert!(shipping_requests.len() > 20, "{shipping_requests:?}");
    for number in shipping_requests {
        for fault in [Fault::LostResponse, Fault::Timeout, Fault::Unavailable] {
            let report = run(Options {
                faults: vec![(number, fault)],
                record: false,
                ..world()
            });
            assert_truth(&report);
            assert_eq!(
                notifications(&report).confirmed_once,
                notifications(&report).labels,
                "{fault:?} at request {number}"
            );
        }
    }
}

// ---------------------------------------------------------------- redaction

/// A month of a store that ships what it imports, with Amazon changing things in
/// the first hours: orders, labels of every kind, deliveries.
fn month() -> Options {
    Options {
        orders: 300,
        changes: 0.5,
        seed: 3,
        distinct_asins: 6,
        ship: Some(100.0),
        batch: 10,
        days: Some(50),
        ..Options::default()
    }
}

#[test]
fn a_simulated_month_redacts_every_order_and_label_on_time() {
    let report = run(month());
    assert_truth(&report);
    let redaction = report.redaction.as_ref().expect("the month ran");
    assert!(redaction.expected > 900, "{redaction:#?}");
    assert_eq!(redaction.on_time, redaction.expected);
    assert!(redaction.deliveries > 100, "{redaction:#?}");
    assert_eq!(report.pii_in_storage, 0);
}

#[test]
fn a_host_crash_after_any_redact_call_drops_no_directive() {
    // Every fifth call: the host dies with the directives in hand, before applying
    // or acknowledging them.
    let report = run(Options {
        crash_after_redact_calls: (1..=1200).step_by(5).collect(),
        ..month()
    });
    assert_truth(&report);
    let redaction = report.redaction.as_ref().unwrap();
    assert!(redaction.crashes >= 239, "{redaction:#?}");
    // And a crash at the very call each directive first comes with: each of the
    // 50 days' first call, when most directives fall due.
    let report = run(Options {
        crash_after_redact_calls: (1..=1200).collect(),
        days: Some(20),
        ..month()
    });
    let redaction = report.redaction.as_ref().unwrap();
    assert!(
        redaction.unapplied > 0,
        "a host that always crashes applies nothing: the check can fail"
    );
}

/// Imports a small store, ships some of its orders with the given labels, and
/// returns the component and the orders.
fn shipped_store(clock: &VirtualClock) -> (ComponentInstance, Vec<wit::Order>) {
    let amazon = simulator(6, clock);
    let mut instance =
        ComponentInstance::new(amazon, SqliteStorage::in_memory().unwrap(), clock.clone()).unwrap();
    let us = settings("ATVPDKIKX0DER");
    let (batch, _) = instance.import_orders(&us, None).unwrap();
    let orders: Vec<wit::Order> = batch
        .unwrap()
        .orders
        .into_iter()
        .filter(|o| o.status == wit::OrderStatus::AwaitingShipment)
        .collect();
    assert!(orders.len() >= 5, "{}", orders.len());
    (instance, orders)
}

fn label_for(
    order: &wit::Order,
    label_id: &str,
    created: DateTime<Utc>,
    ship: DateTime<Utc>,
    tracked: bool,
) -> wit::LabelEvent {
    wit::LabelEvent {
        label_id: label_id.into(),
        orders: vec![wit::LabelOrder {
            order_id: order.order_id.clone(),
            marketplace_id: None,
            items: order
                .items
                .iter()
                .map(|i| wit::LabelItem {
                    order_item_id: i.order_item_id.clone(),
                    quantity: i.quantity,
                })
                .collect(),
        }],
        carrier_code: "UPS".into(),
        carrier_name: None,
        service: Some("Ground".into()),
        tracking_number: format!("1Z{label_id}"),
        ship_date: test_host::embed::datetime(ship),
        created_at: test_host::embed::datetime(created),
        carrier_fee: None,
        automatic_tracking: tracked,
        batch_id: None,
    }
}

/// The ids `redact` returns at `when`.
fn due_at(
    instance: &mut ComponentInstance,
    clock: &VirtualClock,
    when: DateTime<Utc>,
) -> BTreeSet<String> {
    clock.set(when);
    let (directives, _) = instance.redact().unwrap();
    directives.unwrap().into_iter().map(|d| d.id).collect()
}

#[test]
fn each_rule_falls_due_to_the_second_through_the_real_component() {
    let clock = VirtualClock::new(start());
    let (mut instance, orders) = shipped_store(&clock);
    let imported = start();
    let us = settings("ATVPDKIKX0DER");
    let t = imported + Duration::hours(2);
    // (order, label, rule's due time, deliveries).
    let ship_30 = label_for(&orders[1], "TRACKED", t, t + Duration::hours(3), true);
    let label_44 = label_for(&orders[2], "LATE-SHIP", t, t + Duration::days(20), true);
    let delivered = label_for(&orders[3], "DELIVERED", t, t + Duration::days(5), true);
    let untracked = label_for(&orders[4], "UNTRACKED", t, t + Duration::hours(3), false);
    clock.set(t);
    let labels = [
        ship_30.clone(),
        label_44.clone(),
        delivered.clone(),
        untracked.clone(),
    ];
    let (outcomes, _) = instance.on_label_created(&us, &labels).unwrap();
    assert!(
        outcomes
            .unwrap()
            .iter()
            .all(|o| matches!(o.outcome, wit::NotificationResult::Sent)),
        "Amazon has every label"
    );
    // Delivered two days after the label, before its planned ship date.
    let delivery = t + Duration::days(2);
    clock.set(delivery);
    let event = |label: &wit::LabelEvent, when: DateTime<Utc>| wit::DeliveryEvent {
        label_id: label.label_id.clone(),
        order_id: label.orders[0].order_id.clone(),
        delivered_at: test_host::embed::datetime(when),
    };
    // A delivery after the ship-date clock would run out changes nothing.
    let late_delivery = event(&ship_30, t + Duration::days(10));
    instance
        .on_delivered(&[event(&delivered, delivery), late_delivery])
        .unwrap()
        .0
        .unwrap();

    let cases = [
        (
            &orders[0].order_id,
            None,
            imported + Duration::days(14),
            "not shipped: import + 14 days",
        ),
        (
            &orders[1].order_id,
            Some("TRACKED"),
            t + Duration::hours(3) + Duration::days(30),
            "tracked: ship date + 30 days",
        ),
        (
            &orders[2].order_id,
            Some("LATE-SHIP"),
            t + Duration::days(44),
            "tracked: label + 44 days",
        ),
        (
            &orders[3].order_id,
            Some("DELIVERED"),
            delivery + Duration::days(30),
            "tracked: delivery + 30 days",
        ),
        (
            &orders[4].order_id,
            Some("UNTRACKED"),
            t + Duration::days(30),
            "untracked: label + 30 days",
        ),
    ];
    for (order_id, label, due, rule) in cases {
        let mut ids = vec![format!("{order_id}/order"), format!("{order_id}/customer")];
        if let Some(label) = label {
            ids.push(format!("{order_id}/label/{label}"));
        }
        let before = due_at(&mut instance, &clock, due - Duration::seconds(1));
        let at_due = due_at(&mut instance, &clock, due);
        for id in &ids {
            assert!(!before.contains(id), "{rule}: {id} a second early");
            assert!(at_due.contains(id), "{rule}: {id} at its due time");
        }
    }
}

// ---------------------------------------------------------------- the sandbox

/// Amazon, except that its feed-document URLs point somewhere else (a compromised
/// or spoofed answer), and every host a request reached is kept.
struct SpoofedDocuments {
    amazon: Simulator,
    reached: Vec<String>,
}

impl test_host::amazon::Amazon for SpoofedDocuments {
    fn respond(
        &mut self,
        request: &test_host::amazon::Request,
    ) -> Result<test_host::amazon::Response, test_host::amazon::NoAnswer> {
        self.reached.push(request.url.clone());
        let mut response = self.amazon.respond(request)?;
        if request.url.ends_with("/feeds/2021-06-30/documents") {
            let body = String::from_utf8_lossy(&response.body).replace(
                "tortuga-prod-na.s3-external-1.amazonaws.com",
                "collector.example.net",
            );
            response.body = body.into_bytes();
        }
        Ok(response)
    }
}

#[test]
fn a_feed_document_url_off_amazon_is_refused_and_nothing_is_lost() {
    let clock = VirtualClock::new(start());
    let amazon = Simulator::new(
        World::generate(
            &WorldSpec {
                orders: 320,
                seller_ships: true,
                ..WorldSpec::default()
            },
            start(),
        ),
        clock.clone(),
        vec!["ATVPDKIKX0DER".into()],
        Duration::milliseconds(100),
    );
    let amazon = Arc::new(Mutex::new(SpoofedDocuments {
        amazon,
        reached: Vec::new(),
    }));
    let mut instance = ComponentInstance::new(
        amazon.clone(),
        SqliteStorage::in_memory().unwrap(),
        clock.clone(),
    )
    .unwrap();
    let us = settings("ATVPDKIKX0DER");
    let mut orders = Vec::new();
    let mut checkpoint = None;
    for _ in 0..6 {
        let (batch, _) = instance.import_orders(&us, checkpoint.as_deref()).unwrap();
        let batch = batch.unwrap();
        orders.extend(batch.orders);
        checkpoint = Some(batch.checkpoint);
    }
    let labels: Vec<wit::LabelEvent> = orders
        .iter()
        .filter(|o| o.status == wit::OrderStatus::AwaitingShipment)
        .take(280)
        .enumerate()
        .map(|(n, o)| label_for(o, &format!("S{n}"), clock.now(), clock.now(), true))
        .collect();
    assert_eq!(labels.len(), 280);
    let (outcomes, record) = instance.on_label_created(&us, &labels).unwrap();
    let outcomes = outcomes.unwrap();
    assert!(
        outcomes
            .iter()
            .all(|o| matches!(o.outcome, wit::NotificationResult::Queued(_))),
        "kept to send again"
    );
    assert!(
        record
            .failures
            .iter()
            .any(|f| f.contains("collector.example.net is not an Amazon host")),
        "{:?}",
        record.failures
    );
    assert!(
        !amazon
            .lock()
            .unwrap()
            .reached
            .iter()
            .any(|url| url.contains("collector.example.net")),
        "the buyer-bearing document never left the host"
    );
    // The host carries on: the same instance answers the next call.
    let (report, _) = instance.send_queued_notifications(&us).unwrap();
    assert_eq!(report.unwrap().pending, 280);
}

/// An Amazon whose first answer is far larger than any real one.
struct Flood(usize);

impl test_host::amazon::Amazon for Flood {
    fn respond(
        &mut self,
        _: &test_host::amazon::Request,
    ) -> Result<test_host::amazon::Response, test_host::amazon::NoAnswer> {
        self.0 += 1;
        let body = if self.0 == 1 {
            vec![b' '; test_host::embed::sandbox::MAX_RESPONSE_BODY + 1]
        } else {
            br#"{"access_token":"Atza|x","token_type":"bearer","expires_in":3600}"#.to_vec()
        };
        Ok(test_host::amazon::Response {
            status: 200,
            headers: vec![("content-type".into(), "application/json".into())],
            body,
        })
    }
}

#[test]
fn an_answer_over_the_size_limit_is_refused_cleanly_and_the_host_carries_on() {
    let clock = VirtualClock::new(start());
    let mut instance = ComponentInstance::new(
        Arc::new(Mutex::new(Flood(0))),
        SqliteStorage::in_memory().unwrap(),
        clock,
    )
    .unwrap();
    let (result, record) = instance.connect(&settings("ATVPDKIKX0DER")).unwrap();
    assert!(
        matches!(result, Err(wit::Error::Transport(_))),
        "{result:?}"
    );
    assert!(
        record.failures[0].contains("over the"),
        "{:?}",
        record.failures
    );
    // The next call goes on (and fails only because this Amazon knows no sellers).
    let (result, record) = instance.connect(&settings("ATVPDKIKX0DER")).unwrap();
    assert!(result.is_err());
    assert_eq!(
        record.exchanges.len(),
        2,
        "the token, then the sellers call"
    );
}

/// An Amazon whose searchOrders page is as large as a host lets through.
struct Oversized(Vec<u8>);

impl test_host::amazon::Amazon for Oversized {
    fn respond(
        &mut self,
        request: &test_host::amazon::Request,
    ) -> Result<test_host::amazon::Response, test_host::amazon::NoAnswer> {
        let body = if request.url.contains("/auth/o2/token") {
            br#"{"access_token":"Atza|x","token_type":"bearer","expires_in":3600}"#.to_vec()
        } else {
            self.0.clone()
        };
        Ok(test_host::amazon::Response {
            status: 200,
            headers: vec![("content-type".into(), "application/json".into())],
            body,
        })
    }
}

/// `{"orders":[...]}` of `entry` repeated up to the host's body cap.
fn page_of(prefix: &str, entry: &str, suffix: &str) -> Vec<u8> {
    let room = test_host::embed::sandbox::MAX_RESPONSE_BODY - prefix.len() - suffix.len();
    let count = room / (entry.len() + 1);
    let mut body = String::with_capacity(test_host::embed::sandbox::MAX_RESPONSE_BODY);
    body.push_str(prefix);
    body.push_str(&vec![entry; count].join(","));
    body.push_str(suffix);
    body.into_bytes()
}

#[test]
fn a_page_of_millions_of_entries_is_refused_without_a_trap() {
    let us = settings("ATVPDKIKX0DER");
    // Five million orders in one page, and one order of millions of items: each
    // page is refused before it is decoded, the checkpoint kept.
    let orders = page_of(r#"{"orders":["#, "{}", "]}");
    let items = page_of(
        r#"{"orders":[{"orderId":"111-0000001-0000001","createdTime":"2026-11-20T10:00:00Z","lastUpdatedTime":"2026-11-20T11:00:00Z","orderItems":["#,
        "{}",
        "]}]}",
    );
    for body in [orders, items] {
        let clock = VirtualClock::new(start());
        let amazon = Arc::new(Mutex::new(Oversized(body)));
        let mut instance =
            ComponentInstance::new(amazon, SqliteStorage::in_memory().unwrap(), clock).unwrap();
        for _ in 0..2 {
            // Twice: an answer that trapped once would trap every later call.
            let (result, _) = instance.import_orders(&us, None).expect("no trap");
            match result {
                Err(wit::Error::MalformedResponse(m)) => {
                    assert_eq!(m.operation, "searchOrders");
                    assert!(m.detail.starts_with("more list entries"), "{}", m.detail);
                }
                other => panic!("{other:?}"),
            }
        }
    }
}

#[test]
fn a_page_off_the_model_s_shape_is_malformed_and_reads_nothing() {
    let us = settings("ATVPDKIKX0DER");
    let too_many = format!(r#"{{"orders":[{}]}}"#, vec!["{}"; 101].join(","));
    // serde alone reads the first two as a valid last page.
    for body in [
        "[[]]".to_owned(),
        r#"{"orders":[],"pagination":[]}"#.to_owned(),
        r#"{"orders":[[]]}"#.to_owned(),
        r#"{"orders":{"orderId":"Sample-Buyer-Value"}}"#.to_owned(),
        too_many,
    ] {
        let clock = VirtualClock::new(start());
        let amazon = Arc::new(Mutex::new(Oversized(body.clone().into_bytes())));
        let mut instance =
            ComponentInstance::new(amazon, SqliteStorage::in_memory().unwrap(), clock).unwrap();
        let (result, _) = instance.import_orders(&us, None).expect("no trap");
        assert!(
            matches!(&result, Err(wit::Error::MalformedResponse(m)) if m.operation == "searchOrders"),
            "{body}: {result:?}"
        );
        // What was wrong and where, never a value from the body.
        if let Err(wit::Error::MalformedResponse(m)) = &result {
            assert!(m.detail.contains("line 1 column"), "{}", m.detail);
            assert!(!m.detail.contains("Sample-Buyer-Value"), "{}", m.detail);
        }
    }
}

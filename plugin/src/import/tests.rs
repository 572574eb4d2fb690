use super::*;
use crate::model::OrderStatus;
use crate::spapi::lwa;
use crate::testing::{FakeHost, at, us_settings};

/// A host whose catalog cache already knows the tests' product, so the import
/// tests script only the order calls; the catalog has tests of its own.
fn host() -> FakeHost {
    let host = FakeHost::new();
    host.store.borrow_mut().insert(
        "catalog/ATVPDKIKX0DER/B000000001".into(),
        br#"{"info":{"weight":["1.5","pounds"],"dimensions":null,"image_url":null},"fetched_at":"2026-11-20T00:00:00Z","known":true}"#.to_vec(),
    );
    host
}

fn order(id: &str, status: &str) -> String {
    order_in(
        id,
        status,
        "ATVPDKIKX0DER",
        "AMAZON",
        "MERCHANT",
        "2026-11-20T11:00:00Z",
    )
}

fn order_in(
    id: &str,
    status: &str,
    marketplace: &str,
    channel: &str,
    by: &str,
    updated: &str,
) -> String {
    format!(
        r#"{{"orderId":"{id}","createdTime":"2026-11-20T10:00:00Z","lastUpdatedTime":"{updated}",
        "salesChannel":{{"channelName":"{channel}","marketplaceId":"{marketplace}"}},
        "fulfillment":{{"fulfillmentStatus":"{status}","fulfilledBy":"{by}",
          "shipByWindow":{{"latestDateTime":"2026-11-22T23:59:59Z"}}}},
        "orderItems":[{{"orderItemId":"1","quantityOrdered":1,"product":{{"asin":"B000000001","sellerSku":"SKU-1"}}}}]}}"#
    )
}

fn unshipped_updated(id: &str, updated: &str) -> String {
    order_in(
        id,
        "UNSHIPPED",
        "ATVPDKIKX0DER",
        "AMAZON",
        "MERCHANT",
        updated,
    )
}

fn page(orders: &[String], next: Option<&str>) -> String {
    let pagination = next.map_or(String::new(), |t| {
        format!(r#","pagination":{{"nextToken":"{t}"}}"#)
    });
    format!(r#"{{"orders":[{}]{pagination}}}"#, orders.join(","))
}

fn query_of(uri: &str) -> Vec<(String, String)> {
    let query = uri.split_once('?').map(|(_, q)| q).unwrap_or("");
    form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect()
}

fn value<'q>(query: &'q [(String, String)], name: &str) -> Option<&'q str> {
    query
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn import(host: &FakeHost, checkpoint: Option<&str>) -> ImportBatch {
    import_orders(host, &us_settings(), checkpoint).unwrap()
}

fn ids(batch: &ImportBatch) -> Vec<&str> {
    batch.orders.iter().map(|o| o.order_id.as_str()).collect()
}

#[test]
fn a_window_is_fixed_when_it_opens_and_the_next_starts_at_its_end() {
    let host = host();
    host.expect_token()
        .expect(
            "GET",
            SEARCH_PATH,
            200,
            &page(&[order("111-1", "UNSHIPPED")], Some("a+b/c=")),
        )
        // Amazon's own bound in the answer (here absurd) never moves the cursor.
        .expect(
            "GET",
            SEARCH_PATH,
            200,
            &page(&[order("111-2", "PENDING")], None).replace(
                r#""orders""#,
                r#""lastUpdatedBefore":"2098-01-01T00:00:00Z","orders""#,
            ),
        );
    let first = import(&host, None);
    assert!(first.more);
    assert_eq!(first.orders[0].status, OrderStatus::AwaitingShipment);
    assert_eq!(
        first.next_call_after,
        host.now(),
        "the burst allows the next page now"
    );

    host.set_now(at("2026-11-20T15:00:30Z"));
    let second = import(&host, Some(&first.checkpoint));
    assert!(!second.more);
    assert_eq!(second.orders[0].status, OrderStatus::AwaitingPayment);

    let sent = host.sent.borrow();
    let (one, two) = (query_of(&sent[1].uri), query_of(&sent[2].uri));
    assert_eq!(
        value(&one, "lastUpdatedAfter"),
        Some("2026-11-06T15:00:00Z"),
        "14 days back"
    );
    assert_eq!(
        value(&one, "lastUpdatedBefore"),
        Some("2026-11-20T14:58:00Z"),
        "two minutes back"
    );
    assert_eq!(
        two[..one.len()],
        one[..],
        "every page repeats the window's filters"
    );
    assert_eq!(value(&two, "paginationToken"), Some("a+b/c="));
    assert!(
        sent[2].uri.contains("paginationToken=a%2Bb%2Fc%3D"),
        "encoded once: {}",
        sent[2].uri
    );
    drop(sent);

    // The next window: from the last one's end less the overlap, up to two
    // minutes before its own start, one restore period later.
    assert_eq!(
        second.next_call_after,
        at("2026-11-20T15:00:30Z") + Duration::milliseconds(178_572)
    );
    host.set_now(second.next_call_after);
    host.expect("GET", SEARCH_PATH, 200, &page(&[], None));
    import(&host, Some(&second.checkpoint));
    let third = query_of(&host.sent.borrow()[3].uri);
    assert_eq!(
        value(&third, "lastUpdatedAfter"),
        Some("2026-11-20T14:53:00Z")
    );
    assert_eq!(
        value(&third, "lastUpdatedBefore"),
        Some("2026-11-20T15:01:28Z")
    );
    assert_eq!(value(&third, "paginationToken"), None);
}

#[test]
fn an_early_call_returns_nothing_and_calls_nobody() {
    let host = host();
    host.expect(
        "POST",
        "/auth/o2/token",
        200,
        r#"{"access_token":"Atza|short","token_type":"bearer","expires_in":150}"#,
    )
    .expect(
        "GET",
        SEARCH_PATH,
        200,
        &page(&[order("111-1", "UNSHIPPED")], None),
    );
    let batch = import(&host, None);
    let sent = host.sent.borrow().len();

    // The token is stale by then, and neither a retry nor the catalog is waiting:
    // nothing to fetch a new one for.
    host.set_now(batch.next_call_after - Duration::seconds(1));
    let early = import(&host, Some(&batch.checkpoint));
    assert!(early.orders.is_empty() && early.skipped.is_empty());
    assert_eq!(
        early.checkpoint, batch.checkpoint,
        "the position does not move"
    );
    assert_eq!(early.next_call_after, batch.next_call_after);
    assert_eq!(
        host.sent.borrow().len(),
        sent,
        "no request at all, not even to Login with Amazon"
    );
}

#[test]
fn the_burst_is_spent_then_calls_wait_for_each_token() {
    let host = host();
    host.expect_token();
    let mut checkpoint: Option<String> = None;
    for page_number in 0..20 {
        host.expect(
            "GET",
            SEARCH_PATH,
            200,
            &page(&[], Some(&format!("t{page_number}"))),
        );
        let batch = import(&host, checkpoint.as_deref());
        checkpoint = Some(batch.checkpoint);
        if page_number < 19 {
            assert_eq!(batch.next_call_after, host.now(), "page {page_number}");
        } else {
            assert_eq!(
                batch.next_call_after,
                host.now() + Duration::milliseconds(178_572)
            );
        }
    }
    let waiting = import(&host, checkpoint.as_deref());
    assert!(waiting.more && waiting.orders.is_empty());
    assert_eq!(host.unanswered(), 0);
    assert_eq!(
        host.sent.borrow().len(),
        21,
        "the 21st page is not requested"
    );
}

#[test]
fn throttling_is_an_empty_batch_at_the_same_position() {
    let host = host();
    host.expect_token().expect(
        "GET",
        SEARCH_PATH,
        429,
        r#"{"errors":[{"code":"QuotaExceeded","message":"You exceeded your quota for the requested resource."}]}"#,
    );
    let batch = import(&host, None);
    assert!(batch.orders.is_empty());
    assert_eq!(
        batch.next_call_after,
        host.now() + Duration::milliseconds(178_572)
    );
    let position = Checkpoint::decode(&batch.checkpoint, &us_settings()).unwrap();
    assert_eq!(
        position.streams[0].cursor,
        at("2026-11-06T15:00:00Z"),
        "nothing was read, nothing moved"
    );
    assert!(
        position.streams[0].window.is_none(),
        "the window opens afresh when Amazon allows"
    );
}

#[test]
fn the_same_checkpoint_gives_the_same_orders_again() {
    let host = host();
    host.expect_token()
        .expect(
            "GET",
            SEARCH_PATH,
            200,
            &page(&[order("111-1", "UNSHIPPED")], Some("t1")),
        )
        .expect(
            "GET",
            SEARCH_PATH,
            200,
            &page(&[order("111-2", "UNSHIPPED")], None),
        )
        .expect(
            "GET",
            SEARCH_PATH,
            200,
            &page(&[order("111-2", "UNSHIPPED")], None),
        );
    let first = import(&host, None);
    let dropped = import(&host, Some(&first.checkpoint));
    // The host crashed before storing `dropped`: it calls again with `first`'s.
    let again = import(&host, Some(&first.checkpoint));
    assert_eq!(ids(&dropped), ids(&again));
    assert_eq!(dropped.checkpoint, again.checkpoint);
    let sent = host.sent.borrow();
    assert_eq!(
        sent[2].uri, sent[3].uri,
        "the same page, with the same token"
    );
}

#[test]
fn the_overlap_drops_what_the_last_window_delivered() {
    let host = host();
    // Updated a minute before the first window's end: inside the next overlap.
    let late = order_in(
        "111-7",
        "UNSHIPPED",
        "ATVPDKIKX0DER",
        "AMAZON",
        "MERCHANT",
        "2026-11-20T14:57:00Z",
    );
    let changed = late
        .replace("UNSHIPPED", "SHIPPED")
        .replace("14:57:00Z", "14:59:30Z");
    host.expect_token()
        .expect(
            "GET",
            SEARCH_PATH,
            200,
            &page(std::slice::from_ref(&late), None),
        )
        .expect(
            "GET",
            SEARCH_PATH,
            200,
            &page(std::slice::from_ref(&late), None),
        )
        .expect(
            "GET",
            SEARCH_PATH,
            200,
            &page(std::slice::from_ref(&late), None),
        )
        .expect("GET", SEARCH_PATH, 200, &page(&[changed], None));
    let first = import(&host, None);
    assert_eq!(ids(&first), ["111-7"]);
    host.set_now(first.next_call_after);
    let second = import(&host, Some(&first.checkpoint));
    assert!(
        second.orders.is_empty(),
        "the same version is not delivered twice"
    );
    // The third window is three minutes later and its overlap still reaches
    // back to the first window's end: the repeat is still dropped.
    host.set_now(second.next_call_after);
    let third = import(&host, Some(&second.checkpoint));
    assert!(third.orders.is_empty(), "still not delivered twice");
    host.set_now(third.next_call_after);
    let fourth = import(&host, Some(&third.checkpoint));
    assert_eq!(ids(&fourth), ["111-7"], "a newer version is");
    let third = fourth;
    assert_eq!(third.orders[0].status, OrderStatus::Shipped);
}

#[test]
fn an_unreadable_order_is_retried_with_get_order_until_it_maps() {
    let host = host();
    let broken = r#"{"orderId":"222-1","createdTime":"x","lastUpdatedTime":"2026-11-20T11:00:00Z","salesChannel":{"channelName":"AMAZON","marketplaceId":"ATVPDKIKX0DER"},"orderItems":[]}"#;
    host.expect_token().expect(
        "GET",
        SEARCH_PATH,
        200,
        &page(&[order("111-1", "UNSHIPPED"), broken.into()], None),
    );
    let first = import(&host, None);
    assert_eq!(ids(&first), ["111-1"], "the others are not held back");
    assert_eq!(first.skipped[0].order_id, "222-1");
    assert_eq!(first.skipped[0].reason, SkipReason::Unreadable);
    assert!(first.skipped[0].will_retry);
    assert_eq!(
        first.next_call_after,
        host.now() + Duration::minutes(1),
        "the retry is due first"
    );

    // A minute later: only the retry is due (the next window waits for its token).
    host.set_now(first.next_call_after);
    host.expect(
        "GET",
        "/orders/2026-01-01/orders/222-1",
        200,
        &format!(r#"{{"order":{broken}}}"#),
    );
    let second = import(&host, Some(&first.checkpoint));
    assert_eq!(second.skipped.len(), 1);
    assert!(second.skipped[0].will_retry);
    assert!(
        host.sent
            .borrow()
            .last()
            .unwrap()
            .uri
            .contains("includedData=")
    );

    // The next window comes due first (one restore period after the first),
    // then the retry, two minutes after the last reading.
    host.set_now(second.next_call_after);
    assert_eq!(host.now(), at("2026-11-20T15:02:58.572Z"));
    host.expect("GET", SEARCH_PATH, 200, &page(&[], None));
    let window = import(&host, Some(&second.checkpoint));
    assert!(window.orders.is_empty() && window.skipped.is_empty());
    host.set_now(window.next_call_after);
    assert_eq!(host.now(), at("2026-11-20T15:03:00Z"));
    host.expect(
        "GET",
        "/orders/2026-01-01/orders/222-1",
        200,
        &format!(r#"{{"order":{}}}"#, order("222-1", "UNSHIPPED")),
    );
    let second = window;
    let third = import(&host, Some(&second.checkpoint));
    assert_eq!(ids(&third), ["222-1"]);
    assert!(third.skipped.is_empty());
    let position = Checkpoint::decode(&third.checkpoint, &us_settings()).unwrap();
    assert!(position.retry.is_empty());
}

#[test]
fn an_order_that_never_maps_is_given_up_after_five_readings() {
    let host = host();
    let broken = r#"{"orderId":"222-1","createdTime":"x","lastUpdatedTime":"2026-11-20T11:00:00Z","salesChannel":{"channelName":"AMAZON"},"orderItems":[]}"#;
    host.expect_token()
        .expect("GET", SEARCH_PATH, 200, &page(&[broken.into()], None));
    let mut batch = import(&host, None);
    let mut reasons = vec![batch.skipped[0].reason];
    let mut retry_times = Vec::new();
    while reasons.len() < 5 {
        host.set_now(batch.next_call_after);
        let position = Checkpoint::decode(&batch.checkpoint, &us_settings()).unwrap();
        if position.streams[0].next_page_at <= host.now() {
            host.expect("GET", SEARCH_PATH, 200, &page(&[], None));
        }
        if position.retry.iter().any(|r| r.next_at <= host.now()) {
            retry_times.push(host.now());
            host.expect(
                "GET",
                "/orders/2026-01-01/orders/222-1",
                200,
                &format!(r#"{{"order":{broken}}}"#),
            );
        }
        batch = import(&host, Some(&batch.checkpoint));
        assert_eq!(host.unanswered(), 0);
        reasons.extend(batch.skipped.iter().map(|s| s.reason));
    }
    assert_eq!(
        reasons,
        [
            SkipReason::Unreadable,
            SkipReason::Unreadable,
            SkipReason::Unreadable,
            SkipReason::Unreadable,
            SkipReason::GivenUp
        ]
    );
    let start = at("2026-11-20T15:00:00Z");
    let minutes: Vec<i64> = retry_times
        .iter()
        .map(|t| (*t - start).num_minutes())
        .collect();
    assert_eq!(minutes, [1, 3, 7, 15], "1, 2, 4 and 8 minutes apart");
    assert!(!batch.skipped[0].will_retry);
    assert!(
        Checkpoint::decode(&batch.checkpoint, &us_settings())
            .unwrap()
            .retry
            .is_empty()
    );
}

#[test]
fn orders_that_are_not_this_stores_are_skipped_with_a_reason() {
    let host = host();
    let updated = "2026-11-20T11:00:00Z";
    host.expect_token().expect(
        "GET",
        SEARCH_PATH,
        200,
        &page(
            &[
                order_in(
                    "111-1",
                    "UNSHIPPED",
                    "A2EUQ1WTGCTBG2",
                    "AMAZON",
                    "MERCHANT",
                    updated,
                ),
                order_in(
                    "111-2",
                    "UNSHIPPED",
                    "ATVPDKIKX0DER",
                    "NON_AMAZON",
                    "AMAZON",
                    updated,
                ),
                order_in(
                    "111-3",
                    "SHIPPED",
                    "ATVPDKIKX0DER",
                    "AMAZON",
                    "AMAZON",
                    updated,
                ),
                order("111-4", "UNSHIPPED"),
            ],
            None,
        ),
    );
    let batch = import(&host, None);
    assert_eq!(ids(&batch), ["111-4"]);
    let reasons: Vec<_> = batch
        .skipped
        .iter()
        .map(|s| (s.order_id.as_str(), s.reason, s.will_retry))
        .collect();
    assert_eq!(
        reasons,
        [
            ("111-1", SkipReason::OtherMarketplace, false),
            ("111-2", SkipReason::NonAmazonSalesChannel, false),
            ("111-3", SkipReason::AmazonFulfilled, false),
        ]
    );
    let query = query_of(&host.sent.borrow()[1].uri);
    assert_eq!(
        value(&query, "fulfilledBy"),
        Some("MERCHANT"),
        "FBA orders are not even requested"
    );
    assert_eq!(value(&query, "marketplaceIds"), Some("ATVPDKIKX0DER"));
}

#[test]
fn an_empty_next_token_ends_the_window() {
    let host = host();
    host.expect_token().expect(
        "GET",
        SEARCH_PATH,
        200,
        r#"{"orders":[],"pagination":{"nextToken":""}}"#,
    );
    let batch = import(&host, None);
    assert!(!batch.more);
    assert!(
        Checkpoint::decode(&batch.checkpoint, &us_settings())
            .unwrap()
            .streams[0]
            .window
            .is_none()
    );
}

#[test]
fn an_expired_page_token_reads_the_window_again() {
    let host = host();
    host.expect_token()
        .expect(
            "GET",
            SEARCH_PATH,
            200,
            &page(&[order("111-1", "UNSHIPPED")], Some("t1")),
        )
        .expect(
            "GET",
            SEARCH_PATH,
            400,
            r#"{"errors":[{"code":"InvalidInput","message":"Invalid paginationToken"}]}"#,
        )
        .expect(
            "GET",
            SEARCH_PATH,
            200,
            &page(&[order("111-1", "UNSHIPPED")], None),
        );
    let first = import(&host, None);
    let refused = import(&host, Some(&first.checkpoint));
    assert!(refused.orders.is_empty());
    assert!(refused.more, "the window starts again at once");
    assert_eq!(refused.next_call_after, host.now());
    let position = Checkpoint::decode(&refused.checkpoint, &us_settings()).unwrap();
    assert_eq!(
        position.streams[0]
            .window
            .as_ref()
            .and_then(|w| w.token.as_ref()),
        None
    );
    assert_eq!(
        position.streams[0].cursor,
        at("2026-11-06T15:00:00Z"),
        "the cursor never moved"
    );
    let again = import(&host, Some(&refused.checkpoint));
    assert_eq!(ids(&again), ["111-1"]);
    assert_eq!(
        query_of(&host.sent.borrow()[3].uri)
            .iter()
            .filter(|(k, _)| k == "paginationToken")
            .count(),
        0
    );
}

#[test]
fn a_window_read_in_update_order_ends_where_its_pages_reached_before_its_token_expires() {
    let host = host();
    let at_ten = |id| unshipped_updated(id, "2026-11-20T10:00:00Z");
    let at_eleven = |id| unshipped_updated(id, "2026-11-20T11:00:00Z");
    host.expect_token()
        .expect(
            "GET",
            SEARCH_PATH,
            200,
            &page(&[at_ten("111-1"), at_eleven("111-2")], Some("t1")),
        )
        .expect_token()
        .expect(
            "GET",
            SEARCH_PATH,
            200,
            &page(&[at_eleven("111-2"), at_eleven("111-3")], None),
        );
    let first = import(&host, None);
    assert_eq!(ids(&first), ["111-1", "111-2"]);
    // Twelve hours on, the token would still work, but a window this slow might
    // not end before it expires.
    host.set_now(at("2026-11-21T03:00:01Z"));
    let later = import(&host, Some(&first.checkpoint));
    assert_eq!(
        ids(&later),
        ["111-3"],
        "111-2 came again unchanged: dropped"
    );
    let query = query_of(&host.sent.borrow()[3].uri);
    assert_eq!(value(&query, "paginationToken"), None);
    assert_eq!(
        value(&query, "lastUpdatedAfter"),
        Some("2026-11-20T10:55:00Z"),
        "the overlap before the last order read"
    );
    assert_eq!(
        value(&query, "lastUpdatedBefore"),
        Some("2026-11-21T02:58:01Z")
    );
}

#[test]
fn an_order_of_a_window_read_again_half_as_wide_comes_again() {
    let host = host();
    let early = unshipped_updated("111-0", "2026-11-08T10:00:00Z");
    let late = unshipped_updated("111-2", "2026-11-20T11:00:00Z");
    host.expect_token()
        .expect(
            "GET",
            SEARCH_PATH,
            200,
            &page(&[late, early.clone()], Some("t1")),
        )
        .expect_token()
        .expect("GET", SEARCH_PATH, 200, &page(&[early], None));
    let first = import(&host, None);
    assert_eq!(ids(&first), ["111-2", "111-0"]);
    host.set_now(at("2026-11-21T15:00:00Z"));
    let again = import(&host, Some(&first.checkpoint));
    assert_eq!(ids(&again), ["111-0"], "delivered before, and again");
}

#[test]
fn a_window_out_of_update_order_is_read_again_half_as_wide_when_its_token_would_expire() {
    let host = host();
    let at_ten = |id| unshipped_updated(id, "2026-11-20T10:00:00Z");
    let at_eleven = |id| unshipped_updated(id, "2026-11-20T11:00:00Z");
    host.expect_token()
        .expect(
            "GET",
            SEARCH_PATH,
            200,
            &page(&[at_eleven("111-2"), at_ten("111-1")], Some("t1")),
        )
        .expect_token()
        .expect("GET", SEARCH_PATH, 200, &page(&[], Some("t2")))
        .expect_token()
        .expect("GET", SEARCH_PATH, 200, &page(&[], None));
    let first = import(&host, None);
    // Twelve hours on, a window out of order goes on with its token.
    host.set_now(at("2026-11-21T03:00:01Z"));
    let middle = import(&host, Some(&first.checkpoint));
    let query = query_of(&host.sent.borrow()[3].uri);
    assert_eq!(value(&query, "paginationToken"), Some("t1"));
    // A day on, it cannot be paged further and cannot end early.
    host.set_now(at("2026-11-21T15:00:00Z"));
    import(&host, Some(&middle.checkpoint));
    let query = query_of(&host.sent.borrow()[5].uri);
    assert_eq!(
        value(&query, "paginationToken"),
        None,
        "Amazon's token is 24 h old"
    );
    assert_eq!(
        value(&query, "lastUpdatedAfter"),
        Some("2026-11-06T15:00:00Z"),
        "from the cursor"
    );
    assert_eq!(
        value(&query, "lastUpdatedBefore"),
        Some("2026-11-13T14:59:00Z"),
        "half as wide as the window it replaces"
    );
}

#[test]
fn a_401_evicts_the_cached_token_and_the_call_is_made_again() {
    let host = host();
    host.expect_token()
        .expect("GET", SEARCH_PATH, 401, r#"{"errors":[{"code":"Unauthorized","message":"Access to requested resource is denied."}]}"#)
        .expect("POST", "/auth/o2/token", 200, r#"{"access_token":"Atza|fresh","expires_in":3600}"#)
        .expect("GET", SEARCH_PATH, 200, &page(&[order("111-1", "UNSHIPPED")], None));
    let batch = import(&host, None);
    assert_eq!(ids(&batch), ["111-1"]);
    let sent = host.sent.borrow();
    let token = |i: usize| {
        sent[i]
            .headers
            .iter()
            .find(|(k, _)| k == "x-amz-access-token")
            .unwrap()
            .1
            .clone()
    };
    assert_eq!(token(3), "Atza|fresh");
    assert!(host.key_exists(lwa::CACHE_KEY));
}

#[test]
fn a_checkpoint_of_another_seller_is_refused() {
    let host = host();
    host.expect_token()
        .expect("GET", SEARCH_PATH, 200, &page(&[], None));
    let batch = import(&host, None);
    let mut other = us_settings();
    other.credentials.seller_id = "A3OTHER".into();
    let error = import_orders(&host, &other, Some(&batch.checkpoint)).unwrap_err();
    assert!(
        matches!(error, Error::InvalidInput { ref field, .. } if field == "checkpoint"),
        "{error:?}"
    );
}

#[test]
fn a_japanese_store_without_the_kanji_setting_reads_nothing() {
    let host = host();
    let mut japan = us_settings();
    japan.sources[0].marketplace_id = "A1VC38T7YXB528".into();
    assert_eq!(
        import_orders(&host, &japan, None),
        Err(Error::KanjiAddressesRequired)
    );
    assert!(host.sent.borrow().is_empty());
}

#[test]
fn imported_merchant_orders_are_scheduled_for_redaction() {
    let host = host();
    host.expect_token().expect(
        "GET",
        SEARCH_PATH,
        200,
        &page(&[order("111-1", "UNSHIPPED")], None),
    );
    import(&host, None);
    assert!(host.key_exists("redaction/order/111-1"));
}

fn order_with_items(id: &str, status: &str, asins: &[&str]) -> String {
    let items: Vec<String> = asins
        .iter()
        .enumerate()
        .map(|(n, asin)| {
            format!(
                r#"{{"orderItemId":"{id}-{n}","quantityOrdered":2,"product":{{"asin":"{asin}"}}}}"#
            )
        })
        .collect();
    format!(
        r#"{{"orderId":"{id}","createdTime":"2026-11-20T10:00:00Z","lastUpdatedTime":"2026-11-20T11:00:00Z",
        "salesChannel":{{"channelName":"AMAZON","marketplaceId":"ATVPDKIKX0DER"}},
        "fulfillment":{{"fulfillmentStatus":"{status}","fulfilledBy":"MERCHANT"}},
        "orderItems":[{}]}}"#,
        items.join(",")
    )
}

fn catalog_item(asin: &str, pounds: &str) -> String {
    format!(
        r#"{{"asin":"{asin}","dimensions":[{{"marketplaceId":"ATVPDKIKX0DER","package":{{"weight":{{"unit":"pounds","value":{pounds}}}}}}}],
        "images":[{{"marketplaceId":"ATVPDKIKX0DER","images":[{{"variant":"MAIN","link":"https://m.media-amazon.com/images/I/{asin}.jpg","height":500,"width":500}}]}}]}}"#
    )
}

#[test]
fn product_info_comes_within_the_catalog_bucket_and_never_holds_an_order_back() {
    let host = FakeHost::new();
    host.expect_token()
        .expect(
            "GET",
            SEARCH_PATH,
            200,
            &page(
                &[
                    order_with_items("111-1", "UNSHIPPED", &["B0CAT00001", "B0CAT00002"]),
                    order_with_items("111-2", "UNSHIPPED", &["B0CAT00003"]),
                    order_with_items("111-3", "SHIPPED", &["B0CAT00004"]),
                ],
                None,
            ),
        )
        .expect(
            "GET",
            "/catalog/2022-04-01/items/B0CAT00001",
            200,
            &catalog_item("B0CAT00001", "0.1"),
        )
        .expect(
            "GET",
            "/catalog/2022-04-01/items/B0CAT00002",
            200,
            &catalog_item("B0CAT00002", "0.2"),
        );
    let first = import(&host, None);
    assert_eq!(
        ids(&first),
        ["111-1", "111-2", "111-3"],
        "no order waits for the catalog"
    );
    let complete = &first.orders[0];
    assert_eq!(complete.items[0].weight.as_ref().unwrap().value, "0.1");
    assert_eq!(
        complete.items[0].image_url.as_deref(),
        Some("https://m.media-amazon.com/images/I/B0CAT00001.jpg")
    );
    let weight = complete.weight.as_ref().unwrap();
    assert_eq!(
        (weight.value.as_str(), weight.unit),
        ("0.6", crate::model::WeightUnit::Pounds),
        "2 × 0.1 + 2 × 0.2, exactly"
    );
    assert_eq!(
        first.orders[1].items[0].weight, None,
        "the burst of 2 is spent"
    );
    assert_eq!(first.orders[1].weight, None);
    assert_eq!(
        first.orders[2].items[0].weight, None,
        "shipped merchant orders are not looked up"
    );
    assert_eq!(
        first.next_call_after,
        host.now() + Duration::milliseconds(500),
        "the catalog's next token"
    );
    let sent: Vec<String> = host.sent.borrow().iter().map(|s| s.uri.clone()).collect();
    assert!(
        sent[2].contains("marketplaceIds=ATVPDKIKX0DER")
            && sent[2].contains("includedData=dimensions%2Cimages"),
        "{sent:?}"
    );
    assert!(!sent.iter().any(|u| u.contains("B0CAT00004")));

    host.set_now(first.next_call_after);
    host.expect(
        "GET",
        "/catalog/2022-04-01/items/B0CAT00003",
        200,
        &catalog_item("B0CAT00003", "3"),
    );
    let second = import(&host, Some(&first.checkpoint));
    assert!(second.orders.is_empty());
    assert_eq!(
        second.products.len(),
        1,
        "the info follows for the order already delivered"
    );
    assert_eq!(second.products[0].asin, "B0CAT00003");
    assert_eq!(second.products[0].weight.as_ref().unwrap().value, "3");
    assert_eq!(host.sent.borrow().len(), 5, "only the catalog was called");

    // Cached now: the same products in a later order cost nothing.
    host.set_now(
        second
            .next_call_after
            .max(host.now() + Duration::minutes(3)),
    );
    host.expect(
        "GET",
        SEARCH_PATH,
        200,
        &page(
            &[order_with_items(
                "111-5",
                "UNSHIPPED",
                &["B0CAT00001", "B0CAT00003"],
            )],
            None,
        ),
    );
    let third = import(&host, Some(&second.checkpoint));
    assert_eq!(third.orders[0].weight.as_ref().unwrap().value, "6.2");
    assert_eq!(host.unanswered(), 0);
}

#[test]
fn a_catalog_that_refuses_never_fails_the_import() {
    let host = FakeHost::new();
    let refused = r#"{"errors":[{"code":"Unauthorized","message":"Access to requested resource is denied."}]}"#;
    host.expect_token()
        .expect(
            "GET",
            SEARCH_PATH,
            200,
            &page(
                &[order_with_items(
                    "111-1",
                    "UNSHIPPED",
                    &["B0CAT00001", "B0CAT00002"],
                )],
                None,
            ),
        )
        .expect(
            "GET",
            "/catalog/2022-04-01/items/B0CAT00001",
            404,
            r#"{"errors":[{"code":"NotFound","message":"not found"}]}"#,
        )
        .expect("GET", "/catalog/2022-04-01/items/B0CAT00002", 403, refused);
    let mut batch = import(&host, None);
    assert_eq!(ids(&batch), ["111-1"]);
    assert!(batch.orders[0].items.iter().all(|i| i.weight.is_none()));
    let position = Checkpoint::decode(&batch.checkpoint, &us_settings()).unwrap();
    assert_eq!(
        position.products,
        [PendingProduct(
            "B0CAT00002".into(),
            1,
            "ATVPDKIKX0DER".into()
        )],
        "the unknown ASIN is not asked again"
    );
    // A refusal may pass (a revoked token): asked twice more, then given up.
    for _ in 0..2 {
        host.set_now(batch.next_call_after);
        host.expect_token()
            .expect("GET", "/catalog/2022-04-01/items/B0CAT00002", 403, refused);
        batch = import(&host, Some(&batch.checkpoint));
    }
    assert_eq!(host.unanswered(), 0);
    let position = Checkpoint::decode(&batch.checkpoint, &us_settings()).unwrap();
    assert!(position.products.is_empty());
}

#[test]
fn an_order_whose_pii_is_due_comes_back_redacted() {
    let host = host();
    let with_buyer = order("111-1", "UNSHIPPED").replace(
        r#""salesChannel""#,
        r#""buyer":{"buyerName":"Sample Buyer","buyerEmail":"sample@marketplace.amazon.com"},
           "recipient":{"deliveryAddress":{"name":"Sample Buyer","addressLine1":"1 Example Way","city":"Seattle","postalCode":"98101"}},
           "salesChannel""#,
    );
    host.expect_token().expect(
        "GET",
        SEARCH_PATH,
        200,
        &page(std::slice::from_ref(&with_buyer), None),
    );
    let first = import(&host, None);
    assert_eq!(
        first.orders[0].customer.as_ref().unwrap().name.as_deref(),
        Some("Sample Buyer")
    );

    // 15 days later the PII is due; Amazon then sends the order again.
    host.set_now(at("2026-12-05T15:00:00Z"));
    assert!(!crate::redact::redact(&host).unwrap().is_empty());
    let changed = with_buyer.replace("11:00:00Z", "12:00:00Z");
    host.expect_token()
        .expect("GET", SEARCH_PATH, 200, &page(&[changed], None));
    let again = import(&host, Some(&first.checkpoint));
    let order = &again.orders[0];
    let customer = order.customer.as_ref().unwrap();
    assert_eq!(customer.name.as_deref(), Some("REDACTED (Amazon)"));
    assert_eq!(customer.email.as_deref(), Some("REDACTED (Amazon)"));
    let address = order.ship_to.as_ref().unwrap();
    assert_eq!(address.street1.as_deref(), Some("REDACTED (Amazon)"));
    assert_eq!(
        address.city.as_deref(),
        Some("Seattle"),
        "the order keeps its city"
    );
    assert_eq!(address.postal_code.as_deref(), Some("98101"));
}

// Positions a long run reaches (lists at their bounds, windows hours old), built
// directly rather than by hours of scripted calls.

fn checkpoint_with(host: &FakeHost, edit: impl FnOnce(&mut Checkpoint)) -> String {
    let mut position = Checkpoint::first(&us_settings(), host.now(), FIRST_IMPORT_LOOKBACK);
    edit(&mut position);
    position.encode()
}

fn position_of(batch: &ImportBatch) -> Checkpoint {
    Checkpoint::decode(&batch.checkpoint, &us_settings()).unwrap()
}

/// A window being paged, opened at `opened_at`, in update order so far.
fn paged_window(opened_at: DateTime<Utc>) -> Window {
    let stream = Stream::first(
        vec!["ATVPDKIKX0DER".into()],
        opened_at,
        FIRST_IMPORT_LOOKBACK,
    );
    let mut window = open_window(&us_settings(), &stream, opened_at, None);
    window.token = Some("t1".into());
    window.frontier = Some(at("2026-11-20T10:00:00Z"));
    window
}

fn retry(order_id: &str, next_at: DateTime<Utc>) -> Retry {
    Retry {
        order_id: order_id.into(),
        attempts: 1,
        next_at,
    }
}

fn retried_ids(position: &Checkpoint) -> Vec<&str> {
    position.retry.iter().map(|r| r.order_id.as_str()).collect()
}

#[test]
fn what_an_order_still_has_to_ship_is_remembered_when_it_is_imported() {
    let host = host();
    let items = r#""orderItems":[
        {"orderItemId":"A","quantityOrdered":3,"fulfillment":{"quantityFulfilled":1},"product":{"asin":"B000000001"}},
        {"orderItemId":"B","quantityOrdered":2,"fulfillment":{"quantityFulfilled":2},"product":{"asin":"B000000001"}}]}"#;
    let with_items = |id: &str, status: &str, by: &str| {
        let order = order_in(
            id,
            status,
            "ATVPDKIKX0DER",
            "AMAZON",
            by,
            "2026-11-20T11:00:00Z",
        );
        let (head, _) = order.split_once(r#""orderItems""#).unwrap();
        format!("{head}{items}")
    };
    let orders = [
        with_items("111-1", "PARTIALLY_SHIPPED", "MERCHANT"),
        with_items("111-2", "SHIPPED", "MERCHANT"),
        with_items("111-3", "CANCELLED", "MERCHANT"),
        with_items("111-4", "UNSHIPPED", "AMAZON"),
    ];
    host.expect_token()
        .expect("GET", SEARCH_PATH, 200, &page(&orders, None));
    let mut settings = us_settings();
    settings.sources[0].import_fba_orders = true;
    let batch = import_orders(&host, &settings, None).unwrap();
    assert_eq!(ids(&batch), ["111-1", "111-2", "111-3", "111-4"]);
    let store = Store::new(&host);
    let unshipped: crate::notify::Unshipped = store
        .load(&format!("{}111-1", crate::keys::UNSHIPPED_PREFIX))
        .unwrap()
        .expect("remembered");
    assert_eq!(
        unshipped.items,
        [("A".to_owned(), 2)],
        "what is left of each item, fully shipped items not at all"
    );
    assert_eq!(unshipped.marketplace, "ATVPDKIKX0DER", "where it was sold");
    for id in ["111-2", "111-3", "111-4"] {
        assert!(
            !host.key_exists(&format!("{}{id}", crate::keys::UNSHIPPED_PREFIX)),
            "{id}: shipped, cancelled or Amazon's to ship"
        );
    }
}

#[test]
fn a_window_ends_early_only_past_twelve_hours_and_is_narrowed_only_past_twenty_three() {
    let opened_at = at("2026-11-20T02:00:00Z");
    for (now, expect_token) in [
        // Exactly twelve hours: the window still pages on.
        (opened_at + WINDOW_REFRESH, true),
        // A second later it ends where its pages reached, and a new one starts there.
        (opened_at + WINDOW_REFRESH + Duration::seconds(1), false),
    ] {
        let host = host();
        host.set_now(now);
        let checkpoint = checkpoint_with(&host, |p| {
            p.streams[0].window = Some(paged_window(opened_at))
        });
        host.expect_token()
            .expect("GET", SEARCH_PATH, 200, &page(&[], Some("t2")));
        import(&host, Some(&checkpoint));
        let query = query_of(&host.sent.borrow()[1].uri);
        assert_eq!(
            value(&query, "paginationToken").is_some(),
            expect_token,
            "at {now}"
        );
    }

    // A window out of update order pages on until its token would expire.
    let mut unordered = paged_window(opened_at);
    unordered.unordered = true;
    unordered.frontier = None;
    for (now, expect_token) in [
        (opened_at + PAGE_TOKEN_LIFETIME, true),
        (
            opened_at + PAGE_TOKEN_LIFETIME + Duration::seconds(1),
            false,
        ),
    ] {
        let host = host();
        host.set_now(now);
        let checkpoint = checkpoint_with(&host, |p| p.streams[0].window = Some(unordered.clone()));
        host.expect_token()
            .expect("GET", SEARCH_PATH, 200, &page(&[], Some("t2")));
        import(&host, Some(&checkpoint));
        let query = query_of(&host.sent.borrow()[1].uri);
        assert_eq!(
            value(&query, "paginationToken").is_some(),
            expect_token,
            "at {now}"
        );
    }
}

#[test]
fn a_window_with_more_versions_at_its_edge_than_a_checkpoint_keeps_pages_on() {
    let opened_at = at("2026-11-20T02:00:00Z");
    let host = host();
    host.set_now(opened_at + WINDOW_REFRESH + Duration::seconds(1));
    let mut window = paged_window(opened_at);
    window.tail = (0..MAX_DELIVERED)
        .map(|n| Delivered(format!("111-{n}"), "2026-11-20T10:00:00Z".into()))
        .collect();
    let checkpoint = checkpoint_with(&host, |p| p.streams[0].window = Some(window));
    host.expect_token()
        .expect("GET", SEARCH_PATH, 200, &page(&[], Some("t2")));
    import(&host, Some(&checkpoint));
    let query = query_of(&host.sent.borrow()[1].uri);
    assert_eq!(
        value(&query, "paginationToken"),
        Some("t1"),
        "ending here would lose the versions it cannot keep"
    );
}

#[test]
fn a_refused_first_page_is_an_error_and_a_refused_later_page_keeps_its_window() {
    let invalid = r#"{"errors":[{"code":"InvalidInput","message":"Invalid input."}]}"#;
    let host = host();
    host.expect_token().expect("GET", SEARCH_PATH, 400, invalid);
    let refused = import_orders(&host, &us_settings(), None);
    assert!(
        matches!(refused, Err(Error::Amazon(ref e)) if e.status == 400),
        "a new window's 400 is Amazon's verdict on the query: {refused:?}"
    );

    let host = self::host();
    let opened_at = host.now() - Duration::hours(1);
    let checkpoint = checkpoint_with(&host, |p| {
        p.streams[0].window = Some(paged_window(opened_at))
    });
    let missing = r#"{"errors":[{"code":"NotFound","message":"Not found."}]}"#;
    host.expect_token().expect("GET", SEARCH_PATH, 404, missing);
    let refused = import_orders(&host, &us_settings(), Some(&checkpoint));
    assert!(refused.is_err(), "{refused:?}");
    host.expect("GET", SEARCH_PATH, 200, &page(&[], None));
    import(&host, Some(&checkpoint));
    let last = query_of(&host.sent.borrow().last().unwrap().uri);
    assert_eq!(
        value(&last, "paginationToken"),
        Some("t1"),
        "the window is not read again from its start"
    );
}

#[test]
fn an_order_read_in_a_page_leaves_the_retry_list_and_the_others_stay() {
    let host = host();
    let later = host.now() + Duration::minutes(5);
    let checkpoint = checkpoint_with(&host, |p| {
        p.retry = vec![
            retry("111-1", later),
            retry("111-5", later),
            retry("111-9", later),
        ];
    });
    let elsewhere = order_in(
        "111-5",
        "UNSHIPPED",
        "A2EUQ1WTGCTBG2",
        "AMAZON",
        "MERCHANT",
        "2026-11-20T11:00:00Z",
    );
    host.expect_token().expect(
        "GET",
        SEARCH_PATH,
        200,
        &page(&[order("111-1", "UNSHIPPED"), elsewhere], None),
    );
    let batch = import(&host, Some(&checkpoint));
    assert_eq!(ids(&batch), ["111-1"]);
    assert_eq!(batch.skipped[0].reason, SkipReason::OtherMarketplace);
    assert_eq!(
        retried_ids(&position_of(&batch)),
        ["111-9"],
        "read, or skipped for good: no longer retried"
    );
}

#[test]
fn a_retried_order_that_comes_back_unchanged_is_delivered_and_leaves_the_retry_list() {
    let host = host();
    let now = host.now();
    let checkpoint = checkpoint_with(&host, |p| {
        p.streams[0].next_page_at = now + Duration::hours(1);
        p.streams[0].delivered = vec![Delivered("111-1".into(), "2026-11-20T11:00:00Z".into())];
        p.retry = vec![
            retry("111-1", now),
            retry("111-9", now + Duration::hours(1)),
        ];
    });
    host.expect_token().expect(
        "GET",
        "/orders/2026-01-01/orders/111-1",
        200,
        &format!(r#"{{"order":{}}}"#, order("111-1", "UNSHIPPED")),
    );
    let batch = import(&host, Some(&checkpoint));
    // The host was told it comes again: it does, though the host has the version.
    assert_eq!(ids(&batch), ["111-1"]);
    assert_eq!(retried_ids(&position_of(&batch)), ["111-9"]);
}

#[test]
fn versions_before_the_overlap_are_not_kept_and_the_kept_ones_are_bounded() {
    let host = host();
    let early = unshipped_updated("111-1", "2026-11-19T10:00:00Z");
    let edge = unshipped_updated("111-2", "2026-11-20T14:56:00Z");
    host.expect_token()
        .expect("GET", SEARCH_PATH, 200, &page(&[early, edge.clone()], None));
    let batch = import(&host, None);
    assert_eq!(
        position_of(&batch).streams[0].delivered,
        [Delivered("111-2".into(), "2026-11-20T14:56:00Z".into())],
        "only what the next window's overlap reads again"
    );

    let host = self::host();
    let mut window = paged_window(host.now());
    window.boundary = (0..MAX_DELIVERED)
        .map(|n| Delivered(format!("222-{n}"), "2026-11-20T14:56:00Z".into()))
        .collect();
    let checkpoint = checkpoint_with(&host, |p| p.streams[0].window = Some(window));
    host.expect_token()
        .expect("GET", SEARCH_PATH, 200, &page(&[edge], None));
    let batch = import(&host, Some(&checkpoint));
    assert_eq!(ids(&batch), ["111-2"]);
    assert_eq!(
        position_of(&batch).streams[0].delivered.len(),
        MAX_DELIVERED
    );
}

#[test]
fn the_tail_keeps_the_overlap_before_the_frontier_and_equal_times_stay_in_order() {
    let host = host();
    let pages = [
        unshipped_updated("111-1", "2026-11-20T10:00:00Z"),
        unshipped_updated("111-2", "2026-11-20T11:00:00Z"),
        unshipped_updated("111-3", "2026-11-20T11:00:00Z"),
    ];
    host.expect_token()
        .expect("GET", SEARCH_PATH, 200, &page(&pages, Some("t1")));
    let batch = import(&host, None);
    let window = position_of(&batch).streams[0].window.clone().unwrap();
    assert!(!window.unordered, "the same time twice is still in order");
    assert_eq!(window.frontier, Some(at("2026-11-20T11:00:00Z")));
    let tail: Vec<&str> = window.tail.iter().map(|d| d.0.as_str()).collect();
    assert_eq!(tail, ["111-2", "111-3"], "10:00 is before the overlap");
}

#[test]
fn a_full_retry_list_gives_a_new_unreadable_order_up_at_once() {
    let broken = r#"{"orderId":"222-1","createdTime":"x","lastUpdatedTime":"2026-11-20T11:00:00Z","salesChannel":{"channelName":"AMAZON","marketplaceId":"ATVPDKIKX0DER"},"orderItems":[]}"#;
    for (listed, will_retry) in [(MAX_RETRIES - 1, true), (MAX_RETRIES, false)] {
        let host = host();
        let later = host.now() + Duration::hours(1);
        let checkpoint = checkpoint_with(&host, |p| {
            p.retry = (0..listed)
                .map(|n| retry(&format!("333-{n}"), later))
                .collect();
        });
        host.expect_token()
            .expect("GET", SEARCH_PATH, 200, &page(&[broken.into()], None));
        let batch = import(&host, Some(&checkpoint));
        assert_eq!(batch.skipped[0].will_retry, will_retry, "{listed} listed");
        assert_eq!(
            position_of(&batch).retry.len(),
            MAX_RETRIES,
            "{listed} listed"
        );
    }
}

#[test]
fn the_catalog_queue_takes_each_unknown_asin_once_and_no_more_than_it_holds() {
    let host = FakeHost::new();
    let checkpoint = checkpoint_with(&host, |p| {
        p.products = vec![PendingProduct(
            "B0CAT00001".into(),
            0,
            "ATVPDKIKX0DER".into(),
        )];
    });
    let orders = [
        order_with_items("111-1", "UNSHIPPED", &["B0CAT00001", "B0CAT00002"]),
        order_with_items("111-2", "UNSHIPPED", &["B0CAT00002"]),
    ];
    // The catalog is out of tokens: the queue is only filled.
    host.empty_bucket(&Operation::GET_CATALOG_ITEM);
    host.expect_token()
        .expect("GET", SEARCH_PATH, 200, &page(&orders, None));
    let batch = import(&host, Some(&checkpoint));
    assert_eq!(
        position_of(&batch).products,
        [
            PendingProduct("B0CAT00001".into(), 0, "ATVPDKIKX0DER".into()),
            PendingProduct("B0CAT00002".into(), 0, "ATVPDKIKX0DER".into())
        ]
    );

    let host = FakeHost::new();
    let full: Vec<PendingProduct> = (0..MAX_PRODUCTS)
        .map(|n| PendingProduct(format!("B1{n:08}"), 0, "ATVPDKIKX0DER".into()))
        .collect();
    let checkpoint = checkpoint_with(&host, |p| p.products = full.clone());
    host.empty_bucket(&Operation::GET_CATALOG_ITEM);
    host.expect_token()
        .expect("GET", SEARCH_PATH, 200, &page(&orders[..1], None));
    let batch = import(&host, Some(&checkpoint));
    assert_eq!(position_of(&batch).products, full, "the queue is full");
}

#[test]
fn a_failing_catalog_is_asked_again_and_a_refusing_one_counts_a_refusal() {
    let orders = [order_with_items("111-1", "UNSHIPPED", &["B0CAT00001"])];
    for (status, queued) in [(503, 0), (400, 1)] {
        let host = FakeHost::new();
        host.expect_token()
            .expect("GET", SEARCH_PATH, 200, &page(&orders, None))
            .expect(
                "GET",
                "/catalog/2022-04-01/items/B0CAT00001",
                status,
                r#"{"errors":[{"code":"InternalFailure","message":"We encountered an internal error."}]}"#,
            );
        let batch = import(&host, None);
        assert_eq!(ids(&batch), ["111-1"]);
        assert_eq!(
            position_of(&batch).products,
            [PendingProduct(
                "B0CAT00001".into(),
                queued,
                "ATVPDKIKX0DER".into()
            )],
            "after a {status}"
        );
    }
}

#[test]
fn product_info_with_only_a_weight_or_only_an_image_is_delivered() {
    let weight_only = r#"{"asin":"B0CAT00001","dimensions":[{"marketplaceId":"ATVPDKIKX0DER","package":{"weight":{"unit":"pounds","value":2.5}}}]}"#;
    let image_only = r#"{"asin":"B0CAT00001","images":[{"marketplaceId":"ATVPDKIKX0DER","images":[{"variant":"MAIN","link":"https://m.media-amazon.com/images/I/B0CAT00001.jpg","height":500,"width":500}]}]}"#;
    let orders = [order_with_items("111-1", "UNSHIPPED", &["B0CAT00001"])];
    for item in [weight_only, image_only] {
        let host = FakeHost::new();
        host.expect_token()
            .expect("GET", SEARCH_PATH, 200, &page(&orders, None))
            .expect("GET", "/catalog/2022-04-01/items/B0CAT00001", 200, item);
        let batch = import(&host, None);
        assert_eq!(batch.products.len(), 1, "{item}");
    }
}

#[test]
fn a_throttled_new_window_opens_as_soon_as_the_seller_s_own_rate_allows() {
    let host = host();
    host.expect_token()
        .expect(
            "GET",
            SEARCH_PATH,
            429,
            r#"{"errors":[{"code":"QuotaExceeded","message":"You exceeded your quota for the requested resource."}]}"#,
        )
        .header("x-amzn-RateLimit-Limit", "1.0");
    let batch = import(&host, None);
    assert_eq!(
        batch.next_call_after,
        host.now() + Duration::seconds(1),
        "the header's rate, not the default plan's polling interval"
    );
}

// ------------------------------------------------------- several order sources

const CANADA: &str = "A2EUQ1WTGCTBG2";

/// A connection of the US store and a Canadian one that identifies items by ASIN.
fn north_america() -> ConnectionSettings {
    let mut settings = us_settings();
    let mut canada = settings.sources[0].clone();
    canada.marketplace_id = CANADA.into();
    canada.product_identifier = crate::model::ProductIdentifier::Asin;
    settings.sources.push(canada);
    settings
}

/// [`host`], with the product known to the Canadian catalog too.
fn na_host() -> FakeHost {
    let host = host();
    let us = host.store.borrow()["catalog/ATVPDKIKX0DER/B000000001"].clone();
    host.store
        .borrow_mut()
        .insert(format!("catalog/{CANADA}/B000000001"), us);
    host
}

/// The query of the last searchOrders request.
fn last_search(host: &FakeHost) -> Vec<(String, String)> {
    let sent = host.sent.borrow();
    let search = sent
        .iter()
        .rev()
        .find(|s| s.uri.contains(SEARCH_PATH))
        .unwrap();
    query_of(&search.uri)
}

fn canadian(id: &str, updated: &str) -> String {
    order_in(id, "UNSHIPPED", CANADA, "AMAZON", "MERCHANT", updated)
}

#[test]
fn one_window_reads_every_source_and_each_order_maps_by_its_own() {
    let host = na_host();
    let orders = [
        order("111-1", "UNSHIPPED"),
        canadian("702-1", "2026-11-20T11:00:01Z"),
        order_in(
            "701-1",
            "UNSHIPPED",
            "A1AM78C64UM0Y8",
            "AMAZON",
            "MERCHANT",
            "2026-11-20T11:00:02Z",
        ),
    ];
    host.expect_token()
        .expect("GET", SEARCH_PATH, 200, &page(&orders, None));
    let batch = import_orders(&host, &north_america(), None).unwrap();
    let sent = host.sent.borrow();
    let query = query_of(&sent[1].uri);
    assert_eq!(
        value(&query, "marketplaceIds"),
        Some("A2EUQ1WTGCTBG2,ATVPDKIKX0DER")
    );
    assert_eq!(ids(&batch), ["111-1", "702-1"]);
    // Each by its own source's settings: SKU in the US, ASIN in Canada.
    assert_eq!(batch.orders[0].items[0].product_id, "SKU-1");
    assert_eq!(batch.orders[1].items[0].product_id, "B000000001");
    assert_eq!(batch.skipped.len(), 1);
    assert_eq!(batch.skipped[0].reason, SkipReason::OtherMarketplace);
    let position = Checkpoint::decode(&batch.checkpoint, &north_america()).unwrap();
    assert_eq!(position.streams.len(), 1, "one stream for both");
}

#[test]
fn a_source_added_later_reads_its_own_first_import_then_joins_the_others() {
    let host = na_host();
    let last_query = || last_search(&host);
    host.expect_token().expect(
        "GET",
        SEARCH_PATH,
        200,
        &page(&[order("111-1", "UNSHIPPED")], None),
    );
    let us_only = import(&host, None);
    let us_end = at("2026-11-20T14:58:00Z");
    // A minute on, before the US is due again, the seller connects Canada: its own
    // 14 days first, up to where the US window ended, and nothing of the US again.
    host.set_now(at("2026-11-20T15:01:00Z"));
    host.expect(
        "GET",
        SEARCH_PATH,
        200,
        &page(&[canadian("702-1", "2026-11-20T12:00:00Z")], None),
    );
    let joining = import_orders(&host, &north_america(), Some(&us_only.checkpoint)).unwrap();
    assert_eq!(ids(&joining), ["702-1"]);
    let query = last_query();
    assert_eq!(value(&query, "marketplaceIds"), Some(CANADA));
    assert_eq!(
        value(&query, "lastUpdatedAfter"),
        Some("2026-11-06T15:01:00Z")
    );
    assert_eq!(
        value(&query, "lastUpdatedBefore"),
        Some(us_end.to_rfc3339_opts(SecondsFormat::Secs, true).as_str())
    );
    // Both stand where the US window ended: one stream, one window, from there.
    let position = Checkpoint::decode(&joining.checkpoint, &north_america()).unwrap();
    assert_eq!(position.streams.len(), 1);
    assert_eq!(position.streams[0].cursor, us_end - CURSOR_OVERLAP);
    host.set_now(joining.next_call_after);
    host.expect("GET", SEARCH_PATH, 200, &page(&[], None));
    let both = import_orders(&host, &north_america(), Some(&joining.checkpoint)).unwrap();
    let query = last_query();
    assert_eq!(
        value(&query, "marketplaceIds"),
        Some("A2EUQ1WTGCTBG2,ATVPDKIKX0DER")
    );
    assert_eq!(
        value(&query, "lastUpdatedAfter"),
        Some("2026-11-20T14:53:00Z")
    );
    // And a source removed is no longer asked for.
    let mut canada_only = north_america();
    canada_only.sources.remove(0);
    host.set_now(both.next_call_after);
    host.expect("GET", SEARCH_PATH, 200, &page(&[], None));
    import_orders(&host, &canada_only, Some(&both.checkpoint)).unwrap();
    assert_eq!(value(&last_query(), "marketplaceIds"), Some(CANADA));
}

#[test]
fn sources_read_separately_take_turns_at_the_shared_bucket() {
    let host = na_host();
    let mut separately = north_america();
    separately.read_sources_separately = true;
    host.expect_token()
        .expect("GET", SEARCH_PATH, 200, &page(&[], None));
    let start = host.now();
    let first = import_orders(&host, &separately, None).unwrap();
    // The second source's first window is due at once, not a poll later.
    assert_eq!(first.next_call_after, start);
    host.set_now(first.next_call_after);
    host.expect("GET", SEARCH_PATH, 200, &page(&[], None));
    import_orders(&host, &separately, Some(&first.checkpoint)).unwrap();
    let sent = host.sent.borrow();
    let asked: Vec<String> = sent[1..]
        .iter()
        .map(|s| {
            value(&query_of(&s.uri), "marketplaceIds")
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(
        asked,
        ["ATVPDKIKX0DER", CANADA],
        "one source per call, in turn"
    );
}

/// An order Amazon changed at `updated`, as its notification says.
fn notify(host: &FakeHost, id: &str, updated: &str) {
    let body = crate::testing::order_change(id, updated);
    let taken = crate::events::take_notifications(host, &us_settings(), &[body]).unwrap();
    assert_eq!(taken.outcomes, [crate::events::MessageOutcome::Taken]);
}

#[test]
fn a_notified_change_is_fetched_first_and_settled_only_when_its_batch_was_stored() {
    let host = host();
    host.expect_token()
        .expect("GET", SEARCH_PATH, 200, &page(&[], None));
    let first = import(&host, None);
    notify(&host, "111-0000009-0000001", "2026-11-20T14:59:30Z");
    let changed = unshipped_updated("111-0000009-0000001", "2026-11-20T14:59:30Z");
    let get_path = "/orders/2026-01-01/orders/111-0000009-0000001";
    let body = format!(r#"{{"order":{changed}}}"#);
    host.expect("GET", get_path, 200, &body);
    // Not held back by the polling interval the last batch set.
    assert!(first.next_call_after > host.now());
    let second = import(&host, Some(&first.checkpoint));
    assert_eq!(ids(&second), ["111-0000009-0000001"]);
    let sent = host.sent.borrow().last().unwrap().uri.clone();
    assert_eq!(value(&query_of(&sent), "includedData"), Some(INCLUDED_DATA));

    // The host lost that batch: the change is fetched again.
    host.expect("GET", get_path, 200, &body);
    let again = import(&host, Some(&first.checkpoint));
    assert_eq!(ids(&again), ["111-0000009-0000001"]);
    // It stored this one: nothing more is fetched, and nothing waits.
    let after = import(&host, Some(&again.checkpoint));
    assert!(after.orders.is_empty());
    assert!(!after.more);
    assert_eq!(host.unanswered(), 0);
    assert!(
        crate::events::Changes::load(&crate::host::Store::new(&host))
            .unwrap()
            .pending
            .is_empty()
    );
}

#[test]
fn polling_drops_the_version_a_notification_delivered() {
    let host = host();
    host.expect_token()
        .expect("GET", SEARCH_PATH, 200, &page(&[], None));
    let first = import(&host, None);
    notify(&host, "111-0000009-0000001", "2026-11-20T14:57:00Z");
    let changed = unshipped_updated("111-0000009-0000001", "2026-11-20T14:57:00Z");
    host.expect(
        "GET",
        "/orders/2026-01-01/orders/111-0000009-0000001",
        200,
        &format!(r#"{{"order":{changed}}}"#),
    );
    let fetched = import(&host, Some(&first.checkpoint));
    assert_eq!(ids(&fetched), ["111-0000009-0000001"]);
    host.set_now(fetched.next_call_after.max(at("2026-11-20T15:03:00Z")));
    host.expect(
        "GET",
        SEARCH_PATH,
        200,
        &page(std::slice::from_ref(&changed), None),
    );
    let polled = import(&host, Some(&fetched.checkpoint));
    assert!(
        polled.orders.is_empty(),
        "the same version, not delivered twice"
    );
    // A notification older than a window already read costs no getOrder.
    notify(&host, "111-0000009-0000002", "2026-11-20T14:50:00Z");
    host.set_now(polled.next_call_after.max(host.now()));
    host.expect("GET", SEARCH_PATH, 200, &page(&[], None));
    let _ = import(&host, Some(&polled.checkpoint));
    assert_eq!(host.unanswered(), 0);
    assert!(
        !host
            .sent
            .borrow()
            .iter()
            .any(|s| s.uri.contains("111-0000009-0000002")),
        "polling already read past it"
    );
}

#[test]
fn a_read_older_than_its_notification_is_asked_again_a_little_later() {
    let host = host();
    host.expect_token()
        .expect("GET", SEARCH_PATH, 200, &page(&[], None));
    let first = import(&host, None);
    notify(&host, "111-0000009-0000001", "2026-11-20T14:59:40Z");
    let path = "/orders/2026-01-01/orders/111-0000009-0000001";
    host.expect(
        "GET",
        path,
        404,
        r#"{"errors":[{"code":"NotFound","message":"no order"}]}"#,
    );
    let missing = import(&host, Some(&first.checkpoint));
    assert!(missing.orders.is_empty());
    assert!(missing.more, "the change still waits");
    assert_eq!(
        missing.next_call_after,
        host.now() + crate::events::STALE_READ_DELAY
    );
    host.set_now(missing.next_call_after);
    let changed = unshipped_updated("111-0000009-0000001", "2026-11-20T14:59:40Z");
    host.expect("GET", path, 200, &format!(r#"{{"order":{changed}}}"#));
    let found = import(&host, Some(&missing.checkpoint));
    assert_eq!(ids(&found), ["111-0000009-0000001"]);
}

#[test]
fn a_change_the_window_being_paged_already_read_past_costs_no_get_order() {
    let host = host();
    let read = unshipped_updated("111-0000009-0000001", "2026-11-20T14:50:00Z");
    host.expect_token()
        .expect("GET", SEARCH_PATH, 200, &page(&[read], Some("next")));
    let first = import(&host, None);
    assert!(first.more, "the window is being paged");
    // Changed before the window opened, and its pages reached past the change.
    notify(&host, "111-0000009-0000002", "2026-11-20T14:45:00Z");
    host.expect("GET", SEARCH_PATH, 200, &page(&[], None));
    let second = import(&host, Some(&first.checkpoint));
    assert!(second.orders.is_empty());
    assert_eq!(host.unanswered(), 0, "no getOrder was made");
    assert!(
        crate::events::Changes::load(&crate::host::Store::new(&host))
            .unwrap()
            .pending
            .is_empty(),
        "and the change is done with"
    );
}

#[test]
fn an_order_a_notification_could_not_fetch_but_a_page_delivered_is_not_announced_as_retried() {
    let host = host();
    host.expect_token()
        .expect("GET", SEARCH_PATH, 200, &page(&[], None));
    let first = import(&host, None);
    notify(&host, "111-0000009-0000001", "2026-11-20T14:57:00Z");
    host.set_now(first.next_call_after);
    host.expect(
        "GET",
        "/orders/2026-01-01/orders/111-0000009-0000001",
        500,
        r#"{"errors":[{"code":"InternalFailure","message":"try again"}]}"#,
    )
    .expect(
        "GET",
        SEARCH_PATH,
        200,
        &page(
            &[unshipped_updated(
                "111-0000009-0000001",
                "2026-11-20T14:57:00Z",
            )],
            None,
        ),
    );
    let batch = import(&host, Some(&first.checkpoint));
    assert_eq!(ids(&batch), ["111-0000009-0000001"]);
    assert!(batch.skipped.is_empty(), "{:?}", batch.skipped);
    assert!(position_of(&batch).retry.is_empty());
}

//! `order-events` through the real component against the simulator: each sentence
//! of the WIT's `order-events` interface has a test here that would fail without it.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};

use test_host::amazon::sim::notifications::EventSpec;
use test_host::amazon::sim::{Simulator, World, WorldSpec};
use test_host::drive::scenario::{PLACEHOLDER_SELLER_ID, Settings};
use test_host::drive::simulate::{self, Options};
use test_host::embed::kv::SqliteStorage;
use test_host::embed::runtime::bindings as wit;
use test_host::embed::runtime::{ComponentInstance, VirtualClock};

const US: &str = "ATVPDKIKX0DER";
const QUEUE: &str = "arn:aws:sqs:us-east-1:000000000000:order-events";

fn start() -> DateTime<Utc> {
    simulate::START.parse().unwrap()
}

fn time(at: &wit::Datetime) -> DateTime<Utc> {
    DateTime::from_timestamp(at.seconds as i64, at.nanoseconds).unwrap()
}

/// A seller of 30 orders whose 30 new orders arrive over the first hour, caught
/// up by polling at the start, with notifications on (none lost or doubled).
struct Subscribed {
    amazon: Arc<Mutex<Simulator>>,
    instance: ComponentInstance,
    clock: VirtualClock,
    settings: wit::ConnectionSettings,
    checkpoint: String,
    subscription: wit::Subscription,
}

/// A US seller of 30 orders on a simulator `prepare`d, and the component on it.
fn seller(
    changes: f64,
    prepare: impl FnOnce(&mut Simulator),
) -> (Arc<Mutex<Simulator>>, ComponentInstance, VirtualClock) {
    let clock = VirtualClock::new(start());
    let spec = WorldSpec {
        orders: 30,
        change_rate: changes,
        arrival_share: 1.0,
        ..WorldSpec::default()
    };
    let world = World::generate(&spec, start());
    let mut simulator = Simulator::new(
        world,
        clock.clone(),
        vec![US.into()],
        Duration::milliseconds(100),
    );
    prepare(&mut simulator);
    let amazon = Arc::new(Mutex::new(simulator));
    let storage = SqliteStorage::in_memory().unwrap();
    let instance = ComponentInstance::new(amazon.clone(), storage, clock.clone()).unwrap();
    (amazon, instance, clock)
}

impl Subscribed {
    fn new() -> Self {
        let (amazon, mut instance, clock) = seller(1.0, |simulator| {
            let mut events = EventSpec::new(1, PLACEHOLDER_SELLER_ID);
            events.loss_share = 0.0;
            events.duplicate_share = 0.0;
            simulator.configure_order_events(events);
        });
        let settings = Settings::simulated(US).to_wit();
        let (subscribed, _) = instance.subscribe(&settings, QUEUE).unwrap();
        let subscription = subscribed.unwrap();
        assert!(subscription.created);
        let (batch, _) = instance.import_orders(&settings, None).unwrap();
        let checkpoint = batch.unwrap().checkpoint;
        Self {
            amazon,
            instance,
            clock,
            settings,
            checkpoint,
            subscription,
        }
    }

    /// The clock moves to the first message's arrival; the messages visible then.
    fn receive_next(&mut self) -> Vec<String> {
        loop {
            let mut amazon = self.amazon.lock().unwrap();
            amazon.advance();
            let queue = amazon.order_events_mut().unwrap();
            let received = queue.receive(self.clock.now());
            if !received.is_empty() {
                return received;
            }
            let next = queue.next_visible();
            let change = amazon.world().next_change_at();
            let at = [next, change]
                .into_iter()
                .flatten()
                .min()
                .expect("more to come");
            self.clock
                .set(at.max(self.clock.now() + Duration::milliseconds(1)));
        }
    }

    fn take(&mut self, messages: &[String]) -> (wit::TakenNotifications, usize) {
        let (result, record) = self
            .instance
            .take_notifications(&self.settings, messages)
            .unwrap();
        (result.unwrap(), record.exchanges.len())
    }

    fn import(&mut self) -> (wit::ImportBatch, Vec<String>) {
        let (result, record) = self
            .instance
            .import_orders(&self.settings, Some(&self.checkpoint))
            .unwrap();
        let batch = result.unwrap();
        let urls = record.exchanges.iter().map(|e| e.url.clone()).collect();
        (batch, urls)
    }
}

fn order_id(body: &str) -> String {
    let json: serde_json::Value = serde_json::from_str(body).unwrap();
    json["Payload"]["OrderChangeNotification"]["AmazonOrderId"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[test]
fn a_taken_change_survives_a_crash_and_is_fetched_inside_searchorders_two_minutes() {
    let mut seller = Subscribed::new();
    let messages = seller.receive_next();
    let (taken, exchanges) = seller.take(&messages);
    assert_eq!(exchanges, 0, "taking makes no call at Amazon");
    assert!(
        taken
            .outcomes
            .iter()
            .all(|o| matches!(o, wit::MessageOutcome::Taken))
    );
    let import_after = time(taken.import_after.as_ref().expect("something to fetch"));
    assert!(
        import_after <= seller.clock.now(),
        "getOrder's bucket is full"
    );
    // Either side crashes after the call: the component restarts on its storage.
    seller.instance.restart().unwrap();
    let (batch, urls) = seller.import();
    let wanted: BTreeSet<String> = messages.iter().map(|m| order_id(m)).collect();
    let delivered: BTreeSet<String> = batch.orders.iter().map(|o| o.order_id.clone()).collect();
    assert!(wanted.is_subset(&delivered), "{wanted:?} in {delivered:?}");
    assert!(
        urls.iter()
            .any(|u| u.contains("/orders/2026-01-01/orders/"))
    );
    // Changed seconds ago: no searchOrders window could have had it yet.
    let now = seller.clock.now();
    assert!(
        batch
            .orders
            .iter()
            .filter(|o| wanted.contains(&o.order_id))
            .all(|o| time(&o.updated_at) > now - Duration::minutes(2))
    );
    // The host did not store that batch: the same checkpoint brings the changes
    // again. Once it stores one, they are settled and cost no call.
    let (again, _) = seller.import();
    let delivered: BTreeSet<String> = again.orders.iter().map(|o| o.order_id.clone()).collect();
    assert!(wanted.is_subset(&delivered), "{wanted:?} in {delivered:?}");
    seller.checkpoint = again.checkpoint;
    let (after, urls) = seller.import();
    assert!(
        !urls
            .iter()
            .any(|u| u.contains("/orders/2026-01-01/orders/"))
    );
    assert!(!after.orders.iter().any(|o| wanted.contains(&o.order_id)));
}

#[test]
fn copies_other_sellers_and_unreadable_bodies_get_outcomes_and_cost_no_call() {
    let mut seller = Subscribed::new();
    let body = seller.receive_next().remove(0);
    let other_seller = body.replace(PLACEHOLDER_SELLER_ID, "A9OTHERSELLER");
    let other_marketplace = body.replace(US, "A2EUQ1WTGCTBG2");
    let other_subscription = body.replace(&seller.subscription.subscription_id, "another-one");
    let unimported_fba = body.replace("\"MFN\"", "\"AFN\"");
    assert_ne!(unimported_fba, body);
    let not_json = "Simulated Buyer, 1 Simulated Way".to_owned();
    let too_large = format!("{body}{}", " ".repeat(1024 * 1024));
    let messages = [
        body.clone(),
        body.clone(),
        other_seller,
        other_marketplace,
        other_subscription,
        unimported_fba,
        not_json,
        too_large,
    ];
    let (taken, exchanges) = seller.take(&messages);
    assert_eq!(exchanges, 0);
    let outcomes = &taken.outcomes;
    assert_eq!(outcomes.len(), messages.len());
    assert!(
        matches!(outcomes[0], wit::MessageOutcome::Taken),
        "{outcomes:?}"
    );
    assert!(
        matches!(outcomes[1], wit::MessageOutcome::Duplicate),
        "{outcomes:?}"
    );
    assert!(
        matches!(outcomes[2], wit::MessageOutcome::NotForThisConnection),
        "{outcomes:?}"
    );
    assert!(
        matches!(outcomes[3], wit::MessageOutcome::NotForThisConnection),
        "{outcomes:?}"
    );
    assert!(
        matches!(outcomes[4], wit::MessageOutcome::NotForThisConnection),
        "another subscription's: {outcomes:?}"
    );
    assert!(
        matches!(outcomes[5], wit::MessageOutcome::NotForThisConnection),
        "an Amazon-fulfilled order the source does not import: {outcomes:?}"
    );
    for outcome in &outcomes[6..] {
        let wit::MessageOutcome::Malformed(reason) = outcome else {
            panic!("{outcome:?}");
        };
        assert!(!reason.contains("Simulated"), "{reason}");
    }
    // The redelivered copy after the fetch is still a duplicate, and no call is
    // made for it.
    let (batch, _) = seller.import();
    seller.checkpoint = batch.checkpoint;
    let (settled, _) = seller.import();
    seller.checkpoint = settled.checkpoint;
    // An older change of the same order than the one taken is nothing new either.
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    let changed =
        json["Payload"]["OrderChangeNotification"]["OrderChangeTrigger"]["TimeOfOrderChange"]
            .as_str()
            .unwrap()
            .to_owned();
    let older = body.replace(&changed, "2026-11-20T14:00:00.000Z");
    let (again, _) = seller.take(&[body, older]);
    assert!(
        matches!(
            again.outcomes[..],
            [
                wit::MessageOutcome::Duplicate,
                wit::MessageOutcome::Duplicate
            ]
        ),
        "{:?}",
        again.outcomes
    );
    assert!(again.import_after.is_none(), "nothing taken needs fetching");
    let (_, urls) = seller.import();
    assert!(
        !urls
            .iter()
            .any(|u| u.contains("/orders/2026-01-01/orders/"))
    );
    // A list longer than 1,000 is refused as a whole.
    let (result, _) = seller
        .instance
        .take_notifications(&seller.settings, &vec![String::new(); 1_001])
        .unwrap();
    assert!(
        matches!(&result, Err(wit::Error::InvalidInput(i)) if i.field == "messages"),
        "{result:?}"
    );
}

#[test]
fn a_failed_write_takes_nothing_so_the_host_hands_the_messages_over_again() {
    let mut seller = Subscribed::new();
    let messages = seller.receive_next();
    seller.instance.storage().fail_writes(1.0, 1);
    let (result, _) = seller
        .instance
        .take_notifications(&seller.settings, &messages)
        .unwrap();
    assert!(matches!(result, Err(wit::Error::Storage(_))), "{result:?}");
    seller.instance.storage().fail_writes(0.0, 1);
    let (taken, _) = seller.take(&messages);
    assert!(
        taken
            .outcomes
            .iter()
            .all(|o| matches!(o, wit::MessageOutcome::Taken)),
        "nothing of the failed call was kept: {:?}",
        taken.outcomes
    );
}

fn with_events(options: Options) -> simulate::Report {
    let report = simulate::run(&Options {
        order_events: true,
        ..options
    })
    .unwrap()
    .report;
    assert!(report.problems().is_empty(), "{report}");
    report
}

#[test]
fn lost_notifications_and_a_two_hour_outage_cost_speed_never_an_order() {
    let report = with_events(Options {
        orders: 300,
        changes: 0.5,
        change_horizon: Some(Duration::hours(3)),
        event_outage: Some(Duration::minutes(30)),
        ..Options::default()
    });
    let events = report.order_events.as_ref().unwrap();
    assert!(events.lost_by_amazon > events.published / 10, "{events:?}");
    assert_eq!(report.missed, 0);
    assert_eq!(report.final_state_mismatches, 0);
}

#[test]
fn the_host_s_own_shipments_cost_no_get_order() {
    let report = with_events(Options {
        orders: 300,
        changes: 0.2,
        ship: Some(600.0),
        ..Options::default()
    });
    let events = report.order_events.as_ref().unwrap();
    let confirmed = report.notifications.as_ref().unwrap().confirmed_once;
    assert!(confirmed > 100, "{confirmed}");
    // Every change but the host's own shipments may cost one getOrder.
    assert!(
        (events.get_order_calls as usize) <= events.published - confirmed,
        "{events:?}, {confirmed} confirmed"
    );
}

#[test]
fn subscribing_again_makes_nothing_twice_and_a_bad_arn_calls_nobody() {
    let mut seller = Subscribed::new();
    let (again, record) = seller.instance.subscribe(&seller.settings, QUEUE).unwrap();
    let again = again.unwrap();
    assert!(!again.created);
    assert_eq!(again.subscription_id, seller.subscription.subscription_id);
    assert_eq!(again.destination_id, seller.subscription.destination_id);
    let made: Vec<&str> = record
        .exchanges
        .iter()
        .filter(|e| e.method == "POST" && e.url.contains("/notifications/"))
        .map(|e| e.url.as_str())
        .collect();
    assert!(made.is_empty(), "{made:?}");
    let (refused, record) = seller
        .instance
        .subscribe(&seller.settings, "arn:aws:sns:us-east-1:1:topic")
        .unwrap();
    assert!(
        matches!(&refused, Err(wit::Error::InvalidInput(i)) if i.field == "queue-arn"),
        "{refused:?}"
    );
    assert!(record.exchanges.is_empty());
}

#[test]
fn a_refused_subscription_is_access_denied_and_polling_goes_on() {
    let (_, mut instance, _) = seller(0.0, Simulator::deny_notifications);
    let settings = Settings::simulated(US).to_wit();
    let (refused, _) = instance.subscribe(&settings, QUEUE).unwrap();
    assert!(
        matches!(refused, Err(wit::Error::AccessDenied(_))),
        "{refused:?}"
    );
    let (batch, _) = instance.import_orders(&settings, None).unwrap();
    assert_eq!(batch.unwrap().orders.len(), 30);
}

#[test]
fn one_message_ten_thousand_times_is_taken_once_and_traps_nothing() {
    let mut seller = Subscribed::new();
    let messages = seller.receive_next();
    let copies = vec![messages[0].clone(); 1_000];
    let mut taken = 0;
    for _ in 0..10 {
        let (result, _) = seller.take(&copies);
        assert_eq!(result.outcomes.len(), 1_000);
        taken += result
            .outcomes
            .iter()
            .filter(|o| matches!(o, wit::MessageOutcome::Taken))
            .count();
    }
    assert_eq!(taken, 1, "the other 9,999 are duplicates");
    // The instance is whole: the change is fetched as ever.
    let (batch, _) = seller.import();
    assert!(
        batch
            .orders
            .iter()
            .any(|o| o.order_id == order_id(&messages[0]))
    );
}

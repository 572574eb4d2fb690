//! The production HTTP path: the real component in wasmtime, its requests sent as
//! HTTP/1.1 over TLS to the simulator served on loopback (`test-host serve`), and
//! what a real network does to them: an untrusted certificate, an answer cut
//! mid-body, an answer that stalls. Each is a typed transport error, and the next
//! call loses nothing.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use test_host::amazon::network::serve::{NetworkFault, Server};
use test_host::amazon::network::{Network, Timeouts, tls};
use test_host::amazon::sim::Simulator;
use test_host::amazon::sim::world::{World, WorldSpec};
use test_host::drive::scenario::Settings;
use test_host::drive::simulate;
use test_host::embed::bindings as wit;
use test_host::embed::{ComponentInstance, SqliteStorage, VirtualClock};

const US: &str = "ATVPDKIKX0DER";

fn start() -> DateTime<Utc> {
    simulate::START.parse().unwrap()
}

/// The simulated store of `orders` orders both sides of each test read.
fn store(orders: usize, clock: &VirtualClock) -> Simulator {
    let world = World::generate(
        &WorldSpec {
            seed: 9,
            orders,
            ..WorldSpec::default()
        },
        start(),
    );
    Simulator::new(
        world,
        clock.clone(),
        vec![US.into()],
        chrono::Duration::milliseconds(100),
    )
}

/// A simulated store of `orders` orders, served on a loopback port; the server
/// misbehaves as `faults` say.
fn served(orders: usize, clock: &VirtualClock, faults: &[(u64, NetworkFault)]) -> Server {
    let mut server = Server::bind(0, Arc::new(Mutex::new(store(orders, clock))), None).unwrap();
    for (number, fault) in faults {
        server = server.with_fault(*number, *fault);
    }
    server
}

/// An instance whose requests cross the network to `server`, trusting `ca_pem`.
fn instance_for(
    server: Server,
    ca_pem: &str,
    timeouts: Timeouts,
    clock: &VirtualClock,
) -> ComponentInstance {
    let dir = std::env::temp_dir().join(format!(
        "test-host-network-{}-{}",
        std::process::id(),
        rand_suffix()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let ca = dir.join("ca.pem");
    std::fs::write(&ca, ca_pem).unwrap();
    let running = server.spawn();
    let base = url::Url::parse(&format!("https://{}", running.address)).unwrap();
    // The server lives as long as the test process.
    std::mem::forget(running);
    let network = Network::new(tls::client(Some(&ca)).unwrap(), Some(base), timeouts).unwrap();
    ComponentInstance::new(
        Arc::new(Mutex::new(network)),
        SqliteStorage::in_memory().unwrap(),
        clock.clone(),
    )
    .unwrap()
}

fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::SeqCst)
}

fn settings() -> wit::ConnectionSettings {
    Settings::simulated(US).to_wit()
}

/// Imports until Amazon has nothing more, as a host does; the orders held.
fn import_all(instance: &mut ComponentInstance, clock: &VirtualClock) -> (usize, Vec<String>) {
    let mut checkpoint: Option<String> = None;
    let mut held = std::collections::BTreeSet::new();
    let mut errors = Vec::new();
    for _ in 0..200 {
        let (result, _) = instance
            .import_orders(&settings(), checkpoint.as_deref())
            .unwrap();
        match result {
            Ok(batch) => {
                held.extend(batch.orders.iter().map(|o| o.order_id.clone()));
                checkpoint = Some(batch.checkpoint.clone());
                let next = test_host::embed::time(&batch.next_call_after);
                clock.set(clock.now().max(next));
                if !batch.more {
                    break;
                }
            }
            Err(error) => {
                errors.push(format!("{error:?}"));
                clock.set(clock.now() + chrono::Duration::seconds(60));
            }
        }
    }
    (held.len(), errors)
}

#[test]
fn an_import_over_https_reads_every_order_as_in_process() {
    let clock = VirtualClock::new(start());
    let server = served(250, &clock, &[]);
    let ca = server.ca_pem().to_owned();
    let mut instance = instance_for(server, &ca, Timeouts::default(), &clock);
    let (result, _) = instance.connect(&settings()).unwrap();
    assert!(result.is_ok(), "{result:?}");
    let (held, errors) = import_all(&mut instance, &clock);
    assert_eq!(errors, Vec::<String>::new());
    // The simulated world's merchant-fulfilled orders of the store's window.
    let in_process = in_process_import(250);
    assert_eq!(held, in_process);
    assert!(held > 100, "{held}");
}

/// The same store imported with no network between.
fn in_process_import(orders: usize) -> usize {
    let clock = VirtualClock::new(start());
    let mut instance = ComponentInstance::new(
        Arc::new(Mutex::new(store(orders, &clock))),
        SqliteStorage::in_memory().unwrap(),
        clock.clone(),
    )
    .unwrap();
    import_all(&mut instance, &clock).0
}

#[test]
fn a_server_the_host_does_not_trust_is_a_certificate_error() {
    let clock = VirtualClock::new(start());
    let server = served(5, &clock, &[]);
    // Another authority than the server's.
    let stranger = tls::LoopbackTls::generate().unwrap().ca_pem;
    let mut instance = instance_for(server, &stranger, Timeouts::default(), &clock);
    let (result, record) = instance.connect(&settings()).unwrap();
    match result {
        Err(wit::Error::Transport(reason)) => {
            assert!(reason.contains("TlsCertificateError"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
    assert!(
        record.failures.iter().any(|f| f.contains("certificate")),
        "{:?}",
        record.failures
    );
}

#[test]
fn an_answer_cut_mid_body_or_stalled_is_a_transport_error_and_loses_nothing() {
    let clock = VirtualClock::new(start());
    // Connecting makes three requests; from the fourth the import: its first
    // page is cut, and the next requests (a retried page, a product) stall past
    // the timeout.
    let stall = NetworkFault::Stall(Duration::from_millis(1500));
    let server = served(
        250,
        &clock,
        &[(4, NetworkFault::CutMidBody), (5, stall), (6, stall)],
    );
    let ca = server.ca_pem().to_owned();
    let timeouts = Timeouts {
        first_byte: Duration::from_millis(300),
        ..Timeouts::default()
    };
    let mut instance = instance_for(server, &ca, timeouts, &clock);
    let (result, _) = instance.connect(&settings()).unwrap();
    assert!(result.is_ok(), "{result:?}");
    let (held, errors) = import_all(&mut instance, &clock);
    assert_eq!(
        held,
        in_process_import(250),
        "every order, after the faults"
    );
    let joined = errors.join(" ");
    assert!(
        joined.contains("HttpResponseIncomplete") || joined.contains("ConnectionTerminated"),
        "{errors:?}"
    );
    assert!(joined.contains("HttpResponseTimeout"), "{errors:?}");
}

/// The session of the fixture at `path`, its exchanges `har` served strictly
/// over HTTPS, replayed across the network.
fn replayed_over_network(
    path: &std::path::Path,
    har: test_host::amazon::har::Har,
) -> test_host::drive::scenario::RunReport {
    let replay = test_host::amazon::replay::Replay::from_har(har).unwrap();
    let server = Server::bind(0, Arc::new(Mutex::new(replay)), None).unwrap();
    let client = tls::client_trusting(server.ca_pem()).unwrap();
    let running = server.spawn();
    let base = url::Url::parse(&format!("https://{}", running.address)).unwrap();
    let network = Network::new(client, Some(base), Timeouts::default()).unwrap();
    test_host::drive::scenario::Session::from_file(path)
        .unwrap()
        .run_over(
            SqliteStorage::in_memory().unwrap(),
            Arc::new(Mutex::new(network)),
        )
        .unwrap()
}

fn har_of(path: &std::path::Path) -> test_host::amazon::har::Har {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn every_fixture_replays_strictly_across_the_network() {
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures");
    let mut replayed = 0;
    for entry in std::fs::read_dir(&fixtures).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "har") {
            continue;
        }
        let report = replayed_over_network(&path, har_of(&path));
        assert!(
            report.passed(),
            "{}: {:#?}",
            path.display(),
            report.problems
        );
        assert_eq!(
            report.exchanges_used,
            report.exchanges_recorded,
            "{}",
            path.display()
        );
        replayed += 1;
    }
    assert!(replayed > 20, "{replayed} fixtures");
}

#[test]
fn a_replay_across_the_network_is_strict() {
    // The demo's recording, served with one exchange too many: the replay says so.
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/demo.har");
    let mut har = har_of(&path);
    let extra = har.log.entries[1].clone();
    har.log.entries.push(extra);
    let report = replayed_over_network(&path, har);
    assert!(!report.passed());
    assert_eq!(report.exchanges_used + 1, report.exchanges_recorded);
}

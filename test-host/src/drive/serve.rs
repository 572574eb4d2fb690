//! `test-host serve`: an Amazon on loopback over real HTTPS, until stopped. The
//! simulator (a world as `simulate` makes it, starting now, its clock following
//! the wall clock) or a recording answered strictly. `--cert-out DIR` writes the
//! fresh authority a client trusts (`ca.pem`) and the simulated seller's
//! placeholder settings (`settings.json`), so `test-host live --settings
//! DIR/settings.json --amazon https://127.0.0.1:PORT --ca-cert DIR/ca.pem`
//! connects to it.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result};

use crate::amazon::Amazon;
use crate::amazon::network::serve::Server;
use crate::amazon::replay::Replay;
use crate::drive::live::settings;
use crate::drive::scenario::{Session, Settings};
use crate::drive::simulate;
use crate::embed::VirtualClock;
use crate::embed::clock::wall_now;
use crate::embed::runtime::bindings as wit;

/// What to serve, and where.
pub struct ServeOptions {
    /// The simulated world (when there is no recording).
    pub simulate: simulate::Options,
    /// Answer strictly from this recording instead.
    pub recording: Option<PathBuf>,
    /// The loopback port (0: any free one).
    pub port: u16,
    /// Write `ca.pem` and `settings.json` here.
    pub cert_out: Option<PathBuf>,
}

/// Serves until the process is stopped. The first line on stdout is the base
/// URL, once the port is bound.
pub fn run(options: ServeOptions) -> Result<()> {
    let (amazon, clock, settings): (Arc<Mutex<dyn Amazon>>, _, _) = match &options.recording {
        Some(path) => {
            let session = Session::from_file(path)?;
            let replay = Replay::from_file(path)?;
            (
                Arc::new(Mutex::new(replay)),
                None,
                session.scenario.settings.to_wit(),
            )
        }
        None => {
            let clock = VirtualClock::new(wall_now());
            let amazon = simulate::amazon_at(&options.simulate, clock.now(), &clock);
            (
                Arc::new(Mutex::new(amazon)),
                Some(clock),
                simulated_settings(&options.simulate),
            )
        }
    };
    let server = Server::bind(options.port, amazon, clock)?.verbose();
    if let Some(dir) = &options.cert_out {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        std::fs::write(dir.join("ca.pem"), server.ca_pem())?;
        let text = serde_json::to_string_pretty(&settings::to_json(&settings))?;
        std::fs::write(dir.join("settings.json"), text)?;
    }
    println!("https://{}", server.address());
    use std::io::Write as _;
    std::io::stdout().flush()?;
    server.run()
}

/// The simulated seller's connection: its marketplaces, placeholder credentials.
fn simulated_settings(options: &simulate::Options) -> wit::ConnectionSettings {
    let first = options
        .marketplaces
        .first()
        .map_or("ATVPDKIKX0DER", String::as_str);
    let mut settings = Settings {
        import_fba_orders: options.fba,
        japan_kanji_addresses: true,
        ..Settings::simulated(first)
    }
    .to_wit();
    let template = settings.sources[0].clone();
    for marketplace in options.marketplaces.iter().skip(1) {
        settings.sources.push(wit::SourceSettings {
            marketplace_id: marketplace.clone(),
            ..template.clone()
        });
    }
    settings
}

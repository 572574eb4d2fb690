//! Any [`Amazon`] as an HTTPS server on loopback: `test-host serve`. A request
//! names the Amazon host it meant in its `Host` header (a client sent with
//! `--amazon`), so the served Amazon sees the URL the component asked for. A
//! request the Amazon has no answer to (a strict replay without its recording)
//! gets its connection closed, as a network that loses it would.
//!
//! [`NetworkFault`]s make the server misbehave at chosen requests, as real
//! networks do: an answer cut in the middle of its body, or one that stalls.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Frame;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use super::tls::LoopbackTls;
use crate::amazon::{Amazon, Request, Response};
use crate::embed::VirtualClock;
use crate::embed::clock::wall_now;
use crate::embed::sandbox::MAX_REQUEST_BODY;

/// How the server misbehaves at a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetworkFault {
    /// The connection breaks after half of the body.
    CutMidBody,
    /// The answer's head waits this long.
    Stall(Duration),
}

/// What the server shares between connections.
struct Shared {
    amazon: Arc<Mutex<dyn Amazon>>,
    clock: Option<VirtualClock>,
    requests: AtomicU64,
    faults: BTreeMap<u64, NetworkFault>,
    /// Faults that happened (a request reached its number).
    fired: AtomicU64,
    /// Say on stderr which requests got no answer (the `serve` command).
    verbose: bool,
}

/// A server serving on a thread of its own; dropping it stops the server.
pub struct Running {
    /// Where it listens.
    pub address: SocketAddr,
    shared: Arc<Shared>,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl Running {
    /// How many network faults happened so far.
    pub fn faults_fired(&self) -> u64 {
        self.shared.fired.load(Ordering::SeqCst)
    }
}

/// A server bound to a loopback port, not yet serving.
pub struct Server {
    listener: std::net::TcpListener,
    tls: LoopbackTls,
    shared: Arc<Shared>,
}

impl Server {
    /// Binds `127.0.0.1:port` (0 for any free port) to serve `amazon`, with a
    /// fresh certificate authority. With `clock`, the served Amazon's clock
    /// follows the wall clock (never backwards) at each request.
    pub fn bind(
        port: u16,
        amazon: Arc<Mutex<dyn Amazon>>,
        clock: Option<VirtualClock>,
    ) -> anyhow::Result<Self> {
        let listener = std::net::TcpListener::bind(("127.0.0.1", port))?;
        listener.set_nonblocking(true)?;
        Ok(Self {
            listener,
            tls: LoopbackTls::generate()?,
            shared: Arc::new(Shared {
                amazon,
                clock,
                requests: AtomicU64::new(0),
                faults: BTreeMap::new(),
                fired: AtomicU64::new(0),
                verbose: false,
            }),
        })
    }

    /// Says on stderr which requests the served Amazon had no answer to.
    pub fn verbose(mut self) -> Self {
        if let Some(shared) = Arc::get_mut(&mut self.shared) {
            shared.verbose = true;
        }
        self
    }

    /// Misbehaves with `fault` at the `number`th request (from 1).
    pub fn with_fault(mut self, number: u64, fault: NetworkFault) -> Self {
        if let Some(shared) = Arc::get_mut(&mut self.shared) {
            shared.faults.insert(number, fault);
        }
        self
    }

    /// The address it listens on.
    pub fn address(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    /// The authority a client trusts, PEM.
    pub fn ca_pem(&self) -> &str {
        &self.tls.ca_pem
    }

    /// Serves until the process ends.
    pub fn run(self) -> anyhow::Result<()> {
        let (_keep, stop) = tokio::sync::oneshot::channel();
        self.run_until(stop)
    }

    fn run_until(self, stop: tokio::sync::oneshot::Receiver<()>) -> anyhow::Result<()> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?;
        runtime.block_on(self.accept(stop))
    }

    /// Serves on a thread of its own until the returned handle is dropped.
    pub fn spawn(self) -> Running {
        let address = self.address();
        let shared = self.shared.clone();
        let (stop, stopped) = tokio::sync::oneshot::channel();
        std::thread::spawn(move || {
            if let Err(e) = self.run_until(stopped) {
                eprintln!("serve: {e:#}");
            }
        });
        Running {
            address,
            shared,
            _stop: stop,
        }
    }

    async fn accept(self, mut stop: tokio::sync::oneshot::Receiver<()>) -> anyhow::Result<()> {
        let listener = TcpListener::from_std(self.listener)?;
        let acceptor = tokio_rustls::TlsAcceptor::from(self.tls.server.clone());
        loop {
            let (tcp, _) = tokio::select! {
                accepted = listener.accept() => accepted?,
                _ = &mut stop => return Ok(()),
            };
            let acceptor = acceptor.clone();
            let shared = self.shared.clone();
            tokio::spawn(async move {
                // A client that fails the handshake (it does not trust us) is its
                // own error; the server carries on.
                let Ok(stream) = acceptor.accept(tcp).await else {
                    return;
                };
                let service = hyper::service::service_fn(move |request| {
                    let shared = shared.clone();
                    async move { answer(&shared, request).await }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    }
}

type Body = http_body_util::combinators::BoxBody<Bytes, std::io::Error>;

/// One request, answered by the served Amazon (or not, as a fault or a missing
/// recording says).
async fn answer(
    shared: &Shared,
    request: hyper::Request<hyper::body::Incoming>,
) -> Result<hyper::Response<Body>, std::io::Error> {
    if request.uri().path() == FINISH_PATH {
        return Ok(finished(shared));
    }
    let number = shared.requests.fetch_add(1, Ordering::SeqCst) + 1;
    let (parts, body) = request.into_parts();
    let body = http_body_util::Limited::new(body, MAX_REQUEST_BODY)
        .collect()
        .await
        .map_err(|e| std::io::Error::other(e.to_string()))?
        .to_bytes();
    let host = parts
        .headers
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1")
        .to_owned();
    let path = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    let url = format!("https://{host}{path}");
    let mut asked = Request::from_parts(&parts, body.to_vec());
    asked.url = url;
    asked
        .headers
        .retain(|(k, _)| !k.eq_ignore_ascii_case("host"));
    let answered = {
        let mut amazon = shared.amazon.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(clock) = &shared.clock {
            clock.set(clock.now().max(wall_now()));
        }
        amazon.respond(&asked)
    };
    let response = match answered {
        Ok(response) => response,
        Err(no_answer) => {
            if shared.verbose {
                eprintln!(
                    "serve: no answer to {} {}: {no_answer}",
                    asked.method, asked.url
                );
            }
            return Err(std::io::Error::other("no answer"));
        }
    };
    let fault = shared.faults.get(&number);
    if fault.is_some() {
        shared.fired.fetch_add(1, Ordering::SeqCst);
    }
    match fault {
        Some(NetworkFault::Stall(pause)) => tokio::time::sleep(*pause).await,
        Some(NetworkFault::CutMidBody) => return Ok(cut(response)),
        None => {}
    }
    Ok(whole(response))
}

/// The one path the server answers itself: a replay's account of its
/// recordings, so a client across the network knows the replay was strict.
pub const FINISH_PATH: &str = "/_test-host/finish";

fn finished(shared: &Shared) -> hyper::Response<Body> {
    let finished = shared
        .amazon
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .finish();
    match finished {
        Some(finished) => whole(Response::json(200, &serde_json::json!(finished))),
        None => whole(Response::json(404, &serde_json::json!({"replay": false}))),
    }
}

fn head(response: &Response) -> http::response::Builder {
    let mut head = hyper::Response::builder().status(response.status);
    for (name, value) in &response.headers {
        if !name.eq_ignore_ascii_case("content-length") {
            head = head.header(name, value);
        }
    }
    head
}

fn whole(response: Response) -> hyper::Response<Body> {
    let head = head(&response);
    let body = Full::new(Bytes::from(response.body))
        .map_err(|never| match never {})
        .boxed();
    head.body(body).unwrap_or_else(|_| broken())
}

/// The head and half the body, then the connection breaks.
fn cut(response: Response) -> hyper::Response<Body> {
    let head = head(&response).header(http::header::CONTENT_LENGTH, response.body.len());
    let half = Bytes::copy_from_slice(&response.body[..response.body.len() / 2]);
    head.body(BodyExt::boxed(CutBody(Some(half))))
        .unwrap_or_else(|_| broken())
}

/// A body that sends its bytes, then fails as a reset connection does.
struct CutBody(Option<Bytes>);

impl hyper::body::Body for CutBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        std::task::Poll::Ready(Some(match self.0.take() {
            Some(half) => Ok(Frame::data(half)),
            None => Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionReset,
                "cut mid-body (injected)",
            )),
        }))
    }
}

fn broken() -> hyper::Response<Body> {
    let mut response = hyper::Response::new(
        Full::new(Bytes::new())
            .map_err(|never| match never {})
            .boxed(),
    );
    *response.status_mut() = http::StatusCode::BAD_GATEWAY;
    response
}

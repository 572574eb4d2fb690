//! The real network: the component's requests sent as HTTP/1.1 over TLS, with
//! the host's timeouts per call, to Amazon's own hosts or, with `--amazon URL`,
//! every Amazon host to one base URL (a local Amazon such as `test-host serve`,
//! which learns which host was meant from the `Host` header). [`serve`] is the
//! other end: any [`Amazon`] as an HTTPS server on loopback.

pub mod serve;
pub mod tls;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use url::Url;

use super::{Amazon, NoAnswer, Request, Response};
use crate::embed::VirtualClock;
use crate::embed::clock::wall_now;
use crate::embed::sandbox::MAX_RESPONSE_BODY;

/// How long the host waits, per call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// For the connection and the TLS handshake.
    pub connect: Duration,
    /// From the request to the answer's head.
    pub first_byte: Duration,
    /// Between two pieces of the answer's body.
    pub between_bytes: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            connect: Duration::from_secs(10),
            first_byte: Duration::from_secs(60),
            between_bytes: Duration::from_secs(30),
        }
    }
}

/// An open connection, kept for the next request to the same place.
type Sender = hyper::client::conn::http1::SendRequest<Full<Bytes>>;

/// Where a request goes on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Target {
    /// Connect here (and check the certificate is this host's).
    host: String,
    port: u16,
    /// TLS on the wire (https); plain http only to a loopback `--amazon`.
    tls: bool,
    /// The `Host` header: the Amazon host the component asked for.
    authority: String,
    path_and_query: String,
}

/// An [`Amazon`] across the network.
pub struct Network {
    runtime: tokio::runtime::Runtime,
    tls: Arc<rustls::ClientConfig>,
    /// Every Amazon host goes to this base instead (`--amazon`).
    redirect: Option<Url>,
    timeouts: Timeouts,
    /// Moved to the wall clock's time around each exchange.
    clock: Option<VirtualClock>,
    /// The last connection (keep-alive), and where it goes.
    open: Option<((String, u16, bool), Sender)>,
}

impl Network {
    /// A client with `tls`, sending to Amazon's hosts or, with `redirect`, to
    /// that base URL.
    pub fn new(
        tls: Arc<rustls::ClientConfig>,
        redirect: Option<Url>,
        timeouts: Timeouts,
    ) -> anyhow::Result<Self> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("test-host-network")
            .enable_all()
            .build()?;
        Ok(Self {
            runtime,
            tls,
            redirect,
            timeouts,
            clock: None,
            open: None,
        })
    }

    /// Keeps `clock` at the wall clock's time (never backwards) around each
    /// exchange, so the component's pacing sees real time pass.
    pub fn keep_clock(mut self, clock: VirtualClock) -> Self {
        self.clock = Some(clock);
        self
    }

    fn tick(&self) {
        if let Some(clock) = &self.clock {
            clock.set(clock.now().max(wall_now()));
        }
    }

    fn target(&self, url: &str) -> Result<Target, NoAnswer> {
        let asked = Url::parse(url).map_err(|_| NoAnswer::Lost("the URL does not parse".into()))?;
        let authority = match (asked.host_str(), asked.port()) {
            (Some(host), Some(port)) => format!("{host}:{port}"),
            (Some(host), None) => host.to_owned(),
            (None, _) => return Err(NoAnswer::Lost("the URL names no host".into())),
        };
        let path_and_query = match asked.query() {
            Some(query) => format!("{}?{query}", asked.path()),
            None => asked.path().to_owned(),
        };
        let on_wire = self.redirect.as_ref().unwrap_or(&asked);
        Ok(Target {
            host: on_wire.host_str().unwrap_or_default().to_owned(),
            port: on_wire.port_or_known_default().unwrap_or(443),
            tls: on_wire.scheme() == "https",
            authority,
            path_and_query,
        })
    }
}

impl Amazon for Network {
    fn respond(&mut self, request: &Request) -> Result<Response, NoAnswer> {
        self.tick();
        let target = self.target(&request.url)?;
        let place = (target.host.clone(), target.port, target.tls);
        let open = match self.open.take() {
            Some((to, sender)) if to == place && !sender.is_closed() => Some(sender),
            _ => None,
        };
        let (done, answer) = std::sync::mpsc::channel();
        let exchange = exchange(
            self.tls.clone(),
            target,
            request.clone(),
            self.timeouts,
            open,
        );
        // The caller may be inside another runtime (wasmtime's): the exchange runs
        // on this client's own and the caller waits for it.
        self.runtime.spawn(async move {
            let _ = done.send(exchange.await);
        });
        let (answer, open) = answer
            .recv()
            .unwrap_or_else(|_| (Err(NoAnswer::Lost("the network task ended".into())), None));
        self.open = open.map(|sender| (place, sender));
        self.tick();
        answer
    }

    /// What a replay served at the `--amazon` base says of its recordings.
    fn finish(&mut self) -> Option<super::Finished> {
        let base = self.redirect.as_ref()?.clone();
        let url = base.join(serve::FINISH_PATH).ok()?;
        let asked = Request {
            method: "GET".into(),
            url: url.to_string(),
            ..Request::default()
        };
        let answer = self.respond(&asked).ok()?;
        (answer.status == 200)
            .then(|| serde_json::from_slice(&answer.body).ok())
            .flatten()
    }
}

/// One request and its whole answer, over `open` when it is still usable or a
/// fresh connection; the connection comes back when it can carry another.
async fn exchange(
    tls: Arc<rustls::ClientConfig>,
    target: Target,
    request: Request,
    timeouts: Timeouts,
    open: Option<Sender>,
) -> (Result<Response, NoAnswer>, Option<Sender>) {
    let open = match open {
        Some(mut sender) => sender.ready().await.is_ok().then_some(sender),
        None => None,
    };
    let mut sender = match open {
        Some(sender) => sender,
        None => match connect(tls, &target, timeouts).await {
            Ok(sender) => sender,
            Err(no_answer) => return (Err(no_answer), None),
        },
    };
    let answer = send(&mut sender, &target, request, timeouts).await;
    // A connection that failed mid-answer is not used again.
    let reusable = answer.is_ok() && !sender.is_closed();
    (answer, reusable.then_some(sender))
}

/// A new connection to `target`, within the connect timeout.
async fn connect(
    tls: Arc<rustls::ClientConfig>,
    target: &Target,
    timeouts: Timeouts,
) -> Result<Sender, NoAnswer> {
    let connect = async {
        let tcp = TcpStream::connect((target.host.as_str(), target.port))
            .await
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::ConnectionRefused => NoAnswer::Refused,
                kind => NoAnswer::Lost(format!("connecting to {}: {kind}", target.host)),
            })?;
        if !target.tls {
            return handshake(tcp).await;
        }
        let name = rustls::pki_types::ServerName::try_from(target.host.clone())
            .map_err(|_| NoAnswer::Tls(format!("{} is not a TLS server name", target.host)))?;
        let stream = tokio_rustls::TlsConnector::from(tls)
            .connect(name, tcp)
            .await
            .map_err(tls_error)?;
        handshake(stream).await
    };
    tokio::time::timeout(timeouts.connect, connect)
        .await
        .map_err(|_| NoAnswer::ConnectTimeout)?
}

/// `request` over `sender`, its whole answer within the timeouts.
async fn send(
    sender: &mut Sender,
    target: &Target,
    request: Request,
    timeouts: Timeouts,
) -> Result<Response, NoAnswer> {
    let mut outgoing = hyper::Request::builder()
        .method(request.method.as_str())
        .uri(target.path_and_query.as_str())
        .header(http::header::HOST, target.authority.as_str());
    for (name, value) in &request.headers {
        if !name.eq_ignore_ascii_case("host") {
            outgoing = outgoing.header(name, value);
        }
    }
    let outgoing = outgoing
        .body(Full::new(Bytes::from(request.body)))
        .map_err(|e| NoAnswer::Lost(format!("the request is not valid HTTP: {e}")))?;
    let response = tokio::time::timeout(timeouts.first_byte, sender.send_request(outgoing))
        .await
        .map_err(|_| NoAnswer::FirstByteTimeout)?
        .map_err(|e| NoAnswer::Incomplete(e.to_string()))?;
    let (head, mut body) = response.into_parts();
    let mut bytes = Vec::new();
    loop {
        match tokio::time::timeout(timeouts.between_bytes, body.frame()).await {
            Err(_) => return Err(NoAnswer::BetweenBytesTimeout),
            Ok(None) => break,
            Ok(Some(Err(e))) => return Err(NoAnswer::Incomplete(e.to_string())),
            Ok(Some(Ok(frame))) => {
                if let Ok(data) = frame.into_data() {
                    bytes.extend_from_slice(&data);
                }
                if bytes.len() > MAX_RESPONSE_BODY {
                    return Err(NoAnswer::TooLarge(bytes.len() as u64));
                }
            }
        }
    }
    Ok(Response {
        status: head.status.as_u16(),
        headers: super::header_pairs(&head.headers),
        body: bytes,
    })
}

/// HTTP/1.1 over `stream`, its connection driven in the background.
async fn handshake<S>(
    stream: S,
) -> Result<hyper::client::conn::http1::SendRequest<Full<Bytes>>, NoAnswer>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| NoAnswer::Incomplete(format!("the HTTP handshake: {e}")))?;
    tokio::spawn(connection);
    Ok(sender)
}

/// A failed handshake: the certificate refused, or TLS itself.
fn tls_error(error: std::io::Error) -> NoAnswer {
    match error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    {
        Some(rustls::Error::InvalidCertificate(why)) => NoAnswer::Certificate(format!("{why:?}")),
        Some(other) => NoAnswer::Tls(other.to_string()),
        None => NoAnswer::Tls(error.kind().to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn network(redirect: Option<&str>) -> Network {
        let tls = tls::client(None).unwrap();
        Network::new(
            tls,
            redirect.map(|u| Url::parse(u).unwrap()),
            Timeouts::default(),
        )
        .unwrap()
    }

    #[test]
    fn amazon_s_hosts_are_reached_as_named_or_all_at_one_base() {
        let url =
            "https://sellingpartnerapi-na.amazon.com/orders/2026-01-01/orders?marketplaceIds=A";
        let direct = network(None).target(url).unwrap();
        assert_eq!(
            (direct.host.as_str(), direct.port, direct.authority.as_str()),
            (
                "sellingpartnerapi-na.amazon.com",
                443,
                "sellingpartnerapi-na.amazon.com"
            )
        );
        assert_eq!(
            direct.path_and_query,
            "/orders/2026-01-01/orders?marketplaceIds=A"
        );
        let local = network(Some("https://127.0.0.1:8443")).target(url).unwrap();
        assert_eq!((local.host.as_str(), local.port), ("127.0.0.1", 8443));
        assert_eq!(
            local.authority, "sellingpartnerapi-na.amazon.com",
            "the Host header"
        );
        assert_eq!(local.path_and_query, direct.path_and_query);
    }
}

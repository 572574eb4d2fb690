//! TLS for both ends of the real network: the host's client (the system's roots,
//! or one certificate authority the caller trusts instead) and `serve`'s
//! loopback server, whose authority rcgen makes fresh for each run.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{ClientConfig, RootCertStore, ServerConfig};

/// The one crypto provider the host is built with: ring, which builds from the
/// registries with a C compiler alone (aws-lc-rs, the provider rustls now
/// prefers for its post-quantum key exchange, needs cmake and minutes more).
fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    #[allow(deprecated)]
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A client that trusts only the authority `ca_pem` (a loopback server's).
pub fn client_trusting(ca_pem: &str) -> Result<Arc<ClientConfig>> {
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        roots.add(cert.context("the authority is not PEM")?)?;
    }
    config(roots)
}

/// A client that trusts the authority in the PEM file `ca_cert`, or else the
/// system's roots.
pub fn client(ca_cert: Option<&Path>) -> Result<Arc<ClientConfig>> {
    let mut roots = RootCertStore::empty();
    match ca_cert {
        Some(path) => {
            let certs = CertificateDer::pem_file_iter(path)
                .with_context(|| format!("reading the certificate file {}", path.display()))?;
            for cert in certs {
                let cert = cert.with_context(|| format!("{} is not PEM", path.display()))?;
                roots
                    .add(cert)
                    .with_context(|| format!("{} holds no usable certificate", path.display()))?;
            }
        }
        None => {
            let found = rustls_native_certs::load_native_certs();
            let (added, _) = roots.add_parsable_certificates(found.certs);
            anyhow::ensure!(
                added > 0,
                "the system has no root certificates ({} errors)",
                found.errors.len()
            );
        }
    }
    config(roots)
}

fn config(roots: RootCertStore) -> Result<Arc<ClientConfig>> {
    let config = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// A loopback server's TLS: a fresh authority and a certificate it signed for
/// `127.0.0.1`, `::1` and `localhost`.
pub struct LoopbackTls {
    /// The authority's certificate, PEM: what a client trusts (`--ca-cert`).
    pub ca_pem: String,
    /// The server's side.
    pub server: Arc<ServerConfig>,
}

impl LoopbackTls {
    /// A new authority and server certificate.
    pub fn generate() -> Result<Self> {
        use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
        let ca_key = KeyPair::generate()?;
        let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "test-host serve (loopback only)");
        let ca = ca_params.self_signed(&ca_key)?;
        let issuer = Issuer::new(ca_params, ca_key);
        let server_key = KeyPair::generate()?;
        let server_params = CertificateParams::new(vec![
            "127.0.0.1".to_owned(),
            "::1".to_owned(),
            "localhost".to_owned(),
        ])?;
        let server_cert = server_params.signed_by(&server_key, &issuer)?;
        let key = PrivateKeyDer::from_pem_slice(server_key.serialize_pem().as_bytes())
            .context("the server key")?;
        let server = ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(vec![server_cert.der().clone()], key)?;
        Ok(Self {
            ca_pem: ca.pem(),
            server: Arc::new(server),
        })
    }
}

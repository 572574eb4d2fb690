//! What the component needs from its host, as one small trait. The wasm adapter
//! implements it over WASI; native tests implement it with a scripted fake.

use chrono::{DateTime, Utc};
use serde::{Serialize, de::DeserializeOwned};

use crate::error::{Error, describe_json_error};

/// An HTTP request with its whole body.
pub type HttpRequest = http::Request<Vec<u8>>;
/// An HTTP response with its whole body.
pub type HttpResponse = http::Response<Vec<u8>>;

/// HTTP, storage and time, as the host provides them.
pub trait Host {
    /// Sends one request and returns the whole response (any status). `Err` only when
    /// no response arrived (connection, timeout, TLS), described without secrets.
    fn send(&self, request: HttpRequest) -> Result<HttpResponse, String>;
    /// The host's wall clock.
    fn now(&self) -> DateTime<Utc>;
    /// Reads a value; `Ok(None)` when the key is absent.
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, String>;
    /// Writes a value, replacing any earlier one.
    fn set(&self, key: &str, value: &[u8]) -> Result<(), String>;
    /// Removes a key; absent keys are fine.
    fn delete(&self, key: &str) -> Result<(), String>;
}

/// Typed JSON access to the host's key-value store.
pub struct Store<'h> {
    host: &'h dyn Host,
}

impl<'h> Store<'h> {
    /// Wraps the host's store.
    pub fn new(host: &'h dyn Host) -> Self {
        Self { host }
    }

    /// Reads and decodes `key`. A value that no longer decodes (written by an older
    /// version, or damaged) is a storage error naming the key, not a panic.
    pub fn load<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, Error> {
        let Some(bytes) = self.host.get(key).map_err(Error::Storage)? else {
            return Ok(None);
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| Error::Storage(format!("{key}: {}", describe_json_error(&e))))
    }

    /// Encodes and writes `value` under `key`.
    pub fn save<T: Serialize>(&self, key: &str, value: &T) -> Result<(), Error> {
        let bytes = serde_json::to_vec(value).map_err(|e| Error::Storage(e.to_string()))?;
        self.host.set(key, &bytes).map_err(Error::Storage)
    }

    /// Removes `key`.
    pub fn remove(&self, key: &str) -> Result<(), Error> {
        self.host.delete(key).map_err(Error::Storage)
    }
}

//! Faults injected into any Amazon: at chosen requests, or at random from a seed,
//! so every failing run can be replayed.

use std::collections::BTreeMap;

use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};
use serde::Serialize;

use super::{Amazon, NoAnswer, Request, Response};

/// One thing that can go wrong with an exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Fault {
    /// Amazon answers 429 QuotaExceeded without looking at the bucket.
    Throttle,
    /// Amazon answers 500 InternalFailure.
    InternalError,
    /// Amazon answers 503 ServiceUnavailable.
    Unavailable,
    /// No answer: the request never reached Amazon.
    Timeout,
    /// Amazon handled the request but the answer was lost on the way back.
    LostResponse,
    /// The answer's body is cut in half.
    TruncatedBody,
}

impl Fault {
    /// Every fault, for random choice.
    pub const ALL: [Fault; 6] = [
        Fault::Throttle,
        Fault::InternalError,
        Fault::Unavailable,
        Fault::Timeout,
        Fault::LostResponse,
        Fault::TruncatedBody,
    ];
}

/// An Amazon with faults.
pub struct Faults<U> {
    inner: U,
    scheduled: BTreeMap<usize, Fault>,
    random: Option<(f64, Xoshiro256PlusPlus)>,
    requests: usize,
    injected: Vec<(usize, Fault)>,
}

impl<U: Amazon> Faults<U> {
    /// No faults yet.
    pub fn new(inner: U) -> Self {
        Self {
            inner,
            scheduled: BTreeMap::new(),
            random: None,
            requests: 0,
            injected: Vec::new(),
        }
    }

    /// `fault` on the `number`th request (1-based) from now on.
    pub fn at_request(mut self, number: usize, fault: Fault) -> Self {
        self.scheduled.insert(number, fault);
        self
    }

    /// `count` 429s in a row starting with request `from`.
    pub fn throttle_storm(mut self, from: usize, count: usize) -> Self {
        for number in from..from + count {
            self.scheduled.insert(number, Fault::Throttle);
        }
        self
    }

    /// A random fault on each request with probability `rate`, from `seed`.
    pub fn random(mut self, rate: f64, seed: u64) -> Self {
        self.random = Some((rate, Xoshiro256PlusPlus::seed_from_u64(seed)));
        self
    }

    /// The faults injected so far: (request number, fault).
    pub fn injected(&self) -> &[(usize, Fault)] {
        &self.injected
    }

    /// The wrapped Amazon.
    pub fn inner(&self) -> &U {
        &self.inner
    }

    /// The wrapped Amazon, to change it between calls.
    pub fn inner_mut(&mut self) -> &mut U {
        &mut self.inner
    }
}

fn amazon_error(status: u16, code: &str, message: &str) -> Response {
    Response::json(
        status,
        &serde_json::json!({"errors": [{"code": code, "message": message}]}),
    )
    .with_header("x-amzn-RequestId", "00000000-0000-4000-8000-fa0170000000")
}

impl<U: Amazon> Amazon for Faults<U> {
    fn respond(&mut self, request: &Request) -> Result<Response, NoAnswer> {
        self.requests += 1;
        let number = self.requests;
        let fault = self.scheduled.remove(&number).or_else(|| {
            let (rate, rng) = self.random.as_mut()?;
            rng.random_bool(*rate)
                .then(|| Fault::ALL[rng.random_range(0..Fault::ALL.len())])
        });
        let Some(fault) = fault else {
            return self.inner.respond(request);
        };
        self.injected.push((number, fault));
        match fault {
            Fault::Throttle => Ok(amazon_error(
                429,
                "QuotaExceeded",
                "You exceeded your quota for the requested resource.",
            )),
            Fault::InternalError => Ok(amazon_error(
                500,
                "InternalFailure",
                "We encountered an internal error. Please try again.",
            )),
            Fault::Unavailable => Ok(amazon_error(
                503,
                "ServiceUnavailable",
                "Service temporarily unavailable. Please try again.",
            )),
            Fault::Timeout => Err(NoAnswer::FirstByteTimeout),
            Fault::LostResponse => {
                let _ = self.inner.respond(request);
                Err(NoAnswer::Incomplete(format!(
                    "the answer to request {number} was lost (injected)"
                )))
            }
            Fault::TruncatedBody => {
                let mut response = self.inner.respond(request)?;
                let half = response.body.len() / 2;
                response.body.truncate(half);
                Ok(response)
            }
        }
    }
}

//! The wasmtime embedding. The engine, linker and pre-instantiated component are
//! built once per process; each [`ComponentInstance`] is one component instance (one connected
//! store) with its own storage, clock and amazon.

use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use anyhow::Result;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use http_body_util::{BodyExt, Full};
use wasmtime::component::{Component, HasSelf, Linker, Resource, ResourceTable};
use wasmtime::{Config, Engine, Store};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiBody, WasiHttpCtx, WasiHttpCtxView, WasiHttpHooks, WasiHttpView};

pub use super::clock::VirtualClock;
use super::export_log::{ExportCall, ExportLog, json};
use super::kv::SqliteStorage;
use crate::amazon::{Amazon, NoAnswer, Request as AmazonRequest};

/// Host-side bindings of the component's world.
pub mod bindings {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "order-source",
        imports: { default: trappable },
        with: {
            "wasi:http": wasmtime_wasi_http::p2::bindings::http,
            "wasi:io": wasmtime_wasi::p2::bindings::io,
            "wasi:keyvalue/store.bucket": crate::embed::runtime::Bucket,
        },
        additional_derives: [serde::Serialize, serde::Deserialize],
        require_store_data_send: true,
    });

    // Every record and variant of the WIT in one namespace, whichever interface
    // declares it. Each interface re-declares the shared types it uses, so those
    // are named explicitly (an explicit name outranks the globs); each one's
    // `Guest` is reached through the instance instead.
    pub use exports::marketplace::amazon::types::{
        AmazonError, ConnectionSettings, Error, InvalidInput, Money,
    };
    #[allow(ambiguous_glob_reexports)]
    pub use exports::marketplace::amazon::{
        connection::*, order_events::*, orders::*, redaction::*, shipping::*, types::*,
    };
    pub use wasi::clocks::wall_clock::Datetime;
}

use bindings::wasi::keyvalue::store as kv;
use bindings::wasi::logging::logging;

/// A chrono time as a WIT datetime.
pub fn datetime(at: DateTime<Utc>) -> bindings::wasi::clocks::wall_clock::Datetime {
    bindings::wasi::clocks::wall_clock::Datetime {
        seconds: u64::try_from(at.timestamp()).unwrap_or(0),
        nanoseconds: at.timestamp_subsec_nanos(),
    }
}

/// A WIT datetime as chrono's (the epoch when out of chrono's range).
pub fn time(at: &bindings::wasi::clocks::wall_clock::Datetime) -> DateTime<Utc> {
    DateTime::from_timestamp(at.seconds as i64, at.nanoseconds).unwrap_or_default()
}

/// The component, built by the `built-component` crate and embedded so the binary
/// stands alone.
pub const COMPONENT: &[u8] = built_component::WASM;

/// One HTTP exchange as the host saw it (no headers, no bodies: nothing secret).
#[derive(Debug, Clone, serde::Serialize)]
pub struct Exchange {
    /// Method.
    pub method: String,
    /// Full URL.
    pub url: String,
    /// Status answered, or `None` when Amazon had no answer.
    pub status: Option<u16>,
}

/// One line the component logged through `wasi:logging`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LogLine {
    /// trace .. critical.
    pub level: String,
    /// The component's context string.
    pub context: String,
    /// The message.
    pub message: String,
}

/// Shared between the store and the caller: what happened during a call.
#[derive(Default)]
struct Journal {
    exchanges: Vec<Exchange>,
    /// Requests Amazon could not answer; any of these fails a replay.
    failures: Vec<String>,
}

/// Sends every outgoing request to the caller's Amazon instead of the network.
struct AmazonHooks {
    amazon: Arc<Mutex<dyn Amazon>>,
    journal: Arc<Mutex<Journal>>,
}

impl WasiHttpHooks for AmazonHooks {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        _options: Option<wasmtime_wasi_http::RequestOptions>,
        _fut: Box<dyn Future<Output = wasmtime_wasi_http::Result<()>> + Send>,
    ) -> Box<
        dyn Future<
                Output = wasmtime_wasi_http::Result<(
                    http::Response<WasiBody>,
                    Box<dyn Future<Output = wasmtime_wasi_http::Result<()>> + Send>,
                )>,
            > + Send,
    > {
        let amazon = self.amazon.clone();
        let journal = self.journal.clone();
        Box::new(async move {
            let (parts, body) = request.into_parts();
            let body = body.collect().await?.to_bytes();
            let recorded = AmazonRequest::from_parts(&parts, body.to_vec());
            // The sandbox: only Amazon's hosts, within the size limits.
            if let Some(reason) = crate::embed::sandbox::refuse(&recorded.url, recorded.body.len())
            {
                let mut journal = journal.lock().unwrap_or_else(|p| p.into_inner());
                journal.failures.push(format!("egress refused: {reason}"));
                return Err(wasmtime_wasi_http::Error::HttpRequestDenied);
            }
            let answer = amazon
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .respond(&recorded);
            let mut journal = journal.lock().unwrap_or_else(|p| p.into_inner());
            let mut exchange = Exchange {
                method: recorded.method.clone(),
                url: recorded.url.clone(),
                status: None,
            };
            let answer = match answer {
                Ok(answer) if answer.body.len() > crate::embed::sandbox::MAX_RESPONSE_BODY => {
                    let size = answer.body.len();
                    journal.exchanges.push(exchange);
                    journal.failures.push(format!(
                        "an answer of {size} bytes is over the {}-byte limit",
                        crate::embed::sandbox::MAX_RESPONSE_BODY
                    ));
                    return Err(wasmtime_wasi_http::Error::HttpResponseBodySize(Some(
                        size as u64,
                    )));
                }
                Ok(answer) => answer,
                Err(no_answer) => {
                    journal.exchanges.push(exchange);
                    journal.failures.push(no_answer.to_string());
                    return Err(error_code(no_answer));
                }
            };
            // The answer must be a valid HTTP response before it counts as one: an
            // impossible status or header is Amazon's failure, not an answer.
            let mut response = http::Response::builder().status(answer.status);
            for (name, value) in &answer.headers {
                response = response.header(name, value);
            }
            let body = Full::new(Bytes::from(answer.body))
                .map_err(|never| match never {})
                .boxed_unsync();
            let response = match response.body(body) {
                Ok(response) => response,
                Err(e) => {
                    let reason = format!(
                        "the answer to {} {} is not valid HTTP: {e}",
                        exchange.method, exchange.url
                    );
                    journal.exchanges.push(exchange);
                    journal.failures.push(reason.clone());
                    return Err(wasmtime_wasi_http::Error::InternalError(Some(reason)));
                }
            };
            exchange.status = Some(answer.status);
            journal.exchanges.push(exchange);
            let done: Box<dyn Future<Output = wasmtime_wasi_http::Result<()>> + Send> =
                Box::new(async { Ok(()) });
            Ok((response, done))
        })
    }
}

/// The `wasi:http` error code the component gets when no answer arrived.
fn error_code(no_answer: NoAnswer) -> wasmtime_wasi_http::Error {
    use wasmtime_wasi_http::Error as Code;
    match no_answer {
        NoAnswer::Lost(reason) => Code::InternalError(Some(reason)),
        NoAnswer::Refused => Code::ConnectionRefused,
        NoAnswer::ConnectTimeout => Code::ConnectionTimeout,
        NoAnswer::Certificate(_) => Code::TlsCertificateError,
        NoAnswer::Tls(_) => Code::TlsProtocolError,
        NoAnswer::FirstByteTimeout => Code::HttpResponseTimeout,
        NoAnswer::BetweenBytesTimeout => Code::ConnectionReadTimeout,
        NoAnswer::Incomplete(_) => Code::HttpResponseIncomplete,
        NoAnswer::TooLarge(size) => Code::HttpResponseBodySize(Some(size)),
    }
}

/// A `wasi:keyvalue` bucket handle: the bucket's name in the SQLite store.
pub struct Bucket {
    name: String,
}

/// The one state struct of a `Store`.
pub struct HostState {
    wasi: WasiCtx,
    http: WasiHttpCtx,
    table: ResourceTable,
    hooks: AmazonHooks,
    storage: SqliteStorage,
    logs: Vec<LogLine>,
    limits: Metered,
}

/// What one store instance may use, as a platform running third-party plugins
/// bounds each of them.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Linear memory, in bytes.
    pub memory_bytes: usize,
    /// Wall time one export call may run before it is interrupted.
    pub call_deadline: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            memory_bytes: 64 << 20,
            call_deadline: Duration::from_secs(60),
        }
    }
}

/// The instance's limits, and the most linear memory it ever asked for (what a
/// store costs a host).
struct Metered {
    limits: wasmtime::StoreLimits,
    peak_memory: usize,
}

impl wasmtime::ResourceLimiter for Metered {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let allowed = self.limits.memory_growing(current, desired, maximum)?;
        if allowed {
            self.peak_memory = self.peak_memory.max(desired);
        }
        Ok(allowed)
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        self.limits.table_growing(current, desired, maximum)
    }
}

/// The engine's epoch advances every tick; a call's deadline is counted in ticks.
const EPOCH_TICK: Duration = Duration::from_millis(10);

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for HostState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.hooks,
        }
    }
}

fn storage_error(error: crate::embed::kv::KvError) -> kv::Error {
    kv::Error::Other(error.to_string())
}

impl kv::Host for HostState {
    fn open(
        &mut self,
        identifier: String,
    ) -> wasmtime::Result<Result<Resource<Bucket>, kv::Error>> {
        // One bucket per instance: the host's default, named "".
        if !identifier.is_empty() {
            return Ok(Err(kv::Error::NoSuchStore));
        }
        Ok(Ok(self.table.push(Bucket { name: identifier })?))
    }
}

impl kv::HostBucket for HostState {
    fn get(
        &mut self,
        bucket: Resource<Bucket>,
        key: String,
    ) -> wasmtime::Result<Result<Option<Vec<u8>>, kv::Error>> {
        let name = &self.table.get(&bucket)?.name;
        Ok(self.storage.get(name, &key).map_err(storage_error))
    }

    fn set(
        &mut self,
        bucket: Resource<Bucket>,
        key: String,
        value: Vec<u8>,
    ) -> wasmtime::Result<Result<(), kv::Error>> {
        let name = &self.table.get(&bucket)?.name;
        Ok(self.storage.set(name, &key, &value).map_err(storage_error))
    }

    fn delete(
        &mut self,
        bucket: Resource<Bucket>,
        key: String,
    ) -> wasmtime::Result<Result<(), kv::Error>> {
        let name = &self.table.get(&bucket)?.name;
        Ok(self.storage.delete(name, &key).map_err(storage_error))
    }

    fn exists(
        &mut self,
        bucket: Resource<Bucket>,
        key: String,
    ) -> wasmtime::Result<Result<bool, kv::Error>> {
        let name = &self.table.get(&bucket)?.name;
        Ok(self.storage.exists(name, &key).map_err(storage_error))
    }

    fn list_keys(
        &mut self,
        bucket: Resource<Bucket>,
        cursor: Option<u64>,
    ) -> wasmtime::Result<Result<kv::KeyResponse, kv::Error>> {
        const PAGE: usize = 1000;
        let name = &self.table.get(&bucket)?.name;
        Ok(self
            .storage
            .list_keys(name, cursor, PAGE)
            .map(|(keys, cursor)| kv::KeyResponse { keys, cursor })
            .map_err(storage_error))
    }

    fn drop(&mut self, bucket: Resource<Bucket>) -> wasmtime::Result<()> {
        self.table.delete(bucket)?;
        Ok(())
    }
}

impl logging::Host for HostState {
    fn log(
        &mut self,
        level: logging::Level,
        context: String,
        message: String,
    ) -> wasmtime::Result<()> {
        self.logs.push(LogLine {
            level: match level {
                logging::Level::Trace => "trace",
                logging::Level::Debug => "debug",
                logging::Level::Info => "info",
                logging::Level::Warn => "warn",
                logging::Level::Error => "error",
                logging::Level::Critical => "critical",
            }
            .to_owned(),
            context,
            message,
        });
        Ok(())
    }
}

/// How an engine gives instances their memory.
#[derive(Debug, Clone, Copy)]
pub enum Allocation {
    /// Each instance maps its own memory when it starts (wasmtime's default).
    OnDemand,
    /// Slots for `instances` live instances, each of at most `memory_bytes`, mapped
    /// once up front and reused: what a host running many stores would pick.
    Pooling {
        /// Instances held at once.
        instances: u32,
        /// Linear memory per instance.
        memory_bytes: usize,
    },
}

/// Core instances and tables one instance of the component makes (its module, the
/// canonical ABI's shim and fixup), with room to spare.
const CORE_INSTANCES_PER_STORE: u32 = 4;
const TABLES_PER_STORE: u32 = 3;

/// An engine and the component, compiled, linked and pre-instantiated: what a
/// host builds once and instantiates per store.
pub struct Runtime {
    engine: Engine,
    pre: bindings::OrderSourcePre<HostState>,
}

impl Runtime {
    /// Compiles the embedded component for an engine with `allocation`.
    pub fn compile(allocation: Allocation) -> Result<Self> {
        let engine = engine(allocation)?;
        let component = Component::new(&engine, COMPONENT)
            .map_err(|e| anyhow::Error::from(e).context("compiling the component"))?;
        Self::link(engine, &component)
    }

    /// The compiled component, as bytes a host can keep and load without compiling.
    pub fn serialize(&self) -> Result<Vec<u8>> {
        Ok(self.pre.instance_pre().component().serialize()?)
    }

    /// A runtime from a file of [`Runtime::serialize`]'s bytes, mapped rather than
    /// read. wasmtime refuses bytes from another version or configuration.
    ///
    /// # Safety
    /// wasmtime runs the file's code as native code: it must be what `serialize`
    /// wrote, and nothing may change it while the runtime lives.
    pub unsafe fn load(allocation: Allocation, compiled: &std::path::Path) -> Result<Self> {
        let engine = engine(allocation)?;
        // SAFETY: the caller vouches for the file (above).
        let component = unsafe { Component::deserialize_file(&engine, compiled) }
            .map_err(|e| anyhow::Error::from(e).context("loading the compiled component"))?;
        Self::link(engine, &component)
    }

    fn link(engine: Engine, component: &Component) -> Result<Self> {
        let mut linker = Linker::<HostState>::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker)?;
        wasmtime_wasi_http::p2::add_only_http_to_linker_sync(&mut linker)?;
        kv::add_to_linker::<HostState, HasSelf<HostState>>(&mut linker, |state| state)?;
        logging::add_to_linker::<HostState, HasSelf<HostState>>(&mut linker, |state| state)?;
        let pre = bindings::OrderSourcePre::new(linker.instantiate_pre(component)?)?;
        Ok(Self { engine, pre })
    }
}

/// The process's runtime: on-demand allocation, built on first use, from the
/// compiled component kept beside the build when there is one.
fn runtime() -> Result<&'static Runtime> {
    static RUNTIME: OnceLock<Result<Runtime, String>> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            super::compiled::load_or_compile(Allocation::OnDemand, built_component::build_dir())
                .map_err(|e| format!("{e:#}"))
        })
        .as_ref()
        .map_err(|e| anyhow::anyhow!("{e}"))
}

pub(super) fn engine(allocation: Allocation) -> Result<Engine> {
    let mut config = Config::new();
    config.epoch_interruption(true);
    // `TEST_HOST_PERFMAP=1` names the component's functions for `perf`.
    if std::env::var_os("TEST_HOST_PERFMAP").is_some() {
        config.profiler(wasmtime::ProfilingStrategy::PerfMap);
    }
    if let Allocation::Pooling {
        instances,
        memory_bytes,
    } = allocation
    {
        let mut pool = wasmtime::PoolingAllocationConfig::new();
        pool.total_component_instances(instances)
            .total_core_instances(instances.saturating_mul(CORE_INSTANCES_PER_STORE))
            .total_memories(instances)
            .total_tables(instances.saturating_mul(TABLES_PER_STORE))
            .max_memory_size(memory_bytes);
        config.allocation_strategy(wasmtime::InstanceAllocationStrategy::Pooling(pool));
        // Each slot reserves its memory's bound, not the default 4 GiB of address space.
        config.memory_reservation(memory_bytes as u64);
    }
    let engine = Engine::new(&config)?;
    // One ticker per engine: it only advances the epoch, and stops with the engine.
    let ticking = engine.weak();
    std::thread::spawn(move || {
        while let Some(engine) = ticking.upgrade() {
            engine.increment_epoch();
            drop(engine);
            std::thread::sleep(EPOCH_TICK);
        }
    });
    Ok(engine)
}

/// The compiled component's type, for inspecting its imports and exports.
pub fn component_type() -> Result<(Engine, wasmtime::component::types::Component)> {
    let runtime = runtime()?;
    Ok((
        runtime.engine.clone(),
        runtime.pre.instance_pre().component().component_type(),
    ))
}

/// What one export call did besides returning.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct CallRecord {
    /// HTTP exchanges, in order.
    pub exchanges: Vec<Exchange>,
    /// Requests Amazon could not answer.
    pub failures: Vec<String>,
    /// The component's log lines.
    pub logs: Vec<LogLine>,
    /// Anything the component wrote to stderr (a panic message).
    pub stderr: String,
}

/// One component instance: one connected store.
pub struct ComponentInstance {
    store: Store<HostState>,
    amazon: Arc<Mutex<dyn Amazon>>,
    limits: Limits,
    instance: bindings::OrderSource,
    journal: Arc<Mutex<Journal>>,
    stderr: MemoryOutputPipe,
    clock: VirtualClock,
    /// Epoch ticks each export call may run.
    deadline: u64,
    /// The host's clock when the current export call began.
    call_started: DateTime<Utc>,
    /// Every export call, when the host keeps them ([`ComponentInstance::log_exports`]).
    export_log: Option<ExportLog>,
}

impl ComponentInstance {
    /// Instantiates the component with its own storage, clock and amazon, within
    /// the default [`Limits`].
    pub fn new(
        amazon: Arc<Mutex<dyn Amazon>>,
        storage: SqliteStorage,
        clock: VirtualClock,
    ) -> Result<Self> {
        Self::with_limits(amazon, storage, clock, Limits::default())
    }

    /// [`ComponentInstance::new`] within `limits`: an instance that exceeds them gets an error,
    /// and the host carries on.
    pub fn with_limits(
        amazon: Arc<Mutex<dyn Amazon>>,
        storage: SqliteStorage,
        clock: VirtualClock,
        limits: Limits,
    ) -> Result<Self> {
        Self::in_runtime(runtime()?, amazon, storage, clock, limits)
    }

    /// [`ComponentInstance::with_limits`] in a runtime of the caller's (another allocator, or a
    /// component loaded from its compiled bytes).
    pub fn in_runtime(
        runtime: &Runtime,
        amazon: Arc<Mutex<dyn Amazon>>,
        storage: SqliteStorage,
        clock: VirtualClock,
        limits: Limits,
    ) -> Result<Self> {
        let stderr = MemoryOutputPipe::new(64 * 1024);
        let wasi = WasiCtxBuilder::new()
            .wall_clock(clock.clone())
            .monotonic_clock(clock.clone())
            .stderr(stderr.clone())
            .build();
        let journal = Arc::new(Mutex::new(Journal::default()));
        let state = HostState {
            wasi,
            http: WasiHttpCtx::new(),
            table: ResourceTable::new(),
            hooks: AmazonHooks {
                amazon: amazon.clone(),
                journal: journal.clone(),
            },
            storage,
            logs: Vec::new(),
            limits: Metered {
                limits: wasmtime::StoreLimitsBuilder::new()
                    .memory_size(limits.memory_bytes)
                    .build(),
                peak_memory: 0,
            },
        };
        let mut store = Store::new(&runtime.engine, state);
        store.limiter(|state| &mut state.limits);
        // A zero deadline interrupts a call at its first check (tests use it).
        let ticks = limits.call_deadline.as_millis() / EPOCH_TICK.as_millis();
        store.epoch_deadline_callback(move |_| {
            Err(wasmtime::Error::msg(
                "the call ran past its deadline and was interrupted",
            ))
        });
        let deadline = u64::try_from(ticks).unwrap_or(u64::MAX);
        // Instantiation gets the default deadline; each export call gets its own.
        let default_ticks = Limits::default().call_deadline.as_millis() / EPOCH_TICK.as_millis();
        store.set_epoch_deadline(u64::try_from(default_ticks).unwrap_or(u64::MAX));
        let instance = runtime
            .pre
            .instantiate(&mut store)
            .map_err(|e| anyhow::Error::from(e).context("instantiating the component"))?;
        Ok(Self {
            store,
            amazon,
            limits,
            instance,
            journal,
            stderr,
            call_started: clock.now(),
            clock,
            deadline,
            export_log: None,
        })
    }

    /// The most linear memory the instance has had, in bytes.
    pub fn peak_memory(&self) -> usize {
        self.store.data().limits.peak_memory
    }

    /// Ends the instance (as a crash would) and hands back its storage, so a new
    /// instance can start on what the old one left.
    pub fn into_storage(self) -> SqliteStorage {
        self.store.into_data().storage
    }

    /// Ends the instance (as a crash or a trap would) and starts a fresh one on the
    /// storage it left, with the same Amazon, clock and limits, in the process's
    /// runtime.
    pub fn restart(&mut self) -> Result<()> {
        let placeholder = SqliteStorage::in_memory()?;
        let storage = std::mem::replace(&mut self.store.data_mut().storage, placeholder);
        let mut log = self.export_log.take();
        if let Some(log) = &mut log {
            log.calls.push(ExportCall {
                export: "restart",
                at: self.clock.now(),
                arguments: Vec::new(),
                result: serde_json::Value::Null,
            });
        }
        *self = Self::with_limits(
            self.amazon.clone(),
            storage,
            self.clock.clone(),
            self.limits,
        )?;
        self.export_log = log;
        Ok(())
    }

    /// Keeps every export call from now on (see [`ExportLog`]).
    pub fn log_exports(&mut self) {
        self.export_log.get_or_insert_with(ExportLog::default);
    }

    /// The export calls kept so far, if the host asked for them.
    pub fn export_log(&self) -> Option<&ExportLog> {
        self.export_log.as_ref()
    }

    /// Arms the call's deadline and notes when it began.
    fn begin(&mut self) {
        self.store.set_epoch_deadline(self.deadline);
        self.call_started = self.clock.now();
    }

    /// The instance's clock.
    pub fn clock(&self) -> &VirtualClock {
        &self.clock
    }

    /// The instance's storage, e.g. for a dump or an assertion.
    pub fn storage(&self) -> &SqliteStorage {
        &self.store.data().storage
    }

    /// Calls `connect`.
    pub fn connect(
        &mut self,
        settings: &bindings::ConnectionSettings,
    ) -> Result<(
        Result<bindings::ConnectionInfo, bindings::Error>,
        CallRecord,
    )> {
        self.begin();
        let result = self
            .instance
            .marketplace_amazon_connection()
            .call_connect(&mut self.store, settings);
        self.finish_call("connect", || vec![json(settings)], result)
    }

    /// Calls `import-orders`.
    pub fn import_orders(
        &mut self,
        settings: &bindings::ConnectionSettings,
        checkpoint: Option<&str>,
    ) -> Result<(Result<bindings::ImportBatch, bindings::Error>, CallRecord)> {
        self.begin();
        let result = self
            .instance
            .marketplace_amazon_orders()
            .call_import_orders(&mut self.store, settings, checkpoint);
        self.finish_call(
            "import-orders",
            || vec![json(settings), json(&checkpoint)],
            result,
        )
    }

    /// Calls `subscribe`.
    pub fn subscribe(
        &mut self,
        settings: &bindings::ConnectionSettings,
        queue_arn: &str,
    ) -> Result<(Result<bindings::Subscription, bindings::Error>, CallRecord)> {
        self.begin();
        let result = self
            .instance
            .marketplace_amazon_order_events()
            .call_subscribe(&mut self.store, settings, queue_arn);
        self.finish_call(
            "subscribe",
            || vec![json(settings), json(queue_arn)],
            result,
        )
    }

    /// Calls `take-notifications`.
    pub fn take_notifications(
        &mut self,
        settings: &bindings::ConnectionSettings,
        messages: &[String],
    ) -> Result<(
        Result<bindings::TakenNotifications, bindings::Error>,
        CallRecord,
    )> {
        self.begin();
        let result = self
            .instance
            .marketplace_amazon_order_events()
            .call_take_notifications(&mut self.store, settings, messages);
        self.finish_call(
            "take-notifications",
            || vec![json(settings), json(messages)],
            result,
        )
    }

    /// Calls `on-label-created`.
    pub fn on_label_created(
        &mut self,
        settings: &bindings::ConnectionSettings,
        labels: &[bindings::LabelEvent],
    ) -> Result<(
        Result<Vec<bindings::NotificationOutcome>, bindings::Error>,
        CallRecord,
    )> {
        self.begin();
        let result = self
            .instance
            .marketplace_amazon_shipping()
            .call_on_label_created(&mut self.store, settings, labels);
        self.finish_call(
            "on-label-created",
            || vec![json(settings), json(labels)],
            result,
        )
    }

    /// Calls `redact`.
    pub fn redact(
        &mut self,
    ) -> Result<(
        Result<Vec<bindings::RedactionDirective>, bindings::Error>,
        CallRecord,
    )> {
        self.begin();
        let result = self
            .instance
            .marketplace_amazon_redaction()
            .call_redact(&mut self.store);
        self.finish_call("redact", Vec::new, result)
    }

    /// Calls `send-queued-notifications`.
    pub fn send_queued_notifications(
        &mut self,
        settings: &bindings::ConnectionSettings,
    ) -> Result<(
        Result<bindings::NotificationReport, bindings::Error>,
        CallRecord,
    )> {
        self.begin();
        let result = self
            .instance
            .marketplace_amazon_shipping()
            .call_send_queued_notifications(&mut self.store, settings);
        self.finish_call("send-queued-notifications", || vec![json(settings)], result)
    }

    /// Calls `on-delivered`.
    pub fn on_delivered(
        &mut self,
        events: &[bindings::DeliveryEvent],
    ) -> Result<(Result<(), bindings::Error>, CallRecord)> {
        self.begin();
        let result = self
            .instance
            .marketplace_amazon_redaction()
            .call_on_delivered(&mut self.store, events);
        self.finish_call("on-delivered", || vec![json(events)], result)
    }

    /// Calls `redaction-audit`.
    pub fn redaction_audit(
        &mut self,
        order_id: &str,
    ) -> Result<(
        Result<Vec<bindings::RedactionAuditEntry>, bindings::Error>,
        CallRecord,
    )> {
        self.begin();
        let result = self
            .instance
            .marketplace_amazon_redaction()
            .call_redaction_audit(&mut self.store, order_id);
        self.finish_call("redaction-audit", || vec![json(order_id)], result)
    }

    /// Calls `acknowledge-redactions`.
    pub fn acknowledge_redactions(
        &mut self,
        ids: &[String],
    ) -> Result<(Result<(), bindings::Error>, CallRecord)> {
        self.begin();
        let result = self
            .instance
            .marketplace_amazon_redaction()
            .call_acknowledge_redactions(&mut self.store, ids);
        self.finish_call("acknowledge-redactions", || vec![json(ids)], result)
    }

    /// Collects the call's journal; a trap becomes an error that carries the
    /// component's stderr (its panic message).
    fn finish_call<T: serde::Serialize>(
        &mut self,
        export: &'static str,
        arguments: impl FnOnce() -> Vec<serde_json::Value>,
        result: wasmtime::Result<T>,
    ) -> Result<(T, CallRecord)> {
        if let (Some(log), Ok(value)) = (&mut self.export_log, &result) {
            log.calls.push(ExportCall {
                export,
                at: self.call_started,
                arguments: arguments(),
                result: json(value),
            });
        }
        let journal = std::mem::take(&mut *self.journal.lock().unwrap_or_else(|p| p.into_inner()));
        let stderr = String::from_utf8_lossy(&self.stderr.contents()).into_owned();
        let record = CallRecord {
            exchanges: journal.exchanges,
            failures: journal.failures,
            logs: std::mem::take(&mut self.store.data_mut().logs),
            stderr,
        };
        match result {
            Ok(value) => Ok((value, record)),
            Err(trap) => Err(anyhow::Error::from(trap).context(format!(
                "the component trapped; its stderr: {:?}",
                record.stderr
            ))),
        }
    }
}

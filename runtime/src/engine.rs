//! The wasmtime engine: configuration (component model, async, epoch
//! interruption, pooling allocator with copy-on-write memory images), the epoch
//! ticker, the shared linker, and compiling through the on-disk cache (see
//! [`crate::cache`]).

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use wasmtime::component::{Component, HasSelf, Linker};
use wasmtime::{Config, InstanceAllocationStrategy, OptLevel, PoolingAllocationConfig};

use crate::telemetry::Telemetry;
use crate::bindings::{v0_1, v0_2};
use crate::cache::CompiledCache;
use crate::host::HostState;

/// How often the epoch advances. Guest CPU limits are counted in these ticks,
/// and a busy guest yields to the async runtime once per tick.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Bytes of each pooled linear memory kept resident between instances: about
/// what a provider turn touches (data, stack, a parse buffer).
const KEEP_RESIDENT_BYTES: usize = 2 << 20;

/// Sizes of the pooling allocator: how many instances may be live at once.
#[derive(Debug, Clone)]
pub struct PoolConfig {
    /// Component instances live at once (one per running turn).
    pub instances: u32,
    /// Largest linear memory any instance may have, in bytes.
    pub max_memory_bytes: usize,
}

impl Default for PoolConfig {
    fn default() -> Self {
        PoolConfig { instances: 256, max_memory_bytes: crate::limits::Limits::HOST_MAX.memory_bytes() }
    }
}

/// A configured engine with its linker and compiled-component cache.
#[derive(Clone)]
pub struct Engine {
    engine: wasmtime::Engine,
    telemetry: Telemetry,
    fuel: bool,
    linker: Arc<Linker<HostState>>,
    cache: Option<CompiledCache>,
}

impl Engine {
    /// Build the engine, start its epoch ticker, and link the host's imports.
    /// With `fuel`, every call is metered (manifests may set `limits.fuel-per-call`);
    /// metering costs some speed, so it is off unless asked for.
    pub fn new(pool: &PoolConfig, cache_dir: Option<PathBuf>, fuel: bool) -> anyhow::Result<Engine> {
        let mut pooling = PoolingAllocationConfig::default();
        // A Rust or C component has 1-4 core instances and 1 memory; Python and
        // JavaScript ones a few more. Size the pool for that.
        pooling
            .total_component_instances(pool.instances)
            .total_core_instances(pool.instances.saturating_mul(8))
            .total_memories(pool.instances.saturating_mul(2))
            .total_tables(pool.instances.saturating_mul(8))
            .total_stacks(pool.instances)
            .max_memories_per_component(4)
            .max_tables_per_component(16)
            .max_memory_size(pool.max_memory_bytes)
            .max_component_instance_size(1 << 20)
            .max_core_instance_size(1 << 20)
            .table_elements(100_000)
            // Reset the low part of a finished instance's memory, stack and tables
            // with memset rather than madvise: the next turn then reuses resident
            // pages instead of taking a page fault on every page it touches.
            .linear_memory_keep_resident(KEEP_RESIDENT_BYTES)
            .table_keep_resident(64 * 1024)
            .async_stack_keep_resident(128 * 1024)
            .pagemap_scan(wasmtime::Enabled::Auto);

        let mut config = Config::new();
        config
            .wasm_component_model(true)
            .epoch_interruption(true)
            .cranelift_opt_level(OptLevel::Speed)
            .memory_init_cow(true)
            .consume_fuel(fuel)
            .max_wasm_stack(1 << 20)
            .async_stack_size(2 << 20)
            .allocation_strategy(InstanceAllocationStrategy::Pooling(pooling));
        let engine = wasmtime::Engine::new(&config)?;
        start_epoch_ticker(&engine).context("cannot start the epoch ticker thread")?;

        let mut linker = Linker::<HostState>::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
        link_contracts(&mut linker)?;
        let cache = match cache_dir {
            Some(dir) => {
                std::fs::create_dir_all(&dir)
                    .with_context(|| format!("cannot create the cache folder {}", dir.display()))?;
                let mut hasher = DefaultHasher::new();
                engine.precompile_compatibility_hash().hash(&mut hasher);
                Some(CompiledCache::new(dir, hasher.finish()))
            }
            None => None,
        };
        Ok(Engine { engine, telemetry: Telemetry::default(), fuel, linker: Arc::new(linker), cache })
    }

    /// The host's own counts (instantiation times, swaps).
    pub fn telemetry(&self) -> &Telemetry {
        &self.telemetry
    }

    /// Whether calls are metered with fuel.
    pub fn meters_fuel(&self) -> bool {
        self.fuel
    }

    /// The wasmtime engine.
    pub fn wasmtime(&self) -> &wasmtime::Engine {
        &self.engine
    }

    /// The linker holding the host's imports (WASI, http, log).
    pub fn linker(&self) -> &Linker<HostState> {
        &self.linker
    }

    /// Compile `bytes` (whose `sha256:` digest is `digest`), or load the
    /// compiled form from the on-disk cache. Blocking: call it off the async runtime.
    pub fn compile(&self, bytes: &[u8], digest: &str) -> anyhow::Result<Component> {
        let Some(cache) = &self.cache else {
            return Ok(Component::from_binary(&self.engine, bytes)?);
        };
        let path = cache.path(digest);
        if path.exists() {
            // SAFETY: the cache folder belongs to the operator (like the binary
            // itself); entries are named by the content hash and the engine's
            // compatibility hash, and wasmtime checks the header and version.
            #[allow(unsafe_code)]
            match unsafe { Component::deserialize_file(&self.engine, &path) } {
                Ok(component) => {
                    CompiledCache::touch(&path);
                    return Ok(component);
                }
                Err(err) => tracing::warn!(path = %path.display(), "stale compiled cache entry, recompiling: {err:#}"),
            }
        }
        let component = Component::from_binary(&self.engine, bytes)?;
        if let Err(err) = cache.store(&path, &component.serialize()?) {
            tracing::warn!(path = %path.display(), "cannot write the compiled cache: {err:#}");
        }
        Ok(component)
    }
}

/// The guest's imports of every contract version served: 0.1.0's `types`,
/// `http` and `log`, and 0.2.0's. 0.2.0's `types` holds only types (the same
/// as 0.1.0's), so its instance is defined empty.
fn link_contracts(linker: &mut Linker<HostState>) -> anyhow::Result<()> {
    v0_1::ProviderComponent::add_to_linker::<HostState, HasSelf<HostState>>(linker, |s| s)?;
    linker.instance("cordon:provider/types@0.2.0")?;
    v0_2::cordon::provider::http::add_to_linker::<HostState, HasSelf<HostState>>(linker, |s| s)?;
    v0_2::cordon::provider::log::add_to_linker::<HostState, HasSelf<HostState>>(linker, |s| s)?;
    Ok(())
}

/// Advance the engine's epoch every [`EPOCH_TICK`] until the engine is dropped.
fn start_epoch_ticker(engine: &wasmtime::Engine) -> std::io::Result<()> {
    let weak = engine.weak();
    std::thread::Builder::new()
        .name("cordon-epoch".into())
        .spawn(move || {
            while let Some(engine) = weak.upgrade() {
                engine.increment_epoch();
                drop(engine);
                std::thread::sleep(EPOCH_TICK);
            }
        })
        .map(drop)
}

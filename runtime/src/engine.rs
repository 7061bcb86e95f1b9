//! The wasmtime engine: configuration (component model, async, epoch
//! interruption, pooling allocator with copy-on-write memory images), the epoch
//! ticker, the shared linker, and compiling through the on-disk cache (see
//! [`crate::cache`]).
//!
//! Large components (an interpreter and its snapshot: Python, JavaScript) get
//! an engine of their own, made at the first one's load ([`Engine::for_component`]).
//! A finished instance's memory is reset for the next turn from the pages it
//! wrote: for a small component wasmtime asks the kernel which pages those
//! were (`PAGEMAP_SCAN`) and resets only them. A Python turn writes some 490
//! pages scattered over its 11 MiB snapshot; the query reports at most 32
//! separate runs of pages and the rest are given back to the kernel, so the
//! next turn took ~490 page faults on the same pages (~1.3 ms). The large
//! components' engine keeps their first 16 MiB resident instead and resets
//! it by copying, fault-free. Both engines compile the same code, so the
//! on-disk cache serves both.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use anyhow::Context as _;
use wasmtime::component::{Component, HasSelf, Linker};
use wasmtime::{Config, InstanceAllocationStrategy, OptLevel, PoolingAllocationConfig};

use crate::telemetry::Telemetry;
use crate::bindings::{v0_1, v0_2};
use crate::cache::CompiledCache;
use crate::host::HostState;

/// Set (to anything), the engine writes `/tmp/perf-PID.map`, which names the
/// compiled guest functions for `perf report` (see the README's profiling notes).
pub const PERF_MAP_ENV: &str = "CORDON_PERF_MAP";

/// How often the epoch advances. Guest CPU limits are counted in these ticks,
/// and a busy guest yields to the async runtime once per tick.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Bytes of each pooled linear memory kept resident between instances: about
/// what a provider turn touches (data, stack, a parse buffer).
const KEEP_RESIDENT_BYTES: usize = 2 << 20;

/// Components larger than this (an interpreter with its snapshot: 13-18 MB
/// for the JavaScript and Python ones; Rust and C ones are under 2 MB, Go's
/// 6 MB) run on the engine for large components.
pub const LARGE_COMPONENT_BYTES: usize = 8 << 20;

/// A large component's memory kept resident between instances, and reset
/// by copying: an interpreter's snapshot and the heap a turn adds to it.
const LARGE_KEEP_RESIDENT_BYTES: usize = 16 << 20;

/// Finished large instances whose slots stay resident for the next: at
/// most this many times [`LARGE_KEEP_RESIDENT_BYTES`] is kept while idle.
/// Beyond them a slot's memory is given back, and its next turn faults its
/// pages in again.
const LARGE_WARM_SLOTS: u32 = 4;

/// How a finished instance's memory is made ready for the next.
#[derive(Debug, Clone, Copy)]
enum MemoryReset {
    /// Only the pages the instance wrote, found with `PAGEMAP_SCAN`, up to
    /// [`KEEP_RESIDENT_BYTES`]: small components, which write few pages.
    DirtyPages,
    /// The first [`LARGE_KEEP_RESIDENT_BYTES`], copied whole: large
    /// components, whose writes are too scattered for the scan.
    Whole,
}

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
    /// What the engine for large components is made with.
    pool: PoolConfig,
    cache_dir: Option<PathBuf>,
    /// The engine for large components, once one has been loaded.
    large: Arc<OnceLock<Engine>>,
}

impl Engine {
    /// Build the engine, start its epoch ticker, and link the host's imports.
    /// With `fuel`, every call is metered (manifests may set `limits.fuel-per-call`);
    /// metering costs some speed, so it is off unless asked for.
    pub fn new(pool: &PoolConfig, cache_dir: Option<PathBuf>, fuel: bool) -> anyhow::Result<Engine> {
        Engine::build(pool, cache_dir, fuel, MemoryReset::DirtyPages, Telemetry::default())
    }

    /// The engine a component of `bytes` bytes runs on: this one, or for a
    /// large component the engine for large ones (made now if it is the first).
    pub fn for_component(&self, bytes: usize) -> anyhow::Result<&Engine> {
        if bytes <= LARGE_COMPONENT_BYTES {
            return Ok(self);
        }
        if self.large.get().is_none() {
            let large = Engine::build(&self.pool, self.cache_dir.clone(), self.fuel, MemoryReset::Whole, self.telemetry.clone())
                .context("cannot make the engine for large components")?;
            // Two first loads at once may both make one: the first kept serves both.
            let _ = self.large.set(large);
        }
        self.large.get().context("the engine for large components was not kept")
    }

    fn build(pool: &PoolConfig, cache_dir: Option<PathBuf>, fuel: bool, reset: MemoryReset, telemetry: Telemetry) -> anyhow::Result<Engine> {
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
            .table_keep_resident(64 * 1024)
            .async_stack_keep_resident(128 * 1024);
        match reset {
            MemoryReset::DirtyPages => pooling.linear_memory_keep_resident(KEEP_RESIDENT_BYTES).pagemap_scan(wasmtime::Enabled::Auto),
            MemoryReset::Whole => pooling
                .linear_memory_keep_resident(LARGE_KEEP_RESIDENT_BYTES)
                .pagemap_scan(wasmtime::Enabled::No)
                .max_unused_warm_slots(LARGE_WARM_SLOTS),
        };

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
        if std::env::var_os(PERF_MAP_ENV).is_some() {
            config.profiler(wasmtime::ProfilingStrategy::PerfMap);
        }
        let engine = wasmtime::Engine::new(&config)?;
        start_epoch_ticker(&engine).context("cannot start the epoch ticker thread")?;

        let mut linker = Linker::<HostState>::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
        link_contracts(&mut linker)?;
        let cache = match &cache_dir {
            Some(dir) => {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("cannot create the cache folder {}", dir.display()))?;
                let mut hasher = DefaultHasher::new();
                engine.precompile_compatibility_hash().hash(&mut hasher);
                Some(CompiledCache::new(dir.clone(), hasher.finish()))
            }
            None => None,
        };
        Ok(Engine {
            engine,
            telemetry,
            fuel,
            linker: Arc::new(linker),
            cache,
            pool: pool.clone(),
            cache_dir,
            large: Arc::new(OnceLock::new()),
        })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_components_get_an_engine_of_their_own_made_once() {
        let pool = PoolConfig { instances: 4, ..PoolConfig::default() };
        let engine = Engine::new(&pool, None, false).expect("an engine");
        let small = engine.for_component(LARGE_COMPONENT_BYTES).expect("the engine itself");
        assert!(wasmtime::Engine::same(small.wasmtime(), engine.wasmtime()));
        let large = engine.for_component(LARGE_COMPONENT_BYTES + 1).expect("the large components' engine");
        assert!(!wasmtime::Engine::same(large.wasmtime(), engine.wasmtime()));
        let again = engine.clone().for_component(18 << 20).expect("the same one").wasmtime().clone();
        assert!(wasmtime::Engine::same(&again, large.wasmtime()), "made once, shared by clones");
    }
}

//! Builds the component (profile `component`, `wasm32-wasip2`) so `cargo run -p test-host` and
//! `cargo test` work from a fresh clone, and exposes its path as `PLUGIN_WASM`.
//! This crate depends on nothing else, so cargo runs this script while it builds
//! wasmtime, not after.
//!
//! The component ships to every host, so its size matters: the core module is linked
//! alone, shrunk by binaryen's `wasm-opt -Oz` when `WASM_OPT` names one (binaryen
//! 118 or later; `.ci/run` installs it), and then made a component, as the linker
//! would have. Without it the component is the same code, larger. `PLUGIN_WASM_OPT`
//! says which.
//!
//! The nested cargo gets its own target directory: sharing the outer one would
//! deadlock on cargo's build lock.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

const TARGET: &str = "wasm32-wasip2";

fn main() {
    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let workspace = manifest_dir
        .parent()
        .and_then(Path::parent)
        .expect("test-host/component sits in the workspace");
    for path in [
        "plugin/src",
        "plugin/Cargo.toml",
        "wit",
        "Cargo.toml",
        "Cargo.lock",
    ] {
        println!("cargo:rerun-if-changed={}", workspace.join(path).display());
    }
    println!("cargo:rerun-if-env-changed=CARGO_TARGET_DIR");
    println!("cargo:rerun-if-env-changed=WASM_OPT");

    ensure_target_installed();

    let target_dir = env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|dir| {
            if dir.is_absolute() {
                dir
            } else {
                workspace.join(dir)
            }
        })
        .unwrap_or_else(|| workspace.join("target"))
        .join(component_dir(workspace));
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut build = Command::new(cargo);
    build
        .current_dir(workspace)
        .args([
            "build",
            "--package",
            "amazon-marketplace",
            "--profile",
            "component",
            "--target",
            TARGET,
        ])
        .arg("--target-dir")
        .arg(&target_dir);
    // Flags meant for the host build (clippy's wrapper, coverage or sanitizer
    // RUSTFLAGS) must not leak into the wasm build.
    for var in [
        "RUSTC_WORKSPACE_WRAPPER",
        "RUSTC_WRAPPER",
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTFLAGS",
        "CARGO_BUILD_TARGET",
        "CARGO_MAKEFLAGS",
    ] {
        build.env_remove(var);
    }
    // The core module only: the component is made below, after `wasm-opt`.
    build.env("CARGO_ENCODED_RUSTFLAGS", "-Clink-arg=--skip-wit-component");
    let status = build
        .status()
        .unwrap_or_else(|e| panic!("could not run cargo to build the component: {e}"));
    assert!(
        status.success(),
        "building the component for {TARGET} failed"
    );

    let out = target_dir.join(TARGET).join("component");
    let core = out.join("amazon_marketplace.wasm");
    assert!(
        core.exists(),
        "the component build produced no {}",
        core.display()
    );
    let (core, optimizer) = match wasm_opt() {
        Some(wasm_opt) => (shrink(&wasm_opt, &core), wasm_opt),
        None => (core, "none".into()),
    };
    let module =
        std::fs::read(&core).unwrap_or_else(|e| panic!("could not read {}: {e}", core.display()));
    let component = wit_component::ComponentEncoder::default()
        .validate(true)
        .module(&module)
        .and_then(|mut encoder| encoder.encode())
        .unwrap_or_else(|e| panic!("could not make a component of {}: {e:#}", core.display()));
    let wasm = out.join("amazon_marketplace.component.wasm");
    std::fs::write(&wasm, component)
        .unwrap_or_else(|e| panic!("could not write {}: {e}", wasm.display()));
    println!("cargo:rustc-env=PLUGIN_WASM={}", wasm.display());
    println!("cargo:rustc-env=PLUGIN_WASM_OPT={optimizer}");
}

/// The `wasm-opt` named by `WASM_OPT`, if any. Only by name: an older one found on
/// the PATH could fail the build or change the component unasked.
fn wasm_opt() -> Option<String> {
    env::var("WASM_OPT").ok().filter(|path| !path.is_empty())
}

/// `wasm-opt -Oz` over the core module, with the wasm features Rust's
/// `wasm32-wasip2` target emits and wasmtime runs, and no others.
fn shrink(wasm_opt: &str, core: &Path) -> PathBuf {
    let shrunk = core.with_extension("opt.wasm");
    let status = Command::new(wasm_opt)
        .arg("-Oz")
        .args([
            "--enable-bulk-memory",
            "--enable-bulk-memory-opt",
            "--enable-nontrapping-float-to-int",
            "--enable-sign-ext",
            "--enable-mutable-globals",
            "--enable-multivalue",
            "--enable-reference-types",
        ])
        .arg(core)
        .arg("-o")
        .arg(&shrunk)
        .status()
        .unwrap_or_else(|e| panic!("could not run {wasm_opt} (WASM_OPT): {e}"));
    assert!(
        status.success(),
        "{wasm_opt} -Oz failed on {}",
        core.display()
    );
    shrunk
}

/// One component build directory per checkout. Two checkouts sharing a
/// `CARGO_TARGET_DIR` (a cache kept outside the clone, as CI's is) would otherwise
/// share one uplifted `amazon_marketplace.wasm`, and a checkout whose build is fresh
/// would embed the other's component.
fn component_dir(workspace: &Path) -> String {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    workspace.hash(&mut hasher);
    format!("component-{:016x}", hasher.finish())
}

/// A fresh machine has the Rust toolchain but not the wasm32-wasip2 standard
/// library; `rustup target add` takes a few seconds.
fn ensure_target_installed() {
    let sysroot = Command::new(env::var_os("RUSTC").unwrap_or_else(|| "rustc".into()))
        .args(["--print", "sysroot"])
        .output()
        .ok()
        .filter(|out| out.status.success())
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned());
    let installed = sysroot
        .as_deref()
        .map(|root| Path::new(root).join("lib/rustlib").join(TARGET).exists())
        .unwrap_or(false);
    if installed {
        return;
    }
    let status = Command::new("rustup")
        .args(["target", "add", TARGET])
        .status()
        .unwrap_or_else(|e| {
            panic!("the {TARGET} target is missing and rustup could not be run ({e}); install it with `rustup target add {TARGET}`")
        });
    assert!(status.success(), "`rustup target add {TARGET}` failed");
}

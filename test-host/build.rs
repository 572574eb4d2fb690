//! Builds the component (profile `component`, `wasm32-wasip2`) so `cargo run -p test-host` and
//! `cargo test` work from a fresh clone, and exposes its path as `PLUGIN_WASM`.
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
        .expect("test-host sits in the workspace");
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
    let status = build
        .status()
        .unwrap_or_else(|e| panic!("could not run cargo to build the component: {e}"));
    assert!(
        status.success(),
        "building the component for {TARGET} failed"
    );

    let wasm = target_dir
        .join(TARGET)
        .join("component")
        .join("amazon_marketplace.wasm");
    assert!(
        wasm.exists(),
        "the component build produced no {}",
        wasm.display()
    );
    println!("cargo:rustc-env=PLUGIN_WASM={}", wasm.display());
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

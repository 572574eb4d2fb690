//! The compiled component kept on disk beside the build: a process after the first
//! loads it in about a millisecond instead of compiling it with Cranelift for
//! seconds. The file is named by a hash of the component's bytes and the engine's
//! settings; wasmtime itself refuses a file from another version or configuration,
//! and such a file is compiled again and replaced.
//!
//! A platform would keep its compiled component the same way, in a directory only
//! it can write: wasmtime runs the file's contents as native code.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use anyhow::Result;

use super::runtime::{Allocation, COMPONENT, Runtime, engine};

/// The runtime for `allocation`, from the compiled file in `dir` when there is a
/// good one, else compiled (and the file written for the next process). Without a
/// writable `dir` it is only compiled.
pub fn load_or_compile(allocation: Allocation, dir: Option<&Path>) -> Result<Runtime> {
    let Some(path) = dir.map(|dir| file_for(dir, allocation)).transpose()? else {
        return Runtime::compile(allocation);
    };
    if path.exists() {
        // SAFETY: files of this name are written only by `keep` below, whole (written
        // aside, then renamed), in the build's own directory, and never changed after.
        match unsafe { Runtime::load(allocation, &path) } {
            Ok(runtime) => return Ok(runtime),
            Err(e) => eprintln!("compiling the component again: {e:#}"),
        }
    }
    let runtime = Runtime::compile(allocation)?;
    if let Err(e) = keep(&runtime, &path) {
        eprintln!(
            "the compiled component was not kept in {}: {e:#}",
            path.display()
        );
    }
    Ok(runtime)
}

/// `compiled-{component}-{engine}.cwasm` in `dir`: hashes of the component and
/// of every engine setting that changes what Cranelift makes of it.
fn file_for(dir: &Path, allocation: Allocation) -> Result<PathBuf> {
    let mut engine_hash = std::collections::hash_map::DefaultHasher::new();
    engine(allocation)?
        .precompile_compatibility_hash()
        .hash(&mut engine_hash);
    Ok(dir.join(format!(
        "{}{:016x}.cwasm",
        component_prefix(),
        engine_hash.finish()
    )))
}

/// `compiled-{component}-`: what every file compiled from this component starts with.
fn component_prefix() -> String {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    COMPONENT.hash(&mut hasher);
    format!("compiled-{:016x}-", hasher.finish())
}

/// Writes the compiled component beside `path` and renames it into place, so a
/// reader never sees half a file; files compiled from older components go.
fn keep(runtime: &Runtime, path: &Path) -> Result<()> {
    let aside = path.with_extension(format!("{}.partial", std::process::id()));
    std::fs::write(&aside, runtime.serialize()?)?;
    std::fs::rename(&aside, path)?;
    let dir = path.parent().unwrap_or(Path::new("."));
    let current = component_prefix();
    for old in std::fs::read_dir(dir)?.flatten() {
        let name = old.file_name();
        let name = name.to_string_lossy();
        if name.starts_with("compiled-") && name.ends_with(".cwasm") && !name.starts_with(&current)
        {
            let _ = std::fs::remove_file(old.path());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_second_runtime_loads_what_the_first_compiled() {
        let dir = std::env::temp_dir().join(format!("compiled-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("compiled-0000000000000000-0000000000000000.cwasm"),
            b"stale",
        )
        .unwrap();
        load_or_compile(Allocation::OnDemand, Some(&dir)).unwrap();
        let files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .flatten()
            .map(|f| f.file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(files.len(), 1, "the stale file went: {files:?}");
        let path = dir.join(&files[0]);
        let written = std::fs::metadata(&path).unwrap().modified().unwrap();
        load_or_compile(Allocation::OnDemand, Some(&dir)).unwrap();
        assert_eq!(
            std::fs::metadata(&path).unwrap().modified().unwrap(),
            written,
            "loaded, not compiled and written again"
        );

        // A damaged file is compiled again and replaced.
        std::fs::write(&path, b"not a compiled component").unwrap();
        load_or_compile(Allocation::OnDemand, Some(&dir)).unwrap();
        assert!(std::fs::metadata(&path).unwrap().len() > 1_000);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

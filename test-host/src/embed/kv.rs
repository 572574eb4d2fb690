//! A SQLite-backed key-value store behind the component's `wasi:keyvalue/store`.
//!
//! Buckets are a column rather than separate tables, so opening a bucket needs no
//! schema change and a storage dump is one ordered query.

use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OptionalExtension, params};

/// Creates the single table on first use; later opens leave existing data alone.
const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS kv (
    bucket TEXT NOT NULL,
    key    TEXT NOT NULL,
    value  BLOB NOT NULL,
    PRIMARY KEY (bucket, key)
) WITHOUT ROWID";

/// Errors from [`SqliteStorage`], each naming the kind of operation that failed.
///
/// The SQLite message is part of the text rather than a `source()`, so error
/// chains print it once.
#[derive(Debug, thiserror::Error)]
pub enum KvError {
    /// The database file could not be opened, configured or given its schema.
    #[error("cannot open key-value store {}: {cause}", path.display())]
    Open {
        /// The database file, or `:memory:` for an in-memory store.
        path: PathBuf,
        /// What SQLite reported.
        cause: rusqlite::Error,
    },
    /// A lookup failed.
    #[error("storage read failed: {0}")]
    Read(rusqlite::Error),
    /// An insert, update or delete failed, e.g. because the disk is full.
    #[error("storage write failed: {0}")]
    Write(rusqlite::Error),
}

/// A key-value store whose buckets all live in one SQLite database.
#[derive(Debug)]
pub struct SqliteStorage {
    conn: Connection,
    /// Writes fail at random with this probability (a full disk, for fault runs),
    /// and how many did.
    write_faults: std::cell::RefCell<Option<(f64, Xoshiro256PlusPlus, usize)>>,
}

impl SqliteStorage {
    /// Opens a fresh store that lives only as long as this value.
    pub fn in_memory() -> Result<Self, KvError> {
        let open_error = |cause| KvError::Open {
            path: PathBuf::from(":memory:"),
            cause,
        };
        let conn = Connection::open_in_memory().map_err(open_error)?;
        conn.execute_batch(SCHEMA).map_err(open_error)?;
        Ok(Self::with(conn))
    }

    fn with(conn: Connection) -> Self {
        Self {
            conn,
            write_faults: std::cell::RefCell::new(None),
        }
    }

    /// From now on each write (set or delete) fails with probability `rate`, as on
    /// a full disk, from `seed`.
    pub fn fail_writes(&self, rate: f64, seed: u64) {
        *self.write_faults.borrow_mut() = Some((rate, Xoshiro256PlusPlus::seed_from_u64(seed), 0));
    }

    /// How many writes [`Self::fail_writes`] made fail.
    pub fn failed_writes(&self) -> usize {
        self.write_faults
            .borrow()
            .as_ref()
            .map_or(0, |(_, _, n)| *n)
    }

    fn injected_write_fault(&self) -> Result<(), KvError> {
        if let Some((rate, rng, failed)) = self.write_faults.borrow_mut().as_mut()
            && rng.random_bool(*rate)
        {
            *failed += 1;
            return Err(KvError::Write(rusqlite::Error::SqliteFailure(
                rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_FULL),
                Some("database or disk is full (injected)".into()),
            )));
        }
        Ok(())
    }

    /// Opens the store at `path`, creating the file and its schema if missing.
    ///
    /// The parent directory must already exist.
    pub fn open(path: &Path) -> Result<Self, KvError> {
        let open_error = |cause| KvError::Open {
            path: path.to_path_buf(),
            cause,
        };
        let conn = Connection::open(path).map_err(open_error)?;
        // WAL keeps a crashed host from leaving a half-written store behind, and
        // NORMAL sync is durable enough for test state while avoiding an fsync
        // per write.
        conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get::<_, String>(0))
            .map_err(open_error)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(open_error)?;
        conn.execute_batch(SCHEMA).map_err(open_error)?;
        Ok(Self::with(conn))
    }

    /// Returns the value stored under `key`, or `None` when there is none.
    pub fn get(&self, bucket: &str, key: &str) -> Result<Option<Vec<u8>>, KvError> {
        self.conn
            .prepare_cached("SELECT value FROM kv WHERE bucket = ?1 AND key = ?2")
            .and_then(|mut stmt| {
                stmt.query_row(params![bucket, key], |row| row.get(0))
                    .optional()
            })
            .map_err(KvError::Read)
    }

    /// Stores `value` under `key`, replacing any previous value.
    pub fn set(&self, bucket: &str, key: &str, value: &[u8]) -> Result<(), KvError> {
        self.injected_write_fault()?;
        self.conn
            .prepare_cached(
                "INSERT INTO kv (bucket, key, value) VALUES (?1, ?2, ?3)
                 ON CONFLICT (bucket, key) DO UPDATE SET value = excluded.value",
            )
            .and_then(|mut stmt| stmt.execute(params![bucket, key, value]))
            .map(drop)
            .map_err(KvError::Write)
    }

    /// Removes `key`; removing a key that does not exist is not an error.
    pub fn delete(&self, bucket: &str, key: &str) -> Result<(), KvError> {
        self.injected_write_fault()?;
        self.conn
            .prepare_cached("DELETE FROM kv WHERE bucket = ?1 AND key = ?2")
            .and_then(|mut stmt| stmt.execute(params![bucket, key]))
            .map(drop)
            .map_err(KvError::Write)
    }

    /// Reports whether `key` has a value.
    pub fn exists(&self, bucket: &str, key: &str) -> Result<bool, KvError> {
        self.conn
            .prepare_cached("SELECT 1 FROM kv WHERE bucket = ?1 AND key = ?2")
            .and_then(|mut stmt| stmt.exists(params![bucket, key]))
            .map_err(KvError::Read)
    }

    /// Lists up to `page` keys of `bucket` in sorted order, starting at offset
    /// `cursor` (`None` means the start).
    ///
    /// Returns the keys and the cursor of the next page, which is `None` once the
    /// last key has been returned. A `page` of 0 is treated as 1 so that paging
    /// always makes progress.
    pub fn list_keys(
        &self,
        bucket: &str,
        cursor: Option<u64>,
        page: usize,
    ) -> Result<(Vec<String>, Option<u64>), KvError> {
        let page = page.max(1);
        let offset = cursor.unwrap_or(0);
        // An offset SQLite cannot represent is past every key anyway.
        let Ok(sql_offset) = i64::try_from(offset) else {
            return Ok((Vec::new(), None));
        };
        // Fetching one extra row tells us whether another page exists without a
        // separate COUNT query.
        let limit = i64::try_from(page).unwrap_or(i64::MAX).saturating_add(1);
        let mut keys = self
            .conn
            .prepare_cached("SELECT key FROM kv WHERE bucket = ?1 ORDER BY key LIMIT ?2 OFFSET ?3")
            .and_then(|mut stmt| {
                stmt.query_map(params![bucket, limit, sql_offset], |row| row.get(0))?
                    .collect::<Result<Vec<String>, _>>()
            })
            .map_err(KvError::Read)?;
        let next = if keys.len() > page {
            keys.truncate(page);
            u64::try_from(page)
                .ok()
                .and_then(|page| offset.checked_add(page))
        } else {
            None
        };
        Ok((keys, next))
    }

    /// Returns every key of `bucket` with its value, sorted by key.
    pub fn entries(&self, bucket: &str) -> Result<Vec<(String, Vec<u8>)>, KvError> {
        self.conn
            .prepare_cached("SELECT key, value FROM kv WHERE bucket = ?1 ORDER BY key")
            .and_then(|mut stmt| {
                stmt.query_map(params![bucket], |row| Ok((row.get(0)?, row.get(1)?)))?
                    .collect()
            })
            .map_err(KvError::Read)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_get_overwrite_delete_exists() {
        let store = SqliteStorage::in_memory().unwrap();
        assert_eq!(store.get("b", "k").unwrap(), None);
        assert!(!store.exists("b", "k").unwrap());

        store.set("b", "k", b"one").unwrap();
        assert_eq!(store.get("b", "k").unwrap().as_deref(), Some(&b"one"[..]));
        assert!(store.exists("b", "k").unwrap());
        // Buckets are separate namespaces.
        assert_eq!(store.get("other", "k").unwrap(), None);

        store.set("b", "k", b"two").unwrap();
        assert_eq!(store.get("b", "k").unwrap().as_deref(), Some(&b"two"[..]));

        store.delete("b", "k").unwrap();
        assert_eq!(store.get("b", "k").unwrap(), None);
        assert!(!store.exists("b", "k").unwrap());
        store.delete("b", "k").unwrap();
    }

    #[test]
    fn list_keys_pages_through_every_key_once() {
        let store = SqliteStorage::in_memory().unwrap();
        for key in ["e", "c", "a", "d", "b"] {
            store.set("b", key, key.as_bytes()).unwrap();
        }
        store.set("other", "z", b"z").unwrap();

        let mut seen = Vec::new();
        let mut cursor = None;
        let mut pages = 0;
        loop {
            let (keys, next) = store.list_keys("b", cursor, 2).unwrap();
            assert!(keys.len() <= 2);
            seen.extend(keys);
            pages += 1;
            match next {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        assert_eq!(seen, ["a", "b", "c", "d", "e"]);
        assert_eq!(pages, 3);

        // An exact multiple of the page size ends without an empty extra page.
        let (keys, next) = store.list_keys("b", Some(3), 2).unwrap();
        assert_eq!(keys, ["d", "e"]);
        assert_eq!(next, None);
        assert_eq!(store.list_keys("empty", None, 2).unwrap(), (vec![], None));
    }

    #[test]
    fn entries_are_sorted_by_key() {
        let store = SqliteStorage::in_memory().unwrap();
        store.set("b", "y", b"2").unwrap();
        store.set("b", "x", b"1").unwrap();
        assert_eq!(
            store.entries("b").unwrap(),
            [
                ("x".to_owned(), b"1".to_vec()),
                ("y".to_owned(), b"2".to_vec())
            ]
        );
    }

    #[test]
    fn file_store_persists_across_reopen() {
        let path = std::env::temp_dir().join(format!(
            "test-host-kv-{}-{}.sqlite",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        {
            let store = SqliteStorage::open(&path).unwrap();
            store.set("b", "k", b"kept").unwrap();
        }
        let reopened = SqliteStorage::open(&path).unwrap();
        let value = reopened.get("b", "k").unwrap();
        drop(reopened);
        for suffix in ["", "-wal", "-shm"] {
            let mut file = path.clone().into_os_string();
            file.push(suffix);
            let _ = std::fs::remove_file(file);
        }
        assert_eq!(value.as_deref(), Some(&b"kept"[..]));
    }

    #[test]
    fn full_storage_is_reported_as_write_failure() {
        let store = SqliteStorage::in_memory().unwrap();
        // Cap the database at its current size so the next large write cannot fit.
        let pages: i64 = store
            .conn
            .query_row("PRAGMA page_count", [], |row| row.get(0))
            .unwrap();
        store
            .conn
            .pragma_update(None, "max_page_count", pages)
            .unwrap();
        let error = store.set("b", "big", &vec![0; 1 << 20]).unwrap_err();
        assert_eq!(
            error.to_string(),
            "storage write failed: database or disk is full"
        );
    }
}

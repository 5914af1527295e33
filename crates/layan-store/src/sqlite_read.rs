//! SQLite's hottest reads — a visitor by their token (every widget request), a conversation, its
//! summary for the hub (every message), a message with its conversation (every follow-up job) —
//! run on the calling thread through rusqlite instead of through sqlx. sqlx runs each SQLite
//! connection on a thread of its own: every query is handed to that thread and its rows handed
//! back, and the connection is pinged when it returns to the pool; for a read of one row by key
//! that is a few microseconds of SQLite and tens of microseconds of waking threads
//! (BENCHMARKS.md, conversations created). A read by key from the page cache takes microseconds,
//! short enough to run on an async worker. Only such reads belong here: nothing that scans.

use std::{
    path::{Path, PathBuf},
    sync::Mutex,
};

use rusqlite::{Connection, OpenFlags};

use crate::{StoreResult, rows::Positional, sqlite_append::error};

/// Idle read connections kept (one per thread reading at once: the async workers).
const KEEP: usize = 8;

/// Read-only rusqlite connections to the database file, each used by one caller at a time.
pub(crate) struct PointReads {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

impl PointReads {
    pub(crate) fn new(path: &Path) -> Self {
        Self {
            path: path.to_owned(),
            idle: Mutex::new(Vec::new()),
        }
    }

    /// The first row of `sql` with `params`, read by `read` (columns by name, found by position);
    /// `None` when there is none.
    pub(crate) fn one<T>(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
        read: impl FnOnce(&Positional<'_, '_, '_>) -> StoreResult<T>,
    ) -> StoreResult<Option<T>> {
        let conn = self.take()?;
        let result = first_row(&conn, sql, params, read);
        if let Ok(mut idle) = self.idle.lock()
            && idle.len() < KEEP
        {
            idle.push(conn);
        }
        result
    }

    /// Closes the idle connections (the store is closing).
    pub(crate) fn close(&self) {
        if let Ok(mut idle) = self.idle.lock() {
            idle.clear();
        }
    }

    fn take(&self) -> StoreResult<Connection> {
        if let Some(conn) = self.idle.lock().ok().and_then(|mut idle| idle.pop()) {
            return Ok(conn);
        }
        let conn = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY
                | OpenFlags::SQLITE_OPEN_NO_MUTEX
                | OpenFlags::SQLITE_OPEN_URI,
        )
        .map_err(error)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(error)?;
        conn.set_prepared_statement_cache_capacity(16);
        Ok(conn)
    }
}

fn first_row<T>(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
    read: impl FnOnce(&Positional<'_, '_, '_>) -> StoreResult<T>,
) -> StoreResult<Option<T>> {
    let mut statement = conn.prepare_cached(sql).map_err(error)?;
    let names: Vec<String> = statement
        .column_names()
        .into_iter()
        .map(str::to_owned)
        .collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let mut rows = statement.query(params).map_err(error)?;
    match rows.next().map_err(error)? {
        Some(row) => read(&Positional { row, names: &names }).map(Some),
        None => Ok(None),
    }
}

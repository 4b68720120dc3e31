//! A small builder for SQL with numbered placeholders (`$1`, `$2` …), which both SQLite and
//! PostgreSQL read, and the row decoding helpers shared by the queries.

use crate::{Backend, Result, StoreError};
use sqlx::any::{AnyArguments, AnyRow};
use sqlx::postgres::{PgArguments, PgRow};
use sqlx::query::Query;
use sqlx::{Any, Postgres, Row};

/// A bound value. Each variant carries its column's type whether or not it holds a value: a
/// missing value is `Text(None)`, `Int(None)` or `Bool(None)`, chosen by the Rust type it came
/// from, and binds as a NULL *of that type*. (An untyped NULL cannot be written: PostgreSQL
/// prepares a statement with the types of its first arguments and caches it per connection, so a
/// NULL typed as an integer for a text column broke the next call with a value on that
/// connection, and `COALESCE($1, text_column)` could not even be prepared.)
#[derive(Debug, Clone)]
pub(crate) enum Arg {
    Int(Option<i64>),
    Text(Option<String>),
    Bool(Option<bool>),
    /// Text written by serde_json, bound as text. It never holds a raw U+0000 (serde_json writes
    /// the escape `\u0000`), so the NUL check skips it: a finding's JSON is most of the bytes an
    /// import binds.
    Json(String),
}

impl From<i64> for Arg {
    fn from(v: i64) -> Self {
        Arg::Int(Some(v))
    }
}
impl From<bool> for Arg {
    fn from(v: bool) -> Self {
        Arg::Bool(Some(v))
    }
}
impl From<String> for Arg {
    fn from(v: String) -> Self {
        Arg::Text(Some(v))
    }
}
impl From<&str> for Arg {
    fn from(v: &str) -> Self {
        Arg::Text(Some(v.to_string()))
    }
}
impl From<Option<i64>> for Arg {
    fn from(v: Option<i64>) -> Self {
        Arg::Int(v)
    }
}
impl From<Option<bool>> for Arg {
    fn from(v: Option<bool>) -> Self {
        Arg::Bool(v)
    }
}
impl From<Option<String>> for Arg {
    fn from(v: Option<String>) -> Self {
        Arg::Text(v)
    }
}
impl From<Option<&str>> for Arg {
    fn from(v: Option<&str>) -> Self {
        Arg::Text(v.map(str::to_string))
    }
}

impl rusqlite::ToSql for Arg {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef};
        Ok(ToSqlOutput::Borrowed(match self {
            Arg::Int(Some(v)) => ValueRef::Integer(*v),
            Arg::Text(Some(v)) => ValueRef::Text(v.as_bytes()),
            Arg::Bool(Some(v)) => ValueRef::Integer(i64::from(*v)),
            Arg::Json(v) => ValueRef::Text(v.as_bytes()),
            Arg::Int(None) | Arg::Text(None) | Arg::Bool(None) => ValueRef::Null,
        }))
    }
}

/// The refusal of text holding U+0000: PostgreSQL's text cannot store it, so neither backend
/// takes it (text from reports is cleaned before it gets here; see `import::Incoming`).
pub(crate) fn refuse_nul(text: &str) -> Result<()> {
    if !text.as_bytes().contains(&0) {
        return Ok(());
    }
    let mut shown: String = text.chars().take(60).collect();
    if shown.len() < text.len() {
        shown.push('…');
    }
    Err(StoreError::Invalid(format!(
        "{shown:?} contains a NUL character (U+0000), which the hub does not store or search for; remove it"
    )))
}

/// SQL text plus its arguments, placeholders numbered as they are pushed.
#[derive(Debug, Default, Clone)]
pub(crate) struct Sql {
    pub text: String,
    pub args: Vec<Arg>,
    sqlite_text: std::sync::OnceLock<String>,
}

/// `$1, $2 …` → `?, ? …`. Placeholders are numbered in the order they were pushed, so positional
/// binding is the same binding. (No SQL text of the store holds a `$` anywhere else.)
fn anonymous_placeholders(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '$' && chars.peek().is_some_and(char::is_ascii_digit) {
            while chars.peek().is_some_and(char::is_ascii_digit) {
                chars.next();
            }
            out.push('?');
        } else {
            out.push(c);
        }
    }
    out
}

impl Sql {
    pub fn new(text: impl Into<String>) -> Self {
        Sql {
            text: text.into(),
            args: Vec::new(),
            sqlite_text: std::sync::OnceLock::new(),
        }
    }

    /// Appends text.
    pub fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    /// Appends a placeholder bound to `arg`.
    pub fn arg(&mut self, arg: impl Into<Arg>) -> &mut Self {
        self.args.push(arg.into());
        self.text.push('$');
        self.text.push_str(&self.args.len().to_string());
        self
    }

    /// Appends `other` whole: its text, its placeholders numbered on after this one's, and its
    /// arguments (a statement built apart becomes a part of this one).
    pub fn embed(&mut self, other: &Sql) -> &mut Self {
        let offset = self.args.len();
        let mut chars = other.text.chars().peekable();
        while let Some(c) = chars.next() {
            self.text.push(c);
            if c == '$' && chars.peek().is_some_and(char::is_ascii_digit) {
                let mut n = 0usize;
                while let Some(d) = chars.peek().and_then(|d| d.to_digit(10)) {
                    n = n * 10 + d as usize;
                    chars.next();
                }
                self.text.push_str(&(n + offset).to_string());
            }
        }
        self.args.extend(other.args.iter().cloned());
        self
    }

    /// Appends `(…, …)` of placeholders bound to `items`.
    pub fn list<T: Into<Arg>>(&mut self, items: impl IntoIterator<Item = T>) -> &mut Self {
        self.text.push('(');
        for (i, item) in items.into_iter().enumerate() {
            if i > 0 {
                self.text.push_str(", ");
            }
            self.arg(item);
        }
        self.text.push(')');
        self
    }

    /// The text with anonymous `?` placeholders (SQLite's).
    pub fn sqlite_text(&self) -> &str {
        self.sqlite_text
            .get_or_init(|| anonymous_placeholders(&self.text))
    }

    /// Every text argument free of U+0000 (else `Invalid`): the one check all values pass on
    /// their way to either backend.
    fn check(&self) -> Result<()> {
        for a in &self.args {
            if let Arg::Text(Some(t)) = a {
                refuse_nul(t)?;
            }
        }
        Ok(())
    }

    /// The query for `backend`, every argument bound with its own type (NULLs too). SQLite gets
    /// anonymous `?` placeholders: it looks up a numbered parameter's name by a linear scan,
    /// which made large multi-row INSERTs quadratic.
    pub fn query(&self, backend: Backend) -> Result<Query<'_, Any, AnyArguments<'_>>> {
        self.check()?;
        Ok(bound(
            match backend {
                Backend::Postgres => sqlx::query(&self.text),
                Backend::Sqlite => sqlx::query(self.sqlite_text()),
            },
            &self.args,
        ))
    }

    /// The query for PostgreSQL's typed connections (`postgres_read`), bound as `query` binds.
    pub fn pg_query(&self) -> Result<Query<'_, Postgres, PgArguments>> {
        self.check()?;
        Ok(bound(sqlx::query(&self.text), &self.args))
    }

    /// The arguments for SQLite's direct read path (rusqlite), checked like `query`'s.
    pub fn sqlite_params(&self) -> Result<rusqlite::ParamsFromIter<&Vec<Arg>>> {
        self.check()?;
        Ok(rusqlite::params_from_iter(&self.args))
    }
}

/// `q` with `args` bound in order, each with its own type (NULLs too).
fn bound<'q, DB: sqlx::Database>(
    mut q: Query<'q, DB, <DB as sqlx::Database>::Arguments<'q>>,
    args: &'q [Arg],
) -> Query<'q, DB, <DB as sqlx::Database>::Arguments<'q>>
where
    Option<i64>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    Option<bool>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    Option<&'q str>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    &'q str: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    for a in args {
        q = match a {
            Arg::Int(v) => q.bind(*v),
            Arg::Text(v) => q.bind(v.as_deref()),
            Arg::Bool(v) => q.bind(*v),
            Arg::Json(v) => q.bind(v.as_str()),
        };
    }
    q
}

/// A row's columns read by name, from either kind of row the store's sqlx statements give:
/// `AnyRow` (most statements) and `PgRow` (PostgreSQL's typed reads, `postgres_read`).
pub(crate) trait Columns {
    fn i64(&self, col: &str) -> Result<i64>;
    fn opt_i64(&self, col: &str) -> Result<Option<i64>>;
    fn string(&self, col: &str) -> Result<String>;
    fn opt_string(&self, col: &str) -> Result<Option<String>>;
    fn boolean(&self, col: &str) -> Result<bool>;
}

impl Columns for AnyRow {
    fn i64(&self, col: &str) -> Result<i64> {
        get_i64(self, col)
    }
    fn opt_i64(&self, col: &str) -> Result<Option<i64>> {
        get_opt_i64(self, col)
    }
    fn string(&self, col: &str) -> Result<String> {
        get_str(self, col)
    }
    fn opt_string(&self, col: &str) -> Result<Option<String>> {
        get_opt_str(self, col)
    }
    fn boolean(&self, col: &str) -> Result<bool> {
        get_bool(self, col)
    }
}

/// PostgreSQL's own types: an integer of any width reads as `i64` (as the `Any` driver reads
/// it), looked up by the column's type first (a failed typed read formats an error).
impl Columns for PgRow {
    fn i64(&self, col: &str) -> Result<i64> {
        self.opt_i64(col)?
            .ok_or_else(|| StoreError::Corrupt(format!("column {col} is NULL")))
    }
    fn opt_i64(&self, col: &str) -> Result<Option<i64>> {
        use sqlx::{TypeInfo as _, ValueRef as _};
        let raw = self.try_get_raw(col)?;
        if raw.is_null() {
            return Ok(None);
        }
        let ty = raw.type_info();
        Ok(Some(match ty.name() {
            "INT4" => i64::from(self.try_get::<i32, _>(col)?),
            "INT2" => i64::from(self.try_get::<i16, _>(col)?),
            _ => self.try_get::<i64, _>(col)?,
        }))
    }
    fn string(&self, col: &str) -> Result<String> {
        Ok(self.try_get::<String, _>(col)?)
    }
    fn opt_string(&self, col: &str) -> Result<Option<String>> {
        Ok(self.try_get::<Option<String>, _>(col)?)
    }
    fn boolean(&self, col: &str) -> Result<bool> {
        Ok(self.try_get::<bool, _>(col)?)
    }
}

pub(crate) fn get_i64(row: &AnyRow, col: &str) -> Result<i64> {
    row.try_get::<i64, _>(col).map_err(StoreError::from)
}

pub(crate) fn get_opt_i64(row: &AnyRow, col: &str) -> Result<Option<i64>> {
    row.try_get::<Option<i64>, _>(col).map_err(StoreError::from)
}

pub(crate) fn get_str(row: &AnyRow, col: &str) -> Result<String> {
    row.try_get::<String, _>(col).map_err(StoreError::from)
}

pub(crate) fn get_opt_str(row: &AnyRow, col: &str) -> Result<Option<String>> {
    row.try_get::<Option<String>, _>(col)
        .map_err(StoreError::from)
}

/// Booleans come back as BOOLEAN from PostgreSQL and as INTEGER 0/1 from SQLite. The column's type
/// is looked at first: a failed typed read formats an error, which showed up in profiles.
pub(crate) fn get_bool(row: &AnyRow, col: &str) -> Result<bool> {
    use sqlx::any::AnyTypeInfoKind;
    use sqlx::ValueRef as _;
    let raw = row.try_get_raw(col)?;
    let is_bool = !raw.is_null() && raw.type_info().kind() == AnyTypeInfoKind::Bool;
    if is_bool {
        Ok(row.try_get::<bool, _>(col)?)
    } else {
        Ok(row.try_get::<Option<i64>, _>(col)?.unwrap_or(0) != 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_gets_anonymous_placeholders_in_order() {
        let mut q = Sql::new("SELECT a FROM t WHERE x = ");
        q.arg(1i64).push(" AND y IN ").list([2i64, 3]);
        assert_eq!(q.text, "SELECT a FROM t WHERE x = $1 AND y IN ($2, $3)");
        assert_eq!(
            anonymous_placeholders(&q.text),
            "SELECT a FROM t WHERE x = ? AND y IN (?, ?)"
        );
        assert_eq!(q.args.len(), 3);
    }

    #[test]
    fn an_embedded_statement_numbers_its_placeholders_on() {
        let mut inner = Sql::new("SELECT id FROM t WHERE a = ");
        for i in 0..11i64 {
            inner.arg(i).push(" OR a = ");
        }
        inner.arg("last");
        let mut q = Sql::new("SELECT ");
        q.arg(100i64)
            .push(", ARRAY(")
            .embed(&inner)
            .push(") WHERE b = ")
            .arg(true);
        assert_eq!(q.args.len(), 14);
        assert!(q
            .text
            .starts_with("SELECT $1, ARRAY(SELECT id FROM t WHERE a = $2 OR a = $3"));
        assert!(
            q.text.ends_with("OR a = $12 OR a = $13) WHERE b = $14"),
            "{}",
            q.text
        );
        assert!(matches!(&q.args[12], Arg::Text(Some(t)) if t == "last"));
        assert!(matches!(q.args[13], Arg::Bool(Some(true))));
    }

    #[test]
    fn a_missing_value_keeps_its_type_and_text_with_nul_is_refused() {
        assert!(matches!(Arg::from(None::<&str>), Arg::Text(None)));
        assert!(matches!(Arg::from(None::<String>), Arg::Text(None)));
        assert!(matches!(Arg::from(None::<i64>), Arg::Int(None)));
        assert!(matches!(Arg::from(None::<bool>), Arg::Bool(None)));
        let mut q = Sql::new("SELECT 1 WHERE x = ");
        q.arg("a\0b");
        for backend in [Backend::Sqlite, Backend::Postgres] {
            match q.query(backend) {
                Err(StoreError::Invalid(m)) => assert!(m.contains("NUL character (U+0000)"), "{m}"),
                _ => panic!("text with U+0000 was bound"),
            }
        }
        assert!(q.sqlite_params().is_err());
        let mut ok = Sql::new("SELECT 1 WHERE x = ");
        ok.arg("a\u{FFFD}b").push(" AND y = ").arg(None::<&str>);
        assert!(ok.query(Backend::Postgres).is_ok());
    }
}

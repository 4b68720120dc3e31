//! A small builder for SQL with numbered placeholders (`$1`, `$2` …), which both SQLite and
//! PostgreSQL read, and the row decoding helpers shared by the queries.

use crate::{Backend, Result, StoreError};
use sqlx::any::{AnyArguments, AnyRow};
use sqlx::query::Query;
use sqlx::{Any, Row};

#[derive(Debug, Clone)]
pub(crate) enum Arg {
    Int(i64),
    Text(String),
    Bool(bool),
    Null,
}

impl From<i64> for Arg {
    fn from(v: i64) -> Self {
        Arg::Int(v)
    }
}
impl From<bool> for Arg {
    fn from(v: bool) -> Self {
        Arg::Bool(v)
    }
}
impl From<String> for Arg {
    fn from(v: String) -> Self {
        Arg::Text(v)
    }
}
impl From<&str> for Arg {
    fn from(v: &str) -> Self {
        Arg::Text(v.to_string())
    }
}
impl<T: Into<Arg>> From<Option<T>> for Arg {
    fn from(v: Option<T>) -> Self {
        v.map_or(Arg::Null, Into::into)
    }
}

impl rusqlite::ToSql for Arg {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef};
        Ok(ToSqlOutput::Borrowed(match self {
            Arg::Int(v) => ValueRef::Integer(*v),
            Arg::Text(v) => ValueRef::Text(v.as_bytes()),
            Arg::Bool(v) => ValueRef::Integer(i64::from(*v)),
            Arg::Null => ValueRef::Null,
        }))
    }
}

/// SQL text plus its arguments, placeholders numbered as they are pushed.
#[derive(Debug, Default)]
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

    /// The query for `backend`. SQLite gets anonymous `?` placeholders: it looks up a numbered
    /// parameter's name by a linear scan, which made large multi-row INSERTs quadratic.
    pub fn query(&self, backend: Backend) -> Query<'_, Any, AnyArguments<'_>> {
        let mut q = match backend {
            Backend::Postgres => sqlx::query(&self.text),
            Backend::Sqlite => sqlx::query(self.sqlite_text()),
        };
        for a in &self.args {
            q = match a {
                Arg::Int(v) => q.bind(*v),
                Arg::Text(v) => q.bind(v.as_str()),
                Arg::Bool(v) => q.bind(*v),
                Arg::Null => q.bind(Option::<i64>::None),
            };
        }
        q
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
}

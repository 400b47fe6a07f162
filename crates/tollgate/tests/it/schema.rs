//! The SQLite and PostgreSQL schemas stay in step column by column (`store/rows.rs` reads the
//! rows of both with the same code): every table has the same columns on both sides, each
//! nullable on both or on neither, of the same type family (text, integer, bytes, boolean).
//!
//! Both migration directories are applied to empty databases (a temporary SQLite file and a
//! fresh PostgreSQL database) and the resulting columns compared: `pragma_table_info` against
//! `information_schema.columns`. In the PostgreSQL pass the live comparison always runs; in the
//! SQLite pass it runs when the test PostgreSQL server answers, and otherwise the PostgreSQL
//! side is read from the migration files themselves (a small parser of `CREATE TABLE` and
//! `ALTER TABLE`, which the live runs check against the real schemas of both databases).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use sqlx::{Connection, Row};

use crate::pg::{self, PgDatabase};

/// What both databases can say of a column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Column {
    family: &'static str,
    not_null: bool,
}

/// Table → column → description.
type Schema = BTreeMap<String, BTreeMap<String, Column>>;

/// Columns that differ on purpose, with the reason. The test fails if one stops differing, so
/// the list never outlives its entries.
const KNOWN_DIFFERENCES: &[(&str, &str, &str)] = &[
    (
        "signing_keys",
        "seq",
        "PostgreSQL only: SQLite orders keys by its rowid (`rowid AS seq`)",
    ),
    (
        "client_secrets",
        "expiry_recorded",
        "SQLite has no boolean type: INTEGER 0/1 there, BOOLEAN in PostgreSQL",
    ),
];

/// Tables that are not Tollgate's.
const IGNORED_TABLES: &[&str] = &["_sqlx_migrations", "sqlite_sequence"];

fn migrations(db: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(db)
}

/// The type family of a declared or reported column type.
fn family(declared: &str) -> &'static str {
    let t = declared.to_ascii_uppercase();
    if t.contains("INT") {
        "integer"
    } else if t.contains("TEXT") || t.contains("CHAR") {
        "text"
    } else if t.contains("BLOB") || t.contains("BYTEA") {
        "bytes"
    } else if t.starts_with("BOOL") {
        "boolean"
    } else {
        "other"
    }
}

async fn sqlite_schema(dir: &Path) -> Schema {
    let url = format!("sqlite://{}?mode=rwc", dir.join("schema.db").display());
    let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
    sqlx::migrate::Migrator::new(migrations("sqlite"))
        .await
        .unwrap()
        .run(&mut conn)
        .await
        .unwrap();
    let rows = sqlx::query(
        "SELECT m.name AS tbl, p.name AS col, p.type AS type, p.\"notnull\" AS nn, p.pk AS pk \
         FROM sqlite_master m JOIN pragma_table_info(m.name) p WHERE m.type = 'table'",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    let mut schema = Schema::new();
    for row in rows {
        let (table, column, declared): (String, String, String) =
            (row.get("tbl"), row.get("col"), row.get("type"));
        let (nn, pk): (i64, i64) = (row.get("nn"), row.get("pk"));
        if IGNORED_TABLES.contains(&table.as_str()) {
            continue;
        }
        // The client search's trigram index: an FTS5 table and its shadow tables on SQLite,
        // indexes (not tables) on PostgreSQL.
        if table.starts_with("clients_search") {
            continue;
        }
        // An INTEGER PRIMARY KEY is the rowid, which is never NULL.
        let rowid = pk > 0 && declared.eq_ignore_ascii_case("INTEGER");
        let col = Column {
            family: family(&declared),
            not_null: nn != 0 || rowid,
        };
        schema.entry(table).or_default().insert(column, col);
    }
    let _ = conn.close().await;
    schema
}

async fn postgres_schema(url: String) -> Schema {
    // A pool of one: `Migrator::run(&mut PgConnection)` makes the future not `Send`.
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect(&url)
        .await
        .unwrap();
    sqlx::migrate::Migrator::new(migrations("postgres"))
        .await
        .unwrap()
        .run(&pool)
        .await
        .unwrap();
    let rows = sqlx::query(
        "SELECT table_name::text AS tbl, column_name::text AS col, data_type::text AS type, \
         is_nullable::text AS nullable FROM information_schema.columns \
         WHERE table_schema = 'public'",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let mut schema = Schema::new();
    for row in rows {
        let (table, column, declared, nullable): (String, String, String, String) = (
            row.get("tbl"),
            row.get("col"),
            row.get("type"),
            row.get("nullable"),
        );
        if IGNORED_TABLES.contains(&table.as_str()) {
            continue;
        }
        let col = Column {
            family: family(&declared),
            not_null: nullable == "NO",
        };
        schema.entry(table).or_default().insert(column, col);
    }
    pool.close().await;
    schema
}

/// The schema the migration files of `db` declare, read from their text: `CREATE TABLE` and
/// the `ALTER TABLE` forms the migrations use (add, drop and rename a column, set or drop
/// NOT NULL). A column is NOT NULL when declared so or as the primary key.
fn declared_schema(db: &str) -> Schema {
    let mut files: Vec<PathBuf> = std::fs::read_dir(migrations(db))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let mut schema = Schema::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let text: String = text
            .lines()
            .map(|l| l.split("--").next().unwrap_or_default())
            .collect::<Vec<_>>()
            .join(" ");
        for statement in text.split(';') {
            let words: Vec<&str> = statement.split_whitespace().collect();
            let upper: Vec<String> = words.iter().map(|w| w.to_ascii_uppercase()).collect();
            let upper: Vec<&str> = upper.iter().map(String::as_str).collect();
            match upper.as_slice() {
                ["CREATE", "TABLE", ..] => {
                    let table = words[2].trim_end_matches('(').to_owned();
                    let (open, close) =
                        (statement.find('(').unwrap(), statement.rfind(')').unwrap());
                    let columns = schema.entry(table).or_default();
                    for item in split_top_level(&statement[open + 1..close]) {
                        if let Some((name, col)) = column_definition(&item) {
                            columns.insert(name, col);
                        }
                    }
                }
                ["ALTER", "TABLE", _, "ADD", "COLUMN", ..] => {
                    let rest = words[5..].join(" ");
                    let (name, col) = column_definition(&rest).unwrap();
                    schema
                        .entry(words[2].to_owned())
                        .or_default()
                        .insert(name, col);
                }
                ["ALTER", "TABLE", _, "DROP", "COLUMN", ..] => {
                    schema
                        .entry(words[2].to_owned())
                        .or_default()
                        .remove(words[5]);
                }
                ["ALTER", "TABLE", _, "RENAME", "COLUMN", _, "TO", _] => {
                    let columns = schema.entry(words[2].to_owned()).or_default();
                    if let Some(col) = columns.remove(words[5]) {
                        columns.insert(words[7].to_owned(), col);
                    }
                }
                [
                    "ALTER",
                    "TABLE",
                    _,
                    "ALTER",
                    "COLUMN",
                    _,
                    set,
                    "NOT",
                    "NULL",
                ] => {
                    let columns = schema.entry(words[2].to_owned()).or_default();
                    if let Some(col) = columns.get_mut(words[5]) {
                        col.not_null = *set == "SET";
                    }
                }
                _ => {}
            }
        }
    }
    schema
}

/// Splits a `CREATE TABLE` body on the commas outside parentheses.
fn split_top_level(body: &str) -> Vec<String> {
    let (mut items, mut current, mut depth) = (Vec::new(), String::new(), 0);
    for c in body.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                items.push(std::mem::take(&mut current));
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    items.push(current);
    items
}

/// `name TYPE constraints…`; `None` for a table constraint.
fn column_definition(item: &str) -> Option<(String, Column)> {
    let words: Vec<&str> = item.split_whitespace().collect();
    let first = words.first()?.to_ascii_uppercase();
    if ["CHECK", "PRIMARY", "UNIQUE", "FOREIGN", "CONSTRAINT"].contains(&first.as_str()) {
        return None;
    }
    let rest = words.join(" ").to_ascii_uppercase();
    Some((
        words[0].to_owned(),
        Column {
            family: family(words.get(1)?),
            not_null: rest.contains("NOT NULL") || rest.contains("PRIMARY KEY"),
        },
    ))
}

/// Every way `sqlite` and `postgres` differ, except the known differences (which must still
/// differ).
fn differences(sqlite: &Schema, postgres: &Schema) -> Vec<String> {
    let mut out = Vec::new();
    let empty = BTreeMap::new();
    let tables: std::collections::BTreeSet<&String> =
        sqlite.keys().chain(postgres.keys()).collect();
    for table in tables {
        let (s, p) = (
            sqlite.get(table).unwrap_or(&empty),
            postgres.get(table).unwrap_or(&empty),
        );
        if s.is_empty() || p.is_empty() {
            let only = if s.is_empty() { "PostgreSQL" } else { "SQLite" };
            out.push(format!("table {table} exists in {only} only"));
            continue;
        }
        let columns: std::collections::BTreeSet<&String> = s.keys().chain(p.keys()).collect();
        for column in columns {
            let (sc, pc) = (s.get(column), p.get(column));
            let known = KNOWN_DIFFERENCES
                .iter()
                .any(|(t, c, _)| t == table && c == column);
            match (sc, pc, known) {
                (Some(a), Some(b), false) if a == b => {}
                (Some(a), Some(b), true) if a == b => out.push(format!(
                    "{table}.{column} is listed in KNOWN_DIFFERENCES but no longer differs: \
                     remove it from the list"
                )),
                (_, _, true) => {}
                (Some(_), None, false) => out.push(format!(
                    "{table}.{column} exists in SQLite only: add it to migrations/postgres"
                )),
                (None, Some(_), false) => out.push(format!(
                    "{table}.{column} exists in PostgreSQL only: add it to migrations/sqlite"
                )),
                (Some(a), Some(b), false) => {
                    out.push(format!("{table}.{column}: SQLite {a:?}, PostgreSQL {b:?}"))
                }
                (None, None, _) => {}
            }
        }
    }
    out
}

#[tokio::test]
async fn both_schemas_have_the_same_columns() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = sqlite_schema(dir.path()).await;
    assert!(sqlite.contains_key("clients"), "{sqlite:?}");
    // The parser reads this dialect as the database does.
    assert_eq!(
        declared_schema("sqlite"),
        sqlite,
        "the migration parser (SQLite)"
    );

    let postgres = if pg::postgres() || pg::reachable() {
        let db = PgDatabase::create();
        let live = pg::block_on(postgres_schema(db.url.clone()));
        assert_eq!(
            declared_schema("postgres"),
            live,
            "the migration parser (PostgreSQL)"
        );
        live
    } else {
        eprintln!(
            "both_schemas_have_the_same_columns: PostgreSQL at {} does not answer; its schema \
             is read from migrations/postgres instead (the PostgreSQL pass compares it live)",
            pg::admin_url()
        );
        declared_schema("postgres")
    };

    let diff = differences(&sqlite, &postgres);
    assert!(
        diff.is_empty(),
        "the SQLite and PostgreSQL schemas differ:\n  {}",
        diff.join("\n  ")
    );
}

/// The comparison itself notices a column one side lacks, a nullability or type mismatch, and
/// a known difference that went away.
#[test]
fn the_comparison_catches_drift() {
    let col = |family, not_null| Column { family, not_null };
    let schema = |cols: &[(&str, Column)]| -> Schema {
        let mut s = Schema::new();
        for (name, c) in cols {
            let (t, c_name) = name.split_once('.').unwrap();
            s.entry(t.to_owned())
                .or_default()
                .insert(c_name.to_owned(), *c);
        }
        s
    };
    let base = [("clients.name", col("text", true))];
    assert!(differences(&schema(&base), &schema(&base)).is_empty());
    let extra = [
        ("clients.name", col("text", true)),
        ("clients.contact", col("text", false)),
    ];
    assert_eq!(
        differences(&schema(&extra), &schema(&base)),
        ["clients.contact exists in SQLite only: add it to migrations/postgres"]
    );
    assert_eq!(differences(&schema(&base), &schema(&extra)).len(), 1);
    let nullable = [("clients.name", col("text", false))];
    assert_eq!(differences(&schema(&base), &schema(&nullable)).len(), 1);
    let bytes = [("clients.name", col("bytes", true))];
    assert_eq!(differences(&schema(&base), &schema(&bytes)).len(), 1);
    let same_seq = [
        ("clients.name", col("text", true)),
        ("signing_keys.seq", col("integer", true)),
    ];
    assert_eq!(differences(&schema(&same_seq), &schema(&same_seq)).len(), 1);
}

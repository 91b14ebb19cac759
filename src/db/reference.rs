//! Reference data shipped with the binary and loaded at start-up:
//! GB/T 2260 administrative divisions and the official holiday calendar
//! (`reference/*.csv`, copied from the project's shared data).

use anyhow::Context;
use serde::Deserialize;
use sqlx::PgPool;
use std::collections::HashMap;

/// GB/T 2260 divisions: code, name, level, parent_code.
pub const DIVISIONS_CSV: &str = include_str!("../../reference/cn_divisions.csv");
/// Official holidays and make-up workdays: date, kind, holiday_en, holiday_zh.
pub const CALENDAR_CSV: &str = include_str!("../../reference/cn_calendar_adjustments.csv");

#[derive(Debug, Deserialize)]
struct DivisionRow {
    code: String,
    name: String,
    level: String,
    parent_code: String,
}

/// Loads the divisions when their row count differs from the shipped file
/// (first start, or a newer file), and seeds the calendar's years that the
/// database does not hold yet (never a year the operator loaded).
/// Idempotent.
pub async fn load(pool: &PgPool) -> anyhow::Result<()> {
    crate::calendar::store::seed_reference(pool, CALENDAR_CSV).await?;
    let rows: Vec<DivisionRow> = csv::Reader::from_reader(DIVISIONS_CSV.as_bytes())
        .deserialize()
        .collect::<Result<_, _>>()
        .context("parsing cn_divisions.csv")?;
    // A few prefecture-level cities without counties (东莞 441900, 中山 442000,
    // 儋州 460400) appear twice: as a city, and as a county whose parent is
    // itself. Keep the city row.
    let mut seen = std::collections::HashSet::new();
    let divisions: Vec<DivisionRow> = rows
        .into_iter()
        .filter(|d| d.parent_code != d.code && seen.insert(d.code.clone()))
        .collect();
    let have_div: i64 = sqlx::query_scalar("select count(*) from division")
        .fetch_one(pool)
        .await?;
    if have_div as usize == divisions.len() {
        return Ok(());
    }

    let by_code: HashMap<&str, &DivisionRow> =
        divisions.iter().map(|d| (d.code.as_str(), d)).collect();
    let mut codes = Vec::new();
    let mut names = Vec::new();
    let mut levels = Vec::new();
    let mut parents = Vec::new();
    let mut provinces = Vec::new();
    let mut cities = Vec::new();
    for d in &divisions {
        let (mut province, mut city) = (None, None);
        let mut cur = Some(d);
        // Province → city → county: three steps at most.
        for _ in 0..3 {
            let Some(c) = cur else { break };
            match c.level.as_str() {
                "province" => province = Some(c.code.clone()),
                "city" => city = Some(c.code.clone()),
                _ => {}
            }
            cur = by_code.get(c.parent_code.as_str()).copied();
        }
        codes.push(d.code.clone());
        names.push(d.name.clone());
        levels.push(d.level.clone());
        parents.push((!d.parent_code.is_empty()).then(|| d.parent_code.clone()));
        provinces.push(province.with_context(|| format!("division {} has no province", d.code))?);
        cities.push(city);
    }

    let mut tx = pool.begin().await?;
    // One statement: the self-referencing foreign key is checked at its end.
    sqlx::query(
        "insert into division (code, name, level, parent_code, province_code, city_code)
         select * from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[])
         on conflict (code) do update set name = excluded.name, level = excluded.level,
           parent_code = excluded.parent_code, province_code = excluded.province_code,
           city_code = excluded.city_code",
    )
    .bind(&codes)
    .bind(&names)
    .bind(&levels)
    .bind(&parents)
    .bind(&provinces)
    .bind(&cities)
    .execute(&mut *tx)
    .await
    .context("loading divisions")?;

    tx.commit().await?;
    Ok(())
}

/// The divisions table for the rules module, parsed once.
pub fn divisions() -> &'static crate::rules::divisions::Divisions {
    static D: std::sync::OnceLock<crate::rules::divisions::Divisions> = std::sync::OnceLock::new();
    D.get_or_init(|| {
        crate::rules::divisions::Divisions::from_csv(DIVISIONS_CSV)
            .expect("the shipped divisions file parses")
    })
}

/// The page name of division `code` ([`Divisions::path`]), from a table
/// built once: what the database's `division_path` returns, without a
/// statement. `None` for a code that is no division.
///
/// [`Divisions::path`]: crate::rules::divisions::Divisions::path
pub fn division_path(code: &str) -> Option<&'static str> {
    static PATHS: std::sync::OnceLock<HashMap<String, String>> = std::sync::OnceLock::new();
    PATHS
        .get_or_init(|| {
            let d = divisions();
            d.codes()
                .filter_map(|c| Some((c.to_string(), d.path(c)?)))
                .collect()
        })
        .get(code)
        .map(String::as_str)
}

/// The shipped reference calendar (2004–2026), parsed once: what a fresh
/// database is seeded with, and the fixture of unit tests. The workflows
/// use the operated calendar ([`crate::calendar::store::current`]).
pub fn calendar() -> &'static crate::rules::calendar::Calendar {
    static C: std::sync::OnceLock<crate::rules::calendar::Calendar> = std::sync::OnceLock::new();
    C.get_or_init(|| {
        crate::rules::calendar::Calendar::from_csv(CALENDAR_CSV)
            .expect("the shipped calendar file parses")
    })
}

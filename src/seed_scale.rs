//! `jiliang seed-scale --stations N`: national-scale test data (issue 14),
//! the data every scale benchmark uses. Like `seed-demo` it refuses outside
//! demo mode: every generated account has the demo password.
//!
//! Everything goes through the schema's real constraints and triggers
//! (station visibility, R3.1 head check, authorization snapshots), set
//! based: each kind of row is one `insert … select` over `generate_series`
//! or `unnest` (architecture.md §9, bulk writes). The spread is
//! deterministic (no random numbers): row `i` takes division, department
//! and state by arithmetic on `i`, so two runs of one size give the same
//! shape.
//!
//! Names and numbers are generated test data, marked as such
//! (「规模测试」, `SC-…`); the administrative divisions are the real
//! GB/T 2260 table already loaded, and the technical specifications named
//! by items are the same real JJG numbers the demo uses.

use std::time::Instant;

use anyhow::{bail, Context};
use serde_json::{json, Value};
use sqlx::{PgConnection, PgPool};

use crate::audit::{self, Event};
use crate::seed::DEMO_PASSWORD;

const MARKER: &str = "scale_seeded";

/// What one run made, with its timing.
#[derive(Debug, Default)]
pub struct Report {
    pub counts: Vec<(&'static str, i64)>,
    pub seconds: f64,
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (what, n) in &self.counts {
            writeln!(f, "{what:>24}: {n}")?;
        }
        write!(f, "seed-scale took {:.1} s", self.seconds)
    }
}

/// Items of generated authorizations and applications: (name, range,
/// accuracy, specification). The specification numbers are real JJG
/// regulations (the same the demo data uses).
const ITEMS: [(&str, &str, &str, &str); 8] = [
    ("电能表", "（0～100）A", "0.5级", "JJG 596-2012"),
    ("电流互感器", "（0～5000）A", "0.2级", "JJG 1021-2007"),
    ("膜式燃气表", "（0.016～16）m³/h", "1.5级", "JJG 577-2012"),
    ("气体流量计", "（10～10000）m³/h", "0.5级", "JJG 1030-2007"),
    ("液体流量计", "（1～2000）m³/h", "0.2级", "JJG 1029-2007"),
    ("活塞式压力计", "（0.1～60）MPa", "0.05级", "JJG 59-2022"),
    ("原油流量计", "（5～800）m³/h", "0.2级", "JJG 1029-2007"),
    ("电压互感器", "（0～35）kV", "0.2级", "JJG 1021-2007"),
];

const FIELDS: [&str; 8] = [
    "电力", "燃气", "石油", "铁路", "水利", "民航", "化工", "通信",
];

/// Fills the database with `stations` generated stations (and their
/// regulators, departments, users, authorizations, standards, staff and
/// workflow records in every state) on top of the demo data. Refuses
/// outside demo mode and when it already ran.
pub async fn seed_scale(pool: &PgPool, demo_mode: bool, stations: u32) -> anyhow::Result<Report> {
    if !demo_mode {
        bail!(
            "refusing to generate accounts with the published demo password {DEMO_PASSWORD} \
             outside demo mode; set JILIANG_DEMO=true for a demo database"
        );
    }
    anyhow::ensure!(
        (10..=100_000).contains(&stations),
        "--stations must be between 10 and 100000"
    );
    let started = Instant::now();
    crate::seed::seed_demo(pool, true).await?;
    let mut tx = pool.begin().await?;
    sqlx::query("select pg_advisory_xact_lock(7243002)")
        .execute(&mut *tx)
        .await?;
    let done: Option<String> = sqlx::query_scalar("select value from app_meta where key = $1")
        .bind(MARKER)
        .fetch_optional(&mut *tx)
        .await?;
    if let Some(d) = done {
        bail!("seed-scale already ran on this database ({d}); start from a fresh one");
    }
    let n = stations as i32;
    let hash = crate::auth::password::hash(DEMO_PASSWORD.to_owned()).await?;
    regulators(&mut tx, n).await.context("regulators")?;
    departments(&mut tx, n).await.context("departments")?;
    analyze(&mut tx).await?;
    station_rows(&mut tx, n).await.context("stations")?;
    analyze(&mut tx).await?;
    users(&mut tx, &hash).await.context("users")?;
    authorizations(&mut tx).await.context("authorizations")?;
    registry(&mut tx).await.context("standards and staff")?;
    analyze(&mut tx).await?;
    workflows(&mut tx).await.context("workflow records")?;
    analyze(&mut tx).await?;
    let mut report = Report::default();
    for (what, table) in [
        ("regulators", "organization where kind = 'regulator'"),
        ("departments", "organization where kind = 'department'"),
        ("stations", "station"),
        ("users", "app_user"),
        ("authorizations", "station_authorization"),
        ("authorized items", "authorization_item"),
        ("standards", "measurement_standard"),
        ("traceability records", "traceability_record"),
        ("staff", "staff_member"),
        ("qualifications", "qualification"),
        ("applications", "application"),
        ("lifecycle requests", "lifecycle_request"),
        ("inspections", "inspection"),
        ("rectification orders", "rectification_order"),
        ("violation cases", "violation_case"),
        ("notifications", "notification"),
        ("visibility rows", "station_access"),
    ] {
        let count: i64 = sqlx::query_scalar(&format!("select count(*) from {table}"))
            .fetch_one(&mut *tx)
            .await?;
        report.counts.push((what, count));
    }
    audit::insert(
        &mut tx,
        None,
        None,
        Event::new("demo.seed_scale", "database", "scale").after(&json!({
            "stations": stations,
            "counts": report.counts.iter().map(|(k, v)| (k.to_string(), *v)).collect::<std::collections::BTreeMap<_, _>>(),
        })),
    )
    .await?;
    sqlx::query("insert into app_meta (key, value) values ($1, $2)")
        .bind(MARKER)
        .bind(format!("{stations} stations"))
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    // Outside the transaction: a vacuum sets the visibility map, so the row
    // policies' look-ups in station_access are index-only scans from the
    // first request (44 ms → 6 ms for SAMR's Art 7 inputs of a page; docs/
    // scale.md). Autovacuum would get there later on its own.
    sqlx::query("vacuum (analyze)")
        .execute(pool)
        .await
        .context("vacuum after seed-scale")?;
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

/// Fresh planner statistics between the stages: the visibility triggers
/// plan their joins on them (without, one authorization took 46 ms).
async fn analyze(tx: &mut PgConnection) -> anyhow::Result<()> {
    sqlx::query("analyze").execute(&mut *tx).await?;
    Ok(())
}

/// A provincial regulator for every province without one; municipal and
/// county regulators for about a tenth of `n` cities and counties each.
async fn regulators(tx: &mut PgConnection, n: i32) -> anyhow::Result<()> {
    sqlx::query(
        "insert into organization (organization_id, kind, name, name_en, regulator_level, division_code)
         select gen_random_uuid(), 'regulator', p.name || '市场监督管理局',
                'Administration for Market Regulation ' || p.code, 'provincial', p.code
           from division p
          where p.level = 'province'
            and not exists (select 1 from organization o where o.kind = 'regulator' and o.division_code = p.code)
          order by p.code
         on conflict (name) do nothing",
    )
    .execute(&mut *tx)
    .await?;
    for (level, div_level, name) in [
        ("municipal", "city", "d.name"),
        ("county", "county", "coalesce(c.name, '') || d.name"),
    ] {
        sqlx::query(&format!(
            "insert into organization (organization_id, kind, name, name_en, regulator_level, division_code)
             select gen_random_uuid(), 'regulator', {name} || '市场监督管理局',
                    'Administration for Market Regulation ' || d.code, '{level}', d.code
               from division d left join division c on c.code = d.city_code and c.code <> d.code
              where d.level = '{div_level}'
                and not exists (select 1 from organization o where o.kind = 'regulator' and o.division_code = d.code)
              order by md5(d.code) limit $1
             on conflict (name) do nothing"
        ))
        .bind((n / 10).max(1) as i64)
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}

/// About one competent department per 22 stations, each with a valid
/// credit code (R7.1).
async fn departments(tx: &mut PgConnection, n: i32) -> anyhow::Result<()> {
    let count = (n / 22).max(3) as u32;
    let mut names = Vec::new();
    let mut codes = Vec::new();
    for k in 1..=count {
        names.push(format!(
            "规模测试{}行业主管部门{k:03}",
            FIELDS[k as usize % FIELDS.len()]
        ));
        codes.push(
            crate::rules::credit_code::generated("110000", 70_000_000 + k)
                .context("credit code")?,
        );
    }
    sqlx::query(
        "insert into organization (organization_id, kind, name, name_en, division_code, credit_code)
         select gen_random_uuid(), 'department', n, 'Scale test department ' || k, '110000', c
           from unnest($1::text[], $2::text[]) with ordinality as t(n, c, k)",
    )
    .bind(&names)
    .bind(&codes)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// `n` stations over every county: about one national head per 150, one
/// branch per 10 (each under a head, R3.1), the rest local; 85% authorized
/// by the right regulator (R6.2: SAMR for national stations, the province
/// of the location for local ones), the rest unauthorized, suspended or
/// terminated.
async fn station_rows(tx: &mut PgConnection, n: i32) -> anyhow::Result<()> {
    let heads = (n / 150).max(1);
    let branches = (n / 10).max(1);
    let mut credit = Vec::with_capacity(n as usize);
    let counties: Vec<String> =
        sqlx::query_scalar("select code from division where level = 'county' order by code")
            .fetch_all(&mut *tx)
            .await?;
    anyhow::ensure!(
        !counties.is_empty(),
        "no counties loaded (GB/T 2260 reference data)"
    );
    for i in 1..=n {
        let county = &counties[(i as usize * 7919) % counties.len()];
        credit.push(
            crate::rules::credit_code::generated(county, 60_000_000 + i as u32)
                .context("credit code")?,
        );
    }
    sqlx::query(
        "create temp table scale_station on commit drop as
         with c as (select row_number() over (order by code) - 1 as k, code, name, province_code
                      from division where level = 'county'),
              dept as (select row_number() over (order by name) - 1 as k, organization_id, name, credit_code
                         from organization where kind = 'department' and name like '规模测试%'),
              nc as (select count(*) as n from c), nd as (select count(*) as n from dept)
         select i, gen_random_uuid() as id,
                case when i <= $2 then 'national_head' when i <= $2 + $3 then 'national_branch' else 'local' end as tier,
                c.code as location, c.province_code, c.name as county,
                dept.organization_id as department_id, dept.name as department_name, dept.credit_code as department_code,
                (array['电力','燃气','石油','铁路','水利','民航','化工','通信'])[1 + i % 8] as field,
                case i % 20 when 0 then 'unauthorized' when 1 then 'suspended' when 2 then 'terminated' else 'authorized' end as status,
                cr.code as credit
           from generate_series(1, $1) i
           join unnest($4::text[]) with ordinality as cr(code, k) on cr.k = i
           cross join nc cross join nd
           join c on c.k = (i::bigint * 7919) % nc.n
           join dept on dept.k = i % nd.n",
    )
    .bind(n)
    .bind(heads)
    .bind(branches)
    .bind(&credit)
    .execute(&mut *tx)
    .await?;
    sqlx::query("alter table scale_station add column head_id uuid, add column regulator_id uuid")
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "update scale_station b set head_id = h.id
           from scale_station h
          where b.tier = 'national_branch' and h.i = 1 + (b.i % $1)",
    )
    .bind(heads)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "update scale_station s set regulator_id = case
            when s.status = 'unauthorized' then null
            when s.tier <> 'local' then (select organization_id from organization where kind = 'regulator' and regulator_level = 'national')
            else (select organization_id from organization where kind = 'regulator' and regulator_level = 'provincial'
                   and division_code = s.province_code) end",
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "insert into organization (organization_id, kind, name, name_en)
         select id, 'station', county || field || '专业计量站（规模测试' || lpad(i::text, 5, '0') || '）',
                'Scale test station ' || i from scale_station order by i",
    )
    .execute(&mut *tx)
    .await?;
    // Heads first: a branch's head must already be a national head (R3.1).
    for tiers in ["'national_head'", "'national_branch', 'local'"] {
        sqlx::query(&format!(
            "insert into station (station_id, code, tier, head_station_id, department_id, authorizing_regulator_id,
               location_division, field, legal_person, credit_code, parent_entity_name, parent_entity_credit_code, status)
             select id, 'SC-' || lpad(i::text, 5, '0'), tier, head_id, department_id, regulator_id, location, field,
                    i % 3 <> 0, case when i % 3 <> 0 then credit end,
                    case when i % 3 = 0 then department_name end, case when i % 3 = 0 then department_code end,
                    status
               from scale_station where tier in ({tiers}) order by i"
        ))
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}

/// One account per generated regulator (two for provincial and national
/// ones, so four eyes can be kept), department and station; usernames
/// `reg-…`, `dept-…`, `st-…` (stations by code), all with the demo password.
async fn users(tx: &mut PgConnection, hash: &str) -> anyhow::Result<()> {
    for (sql, what) in [
        (
            "select 'reg-' || lower(o.division_code) || '.' || r.n, o.name || ' ' || r.who, o.organization_id,
                    case r.n when 1 then array['reviewer','inspector'] else array['approver','admin'] end
               from organization o cross join (values (1, '审查员'), (2, '审批人')) as r(n, who)
              where o.kind = 'regulator' and o.division_code is not null
                and (r.n = 1 or o.regulator_level = 'provincial')
                and not exists (select 1 from app_user u where u.organization_id = o.organization_id)",
            "regulator",
        ),
        (
            "select 'dept-' || lpad(row_number() over (order by o.name)::text, 4, '0'), o.name || ' 经办人',
                    o.organization_id, array['officer','admin']
               from organization o where o.kind = 'department' and o.name like '规模测试%'",
            "department",
        ),
        (
            "select 'st-' || lower(s.code), o.name || ' 工作人员', s.station_id, array['staff','admin']
               from station s join organization o on o.organization_id = s.station_id
              where s.code like 'SC-%'",
            "station",
        ),
    ] {
        sqlx::query(&format!(
            "insert into app_user (user_id, organization_id, username, display_name, password_hash, roles, security_stamp)
             select gen_random_uuid(), org, username, display, $1, roles, gen_random_uuid()
               from ({sql}) as t(username, display, org, roles)"
        ))
        .bind(hash)
        .execute(&mut *tx)
        .await
        .with_context(|| format!("{what} accounts"))?;
    }
    Ok(())
}

/// R8.1, R8.4: one certificate per station that was ever authorized, with
/// 10 to 30 items and its first revision kept (R13.2).
async fn authorizations(tx: &mut PgConnection) -> anyhow::Result<()> {
    sqlx::query(
        "insert into station_authorization (authorization_id, station_id, regulator_id, certificate_number, verify_token,
           status, valid_from, valid_until, region, ended_on)
         select gen_random_uuid(), s.id, s.regulator_id,
                '[' || extract(year from current_date - (s.i % 1500))::int || ']规模测试量授字第' || lpad(s.i::text, 5, '0') || '号',
                md5('scale-token-' || s.i) || md5('scale-token-b-' || s.i),
                case s.status when 'authorized' then 'active' when 'suspended' then 'suspended' else 'terminated' end,
                current_date - (s.i % 1500), current_date - (s.i % 1500) + 1826,
                case when s.tier = 'local' then array[s.province_code]
                     else array[s.province_code, '110000', '440000'] end,
                case when s.status = 'terminated' then current_date - (s.i % 30) end
           from scale_station s where s.status <> 'unauthorized' order by s.i",
    )
    .execute(&mut *tx)
    .await?;
    let items: Vec<Value> = ITEMS
        .iter()
        .map(|(n, r, a, s)| json!({"name": n, "range_text": r, "accuracy_text": a, "specification": s}))
        .collect();
    sqlx::query(
        "insert into authorization_item (authorization_item_id, authorization_id, station_id, seq, name,
           range_text, accuracy_text, task_types, specification)
         select gen_random_uuid(), a.authorization_id, a.station_id, g,
                (it->>'name') || case when g > 8 then '（' || g || '）' else '' end,
                it->>'range_text', it->>'accuracy_text',
                case when g % 3 = 0 then array['verification','calibration'] else array['verification'] end,
                it->>'specification'
           from station_authorization a
           join scale_station s on s.id = a.station_id
           cross join lateral generate_series(1, 10 + s.i % 21) g
           cross join lateral (select ($1::jsonb)->(((g + s.i) % 8)::int) as it) x",
    )
    .bind(Value::Array(items))
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "select snapshot_authorization(a.authorization_id, 'grant', null, a.valid_from)
           from station_authorization a join scale_station s on s.id = a.station_id",
    )
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// R12.1–R12.4, R16.4, R16.6: ten standards per station with their last
/// calibration, ten staff with one or two qualifications; dates spread so
/// that some certificates and calibrations are due or overdue.
async fn registry(tx: &mut PgConnection) -> anyhow::Result<()> {
    sqlx::query(
        "insert into measurement_standard (standard_id, station_id, kind, name, range_text, accuracy_text,
           main_equipment, specification, responsible_person, location, environment, cert_number,
           cert_issuer_id, cert_issued_on, cert_expires_on)
         select gen_random_uuid(), s.id,
                (array['primary','social_public','professional'])[1 + g % 3],
                (array['电能表检定装置','互感器校验仪检定装置','活塞式压力计标准装置','气体流量标准装置',
                       '液体流量标准装置','燃气表检定装置','电压互感器检定装置','温度二次仪表检定装置'])[1 + (g + s.i) % 8]
                  || ' ' || g || '号',
                (array['（0～100）A','（0～5000）A','（0.1～60）MPa','（10～10000）m³/h',
                       '（1～2000）m³/h','（0.016～16）m³/h','（0～35）kV','（-50～300）℃'])[1 + (g + s.i) % 8],
                '0.05级', '标准装置', 'JJG 596-2012', '规模测试 负责人' || g, '实验室 ' || g,
                '温度（20±2）℃，湿度≤80%RH',
                '[规模测试]量标证字第' || lpad(s.i::text, 5, '0') || '-' || g || '号',
                coalesce(s.regulator_id, (select organization_id from organization where kind = 'regulator' and regulator_level = 'national')),
                current_date - (200 + (s.i * 37 + g * 101) % 1500),
                current_date - (200 + (s.i * 37 + g * 101) % 1500) + 1826
           from scale_station s cross join generate_series(1, 10) g",
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "insert into traceability_record (traceability_record_id, standard_id, station_id, calibrated_on,
           provider, certificate_number, due_on)
         select gen_random_uuid(), m.standard_id, m.station_id, current_date - (h % 400), '中国计量科学研究院',
                'SC-' || left(m.standard_id::text, 8), current_date - (h % 400) + 365
           from measurement_standard m join scale_station s on s.id = m.station_id
           cross join lateral (select (hashtext(m.standard_id::text) & 2147483647) as h) x",
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "insert into staff_member (staff_member_id, station_id, name, title)
         select gen_random_uuid(), s.id, '规模测试人员' || s.i || '-' || g,
                (array['工程师','高级工程师','助理工程师'])[1 + g % 3]
           from scale_station s cross join generate_series(1, 10) g",
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "insert into qualification (qualification_id, staff_member_id, station_id, kind, certificate_number,
           items, issued_on, expires_on)
         select gen_random_uuid(), p.staff_member_id, p.station_id,
                (array['registered_metrologist_1','registered_metrologist_2','verifier_certificate'])[1 + (h + q) % 3],
                'SC-Q-' || left(p.staff_member_id::text, 8) || '-' || q,
                array[(array['电能表','电流互感器','膜式燃气表','气体流量计','液体流量计','活塞式压力计','原油流量计','电压互感器'])[1 + (h + q) % 8]],
                current_date - (300 + h % 1500), current_date - (300 + h % 1500) + 1826
           from staff_member p join scale_station s on s.id = p.station_id
           cross join lateral (select (hashtext(p.staff_member_id::text) & 2147483647) as h) x
           cross join lateral generate_series(1, 1 + h % 2) q",
    )
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Applications, lifecycle requests, inspections, orders, cases and
/// notifications in every state, dated over the last year.
async fn workflows(tx: &mut PgConnection) -> anyhow::Result<()> {
    let items: Vec<Value> = ITEMS
        .iter()
        .map(|(n, r, a, s)| {
            json!({"name": n, "range_text": r, "accuracy_text": a,
                   "task_types": ["verification"], "specification": s})
        })
        .collect();
    // Users by organization: the first (reviewer/officer/staff) and, for
    // regulators, the approver.
    sqlx::query(
        "create temp table scale_user on commit drop as
         select organization_id as org, min(user_id::text) filter (where roles && array['reviewer','officer','staff'])::uuid as doer,
                min(user_id::text) filter (where 'approver' = any(roles))::uuid as approver
           from app_user group by organization_id",
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "insert into application (application_id, station_id, department_id, regulator_id, state, region, items,
           standard_ids, staff_ids, submitted_on, accepted_on, assessment_on, assessment_team, assessment_outcome,
           assessed_on, proposal, proposal_reasons, proposed_by, proposed_on, decided_by, decided_at,
           authorization_id, drafted_by, created_at, updated_at)
         select gen_random_uuid(), s.id, s.department_id,
                case when st.k > 0 then coalesce(s.regulator_id,
                  case when s.tier <> 'local' then (select organization_id from organization where regulator_level = 'national')
                       else (select organization_id from organization where kind = 'regulator' and regulator_level = 'provincial' and division_code = s.province_code) end) end,
                st.state,
                case when s.tier = 'local' then array[s.province_code] else array[s.province_code, '110000'] end,
                jsonb_build_array($1::jsonb->(s.i % 8), $1::jsonb->((s.i + 3) % 8)),
                array(select m.standard_id from measurement_standard m where m.station_id = s.id order by m.standard_id limit 4),
                array(select p.staff_member_id from staff_member p where p.station_id = s.id order by p.staff_member_id limit 4),
                case when st.k > 0 then current_date - (s.i % 300) - 40 end,
                case when st.k >= 3 and st.k <> 9 then current_date - (s.i % 300) - 35 end,
                case when st.k >= 4 and st.k <> 9 then current_date - (s.i % 300) - 20 end,
                case when st.k >= 4 and st.k <> 9 then '规模测试评审组' end,
                case when st.k >= 5 and st.k <> 9 then 'pass' end,
                case when st.k >= 5 and st.k <> 9 then current_date - (s.i % 300) - 15 end,
                case when st.k >= 6 and st.k <> 9 then case when st.state = 'refused' then 'refuse' else 'grant' end end,
                case when st.k >= 6 and st.k <> 9 then '规模测试：评审结论符合条件' end,
                case when st.k >= 6 and st.k <> 9 then u.doer end,
                case when st.k >= 6 and st.k <> 9 then current_date - (s.i % 300) - 10 end,
                case when st.k in (7, 8) then u.approver end,
                case when st.k in (7, 8) then now() - make_interval(days => s.i % 300 + 5) end,
                case when st.k = 7 then (select a.authorization_id from station_authorization a where a.station_id = s.id) end,
                du.doer,
                now() - make_interval(days => s.i % 300 + 40),
                now() - make_interval(mins => s.i)
           from scale_station s
           cross join lateral (select (s.i * 3) % 10 as k) kk
           cross join lateral (select kk.k,
                (array['draft','submitted','correction_requested','accepted','assessment','assessed','proposed',
                       'granted','refused','withdrawn'])[kk.k + 1] as state) st
           left join scale_user u on u.org = coalesce(s.regulator_id,
                (select organization_id from organization where kind = 'regulator' and regulator_level = 'provincial' and division_code = s.province_code))
           left join scale_user du on du.org = s.department_id",
    )
    .bind(Value::Array(items))
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "insert into lifecycle_request (request_id, kind, station_id, department_id, regulator_id, authorization_id,
           state, payload, reason, filed_on, effective_on, proposal, proposal_reasons, proposed_by, proposed_on,
           decided_by, decided_at, drafted_by, drafted_by_org, created_at, updated_at)
         select gen_random_uuid(), k.kind, s.id, s.department_id, a.regulator_id, a.authorization_id, k.state,
                case k.kind when 'head' then jsonb_build_object('action', 'appoint', 'person_name', '规模测试站长' || s.i)
                            when 'adjustment' then jsonb_build_object('changes', '[]'::jsonb, 'region', to_jsonb(a.region), 'dissolve', false)
                            when 'reexamination' then jsonb_build_object('scheduled_on', current_date + 30, 'team', '规模测试复查组')
                            else '{}'::jsonb end,
                '规模测试申请理由 ' || s.i,
                case when k.state <> 'draft' then current_date - (s.i % 200) end,
                case when k.kind = 'termination' then current_date + 60 end,
                case when k.state in ('proposed', 'refused') then case when k.state = 'refused' then 'refuse' else 'approve' end end,
                case when k.state in ('proposed', 'refused') then '规模测试：意见' end,
                case when k.state in ('proposed', 'refused') then u.doer end,
                case when k.state in ('proposed', 'refused') then current_date - (s.i % 200) + 5 end,
                case when k.state = 'refused' then u.approver end,
                case when k.state = 'refused' then now() - make_interval(days => s.i % 200) end,
                du.doer, s.department_id,
                now() - make_interval(days => s.i % 200 + 1), now() - make_interval(mins => s.i * 2)
           from scale_station s
           join station_authorization a on a.station_id = s.id and a.status in ('active', 'suspended')
           cross join lateral (select (array['adjustment','termination','reexamination','head'])[1 + s.i % 4] as kind,
                                      (array['draft','submitted','proposed','refused','withdrawn'])[1 + (s.i / 4) % 5] as state) k
           left join scale_user u on u.org = a.regulator_id
           left join scale_user du on du.org = s.department_id
          where du.doer is not null",
    )
    .execute(&mut *tx)
    .await?;
    let areas: serde_json::Map<String, Value> = crate::supervision::model::AREAS
        .iter()
        .map(|(k, ..)| {
            (
                k.to_string(),
                json!({"finding": "conforming", "notes": null}),
            )
        })
        .collect();
    sqlx::query(
        "insert into inspection (inspection_id, org_id, org_kind, station_id, department_id, state, planned_on,
           inspected_from, inspected_to, inspectors, areas, cooperation, summary, recorded_by, recorded_at,
           approved_by, approved_at, published, created_by, created_at, updated_at)
         select gen_random_uuid(), o.org, o.kind, s.id, s.department_id, st.state,
                current_date - (s.i % 365) + 20,
                case when st.state in ('recorded', 'completed') then current_date - (s.i % 365) end,
                case when st.state in ('recorded', 'completed') then current_date - (s.i % 365) + 1 end,
                case when st.state in ('recorded', 'completed') then array[u.doer] else '{}'::uuid[] end,
                case when st.state in ('recorded', 'completed') then $1::jsonb else '{}'::jsonb end,
                case when st.state in ('recorded', 'completed') then 'cooperated' end,
                case when st.state in ('recorded', 'completed') then '规模测试：检查结论' end,
                case when st.state in ('recorded', 'completed') then u.doer end,
                case when st.state in ('recorded', 'completed') then now() - make_interval(days => s.i % 365) end,
                case when st.state = 'completed' then coalesce(u.approver, du.doer) end,
                case when st.state = 'completed' then now() - make_interval(days => s.i % 365) end,
                st.state = 'completed', u.doer,
                now() - make_interval(days => s.i % 365 + 30), now() - make_interval(mins => s.i * 3)
           from scale_station s
           cross join lateral (select (array['planned','recorded','completed','completed','cancelled'])[1 + s.i % 5] as state) st
           cross join lateral (select case when s.i % 6 = 0 then s.department_id
                    else (select organization_id from organization where kind = 'regulator' and regulator_level = 'provincial'
                           and division_code = s.province_code) end as org,
                  case when s.i % 6 = 0 then 'department' else 'regulator' end as kind) o
           join scale_user u on u.org = o.org
           left join scale_user du on du.org = s.department_id
          where o.org is not null and (st.state <> 'completed' or coalesce(u.approver, du.doer) <> u.doer)",
    )
    .bind(Value::Object(areas))
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "insert into rectification_order (order_id, inspection_id, station_id, department_id, issuer_id, areas,
           description, period_unit, period_days, issued_on, due_on, state, report, reported_at,
           closure_proposed_by, closed_on, closed_by, created_by, created_at, updated_at)
         select gen_random_uuid(), i.inspection_id, i.station_id, i.department_id, i.org_id, array['compliance'],
                '规模测试：责令改正事项', 'calendar_days', 30, i.inspected_to, i.inspected_to + 30, st.state,
                case when st.state <> 'open' then '规模测试：整改报告' end,
                case when st.state <> 'open' then now() - make_interval(days => 3) end,
                case when st.state in ('closing', 'closed') then u.doer end,
                case when st.state = 'closed' then current_date - 1 end,
                case when st.state = 'closed' then u.approver end,
                u.doer, now() - make_interval(days => 20), now() - make_interval(mins => r::int)
           from (select i.*, row_number() over (order by i.inspection_id) as r
                   from inspection i where i.state = 'completed' and i.org_kind = 'regulator') i
           cross join lateral (select (array['open','reported','closing','closed'])[1 + (r % 4)::int] as state) st
           join scale_user u on u.org = i.org_id
          where r % 2 = 0 and (st.state <> 'closed' or u.approver is not null)",
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "insert into violation_case (case_id, regulator_id, station_id, department_id, art16_items, description,
           inspection_ids, evidence, state, decision, decision_notes, proposed_by, decided_by, decided_at,
           created_by, created_at, updated_at)
         select gen_random_uuid(), i.org_id, i.station_id, i.department_id, array['1'], '规模测试：违法事实',
                array[i.inspection_id], '规模测试：证据', st.state,
                case when st.state = 'decided' then 'warning' end,
                case when st.state = 'decided' then '规模测试：处理意见' end,
                case when st.state in ('proposed', 'decided') then u.doer end,
                case when st.state = 'decided' then u.approver end,
                case when st.state = 'decided' then now() - make_interval(days => 2) end,
                u.doer, now() - make_interval(days => 10), now() - make_interval(mins => r::int)
           from (select i.*, row_number() over (order by i.inspection_id) as r
                   from inspection i where i.state = 'completed' and i.org_kind = 'regulator') i
           cross join lateral (select (array['draft','proposed','decided','withdrawn'])[1 + ((r / 7) % 4)::int] as state) st
           join scale_user u on u.org = i.org_id
          where r % 7 = 0 and u.approver is not null",
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "insert into notification (notification_id, org_id, subject, body, link, created_at, read_at)
         select gen_random_uuid(), s.id, '规模测试通知 ' || g, '规模测试：生成的通知正文', '/',
                now() - make_interval(hours => s.i % 500 + g),
                case when g = 1 then now() end
           from scale_station s cross join generate_series(1, 3) g",
    )
    .execute(&mut *tx)
    .await?;
    Ok(())
}

//! Demo tenants, seeded on the first start in demo mode only (README lists
//! them). Every account's password is `demo-pass-2025`, which is why this
//! refuses to run outside demo mode.

use anyhow::{bail, Context};
use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

use crate::audit::{self, Event};

/// The demo accounts' password.
pub const DEMO_PASSWORD: &str = "demo-pass-2025";

const MARKER: &str = "demo_seeded";

struct Org {
    key: &'static str,
    kind: &'static str,
    name: &'static str,
    name_en: &'static str,
    level: Option<&'static str>,
    division: Option<&'static str>,
    credit_code: Option<&'static str>,
}

struct Station {
    key: &'static str,
    name: &'static str,
    name_en: &'static str,
    code: &'static str,
    tier: &'static str,
    head: Option<&'static str>,
    department: &'static str,
    regulator: Option<&'static str>,
    location: &'static str,
    field: &'static str,
    /// Own credit code (legal person) or the parent entity's name and code.
    credit_code: Option<&'static str>,
    parent: Option<(&'static str, &'static str)>,
    status: &'static str,
}

const ORGS: &[Org] = &[
    Org {
        key: "platform",
        kind: "platform",
        name: "专业计量站管理平台运营中心",
        name_en: "Platform operations",
        level: None,
        division: None,
        credit_code: None,
    },
    Org {
        key: "samr",
        kind: "regulator",
        name: "国家市场监督管理总局",
        name_en: "State Administration for Market Regulation",
        level: Some("national"),
        division: None,
        credit_code: None,
    },
    Org {
        key: "gd",
        kind: "regulator",
        name: "广东省市场监督管理局",
        name_en: "Guangdong Administration for Market Regulation",
        level: Some("provincial"),
        division: Some("440000"),
        credit_code: None,
    },
    Org {
        key: "gz",
        kind: "regulator",
        name: "广州市市场监督管理局",
        name_en: "Guangzhou Administration for Market Regulation",
        level: Some("municipal"),
        division: Some("440100"),
        credit_code: None,
    },
    Org {
        key: "th",
        kind: "regulator",
        name: "广州市天河区市场监督管理局",
        name_en: "Tianhe District Administration for Market Regulation",
        level: Some("county"),
        division: Some("440106"),
        credit_code: None,
    },
    Org {
        key: "js",
        kind: "regulator",
        name: "江苏省市场监督管理局",
        name_en: "Jiangsu Administration for Market Regulation",
        level: Some("provincial"),
        division: Some("320000"),
        credit_code: None,
    },
    Org {
        key: "cnpc",
        kind: "department",
        name: "中国石油天然气集团有限公司",
        name_en: "China National Petroleum Corporation",
        level: None,
        division: Some("110000"),
        credit_code: Some("91110000100017002A"),
    },
    Org {
        key: "sgcc",
        kind: "department",
        name: "国家电网有限公司",
        name_en: "State Grid Corporation of China",
        level: None,
        division: Some("110000"),
        credit_code: Some("9111000071093123XX"),
    },
];

const STATIONS: &[Station] = &[
    Station {
        key: "head",
        name: "国家石油天然气大流量计量站",
        name_en: "National Oil and Gas Large Flow Metrology Station",
        code: "NS-OGF",
        tier: "national_head",
        head: None,
        department: "cnpc",
        regulator: Some("samr"),
        location: "110108",
        field: "石油天然气流量",
        credit_code: Some("121100004000001069"),
        parent: None,
        status: "authorized",
    },
    Station {
        key: "branch_cd",
        name: "国家石油天然气大流量计量站成都分站",
        name_en: "Chengdu Branch, National Oil and Gas Large Flow Metrology Station",
        code: "NS-OGF-CD",
        tier: "national_branch",
        head: Some("head"),
        department: "cnpc",
        regulator: Some("samr"),
        location: "510107",
        field: "天然气流量",
        credit_code: None,
        parent: Some(("中国石油西南油气田分公司", "12510000400000114Y")),
        status: "authorized",
    },
    Station {
        key: "branch_nj",
        name: "国家石油天然气大流量计量站南京分站",
        name_en: "Nanjing Branch, National Oil and Gas Large Flow Metrology Station",
        code: "NS-OGF-NJ",
        tier: "national_branch",
        head: Some("head"),
        department: "cnpc",
        regulator: Some("samr"),
        location: "320106",
        field: "原油流量",
        credit_code: None,
        parent: Some(("中国石油东部管道有限公司", "12320100400000122M")),
        status: "authorized",
    },
    Station {
        key: "gd_power",
        name: "广东省电力工业电能计量站",
        name_en: "Guangdong Electric Energy Metrology Station",
        code: "GD-EP-01",
        tier: "local",
        head: None,
        department: "sgcc",
        regulator: Some("gd"),
        location: "440106",
        field: "电能计量",
        credit_code: Some("12440000456000017P"),
        parent: None,
        status: "authorized",
    },
    Station {
        key: "js_power",
        name: "江苏省电力工业电能计量站",
        name_en: "Jiangsu Electric Energy Metrology Station",
        code: "JS-EP-01",
        tier: "local",
        head: None,
        department: "sgcc",
        regulator: Some("js"),
        location: "320102",
        field: "电能计量",
        credit_code: Some("123200004660000292"),
        parent: None,
        status: "authorized",
    },
    Station {
        key: "th_gas",
        name: "广州市天河区燃气计量站",
        name_en: "Tianhe Gas Metrology Station",
        code: "GZ-TH-GAS",
        tier: "local",
        head: None,
        department: "cnpc",
        regulator: Some("th"),
        location: "440106",
        field: "燃气流量",
        credit_code: Some("12440100477000032R"),
        parent: None,
        status: "authorized",
    },
    Station {
        key: "sz_gas",
        name: "深圳市燃气计量站（筹建）",
        name_en: "Shenzhen Gas Metrology Station (in preparation)",
        code: "SZ-GAS-01",
        tier: "local",
        head: None,
        department: "cnpc",
        regulator: None,
        location: "440304",
        field: "燃气流量",
        credit_code: Some("91440300MA5F000181"),
        parent: None,
        status: "unauthorized",
    },
];

/// (username, display name, organization key, roles)
pub const ACCOUNTS: &[(&str, &str, &str, &[&str])] = &[
    ("operator", "平台运营员", "platform", &["operator", "admin"]),
    (
        "samr.reviewer",
        "总局审查员 王明",
        "samr",
        &["reviewer", "inspector"],
    ),
    (
        "samr.approver",
        "总局审批人 李华",
        "samr",
        &["approver", "admin"],
    ),
    (
        "gd.reviewer",
        "广东审查员 陈晓",
        "gd",
        &["reviewer", "inspector"],
    ),
    (
        "gd.approver",
        "广东审批人 黄磊",
        "gd",
        &["approver", "admin"],
    ),
    (
        "dept.officer",
        "国家电网经办人 张伟",
        "sgcc",
        &["officer", "admin"],
    ),
    (
        "cnpc.officer",
        "中国石油经办人 孙杰",
        "cnpc",
        &["officer", "admin"],
    ),
    (
        "station.staff",
        "广东电能站 刘芳",
        "gd_power",
        &["staff", "admin"],
    ),
    (
        "station2.staff",
        "江苏电能站 周强",
        "js_power",
        &["staff", "admin"],
    ),
    ("head.staff", "总站 赵敏", "head", &["staff", "admin"]),
];

/// Seeds the demo tenants unless already seeded. Refuses outside demo mode.
/// Returns whether it seeded.
pub async fn seed_demo(pool: &PgPool, demo_mode: bool) -> anyhow::Result<bool> {
    if !demo_mode {
        bail!(
            "refusing to seed demo accounts (all with the published password {DEMO_PASSWORD}) \
             outside demo mode; set JILIANG_DEMO=true for a demo database"
        );
    }
    let mut tx = pool.begin().await?;
    // One seeder at a time; the marker makes it first-start only.
    sqlx::query("select pg_advisory_xact_lock(7243001)")
        .execute(&mut *tx)
        .await?;
    let done: Option<String> = sqlx::query_scalar("select value from app_meta where key = $1")
        .bind(MARKER)
        .fetch_optional(&mut *tx)
        .await?;
    if done.is_some() {
        return Ok(false);
    }
    let mut ids = std::collections::HashMap::new();
    for o in ORGS {
        let id = Uuid::now_v7();
        ids.insert(o.key, id);
        sqlx::query(
            "insert into organization (organization_id, kind, name, name_en, regulator_level, division_code, credit_code)
             values ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(id)
        .bind(o.kind)
        .bind(o.name)
        .bind(o.name_en)
        .bind(o.level)
        .bind(o.division)
        .bind(o.credit_code)
        .execute(&mut *tx)
        .await
        .with_context(|| format!("seeding {}", o.name))?;
    }
    for s in STATIONS {
        let id = Uuid::now_v7();
        ids.insert(s.key, id);
        sqlx::query(
            "insert into organization (organization_id, kind, name, name_en) values ($1, 'station', $2, $3)",
        )
        .bind(id)
        .bind(s.name)
        .bind(s.name_en)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "insert into station (station_id, code, tier, head_station_id, department_id, authorizing_regulator_id,
               location_division, field, legal_person, credit_code, parent_entity_name, parent_entity_credit_code, status)
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        )
        .bind(id)
        .bind(s.code)
        .bind(s.tier)
        .bind(s.head.map(|h| ids[h]))
        .bind(ids[s.department])
        .bind(s.regulator.map(|r| ids[r]))
        .bind(s.location)
        .bind(s.field)
        .bind(s.credit_code.is_some())
        .bind(s.credit_code)
        .bind(s.parent.map(|p| p.0))
        .bind(s.parent.map(|p| p.1))
        .bind(s.status)
        .execute(&mut *tx)
        .await
        .with_context(|| format!("seeding {}", s.name))?;
    }
    let hash = crate::auth::password::hash(DEMO_PASSWORD.to_owned()).await?;
    for (username, display, org, roles) in ACCOUNTS {
        sqlx::query(
            "insert into app_user (user_id, organization_id, username, display_name, password_hash, roles, security_stamp)
             values ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(Uuid::now_v7())
        .bind(ids[org])
        .bind(username)
        .bind(display)
        .bind(&hash)
        .bind(roles.to_vec())
        .bind(Uuid::new_v4())
        .execute(&mut *tx)
        .await?;
    }
    seed_registry(&mut tx, &ids).await?;
    seed_authorizations(&mut tx, &ids).await?;
    seed_records(&mut tx, ids["gd_power"]).await?;
    audit::insert(
        &mut tx,
        None,
        None,
        Event::new("demo.seed", "database", "demo").after(&json!({
            "organizations": ORGS.len() + STATIONS.len(),
            "users": ACCOUNTS.len(),
        })),
    )
    .await?;
    sqlx::query("insert into app_meta (key, value) values ($1, now()::text)")
        .bind(MARKER)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(true)
}

/// Bumped whenever the demo data changes (test templates are keyed by it).
pub const SEED_VERSION: u32 = 5;

/// The authorizations (certificates) of the authorized demo stations, with
/// items, regions and verification tokens; numbers follow R8.4's default
/// pattern per regulator and year.
async fn seed_authorizations(
    tx: &mut sqlx::PgConnection,
    ids: &std::collections::HashMap<&str, Uuid>,
) -> anyhow::Result<()> {
    use crate::rules::jurisdiction::RegulatorLevel as Level;
    use crate::rules::numbering::{certificate_prefix, NumberPattern, DEFAULT_PATTERN};
    use chrono::Months;
    let today = crate::web::today();
    let pattern = NumberPattern::parse(DEFAULT_PATTERN)?;
    type ItemSeed = (
        &'static str,
        &'static str,
        &'static str,
        &'static [&'static str],
        &'static str,
    );
    // (station, regulator, level, division, months since issue, region, items)
    type PlanRow = (
        &'static str,
        &'static str,
        Level,
        Option<&'static str>,
        u32,
        &'static [&'static str],
        &'static [ItemSeed],
    );
    let plan: [PlanRow; 6] = [
        (
            "head",
            "samr",
            Level::National,
            None,
            30,
            &["110000", "510000", "320000", "440000"],
            &[
                (
                    "气体流量计",
                    "（10～10000）m³/h",
                    "0.5级",
                    &["verification", "calibration"],
                    "JJG 1030-2007",
                ),
                (
                    "液体流量计",
                    "（1～2000）m³/h",
                    "0.2级",
                    &["verification", "calibration"],
                    "JJG 1029-2007",
                ),
            ],
        ),
        (
            "branch_cd",
            "samr",
            Level::National,
            None,
            24,
            &["510000", "500000"],
            &[(
                "天然气流量计",
                "（8～1600）m³/h",
                "1.0级",
                &["verification"],
                "JJG 1030-2007",
            )],
        ),
        (
            "branch_nj",
            "samr",
            Level::National,
            None,
            18,
            &["320000", "340000"],
            &[(
                "原油流量计",
                "（5～800）m³/h",
                "0.2级",
                &["verification", "calibration"],
                "JJG 1029-2007",
            )],
        ),
        (
            "gd_power",
            "gd",
            Level::Provincial,
            Some("440000"),
            20,
            &["440000"],
            &[
                (
                    "电能表",
                    "（0～100）A",
                    "0.5级",
                    &["verification"],
                    "JJG 596-2012",
                ),
                (
                    "电流互感器",
                    "（0～5000）A",
                    "0.2级",
                    &["verification", "calibration"],
                    "JJG 1021-2007",
                ),
            ],
        ),
        (
            "js_power",
            "js",
            Level::Provincial,
            Some("320000"),
            // Expires within six months: the demo shows a re-examination due (R14.1).
            56,
            &["320000"],
            &[(
                "电能表",
                "（0～100）A",
                "0.5级",
                &["verification"],
                "JJG 596-2012",
            )],
        ),
        (
            "th_gas",
            "th",
            Level::County,
            Some("440106"),
            6,
            &["440106"],
            &[(
                "膜式燃气表",
                "（0.016～6）m³/h",
                "1.5级",
                &["verification"],
                "JJG 577-2012",
            )],
        ),
    ];
    let mut seqs: std::collections::HashMap<(&str, i32), u32> = std::collections::HashMap::new();
    // Numbers run per prefix and year (see next_certificate_seq).
    for (station, regulator, level, division, months_ago, region, items) in plan {
        let valid_from = today
            .checked_sub_months(Months::new(months_ago))
            .unwrap_or(today);
        let valid_until = valid_from
            .checked_add_months(Months::new(60))
            .and_then(|d| d.pred_opt())
            .unwrap_or(today);
        let year = chrono::Datelike::year(&valid_from);
        let code = division.and_then(|d| crate::rules::DivisionCode::parse(d).ok());
        let prefix = certificate_prefix(level, code.as_ref()).unwrap_or("国");
        let seq = seqs.entry((prefix, year)).or_insert(0);
        *seq += 1;
        let number = pattern.render(prefix, year, *seq);
        let id = Uuid::now_v7();
        let region: Vec<String> = region.iter().map(|r| r.to_string()).collect();
        sqlx::query(
            "insert into station_authorization (authorization_id, station_id, regulator_id, certificate_number,
               verify_token, valid_from, valid_until, region) values ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(id).bind(ids[station]).bind(ids[regulator]).bind(&number)
        .bind(crate::web::random_token()).bind(valid_from).bind(valid_until).bind(&region)
        .execute(&mut *tx)
        .await?;
        for (n, (name, range, acc, tasks, spec)) in items.iter().enumerate() {
            let tasks: Vec<String> = tasks.iter().map(|t| t.to_string()).collect();
            sqlx::query(
                "insert into authorization_item (authorization_item_id, authorization_id, station_id, seq, name,
                   range_text, accuracy_text, task_types, specification) values ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(Uuid::now_v7()).bind(id).bind(ids[station]).bind(n as i32 + 1).bind(name)
            .bind(range).bind(acc).bind(&tasks).bind(spec)
            .execute(&mut *tx)
            .await?;
        }
        // R13.2: revision 1 of every authorization is kept.
        sqlx::query("select snapshot_authorization($1, 'grant', null, $2)")
            .bind(id)
            .bind(valid_from)
            .execute(&mut *tx)
            .await?;
    }
    for ((prefix, year), last) in seqs {
        sqlx::query(
            "insert into certificate_sequence (prefix, year, last_seq) values ($1, $2, $3)",
        )
        .bind(prefix)
        .bind(year)
        .bind(last as i32)
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}

/// Work records of the 广东 power station (issue 15) through the real check:
/// four inside the chain over the last weeks, one outside the region issued
/// with the approver's reason, one the performer checked alone (as a LIMS
/// would send it: flagged, no reason).
async fn seed_records(tx: &mut sqlx::PgConnection, station: Uuid) -> anyhow::Result<()> {
    use crate::records::{chain, model, store};
    use chrono::Days;
    let today = crate::web::today();
    let chain = chain::load(tx, station).await?;
    let day = |n: u64| today.checked_sub_days(Days::new(n)).unwrap_or(today);
    let record = |n: u64, number: &str, division: &str, checker: &str| model::RecordInput {
        number: number.into(),
        kind: "verification_certificate".into(),
        instrument_name: "三相智能电能表".into(),
        instrument_model: "DTZY1296".into(),
        instrument_serial: format!("44{n:08}"),
        manufacturer: "深圳某电气有限公司".into(),
        customer_name: "广东电网有限责任公司深圳供电局".into(),
        customer_division: division.into(),
        item_name: "电能表".into(),
        range_text: "（1.5～6）A".into(),
        specification: "JJG 596-2012".into(),
        standards: vec!["[2023]粤社量标证字第0101号".into()],
        performer: "刘芳".into(),
        checker: checker.into(),
        approver: "刘芳".into(),
        work_date: day(n).to_string(),
        issue_date: day(n).to_string(),
        conclusion: "合格".into(),
        valid_until: day(n)
            .checked_add_days(Days::new(730))
            .map(|d| d.to_string()),
        ..model::RecordInput::default()
    };
    let inputs = [
        (record(40, "粤电计检字2026-000101", "440305", "王丽"), None),
        (record(33, "粤电计检字2026-000102", "440106", "王丽"), None),
        (record(21, "粤电计检字2026-000103", "440305", "王丽"), None),
        (record(9, "粤电计检字2026-000104", "441900", "王丽"), None),
        (
            record(5, "粤电计检字2026-000105", "110105", "王丽"),
            Some("用户设备随工程项目临时运往北京，已书面报告授权机关"),
        ),
        (record(2, "粤电计检字2026-000106", "440305", "刘芳"), None),
    ];
    let mut cache = Default::default();
    for (input, reason) in inputs {
        let parsed = model::parse(&input, "", today)
            .and_then(|p| chain.check(p, ""))
            .map_err(|e| anyhow::anyhow!("demo record {}: {e:?}", input.number))?;
        let opts = store::WriteOptions {
            source: store::Source::Form,
            user_id: None,
            override_by: None,
            copy: false,
        };
        let approver: Option<Uuid> =
            sqlx::query_scalar("select user_id from app_user where username = 'station.staff'")
                .fetch_optional(&mut *tx)
                .await?;
        let opts = match (reason, approver) {
            (Some(r), Some(p)) => store::WriteOptions {
                override_by: Some((r, p)),
                ..opts
            },
            _ => opts,
        };
        store::write_batch(tx, &chain, &[parsed], &opts, &mut cache).await?;
    }
    Ok(())
}

/// Standards, traceability and staff of the 广东 power station (and one of
/// the head station), dated from today so that the warnings show: one
/// certificate inside its re-assessment window (R12.3), one calibration
/// overdue (R16.4), one expired qualification (R16.6).
async fn seed_registry(
    tx: &mut sqlx::PgConnection,
    ids: &std::collections::HashMap<&str, Uuid>,
) -> anyhow::Result<()> {
    use chrono::{Days, Months};
    let today = crate::web::today();
    let ago = |m: u32| today.checked_sub_months(Months::new(m)).unwrap_or(today);
    let ahead = |m: u32| today.checked_add_months(Months::new(m)).unwrap_or(today);
    let gd = ids["gd"];
    let samr = ids["samr"];
    // (station, kind, name, range, accuracy, equipment, spec, person, location, cert, issuer, issued, expires, calibrated, due)
    let rows = [
        (
            "gd_power",
            "social_public",
            "0.02级电能表检定装置",
            "（0～100）A",
            "0.02级",
            "三相电能表检定装置",
            "JJG 597-2005",
            "刘芳",
            "电能实验室 201",
            "[2023]粤社量标证字第0101号",
            gd,
            ago(30),
            ahead(18),
            ago(6),
            ahead(6),
        ),
        (
            "gd_power",
            "professional",
            "互感器校验仪检定装置",
            "（0～120）%",
            "MPE: ±0.05%",
            "互感器校验仪",
            "JJG 169-2010",
            "刘芳",
            "电能实验室 203",
            "[2022]粤量标证字第0207号",
            gd,
            ago(44),
            ahead(4),
            ago(13),
            ago(1),
        ),
        (
            "gd_power",
            "professional",
            "0.05级活塞式压力计标准装置",
            "（0.1～60）MPa",
            "0.05级",
            "活塞式压力计",
            "JJG 59-2022",
            "陈晓明",
            "压力实验室",
            "[2024]粤量标证字第0312号",
            gd,
            ago(10),
            ahead(38),
            ago(2),
            ahead(10),
        ),
        (
            "head",
            "primary",
            "天然气流量原级标准装置",
            "（8～1600）m³/h",
            "U=0.05%, k=2",
            "mt法原级标准装置",
            "JJG 1030-2007",
            "赵敏",
            "总站原级实验室",
            "[2021]国量基证字第001号",
            samr,
            ago(40),
            ahead(8),
            ago(3),
            ahead(9),
        ),
    ];
    for (
        st,
        kind,
        name,
        range,
        acc,
        equip,
        spec,
        person,
        loc,
        cert,
        issuer,
        issued,
        expires,
        cal,
        due,
    ) in rows
    {
        let id = Uuid::now_v7();
        sqlx::query(
            "insert into measurement_standard (standard_id, station_id, kind, name, range_text, accuracy_text,
               main_equipment, specification, responsible_person, location, environment, cert_number,
               cert_issuer_id, cert_issued_on, cert_expires_on)
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, '温度（20±2）℃，湿度≤80%RH', $11, $12, $13, $14)",
        )
        .bind(id).bind(ids[st]).bind(kind).bind(name).bind(range).bind(acc).bind(equip).bind(spec)
        .bind(person).bind(loc).bind(cert).bind(issuer).bind(issued).bind(expires)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "insert into traceability_record (traceability_record_id, standard_id, station_id, calibrated_on,
               provider, certificate_number, due_on) values ($1, $2, $3, $4, '中国计量科学研究院', $5, $6)",
        )
        .bind(Uuid::now_v7()).bind(id).bind(ids[st]).bind(cal)
        .bind(format!("NIM-{}", &id.simple().to_string()[..8])).bind(due)
        .execute(&mut *tx)
        .await?;
    }
    for (name, title, quals) in [
        (
            "刘芳",
            "高级工程师",
            vec![(
                "registered_metrologist_1",
                "一级注册计量师 2019-0456",
                vec!["电能表", "互感器"],
                ago(60),
                ahead(12),
            )],
        ),
        (
            "陈晓明",
            "工程师",
            vec![(
                "verifier_certificate",
                "粤检字 2020-1187",
                vec!["压力表", "活塞式压力计"],
                ago(66),
                today.checked_sub_days(Days::new(20)).unwrap_or(today),
            )],
        ),
        (
            "王丽",
            "助理工程师",
            vec![(
                "verifier_certificate",
                "粤检字 2023-0342",
                vec!["电能表"],
                ago(20),
                ahead(40),
            )],
        ),
    ] {
        let person = Uuid::now_v7();
        sqlx::query("insert into staff_member (staff_member_id, station_id, name, title) values ($1, $2, $3, $4)")
            .bind(person).bind(ids["gd_power"]).bind(name).bind(title)
            .execute(&mut *tx)
            .await?;
        for (kind, number, items, issued, expires) in quals {
            sqlx::query(
                "insert into qualification (qualification_id, staff_member_id, station_id, kind, certificate_number,
                   items, issued_on, expires_on) values ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(Uuid::now_v7()).bind(person).bind(ids["gd_power"]).bind(kind).bind(number)
            .bind(items).bind(issued).bind(expires)
            .execute(&mut *tx)
            .await?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::credit_code::CreditCode;

    #[test]
    fn every_demo_credit_code_is_valid_under_r7_1() {
        let codes = ORGS
            .iter()
            .filter_map(|o| o.credit_code)
            .chain(STATIONS.iter().filter_map(|s| s.credit_code))
            .chain(STATIONS.iter().filter_map(|s| s.parent.map(|p| p.1)));
        for code in codes {
            assert!(
                CreditCode::parse(code).is_ok(),
                "{code} is not a valid credit code"
            );
        }
    }

    #[test]
    fn every_branch_names_a_head_station_and_no_other_tier_does_r3_1() {
        for s in STATIONS {
            assert_eq!(s.tier == "national_branch", s.head.is_some(), "{}", s.name);
        }
    }
}

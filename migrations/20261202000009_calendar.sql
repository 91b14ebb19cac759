-- The official holiday calendar as operated data (R6.4, R18.1).
--
-- Each year's arrangement (the State Council's 《国务院办公厅关于YYYY年部分节假日
-- 安排的通知》) is a version: its holidays and make-up workdays, its source and
-- who loaded it. The current version of a year is the highest; earlier ones
-- stay readable. The platform operator loads a year through the app (as
-- system work, after the app checked the operator), so the request role may
-- only read these tables. A fresh database is seeded from the shipped
-- reference file at start-up (db::reference::load), one version per year.

create table calendar_version (
  calendar_version_id uuid primary key,
  year integer not null constraint calendar_version_year_range check (year between 2000 and 2100),
  version integer not null constraint calendar_version_version_positive check (version >= 1),
  source_title text constraint calendar_version_source_title_length check (length(source_title) <= 200),
  source_number text constraint calendar_version_source_number_length check (length(source_number) <= 100),
  source_date date constraint calendar_version_source_date_date_range
    check (source_date between date '2000-01-01' and date '2100-12-31'),
  source_url text constraint calendar_version_source_url_length check (length(source_url) <= 500),
  note text constraint calendar_version_note_length check (length(note) <= 1000),
  loaded_via text not null constraint calendar_version_loaded_via
    check (loaded_via in ('reference', 'page', 'api', 'cli')),
  loaded_by uuid references app_user (user_id),
  loaded_at timestamptz not null default now(),
  constraint calendar_version_year_version_key unique (year, version),
  constraint calendar_version_id_year_key unique (calendar_version_id, year)
);

create table calendar_version_day (
  calendar_version_id uuid not null,
  year integer not null,
  day date not null,
  kind text not null constraint calendar_version_day_kind check (kind in ('holiday', 'workday')),
  name_en text not null constraint calendar_version_day_name_en_length check (length(btrim(name_en)) between 1 and 50),
  name_zh text not null constraint calendar_version_day_name_zh_length check (length(btrim(name_zh)) between 1 and 50),
  primary key (calendar_version_id, day),
  foreign key (calendar_version_id, year) references calendar_version (calendar_version_id, year),
  -- Every date of a version lies in its year.
  constraint calendar_version_day_in_year check (extract(year from day)::integer = year),
  -- A make-up workday 调休上班 is a Saturday or a Sunday.
  constraint calendar_version_day_workday_weekend check (kind <> 'workday' or extract(isodow from day) in (6, 7))
);

grant select on calendar_version, calendar_version_day to jiliang_app;

-- What an earlier release loaded into calendar_day becomes version 1 of
-- each year (a fresh database has nothing here yet; the reference loader
-- seeds it).
insert into calendar_version (calendar_version_id, year, version, note, loaded_via)
select gen_random_uuid(), y, 1, 'reference/cn_calendar_adjustments.csv', 'reference'
  from (select distinct extract(year from day)::integer as y from calendar_day) years;
insert into calendar_version_day (calendar_version_id, year, day, kind, name_en, name_zh)
select v.calendar_version_id, v.year, d.day, d.kind, d.name_en, d.name_zh
  from calendar_day d join calendar_version v on v.year = extract(year from d.day)::integer;
drop table calendar_day;

-- R18.1: a working-day deadline past the loaded years is provisional 暂定
-- (weekday rule, 1 January off) until that year is loaded and it is recomputed.
alter table rectification_order add column due_provisional boolean not null default false;

-- Station lifecycle (Art 11, 13, 14, 15): head appointments, adjustments,
-- re-examinations and terminations as requests with an explicit state
-- machine (src/lifecycle/), immutable versions of an authorization (R13.2)
-- and the history of a station's heads (R11.1).

-- R13.2: every change to an authorization makes a new revision; each
-- revision is kept as a snapshot. `version` stays the optimistic-lock counter.
alter table station_authorization add column revision integer not null default 1;

create table authorization_version (
  authorization_id uuid not null references station_authorization (authorization_id),
  revision integer not null,
  station_id uuid not null references station (station_id),
  reason text not null constraint authorization_version_reason
    check (reason in ('grant', 'adjustment', 'renewal', 'termination', 'revocation')),
  request_id uuid,
  effective_on date not null,
  status text not null,
  certificate_number text not null,
  valid_from date not null,
  valid_until date not null,
  ended_on date,
  region text[] not null,
  -- [{seq, name, range_text, accuracy_text, task_types, specification}]
  items jsonb not null,
  created_at timestamptz not null default now(),
  primary key (authorization_id, revision)
);

-- Snapshots the authorization as it now is, under its current revision.
-- Runs with the caller's rights: the policies below decide who may.
create function snapshot_authorization(p_id uuid, p_reason text, p_request uuid, p_effective date)
returns integer language sql as $$
  insert into authorization_version (authorization_id, revision, station_id, reason, request_id,
    effective_on, status, certificate_number, valid_from, valid_until, ended_on, region, items)
  select a.authorization_id, a.revision, a.station_id, p_reason, p_request, p_effective, a.status,
         a.certificate_number, a.valid_from, a.valid_until, a.ended_on, a.region,
         coalesce((select jsonb_agg(jsonb_build_object('seq', i.seq, 'name', i.name,
                     'range_text', i.range_text, 'accuracy_text', i.accuracy_text,
                     'task_types', i.task_types, 'specification', i.specification) order by i.seq)
                     from authorization_item i where i.authorization_id = a.authorization_id), '[]'::jsonb)
    from station_authorization a where a.authorization_id = p_id
  returning revision
$$;

-- Authorizations issued before this migration get their first snapshot.
insert into authorization_version (authorization_id, revision, station_id, reason, effective_on, status,
  certificate_number, valid_from, valid_until, ended_on, region, items)
select a.authorization_id, a.revision, a.station_id, 'grant', a.valid_from, a.status,
       a.certificate_number, a.valid_from, a.valid_until, a.ended_on, a.region,
       coalesce((select jsonb_agg(jsonb_build_object('seq', i.seq, 'name', i.name,
                   'range_text', i.range_text, 'accuracy_text', i.accuracy_text,
                   'task_types', i.task_types, 'specification', i.specification) order by i.seq)
                   from authorization_item i where i.authorization_id = a.authorization_id), '[]'::jsonb)
  from station_authorization a;

alter table authorization_version enable row level security;
alter table authorization_version force row level security;
create policy authorization_version_read on authorization_version for select using (app_sees_station(station_id));
create policy authorization_version_insert on authorization_version for insert with check (exists (
  select 1 from station_authorization a where a.authorization_id = authorization_version.authorization_id
     and a.regulator_id = app_org_id()));
grant select, insert on authorization_version to jiliang_app;

-- An approved adjustment changes or removes items in place (an item keeps
-- its seq across revisions, so versions compare item by item).
create policy authorization_item_update on authorization_item for update
  using (exists (select 1 from station_authorization a where a.authorization_id = authorization_item.authorization_id
                   and a.regulator_id = app_org_id()))
  with check (exists (select 1 from station_authorization a where a.authorization_id = authorization_item.authorization_id
                   and a.regulator_id = app_org_id()));
create policy authorization_item_delete on authorization_item for delete
  using (exists (select 1 from station_authorization a where a.authorization_id = authorization_item.authorization_id
                   and a.regulator_id = app_org_id()));
grant update, delete on authorization_item to jiliang_app;

create table lifecycle_request (
  request_id uuid primary key,
  kind text not null constraint lifecycle_request_kind
    check (kind in ('head', 'adjustment', 'reexamination', 'termination')),
  station_id uuid not null references station (station_id),
  department_id uuid not null references organization (organization_id),
  -- The authorizing regulator, who decides.
  regulator_id uuid not null references organization (organization_id),
  authorization_id uuid references station_authorization (authorization_id),
  state text not null constraint lifecycle_request_state check (state in (
    'draft', 'submitted', 'proposed', 'approved', 'refused', 'withdrawn', 'recorded', 'filed', 'completed')),
  -- What is asked, by kind (src/lifecycle/model.rs).
  payload jsonb not null default '{}',
  reason text not null default '',
  filed_on date,
  -- termination: the requested end date (R15.1); head: the appointment's effective date.
  effective_on date,
  -- adjustment: the assessment, when one is needed (R13.2, as R8.3).
  assessment jsonb,
  proposal text constraint lifecycle_request_proposal check (proposal in ('approve', 'refuse')),
  proposal_reasons text,
  -- re-examination: the result (pass/fail, what follows a fail).
  proposal_data jsonb,
  proposed_by uuid,
  proposed_on date,
  returned_reasons text,
  decided_by uuid,
  decided_at timestamptz,
  new_revision integer,
  drafted_by uuid not null,
  drafted_by_org uuid not null references organization (organization_id),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  version integer not null default 1,
  constraint lifecycle_request_four_eyes check (decided_by is null or proposed_by is null or decided_by <> proposed_by)
);
create index lifecycle_request_station_idx on lifecycle_request (station_id, kind);
create index lifecycle_request_regulator_idx on lifecycle_request (regulator_id, state);
create index lifecycle_request_department_idx on lifecycle_request (department_id, state);
-- One open termination and one open re-examination per authorization.
create unique index lifecycle_request_one_termination on lifecycle_request (authorization_id)
  where kind = 'termination' and state in ('draft', 'submitted', 'proposed', 'approved');
create unique index lifecycle_request_one_reexamination on lifecycle_request (authorization_id)
  where kind = 'reexamination' and state in ('submitted', 'proposed');

alter table lifecycle_request enable row level security;
alter table lifecycle_request force row level security;
create policy lifecycle_request_read on lifecycle_request for select using (
  station_id = app_org_id() or department_id = app_org_id()
  or (regulator_id = app_org_id() and state <> 'draft'));
-- Drafts come from the station or its department (of that station, with its
-- authorizing regulator); a re-examination is scheduled by that regulator.
create policy lifecycle_request_insert on lifecycle_request for insert with check (
  drafted_by_org = app_org_id()
  and exists (select 1 from station s where s.station_id = lifecycle_request.station_id
                and s.department_id = lifecycle_request.department_id
                and s.authorizing_regulator_id = lifecycle_request.regulator_id)
  and ((state = 'draft' and (station_id = app_org_id() or department_id = app_org_id()))
       or (state = 'submitted' and kind = 'reexamination' and regulator_id = app_org_id())));
-- The station and the department move a request only through their own
-- steps (edit, submit, withdraw, record); deciding is the regulator's.
create policy lifecycle_request_update on lifecycle_request for update
  using ((regulator_id = app_org_id() and state <> 'draft')
         or ((station_id = app_org_id() or department_id = app_org_id()) and state in ('draft', 'submitted', 'approved')))
  with check (regulator_id = app_org_id()
         or ((station_id = app_org_id() or department_id = app_org_id())
             and state in ('draft', 'submitted', 'withdrawn', 'recorded')));
grant select, insert, update on lifecycle_request to jiliang_app;

-- R11.1: the station's heads over time; the current head has no end date.
create table station_head (
  station_head_id uuid primary key,
  station_id uuid not null references station (station_id),
  person_name text not null constraint station_head_person check (length(btrim(person_name)) between 1 and 100),
  appointed_on date not null,
  removed_on date,
  request_id uuid references lifecycle_request (request_id),
  removal_request_id uuid references lifecycle_request (request_id),
  created_at timestamptz not null default now()
);
create unique index station_head_current on station_head (station_id) where removed_on is null;

alter table station_head enable row level security;
alter table station_head force row level security;
create policy station_head_read on station_head for select using (app_sees_station(station_id));
create policy station_head_write on station_head for all
  using (exists (select 1 from station s where s.station_id = station_head.station_id
                   and s.authorizing_regulator_id = app_org_id()))
  with check (exists (select 1 from station s where s.station_id = station_head.station_id
                   and s.authorizing_regulator_id = app_org_id()));
grant select, insert, update on station_head to jiliang_app;

-- Ends the station when nothing of it remains in force. The authorizing
-- regulator calls it after ending an authorization in its own transaction
-- (the station row is otherwise the operator's to change).
create function close_station_if_nothing_in_force(p_station uuid) returns void
language plpgsql security definer set search_path = public as $$
begin
  if not exists (select 1 from station_authorization a where a.station_id = p_station
                   and (a.regulator_id = app_org_id() or app_org_id() is null)) then
    raise exception 'not the authorizing regulator of this station' using errcode = 'insufficient_privilege';
  end if;
  update station s set status = 'terminated', version = version + 1, updated_at = now()
   where s.station_id = p_station and s.status <> 'terminated'
     and not exists (select 1 from station_authorization a where a.station_id = s.station_id
                       and a.status in ('active', 'suspended'));
end $$;
revoke all on function close_station_if_nothing_in_force(uuid) from public;
grant execute on function close_station_if_nothing_in_force(uuid) to jiliang_app;

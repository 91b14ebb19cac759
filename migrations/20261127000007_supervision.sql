-- Supervision (Art 17, 18, 19): inspections with the random draw (R17.1–
-- R17.4), rectification orders (R18.1–R18.3), violation cases (R19.1) and
-- referrals to discipline inspection organs (R19.2).

-- R17.3: a draw is kept with everything needed to re-run it.
create table inspection_draw (
  draw_id uuid primary key,
  org_id uuid not null references organization (organization_id),
  algorithm text not null,
  -- u64 seeds exceed bigint: kept as text of the decimal number.
  seed text not null constraint inspection_draw_seed check (seed ~ '^[0-9]{1,20}$'),
  station_pool uuid[] not null,
  inspector_pool uuid[] not null,
  station_count integer not null constraint inspection_draw_station_count check (station_count between 1 and 500),
  inspectors_per_station integer not null constraint inspection_draw_inspectors check (inspectors_per_station between 1 and 10),
  -- [{station, inspectors: [user ids]}] and notes, as the rules module returned them.
  result jsonb not null,
  created_by uuid not null,
  created_at timestamptz not null default now()
);

create table inspection (
  inspection_id uuid primary key,
  -- The inspecting organization: a regulator (R17.1) or the station's
  -- competent department under its own rules.
  org_id uuid not null references organization (organization_id),
  org_kind text not null constraint inspection_org_kind check (org_kind in ('regulator', 'department')),
  station_id uuid not null references station (station_id),
  department_id uuid not null references organization (organization_id),
  draw_id uuid references inspection_draw (draw_id),
  state text not null default 'planned' constraint inspection_state
    check (state in ('planned', 'recorded', 'completed', 'cancelled')),
  planned_on date not null,
  inspected_from date,
  inspected_to date,
  inspectors uuid[] not null default '{}',
  -- R17.2: {area: {finding: conforming|nonconforming|not_inspected, notes}} for the five areas.
  areas jsonb not null default '{}',
  -- R17.4: cooperated, refused or obstructed.
  cooperation text constraint inspection_cooperation check (cooperation in ('cooperated', 'refused', 'obstructed')),
  cooperation_notes text,
  summary text,
  recorded_by uuid,
  recorded_at timestamptz,
  approved_by uuid,
  approved_at timestamptz,
  published boolean not null default false,
  created_by uuid not null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  version integer not null default 1,
  constraint inspection_four_eyes check (approved_by is null or recorded_by is null or approved_by <> recorded_by)
);
create index inspection_org_idx on inspection (org_id, state);
create index inspection_station_idx on inspection (station_id);

create table rectification_order (
  order_id uuid primary key,
  inspection_id uuid references inspection (inspection_id),
  station_id uuid not null references station (station_id),
  department_id uuid not null references organization (organization_id),
  -- The issuing organization.
  issuer_id uuid not null references organization (organization_id),
  -- R17.2 areas this order covers.
  areas text[] not null constraint rectification_order_areas check (cardinality(areas) >= 1),
  description text not null,
  -- R18.1: working or calendar days, computed on the official calendar.
  period_unit text not null constraint rectification_order_unit check (period_unit in ('working_days', 'calendar_days')),
  period_days integer not null constraint rectification_order_days check (period_days between 1 and 365),
  issued_on date not null,
  due_on date not null,
  -- R18.3: one extension, with a new deadline.
  extended_due_on date,
  extension_reason text,
  -- R18.3 with four eyes: reported → closing (a reviewer proposes to close) → closed (another approver).
  state text not null default 'open' constraint rectification_order_state check (state in ('open', 'reported', 'closing', 'closed')),
  closure_proposed_by uuid,
  report text,
  reported_at timestamptz,
  rejection_reasons text,
  closed_on date,
  closed_by uuid,
  created_by uuid not null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  version integer not null default 1,
  constraint rectification_order_extension check (extended_due_on is null or extended_due_on > due_on),
  constraint rectification_order_four_eyes check (closed_by is null or closure_proposed_by is null or closed_by <> closure_proposed_by)
);
create index rectification_order_issuer_idx on rectification_order (issuer_id, state);
create index rectification_order_station_idx on rectification_order (station_id);

-- R19.1: the Art 16 items (the seven prohibited acts).
create table violation_case (
  case_id uuid primary key,
  regulator_id uuid not null references organization (organization_id),
  station_id uuid not null references station (station_id),
  department_id uuid not null references organization (organization_id),
  art16_items text[] not null constraint violation_case_items check (
    cardinality(art16_items) >= 1 and art16_items <@ array['1', '2', '3', '4', '5', '6', '7']),
  description text not null,
  inspection_ids uuid[] not null default '{}',
  evidence text,
  state text not null default 'draft' constraint violation_case_state check (state in ('draft', 'proposed', 'decided', 'withdrawn')),
  decision text constraint violation_case_decision
    check (decision in ('warning', 'order_to_correct', 'fine', 'revocation', 'other')),
  fine_amount numeric(14, 2) constraint violation_case_fine check (fine_amount is null or fine_amount > 0),
  decision_notes text,
  proposed_by uuid,
  decided_by uuid,
  decided_at timestamptz,
  created_by uuid not null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  version integer not null default 1,
  constraint violation_case_four_eyes check (decided_by is null or proposed_by is null or decided_by <> proposed_by),
  constraint violation_case_fine_amount check ((decision = 'fine') = (fine_amount is not null) or decision is null)
);
create index violation_case_regulator_idx on violation_case (regulator_id, state);

-- R19.2: seen only by the referring regulator's approvers.
create table referral (
  referral_id uuid primary key,
  regulator_id uuid not null references organization (organization_id),
  station_id uuid references station (station_id),
  case_id uuid references violation_case (case_id),
  recipient text not null constraint referral_recipient check (length(btrim(recipient)) between 1 and 200),
  referred_on date not null,
  reference text not null constraint referral_reference check (length(btrim(reference)) between 1 and 100),
  summary text not null,
  created_by uuid not null,
  created_at timestamptz not null default now()
);

alter table inspection_draw enable row level security;
alter table inspection_draw force row level security;
alter table inspection enable row level security;
alter table inspection force row level security;
alter table rectification_order enable row level security;
alter table rectification_order force row level security;
alter table violation_case enable row level security;
alter table violation_case force row level security;
alter table referral enable row level security;
alter table referral force row level security;

-- Inspections: the inspecting organization; the station and its department
-- once the record is completed (results, not the work in progress).
-- R3.2: a head station reads its branches' completed inspections and orders.
create function app_is_head_of(p_station uuid) returns boolean
language sql stable security definer set search_path = public as $$
  select exists (select 1 from station s where s.station_id = p_station and s.head_station_id = app_org_id())
$$;
create policy inspection_read on inspection for select using (
  org_id = app_org_id()
  or (state = 'completed' and (station_id = app_org_id() or department_id = app_org_id()
                               or app_is_head_of(station_id))));
create policy inspection_insert on inspection for insert with check (
  org_id = app_org_id() and org_kind = app_org_kind() and app_org_kind() in ('regulator', 'department')
  and (app_org_kind() = 'regulator' or department_id = app_org_id()));
create policy inspection_update on inspection for update using (org_id = app_org_id()) with check (org_id = app_org_id());

create policy inspection_draw_read on inspection_draw for select using (
  org_id = app_org_id()
  or exists (select 1 from inspection i where i.draw_id = inspection_draw.draw_id));
create policy inspection_draw_insert on inspection_draw for insert
  with check (org_id = app_org_id() and app_org_kind() in ('regulator', 'department'));

-- Orders: issuer, station, and the station's competent department (R18.2).
create policy rectification_order_read on rectification_order for select using (
  issuer_id = app_org_id() or station_id = app_org_id() or department_id = app_org_id()
  or app_is_head_of(station_id));
create policy rectification_order_insert on rectification_order for insert
  with check (issuer_id = app_org_id() and app_org_kind() in ('regulator', 'department'));
-- The station only reports on an open order.
create policy rectification_order_update on rectification_order for update
  using (issuer_id = app_org_id() or (station_id = app_org_id() and state = 'open'))
  with check (issuer_id = app_org_id() or (station_id = app_org_id() and state = 'reported'));

-- Cases: the regulator; the station and department see the decision.
create policy violation_case_read on violation_case for select using (
  regulator_id = app_org_id()
  or (state = 'decided' and (station_id = app_org_id() or department_id = app_org_id())));
create policy violation_case_insert on violation_case for insert
  with check (regulator_id = app_org_id() and app_org_kind() = 'regulator' and state = 'draft');
create policy violation_case_update on violation_case for update
  using (regulator_id = app_org_id()) with check (regulator_id = app_org_id());

-- R19.2: only the referring regulator's approvers, for reading and writing.
create policy referral_read on referral for select
  using (regulator_id = app_org_id() and app_org_kind() = 'regulator' and app_has_role('approver'));
create policy referral_insert on referral for insert
  with check (regulator_id = app_org_id() and app_org_kind() = 'regulator' and app_has_role('approver'));

-- Evidence files of an inspection, uploaded by the inspecting organization.
alter table document drop constraint document_owner_type;
alter table document add constraint document_owner_type check (owner_type in (
  'standard', 'traceability_record', 'qualification', 'change_request', 'application',
  'inspection', 'rectification_order', 'violation_case'));
create policy document_insert_inspection on document for insert
  with check (owner_type = 'inspection' and exists (
    select 1 from inspection i where i.inspection_id = document.owner_id and i.org_id = app_org_id()));
-- Evidence files of a violation case, uploaded by its regulator.
create policy document_insert_violation_case on document for insert
  with check (owner_type = 'violation_case' and exists (
    select 1 from violation_case c where c.case_id = document.owner_id and c.regulator_id = app_org_id()));
drop policy document_read on document;
create policy document_read on document for select
  -- Inspection evidence is the inspecting organization's, not the station's.
  using ((app_sees_station(station_id) and owner_type not in ('inspection', 'violation_case'))
    or exists (select 1 from violation_case c
                where document.owner_type = 'violation_case' and c.case_id = document.owner_id
                  and c.regulator_id = app_org_id())
    or exists (select 1 from standard_change_request r
                where document.owner_type = 'change_request' and r.change_request_id = document.owner_id
                  and r.decider_org_id = app_org_id())
    or exists (select 1 from application a
                where document.owner_type = 'application' and a.application_id = document.owner_id
                  and app_sees_application(a))
    or exists (select 1 from inspection i
                where document.owner_type = 'inspection' and i.inspection_id = document.owner_id
                  and i.org_id = app_org_id())
    or exists (select 1 from rectification_order o
                where document.owner_type = 'rectification_order' and o.order_id = document.owner_id
                  and (o.issuer_id = app_org_id() or o.department_id = app_org_id())));

-- R19.1: a revocation ends at once the authorizations the deciding
-- regulator granted. It runs through this narrow function: only the
-- approver who decided the revocation, in the same transaction.
create function revoke_authorization(p_case uuid, p_on date) returns integer
language plpgsql security definer set search_path = public as $$
declare
  v_station uuid;
  v_count integer := 0;
  a record;
begin
  if app_org_kind() is distinct from 'regulator' or not app_has_role('approver') then
    raise exception 'only a regulator''s approver revokes' using errcode = 'insufficient_privilege';
  end if;
  select station_id into v_station from violation_case
   where case_id = p_case and state = 'decided' and decision = 'revocation'
     and regulator_id = app_org_id() and decided_by = app_user_id();
  if v_station is null then
    raise exception 'no decided revocation for this case' using errcode = 'insufficient_privilege';
  end if;
  for a in select authorization_id from station_authorization
            where station_id = v_station and regulator_id = app_org_id()
              and status in ('active', 'suspended') for update loop
    update station_authorization set status = 'revoked', ended_on = p_on, revision = revision + 1,
           version = version + 1, updated_at = now()
     where authorization_id = a.authorization_id;
    perform snapshot_authorization(a.authorization_id, 'revocation', p_case, p_on);
    v_count := v_count + 1;
  end loop;
  update station set status = 'terminated', version = version + 1, updated_at = now()
   where station_id = v_station
     and not exists (select 1 from station_authorization x where x.station_id = v_station
                       and x.status in ('active', 'suspended'));
  -- Open lifecycle requests of the revoked authorizations are moot.
  update lifecycle_request set state = 'withdrawn', version = version + 1, updated_at = now()
   where station_id = v_station and state in ('draft', 'submitted', 'proposed', 'approved', 'recorded')
     and kind <> 'head'
     and not exists (select 1 from station_authorization x where x.station_id = v_station
                       and x.status in ('active', 'suspended'));
  return v_count;
end $$;
revoke all on function revoke_authorization(uuid, date) from public;
grant execute on function revoke_authorization(uuid, date) to jiliang_app;

grant select, insert on inspection_draw, referral to jiliang_app;
grant select, insert, update on inspection, rectification_order, violation_case to jiliang_app;

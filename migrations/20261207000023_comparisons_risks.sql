-- Issue 17: comparisons 计量比对 among stations (Art 3, 9; R9.2) and risk
-- reports with warnings 预警 (Art 10; R10.1).
--
-- A comparison is opened by a national head station, SAMR or a provincial
-- regulator (the organizer). Participants' values are sealed by the
-- database: a result row is readable by its own station, and by anyone
-- else only once the organizer has closed submission (the organizer) or
-- issued Draft A (the participants) or published the final report (the
-- participants' authorizing regulators too).

-- ---------------------------------------------------------------- comparisons
create table comparison (
  comparison_id uuid primary key,
  organizer_id uuid not null references organization (organization_id),
  title text not null constraint comparison_title_length check (length(btrim(title)) between 1 and 200),
  field text not null default '' constraint comparison_field_length check (length(field) <= 100),
  item text not null constraint comparison_item_length check (length(btrim(item)) between 1 and 200),
  measurand text not null constraint comparison_measurand_length check (length(btrim(measurand)) between 1 and 200),
  unit text not null constraint comparison_unit_length check (length(btrim(unit)) between 1 and 32),
  -- 主导实验室: circulates the transfer standard and usually measures too.
  pilot_station_id uuid not null references station (station_id),
  transfer_standard text not null constraint comparison_transfer_standard_length
    check (length(btrim(transfer_standard)) between 1 and 500),
  schedule_notes text not null default '' constraint comparison_schedule_notes_length check (length(schedule_notes) <= 2000),
  results_due_on date not null constraint comparison_results_due_on_date_range
    check (results_due_on between date '2000-01-01' and date '2100-12-31'),
  state text not null default 'open'
    constraint comparison_state check (state in ('open', 'closed', 'draft_a', 'final', 'cancelled')),
  -- The reference value X_ref and its expanded uncertainty U_ref (k = 2):
  -- assigned by the organizer, or the mean of chosen participants'.
  reference_value double precision,
  reference_uncertainty double precision constraint comparison_reference_uncertainty_positive
    check (reference_uncertainty is null or reference_uncertainty >= 0),
  reference_method text constraint comparison_reference_method check (reference_method in ('assigned', 'participants')),
  reference_note text not null default '' constraint comparison_reference_note_length check (length(reference_note) <= 2000),
  closed_at timestamptz,
  draft_a_at timestamptz,
  final_at timestamptz,
  created_by uuid references app_user (user_id),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  version integer not null default 1,
  constraint comparison_reference_set check (
    state not in ('draft_a', 'final')
    or (reference_value is not null and reference_uncertainty is not null and reference_method is not null))
);
create index comparison_organizer_idx on comparison (organizer_id, comparison_id desc);
create index comparison_pilot_idx on comparison (pilot_station_id);

-- Who takes part, the transfer standard's circulation slot, whether a
-- value was submitted (not the value), and the verdict once scored.
create table comparison_participant (
  comparison_id uuid not null references comparison (comparison_id),
  station_id uuid not null references station (station_id),
  -- The code a participant carries in Draft A and the final report.
  lab_code text not null constraint comparison_participant_lab_code_format check (lab_code ~ '^P[0-9]{2,3}$'),
  receive_on date constraint comparison_participant_receive_on_date_range
    check (receive_on between date '2000-01-01' and date '2100-12-31'),
  return_on date constraint comparison_participant_return_on_date_range
    check (return_on between date '2000-01-01' and date '2100-12-31'),
  submitted_at timestamptz,
  -- A change of a submitted value, asked with a reason, decided by the organizer.
  change_reason text constraint comparison_participant_change_reason_length check (length(change_reason) <= 2000),
  change_requested_at timestamptz,
  -- Whether the participant's value takes part in a derived reference value.
  in_reference boolean not null default false,
  -- R9.2, computed by rules::comparison::en_number when Draft A or the
  -- final report is issued.
  en double precision,
  satisfactory boolean,
  -- An unsatisfactory result: the station's corrective action, and the
  -- regulator's follow-up (an inspection opened, or noted).
  corrective_action text constraint comparison_participant_corrective_action_length check (length(corrective_action) <= 2000),
  follow_up text constraint comparison_participant_follow_up check (follow_up in ('inspection', 'noted')),
  follow_up_inspection_id uuid references inspection (inspection_id),
  version integer not null default 1,
  primary key (comparison_id, station_id),
  constraint comparison_participant_lab_code_key unique (comparison_id, lab_code),
  constraint comparison_participant_circulation check (return_on is null or receive_on is null or return_on >= receive_on)
);
create index comparison_participant_station_idx on comparison_participant (station_id, comparison_id);

-- The values. One current result per participant (a key, not a check: 50
-- identical submissions store one), at most one pending change.
create table comparison_result (
  result_id uuid primary key,
  comparison_id uuid not null,
  station_id uuid not null,
  value double precision not null,
  uncertainty double precision not null constraint comparison_result_uncertainty_positive check (uncertainty > 0),
  coverage_factor double precision not null constraint comparison_result_coverage_factor_range
    check (coverage_factor > 0 and coverage_factor <= 10),
  notes text not null default '' constraint comparison_result_notes_length check (length(notes) <= 2000),
  status text not null constraint comparison_result_status check (status in ('current', 'pending', 'superseded', 'refused')),
  created_by uuid references app_user (user_id),
  created_at timestamptz not null default now(),
  decided_by uuid references app_user (user_id),
  decided_at timestamptz,
  decision_note text not null default '' constraint comparison_result_decision_note_length check (length(decision_note) <= 2000),
  foreign key (comparison_id, station_id) references comparison_participant (comparison_id, station_id)
);
create unique index comparison_result_current_key on comparison_result (comparison_id, station_id) where status = 'current';
create unique index comparison_result_pending_key on comparison_result (comparison_id, station_id) where status = 'pending';

-- Membership and stage, read as the owner (no recursion between the
-- policies of comparison and comparison_participant).
create function comparison_role(p_comparison uuid) returns text
language sql stable security definer set search_path = public as $$
  select case
    when c.organizer_id = app_org_id() then 'organizer'
    when exists (select 1 from comparison_participant p
                  where p.comparison_id = c.comparison_id and p.station_id = app_org_id()) then 'participant'
    when c.pilot_station_id = app_org_id() then 'pilot'
    when c.state = 'final' and app_org_kind() = 'regulator' and exists (
      select 1 from comparison_participant p join station s on s.station_id = p.station_id
       where p.comparison_id = c.comparison_id and s.authorizing_regulator_id = app_org_id()) then 'regulator'
    end
    from comparison c where c.comparison_id = p_comparison
$$;
create function comparison_state_of(p_comparison uuid) returns text
language sql stable security definer set search_path = public as $$
  select state from comparison where comparison_id = p_comparison
$$;

alter table comparison enable row level security;
alter table comparison force row level security;
alter table comparison_participant enable row level security;
alter table comparison_participant force row level security;
alter table comparison_result enable row level security;
alter table comparison_result force row level security;

create policy comparison_read on comparison for select using (
  organizer_id = app_org_id() or comparison_role(comparison_id) is not null);
create policy comparison_insert on comparison for insert with check (
  organizer_id = app_org_id() and state = 'open');
create policy comparison_update on comparison for update
  using (organizer_id = app_org_id()) with check (organizer_id = app_org_id());

create policy comparison_participant_read on comparison_participant for select using (
  comparison_role(comparison_id) is not null);
create policy comparison_participant_insert on comparison_participant for insert with check (
  comparison_role(comparison_id) = 'organizer');
-- The organizer scores and follows up; a station asks for a change and
-- states its corrective action on its own row.
create policy comparison_participant_update on comparison_participant for update
  using (comparison_role(comparison_id) = 'organizer' or station_id = app_org_id()
         or comparison_role(comparison_id) = 'regulator')
  with check (comparison_role(comparison_id) = 'organizer' or station_id = app_org_id()
              or comparison_role(comparison_id) = 'regulator');

-- Who may write which columns of a participant row (the row policy lets
-- three parties update it): the station its own statements (submitted,
-- change asked, corrective action); the organizer the scoring; the
-- authorizing regulator its follow-up. The definer function that decides
-- a change runs as the owner and is not held here.
create function comparison_participant_guard() returns trigger
language plpgsql as $$
declare
  is_organizer boolean;
  is_station boolean;
  is_authorizer boolean;
begin
  if current_user <> 'jiliang_app' then
    return new;
  end if;
  is_organizer := comparison_role(new.comparison_id) = 'organizer';
  is_station := old.station_id = app_org_id();
  is_authorizer := exists (select 1 from station s where s.station_id = old.station_id
                             and s.authorizing_regulator_id = app_org_id());
  if (new.comparison_id, new.station_id, new.lab_code) is distinct from
     (old.comparison_id, old.station_id, old.lab_code)
     or (not is_organizer and (new.en, new.satisfactory, new.in_reference, new.receive_on, new.return_on)
         is distinct from (old.en, old.satisfactory, old.in_reference, old.receive_on, old.return_on))
     or (not is_station and (new.submitted_at, new.change_reason, new.change_requested_at, new.corrective_action)
         is distinct from (old.submitted_at, old.change_reason, old.change_requested_at, old.corrective_action))
     or (not is_authorizer and (new.follow_up, new.follow_up_inspection_id)
         is distinct from (old.follow_up, old.follow_up_inspection_id)) then
    raise exception 'R9.2: this party does not write this field of a participant'
      using errcode = 'check_violation', constraint = 'comparison_participant_protected';
  end if;
  return new;
end $$;
create trigger comparison_participant_guard before update on comparison_participant
  for each row execute function comparison_participant_guard();

-- Sealed values (R9.2): the own station always; the organizer after
-- closing; participants from Draft A; authorizing regulators when final.
-- A pending or refused change is its station's and the organizer's only.
create policy comparison_result_read on comparison_result for select using (
  station_id = app_org_id()
  or (comparison_role(comparison_id) = 'organizer'
      and comparison_state_of(comparison_id) in ('closed', 'draft_a', 'final'))
  or (status in ('current', 'superseded')
      and comparison_role(comparison_id) in ('participant', 'pilot')
      and comparison_state_of(comparison_id) in ('draft_a', 'final'))
  or (status = 'current' and comparison_role(comparison_id) = 'regulator'));
-- A participant submits while submission is open.
create policy comparison_result_insert on comparison_result for insert with check (
  station_id = app_org_id() and status in ('current', 'pending')
  and comparison_state_of(comparison_id) = 'open'
  and exists (select 1 from comparison_participant p
               where p.comparison_id = comparison_result.comparison_id and p.station_id = app_org_id()));
-- Nobody updates a result in place: a change is a new row, decided by
-- the organizer through comparison_decide_change (no UPDATE grant).

-- A decided change: the organizer may decide it before closing, when it
-- cannot read the values; this narrow function swaps the rows without
-- showing them, for the organizer only.
create function comparison_decide_change(p_comparison uuid, p_station uuid, p_accept boolean,
                                         p_user uuid, p_note text)
returns boolean language plpgsql security definer set search_path = public as $$
declare
  pending uuid;
begin
  if comparison_role(p_comparison) is distinct from 'organizer' then
    raise exception 'only the organizer decides a change' using errcode = '42501';
  end if;
  select result_id into pending from comparison_result
   where comparison_id = p_comparison and station_id = p_station and status = 'pending' for update;
  if pending is null then
    return false;
  end if;
  if p_accept then
    update comparison_result set status = 'superseded', decided_by = p_user, decided_at = now()
     where comparison_id = p_comparison and station_id = p_station and status = 'current';
    update comparison_result set status = 'current', decided_by = p_user, decided_at = now(), decision_note = p_note
     where result_id = pending;
  else
    update comparison_result set status = 'refused', decided_by = p_user, decided_at = now(), decision_note = p_note
     where result_id = pending;
  end if;
  update comparison_participant set change_reason = null, change_requested_at = null, version = version + 1
   where comparison_id = p_comparison and station_id = p_station;
  return true;
end $$;

-- The names of a comparison's parties, to whoever may see the comparison
-- (a participant need not otherwise see the other stations, R9.2 reports).
create function comparison_party(p_comparison uuid, p_org uuid) returns table (code text, name text)
language sql stable security definer set search_path = public as $$
  select s.code, o.name from organization o left join station s on s.station_id = o.organization_id
   where o.organization_id = p_org
     and comparison_role(p_comparison) is not null
     and exists (select 1 from comparison c where c.comparison_id = p_comparison
                  and (c.organizer_id = p_org or c.pilot_station_id = p_org
                       or exists (select 1 from comparison_participant p
                                   where p.comparison_id = c.comparison_id and p.station_id = p_org)))
$$;
-- Which of the given stations hold an active authorized item whose name
-- matches (the public directory, R8.5): an organizer chooses among them.
create function comparison_matching_stations(p_stations uuid[], p_pattern text) returns setof uuid
language sql stable security definer set search_path = public as $$
  select distinct i.station_id from authorization_item i
    join station_authorization a on a.authorization_id = i.authorization_id and a.status = 'active'
   where i.station_id = any(p_stations) and i.name ilike p_pattern
$$;

grant select, insert, update on comparison, comparison_participant to jiliang_app;
grant select, insert on comparison_result to jiliang_app;

-- The stages move forward only: open → closed → draft_a (revisable) →
-- final; open or closed → cancelled.
create function comparison_stage_guard() returns trigger
language plpgsql as $$
begin
  if new.state is distinct from old.state and not (
       (old.state, new.state) in (('open', 'closed'), ('open', 'cancelled'), ('closed', 'cancelled'),
                                  ('closed', 'draft_a'), ('draft_a', 'final'))) then
    raise exception 'R9.2: a comparison does not go from % to %', old.state, new.state
      using errcode = 'check_violation', constraint = 'comparison_stage_order';
  end if;
  if old.state in ('final', 'cancelled')
     or (new.organizer_id, new.pilot_station_id, new.item) is distinct from
        (old.organizer_id, old.pilot_station_id, old.item) then
    raise exception 'R9.2: a published or cancelled comparison, its organizer, pilot and item do not change'
      using errcode = 'check_violation', constraint = 'comparison_stage_order';
  end if;
  return new;
end $$;
create trigger comparison_stage_guard before update on comparison
  for each row execute function comparison_stage_guard();

-- The authorizing regulators of a comparison's participants (the final
-- report goes to them), for its organizer, who may not see those stations.
create function comparison_regulators(p_comparison uuid) returns setof uuid
language sql stable security definer set search_path = public as $$
  select distinct s.authorizing_regulator_id
    from comparison_participant p join station s on s.station_id = p.station_id
   where p.comparison_id = p_comparison and s.authorizing_regulator_id is not null
     and comparison_role(p_comparison) = 'organizer'
$$;
grant execute on function comparison_role(uuid), comparison_state_of(uuid), comparison_party(uuid, uuid),
  comparison_matching_stations(uuid[], text), comparison_regulators(uuid),
  comparison_decide_change(uuid, uuid, boolean, uuid, text) to jiliang_app;

-- ---------------------------------------------------------------- risk reports
create table risk_report (
  risk_report_id uuid primary key,
  station_id uuid not null references station (station_id),
  -- The station's authorizing regulator when it filed (who triages).
  regulator_id uuid not null references organization (organization_id),
  field text not null default '' constraint risk_report_field_length check (length(field) <= 100),
  severity text not null constraint risk_report_severity check (severity in ('low', 'medium', 'high', 'critical')),
  title text not null constraint risk_report_title_length check (length(btrim(title)) between 1 and 200),
  description text not null constraint risk_report_description_length check (length(btrim(description)) between 1 and 5000),
  affected text not null default '' constraint risk_report_affected_length check (length(affected) <= 2000),
  state text not null default 'received'
    constraint risk_report_state check (state in ('received', 'assessing', 'dismissed', 'confirmed')),
  decision_reason text constraint risk_report_decision_reason_length check (length(decision_reason) <= 2000),
  decided_by uuid references app_user (user_id),
  decided_at timestamptz,
  filed_by uuid references app_user (user_id),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  version integer not null default 1,
  constraint risk_report_dismissed_reason check (state <> 'dismissed' or length(btrim(coalesce(decision_reason, ''))) > 0)
);
create index risk_report_station_idx on risk_report (station_id, risk_report_id desc);
create index risk_report_regulator_idx on risk_report (regulator_id, state, risk_report_id desc);

alter table risk_report enable row level security;
alter table risk_report force row level security;
create policy risk_report_read on risk_report for select using (
  station_id = app_org_id() or regulator_id = app_org_id());
create policy risk_report_insert on risk_report for insert with check (
  station_id = app_org_id() and state = 'received'
  and regulator_id = (select s.authorizing_regulator_id from station s where s.station_id = app_org_id()));
create policy risk_report_update on risk_report for update
  using (regulator_id = app_org_id()) with check (regulator_id = app_org_id());
grant select, insert on risk_report to jiliang_app;
-- The regulator writes its triage only.
grant update (state, decision_reason, decided_by, decided_at, updated_at, version) on risk_report to jiliang_app;

-- ---------------------------------------------------------------- warnings
create table warning (
  warning_id uuid primary key,
  regulator_id uuid not null references organization (organization_id),
  risk_report_id uuid references risk_report (risk_report_id),
  title text not null constraint warning_title_length check (length(btrim(title)) between 1 and 200),
  body text not null constraint warning_body_length check (length(btrim(body)) between 1 and 5000),
  severity text not null constraint warning_severity check (severity in ('low', 'medium', 'high', 'critical')),
  valid_from date not null constraint warning_valid_from_date_range
    check (valid_from between date '2000-01-01' and date '2100-12-31'),
  valid_until date not null constraint warning_valid_until_date_range
    check (valid_until between date '2000-01-01' and date '2100-12-31'),
  -- How the recipients were chosen, as the regulator said it.
  audience jsonb not null default '{}',
  published_by uuid references app_user (user_id),
  created_at timestamptz not null default now(),
  constraint warning_validity check (valid_until >= valid_from),
  -- A warning comes from one confirmed risk report at most once (50
  -- identical submissions publish one).
  constraint warning_risk_report_key unique (risk_report_id)
);
create index warning_regulator_idx on warning (regulator_id, warning_id desc);

create table warning_recipient (
  warning_id uuid not null references warning (warning_id),
  org_id uuid not null references organization (organization_id),
  acknowledged_at timestamptz,
  acknowledged_by uuid references app_user (user_id),
  -- Kept as written at the time: the issuer cannot read another
  -- organization's users.
  acknowledged_by_name text constraint warning_recipient_acknowledged_by_name_length
    check (length(acknowledged_by_name) <= 100),
  primary key (warning_id, org_id)
);
create index warning_recipient_org_idx on warning_recipient (org_id, warning_id desc);

create function warning_is_recipient(p_warning uuid) returns boolean
language sql stable security definer set search_path = public as $$
  select exists (select 1 from warning_recipient r where r.warning_id = p_warning and r.org_id = app_org_id())
$$;
create function warning_is_issuer(p_warning uuid) returns boolean
language sql stable security definer set search_path = public as $$
  select exists (select 1 from warning w where w.warning_id = p_warning and w.regulator_id = app_org_id())
$$;

alter table warning enable row level security;
alter table warning force row level security;
alter table warning_recipient enable row level security;
alter table warning_recipient force row level security;
create policy warning_read on warning for select using (
  regulator_id = app_org_id() or warning_is_recipient(warning_id));
create policy warning_insert on warning for insert with check (
  regulator_id = app_org_id() and app_org_kind() = 'regulator');
-- The issuer sees every recipient and who acknowledged; a recipient its own row.
create policy warning_recipient_read on warning_recipient for select using (
  org_id = app_org_id() or warning_is_issuer(warning_id));
create policy warning_recipient_insert on warning_recipient for insert with check (
  warning_is_issuer(warning_id) and acknowledged_at is null);
-- A recipient acknowledges its own row, once; only the acknowledgement
-- columns may change (column grant).
create policy warning_recipient_ack on warning_recipient for update
  using (org_id = app_org_id() and acknowledged_at is null)
  with check (org_id = app_org_id() and acknowledged_at is not null);
grant select, insert on warning, warning_recipient to jiliang_app;
grant update (acknowledged_at, acknowledged_by, acknowledged_by_name) on warning_recipient to jiliang_app;
grant execute on function warning_is_recipient(uuid), warning_is_issuer(uuid) to jiliang_app;

-- ---------------------------------------------------------------- documents
-- The plan of a comparison (its organizer), a participant's result report
-- (sealed like the value), a risk report's evidence (the station).
alter table document drop constraint document_owner_type;
alter table document add constraint document_owner_type check (owner_type in (
  'standard', 'traceability_record', 'qualification', 'change_request', 'application',
  'inspection', 'rectification_order', 'violation_case', 'comparison', 'comparison_result', 'risk_report'));
create policy document_insert_comparison on document for insert
  with check (owner_type = 'comparison' and exists (
    select 1 from comparison c where c.comparison_id = document.owner_id and c.organizer_id = app_org_id()));
create policy document_insert_comparison_result on document for insert
  with check (owner_type = 'comparison_result' and station_id = app_org_id() and exists (
    select 1 from comparison_result r where r.result_id = document.owner_id and r.station_id = app_org_id()));
create policy document_insert_risk_report on document for insert
  with check (owner_type = 'risk_report' and station_id = app_org_id() and exists (
    select 1 from risk_report r where r.risk_report_id = document.owner_id and r.station_id = app_org_id()));
drop policy document_read on document;
create policy document_read on document for select using (
  case owner_type
    when 'standard' then exists (
      select 1 from measurement_standard s where s.standard_id = document.owner_id)
    when 'traceability_record' then exists (
      select 1 from traceability_record t where t.traceability_record_id = document.owner_id)
    when 'qualification' then exists (
      select 1 from qualification q where q.qualification_id = document.owner_id)
    when 'change_request' then exists (
      select 1 from standard_change_request r where r.change_request_id = document.owner_id)
    when 'application' then exists (
      select 1 from application a where a.application_id = document.owner_id)
    when 'inspection' then exists (
      select 1 from inspection i where i.inspection_id = document.owner_id)
    when 'rectification_order' then exists (
      select 1 from rectification_order o where o.order_id = document.owner_id)
    when 'violation_case' then exists (
      select 1 from violation_case c where c.case_id = document.owner_id
         and c.regulator_id = app_org_id())
    when 'comparison' then exists (
      select 1 from comparison c where c.comparison_id = document.owner_id)
    when 'comparison_result' then exists (
      select 1 from comparison_result r where r.result_id = document.owner_id)
    when 'risk_report' then exists (
      select 1 from risk_report r where r.risk_report_id = document.owner_id)
    else false
  end);

-- Conditions unmet at a decision, settled (requirements §4 "controlled
-- override"; R7.2, R7.3 for establishment, R13.2 for adjustments): each is
-- verified by the assessment with evidence (the reviewer records it with
-- the outcome) or overridden by the deciding approver with a reason. One
-- row per condition and way; never updated or deleted. The authorization
-- the decision granted or changed keeps them (its certificate record).
create table condition_settlement (
  settlement_id uuid primary key,
  subject_type text not null constraint condition_settlement_subject_type
    check (subject_type in ('application', 'lifecycle_request')),
  subject_id uuid not null,
  station_id uuid not null references organization (organization_id),
  regulator_id uuid not null references organization (organization_id),
  authorization_id uuid references station_authorization (authorization_id),
  condition_key text not null constraint condition_settlement_condition_key_format
    check (condition_key ~ '^[a-z_]{1,60}(:[a-z_0-9]{1,60})?$'),
  rule text not null constraint condition_settlement_rule_format check (rule ~ '^R[0-9]{1,2}\.[0-9]{1,2}$'),
  message text not null constraint condition_settlement_message_length check (length(message) <= 1000),
  message_en text not null constraint condition_settlement_message_en_length check (length(message_en) <= 1000),
  how text not null constraint condition_settlement_how check (how in ('verified', 'overridden')),
  statement text not null constraint condition_settlement_statement_length
    check (length(btrim(statement)) between 1 and 2000),
  decided_by uuid not null references app_user (user_id),
  -- The person named on the record (users of another organization are not
  -- readable to the station, the name is).
  decided_by_name text not null constraint condition_settlement_decided_by_name_length
    check (length(decided_by_name) <= 100),
  decided_at timestamptz not null default now(),
  constraint condition_settlement_once unique (subject_type, subject_id, condition_key, how)
);
create index condition_settlement_authorization_idx on condition_settlement (authorization_id)
  where authorization_id is not null;

alter table condition_settlement enable row level security;
alter table condition_settlement force row level security;
-- Readable exactly when the record it settles is (that table's own policy).
create policy condition_settlement_read on condition_settlement for select using (
  case subject_type
    when 'application' then exists (
      select 1 from application a where a.application_id = condition_settlement.subject_id)
    when 'lifecycle_request' then exists (
      select 1 from lifecycle_request r where r.request_id = condition_settlement.subject_id)
    else false
  end);
-- Written by the deciding regulator's own users, in their own name.
create policy condition_settlement_insert on condition_settlement for insert with check (
  regulator_id = app_org_id() and decided_by = app_user_id()
  and (how = 'verified' or app_has_role('approver')));
grant select, insert on condition_settlement to jiliang_app;

-- The grant (or the approved adjustment) links its settlements to the
-- authorization: a definer function, so the row stays otherwise immutable.
create function link_condition_settlements(p_subject_type text, p_subject uuid, p_authorization uuid)
returns void language plpgsql security definer set search_path = public as $$
begin
  if app_org_kind() is distinct from 'regulator' or not app_has_role('approver') then
    raise exception 'only the deciding approver links settlements' using errcode = 'insufficient_privilege';
  end if;
  update condition_settlement set authorization_id = p_authorization
   where subject_type = p_subject_type and subject_id = p_subject
     and regulator_id = app_org_id() and authorization_id is null
     and exists (select 1 from station_authorization a
                  where a.authorization_id = p_authorization and a.regulator_id = app_org_id());
end $$;
revoke all on function link_condition_settlements(text, uuid, uuid) from public;
grant execute on function link_condition_settlements(text, uuid, uuid) to jiliang_app;

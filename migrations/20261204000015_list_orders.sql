-- Issue 14, part 3: the keyset orders of the remaining lists, each served by
-- an index in the order the list reads it (docs/scale.md).

-- Rectification orders: earliest effective deadline first (R18.3).
create index if not exists rectification_order_due_list_idx
  on rectification_order ((coalesce(extended_due_on, due_on)), order_id);
-- Open orders past their deadline, for the overdue counts on home pages.
create index if not exists rectification_order_open_due_idx
  on rectification_order ((coalesce(extended_due_on, due_on)))
  where state <> 'closed';
-- Violation cases: newest first.
create index if not exists violation_case_list_idx on violation_case (created_at desc, case_id desc);
-- Referrals: latest first.
create index if not exists referral_list_idx on referral (referred_on desc, referral_id desc);
-- Lifecycle requests of one organization, per party, in the list's order.
create index if not exists lifecycle_request_station_list_idx
  on lifecycle_request (station_id, updated_at desc, request_id desc);
create index if not exists lifecycle_request_department_list_idx
  on lifecycle_request (department_id, updated_at desc, request_id desc);
create index if not exists lifecycle_request_regulator_list_idx
  on lifecycle_request (regulator_id, updated_at desc, request_id desc);
-- Inspections of one inspecting organization in the list's order.
create index if not exists inspection_org_list_idx on inspection (org_id, planned_on desc, inspection_id desc);
-- The public directory's order (R8.5): station names by pinyin.
create index if not exists organization_name_pinyin_idx on organization ((name collate zh_pinyin));

-- The approver of an application may send a proposal back to the reviewer
-- 退回 with reasons, as for lifecycle requests and inspections: the
-- application returns to `assessed` and the proposal is cleared.
alter table application add column returned_reasons text
  constraint application_returned_reasons_length check (length(returned_reasons) <= 2000);

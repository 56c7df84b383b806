-- Sandbox keys (api.md, "Sandbox keys"): their jobs run on falgate's built-in fal simulator, never on fal, cost
-- 0.00 and stay out of spend, budgets and the spend metrics.
alter table api_key add column sandbox boolean not null default false;
alter table job add column sandbox boolean not null default false;
-- history and spend ask for sandbox jobs alone (sandbox=true): few, next to the many real ones
create index job_sandbox_created on job (created_at desc, id desc) where sandbox;

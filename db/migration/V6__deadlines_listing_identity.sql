-- Every job ends: at deadline_at at the latest (FALGATE_JOB_MAX_AGE after acceptance) it fails deadline_exceeded.
alter table job add column deadline_at timestamptz;
update job set deadline_at = created_at + interval '24 hours' where deadline_at is null;
alter table job alter column deadline_at set not null;

-- What fal reports as billed is kept as fal sent it: a large value must not make a paid result unstorable.
alter table job alter column billable_units type numeric;
alter table job alter column inference_time_s type numeric;
alter table fal_request alter column billable_units type numeric;

-- A request whose submit answer was lost can be found in fal's request listing ('listing'). A request that
-- could not be settled within its bounded tries ends 'unsettled' (booked at 0.00, flagged for ops).
alter table fal_request drop constraint fal_request_learned_via;
alter table fal_request add constraint fal_request_learned_via check (learned_via in ('submit', 'webhook', 'listing'));
alter table fal_request drop constraint fal_request_status_known;
alter table fal_request add constraint fal_request_status_known
    check (status in ('active', 'completed', 'failed', 'cancelled', 'unsettled'));
alter table fal_request add column settle_attempts integer not null default 0;

-- Our fal account's user id, as configured (FAL_USER_ID) or learned from the first valid webhook for a request
-- falgate created itself; every later webhook is held to it. One row at most.
create table fal_account (
    singleton  boolean     primary key default true check (singleton),
    user_id    text        not null,
    learned_at timestamptz not null
);

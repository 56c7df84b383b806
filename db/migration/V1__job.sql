-- One row per extend request: the source of truth for its whole life (see job/Job.java).
create table job (
    id                uuid        primary key,
    client            text        not null,
    status            text        not null,
    endpoint_id       text        not null,
    -- the effective input (defaults filled in): exactly what is sent to fal
    input             json       not null,
    metadata          json,
    -- the price in force when the job was accepted; cost_usd is what is charged in the end
    price_usd         numeric(12, 6) not null,
    cost_usd          numeric(12, 6),

    fal_request_id    text,
    fal_status_url    text,
    fal_response_url  text,
    fal_cancel_url    text,
    queue_position    integer,

    -- fal's answer, every field kept; seed and video_url also as columns for ops queries
    result            json,
    seed              bigint,
    video_url         text,
    inference_time_s  numeric(12, 6),
    billable_units    numeric(12, 6),
    error             json,

    -- background work: due time, a lease (owner, expiry, token) and the submit in flight
    attempts          integer     not null default 0,
    next_attempt_at   timestamptz,
    lease_owner       text,
    lease_token       uuid,
    lease_expires_at  timestamptz,
    submit_started_at timestamptz,

    created_at        timestamptz not null,
    submitted_at      timestamptz,
    started_at        timestamptz,
    completed_at      timestamptz,
    updated_at        timestamptz not null,

    constraint job_status_known check (status in ('queued', 'submitted', 'in_progress', 'completed', 'failed', 'cancelled')),
    constraint job_price_non_negative check (price_usd >= 0),
    constraint job_cost_non_negative check (cost_usd >= 0),
    -- a cost exists exactly when the job is over
    constraint job_cost_when_terminal check ((cost_usd is not null) = (status in ('completed', 'failed', 'cancelled'))),
    -- terminal jobs are never due again
    constraint job_terminal_not_due check (status not in ('completed', 'failed', 'cancelled') or next_attempt_at is null),
    constraint job_completed_has_result check (status <> 'completed' or result is not null),
    constraint job_attempts_non_negative check (attempts >= 0),
    constraint job_lease_complete check ((lease_token is null) = (lease_expires_at is null))
);

create unique index job_fal_request_id on job (fal_request_id);
-- the worker's claim: due, unterminated jobs in due order
create index job_due on job (next_attempt_at) where next_attempt_at is not null;
-- history, newest first, for everyone and per client
create index job_created on job (created_at desc, id desc);
create index job_client_created on job (client, created_at desc, id desc);

-- Every request fal created for a job, one row each: what fal bills is what we book.
create table fal_request (
    request_id          text        primary key,
    job_id              uuid        not null references job (id),
    -- how we learned of it: the submit's answer, or fal's webhook (a submit whose answer was lost)
    learned_via         text        not null,
    status              text        not null default 'active',
    status_url          text,
    response_url        text,
    cancel_url          text,
    cancel_requested_at timestamptz,
    billable_units      numeric(12, 6),
    -- what fal billed for it, set when its outcome is known
    cost_usd            numeric(12, 6),
    created_at          timestamptz not null,
    settled_at          timestamptz,

    constraint fal_request_learned_via check (learned_via in ('submit', 'webhook')),
    constraint fal_request_status_known check (status in ('active', 'completed', 'failed', 'cancelled')),
    constraint fal_request_cost_non_negative check (cost_usd >= 0),
    constraint fal_request_cost_when_settled check ((cost_usd is not null) = (status <> 'active'))
);
create index fal_request_job on fal_request (job_id);
create index fal_request_active on fal_request (job_id) where status = 'active';

alter table job
    add column idempotency_key     text,
    -- sha-256 of the canonical request body, to tell a replay from a reuse of the key with another body
    add column request_hash        text,
    add column cancel_requested_at timestamptz,
    -- the first time fal refused our key or account for this job (401/403), for the maximum wait
    add column refused_since       timestamptz;

-- Idempotency keys are scoped to the client; the database, not a check-then-insert, makes them unique.
create unique index job_client_idempotency_key on job (client, idempotency_key) where idempotency_key is not null;

-- A finished job may still be due: to cancel and settle an extra fal request that appeared for it.
alter table job drop constraint job_terminal_not_due;

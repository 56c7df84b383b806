-- Signed callbacks to the caller (api.md, "Signed callbacks to the caller").

alter table job add column callback_url text;

-- Each client's Standard Webhooks secret. After a rotation the previous one keeps signing (a second signature)
-- until previous_valid_until, so receivers can switch without losing a delivery.
create table callback_secret (
    client               text        primary key,
    secret               bytea       not null,
    previous_secret      bytea,
    previous_valid_until timestamptz,
    rotated_at           timestamptz not null
);

-- The outbox: a job's terminal event, written in the transaction that ends the job, with its body as signed and
-- sent (the job resource at that moment). One per job, so a job's events are trivially in order.
create table callback_event (
    id               text        primary key,
    job_id           uuid        not null unique references job (id),
    client           text        not null,
    url              text        not null,
    type             text        not null,
    payload          text        not null,
    created_at       timestamptz not null,
    status           text        not null default 'pending' check (status in ('pending', 'delivered', 'failed', 'gone')),
    attempts         integer     not null default 0,
    next_attempt_at  timestamptz,
    give_up_at       timestamptz not null,
    lease_token      uuid,
    lease_expires_at timestamptz,
    delivered_at     timestamptz,
    ended_at         timestamptz,
    last_error       text
);
create index callback_event_due on callback_event (next_attempt_at) where status = 'pending';
create index callback_event_undelivered on callback_event (ended_at) where status in ('failed', 'gone');

-- Every delivery attempt, as GET /v1/jobs/{id}/callbacks shows it.
create table callback_attempt (
    id              bigserial   primary key,
    event_id        text        not null references callback_event (id),
    job_id          uuid        not null,
    attempted_at    timestamptz not null,
    status_code     integer,
    error           text,
    duration_ms     integer     not null,
    next_attempt_at timestamptz
);
create index callback_attempt_job on callback_attempt (job_id, id);

-- The archive's health counts the copies that failed in the last day.
alter table video_archive add column failed_at timestamptz;
create index video_archive_failed on video_archive (failed_at) where status = 'failed';

-- falgate's own copy of each completed job's video (fal deletes its CDN files). One row per job, written in the
-- transaction that completes the job; copied by the archive worker of any instance under a lease, retried with
-- backoff until give_up_at. The copy never changes the job's status or cost.
create table video_archive (
    job_id           uuid        primary key references job (id),
    source_url       text        not null,
    expected_bytes   bigint,
    status           text        not null default 'pending',
    attempts         integer     not null default 0,
    next_attempt_at  timestamptz,
    give_up_at       timestamptz not null,
    lease_token      uuid,
    lease_expires_at timestamptz,
    storage_key      text,
    sha256           text,
    bytes            bigint,
    content_type     text,
    stored_at        timestamptz,
    last_error       text,
    created_at       timestamptz not null,
    constraint video_archive_status check (status in ('pending', 'stored', 'failed'))
);
create index video_archive_due on video_archive (next_attempt_at) where status = 'pending';

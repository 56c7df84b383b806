-- API keys: the secret is shown once; only its SHA-256 is kept (secrets are 256 random bits, so a fast hash suffices).
create table api_key (
    id                    uuid        primary key,
    client                text        not null,
    name                  text        not null,
    scopes                text[]      not null,
    key_hash              text        not null unique,
    -- the first characters of the secret, so people can tell their keys apart
    key_prefix            text        not null,
    rate_limit_per_minute integer,
    created_at            timestamptz not null,
    last_used_at          timestamptz,
    revoked_at            timestamptz,

    constraint api_key_scopes_known check (scopes <@ array['jobs:create', 'jobs:read', 'ops:read', 'admin']::text[]
                                           and cardinality(scopes) > 0),
    constraint api_key_rate_limit_positive check (rate_limit_per_minute is null or rate_limit_per_minute > 0)
);
create index api_key_client on api_key (client);

-- One token bucket per rate-limited key, shared by every gateway instance.
create table rate_limit_bucket (
    key_id      uuid        primary key references api_key (id) on delete cascade,
    tokens      numeric     not null,
    refilled_at timestamptz not null
);

-- A client's monthly budget in US dollars; no row: no budget.
create table client_budget (
    client      text        primary key,
    monthly_usd numeric(14, 6) not null,
    updated_at  timestamptz not null,

    constraint client_budget_non_negative check (monthly_usd >= 0)
);

-- Spend over completed_at, per client and overall.
create index job_completed on job (completed_at) where completed_at is not null;
create index job_client_completed on job (client, completed_at) where completed_at is not null;
-- A client's jobs still in flight (their price is reserved against the budget).
create index job_client_in_flight on job (client) where status in ('queued', 'submitted', 'in_progress');

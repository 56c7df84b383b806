-- fal_webhook on fal-compatible submits (api.md, "fal-compatible facade"): the caller's callback, delivered in fal's
-- webhook format and signed ED25519 with falgate's own key.

alter table job add column callback_format text not null default 'standard'
    check (callback_format in ('standard', 'fal'));
alter table callback_event add column format text not null default 'standard'
    check (format in ('standard', 'fal'));

-- falgate's own ED25519 keys for fal-format webhooks, published at /.well-known/jwks.json. A new key is published
-- first and signs only from activates_at (after receivers' cached JWKS has expired); the newest active key signs; a
-- replaced key stays published until retired_at.
create table webhook_signing_key (
    kid          text        primary key,
    private_key  bytea       not null,
    public_key   bytea       not null,
    created_at   timestamptz not null,
    activates_at timestamptz not null,
    retired_at   timestamptz
);

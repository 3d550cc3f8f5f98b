-- Conduit gateway schema: identity, budgets, the usage ledger, prices, rollups and the audit log.
-- All times are UTC (timestamptz); budget periods and daily rollups use UTC calendar days.

CREATE TABLE teams (
    id             text PRIMARY KEY CHECK (id ~ '^[a-z0-9][a-z0-9_-]{0,62}$'),
    name           text        NOT NULL,
    allowed_models text[],                 -- NULL = every model; 'model' (base only), 'model:adapter', 'model:*', '*'
    rpm_limit      integer CHECK (rpm_limit > 0),
    tpm_limit      integer CHECK (tpm_limit > 0),
    weight         double precision NOT NULL DEFAULT 1.0 CHECK (weight > 0),
    created_at     timestamptz NOT NULL DEFAULT now()
);

-- The built-in platform team owns the bootstrap admin key.
INSERT INTO teams (id, name) VALUES ('platform', 'Platform');

CREATE TABLE api_keys (
    id             bigserial PRIMARY KEY,
    team_id        text        NOT NULL REFERENCES teams (id),
    name           text        NOT NULL,
    key_prefix     text        NOT NULL,   -- the visible start of the key, e.g. 'ck-AbC12345'
    key_hash       bytea       NOT NULL UNIQUE, -- SHA-256 of the whole key; the key itself is never stored
    role           text        NOT NULL CHECK (role IN ('ADMIN', 'FINANCE', 'TEAM_ADMIN', 'MEMBER')),
    allowed_models text[],                 -- NULL = whatever the team may use
    rpm_limit      integer CHECK (rpm_limit > 0),
    tpm_limit      integer CHECK (tpm_limit > 0),
    created_at     timestamptz NOT NULL DEFAULT now(),
    expires_at     timestamptz,
    revoked_at     timestamptz,
    replaced_by    bigint REFERENCES api_keys (id)
);
CREATE INDEX api_keys_team ON api_keys (team_id);

CREATE TABLE budgets (
    id          bigserial PRIMARY KEY,
    team_id     text   REFERENCES teams (id),
    key_id      bigint REFERENCES api_keys (id),
    period      text   NOT NULL CHECK (period IN ('DAY', 'MONTH')),
    token_limit bigint NOT NULL CHECK (token_limit >= 0),
    CHECK ((team_id IS NULL) <> (key_id IS NULL))
);
CREATE UNIQUE INDEX budgets_team_period ON budgets (team_id, period) WHERE team_id IS NOT NULL;
CREATE UNIQUE INDEX budgets_key_period ON budgets (key_id, period) WHERE key_id IS NOT NULL;

-- One row per budget and period; a new period starts a new row, which is how budgets reset.
CREATE TABLE budget_counters (
    budget_id       bigint NOT NULL REFERENCES budgets (id) ON DELETE CASCADE,
    period_start    date   NOT NULL,
    used_tokens     bigint NOT NULL DEFAULT 0,
    reserved_tokens bigint NOT NULL DEFAULT 0 CHECK (reserved_tokens >= 0),
    PRIMARY KEY (budget_id, period_start)
);

-- Tokens held at admission; deleted (exactly once) when the request's usage is settled.
CREATE TABLE budget_reservations (
    request_id   text        NOT NULL,
    budget_id    bigint      NOT NULL REFERENCES budgets (id) ON DELETE CASCADE,
    period_start date        NOT NULL,
    tokens       bigint      NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (request_id, budget_id)
);
CREATE INDEX budget_reservations_created ON budget_reservations (created_at);

CREATE TABLE model_prices (
    id                    bigserial PRIMARY KEY,
    model                 text          NOT NULL,
    effective_from        timestamptz   NOT NULL,
    input_per_mtok        numeric(18, 6) NOT NULL CHECK (input_per_mtok >= 0),
    cached_input_per_mtok numeric(18, 6) NOT NULL CHECK (cached_input_per_mtok >= 0),
    output_per_mtok       numeric(18, 6) NOT NULL CHECK (output_per_mtok >= 0),
    currency              text          NOT NULL DEFAULT 'USD',
    UNIQUE (model, effective_from)
);

-- The ledger: exactly one row per request, keyed by the request id.
CREATE TABLE usage_records (
    request_id        text        PRIMARY KEY,
    requested_at      timestamptz NOT NULL,
    team_id           text        NOT NULL,
    key_id            bigint,
    model             text        NOT NULL,
    adapter           text        NOT NULL DEFAULT '',
    endpoint          text        NOT NULL,
    status            text        NOT NULL CHECK (status IN ('ok', 'cancelled', 'error', 'rejected')),
    http_status       integer     NOT NULL,
    error_code        text,
    prompt_tokens     integer     NOT NULL DEFAULT 0,
    cached_tokens     integer     NOT NULL DEFAULT 0,
    completion_tokens integer     NOT NULL DEFAULT 0,
    queue_ms          double precision NOT NULL DEFAULT 0,
    prefill_ms        double precision NOT NULL DEFAULT 0,
    decode_ms         double precision NOT NULL DEFAULT 0,
    cost              numeric(24, 10) NOT NULL DEFAULT 0,
    recorded_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX usage_records_team_time ON usage_records (team_id, requested_at);
CREATE INDEX usage_records_time ON usage_records (requested_at);

-- Daily rollup maintained in the same transaction as each ledger insert: finance reports read only this.
CREATE TABLE usage_daily (
    day               date   NOT NULL,
    team_id           text   NOT NULL,
    model             text   NOT NULL,
    adapter           text   NOT NULL DEFAULT '',
    requests          bigint NOT NULL DEFAULT 0,
    failed_requests   bigint NOT NULL DEFAULT 0,
    prompt_tokens     bigint NOT NULL DEFAULT 0,
    cached_tokens     bigint NOT NULL DEFAULT 0,
    completion_tokens bigint NOT NULL DEFAULT 0,
    cost              numeric(28, 10) NOT NULL DEFAULT 0,
    PRIMARY KEY (day, team_id, model, adapter)
);

CREATE TABLE audit_log (
    id           bigserial PRIMARY KEY,
    at           timestamptz NOT NULL DEFAULT now(),
    actor_key_id bigint,
    actor_team   text,
    actor_role   text,
    action       text NOT NULL,
    target       text,
    details      jsonb,
    request_id   text
);
CREATE INDEX audit_log_at ON audit_log (at);

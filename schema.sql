-- mesoclaw's database: the one definition of it. Applied by mesoclaw_tui/store/opening.py, which keeps
-- PRAGMA user_version equal to SCHEMA_VERSION there (and PRAGMA application_id = 0x6D65736F, "meso")
-- and migrates older files without losing data.
-- Every statement is idempotent (IF NOT EXISTS / OR IGNORE) so it can be re-applied after a migration.

-- The router's settings, exactly as in the seed plan: one row.
CREATE TABLE IF NOT EXISTS router_config (
    id INTEGER PRIMARY KEY CHECK (id = 1),  -- Singleton row
    active_profile TEXT NOT NULL DEFAULT 'balanced',
    -- JSON-stored routing rules for customization
    custom_routes TEXT,  -- JSON: { "code": ["model1", "model2"], ... }
    -- Per-task overrides
    task_overrides TEXT, -- JSON: { "code": "claude-opus-4", ... }
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP
);

INSERT OR IGNORE INTO router_config (id, active_profile) VALUES (1, 'balanced');

-- Models the user added (`mesoclaw router models add`); routable everywhere built-ins are.
CREATE TABLE IF NOT EXISTS user_models (
    provider TEXT NOT NULL,
    model_id TEXT NOT NULL,
    canonical TEXT NOT NULL,
    cost_tier TEXT NOT NULL CHECK (cost_tier IN ('low', 'medium', 'high')),
    context_window INTEGER,
    max_output INTEGER,
    input_price REAL,   -- USD per 1M tokens; NULL = unknown
    output_price REAL,
    best_for TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    -- Schema 4: where the prices come from. NULL: the user gave them (or none); otherwise the price
    -- data that priced a model added without prices ('genai-prices 0.2.3 (openrouter:…)'), its date,
    -- and whether it is an assumption (a gateway billing the creator's list price).
    price_source TEXT,
    price_as_of TEXT,
    price_approx INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (provider, model_id)
);

-- Schema 2: provider health, what providers list, conversations, and usage.

-- Cooldowns and unusable marks survive a restart, so a dead provider is not hammered.
CREATE TABLE IF NOT EXISTS provider_state (
    provider TEXT PRIMARY KEY,
    cooldown_until REAL,              -- unix time; NULL or past = usable
    failures INTEGER NOT NULL DEFAULT 0,  -- consecutive failures, for backoff
    unusable_until REAL,              -- auth or billing failure: skipped until then or a passing check
    last_error TEXT,
    last_check_at REAL,               -- `mesoclaw providers check`
    last_check_ok INTEGER,
    last_check_error TEXT,
    last_check_ms INTEGER,
    refreshed_at REAL,                -- `mesoclaw router models refresh`: the listing below is merged into the registry
    updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP
);

-- The models a provider listed at its last check or refresh.
CREATE TABLE IF NOT EXISTS provider_models (
    provider TEXT NOT NULL,
    model_id TEXT NOT NULL,
    context_window INTEGER,
    max_output INTEGER,
    input_price REAL,
    output_price REAL,
    listed_at REAL NOT NULL,
    -- Schema 4: priced when listed, so reading the registry never loads the price data.
    -- 'provider listing' (its own prices), 'genai-prices 0.2.3 (openai:…)', 'local' or 'unknown';
    -- NULL for rows listed before schema 4.
    price_source TEXT,
    price_as_of TEXT,
    price_approx INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (provider, model_id)
);

-- A model a provider answered 404 for: skipped until `until`.
CREATE TABLE IF NOT EXISTS model_unavailable (
    provider TEXT NOT NULL,
    model_id TEXT NOT NULL,
    reason TEXT,
    until REAL NOT NULL,
    PRIMARY KEY (provider, model_id)
);

CREATE TABLE IF NOT EXISTS conversations (
    id INTEGER PRIMARY KEY,
    title TEXT NOT NULL DEFAULT 'New chat',
    last_task TEXT,
    model_override TEXT,              -- a model the user pinned for the whole conversation
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    -- Schema 5: what the conversation keeps for every turn. Its system prompt (sent with every turn)
    -- and, from a preset (named in `preset`), its profile and generation settings; NULL: the active
    -- profile, the model's own defaults.
    system_prompt TEXT,
    preset TEXT,
    profile TEXT,
    temperature REAL,
    max_tokens INTEGER
);

CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY,
    conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    role TEXT NOT NULL CHECK (role IN ('system', 'user', 'assistant')),
    content TEXT NOT NULL,
    provider TEXT,
    model TEXT,
    task TEXT,
    status TEXT NOT NULL DEFAULT 'complete',  -- complete, incomplete (provider failed mid-reply), cancelled, failed
    error TEXT,
    usage_id INTEGER,
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    -- Schema 5: the steps of an agent run. Each step is an assistant message (its model, status and
    -- usage as for any reply); agent_step numbers it within its run (1 starts a run); tool_calls is
    -- JSON, one object per call the step made: {id, name, tool, arguments, status (pending, ran,
    -- denied, invalid, skipped), result, is_error, ruling, answer, ran_arguments, seconds, detail}.
    -- Tool results live there rather than as 'tool' messages: the CHECK on role cannot be altered.
    agent_step INTEGER,
    tool_calls TEXT,
    -- Schema 5: alternatives. A regenerated, escalated or edited exchange (a user message and its reply)
    -- joins a group with the exchange it replaces; the group is named by the id of its first user
    -- message. One exchange of a group is shown, the others are hidden: hidden messages are neither
    -- shown nor sent as history. NULL: not part of a group.
    alt_group INTEGER,
    hidden INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS messages_by_conversation ON messages (conversation_id, id);

-- One row per reply (or failed request): what it cost and how it went.
CREATE TABLE IF NOT EXISTS usage (
    id INTEGER PRIMARY KEY,
    created_at REAL NOT NULL,         -- unix time
    source TEXT NOT NULL,             -- chat, ask, job, serve
    task TEXT,
    profile TEXT,
    provider TEXT,
    model TEXT,
    input_tokens INTEGER,
    output_tokens INTEGER,
    estimated INTEGER NOT NULL DEFAULT 0,   -- 1 when the provider sent no usage and we estimated
    cost_usd REAL,                    -- NULL when the model's price is unknown (never a silent $0)
    baseline_cost_usd REAL,           -- the same tokens at the premium profile's primary model
    ttft_ms INTEGER,
    total_ms INTEGER,
    outcome TEXT NOT NULL,            -- ok, incomplete, cancelled, failed
    fallbacks INTEGER NOT NULL DEFAULT 0,
    attempts TEXT,                    -- JSON: [{provider, model, outcome, error, ms}]
    conversation_id INTEGER
);
CREATE INDEX IF NOT EXISTS usage_by_time ON usage (created_at);
-- Schema 5: what a budget check reads before every request (the spend of this day and month, by
-- profile), answered from the index alone.
CREATE INDEX IF NOT EXISTS usage_spend ON usage (created_at, profile, cost_usd, provider);

-- Schema 3: scheduled jobs

-- A job runs a prompt through the engine (kind 'prompt') or checks the providers (kind 'heartbeat').
-- Times are unix seconds (UTC). `schedule` is the canonical text: 'every 15m', 'daily 09:00',
-- 'weekly mon 09:00' or 'cron */5 * * * *' (daily, weekly and cron in the machine's local time).
CREATE TABLE IF NOT EXISTS jobs (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL DEFAULT 'prompt' CHECK (kind IN ('prompt', 'heartbeat')),
    prompt TEXT NOT NULL DEFAULT '',
    task TEXT NOT NULL DEFAULT 'auto',   -- a task type, or 'auto' (the prompt is classified)
    profile TEXT,                        -- NULL = the active profile at run time
    schedule TEXT NOT NULL,
    enabled INTEGER NOT NULL DEFAULT 1,
    next_run_at REAL,
    last_run_at REAL,
    last_status TEXT,                    -- ok, incomplete, failed, interrupted
    -- The claim: set in the same transaction that finds the job due, so no two runners start it.
    -- claim_until is renewed while the run lasts; a claim past it belongs to a runner that died.
    running_since REAL,
    claimed_by TEXT,
    claim_until REAL,
    -- Schema 4: the claim's heartbeat counter, +1 at every claim and renewal, and the owner's renew
    -- interval. A claim past claim_until is taken over only by a runner that saw this counter stand
    -- still for several renew intervals of its own monotonic clock: a clock jump cannot steal it.
    claim_beat INTEGER NOT NULL DEFAULT 0,
    claim_renew_s REAL,
    created_at REAL NOT NULL,
    updated_at REAL,
    -- Schema 5: an agent job's settings, JSON: {"allow": [tool, ...], "cwd": "...", "max_steps": n,
    -- "max_cost": usd, "timeout": s}. Such a job is kind 'agent' to every face, stored as kind 'prompt'
    -- with this set: SQLite cannot change the CHECK on kind without rebuilding the table.
    agent TEXT
);
CREATE INDEX IF NOT EXISTS jobs_due ON jobs (enabled, next_run_at);

-- Every run of a job, from the moment it is claimed (status 'running') to its end.
CREATE TABLE IF NOT EXISTS job_runs (
    id INTEGER PRIMARY KEY,
    job_id INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    trigger TEXT NOT NULL,               -- schedule, manual
    runner TEXT,                         -- the holder id of the process that ran it
    started_at REAL NOT NULL,
    finished_at REAL,
    status TEXT NOT NULL,                -- running, ok, incomplete, failed, interrupted
    output TEXT,
    error TEXT,
    task TEXT,
    profile TEXT,
    provider TEXT,                       -- who answered
    model TEXT,
    attempts TEXT,                       -- JSON: [{provider, model, outcome, error, ms}]
    input_tokens INTEGER,                -- copied from the reply (the engine also wrote a usage row, source 'job')
    output_tokens INTEGER,
    estimated INTEGER NOT NULL DEFAULT 0,
    cost_usd REAL,
    usage_id INTEGER
);
CREATE INDEX IF NOT EXISTS job_runs_by_job ON job_runs (job_id, id);

-- At most one scheduler runs due jobs: the holder of this row until expires_at (renewed while alive).
-- Schema 4: beat and renew_s, as for a job's claim: an expired lease is taken only once its counter
-- has stood still for several renew intervals.
CREATE TABLE IF NOT EXISTS scheduler_lease (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    holder TEXT NOT NULL,
    acquired_at REAL NOT NULL,
    expires_at REAL NOT NULL,
    beat INTEGER NOT NULL DEFAULT 0,
    renew_s REAL
);

-- Schema 5: full-text search over messages, and what the app remembers.

-- An external-content FTS5 index of messages.content (the text is stored once, in messages), kept in
-- step by the triggers below; `mesoclaw chats list --search` and the app's conversation list rank by
-- it (bm25) and quote it (snippet). The triggers name only id and content, so columns added to
-- messages later change nothing here. Opening skips these statements when the SQLite that Python
-- was built with has no FTS5: search then falls back to LIKE and says so.
CREATE VIRTUAL TABLE IF NOT EXISTS messages_fts USING fts5(
    content, content = 'messages', content_rowid = 'id', tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TRIGGER IF NOT EXISTS messages_fts_insert AFTER INSERT ON messages BEGIN
    INSERT INTO messages_fts (rowid, content) VALUES (new.id, new.content);
END;
CREATE TRIGGER IF NOT EXISTS messages_fts_delete AFTER DELETE ON messages BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, content) VALUES ('delete', old.id, old.content);
END;
CREATE TRIGGER IF NOT EXISTS messages_fts_update AFTER UPDATE OF content ON messages BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, content) VALUES ('delete', old.id, old.content);
    INSERT INTO messages_fts (rowid, content) VALUES (new.id, new.content);
END;

-- A conversation's running cost (the app's top bar) sums its usage rows.
CREATE INDEX IF NOT EXISTS usage_by_conversation ON usage (conversation_id);

-- What the app remembers between runs (the theme, the screen it was on): one value per name.
-- Settings a user writes by hand ([keys]) live in config.toml instead.
CREATE TABLE IF NOT EXISTS preferences (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP
);

-- Schema 5: named presets (`mesoclaw presets add`): a system prompt and, optionally, a profile or a
-- model and generation settings, applied to a conversation (which then keeps them) or to one `ask`.
CREATE TABLE IF NOT EXISTS presets (
    name TEXT PRIMARY KEY COLLATE NOCASE,
    system_prompt TEXT,
    profile TEXT,
    model TEXT,
    temperature REAL,
    max_tokens INTEGER,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);

-- Schema 5: every escalation: a reply re-asked of a model of a higher tier (the router's choice under a
-- higher profile, or a model the user picked), so `router usage` can say how often each task's first
-- choice was not good enough.
CREATE TABLE IF NOT EXISTS escalations (
    id INTEGER PRIMARY KEY,
    created_at REAL NOT NULL,            -- unix time
    conversation_id INTEGER,
    task TEXT,
    how TEXT NOT NULL,                   -- 'next_tier' (the escalate key) or 'picked' (a model the user chose)
    from_profile TEXT,
    from_provider TEXT,
    from_model TEXT,
    from_tier TEXT,
    to_profile TEXT,
    to_model TEXT,                       -- the model asked for (canonical name or provider:id)
    to_tier TEXT,
    from_usage_id INTEGER,               -- the usage row of the reply that was escalated
    usage_id INTEGER                     -- the escalated reply's usage row
);
CREATE INDEX IF NOT EXISTS escalations_by_time ON escalations (created_at);

-- mesoclaw's database: the one definition of it. Applied by mesoclaw_tui/store.py, which keeps
-- PRAGMA user_version equal to SCHEMA_VERSION there and migrates older files without losing data.
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
    PRIMARY KEY (provider, model_id)
);

import Logging
import PostgresNIO

/// The PostgreSQL schema as an ordered, append-only list of named migrations (its own list: the
/// SQLite history is SQLite's). Never edit a shipped one; add the next.
///
/// Applied in one transaction under an advisory lock, so instances that start together (or
/// `crier migrate` beside running servers) apply each migration exactly once.
enum PostgresMigrations {
    /// Any constant shared by every Crier instance: the advisory lock serialising migrations.
    static let lockKey: Int64 = 0x4372_6965_7200_0001

    static let all: [(name: String, sql: [String])] = [
        (
            "0001-initial",
            [
                """
                CREATE TABLE users (
                    id BIGSERIAL PRIMARY KEY,
                    public_id TEXT NOT NULL UNIQUE,
                    email TEXT NOT NULL,
                    name TEXT,
                    password_hash TEXT NOT NULL,
                    is_admin BOOLEAN NOT NULL DEFAULT false,
                    access TEXT NOT NULL DEFAULT 'active',
                    created_at BIGINT NOT NULL
                )
                """,
                "CREATE UNIQUE INDEX users_email ON users (lower(email))",
                """
                CREATE TABLE api_tokens (
                    id BIGSERIAL PRIMARY KEY,
                    public_id TEXT NOT NULL UNIQUE,
                    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                    label TEXT,
                    token_hash TEXT NOT NULL UNIQUE,
                    created_at BIGINT NOT NULL,
                    last_used_at BIGINT
                )
                """,
                "CREATE INDEX api_tokens_user ON api_tokens(user_id)",
                """
                CREATE TABLE web_sessions (
                    token_hash TEXT PRIMARY KEY,
                    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                    created_at BIGINT NOT NULL,
                    expires_at BIGINT NOT NULL
                )
                """,
                "CREATE INDEX web_sessions_user ON web_sessions(user_id)",
                "CREATE INDEX web_sessions_expiry ON web_sessions(expires_at)",
                """
                CREATE TABLE whatsapp_sessions (
                    id BIGSERIAL PRIMARY KEY,
                    public_id TEXT NOT NULL UNIQUE,
                    owner_id BIGINT NOT NULL REFERENCES users(id),
                    name TEXT NOT NULL UNIQUE,
                    created_at BIGINT NOT NULL,
                    gateway_status TEXT,
                    gateway_status_at BIGINT
                )
                """,
                "CREATE INDEX whatsapp_sessions_owner ON whatsapp_sessions(owner_id)",
                """
                CREATE TABLE campaigns (
                    id BIGSERIAL PRIMARY KEY,
                    public_id TEXT NOT NULL UNIQUE,
                    owner_id BIGINT NOT NULL REFERENCES users(id),
                    session_id BIGINT NOT NULL REFERENCES whatsapp_sessions(id),
                    group_id TEXT NOT NULL,
                    group_name TEXT NOT NULL,
                    audience_type TEXT NOT NULL,
                    title TEXT,
                    target_amount TEXT,
                    start_date TEXT NOT NULL,
                    end_date TEXT NOT NULL,
                    message_time TEXT NOT NULL,
                    time_zone TEXT NOT NULL,
                    template TEXT NOT NULL,
                    is_free_form BOOLEAN NOT NULL,
                    is_recurring BOOLEAN NOT NULL,
                    recurrence TEXT NOT NULL,
                    schedule_version BIGINT NOT NULL DEFAULT 1,
                    created_at BIGINT NOT NULL,
                    updated_at BIGINT NOT NULL,
                    deleted_at BIGINT
                )
                """,
                "CREATE INDEX campaigns_owner_newest ON campaigns(owner_id, id DESC) WHERE deleted_at IS NULL",
                """
                CREATE TABLE messages (
                    id BIGSERIAL PRIMARY KEY,
                    public_id TEXT NOT NULL,
                    campaign_id BIGINT NOT NULL REFERENCES campaigns(id),
                    schedule_version BIGINT NOT NULL,
                    occurrence_index BIGINT NOT NULL,
                    occurrence_date TEXT NOT NULL,
                    scheduled_at BIGINT NOT NULL,
                    content TEXT NOT NULL,
                    status TEXT NOT NULL DEFAULT 'pending',
                    attempt_count BIGINT NOT NULL DEFAULT 0,
                    next_attempt_at BIGINT NOT NULL,
                    sent_at BIGINT,
                    gateway_message_id TEXT,
                    gateway_raw_id TEXT,
                    reserved_message_id TEXT,
                    failed_reason TEXT,
                    delivered_at BIGINT,
                    read_at BIGINT,
                    claim_token BIGINT NOT NULL DEFAULT 0,
                    lease_owner TEXT,
                    lease_expires_at BIGINT,
                    claimed_at BIGINT,
                    needs_reconcile BOOLEAN NOT NULL DEFAULT false,
                    send_started_at BIGINT,
                    last_error TEXT,
                    UNIQUE (campaign_id, schedule_version, occurrence_date)
                )
                """,
                "CREATE INDEX messages_campaign_state ON messages(campaign_id, schedule_version, status, scheduled_at)",
                "CREATE INDEX messages_due ON messages(next_attempt_at) WHERE status = 'pending'",
                "CREATE INDEX messages_leases ON messages(lease_expires_at) WHERE status = 'sending'",
                "CREATE INDEX messages_pending_scheduled ON messages(scheduled_at) WHERE status = 'pending'",
                "CREATE INDEX messages_gateway_raw_id ON messages(gateway_raw_id) WHERE gateway_raw_id IS NOT NULL",
                """
                CREATE TABLE message_attempts (
                    id BIGSERIAL PRIMARY KEY,
                    message_id BIGINT NOT NULL REFERENCES messages(id),
                    started_at BIGINT NOT NULL,
                    finished_at BIGINT NOT NULL,
                    outcome TEXT NOT NULL,
                    gateway_status BIGINT,
                    reason TEXT
                )
                """,
                "CREATE INDEX message_attempts_message ON message_attempts(message_id, id)",
                "CREATE TABLE webhook_events (event_id TEXT PRIMARY KEY, received_at BIGINT NOT NULL)",
                "CREATE INDEX webhook_events_age ON webhook_events(received_at)",
                """
                CREATE TABLE early_receipts (
                    session TEXT NOT NULL,
                    raw_message_id TEXT NOT NULL,
                    level BIGINT NOT NULL,
                    at BIGINT NOT NULL,
                    received_at BIGINT NOT NULL
                )
                """,
                "CREATE INDEX early_receipts_message ON early_receipts(session, raw_message_id)",
                "CREATE INDEX early_receipts_age ON early_receipts(received_at)",
            ]
        ),
        (
            // Every pending message had an entry in two time-ordered indexes, each entry of a year-long
            // daily campaign in a different page. Marking missed reads the due index instead (a
            // message's next attempt never falls past its grace window unless it awaits reconciling).
            "0002-one-time-index-per-pending-message",
            ["DROP INDEX messages_pending_scheduled"]
        ),
        (
            // Readiness writes this one row: a server that answers reads but takes no write is not ready.
            "0003-health-probe",
            [
                "CREATE TABLE health_probe (id INT PRIMARY KEY CHECK (id = 1), checked_at BIGINT NOT NULL)",
                "INSERT INTO health_probe (id, checked_at) VALUES (1, 0)",
            ]
        ),
        (
            // What each user stores, kept with every create, edit and delete (`UserQuota`); counted
            // once here for what is stored already.
            "0004-user-usage",
            [
                """
                ALTER TABLE users ADD COLUMN campaigns_open BIGINT NOT NULL DEFAULT 0,
                    ADD COLUMN messages_stored BIGINT NOT NULL DEFAULT 0, ADD COLUMN bytes_stored BIGINT NOT NULL DEFAULT 0
                """,
                """
                UPDATE users SET
                    campaigns_open = (SELECT COUNT(*) FROM campaigns c WHERE c.owner_id = users.id AND c.deleted_at IS NULL),
                    messages_stored = (SELECT COUNT(*) FROM messages m JOIN campaigns c ON c.id = m.campaign_id
                        WHERE c.owner_id = users.id),
                    bytes_stored = (SELECT COALESCE(SUM(octet_length(m.content)), 0) FROM messages m
                            JOIN campaigns c ON c.id = m.campaign_id WHERE c.owner_id = users.id)
                        + (SELECT COALESCE(SUM(octet_length(template)), 0) FROM campaigns c WHERE c.owner_id = users.id)
                """,
            ]
        ),
        (
            // One-time links an admin gives a user who forgot their password; kept as hashes.
            "0005-password-resets",
            [
                """
                CREATE TABLE password_resets (
                    token_hash TEXT PRIMARY KEY,
                    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                    created_at BIGINT NOT NULL,
                    expires_at BIGINT NOT NULL
                )
                """,
                "CREATE INDEX password_resets_user ON password_resets(user_id)",
            ]
        ),
        (
            // When a status was heard was stored and never read; what the dashboard shows is the status.
            "0006-drop-session-status-time",
            ["ALTER TABLE whatsapp_sessions DROP COLUMN gateway_status_at"]
        ),
    ]

    /// Applies every migration not applied yet; returns their names.
    static func migrate(_ client: PostgresClient, logger: Logger) async throws -> [String] {
        try await client.withTransaction(logger: logger) { connection in
            try await connection.query("SELECT pg_advisory_xact_lock(\(lockKey))", logger: logger)
            try await connection.query(
                "CREATE TABLE IF NOT EXISTS crier_migrations (name TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())",
                logger: logger)
            var applied: Set<String> = []
            for try await name in try await connection.query("SELECT name FROM crier_migrations", logger: logger)
                .decode(String.self)
            {
                applied.insert(name)
            }
            var new: [String] = []
            for migration in all where !applied.contains(migration.name) {
                for statement in migration.sql {
                    try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                try await connection.query("INSERT INTO crier_migrations (name) VALUES (\(migration.name))", logger: logger)
                new.append(migration.name)
            }
            return new
        }
    }
}

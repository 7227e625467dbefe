import GRDB

/// The schema, as an ordered, append-only list of numbered migrations. Never edit a shipped one.
enum SQLiteMigrations {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("0001-initial") { db in
            try db.execute(sql: """
                CREATE TABLE users (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    email TEXT NOT NULL UNIQUE COLLATE NOCASE,
                    name TEXT,
                    password_hash TEXT NOT NULL,
                    is_admin INTEGER NOT NULL DEFAULT 0,
                    created_at INTEGER NOT NULL
                );
                CREATE TABLE api_tokens (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                    label TEXT,
                    token_hash TEXT NOT NULL UNIQUE,
                    created_at INTEGER NOT NULL
                );
                CREATE INDEX api_tokens_user ON api_tokens(user_id);
                CREATE TABLE whatsapp_sessions (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    public_id TEXT NOT NULL UNIQUE,
                    owner_id INTEGER NOT NULL REFERENCES users(id),
                    name TEXT NOT NULL UNIQUE,
                    created_at INTEGER NOT NULL
                );
                CREATE INDEX whatsapp_sessions_owner ON whatsapp_sessions(owner_id);
                CREATE TABLE campaigns (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    public_id TEXT NOT NULL UNIQUE,
                    owner_id INTEGER NOT NULL REFERENCES users(id),
                    session_id INTEGER NOT NULL REFERENCES whatsapp_sessions(id),
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
                    is_free_form INTEGER NOT NULL,
                    is_recurring INTEGER NOT NULL,
                    recurrence TEXT NOT NULL,
                    schedule_version INTEGER NOT NULL DEFAULT 1,
                    created_at INTEGER NOT NULL,
                    updated_at INTEGER NOT NULL,
                    deleted_at INTEGER
                );
                CREATE INDEX campaigns_owner_newest ON campaigns(owner_id, id DESC) WHERE deleted_at IS NULL;
                CREATE TABLE messages (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    campaign_id INTEGER NOT NULL REFERENCES campaigns(id),
                    schedule_version INTEGER NOT NULL,
                    occurrence_index INTEGER NOT NULL,
                    occurrence_date TEXT NOT NULL,
                    scheduled_at INTEGER NOT NULL,
                    content TEXT NOT NULL,
                    status TEXT NOT NULL DEFAULT 'pending',
                    attempt_count INTEGER NOT NULL DEFAULT 0,
                    next_attempt_at INTEGER NOT NULL,
                    sent_at INTEGER,
                    gateway_message_id TEXT,
                    failed_reason TEXT,
                    delivered_at INTEGER,
                    read_at INTEGER,
                    UNIQUE (campaign_id, schedule_version, occurrence_date)
                );
                CREATE INDEX messages_campaign_state ON messages(campaign_id, schedule_version, status, scheduled_at);
                CREATE INDEX messages_due ON messages(next_attempt_at) WHERE status = 'pending';
                """)
        }
        migrator.registerMigration("0002-dispatch") { db in
            try db.execute(sql: """
                ALTER TABLE messages ADD COLUMN claim_token INTEGER NOT NULL DEFAULT 0;
                ALTER TABLE messages ADD COLUMN lease_owner TEXT;
                ALTER TABLE messages ADD COLUMN lease_expires_at INTEGER;
                ALTER TABLE messages ADD COLUMN claimed_at INTEGER;
                ALTER TABLE messages ADD COLUMN needs_reconcile INTEGER NOT NULL DEFAULT 0;
                ALTER TABLE messages ADD COLUMN send_started_at INTEGER;
                ALTER TABLE messages ADD COLUMN last_error TEXT;
                ALTER TABLE messages ADD COLUMN gateway_raw_id TEXT;
                CREATE INDEX messages_leases ON messages(lease_expires_at) WHERE status = 'sending';
                CREATE INDEX messages_pending_scheduled ON messages(scheduled_at) WHERE status = 'pending';
                CREATE INDEX messages_gateway_id ON messages(gateway_message_id) WHERE gateway_message_id IS NOT NULL;
                CREATE INDEX messages_gateway_raw_id ON messages(gateway_raw_id) WHERE gateway_raw_id IS NOT NULL;
                CREATE TABLE message_attempts (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    message_id INTEGER NOT NULL REFERENCES messages(id),
                    started_at INTEGER NOT NULL,
                    finished_at INTEGER NOT NULL,
                    outcome TEXT NOT NULL,
                    gateway_status INTEGER,
                    reason TEXT
                );
                CREATE INDEX message_attempts_message ON message_attempts(message_id, id);
                CREATE TABLE webhook_events (
                    event_id TEXT PRIMARY KEY,
                    received_at INTEGER NOT NULL
                );
                CREATE INDEX webhook_events_age ON webhook_events(received_at);
                ALTER TABLE whatsapp_sessions ADD COLUMN gateway_status TEXT;
                ALTER TABLE whatsapp_sessions ADD COLUMN gateway_status_at INTEGER;
                """)
        }
        migrator.registerMigration("0003-public-ids") { db in
            // Public ids are opaque: users (tagged at the gateway as session owners), tokens (listed and
            // revoked by id) and messages (shown by the API) stop exposing row numbers.
            try db.execute(sql: """
                ALTER TABLE users ADD COLUMN public_id TEXT;
                UPDATE users SET public_id = lower(hex(randomblob(16)));
                CREATE UNIQUE INDEX users_public_id ON users(public_id);
                ALTER TABLE api_tokens ADD COLUMN public_id TEXT;
                UPDATE api_tokens SET public_id = lower(hex(randomblob(8)));
                CREATE UNIQUE INDEX api_tokens_public_id ON api_tokens(public_id);
                ALTER TABLE api_tokens ADD COLUMN last_used_at INTEGER;
                ALTER TABLE messages ADD COLUMN public_id TEXT;
                UPDATE messages SET public_id = lower(hex(randomblob(12)));
                """)
        }
        migrator.registerMigration("0004-reserved-ids-and-early-receipts") { db in
            // A message id reserved at the gateway before the first send (exactly-once by id), and
            // receipts that arrived before the send they confirm was recorded.
            try db.execute(sql: """
                ALTER TABLE messages ADD COLUMN reserved_message_id TEXT;
                CREATE TABLE early_receipts (
                    session TEXT NOT NULL,
                    raw_message_id TEXT NOT NULL,
                    level INTEGER NOT NULL,
                    at INTEGER NOT NULL,
                    received_at INTEGER NOT NULL
                );
                CREATE INDEX early_receipts_message ON early_receipts(session, raw_message_id);
                CREATE INDEX early_receipts_age ON early_receipts(received_at);
                """)
        }
        migrator.registerMigration("0005-dashboard-accounts") { db in
            // Sign-ups wait for an admin's approval; dashboard sign-ins are cookies kept as hashes.
            try db.execute(sql: """
                ALTER TABLE users ADD COLUMN access TEXT NOT NULL DEFAULT 'active';
                CREATE TABLE web_sessions (
                    token_hash TEXT PRIMARY KEY,
                    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                    created_at INTEGER NOT NULL,
                    expires_at INTEGER NOT NULL
                );
                CREATE INDEX web_sessions_user ON web_sessions(user_id);
                CREATE INDEX web_sessions_expiry ON web_sessions(expires_at);
                """)
        }
        migrator.registerMigration("0006-fewer-message-indexes") { db in
            // Every pending message had an entry in two time-ordered indexes, each entry of a year-long
            // daily campaign in a different page. Marking missed reads the due index instead (a
            // message's next attempt never falls past its grace window unless it awaits reconciling).
            // And no query looks messages up by their full gateway id (receipts use the raw id), yet
            // every send wrote its random key into that index.
            try db.execute(sql: """
                DROP INDEX messages_pending_scheduled;
                DROP INDEX messages_gateway_id;
                """)
        }
        migrator.registerMigration("0007-staged-messages") { db in
            // A daily campaign's year of messages put 365 entries in the due index, each in a page of its
            // own: most of a create's cost. Messages due beyond the staging horizon now wait outside it,
            // found through their campaign's `unstaged_from` until they come near (`stageUpcoming`).
            // Rows already stored are staged, as they were indexed.
            try db.execute(sql: """
                ALTER TABLE messages ADD COLUMN staged INTEGER NOT NULL DEFAULT 1;
                ALTER TABLE campaigns ADD COLUMN unstaged_from INTEGER;
                DROP INDEX messages_due;
                CREATE INDEX messages_due ON messages(next_attempt_at) WHERE status = 'pending' AND staged = 1;
                CREATE INDEX campaigns_unstaged ON campaigns(unstaged_from) WHERE unstaged_from IS NOT NULL;
                """)
        }
        migrator.registerMigration("0008-health-probe") { db in
            // Readiness writes this one row: a database that answers reads but takes no write is not ready.
            try db.execute(sql: """
                CREATE TABLE health_probe (id INTEGER PRIMARY KEY CHECK (id = 1), checked_at INTEGER NOT NULL);
                INSERT INTO health_probe (id, checked_at) VALUES (1, 0);
                """)
        }
        migrator.registerMigration("0009-user-usage") { db in
            // What each user stores, kept with every create, edit and delete (`UserQuota`); counted
            // once here for what is stored already.
            try db.execute(sql: """
                ALTER TABLE users ADD COLUMN campaigns_open INTEGER NOT NULL DEFAULT 0;
                ALTER TABLE users ADD COLUMN messages_stored INTEGER NOT NULL DEFAULT 0;
                ALTER TABLE users ADD COLUMN bytes_stored INTEGER NOT NULL DEFAULT 0;
                UPDATE users SET
                    campaigns_open = (SELECT COUNT(*) FROM campaigns c WHERE c.owner_id = users.id AND c.deleted_at IS NULL),
                    messages_stored = (SELECT COUNT(*) FROM messages m JOIN campaigns c ON c.id = m.campaign_id
                        WHERE c.owner_id = users.id),
                    bytes_stored = (SELECT COALESCE(SUM(LENGTH(CAST(m.content AS BLOB))), 0) FROM messages m
                            JOIN campaigns c ON c.id = m.campaign_id WHERE c.owner_id = users.id)
                        + (SELECT COALESCE(SUM(LENGTH(CAST(template AS BLOB))), 0) FROM campaigns c WHERE c.owner_id = users.id);
                """)
        }
        migrator.registerMigration("0010-password-resets") { db in
            // One-time links an admin gives a user who forgot their password; kept as hashes.
            try db.execute(sql: """
                CREATE TABLE password_resets (
                    token_hash TEXT PRIMARY KEY,
                    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                    created_at INTEGER NOT NULL,
                    expires_at INTEGER NOT NULL
                );
                CREATE INDEX password_resets_user ON password_resets(user_id);
                """)
        }
        migrator.registerMigration("0011-drop-session-status-time") { db in
            // When a status was heard was stored and never read; what the dashboard shows is the status.
            try db.execute(sql: "ALTER TABLE whatsapp_sessions DROP COLUMN gateway_status_at")
        }
        return migrator
    }
}

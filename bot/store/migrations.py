"""Versioned schema migrations, applied in order on start and by ``studybot db upgrade``.

SQLite's ``PRAGMA user_version`` says how many have run; PostgreSQL keeps the number in a
``schema_version`` table. The two lists are the same migrations in each database's SQL: number N
means the same tables and the same rules in both, so ``studybot db copy`` can move data between
them. Never edit a released migration: append a new one, to both lists.
"""

from __future__ import annotations

MIGRATIONS: list[str] = [
    # 1: rounds, answers, schedules, fires, workspaces, gaps
    """
    CREATE TABLE rounds (
        id INTEGER PRIMARY KEY,
        platform TEXT NOT NULL,
        workspace TEXT NOT NULL,
        channel TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('quiz', 'daily', 'practice')),
        card_id TEXT NOT NULL,
        opened_at TEXT NOT NULL,
        closes_at TEXT NOT NULL,
        closed_at TEXT,
        message_id TEXT,
        remaining INTEGER NOT NULL DEFAULT 0,
        seconds INTEGER NOT NULL,
        topic TEXT,
        owner_id TEXT,
        schedule_id INTEGER REFERENCES schedules(id),
        local_date TEXT
    );
    CREATE UNIQUE INDEX one_open_quiz_per_channel ON rounds (platform, workspace, channel)
        WHERE closed_at IS NULL AND kind = 'quiz';
    CREATE INDEX open_rounds ON rounds (closed_at) WHERE closed_at IS NULL;
    CREATE INDEX rounds_by_channel ON rounds (platform, workspace, channel, kind);

    CREATE TABLE answers (
        round_id INTEGER NOT NULL REFERENCES rounds(id),
        platform TEXT NOT NULL,
        workspace TEXT NOT NULL,
        user_id TEXT NOT NULL,
        display_name TEXT NOT NULL,
        choice INTEGER NOT NULL,
        correct INTEGER NOT NULL,
        points INTEGER NOT NULL,
        answered_at TEXT NOT NULL,
        PRIMARY KEY (round_id, user_id)
    ) WITHOUT ROWID;
    CREATE INDEX answers_by_workspace ON answers (platform, workspace, answered_at);
    CREATE INDEX answers_by_user ON answers (platform, workspace, user_id);

    CREATE TABLE schedules (
        id INTEGER PRIMARY KEY,
        platform TEXT NOT NULL,
        workspace TEXT NOT NULL,
        channel TEXT NOT NULL,
        local_time TEXT NOT NULL,
        timezone TEXT NOT NULL,
        questions INTEGER NOT NULL,
        topic TEXT,
        enabled INTEGER NOT NULL DEFAULT 1,
        updated_at TEXT NOT NULL
    );
    CREATE UNIQUE INDEX one_schedule_per_channel ON schedules (platform, workspace, channel);

    CREATE TABLE fires (
        schedule_id INTEGER NOT NULL REFERENCES schedules(id),
        local_date TEXT NOT NULL,
        fired_at TEXT NOT NULL,
        status TEXT NOT NULL,
        PRIMARY KEY (schedule_id, local_date)
    );

    CREATE TABLE workspaces (
        platform TEXT NOT NULL,
        workspace TEXT NOT NULL,
        timezone TEXT NOT NULL,
        PRIMARY KEY (platform, workspace)
    );

    CREATE TABLE gaps (
        query_key TEXT PRIMARY KEY,
        query TEXT NOT NULL,
        times INTEGER NOT NULL,
        last_asked TEXT NOT NULL
    );
    """,
    # 2: the leaderboard shows each member's latest name, found through this index.
    """
    CREATE INDEX answers_by_user_time ON answers (platform, workspace, user_id, answered_at);
    DROP INDEX answers_by_user;
    """,
    # 3: the transactional outbox. Messages the bot posts on its own are written here in the same
    # transaction as the state change that causes them, and delivered (retried, given up) by a worker.
    # A round's points count once its reveal is delivered or given up (revealed_at); rounds closed
    # before this migration were revealed (at most once) when they closed.
    """
    ALTER TABLE rounds ADD COLUMN revealed_at TEXT;
    UPDATE rounds SET revealed_at = closed_at WHERE closed_at IS NOT NULL;
    CREATE TABLE outbox (
        id INTEGER PRIMARY KEY,
        platform TEXT NOT NULL,
        workspace TEXT NOT NULL,
        channel TEXT NOT NULL,
        action TEXT NOT NULL CHECK (action IN ('post', 'edit')),
        purpose TEXT NOT NULL,
        round_id INTEGER REFERENCES rounds(id),
        reply TEXT NOT NULL,
        created_at TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at TEXT NOT NULL,
        last_error TEXT,
        delivered_at TEXT,
        delivered_id TEXT,
        given_up_at TEXT,
        given_up_reason TEXT,
        CHECK (action = 'post' OR round_id IS NOT NULL)
    );
    CREATE INDEX outbox_pending ON outbox (platform, workspace, channel, id)
        WHERE delivered_at IS NULL AND given_up_at IS NULL;
    CREATE INDEX outbox_by_round ON outbox (round_id);
    """,
    # 4: which process holds a message's delivery attempt. The one process that holds the data folder's
    # lock knows that attempts claimed by any other process were cut off (kill -9) and retries them at
    # once, instead of waiting for their lease to run out.
    """
    ALTER TABLE outbox ADD COLUMN claimed_by TEXT;
    """,
    # 5: what several processes on one database must agree on: each user's last use of a command
    # (cooldowns), and the platform deliveries already taken in (a resend is not handled twice).
    """
    CREATE TABLE cooldowns (
        platform TEXT NOT NULL,
        workspace TEXT NOT NULL,
        user_id TEXT NOT NULL,
        command TEXT NOT NULL,
        used_at TEXT NOT NULL,
        token TEXT NOT NULL,
        PRIMARY KEY (platform, workspace, user_id, command)
    );
    CREATE TABLE deliveries_seen (
        key TEXT PRIMARY KEY,
        seen_at TEXT NOT NULL
    );
    CREATE INDEX deliveries_seen_by_time ON deliveries_seen (seen_at);
    """,
    # 6: spaced repetition. Each person's memory state of each card (the fsrs package's Card as JSON,
    # with its due time and review count as columns for the queries), every rating given, and
    # opt-in review reminders with their exactly-once fires per local date.
    """
    CREATE TABLE review_cards (
        platform TEXT NOT NULL,
        workspace TEXT NOT NULL,
        user_id TEXT NOT NULL,
        card_id TEXT NOT NULL,
        state TEXT NOT NULL,
        due TEXT NOT NULL,
        reps INTEGER NOT NULL DEFAULT 0,
        version INTEGER NOT NULL DEFAULT 0,
        added_at TEXT NOT NULL,
        PRIMARY KEY (platform, workspace, user_id, card_id)
    ) WITHOUT ROWID;
    CREATE INDEX review_cards_due ON review_cards (platform, workspace, user_id, due);

    CREATE TABLE review_log (
        id INTEGER PRIMARY KEY,
        platform TEXT NOT NULL,
        workspace TEXT NOT NULL,
        user_id TEXT NOT NULL,
        card_id TEXT NOT NULL,
        rating INTEGER NOT NULL CHECK (rating BETWEEN 1 AND 4),
        source TEXT NOT NULL,
        reviewed_at TEXT NOT NULL,
        first INTEGER NOT NULL,
        due_before TEXT NOT NULL,
        due_after TEXT NOT NULL,
        stability REAL,
        difficulty REAL
    );
    CREATE INDEX review_log_by_user ON review_log (platform, workspace, user_id, reviewed_at);

    CREATE TABLE review_reminders (
        id INTEGER PRIMARY KEY,
        platform TEXT NOT NULL,
        workspace TEXT NOT NULL,
        user_id TEXT NOT NULL,
        local_time TEXT NOT NULL,
        timezone TEXT NOT NULL,
        enabled INTEGER NOT NULL DEFAULT 1,
        updated_at TEXT NOT NULL
    );
    CREATE UNIQUE INDEX one_reminder_per_user ON review_reminders (platform, workspace, user_id);

    CREATE TABLE reminder_fires (
        reminder_id INTEGER NOT NULL REFERENCES review_reminders(id),
        local_date TEXT NOT NULL,
        fired_at TEXT NOT NULL,
        status TEXT NOT NULL,
        PRIMARY KEY (reminder_id, local_date)
    );
    """,
    # 7: games people steer. A game groups the rounds of one `quiz` (its standings, a target score, typed
    # answers, hints) and records who started it and how it ended (`quiz stop`, a target reached, its last
    # question). Hints taken per player and question are kept, so points are judged the same after a restart.
    """
    CREATE TABLE games (
        id INTEGER PRIMARY KEY,
        platform TEXT NOT NULL,
        workspace TEXT NOT NULL,
        channel TEXT NOT NULL,
        started_by TEXT NOT NULL,
        started_by_name TEXT NOT NULL,
        questions INTEGER NOT NULL,
        target INTEGER,
        typed INTEGER NOT NULL DEFAULT 0,
        hints INTEGER NOT NULL DEFAULT 1,
        started_at TEXT NOT NULL,
        ended_at TEXT,
        ended_by TEXT,
        end_reason TEXT
    );
    ALTER TABLE rounds ADD COLUMN game_id INTEGER REFERENCES games(id);
    ALTER TABLE rounds ADD COLUMN typed INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX rounds_by_game ON rounds (game_id) WHERE game_id IS NOT NULL;
    ALTER TABLE answers ADD COLUMN typed_text TEXT;
    ALTER TABLE schedules ADD COLUMN typed INTEGER NOT NULL DEFAULT 0;
    CREATE TABLE hints (
        round_id INTEGER NOT NULL REFERENCES rounds(id),
        user_id TEXT NOT NULL,
        level INTEGER NOT NULL,
        PRIMARY KEY (round_id, user_id)
    ) WITHOUT ROWID;
    """,
    # 8: PostgreSQL answers lose their foreign key to rounds (its check ran once per row, a third of the
    # server's time per answer; the store's INSERT now locks the round once per statement, as the key
    # did, and refuses answers to a missing round). SQLite keeps its key: there the check is cheap.
    """
    -- nothing to change in SQLite
    """,
]


# The same migrations for PostgreSQL: real types (timestamptz, date, boolean), identity keys that
# accept explicit ids (so a copy keeps them), the same uniqueness rules and partial indexes.
POSTGRES_MIGRATIONS: list[str] = [
    """
    CREATE TABLE schedules (
        id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        platform TEXT NOT NULL,
        workspace TEXT NOT NULL,
        channel TEXT NOT NULL,
        local_time TEXT NOT NULL,
        timezone TEXT NOT NULL,
        questions INTEGER NOT NULL,
        topic TEXT,
        enabled BOOLEAN NOT NULL DEFAULT TRUE,
        updated_at TIMESTAMPTZ NOT NULL
    );
    CREATE UNIQUE INDEX one_schedule_per_channel ON schedules (platform, workspace, channel);

    CREATE TABLE rounds (
        id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        platform TEXT NOT NULL,
        workspace TEXT NOT NULL,
        channel TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('quiz', 'daily', 'practice')),
        card_id TEXT NOT NULL,
        opened_at TIMESTAMPTZ NOT NULL,
        closes_at TIMESTAMPTZ NOT NULL,
        closed_at TIMESTAMPTZ,
        message_id TEXT,
        remaining INTEGER NOT NULL DEFAULT 0,
        seconds INTEGER NOT NULL,
        topic TEXT,
        owner_id TEXT,
        schedule_id BIGINT REFERENCES schedules(id),
        local_date DATE
    );
    CREATE UNIQUE INDEX one_open_quiz_per_channel ON rounds (platform, workspace, channel)
        WHERE closed_at IS NULL AND kind = 'quiz';
    CREATE INDEX open_rounds ON rounds (closed_at) WHERE closed_at IS NULL;
    CREATE INDEX rounds_by_channel ON rounds (platform, workspace, channel, kind);

    CREATE TABLE answers (
        round_id BIGINT NOT NULL REFERENCES rounds(id),
        platform TEXT NOT NULL,
        workspace TEXT NOT NULL,
        user_id TEXT NOT NULL,
        display_name TEXT NOT NULL,
        choice INTEGER NOT NULL,
        correct BOOLEAN NOT NULL,
        points INTEGER NOT NULL,
        answered_at TIMESTAMPTZ NOT NULL,
        PRIMARY KEY (round_id, user_id)
    );
    CREATE INDEX answers_by_workspace ON answers (platform, workspace, answered_at);
    CREATE INDEX answers_by_user ON answers (platform, workspace, user_id);

    CREATE TABLE fires (
        schedule_id BIGINT NOT NULL REFERENCES schedules(id),
        local_date DATE NOT NULL,
        fired_at TIMESTAMPTZ NOT NULL,
        status TEXT NOT NULL,
        PRIMARY KEY (schedule_id, local_date)
    );

    CREATE TABLE workspaces (
        platform TEXT NOT NULL,
        workspace TEXT NOT NULL,
        timezone TEXT NOT NULL,
        PRIMARY KEY (platform, workspace)
    );

    CREATE TABLE gaps (
        query_key TEXT PRIMARY KEY,
        query TEXT NOT NULL,
        times INTEGER NOT NULL,
        last_asked TIMESTAMPTZ NOT NULL
    );
    """,
    """
    CREATE INDEX answers_by_user_time ON answers (platform, workspace, user_id, answered_at);
    DROP INDEX answers_by_user;
    """,
    """
    ALTER TABLE rounds ADD COLUMN revealed_at TIMESTAMPTZ;
    UPDATE rounds SET revealed_at = closed_at WHERE closed_at IS NOT NULL;
    CREATE TABLE outbox (
        id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        platform TEXT NOT NULL,
        workspace TEXT NOT NULL,
        channel TEXT NOT NULL,
        action TEXT NOT NULL CHECK (action IN ('post', 'edit')),
        purpose TEXT NOT NULL,
        round_id BIGINT REFERENCES rounds(id),
        reply TEXT NOT NULL,
        created_at TIMESTAMPTZ NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at TIMESTAMPTZ NOT NULL,
        last_error TEXT,
        delivered_at TIMESTAMPTZ,
        delivered_id TEXT,
        given_up_at TIMESTAMPTZ,
        given_up_reason TEXT,
        CHECK (action = 'post' OR round_id IS NOT NULL)
    );
    CREATE INDEX outbox_pending ON outbox (platform, workspace, channel, id)
        WHERE delivered_at IS NULL AND given_up_at IS NULL;
    CREATE INDEX outbox_by_round ON outbox (round_id);
    """,
    """
    ALTER TABLE outbox ADD COLUMN claimed_by TEXT;
    """,
    """
    CREATE TABLE cooldowns (
        platform TEXT NOT NULL,
        workspace TEXT NOT NULL,
        user_id TEXT NOT NULL,
        command TEXT NOT NULL,
        used_at TIMESTAMPTZ NOT NULL,
        token TEXT NOT NULL,
        PRIMARY KEY (platform, workspace, user_id, command)
    );
    CREATE TABLE deliveries_seen (
        key TEXT PRIMARY KEY,
        seen_at TIMESTAMPTZ NOT NULL
    );
    CREATE INDEX deliveries_seen_by_time ON deliveries_seen (seen_at);
    """,
    """
    CREATE TABLE review_cards (
        platform TEXT NOT NULL,
        workspace TEXT NOT NULL,
        user_id TEXT NOT NULL,
        card_id TEXT NOT NULL,
        state TEXT NOT NULL,
        due TIMESTAMPTZ NOT NULL,
        reps INTEGER NOT NULL DEFAULT 0,
        version INTEGER NOT NULL DEFAULT 0,
        added_at TIMESTAMPTZ NOT NULL,
        PRIMARY KEY (platform, workspace, user_id, card_id)
    );
    CREATE INDEX review_cards_due ON review_cards (platform, workspace, user_id, due);

    CREATE TABLE review_log (
        id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        platform TEXT NOT NULL,
        workspace TEXT NOT NULL,
        user_id TEXT NOT NULL,
        card_id TEXT NOT NULL,
        rating INTEGER NOT NULL CHECK (rating BETWEEN 1 AND 4),
        source TEXT NOT NULL,
        reviewed_at TIMESTAMPTZ NOT NULL,
        first BOOLEAN NOT NULL,
        due_before TIMESTAMPTZ NOT NULL,
        due_after TIMESTAMPTZ NOT NULL,
        stability DOUBLE PRECISION,
        difficulty DOUBLE PRECISION
    );
    CREATE INDEX review_log_by_user ON review_log (platform, workspace, user_id, reviewed_at);

    CREATE TABLE review_reminders (
        id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        platform TEXT NOT NULL,
        workspace TEXT NOT NULL,
        user_id TEXT NOT NULL,
        local_time TEXT NOT NULL,
        timezone TEXT NOT NULL,
        enabled BOOLEAN NOT NULL DEFAULT TRUE,
        updated_at TIMESTAMPTZ NOT NULL
    );
    CREATE UNIQUE INDEX one_reminder_per_user ON review_reminders (platform, workspace, user_id);

    CREATE TABLE reminder_fires (
        reminder_id BIGINT NOT NULL REFERENCES review_reminders(id),
        local_date DATE NOT NULL,
        fired_at TIMESTAMPTZ NOT NULL,
        status TEXT NOT NULL,
        PRIMARY KEY (reminder_id, local_date)
    );
    """,
    """
    CREATE TABLE games (
        id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        platform TEXT NOT NULL,
        workspace TEXT NOT NULL,
        channel TEXT NOT NULL,
        started_by TEXT NOT NULL,
        started_by_name TEXT NOT NULL,
        questions INTEGER NOT NULL,
        target INTEGER,
        typed BOOLEAN NOT NULL DEFAULT FALSE,
        hints BOOLEAN NOT NULL DEFAULT TRUE,
        started_at TIMESTAMPTZ NOT NULL,
        ended_at TIMESTAMPTZ,
        ended_by TEXT,
        end_reason TEXT
    );
    ALTER TABLE rounds ADD COLUMN game_id BIGINT REFERENCES games(id);
    ALTER TABLE rounds ADD COLUMN typed BOOLEAN NOT NULL DEFAULT FALSE;
    CREATE INDEX rounds_by_game ON rounds (game_id) WHERE game_id IS NOT NULL;
    ALTER TABLE answers ADD COLUMN typed_text TEXT;
    ALTER TABLE schedules ADD COLUMN typed BOOLEAN NOT NULL DEFAULT FALSE;
    CREATE TABLE hints (
        round_id BIGINT NOT NULL REFERENCES rounds(id),
        user_id TEXT NOT NULL,
        level INTEGER NOT NULL,
        PRIMARY KEY (round_id, user_id)
    );
    """,
    """
    ALTER TABLE answers DROP CONSTRAINT IF EXISTS answers_round_id_fkey;
    """,
]
assert len(POSTGRES_MIGRATIONS) == len(MIGRATIONS), "each migration is written for both databases"

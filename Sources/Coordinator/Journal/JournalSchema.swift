import GRDB

/// The journal's tables, versioned with GRDB's migrator: each version is
/// appended, never edited, so any older journal file upgrades in place (the
/// applied versions are listed in its `grdb_migrations` table).
///
/// Times are REAL seconds since 2001-01-01 UTC, as `Date` keeps them (see
/// `JournalTime`).
enum JournalSchema {
    static let migrator: DatabaseMigrator = {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: migrations, steps, VM locks, maintenance") { db in
            try db.create(table: "migration") { t in
                t.primaryKey("id", .text)
                t.column("vm", .text).notNull().indexed()
                t.column("source", .text).notNull()
                t.column("target", .text).notNull()
                t.column("mode", .text).notNull()
                t.column("reason", .text).notNull()
                t.column("startedAt", .double).notNull().indexed()
                t.column("finishedAt", .double)
                t.column("lastStep", .text).notNull()
                t.column("outcome", .text)  // NULL while unfinished
                t.column("error", .text)
                for figure in JournalColumns.figures {
                    t.column(figure.name, figure.type)
                }
            }
            try db.create(table: "step") { t in
                t.column("migrationID", .text).notNull().references("migration", onDelete: .cascade)
                t.column("seq", .integer).notNull()
                t.column("step", .text).notNull()
                t.column("detail", .text).notNull()
                t.column("at", .double).notNull()
                t.primaryKey(["migrationID", "seq"])
            }
            // One row per VM being migrated: the primary key is the lock.
            try db.create(table: "vmLock") { t in
                t.primaryKey("vm", .text)
                t.column("migrationID", .text).notNull().references("migration", onDelete: .cascade)
                t.column("pid", .integer).notNull()
                t.column("hostname", .text).notNull()
                t.column("ownerStartedAt", .double).notNull()
                t.column("bootID", .text)
                t.column("startTicks", .integer)
                t.column("takenAt", .double).notNull()
            }
            try db.create(table: "maintenance") { t in
                t.primaryKey("host", .text)
                t.column("since", .double).notNull()
                t.column("reason", .text)
            }
        }
        return migrator
    }()
}

/// Column names shared by the schema and the row mapping.
enum JournalColumns {
    static let figures: [(name: String, type: Database.ColumnType)] = [
        ("setupMs", .double), ("downtimeMsQEMU", .double), ("downtimeMsGuest", .double), ("totalMs", .double),
        ("bytes", .integer), ("iterations", .integer), ("dirtyRatePagesPerSecond", .double), ("verifyMs", .double),
    ]
}

-- A clinic database at schema v8, made on 2026-12-04 with movekit at commit ffc749f (the last
-- v8 code) through its own CLI and Store: client C-8, a baseline and a treatment session, an NPRS and a
-- lumbar-flexion result, two goals (movekit goal add), six pain marks with the v8 region names (neck,
-- lower_back, buttock, shoulder; movekit pain-map add) and six treatment entries (cervical, lumbar,
-- hip_gluteal, foot, thoracic and a movement entry; movekit treatment log). Dumped with
-- sqlite3.Connection.iterdump(); tests/test_store_v9.py restores it and opens it with today's code.
PRAGMA user_version = 8;
BEGIN TRANSACTION;
CREATE TABLE assessments (
        id           INTEGER PRIMARY KEY,
        session_id   INTEGER NOT NULL REFERENCES sessions(id),
        test         TEXT NOT NULL,
        result_json  TEXT NOT NULL,
        created_utc  TEXT NOT NULL
    );
INSERT INTO "assessments" VALUES(1,1,'lumbar-flexion','{"test": "lumbar-flexion", "metrics": {"lumbar_flexion_deg": {"value": 31.5, "unit": "deg"}}}','2026-12-04T20:46:41Z');
CREATE TABLE clients (
        id            INTEGER PRIMARY KEY,
        code          TEXT NOT NULL UNIQUE,          
        name          TEXT,                          
        created_utc   TEXT NOT NULL
    , reassess_min_sessions INTEGER NOT NULL DEFAULT 4, reassess_max_sessions INTEGER NOT NULL DEFAULT 6);
INSERT INTO "clients" VALUES(1,'C-8',NULL,'2026-12-04T20:46:41Z',4,6);
CREATE TABLE device_channels (
        device_id    INTEGER NOT NULL REFERENCES paired_devices(id) ON DELETE CASCADE,
        channel      TEXT NOT NULL,                  
        muscle       TEXT NOT NULL,                  
        PRIMARY KEY (device_id, channel)
    );
CREATE TABLE goals (
        id            INTEGER PRIMARY KEY,
        client_id     INTEGER NOT NULL REFERENCES clients(id),
        measure       TEXT NOT NULL,                  
        baseline      REAL NOT NULL,
        target        REAL NOT NULL CHECK (target <> baseline),
        unit          TEXT NOT NULL DEFAULT '',
        set_date      TEXT NOT NULL,
        deadline      TEXT NOT NULL CHECK (deadline > set_date),
        context       TEXT NOT NULL DEFAULT '',       
        created_utc   TEXT NOT NULL
    );
INSERT INTO "goals" VALUES(1,1,'nprs',6.0,2.0,'points','2026-09-01','2026-11-15','during computer work','2026-12-04T20:46:41Z');
INSERT INTO "goals" VALUES(2,1,'lumbar-flexion:lumbar_flexion_deg',31.5,50.0,'deg','2026-09-01','2026-11-01','','2026-12-04T20:46:41Z');
CREATE TABLE metrics (
        id             INTEGER PRIMARY KEY,
        assessment_id  INTEGER NOT NULL REFERENCES assessments(id),
        session_id     INTEGER NOT NULL REFERENCES sessions(id),
        test           TEXT NOT NULL,
        name           TEXT NOT NULL,
        value          REAL,
        unit           TEXT NOT NULL DEFAULT ''
    );
INSERT INTO "metrics" VALUES(1,1,1,'lumbar-flexion','lumbar_flexion_deg',31.5,'deg');
CREATE TABLE mvc_recordings (
        id              INTEGER PRIMARY KEY,
        client_id       INTEGER NOT NULL REFERENCES clients(id),
        recorded_utc    TEXT NOT NULL,
        duration_s      REAL CHECK (duration_s IS NULL OR duration_s > 0),
        recording_path  TEXT,                        
        source          TEXT NOT NULL DEFAULT 'studio'
    );
CREATE TABLE mvc_values (
        mvc_id       INTEGER NOT NULL REFERENCES mvc_recordings(id) ON DELETE CASCADE,
        muscle       TEXT NOT NULL,
        channel      TEXT,                           
        mvc_uv       REAL NOT NULL CHECK (mvc_uv > 0),
        PRIMARY KEY (mvc_id, muscle)
    );
CREATE TABLE outcomes (
        id            INTEGER PRIMARY KEY,
        client_id     INTEGER NOT NULL REFERENCES clients(id),
        session_id    INTEGER REFERENCES sessions(id),
        measure       TEXT NOT NULL,
        taken_date    TEXT NOT NULL,
        score         REAL NOT NULL,
        n_answered    INTEGER,
        items_json    TEXT,
        created_utc   TEXT NOT NULL
    , item_labels_json TEXT);
INSERT INTO "outcomes" VALUES(1,1,NULL,'nprs','2026-09-01',6.0,NULL,NULL,'2026-12-04T20:46:41Z',NULL);
CREATE TABLE pain_marks (
        id              INTEGER PRIMARY KEY,
        session_id      INTEGER NOT NULL REFERENCES sessions(id),
        region          TEXT NOT NULL,
        side            TEXT NOT NULL,
        intensity_0_10  REAL NOT NULL CHECK (intensity_0_10 BETWEEN 0 AND 10),
        quality         TEXT,
        created_utc     TEXT NOT NULL
    );
INSERT INTO "pain_marks" VALUES(1,1,'neck','midline',6.0,'aching','2026-12-04T20:46:41Z');
INSERT INTO "pain_marks" VALUES(2,1,'lower_back','midline',5.0,'stiff','2026-12-04T20:46:41Z');
INSERT INTO "pain_marks" VALUES(3,1,'buttock','left',3.0,'referred','2026-12-04T20:46:41Z');
INSERT INTO "pain_marks" VALUES(4,1,'shoulder','right',4.0,NULL,'2026-12-04T20:46:41Z');
INSERT INTO "pain_marks" VALUES(5,2,'neck','midline',4.0,'aching','2026-12-04T20:46:41Z');
INSERT INTO "pain_marks" VALUES(6,2,'lower_back','midline',3.0,NULL,'2026-12-04T20:46:41Z');
CREATE TABLE paired_devices (
        id           INTEGER PRIMARY KEY,
        client_id    INTEGER NOT NULL REFERENCES clients(id),
        address      TEXT NOT NULL,                  
        profile      TEXT NOT NULL,                  
        label        TEXT NOT NULL,                  
        name         TEXT NOT NULL DEFAULT '',       
        paired_utc   TEXT NOT NULL,
        UNIQUE (client_id, label),
        UNIQUE (client_id, address)
    );
CREATE TABLE program_items (
        id             INTEGER PRIMARY KEY,
        client_id      INTEGER NOT NULL REFERENCES clients(id),
        name           TEXT NOT NULL,
        kind           TEXT NOT NULL CHECK (kind IN ('drill','exercise')),
        drill_id       TEXT,                          
        sets           INTEGER,
        reps           INTEGER,
        hold_s         REAL,
        per_week       INTEGER NOT NULL DEFAULT 7,    
        notes          TEXT NOT NULL DEFAULT '',
        assigned_date  TEXT NOT NULL,
        ended_date     TEXT
    );
CREATE TABLE program_logs (
        id               INTEGER PRIMARY KEY,
        item_id          INTEGER NOT NULL REFERENCES program_items(id),
        log_date         TEXT NOT NULL,
        done             INTEGER NOT NULL CHECK (done IN (0, 1)),
        sets             INTEGER,
        reps             INTEGER,
        pain_0_10        REAL CHECK (pain_0_10 IS NULL OR (pain_0_10 BETWEEN 0 AND 10)),
        difficulty_0_10  REAL CHECK (difficulty_0_10 IS NULL OR (difficulty_0_10 BETWEEN 0 AND 10)),
        notes            TEXT NOT NULL DEFAULT '',
        source           TEXT NOT NULL DEFAULT 'manual' CHECK (source IN ('manual','guided')),
        created_utc      TEXT NOT NULL
    );
CREATE TABLE recordings (
        id           INTEGER PRIMARY KEY,
        session_id   INTEGER NOT NULL REFERENCES sessions(id),
        path         TEXT NOT NULL,                  
        meta_sha256  TEXT,                           
        linked_utc   TEXT NOT NULL,
        UNIQUE (session_id, path)
    );
CREATE TABLE sessions (
        id              INTEGER PRIMARY KEY,
        client_id       INTEGER NOT NULL REFERENCES clients(id),
        session_date    TEXT NOT NULL,                
        type            TEXT NOT NULL CHECK (type IN ('baseline','treatment','reassessment','other')),
        started_utc     TEXT NOT NULL,
        ended_utc       TEXT,
        therapist_notes TEXT NOT NULL DEFAULT ''
    );
INSERT INTO "sessions" VALUES(1,1,'2026-09-01','baseline','2026-12-04T20:46:41Z',NULL,'');
INSERT INTO "sessions" VALUES(2,1,'2026-09-15','treatment','2026-12-04T20:46:41Z',NULL,'');
CREATE TABLE treatments (
        id             INTEGER PRIMARY KEY,
        session_id     INTEGER NOT NULL REFERENCES sessions(id),
        part           TEXT NOT NULL CHECK (part IN ('manual','movement')),
        technique      TEXT NOT NULL,                  
        region         TEXT,
        muscle         TEXT,
        side           TEXT,
        duration_min   REAL CHECK (duration_min IS NULL OR duration_min > 0),
        pressure_0_10  REAL CHECK (pressure_0_10 IS NULL OR (pressure_0_10 BETWEEN 0 AND 10)),
        sets           INTEGER CHECK (sets IS NULL OR sets >= 0),
        reps           INTEGER CHECK (reps IS NULL OR reps >= 0),
        feedback       TEXT,
        response       TEXT NOT NULL DEFAULT '',
        created_utc    TEXT NOT NULL
    );
INSERT INTO "treatments" VALUES(1,1,'manual','myofascial-release','cervical','upper_trapezius','both',8.0,5.0,NULL,NULL,NULL,'less tight turning the head','2026-12-04T20:46:41Z');
INSERT INTO "treatments" VALUES(2,1,'manual','trigger-point-compression','lumbar','quadratus_lumborum','left',6.0,6.0,NULL,NULL,NULL,'','2026-12-04T20:46:41Z');
INSERT INTO "treatments" VALUES(3,2,'manual','deep-tissue','hip_gluteal','piriformis','left',5.0,NULL,NULL,NULL,NULL,'','2026-12-04T20:46:41Z');
INSERT INTO "treatments" VALUES(4,2,'manual','transverse-friction','foot','plantar_fascia','right',3.0,NULL,NULL,NULL,NULL,'','2026-12-04T20:46:41Z');
INSERT INTO "treatments" VALUES(5,2,'manual','stretching','thoracic',NULL,'midline',4.0,NULL,NULL,NULL,NULL,'','2026-12-04T20:46:41Z');
INSERT INTO "treatments" VALUES(6,2,'movement','glute bridge',NULL,NULL,NULL,NULL,NULL,3,10,'emg','','2026-12-04T20:46:41Z');
CREATE INDEX sessions_client ON sessions(client_id, session_date);
CREATE INDEX metrics_lookup ON metrics(session_id, test, name);
CREATE INDEX outcomes_client ON outcomes(client_id, measure, taken_date);
CREATE INDEX program_items_client ON program_items(client_id);
CREATE INDEX program_logs_item ON program_logs(item_id, log_date);
CREATE INDEX goals_client ON goals(client_id);
CREATE INDEX treatments_session ON treatments(session_id);
CREATE INDEX pain_marks_session ON pain_marks(session_id);
CREATE INDEX mvc_recordings_client ON mvc_recordings(client_id, recorded_utc);
COMMIT;

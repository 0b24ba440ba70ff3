/* receipts.c - every gate run kept in SQLite: one row per run, one per model x stage; recent runs and flapping models read back. */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <unistd.h>

#include "core/alloc.h"
#include "core/file.h"
#include "core/json.h"
#include "gate/gate_int.h"
#include "mlgate/serve.h"

static const char schema[] =
    "PRAGMA journal_mode=WAL;"
    "CREATE TABLE IF NOT EXISTS runs(id INTEGER PRIMARY KEY, started TEXT NOT NULL, matrix TEXT, host TEXT,"
    " gpus TEXT, driver TEXT, seconds REAL, models INTEGER, passed INTEGER);"
    "CREATE TABLE IF NOT EXISTS results(run INTEGER NOT NULL REFERENCES runs(id), model TEXT NOT NULL, kind TEXT,"
    " capability TEXT, stage TEXT NOT NULL, ok INTEGER NOT NULL, seconds REAL, reason TEXT, ttfb REAL,"
    " tokens INTEGER, output TEXT);"
    "CREATE INDEX IF NOT EXISTS results_model ON results(model, run);"
    "CREATE INDEX IF NOT EXISTS results_run ON results(run);";   /* serve's /v1/runs: a run's results */

/* write: create the database and its tables if needed; else open an existing one read-only */
static int open_db(const char *path, int write, sqlite3 **db, char *err, size_t errlen)
{
    /* never through a symlink planted at the path */
    int flags = (write ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE : SQLITE_OPEN_READONLY) | SQLITE_OPEN_FULLMUTEX |
                SQLITE_OPEN_NOFOLLOW;
    if (sqlite3_open_v2(path, db, flags, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "%s: %s (%s)", path, *db ? sqlite3_errmsg(*db) : "cannot open",
                 write ? "does its directory exist and can this user write there?" : "no receipts: has check run?");
        sqlite3_close(*db);
        *db = NULL;
        return MG_E_IO;
    }
    sqlite3_busy_timeout(*db, 5000);
    char *msg = NULL;
    if (write && sqlite3_exec(*db, schema, NULL, NULL, &msg) != SQLITE_OK) {
        snprintf(err, errlen, "%s: %s", path, msg ? msg : "schema");
        sqlite3_free(msg);
        sqlite3_close(*db);
        *db = NULL;
        return MG_E_IO;
    }
    return MG_OK;
}

static int store(const mg_run *run, const char *path, char *err, size_t errlen)
{
    const mg_matrix *m = run->m;
    const mg_check_result *r = run->r;
    double seconds = run->seconds;
    char host[256] = "", gpus[512], driver[32] = "";
    gethostname(host, sizeof host - 1);
    mg_targets_names(run->targets, gpus, sizeof gpus);
    for (size_t t = 0; t < run->targets->n && !driver[0]; t++)
        if (mg_driver_known(run->targets->t[t].driver))
            mg_driver_str(run->targets->t[t].driver, driver, sizeof driver);
    sqlite3 *db;
    int rc = open_db(path, 1, &db, err, errlen);
    if (rc)
        return rc;
    const char *when = run->finished;   /* the time every publication of the run says */
    size_t passed = run->passed;
    sqlite3_stmt *ins = NULL, *res = NULL;
    int ok = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK &&
             sqlite3_prepare_v2(db, "INSERT INTO runs(started, matrix, host, gpus, driver, seconds, models, passed)"
                                    " VALUES(?,?,?,?,?,?,?,?)", -1, &ins, NULL) == SQLITE_OK &&
             sqlite3_prepare_v2(db, "INSERT INTO results(run, model, kind, capability, stage, ok, seconds, reason,"
                                    " ttfb, tokens, output) VALUES(?,?,?,?,?,?,?,?,?,?,?)", -1, &res, NULL) == SQLITE_OK;
    if (ok) {
        sqlite3_bind_text(ins, 1, when, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(ins, 2, m->host.path, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(ins, 3, host, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(ins, 4, gpus, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(ins, 5, driver, -1, SQLITE_TRANSIENT);
        sqlite3_bind_double(ins, 6, seconds);
        sqlite3_bind_int64(ins, 7, (sqlite3_int64)m->nmodels);
        sqlite3_bind_int64(ins, 8, (sqlite3_int64)passed);
        ok = sqlite3_step(ins) == SQLITE_DONE;
    }
    sqlite3_int64 id = sqlite3_last_insert_rowid(db);
    for (size_t i = 0; ok && i < m->nmodels; i++)
        for (int s = 0; ok && s < MG_NSTAGES; s++) {
            const mg_stage_result *st = &r[i].stage[s];
            if (!st->ran)
                continue;
            sqlite3_reset(res);
            sqlite3_bind_int64(res, 1, id);
            sqlite3_bind_text(res, 2, m->models[i].name, -1, SQLITE_TRANSIENT);
            sqlite3_bind_text(res, 3, mg_model_kind_name(m->models[i].kind), -1, SQLITE_TRANSIENT);
            sqlite3_bind_text(res, 4, m->models[i].capability, -1, SQLITE_TRANSIENT);
            sqlite3_bind_text(res, 5, mg_stage_name(s), -1, SQLITE_TRANSIENT);
            sqlite3_bind_int(res, 6, st->ok);
            sqlite3_bind_double(res, 7, st->seconds);
            if (st->reason[0])
                sqlite3_bind_text(res, 8, st->reason, -1, SQLITE_TRANSIENT);
            else
                sqlite3_bind_null(res, 8);
            int inf = s == MG_STAGE_INFERENCE;
            sqlite3_bind_double(res, 9, inf ? r[i].ttfb : 0);
            sqlite3_bind_int64(res, 10, inf ? (sqlite3_int64)r[i].tokens : 0);
            sqlite3_bind_text(res, 11, inf ? r[i].output : "", -1, SQLITE_TRANSIENT);
            ok = sqlite3_step(res) == SQLITE_DONE;
        }
    sqlite3_finalize(ins);
    sqlite3_finalize(res);
    if (ok)   /* the commit writes to disk: a full disk fails here, and the run is not stored */
        ok = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK;
    if (!ok) {
        snprintf(err, errlen, "%s: %s; the database is as before this run", path, sqlite3_errmsg(db));
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    }
    sqlite3_close(db);
    return ok ? MG_OK : MG_E_IO;
}

/* Before the run: the database can be created or opened for writing there. */
static int check(const char *path, int flags, char *err, size_t errlen)
{
    int rc = mg_check_writable(path, flags, err, errlen);
    if (rc)
        return rc;
    sqlite3 *db;
    if ((rc = open_db(path, 1, &db, err, errlen)))
        return rc;
    if (sqlite3_db_readonly(db, "main") == 1) {   /* SQLite opens a write-protected file read-only, quietly */
        snprintf(err, errlen, "%s: the database is read-only here", path);
        rc = MG_E_IO;
    }
    sqlite3_close(db);
    return rc;
}

const mg_publisher mg_publish_receipts = {"receipts", check, store};

/* ---- reading back: mlgate history ---- */

struct mg_history {
    mg_history_row *rows;
    size_t n, cap;
    int nruns;              /* the runs asked for */
    mg_arena *arena;
};

/* A copy of a column's text in the history's arena; NULL stays NULL, out of memory is noted. */
static const char *keep(mg_history *h, const unsigned char *text, int *rc)
{
    const char *t = text ? mg_arena_strdup(h->arena, (const char *)text) : NULL;
    if (text && !t)
        *rc = MG_E_NOMEM;
    return t;
}

int mg_history_read(const char *path, int nruns, mg_history **out, char *err, size_t errlen)
{
    *out = NULL;
    mg_history *h = mg_calloc(1, sizeof *h);
    if (!h || !(h->arena = mg_arena_new())) {
        free(h);
        return MG_E_NOMEM;
    }
    sqlite3 *db;
    int rc = open_db(path, 0, &db, err, errlen);   /* reading never creates a database on a mistyped path */
    if (rc) {
        mg_history_free(h);
        return rc;
    }
    /* per model over the last nruns runs: runs seen, passes, and how often the verdict flipped */
    static const char q[] =
        "WITH recent AS (SELECT id FROM runs ORDER BY id DESC LIMIT ?),"
        " per AS (SELECT run, model, MIN(ok) AS ok, MAX(CASE WHEN ok = 0 THEN reason END) AS reason FROM results"
        "   WHERE run IN (SELECT id FROM recent) GROUP BY run, model),"
        " seq AS (SELECT model, run, ok, reason, LAG(ok) OVER (PARTITION BY model ORDER BY run) AS prev FROM per)"
        " SELECT model, COUNT(*), SUM(ok), SUM(CASE WHEN prev IS NOT NULL AND prev != ok THEN 1 ELSE 0 END),"
        "   (SELECT ok FROM seq s2 WHERE s2.model = seq.model ORDER BY run DESC LIMIT 1),"
        "   (SELECT reason FROM seq s3 WHERE s3.model = seq.model AND s3.ok = 0 ORDER BY run DESC LIMIT 1),"
        "   (SELECT started FROM runs WHERE id = (SELECT MAX(run) FROM seq s4 WHERE s4.model = seq.model))"
        " FROM seq GROUP BY model ORDER BY model";
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, q, -1, &st, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "%s: %s", path, sqlite3_errmsg(db));
        sqlite3_close(db);
        mg_history_free(h);
        return MG_E_IO;
    }
    sqlite3_bind_int(st, 1, nruns);
    while (rc == MG_OK && sqlite3_step(st) == SQLITE_ROW) {
        if (h->n == h->cap) {
            size_t cap = h->cap ? h->cap * 2 : 16;
            mg_history_row *v = mg_realloc(h->rows, cap * sizeof *v);
            if (!v) {
                rc = MG_E_NOMEM;
                break;
            }
            h->rows = v;
            h->cap = cap;
        }
        mg_history_row *x = &h->rows[h->n++];
        x->model = keep(h, sqlite3_column_text(st, 0), &rc);
        x->runs = sqlite3_column_int(st, 1);
        x->passed = sqlite3_column_int(st, 2);
        x->flips = sqlite3_column_int(st, 3);
        x->last_ok = sqlite3_column_int(st, 4);
        x->flapping = x->flips >= 2;
        x->last_reason = keep(h, sqlite3_column_text(st, 5), &rc);
        x->last_run = keep(h, sqlite3_column_text(st, 6), &rc);
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    if (rc) {
        mg_history_free(h);
        return rc;
    }
    h->nruns = nruns;
    *out = h;
    return MG_OK;
}

void mg_history_free(mg_history *h)
{
    if (!h)
        return;
    free(h->rows);
    mg_arena_free(h->arena);
    free(h);
}

size_t mg_history_count(const mg_history *h) { return h->n; }
const mg_history_row *mg_history_row_at(const mg_history *h, size_t i) { return i < h->n ? &h->rows[i] : NULL; }
int mg_history_runs(const mg_history *h) { return h->nruns; }

int mg_history_exit_status(const mg_history *h)
{
    for (size_t i = 0; i < h->n; i++)
        if (h->rows[i].flapping || !h->rows[i].last_ok)
            return 1;
    return 0;
}

/* ---- reading back: serve's GET /v1/runs ---- */

static void col_str(jw *w, const char *k, sqlite3_stmt *st, int c)
{
    jw_kstr(w, k, sqlite3_column_type(st, c) == SQLITE_NULL ? NULL : (const char *)sqlite3_column_text(st, c));
}

#define RUNS_REASON_MAX 1024

/* The results of run `id`, stage by stage as stored. */
static int results_json(jw *w, sqlite3_stmt *res, sqlite3_int64 id)
{
    sqlite3_reset(res);
    sqlite3_bind_int64(res, 1, id);
    jw_key(w, "results");
    jw_begin_arr(w);
    int rc;
    while ((rc = sqlite3_step(res)) == SQLITE_ROW) {
        jw_begin_obj(w);
        col_str(w, "model", res, 0);
        col_str(w, "kind", res, 1);
        col_str(w, "capability", res, 2);
        col_str(w, "stage", res, 3);
        jw_kbool(w, "ok", sqlite3_column_int(res, 4));
        jw_knum(w, "seconds", sqlite3_column_double(res, 5));
        /* A listing of up to 100 runs: a reason cut to 1 KiB ("..."), whole in the database and /v1/check. */
        const char *reason = (const char *)sqlite3_column_text(res, 6);
        char cut[RUNS_REASON_MAX];
        jw_kstr(w, "reason", reason ? mg_text_clean(cut, sizeof cut, reason, strlen(reason), NULL) : NULL);
        jw_end_obj(w);
    }
    jw_end_arr(w);
    return rc == SQLITE_DONE ? 0 : -1;
}

int mg_runs_json(FILE *f, const char *path, int limit, char *err, size_t errlen)
{
    if (limit < 1 || limit > MG_RUNS_MAX) {
        snprintf(err, errlen, "limit must be 1 to %d", MG_RUNS_MAX);
        return MG_E_ARG;
    }
    sqlite3 *db;
    int rc = open_db(path, 0, &db, err, errlen);
    if (rc)
        return rc;
    sqlite3_stmt *runs = NULL, *res = NULL;
    int prepared =
        sqlite3_prepare_v2(db, "SELECT id, started, matrix, host, gpus, driver, seconds, models, passed FROM runs"
                               " ORDER BY id DESC LIMIT ?", -1, &runs, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, "SELECT model, kind, capability, stage, ok, seconds, reason FROM results"
                               " WHERE run = ? ORDER BY rowid", -1, &res, NULL) == SQLITE_OK;
    int ok = prepared;
    /* rendered into memory first: a database that fails half-way gives an error, not half a document */
    char *text = NULL;
    size_t len = 0;
    FILE *mem = ok ? open_memstream(&text, &len) : NULL;
    if (mem) {
        sqlite3_bind_int(runs, 1, limit);
        jw w = jw_on(mem);
        jw_report(&w, "runs");
        jw_kstr(&w, "receipts", path);
        jw_key(&w, "runs");
        jw_begin_arr(&w);
        int step;
        while (ok && (step = sqlite3_step(runs)) == SQLITE_ROW) {
            jw_begin_obj(&w);
            jw_kint(&w, "id", sqlite3_column_int64(runs, 0));
            col_str(&w, "started", runs, 1);
            col_str(&w, "matrix", runs, 2);
            col_str(&w, "host", runs, 3);
            col_str(&w, "gpus", runs, 4);
            col_str(&w, "driver", runs, 5);
            jw_knum(&w, "seconds", sqlite3_column_double(runs, 6));
            jw_kint(&w, "models", sqlite3_column_int64(runs, 7));
            jw_kint(&w, "passed", sqlite3_column_int64(runs, 8));
            ok = results_json(&w, res, sqlite3_column_int64(runs, 0)) == 0;
            jw_end_obj(&w);
        }
        ok = ok && step == SQLITE_DONE;
        jw_end_arr(&w);
        jw_end_obj(&w);
        fputc('\n', mem);
        ok = fclose(mem) == 0 && ok;
    }
    if (!ok)
        snprintf(err, errlen, "%s: %s", path, !prepared || mem ? sqlite3_errmsg(db) : "out of memory");
    else
        fwrite(text, 1, len, f);
    free(text);
    sqlite3_finalize(runs);
    sqlite3_finalize(res);
    sqlite3_close(db);
    return ok ? MG_OK : MG_E_IO;
}

/* The benchmark dataset of bench/suite.sh: the same rows, from a seed, for SQLite, MariaDB and
 * PostgreSQL. Compiled by bench/lib.sh (cc -O2 ... -lsqlite3); not part of the CMake build.
 *
 *   gen_dataset tsv TABLE ROWS SEED FILE     one table as tab-separated text in the format that
 *                                            PostgreSQL's COPY (text) and MariaDB's LOAD DATA
 *                                            both read: \N for NULL, bytea as \\x<hex>
 *   gen_dataset sqlite ROWS SEED FILE        every table into a new SQLite database
 *   gen_dataset counts ROWS                  "table rows" for each table
 *   gen_dataset row TABLE ID SEED            one row, tab-separated (for spot checks)
 *
 * ROWS is the total over the four tables; each row is a function of (SEED, table, id) alone,
 * so the files can be written in parallel and any row can be recomputed. Sizes per row are
 * chosen so that ROWS=10,000,000 makes about 2 GB of data:
 *
 *   narrow     60%  id, a int, b int, c bigint                                  ~  24 B/row
 *   wide_text  15%  id, title varchar(200), body text, tags varchar(255), note   ~ 760 B/row
 *   decimals   20%  id, amount numeric(15,4), price numeric(12,2), ratio double,
 *                   created_at timestamp(6), day date, settled_at timestamp(6)   ~  70 B/row
 *   blobs       5%  id, name varchar(64), data blob (0..2031 random bytes)       ~1030 B/row
 *
 * Decimals have at most 15 significant digits, so that SQLite's NUMERIC affinity (which stores
 * them as REAL) keeps them exact. Texts are words, with some UTF-8 beyond ASCII, and no tab,
 * newline or backslash. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

enum { NARROW, WIDE, DECIMALS, BLOBS, NTABLES };
static const char* kTables[NTABLES] = {"narrow", "wide_text", "decimals", "blobs"};
static const int kShare[NTABLES] = {60, 15, 20, 5}; /* percent of ROWS */

static const char* kWords[] = {
    "alpha",   "bravo",  "charlie", "delta",    "echo",     "foxtrot", "golf",    "hotel",
    "india",   "juliet", "kilo",    "lima",     "mike",     "november", "oscar",  "papa",
    "quebec",  "romeo",  "sierra",  "tango",    "uniform",  "victor",  "whiskey", "xray",
    "yankee",  "zulu",   "ledger",  "invoice",  "customer", "account", "balance", "transfer",
    "migrate", "verify", "replica", "snapshot", "cutover",  "cloud",   "server",  "storage",
    "café",    "naïve",  "Zoë",     "Ångström", "Łódź",     "東京",    "данные",  "γράμμα",
    "O'Brien", "\"quoted\"", "a,b",  "x;y",     "50%",      "under_score", "dash-ed", "#tag",
    "the",     "of",     "and",     "to",       "in",       "is",      "for",     "🙂"};
#define NWORDS (sizeof kWords / sizeof kWords[0])

static int64_t table_rows(int64_t rows, int t) {
  int64_t n = rows * kShare[t] / 100;
  return n < 1 ? 1 : n;
}

static uint64_t mix(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}
typedef struct { uint64_t s; } Rng;
static uint64_t next(Rng* r) { return mix(r->s += 0x9e3779b97f4a7c15ULL); }
static Rng row_rng(uint64_t seed, int table, int64_t id) {
  Rng r = {mix(seed * 0x2545f4914f6cdd1dULL ^ ((uint64_t)(table + 1) << 56) ^ (uint64_t)id)};
  return r;
}

/* Growable output buffer. */
typedef struct { char* p; size_t n, cap; } Buf;
static void need(Buf* b, size_t more) {
  if (b->n + more <= b->cap) return;
  while (b->n + more > b->cap) b->cap = b->cap ? b->cap * 2 : 1 << 16;
  b->p = realloc(b->p, b->cap);
  if (!b->p) { perror("realloc"); exit(3); }
}
static void put(Buf* b, const char* s, size_t n) { need(b, n); memcpy(b->p + b->n, s, n); b->n += n; }
static void puts_(Buf* b, const char* s) { put(b, s, strlen(s)); }
static void putf(Buf* b, const char* fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(Buf* b, const char* fmt, ...) {
  va_list ap;
  need(b, 128);
  va_start(ap, fmt);
  int n = vsnprintf(b->p + b->n, b->cap - b->n, fmt, ap);
  va_end(ap);
  if ((size_t)n >= b->cap - b->n) {
    need(b, (size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(b->p + b->n, b->cap - b->n, fmt, ap);
    va_end(ap);
  }
  b->n += (size_t)n;
}

/* Words separated by `sep`, at least `min` bytes, never more than `max` bytes. */
static void words(Buf* b, Rng* r, size_t min, size_t max, const char* sep) {
  size_t start = b->n, seplen = strlen(sep);
  for (;;) {
    const char* w = kWords[next(r) % NWORDS];
    size_t wl = strlen(w), len = b->n - start;
    size_t add = (len ? seplen : 0) + wl;
    if (len + add > max) break;
    if (len) put(b, sep, seplen);
    put(b, w, wl);
    if (b->n - start >= min) break;
  }
}

static void timestamp(Buf* b, int64_t micros, int with_time) {
  time_t secs = (time_t)(micros / 1000000);
  struct tm tm;
  gmtime_r(&secs, &tm);
  if (with_time) {
    putf(b, "%04d-%02d-%02d %02d:%02d:%02d.%06d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
         tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(micros % 1000000));
  } else {
    putf(b, "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
  }
}

/* One row's values as strings (NULL: absent). Blob bytes are returned raw in `blob`. */
#define MAXCOLS 8
typedef struct {
  int ncols;
  const char* cols[MAXCOLS]; /* column names */
  Buf buf;
  size_t off[MAXCOLS], len[MAXCOLS];
  int isnull[MAXCOLS];
  unsigned char blob[2048];
  size_t bloblen;
  int blob_col; /* index of the blob column, -1 if none */
} Row;

static void col_begin(Row* row, int c) { row->off[c] = row->buf.n; row->isnull[c] = 0; }
/* Each value is followed by a NUL (not counted in its length), for strtoll and friends. */
static void col_end(Row* row, int c) { row->len[c] = row->buf.n - row->off[c]; put(&row->buf, "", 1); }
static void col_null(Row* row, int c) { row->off[c] = row->buf.n; row->len[c] = 0; row->isnull[c] = 1; }

static const int64_t kEpoch2000 = 946684800LL * 1000000; /* 2000-01-01 in microseconds */

static void make_row(Row* row, int t, int64_t id, uint64_t seed) {
  Rng r = row_rng(seed, t, id);
  row->buf.n = 0;
  row->blob_col = -1;
  int c = 0;
  col_begin(row, c); putf(&row->buf, "%" PRId64, id); col_end(row, c++);
  switch (t) {
    case NARROW: {
      row->ncols = 4;
      col_begin(row, c); putf(&row->buf, "%" PRId32, (int32_t)(uint32_t)next(&r)); col_end(row, c++);
      col_begin(row, c); putf(&row->buf, "%d", (int)(next(&r) % 1000)); col_end(row, c++);
      col_begin(row, c); putf(&row->buf, "%" PRId64, (int64_t)next(&r)); col_end(row, c++);
      break;
    }
    case WIDE: {
      row->ncols = 5;
      col_begin(row, c); words(&row->buf, &r, 20 + next(&r) % 100, 200, " "); col_end(row, c++);
      col_begin(row, c); words(&row->buf, &r, 250 + next(&r) % 600, 4000, " "); col_end(row, c++);
      if (next(&r) % 10 == 0) col_null(row, c++);
      else { col_begin(row, c); words(&row->buf, &r, 10 + next(&r) % 60, 255, ","); col_end(row, c++); }
      if (next(&r) % 10 < 3) col_null(row, c++);
      else { col_begin(row, c); words(&row->buf, &r, 50 + next(&r) % 200, 1000, " "); col_end(row, c++); }
      break;
    }
    case DECIMALS: {
      row->ncols = 7;
      static const int64_t pow10[] = {1, 10, 100, 1000, 10000, 100000, 1000000, 10000000,
                                      100000000, 1000000000, 10000000000LL};
      int64_t whole = (int64_t)(next(&r) % (uint64_t)pow10[1 + next(&r) % 10]);
      int frac = (int)(next(&r) % 10000);
      int neg = next(&r) % 4 == 0 && (whole || frac);
      col_begin(row, c); putf(&row->buf, "%s%" PRId64 ".%04d", neg ? "-" : "", whole, frac); col_end(row, c++);
      int64_t cents = (int64_t)(next(&r) % 1000000000000ULL);
      col_begin(row, c); putf(&row->buf, "%" PRId64 ".%02d", cents / 100, (int)(cents % 100)); col_end(row, c++);
      double ratio = (double)((int64_t)(next(&r) % 2000001) - 1000000) / 1024.0;
      col_begin(row, c); putf(&row->buf, "%.17g", ratio); col_end(row, c++);
      int64_t span = 25LL * 365 * 86400 * 1000000; /* 25 years */
      int64_t at = kEpoch2000 + (int64_t)(next(&r) % (uint64_t)span);
      col_begin(row, c); timestamp(&row->buf, at, 1); col_end(row, c++);
      col_begin(row, c); timestamp(&row->buf, (int64_t)(next(&r) % (100ULL * 365 * 86400)) * 1000000, 0); col_end(row, c++);
      if (next(&r) % 5 == 0) col_null(row, c++);
      else { col_begin(row, c); timestamp(&row->buf, at + (int64_t)(next(&r) % (30ULL * 86400 * 1000000)), 1); col_end(row, c++); }
      break;
    }
    case BLOBS: {
      row->ncols = 3;
      col_begin(row, c); putf(&row->buf, "file-%" PRId64 ".bin", id); col_end(row, c++);
      row->blob_col = c;
      if (next(&r) % 100 == 0) { col_null(row, c++); row->bloblen = 0; break; }
      row->bloblen = next(&r) % 2032;
      for (size_t i = 0; i < row->bloblen; i += 8) {
        uint64_t v = next(&r);
        size_t n = row->bloblen - i < 8 ? row->bloblen - i : 8;
        memcpy(row->blob + i, &v, n);
      }
      col_begin(row, c); col_end(row, c++);
      break;
    }
  }
}

static const char* kSqliteSchema =
    "CREATE TABLE narrow (id INTEGER PRIMARY KEY, a INTEGER NOT NULL, b INTEGER NOT NULL,"
    " c BIGINT NOT NULL);"
    "CREATE TABLE wide_text (id INTEGER PRIMARY KEY, title VARCHAR(200) NOT NULL,"
    " body TEXT NOT NULL, tags VARCHAR(255), note TEXT);"
    "CREATE TABLE decimals (id INTEGER PRIMARY KEY, amount NUMERIC(15,4) NOT NULL,"
    " price NUMERIC(12,2) NOT NULL, ratio DOUBLE NOT NULL, created_at DATETIME NOT NULL,"
    " day DATE NOT NULL, settled_at DATETIME);"
    "CREATE TABLE blobs (id INTEGER PRIMARY KEY, name VARCHAR(64) NOT NULL, data BLOB);";

static int table_index(const char* name) {
  for (int t = 0; t < NTABLES; ++t)
    if (strcmp(name, kTables[t]) == 0) return t;
  fprintf(stderr, "unknown table %s\n", name);
  exit(2);
}

static void write_tsv(Buf* out, Row* row) {
  for (int c = 0; c < row->ncols; ++c) {
    if (c) put(out, "\t", 1);
    if (row->isnull[c]) { put(out, "\\N", 2); continue; }
    if (c == row->blob_col) {
      static const char hex[] = "0123456789abcdef";
      need(out, 3 + 2 * row->bloblen);
      put(out, "\\\\x", 3);
      for (size_t i = 0; i < row->bloblen; ++i) {
        out->p[out->n++] = hex[row->blob[i] >> 4];
        out->p[out->n++] = hex[row->blob[i] & 15];
      }
      continue;
    }
    put(out, row->buf.p + row->off[c], row->len[c]);
  }
  put(out, "\n", 1);
}

static void die_sqlite(sqlite3* db, const char* what) {
  fprintf(stderr, "sqlite %s: %s\n", what, sqlite3_errmsg(db));
  exit(3);
}

int main(int argc, char** argv) {
  if (argc >= 3 && strcmp(argv[1], "counts") == 0) {
    int64_t rows = strtoll(argv[2], NULL, 10);
    for (int t = 0; t < NTABLES; ++t) printf("%s %" PRId64 "\n", kTables[t], table_rows(rows, t));
    return 0;
  }
  Row row = {0};
  if (argc == 5 && strcmp(argv[1], "row") == 0) {
    int t = table_index(argv[2]);
    Buf out = {0};
    make_row(&row, t, strtoll(argv[3], NULL, 10), strtoull(argv[4], NULL, 10));
    write_tsv(&out, &row);
    fwrite(out.p, 1, out.n, stdout);
    return 0;
  }
  if (argc == 6 && strcmp(argv[1], "tsv") == 0) {
    int t = table_index(argv[2]);
    int64_t n = table_rows(strtoll(argv[3], NULL, 10), t);
    uint64_t seed = strtoull(argv[4], NULL, 10);
    FILE* f = fopen(argv[5], "wb");
    if (!f) { perror(argv[5]); return 3; }
    Buf out = {0};
    for (int64_t id = 1; id <= n; ++id) {
      make_row(&row, t, id, seed);
      write_tsv(&out, &row);
      if (out.n > (1 << 20)) { fwrite(out.p, 1, out.n, f); out.n = 0; }
    }
    fwrite(out.p, 1, out.n, f);
    if (fclose(f) != 0) { perror(argv[5]); return 3; }
    return 0;
  }
  if (argc == 5 && strcmp(argv[1], "sqlite") == 0) {
    int64_t rows = strtoll(argv[2], NULL, 10);
    uint64_t seed = strtoull(argv[3], NULL, 10);
    remove(argv[4]);
    sqlite3* db;
    if (sqlite3_open(argv[4], &db) != SQLITE_OK) die_sqlite(db, "open");
    if (sqlite3_exec(db, "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA cache_size=-262144;",
                     NULL, NULL, NULL) != SQLITE_OK) die_sqlite(db, "pragma");
    if (sqlite3_exec(db, kSqliteSchema, NULL, NULL, NULL) != SQLITE_OK) die_sqlite(db, "schema");
    if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) die_sqlite(db, "begin");
    for (int t = 0; t < NTABLES; ++t) {
      char sql[256];
      int ncols = t == NARROW ? 4 : t == WIDE ? 5 : t == DECIMALS ? 7 : 3;
      snprintf(sql, sizeof sql, "INSERT INTO %s VALUES (?%s)", kTables[t],
               ncols == 3 ? ",?,?" : ncols == 4 ? ",?,?,?" : ncols == 5 ? ",?,?,?,?" : ",?,?,?,?,?,?");
      sqlite3_stmt* st;
      if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) die_sqlite(db, "prepare");
      int64_t n = table_rows(rows, t);
      for (int64_t id = 1; id <= n; ++id) {
        make_row(&row, t, id, seed);
        for (int c = 0; c < row.ncols; ++c) {
          if (row.isnull[c]) sqlite3_bind_null(st, c + 1);
          else if (c == row.blob_col) sqlite3_bind_blob(st, c + 1, row.blob, (int)row.bloblen, SQLITE_STATIC);
          else if (c == 0 || t == NARROW) sqlite3_bind_int64(st, c + 1, strtoll(row.buf.p + row.off[c], NULL, 10));
          /* decimals bound as text, as an application would: NUMERIC affinity converts them */
          else sqlite3_bind_text(st, c + 1, row.buf.p + row.off[c], (int)row.len[c], SQLITE_STATIC);
        }
        if (sqlite3_step(st) != SQLITE_DONE) die_sqlite(db, "insert");
        sqlite3_reset(st);
      }
      sqlite3_finalize(st);
    }
    if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) die_sqlite(db, "commit");
    sqlite3_close(db);
    return 0;
  }
  fprintf(stderr, "usage: gen_dataset tsv TABLE ROWS SEED FILE | sqlite ROWS SEED FILE | counts ROWS"
                  " | row TABLE ID SEED\n");
  return 2;
}

/* catalog.c: the SQLite catalog. Opening creates the file, sets WAL and foreign keys, and runs
 * the forward migrations one transaction each (PRAGMA user_version holds the schema version).
 * Statements are prepared once and cached per connection; nothing is built from strings. */
#define G_LOG_DOMAIN "quorum-catalog"

#include "qr-catalog.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>
#include <glib/gstdio.h>

G_DEFINE_QUARK (quorum-catalog-error-quark, qr_catalog_error)

struct _QrCatalog
{
  GObject     parent_instance;

  sqlite3    *db;
  GHashTable *statements;  /* SQL text (static strings) → sqlite3_stmt* */
  char       *root;
  char       *db_path;
  int         schema_version;
};

G_DEFINE_FINAL_TYPE (QrCatalog, qr_catalog, G_TYPE_OBJECT)

/* Migration N brings a catalog from user_version N-1 to N. Never edit a released one: add more. */
static const char *const migrations[] = {
  /* 1: the first schema. */
  "CREATE TABLE collection ("
  "  key TEXT PRIMARY KEY,"
  "  value TEXT NOT NULL);"
  "CREATE TABLE images ("
  "  id INTEGER PRIMARY KEY,"
  "  path TEXT NOT NULL UNIQUE,"
  "  size INTEGER NOT NULL,"
  "  mtime_us INTEGER NOT NULL,"
  "  width INTEGER NOT NULL DEFAULT 0,"
  "  height INTEGER NOT NULL DEFAULT 0,"
  "  orientation INTEGER NOT NULL DEFAULT 1 CHECK (orientation BETWEEN 1 AND 8),"
  "  format TEXT,"
  "  hash TEXT,"
  "  state TEXT NOT NULL DEFAULT 'ok' CHECK (state IN ('ok', 'unreadable', 'missing')),"
  "  reason TEXT,"
  "  added_us INTEGER NOT NULL,"
  "  updated_us INTEGER NOT NULL);"
  "CREATE INDEX images_hash ON images (hash);"
  "CREATE INDEX images_state ON images (state, path);"
  "CREATE TABLE classes ("
  "  id INTEGER PRIMARY KEY,"
  "  name TEXT NOT NULL UNIQUE CHECK (length (name) > 0));"
  "CREATE TABLE models ("
  "  id INTEGER PRIMARY KEY,"
  "  name TEXT NOT NULL UNIQUE,"
  "  kind TEXT NOT NULL,"
  "  location TEXT,"
  "  enabled INTEGER NOT NULL DEFAULT 1,"
  "  added_us INTEGER NOT NULL);"
  "CREATE TABLE runs ("
  "  id INTEGER PRIMARY KEY,"
  "  model_id INTEGER NOT NULL REFERENCES models (id) ON DELETE CASCADE,"
  "  params TEXT,"
  "  state TEXT NOT NULL DEFAULT 'running'"
  "    CHECK (state IN ('running', 'done', 'cancelled', 'failed')),"
  "  started_us INTEGER NOT NULL,"
  "  finished_us INTEGER);"
  "CREATE TABLE run_images ("
  "  run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,"
  "  image_id INTEGER NOT NULL REFERENCES images (id) ON DELETE CASCADE,"
  "  PRIMARY KEY (run_id, image_id)) WITHOUT ROWID;"
  "CREATE TABLE detections ("
  "  id INTEGER PRIMARY KEY,"
  "  run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,"
  "  image_id INTEGER NOT NULL REFERENCES images (id) ON DELETE CASCADE,"
  "  class_id INTEGER NOT NULL REFERENCES classes (id),"
  "  score REAL NOT NULL,"
  "  x1 REAL NOT NULL, y1 REAL NOT NULL, x2 REAL NOT NULL, y2 REAL NOT NULL,"
  "  CHECK (x2 >= x1 AND y2 >= y1));"
  "CREATE INDEX detections_image ON detections (image_id, run_id);"
  "CREATE INDEX detections_run ON detections (run_id);"
  "CREATE TABLE labels ("
  "  id INTEGER PRIMARY KEY,"
  "  image_id INTEGER NOT NULL REFERENCES images (id) ON DELETE CASCADE,"
  "  class_id INTEGER NOT NULL REFERENCES classes (id),"
  "  x1 REAL NOT NULL, y1 REAL NOT NULL, x2 REAL NOT NULL, y2 REAL NOT NULL,"
  "  source TEXT NOT NULL CHECK (source IN ('imported', 'drawn', 'accepted')),"
  "  provenance TEXT,"
  "  detection_id INTEGER REFERENCES detections (id) ON DELETE SET NULL,"
  "  created_us INTEGER NOT NULL,"
  "  modified_us INTEGER NOT NULL,"
  "  deleted_us INTEGER,"
  "  CHECK (x2 >= x1 AND y2 >= y1));"
  "CREATE INDEX labels_image ON labels (image_id) WHERE deleted_us IS NULL;"
  "CREATE TABLE review ("
  "  image_id INTEGER PRIMARY KEY REFERENCES images (id) ON DELETE CASCADE,"
  "  state TEXT NOT NULL CHECK (state IN ('unreviewed', 'reviewed', 'skipped')),"
  "  updated_us INTEGER NOT NULL);"
  "CREATE TABLE thumbnails ("
  "  image_id INTEGER PRIMARY KEY REFERENCES images (id) ON DELETE CASCADE,"
  "  max_side INTEGER NOT NULL,"
  "  width INTEGER NOT NULL,"
  "  height INTEGER NOT NULL,"
  "  source_mtime_us INTEGER NOT NULL,"
  "  jpeg BLOB NOT NULL);",

  /* 2: crowd regions (COCO's iscrowd) on labels, and captions for image–text work. */
  "ALTER TABLE labels ADD COLUMN iscrowd INTEGER NOT NULL DEFAULT 0;"
  "CREATE TABLE captions ("
  "  id INTEGER PRIMARY KEY,"
  "  image_id INTEGER NOT NULL REFERENCES images (id) ON DELETE CASCADE,"
  "  text TEXT NOT NULL,"
  "  source TEXT,"
  "  created_us INTEGER NOT NULL);"
  "CREATE INDEX captions_image ON captions (image_id);",

  /* 3: the review queue (peer pressure's ranked items, replaced when recomputed) and the
   *    decisions taken on them, kept for good: an item whose key has a live decision has left
   *    the queue, and stays out when the queue is recomputed. */
  "CREATE TABLE mistakes ("
  "  id INTEGER PRIMARY KEY,"
  "  image_id INTEGER NOT NULL REFERENCES images (id) ON DELETE CASCADE,"
  "  item_key TEXT NOT NULL,"
  "  kind TEXT NOT NULL,"
  "  score REAL NOT NULL,"
  "  class_id INTEGER REFERENCES classes (id),"
  "  label_id INTEGER,"
  "  label_class_id INTEGER,"
  "  peer TEXT,"
  "  x1 REAL NOT NULL, y1 REAL NOT NULL, x2 REAL NOT NULL, y2 REAL NOT NULL,"
  "  votes TEXT NOT NULL);"
  "CREATE INDEX mistakes_image ON mistakes (image_id);"
  "CREATE INDEX mistakes_key ON mistakes (item_key);"
  "CREATE TABLE decisions ("
  "  id INTEGER PRIMARY KEY,"
  "  item_key TEXT NOT NULL,"
  "  image_id INTEGER NOT NULL REFERENCES images (id) ON DELETE CASCADE,"
  "  kind TEXT NOT NULL,"
  "  decision TEXT NOT NULL CHECK (decision IN ('accepted', 'kept', 'edited', 'skipped')),"
  "  label_id INTEGER,"
  "  who TEXT NOT NULL,"
  "  at_us INTEGER NOT NULL,"
  "  undone_us INTEGER);"
  "CREATE INDEX decisions_key ON decisions (item_key) WHERE undone_us IS NULL;",

  /* 4: model boxes rejected in the viewer (R/X), kept so they stay rejected. */
  "CREATE TABLE rejections ("
  "  detection_id INTEGER PRIMARY KEY REFERENCES detections (id) ON DELETE CASCADE,"
  "  who TEXT NOT NULL,"
  "  at_us INTEGER NOT NULL);",

  /* 5: a peer trained out of fold: it only votes on the fold it did not see (qr_image_fold). */
  "ALTER TABLE models ADD COLUMN held_out_fold INTEGER;"
  "ALTER TABLE models ADD COLUMN n_folds INTEGER;"
  "ALTER TABLE models ADD COLUMN fold_seed INTEGER NOT NULL DEFAULT 0;",
};

G_STATIC_ASSERT (G_N_ELEMENTS (migrations) == QR_CATALOG_SCHEMA_VERSION);

static const char *const image_states[] = { "ok", "unreadable", "missing" };
static const char *const label_sources[] = { "imported", "drawn", "accepted" };

const char *
qr_image_state_to_string (QrImageState state)
{
  return (guint) state < G_N_ELEMENTS (image_states) ? image_states[state] : "unknown";
}

const char *
qr_label_source_to_string (QrLabelSource source)
{
  return (guint) source < G_N_ELEMENTS (label_sources) ? label_sources[source] : "unknown";
}

static QrImageState
image_state_from_string (const char *s)
{
  for (guint i = 0; i < G_N_ELEMENTS (image_states); i++)
    if (g_strcmp0 (s, image_states[i]) == 0)
      return (QrImageState) i;
  return QR_IMAGE_STATE_UNREADABLE;
}

QrImageRecord *
qr_image_record_new (void)
{
  QrImageRecord *record = g_new0 (QrImageRecord, 1);
  record->orientation = 1;
  return record;
}

void
qr_image_record_free (QrImageRecord *record)
{
  if (record == NULL)
    return;
  g_free (record->path);
  g_free (record->format);
  g_free (record->hash);
  g_free (record->reason);
  g_free (record);
}

static gboolean
set_sql_error (QrCatalog *self, GError **error, const char *what)
{
  g_set_error (error, QR_CATALOG_ERROR, QR_CATALOG_ERROR_SQL, "%s: %s: %s", self->db_path, what,
               sqlite3_errmsg (self->db));
  return FALSE;
}

static gboolean
exec (QrCatalog *self, const char *sql, GError **error)
{
  char *message = NULL;

  if (sqlite3_exec (self->db, sql, NULL, NULL, &message) != SQLITE_OK)
    {
      g_set_error (error, QR_CATALOG_ERROR, QR_CATALOG_ERROR_SQL, "%s: %s", self->db_path,
                   message ? message : sqlite3_errmsg (self->db));
      sqlite3_free (message);
      return FALSE;
    }
  return TRUE;
}

/* Returns a cached prepared statement, reset and unbound, or NULL with error set. */
static sqlite3_stmt *
prepare (QrCatalog *self, const char *sql, GError **error)
{
  sqlite3_stmt *stmt = g_hash_table_lookup (self->statements, sql);

  if (stmt == NULL)
    {
      if (sqlite3_prepare_v3 (self->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, NULL) != SQLITE_OK)
        {
          set_sql_error (self, error, "preparing a statement");
          return NULL;
        }
      g_hash_table_insert (self->statements, (gpointer) sql, stmt);
    }
  sqlite3_reset (stmt);
  sqlite3_clear_bindings (stmt);
  return stmt;
}

/* Runs a statement that returns no rows. */
static gboolean
step_done (QrCatalog *self, sqlite3_stmt *stmt, GError **error)
{
  int rc = sqlite3_step (stmt);
  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE && rc != SQLITE_ROW)
    return set_sql_error (self, error, "writing");
  return TRUE;
}

static void
qr_catalog_finalize (GObject *object)
{
  QrCatalog *self = QR_CATALOG (object);

  g_clear_pointer (&self->statements, g_hash_table_destroy);
  if (self->db != NULL)
    sqlite3_close_v2 (self->db);
  g_free (self->root);
  g_free (self->db_path);
  G_OBJECT_CLASS (qr_catalog_parent_class)->finalize (object);
}

static void
qr_catalog_class_init (QrCatalogClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = qr_catalog_finalize;
}

static void
qr_catalog_init (QrCatalog *self)
{
  self->statements = g_hash_table_new_full (g_direct_hash, g_direct_equal, NULL,
                                            (GDestroyNotify) sqlite3_finalize);
}

char *
qr_catalog_default_path (const char *root)
{
  g_autofree char *absolute = g_canonicalize_filename (root, NULL);
  g_autofree char *resolved = realpath (absolute, NULL);
  const char *key = resolved != NULL ? resolved : absolute;
  g_autofree char *digest = g_compute_checksum_for_string (G_CHECKSUM_SHA256, key, -1);
  g_autofree char *base = g_path_get_basename (key);
  g_autofree char *name = NULL;

  digest[12] = '\0';
  if (g_strcmp0 (base, "/") == 0)
    {
      g_free (base);
      base = g_strdup ("root");
    }
  name = g_strdup_printf ("%s-%s.sqlite", base, digest);
  return g_build_filename (g_get_user_data_dir (), "quorum", "collections", name, NULL);
}

static gboolean
migrate (QrCatalog *self, GError **error)
{
  sqlite3_stmt *stmt;
  int version = 0;

  if (sqlite3_prepare_v2 (self->db, "PRAGMA user_version", -1, &stmt, NULL) != SQLITE_OK)
    return set_sql_error (self, error, "reading the schema version");
  if (sqlite3_step (stmt) == SQLITE_ROW)
    version = sqlite3_column_int (stmt, 0);
  sqlite3_finalize (stmt);

  if (version > QR_CATALOG_SCHEMA_VERSION)
    {
      g_set_error (error, QR_CATALOG_ERROR, QR_CATALOG_ERROR_VERSION,
                   "%s: catalog schema version %d was written by a newer Quorum (this one knows up to %d)",
                   self->db_path, version, QR_CATALOG_SCHEMA_VERSION);
      return FALSE;
    }
  for (int next = version + 1; next <= QR_CATALOG_SCHEMA_VERSION; next++)
    {
      g_autofree char *set_version = g_strdup_printf ("PRAGMA user_version = %d", next);

      g_debug ("migrating %s to schema %d", self->db_path, next);
      if (!exec (self, "BEGIN IMMEDIATE", error))
        return FALSE;
      if (!exec (self, migrations[next - 1], error) || !exec (self, set_version, error))
        {
          exec (self, "ROLLBACK", NULL);
          g_prefix_error (error, "migrating to schema %d: ", next);
          return FALSE;
        }
      if (!exec (self, "COMMIT", error))
        return FALSE;
    }
  self->schema_version = QR_CATALOG_SCHEMA_VERSION;
  return TRUE;
}

static char *
read_meta (QrCatalog *self, const char *key)
{
  sqlite3_stmt *stmt = prepare (self, "SELECT value FROM collection WHERE key = ?1", NULL);
  char *value = NULL;

  if (stmt == NULL)
    return NULL;
  sqlite3_bind_text (stmt, 1, key, -1, SQLITE_STATIC);
  if (sqlite3_step (stmt) == SQLITE_ROW)
    value = g_strdup ((const char *) sqlite3_column_text (stmt, 0));
  sqlite3_reset (stmt);
  return value;
}

static gboolean
write_meta (QrCatalog *self, const char *key, const char *value, GError **error)
{
  sqlite3_stmt *stmt = prepare (self, "INSERT INTO collection (key, value) VALUES (?1, ?2) "
                                      "ON CONFLICT (key) DO UPDATE SET value = excluded.value", error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_text (stmt, 1, key, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 2, value, -1, SQLITE_STATIC);
  return step_done (self, stmt, error);
}

static QrCatalog *
open_db (const char *db_path, gboolean create, GError **error)
{
  g_autoptr (QrCatalog) self = g_object_new (QR_TYPE_CATALOG, NULL);
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
  g_autofree char *dir = g_path_get_dirname (db_path);

  self->db_path = g_strdup (db_path);
  if (create && g_mkdir_with_parents (dir, 0700) != 0)
    {
      int saved = errno;
      g_set_error (error, QR_CATALOG_ERROR, QR_CATALOG_ERROR_OPEN, "%s: cannot create the folder: %s",
                   dir, g_strerror (saved));
      return NULL;
    }
  if (sqlite3_open_v2 (db_path, &self->db, flags, NULL) != SQLITE_OK)
    {
      g_set_error (error, QR_CATALOG_ERROR, QR_CATALOG_ERROR_OPEN, "%s: cannot open the catalog: %s",
                   db_path, self->db ? sqlite3_errmsg (self->db) : "out of memory");
      return NULL;
    }
  sqlite3_extended_result_codes (self->db, 1);
  sqlite3_busy_timeout (self->db, 10000);
  /* WAL: readers (thumbnail loaders, the GUI) never block the writer. synchronous=NORMAL in WAL
   * mode cannot corrupt the file; a power cut may lose the last transaction, a crash loses none. */
  if (!exec (self, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;",
             error))
    {
      g_prefix_error (error, "not a usable catalog: ");
      return NULL;
    }
  if (!migrate (self, error))
    return NULL;
  return g_steal_pointer (&self);
}

QrCatalog *
qr_catalog_open (const char  *root,
                 const char  *db_path,
                 GError     **error)
{
  g_autofree char *absolute = NULL;
  g_autofree char *resolved = NULL;
  g_autofree char *default_path = NULL;
  g_autofree char *stored_root = NULL;
  g_autoptr (QrCatalog) self = NULL;

  g_return_val_if_fail (root != NULL, NULL);

  absolute = g_canonicalize_filename (root, NULL);
  resolved = realpath (absolute, NULL);
  if (resolved == NULL || !g_file_test (resolved, G_FILE_TEST_IS_DIR))
    {
      g_set_error (error, QR_CATALOG_ERROR, QR_CATALOG_ERROR_ROOT, "%s: not a folder", root);
      return NULL;
    }
  if (db_path == NULL)
    db_path = default_path = qr_catalog_default_path (resolved);

  self = open_db (db_path, TRUE, error);
  if (self == NULL)
    return NULL;

  /* A collection folder that moved keeps its catalog when --db names it: the root follows. */
  stored_root = read_meta (self, "root");
  if (g_strcmp0 (stored_root, resolved) != 0)
    {
      g_autofree char *now = g_strdup_printf ("%" G_GINT64_FORMAT, g_get_real_time ());
      if (stored_root != NULL)
        g_debug ("%s: root moved from %s to %s", db_path, stored_root, resolved);
      if (!write_meta (self, "root", resolved, error))
        return NULL;
      if (stored_root == NULL && !write_meta (self, "created_us", now, error))
        return NULL;
    }
  self->root = g_steal_pointer (&resolved);
  return g_steal_pointer (&self);
}

QrCatalog *
qr_catalog_open_existing (const char  *db_path,
                          GError     **error)
{
  g_autoptr (QrCatalog) self = NULL;

  if (!g_file_test (db_path, G_FILE_TEST_IS_REGULAR))
    {
      g_set_error (error, QR_CATALOG_ERROR, QR_CATALOG_ERROR_OPEN, "%s: no such catalog", db_path);
      return NULL;
    }
  self = open_db (db_path, FALSE, error);
  if (self == NULL)
    return NULL;
  self->root = read_meta (self, "root");
  if (self->root == NULL)
    {
      g_set_error (error, QR_CATALOG_ERROR, QR_CATALOG_ERROR_ROOT,
                   "%s: the catalog does not say which folder it describes", db_path);
      return NULL;
    }
  return g_steal_pointer (&self);
}

const char *
qr_catalog_get_root (QrCatalog *self)
{
  g_return_val_if_fail (QR_IS_CATALOG (self), NULL);
  return self->root;
}

const char *
qr_catalog_get_db_path (QrCatalog *self)
{
  g_return_val_if_fail (QR_IS_CATALOG (self), NULL);
  return self->db_path;
}

int
qr_catalog_get_schema_version (QrCatalog *self)
{
  g_return_val_if_fail (QR_IS_CATALOG (self), 0);
  return self->schema_version;
}

gboolean
qr_catalog_begin (QrCatalog *self, GError **error)
{
  g_return_val_if_fail (QR_IS_CATALOG (self), FALSE);
  return exec (self, "BEGIN IMMEDIATE", error);
}

gboolean
qr_catalog_commit (QrCatalog *self, GError **error)
{
  g_return_val_if_fail (QR_IS_CATALOG (self), FALSE);
  return exec (self, "COMMIT", error);
}

void
qr_catalog_rollback (QrCatalog *self)
{
  g_return_if_fail (QR_IS_CATALOG (self));
  if (!sqlite3_get_autocommit (self->db))
    exec (self, "ROLLBACK", NULL);
}

static gint64
count (QrCatalog *self, const char *sql, GError **error)
{
  sqlite3_stmt *stmt = prepare (self, sql, error);
  gint64 n = -1;

  if (stmt == NULL)
    return -1;
  if (sqlite3_step (stmt) == SQLITE_ROW)
    n = sqlite3_column_int64 (stmt, 0);
  else
    set_sql_error (self, error, "counting");
  sqlite3_reset (stmt);
  return n;
}

gboolean
qr_catalog_get_stats (QrCatalog      *self,
                      QrCatalogStats *stats,
                      GError        **error)
{
  struct { gint64 *field; const char *sql; } queries[] = {
    { &stats->images, "SELECT count(*) FROM images" },
    { &stats->images_ok, "SELECT count(*) FROM images WHERE state = 'ok'" },
    { &stats->images_unreadable, "SELECT count(*) FROM images WHERE state = 'unreadable'" },
    { &stats->images_missing, "SELECT count(*) FROM images WHERE state = 'missing'" },
    { &stats->classes, "SELECT count(*) FROM classes" },
    { &stats->models, "SELECT count(*) FROM models" },
    { &stats->runs, "SELECT count(*) FROM runs" },
    { &stats->detections, "SELECT count(*) FROM detections" },
    { &stats->labels, "SELECT count(*) FROM labels WHERE deleted_us IS NULL" },
    { &stats->thumbnails, "SELECT count(*) FROM thumbnails" },
    { &stats->reviewed, "SELECT count(*) FROM review WHERE state = 'reviewed'" },
    { &stats->captions, "SELECT count(*) FROM captions" },
  };

  g_return_val_if_fail (QR_IS_CATALOG (self), FALSE);
  for (guint i = 0; i < G_N_ELEMENTS (queries); i++)
    if ((*queries[i].field = count (self, queries[i].sql, error)) < 0)
      return FALSE;
  return TRUE;
}

gboolean
qr_catalog_check_integrity (QrCatalog *self, GError **error)
{
  sqlite3_stmt *stmt;
  g_autofree char *result = NULL;

  if (sqlite3_prepare_v2 (self->db, "PRAGMA integrity_check", -1, &stmt, NULL) != SQLITE_OK)
    return set_sql_error (self, error, "checking integrity");
  if (sqlite3_step (stmt) == SQLITE_ROW)
    result = g_strdup ((const char *) sqlite3_column_text (stmt, 0));
  sqlite3_finalize (stmt);
  if (g_strcmp0 (result, "ok") != 0)
    {
      g_set_error (error, QR_CATALOG_ERROR, QR_CATALOG_ERROR_SQL, "%s: integrity check failed: %s",
                   self->db_path, result ? result : "no answer");
      return FALSE;
    }
  return TRUE;
}

/* Images */

#define IMAGE_COLUMNS "id, path, size, mtime_us, width, height, orientation, format, hash, state, reason"

static QrImageRecord *
image_from_row (sqlite3_stmt *stmt)
{
  QrImageRecord *r = qr_image_record_new ();

  r->id = sqlite3_column_int64 (stmt, 0);
  r->path = g_strdup ((const char *) sqlite3_column_text (stmt, 1));
  r->size = sqlite3_column_int64 (stmt, 2);
  r->mtime_us = sqlite3_column_int64 (stmt, 3);
  r->width = sqlite3_column_int (stmt, 4);
  r->height = sqlite3_column_int (stmt, 5);
  r->orientation = sqlite3_column_int (stmt, 6);
  r->format = g_strdup ((const char *) sqlite3_column_text (stmt, 7));
  r->hash = g_strdup ((const char *) sqlite3_column_text (stmt, 8));
  r->state = image_state_from_string ((const char *) sqlite3_column_text (stmt, 9));
  r->reason = g_strdup ((const char *) sqlite3_column_text (stmt, 10));
  return r;
}

gboolean
qr_catalog_put_image (QrCatalog      *self,
                      QrImageRecord  *record,
                      GError        **error)
{
  sqlite3_stmt *stmt;
  gint64 now = g_get_real_time ();

  g_return_val_if_fail (QR_IS_CATALOG (self), FALSE);
  g_return_val_if_fail (record != NULL && record->path != NULL, FALSE);

  stmt = prepare (self,
                  "INSERT INTO images (path, size, mtime_us, width, height, orientation, format, hash,"
                  "                    state, reason, added_us, updated_us)"
                  " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?11)"
                  " ON CONFLICT (path) DO UPDATE SET size = excluded.size, mtime_us = excluded.mtime_us,"
                  "  width = excluded.width, height = excluded.height,"
                  "  orientation = excluded.orientation, format = excluded.format,"
                  "  hash = excluded.hash, state = excluded.state, reason = excluded.reason,"
                  "  updated_us = excluded.updated_us"
                  " RETURNING id", error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_text (stmt, 1, record->path, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (stmt, 2, record->size);
  sqlite3_bind_int64 (stmt, 3, record->mtime_us);
  sqlite3_bind_int (stmt, 4, record->width);
  sqlite3_bind_int (stmt, 5, record->height);
  sqlite3_bind_int (stmt, 6, CLAMP (record->orientation, 1, 8));
  sqlite3_bind_text (stmt, 7, record->format, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 8, record->hash, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 9, qr_image_state_to_string (record->state), -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 10, record->reason, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (stmt, 11, now);
  if (sqlite3_step (stmt) != SQLITE_ROW)
    {
      set_sql_error (self, error, record->path);
      sqlite3_reset (stmt);
      return FALSE;
    }
  record->id = sqlite3_column_int64 (stmt, 0);
  sqlite3_reset (stmt);
  return TRUE;
}

gboolean
qr_catalog_move_image (QrCatalog   *self,
                       gint64       id,
                       const char  *new_path,
                       GError     **error)
{
  sqlite3_stmt *stmt = prepare (self, "UPDATE images SET path = ?2, updated_us = ?3 WHERE id = ?1",
                                error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, id);
  sqlite3_bind_text (stmt, 2, new_path, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (stmt, 3, g_get_real_time ());
  return step_done (self, stmt, error);
}

gboolean
qr_catalog_set_image_state (QrCatalog    *self,
                            gint64        id,
                            QrImageState  state,
                            const char   *reason,
                            GError      **error)
{
  sqlite3_stmt *stmt = prepare (self, "UPDATE images SET state = ?2, reason = ?3, updated_us = ?4"
                                      " WHERE id = ?1", error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, id);
  sqlite3_bind_text (stmt, 2, qr_image_state_to_string (state), -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 3, reason, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (stmt, 4, g_get_real_time ());
  return step_done (self, stmt, error);
}

static QrImageRecord *
get_one_image (QrCatalog *self, sqlite3_stmt *stmt, const char *what, GError **error)
{
  QrImageRecord *record = NULL;
  int rc = sqlite3_step (stmt);

  if (rc == SQLITE_ROW)
    record = image_from_row (stmt);
  else if (rc == SQLITE_DONE)
    g_set_error (error, QR_CATALOG_ERROR, QR_CATALOG_ERROR_NOT_FOUND, "no image %s in the catalog",
                 what);
  else
    set_sql_error (self, error, "reading an image");
  sqlite3_reset (stmt);
  return record;
}

QrImageRecord *
qr_catalog_get_image (QrCatalog *self, gint64 id, GError **error)
{
  sqlite3_stmt *stmt = prepare (self, "SELECT " IMAGE_COLUMNS " FROM images WHERE id = ?1", error);
  g_autofree char *what = g_strdup_printf ("with id %" G_GINT64_FORMAT, id);

  if (stmt == NULL)
    return NULL;
  sqlite3_bind_int64 (stmt, 1, id);
  return get_one_image (self, stmt, what, error);
}

QrImageRecord *
qr_catalog_find_image (QrCatalog *self, const char *path, GError **error)
{
  sqlite3_stmt *stmt = prepare (self, "SELECT " IMAGE_COLUMNS " FROM images WHERE path = ?1", error);

  if (stmt == NULL)
    return NULL;
  sqlite3_bind_text (stmt, 1, path, -1, SQLITE_STATIC);
  return get_one_image (self, stmt, path, error);
}

GPtrArray *
qr_catalog_list_images (QrCatalog *self, int state, GError **error)
{
  sqlite3_stmt *stmt = prepare (self, "SELECT " IMAGE_COLUMNS " FROM images"
                                      " WHERE ?1 IS NULL OR state = ?1 ORDER BY path", error);
  g_autoptr (GPtrArray) records = g_ptr_array_new_with_free_func ((GDestroyNotify) qr_image_record_free);
  int rc;

  if (stmt == NULL)
    return NULL;
  if (state >= 0)
    sqlite3_bind_text (stmt, 1, qr_image_state_to_string (state), -1, SQLITE_STATIC);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    g_ptr_array_add (records, image_from_row (stmt));
  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE)
    {
      set_sql_error (self, error, "listing images");
      return NULL;
    }
  return g_steal_pointer (&records);
}

GArray *
qr_catalog_list_image_ids (QrCatalog *self, int state, GError **error)
{
  sqlite3_stmt *stmt = prepare (self, "SELECT id FROM images WHERE ?1 IS NULL OR state = ?1"
                                      " ORDER BY path", error);
  g_autoptr (GArray) ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  int rc;

  if (stmt == NULL)
    return NULL;
  if (state >= 0)
    sqlite3_bind_text (stmt, 1, qr_image_state_to_string (state), -1, SQLITE_STATIC);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      gint64 id = sqlite3_column_int64 (stmt, 0);
      g_array_append_val (ids, id);
    }
  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE)
    {
      set_sql_error (self, error, "listing images");
      return NULL;
    }
  return g_steal_pointer (&ids);
}

char *
qr_catalog_resolve_path (QrCatalog *self, const char *relative_path)
{
  return g_build_filename (self->root, relative_path, NULL);
}

/* Classes, models, runs, detections, labels */

gint64
qr_catalog_ensure_class (QrCatalog *self, const char *name, GError **error)
{
  sqlite3_stmt *stmt;
  gint64 id = -1;

  g_return_val_if_fail (QR_IS_CATALOG (self), -1);
  if (name == NULL || *name == '\0' || !g_utf8_validate (name, -1, NULL))
    {
      g_set_error_literal (error, QR_CATALOG_ERROR, QR_CATALOG_ERROR_INVALID,
                           "a class needs a non-empty UTF-8 name");
      return -1;
    }
  stmt = prepare (self, "INSERT INTO classes (name) VALUES (?1)"
                        " ON CONFLICT (name) DO UPDATE SET name = name RETURNING id", error);
  if (stmt == NULL)
    return -1;
  sqlite3_bind_text (stmt, 1, name, -1, SQLITE_STATIC);
  if (sqlite3_step (stmt) == SQLITE_ROW)
    id = sqlite3_column_int64 (stmt, 0);
  else
    set_sql_error (self, error, "adding a class");
  sqlite3_reset (stmt);
  return id;
}

GPtrArray *
qr_catalog_list_classes (QrCatalog *self, GError **error)
{
  sqlite3_stmt *stmt = prepare (self, "SELECT name FROM classes ORDER BY id", error);
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  int rc;

  if (stmt == NULL)
    return NULL;
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    g_ptr_array_add (names, g_strdup ((const char *) sqlite3_column_text (stmt, 0)));
  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE)
    {
      set_sql_error (self, error, "listing classes");
      return NULL;
    }
  return g_steal_pointer (&names);
}

static gint64
insert_returning_id (QrCatalog *self, sqlite3_stmt *stmt, const char *what, GError **error)
{
  gint64 id = -1;

  if (sqlite3_step (stmt) == SQLITE_ROW)
    id = sqlite3_column_int64 (stmt, 0);
  else
    set_sql_error (self, error, what);
  sqlite3_reset (stmt);
  return id;
}

gint64
qr_catalog_add_model (QrCatalog   *self,
                      const char  *name,
                      const char  *kind,
                      const char  *location,
                      GError     **error)
{
  sqlite3_stmt *stmt = prepare (self, "INSERT INTO models (name, kind, location, added_us)"
                                      " VALUES (?1, ?2, ?3, ?4) RETURNING id", error);
  if (stmt == NULL)
    return -1;
  sqlite3_bind_text (stmt, 1, name, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 2, kind, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 3, location, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (stmt, 4, g_get_real_time ());
  return insert_returning_id (self, stmt, "adding a model", error);
}

gint64
qr_catalog_start_run (QrCatalog   *self,
                      gint64       model_id,
                      const char  *params_json,
                      GError     **error)
{
  sqlite3_stmt *stmt = prepare (self, "INSERT INTO runs (model_id, params, started_us)"
                                      " VALUES (?1, ?2, ?3) RETURNING id", error);
  if (stmt == NULL)
    return -1;
  sqlite3_bind_int64 (stmt, 1, model_id);
  sqlite3_bind_text (stmt, 2, params_json, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (stmt, 3, g_get_real_time ());
  return insert_returning_id (self, stmt, "starting a run", error);
}

gboolean
qr_catalog_finish_run (QrCatalog   *self,
                       gint64       run_id,
                       const char  *state,
                       GError     **error)
{
  sqlite3_stmt *stmt = prepare (self, "UPDATE runs SET state = ?2, finished_us = ?3 WHERE id = ?1",
                                error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, run_id);
  sqlite3_bind_text (stmt, 2, state, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (stmt, 3, g_get_real_time ());
  return step_done (self, stmt, error);
}

static gboolean
check_box (const QrBox *box, GError **error)
{
  if (!(box->x2 >= box->x1 && box->y2 >= box->y1) || !isfinite (box->x1) || !isfinite (box->y1)
      || !isfinite (box->x2) || !isfinite (box->y2))
    {
      g_set_error (error, QR_CATALOG_ERROR, QR_CATALOG_ERROR_INVALID,
                   "invalid box [%g, %g, %g, %g]: x2 and y2 must not be below x1 and y1",
                   box->x1, box->y1, box->x2, box->y2);
      return FALSE;
    }
  return TRUE;
}

gint64
qr_catalog_add_detection (QrCatalog   *self,
                          gint64       run_id,
                          gint64       image_id,
                          gint64       class_id,
                          double       score,
                          const QrBox *box,
                          GError     **error)
{
  sqlite3_stmt *stmt;

  if (!check_box (box, error))
    return -1;
  stmt = prepare (self, "INSERT INTO detections (run_id, image_id, class_id, score, x1, y1, x2, y2)"
                        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) RETURNING id", error);
  if (stmt == NULL)
    return -1;
  sqlite3_bind_int64 (stmt, 1, run_id);
  sqlite3_bind_int64 (stmt, 2, image_id);
  sqlite3_bind_int64 (stmt, 3, class_id);
  sqlite3_bind_double (stmt, 4, score);
  sqlite3_bind_double (stmt, 5, box->x1);
  sqlite3_bind_double (stmt, 6, box->y1);
  sqlite3_bind_double (stmt, 7, box->x2);
  sqlite3_bind_double (stmt, 8, box->y2);
  return insert_returning_id (self, stmt, "adding a detection", error);
}

gint64
qr_catalog_add_label (QrCatalog     *self,
                      gint64         image_id,
                      gint64         class_id,
                      const QrBox   *box,
                      QrLabelSource  source,
                      const char    *provenance,
                      GError       **error)
{
  sqlite3_stmt *stmt;
  gint64 now = g_get_real_time ();

  if (!check_box (box, error))
    return -1;
  /* No RETURNING: imports add a million of these, and last_insert_rowid is free. */
  stmt = prepare (self, "INSERT INTO labels (image_id, class_id, x1, y1, x2, y2, source, provenance,"
                        "                     created_us, modified_us)"
                        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9)", error);
  if (stmt == NULL)
    return -1;
  sqlite3_bind_int64 (stmt, 1, image_id);
  sqlite3_bind_int64 (stmt, 2, class_id);
  sqlite3_bind_double (stmt, 3, box->x1);
  sqlite3_bind_double (stmt, 4, box->y1);
  sqlite3_bind_double (stmt, 5, box->x2);
  sqlite3_bind_double (stmt, 6, box->y2);
  sqlite3_bind_text (stmt, 7, qr_label_source_to_string (source), -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 8, provenance, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (stmt, 9, now);
  if (!step_done (self, stmt, error))
    return -1;
  return sqlite3_last_insert_rowid (self->db);
}

gboolean
qr_catalog_delete_label (QrCatalog *self, gint64 label_id, GError **error)
{
  sqlite3_stmt *stmt = prepare (self, "UPDATE labels SET deleted_us = ?2, modified_us = ?2"
                                      " WHERE id = ?1 AND deleted_us IS NULL", error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, label_id);
  sqlite3_bind_int64 (stmt, 2, g_get_real_time ());
  if (!step_done (self, stmt, error))
    return FALSE;
  if (sqlite3_changes (self->db) == 0)
    {
      g_set_error (error, QR_CATALOG_ERROR, QR_CATALOG_ERROR_NOT_FOUND,
                   "no label with id %" G_GINT64_FORMAT, label_id);
      return FALSE;
    }
  return TRUE;
}

gboolean
qr_catalog_set_reviewed (QrCatalog *self, gint64 image_id, const char *state, GError **error)
{
  sqlite3_stmt *stmt = prepare (self, "INSERT INTO review (image_id, state, updated_us) VALUES (?1, ?2, ?3)"
                                      " ON CONFLICT (image_id) DO UPDATE SET state = excluded.state,"
                                      "  updated_us = excluded.updated_us", error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, image_id);
  sqlite3_bind_text (stmt, 2, state, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (stmt, 3, g_get_real_time ());
  return step_done (self, stmt, error);
}

/* Thumbnails */

gboolean
qr_catalog_put_thumbnail (QrCatalog   *self,
                          gint64       image_id,
                          int          max_side,
                          int          width,
                          int          height,
                          gint64       source_mtime_us,
                          GBytes      *jpeg,
                          GError     **error)
{
  sqlite3_stmt *stmt = prepare (self, "INSERT OR REPLACE INTO thumbnails"
                                      " (image_id, max_side, width, height, source_mtime_us, jpeg)"
                                      " VALUES (?1, ?2, ?3, ?4, ?5, ?6)", error);
  gsize len = 0;
  gconstpointer data = g_bytes_get_data (jpeg, &len);

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, image_id);
  sqlite3_bind_int (stmt, 2, max_side);
  sqlite3_bind_int (stmt, 3, width);
  sqlite3_bind_int (stmt, 4, height);
  sqlite3_bind_int64 (stmt, 5, source_mtime_us);
  sqlite3_bind_blob64 (stmt, 6, data, len, SQLITE_STATIC);
  return step_done (self, stmt, error);
}

GBytes *
qr_catalog_get_thumbnail (QrCatalog  *self,
                          gint64      image_id,
                          int        *width,
                          int        *height,
                          GError    **error)
{
  sqlite3_stmt *stmt = prepare (self, "SELECT width, height, jpeg FROM thumbnails WHERE image_id = ?1",
                                error);
  GBytes *bytes = NULL;
  int rc;

  if (stmt == NULL)
    return NULL;
  sqlite3_bind_int64 (stmt, 1, image_id);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    {
      if (width)
        *width = sqlite3_column_int (stmt, 0);
      if (height)
        *height = sqlite3_column_int (stmt, 1);
      bytes = g_bytes_new (sqlite3_column_blob (stmt, 2), (gsize) sqlite3_column_bytes (stmt, 2));
    }
  else if (rc == SQLITE_DONE)
    g_set_error (error, QR_CATALOG_ERROR, QR_CATALOG_ERROR_NOT_FOUND,
                 "no thumbnail for image %" G_GINT64_FORMAT, image_id);
  else
    set_sql_error (self, error, "reading a thumbnail");
  sqlite3_reset (stmt);
  return bytes;
}

GPtrArray *
qr_catalog_list_missing_thumbnails (QrCatalog *self, int max_side, GError **error)
{
  sqlite3_stmt *stmt = prepare (self,
                                "SELECT i.id, i.path, i.size, i.mtime_us, i.width, i.height,"
                                "       i.orientation, i.format, i.hash, i.state, i.reason"
                                " FROM images i LEFT JOIN thumbnails t ON t.image_id = i.id"
                                " WHERE i.state = 'ok' AND (t.image_id IS NULL OR t.max_side != ?1"
                                "       OR t.source_mtime_us != i.mtime_us)"
                                " ORDER BY i.path", error);
  g_autoptr (GPtrArray) records = g_ptr_array_new_with_free_func ((GDestroyNotify) qr_image_record_free);
  int rc;

  if (stmt == NULL)
    return NULL;
  sqlite3_bind_int (stmt, 1, max_side);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    g_ptr_array_add (records, image_from_row (stmt));
  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE)
    {
      set_sql_error (self, error, "listing images without thumbnails");
      return NULL;
    }
  return g_steal_pointer (&records);
}

/* Labels for export, captions */

void
qr_label_record_free (QrLabelRecord *record)
{
  if (record == NULL)
    return;
  g_free (record->class_name);
  g_free (record);
}

static QrLabelSource
label_source_from_string (const char *s)
{
  for (guint i = 0; i < G_N_ELEMENTS (label_sources); i++)
    if (g_strcmp0 (s, label_sources[i]) == 0)
      return (QrLabelSource) i;
  return QR_LABEL_SOURCE_IMPORTED;
}

GPtrArray *
qr_catalog_list_labels (QrCatalog *self, QrLabelFilter filter, GError **error)
{
  sqlite3_stmt *stmt = prepare (self,
                                "SELECT l.id, l.image_id, c.name, l.x1, l.y1, l.x2, l.y2, l.source, l.iscrowd,"
                                "       l.modified_us > l.created_us, l.class_id"
                                " FROM labels l JOIN classes c ON c.id = l.class_id"
                                " WHERE l.deleted_us IS NULL"
                                "   AND (?1 = 0"
                                "        OR (?1 = 1 AND l.image_id IN (SELECT image_id FROM review"
                                "                                      WHERE state = 'reviewed'))"
                                "        OR (?1 = 2 AND (l.source != 'imported' OR l.modified_us > l.created_us)))"
                                " ORDER BY l.image_id, l.id", error);
  g_autoptr (GPtrArray) labels = g_ptr_array_new_with_free_func ((GDestroyNotify) qr_label_record_free);
  int rc;

  if (stmt == NULL)
    return NULL;
  sqlite3_bind_int (stmt, 1, (int) filter);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      QrLabelRecord *r = g_new0 (QrLabelRecord, 1);
      r->id = sqlite3_column_int64 (stmt, 0);
      r->image_id = sqlite3_column_int64 (stmt, 1);
      r->class_name = g_strdup ((const char *) sqlite3_column_text (stmt, 2));
      r->box.x1 = sqlite3_column_double (stmt, 3);
      r->box.y1 = sqlite3_column_double (stmt, 4);
      r->box.x2 = sqlite3_column_double (stmt, 5);
      r->box.y2 = sqlite3_column_double (stmt, 6);
      r->source = label_source_from_string ((const char *) sqlite3_column_text (stmt, 7));
      r->iscrowd = sqlite3_column_int (stmt, 8) != 0;
      r->modified = sqlite3_column_int (stmt, 9) != 0;
      r->class_id = sqlite3_column_int64 (stmt, 10);
      g_ptr_array_add (labels, r);
    }
  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE)
    {
      set_sql_error (self, error, "listing labels");
      return NULL;
    }
  return g_steal_pointer (&labels);
}

GArray *
qr_catalog_list_reviewed_ids (QrCatalog *self, GError **error)
{
  sqlite3_stmt *stmt = prepare (self, "SELECT image_id FROM review WHERE state = 'reviewed' ORDER BY image_id",
                                error);
  g_autoptr (GArray) ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  int rc;

  if (stmt == NULL)
    return NULL;
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      gint64 id = sqlite3_column_int64 (stmt, 0);
      g_array_append_val (ids, id);
    }
  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE)
    {
      set_sql_error (self, error, "listing reviewed images");
      return NULL;
    }
  return g_steal_pointer (&ids);
}

gboolean
qr_catalog_set_label_crowd (QrCatalog *self, gint64 label_id, gboolean iscrowd, GError **error)
{
  sqlite3_stmt *stmt = prepare (self, "UPDATE labels SET iscrowd = ?2 WHERE id = ?1", error);

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, label_id);
  sqlite3_bind_int (stmt, 2, iscrowd ? 1 : 0);
  return step_done (self, stmt, error);
}

gint64
qr_catalog_add_caption (QrCatalog *self, gint64 image_id, const char *text, const char *source, GError **error)
{
  sqlite3_stmt *stmt = prepare (self, "INSERT INTO captions (image_id, text, source, created_us)"
                                      " VALUES (?1, ?2, ?3, ?4) RETURNING id", error);
  if (stmt == NULL)
    return -1;
  sqlite3_bind_int64 (stmt, 1, image_id);
  sqlite3_bind_text (stmt, 2, text, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 3, source, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (stmt, 4, g_get_real_time ());
  return insert_returning_id (self, stmt, "adding a caption", error);
}

GPtrArray *
qr_catalog_list_captions (QrCatalog *self, gint64 image_id, GError **error)
{
  sqlite3_stmt *stmt = prepare (self, "SELECT text FROM captions WHERE image_id = ?1 ORDER BY id", error);
  g_autoptr (GPtrArray) texts = g_ptr_array_new_with_free_func (g_free);
  int rc;

  if (stmt == NULL)
    return NULL;
  sqlite3_bind_int64 (stmt, 1, image_id);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    g_ptr_array_add (texts, g_strdup ((const char *) sqlite3_column_text (stmt, 0)));
  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE)
    {
      set_sql_error (self, error, "listing captions");
      return NULL;
    }
  return g_steal_pointer (&texts);
}

/* Models and runs */

void
qr_model_record_free (QrModelRecord *record)
{
  if (record == NULL)
    return;
  g_free (record->name);
  g_free (record->kind);
  g_free (record->location);
  g_free (record);
}

gboolean
qr_catalog_set_model_fold (QrCatalog *self, const char *name, int held_out_fold, int n_folds, gint64 seed,
                           GError **error)
{
  sqlite3_stmt *stmt = prepare (self, "UPDATE models SET held_out_fold = ?2, n_folds = ?3, fold_seed = ?4"
                                      " WHERE name = ?1", error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_text (stmt, 1, name, -1, SQLITE_STATIC);
  if (n_folds > 0)
    {
      sqlite3_bind_int (stmt, 2, held_out_fold);
      sqlite3_bind_int (stmt, 3, n_folds);
    }
  sqlite3_bind_int64 (stmt, 4, seed);
  return step_done (self, stmt, error);
}

GPtrArray *
qr_catalog_list_models (QrCatalog *self, GError **error)
{
  sqlite3_stmt *stmt = prepare (self,
                                "SELECT m.id, m.name, m.kind, m.location,"
                                "  (SELECT count(*) FROM runs r WHERE r.model_id = m.id),"
                                "  (SELECT count(*) FROM detections d JOIN runs r ON r.id = d.run_id WHERE r.model_id = m.id),"
                                "  m.held_out_fold, m.n_folds, m.fold_seed"
                                " FROM models m ORDER BY m.id", error);
  g_autoptr (GPtrArray) models = g_ptr_array_new_with_free_func ((GDestroyNotify) qr_model_record_free);
  int rc;

  if (stmt == NULL)
    return NULL;
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      QrModelRecord *m = g_new0 (QrModelRecord, 1);
      m->id = sqlite3_column_int64 (stmt, 0);
      m->name = g_strdup ((const char *) sqlite3_column_text (stmt, 1));
      m->kind = g_strdup ((const char *) sqlite3_column_text (stmt, 2));
      m->location = g_strdup ((const char *) sqlite3_column_text (stmt, 3));
      m->runs = sqlite3_column_int64 (stmt, 4);
      m->detections = sqlite3_column_int64 (stmt, 5);
      m->held_out_fold = sqlite3_column_type (stmt, 6) == SQLITE_NULL ? -1 : sqlite3_column_int (stmt, 6);
      m->n_folds = sqlite3_column_type (stmt, 7) == SQLITE_NULL ? 0 : sqlite3_column_int (stmt, 7);
      m->fold_seed = sqlite3_column_int64 (stmt, 8);
      g_ptr_array_add (models, m);
    }
  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE)
    {
      set_sql_error (self, error, "listing models");
      return NULL;
    }
  return g_steal_pointer (&models);
}

gint64
qr_catalog_find_model (QrCatalog *self, const char *name, GError **error)
{
  sqlite3_stmt *stmt = prepare (self, "SELECT id FROM models WHERE name = ?1", error);
  gint64 id = -1;
  int rc;

  if (stmt == NULL)
    return -1;
  sqlite3_bind_text (stmt, 1, name, -1, SQLITE_STATIC);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    id = sqlite3_column_int64 (stmt, 0);
  else if (rc == SQLITE_DONE)
    g_set_error (error, QR_CATALOG_ERROR, QR_CATALOG_ERROR_NOT_FOUND, "no model named '%s' in this collection", name);
  else
    set_sql_error (self, error, "finding a model");
  sqlite3_reset (stmt);
  return id;
}

gboolean
qr_catalog_remove_model (QrCatalog *self, const char *name, GError **error)
{
  sqlite3_stmt *stmt = prepare (self, "DELETE FROM models WHERE name = ?1", error);

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_text (stmt, 1, name, -1, SQLITE_STATIC);
  if (!step_done (self, stmt, error))
    return FALSE;
  if (sqlite3_changes (self->db) == 0)
    {
      g_set_error (error, QR_CATALOG_ERROR, QR_CATALOG_ERROR_NOT_FOUND, "no model named '%s' in this collection", name);
      return FALSE;
    }
  return TRUE;
}

gint64
qr_catalog_find_resumable_run (QrCatalog *self, gint64 model_id, const char *params_json, GError **error)
{
  sqlite3_stmt *stmt = prepare (self, "SELECT id FROM runs WHERE model_id = ?1 AND params IS ?2 AND state != 'failed'"
                                      " ORDER BY id DESC LIMIT 1", error);
  gint64 id = -1;
  int rc;

  if (stmt == NULL)
    return -1;
  sqlite3_bind_int64 (stmt, 1, model_id);
  sqlite3_bind_text (stmt, 2, params_json, -1, SQLITE_STATIC);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    id = sqlite3_column_int64 (stmt, 0);
  else if (rc != SQLITE_DONE)
    set_sql_error (self, error, "finding a run");
  sqlite3_reset (stmt);
  if (rc == SQLITE_ROW && id > 0)
    {
      /* a run being resumed is running again */
      sqlite3_stmt *update = prepare (self, "UPDATE runs SET state = 'running', finished_us = NULL WHERE id = ?1", error);
      if (update == NULL)
        return -1;
      sqlite3_bind_int64 (update, 1, id);
      if (!step_done (self, update, error))
        return -1;
    }
  return id;
}

GPtrArray *
qr_catalog_list_images_to_run (QrCatalog *self, gint64 run_id, GError **error)
{
  sqlite3_stmt *stmt = prepare (self, "SELECT " IMAGE_COLUMNS " FROM images WHERE state = 'ok' AND id NOT IN"
                                      " (SELECT image_id FROM run_images WHERE run_id = ?1) ORDER BY path", error);
  g_autoptr (GPtrArray) records = g_ptr_array_new_with_free_func ((GDestroyNotify) qr_image_record_free);
  int rc;

  if (stmt == NULL)
    return NULL;
  sqlite3_bind_int64 (stmt, 1, run_id);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    g_ptr_array_add (records, image_from_row (stmt));
  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE)
    {
      set_sql_error (self, error, "listing images to run");
      return NULL;
    }
  return g_steal_pointer (&records);
}

gboolean
qr_catalog_mark_run_image (QrCatalog *self, gint64 run_id, gint64 image_id, GError **error)
{
  sqlite3_stmt *stmt = prepare (self, "INSERT OR IGNORE INTO run_images (run_id, image_id) VALUES (?1, ?2)", error);

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, run_id);
  sqlite3_bind_int64 (stmt, 2, image_id);
  return step_done (self, stmt, error);
}

GArray *
qr_catalog_list_detections (QrCatalog *self, gint64 run_id, GError **error)
{
  sqlite3_stmt *stmt = prepare (self, "SELECT id, image_id, class_id, score, x1, y1, x2, y2 FROM detections"
                                      " WHERE run_id = ?1 ORDER BY image_id, id", error);
  g_autoptr (GArray) out = g_array_new (FALSE, FALSE, sizeof (QrDetectionRecord));
  int rc;

  if (stmt == NULL)
    return NULL;
  sqlite3_bind_int64 (stmt, 1, run_id);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      QrDetectionRecord d;
      d.id = sqlite3_column_int64 (stmt, 0);
      d.image_id = sqlite3_column_int64 (stmt, 1);
      d.class_id = sqlite3_column_int64 (stmt, 2);
      d.score = (float) sqlite3_column_double (stmt, 3);
      d.box.x1 = sqlite3_column_double (stmt, 4);
      d.box.y1 = sqlite3_column_double (stmt, 5);
      d.box.x2 = sqlite3_column_double (stmt, 6);
      d.box.y2 = sqlite3_column_double (stmt, 7);
      g_array_append_val (out, d);
    }
  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE)
    {
      set_sql_error (self, error, "listing detections");
      return NULL;
    }
  return g_steal_pointer (&out);
}

gint64
qr_catalog_latest_run (QrCatalog *self, gint64 model_id, GError **error)
{
  sqlite3_stmt *stmt = prepare (self, "SELECT id FROM runs WHERE model_id = ?1 AND state != 'failed'"
                                      " ORDER BY id DESC LIMIT 1", error);
  gint64 id = -1;
  int rc;

  if (stmt == NULL)
    return -1;
  sqlite3_bind_int64 (stmt, 1, model_id);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    id = sqlite3_column_int64 (stmt, 0);
  else if (rc != SQLITE_DONE)
    set_sql_error (self, error, "finding a run");
  sqlite3_reset (stmt);
  return id;
}

char *
qr_catalog_get_run_params (QrCatalog *self, gint64 run_id, GError **error)
{
  sqlite3_stmt *stmt = prepare (self, "SELECT params FROM runs WHERE id = ?1", error);
  char *params = NULL;
  int rc;

  if (stmt == NULL)
    return NULL;
  sqlite3_bind_int64 (stmt, 1, run_id);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    params = g_strdup ((const char *) sqlite3_column_text (stmt, 0));
  else if (rc != SQLITE_DONE)
    set_sql_error (self, error, "reading a run");
  sqlite3_reset (stmt);
  return params;
}

GHashTable *
qr_catalog_class_names (QrCatalog *self, GError **error)
{
  sqlite3_stmt *stmt = prepare (self, "SELECT id, name FROM classes", error);
  g_autoptr (GHashTable) names = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, g_free);
  int rc;

  if (stmt == NULL)
    return NULL;
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      gint64 id = sqlite3_column_int64 (stmt, 0);
      g_hash_table_insert (names, g_memdup2 (&id, sizeof id), g_strdup ((const char *) sqlite3_column_text (stmt, 1)));
    }
  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE)
    {
      set_sql_error (self, error, "listing classes");
      return NULL;
    }
  return g_steal_pointer (&names);
}

void
qr_overlay_box_free (QrOverlayBox *box)
{
  if (box == NULL)
    return;
  g_free (box->class_name);
  g_free (box->source);
  g_free (box);
}

GPtrArray *
qr_catalog_list_overlays (QrCatalog *self, gint64 image_id, GError **error)
{
  sqlite3_stmt *stmt = prepare (self,
                                "SELECT l.id, c.name, 'label', 1.0, l.x1, l.y1, l.x2, l.y2, 1 FROM labels l"
                                " JOIN classes c ON c.id = l.class_id WHERE l.image_id = ?1 AND l.deleted_us IS NULL"
                                " UNION ALL "
                                "SELECT d.id, c.name, m.name, d.score, d.x1, d.y1, d.x2, d.y2, 0 FROM detections d"
                                " JOIN classes c ON c.id = d.class_id JOIN runs r ON r.id = d.run_id"
                                " JOIN models m ON m.id = r.model_id"
                                " WHERE d.image_id = ?1 AND r.id = (SELECT max (r2.id) FROM runs r2"
                                "   WHERE r2.model_id = m.id AND r2.state != 'failed')"
                                /* an accepted box is drawn once, as its label */
                                " AND NOT EXISTS (SELECT 1 FROM labels l2 WHERE l2.detection_id = d.id"
                                "   AND l2.deleted_us IS NULL)"
                                /* a box rejected in the viewer (R/X) is not drawn again */
                                " AND NOT EXISTS (SELECT 1 FROM rejections x WHERE x.detection_id = d.id)"
                                " ORDER BY 9 DESC, 3, 4 DESC", error);
  g_autoptr (GPtrArray) boxes = g_ptr_array_new_with_free_func ((GDestroyNotify) qr_overlay_box_free);
  int rc;

  if (stmt == NULL)
    return NULL;
  sqlite3_bind_int64 (stmt, 1, image_id);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      QrOverlayBox *b = g_new0 (QrOverlayBox, 1);
      b->id = sqlite3_column_int64 (stmt, 0);
      b->class_name = g_strdup ((const char *) sqlite3_column_text (stmt, 1));
      b->source = g_strdup ((const char *) sqlite3_column_text (stmt, 2));
      b->score = (float) sqlite3_column_double (stmt, 3);
      b->box.x1 = sqlite3_column_double (stmt, 4);
      b->box.y1 = sqlite3_column_double (stmt, 5);
      b->box.x2 = sqlite3_column_double (stmt, 6);
      b->box.y2 = sqlite3_column_double (stmt, 7);
      b->is_label = sqlite3_column_int (stmt, 8) != 0;
      g_ptr_array_add (boxes, b);
    }
  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE)
    {
      set_sql_error (self, error, "listing an image's boxes");
      return NULL;
    }
  return g_steal_pointer (&boxes);
}

gboolean
qr_catalog_update_label (QrCatalog *self, gint64 label_id, gint64 class_id, const QrBox *box, GError **error)
{
  sqlite3_stmt *stmt;

  if (!check_box (box, error))
    return FALSE;
  stmt = prepare (self, "UPDATE labels SET class_id = ?2, x1 = ?3, y1 = ?4, x2 = ?5, y2 = ?6, modified_us = ?7"
                        " WHERE id = ?1", error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, label_id);
  sqlite3_bind_int64 (stmt, 2, class_id);
  sqlite3_bind_double (stmt, 3, box->x1);
  sqlite3_bind_double (stmt, 4, box->y1);
  sqlite3_bind_double (stmt, 5, box->x2);
  sqlite3_bind_double (stmt, 6, box->y2);
  /* strictly later than created_us, even within the same microsecond */
  sqlite3_bind_int64 (stmt, 7, g_get_real_time () + 1);
  if (!step_done (self, stmt, error))
    return FALSE;
  if (sqlite3_changes (self->db) == 0)
    {
      g_set_error (error, QR_CATALOG_ERROR, QR_CATALOG_ERROR_NOT_FOUND, "no label with id %" G_GINT64_FORMAT, label_id);
      return FALSE;
    }
  return TRUE;
}

gboolean
qr_catalog_undelete_label (QrCatalog *self, gint64 label_id, GError **error)
{
  sqlite3_stmt *stmt = prepare (self, "UPDATE labels SET deleted_us = NULL, modified_us = ?2 WHERE id = ?1", error);

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, label_id);
  sqlite3_bind_int64 (stmt, 2, g_get_real_time ());
  return step_done (self, stmt, error);
}

gboolean
qr_catalog_get_label (QrCatalog *self, gint64 label_id, gint64 *class_id, QrBox *box, GError **error)
{
  sqlite3_stmt *stmt = prepare (self, "SELECT class_id, x1, y1, x2, y2 FROM labels WHERE id = ?1", error);
  int rc;

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, label_id);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    {
      *class_id = sqlite3_column_int64 (stmt, 0);
      box->x1 = sqlite3_column_double (stmt, 1);
      box->y1 = sqlite3_column_double (stmt, 2);
      box->x2 = sqlite3_column_double (stmt, 3);
      box->y2 = sqlite3_column_double (stmt, 4);
    }
  else if (rc == SQLITE_DONE)
    g_set_error (error, QR_CATALOG_ERROR, QR_CATALOG_ERROR_NOT_FOUND, "no label with id %" G_GINT64_FORMAT, label_id);
  else
    set_sql_error (self, error, "reading a label");
  sqlite3_reset (stmt);
  return rc == SQLITE_ROW;
}

gboolean
qr_catalog_get_detection (QrCatalog *self, gint64 detection_id, gint64 *image_id, gint64 *class_id, QrBox *box,
                          GError **error)
{
  sqlite3_stmt *stmt = prepare (self, "SELECT image_id, class_id, x1, y1, x2, y2 FROM detections WHERE id = ?1", error);
  int rc;

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, detection_id);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    {
      *image_id = sqlite3_column_int64 (stmt, 0);
      *class_id = sqlite3_column_int64 (stmt, 1);
      box->x1 = sqlite3_column_double (stmt, 2);
      box->y1 = sqlite3_column_double (stmt, 3);
      box->x2 = sqlite3_column_double (stmt, 4);
      box->y2 = sqlite3_column_double (stmt, 5);
    }
  else if (rc == SQLITE_DONE)
    g_set_error (error, QR_CATALOG_ERROR, QR_CATALOG_ERROR_NOT_FOUND, "no detection with id %" G_GINT64_FORMAT,
                 detection_id);
  else
    set_sql_error (self, error, "reading a detection");
  sqlite3_reset (stmt);
  return rc == SQLITE_ROW;
}

gboolean
qr_catalog_set_label_detection (QrCatalog *self, gint64 label_id, gint64 detection_id, GError **error)
{
  sqlite3_stmt *stmt = prepare (self, "UPDATE labels SET detection_id = ?2 WHERE id = ?1", error);

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, label_id);
  sqlite3_bind_int64 (stmt, 2, detection_id);
  return step_done (self, stmt, error);
}

/* A review item m is open while its key has no live decision: the one rule for the queue. */
#define UNDECIDED \
  "NOT EXISTS (SELECT 1 FROM decisions x WHERE x.item_key = m.item_key AND x.undone_us IS NULL)"

/* An image's highest open review item. */
#define OPEN_MISTAKES(image) \
  "(SELECT m.score FROM mistakes m WHERE m.image_id = " image " AND " UNDECIDED " ORDER BY m.score DESC LIMIT 1)"

#define VIEW_WHERE \
  "SELECT i.id FROM images i WHERE" \
  " (?1 = 0 AND i.state IN ('ok', 'unreadable'))" \
  " OR (?1 = 1 AND i.state = 'ok' AND NOT EXISTS (SELECT 1 FROM labels l WHERE l.image_id = i.id AND l.deleted_us IS NULL))" \
  " OR (?1 = 2 AND i.state = 'ok' AND EXISTS (SELECT 1 FROM labels l WHERE l.image_id = i.id AND l.deleted_us IS NULL))" \
  " OR (?1 = 3 AND i.state = 'unreadable')" \
  " OR (?1 = 4 AND i.state = 'ok' AND (EXISTS (SELECT 1 FROM labels l WHERE l.image_id = i.id AND l.class_id = ?2" \
  "      AND l.deleted_us IS NULL) OR EXISTS (SELECT 1 FROM detections d WHERE d.image_id = i.id AND d.class_id = ?2)))" \
  " OR (?1 = 5 AND i.state = 'ok' AND EXISTS (SELECT 1 FROM mistakes m WHERE m.image_id = i.id" \
  "      AND " REVIEW_FILTER " AND " UNDECIDED "))"

/* The review view's filter on an item m: ?2 ≠ 0 keeps the kind ?3, ?4 ≠ 0 the class ?4. */
#define REVIEW_FILTER "(?2 = 0 OR m.kind = ?3) AND (?4 = 0 OR m.class_id = ?4 OR m.label_class_id = ?4)"

static GArray *
list_view (QrCatalog *self, QrImageView view, gint64 class_id, gint64 review_class, QrImageSort sort, GError **error)
{
  /* One statement per sort order: ORDER BY cannot be a parameter. The review queue is always
   * by score: the best item among those its filter keeps. */
  static const char *const by_name = VIEW_WHERE " ORDER BY i.state = 'unreadable', i.path";
  static const char *const by_date = VIEW_WHERE " ORDER BY i.state = 'unreadable', i.mtime_us DESC, i.path";
  static const char *const by_mistakes =
    VIEW_WHERE " ORDER BY i.state = 'unreadable', coalesce (" OPEN_MISTAKES ("i.id") ", -1) DESC, i.path";
  static const char *const review =
    VIEW_WHERE " ORDER BY (SELECT max (m.score) FROM mistakes m WHERE m.image_id = i.id AND " REVIEW_FILTER
    " AND " UNDECIDED ") DESC, i.path";
  sqlite3_stmt *stmt = prepare (self, view == QR_VIEW_REVIEW ? review : sort == QR_SORT_MISTAKES ? by_mistakes
                                      : sort == QR_SORT_NEWEST ? by_date : by_name, error);
  g_autoptr (GArray) ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  int rc;

  if (stmt == NULL)
    return NULL;
  sqlite3_bind_int (stmt, 1, (int) view);
  /* the review view: class_id 1..5 picks one kind of item, review_class one class */
  if (view == QR_VIEW_REVIEW)
    {
      gboolean one_kind = class_id >= 1 && class_id <= 5;
      sqlite3_bind_int64 (stmt, 2, one_kind ? class_id : 0);
      sqlite3_bind_text (stmt, 3, one_kind ? qr_review_kind_names[class_id - 1] : "", -1, SQLITE_STATIC);
      sqlite3_bind_int64 (stmt, 4, review_class);
    }
  else
    {
      sqlite3_bind_int64 (stmt, 2, class_id);
      sqlite3_bind_null (stmt, 3);
      sqlite3_bind_int64 (stmt, 4, 0);
    }
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      gint64 id = sqlite3_column_int64 (stmt, 0);
      g_array_append_val (ids, id);
    }
  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE)
    {
      set_sql_error (self, error, "listing a view");
      return NULL;
    }
  return g_steal_pointer (&ids);
}

GArray *
qr_catalog_list_view (QrCatalog *self, QrImageView view, gint64 class_id, QrImageSort sort, GError **error)
{
  return list_view (self, view, class_id, 0, sort, error);
}

GArray *
qr_catalog_list_review (QrCatalog *self, int kind, gint64 class_id, GError **error)
{
  return list_view (self, QR_VIEW_REVIEW, kind, class_id, QR_SORT_MISTAKES, error);
}

gboolean
qr_catalog_review_classes (QrCatalog *self, int kind, GArray **ids, GPtrArray **names, GArray **counts,
                           GError **error)
{
  sqlite3_stmt *stmt = prepare (self,
                                "WITH open (image_id, cls) AS ("
                                "  SELECT m.image_id, m.class_id FROM mistakes m JOIN images i ON i.id = m.image_id"
                                "  WHERE i.state = 'ok' AND (?1 = '' OR m.kind = ?1) AND " UNDECIDED
                                "  UNION SELECT m.image_id, m.label_class_id FROM mistakes m JOIN images i ON i.id = m.image_id"
                                "  WHERE i.state = 'ok' AND m.label_class_id IS NOT NULL AND (?1 = '' OR m.kind = ?1) AND "
                                UNDECIDED ")"
                                " SELECT o.cls, c.name, count (DISTINCT o.image_id) FROM open o JOIN classes c ON c.id = o.cls"
                                " GROUP BY o.cls ORDER BY count (DISTINCT o.image_id) DESC, c.name", error);
  int rc;

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_text (stmt, 1, kind >= 1 && kind <= 5 ? qr_review_kind_names[kind - 1] : "", -1, SQLITE_STATIC);
  *ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  *names = g_ptr_array_new_with_free_func (g_free);
  *counts = g_array_new (FALSE, FALSE, sizeof (gint64));
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      gint64 id = sqlite3_column_int64 (stmt, 0), n = sqlite3_column_int64 (stmt, 2);
      g_array_append_val (*ids, id);
      g_ptr_array_add (*names, g_strdup ((const char *) sqlite3_column_text (stmt, 1)));
      g_array_append_val (*counts, n);
    }
  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE)
    {
      g_clear_pointer (ids, g_array_unref);
      g_clear_pointer (names, g_ptr_array_unref);
      g_clear_pointer (counts, g_array_unref);
      set_sql_error (self, error, "listing the review queue's classes");
      return FALSE;
    }
  return TRUE;
}

const char *const qr_review_kind_names[5] = { "missing", "spurious", "wrong_class", "poorly_located", "model_mistake" };

gboolean
qr_catalog_count_review_kinds (QrCatalog *self, gint64 *counts, GError **error)
{
  sqlite3_stmt *stmt = prepare (self, "SELECT count (DISTINCT m.image_id) FROM mistakes m JOIN images i ON i.id = m.image_id"
                                      " WHERE i.state = 'ok' AND m.kind = ?1 AND " UNDECIDED, error);
  for (int k = 0; k < 5; k++)
    {
      int rc;
      if (stmt == NULL)
        return FALSE;
      sqlite3_reset (stmt);
      sqlite3_bind_text (stmt, 1, qr_review_kind_names[k], -1, SQLITE_STATIC);
      rc = sqlite3_step (stmt);
      if (rc != SQLITE_ROW)
        {
          sqlite3_reset (stmt);
          return set_sql_error (self, error, "counting review items");
        }
      counts[k] = sqlite3_column_int64 (stmt, 0);
    }
  sqlite3_reset (stmt);
  return TRUE;
}

gboolean
qr_catalog_count_views (QrCatalog *self, gint64 *counts, GError **error)
{
  counts[0] = count (self, "SELECT count(*) FROM images WHERE state IN ('ok', 'unreadable')", error);
  counts[1] = counts[0] < 0 ? -1 : count (self, "SELECT count(*) FROM images i WHERE i.state = 'ok' AND NOT EXISTS"
                                                " (SELECT 1 FROM labels l WHERE l.image_id = i.id AND l.deleted_us IS NULL)", error);
  counts[2] = counts[1] < 0 ? -1 : count (self, "SELECT count(*) FROM images i WHERE i.state = 'ok' AND EXISTS"
                                                " (SELECT 1 FROM labels l WHERE l.image_id = i.id AND l.deleted_us IS NULL)", error);
  counts[3] = counts[2] < 0 ? -1 : count (self, "SELECT count(*) FROM images WHERE state = 'unreadable'", error);
  counts[4] = counts[3] < 0 ? -1 : count (self, "SELECT count(*) FROM images i WHERE i.state = 'ok' AND "
                                                OPEN_MISTAKES ("i.id") " IS NOT NULL", error);
  return counts[4] >= 0;
}

gboolean
qr_catalog_class_image_counts (QrCatalog *self, GArray **class_ids, GPtrArray **names, GArray **counts, GError **error)
{
  sqlite3_stmt *stmt = prepare (self,
                                "SELECT c.id, c.name, count (DISTINCT x.image_id) AS n FROM classes c JOIN ("
                                "  SELECT class_id, image_id FROM labels WHERE deleted_us IS NULL"
                                "  UNION SELECT class_id, image_id FROM detections) x ON x.class_id = c.id"
                                " GROUP BY c.id ORDER BY n DESC, c.name", error);
  int rc;

  if (stmt == NULL)
    return FALSE;
  *class_ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  *names = g_ptr_array_new_with_free_func (g_free);
  *counts = g_array_new (FALSE, FALSE, sizeof (gint64));
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      gint64 id = sqlite3_column_int64 (stmt, 0), n = sqlite3_column_int64 (stmt, 2);
      g_array_append_val (*class_ids, id);
      g_ptr_array_add (*names, g_strdup ((const char *) sqlite3_column_text (stmt, 1)));
      g_array_append_val (*counts, n);
    }
  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE)
    {
      g_clear_pointer (class_ids, g_array_unref);
      g_clear_pointer (names, g_ptr_array_unref);
      g_clear_pointer (counts, g_array_unref);
      return set_sql_error (self, error, "counting classes");
    }
  return TRUE;
}

void
qr_mistake_record_free (QrMistakeRecord *r)
{
  if (r == NULL)
    return;
  g_free (r->item_key);
  g_free (r->kind);
  g_free (r->class_name);
  g_free (r->label_class_name);
  g_free (r->peer);
  g_free (r->votes);
  g_free (r);
}

gboolean
qr_catalog_replace_mistakes (QrCatalog *self, GPtrArray *records, GError **error)
{
  sqlite3_stmt *stmt;

  if (!qr_catalog_begin (self, error))
    return FALSE;
  if (!exec (self, "DELETE FROM mistakes", error))
    goto fail;
  for (guint i = 0; i < records->len; i++)
    {
      QrMistakeRecord *r = records->pdata[i];
      stmt = prepare (self, "INSERT INTO mistakes (image_id, item_key, kind, score, class_id, label_id, label_class_id,"
                            " peer, x1, y1, x2, y2, votes) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
                      error);
      if (stmt == NULL)
        goto fail;
      sqlite3_bind_int64 (stmt, 1, r->image_id);
      sqlite3_bind_text (stmt, 2, r->item_key, -1, SQLITE_STATIC);
      sqlite3_bind_text (stmt, 3, r->kind, -1, SQLITE_STATIC);
      sqlite3_bind_double (stmt, 4, r->score);
      if (r->class_id > 0)
        sqlite3_bind_int64 (stmt, 5, r->class_id);
      if (r->label_id > 0)
        sqlite3_bind_int64 (stmt, 6, r->label_id);
      if (r->label_class_id > 0)
        sqlite3_bind_int64 (stmt, 7, r->label_class_id);
      if (r->peer != NULL)
        sqlite3_bind_text (stmt, 8, r->peer, -1, SQLITE_STATIC);
      sqlite3_bind_double (stmt, 9, r->box.x1);
      sqlite3_bind_double (stmt, 10, r->box.y1);
      sqlite3_bind_double (stmt, 11, r->box.x2);
      sqlite3_bind_double (stmt, 12, r->box.y2);
      sqlite3_bind_text (stmt, 13, r->votes ? r->votes : "{}", -1, SQLITE_STATIC);
      if (!step_done (self, stmt, error))
        goto fail;
    }
  return qr_catalog_commit (self, error);

fail:
  qr_catalog_rollback (self);
  return FALSE;
}

GPtrArray *
qr_catalog_list_open_mistakes (QrCatalog *self, gint64 image_id, GError **error)
{
  sqlite3_stmt *stmt = prepare (self,
                                "SELECT m.id, m.image_id, m.item_key, m.kind, m.score, m.class_id, c.name, m.label_id,"
                                " m.label_class_id, lc.name, m.peer, m.x1, m.y1, m.x2, m.y2, m.votes"
                                " FROM mistakes m LEFT JOIN classes c ON c.id = m.class_id"
                                " LEFT JOIN classes lc ON lc.id = m.label_class_id"
                                " WHERE (?1 < 0 OR m.image_id = ?1) AND " UNDECIDED
                                " ORDER BY m.score DESC, m.id", error);
  g_autoptr (GPtrArray) out = g_ptr_array_new_with_free_func ((GDestroyNotify) qr_mistake_record_free);
  int rc;

  if (stmt == NULL)
    return NULL;
  sqlite3_bind_int64 (stmt, 1, image_id);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      QrMistakeRecord *r = g_new0 (QrMistakeRecord, 1);
      r->id = sqlite3_column_int64 (stmt, 0);
      r->image_id = sqlite3_column_int64 (stmt, 1);
      r->item_key = g_strdup ((const char *) sqlite3_column_text (stmt, 2));
      r->kind = g_strdup ((const char *) sqlite3_column_text (stmt, 3));
      r->score = sqlite3_column_double (stmt, 4);
      r->class_id = sqlite3_column_int64 (stmt, 5);
      r->class_name = g_strdup ((const char *) sqlite3_column_text (stmt, 6));
      r->label_id = sqlite3_column_type (stmt, 7) == SQLITE_NULL ? -1 : sqlite3_column_int64 (stmt, 7);
      r->label_class_id = sqlite3_column_type (stmt, 8) == SQLITE_NULL ? -1 : sqlite3_column_int64 (stmt, 8);
      r->label_class_name = g_strdup ((const char *) sqlite3_column_text (stmt, 9));
      r->peer = g_strdup ((const char *) sqlite3_column_text (stmt, 10));
      r->box.x1 = sqlite3_column_double (stmt, 11);
      r->box.y1 = sqlite3_column_double (stmt, 12);
      r->box.x2 = sqlite3_column_double (stmt, 13);
      r->box.y2 = sqlite3_column_double (stmt, 14);
      r->votes = g_strdup ((const char *) sqlite3_column_text (stmt, 15));
      g_ptr_array_add (out, r);
    }
  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE)
    {
      set_sql_error (self, error, "listing review items");
      return NULL;
    }
  return g_steal_pointer (&out);
}

gint64
qr_catalog_add_decision (QrCatalog *self, const QrMistakeRecord *item, const char *decision, gint64 label_id,
                         GError **error)
{
  sqlite3_stmt *stmt = prepare (self, "INSERT INTO decisions (item_key, image_id, kind, decision, label_id, who, at_us)"
                                      " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)", error);
  if (stmt == NULL)
    return -1;
  sqlite3_bind_text (stmt, 1, item->item_key, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (stmt, 2, item->image_id);
  sqlite3_bind_text (stmt, 3, item->kind, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 4, decision, -1, SQLITE_STATIC);
  if (label_id > 0)
    sqlite3_bind_int64 (stmt, 5, label_id);
  sqlite3_bind_text (stmt, 6, g_get_user_name (), -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64 (stmt, 7, g_get_real_time ());
  if (!step_done (self, stmt, error))
    return -1;
  return sqlite3_last_insert_rowid (self->db);
}

gboolean
qr_catalog_set_detection_rejected (QrCatalog *self, gint64 detection_id, gboolean rejected, GError **error)
{
  sqlite3_stmt *stmt = prepare (self, rejected ? "INSERT OR REPLACE INTO rejections (detection_id, who, at_us) VALUES (?1, ?2, ?3)"
                                               : "DELETE FROM rejections WHERE detection_id = ?1", error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, detection_id);
  if (rejected)
    {
      sqlite3_bind_text (stmt, 2, g_get_user_name (), -1, SQLITE_TRANSIENT);
      sqlite3_bind_int64 (stmt, 3, g_get_real_time ());
    }
  return step_done (self, stmt, error);
}

gboolean
qr_catalog_set_decision_undone (QrCatalog *self, gint64 decision_id, gboolean undone, GError **error)
{
  sqlite3_stmt *stmt = prepare (self, "UPDATE decisions SET undone_us = ?2 WHERE id = ?1", error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, decision_id);
  if (undone)
    sqlite3_bind_int64 (stmt, 2, g_get_real_time ());
  return step_done (self, stmt, error);
}

gboolean
qr_catalog_count_image_boxes (QrCatalog *self, gint64 image_id, gint64 *labels, gint64 *detections,
                              double *mistake_score, GError **error)
{
  /* one statement for the whole badge: it runs for every gallery cell that is bound */
  sqlite3_stmt *stmt = prepare (self,
                                "SELECT (SELECT count(*) FROM labels WHERE image_id = ?1 AND deleted_us IS NULL),"
                                " (SELECT count(*) FROM detections d JOIN runs r ON r.id = d.run_id WHERE d.image_id = ?1"
                                "  AND r.id = (SELECT max (r2.id) FROM runs r2 WHERE r2.model_id = r.model_id"
                                "              AND r2.state != 'failed')),"
                                " " OPEN_MISTAKES ("?1"), error);
  int rc;

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, image_id);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    {
      *labels = sqlite3_column_int64 (stmt, 0);
      *detections = sqlite3_column_int64 (stmt, 1);
      if (mistake_score != NULL)
        *mistake_score = sqlite3_column_type (stmt, 2) == SQLITE_NULL ? -1 : sqlite3_column_double (stmt, 2);
    }
  else
    set_sql_error (self, error, "counting an image's boxes");
  sqlite3_reset (stmt);
  return rc == SQLITE_ROW;
}

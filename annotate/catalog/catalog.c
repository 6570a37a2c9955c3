/* catalog.c: the catalog as a whole: opening (the file created, WAL and foreign keys set, the
 * schema migrated: schema.c), which collection it describes, transactions, counts and the
 * integrity check. What each table holds is read and written by its own file: images.c,
 * views.c, labels.c, models.c, mistakes.c, thumbnails.c; statements.c runs their SQL. */
#define G_LOG_DOMAIN "quorum-catalog"

#include "catalog-private.h"

#include <unistd.h>

#include <errno.h>
#include <stdlib.h>

G_DEFINE_QUARK (quorum-catalog-error-quark, qr_catalog_error)

G_DEFINE_FINAL_TYPE (QrCatalog, qr_catalog, G_TYPE_OBJECT)

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

static char *
read_meta (QrCatalog *self, const char *key)
{
  QrRows rows;
  char *value = NULL;

  if (!qr_rows_start (&rows, self, "SELECT value FROM collection WHERE key = ?1", QR_ARGS (QR_TEXT (key)),
                      "reading the collection", NULL))
    return NULL;
  if (qr_rows_next (&rows))
    value = qr_rows_text (&rows, 0);
  qr_rows_end (&rows, NULL);
  return value;
}

static gboolean
write_meta (QrCatalog *self, const char *key, const char *value, GError **error)
{
  return qr_catalog_run (self, "INSERT INTO collection (key, value) VALUES (?1, ?2) "
                               "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                         QR_ARGS (QR_TEXT (key), QR_TEXT (value)), error);
}

static int
query_version (QrCatalog *self)
{
  sqlite3_stmt *stmt;
  int version = -1;

  if (sqlite3_prepare_v2 (self->db, "PRAGMA user_version", -1, &stmt, NULL) != SQLITE_OK)
    return -1;
  if (sqlite3_step (stmt) == SQLITE_ROW)
    version = sqlite3_column_int (stmt, 0);
  sqlite3_finalize (stmt);
  return version;
}

static QrCatalog *
open_db (const char *db_path, gboolean create, GError **error)
{
  g_autoptr (QrCatalog) self = g_object_new (QR_TYPE_CATALOG, NULL);
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
  g_autofree char *dir = g_path_get_dirname (db_path);
  g_autofree char *uri = NULL;
  gboolean exists = g_file_test (db_path, G_FILE_TEST_IS_REGULAR);

  self->db_path = g_strdup (db_path);
  /* An existing catalog whose file or folder cannot be written (read-only storage) is read as it
   * is: immutable (no write-ahead log, no locks), and every write says why it cannot be. */
  if (exists && (access (db_path, W_OK) != 0 || access (dir, W_OK) != 0))
    {
      g_autofree char *absolute = g_canonicalize_filename (db_path, NULL);
      g_autofree char *file_uri = g_filename_to_uri (absolute, NULL, NULL);
      self->read_only = TRUE;
      flags = SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_URI;
      uri = g_strconcat (file_uri ? file_uri : "", "?immutable=1", NULL);
    }
  else if (create && g_mkdir_with_parents (dir, 0700) != 0)
    {
      int saved = errno;
      g_set_error (error, QR_CATALOG_ERROR, QR_CATALOG_ERROR_OPEN, "%s: cannot create the folder: %s",
                   dir, g_strerror (saved));
      return NULL;
    }
  if (sqlite3_open_v2 (uri ? uri : db_path, &self->db, flags, NULL) != SQLITE_OK)
    {
      g_set_error (error, QR_CATALOG_ERROR, QR_CATALOG_ERROR_OPEN, "%s: cannot open the catalog: %s",
                   db_path, self->db ? sqlite3_errmsg (self->db) : "out of memory");
      return NULL;
    }
  sqlite3_extended_result_codes (self->db, 1);
  sqlite3_busy_timeout (self->db, 10000);
  /* WAL: readers (thumbnail loaders, the GUI) never block the writer. synchronous=NORMAL in WAL
   * mode cannot corrupt the file; a power cut may lose the last transaction, a crash loses none. */
  if (!qr_catalog_exec (self, self->read_only ? "PRAGMA foreign_keys = ON;"
                                              : "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;"
                                                " PRAGMA foreign_keys = ON;", error))
    {
      g_prefix_error (error, "not a usable catalog: ");
      return NULL;
    }
  if (self->read_only)
    {
      int version = query_version (self);
      if (version != QR_CATALOG_SCHEMA_VERSION)
        {
          g_set_error (error, QR_CATALOG_ERROR, version > QR_CATALOG_SCHEMA_VERSION ? QR_CATALOG_ERROR_VERSION
                                                                                   : QR_CATALOG_ERROR_READ_ONLY,
                       "%s: the catalog is read-only and at schema %d, and this Quorum reads schema %d: open it "
                       "once where it can be written (it is brought up to date then), or copy it and pass --db",
                       db_path, version, QR_CATALOG_SCHEMA_VERSION);
          return NULL;
        }
      self->schema_version = version;
      g_debug ("%s: opened read-only", db_path);
      return g_steal_pointer (&self);
    }
  if (!qr_catalog_migrate (self, error))
    return NULL;
  return g_steal_pointer (&self);
}

gboolean
qr_catalog_is_read_only (QrCatalog *self)
{
  return self->read_only;
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
  if (g_strcmp0 (stored_root, resolved) != 0 && !self->read_only)
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

char *
qr_catalog_resolve_path (QrCatalog *self, const char *relative_path)
{
  return g_build_filename (self->root, relative_path, NULL);
}

gboolean
qr_catalog_begin (QrCatalog *self, GError **error)
{
  g_return_val_if_fail (QR_IS_CATALOG (self), FALSE);
  return qr_catalog_exec (self, "BEGIN IMMEDIATE", error);
}

gboolean
qr_catalog_commit (QrCatalog *self, GError **error)
{
  g_return_val_if_fail (QR_IS_CATALOG (self), FALSE);
  return qr_catalog_exec (self, "COMMIT", error);
}

void
qr_catalog_rollback (QrCatalog *self)
{
  g_return_if_fail (QR_IS_CATALOG (self));
  if (!sqlite3_get_autocommit (self->db))
    qr_catalog_exec (self, "ROLLBACK", NULL);
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
    if ((*queries[i].field = qr_catalog_count (self, queries[i].sql, error)) < 0)
      return FALSE;
  return TRUE;
}

gint64
qr_catalog_count (QrCatalog *self, const char *sql, GError **error)
{
  QrRows rows;
  gint64 n = -1;

  if (!qr_rows_start (&rows, self, sql, NULL, "counting", error))
    return -1;
  if (qr_rows_next (&rows))
    n = sqlite3_column_int64 (rows.stmt, 0);
  else if (rows.rc == SQLITE_DONE)
    qr_catalog_sql_error (self, error, "counting");
  if (!qr_rows_end (&rows, error))
    return -1;
  return n;
}

gboolean
qr_catalog_check_integrity (QrCatalog *self, GError **error)
{
  sqlite3_stmt *stmt;
  g_autofree char *result = NULL;

  if (sqlite3_prepare_v2 (self->db, "PRAGMA integrity_check", -1, &stmt, NULL) != SQLITE_OK)
    return qr_catalog_sql_error (self, error, "checking integrity");
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

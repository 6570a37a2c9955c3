/* statements.c: running the catalog's SQL. Statements are prepared once per connection and
 * cached by their text's address; each use binds its arguments, steps, and resets, and a failure
 * becomes an error naming the catalog file and what was being done. Nothing is built from
 * strings: values are always bound. */
#define G_LOG_DOMAIN "quorum-catalog"

#include "catalog-private.h"

#include <math.h>

gboolean
qr_catalog_sql_error (QrCatalog *self, GError **error, const char *what)
{
  int code = sqlite3_extended_errcode (self->db) & 0xff;

  if (code == SQLITE_FULL)
    g_set_error (error, QR_CATALOG_ERROR, QR_CATALOG_ERROR_SQL,
                 "%s: %s: the disk is full; what this step was writing was not stored (the catalog is as it was "
                 "before it): free some space and try again", self->db_path, what);
  else if (self->read_only && (code == SQLITE_READONLY || code == SQLITE_CANTOPEN))
    g_set_error (error, QR_CATALOG_ERROR, QR_CATALOG_ERROR_READ_ONLY,
                 "%s: the catalog is read-only (its file or folder cannot be written), so %s is not possible here; "
                 "copy it to writable storage and pass --db, or make it writable", self->db_path, what);
  else
    g_set_error (error, QR_CATALOG_ERROR, QR_CATALOG_ERROR_SQL, "%s: %s: %s", self->db_path, what,
                 sqlite3_errmsg (self->db));
  return FALSE;
}

gboolean
qr_catalog_exec (QrCatalog *self, const char *sql, GError **error)
{
  char *message = NULL;

  if (sqlite3_exec (self->db, sql, NULL, NULL, &message) != SQLITE_OK)
    {
      int code = sqlite3_extended_errcode (self->db) & 0xff;
      if (self->read_only && code == SQLITE_READONLY)
        g_set_error (error, QR_CATALOG_ERROR, QR_CATALOG_ERROR_READ_ONLY,
                     "%s: the catalog is read-only (its file or folder cannot be written); copy it to writable "
                     "storage and pass --db, or make it writable", self->db_path);
      else if (code == SQLITE_FULL)
        qr_catalog_sql_error (self, error, "writing");
      else
        g_set_error (error, QR_CATALOG_ERROR, QR_CATALOG_ERROR_SQL, "%s: %s", self->db_path,
                     message ? message : sqlite3_errmsg (self->db));
      sqlite3_free (message);
      return FALSE;
    }
  return TRUE;
}

sqlite3_stmt *
qr_catalog_prepare (QrCatalog *self, const char *sql, GError **error)
{
  sqlite3_stmt *stmt = g_hash_table_lookup (self->statements, sql);

  if (stmt == NULL)
    {
      if (sqlite3_prepare_v3 (self->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, NULL) != SQLITE_OK)
        {
          qr_catalog_sql_error (self, error, "preparing a statement");
          return NULL;
        }
      g_hash_table_insert (self->statements, (gpointer) sql, stmt);
    }
  sqlite3_reset (stmt);
  sqlite3_clear_bindings (stmt);
  return stmt;
}

static void
bind (sqlite3_stmt *stmt, const QrSqlArg *args)
{
  int at = 1;

  for (const QrSqlArg *a = args; a != NULL && a->type != QR_ARG_END; a++)
    switch (a->type)
      {
      case QR_ARG_INT:
        sqlite3_bind_int64 (stmt, at++, a->v.i);
        break;
      case QR_ARG_REAL:
        sqlite3_bind_double (stmt, at++, a->v.d);
        break;
      case QR_ARG_TEXT:
        sqlite3_bind_text (stmt, at++, a->v.t, -1, SQLITE_STATIC);
        break;
      case QR_ARG_ID:
        if (a->v.i > 0)
          sqlite3_bind_int64 (stmt, at, a->v.i);
        at++;
        break;
      case QR_ARG_BOX:
        sqlite3_bind_double (stmt, at++, a->v.box->x1);
        sqlite3_bind_double (stmt, at++, a->v.box->y1);
        sqlite3_bind_double (stmt, at++, a->v.box->x2);
        sqlite3_bind_double (stmt, at++, a->v.box->y2);
        break;
      case QR_ARG_BLOB:
        {
          gsize len = 0;
          gconstpointer data = g_bytes_get_data (a->v.blob, &len);
          sqlite3_bind_blob64 (stmt, at++, data, len, SQLITE_STATIC);
        }
        break;
      case QR_ARG_NULL:
      case QR_ARG_END:
      default:
        at++;
        break;
      }
}

gboolean
qr_catalog_run (QrCatalog *self, const char *sql, const QrSqlArg *args, GError **error)
{
  sqlite3_stmt *stmt = qr_catalog_prepare (self, sql, error);
  int rc;

  if (stmt == NULL)
    return FALSE;
  bind (stmt, args);
  rc = sqlite3_step (stmt);
  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE && rc != SQLITE_ROW)
    return qr_catalog_sql_error (self, error, "writing");
  return TRUE;
}

gint64
qr_catalog_insert (QrCatalog *self, const char *sql, const QrSqlArg *args, const char *what, GError **error)
{
  sqlite3_stmt *stmt = qr_catalog_prepare (self, sql, error);
  gint64 id = -1;

  if (stmt == NULL)
    return -1;
  bind (stmt, args);
  if (sqlite3_step (stmt) == SQLITE_ROW)
    id = sqlite3_column_int64 (stmt, 0);
  else
    qr_catalog_sql_error (self, error, what);
  sqlite3_reset (stmt);
  return id;
}

gboolean
qr_rows_start (QrRows *rows, QrCatalog *self, const char *sql, const QrSqlArg *args, const char *what,
               GError **error)
{
  rows->catalog = self;
  rows->what = what;
  rows->rc = SQLITE_DONE;
  rows->stmt = qr_catalog_prepare (self, sql, error);
  if (rows->stmt == NULL)
    return FALSE;
  bind (rows->stmt, args);
  return TRUE;
}

gboolean
qr_rows_next (QrRows *rows)
{
  rows->rc = sqlite3_step (rows->stmt);
  return rows->rc == SQLITE_ROW;
}

gboolean
qr_rows_end (QrRows *rows, GError **error)
{
  sqlite3_reset (rows->stmt);
  if (rows->rc != SQLITE_DONE && rows->rc != SQLITE_ROW)
    return qr_catalog_sql_error (rows->catalog, error, rows->what);
  return TRUE;
}

char *
qr_rows_text (QrRows *rows, int column)
{
  return g_strdup ((const char *) sqlite3_column_text (rows->stmt, column));
}

gint64
qr_rows_id (QrRows *rows, int column)
{
  return sqlite3_column_type (rows->stmt, column) == SQLITE_NULL ? -1 : sqlite3_column_int64 (rows->stmt, column);
}

void
qr_rows_box (QrRows *rows, int first_column, QrBox *box)
{
  box->x1 = sqlite3_column_double (rows->stmt, first_column);
  box->y1 = sqlite3_column_double (rows->stmt, first_column + 1);
  box->x2 = sqlite3_column_double (rows->stmt, first_column + 2);
  box->y2 = sqlite3_column_double (rows->stmt, first_column + 3);
}

gboolean
qr_catalog_check_box (const QrBox *box, GError **error)
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

GArray *
qr_catalog_list_ids (QrCatalog *self, const char *sql, const QrSqlArg *args, const char *what, GError **error)
{
  g_autoptr (GArray) ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  QrRows rows;

  if (!qr_rows_start (&rows, self, sql, args, what, error))
    return NULL;
  while (qr_rows_next (&rows))
    {
      gint64 id = sqlite3_column_int64 (rows.stmt, 0);
      g_array_append_val (ids, id);
    }
  return qr_rows_end (&rows, error) ? g_steal_pointer (&ids) : NULL;
}

/* catalog-private.h: what the catalog's files share: the connection, its statement cache, errors
 * that name the catalog file, and one way to run a statement (prepare from the cache, bind,
 * step, reset) so that each function says only its SQL, its arguments and what it reads back. */
#pragma once

#include "qr-catalog.h"

#include <sqlite3.h>

G_BEGIN_DECLS

struct _QrCatalog
{
  GObject     parent_instance;

  sqlite3    *db;
  GHashTable *statements;  /* SQL text (static strings) → sqlite3_stmt* */
  char       *root;
  char       *db_path;
  int         schema_version;
  gboolean    read_only;   /* opened read-only: its file or folder cannot be written */
};

/* schema.c: brings the file to QR_CATALOG_SCHEMA_VERSION, one transaction per migration. */
gboolean      qr_catalog_migrate   (QrCatalog   *self,
                                    GError     **error);

/* FALSE, with "DB_PATH: what: SQLite's message". */
gboolean      qr_catalog_sql_error (QrCatalog   *self,
                                    GError     **error,
                                    const char  *what);
/* SQL text run as it is (pragmas, transactions, migrations). */
gboolean      qr_catalog_exec      (QrCatalog   *self,
                                    const char  *sql,
                                    GError     **error);
/* A cached prepared statement, reset and unbound, or NULL with error set. sql must be a static
 * string: the cache is keyed by its address. */
sqlite3_stmt *qr_catalog_prepare   (QrCatalog   *self,
                                    const char  *sql,
                                    GError     **error);

/* A statement's arguments, bound to ?1, ?2, … in order (a box takes four), written
 * QR_ARGS (QR_INT (id), QR_TEXT (name)); NULL for none. */
typedef enum
{
  QR_ARG_END,
  QR_ARG_INT,
  QR_ARG_REAL,
  QR_ARG_TEXT,     /* NULL binds NULL */
  QR_ARG_ID,       /* a row id, NULL when ≤ 0 */
  QR_ARG_BOX,      /* x1, y1, x2, y2 */
  QR_ARG_BLOB,
  QR_ARG_NULL,
} QrSqlArgType;

typedef struct
{
  QrSqlArgType type;
  union
  {
    gint64       i;
    double       d;
    const char  *t;
    const QrBox *box;
    GBytes      *blob;
  } v;
} QrSqlArg;

#define QR_INT(x)   ((QrSqlArg) { QR_ARG_INT, { .i = (x) } })
#define QR_REAL(x)  ((QrSqlArg) { QR_ARG_REAL, { .d = (x) } })
#define QR_TEXT(x)  ((QrSqlArg) { QR_ARG_TEXT, { .t = (x) } })
#define QR_ID(x)    ((QrSqlArg) { QR_ARG_ID, { .i = (x) } })
#define QR_BOX(x)   ((QrSqlArg) { QR_ARG_BOX, { .box = (x) } })
#define QR_BLOB(x)  ((QrSqlArg) { QR_ARG_BLOB, { .blob = (x) } })
#define QR_NULL     ((QrSqlArg) { QR_ARG_NULL, { .i = 0 } })
#define QR_ARGS(...) ((const QrSqlArg[]) { __VA_ARGS__, ((QrSqlArg) { QR_ARG_END, { .i = 0 } }) })

/* A statement that returns no rows; FALSE with error ("writing"). */
gboolean      qr_catalog_run       (QrCatalog      *self,
                                    const char     *sql,
                                    const QrSqlArg *args,
                                    GError        **error);
/* An INSERT … RETURNING id: the id, or -1 with error (what) when no row comes back. */
gint64        qr_catalog_insert    (QrCatalog      *self,
                                    const char     *sql,
                                    const QrSqlArg *args,
                                    const char     *what,
                                    GError        **error);

/* A query's rows: qr_rows_start, then qr_rows_next while it gives a row (read rows.stmt's
 * columns), then qr_rows_end, which resets the statement and says whether a step failed. */
typedef struct
{
  QrCatalog    *catalog;
  sqlite3_stmt *stmt;
  const char   *what;     /* for the error: "listing classes" */
  int           rc;       /* the last step's: SQLITE_ROW, SQLITE_DONE or an error */
} QrRows;

gboolean      qr_rows_start        (QrRows         *rows,
                                    QrCatalog      *self,
                                    const char     *sql,
                                    const QrSqlArg *args,
                                    const char     *what,
                                    GError        **error);
gboolean      qr_rows_next         (QrRows         *rows);
/* TRUE when the query ended well (or was left after a row); FALSE with error (what). */
gboolean      qr_rows_end          (QrRows         *rows,
                                    GError        **error);
/* A column as a new string (NULL for NULL), a nullable id (-1 for NULL), four columns as a box. */
char         *qr_rows_text         (QrRows         *rows,
                                    int             column);
gint64        qr_rows_id           (QrRows         *rows,
                                    int             column);
void          qr_rows_box          (QrRows         *rows,
                                    int             first_column,
                                    QrBox          *box);

/* The first column of a query's single row (count(*)), -1 with error. */
gint64        qr_catalog_count     (QrCatalog      *self,
                                    const char     *sql,
                                    GError        **error);

/* A query's first column as ids, in the query's order (GArray of gint64). */
GArray       *qr_catalog_list_ids  (QrCatalog      *self,
                                    const char     *sql,
                                    const QrSqlArg *args,
                                    const char     *what,
                                    GError        **error);

/* Boxes stored must be finite with x2 ≥ x1, y2 ≥ y1. */
gboolean      qr_catalog_check_box (const QrBox    *box,
                                    GError        **error);

/* The columns of an image record, in image_from_row's order. */
#define QR_IMAGE_COLUMNS "id, path, size, mtime_us, width, height, orientation, format, hash, state, reason"
QrImageRecord *qr_catalog_image_from_row (QrRows   *rows);
/* A query of QR_IMAGE_COLUMNS as records (GPtrArray of QrImageRecord). */
GPtrArray    *qr_catalog_list_image_rows (QrCatalog      *self,
                                          const char     *sql,
                                          const QrSqlArg *args,
                                          const char     *what,
                                          GError        **error);

/* A review item is open while its key has no live decision: the one rule for the queue. */
#define QR_UNDECIDED \
  "NOT EXISTS (SELECT 1 FROM decisions x WHERE x.item_key = m.item_key AND x.undone_us IS NULL)"
/* An image's highest open review item. */
#define QR_OPEN_MISTAKES(image) \
  "(SELECT m.score FROM mistakes m WHERE m.image_id = " image " AND " QR_UNDECIDED " ORDER BY m.score DESC LIMIT 1)"

G_END_DECLS

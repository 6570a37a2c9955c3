/* views.c: what the gallery shows, filtered and sorted in SQLite: the views (all, unlabeled,
 * labeled, unreadable, one class, the review queue by kind and class) with their counts for the
 * sidebar, the classes with their image counts, and each cell's badge. */
#define G_LOG_DOMAIN "quorum-catalog"

#include "catalog-private.h"

const char *const qr_review_kind_names[QR_REVIEW_N_KINDS] = { "missing", "spurious", "wrong_class", "poorly_located",
                                                              "model_mistake", "caption" };

/* The review view's filter on an item m: ?2 ≠ 0 keeps the kind ?3, ?4 ≠ 0 the class ?4. */
#define REVIEW_FILTER "(?2 = 0 OR m.kind = ?3) AND (?4 = 0 OR m.class_id = ?4 OR m.label_class_id = ?4)"

/* A detection d the viewer draws (at its Min Score): from its model's latest run that did not fail,
 * not rejected. */
#define SHOWN_DETECTION \
  "d.run_id IN (SELECT max (r.id) FROM runs r WHERE r.state != 'failed' GROUP BY r.model_id)" \
  " AND NOT EXISTS (SELECT 1 FROM rejections j WHERE j.detection_id = d.id)"

/* Image `image` has no live label and a shown model box at or above `score`. */
#define PREDICTED_UNLABELED(image, score) \
  "NOT EXISTS (SELECT 1 FROM labels l WHERE l.image_id = " image " AND l.deleted_us IS NULL)" \
  " AND EXISTS (SELECT 1 FROM detections d WHERE d.image_id = " image " AND d.score >= " score \
  "             AND " SHOWN_DETECTION ")"
/* Image `image` has a live label that no shown model box of its class at or above `score`
 * overlaps at IoU ≥ 0.5: a label no peer confirms. */
#define UNCONFIRMED(image, score) \
  "EXISTS (SELECT 1 FROM labels l WHERE l.image_id = " image " AND l.deleted_us IS NULL" \
  " AND NOT EXISTS (SELECT 1 FROM detections d WHERE d.image_id = l.image_id AND d.class_id = l.class_id" \
  "   AND d.score >= " score " AND " SHOWN_DETECTION \
  "   AND 2 * max (0, min (l.x2, d.x2) - max (l.x1, d.x1)) * max (0, min (l.y2, d.y2) - max (l.y1, d.y1))" \
  "       >= (l.x2 - l.x1) * (l.y2 - l.y1) + (d.x2 - d.x1) * (d.y2 - d.y1)" \
  "          - max (0, min (l.x2, d.x2) - max (l.x1, d.x1)) * max (0, min (l.y2, d.y2) - max (l.y1, d.y1))))"

#define VIEW_WHERE \
  "SELECT i.id FROM images i WHERE" \
  " (?1 = 0 AND i.state IN ('ok', 'unreadable'))" \
  " OR (?1 = 1 AND i.state = 'ok' AND NOT EXISTS (SELECT 1 FROM labels l WHERE l.image_id = i.id AND l.deleted_us IS NULL))" \
  " OR (?1 = 2 AND i.state = 'ok' AND EXISTS (SELECT 1 FROM labels l WHERE l.image_id = i.id AND l.deleted_us IS NULL))" \
  " OR (?1 = 3 AND i.state = 'unreadable')" \
  " OR (?1 = 4 AND i.state = 'ok' AND (EXISTS (SELECT 1 FROM labels l WHERE l.image_id = i.id AND l.class_id = ?2" \
  "      AND l.deleted_us IS NULL) OR EXISTS (SELECT 1 FROM detections d WHERE d.image_id = i.id AND d.class_id = ?2" \
  "      AND d.score >= ?5 AND " SHOWN_DETECTION ")))" \
  " OR (?1 = 5 AND i.state = 'ok' AND EXISTS (SELECT 1 FROM mistakes m WHERE m.image_id = i.id" \
  "      AND " REVIEW_FILTER " AND " QR_UNDECIDED "))" \
  " OR (?1 = 6 AND i.state = 'ok' AND " PREDICTED_UNLABELED ("i.id", "?5") ")" \
  " OR (?1 = 7 AND i.state = 'ok' AND " UNCONFIRMED ("i.id", "?5") ")"

static GArray *
list_view (QrCatalog *self, QrImageView view, gint64 class_id, gint64 review_class, QrImageSort sort, double min_score,
           GError **error)
{
  /* One statement per sort order: ORDER BY cannot be a parameter. The review queue is always
   * by score: the best item among those its filter keeps. */
  static const char *const by_name = VIEW_WHERE " ORDER BY i.state = 'unreadable', i.path";
  static const char *const by_date = VIEW_WHERE " ORDER BY i.state = 'unreadable', i.mtime_us DESC, i.path";
  static const char *const by_mistakes =
    VIEW_WHERE " ORDER BY i.state = 'unreadable', coalesce (" QR_OPEN_MISTAKES ("i.id") ", -1) DESC, i.path";
  static const char *const review =
    VIEW_WHERE " ORDER BY (SELECT max (m.score) FROM mistakes m WHERE m.image_id = i.id AND " REVIEW_FILTER
    " AND " QR_UNDECIDED ") DESC, i.path";
  const char *sql = view == QR_VIEW_REVIEW ? review : sort == QR_SORT_MISTAKES ? by_mistakes
                    : sort == QR_SORT_NEWEST ? by_date : by_name;

  /* the review view: class_id 1..QR_REVIEW_N_KINDS picks one kind of item, review_class one class */
  if (view == QR_VIEW_REVIEW)
    {
      gboolean one_kind = class_id >= 1 && class_id <= QR_REVIEW_N_KINDS;
      return qr_catalog_list_ids (self, sql,
                                  QR_ARGS (QR_INT (view), QR_INT (one_kind ? class_id : 0),
                                           QR_TEXT (one_kind ? qr_review_kind_names[class_id - 1] : ""),
                                           QR_INT (review_class), QR_REAL (min_score)), "listing a view", error);
    }
  return qr_catalog_list_ids (self, sql, QR_ARGS (QR_INT (view), QR_INT (class_id), QR_NULL, QR_INT (0),
                                                  QR_REAL (min_score)), "listing a view", error);
}

GArray *
qr_catalog_list_view (QrCatalog *self, QrImageView view, gint64 class_id, QrImageSort sort, GError **error)
{
  return list_view (self, view, class_id, 0, sort, 0.0, error);
}

GArray *
qr_catalog_list_view_scored (QrCatalog *self, QrImageView view, gint64 class_id, QrImageSort sort, double min_score,
                             GError **error)
{
  return list_view (self, view, class_id, 0, sort, min_score, error);
}

GArray *
qr_catalog_list_review (QrCatalog *self, int kind, gint64 class_id, GError **error)
{
  return list_view (self, QR_VIEW_REVIEW, kind, class_id, QR_SORT_MISTAKES, 0.0, error);
}

static gint64
count_scored (QrCatalog *self, const char *sql, double min_score, GError **error)
{
  QrRows rows;
  gint64 n = -1;

  if (!qr_rows_start (&rows, self, sql, QR_ARGS (QR_REAL (min_score)), "counting a view", error))
    return -1;
  if (qr_rows_next (&rows))
    n = sqlite3_column_int64 (rows.stmt, 0);
  return qr_rows_end (&rows, error) ? n : -1;
}

gboolean
qr_catalog_count_views (QrCatalog *self, double min_score, gint64 *counts, GError **error)
{
  counts[0] = qr_catalog_count (self, "SELECT count(*) FROM images WHERE state IN ('ok', 'unreadable')", error);
  counts[1] = counts[0] < 0 ? -1 : qr_catalog_count (self, "SELECT count(*) FROM images i WHERE i.state = 'ok' AND NOT EXISTS"
                                                           " (SELECT 1 FROM labels l WHERE l.image_id = i.id AND l.deleted_us IS NULL)", error);
  counts[2] = counts[1] < 0 ? -1 : qr_catalog_count (self, "SELECT count(*) FROM images i WHERE i.state = 'ok' AND EXISTS"
                                                           " (SELECT 1 FROM labels l WHERE l.image_id = i.id AND l.deleted_us IS NULL)", error);
  counts[3] = counts[2] < 0 ? -1 : qr_catalog_count (self, "SELECT count(*) FROM images WHERE state = 'unreadable'", error);
  counts[4] = counts[3] < 0 ? -1 : qr_catalog_count (self, "SELECT count(*) FROM images i WHERE i.state = 'ok' AND "
                                                           QR_OPEN_MISTAKES ("i.id") " IS NOT NULL", error);
  counts[5] = counts[4] < 0 ? -1 : count_scored (self, "SELECT count(*) FROM images i WHERE i.state = 'ok' AND "
                                                       PREDICTED_UNLABELED ("i.id", "?1"), min_score, error);
  counts[6] = counts[5] < 0 ? -1 : count_scored (self, "SELECT count(*) FROM images i WHERE i.state = 'ok' AND "
                                                       UNCONFIRMED ("i.id", "?1"), min_score, error);
  return counts[6] >= 0;
}

gboolean
qr_catalog_count_review_kinds (QrCatalog *self, gint64 *counts, GError **error)
{
  for (int k = 0; k < QR_REVIEW_N_KINDS; k++)
    {
      QrRows rows;
      if (!qr_rows_start (&rows, self, "SELECT count (DISTINCT m.image_id) FROM mistakes m JOIN images i"
                                       " ON i.id = m.image_id WHERE i.state = 'ok' AND m.kind = ?1 AND " QR_UNDECIDED,
                          QR_ARGS (QR_TEXT (qr_review_kind_names[k])), "counting review items", error))
        return FALSE;
      if (qr_rows_next (&rows))
        counts[k] = sqlite3_column_int64 (rows.stmt, 0);
      else if (rows.rc == SQLITE_DONE)
        rows.rc = SQLITE_ERROR;   /* a count always has its row */
      if (!qr_rows_end (&rows, error))
        return FALSE;
    }
  return TRUE;
}

/* A query of (id, name, count) rows into three parallel arrays. */
static gboolean
list_counted (QrCatalog *self, const char *sql, const QrSqlArg *args, const char *what, GArray **ids,
              GPtrArray **names, GArray **counts, GError **error)
{
  QrRows rows;

  if (!qr_rows_start (&rows, self, sql, args, what, error))
    return FALSE;
  *ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  *names = g_ptr_array_new_with_free_func (g_free);
  *counts = g_array_new (FALSE, FALSE, sizeof (gint64));
  while (qr_rows_next (&rows))
    {
      gint64 id = sqlite3_column_int64 (rows.stmt, 0), n = sqlite3_column_int64 (rows.stmt, 2);
      g_array_append_val (*ids, id);
      g_ptr_array_add (*names, qr_rows_text (&rows, 1));
      g_array_append_val (*counts, n);
    }
  if (!qr_rows_end (&rows, error))
    {
      g_clear_pointer (ids, g_array_unref);
      g_clear_pointer (names, g_ptr_array_unref);
      g_clear_pointer (counts, g_array_unref);
      return FALSE;
    }
  return TRUE;
}

gboolean
qr_catalog_review_classes (QrCatalog *self, int kind, GArray **ids, GPtrArray **names, GArray **counts,
                           GError **error)
{
  return list_counted (self,
                       "WITH open (image_id, cls) AS ("
                       "  SELECT m.image_id, m.class_id FROM mistakes m JOIN images i ON i.id = m.image_id"
                       "  WHERE i.state = 'ok' AND (?1 = '' OR m.kind = ?1) AND " QR_UNDECIDED
                       "  UNION SELECT m.image_id, m.label_class_id FROM mistakes m JOIN images i ON i.id = m.image_id"
                       "  WHERE i.state = 'ok' AND m.label_class_id IS NOT NULL AND (?1 = '' OR m.kind = ?1) AND "
                       QR_UNDECIDED ")"
                       " SELECT o.cls, c.name, count (DISTINCT o.image_id) FROM open o JOIN classes c ON c.id = o.cls"
                       " GROUP BY o.cls ORDER BY count (DISTINCT o.image_id) DESC, c.name",
                       QR_ARGS (QR_TEXT (kind >= 1 && kind <= QR_REVIEW_N_KINDS ? qr_review_kind_names[kind - 1] : "")),
                       "listing the review queue's classes", ids, names, counts, error);
}

gboolean
qr_catalog_count_image_boxes (QrCatalog *self, gint64 image_id, double min_score, QrImageCounts *out, GError **error)
{
  QrRows rows;
  gboolean found;

  /* one statement for the whole badge: it runs for every gallery cell that is bound */
  if (!qr_rows_start (&rows, self,
                      "SELECT (SELECT count(*) FROM labels WHERE image_id = ?1 AND deleted_us IS NULL),"
                      " (SELECT count(*) FROM detections d JOIN runs r ON r.id = d.run_id WHERE d.image_id = ?1"
                      "  AND d.score >= ?2 AND NOT EXISTS (SELECT 1 FROM rejections j WHERE j.detection_id = d.id)"
                      "  AND r.id = (SELECT max (r2.id) FROM runs r2 WHERE r2.model_id = r.model_id"
                      "              AND r2.state != 'failed')),"
                      " " QR_OPEN_MISTAKES ("?1") ","
                      " EXISTS (SELECT 1 FROM review v WHERE v.image_id = ?1 AND v.state = 'reviewed')",
                      QR_ARGS (QR_INT (image_id), QR_REAL (min_score)), "counting an image's boxes", error))
    return FALSE;
  found = qr_rows_next (&rows);
  if (found)
    {
      out->labels = sqlite3_column_int64 (rows.stmt, 0);
      out->detections = sqlite3_column_int64 (rows.stmt, 1);
      out->mistake_score = sqlite3_column_type (rows.stmt, 2) == SQLITE_NULL ? -1 : sqlite3_column_double (rows.stmt, 2);
      out->reviewed = sqlite3_column_int (rows.stmt, 3) != 0;
    }
  else if (rows.rc == SQLITE_DONE)
    rows.rc = SQLITE_ERROR;
  qr_rows_end (&rows, error);
  return found;
}

gboolean
qr_catalog_class_counts (QrCatalog *self, double min_score, GArray **class_ids, GPtrArray **names, GArray **labelled,
                         GArray **predicted, GError **error)
{
  QrRows rows;

  if (!qr_rows_start (&rows, self,
                      "WITH lab (cls, n) AS (SELECT class_id, count (DISTINCT image_id) FROM labels"
                      "                      WHERE deleted_us IS NULL GROUP BY class_id),"
                      " pred (cls, n) AS (SELECT d.class_id, count (DISTINCT d.image_id) FROM detections d"
                      "                   WHERE d.score >= ?1 AND " SHOWN_DETECTION " GROUP BY d.class_id)"
                      " SELECT c.id, c.name, coalesce (lab.n, 0) AS nl, coalesce (pred.n, 0) AS np FROM classes c"
                      " LEFT JOIN lab ON lab.cls = c.id LEFT JOIN pred ON pred.cls = c.id"
                      " WHERE nl + np > 0 ORDER BY nl DESC, np DESC, c.name",
                      QR_ARGS (QR_REAL (min_score)), "counting classes", error))
    return FALSE;
  *class_ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  *names = g_ptr_array_new_with_free_func (g_free);
  *labelled = g_array_new (FALSE, FALSE, sizeof (gint64));
  *predicted = g_array_new (FALSE, FALSE, sizeof (gint64));
  while (qr_rows_next (&rows))
    {
      gint64 id = sqlite3_column_int64 (rows.stmt, 0), nl = sqlite3_column_int64 (rows.stmt, 2),
             np = sqlite3_column_int64 (rows.stmt, 3);
      g_array_append_val (*class_ids, id);
      g_ptr_array_add (*names, qr_rows_text (&rows, 1));
      g_array_append_val (*labelled, nl);
      g_array_append_val (*predicted, np);
    }
  if (!qr_rows_end (&rows, error))
    {
      g_clear_pointer (class_ids, g_array_unref);
      g_clear_pointer (names, g_ptr_array_unref);
      g_clear_pointer (labelled, g_array_unref);
      g_clear_pointer (predicted, g_array_unref);
      return FALSE;
    }
  return TRUE;
}

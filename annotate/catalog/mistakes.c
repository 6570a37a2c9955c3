/* mistakes.c: the review queue as stored: peer pressure's items (replaced whole when the queue is
 * recomputed, each with a key that stays the same across recomputations), the decisions taken on
 * them (kept for good: an item whose key has a live decision stays out of the queue; undo marks a
 * decision undone), and the model boxes rejected in the viewer. */
#define G_LOG_DOMAIN "quorum-catalog"

#include "catalog-private.h"

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
  g_free (r->reason);
  g_free (r);
}

QrMistakeRecord *
qr_mistake_record_copy (const QrMistakeRecord *r)
{
  QrMistakeRecord *c = g_memdup2 (r, sizeof *r);

  c->item_key = g_strdup (r->item_key);
  c->kind = g_strdup (r->kind);
  c->class_name = g_strdup (r->class_name);
  c->label_class_name = g_strdup (r->label_class_name);
  c->peer = g_strdup (r->peer);
  c->votes = g_strdup (r->votes);
  c->reason = g_strdup (r->reason);
  return c;
}

gboolean
qr_catalog_replace_mistakes (QrCatalog *self, GPtrArray *records, GError **error)
{
  if (!qr_catalog_begin (self, error))
    return FALSE;
  if (!qr_catalog_exec (self, "DELETE FROM mistakes", error))
    goto fail;
  for (guint i = 0; i < records->len; i++)
    {
      QrMistakeRecord *r = records->pdata[i];
      if (!qr_catalog_run (self, "INSERT INTO mistakes (image_id, item_key, kind, score, class_id, label_id,"
                                 " label_class_id, peer, x1, y1, x2, y2, votes, caption_id, reason)"
                                 " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
                           QR_ARGS (QR_INT (r->image_id), QR_TEXT (r->item_key), QR_TEXT (r->kind), QR_REAL (r->score),
                                    QR_ID (r->class_id), QR_ID (r->label_id), QR_ID (r->label_class_id),
                                    QR_TEXT (r->peer), QR_BOX (&r->box), QR_TEXT (r->votes ? r->votes : "{}"),
                                    QR_ID (r->caption_id > 0 ? r->caption_id : -1), QR_TEXT (r->reason)),
                           error))
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
  g_autoptr (GPtrArray) out = g_ptr_array_new_with_free_func ((GDestroyNotify) qr_mistake_record_free);
  QrRows rows;

  if (!qr_rows_start (&rows, self,
                      "SELECT m.id, m.image_id, m.item_key, m.kind, m.score, m.class_id, c.name, m.label_id,"
                      " m.label_class_id, lc.name, m.peer, m.x1, m.y1, m.x2, m.y2, m.votes, m.caption_id, m.reason"
                      " FROM mistakes m LEFT JOIN classes c ON c.id = m.class_id"
                      " LEFT JOIN classes lc ON lc.id = m.label_class_id"
                      " WHERE (?1 < 0 OR m.image_id = ?1) AND " QR_UNDECIDED
                      " ORDER BY m.score DESC, m.id",
                      QR_ARGS (QR_INT (image_id)), "listing review items", error))
    return NULL;
  while (qr_rows_next (&rows))
    {
      QrMistakeRecord *r = g_new0 (QrMistakeRecord, 1);
      r->id = sqlite3_column_int64 (rows.stmt, 0);
      r->image_id = sqlite3_column_int64 (rows.stmt, 1);
      r->item_key = qr_rows_text (&rows, 2);
      r->kind = qr_rows_text (&rows, 3);
      r->score = sqlite3_column_double (rows.stmt, 4);
      r->class_id = sqlite3_column_int64 (rows.stmt, 5);
      r->class_name = qr_rows_text (&rows, 6);
      r->label_id = qr_rows_id (&rows, 7);
      r->label_class_id = qr_rows_id (&rows, 8);
      r->label_class_name = qr_rows_text (&rows, 9);
      r->peer = qr_rows_text (&rows, 10);
      qr_rows_box (&rows, 11, &r->box);
      r->votes = qr_rows_text (&rows, 15);
      r->caption_id = qr_rows_id (&rows, 16);
      r->reason = qr_rows_text (&rows, 17);
      g_ptr_array_add (out, r);
    }
  return qr_rows_end (&rows, error) ? g_steal_pointer (&out) : NULL;
}

gint64
qr_catalog_add_decision (QrCatalog *self, const QrMistakeRecord *item, const char *decision, gint64 label_id,
                         GError **error)
{
  if (!qr_catalog_run (self, "INSERT INTO decisions (item_key, image_id, kind, decision, label_id, who, at_us)"
                             " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                       QR_ARGS (QR_TEXT (item->item_key), QR_INT (item->image_id), QR_TEXT (item->kind),
                                QR_TEXT (decision), QR_ID (label_id), QR_TEXT (g_get_user_name ()),
                                QR_INT (g_get_real_time ())), error))
    return -1;
  return sqlite3_last_insert_rowid (self->db);
}

gboolean
qr_catalog_set_decision_undone (QrCatalog *self, gint64 decision_id, gboolean undone, GError **error)
{
  return qr_catalog_run (self, "UPDATE decisions SET undone_us = ?2 WHERE id = ?1",
                         QR_ARGS (QR_INT (decision_id), undone ? QR_INT (g_get_real_time ()) : QR_NULL), error);
}

gboolean
qr_catalog_set_detection_rejected (QrCatalog *self, gint64 detection_id, gboolean rejected, GError **error)
{
  if (rejected)
    return qr_catalog_run (self, "INSERT OR REPLACE INTO rejections (detection_id, who, at_us) VALUES (?1, ?2, ?3)",
                           QR_ARGS (QR_INT (detection_id), QR_TEXT (g_get_user_name ()), QR_INT (g_get_real_time ())),
                           error);
  return qr_catalog_run (self, "DELETE FROM rejections WHERE detection_id = ?1", QR_ARGS (QR_INT (detection_id)), error);
}

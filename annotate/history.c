/* history.c: see qr-history.h. An edit is an operation on one label (or caption) with what it was
 * before and after; undo applies "before", redo "after". A new edit clears the redo stack. A
 * caption's texts live in a pool the history owns, so that operations stay plain values. */
#define G_LOG_DOMAIN "quorum-history"

#include "qr-history.h"

typedef enum { OP_CREATE, OP_DELETE, OP_UPDATE, OP_DECISION, OP_REJECT, OP_CAPTION_CREATE, OP_CAPTION_DELETE,
               OP_CAPTION_TEXT } OpKind;

typedef struct
{
  OpKind   kind;
  gint64   label_id;      /* OP_DECISION: the decision's id */
  gint64   class_before, class_after;
  QrBox    before, after;
  gboolean joined;        /* undone and redone together with the op below it */
  const char *text_before, *text_after;  /* OP_CAPTION_TEXT, in the pool; label_id is the caption's */
} Op;

struct _QrHistory
{
  GObject    parent_instance;

  /* Owned references */
  QrCatalog *catalog;
  GArray    *undo;   /* Op */
  GArray    *redo;   /* Op */
  GStringChunk *texts;  /* captions' texts the ops point into */
};

G_DEFINE_FINAL_TYPE (QrHistory, qr_history, G_TYPE_OBJECT)

enum { CHANGED, N_SIGNALS };
static guint signals[N_SIGNALS];

static void
qr_history_finalize (GObject *object)
{
  QrHistory *self = QR_HISTORY (object);

  g_clear_object (&self->catalog);
  g_array_unref (self->undo);
  g_array_unref (self->redo);
  g_string_chunk_free (self->texts);
  G_OBJECT_CLASS (qr_history_parent_class)->finalize (object);
}

static void
qr_history_class_init (QrHistoryClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = qr_history_finalize;
  signals[CHANGED] = g_signal_new ("changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                   G_TYPE_NONE, 0);
}

static void
qr_history_init (QrHistory *self)
{
  self->undo = g_array_new (FALSE, FALSE, sizeof (Op));
  self->redo = g_array_new (FALSE, FALSE, sizeof (Op));
  self->texts = g_string_chunk_new (1024);
}

QrHistory *
qr_history_new (QrCatalog *catalog)
{
  QrHistory *self = g_object_new (QR_TYPE_HISTORY, NULL);
  self->catalog = g_object_ref (catalog);
  return self;
}

QrCatalog *
qr_history_get_catalog (QrHistory *self)
{
  return self->catalog;
}

static void
record (QrHistory *self, const Op *op)
{
  g_array_append_val (self->undo, *op);
  g_array_set_size (self->redo, 0);
  g_signal_emit (self, signals[CHANGED], 0);
}

gint64
qr_history_add_label (QrHistory *self, gint64 image_id, gint64 class_id, const QrBox *box, QrLabelSource source,
                      const char *provenance, GError **error)
{
  Op op = { OP_CREATE, 0, class_id, class_id, *box, *box };

  op.label_id = qr_catalog_add_label (self->catalog, image_id, class_id, box, source, provenance, error);
  if (op.label_id < 0)
    return -1;
  record (self, &op);
  return op.label_id;
}

gint64
qr_history_accept_detection (QrHistory *self, gint64 detection_id, GError **error)
{
  gint64 image_id, class_id, label_id;
  QrBox box;
  g_autofree char *provenance = g_strdup_printf ("detection %" G_GINT64_FORMAT, detection_id);
  Op op = { OP_CREATE };

  if (!qr_catalog_get_detection (self->catalog, detection_id, &image_id, &class_id, &box, error))
    return -1;
  if (!qr_catalog_begin (self->catalog, error))
    return -1;
  label_id = qr_catalog_add_label (self->catalog, image_id, class_id, &box, QR_LABEL_SOURCE_ACCEPTED, provenance, error);
  if (label_id < 0 || !qr_catalog_set_label_detection (self->catalog, label_id, detection_id, error)
      || !qr_catalog_commit (self->catalog, error))
    {
      qr_catalog_rollback (self->catalog);
      return -1;
    }
  op.label_id = label_id;
  op.class_before = op.class_after = class_id;
  op.before = op.after = box;
  record (self, &op);
  return label_id;
}

gboolean
qr_history_update_label (QrHistory *self, gint64 label_id, gint64 class_id, const QrBox *box, GError **error)
{
  Op op = { OP_UPDATE, label_id };

  if (!qr_catalog_get_label (self->catalog, label_id, &op.class_before, &op.before, error))
    return FALSE;
  op.class_after = class_id;
  op.after = *box;
  if (!qr_catalog_update_label (self->catalog, label_id, class_id, box, error))
    return FALSE;
  record (self, &op);
  return TRUE;
}

gboolean
qr_history_delete_label (QrHistory *self, gint64 label_id, GError **error)
{
  Op op = { OP_DELETE, label_id };

  if (!qr_catalog_delete_label (self->catalog, label_id, error))
    return FALSE;
  record (self, &op);
  return TRUE;
}

gboolean
qr_history_reject_detection (QrHistory *self, gint64 detection_id, GError **error)
{
  Op op = { OP_REJECT, detection_id };

  if (!qr_catalog_set_detection_rejected (self->catalog, detection_id, TRUE, error))
    return FALSE;
  record (self, &op);
  return TRUE;
}

gint64
qr_history_add_caption (QrHistory *self, gint64 image_id, const char *text, const char *source, GError **error)
{
  Op op = { OP_CAPTION_CREATE };

  op.label_id = qr_catalog_add_caption (self->catalog, image_id, text, source, error);
  if (op.label_id < 0)
    return -1;
  record (self, &op);
  return op.label_id;
}

gboolean
qr_history_set_caption_text (QrHistory *self, gint64 caption_id, const char *text, GError **error)
{
  g_autoptr (QrCaptionRecord) old = qr_catalog_get_caption (self->catalog, caption_id, error);
  Op op = { OP_CAPTION_TEXT, caption_id };

  if (old == NULL || !qr_catalog_set_caption_text (self->catalog, caption_id, text, error))
    return FALSE;
  op.text_before = g_string_chunk_insert (self->texts, old->text);
  op.text_after = g_string_chunk_insert (self->texts, text);
  record (self, &op);
  return TRUE;
}

gboolean
qr_history_delete_caption (QrHistory *self, gint64 caption_id, GError **error)
{
  Op op = { OP_CAPTION_DELETE, caption_id };

  if (!qr_catalog_set_caption_deleted (self->catalog, caption_id, TRUE, error))
    return FALSE;
  record (self, &op);
  return TRUE;
}

gboolean
qr_history_can_undo (QrHistory *self)
{
  return self->undo->len > 0;
}

gboolean
qr_history_can_redo (QrHistory *self)
{
  return self->redo->len > 0;
}

/* Applies op forwards (redo) or backwards (undo). */
static gboolean
apply (QrHistory *self, const Op *op, gboolean forwards, GError **error)
{
  switch (op->kind)
    {
    case OP_CREATE:
      return forwards ? qr_catalog_undelete_label (self->catalog, op->label_id, error)
                      : qr_catalog_delete_label (self->catalog, op->label_id, error);
    case OP_DELETE:
      return forwards ? qr_catalog_delete_label (self->catalog, op->label_id, error)
                      : qr_catalog_undelete_label (self->catalog, op->label_id, error);
    case OP_DECISION:
      return qr_catalog_set_decision_undone (self->catalog, op->label_id, !forwards, error);
    case OP_REJECT:
      return qr_catalog_set_detection_rejected (self->catalog, op->label_id, forwards, error);
    case OP_CAPTION_CREATE:
      return qr_catalog_set_caption_deleted (self->catalog, op->label_id, !forwards, error);
    case OP_CAPTION_DELETE:
      return qr_catalog_set_caption_deleted (self->catalog, op->label_id, forwards, error);
    case OP_CAPTION_TEXT:
      return qr_catalog_set_caption_text (self->catalog, op->label_id, forwards ? op->text_after : op->text_before, error);
    case OP_UPDATE:
    default:
      return qr_catalog_update_label (self->catalog, op->label_id, forwards ? op->class_after : op->class_before,
                                      forwards ? &op->after : &op->before, error);
    }
}

/* Moves one step: the top op and, undoing, the ops joined below it (redoing, the ops joined
 * above it), in order. */
static gboolean
move (QrHistory *self, GArray *from, GArray *to, gboolean forwards, GError **error)
{
  gboolean more = TRUE;

  if (from->len == 0)
    return TRUE;
  while (more && from->len > 0)
    {
      Op op = g_array_index (from, Op, from->len - 1);
      if (!apply (self, &op, forwards, error))
        return FALSE;
      g_array_set_size (from, from->len - 1);
      g_array_append_val (to, op);
      /* undo: continue while this op was joined to the one below; redo: while the next is joined */
      more = forwards ? (from->len > 0 && g_array_index (from, Op, from->len - 1).joined) : op.joined;
    }
  g_signal_emit (self, signals[CHANGED], 0);
  return TRUE;
}

gboolean
qr_history_undo (QrHistory *self, GError **error)
{
  return move (self, self->undo, self->redo, FALSE, error);
}

gboolean
qr_history_redo (QrHistory *self, GError **error)
{
  return move (self, self->redo, self->undo, TRUE, error);
}

gint64
qr_history_decide (QrHistory *self, const QrMistakeRecord *item, const char *decision, GError **error)
{
  return qr_history_decide_caption (self, item, decision, NULL, error);
}

gint64
qr_history_decide_caption (QrHistory *self, const QrMistakeRecord *item, const char *decision, const char *new_text,
                           GError **error)
{
  gboolean accept = g_str_equal (decision, "accepted");
  Op label_op = { OP_UPDATE, item->label_id };
  Op decision_op = { OP_DECISION };
  gboolean changes_label = FALSE;
  gint64 label_id = item->label_id;

  if (!qr_catalog_begin (self->catalog, error))
    return -1;
  if (accept && g_str_equal (item->kind, "missing"))
    {
      /* the consensus box becomes a label */
      label_op.kind = OP_CREATE;
      label_op.class_before = label_op.class_after = item->class_id;
      label_op.before = label_op.after = item->box;
      label_id = label_op.label_id = qr_catalog_add_label (self->catalog, item->image_id, item->class_id, &item->box,
                                                           QR_LABEL_SOURCE_ACCEPTED, "review: the peers' consensus", error);
      if (label_id < 0)
        goto fail;
      changes_label = TRUE;
    }
  else if (accept && g_str_equal (item->kind, "spurious") && item->label_id > 0)
    {
      label_op.kind = OP_DELETE;
      if (!qr_catalog_delete_label (self->catalog, item->label_id, error))
        goto fail;
      changes_label = TRUE;
    }
  else if (accept && g_str_equal (item->kind, "caption") && item->caption_id > 0 && new_text != NULL)
    {
      /* the caption becomes the text chosen for it (the best suggestion) */
      g_autoptr (QrCaptionRecord) old = qr_catalog_get_caption (self->catalog, item->caption_id, error);
      if (old == NULL || !qr_catalog_set_caption_text (self->catalog, item->caption_id, new_text, error))
        goto fail;
      label_op.kind = OP_CAPTION_TEXT;
      label_op.label_id = item->caption_id;
      label_op.text_before = g_string_chunk_insert (self->texts, old->text);
      label_op.text_after = g_string_chunk_insert (self->texts, new_text);
      changes_label = TRUE;
    }
  else if (accept && item->label_id > 0
           && (g_str_equal (item->kind, "wrong_class") || g_str_equal (item->kind, "poorly_located")))
    {
      if (!qr_catalog_get_label (self->catalog, item->label_id, &label_op.class_before, &label_op.before, error))
        goto fail;
      label_op.class_after = g_str_equal (item->kind, "wrong_class") ? item->class_id : label_op.class_before;
      label_op.after = g_str_equal (item->kind, "poorly_located") ? item->box : label_op.before;
      if (!qr_catalog_update_label (self->catalog, item->label_id, label_op.class_after, &label_op.after, error))
        goto fail;
      changes_label = TRUE;
    }
  decision_op.label_id = qr_catalog_add_decision (self->catalog, item, decision, label_id, error);
  if (decision_op.label_id < 0 || !qr_catalog_commit (self->catalog, error))
    goto fail;
  g_array_set_size (self->redo, 0);
  if (changes_label)
    g_array_append_val (self->undo, label_op);
  decision_op.joined = changes_label;
  g_array_append_val (self->undo, decision_op);
  g_signal_emit (self, signals[CHANGED], 0);
  return decision_op.label_id;

fail:
  qr_catalog_rollback (self->catalog);
  return -1;
}

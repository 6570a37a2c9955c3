/* history.c: see qr-history.h. An edit is an operation on one label (or caption) with what it was
 * before and after; undo applies "before", redo "after". A new edit clears the redo stack. A
 * caption's texts live in a pool the history owns, so that operations stay plain values. */
#define G_LOG_DOMAIN "quorum-history"

#include "qr-history.h"

typedef enum { OP_CREATE, OP_DELETE, OP_UPDATE, OP_DECISION, OP_REJECT, OP_CAPTION_CREATE, OP_CAPTION_DELETE,
               OP_CAPTION_TEXT, OP_REVIEWED } OpKind;

typedef struct
{
  OpKind   kind;
  gint64   label_id;      /* OP_DECISION: the decision's id; OP_REJECT: the detection's */
  gint64   class_before, class_after;
  QrBox    before, after;
  gboolean joined;        /* undone and redone together with the op below it */
  /* in the pool: OP_CAPTION_TEXT the caption's texts (label_id is the caption's), OP_REVIEWED
   * the review states, OP_DECISION the decision and the item's kind */
  const char *text_before, *text_after;
  gint64   image_id;      /* the image the op changed */
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

  op.image_id = image_id;
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
  op.image_id = image_id;
  op.class_before = op.class_after = class_id;
  op.before = op.after = box;
  record (self, &op);
  return label_id;
}

gboolean
qr_history_update_label (QrHistory *self, gint64 label_id, gint64 class_id, const QrBox *box, GError **error)
{
  Op op = { OP_UPDATE, label_id };

  if ((op.image_id = qr_catalog_get_label_image (self->catalog, label_id, error)) < 0
      || !qr_catalog_get_label (self->catalog, label_id, &op.class_before, &op.before, error))
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

  if ((op.image_id = qr_catalog_get_label_image (self->catalog, label_id, error)) < 0
      || !qr_catalog_get_label (self->catalog, label_id, &op.class_before, &op.before, error))
    return FALSE;
  op.class_after = op.class_before;
  op.after = op.before;
  if (!qr_catalog_delete_label (self->catalog, label_id, error))
    return FALSE;
  record (self, &op);
  return TRUE;
}

gboolean
qr_history_reject_detection (QrHistory *self, gint64 detection_id, GError **error)
{
  Op op = { OP_REJECT, detection_id };

  if (!qr_catalog_get_detection (self->catalog, detection_id, &op.image_id, &op.class_before, &op.before, error))
    return FALSE;
  op.class_after = op.class_before;
  op.after = op.before;
  if (!qr_catalog_set_detection_rejected (self->catalog, detection_id, TRUE, error))
    return FALSE;
  record (self, &op);
  return TRUE;
}

gint64
qr_history_add_caption (QrHistory *self, gint64 image_id, const char *text, const char *source, GError **error)
{
  Op op = { OP_CAPTION_CREATE };

  op.image_id = image_id;
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
  op.image_id = old->image_id;
  op.text_before = g_string_chunk_insert (self->texts, old->text);
  op.text_after = g_string_chunk_insert (self->texts, text);
  record (self, &op);
  return TRUE;
}

gboolean
qr_history_delete_caption (QrHistory *self, gint64 caption_id, GError **error)
{
  Op op = { OP_CAPTION_DELETE, caption_id };
  g_autoptr (QrCaptionRecord) old = qr_catalog_get_caption (self->catalog, caption_id, error);

  if (old == NULL)
    return FALSE;
  op.image_id = old->image_id;
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
    case OP_REVIEWED:
      return qr_catalog_set_reviewed (self->catalog, op->image_id, forwards ? op->text_after : op->text_before, error);
    case OP_UPDATE:
    default:
      return qr_catalog_update_label (self->catalog, op->label_id, forwards ? op->class_after : op->class_before,
                                      forwards ? &op->after : &op->before, error);
    }
}

static char *
class_name (QrHistory *self, gint64 class_id)
{
  g_autoptr (GHashTable) names = qr_catalog_class_names (self->catalog, NULL);
  const char *name = names ? g_hash_table_lookup (names, &class_id) : NULL;
  return g_strdup (name ? name : "unnamed");
}

/* What applying op did, in words for a toast: "restored the deleted person box". */
static char *
describe (QrHistory *self, const Op *op, gboolean forwards)
{
  g_autofree char *before = NULL, *after = NULL;

  switch (op->kind)
    {
    case OP_CREATE:
      after = class_name (self, op->class_after);
      return forwards ? g_strdup_printf ("added the %s box again", after)
                      : g_strdup_printf ("removed the new %s box", after);
    case OP_DELETE:
      before = class_name (self, op->class_before);
      return forwards ? g_strdup_printf ("deleted the %s box again", before)
                      : g_strdup_printf ("restored the deleted %s box", before);
    case OP_UPDATE:
      before = class_name (self, op->class_before);
      after = class_name (self, op->class_after);
      if (op->class_before != op->class_after)
        return forwards ? g_strdup_printf ("made the %s box a %s again", before, after)
                        : g_strdup_printf ("made the %s box a %s again", after, before);
      return forwards ? g_strdup_printf ("moved the %s box again", after)
                      : g_strdup_printf ("put the %s box back where it was", after);
    case OP_DECISION:
      return forwards ? g_strdup_printf ("decided “%s” on the %s item again", op->text_after, op->text_before)
                      : g_strdup_printf ("took back “%s” on the %s item", op->text_after, op->text_before);
    case OP_REJECT:
      after = class_name (self, op->class_after);
      return forwards ? g_strdup_printf ("rejected the %s prediction again", after)
                      : g_strdup_printf ("showed the rejected %s prediction again", after);
    case OP_CAPTION_CREATE:
      return g_strdup (forwards ? "added the caption again" : "removed the new caption");
    case OP_CAPTION_DELETE:
      return g_strdup (forwards ? "deleted the caption again" : "restored the deleted caption");
    case OP_CAPTION_TEXT:
      return g_strdup (forwards ? "changed the caption's text again" : "restored the caption's text");
    case OP_REVIEWED:
    default:
      return g_strdup_printf ("marked the image %s", forwards ? op->text_after : op->text_before);
    }
}

void
qr_history_step_clear (QrHistoryStep *step)
{
  g_clear_pointer (&step->description, g_free);
}

/* Moves one step: the top op and, undoing, the ops joined below it (redoing, the ops joined
 * above it), in order, in one transaction; step (may be NULL) says what it did. When the catalog
 * refuses (a full disk, a read-only file) nothing of the step is applied and both stacks stay as
 * they were, so the same undo or redo can be tried again once the cause is gone. */
static gboolean
move (QrHistory *self, GArray *from, GArray *to, gboolean forwards, QrHistoryStep *step, GError **error)
{
  g_autoptr (GString) words = g_string_new (NULL);
  gint64 image_id = -1, label_id = -1;
  guint n = 0;

  if (step != NULL)
    {
      step->image_id = -1;
      step->label_id = -1;
      step->description = NULL;
    }
  if (from->len == 0)
    return TRUE;
  /* how many ops the step takes from the top: undo continues while an op is joined to the one
   * below it; redo while the next one down is joined */
  for (gboolean more = TRUE; more && n < from->len; n++)
    {
      const Op *op = &g_array_index (from, Op, from->len - 1 - n);
      more = forwards ? (from->len - 1 - n > 0 && g_array_index (from, Op, from->len - 2 - n).joined) : op->joined;
    }
  if (!qr_catalog_begin (self->catalog, error))
    return FALSE;
  for (guint i = 0; i < n; i++)
    if (!apply (self, &g_array_index (from, Op, from->len - 1 - i), forwards, error))
      {
        qr_catalog_rollback (self->catalog);
        return FALSE;
      }
  if (!qr_catalog_commit (self->catalog, error))
    {
      qr_catalog_rollback (self->catalog);
      return FALSE;
    }
  for (guint i = 0; i < n; i++)
    {
      Op op = g_array_index (from, Op, from->len - 1);
      if (step != NULL)
        {
          g_autofree char *said = describe (self, &op, forwards);
          if (words->len > 0)
            g_string_append (words, ", ");
          g_string_append (words, said);
        }
      if (image_id < 0)
        image_id = op.image_id;
      /* the label to show: one the step left in place */
      if ((op.kind == OP_UPDATE || (op.kind == OP_CREATE && forwards) || (op.kind == OP_DELETE && !forwards))
          && label_id < 0)
        label_id = op.label_id;
      g_array_set_size (from, from->len - 1);
      g_array_append_val (to, op);
    }
  if (step != NULL)
    {
      step->image_id = image_id;
      step->label_id = label_id;
      step->description = g_string_free (g_steal_pointer (&words), FALSE);
    }
  g_signal_emit (self, signals[CHANGED], 0);
  return TRUE;
}

gint64
qr_history_peek (QrHistory *self, gboolean redo)
{
  GArray *ops = redo ? self->redo : self->undo;
  return ops->len > 0 ? g_array_index (ops, Op, ops->len - 1).image_id : -1;
}

gboolean
qr_history_undo_step (QrHistory *self, QrHistoryStep *step, GError **error)
{
  return move (self, self->undo, self->redo, FALSE, step, error);
}

gboolean
qr_history_redo_step (QrHistory *self, QrHistoryStep *step, GError **error)
{
  return move (self, self->redo, self->undo, TRUE, step, error);
}

gboolean
qr_history_undo (QrHistory *self, GError **error)
{
  return move (self, self->undo, self->redo, FALSE, NULL, error);
}

gboolean
qr_history_redo (QrHistory *self, GError **error)
{
  return move (self, self->redo, self->undo, TRUE, NULL, error);
}

/* Appends an OP_REVIEWED setting image_id to state (inside the caller's transaction); FALSE on
 * error, TRUE with nothing appended when it already is in that state. */
static gboolean
review_op (QrHistory *self, gint64 image_id, const char *state, gboolean joined, GArray *ops, GError **error)
{
  g_autofree char *before = qr_catalog_get_reviewed (self->catalog, image_id, error);
  Op op = { OP_REVIEWED };

  if (before == NULL)
    return FALSE;
  if (g_str_equal (before, state))
    return TRUE;
  if (!qr_catalog_set_reviewed (self->catalog, image_id, state, error))
    return FALSE;
  op.image_id = image_id;
  op.label_id = -1;
  op.joined = joined;
  op.text_before = g_string_chunk_insert_const (self->texts, before);
  op.text_after = g_string_chunk_insert_const (self->texts, state);
  g_array_append_val (ops, op);
  return TRUE;
}

gboolean
qr_history_set_reviewed (QrHistory *self, gint64 image_id, gboolean reviewed, GError **error)
{
  g_autoptr (GArray) ops = g_array_new (FALSE, FALSE, sizeof (Op));

  if (!review_op (self, image_id, reviewed ? "reviewed" : "unreviewed", FALSE, ops, error))
    return FALSE;
  if (ops->len > 0)
    record (self, &g_array_index (ops, Op, 0));
  return TRUE;
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
  gint64 open;
  g_autoptr (GArray) review = g_array_new (FALSE, FALSE, sizeof (Op));

  label_op.image_id = decision_op.image_id = item->image_id;
  decision_op.text_after = g_string_chunk_insert_const (self->texts, decision);
  {
    g_autofree char *kind = g_strdelimit (g_strdup (item->kind), "_", ' ');
    decision_op.text_before = g_string_chunk_insert_const (self->texts, kind);
  }

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
  if (decision_op.label_id < 0)
    goto fail;
  /* the image's last open item decided (not skipped): the image is reviewed, in the same undo step */
  if ((open = qr_catalog_count_open_items (self->catalog, item->image_id, error)) < 0
      || (open == 0 && !g_str_equal (decision, "skipped")
          && !review_op (self, item->image_id, "reviewed", TRUE, review, error))
      || !qr_catalog_commit (self->catalog, error))
    goto fail;
  g_array_set_size (self->redo, 0);
  if (changes_label)
    g_array_append_val (self->undo, label_op);
  decision_op.joined = changes_label;
  g_array_append_val (self->undo, decision_op);
  if (review->len > 0)
    g_array_append_vals (self->undo, review->data, review->len);
  g_signal_emit (self, signals[CHANGED], 0);
  return decision_op.label_id;

fail:
  qr_catalog_rollback (self->catalog);
  return -1;
}

/* evaluate.c: see qr-eval.h. The AP follows the COCO evaluation's conventions: detections of a
 * class sorted by score, each matched to the best still-unmatched label of its image at or above
 * the IoU threshold, precision made monotone from the right, sampled at 101 recall points. */
#define G_LOG_DOMAIN "quorum-eval"

#include "qr-eval.h"
#include "qr-box.h"

#include <math.h>
#include <string.h>

typedef struct
{
  float score;
  guint image;
  guint box;
} Ranked;

static float
iou (const QrPeerBox *p, const QrLabelBox *l)
{
  return qr_iou_xyxy (p->x1, p->y1, p->x2, p->y2, l->x1, l->y1, l->x2, l->y2);
}

static int
by_score (gconstpointer a, gconstpointer b)
{
  float x = ((const Ranked *) a)->score, y = ((const Ranked *) b)->score;
  return x < y ? 1 : x > y ? -1 : 0;
}

/* Matches a class's detections (score ≥ min_score) in score order; tp[i] says whether the i-th was
 * a true positive. Returns the number of labels of the class. */
static guint
match_class (const QrEvalImage *images, guint n_images, int class_id, float iou_threshold, float min_score,
             GArray *ranked, GArray *tp)
{
  guint n_labels = 0;
  g_autoptr (GPtrArray) used = g_ptr_array_new_with_free_func (g_free);

  g_array_set_size (ranked, 0);
  for (guint i = 0; i < n_images; i++)
    {
      for (guint b = 0; b < images[i].n_boxes; b++)
        if (images[i].boxes[b].class_id == class_id && images[i].boxes[b].score >= min_score)
          {
            Ranked r = { images[i].boxes[b].score, i, b };
            g_array_append_val (ranked, r);
          }
      for (guint l = 0; l < images[i].n_labels; l++)
        n_labels += images[i].labels[l].class_id == class_id;
      g_ptr_array_add (used, g_new0 (gboolean, MAX (images[i].n_labels, 1)));
    }
  g_array_sort (ranked, by_score);
  g_array_set_size (tp, ranked->len);
  for (guint k = 0; k < ranked->len; k++)
    {
      Ranked *r = &g_array_index (ranked, Ranked, k);
      const QrEvalImage *im = &images[r->image];
      gboolean *taken = used->pdata[r->image];
      float best = iou_threshold;
      int match = -1;
      for (guint l = 0; l < im->n_labels; l++)
        {
          float o;
          if (taken[l] || im->labels[l].class_id != class_id)
            continue;
          o = iou (&im->boxes[r->box], &im->labels[l]);
          if (o >= best)
            best = o, match = (int) l;
        }
      if (match >= 0)
        taken[match] = TRUE;
      g_array_index (tp, gboolean, k) = match >= 0;
    }
  return n_labels;
}

double
qr_average_precision (const QrEvalImage *images, guint n_images, int class_id, float iou_threshold)
{
  g_autoptr (GArray) ranked = g_array_new (FALSE, FALSE, sizeof (Ranked));
  g_autoptr (GArray) tp = g_array_new (FALSE, FALSE, sizeof (gboolean));
  guint n_labels = match_class (images, n_images, class_id, iou_threshold, -INFINITY, ranked, tp);
  g_autofree double *precision = NULL, *recall = NULL;
  double sum = 0, hits = 0;
  guint n = tp->len;

  if (n_labels == 0)
    return 0;
  precision = g_new (double, MAX (n, 1));
  recall = g_new (double, MAX (n, 1));
  for (guint k = 0; k < n; k++)
    {
      hits += g_array_index (tp, gboolean, k);
      precision[k] = hits / (k + 1);
      recall[k] = hits / n_labels;
    }
  for (guint k = n; k-- > 1;)
    precision[k - 1] = MAX (precision[k - 1], precision[k]);
  for (int step = 0; step <= 100; step++)
    {
      double r = step / 100.0;
      for (guint k = 0; k < n; k++)
        if (recall[k] >= r - 1e-12)
          {
            sum += precision[k];
            break;
          }
    }
  return sum / 101;
}

static int
by_class_id (gconstpointer a, gconstpointer b)
{
  return GPOINTER_TO_INT (a) - GPOINTER_TO_INT (b);
}

GArray *
qr_evaluate (const QrEvalImage *images, guint n_images, float score_threshold)
{
  GArray *out = g_array_new (FALSE, FALSE, sizeof (QrClassEval));
  g_autoptr (GHashTable) classes = g_hash_table_new (g_direct_hash, g_direct_equal);
  g_autoptr (GList) ids = NULL;
  g_autoptr (GArray) ranked = g_array_new (FALSE, FALSE, sizeof (Ranked));
  g_autoptr (GArray) tp = g_array_new (FALSE, FALSE, sizeof (gboolean));

  for (guint i = 0; i < n_images; i++)
    for (guint l = 0; l < images[i].n_labels; l++)
      g_hash_table_add (classes, GINT_TO_POINTER (images[i].labels[l].class_id));
  ids = g_list_sort (g_hash_table_get_keys (classes), by_class_id);
  for (GList *c = ids; c != NULL; c = c->next)
    {
      QrClassEval e = { 0 };
      guint hits = 0;
      e.class_id = GPOINTER_TO_INT (c->data);
      e.ap50 = qr_average_precision (images, n_images, e.class_id, 0.5f);
      for (int t = 0; t < 10; t++)
        e.ap50_95 += qr_average_precision (images, n_images, e.class_id, 0.5f + 0.05f * (float) t) / 10;
      e.n_labels = match_class (images, n_images, e.class_id, 0.5f, score_threshold, ranked, tp);
      for (guint k = 0; k < tp->len; k++)
        hits += g_array_index (tp, gboolean, k);
      e.precision = tp->len > 0 ? (double) hits / tp->len : 0;
      e.recall = e.n_labels > 0 ? (double) hits / e.n_labels : 0;
      g_array_append_val (out, e);
    }
  return out;
}

double
qr_peer_agreement (const QrEvalImage *a, const QrEvalImage *b, guint n_images, float score_threshold)
{
  guint total = 0, agreed = 0;

  for (guint i = 0; i < n_images; i++)
    for (guint k = 0; k < a[i].n_boxes; k++)
      {
        const QrPeerBox *p = &a[i].boxes[k];
        gboolean found = FALSE;
        if (p->score < score_threshold)
          continue;
        total++;
        for (guint j = 0; j < b[i].n_boxes && !found; j++)
          {
            const QrPeerBox *q = &b[i].boxes[j];
            QrLabelBox as_label = { 0, q->class_id, q->x1, q->y1, q->x2, q->y2 };
            found = q->class_id == p->class_id && q->score >= score_threshold && iou (p, &as_label) >= 0.5f;
          }
        agreed += found;
      }
  return total > 0 ? (double) agreed / total : 1.0;
}

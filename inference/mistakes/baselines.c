/* baselines.c: single-model label-mistake scores that peer pressure is measured against (see
 * qr-peers.h for the formulas and where they come from). */
#define G_LOG_DOMAIN "quorum-peers"

#include "qr-peers.h"
#include "qr-box.h"

#include <math.h>
#include <string.h>

void
qr_baseline_options_init (QrBaselineOptions *options)
{
  options->high_threshold = 0.95f;
  options->low_threshold = 0.1f;
  options->min_similarity = 1e-3f;
}

static float
label_pred_iou (const QrLabelBox *l, const QrPeerBox *p)
{
  return qr_iou_xyxy (l->x1, l->y1, l->x2, l->y2, p->x1, p->y1, p->x2, p->y2);
}

static float
similarity (const QrLabelBox *l, const QrPeerBox *p)
{
  float dx = (l->x1 + l->x2) / 2 - (p->x1 + p->x2) / 2, dy = (l->y1 + l->y2) / 2 - (p->y1 + p->y2) / 2;
  return 0.9f * label_pred_iou (l, p) + 0.1f * expf (-0.1f * sqrtf (dx * dx + dy * dy));
}

static void
add_label_item (GArray *out, QrMistakeKind kind, float score, const QrLabelBox *l)
{
  QrMistake m = { 0 };
  m.kind = kind;
  m.score = CLAMP (score, 0.0f, 1.0f);
  m.class_id = l->class_id;
  m.label_class_id = l->class_id;
  m.label_id = l->label_id;
  m.peer = -1;
  m.x1 = l->x1, m.y1 = l->y1, m.x2 = l->x2, m.y2 = l->y2;
  g_array_append_val (out, m);
}

static void
add_box_item (GArray *out, QrMistakeKind kind, float score, const QrPeerBox *p)
{
  QrMistake m = { 0 };
  m.kind = kind;
  m.score = CLAMP (score, 0.0f, 1.0f);
  m.class_id = p->class_id;
  m.label_class_id = -1;
  m.label_id = -1;
  m.peer = -1;
  m.x1 = p->x1, m.y1 = p->y1, m.x2 = p->x2, m.y2 = p->y2;
  m.votes[0] = p->score;
  g_array_append_val (out, m);
}

static int
by_confidence (gconstpointer a, gconstpointer b)
{
  const QrPeerBox *x = *(const QrPeerBox *const *) a, *y = *(const QrPeerBox *const *) b;
  return x->score < y->score ? 1 : x->score > y->score ? -1 : 0;
}

static int
by_mistake (gconstpointer a, gconstpointer b)
{
  float x = ((const QrMistake *) a)->score, y = ((const QrMistake *) b)->score;
  return x < y ? 1 : x > y ? -1 : 0;
}

GArray *
qr_baseline_fiftyone (const QrPeerBox *boxes, guint n_boxes, const QrLabelBox *labels, guint n_labels,
                      const QrBaselineOptions *options)
{
  GArray *out = g_array_new (FALSE, FALSE, sizeof (QrMistake));
  g_autoptr (GPtrArray) preds = g_ptr_array_new ();
  g_autofree int *label_match = g_new (int, MAX (n_labels, 1));
  QrBaselineOptions defaults;

  if (options == NULL)
    qr_baseline_options_init (&defaults), options = &defaults;
  for (guint i = 0; i < n_boxes; i++)
    g_ptr_array_add (preds, (gpointer) &boxes[i]);
  g_ptr_array_sort (preds, by_confidence);
  for (guint l = 0; l < n_labels; l++)
    label_match[l] = -1;

  /* Greedy matching, most confident prediction first, class-agnostic, IoU ≥ 0.5. */
  for (guint i = 0; i < preds->len; i++)
    {
      const QrPeerBox *p = preds->pdata[i];
      int best = -1;
      float best_iou = 0.5f;
      for (guint l = 0; l < n_labels; l++)
        {
          float o;
          if (label_match[l] >= 0)
            continue;
          o = label_pred_iou (&labels[l], p);
          if (o >= best_iou)
            best_iou = o, best = (int) l;
        }
      if (best >= 0)
        {
          const QrLabelBox *l = &labels[best];
          label_match[best] = (int) i;
          if (l->class_id != p->class_id)
            add_label_item (out, QR_MISTAKE_WRONG_CLASS, (1 + p->score) / 2, l);
          else
            {
              float loc_i = (1 - best_iou) / (1 - 0.5f);
              float cls = (1 - p->score) / 2;
              float loc = (p->score * (2 * loc_i - 1) + 1) / 2;
              add_label_item (out, loc > cls ? QR_MISTAKE_POORLY_LOCATED : QR_MISTAKE_WRONG_CLASS, MAX (loc, cls), l);
            }
        }
      else if (p->score > options->high_threshold)
        add_box_item (out, QR_MISTAKE_MISSING, p->score, p);
    }
  for (guint l = 0; l < n_labels; l++)
    if (label_match[l] < 0)
      add_label_item (out, QR_MISTAKE_SPURIOUS, 1.0f, &labels[l]);
  g_array_sort (out, by_mistake);
  return out;
}

GArray *
qr_baseline_objectlab (const QrPeerBox *boxes, guint n_boxes, const QrLabelBox *labels, guint n_labels,
                       const QrBaselineOptions *options)
{
  GArray *out = g_array_new (FALSE, FALSE, sizeof (QrMistake));
  QrBaselineOptions defaults;
  float min_s;

  if (options == NULL)
    qr_baseline_options_init (&defaults), options = &defaults;
  min_s = options->min_similarity;

  /* overlooked: per confident prediction */
  for (guint i = 0; i < n_boxes; i++)
    {
      const QrPeerBox *p = &boxes[i];
      float quality = -1;
      if (p->score < options->high_threshold)
        continue;
      for (guint l = 0; l < n_labels; l++)
        if (labels[l].class_id == p->class_id)
          quality = MAX (quality, similarity (&labels[l], p));
      if (quality < 0)
        quality = min_s * (1 - p->score);
      add_box_item (out, QR_MISTAKE_MISSING, 1 - quality, p);
    }
  /* swap and bad location: per label; the label's item is the worse of the two */
  for (guint l = 0; l < n_labels; l++)
    {
      const QrLabelBox *lb = &labels[l];
      float swap = 1, badloc = -1, best_other = -1;
      for (guint i = 0; i < n_boxes; i++)
        {
          const QrPeerBox *p = &boxes[i];
          if (p->class_id != lb->class_id && p->score > options->high_threshold)
            best_other = MAX (best_other, similarity (lb, p));
          if (p->class_id == lb->class_id && p->score > options->low_threshold)
            badloc = MAX (badloc, similarity (lb, p));
        }
      if (best_other >= 0)
        swap = MAX (min_s, 1 - best_other);
      if (badloc < 0)
        badloc = min_s;
      if (1 - swap >= 1 - badloc)
        add_label_item (out, QR_MISTAKE_WRONG_CLASS, 1 - swap, lb);
      else
        add_label_item (out, QR_MISTAKE_POORLY_LOCATED, 1 - badloc, lb);
    }
  g_array_sort (out, by_mistake);
  return out;
}

GArray *
qr_baseline_confidence (const QrPeerBox *boxes, guint n_boxes, const QrLabelBox *labels, guint n_labels)
{
  GArray *out = g_array_new (FALSE, FALSE, sizeof (QrMistake));
  g_autofree gboolean *matched = g_new0 (gboolean, MAX (n_boxes, 1));

  for (guint l = 0; l < n_labels; l++)
    {
      float best = 0;
      for (guint i = 0; i < n_boxes; i++)
        if (boxes[i].class_id == labels[l].class_id && label_pred_iou (&labels[l], &boxes[i]) >= 0.5f)
          {
            best = MAX (best, boxes[i].score);
            matched[i] = TRUE;
          }
      add_label_item (out, QR_MISTAKE_SPURIOUS, 1 - best, &labels[l]);
    }
  for (guint i = 0; i < n_boxes; i++)
    if (!matched[i])
      add_box_item (out, QR_MISTAKE_MISSING, boxes[i].score, &boxes[i]);
  g_array_sort (out, by_mistake);
  return out;
}

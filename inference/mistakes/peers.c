/* peers.c: peer-pressure scores for one image.
 *
 * Clustering. All peers' boxes, best score first, join the best-overlapping cluster of their class
 * (IoU with the cluster's box ≥ match_iou) that has no box of theirs yet, else start one. A
 * cluster's box is the score-weighted mean of its members. v_p is peer p's score in the cluster,
 * 0 when p has no box there. A peer that has no such class at all (options->knows) abstains: it
 * is left out of every mean, spread and dissent below, as if it had not been asked; where fewer
 * than two peers vote (a class only one of several peers has), there is no consensus (K = 0).
 *
 * Consensus of a cluster: m = mean_p v_p and σ = std_p v_p over the P peers that vote; its
 * strength is K = m · (1 − σ): high when the peers agree and are sure, low when they split.
 *
 * Model mistake (the paper's peer pressure, per peer p): the others' mean m₋ₚ and spread σ₋ₚ give
 * a lower bound on their agreement, A = (m₋ₚ − σ₋ₚ)₊; p's dissent is D = (m₋ₚ − v_p)₊ / m₋ₚ (1 when p
 * saw nothing there or said another class). score = A · D. The cluster's score is its strongest
 * dissent.
 *
 * Label mistakes, each in [0, 1], for a label l and the clusters overlapping it:
 *   missing         a cluster with K ≥ min_consensus, paired with no label and overlapping none at
 *                   IoU ≥ match_iou:
 *                   score K; of clusters of different classes on one object (IoU ≥ 0.7), the
 *                   strongest only.
 * Labels and same-class clusters are first paired one to one, best overlap first (IoU ≥ locate_iou),
 * so that a cluster claimed by one label cannot excuse a second label on the same object.
 *   wrong class     a cluster of another class c' overlapping l (IoU ≥ match_iou) with K' above the
 *                   support K of l's own paired cluster (0 if none): score K' − K.
 *   poorly located  l is paired with a cluster at IoU < 1: score K · (1 − IoU), 0 for a perfect fit.
 *                   Labels left unpaired then pair with any confident (K ≥ min_consensus) unpaired
 *                   same-class cluster they overlap at all: a label that slid off its object is one
 *                   item here rather than a spurious label plus a missing one.
 *   spurious        l is paired with nothing: score 1 − s, s = the strongest K of an unpaired
 *                   same-class cluster touching l at all (IoU > 0), so a faint vote softens it.
 * An image's score is the maximum over its items. */
#define G_LOG_DOMAIN "quorum-peers"

#include "qr-peers.h"
#include "qr-box.h"

#include <math.h>
#include <string.h>

static const char *const kind_names[] = { "model_mistake", "missing", "spurious", "wrong_class", "poorly_located" };

const char *
qr_mistake_kind_to_string (QrMistakeKind kind)
{
  return (guint) kind < G_N_ELEMENTS (kind_names) ? kind_names[kind] : "unknown";
}

gboolean
qr_mistake_kind_from_string (const char *name, QrMistakeKind *kind)
{
  for (guint i = 0; i < G_N_ELEMENTS (kind_names); i++)
    if (g_strcmp0 (name, kind_names[i]) == 0)
      {
        *kind = (QrMistakeKind) i;
        return TRUE;
      }
  return FALSE;
}

void
qr_peer_options_init (QrPeerOptions *options)
{
  options->match_iou = 0.5f;
  options->locate_iou = 0.3f;
  options->min_consensus = 0.3f;
  options->knows = NULL;
  options->knows_data = NULL;
}

typedef struct
{
  int    class_id;
  float  x1, y1, x2, y2;       /* score-weighted mean box */
  double wx1, wy1, wx2, wy2, wsum;
  float  votes[QR_PEERS_MAX];
  float  strength;             /* K = m (1 − σ) */
  gboolean labelled;
} Cluster;

static int
by_score (gconstpointer a, gconstpointer b)
{
  const QrPeerBox *x = *(const QrPeerBox *const *) a, *y = *(const QrPeerBox *const *) b;
  return x->score < y->score ? 1 : x->score > y->score ? -1 : 0;
}

static int
by_mistake_score (gconstpointer a, gconstpointer b)
{
  float x = ((const QrMistake *) a)->score, y = ((const QrMistake *) b)->score;
  return x < y ? 1 : x > y ? -1 : 0;
}

static void
mean_std (const float *v, int n, int skip, float *mean, float *std)
{
  double sum = 0, sq = 0;
  int count = 0;

  for (int i = 0; i < n; i++)
    if (i != skip && v[i] >= 0)
      {
        sum += v[i];
        sq += (double) v[i] * v[i];
        count++;
      }
  if (count == 0)
    {
      *mean = *std = 0;
      return;
    }
  *mean = (float) (sum / count);
  *std = (float) sqrt (MAX (sq / count - (sum / count) * (sum / count), 0));
}

static void
fill_mistake (QrMistake *m, QrMistakeKind kind, float score, const Cluster *c, int n_peers)
{
  memset (m, 0, sizeof *m);
  m->kind = kind;
  m->score = CLAMP (score, 0.0f, 1.0f);
  m->label_id = -1;
  m->label_class_id = -1;
  m->peer = -1;
  if (c != NULL)
    {
      m->class_id = c->class_id;
      m->x1 = c->x1, m->y1 = c->y1, m->x2 = c->x2, m->y2 = c->y2;
      memcpy (m->votes, c->votes, sizeof (float) * (gsize) n_peers);
    }
}

/* The clusters of one image's boxes, each with its consensus strength K. */
static GArray *
cluster_boxes (const QrPeerBox *boxes, guint n_boxes, int n_peers, const QrPeerOptions *options)
{
  g_autoptr (GPtrArray) sorted = g_ptr_array_sized_new (n_boxes);
  GArray *clusters = g_array_new (FALSE, TRUE, sizeof (Cluster));

  for (guint i = 0; i < n_boxes; i++)
    if (boxes[i].peer >= 0 && boxes[i].peer < n_peers)
      g_ptr_array_add (sorted, (gpointer) &boxes[i]);
  g_ptr_array_sort (sorted, by_score);
  for (guint i = 0; i < sorted->len; i++)
    {
      const QrPeerBox *b = sorted->pdata[i];
      Cluster *best = NULL;
      float best_iou = options->match_iou;

      for (guint k = 0; k < clusters->len; k++)
        {
          Cluster *c = &g_array_index (clusters, Cluster, k);
          float o;
          if (c->class_id != b->class_id || c->votes[b->peer] > 0)
            continue;
          o = qr_iou_xyxy (c->x1, c->y1, c->x2, c->y2, b->x1, b->y1, b->x2, b->y2);
          if (o >= best_iou)
            best_iou = o, best = c;
        }
      if (best == NULL)
        {
          Cluster c = { 0 };
          c.class_id = b->class_id;
          g_array_append_val (clusters, c);
          best = &g_array_index (clusters, Cluster, clusters->len - 1);
        }
      best->votes[b->peer] = MAX (b->score, 1e-6f);
      best->wx1 += (double) b->score * b->x1;
      best->wy1 += (double) b->score * b->y1;
      best->wx2 += (double) b->score * b->x2;
      best->wy2 += (double) b->score * b->y2;
      best->wsum += b->score;
      best->x1 = (float) (best->wx1 / best->wsum);
      best->y1 = (float) (best->wy1 / best->wsum);
      best->x2 = (float) (best->wx2 / best->wsum);
      best->y2 = (float) (best->wy2 / best->wsum);
    }
  for (guint k = 0; k < clusters->len; k++)
    {
      Cluster *c = &g_array_index (clusters, Cluster, k);
      float m, s;
      if (options->knows != NULL)
        for (int p = 0; p < n_peers; p++)
          if (c->votes[p] <= 0 && !options->knows (p, c->class_id, options->knows_data))
            c->votes[p] = -1;
      mean_std (c->votes, n_peers, -1, &m, &s);
      c->strength = m * (1 - s);
      /* one model's opinion is no consensus: a class only one of several peers has is left out */
      if (n_peers >= 2)
        {
          int voters = 0;
          for (int p = 0; p < n_peers; p++)
            voters += c->votes[p] >= 0;
          if (voters < 2)
            c->strength = 0;
        }
    }
  return clusters;
}

GArray *
qr_peer_consensus (const QrPeerBox *boxes, guint n_boxes, int n_peers, const QrPeerOptions *options)
{
  QrPeerOptions defaults;
  g_autoptr (GArray) clusters = NULL;
  GArray *out = g_array_new (FALSE, FALSE, sizeof (QrConsensus));

  g_return_val_if_fail (n_peers >= 1 && n_peers <= QR_PEERS_MAX, out);
  if (options == NULL)
    {
      qr_peer_options_init (&defaults);
      options = &defaults;
    }
  clusters = cluster_boxes (boxes, n_boxes, n_peers, options);
  for (guint k = 0; k < clusters->len; k++)
    {
      const Cluster *c = &g_array_index (clusters, Cluster, k);
      QrConsensus o = { c->class_id, c->strength, c->x1, c->y1, c->x2, c->y2, 0 };
      for (int p = 0; p < n_peers; p++)
        o.n_seen += c->votes[p] > 0;
      g_array_append_val (out, o);
    }
  return out;
}

GArray *
qr_peer_pressure (const QrPeerBox *boxes, guint n_boxes, int n_peers, const QrLabelBox *labels, guint n_labels,
                  const QrPeerOptions *options)
{
  QrPeerOptions defaults;
  g_autoptr (GArray) clusters = NULL;
  GArray *out = g_array_new (FALSE, FALSE, sizeof (QrMistake));

  g_return_val_if_fail (n_peers >= 1 && n_peers <= QR_PEERS_MAX, out);
  if (options == NULL)
    {
      qr_peer_options_init (&defaults);
      options = &defaults;
    }
  clusters = cluster_boxes (boxes, n_boxes, n_peers, options);

  /* Model mistakes: the strongest dissent in each cluster. */
  if (n_peers >= 2)
    for (guint k = 0; k < clusters->len; k++)
      {
        Cluster *c = &g_array_index (clusters, Cluster, k);
        float best = 0;
        int dissenter = -1;
        for (int p = 0; p < n_peers; p++)
          {
            float m, s, agreement, dissent;
            if (c->votes[p] < 0)
              continue; /* abstains */
            mean_std (c->votes, n_peers, p, &m, &s);
            if (m <= 0)
              continue;
            agreement = MAX (m - s, 0);
            dissent = MAX (m - c->votes[p], 0) / m;
            if (agreement * dissent > best)
              best = agreement * dissent, dissenter = p;
          }
        if (dissenter >= 0 && best > 0)
          {
            QrMistake mistake;
            fill_mistake (&mistake, QR_MISTAKE_MODEL, best, c, n_peers);
            mistake.peer = dissenter;
            g_array_append_val (out, mistake);
          }
      }

  /* Label mistakes. Labels and same-class clusters are paired one to one, best overlap first
   * (IoU ≥ locate_iou): a cluster claimed by one label cannot excuse a second label. */
  {
    g_autofree int *claimed_by = g_new (int, MAX (clusters->len, 1));
    g_autofree int *match = g_new (int, MAX (n_labels, 1));
    g_autofree float *match_iou = g_new0 (float, MAX (n_labels, 1));

    for (guint k = 0; k < clusters->len; k++)
      claimed_by[k] = -1;
    for (guint l = 0; l < n_labels; l++)
      match[l] = -1;
    for (;;)
      {
        float best = options->locate_iou;
        int bl = -1, bk = -1;
        for (guint l = 0; l < n_labels; l++)
          {
            if (match[l] >= 0)
              continue;
            for (guint k = 0; k < clusters->len; k++)
              {
                Cluster *c = &g_array_index (clusters, Cluster, k);
                float o;
                if (claimed_by[k] >= 0 || c->class_id != labels[l].class_id)
                  continue;
                o = qr_iou_xyxy (c->x1, c->y1, c->x2, c->y2, labels[l].x1, labels[l].y1, labels[l].x2, labels[l].y2);
                if (o >= best)
                  best = o, bl = (int) l, bk = (int) k;
              }
          }
        if (bl < 0)
          break;
        match[bl] = bk;
        match_iou[bl] = best;
        claimed_by[bk] = bl;
      }

    /* A label that slid off its object still touches it: pair what is left by any overlap, so that
     * one item (poorly located) reports it rather than two (spurious here, missing there). */
    for (;;)
      {
        float best = 0;
        int bl = -1, bk = -1;
        for (guint l = 0; l < n_labels; l++)
          {
            if (match[l] >= 0)
              continue;
            for (guint k = 0; k < clusters->len; k++)
              {
                Cluster *c = &g_array_index (clusters, Cluster, k);
                float o;
                if (claimed_by[k] >= 0 || c->class_id != labels[l].class_id || c->strength < options->min_consensus)
                  continue;
                o = qr_iou_xyxy (c->x1, c->y1, c->x2, c->y2, labels[l].x1, labels[l].y1, labels[l].x2, labels[l].y2);
                if (o > best)
                  best = o, bl = (int) l, bk = (int) k;
              }
          }
        if (bl < 0)
          break;
        match[bl] = bk;
        match_iou[bl] = best;
        claimed_by[bk] = bl;
      }

    for (guint l = 0; l < n_labels; l++)
      {
        const QrLabelBox *lb = &labels[l];
        Cluster *same = match[l] >= 0 ? &g_array_index (clusters, Cluster, match[l]) : NULL;
        Cluster *other = NULL;
        float support = same ? same->strength : 0, touch = 0;
        QrMistake mistake;

        for (guint k = 0; k < clusters->len; k++)
          {
            Cluster *c = &g_array_index (clusters, Cluster, k);
            float o = qr_iou_xyxy (c->x1, c->y1, c->x2, c->y2, lb->x1, lb->y1, lb->x2, lb->y2);
            if (o >= options->match_iou)
              c->labelled = TRUE;
            if (c->class_id == lb->class_id && o > 0 && claimed_by[k] < 0)
              touch = MAX (touch, c->strength);
            if (c->class_id != lb->class_id && o >= options->match_iou && (other == NULL || c->strength > other->strength))
              other = c;
          }
        if (other != NULL && other->strength > support)
          fill_mistake (&mistake, QR_MISTAKE_WRONG_CLASS, other->strength - support, other, n_peers);
        else if (same != NULL)
          {
            float score = same->strength * (1 - match_iou[l]);
            if (score <= 0)
              continue;
            fill_mistake (&mistake, QR_MISTAKE_POORLY_LOCATED, score, same, n_peers);
          }
        else
          {
            fill_mistake (&mistake, QR_MISTAKE_SPURIOUS, 1 - touch, NULL, n_peers);
            mistake.class_id = lb->class_id;
            mistake.x1 = lb->x1, mistake.y1 = lb->y1, mistake.x2 = lb->x2, mistake.y2 = lb->y2;
          }
        mistake.label_id = lb->label_id;
        mistake.label_class_id = lb->class_id;
        g_array_append_val (out, mistake);
      }

  /* Missing labels: confident clusters that no label covers, when the image has labels at all
   * (an unlabelled image is not a set of mistakes, it is work not yet done). Where the peers
   * name one unlabelled object with several classes (car and truck), only the strongest is
   * reported. */
  if (n_labels > 0)
    for (guint k = 0; k < clusters->len; k++)
      {
        Cluster *c = &g_array_index (clusters, Cluster, k);
        gboolean weaker_twin = FALSE;
        QrMistake mistake;
        if (c->labelled || claimed_by[k] >= 0 || c->strength < options->min_consensus)
          continue;
        for (guint j = 0; j < clusters->len && !weaker_twin; j++)
          {
            Cluster *d = &g_array_index (clusters, Cluster, j);
            if (j != k && !d->labelled && claimed_by[j] < 0 && d->class_id != c->class_id
                && (d->strength > c->strength || (d->strength == c->strength && j < k))
                && qr_iou_xyxy (c->x1, c->y1, c->x2, c->y2, d->x1, d->y1, d->x2, d->y2) >= 0.7f)
              weaker_twin = TRUE;
          }
        if (weaker_twin)
          continue;
        fill_mistake (&mistake, QR_MISTAKE_MISSING, c->strength, c, n_peers);
        g_array_append_val (out, mistake);
      }
  }

  g_array_sort (out, by_mistake_score);
  return out;
}

/* bench-mistakes.c: `quorum bench mistakes` — the planted-noise experiment. Labels checked by eye
 * on the demo photos (bench/checked-labels.json) are corrupted on purpose, 10% at a time and one
 * kind at a time (dropped, added, class swapped, box shifted); every method ranks its suspected
 * mistakes over the collection, and we count how many planted ones each finds near the top:
 * precision at k (k = the number planted) and recall at 3k, averaged over seeded trials.
 * Methods: peer pressure (four peers: CenterNet, NanoDet and both on mirrored images), and fed by
 * CenterNet alone: FiftyOne's mistakenness, Cleanlab's ObjectLab (each with its published
 * thresholds and with thresholds adapted to this detector's score range), the detector's
 * confidence, and random. */
#define G_LOG_DOMAIN "quorum-bench"

#include "quorum-config.h"
#include "qr-cli.h"
#include "qr-dataset.h"
#include "qr-detector.h"
#include "qr-files.h"
#include "qr-peers.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define MAX_PEERS 8
#define DEFAULT_PEERS "centernet,nanodet,centernet-flip,nanodet-flip"
static char **peer_names;
static int n_peers;
static GHashTable *peer_classes[MAX_PEERS];   /* class ids (experiment space) each peer has */

static gboolean
peer_knows (int peer, int class_id, gpointer data)
{
  return g_hash_table_contains (peer_classes[peer], GINT_TO_POINTER (class_id));
}

typedef struct
{
  GArray *boxes[MAX_PEERS]; /* QrPeerBox, class ids in the experiment's own space */
  GArray *labels;           /* QrLabelBox, the checked labels */
  int     width, height;
} ImageData;

typedef enum { KIND_MISSING, KIND_SPURIOUS, KIND_WRONG, KIND_LOC, N_KINDS } PlantKind;
static const char *const kind_titles[N_KINDS] = { "missing (label dropped)", "spurious (label added)",
                                                  "wrong class (class swapped)", "poorly located (box shifted)" };

typedef enum { M_PEERS, M_FIFTYONE, M_FIFTYONE_ADAPTED, M_OBJECTLAB, M_OBJECTLAB_ADAPTED, M_CONFIDENCE, M_RANDOM, N_METHODS } Method;
static const char *method_names[N_METHODS] = { "peer pressure", "FiftyOne mistakenness",
                                                     "FiftyOne, thresholds adapted", "ObjectLab",
                                                     "ObjectLab, thresholds adapted", "CenterNet confidence",
                                                     "random" };

typedef struct
{
  float  score;
  int    image;
  gint64 label_id;
  float  x1, y1, x2, y2;
} Item;

static int
by_item_score (gconstpointer a, gconstpointer b)
{
  float x = ((const Item *) a)->score, y = ((const Item *) b)->score;
  return x < y ? 1 : x > y ? -1 : 0;
}

static int
class_id (GHashTable *classes, const char *name)
{
  gpointer v = g_hash_table_lookup (classes, name);
  if (v == NULL)
    {
      v = GINT_TO_POINTER (g_hash_table_size (classes) + 1);
      g_hash_table_insert (classes, g_strdup (name), v);
    }
  return GPOINTER_TO_INT (v);
}

/* COCO's supercategories (from the COCO annotations' categories): a hard class swap stays inside
 * one, as an annotator's slip would (dog → cat, car → truck). */
static const char *const supercategories[][11] = {
  { "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat", NULL },
  { "traffic light", "fire hydrant", "stop sign", "parking meter", "bench", NULL },
  { "bird", "cat", "dog", "horse", "sheep", "cow", "elephant", "bear", "zebra", "giraffe", NULL },
  { "backpack", "umbrella", "handbag", "tie", "suitcase", NULL },
  { "frisbee", "skis", "snowboard", "sports ball", "kite", "baseball bat", "baseball glove", "skateboard", "surfboard",
    "tennis racket", NULL },
  { "bottle", "wine glass", "cup", "fork", "knife", "spoon", "bowl", NULL },
  { "banana", "apple", "sandwich", "orange", "broccoli", "carrot", "hot dog", "pizza", "donut", "cake", NULL },
  { "chair", "couch", "potted plant", "bed", "dining table", "toilet", NULL },
  { "tv", "laptop", "mouse", "remote", "keyboard", "cell phone", NULL },
  { "microwave", "oven", "toaster", "sink", "refrigerator", NULL },
  { "book", "clock", "vase", "scissors", "teddy bear", "hair drier", "toothbrush", NULL },
};

/* Another class of name's supercategory, or NULL when it has none (person). */
static const char *
confusable (const char *name, GRand *rand)
{
  for (guint s = 0; s < G_N_ELEMENTS (supercategories); s++)
    for (int c = 0; supercategories[s][c] != NULL; c++)
      if (g_str_equal (supercategories[s][c], name))
        {
          int n = 0, pick;
          while (supercategories[s][n] != NULL)
            n++;
          pick = g_rand_int_range (rand, 0, n - 1);
          return supercategories[s][pick >= c ? pick + 1 : pick];
        }
  return NULL;
}

static const char *
class_name_of (GHashTable *classes, int id)
{
  GHashTableIter iter;
  gpointer key, value;

  g_hash_table_iter_init (&iter, classes);
  while (g_hash_table_iter_next (&iter, &key, &value))
    if (GPOINTER_TO_INT (value) == id)
      return key;
  return NULL;
}

static float
iou4 (float ax1, float ay1, float ax2, float ay2, float bx1, float by1, float bx2, float by2)
{
  float ix = MIN (ax2, bx2) - MAX (ax1, bx1), iy = MIN (ay2, by2) - MAX (ay1, by1), inter, uni;
  if (ix <= 0 || iy <= 0)
    return 0;
  inter = ix * iy;
  uni = (ax2 - ax1) * (ay2 - ay1) + (bx2 - bx1) * (by2 - by1) - inter;
  return uni > 0 ? inter / uni : 0;
}

static void
rank_method (Method method, ImageData *images, guint n_images, GArray **labels, GRand *rand, GArray *items)
{
  QrBaselineOptions options;

  qr_baseline_options_init (&options);
  if (method == M_FIFTYONE_ADAPTED || method == M_OBJECTLAB_ADAPTED)
    options.high_threshold = 0.4f; /* CenterNet's scores rarely pass 0.8, never the published 0.95 */
  for (guint i = 0; i < n_images; i++)
    {
      GArray *lab = labels[i];
      GArray *cn = images[i].boxes[0];
      g_autoptr (GArray) found = NULL;

      if (method == M_PEERS)
        {
          g_autoptr (GArray) all = g_array_new (FALSE, FALSE, sizeof (QrPeerBox));
          QrPeerOptions peer_options;
          qr_peer_options_init (&peer_options);
          peer_options.knows = peer_knows;
          for (int p = 0; p < n_peers; p++)
            g_array_append_vals (all, images[i].boxes[p]->data, images[i].boxes[p]->len);
          found = qr_peer_pressure ((QrPeerBox *) all->data, all->len, n_peers, (QrLabelBox *) lab->data, lab->len,
                                    &peer_options);
        }
      else if (method == M_FIFTYONE || method == M_FIFTYONE_ADAPTED)
        found = qr_baseline_fiftyone ((QrPeerBox *) cn->data, cn->len, (QrLabelBox *) lab->data, lab->len, &options);
      else if (method == M_OBJECTLAB || method == M_OBJECTLAB_ADAPTED)
        found = qr_baseline_objectlab ((QrPeerBox *) cn->data, cn->len, (QrLabelBox *) lab->data, lab->len, &options);
      else
        found = qr_baseline_confidence ((QrPeerBox *) cn->data, cn->len, (QrLabelBox *) lab->data, lab->len);
      for (guint k = 0; k < found->len; k++)
        {
          QrMistake *m = &g_array_index (found, QrMistake, k);
          Item it = { m->score, (int) i, m->label_id, m->x1, m->y1, m->x2, m->y2 };
          /* Model mistakes are the other queue (a peer wrong, not a label): not label suspects. */
          if (m->kind == QR_MISTAKE_MODEL)
            continue;
          if (method == M_RANDOM)
            it.score = (float) g_rand_double (rand);
          g_array_append_val (items, it);
        }
    }
  g_array_sort (items, by_item_score);
}

/* Planted mistakes: label ids, or dropped boxes (image, box). */
typedef struct
{
  int    image;
  gint64 label_id;    /* -1 for a dropped label */
  float  x1, y1, x2, y2; /* a dropped label's box, or a shifted label's box before the shift */
  gboolean found;
} Plant;

static gboolean
item_matches (const Item *it, const Plant *p)
{
  if (it->image != p->image)
    return FALSE;
  if (p->label_id >= 0 && it->label_id == p->label_id)
    return TRUE;
  /* A dropped label is found by an unlabelled-object item where it was; a shifted one too (the
   * item then points at the object its label slid off), and by its own label id. */
  return it->label_id < 0 && (p->label_id < 0 || p->x2 > p->x1)
         && iou4 (it->x1, it->y1, it->x2, it->y2, p->x1, p->y1, p->x2, p->y2) >= 0.5f;
}

static void
evaluate (GArray *items, GArray *plants, double *precision_at_k, double *recall_at_3k)
{
  guint k = plants->len, hits_k = 0, hits_3k = 0;

  for (guint i = 0; i < plants->len; i++)
    g_array_index (plants, Plant, i).found = FALSE;
  for (guint r = 0; r < items->len && r < 3 * k; r++)
    {
      Item *it = &g_array_index (items, Item, r);
      for (guint i = 0; i < plants->len; i++)
        {
          Plant *p = &g_array_index (plants, Plant, i);
          if (!p->found && item_matches (it, p))
            {
              p->found = TRUE;
              if (r < k)
                hits_k++;
              hits_3k++;
              break;
            }
        }
    }
  *precision_at_k = (double) hits_k / k;
  *recall_at_3k = (double) hits_3k / k;
}

int
qr_cli_bench_mistakes (int argc, char **argv)
{
  g_autofree char *labels_path = NULL, *dir = NULL, *peers_text = NULL;
  int trials = 400;
  gboolean hard = FALSE;
  GOptionEntry entries[] = {
    { "hard", 0, 0, G_OPTION_ARG_NONE, &hard, "Subtle corruptions: swaps within a COCO supercategory, shifts of 8–15%", NULL },
    { "peers", 'p', 0, G_OPTION_ARG_STRING, &peers_text, "Comma-separated peers (default " DEFAULT_PEERS ")", "LIST" },
    { "labels", 'l', 0, G_OPTION_ARG_FILENAME, &labels_path, "Checked labels, COCO (default bench/checked-labels.json)", "FILE" },
    { "dir", 'd', 0, G_OPTION_ARG_FILENAME, &dir, "The photos (default: the demo collection)", "DIR" },
    { "trials", 'n', 0, G_OPTION_ARG_INT, &trials, "Seeded corruptions per kind (default 400)", "N" },
    { NULL }
  };
  g_autoptr (GOptionContext) context = g_option_context_new ("— planted label mistakes: peer pressure against baselines");
  g_autoptr (GError) error = NULL;
  g_autofree char *tmp = NULL, *db = NULL;
  g_autoptr (QrCatalog) catalog = NULL;
  g_autoptr (GPtrArray) records = NULL;
  g_autoptr (GPtrArray) all_labels = NULL;
  g_autoptr (GHashTable) classes = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr (GHashTable) index_of = g_hash_table_new (g_int64_hash, g_int64_equal);
  ImageData *images = NULL;
  guint n_images = 0, n_labels = 0;
  double precision[N_KINDS][N_METHODS] = { { 0 } }, recall[N_KINDS][N_METHODS] = { { 0 } };
  GRand *rand = NULL;
  GArray *label_classes = g_array_new (FALSE, FALSE, sizeof (int));
  QrImportOptions import = { QR_DATASET_COCO };

  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    return qr_cli_usage_error (context, error->message);
  g_strfreev (peer_names);
  peer_names = g_strsplit (peers_text ? peers_text : DEFAULT_PEERS, ",", -1);
  n_peers = (int) g_strv_length (peer_names);
  if (n_peers < 1 || n_peers > MAX_PEERS)
    return qr_cli_usage_error (context, "give 1 to 8 peers");
  {
    static char title[64];
    g_snprintf (title, sizeof title, "peer pressure (%d peers)", n_peers);
    method_names[M_PEERS] = title;
  }
  if (labels_path == NULL)
    labels_path = g_build_filename (QUORUM_SOURCE_DIR, "bench", "checked-labels.json", NULL);
  if (dir == NULL)
    dir = g_strdup (QUORUM_DEMO_DIR_SOURCE);
  tmp = g_dir_make_tmp ("quorum-bench-XXXXXX", &error);
  if (tmp == NULL)
    return qr_cli_fail (g_steal_pointer (&error));
  db = g_build_filename (tmp, "catalog.sqlite", NULL);
  catalog = qr_catalog_open (dir, db, &error);
  import.path = labels_path;
  if (catalog == NULL || !qr_index_collection (catalog, NULL, NULL, NULL, NULL, NULL, &error)
      || !qr_dataset_import (catalog, &import, NULL, NULL, NULL, NULL, &error)
      || (records = qr_catalog_list_images (catalog, QR_IMAGE_STATE_OK, &error)) == NULL
      || (all_labels = qr_catalog_list_labels (catalog, QR_LABEL_FILTER_ALL, &error)) == NULL)
    goto fail;

  /* Images that carry checked labels (an image listed with none counts as checked and empty). */
  images = g_new0 (ImageData, records->len);
  for (guint i = 0; i < records->len; i++)
    {
      QrImageRecord *r = records->pdata[i];
      if (g_str_equal (r->path, "darknet-scream.jpg"))
        continue; /* not labelled: a painting */
      images[n_images].width = r->width;
      images[n_images].height = r->height;
      images[n_images].labels = g_array_new (FALSE, FALSE, sizeof (QrLabelBox));
      g_hash_table_insert (index_of, &r->id, GUINT_TO_POINTER (n_images + 1));
      n_images++;
    }
  for (guint l = 0; l < all_labels->len; l++)
    {
      QrLabelRecord *r = all_labels->pdata[l];
      guint i = GPOINTER_TO_UINT (g_hash_table_lookup (index_of, &r->image_id));
      QrLabelBox b = { r->id, class_id (classes, r->class_name), (float) r->box.x1, (float) r->box.y1, (float) r->box.x2,
                       (float) r->box.y2 };
      if (i == 0)
        continue;
      g_array_append_val (images[i - 1].labels, b);
      n_labels++;
      {
        gboolean seen = FALSE;
        for (guint c = 0; c < label_classes->len; c++)
          seen |= g_array_index (label_classes, int, c) == b.class_id;
        if (!seen)
          g_array_append_val (label_classes, b.class_id);
      }
    }

  /* The peers, each over every image, boxes kept in memory. */
  for (int p = 0; p < n_peers; p++)
    {
      gboolean flip = g_str_has_suffix (peer_names[p], "-flip");
      g_autofree char *base = flip ? g_strndup (peer_names[p], strlen (peer_names[p]) - 5) : g_strdup (peer_names[p]);
      g_autofree char *path = qr_cli_resolve_model (base, &error);
      g_autoptr (QrDetector) detector = NULL;
      QrDetectorOptions options;
      guint slot = 0;

      if (path == NULL)
        goto fail;
      qr_detector_options_init (&options);
      options.score_threshold = 0.1f;
      options.flip = flip;
      detector = qr_detector_load (path, &options, &error);
      if (detector == NULL)
        goto fail;
      g_clear_pointer (&peer_classes[p], g_hash_table_unref);
      peer_classes[p] = g_hash_table_new (g_direct_hash, g_direct_equal);
      for (int c = 0; c < qr_detector_get_n_classes (detector); c++)
        g_hash_table_add (peer_classes[p], GINT_TO_POINTER (class_id (classes, qr_detector_get_class_name (detector, c))));
      for (guint i = 0; i < records->len; i++)
        {
          QrImageRecord *r = records->pdata[i];
          g_autofree char *file = NULL;
          g_autoptr (QrImage) image = NULL;
          g_autoptr (GArray) found = NULL;
          guint at = GPOINTER_TO_UINT (g_hash_table_lookup (index_of, &r->id));
          if (at == 0)
            continue;
          slot = at - 1;
          file = qr_catalog_resolve_path (catalog, r->path);
          image = qr_image_load (file, NULL, 0, &error);
          if (image == NULL || (found = qr_detector_detect (detector, image, NULL, NULL, &error)) == NULL)
            goto fail;
          images[slot].boxes[p] = g_array_new (FALSE, FALSE, sizeof (QrPeerBox));
          for (guint k = 0; k < found->len; k++)
            {
              QrDetection *d = &g_array_index (found, QrDetection, k);
              QrPeerBox b = { p, class_id (classes, qr_detector_get_class_name (detector, d->class_id)), d->score, d->x1,
                              d->y1, d->x2, d->y2 };
              g_array_append_val (images[slot].boxes[p], b);
            }
        }
    }

  rand = g_rand_new_with_seed (2026);
  for (int kind = 0; kind < N_KINDS; kind++)
    for (int t = 0; t < trials; t++)
      {
        guint n_plant = MAX (1, (guint) lround (0.1 * n_labels));
        g_autoptr (GArray) plants = g_array_new (FALSE, FALSE, sizeof (Plant));
        GArray **labels = g_new0 (GArray *, n_images);
        gint64 next_id = 1000000;

        for (guint i = 0; i < n_images; i++)
          labels[i] = g_array_copy (images[i].labels);
        for (guint j = 0; j < n_plant; j++)
          {
            guint i;
            Plant plant = { 0 };
            if (kind == KIND_SPURIOUS)
              {
                float w, h;
                QrLabelBox b;
                i = (guint) g_rand_int_range (rand, 0, (gint32) n_images);
                w = (float) images[i].width * (float) g_rand_double_range (rand, 0.1, 0.3);
                h = (float) images[i].height * (float) g_rand_double_range (rand, 0.1, 0.3);
                b.label_id = next_id++;
                b.class_id = g_array_index (label_classes, int, g_rand_int_range (rand, 0, (gint32) label_classes->len));
                b.x1 = (float) g_rand_double_range (rand, 0, images[i].width - w);
                b.y1 = (float) g_rand_double_range (rand, 0, images[i].height - h);
                b.x2 = b.x1 + w;
                b.y2 = b.y1 + h;
                g_array_append_val (labels[i], b);
                plant.image = (int) i;
                plant.label_id = b.label_id;
                g_array_append_val (plants, plant);
                continue;
              }
            /* pick a label not picked yet */
            for (;;)
              {
                guint pick = (guint) g_rand_int_range (rand, 0, (gint32) n_labels), seen = 0;
                gboolean taken = FALSE;
                for (i = 0; i < n_images; i++)
                  {
                    if (pick < seen + labels[i]->len)
                      break;
                    seen += labels[i]->len;
                  }
                if (i == n_images)
                  continue;
                {
                  QrLabelBox *b = &g_array_index (labels[i], QrLabelBox, pick - seen);
                  for (guint q = 0; q < plants->len; q++)
                    taken |= g_array_index (plants, Plant, q).label_id == b->label_id
                             || (g_array_index (plants, Plant, q).image == (int) i && b->label_id < 0);
                  if (taken || b->label_id < 0)
                    continue;
                  plant.image = (int) i;
                  if (kind == KIND_MISSING)
                    {
                      plant.label_id = -1;
                      plant.x1 = b->x1, plant.y1 = b->y1, plant.x2 = b->x2, plant.y2 = b->y2;
                      b->label_id = -1; /* marked; removed below */
                    }
                  else if (kind == KIND_WRONG && hard
                           && confusable (class_name_of (classes, b->class_id), rand) != NULL)
                    {
                      /* drawn again: confusable's first call only proved there is one */
                      b->class_id = class_id (classes, confusable (class_name_of (classes, b->class_id), rand));
                      plant.label_id = b->label_id;
                    }
                  else if (kind == KIND_WRONG)
                    {
                      int c;
                      do
                        c = g_array_index (label_classes, int, g_rand_int_range (rand, 0, (gint32) label_classes->len));
                      while (c == b->class_id && label_classes->len > 1);
                      b->class_id = c;
                      plant.label_id = b->label_id;
                    }
                  else
                    {
                      float w = b->x2 - b->x1, h = b->y2 - b->y1;
                      plant.x1 = b->x1, plant.y1 = b->y1, plant.x2 = b->x2, plant.y2 = b->y2;
                      double lo = hard ? 0.08 : 0.3, hi = hard ? 0.15 : 0.5;
                      float dx = w * (float) g_rand_double_range (rand, lo, hi) * (g_rand_boolean (rand) ? 1 : -1);
                      float dy = h * (float) g_rand_double_range (rand, lo, hi) * (g_rand_boolean (rand) ? 1 : -1);
                      b->x1 += dx, b->x2 += dx, b->y1 += dy, b->y2 += dy;
                      plant.label_id = b->label_id;
                    }
                  g_array_append_val (plants, plant);
                  break;
                }
              }
          }
        if (kind == KIND_MISSING)
          for (guint i = 0; i < n_images; i++)
            for (guint k = labels[i]->len; k > 0; k--)
              if (g_array_index (labels[i], QrLabelBox, k - 1).label_id < 0)
                g_array_remove_index (labels[i], k - 1);

        for (int m = 0; m < N_METHODS; m++)
          {
            g_autoptr (GArray) items = g_array_new (FALSE, FALSE, sizeof (Item));
            double pk, r3k;
            rank_method ((Method) m, images, n_images, labels, rand, items);
            evaluate (items, plants, &pk, &r3k);
            if (m == M_PEERS && t == 0 && g_getenv ("QUORUM_BENCH_DEBUG"))
              for (guint r = 0; r < items->len && r < 3 * plants->len; r++)
                {
                  Item *it = &g_array_index (items, Item, r);
                  gboolean hit = FALSE;
                  for (guint q = 0; q < plants->len; q++)
                    hit |= item_matches (it, &g_array_index (plants, Plant, q));
                  g_printerr ("kind %d rank %u score %.3f image %d label %" G_GINT64_FORMAT " %s [%.0f %.0f %.0f %.0f]\n", kind, r,
                              it->score, it->image, it->label_id, hit ? "PLANTED" : "", it->x1, it->y1, it->x2, it->y2);
                }
            precision[kind][m] += pk / trials;
            recall[kind][m] += r3k / trials;
          }
        for (guint i = 0; i < n_images; i++)
          g_array_unref (labels[i]);
        g_free (labels);
      }

  printf ("bench mistakes%s: %u checked labels on %u photos, 10%% planted per kind (%u), %d seeded trials each\n",
          hard ? " --hard" : "", n_labels, n_images, MAX (1, (guint) lround (0.1 * n_labels)), trials);
  if (hard)
    printf ("hard: classes swapped within their COCO supercategory (person, alone in its own, to any class), boxes "
            "shifted 8–15%% of their size on each axis (IoU 0.57–0.73 with the truth)\n");
  printf ("precision at k (k = planted) / recall at 3k, averaged over the trials:\n\n");
  printf ("| method |");
  for (int kind = 0; kind < N_KINDS; kind++)
    printf (" %s |", kind_titles[kind]);
  printf ("\n| --- |");
  for (int kind = 0; kind < N_KINDS; kind++)
    printf (" --- |");
  printf ("\n");
  for (int m = 0; m < N_METHODS; m++)
    {
      printf ("| %s |", method_names[m]);
      for (int kind = 0; kind < N_KINDS; kind++)
        printf (" %.2f / %.2f |", precision[kind][m], recall[kind][m]);
      printf ("\n");
    }
  g_rand_free (rand);
  g_array_unref (label_classes);
  for (guint i = 0; i < n_images; i++)
    {
      g_array_unref (images[i].labels);
      for (int p = 0; p < n_peers; p++)
        if (images[i].boxes[p])
          g_array_unref (images[i].boxes[p]);
    }
  g_free (images);
  g_clear_object (&catalog);
  qr_remove_tree (tmp);
  return QR_EXIT_OK;

fail:
  g_clear_object (&catalog);
  qr_remove_tree (tmp);
  return qr_cli_fail (g_steal_pointer (&error));
}

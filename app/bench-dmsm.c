/* bench-dmsm.c: `quorum bench dmsm` — does the caption model (DMSM) learn? On generated scenes
 * (bench/qr-scenes.h: shapes, colours, counts, relations, backgrounds) whose captions say what is
 * there, a DMSM is trained on the training scenes' captions over the real CenterNet backbone's
 * features, and the held-out scenes are searched with their own captions.
 *
 * Reported on the held-out scenes, for the DMSM, the zero-shot scorer (the peers run over the
 * held-out scenes as the app runs them; it knows COCO's objects, not colours or shapes) and random
 * order: text → image recall@1/5/10 (each held-out caption's own scene among all held-out scenes;
 * ties broken at random, in expectation) and caption re-ranking (each scene's own caption among 50: it and 49 others
 * drawn with a seed; ties shared). Then training time per epoch.
 *
 * Features take most of the time (one backbone run a scene); they are kept in a cache file keyed by
 * everything that makes them, so a second run trains at once. */
#define G_LOG_DOMAIN "quorum-bench"

#include "qr-cli.h"
#include "qr-backbone.h"
#include "qr-caption-model.h"
#include "qr-scenes.h"
#include "qr-scorer.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <glib/gstdio.h>

#define CANDIDATES 50
#define CACHE_MAGIC "QRSCENE1"

typedef struct
{
  guint64 seed;
  guint32 side, n_train, n_test, channels;
} CacheKey;

static volatile sig_atomic_t interrupted;

static void
on_interrupt (int sig)
{
  (void) sig;
  interrupted = 1;
}

static gboolean
abort_if_interrupted (gpointer data)
{
  (void) data;
  return interrupted != 0;
}

static char *
default_cache_path (const CacheKey *key)
{
  g_autofree char *name = g_strdup_printf ("bench-dmsm-%" G_GUINT64_FORMAT "-%u-%u-%u.f32", key->seed, key->side,
                                           key->n_train, key->n_test);
  return g_build_filename (g_get_user_cache_dir (), "quorum", name, NULL);
}

/* The cached features when the file was made for exactly this key. */
static float *
cache_load (const char *path, const CacheKey *key)
{
  g_autofree char *data = NULL;
  gsize len, want = 8 + sizeof *key + (gsize) (key->n_train + key->n_test) * key->channels * sizeof (float);
  float *out;

  if (!g_file_get_contents (path, &data, &len, NULL) || len != want || memcmp (data, CACHE_MAGIC, 8) != 0
      || memcmp (data + 8, key, sizeof *key) != 0)
    return NULL;
  out = g_new (float, (gsize) (key->n_train + key->n_test) * key->channels);
  memcpy (out, data + 8 + sizeof *key, want - 8 - sizeof *key);
  return out;
}

static void
cache_save (const char *path, const CacheKey *key, const float *features)
{
  g_autoptr (GByteArray) bytes = g_byte_array_new ();
  g_autofree char *dir = g_path_get_dirname (path);
  g_autoptr (GError) error = NULL;

  g_byte_array_append (bytes, (const guint8 *) CACHE_MAGIC, 8);
  g_byte_array_append (bytes, (const guint8 *) key, sizeof *key);
  g_byte_array_append (bytes, (const guint8 *) features,
                       (guint) ((gsize) (key->n_train + key->n_test) * key->channels * sizeof (float)));
  /* g_file_set_contents writes a temporary file and renames it */
  if (g_mkdir_with_parents (dir, 0755) != 0
      || !g_file_set_contents (path, (const char *) bytes->data, (gssize) bytes->len, &error))
    fprintf (stderr, "quorum: could not keep the features in %s: %s\n", path,
             error ? error->message : g_strerror (errno));
}

/* Scene i: train scenes first, then held-out ones. */
static void
scene_at (guint64 seed, guint n_train, guint i, QrScene *scene)
{
  if (i < n_train)
    qr_scene_generate (seed, i, FALSE, scene);
  else
    qr_scene_generate (seed, i - n_train, TRUE, scene);
}

static gboolean
compute_features (QrBackbone *backbone, const CacheKey *key, float *features, gboolean quiet, GError **error)
{
  guint n = key->n_train + key->n_test;
  QrCliProgress progress;

  qr_cli_progress_init (&progress, "scene features", quiet);
  for (guint i = 0; i < n; i++)
    {
      QrScene scene;
      g_autoptr (QrImage) image = NULL;

      if (interrupted)
        {
          g_set_error (error, QR_ENGINE_ERROR, QR_ENGINE_ERROR_CANCELLED, "stopped after %u of %u scenes", i, n);
          return FALSE;
        }
      scene_at (key->seed, key->n_train, i, &scene);
      image = qr_scene_render (&scene, (int) key->side);
      if (!qr_backbone_run (backbone, image, features + (gsize) i * key->channels, NULL, NULL, NULL, NULL,
                            abort_if_interrupted, NULL, error))
        return FALSE;
      qr_cli_progress_update (i + 1, n, &progress);
    }
  qr_cli_progress_end (&progress);
  return TRUE;
}

typedef struct
{
  double r1, r5, r10, rerank;
  guint  unscorable;
} Metrics;

/* The chance that an item ranks k or better when `better` items score higher and `tied` the same
 * (its place among the tied is drawn uniformly). */
static double
at_most (guint k, guint better, guint tied)
{
  return CLAMP (((double) k - better) / (tied + 1), 0, 1);
}

/* scores: n captions × n scenes (caption t belongs to scene t); distractors: n × (CANDIDATES-1). */
static void
measure (const float *scores, guint n, const guint *distractors, Metrics *m)
{
  m->r1 = m->r5 = m->r10 = m->rerank = 0;
  for (guint t = 0; t < n; t++)
    {
      const float *row = scores + (gsize) t * n;
      guint better = 0, tied = 0;
      for (guint i = 0; i < n; i++)
        if (i != t)
          better += row[i] > row[t], tied += row[i] == row[t];
      /* the own scene falls anywhere among those it ties with: the expected recall */
      m->r1 += at_most (1, better, tied);
      m->r5 += at_most (5, better, tied);
      m->r10 += at_most (10, better, tied);
    }
  for (guint i = 0; i < n; i++)
    {
      float own = scores[(gsize) i * n + i];
      guint better = 0, tied = 0;
      for (guint k = 0; k < CANDIDATES - 1; k++)
        {
          float s = scores[(gsize) distractors[(gsize) i * (CANDIDATES - 1) + k] * n + i];
          better += s > own, tied += s == own;
        }
      m->rerank += better == 0 ? 1.0 / (1 + tied) : 0;
    }
  m->r1 /= n;
  m->r5 /= n;
  m->r10 /= n;
  m->rerank /= n;
}

static void
print_metrics (const char *title, const Metrics *m, const char *extra)
{
  printf ("  %-34s %8.3f %8.3f %8.3f %12.3f%s\n", title, m->r1, m->r5, m->r10, m->rerank, extra ? extra : "");
}

/* The DMSM's scores of the held-out captions against the held-out scenes. */
static void
dmsm_scores (QrDmsm *model, const float *rows, int dim, char **captions, guint n, float *scores)
{
  int out_dim = qr_dmsm_get_shape (model)->out_dim;
  g_autofree float *images = g_new (float, (gsize) n * out_dim);
  g_autofree float *text = g_new (float, out_dim);

  (void) dim;
  qr_dmsm_embed_images (model, rows, (int) n, images);
  for (guint t = 0; t < n; t++)
    {
      if (!qr_dmsm_embed_text (model, captions[t], text, NULL))
        memset (text, 0, sizeof (float) * out_dim);
      for (guint i = 0; i < n; i++)
        {
          float dot = 0;
          for (int d = 0; d < out_dim; d++)
            dot += text[d] * images[(gsize) i * out_dim + d];
          scores[(gsize) t * n + i] = dot;
        }
    }
}

static gboolean
run_self (const char *const *args, GError **error)
{
  g_autofree char *self = g_file_read_link ("/proc/self/exe", error);
  int status;

  return self != NULL && qr_cli_run_self (self, args, &status, error);
}

/* The zero-shot scorer's scores: the held-out scenes written as PNGs into a collection, indexed
 * and run through the default peers as the app does, then every caption scored on every scene. */
static gboolean
zeroshot_scores (const CacheKey *key, guint n, char **captions, float *scores, gboolean caption_mode, const char *dir,
                 gboolean quiet, guint *unscorable, GError **error)
{
  g_autoptr (QrCatalog) catalog = NULL;
  g_autoptr (QrScorer) scorer = NULL;
  g_autofree gint64 *ids = g_new (gint64, n);
  g_autofree char *db = g_build_filename (dir, "catalog.sqlite", NULL);

  /* index and peers always run: a stopped run resumes, a finished one has nothing to do */
    {
      const char *index_args[] = { "index", "--db", db, "--quiet", dir, NULL };
      const char *peers_args[] = { "peers", "--collection", dir, "--db", db, "run", quiet ? "--quiet" : NULL, NULL };
      for (guint i = 0; i < n; i++)
        {
          QrScene scene;
          g_autoptr (QrImage) image = NULL;
          g_autofree char *path = NULL;
          char name[32];

          g_snprintf (name, sizeof name, "scene-%05u.png", i);
          path = g_build_filename (dir, name, NULL);
          if (g_file_test (path, G_FILE_TEST_IS_REGULAR))
            continue;
          qr_scene_generate (key->seed, i, TRUE, &scene);
          image = qr_scene_render (&scene, (int) key->side);
          if (!qr_image_save_png (image, path, error))
            return FALSE;
        }
      if (!run_self (index_args, error) || !run_self (peers_args, error))
        {
          g_prefix_error (error, "the zero-shot scorer's peers over %s: ", dir);
          return FALSE;
        }
    }
  if ((catalog = qr_catalog_open (dir, db, error)) == NULL
      || (scorer = qr_scorer_new (catalog, "zeroshot", error)) == NULL)
    return FALSE;
  for (guint i = 0; i < n; i++)
    {
      char name[32];
      g_autoptr (QrImageRecord) record = NULL;

      g_snprintf (name, sizeof name, "scene-%05u.png", i);
      if ((record = qr_catalog_find_image (catalog, name, error)) == NULL)
        {
          if (error != NULL && *error == NULL)
            g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_NOENT, "%s: %s is not in its catalog", dir, name);
          return FALSE;
        }
      ids[i] = record->id;
    }
  *unscorable = 0;
  for (guint t = 0; t < n; t++)
    {
      QrScorerText *text = caption_mode ? qr_scorer_prepare_caption (scorer, captions[t], NULL)
                                        : qr_scorer_prepare (scorer, captions[t], NULL);
      if (text == NULL)
        {
          (*unscorable)++;
          memset (scores + (gsize) t * n, 0, sizeof (float) * n);
          continue;
        }
      for (guint i = 0; i < n; i++)
        {
          QrScore s = { 0 };
          if (!qr_scorer_score (scorer, text, ids[i], caption_mode ? QR_TEXT_CAPTION : QR_TEXT_QUERY, &s, error))
            {
              qr_scorer_text_free (scorer, text);
              return FALSE;
            }
          scores[(gsize) t * n + i] = (float) s.score;
          qr_score_clear (&s);
        }
      qr_scorer_text_free (scorer, text);
    }
  return TRUE;
}

/* --write DIR: the first n training scenes as PNGs and their captions as COCO captions
 * (captions.json), a collection to try the caption model on in the app. */
static int
write_collection (const char *dir, guint64 seed, int n, int side, int variants)
{
  g_autoptr (GString) json = g_string_new ("{\"images\": [");
  g_autoptr (GString) annotations = g_string_new ("], \"annotations\": [");
  g_autofree char *json_path = g_build_filename (dir, "captions.json", NULL);
  g_autoptr (GError) error = NULL;
  guint caption_id = 1;

  if (g_mkdir_with_parents (dir, 0755) != 0)
    {
      fprintf (stderr, "quorum: %s: %s\n", dir, g_strerror (errno));
      return QR_EXIT_ERROR;
    }
  for (int i = 0; i < n; i++)
    {
      QrScene scene;
      g_autoptr (QrImage) image = NULL;
      g_autofree char *path = NULL;
      char name[32];

      g_snprintf (name, sizeof name, "scene-%05d.png", i);
      path = g_build_filename (dir, name, NULL);
      qr_scene_generate (seed, (guint) i, FALSE, &scene);
      image = qr_scene_render (&scene, side);
      if (!qr_image_save_png (image, path, &error))
        return qr_cli_fail (g_steal_pointer (&error));
      g_string_append_printf (json, "%s{\"id\": %d, \"file_name\": \"%s\", \"width\": %d, \"height\": %d}",
                              i ? ", " : "", i + 1, name, side, side);
      for (int v = 0; v < variants; v++)
        {
          g_autofree char *caption = qr_scene_caption (&scene, seed, (guint) v);
          g_string_append_printf (annotations, "%s{\"id\": %u, \"image_id\": %d, \"caption\": ",
                                  caption_id > 1 ? ", " : "", caption_id, i + 1);
          qr_cli_append_json_string (annotations, caption);
          g_string_append (annotations, "}");
          caption_id++;
        }
    }
  g_string_append (json, annotations->str);
  g_string_append (json, "]}\n");
  if (!g_file_set_contents (json_path, json->str, (gssize) json->len, &error))
    return qr_cli_fail (g_steal_pointer (&error));
  printf ("%d scenes and %u captions in %s (quorum import --collection %s --format coco %s)\n", n, caption_id - 1, dir,
          dir, json_path);
  return QR_EXIT_OK;
}

/* For each of n scenes, CANDIDATES − 1 other scenes' captions, drawn with a seed. */
static guint *
draw_distractors (guint n, guint32 seed)
{
  g_autoptr (GRand) rand = g_rand_new_with_seed (seed);
  guint *distractors = g_new (guint, (gsize) n * (CANDIDATES - 1));

  for (guint i = 0; i < n; i++)
    for (int k = 0; k < CANDIDATES - 1; k++)
      {
        guint d;
        gboolean again;
        do
          {
            d = (guint) g_rand_int_range (rand, 0, (gint32) n);
            again = d == i;
            for (int j = 0; j < k && !again; j++)
              again = distractors[(gsize) i * (CANDIDATES - 1) + j] == d;
          }
        while (again);
        distractors[(gsize) i * (CANDIDATES - 1) + k] = d;
      }
  return distractors;
}

/* The far verdict's score (qr_caption_judge_far's): the share of the other scenes the model puts
 * nearer the caption than its own; 0 for a caption it knows no word of. */
static void
far_scores (QrDmsm *model, const QrCaptionInputs *inputs, guint n_scenes, GArray *pairs, const gboolean *judged,
            double *out)
{
  int O = qr_dmsm_get_shape (model)->out_dim;
  g_autofree float *images = g_new (float, (gsize) n_scenes * O);
  g_autofree float *text = g_new (float, O);
  g_autofree float *sims = g_new (float, n_scenes);

  qr_dmsm_embed_images (model, inputs->rows, (int) n_scenes, images);
  for (guint c = 0; c < pairs->len; c++)
    {
      const QrCaptionPair *p = &g_array_index (pairs, QrCaptionPair, c);
      guint ahead = 0;
      if (judged != NULL && !judged[c])
        continue;
      out[c] = 0;
      if (!qr_dmsm_embed_text (model, p->text, text, NULL))
        continue;
      for (guint i = 0; i < n_scenes; i++)
        {
          float dot = 0;
          for (int d = 0; d < O; d++)
            dot += text[d] * images[(gsize) i * O + d];
          sims[i] = dot;
        }
      for (guint i = 0; i < n_scenes; i++)
        ahead += i != p->row && sims[i] > sims[p->row];
      out[c] = (double) ahead / (n_scenes - 1);
    }
}

/* Of the k highest scores (ties broken by a seeded draw), how many are planted. */
static double
precision_at_k (const double *score, const gboolean *planted, guint n, guint k, guint32 seed)
{
  g_autoptr (GRand) rand = g_rand_new_with_seed (seed);
  g_autofree double *keyed = g_new (double, n);
  g_autofree guint *order = g_new (guint, n);
  guint hits = 0;

  for (guint i = 0; i < n; i++)
    {
      order[i] = i;
      keyed[i] = score[i] + 1e-9 * g_rand_double (rand);   /* below any difference of ranks */
    }
  for (guint pick = 0; pick < k; pick++)
    {
      guint best = pick;
      for (guint i = pick + 1; i < n; i++)
        if (keyed[order[i]] > keyed[order[best]])
          best = i;
      hits += planted[order[best]];
      order[best] = order[pick];
    }
  return (double) hits / k;
}

/* --plant: a share of the training captions replaced by other scenes' captions, the DMSM trained
 * on them as a user's would be, and every training caption judged "far from its own scene" — by
 * the model itself, which trained on it, and by out-of-fold judges (as `quorum captions train`
 * makes them), each judging the captions it did not train on. Precision at k, k the number planted. */
static int
plant_mistakes (QrCaptionInputs *inputs, GArray *train, guint n_scenes, double rate, int n_judges, int epochs,
                const QrCaptionTrainOptions *options)
{
  g_autoptr (GRand) rand = g_rand_new_with_seed ((guint32) options->seed + 31);
  g_autoptr (GArray) pairs = g_array_sized_new (FALSE, FALSE, sizeof (QrCaptionPair), train->len);
  g_autofree gboolean *planted = g_new0 (gboolean, train->len);
  g_autofree gboolean *in_fold = g_new (gboolean, train->len);
  g_autofree double *own = g_new0 (double, train->len);
  g_autofree double *oof = g_new0 (double, train->len);
  g_autofree double *noise = g_new (double, train->len);
  guint k = 0;
  double seconds = 0;
  g_autofree char *device = NULL;

  g_array_append_vals (pairs, train->data, train->len);
  for (guint c = 0; c < pairs->len; c++)
    if (g_rand_double (rand) < rate)
      {
        QrCaptionPair *p = &g_array_index (pairs, QrCaptionPair, c);
        const QrCaptionPair *other;
        do
          other = &g_array_index (train, QrCaptionPair, g_rand_int_range (rand, 0, (gint32) train->len));
        while (other->row == p->row);
        p->text = other->text;
        planted[c] = TRUE;
        k++;
      }
  printf ("Planted: %u of the %u training captions (%.0f%%) replaced by other scenes' captions; each model %d epochs\n",
          k, pairs->len, 100.0 * k / pairs->len, epochs);

  for (int j = -1; j < n_judges; j++)
    {
      g_autoptr (GArray) fold_train = g_array_new (FALSE, FALSE, sizeof (QrCaptionPair));
      g_autoptr (QrDmsmTrainer) trainer = NULL;
      QrCaptionTrainOptions fold_options = *options;
      QrDmsm *model;
      gint64 started = g_get_monotonic_time ();

      for (guint c = 0; c < pairs->len; c++)
        {
          /* the caption's index as its id, as the catalog's ids would be */
          in_fold[c] = j >= 0 && qr_caption_fold ((gint64) c + 1, options->seed, n_judges) == j;
          if (!in_fold[c])
            g_array_append_val (fold_train, g_array_index (pairs, QrCaptionPair, c));
        }
      fold_options.seed = options->seed + (guint64) (j + 1);
      model = qr_caption_model_new (inputs, fold_train, &fold_options);
      trainer = qr_dmsm_trainer_new_on (model, options->learning_rate, options->device);
      g_free (device);
      device = g_strdup (qr_dmsm_trainer_get_device (trainer));
      for (int e = 0; e < epochs; e++)
        {
          g_autoptr (GError) error = NULL;
          double loss;
          if (!qr_caption_model_epoch (trainer, inputs, fold_train, options->batch_size, fold_options.seed, e,
                                       abort_if_interrupted, NULL, &loss, &error))
            {
              qr_dmsm_free (model);
              return qr_cli_fail (g_steal_pointer (&error));
            }
        }
      seconds += (double) (g_get_monotonic_time () - started) / 1e6;
      if (j < 0)
        far_scores (model, inputs, n_scenes, pairs, NULL, own);
      else
        far_scores (model, inputs, n_scenes, pairs, in_fold, oof);
      qr_dmsm_free (model);
      printf ("  %s trained and judging (%.0f s so far)\n", j < 0 ? "the model" : "a judge", seconds);
      fflush (stdout);
    }
  for (guint c = 0; c < pairs->len; c++)
    noise[c] = 0;
  printf ("\nCaptions moved from another scene found among the first %u by score (precision at k = %u):\n", k, k);
  printf ("  %-58s %8.3f\n", "the model, judging the captions it trained on", precision_at_k (own, planted, pairs->len, k, 41));
  printf ("  %-58s %8.3f\n", "out-of-fold judges, each judging the captions it did not", precision_at_k (oof, planted, pairs->len, k, 41));
  printf ("  %-58s %8.3f\n", "random", precision_at_k (noise, planted, pairs->len, k, 41));
  printf ("Training: %.0f s for the model and %d judges on %s\n", seconds, n_judges, device ? device : "the CPU");
  return QR_EXIT_OK;
}

int
qr_cli_bench_dmsm (int argc, char **argv)
{
  int n_train = 20000, n_test = 2000, epochs = 20, side = 256, variants = 2, batch = 0, n_eval = 0;
  gint64 seed = 1;
  gboolean no_zeroshot = FALSE, quiet = FALSE;
  double plant = 0;
  int n_judges = QR_CAPTION_MODEL_JUDGES;
  g_autofree char *cache = NULL, *zeroshot_dir = NULL, *device_text = NULL, *write_dir = NULL;
  GOptionEntry entries[] = {
    { "train", 0, 0, G_OPTION_ARG_INT, &n_train, "Training scenes (default 20000)", "N" },
    { "test", 0, 0, G_OPTION_ARG_INT, &n_test, "Held-out scenes (default 2000)", "N" },
    { "epochs", 'e', 0, G_OPTION_ARG_INT, &epochs, "Training epochs (default 20)", "N" },
    { "batch", 0, 0, G_OPTION_ARG_INT, &batch, "Captions per batch (default: the caption model's, 64)", "N" },
    { "captions", 0, 0, G_OPTION_ARG_INT, &variants, "Captions per training scene, worded differently (default 2)", "N" },
    { "side", 0, 0, G_OPTION_ARG_INT, &side, "Scene side in pixels (default 256)", "PX" },
    { "seed", 0, 0, G_OPTION_ARG_INT64, &seed, "Scenes, captions and weights (default 1)", "N" },
    { "device", 0, 0, G_OPTION_ARG_STRING, &device_text, "Where the backbone and the training run: cpu, cuda or auto (auto trains on the CPU)", "DEVICE" },
    { "cache", 0, 0, G_OPTION_ARG_FILENAME, &cache, "Feature cache file (default under ~/.cache/quorum)", "FILE" },
    { "zero-shot-dir", 0, 0, G_OPTION_ARG_FILENAME, &zeroshot_dir,
      "Where the held-out scenes go for the zero-shot scorer's peers (default: beside the cache; kept for the next run)",
      "DIR" },
    { "no-zero-shot", 0, 0, G_OPTION_ARG_NONE, &no_zeroshot, "Leave the zero-shot scorer out", NULL },
    { "compare", 0, 0, G_OPTION_ARG_INT, &n_eval,
      "The comparison table on the first N held-out scenes (default: all; the zero-shot scorer's peers run over each)",
      "N" },
    { "plant", 0, 0, G_OPTION_ARG_DOUBLE, &plant,
      "Instead: replace this share of the training captions by other scenes' and find them, with the model and with "
      "out-of-fold judges", "RATE" },
    { "judges", 0, 0, G_OPTION_ARG_INT, &n_judges, "With --plant: out-of-fold judges (default 5)", "N" },
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, "No progress lines", NULL },
    { "write", 0, 0, G_OPTION_ARG_FILENAME, &write_dir,
      "Only write the --train scenes as PNGs with their captions (COCO, captions.json) into DIR", "DIR" },
    { NULL }
  };
  g_autoptr (GOptionContext) context = g_option_context_new ("— the caption model on generated scenes: recall and "
                                                             "re-ranking against zero-shot and random");
  g_autoptr (GError) error = NULL;
  g_autoptr (QrBackbone) backbone = NULL;
  g_autofree char *backbone_path = NULL;
  g_autofree float *features = NULL, *scores = NULL;
  g_autofree guint *distractors = NULL;
  g_autoptr (GPtrArray) train_texts = g_ptr_array_new_with_free_func (g_free);
  g_auto (GStrv) held_captions = NULL;
  g_autoptr (GArray) train = g_array_new (FALSE, FALSE, sizeof (QrCaptionPair));
  g_autoptr (QrDmsmTrainer) trainer = NULL;
  QrCaptionTrainOptions options;
  QrCaptionInputs inputs = { 0 };
  QrDetectorOptions device_options;
  QrDmsm *model = NULL;
  CacheKey key;
  Metrics m = { 0 };
  double train_seconds = 0;
  int status = QR_EXIT_OK;

  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    return qr_cli_usage_error (context, error->message);
  if (n_train < 100 || n_test < CANDIDATES || epochs < 1 || side < 64 || side > 1024 || variants < 1 || variants > 8
      || batch < 0 || seed < 0 || !(plant >= 0 && plant < 1) || n_judges < 2 || n_judges > 20)
    return qr_cli_usage_error (context, "--train at least 100, --test at least 50, --epochs at least 1, --side 64 to "
                                        "1024, --captions 1 to 8, --plant 0 to 1, --judges 2 to 20");
  if (write_dir != NULL)
    return write_collection (write_dir, (guint64) seed, n_train, side, variants);
  qr_detector_options_init (&device_options);
  if (!qr_cli_parse_device (device_text, NULL, &device_options))
    return qr_cli_usage_error (context, "--device is cpu, cuda or auto");

  if ((backbone_path = qr_cli_resolve_model (QR_CAPTION_MODEL_BACKBONE, &error)) == NULL
      || (backbone = qr_backbone_new (QR_CAPTION_MODEL_BACKBONE, backbone_path, device_options.device, &error)) == NULL)
    return qr_cli_fail (g_steal_pointer (&error));
  key = (CacheKey) { (guint64) seed, (guint32) side, (guint32) n_train, (guint32) n_test,
                     (guint32) qr_backbone_get_channels (backbone) };
  if (cache == NULL)
    cache = default_cache_path (&key);
  signal (SIGINT, on_interrupt);

  /* features: from the cache, or computed (and kept) */
  features = cache_load (cache, &key);
  if (features == NULL)
    {
      gint64 started = g_get_monotonic_time ();
      features = g_new (float, (gsize) (n_train + n_test) * key.channels);
      if (!compute_features (backbone, &key, features, quiet, &error))
        return qr_cli_fail (g_steal_pointer (&error));
      cache_save (cache, &key, features);
      printf ("Features: %d scenes through the %s backbone in %.0f s (%.1f ms a scene), kept in %s\n",
              n_train + n_test, QR_CAPTION_MODEL_BACKBONE, (double) (g_get_monotonic_time () - started) / 1e6,
              (double) (g_get_monotonic_time () - started) / 1e3 / (n_train + n_test), cache);
    }
  else
    printf ("Features: %d scenes from %s\n", n_train + n_test, cache);

  /* the caption model's inputs: the features alone (no peers ran on the training scenes) */
  inputs.ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  for (gint64 i = 0; i < n_train + n_test; i++)
    g_array_append_val (inputs.ids, i);
  inputs.rows = g_steal_pointer (&features);
  inputs.dim = inputs.feature_dim = (int) key.channels;
  inputs.classes = g_new0 (char *, 1);

  held_captions = g_new0 (char *, n_test + 1);
  for (int i = 0; i < n_train + n_test; i++)
    {
      QrScene scene;
      scene_at (key.seed, key.n_train, (guint) i, &scene);
      if (i < n_train)
        for (int v = 1; v <= variants; v++)
          g_ptr_array_add (train_texts, qr_scene_caption (&scene, key.seed, (guint) v));
      else
        held_captions[i - n_train] = qr_scene_caption (&scene, key.seed, 0);
    }
  for (guint k = 0; k < train_texts->len; k++)
    {
      QrCaptionPair p = { train_texts->pdata[k], k / (guint) variants };
      g_array_append_val (train, p);
    }

  qr_caption_train_options_init (&options);
  options.seed = (guint64) seed;
  options.device = device_options.device;
  if (batch > 0)
    options.batch_size = batch;
  printf ("Scenes: %d to train (%u captions), %d held out (one caption each, a wording never trained on); "
          "seed %" G_GINT64_FORMAT "\n", n_train, train->len, n_test, seed);
  printf ("  e.g. “%s”\n", held_captions[0]);

  if (plant > 0)
    {
      status = plant_mistakes (&inputs, train, (guint) n_train, plant, n_judges, epochs, &options);
      goto out;
    }
  scores = g_new (float, (gsize) n_test * n_test);
  model = qr_caption_model_new (&inputs, train, &options);
  trainer = qr_dmsm_trainer_new_on (model, options.learning_rate, options.device);
  printf ("Training the DMSM (%d → %d → %d image, %u trigrams → %d → %d text; batch %d, Adam %.0e), on %s:\n",
          inputs.dim, options.hidden, options.out_dim, qr_dmsm_get_vocabulary_size (model), options.hidden,
          options.out_dim, options.batch_size, (double) options.learning_rate,
          g_str_equal (qr_dmsm_trainer_get_device (trainer), "cpu") ? "the CPU" : qr_dmsm_trainer_get_device (trainer));
  distractors = draw_distractors ((guint) n_test, (guint32) seed + 17);
  for (int epoch = 0; epoch < epochs; epoch++)
    {
      gint64 started = g_get_monotonic_time ();
      double loss, seconds;
      if (!qr_caption_model_epoch (trainer, &inputs, train, options.batch_size, options.seed, epoch,
                                   abort_if_interrupted, NULL, &loss, &error))
        {
          g_prefix_error (&error, "epoch %d: ", epoch + 1);
          status = qr_cli_fail (g_steal_pointer (&error));
          goto out;
        }
      seconds = (double) (g_get_monotonic_time () - started) / 1e6;
      train_seconds += seconds;
      dmsm_scores (model, inputs.rows + (gsize) n_train * key.channels, inputs.dim, held_captions, (guint) n_test,
                   scores);
      measure (scores, (guint) n_test, distractors, &m);
      printf ("  epoch %2d/%d  loss %.4f  held-out recall@5 %.3f  %.1f s\n", epoch + 1, epochs, loss, m.r5, seconds);
      fflush (stdout);
    }

  /* the comparison: every scorer on the same first n_eval held-out scenes */
  n_eval = n_eval > 0 ? MIN (n_eval, n_test) : n_test;
  if (n_eval < CANDIDATES)
    n_eval = MIN (CANDIDATES, n_test);
  g_clear_pointer (&distractors, g_free);
  distractors = draw_distractors ((guint) n_eval, (guint32) seed + 19);
  dmsm_scores (model, inputs.rows + (gsize) n_train * key.channels, inputs.dim, held_captions, (guint) n_eval, scores);
  measure (scores, (guint) n_eval, distractors, &m);
  printf ("\nHeld-out scenes: %d%s; text → image recall (own scene among all %d; ties broken at random) and caption "
          "re-ranking (own caption first among %d)\n", n_eval, n_eval < n_test ? " (the first ones)" : "", n_eval,
          CANDIDATES);
  printf ("  %-34s %8s %8s %8s %12s\n", "scorer", "R@1", "R@5", "R@10", "re-rank@1");
  print_metrics ("DMSM (trained here)", &m, NULL);
  if (!no_zeroshot)
    {
      g_autofree char *dir = zeroshot_dir ? g_strdup (zeroshot_dir)
                                          : g_strdup_printf ("%s.scenes-%d", cache, n_eval);
      Metrics query, caption;
      guint unscorable, unscorable_as_caption;
      g_autofree char *extra = NULL;
      CacheKey eval_key = key;

      eval_key.n_test = (guint32) n_eval;
      if (g_mkdir_with_parents (dir, 0755) != 0)
        {
          g_set_error (&error, G_FILE_ERROR, g_file_error_from_errno (errno), "%s: %s", dir, g_strerror (errno));
          status = qr_cli_fail (g_steal_pointer (&error));
          goto out;
        }
      if (!zeroshot_scores (&eval_key, (guint) n_eval, held_captions, scores, FALSE, dir, quiet, &unscorable, &error))
        {
          status = qr_cli_fail (g_steal_pointer (&error));
          goto out;
        }
      measure (scores, (guint) n_eval, distractors, &query);
      if (!zeroshot_scores (&eval_key, (guint) n_eval, held_captions, scores, TRUE, dir, TRUE, &unscorable_as_caption,
                            &error))
        {
          status = qr_cli_fail (g_steal_pointer (&error));
          goto out;
        }
      measure (scores, (guint) n_eval, distractors, &caption);
      query.rerank = caption.rerank;   /* re-ranking scores captions as captions */
      extra = g_strdup_printf ("   (%u of %d captions name no object it knows: tied at random)", unscorable, n_eval);
      print_metrics ("zero-shot (peers' consensus)", &query, extra);
    }
  {
    g_autoptr (GRand) noise = g_rand_new_with_seed ((guint32) seed + 29);
    for (gsize k = 0; k < (gsize) n_eval * n_eval; k++)
      scores[k] = (float) g_rand_double (noise);
    measure (scores, (guint) n_eval, distractors, &m);
    print_metrics ("random", &m, NULL);
  }
  if (g_str_equal (qr_dmsm_trainer_get_device (trainer), "cpu"))
    printf ("\nTraining: %.1f s an epoch on the CPU (%d epochs, %u captions, %d threads)\n", train_seconds / epochs,
            epochs, train->len, (int) g_get_num_processors ());
  else
    printf ("\nTraining: %.2f s an epoch on %s (%d epochs, %u captions)\n", train_seconds / epochs,
            qr_dmsm_trainer_get_device (trainer), epochs, train->len);

out:
  g_clear_pointer (&trainer, qr_dmsm_trainer_free);
  g_clear_pointer (&model, qr_dmsm_free);
  qr_caption_inputs_clear (&inputs);
  return status;
}

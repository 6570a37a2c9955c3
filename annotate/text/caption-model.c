/* caption-model.c: the DMSM trained on a collection's captions (qr-caption-model.h): features
 * computed and stored, the image tower's inputs assembled, the training schedule (a held-out
 * fold, one caption of each image per round so that no batch holds two captions of one image,
 * a save after every epoch, resuming), and the model in use read back. */
#define G_LOG_DOMAIN "quorum-text"

#include "qr-caption-model.h"
#include "qr-backbone.h"
#include "qr-dataset.h"
#include "qr-review.h"

#include <math.h>
#include <string.h>

#define FEATURE_BATCH 32

gboolean
qr_caption_features_compute (QrCatalog *catalog, const char *backbone_path, QrDevice device, QrAbortFunc abort,
                             gpointer abort_data, QrProgressFunc progress, gpointer progress_data, guint *computed,
                             guint *failed, GError **error)
{
  g_autoptr (GArray) ids = qr_catalog_images_without_features (catalog, QR_CAPTION_MODEL_BACKBONE, error);
  g_autoptr (QrBackbone) backbone = NULL;
  g_autofree float *pooled = NULL;
  guint done = 0, in_batch = 0;

  *computed = *failed = 0;
  if (ids == NULL)
    return FALSE;
  if (ids->len == 0)
    return TRUE;
  if ((backbone = qr_backbone_new (QR_CAPTION_MODEL_BACKBONE, backbone_path, device, error)) == NULL)
    return FALSE;
  pooled = g_new (float, qr_backbone_get_channels (backbone));
  for (guint i = 0; i < ids->len; i++)
    {
      gint64 id = g_array_index (ids, gint64, i);
      g_autoptr (QrImageRecord) record = qr_catalog_get_image (catalog, id, error);
      g_autofree char *path = NULL;
      g_autoptr (QrImage) image = NULL;
      g_autoptr (GError) local = NULL;

      if (record == NULL)
        goto fail;
      if (abort != NULL && abort (abort_data))
        {
          if (in_batch > 0 && !qr_catalog_commit (catalog, error))
            return FALSE;
          g_set_error (error, QR_ENGINE_ERROR, QR_ENGINE_ERROR_CANCELLED,
                       "stopped after %u of %u images' features (those are kept)", done, ids->len);
          return FALSE;
        }
      path = g_build_filename (qr_catalog_get_root (catalog), record->path, NULL);
      image = qr_image_load (path, NULL, 512, &local);
      if (image == NULL || !qr_backbone_run (backbone, image, pooled, NULL, NULL, NULL, NULL, abort, abort_data, &local))
        {
          if (g_error_matches (local, QR_ENGINE_ERROR, QR_ENGINE_ERROR_CANCELLED))
            continue;   /* the abort check above says so */
          g_debug ("%s: no features: %s", path, local->message);
          (*failed)++;
          done++;
          continue;
        }
      if (in_batch == 0 && !qr_catalog_begin (catalog, error))
        return FALSE;
      if (!qr_catalog_set_image_features (catalog, id, QR_CAPTION_MODEL_BACKBONE, pooled,
                                          qr_backbone_get_channels (backbone), error))
        goto fail;
      (*computed)++;
      done++;
      if (++in_batch == FEATURE_BATCH || i + 1 == ids->len)
        {
          if (!qr_catalog_commit (catalog, error))
            return FALSE;
          in_batch = 0;
        }
      if (progress != NULL)
        progress (done, ids->len, progress_data);
    }
  if (in_batch > 0 && !qr_catalog_commit (catalog, error))
    return FALSE;
  return TRUE;
fail:
  if (in_batch > 0)
    qr_catalog_rollback (catalog);
  return FALSE;
}

void
qr_caption_inputs_clear (QrCaptionInputs *inputs)
{
  g_clear_pointer (&inputs->ids, g_array_unref);
  g_clear_pointer (&inputs->rows, g_free);
  g_clear_pointer (&inputs->classes, g_strfreev);
}

static int
compare_strings (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

gboolean
qr_caption_inputs_load (QrCatalog *catalog, const char *const *classes, QrCaptionInputs *inputs, GError **error)
{
  g_autoptr (QrConsensusSet) consensus = NULL;
  g_autoptr (GError) local = NULL;
  g_autoptr (GArray) ids = NULL;
  g_autofree float *features = NULL;
  g_autoptr (GHashTable) class_index = g_hash_table_new (g_str_hash, g_str_equal);
  int feature_dim, n_classes;

  memset (inputs, 0, sizeof *inputs);
  feature_dim = qr_catalog_get_feature_dim (catalog, QR_CAPTION_MODEL_BACKBONE, error);
  if (feature_dim < 0)
    return FALSE;
  if (feature_dim == 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                   "no image has backbone features yet: they are computed first (`quorum captions train` does it)");
      return FALSE;
    }
  if (!qr_catalog_load_image_features (catalog, QR_CAPTION_MODEL_BACKBONE, feature_dim, &ids, &features, error))
    return FALSE;

  /* the peers' word detections: no peer run means no evidence, not an error */
  consensus = qr_review_consensus (catalog, NULL, &local);
  if (consensus == NULL && !g_error_matches (local, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
    {
      g_propagate_error (error, g_steal_pointer (&local));
      return FALSE;
    }
  if (classes != NULL)
    inputs->classes = g_strdupv ((char **) classes);
  else
    {
      g_autoptr (GPtrArray) names = g_ptr_array_new ();
      GHashTableIter iter;
      gpointer value;
      if (consensus != NULL)
        {
          g_hash_table_iter_init (&iter, consensus->class_names);
          while (g_hash_table_iter_next (&iter, NULL, &value))
            g_ptr_array_add (names, value);
        }
      g_ptr_array_sort (names, compare_strings);
      g_ptr_array_add (names, NULL);
      inputs->classes = g_strdupv ((char **) names->pdata);
    }
  n_classes = (int) g_strv_length (inputs->classes);
  for (int c = 0; c < n_classes; c++)
    g_hash_table_insert (class_index, inputs->classes[c], GINT_TO_POINTER (c + 1));

  inputs->feature_dim = feature_dim;
  inputs->dim = feature_dim + n_classes;
  inputs->rows = g_new0 (float, (gsize) ids->len * (gsize) inputs->dim);
  for (guint i = 0; i < ids->len; i++)
    {
      float *row = inputs->rows + (gsize) i * (gsize) inputs->dim;
      GArray *objects = consensus ? g_hash_table_lookup (consensus->objects, &g_array_index (ids, gint64, i)) : NULL;
      memcpy (row, features + (gsize) i * (gsize) feature_dim, sizeof (float) * (gsize) feature_dim);
      for (guint k = 0; objects != NULL && k < objects->len; k++)
        {
          const QrConsensus *o = &g_array_index (objects, QrConsensus, k);
          gint64 class_id = o->class_id;
          const char *name = g_hash_table_lookup (consensus->class_names, &class_id);
          int at = name ? GPOINTER_TO_INT (g_hash_table_lookup (class_index, name)) : 0;
          if (at > 0)
            row[feature_dim + at - 1] = MAX (row[feature_dim + at - 1], o->strength);
        }
    }
  inputs->ids = g_steal_pointer (&ids);
  return TRUE;
}

void
qr_caption_train_options_init (QrCaptionTrainOptions *options)
{
  *options = (QrCaptionTrainOptions) {
    .epochs = 20,
    .batch_size = 64,
    .learning_rate = 1e-3f,
    .hidden = QR_DMSM_DEFAULT_HIDDEN,
    .out_dim = QR_DMSM_DEFAULT_OUT,
    .gamma = QR_DMSM_DEFAULT_GAMMA,
    .seed = 1,
    .n_folds = 10,
    .min_captions = QR_CAPTION_MODEL_MIN_CAPTIONS,
    .judges = QR_CAPTION_MODEL_JUDGES,
  };
}

void
qr_caption_model_evaluate (QrDmsm *model, const QrCaptionInputs *inputs, GArray *held, double *r1, double *r5)
{
  int O = qr_dmsm_get_shape (model)->out_dim;
  guint n = inputs->ids->len, hits1 = 0, hits5 = 0, counted = 0;
  g_autofree float *images = g_new (float, (gsize) n * (gsize) O);
  g_autofree float *text = g_new (float, O);
  g_autofree float *sims = g_new (float, n);

  *r1 = *r5 = 0;
  if (held->len == 0)
    return;
  qr_dmsm_embed_images (model, inputs->rows, (int) n, images);
  for (guint i = 0; i < held->len; i++)
    {
      const QrCaptionPair *p = &g_array_index (held, QrCaptionPair, i);
      guint better = 0;
      counted++;
      if (!qr_dmsm_embed_text (model, p->text, text, NULL))
        continue;   /* nothing it knows: a miss */
      for (guint j = 0; j < n; j++)
        {
          double s = 0;
          for (int k = 0; k < O; k++)
            s += (double) text[k] * images[(gsize) j * O + k];
          sims[j] = (float) s;
        }
      for (guint j = 0; j < n; j++)
        better += j != p->row && sims[j] > sims[p->row];
      hits1 += better < 1;
      hits5 += better < 5;
    }
  *r1 = (double) hits1 / counted;
  *r5 = (double) hits5 / counted;
}

int
qr_caption_fold (gint64 caption_id, guint64 seed, int n_folds)
{
  /* splitmix64 of the id and the seed: stable while the caption lives, whatever else changes */
  guint64 x = (guint64) caption_id + seed * G_GUINT64_CONSTANT (0x9E3779B97F4A7C15);
  x = (x ^ (x >> 30)) * G_GUINT64_CONSTANT (0xBF58476D1CE4E5B9);
  x = (x ^ (x >> 27)) * G_GUINT64_CONSTANT (0x94D049BB133111EB);
  x ^= x >> 31;
  return n_folds > 0 ? (int) (x % (guint64) n_folds) : 0;
}

char *
qr_caption_judge_kind (int judge)
{
  return g_strdup_printf ("%s%d", QR_CAPTION_JUDGE_KIND_PREFIX, judge);
}

/* One training run: the model (judge -1: held out, one fold of images) or the out-of-fold judge
 * `judge` of `judges` of the model `parent` (held out, one fold of captions). */
typedef struct
{
  int      judge, judges;
  gint64   parent;
  guint64  seed;          /* the model's: images' and captions' folds */
} Run;

static GVariant *
model_meta (const QrCaptionInputs *inputs, guint64 seed, int n_folds, int epoch, const Run *run)
{
  GVariantBuilder b;
  g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
  if (run->judge >= 0)
    {
      g_variant_builder_add (&b, "{sv}", "judge", g_variant_new_int32 (run->judge));
      g_variant_builder_add (&b, "{sv}", "judges", g_variant_new_int32 (run->judges));
      g_variant_builder_add (&b, "{sv}", "parent", g_variant_new_int64 (run->parent));
    }
  g_variant_builder_add (&b, "{sv}", "backbone", g_variant_new_string (QR_CAPTION_MODEL_BACKBONE));
  g_variant_builder_add (&b, "{sv}", "feature-dim", g_variant_new_int32 (inputs->feature_dim));
  g_variant_builder_add (&b, "{sv}", "classes", g_variant_new_strv ((const char *const *) inputs->classes, -1));
  g_variant_builder_add (&b, "{sv}", "fold-seed", g_variant_new_uint64 (seed));
  g_variant_builder_add (&b, "{sv}", "n-folds", g_variant_new_int32 (n_folds));
  g_variant_builder_add (&b, "{sv}", "epoch", g_variant_new_int32 (epoch));
  return g_variant_builder_end (&b);
}

static void
shuffle (GArray *array, GRand *rand)
{
  for (guint i = array->len; i > 1; i--)
    {
      guint j = (guint) g_rand_int_range (rand, 0, (gint32) i);
      QrCaptionPair t = g_array_index (array, QrCaptionPair, i - 1);
      g_array_index (array, QrCaptionPair, i - 1) = g_array_index (array, QrCaptionPair, j);
      g_array_index (array, QrCaptionPair, j) = t;
    }
}

gboolean
qr_caption_model_epoch (QrDmsmTrainer *trainer, const QrCaptionInputs *inputs, GArray *train, int batch_size,
                        guint64 seed, int epoch, QrAbortFunc abort, gpointer abort_data, double *loss,
                        GError **error)
{
  g_autoptr (GRand) rand = g_rand_new_with_seed ((guint32) (seed * 7919 + (guint64) epoch));
  g_autoptr (GArray) order = g_array_sized_new (FALSE, FALSE, sizeof (QrCaptionPair), train->len);
  g_autoptr (GArray) batch_pairs = g_array_new (FALSE, FALSE, sizeof (QrCaptionPair));
  g_autoptr (GHashTable) in_batch = g_hash_table_new (g_direct_hash, g_direct_equal);
  g_autoptr (GPtrArray) texts = g_ptr_array_new ();
  g_autofree float *rows = g_new (float, (gsize) batch_size * (gsize) inputs->dim);
  double loss_sum = 0;
  int steps = 0;

  g_array_append_vals (order, train->data, train->len);
  shuffle (order, rand);
  /* batches of distinct images: a caption whose image is already in the batch waits for the next */
  while (order->len > 0)
    {
      g_array_set_size (batch_pairs, 0);
      g_hash_table_remove_all (in_batch);
      for (guint i = 0; i < order->len && batch_pairs->len < (guint) batch_size;)
        {
          QrCaptionPair p = g_array_index (order, QrCaptionPair, i);
          if (g_hash_table_contains (in_batch, GUINT_TO_POINTER (p.row + 1)))
            {
              i++;
              continue;
            }
          g_hash_table_add (in_batch, GUINT_TO_POINTER (p.row + 1));
          g_array_append_val (batch_pairs, p);
          g_array_remove_index_fast (order, i);   /* the last one takes its place: O(1), still seeded */
        }
      if (batch_pairs->len < 2)
        break;   /* the last caption(s) of one image: no negatives to learn from */
      if (abort != NULL && abort (abort_data))
        {
          g_set_error_literal (error, QR_ENGINE_ERROR, QR_ENGINE_ERROR_CANCELLED, "stopped");
          return FALSE;
        }
      g_ptr_array_set_size (texts, 0);
      for (guint k = 0; k < batch_pairs->len; k++)
        {
          const QrCaptionPair *p = &g_array_index (batch_pairs, QrCaptionPair, k);
          g_ptr_array_add (texts, (gpointer) p->text);
          memcpy (rows + (gsize) k * (gsize) inputs->dim, inputs->rows + (gsize) p->row * (gsize) inputs->dim,
                  sizeof (float) * (gsize) inputs->dim);
        }
      {
        QrDmsmBatch batch = { (const char *const *) texts->pdata, rows, (int) batch_pairs->len };
        loss_sum += qr_dmsm_trainer_step (trainer, &batch);
        steps++;
      }
    }
  *loss = steps > 0 ? loss_sum / steps : 0;
  /* on a GPU the epoch's params come back to the model here (and a GPU's error is told) */
  if (!qr_dmsm_trainer_sync (trainer, error))
    {
      g_prefix_error (error, "training the caption model on %s: ", qr_dmsm_trainer_get_device (trainer));
      return FALSE;
    }
  return TRUE;
}

QrDmsm *
qr_caption_model_new (const QrCaptionInputs *inputs, GArray *train, const QrCaptionTrainOptions *options)
{
  g_autoptr (GPtrArray) texts = g_ptr_array_new ();
  g_auto (GStrv) vocabulary = NULL;
  g_autofree float *mean = g_new0 (float, inputs->dim);
  g_autofree float *std = g_new0 (float, inputs->dim);
  g_autoptr (GHashTable) train_rows = g_hash_table_new (g_direct_hash, g_direct_equal);
  QrDmsmShape shape = { inputs->dim, options->hidden, options->out_dim, options->gamma };
  QrDmsm *model;
  guint n_rows;
  GHashTableIter iter;
  gpointer key;

  for (guint i = 0; i < train->len; i++)
    {
      g_ptr_array_add (texts, (gpointer) g_array_index (train, QrCaptionPair, i).text);
      g_hash_table_add (train_rows, GUINT_TO_POINTER (g_array_index (train, QrCaptionPair, i).row + 1));
    }
  vocabulary = qr_dmsm_build_vocabulary ((const char *const *) texts->pdata, texts->len, 20000, 1);
  model = qr_dmsm_new ((const char *const *) vocabulary, &shape, options->seed);
  /* standardise the image inputs by the training images' mean and spread */
  n_rows = g_hash_table_size (train_rows);
  g_hash_table_iter_init (&iter, train_rows);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    {
      const float *row = inputs->rows + (gsize) (GPOINTER_TO_UINT (key) - 1) * (gsize) inputs->dim;
      for (int d = 0; d < inputs->dim; d++)
        mean[d] += row[d] / (float) n_rows;
    }
  g_hash_table_iter_init (&iter, train_rows);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    {
      const float *row = inputs->rows + (gsize) (GPOINTER_TO_UINT (key) - 1) * (gsize) inputs->dim;
      for (int d = 0; d < inputs->dim; d++)
        std[d] += (row[d] - mean[d]) * (row[d] - mean[d]) / (float) n_rows;
    }
  for (int d = 0; d < inputs->dim; d++)
    std[d] = sqrtf (std[d]);
  qr_dmsm_set_image_scaling (model, mean, std);
  return model;
}

QrDmsm *
qr_caption_judge_load (QrCatalog *catalog, int judge, gint64 parent, int judges, GVariant **meta_out, GError **error)
{
  g_autofree char *kind = qr_caption_judge_kind (judge);
  g_autoptr (QrTextModelRecord) record = qr_catalog_get_text_model (catalog, kind, error);
  g_autoptr (GVariant) meta = NULL;
  g_autoptr (QrDmsm) model = NULL;
  gint64 its_parent = -1;
  int its_judges = 0;

  if (record == NULL || !g_str_equal (record->state, "ready") || record->model == NULL)
    return NULL;
  if ((model = qr_dmsm_load (record->model, &meta, error)) == NULL)
    {
      g_prefix_error (error, "%s: caption judge %" G_GINT64_FORMAT ": ", qr_catalog_get_db_path (catalog), record->id);
      return NULL;
    }
  g_variant_lookup (meta, "parent", "x", &its_parent);
  g_variant_lookup (meta, "judges", "i", &its_judges);
  if (its_parent != parent || (judges > 0 && its_judges != judges))
    return NULL;
  if (meta_out != NULL)
    *meta_out = g_steal_pointer (&meta);
  return g_steal_pointer (&model);
}

/* Whether the run's judge is ready for its model. */
static gboolean
judge_ready (QrCatalog *catalog, const Run *run, GError **error)
{
  g_autoptr (QrDmsm) model = qr_caption_judge_load (catalog, run->judge, run->parent, run->judges, NULL, error);
  return model != NULL;
}

int
qr_caption_model_judges_done (QrCatalog *catalog, gint64 model_id, int *judges, GError **error)
{
  Run run = { 0, *judges, model_id, 0 };
  int done = 0;
  for (run.judge = 0; run.judge < MAX (run.judges, 1); run.judge++)
    {
      GError *local = NULL;
      g_autoptr (GVariant) meta = NULL;
      g_autoptr (QrDmsm) model = qr_caption_judge_load (catalog, run.judge, model_id, run.judges, &meta, &local);
      if (local != NULL)
        {
          g_propagate_error (error, local);
          return -1;
        }
      if (model == NULL)
        continue;
      if (run.judges == 0)
        g_variant_lookup (meta, "judges", "i", &run.judges);   /* judge 0 says how many */
      done++;
    }
  *judges = run.judges;
  return done;
}

/* One run of training (qr_caption_model_train): resumes the newest unfinished run of its kind
 * (a judge's only when it judges for the same model), else starts one. */
static gint64
train_run (QrCatalog *catalog, GPtrArray *captions, GHashTable *path_of, const QrCaptionTrainOptions *options,
           Run *run, QrAbortFunc abort, gpointer abort_data, QrCaptionEpochFunc on_epoch, gpointer epoch_data,
           GError **error)
{
  g_autofree char *kind = run->judge < 0 ? g_strdup (QR_CAPTION_MODEL_KIND) : qr_caption_judge_kind (run->judge);
  g_autoptr (QrTextModelRecord) unfinished = NULL;
  g_autoptr (QrDmsm) model = NULL;
  g_autoptr (QrDmsmTrainer) trainer = NULL;
  g_autoptr (GHashTable) row_of = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  g_autoptr (GArray) train = g_array_new (FALSE, FALSE, sizeof (QrCaptionPair));
  g_autoptr (GArray) held = g_array_new (FALSE, FALSE, sizeof (QrCaptionPair));
  g_autoptr (GString) metrics = NULL;
  QrCaptionInputs inputs = { 0 };
  guint64 seed = run->judge < 0 ? options->seed : run->seed;
  int n_folds = options->n_folds, epochs = options->epochs, first_epoch = 0, fold = 0;
  gint64 model_id = -1;
  gboolean resumed = FALSE;

  /* resume the newest unfinished run, or start one */
  {
    GError *local = NULL;
    unfinished = qr_catalog_get_unfinished_text_model (catalog, kind, &local);
    if (local != NULL)
      {
        g_propagate_error (error, local);
        return -1;
      }
  }
  if (unfinished != NULL && !options->restart && unfinished->epoch > 0 && unfinished->model != NULL)
    {
      g_autoptr (GVariant) meta = NULL;
      g_autofree const char **classes = NULL;
      gint64 parent = -1;
      int judges = 0;
      model = qr_dmsm_load (unfinished->model, &meta, error);
      if (model == NULL)
        return -1;
      g_variant_lookup (meta, "parent", "x", &parent);
      g_variant_lookup (meta, "judges", "i", &judges);
      if (run->judge >= 0 && (parent != run->parent || judges != run->judges))
        g_clear_pointer (&model, qr_dmsm_free);   /* a judge for another model: start afresh */
      else
        {
          g_variant_lookup (meta, "fold-seed", "t", &seed);
          g_variant_lookup (meta, "n-folds", "i", &n_folds);
          if (!g_variant_lookup (meta, "classes", "^a&s", &classes))
            classes = g_new0 (const char *, 1);
          if (!qr_caption_inputs_load (catalog, classes, &inputs, error))
            return -1;
          if (inputs.dim != qr_dmsm_get_shape (model)->image_dim)
            {
              g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                           "the stopped training run reads %d image values but the features now give %d: start over"
                           " with --restart", qr_dmsm_get_shape (model)->image_dim, inputs.dim);
              qr_caption_inputs_clear (&inputs);
              return -1;
            }
          trainer = qr_dmsm_trainer_new_on (model, options->learning_rate, options->device);
          if (unfinished->trainer != NULL && !qr_dmsm_trainer_restore (trainer, unfinished->trainer, error))
            {
              qr_caption_inputs_clear (&inputs);
              return -1;
            }
          model_id = unfinished->id;
          first_epoch = unfinished->epoch;
          epochs = unfinished->epochs;
          metrics = g_string_new (unfinished->metrics ? unfinished->metrics : "[]");
          resumed = TRUE;
        }
    }
  if (!resumed && !qr_caption_inputs_load (catalog, NULL, &inputs, error))
    return -1;
  if (run->judge < 0)
    run->seed = seed;   /* the judges' folds follow the model's seed */

  for (guint i = 0; i < inputs.ids->len; i++)
    g_hash_table_insert (row_of, g_memdup2 (&g_array_index (inputs.ids, gint64, i), sizeof (gint64)), GUINT_TO_POINTER (i + 1));
  /* the model's held-out fold: the first of the folds that holds an image with captions (a small
   * collection may have none in fold 0); a judge's: its fold of the captions */
  if (run->judge < 0 && n_folds > 1)
    {
      int held_fold = n_folds;
      for (guint i = 0; i < captions->len; i++)
        {
          QrCaptionRecord *c = captions->pdata[i];
          const char *path = g_hash_table_lookup (path_of, &c->image_id);
          if (path != NULL && g_hash_table_contains (row_of, &c->image_id))
            held_fold = MIN (held_fold, qr_image_fold (path, seed, n_folds));
        }
      fold = held_fold;
    }
  for (guint i = 0; i < captions->len; i++)
    {
      QrCaptionRecord *c = captions->pdata[i];
      guint row = GPOINTER_TO_UINT (g_hash_table_lookup (row_of, &c->image_id));
      const char *path = g_hash_table_lookup (path_of, &c->image_id);
      QrCaptionPair p = { c->text, row - 1 };
      gboolean is_held;
      if (row == 0 || path == NULL)
        continue;   /* its image has no features (unreadable) */
      if (run->judge >= 0)
        is_held = qr_caption_fold (c->id, seed, run->judges) == run->judge;
      else
        is_held = n_folds > 1 && qr_image_fold (path, seed, n_folds) == fold;
      g_array_append_val (is_held ? held : train, p);
    }
  if (train->len < 2)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "only %u captions belong to images with features outside the held-out fold: nothing to train on",
                   train->len);
      qr_caption_inputs_clear (&inputs);
      return -1;
    }

  if (model == NULL)
    {
      QrCaptionTrainOptions fresh = *options;
      fresh.seed = seed + (guint64) (run->judge + 1);   /* each judge its own initial weights */
      model = qr_caption_model_new (&inputs, train, &fresh);
      trainer = qr_dmsm_trainer_new_on (model, options->learning_rate, options->device);
      model_id = qr_catalog_add_text_model (catalog, kind, QR_CAPTION_MODEL_BACKBONE,
                                            qr_dmsm_get_vocabulary_hash (model), (gint64) seed, epochs, error);
      if (model_id < 0)
        {
          qr_caption_inputs_clear (&inputs);
          return -1;
        }
      metrics = g_string_new ("[]");
    }

  for (int epoch = first_epoch; epoch < epochs; epoch++)
    {
      gint64 started = g_get_monotonic_time ();
      QrCaptionEpoch report = { model_id, epoch + 1, epochs, 0, 0, 0, held->len, 0, resumed, run->judge, run->judges };
      g_autoptr (GError) local = NULL;

      if (!qr_caption_model_epoch (trainer, &inputs, train, options->batch_size, seed + (guint64) (run->judge + 1),
                                   epoch, abort, abort_data, &report.loss, &local))
        {
          if (!g_error_matches (local, QR_ENGINE_ERROR, QR_ENGINE_ERROR_CANCELLED))
            g_propagate_error (error, g_steal_pointer (&local));
          else if (run->judge < 0)
            g_set_error (error, QR_ENGINE_ERROR, QR_ENGINE_ERROR_CANCELLED,
                         "stopped in epoch %d of %d (the %d finished are kept; train again to resume)",
                         epoch + 1, epochs, epoch);
          else
            g_set_error (error, QR_ENGINE_ERROR, QR_ENGINE_ERROR_CANCELLED,
                         "stopped in epoch %d of %d of out-of-fold judge %d of %d (the model is in use; train again to"
                         " finish the judges)", epoch + 1, epochs, run->judge + 1, run->judges);
          qr_caption_inputs_clear (&inputs);
          return -1;
        }
      report.seconds = (double) (g_get_monotonic_time () - started) / 1e6;
      report.device = qr_dmsm_trainer_get_device (trainer);
      qr_caption_model_evaluate (model, &inputs, held, &report.recall_at_1, &report.recall_at_5);

      {
        g_autoptr (GBytes) saved = qr_dmsm_save (model, model_meta (&inputs, seed, n_folds, epoch + 1, run));
        g_autoptr (GBytes) state = qr_dmsm_trainer_save (trainer);
        g_autofree char *entry = g_strdup_printf ("%s{\"epoch\": %d, \"loss\": %.5f, \"recall_at_1\": %.4f,"
                                                  " \"recall_at_5\": %.4f, \"held_out\": %u, \"seconds\": %.3f}",
                                                  metrics->len > 2 ? ", " : "", epoch + 1, report.loss,
                                                  report.recall_at_1, report.recall_at_5, held->len, report.seconds);
        g_string_insert (metrics, (gssize) metrics->len - 1, entry);
        if (!qr_catalog_save_text_model_epoch (catalog, model_id, epoch + 1, metrics->str, saved, state, error))
          {
            qr_caption_inputs_clear (&inputs);
            return -1;
          }
      }
      if (on_epoch != NULL)
        on_epoch (&report, epoch_data);
    }

  /* done: the model in use with every image's embedding; a judge's are made when it judges */
  {
    int O = qr_dmsm_get_shape (model)->out_dim;
    g_autoptr (GArray) none = g_array_new (FALSE, FALSE, sizeof (gint64));
    g_autofree float *embeddings = NULL;
    gboolean ok;
    if (run->judge < 0)
      {
        embeddings = g_new (float, (gsize) inputs.ids->len * (gsize) O);
        qr_dmsm_embed_images (model, inputs.rows, (int) inputs.ids->len, embeddings);
      }
    ok = qr_catalog_finish_text_model (catalog, model_id, run->judge < 0 ? inputs.ids : none, embeddings, O, error);
    qr_caption_inputs_clear (&inputs);
    return ok ? model_id : -1;
  }
}

gint64
qr_caption_model_train (QrCatalog *catalog, const QrCaptionTrainOptions *options, QrAbortFunc abort,
                        gpointer abort_data, QrCaptionEpochFunc on_epoch, gpointer epoch_data, GError **error)
{
  g_autoptr (GPtrArray) captions = qr_catalog_list_caption_records (catalog, -1, error);
  g_autoptr (GPtrArray) images = NULL;
  g_autoptr (GHashTable) path_of = g_hash_table_new (g_int64_hash, g_int64_equal);
  g_autoptr (QrTextModelRecord) current = NULL;
  g_autoptr (QrTextModelRecord) unfinished = NULL;
  Run run = { -1, MAX (options->judges, 0), -1, options->seed };
  QrCaptionTrainOptions judge_options = *options;
  gint64 model_id = -1;

  if (captions == NULL || (images = qr_catalog_list_images (catalog, -1, error)) == NULL)
    return -1;
  if (captions->len < options->min_captions)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "training the caption model needs at least %u captions; this collection has %u (import them with"
                   " `quorum import --captions FILE`, or type them in the inspector)",
                   options->min_captions, captions->len);
      return -1;
    }
  for (guint i = 0; i < images->len; i++)
    {
      QrImageRecord *r = images->pdata[i];
      g_hash_table_insert (path_of, &r->id, r->path);
    }

  /* the model in use finished but its judges did not: they are what is left to do */
  if (!options->restart && run.judges > 0)
    {
      GError *local = NULL;
      if ((current = qr_catalog_get_text_model (catalog, QR_CAPTION_MODEL_KIND, &local)) != NULL
          && g_str_equal (current->state, "ready")
          && (unfinished = qr_catalog_get_unfinished_text_model (catalog, QR_CAPTION_MODEL_KIND, &local)) == NULL
          && local == NULL)
        {
          int judges = run.judges, done = qr_caption_model_judges_done (catalog, current->id, &judges, &local);
          if (done >= 0 && done < run.judges)
            {
              model_id = current->id;   /* a judge is missing: the judges' folds follow its seed */
              run.seed = (guint64) current->fold_seed;
            }
        }
      if (local != NULL)
        {
          g_propagate_error (error, local);
          return -1;
        }
    }
  if (model_id < 0)
    {
      model_id = train_run (catalog, captions, path_of, options, &run, abort, abort_data, on_epoch, epoch_data, error);
      if (model_id < 0)
        return -1;
    }

  /* the out-of-fold judges: each trained as the model was (its epochs) without one fold of the
   * captions, which it then judges */
  run.parent = model_id;
  if (run.judges > 0)
    {
      GError *local = NULL;
      g_autoptr (QrTextModelRecord) in_use = qr_catalog_get_text_model (catalog, QR_CAPTION_MODEL_KIND, &local);
      if (local != NULL)
        {
          g_propagate_error (error, local);
          return -1;
        }
      if (in_use != NULL)
        judge_options.epochs = in_use->epochs;
    }
  for (run.judge = 0; run.judge < run.judges; run.judge++)
    {
      g_autoptr (GError) local = NULL;
      gboolean ready = !options->restart && judge_ready (catalog, &run, &local);
      if (local != NULL)
        {
          g_propagate_error (error, g_steal_pointer (&local));
          return -1;
        }
      if (!ready
          && train_run (catalog, captions, path_of, &judge_options, &run, abort, abort_data, on_epoch, epoch_data, error) < 0)
        return -1;
    }
  return model_id;
}

QrDmsm *
qr_caption_model_load (QrCatalog *catalog, QrTextModelRecord **record_out, char ***classes, GError **error)
{
  g_autoptr (GError) local = NULL;
  g_autoptr (QrTextModelRecord) record = qr_catalog_get_text_model (catalog, QR_CAPTION_MODEL_KIND, &local);
  g_autoptr (GVariant) meta = NULL;
  QrDmsm *model;

  if (record == NULL)
    {
      if (local != NULL)
        g_propagate_error (error, g_steal_pointer (&local));
      else
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                     "this collection has no caption model yet: train one with `quorum captions train` (or Train Caption"
                     " Model… in the app); it needs %d captions", QR_CAPTION_MODEL_MIN_CAPTIONS);
      return NULL;
    }
  if ((model = qr_dmsm_load (record->model, &meta, error)) == NULL)
    {
      g_prefix_error (error, "%s: caption model %" G_GINT64_FORMAT ": ", qr_catalog_get_db_path (catalog), record->id);
      return NULL;
    }
  if (classes != NULL && !g_variant_lookup (meta, "classes", "^as", classes))
    *classes = g_new0 (char *, 1);
  if (record_out != NULL)
    *record_out = g_steal_pointer (&record);
  return model;
}

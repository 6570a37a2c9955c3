/* test-dmsm.c: the DMSM (inference/text/dmsm.c): letter trigrams, half floats, the loss and every
 * gradient against PyTorch on the same weights and batch (tests/reference/dmsm-torch.py, Debian's
 * python3-torch), the saved form, a training run on synthetic features that learns, and the caption
 * model's own training (qr_caption_model_epoch) on scenes drawn with cairo (bench/qr-scenes.h) through
 * the real CenterNet backbone, as `quorum bench dmsm` runs it, that learns too. */
#include "qr-backbone.h"
#include "qr-caption-model.h"
#include "qr-dmsm.h"
#include "qr-scenes.h"
#include "qr-vectors.h"
#include "test-util.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>


static gboolean
have_torch (void)
{
  return test_python_imports ("torch");
}

static char *
join_trigrams (const char *text)
{
  g_autoptr (GPtrArray) t = qr_dmsm_trigrams (text);
  g_ptr_array_add (t, NULL);
  return g_strjoinv (" ", (char **) t->pdata);
}

static void
test_trigrams (void)
{
  g_autofree char *a = join_trigrams ("Dog");
  g_autofree char *b = join_trigrams ("a  dog, on-it!");
  g_autofree char *c = join_trigrams ("Café 2");
  g_autofree char *d = join_trigrams ("  ,. ");
  const char *texts[] = { "a dog", "the dog", "dogs" };
  g_auto (GStrv) vocabulary = qr_dmsm_build_vocabulary (texts, 3, 0, 2);
  g_autofree char *v = g_strjoinv (" ", vocabulary);

  g_assert_cmpstr (a, ==, "#do dog og#");
  g_assert_cmpstr (b, ==, "#a# #do dog og# #on on# #it it#");
  g_assert_cmpstr (c, ==, "#ca caf afé fé# #2#");
  g_assert_cmpstr (d, ==, "");
  /* seen at least twice, most frequent first, ties in byte order */
  g_assert_cmpstr (v, ==, "#do dog og#");
}

static void
test_half (void)
{
  const float in[] = { 0, -0.0f, 1, -2.5f, 65504, 1e-7f, 6.1035156e-05f, 0.333333f, 1e6f, NAN };
  guint16 h[G_N_ELEMENTS (in)];
  float back[G_N_ELEMENTS (in)];

  qr_float_to_half (in, h, G_N_ELEMENTS (in));
  qr_half_to_float (h, back, G_N_ELEMENTS (in));
  g_assert_cmphex (h[0], ==, 0x0000);
  g_assert_cmphex (h[1], ==, 0x8000);
  g_assert_cmphex (h[2], ==, 0x3c00);
  g_assert_cmphex (h[3], ==, 0xc100);
  g_assert_cmphex (h[4], ==, 0x7bff);
  g_assert_cmphex (h[5], ==, 0x0002);   /* subnormal: 1e-7 / 2^-24 = 1.68 → 2 */
  g_assert_cmphex (h[6], ==, 0x0400);   /* the smallest normal */
  g_assert_cmphex (h[7], ==, 0x3555);
  g_assert_cmphex (h[8], ==, 0x7c00);   /* infinity */
  g_assert_true (isnan (back[9]));
  for (guint i = 0; i < 8; i++)
    g_assert_cmpfloat (fabsf (back[i] - in[i]), <=, fabsf (in[i]) * 1e-3f + 6e-8f);
}

/* Writes a float array as a JSON array member. */
static void
add_floats (JsonBuilder *b, const char *name, const float *values, gsize n)
{
  json_builder_set_member_name (b, name);
  json_builder_begin_array (b);
  for (gsize i = 0; i < n; i++)
    json_builder_add_double_value (b, values[i]);
  json_builder_end_array (b);
}

static const char *const grad_texts[] = {
  "A brown dog runs on the grass.",
  "Two people ride bicycles down a street",
  "a cat sleeps on a red sofa",
  "three dogs and a man in the park",
  "Zzqx",                        /* no known trigram: the biases alone */
  "a kitchen with a stove and an oven",
  "a dog",
};

static void
test_gradients_match_pytorch (void)
{
  QrDmsmShape shape = { .image_dim = 12, .hidden = 16, .out_dim = 8, .gamma = 10 };
  const int n = G_N_ELEMENTS (grad_texts);
  g_auto (GStrv) vocabulary = qr_dmsm_build_vocabulary (grad_texts, n - 1, 0, 1);
  g_autoptr (QrDmsm) model = qr_dmsm_new ((const char *const *) vocabulary, &shape, 7);
  g_autoptr (GRand) rand = g_rand_new_with_seed (11);
  g_autofree float *images = g_new (float, (gsize) n * 12);
  float mean[12], std[12];
  float *grads[QR_DMSM_N_PARAMS];
  g_autofree char *dir = test_make_tmpdir ();
  g_autofree char *case_path = g_build_filename (dir, "case.json", NULL);
  g_autofree char *out_path = g_build_filename (dir, "torch.json", NULL);
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  g_autoptr (JsonNode) root = NULL;
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) error = NULL;
  QrDmsmBatch batch = { grad_texts, NULL, n };
  double loss;

  if (!have_torch ())
    {
      g_test_skip ("PyTorch for Python (Debian python3-torch) is not installed");
      return;
    }
  for (int i = 0; i < n * 12; i++)
    images[i] = (float) g_rand_double_range (rand, -2, 3);
  for (int d = 0; d < 12; d++)
    mean[d] = (float) g_rand_double_range (rand, -0.5, 0.5), std[d] = (float) g_rand_double_range (rand, 0.5, 2);
  qr_dmsm_set_image_scaling (model, mean, std);
  /* biases start at 0: give them values so that their gradients are tested where they matter */
  for (guint p = 0; p < QR_DMSM_N_PARAMS; p++)
    {
      gsize size;
      float *values = qr_dmsm_get_param (model, p, &size);
      if (strstr (qr_dmsm_param_name (p), ".b") != NULL)
        for (gsize k = 0; k < size; k++)
          values[k] = (float) g_rand_double_range (rand, -0.3, 0.3);
      grads[p] = g_new0 (float, size);
    }
  batch.images = images;
  loss = qr_dmsm_loss (model, &batch, grads);

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "image_dim");
  json_builder_add_int_value (b, shape.image_dim);
  json_builder_set_member_name (b, "hidden");
  json_builder_add_int_value (b, shape.hidden);
  json_builder_set_member_name (b, "out_dim");
  json_builder_add_int_value (b, shape.out_dim);
  json_builder_set_member_name (b, "gamma");
  json_builder_add_double_value (b, shape.gamma);
  json_builder_set_member_name (b, "vocabulary");
  json_builder_begin_array (b);
  for (guint i = 0; vocabulary[i]; i++)
    json_builder_add_string_value (b, vocabulary[i]);
  json_builder_end_array (b);
  json_builder_set_member_name (b, "texts");
  json_builder_begin_array (b);
  for (int i = 0; i < n; i++)
    json_builder_add_string_value (b, grad_texts[i]);
  json_builder_end_array (b);
  add_floats (b, "images", images, (gsize) n * 12);
  add_floats (b, "scale_mean", mean, 12);
  add_floats (b, "scale_std", std, 12);
  json_builder_set_member_name (b, "params");
  json_builder_begin_object (b);
  for (guint p = 0; p < QR_DMSM_N_PARAMS; p++)
    {
      gsize size;
      const float *values = qr_dmsm_get_param (model, p, &size);
      add_floats (b, qr_dmsm_param_name (p), values, size);
    }
  json_builder_end_object (b);
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  g_assert_true (json_generator_to_file (gen, case_path, &error));
  g_assert_no_error (error);

  {
    const char *args[] = { case_path, out_path, NULL };
    g_free (test_python_run (QUORUM_SOURCE_DIR "/tests/reference/dmsm-torch.py", args));
  }
  g_assert_true (json_parser_load_from_file (parser, out_path, &error));
  g_assert_no_error (error);
  {
    JsonObject *o = json_node_get_object (json_parser_get_root (parser));
    JsonObject *tg = json_object_get_object_member (o, "grads");
    double torch_loss = json_object_get_double_member (o, "loss");

    g_test_message ("loss: quorum %.9f, pytorch %.9f", loss, torch_loss);
    g_assert_cmpfloat (fabs (loss - torch_loss), <=, 1e-5 * fabs (torch_loss));
    for (guint p = 0; p < QR_DMSM_N_PARAMS; p++)
      {
        JsonArray *a = json_object_get_array_member (tg, qr_dmsm_param_name (p));
        gsize size;
        double max_diff = 0, max_value = 0;
        qr_dmsm_get_param (model, p, &size);
        g_assert_cmpuint (json_array_get_length (a), ==, size);
        for (gsize k = 0; k < size; k++)
          {
            double t = json_array_get_double_element (a, (guint) k);
            max_diff = MAX (max_diff, fabs (t - grads[p][k]));
            max_value = MAX (max_value, fabs (t));
          }
        g_test_message ("%s: %zu values, max |quorum − pytorch| %.3g, max |pytorch| %.3g, relative %.3g",
                        qr_dmsm_param_name (p), size, max_diff, max_value, max_diff / max_value);
        g_assert_cmpfloat (max_value, >, 0);
        g_assert_cmpfloat (max_diff, <=, 1e-4 * max_value);
      }
  }
  for (guint p = 0; p < QR_DMSM_N_PARAMS; p++)
    g_free (grads[p]);
  test_remove_tree (dir);
}

static void
test_save_load (void)
{
  QrDmsmShape shape = { .image_dim = 5, .hidden = 6, .out_dim = 4, .gamma = 10 };
  g_auto (GStrv) vocabulary = qr_dmsm_build_vocabulary (grad_texts, 4, 0, 1);
  g_autoptr (QrDmsm) model = qr_dmsm_new ((const char *const *) vocabulary, &shape, 3);
  g_autoptr (QrDmsm) again = NULL;
  g_autoptr (GVariant) meta_in = g_variant_ref_sink (g_variant_new_parsed ("{'backbone': <'centernet'>}"));
  g_autoptr (GVariant) meta = NULL;
  g_autoptr (GBytes) bytes = NULL;
  g_autoptr (GBytes) short_bytes = NULL;
  g_autoptr (GError) error = NULL;
  const float image[5] = { 1, 2, 3, 4, 5 };
  float a[4], b[4], c[4], d[4];
  const char *backbone = NULL;

  bytes = qr_dmsm_save (model, meta_in);
  again = qr_dmsm_load (bytes, &meta, &error);
  g_assert_no_error (error);
  g_assert_nonnull (again);
  g_assert_true (g_variant_lookup (meta, "backbone", "&s", &backbone));
  g_assert_cmpstr (backbone, ==, "centernet");
  g_assert_cmpstr (qr_dmsm_get_vocabulary_hash (model), ==, qr_dmsm_get_vocabulary_hash (again));
  g_assert_true (qr_dmsm_embed_text (model, "a brown dog", a, NULL));
  g_assert_true (qr_dmsm_embed_text (again, "a brown dog", b, NULL));
  g_assert_cmpmem (a, sizeof a, b, sizeof b);
  qr_dmsm_embed_images (model, image, 1, c);
  qr_dmsm_embed_images (again, image, 1, d);
  g_assert_cmpmem (c, sizeof c, d, sizeof d);
  g_assert_false (qr_dmsm_embed_text (model, "zzqx", a, &error));
  g_assert_error (error, QR_DMSM_ERROR, QR_DMSM_ERROR_NO_WORDS);
  g_clear_error (&error);

  /* cut short: refused, never read past the end */
  short_bytes = g_bytes_new_from_bytes (bytes, 0, g_bytes_get_size (bytes) / 2);
  g_assert_null (qr_dmsm_load (short_bytes, NULL, &error));
  g_assert_error (error, QR_DMSM_ERROR, QR_DMSM_ERROR_FORMAT);
}

/* Generated scenes: 1–3 objects of 6 colours and 5 shapes; the image's features are fixed random
 * vectors of each object's colour, shape and the pair, plus noise; captions name them with
 * synonyms and counts. */
static const char *const colours[] = { "red", "green", "blue", "yellow", "purple", "orange" };
static const char *const shapes[][2] = {
  { "circle", "disc" }, { "square", "box" }, { "triangle", "wedge" }, { "star", "star" }, { "ring", "hoop" },
};
#define SCENE_DIM 48

typedef struct
{
  float *features;  /* n × SCENE_DIM */
  char **captions;
  int    n;
} Scenes;

static void
make_scenes (Scenes *s, int n, guint seed)
{
  g_autoptr (GRand) fixed = g_rand_new_with_seed (1234);
  g_autoptr (GRand) rand = g_rand_new_with_seed (seed);
  static float basis[6 + 5 + 30][SCENE_DIM];
  const char *numbers[] = { "a", "two", "three" };

  for (int b = 0; b < 41; b++)
    for (int d = 0; d < SCENE_DIM; d++)
      basis[b][d] = (float) g_rand_double_range (fixed, -1, 1);
  s->n = n;
  s->features = g_new0 (float, (gsize) n * SCENE_DIM);
  s->captions = g_new0 (char *, n + 1);
  for (int i = 0; i < n; i++)
    {
      int kinds = g_rand_int_range (rand, 1, 3);
      GString *caption = g_string_new (NULL);
      float *f = s->features + (gsize) i * SCENE_DIM;
      for (int k = 0; k < kinds; k++)
        {
          int colour = g_rand_int_range (rand, 0, 6), shape = g_rand_int_range (rand, 0, 5);
          int count = g_rand_int_range (rand, 1, 4);
          for (int d = 0; d < SCENE_DIM; d++)
            f[d] += count * (basis[colour][d] + basis[6 + shape][d] + 0.5f * basis[11 + colour * 5 % 30 + shape][d]);
          g_string_append_printf (caption, "%s%s %s %s%s", k ? " and " : "", numbers[count - 1], colours[colour],
                                  shapes[shape][g_rand_int_range (rand, 0, 2)], count > 1 ? "s" : "");
        }
      for (int d = 0; d < SCENE_DIM; d++)
        f[d] += (float) g_rand_double_range (rand, -0.3, 0.3);
      s->captions[i] = g_string_free (caption, FALSE);
    }
}

static void
scenes_clear (Scenes *s)
{
  g_free (s->features);
  g_strfreev (s->captions);
}

/* Text → image recall@5 of held-out scenes among themselves. */
static double
recall_at_5 (QrDmsm *model, const Scenes *s)
{
  int O = qr_dmsm_get_shape (model)->out_dim, hits = 0;
  g_autofree float *images = g_new (float, (gsize) s->n * O);
  g_autofree float *text = g_new (float, O);

  qr_dmsm_embed_images (model, s->features, s->n, images);
  for (int i = 0; i < s->n; i++)
    {
      int better = 0;
      double own = 0;
      g_assert_true (qr_dmsm_embed_text (model, s->captions[i], text, NULL));
      for (int k = 0; k < O; k++)
        own += text[k] * images[(gsize) i * O + k];
      for (int j = 0; j < s->n; j++)
        {
          double sim = 0;
          for (int k = 0; k < O; k++)
            sim += text[k] * images[(gsize) j * O + k];
          better += j != i && sim > own;
        }
      hits += better < 5;
    }
  return (double) hits / s->n;
}

static void
test_training_learns (void)
{
  QrDmsmShape shape = { .image_dim = SCENE_DIM, .hidden = 64, .out_dim = 32, .gamma = 10 };
  Scenes train, held;
  g_auto (GStrv) vocabulary = NULL;
  g_autoptr (QrDmsm) model = NULL;
  g_autoptr (QrDmsmTrainer) trainer = NULL;
  g_autoptr (GRand) rand = g_rand_new_with_seed (5);
  double before, after, first_loss = 0, last_loss = 0;
  const int batch_size = 32;

  make_scenes (&train, 400, 1);
  make_scenes (&held, 100, 2);
  vocabulary = qr_dmsm_build_vocabulary ((const char *const *) train.captions, (guint) train.n, 0, 1);
  model = qr_dmsm_new ((const char *const *) vocabulary, &shape, 9);
  /* AUTO: the CPU, or where QUORUM_DEVICE says (tools/cuda-host-check runs this on its CUDA stand-in) */
  trainer = qr_dmsm_trainer_new_on (model, 2e-3f, QR_DEVICE_AUTO);
  g_test_message ("training on %s", qr_dmsm_trainer_get_device (trainer));
  before = recall_at_5 (model, &held);
  for (int epoch = 0; epoch < 25; epoch++)
    {
      double sum = 0;
      int steps = 0;
      g_autofree int *order = g_new (int, train.n);
      for (int i = 0; i < train.n; i++)
        order[i] = i;
      for (int i = train.n - 1; i > 0; i--)
        {
          int j = g_rand_int_range (rand, 0, i + 1), t = order[i];
          order[i] = order[j], order[j] = t;
        }
      for (int start = 0; start + batch_size <= train.n; start += batch_size)
        {
          const char *texts[32];
          float images[32 * SCENE_DIM];
          QrDmsmBatch batch = { texts, images, batch_size };
          for (int k = 0; k < batch_size; k++)
            {
              texts[k] = train.captions[order[start + k]];
              memcpy (images + k * SCENE_DIM, train.features + (gsize) order[start + k] * SCENE_DIM,
                      sizeof (float) * SCENE_DIM);
            }
          sum += qr_dmsm_trainer_step (trainer, &batch);
          steps++;
        }
      if (epoch == 0)
        first_loss = sum / steps;
      last_loss = sum / steps;
    }
  g_assert_true (qr_dmsm_trainer_sync (trainer, NULL));
  after = recall_at_5 (model, &held);
  g_test_message ("loss %.3f → %.3f; held-out recall@5 of 100 %.2f → %.2f", first_loss, last_loss, before, after);
  g_assert_cmpfloat (last_loss, <, 0.5 * first_loss);
  g_assert_cmpfloat (before, <, 0.2);
  g_assert_cmpfloat (after, >, 0.5);
  scenes_clear (&train);
  scenes_clear (&held);
}

/* Asked for CUDA where there is none, training goes on on the CPU, and is the CPU's training. */
static void
test_trainer_falls_back (void)
{
  const char *texts[] = { "a red dog", "two blue cats", "a green car", "Zzqx" };
  g_auto (GStrv) vocabulary = qr_dmsm_build_vocabulary (texts, 4, 0, 1);
  const QrDmsmShape shape = { 6, 8, 4, 10.0f };
  g_autoptr (QrDmsm) a = qr_dmsm_new ((const char *const *) vocabulary, &shape, 3);
  g_autoptr (QrDmsm) b = qr_dmsm_new ((const char *const *) vocabulary, &shape, 3);
  g_autoptr (QrDmsmTrainer) cpu = qr_dmsm_trainer_new_on (a, 0.01f, QR_DEVICE_CPU);
  g_autoptr (QrDmsmTrainer) asked = NULL;
  g_autoptr (GError) error = NULL;
  float images[4 * 6];
  QrDmsmBatch batch = { texts, images, 4 };

  if (qr_engine_cuda_device_count () > 0)
    {
      g_test_skip ("this machine has a GPU (test-gpu's /gpu/dmsm-training-matches-cpu checks training there)");
      return;
    }
  for (guint k = 0; k < G_N_ELEMENTS (images); k++)
    images[k] = (float) ((k * 7) % 5) - 2.0f;
  asked = qr_dmsm_trainer_new_on (b, 0.01f, QR_DEVICE_CUDA);
  g_assert_cmpstr (qr_dmsm_trainer_get_device (cpu), ==, "cpu");
  g_assert_cmpstr (qr_dmsm_trainer_get_device (asked), ==, "cpu");
  for (int step = 0; step < 3; step++)
    g_assert_cmpfloat (qr_dmsm_trainer_step (cpu, &batch), ==, qr_dmsm_trainer_step (asked, &batch));
  g_assert_true (qr_dmsm_trainer_sync (asked, &error));
  g_assert_no_error (error);
  for (guint i = 0; i < QR_DMSM_N_PARAMS; i++)
    {
      gsize n;
      const float *x = qr_dmsm_get_param (a, i, &n), *y = qr_dmsm_get_param (b, i, NULL);
      g_assert_cmpmem (x, n * sizeof (float), y, n * sizeof (float));
    }
}

static int
compare_desc (gconstpointer a, gconstpointer b)
{
  float x = *(const float *) a, y = *(const float *) b;
  return x > y ? -1 : x < y;
}

/* The top k of a float16 matrix against a sort of every product computed plainly. */
static void
test_top_k (void)
{
  const gsize n = 5003;
  const int dim = 37;   /* not a multiple of the vector width */
  g_autoptr (GRand) rand = g_rand_new_with_seed (3);
  g_autofree float *values = g_new (float, n * dim);
  g_autofree guint16 *half = g_new (guint16, n * dim);
  g_autofree float *widened = g_new (float, n * dim);
  g_autofree float *all = g_new (float, n);
  float query[37], scores[20];
  gsize rows[20];

  for (gsize i = 0; i < n * dim; i++)
    values[i] = (float) g_rand_double_range (rand, -1, 1);
  for (int d = 0; d < dim; d++)
    query[d] = (float) g_rand_double_range (rand, -1, 1);
  qr_float_to_half (values, half, n * dim);
  qr_half_to_float (half, widened, n * dim);
  for (gsize i = 0; i < n; i++)
    {
      double s = 0;
      for (int d = 0; d < dim; d++)
        s += (double) widened[i * dim + d] * query[d];
      all[i] = (float) s;
    }
  g_assert_cmpuint (qr_vectors_top_k (half, n, dim, query, 20, rows, scores), ==, 20);
  for (guint i = 0; i < 20; i++)
    {
      double s = 0;
      for (int d = 0; d < dim; d++)
        s += (double) widened[rows[i] * dim + d] * query[d];
      g_assert_cmpfloat (fabs (s - scores[i]), <=, 1e-4);
      if (i > 0)
        g_assert_cmpfloat (scores[i], <=, scores[i - 1]);
    }
  qsort (all, n, sizeof (float), compare_desc);
  for (guint i = 0; i < 20; i++)
    g_assert_cmpfloat (fabsf (all[i] - scores[i]), <=, 1e-4f);
  /* k past n: all of them */
  g_assert_cmpuint (qr_vectors_top_k (half, 3, dim, query, 20, rows, scores), ==, 3);
}

/* Many captions' own images ranked at once (the caption review's far verdicts) against a plain
 * count in double: past a block of rows (4,096) and of queries (256), with a duplicate row that
 * ties its twin rather than beating it. */
static void
test_rank_own (void)
{
  const gsize n = 9001;
  const int dim = 37;
  const guint q = 300;
  g_autoptr (GRand) rand = g_rand_new_with_seed (8);
  g_autofree float *values = g_new (float, n * dim);
  g_autofree guint16 *half = g_new (guint16, n * dim);
  g_autofree float *widened = g_new (float, n * dim);
  g_autofree float *queries = g_new (float, (gsize) q * dim);
  g_autofree gsize *own = g_new (gsize, q);
  g_autofree QrOwnRank *ranks = g_new (QrOwnRank, q);
  guint with_ahead = 0, best_checked = 0;

  for (gsize i = 0; i < n * dim; i++)
    values[i] = (float) g_rand_double_range (rand, -1, 1);
  memcpy (values + 10 * dim, values + 20 * dim, sizeof (float) * dim);   /* row 10 duplicates row 20 */
  for (gsize i = 0; i < (gsize) q * dim; i++)
    queries[i] = (float) g_rand_double_range (rand, -1, 1);
  qr_float_to_half (values, half, n * dim);
  qr_half_to_float (half, widened, n * dim);
  for (guint i = 0; i < q; i++)
    own[i] = i == 0 ? 20 : (gsize) g_rand_int_range (rand, 0, (gint32) n);
  /* query 0 made to find its own row (20) the nearest: only its twin (10) is as near */
  for (int d = 0; d < dim; d++)
    queries[d] = widened[20 * dim + d] * 40;
  qr_vectors_rank_own (half, n, dim, queries, q, own, ranks);
  for (guint i = 0; i < q; i++)
    {
      const float *query = queries + (gsize) i * dim;
      double own_score = 0, best = -INFINITY;
      guint ahead = 0;
      gssize best_row = -1;
      for (int d = 0; d < dim; d++)
        own_score += (double) widened[own[i] * dim + d] * query[d];
      for (gsize r = 0; r < n; r++)
        {
          double s = 0;
          if (r == own[i])
            continue;
          for (int d = 0; d < dim; d++)
            s += (double) widened[r * dim + d] * query[d];
          if (s > own_score + QR_VECTORS_TIE * MAX (1, fabs (own_score)))
            {
              ahead++;
              if (s > best)
                best = s, best_row = (gssize) r;
            }
        }
      g_assert_cmpfloat (fabs (ranks[i].own - own_score), <=, 1e-4 * MAX (1, fabs (own_score)));
      g_assert_cmpuint (ranks[i].ahead, ==, ahead);
      if (ahead > 0)
        {
          with_ahead++;
          g_assert_cmpfloat (fabs (ranks[i].best - best), <=, 1e-4 * MAX (1, fabs (best)));
          best_checked += ranks[i].best_row == best_row;
        }
      else
        g_assert_cmpint (ranks[i].best_row, ==, -1);
    }
  g_assert_cmpuint (ranks[0].ahead, ==, 0);   /* the twin ties */
  g_assert_cmpuint (with_ahead, >, q / 2);
  g_assert_cmpuint (best_checked, ==, with_ahead);
  g_test_message ("%u of %u queries with other rows ahead of their own; counts and best rows as a plain count's",
                  with_ahead, q);
}

/* Held-out recall@5 of the caption model: each scene's caption-0 against the held-out scenes. */
static double
scene_recall_at_5 (QrDmsm *model, const float *rows, char **captions, int n)
{
  int out_dim = qr_dmsm_get_shape (model)->out_dim;
  g_autofree float *images = g_new (float, (gsize) n * out_dim);
  g_autofree float *text = g_new (float, out_dim);
  int hits = 0;

  qr_dmsm_embed_images (model, rows, n, images);
  for (int t = 0; t < n; t++)
    {
      float own = 0;
      int better = 0;
      g_assert_true (qr_dmsm_embed_text (model, captions[t], text, NULL));
      for (int d = 0; d < out_dim; d++)
        own += text[d] * images[(gsize) t * out_dim + d];
      for (int i = 0; i < n; i++)
        {
          float sim = 0;
          for (int d = 0; d < out_dim; d++)
            sim += text[d] * images[(gsize) i * out_dim + d];
          better += i != t && sim > own;
        }
      hits += better < 5;
    }
  return (double) hits / n;
}

static void
test_learns_on_drawn_scenes (void)
{
  const int n_train = 300, n_held = 100, epochs = 12;
  g_autofree char *centernet = g_build_filename (QUORUM_SOURCE_DIR, "..", "shared", "models", "pretrained",
                                                 "centernet.json", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (QrBackbone) backbone = NULL;
  g_autoptr (GArray) train = g_array_new (FALSE, FALSE, sizeof (QrCaptionPair));
  g_autoptr (GPtrArray) texts = g_ptr_array_new_with_free_func (g_free);
  g_auto (GStrv) held = g_new0 (char *, n_held + 1);
  g_autoptr (QrDmsmTrainer) trainer = NULL;
  QrCaptionInputs inputs = { 0 };
  QrCaptionTrainOptions options;
  QrDmsm *model;
  double first_loss = 0, loss = 0, after_one = 0, after;
  int channels;

  if (!g_file_test (centernet, G_FILE_TEST_IS_REGULAR))
    {
      g_test_skip ("the shared CenterNet model is not there");
      return;
    }
  backbone = qr_backbone_new ("centernet", centernet, QR_DEVICE_CPU, &error);
  g_assert_no_error (error);
  channels = qr_backbone_get_channels (backbone);
  inputs.ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  inputs.rows = g_new (float, (gsize) (n_train + n_held) * channels);
  inputs.dim = inputs.feature_dim = channels;
  inputs.classes = g_new0 (char *, 1);
  for (int i = 0; i < n_train + n_held; i++)
    {
      QrScene scene;
      g_autoptr (QrImage) image = NULL;
      gint64 id = i;

      qr_scene_generate (7, (guint) (i < n_train ? i : i - n_train), i >= n_train, &scene);
      image = qr_scene_render (&scene, 256);
      g_assert_true (qr_backbone_run (backbone, image, inputs.rows + (gsize) i * channels, NULL, NULL, NULL, NULL,
                                      NULL, NULL, &error));
      g_assert_no_error (error);
      g_array_append_val (inputs.ids, id);
      if (i < n_train)
        for (guint v = 1; v <= 2; v++)
          {
            QrCaptionPair p = { NULL, (guint) i };
            g_ptr_array_add (texts, qr_scene_caption (&scene, 7, v));
            p.text = texts->pdata[texts->len - 1];
            g_array_append_val (train, p);
          }
      else
        held[i - n_train] = qr_scene_caption (&scene, 7, 0);
    }

  qr_caption_train_options_init (&options);
  model = qr_caption_model_new (&inputs, train, &options);
  trainer = qr_dmsm_trainer_new (model, options.learning_rate);
  for (int epoch = 0; epoch < epochs; epoch++)
    {
      g_assert_true (qr_caption_model_epoch (trainer, &inputs, train, options.batch_size, options.seed, epoch, NULL,
                                             NULL, &loss, NULL));
      if (epoch == 0)
        {
          first_loss = loss;
          after_one = scene_recall_at_5 (model, inputs.rows + (gsize) n_train * channels, held, n_held);
        }
    }
  after = scene_recall_at_5 (model, inputs.rows + (gsize) n_train * channels, held, n_held);
  g_test_message ("drawn scenes: loss %.3f → %.3f; held-out recall@5 of %d %.2f → %.2f (random 0.05)", first_loss, loss,
                  n_held, after_one, after);
  g_assert_cmpfloat (loss, <, 0.6 * first_loss);
  g_assert_cmpfloat (after, >, after_one + 0.1);
  g_assert_cmpfloat (after, >, 0.3);
  g_clear_pointer (&trainer, qr_dmsm_trainer_free);
  qr_dmsm_free (model);
  qr_caption_inputs_clear (&inputs);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/dmsm/trigrams", test_trigrams);
  g_test_add_func ("/dmsm/half", test_half);
  g_test_add_func ("/dmsm/gradients-match-pytorch", test_gradients_match_pytorch);
  g_test_add_func ("/dmsm/save-load", test_save_load);
  g_test_add_func ("/dmsm/top-k", test_top_k);
  g_test_add_func ("/dmsm/rank-own", test_rank_own);
  g_test_add_func ("/dmsm/training-learns", test_training_learns);
  g_test_add_func ("/dmsm/trainer-falls-back-to-cpu", test_trainer_falls_back);
  g_test_add_func ("/dmsm/learns-on-drawn-scenes", test_learns_on_drawn_scenes);
  return g_test_run ();
}

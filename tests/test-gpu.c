/* test-gpu.c: the CUDA backend, on a machine that has a GPU; skipped (not faked) elsewhere.
 *
 * Every comparison runs one model file twice, once on the CPU backend and once on CUDA, on a real
 * photo, and checks (a) every raw output within a tolerance of its largest magnitude, per
 * precision: FP32 (no tensor cores) 1e-4, TF32 2e-2, FP16 3e-2 — the difference is printed so the
 * real margins are on record; (b) the detections after NMS: every CPU box scoring ≥ 0.3 has a
 * GPU box of the same class with IoU ≥ 0.9 and a score within 0.02 (FP32: IoU ≥ 0.99, 1e-3), and
 * back. Models: the six Darknet cfgs with seeded random weights (raw outputs only for those: random
 * heads make near-ties that NMS may break either way), CenterNet and NanoDet (TF.js), the SSD and
 * BlazeFace (TFLite). Where the files live is taken from QUORUM_MODELS_DIR, QUORUM_DARKNET_DIR and
 * QUORUM_IMAGES_DIR when set (the GPU machine has no ../shared), else from beside the source. */
#include "qr-darknet.h"
#include "qr-detector.h"
#include "qr-box.h"
#include "qr-dmsm.h"
#include "test-util.h"

#include <math.h>
#include <string.h>

static const char *
dir_from (const char *env, const char *fallback)
{
  const char *value = g_getenv (env);
  return value != NULL && *value != '\0' ? value : fallback;
}

#define MODELS_DIR dir_from ("QUORUM_MODELS_DIR", QUORUM_SOURCE_DIR "/../shared/models/pretrained")
#define DARKNET_DIR dir_from ("QUORUM_DARKNET_DIR", QUORUM_SOURCE_DIR "/../shared/models/darknet")
#define IMAGES_DIR dir_from ("QUORUM_IMAGES_DIR", QUORUM_SOURCE_DIR "/../shared/images")

static gboolean
have_gpu (void)
{
  if (qr_engine_cuda_device_count () > 0)
    return TRUE;
  g_test_skip ("no CUDA device on this machine");
  return FALSE;
}

static void
test_describe (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *text = NULL;

  if (!have_gpu ())
    return;
  text = qr_engine_cuda_describe (&error);
  g_assert_no_error (error);
  g_test_message ("%s", text);
  g_assert_nonnull (strstr (text, "cuda:0 "));
  g_assert_nonnull (strstr (text, "cuDNN 9"));
}

static void
test_no_device_is_an_error_not_a_crash (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *text = NULL;

  if (qr_engine_cuda_device_count () > 0)
    {
      g_test_skip ("this machine has a GPU");
      return;
    }
  text = qr_engine_cuda_describe (&error);
  g_assert_null (text);
  g_assert_error (error, QR_ENGINE_ERROR, QR_ENGINE_ERROR_UNSUPPORTED);
  g_test_message ("%s", error->message);
}

/* Copies a Darknet cfg into dir with the input set to w×h and writes seeded random weights. */
static char *
darknet_model (const char *cfg_name, const char *dir, int w, int h)
{
  g_autofree char *src = g_build_filename (DARKNET_DIR, cfg_name, NULL);
  g_autofree char *weights = NULL, *stem = NULL;
  g_autoptr (GError) error = NULL;
  char *dst = test_copy_darknet_cfg (src, dir, w, h, NULL);

  stem = g_strndup (dst, strlen (dst) - 4);
  weights = g_strconcat (stem, ".weights", NULL);
  g_assert_true (qr_darknet_write_random_weights (dst, weights, g_str_hash (cfg_name), &error));
  g_assert_no_error (error);
  return dst;
}

static QrDetector *
load_with (const char *path, QrDevice device, QrPrecision precision, float threshold)
{
  g_autoptr (GError) error = NULL;
  QrDetectorOptions options;
  QrDetector *detector;

  qr_detector_options_init (&options);
  options.device = device;
  options.precision = precision;
  options.score_threshold = threshold;
  options.max_detections = 1000;
  detector = qr_detector_load (path, &options, &error);
  g_assert_no_error (error);
  return detector;
}

static QrDetector *
load (const char *path, QrDevice device, QrPrecision precision)
{
  return load_with (path, device, precision, 0.1f);
}

static double
raw_tolerance (QrPrecision precision)
{
  return precision == QR_PRECISION_FP32 ? 1e-4 : precision == QR_PRECISION_TF32 ? 2e-2 : 3e-2;
}

/* Largest |cpu − gpu| over every output, relative to that output's largest |cpu|. */
static double
compare_outputs (QrModel *cpu, QrModel *gpu)
{
  double worst = 0;

  for (guint i = 0; qr_model_get_output_name (cpu, i) != NULL; i++)
    {
      const char *name = qr_model_get_output_name (cpu, i);
      int rank_a = 0, rank_b = 0, dims_a[4], dims_b[4];
      const float *a = qr_model_get_output (cpu, name, &rank_a, dims_a);
      const float *b = qr_model_get_output (gpu, name, &rank_b, dims_b);
      gsize n = 1;
      double biggest = 1e-12, diff = 0;

      g_assert_nonnull (a);
      g_assert_nonnull (b);
      g_assert_cmpint (rank_a, ==, rank_b);
      for (int d = 0; d < rank_a; d++)
        {
          g_assert_cmpint (dims_a[d], ==, dims_b[d]);
          n *= (gsize) dims_a[d];
        }
      for (gsize j = 0; j < n; j++)
        {
          g_assert_true (isfinite (b[j]));
          biggest = MAX (biggest, fabs (a[j]));
          diff = MAX (diff, fabs ((double) a[j] - b[j]));
        }
      g_test_message ("  %s: max |cpu − gpu| %.3g, largest |cpu| %.3g (%.2g relative)", name, diff, biggest,
                      diff / biggest);
      worst = MAX (worst, diff / biggest);
    }
  return worst;
}

/* Every box of `from` scoring ≥ 0.3 (+ slack) has its twin in `to`. */
static void
assert_detections_in (GArray *from, GArray *to, float slack, float min_iou, float score_tol, const char *what)
{
  for (guint i = 0; i < from->len; i++)
    {
      QrDetection *d = &g_array_index (from, QrDetection, i);
      gboolean found = FALSE;
      if (d->score < 0.3f + slack)
        continue;
      for (guint j = 0; j < to->len && !found; j++)
        {
          QrDetection *e = &g_array_index (to, QrDetection, j);
          found = e->class_id == d->class_id && fabsf (e->score - d->score) <= score_tol
                  && qr_iou_xyxy (d->x1, d->y1, d->x2, d->y2, e->x1, e->y1, e->x2, e->y2) >= min_iou;
        }
      if (!found)
        g_error ("%s: class %d score %.3f at (%.0f, %.0f, %.0f, %.0f) has no twin", what, d->class_id, d->score,
                 d->x1, d->y1, d->x2, d->y2);
    }
}

typedef struct
{
  const char *model;      /* a file in MODELS_DIR, or a Darknet cfg */
  const char *image;      /* in IMAGES_DIR */
  QrPrecision precision;
  gboolean    darknet;
  int         size;       /* Darknet input */
} Case;

static void
test_matches_cpu (gconstpointer data)
{
  const Case *tc = data;
  g_autofree char *tmp = NULL, *path = NULL;
  g_autofree char *image_path = g_build_filename (IMAGES_DIR, tc->image, NULL);
  g_autoptr (QrDetector) cpu = NULL, gpu = NULL;
  g_autoptr (QrImage) image = NULL;
  g_autoptr (GArray) on_cpu = NULL, on_gpu = NULL;
  g_autoptr (GError) error = NULL;
  const char *device;
  double worst, cpu_s;
  gint64 start;

  if (!have_gpu ())
    return;
  if (tc->darknet)
    {
      if (!g_file_test (DARKNET_DIR, G_FILE_TEST_IS_DIR))
        {
          g_test_skip ("no Darknet cfgs (set QUORUM_DARKNET_DIR)");
          return;
        }
      tmp = test_make_tmpdir ();
      path = darknet_model (tc->model, tmp, tc->size, tc->size);
    }
  else
    path = g_build_filename (MODELS_DIR, tc->model, NULL);
  if (!g_file_test (path, G_FILE_TEST_EXISTS) || !g_file_test (image_path, G_FILE_TEST_EXISTS))
    {
      g_test_skip ("the model or the photo is missing (set QUORUM_MODELS_DIR and QUORUM_IMAGES_DIR)");
      return;
    }
  image = qr_image_load (image_path, NULL, 0, &error);
  g_assert_no_error (error);
  /* random weights score every box near 0.5: at 0.1, yolov4 at 416 hands NMS 850,000 boxes; the raw
   * outputs are what is compared there */
  cpu = load_with (path, QR_DEVICE_CPU, tc->precision, tc->darknet ? 0.9f : 0.1f);
  gpu = load_with (path, QR_DEVICE_CUDA, tc->precision, tc->darknet ? 0.9f : 0.1f);
  device = qr_model_get_device (qr_detector_get_model (gpu));
  g_test_message ("%s on %s", tc->model, device);
  g_assert_true (g_str_has_prefix (device, "cuda:0"));
  g_assert_nonnull (strstr (device, qr_precision_to_string (tc->precision)));

  start = g_get_monotonic_time ();
  on_cpu = qr_detector_detect (cpu, image, NULL, NULL, &error);
  g_assert_no_error (error);
  cpu_s = (double) (g_get_monotonic_time () - start) / 1e6;
  start = g_get_monotonic_time ();
  on_gpu = qr_detector_detect (gpu, image, NULL, NULL, &error);
  g_assert_no_error (error);
  g_test_message ("first detect: %.2f s on the CPU, %.2f s on the GPU (planning included)", cpu_s,
                  (double) (g_get_monotonic_time () - start) / 1e6);
  worst = compare_outputs (qr_detector_get_model (cpu), qr_detector_get_model (gpu));
  g_test_message ("%s %s: worst relative difference %.2g (bar %.0e); %u boxes on the CPU, %u on the GPU", tc->model,
                  qr_precision_to_string (tc->precision), worst, raw_tolerance (tc->precision), on_cpu->len,
                  on_gpu->len);
  g_assert_cmpfloat (worst, <=, raw_tolerance (tc->precision));
  if (!tc->darknet)
    {
      gboolean exact = tc->precision == QR_PRECISION_FP32;
      float iou = exact ? 0.99f : 0.9f, tol = exact ? 1e-3f : 0.02f;
      assert_detections_in (on_cpu, on_gpu, 0, iou, tol, "CPU → GPU");
      assert_detections_in (on_gpu, on_cpu, tol, iou, tol, "GPU → CPU");
    }
  if (tmp != NULL)
    test_remove_tree (tmp);
}

/* A batch of two different photos gives what two runs of one give. */
/* The three photos the peaks and rows tests run on (those gpu-check.sh carries); FALSE (the test
 * skipped, none kept) when one is missing. */
static gboolean
load_three_photos (QrImage *images[3])
{
  static const char *const photos[] = { "darknet-dog.jpg", "darknet-person.jpg", "faceapi-sample4.jpg" };

  for (int i = 0; i < 3; i++)
    {
      g_autofree char *p = g_build_filename (IMAGES_DIR, photos[i], NULL);
      images[i] = qr_image_load (p, NULL, 0, NULL);
      if (images[i] == NULL)
        {
          for (int j = 0; j < i; j++)
            g_clear_pointer (&images[j], qr_image_free);
          g_test_skip ("the photos are missing (set QUORUM_IMAGES_DIR)");
          return FALSE;
        }
    }
  return TRUE;
}

/* Decoding on the GPU: CenterNet's peaks found by the kernel and downloaded alone are the 3×3
 * maxima of the heatmap the GPU computed (downloaded afterwards, when asked for), with the box
 * sides at each, in order — at batch 3 and 1, two precisions, and at a threshold of 0, where an
 * item has more peaks than the GPU's list holds and the CPU finds them in the downloaded map. */
static void
test_peaks (void)
{
  static const float thresholds[] = { 0.25f, 0.02f, 0.0f };
  static const QrPrecision precisions[] = { QR_PRECISION_FP32, QR_PRECISION_FP16 };
  g_autofree char *path = g_build_filename (MODELS_DIR, "centernet.json", NULL);
  QrImage *images[3] = { NULL, NULL, NULL };

  if (!have_gpu () || !load_three_photos (images))
    return;
  for (guint p = 0; p < G_N_ELEMENTS (precisions); p++)
    for (guint t = 0; t < G_N_ELEMENTS (thresholds); t++)
      for (int n = 3; n >= 1; n -= 2)
        {
          g_autoptr (QrDetector) detector = load_with (path, QR_DEVICE_CUDA, precisions[p], thresholds[t]);
          gsize found;
          g_assert_true (g_str_has_prefix (qr_model_get_device (qr_detector_get_model (detector)), "cuda"));
          found = test_check_peaks (detector, (const QrImage *const *) images, n, "tower_0/keypoints", "tower_0/wh",
                                    thresholds[t]);
          g_test_message ("%s, threshold %.2f, batch %d: %" G_GSIZE_FORMAT " peaks", qr_precision_to_string (precisions[p]),
                          thresholds[t], n, found);
          g_assert_cmpuint (found, >, 0);
        }
  for (int i = 0; i < 3; i++)
    g_clear_pointer (&images[i], qr_image_free);
}

/* Decoding on the GPU, rows: a Darknet network's [yolo] inputs (rows of 85 per cell-anchor) kept
 * by their raw objectness on the GPU and downloaded alone, and NanoDet's three class maps with
 * their box outputs at once, are the rows the downloaded outputs say — batch 3 and 1, and at
 * thresholds where the rows outnumber the GPU's list (the CPU keeps them then). */
static void
test_rows (void)
{
  g_autofree char *tmp = NULL, *cfg = NULL;
  g_autofree char *nanodet = g_build_filename (MODELS_DIR, "nanodet.json", NULL);
  QrImage *images[3] = { NULL, NULL, NULL };

  if (!have_gpu ())
    return;
  if (!g_file_test (DARKNET_DIR, G_FILE_TEST_IS_DIR))
    {
      g_test_skip ("no Darknet cfgs (set QUORUM_DARKNET_DIR)");
      return;
    }
  if (!load_three_photos (images))
    return;
  tmp = test_make_tmpdir ();
  cfg = darknet_model ("yolov4-tiny.cfg", tmp, 416, 416);
  for (int m = 0; m < 2; m++)
    {
      g_autoptr (QrDetector) detector = load (m == 0 ? cfg : nanodet, QR_DEVICE_CUDA, QR_PRECISION_FP32);
      QrModel *model = qr_detector_get_model (detector);
      TestRowsSpec specs[3];
      int n_specs = 0, w, h;
      gsize per_image;
      g_autofree float *input = NULL;

      g_assert_true (g_str_has_prefix (qr_model_get_device (model), "cuda"));
      qr_detector_get_input_dims (detector, &w, &h);
      per_image = (gsize) w * (gsize) h * 3;
      input = g_new (float, per_image * 3);
      for (int i = 0; i < 3; i++)
        qr_detector_preprocess (detector, images[i], input + per_image * (gsize) i);
      for (int k = 0; k < 3; k++)
        for (int n = 3; n >= 1; n -= 2)
          {
            static const float thresholds[2][3] = { { 1.0f, 0.5f, 0.0f }, { 0.3f, 0.05f, 0.0f } };
            float t = thresholds[m][k];
            gsize kept;
            n_specs = 0;
            for (guint i = 0; qr_model_get_output_name (model, i) != NULL && n_specs < 3; i++)
              {
                const char *name = qr_model_get_output_name (model, i);
                int rank, dims[4];
                g_assert_true (qr_model_get_output_shape (model, name, &rank, dims));
                if (m == 0 && rank == 4 && dims[3] == 255)
                  specs[n_specs++] = (TestRowsSpec) { name, 85, 4, 1, NULL, t };
                else if (m == 1 && rank == 3 && dims[2] == 80)
                  for (guint j = 0; qr_model_get_output_name (model, j) != NULL; j++)
                    {
                      const char *other = qr_model_get_output_name (model, j);
                      int orank, odims[4];
                      g_assert_true (qr_model_get_output_shape (model, other, &orank, odims));
                      if (orank == 3 && odims[2] == 44 && odims[1] == dims[1])
                        specs[n_specs++] = (TestRowsSpec) { name, 80, 0, 80, other, t };
                    }
              }
            g_assert_cmpint (n_specs, >=, 2);
            kept = test_check_rows (model, input, n, specs, n_specs);
            g_test_message ("%s, threshold %.2f, batch %d: %" G_GSIZE_FORMAT " rows kept", m == 0 ? "yolov4-tiny" : "nanodet",
                            t, n, kept);
          }
    }
  test_remove_tree (tmp);
  for (int i = 0; i < 3; i++)
    g_clear_pointer (&images[i], qr_image_free);
}

static void
test_batch (void)
{
  g_autofree char *tmp = NULL, *path = NULL;
  g_autoptr (QrDetector) gpu = NULL;
  g_autoptr (GError) error = NULL;
  const char *photos[] = { "darknet-dog.jpg", "darknet-person.jpg" };
  g_autofree float *input = NULL;
  float *single[2] = { NULL, NULL };   /* (g_autofree on an array frees only its first) */
  gsize per_image, out_size = 0;
  int w, h, rank, dims[4];
  QrModel *model;
  const char *name;
  const float *out;

  if (!have_gpu ())
    return;
  if (!g_file_test (DARKNET_DIR, G_FILE_TEST_IS_DIR))
    {
      g_test_skip ("no Darknet cfgs (set QUORUM_DARKNET_DIR)");
      return;
    }
  tmp = test_make_tmpdir ();
  path = darknet_model ("yolov4-tiny.cfg", tmp, 224, 224);
  gpu = load (path, QR_DEVICE_CUDA, QR_PRECISION_FP32);
  model = qr_detector_get_model (gpu);
  g_assert_true (g_str_has_prefix (qr_model_get_device (model), "cuda"));
  qr_detector_get_input_dims (gpu, &w, &h);
  per_image = (gsize) w * (gsize) h * 3;
  input = g_new0 (float, per_image * 2);
  for (int i = 0; i < 2; i++)
    {
      g_autofree char *p = g_build_filename (IMAGES_DIR, photos[i], NULL);
      g_autoptr (QrImage) image = qr_image_load (p, NULL, 0, &error);
      if (image == NULL)
        {
          g_test_skip ("the photos are missing (set QUORUM_IMAGES_DIR)");
          test_remove_tree (tmp);
          return;
        }
      qr_detector_preprocess (gpu, image, input + per_image * (gsize) i);
    }
  name = qr_model_get_output_name (model, 0);
  for (int i = 0; i < 2; i++)
    {
      g_assert_true (qr_model_run (model, input + per_image * (gsize) i, 1, NULL, NULL, &error));
      g_assert_no_error (error);
      out = qr_model_get_output (model, name, &rank, dims);
      out_size = 1;
      for (int d = 0; d < rank; d++)
        out_size *= (gsize) dims[d];
      single[i] = g_memdup2 (out, out_size * sizeof (float));
    }
  g_assert_true (qr_model_run (model, input, 2, NULL, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (g_str_has_prefix (qr_model_get_device (model), "cuda"));
  out = qr_model_get_output (model, name, &rank, dims);
  g_assert_cmpint (dims[0], ==, 2);
  for (int i = 0; i < 2; i++)
    for (gsize j = 0; j < out_size; j++)
      g_assert_cmpfloat (fabsf (out[(gsize) i * out_size + j] - single[i][j]), <=, 1e-4f * (1 + fabsf (single[i][j])));
  for (int i = 0; i < 2; i++)
    g_free (single[i]);
  test_remove_tree (tmp);
}

/* From the second run on the forward pass is a replayed CUDA graph: it gives what the first
 * (eager) run gave. */
static void
test_graph_replay (void)
{
  g_autofree char *tmp = NULL, *path = NULL;
  g_autofree char *photo = g_build_filename (IMAGES_DIR, "darknet-dog.jpg", NULL);
  g_autoptr (QrDetector) gpu = NULL;
  g_autoptr (QrImage) image = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree float *input = NULL, *first = NULL;
  gsize n = 1;
  int w, h, rank, dims[4];
  QrModel *model;
  const char *name;
  const float *out;

  if (!have_gpu ())
    return;
  if (!g_file_test (DARKNET_DIR, G_FILE_TEST_IS_DIR) || !g_file_test (photo, G_FILE_TEST_EXISTS))
    {
      g_test_skip ("no Darknet cfgs or photos (set QUORUM_DARKNET_DIR and QUORUM_IMAGES_DIR)");
      return;
    }
  tmp = test_make_tmpdir ();
  path = darknet_model ("yolov4-tiny.cfg", tmp, 224, 224);
  gpu = load (path, QR_DEVICE_CUDA, QR_PRECISION_FP16);
  model = qr_detector_get_model (gpu);
  image = qr_image_load (photo, NULL, 0, &error);
  g_assert_no_error (error);
  qr_detector_get_input_dims (gpu, &w, &h);
  input = g_new (float, (gsize) w * (gsize) h * 3);
  qr_detector_preprocess (gpu, image, input);
  name = qr_model_get_output_name (model, 0);
  for (int run = 0; run < 4; run++)
    {
      g_assert_true (qr_model_run (model, input, 1, NULL, NULL, &error));
      g_assert_no_error (error);
      out = qr_model_get_output (model, name, &rank, dims);
      if (run == 0)
        {
          for (int d = 0; d < rank; d++)
            n *= (gsize) dims[d];
          first = g_memdup2 (out, n * sizeof (float));
          continue;
        }
      for (gsize j = 0; j < n; j++)
        g_assert_cmpfloat (fabsf (out[j] - first[j]), <=, 1e-5f * (1 + fabsf (first[j])));
    }
  test_remove_tree (tmp);
}

/* Asking for CUDA where there is none runs on the CPU (said once), and detects the same. */
static void
test_falls_back_to_cpu (void)
{
  g_autofree char *tmp = NULL, *path = NULL;
  g_autofree char *image_path = g_build_filename (IMAGES_DIR, "darknet-dog.jpg", NULL);
  g_autoptr (QrDetector) asked = NULL, cpu = NULL;
  g_autoptr (QrImage) image = NULL;
  g_autoptr (GArray) a = NULL, b = NULL;
  g_autoptr (GError) error = NULL;

  if (qr_engine_cuda_device_count () > 0)
    {
      g_test_skip ("this machine has a GPU");
      return;
    }
  if (!g_file_test (DARKNET_DIR, G_FILE_TEST_IS_DIR) || !g_file_test (image_path, G_FILE_TEST_EXISTS))
    {
      g_test_skip ("no Darknet cfgs or photos beside the source tree");
      return;
    }
  tmp = test_make_tmpdir ();
  path = darknet_model ("yolov3-tiny.cfg", tmp, 128, 128);
  asked = load (path, QR_DEVICE_CUDA, QR_PRECISION_FP16);
  g_assert_cmpstr (qr_model_get_device (qr_detector_get_model (asked)), ==, "cpu");
  cpu = load (path, QR_DEVICE_CPU, QR_PRECISION_FP16);
  image = qr_image_load (image_path, NULL, 0, &error);
  g_assert_no_error (error);
  a = qr_detector_detect (asked, image, NULL, NULL, &error);
  g_assert_no_error (error);
  b = qr_detector_detect (cpu, image, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (a->len, ==, b->len);
  g_assert_cmpint (memcmp (a->data, b->data, a->len * sizeof (QrDetection)), ==, 0);
  test_remove_tree (tmp);
}

/* Several peers on one GPU at once: two networks, each with its own context and stream, driven
 * from two threads at the same time, give what each gives alone. */
typedef struct
{
  QrDetector    *detector;
  const QrImage *image;
  GArray        *found[4];
} PeerRun;

static gpointer
run_peer (gpointer data)
{
  PeerRun *run = data;
  for (int i = 0; i < 4; i++)
    {
      g_autoptr (GError) error = NULL;
      run->found[i] = qr_detector_detect (run->detector, run->image, NULL, NULL, &error);
      g_assert_no_error (error);
    }
  return NULL;
}

static void
test_peers_at_once (void)
{
  const char *models[2] = { "centernet.json", "nanodet.json" };
  g_autofree char *photo = g_build_filename (IMAGES_DIR, "darknet-dog.jpg", NULL);
  g_autoptr (QrImage) image = NULL;
  g_autoptr (GError) error = NULL;
  PeerRun runs[2] = { { NULL } };
  GArray *alone[2] = { NULL, NULL };
  GThread *threads[2];

  if (!have_gpu ())
    return;
  for (int m = 0; m < 2; m++)
    {
      g_autofree char *path = g_build_filename (MODELS_DIR, models[m], NULL);
      if (!g_file_test (path, G_FILE_TEST_EXISTS))
        {
          g_test_skip ("the pretrained models are missing (set QUORUM_MODELS_DIR)");
          return;
        }
    }
  image = qr_image_load (photo, NULL, 0, &error);
  g_assert_no_error (error);
  for (int m = 0; m < 2; m++)
    {
      g_autofree char *path = g_build_filename (MODELS_DIR, models[m], NULL);
      runs[m].detector = load (path, QR_DEVICE_CUDA, QR_PRECISION_FP32);
      runs[m].image = image;
      alone[m] = qr_detector_detect (runs[m].detector, image, NULL, NULL, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (alone[m]->len, >, 0);
    }
  for (int m = 0; m < 2; m++)
    threads[m] = g_thread_new ("peer", run_peer, &runs[m]);
  for (int m = 0; m < 2; m++)
    g_thread_join (threads[m]);
  for (int m = 0; m < 2; m++)
    {
      for (int i = 0; i < 4; i++)
        {
          assert_detections_in (alone[m], runs[m].found[i], 0, 0.999f, 1e-5f, "alone → at once");
          assert_detections_in (runs[m].found[i], alone[m], 0, 0.999f, 1e-5f, "at once → alone");
          g_array_unref (runs[m].found[i]);
        }
      g_array_unref (alone[m]);
      qr_detector_free (runs[m].detector);
    }
}

static const Case cases[] = {
  { "yolov2-tiny.cfg", "darknet-dog.jpg", QR_PRECISION_FP32, TRUE, 160 },
  { "yolov3-tiny.cfg", "darknet-dog.jpg", QR_PRECISION_FP32, TRUE, 160 },
  { "yolov3.cfg", "darknet-dog.jpg", QR_PRECISION_FP32, TRUE, 160 },
  { "yolov4-tiny.cfg", "darknet-dog.jpg", QR_PRECISION_FP32, TRUE, 160 },
  { "yolov4.cfg", "darknet-dog.jpg", QR_PRECISION_FP32, TRUE, 160 },
  { "yolov7-tiny.cfg", "darknet-dog.jpg", QR_PRECISION_FP32, TRUE, 160 },
  { "yolov4-tiny.cfg", "darknet-dog.jpg", QR_PRECISION_FP16, TRUE, 416 },
  { "yolov4.cfg", "darknet-dog.jpg", QR_PRECISION_FP16, TRUE, 416 },
  { "centernet.json", "darknet-dog.jpg", QR_PRECISION_FP32, FALSE, 0 },
  { "centernet.json", "darknet-dog.jpg", QR_PRECISION_TF32, FALSE, 0 },
  { "centernet.json", "darknet-dog.jpg", QR_PRECISION_FP16, FALSE, 0 },
  { "nanodet.json", "darknet-person.jpg", QR_PRECISION_FP32, FALSE, 0 },
  { "nanodet.json", "darknet-person.jpg", QR_PRECISION_FP16, FALSE, 0 },
  { "ssd_mobilenetv2_oidv4_fp16.tflite", "darknet-dog.jpg", QR_PRECISION_FP32, FALSE, 0 },
  { "ssd_mobilenetv2_oidv4_fp16.tflite", "darknet-dog.jpg", QR_PRECISION_FP16, FALSE, 0 },
  { "blazeface_short_range.tflite", "faceapi-sample4.jpg", QR_PRECISION_FP16, FALSE, 0 },
};

/* ---- the caption model's training (inference/text/dmsm-cuda.c) --------------------------------- */

static const char *const dmsm_texts[] = {
  "A brown dog runs on the grass.", "Two people ride bicycles down a street", "a cat sleeps on a red sofa",
  "three dogs and a man in the park", "Zzqx" /* no known trigram: the biases alone */,
  "a kitchen with a stove and an oven", "a dog dog dog", "people in a street with a red bus",
};

static QrDmsm *
dmsm_model (void)
{
  g_auto (GStrv) vocabulary = qr_dmsm_build_vocabulary (dmsm_texts, G_N_ELEMENTS (dmsm_texts), 0, 1);
  const QrDmsmShape shape = { 40, 24, 16, 10.0f };
  float mean[40], std[40];
  QrDmsm *model = qr_dmsm_new ((const char *const *) vocabulary, &shape, 99);

  for (int d = 0; d < 40; d++)
    {
      mean[d] = 0.05f * (float) d;
      std[d] = 0.5f + 0.03f * (float) d;
    }
  qr_dmsm_set_image_scaling (model, mean, std);
  return model;
}

static QrDmsmBatch
dmsm_batch (float *images, int n, int offset)
{
  QrDmsmBatch batch = { dmsm_texts + offset, images, n };
  return batch;
}

/* max |a − b| over the largest |a|, over every param-sized array */
static double
dmsm_relative (QrDmsm *model, float *const *a, float *const *b, const char *what)
{
  double worst = 0;
  for (guint i = 0; i < QR_DMSM_N_PARAMS; i++)
    {
      gsize n;
      double diff = 0, big = 1e-30;
      qr_dmsm_get_param (model, i, &n);
      for (gsize k = 0; k < n; k++)
        {
          diff = MAX (diff, fabs ((double) a[i][k] - b[i][k]));
          big = MAX (big, fabs ((double) a[i][k]));
        }
      g_test_message ("%s %s: max |cpu - cuda| %.3g of max %.3g", what, qr_dmsm_param_name (i), diff, big);
      worst = MAX (worst, diff / big);
    }
  return worst;
}

static void
test_dmsm_training_matches_cpu (void)
{
  g_autoptr (QrDmsm) cpu_model = NULL, gpu_model = NULL, resumed_model = NULL;
  g_autoptr (QrDmsmTrainer) cpu = NULL, gpu = NULL, resumed = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) state = NULL;
  g_autoptr (GRand) rand = g_rand_new_with_seed (5);
  float images[8 * 40];
  float *cpu_grads[QR_DMSM_N_PARAMS], *gpu_grads[QR_DMSM_N_PARAMS], *cpu_params[QR_DMSM_N_PARAMS],
    *gpu_params[QR_DMSM_N_PARAMS];
  double cpu_loss, gpu_loss;
  const int sizes[] = { 5, 8, 3, 8, 6 }, offsets[] = { 0, 0, 4, 0, 1 };

  if (!have_gpu ())
    return;
  cpu_model = dmsm_model ();
  gpu_model = dmsm_model ();
  for (guint k = 0; k < G_N_ELEMENTS (images); k++)
    images[k] = (float) g_rand_double_range (rand, -1, 3);
  cpu = qr_dmsm_trainer_new_on (cpu_model, 0.01f, QR_DEVICE_CPU);
  gpu = qr_dmsm_trainer_new_on (gpu_model, 0.01f, QR_DEVICE_CUDA);
  g_test_message ("training on %s", qr_dmsm_trainer_get_device (gpu));
  g_assert_true (g_str_has_prefix (qr_dmsm_trainer_get_device (gpu), "cuda:0 "));
  for (guint i = 0; i < QR_DMSM_N_PARAMS; i++)
    {
      gsize n;
      qr_dmsm_get_param (cpu_model, i, &n);
      cpu_grads[i] = g_new0 (float, MAX (n, 1));
      gpu_grads[i] = g_new0 (float, MAX (n, 1));
      cpu_params[i] = qr_dmsm_get_param (cpu_model, i, NULL);
      gpu_params[i] = qr_dmsm_get_param (gpu_model, i, NULL);
    }

  /* the loss and every gradient of one batch (the CPU's are checked against PyTorch by test-dmsm) */
  {
    QrDmsmBatch batch = dmsm_batch (images, 8, 0);
    g_assert_true (qr_dmsm_trainer_gradients (cpu, &batch, cpu_grads, &cpu_loss, &error));
    g_assert_true (qr_dmsm_trainer_gradients (gpu, &batch, gpu_grads, &gpu_loss, &error));
    g_assert_no_error (error);
    g_test_message ("loss: cpu %.9f, cuda %.9f", cpu_loss, gpu_loss);
    g_assert_cmpfloat (fabs (cpu_loss - gpu_loss), <=, 1e-5 * fabs (cpu_loss));
    g_assert_cmpfloat (dmsm_relative (cpu_model, cpu_grads, gpu_grads, "gradient"), <=, 1e-4);
  }

  /* Adam steps over batches of other sizes (the GPU's buffers grow), then the params */
  for (guint s = 0; s < G_N_ELEMENTS (sizes); s++)
    {
      QrDmsmBatch batch = dmsm_batch (images, sizes[s], offsets[s]);
      cpu_loss = qr_dmsm_trainer_step (cpu, &batch);
      gpu_loss = qr_dmsm_trainer_step (gpu, &batch);
      g_test_message ("step %u: loss cpu %.9f, cuda %.9f", s + 1, cpu_loss, gpu_loss);
      g_assert_cmpfloat (fabs (cpu_loss - gpu_loss), <=, 1e-4 * fabs (cpu_loss));
    }
  g_assert_true (qr_dmsm_trainer_sync (gpu, &error));
  g_assert_no_error (error);
  g_assert_cmpfloat (dmsm_relative (cpu_model, cpu_params, gpu_params, "after 5 steps"), <=, 1e-4);

  /* a stopped run resumed: the synced params and the saved moments, on a new trainer, step as the
   * old one does */
  state = qr_dmsm_trainer_save (gpu);
  {
    g_autoptr (GBytes) saved = qr_dmsm_save (gpu_model, NULL);
    resumed_model = qr_dmsm_load (saved, NULL, &error);
    g_assert_no_error (error);
  }
  resumed = qr_dmsm_trainer_new_on (resumed_model, 0.01f, QR_DEVICE_CUDA);
  g_assert_true (qr_dmsm_trainer_restore (resumed, state, &error));
  g_assert_no_error (error);
  {
    QrDmsmBatch batch = dmsm_batch (images, 7, 1);
    double a = qr_dmsm_trainer_step (gpu, &batch), b = qr_dmsm_trainer_step (resumed, &batch);
    g_assert_cmpfloat (a, ==, b);
    g_assert_true (qr_dmsm_trainer_sync (gpu, &error) && qr_dmsm_trainer_sync (resumed, &error));
    for (guint i = 0; i < QR_DMSM_N_PARAMS; i++)
      {
        gsize n;
        float *x = qr_dmsm_get_param (gpu_model, i, &n), *y = qr_dmsm_get_param (resumed_model, i, NULL);
        g_assert_cmpmem (x, n * sizeof (float), y, n * sizeof (float));
      }
  }
  for (guint i = 0; i < QR_DMSM_N_PARAMS; i++)
    {
      g_free (cpu_grads[i]);
      g_free (gpu_grads[i]);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/gpu/describe", test_describe);
  g_test_add_func ("/gpu/no-device", test_no_device_is_an_error_not_a_crash);
  g_test_add_func ("/gpu/falls-back-to-cpu", test_falls_back_to_cpu);
  g_test_add_func ("/gpu/batch-equals-single", test_batch);
  g_test_add_func ("/gpu/centernet-peaks", test_peaks);
  g_test_add_func ("/gpu/rows", test_rows);
  g_test_add_func ("/gpu/graph-replay-equals-eager", test_graph_replay);
  g_test_add_func ("/gpu/peers-at-once", test_peers_at_once);
  g_test_add_func ("/gpu/dmsm-training-matches-cpu", test_dmsm_training_matches_cpu);
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *name = g_strdup_printf ("/gpu/matches-cpu/%s/%s", cases[i].model,
                                               qr_precision_to_string (cases[i].precision));
      g_test_add_data_func (name, &cases[i], test_matches_cpu);
    }
  return g_test_run ();
}

/* test-models.c: the engine on real model files. The two COCO detectors against TF.js's own CPU
 * backend (tests/reference/tfjs-run.mjs, run by Node), output by output; the decoded boxes on a
 * real photo; a batch against one image at a time; the export for another framework; TF.js
 * batch norm and uint8 weights; and broken model files. */
#include "engine-private.h"
#include "qr-backbone.h"
#include "qr-detector.h"
#include "test-util.h"

#include <math.h>
#include <string.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#define MODELS_DIR QUORUM_SOURCE_DIR "/../shared/models/pretrained"

static gboolean
have_models (void)
{
  g_autofree char *centernet = g_build_filename (MODELS_DIR, "centernet.json", NULL);
  return g_file_test (centernet, G_FILE_TEST_IS_REGULAR);
}

static char *
reference_runner (void)
{
  g_autofree char *node = g_find_program_in_path ("node");
  g_autofree char *modules = g_build_filename (QUORUM_SOURCE_DIR, "tests", "reference", "node_modules", "@tensorflow",
                                               "tfjs", NULL);
  if (node == NULL || !g_file_test (modules, G_FILE_TEST_IS_DIR))
    return NULL;
  return g_steal_pointer (&node);
}

static gboolean
have_reference (void)
{
  g_autofree char *runner = reference_runner ();
  return runner != NULL;
}

static float *
read_f32 (const char *dir, const char *name, gsize *n)
{
  g_autofree char *file = g_strdup_printf ("%s/%s.f32", dir, name);
  char *data = NULL;
  gsize len = 0;

  g_assert_true (g_file_get_contents (file, &data, &len, NULL));
  *n = len / 4;
  return (float *) data;
}

/* Runs the model in TF.js on exactly the input our engine saw; compares each output element by
 * element within 1e-3 of the output's largest magnitude. */
static void
compare_with_tfjs (const char *model_file, const char *image_name, const char *const *outputs, const char *const *file_names,
                   QrDetector **detector_out, GArray **detections_out)
{
  g_autofree char *node = reference_runner ();
  g_autofree char *model_path = g_build_filename (MODELS_DIR, model_file, NULL);
  g_autofree char *image_path = g_build_filename (QUORUM_DEMO_DIR, image_name, NULL);
  g_autofree char *tmp = test_make_tmpdir ();
  g_autofree char *input_path = g_build_filename (tmp, "input.f32", NULL);
  g_autofree char *script = g_build_filename (QUORUM_SOURCE_DIR, "tests", "reference", "tfjs-run.mjs", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (QrImage) image = qr_image_load (image_path, NULL, 0, &error);
  QrDetector *detector = qr_detector_load (model_path, NULL, &error);
  g_autofree float *input = NULL;
  g_autoptr (GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *shape = NULL;
  g_autofree char *out = NULL, *err = NULL;
  int size, status;
  GArray *detections;

  g_assert_no_error (error);
  size = qr_detector_get_input_size (detector);
  input = g_new (float, (gsize) size * size * 3);
  qr_detector_preprocess (detector, image, input);
  test_write_bytes (input_path, input, (gsize) size * size * 3 * sizeof (float));
  detections = qr_detector_detect (detector, image, NULL, NULL, &error);
  g_assert_no_error (error);

  shape = g_str_equal (qr_detector_get_family (detector), "centernet") ? g_strdup_printf ("1,%d,%d,3", size, size)
                                                                    : g_strdup_printf ("1,3,%d,%d", size, size);
  g_ptr_array_add (argv, g_strdup (node));
  g_ptr_array_add (argv, g_strdup (script));
  g_ptr_array_add (argv, g_strdup (model_path));
  g_ptr_array_add (argv, g_strdup (input_path));
  g_ptr_array_add (argv, g_strdup (shape));
  g_ptr_array_add (argv, g_strdup (tmp));
  g_ptr_array_add (argv, g_strdup ("cpu"));
  g_ptr_array_add (argv, g_strdup ("0"));
  for (guint i = 0; outputs[i] != NULL; i++)
    g_ptr_array_add (argv, g_strdup (outputs[i]));
  g_ptr_array_add (argv, NULL);
  g_spawn_sync (NULL, (char **) argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, &err, &status, &error);
  g_assert_no_error (error);
  if (!g_spawn_check_wait_status (status, NULL))
    g_error ("tfjs-run.mjs failed: %s", err);

  for (guint i = 0; outputs[i] != NULL && file_names[i] != NULL; i++)
    {
      int rank, dims[4];
      const float *ours = qr_model_get_output (qr_detector_get_model (detector), outputs[i], &rank, dims);
      gsize n;
      g_autofree float *theirs = NULL;
      double max_abs = 0, max_err = 0;

      if (file_names[i] == NULL)
        continue;
      theirs = read_f32 (tmp, file_names[i], &n);
      g_assert_nonnull (ours);
      {
        QrShape s = { rank, { 0 } };
        memcpy (s.dims, dims, sizeof (int) * (gsize) rank);
        g_assert_cmpuint (qr_shape_size (&s), ==, n);
      }
      for (gsize k = 0; k < n; k++)
        {
          max_abs = MAX (max_abs, fabs (theirs[k]));
          max_err = MAX (max_err, fabs ((double) ours[k] - theirs[k]));
        }
      g_test_message ("%s %s: max |tfjs| %.4g, max |ours − tfjs| %.3g (%.2g of the magnitude)", model_file, outputs[i],
                      max_abs, max_err, max_err / max_abs);
      g_assert_cmpfloat (max_err, <=, 1e-3 * max_abs);
    }
  /* CenterNet's own graph decodes too (top 100 peaks: x1, y1, x2, y2, score, class in input
   * pixels): each of its boxes over the threshold is one of ours, same class, IoU ≥ 0.99. */
  if (g_str_equal (qr_detector_get_family (detector), "centernet"))
    {
      gsize n;
      g_autofree float *theirs = read_f32 (tmp, "tower_0_detections", &n);
      float scale = qr_detector_preprocess (detector, image, input);
      guint matched = 0, considered = 0;

      for (gsize k = 0; k + 6 <= n; k += 6)
        {
          QrDetection t = { (int) theirs[k + 5], theirs[k + 4], theirs[k] / scale, theirs[k + 1] / scale,
                            theirs[k + 2] / scale, theirs[k + 3] / scale };
          float best = 0;
          if (t.score < 0.25f)
            continue;
          considered++;
          for (guint i = 0; i < detections->len; i++)
            {
              QrDetection *d = &g_array_index (detections, QrDetection, i);
              if (d->class_id == t.class_id)
                best = MAX (best, qr_box_iou (d, &t));
            }
          matched += best >= 0.99f;
        }
      g_test_message ("TF.js's in-graph decoder: %u boxes over 0.25, %u matched by ours", considered, matched);
      g_assert_cmpuint (considered, >=, 3);
      g_assert_cmpuint (matched, ==, considered);
    }
  test_remove_tree (tmp);
  *detector_out = detector;
  *detections_out = detections;
}

static void
test_centernet_tfjs (void)
{
  static const char *const outputs[] = { "tower_0/keypoints", "tower_0/wh", "tower_0/detections", NULL };
  static const char *const files[] = { "tower_0_keypoints", "tower_0_wh", NULL, NULL };
  g_autoptr (QrDetector) detector = NULL;
  g_autoptr (GArray) detections = NULL;

  if (!have_models ())
    {
      g_test_skip ("the pretrained models are not beside the source tree (../shared/models/pretrained)");
      return;
    }
  if (!have_reference ())
    {
      g_test_skip ("no TF.js reference: run `npm install` in tests/reference (tools/test.sh does)");
      return;
    }
  compare_with_tfjs ("centernet.json", "darknet-dog.jpg", outputs, files, &detector, &detections);
  g_assert_cmpuint (detections->len, >=, 3);
}

static void
test_nanodet_tfjs (void)
{
  static const char *const outputs[] = { "Identity", "Identity_1", "Identity_2", "Identity_3", "Identity_4", "Identity_5", NULL };
  static const char *const files[] = { "Identity", "Identity_1", "Identity_2", "Identity_3", "Identity_4", "Identity_5", NULL };
  g_autoptr (QrDetector) detector = NULL;
  g_autoptr (GArray) detections = NULL;

  if (!have_models ())
    {
      g_test_skip ("the pretrained models are not beside the source tree (../shared/models/pretrained)");
      return;
    }
  if (!have_reference ())
    {
      g_test_skip ("no TF.js reference: run `npm install` in tests/reference (tools/test.sh does)");
      return;
    }
  compare_with_tfjs ("nanodet.json", "darknet-person.jpg", outputs, files, &detector, &detections);
}

/* What a person sees in darknet-dog.jpg (768 × 576): the dog, the bicycle, the truck. */
/* CenterNet's decoding reads the engine's peaks (qr_model_set_peaks): they are the heatmap's 3×3
 * maxima at or above the threshold, as the model's own graph defines them, with the box sides at
 * each; a batch of three, at two thresholds. Bad outputs are errors naming them. */
static void
test_centernet_peaks (void)
{
  static const char *const photos[] = { "darknet-dog.jpg", "darknet-person.jpg", "darknet-horses.jpg" };
  g_autofree char *model_path = g_build_filename (MODELS_DIR, "centernet.json", NULL);
  g_autoptr (GError) error = NULL;
  QrImage *images[3] = { NULL, NULL, NULL };
  const float thresholds[] = { 0.25f, 0.02f };

  if (!have_models ())
    {
      g_test_skip ("the pretrained models are not beside the source tree (../shared/models/pretrained)");
      return;
    }
  for (int i = 0; i < 3; i++)
    {
      g_autofree char *path = g_build_filename (QUORUM_SOURCE_DIR, "..", "shared", "images", photos[i], NULL);
      images[i] = qr_image_load (path, NULL, 0, &error);
      g_assert_no_error (error);
    }
  for (guint t = 0; t < G_N_ELEMENTS (thresholds); t++)
    {
      QrDetectorOptions options;
      g_autoptr (QrDetector) detector = NULL;
      gsize n;

      qr_detector_options_init (&options);
      options.score_threshold = thresholds[t];
      options.device = test_device ();
      options.precision = QR_PRECISION_FP32;
      detector = qr_detector_load (model_path, &options, &error);
      g_assert_no_error (error);
      n = test_check_peaks (detector, (const QrImage *const *) images, 3, "tower_0/keypoints", "tower_0/wh",
                            thresholds[t]);
      g_test_message ("threshold %.2f: %" G_GSIZE_FORMAT " peaks in 3 photos", thresholds[t], n);
      g_assert_cmpuint (n, >=, t == 0 ? 10 : 100);
      if (t == 0)
        {
          QrModel *model = qr_detector_get_model (detector);
          g_assert_false (qr_model_set_peaks (model, "no/such", NULL, 0.5f, &error));
          g_assert_error (error, QR_ENGINE_ERROR, QR_ENGINE_ERROR_SHAPE);
          g_assert_nonnull (strstr (error->message, "no/such"));
          g_clear_error (&error);
          /* 80 values a cell are more than a peak carries */
          g_assert_false (qr_model_set_peaks (model, "tower_0/wh", "tower_0/keypoints", 0.5f, &error));
          g_assert_error (error, QR_ENGINE_ERROR, QR_ENGINE_ERROR_SHAPE);
          g_assert_nonnull (strstr (error->message, "tower_0/keypoints"));
          g_clear_error (&error);
        }
    }
  for (int i = 0; i < 3; i++)
    qr_image_free (images[i]);
}

/* NanoDet's decoding reads the engine's kept rows (qr_model_select_rows): per stride the cells
 * with a class score at or above the threshold, with their box distributions; three strides at
 * once, a batch of three, at three thresholds (at 0 every row, more than a GPU's list holds).
 * Shapes that do not fit are errors naming the output. */
static void
test_nanodet_rows (void)
{
  static const char *const photos[] = { "darknet-dog.jpg", "darknet-person.jpg", "darknet-horses.jpg" };
  static const float thresholds[] = { 0.3f, 0.05f, 0.0f };
  g_autofree char *model_path = g_build_filename (MODELS_DIR, "nanodet.json", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (QrDetector) detector = NULL;
  g_autofree float *input = NULL;
  QrDetectorOptions options;
  TestRowsSpec specs[3];
  const char *scores[3] = { NULL, NULL, NULL }, *boxes[3] = { NULL, NULL, NULL };
  int cells[3] = { 0, 0, 0 }, w, h, n_levels = 0;
  QrModel *model;
  gsize per_image;

  if (!have_models ())
    {
      g_test_skip ("the pretrained models are not beside the source tree (../shared/models/pretrained)");
      return;
    }
  qr_detector_options_init (&options);
  options.device = test_device ();
  options.precision = QR_PRECISION_FP32;
  detector = qr_detector_load (model_path, &options, &error);
  g_assert_no_error (error);
  model = qr_detector_get_model (detector);
  qr_detector_get_input_dims (detector, &w, &h);
  per_image = (gsize) w * (gsize) h * 3;
  input = g_new (float, per_image * 3);
  for (int i = 0; i < 3; i++)
    {
      g_autofree char *path = g_build_filename (QUORUM_SOURCE_DIR, "..", "shared", "images", photos[i], NULL);
      g_autoptr (QrImage) image = qr_image_load (path, NULL, 0, &error);
      g_assert_no_error (error);
      qr_detector_preprocess (detector, image, input + per_image * (gsize) i);
    }
  /* the levels: a [1, cells, 80] class map and a [1, cells, 44] box output of as many cells */
  for (guint i = 0; qr_model_get_output_name (model, i) != NULL; i++)
    {
      const char *name = qr_model_get_output_name (model, i);
      int rank, dims[4];
      g_assert_true (qr_model_get_output_shape (model, name, &rank, dims));
      if (rank == 3 && dims[2] == 80)
        {
          scores[n_levels] = name;
          cells[n_levels++] = dims[1];
        }
    }
  g_assert_cmpint (n_levels, ==, 3);
  for (guint i = 0; qr_model_get_output_name (model, i) != NULL; i++)
    {
      const char *name = qr_model_get_output_name (model, i);
      int rank, dims[4];
      g_assert_true (qr_model_get_output_shape (model, name, &rank, dims));
      for (int l = 0; l < 3; l++)
        if (rank == 3 && dims[2] == 44 && dims[1] == cells[l])
          boxes[l] = name;
    }
  for (guint t = 0; t < G_N_ELEMENTS (thresholds); t++)
    {
      gsize kept;
      for (int l = 0; l < 3; l++)
        specs[l] = (TestRowsSpec) { scores[l], 80, 0, 80, boxes[l], thresholds[t] };
      kept = test_check_rows (model, input, 3, specs, 3);
      g_test_message ("threshold %.2f: %" G_GSIZE_FORMAT " cells kept in 3 photos", thresholds[t], kept);
      g_assert_cmpuint (kept, >=, t == 0 ? 10 : t == 1 ? 100 : (gsize) 3 * (cells[0] + cells[1] + cells[2]));
    }
  /* one channel of a few: the boxes' first bin of the first side (a logit) */
  {
    gsize counts[3];
    for (int k = 0; k < 3; k++)
      {
        specs[0] = (TestRowsSpec) { boxes[0], 44, 0, 1, NULL, -4.0f + 4.0f * (float) k };
        counts[k] = test_check_rows (model, input, 3, specs, 1);
        g_test_message ("first bin >= %.0f: %" G_GSIZE_FORMAT " cells", specs[0].threshold, counts[k]);
      }
    g_assert_cmpuint (counts[0], >=, counts[1]);
    g_assert_cmpuint (counts[1], >, 0);
    g_assert_cmpuint (counts[2], ==, 0);
  }

  g_assert_false (qr_model_select_rows (model, 0, scores[0], 7, 0, 7, NULL, 0.5f, &error));   /* 80 is no multiple of 7 */
  g_assert_error (error, QR_ENGINE_ERROR, QR_ENGINE_ERROR_SHAPE);
  g_assert_nonnull (strstr (error->message, scores[0]));
  g_clear_error (&error);
  g_assert_false (qr_model_select_rows (model, 0, scores[0], 80, 70, 11, NULL, 0.5f, &error));
  g_assert_error (error, QR_ENGINE_ERROR, QR_ENGINE_ERROR_SHAPE);
  g_clear_error (&error);
  {
    /* the finest level's cells with the coarsest level's boxes: not a row each */
    int fine = 0, coarse = 0;
    for (int l = 1; l < 3; l++)
      {
        fine = cells[l] > cells[fine] ? l : fine;
        coarse = cells[l] < cells[coarse] ? l : coarse;
      }
    g_assert_false (qr_model_select_rows (model, 0, scores[fine], 80, 0, 80, boxes[coarse], 0.5f, &error));
    g_assert_error (error, QR_ENGINE_ERROR, QR_ENGINE_ERROR_SHAPE);
    g_assert_nonnull (strstr (error->message, boxes[coarse]));
  }
  g_clear_error (&error);
  g_assert_false (qr_model_select_rows (model, 0, "no/such", 80, 0, 80, NULL, 0.5f, &error));
  g_assert_error (error, QR_ENGINE_ERROR, QR_ENGINE_ERROR_SHAPE);
  g_clear_error (&error);
}

static void
test_centernet_dog (void)
{
  static const struct { const char *name; QrDetection box; } expected[] = {
    { "dog", { 16, 0, 126, 211, 310, 537 } },
    { "bicycle", { 1, 0, 116, 135, 563, 474 } },
    { "truck", { 7, 0, 469, 78, 681, 165 } },
  };
  g_autofree char *model_path = g_build_filename (MODELS_DIR, "centernet.json", NULL);
  g_autofree char *image_path = g_build_filename (QUORUM_DEMO_DIR, "darknet-dog.jpg", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (QrDetector) detector = NULL;
  g_autoptr (QrImage) image = NULL;
  g_autoptr (GArray) found = NULL;
  QrDetectorOptions options;

  if (!have_models ())
    {
      g_test_skip ("the pretrained models are not beside the source tree (../shared/models/pretrained)");
      return;
    }
  qr_detector_options_init (&options);
  options.score_threshold = 0.25f;
  detector = qr_detector_load (model_path, &options, &error);
  g_assert_no_error (error);
  image = qr_image_load (image_path, NULL, 0, &error);
  found = qr_detector_detect (detector, image, NULL, NULL, &error);
  g_assert_no_error (error);
  for (guint e = 0; e < G_N_ELEMENTS (expected); e++)
    {
      float best = 0;
      for (guint i = 0; i < found->len; i++)
        {
          QrDetection *d = &g_array_index (found, QrDetection, i);
          if (g_str_equal (qr_detector_get_class_name (detector, d->class_id), expected[e].name))
            best = MAX (best, qr_box_iou (d, &expected[e].box));
        }
      g_test_message ("%s: best IoU %.3f", expected[e].name, best);
      g_assert_cmpfloat (best, >=, 0.9);
    }
}

/* Two photos in one batch (and mirrored, the flip peer's way) give what one at a time gives. */
static void
test_detect_batch (gconstpointer data)
{
  g_autofree char *model_path = g_build_filename (MODELS_DIR, (const char *) data, NULL);
  const char *names[] = { "darknet-dog.jpg", "darknet-person.jpg", "darknet-dog.jpg" };
  g_autoptr (GError) error = NULL;
  QrImage *images[3] = { NULL, NULL, NULL };

  if (!have_models ())
    {
      g_test_skip ("the pretrained models are not beside the source tree (../shared/models/pretrained)");
      return;
    }
  for (int i = 0; i < 3; i++)
    {
      g_autofree char *path = g_build_filename (QUORUM_DEMO_DIR, names[i], NULL);
      images[i] = qr_image_load (path, NULL, 0, &error);
      g_assert_no_error (error);
    }
  for (int flip = 0; flip < 2; flip++)
    {
      g_autoptr (QrDetector) detector = NULL;
      g_autoptr (GPtrArray) batch = NULL;
      QrDetectorOptions options;

      qr_detector_options_init (&options);
      options.score_threshold = 0.2f;
      options.flip = flip;
      detector = qr_detector_load (model_path, &options, &error);
      g_assert_no_error (error);
      batch = qr_detector_detect_batch (detector, (const QrImage *const *) images, 3, NULL, NULL, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (batch->len, ==, 3);
      for (int i = 0; i < 3; i++)
        {
          g_autoptr (GArray) single = qr_detector_detect (detector, images[i], NULL, NULL, &error);
          GArray *together = g_ptr_array_index (batch, i);
          g_assert_no_error (error);
          g_assert_cmpuint (single->len, >, 0);
          g_assert_cmpuint (together->len, ==, single->len);
          for (guint k = 0; k < single->len; k++)
            {
              QrDetection *a = &g_array_index (single, QrDetection, k), *b = &g_array_index (together, QrDetection, k);
              g_assert_cmpint (a->class_id, ==, b->class_id);
              g_assert_cmpfloat (fabsf (a->score - b->score), <, 1e-4f);
              g_assert_cmpfloat (qr_box_iou (a, b), >, 0.999f);
            }
        }
    }
  for (int i = 0; i < 3; i++)
    qr_image_free (images[i]);
}

/* The exported network (for the PyTorch peer): every node in order with its op, the outputs named,
 * and each constant's bytes in the blob at its offset. */
static void
test_export (void)
{
  g_autofree char *model_path = g_build_filename (MODELS_DIR, "centernet.json", NULL);
  g_autofree char *tmp = NULL, *json = NULL, *bin = NULL, *blob = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (QrDetector) detector = NULL;
  g_autoptr (JsonParser) parser = json_parser_new ();
  JsonObject *root, *tensors;
  JsonArray *nodes;
  gsize blob_len = 0, expected = 0;
  guint n_conv = 0;
  QrModel *model;

  if (!have_models ())
    {
      g_test_skip ("the pretrained models are not beside the source tree (../shared/models/pretrained)");
      return;
    }
  tmp = test_make_tmpdir ();
  json = g_build_filename (tmp, "graph.json", NULL);
  bin = g_build_filename (tmp, "constants.bin", NULL);
  detector = qr_detector_load (model_path, NULL, &error);
  g_assert_no_error (error);
  model = qr_detector_get_model (detector);
  g_assert_true (qr_model_export (model, json, bin, &error));
  g_assert_no_error (error);
  g_assert_true (json_parser_load_from_file (parser, json, &error));
  g_assert_true (g_file_get_contents (bin, &blob, &blob_len, &error));
  root = json_node_get_object (json_parser_get_root (parser));
  nodes = json_object_get_array_member (root, "nodes");
  tensors = json_object_get_object_member (root, "tensors");
  g_assert_cmpuint (json_array_get_length (nodes), >, 50);
  for (guint i = 0; i < json_array_get_length (nodes); i++)
    {
      const char *op = json_object_get_string_member (json_array_get_object_element (nodes, i), "op");
      g_assert_cmpstr (op, !=, "unsupported");
      n_conv += g_str_equal (op, "conv2d");
    }
  g_assert_cmpuint (n_conv, >, 10);
  g_assert_cmpstr (json_array_get_string_element (json_object_get_array_member (root, "outputs"), 0), ==,
                   qr_model_get_output_name (model, 0));
  {
    g_autoptr (GList) names = json_object_get_members (tensors);
    for (GList *l = names; l != NULL; l = l->next)
      {
        JsonObject *t = json_object_get_object_member (tensors, l->data);
        JsonArray *shape = json_object_get_array_member (t, "shape");
        gsize n = 1;
        if (!json_object_has_member (t, "offset"))
          continue;
        for (guint d = 0; d < json_array_get_length (shape); d++)
          n *= (gsize) json_array_get_int_element (shape, d);
        g_assert_cmpint (json_object_get_int_member (t, "offset"), ==, (gint64) expected);
        expected += n * sizeof (float);
      }
  }
  g_assert_cmpuint (blob_len, ==, expected);
  /* the model still runs at the batch it was planned for */
  {
    g_autoptr (QrImage) image = test_gradient_image (320, 240, 3);
    g_autoptr (GArray) found = qr_detector_detect (detector, image, NULL, NULL, &error);
    g_assert_no_error (error);
  }
  test_remove_tree (tmp);
}

static void
test_bad_models (void)
{
  g_autofree char *tmp = test_make_tmpdir ();
  g_autofree char *json = g_build_filename (tmp, "model.json", NULL);
  g_autofree char *bin = g_build_filename (tmp, "model.bin", NULL);
  g_autoptr (GError) error = NULL;
  QrGraph *graph;
  const char *model =
    "{\"modelTopology\": {\"node\": ["
    "{\"name\": \"x\", \"op\": \"Placeholder\", \"attr\": {\"shape\": {\"shape\": {\"dim\": [{\"size\": \"1\"}, {\"size\": \"4\"}]}}}},"
    "{\"name\": \"w\", \"op\": \"Const\"},"
    "{\"name\": \"y\", \"op\": \"MatMul\", \"input\": [\"x\", \"w\"]},"
    "{\"name\": \"z\", \"op\": \"Erfinv\", \"input\": [\"y\"]}]},"
    "\"weightsManifest\": [{\"paths\": [\"model.bin\"], \"weights\": [{\"name\": \"w\", \"shape\": [4, 2], \"dtype\": \"float32\"}]}]}";
  const char *outputs_y[] = { "y", NULL }, *outputs_z[] = { "z", NULL };
  float w[8] = { 1, 0, 0, 1, 1, 0, 0, 1 };

  test_write_bytes (json, model, strlen (model));
  test_write_bytes (bin, w, sizeof w);
  graph = qr_graph_load_tfjs (json, outputs_y, &error);
  g_assert_no_error (error);
  qr_graph_free (graph);

  /* An op the engine lacks, where the output needs it. */
  graph = qr_graph_load_tfjs (json, outputs_z, &error);
  g_assert_null (graph);
  g_assert_error (error, QR_ENGINE_ERROR, QR_ENGINE_ERROR_UNSUPPORTED);
  g_assert_nonnull (strstr (error->message, "Erfinv"));
  g_clear_error (&error);

  /* Short and long weight files. */
  test_write_bytes (bin, w, sizeof w - 4);
  graph = qr_graph_load_tfjs (json, outputs_y, &error);
  g_assert_error (error, QR_ENGINE_ERROR, QR_ENGINE_ERROR_WEIGHTS);
  g_assert_nonnull (strstr (error->message, "too short"));
  g_clear_error (&error);
  test_write_bytes (bin, w, sizeof w);
  {
    g_autofree char *more = g_malloc0 (40);
    memcpy (more, w, sizeof w);
    test_write_bytes (bin, more, 40);
  }
  graph = qr_graph_load_tfjs (json, outputs_y, &error);
  g_assert_error (error, QR_ENGINE_ERROR, QR_ENGINE_ERROR_WEIGHTS);
  g_assert_nonnull (strstr (error->message, "too long"));
  g_clear_error (&error);

  /* Malformed JSON names the file. */
  test_write_bytes (json, "{\"modelTopology\": [", 19);
  graph = qr_graph_load_tfjs (json, outputs_y, &error);
  g_assert_null (graph);
  g_assert_error (error, QR_ENGINE_ERROR, QR_ENGINE_ERROR_FORMAT);
  g_assert_nonnull (strstr (error->message, json));
  test_remove_tree (tmp);
}

/* Hostile model files (issue: hardened against bad input): each refused with an error naming the
 * file and the place, none crashes. Built here, small. */
static void
expect_refused (const char *tmp, const char *topology, const char *manifest, const void *weights, gsize len,
                const char *output, const char *words)
{
  g_autofree char *json = g_build_filename (tmp, "model.json", NULL);
  g_autofree char *bin = g_build_filename (tmp, "model.bin", NULL);
  g_autofree char *text = g_strdup_printf ("{\"modelTopology\": {\"node\": [%s]}, \"weightsManifest\": [{\"paths\": "
                                           "[\"model.bin\"], \"weights\": [%s]}]}", topology, manifest);
  const char *outputs[] = { output, NULL };
  g_autoptr (GError) error = NULL;
  QrGraph *graph;

  test_write_bytes (json, text, strlen (text));
  test_write_bytes (bin, weights, len);
  graph = qr_graph_load_tfjs (json, outputs, &error);
  g_assert_null (graph);
  g_assert_nonnull (error);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, json));
  g_assert_nonnull (strstr (error->message, words));
}

#define X_2x2x1 "{\"name\": \"x\", \"op\": \"Placeholder\", \"attr\": {\"shape\": {\"shape\": {\"dim\": [{\"size\": \"1\"}, " \
                "{\"size\": \"4\"}, {\"size\": \"4\"}, {\"size\": \"1\"}]}}}}"

static void
test_hostile_models (void)
{
  g_autofree char *tmp = test_make_tmpdir ();
  float w[4] = { 1, 2, 3, 4 };
  float nan_w[4] = { 1, NAN, 3, 4 };
  float bn[1 + 4] = { 1, /* γ β mean var */ 1, 0, 0, -4 };
  float sparse[2 + 6 + 1 + 1] = { 0 };
  /* strides 0: a division by zero once */
  expect_refused (tmp,
                  X_2x2x1 ", {\"name\": \"w\", \"op\": \"Const\"}, {\"name\": \"c\", \"op\": \"Conv2D\", \"input\": [\"x\", \"w\"], "
                  "\"attr\": {\"strides\": {\"list\": {\"i\": [\"1\", \"0\", \"0\", \"1\"]}}, \"padding\": {\"s\": \"U0FNRQ==\"}}}",
                  "{\"name\": \"w\", \"shape\": [2, 2, 1, 1], \"dtype\": \"float32\"}", w, sizeof w, "c", "stride 0");
  /* a NaN weight is refused at load, naming it */
  expect_refused (tmp,
                  X_2x2x1 ", {\"name\": \"w\", \"op\": \"Const\"}, {\"name\": \"c\", \"op\": \"Conv2D\", \"input\": [\"x\", \"w\"], "
                  "\"attr\": {\"padding\": {\"s\": \"U0FNRQ==\"}}}",
                  "{\"name\": \"w\", \"shape\": [2, 2, 1, 1], \"dtype\": \"float32\"}", nan_w, sizeof nan_w, "c", "weight w holds NaN");
  /* a batch norm with a negative variance folds into NaN: refused */
  expect_refused (tmp,
                  X_2x2x1 ", {\"name\": \"w\", \"op\": \"Const\"}, {\"name\": \"g\", \"op\": \"Const\"}, {\"name\": \"b\", \"op\": \"Const\"},"
                  "{\"name\": \"m\", \"op\": \"Const\"}, {\"name\": \"v\", \"op\": \"Const\"},"
                  "{\"name\": \"c\", \"op\": \"Conv2D\", \"input\": [\"x\", \"w\"], \"attr\": {\"padding\": {\"s\": \"VkFMSUQ=\"}}},"
                  "{\"name\": \"y\", \"op\": \"FusedBatchNormV3\", \"input\": [\"c\", \"g\", \"b\", \"m\", \"v\"], \"attr\": {\"epsilon\": {\"f\": 0.001}}}",
                  "{\"name\": \"w\", \"shape\": [1, 1, 1, 1], \"dtype\": \"float32\"}, {\"name\": \"g\", \"shape\": [1], \"dtype\": \"float32\"},"
                  "{\"name\": \"b\", \"shape\": [1], \"dtype\": \"float32\"}, {\"name\": \"m\", \"shape\": [1], \"dtype\": \"float32\"},"
                  "{\"name\": \"v\", \"shape\": [1], \"dtype\": \"float32\"}", bn, sizeof bn, "y", "negative variance");
  /* a cycle: two nodes each other's input */
  expect_refused (tmp,
                  X_2x2x1 ", {\"name\": \"a\", \"op\": \"AddV2\", \"input\": [\"x\", \"b\"]}, {\"name\": \"b\", \"op\": \"AddV2\", \"input\": [\"a\", \"x\"]}",
                  "{\"name\": \"w\", \"shape\": [4], \"dtype\": \"float32\"}", w, sizeof w, "b", "cycle");
  /* SparseToDense (folded at load) with indices wider than its output: was a read out of bounds */
  sparse[0] = 3;   /* output shape [3] */
  expect_refused (tmp,
                  X_2x2x1 ", {\"name\": \"i\", \"op\": \"Const\"}, {\"name\": \"s\", \"op\": \"Const\"}, {\"name\": \"v\", \"op\": \"Const\"},"
                  "{\"name\": \"d\", \"op\": \"Const\"}, {\"name\": \"y\", \"op\": \"SparseToDense\", \"input\": [\"i\", \"s\", \"v\", \"d\"]},"
                  "{\"name\": \"z\", \"op\": \"AddV2\", \"input\": [\"x\", \"y\"]}",
                  "{\"name\": \"s\", \"shape\": [1], \"dtype\": \"float32\"}, {\"name\": \"i\", \"shape\": [1, 6], \"dtype\": \"float32\"},"
                  "{\"name\": \"v\", \"shape\": [1], \"dtype\": \"float32\"}, {\"name\": \"d\", \"shape\": [1], \"dtype\": \"float32\"},"
                  "{\"name\": \"pad\", \"shape\": [1], \"dtype\": \"float32\"}",
                  sparse, sizeof sparse, "z", "SparseToDense");
  /* an op given fewer inputs than it reads */
  expect_refused (tmp, X_2x2x1 ", {\"name\": \"c\", \"op\": \"Conv2D\", \"input\": [\"x\"]}",
                  "{\"name\": \"w\", \"shape\": [4], \"dtype\": \"float32\"}", w, sizeof w, "c", "1 inputs");
  test_remove_tree (tmp);
}

/* A TF.js file with a batch norm after a convolution and uint8-quantised weights: loads, folds
 * into one convolution, and computes what the formulas say. */
static void
test_batchnorm_and_uint8 (void)
{
  g_autofree char *tmp = test_make_tmpdir ();
  g_autofree char *json = g_build_filename (tmp, "model.json", NULL);
  g_autofree char *bin = g_build_filename (tmp, "model.bin", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (QrModel) model = NULL;
  const char *text =
    "{\"modelTopology\": {\"node\": ["
    "{\"name\": \"x\", \"op\": \"Placeholder\", \"attr\": {\"shape\": {\"shape\": {\"dim\": [{\"size\": \"1\"}, {\"size\": \"2\"}, {\"size\": \"2\"}, {\"size\": \"2\"}]}}}},"
    "{\"name\": \"w\", \"op\": \"Const\"}, {\"name\": \"g\", \"op\": \"Const\"}, {\"name\": \"b\", \"op\": \"Const\"},"
    "{\"name\": \"m\", \"op\": \"Const\"}, {\"name\": \"v\", \"op\": \"Const\"},"
    "{\"name\": \"c\", \"op\": \"Conv2D\", \"input\": [\"x\", \"w\"], \"attr\": {\"padding\": {\"s\": \"VkFMSUQ=\"}}},"
    "{\"name\": \"y\", \"op\": \"FusedBatchNormV3\", \"input\": [\"c\", \"g\", \"b\", \"m\", \"v\"], \"attr\": {\"epsilon\": {\"f\": 0.001}}}]},"
    "\"signature\": {\"outputs\": {\"y\": {\"name\": \"y\"}}},"
    "\"weightsManifest\": [{\"paths\": [\"model.bin\"], \"weights\": ["
    "{\"name\": \"w\", \"shape\": [1, 1, 2, 2], \"dtype\": \"float32\", \"quantization\": {\"dtype\": \"uint8\", \"scale\": 0.5, \"min\": -1.0}},"
    "{\"name\": \"g\", \"shape\": [2], \"dtype\": \"float32\"}, {\"name\": \"b\", \"shape\": [2], \"dtype\": \"float32\"},"
    "{\"name\": \"m\", \"shape\": [2], \"dtype\": \"float32\"}, {\"name\": \"v\", \"shape\": [2], \"dtype\": \"float32\"}]}]}";
  /* w: uint8 [2, 4, 0, 6] → q · 0.5 − 1 = [0, 1, −1, 2] (HWIO: w[c][o]) */
  guint8 weights[4 + 8 * 4] = { 2, 4, 0, 6 };
  float params[8] = { 2, 0.5f, /* γ */ 1, -1, /* β */ 0.25f, 0, /* mean */ 3.999f, 0.999f /* var */ };
  float x[8] = { 1, 2, 3, 4, -1, 0, 0.5f, 2 };
  const float *y;

  memcpy (weights + 4, params, sizeof params);
  test_write_bytes (json, text, strlen (text));
  test_write_bytes (bin, weights, sizeof weights);
  model = qr_model_load (json, &error);
  g_assert_no_error (error);
  g_assert_true (qr_model_run (model, x, 1, NULL, NULL, &error));
  y = qr_model_get_output (model, "y", NULL, NULL);
  g_assert_nonnull (y);
  for (int p = 0; p < 4; p++)
    {
      float c0 = x[p * 2] * 0 + x[p * 2 + 1] * -1, c1 = x[p * 2] * 1 + x[p * 2 + 1] * 2;
      float y0 = (c0 - 0.25f) / sqrtf (3.999f + 0.001f) * 2 + 1;
      float y1 = (c1 - 0) / sqrtf (0.999f + 0.001f) * 0.5f - 1;
      g_assert_cmpfloat (fabsf (y[p * 2] - y0), <, 1e-5);
      g_assert_cmpfloat (fabsf (y[p * 2 + 1] - y1), <, 1e-5);
    }
  test_remove_tree (tmp);
}

/* The caption model's image encoder: CenterNet cut at its backbone's last map. The map TF.js
 * computes from the same placed input, averaged over the cells the image covers, is our pooled
 * vector within 1e-3 of its magnitude; the map we return is TF.js's over those cells. */
static void
test_backbone_tfjs (void)
{
  const char *tensor = "tower_0/extern1/hard_swish/mul_1";
  g_autofree char *node = reference_runner ();
  g_autofree char *model_path = g_build_filename (MODELS_DIR, "centernet.json", NULL);
  g_autofree char *image_path = g_build_filename (QUORUM_DEMO_DIR, "darknet-horses.jpg", NULL);
  g_autofree char *tmp = NULL, *input_path = NULL, *out = NULL, *err = NULL;
  g_autofree char *script = g_build_filename (QUORUM_SOURCE_DIR, "tests", "reference", "tfjs-run.mjs", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (QrImage) image = NULL, fitted = NULL;
  g_autoptr (QrBackbone) backbone = NULL;
  g_autofree float *input = NULL, *pooled = NULL, *map = NULL, *theirs = NULL;
  int rows, cols, C, w, h, status;
  double cell, max_abs = 0, max_err = 0, map_err = 0;
  gsize n;

  if (!have_models () || node == NULL)
    {
      g_test_skip ("needs the pretrained models and the TF.js reference (npm install in tests/reference)");
      return;
    }
  tmp = test_make_tmpdir ();
  input_path = g_build_filename (tmp, "input.f32", NULL);
  image = qr_image_load (image_path, NULL, 0, &error);
  g_assert_no_error (error);
  backbone = qr_backbone_new ("centernet", model_path, QR_DEVICE_CPU, &error);
  g_assert_no_error (error);
  C = qr_backbone_get_channels (backbone);
  pooled = g_new (float, C);
  g_assert_true (qr_backbone_run (backbone, image, pooled, &map, &rows, &cols, &cell, NULL, NULL, &error));
  g_assert_no_error (error);
  g_test_message ("%d channels, %d × %d cells of %.1f pixels", C, rows, cols, cell);

  /* the same placement: longer side 512, top-left, zero border */
  w = image->width >= image->height ? 512 : (int) lround (image->width * 512.0 / image->height);
  h = image->height >= image->width ? 512 : (int) lround (image->height * 512.0 / image->width);
  fitted = qr_image_resize (image, w, h);
  input = g_new0 (float, 512 * 512 * 3);
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w * 3; x++)
      input[(gsize) y * 512 * 3 + x] = fitted->pixels[(gsize) y * w * 3 + x];
  test_write_bytes (input_path, input, 512 * 512 * 3 * sizeof (float));
  {
    const char *argv[] = { node, script, model_path, input_path, "1,512,512,3", tmp, "cpu", "0", tensor, NULL };
    g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, &err, &status, &error);
    g_assert_no_error (error);
    if (!g_spawn_check_wait_status (status, NULL))
      g_error ("tfjs-run.mjs failed: %s", err);
  }
  theirs = read_f32 (tmp, "tower_0_extern1_hard_swish_mul_1", &n);
  g_assert_cmpuint (n, ==, 16 * 16 * (gsize) C);
  for (int c = 0; c < C; c++)
    {
      double mean = 0;
      for (int r = 0; r < rows; r++)
        for (int k = 0; k < cols; k++)
          {
            double v = theirs[((gsize) r * 16 + k) * C + c];
            mean += v;
            map_err = MAX (map_err, fabs (v - map[((gsize) r * cols + k) * C + c]));
            max_abs = MAX (max_abs, fabs (v));
          }
      mean /= rows * cols;
      max_err = MAX (max_err, fabs (mean - pooled[c]));
    }
  g_test_message ("map: max |tfjs| %.4g, max |ours − tfjs| %.3g; pooled: max error %.3g", max_abs, map_err, max_err);
  g_assert_cmpfloat (map_err, <=, 1e-3 * max_abs);
  g_assert_cmpfloat (max_err, <=, 1e-3 * max_abs);
  test_remove_tree (tmp);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/models/tfjs/bad-model-files", test_bad_models);
  g_test_add_func ("/models/tfjs/hostile-model-files", test_hostile_models);
  g_test_add_func ("/models/tfjs/batchnorm-folds-uint8-weights", test_batchnorm_and_uint8);
  g_test_add_func ("/models/tfjs/centernet-matches-tfjs", test_centernet_tfjs);
  g_test_add_func ("/models/tfjs/nanodet-matches-tfjs", test_nanodet_tfjs);
  g_test_add_func ("/models/tfjs/backbone-matches-tfjs", test_backbone_tfjs);
  g_test_add_func ("/models/detect/centernet-finds-dog-bicycle-truck", test_centernet_dog);
  g_test_add_func ("/models/detect/centernet-peaks", test_centernet_peaks);
  g_test_add_func ("/models/detect/nanodet-rows", test_nanodet_rows);
  g_test_add_data_func ("/models/detect/batch-equals-one-at-a-time/centernet", "centernet.json", test_detect_batch);
  g_test_add_data_func ("/models/detect/batch-equals-one-at-a-time/nanodet", "nanodet.json", test_detect_batch);
  g_test_add_func ("/models/export/graph-and-constants", test_export);
  return g_test_run ();
}

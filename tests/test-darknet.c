/* test-darknet.c: the Darknet importer and the YOLO decoders.
 *
 * Each of the six official cfgs in ../shared/models/darknet gets seeded random weights (written
 * by qr_darknet_write_random_weights), runs on a real photo, and is compared with OpenCV's DNN
 * module (tests/reference/darknet-run.py, Debian's python3-opencv): the raw tensors feeding every
 * [yolo]/[region] layer within 1e-4 of their largest magnitude, and the detections after NMS (same
 * classes, scores within 1e-4, boxes IoU ≥ 0.999). Bad cfgs and weights files give errors that name
 * the file and the line or the byte counts. */
#include "qr-darknet.h"
#include "qr-detector.h"
#include "engine-private.h"
#include "test-util.h"

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

#define DARKNET_DIR QUORUM_SOURCE_DIR "/../shared/models/darknet"

static gboolean
have_opencv (void)
{
  return test_python_imports ("cv2, numpy");
}

/* Copies cfg into dir with the input set to w×h and thresh lowered: OpenCV zeroes [region]
 * scores under it. */
static char *
copy_cfg (const char *cfg_name, const char *dir, int w, int h)
{
  g_autofree char *src = g_build_filename (DARKNET_DIR, cfg_name, NULL);
  return test_copy_darknet_cfg (src, dir, w, h, "0.001");
}

static char *
weights_beside (const char *cfg)
{
  g_autofree char *stem = g_strndup (cfg, strlen (cfg) - 4);
  return g_strconcat (stem, ".weights", NULL);
}

typedef struct
{
  const char *cfg;
  int         w, h;
  float       thresh;
  float       nms;
} Case;

static void
test_matches_opencv (gconstpointer data)
{
  const Case *tc = data;
  g_autofree char *tmp = NULL, *cfg = NULL, *weights = NULL, *input_path = NULL, *json_path = NULL;
  g_autofree char *script = g_build_filename (QUORUM_SOURCE_DIR, "tests", "reference", "darknet-run.py", NULL);
  g_autofree char *photo = g_build_filename (QUORUM_DEMO_DIR, "darknet-dog.jpg", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (QrImage) image = NULL, fitted = NULL;
  g_autoptr (QrDetector) detector = NULL;
  g_autoptr (GArray) detections = NULL;
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autofree float *input = NULL;
  g_autofree char *out = NULL;
  g_autofree char *hs = g_strdup_printf ("%d", tc->h), *ws = g_strdup_printf ("%d", tc->w);
  g_autofree char *ts = g_strdup_printf ("%g", tc->thresh), *ns = g_strdup_printf ("%g", tc->nms);
  QrDetectorOptions options;
  QrDarknetInfo info = { 0 };
  JsonArray *expected;

  if (!g_file_test (DARKNET_DIR, G_FILE_TEST_IS_DIR))
    {
      g_test_skip ("the Darknet cfgs are not beside the source tree (../shared/models/darknet)");
      return;
    }
  if (!have_opencv ())
    {
      g_test_skip ("OpenCV for Python (Debian python3-opencv) is not installed");
      return;
    }
  tmp = test_make_tmpdir ();
  cfg = copy_cfg (tc->cfg, tmp, tc->w, tc->h);
  weights = weights_beside (cfg);
  g_assert_true (qr_darknet_write_random_weights (cfg, weights, g_str_hash (tc->cfg), &error));
  g_assert_no_error (error);

  qr_detector_options_init (&options);
  options.score_threshold = tc->thresh;
  options.nms_iou = tc->nms;
  options.max_detections = 100000;
  detector = qr_detector_load (cfg, &options, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (qr_detector_get_family (detector), ==, "yolo");
  g_assert_cmpint (qr_detector_get_n_classes (detector), ==, 80);
  g_assert_cmpstr (qr_detector_get_class_name (detector, 16), ==, "dog");
  /* COCO's names, not Darknet's spellings, whether or not coco.names is beside the cfg */
  g_assert_cmpstr (qr_detector_get_class_name (detector, 3), ==, "motorcycle");
  g_assert_cmpstr (qr_detector_get_class_name (detector, 62), ==, "tv");

  /* the photo at exactly the network's size, so the letterbox is the identity */
  image = qr_image_load (photo, NULL, 0, &error);
  g_assert_no_error (error);
  fitted = qr_image_resize (image, tc->w, tc->h);
  input = g_new (float, (gsize) tc->w * tc->h * 3);
  g_assert_cmpfloat (qr_detector_preprocess (detector, fitted, input), ==, 1.0f);
  input_path = g_build_filename (tmp, "input.f32", NULL);
  test_write_bytes (input_path, input, (gsize) tc->w * tc->h * 3 * sizeof (float));
  detections = qr_detector_detect (detector, fitted, NULL, NULL, &error);
  g_assert_no_error (error);

  {
    const char *args[] = { cfg, weights, input_path, hs, ws, tmp, ts, ns, NULL };
    out = test_python_run (script, args);
  }

  /* raw tensors */
  {
    g_autoptr (QrGraph) graph = qr_graph_load_darknet (cfg, weights, 0, 0, &info, &error);
    g_assert_no_error (error);
    for (int k = 0; k < info.n_heads; k++)
      {
        g_autofree char *ref_path = g_strdup_printf ("%s/raw_%d.f32", tmp, k);
        g_autofree char *ref = NULL;
        gsize len;
        int rank, dims[4];
        const float *ours = qr_model_get_output (qr_detector_get_model (detector), info.heads[k].output, &rank, dims);
        gsize n = (gsize) dims[1] * dims[2] * dims[3];
        double max_ref = 0, max_diff = 0;

        g_assert_true (g_file_get_contents (ref_path, &ref, &len, NULL));
        g_assert_cmpuint (len, ==, n * sizeof (float));
        for (gsize i = 0; i < n; i++)
          {
            double r = ((const float *) ref)[i];
            max_ref = fmax (max_ref, fabs (r));
            max_diff = fmax (max_diff, fabs (r - ours[i]));
          }
        g_test_message ("%s head %d (%s, %dx%dx%d): max |ref| %.4g, max diff %.3g (%.2g relative)", tc->cfg, k,
                        info.heads[k].output, dims[2], dims[1], dims[3], max_ref, max_diff, max_diff / max_ref);
        g_assert_cmpfloat (max_ref, >, 0);
        g_assert_cmpfloat (max_diff / max_ref, <=, 1e-4);
      }
    qr_darknet_info_clear (&info);
  }

  /* detections after NMS */
  json_path = g_build_filename (tmp, "detections.json", NULL);
  g_assert_true (json_parser_load_from_file (parser, json_path, &error));
  expected = json_node_get_array (json_parser_get_root (parser));
  g_test_message ("%s: %u detections over %.2f, OpenCV %u", tc->cfg, detections->len, tc->thresh,
                  json_array_get_length (expected));
  g_assert_cmpuint (json_array_get_length (expected), >, 0);
  g_assert_cmpuint (detections->len, ==, json_array_get_length (expected));
  for (guint i = 0; i < json_array_get_length (expected); i++)
    {
      JsonObject *e = json_array_get_object_element (expected, i);
      JsonArray *box = json_object_get_array_member (e, "box");
      QrDetection want = { (int) json_object_get_int_member (e, "class"), (float) json_object_get_double_member (e, "score"),
                           (float) json_array_get_double_element (box, 0), (float) json_array_get_double_element (box, 1),
                           (float) json_array_get_double_element (box, 2), (float) json_array_get_double_element (box, 3) };
      gboolean found = FALSE;
      for (guint j = 0; j < detections->len && !found; j++)
        {
          QrDetection *d = &g_array_index (detections, QrDetection, j);
          /* ours are clamped to the image, OpenCV's are not */
          QrDetection w = want;
          w.x1 = CLAMP (w.x1, 0, tc->w);
          w.x2 = CLAMP (w.x2, 0, tc->w);
          w.y1 = CLAMP (w.y1, 0, tc->h);
          w.y2 = CLAMP (w.y2, 0, tc->h);
          found = d->class_id == w.class_id && fabsf (d->score - w.score) <= 1e-4f && qr_box_iou (d, &w) >= 0.999f;
        }
      if (!found)
        g_error ("%s: OpenCV's detection %u (class %d, %.5f, %.1f %.1f %.1f %.1f) has no match", tc->cfg, i,
                 want.class_id, want.score, want.x1, want.y1, want.x2, want.y2);
    }
  test_remove_tree (tmp);
}

/* A cfg written out for the error tests. */
static char *
write_cfg (const char *dir, const char *text)
{
  char *path = g_build_filename (dir, "bad.cfg", NULL);
  g_assert_true (g_file_set_contents (path, text, -1, NULL));
  return path;
}

static const char *const tiny_cfg =
  "[net]\nwidth=32\nheight=32\nchannels=3\n\n"
  "[convolutional]\nbatch_normalize=1\nfilters=8\nsize=3\nstride=2\npad=1\nactivation=leaky\n\n"
  "[convolutional]\nfilters=255\nsize=1\nstride=1\npad=1\nactivation=linear\n\n"
  "[yolo]\nmask=0,1,2\nanchors=10,14, 23,27, 37,58\nclasses=80\nnum=3\n";

static void
test_bad_input (void)
{
  g_autofree char *tmp = test_make_tmpdir ();
  g_autofree char *weights = g_build_filename (tmp, "bad.weights", NULL);
  g_autoptr (GError) error = NULL;
  g_autofree char *cfg = NULL;
  g_autofree char *text = NULL;
  gsize len;
  QrGraph *graph;

  /* a good tiny network first: the weights' size is exact */
  cfg = write_cfg (tmp, tiny_cfg);
  g_assert_true (qr_darknet_write_random_weights (cfg, weights, 1, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_get_contents (weights, &text, &len, NULL));
  /* header 20 bytes; conv 1: 8 × 4 + 8·3·9; conv 2: 255 + 255·8, in floats */
  g_assert_cmpuint (len, ==, 20 + (8 * 4 + 8 * 3 * 9 + 255 + 255 * 8) * 4);
  graph = qr_graph_load_darknet (cfg, weights, 0, 0, NULL, &error);
  g_assert_no_error (error);
  qr_graph_free (graph);

  /* an old file (version 0.1) stores `seen` in 32 bits: the same weights 4 bytes earlier */
  {
    g_autofree char *old_path = g_build_filename (tmp, "old.weights", NULL);
    g_autofree guint8 *old = g_malloc (len - 4);
    gint32 version[3] = { 0, 1, 0 };
    memcpy (old, version, 12);
    memset (old + 12, 0, 4);
    memcpy (old + 16, text + 20, len - 20);
    test_write_bytes (old_path, old, len - 4);
    graph = qr_graph_load_darknet (cfg, old_path, 0, 0, NULL, &error);
    g_assert_no_error (error);
    qr_graph_free (graph);
  }

  /* poisoned weights: a NaN in a convolution's kernel, an infinite or negative batch norm variance;
     each refused at load, naming the layer, the part and the place */
  for (int k = 0; k < 3; k++)
    {
      g_autofree char *poisoned_path = g_build_filename (tmp, "poisoned.weights", NULL);
      g_autofree guint8 *poisoned = g_memdup2 (text, len);
      /* layout of conv 1: biases (8), scales (8), means (8), variances (8), then the kernel */
      gsize at = 20 + (gsize) (k == 0 ? 8 * 4 + 5 : 8 * 3 + 2) * 4;
      float bad = k == 0 ? NAN : k == 1 ? INFINITY : -0.5f;
      memcpy (poisoned + at, &bad, 4);
      test_write_bytes (poisoned_path, poisoned, len);
      graph = qr_graph_load_darknet (cfg, poisoned_path, 0, 0, NULL, &error);
      g_assert_null (graph);
      g_assert_nonnull (error);
      g_test_message ("%s", error->message);
      g_assert_nonnull (strstr (error->message, "layer 0 ("));
      g_assert_nonnull (strstr (error->message, k == 0   ? "its weights hold nan at 5"
                                                : k == 1 ? "its rolling variances hold inf at 2"
                                                         : "its rolling variances hold -0.5 at 2 (a variance is never negative)"));
      g_assert_nonnull (strstr (error->message, "poisoned.weights"));
      g_clear_error (&error);
    }

  /* truncated weights: both byte counts */
  test_truncate_file (weights, len - 6);
  graph = qr_graph_load_darknet (cfg, weights, 0, 0, NULL, &error);
  g_assert_null (graph);
  g_assert_error (error, QR_ENGINE_ERROR, QR_ENGINE_ERROR_WEIGHTS);
  g_test_message ("%s", error->message);
  {
    g_autofree char *needed = g_strdup_printf ("%" G_GSIZE_FORMAT, len);
    g_autofree char *has = g_strdup_printf ("%" G_GSIZE_FORMAT, len - 6);
    g_assert_nonnull (strstr (error->message, needed));
    g_assert_nonnull (strstr (error->message, has));
    g_assert_nonnull (strstr (error->message, "bad.weights"));
  }
  g_clear_error (&error);

  /* too long */
  {
    g_autofree char *longer = g_malloc0 (len + 8);
    memcpy (longer, text, len);
    test_write_bytes (weights, longer, len + 8);
    graph = qr_graph_load_darknet (cfg, weights, 0, 0, NULL, &error);
    g_assert_null (graph);
    g_assert_error (error, QR_ENGINE_ERROR, QR_ENGINE_ERROR_WEIGHTS);
    g_assert_nonnull (strstr (error->message, "too long"));
    g_clear_error (&error);
  }

  /* header only, then nothing */
  test_write_bytes (weights, text, 7);
  graph = qr_graph_load_darknet (cfg, weights, 0, 0, NULL, &error);
  g_assert_null (graph);
  g_assert_error (error, QR_ENGINE_ERROR, QR_ENGINE_ERROR_WEIGHTS);
  g_clear_error (&error);
  test_write_bytes (weights, text, len);

  /* cfg errors with their line */
  {
    static const struct { const char *edit_from, *edit_to, *needle; int code; } cases[] = {
      { "activation=leaky", "activation=sparkle", ":12: activation \"sparkle\"", QR_ENGINE_ERROR_UNSUPPORTED },
      { "stride=2", "stride=two", ":10: stride: \"two\" is not a whole number", QR_ENGINE_ERROR_FORMAT },
      { "pad=1\nactivation=leaky", "pad=1\nactivation=leaky\nwobble=3", ":13: unknown option \"wobble\"", QR_ENGINE_ERROR_FORMAT },
      { "[yolo]", "[yolo9000]", ":21: unknown section [yolo9000]", QR_ENGINE_ERROR_FORMAT },
      { "classes=80", "classes=20", "255 channels", QR_ENGINE_ERROR_SHAPE },
      { "mask=0,1,2", "mask=0,1,7", "mask: anchor 7 of 3", QR_ENGINE_ERROR_FORMAT },
      { "[convolutional]\nfilters=255", "[route]\nlayers=-5\n\n[convolutional]\nfilters=255", "layer -5 does not come before", QR_ENGINE_ERROR_FORMAT },
      { "width=32", "width=32\n[", "section header", QR_ENGINE_ERROR_FORMAT },
      { "filters=8", "filters=8\ndilation=2", "dilation=2 is not supported", QR_ENGINE_ERROR_UNSUPPORTED },
    };
    for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
      {
        GString *edited = g_string_new (tiny_cfg);
        g_autofree char *path = NULL;
        g_string_replace (edited, cases[i].edit_from, cases[i].edit_to, 1);
        g_free (cfg);
        cfg = write_cfg (tmp, edited->str);
        g_string_free (edited, TRUE);
        graph = qr_graph_load_darknet (cfg, weights, 0, 0, NULL, &error);
        g_assert_null (graph);
        g_test_message ("%s", error->message);
        if (strstr (error->message, cases[i].needle) == NULL || !g_str_has_prefix (error->message, cfg))
          g_error ("case %u: \"%s\" does not say \"%s\"", i, error->message, cases[i].needle);
        g_assert_error (error, QR_ENGINE_ERROR, cases[i].code);
        g_clear_error (&error);
        (void) path;
      }
  }
  /* a damaged number asks for no gigabytes: the weights file is checked first */
  {
    GString *edited = g_string_new (tiny_cfg);
    g_string_replace (edited, "filters=8", "filters=900000", 1);
    g_free (cfg);
    cfg = write_cfg (tmp, edited->str);
    g_string_free (edited, TRUE);
    graph = qr_graph_load_darknet (cfg, weights, 0, 0, NULL, &error);
    g_assert_null (graph);
    g_assert_error (error, QR_ENGINE_ERROR, QR_ENGINE_ERROR_WEIGHTS);
    g_assert_nonnull (strstr (error->message, "needs at least"));
    g_assert_nonnull (strstr (error->message, "bad.cfg:6"));
    g_clear_error (&error);
  }
  test_remove_tree (tmp);
}

/* Damaged cfgs: four of the official cfgs cut at random places and with random bytes
 * overwritten, against a weights file made for the intact cfg; each load is an error naming the
 * cfg or the weights, or a graph — never a crash (this also runs under ASan). */
static void
test_damaged_cfgs (void)
{
  static const char *const names[] = { "yolov2-tiny.cfg", "yolov3-tiny.cfg", "yolov4-tiny.cfg", "yolov7-tiny.cfg" };
  g_autofree char *tmp = NULL;
  g_autoptr (GRand) rand = g_rand_new_with_seed (3);
  int refused = 0, loaded = 0;

  if (!g_file_test (DARKNET_DIR, G_FILE_TEST_IS_DIR))
    {
      g_test_skip ("the Darknet cfgs are not beside the source tree (../shared/models/darknet)");
      return;
    }
  tmp = test_make_tmpdir ();
  for (guint m = 0; m < G_N_ELEMENTS (names); m++)
    {
      g_autofree char *cfg = copy_cfg (names[m], tmp, 64, 64);
      g_autofree char *weights = weights_beside (cfg);
      g_autofree char *text = NULL;
      g_autoptr (GError) error = NULL;
      gsize len;
      g_assert_true (qr_darknet_write_random_weights (cfg, weights, 1, &error));
      g_assert_true (g_file_get_contents (cfg, &text, &len, NULL));
      for (int trial = 0; trial < 12; trial++)
        {
          g_autofree char *copy = g_memdup2 (text, len);
          g_autofree char *damaged = g_build_filename (tmp, "damaged.cfg", NULL);
          gsize n = len;
          QrGraph *graph;
          if (trial < 6)
            n = (gsize) g_rand_int_range (rand, 0, (gint32) len);
          else
            for (int k = 0; k < 4; k++)
              copy[g_rand_int_range (rand, 0, (gint32) len)] = (char) g_rand_int_range (rand, 1, 256);
          test_write_bytes (damaged, copy, n);
          graph = qr_graph_load_darknet (damaged, weights, 0, 0, NULL, &error);
          if (graph == NULL)
            {
              g_assert_nonnull (error);
              g_assert_true (strstr (error->message, "damaged.cfg") != NULL || strstr (error->message, ".weights") != NULL);
              refused++;
            }
          else
            loaded++;
          qr_graph_free (graph);
          g_clear_error (&error);
        }
    }
  g_test_message ("damaged cfgs: %d refused with an error, %d still loaded", refused, loaded);
  g_assert_cmpint (refused, >, 0);
  test_remove_tree (tmp);
}

/* Darknet's letterbox and box mapping on a wide image: the box that covers the whole image in
 * network pixels maps back to the whole image. */
static void
test_letterbox (void)
{
  g_autofree char *tmp = test_make_tmpdir ();
  g_autofree char *cfg = write_cfg (tmp, tiny_cfg);
  g_autofree char *weights = g_build_filename (tmp, "bad.weights", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (QrDetector) detector = NULL;
  g_autoptr (QrImage) image = test_gradient_image (64, 32, 3);
  float input[32 * 32 * 3];
  float scale;

  g_assert_true (qr_darknet_write_random_weights (cfg, weights, 2, &error));
  {
    /* Darknet's coco.names beside the cfg: its spellings become COCO's through the class map */
    g_autofree char *names_src = g_build_filename (DARKNET_DIR, "coco.names", NULL);
    g_autofree char *names_dst = g_build_filename (tmp, "coco.names", NULL);
    g_autofree char *text = NULL;
    gsize len;
    if (g_file_get_contents (names_src, &text, &len, NULL))
      {
        test_write_bytes (names_dst, text, len);
        detector = qr_detector_load (weights, NULL, &error);
        g_assert_no_error (error);
        g_assert_cmpstr (qr_detector_get_class_name (detector, 3), ==, "motorcycle");
        g_assert_cmpstr (qr_detector_get_class_name (detector, 58), ==, "potted plant");
        g_assert_cmpstr (qr_detector_get_class_name (detector, 0), ==, "person");
        g_clear_pointer (&detector, qr_detector_free);
      }
  }
  detector = qr_detector_load (weights, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (qr_detector_get_name (detector), ==, "bad");
  scale = qr_detector_preprocess (detector, image, input);
  g_assert_cmpfloat_with_epsilon (scale, 0.5, 1e-6);
  /* 64×32 → 32×16 centred: rows 0..7 and 24..31 are the 0.5 border */
  g_assert_cmpfloat (input[(0 * 32 + 5) * 3], ==, 0.5f);
  g_assert_cmpfloat (input[(31 * 32 + 5) * 3], ==, 0.5f);
  g_assert_cmpfloat (input[(8 * 32 + 0) * 3 + 0], !=, 0.5f);
  g_assert_cmpfloat (input[(8 * 32 + 0) * 3 + 0], <, 0.1f);  /* red ramps from 0 at the left */
  g_assert_cmpfloat (input[(8 * 32 + 31) * 3 + 0], >, 0.9f);
  test_remove_tree (tmp);
}

static float
sigmoidf (float x)
{
  return 1.0f / (1.0f + expf (-x));
}

/* The heatmap (made only when asked for) is the finest head's objectness × class score, max over
 * its anchors, over the grid cells on the image: worked out here from the raw output; after a
 * batch it is the first image's. */
static void
test_heatmap (void)
{
  g_autofree char *tmp = test_make_tmpdir ();
  g_autofree char *cfg = write_cfg (tmp, tiny_cfg);
  g_autofree char *weights = g_build_filename (tmp, "bad.weights", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (QrDetector) detector = NULL;
  g_autoptr (QrImage) image = test_gradient_image (64, 32, 3), other = test_gradient_image (40, 40, 5);
  g_autoptr (GArray) found = NULL;
  g_autoptr (GPtrArray) batch = NULL;
  g_autofree float *expected = NULL;
  const QrImage *both[2];
  const float *heat, *raw;
  int rows, cols, classes, rank, dims[4];
  float to_cell;
  QrModel *model;

  g_assert_true (qr_darknet_write_random_weights (cfg, weights, 7, &error));
  detector = qr_detector_load (weights, NULL, &error);
  g_assert_no_error (error);
  found = qr_detector_detect (detector, image, NULL, NULL, &error);
  g_assert_no_error (error);
  model = qr_detector_get_model (detector);
  raw = qr_model_get_output (model, qr_model_get_output_name (model, 0), &rank, dims);
  g_assert_cmpint (dims[1], ==, 16);
  g_assert_cmpint (dims[3], ==, 255);
  /* 64×32 → 32×16 letterboxed with 8 rows above and below: grid rows 4..11 are the image's */
  expected = g_new0 (float, 8 * 16 * 80);
  for (int r = 0; r < 8; r++)
    for (int c = 0; c < 16; c++)
      for (int a = 0; a < 3; a++)
        {
          const float *t = raw + ((gsize) (r + 4) * 16 + (gsize) c) * 255 + (gsize) a * 85;
          for (int k = 0; k < 80; k++)
            {
              float *e = &expected[((gsize) r * 16 + (gsize) c) * 80 + (gsize) k];
              *e = fmaxf (*e, sigmoidf (t[4]) * sigmoidf (t[5 + k]));
            }
        }
  heat = qr_detector_get_heatmap (detector, &rows, &cols, &classes, &to_cell);
  g_assert_nonnull (heat);
  g_assert_cmpint (rows, ==, 8);
  g_assert_cmpint (cols, ==, 16);
  g_assert_cmpint (classes, ==, 80);
  g_assert_cmpfloat_with_epsilon (to_cell, 0.25, 1e-6);   /* 64 image pixels → 16 cells */
  for (int i = 0; i < 8 * 16 * 80; i++)
    g_assert_cmpfloat_with_epsilon (heat[i], expected[i], 1e-6);

  both[0] = image;
  both[1] = other;
  batch = qr_detector_detect_batch (detector, both, 2, NULL, NULL, &error);
  g_assert_no_error (error);
  heat = qr_detector_get_heatmap (detector, &rows, &cols, &classes, &to_cell);
  g_assert_cmpint (rows, ==, 8);
  for (int i = 0; i < 8 * 16 * 80; i++)
    g_assert_cmpfloat_with_epsilon (heat[i], expected[i], 1e-6);
  test_remove_tree (tmp);
}

/* DIoU NMS against numbers worked by hand. */
static void
test_diou_nms (void)
{
  g_autoptr (GArray) dets = g_array_new (FALSE, FALSE, sizeof (QrDetection));
  /* two 10×10 boxes offset by 4 px: IoU = 60/140 = 0.4286; enclosing 14×10, c = 296, d² = 16,
     (d²/c)^0.6 = 0.1734 → DIoU 0.2552 */
  QrDetection a = { 0, 0.9f, 0, 0, 10, 10 }, b = { 0, 0.8f, 4, 0, 14, 10 }, c = { 1, 0.7f, 4, 0, 14, 10 };
  g_array_append_val (dets, a);
  g_array_append_val (dets, b);
  g_array_append_val (dets, c);
  qr_detections_nms_diou (dets, 0.25f, 0.6f);
  g_assert_cmpuint (dets->len, ==, 2);   /* b goes (0.2552 > 0.25); c is another class */
  g_array_set_size (dets, 0);
  g_array_append_val (dets, a);
  g_array_append_val (dets, b);
  qr_detections_nms_diou (dets, 0.26f, 0.6f);
  g_assert_cmpuint (dets->len, ==, 2);   /* kept under DIoU, where plain IoU 0.43 would drop it */
  g_array_set_size (dets, 0);
  g_array_append_val (dets, a);
  g_array_append_val (dets, b);
  qr_detections_nms (dets, 0.26f);
  g_assert_cmpuint (dets->len, ==, 1);
}

int
main (int argc, char **argv)
{
  static const Case cases[] = {
    /* OpenCV's [region] applies its own NMS at 0.4 to what it outputs: compare at that */
    { "yolov2-tiny.cfg", 160, 160, 0.02f, 0.4f },
    { "yolov3-tiny.cfg", 160, 160, 0.45f, 0.45f },
    { "yolov3.cfg", 128, 128, 0.55f, 0.45f },
    { "yolov4-tiny.cfg", 160, 128, 0.55f, 0.45f },
    { "yolov4.cfg", 128, 128, 0.55f, 0.45f },
    { "yolov7-tiny.cfg", 160, 160, 0.55f, 0.45f },
  };

  g_test_init (&argc, &argv, NULL);
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *name = g_strdup_printf ("/darknet/opencv/%s", cases[i].cfg);
      g_test_add_data_func (name, &cases[i], test_matches_opencv);
    }
  g_test_add_func ("/darknet/bad-input", test_bad_input);
  g_test_add_func ("/darknet/letterbox", test_letterbox);
  g_test_add_func ("/darknet/damaged-cfgs", test_damaged_cfgs);
  g_test_add_func ("/darknet/diou-nms", test_diou_nms);
  g_test_add_func ("/darknet/heatmap", test_heatmap);
  return g_test_run ();
}

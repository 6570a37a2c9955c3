/* test-onnx.c: the ONNX importer against ONNX's own conformance cases (Debian's
 * libonnx-testdata: for each case a one-op model, its inputs and the outputs ONNX's reference
 * computed). Every case is imported and run on the CPU with its first input as the graph's input
 * and the others bound as constants. A case whose op Quorum reads either matches the expected
 * outputs (within ONNX's own tolerance: relative 1e-3, absolute 1e-7) or is refused with an error
 * naming what is not supported — a wrong answer fails the test. The counts per op are printed (and
 * written to $QUORUM_ONNX_REPORT when set). Damaged models give errors naming the byte. */
#include "qr-onnx.h"
#include "qr-detector.h"
#include "detector-private.h"
#include "engine-private.h"
#include "test-util.h"

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>
#include <unistd.h>

#define TESTDATA_DIR "/usr/share/libonnx-testdata/data/node"

typedef enum { CASE_PASSED, CASE_REFUSED, CASE_WRONG } CaseResult;

typedef struct
{
  char      *op;
  guint      passed, refused, wrong;
  GPtrArray *refusals;   /* "case: message" */
} OpCount;

static void
op_count_free (OpCount *c)
{
  g_free (c->op);
  g_ptr_array_unref (c->refusals);
  g_free (c);
}

/* Runs one case; *message says why when it is not a pass. */
/* QUORUM_DEVICE=cuda (with QUORUM_ONNX_GPU=1) runs the cases on the GPU, as the engine's op tests
 * are run there; how many did is counted, since a graph the CUDA backend cannot plan runs on the
 * CPU instead. */
static guint cases_on_cuda;

static CaseResult
run_case (const char *dir, char **message)
{
  g_autofree char *model_path = g_build_filename (dir, "model.onnx", NULL);
  g_autofree char *data_dir = g_build_filename (dir, "test_data_set_0", NULL);
  g_autoptr (GPtrArray) inputs = g_ptr_array_new_with_free_func ((GDestroyNotify) qr_onnx_tensor_free);
  g_autoptr (GPtrArray) outputs = g_ptr_array_new_with_free_func ((GDestroyNotify) qr_onnx_tensor_free);
  g_autoptr (GError) error = NULL;
  g_autoptr (QrGraph) graph = NULL;
  g_autoptr (QrModel) model = NULL;
  QrOnnxOptions options = { 0 };
  int live_index = -1;

  for (int k = 0;; k++)
    {
      g_autofree char *name = g_strdup_printf ("%s/input_%d.pb", data_dir, k);
      QrOnnxTensor *t;
      if (!g_file_test (name, G_FILE_TEST_EXISTS))
        break;
      t = qr_onnx_tensor_load (name, &error);
      if (t == NULL)
        {
          *message = g_strdup_printf ("input %d: %s", k, error->message);
          return CASE_REFUSED;
        }
      g_ptr_array_add (inputs, t);
    }
  for (int k = 0;; k++)
    {
      g_autofree char *name = g_strdup_printf ("%s/output_%d.pb", data_dir, k);
      QrOnnxTensor *t;
      if (!g_file_test (name, G_FILE_TEST_EXISTS))
        break;
      t = qr_onnx_tensor_load (name, &error);
      if (t == NULL)
        {
          *message = g_strdup_printf ("output %d: %s", k, error->message);
          return CASE_REFUSED;
        }
      g_ptr_array_add (outputs, t);
    }
  if (inputs->len == 0 || outputs->len == 0)
    {
      *message = g_strdup ("no inputs or no outputs");
      return CASE_REFUSED;
    }
  /* the first input with float values runs through the model (else the first of int32 or int64:
     token ids, positions); the rest are bound. With none, every input is bound and the outputs
     are the constants the import folds. */
  for (int pass = 0; pass < 2 && live_index < 0; pass++)
    for (guint k = 0; k < inputs->len; k++)
      {
        QrOnnxTensor *t = inputs->pdata[k];
        gboolean type_ok = pass == 0 ? (t->data_type == 1 || t->data_type == 10 || t->data_type == 11)
                                     : (t->data_type == 6 || t->data_type == 7);
        if (live_index < 0 && t->n > 0 && t->rank >= 1 && t->rank <= QR_MAX_RANK && type_ok)
          live_index = (int) k;
      }
  options.constants_only = live_index < 0;
  {
    g_autoptr (GPtrArray) bound = g_ptr_array_new ();
    for (guint k = 0; k < inputs->len; k++)
      if ((int) k != live_index)
        g_ptr_array_add (bound, inputs->pdata[k]);
    options.n_bound = bound->len;
    options.bound = (QrOnnxTensor *const *) bound->pdata;
    graph = qr_graph_load_onnx (model_path, &options, &error);
  }
  if (graph == NULL)
    {
      *message = g_strdup (error->message);
      return CASE_REFUSED;
    }
  if (live_index >= 0)
    {
      QrOnnxTensor *live = inputs->pdata[live_index];
      model = qr_model_new (g_steal_pointer (&graph), test_device (), QR_PRECISION_FP32, 1, &error);
      if (model != NULL && g_str_has_prefix (qr_model_get_device (model), "cuda"))
        cases_on_cuda++;
      if (model == NULL || !qr_model_run (model, live->data, live->dims[0], NULL, NULL, &error))
        {
          *message = g_strdup (error->message);
          return CASE_REFUSED;
        }
    }
  for (guint k = 0; k < outputs->len; k++)
    {
      QrOnnxTensor *want = outputs->pdata[k];
      int rank = 0, dims[QR_MAX_RANK] = { 0 };
      const float *got = NULL;
      gsize n = 1;
      if (model != NULL)
        got = qr_model_get_output (model, want->name, &rank, dims);
      else
        {
          /* folded: the output is a constant of the graph */
          int id = qr_graph_find_tensor (graph, want->name);
          QrTensor *t = id >= 0 ? qr_graph_tensor (graph, id) : NULL;
          if (t != NULL && t->is_const && t->data != NULL)
            {
              got = t->data;
              rank = t->shape.rank;
              memcpy (dims, t->shape.dims, sizeof dims);
            }
        }
      if (got == NULL)
        {
          *message = g_strdup_printf ("output %s is missing", want->name);
          return CASE_WRONG;
        }
      for (int d = 0; d < rank; d++)
        n *= (gsize) dims[d];
      if (rank != want->rank || memcmp (dims, want->dims, sizeof (int) * (gsize) rank) != 0 || n != want->n)
        {
          *message = g_strdup_printf ("output %s has rank %d, %" G_GSIZE_FORMAT " values; expected rank %d, %"
                                      G_GSIZE_FORMAT, want->name, rank, n, want->rank, want->n);
          return CASE_WRONG;
        }
      for (gsize i = 0; i < n; i++)
        {
          float a = got[i], b = want->data[i];
          gboolean same = (isnan (a) && isnan (b)) || (isinf (a) && isinf (b) && (a > 0) == (b > 0))
                          || fabsf (a - b) <= 1e-7f + 1e-3f * fabsf (b);
          if (!same)
            {
              *message = g_strdup_printf ("output %s[%" G_GSIZE_FORMAT "] = %.7g, expected %.7g", want->name, i, a, b);
              return CASE_WRONG;
            }
        }
    }
  return CASE_PASSED;
}

/* Cases that must pass: one or more of every op the importer reads, so that refusing everything
 * cannot pass the test. */
static const char *const MUST_PASS[] = {
  "test_abs", "test_add_bcast", "test_averagepool_2d_pads", "test_averagepool_2d_same_upper",
  "test_batchnorm_example", "test_clip_example", "test_concat_3d_axis_negative_1", "test_conv_with_strides_padding",
  "test_div_bcast", "test_erf", "test_exp", "test_flatten_axis2", "test_gemm_all_attributes",
  "test_globalaveragepool", "test_hardsigmoid", "test_hardswish", "test_leakyrelu", "test_log", "test_matmul_4d",
  "test_max_example", "test_maxpool_2d_same_lower", "test_min_example", "test_mul_bcast", "test_neg",
  "test_pow_bcast_array", "test_reciprocal", "test_reduce_mean_keepdims_example", "test_relu",
  "test_reshape_negative_extended_dims", "test_sigmoid", "test_slice_neg_steps", "test_softmax_axis_0",
  "test_split_variable_parts_2d", "test_sqrt", "test_squeeze", "test_sub_bcast", "test_sum_example", "test_tanh",
  "test_transpose_all_permutations_5", "test_unsqueeze_axis_0", "test_gather_1", "test_identity",
  "test_cast_FLOAT_to_FLOAT16", "test_shape", "test_dropout_default_mask",
  "test_layer_normalization_4d_axis_negative_1", "test_layer_normalization_3d_axis0_epsilon",
  "test_expand_dim_changed", "test_reduce_sum_keepdims_random", "test_reduce_max_keepdims_random",
  "test_reduce_min_keepdims_random", "test_resize_upsample_scales_nearest", "test_resize_upsample_scales_linear",
  "test_resize_upsample_scales_linear_align_corners", "test_resize_upsample_sizes_nearest",
  "test_argmax_negative_axis_keepdims_random_select_last_index", "test_argmin_no_keepdims_random",
  "test_where_example", "test_where_long_example", "test_equal_bcast", "test_and_bcast4v2d", "test_not_2d",
  "test_xor4d", "test_or_bcast3v1d", "test_range_int32_type_negative_delta", "test_cast_BFLOAT16_to_FLOAT",
  "test_convtranspose", "test_convtranspose_pads", "test_convtranspose_dilations", "test_convtranspose_output_shape",
  "test_convtranspose_autopad_same", "test_convtranspose_kernel_shape", "test_reduce_l1_keep_dims_random",
  "test_reduce_l2_do_not_keepdims_random", "test_reduce_sum_square_negative_axes_keepdims_random",
  "test_constant_pad", "test_resize_downsample_scales_nearest", "test_resize_upsample_sizes_nearest_ceil_half_pixel",
  "test_resize_upsample_sizes_nearest_floor_align_corners",
  "test_resize_upsample_sizes_nearest_round_prefer_ceil_asymmetric", "test_resize_upsample_scales_cubic",
  "test_resize_downsample_scales_cubic_A_n0p5_exclude_outside", "test_resize_downsample_scales_linear_align_corners",
  "test_resize_downsample_sizes_linear_pytorch_half_pixel", "test_resize_downsample_sizes_nearest_tf_half_pixel_for_nn",
  "test_edge_pad", "test_reflect_pad", "test_averagepool_2d_pads_count_include_pad",
  "test_greater", "test_less_bcast", "test_greater_equal", "test_less_equal_bcast", "test_greater_equal_expanded",
  "test_less_equal_bcast_expanded", "test_pow_types_int32_int32", "test_pow_types_int64_int64",
  "test_resize_tf_crop_and_resize",
};

#define SEVERAL "(several ops)"

static int
compare_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

static void
test_conformance (void)
{
  const char *root = g_getenv ("QUORUM_ONNX_TESTDATA") ? g_getenv ("QUORUM_ONNX_TESTDATA") : TESTDATA_DIR;
  g_autoptr (GDir) dir = g_dir_open (root, 0, NULL);
  g_autoptr (GHashTable) counts = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify) op_count_free);
  g_autoptr (GHashTable) results = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) wrong = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GString) report = g_string_new (NULL);
  const char *const *supported = qr_onnx_supported_ops ();
  const char *entry;
  guint total_passed = 0, total_refused = 0, other = 0, must_fail = 0;

  if (dir == NULL)
    {
      g_test_skip ("ONNX's conformance cases are not installed (Debian package libonnx-testdata)");
      return;
    }
  while ((entry = g_dir_read_name (dir)) != NULL)
    g_ptr_array_add (names, g_strdup (entry));
  g_ptr_array_sort (names, compare_names);
  for (guint i = 0; i < names->len; i++)
    {
      const char *name = names->pdata[i];
      g_autofree char *case_dir = g_build_filename (root, name, NULL);
      g_autofree char *model = g_build_filename (case_dir, "model.onnx", NULL);
      g_autofree char *message = NULL;
      g_auto (GStrv) ops = qr_onnx_model_ops (model, NULL);
      OpCount *count;
      CaseResult result;
      gboolean ours = FALSE;

      if (ops == NULL || ops[0] == NULL)
        {
          other++;
          continue;
        }
      /* a case of several ops (a function expanded: LayerNormalization as ReduceMean, Sub, Pow,
         Sqrt, Div …) is run when Quorum reads every one of them */
      ours = TRUE;
      for (guint j = 0; ops[j] != NULL; j++)
        {
          gboolean known = FALSE;
          for (guint k = 0; supported[k] != NULL; k++)
            known |= strcmp (supported[k], ops[j]) == 0;
          ours &= known;
        }
      if (!ours)
        {
          other++;
          continue;
        }
      if (ops[1] != NULL)
        {
          g_free (ops[0]);
          ops[0] = g_strdup (SEVERAL);
        }
      result = run_case (case_dir, &message);
      g_hash_table_insert (results, g_strdup (name), GINT_TO_POINTER (result + 1));
      count = g_hash_table_lookup (counts, ops[0]);
      if (count == NULL)
        {
          count = g_new0 (OpCount, 1);
          count->op = g_strdup (ops[0]);
          count->refusals = g_ptr_array_new_with_free_func (g_free);
          g_hash_table_insert (counts, count->op, count);
        }
      switch (result)
        {
        case CASE_PASSED: count->passed++; total_passed++; break;
        case CASE_REFUSED:
          count->refused++;
          total_refused++;
          g_ptr_array_add (count->refusals, g_strdup_printf ("%s: %s", name, message));
          break;
        case CASE_WRONG:
          count->wrong++;
          g_ptr_array_add (wrong, g_strdup_printf ("%s: %s", name, message));
          break;
        }
    }
  g_string_append_printf (report, "ONNX conformance cases (%s), one op each, of the ops Quorum reads:\n", root);
  for (guint k = 0; supported[k] != NULL || k == g_strv_length ((char **) supported); k++)
    {
      const char *op = supported[k] != NULL ? supported[k] : SEVERAL;
      OpCount *c = g_hash_table_lookup (counts, op);
      if (c == NULL)
        {
          g_string_append_printf (report, "  %-20s no cases\n", op);
          if (supported[k] == NULL)
            break;
          continue;
        }
      g_string_append_printf (report, "  %-20s %3u of %3u passed", c->op, c->passed, c->passed + c->refused + c->wrong);
      if (c->refused)
        g_string_append_printf (report, ", %u refused", c->refused);
      if (c->wrong)
        g_string_append_printf (report, ", %u WRONG", c->wrong);
      g_string_append_c (report, '\n');
      for (guint j = 0; j < c->refusals->len; j++)
        g_string_append_printf (report, "      refused %s\n", (char *) c->refusals->pdata[j]);
      if (supported[k] == NULL)
        break;
    }
  g_string_append_printf (report, "In all: %u passed, %u refused, %u wrong; %u cases of other ops not run\n", total_passed, total_refused, wrong->len, other);
  if (g_strcmp0 (g_getenv ("QUORUM_DEVICE"), "cuda") == 0)
    g_string_append_printf (report, "On CUDA: %u cases ran there (the rest were folded into constants or ran on the CPU)\n",
                            cases_on_cuda);
  for (guint j = 0; j < wrong->len; j++)
    g_string_append_printf (report, "WRONG %s\n", (char *) wrong->pdata[j]);
  g_test_message ("%s", report->str);
  if (g_getenv ("QUORUM_ONNX_REPORT"))
    g_file_set_contents (g_getenv ("QUORUM_ONNX_REPORT"), report->str, -1, NULL);
  for (guint j = 0; j < wrong->len; j++)
    g_printerr ("WRONG %s\n", (char *) wrong->pdata[j]);
  g_assert_cmpuint (wrong->len, ==, 0);
  for (guint k = 0; k < G_N_ELEMENTS (MUST_PASS); k++)
    {
      int r = GPOINTER_TO_INT (g_hash_table_lookup (results, MUST_PASS[k]));
      if (r != CASE_PASSED + 1)
        {
          g_printerr ("%s: %s\n", MUST_PASS[k], r == 0 ? "not run" : "refused");
          must_fail++;
        }
    }
  g_assert_cmpuint (must_fail, ==, 0);
}

/* A real case's model damaged every way a file can be: cut short at every length and bytes
 * flipped; each is an error or a graph, never a crash (ASan runs this too). */
static void
test_damaged (void)
{
  g_autofree char *path = g_build_filename (TESTDATA_DIR, "test_conv_with_strides_padding", "model.onnx", NULL);
  g_autofree char *contents = NULL;
  g_autofree char *tmp = NULL;
  gsize length;
  int fd;

  if (!g_file_get_contents (path, &contents, &length, NULL))
    {
      g_test_skip ("ONNX's conformance cases are not installed (Debian package libonnx-testdata)");
      return;
    }
  fd = g_file_open_tmp ("quorum-onnx-XXXXXX.onnx", &tmp, NULL);
  g_assert_cmpint (fd, >=, 0);
  close (fd);
  for (gsize cut = 0; cut < length; cut++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (QrGraph) graph = NULL;
      g_assert_true (g_file_set_contents (tmp, contents, (gssize) cut, NULL));
      graph = qr_graph_load_onnx (tmp, NULL, &error);
      if (graph == NULL)
        g_assert_nonnull (strstr (error->message, tmp));
    }
  for (gsize at = 0; at < length; at++)
    for (int bit = 0; bit < 8; bit += 3)
      {
        g_autoptr (GError) error = NULL;
        g_autoptr (QrGraph) graph = NULL;
        contents[at] ^= (char) (1 << bit);
        g_assert_true (g_file_set_contents (tmp, contents, (gssize) length, NULL));
        contents[at] ^= (char) (1 << bit);
        graph = qr_graph_load_onnx (tmp, NULL, &error);
        if (graph == NULL)
          g_assert_nonnull (strstr (error->message, tmp));
      }
  {
    /* a truncated model names the byte */
    g_autoptr (GError) error = NULL;
    g_assert_true (g_file_set_contents (tmp, contents, (gssize) length - 3, NULL));
    g_assert_null (qr_graph_load_onnx (tmp, NULL, &error));
    g_assert_nonnull (strstr (error->message, "byte"));
  }
  g_unlink (tmp);
}


/* Asserts got is within tolerance × the largest |want| of want (n values), saying by how much. */
static void
assert_near (const float *got, const float *want, gsize n, float tolerance, const char *what)
{
  float worst = 0, largest = 0;
  for (gsize i = 0; i < n; i++)
    {
      largest = MAX (largest, fabsf (want[i]));
      worst = MAX (worst, fabsf (got[i] - want[i]));
    }
  g_test_message ("%s: within %.3g (largest %.3g)", what, worst, largest);
  g_assert_cmpfloat (worst, <=, tolerance * largest);
}

static gboolean
have_torch_onnx (void)
{
  return test_python_imports ("torch, onnx, numpy");
}

static char *
run_reference (const char *const *args)
{
  return test_python_run (QUORUM_SOURCE_DIR "/tests/reference/yolo-onnx.py", args);
}

typedef struct
{
  const char *kind;
  const char *opset;
} YoloCase;

static float
box_iou (const float *a, const float *b)
{
  float w = MIN (a[2], b[2]) - MAX (a[0], b[0]), h = MIN (a[3], b[3]) - MAX (a[1], b[1]);
  float inter = MAX (w, 0) * MAX (h, 0);
  return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter);
}

/* A small detector shaped like an Ultralytics export (YOLOv8's head; YOLO11's attention block and
 * depthwise head; YOLOv5's anchor head, whose rank-5 tensors run one image at a time), seeded weights, exported by PyTorch with Ultralytics' metadata: Quorum loads
 * it as a detector, letterboxes as Ultralytics does, and its output and its boxes after NMS match
 * PyTorch's run of the same network on the same input, decoded and suppressed as Ultralytics'
 * predictor does. */
static void
test_ultralytics (gconstpointer data)
{
  const YoloCase *tc = data;
  gboolean v5 = g_str_equal (tc->kind, "v5");
  g_autofree char *tmp = NULL, *model_path = NULL, *input_path = NULL, *raw_path = NULL, *json_path = NULL;
  g_autofree char *photo = g_build_filename (QUORUM_DEMO_DIR, "darknet-dog.jpg", NULL);
  g_autofree char *ref_raw = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (QrDetector) detector = NULL;
  g_autoptr (QrImage) image = NULL;
  g_autoptr (GArray) detections = NULL;
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autofree float *input = NULL;
  QrDetectorOptions options;
  JsonArray *expected;
  const float *ours;
  int rank, dims[4], w, h;
  gsize n, ref_len;
  const int sizes[][2] = { { 768, 576 }, { 333, 500 }, { 641, 97 }, { 320, 320 }, { 1, 1 } };

  if (!have_torch_onnx ())
    {
      g_test_skip ("PyTorch and ONNX for Python (Debian python3-torch, python3-onnx) are not installed");
      return;
    }
  tmp = test_make_tmpdir ();
  {
    const char *args[] = { "export", tmp, tc->opset, tc->kind, "320", NULL };
    g_free (run_reference (args));
  }
  model_path = g_build_filename (tmp, "model.onnx", NULL);
  qr_detector_options_init (&options);
  options.device = test_device ();
  options.score_threshold = 0.25f;
  options.nms_iou = 0.7f;
  options.max_detections = 300;
  detector = qr_detector_load (model_path, &options, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (qr_detector_get_family (detector), ==, "ultralytics");
  g_assert_cmpstr (qr_detector_get_format (detector), ==, "onnx");
  g_assert_cmpint (qr_detector_get_n_classes (detector), ==, 3);
  g_assert_cmpstr (qr_detector_get_class_name (detector, 0), ==, "person");
  g_assert_cmpstr (qr_detector_get_class_name (detector, 1), ==, "dog");
  g_assert_cmpstr (qr_detector_get_class_name (detector, 2), ==, "bicycle");
  qr_detector_get_input_dims (detector, &w, &h);
  g_assert_cmpint (w, ==, 320);
  g_assert_cmpint (h, ==, 320);

  /* the letterbox's geometry, as Ultralytics computes it */
  for (guint k = 0; k < G_N_ELEMENTS (sizes); k++)
    {
      g_autofree char *ws = g_strdup_printf ("%d", sizes[k][0]), *hs = g_strdup_printf ("%d", sizes[k][1]);
      const char *args[] = { "letterbox", ws, hs, "320", NULL };
      g_autofree char *out = run_reference (args);
      g_autoptr (JsonParser) p = json_parser_new ();
      QrImage probe = { .width = sizes[k][0], .height = sizes[k][1] };
      JsonObject *o;
      int pw, ph, x0, y0;
      g_assert_true (json_parser_load_from_data (p, out, -1, NULL));
      o = json_node_get_object (json_parser_get_root (p));
      qr_detector_get_family (detector);
      detector->family->place (detector, &probe, &pw, &ph, &x0, &y0);
      g_assert_cmpint (pw, ==, json_object_get_int_member (o, "w"));
      g_assert_cmpint (ph, ==, json_object_get_int_member (o, "h"));
      g_assert_cmpint (x0, ==, json_object_get_int_member (o, "left"));
      g_assert_cmpint (y0, ==, json_object_get_int_member (o, "top"));
    }

  /* a real photo (768 × 576: a border above and below), through Quorum and through PyTorch */
  image = qr_image_load (photo, NULL, 0, &error);
  g_assert_no_error (error);
  input = g_new (float, 320 * 320 * 3);
  qr_detector_preprocess (detector, image, input);
  g_assert_cmpfloat_with_epsilon (input[0], 114.0f / 255.0f, 1e-7);
  input_path = g_build_filename (tmp, "input.f32", NULL);
  test_write_bytes (input_path, input, 320 * 320 * 3 * sizeof (float));
  detections = qr_detector_detect (detector, image, NULL, NULL, &error);
  g_assert_no_error (error);
  {
    const char *args[] = { "run", tmp, input_path, "320", "0.25", "0.7", NULL };
    g_free (run_reference (args));
  }

  /* the raw output: [1, 7, 2100] ([1, 6300, 8] for v5) within 1e-4 of its largest magnitude */
  raw_path = g_build_filename (tmp, "raw.f32", NULL);
  g_assert_true (g_file_get_contents (raw_path, &ref_raw, &ref_len, NULL));
  ours = qr_model_get_output (qr_detector_get_model (detector), "output0", &rank, dims);
  g_assert_nonnull (ours);
  g_assert_cmpint (rank, ==, 3);
  g_assert_cmpint (dims[1], ==, v5 ? 6300 : 7);
  g_assert_cmpint (dims[2], ==, v5 ? 8 : 2100);
  n = (gsize) dims[1] * (gsize) dims[2];
  g_assert_cmpuint (ref_len, ==, n * sizeof (float));
  {
    g_autofree char *what = g_strdup_printf ("%s opset %s: the output against PyTorch's", tc->kind, tc->opset);
    assert_near (ours, (const float *) ref_raw, n, 1e-4f, what);
  }

  /* the boxes after NMS, in the photo's pixels */
  json_path = g_build_filename (tmp, "detections.json", NULL);
  g_assert_true (json_parser_load_from_file (parser, json_path, &error));
  expected = json_node_get_array (json_parser_get_root (parser));
  g_test_message ("%s opset %s: %u boxes (PyTorch: %u)", tc->kind, tc->opset, detections->len,
                  json_array_get_length (expected));
  g_assert_cmpuint (json_array_get_length (expected), >, 0);
  g_assert_cmpuint (detections->len, ==, json_array_get_length (expected));
  for (guint i = 0; i < detections->len; i++)
    {
      const QrDetection *d = &g_array_index (detections, QrDetection, i);
      float ours_box[4] = { d->x1, d->y1, d->x2, d->y2 }, best = 0;
      float scale = 320.0f / 768.0f, top = 40.0f;   /* 768 × 576 → 320 × 240, 40 above */
      gboolean found = FALSE;
      for (guint j = 0; j < json_array_get_length (expected) && !found; j++)
        {
          JsonObject *o = json_array_get_object_element (expected, j);
          JsonArray *b = json_object_get_array_member (o, "box");
          float theirs[4] = { (float) json_array_get_double_element (b, 0) / scale,
                              ((float) json_array_get_double_element (b, 1) - top) / scale,
                              (float) json_array_get_double_element (b, 2) / scale,
                              ((float) json_array_get_double_element (b, 3) - top) / scale };
          /* Quorum clamps boxes to the photo */
          theirs[0] = CLAMP (theirs[0], 0, 768);
          theirs[2] = CLAMP (theirs[2], 0, 768);
          theirs[1] = CLAMP (theirs[1], 0, 576);
          theirs[3] = CLAMP (theirs[3], 0, 576);
          if (json_object_get_int_member (o, "class") != d->class_id)
            continue;
          best = MAX (best, box_iou (ours_box, theirs));
          found = fabs (json_object_get_double_member (o, "score") - d->score) < 1e-4
                  && box_iou (ours_box, theirs) > 0.999f;
        }
      if (!found)
        g_error ("box %u (%s %.4f at %.1f %.1f %.1f %.1f) is not PyTorch's (best IoU %.4f)", i,
                 qr_detector_get_class_name (detector, d->class_id), d->score, d->x1, d->y1, d->x2, d->y2, best);
    }

  /* a batch of three (the export fixed its batch at 1): each image's boxes as when alone */
  {
    g_autofree char *other_path = g_build_filename (QUORUM_DEMO_DIR, "skimage-coffee.png", NULL);
    g_autoptr (QrImage) other = qr_image_load (other_path, NULL, 0, &error);
    g_autoptr (GArray) alone = NULL;
    g_autoptr (GPtrArray) batch = NULL;
    const QrImage *images[3];
    g_assert_no_error (error);
    alone = qr_detector_detect (detector, other, NULL, NULL, &error);
    g_assert_no_error (error);
    images[0] = other;
    images[1] = image;
    images[2] = other;
    batch = qr_detector_detect_batch (detector, images, 3, NULL, NULL, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (batch->len, ==, 3);
    for (int b = 0; b < 3; b++)
      {
        GArray *got = batch->pdata[b], *want = b == 1 ? detections : alone;
        g_assert_cmpuint (got->len, ==, want->len);
        for (guint i = 0; i < got->len; i++)
          {
            const QrDetection *x = &g_array_index (got, QrDetection, i), *y = &g_array_index (want, QrDetection, i);
            g_assert_cmpint (x->class_id, ==, y->class_id);
            g_assert_cmpfloat_with_epsilon (x->score, y->score, 1e-5);
            g_assert_cmpfloat (qr_box_iou (x, y), >, 0.9999f);
          }
      }
  }

  /* the heatmap: the stride-8 level's scores over the photo (40 × 30 cells, 5 border rows above
     and below left out) */
  {
    g_autoptr (GArray) again = qr_detector_detect (detector, image, NULL, NULL, &error);
    int rows, cols, classes;
    float to_cell;
    const float *heat = qr_detector_get_heatmap (detector, &rows, &cols, &classes, &to_cell);
    g_assert_no_error (error);
    g_assert_nonnull (heat);
    g_assert_cmpint (cols, ==, 40);
    g_assert_cmpint (rows, ==, 30);
    g_assert_cmpint (classes, ==, 3);
    g_assert_cmpfloat_with_epsilon (to_cell, 320.0f / 768.0f / 8.0f, 1e-6);
    /* cell (row 0, col 0) of the map is anchor (5, 0) of the output; for v5 the best of its three
       anchor boxes' objectness × the class's score (rows of 8: centre, size, objectness, 3 classes) */
    if (v5)
      {
        const float *ref = (const float *) ref_raw;
        float want = 0;
        for (int k = 0; k < 3; k++)
          {
            const float *p = ref + ((gsize) k * 1600 + 5 * 40) * 8;
            want = MAX (want, p[4] * p[5 + 1]);
          }
        g_assert_cmpfloat_with_epsilon (heat[1], want, 1e-4);
      }
    else
      g_assert_cmpfloat_with_epsilon (heat[1], ((const float *) ref_raw)[5 * 2100 + 5 * 40], 1e-4);
  }

  /* in the models folder it is found and listed by its name, as the app's model list and
     Preferences do */
  {
    g_autofree char *folder = g_build_filename (tmp, "models", NULL);
    g_autofree char *named = g_build_filename (folder, "yolo-test.onnx", NULL);
    g_autofree char *bytes = NULL, *found = NULL;
    g_autoptr (GPtrArray) names = NULL;
    gboolean listed = FALSE;
    gsize len;
    g_assert_cmpint (g_mkdir (folder, 0755), ==, 0);
    g_assert_true (g_file_get_contents (model_path, &bytes, &len, NULL));
    g_assert_true (g_file_set_contents (named, bytes, (gssize) len, NULL));
    qr_set_models_folder (folder);
    names = qr_list_models ();
    for (guint i = 0; i < names->len; i++)
      listed |= g_str_equal (names->pdata[i], "yolo-test");
    g_assert_true (listed);
    found = qr_find_model ("yolo-test", &error);
    g_assert_no_error (error);
    g_assert_cmpstr (found, ==, named);
    qr_set_models_folder (NULL);
  }
  test_remove_tree (tmp);
}


/* Runs tests/reference/onnx-layers.py COMMAND into TMP (opset 13). */
static void
export_layers (const char *command, const char *tmp)
{
  const char *args[] = { command, tmp, "13", NULL };
  g_free (test_python_run (QUORUM_SOURCE_DIR "/tests/reference/onnx-layers.py", args));
}

/* An onnx-layers.py case exported into tmp: its model loaded with options, its input (x.f32) and
 * PyTorch's output (y.f32) read. */
static QrModel *
load_layers_case (const char *command, const char *tmp, const QrOnnxOptions *options, char **xs, gsize *nx, char **ys,
                  gsize *ny)
{
  g_autofree char *model = g_build_filename (tmp, "model.onnx", NULL);
  g_autofree char *xp = g_build_filename (tmp, "x.f32", NULL), *yp = g_build_filename (tmp, "y.f32", NULL);
  g_autoptr (GError) error = NULL;
  QrGraph *graph;
  QrModel *net;

  export_layers (command, tmp);
  g_assert_true (g_file_get_contents (xp, xs, nx, NULL));
  g_assert_true (g_file_get_contents (yp, ys, ny, NULL));
  graph = qr_graph_load_onnx (model, options, &error);
  g_assert_no_error (error);
  net = qr_model_new (graph, test_device (), QR_PRECISION_FP32, 1, &error);
  g_assert_no_error (error);
  return net;
}

/* An onnx-layers.py case run on its input (a batch of want[0]): its output "y" of shape want
 * within 1e-5 (relative to the largest value) of PyTorch's. */
static void
check_layers_case (const char *command, const QrOnnxOptions *options, const int want[4], const char *what)
{
  g_autofree char *tmp = NULL, *xs = NULL, *ys = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (QrModel) net = NULL;
  const float *got;
  int rank, dims[4];
  gsize nx, ny;

  if (!have_torch_onnx ())
    {
      g_test_skip ("PyTorch and ONNX for Python are not installed");
      return;
    }
  tmp = test_make_tmpdir ();
  net = load_layers_case (command, tmp, options, &xs, &nx, &ys, &ny);
  g_assert_true (qr_model_run (net, (const float *) xs, want[0], NULL, NULL, &error));
  g_assert_no_error (error);
  got = qr_model_get_output (net, "y", &rank, dims);
  g_assert_cmpint (rank, ==, 4);
  for (int d = 0; d < 4; d++)
    g_assert_cmpint (dims[d], ==, want[d]);
  g_assert_cmpuint (ny, ==, (gsize) want[0] * want[1] * want[2] * want[3] * sizeof (float));
  assert_near (got, (const float *) ys, ny / sizeof (float), 1e-5f, what);
  test_remove_tree (tmp);
}

/* ConvTranspose (as a spread and a convolution) against PyTorch's ConvTranspose2d: strides,
 * padding, output padding and dilation, exported at batch 1 and run on a batch of two. */
static void
test_conv_transpose (void)
{
  QrOnnxOptions options = { .nhwc_input = TRUE, .any_batch = TRUE };
  const int want[4] = { 2, 2, 28, 58 };
  check_layers_case ("convtranspose", &options, want, "ConvTranspose against PyTorch");
}

/* F.interpolate as PyTorch exports it: bicubic by a fractional scale (two products with the
 * interpolation weights), bilinear to a size with align_corners (the engine's resize), nearest by
 * 0.6 (two gathers of the rows and columns ONNX picks). */
static void
test_interpolate (void)
{
  QrOnnxOptions options = { .nhwc_input = TRUE };
  const int want[4] = { 1, 4, 5, 7 };
  check_layers_case ("interpolate", &options, want, "F.interpolate against PyTorch");
}

/* A network whose middle is rank 5, as YOLOv5's head is ([1, 3, 2, H, W]: a view, a permute, a split,
 * slices, a rank-5 constant, an expand, a concat and a reshape back): Quorum leaves the leading 1 out,
 * so such a model takes one image at a time, and an op it cannot apply that way is refused by name. */
static void
test_rank5 (void)
{
  g_autofree char *tmp = NULL, *xs = NULL, *ys = NULL;
  g_autofree char *tmp2 = NULL, *model2 = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (QrModel) net = NULL;
  QrOnnxOptions options = { .nhwc_input = TRUE, .any_batch = TRUE };
  const float *got;
  int rank, dims[4];
  gsize nx, ny;
  float *two;

  if (!have_torch_onnx ())
    {
      g_test_skip ("PyTorch and ONNX for Python are not installed");
      return;
    }
  tmp = test_make_tmpdir ();
  net = load_layers_case ("rank5", tmp, &options, &xs, &nx, &ys, &ny);
  g_assert_cmpint (qr_model_get_fixed_batch (net), ==, 1);
  g_assert_true (qr_model_run (net, (const float *) xs, 1, NULL, NULL, &error));
  g_assert_no_error (error);
  got = qr_model_get_output (net, "y", &rank, dims);
  g_assert_nonnull (got);
  g_assert_cmpuint (ny, ==, (gsize) 3 * 5 * 7 * 3 * sizeof (float));
  /* [1, 105, 3] as PyTorch gives it */
  g_assert_cmpint (rank, ==, 3);
  g_assert_cmpint (dims[0], ==, 1);
  g_assert_cmpint (dims[1], ==, 3 * 5 * 7);
  g_assert_cmpint (dims[2], ==, 3);
  assert_near (got, (const float *) ys, ny / sizeof (float), 1e-5f, "rank 5 against PyTorch");

  /* two at once is refused with the reason, not run wrong */
  two = g_new (float, nx / sizeof (float) * 2);
  memcpy (two, xs, nx);
  memcpy (two + nx / sizeof (float), xs, nx);
  g_assert_false (qr_model_run (net, two, 2, NULL, NULL, &error));
  g_assert_nonnull (error);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "takes exactly 1 at a time"));
  g_clear_error (&error);
  g_free (two);

  /* a softmax over a rank-5 tensor is not an op the engine can apply with the axis left out */
  tmp2 = test_make_tmpdir ();
  export_layers ("rank5-softmax", tmp2);
  model2 = g_build_filename (tmp2, "model.onnx", NULL);
  g_assert_null (qr_graph_load_onnx (model2, &options, &error));
  g_assert_nonnull (error);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "Softmax of a rank-5 tensor"));
  g_assert_nonnull (strstr (error->message, "model.onnx"));
  test_remove_tree (tmp);
  test_remove_tree (tmp2);
}

/* Real pretrained detectors through the ONNX importer: CenterNet and NanoDet (TF.js), the Open
 * Images SSD and BlazeFace (TFLite), from ../shared, as Quorum runs them, exported (quorum bench
 * detect --export), rebuilt in PyTorch ops by bench/torch-peer.py and written as ONNX by
 * torch.onnx.export (tests/reference/graph-to-onnx.py): Quorum's importer on PyTorch's file gives
 * the outputs Quorum gives on the original file. */
static void
test_pretrained_roundtrip (gconstpointer data)
{
  const char *model_file = data;
  /* a name alone: a Darknet cfg of ../shared (no weights there: the bench gives it seeded ones) */
  gboolean darknet = strchr (model_file, '.') == NULL;
  g_autofree char *json = darknet ? g_strdup_printf ("%s/../shared/models/darknet/%s.cfg", QUORUM_SOURCE_DIR, model_file)
                                  : g_strdup_printf ("%s/../shared/models/pretrained/%s", QUORUM_SOURCE_DIR, model_file);
  g_autofree char *name = g_strndup (model_file, strcspn (model_file, "._"));
  g_autofree char *tmp = NULL, *folder = NULL, *onnx = NULL, *input = NULL, *out = NULL;
  g_autofree char *input_path = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (QrModel) net = NULL;
  g_autoptr (JsonParser) parser = json_parser_new ();
  QrGraph *graph;
  JsonArray *outputs;
  gsize n_input;
  int status;

  if (!have_torch_onnx () || !g_file_test (json, G_FILE_TEST_EXISTS))
    {
      g_test_skip ("PyTorch and ONNX for Python, or the shared pretrained models, are missing");
      return;
    }
  tmp = test_make_tmpdir ();
  folder = g_build_filename (tmp, name, NULL);
  onnx = g_build_filename (tmp, "model.onnx", NULL);
  {
    const char *argv[] = { QUORUM_BINARY, "bench", "detect", "--export", folder, "--model", darknet ? model_file : json,
                           NULL };
    g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL, NULL, NULL, &status,
                                 &error));
    g_assert_true (g_spawn_check_wait_status (status, NULL));
  }
  {
    const char *args[] = { folder, onnx, NULL };
    out = test_python_run (QUORUM_SOURCE_DIR "/tests/reference/graph-to-onnx.py", args);
  }
  g_assert_true (json_parser_load_from_data (parser, out, -1, &error));
  outputs = json_object_get_array_member (json_node_get_object (json_parser_get_root (parser)), "outputs");
  input_path = g_build_filename (folder, "input.f32", NULL);
  g_assert_true (g_file_get_contents (input_path, &input, &n_input, NULL));
  graph = qr_graph_load_onnx (onnx, NULL, &error);
  g_assert_no_error (error);
  net = qr_model_new (graph, test_device (), QR_PRECISION_FP32, 1, &error);
  g_assert_no_error (error);
  g_assert_true (qr_model_run (net, (const float *) input, 1, NULL, NULL, &error));
  g_assert_no_error (error);
  for (guint k = 0; k < json_array_get_length (outputs); k++)
    {
      g_autofree char *output = g_strdup_printf ("y%u", k);
      g_autofree char *file = g_strdelimit (g_strdup_printf ("%s.f32", json_array_get_string_element (outputs, k)), "/",
                                            '_');
      g_autofree char *path = g_build_filename (folder, "check", file, NULL);
      g_autofree char *want = NULL;
      gsize n;
      int rank, dims[4];
      const float *got = qr_model_get_output (net, output, &rank, dims);
      g_autofree char *what = NULL;
      gsize count = 1;
      g_assert_nonnull (got);
      g_assert_true (g_file_get_contents (path, &want, &n, NULL));
      for (int d = 0; d < rank; d++)
        count *= (gsize) dims[d];
      g_assert_cmpuint (count, ==, n / sizeof (float));
      what = g_strdup_printf ("%s, %s (%" G_GSIZE_FORMAT " values), against the original file", name,
                              json_array_get_string_element (outputs, k), count);
      assert_near (got, (const float *) want, count, 1e-4f, what);
    }
  test_remove_tree (tmp);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/onnx/conformance", test_conformance);
  g_test_add_func ("/onnx/damaged", test_damaged);
  g_test_add_func ("/onnx/pytorch/conv-transpose", test_conv_transpose);
  g_test_add_func ("/onnx/pytorch/rank5", test_rank5);
  g_test_add_func ("/onnx/pytorch/interpolate", test_interpolate);
  g_test_add_data_func ("/onnx/pytorch/pretrained-centernet", "centernet.json", test_pretrained_roundtrip);
  g_test_add_data_func ("/onnx/pytorch/pretrained-nanodet", "nanodet.json", test_pretrained_roundtrip);
  g_test_add_data_func ("/onnx/pytorch/pretrained-ssd", "ssd_mobilenetv2_oidv4_fp16.tflite", test_pretrained_roundtrip);
  g_test_add_data_func ("/onnx/pytorch/pretrained-blazeface", "blazeface_short_range.tflite", test_pretrained_roundtrip);
  g_test_add_data_func ("/onnx/pytorch/darknet-yolov4-tiny", "yolov4-tiny", test_pretrained_roundtrip);
  {
    static const YoloCase cases[] = { { "v8", "13" }, { "v8", "17" }, { "v11", "13" }, { "v11", "17" },
                                      { "v5", "13" }, { "v5", "17" } };
    for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
      {
        g_autofree char *path = g_strdup_printf ("/onnx/ultralytics/%s-opset%s", cases[i].kind, cases[i].opset);
        g_test_add_data_func (path, &cases[i], test_ultralytics);
      }
  }
  return g_test_run ();
}

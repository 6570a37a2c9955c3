/* test-onnx.c: the ONNX importer against ONNX's own conformance cases (Debian's
 * libonnx-testdata: for each case a one-op model, its inputs and the outputs ONNX's reference
 * computed). Every case is imported and run on the CPU with its first input as the graph's input
 * and the others bound as constants. A case whose op Quorum reads either matches the expected
 * outputs (within ONNX's own tolerance: relative 1e-3, absolute 1e-7) or is refused with an error
 * naming what is not supported — a wrong answer fails the test. The counts per op are printed (and
 * written to $QUORUM_ONNX_REPORT when set). Damaged models give errors naming the byte. */
#include "qr-onnx.h"
#include "engine-private.h"
#include "test-util.h"

#include <glib/gstdio.h>
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
  /* the first input with values runs through the model; the rest are bound */
  for (guint k = 0; k < inputs->len; k++)
    {
      QrOnnxTensor *t = inputs->pdata[k];
      if (live_index < 0 && t->n > 0 && t->rank >= 1 && t->rank <= QR_MAX_RANK
          && (t->data_type == 1 || t->data_type == 10 || t->data_type == 11))
        live_index = (int) k;
    }
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
  model = qr_model_new_cpu (g_steal_pointer (&graph), 1, &error);
  if (model == NULL)
    {
      *message = g_strdup (error->message);
      return CASE_REFUSED;
    }
  {
    QrOnnxTensor *live = inputs->pdata[live_index];
    if (!qr_model_run (model, live->data, live->dims[0], NULL, NULL, &error))
      {
        *message = g_strdup (error->message);
        return CASE_REFUSED;
      }
  }
  for (guint k = 0; k < outputs->len; k++)
    {
      QrOnnxTensor *want = outputs->pdata[k];
      int rank = 0, dims[QR_MAX_RANK] = { 0 };
      const float *got = qr_model_get_output (model, want->name, &rank, dims);
      gsize n = 1;
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

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/onnx/conformance", test_conformance);
  g_test_add_func ("/onnx/damaged", test_damaged);
  return g_test_run ();
}

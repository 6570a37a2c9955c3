/* test-engine.c: the inference engine's ops and rewrites. Each CPU op against a naive loop written
 * here (odd sizes, strides, dilations, paddings), and the load-time rewrites keeping what a graph
 * computes. The real models are test-models.c's. */
#include "engine-private.h"
#include "qr-detector.h"
#include "test-util.h"

#include <math.h>
#include <string.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#define MODELS_DIR QUORUM_SOURCE_DIR "/../shared/models/pretrained"

static float
frand (GRand *rand)
{
  return (float) g_rand_double_range (rand, -1, 1);
}

static int
add_const (QrGraph *graph, const char *name, int rank, const int *dims, GRand *rand, const float *values)
{
  int id = qr_graph_add_tensor (graph, name);
  QrTensor *t = qr_graph_tensor (graph, id);
  gsize n;

  t->is_const = TRUE;
  t->shape.rank = rank;
  memcpy (t->shape.dims, dims, sizeof (int) * (gsize) rank);
  n = qr_shape_size (&t->shape);
  t->data = g_new (float, MAX (n, 1));
  for (gsize i = 0; i < n; i++)
    t->data[i] = values ? values[i] : frand (rand);
  return id;
}

/* A one-node graph: input [dims] → node → output. */
static QrNode *
one_node_graph (QrGraph *graph, QrOpType op, int rank, const int *dims)
{
  QrNode *input = qr_graph_add_node (graph, QR_OP_INPUT, "x");
  int x = qr_graph_add_tensor (graph, "x");
  QrNode *node;
  int y;

  input->outputs[input->n_outputs++] = x;
  qr_graph_tensor (graph, x)->producer = 0;
  qr_graph_tensor (graph, x)->shape.rank = rank;
  memcpy (qr_graph_tensor (graph, x)->shape.dims, dims, sizeof (int) * (gsize) rank);
  g_array_append_val (graph->inputs, x);
  node = qr_graph_add_node (graph, op, "y");
  y = qr_graph_add_tensor (graph, "y");
  node = qr_graph_node (graph, 1);
  node->inputs[node->n_inputs++] = x;
  node->outputs[node->n_outputs++] = y;
  qr_graph_tensor (graph, y)->producer = 1;
  g_array_append_val (graph->outputs, y);
  return node;
}

static const float *
run_graph (QrGraph *graph, const float *input, QrModel **model_out)
{
  g_autoptr (GError) error = NULL;
  QrModel *model;
  int batch = qr_graph_tensor (graph, g_array_index (graph->inputs, int, 0))->shape.dims[0];

  qr_graph_finish (graph, &error);
  g_assert_no_error (error);
  /* QUORUM_DEVICE=cuda runs these op tests on the GPU (the GPU machine does); say where. */
  model = qr_model_new (graph, QR_DEVICE_AUTO, QR_PRECISION_FP32, 2, &error);
  g_assert_no_error (error);
  if (g_strcmp0 (g_getenv ("QUORUM_DEVICE"), "cuda") == 0)
    g_assert_true (g_str_has_prefix (qr_model_get_device (model), "cuda"));
  g_assert_true (qr_model_run (model, input, batch, NULL, NULL, &error));
  g_assert_no_error (error);
  *model_out = model;
  return qr_model_get_output (model, "y", NULL, NULL);
}

static float *
random_input (GRand *rand, gsize n)
{
  float *x = g_new (float, n);
  for (gsize i = 0; i < n; i++)
    x[i] = frand (rand);
  return x;
}

static void
assert_close (const float *got, const float *want, gsize n, double tolerance)
{
  double max_abs = 0, max_err = 0;
  for (gsize i = 0; i < n; i++)
    {
      max_abs = MAX (max_abs, fabs (want[i]));
      max_err = MAX (max_err, fabs ((double) got[i] - want[i]));
    }
  if (max_err > tolerance * MAX (max_abs, 1e-6))
    g_error ("max error %g over max magnitude %g (tolerance %g relative)", max_err, max_abs, tolerance);
}

/* The naive reference convolution, in double: out[n, oy, ox, o] = bias[o] + Σ x · w over the
 * taps inside the image (HWIO weights; depthwise: one weight per channel, oc = c), padding pt
 * above and pl left. */
static void
naive_conv (const float *x, int batch, int h, int w, int c, const float *wd, const float *bias, int oc, int k,
            int s, int d, int pt, int pl, int oh, int ow, gboolean depthwise, double *out)
{
  for (int n = 0; n < batch; n++)
    for (int oy = 0; oy < oh; oy++)
      for (int ox = 0; ox < ow; ox++)
        for (int o = 0; o < oc; o++)
          {
            double acc = bias != NULL ? bias[o] : 0.0;
            for (int ky = 0; ky < k; ky++)
              for (int kx = 0; kx < k; kx++)
                {
                  int iy = oy * s - pt + ky * d, ix = ox * s - pl + kx * d;
                  if (iy < 0 || iy >= h || ix < 0 || ix >= w)
                    continue;
                  if (depthwise)
                    acc += x[((n * h + iy) * w + ix) * c + o] * wd[(ky * k + kx) * c + o];
                  else
                    for (int ch = 0; ch < c; ch++)
                      acc += x[((n * h + iy) * w + ix) * c + ch] * wd[((ky * k + kx) * c + ch) * oc + o];
                }
            out[((n * oh + oy) * ow + ox) * oc + o] = acc;
          }
}

static void
test_conv (gconstpointer data)
{
  /* in: N H W C, kernel, stride, dilation, padding, groups-as-depthwise */
  static const struct { int n, h, w, c, oc, k, s, d; QrPadding pad; gboolean depthwise; int pads[4]; } cases[] = {
    { 1, 7, 9, 3, 5, 3, 1, 1, QR_PAD_SAME, FALSE, { 0 } },
    { 2, 8, 6, 4, 7, 3, 2, 1, QR_PAD_SAME, FALSE, { 0 } },
    { 1, 11, 13, 2, 3, 5, 2, 2, QR_PAD_VALID, FALSE, { 0 } },
    { 1, 5, 5, 6, 4, 1, 1, 1, QR_PAD_VALID, FALSE, { 0 } },
    { 1, 9, 7, 3, 2, 3, 1, 1, QR_PAD_EXPLICIT, FALSE, { 2, 0, 1, 3 } },
    { 1, 10, 13, 8, 8, 3, 1, 1, QR_PAD_SAME, TRUE, { 0 } },
    { 2, 9, 8, 5, 5, 3, 2, 1, QR_PAD_SAME, TRUE, { 0 } },
    { 1, 12, 12, 4, 4, 5, 1, 2, QR_PAD_VALID, TRUE, { 0 } },
    /* the CUDA backend's tiled depthwise kernel (channels a multiple of 4, 3×3 or 5×5, stride 1
     * or 2): widths that leave a part tile, batches, explicit unequal pads, one output column */
    { 2, 11, 10, 12, 12, 3, 2, 1, QR_PAD_SAME, TRUE, { 0 } },
    { 1, 9, 13, 8, 8, 5, 1, 1, QR_PAD_SAME, TRUE, { 0 } },
    { 2, 14, 11, 16, 16, 5, 2, 1, QR_PAD_SAME, TRUE, { 0 } },
    { 1, 7, 9, 4, 4, 3, 1, 1, QR_PAD_EXPLICIT, TRUE, { 2, 0, 1, 3 } },
    { 1, 6, 5, 8, 8, 5, 2, 1, QR_PAD_VALID, TRUE, { 0 } },
    { 3, 5, 17, 20, 20, 3, 1, 1, QR_PAD_SAME, TRUE, { 0 } },
    /* the CPU's direct convolution (8 to 32 output channels in steps of 8, up to 128 input ones):
     * part groups of four pixels, blocks of 16 and 8 channels, unequal pads, dilation, 1×1 */
    { 2, 9, 11, 3, 16, 3, 2, 1, QR_PAD_SAME, FALSE, { 0 } },
    { 1, 7, 10, 16, 24, 3, 1, 1, QR_PAD_EXPLICIT, FALSE, { 2, 0, 1, 3 } },
    { 1, 8, 9, 40, 32, 1, 1, 1, QR_PAD_VALID, FALSE, { 0 } },
    { 1, 11, 13, 5, 8, 3, 1, 2, QR_PAD_SAME, FALSE, { 0 } },
    { 1, 6, 7, 64, 16, 3, 1, 1, QR_PAD_SAME, FALSE, { 0 } },
    { 1, 5, 6, 65, 16, 3, 1, 1, QR_PAD_SAME, FALSE, { 0 } },
    /* ... and kernels over 1×1 with up to 128 input and output channels; 129 inputs and 136
     * outputs go to the GEMM */
    { 1, 9, 11, 96, 80, 3, 1, 1, QR_PAD_SAME, FALSE, { 0 } },
    { 2, 10, 9, 128, 128, 3, 2, 1, QR_PAD_SAME, FALSE, { 0 } },
    { 1, 8, 7, 48, 72, 3, 1, 2, QR_PAD_EXPLICIT, FALSE, { 2, 0, 1, 3 } },
    { 1, 6, 7, 129, 64, 3, 1, 1, QR_PAD_SAME, FALSE, { 0 } },
    { 1, 6, 5, 32, 136, 3, 1, 1, QR_PAD_SAME, FALSE, { 0 } },
    /* a 7×7 depthwise (49 taps) */
    { 1, 9, 10, 24, 24, 7, 1, 1, QR_PAD_SAME, TRUE, { 0 } },
    /* the CPU's depthwise by four pixels inside the image: wide rows, stride 2 with dilation 2,
     * channels left over after the blocks (18 = 16 + 2, 7 = 4 + 3), every row inside (VALID) */
    { 1, 12, 23, 18, 18, 3, 2, 2, QR_PAD_SAME, TRUE, { 0 } },
    { 2, 9, 30, 7, 7, 5, 1, 1, QR_PAD_VALID, TRUE, { 0 } },
  };
  GRand *rand = g_rand_new_with_seed (42);

  for (guint t = 0; t < G_N_ELEMENTS (cases); t++)
    {
      g_autoptr (QrModel) model = NULL;
      QrGraph *graph = qr_graph_new ("test");
      int in_dims[4] = { cases[t].n, cases[t].h, cases[t].w, cases[t].c };
      int oc = cases[t].depthwise ? cases[t].c : cases[t].oc;
      int w_dims[4] = { cases[t].k, cases[t].k, cases[t].c, cases[t].depthwise ? 1 : cases[t].oc };
      QrNode *node = one_node_graph (graph, cases[t].depthwise ? QR_OP_DEPTHWISE : QR_OP_CONV2D, 4, in_dims);
      int w = add_const (graph, "w", 4, w_dims, rand, NULL);
      int b = add_const (graph, "b", 1, &oc, rand, NULL);
      g_autofree float *x = random_input (rand, (gsize) cases[t].n * cases[t].h * cases[t].w * cases[t].c);
      const float *y;
      const float *wd, *bd;
      int oh, ow, k = cases[t].k, s = cases[t].s, d = cases[t].d;
      int pt, pl;
      g_autofree float *want = NULL;
      g_autofree double *sums = NULL;

      node = qr_graph_node (graph, 1);
      node->inputs[node->n_inputs++] = w;
      node->inputs[node->n_inputs++] = b;
      node->stride[0] = node->stride[1] = s;
      node->dilation[0] = node->dilation[1] = d;
      node->padding = cases[t].pad;
      memcpy (node->pads, cases[t].pads, sizeof node->pads);
      node->act = QR_ACT_RELU6;
      y = run_graph (graph, x, &model);
      wd = qr_graph_tensor (graph, w)->data;
      bd = qr_graph_tensor (graph, b)->data;

      /* The naive reference: TensorFlow's output size and padding rules, written out. */
      if (cases[t].pad == QR_PAD_SAME)
        {
          int eff = (k - 1) * d + 1;
          oh = (cases[t].h + s - 1) / s;
          ow = (cases[t].w + s - 1) / s;
          pt = MAX ((oh - 1) * s + eff - cases[t].h, 0) / 2;
          pl = MAX ((ow - 1) * s + eff - cases[t].w, 0) / 2;
        }
      else
        {
          int eff = (k - 1) * d + 1;
          pt = cases[t].pads[0];
          pl = cases[t].pads[2];
          oh = (cases[t].h + cases[t].pads[0] + cases[t].pads[1] - eff) / s + 1;
          ow = (cases[t].w + cases[t].pads[2] + cases[t].pads[3] - eff) / s + 1;
        }
      want = g_new0 (float, (gsize) cases[t].n * oh * ow * oc);
      sums = g_new0 (double, (gsize) cases[t].n * oh * ow * oc);
      naive_conv (x, cases[t].n, cases[t].h, cases[t].w, cases[t].c, wd, bd, oc, k, s, d, pt, pl, oh, ow,
                  cases[t].depthwise, sums);
      for (gsize i = 0; i < (gsize) cases[t].n * oh * ow * oc; i++)
        want[i] = (float) CLAMP (sums[i], 0.0, 6.0);
      g_assert_cmpint (qr_graph_tensor (graph, node->outputs[0])->shape.dims[1], ==, oh);
      g_assert_cmpint (qr_graph_tensor (graph, node->outputs[0])->shape.dims[2], ==, ow);
      assert_close (y, want, (gsize) cases[t].n * oh * ow * oc, 1e-5);
    }
  g_rand_free (rand);
}

static void
test_resize (void)
{
  /* 1×2×2×1 [[0, 1], [2, 3]] to 4×4, each TensorFlow mode, values worked out by hand. */
  static const float x[] = { 0, 1, 2, 3 };
  static const float legacy[] = { 0, 0.5f, 1, 1, 1, 1.5f, 2, 2, 2, 2.5f, 3, 3, 2, 2.5f, 3, 3 };
  static const float half_pixel[] = { 0, 0.25f, 0.75f, 1, 0.5f, 0.75f, 1.25f, 1.5f, 1.5f, 1.75f, 2.25f, 2.5f, 2, 2.25f, 2.75f, 3 };
  const float *wants[] = { legacy, half_pixel };

  for (int mode = 0; mode < 2; mode++)
    {
      g_autoptr (QrModel) model = NULL;
      QrGraph *graph = qr_graph_new ("test");
      int dims[4] = { 1, 2, 2, 1 }, two = 2;
      float size[2] = { 4, 4 };
      QrNode *node = one_node_graph (graph, QR_OP_RESIZE, 4, dims);
      int s = add_const (graph, "size", 1, &two, NULL, size);
      const float *y;

      node = qr_graph_node (graph, 1);
      node->inputs[node->n_inputs++] = s;
      node->half_pixel = mode == 1;
      y = run_graph (graph, x, &model);
      assert_close (y, wants[mode], 16, 1e-6);
    }
}

/* A node with a second, constant input (and an optional third). */
static const float *
run_with_const (QrOpType op, int rank, const int *dims, const float *x, int c_rank, const int *c_dims,
                const float *c_values, void (*setup) (QrNode *node), QrModel **model, QrShape *out_shape)
{
  QrGraph *graph = qr_graph_new ("test");
  QrNode *node = one_node_graph (graph, op, rank, dims);
  int c = c_rank >= 0 ? add_const (graph, "c", c_rank, c_dims, NULL, c_values) : -1;
  const float *y;

  node = qr_graph_node (graph, 1);
  if (c >= 0)
    node->inputs[node->n_inputs++] = c;
  if (setup)
    setup (node);
  y = run_graph (graph, x, model);
  *out_shape = qr_graph_tensor (graph, node->outputs[0])->shape;
  return y;
}

static void
test_small_ops (void)
{
  GRand *rand = g_rand_new_with_seed (7);
  int dims[4] = { 2, 3, 5, 4 };
  g_autofree float *x = random_input (rand, 2 * 3 * 5 * 4);

  /* Mean over H and W, keep_dims. */
  {
    g_autoptr (QrModel) model = NULL;
    QrGraph *graph = qr_graph_new ("test");
    int two = 2;
    float axes[] = { 1, 2 };
    QrNode *node = one_node_graph (graph, QR_OP_MEAN, 4, dims);
    int a = add_const (graph, "axes", 1, &two, NULL, axes);
    float want[8] = { 0 };
    const float *y;
    node = qr_graph_node (graph, 1);
    node->inputs[node->n_inputs++] = a;
    node->keep_dims = TRUE;
    y = run_graph (graph, x, &model);
    for (int n = 0; n < 2; n++)
      for (int p = 0; p < 15; p++)
        for (int c = 0; c < 4; c++)
          want[n * 4 + c] += x[(n * 15 + p) * 4 + c] / 15.0f;
    assert_close (y, want, 8, 1e-5);
  }
  /* The two fast paths at a width that leaves a part block of 16 channels: H and W averaged
   * ([2, 3, 5, 21] → [2, 1, 1, 21]) and the last axis summed ([2, 3, 5, 21] → [2, 3, 5, 1]). */
  for (int last = 0; last < 2; last++)
    {
      g_autoptr (QrModel) model = NULL;
      QrGraph *graph = qr_graph_new ("test");
      int big[4] = { 2, 3, 5, 21 }, n_axes = last ? 1 : 2;
      float axes[2] = { last ? 3 : 1, 2 };
      g_autofree float *input = random_input (rand, 2 * 3 * 5 * 21);
      g_autofree float *want = g_new0 (float, 2 * 3 * 5 * 21);
      QrNode *node = one_node_graph (graph, QR_OP_MEAN, 4, big);
      int a = add_const (graph, "axes", 1, &n_axes, NULL, axes);
      const float *y;
      node = qr_graph_node (graph, 1);
      node->inputs[node->n_inputs++] = a;
      node->keep_dims = TRUE;
      node->reduce = last ? QR_REDUCE_SUM : QR_REDUCE_MEAN;
      y = run_graph (graph, input, &model);
      for (int n = 0; n < 2; n++)
        for (int p = 0; p < 15; p++)
          for (int c = 0; c < 21; c++)
            {
              float v = input[(n * 15 + p) * 21 + c];
              if (last)
                want[n * 15 + p] += v;
              else
                want[n * 21 + c] += v / 15.0f;
            }
      assert_close (y, want, last ? 30 : 42, 1e-5);
    }
  /* Transpose NHWC → NCHW. */
  {
    g_autoptr (QrModel) model = NULL;
    QrGraph *graph = qr_graph_new ("test");
    int four = 4;
    float perm[] = { 0, 3, 1, 2 };
    QrNode *node = one_node_graph (graph, QR_OP_TRANSPOSE, 4, dims);
    int p = add_const (graph, "perm", 1, &four, NULL, perm);
    const float *y;
    node = qr_graph_node (graph, 1);
    node->inputs[node->n_inputs++] = p;
    y = run_graph (graph, x, &model);
    for (int n = 0; n < 2; n++)
      for (int c = 0; c < 4; c++)
        for (int h = 0; h < 3; h++)
          for (int w = 0; w < 5; w++)
            g_assert_cmpfloat (y[((n * 4 + c) * 3 + h) * 5 + w], ==, x[((n * 3 + h) * 5 + w) * 4 + c]);
  }
  /* Pad with 1 before and 2 after W, value 0. */
  {
    g_autoptr (QrModel) model = NULL;
    int pd[2] = { 4, 2 };
    float pads[] = { 0, 0, 0, 0, 1, 2, 0, 0 };
    QrShape s;
    const float *y = run_with_const (QR_OP_PAD, 4, dims, x, 2, pd, pads, NULL, &model, &s);
    for (int n = 0; n < 2; n++)
      for (int h = 0; h < 3; h++)
        for (int w = 0; w < 8; w++)
          for (int c = 0; c < 4; c++)
            g_assert_cmpfloat (y[((n * 3 + h) * 8 + w) * 4 + c], ==,
                               w >= 1 && w < 6 ? x[((n * 3 + h) * 5 + (w - 1)) * 4 + c] : 0.0f);
  }
  /* Padding on every axis, the last included (rows are copied whole) */
  {
    g_autoptr (QrModel) model = NULL;
    int pd[2] = { 4, 2 }, before[4] = { 1, 0, 1, 2 }, od[4] = { 2 + 1, 3 + 2, 5 + 2, 4 + 3 };
    float pads[] = { 1, 0, 0, 2, 1, 1, 2, 1 };
    QrShape s;
    const float *y = run_with_const (QR_OP_PAD, 4, dims, x, 2, pd, pads, NULL, &model, &s);
    for (int d = 0; d < 4; d++)
      g_assert_cmpint (s.dims[d], ==, od[d]);
    for (int n = 0; n < od[0]; n++)
      for (int h = 0; h < od[1]; h++)
        for (int w = 0; w < od[2]; w++)
          for (int c = 0; c < od[3]; c++)
            {
              int i[4] = { n - before[0], h - before[1], w - before[2], c - before[3] };
              gboolean inside = TRUE;
              for (int d = 0; d < 4; d++)
                inside = inside && i[d] >= 0 && i[d] < dims[d];
              g_assert_cmpfloat (y[((n * od[1] + h) * od[2] + w) * od[3] + c], ==,
                                 inside ? x[((i[0] * 3 + i[1]) * 5 + i[2]) * 4 + i[3]] : 0.0f);
            }
  }
  /* Max pooling 3×3 stride 2 SAME: padding never wins. */
  {
    g_autoptr (QrModel) model = NULL;
    QrGraph *graph = qr_graph_new ("test");
    QrNode *node = one_node_graph (graph, QR_OP_MAXPOOL, 4, dims);
    const float *y;
    node->kernel[0] = node->kernel[1] = 3;
    node->stride[0] = node->stride[1] = 2;
    node->padding = QR_PAD_SAME;
    y = run_graph (graph, x, &model);
    /* output 2 × 3; element (n, 0, 0, c) is the max of rows 0..1, cols 0..1 (pad top/left 0) */
    for (int n = 0; n < 2; n++)
      for (int c = 0; c < 4; c++)
        {
          float m = -INFINITY;
          for (int h = 0; h < 2; h++)
            for (int w = 0; w < 2; w++)
              m = fmaxf (m, x[((n * 3 + h) * 5 + w) * 4 + c]);
          g_assert_cmpfloat (y[((n * 2 + 0) * 3 + 0) * 4 + c], ==, m);
        }
  }
  g_rand_free (rand);
}

static void
strided_setup (QrNode *node)
{
  node->strided = TRUE;
  node->end_mask = 1 << 3;     /* the last dimension runs to its end */
  node->shrink_mask = 1 << 0;  /* the batch dimension goes */
}

static void
swap_setup (QrNode *node)
{
  int t = node->inputs[0];
  node->inputs[0] = node->inputs[1];
  node->inputs[1] = t;
}

static void
test_more_ops (void)
{
  GRand *rand = g_rand_new_with_seed (11);
  int dims[4] = { 2, 3, 4, 5 };
  gsize n = 2 * 3 * 4 * 5;
  g_autofree float *x = random_input (rand, n);

  /* Broadcasting: [2, 3, 4, 5] − [3, 1, 5]. */
  {
    g_autoptr (QrModel) model = NULL;
    int c_dims[3] = { 3, 1, 5 };
    float c[15];
    QrShape s;
    const float *y;
    for (int i = 0; i < 15; i++)
      c[i] = (float) i;
    y = run_with_const (QR_OP_SUB, 4, dims, x, 3, c_dims, c, NULL, &model, &s);
    for (int a = 0; a < 2; a++)
      for (int b = 0; b < 3; b++)
        for (int h = 0; h < 4; h++)
          for (int w = 0; w < 5; w++)
            g_assert_cmpfloat (y[((a * 3 + b) * 4 + h) * 5 + w], ==, x[((a * 3 + b) * 4 + h) * 5 + w] - c[b * 5 + w]);
  }
  /* Per-channel vector with one row per batch item: [2, 3, 4, 5] · [2, 1, 1, 5]. */
  {
    g_autoptr (QrModel) model = NULL;
    int c_dims[4] = { 2, 1, 1, 5 };
    float c[10];
    QrShape s;
    const float *y;
    for (int i = 0; i < 10; i++)
      c[i] = (float) (i + 1);
    y = run_with_const (QR_OP_MUL, 4, dims, x, 4, c_dims, c, NULL, &model, &s);
    for (int a = 0; a < 2; a++)
      for (int p = 0; p < 12; p++)
        for (int w = 0; w < 5; w++)
          g_assert_cmpfloat (y[(a * 12 + p) * 5 + w], ==, x[(a * 12 + p) * 5 + w] * c[a * 5 + w]);
  }
  /* A value per row, either side (layer norm's decomposed form): [2, 3, 4, 5] / [2, 3, 4, 1] and
   * [2, 3, 4, 1] − [2, 3, 4, 5]. */
  for (int swapped = 0; swapped < 2; swapped++)
    {
      g_autoptr (QrModel) model = NULL;
      int c_dims[4] = { 2, 3, 4, 1 };
      float c[24];
      QrShape s;
      const float *y;
      for (int i = 0; i < 24; i++)
        c[i] = (float) (i + 1);
      y = run_with_const (swapped ? QR_OP_SUB : QR_OP_DIV, 4, dims, x, 4, c_dims, c, swapped ? swap_setup : NULL,
                          &model, &s);
      g_assert_cmpint (s.dims[3], ==, 5);
      for (int r = 0; r < 24; r++)
        for (int w = 0; w < 5; w++)
          g_assert_cmpfloat (y[r * 5 + w], ==, swapped ? c[r] - x[r * 5 + w] : x[r * 5 + w] / c[r]);
    }
  /* Slice: begin [0, 0, 1, 2], size [1, -1, 2, 3]. */
  {
    g_autoptr (QrModel) model = NULL;
    QrGraph *graph = qr_graph_new ("test");
    int four = 4;
    float begin[] = { 0, 0, 1, 2 }, size[] = { 1, -1, 2, 3 };
    QrNode *node = one_node_graph (graph, QR_OP_SLICE, 4, dims);
    int b = add_const (graph, "begin", 1, &four, NULL, begin), e = add_const (graph, "size", 1, &four, NULL, size);
    const float *y;
    node = qr_graph_node (graph, 1);
    node->inputs[node->n_inputs++] = b;
    node->inputs[node->n_inputs++] = e;
    y = run_graph (graph, x, &model);
    for (int c = 0; c < 3; c++)
      for (int h = 0; h < 2; h++)
        for (int w = 0; w < 3; w++)
          g_assert_cmpfloat (y[(c * 2 + h) * 3 + w], ==, x[((0 * 3 + c) * 4 + (h + 1)) * 5 + (w + 2)]);
  }
  /* StridedSlice: [0, 0:3:2, 3:0:-1, 1:] with the batch shrunk away. */
  {
    g_autoptr (QrModel) model = NULL;
    QrGraph *graph = qr_graph_new ("test");
    int four = 4;
    float begin[] = { 0, 0, 3, 1 }, end[] = { 1, 3, 0, 0 }, strides[] = { 1, 2, -1, 1 };
    QrNode *node = one_node_graph (graph, QR_OP_SLICE, 4, dims);
    int b = add_const (graph, "begin", 1, &four, NULL, begin), e = add_const (graph, "end", 1, &four, NULL, end);
    int st = add_const (graph, "strides", 1, &four, NULL, strides);
    const float *y;
    QrShape *s;
    node = qr_graph_node (graph, 1);
    node->inputs[node->n_inputs++] = b;
    node->inputs[node->n_inputs++] = e;
    node->inputs[node->n_inputs++] = st;
    strided_setup (node);
    y = run_graph (graph, x, &model);
    s = &qr_graph_tensor (graph, node->outputs[0])->shape;
    g_assert_cmpint (s->rank, ==, 3);
    g_assert_cmpint (s->dims[0], ==, 2);
    g_assert_cmpint (s->dims[1], ==, 3);
    g_assert_cmpint (s->dims[2], ==, 4);
    for (int c = 0; c < 2; c++)
      for (int h = 0; h < 3; h++)
        for (int w = 0; w < 4; w++)
          g_assert_cmpfloat (y[(c * 3 + h) * 4 + w], ==, x[((0 * 3 + c * 2) * 4 + (3 - h)) * 5 + (w + 1)]);
  }
  /* Softmax over the last axis sums to one and keeps order. */
  {
    g_autoptr (QrModel) model = NULL;
    QrShape s;
    const float *y = run_with_const (QR_OP_SOFTMAX, 4, dims, x, -1, NULL, NULL, NULL, &model, &s);
    for (gsize r = 0; r < n / 5; r++)
      {
        double sum = 0;
        for (int i = 0; i < 5; i++)
          {
            double want = 0, norm = 0, max = -INFINITY;
            for (int j = 0; j < 5; j++)
              max = MAX (max, x[r * 5 + j]);
            for (int j = 0; j < 5; j++)
              norm += exp (x[r * 5 + j] - max);
            want = exp (x[r * 5 + i] - max) / norm;
            g_assert_cmpfloat (fabs (y[r * 5 + i] - want), <, 1e-6);
            sum += y[r * 5 + i];
          }
        g_assert_cmpfloat (fabs (sum - 1), <, 1e-5);
      }
  }
  /* Activations against their formulas. */
  {
    static const QrActivation acts[] = { QR_ACT_RELU, QR_ACT_RELU6, QR_ACT_LEAKY_RELU, QR_ACT_SIGMOID, QR_ACT_HARD_SWISH,
                                         QR_ACT_SWISH, QR_ACT_MISH };
    g_autofree float *big = g_new (float, n);
    for (gsize i = 0; i < n; i++)
      big[i] = x[i] * 8;
    for (guint a = 0; a < G_N_ELEMENTS (acts); a++)
      {
        g_autoptr (QrModel) model = NULL;
        QrGraph *graph = qr_graph_new ("test");
        QrNode *node = one_node_graph (graph, QR_OP_ACTIVATION, 4, dims);
        const float *y;
        node->act = acts[a];
        node->alpha = acts[a] == QR_ACT_HARD_SWISH ? 1.0f / 6.0f : 0.1f;
        y = run_graph (graph, big, &model);
        for (gsize i = 0; i < n; i++)
          {
            double v = big[i], want;
            switch (acts[a])
              {
              case QR_ACT_RELU: want = MAX (v, 0); break;
              case QR_ACT_RELU6: want = MIN (MAX (v, 0), 6); break;
              case QR_ACT_LEAKY_RELU: want = v > 0 ? v : 0.1 * v; break;
              case QR_ACT_SIGMOID: want = 1 / (1 + exp (-v)); break;
              case QR_ACT_HARD_SWISH: want = v * MIN (MAX (v + 3, 0), 6) / 6; break;
              case QR_ACT_SWISH: want = v / (1 + exp (-v)); break;
              case QR_ACT_MISH: want = v * tanh (log1p (exp (v))); break;
              default: want = v;
              }
            g_assert_cmpfloat (fabs (y[i] - want), <, 1e-5 * MAX (1, fabs (want)));
          }
      }
  }
  g_rand_free (rand);
}

/* conv → Mul (per-channel scale) → Add (per-channel shift) → Relu: the rewrites fold all four into
 * one convolution; the result must equal the four ops computed plainly. */
static void
test_rewrites_fold (void)
{
  GRand *rand = g_rand_new_with_seed (5);
  QrGraph *graph = qr_graph_new ("test");
  int dims[4] = { 1, 6, 7, 3 }, w_dims[4] = { 3, 3, 3, 4 }, four = 4;
  g_autofree float *x = random_input (rand, 6 * 7 * 3);
  g_autoptr (QrModel) model = NULL;
  QrNode *conv = one_node_graph (graph, QR_OP_CONV2D, 4, dims);
  int w = add_const (graph, "w", 4, w_dims, rand, NULL);
  int scale = add_const (graph, "scale", 1, &four, rand, NULL);
  int shift = add_const (graph, "shift", 1, &four, rand, NULL);
  int t1 = qr_graph_node (graph, 1)->outputs[0], t2, t3, y;
  const char *names[] = { "mul", "add", "relu" };
  const float *out;
  g_autofree float *want = g_new0 (float, 6 * 7 * 4);
  g_autofree double *sums = g_new0 (double, 6 * 7 * 4);
  float *wd, *sd, *hd;

  conv = qr_graph_node (graph, 1);
  conv->inputs[conv->n_inputs++] = w;
  conv->padding = QR_PAD_SAME;
  /* rename the conv's output so that "y" is the last op's */
  g_hash_table_remove (graph->by_name, "y");
  g_array_set_size (graph->outputs, 0);
  for (int k = 0; k < 3; k++)
    {
      QrNode *node = qr_graph_add_node (graph, k == 0 ? QR_OP_MUL : k == 1 ? QR_OP_ADD : QR_OP_ACTIVATION, names[k]);
      int out_id = qr_graph_add_tensor (graph, k == 2 ? "y" : names[k]);
      node->inputs[node->n_inputs++] = k == 0 ? t1 : k == 1 ? t2 : t3;
      if (k == 0)
        node->inputs[node->n_inputs++] = scale;
      if (k == 1)
        node->inputs[node->n_inputs++] = shift;
      if (k == 2)
        node->act = QR_ACT_RELU;
      node->outputs[node->n_outputs++] = out_id;
      qr_graph_tensor (graph, out_id)->producer = (int) graph->nodes->len - 1;
      if (k == 0)
        t2 = out_id;
      else if (k == 1)
        t3 = out_id;
      else
        y = out_id;
    }
  g_array_append_val (graph->outputs, y);
  wd = qr_graph_tensor (graph, w)->data;
  sd = qr_graph_tensor (graph, scale)->data;
  hd = qr_graph_tensor (graph, shift)->data;
  naive_conv (x, 1, 6, 7, 3, wd, NULL, 4, 3, 1, 1, 1, 1, 6, 7, FALSE, sums);
  for (int i = 0; i < 6 * 7 * 4; i++)
    want[i] = (float) MAX (sums[i] * sd[i % 4] + hd[i % 4], 0.0);
  out = run_graph (graph, x, &model);
  g_assert_cmpuint (graph->order->len, ==, 2); /* the input and one convolution */
  assert_close (out, want, 6 * 7 * 4, 1e-5);
  g_rand_free (rand);
}

/* SiLU as exporters write it: conv → s = sigmoid (c), y = c · s (either side). Recognised as one
 * swish, it fuses into the convolution; with s also an output of the graph nothing changes. */
static int
add_op (QrGraph *graph, QrOpType op, QrActivation act, const char *name, int a, int b)
{
  QrNode *node = qr_graph_add_node (graph, op, name);
  int out = qr_graph_add_tensor (graph, name);
  node = qr_graph_node (graph, (int) graph->nodes->len - 1);
  node->act = act;
  node->inputs[node->n_inputs++] = a;
  if (b >= 0)
    node->inputs[node->n_inputs++] = b;
  node->outputs[node->n_outputs++] = out;
  qr_graph_tensor (graph, out)->producer = (int) graph->nodes->len - 1;
  return out;
}

static void
test_rewrites_swish (void)
{
  for (int variant = 0; variant < 3; variant++)
    {
      GRand *rand = g_rand_new_with_seed (11);
      QrGraph *graph = qr_graph_new ("test");
      int dims[4] = { 2, 5, 6, 3 }, w_dims[4] = { 3, 3, 3, 4 };
      g_autofree float *x = random_input (rand, 2 * 5 * 6 * 3);
      g_autofree float *want = g_new0 (float, 2 * 5 * 6 * 4);
      g_autofree double *sums = g_new0 (double, 2 * 5 * 6 * 4);
      g_autoptr (QrModel) model = NULL;
      QrNode *conv = one_node_graph (graph, QR_OP_CONV2D, 4, dims);
      int w = add_const (graph, "w", 4, w_dims, rand, NULL);
      int c, s, y;
      const float *wd, *out;

      conv = qr_graph_node (graph, 1);
      conv->inputs[conv->n_inputs++] = w;
      conv->padding = QR_PAD_SAME;
      g_hash_table_remove (graph->by_name, "y");
      g_array_set_size (graph->outputs, 0);
      c = conv->outputs[0];
      s = add_op (graph, QR_OP_ACTIVATION, QR_ACT_SIGMOID, "s", c, -1);
      y = variant == 1 ? add_op (graph, QR_OP_MUL, QR_ACT_NONE, "y", s, c) : add_op (graph, QR_OP_MUL, QR_ACT_NONE, "y", c, s);
      g_array_append_val (graph->outputs, y);
      if (variant == 2)
        g_array_append_val (graph->outputs, s);
      wd = qr_graph_tensor (graph, w)->data;
      naive_conv (x, 2, 5, 6, 3, wd, NULL, 4, 3, 1, 1, 1, 1, 5, 6, FALSE, sums);
      for (int i = 0; i < 2 * 5 * 6 * 4; i++)
        want[i] = (float) (sums[i] / (1 + exp (-sums[i])));
      out = run_graph (graph, x, &model);
      /* the input and one convolution, or (s an output) all four nodes */
      g_assert_cmpuint (graph->order->len, ==, variant == 2 ? 4 : 2);
      if (variant < 2)
        g_assert_cmpint (qr_graph_node (graph, g_array_index (graph->order, int, 1))->act, ==, QR_ACT_SWISH);
      assert_close (out, want, 2 * 5 * 6 * 4, 1e-5);
      g_rand_free (rand);
    }
}

/* Sigmoid, swish and mish run with an exponential written for the vectoriser: against double
 * precision over [-100, 100] (both tails, where the exponential is clamped), in a length that
 * leaves a tail for the scalar loop: within 1e-6 relative wherever either is 1e-30 or more. */
static void
test_exp_activations_range (void)
{
  static const QrActivation acts[] = { QR_ACT_SIGMOID, QR_ACT_SWISH, QR_ACT_MISH };
  for (guint which = 0; which < G_N_ELEMENTS (acts); which++)
    {
      g_autoptr (QrModel) model = NULL;
      QrGraph *graph = qr_graph_new ("test");
      int dims[4] = { 1, 1, 1, 20003 };
      g_autofree float *x = g_new (float, 20003);
      QrNode *node = one_node_graph (graph, QR_OP_ACTIVATION, 4, dims);
      const float *y;
      double worst = 0;

      for (int i = 0; i < 20003; i++)
        x[i] = -100.0f + 200.0f * (float) i / 20002.0f;
      x[7] = 0.0f;
      x[8] = -0.0f;
      x[9] = 1e-30f;
      node->act = acts[which];
      y = run_graph (graph, x, &model);
      for (int i = 0; i < 20003; i++)
        {
          double v = x[i], s = 1 / (1 + exp (-v));
          double want = acts[which] == QR_ACT_SIGMOID ? s : acts[which] == QR_ACT_SWISH ? v * s : v * tanh (log1p (exp (v)));
          g_assert_true (isfinite (y[i]));
          /* in the far tails both below 1e-30: zero for any network (sigmoid and swish give 0
             there, mish x · e^−87) */
          if (fabs (want) < 1e-30 && fabs (y[i]) < 1e-30)
            continue;
          worst = MAX (worst, fabs (y[i] - want) / fabs (want));
        }
      g_test_message ("activation %d: worst relative error %.3g", acts[which], worst);
      g_assert_cmpfloat (worst, <, 1e-6);
    }
  /* Softmax through the same exponential: rows of 1, 3, 16, 50 and 77 values spread over
   * [−120, 120] (differences past 87, where a share counts as 0), against double precision: each
   * value within 1e-6 relative of its true share plus what rounding x − max to a float costs
   * (half a float's step at |x − max|, 2⁻²⁴ of it relative in e^(x − max)); those below 1e-30
   * zero or as small. */
  {
    static const int widths[] = { 1, 3, 16, 50, 77 };
    GRand *rand = g_rand_new_with_seed (7);
    for (guint k = 0; k < G_N_ELEMENTS (widths); k++)
      {
        g_autoptr (QrModel) model = NULL;
        int width = widths[k], dims[4] = { 1, 3, 67, width };   /* 201 rows: blocks of 64 and a part one */
        gsize n = (gsize) 201 * (gsize) width;
        g_autofree float *x = g_new (float, n);
        const float *y;
        double worst = 0;
        QrShape s;

        for (gsize i = 0; i < n; i++)
          x[i] = (float) g_rand_double_range (rand, -120.0, 120.0) * (i % 3 == 0 ? 1.0f : 0.05f);
        y = run_with_const (QR_OP_SOFTMAX, 4, dims, x, -1, NULL, NULL, NULL, &model, &s);
        for (gsize r = 0; r < 201; r++)
          {
            double max = -INFINITY, norm = 0;
            for (int j = 0; j < width; j++)
              max = MAX (max, x[r * width + j]);
            for (int j = 0; j < width; j++)
              norm += exp ((double) x[r * width + j] - max);
            for (int j = 0; j < width; j++)
              {
                double t = (double) x[r * width + j] - max, want = exp (t) / norm, got = y[r * width + j];
                g_assert_true (isfinite (got) && got >= 0);
                if (want < 1e-30 && got < 1e-30)
                  continue;
                worst = MAX (worst, fabs (got - want) / want / (1e-6 + fabs (t) * 0x1p-24));
              }
          }
        g_test_message ("softmax of %d: worst error %.3g of the allowance", width, worst);
        g_assert_cmpfloat (worst, <, 1.0);
      }
    g_rand_free (rand);
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_data_func ("/engine/ops/conv-and-depthwise", NULL, test_conv);
  g_test_add_func ("/engine/ops/resize-modes", test_resize);
  g_test_add_func ("/engine/ops/mean-transpose-pad-maxpool", test_small_ops);
  g_test_add_func ("/engine/ops/broadcast-slice-softmax-activations", test_more_ops);
  g_test_add_func ("/engine/ops/sigmoid-swish-mish-softmax-range", test_exp_activations_range);
  g_test_add_func ("/engine/rewrites/scale-bias-activation-fold-into-conv", test_rewrites_fold);
  g_test_add_func ("/engine/rewrites/sigmoid-times-input-is-swish", test_rewrites_swish);
  return g_test_run ();
}

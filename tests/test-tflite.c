/* test-tflite.c: the TFLite reader and the SSD / BlazeFace decoders.
 *
 * A small model is written here as a flatbuffer by hand (CONV_2D with fp16 filters behind a
 * DEQUANTIZE, DEPTHWISE_CONV_2D, ADD with a fused ReLU, PAD, MAX_POOL_2D, RESHAPE, CONCATENATION,
 * RESIZE_BILINEAR, LOGISTIC) and its outputs are checked against naive loops written below from
 * TFLite's documented semantics. The real pretrained models run on real photos: the SSD finds the
 * dog, the cat, the person; BlazeFace the faces. Damaged files give errors, never crashes. */
#include "qr-tflite.h"
#include "qr-detector.h"
#include "engine-private.h"
#include "test-util.h"

#include <math.h>
#include <string.h>

#define MODELS_DIR QUORUM_SOURCE_DIR "/../shared/models/pretrained"
#define IMAGES_DIR QUORUM_SOURCE_DIR "/../shared/images"

/* A flatbuffer writer, parents before children (unsigned offsets point forward). ------------- */

typedef enum { FB_TABLE, FB_TABLES, FB_INTS, FB_BYTES, FB_STRING } FbKind;

typedef struct FbNode FbNode;
typedef struct
{
  int      id;
  gboolean is_ref;
  guint32  scalar;
  FbNode  *child;
} FbField;

struct FbNode
{
  FbKind     kind;
  GArray    *fields;   /* FbField, for tables */
  GPtrArray *items;    /* FbNode*, for vectors of tables */
  GArray    *ints;     /* gint32 */
  GByteArray *bytes;
  char      *string;
};

static GPtrArray *all_nodes;

static FbNode *
fb_new (FbKind kind)
{
  FbNode *n = g_new0 (FbNode, 1);
  n->kind = kind;
  n->fields = g_array_new (FALSE, TRUE, sizeof (FbField));
  n->items = g_ptr_array_new ();
  n->ints = g_array_new (FALSE, TRUE, sizeof (gint32));
  n->bytes = g_byte_array_new ();
  g_ptr_array_add (all_nodes, n);
  return n;
}

static void
fb_free (gpointer data)
{
  FbNode *n = data;
  g_array_unref (n->fields);
  g_ptr_array_unref (n->items);
  g_array_unref (n->ints);
  g_byte_array_unref (n->bytes);
  g_free (n->string);
  g_free (n);
}

static FbNode *
fb_scalar (FbNode *table, int id, guint32 value)
{
  FbField f = { id, FALSE, value, NULL };
  g_array_append_val (table->fields, f);
  return table;
}

static FbNode *
fb_ref (FbNode *table, int id, FbNode *child)
{
  FbField f = { id, TRUE, 0, child };
  g_array_append_val (table->fields, f);
  return table;
}

static FbNode *
fb_ints (int n, const gint32 *values)
{
  FbNode *v = fb_new (FB_INTS);
  g_array_append_vals (v->ints, values, (guint) n);
  return v;
}

static FbNode *
fb_string (const char *s)
{
  FbNode *v = fb_new (FB_STRING);
  v->string = g_strdup (s);
  return v;
}

static void
put32 (GByteArray *out, gsize at, guint32 v)
{
  v = GUINT32_TO_LE (v);
  memcpy (out->data + at, &v, 4);
}

static void
pad4 (GByteArray *out)
{
  static const guint8 zero[4] = { 0 };
  if (out->len % 4)
    g_byte_array_append (out, zero, 4 - out->len % 4);
}

static gsize
fb_write (GByteArray *out, FbNode *n)
{
  static const guint8 zero[4] = { 0 };
  gsize start;

  pad4 (out);
  switch (n->kind)
    {
    case FB_TABLE:
      {
        int max_id = -1;
        gsize vtable, table, vsize;
        for (guint i = 0; i < n->fields->len; i++)
          max_id = MAX (max_id, g_array_index (n->fields, FbField, i).id);
        vsize = 4 + 2 * (gsize) (max_id + 1);
        vsize = (vsize + 3) & ~(gsize) 3;
        vtable = out->len;
        for (gsize i = 0; i < vsize; i++)
          g_byte_array_append (out, zero, 1);
        table = out->len;
        g_byte_array_append (out, zero, 4);
        put32 (out, table, (guint32) (table - vtable));
        out->data[vtable] = (guint8) (4 + 2 * (max_id + 1));
        out->data[vtable + 2] = (guint8) (4 + 4 * n->fields->len);
        for (guint i = 0; i < n->fields->len; i++)
          {
            FbField *f = &g_array_index (n->fields, FbField, i);
            guint16 off = (guint16) (out->len - table);
            memcpy (out->data + vtable + 4 + 2 * f->id, &off, 2);
            g_byte_array_append (out, zero, 4);
            put32 (out, table + off, f->scalar);
          }
        for (guint i = 0; i < n->fields->len; i++)
          {
            FbField *f = &g_array_index (n->fields, FbField, i);
            guint16 off;
            memcpy (&off, out->data + vtable + 4 + 2 * f->id, 2);
            if (f->is_ref)
              {
                gsize child = fb_write (out, f->child);
                put32 (out, table + off, (guint32) (child - (table + off)));
              }
          }
        return table;
      }
    case FB_TABLES:
      start = out->len;
      g_byte_array_append (out, zero, 4);
      put32 (out, start, n->items->len);
      for (guint i = 0; i < n->items->len; i++)
        g_byte_array_append (out, zero, 4);
      for (guint i = 0; i < n->items->len; i++)
        {
          gsize child = fb_write (out, n->items->pdata[i]);
          put32 (out, start + 4 + 4 * i, (guint32) (child - (start + 4 + 4 * i)));
        }
      return start;
    case FB_INTS:
      start = out->len;
      g_byte_array_append (out, zero, 4);
      put32 (out, start, n->ints->len);
      for (guint i = 0; i < n->ints->len; i++)
        {
          g_byte_array_append (out, zero, 4);
          put32 (out, out->len - 4, (guint32) g_array_index (n->ints, gint32, i));
        }
      return start;
    case FB_BYTES:
    case FB_STRING:
      {
        const guint8 *data = n->kind == FB_BYTES ? n->bytes->data : (const guint8 *) n->string;
        guint len = n->kind == FB_BYTES ? n->bytes->len : (guint) strlen (n->string);
        start = out->len;
        g_byte_array_append (out, zero, 4);
        put32 (out, start, len);
        g_byte_array_append (out, data, len);
        g_byte_array_append (out, zero, 1);
        return start;
      }
    }
  return 0;
}

/* The model being built ----------------------------------------------------------------------- */

typedef struct
{
  FbNode *tensors, *buffers, *operators, *opcodes;
  int     n_tensors;
} Model;

static int
tensor (Model *m, const char *name, int rank, const int *dims, int type, const void *data, gsize n_bytes)
{
  FbNode *t = fb_new (FB_TABLE), *buffer = fb_new (FB_TABLE);
  fb_ref (t, 0, fb_ints (rank, dims));
  fb_scalar (t, 1, (guint32) type);
  fb_scalar (t, 2, m->buffers->items->len);
  fb_ref (t, 3, fb_string (name));
  if (data != NULL)
    {
      FbNode *bytes = fb_new (FB_BYTES);
      g_byte_array_append (bytes->bytes, data, (guint) n_bytes);
      fb_ref (buffer, 0, bytes);
    }
  g_ptr_array_add (m->buffers->items, buffer);
  g_ptr_array_add (m->tensors->items, t);
  return m->n_tensors++;
}

static FbNode *
op (Model *m, int code, int n_in, const int *in, int out, FbNode *options)
{
  FbNode *o = fb_new (FB_TABLE), *oc = fb_new (FB_TABLE);
  int index = (int) m->opcodes->items->len;
  fb_scalar (oc, 0, (guint32) MIN (code, 127));
  fb_scalar (oc, 3, (guint32) code);
  g_ptr_array_add (m->opcodes->items, oc);
  fb_scalar (o, 0, (guint32) index);
  fb_ref (o, 1, fb_ints (n_in, in));
  fb_ref (o, 2, fb_ints (1, &out));
  if (options != NULL)
    fb_ref (o, 4, options);
  g_ptr_array_add (m->operators->items, o);
  return o;
}

static guint16
to_half (float f)
{
  /* exact for the values used here: multiples of 1/64 within ±2 */
  guint32 bits, sign, exp, mant;
  memcpy (&bits, &f, 4);
  sign = (bits >> 16) & 0x8000;
  if ((bits & 0x7fffffff) == 0)
    return (guint16) sign;
  exp = ((bits >> 23) & 0xff) - 127 + 15;
  mant = (bits >> 13) & 0x3ff;
  return (guint16) (sign | (exp << 10) | mant);
}

/* Naive TFLite semantics --------------------------------------------------------------------- */

static int
same_pad (int in, int k, int s, int *out)
{
  int total;
  *out = (in + s - 1) / s;
  total = MAX ((*out - 1) * s + k - in, 0);
  return total / 2;
}

static float
clampf (float v, float lo, float hi)
{
  return v < lo ? lo : v > hi ? hi : v;
}

static void
test_synthetic_model (void)
{
  g_autoptr (GPtrArray) nodes = g_ptr_array_new_with_free_func (fb_free);
  g_autofree char *tmp = test_make_tmpdir ();
  g_autofree char *path = g_build_filename (tmp, "tiny.tflite", NULL);
  g_autoptr (GByteArray) file = g_byte_array_new ();
  g_autoptr (GError) error = NULL;
  g_autoptr (GRand) rand = g_rand_new_with_seed (7);
  Model m = { 0 };
  enum { H = 9, W = 9, C = 3, F = 4 };
  float x[H * W * C], conv_w[F * 3 * 3 * C], conv_b[F], dw_w[3 * 3 * F], dw_b[F];
  guint16 conv_w16[F * 3 * 3 * C];
  int root_id;

  all_nodes = nodes;
  m.tensors = fb_new (FB_TABLES);
  m.buffers = fb_new (FB_TABLES);
  m.operators = fb_new (FB_TABLES);
  m.opcodes = fb_new (FB_TABLES);
  tensor (&m, "sentinel-buffer-0", 0, NULL, 0, NULL, 0);   /* buffer 0 stays empty */
  m.n_tensors = 0;
  g_ptr_array_remove_index (m.tensors->items, 0);

  for (int i = 0; i < H * W * C; i++)
    x[i] = (float) g_rand_double_range (rand, -1, 1);
  for (int i = 0; i < F * 9 * C; i++)
    {
      conv_w[i] = (float) g_rand_int_range (rand, -64, 64) / 64.0f;
      conv_w16[i] = to_half (conv_w[i]);
    }
  for (int i = 0; i < F; i++)
    {
      conv_b[i] = (float) g_rand_double_range (rand, -0.5, 0.5);
      dw_b[i] = (float) g_rand_double_range (rand, -0.5, 0.5);
    }
  for (int i = 0; i < 9 * F; i++)
    dw_w[i] = (float) g_rand_double_range (rand, -1, 1);

  {
    int in_dims[4] = { 1, H, W, C }, w_dims[4] = { F, 3, 3, C }, b_dims[1] = { F }, dw_dims[4] = { 1, 3, 3, F };
    int conv_dims[4] = { 1, 5, 5, F }, pad_dims[2] = { 4, 2 }, padded_dims[4] = { 1, 6, 7, F };
    int pool_dims[4] = { 1, 3, 3, F }, flat_dims[2] = { 1, 36 }, cat_dims[2] = { 1, 72 };
    int size_dims[1] = { 2 }, resized_dims[4] = { 1, 8, 7, F };
    gint32 paddings[8] = { 0, 0, 1, 0, 0, 2, 0, 0 }, size[2] = { 8, 7 };
    int t_in = tensor (&m, "input", 4, in_dims, 0, NULL, 0);
    int t_w16 = tensor (&m, "conv/filter_fp16", 4, w_dims, 1, conv_w16, sizeof conv_w16);
    int t_w = tensor (&m, "conv/filter", 4, w_dims, 0, NULL, 0);
    int t_b = tensor (&m, "conv/bias", 1, b_dims, 0, conv_b, sizeof conv_b);
    int t_conv = tensor (&m, "conv", 4, conv_dims, 0, NULL, 0);
    int t_dw_w = tensor (&m, "dw/filter", 4, dw_dims, 0, dw_w, sizeof dw_w);
    int t_dw_b = tensor (&m, "dw/bias", 1, b_dims, 0, dw_b, sizeof dw_b);
    int t_dw = tensor (&m, "dw", 4, conv_dims, 0, NULL, 0);
    int t_add = tensor (&m, "add", 4, conv_dims, 0, NULL, 0);
    int t_pads = tensor (&m, "paddings", 2, pad_dims, 2, paddings, sizeof paddings);
    int t_padded = tensor (&m, "padded", 4, padded_dims, 0, NULL, 0);
    int t_pool = tensor (&m, "pool", 4, pool_dims, 0, NULL, 0);
    int t_flat = tensor (&m, "flat", 2, flat_dims, 0, NULL, 0);
    int t_sig = tensor (&m, "sigmoid", 2, flat_dims, 0, NULL, 0);
    int t_cat = tensor (&m, "concat", 2, cat_dims, 0, NULL, 0);
    int t_size = tensor (&m, "size", 1, size_dims, 2, size, sizeof size);
    int t_resized = tensor (&m, "resized", 4, resized_dims, 0, NULL, 0);
    FbNode *o;

    op (&m, 6, 1, (int[]) { t_w16 }, t_w, NULL);                                  /* DEQUANTIZE */
    o = fb_new (FB_TABLE);                                                        /* Conv2DOptions */
    fb_scalar (o, 0, 0), fb_scalar (o, 1, 2), fb_scalar (o, 2, 2), fb_scalar (o, 3, 3);   /* SAME, 2, 2, RELU6 */
    op (&m, 3, 3, (int[]) { t_in, t_w, t_b }, t_conv, o);
    o = fb_new (FB_TABLE);                                                        /* DepthwiseConv2DOptions */
    fb_scalar (o, 0, 0), fb_scalar (o, 1, 1), fb_scalar (o, 2, 1), fb_scalar (o, 3, 1), fb_scalar (o, 4, 0);
    op (&m, 4, 3, (int[]) { t_conv, t_dw_w, t_dw_b }, t_dw, o);
    o = fb_new (FB_TABLE);                                                        /* AddOptions: RELU */
    fb_scalar (o, 0, 1);
    op (&m, 0, 2, (int[]) { t_conv, t_dw }, t_add, o);
    op (&m, 34, 2, (int[]) { t_add, t_pads }, t_padded, NULL);                    /* PAD */
    o = fb_new (FB_TABLE);                                                        /* Pool2DOptions */
    fb_scalar (o, 0, 1), fb_scalar (o, 1, 2), fb_scalar (o, 2, 2), fb_scalar (o, 3, 3), fb_scalar (o, 4, 2);
    op (&m, 17, 1, (int[]) { t_padded }, t_pool, o);                              /* VALID 3 wide × 2 high, stride 2 */
    op (&m, 22, 1, (int[]) { t_pool }, t_flat, NULL);                             /* RESHAPE */
    op (&m, 14, 1, (int[]) { t_flat }, t_sig, NULL);                              /* LOGISTIC */
    o = fb_new (FB_TABLE);                                                        /* ConcatenationOptions */
    fb_scalar (o, 0, 1);
    op (&m, 2, 2, (int[]) { t_flat, t_sig }, t_cat, o);
    o = fb_new (FB_TABLE);                                                        /* ResizeBilinearOptions */
    fb_scalar (o, 3, 1);                                                          /* half_pixel_centers */
    op (&m, 23, 2, (int[]) { t_add, t_size }, t_resized, o);

    {
      FbNode *model = fb_new (FB_TABLE), *subgraph = fb_new (FB_TABLE), *subgraphs = fb_new (FB_TABLES);
      static const guint8 head[8] = { 0, 0, 0, 0, 'T', 'F', 'L', '3' };
      fb_ref (subgraph, 0, m.tensors);
      fb_ref (subgraph, 1, fb_ints (1, &t_in));
      fb_ref (subgraph, 2, fb_ints (2, (int[]) { t_cat, t_resized }));
      fb_ref (subgraph, 3, m.operators);
      g_ptr_array_add (subgraphs->items, subgraph);
      fb_scalar (model, 0, 3);
      fb_ref (model, 1, m.opcodes);
      fb_ref (model, 2, subgraphs);
      fb_ref (model, 4, m.buffers);
      g_byte_array_append (file, head, 8);
      root_id = (int) fb_write (file, model);
      put32 (file, 0, (guint32) root_id);
    }
  }
  test_write_bytes (path, file->data, file->len);

  {
    g_autoptr (QrGraph) graph = qr_graph_load_tflite (path, &error);
    g_autoptr (QrModel) model = NULL;
    float conv[5 * 5 * F], dw[5 * 5 * F], add[5 * 5 * F], padded[6 * 7 * F], pool[3 * 3 * F], resized[8 * 7 * F];
    const float *got_cat, *got_resized;
    int rank, dims[4];
    double worst = 0;

    g_assert_no_error (error);
    model = qr_model_new_cpu (g_steal_pointer (&graph), 1, &error);
    g_assert_no_error (error);
    g_assert_true (qr_model_run (model, x, 1, NULL, NULL, &error));
    g_assert_no_error (error);

    /* CONV_2D: OHWI filters, SAME, stride 2, bias, ReLU6 */
    for (int oy = 0; oy < 5; oy++)
      for (int ox = 0; ox < 5; ox++)
        for (int f = 0; f < F; f++)
          {
            int oh, ow, pt = same_pad (H, 3, 2, &oh), pl = same_pad (W, 3, 2, &ow);
            double acc = conv_b[f];
            for (int ky = 0; ky < 3; ky++)
              for (int kx = 0; kx < 3; kx++)
                for (int c = 0; c < C; c++)
                  {
                    int iy = oy * 2 - pt + ky, ix = ox * 2 - pl + kx;
                    if (iy >= 0 && iy < H && ix >= 0 && ix < W)
                      acc += (double) x[(iy * W + ix) * C + c] * conv_w[((f * 3 + ky) * 3 + kx) * C + c];
                  }
            conv[(oy * 5 + ox) * F + f] = clampf ((float) acc, 0, 6);
          }
    /* DEPTHWISE_CONV_2D: (1, kh, kw, C) filters, SAME, stride 1; then ADD with ReLU */
    for (int oy = 0; oy < 5; oy++)
      for (int ox = 0; ox < 5; ox++)
        for (int f = 0; f < F; f++)
          {
            double acc = dw_b[f];
            for (int ky = 0; ky < 3; ky++)
              for (int kx = 0; kx < 3; kx++)
                {
                  int iy = oy - 1 + ky, ix = ox - 1 + kx;
                  if (iy >= 0 && iy < 5 && ix >= 0 && ix < 5)
                    acc += (double) conv[(iy * 5 + ix) * F + f] * dw_w[(ky * 3 + kx) * F + f];
                }
            dw[(oy * 5 + ox) * F + f] = (float) acc;
            add[(oy * 5 + ox) * F + f] = MAX (0.0f, conv[(oy * 5 + ox) * F + f] + (float) acc);
          }
    /* PAD: one row before, two columns after, zeros */
    for (int y = 0; y < 6; y++)
      for (int xx = 0; xx < 7; xx++)
        for (int f = 0; f < F; f++)
          padded[(y * 7 + xx) * F + f] = (y >= 1 && xx < 5) ? add[((y - 1) * 5 + xx) * F + f] : 0.0f;
    /* MAX_POOL_2D: VALID, 2 high × 3 wide, stride 2 */
    for (int oy = 0; oy < 3; oy++)
      for (int ox = 0; ox < 3; ox++)
        for (int f = 0; f < F; f++)
          {
            float best = -INFINITY;
            for (int ky = 0; ky < 2; ky++)
              for (int kx = 0; kx < 3; kx++)
                best = fmaxf (best, padded[((oy * 2 + ky) * 7 + ox * 2 + kx) * F + f]);
            pool[(oy * 3 + ox) * F + f] = best;
          }
    /* RESIZE_BILINEAR 5×5 → 8×7 with half-pixel centres */
    for (int oy = 0; oy < 8; oy++)
      for (int ox = 0; ox < 7; ox++)
        for (int f = 0; f < F; f++)
          {
            float sy = ((float) oy + 0.5f) * 5.0f / 8.0f - 0.5f, sx = ((float) ox + 0.5f) * 5.0f / 7.0f - 0.5f;
            int y0 = (int) floorf (sy), x0 = (int) floorf (sx);
            float fy = sy - (float) y0, fx = sx - (float) x0;
            int y0c = CLAMP (y0, 0, 4), y1c = CLAMP (y0 + 1, 0, 4), x0c = CLAMP (x0, 0, 4), x1c = CLAMP (x0 + 1, 0, 4);
            float top = add[(y0c * 5 + x0c) * F + f] * (1 - fx) + add[(y0c * 5 + x1c) * F + f] * fx;
            float bottom = add[(y1c * 5 + x0c) * F + f] * (1 - fx) + add[(y1c * 5 + x1c) * F + f] * fx;
            resized[(oy * 7 + ox) * F + f] = top * (1 - fy) + bottom * fy;
          }

    got_cat = qr_model_get_output (model, "concat", &rank, dims);
    g_assert_nonnull (got_cat);
    g_assert_cmpint (rank, ==, 2);
    g_assert_cmpint (dims[1], ==, 72);
    for (int i = 0; i < 36; i++)
      {
        worst = fmax (worst, fabs (got_cat[i] - pool[i]));
        worst = fmax (worst, fabs (got_cat[36 + i] - 1.0 / (1.0 + exp (-pool[i]))));
      }
    got_resized = qr_model_get_output (model, "resized", &rank, dims);
    g_assert_nonnull (got_resized);
    g_assert_cmpint (dims[1], ==, 8);
    g_assert_cmpint (dims[2], ==, 7);
    for (int i = 0; i < 8 * 7 * F; i++)
      worst = fmax (worst, fabs (got_resized[i] - resized[i]));
    g_test_message ("synthetic TFLite model: largest difference from the naive loops %.3g", worst);
    g_assert_cmpfloat (worst, <, 1e-5);
    (void) dw;
  }

  /* poisoned weights: a NaN float32 bias, an infinite float16 filter value; each refused at
     load, naming the tensor */
  for (int k = 0; k < 2; k++)
    {
      g_autoptr (GByteArray) poisoned = g_byte_array_new ();
      const guint8 *found;
      QrGraph *graph;
      g_byte_array_append (poisoned, file->data, file->len);
      found = k == 0 ? memmem (poisoned->data, poisoned->len, dw_b, sizeof dw_b)
                     : memmem (poisoned->data, poisoned->len, conv_w16, sizeof conv_w16);
      g_assert_nonnull (found);
      if (k == 0)
        {
          float nan_value = NAN;
          memcpy ((guint8 *) found + 2 * sizeof (float), &nan_value, sizeof nan_value);
        }
      else
        {
          guint16 inf_half = 0x7c00;
          memcpy ((guint8 *) found + 5 * sizeof (guint16), &inf_half, sizeof inf_half);
        }
      test_write_bytes (path, poisoned->data, poisoned->len);
      graph = qr_graph_load_tflite (path, &error);
      g_assert_null (graph);
      g_assert_nonnull (error);
      g_test_message ("%s", error->message);
      g_assert_nonnull (strstr (error->message, k == 0 ? "dw/bias" : "conv/filter"));
      g_assert_nonnull (strstr (error->message, k == 0 ? "NaN" : "inf"));
      g_clear_error (&error);
    }

  /* every truncation of the file is an error, not a crash */
  for (guint cut = 0; cut < file->len; cut += 7)
    {
      QrGraph *graph;
      test_write_bytes (path, file->data, cut);
      graph = qr_graph_load_tflite (path, &error);
      g_assert_null (graph);
      g_assert_nonnull (error);
      g_clear_error (&error);
    }
  test_remove_tree (tmp);
  all_nodes = NULL;
}

/* Damaged copies of the real SSD: truncated, and with bytes overwritten in its first 64 KB (where
 * the flatbuffer's tables are). Each loads or fails with an error; none crashes. */
static void
test_damaged_files (void)
{
  g_autofree char *src = g_build_filename (MODELS_DIR, "blazeface_short_range.tflite", NULL);
  g_autofree char *tmp = NULL, *path = NULL, *data = NULL;
  g_autoptr (GRand) rand = g_rand_new_with_seed (11);
  gsize len;
  int failed = 0, loaded = 0;

  if (!g_file_get_contents (src, &data, &len, NULL))
    {
      g_test_skip ("the pretrained models are not beside the source tree (../shared/models/pretrained)");
      return;
    }
  tmp = test_make_tmpdir ();
  path = g_build_filename (tmp, "damaged.tflite", NULL);
  for (int trial = 0; trial < 60; trial++)
    {
      g_autofree char *copy = g_memdup2 (data, len);
      g_autoptr (GError) error = NULL;
      QrGraph *graph;
      gsize n = len;
      if (trial < 20)
        n = (gsize) g_rand_int_range (rand, 0, (gint32) len);
      else
        for (int k = 0; k < 8; k++)
          copy[g_rand_int_range (rand, 0, (gint32) MIN (len, 65536))] = (char) g_rand_int_range (rand, 0, 256);
      test_write_bytes (path, copy, n);
      graph = qr_graph_load_tflite (path, &error);
      if (graph == NULL)
        {
          g_assert_nonnull (error);
          g_assert_true (g_str_has_prefix (error->message, path));
          failed++;
        }
      else
        loaded++;
      qr_graph_free (graph);
    }
  g_test_message ("damaged BlazeFace copies: %d refused with an error, %d still loaded", failed, loaded);
  g_assert_cmpint (failed, >=, 20);
  test_remove_tree (tmp);
}

typedef struct
{
  const char *image;
  const char *class_name;
  float       min_score;
  float       box[4];      /* a box checked by eye; x1 < 0: none given */
  float       min_iou;
} Expect;

static void
check_detector (const char *model_file, float threshold, const Expect *expect, guint n_expect)
{
  g_autofree char *path = g_build_filename (MODELS_DIR, model_file, NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (QrDetector) detector = NULL;
  QrDetectorOptions options;

  if (!g_file_test (path, G_FILE_TEST_EXISTS) || !g_file_test (IMAGES_DIR, G_FILE_TEST_IS_DIR))
    {
      g_test_skip ("the pretrained models or photos are not beside the source tree (../shared)");
      return;
    }
  qr_detector_options_init (&options);
  options.score_threshold = threshold;
  detector = qr_detector_load (path, &options, &error);
  g_assert_no_error (error);
  for (guint e = 0; e < n_expect; e++)
    {
      g_autofree char *image_path = g_build_filename (IMAGES_DIR, expect[e].image, NULL);
      g_autoptr (QrImage) image = qr_image_load (image_path, NULL, 0, &error);
      g_autoptr (GArray) found = NULL;
      float best_score = 0, best_iou = 0;

      g_assert_no_error (error);
      found = qr_detector_detect (detector, image, NULL, NULL, &error);
      g_assert_no_error (error);
      for (guint i = 0; i < found->len; i++)
        {
          QrDetection *d = &g_array_index (found, QrDetection, i);
          QrDetection want = { 0, 1, expect[e].box[0], expect[e].box[1], expect[e].box[2], expect[e].box[3] };
          float iou = expect[e].box[0] >= 0 ? qr_box_iou (d, &want) : 1.0f;
          if (!g_str_equal (qr_detector_get_class_name (detector, d->class_id), expect[e].class_name))
            continue;
          if (iou > best_iou || (iou == best_iou && d->score > best_score))
            best_iou = iou, best_score = d->score;
        }
      if (expect[e].box[0] >= 0)
        g_test_message ("%s on %s: %s at %.3f, IoU %.3f with the box checked by eye (%u boxes over %.2f)", model_file,
                        expect[e].image, expect[e].class_name, best_score, best_iou, found->len, threshold);
      else
        g_test_message ("%s on %s: best %s at %.3f (%u boxes over %.2f)", model_file, expect[e].image,
                        expect[e].class_name, best_score, found->len, threshold);
      g_assert_cmpfloat (best_score, >=, expect[e].min_score);
      g_assert_cmpfloat (best_iou, >=, expect[e].min_iou);
    }
}

static void
test_ssd_photos (void)
{
  /* boxes from bench/checked-labels.json, checked by eye (x1, y1, x2, y2 in pixels) */
  static const Expect expect[] = {
    { "darknet-dog.jpg", "dog", 0.6f, { 127, 211, 310, 537 }, 0.8f },
    { "darknet-dog.jpg", "bicycle", 0.5f, { 116, 135, 563, 474 }, 0.8f },
    { "skimage-chelsea.png", "cat", 0.8f, { 0, 4, 414, 296 }, 0.8f },
    { "darknet-person.jpg", "person", 0.5f, { 191, 108, 273, 377 }, 0.8f },
    { "darknet-person.jpg", "dog", 0.5f, { 65, 262, 199, 350 }, 0.8f },
    /* the group photos: this SSD is unsure of people seen this close (scores 0.1–0.3),
       but each has a person box */
    { "faceapi-sample1.jpg", "person", 0.1f, { -1, 0, 0, 0 }, 0 },
    { "faceapi-sample2.jpg", "person", 0.1f, { -1, 0, 0, 0 }, 0 },
    { "faceapi-sample3.jpg", "person", 0.1f, { -1, 0, 0, 0 }, 0 },
    { "faceapi-sample4.jpg", "person", 0.1f, { -1, 0, 0, 0 }, 0 },
    { "faceapi-sample5.jpg", "person", 0.1f, { -1, 0, 0, 0 }, 0 },
    { "faceapi-sample6.jpg", "person", 0.1f, { -1, 0, 0, 0 }, 0 },
  };
  check_detector ("ssd_mobilenetv2_oidv4_fp16.tflite", 0.1f, expect, G_N_ELEMENTS (expect));
}

static void
test_blazeface_photos (void)
{
  /* face boxes drawn over the photos and looked at (forehead to chin, ear to ear) */
  static const Expect expect[] = {
    { "matplotlib-grace_hopper.jpg", "face", 0.9f, { 170, 140, 365, 340 }, 0.85f },
    { "skimage-astronaut.png", "face", 0.9f, { 178, 80, 276, 178 }, 0.8f },
    { "faceapi-sample4.jpg", "face", 0.5f, { -1, 0, 0, 0 }, 0 },
    { "faceapi-sample6.jpg", "face", 0.5f, { -1, 0, 0, 0 }, 0 },
  };
  check_detector ("blazeface_short_range.tflite", 0.5f, expect, G_N_ELEMENTS (expect));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/tflite/synthetic-model", test_synthetic_model);
  g_test_add_func ("/tflite/damaged-files", test_damaged_files);
  g_test_add_func ("/tflite/ssd-photos", test_ssd_photos);
  g_test_add_func ("/tflite/blazeface-photos", test_blazeface_photos);
  return g_test_run ();
}

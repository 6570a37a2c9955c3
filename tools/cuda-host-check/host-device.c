/* host-device.c: gpu/qr-cuda.h implemented in host memory, for tools/cuda-host-check/run.sh.
 * NOT a GPU test and not part of the test suite: it lets the CUDA backend's own code
 * (inference/engine/backend-cuda.c: memory planning, constants and weight layout, the index and stride
 * arithmetic it hands the kernels) run on a machine without a GPU, so mapping mistakes show up
 * before device time is spent. The loops are kernels.cu's bodies run on the CPU; the convolution
 * is a direct loop over KRSC weights; allocations are filled with NaN so a read of memory no
 * kernel wrote shows. What it cannot check: cuDNN itself, the real kernels, context.c. */
#include "qr-cuda.h"
#include "qr-gpu.h"
#include <math.h>
#include <string.h>

struct _QrCuda { QrCudaPrecision precision; };
GQuark qr_gpu_error_quark (void) { return g_quark_from_static_string ("emu"); }
int qr_gpu_device_count (void) { return 1; }
char *qr_gpu_describe (GError **e) { return g_strdup ("cuda:0 emu\n"); }
QrCuda *qr_cuda_new (int d, QrCudaPrecision p, GError **e)
{ QrCuda *c = g_new0 (QrCuda, 1); c->precision = p; return c; }
void qr_cuda_free (QrCuda *c) { g_free (c); }
QrCudaPrecision qr_cuda_get_precision (QrCuda *c) { return c->precision; }
const char *qr_cuda_precision_name (QrCudaPrecision p) { return p == QR_CUDA_FP16 ? "fp16" : p == QR_CUDA_TF32 ? "tf32" : "fp32"; }
const char *qr_cuda_device_name (QrCuda *c) { return "emu"; }
void *qr_cuda_alloc (QrCuda *c, gsize b, GError **e) { float *p = g_malloc (MAX (b, 4)); for (gsize i = 0; i < MAX (b, 4) / 4; i++) p[i] = NAN; return p; }
void qr_cuda_release (QrCuda *c, void *p) { g_free (p); }
void *qr_cuda_alloc_host (QrCuda *c, gsize b, GError **e) { return g_malloc (MAX (b, 4)); }
void qr_cuda_release_host (QrCuda *c, void *p) { g_free (p); }
gboolean qr_cuda_upload (QrCuda *c, void *d, const void *s, gsize b, GError **e) { memcpy (d, s, b); return TRUE; }
gboolean qr_cuda_download (QrCuda *c, void *d, const void *s, gsize b, GError **e) { memcpy (d, s, b); return TRUE; }
gboolean qr_cuda_copy (QrCuda *c, void *d, const void *s, gsize b, GError **e) { if (d != s) memmove (d, s, b); return TRUE; }
gboolean qr_cuda_copy_2d (QrCuda *c, float *d, gsize dp, const float *s, gsize sp, gsize w, gsize rows, GError **e)
{ for (gsize r = 0; r < rows; r++) memcpy (d + r * dp, s + r * sp, w * 4); return TRUE; }
gboolean qr_cuda_sync (QrCuda *c, GError **e) { return TRUE; }
gboolean qr_cuda_check (QrCuda *c, const char *w, GError **e) { return TRUE; }
gsize qr_cuda_get_scratch_bytes (QrCuda *c) { return 0; }

static float activate (float x, int act, float alpha, float beta)
{
  switch (act)
    {
    case QR_CUDA_ACT_RELU: return x > 0.0f ? x : 0.0f;
    case QR_CUDA_ACT_RELU6: return x < 0.0f ? 0.0f : x > 6.0f ? 6.0f : x;
    case QR_CUDA_ACT_LEAKY_RELU: return x > 0.0f ? x : alpha * x;
    case QR_CUDA_ACT_SIGMOID: return 1.0f / (1.0f + expf (-x));
    case QR_CUDA_ACT_HARD_SWISH: { float r = x + 3.0f; r = r < 0.0f ? 0.0f : r > 6.0f ? 6.0f : r; return alpha * x * r; }
    case QR_CUDA_ACT_SWISH: return x / (1.0f + expf (-x));
    case QR_CUDA_ACT_MISH: return x * tanhf (log1pf (expf (x)));
    case QR_CUDA_ACT_TANH: return tanhf (x);
    case QR_CUDA_ACT_EXP: return expf (x);
    case QR_CUDA_ACT_LOG: return logf (x);
    case QR_CUDA_ACT_SQRT: return sqrtf (x);
    case QR_CUDA_ACT_ERF: return erff (x);
    case QR_CUDA_ACT_NEG: return -x;
    case QR_CUDA_ACT_ABS: return fabsf (x);
    case QR_CUDA_ACT_RECIPROCAL: return 1.0f / x;
    case QR_CUDA_ACT_HARD_SIGMOID: return fmaxf (0.0f, fminf (1.0f, alpha * x + beta));
    case QR_CUDA_ACT_CLIP: return x < alpha ? alpha : x > beta ? beta : x;
    case QR_CUDA_ACT_FLOOR: return floorf (x);
    case QR_CUDA_ACT_CEIL: return ceilf (x);
    case QR_CUDA_ACT_ROUND: return rintf (x);
    default: return x;
    }
}

typedef struct { int kh, kw, c, oc; float *krsc; } W;
void *qr_cuda_upload_conv_weights (QrCuda *cu, const float *hwio, int kh, int kw, int c, int oc, GError **e)
{
  gsize n = (gsize) kh * kw * c * oc;
  float *krsc = g_new (float, n);
  for (gsize i = 0; i < n; i++)
    {
      gsize rest = i;
      int ci = (int) (rest % (gsize) c); rest /= (gsize) c;
      int kx = (int) (rest % (gsize) kw); rest /= (gsize) kw;
      int ky = (int) (rest % (gsize) kh);
      int o = (int) (rest / (gsize) kh);
      krsc[i] = hwio[(((gsize) ky * kw + kx) * c + ci) * oc + o];
    }
  return krsc;
}
gboolean qr_cuda_conv2d_prepare (QrCuda *c, const QrCudaConv *p, GError **e) { return TRUE; }
/* An activation the backend keeps in FP16 (x_half, y_half) is stored here as GCC's _Float16, so
 * a reader that takes it for floats (or the reverse) reads nonsense and the tests fail. */
gboolean qr_cuda_conv2d (QrCuda *cu, const QrCudaConv *p, const float *x, const void *wv, const float *bias, float *y, GError **e)
{
  const float *w = wv;
  g_autofree float *xf = NULL, *wf = NULL;
  if ((p->x_half || p->y_half) && cu->precision != QR_CUDA_FP16)
    {
      g_set_error (e, qr_gpu_error_quark (), QR_GPU_ERROR_UNSUPPORTED, "FP16 activations in an FP32 context");
      return FALSE;
    }
  /* in FP16 the input and the weights are rounded to half as context.c does (k_to_half, the
     weights uploaded as halves) and summed in more precision, as cuDNN's FP32 accumulation */
  if (p->x_half || cu->precision == QR_CUDA_FP16)
    {
      gsize n = (gsize) p->n * p->h * p->w * p->c;
      const _Float16 *xh = (const _Float16 *) x;
      xf = g_new (float, n);
      for (gsize i = 0; i < n; i++) xf[i] = p->x_half ? (float) xh[i] : (float) (_Float16) x[i];
      x = xf;
    }
  if (cu->precision == QR_CUDA_FP16)
    {
      gsize n = (gsize) p->oc * p->kh * p->kw * p->c;
      wf = g_new (float, n);
      for (gsize i = 0; i < n; i++) wf[i] = (float) (_Float16) w[i];
      w = wf;
    }
  for (int n = 0; n < p->n; n++)
    for (int oy = 0; oy < p->oh; oy++)
      for (int ox = 0; ox < p->ow; ox++)
        for (int o = 0; o < p->oc; o++)
          {
            double acc = 0;
            for (int ky = 0; ky < p->kh; ky++)
              {
                int iy = oy * p->stride[0] - p->pads[0] + ky * p->dilation[0];
                if (iy < 0 || iy >= p->h) continue;
                for (int kx = 0; kx < p->kw; kx++)
                  {
                    int ix = ox * p->stride[1] - p->pads[2] + kx * p->dilation[1];
                    if (ix < 0 || ix >= p->w) continue;
                    const float *xs = x + (((gsize) n * p->h + iy) * p->w + ix) * p->c;
                    const float *ws = w + (((gsize) o * p->kh + ky) * p->kw + kx) * p->c;
                    for (int c = 0; c < p->c; c++) acc += xs[c] * ws[c];
                  }
              }
            float v = (float) acc + (bias ? bias[o] : 0);
            gsize at = (((gsize) n * p->oh + oy) * p->ow + ox) * p->oc + o;
            if (cu->precision == QR_CUDA_FP16)   /* cuDNN writes the sum as a half, then bias and act */
              v = (float) (_Float16) (float) acc + (bias ? bias[o] : 0);
            if (p->y_half)
              ((_Float16 *) y)[at] = (_Float16) activate (v, p->act, p->alpha, 0.0f);
            else
              y[at] = activate (v, p->act, p->alpha, 0.0f);
          }
  return TRUE;
}
gboolean qr_cuda_matmul (QrCuda *c, const float *a, const float *b, float *y, int m, int n, int k, gboolean ta, gboolean tb, GError **e)
{
  for (int i = 0; i < m; i++) for (int j = 0; j < n; j++)
    { double acc = 0; for (int q = 0; q < k; q++) acc += (ta ? a[q * m + i] : a[i * k + q]) * (tb ? b[j * k + q] : b[q * n + j]); y[i * n + j] = (float) acc; }
  return TRUE;
}
/* cublasSgemmStridedBatched: qr_cuda_matmul once per product */
gboolean qr_cuda_matmul_batched (QrCuda *c, const float *a, const float *b, float *y, int m, int n, int k, gboolean ta,
                                 gboolean tb, int batches, long long sa, long long sb, GError **e)
{
  for (int i = 0; i < batches; i++)
    qr_cuda_matmul (c, a + i * sa, b + i * sb, y + (gsize) i * m * n, m, n, k, ta, tb, e);
  return TRUE;
}
/* kernels.cu's tiled depthwise kernel: the same body (depthwise-tile.h), every thread of its grid */
#define QR_DW_ACTIVATE(v, act, alpha) activate ((v), (act), (alpha), 0.0f)
#include "depthwise-tile.h"
void qr_cuda_depthwise (QrCuda *cu, const QrCudaDepthwise *p, const float *x, const float *w, const float *bias, float *y)
{
  gboolean half = p->x_half || p->y_half;
  int variant = qr_dw_tile_variant (p, x, w, bias, y);
  g_debug ("depthwise %dx%d stride %d, %d channels, multiplier %d: %s %d%s%s", p->kh, p->kw, p->stride[0], p->c, p->m,
           variant ? "tiled" : "generic", variant, p->x_half ? ", FP16 input" : "", p->y_half ? ", FP16 output" : "");
  if (variant != 0)
    {
      unsigned int items = qr_dw_tile_items (p);
      int K = variant / 10, S = variant % 10;
#pragma omp parallel for
      for (unsigned int i = 0; i < items; i++)
        qr_dw_tile_item (*p, K, S, p->x_half, p->y_half, i, x, w, bias, y);
      return;
    }
  if (half)
    g_error ("a depthwise convolution in FP16 that the tiled kernel does not take");
  int oc_total = p->c * p->m;
  gsize n = (gsize) p->n * p->oh * p->ow * oc_total;
  for (gsize i = 0; i < n; i++)
    {
      gsize rest = i;
      int oc = (int) (rest % (gsize) oc_total); rest /= (gsize) oc_total;
      int ox = (int) (rest % (gsize) p->ow); rest /= (gsize) p->ow;
      int oy = (int) (rest % (gsize) p->oh);
      int b = (int) (rest / (gsize) p->oh);
      int ci = oc / p->m;
      float acc = bias != NULL ? bias[oc] : 0.0f;
      for (int ky = 0; ky < p->kh; ky++)
        {
          int iy = oy * p->stride[0] - p->pads[0] + ky * p->dilation[0];
          if (iy < 0 || iy >= p->h) continue;
          for (int kx = 0; kx < p->kw; kx++)
            {
              int ix = ox * p->stride[1] - p->pads[2] + kx * p->dilation[1];
              if (ix < 0 || ix >= p->w) continue;
              acc += x[(((gsize) b * p->h + iy) * p->w + ix) * p->c + ci] * w[((gsize) ky * p->kw + kx) * oc_total + oc];
            }
        }
      y[i] = activate (acc, p->act, p->alpha, 0.0f);
    }
}
static float apply_binary (int op, float u, float v)
{ switch (op) { case QR_CUDA_ADD: return u + v; case QR_CUDA_SUB: return u - v; case QR_CUDA_MUL: return u * v; case QR_CUDA_DIV: return u / v; case QR_CUDA_MAX: return fmaxf (u, v); case QR_CUDA_POW: return powf (u, v);
  case QR_CUDA_GREATER: return u > v; case QR_CUDA_LESS: return u < v; case QR_CUDA_GREATER_EQUAL: return u >= v;
  case QR_CUDA_LESS_EQUAL: return u <= v; case QR_CUDA_EQUAL: return u == v; default: return fminf (u, v); } }
static float ld (const float *p, gsize i, int half) { return half ? (float) ((const _Float16 *) p)[i] : p[i]; }
static void st (float *p, gsize i, float v, int half) { if (half) ((_Float16 *) p)[i] = (_Float16) v; else p[i] = v; }
void qr_cuda_binary (QrCuda *cu, QrCudaBinary op, const float *a, const float *b, float *y, const int d4[4], const long long sa[4], const long long sb[4], int halves)
{
  gsize n = (gsize) d4[0] * d4[1] * d4[2] * d4[3];
  for (gsize i = 0; i < n; i++)
    {
      gsize rest = i; long long ia = 0, ib = 0;
      for (int d = 3; d >= 0; d--) { long long idx = (long long) (rest % (gsize) d4[d]); rest /= (gsize) d4[d]; ia += idx * sa[d]; ib += idx * sb[d]; }
      st (y, i, apply_binary (op, ld (a, ia, halves & QR_CUDA_HALF_A), ld (b, ib, halves & QR_CUDA_HALF_B)), halves & QR_CUDA_HALF_Y);
    }
}
void qr_cuda_unary (QrCuda *cu, QrCudaAct act, float alpha, float beta, const float *x, float *y, gsize n, int halves)
{ for (gsize i = 0; i < n; i++) st (y, i, activate (ld (x, i, halves & QR_CUDA_HALF_A), act, alpha, beta), halves & QR_CUDA_HALF_Y); }
/* k_reduce's combination of two values for max and min: a NaN wins */
static float pick (int op, float acc, float v)
{ if (isnan (acc) || isnan (v)) return isnan (acc) ? acc : v; return op == QR_CUDA_REDUCE_MAX ? fmaxf (acc, v) : fminf (acc, v); }
void qr_cuda_reduce (QrCuda *cu, QrCudaReduce op, const float *x, float *y, const int dims[4], const gboolean reduced[4])
{
  int od[4]; gsize n = 1, count = 1;
  for (int d = 0; d < 4; d++) { od[d] = reduced[d] ? 1 : dims[d]; n *= (gsize) od[d]; if (reduced[d]) count *= (gsize) dims[d]; }
  for (gsize i = 0; i < n; i++)
    {
      int idx[4]; gsize rest = i;
      for (int d = 3; d >= 0; d--) { idx[d] = (int) (rest % (gsize) od[d]); rest /= (gsize) od[d]; }
      gboolean extreme = op == QR_CUDA_REDUCE_MAX || op == QR_CUDA_REDUCE_MIN;
      float sum = op == QR_CUDA_REDUCE_MAX ? -INFINITY : op == QR_CUDA_REDUCE_MIN ? INFINITY : 0; int lo[4], hi[4];
      for (int d = 0; d < 4; d++) { lo[d] = reduced[d] ? 0 : idx[d]; hi[d] = reduced[d] ? dims[d] : idx[d] + 1; }
      for (int a = lo[0]; a < hi[0]; a++) for (int b = lo[1]; b < hi[1]; b++) for (int c = lo[2]; c < hi[2]; c++) for (int e = lo[3]; e < hi[3]; e++)
        {
          float v = x[(((gsize) a * dims[1] + b) * dims[2] + c) * dims[3] + e];
          sum = extreme ? pick (op, sum, v) : sum + v;
        }
      y[i] = op == QR_CUDA_REDUCE_MEAN ? sum / (float) count : sum;
    }
}
void qr_cuda_resize (QrCuda *cu, const float *x, float *y, int N, int H, int W, int C, int OH, int OW, gboolean nearest, gboolean align_corners, gboolean half_pixel)
{
  float sh = align_corners && OH > 1 ? (float) (H - 1) / (float) (OH - 1) : (float) H / (float) OH;
  float sw = align_corners && OW > 1 ? (float) (W - 1) / (float) (OW - 1) : (float) W / (float) OW;
  gsize n = (gsize) N * OH * OW * C;
  for (gsize i = 0; i < n; i++)
    {
      gsize rest = i;
      int c = (int) (rest % (gsize) C); rest /= (gsize) C;
      int ox = (int) (rest % (gsize) OW); rest /= (gsize) OW;
      int oy = (int) (rest % (gsize) OH);
      int b = (int) (rest / (gsize) OH);
      float fy = half_pixel ? ((float) oy + 0.5f) * sh - 0.5f : (float) oy * sh;
      float fx = half_pixel ? ((float) ox + 0.5f) * sw - 0.5f : (float) ox * sw;
      if (nearest)
        {
          int iy = align_corners ? (int) roundf (fy) : (int) floorf (half_pixel ? fy + 0.5f : fy);
          int ix = align_corners ? (int) roundf (fx) : (int) floorf (half_pixel ? fx + 0.5f : fx);
          iy = iy < 0 ? 0 : iy > H - 1 ? H - 1 : iy; ix = ix < 0 ? 0 : ix > W - 1 ? W - 1 : ix;
          y[i] = x[(((gsize) b * H + iy) * W + ix) * C + c];
          continue;
        }
      float cy = fmaxf (fy, 0.0f), cx = fmaxf (fx, 0.0f);
      int y0 = MIN ((int) floorf (cy), H - 1), x0 = MIN ((int) floorf (cx), W - 1);
      int y1 = MIN (y0 + 1, H - 1), x1 = MIN (x0 + 1, W - 1);
      float dy = cy - (float) y0, dx = cx - (float) x0;
      float p00 = x[(((gsize) b * H + y0) * W + x0) * C + c], p01 = x[(((gsize) b * H + y0) * W + x1) * C + c];
      float p10 = x[(((gsize) b * H + y1) * W + x0) * C + c], p11 = x[(((gsize) b * H + y1) * W + x1) * C + c];
      float top = p00 + (p01 - p00) * dx, bottom = p10 + (p11 - p10) * dx;
      y[i] = top + (bottom - top) * dy;
    }
}
void qr_cuda_pool (QrCuda *cu, const float *x, float *y, int N, int H, int W, int C, int OH, int OW, int kh, int kw, int sh, int sw, int pt, int pl, gboolean is_max)
{
  gsize n = (gsize) N * OH * OW * C;
  for (gsize i = 0; i < n; i++)
    {
      gsize rest = i;
      int c = (int) (rest % (gsize) C); rest /= (gsize) C;
      int ox = (int) (rest % (gsize) OW); rest /= (gsize) OW;
      int oy = (int) (rest % (gsize) OH);
      int b = (int) (rest / (gsize) OH);
      float acc = is_max ? -INFINITY : 0.0f; int count = 0;
      for (int ky = 0; ky < kh; ky++)
        {
          int iy = oy * sh - pt + ky; if (iy < 0 || iy >= H) continue;
          for (int kx = 0; kx < kw; kx++)
            {
              int ix = ox * sw - pl + kx; if (ix < 0 || ix >= W) continue;
              float v = x[(((gsize) b * H + iy) * W + ix) * C + c]; count++;
              acc = is_max ? fmaxf (acc, v) : acc + v;
            }
        }
      y[i] = !is_max && count > 0 ? acc / (float) count : acc;
    }
}
void qr_cuda_gather (QrCuda *cu, const float *x, float *y, const int d4[4], const long long offset, const long long s4[4])
{
  gsize n = (gsize) d4[0] * d4[1] * d4[2] * d4[3];
  for (gsize i = 0; i < n; i++)
    {
      gsize rest = i; long long src = offset;
      for (int d = 3; d >= 0; d--) { src += (long long) (rest % (gsize) d4[d]) * s4[d]; rest /= (gsize) d4[d]; }
      y[i] = x[src];
    }
}
void qr_cuda_pad (QrCuda *cu, const float *x, float *y, const int in[4], const int out[4], const int before[4], float value)
{
  gsize n = (gsize) out[0] * out[1] * out[2] * out[3];
  for (gsize i = 0; i < n; i++)
    {
      gsize rest = i, src = 0, stride = 1; gboolean inside = TRUE;
      for (int d = 3; d >= 0; d--)
        {
          int idx = (int) (rest % (gsize) out[d]) - before[d]; rest /= (gsize) out[d];
          if (idx < 0 || idx >= in[d]) inside = FALSE; else src += (gsize) idx * stride;
          stride *= (gsize) in[d];
        }
      y[i] = inside ? x[src] : value;
    }
}
void qr_cuda_softmax (QrCuda *cu, const float *x, float *y, gsize rows, int last)
{
  for (gsize r = 0; r < rows; r++)
    {
      const float *a = x + r * last; float *b = y + r * last, mx = -INFINITY, sum = 0;
      for (int i = 0; i < last; i++) mx = fmaxf (mx, a[i]);
      for (int i = 0; i < last; i++) { b[i] = expf (a[i] - mx); sum += b[i]; }
      for (int i = 0; i < last; i++) b[i] /= sum;
    }
}
void qr_cuda_bias_act (QrCuda *cu, float *y, const float *bias, gsize rows, int ch, QrCudaAct act, float alpha)
{ for (gsize i = 0; i < rows * ch; i++) y[i] = activate (y[i] + (bias ? bias[i % ch] : 0), act, alpha, 0.0f); }

/* No graphs here: the backend's fallback to eager launches is what gets exercised. */
gboolean qr_cuda_capture_begin (QrCuda *c, GError **e)
{ g_set_error_literal (e, qr_gpu_error_quark (), 0, "the host check has no CUDA graphs"); return FALSE; }
void *qr_cuda_capture_end (QrCuda *c, GError **e) { return NULL; }
gboolean qr_cuda_graph_launch (QrCuda *c, void *g, GError **e) { return FALSE; }
void qr_cuda_graph_free (QrCuda *c, void *g) { }

void qr_cuda_place_input (QrCuda *cu, const guint8 *fitted, int w, int h, int x0, int y0, const QrCudaInputFormat *f, float *dst)
{
  gsize n = (gsize) f->width * f->height * 3;
  for (gsize i = 0; i < n; i++)
    {
      int c, x, y;
      if (f->nchw)
        {
          gsize plane = (gsize) f->width * f->height;
          c = (int) (i / plane); y = (int) ((i % plane) / (gsize) f->width); x = (int) (i % (gsize) f->width);
        }
      else
        {
          c = (int) (i % 3); x = (int) ((i / 3) % (gsize) f->width); y = (int) (i / 3 / (gsize) f->width);
        }
      if (x < x0 || x >= x0 + w || y < y0 || y >= y0 + h)
        dst[i] = f->fill;
      else
        dst[i] = ((float) fitted[((gsize) (y - y0) * w + (x - x0)) * 3 + f->perm[c]] - f->sub[c]) / f->div[c];
    }
}

/* k_resize_rows and k_resize_cols, one loop each */
void qr_cuda_resize_u8 (QrCuda *cu, const guint8 *src, int sw, int sh, int dw, int dh, const QrCudaTaps *tx,
                        const QrCudaTaps *ty, float *tmp, guint8 *dst)
{
  gsize n = (gsize) sh * dw * 3, row = (gsize) dw * 3;
  for (gsize i = 0; i < n; i++)
    {
      int ch = (int) (i % 3), x = (int) ((i / 3) % (gsize) dw), y = (int) (i / 3 / (gsize) dw);
      const float *w = tx->weights + (gsize) x * tx->max_taps;
      const guint8 *s = src + ((gsize) y * sw + tx->first[x]) * 3 + ch;
      float r = 0.0f;
      for (int k = 0; k < tx->count[x]; k++)
        r = r + w[k] * (float) s[k * 3];
      tmp[i] = r;
    }
  for (gsize i = 0; i < row * dh; i++)
    {
      int y = (int) (i / row);
      gsize x = i % row;
      const float *w = ty->weights + (gsize) y * ty->max_taps;
      float v = 0.0f;
      for (int k = 0; k < ty->count[y]; k++)
        v = v + w[k] * tmp[(gsize) (ty->first[y] + k) * row + x];
      v = v + 0.5f;
      dst[i] = (guint8) (v < 0.0f ? 0.0f : v > 255.0f ? 255.0f : v);
    }
}

/* k_arg_reduce and k_take, one loop each */
void qr_cuda_arg_reduce (QrCuda *cu, const float *x, float *y, gsize outer, int dim, gsize inner, gboolean is_max,
                         gboolean select_last)
{
  for (gsize i = 0; i < outer * inner; i++)
    {
      const float *v = x + (i / inner) * (gsize) dim * inner + i % inner;
      float best = v[0];
      int at = 0;
      for (int k = 1; k < dim && !isnan (best); k++)
        {
          float u = v[(gsize) k * inner];
          if (isnan (u) || (is_max ? u > best : u < best) || (select_last && u == best))
            { best = u; at = k; }
        }
      y[i] = (float) at;
    }
}
void qr_cuda_take (QrCuda *cu, const float *x, const float *indices, float *y, gsize outer, int dim, gsize n,
                   gsize inner)
{
  for (gsize i = 0; i < outer * n * inner; i++)
    {
      gsize r = i % inner, j = (i / inner) % n, o = i / inner / n;
      long long v = llrintf (indices[j]);
      if (v < 0)
        v += dim;
      y[i] = v < 0 || v >= dim ? 0.0f : x[(o * (gsize) dim + (gsize) v) * inner + r];
    }
}

/* training the caption model: kernels.cu's k_scatter_rows … k_adam, one loop each */
void qr_cuda_scatter_rows (QrCuda *c, float *dense, int rows, int cols, const int *row, const int *col,
                           const float *val, gsize nnz)
{
  memset (dense, 0, sizeof (float) * (gsize) rows * (gsize) cols);
  for (gsize k = 0; k < nnz; k++)
    dense[(gsize) row[k] * (gsize) cols + (gsize) col[k]] = val[k];
}
void qr_cuda_unit_rows (QrCuda *c, const float *a, float *u, float *norm, int rows, int cols)
{
  for (int r = 0; r < rows; r++)
    {
      const float *x = a + (gsize) r * cols;
      double sum = 0;
      for (int k = 0; k < cols; k++) sum += (double) x[k] * x[k];
      norm[r] = (float) sqrt (sum);
      for (int k = 0; k < cols; k++) u[(gsize) r * cols + k] = norm[r] > 1e-12f ? x[k] / norm[r] : 0.0f;
    }
}
void qr_cuda_unit_rows_backward (QrCuda *c, const float *u, const float *a, const float *norm, float *g, int rows,
                                 int cols)
{
  for (int r = 0; r < rows; r++)
    {
      gsize at = (gsize) r * cols;
      double dot = 0;
      for (int k = 0; k < cols; k++) dot += (double) u[at + k] * g[at + k];
      for (int k = 0; k < cols; k++)
        g[at + k] = norm[r] <= 1e-12f ? 0.0f : (float) ((g[at + k] - u[at + k] * dot) / norm[r]) * (1 - a[at + k] * a[at + k]);
    }
}
void qr_cuda_tanh_backward (QrCuda *c, float *g, const float *a, gsize n)
{ for (gsize i = 0; i < n; i++) g[i] *= 1 - a[i] * a[i]; }
void qr_cuda_pair_softmax_loss (QrCuda *cu, const float *c, float gamma, int n, float *dc, float *loss, float *lse)
{
  for (int j = 0; j < n; j++)
    {
      double terms = 0;
      for (int pass = 0; pass < 2; pass++)
        {
          double mx = -INFINITY, sum = 0;
          for (int k = 0; k < n; k++) mx = fmax (mx, (double) (gamma * c[pass == 0 ? j * n + k : k * n + j]));
          for (int k = 0; k < n; k++) sum += exp ((double) (gamma * c[pass == 0 ? j * n + k : k * n + j]) - mx);
          lse[pass * n + j] = (float) (mx + log (sum));
          terms += mx + log (sum) - (double) (gamma * c[j * n + j]);
        }
      loss[j] = (float) (terms / (2.0 * n));
    }
  for (gsize i = 0; i < (gsize) n * n; i++)
    {
      int a = (int) (i / n), b = (int) (i % n);
      double s = (double) (gamma * c[i]), same = a == b ? 1.0 : 0.0;
      dc[i] = (float) (gamma * ((exp (s - lse[a]) - same) / (2.0 * n) + (exp (s - lse[n + b]) - same) / (2.0 * n)));
    }
}
void qr_cuda_adam (QrCuda *c, float *p, const float *g, float *m, float *v, gsize n, float lr, double beta1,
                   double beta2, double eps, double c1, double c2)
{
  for (gsize k = 0; k < n; k++)
    {
      m[k] = (float) (beta1 * m[k] + (1 - beta1) * g[k]);
      v[k] = (float) (beta2 * v[k] + (1 - beta2) * (double) g[k] * g[k]);
      p[k] -= (float) (lr * (m[k] / c1) / (sqrt (v[k] / c2) + eps));
    }
}

/* decoding on the GPU: kernels.cu's k_peaks, walked backwards so that the lists come out in an
 * order the backend must sort (the GPU's atomics keep none) */
void qr_cuda_peaks (QrCuda *cu, const float *map, const float *rows, int n, int h, int w, int c, int k,
                    float thr, int cap, int *count, float *entries)
{
  gsize per = (gsize) h * w * c;
  memset (count, 0, sizeof (int) * (gsize) n);
  for (gsize i = per * n; i-- > 0;)
    {
      float v = map[i];
      if (!(v >= thr)) continue;
      gsize b = i / per, r = i % per, cell = r / (gsize) c;
      int ch = (int) (r % (gsize) c), x = (int) (cell % (gsize) w), y = (int) (cell / (gsize) w), peak = 1;
      const float *m = map + b * per;
      for (int dy = -1; dy <= 1 && peak; dy++)
        for (int dx = -1; dx <= 1 && peak; dx++)
          {
            int yy = y + dy, xx = x + dx;
            if (yy >= 0 && yy < h && xx >= 0 && xx < w && m[((gsize) yy * w + xx) * c + ch] > v) peak = 0;
          }
      if (!peak) continue;
      int slot = count[b]++;
      if (slot >= cap) continue;
      float *e = entries + ((gsize) b * cap + slot) * (gsize) (2 + k);
      int bits = (int) r;
      memcpy (&e[0], &bits, sizeof bits);
      e[1] = v;
      for (int j = 0; j < k; j++) e[2 + j] = rows[(b * (gsize) h * w + cell) * k + j];
    }
}
/* kernels.cu's k_select_rows, backwards like qr_cuda_peaks */
void qr_cuda_select_rows (QrCuda *cu, const float *x, const float *with, gsize rows, int width, int first, int count,
                          int with_width, float thr, int cap, int *total, float *entries)
{
  *total = 0;
  for (gsize r = rows; r-- > 0;)
    {
      const float *row = x + r * (gsize) width;
      float m = -INFINITY;
      for (int c = first; c < first + count; c++) m = row[c] > m ? row[c] : m;
      if (!(m >= thr)) continue;
      int slot = (*total)++;
      if (slot >= cap) continue;
      float *e = entries + (gsize) slot * (gsize) (1 + width + with_width);
      int bits = (int) r;
      memcpy (&e[0], &bits, sizeof bits);
      memcpy (e + 1, row, sizeof (float) * (gsize) width);
      if (with_width > 0) memcpy (e + 1 + width, with + r * (gsize) with_width, sizeof (float) * (gsize) with_width);
    }
}

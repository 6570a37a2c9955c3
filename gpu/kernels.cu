/* kernels.cu: the engine's own CUDA kernels, for every op that is not a convolution or a matmul.
 * Each mirrors its CPU kernel in inference/engine/ops-cpu*.c (same index arithmetic, same edge
 * rules), one thread per output element in grid-stride loops, channels innermost so neighbouring
 * threads touch neighbouring addresses. Nothing here allocates. */
#include "cuda-private.h"

#include <cuda_fp16.h>

#include <math.h>
#include <stdint.h>

namespace
{

constexpr int kThreads = 256;
constexpr int kMeanThreads = 256;   // a power of two: k_mean halves it

unsigned int
blocks_for (gsize n)
{
  gsize b = (n + kThreads - 1) / kThreads;
  if (b < 1)
    b = 1;
  if (b > (1u << 20))
    b = 1u << 20; /* the loops stride over the rest */
  return (unsigned int) b;
}

__device__ __forceinline__ float
activate (float x, int act, float alpha, float beta = 0.0f)
{
  switch (act)
    {
    case QR_CUDA_ACT_RELU: return x > 0.0f ? x : 0.0f;
    case QR_CUDA_ACT_RELU6: return x < 0.0f ? 0.0f : x > 6.0f ? 6.0f : x;
    case QR_CUDA_ACT_LEAKY_RELU: return x > 0.0f ? x : alpha * x;
    case QR_CUDA_ACT_SIGMOID: return 1.0f / (1.0f + expf (-x));
    case QR_CUDA_ACT_HARD_SWISH:
      {
        float r = x + 3.0f;
        r = r < 0.0f ? 0.0f : r > 6.0f ? 6.0f : r;
        return alpha * x * r;
      }
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
    case QR_CUDA_ACT_ROUND: return rintf (x);   /* round to nearest, halves to even */
    default: return x;
    }
}

__device__ __forceinline__ float
apply_binary (int op, float u, float v)
{
  switch (op)
    {
    case QR_CUDA_ADD: return u + v;
    case QR_CUDA_SUB: return u - v;
    case QR_CUDA_MUL: return u * v;
    case QR_CUDA_DIV: return u / v;
    case QR_CUDA_MAX: return fmaxf (u, v);
    case QR_CUDA_POW: return powf (u, v);
    case QR_CUDA_GREATER: return u > v ? 1.0f : 0.0f;
    case QR_CUDA_LESS: return u < v ? 1.0f : 0.0f;
    case QR_CUDA_GREATER_EQUAL: return u >= v ? 1.0f : 0.0f;
    case QR_CUDA_LESS_EQUAL: return u <= v ? 1.0f : 0.0f;
    case QR_CUDA_EQUAL: return u == v ? 1.0f : 0.0f;
    default: return fminf (u, v);
    }
}

struct Dims4
{
  int d[4];
};

struct Strides4
{
  long long s[4];
};

#define GRID_LOOP(i, n) for (gsize i = (gsize) blockIdx.x * blockDim.x + threadIdx.x; i < (n); \
                             i += (gsize) gridDim.x * blockDim.x)

__global__ void
k_bias_act (float *y, const float *bias, gsize rows, int channels, int act, float alpha)
{
  GRID_LOOP (i, rows * (gsize) channels)
    {
      float v = y[i];
      if (bias != nullptr)
        v += bias[i % (gsize) channels];
      y[i] = activate (v, act, alpha);
    }
}

__global__ void
k_half_bias_act (const __half *x, float *y, const float *bias, gsize rows, int channels, int act, float alpha)
{
  GRID_LOOP (i, rows * (gsize) channels)
    {
      float v = __half2float (x[i]);
      if (bias != nullptr)
        v += bias[i % (gsize) channels];
      y[i] = activate (v, act, alpha);
    }
}

__global__ void
k_to_half (const float *x, __half *y, gsize n)
{
  GRID_LOOP (i, n)
    y[i] = __float2half_rn (x[i]);
}

/* HWIO → KRSC (output channel, kernel row, kernel column, input channel). */
__global__ void
k_weights (const float *hwio, float *krsc, __half *krsc_half, int kh, int kw, int c, int oc)
{
  gsize n = (gsize) kh * kw * c * oc;
  GRID_LOOP (i, n)
    {
      gsize rest = i;
      int ci = (int) (rest % (gsize) c);
      rest /= (gsize) c;
      int kx = (int) (rest % (gsize) kw);
      rest /= (gsize) kw;
      int ky = (int) (rest % (gsize) kh);
      int o = (int) (rest / (gsize) kh);
      float v = hwio[(((gsize) ky * kw + kx) * c + ci) * oc + o];
      if (krsc != nullptr)
        krsc[i] = v;
      if (krsc_half != nullptr)
        krsc_half[i] = __float2half_rn (v);
    }
}

__global__ void
k_depthwise (QrCudaDepthwise p, const float *x, const float *w, const float *bias, float *y)
{
  int oc_total = p.c * p.m;
  gsize n = (gsize) p.n * p.oh * p.ow * oc_total;
  GRID_LOOP (i, n)
    {
      gsize rest = i;
      int oc = (int) (rest % (gsize) oc_total);
      rest /= (gsize) oc_total;
      int ox = (int) (rest % (gsize) p.ow);
      rest /= (gsize) p.ow;
      int oy = (int) (rest % (gsize) p.oh);
      int b = (int) (rest / (gsize) p.oh);
      int ci = oc / p.m;
      float acc = bias != nullptr ? bias[oc] : 0.0f;
      for (int ky = 0; ky < p.kh; ky++)
        {
          int iy = oy * p.stride[0] - p.pads[0] + ky * p.dilation[0];
          if (iy < 0 || iy >= p.h)
            continue;
          for (int kx = 0; kx < p.kw; kx++)
            {
              int ix = ox * p.stride[1] - p.pads[2] + kx * p.dilation[1];
              if (ix < 0 || ix >= p.w)
                continue;
              acc += x[(((gsize) b * p.h + iy) * p.w + ix) * p.c + ci] * w[((gsize) ky * p.kw + kx) * oc_total + oc];
            }
        }
      y[i] = activate (acc, p.act, p.alpha);
    }
}

/* The tiled depthwise convolution (depthwise-tile.h), its loops unrolled for K × K taps at
 * stride S. */
#define QR_DW_ACTIVATE(v, act, alpha) activate ((v), (act), (alpha))
#define QR_DW_LOAD4(p) __ldg ((const float4 *) (p))
#define QR_DW_STORE4(p, v) (*(float4 *) (p) = (v))
#define QR_DW_LOAD4H(p) dw_load4h (p)
#define QR_DW_STORE4H(p, v) dw_store4h ((p), (v))

union Half4
{
  uint2   u;
  __half2 h[2];
};

__device__ __forceinline__ float4
dw_load4h (const unsigned short *p)
{
  Half4 t;
  t.u = __ldg ((const uint2 *) p);
  float2 a = __half22float2 (t.h[0]), b = __half22float2 (t.h[1]);
  return make_float4 (a.x, a.y, b.x, b.y);
}

__device__ __forceinline__ void
dw_store4h (unsigned short *p, float4 v)
{
  Half4 t;
  t.h[0] = __floats2half2_rn (v.x, v.y);
  t.h[1] = __floats2half2_rn (v.z, v.w);
  *(uint2 *) p = t.u;
}

#include "depthwise-tile.h"

template <int K, int S, int XH, int YH>
__global__ void
k_depthwise_tile (QrCudaDepthwise p, const void *__restrict__ x, const float *__restrict__ w,
                  const float *__restrict__ bias, void *__restrict__ y, unsigned int items)
{
  for (unsigned int i = blockIdx.x * blockDim.x + threadIdx.x; i < items; i += blockDim.x * gridDim.x)
    qr_dw_tile_item (p, K, S, XH, YH, i, x, w, bias, y);
}

template <int K, int S>
void
launch_depthwise_tile (cudaStream_t stream, const QrCudaDepthwise *p, const void *x, const float *w,
                       const float *bias, void *y)
{
  unsigned int items = qr_dw_tile_items (p);
  unsigned int blocks = blocks_for (items);

  if (p->x_half && p->y_half)
    k_depthwise_tile<K, S, 1, 1><<<blocks, kThreads, 0, stream>>> (*p, x, w, bias, y, items);
  else if (p->x_half)
    k_depthwise_tile<K, S, 1, 0><<<blocks, kThreads, 0, stream>>> (*p, x, w, bias, y, items);
  else if (p->y_half)
    k_depthwise_tile<K, S, 0, 1><<<blocks, kThreads, 0, stream>>> (*p, x, w, bias, y, items);
  else
    k_depthwise_tile<K, S, 0, 0><<<blocks, kThreads, 0, stream>>> (*p, x, w, bias, y, items);
}

/* act (x + bias) in place on FP16 values (the sums in FP32): a convolution's epilogue when its
 * output stays in half. */
template <typename Index>
__global__ void
k_half_bias_act_half (__half *x, const float *bias, Index n, Index channels, int act, float alpha)
{
  for (Index i = (Index) blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (Index) gridDim.x * blockDim.x)
    {
      float v = __half2float (x[i]);
      if (bias != nullptr)
        v += bias[i % channels];
      x[i] = __float2half_rn (activate (v, act, alpha));
    }
}

/* A value of a tensor of floats or, when half, of halves (the backend's FP16 activations). */
__device__ __forceinline__ float
load_value (const float *p, gsize i, bool half)
{
  return half ? __half2float (reinterpret_cast<const __half *> (p)[i]) : p[i];
}

__device__ __forceinline__ void
store_value (float *p, gsize i, float v, bool half)
{
  if (half)
    reinterpret_cast<__half *> (p)[i] = __float2half_rn (v);
  else
    p[i] = v;
}

/* H: which of a, b and y are halves (QR_CUDA_HALF_A | _B | _Y) */
template <int H>
__global__ void
k_binary_same (int op, const float *a, const float *b, float *y, gsize n)
{
  GRID_LOOP (i, n)
    store_value (y, i, apply_binary (op, load_value (a, i, H & QR_CUDA_HALF_A), load_value (b, i, H & QR_CUDA_HALF_B)),
                 H & QR_CUDA_HALF_Y);
}

template <int H>
__global__ void
k_binary (int op, const float *a, const float *b, float *y, Dims4 dims, Strides4 sa, Strides4 sb)
{
  gsize n = (gsize) dims.d[0] * dims.d[1] * dims.d[2] * dims.d[3];
  GRID_LOOP (i, n)
    {
      gsize rest = i;
      long long ia = 0, ib = 0;
      for (int d = 3; d >= 0; d--)
        {
          long long idx = (long long) (rest % (gsize) dims.d[d]);
          rest /= (gsize) dims.d[d];
          ia += idx * sa.s[d];
          ib += idx * sb.s[d];
        }
      store_value (y, i, apply_binary (op, load_value (a, ia, H & QR_CUDA_HALF_A), load_value (b, ib, H & QR_CUDA_HALF_B)),
                   H & QR_CUDA_HALF_Y);
    }
}

template <int H>
__global__ void
k_unary (int act, float alpha, float beta, const float *x, float *y, gsize n)
{
  GRID_LOOP (i, n)
    store_value (y, i, activate (load_value (x, i, H & QR_CUDA_HALF_A), act, alpha, beta), H & QR_CUDA_HALF_Y);
}

/* Max or min with NaN winning, as the CPU kernel (and NumPy) do. */
__device__ __forceinline__ float
pick (int op, float acc, float v)
{
  if (isnan (acc) || isnan (v))
    return isnan (acc) ? acc : v;
  return op == QR_CUDA_REDUCE_MAX ? fmaxf (acc, v) : fminf (acc, v);
}

/* Any reduction over any axes: a block per output value, its threads combining strided parts of
 * the reduced values, then a fixed-order tree in shared memory (no atomics: every run gives the
 * same bits). */
__global__ void
k_reduce (int op, const float *x, float *y, Dims4 dims, Dims4 reduced)
{
  __shared__ float part[kMeanThreads];
  int od[4], rd[4];
  gsize count = 1;
  bool extreme = op == QR_CUDA_REDUCE_MAX || op == QR_CUDA_REDUCE_MIN;
  for (int d = 0; d < 4; d++)
    {
      od[d] = reduced.d[d] ? 1 : dims.d[d];
      rd[d] = reduced.d[d] ? dims.d[d] : 1;
      count *= (gsize) rd[d];
    }
  gsize out = blockIdx.x, rest = out;
  int idx[4];
  for (int d = 3; d >= 0; d--)
    {
      idx[d] = (int) (rest % (gsize) od[d]);
      rest /= (gsize) od[d];
    }
  float acc = op == QR_CUDA_REDUCE_MAX ? -INFINITY : op == QR_CUDA_REDUCE_MIN ? INFINITY : 0.0f;
  for (gsize j = threadIdx.x; j < count; j += blockDim.x)
    {
      int at[4];
      gsize r = j;
      for (int d = 3; d >= 0; d--)
        {
          at[d] = reduced.d[d] ? (int) (r % (gsize) rd[d]) : idx[d];
          if (reduced.d[d])
            r /= (gsize) rd[d];
        }
      float v = x[(((gsize) at[0] * dims.d[1] + at[1]) * dims.d[2] + at[2]) * dims.d[3] + at[3]];
      acc = extreme ? pick (op, acc, v) : acc + v;
    }
  part[threadIdx.x] = acc;
  __syncthreads ();
  for (int half = blockDim.x / 2; half > 0; half /= 2)
    {
      if ((int) threadIdx.x < half)
        part[threadIdx.x] = extreme ? pick (op, part[threadIdx.x], part[threadIdx.x + half])
                                    : part[threadIdx.x] + part[threadIdx.x + half];
      __syncthreads ();
    }
  if (threadIdx.x == 0)
    y[out] = op == QR_CUDA_REDUCE_MEAN ? part[0] / (float) count : part[0];
}

/* ArgMax / ArgMin along one axis: a thread per (outer, inner) pair, the CPU kernel's loop. */
__global__ void
k_arg_reduce (const float *x, float *y, gsize outer, int dim, gsize inner, int is_max, int select_last)
{
  GRID_LOOP (i, outer * inner)
    {
      const float *v = x + (i / inner) * (gsize) dim * inner + i % inner;
      float best = v[0];
      int at = 0;
      for (int k = 1; k < dim && !isnan (best); k++)
        {
          float u = v[(gsize) k * inner];
          if (isnan (u) || (is_max ? u > best : u < best) || (select_last && u == best))
            {
              best = u;
              at = k;
            }
        }
      y[i] = (float) at;
    }
}

/* NumPy's take along one axis: a thread per output value. */
__global__ void
k_take (const float *x, const float *indices, float *y, gsize outer, int dim, gsize n, gsize inner)
{
  GRID_LOOP (i, outer * n * inner)
    {
      gsize r = i % inner, j = (i / inner) % n, o = i / inner / n;
      long long v = llrintf (indices[j]);
      if (v < 0)
        v += dim;
      y[i] = v < 0 || v >= dim ? 0.0f : x[(o * (gsize) dim + (gsize) v) * inner + r];
    }
}

/* The common case, NHWC global average pooling (H and W reduced): a block per batch item and 32
 * channels, 32 × 32 threads, each row of 32 reading 32 consecutive channels (coalesced). */
__global__ void
k_mean_spatial (const float *x, float *y, int HW, int C)
{
  __shared__ float part[32][33];
  int c = blockIdx.x * 32 + threadIdx.x, n = blockIdx.y;
  float s0 = 0.0f, s1 = 0.0f, s2 = 0.0f, s3 = 0.0f;
  if (c < C)
    {
      const float *base = x + (gsize) n * HW * C + c;
      int p = threadIdx.y;
      for (; p + 96 < HW; p += 128)
        {
          s0 += base[(gsize) p * C];
          s1 += base[(gsize) (p + 32) * C];
          s2 += base[(gsize) (p + 64) * C];
          s3 += base[(gsize) (p + 96) * C];
        }
      for (; p < HW; p += 32)
        s0 += base[(gsize) p * C];
    }
  part[threadIdx.y][threadIdx.x] = (s0 + s1) + (s2 + s3);
  __syncthreads ();
  if (threadIdx.y == 0 && c < C)
    {
      float total = 0.0f;
      for (int k = 0; k < 32; k++)
        total += part[k][threadIdx.x];
      y[(gsize) n * C + c] = total / (float) HW;
    }
}

__global__ void
k_resize (const float *x, float *y, int N, int H, int W, int C, int OH, int OW, int nearest, int align_corners,
          int half_pixel)
{
  float sh = align_corners && OH > 1 ? (float) (H - 1) / (float) (OH - 1) : (float) H / (float) OH;
  float sw = align_corners && OW > 1 ? (float) (W - 1) / (float) (OW - 1) : (float) W / (float) OW;
  gsize n = (gsize) N * OH * OW * C;
  GRID_LOOP (i, n)
    {
      gsize rest = i;
      int c = (int) (rest % (gsize) C);
      rest /= (gsize) C;
      int ox = (int) (rest % (gsize) OW);
      rest /= (gsize) OW;
      int oy = (int) (rest % (gsize) OH);
      int b = (int) (rest / (gsize) OH);
      float fy = half_pixel ? ((float) oy + 0.5f) * sh - 0.5f : (float) oy * sh;
      float fx = half_pixel ? ((float) ox + 0.5f) * sw - 0.5f : (float) ox * sw;
      if (nearest)
        {
          int iy = align_corners ? (int) roundf (fy) : (int) floorf (half_pixel ? fy + 0.5f : fy);
          int ix = align_corners ? (int) roundf (fx) : (int) floorf (half_pixel ? fx + 0.5f : fx);
          iy = iy < 0 ? 0 : iy > H - 1 ? H - 1 : iy;
          ix = ix < 0 ? 0 : ix > W - 1 ? W - 1 : ix;
          y[i] = x[(((gsize) b * H + iy) * W + ix) * C + c];
          continue;
        }
      float cy = fmaxf (fy, 0.0f), cx = fmaxf (fx, 0.0f);
      int y0 = min ((int) floorf (cy), H - 1), x0 = min ((int) floorf (cx), W - 1);
      int y1 = min (y0 + 1, H - 1), x1 = min (x0 + 1, W - 1);
      float dy = cy - (float) y0, dx = cx - (float) x0;
      float p00 = x[(((gsize) b * H + y0) * W + x0) * C + c];
      float p01 = x[(((gsize) b * H + y0) * W + x1) * C + c];
      float p10 = x[(((gsize) b * H + y1) * W + x0) * C + c];
      float p11 = x[(((gsize) b * H + y1) * W + x1) * C + c];
      float top = p00 + (p01 - p00) * dx;
      float bottom = p10 + (p11 - p10) * dx;
      y[i] = top + (bottom - top) * dy;
    }
}

__global__ void
k_pool (const float *x, float *y, int N, int H, int W, int C, int OH, int OW, int kh, int kw, int sh, int sw,
        int pad_top, int pad_left, int is_max)
{
  gsize n = (gsize) N * OH * OW * C;
  GRID_LOOP (i, n)
    {
      gsize rest = i;
      int c = (int) (rest % (gsize) C);
      rest /= (gsize) C;
      int ox = (int) (rest % (gsize) OW);
      rest /= (gsize) OW;
      int oy = (int) (rest % (gsize) OH);
      int b = (int) (rest / (gsize) OH);
      float acc = is_max ? -INFINITY : 0.0f;
      int count = 0;
      for (int ky = 0; ky < kh; ky++)
        {
          int iy = oy * sh - pad_top + ky;
          if (iy < 0 || iy >= H)
            continue;
          for (int kx = 0; kx < kw; kx++)
            {
              int ix = ox * sw - pad_left + kx;
              if (ix < 0 || ix >= W)
                continue;
              float v = x[(((gsize) b * H + iy) * W + ix) * C + c];
              count++;
              acc = is_max ? fmaxf (acc, v) : acc + v;
            }
        }
      y[i] = !is_max && count > 0 ? acc / (float) count : acc;
    }
}

__global__ void
k_gather (const float *x, float *y, Dims4 dims, long long offset, Strides4 strides)
{
  gsize n = (gsize) dims.d[0] * dims.d[1] * dims.d[2] * dims.d[3];
  GRID_LOOP (i, n)
    {
      gsize rest = i;
      long long src = offset;
      for (int d = 3; d >= 0; d--)
        {
          src += (long long) (rest % (gsize) dims.d[d]) * strides.s[d];
          rest /= (gsize) dims.d[d];
        }
      y[i] = x[src];
    }
}

__global__ void
k_pad (const float *x, float *y, Dims4 in, Dims4 out, Dims4 before, float value)
{
  gsize n = (gsize) out.d[0] * out.d[1] * out.d[2] * out.d[3];
  GRID_LOOP (i, n)
    {
      gsize rest = i, src = 0, stride = 1;
      bool inside = true;
      for (int d = 3; d >= 0; d--)
        {
          int idx = (int) (rest % (gsize) out.d[d]) - before.d[d];
          rest /= (gsize) out.d[d];
          if (idx < 0 || idx >= in.d[d])
            inside = false;
          else
            src += (gsize) idx * stride;
          stride *= (gsize) in.d[d];
        }
      y[i] = inside ? x[src] : value;
    }
}

__global__ void
k_softmax (const float *x, float *y, gsize rows, int last)
{
  GRID_LOOP (r, rows)
    {
      const float *a = x + r * (gsize) last;
      float *b = y + r * (gsize) last, mx = -INFINITY, sum = 0.0f;
      for (int i = 0; i < last; i++)
        mx = fmaxf (mx, a[i]);
      for (int i = 0; i < last; i++)
        {
          b[i] = expf (a[i] - mx);
          sum += b[i];
        }
      for (int i = 0; i < last; i++)
        b[i] /= sum;
    }
}

__global__ void
k_place_input (const guint8 *fitted, int w, int h, int x0, int y0, QrCudaInputFormat f, float *dst)
{
  gsize n = (gsize) f.width * f.height * 3;
  GRID_LOOP (i, n)
    {
      int c, x, y;
      if (f.nchw)
        {
          gsize plane = (gsize) f.width * f.height;
          c = (int) (i / plane);
          y = (int) ((i % plane) / (gsize) f.width);
          x = (int) (i % (gsize) f.width);
        }
      else
        {
          c = (int) (i % 3);
          x = (int) ((i / 3) % (gsize) f.width);
          y = (int) (i / 3 / (gsize) f.width);
        }
      if (x < x0 || x >= x0 + w || y < y0 || y >= y0 + h)
        dst[i] = f.fill;
      else
        dst[i] = ((float) fitted[((gsize) (y - y0) * w + (x - x0)) * 3 + f.perm[c]] - f.sub[c]) / f.div[c];
    }
}

/* qr_image_resize on the GPU: the same taps, the same order of sums, no fused multiply-adds
 * (__fmul_rn / __fadd_rn), so every byte matches the CPU's. */
__global__ void
k_resize_rows (const guint8 *src, int sw, int sh, int dw, const int *first, const int *count, const float *weights,
               int max_taps, float *tmp)
{
  gsize n = (gsize) sh * dw * 3;
  GRID_LOOP (i, n)
    {
      int ch = (int) (i % 3), x = (int) ((i / 3) % (gsize) dw), y = (int) (i / 3 / (gsize) dw);
      const float *w = weights + (gsize) x * max_taps;
      const guint8 *s = src + ((gsize) y * sw + first[x]) * 3 + ch;
      float r = 0.0f;
      for (int k = 0; k < count[x]; k++)
        r = __fadd_rn (r, __fmul_rn (w[k], (float) s[k * 3]));
      tmp[i] = r;
    }
}

__global__ void
k_resize_cols (const float *tmp, int dw, int dh, const int *first, const int *count, const float *weights,
               int max_taps, guint8 *dst)
{
  gsize row = (gsize) dw * 3, n = row * dh;
  GRID_LOOP (i, n)
    {
      int y = (int) (i / row);
      gsize x = i % row;
      const float *w = weights + (gsize) y * max_taps;
      float v = 0.0f;
      for (int k = 0; k < count[y]; k++)
        v = __fadd_rn (v, __fmul_rn (w[k], tmp[(gsize) (first[y] + k) * row + x]));
      v = __fadd_rn (v, 0.5f);
      dst[i] = (guint8) (v < 0.0f ? 0.0f : v > 255.0f ? 255.0f : v);
    }
}

/* ---- training the caption model (inference/text/dmsm.c's loops, sums in double as there) ---- */

__global__ void
k_scatter_rows (float *dense, int cols, const int *row, const int *col, const float *val, gsize nnz)
{
  GRID_LOOP (k, nnz)
    dense[(gsize) row[k] * (gsize) cols + (gsize) col[k]] = val[k];
}

/* one block of kMeanThreads per row: a double sum over the row, halved in shared memory */
__device__ double
block_sum (double x, double *shared)
{
  shared[threadIdx.x] = x;
  __syncthreads ();
  for (int s = blockDim.x / 2; s > 0; s /= 2)
    {
      if ((int) threadIdx.x < s)
        shared[threadIdx.x] += shared[threadIdx.x + s];
      __syncthreads ();
    }
  double r = shared[0];
  __syncthreads ();
  return r;
}

__global__ void
k_unit_rows (const float *a, float *u, float *norm, int cols)
{
  __shared__ double shared[kMeanThreads];
  const float *row = a + (gsize) blockIdx.x * cols;
  float *out = u + (gsize) blockIdx.x * cols;
  double sum = 0;
  for (int k = threadIdx.x; k < cols; k += blockDim.x)
    sum += (double) row[k] * row[k];
  sum = block_sum (sum, shared);
  float n = (float) sqrt (sum);
  if (threadIdx.x == 0)
    norm[blockIdx.x] = n;
  for (int k = threadIdx.x; k < cols; k += blockDim.x)
    out[k] = n > 1e-12f ? row[k] / n : 0.0f;
}

__global__ void
k_unit_rows_backward (const float *u, const float *a, const float *norm, float *g, int cols)
{
  __shared__ double shared[kMeanThreads];
  gsize at = (gsize) blockIdx.x * cols;
  float n = norm[blockIdx.x];
  double dot = 0;
  for (int k = threadIdx.x; k < cols; k += blockDim.x)
    dot += (double) u[at + k] * g[at + k];
  dot = block_sum (dot, shared);
  for (int k = threadIdx.x; k < cols; k += blockDim.x)
    g[at + k] = n <= 1e-12f ? 0.0f : (float) ((g[at + k] - u[at + k] * dot) / n) * (1 - a[at + k] * a[at + k]);
}

__global__ void
k_tanh_backward (float *g, const float *a, gsize n)
{
  GRID_LOOP (i, n)
    g[i] *= 1 - a[i] * a[i];
}

/* lse[j] over image j's row of S = γ C, lse[n + j] over caption j's column; loss[j] both terms */
__global__ void
k_pair_lse (const float *c, float gamma, int n, float *loss, float *lse)
{
  GRID_LOOP (j, (gsize) n)
    {
      double terms = 0;
      for (int pass = 0; pass < 2; pass++)
        {
          double mx = -INFINITY, sum = 0;
          for (int k = 0; k < n; k++)
            mx = fmax (mx, (double) (gamma * c[pass == 0 ? j * n + k : (gsize) k * n + j]));
          for (int k = 0; k < n; k++)
            sum += exp ((double) (gamma * c[pass == 0 ? j * n + k : (gsize) k * n + j]) - mx);
          lse[pass * n + j] = (float) (mx + log (sum));
          terms += mx + log (sum) - (double) (gamma * c[j * n + j]);
        }
      loss[j] = (float) (terms / (2.0 * n));
    }
}

__global__ void
k_pair_grad (const float *c, float gamma, int n, const float *lse, float *dc)
{
  GRID_LOOP (i, (gsize) n * n)
    {
      int a = (int) (i / (gsize) n), b = (int) (i % (gsize) n);
      double s = (double) (gamma * c[i]), same = a == b ? 1.0 : 0.0;
      double d = (exp (s - lse[a]) - same) / (2.0 * n) + (exp (s - lse[n + b]) - same) / (2.0 * n);
      dc[i] = (float) (gamma * d);
    }
}

__global__ void
k_adam (float *p, const float *g, float *m, float *v, gsize n, float lr, double beta1, double beta2, double eps,
        double c1, double c2)
{
  GRID_LOOP (k, n)
    {
      m[k] = (float) (beta1 * m[k] + (1 - beta1) * g[k]);
      v[k] = (float) (beta2 * v[k] + (1 - beta2) * (double) g[k] * g[k]);
      p[k] -= (float) (lr * (m[k] / c1) / (sqrt (v[k] / c2) + eps));
    }
}

/* qr_cuda_peaks: one thread per map value; the few at or above the threshold look at their 8
 * neighbours (the edges have fewer), and a peak takes a slot in its item's list */
__global__ void
k_peaks (const float *map, const float *rows, int n, int h, int w, int c, int k, float thr, int cap, int *count,
         float *entries)
{
  gsize per = (gsize) h * w * c;

  GRID_LOOP (i, per * n)
    {
      float v = map[i];
      if (!(v >= thr))
        continue;
      gsize b = i / per, r = i % per, cell = r / (gsize) c;
      int ch = (int) (r % (gsize) c), x = (int) (cell % (gsize) w), y = (int) (cell / (gsize) w);
      const float *m = map + b * per;
      bool peak = true;
      for (int dy = -1; dy <= 1 && peak; dy++)
        for (int dx = -1; dx <= 1 && peak; dx++)
          {
            int yy = y + dy, xx = x + dx;
            if (yy >= 0 && yy < h && xx >= 0 && xx < w && m[((gsize) yy * w + xx) * c + ch] > v)
              peak = false;
          }
      if (!peak)
        continue;
      int slot = atomicAdd (&count[b], 1);
      if (slot >= cap)
        continue;
      float *e = entries + ((gsize) b * cap + slot) * (gsize) (2 + k);
      e[0] = __int_as_float ((int) r);
      e[1] = v;
      for (int j = 0; j < k; j++)
        e[2 + j] = rows[(b * (gsize) h * w + cell) * k + j];
    }
}

/* qr_cuda_select_rows: one thread per row (the threshold is rarely met: the copies are few) */
__global__ void
k_select_rows (const float *x, const float *with, gsize rows, int width, int first, int count, int with_width,
               float thr, int cap, int *total, float *entries)
{
  GRID_LOOP (r, rows)
    {
      const float *row = x + r * (gsize) width;
      float m = -INFINITY;
      for (int c = first; c < first + count; c++)
        m = row[c] > m ? row[c] : m;
      if (!(m >= thr))
        continue;
      int slot = atomicAdd (total, 1);
      if (slot >= cap)
        continue;
      float *e = entries + (gsize) slot * (gsize) (1 + width + with_width);
      e[0] = __int_as_float ((int) r);
      for (int c = 0; c < width; c++)
        e[1 + c] = row[c];
      for (int c = 0; c < with_width; c++)
        e[1 + width + c] = with[r * (gsize) with_width + c];
    }
}

Dims4
dims4 (const int d[4])
{
  Dims4 r;
  for (int i = 0; i < 4; i++)
    r.d[i] = d[i];
  return r;
}

Strides4
strides4 (const long long s[4])
{
  Strides4 r;
  for (int i = 0; i < 4; i++)
    r.s[i] = s[i];
  return r;
}

gsize
count4 (const int d[4])
{
  return (gsize) d[0] * (gsize) d[1] * (gsize) d[2] * (gsize) d[3];
}

} // namespace

extern "C" {

void
qr_cuda_k_to_half (cudaStream_t stream, const float *x, void *y, gsize n)
{
  k_to_half<<<blocks_for (n), kThreads, 0, stream>>> (x, static_cast<__half *> (y), n);
}

void
qr_cuda_k_half_bias_act (cudaStream_t stream, const void *x, float *y, const float *bias, gsize rows, int channels,
                         int act, float alpha)
{
  k_half_bias_act<<<blocks_for (rows * (gsize) channels), kThreads, 0, stream>>> (static_cast<const __half *> (x), y, bias, rows, channels, act,
                                                                                  alpha);
}

void
qr_cuda_k_half_bias_act_half (cudaStream_t stream, void *x, const float *bias, gsize rows, int channels, int act,
                              float alpha)
{
  gsize n = rows * (gsize) channels;
  if (bias == nullptr && act == QR_CUDA_ACT_NONE)
    return;
  if (n < (1u << 31))
    k_half_bias_act_half<unsigned int><<<blocks_for (n), kThreads, 0, stream>>> (
      static_cast<__half *> (x), bias, (unsigned int) n, (unsigned int) channels, act, alpha);
  else
    k_half_bias_act_half<gsize><<<blocks_for (n), kThreads, 0, stream>>> (static_cast<__half *> (x), bias, n,
                                                                         (gsize) channels, act, alpha);
}

void
qr_cuda_k_weights (cudaStream_t stream, const float *hwio, float *krsc, void *krsc_half, int kh, int kw, int c,
                   int oc)
{
  k_weights<<<blocks_for ((gsize) kh * kw * c * oc), kThreads, 0, stream>>> (hwio, krsc, static_cast<__half *> (krsc_half),
                                                                             kh, kw, c, oc);
}

void
qr_cuda_bias_act (QrCuda *cuda, float *y, const float *bias, gsize rows, int channels, QrCudaAct act, float alpha)
{
  if (bias == nullptr && act == QR_CUDA_ACT_NONE)
    return;
  k_bias_act<<<blocks_for (rows * (gsize) channels), kThreads, 0, cuda->stream>>> (y, bias, rows, channels, act,
                                                                                   alpha);
}

void
qr_cuda_depthwise (QrCuda *cuda, const QrCudaDepthwise *p, const float *x, const float *w, const float *bias,
                   float *y)
{
  gsize n = (gsize) p->n * p->oh * p->ow * p->c * p->m;
  gboolean half = p->x_half || p->y_half;   /* the backend sets them only where the tiled kernel runs */
  int variant = qr_dw_tile_variant (p, x, w, bias, y);

  switch (variant)
    {
    case 31: launch_depthwise_tile<3, 1> (cuda->stream, p, x, w, bias, y); break;
    case 32: launch_depthwise_tile<3, 2> (cuda->stream, p, x, w, bias, y); break;
    case 51: launch_depthwise_tile<5, 1> (cuda->stream, p, x, w, bias, y); break;
    case 52: launch_depthwise_tile<5, 2> (cuda->stream, p, x, w, bias, y); break;
    default:
      if (half)
        g_warning ("a depthwise convolution in FP16 that the tiled kernel does not take: not run");
      else
        k_depthwise<<<blocks_for (n), kThreads, 0, cuda->stream>>> (*p, x, w, bias, y);
    }
}

void
qr_cuda_binary (QrCuda *cuda, QrCudaBinary op, const float *a, const float *b, float *y, const int out_dims[4],
                const long long a_strides[4], const long long b_strides[4], int halves)
{
  gsize n = count4 (out_dims);
  long long contiguous[4], s = 1;
  bool same = true;

  for (int d = 3; d >= 0; d--)
    {
      contiguous[d] = out_dims[d] == 1 ? -1 : s;
      s *= out_dims[d];
    }
  for (int d = 0; d < 4; d++)
    if (contiguous[d] >= 0 && (a_strides[d] != contiguous[d] || b_strides[d] != contiguous[d]))
      same = false;
#define BINARY(H)                                                                                              \
  do                                                                                                           \
    {                                                                                                          \
      if (same)                                                                                                \
        k_binary_same<H><<<blocks_for (n), kThreads, 0, cuda->stream>>> (op, a, b, y, n);                      \
      else                                                                                                     \
        k_binary<H><<<blocks_for (n), kThreads, 0, cuda->stream>>> (op, a, b, y, dims4 (out_dims),             \
                                                                    strides4 (a_strides), strides4 (b_strides)); \
    }                                                                                                          \
  while (0)
  switch (halves & 7)
    {
    case 0: BINARY (0); break;
    case 1: BINARY (1); break;
    case 2: BINARY (2); break;
    case 3: BINARY (3); break;
    case 4: BINARY (4); break;
    case 5: BINARY (5); break;
    case 6: BINARY (6); break;
    default: BINARY (7); break;
    }
#undef BINARY
}

void
qr_cuda_unary (QrCuda *cuda, QrCudaAct act, float alpha, float beta, const float *x, float *y, gsize n, int halves)
{
  switch (halves & (QR_CUDA_HALF_A | QR_CUDA_HALF_Y))
    {
    case 0: k_unary<0><<<blocks_for (n), kThreads, 0, cuda->stream>>> (act, alpha, beta, x, y, n); break;
    case QR_CUDA_HALF_A:
      k_unary<QR_CUDA_HALF_A><<<blocks_for (n), kThreads, 0, cuda->stream>>> (act, alpha, beta, x, y, n);
      break;
    case QR_CUDA_HALF_Y:
      k_unary<QR_CUDA_HALF_Y><<<blocks_for (n), kThreads, 0, cuda->stream>>> (act, alpha, beta, x, y, n);
      break;
    default:
      k_unary<QR_CUDA_HALF_A | QR_CUDA_HALF_Y><<<blocks_for (n), kThreads, 0, cuda->stream>>> (act, alpha, beta, x, y,
                                                                                             n);
    }
}

void
qr_cuda_arg_reduce (QrCuda *cuda, const float *x, float *y, gsize outer, int dim, gsize inner, gboolean is_max,
                    gboolean select_last)
{
  k_arg_reduce<<<blocks_for (outer * inner), kThreads, 0, cuda->stream>>> (x, y, outer, dim, inner, is_max,
                                                                           select_last);
}

void
qr_cuda_take (QrCuda *cuda, const float *x, const float *indices, float *y, gsize outer, int dim, gsize n,
              gsize inner)
{
  k_take<<<blocks_for (outer * n * inner), kThreads, 0, cuda->stream>>> (x, indices, y, outer, dim, n, inner);
}

void
qr_cuda_reduce (QrCuda *cuda, QrCudaReduce op, const float *x, float *y, const int dims[4], const gboolean reduced[4])
{
  Dims4 r;
  gsize n = 1;
  for (int d = 0; d < 4; d++)
    {
      r.d[d] = reduced[d] ? 1 : 0;
      n *= reduced[d] ? 1 : (gsize) dims[d];
    }
  if (n == 0)
    return;
  if (op == QR_CUDA_REDUCE_MEAN && !reduced[0] && reduced[1] && reduced[2] && !reduced[3])
    {
      dim3 grid ((unsigned) ((dims[3] + 31) / 32), (unsigned) dims[0]), block (32, 32);
      k_mean_spatial<<<grid, block, 0, cuda->stream>>> (x, y, dims[1] * dims[2], dims[3]);
      return;
    }
  k_reduce<<<(unsigned) n, kMeanThreads, 0, cuda->stream>>> (op, x, y, dims4 (dims), r);
}

void
qr_cuda_resize (QrCuda *cuda, const float *x, float *y, int n, int h, int w, int c, int oh, int ow, gboolean nearest,
                gboolean align_corners, gboolean half_pixel)
{
  k_resize<<<blocks_for ((gsize) n * oh * ow * c), kThreads, 0, cuda->stream>>> (x, y, n, h, w, c, oh, ow, nearest,
                                                                                  align_corners, half_pixel);
}

void
qr_cuda_pool (QrCuda *cuda, const float *x, float *y, int n, int h, int w, int c, int oh, int ow, int kh, int kw,
              int sh, int sw, int pad_top, int pad_left, gboolean is_max)
{
  k_pool<<<blocks_for ((gsize) n * oh * ow * c), kThreads, 0, cuda->stream>>> (x, y, n, h, w, c, oh, ow, kh, kw, sh,
                                                                                sw, pad_top, pad_left, is_max);
}

void
qr_cuda_gather (QrCuda *cuda, const float *x, float *y, const int out_dims[4], const long long offset,
                const long long in_strides[4])
{
  k_gather<<<blocks_for (count4 (out_dims)), kThreads, 0, cuda->stream>>> (x, y, dims4 (out_dims), offset,
                                                                           strides4 (in_strides));
}

void
qr_cuda_pad (QrCuda *cuda, const float *x, float *y, const int in_dims[4], const int out_dims[4], const int before[4],
             float value)
{
  k_pad<<<blocks_for (count4 (out_dims)), kThreads, 0, cuda->stream>>> (x, y, dims4 (in_dims), dims4 (out_dims),
                                                                        dims4 (before), value);
}

void
qr_cuda_place_input (QrCuda *cuda, const guint8 *fitted, int w, int h, int x0, int y0, const QrCudaInputFormat *format,
                     float *dst)
{
  k_place_input<<<blocks_for ((gsize) format->width * format->height * 3), kThreads, 0, cuda->stream>>> (
    fitted, w, h, x0, y0, *format, dst);
}

void
qr_cuda_resize_u8 (QrCuda *cuda, const guint8 *src, int sw, int sh, int dw, int dh, const QrCudaTaps *x,
                   const QrCudaTaps *y, float *tmp, guint8 *dst)
{
  k_resize_rows<<<blocks_for ((gsize) sh * dw * 3), kThreads, 0, cuda->stream>>> (src, sw, sh, dw, x->first, x->count,
                                                                                  x->weights, x->max_taps, tmp);
  k_resize_cols<<<blocks_for ((gsize) dh * dw * 3), kThreads, 0, cuda->stream>>> (tmp, dw, dh, y->first, y->count,
                                                                                  y->weights, y->max_taps, dst);
}

void
qr_cuda_softmax (QrCuda *cuda, const float *x, float *y, gsize rows, int last)
{
  k_softmax<<<blocks_for (rows), kThreads, 0, cuda->stream>>> (x, y, rows, last);
}

void
qr_cuda_scatter_rows (QrCuda *cuda, float *dense, int rows, int cols, const int *row, const int *col, const float *val,
                      gsize nnz)
{
  cudaMemsetAsync (dense, 0, sizeof (float) * (gsize) rows * (gsize) cols, cuda->stream);
  if (nnz > 0)
    k_scatter_rows<<<blocks_for (nnz), kThreads, 0, cuda->stream>>> (dense, cols, row, col, val, nnz);
}

void
qr_cuda_unit_rows (QrCuda *cuda, const float *a, float *u, float *norm, int rows, int cols)
{
  if (rows > 0)
    k_unit_rows<<<(unsigned) rows, kMeanThreads, 0, cuda->stream>>> (a, u, norm, cols);
}

void
qr_cuda_unit_rows_backward (QrCuda *cuda, const float *u, const float *a, const float *norm, float *g, int rows,
                            int cols)
{
  if (rows > 0)
    k_unit_rows_backward<<<(unsigned) rows, kMeanThreads, 0, cuda->stream>>> (u, a, norm, g, cols);
}

void
qr_cuda_tanh_backward (QrCuda *cuda, float *g, const float *a, gsize n)
{
  k_tanh_backward<<<blocks_for (n), kThreads, 0, cuda->stream>>> (g, a, n);
}

void
qr_cuda_pair_softmax_loss (QrCuda *cuda, const float *c, float gamma, int n, float *dc, float *loss, float *lse)
{
  if (n <= 0)
    return;
  k_pair_lse<<<blocks_for ((gsize) n), kThreads, 0, cuda->stream>>> (c, gamma, n, loss, lse);
  k_pair_grad<<<blocks_for ((gsize) n * n), kThreads, 0, cuda->stream>>> (c, gamma, n, lse, dc);
}

void
qr_cuda_adam (QrCuda *cuda, float *p, const float *g, float *m, float *v, gsize n, float lr, double beta1,
              double beta2, double eps, double c1, double c2)
{
  k_adam<<<blocks_for (n), kThreads, 0, cuda->stream>>> (p, g, m, v, n, lr, beta1, beta2, eps, c1, c2);
}

void
qr_cuda_peaks (QrCuda *cuda, const float *map, const float *rows, int n, int h, int w, int c, int k, float threshold,
               int cap, int *count, float *entries)
{
  gsize total = (gsize) n * h * w * c;

  cudaMemsetAsync (count, 0, sizeof (int) * (gsize) n, cuda->stream);
  if (total > 0)
    k_peaks<<<blocks_for (total), kThreads, 0, cuda->stream>>> (map, rows, n, h, w, c, k, threshold, cap, count,
                                                                 entries);
}

void
qr_cuda_select_rows (QrCuda *cuda, const float *x, const float *with, gsize rows, int width, int first, int count,
                     int with_width, float threshold, int cap, int *total, float *entries)
{
  cudaMemsetAsync (total, 0, sizeof (int), cuda->stream);
  if (rows > 0)
    k_select_rows<<<blocks_for (rows), kThreads, 0, cuda->stream>>> (x, with, rows, width, first, count, with_width,
                                                                      threshold, cap, total, entries);
}

} // extern "C"

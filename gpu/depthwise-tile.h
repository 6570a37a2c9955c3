/* depthwise-tile.h: the tiled depthwise convolution (issue 19), one thread's work written once for
 * two compilers: kernels.cu runs it on the GPU (its loops unrolled for each kernel size and
 * stride), and tools/cuda-host-check/host-device.c runs the very same body on the CPU for every
 * thread of the grid, so the index arithmetic is checked on a machine without a GPU.
 *
 * A thread computes 4 neighbouring channels (one 16-byte load of the input, the weights and the
 * bias each) at QR_DW_TILE_X neighbouring output columns of one output row. Each input column a
 * row of its taps needs is loaded once and used for every output column that reads it: with a
 * 3×3 kernel at stride 1 that is 6 loads for 4 outputs instead of 12, and the index arithmetic
 * (the divisions) is done once for 16 outputs instead of once for each. Neighbouring threads take
 * neighbouring channel groups, so a warp reads 512 contiguous bytes.
 *
 * Taken for a channel multiplier of 1, channels a multiple of 4, 16-byte aligned tensors, no
 * dilation, square 3×3 or 5×5 kernels at stride 1 or 2 (MobileNet's, NanoDet's), and a grid that
 * fits 32-bit indices; anything else runs the generic kernel (one thread an output). The input and
 * the output may each be FP16 (4 halves, 8 bytes, at a time; the sums in FP32): the backend keeps
 * an activation in half between nodes (plan_half). Before including, define QR_DW_ACTIVATE (x, act,
 * alpha) and, in CUDA, QR_DW_LOAD4 / QR_DW_STORE4 (floats) and QR_DW_LOAD4H / QR_DW_STORE4H
 * (halves, as unsigned shorts). */
#pragma once

#include "qr-cuda.h"

#include <stdint.h>

#ifdef __CUDACC__
#define QR_DW_HD __device__ __forceinline__
typedef float4 QrDwF4;
#else
#define QR_DW_HD static inline
typedef struct { float x, y, z, w; } QrDwF4;
#include <string.h>
#ifdef QR_DW_ACTIVATE   /* the host's loads and stores, where the body is compiled */
#define QR_DW_LOAD4(p) qr_dw_load4 (p)
#define QR_DW_STORE4(p, v) memcpy ((p), &(v), sizeof (QrDwF4))
#define QR_DW_LOAD4H(p) qr_dw_load4h (p)
#define QR_DW_STORE4H(p, v) qr_dw_store4h ((p), (v))
static inline QrDwF4 qr_dw_load4 (const float *p) { QrDwF4 v; memcpy (&v, p, sizeof v); return v; }
/* halves on the host: GCC's _Float16, rounded to nearest even as __float2half_rn */
static inline QrDwF4
qr_dw_load4h (const unsigned short *p)
{
  _Float16 h[4];
  memcpy (h, p, sizeof h);
  QrDwF4 v = { (float) h[0], (float) h[1], (float) h[2], (float) h[3] };
  return v;
}
static inline void
qr_dw_store4h (unsigned short *p, QrDwF4 v)
{
  _Float16 h[4] = { (_Float16) v.x, (_Float16) v.y, (_Float16) v.z, (_Float16) v.w };
  memcpy (p, h, sizeof h);
}
#endif
#endif

/* 4 values at element e of a tensor of floats or (half) of halves */
#define QR_DW_AT4(base, e, half) \
  ((half) ? QR_DW_LOAD4H ((const unsigned short *) (base) + (e)) : QR_DW_LOAD4 ((const float *) (base) + (e)))

#define QR_DW_TILE_X 4   /* output columns a thread computes */

/* Which variant runs a depthwise convolution: 0 for the generic kernel (also when p asks for it),
 * else the kernel size times 10 plus the stride (31, 32, 51, 52). */
static inline int
qr_dw_tile_variant (const QrCudaDepthwise *p, const void *x, const void *w, const void *bias, const void *y)
{
  uint64_t items;

  if (p->generic || p->m != 1 || p->c % 4 != 0 || p->kh != p->kw || (p->kh != 3 && p->kh != 5)
      || p->stride[0] != p->stride[1] || (p->stride[0] != 1 && p->stride[0] != 2)
      || p->dilation[0] != 1 || p->dilation[1] != 1
      || (((uintptr_t) x | (uintptr_t) w | (uintptr_t) bias | (uintptr_t) y) & 15) != 0)
    return 0;
  items = (uint64_t) p->n * (uint64_t) p->oh * (uint64_t) ((p->ow + QR_DW_TILE_X - 1) / QR_DW_TILE_X)
          * (uint64_t) (p->c / 4);
  if (items == 0 || items >= (1u << 31))
    return 0;
  return p->kh * 10 + p->stride[0];
}

/* Threads (items) a tiled launch needs. */
static inline unsigned int
qr_dw_tile_items (const QrCudaDepthwise *p)
{
  return (unsigned int) p->n * (unsigned int) p->oh * (unsigned int) ((p->ow + QR_DW_TILE_X - 1) / QR_DW_TILE_X)
         * (unsigned int) (p->c / 4);
}

#ifdef QR_DW_ACTIVATE   /* the body, where it is compiled (not where only the variant is asked) */
QR_DW_HD void
qr_dw_madd (QrDwF4 *acc, QrDwF4 v, QrDwF4 k)
{
  acc->x += v.x * k.x;
  acc->y += v.y * k.y;
  acc->z += v.z * k.z;
  acc->w += v.w * k.w;
}

/* Item `item` of a tiled launch with kernel size K and stride S, its input FP16 when XH, its output
 * when YH (constants where it is inlined in CUDA, so that the loops unroll and the branches go; p
 * by value, as the kernel holds it). x and y are floats or halves as p says; bias may be NULL. */
QR_DW_HD void
qr_dw_tile_item (const QrCudaDepthwise p, int K, int S, int XH, int YH, unsigned int item, const void *x,
                 const float *w, const float *bias, void *y)
{
  const int c4 = p.c / 4, tiles_x = (p.ow + QR_DW_TILE_X - 1) / QR_DW_TILE_X;
  const int span = (QR_DW_TILE_X - 1) * S + K;   /* input columns the tile reads */
  unsigned int rest = item;
  int cg = (int) (rest % (unsigned int) c4);
  rest /= (unsigned int) c4;
  int tile = (int) (rest % (unsigned int) tiles_x);
  rest /= (unsigned int) tiles_x;
  int oy = (int) (rest % (unsigned int) p.oh);
  int b = (int) (rest / (unsigned int) p.oh);
  int ox0 = tile * QR_DW_TILE_X, ch = cg * 4;
  int ix0 = ox0 * S - p.pads[2];
  QrDwF4 acc[QR_DW_TILE_X];
  QrDwF4 start = { 0.0f, 0.0f, 0.0f, 0.0f };

  if (bias != NULL)
    start = QR_DW_LOAD4 (bias + ch);
  for (int t = 0; t < QR_DW_TILE_X; t++)
    acc[t] = start;
  for (int ky = 0; ky < K; ky++)
    {
      int iy = oy * S - p.pads[0] + ky;
      if (iy < 0 || iy >= p.h)
        continue;
      size_t row = (((size_t) b * (size_t) p.h + (size_t) iy) * (size_t) p.w) * (size_t) p.c + (size_t) ch;
      const float *taps = w + (size_t) ky * (size_t) K * (size_t) p.c + (size_t) ch;
#ifdef __CUDACC__
#pragma unroll
#endif
      for (int j = 0; j < span; j++)
        {
          int ix = ix0 + j;
          if (ix < 0 || ix >= p.w)
            continue;
          QrDwF4 v = QR_DW_AT4 (x, row + (size_t) ix * (size_t) p.c, XH);
#ifdef __CUDACC__
#pragma unroll
#endif
          for (int t = 0; t < QR_DW_TILE_X; t++)
            {
              int kx = j - t * S;
              if (kx >= 0 && kx < K)
                qr_dw_madd (&acc[t], v, QR_DW_LOAD4 (taps + (size_t) kx * (size_t) p.c));
            }
        }
    }
  for (int t = 0; t < QR_DW_TILE_X; t++)
    {
      int ox = ox0 + t;
      if (ox >= p.ow)
        break;
      QrDwF4 out;
      size_t at = (((size_t) b * (size_t) p.oh + (size_t) oy) * (size_t) p.ow + (size_t) ox) * (size_t) p.c + (size_t) ch;
      out.x = QR_DW_ACTIVATE (acc[t].x, p.act, p.alpha);
      out.y = QR_DW_ACTIVATE (acc[t].y, p.act, p.alpha);
      out.z = QR_DW_ACTIVATE (acc[t].z, p.act, p.alpha);
      out.w = QR_DW_ACTIVATE (acc[t].w, p.act, p.alpha);
      if (YH)
        QR_DW_STORE4H ((unsigned short *) y + at, out);
      else
        QR_DW_STORE4 ((float *) y + at, out);
    }
}
#endif

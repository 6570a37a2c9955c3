/* ops-cpu-tensor.c: the CPU kernels other than convolutions: element-wise ops with broadcasting,
 * activations, means, resizing, concatenation, pooling, transposes, padding, splits, softmax,
 * slices. Each splits its outer loop across cores with OpenMP. */
#define G_LOG_DOMAIN "quorum-engine"

#include "ops-cpu-private.h"

#include <string.h>
#include <omp.h>

/* Element-wise binary ops with NumPy broadcasting (shapes right-aligned, rank ≤ 4). */
void
qr_cpu_binary (QrGraph *graph, QrNode *node)
{
  QrShape *a = shape (graph, node->inputs[0]), *b = shape (graph, node->inputs[1]);
  QrShape *o = shape (graph, node->outputs[0]);
  const float *x = data (graph, node->inputs[0]), *z = data (graph, node->inputs[1]);
  float *y = data (graph, node->outputs[0]);
  gsize n = qr_shape_size (o), na = qr_shape_size (a), nb = qr_shape_size (b);
  gsize sa[QR_MAX_RANK] = { 0 }, sb[QR_MAX_RANK] = { 0 }, so[QR_MAX_RANK];
  int rank = o->rank;
  QrOpType op = node->op;

/* kop: the op, a constant inside each case of FOR_EACH_OP, so that the chain folds to one
 * operation and the loops around it vectorise */
#define APPLY(u, v) (kop == QR_OP_ADD ? (u) + (v) : kop == QR_OP_SUB ? (u) - (v) : kop == QR_OP_MUL ? (u) * (v) \
                     : kop == QR_OP_DIV ? (u) / (v) : kop == QR_OP_MAXIMUM ? fmaxf (u, v) \
                     : kop == QR_OP_POW ? powf (u, v) : kop == QR_OP_MINIMUM ? fminf (u, v) \
                     : kop == QR_OP_GREATER ? (float) ((u) > (v)) : kop == QR_OP_LESS ? (float) ((u) < (v)) \
                     : kop == QR_OP_GREATER_EQUAL ? (float) ((u) >= (v)) : kop == QR_OP_LESS_EQUAL ? (float) ((u) <= (v)) \
                     : (float) ((u) == (v)))
#define FOR_EACH_OP(BODY)                                                                                     \
  switch (op)                                                                                                 \
    {                                                                                                         \
    case QR_OP_ADD: { const QrOpType kop = QR_OP_ADD; BODY; } break;                                          \
    case QR_OP_SUB: { const QrOpType kop = QR_OP_SUB; BODY; } break;                                          \
    case QR_OP_MUL: { const QrOpType kop = QR_OP_MUL; BODY; } break;                                          \
    case QR_OP_DIV: { const QrOpType kop = QR_OP_DIV; BODY; } break;                                          \
    default: { const QrOpType kop = op; BODY; } break;                                                        \
    }
  if (na == n && nb == n)
    {
      FOR_EACH_OP (
        _Pragma ("omp parallel for schedule(static)")
        for (gssize i = 0; i < (gssize) n; i++)
          y[i] = APPLY (x[i], z[i]);
      )
      return;
    }
  if (nb == 1 || na == 1)
    {
      gboolean scalar_b = nb == 1;
      float s = scalar_b ? z[0] : x[0];
      const float *v = scalar_b ? x : z;
      FOR_EACH_OP (
        _Pragma ("omp parallel for schedule(static)")
        for (gssize i = 0; i < (gssize) n; i++)
          y[i] = scalar_b ? APPLY (v[i], s) : APPLY (s, v[i]);
      )
      return;
    }
  /* One side a per-channel vector over the other's rows ([N, H, W, C] with [1 or N, 1, 1, C]): the
   * squeeze-and-excite scaling and bias-like adds. */
  {
    const QrShape *big = na == n ? a : b, *small = na == n ? b : a;
    int C = o->dims[rank - 1];
    gboolean vector = small->rank >= 1 && small->dims[small->rank - 1] == C && qr_shape_size (big) == n;
    int lead = 1;
    for (int d = 0; vector && d < small->rank - 1; d++)
      {
        int od = o->dims[rank - small->rank + d];
        if (d == 0 && small->rank == rank && small->dims[0] == od && od > 1)
          lead = od; /* one vector per batch item */
        else if (small->dims[d] != 1)
          vector = FALSE;
      }
    if (vector)
      {
        const float *v = na == n ? z : x, *m = na == n ? x : z;
        gboolean vector_is_b = na == n;
        gsize rows = n / (gsize) C, rows_per_lead = rows / (gsize) lead;
        FOR_EACH_OP (
          _Pragma ("omp parallel for schedule(static)")
          for (gssize r = 0; r < (gssize) rows; r++)
            {
              const float *row = m + (gsize) r * (gsize) C;
              const float *vec = v + (lead > 1 ? ((gsize) r / rows_per_lead) * (gsize) C : 0);
              float *out = y + (gsize) r * (gsize) C;
              if (vector_is_b)
                for (int c = 0; c < C; c++)
                  out[c] = APPLY (row[c], vec[c]);
              else
                for (int c = 0; c < C; c++)
                  out[c] = APPLY (vec[c], row[c]);
            }
        )
        return;
      }
  }
  /* One side a value per row of the other ([..., C] with [..., 1]): layer norm's decomposed form
   * (x − mean, / std) over a transformer's tokens. */
  {
    const QrShape *big = na == n ? a : b, *small = na == n ? b : a;
    gsize C = (gsize) o->dims[rank - 1], rows = C > 0 ? n / C : 0;
    gboolean per_row = qr_shape_size (big) == n && qr_shape_size (small) == rows && small->rank >= 1
                       && small->rank <= rank && small->dims[small->rank - 1] == 1;
    for (int d = 0; per_row && d < small->rank - 1; d++)
      per_row = small->dims[d] == o->dims[rank - small->rank + d];
    if (per_row)
      {
        const float *v = na == n ? z : x, *m = na == n ? x : z;
        gboolean value_is_b = na == n;
        FOR_EACH_OP (
          _Pragma ("omp parallel for schedule(static)")
          for (gssize r = 0; r < (gssize) rows; r++)
            {
              const float *row = m + (gsize) r * C;
              float value = v[r];   /* one declarator a line: a comma here would split the macro's argument */
              float *out = y + (gsize) r * C;
              if (value_is_b)
                for (gsize c = 0; c < C; c++)
                  out[c] = APPLY (row[c], value);
              else
                for (gsize c = 0; c < C; c++)
                  out[c] = APPLY (value, row[c]);
            }
        )
        return;
      }
  }
  /* General: strides of 0 along broadcast dimensions. */
  {
    gsize stride_a = 1, stride_b = 1, stride_o = 1;
    for (int d = rank - 1; d >= 0; d--)
      {
        int da = d - (rank - a->rank) >= 0 ? a->dims[d - (rank - a->rank)] : 1;
        int db = d - (rank - b->rank) >= 0 ? b->dims[d - (rank - b->rank)] : 1;
        sa[d] = da == 1 ? 0 : stride_a;
        sb[d] = db == 1 ? 0 : stride_b;
        so[d] = stride_o;
        stride_a *= (gsize) da;
        stride_b *= (gsize) db;
        stride_o *= (gsize) o->dims[d];
      }
#pragma omp parallel for schedule(static)
    for (gssize i = 0; i < (gssize) n; i++)
      {
        gsize rest = (gsize) i, ia = 0, ib = 0;
        for (int d = 0; d < rank; d++)
          {
            gsize idx = rest / so[d];
            rest %= so[d];
            ia += idx * sa[d];
            ib += idx * sb[d];
          }
        {
          const QrOpType kop = op;
          y[i] = APPLY (x[ia], z[ib]);
        }
      }
  }
#undef FOR_EACH_OP
#undef APPLY
}

void
qr_cpu_unary (QrGraph *graph, QrNode *node)
{
  const float *x = data (graph, node->inputs[0]);
  float *y = data (graph, node->outputs[0]);
  gsize n = qr_shape_size (shape (graph, node->outputs[0]));

  gsize chunk = 4096;   /* 16 KB blocks: copied, then activated in place while in cache */
  gssize blocks = (gssize) ((n + chunk - 1) / chunk);

#pragma omp parallel for schedule(static)
  for (gssize b = 0; b < blocks; b++)
    {
      gsize first = (gsize) b * chunk, count = MIN (chunk, n - first);
      if (y != x)
        memmove (y + first, x + first, count * sizeof (float));
      qr_cpu_activate_row (y + first, count, node->act, node->alpha, node->beta);
    }
}

void
qr_cpu_mean (QrGraph *graph, QrNode *node)
{
  QrShape *in = shape (graph, node->inputs[0]);
  const float *x = data (graph, node->inputs[0]);
  float *y = data (graph, node->outputs[0]);
  gsize n_out = qr_shape_size (shape (graph, node->outputs[0]));
  int dims[QR_MAX_RANK] = { 1, 1, 1, 1 };
  gboolean reduced[QR_MAX_RANK] = { FALSE };
  gsize count = 1;

  /* Work on the input padded to rank 4. */
  for (int d = 0; d < in->rank; d++)
    dims[QR_MAX_RANK - in->rank + d] = in->dims[d];
  for (int i = 0; i < node->n_axes; i++)
    {
      reduced[QR_MAX_RANK - in->rank + node->axes[i]] = TRUE;
      count *= (gsize) in->dims[node->axes[i]];
    }
  if (node->reduce == QR_REDUCE_ARGMAX || node->reduce == QR_REDUCE_ARGMIN)
    {
      /* one axis: outer × dim × inner; the index as a float (exact below 2^24); NaN wins, as in
         NumPy */
      int axis = node->axes[0], dim = in->dims[axis];
      gboolean is_max = node->reduce == QR_REDUCE_ARGMAX;
      gsize outer, inner;
      qr_shape_around (in, axis, &outer, &inner);
      for (gsize o = 0; o < outer; o++)
        for (gsize i = 0; i < inner; i++)
          {
            const float *v = x + o * (gsize) dim * inner + i;
            float best = v[0];
            int at = 0;
            for (int k = 1; k < dim && !isnan (best); k++)
              {
                float u = v[(gsize) k * inner];
                if (isnan (u) || (is_max ? u > best : u < best) || (node->select_last && u == best))
                  best = u, at = k;
              }
            y[o * inner + i] = (float) at;
          }
      return;
    }
  if (node->reduce == QR_REDUCE_MAX || node->reduce == QR_REDUCE_MIN)
    {
      gboolean is_max = node->reduce == QR_REDUCE_MAX;
      for (gsize i = 0; i < n_out; i++)
        y[i] = is_max ? -INFINITY : INFINITY;
      for (int i0 = 0; i0 < dims[0]; i0++)
        for (int i1 = 0; i1 < dims[1]; i1++)
          for (int i2 = 0; i2 < dims[2]; i2++)
            for (int i3 = 0; i3 < dims[3]; i3++)
              {
                int idx[4] = { i0, i1, i2, i3 };
                gsize o = 0;
                float v = x[(((gsize) i0 * dims[1] + i1) * dims[2] + i2) * dims[3] + i3];
                for (int d = 0; d < 4; d++)
                  if (!reduced[d])
                    o = o * (gsize) dims[d] + (gsize) idx[d];
                /* NaN wins, as in NumPy */
                if (isnan (v) || (is_max ? v > y[o] : v < y[o]))
                  y[o] = isnan (y[o]) ? y[o] : v;
              }
      return;
    }
  memset (y, 0, n_out * sizeof (float));
  {
    /* The common case, NHWC global average pooling: reduce H and W. */
    if (node->reduce == QR_REDUCE_MEAN && in->rank == 4 && reduced[1] && reduced[2] && !reduced[0] && !reduced[3])
      {
        int N = dims[0], HW = dims[1] * dims[2], C = dims[3];
#pragma omp parallel for schedule(static)
        for (int n = 0; n < N; n++)
          {
            float *out = y + (gsize) n * (gsize) C;
            for (int p = 0; p < HW; p++)
              {
                const float *row = x + ((gsize) n * (gsize) HW + (gsize) p) * (gsize) C;
                for (int c = 0; c < C; c++)
                  out[c] += row[c];
              }
            for (int c = 0; c < C; c++)
              out[c] /= (float) HW;
          }
        return;
      }
    for (int i0 = 0; i0 < dims[0]; i0++)
      for (int i1 = 0; i1 < dims[1]; i1++)
        for (int i2 = 0; i2 < dims[2]; i2++)
          for (int i3 = 0; i3 < dims[3]; i3++)
            {
              int idx[4] = { i0, i1, i2, i3 };
              gsize o = 0;
              for (int d = 0; d < 4; d++)
                if (!reduced[d])
                  o = o * (gsize) dims[d] + (gsize) idx[d];
              y[o] += x[(((gsize) i0 * dims[1] + i1) * dims[2] + i2) * dims[3] + i3];
            }
    if (node->reduce == QR_REDUCE_MEAN)
      for (gsize i = 0; i < n_out; i++)
        y[i] /= (float) count;
  }
}

/* TensorFlow's resize: align_corners maps corner to corner; half_pixel centres samples;
 * neither (the legacy mode) maps dst · in/out. */
void
qr_cpu_resize (QrGraph *graph, QrNode *node)
{
  QrShape *in = shape (graph, node->inputs[0]), *out = shape (graph, node->outputs[0]);
  const float *x = data (graph, node->inputs[0]);
  float *y = data (graph, node->outputs[0]);
  int N = in->dims[0], H = in->dims[1], W = in->dims[2], C = in->dims[3], OH = out->dims[1], OW = out->dims[2];
  float sh = node->align_corners && OH > 1 ? (float) (H - 1) / (float) (OH - 1) : (float) H / (float) OH;
  float sw = node->align_corners && OW > 1 ? (float) (W - 1) / (float) (OW - 1) : (float) W / (float) OW;

#pragma omp parallel for collapse(2) schedule(static)
  for (int n = 0; n < N; n++)
    for (int oy = 0; oy < OH; oy++)
      {
        float fy = node->half_pixel ? ((float) oy + 0.5f) * sh - 0.5f : (float) oy * sh;
        for (int ox = 0; ox < OW; ox++)
          {
            float fx = node->half_pixel ? ((float) ox + 0.5f) * sw - 0.5f : (float) ox * sw;
            float *dst = y + (((gsize) n * OH + oy) * OW + ox) * (gsize) C;
            if (node->resize_mode == QR_RESIZE_NEAREST)
              {
                int iy = node->align_corners ? (int) roundf (fy) : (int) floorf (node->half_pixel ? fy + 0.5f : fy);
                int ix = node->align_corners ? (int) roundf (fx) : (int) floorf (node->half_pixel ? fx + 0.5f : fx);
                iy = CLAMP (iy, 0, H - 1);
                ix = CLAMP (ix, 0, W - 1);
                memcpy (dst, x + (((gsize) n * H + iy) * W + ix) * (gsize) C, sizeof (float) * (gsize) C);
                continue;
              }
            {
              float cy = fmaxf (fy, 0.0f), cx = fmaxf (fx, 0.0f);
              int y0 = MIN ((int) floorf (cy), H - 1), x0 = MIN ((int) floorf (cx), W - 1);
              int y1 = MIN (y0 + 1, H - 1), x1 = MIN (x0 + 1, W - 1);
              float dy = cy - (float) y0, dx = cx - (float) x0;
              const float *p00 = x + (((gsize) n * H + y0) * W + x0) * (gsize) C;
              const float *p01 = x + (((gsize) n * H + y0) * W + x1) * (gsize) C;
              const float *p10 = x + (((gsize) n * H + y1) * W + x0) * (gsize) C;
              const float *p11 = x + (((gsize) n * H + y1) * W + x1) * (gsize) C;
              for (int c = 0; c < C; c++)
                {
                  float top = p00[c] + (p01[c] - p00[c]) * dx;
                  float bottom = p10[c] + (p11[c] - p10[c]) * dx;
                  dst[c] = top + (bottom - top) * dy;
                }
            }
          }
      }
}

void
qr_cpu_concat (QrGraph *graph, QrNode *node)
{
  QrShape *out = shape (graph, node->outputs[0]);
  float *y = data (graph, node->outputs[0]);
  gsize outer, inner, offset = 0;
  int n_data = node->n_inputs - 1;

  qr_shape_around (out, node->axis, &outer, &inner);
  for (int i = 0; i < n_data; i++)
    {
      QrShape *s = shape (graph, node->inputs[i]);
      const float *x = data (graph, node->inputs[i]);
      gsize chunk = (gsize) s->dims[node->axis] * inner, row = (gsize) out->dims[node->axis] * inner;
#pragma omp parallel for schedule(static)
      for (gssize o = 0; o < (gssize) outer; o++)
        memcpy (y + (gsize) o * row + offset, x + (gsize) o * chunk, chunk * sizeof (float));
      offset += chunk;
    }
}

/* dst = max (dst, src), or dst += src, over a pixel's channels: written so that the loops
 * vectorise (fmaxf is a call per value, which kept YOLOv8's SPPF pooling scalar: 8 ms a run). A
 * NaN in src leaves dst as it was, as fmaxf does. */
static inline void
pool_max_row (float *restrict dst, const float *restrict src, int n)
{
  for (int c = 0; c < n; c++)
    dst[c] = src[c] > dst[c] ? src[c] : dst[c];
}

static inline void
pool_sum_row (float *restrict dst, const float *restrict src, int n)
{
  for (int c = 0; c < n; c++)
    dst[c] += src[c];
}

void
qr_cpu_pool (QrGraph *graph, QrNode *node)
{
  QrShape *in = shape (graph, node->inputs[0]), *out = shape (graph, node->outputs[0]);
  const float *x = data (graph, node->inputs[0]);
  float *y = data (graph, node->outputs[0]);
  int N = in->dims[0], H = in->dims[1], W = in->dims[2], C = in->dims[3], OH = out->dims[1], OW = out->dims[2];
  gboolean is_max = node->op == QR_OP_MAXPOOL;

#pragma omp parallel for collapse(2) schedule(static)
  for (int n = 0; n < N; n++)
    for (int oy = 0; oy < OH; oy++)
      for (int ox = 0; ox < OW; ox++)
        {
          float *dst = y + (((gsize) n * OH + oy) * OW + ox) * (gsize) C;
          float first = is_max ? -INFINITY : 0.0f;
          int count = 0;
          for (int c = 0; c < C; c++)
            dst[c] = first;
          for (int ky = 0; ky < node->kernel[0]; ky++)
            {
              int iy = oy * node->stride[0] - node->pads[0] + ky * node->dilation[0];
              if (iy < 0 || iy >= H)
                continue;
              for (int kx = 0; kx < node->kernel[1]; kx++)
                {
                  int ix = ox * node->stride[1] - node->pads[2] + kx * node->dilation[1];
                  const float *src;
                  if (ix < 0 || ix >= W)
                    continue;
                  src = x + (((gsize) n * H + iy) * W + ix) * (gsize) C;
                  count++;
                  if (is_max)
                    pool_max_row (dst, src, C);
                  else
                    pool_sum_row (dst, src, C);
                }
            }
          /* TensorFlow's average pooling divides by the taps inside the image. */
          if (!is_max && count > 0)
            for (int c = 0; c < C; c++)
              dst[c] /= (float) count;
        }
}

void
qr_cpu_transpose (QrGraph *graph, QrNode *node)
{
  QrShape *in = shape (graph, node->inputs[0]), *out = shape (graph, node->outputs[0]);
  const float *x = data (graph, node->inputs[0]);
  float *y = data (graph, node->outputs[0]);
  gsize in_strides[QR_MAX_RANK], stride = 1, n = qr_shape_size (out), inner, step, across, step2, units;
  int rank = in->rank, lead;

  for (int d = rank - 1; d >= 0; d--)
    {
      in_strides[d] = stride;
      stride *= (gsize) in->dims[d];
    }
  if (n == 0)
    return;
  inner = rank > 0 ? (gsize) out->dims[rank - 1] : 1;
  step = rank > 0 ? in_strides[node->axes[rank - 1]] : 1;
  /* A plane of the output's last two dimensions at a time when the last is short (under 16: NCHW
     to NHWC with 3 channels), else a row of the last: its start in the input found once (the
     divisions), its values at fixed steps from there. */
  across = rank >= 2 && inner < 16 ? (gsize) out->dims[rank - 2] : 1;
  lead = rank - (across > 1 ? 2 : 1);   /* the dimensions above a unit */
  step2 = across > 1 ? in_strides[node->axes[rank - 2]] : 0;
  units = n / (across * inner);
#pragma omp parallel for schedule(static)
  for (gssize r = 0; r < (gssize) units; r++)
    {
      gsize rest = (gsize) r, src = 0;
      float *dst = y + (gsize) r * across * inner;
      for (int d = lead - 1; d >= 0; d--)
        {
          gsize idx = rest % (gsize) out->dims[d];
          rest /= (gsize) out->dims[d];
          src += idx * in_strides[node->axes[d]];
        }
      for (gsize a = 0; a < across; a++)
        if (step == 1)
          memcpy (dst + a * inner, x + src + a * step2, inner * sizeof (float));
        else
          for (gsize j = 0; j < inner; j++)
            dst[a * inner + j] = x[src + a * step2 + j * step];
    }
}

void
qr_cpu_pad (QrGraph *graph, QrNode *node)
{
  QrShape *in = shape (graph, node->inputs[0]), *out = shape (graph, node->outputs[0]);
  const float *x = data (graph, node->inputs[0]);
  float *y = data (graph, node->outputs[0]);
  float value = node->n_inputs > 2 ? data (graph, node->inputs[2])[0] : 0.0f;
  gsize n = qr_shape_size (out), n_in = qr_shape_size (in);
  int rank = in->rank;
  gsize out_strides[QR_MAX_RANK], stride = 1, last, rows;

  if (rank == 0)
    {
      y[0] = x[0];
      return;
    }
  for (int d = rank - 1; d >= 0; d--)
    {
      out_strides[d] = stride;
      stride *= (gsize) out->dims[d];
    }
  last = (gsize) in->dims[rank - 1];
  rows = last > 0 ? n_in / last : 0;
  for (gsize i = 0; i < n; i++)
    y[i] = value;
  /* a row of the last axis at a time: each value finding its place by a division per dimension
     took NanoDet's input (3 × 416 rows of 416) 5 ms */
#pragma omp parallel for schedule(static)
  for (gssize r = 0; r < (gssize) rows; r++)
    {
      gsize rest = (gsize) r, dst = (gsize) node->axes[rank - 1];
      for (int d = rank - 2; d >= 0; d--)
        {
          gsize idx = rest % (gsize) in->dims[d];
          rest /= (gsize) in->dims[d];
          dst += (idx + (gsize) node->axes[d]) * out_strides[d];
        }
      memcpy (y + dst, x + (gsize) r * last, last * sizeof (float));
    }
}

void
qr_cpu_split (QrGraph *graph, QrNode *node)
{
  QrShape *in = shape (graph, node->inputs[0]);
  const float *x = data (graph, node->inputs[0]);
  gsize outer, inner, offset = 0;

  qr_shape_around (in, node->axis, &outer, &inner);
  for (int i = 0; i < node->n_outputs; i++)
    {
      QrShape *s = shape (graph, node->outputs[i]);
      float *y = data (graph, node->outputs[i]);
      gsize chunk = (gsize) s->dims[node->axis] * inner, row = (gsize) in->dims[node->axis] * inner;
      for (gsize o = 0; o < outer; o++)
        memcpy (y + o * chunk, x + o * row + offset, chunk * sizeof (float));
      offset += chunk;
    }
}

void
qr_cpu_softmax (QrGraph *graph, QrNode *node)
{
  QrShape *in = shape (graph, node->inputs[0]);
  const float *x = data (graph, node->inputs[0]);
  float *y = data (graph, node->outputs[0]);
  int last = in->dims[in->rank - 1];
  gsize rows = qr_shape_size (in) / (gsize) last, block = 64;

#pragma omp parallel for schedule(static)
  for (gssize r = 0; r < (gssize) rows; r += (gssize) block)
    qr_cpu_softmax_rows (x + (gsize) r * (gsize) last, y + (gsize) r * (gsize) last, MIN (block, rows - (gsize) r), last);
}

void
qr_cpu_sparse_to_dense (QrGraph *graph, QrNode *node)
{
  QrShape *indices = shape (graph, node->inputs[0]), *out = shape (graph, node->outputs[0]);
  const float *idx = data (graph, node->inputs[0]), *values = data (graph, node->inputs[2]);
  gsize n_values = qr_shape_size (shape (graph, node->inputs[2]));
  float *y = data (graph, node->outputs[0]), fill = data (graph, node->inputs[3])[0];
  gsize n = qr_shape_size (out), n_idx = indices->rank > 0 ? (gsize) indices->dims[0] : 1;
  int width = indices->rank > 1 ? indices->dims[1] : 1;

  for (gsize i = 0; i < n; i++)
    y[i] = fill;
  for (gsize i = 0; i < n_idx && qr_shape_size (indices) > 0; i++)
    {
      gsize flat = 0;
      gboolean inside = TRUE;
      /* an index outside the output (or not a number) writes nothing */
      for (int d = 0; d < width && inside; d++)
        {
          float v = idx[i * (gsize) width + (gsize) d];
          inside = v >= 0 && v < (float) out->dims[d];
          if (inside)
            flat = flat * (gsize) out->dims[d] + (gsize) v;
        }
      if (inside && flat < n)
        y[flat] = values[n_values == 1 ? 0 : i];
    }
}

/* Slice / StridedSlice: begin, step and count per input dimension, resolved at shape time. */
void
qr_cpu_slice (QrGraph *graph, QrNode *node)
{
  QrShape *in = shape (graph, node->inputs[0]);
  const float *x = data (graph, node->inputs[0]);
  float *y = data (graph, node->outputs[0]);
  int rank = in->rank, counts[QR_MAX_RANK] = { 1, 1, 1, 1 }, begin[QR_MAX_RANK] = { 0 }, step[QR_MAX_RANK] = { 1, 1, 1, 1 };
  int dims[QR_MAX_RANK] = { 1, 1, 1, 1 };
  gsize strides[QR_MAX_RANK], stride = 1, o = 0;

  for (int d = 0; d < rank; d++)
    {
      int at = QR_MAX_RANK - rank + d;
      counts[at] = node->axes[d];
      begin[at] = node->begin[d];
      step[at] = node->step[d];
      dims[at] = in->dims[d];
    }
  for (int d = QR_MAX_RANK - 1; d >= 0; d--)
    {
      strides[d] = stride;
      stride *= (gsize) dims[d];
    }
  for (int a = 0; a < counts[0]; a++)
    for (int b = 0; b < counts[1]; b++)
      for (int c = 0; c < counts[2]; c++)
        for (int d = 0; d < counts[3]; d++)
          y[o++] = x[(gsize) (begin[0] + a * step[0]) * strides[0] + (gsize) (begin[1] + b * step[1]) * strides[1]
                     + (gsize) (begin[2] + c * step[2]) * strides[2] + (gsize) (begin[3] + d * step[3]) * strides[3]];
}

/* out[o, i, r] = data[o, indices[i], r]; an index out of range (the data are the graph's own, the
 * indices may be too) gives zeros. */
void
qr_cpu_gather (QrGraph *graph, QrNode *node)
{
  QrShape *in = shape (graph, node->inputs[0]);
  const float *x = data (graph, node->inputs[0]), *idx = data (graph, node->inputs[1]);
  float *y = data (graph, node->outputs[0]);
  gsize outer, inner, n = qr_shape_size (shape (graph, node->inputs[1]));
  int dim = in->dims[node->axis];

  qr_shape_around (in, node->axis, &outer, &inner);
#pragma omp parallel for schedule(static)
  for (gssize o = 0; o < (gssize) outer; o++)
    for (gsize i = 0; i < n; i++)
      {
        long v = lrintf (idx[i]);
        float *dst = y + ((gsize) o * n + i) * inner;
        if (v < 0)
          v += dim;
        if (v < 0 || v >= dim)
          memset (dst, 0, inner * sizeof (float));
        else
          memcpy (dst, x + ((gsize) o * (gsize) dim + (gsize) v) * inner, inner * sizeof (float));
      }
}

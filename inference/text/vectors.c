/* vectors.c: top-k dot products over a float16 matrix (qr-vectors.h). Reading half the bytes of
 * float32 is what makes it fast: the product is bound by memory, so each row is widened in
 * registers (F16C) and multiplied with FMA where the CPU has them, with a portable loop
 * elsewhere. Each thread keeps a min-heap of its best k; the heaps are merged at the end. */
#define G_LOG_DOMAIN "quorum-text"

#include "qr-vectors.h"
#include "qr-dmsm.h"

#include <cblas.h>
#include <math.h>
#include <string.h>
#include <omp.h>

#if defined(__x86_64__)
#include <immintrin.h>
#include <cpuid.h>
#define HAVE_X86 1
#endif

typedef struct
{
  float score;
  gsize row;
} Hit;

/* A min-heap of at most k hits: the worst kept on top. */
static void
heap_push (Hit *heap, guint *size, guint k, float score, gsize row)
{
  guint i;

  if (*size == k)
    {
      if (score <= heap[0].score)
        return;
      /* replace the worst and sift down */
      i = 0;
      for (;;)
        {
          guint l = 2 * i + 1, r = l + 1, m = i;
          float sm = score;
          if (l < k && heap[l].score < sm)
            m = l, sm = heap[l].score;
          if (r < k && heap[r].score < sm)
            m = r;
          if (m == i)
            break;
          heap[i] = heap[m];
          i = m;
        }
      heap[i] = (Hit) { score, row };
      return;
    }
  i = (*size)++;
  while (i > 0 && heap[(i - 1) / 2].score > score)
    {
      heap[i] = heap[(i - 1) / 2];
      i = (i - 1) / 2;
    }
  heap[i] = (Hit) { score, row };
}

#ifdef HAVE_X86
/* F16C from CPUID (leaf 1, ECX bit 29): clang's __builtin_cpu_supports does not know "f16c". */
static gboolean
has_f16c (void)
{
  unsigned int a, b, c, d;
  return __get_cpuid (1, &a, &b, &c, &d) && (c & (1u << 29)) != 0;
}
#endif

static float
dot_portable (const guint16 *row, const float *query, int dim)
{
  float values[64], sum = 0;
  for (int d = 0; d < dim; d += 64)
    {
      int n = MIN (64, dim - d);
      qr_half_to_float (row + d, values, (gsize) n);
      for (int i = 0; i < n; i++)
        sum += values[i] * query[d + i];
    }
  return sum;
}

#ifdef HAVE_X86
__attribute__ ((target ("avx2,f16c,fma"))) static float
dot_f16c (const guint16 *row, const float *query, int dim)
{
  __m256 acc0 = _mm256_setzero_ps (), acc1 = _mm256_setzero_ps ();
  int d = 0;
  float tail = 0, lanes[8];

  for (; d + 16 <= dim; d += 16)
    {
      __m256 a = _mm256_cvtph_ps (_mm_loadu_si128 ((const __m128i *) (row + d)));
      __m256 b = _mm256_cvtph_ps (_mm_loadu_si128 ((const __m128i *) (row + d + 8)));
      acc0 = _mm256_fmadd_ps (a, _mm256_loadu_ps (query + d), acc0);
      acc1 = _mm256_fmadd_ps (b, _mm256_loadu_ps (query + d + 8), acc1);
    }
  if (d < dim)
    tail = dot_portable (row + d, query + d, dim - d);
  _mm256_storeu_ps (lanes, _mm256_add_ps (acc0, acc1));
  return lanes[0] + lanes[1] + lanes[2] + lanes[3] + lanes[4] + lanes[5] + lanes[6] + lanes[7] + tail;
}
#endif

static int
compare_hits (gconstpointer a, gconstpointer b)
{
  const Hit *x = a, *y = b;
  if (x->score != y->score)
    return x->score > y->score ? -1 : 1;
  return x->row < y->row ? -1 : x->row > y->row;
}

guint
qr_vectors_top_k (const guint16 *matrix, gsize n, int dim, const float *query, guint k, gsize *rows, float *scores)
{
  int threads = omp_get_max_threads ();
  g_autofree Hit *heaps = NULL;
  g_autofree guint *sizes = NULL;
  g_autofree Hit *all = NULL;
  guint total = 0;
  float (*dot) (const guint16 *, const float *, int) = dot_portable;

  k = (guint) MIN ((gsize) k, n);
  if (k == 0)
    return 0;
#ifdef HAVE_X86
  if (__builtin_cpu_supports ("avx2") && has_f16c () && __builtin_cpu_supports ("fma"))
    dot = dot_f16c;
#endif
  heaps = g_new (Hit, (gsize) threads * k);
  sizes = g_new0 (guint, threads);
#pragma omp parallel num_threads (threads)
  {
    int t = omp_get_thread_num ();
    Hit *heap = heaps + (gsize) t * k;
#pragma omp for schedule (static)
    for (gsize i = 0; i < n; i++)
      heap_push (heap, &sizes[t], k, dot (matrix + i * (gsize) dim, query, dim), i);
  }
  all = g_new (Hit, (gsize) threads * k);
  for (int t = 0; t < threads; t++)
    {
      memcpy (all + total, heaps + (gsize) t * k, sizeof (Hit) * sizes[t]);
      total += sizes[t];
    }
  qsort (all, total, sizeof (Hit), compare_hits);
  for (guint i = 0; i < k; i++)
    {
      rows[i] = all[i].row;
      scores[i] = all[i].score;
    }
  return k;
}

void
qr_vectors_rank_own (const guint16 *matrix, gsize n, int dim, const float *queries, guint q, const gsize *own_rows,
                     QrOwnRank *out)
{
  const gsize block_rows = 4096;
  const guint block_queries = 256;
  g_autofree float *widened = NULL;
  g_autofree float *scores = NULL;

  if (q == 0)
    return;
  widened = g_new (float, MIN (block_rows, MAX (n, 1)) * (gsize) dim);
  scores = g_new (float, (gsize) MIN (block_queries, q) * MIN (block_rows, MAX (n, 1)));
  /* each own score first (its row widened, the sum in double): the threshold the others must pass */
  for (guint i = 0; i < q; i++)
    {
      const float *query = queries + (gsize) i * (gsize) dim;
      double sum = 0;
      g_assert (own_rows[i] < n);
      qr_half_to_float (matrix + own_rows[i] * (gsize) dim, widened, (gsize) dim);
      for (int d = 0; d < dim; d++)
        sum += (double) widened[d] * query[d];
      out[i] = (QrOwnRank) { (float) sum, 0, -1, -INFINITY };
    }
  for (gsize r0 = 0; r0 < n; r0 += block_rows)
    {
      gsize rows = MIN (block_rows, n - r0);
      qr_half_to_float (matrix + r0 * (gsize) dim, widened, rows * (gsize) dim);
      for (guint q0 = 0; q0 < q; q0 += block_queries)
        {
          guint nq = MIN (block_queries, q - q0);
          cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, (int) nq, (int) rows, dim, 1.0f,
                       queries + (gsize) q0 * (gsize) dim, dim, widened, dim, 0.0f, scores, (int) rows);
          /* the count on this thread: an OpenMP team here, beside OpenBLAS's own threads, made the
           * whole three times slower (bench search --review) */
          for (guint i = 0; i < nq; i++)
            {
              QrOwnRank *o = &out[q0 + i];
              const float *s = scores + (gsize) i * rows;
              float threshold = o->own + QR_VECTORS_TIE * fmaxf (1.0f, fabsf (o->own)), top = -INFINITY;
              guint ahead = 0;
              /* the own row's score is its own (within float rounding, far under the tie margin): it
               * never passes the threshold, so it needs no test here */
              guint lane_ahead[8] = { 0 };
              float lane_top[8] = { -INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY,
                                    -INFINITY };
              gsize j = 0;
              /* eight lanes, so that the compiler keeps them in one vector register */
              for (; j + 8 <= rows; j += 8)
                for (int k = 0; k < 8; k++)
                  {
                    lane_ahead[k] += s[j + k] > threshold;
                    lane_top[k] = s[j + k] > lane_top[k] ? s[j + k] : lane_top[k];
                  }
              for (; j < rows; j++)
                {
                  ahead += s[j] > threshold;
                  top = s[j] > top ? s[j] : top;
                }
              for (int k = 0; k < 8; k++)
                {
                  ahead += lane_ahead[k];
                  top = lane_top[k] > top ? lane_top[k] : top;
                }
              o->ahead += ahead;
              if (top > threshold && top > o->best)
                for (gsize at = 0; at < rows; at++)
                  if (s[at] == top)
                    {
                      o->best = top;
                      o->best_row = (gssize) (r0 + at);
                      break;
                    }
            }
        }
    }
}

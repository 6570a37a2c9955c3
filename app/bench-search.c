/* bench-search.c: `quorum bench search`: exact search over stored embeddings (the caption model's
 * search path, qr_vectors_top_k over float16) on N random unit vectors, against FAISS's exact
 * inner-product index (IndexFlatIP, python3-faiss) on the same vectors and queries, in the same
 * run: milliseconds a query, the ratio, and how often the two agree on the top 10.
 *
 * With --review Q: the caption review's far verdicts instead, where each of Q captions' own image
 * stands among the N: one full search a caption (as the review did), qr_vectors_rank_own over
 * them all, and NumPy blocks of 256 (bench/rank-own.py) on the same vectors, with the counts
 * compared. */
#define G_LOG_DOMAIN "quorum-bench"

#include "qr-cli.h"
#include "qr-dmsm.h"
#include "qr-vectors.h"
#include "quorum-config.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <glib/gstdio.h>

#define TOP 10

static void
random_unit (GRand *rand, float *v, int dim)
{
  double norm = 0;
  for (int d = 0; d < dim; d++)
    {
      /* Box–Muller: a direction uniform on the sphere */
      double u = g_rand_double_range (rand, 1e-12, 1), w = g_rand_double (rand);
      v[d] = (float) (sqrt (-2 * log (u)) * cos (2 * G_PI * w));
      norm += (double) v[d] * v[d];
    }
  for (int d = 0; d < dim; d++)
    v[d] = (float) (v[d] / sqrt (norm));
}

/* --review: captions near their own image (its vector plus noise), a fifth of them moved to another */
static int
bench_review (const guint16 *matrix, int vectors, int dim, int n, GRand *rand, gboolean no_peer)
{
  g_autofree float *queries = g_new (float, (gsize) n * (gsize) dim);
  g_autofree float *noise = g_new (float, dim);
  g_autofree gsize *own = g_new (gsize, n);
  g_autofree QrOwnRank *ranks = g_new (QrOwnRank, n);
  g_autofree gsize *rows = g_new (gsize, vectors);
  g_autofree float *scores = g_new (float, vectors);
  g_autoptr (GError) error = NULL;
  int timed = MIN (n, 20);
  double per_search_ms, batched_ms;
  gint64 started;
  guint flagged = 0;

  fprintf (stderr, "generating %d captions…\n", n);
  for (int i = 0; i < n; i++)
    {
      float *q = queries + (gsize) i * (gsize) dim;
      double norm = 0;
      gsize near = (gsize) g_rand_int_range (rand, 0, vectors);
      own[i] = g_rand_double (rand) < 0.2 ? (gsize) g_rand_int_range (rand, 0, vectors) : near;
      qr_half_to_float (matrix + near * (gsize) dim, q, (gsize) dim);
      random_unit (rand, noise, dim);
      for (int d = 0; d < dim; d++)
        {
          q[d] += 0.8f * noise[d];
          norm += (double) q[d] * q[d];
        }
      for (int d = 0; d < dim; d++)
        q[d] = (float) (q[d] / sqrt (norm));
    }
  /* as the review did: every image scored and sorted for each caption, its own found among them */
  started = g_get_monotonic_time ();
  for (int i = 0; i < timed; i++)
    {
      guint ahead = 0;
      qr_vectors_top_k (matrix, (gsize) vectors, dim, queries + (gsize) i * (gsize) dim, (guint) vectors, rows, scores);
      for (int k = 0; k < vectors && rows[k] != own[i]; k++)
        ahead++;
      (void) ahead;
    }
  per_search_ms = (double) (g_get_monotonic_time () - started) / 1000.0 / timed;
  started = g_get_monotonic_time ();
  qr_vectors_rank_own (matrix, (gsize) vectors, dim, queries, (guint) n, own, ranks);
  batched_ms = (double) (g_get_monotonic_time () - started) / 1000.0 / n;
  for (int i = 0; i < n; i++)
    flagged += ranks[i].ahead > 0;
  printf ("bench search --review: where each of %d captions' own image stands among %d vectors × %d (float16), %d"
          " cores\n", n, vectors, dim, (int) g_get_num_processors ());
  printf ("  one full search a caption (the review before; %d timed)  %9.3f ms a caption\n", timed, per_search_ms);
  printf ("  quorum qr_vectors_rank_own (blocks, OpenBLAS)          %9.3f ms a caption   (%.0f× faster; %u of %d with"
          " other images ahead)\n", batched_ms, per_search_ms / batched_ms, flagged, n);
  if (!no_peer)
    {
      g_autofree char *tmp = g_dir_make_tmp ("quorum-bench-review-XXXXXX", &error);
      g_autofree char *vectors_path = NULL, *queries_path = NULL, *own_path = NULL, *out = NULL, *err = NULL;
      g_autofree char *dim_text = g_strdup_printf ("%d", dim);
      g_autofree gint64 *own64 = g_new (gint64, n);
      g_autoptr (JsonParser) parser = json_parser_new ();
      int status = 1;

      if (tmp == NULL)
        return qr_cli_fail (g_steal_pointer (&error));
      for (int i = 0; i < n; i++)
        own64[i] = (gint64) own[i];
      vectors_path = g_build_filename (tmp, "vectors.f16", NULL);
      queries_path = g_build_filename (tmp, "queries.f32", NULL);
      own_path = g_build_filename (tmp, "own.i64", NULL);
      if (!g_file_set_contents (vectors_path, (const char *) matrix, (gssize) ((gsize) vectors * (gsize) dim * 2), &error)
          || !g_file_set_contents (queries_path, (const char *) queries, (gssize) ((gsize) n * (gsize) dim * 4), &error)
          || !g_file_set_contents (own_path, (const char *) own64, (gssize) ((gsize) n * 8), &error))
        return qr_cli_fail (g_steal_pointer (&error));
      {
        const char *args[] = { "/usr/bin/python3", QUORUM_SOURCE_DIR "/bench/rank-own.py", vectors_path, queries_path,
                               own_path, dim_text, NULL };
        g_spawn_sync (NULL, (char **) args, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, &err, &status, &error);
      }
      g_unlink (vectors_path);
      g_unlink (queries_path);
      g_unlink (own_path);
      g_rmdir (tmp);
      if (error != NULL || !g_spawn_check_wait_status (status, NULL)
          || !json_parser_load_from_data (parser, out, -1, NULL))
        printf ("  numpy: could not run (Debian python3-numpy installed?): %s\n", err ? err : "");
      else
        {
          JsonObject *o = json_node_get_object (json_parser_get_root (parser));
          JsonArray *ahead = json_object_get_array_member (o, "ahead");
          double ms = json_object_get_double_member (o, "ms");
          guint same = 0;
          for (int i = 0; i < n && (guint) i < json_array_get_length (ahead); i++)
            same += (guint) json_array_get_int_element (ahead, (guint) i) == ranks[i].ahead;
          printf ("  numpy blocks of 256 (float32 @, OpenBLAS)              %9.3f ms a caption\n", ms);
          printf ("  ratio: quorum %.2f× numpy's speed; the same count of images ahead for %u of %d captions"
                  " (float16 against float32 sums)\n", ms / batched_ms, same, n);
        }
    }
  return QR_EXIT_OK;
}

int
qr_cli_bench_search (int argc, char **argv)
{
  int vectors = 1000000, dim = 256, queries = 50, review = 0;
  gboolean no_peer = FALSE;
  GOptionEntry entries[] = {
    { "vectors", 'n', 0, G_OPTION_ARG_INT, &vectors, "Stored vectors (default 1,000,000)", "N" },
    { "dim", 'd', 0, G_OPTION_ARG_INT, &dim, "Their length (default 256)", "D" },
    { "queries", 'q', 0, G_OPTION_ARG_INT, &queries, "Queries timed (default 50)", "Q" },
    { "no-peer", 0, 0, G_OPTION_ARG_NONE, &no_peer, "Leave FAISS out", NULL },
    { "review", 0, 0, G_OPTION_ARG_INT, &review, "Instead: rank Q captions' own images among the vectors (the caption review)", "Q" },
    { NULL }
  };
  g_autoptr (GOptionContext) context = g_option_context_new ("— exact top-10 search over float16 embeddings, against FAISS");
  g_autoptr (GError) error = NULL;
  g_autoptr (GRand) rand = g_rand_new_with_seed (17);
  g_autofree guint16 *matrix = NULL;
  g_autofree float *query_values = NULL, *row = NULL;
  g_autofree gsize *tops = NULL;
  float scores[TOP];
  double total_ms = 0, best_ms = G_MAXDOUBLE;
  gint64 started;

  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    return qr_cli_usage_error (context, error->message);
  if (vectors < TOP || vectors > 20000000 || dim < 8 || dim > 4096 || queries < 1 || queries > 10000 || review < 0
      || review > 10000000)
    return qr_cli_usage_error (context, "--vectors 10 to 20,000,000, --dim 8 to 4096, --queries 1 to 10,000, --review 0 to"
                                        " 10,000,000");

  fprintf (stderr, "generating %d random unit vectors of %d…\n", vectors, dim);
  matrix = g_new (guint16, (gsize) vectors * (gsize) dim);
  row = g_new (float, dim);
  for (int i = 0; i < vectors; i++)
    {
      random_unit (rand, row, dim);
      qr_float_to_half (row, matrix + (gsize) i * (gsize) dim, (gsize) dim);
    }
  if (review > 0)
    return bench_review (matrix, vectors, dim, review, rand, no_peer);
  query_values = g_new (float, (gsize) queries * (gsize) dim);
  for (int q = 0; q < queries; q++)
    random_unit (rand, query_values + (gsize) q * (gsize) dim, dim);
  tops = g_new (gsize, (gsize) queries * TOP);

  qr_vectors_top_k (matrix, (gsize) vectors, dim, query_values, TOP, tops, scores);   /* warm-up */
  for (int q = 0; q < queries; q++)
    {
      double ms;
      started = g_get_monotonic_time ();
      qr_vectors_top_k (matrix, (gsize) vectors, dim, query_values + (gsize) q * (gsize) dim, TOP, tops + (gsize) q * TOP,
                        scores);
      ms = (double) (g_get_monotonic_time () - started) / 1000.0;
      total_ms += ms;
      best_ms = MIN (best_ms, ms);
    }
  printf ("bench search: %d vectors × %d (float16, %.0f MB), top %d, %d queries one at a time, %d cores\n", vectors, dim,
          (double) vectors * dim * 2 / 1e6, TOP, queries, (int) g_get_num_processors ());
  printf ("  quorum (qr_vectors_top_k)      %8.2f ms a query (best %.2f)\n", total_ms / queries, best_ms);

  if (!no_peer)
    {
      g_autofree char *tmp = g_dir_make_tmp ("quorum-bench-search-XXXXXX", &error);
      g_autofree char *vectors_path = NULL, *queries_path = NULL, *out = NULL, *err = NULL;
      g_autofree char *dim_text = g_strdup_printf ("%d", dim), *top_text = g_strdup_printf ("%d", TOP);
      g_autoptr (JsonParser) parser = json_parser_new ();
      int status = 1;

      if (tmp == NULL)
        return qr_cli_fail (g_steal_pointer (&error));
      vectors_path = g_build_filename (tmp, "vectors.f16", NULL);
      queries_path = g_build_filename (tmp, "queries.f32", NULL);
      if (!g_file_set_contents (vectors_path, (const char *) matrix, (gssize) ((gsize) vectors * (gsize) dim * 2), &error)
          || !g_file_set_contents (queries_path, (const char *) query_values, (gssize) ((gsize) queries * (gsize) dim * 4),
                                   &error))
        return qr_cli_fail (g_steal_pointer (&error));
      {
        const char *args[] = { "/usr/bin/python3", QUORUM_SOURCE_DIR "/bench/faiss-search.py", vectors_path, queries_path,
                               dim_text, top_text, NULL };
        g_spawn_sync (NULL, (char **) args, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, &err, &status, &error);
      }
      g_unlink (vectors_path);
      g_unlink (queries_path);
      g_rmdir (tmp);
      if (error != NULL || !g_spawn_check_wait_status (status, NULL)
          || !json_parser_load_from_data (parser, out, -1, NULL))
        {
          printf ("  faiss: could not run (Debian python3-faiss installed?): %s\n", err ? err : "");
          return QR_EXIT_OK;
        }
      {
        JsonObject *o = json_node_get_object (json_parser_get_root (parser));
        double ms = json_object_get_double_member (o, "ms");
        JsonArray *their_tops = json_object_get_array_member (o, "tops");
        guint agree = 0;
        for (int q = 0; q < queries; q++)
          {
            JsonArray *t = json_array_get_array_element (their_tops, (guint) q);
            for (guint i = 0; i < TOP; i++)
              for (guint j = 0; j < TOP; j++)
                agree += (gsize) json_array_get_int_element (t, i) == tops[(gsize) q * TOP + j];
          }
        double fp16_ms = json_object_get_double_member (o, "fp16_ms");
        printf ("  faiss IndexFlatIP (float32)    %8.2f ms a query (%d threads)\n", ms,
                (int) json_object_get_int_member (o, "threads"));
        double numpy_ms = json_object_get_double_member (o, "numpy_ms");
        double best_peer = MIN (ms, MIN (fp16_ms, numpy_ms));
        printf ("  faiss IndexScalarQuantizer fp16 %7.2f ms a query\n", fp16_ms);
        printf ("  numpy x @ q + argpartition     %8.2f ms a query (float32, OpenBLAS)\n", numpy_ms);
        printf ("  ratio: quorum %.2f× the fastest peer's speed; quorum's top %d and faiss flat's share %.1f%% of their"
                " images (float16 rounding)\n",
                best_peer / (total_ms / queries), TOP, 100.0 * agree / (queries * TOP));
      }
    }
  return QR_EXIT_OK;
}

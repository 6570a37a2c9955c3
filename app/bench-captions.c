/* bench-captions.c: `quorum bench captions` — how well the image–text scorers work, on a
 * collection with peer runs and captions (the demo photos with ../shared/captions, say).
 *
 * Retrieval: each caption as a query, the rank of its own photo among the collection's (ties
 * counted half: a photo tied with t others ranks t/2 lower); recall@1, recall@5 and the median
 * rank, for each scorer and for random order.
 *
 * Planted caption mistakes: in each of the seeded trials, 10% of the captions are replaced, one kind
 * at a time: by a caption of another photo; with one object word swapped for another class's name;
 * with its number changed (only captions that say a number can be; 10% of all captions, or as many
 * as say one). Every caption is judged (qr_caption_judge) and ranked; precision at k, k the number
 * planted, against random (k / n in expectation). */
#define G_LOG_DOMAIN "quorum-bench"

#include "qr-cli.h"
#include "qr-scorer.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

typedef struct
{
  gint64  image_id;
  char   *text;
} Caption;

static int
compare_double (gconstpointer a, gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return x < y ? -1 : x > y;
}

/* The rank of each caption's own photo under one scorer; -1 for a caption it cannot score (it
 * names nothing the scorer knows: it then ranks at random, (n + 1) / 2). */
static gboolean
retrieval (QrScorer *scorer, GArray *captions, GArray *image_ids, double *r1, double *r5, double *median,
           guint *unscorable, GError **error)
{
  g_autoptr (GArray) ranks = g_array_new (FALSE, FALSE, sizeof (double));
  double n = image_ids->len;

  *r1 = *r5 = 0;
  *unscorable = 0;
  for (guint c = 0; c < captions->len; c++)
    {
      Caption *cap = &g_array_index (captions, Caption, c);
      g_autoptr (GError) local = NULL;
      QrScorerText *t = qr_scorer_prepare (scorer, cap->text, &local);
      double own = 0, rank;
      guint better = 0, tied = 0;
      gboolean scorable = t != NULL;

      if (t == NULL)
        {
          rank = (n + 1) / 2;
          (*unscorable)++;
        }
      else
        {
          g_autofree double *scores = g_new (double, image_ids->len);
          for (guint i = 0; i < image_ids->len; i++)
            {
              QrScore s = { 0 };
              if (!qr_scorer_score (scorer, t, g_array_index (image_ids, gint64, i), QR_TEXT_QUERY, &s, error))
                {
                  qr_scorer_text_free (scorer, t);
                  return FALSE;
                }
              scores[i] = s.score;
              if (g_array_index (image_ids, gint64, i) == cap->image_id)
                own = s.score;
              qr_score_clear (&s);
            }
          for (guint i = 0; i < image_ids->len; i++)
            if (g_array_index (image_ids, gint64, i) != cap->image_id)
              better += scores[i] > own, tied += scores[i] == own;
          rank = 1 + better + tied / 2.0;
          qr_scorer_text_free (scorer, t);
        }
      /* recall@k with ties shared: the chance the photo is within k if ties fall at random */
      for (int k = 1; k <= 5; k += 4)
        {
          double in;
          if (!scorable)
            in = MIN (1.0, k / n);
          else if (1 + better > (guint) k)
            in = 0;
          else
            in = MIN (1.0, (k - better) / (double) (tied + 1));
          if (k == 1)
            *r1 += in;
          else
            *r5 += in;
        }
      g_array_append_val (ranks, rank);
    }
  *r1 /= captions->len;
  *r5 /= captions->len;
  g_array_sort (ranks, compare_double);
  *median = ranks->len % 2 ? g_array_index (ranks, double, ranks->len / 2)
                           : (g_array_index (ranks, double, ranks->len / 2 - 1) + g_array_index (ranks, double, ranks->len / 2)) / 2;
  return TRUE;
}

static const char *const number_words[] = { "one", "two", "three", "four", "five", "six", "seven", "eight" };

/* The caption with its number changed, or NULL when it says none. */
static char *
change_count (const char *text, GRand *rand)
{
  g_auto (GStrv) words = g_strsplit (text, " ", -1);
  for (guint i = 0; words[i] != NULL; i++)
    for (guint n = 1; n < G_N_ELEMENTS (number_words); n++)
      if (g_ascii_strcasecmp (words[i], number_words[n]) == 0)
        {
          guint other;
          do
            other = (guint) g_rand_int_range (rand, 1, 7);
          while (other == n);
          g_free (words[i]);
          words[i] = g_strdup (number_words[other]);
          return g_strjoinv (" ", words);
        }
  return NULL;
}

/* The caption with one word that names a class replaced by another class's name, or NULL. */
static char *
swap_object (QrLexicon *lexicon, const char *text, const char *const *classes, guint n_classes, GRand *rand)
{
  g_autoptr (QrTextQuery) query = qr_text_parse (lexicon, text, NULL);
  g_auto (GStrv) words = NULL;
  const QrMention *m;
  const char *head, *other;
  g_autofree char *lower = NULL;

  if (query == NULL || query->mentions->len == 0)
    return NULL;
  m = &g_array_index (query->mentions, QrMention, g_rand_int_range (rand, 0, (gint32) query->mentions->len));
  head = strrchr (m->words, ' ') ? strrchr (m->words, ' ') + 1 : m->words;
  do
    other = classes[g_rand_int_range (rand, 0, (gint32) n_classes)];
  while (g_str_equal (other, m->class_name));
  words = g_strsplit (text, " ", -1);
  for (guint i = 0; words[i] != NULL; i++)
    {
      g_autofree char *w = g_utf8_strdown (words[i], -1);
      gsize len = strlen (head);
      if (g_str_has_prefix (w, head) && (w[len] == '\0' || !g_ascii_isalpha (w[len])))
        {
          gboolean plural = m->count == QR_COUNT_SEVERAL || m->count >= 2;
          char *swapped = g_strconcat (other, plural ? "s" : "", words[i] + len, NULL);
          g_free (words[i]);
          words[i] = swapped;
          return g_strjoinv (" ", words);
        }
    }
  return NULL;
}

int
qr_cli_bench_captions (int argc, char **argv)
{
  QrCliCommon common = { 0 };
  int trials = 400;
  double rate = 0.1;
  GOptionEntry entries[] = {
    { "trials", 'n', 0, G_OPTION_ARG_INT, &trials, "Seeded trials per kind (default 400)", "N" },
    { "rate", 0, 0, G_OPTION_ARG_DOUBLE, &rate, "Share of captions replaced (default 0.1)", "R" },
    { NULL }
  };
  static const char *const kinds[] = { "caption of another photo", "object word swapped", "count changed" };
  g_autoptr (GOptionContext) context = g_option_context_new ("— retrieval and planted caption mistakes, zero-shot "
                                                             "against class names and random");
  g_autoptr (QrCatalog) catalog = NULL;
  g_autoptr (QrScorer) zeroshot = NULL, plain = NULL;
  g_autoptr (GPtrArray) records = NULL;
  g_autoptr (GArray) captions = g_array_new (FALSE, FALSE, sizeof (Caption));
  g_autoptr (GArray) image_ids = NULL;
  g_autoptr (QrLexicon) lexicon = NULL;
  g_autoptr (GHashTable) class_names = NULL;
  g_autoptr (GPtrArray) classes = g_ptr_array_new ();
  g_autofree double *clean = NULL;
  GError *error = NULL;
  int status;

  qr_cli_add_common_entries (context, &common);
  g_option_context_add_main_entries (context, entries, NULL);
  if ((status = qr_cli_parse_collection_command (context, &common, argc, argv)) >= 0)
    goto out;
  if (trials < 1 || !(rate > 0 && rate < 1))
    {
      status = qr_cli_usage_error (context, "--trials must be at least 1 and --rate between 0 and 1");
      goto out;
    }
  if ((catalog = qr_cli_open_catalog (common.collection, common.db, &error)) == NULL
      || (records = qr_catalog_list_caption_records (catalog, -1, &error)) == NULL
      || (zeroshot = qr_scorer_new (catalog, "zeroshot", &error)) == NULL
      || (plain = qr_scorer_new (catalog, "plain", &error)) == NULL
      || (image_ids = qr_scorer_candidates (zeroshot, &error)) == NULL
      || (lexicon = qr_lexicon_get_default (&error)) == NULL
      || (class_names = qr_catalog_class_names (catalog, &error)) == NULL)
    {
      status = qr_cli_fail (error);
      goto out;
    }
  if (records->len < 10)
    {
      fprintf (stderr, "quorum: %u captions in this collection; the benchmark needs at least 10 "
                       "(quorum import --format coco CAPTIONS.json)\n", records->len);
      status = QR_EXIT_ERROR;
      goto out;
    }
  for (guint i = 0; i < records->len; i++)
    {
      QrCaptionRecord *r = records->pdata[i];
      Caption c = { r->image_id, r->text };
      g_array_append_val (captions, c);
    }
  {
    GHashTableIter iter;
    gpointer value;
    g_hash_table_iter_init (&iter, class_names);
    while (g_hash_table_iter_next (&iter, NULL, &value))
      g_ptr_array_add (classes, value);
    g_ptr_array_sort (classes, (GCompareFunc) g_strcmp0);
  }

  printf ("Retrieval: %u captions as queries over %u photos (ties counted half)\n", captions->len, image_ids->len);
  printf ("  %-28s %9s %9s %12s\n", "scorer", "recall@1", "recall@5", "median rank");
  {
    QrScorer *scorers[] = { zeroshot, plain };
    const char *titles[] = { "zero-shot (WordNet lexicon)", "class names only" };
    for (guint s = 0; s < G_N_ELEMENTS (scorers); s++)
      {
        double r1, r5, median;
        guint unscorable;
        if (!retrieval (scorers[s], captions, image_ids, &r1, &r5, &median, &unscorable, &error))
          {
            status = qr_cli_fail (error);
            goto out;
          }
        printf ("  %-28s %9.3f %9.3f %12.1f   (%u captions name nothing it knows)\n", titles[s], r1, r5, median,
                unscorable);
      }
    printf ("  %-28s %9.3f %9.3f %12.1f\n", "random", 1.0 / image_ids->len, MIN (1.0, 5.0 / image_ids->len),
            (image_ids->len + 1) / 2.0);
  }

  /* clean captions are judged once */
  clean = g_new (double, captions->len);
  for (guint c = 0; c < captions->len; c++)
    {
      Caption *cap = &g_array_index (captions, Caption, c);
      QrCaptionVerdict v;
      if (!qr_caption_judge (zeroshot, cap->image_id, cap->text, &v, &error))
        {
          status = qr_cli_fail (error);
          goto out;
        }
      clean[c] = v.score;
      qr_caption_verdict_clear (&v);
    }
  printf ("\nPlanted caption mistakes: %d seeded trials per kind, %.0f%% of %u captions replaced; precision at k "
          "(k = the number planted)\n", trials, rate * 100, captions->len);
  printf ("  %-26s %6s %12s %10s\n", "kind", "k", "zero-shot", "random");
  for (guint kind = 0; kind < G_N_ELEMENTS (kinds); kind++)
    {
      double precision = 0, random_precision = 0;
      guint k_used = 0;
      for (int trial = 0; trial < trials; trial++)
        {
          g_autoptr (GRand) rand = g_rand_new_with_seed ((guint32) (1000 * kind + (guint) trial + 1));
          g_autofree double *score = g_memdup2 (clean, sizeof (double) * captions->len);
          g_autofree gboolean *planted = g_new0 (gboolean, captions->len);
          g_autofree guint *order = g_new (guint, captions->len);
          guint want = (guint) lround (rate * captions->len), done = 0, hits = 0;

          for (guint i = 0; i < captions->len; i++)
            order[i] = i;
          for (guint i = captions->len - 1; i > 0; i--)
            {
              guint j = (guint) g_rand_int_range (rand, 0, (gint32) i + 1), t = order[i];
              order[i] = order[j], order[j] = t;
            }
          for (guint o = 0; o < captions->len && done < want; o++)
            {
              Caption *cap = &g_array_index (captions, Caption, order[o]);
              g_autofree char *text = NULL;
              QrCaptionVerdict v;
              if (kind == 0)
                {
                  Caption *other;
                  do
                    other = &g_array_index (captions, Caption, g_rand_int_range (rand, 0, (gint32) captions->len));
                  while (other->image_id == cap->image_id);
                  text = g_strdup (other->text);
                }
              else if (kind == 1)
                text = swap_object (lexicon, cap->text, (const char *const *) classes->pdata, classes->len, rand);
              else
                text = change_count (cap->text, rand);
              if (text == NULL)
                continue;
              if (!qr_caption_judge (zeroshot, cap->image_id, text, &v, &error))
                {
                  status = qr_cli_fail (error);
                  goto out;
                }
              score[order[o]] = v.score;
              planted[order[o]] = TRUE;
              qr_caption_verdict_clear (&v);
              done++;
            }
          if (done == 0)
            continue;
          /* the top `done` by score, ties broken at random */
          for (guint pick = 0; pick < done; pick++)
            {
              double best = -1;
              guint best_i = 0, n_best = 0;
              for (guint i = 0; i < captions->len; i++)
                if (score[i] > best)
                  best = score[i], best_i = i, n_best = 1;
                else if (score[i] == best && g_rand_int_range (rand, 0, (gint32) ++n_best) == 0)
                  best_i = i;
              hits += planted[best_i];
              score[best_i] = -2;
            }
          precision += hits / (double) done;
          random_precision += done / (double) captions->len;
          k_used += done;
        }
      printf ("  %-26s %6.1f %12.3f %10.3f\n", kinds[kind], k_used / (double) trials, precision / trials,
              random_precision / trials);
    }
  status = QR_EXIT_OK;
out:
  qr_cli_common_clear (&common);
  return status;
}

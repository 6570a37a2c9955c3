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
#include "qr-caption-model.h"
#include "qr-detector.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

typedef struct
{
  gint64  image_id;
  char   *text;
  gint64  id;
} Caption;

static int
compare_names (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 (*(const char *const *) a, *(const char *const *) b);
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
  g_array_sort (ranks, qr_cli_compare_doubles);
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

/* How many of the top `done` by score were planted, ties broken at random; the scores are used up. */
static guint
top_hits (double *score, const gboolean *planted, guint n, guint done, GRand *rand)
{
  guint hits = 0;
  for (guint pick = 0; pick < done; pick++)
    {
      double best = -1;
      guint best_i = 0, n_best = 0;
      for (guint i = 0; i < n; i++)
        if (score[i] > best)
          best = score[i], best_i = i, n_best = 1;
        else if (score[i] == best && g_rand_int_range (rand, 0, (gint32) ++n_best) == 0)
          best_i = i;
      hits += planted[best_i];
      score[best_i] = -2;
    }
  return hits;
}

/* A caption model trained in memory on train (QrCaptionPair over inputs), for the DMSM lines. */
static QrDmsm *
train_in_memory (const QrCaptionInputs *inputs, GArray *train, int epochs, double *seconds)
{
  QrCaptionTrainOptions options;
  QrDmsm *model;
  g_autoptr (QrDmsmTrainer) trainer = NULL;
  gint64 started = g_get_monotonic_time ();

  qr_caption_train_options_init (&options);
  model = qr_caption_model_new (inputs, train, &options);
  trainer = qr_dmsm_trainer_new (model, options.learning_rate);
  for (int epoch = 0; epoch < epochs; epoch++)
    {
      double loss;
      qr_caption_model_epoch (trainer, inputs, train, options.batch_size, options.seed, epoch, NULL, NULL, &loss, NULL);
    }
  *seconds = (double) (g_get_monotonic_time () - started) / 1e6;
  return model;
}

/* Row of an image in inputs, -1 when it has no features. */
static int
input_row (const QrCaptionInputs *inputs, gint64 image_id)
{
  for (guint i = 0; i < inputs->ids->len; i++)
    if (g_array_index (inputs->ids, gint64, i) == image_id)
      return (int) i;
  return -1;
}

int
qr_cli_bench_captions (int argc, char **argv)
{
  QrCliCommon common = { 0 };
  int trials = 400, dmsm_epochs = 60, dmsm_trials = 100, n_folds = 5;
  g_autofree int *caption_fold = NULL;
  double rate = 0.1;
  gboolean no_dmsm = FALSE;
  GOptionEntry entries[] = {
    { "trials", 'n', 0, G_OPTION_ARG_INT, &trials, "Seeded trials per kind (default 400)", "N" },
    { "dmsm-epochs", 0, 0, G_OPTION_ARG_INT, &dmsm_epochs, "Epochs of the caption models trained here (default 60)", "N" },
    { "dmsm-trials", 0, 0, G_OPTION_ARG_INT, &dmsm_trials, "Trials per kind with a caption model trained on their captions (default 100)", "N" },
    { "folds", 0, 0, G_OPTION_ARG_INT, &n_folds, "Out-of-fold caption models per trial (default 5)", "N" },
    { "no-dmsm", 0, 0, G_OPTION_ARG_NONE, &no_dmsm, "Leave the caption model (DMSM) out", NULL },
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
  QrCaptionInputs dmsm_inputs = { 0 };
  g_autoptr (GArray) all_pairs = g_array_new (FALSE, FALSE, sizeof (QrCaptionPair));
  GError *error = NULL;
  int status;

  qr_cli_add_common_entries (context, &common);
  g_option_context_add_main_entries (context, entries, NULL);
  if ((status = qr_cli_parse_collection_command (context, &common, argc, argv)) >= 0)
    goto out;
  if (trials < 1 || !(rate > 0 && rate < 1) || n_folds < 2)
    {
      status = qr_cli_usage_error (context, "--trials must be at least 1, --rate between 0 and 1 and --folds at least 2");
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
      Caption c = { r->image_id, r->text, r->id };
      g_array_append_val (captions, c);
    }
  {
    GHashTableIter iter;
    gpointer value;
    g_hash_table_iter_init (&iter, class_names);
    while (g_hash_table_iter_next (&iter, NULL, &value))
      g_ptr_array_add (classes, value);
    g_ptr_array_sort (classes, compare_names);   /* by name: the same swaps every run */
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

  /* the caption model: trained here in memory (the catalog keeps only its features), one caption
   * of each photo held out for retrieval; a second one on every caption for the planted mistakes */
  if (!no_dmsm)
    {
      g_autofree char *centernet = qr_find_model (QR_CAPTION_MODEL_BACKBONE, &error);
      guint computed, failed;
      g_autoptr (GArray) held = g_array_new (FALSE, FALSE, sizeof (QrCaptionPair));
      g_autoptr (GArray) train = g_array_new (FALSE, FALSE, sizeof (QrCaptionPair));
      g_autoptr (GArray) held_captions = g_array_new (FALSE, FALSE, sizeof (Caption));
      g_autoptr (GHashTable) held_of = g_hash_table_new (g_int64_hash, g_int64_equal);
      g_autoptr (GRand) rand = g_rand_new_with_seed (5);
      g_autoptr (QrScorer) held_model = NULL, blend = NULL;
      double br1, br5, bmedian;
      guint bunscorable;
      QrDmsm *borrowed;
      double seconds, r1, r5, median, zr1, zr5, zmedian, caption_rank = 0;
      guint unscorable, zunscorable;

      if (centernet == NULL
          || !qr_caption_features_compute (catalog, centernet, QR_DEVICE_AUTO, NULL, NULL, NULL, NULL, &computed, &failed,
                                           &error)
          || !qr_caption_inputs_load (catalog, NULL, &dmsm_inputs, &error))
        {
          status = qr_cli_fail (error);
          goto out;
        }
      /* one caption of each photo, picked at random, held out */
      for (guint c = 0; c < captions->len; c++)
        {
          Caption *cap = &g_array_index (captions, Caption, c);
          if (!g_hash_table_contains (held_of, &cap->image_id))
            {
              guint n_own = 0, pick;
              for (guint k = 0; k < captions->len; k++)
                n_own += g_array_index (captions, Caption, k).image_id == cap->image_id;
              pick = (guint) g_rand_int_range (rand, 0, (gint32) n_own);
              for (guint k = 0; k < captions->len; k++)
                if (g_array_index (captions, Caption, k).image_id == cap->image_id && pick-- == 0)
                  g_hash_table_insert (held_of, &cap->image_id, GUINT_TO_POINTER (k + 1));
            }
        }
      for (guint c = 0; c < captions->len; c++)
        {
          Caption *cap = &g_array_index (captions, Caption, c);
          int row = input_row (&dmsm_inputs, cap->image_id);
          QrCaptionPair p = { cap->text, (guint) row };
          if (row < 0)
            continue;
          g_array_append_val (all_pairs, p);
          if (GPOINTER_TO_UINT (g_hash_table_lookup (held_of, &cap->image_id)) == c + 1)
            {
              g_array_append_val (held, p);
              g_array_append_val (held_captions, *cap);
            }
          else
            g_array_append_val (train, p);
        }
      borrowed = train_in_memory (&dmsm_inputs, train, dmsm_epochs, &seconds);
      held_model = qr_dmsm_scorer_new_for (catalog, borrowed, &dmsm_inputs);
      blend = qr_blend_scorer_new_from (held_model, zeroshot);
      if (!retrieval (held_model, held_captions, dmsm_inputs.ids, &r1, &r5, &median, &unscorable, &error)
          || !retrieval (zeroshot, held_captions, dmsm_inputs.ids, &zr1, &zr5, &zmedian, &zunscorable, &error)
          || !retrieval (blend, held_captions, dmsm_inputs.ids, &br1, &br5, &bmedian, &bunscorable, &error))
        {
          status = qr_cli_fail (error);
          goto out;
        }
      /* each photo: its held-out caption's rank among every caption */
      {
        int O = qr_dmsm_get_shape (borrowed)->out_dim;
        g_autofree float *texts = g_new0 (float, (gsize) all_pairs->len * (gsize) O);
        g_autofree float *image = g_new (float, O);
        g_autoptr (GArray) ranks = g_array_new (FALSE, FALSE, sizeof (double));
        for (guint t = 0; t < all_pairs->len; t++)
          qr_dmsm_embed_text (borrowed, g_array_index (all_pairs, QrCaptionPair, t).text, texts + (gsize) t * O, NULL);
        for (guint h = 0; h < held->len; h++)
          {
            const QrCaptionPair *p = &g_array_index (held, QrCaptionPair, h);
            double own = 0;
            guint better = 0, own_index = 0;
            qr_dmsm_embed_images (borrowed, dmsm_inputs.rows + (gsize) p->row * (gsize) dmsm_inputs.dim, 1, image);
            for (guint t = 0; t < all_pairs->len; t++)
              if (g_array_index (all_pairs, QrCaptionPair, t).text == p->text)
                own_index = t;
            for (int k = 0; k < O; k++)
              own += (double) image[k] * texts[(gsize) own_index * O + k];
            for (guint t = 0; t < all_pairs->len; t++)
              {
                double sim = 0;
                for (int k = 0; k < O; k++)
                  sim += (double) image[k] * texts[(gsize) t * O + k];
                better += t != own_index && sim > own;
              }
            caption_rank = 1 + better;
            g_array_append_val (ranks, caption_rank);
          }
        g_array_sort (ranks, qr_cli_compare_doubles);
        caption_rank = ranks->len % 2 ? g_array_index (ranks, double, ranks->len / 2)
                                      : (g_array_index (ranks, double, ranks->len / 2 - 1)
                                         + g_array_index (ranks, double, ranks->len / 2)) / 2;
      }
      printf ("\nCaption model (DMSM) trained here on %u captions (%d epochs, %.1f s on the CPU), one caption of each of the"
              " %u photos held out:\n", train->len, dmsm_epochs, seconds, held->len);
      printf ("  %-28s %9s %9s %12s\n", "held-out captions as queries", "recall@1", "recall@5", "median rank");
      printf ("  %-28s %9.3f %9.3f %12.1f\n", "DMSM", r1, r5, median);
      printf ("  %-28s %9.3f %9.3f %12.1f   (%u name nothing it knows)\n", "zero-shot, same captions", zr1, zr5, zmedian,
              zunscorable);
      printf ("  %-28s %9.3f %9.3f %12.1f\n", "blend (DMSM + zero-shot)", br1, br5, bmedian);
      printf ("  %-28s %9.3f %9.3f %12.1f\n", "random", 1.0 / held->len, MIN (1.0, 5.0 / held->len), (held->len + 1) / 2.0);
      printf ("  each photo's held-out caption among all %u captions: median rank %.1f (random %.1f)\n", all_pairs->len,
              caption_rank, (all_pairs->len + 1) / 2.0);
      printf ("  (small data: %u photos; a line to watch, not a result to quote)\n", held->len);
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
  if (!no_dmsm)
    {
      printf ("  (the caption model retrained on each trial's captions, first %d trials: as one model judging the captions it\n"
              "   trained on, and as %d out-of-fold judges, each judging the captions it did not train on)\n",
              MIN (trials, dmsm_trials), n_folds);
      printf ("  %-26s %6s %10s | %10s %10s %14s %12s %8s\n", "kind", "k", "zero-shot", "zero-shot", "+ DMSM",
              "+ out of fold", "out of fold", "random");
      printf ("  %-26s %6s %10s | %s\n", "", "", "(all)", "(the trials with the caption model)");
    }
  else
    printf ("  %-26s %6s %12s %10s\n", "kind", "k", "zero-shot", "random");
  /* the out-of-fold judges' folds, as `quorum captions train` makes them (qr_caption_fold, seed 1) */
  caption_fold = g_new (int, captions->len);
  for (guint c = 0; c < captions->len; c++)
    caption_fold[c] = qr_caption_fold (g_array_index (captions, Caption, c).id, 1, n_folds);
  for (guint kind = 0; kind < G_N_ELEMENTS (kinds); kind++)
    {
      double precision = 0, random_precision = 0, precision_both = 0, precision_oof = 0, precision_alone = 0, precision_same = 0;
      int n_both = 0;
      guint k_used = 0;
      for (int trial = 0; trial < trials; trial++)
        {
          g_autoptr (GRand) rand = g_rand_new_with_seed ((guint32) (1000 * kind + (guint) trial + 1));
          g_autofree double *score = g_memdup2 (clean, sizeof (double) * captions->len);
          g_autofree char **now = g_new0 (char *, captions->len + 1);   /* replaced texts; NULL: unchanged */
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
              now[order[o]] = g_steal_pointer (&text);
              done++;
            }
          if (done == 0)
            continue;
          /* the caption model trained on the captions as they now are (mistakes included), every
           * caption judged by it and by zero-shot, the stronger verdict kept */
          if (!no_dmsm && trial < dmsm_trials)
            {
              g_autoptr (GArray) pairs = g_array_new (FALSE, FALSE, sizeof (QrCaptionPair));
              g_autofree double *score_both = g_new (double, captions->len);
              g_autoptr (GRand) ties = g_rand_new_with_seed ((guint32) (7000 * kind + (guint) trial + 1));
              g_autoptr (QrScorer) model = NULL;
              double seconds;
              for (guint c = 0; c < captions->len; c++)
                {
                  Caption *cap = &g_array_index (captions, Caption, c);
                  int row = input_row (&dmsm_inputs, cap->image_id);
                  QrCaptionPair p = { now[c] ? now[c] : cap->text, (guint) row };
                  if (row >= 0)
                    g_array_append_val (pairs, p);
                }
              model = qr_dmsm_scorer_new_for (catalog, train_in_memory (&dmsm_inputs, pairs, dmsm_epochs, &seconds),
                                              &dmsm_inputs);
              for (guint c = 0; c < captions->len; c++)
                {
                  Caption *cap = &g_array_index (captions, Caption, c);
                  QrCaptionVerdict v;
                  if (!qr_caption_judge_far (model, catalog, cap->image_id, now[c] ? now[c] : cap->text, &v,
                                             &error))
                    {
                      g_strfreev (now);
                      now = NULL;
                      status = qr_cli_fail (error);
                      goto out;
                    }
                  score_both[c] = MAX (score[c], v.score);
                  qr_caption_verdict_clear (&v);
                }
              precision_both += top_hits (score_both, planted, captions->len, done, ties) / (double) done;
              n_both++;

              /* out of fold: each caption judged by a model that never trained on it */
              g_autofree double *alone = g_new0 (double, captions->len);
              for (int fold = 0; fold < n_folds; fold++)
                {
                  g_autoptr (GArray) fold_pairs = g_array_new (FALSE, FALSE, sizeof (QrCaptionPair));
                  g_autoptr (QrScorer) judge = NULL;
                  for (guint c = 0; c < captions->len; c++)
                    {
                      Caption *cap = &g_array_index (captions, Caption, c);
                      int row = input_row (&dmsm_inputs, cap->image_id);
                      QrCaptionPair p = { now[c] ? now[c] : cap->text, (guint) row };
                      if (row >= 0 && caption_fold[c] != fold)
                        g_array_append_val (fold_pairs, p);
                    }
                  judge = qr_dmsm_scorer_new_for (catalog, train_in_memory (&dmsm_inputs, fold_pairs, dmsm_epochs,
                                                                            &seconds), &dmsm_inputs);
                  for (guint c = 0; c < captions->len; c++)
                    {
                      Caption *cap = &g_array_index (captions, Caption, c);
                      QrCaptionVerdict v;
                      if (caption_fold[c] != fold)
                        continue;
                      if (!qr_caption_judge_far (judge, catalog, cap->image_id, now[c] ? now[c] : cap->text, &v,
                                                 &error))
                        {
                          for (guint i = 0; i < captions->len; i++)
                            g_free (now[i]);
                          status = qr_cli_fail (error);
                          goto out;
                        }
                      score_both[c] = MAX (score[c], v.score);
                      alone[c] = v.score;
                      qr_caption_verdict_clear (&v);
                    }
                }
              precision_alone += top_hits (alone, planted, captions->len, done, ties) / (double) done;
              precision_oof += top_hits (score_both, planted, captions->len, done, ties) / (double) done;
            }
          for (guint c = 0; c < captions->len; c++)
            g_free (now[c]);
          hits = top_hits (score, planted, captions->len, done, rand);
          precision += hits / (double) done;
          if (!no_dmsm && trial < dmsm_trials)
            precision_same += hits / (double) done;
          random_precision += done / (double) captions->len;
          k_used += done;
        }
      if (n_both > 0)
        printf ("  %-26s %6.1f %10.3f | %10.3f %10.3f %14.3f %12.3f %8.3f\n", kinds[kind], k_used / (double) trials,
                precision / trials, precision_same / n_both, precision_both / n_both, precision_oof / n_both,
                precision_alone / n_both, random_precision / trials);
      else
        printf ("  %-26s %6.1f %12.3f %10.3f\n", kinds[kind], k_used / (double) trials, precision / trials,
                random_precision / trials);
    }
  status = QR_EXIT_OK;
out:
  qr_caption_inputs_clear (&dmsm_inputs);
  qr_cli_common_clear (&common);
  return status;
}

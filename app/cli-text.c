/* cli-text.c: the image–text commands: search (a collection ranked for a text) and captions
 * (list with scores, suggest, rank candidates, add), all through the scorer interface
 * (annotate/text/qr-scorer.h). The caption items of the review queue are cli-review.c's. */
#define G_LOG_DOMAIN "quorum"

#include "qr-cli.h"
#include "qr-scorer.h"

#include <gio/gio.h>
#include <string.h>

static char *
join_words (GPtrArray *words)
{
  g_autoptr (GString) s = g_string_new (NULL);
  for (guint i = 0; i < words->len; i++)
    g_string_append_printf (s, "%s%s", i ? ", " : "", (char *) words->pdata[i]);
  return g_string_free (g_steal_pointer (&s), FALSE);
}

/* "unknown words: …" and "not scored: …" on stderr, so that no word is dropped unsaid. */
static void
report (QrScorerText *text, gboolean quiet)
{
  if (text->unknown->len > 0)
    {
      g_autofree char *list = join_words (text->unknown);
      fprintf (stderr, "quorum: unknown words: %s\n", list);
    }
  if (text->ignored->len > 0 && !quiet)
    {
      g_autofree char *list = join_words (text->ignored);
      fprintf (stderr, "quorum: not object words, not scored: %s\n", list);
    }
}

int
qr_cli_search (int argc, char **argv)
{
  QrCliCommon common = { 0 };
  g_autofree char *scorer_name = NULL;
  int top = 20, status;
  GOptionEntry entries[] = {
    { "top", 'n', 0, G_OPTION_ARG_INT, &top, "How many images (default 20; 0 for all)", "N" },
    { "scorer", 's', 0, G_OPTION_ARG_STRING, &scorer_name, "zeroshot (default), plain (class names only), dmsm, blend or clip", "NAME" },
    { NULL }
  };
  g_autoptr (GOptionContext) context = g_option_context_new ("“TEXT” — the collection's images ranked for a text, "
                                                             "best first (JSON lines)");
  g_autoptr (QrCatalog) catalog = NULL;
  g_autoptr (QrScorer) scorer = NULL;
  g_autoptr (GArray) hits = NULL;
  QrScorerText *text = NULL;
  GError *error = NULL;

  g_option_context_add_main_entries (context, entries, NULL);
  qr_cli_add_common_entries_named (context, &common, "TEXT");
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      status = qr_cli_usage_error (context, error->message);
      g_clear_error (&error);
      goto out;
    }
  if (common.rest == NULL || common.rest[0] == NULL || common.rest[1] != NULL)
    {
      status = qr_cli_usage_error (context, "say what to look for: quorum search \"two dogs on a beach\"");
      goto out;
    }
  if (!qr_text_check (common.rest[0], &error)
      || (catalog = qr_cli_open_catalog (common.collection, common.db, &error)) == NULL
      || (scorer = qr_scorer_new (catalog, scorer_name, &error)) == NULL
      || (text = qr_scorer_prepare (scorer, common.rest[0], &error)) == NULL)
    {
      status = qr_cli_fail (error);
      goto out;
    }
  report (text, common.quiet);
  if ((hits = qr_search (scorer, text, top > 0 ? (guint) top : 0, NULL, &error)) == NULL)
    {
      status = qr_cli_fail (error);
      goto out;
    }
  for (guint i = 0; i < hits->len; i++)
    {
      QrSearchHit *h = &g_array_index (hits, QrSearchHit, i);
      g_autoptr (QrImageRecord) image = qr_catalog_get_image (catalog, h->image_id, NULL);
      g_autoptr (GString) line = g_string_new ("{\"image\": ");
      qr_cli_append_json_string (line, image ? image->path : "?");
      g_string_append_printf (line, ", \"score\": %.3f, \"scorer\": ", h->score);
      qr_cli_append_json_string (line, qr_scorer_get_name (scorer));
      g_string_append (line, ", \"why\": ");
      qr_cli_append_json_string (line, h->explain ? h->explain : "");
      g_string_append_c (line, '}');
      puts (line->str);
    }
  status = QR_EXIT_OK;
out:
  if (text != NULL)
    qr_scorer_text_free (scorer, text);
  qr_cli_common_clear (&common);
  return status;
}

static void
print_candidates (GArray *ranked)
{
  for (guint i = 0; i < ranked->len; i++)
    {
      QrCaptionCandidate *c = &g_array_index (ranked, QrCaptionCandidate, i);
      g_autoptr (GString) line = g_string_new ("{\"caption\": ");
      qr_cli_append_json_string (line, c->text);
      g_string_append_printf (line, ", \"score\": %.3f, \"why\": ", c->score);
      qr_cli_append_json_string (line, c->explain ? c->explain : "");
      g_string_append_c (line, '}');
      puts (line->str);
    }
}

/* Candidates from a file: one per line, blank lines and lines starting with # skipped. */
static GPtrArray *
read_candidates (const char *path, GError **error)
{
  g_autofree char *contents = NULL;
  g_auto (GStrv) lines = NULL;
  g_autoptr (GPtrArray) texts = g_ptr_array_new_with_free_func (g_free);
  gsize length;

  if (!g_file_get_contents (path, &contents, &length, error))
    return NULL;
  if (!g_utf8_validate (contents, (gssize) length, NULL))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s: not UTF-8 text", path);
      return NULL;
    }
  lines = g_strsplit (contents, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      char *line = g_strstrip (lines[i]);
      if (line[0] == '\0' || line[0] == '#')
        continue;
      if (g_utf8_strlen (line, -1) > QR_TEXT_MAX_CHARS)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "%s, line %u: longer than %d characters", path,
                       i + 1, QR_TEXT_MAX_CHARS);
          return NULL;
        }
      g_ptr_array_add (texts, g_strdup (line));
    }
  if (texts->len == 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s: no candidates in it (one caption a line)", path);
      return NULL;
    }
  return g_steal_pointer (&texts);
}

int
qr_cli_captions (int argc, char **argv)
{
  QrCliCommon common = { 0 };
  g_autofree char *candidates = NULL, *scorer_name = NULL;
  int top = 5, status;
  GOptionEntry entries[] = {
    { "top", 'n', 0, G_OPTION_ARG_INT, &top, "suggest: how many (default 5)", "N" },
    { "candidates", 0, 0, G_OPTION_ARG_FILENAME, &candidates, "rank: a file of candidates, one a line", "FILE" },
    { "scorer", 's', 0, G_OPTION_ARG_STRING, &scorer_name, "zeroshot (default) or plain", "NAME" },
    { NULL }
  };
  g_autoptr (GOptionContext) context = g_option_context_new (
    "list [IMAGE] | suggest IMAGE | rank IMAGE --candidates FILE | add IMAGE TEXT | train — captions, scored");
  g_autoptr (QrCatalog) catalog = NULL;
  g_autoptr (QrScorer) scorer = NULL;
  g_autoptr (QrImageRecord) image = NULL;
  GError *error = NULL;
  const char *verb;
  guint n_args;

  if (argc > 1 && g_str_equal (argv[1], "train"))
    return qr_cli_captions_train (argc - 1, argv + 1);
  g_option_context_add_main_entries (context, entries, NULL);
  qr_cli_add_common_entries_named (context, &common, "list|suggest|rank|add|train [IMAGE] [TEXT]");
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      status = qr_cli_usage_error (context, error->message);
      g_clear_error (&error);
      goto out;
    }
  n_args = common.rest ? g_strv_length (common.rest) : 0;
  verb = n_args > 0 ? common.rest[0] : "";
  if (!((g_str_equal (verb, "list") && n_args <= 2) || (g_str_equal (verb, "suggest") && n_args == 2)
        || (g_str_equal (verb, "rank") && n_args == 2 && candidates != NULL) || (g_str_equal (verb, "add") && n_args == 3)))
    {
      status = qr_cli_usage_error (context, "say: captions list [IMAGE], captions suggest IMAGE, "
                                            "captions rank IMAGE --candidates FILE, or captions add IMAGE TEXT");
      goto out;
    }
  if ((catalog = qr_cli_open_catalog (common.collection, common.db, &error)) == NULL
      || (n_args >= 2 && (image = qr_cli_find_image (catalog, common.rest[1], &error)) == NULL))
    {
      status = qr_cli_fail (error);
      goto out;
    }
  if (g_str_equal (verb, "add"))
    {
      g_autofree char *text = NULL;
      if (!qr_text_check (common.rest[2], &error))
        {
          status = qr_cli_fail (error);
          goto out;
        }
      text = g_strstrip (g_strdup (common.rest[2]));
      if (text[0] == '\0')
        {
          status = qr_cli_usage_error (context, "the caption is empty");
          goto out;
        }
      if (qr_catalog_add_caption (catalog, image->id, text, "typed", &error) < 0)
        {
          status = qr_cli_fail (error);
          goto out;
        }
      status = QR_EXIT_OK;
      goto out;
    }
  if ((scorer = qr_scorer_new (catalog, scorer_name, &error)) == NULL)
    {
      status = qr_cli_fail (error);
      goto out;
    }
  if (g_str_equal (verb, "list"))
    {
      g_autoptr (GPtrArray) records = qr_catalog_list_caption_records (catalog, image ? image->id : -1, &error);
      for (guint i = 0; records != NULL && i < records->len; i++)
        {
          QrCaptionRecord *c = records->pdata[i];
          g_autoptr (QrImageRecord) of = qr_catalog_get_image (catalog, c->image_id, NULL);
          g_autoptr (GString) line = g_string_new ("{\"image\": ");
          QrScorerText *t = qr_scorer_prepare_caption (scorer, c->text, &error);
          QrScore score = { 0 };
          if (t == NULL || !qr_scorer_score (scorer, t, c->image_id, QR_TEXT_CAPTION, &score, &error))
            {
              qr_scorer_text_free (scorer, t);
              break;
            }
          qr_cli_append_json_string (line, of ? of->path : "?");
          g_string_append_printf (line, ", \"id\": %" G_GINT64_FORMAT ", \"caption\": ", c->id);
          qr_cli_append_json_string (line, c->text);
          g_string_append_printf (line, ", \"score\": %.3f, \"why\": ", score.score);
          qr_cli_append_json_string (line, score.explain ? score.explain : "");
          g_string_append (line, ", \"source\": ");
          qr_cli_append_json_string (line, c->source ? c->source : "");
          {
            QrCaptionVerdict v;
            if (!qr_caption_judge (scorer, c->image_id, c->text, &v, &error))
              {
                qr_score_clear (&score);
                qr_scorer_text_free (scorer, t);
                break;
              }
            g_string_append_printf (line, ", \"mistake\": %.3f", v.score);
            if (v.reason != NULL)
              {
                g_string_append (line, ", \"reason\": ");
                qr_cli_append_json_string (line, v.reason);
              }
            qr_caption_verdict_clear (&v);
          }
          g_string_append_c (line, '}');
          puts (line->str);
          qr_score_clear (&score);
          qr_scorer_text_free (scorer, t);
        }
      status = error ? qr_cli_fail (error) : QR_EXIT_OK;
      goto out;
    }
  {
    g_autoptr (GArray) ranked = NULL;
    if (g_str_equal (verb, "suggest"))
      {
        if (!QR_IS_ZEROSHOT_SCORER (scorer))
          {
            g_autoptr (QrScorer) words = qr_zeroshot_scorer_new (catalog, FALSE, &error);
            ranked = words ? qr_captions_suggest (QR_ZEROSHOT_SCORER (words), scorer, image->id, (guint) MAX (top, 1), &error)
                           : NULL;
          }
        else
          ranked = qr_captions_suggest (QR_ZEROSHOT_SCORER (scorer), NULL, image->id, (guint) MAX (top, 1), &error);
      }
    else
      {
        g_autoptr (GPtrArray) texts = read_candidates (candidates, &error);
        ranked = texts ? qr_captions_rank (scorer, image->id, texts, &error) : NULL;
      }
    if (ranked == NULL)
      {
        status = qr_cli_fail (error);
        goto out;
      }
    print_candidates (ranked);
  }
  status = QR_EXIT_OK;
out:
  qr_cli_common_clear (&common);
  return status;
}

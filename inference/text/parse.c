/* parse.c: a text into mentions of classes (qr-text.h). Words are lower-cased and split at anything
 * that is not a letter, digit or apostrophe; the longest run of up to three words the lexicon knows
 * (as written, or with its last word made singular) is a mention. Its count comes from the words
 * just before it, back to the previous mention or punctuation: a number ("two", "3"), a quantifier
 * ("several", "a group of"), a negation ("no", "without"), or the plural itself. A one-word match
 * that is an adjective too, followed by another word, describes that word ("an orange suit") and
 * names nothing; a plural that is a thing of its own ("glasses") is not made singular. Words left over are
 * unknown when WordNet calls them things, ignored otherwise, and function words are neither. */
#define G_LOG_DOMAIN "quorum-text"

#include "qr-text.h"

#include <gio/gio.h>
#include <stdlib.h>
#include <string.h>

typedef struct
{
  char    *word;
  gboolean after_break;  /* punctuation came before it */
  gboolean used;
} Token;

static const char *const function_words[] = {
  "a", "an", "the", "of", "on", "in", "at", "with", "and", "or", "to", "is", "are", "was", "were", "be",
  "been", "being", "it", "its", "it's", "this", "that", "these", "those", "there", "their", "his", "her",
  "he", "she", "they", "them", "we", "you", "i", "for", "from", "by", "as", "into", "onto", "over",
  "under", "near", "next", "behind", "beside", "besides", "between", "while", "who", "which", "what",
  "up", "down", "out", "off", "about", "has", "have", "having", "very", "other", "another", "each",
  "some", "no", "not", "without", "any", "all", "both", "several", "many", "few", "multiple", "various",
  "lots", "lot", "group", "couple", "pair", "bunch", "herd", "flock", "single", "lone", "zero", "one",
  "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve", "more",
  "than", "just", "only", "also", "too", "its", "our", "my", "your", "where", "when", "so", "but", "if",
  "then", "can", "could", "some", "around", "across", "through", "along", "against", "inside",
  "outside", "above", "below", "beneath", "toward", "towards", "front", "back", "left", "right", "top",
  "bottom", "side", "middle", "center", "centre", "picture", "photo", "photograph", "image", "view",
  "scene", "shot", "closeup", "close", "background", "foreground", "here", "how", "own", "like", NULL
};

static const char *const number_words[] = { "zero", "one", "two", "three", "four", "five", "six",
                                            "seven", "eight", "nine", "ten", "eleven", "twelve" };

void
qr_text_query_free (QrTextQuery *query)
{
  if (query == NULL)
    return;
  for (guint i = 0; i < query->mentions->len; i++)
    {
      QrMention *m = &g_array_index (query->mentions, QrMention, i);
      g_free (m->class_name);
      g_free (m->words);
    }
  g_array_unref (query->mentions);
  g_ptr_array_unref (query->unknown);
  g_ptr_array_unref (query->ignored);
  g_free (query);
}

static GArray *
tokenize (const char *text)
{
  GArray *tokens = g_array_new (FALSE, TRUE, sizeof (Token));
  g_autofree char *lower = g_utf8_strdown (text, -1);
  GString *word = g_string_new (NULL);
  gboolean pending_break = FALSE;

  for (const char *p = lower;; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);
      if (c != 0 && (g_unichar_isalnum (c) || (c == '\'' && word->len > 0) || c == 0x2019))
        {
          g_string_append_unichar (word, c == 0x2019 ? '\'' : c);
          continue;
        }
      if (word->len > 0)
        {
          Token t = { 0 };
          /* possessives and trailing apostrophes go: "dog's" → "dog" */
          if (g_str_has_suffix (word->str, "'s"))
            g_string_truncate (word, word->len - 2);
          while (word->len > 0 && word->str[word->len - 1] == '\'')
            g_string_truncate (word, word->len - 1);
          if (word->len > 0)
            {
              t.word = g_strdup (word->str);
              t.after_break = pending_break;
              g_array_append_val (tokens, t);
            }
          g_string_truncate (word, 0);
          pending_break = FALSE;
        }
      if (c == 0)
        break;
      if (c == ',' || c == '.' || c == ';' || c == ':' || c == '!' || c == '?' || c == '(' || c == ')')
        pending_break = TRUE;
    }
  g_string_free (word, TRUE);
  return tokens;
}

static int
number_of (const char *word)
{
  for (guint i = 0; i < G_N_ELEMENTS (number_words); i++)
    if (g_str_equal (word, number_words[i]))
      return (int) i;
  if (word[0] >= '0' && word[0] <= '9' && strlen (word) <= 3 && strspn (word, "0123456789") == strlen (word))
    return atoi (word);
  return -1;
}

/* The count the words before tokens[at] give, or `fallback` with none. */
static int
count_before (GArray *tokens, guint at, guint floor, int fallback)
{
  Token *t = (Token *) (gpointer) tokens->data;

  for (guint j = at; j > floor && at - j < 4; j--)
    {
      const char *w = t[j - 1].word;
      int n = number_of (w);
      if (n >= 0)
        return n;
      if (g_str_equal (w, "no") || g_str_equal (w, "without") || g_str_equal (w, "nobody") || g_str_equal (w, "not"))
        return 0;
      if (g_str_equal (w, "couple") || g_str_equal (w, "pair") || g_str_equal (w, "both"))
        return 2;
      if (g_str_equal (w, "several") || g_str_equal (w, "many") || g_str_equal (w, "some") || g_str_equal (w, "few")
          || g_str_equal (w, "multiple") || g_str_equal (w, "various") || g_str_equal (w, "lots")
          || g_str_equal (w, "group") || g_str_equal (w, "herd") || g_str_equal (w, "flock")
          || g_str_equal (w, "bunch") || g_str_equal (w, "crowd"))
        return QR_COUNT_SEVERAL;
      if (g_str_equal (w, "a") || g_str_equal (w, "an") || g_str_equal (w, "single") || g_str_equal (w, "lone"))
        return fallback;  /* "a man and a woman" is not a count of people */
      if (t[j - 1].after_break)
        break;
    }
  return fallback;
}

static gboolean
is_function_word (const char *word)
{
  return g_strv_contains (function_words, word);
}

static void
add_once (GPtrArray *list, const char *word)
{
  for (guint i = 0; i < list->len; i++)
    if (g_str_equal (list->pdata[i], word))
      return;
  g_ptr_array_add (list, g_strdup (word));
}

gboolean
qr_text_check (const char *text, GError **error)
{
  if (!g_utf8_validate (text, -1, NULL))
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "the text is not UTF-8");
      return FALSE;
    }
  if (g_utf8_strlen (text, -1) > QR_TEXT_MAX_CHARS)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "the text is longer than %d characters",
                   QR_TEXT_MAX_CHARS);
      return FALSE;
    }
  return TRUE;
}

QrTextQuery *
qr_text_parse (QrLexicon *lexicon, const char *text, GError **error)
{
  g_autoptr (GArray) tokens = NULL;
  QrTextQuery *query;
  guint floor = 0;

  if (!qr_text_check (text, error))
    return NULL;
  tokens = tokenize (text);
  query = g_new0 (QrTextQuery, 1);
  query->mentions = g_array_new (FALSE, TRUE, sizeof (QrMention));
  query->unknown = g_ptr_array_new_with_free_func (g_free);
  query->ignored = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; i < tokens->len; i++)
    {
      Token *t = (Token *) (gpointer) tokens->data;
      const GPtrArray *classes = NULL;
      const float *weights = NULL;
      gboolean plural = FALSE;
      guint n = 0;

      if (t[i].after_break)
        floor = i;
      for (n = MIN (3u, tokens->len - i); n >= 1 && classes == NULL; n--)
        {
          g_autoptr (GString) phrase = g_string_new (t[i].word);
          g_autofree char *singular = NULL;
          gboolean broken = FALSE;
          for (guint k = 1; k < n; k++)
            {
              broken |= t[i + k].after_break;
              g_string_append_printf (phrase, " %s", t[i + k].word);
            }
          if (broken)
            continue;
          classes = qr_lexicon_lookup (lexicon, phrase->str, &weights);
          if (classes == NULL && !qr_lexicon_is_object (lexicon, t[i + n - 1].word))
            {
              /* the last word made singular: "hot dogs" → "hot dog" */
              singular = qr_lexicon_singular (lexicon, t[i + n - 1].word);
              if (singular != NULL)
                {
                  g_string_truncate (phrase, phrase->len - strlen (t[i + n - 1].word));
                  g_string_append (phrase, singular);
                  classes = qr_lexicon_lookup (lexicon, phrase->str, &weights);
                  plural = classes != NULL;
                }
            }
          if (classes != NULL)
            break;
        }
      if (classes == NULL)
        continue;
      if (n == 1 && !plural && i + 1 < tokens->len && !t[i + 1].after_break && qr_lexicon_is_adjective (lexicon, t[i].word)
          && !is_function_word (t[i + 1].word))
        continue;  /* "an orange suit": a colour, not a fruit */
      {
        int count = count_before (tokens, i, floor, plural ? QR_COUNT_SEVERAL : QR_COUNT_ANY);
        guint start = i;
        g_autoptr (GString) words = g_string_new (NULL);
        /* the words as written, from the count on */
        while (start > floor && i - start < 3 && (number_of (t[start - 1].word) >= 0
                                                   || g_str_equal (t[start - 1].word, "no")))
          start--;
        for (guint k = start; k < i + n; k++)
          g_string_append_printf (words, "%s%s", k > start ? " " : "", t[k].word);
        for (guint c = 0; c < classes->len; c++)
          {
            QrMention m = { g_strdup (classes->pdata[c]), weights[c], count, query->n_groups,
                            g_strdup (words->str) };
            g_array_append_val (query->mentions, m);
          }
        query->n_groups++;
        for (guint k = i; k < i + n; k++)
          t[k].used = TRUE;
        i += n - 1;
        floor = i + 1;
      }
    }

  for (guint i = 0; i < tokens->len; i++)
    {
      Token *t = &g_array_index (tokens, Token, i);
      g_autofree char *singular = NULL;
      if (!t->used && !is_function_word (t->word) && number_of (t->word) < 0)
        {
          singular = qr_lexicon_singular (lexicon, t->word);
          if (qr_lexicon_is_object (lexicon, t->word) || (singular && qr_lexicon_is_object (lexicon, singular)))
            add_once (query->unknown, t->word);
          else
            add_once (query->ignored, t->word);
        }
      g_free (t->word);
    }
  return query;
}

char *
qr_text_query_describe_unknown (const QrTextQuery *query)
{
  g_autoptr (GString) s = NULL;

  if (query->unknown->len == 0)
    return NULL;
  s = g_string_new ("unknown words: ");
  for (guint i = 0; i < query->unknown->len; i++)
    g_string_append_printf (s, "%s%s", i ? ", " : "", (char *) query->unknown->pdata[i]);
  return g_string_free (g_steal_pointer (&s), FALSE);
}

/* lexicon.c: the word → class lexicon (qr-text.h): reading lexicon.tsv, finding the installed one,
 * the plain baseline, and WordNet's way of turning a plural noun into its singular (its exception
 * list, then its suffix rules). Parsing texts is parse.c's; scoring them zeroshot.c's. */
#define G_LOG_DOMAIN "quorum-text"

#include "quorum-config.h"
#include "qr-text.h"

#include <gio/gio.h>
#include <string.h>

typedef struct
{
  GPtrArray *classes;  /* const char*, interned in the lexicon's string chunk */
  GArray    *weights;  /* float */
} Entry;

struct _QrLexicon
{
  gatomicrefcount ref;
  GHashTable     *words;     /* word or phrase → Entry* */
  GHashTable     *plurals;   /* irregular plural → singular */
  GHashTable     *objects;   /* nouns of things no class names (a set) */
  GHashTable     *adjectives;/* lexicon words that are adjectives too (a set) */
  GStringChunk   *strings;
  QrLexicon      *base;      /* consulted after this one, or NULL */
};

static void
entry_free (Entry *e)
{
  g_ptr_array_unref (e->classes);
  g_array_unref (e->weights);
  g_free (e);
}

static QrLexicon *
lexicon_new (void)
{
  QrLexicon *self = g_new0 (QrLexicon, 1);
  g_atomic_ref_count_init (&self->ref);
  self->words = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify) entry_free);
  self->plurals = g_hash_table_new (g_str_hash, g_str_equal);
  self->objects = g_hash_table_new (g_str_hash, g_str_equal);
  self->adjectives = g_hash_table_new (g_str_hash, g_str_equal);
  self->strings = g_string_chunk_new (4096);
  return self;
}

static void
add_word (QrLexicon *self, const char *word, const char *class_name, float weight)
{
  Entry *e = g_hash_table_lookup (self->words, word);
  const char *name = g_string_chunk_insert_const (self->strings, class_name);

  if (e == NULL)
    {
      e = g_new0 (Entry, 1);
      e->classes = g_ptr_array_new ();
      e->weights = g_array_new (FALSE, FALSE, sizeof (float));
      g_hash_table_insert (self->words, g_string_chunk_insert_const (self->strings, word), e);
    }
  for (guint i = 0; i < e->classes->len; i++)
    if (e->classes->pdata[i] == name)
      {
        g_array_index (e->weights, float, i) = MAX (g_array_index (e->weights, float, i), weight);
        return;
      }
  g_ptr_array_add (e->classes, (gpointer) name);
  g_array_append_val (e->weights, weight);
}

QrLexicon *
qr_lexicon_load (const char *path, GError **error)
{
  g_autofree char *text = NULL;
  g_auto (GStrv) lines = NULL;
  g_autoptr (QrLexicon) self = NULL;
  gsize length;

  if (!g_file_get_contents (path, &text, &length, error))
    return NULL;
  if (!g_utf8_validate (text, (gssize) length, NULL))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s: not UTF-8 text", path);
      return NULL;
    }
  self = lexicon_new ();
  lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_auto (GStrv) f = NULL;
      guint n;
      if (lines[i][0] == '\0' || lines[i][0] == '#')
        continue;
      f = g_strsplit (lines[i], "\t", 5);
      n = g_strv_length (f);
      if (g_str_equal (f[0], "w") && n == 4 && f[1][0] && f[2][0])
        {
          char *end = NULL;
          double w = g_ascii_strtod (f[3], &end);
          if (end == f[3] || *end != '\0' || !(w > 0 && w <= 1))
            goto bad;
          add_word (self, f[1], f[2], (float) w);
        }
      else if (g_str_equal (f[0], "p") && n == 3 && f[1][0] && f[2][0])
        g_hash_table_insert (self->plurals, g_string_chunk_insert_const (self->strings, f[1]),
                             g_string_chunk_insert_const (self->strings, f[2]));
      else if (g_str_equal (f[0], "o") && n == 2 && f[1][0])
        g_hash_table_add (self->objects, g_string_chunk_insert_const (self->strings, f[1]));
      else if (g_str_equal (f[0], "j") && n == 2 && f[1][0])
        g_hash_table_add (self->adjectives, g_string_chunk_insert_const (self->strings, f[1]));
      else
        goto bad;
      continue;
    bad:
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "%s, line %u: not a lexicon record (w WORD CLASS WEIGHT, p PLURAL SINGULAR, o WORD or j WORD)", path, i + 1);
      return NULL;
    }
  return g_steal_pointer (&self);
}

static gpointer
load_default (gpointer data)
{
  GError **error = data;
  const char *candidates[] = { g_getenv ("QUORUM_LEXICON"), QUORUM_DATA_DIR_INSTALLED "/lexicon.tsv",
                               QUORUM_SOURCE_DIR "/resources/lexicon.tsv" };

  for (guint i = 0; i < G_N_ELEMENTS (candidates); i++)
    if (candidates[i] != NULL && g_file_test (candidates[i], G_FILE_TEST_IS_REGULAR))
      return qr_lexicon_load (candidates[i], error);
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
               "no lexicon found (looked for $QUORUM_LEXICON, %s/lexicon.tsv): reinstall Quorum",
               QUORUM_DATA_DIR_INSTALLED);
  return NULL;
}

QrLexicon *
qr_lexicon_get_default (GError **error)
{
  static GOnce once = G_ONCE_INIT;
  static GError *failure = NULL;
  QrLexicon *lexicon = g_once (&once, load_default, &failure);

  if (lexicon == NULL)
    {
      g_set_error_literal (error, failure->domain, failure->code, failure->message);
      return NULL;
    }
  return qr_lexicon_ref (lexicon);
}

QrLexicon *
qr_lexicon_new_plain (const char *const *class_names)
{
  QrLexicon *self = lexicon_new ();
  for (guint i = 0; class_names[i] != NULL; i++)
    qr_lexicon_add_class (self, class_names[i]);
  return self;
}

void
qr_lexicon_add_class (QrLexicon *self, const char *class_name)
{
  g_autofree char *word = g_utf8_strdown (class_name, -1);
  /* a name the lexicon already gives a meaning keeps it ("tv" stays tv) */
  if (qr_lexicon_lookup (self, word, NULL) == NULL)
    add_word (self, word, class_name, 1.0f);
}

QrLexicon *
qr_lexicon_ref (QrLexicon *self)
{
  g_atomic_ref_count_inc (&self->ref);
  return self;
}

void
qr_lexicon_unref (QrLexicon *self)
{
  if (self == NULL || !g_atomic_ref_count_dec (&self->ref))
    return;
  g_hash_table_unref (self->words);
  g_hash_table_unref (self->plurals);
  g_hash_table_unref (self->objects);
  g_hash_table_unref (self->adjectives);
  g_string_chunk_free (self->strings);
  g_clear_pointer (&self->base, qr_lexicon_unref);
  g_free (self);
}

QrLexicon *
qr_lexicon_new_overlay (QrLexicon *base)
{
  QrLexicon *self = lexicon_new ();
  self->base = qr_lexicon_ref (base);
  return self;
}

const GPtrArray *
qr_lexicon_lookup (QrLexicon *self, const char *word, const float **weights)
{
  Entry *e = g_hash_table_lookup (self->words, word);
  if (e == NULL)
    return self->base ? qr_lexicon_lookup (self->base, word, weights) : NULL;
  if (weights != NULL)
    *weights = (const float *) (gpointer) e->weights->data;
  return e->classes;
}

gboolean
qr_lexicon_is_object (QrLexicon *self, const char *word)
{
  return g_hash_table_contains (self->objects, word) || (self->base && qr_lexicon_is_object (self->base, word));
}

gboolean
qr_lexicon_is_adjective (QrLexicon *self, const char *word)
{
  return g_hash_table_contains (self->adjectives, word) || (self->base && qr_lexicon_is_adjective (self->base, word));
}

static gboolean
known (QrLexicon *self, const char *word)
{
  return qr_lexicon_lookup (self, word, NULL) != NULL || qr_lexicon_is_object (self, word);
}

char *
qr_lexicon_singular (QrLexicon *self, const char *word)
{
  /* WordNet's morphy for nouns: the exception list, then these suffix rules, in this order */
  static const char *const rules[][2] = { { "ses", "s" }, { "xes", "x" }, { "zes", "z" }, { "ches", "ch" },
                                          { "shes", "sh" }, { "men", "man" }, { "ies", "y" }, { "s", "" } };
  const char *irregular = g_hash_table_lookup (self->plurals, word);
  if (irregular == NULL && self->base != NULL)
    irregular = g_hash_table_lookup (self->base->plurals, word);
  gsize n = strlen (word);

  if (irregular != NULL)
    return g_strdup (irregular);
  for (guint i = 0; i < G_N_ELEMENTS (rules); i++)
    {
      gsize k = strlen (rules[i][0]);
      if (n > k + 1 && g_str_has_suffix (word, rules[i][0]) && !g_str_has_suffix (word, "ss"))
        {
          g_autofree char *stem = g_strndup (word, n - k);
          char *singular = g_strconcat (stem, rules[i][1], NULL);
          if (known (self, singular))
            return singular;
          g_free (singular);
        }
    }
  return NULL;
}

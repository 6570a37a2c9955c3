/* clip-tokenizer.c: CLIP's byte-level BPE tokenizer (qr-clip.h). Every byte of the text's UTF-8
 * has a printable stand-in character (the printable Latin-1 bytes stand for themselves, the others
 * for U+0100 onwards, in byte order); a piece of text becomes its bytes' stand-ins, the last one
 * marked as a word's end, and the adjacent pair with the lowest merge rank is merged, everywhere at
 * once from the left, until no pair has a rank. Written from the published description of CLIP's
 * tokenizer and checked against OpenAI's own code (tests/test-clip.c). */
#define G_LOG_DOMAIN "quorum-text"

#include "qr-clip.h"
#include "qr-engine.h"

#include <gio/gio.h>
#include <json-glib/json-glib.h>
#include <string.h>

#define N_MERGES 48894
#define MAX_FILE (64 * 1024 * 1024)
#define START_TOKEN "<|startoftext|>"
#define END_TOKEN "<|endoftext|>"

struct _QrClipTokenizer
{
  GHashTable *vocab;        /* token → id + 1 */
  GHashTable *ranks;        /* "first second" → rank + 1 */
  char       *stand_in[256];/* each byte's character, UTF-8 */
  int         start_id, end_id;
};

void
qr_clip_tokenizer_free (QrClipTokenizer *self)
{
  if (self == NULL)
    return;
  g_clear_pointer (&self->vocab, g_hash_table_unref);
  g_clear_pointer (&self->ranks, g_hash_table_unref);
  for (int b = 0; b < 256; b++)
    g_free (self->stand_in[b]);
  g_free (self);
}

/* The bytes in the vocabulary's order (printable ones first, as themselves; then the rest, each
 * standing as U+0100 + n) and their characters. */
static void
byte_order (int *order, gunichar *chars)
{
  gboolean printable[256] = { FALSE };
  int n = 0, extra = 0;

  for (int b = '!'; b <= '~'; b++)
    printable[b] = TRUE;
  for (int b = 0xA1; b <= 0xAC; b++)
    printable[b] = TRUE;
  for (int b = 0xAE; b <= 0xFF; b++)
    printable[b] = TRUE;
  for (int b = 0; b < 256; b++)
    if (printable[b])
      order[n] = b, chars[n++] = (gunichar) b;
  for (int b = 0; b < 256; b++)
    if (!printable[b])
      order[n] = b, chars[n++] = 256 + (gunichar) extra++;
}

static QrClipTokenizer *
tokenizer_new (void)
{
  QrClipTokenizer *self = g_new0 (QrClipTokenizer, 1);
  int order[256];
  gunichar chars[256];

  self->vocab = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->ranks = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  byte_order (order, chars);
  for (int k = 0; k < 256; k++)
    {
      char utf8[8] = { 0 };
      g_unichar_to_utf8 (chars[k], utf8);
      self->stand_in[order[k]] = g_strdup (utf8);
    }
  return self;
}

static char *
read_gzip (const char *path, gsize *length, GError **error)
{
  g_autoptr (GFile) file = g_file_new_for_path (path);
  g_autoptr (GError) local = NULL;
  g_autoptr (GFileInputStream) raw = g_file_read (file, NULL, &local);
  g_autoptr (GZlibDecompressor) gunzip = NULL;
  g_autoptr (GInputStream) in = NULL;
  g_autoptr (GByteArray) out = g_byte_array_new ();
  guint8 buffer[65536];

  if (raw == NULL)
    {
      g_set_error (error, QR_ENGINE_ERROR, QR_ENGINE_ERROR_IO, "%s: %s", path, local->message);
      return NULL;
    }
  gunzip = g_zlib_decompressor_new (G_ZLIB_COMPRESSOR_FORMAT_GZIP);
  in = g_converter_input_stream_new (G_INPUT_STREAM (raw), G_CONVERTER (gunzip));
  for (;;)
    {
      gssize n = g_input_stream_read (in, buffer, sizeof buffer, NULL, &local);
      if (n < 0)
        {
          g_set_error (error, QR_ENGINE_ERROR, QR_ENGINE_ERROR_FORMAT, "%s: not a readable gzip file (%s)", path,
                       local->message);
          return NULL;
        }
      if (n == 0)
        break;
      if (out->len + (gsize) n > MAX_FILE)
        {
          g_set_error (error, QR_ENGINE_ERROR, QR_ENGINE_ERROR_FORMAT, "%s: more than %d MB unpacked (not CLIP's "
                       "merges)", path, MAX_FILE >> 20);
          return NULL;
        }
      g_byte_array_append (out, buffer, (guint) n);
    }
  *length = out->len;
  g_byte_array_append (out, (const guint8 *) "", 1);
  return (char *) g_byte_array_free (g_steal_pointer (&out), FALSE);
}

static void
add_token (QrClipTokenizer *self, const char *token, int id)
{
  g_hash_table_replace (self->vocab, g_strdup (token), GINT_TO_POINTER (id + 1));
}

static int
token_id (QrClipTokenizer *self, const char *token)
{
  return GPOINTER_TO_INT (g_hash_table_lookup (self->vocab, token)) - 1;
}

/* OpenAI's file: a header line, then merges "first second"; the vocabulary is made from them. */
static QrClipTokenizer *
load_merges (const char *path, GError **error)
{
  g_autoptr (QrClipTokenizer) self = tokenizer_new ();
  g_autofree char *text = NULL;
  const char *line;
  gsize length;
  int order[256], id = 0;
  gunichar chars[256];

  text = read_gzip (path, &length, error);
  if (text == NULL)
    return NULL;
  if (!g_utf8_validate (text, (gssize) length, NULL))
    {
      g_set_error (error, QR_ENGINE_ERROR, QR_ENGINE_ERROR_FORMAT, "%s: not UTF-8 text", path);
      return NULL;
    }
  byte_order (order, chars);
  for (int k = 0; k < 256; k++)
    add_token (self, self->stand_in[order[k]], id++);
  for (int k = 0; k < 256; k++)
    {
      g_autofree char *end = g_strconcat (self->stand_in[order[k]], "</w>", NULL);
      add_token (self, end, id++);
    }
  /* the header line, then the merges (lines found with memchr: the file has 262,000 lines) */
  line = memchr (text, '\n', length);
  for (int m = 0; m < N_MERGES; m++)
    {
      const char *start = line != NULL ? line + 1 : NULL;
      const char *stop = start != NULL ? memchr (start, '\n', length - (gsize) (start - text)) : NULL;
      g_autofree char *merge = NULL, *joined = NULL;
      char *space;
      if (start == NULL || start >= text + length)
        {
          g_set_error (error, QR_ENGINE_ERROR, QR_ENGINE_ERROR_FORMAT, "%s: %d merges (CLIP's merges file has a "
                       "header line and at least %d merges)", path, m, N_MERGES);
          return NULL;
        }
      merge = g_strndup (start, (gsize) ((stop != NULL ? stop : text + length) - start));
      space = strchr (merge, ' ');
      if (space == NULL || space == merge || space[1] == '\0' || strchr (space + 1, ' ') != NULL)
        {
          g_set_error (error, QR_ENGINE_ERROR, QR_ENGINE_ERROR_FORMAT, "%s: line %d: not a merge of two tokens", path,
                       m + 2);
          return NULL;
        }
      joined = g_strdup (merge);
      memmove (joined + (space - merge), joined + (space - merge) + 1, strlen (space));
      add_token (self, joined, id++);
      g_hash_table_replace (self->ranks, g_steal_pointer (&merge), GINT_TO_POINTER (m + 1));
      line = stop;
    }
  add_token (self, START_TOKEN, id++);
  add_token (self, END_TOKEN, id++);
  self->start_id = token_id (self, START_TOKEN);
  self->end_id = token_id (self, END_TOKEN);
  return g_steal_pointer (&self);
}

/* Hugging Face's tokenizer.json: model.vocab {token: id} and model.merges ["a b"…] or [["a","b"]…]. */
static QrClipTokenizer *
load_json (const char *path, GError **error)
{
  g_autoptr (QrClipTokenizer) self = tokenizer_new ();
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) local = NULL;
  JsonNode *root;
  JsonObject *model;
  JsonArray *merges;
  GList *members;

  if (!json_parser_load_from_mapped_file (parser, path, &local))
    {
      g_set_error (error, QR_ENGINE_ERROR, QR_ENGINE_ERROR_FORMAT, "%s: %s", path, local->message);
      return NULL;
    }
  root = json_parser_get_root (parser);
  model = root != NULL && JSON_NODE_HOLDS_OBJECT (root) && json_object_has_member (json_node_get_object (root), "model")
            ? json_object_get_object_member (json_node_get_object (root), "model") : NULL;
  if (model == NULL || !json_object_has_member (model, "vocab") || !json_object_has_member (model, "merges")
      || !JSON_NODE_HOLDS_OBJECT (json_object_get_member (model, "vocab"))
      || !JSON_NODE_HOLDS_ARRAY (json_object_get_member (model, "merges")))
    {
      g_set_error (error, QR_ENGINE_ERROR, QR_ENGINE_ERROR_FORMAT, "%s: no model.vocab object and model.merges list "
                   "(not a BPE tokenizer.json)", path);
      return NULL;
    }
  members = json_object_get_members (json_object_get_object_member (model, "vocab"));
  for (GList *l = members; l != NULL; l = l->next)
    {
      JsonNode *v = json_object_get_member (json_object_get_object_member (model, "vocab"), l->data);
      gint64 id = JSON_NODE_HOLDS_VALUE (v) && json_node_get_value_type (v) == G_TYPE_INT64 ? json_node_get_int (v) : -1;
      if (id < 0 || id > G_MAXINT / 2)
        {
          g_list_free (members);
          g_set_error (error, QR_ENGINE_ERROR, QR_ENGINE_ERROR_FORMAT, "%s: model.vocab[\"%s\"] is not a token id",
                       path, (const char *) l->data);
          return NULL;
        }
      add_token (self, l->data, (int) id);
    }
  g_list_free (members);
  merges = json_object_get_array_member (model, "merges");
  for (guint m = 0; m < json_array_get_length (merges); m++)
    {
      JsonNode *e = json_array_get_element (merges, m);
      g_autofree char *key = NULL;
      if (JSON_NODE_HOLDS_VALUE (e) && json_node_get_value_type (e) == G_TYPE_STRING)
        key = g_strdup (json_node_get_string (e));
      else if (JSON_NODE_HOLDS_ARRAY (e) && json_array_get_length (json_node_get_array (e)) == 2)
        key = g_strdup_printf ("%s %s", json_array_get_string_element (json_node_get_array (e), 0),
                               json_array_get_string_element (json_node_get_array (e), 1));
      if (key == NULL || strchr (key, ' ') == NULL)
        {
          g_set_error (error, QR_ENGINE_ERROR, QR_ENGINE_ERROR_FORMAT, "%s: model.merges[%u] is not a merge of two "
                       "tokens", path, m);
          return NULL;
        }
      g_hash_table_replace (self->ranks, g_steal_pointer (&key), GINT_TO_POINTER ((int) m + 1));
    }
  self->start_id = token_id (self, START_TOKEN);
  self->end_id = token_id (self, END_TOKEN);
  if (self->start_id < 0 || self->end_id < 0)
    {
      g_set_error (error, QR_ENGINE_ERROR, QR_ENGINE_ERROR_FORMAT, "%s: no %s or %s token (not CLIP's tokenizer)",
                   path, START_TOKEN, END_TOKEN);
      return NULL;
    }
  return g_steal_pointer (&self);
}

QrClipTokenizer *
qr_clip_tokenizer_load (const char *path, GError **error)
{
  return g_str_has_suffix (path, ".json") ? load_json (path, error) : load_merges (path, error);
}

int qr_clip_tokenizer_start (QrClipTokenizer *self) { return self->start_id; }
int qr_clip_tokenizer_end (QrClipTokenizer *self) { return self->end_id; }

/* ---- cleaning ------------------------------------------------------------------------------ */

/* regex's \\s, which CLIP's pattern and whitespace cleaning use. */
static gboolean
is_space (gunichar c)
{
  return g_unichar_isspace (c) || c == 0x85;
}

static gboolean
is_letter (gunichar c)
{
  switch (g_unichar_type (c))
    {
    case G_UNICODE_UPPERCASE_LETTER: case G_UNICODE_LOWERCASE_LETTER: case G_UNICODE_TITLECASE_LETTER:
    case G_UNICODE_MODIFIER_LETTER: case G_UNICODE_OTHER_LETTER:
      return TRUE;
    default:
      return FALSE;
    }
}

static gboolean
is_number (gunichar c)
{
  GUnicodeType t = g_unichar_type (c);
  return t == G_UNICODE_DECIMAL_NUMBER || t == G_UNICODE_LETTER_NUMBER || t == G_UNICODE_OTHER_NUMBER;
}

/* The named HTML character references CLIP's cleaning turns into characters that captions are
 * likely to hold: the basic five, Latin-1's and common typography's (names and code points from
 * the HTML standard; bare: also recognised without the closing semicolon). */
static const struct { const char *name; gunichar c; gboolean bare; } named_references[] = {
    { "amp", 0x26, TRUE },
    { "lt", 0x3C, TRUE },
    { "gt", 0x3E, TRUE },
    { "quot", 0x22, TRUE },
    { "apos", 0x27, FALSE },
    { "nbsp", 0xA0, TRUE },
    { "iexcl", 0xA1, TRUE },
    { "cent", 0xA2, TRUE },
    { "pound", 0xA3, TRUE },
    { "curren", 0xA4, TRUE },
    { "yen", 0xA5, TRUE },
    { "brvbar", 0xA6, TRUE },
    { "sect", 0xA7, TRUE },
    { "uml", 0xA8, TRUE },
    { "copy", 0xA9, TRUE },
    { "ordf", 0xAA, TRUE },
    { "laquo", 0xAB, TRUE },
    { "not", 0xAC, TRUE },
    { "shy", 0xAD, TRUE },
    { "reg", 0xAE, TRUE },
    { "macr", 0xAF, TRUE },
    { "deg", 0xB0, TRUE },
    { "plusmn", 0xB1, TRUE },
    { "sup2", 0xB2, TRUE },
    { "sup3", 0xB3, TRUE },
    { "acute", 0xB4, TRUE },
    { "micro", 0xB5, TRUE },
    { "para", 0xB6, TRUE },
    { "middot", 0xB7, TRUE },
    { "cedil", 0xB8, TRUE },
    { "sup1", 0xB9, TRUE },
    { "ordm", 0xBA, TRUE },
    { "raquo", 0xBB, TRUE },
    { "frac14", 0xBC, TRUE },
    { "frac12", 0xBD, TRUE },
    { "frac34", 0xBE, TRUE },
    { "iquest", 0xBF, TRUE },
    { "Agrave", 0xC0, TRUE },
    { "Aacute", 0xC1, TRUE },
    { "Acirc", 0xC2, TRUE },
    { "Atilde", 0xC3, TRUE },
    { "Auml", 0xC4, TRUE },
    { "Aring", 0xC5, TRUE },
    { "AElig", 0xC6, TRUE },
    { "Ccedil", 0xC7, TRUE },
    { "Egrave", 0xC8, TRUE },
    { "Eacute", 0xC9, TRUE },
    { "Ecirc", 0xCA, TRUE },
    { "Euml", 0xCB, TRUE },
    { "Igrave", 0xCC, TRUE },
    { "Iacute", 0xCD, TRUE },
    { "Icirc", 0xCE, TRUE },
    { "Iuml", 0xCF, TRUE },
    { "ETH", 0xD0, TRUE },
    { "Ntilde", 0xD1, TRUE },
    { "Ograve", 0xD2, TRUE },
    { "Oacute", 0xD3, TRUE },
    { "Ocirc", 0xD4, TRUE },
    { "Otilde", 0xD5, TRUE },
    { "Ouml", 0xD6, TRUE },
    { "times", 0xD7, TRUE },
    { "Oslash", 0xD8, TRUE },
    { "Ugrave", 0xD9, TRUE },
    { "Uacute", 0xDA, TRUE },
    { "Ucirc", 0xDB, TRUE },
    { "Uuml", 0xDC, TRUE },
    { "Yacute", 0xDD, TRUE },
    { "THORN", 0xDE, TRUE },
    { "szlig", 0xDF, TRUE },
    { "agrave", 0xE0, TRUE },
    { "aacute", 0xE1, TRUE },
    { "acirc", 0xE2, TRUE },
    { "atilde", 0xE3, TRUE },
    { "auml", 0xE4, TRUE },
    { "aring", 0xE5, TRUE },
    { "aelig", 0xE6, TRUE },
    { "ccedil", 0xE7, TRUE },
    { "egrave", 0xE8, TRUE },
    { "eacute", 0xE9, TRUE },
    { "ecirc", 0xEA, TRUE },
    { "euml", 0xEB, TRUE },
    { "igrave", 0xEC, TRUE },
    { "iacute", 0xED, TRUE },
    { "icirc", 0xEE, TRUE },
    { "iuml", 0xEF, TRUE },
    { "eth", 0xF0, TRUE },
    { "ntilde", 0xF1, TRUE },
    { "ograve", 0xF2, TRUE },
    { "oacute", 0xF3, TRUE },
    { "ocirc", 0xF4, TRUE },
    { "otilde", 0xF5, TRUE },
    { "ouml", 0xF6, TRUE },
    { "divide", 0xF7, TRUE },
    { "oslash", 0xF8, TRUE },
    { "ugrave", 0xF9, TRUE },
    { "uacute", 0xFA, TRUE },
    { "ucirc", 0xFB, TRUE },
    { "uuml", 0xFC, TRUE },
    { "yacute", 0xFD, TRUE },
    { "thorn", 0xFE, TRUE },
    { "yuml", 0xFF, TRUE },
    { "mdash", 0x2014, FALSE },
    { "ndash", 0x2013, FALSE },
    { "hellip", 0x2026, FALSE },
    { "lsquo", 0x2018, FALSE },
    { "rsquo", 0x2019, FALSE },
    { "ldquo", 0x201C, FALSE },
    { "rdquo", 0x201D, FALSE },
    { "sbquo", 0x201A, FALSE },
    { "bdquo", 0x201E, FALSE },
    { "euro", 0x20AC, FALSE },
    { "trade", 0x2122, FALSE },
    { "bull", 0x2022, FALSE },
    { "dagger", 0x2020, FALSE },
    { "Dagger", 0x2021, FALSE },
    { "permil", 0x2030, FALSE },
    { "lsaquo", 0x2039, FALSE },
    { "rsaquo", 0x203A, FALSE },
    { "OElig", 0x152, FALSE },
    { "oelig", 0x153, FALSE },
    { "Scaron", 0x160, FALSE },
    { "scaron", 0x161, FALSE },
    { "Yuml", 0x178, FALSE },
    { "circ", 0x2C6, FALSE },
    { "tilde", 0x2DC, FALSE },
    { "ensp", 0x2002, FALSE },
    { "emsp", 0x2003, FALSE },
    { "thinsp", 0x2009, FALSE },
    { "zwnj", 0x200C, FALSE },
    { "zwj", 0x200D, FALSE },
    { "lrm", 0x200E, FALSE },
    { "rlm", 0x200F, FALSE },
    { "prime", 0x2032, FALSE },
    { "Prime", 0x2033, FALSE },
    { "larr", 0x2190, FALSE },
    { "rarr", 0x2192, FALSE },
    { "uarr", 0x2191, FALSE },
    { "darr", 0x2193, FALSE },
    { "harr", 0x2194, FALSE },
    { "minus", 0x2212, FALSE },
    { "le", 0x2264, FALSE },
    { "ge", 0x2265, FALSE },
    { "ne", 0x2260, FALSE },
    { "infin", 0x221E, FALSE },
    { "alpha", 0x3B1, FALSE },
    { "beta", 0x3B2, FALSE },
    { "gamma", 0x3B3, FALSE },
    { "delta", 0x3B4, FALSE },
    { "pi", 0x3C0, FALSE },
    { "mu", 0x3BC, FALSE },
    { "sigma", 0x3C3, FALSE },
    { "omega", 0x3C9, FALSE },
    { "Omega", 0x3A9, FALSE },
    { "notin", 0x2209, FALSE }
};

/* HTML character references, as CLIP cleans text (twice): numeric ones (decimal or hex, the
 * semicolon optional) and the named ones above — a name with its semicolon first, else the longest
 * bare name it starts with. Other names stay as they are written. */
static char *
unescape_html (const char *text)
{
  GString *out = g_string_new (NULL);
  const char *p = text;

  while (*p != '\0')
    {
      gboolean done = FALSE;
      if (*p == '&' && p[1] == '#')
        {
          const char *q = p + 2;
          gboolean hex = *q == 'x' || *q == 'X';
          guint64 v = 0;
          int digits = 0;
          if (hex)
            q++;
          while (hex ? g_ascii_isxdigit (*q) : g_ascii_isdigit (*q))
            {
              v = MIN (v * (hex ? 16 : 10) + (guint64) (hex ? g_ascii_xdigit_value (*q) : g_ascii_digit_value (*q)),
                       (guint64) 0x7fffffff);
              q++, digits++;
            }
          if (digits > 0)
            {
              gunichar c = (gunichar) v;
              if (c == 0 || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
                c = 0xFFFD;
              g_string_append_unichar (out, c);
              p = *q == ';' ? q + 1 : q;
              done = TRUE;
            }
        }
      else if (*p == '&')
        {
          int best = -1;
          gsize best_n = 0;
          for (guint k = 0; k < G_N_ELEMENTS (named_references) && best < 0; k++)
            {
              gsize n = strlen (named_references[k].name);
              if (strncmp (p + 1, named_references[k].name, n) == 0 && p[1 + n] == ';')
                best = (int) k, best_n = n + 1;
            }
          if (best < 0)
            for (guint k = 0; k < G_N_ELEMENTS (named_references); k++)
              {
                gsize n = strlen (named_references[k].name);
                if (named_references[k].bare && n > best_n && strncmp (p + 1, named_references[k].name, n) == 0)
                  best = (int) k, best_n = n;
              }
          if (best >= 0)
            {
              g_string_append_unichar (out, named_references[best].c);
              p += 1 + best_n;
              done = TRUE;
            }
        }
      if (!done)
        g_string_append_c (out, *p++);
    }
  return g_string_free (out, FALSE);
}

/* Entities twice, whitespace runs to one space, trimmed, lower case. */
static char *
clean (const char *text)
{
  g_autofree char *once = unescape_html (text);
  g_autofree char *twice = unescape_html (once);
  g_autoptr (GString) spaced = g_string_new (NULL);
  gboolean in_space = TRUE;   /* leading space dropped */

  for (const char *p = twice; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);
      if (is_space (c))
        {
          in_space = TRUE;
          continue;
        }
      if (in_space && spaced->len > 0)
        g_string_append_c (spaced, ' ');
      in_space = FALSE;
      g_string_append_unichar (spaced, c);
    }
  return g_utf8_strdown (spaced->str, -1);
}

/* ---- merging ------------------------------------------------------------------------------- */

static int
rank_of (QrClipTokenizer *self, const char *first, const char *second)
{
  g_autofree char *key = g_strconcat (first, " ", second, NULL);
  return GPOINTER_TO_INT (g_hash_table_lookup (self->ranks, key)) - 1;
}

/* One piece's tokens (its bytes as stand-ins, merged by rank) appended to ids. */
static void
encode_piece (QrClipTokenizer *self, const char *piece, gsize length, GArray *ids)
{
  g_autoptr (GPtrArray) word = g_ptr_array_new_with_free_func (g_free);

  for (gsize i = 0; i < length; i++)
    {
      const char *ch = self->stand_in[(guint8) piece[i]];
      g_ptr_array_add (word, i + 1 == length ? g_strconcat (ch, "</w>", NULL) : g_strdup (ch));
    }
  while (word->len > 1)
    {
      int best = -1;
      const char *first, *second;
      g_autoptr (GPtrArray) merged = NULL;

      for (guint i = 0; i + 1 < word->len; i++)
        {
          int r = rank_of (self, word->pdata[i], word->pdata[i + 1]);
          if (r >= 0 && (best < 0 || r < best))
            best = r;
        }
      if (best < 0)
        break;
      merged = g_ptr_array_new_with_free_func (g_free);
      for (guint i = 0; i < word->len; i++)
        {
          if (i + 1 < word->len && rank_of (self, word->pdata[i], word->pdata[i + 1]) == best)
            {
              first = word->pdata[i];
              second = word->pdata[i + 1];
              g_ptr_array_add (merged, g_strconcat (first, second, NULL));
              i++;
            }
          else
            g_ptr_array_add (merged, g_strdup (word->pdata[i]));
        }
      g_ptr_array_unref (word);
      word = g_steal_pointer (&merged);
    }
  for (guint i = 0; i < word->len; i++)
    {
      int id = token_id (self, word->pdata[i]);
      if (id >= 0)
        g_array_append_val (ids, id);
    }
}

GArray *
qr_clip_tokenizer_encode (QrClipTokenizer *self, const char *text)
{
  static const char *const contractions[] = { "'s", "'t", "'re", "'ve", "'m", "'ll", "'d" };
  GArray *ids = g_array_new (FALSE, FALSE, sizeof (int));
  g_autofree char *valid = g_utf8_make_valid (text, -1);
  g_autofree char *cleaned = clean (valid);
  const char *p = cleaned;

  /* the pieces, as CLIP's pattern finds them: the special tokens, contractions, runs of letters,
     single digits, runs of anything else but spaces */
  while (*p != '\0')
    {
      gunichar c = g_utf8_get_char (p);
      const char *end = NULL;

      if (g_str_has_prefix (p, START_TOKEN) || g_str_has_prefix (p, END_TOKEN))
        {
          int id = g_str_has_prefix (p, START_TOKEN) ? self->start_id : self->end_id;
          g_array_append_val (ids, id);
          p += strlen (g_str_has_prefix (p, START_TOKEN) ? START_TOKEN : END_TOKEN);
          continue;
        }
      if (is_space (c))
        {
          p = g_utf8_next_char (p);
          continue;
        }
      for (guint k = 0; k < G_N_ELEMENTS (contractions) && end == NULL; k++)
        if (g_str_has_prefix (p, contractions[k]))
          end = p + strlen (contractions[k]);
      if (end == NULL && is_letter (c))
        for (end = p; *end != '\0' && is_letter (g_utf8_get_char (end));)
          end = g_utf8_next_char (end);
      if (end == NULL && is_number (c))
        end = g_utf8_next_char (p);
      if (end == NULL)
        for (end = p; *end != '\0';)
          {
            gunichar d = g_utf8_get_char (end);
            if (is_space (d) || is_letter (d) || is_number (d))
              break;
            end = g_utf8_next_char (end);
          }
      encode_piece (self, p, (gsize) (end - p), ids);
      p = end;
    }
  return ids;
}

int
qr_clip_tokenize (QrClipTokenizer *self, const char *text, int pad_id, int *ids)
{
  g_autoptr (GArray) tokens = qr_clip_tokenizer_encode (self, text);
  int n = 0;

  ids[n++] = self->start_id;
  for (guint i = 0; i < tokens->len && n < QR_CLIP_CONTEXT - 1; i++)
    ids[n++] = g_array_index (tokens, int, i);
  ids[n++] = self->end_id;
  for (int i = n; i < QR_CLIP_CONTEXT; i++)
    ids[i] = pad_id;
  return n;
}

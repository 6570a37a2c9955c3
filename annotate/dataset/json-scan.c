/* json-scan.c: see json-scan.h. RFC 8259 syntax; nesting is capped so that a hostile file cannot
 * exhaust the stack. */
#define G_LOG_DOMAIN "quorum-json"

#include "json-scan.h"
#include "qr-dataset.h"

#include <math.h>
#include <stdarg.h>
#include <string.h>

#define MAX_DEPTH 256

void
json_scan_init (JsonScan *scan, const char *data, gsize len, const char *file)
{
  scan->start = data;
  scan->p = data;
  scan->end = data + len;
  scan->file = file;
  scan->depth = 0;
  scan->key = g_string_new (NULL);
}

void
json_scan_clear (JsonScan *scan)
{
  if (scan->key != NULL)
    g_string_free (scan->key, TRUE);
  scan->key = NULL;
}

char *
json_scan_where (JsonScan *scan, const char *at)
{
  int line = 1, column = 1;

  for (const char *q = scan->start; q < at && q < scan->end; q++)
    {
      if (*q == '\n')
        line++, column = 1;
      else if (((guchar) *q & 0xC0) != 0x80)
        column++;
    }
  return g_strdup_printf ("%s:%d:%d", scan->file, line, column);
}

static gboolean fail_with_code (JsonScan *scan, const char *at, GError **error, int code, const char *format,
                                va_list args) G_GNUC_PRINTF (5, 0);

static gboolean
fail_with_code (JsonScan *scan, const char *at, GError **error, int code, const char *format, va_list args)
{
  g_autofree char *where = json_scan_where (scan, at);
  g_autofree char *message = g_strdup_vprintf (format, args);

  g_set_error (error, QR_DATASET_ERROR, code, "%s: %s", where, message);
  return FALSE;
}

gboolean
json_scan_fail (JsonScan *scan, const char *at, GError **error, const char *format, ...)
{
  va_list args;

  va_start (args, format);
  fail_with_code (scan, at, error, QR_DATASET_ERROR_PARSE, format, args);
  va_end (args);
  return FALSE;
}

gboolean
json_scan_invalid (JsonScan *scan, const char *at, GError **error, const char *format, ...)
{
  va_list args;

  va_start (args, format);
  fail_with_code (scan, at, error, QR_DATASET_ERROR_INVALID, format, args);
  va_end (args);
  return FALSE;
}

char
json_scan_peek (JsonScan *scan)
{
  while (scan->p < scan->end && (*scan->p == ' ' || *scan->p == '\n' || *scan->p == '\r' || *scan->p == '\t'))
    scan->p++;
  return scan->p < scan->end ? *scan->p : 0;
}

gboolean
json_scan_accept (JsonScan *scan, char c)
{
  if (json_scan_peek (scan) == c)
    {
      scan->p++;
      return TRUE;
    }
  return FALSE;
}

gboolean
json_scan_expect (JsonScan *scan, char c, GError **error)
{
  char got = json_scan_peek (scan);

  if (got == c)
    {
      scan->p++;
      return TRUE;
    }
  if (got == 0)
    return json_scan_fail (scan, scan->p, error, "the file ends where '%c' was expected", c);
  return json_scan_fail (scan, scan->p, error, "expected '%c', found '%c'", c, got);
}

static int
hex4 (const char *p)
{
  int v = 0;
  for (int i = 0; i < 4; i++)
    {
      int d = g_ascii_xdigit_value (p[i]);
      if (d < 0)
        return -1;
      v = v * 16 + d;
    }
  return v;
}

char *
json_scan_string (JsonScan *scan, GError **error)
{
  const char *open;
  GString *out;

  if (json_scan_peek (scan) != '"')
    {
      json_scan_fail (scan, scan->p, error, "expected a string");
      return NULL;
    }
  open = scan->p++;
  /* Fast path: no escapes. */
  for (const char *q = scan->p; q < scan->end; q++)
    {
      if (*q == '"')
        {
          char *s = g_strndup (scan->p, (gsize) (q - scan->p));
          if (!g_utf8_validate (s, -1, NULL))
            {
              g_free (s);
              json_scan_fail (scan, open, error, "a string that is not UTF-8");
              return NULL;
            }
          scan->p = q + 1;
          return s;
        }
      if (*q == '\\' || (guchar) *q < 0x20)
        break;
    }
  out = g_string_new (NULL);
  while (scan->p < scan->end && *scan->p != '"')
    {
      char c = *scan->p;
      if ((guchar) c < 0x20)
        {
          g_string_free (out, TRUE);
          json_scan_fail (scan, scan->p, error, "a control character inside a string");
          return NULL;
        }
      if (c != '\\')
        {
          g_string_append_c (out, c);
          scan->p++;
          continue;
        }
      if (scan->p + 1 >= scan->end)
        break;
      c = scan->p[1];
      scan->p += 2;
      switch (c)
        {
        case '"': g_string_append_c (out, '"'); break;
        case '\\': g_string_append_c (out, '\\'); break;
        case '/': g_string_append_c (out, '/'); break;
        case 'b': g_string_append_c (out, '\b'); break;
        case 'f': g_string_append_c (out, '\f'); break;
        case 'n': g_string_append_c (out, '\n'); break;
        case 'r': g_string_append_c (out, '\r'); break;
        case 't': g_string_append_c (out, '\t'); break;
        case 'u':
          {
            int cp = scan->p + 4 <= scan->end ? hex4 (scan->p) : -1;
            if (cp < 0)
              goto bad_escape;
            scan->p += 4;
            if (cp >= 0xD800 && cp <= 0xDBFF)
              {
                int low = scan->p + 6 <= scan->end && scan->p[0] == '\\' && scan->p[1] == 'u' ? hex4 (scan->p + 2) : -1;
                if (low < 0xDC00 || low > 0xDFFF)
                  goto bad_escape;
                cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
                scan->p += 6;
              }
            else if (cp >= 0xDC00 && cp <= 0xDFFF)
              goto bad_escape;
            g_string_append_unichar (out, (gunichar) cp);
            break;
          }
        default:
          goto bad_escape;
        }
    }
  if (scan->p >= scan->end)
    {
      g_string_free (out, TRUE);
      json_scan_fail (scan, open, error, "a string that never ends");
      return NULL;
    }
  scan->p++;
  if (memchr (out->str, '\0', out->len) != NULL)
    {
      g_string_free (out, TRUE);
      json_scan_fail (scan, open, error, "a string holding a NUL character (\\u0000), which no name may hold");
      return NULL;
    }
  if (!g_utf8_validate (out->str, (gssize) out->len, NULL))
    {
      g_string_free (out, TRUE);
      json_scan_fail (scan, open, error, "a string that is not UTF-8");
      return NULL;
    }
  return g_string_free (out, FALSE);

bad_escape:
  g_string_free (out, TRUE);
  json_scan_fail (scan, scan->p, error, "a bad escape in a string");
  return NULL;
}

static const double powers_of_ten[] = {
  1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
  1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
};

gboolean
json_scan_number (JsonScan *scan, double *value, GError **error)
{
  char buffer[64];
  const char *begin, *q;
  gsize n = 0;
  char *end_ptr;
  guint64 mantissa = 0;
  int digits = 0, fraction = -1;
  gboolean negative = FALSE;

  json_scan_peek (scan);
  begin = q = scan->p;

  /* Fast path for the usual "-12.345": digits into an integer, then one division. Both operands
   * are exact doubles (mantissa < 2^53, 10^k for k <= 22), so the quotient is correctly rounded:
   * the same double strtod gives. */
  if (q < scan->end && *q == '-')
    negative = TRUE, q++;
  for (; q < scan->end; q++)
    {
      if (*q >= '0' && *q <= '9')
        {
          mantissa = mantissa * 10 + (guint64) (*q - '0');
          digits++;
          if (fraction >= 0)
            fraction++;
        }
      else if (*q == '.' && fraction < 0)
        fraction = 0;
      else
        break;
    }
  if (digits > 0 && digits <= 15 && fraction != 0 && (q >= scan->end || (*q != 'e' && *q != 'E'))
      && !(begin[negative] == '0' && digits > 1 && begin[negative + 1] != '.'))
    {
      double v = (double) mantissa;
      if (fraction > 0)
        v /= powers_of_ten[fraction];
      *value = negative ? -v : v;
      scan->p = q;
      return TRUE;
    }

  while (scan->p < scan->end && n < sizeof buffer - 1 && *scan->p != '\0' && strchr ("+-0123456789.eE", *scan->p) != NULL)
    buffer[n++] = *scan->p++;
  buffer[n] = '\0';
  if (n == 0)
    return json_scan_fail (scan, begin, error, "expected a number");
  *value = g_ascii_strtod (buffer, &end_ptr);
  {
    /* strtod is laxer than JSON: it takes "1." and ".5". */
    const char *dot = strchr (buffer, '.');
    if (dot != NULL && (dot == buffer || !g_ascii_isdigit (dot[1]) || !g_ascii_isdigit (dot[-1])))
      return json_scan_fail (scan, begin, error, "'%s' is not a number", buffer);
  }
  if (*end_ptr != '\0' || buffer[0] == '+' || !isfinite (*value))
    return json_scan_fail (scan, begin, error, "'%s' is not a number", buffer);
  return TRUE;
}

static gboolean
skip_literal (JsonScan *scan, const char *word, GError **error)
{
  gsize n = strlen (word);

  if ((gsize) (scan->end - scan->p) >= n && memcmp (scan->p, word, n) == 0)
    {
      scan->p += n;
      return TRUE;
    }
  return json_scan_fail (scan, scan->p, error, "unexpected text");
}

gboolean
json_scan_skip (JsonScan *scan, GError **error)
{
  char c = json_scan_peek (scan);
  gboolean first = TRUE;

  switch (c)
    {
    case '"':
      {
        /* Skipping needs no copy: find the closing quote, honouring escapes. */
        const char *q = scan->p + 1;
        while (q < scan->end && *q != '"')
          q += *q == '\\' ? 2 : 1;
        if (q >= scan->end)
          return json_scan_fail (scan, scan->p, error, "a string that never ends");
        scan->p = q + 1;
        return TRUE;
      }
    case '{':
    case '[':
      {
        GError *local = NULL;

        if (++scan->depth > MAX_DEPTH)
          return json_scan_fail (scan, scan->p, error, "nested deeper than %d levels", MAX_DEPTH);
        if (c == '{')
          {
            const char *key = NULL;
            while (json_scan_next_member (scan, &first, &key, &local))
              if (!json_scan_skip (scan, &local))
                break;
          }
        else
          while (json_scan_next_item (scan, &first, &local))
            if (!json_scan_skip (scan, &local))
              break;
        scan->depth--;
        if (local != NULL)
          {
            g_propagate_error (error, local);
            return FALSE;
          }
        return TRUE;
      }
    case 't': return skip_literal (scan, "true", error);
    case 'f': return skip_literal (scan, "false", error);
    case 'n': return skip_literal (scan, "null", error);
    case 0: return json_scan_fail (scan, scan->p, error, "the file ends where a value was expected");
    default:
      {
        double v;
        return json_scan_number (scan, &v, error);
      }
    }
}

gboolean
json_scan_next_member (JsonScan *scan, gboolean *first, const char **key, GError **error)
{
  const char *q;

  if (*first)
    {
      *first = FALSE;
      if (!json_scan_expect (scan, '{', error))
        return FALSE;
      if (json_scan_accept (scan, '}'))
        return FALSE;
    }
  else
    {
      if (json_scan_accept (scan, '}'))
        return FALSE;
      if (!json_scan_expect (scan, ',', error))
        return FALSE;
    }
  if (json_scan_peek (scan) != '"')
    return json_scan_fail (scan, scan->p, error, "expected a member name in quotes");
  /* Member names rarely have escapes: copy them into the reused buffer, else unescape. */
  for (q = scan->p + 1; q < scan->end && *q != '"' && *q != '\\'; q++)
    ;
  if (q < scan->end && *q == '"')
    {
      g_string_truncate (scan->key, 0);
      g_string_append_len (scan->key, scan->p + 1, (gssize) (q - scan->p - 1));
      scan->p = q + 1;
    }
  else
    {
      g_autofree char *unescaped = json_scan_string (scan, error);
      if (unescaped == NULL)
        return FALSE;
      g_string_assign (scan->key, unescaped);
    }
  *key = scan->key->str;
  return json_scan_expect (scan, ':', error);
}

gboolean
json_scan_next_item (JsonScan *scan, gboolean *first, GError **error)
{
  if (*first)
    {
      *first = FALSE;
      if (!json_scan_expect (scan, '[', error))
        return FALSE;
      return !json_scan_accept (scan, ']');
    }
  if (json_scan_accept (scan, ']'))
    return FALSE;
  return json_scan_expect (scan, ',', error);
}

/* flatbuffer.c: a bounds-checked FlatBuffers reader (flatbuffer.h). A flatbuffer is offsets all
 * the way down: a table starts with a signed 32-bit offset back to its vtable (u16 vtable size,
 * u16 table size, then one u16 offset per field, 0 for absent); fields that are tables, vectors or
 * strings hold an unsigned 32-bit offset from where they are stored. */
#define G_LOG_DOMAIN "quorum-engine"

#include "flatbuffer.h"
#include "qr-engine.h"

#include <string.h>

void
qr_fb_bad (QrFlatbuffer *b, gsize at, const char *what)
{
  if (!b->failed)
    g_set_error (b->error, QR_ENGINE_ERROR, QR_ENGINE_ERROR_FORMAT, "%s: byte %" G_GSIZE_FORMAT ": %s (a damaged or "
                 "truncated TFLite file?)", b->path, at, what);
  b->failed = TRUE;
}

guint32
qr_fb_u32 (QrFlatbuffer *b, gsize at)
{
  guint32 v;
  if (b->failed || at > b->size || b->size - at < 4)
    {
      qr_fb_bad (b, at, "an offset past the end of the file");
      return 0;
    }
  memcpy (&v, b->data + at, 4);
  return GUINT32_FROM_LE (v);
}

guint16
qr_fb_u16 (QrFlatbuffer *b, gsize at)
{
  guint16 v;
  if (b->failed || at > b->size || b->size - at < 2)
    {
      qr_fb_bad (b, at, "an offset past the end of the file");
      return 0;
    }
  memcpy (&v, b->data + at, 2);
  return GUINT16_FROM_LE (v);
}

/* The position of field `field` of the table at `table`, or 0 when absent. */
gsize
qr_fb_field (QrFlatbuffer *b, gsize table, int field)
{
  gint32 back = (gint32) qr_fb_u32 (b, table);
  gsize vtable = (gsize) ((gint64) table - back);
  guint16 vsize, off;

  if (b->failed)
    return 0;
  if ((gint64) table - back < 0 || vtable >= b->size)
    {
      qr_fb_bad (b, table, "a table's vtable lies outside the file");
      return 0;
    }
  vsize = qr_fb_u16 (b, vtable);
  if ((gsize) (4 + 2 * field + 2) > vsize)
    return 0;
  off = qr_fb_u16 (b, vtable + 4 + 2 * (gsize) field);
  return off == 0 ? 0 : table + off;
}

gint64
qr_fb_int (QrFlatbuffer *b, gsize table, int f, int bytes, gint64 fallback)
{
  gsize at = qr_fb_field (b, table, f);
  if (at == 0)
    return fallback;
  if (at + (gsize) bytes > b->size)
    {
      qr_fb_bad (b, at, "a field past the end of the file");
      return fallback;
    }
  switch (bytes)
    {
    case 1: return (gint8) b->data[at];
    case 2: return (gint16) qr_fb_u16 (b, at);
    default: return (gint32) qr_fb_u32 (b, at);
    }
}

guint64
qr_fb_u64 (QrFlatbuffer *b, gsize table, int f)
{
  gsize at = qr_fb_field (b, table, f);
  guint64 v;
  if (at == 0)
    return 0;
  if (at + 8 > b->size)
    {
      qr_fb_bad (b, at, "a field past the end of the file");
      return 0;
    }
  memcpy (&v, b->data + at, 8);
  return GUINT64_FROM_LE (v);
}

/* Follows an offset field: the table, vector or string it points at, or 0. */
gsize
qr_fb_ref (QrFlatbuffer *b, gsize table, int f)
{
  gsize at = qr_fb_field (b, table, f);
  gsize target;
  if (at == 0)
    return 0;
  target = at + qr_fb_u32 (b, at);
  if (!b->failed && target >= b->size)
    qr_fb_bad (b, at, "an offset past the end of the file");
  return b->failed ? 0 : target;
}

/* A vector at v: its length, with its elements checked to fit. */
guint32
qr_fb_vec_len (QrFlatbuffer *b, gsize v, gsize element)
{
  guint32 n;
  if (v == 0)
    return 0;
  n = qr_fb_u32 (b, v);
  if (!b->failed && (gsize) n > (b->size - v - 4) / element)
    {
      qr_fb_bad (b, v, "a vector longer than the file");
      return 0;
    }
  return n;
}

gsize
qr_fb_vec_table (QrFlatbuffer *b, gsize v, guint32 i)
{
  gsize at = v + 4 + 4 * (gsize) i;
  gsize target = at + qr_fb_u32 (b, at);
  if (!b->failed && target >= b->size)
    qr_fb_bad (b, at, "an offset past the end of the file");
  return b->failed ? 0 : target;
}

gint32
qr_fb_vec_int (QrFlatbuffer *b, gsize v, guint32 i)
{
  return (gint32) qr_fb_u32 (b, v + 4 + 4 * (gsize) i);
}

char *
qr_fb_string (QrFlatbuffer *b, gsize table, int f)
{
  gsize s = qr_fb_ref (b, table, f);
  guint32 n = qr_fb_vec_len (b, s, 1);
  return s == 0 ? g_strdup ("") : g_strndup ((const char *) b->data + s + 4, n);
}

/* protobuf.c: the Protocol Buffers wire format, bounds-checked (protobuf.h). A message is a run
 * of fields, each a varint key (field number << 3 | wire type) and a value: a varint, 8 or 4
 * little-endian bytes, or a varint length and that many bytes (strings, nested messages, packed
 * repeated numbers). Group wire types (3, 4) are obsolete and refused. */
#define G_LOG_DOMAIN "quorum-engine"

#include "protobuf.h"
#include "qr-engine.h"

#include <string.h>

void
qr_pb_bad (QrProtobuf *p, gsize at, const char *what)
{
  if (!p->failed)
    g_set_error (p->error, QR_ENGINE_ERROR, QR_ENGINE_ERROR_FORMAT, "%s: byte %" G_GSIZE_FORMAT ": %s (a damaged or "
                 "truncated %s?)", p->path, at, what, p->format ? p->format : "file");
  p->failed = TRUE;
}

QrPbMessage
qr_pb_root (QrProtobuf *p)
{
  return (QrPbMessage) { 0, p->size, 0 };
}

/* A varint at *pos, before end. */
static gboolean
varint (QrProtobuf *p, gsize *pos, gsize end, guint64 *out)
{
  guint64 v = 0;
  gsize at = *pos;
  for (int shift = 0; shift < 64; shift += 7)
    {
      guint8 byte;
      if (*pos >= end)
        {
          qr_pb_bad (p, at, "a number runs past the end of its message");
          return FALSE;
        }
      byte = p->data[(*pos)++];
      v |= (guint64) (byte & 0x7f) << shift;
      if (!(byte & 0x80))
        {
          *out = v;
          return TRUE;
        }
    }
  qr_pb_bad (p, at, "a number longer than ten bytes");
  return FALSE;
}

gboolean
qr_pb_next (QrProtobuf *p, QrPbMessage *m, QrPbField *f)
{
  guint64 key;
  gsize at = m->pos;

  if (p->failed || m->pos >= m->end)
    return FALSE;
  if (m->end > p->size)
    {
      qr_pb_bad (p, m->start, "a message runs past the end of the file");
      return FALSE;
    }
  if (!varint (p, &m->pos, m->end, &key))
    return FALSE;
  memset (f, 0, sizeof *f);
  f->number = (guint32) MIN (key >> 3, G_MAXUINT32);
  f->wire = (int) (key & 7);
  if (f->number == 0)
    {
      qr_pb_bad (p, at, "a field numbered 0");
      return FALSE;
    }
  switch (f->wire)
    {
    case QR_PB_VARINT:
      return varint (p, &m->pos, m->end, &f->value);
    case QR_PB_FIXED64:
    case QR_PB_FIXED32:
      {
        gsize n = f->wire == QR_PB_FIXED64 ? 8 : 4;
        if (m->end - m->pos < n)
          {
            qr_pb_bad (p, at, "a value runs past the end of its message");
            return FALSE;
          }
        f->value = 0;
        for (gsize i = 0; i < n; i++)
          f->value |= (guint64) p->data[m->pos + i] << (8 * i);
        f->at = m->pos;
        f->len = n;
        m->pos += n;
        return TRUE;
      }
    case QR_PB_BYTES:
      {
        guint64 len;
        if (!varint (p, &m->pos, m->end, &len))
          return FALSE;
        if (len > m->end - m->pos)
          {
            qr_pb_bad (p, at, "a length runs past the end of its message");
            return FALSE;
          }
        f->at = m->pos;
        f->len = (gsize) len;
        m->pos += (gsize) len;
        return TRUE;
      }
    default:
      qr_pb_bad (p, at, "an unknown wire type");
      return FALSE;
    }
}

QrPbMessage
qr_pb_sub (const QrPbField *f)
{
  if (f->wire != QR_PB_BYTES)
    return (QrPbMessage) { 0, 0, 0 };
  return (QrPbMessage) { f->at, f->at + f->len, f->at };
}

char *
qr_pb_string (QrProtobuf *p, const QrPbField *f)
{
  if (f->wire != QR_PB_BYTES)
    {
      qr_pb_bad (p, f->at, "a number where text belongs");
      return g_strdup ("");
    }
  if (memchr (p->data + f->at, 0, f->len) != NULL)
    {
      qr_pb_bad (p, f->at, "a NUL byte in text");
      return g_strdup ("");
    }
  return g_strndup ((const char *) p->data + f->at, f->len);
}

float
qr_pb_float (const QrPbField *f)
{
  guint32 bits = (guint32) f->value;
  float v;
  memcpy (&v, &bits, 4);
  return v;
}

void
qr_pb_ints (QrProtobuf *p, const QrPbField *f, GArray *out)
{
  if (f->wire == QR_PB_VARINT)
    {
      gint64 v = (gint64) f->value;
      g_array_append_val (out, v);
      return;
    }
  if (f->wire != QR_PB_BYTES)
    {
      qr_pb_bad (p, f->at, "integers stored with the wrong wire type");
      return;
    }
  for (gsize pos = f->at; pos < f->at + f->len && !p->failed;)
    {
      guint64 v;
      if (varint (p, &pos, f->at + f->len, &v))
        {
          gint64 s = (gint64) v;
          g_array_append_val (out, s);
        }
    }
}

static void
fixed (QrProtobuf *p, const QrPbField *f, GArray *out, gsize width, int wire)
{
  if (f->wire == wire)
    {
      if (width == 4)
        {
          float v = qr_pb_float (f);
          g_array_append_val (out, v);
        }
      else
        {
          double v;
          memcpy (&v, &f->value, 8);
          g_array_append_val (out, v);
        }
      return;
    }
  if (f->wire != QR_PB_BYTES || f->len % width != 0)
    {
      qr_pb_bad (p, f->at, "numbers stored with the wrong wire type or length");
      return;
    }
  {
    guint n = (guint) (f->len / width), old = out->len;
    if (n == 0)
      return;
    g_array_set_size (out, old + n);
    memcpy (out->data + (gsize) old * width, p->data + f->at, f->len);
#if G_BYTE_ORDER == G_BIG_ENDIAN
#error "ONNX numbers are little-endian; a big-endian build would swap them here"
#endif
  }
}

void
qr_pb_floats (QrProtobuf *p, const QrPbField *f, GArray *out)
{
  fixed (p, f, out, 4, QR_PB_FIXED32);
}

void
qr_pb_doubles (QrProtobuf *p, const QrPbField *f, GArray *out)
{
  fixed (p, f, out, 8, QR_PB_FIXED64);
}

/* flatbuffer.h: a bounds-checked reader of FlatBuffers (the TFLite format), written for Quorum:
 * every offset is checked against the file before it is followed; the first bad one sets the
 * error (naming the byte) and every read after it returns 0, so a reader checks `failed` once. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct
{
  const guint8 *data;
  gsize         size;
  const char   *path;
  GError      **error;
  gboolean      failed;
} QrFlatbuffer;

/* Marks the buffer failed at byte `at` (the first failure sets the error). */
void     qr_fb_bad       (QrFlatbuffer *b,
                          gsize         at,
                          const char   *what);
guint32  qr_fb_u32       (QrFlatbuffer *b,
                          gsize         at);
guint16  qr_fb_u16       (QrFlatbuffer *b,
                          gsize         at);
/* The position of field `field` of the table at `table`, or 0 when absent. */
gsize    qr_fb_field     (QrFlatbuffer *b,
                          gsize         table,
                          int           field);
/* A scalar field of 1, 2 or 4 bytes, sign-extended; fallback when absent. */
gint64   qr_fb_int       (QrFlatbuffer *b,
                          gsize         table,
                          int           f,
                          int           bytes,
                          gint64        fallback);
guint64  qr_fb_u64       (QrFlatbuffer *b,
                          gsize         table,
                          int           f);
/* Follows an offset field: the table, vector or string it points at, or 0. */
gsize    qr_fb_ref       (QrFlatbuffer *b,
                          gsize         table,
                          int           f);
/* A vector at v: its length, with its elements checked to fit. */
guint32  qr_fb_vec_len   (QrFlatbuffer *b,
                          gsize         v,
                          gsize         element);
gsize    qr_fb_vec_table (QrFlatbuffer *b,
                          gsize         v,
                          guint32       i);
gint32   qr_fb_vec_int   (QrFlatbuffer *b,
                          gsize         v,
                          guint32       i);
/* A string field, "" when absent (free it). */
char    *qr_fb_string    (QrFlatbuffer *b,
                          gsize         table,
                          int           f);

G_END_DECLS

/* protobuf.h: a bounds-checked reader of the Protocol Buffers wire format (ONNX models), written
 * for Quorum like flatbuffer.h: a message is a byte range of the file, read field by field; every
 * length is checked against its message before it is followed, and the first bad one sets the
 * error (naming the byte) and ends every read after it, so a reader checks `failed` once. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct
{
  const guint8 *data;
  gsize         size;
  const char   *path;
  const char   *format;      /* "ONNX model", for messages */
  GError      **error;
  gboolean      failed;
} QrProtobuf;

/* A message: the bytes [start, end) of the file, read from pos. */
typedef struct
{
  gsize start, end, pos;
} QrPbMessage;

enum
{
  QR_PB_VARINT = 0,
  QR_PB_FIXED64 = 1,
  QR_PB_BYTES = 2,
  QR_PB_FIXED32 = 5,
};

typedef struct
{
  guint32 number;
  int     wire;
  guint64 value;     /* varints and fixed values */
  gsize   at, len;   /* bytes: where they start in the file and how many */
} QrPbField;

/* Marks the reader failed at byte `at` (the first failure sets the error). */
void        qr_pb_bad        (QrProtobuf       *p,
                              gsize             at,
                              const char       *what);
QrPbMessage qr_pb_root       (QrProtobuf       *p);
/* The next field of m; FALSE at the end or on a damaged field (then p->failed). */
gboolean    qr_pb_next       (QrProtobuf       *p,
                              QrPbMessage      *m,
                              QrPbField        *f);
/* A bytes field as a message. */
QrPbMessage qr_pb_sub        (const QrPbField  *f);
/* A bytes field as a string (free it); NUL bytes are refused. */
char       *qr_pb_string     (QrProtobuf       *p,
                              const QrPbField  *f);
/* A float (fixed32) field. */
float       qr_pb_float      (const QrPbField  *f);
/* Appends a repeated integer field's values to out (gint64): packed or one per field. */
void        qr_pb_ints       (QrProtobuf       *p,
                              const QrPbField  *f,
                              GArray           *out);
/* Appends a repeated float field's values to out (float): packed or one per field. */
void        qr_pb_floats     (QrProtobuf       *p,
                              const QrPbField  *f,
                              GArray           *out);
/* Appends a repeated double field's values to out (double). */
void        qr_pb_doubles    (QrProtobuf       *p,
                              const QrPbField  *f,
                              GArray           *out);

G_END_DECLS

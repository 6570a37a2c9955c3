/* onnx.c: ONNX models into the engine's graph, read with protobuf.c (a bounds-checked reader of
 * the wire format written for Quorum, like the TFLite one: no protobuf library, no generated code,
 * and every length checked before it is followed, so a damaged file is an error naming the byte).
 *
 * ONNX tensors are NCHW; the graph's convolutions and pools are NHWC, so each is wrapped in two
 * transposes, which the rewrites push down until they cancel. Shapes are known while importing
 * (the input's declared shape, a symbolic dimension taken as 1), so shape arithmetic (Shape,
 * Gather, Concat, Unsqueeze … on constants) folds as it is read, and Flatten, Squeeze, Unsqueeze
 * and Reshape become reshapes to known dimensions. Values are float32 whatever their ONNX type;
 * integer tensors are only computed on as constants (where they are exact) — integer arithmetic on
 * the graph's own values is refused rather than computed in floating point. */
#define G_LOG_DOMAIN "quorum-engine"

#include "engine-private.h"
#include "qr-onnx.h"
#include "protobuf.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

enum
{
  T_UNDEFINED = 0, T_FLOAT = 1, T_UINT8 = 2, T_INT8 = 3, T_UINT16 = 4, T_INT16 = 5, T_INT32 = 6, T_INT64 = 7,
  T_STRING = 8, T_BOOL = 9, T_FLOAT16 = 10, T_DOUBLE = 11, T_UINT32 = 12, T_UINT64 = 13, T_COMPLEX64 = 14,
  T_COMPLEX128 = 15, T_BFLOAT16 = 16,
};

enum { A_FLOAT = 1, A_INT = 2, A_STRING = 3, A_TENSOR = 4, A_GRAPH = 5, A_FLOATS = 6, A_INTS = 7, A_STRINGS = 8 };

#define INT_LIMIT 1073741824.0 /* 2^30 */
#define MAX_ELEMENTS ((gsize) 1 << 31)

static gboolean
is_float_type (int t)
{
  return t == T_FLOAT || t == T_FLOAT16 || t == T_DOUBLE || t == T_BFLOAT16;
}

static const char *
type_name (int t)
{
  static const char *const names[] = { "undefined", "float", "uint8", "int8", "uint16", "int16", "int32", "int64",
                                        "string", "bool", "float16", "double", "uint32", "uint64", "complex64",
                                        "complex128", "bfloat16" };
  return t >= 0 && t < (int) G_N_ELEMENTS (names) ? names[t] : "unknown";
}

void
qr_onnx_tensor_free (QrOnnxTensor *tensor)
{
  if (tensor == NULL)
    return;
  g_free (tensor->name);
  g_free (tensor->data);
  g_free (tensor);
}

/* ---- the file ---------------------------------------------------------------------------- */

typedef struct
{
  char    *name;
  int      type;
  float    f;
  gint64   i;
  char    *s;
  QrPbField t;
  gboolean has_t;
  GArray  *ints;     /* gint64 */
  GArray  *floats;   /* float */
  gboolean used;
} Attr;

typedef struct
{
  char      *name, *op, *domain;
  GPtrArray *inputs, *outputs;   /* char* */
  GPtrArray *attrs;              /* Attr* */
} Node;

static void
attr_free (Attr *a)
{
  g_free (a->name);
  g_free (a->s);
  if (a->ints)
    g_array_unref (a->ints);
  if (a->floats)
    g_array_unref (a->floats);
  g_free (a);
}

static void
node_free (Node *n)
{
  g_free (n->name);
  g_free (n->op);
  g_free (n->domain);
  g_ptr_array_unref (n->inputs);
  g_ptr_array_unref (n->outputs);
  g_ptr_array_unref (n->attrs);
  g_free (n);
}

typedef struct
{
  QrProtobuf      pb;
  const char     *path;
  char           *dir;
  QrGraph        *graph;
  int             opset;
  int             batch;
  GHashTable     *types;        /* tensor name → ONNX data type */
  const Node     *node;         /* the node being read, for messages */
  const QrOnnxOptions *options;
  gboolean        kept_tokens;  /* options->keep_tokens did its work */
  GArray         *lead;         /* guint8 per tensor: leading ones left out (see lead_of) */
  gboolean        dropped;      /* some tensor has them */
} Reader;

static gboolean fail (Reader *r, int code, const char *format, ...) G_GNUC_PRINTF (3, 4);

static gboolean
fail (Reader *r, int code, const char *format, ...)
{
  va_list args;
  g_autofree char *message = NULL;
  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  if (!r->pb.failed)
    {
      if (r->node != NULL)
        g_set_error (r->pb.error, QR_ENGINE_ERROR, code, "%s: node %s (%s): %s", r->path,
                     r->node->name[0] ? r->node->name : (r->node->outputs->len ? (char *) r->node->outputs->pdata[0] : "?"),
                     r->node->op, message);
      else
        g_set_error (r->pb.error, QR_ENGINE_ERROR, code, "%s: %s", r->path, message);
    }
  r->pb.failed = TRUE;
  return FALSE;
}

static float
half_to_float (guint16 h)
{
  guint32 sign = (guint32) (h & 0x8000) << 16, exp = (h >> 10) & 0x1f, mant = h & 0x3ff, bits;
  float f;
  if (exp == 0)
    {
      f = ldexpf ((float) mant, -24);
      return sign ? -f : f;
    }
  bits = exp == 31 ? sign | 0x7f800000 | (mant << 13) : sign | ((exp + 112) << 23) | (mant << 13);
  memcpy (&f, &bits, 4);
  return f;
}

static float
clamp_int (double v)
{
  return (float) CLAMP (v, -INT_LIMIT, INT_LIMIT);
}

/* The values of element type t from little-endian bytes. */
static void
convert_raw (int t, const guint8 *raw, gsize n, float *out)
{
  for (gsize i = 0; i < n; i++)
    switch (t)
      {
      case T_FLOAT: { float v; memcpy (&v, raw + 4 * i, 4); out[i] = v; break; }
      case T_DOUBLE: { double v; memcpy (&v, raw + 8 * i, 8); out[i] = (float) v; break; }
      case T_FLOAT16: out[i] = half_to_float ((guint16) (raw[2 * i] | raw[2 * i + 1] << 8)); break;
      case T_BFLOAT16: { guint32 b = (guint32) (raw[2 * i] | raw[2 * i + 1] << 8) << 16; float v; memcpy (&v, &b, 4); out[i] = v; break; }
      case T_UINT8: case T_BOOL: out[i] = raw[i]; break;
      case T_INT8: out[i] = (gint8) raw[i]; break;
      case T_UINT16: out[i] = (guint16) (raw[2 * i] | raw[2 * i + 1] << 8); break;
      case T_INT16: out[i] = (gint16) (raw[2 * i] | raw[2 * i + 1] << 8); break;
      case T_INT32: { gint32 v; memcpy (&v, raw + 4 * i, 4); out[i] = clamp_int (v); break; }
      case T_UINT32: { guint32 v; memcpy (&v, raw + 4 * i, 4); out[i] = clamp_int (v); break; }
      case T_INT64: { gint64 v; memcpy (&v, raw + 8 * i, 8); out[i] = clamp_int ((double) v); break; }
      case T_UINT64: { guint64 v; memcpy (&v, raw + 8 * i, 8); out[i] = clamp_int ((double) v); break; }
      default: out[i] = 0; break;
      }
}

static gsize
type_size (int t)
{
  switch (t)
    {
    case T_FLOAT: case T_INT32: case T_UINT32: return 4;
    case T_DOUBLE: case T_INT64: case T_UINT64: return 8;
    case T_FLOAT16: case T_BFLOAT16: case T_UINT16: case T_INT16: return 2;
    case T_UINT8: case T_INT8: case T_BOOL: return 1;
    default: return 0;
    }
}

/* External data: `location` relative to the model's folder and inside it. */
static gboolean
read_external (Reader *r, const char *name, const char *location, gint64 offset, gint64 length, gsize want,
               guint8 **out)
{
  g_autofree char *file = NULL, *real_dir = NULL, *real_file = NULL;
  g_autoptr (GMappedFile) mapped = NULL;
  g_autoptr (GError) local = NULL;
  gsize size;

  if (location == NULL || location[0] == '\0')
    return fail (r, QR_ENGINE_ERROR_FORMAT, "tensor %s: external data without a location", name);
  if (g_path_is_absolute (location) || strstr (location, "..") != NULL)
    return fail (r, QR_ENGINE_ERROR_FORMAT, "tensor %s: external data at %s, outside the model's folder", name, location);
  file = g_build_filename (r->dir, location, NULL);
  real_dir = realpath (r->dir, NULL);
  real_file = realpath (file, NULL);
  if (real_file == NULL)
    return fail (r, QR_ENGINE_ERROR_IO, "tensor %s: its external data %s: %s", name, file, g_strerror (errno));
  if (real_dir == NULL || !g_str_has_prefix (real_file, real_dir) || real_file[strlen (real_dir)] != G_DIR_SEPARATOR)
    return fail (r, QR_ENGINE_ERROR_FORMAT, "tensor %s: external data %s lies outside the model's folder", name, location);
  if (!g_file_test (real_file, G_FILE_TEST_IS_REGULAR))
    return fail (r, QR_ENGINE_ERROR_IO, "tensor %s: its external data %s is not a regular file", name, file);
  mapped = g_mapped_file_new (real_file, FALSE, &local);
  if (mapped == NULL)
    return fail (r, QR_ENGINE_ERROR_IO, "tensor %s: %s", name, local->message);
  size = g_mapped_file_get_length (mapped);
  if (offset < 0 || (guint64) offset > size || (length >= 0 && (guint64) length != want)
      || size - (gsize) offset < want)
    return fail (r, QR_ENGINE_ERROR_FORMAT, "tensor %s: external data %s holds %" G_GSIZE_FORMAT " bytes; the tensor "
                 "needs %" G_GSIZE_FORMAT " at offset %" G_GINT64_FORMAT, name, location, size, want, offset);
  *out = g_memdup2 (g_mapped_file_get_contents (mapped) + offset, want);
  return TRUE;
}

/* A TensorProto. */
static QrOnnxTensor *
read_tensor (Reader *r, QrPbMessage m)
{
  QrProtobuf *p = &r->pb;
  g_autoptr (QrOnnxTensor) t = g_new0 (QrOnnxTensor, 1);
  g_autoptr (GArray) dims = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr (GArray) ints = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr (GArray) floats = g_array_new (FALSE, FALSE, sizeof (float));
  g_autoptr (GArray) doubles = g_array_new (FALSE, FALSE, sizeof (double));
  g_autofree char *location = NULL;
  g_autofree guint8 *external = NULL;
  gint64 offset = 0, length = -1, data_location = 0;
  const guint8 *raw = NULL;
  gsize raw_len = 0, n = 1, width;
  gboolean has_raw = FALSE, has_ints = FALSE;
  QrPbField f;

  t->data_type = T_FLOAT;
  while (qr_pb_next (p, &m, &f))
    switch (f.number)
      {
      case 1: qr_pb_ints (p, &f, dims); break;
      case 2: t->data_type = (int) f.value; break;
      case 4: qr_pb_floats (p, &f, floats); break;
      case 5: case 7: case 11: qr_pb_ints (p, &f, ints); has_ints = TRUE; break;
      case 8: g_free (t->name); t->name = qr_pb_string (p, &f); break;
      case 9: raw = p->data + f.at; raw_len = f.len; has_raw = TRUE; break;
      case 10: qr_pb_doubles (p, &f, doubles); break;
      case 13:
        {
          QrPbMessage e = qr_pb_sub (&f);
          QrPbField g;
          g_autofree char *key = NULL, *value = NULL;
          while (qr_pb_next (p, &e, &g))
            if (g.number == 1)
              g_free (key), key = qr_pb_string (p, &g);
            else if (g.number == 2)
              g_free (value), value = qr_pb_string (p, &g);
          if (key && value && strcmp (key, "location") == 0)
            g_free (location), location = g_steal_pointer (&value);
          else if (key && value && strcmp (key, "offset") == 0)
            offset = g_ascii_strtoll (value, NULL, 10);
          else if (key && value && strcmp (key, "length") == 0)
            length = g_ascii_strtoll (value, NULL, 10);
          break;
        }
      case 14: data_location = (gint64) f.value; break;
      case 3: return fail (r, QR_ENGINE_ERROR_UNSUPPORTED, "a tensor stored in segments"), NULL;
      default: break;
      }
  if (p->failed)
    return NULL;
  if (t->name == NULL)
    t->name = g_strdup ("");
  if (dims->len > QR_ONNX_MAX_RANK)
    return fail (r, QR_ENGINE_ERROR_UNSUPPORTED, "tensor %s has rank %u", t->name, dims->len), NULL;
  t->rank = (int) dims->len;
  for (guint i = 0; i < dims->len; i++)
    {
      gint64 d = g_array_index (dims, gint64, i);
      if (d < 0 || d > G_MAXINT || (d > 0 && n > MAX_ELEMENTS / (gsize) d))
        return fail (r, QR_ENGINE_ERROR_FORMAT, "tensor %s: dimension %" G_GINT64_FORMAT " out of range", t->name, d), NULL;
      t->dims[i] = (int) d;
      n *= (gsize) d;
    }
  t->n = n;
  width = type_size (t->data_type);
  if (width == 0)
    return fail (r, QR_ENGINE_ERROR_UNSUPPORTED, "tensor %s holds %s values", t->name, type_name (t->data_type)), NULL;
  if (data_location == 1)
    {
      if (!read_external (r, t->name, location, offset, length, n * width, &external))
        return NULL;
      raw = external;
      raw_len = n * width;
      has_raw = TRUE;
    }
  /* as many values stored as the dims say, before a buffer of that size is made (a few bytes
     cannot claim gigabytes) */
  {
    gsize stored = has_raw ? (raw_len == n * width ? n : raw_len / width + 1)
                   : t->data_type == T_FLOAT ? floats->len : t->data_type == T_DOUBLE ? doubles->len : ints->len;
    if (stored != n)
      return fail (r, QR_ENGINE_ERROR_FORMAT, "tensor %s: %" G_GSIZE_FORMAT " %s for %" G_GSIZE_FORMAT " %s values",
                   t->name, has_raw ? raw_len : stored, has_raw ? "bytes" : "values", n, type_name (t->data_type)), NULL;
  }
  t->data = g_new0 (float, MAX (n, 1));
  if (has_raw)
    {
      if (raw_len != n * width)
        return fail (r, QR_ENGINE_ERROR_FORMAT, "tensor %s: %" G_GSIZE_FORMAT " bytes of data for %" G_GSIZE_FORMAT
                     " %s values", t->name, raw_len, n, type_name (t->data_type)), NULL;
      convert_raw (t->data_type, raw, n, t->data);
    }
  else if (t->data_type == T_FLOAT)
    {
      if (floats->len != n)
        return fail (r, QR_ENGINE_ERROR_FORMAT, "tensor %s: %u values for %" G_GSIZE_FORMAT, t->name, floats->len, n), NULL;
      if (n > 0)
        memcpy (t->data, floats->data, n * sizeof (float));
    }
  else if (t->data_type == T_DOUBLE)
    {
      if (doubles->len != n)
        return fail (r, QR_ENGINE_ERROR_FORMAT, "tensor %s: %u values for %" G_GSIZE_FORMAT, t->name, doubles->len, n), NULL;
      for (gsize i = 0; i < n; i++)
        t->data[i] = (float) g_array_index (doubles, double, i);
    }
  else
    {
      if (ints->len != n || (!has_ints && n > 0))
        return fail (r, QR_ENGINE_ERROR_FORMAT, "tensor %s: %u values for %" G_GSIZE_FORMAT, t->name, ints->len, n), NULL;
      for (gsize i = 0; i < n; i++)
        {
          gint64 v = g_array_index (ints, gint64, i);
          switch (t->data_type)
            {
            case T_FLOAT16: t->data[i] = half_to_float ((guint16) v); break;
            case T_BFLOAT16: { guint32 b = (guint32) (v & 0xffff) << 16; float x; memcpy (&x, &b, 4); t->data[i] = x; break; }
            case T_UINT64: t->data[i] = clamp_int ((double) (guint64) v); break;
            default: t->data[i] = clamp_int ((double) v); break;
            }
        }
    }
  return g_steal_pointer (&t);
}

/* path mapped and the reader pointed at it (format names the file in messages); NULL with an
 * error naming path when it cannot be read. The mapping must outlive the reading. */
static GMappedFile *
map_file (Reader *r, const char *path, const char *format, GError **error)
{
  g_autoptr (GError) local = NULL;
  GMappedFile *mapped = g_mapped_file_new (path, FALSE, &local);

  if (mapped == NULL)
    {
      g_set_error (error, QR_ENGINE_ERROR, QR_ENGINE_ERROR_IO, "%s: %s", path, local->message);
      return NULL;
    }
  r->pb.data = (const guint8 *) g_mapped_file_get_contents (mapped);
  r->pb.size = g_mapped_file_get_length (mapped);
  r->pb.path = r->path = path;
  r->pb.format = format;
  r->pb.error = error;
  return mapped;
}

QrOnnxTensor *
qr_onnx_tensor_load (const char *path, GError **error)
{
  g_autofree char *dir = g_path_get_dirname (path);
  Reader r = { 0 };
  g_autoptr (GMappedFile) mapped = map_file (&r, path, "ONNX tensor", error);

  if (mapped == NULL)
    return NULL;
  r.dir = dir;
  return read_tensor (&r, qr_pb_root (&r.pb));
}

static Attr *
read_attr (Reader *r, QrPbMessage m)
{
  QrProtobuf *p = &r->pb;
  Attr *a = g_new0 (Attr, 1);
  QrPbField f;

  a->ints = g_array_new (FALSE, FALSE, sizeof (gint64));
  a->floats = g_array_new (FALSE, FALSE, sizeof (float));
  while (qr_pb_next (p, &m, &f))
    switch (f.number)
      {
      case 1: g_free (a->name); a->name = qr_pb_string (p, &f); break;
      case 20: a->type = (int) f.value; break;
      case 2: a->f = qr_pb_float (&f); break;
      case 3: a->i = (gint64) f.value; break;
      case 4: g_free (a->s); a->s = qr_pb_string (p, &f); break;
      case 5: a->t = f; a->has_t = TRUE; break;
      case 7: qr_pb_floats (p, &f, a->floats); break;
      case 8: qr_pb_ints (p, &f, a->ints); break;
      default: break;
      }
  if (a->name == NULL)
    a->name = g_strdup ("");
  return a;
}

static Node *
read_node (Reader *r, QrPbMessage m)
{
  QrProtobuf *p = &r->pb;
  Node *n = g_new0 (Node, 1);
  QrPbField f;

  n->inputs = g_ptr_array_new_with_free_func (g_free);
  n->outputs = g_ptr_array_new_with_free_func (g_free);
  n->attrs = g_ptr_array_new_with_free_func ((GDestroyNotify) attr_free);
  while (qr_pb_next (p, &m, &f))
    switch (f.number)
      {
      case 1: g_ptr_array_add (n->inputs, qr_pb_string (p, &f)); break;
      case 2: g_ptr_array_add (n->outputs, qr_pb_string (p, &f)); break;
      case 3: g_free (n->name); n->name = qr_pb_string (p, &f); break;
      case 4: g_free (n->op); n->op = qr_pb_string (p, &f); break;
      case 7: g_free (n->domain); n->domain = qr_pb_string (p, &f); break;
      case 5: g_ptr_array_add (n->attrs, read_attr (r, qr_pb_sub (&f))); break;
      default: break;
      }
  if (n->name == NULL)
    n->name = g_strdup ("");
  if (n->op == NULL)
    n->op = g_strdup ("");
  if (n->domain == NULL)
    n->domain = g_strdup ("");
  return n;
}

/* A graph input's declared type and shape (ValueInfoProto). */
typedef struct
{
  char *name;
  int   type;
  int   rank;
  int   dims[QR_ONNX_MAX_RANK];
} ValueInfo;

static void
value_info_free (ValueInfo *v)
{
  g_free (v->name);
  g_free (v);
}

static ValueInfo *
read_value_info (Reader *r, QrPbMessage m)
{
  QrProtobuf *p = &r->pb;
  ValueInfo *v = g_new0 (ValueInfo, 1);
  QrPbField f;

  while (qr_pb_next (p, &m, &f))
    if (f.number == 1)
      g_free (v->name), v->name = qr_pb_string (p, &f);
    else if (f.number == 2)
      {
        QrPbMessage type = qr_pb_sub (&f), tensor, shape;
        QrPbField g, h, d;
        while (qr_pb_next (p, &type, &g))
          if (g.number == 1)
            {
              tensor = qr_pb_sub (&g);
              while (qr_pb_next (p, &tensor, &h))
                if (h.number == 1)
                  v->type = (int) h.value;
                else if (h.number == 2)
                  {
                    shape = qr_pb_sub (&h);
                    v->rank = 0;
                    while (qr_pb_next (p, &shape, &d))
                      if (d.number == 1)
                        {
                          QrPbMessage dim = qr_pb_sub (&d);
                          QrPbField e;
                          gint64 value = -1;
                          while (qr_pb_next (p, &dim, &e))
                            if (e.number == 1 && e.wire == QR_PB_VARINT)
                              value = (gint64) e.value;
                          if (v->rank < QR_ONNX_MAX_RANK)
                            v->dims[v->rank] = value >= 0 && value <= G_MAXINT ? (int) value : -1;
                          v->rank++;
                        }
                  }
            }
      }
  if (v->name == NULL)
    v->name = g_strdup ("");
  return v;
}

/* ---- building the graph ------------------------------------------------------------------ */

static QrTensor *
T (Reader *r, int id)
{
  return qr_graph_tensor (r->graph, id);
}

static int
node_type (Reader *r, const char *name)
{
  return GPOINTER_TO_INT (g_hash_table_lookup (r->types, name));
}

static Attr *
attr (Reader *r, const char *name)
{
  for (guint i = 0; i < r->node->attrs->len; i++)
    {
      Attr *a = r->node->attrs->pdata[i];
      if (strcmp (a->name, name) == 0)
        {
          a->used = TRUE;
          return a;
        }
    }
  return NULL;
}

static gint64
attr_int (Reader *r, const char *name, gint64 fallback)
{
  Attr *a = attr (r, name);
  return a != NULL ? a->i : fallback;
}

static float
attr_float (Reader *r, const char *name, float fallback)
{
  Attr *a = attr (r, name);
  return a != NULL ? a->f : fallback;
}

static const char *
attr_string (Reader *r, const char *name, const char *fallback)
{
  Attr *a = attr (r, name);
  return a != NULL && a->s != NULL ? a->s : fallback;
}

/* An INTS attribute: its count (-1 when absent), values into out (at most max). */
static int
attr_ints (Reader *r, const char *name, gint64 *out, int max)
{
  Attr *a = attr (r, name);
  if (a == NULL)
    return -1;
  if ((int) a->ints->len > max)
    return fail (r, QR_ENGINE_ERROR_UNSUPPORTED, "attribute %s has %u values (at most %d)", name, a->ints->len, max),
           -2;
  for (guint i = 0; i < a->ints->len; i++)
    out[i] = g_array_index (a->ints, gint64, i);
  return (int) a->ints->len;
}

/* Input k of the node: its tensor, -1 when left out (absent or ""). */
static int
input (Reader *r, guint k)
{
  const char *name;
  int id;
  if (k >= r->node->inputs->len)
    return -1;
  name = r->node->inputs->pdata[k];
  if (name[0] == '\0')
    return -1;
  id = qr_graph_find_tensor (r->graph, name);
  if (id < 0)
    fail (r, QR_ENGINE_ERROR_FORMAT, "reads %s, which no node or initializer makes", name);
  return id < 0 ? -2 : id;
}

static int
need (Reader *r, guint k)
{
  int id = input (r, k);
  if (id == -1)
    fail (r, QR_ENGINE_ERROR_FORMAT, "input %u is needed", k);
  return id;
}

static gboolean
is_const (Reader *r, int id)
{
  return id >= 0 && T (r, id)->is_const;
}

/* A constant input's values as integers: their count, -1 when not constant. */
static int
const_ints (Reader *r, int id, gint64 *out, int max)
{
  QrTensor *t;
  gsize n;
  if (id < 0 || !(t = T (r, id))->is_const)
    return -1;
  n = qr_shape_size (&t->shape);
  if (n > (gsize) max)
    return -1;
  for (gsize i = 0; i < n; i++)
    out[i] = (gint64) t->data[i];
  return (int) n;
}

/* The tensor for output k, made new; its type is recorded. */
static int
output (Reader *r, guint k, int type)
{
  const char *name = r->node->outputs->pdata[k];
  if (qr_graph_find_tensor (r->graph, name) >= 0)
    return fail (r, QR_ENGINE_ERROR_FORMAT, "writes %s, which is written before", name), -1;
  g_hash_table_insert (r->types, g_strdup (name), GINT_TO_POINTER (type));
  return qr_graph_add_tensor (r->graph, name);
}

/* A tensor of the node's own, named after its first output. */
static int
temp (Reader *r, const char *suffix)
{
  g_autofree char *name = g_strdup_printf ("%s/%s/%u", (char *) r->node->outputs->pdata[0], suffix,
                                           r->graph->tensors->len);
  return qr_graph_add_tensor (r->graph, name);
}

static int
const_tensor (Reader *r, const char *suffix, int rank, const int *dims, const float *values)
{
  g_autofree char *name = g_strdup_printf ("%s/%s/%u", r->node != NULL ? (char *) r->node->outputs->pdata[0]
                                           : "input", suffix, r->graph->tensors->len);
  QrShape s = { .rank = rank };
  if (rank > 0)
    memcpy (s.dims, dims, sizeof (int) * (gsize) rank);
  return qr_graph_add_const (r->graph, name, rank, dims, g_memdup2 (values, MAX (qr_shape_size (&s), 1) * sizeof (float)));
}

static int
const_vector (Reader *r, const char *suffix, int n, const int *values)
{
  float v[QR_MAX_RANK * 2 + 8] = { 0 };
  int dims[1] = { n };
  for (int i = 0; i < n; i++)
    v[i] = (float) values[i];
  return const_tensor (r, suffix, 1, dims, v);
}

static int
const_scalar (Reader *r, const char *suffix, float value)
{
  return const_tensor (r, suffix, 0, NULL, &value);
}

/* A node of the graph writing tensor out; the pointer lives until the next node is added. */
static QrNode *
add (Reader *r, QrOpType op, int out, int in0, int in1)
{
  QrNode *node = qr_graph_add_node (r->graph, op, T (r, out)->name);
  node->source_op = g_strdup (r->node != NULL ? r->node->op : "input");
  node->outputs[node->n_outputs++] = out;
  T (r, out)->producer = (int) r->graph->nodes->len - 1;
  node->alpha = 0;
  if (in0 >= 0)
    node->inputs[node->n_inputs++] = in0;
  if (in1 >= 0)
    node->inputs[node->n_inputs++] = in1;
  return node;
}

/* The last node added: shapes inferred for the import's batch, folded when its inputs are all
 * constants. */
static gboolean
settle (Reader *r)
{
  QrNode *node = qr_graph_node (r->graph, (int) r->graph->nodes->len - 1);
  gboolean all_const = node->n_inputs > 0;
  GError **error = r->pb.error;

  if (r->pb.failed)
    return FALSE;
  for (int i = 0; i < node->n_inputs; i++)
    all_const &= T (r, node->inputs[i])->is_const;
  if (!qr_graph_infer_shapes_node (r->graph, node, r->batch, error)
      || (all_const && !qr_graph_fold_node (r->graph, node, r->batch, error)))
    {
      r->pb.failed = TRUE;
      return FALSE;
    }
  return TRUE;
}

static QrShape *
shape (Reader *r, int id)
{
  return &T (r, id)->shape;
}

/* Tensors of rank 5 and more whose leading dimensions are 1 (YOLOv5's head: [1, 3, H, W, 85])
 * are held by the engine without those ones, at rank 4; lead_of counts the ones left out. The ops
 * that accept such a tensor account for them (elementwise ops, Transpose keeping them in front,
 * Reshape, Squeeze, Unsqueeze, Flatten, Concat, Split, Slice, Shape); any other op refuses it.
 * The batch being one of those ones, such a graph runs one image at a time (its fixed batch is 1). */
static int
lead_of (Reader *r, int id)
{
  return r->lead != NULL && id >= 0 && (guint) id < r->lead->len ? g_array_index (r->lead, guint8, id) : 0;
}

static void
set_lead (Reader *r, int id, int n)
{
  if (n == 0 && lead_of (r, id) == 0)
    return;
  if ((guint) id >= r->lead->len)
    g_array_set_size (r->lead, (guint) id + 1);
  g_array_index (r->lead, guint8, id) = (guint8) n;
  r->dropped |= n > 0;
}

static int
onnx_rank (Reader *r, int id)
{
  return shape (r, id)->rank + lead_of (r, id);
}

/* The tensor's dims as the ONNX graph sees them (the left-out ones in front); its rank. */
static int
onnx_dims (Reader *r, int id, int *dims)
{
  int lead = lead_of (r, id), rank = shape (r, id)->rank;
  for (int d = 0; d < lead; d++)
    dims[d] = 1;
  for (int d = 0; d < rank; d++)
    dims[lead + d] = shape (r, id)->dims[d];
  return lead + rank;
}

/* dims of a rank over the engine's: the leading ones beyond it left out (their count in *lead);
 * FALSE, said, when they are not ones. */
static gboolean
strip_lead (Reader *r, int *rank, int *dims, int *lead, const char *what)
{
  *lead = MAX (*rank - QR_MAX_RANK, 0);
  for (int d = 0; d < *lead; d++)
    if (dims[d] != 1)
      return fail (r, QR_ENGINE_ERROR_UNSUPPORTED, "%s of rank %d whose dimension %d is %d (the engine holds rank 4; "
                   "a higher rank only when its leading dimensions are 1)", what, *rank, d, dims[d]);
  if (*lead > 0)
    {
      memmove (dims, dims + *lead, sizeof (int) * QR_MAX_RANK);
      *rank = QR_MAX_RANK;
    }
  return TRUE;
}

/* One node: x → op → out, settled. */
static gboolean
add1 (Reader *r, QrOpType op, int out, int x)
{
  add (r, op, out, x, -1);
  return settle (r);
}

static gboolean
activation (Reader *r, int out, int x, QrActivation act, float alpha, float beta)
{
  QrNode *node = add (r, QR_OP_ACTIVATION, out, x, -1);
  node->act = act;
  node->alpha = alpha;
  node->beta = beta;
  return settle (r);
}

static gboolean
transpose (Reader *r, int out, int x, int rank, const int *perm)
{
  add (r, QR_OP_TRANSPOSE, out, x, const_vector (r, "perm", rank, perm));
  return settle (r);
}

/* Reshape to known dims; a first dimension equal to the input's is written as 0 ("as the
 * input's"), so that a batch of another size keeps flowing through. */
static gboolean
reshape_to (Reader *r, int out, int x, int rank, const int *dims)
{
  int v[QR_ONNX_MAX_RANK], lead;
  if (rank > QR_ONNX_MAX_RANK)
    return fail (r, QR_ENGINE_ERROR_UNSUPPORTED, "a rank-%d result", rank);
  if (rank > 0)
    memcpy (v, dims, sizeof (int) * (gsize) rank);
  if (!strip_lead (r, &rank, v, &lead, "a result"))
    return FALSE;
  if (rank > 0 && shape (r, x)->rank > 0 && v[0] == shape (r, x)->dims[0] && !is_const (r, x) && lead == 0
      && lead_of (r, x) == 0)
    v[0] = 0;
  add (r, QR_OP_RESHAPE, out, x, const_vector (r, "shape", rank, v));
  if (!settle (r))
    return FALSE;
  set_lead (r, out, lead);
  return TRUE;
}

static const int TO_NHWC[4] = { 0, 2, 3, 1 }, TO_NCHW[4] = { 0, 3, 1, 2 };

/* x (NCHW) as NHWC. */
static int
nhwc (Reader *r, int x)
{
  int t = temp (r, "nhwc");
  return transpose (r, t, x, 4, TO_NHWC) ? t : -1;
}

static gboolean
check_attrs (Reader *r)
{
  for (guint i = 0; i < r->node->attrs->len; i++)
    {
      Attr *a = r->node->attrs->pdata[i];
      if (!a->used)
        return fail (r, QR_ENGINE_ERROR_UNSUPPORTED, "attribute %s is not supported", a->name);
    }
  return TRUE;
}

/* ---- the ops ----------------------------------------------------------------------------- */

typedef gboolean (*OpFunc) (Reader *r);

static int
in_type (Reader *r, guint k)
{
  return k < r->node->inputs->len ? node_type (r, r->node->inputs->pdata[k]) : T_UNDEFINED;
}

/* Element-wise computation is float computation: integer values of the graph's own are refused
 * (constants are folded exactly). */
static gboolean
float_values (Reader *r, int x)
{
  int t = in_type (r, 0);
  if (!is_float_type (t) && t != T_UNDEFINED && !is_const (r, x))
    return fail (r, QR_ENGINE_ERROR_UNSUPPORTED, "%s arithmetic on values that are not constant (the engine "
                 "computes in float32)", type_name (t));
  return TRUE;
}

static gboolean
op_unary (Reader *r)
{
  static const struct { const char *name; QrActivation act; } table[] = {
    { "Relu", QR_ACT_RELU }, { "Sigmoid", QR_ACT_SIGMOID }, { "Tanh", QR_ACT_TANH }, { "Exp", QR_ACT_EXP },
    { "Log", QR_ACT_LOG }, { "Sqrt", QR_ACT_SQRT }, { "Erf", QR_ACT_ERF }, { "Neg", QR_ACT_NEG },
    { "Abs", QR_ACT_ABS }, { "Reciprocal", QR_ACT_RECIPROCAL }, { "HardSwish", QR_ACT_HARD_SWISH },
    { "LeakyRelu", QR_ACT_LEAKY_RELU }, { "HardSigmoid", QR_ACT_HARD_SIGMOID }, { "Floor", QR_ACT_FLOOR },
    { "Ceil", QR_ACT_CEIL }, { "Round", QR_ACT_ROUND },
  };
  int x = need (r, 0), out;
  QrActivation act = QR_ACT_NONE;
  float alpha = 0, beta = 0;

  for (guint i = 0; i < G_N_ELEMENTS (table); i++)
    if (strcmp (r->node->op, table[i].name) == 0)
      act = table[i].act;
  if (act == QR_ACT_LEAKY_RELU)
    alpha = attr_float (r, "alpha", 0.01f);
  else if (act == QR_ACT_HARD_SIGMOID)
    alpha = attr_float (r, "alpha", 0.2f), beta = attr_float (r, "beta", 0.5f);
  else if (act == QR_ACT_HARD_SWISH)
    alpha = 1.0f / 6.0f;
  if (x < 0 || !check_attrs (r) || !float_values (r, x) || (out = output (r, 0, in_type (r, 0))) < 0)
    return FALSE;
  return activation (r, out, x, act, alpha, beta);
}

static gboolean
op_clip (Reader *r)
{
  int x = need (r, 0), lo = input (r, 1), hi = input (r, 2), out;
  float alpha = -INFINITY, beta = INFINITY;
  if (r->opset < 11)
    {
      /* the bounds were attributes before opset 11 */
      alpha = attr_float (r, "min", -INFINITY);
      beta = attr_float (r, "max", INFINITY);
      lo = hi = -1;
    }
  if (x < 0 || lo == -2 || hi == -2 || !check_attrs (r) || !float_values (r, x))
    return FALSE;
  if ((lo >= 0 && (!is_const (r, lo) || qr_shape_size (shape (r, lo)) != 1))
      || (hi >= 0 && (!is_const (r, hi) || qr_shape_size (shape (r, hi)) != 1)))
    return fail (r, QR_ENGINE_ERROR_UNSUPPORTED, "bounds that are not constant scalars");
  if (lo >= 0)
    alpha = T (r, lo)->data[0];
  if (hi >= 0)
    beta = T (r, hi)->data[0];
  if ((out = output (r, 0, in_type (r, 0))) < 0)
    return FALSE;
  return activation (r, out, x, QR_ACT_CLIP, alpha, beta);
}

static gboolean
op_binary (Reader *r)
{
  static const struct { const char *name; QrOpType op; } table[] = {
    { "Add", QR_OP_ADD }, { "Sub", QR_OP_SUB }, { "Mul", QR_OP_MUL }, { "Div", QR_OP_DIV }, { "Pow", QR_OP_POW },
    { "Max", QR_OP_MAXIMUM }, { "Min", QR_OP_MINIMUM }, { "Sum", QR_OP_ADD },
  };
  QrOpType op = QR_OP_ADD;
  guint n = r->node->inputs->len;
  int acc, out;
  gboolean variadic = strcmp (r->node->op, "Max") == 0 || strcmp (r->node->op, "Min") == 0
                      || strcmp (r->node->op, "Sum") == 0;

  for (guint i = 0; i < G_N_ELEMENTS (table); i++)
    if (strcmp (r->node->op, table[i].name) == 0)
      op = table[i].op;
  if (!check_attrs (r))
    return FALSE;
  if (n < 1 || (!variadic && n != 2))
    return fail (r, QR_ENGINE_ERROR_FORMAT, "%u inputs", n);
  for (guint k = 0; k < n; k++)
    {
      int x = need (r, k), t = in_type (r, k);
      if (x < 0)
        return FALSE;
      /* index arithmetic (int32, int64: adding, subtracting, multiplying positions) is exact in
         float32 below 2^24, and so are whole powers once rounded (below); other integers'
         arithmetic wraps, and division truncates */
      if (!is_float_type (t) && t != T_UNDEFINED && !is_const (r, x)
          && !((t == T_INT64 || t == T_INT32) && (op == QR_OP_ADD || op == QR_OP_SUB || op == QR_OP_MUL
                                                  || op == QR_OP_MAXIMUM || op == QR_OP_MINIMUM || op == QR_OP_POW)))
        return fail (r, QR_ENGINE_ERROR_UNSUPPORTED, "%s arithmetic on values that are not constant (the engine "
                     "computes in float32)", type_name (t));
      /* integer division of constants (shape arithmetic): the float quotient truncated below */
      if (op == QR_OP_DIV && !is_float_type (t) && t != T_UNDEFINED)
        {
          const QrTensor *divisor = T (r, x);
          for (gsize i = 0; k == 1 && i < qr_shape_size (&divisor->shape); i++)
            if (divisor->data[i] == 0)
              return fail (r, QR_ENGINE_ERROR_FORMAT, "an integer division by zero");
        }
    }
  if ((out = output (r, 0, in_type (r, 0))) < 0)
    return FALSE;
  if (n == 1)
    return add1 (r, QR_OP_IDENTITY, out, need (r, 0));
  /* an integer power of the graph's values: powf's result (within an ulp or two of the whole
     number, on the CPU and on CUDA) rounded back to it */
  if (op == QR_OP_POW && (in_type (r, 0) == T_INT64 || in_type (r, 0) == T_INT32)
      && !(is_const (r, need (r, 0)) && is_const (r, need (r, 1))))
    {
      int power = temp (r, "power");
      add (r, QR_OP_POW, power, need (r, 0), need (r, 1));
      if (!settle (r))
        return FALSE;
      return activation (r, out, power, QR_ACT_ROUND, 0, 0);
    }
  acc = need (r, 0);
  for (guint k = 1; k < n; k++)
    {
      int dst = k + 1 == n ? out : temp (r, "partial");
      add (r, op, dst, acc, need (r, k));
      if (!settle (r))
        return FALSE;
      acc = dst;
    }
  if (op == QR_OP_DIV && !is_float_type (in_type (r, 0)) && in_type (r, 0) != T_UNDEFINED && is_const (r, out))
    {
      QrTensor *q = T (r, out);
      for (gsize i = 0; i < qr_shape_size (&q->shape); i++)
        q->data[i] = truncf (q->data[i]);
    }
  return TRUE;
}

static gboolean
op_identity (Reader *r)
{
  int x = need (r, 0), out;
  if (strcmp (r->node->op, "Dropout") == 0)
    {
      /* inference: the input as it is; seed, ratio and training mode do not matter unless the
         training mode is a constant true */
      int mode = input (r, 2);
      attr (r, "seed");
      attr (r, "ratio");
      if (mode >= 0 && (!is_const (r, mode) || T (r, mode)->data[0] != 0))
        return fail (r, QR_ENGINE_ERROR_UNSUPPORTED, "dropout in training mode");
    }
  if (x < 0 || !check_attrs (r) || (out = output (r, 0, in_type (r, 0))) < 0 || !add1 (r, QR_OP_IDENTITY, out, x))
    return FALSE;
  if (r->node->outputs->len > 1 && ((char *) r->node->outputs->pdata[1])[0])
    {
      /* outside training nothing is dropped: the mask is all true */
      int mask = output (r, 1, T_BOOL);
      QrTensor *m;
      if (mask < 0)
        return FALSE;
      m = T (r, mask);
      m->is_const = TRUE;
      m->shape = *shape (r, x);
      m->data = g_new (float, MAX (qr_shape_size (&m->shape), 1));
      for (gsize i = 0; i < qr_shape_size (&m->shape); i++)
        m->data[i] = 1.0f;
    }
  return TRUE;
}

static gboolean
op_cast (Reader *r)
{
  int x = need (r, 0), to = (int) attr_int (r, "to", T_FLOAT), from = in_type (r, 0), out;
  if (x < 0 || !check_attrs (r))
    return FALSE;
  if (type_size (to) == 0)
    return fail (r, QR_ENGINE_ERROR_UNSUPPORTED, "a cast to %s", type_name (to));
  if ((out = output (r, 0, to)) < 0 || !add1 (r, QR_OP_IDENTITY, out, x))
    return FALSE;
  if (to == T_BFLOAT16 && !is_const (r, out))
    return fail (r, QR_ENGINE_ERROR_UNSUPPORTED, "a cast to bfloat16 of values that are not constant (the engine "
                 "computes in float32, and bfloat16's rounding is coarser than the answers allow)");
  if (is_float_type (to) && to != T_FLOAT && !is_const (r, out))
    return TRUE;   /* computed in float32, within float16's precision of a float16 result */
  if (!is_float_type (to) && is_float_type (from))
    {
      QrTensor *t = T (r, out);
      if (!t->is_const)
        return fail (r, QR_ENGINE_ERROR_UNSUPPORTED, "a cast of values that are not constant from %s to %s",
                     type_name (from), type_name (to));
      for (gsize i = 0, n = qr_shape_size (&t->shape); i < n; i++)
        t->data[i] = to == T_BOOL ? (t->data[i] != 0) : clamp_int (truncf (t->data[i]));
    }
  else if (to == T_BOOL && is_const (r, out))
    {
      QrTensor *t = T (r, out);
      for (gsize i = 0, n = qr_shape_size (&t->shape); i < n; i++)
        t->data[i] = t->data[i] != 0;
    }
  else if (!is_float_type (to) && to != T_INT64 && to != T_INT32 && !is_const (r, out))
    return fail (r, QR_ENGINE_ERROR_UNSUPPORTED, "a cast of values that are not constant to %s", type_name (to));
  return TRUE;
}

static gboolean
op_constant (Reader *r)
{
  Attr *value = attr (r, "value"), *f = attr (r, "value_float"), *i = attr (r, "value_int"),
       *fs = attr (r, "value_floats"), *is = attr (r, "value_ints");
  g_autoptr (QrOnnxTensor) t = NULL;
  int out, type = T_FLOAT;

  if (!check_attrs (r))
    return FALSE;
  if (value != NULL && value->has_t)
    {
      if ((t = read_tensor (r, qr_pb_sub (&value->t))) == NULL)
        return FALSE;
      type = t->data_type;
    }
  else if (f != NULL || i != NULL)
    {
      t = g_new0 (QrOnnxTensor, 1);
      t->n = 1;
      t->data = g_new (float, 1);
      t->data[0] = f != NULL ? f->f : clamp_int ((double) i->i);
      type = f != NULL ? T_FLOAT : T_INT64;
    }
  else if (fs != NULL || is != NULL)
    {
      GArray *a = fs != NULL ? fs->floats : is->ints;
      t = g_new0 (QrOnnxTensor, 1);
      t->rank = 1;
      t->dims[0] = (int) a->len;
      t->n = a->len;
      t->data = g_new (float, MAX (a->len, 1));
      for (guint k = 0; k < a->len; k++)
        t->data[k] = fs != NULL ? g_array_index (a, float, k) : clamp_int ((double) g_array_index (a, gint64, k));
      type = fs != NULL ? T_FLOAT : T_INT64;
    }
  else
    return fail (r, QR_ENGINE_ERROR_UNSUPPORTED, "a constant without a value or with a sparse or string value");
  {
    int rank = t->rank, dims[QR_ONNX_MAX_RANK], lead;
    memcpy (dims, t->dims, sizeof (int) * (gsize) rank);
    if (!strip_lead (r, &rank, dims, &lead, "a constant") || (out = output (r, 0, type)) < 0)
      return FALSE;
    QrTensor *o = T (r, out);
    o->is_const = TRUE;
    o->shape.rank = rank;
    memcpy (o->shape.dims, dims, sizeof (int) * (gsize) rank);
    o->data = g_steal_pointer (&t->data);
    set_lead (r, out, lead);
  }
  return TRUE;
}

static gboolean
op_shape (Reader *r)
{
  int x = need (r, 0), out, rank, start, end, all[QR_ONNX_MAX_RANK];
  float v[QR_ONNX_MAX_RANK];
  int dims[1];
  if (x < 0)
    return FALSE;
  rank = onnx_dims (r, x, all);
  start = (int) attr_int (r, "start", 0);
  end = (int) attr_int (r, "end", rank);
  if (!check_attrs (r) || (out = output (r, 0, T_INT64)) < 0)
    return FALSE;
  if (start < 0)
    start += rank;
  if (end < 0)
    end += rank;
  start = CLAMP (start, 0, rank);
  end = CLAMP (end, 0, rank);
  dims[0] = MAX (end - start, 0);
  for (int d = start; d < end; d++)
    v[d - start] = (float) all[d];
  {
    QrTensor *o = T (r, out);
    o->is_const = TRUE;
    o->shape.rank = 1;
    o->shape.dims[0] = dims[0];
    o->data = g_memdup2 (v, sizeof (float) * (gsize) MAX (dims[0], 1));
  }
  return TRUE;
}

static gboolean
op_constant_of_shape (Reader *r)
{
  Attr *value = attr (r, "value");
  int x = need (r, 0), out, type = T_FLOAT, n;
  gint64 dims64[QR_MAX_RANK + 1] = { 0 };
  float fill = 0;
  gsize total = 1;

  if (x < 0 || !check_attrs (r))
    return FALSE;
  if (value != NULL && value->has_t)
    {
      g_autoptr (QrOnnxTensor) t = read_tensor (r, qr_pb_sub (&value->t));
      if (t == NULL)
        return FALSE;
      if (t->n != 1)
        return fail (r, QR_ENGINE_ERROR_FORMAT, "the value holds %" G_GSIZE_FORMAT " numbers, not one", t->n);
      fill = t->data[0];
      type = t->data_type;
    }
  n = const_ints (r, x, dims64, QR_MAX_RANK + 1);
  if (n < 0 || n > QR_MAX_RANK)
    return fail (r, QR_ENGINE_ERROR_UNSUPPORTED, "a shape that is not constant or of rank over 4");
  if ((out = output (r, 0, type)) < 0)
    return FALSE;
  {
    QrTensor *o = T (r, out);
    o->shape.rank = n;
    for (int d = 0; d < n; d++)
      {
        if (dims64[d] < 0 || dims64[d] > (1 << 24) || (total *= (gsize) MAX (dims64[d], 1)) > ((gsize) 1 << 28))
          return fail (r, QR_ENGINE_ERROR_FORMAT, "shape dimension %" G_GINT64_FORMAT " out of range", dims64[d]);
        o->shape.dims[d] = (int) dims64[d];
      }
    o->is_const = TRUE;
    o->data = g_new (float, MAX (qr_shape_size (&o->shape), 1));
    for (gsize i = 0; i < qr_shape_size (&o->shape); i++)
      o->data[i] = fill;
  }
  return TRUE;
}

static gboolean
op_transpose (Reader *r)
{
  int x = need (r, 0), out, perm[QR_ONNX_MAX_RANK] = { 0 }, rank, n, lead;
  gint64 p[QR_ONNX_MAX_RANK];
  if (x < 0)
    return FALSE;
  rank = onnx_rank (r, x);
  lead = lead_of (r, x);
  n = attr_ints (r, "perm", p, QR_ONNX_MAX_RANK);
  if (n == -2 || !check_attrs (r) || (out = output (r, 0, in_type (r, 0))) < 0)
    return FALSE;
  if (n >= 0 && n != rank)
    return fail (r, QR_ENGINE_ERROR_FORMAT, "a permutation of %d axes for rank %d", n, rank);
  for (int d = 0; d < rank; d++)
    {
      perm[d] = n >= 0 ? (int) p[d] : rank - 1 - d;
      if (perm[d] < 0 || perm[d] >= rank)
        return fail (r, QR_ENGINE_ERROR_FORMAT, "permutation axis %d for rank %d", perm[d], rank);
      for (int e = 0; e < d; e++)
        if (perm[e] == perm[d])
          return fail (r, QR_ENGINE_ERROR_FORMAT, "axis %d twice in the permutation", perm[d]);
    }
  /* the left-out leading ones must stay where they are */
  for (int d = 0; d < lead; d++)
    if (perm[d] != d)
      return fail (r, QR_ENGINE_ERROR_UNSUPPORTED, "a permutation of a rank-%d tensor moving its axis %d (the engine "
                   "holds rank 4)", rank, d);
  for (int d = lead; d < rank; d++)
    perm[d - lead] = perm[d] - lead;
  if (!transpose (r, out, x, rank - lead, perm))
    return FALSE;
  set_lead (r, out, lead);
  return TRUE;
}

/* Axes of an attribute (before opset 13) or an input (13 and after): their count, -1 when
 * absent; negative axes resolved against rank. */
static int
axes_of (Reader *r, guint input_k, int rank, int *axes)
{
  gint64 v[QR_ONNX_MAX_RANK];
  int n;
  if (r->opset >= 13 && input_k < r->node->inputs->len && input (r, input_k) >= 0)
    {
      n = const_ints (r, input (r, input_k), v, QR_ONNX_MAX_RANK);
      if (n < 0)
        return fail (r, QR_ENGINE_ERROR_UNSUPPORTED, "axes that are not constant"), -2;
    }
  else
    {
      n = attr_ints (r, "axes", v, QR_ONNX_MAX_RANK);
      if (n == -2)
        return -2;
      if (n < 0)
        return -1;
    }
  for (int i = 0; i < n; i++)
    {
      if (v[i] < -rank || v[i] >= rank)
        return fail (r, QR_ENGINE_ERROR_FORMAT, "axis %" G_GINT64_FORMAT " for rank %d", v[i], rank), -2;
      axes[i] = (int) (v[i] < 0 ? v[i] + rank : v[i]);
      for (int j = 0; j < i; j++)
        if (axes[j] == axes[i])
          return fail (r, QR_ENGINE_ERROR_FORMAT, "axis %d twice", axes[i]), -2;
    }
  return n;
}

static gboolean
op_reshape_like (Reader *r)
{
  const char *op = r->node->op;
  int x = need (r, 0), out, rank, dims[QR_ONNX_MAX_RANK], n = 0;
  struct { int dims[QR_ONNX_MAX_RANK]; } onnx_in, *in = &onnx_in;

  if (x < 0)
    return FALSE;
  rank = onnx_dims (r, x, in->dims);
  if (strcmp (op, "Flatten") == 0)
    {
      int axis = (int) attr_int (r, "axis", 1);
      gsize a = 1, b = 1;
      if (axis < -rank || axis > rank)
        return fail (r, QR_ENGINE_ERROR_FORMAT, "axis %d for rank %d", axis, rank);
      if (axis < 0)
        axis += rank;
      for (int d = 0; d < rank; d++)
        *(d < axis ? &a : &b) *= (gsize) in->dims[d];
      dims[0] = (int) a;
      dims[1] = (int) b;
      n = 2;
    }
  else if (strcmp (op, "Squeeze") == 0)
    {
      int axes[QR_ONNX_MAX_RANK], k = axes_of (r, 1, rank, axes);
      if (k == -2)
        return FALSE;
      for (int d = 0; d < rank; d++)
        {
          gboolean listed = FALSE;
          for (int i = 0; i < k; i++)
            listed |= axes[i] == d;
          if (listed && in->dims[d] != 1)
            return fail (r, QR_ENGINE_ERROR_FORMAT, "squeezing axis %d of size %d", d, in->dims[d]);
          if ((k < 0 && in->dims[d] == 1) || listed)
            continue;
          dims[n++] = in->dims[d];
        }
    }
  else if (strcmp (op, "Unsqueeze") == 0)
    {
      int axes[QR_ONNX_MAX_RANK], k, out_rank, src = 0;
      gint64 v[QR_ONNX_MAX_RANK];
      /* the axes count against the output's rank */
      if (r->opset >= 13)
        k = const_ints (r, input (r, 1), v, QR_ONNX_MAX_RANK);
      else
        k = attr_ints (r, "axes", v, QR_ONNX_MAX_RANK);
      if (k < 0)
        return fail (r, QR_ENGINE_ERROR_UNSUPPORTED, "axes that are absent or not constant");
      out_rank = rank + k;
      if (out_rank > QR_ONNX_MAX_RANK)
        return fail (r, QR_ENGINE_ERROR_UNSUPPORTED, "a rank-%d result", out_rank);
      for (int i = 0; i < k; i++)
        {
          if (v[i] < -out_rank || v[i] >= out_rank)
            return fail (r, QR_ENGINE_ERROR_FORMAT, "axis %" G_GINT64_FORMAT " for rank %d", v[i], out_rank);
          axes[i] = (int) (v[i] < 0 ? v[i] + out_rank : v[i]);
          for (int j = 0; j < i; j++)
            if (axes[j] == axes[i])
              return fail (r, QR_ENGINE_ERROR_FORMAT, "axis %d twice", axes[i]);
        }
      for (int d = 0; d < out_rank; d++)
        {
          gboolean listed = FALSE;
          for (int i = 0; i < k; i++)
            listed |= axes[i] == d;
          dims[d] = listed ? 1 : in->dims[src++];
        }
      n = out_rank;
    }
  else /* Reshape */
    {
      gint64 v[QR_ONNX_MAX_RANK + 1];
      gboolean allow_zero = attr_int (r, "allowzero", 0) != 0;
      int s = need (r, 1), unknown = -1;
      gsize total = qr_shape_size (shape (r, x)), known = 1;
      if (s < 0)
        return FALSE;
      n = const_ints (r, s, v, QR_ONNX_MAX_RANK + 1);
      if (n < 0 || n > QR_ONNX_MAX_RANK)
        return fail (r, QR_ENGINE_ERROR_UNSUPPORTED, "a shape that is not constant");
      for (int d = 0; d < n; d++)
        {
          if (v[d] == 0 && !allow_zero)
            {
              if (d >= rank)
                return fail (r, QR_ENGINE_ERROR_FORMAT, "0 (copy) at axis %d of a rank-%d input", d, rank);
              dims[d] = in->dims[d];
            }
          else if (v[d] == -1)
            {
              if (unknown >= 0)
                return fail (r, QR_ENGINE_ERROR_FORMAT, "two -1 in the shape");
              unknown = d;
              continue;
            }
          else if (v[d] < 0 || v[d] > G_MAXINT)
            return fail (r, QR_ENGINE_ERROR_FORMAT, "dimension %" G_GINT64_FORMAT, v[d]);
          else
            dims[d] = (int) v[d];
          known *= (gsize) dims[d];
        }
      if (unknown >= 0)
        {
          if (known == 0 || total % known != 0)
            return fail (r, QR_ENGINE_ERROR_FORMAT, "the shape does not divide %" G_GSIZE_FORMAT " elements", total);
          dims[unknown] = (int) (total / known);
          known *= (gsize) dims[unknown];
        }
      if (known != total)
        return fail (r, QR_ENGINE_ERROR_FORMAT, "the shape holds %" G_GSIZE_FORMAT " elements, the input %" G_GSIZE_FORMAT,
                     known, total);
    }
  if (!check_attrs (r) || (out = output (r, 0, in_type (r, 0))) < 0)
    return FALSE;
  return reshape_to (r, out, x, n, dims);
}

static gboolean
op_concat (Reader *r)
{
  guint n = r->node->inputs->len;
  int axis = (int) attr_int (r, "axis", G_MININT), out, rank, lead;
  QrNode *node;
  int ins[QR_MAX_INPUTS];
  guint used = 0;

  if (!check_attrs (r))
    return FALSE;
  if (axis == G_MININT)
    return fail (r, QR_ENGINE_ERROR_FORMAT, "no axis");
  if (n < 1)
    return fail (r, QR_ENGINE_ERROR_FORMAT, "no inputs");
  for (guint k = 0; k < n; k++)
    {
      int x = need (r, k);
      if (x < 0)
        return FALSE;
      /* empty tensors add nothing */
      if (qr_shape_size (shape (r, x)) == 0 && n > 1)
        continue;
      if (used == QR_MAX_INPUTS - 1)
        return fail (r, QR_ENGINE_ERROR_UNSUPPORTED, "%u inputs (at most %d)", n, QR_MAX_INPUTS - 1);
      ins[used++] = x;
    }
  if (used == 0)
    ins[used++] = need (r, 0);
  rank = onnx_rank (r, ins[0]);
  lead = lead_of (r, ins[0]);
  if (axis < -rank || axis >= rank)
    return fail (r, QR_ENGINE_ERROR_FORMAT, "axis %d for rank %d", axis, rank);
  for (guint k = 1; k < used; k++)
    if (onnx_rank (r, ins[k]) != rank || lead_of (r, ins[k]) != lead)
      return fail (r, QR_ENGINE_ERROR_FORMAT, "inputs of ranks %d and %d", rank, onnx_rank (r, ins[k]));
  if (axis < 0)
    axis += rank;
  if (axis < lead)
    return fail (r, QR_ENGINE_ERROR_UNSUPPORTED, "concatenating a rank-%d tensor along its axis %d (the engine "
                 "holds rank 4)", rank, axis);
  if ((out = output (r, 0, in_type (r, 0))) < 0)
    return FALSE;
  node = add (r, QR_OP_CONCAT, out, -1, -1);
  for (guint k = 0; k < used; k++)
    node->inputs[node->n_inputs++] = ins[k];
  {
    int a = axis - lead;
    int c = const_vector (r, "axis", 1, &a);
    node = qr_graph_node (r->graph, T (r, out)->producer);
    node->inputs[node->n_inputs++] = c;
  }
  if (!settle (r))
    return FALSE;
  set_lead (r, out, lead);
  return TRUE;
}

static gboolean
op_split (Reader *r)
{
  int x = need (r, 0), axis = (int) attr_int (r, "axis", 0), rank, sizes[QR_MAX_OUTPUTS], n_out, lead;
  gint64 v[QR_MAX_OUTPUTS + 1];
  int k;
  QrNode *node;
  int outs[QR_MAX_OUTPUTS];

  if (x < 0)
    return FALSE;
  rank = onnx_rank (r, x);
  lead = lead_of (r, x);
  n_out = (int) r->node->outputs->len;
  if (n_out < 1 || n_out > QR_MAX_OUTPUTS)
    return fail (r, QR_ENGINE_ERROR_UNSUPPORTED, "%d outputs (at most %d)", n_out, QR_MAX_OUTPUTS);
  if (axis < -rank || axis >= rank)
    return fail (r, QR_ENGINE_ERROR_FORMAT, "axis %d for rank %d", axis, rank);
  if (axis < 0)
    axis += rank;
  if (axis < lead)
    return fail (r, QR_ENGINE_ERROR_UNSUPPORTED, "splitting a rank-%d tensor along its axis %d (the engine holds "
                 "rank 4)", rank, axis);
  axis -= lead;   /* the engine's axis from here on */
  if (r->opset >= 13)
    k = input (r, 1) >= 0 ? const_ints (r, input (r, 1), v, QR_MAX_OUTPUTS + 1) : -1;
  else
    k = attr_ints (r, "split", v, QR_MAX_OUTPUTS + 1);
  if (k == -2 || !check_attrs (r))
    return FALSE;
  if (r->opset >= 13 && input (r, 1) >= 0 && k < 0)
    return fail (r, QR_ENGINE_ERROR_UNSUPPORTED, "split sizes that are not constant");
  if (k >= 0 && k != n_out)
    return fail (r, QR_ENGINE_ERROR_FORMAT, "%d sizes for %d outputs", k, n_out);
  {
    int dim = shape (r, x)->dims[axis], sum = 0;
    for (int i = 0; i < n_out; i++)
      {
        if (k >= 0)
          {
            if (v[i] < 0 || v[i] > dim)
              return fail (r, QR_ENGINE_ERROR_FORMAT, "split size %" G_GINT64_FORMAT, v[i]);
            sizes[i] = (int) v[i];
          }
        else
          {
            if (dim % n_out != 0)
              return fail (r, QR_ENGINE_ERROR_FORMAT, "axis of %d does not split into %d equal parts", dim, n_out);
            sizes[i] = dim / n_out;
          }
        sum += sizes[i];
      }
    if (sum != dim)
      return fail (r, QR_ENGINE_ERROR_FORMAT, "split sizes add up to %d, the axis is %d", sum, dim);
  }
  for (int i = 0; i < n_out; i++)
    if ((outs[i] = output (r, (guint) i, in_type (r, 0))) < 0)
      return FALSE;
  {
    int sz = const_vector (r, "sizes", n_out, sizes), ax = const_vector (r, "axis", 1, &axis);
    node = add (r, QR_OP_SPLIT, outs[0], x, sz);
    node->inputs[node->n_inputs++] = ax;
    for (int i = 1; i < n_out; i++)
      {
        node->outputs[node->n_outputs++] = outs[i];
        T (r, outs[i])->producer = T (r, outs[0])->producer;
      }
  }
  if (!settle (r))
    return FALSE;
  for (int i = 0; i < n_out; i++)
    set_lead (r, outs[i], lead);
  return TRUE;
}

static gboolean
op_slice (Reader *r)
{
  int x = need (r, 0), rank, out, n, begin[QR_ONNX_MAX_RANK], end[QR_ONNX_MAX_RANK], step[QR_ONNX_MAX_RANK];
  int all[QR_ONNX_MAX_RANK], lead;
  gint64 starts[QR_ONNX_MAX_RANK], ends[QR_ONNX_MAX_RANK], axes[QR_ONNX_MAX_RANK], steps[QR_ONNX_MAX_RANK];
  int n_axes, n_steps;
  QrNode *node;

  if (r->opset < 10)
    return fail (r, QR_ENGINE_ERROR_UNSUPPORTED, "Slice of opset %d (attributes rather than inputs; opset 10 and "
                 "later are read)", r->opset);
  if (x < 0 || !check_attrs (r))
    return FALSE;
  rank = onnx_dims (r, x, all);
  lead = lead_of (r, x);
  n = const_ints (r, need (r, 1), starts, QR_ONNX_MAX_RANK);
  if (n < 0 || const_ints (r, need (r, 2), ends, QR_ONNX_MAX_RANK) != n)
    return fail (r, QR_ENGINE_ERROR_UNSUPPORTED, "starts and ends that are not constant or differ in length");
  n_axes = input (r, 3) >= 0 ? const_ints (r, input (r, 3), axes, QR_ONNX_MAX_RANK) : n;
  n_steps = input (r, 4) >= 0 ? const_ints (r, input (r, 4), steps, QR_ONNX_MAX_RANK) : n;
  if (n_axes != n || n_steps != n)
    return fail (r, QR_ENGINE_ERROR_UNSUPPORTED, "axes or steps that are not constant or differ in length");
  int whole = (1 << rank) - 1;   /* the axes not sliced: whole, whatever their size (the batch's) */
  for (int d = 0; d < rank; d++)
    begin[d] = 0, end[d] = all[d], step[d] = 1;
  for (int i = 0; i < n; i++)
    {
      gint64 a = input (r, 3) >= 0 ? axes[i] : i;
      if (a < -rank || a >= rank)
        return fail (r, QR_ENGINE_ERROR_FORMAT, "axis %" G_GINT64_FORMAT " for rank %d", a, rank);
      if (a < 0)
        a += rank;
      if (input (r, 4) >= 0 && steps[i] == 0)
        return fail (r, QR_ENGINE_ERROR_FORMAT, "a step of 0");
      step[a] = input (r, 4) >= 0 ? (int) CLAMP (steps[i], -INT_LIMIT, INT_LIMIT) : 1;
      whole &= ~(1 << a);
      begin[a] = (int) CLAMP (starts[i], -INT_LIMIT, INT_LIMIT);
      end[a] = (int) CLAMP (ends[i], -INT_LIMIT, INT_LIMIT);
    }
  /* a left-out leading one may only be kept whole */
  for (int d = 0; d < lead; d++)
    if (!(whole & (1 << d)) && !(step[d] == 1 && (begin[d] == 0 || begin[d] <= -1) && end[d] >= 1))
      return fail (r, QR_ENGINE_ERROR_UNSUPPORTED, "slicing a rank-%d tensor along its axis %d (the engine holds "
                   "rank 4)", rank, d);
  if ((out = output (r, 0, in_type (r, 0))) < 0)
    return FALSE;
  {
    int b = const_vector (r, "begin", rank - lead, begin + lead), e = const_vector (r, "end", rank - lead, end + lead),
        s = const_vector (r, "steps", rank - lead, step + lead);
    node = add (r, QR_OP_SLICE, out, x, b);
    node->inputs[node->n_inputs++] = e;
    node->inputs[node->n_inputs++] = s;
    node->strided = TRUE;
    node->end_mask = whole >> lead;
  }
  if (!settle (r))
    return FALSE;
  set_lead (r, out, lead);
  return TRUE;
}

static gboolean
op_gather (Reader *r)
{
  int x = need (r, 0), idx = need (r, 1), axis = (int) attr_int (r, "axis", 0), rank, out;
  QrTensor *data_t, *idx_t;
  QrShape os = { 0 };
  gsize outer = 1, inner = 1, n_idx;
  int dim;

  if (x < 0 || idx < 0 || !check_attrs (r))
    return FALSE;
  rank = shape (r, x)->rank;
  if (axis < -rank || axis >= rank)
    return fail (r, QR_ENGINE_ERROR_FORMAT, "axis %d for rank %d", axis, rank);
  if (axis < 0)
    axis += rank;
  if (!is_float_type (in_type (r, 0)) && in_type (r, 0) != T_UNDEFINED && !is_const (r, x))
    return fail (r, QR_ENGINE_ERROR_UNSUPPORTED, "gathering %s values that are not constant", type_name (in_type (r, 0)));
  if (!is_const (r, idx))
    {
      /* indices of the graph's (token ids, positions): a gather node; one out of range gathers zeros */
      QrNode *node;
      if (rank - 1 + shape (r, idx)->rank > QR_MAX_RANK)
        return fail (r, QR_ENGINE_ERROR_UNSUPPORTED, "a rank-%d result", rank - 1 + shape (r, idx)->rank);
      if ((out = output (r, 0, in_type (r, 0))) < 0)
        return FALSE;
      node = add (r, QR_OP_GATHER, out, x, idx);
      node->axis = axis;
      return settle (r);
    }
  data_t = T (r, x);
  idx_t = T (r, idx);
  dim = data_t->shape.dims[axis];
  n_idx = qr_shape_size (&idx_t->shape);
  os.rank = rank - 1 + idx_t->shape.rank;
  if (os.rank > QR_MAX_RANK)
    return fail (r, QR_ENGINE_ERROR_UNSUPPORTED, "a rank-%d result", os.rank);
  for (int d = 0; d < axis; d++)
    os.dims[d] = data_t->shape.dims[d], outer *= (gsize) data_t->shape.dims[d];
  for (int d = 0; d < idx_t->shape.rank; d++)
    os.dims[axis + d] = idx_t->shape.dims[d];
  for (int d = axis + 1; d < rank; d++)
    os.dims[axis + idx_t->shape.rank + d - axis - 1] = data_t->shape.dims[d], inner *= (gsize) data_t->shape.dims[d];
  for (gsize i = 0; i < n_idx; i++)
    {
      int v = (int) idx_t->data[i];
      if (v < -dim || v >= dim)
        return fail (r, QR_ENGINE_ERROR_FORMAT, "index %d of an axis of %d", v, dim);
    }
  if ((out = output (r, 0, in_type (r, 0))) < 0)
    return FALSE;
  if (data_t->is_const)
    {
      QrTensor *o = T (r, out);
      o->shape = os;
      o->is_const = TRUE;
      o->data = g_new0 (float, MAX (qr_shape_size (&os), 1));
      for (gsize a = 0; a < outer; a++)
        for (gsize i = 0; i < n_idx; i++)
          {
            int v = (int) idx_t->data[i];
            if (v < 0)
              v += dim;
            memcpy (o->data + (a * n_idx + i) * inner, data_t->data + (a * (gsize) dim + (gsize) v) * inner,
                    inner * sizeof (float));
          }
      return TRUE;
    }
  /* a transformer's class token picked out of its sequence: with keep_tokens, every token goes on */
  if (r->options != NULL && r->options->keep_tokens && !r->kept_tokens && axis == 1 && rank == 3 && n_idx == 1
      && idx_t->shape.rank == 0 && idx_t->data[0] == 0)
    {
      r->kept_tokens = TRUE;
      return add1 (r, QR_OP_IDENTITY, out, x);
    }
  /* values of the graph: a gather node (negative indices wrap there too) */
  {
    QrNode *node = add (r, QR_OP_GATHER, out, x, idx);
    node->axis = axis;
    return settle (r);
  }
}

static gboolean
op_softmax (Reader *r)
{
  int x = need (r, 0), out, rank, axis;
  if (x < 0)
    return FALSE;
  rank = shape (r, x)->rank;
  axis = (int) attr_int (r, "axis", r->opset >= 13 ? -1 : 1);
  if (!check_attrs (r) || !float_values (r, x) || (out = output (r, 0, in_type (r, 0))) < 0)
    return FALSE;
  if (axis < -rank || axis >= MAX (rank, 1))
    return fail (r, QR_ENGINE_ERROR_FORMAT, "axis %d for rank %d", axis, rank);
  if (axis < 0)
    axis += rank;
  if (rank == 0 || axis == rank - 1)
    return add1 (r, QR_OP_SOFTMAX, out, x);
  if (r->opset < 13)
    {
      /* over everything from the axis on, as a 2-D tensor */
      int flat = temp (r, "2d"), soft = temp (r, "softmax"), dims[2] = { 1, 1 }, back[QR_MAX_RANK];
      for (int d = 0; d < rank; d++)
        dims[d < axis ? 0 : 1] *= shape (r, x)->dims[d], back[d] = shape (r, x)->dims[d];
      return reshape_to (r, flat, x, 2, dims) && add1 (r, QR_OP_SOFTMAX, soft, flat)
             && reshape_to (r, out, soft, rank, back);
    }
  {
    /* the axis swapped with the last, softmax, swapped back */
    int perm[QR_MAX_RANK], a = temp (r, "swapped"), b = temp (r, "softmax");
    for (int d = 0; d < rank; d++)
      perm[d] = d;
    perm[axis] = rank - 1;
    perm[rank - 1] = axis;
    return transpose (r, a, x, rank, perm) && add1 (r, QR_OP_SOFTMAX, b, a) && transpose (r, out, b, rank, perm);
  }
}

/* out = x's positions picks[0 … n) along axis: a gather of constant indices (Pad's edge and
 * reflect modes, Resize's nearest modes the engine's resize lacks). */
static gboolean
add_picks (Reader *r, int out, int x, int axis, const float *picks, int n)
{
  int dims[1] = { n }, indices = const_tensor (r, "picks", 1, dims, picks);
  QrNode *node = add (r, QR_OP_GATHER, out, x, indices);

  node->axis = axis;
  return settle (r);
}

/* Pad in edge or reflect mode: along each padded dimension a gather of the positions the mode
 * repeats (edge: the nearest end; reflect: mirrored about the end, the end itself not repeated). */
static gboolean
pad_by_gathers (Reader *r, int x, int rank, const gint64 *pads, gboolean reflect)
{
  int current = x, last = -1, out = -1;
  for (int d = 0; d < rank; d++)
    if (pads[d] != 0 || pads[d + rank] != 0)
      last = d;
  if (last < 0)
    {
      if ((out = output (r, 0, in_type (r, 0))) < 0)
        return FALSE;
      add (r, QR_OP_IDENTITY, out, x, -1);
      return settle (r);
    }
  for (int d = 0; d <= last; d++)
    {
      int in = shape (r, current)->dims[d], size, next;
      g_autofree float *picks = NULL;
      if (pads[d] == 0 && pads[d + rank] == 0)
        continue;
      if (in < 1 || (reflect && (pads[d] >= in || pads[d + rank] >= in)))
        return fail (r, QR_ENGINE_ERROR_UNSUPPORTED, "reflecting %" G_GINT64_FORMAT " and %" G_GINT64_FORMAT
                     " values of an axis of %d", pads[d], pads[d + rank], in);
      size = in + (int) pads[d] + (int) pads[d + rank];
      picks = g_new (float, size);
      for (int o = 0; o < size; o++)
        {
          int i = o - (int) pads[d];
          if (reflect)
            i = i < 0 ? -i : i >= in ? 2 * (in - 1) - i : i;
          picks[o] = (float) CLAMP (i, 0, in - 1);
        }
      if (d == last)
        {
          if ((out = output (r, 0, in_type (r, 0))) < 0)
            return FALSE;
          next = out;
        }
      else
        next = temp (r, "padded");
      if (!add_picks (r, next, current, d, picks, size))
        return FALSE;
      current = next;
    }
  return TRUE;
}

/* Pad in constant mode: the engine's pad (paddings before and after, per dimension); edge and
 * reflect by gathers. */
static gboolean
op_pad (Reader *r)
{
  int x = need (r, 0), out, rank, n, paddings;
  gint64 pads[2 * QR_ONNX_MAX_RANK];
  float values[2 * QR_MAX_RANK], fill = 0;
  const char *mode;
  QrNode *node;

  if (x < 0)
    return FALSE;
  rank = shape (r, x)->rank;
  mode = attr_string (r, "mode", "constant");
  if (r->opset >= 11)
    {
      int p = input (r, 1), v = input (r, 2);
      if (p == -1)
        return fail (r, QR_ENGINE_ERROR_FORMAT, "input 1 (pads) is needed");
      if (p < 0 || v == -2)
        return FALSE;
      if ((n = const_ints (r, p, pads, 2 * QR_ONNX_MAX_RANK)) < 0)
        return fail (r, QR_ENGINE_ERROR_UNSUPPORTED, "pads that are not constant");
      if (v >= 0)
        {
          if (!is_const (r, v) || qr_shape_size (&T (r, v)->shape) != 1)
            return fail (r, QR_ENGINE_ERROR_UNSUPPORTED, "a constant_value that is not one constant");
          fill = T (r, v)->data[0];
        }
      if (input (r, 3) != -1)
        return fail (r, QR_ENGINE_ERROR_UNSUPPORTED, "an axes input (pads for every dimension only)");
    }
  else
    {
      if ((n = attr_ints (r, "pads", pads, 2 * QR_ONNX_MAX_RANK)) == -2)
        return FALSE;
      fill = attr_float (r, "value", 0);
    }
  if (!check_attrs (r))
    return FALSE;
  if (strcmp (mode, "constant") != 0 && strcmp (mode, "edge") != 0 && strcmp (mode, "reflect") != 0)
    return fail (r, QR_ENGINE_ERROR_UNSUPPORTED, "mode %s", mode);
  if (n != 2 * rank)
    return fail (r, QR_ENGINE_ERROR_FORMAT, "%d pads for rank %d (two per dimension)", n, rank);
  for (int d = 0; d < rank; d++)
    {
      if (pads[d] < 0 || pads[d + rank] < 0)
        return fail (r, QR_ENGINE_ERROR_UNSUPPORTED, "negative pads (a crop)");
      if (pads[d] > 65536 || pads[d + rank] > 65536)
        return fail (r, QR_ENGINE_ERROR_UNSUPPORTED, "pads over 65,536");
    }
  if (strcmp (mode, "constant") != 0)
    return pad_by_gathers (r, x, rank, pads, strcmp (mode, "reflect") == 0);
  for (int d = 0; d < rank; d++)
    {
      values[2 * d] = (float) pads[d];
      values[2 * d + 1] = (float) pads[d + rank];
    }
  if ((out = output (r, 0, in_type (r, 0))) < 0)
    return FALSE;
  {
    int dims[2] = { rank, 2 };
    paddings = const_tensor (r, "paddings", 2, dims, values);
  }
  node = add (r, QR_OP_PAD, out, x, paddings);
  if (fill != 0)
    {
      int value = const_scalar (r, "value", fill);
      node = qr_graph_node (r->graph, T (r, out)->producer);
      node->inputs[node->n_inputs++] = value;
    }
  return settle (r);
}

static gboolean
op_reduce (Reader *r)
{
  static const struct { const char *name; QrReduce reduce; } table[] = {
    { "ReduceMean", QR_REDUCE_MEAN }, { "ReduceSum", QR_REDUCE_SUM }, { "ReduceMax", QR_REDUCE_MAX },
    { "ReduceMin", QR_REDUCE_MIN },
  };
  int x = need (r, 0), out, rank, axes[QR_ONNX_MAX_RANK], n, keep, sum;
  gboolean noop = FALSE;
  gboolean l1 = strcmp (r->node->op, "ReduceL1") == 0, l2 = strcmp (r->node->op, "ReduceL2") == 0;
  gboolean square = strcmp (r->node->op, "ReduceSumSquare") == 0;
  QrReduce reduce = QR_REDUCE_MEAN;
  QrNode *node;

  for (guint i = 0; i < G_N_ELEMENTS (table); i++)
    if (strcmp (r->node->op, table[i].name) == 0)
      reduce = table[i].reduce;
  if (x < 0)
    return FALSE;
  rank = shape (r, x)->rank;
  n = axes_of (r, 1, rank, axes);
  keep = (int) attr_int (r, "keepdims", 1);
  noop = attr_int (r, "noop_with_empty_axes", 0) != 0;
  if (n == -2 || !check_attrs (r) || !float_values (r, x) || (out = output (r, 0, in_type (r, 0))) < 0)
    return FALSE;
  if ((l1 || l2 || square) && ((n <= 0 && noop) || rank == 0))
    return fail (r, QR_ENGINE_ERROR_UNSUPPORTED, "%s over no axes is not supported", r->node->op);
  if (n <= 0 && noop)
    return add1 (r, QR_OP_IDENTITY, out, x);
  if (n <= 0)
    {
      n = rank;
      for (int d = 0; d < rank; d++)
        axes[d] = d;
    }
  if (rank == 0)
    return add1 (r, QR_OP_IDENTITY, out, x);
  /* ReduceL1, ReduceL2, ReduceSumSquare: a sum of |x| or x² (then its square root) */
  if (l1 || l2 || square)
    {
      int pre = temp (r, l1 ? "magnitude" : "squared");
      if (l1 && !activation (r, pre, x, QR_ACT_ABS, 0, 0))
        return FALSE;
      if (!l1)
        {
          add (r, QR_OP_MUL, pre, x, x);
          if (!settle (r))
            return FALSE;
        }
      x = pre;
      reduce = QR_REDUCE_SUM;
    }
  sum = l2 ? temp (r, "sum") : out;
  add (r, QR_OP_MEAN, sum, x, const_vector (r, "axes", n, axes));
  node = qr_graph_node (r->graph, T (r, sum)->producer);
  node->keep_dims = keep != 0;
  node->reduce = reduce;
  if (!settle (r))
    return FALSE;
  return !l2 || activation (r, out, sum, QR_ACT_SQRT, 0, 0);
}

/* NumPy's broadcasting of n shapes (rank 4 at most): the result's shape, FALSE when they do not
 * broadcast. */
static gboolean
broadcast_shapes (const QrShape *const *in, int n, QrShape *out)
{
  out->rank = 0;
  for (int k = 0; k < n; k++)
    out->rank = MAX (out->rank, in[k]->rank);
  for (int d = 0; d < out->rank; d++)
    {
      int size = 1;
      for (int k = 0; k < n; k++)
        {
          int at = d - (out->rank - in[k]->rank), v = at >= 0 ? in[k]->dims[at] : 1;
          if (v != 1 && size != 1 && v != size)
            return FALSE;
          if (v != 1)
            size = v;
        }
      out->dims[d] = size;
    }
  return TRUE;
}

/* The element of t (broadcast to out) at out's flat index i. */
static float
broadcast_at (const QrTensor *t, const QrShape *out, gsize i)
{
  gsize at = 0, stride = 1;
  for (int d = out->rank - 1; d >= 0; d--)
    {
      gsize coord = i % (gsize) out->dims[d];
      int td = d - (out->rank - t->shape.rank);
      i /= (gsize) out->dims[d];
      if (td >= 0)
        {
          if (t->shape.dims[td] != 1)
            at += coord * stride;
          stride *= (gsize) t->shape.dims[td];
        }
    }
  return t->data[at];
}

/* A new constant output of shape `shape`, values to fill. */
static QrTensor *
const_output (Reader *r, int type, const QrShape *shape)
{
  int out = output (r, 0, type);
  QrTensor *o;
  if (out < 0)
    return NULL;
  o = T (r, out);
  o->is_const = TRUE;
  o->shape = *shape;
  o->data = g_new0 (float, MAX (qr_shape_size (shape), 1));
  return o;
}

/* Comparisons and logic (Equal, Less, Greater, LessOrEqual, GreaterOrEqual, Not, And, Or, Xor):
 * folded when the inputs are constants (masks built from shapes). Of values of the graph's, the
 * comparisons are the engine's ops, exact on the float32 values it holds (integers are held as
 * float32: exact up to 2^24, as token ids are); Not, And, Or and Xor only of constants. The result
 * is bool, 0 or 1. */
static gboolean
op_compare (Reader *r)
{
  const char *op = r->node->op;
  gboolean unary = strcmp (op, "Not") == 0;
  int a = need (r, 0), b = unary ? a : need (r, 1), out;
  const QrShape *shapes[2];
  QrShape s;

  if (a < 0 || b < 0 || !check_attrs (r))
    return FALSE;
  if (is_const (r, a) && is_const (r, b))
    {
      QrTensor *o;
      shapes[0] = shape (r, a);
      shapes[1] = shape (r, b);
      if (!broadcast_shapes (shapes, 2, &s))
        return fail (r, QR_ENGINE_ERROR_FORMAT, "shapes that do not broadcast");
      if (qr_shape_size (&s) > ((gsize) 1 << 28) || (o = const_output (r, T_BOOL, &s)) == NULL)
        return FALSE;
      for (gsize i = 0; i < qr_shape_size (&s); i++)
        {
          float u = broadcast_at (T (r, a), &s, i), v = broadcast_at (T (r, b), &s, i);
          gboolean y = strcmp (op, "Equal") == 0 ? u == v : strcmp (op, "Less") == 0 ? u < v
                       : strcmp (op, "Greater") == 0 ? u > v : strcmp (op, "LessOrEqual") == 0 ? u <= v
                       : strcmp (op, "GreaterOrEqual") == 0 ? u >= v : unary ? u == 0
                       : strcmp (op, "And") == 0 ? (u != 0 && v != 0) : strcmp (op, "Or") == 0 ? (u != 0 || v != 0)
                       : ((u != 0) != (v != 0));
          o->data[i] = y ? 1.0f : 0.0f;
        }
      return TRUE;
    }
  /* of the graph's values: logic on bools held as 0 and 1 (Not 1 − a, And min, Or max, Xor |a − b|),
   * and the engine's comparisons (float32 held values compared exactly) */
  if (unary || strcmp (op, "And") == 0 || strcmp (op, "Or") == 0 || strcmp (op, "Xor") == 0)
    {
      if ((out = output (r, 0, T_BOOL)) < 0)
        return FALSE;
      if (unary)
        add (r, QR_OP_SUB, out, const_scalar (r, "one", 1.0f), a);
      else if (strcmp (op, "Xor") != 0)
        add (r, strcmp (op, "And") == 0 ? QR_OP_MINIMUM : QR_OP_MAXIMUM, out, a, b);
      else
        {
          int diff = temp (r, "difference");
          add (r, QR_OP_SUB, diff, a, b);
          if (!settle (r))
            return FALSE;
          return activation (r, out, diff, QR_ACT_ABS, 0, 0);
        }
      return settle (r);
    }
  {
    static const struct { const char *name; QrOpType op; } compares[] = {
      { "Equal", QR_OP_EQUAL }, { "Less", QR_OP_LESS }, { "Greater", QR_OP_GREATER },
      { "LessOrEqual", QR_OP_LESS_EQUAL }, { "GreaterOrEqual", QR_OP_GREATER_EQUAL },
    };
    for (guint k = 0; k < G_N_ELEMENTS (compares); k++)
      if (strcmp (op, compares[k].name) == 0)
        {
          int ta = in_type (r, 0), tb = in_type (r, 1);
          if (ta == T_STRING || tb == T_STRING)
            return fail (r, QR_ENGINE_ERROR_UNSUPPORTED, "%s of strings", op);
          if ((out = output (r, 0, T_BOOL)) < 0)
            return FALSE;
          add (r, compares[k].op, out, a, b);
          return settle (r);
        }
  }
  return fail (r, QR_ENGINE_ERROR_UNSUPPORTED, "%s of values that are not constant", op);
}

/* Where (condition, x, y): folded for constants; otherwise y + condition · (x − y), which needs
 * finite values in whichever branch is a constant (masks use the float's lowest value, not −∞). */
static gboolean
op_where (Reader *r)
{
  int c = need (r, 0), x = need (r, 1), y = need (r, 2), out, diff, picked;
  const QrShape *shapes[3];
  QrShape s;

  if (c < 0 || x < 0 || y < 0 || !check_attrs (r))
    return FALSE;
  shapes[0] = shape (r, c);
  shapes[1] = shape (r, x);
  shapes[2] = shape (r, y);
  if (!broadcast_shapes (shapes, 3, &s))
    return fail (r, QR_ENGINE_ERROR_FORMAT, "shapes that do not broadcast");
  if (is_const (r, c) && is_const (r, x) && is_const (r, y))
    {
      QrTensor *o;
      if (qr_shape_size (&s) > ((gsize) 1 << 28) || (o = const_output (r, in_type (r, 1), &s)) == NULL)
        return FALSE;
      for (gsize i = 0; i < qr_shape_size (&s); i++)
        o->data[i] = broadcast_at (T (r, c), &s, i) != 0 ? broadcast_at (T (r, x), &s, i) : broadcast_at (T (r, y), &s, i);
      return TRUE;
    }
  for (int k = 1; k <= 2; k++)
    {
      int v = k == 1 ? x : y;
      if (is_const (r, v))
        for (gsize i = 0; i < qr_shape_size (shape (r, v)); i++)
          if (!isfinite (T (r, v)->data[i]))
            return fail (r, QR_ENGINE_ERROR_UNSUPPORTED, "a choice of values that are not constant with an infinite "
                         "constant");
    }
  {
    int t = in_type (r, 1);
    if (!is_float_type (t) && t != T_UNDEFINED && t != T_INT64 && t != T_INT32)
      return fail (r, QR_ENGINE_ERROR_UNSUPPORTED, "a choice of %s values that are not constant", type_name (t));
  }
  if ((out = output (r, 0, in_type (r, 1))) < 0)
    return FALSE;
  diff = temp (r, "x-y");
  add (r, QR_OP_SUB, diff, x, y);
  if (!settle (r))
    return FALSE;
  picked = temp (r, "chosen");
  add (r, QR_OP_MUL, picked, c, diff);
  if (!settle (r))
    return FALSE;
  add (r, QR_OP_ADD, out, y, picked);
  return settle (r);
}

/* Range of constants (positions): start, start + delta, … short of limit; folded. */
static gboolean
op_range (Reader *r)
{
  int start = need (r, 0), limit = need (r, 1), delta = need (r, 2), out;
  double a, b, d, count;
  QrTensor *o;

  if (start < 0 || limit < 0 || delta < 0 || !check_attrs (r))
    return FALSE;
  if (!is_const (r, start) || !is_const (r, limit) || !is_const (r, delta))
    return fail (r, QR_ENGINE_ERROR_UNSUPPORTED, "a range whose ends are not constant");
  a = T (r, start)->data[0];
  b = T (r, limit)->data[0];
  d = T (r, delta)->data[0];
  if (d == 0 || !isfinite (a) || !isfinite (b) || !isfinite (d))
    return fail (r, QR_ENGINE_ERROR_FORMAT, "a range from %g to %g by %g", a, b, d);
  count = MAX (ceil ((b - a) / d), 0);
  if (count > (double) (1 << 24))
    return fail (r, QR_ENGINE_ERROR_FORMAT, "a range of %.0f values", count);
  if ((out = output (r, 0, in_type (r, 0))) < 0)
    return FALSE;
  o = T (r, out);
  o->is_const = TRUE;
  o->shape.rank = 1;
  o->shape.dims[0] = (int) count;
  o->data = g_new (float, MAX ((gsize) count, 1));
  for (int i = 0; i < (int) count; i++)
    o->data[i] = (float) (a + i * d);
  return TRUE;
}

/* ArgMax, ArgMin: one axis reduced to the index of its largest (smallest) value, as int64 values
 * held in floats (exact below 2^24: token positions, class numbers). */
static gboolean
op_argmax (Reader *r)
{
  int x = need (r, 0), out, rank, axis, keep, axes[1];
  gboolean last;
  QrNode *node;

  if (x < 0)
    return FALSE;
  rank = shape (r, x)->rank;
  axis = (int) attr_int (r, "axis", 0);
  keep = (int) attr_int (r, "keepdims", 1);
  last = attr_int (r, "select_last_index", 0) != 0;
  if (!check_attrs (r))
    return FALSE;
  if (rank == 0 || axis < -rank || axis >= rank)
    return fail (r, QR_ENGINE_ERROR_FORMAT, "axis %d for rank %d", axis, rank);
  axes[0] = axis < 0 ? axis + rank : axis;
  if ((out = output (r, 0, T_INT64)) < 0)
    return FALSE;
  add (r, QR_OP_MEAN, out, x, const_vector (r, "axes", 1, axes));
  node = qr_graph_node (r->graph, T (r, out)->producer);
  node->keep_dims = keep != 0;
  node->reduce = strcmp (r->node->op, "ArgMin") == 0 ? QR_REDUCE_ARGMIN : QR_REDUCE_ARGMAX;
  node->select_last = last;
  return settle (r);
}

/* LayerNormalization (opset 17) as the graph's own ops: over the axes from `axis` on,
 * y = (x − mean) / sqrt (var + ε) · scale + bias. */
static gboolean
op_layer_norm (Reader *r)
{
  int x = need (r, 0), scale = need (r, 1), bias = input (r, 2), out, rank, axis, axes[QR_MAX_RANK], n = 0;
  float eps = attr_float (r, "epsilon", 1e-5f);
  int mean, diff, sq, var, var_eps, std, norm, scaled;
  gboolean want_mean, want_inv;
  QrNode *node;

  attr (r, "stash_type");
  axis = (int) attr_int (r, "axis", -1);
  if (x < 0 || scale < 0 || bias == -2 || !check_attrs (r) || !float_values (r, x))
    return FALSE;
  if (r->node->outputs->len > 3)
    return fail (r, QR_ENGINE_ERROR_FORMAT, "%u outputs (3 at most)", r->node->outputs->len);
  rank = shape (r, x)->rank;
  if (axis < -rank || axis >= rank)
    return fail (r, QR_ENGINE_ERROR_FORMAT, "axis %d for rank %d", axis, rank);
  if (axis < 0)
    axis += rank;
  for (int d = axis; d < rank; d++)
    axes[n++] = d;
  if ((out = output (r, 0, in_type (r, 0))) < 0)
    return FALSE;
  /* the optional outputs: the mean and the inverse standard deviation, kept to x's rank */
  want_mean = r->node->outputs->len > 1 && ((char *) r->node->outputs->pdata[1])[0];
  want_inv = r->node->outputs->len > 2 && ((char *) r->node->outputs->pdata[2])[0];
  mean = want_mean ? output (r, 1, T_FLOAT) : temp (r, "mean");
  if (mean < 0)
    return FALSE;
  node = add (r, QR_OP_MEAN, mean, x, const_vector (r, "axes", n, axes));
  node = qr_graph_node (r->graph, T (r, mean)->producer);
  node->keep_dims = TRUE;
  if (!settle (r))
    return FALSE;
  diff = temp (r, "centred");
  add (r, QR_OP_SUB, diff, x, mean);
  if (!settle (r))
    return FALSE;
  sq = temp (r, "squared");
  add (r, QR_OP_MUL, sq, diff, diff);
  if (!settle (r))
    return FALSE;
  var = temp (r, "variance");
  add (r, QR_OP_MEAN, var, sq, const_vector (r, "axes", n, axes));
  node = qr_graph_node (r->graph, T (r, var)->producer);
  node->keep_dims = TRUE;
  if (!settle (r))
    return FALSE;
  var_eps = temp (r, "variance+eps");
  add (r, QR_OP_ADD, var_eps, var, const_scalar (r, "epsilon", eps));
  if (!settle (r))
    return FALSE;
  std = temp (r, "deviation");
  if (!activation (r, std, var_eps, QR_ACT_SQRT, 0, 0))
    return FALSE;
  if (want_inv)
    {
      int inv = output (r, 2, T_FLOAT);
      if (inv < 0 || !activation (r, inv, std, QR_ACT_RECIPROCAL, 0, 0))
        return FALSE;
    }
  norm = temp (r, "normalised");
  add (r, QR_OP_DIV, norm, diff, std);
  if (!settle (r))
    return FALSE;
  scaled = bias >= 0 ? temp (r, "scaled") : out;
  add (r, QR_OP_MUL, scaled, norm, scale);
  if (!settle (r))
    return FALSE;
  if (bias >= 0)
    {
      add (r, QR_OP_ADD, out, scaled, bias);
      return settle (r);
    }
  return TRUE;
}

/* Expand: x broadcast with a shape, as x + zeros of the result's shape. */
static gboolean
op_expand (Reader *r)
{
  int x = need (r, 0), s = need (r, 1), out, n, rank, dims[QR_ONNX_MAX_RANK], in_dims[QR_ONNX_MAX_RANK], in_rank, lead;
  gint64 v[QR_ONNX_MAX_RANK];
  gsize size = 1;
  g_autofree float *zeros = NULL;

  if (x < 0 || s < 0 || !check_attrs (r))
    return FALSE;
  in_rank = onnx_dims (r, x, in_dims);
  n = const_ints (r, s, v, QR_ONNX_MAX_RANK);
  if (n < 0)
    return fail (r, QR_ENGINE_ERROR_UNSUPPORTED, "a shape that is not constant");
  rank = MAX (n, in_rank);
  for (int d = 0; d < rank; d++)
    {
      gint64 a = d - (rank - in_rank) >= 0 ? in_dims[d - (rank - in_rank)] : 1;
      gint64 b = d - (rank - n) >= 0 ? v[d - (rank - n)] : 1;
      if (a != b && a != 1 && b != 1)
        return fail (r, QR_ENGINE_ERROR_FORMAT, "shapes do not broadcast at axis %d (%" G_GINT64_FORMAT " and %"
                     G_GINT64_FORMAT ")", d, a, b);
      if (b < 0 || b > (1 << 24))
        return fail (r, QR_ENGINE_ERROR_FORMAT, "dimension %" G_GINT64_FORMAT, b);
      dims[d] = (int) (a == 1 ? b : a);
      size *= (gsize) dims[d];
      if (size > ((gsize) 1 << 28))
        return fail (r, QR_ENGINE_ERROR_FORMAT, "a result of more than 2^28 values");
    }
  if (!strip_lead (r, &rank, dims, &lead, "a result"))
    return FALSE;
  zeros = g_new0 (float, MAX (size, 1));
  if ((out = output (r, 0, in_type (r, 0))) < 0)
    return FALSE;
  add (r, QR_OP_ADD, out, x, const_tensor (r, "zeros", rank, dims, zeros));
  if (!settle (r))
    return FALSE;
  set_lead (r, out, lead);
  return TRUE;
}

/* Resize of the two spatial axes. Nearest: ONNX's index for every output row and column is
 * computed here and compared with what the graph's resize picks in each of its modes; the first
 * that agrees everywhere is used; where none does (other rounding, tf_half_pixel_for_nn, a scale
 * that is not a whole size) the computed indices themselves pick the rows and then the columns
 * (two gathers). Linear: the graph's own resize in half_pixel, align_corners and asymmetric by
 * whole sizes; linear in other modes or by other scales, and cubic, as two products with ONNX's
 * interpolation weights.
 *
 * The source coordinate of output x; length is the output's length as ONNX's reference has it,
 * the size given or in × scale (not rounded down: align_corners with a fractional scale depends
 * on it). */
static double
onnx_source (const char *mode, int x, int in, double length, double scale)
{
  /* in float, as ONNX Runtime and PyTorch compute it: 3 / 0.6f is 5 there, not 4.99… */
  float fx = (float) x, s = (float) scale, len = (float) length;
  if (strcmp (mode, "half_pixel") == 0)
    return (fx + 0.5f) / s - 0.5f;
  if (strcmp (mode, "pytorch_half_pixel") == 0)
    return len > 1 ? (fx + 0.5f) / s - 0.5f : 0;
  if (strcmp (mode, "align_corners") == 0)
    return len == 1 ? 0 : fx * (float) (in - 1) / (len - 1);
  if (strcmp (mode, "asymmetric") == 0)
    return fx / s;
  return (fx + 0.5f) / s;   /* tf_half_pixel_for_nn */
}

static int
onnx_nearest (const char *mode, double v, int in)
{
  double f = floor (v);
  int i;
  if (strcmp (mode, "floor") == 0)
    i = (int) f;
  else if (strcmp (mode, "ceil") == 0)
    i = (int) ceil (v);
  else if (v - f == 0.5)
    i = (int) (strcmp (mode, "round_prefer_ceil") == 0 ? ceil (v) : f);
  else
    i = (int) round (v);
  return CLAMP (i, 0, in - 1);
}

static int
graph_nearest (gboolean align, gboolean half, int o, int in, int out)
{
  float s = align && out > 1 ? (float) (in - 1) / (float) (out - 1) : (float) in / (float) out;
  float f = half ? ((float) o + 0.5f) * s - 0.5f : (float) o * s;
  int i = align ? (int) roundf (f) : (int) floorf (half ? f + 0.5f : f);
  return CLAMP (i, 0, in - 1);
}

/* Nearest resizing in any of ONNX's modes on the NCHW input: the rows ONNX picks (a gather on
 * axis 2), then the columns (axis 3). */
static gboolean
nearest_by_gathers (Reader *r, int x, const int in[4], const int size[4], const double scale[2],
                    const double length[2], const char *coords, const char *nearest)
{
  int mid = temp (r, "rows"), out = -1;

  for (int a = 0; a < 2; a++)
    {
      g_autofree float *picks = g_new (float, size[2 + a]);
      for (int o = 0; o < size[2 + a]; o++)
        picks[o] = (float) onnx_nearest (nearest, onnx_source (coords, o, in[2 + a], length[a], scale[a]), in[2 + a]);
      if (a == 1 && (out = output (r, 0, in_type (r, 0))) < 0)
        return FALSE;
      if (!add_picks (r, a == 0 ? mid : out, a == 0 ? x : mid, 2 + a, picks, size[2 + a]))
        return FALSE;
    }
  return TRUE;
}

/* ONNX's cubic coefficients for the four neighbours at a fraction r past the second. */
static void
cubic_coeffs (double r, double a, double c[4])
{
  double t;
  t = r + 1;
  c[0] = ((a * t - 5 * a) * t + 8 * a) * t - 4 * a;
  c[1] = ((a + 2) * r - (a + 3)) * r * r + 1;
  t = 1 - r;
  c[2] = ((a + 2) * t - (a + 3)) * t * t + 1;
  t = 2 - r;
  c[3] = ((a * t - 5 * a) * t + 8 * a) * t - 4 * a;
}

/* Linear or cubic interpolation along one axis as ONNX's reference computes it, written as a
 * matrix: the weight output o gives input i at m[o · out_stride + i · in_stride] (out × in, or
 * its transpose). The neighbours are the n nearest positions to the source coordinate (edge
 * values beyond the ends; with exclude_outside those weigh nothing and the rest are scaled to sum
 * to 1). */
static void
interp_matrix (gboolean cubic, double a, gboolean exclude_outside, const char *coords, int in, int out, double length,
               double scale, const double *roi, gboolean *inside, float *m, gsize out_stride, gsize in_stride)
{
  memset (m, 0, sizeof (float) * (gsize) in * (gsize) out);
  for (int o = 0; o < out; o++)
    {
      double x = onnx_source (coords, o, in, length, scale), f, ratio, c[4];
      int n = cubic ? 4 : 2, first;
      double sum = 0;
      /* tf_crop_and_resize: the crop roi[0] … roi[1] (fractions of the input) spread over the
         output; a source outside the input gives the extrapolation value (no weights here) */
      if (roi != NULL)
        {
          x = out > 1 ? roi[0] * (in - 1) + o * (roi[1] - roi[0]) * (in - 1) / (out - 1) : 0.5 * (roi[0] + roi[1]) * (in - 1);
          inside[o] = x >= 0 && x <= in - 1;
          if (!inside[o])
            continue;
        }
      f = floor (x);
      ratio = x == f ? 1 : x - f;
      if (cubic)
        cubic_coeffs (ratio, a, c);
      else
        c[0] = 1 - ratio, c[1] = ratio;
      /* the n nearest positions, the lower one first on a tie: from floor (x) − n/2 + 1, or one
         lower when x is a whole number (the ratio of 1 above) */
      first = (int) f - n / 2 + 1 - (x == f ? 1 : 0);
      for (int k = 0; k < n; k++)
        {
          int idx = first + k;
          if (exclude_outside && (idx < 0 || idx >= in))
            c[k] = 0;
          sum += c[k];
        }
      for (int k = 0; k < n; k++)
        {
          int idx = CLAMP (first + k, 0, in - 1);
          m[(gsize) o * out_stride + (gsize) idx * in_stride] += (float) (exclude_outside && sum != 0 ? c[k] / sum
                                                                                                    : c[k]);
        }
    }
}

/* Linear or cubic resizing in any coordinate mode and by any scale on the NCHW input: the columns
 * (x · Wᵀ, W out_w × in_w) then the rows (H · that, H out_h × in_h), two matrix products. */
static gboolean
resize_by_products (Reader *r, int x, const int in[4], const int size[4], const double scale[2],
                    const double length[2], const char *coords, gboolean cubic, double a, gboolean exclude_outside,
                    const double *roi, float extrapolation)
{
  int mid = temp (r, "columns"), out, rows;
  g_autofree float *mwt = NULL, *mh = NULL;
  g_autofree gboolean *inside_w = NULL, *inside_h = NULL;

  if ((gsize) in[3] * (gsize) size[3] > ((gsize) 1 << 24) || (gsize) in[2] * (gsize) size[2] > ((gsize) 1 << 24))
    return fail (r, QR_ENGINE_ERROR_UNSUPPORTED, "%s resizing of %d × %d to %d × %d in this mode (its weights "
                 "would pass 16 M values)", cubic ? "cubic" : "linear", in[2], in[3], size[2], size[3]);
  mwt = g_new (float, (gsize) in[3] * (gsize) size[3]);
  mh = g_new (float, (gsize) in[2] * (gsize) size[2]);
  inside_w = g_new (gboolean, size[3]);
  inside_h = g_new (gboolean, size[2]);
  interp_matrix (cubic, a, exclude_outside, coords, in[3], size[3], length[1], scale[1], roi ? roi + 2 : NULL, inside_w,
                 mwt, 1, (gsize) size[3]);
  interp_matrix (cubic, a, exclude_outside, coords, in[2], size[2], length[0], scale[0], roi ? roi : NULL, inside_h, mh,
                 (gsize) in[2], 1);
  {
    int dims[2] = { in[3], size[3] };
    add (r, QR_OP_MATMUL, mid, x, const_tensor (r, "columns", 2, dims, mwt));
    if (!settle (r))
      return FALSE;
  }
  if ((out = output (r, 0, in_type (r, 0))) < 0)
    return FALSE;
  rows = roi != NULL ? temp (r, "cropped") : out;
  {
    int dims[2] = { size[2], in[2] };
    add (r, QR_OP_MATMUL, rows, const_tensor (r, "rows", 2, dims, mh), mid);
    if (!settle (r))
      return FALSE;
  }
  if (roi != NULL)
    {
      /* the extrapolation value where either source fell outside (the weights gave 0 there) */
      int dims[4] = { 1, 1, size[2], size[3] };
      g_autofree float *fill = g_new (float, (gsize) size[2] * (gsize) size[3]);
      for (int h = 0; h < size[2]; h++)
        for (int w = 0; w < size[3]; w++)
          fill[(gsize) h * size[3] + w] = inside_h[h] && inside_w[w] ? 0.0f : extrapolation;
      add (r, QR_OP_ADD, out, rows, const_tensor (r, "extrapolated", 4, dims, fill));
      return settle (r);
    }
  return TRUE;
}

static gboolean
op_resize (Reader *r)
{
  int x = need (r, 0), s_id = input (r, r->opset >= 11 ? 2 : 1), z_id = r->opset >= 11 ? input (r, 3) : -1;
  const char *mode = attr_string (r, "mode", "nearest");
  const char *coords = attr_string (r, "coordinate_transformation_mode", r->opset >= 11 ? "half_pixel" : "asymmetric");
  const char *nearest = attr_string (r, "nearest_mode", "round_prefer_floor");
  double scale[2], length[2];
  int size[4], in[4], out, y, mid;
  gboolean align = FALSE, half = FALSE, found = FALSE;
  QrNode *node;

  double cubic_a = attr_float (r, "cubic_coeff_a", -0.75f);
  gboolean exclude_outside = attr_int (r, "exclude_outside", 0) != 0;
  float extrapolation = attr_float (r, "extrapolation_value", 0.0f);
  double roi[4];   /* tf_crop_and_resize: the crop's start and end along H, then W */
  if (x < 0 || s_id == -2 || z_id == -2 || !check_attrs (r) || !float_values (r, x))
    return FALSE;
  if (shape (r, x)->rank != 4)
    return fail (r, QR_ENGINE_ERROR_UNSUPPORTED, "a rank-%d input (images of rank 4 only)", shape (r, x)->rank);
  memcpy (in, shape (r, x)->dims, sizeof in);
  if (z_id >= 0 && qr_shape_size (shape (r, z_id)) > 0)
    {
      gint64 v[4];
      if (const_ints (r, z_id, v, 4) != 4)
        return fail (r, QR_ENGINE_ERROR_UNSUPPORTED, "sizes that are not 4 constants");
      for (int d = 0; d < 4; d++)
        size[d] = (int) CLAMP (v[d], 0, 1 << 20);
      scale[0] = (double) size[2] / in[2];
      scale[1] = (double) size[3] / in[3];
      length[0] = size[2];
      length[1] = size[3];
    }
  else if (s_id >= 0 && is_const (r, s_id) && qr_shape_size (shape (r, s_id)) == 4)
    {
      const float *v = T (r, s_id)->data;
      for (int d = 0; d < 4; d++)
        {
          double want = (double) in[d] * v[d];
          /* ONNX's size is floor (in × scale); the spatial axes' sources follow the scale itself */
          if (!(v[d] > 0) || want > (1 << 20) || (d < 2 && floor (want) != want))
            return fail (r, QR_ENGINE_ERROR_UNSUPPORTED, "a scale of %g for an axis of %d (whole sizes only)", v[d], in[d]);
          size[d] = (int) floor (want);
        }
      scale[0] = v[2];
      scale[1] = v[3];
      length[0] = (double) in[2] * v[2];
      length[1] = (double) in[3] * v[3];
    }
  else
    return fail (r, QR_ENGINE_ERROR_UNSUPPORTED, "scales or sizes that are not constant");
  if (size[0] != in[0] || size[1] != in[1])
    return fail (r, QR_ENGINE_ERROR_UNSUPPORTED, "resizing the batch or channel axes");
  if (size[2] < 1 || size[3] < 1)
    return fail (r, QR_ENGINE_ERROR_FORMAT, "an empty result");
  if (strcmp (coords, "tf_crop_and_resize") == 0)
    {
      int roi_id = r->opset >= 11 ? input (r, 1) : -1;
      const QrTensor *t;
      if (roi_id < 0 || !is_const (r, roi_id) || qr_shape_size (&(t = T (r, roi_id))->shape) != 8)
        return fail (r, QR_ENGINE_ERROR_UNSUPPORTED, "tf_crop_and_resize without a constant roi of 8 values");
      if (t->data[0] != 0 || t->data[1] != 0 || t->data[4] != 1 || t->data[5] != 1)
        return fail (r, QR_ENGINE_ERROR_UNSUPPORTED, "tf_crop_and_resize cropping the batch or channel axes");
      if (strcmp (mode, "linear") != 0 && strcmp (mode, "cubic") != 0)
        return fail (r, QR_ENGINE_ERROR_UNSUPPORTED, "tf_crop_and_resize with %s resizing", mode);
      roi[0] = t->data[2], roi[1] = t->data[6], roi[2] = t->data[3], roi[3] = t->data[7];
      return resize_by_products (r, x, in, size, scale, length, coords, strcmp (mode, "cubic") == 0, cubic_a,
                                 exclude_outside, roi, extrapolation);
    }
  if (strcmp (mode, "nearest") == 0 && exclude_outside)
    return fail (r, QR_ENGINE_ERROR_UNSUPPORTED, "exclude_outside with nearest resizing");
  if (strcmp (mode, "nearest") == 0)
    {
      for (int m = 0; m < 3 && !found; m++)
        {
          gboolean ok = TRUE;
          align = m == 2;
          half = m == 1;
          for (int a = 0; a < 2 && ok; a++)
            for (int o = 0; o < size[2 + a] && ok; o++)
              ok = onnx_nearest (nearest, onnx_source (coords, o, in[2 + a], length[a], scale[a]), in[2 + a])
                   == graph_nearest (align, half, o, in[2 + a], size[2 + a]);
          found = ok;
        }
      if (!found)
        return nearest_by_gathers (r, x, in, size, scale, length, coords, nearest);
    }
  else if (strcmp (mode, "linear") == 0)
    {
      /* the engine's bilinear resize where it computes what ONNX does; else two products */
      half = strcmp (coords, "half_pixel") == 0 || (strcmp (coords, "pytorch_half_pixel") == 0 && size[2] > 1 && size[3] > 1);
      align = strcmp (coords, "align_corners") == 0;
      if ((!half && !align && strcmp (coords, "asymmetric") != 0) || exclude_outside
          || length[0] != size[2] || length[1] != size[3]
          || (!align && ((double) size[2] / in[2] != scale[0] || (double) size[3] / in[3] != scale[1])))
        return resize_by_products (r, x, in, size, scale, length, coords, FALSE, 0, exclude_outside, NULL, 0);
    }
  else if (strcmp (mode, "cubic") == 0)
    return resize_by_products (r, x, in, size, scale, length, coords, TRUE, cubic_a, exclude_outside, NULL, 0);
  else
    return fail (r, QR_ENGINE_ERROR_UNSUPPORTED, "%s resizing", mode);
  if ((out = output (r, 0, in_type (r, 0))) < 0 || (y = nhwc (r, x)) < 0)
    return FALSE;
  mid = temp (r, "resized");
  {
    int hw[2] = { size[2], size[3] };
    node = add (r, QR_OP_RESIZE, mid, y, const_vector (r, "size", 2, hw));
  }
  node->resize_mode = strcmp (mode, "nearest") == 0 ? QR_RESIZE_NEAREST : QR_RESIZE_BILINEAR;
  node->align_corners = align;
  node->half_pixel = half;
  return settle (r) && transpose (r, out, mid, 4, TO_NCHW);
}

static gboolean
op_global_average_pool (Reader *r)
{
  int x = need (r, 0), out, axes[2] = { 2, 3 };
  QrNode *node;
  if (x < 0 || !check_attrs (r) || !float_values (r, x))
    return FALSE;
  if (shape (r, x)->rank != 4)
    return fail (r, QR_ENGINE_ERROR_UNSUPPORTED, "a rank-%d input (2-D images only)", shape (r, x)->rank);
  if ((out = output (r, 0, in_type (r, 0))) < 0)
    return FALSE;
  add (r, QR_OP_MEAN, out, x, const_vector (r, "axes", 2, axes));
  node = qr_graph_node (r->graph, T (r, out)->producer);
  node->keep_dims = TRUE;
  return settle (r);
}

/* Window attributes of Conv and the pools: pads resolved to explicit numbers. */
static gboolean
window (Reader *r, int x, int kh, int kw, QrNode *into, gboolean dilations_allowed)
{
  gint64 v[4];
  int n, in_h = shape (r, x)->dims[2], in_w = shape (r, x)->dims[3];
  const char *auto_pad = attr_string (r, "auto_pad", "NOTSET");

  into->stride[0] = into->stride[1] = 1;
  into->dilation[0] = into->dilation[1] = 1;
  if ((n = attr_ints (r, "strides", v, 2)) == -2)
    return FALSE;
  if (n == 2)
    into->stride[0] = (int) CLAMP (v[0], 0, 65536), into->stride[1] = (int) CLAMP (v[1], 0, 65536);
  else if (n >= 0)
    return fail (r, QR_ENGINE_ERROR_UNSUPPORTED, "%d strides (2-D windows only)", n);
  if ((n = attr_ints (r, "dilations", v, 2)) == -2)
    return FALSE;
  if (n == 2)
    into->dilation[0] = (int) CLAMP (v[0], 0, 65536), into->dilation[1] = (int) CLAMP (v[1], 0, 65536);
  else if (n >= 0)
    return fail (r, QR_ENGINE_ERROR_UNSUPPORTED, "%d dilations (2-D windows only)", n);
  if (!dilations_allowed && (into->dilation[0] != 1 || into->dilation[1] != 1))
    return fail (r, QR_ENGINE_ERROR_UNSUPPORTED, "dilated pooling");
  if (into->stride[0] < 1 || into->stride[1] < 1 || into->dilation[0] < 1 || into->dilation[1] < 1)
    return fail (r, QR_ENGINE_ERROR_FORMAT, "strides and dilations must be positive");
  into->padding = QR_PAD_EXPLICIT;
  memset (into->pads, 0, sizeof into->pads);
  if (strcmp (auto_pad, "NOTSET") == 0)
    {
      if ((n = attr_ints (r, "pads", v, 4)) == -2)
        return FALSE;
      if (n == 4)
        {
          for (int i = 0; i < 4; i++)
            if (v[i] < 0 || v[i] > 4096)
              return fail (r, QR_ENGINE_ERROR_FORMAT, "padding %" G_GINT64_FORMAT, v[i]);
          into->pads[0] = (int) v[0];
          into->pads[1] = (int) v[2];
          into->pads[2] = (int) v[1];
          into->pads[3] = (int) v[3];
        }
      else if (n >= 0)
        return fail (r, QR_ENGINE_ERROR_UNSUPPORTED, "%d pads (2-D windows only)", n);
    }
  else if (strcmp (auto_pad, "SAME_UPPER") == 0 || strcmp (auto_pad, "SAME_LOWER") == 0)
    {
      gboolean lower = auto_pad[5] == 'L';
      int k[2] = { kh, kw }, size[2] = { in_h, in_w };
      attr (r, "pads");
      for (int i = 0; i < 2; i++)
        {
          int eff = (k[i] - 1) * into->dilation[i] + 1, o = (size[i] + into->stride[i] - 1) / into->stride[i];
          int total = MAX ((o - 1) * into->stride[i] + eff - size[i], 0);
          into->pads[2 * i] = lower ? total - total / 2 : total / 2;
          into->pads[2 * i + 1] = total - into->pads[2 * i];
        }
    }
  else if (strcmp (auto_pad, "VALID") == 0)
    attr (r, "pads");
  else
    return fail (r, QR_ENGINE_ERROR_FORMAT, "auto_pad %s", auto_pad);
  return TRUE;
}

static gboolean
op_conv (Reader *r)
{
  int x = need (r, 0), w = need (r, 1), bias = input (r, 2), out, group, wid, mid, y;
  gint64 ks[2];
  QrTensor *wt;
  QrNode scratch = { 0 }, *node;
  int O, I, KH, KW, C;

  if (x < 0 || w < 0 || bias == -2)
    return FALSE;
  if (!float_values (r, x))
    return FALSE;
  if (shape (r, x)->rank != 4)
    return fail (r, QR_ENGINE_ERROR_UNSUPPORTED, "a rank-%d input (2-D convolutions only)", shape (r, x)->rank);
  wt = T (r, w);
  if (!wt->is_const || wt->shape.rank != 4)
    return fail (r, QR_ENGINE_ERROR_UNSUPPORTED, "weights that are not constant or not 4-D");
  if (bias >= 0 && (!is_const (r, bias) || shape (r, bias)->rank != 1 || shape (r, bias)->dims[0] != wt->shape.dims[0]))
    return fail (r, QR_ENGINE_ERROR_UNSUPPORTED, "a bias that is not a constant of one value per output channel");
  O = wt->shape.dims[0];
  I = wt->shape.dims[1];
  KH = wt->shape.dims[2];
  KW = wt->shape.dims[3];
  C = shape (r, x)->dims[1];
  group = (int) attr_int (r, "group", 1);
  if (attr_ints (r, "kernel_shape", ks, 2) == 2 && (ks[0] != KH || ks[1] != KW))
    return fail (r, QR_ENGINE_ERROR_FORMAT, "kernel_shape differs from the weights'");
  if (!window (r, x, KH, KW, &scratch, TRUE) || !check_attrs (r))
    return FALSE;
  if (group < 1 || C % group != 0 || O % group != 0 || I * group != C)
    return fail (r, QR_ENGINE_ERROR_FORMAT, "%d groups for %d input channels and weights of %d × %d", group, C, O, I);
  if (group != 1 && !(group == C && I == 1))
    return fail (r, QR_ENGINE_ERROR_UNSUPPORTED, "a grouped convolution of %d groups (1 or one per channel only)",
                 group);
  if (group == 1)
    {
      int dims[4] = { KH, KW, I, O };
      float *t = g_new (float, qr_shape_size (&wt->shape));
      for (int o = 0; o < O; o++)
        for (int i = 0; i < I; i++)
          for (int ky = 0; ky < KH; ky++)
            for (int kx = 0; kx < KW; kx++)
              t[(((gsize) ky * KW + kx) * I + i) * O + o] = wt->data[(((gsize) o * I + i) * KH + ky) * KW + kx];
      wid = const_tensor (r, "hwio", 4, dims, t);
      g_free (t);
    }
  else
    {
      int mult = O / C, dims[4] = { KH, KW, C, mult };
      float *t = g_new (float, qr_shape_size (&wt->shape));
      for (int c = 0; c < C; c++)
        for (int m = 0; m < mult; m++)
          for (int ky = 0; ky < KH; ky++)
            for (int kx = 0; kx < KW; kx++)
              t[(((gsize) ky * KW + kx) * C + c) * mult + m] = wt->data[(((gsize) (c * mult + m)) * KH + ky) * KW + kx];
      wid = const_tensor (r, "hwcm", 4, dims, t);
      g_free (t);
    }
  if ((out = output (r, 0, in_type (r, 0))) < 0 || (y = nhwc (r, x)) < 0)
    return FALSE;
  mid = temp (r, "conv");
  node = add (r, group == 1 ? QR_OP_CONV2D : QR_OP_DEPTHWISE, mid, y, wid);
  if (bias >= 0)
    node->inputs[node->n_inputs++] = bias;
  memcpy (node->stride, scratch.stride, sizeof node->stride);
  memcpy (node->dilation, scratch.dilation, sizeof node->dilation);
  memcpy (node->pads, scratch.pads, sizeof node->pads);
  node->padding = QR_PAD_EXPLICIT;
  return settle (r) && transpose (r, out, mid, 4, TO_NCHW);
}

/* Zeros between x's rows (NHWC): each row followed by s − 1 rows of zeros, the height becoming
 * H · s. Reshapes and a concat at rank 4, the batch kept first (so that any batch flows). */
static int
spread_rows (Reader *r, int x, int s)
{
  QrShape *in = shape (r, x);
  int N = in->dims[0], H = in->dims[1], W = in->dims[2], C = in->dims[3];
  int a[4] = { N, H, 1, W * C }, z[4] = { 1, H, s - 1, W * C }, b[4] = { N, H * s, W, C };
  int folded = temp (r, "spread"), joined = temp (r, "spread"), out = temp (r, "spread"), cat = 2;
  int nothing_x = temp (r, "zeros"), zeros = temp (r, "zeros");
  g_autofree float *nothing = NULL;
  QrNode *node;

  if ((gsize) N * H * s * W * C > ((gsize) 1 << 28))
    return fail (r, QR_ENGINE_ERROR_FORMAT, "a result of more than 2^28 values"), -1;
  nothing = g_new0 (float, MAX ((gsize) z[1] * z[2] * z[3], 1));
  if (!reshape_to (r, folded, x, 4, a))
    return -1;
  /* the zeros as x · 0 + a constant of one item: as many items as x has, whatever the batch */
  add (r, QR_OP_MUL, nothing_x, folded, const_scalar (r, "zero", 0.0f));
  if (!settle (r))
    return -1;
  add (r, QR_OP_ADD, zeros, nothing_x, const_tensor (r, "zeros", 4, z, nothing));
  if (!settle (r))
    return -1;
  node = add (r, QR_OP_CONCAT, joined, folded, zeros);
  node->inputs[node->n_inputs++] = const_vector (r, "axis", 1, &cat);
  if (!settle (r) || !reshape_to (r, out, joined, 4, b))
    return -1;
  return out;
}

/* The same between columns: rows and columns swapped around it. */
static int
spread_columns (Reader *r, int x, int s)
{
  static const int SWAP[4] = { 0, 2, 1, 3 };
  int swapped = temp (r, "swapped"), back = temp (r, "spread"), spread;
  if (!transpose (r, swapped, x, 4, SWAP) || (spread = spread_rows (r, swapped, s)) < 0
      || !transpose (r, back, spread, 4, SWAP))
    return -1;
  return back;
}

/* ConvTranspose (group 1) as a convolution: the input spread by the stride (zeros between its
 * values), padded by the kernel's reach less the pads, convolved with the kernel flipped and its
 * channels swapped. */
static gboolean
op_conv_transpose (Reader *r)
{
  int x = need (r, 0), w = need (r, 1), bias = input (r, 2), out, y, mid, wid;
  gint64 v[4], ks[2];
  int stride[2] = { 1, 1 }, dil[2] = { 1, 1 }, pads[4] = { 0, 0, 0, 0 }, opad[2] = { 0, 0 }, oshape[2] = { 0, 0 };
  int n, C, M, KH, KW, in_size[2], k[2], cut[2] = { 0, 0 }, conv_pads[4];
  const char *auto_pad = attr_string (r, "auto_pad", "NOTSET");
  QrTensor *wt;
  QrNode *node;

  if (x < 0 || w < 0 || bias == -2 || !float_values (r, x))
    return FALSE;
  if (shape (r, x)->rank != 4)
    return fail (r, QR_ENGINE_ERROR_UNSUPPORTED, "a rank-%d input (2-D transposed convolutions only)",
                 shape (r, x)->rank);
  wt = T (r, w);
  if (!wt->is_const || wt->shape.rank != 4)
    return fail (r, QR_ENGINE_ERROR_UNSUPPORTED, "weights that are not constant or not 4-D");
  C = wt->shape.dims[0];
  M = wt->shape.dims[1];
  KH = wt->shape.dims[2];
  KW = wt->shape.dims[3];
  if (bias >= 0 && (!is_const (r, bias) || shape (r, bias)->rank != 1 || shape (r, bias)->dims[0] != M))
    return fail (r, QR_ENGINE_ERROR_UNSUPPORTED, "a bias that is not a constant of one value per output channel");
  if (attr_int (r, "group", 1) != 1)
    return fail (r, QR_ENGINE_ERROR_UNSUPPORTED, "a grouped transposed convolution");
  if (shape (r, x)->dims[1] != C)
    return fail (r, QR_ENGINE_ERROR_FORMAT, "%d input channels for weights of %d", shape (r, x)->dims[1], C);
  if (attr_ints (r, "kernel_shape", ks, 2) == 2 && (ks[0] != KH || ks[1] != KW))
    return fail (r, QR_ENGINE_ERROR_FORMAT, "kernel_shape differs from the weights'");
  if ((n = attr_ints (r, "strides", v, 2)) == 2)
    stride[0] = (int) CLAMP (v[0], 0, 64), stride[1] = (int) CLAMP (v[1], 0, 64);
  else if (n >= 0)
    return fail (r, QR_ENGINE_ERROR_UNSUPPORTED, "%d strides (2-D only)", n);
  if ((n = attr_ints (r, "dilations", v, 2)) == 2)
    dil[0] = (int) CLAMP (v[0], 0, 64), dil[1] = (int) CLAMP (v[1], 0, 64);
  else if (n >= 0)
    return fail (r, QR_ENGINE_ERROR_UNSUPPORTED, "%d dilations (2-D only)", n);
  if ((n = attr_ints (r, "output_padding", v, 2)) == 2)
    opad[0] = (int) CLAMP (v[0], -1, 64), opad[1] = (int) CLAMP (v[1], -1, 64);
  else if (n >= 0)
    return fail (r, QR_ENGINE_ERROR_UNSUPPORTED, "%d output paddings (2-D only)", n);
  if ((n = attr_ints (r, "output_shape", v, 4)) == 2 || n == 4)
    oshape[0] = (int) CLAMP (v[n - 2], 0, 1 << 20), oshape[1] = (int) CLAMP (v[n - 1], 0, 1 << 20);
  else if (n >= 0)
    return fail (r, QR_ENGINE_ERROR_UNSUPPORTED, "an output_shape of %d values", n);
  if ((n = attr_ints (r, "pads", v, 4)) == 4)
    for (int i = 0; i < 4; i++)
      pads[i] = (int) CLAMP (v[i], -1, 4096);
  else if (n >= 0)
    return fail (r, QR_ENGINE_ERROR_UNSUPPORTED, "%d pads (2-D only)", n);
  if (!check_attrs (r))
    return FALSE;
  for (int i = 0; i < 2; i++)
    if (stride[i] < 1 || dil[i] < 1 || opad[i] < 0 || opad[i] >= MAX (stride[i], dil[i]) || pads[i] < 0
        || pads[i + 2] < 0)
      return fail (r, QR_ENGINE_ERROR_FORMAT, "strides, dilations, pads or output padding out of range");
  in_size[0] = shape (r, x)->dims[2];
  in_size[1] = shape (r, x)->dims[3];
  k[0] = (KH - 1) * dil[0] + 1;
  k[1] = (KW - 1) * dil[1] + 1;
  /* pads[] as ONNX orders them: h begin, w begin, h end, w end; output_shape or SAME decide them */
  for (int i = 0; i < 2; i++)
    {
      int full = stride[i] * (in_size[i] - 1) + opad[i] + k[i];
      int want = oshape[i] > 0 ? oshape[i] : strcmp (auto_pad, "NOTSET") != 0 && strcmp (auto_pad, "VALID") != 0
                                               ? in_size[i] * stride[i] : -1;
      if (want >= 0)
        {
          int total = full - want;
          if (total < 0)
            {
              /* larger than the kernel reaches: zeros past the end, as output padding */
              if (-total > 4096)
                return fail (r, QR_ENGINE_ERROR_FORMAT, "an output_shape far beyond the input");
              opad[i] += -total;
              total = 0;
            }
          if (strcmp (auto_pad, "SAME_LOWER") == 0)
            pads[i] = total - total / 2, pads[i + 2] = total / 2;
          else
            pads[i] = total / 2, pads[i + 2] = total - total / 2;
        }
      else if (strcmp (auto_pad, "VALID") == 0)
        pads[i] = pads[i + 2] = 0;
      /* the convolution's own padding: the kernel's reach less the pads, the output padding at the
         end; the spread leaves stride − 1 zeros at the end already */
      conv_pads[2 * i] = k[i] - 1 - pads[i];
      conv_pads[2 * i + 1] = k[i] - 1 - pads[i + 2] + opad[i] - (stride[i] - 1);
      if (conv_pads[2 * i] < 0)
        return fail (r, QR_ENGINE_ERROR_UNSUPPORTED, "pads beyond the kernel's reach");
      if (conv_pads[2 * i + 1] < 0)
        cut[i] = -conv_pads[2 * i + 1], conv_pads[2 * i + 1] = 0;
    }
  {
    int dims[4] = { KH, KW, C, M };
    float *t = g_new (float, qr_shape_size (&wt->shape));
    for (int c = 0; c < C; c++)
      for (int m = 0; m < M; m++)
        for (int ky = 0; ky < KH; ky++)
          for (int kx = 0; kx < KW; kx++)
            t[(((gsize) ky * KW + kx) * C + c) * M + m] = wt->data[(((gsize) c * M + m) * KH + (KH - 1 - ky)) * KW
                                                                   + (KW - 1 - kx)];
    wid = const_tensor (r, "hwio", 4, dims, t);
    g_free (t);
  }
  if ((out = output (r, 0, in_type (r, 0))) < 0 || (y = nhwc (r, x)) < 0)
    return FALSE;
  if (stride[1] > 1 && (y = spread_columns (r, y, stride[1])) < 0)
    return FALSE;
  if (stride[0] > 1 && (y = spread_rows (r, y, stride[0])) < 0)
    return FALSE;
  if (cut[0] > 0 || cut[1] > 0)
    {
      /* more padding taken off the end than the spread's zeros: the input's end cut instead */
      QrShape *s = shape (r, y);
      int begin[4] = { 0, 0, 0, 0 }, end[4] = { s->dims[0], s->dims[1] - cut[0], s->dims[2] - cut[1], s->dims[3] };
      int steps[4] = { 1, 1, 1, 1 }, cropped = temp (r, "cropped");
      if (end[1] < 1 || end[2] < 1)
        return fail (r, QR_ENGINE_ERROR_UNSUPPORTED, "pads that leave nothing");
      node = add (r, QR_OP_SLICE, cropped, y, const_vector (r, "begin", 4, begin));
      node->inputs[node->n_inputs++] = const_vector (r, "end", 4, end);
      node->inputs[node->n_inputs++] = const_vector (r, "steps", 4, steps);
      node->strided = TRUE;
      node->end_mask = 1;
      if (!settle (r))
        return FALSE;
      y = cropped;
    }
  mid = temp (r, "conv");
  node = add (r, QR_OP_CONV2D, mid, y, wid);
  if (bias >= 0)
    node->inputs[node->n_inputs++] = bias;
  node->stride[0] = node->stride[1] = 1;
  node->dilation[0] = dil[0];
  node->dilation[1] = dil[1];
  memcpy (node->pads, conv_pads, sizeof node->pads);
  node->padding = QR_PAD_EXPLICIT;
  return settle (r) && transpose (r, out, mid, 4, TO_NCHW);
}

static gboolean
op_pool (Reader *r)
{
  gboolean is_max = strcmp (r->node->op, "MaxPool") == 0, include_pad;
  int x = need (r, 0), out, mid, y;
  gint64 ks[2];
  QrNode scratch = { 0 }, *node;
  int n;

  if (x < 0 || !float_values (r, x))
    return FALSE;
  if (shape (r, x)->rank != 4)
    return fail (r, QR_ENGINE_ERROR_UNSUPPORTED, "a rank-%d input (2-D pooling only)", shape (r, x)->rank);
  if ((n = attr_ints (r, "kernel_shape", ks, 2)) != 2)
    return n == -2 ? FALSE : fail (r, QR_ENGINE_ERROR_UNSUPPORTED, "a kernel_shape of %d values (2-D pooling only)", n);
  if (!window (r, x, (int) CLAMP (ks[0], 0, 4097), (int) CLAMP (ks[1], 0, 4097), &scratch, TRUE))
    return FALSE;
  if (attr_int (r, "ceil_mode", 0) != 0)
    {
      /* a partial last window: the end padded further (the pools skip taps outside the image,
         as count_include_pad 0 asks), unless that window would start in the padding */
      for (int i = 0; i < 2; i++)
        {
          int size = shape (r, x)->dims[2 + i], begin = scratch.pads[2 * i], end = scratch.pads[2 * i + 1];
          int eff = ((int) ks[i] - 1) * scratch.dilation[i] + 1, s = scratch.stride[i];
          int span = size + begin + end - eff, o;
          if (span < 0)
            continue;
          o = (span + s - 1) / s + 1;
          if ((o - 1) * s >= size + begin)
            o--;
          scratch.pads[2 * i + 1] = MAX (end, (o - 1) * s + eff - size - begin);
        }
      if (!is_max && attr_int (r, "count_include_pad", 0) != 0)
        return fail (r, QR_ENGINE_ERROR_UNSUPPORTED, "count_include_pad with ceil_mode");
    }
  if (is_max && attr_int (r, "storage_order", 0) != 0)
    return fail (r, QR_ENGINE_ERROR_UNSUPPORTED, "storage_order 1");
  include_pad = !is_max && attr_int (r, "count_include_pad", 0) != 0
                && (scratch.pads[0] || scratch.pads[1] || scratch.pads[2] || scratch.pads[3]);
  if (!check_attrs (r))
    return FALSE;
  if (r->node->outputs->len > 1 && ((char *) r->node->outputs->pdata[1])[0])
    return fail (r, QR_ENGINE_ERROR_UNSUPPORTED, "the indices output");
  if ((out = output (r, 0, in_type (r, 0))) < 0 || (y = nhwc (r, x)) < 0)
    return FALSE;
  if (include_pad)
    {
      /* the padding's zeros count in the average: padded explicitly (NHWC), then pooled without */
      float values[8] = { 0, 0, (float) scratch.pads[0], (float) scratch.pads[1], (float) scratch.pads[2],
                          (float) scratch.pads[3], 0, 0 };
      int dims[2] = { 4, 2 }, padded = temp (r, "padded");
      add (r, QR_OP_PAD, padded, y, const_tensor (r, "paddings", 2, dims, values));
      if (!settle (r))
        return FALSE;
      memset (scratch.pads, 0, sizeof scratch.pads);
      y = padded;
    }
  mid = temp (r, "pool");
  node = add (r, is_max ? QR_OP_MAXPOOL : QR_OP_AVGPOOL, mid, y, -1);
  memcpy (node->stride, scratch.stride, sizeof node->stride);
  memcpy (node->dilation, scratch.dilation, sizeof node->dilation);
  memcpy (node->pads, scratch.pads, sizeof node->pads);
  node->kernel[0] = (int) ks[0];
  node->kernel[1] = (int) ks[1];
  node->padding = QR_PAD_EXPLICIT;
  return settle (r) && transpose (r, out, mid, 4, TO_NCHW);
}

static gboolean
op_batch_norm (Reader *r)
{
  int x = need (r, 0), ins[4], out, C, scale_id, shift_id, mid, dims[QR_MAX_RANK];
  float eps = attr_float (r, "epsilon", 1e-5f);
  g_autofree float *scale = NULL, *shift = NULL;
  int rank;

  attr (r, "momentum");
  if (x < 0)
    return FALSE;
  for (int i = 0; i < 4; i++)
    if ((ins[i] = need (r, (guint) i + 1)) < 0)
      return FALSE;
  if (attr_int (r, "training_mode", 0) != 0)
    return fail (r, QR_ENGINE_ERROR_UNSUPPORTED, "training mode");
  if (!check_attrs (r) || !float_values (r, x))
    return FALSE;
  if (r->node->outputs->len > 1)
    for (guint k = 1; k < r->node->outputs->len; k++)
      if (((char *) r->node->outputs->pdata[k])[0])
        return fail (r, QR_ENGINE_ERROR_UNSUPPORTED, "the running mean and variance outputs");
  rank = shape (r, x)->rank;
  if (rank < 2)
    return fail (r, QR_ENGINE_ERROR_FORMAT, "a rank-%d input", rank);
  C = shape (r, x)->dims[1];
  for (int i = 0; i < 4; i++)
    if (!is_const (r, ins[i]) || qr_shape_size (shape (r, ins[i])) != (gsize) C)
      return fail (r, QR_ENGINE_ERROR_UNSUPPORTED, "scale, bias, mean and variance must be constants of %d values", C);
  scale = g_new (float, C);
  shift = g_new (float, C);
  for (int c = 0; c < C; c++)
    {
      float s = T (r, ins[0])->data[c] / sqrtf (T (r, ins[3])->data[c] + eps);
      scale[c] = s;
      shift[c] = T (r, ins[1])->data[c] - T (r, ins[2])->data[c] * s;
    }
  dims[0] = C;
  for (int d = 1; d < rank - 1; d++)
    dims[d] = 1;
  scale_id = const_tensor (r, "scale", rank - 1, dims, scale);
  shift_id = const_tensor (r, "shift", rank - 1, dims, shift);
  if ((out = output (r, 0, in_type (r, 0))) < 0)
    return FALSE;
  mid = temp (r, "scaled");
  add (r, QR_OP_MUL, mid, x, scale_id);
  if (!settle (r))
    return FALSE;
  add (r, QR_OP_ADD, out, mid, shift_id);
  return settle (r);
}

static gboolean
op_matmul (Reader *r)
{
  int a = need (r, 0), b = need (r, 1), out;
  if (a < 0 || b < 0 || !check_attrs (r) || !float_values (r, a))
    return FALSE;
  if (shape (r, a)->rank < 2 || shape (r, b)->rank < 2)
    return fail (r, QR_ENGINE_ERROR_UNSUPPORTED, "a 1-D operand");
  if ((out = output (r, 0, in_type (r, 0))) < 0)
    return FALSE;
  add (r, QR_OP_MATMUL, out, a, b);
  return settle (r);
}

static gboolean
op_gemm (Reader *r)
{
  int a = need (r, 0), b = need (r, 1), c = input (r, 2), out, prod, scaled;
  float alpha = attr_float (r, "alpha", 1.0f), beta = attr_float (r, "beta", 1.0f);
  gboolean ta = attr_int (r, "transA", 0) != 0, tb = attr_int (r, "transB", 0) != 0;
  QrNode *node;

  if (a < 0 || b < 0 || c == -2 || !check_attrs (r) || !float_values (r, a))
    return FALSE;
  if (shape (r, a)->rank != 2 || shape (r, b)->rank != 2)
    return fail (r, QR_ENGINE_ERROR_FORMAT, "operands of rank %d and %d (2 each)", shape (r, a)->rank, shape (r, b)->rank);
  if ((out = output (r, 0, in_type (r, 0))) < 0)
    return FALSE;
  prod = (alpha != 1.0f || c >= 0) ? temp (r, "product") : out;
  node = add (r, QR_OP_MATMUL, prod, a, b);
  node->transpose_a = ta;
  node->transpose_b = tb;
  if (!settle (r))
    return FALSE;
  scaled = prod;
  if (alpha != 1.0f)
    {
      scaled = c >= 0 ? temp (r, "scaled") : out;
      add (r, QR_OP_MUL, scaled, prod, const_scalar (r, "alpha", alpha));
      if (!settle (r))
        return FALSE;
    }
  if (c >= 0)
    {
      int cc = c;
      if (beta != 1.0f)
        {
          cc = temp (r, "beta-c");
          add (r, QR_OP_MUL, cc, c, const_scalar (r, "beta", beta));
          if (!settle (r))
            return FALSE;
        }
      add (r, QR_OP_ADD, out, scaled, cc);
      return settle (r);
    }
  return TRUE;
}

static const struct
{
  const char *name;
  OpFunc      func;
} OPS[] = {
  { "Abs", op_unary },
  { "Add", op_binary },
  { "And", op_compare },
  { "ArgMax", op_argmax },
  { "ArgMin", op_argmax },
  { "AveragePool", op_pool },
  { "BatchNormalization", op_batch_norm },
  { "Cast", op_cast },
  { "Ceil", op_unary },
  { "Clip", op_clip },
  { "Concat", op_concat },
  { "Constant", op_constant },
  { "ConstantOfShape", op_constant_of_shape },
  { "Conv", op_conv },
  { "ConvTranspose", op_conv_transpose },
  { "Div", op_binary },
  { "Dropout", op_identity },
  { "Equal", op_compare },
  { "Erf", op_unary },
  { "Exp", op_unary },
  { "Expand", op_expand },
  { "Flatten", op_reshape_like },
  { "Floor", op_unary },
  { "Gather", op_gather },
  { "Gemm", op_gemm },
  { "GlobalAveragePool", op_global_average_pool },
  { "Greater", op_compare },
  { "GreaterOrEqual", op_compare },
  { "HardSigmoid", op_unary },
  { "HardSwish", op_unary },
  { "Identity", op_identity },
  { "LayerNormalization", op_layer_norm },
  { "LeakyRelu", op_unary },
  { "Less", op_compare },
  { "LessOrEqual", op_compare },
  { "Log", op_unary },
  { "MatMul", op_matmul },
  { "Max", op_binary },
  { "MaxPool", op_pool },
  { "Min", op_binary },
  { "Mul", op_binary },
  { "Neg", op_unary },
  { "Not", op_compare },
  { "Or", op_compare },
  { "Pad", op_pad },
  { "Pow", op_binary },
  { "Range", op_range },
  { "Reciprocal", op_unary },
  { "ReduceL1", op_reduce },
  { "ReduceL2", op_reduce },
  { "ReduceMax", op_reduce },
  { "ReduceMean", op_reduce },
  { "ReduceMin", op_reduce },
  { "ReduceSum", op_reduce },
  { "ReduceSumSquare", op_reduce },
  { "Relu", op_unary },
  { "Reshape", op_reshape_like },
  { "Resize", op_resize },
  { "Round", op_unary },
  { "Shape", op_shape },
  { "Sigmoid", op_unary },
  { "Slice", op_slice },
  { "Softmax", op_softmax },
  { "Split", op_split },
  { "Sqrt", op_unary },
  { "Squeeze", op_reshape_like },
  { "Sub", op_binary },
  { "Sum", op_binary },
  { "Tanh", op_unary },
  { "Transpose", op_transpose },
  { "Unsqueeze", op_reshape_like },
  { "Where", op_where },
  { "Xor", op_compare },
};

const char *const *
qr_onnx_supported_ops (void)
{
  static const char *names[G_N_ELEMENTS (OPS) + 1];
  for (guint i = 0; i < G_N_ELEMENTS (OPS); i++)
    names[i] = OPS[i].name;
  return names;
}

static gboolean
import_node (Reader *r, const Node *node)
{
  r->node = node;
  if (node->domain[0] && strcmp (node->domain, "ai.onnx") != 0)
    return fail (r, QR_ENGINE_ERROR_UNSUPPORTED, "ops of domain %s are not supported", node->domain);
  if (node->outputs->len < 1)
    return fail (r, QR_ENGINE_ERROR_FORMAT, "no outputs");
  for (guint i = 0; i < G_N_ELEMENTS (OPS); i++)
    if (strcmp (OPS[i].name, node->op) == 0)
      {
        gboolean (*func) (Reader *) = OPS[i].func;
        gboolean elementwise = func == op_unary || func == op_binary || func == op_clip || func == op_identity
                               || func == op_cast;
        gboolean lead_aware = elementwise || func == op_transpose || func == op_reshape_like || func == op_concat
                              || func == op_split || func == op_slice || func == op_shape || func == op_expand;
        int most = 0;
        for (guint k = 0; k < node->inputs->len; k++)
          {
            int id = ((char *) node->inputs->pdata[k])[0] ? qr_graph_find_tensor (r->graph, node->inputs->pdata[k]) : -1;
            if (id < 0)
              continue;
            if (lead_of (r, id) > 0 && !lead_aware)
              return fail (r, QR_ENGINE_ERROR_UNSUPPORTED, "%s of a rank-%d tensor (the engine holds rank 4; only "
                           "elementwise ops, Transpose, Reshape, Expand, Concat, Split and Slice take more)", node->op,
                           onnx_rank (r, id));
            most = MAX (most, onnx_rank (r, id));
          }
        if (!func (r))
          return FALSE;
        /* an elementwise result has the rank of its highest-ranked input */
        for (guint k = 0; elementwise && k < node->outputs->len; k++)
          {
            int id = ((char *) node->outputs->pdata[k])[0] ? qr_graph_find_tensor (r->graph, node->outputs->pdata[k]) : -1;
            if (id >= 0 && most > shape (r, id)->rank)
              set_lead (r, id, most - shape (r, id)->rank);
          }
        return TRUE;
      }
  return fail (r, QR_ENGINE_ERROR_UNSUPPORTED, "op %s is not supported", node->op);
}

/* ---- the model --------------------------------------------------------------------------- */

char **
qr_onnx_model_ops (const char *path, GError **error)
{
  g_autoptr (GPtrArray) ops = g_ptr_array_new_with_free_func (g_free);
  Reader r = { 0 };
  g_autoptr (GMappedFile) mapped = map_file (&r, path, "ONNX model", error);
  QrPbMessage model;
  QrPbField f;

  if (mapped == NULL)
    return NULL;
  model = qr_pb_root (&r.pb);
  while (qr_pb_next (&r.pb, &model, &f))
    if (f.number == 7 && f.wire == QR_PB_BYTES)
      {
        QrPbMessage gm = qr_pb_sub (&f);
        QrPbField g;
        while (qr_pb_next (&r.pb, &gm, &g))
          if (g.number == 1 && g.wire == QR_PB_BYTES)
            {
              QrPbMessage nm = qr_pb_sub (&g);
              QrPbField h;
              while (qr_pb_next (&r.pb, &nm, &h))
                if (h.number == 4)
                  {
                    char *op = qr_pb_string (&r.pb, &h);
                    gboolean seen = FALSE;
                    for (guint i = 0; i < ops->len && !seen; i++)
                      seen = strcmp (ops->pdata[i], op) == 0;
                    if (seen)
                      g_free (op);
                    else
                      g_ptr_array_add (ops, op);
                  }
            }
      }
  if (r.pb.failed)
    return NULL;
  g_ptr_array_add (ops, NULL);
  return (char **) g_ptr_array_free (g_steal_pointer (&ops), FALSE);
}

GHashTable *
qr_onnx_model_metadata (const char *path, GError **error)
{
  g_autoptr (GHashTable) table = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  Reader r = { 0 };
  g_autoptr (GMappedFile) mapped = map_file (&r, path, "ONNX model", error);
  QrPbMessage model;
  QrPbField f;

  if (mapped == NULL)
    return NULL;
  model = qr_pb_root (&r.pb);
  /* ModelProto.metadata_props (14): StringStringEntryProto { key 1, value 2 } */
  while (qr_pb_next (&r.pb, &model, &f))
    if (f.number == 14 && f.wire == QR_PB_BYTES)
      {
        QrPbMessage e = qr_pb_sub (&f);
        QrPbField g;
        g_autofree char *key = NULL, *value = NULL;
        while (qr_pb_next (&r.pb, &e, &g))
          if (g.number == 1 && g.wire == QR_PB_BYTES)
            g_free (key), key = qr_pb_string (&r.pb, &g);
          else if (g.number == 2 && g.wire == QR_PB_BYTES)
            g_free (value), value = qr_pb_string (&r.pb, &g);
        if (key != NULL && !r.pb.failed)
          g_hash_table_replace (table, g_steal_pointer (&key), value != NULL ? g_steal_pointer (&value) : g_strdup (""));
      }
  if (r.pb.failed)
    return NULL;
  return g_steal_pointer (&table);
}

static const QrOnnxTensor *
bound (Reader *r, const char *name)
{
  for (guint i = 0; r->options != NULL && i < r->options->n_bound; i++)
    if (r->options->bound[i] != NULL && g_strcmp0 (r->options->bound[i]->name, name) == 0)
      return r->options->bound[i];
  return NULL;
}

static gboolean
add_constant (Reader *r, const QrOnnxTensor *t)
{
  int rank = t->rank, dims[QR_ONNX_MAX_RANK], lead, id;
  g_autofree char *what = g_strdup_printf ("tensor %s", t->name);

  memcpy (dims, t->dims, sizeof (int) * (gsize) rank);
  if (!strip_lead (r, &rank, dims, &lead, what))
    return FALSE;
  if (qr_graph_find_tensor (r->graph, t->name) >= 0)
    return fail (r, QR_ENGINE_ERROR_FORMAT, "tensor %s is given twice", t->name);
  id = qr_graph_add_const (r->graph, t->name, rank, dims, g_memdup2 (t->data, MAX (t->n, 1) * sizeof (float)));
  set_lead (r, id, lead);
  g_hash_table_insert (r->types, g_strdup (t->name), GINT_TO_POINTER (t->data_type));
  return TRUE;
}

/* options->outputs: leaves in outputs only those, in nodes only the nodes they need, and gives the
 * names of every tensor they need (inputs and initializers included) in *needed. */
static gboolean
keep_wanted (Reader *r, GPtrArray *nodes, GPtrArray *outputs, GHashTable **needed)
{
  const char *const *wanted = r->options->outputs;
  g_autoptr (GArray) keep = g_array_sized_new (FALSE, TRUE, sizeof (gboolean), nodes->len);
  gboolean changed = TRUE;

  g_array_set_size (keep, nodes->len);
  *needed = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  for (guint w = 0; wanted[w] != NULL; w++)
    {
      gboolean found = FALSE;
      for (guint i = 0; i < outputs->len; i++)
        found |= g_strcmp0 (((const ValueInfo *) outputs->pdata[i])->name, wanted[w]) == 0;
      if (!found)
        {
          g_autoptr (GString) names = g_string_new (NULL);
          for (guint i = 0; i < outputs->len; i++)
            g_string_append_printf (names, "%s%s", i > 0 ? ", " : "", ((const ValueInfo *) outputs->pdata[i])->name);
          return fail (r, QR_ENGINE_ERROR_UNSUPPORTED, "no output named %s (its outputs: %s)", wanted[w],
                       names->len > 0 ? names->str : "none");
        }
      g_hash_table_add (*needed, g_strdup (wanted[w]));
    }
  for (guint i = outputs->len; i-- > 0;)
    if (!g_strv_contains (wanted, ((const ValueInfo *) outputs->pdata[i])->name))
      g_ptr_array_remove_index (outputs, i);
  /* backwards from the outputs; ONNX lists nodes in topological order, but a pass more costs little */
  while (changed)
    {
      changed = FALSE;
      for (guint i = nodes->len; i-- > 0;)
        {
          const Node *node = nodes->pdata[i];
          gboolean used = FALSE;
          if (g_array_index (keep, gboolean, i))
            continue;
          for (guint k = 0; k < node->outputs->len && !used; k++)
            used = g_hash_table_contains (*needed, node->outputs->pdata[k]);
          if (!used)
            continue;
          g_array_index (keep, gboolean, i) = TRUE;
          changed = TRUE;
          for (guint k = 0; k < node->inputs->len; k++)
            if (((const char *) node->inputs->pdata[k])[0] != '\0')
              g_hash_table_add (*needed, g_strdup (node->inputs->pdata[k]));
        }
    }
  for (guint i = nodes->len; i-- > 0;)
    if (!g_array_index (keep, gboolean, i))
      g_ptr_array_remove_index (nodes, i);
  return TRUE;
}

QrGraph *
qr_graph_load_onnx (const char *path, const QrOnnxOptions *options, GError **error)
{
  g_autoptr (GHashTable) needed = NULL;
  g_autoptr (GMappedFile) mapped = NULL;
  g_autoptr (QrGraph) graph = NULL;
  g_autoptr (GPtrArray) nodes = g_ptr_array_new_with_free_func ((GDestroyNotify) node_free);
  g_autoptr (GPtrArray) inputs = g_ptr_array_new_with_free_func ((GDestroyNotify) value_info_free);
  g_autoptr (GPtrArray) outputs = g_ptr_array_new_with_free_func ((GDestroyNotify) value_info_free);
  g_autoptr (GPtrArray) initializers = g_ptr_array_new_with_free_func ((GDestroyNotify) qr_onnx_tensor_free);
  g_autoptr (GHashTable) types = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autofree char *dir = g_path_get_dirname (path);
  Reader r = { 0 };
  QrProtobuf *p = &r.pb;
  QrPbMessage model, gm = { 0 };
  QrPbField f;
  gboolean has_graph = FALSE;
  const ValueInfo *live = NULL;
  g_autoptr (GArray) lead = g_array_new (FALSE, TRUE, sizeof (guint8));

  r.lead = lead;
  if (g_file_test (path, G_FILE_TEST_IS_DIR))
    {
      g_set_error (error, QR_ENGINE_ERROR, QR_ENGINE_ERROR_IO, "%s: a folder, not an ONNX model file", path);
      return NULL;
    }
  if ((mapped = map_file (&r, path, "ONNX model", error)) == NULL)
    return NULL;
  r.dir = dir;
  r.types = types;
  r.options = options;
  r.opset = -1;

  model = qr_pb_root (p);
  while (qr_pb_next (p, &model, &f))
    if (f.number == 7 && f.wire == QR_PB_BYTES)
      gm = qr_pb_sub (&f), has_graph = TRUE;
    else if (f.number == 8 && f.wire == QR_PB_BYTES)
      {
        QrPbMessage o = qr_pb_sub (&f);
        QrPbField g;
        g_autofree char *domain = NULL;
        gint64 version = -1;
        while (qr_pb_next (p, &o, &g))
          if (g.number == 1)
            g_free (domain), domain = qr_pb_string (p, &g);
          else if (g.number == 2)
            version = (gint64) g.value;
        if (domain == NULL || domain[0] == '\0' || strcmp (domain, "ai.onnx") == 0)
          r.opset = (int) CLAMP (version, -1, 1000);
      }
  if (p->failed)
    return NULL;
  if (!has_graph)
    {
      g_set_error (error, QR_ENGINE_ERROR, QR_ENGINE_ERROR_FORMAT, "%s: not an ONNX model (no graph)", path);
      return NULL;
    }
  if (r.opset < QR_ONNX_MIN_OPSET || r.opset > QR_ONNX_MAX_OPSET)
    {
      g_set_error (error, QR_ENGINE_ERROR, QR_ENGINE_ERROR_UNSUPPORTED, "%s: opset %d (Quorum reads opsets %d to %d; "
                   "export the model again with one of those)", path, r.opset, QR_ONNX_MIN_OPSET, QR_ONNX_MAX_OPSET);
      return NULL;
    }

  while (qr_pb_next (p, &gm, &f))
    switch (f.number)
      {
      case 1: g_ptr_array_add (nodes, read_node (&r, qr_pb_sub (&f))); break;
      case 5:
        {
          QrOnnxTensor *t = read_tensor (&r, qr_pb_sub (&f));
          if (t != NULL)
            g_ptr_array_add (initializers, t);
          break;
        }
      case 11: g_ptr_array_add (inputs, read_value_info (&r, qr_pb_sub (&f))); break;
      case 12: g_ptr_array_add (outputs, read_value_info (&r, qr_pb_sub (&f))); break;
      case 15:
        fail (&r, QR_ENGINE_ERROR_UNSUPPORTED, "sparse initializers are not supported");
        break;
      default: break;
      }
  if (p->failed)
    return NULL;

  if (options != NULL && options->outputs != NULL && !keep_wanted (&r, nodes, outputs, &needed))
    return NULL;

  graph = qr_graph_new (path);
  r.graph = graph;
  for (guint i = 0; i < initializers->len; i++)
    if (needed != NULL && !g_hash_table_contains (needed, ((QrOnnxTensor *) initializers->pdata[i])->name))
      continue;
    else if (!add_constant (&r, initializers->pdata[i]))
      return NULL;
  for (guint i = 0; i < inputs->len; i++)
    {
      const ValueInfo *v = inputs->pdata[i];
      const QrOnnxTensor *b = bound (&r, v->name);
      if (qr_graph_find_tensor (graph, v->name) >= 0)
        continue;   /* an initializer: a constant with a default */
      if (needed != NULL && !g_hash_table_contains (needed, v->name))
        continue;   /* the other tower's */
      if (b != NULL)
        {
          /* 16-bit floats given as their bits (uint16, as ONNX's own test data stores bfloat16) */
          if ((v->type == T_BFLOAT16 || v->type == T_FLOAT16) && b->data_type == T_UINT16)
            {
              QrOnnxTensor copy = *b;
              g_autofree float *values = g_new (float, MAX (b->n, 1));
              for (gsize k = 0; k < b->n; k++)
                {
                  guint16 bits = (guint16) b->data[k];
                  if (v->type == T_FLOAT16)
                    values[k] = half_to_float (bits);
                  else
                    {
                      guint32 w = (guint32) bits << 16;
                      memcpy (&values[k], &w, 4);
                    }
                }
              copy.data = values;
              copy.data_type = v->type;
              if (!add_constant (&r, &copy))
                return NULL;
              continue;
            }
          if (!add_constant (&r, b))
            return NULL;
          continue;
        }
      if (live != NULL)
        {
          fail (&r, QR_ENGINE_ERROR_UNSUPPORTED, "the model has inputs %s and %s (one is supported)", live->name,
                v->name);
          return NULL;
        }
      live = v;
    }
  if (live == NULL && !(options != NULL && options->constants_only))
    {
      fail (&r, QR_ENGINE_ERROR_FORMAT, "no input");
      return NULL;
    }
  if (live == NULL)
    r.batch = 1;   /* every input bound: the outputs fold to constants */
  else
    {
    if (live->rank < 1 || live->rank > QR_MAX_RANK)
      {
        fail (&r, QR_ENGINE_ERROR_UNSUPPORTED, "input %s has rank %d (1 to 4 are supported)", live->name, live->rank);
        return NULL;
      }
    /* integer inputs (token ids) are given as floats: exact below 2^24 */
    if (!is_float_type (live->type) && live->type != T_INT64 && live->type != T_INT32)
      {
        fail (&r, QR_ENGINE_ERROR_UNSUPPORTED, "input %s holds %s values (float, int32 and int64 inputs only)",
              live->name, type_name (live->type));
        return NULL;
      }
    {
      gboolean nhwc = options != NULL && options->nhwc_input;
      g_autofree char *input_name = nhwc ? g_strconcat (live->name, "/nhwc", NULL) : g_strdup (live->name);
      int id = qr_graph_add_tensor (graph, input_name);
      QrTensor *t = qr_graph_tensor (graph, id);
      QrNode *node = qr_graph_add_node (graph, QR_OP_INPUT, input_name);
      node->source_op = g_strdup ("input");
      node->outputs[node->n_outputs++] = id;
      t->producer = (int) graph->nodes->len - 1;
      t->shape.rank = live->rank;
      for (int d = 0; d < live->rank; d++)
        {
          int wanted = options != NULL ? options->input_dims[d] : 0;
          if (wanted > 0 && live->dims[d] > 0 && wanted != live->dims[d])
            {
              fail (&r, QR_ENGINE_ERROR_UNSUPPORTED, "input %s has %d in dimension %d, not the %d asked for", live->name,
                    live->dims[d], d, wanted);
              return NULL;
            }
          /* a symbolic size: the caller's, else 1 */
          t->shape.dims[d] = live->dims[d] > 0 ? live->dims[d] : wanted > 0 ? wanted : 1;
          if (live->dims[d] == 0)
            {
              fail (&r, QR_ENGINE_ERROR_UNSUPPORTED, "input %s is empty", live->name);
              return NULL;
            }
        }
      r.batch = t->shape.dims[0];
      if (live->dims[0] > 0 && (options == NULL || !options->any_batch))
        graph->fixed_batch = live->dims[0];   /* a fixed size, not a batch of any size */
      else if (live->dims[0] < 0 && options != NULL && options->input_dims[0] > 1)
        graph->fixed_batch = options->input_dims[0];   /* shapes folded for the batch the caller asked for */
      g_array_append_val (graph->inputs, id);
      g_hash_table_insert (types, g_strdup (input_name), GINT_TO_POINTER (live->type));
      if (nhwc)
        {
          int c = t->shape.dims[1], h = t->shape.dims[2], w = t->shape.dims[3], nchw;
          if (live->rank != 4 || (c != 1 && c != 3) || live->dims[1] <= 0)
            {
              fail (&r, QR_ENGINE_ERROR_UNSUPPORTED, "input %s is not an image (N × 1 or 3 channels × H × W)",
                    live->name);
              return NULL;
            }
          t->shape.dims[1] = h;
          t->shape.dims[2] = w;
          t->shape.dims[3] = c;
          nchw = qr_graph_add_tensor (graph, live->name);
          g_hash_table_insert (types, g_strdup (live->name), GINT_TO_POINTER (live->type));
          if (!transpose (&r, nchw, id, 4, TO_NCHW))
            return NULL;
        }
    }
    }

  for (guint i = 0; i < nodes->len; i++)
    if (!import_node (&r, nodes->pdata[i]))
      return NULL;
  r.node = NULL;
  for (guint i = 0; i < outputs->len; i++)
    {
      const ValueInfo *v = outputs->pdata[i];
      int id = qr_graph_find_tensor (graph, v->name);
      if (id < 0)
        {
          fail (&r, QR_ENGINE_ERROR_FORMAT, "output %s is made by no node", v->name);
          return NULL;
        }
      if (lead_of (&r, id) > 0)
        {
          fail (&r, QR_ENGINE_ERROR_UNSUPPORTED, "output %s has rank %d (the engine holds rank 4)", v->name,
                onnx_rank (&r, id));
          return NULL;
        }
      g_array_append_val (graph->outputs, id);
    }
  if (outputs->len == 0)
    {
      fail (&r, QR_ENGINE_ERROR_FORMAT, "no outputs");
      return NULL;
    }
  if (r.dropped)
    {
      /* the batch is one of the left-out ones: one image at a time */
      if (r.batch != 1)
        {
          fail (&r, QR_ENGINE_ERROR_UNSUPPORTED, "tensors of rank 5 or more with a batch of %d (the engine holds "
                "rank 4; a higher rank runs with a batch of 1)", r.batch);
          return NULL;
        }
      graph->fixed_batch = 1;
      graph->fixed_why = "tensors of rank 5 inside hold the batch in a dimension the engine leaves out";
    }
  if (!qr_graph_finish (graph, error))
    return NULL;
  /* ONNX graphs have not been run on a GPU yet (no GPU was lent while they were built): the CPU,
     whose answers are checked, until a GPU run checks the CUDA path (QUORUM_ONNX_GPU=1 tries it) */
  if (g_strcmp0 (g_getenv ("QUORUM_ONNX_GPU"), "1") != 0)
    graph->cpu_only = "ONNX models run on the CPU until their GPU path has been checked on a GPU "
                      "(QUORUM_ONNX_GPU=1 tries the GPU)";
  return g_steal_pointer (&graph);
}

/* dataset-private.h: the in-memory dataset that every format reads into and writes from. Boxes
 * are in image pixels (x1, y1, x2, y2) unless `normalised` says they are YOLO fractions still to
 * be scaled by the image's size. */
#pragma once

#include "qr-dataset.h"

typedef struct
{
  guint    class_index;   /* into Dataset.classes */
  double   x1, y1, x2, y2;
  gboolean iscrowd;
} DsBox;

typedef struct
{
  char      *file;        /* as the dataset names it */
  char      *where;       /* where it was read ("instances.json:12:5"), for messages */
  int        width;       /* as the dataset says; 0 when it does not */
  int        height;
  gboolean   normalised;
  GArray    *boxes;       /* DsBox */
  GPtrArray *captions;    /* char*, or NULL */
  gint64     image_id;    /* the catalog's, once resolved; export: set from the catalog */
  gboolean   val;         /* export: in the validation split */
} DsImage;

typedef struct
{
  GPtrArray  *classes;      /* char* names, index = class id */
  GHashTable *class_index;  /* name → index + 1 */
  GPtrArray  *images;       /* DsImage* */
  GHashTable *by_file;      /* file → DsImage*, to merge entries for the same image */
} Dataset;

Dataset *ds_new          (void);
void     ds_free         (Dataset    *ds);
guint    ds_class        (Dataset    *ds,
                          const char *name);
DsImage *ds_image        (Dataset    *ds,
                          const char *file,
                          const char *where);
void     ds_add_box      (DsImage    *image,
                          guint       class_index,
                          double      x1,
                          double      y1,
                          double      x2,
                          double      y2,
                          gboolean    iscrowd);
/* Reads a whole file, refusing one over max_size; errors name the file. */
char    *ds_read_file    (const char *path,
                          guint64     max_size,
                          gsize      *len,
                          GError    **error);
/* Writes a file under a folder, making parent folders. */
/* The images' captions as a COCO captions file (annotations/captions[_SPLIT].json), when any
 * exported image has one. */
gboolean ds_write_captions (Dataset  *ds,
                            const char *dir,
                            const char *split_name,
                            gboolean  want_val,
                            GError  **error);
gboolean ds_write_file   (const char *dir,
                          const char *relative,
                          const char *data,
                          gsize       len,
                          GError    **error);
/* The dataset's path for an image, with its extension replaced (YOLO .txt, VOC .xml). */
char    *ds_replace_extension (const char *path,
                               const char *extension);
/* Calls func for each file under root whose name ends with suffix, in name order, skipping
 * hidden entries and symbolic links. */
typedef gboolean (*DsFileFunc) (const char *path,
                                const char *relative,
                                gpointer    data,
                                GError    **error);
gboolean ds_walk_files   (const char *root,
                          const char *relative,
                          const char *suffix,
                          DsFileFunc  func,
                          gpointer    data,
                          GError    **error);
/* For g_ptr_array_sort over strings (it passes pointers to the elements). */
int      ds_compare_strings (gconstpointer a,
                             gconstpointer b);
/* Formats a coordinate so that reading it back gives the same double. */
void     ds_append_number (GString   *out,
                           double     value);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Dataset, ds_free)

/* A format: its name (--format), a reader that fills ds, and a writer that writes the images with
 * val == want_val under dir (split_name "train", "val" or NULL: no split). images_folder: where
 * copied or linked images go, NULL for images/[SPLIT/]. Each format's file defines its own;
 * dataset.c lists them by QrDatasetFormat. */
typedef struct
{
  const char *name;
  const char *images_folder;
  gboolean  (*read)  (Dataset *ds, const QrImportOptions *options, GError **error);
  gboolean  (*write) (Dataset *ds, const char *dir, const char *split_name, gboolean want_val, GError **error);
} DsFormat;

extern const DsFormat ds_format_coco, ds_format_yolo, ds_format_voc, ds_format_csv;

/* The format of a QrDatasetFormat, and how many there are. */
const DsFormat *ds_format    (QrDatasetFormat format);
guint           ds_n_formats (void);

/* Where exported images go (relative to the export folder) when copied or linked. */
char    *ds_image_destination (QrDatasetFormat format,
                               const char     *split_name,
                               const char     *file);

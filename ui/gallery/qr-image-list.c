/* qr-image-list.c: the gallery's model. 100,000 images cost 800 KB of ids; an item (a small
 * GObject) exists only for rows a cell has shown, and at most MAX_TEXTURES thumbnails stay
 * decoded. The loader thread owns its own catalog connection (WAL lets it read while a job
 * writes), takes the newest request first, and hands textures back on the main thread. */
#define G_LOG_DOMAIN "quorum-gallery"

#include "qr-image-list.h"

#include <math.h>
#include "qr-image.h"

#include <string.h>

#define MAX_TEXTURES 3000

struct _QrImageItem
{
  GObject       parent_instance;

  /* Borrowed references */
  QrImageList  *list;        /* cleared when the list goes */

  /* Owned references */
  GdkTexture   *thumbnail;
  char         *path;
  char         *reason;

  gint64        id;
  int           width;
  int           height;
  QrImageState  state;
  gint64        n_labels;
  gint64        n_detections;
  double        mistake_score;  /* the highest open review item, -1: none */
  gboolean      reviewed;
  double        search_score;   /* the search's score, NAN when not searching */
  gboolean      requested;   /* a request is queued or was answered with nothing */
  GList        *lru_link;    /* in list->lru while a thumbnail is held */
};

enum { ITEM_PROP_0, ITEM_PROP_THUMBNAIL, ITEM_PROP_N_LABELS, ITEM_N_PROPS };
static GParamSpec *item_props[ITEM_N_PROPS];

G_DEFINE_FINAL_TYPE (QrImageItem, qr_image_item, G_TYPE_OBJECT)

struct _QrImageList
{
  GObject      parent_instance;

  /* Borrowed references */
  QrCatalog   *catalog;      /* the main thread's connection */

  /* Owned references */
  GArray      *ids;          /* gint64, in display order */
  GHashTable  *items;        /* id → QrImageItem (weak: items remove themselves) */
  GThreadPool *loader;
  QrCatalog   *reader;       /* used only on the loader thread */
  GQueue       lru;          /* items holding a thumbnail, oldest first */

  QrImageView  view;
  gint64       view_class;
  double       min_score;    /* model boxes below it are not counted in badges */
  gint64       review_class;  /* the review view's class filter, 0 for all */
  QrImageSort  sort;
  guint64      sequence;     /* request counter: higher is newer */
  guint        generation;   /* bumped when the catalog changes: stale answers are dropped */
  GArray      *search_ids;   /* while searching: the images ranked, best first; NULL otherwise */
  GHashTable  *search_scores;/* id → double* */
};

/* The badge's counts, the list's Min Score applied to model boxes. */
static void
count_boxes (QrImageList *self, QrImageItem *item)
{
  QrImageCounts counts = { 0, 0, -1, FALSE };

  qr_catalog_count_image_boxes (self->catalog, item->id, self->min_score, &counts, NULL);
  item->n_labels = counts.labels;
  item->n_detections = counts.detections;
  item->mistake_score = counts.mistake_score;
  item->reviewed = counts.reviewed;
}

static void qr_image_list_model_init (GListModelInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (QrImageList, qr_image_list, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (G_TYPE_LIST_MODEL, qr_image_list_model_init))

/* Items */

static void
qr_image_item_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  QrImageItem *self = QR_IMAGE_ITEM (object);

  switch (prop_id)
    {
    case ITEM_PROP_THUMBNAIL:
      g_value_set_object (value, self->thumbnail);
      break;
    case ITEM_PROP_N_LABELS:
      g_value_set_int64 (value, self->n_labels);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
qr_image_item_finalize (GObject *object)
{
  QrImageItem *self = QR_IMAGE_ITEM (object);

  g_clear_object (&self->thumbnail);
  g_free (self->path);
  g_free (self->reason);
  G_OBJECT_CLASS (qr_image_item_parent_class)->finalize (object);
}

static void
qr_image_item_class_init (QrImageItemClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->get_property = qr_image_item_get_property;
  object_class->finalize = qr_image_item_finalize;
  item_props[ITEM_PROP_THUMBNAIL] =
    g_param_spec_object ("thumbnail", NULL, NULL, GDK_TYPE_TEXTURE,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  /* notified whenever the badge counts are read again */
  item_props[ITEM_PROP_N_LABELS] =
    g_param_spec_int64 ("n-labels", NULL, NULL, 0, G_MAXINT64, 0,
                        G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, ITEM_N_PROPS, item_props);
}

static void
qr_image_item_init (QrImageItem *self)
{
  self->mistake_score = -1;   /* no open review item until the catalog says so */
  self->search_score = NAN;
}

gint64 qr_image_item_get_id (QrImageItem *self) { return self->id; }
const char *qr_image_item_get_path (QrImageItem *self) { return self->path; }
int qr_image_item_get_width (QrImageItem *self) { return self->width; }
int qr_image_item_get_height (QrImageItem *self) { return self->height; }
QrImageState qr_image_item_get_state (QrImageItem *self) { return self->state; }
const char *qr_image_item_get_reason (QrImageItem *self) { return self->reason; }
GdkTexture *qr_image_item_get_thumbnail (QrImageItem *self) { return self->thumbnail; }
gint64 qr_image_item_get_n_labels (QrImageItem *self) { return self->n_labels; }
gint64 qr_image_item_get_n_detections (QrImageItem *self) { return self->n_detections; }
gboolean qr_image_item_get_reviewed (QrImageItem *self) { return self->reviewed; }
double qr_image_item_get_mistake_score (QrImageItem *self) { return self->mistake_score; }
double qr_image_item_get_search_score (QrImageItem *self) { return self->search_score; }

const char *
qr_image_item_get_name (QrImageItem *self)
{
  const char *slash = strrchr (self->path, '/');
  return slash ? slash + 1 : self->path;
}

typedef struct
{
  QrImageItem *item;
  guint64      sequence;
  guint        generation;
  GdkTexture  *texture;
} Request;

static void
request_free (Request *request)
{
  g_clear_object (&request->item);
  g_clear_object (&request->texture);
  g_free (request);
}

void
qr_image_item_request_thumbnail (QrImageItem *self)
{
  QrImageList *list = self->list;
  Request *request;

  g_return_if_fail (QR_IS_IMAGE_ITEM (self));

  if (self->thumbnail != NULL || self->requested || list == NULL || list->loader == NULL
      || self->state != QR_IMAGE_STATE_OK)
    return;
  self->requested = TRUE;
  request = g_new0 (Request, 1);
  request->item = g_object_ref (self);
  request->sequence = ++list->sequence;
  request->generation = list->generation;
  g_thread_pool_push (list->loader, request, NULL);
}

/* The LRU queue holds a reference, so an item with a thumbnail outlives its cell: scrolling back
 * shows it at once. At most MAX_TEXTURES are held. */
static void
item_set_thumbnail (QrImageItem *self, GdkTexture *texture)
{
  QrImageList *list = self->list;

  if (list == NULL || !g_set_object (&self->thumbnail, texture))
    return;
  if (self->lru_link == NULL)
    {
      g_queue_push_tail (&list->lru, g_object_ref (self));
      self->lru_link = list->lru.tail;
    }
  g_object_notify_by_pspec (G_OBJECT (self), item_props[ITEM_PROP_THUMBNAIL]);

  while (list->lru.length > MAX_TEXTURES)
    {
      QrImageItem *oldest = g_queue_pop_head (&list->lru);
      oldest->lru_link = NULL;
      oldest->requested = FALSE;
      g_clear_object (&oldest->thumbnail);
      g_object_notify_by_pspec (G_OBJECT (oldest), item_props[ITEM_PROP_THUMBNAIL]);
      g_object_unref (oldest);
    }
}

/* Loader thread */

static gboolean
deliver_thumbnail (gpointer data)
{
  Request *request = data;
  QrImageItem *item = request->item;

  if (item->list != NULL && request->generation == item->list->generation)
    {
      if (request->texture != NULL)
        item_set_thumbnail (item, request->texture);
      /* else: none stored yet; `requested` stays set until thumbnails_changed() clears it */
    }
  return G_SOURCE_REMOVE;
}

static void
load_thumbnail (gpointer data, gpointer user_data)
{
  Request *request = data;
  QrImageList *self = user_data;
  g_autoptr (GBytes) jpeg = NULL;
  g_autoptr (QrImage) image = NULL;
  gsize len = 0;
  const guint8 *bytes;

  if (self->reader == NULL)
    goto out;
  jpeg = qr_catalog_get_thumbnail (self->reader, request->item->id, NULL, NULL, NULL);
  if (jpeg == NULL)
    goto out;
  bytes = g_bytes_get_data (jpeg, &len);
  image = qr_image_decode (bytes, len, NULL, 0, NULL);
  if (image != NULL)
    {
      gsize stride = (gsize) image->width * 3;
      GBytes *pixels = g_bytes_new_take (g_steal_pointer (&image->pixels), stride * (gsize) image->height);
      request->texture = gdk_memory_texture_new (image->width, image->height, GDK_MEMORY_R8G8B8, pixels,
                                                 stride);
      g_bytes_unref (pixels);
    }
out:
  g_idle_add_full (G_PRIORITY_DEFAULT_IDLE, deliver_thumbnail, request, (GDestroyNotify) request_free);
}

static int
newest_first (gconstpointer a, gconstpointer b, gpointer user_data)
{
  const Request *ra = a, *rb = b;
  return ra->sequence < rb->sequence ? 1 : ra->sequence > rb->sequence ? -1 : 0;
}

/* The list */

static void
stop_loader (QrImageList *self)
{
  if (self->loader != NULL)
    {
      /* Drop queued requests, wait for the one in flight; its answer is stale by generation. */
      g_thread_pool_free (self->loader, TRUE, TRUE);
      self->loader = NULL;
    }
  g_clear_object (&self->reader);
}

static void
forget_item (gpointer data, GObject *where_the_object_was)
{
  QrImageList *self = data;
  /* Weak notifies run before finalize: the item's memory, and so its id, is still there. */
  QrImageItem *item = (QrImageItem *) where_the_object_was;

  g_hash_table_remove (self->items, &item->id);
}

static void
drop_items (QrImageList *self)
{
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, self->items);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      QrImageItem *item = value;
      g_object_weak_unref (G_OBJECT (item), forget_item, self);
      item->list = NULL;
      item->lru_link = NULL;
    }
  g_hash_table_remove_all (self->items);
  g_queue_clear_full (&self->lru, g_object_unref);
}

static void
qr_image_list_dispose (GObject *object)
{
  QrImageList *self = QR_IMAGE_LIST (object);

  stop_loader (self);
  drop_items (self);
  G_OBJECT_CLASS (qr_image_list_parent_class)->dispose (object);
}

static void
qr_image_list_finalize (GObject *object)
{
  QrImageList *self = QR_IMAGE_LIST (object);

  g_array_unref (self->ids);
  g_hash_table_unref (self->items);
  g_clear_pointer (&self->search_ids, g_array_unref);
  g_clear_pointer (&self->search_scores, g_hash_table_unref);
  G_OBJECT_CLASS (qr_image_list_parent_class)->finalize (object);
}

static void
qr_image_list_class_init (QrImageListClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = qr_image_list_dispose;
  object_class->finalize = qr_image_list_finalize;
}

static void
qr_image_list_init (QrImageList *self)
{
  self->ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  self->items = g_hash_table_new (g_int64_hash, g_int64_equal);
  g_queue_init (&self->lru);
}

static GType
qr_image_list_get_item_type (GListModel *model)
{
  return QR_TYPE_IMAGE_ITEM;
}

static guint
qr_image_list_get_n_items (GListModel *model)
{
  return QR_IMAGE_LIST (model)->ids->len;
}

static gpointer
qr_image_list_get_item (GListModel *model, guint position)
{
  QrImageList *self = QR_IMAGE_LIST (model);
  g_autoptr (QrImageRecord) record = NULL;
  QrImageItem *item;
  gint64 *id;

  if (position >= self->ids->len)
    return NULL;
  id = &g_array_index (self->ids, gint64, position);
  item = g_hash_table_lookup (self->items, id);
  if (item != NULL)
    return g_object_ref (item);

  item = g_object_new (QR_TYPE_IMAGE_ITEM, NULL);
  item->id = *id;
  item->list = self;
  record = self->catalog ? qr_catalog_get_image (self->catalog, *id, NULL) : NULL;
  if (record != NULL)
    {
      item->path = g_steal_pointer (&record->path);
      item->reason = g_steal_pointer (&record->reason);
      item->width = record->width;
      item->height = record->height;
      item->state = record->state;
      count_boxes (self, item);
    }
  else
    {
      item->path = g_strdup ("");
      item->state = QR_IMAGE_STATE_MISSING;
    }
  if (self->search_scores != NULL)
    {
      const double *score = g_hash_table_lookup (self->search_scores, id);
      item->search_score = score ? *score : NAN;
    }
  g_hash_table_insert (self->items, &item->id, item);
  g_object_weak_ref (G_OBJECT (item), forget_item, self);
  return item;
}

static void
qr_image_list_model_init (GListModelInterface *iface)
{
  iface->get_item_type = qr_image_list_get_item_type;
  iface->get_n_items = qr_image_list_get_n_items;
  iface->get_item = qr_image_list_get_item;
}

QrImageList *
qr_image_list_new (void)
{
  return g_object_new (QR_TYPE_IMAGE_LIST, NULL);
}

static gboolean
read_ids (QrImageList *self, GError **error)
{
  guint old = self->ids->len;
  g_autoptr (GArray) ids = NULL;

  if (self->catalog != NULL)
    {
      /* Missing files are not shown; unreadable ones are, after the others, with their reason. */
      ids = self->view == QR_VIEW_REVIEW
              ? qr_catalog_list_review (self->catalog, (int) self->view_class, self->review_class, error)
              : qr_catalog_list_view_scored (self->catalog, self->view, self->view_class, self->sort,
                                                                   self->min_score, error);
      if (ids == NULL)
        return FALSE;
      /* a search: its ranking, kept to the images of the view */
      if (self->search_ids != NULL)
        {
          g_autoptr (GHashTable) in_view = g_hash_table_new (g_int64_hash, g_int64_equal);
          g_autoptr (GArray) found = g_array_new (FALSE, FALSE, sizeof (gint64));
          for (guint i = 0; i < ids->len; i++)
            g_hash_table_add (in_view, &g_array_index (ids, gint64, i));
          for (guint i = 0; i < self->search_ids->len; i++)
            if (g_hash_table_contains (in_view, &g_array_index (self->search_ids, gint64, i)))
              g_array_append_val (found, g_array_index (self->search_ids, gint64, i));
          g_array_unref (ids);
          ids = g_steal_pointer (&found);
        }
    }
  else
    ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_array_unref (self->ids);
  self->ids = g_steal_pointer (&ids);
  g_list_model_items_changed (G_LIST_MODEL (self), 0, old, self->ids->len);
  return TRUE;
}

gboolean
qr_image_list_set_catalog (QrImageList *self, QrCatalog *catalog, GError **error)
{
  g_return_val_if_fail (QR_IS_IMAGE_LIST (self), FALSE);

  stop_loader (self);
  drop_items (self);
  self->generation++;
  self->catalog = catalog;
  if (catalog != NULL)
    {
      self->reader = qr_catalog_open_existing (qr_catalog_get_db_path (catalog), error);
      if (self->reader == NULL)
        {
          self->catalog = NULL;
          read_ids (self, NULL);
          return FALSE;
        }
      self->loader = g_thread_pool_new (load_thumbnail, self, 1, TRUE, error);
      if (self->loader == NULL)
        return FALSE;
      g_thread_pool_set_sort_function (self->loader, newest_first, NULL);
    }
  return read_ids (self, error);
}

gboolean
qr_image_list_set_view (QrImageList *self, QrImageView view, gint64 class_id, QrImageSort sort, GError **error)
{
  self->view = view;
  self->view_class = class_id;
  self->sort = sort;
  /* choosing a view ends a search */
  g_clear_pointer (&self->search_ids, g_array_unref);
  g_clear_pointer (&self->search_scores, g_hash_table_unref);
  return read_ids (self, error);
}

gboolean
qr_image_list_set_search (QrImageList *self, GArray *ids, GArray *scores, GError **error)
{
  GHashTableIter iter;
  gpointer value;

  g_clear_pointer (&self->search_ids, g_array_unref);
  g_clear_pointer (&self->search_scores, g_hash_table_unref);
  if (ids != NULL)
    {
      self->search_ids = g_array_copy (ids);
      self->search_scores = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, g_free);
      for (guint i = 0; i < ids->len; i++)
        g_hash_table_insert (self->search_scores, g_memdup2 (&g_array_index (ids, gint64, i), sizeof (gint64)),
                             g_memdup2 (&g_array_index (scores, double, i), sizeof (double)));
    }
  g_hash_table_iter_init (&iter, self->items);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      QrImageItem *item = value;
      const double *score = self->search_scores ? g_hash_table_lookup (self->search_scores, &item->id) : NULL;
      item->search_score = score ? *score : NAN;
      g_object_notify_by_pspec (G_OBJECT (item), item_props[ITEM_PROP_N_LABELS]);
    }
  return read_ids (self, error);
}

gboolean
qr_image_list_is_searching (QrImageList *self)
{
  return self->search_ids != NULL;
}

gboolean
qr_image_list_set_review_class (QrImageList *self, gint64 class_id, GError **error)
{
  self->review_class = class_id;
  return self->view == QR_VIEW_REVIEW ? read_ids (self, error) : TRUE;
}

gint64
qr_image_list_get_review_class (QrImageList *self)
{
  return self->review_class;
}

QrImageView
qr_image_list_get_view (QrImageList *self, gint64 *class_id)
{
  if (class_id != NULL)
    *class_id = self->view_class;
  return self->view;
}

gboolean
qr_image_list_reload (QrImageList *self, GError **error)
{
  GHashTableIter iter;
  gpointer value;

  g_return_val_if_fail (QR_IS_IMAGE_LIST (self), FALSE);
  /* Items already made keep their thumbnails; their badge counts are read again. */
  g_hash_table_iter_init (&iter, self->items);
  while (self->catalog != NULL && g_hash_table_iter_next (&iter, NULL, &value))
    {
      count_boxes (self, value);
      g_object_notify_by_pspec (G_OBJECT (value), item_props[ITEM_PROP_N_LABELS]);
    }
  return read_ids (self, error);
}

void
qr_image_list_set_min_score (QrImageList *self, double min_score)
{
  if (self->min_score == min_score)
    return;
  self->min_score = min_score;
  qr_image_list_recount (self);
}

void
qr_image_list_recount (QrImageList *self)
{
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, self->items);
  while (self->catalog != NULL && g_hash_table_iter_next (&iter, NULL, &value))
    {
      count_boxes (self, value);
      g_object_notify_by_pspec (G_OBJECT (value), item_props[ITEM_PROP_N_LABELS]);
    }
}

double
qr_image_list_get_min_score (QrImageList *self)
{
  return self->min_score;
}

guint
qr_image_list_find (QrImageList *self, gint64 id)
{
  for (guint i = 0; i < self->ids->len; i++)
    if (g_array_index (self->ids, gint64, i) == id)
      return i;
  return G_MAXUINT;
}

void
qr_image_list_thumbnails_changed (QrImageList *self)
{
  GHashTableIter iter;
  gpointer value;
  g_autoptr (GPtrArray) again = g_ptr_array_new ();

  g_hash_table_iter_init (&iter, self->items);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      QrImageItem *item = value;
      if (item->thumbnail == NULL && item->requested)
        {
          item->requested = FALSE;
          g_ptr_array_add (again, item);
        }
    }
  for (guint i = 0; i < again->len; i++)
    qr_image_item_request_thumbnail (again->pdata[i]);
}

guint
qr_image_list_get_n_loaded_thumbnails (QrImageList *self)
{
  return self->lru.length;
}

/* qr-image-list.h: a lazy GListModel over a catalog's images, for the gallery. It holds only
 * row ids; items are made when a cell asks, and thumbnails are read from the catalog and
 * decoded on a loader thread, newest requests first, with a bounded number kept in memory. */
#pragma once

#include <gtk/gtk.h>
#include "qr-catalog.h"

G_BEGIN_DECLS

#define QR_TYPE_IMAGE_ITEM (qr_image_item_get_type ())
G_DECLARE_FINAL_TYPE (QrImageItem, qr_image_item, QR, IMAGE_ITEM, GObject)

gint64        qr_image_item_get_id        (QrImageItem *self);
const char   *qr_image_item_get_path      (QrImageItem *self);
const char   *qr_image_item_get_name      (QrImageItem *self);
int           qr_image_item_get_width     (QrImageItem *self);
int           qr_image_item_get_height    (QrImageItem *self);
QrImageState  qr_image_item_get_state     (QrImageItem *self);
const char   *qr_image_item_get_reason    (QrImageItem *self);
/* NULL until loaded; "notify::thumbnail" says when it arrives. */
GdkTexture   *qr_image_item_get_thumbnail (QrImageItem *self);
/* Badge counts, read when the item was made. */
gint64        qr_image_item_get_n_labels  (QrImageItem *self);
/* Model boxes at or above the list's Min Score (qr_image_list_set_min_score). */
gint64        qr_image_item_get_n_detections (QrImageItem *self);
gboolean      qr_image_item_get_reviewed  (QrImageItem *self);
/* The image's likeliest open review item (peer pressure's score), -1 when it has none. */
double        qr_image_item_get_mistake_score (QrImageItem *self);
/* The current search's score for the image, NAN when no search is shown. */
double        qr_image_item_get_search_score (QrImageItem *self);
/* Asks the loader for the thumbnail (no-op when loaded or already asked). */
void          qr_image_item_request_thumbnail (QrImageItem *self);

#define QR_TYPE_IMAGE_LIST (qr_image_list_get_type ())
G_DECLARE_FINAL_TYPE (QrImageList, qr_image_list, QR, IMAGE_LIST, GObject)

QrImageList  *qr_image_list_new           (void);
/* Shows the images of catalog (NULL: none). The list reads the ids on this thread and opens its
 * own connection for the loader thread. */
gboolean      qr_image_list_set_catalog   (QrImageList *self,
                                           QrCatalog   *catalog,
                                           GError     **error);
/* Badges count model boxes at or above min_score (the viewer's Min Score); counted again now. */
void          qr_image_list_set_min_score (QrImageList *self,
                                           double       min_score);
double        qr_image_list_get_min_score (QrImageList *self);
/* The badges of the items made so far read again (an edit, a decision); the ids stay, so
 * positions do not move under the viewer. */
void          qr_image_list_recount       (QrImageList *self);
/* Re-reads the ids (after indexing); items already made are kept. */
gboolean      qr_image_list_reload        (QrImageList *self,
                                           GError     **error);
/* The review view's class filter (0: every class); kept across views, used by the review view. */
gboolean      qr_image_list_set_review_class (QrImageList *self,
                                              gint64       class_id,
                                              GError     **error);
gint64        qr_image_list_get_review_class (QrImageList *self);
QrImageView   qr_image_list_get_view      (QrImageList *self,
                                           gint64      *class_id);
/* Shows one view of the catalog (qr_catalog_list_view). */
gboolean      qr_image_list_set_view      (QrImageList *self,
                                           QrImageView  view,
                                           gint64       class_id,
                                           QrImageSort  sort,
                                           GError     **error);
/* Shows a search's ranking: ids (gint64) best first with their scores (double); NULL ends the
 * search and shows the view again. Choosing a view also ends it. */
gboolean      qr_image_list_set_search    (QrImageList *self,
                                           GArray      *ids,
                                           GArray      *scores,
                                           GError     **error);
gboolean      qr_image_list_is_searching  (QrImageList *self);
/* New thumbnails were stored: items that asked and found none ask again. */
void          qr_image_list_thumbnails_changed (QrImageList *self);
/* The position of image id in the current view, G_MAXUINT when the view does not hold it. */
guint         qr_image_list_find          (QrImageList *self,
                                           gint64       id);
guint         qr_image_list_get_n_loaded_thumbnails (QrImageList *self);

G_END_DECLS

/* qr-sidebar.h: the gallery's sidebar: the catalog's views (All Images, Unlabeled, Labeled,
 * Unreadable, Review Queue) with their counts, the review queue's kinds under it, then one row per
 * class with the images that hold it. Choosing a row emits "view-selected" (view, class or kind). */
#pragma once

#include <gtk/gtk.h>
#include "qr-catalog.h"

G_BEGIN_DECLS

#define QR_TYPE_SIDEBAR (qr_sidebar_get_type ())
G_DECLARE_FINAL_TYPE (QrSidebar, qr_sidebar, QR, SIDEBAR, GtkWidget)

/* Rebuilds the rows from catalog (NULL: none), keeping the selected position, without emitting. */
void     qr_sidebar_rebuild      (QrSidebar  *self,
                                  QrCatalog  *catalog,
                                  double      min_score);
/* Selects All Images (emits "view-selected" when it was not selected). */
void     qr_sidebar_select_all   (QrSidebar  *self);
/* The selected row's view and class (or review kind); FALSE when none is selected. */
gboolean qr_sidebar_get_selected (QrSidebar   *self,
                                  QrImageView *view,
                                  gint64      *class_id);

G_END_DECLS

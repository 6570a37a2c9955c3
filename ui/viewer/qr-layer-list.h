/* qr-layer-list.h: the Layers popover's list: one check per source of boxes on the image on the
 * canvas (the labels, then each model), turning that layer on or off. Rebuilt only when the set
 * of sources changes, so an open popover keeps its focus. */
#pragma once

#include <gtk/gtk.h>
#include "qr-canvas.h"

G_BEGIN_DECLS

#define QR_TYPE_LAYER_LIST (qr_layer_list_get_type ())
G_DECLARE_FINAL_TYPE (QrLayerList, qr_layer_list, QR, LAYER_LIST, GtkBox)

/* The canvas whose layers it lists (borrowed); call once. */
void qr_layer_list_set_canvas (QrLayerList *self,
                               QrCanvas    *canvas);

G_END_DECLS
